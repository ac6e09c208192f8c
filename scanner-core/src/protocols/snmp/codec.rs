//! SNMP codec, sans IO: the closed [`Request`] set (v1/v2c GetRequest and
//! GetNextRequest of named OIDs, and the SNMPv3 discovery message; there is no
//! SetRequest encoder), [`encode`] with rasn-snmp, and [`parse`] of v1, v2c and v3
//! replies by the bounded BER walk in the sibling `ber` module.
//!
//! Replies are decoded by our own walker of the fixed SNMP structure rather than
//! rasn-snmp, which rejects a whole message for one unknown application tag (devices
//! send those): an unknown value type is kept as [`SnmpValue::Unknown`]. Every length is
//! checked against the bytes present. Spec: RFC 1157 (v1), RFC 3416 (v2c PDUs),
//! RFC 3412/3414 (v3 message, USM discovery).

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ber;
pub use super::ber::{BerError, Oid, MAX_OID_LEN};

/// Largest reply accepted (bytes). Identity replies are a few hundred bytes.
pub const MAX_REPLY_LEN: usize = 8192;
/// Most varbinds decoded from one reply.
pub const MAX_VARBINDS: usize = 64;

/// sysDescr .. sysServices (1.3.6.1.2.1.1.{1..7}.0), asked in one GetRequest.
pub const SYSTEM_GROUP: [&[u32]; 7] = [
    &[1, 3, 6, 1, 2, 1, 1, 1, 0],
    &[1, 3, 6, 1, 2, 1, 1, 2, 0],
    &[1, 3, 6, 1, 2, 1, 1, 3, 0],
    &[1, 3, 6, 1, 2, 1, 1, 4, 0],
    &[1, 3, 6, 1, 2, 1, 1, 5, 0],
    &[1, 3, 6, 1, 2, 1, 1, 6, 0],
    &[1, 3, 6, 1, 2, 1, 1, 7, 0],
];

/// [`SYSTEM_GROUP`] as the OID list of a [`Request::Read`], made once and shared (every
/// address's first SNMP packet asks for it; a clone is a reference count).
pub fn system_group_oids() -> std::sync::Arc<[Oid]> {
    static OIDS: std::sync::LazyLock<std::sync::Arc<[Oid]>> =
        std::sync::LazyLock::new(|| SYSTEM_GROUP.iter().map(|o| o.to_vec()).collect());
    std::sync::Arc::clone(&OIDS)
}
/// entPhysicalEntry columns walked: descr(2), hardwareRev(8), firmwareRev(9),
/// softwareRev(10), serialNum(11), mfgName(12), modelName(13).
pub const ENTITY_COLUMNS: [u32; 7] = [2, 8, 9, 10, 11, 12, 13];
/// entPhysicalEntry (1.3.6.1.2.1.47.1.1.1.1).
pub const ENT_PHYSICAL_ENTRY: [u32; 10] = [1, 3, 6, 1, 2, 1, 47, 1, 1, 1];
/// ifPhysAddress (1.3.6.1.2.1.2.2.1.6).
pub const IF_PHYS_ADDRESS: [u32; 10] = [1, 3, 6, 1, 2, 1, 2, 2, 1, 6];
/// usmStatsUnknownEngineIDs.0, the counter a v3 discovery Report carries.
pub const USM_STATS_UNKNOWN_ENGINE_IDS: [u32; 11] = [1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0];

/// Dotted text of an OID.
pub fn oid_text(oid: &[u32]) -> String {
    let mut s = String::with_capacity(oid.len() * 3);
    for (i, arc) in oid.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        let _ = write!(s, "{arc}");
    }
    s
}

/// The IANA enterprise number of a sysObjectID under 1.3.6.1.4.1.
pub fn enterprise_of(oid: &[u32]) -> Option<u32> {
    match oid {
        [1, 3, 6, 1, 4, 1, pen, ..] => Some(*pen),
        _ => None,
    }
}

/// SNMP message versions otscan sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum SnmpVersion {
    /// SNMPv1 (community).
    #[serde(rename = "1")]
    V1,
    /// SNMPv2c (community).
    #[serde(rename = "2c")]
    V2c,
    /// SNMPv3 (here: engine discovery only).
    #[serde(rename = "3")]
    V3,
}

/// Which read a community request performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SnmpRead {
    /// GetRequest.
    Get,
    /// GetNextRequest.
    GetNext,
}

fn rasn_oid(arcs: &[u32]) -> rasn::types::ObjectIdentifier {
    // Our OIDs come from constants and from agents' replies (which decode only when
    // they have at least two arcs); fall back to sysDescr.0 rather than panic.
    rasn::types::ObjectIdentifier::new(arcs.to_vec()).unwrap_or_else(|| {
        rasn::types::ObjectIdentifier::new_unchecked(std::borrow::Cow::Borrowed(SYSTEM_GROUP[0]))
    })
}

/// Encodes a v1 or v2c GetRequest / GetNextRequest. v1 and v2c share the PDU layout
/// (NULL values in requests); only the version number differs.
///
/// Written directly (BER, definite minimal lengths: the bytes rasn writes, a test
/// compares them) when every OID starts with arc 0 or 1 and a second arc under 40, as
/// every OID otscan asks for does; through rasn otherwise. Every address's first SNMP
/// datagram is one of these: rasn's encoder, with its allocations per OID, was about 1%
/// of a /16 scan's CPU (perf, `benches/profiles/issue16-cli-16-after-round4.top.txt`).
fn encode_read(
    version: SnmpVersion,
    community: &[u8],
    request_id: i32,
    read: SnmpRead,
    oids: &[Oid],
) -> Vec<u8> {
    encode_read_direct(version, community, request_id, read, oids)
        .unwrap_or_else(|| encode_read_rasn(version, community, request_id, read, oids))
}

/// Appends a BER definite length, minimal (short form under 128).
fn ber_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends tag, length and `content`.
fn ber_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    ber_length(out, content.len());
    out.extend_from_slice(content);
}

/// Appends an INTEGER in its shortest two's complement form.
fn ber_integer(out: &mut Vec<u8>, value: i32) {
    let bytes = value.to_be_bytes();
    let mut start = 0;
    // Drop a leading byte while the next one carries the same sign.
    while start < 3
        && ((bytes[start] == 0x00 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    ber_tlv(out, 0x02, &bytes[start..]);
}

/// Appends one OID subidentifier in base 128, most significant group first.
fn ber_arc(out: &mut Vec<u8>, arc: u32) {
    let mut groups = [0u8; 5];
    let mut n = 0;
    let mut rest = arc;
    loop {
        groups[n] = (rest & 0x7f) as u8;
        n += 1;
        rest >>= 7;
        if rest == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(groups[i] | if i > 0 { 0x80 } else { 0 });
    }
}

/// [`encode_read`] without rasn; `None` for an OID this encoder leaves to rasn (fewer
/// than two arcs, a first arc of 2 or more, a second arc of 40 or more).
fn encode_read_direct(
    version: SnmpVersion,
    community: &[u8],
    request_id: i32,
    read: SnmpRead,
    oids: &[Oid],
) -> Option<Vec<u8>> {
    let mut varbinds = Vec::with_capacity(oids.len() * 16);
    let mut oid = Vec::with_capacity(16);
    let mut varbind = Vec::with_capacity(20);
    for arcs in oids {
        let [first @ 0..=1, second @ 0..=39, rest @ ..] = arcs.as_slice() else {
            return None;
        };
        oid.clear();
        ber_arc(&mut oid, first * 40 + second);
        for &arc in rest {
            ber_arc(&mut oid, arc);
        }
        varbind.clear();
        ber_tlv(&mut varbind, 0x06, &oid);
        varbind.extend_from_slice(&[0x05, 0x00]);
        ber_tlv(&mut varbinds, 0x30, &varbind);
    }
    let mut pdu = Vec::with_capacity(varbinds.len() + 16);
    ber_integer(&mut pdu, request_id);
    ber_integer(&mut pdu, 0);
    ber_integer(&mut pdu, 0);
    ber_tlv(&mut pdu, 0x30, &varbinds);
    let mut message = Vec::with_capacity(pdu.len() + community.len() + 16);
    ber_integer(&mut message, if version == SnmpVersion::V1 { 0 } else { 1 });
    ber_tlv(&mut message, 0x04, community);
    let tag = match read {
        SnmpRead::Get => 0xa0,
        SnmpRead::GetNext => 0xa1,
    };
    ber_tlv(&mut message, tag, &pdu);
    let mut out = Vec::with_capacity(message.len() + 4);
    ber_tlv(&mut out, 0x30, &message);
    Some(out)
}

/// [`encode_read`] through rasn's BER encoder (any OID; an invalid one becomes
/// sysDescr.0, see `rasn_oid`).
fn encode_read_rasn(
    version: SnmpVersion,
    community: &[u8],
    request_id: i32,
    read: SnmpRead,
    oids: &[Oid],
) -> Vec<u8> {
    use rasn_snmp::{v2, v2c};
    let pdu = v2::Pdu {
        request_id,
        error_status: 0,
        error_index: 0,
        variable_bindings: oids
            .iter()
            .map(|o| v2::VarBind {
                name: rasn_oid(o),
                value: v2::VarBindValue::Unspecified,
            })
            .collect(),
    };
    let data = match read {
        SnmpRead::Get => v2::Pdus::GetRequest(v2::GetRequest(pdu)),
        SnmpRead::GetNext => v2::Pdus::GetNextRequest(v2::GetNextRequest(pdu)),
    };
    let message = v2c::Message {
        version: match version {
            SnmpVersion::V1 => 0.into(),
            _ => 1.into(),
        },
        community: community.to_vec().into(),
        data,
    };
    rasn::ber::encode(&message).unwrap_or_default()
}

/// Encodes the SNMPv3 discovery request (RFC 3414 4): reportable, noAuthNoPriv, USM
/// with empty engine id and user, and an empty GetRequest. Agents answer it with a
/// Report carrying their engine id, boots and time, without any credentials.
fn encode_v3_discovery(message_id: i32, request_id: i32) -> Vec<u8> {
    use rasn_snmp::{v2, v3};
    let usm = v3::USMSecurityParameters {
        authoritative_engine_id: Vec::new().into(),
        authoritative_engine_boots: 0.into(),
        authoritative_engine_time: 0.into(),
        user_name: Vec::new().into(),
        authentication_parameters: Vec::new().into(),
        privacy_parameters: Vec::new().into(),
    };
    let message = v3::Message {
        version: 3.into(),
        global_data: v3::HeaderData {
            message_id: message_id.into(),
            max_size: 65507.into(),
            flags: vec![0x04].into(),
            security_model: 3.into(),
        },
        security_parameters: rasn::ber::encode(&usm).unwrap_or_default().into(),
        scoped_data: v3::ScopedPduData::CleartextPdu(v3::ScopedPdu {
            engine_id: Vec::new().into(),
            name: Vec::new().into(),
            data: v2::Pdus::GetRequest(v2::GetRequest(v2::Pdu {
                request_id,
                error_status: 0,
                error_index: 0,
                variable_bindings: Vec::new(),
            })),
        }),
    };
    rasn::ber::encode(&message).unwrap_or_default()
}

/// The SNMP requests otscan can send: reads and the v3 discovery message, nothing
/// that sets a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Request {
    /// v1/v2c GetRequest or GetNextRequest of these OIDs with this community.
    /// (v3 here is not a read: [`V3Discovery`](Self::V3Discovery) is.)
    Read {
        /// V1 or V2c (the encoder writes anything but V1 as v2c).
        version: SnmpVersion,
        /// Community string.
        community: Vec<u8>,
        /// Get or GetNext.
        read: SnmpRead,
        /// The OIDs (shared: a request is cloned for the liveness phase and the probe).
        oids: std::sync::Arc<[Oid]>,
    },
    /// SNMPv3 engine discovery: noAuthNoPriv, reportable, empty USM and an empty GetRequest.
    V3Discovery,
}

/// Encodes `request`; `correlation` (as an i32) becomes the request id, and for v3
/// discovery the msgID too.
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    let id = correlation as i32;
    match request {
        Request::Read {
            version,
            community,
            read,
            oids,
        } => LAST_READ.with_borrow_mut(|last| {
            // Every device session numbers its tries from 1, so a scan encodes the very
            // same first GetRequest for each address: the last encoding is reused.
            if let Some((r, c, bytes)) = last.as_ref() {
                if *c == correlation && r == request {
                    return bytes.clone();
                }
            }
            let bytes = encode_read(*version, community, id, *read, oids);
            *last = Some((request.clone(), correlation, bytes.clone()));
            bytes
        }),
        Request::V3Discovery => encode_v3_discovery(id, id),
    }
}

thread_local! {
    /// The last read [`encode`] wrote on this thread: the request, its correlation and
    /// its bytes.
    static LAST_READ: std::cell::RefCell<Option<(Request, u32, Vec<u8>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Why a reply could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The BER encoding cannot be read (see [`BerError`]).
    #[error(transparent)]
    Ber(#[from] BerError),
    /// A version other than 0, 1 or 3.
    #[error("unknown SNMP version {0}")]
    Version(i64),
    /// A message that carries no PDU to read (an encrypted v3 scoped PDU).
    #[error("reply without a PDU")]
    NoPdu,
}

/// A decoded varbind value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnmpValue {
    /// INTEGER.
    Integer(i64),
    /// OCTET STRING.
    Octets(Vec<u8>),
    /// NULL.
    Null,
    /// OBJECT IDENTIFIER.
    Oid(Oid),
    /// IpAddress.
    IpAddress([u8; 4]),
    /// Counter32.
    Counter32(u64),
    /// Gauge32 / Unsigned32.
    Gauge32(u64),
    /// TimeTicks (hundredths of a second).
    TimeTicks(u64),
    /// Opaque.
    Opaque(Vec<u8>),
    /// Counter64.
    Counter64(u64),
    /// noSuchObject, noSuchInstance or endOfMibView: the value is absent (not an error).
    Absent(&'static str),
    /// A type SNMP does not define, kept as its tag.
    Unknown(u8),
}

fn value_of(t: &ber::Tlv<'_>) -> Result<SnmpValue, ParseError> {
    Ok(match t.tag {
        0x02 => SnmpValue::Integer(ber::int_value(t.value, "INTEGER")?),
        0x04 => SnmpValue::Octets(t.value.to_vec()),
        0x05 => SnmpValue::Null,
        0x06 => SnmpValue::Oid(ber::oid_value(t.value)?),
        0x40 => match <[u8; 4]>::try_from(t.value) {
            Ok(a) => SnmpValue::IpAddress(a),
            Err(_) => SnmpValue::Octets(t.value.to_vec()),
        },
        0x41 => SnmpValue::Counter32(ber::uint_value(t.value, "Counter32")?),
        0x42 => SnmpValue::Gauge32(ber::uint_value(t.value, "Gauge32")?),
        0x43 => SnmpValue::TimeTicks(ber::uint_value(t.value, "TimeTicks")?),
        0x44 => SnmpValue::Opaque(t.value.to_vec()),
        0x46 => SnmpValue::Counter64(ber::uint_value(t.value, "Counter64")?),
        0x80 => SnmpValue::Absent("noSuchObject"),
        0x81 => SnmpValue::Absent("noSuchInstance"),
        0x82 => SnmpValue::Absent("endOfMibView"),
        other => SnmpValue::Unknown(other),
    })
}

/// PDU kinds, by their context tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduKind {
    /// GetResponse / Response (0xA2).
    Response,
    /// Report (0xA8, SNMPv3).
    Report,
    /// Anything else (requests, traps): never an answer to us.
    Other(u8),
}

/// A decoded PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    /// Kind.
    pub kind: PduKind,
    /// request-id.
    pub request_id: i64,
    /// error-status.
    pub error_status: i64,
    /// error-index.
    pub error_index: i64,
    /// Varbinds, at most [`MAX_VARBINDS`].
    pub varbinds: Vec<(Oid, SnmpValue)>,
}

/// SNMPv3 header and USM fields of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Header {
    /// msgID.
    pub message_id: i64,
    /// msgFlags byte.
    pub flags: u8,
    /// msgSecurityModel.
    pub security_model: i64,
    /// msgAuthoritativeEngineID.
    pub engine_id: Vec<u8>,
    /// msgAuthoritativeEngineBoots.
    pub engine_boots: i64,
    /// msgAuthoritativeEngineTime.
    pub engine_time: i64,
}

/// A decoded SNMP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Version.
    pub version: SnmpVersion,
    /// Community (v1/v2c).
    pub community: Vec<u8>,
    /// v3 header and USM parameters.
    pub v3: Option<V3Header>,
    /// The PDU (absent for an encrypted v3 scoped PDU).
    pub pdu: Option<Pdu>,
}

fn parse_pdu(buf: &[u8]) -> Result<Pdu, ParseError> {
    let (t, _) = ber::tlv(buf, "PDU")?;
    let kind = match t.tag {
        0xA2 => PduKind::Response,
        0xA8 => PduKind::Report,
        other => PduKind::Other(other),
    };
    let (request_id, rest) = ber::read_int(t.value, "request-id")?;
    let (error_status, rest) = ber::read_int(rest, "error-status")?;
    let (error_index, rest) = ber::read_int(rest, "error-index")?;
    let (mut list, _) = ber::expect(rest, 0x30, "varbind list")?;
    let mut varbinds = Vec::new();
    while !list.is_empty() && varbinds.len() < MAX_VARBINDS {
        let (vb, rest) = ber::expect(list, 0x30, "varbind")?;
        list = rest;
        let (name, vb) = ber::expect(vb, 0x06, "varbind name")?;
        let (value, _) = ber::tlv(vb, "varbind value")?;
        varbinds.push((ber::oid_value(name)?, value_of(&value)?));
    }
    Ok(Pdu {
        kind,
        request_id,
        error_status,
        error_index,
        varbinds,
    })
}

/// Decodes a v1, v2c or v3 message.
pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
    let (body, _) = ber::expect(bytes, 0x30, "message")?;
    let (version, rest) = ber::read_int(body, "version")?;
    match version {
        0 | 1 => {
            let (community, rest) = ber::expect(rest, 0x04, "community")?;
            Ok(Message {
                version: if version == 0 {
                    SnmpVersion::V1
                } else {
                    SnmpVersion::V2c
                },
                community: community.to_vec(),
                v3: None,
                pdu: Some(parse_pdu(rest)?),
            })
        }
        3 => {
            let (header, rest) = ber::expect(rest, 0x30, "msgGlobalData")?;
            let (message_id, h) = ber::read_int(header, "msgID")?;
            let (_max_size, h) = ber::read_int(h, "msgMaxSize")?;
            let (flags, h) = ber::expect(h, 0x04, "msgFlags")?;
            let (security_model, _) = ber::read_int(h, "msgSecurityModel")?;
            let (security, rest) = ber::expect(rest, 0x04, "msgSecurityParameters")?;
            let (usm, _) = ber::expect(security, 0x30, "UsmSecurityParameters")?;
            let (engine_id, u) = ber::expect(usm, 0x04, "msgAuthoritativeEngineID")?;
            let (engine_boots, u) = ber::read_int(u, "msgAuthoritativeEngineBoots")?;
            let (engine_time, _) = ber::read_int(u, "msgAuthoritativeEngineTime")?;
            let (scoped, _) = ber::tlv(rest, "msgData")?;
            let pdu = if scoped.tag == 0x30 {
                let (_ctx_engine, s) = ber::expect(scoped.value, 0x04, "contextEngineID")?;
                let (_ctx_name, s) = ber::expect(s, 0x04, "contextName")?;
                Some(parse_pdu(s)?)
            } else {
                None
            };
            Ok(Message {
                version: SnmpVersion::V3,
                community: Vec::new(),
                v3: Some(V3Header {
                    message_id,
                    flags: flags.first().copied().unwrap_or(0),
                    security_model,
                    engine_id: engine_id.to_vec(),
                    engine_boots,
                    engine_time,
                }),
                pdu,
            })
        }
        other => Err(ParseError::Version(other)),
    }
}

/// True when `datagram` is a response (or, for v3, a Report) to the request sent
/// with `correlation` (its request id, or v3 msgID): what the probe accepts. Anything
/// else (another id, a request, a trap) is dropped.
///
/// A v3 message must carry a Report (or Response) PDU in clear: our own discovery request
/// reflected back by an echo service has the right msgID too, and is not an engine.
pub fn answers(_request: &Request, datagram: &[u8], correlation: u32) -> bool {
    answers_id(datagram, request_id(correlation))
}

/// The request id (and v3 msgID) a request sent with `correlation` carries.
fn request_id(correlation: u32) -> i64 {
    i64::from(correlation as i32)
}

fn answers_id(bytes: &[u8], id: i64) -> bool {
    parse(bytes).is_ok_and(|m| match (&m.v3, &m.pdu) {
        (Some(h), Some(p)) => {
            h.message_id == id && matches!(p.kind, PduKind::Report | PduKind::Response)
        }
        (None, Some(p)) => p.request_id == id && p.kind == PduKind::Response,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::super::ber::oid_value;
    use super::super::details::{decode_engine_id, firmware_from_sysdescr};
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn encodes_a_v2c_get_of_sysdescr_like_net_snmp() {
        // snmpget -v2c -c public HOST sysDescr.0 with request id 0x12345678.
        let bytes = encode_read(
            SnmpVersion::V2c,
            b"public",
            0x1234_5678,
            SnmpRead::Get,
            &[SYSTEM_GROUP[0].to_vec()],
        );
        assert_eq!(
            bytes,
            hex(
                "30 29 02 01 01 04 06 70 75 62 6c 69 63 a0 1c 02 04 12 34 56 78 02 01 00 02 01 00
                 30 0e 30 0c 06 08 2b 06 01 02 01 01 01 00 05 00"
            )
        );
        let v1 = encode_read(
            SnmpVersion::V1,
            b"public",
            1,
            SnmpRead::GetNext,
            &[IF_PHYS_ADDRESS.to_vec()],
        );
        assert_eq!(&v1[2..5], hex("02 01 00"), "version 0");
        assert_eq!(v1[13], 0xA1, "GetNextRequest");
        let parsed = parse(&v1).unwrap();
        assert_eq!(parsed.pdu.unwrap().varbinds[0].0, IF_PHYS_ADDRESS.to_vec());
    }

    #[test]
    fn encodes_the_v3_discovery_request() {
        // RFC 3414 discovery, as net-snmp sends it (msgMaxSize 65507).
        let bytes = encode_v3_discovery(0x1d75_0e01, 0x2edf_bfdc);
        assert_eq!(
            bytes,
            hex(
                "30 3e 02 01 03 30 11 02 04 1d 75 0e 01 02 03 00 ff e3 04 01 04 02 01 03
                 04 10 30 0e 04 00 02 01 00 02 01 00 04 00 04 00 04 00
                 30 14 04 00 04 00 a0 0e 02 04 2e df bf dc 02 01 00 02 01 00 30 00"
            )
        );
        let parsed = parse(&bytes).unwrap();
        let header = parsed.v3.unwrap();
        assert_eq!(
            (header.message_id, header.flags, header.security_model),
            (0x1d75_0e01, 4, 3)
        );
    }

    #[test]
    fn decodes_a_response_of_every_type() {
        let mut vbs = Vec::new();
        let mut push = |oid: &str, value: &str| {
            let oid = hex(oid);
            let value = hex(value);
            let mut vb = vec![0x06, oid.len() as u8];
            vb.extend(&oid);
            vb.extend(&value);
            vbs.push(0x30);
            vbs.push(vb.len() as u8);
            vbs.extend(vb);
        };
        push("2b 06 01 02 01 01 01 00", "04 03 61 62 63"); // sysDescr "abc"
        push("2b 06 01 02 01 01 02 00", "06 07 2b 06 01 04 01 82 3e"); // 1.3.6.1.4.1.318
        push("2b 06 01 02 01 01 03 00", "43 04 00 01 e2 40"); // 123456 ticks
        push("2b 06 01 02 01 01 07 00", "02 01 48"); // 72
        push("2b 06 01 02 01 01 08 00", "40 04 0a 00 00 01");
        push(
            "2b 06 01 02 01 01 09 00",
            "46 09 00 ff ff ff ff ff ff ff ff",
        );
        push("2b 06 01 02 01 01 0a 00", "80 00");
        push("2b 06 01 02 01 01 0b 00", "82 00");
        push("2b 06 01 02 01 01 0c 00", "47 01 00"); // unknown application tag, kept
        let mut pdu = hex("02 01 07 02 01 00 02 01 00");
        pdu.push(0x30);
        pdu.extend(ber_len(vbs.len()));
        pdu.extend(&vbs);
        let mut body = hex("02 01 01 04 06 70 75 62 6c 69 63");
        body.push(0xA2);
        body.extend(ber_len(pdu.len()));
        body.extend(&pdu);
        let mut msg = vec![0x30];
        msg.extend(ber_len(body.len()));
        msg.extend(&body);

        let m = parse(&msg).unwrap();
        assert_eq!(m.version, SnmpVersion::V2c);
        assert_eq!(m.community, b"public");
        let pdu = m.pdu.unwrap();
        assert_eq!(pdu.kind, PduKind::Response);
        assert!(answers_id(&msg, 7) && !answers_id(&msg, 8));
        let values: Vec<&SnmpValue> = pdu.varbinds.iter().map(|(_, v)| v).collect();
        assert_eq!(values[0], &SnmpValue::Octets(b"abc".to_vec()));
        assert_eq!(values[1], &SnmpValue::Oid(vec![1, 3, 6, 1, 4, 1, 318]));
        assert_eq!(values[2], &SnmpValue::TimeTicks(123_456));
        assert_eq!(values[3], &SnmpValue::Integer(72));
        assert_eq!(values[4], &SnmpValue::IpAddress([10, 0, 0, 1]));
        assert_eq!(values[5], &SnmpValue::Counter64(u64::MAX));
        assert_eq!(values[6], &SnmpValue::Absent("noSuchObject"));
        assert_eq!(values[7], &SnmpValue::Absent("endOfMibView"));
        assert_eq!(values[8], &SnmpValue::Unknown(0x47));
    }

    fn ber_len(n: usize) -> Vec<u8> {
        if n < 0x80 {
            vec![n as u8]
        } else {
            vec![0x82, (n >> 8) as u8, n as u8]
        }
    }

    #[test]
    fn decodes_a_v3_report() {
        // A Report to discovery, built with rasn-snmp (an encoder independent of our
        // decoder): engine 80001f8880..., boots 3, time 1234567, and the
        // usmStatsUnknownEngineIDs.0 varbind (its counter value is not read).
        use rasn_snmp::{v2, v3};
        let engine = hex("80 00 1f 88 80 5b 1e 3c 2d a9 6f 61 65 00 00 00 00");
        let usm = v3::USMSecurityParameters {
            authoritative_engine_id: engine.clone().into(),
            authoritative_engine_boots: 3.into(),
            authoritative_engine_time: 1_234_567.into(),
            user_name: Vec::new().into(),
            authentication_parameters: Vec::new().into(),
            privacy_parameters: Vec::new().into(),
        };
        let report = v3::Message {
            version: 3.into(),
            global_data: v3::HeaderData {
                message_id: 0x1d75_0e01.into(),
                max_size: 65507.into(),
                flags: vec![0x00].into(),
                security_model: 3.into(),
            },
            security_parameters: rasn::ber::encode(&usm).unwrap().into(),
            scoped_data: v3::ScopedPduData::CleartextPdu(v3::ScopedPdu {
                engine_id: engine.clone().into(),
                name: Vec::new().into(),
                data: v2::Pdus::Report(v2::Report(v2::Pdu {
                    request_id: 0x2edf_bfdc,
                    error_status: 0,
                    error_index: 0,
                    variable_bindings: vec![v2::VarBind {
                        name: rasn::types::ObjectIdentifier::new(
                            USM_STATS_UNKNOWN_ENGINE_IDS.to_vec(),
                        )
                        .unwrap(),
                        value: v2::VarBindValue::Unspecified,
                    }],
                })),
            }),
        };
        let msg = rasn::ber::encode(&report).unwrap();
        let m = parse(&msg).unwrap();
        let h = m.v3.as_ref().unwrap();
        assert_eq!((h.engine_boots, h.engine_time), (3, 1_234_567));
        assert!(answers_id(&msg, 0x1d75_0e01));
        let pdu = m.pdu.unwrap();
        assert_eq!(pdu.kind, PduKind::Report);
        // The same message carrying anything but a Report or Response answers nothing.
        let mut other = report.clone();
        if let v3::ScopedPduData::CleartextPdu(scoped) = &mut other.scoped_data {
            let v2::Pdus::Report(v2::Report(inner)) = &scoped.data else {
                unreachable!()
            };
            scoped.data = v2::Pdus::SetRequest(v2::SetRequest(inner.clone()));
        }
        assert!(!answers_id(
            &rasn::ber::encode(&other).unwrap(),
            0x1d75_0e01
        ));
        assert_eq!(pdu.varbinds[0].0, USM_STATS_UNKNOWN_ENGINE_IDS.to_vec());
        let id = decode_engine_id(&h.engine_id);
        assert_eq!(id.enterprise, Some(8072));
        assert_eq!(id.enterprise_name.as_deref(), Some("net-snmp"));
        assert_eq!(id.format, "enterprise-specific");
    }

    #[test]
    fn decodes_engine_ids_of_every_format() {
        let ipv4 = decode_engine_id(&hex("80 00 00 09 01 0a 14 00 01"));
        assert_eq!((ipv4.enterprise, ipv4.format.as_str()), (Some(9), "ipv4"));
        assert_eq!(ipv4.value.as_deref(), Some("10.20.0.1"));
        let mac = decode_engine_id(&hex("80 00 01 3e 03 00 c0 b7 4a 12 9e"));
        assert_eq!(mac.value.as_deref(), Some("00:c0:b7:4a:12:9e"));
        assert_eq!(
            mac.enterprise_name.as_deref(),
            Some("American Power Conversion Corp.")
        );
        let text = decode_engine_id(&hex("80 00 10 e9 04 50 4c 43 2d 31"));
        assert_eq!(
            (text.format.as_str(), text.value.as_deref()),
            ("text", Some("PLC-1"))
        );
        let v6 = decode_engine_id(&hex(
            "80 00 00 09 02 fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 01",
        ));
        assert_eq!(v6.value.as_deref(), Some("fe80::1"));
        let legacy = decode_engine_id(&hex("00 00 00 f8 00 80 63 11 22 33 00 00"));
        assert_eq!(
            (legacy.format.as_str(), legacy.enterprise),
            ("legacy", Some(248))
        );
        let short = decode_engine_id(&[0x80, 0x00]);
        assert_eq!(short.format, "unknown");
        let odd = decode_engine_id(&hex("80 00 00 09 03 00 11"));
        assert_eq!(
            (odd.format.as_str(), odd.value),
            ("mac", None),
            "wrong MAC length"
        );
    }

    /// Issue 14's inputs: a v1 (`02 01 00`) Response with noSuchName at index 7
    /// (`02 01 02 02 01 07`), and one with tooBig (`02 01 01 02 01 00`): decoded as the
    /// refusals the probe answers by asking for less.
    #[test]
    fn v1_batch_refusals_decode() {
        let no_such_name =
            hex("30 18 02 01 00 04 06 70 75 62 6c 69 63 a2 0b 02 01 07 02 01 02 02 01 07 30 00");
        let m = parse(&no_such_name).unwrap();
        assert_eq!(m.version, SnmpVersion::V1);
        let pdu = m.pdu.unwrap();
        assert_eq!((pdu.error_status, pdu.error_index), (2, 7));
        assert!(answers_id(&no_such_name, 7));
        let too_big =
            hex("30 18 02 01 00 04 06 70 75 62 6c 69 63 a2 0b 02 01 07 02 01 01 02 01 00 30 00");
        let pdu = parse(&too_big).unwrap().pdu.unwrap();
        assert_eq!((pdu.error_status, pdu.error_index), (1, 0));
    }

    #[test]
    fn rejects_malformed_ber() {
        // Length past the end, indefinite length, 5-byte length, 2^31 length.
        assert!(matches!(
            parse(&hex("30 26 02 01 01")),
            Err(ParseError::Ber(BerError::Truncated { .. }))
        ));
        assert!(matches!(
            parse(&hex("30 80 02 01 01 00 00")),
            Err(ParseError::Ber(BerError::Unsupported(_)))
        ));
        assert!(parse(&hex("30 85 00 00 00 00 05")).is_err());
        assert!(matches!(
            parse(&hex("30 84 80 00 00 00 02 01 01")),
            Err(ParseError::Ber(BerError::Truncated {
                declared: 0x8000_0000,
                ..
            }))
        ));
        // A 17-byte integer request id.
        let huge = hex("30 1c 02 01 01 04 00 a2 15 02 11 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 01 00");
        assert!(matches!(
            parse(&huge),
            Err(ParseError::Ber(
                BerError::TooLarge(_) | BerError::Truncated { .. }
            ))
        ));
        // Unknown version, an OID arc over 32 bits.
        assert!(matches!(
            parse(&hex("30 03 02 01 02")),
            Err(ParseError::Version(2))
        ));
        assert!(matches!(
            oid_value(&hex("2b 90 80 80 80 80 01")),
            Err(BerError::TooLarge(_))
        ));
        assert!(oid_value(&hex("2b 86")).is_err(), "unterminated arc");
        // Deep nesting cannot recurse: the walker follows the fixed structure only.
        let mut deep = Vec::new();
        for _ in 0..1000 {
            deep.extend([0x30, 0x80]);
        }
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn firmware_only_from_unambiguous_sysdescr() {
        assert_eq!(
            firmware_from_sysdescr("Cisco IOS Software, IE2000 Software (IE2000-UNIVERSALK9-M), Version 15.2(4)EA9, RELEASE SOFTWARE (fc1)").as_deref(),
            Some("15.2(4)EA9")
        );
        assert_eq!(
            firmware_from_sysdescr("SCALANCE X-200, Firmware Version: V4.5.2").as_deref(),
            Some("V4.5.2")
        );
        assert_eq!(
            firmware_from_sysdescr("Linux plc 6.1.0-18-amd64 #1 SMP x86_64"),
            None
        );
        assert_eq!(firmware_from_sysdescr(""), None);
    }

    /// Found by the hostile fixtures (`snmp-echo`): an echo service sent our v3 discovery
    /// back, and the probe took it for an engine with an empty id (status success).
    #[test]
    fn our_own_discovery_reflected_back_is_not_an_answer() {
        let request = encode_v3_discovery(0x1234, 0x1234);
        assert!(parse(&request).is_ok());
        assert!(!answers_id(&request, 0x1234));
        for version in [SnmpVersion::V1, SnmpVersion::V2c] {
            let get = encode_read(
                version,
                b"public",
                9,
                SnmpRead::Get,
                &[SYSTEM_GROUP[0].to_vec()],
            );
            assert!(!answers_id(&get, 9));
        }
    }

    /// The direct encoder writes rasn's bytes for the requests otscan sends, at the
    /// edges of every length and integer form, and leaves other OIDs to rasn.
    #[test]
    fn the_direct_encoder_writes_rasn_s_bytes() {
        let long_community = vec![b'c'; 300];
        let many: Vec<Oid> = (0..40).map(|i| vec![1, 3, 6, 1, 4, 1, 9, i, 0]).collect();
        let cases: Vec<(&[u8], Vec<Oid>)> = vec![
            (b"public", SYSTEM_GROUP.iter().map(|o| o.to_vec()).collect()),
            (b"", vec![vec![1, 3]]),
            (
                &long_community,
                vec![vec![0, 39, 127, 128, 16_383, 16_384, u32::MAX]],
            ),
            (b"private", many),
            (b"x", Vec::new()),
        ];
        for (community, oids) in &cases {
            for id in [
                0,
                1,
                127,
                128,
                255,
                256,
                32_767,
                32_768,
                -1,
                -128,
                -129,
                i32::MIN,
                i32::MAX,
            ] {
                for version in [SnmpVersion::V1, SnmpVersion::V2c] {
                    for read in [SnmpRead::Get, SnmpRead::GetNext] {
                        assert_eq!(
                            encode_read_direct(version, community, id, read, oids),
                            Some(encode_read_rasn(version, community, id, read, oids)),
                            "{version:?} {read:?} id {id} community {} bytes {oids:?}",
                            community.len()
                        );
                    }
                }
            }
        }
        for odd in [vec![2, 5, 1], vec![1, 40, 1], vec![1], Vec::new()] {
            let oids = vec![odd];
            assert_eq!(
                encode_read_direct(SnmpVersion::V2c, b"public", 1, SnmpRead::Get, &oids),
                None
            );
            assert_eq!(
                encode_read(SnmpVersion::V2c, b"public", 1, SnmpRead::Get, &oids),
                encode_read_rasn(SnmpVersion::V2c, b"public", 1, SnmpRead::Get, &oids)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn the_direct_encoder_matches_rasn_on_any_request(
            community in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            id in proptest::num::i32::ANY,
            oids in proptest::collection::vec(
                (0u32..2, 0u32..40, proptest::collection::vec(proptest::num::u32::ANY, 0..12)),
                0..30,
            ),
            v1 in proptest::bool::ANY,
            next in proptest::bool::ANY,
        ) {
            let oids: Vec<Oid> = oids
                .into_iter()
                .map(|(a, b, rest)| [a, b].into_iter().chain(rest).collect())
                .collect();
            let version = if v1 { SnmpVersion::V1 } else { SnmpVersion::V2c };
            let read = if next { SnmpRead::GetNext } else { SnmpRead::Get };
            proptest::prop_assert_eq!(
                encode_read_direct(version, &community, id, read, &oids),
                Some(encode_read_rasn(version, &community, id, read, &oids))
            );
        }

        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse(&bytes);
            let _ = decode_engine_id(&bytes);
            let _ = answers_id(&bytes, 1);
        }

        #[test]
        fn parser_never_panics_on_mutated_requests(
            flips in proptest::collection::vec((0usize..128, proptest::num::u8::ANY), 1..8),
            cut in 0usize..32,
        ) {
            let oids: Vec<Oid> = SYSTEM_GROUP.iter().map(|o| o.to_vec()).collect();
            let mut bytes = encode_read(SnmpVersion::V2c, b"public", 9, SnmpRead::Get, &oids);
            for (i, b) in flips {
                let n = bytes.len();
                bytes[i % n] = b;
            }
            bytes.truncate(bytes.len().saturating_sub(cut));
            let _ = parse(&bytes);
        }
    }
}
