//! SNMP identification: v1/v2c GETs of identity OIDs, bounded GetNext walks of the
//! ENTITY-MIB and ifPhysAddress, and SNMPv3 engine discovery (no credentials).
//!
//! Requests are encoded with rasn-snmp from the closed set in
//! [`ReadOnlyRequest`]: GetRequest, GetNextRequest and
//! the v3 discovery message. There is no SetRequest encoder.
//!
//! Replies are decoded by a small BER reader of our own that walks the fixed SNMP
//! structure (no recursion, so nesting cannot exhaust the stack), checks every length
//! against the bytes present, and keeps an unknown value type as "unknown" instead of
//! failing the message: rasn-snmp rejects a whole message for one unknown application
//! tag, and devices send those.

use std::fmt::Write as _;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::{DeviceSession, ExchangeError};
use crate::record::{
    DeviceText, DeviceType, Identity, Protocol, ServiceDetails, ServiceObservation, Status,
    Transport, VendorId, VendorIdSpace,
};
use crate::request::ReadOnlyRequest;

/// Default SNMP port.
pub const DEFAULT_PORT: u16 = 161;
/// Largest reply accepted (bytes). Identity replies are a few hundred bytes.
pub const MAX_REPLY_LEN: usize = 8192;
/// Most communities one device may be asked with: this is identification, not guessing.
pub const MAX_COMMUNITIES: usize = 4;
/// Most varbinds decoded from one reply.
pub const MAX_VARBINDS: usize = 64;
/// Most sub-identifiers in one OID.
pub const MAX_OID_LEN: usize = 128;

// ---------------------------------------------------------------------------
// OIDs

/// An object identifier as its arcs.
pub type Oid = Vec<u32>;

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

// ---------------------------------------------------------------------------
// Encoding (rasn-snmp)

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
pub(crate) fn encode_read(
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
pub(crate) fn encode_v3_discovery(message_id: i32, request_id: i32) -> Vec<u8> {
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

// ---------------------------------------------------------------------------
// Decoding (bounded BER walk)

/// Why a reply could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than a length says.
    #[error("{what}: length {declared} but {available} bytes present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Declared length.
        declared: usize,
        /// Bytes present.
        available: usize,
    },
    /// A tag other than the structure requires.
    #[error("{what}: expected tag {expected:#04x}, found {found:#04x}")]
    UnexpectedTag {
        /// What was being read.
        what: &'static str,
        /// Tag required.
        expected: u8,
        /// Tag found.
        found: u8,
    },
    /// An encoding SNMP never uses (indefinite length, multi-byte tags, lengths over 4 bytes).
    #[error("{0}")]
    Unsupported(&'static str),
    /// An integer wider than 64 bits, or an OID arc wider than 32 bits.
    #[error("{0} too large")]
    TooLarge(&'static str),
    /// A version other than 0, 1 or 3.
    #[error("unknown SNMP version {0}")]
    Version(i64),
}

struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
}

/// Reads one TLV from the front of `buf`, returning it and the rest.
fn tlv<'a>(buf: &'a [u8], what: &'static str) -> Result<(Tlv<'a>, &'a [u8]), ParseError> {
    let truncated = |declared, available| ParseError::Truncated {
        what,
        declared,
        available,
    };
    let [tag, first, rest @ ..] = buf else {
        return Err(truncated(2, buf.len()));
    };
    if tag & 0x1F == 0x1F {
        return Err(ParseError::Unsupported("multi-byte BER tag"));
    }
    let (len, rest) = match *first {
        0x80 => return Err(ParseError::Unsupported("indefinite BER length")),
        n if n < 0x80 => (usize::from(n), rest),
        n => {
            let count = usize::from(n & 0x7F);
            if count > 4 {
                return Err(ParseError::Unsupported("BER length of more than 4 bytes"));
            }
            let bytes = rest.get(..count).ok_or(truncated(count, rest.len()))?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[count..])
        }
    };
    let value = rest.get(..len).ok_or(truncated(len, rest.len()))?;
    Ok((Tlv { tag: *tag, value }, &rest[len..]))
}

fn expect<'a>(
    buf: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), ParseError> {
    let (t, rest) = tlv(buf, what)?;
    if t.tag != tag {
        return Err(ParseError::UnexpectedTag {
            what,
            expected: tag,
            found: t.tag,
        });
    }
    Ok((t.value, rest))
}

fn int_value(v: &[u8], what: &'static str) -> Result<i64, ParseError> {
    if v.is_empty() {
        return Ok(0);
    }
    // Drop sign-extension bytes so 9-byte encodings of values that fit still decode.
    let mut v = v;
    while v.len() > 8 && (v[0] == 0x00 && v[1] & 0x80 == 0 || v[0] == 0xFF && v[1] & 0x80 != 0) {
        v = &v[1..];
    }
    if v.len() > 8 {
        return Err(ParseError::TooLarge(what));
    }
    let init: i64 = if v[0] & 0x80 != 0 { -1 } else { 0 };
    Ok(v.iter().fold(init, |acc, b| (acc << 8) | i64::from(*b)))
}

fn uint_value(v: &[u8], what: &'static str) -> Result<u64, ParseError> {
    let v = match v {
        [0, rest @ ..] => rest,
        other => other,
    };
    if v.len() > 8 {
        return Err(ParseError::TooLarge(what));
    }
    Ok(v.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

fn read_int<'a>(buf: &'a [u8], what: &'static str) -> Result<(i64, &'a [u8]), ParseError> {
    let (v, rest) = expect(buf, 0x02, what)?;
    Ok((int_value(v, what)?, rest))
}

fn oid_value(v: &[u8]) -> Result<Oid, ParseError> {
    let mut arcs = Vec::new();
    let mut acc: u64 = 0;
    for (i, b) in v.iter().enumerate() {
        acc = (acc << 7) | u64::from(b & 0x7F);
        if acc > u64::from(u32::MAX) {
            return Err(ParseError::TooLarge("OID arc"));
        }
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                // The first encoded number packs the first two arcs.
                let first = (acc / 40).min(2);
                arcs.push(first as u32);
                arcs.push((acc - first * 40) as u32);
            } else {
                arcs.push(acc as u32);
            }
            acc = 0;
            if arcs.len() > MAX_OID_LEN {
                return Err(ParseError::TooLarge("OID"));
            }
        } else if i + 1 == v.len() {
            return Err(ParseError::Truncated {
                what: "OID arc",
                declared: v.len() + 1,
                available: v.len(),
            });
        }
    }
    Ok(arcs)
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

fn value_of(t: &Tlv<'_>) -> Result<SnmpValue, ParseError> {
    Ok(match t.tag {
        0x02 => SnmpValue::Integer(int_value(t.value, "INTEGER")?),
        0x04 => SnmpValue::Octets(t.value.to_vec()),
        0x05 => SnmpValue::Null,
        0x06 => SnmpValue::Oid(oid_value(t.value)?),
        0x40 => match <[u8; 4]>::try_from(t.value) {
            Ok(a) => SnmpValue::IpAddress(a),
            Err(_) => SnmpValue::Octets(t.value.to_vec()),
        },
        0x41 => SnmpValue::Counter32(uint_value(t.value, "Counter32")?),
        0x42 => SnmpValue::Gauge32(uint_value(t.value, "Gauge32")?),
        0x43 => SnmpValue::TimeTicks(uint_value(t.value, "TimeTicks")?),
        0x44 => SnmpValue::Opaque(t.value.to_vec()),
        0x46 => SnmpValue::Counter64(uint_value(t.value, "Counter64")?),
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
    let (t, _) = tlv(buf, "PDU")?;
    let kind = match t.tag {
        0xA2 => PduKind::Response,
        0xA8 => PduKind::Report,
        other => PduKind::Other(other),
    };
    let (request_id, rest) = read_int(t.value, "request-id")?;
    let (error_status, rest) = read_int(rest, "error-status")?;
    let (error_index, rest) = read_int(rest, "error-index")?;
    let (mut list, _) = expect(rest, 0x30, "varbind list")?;
    let mut varbinds = Vec::new();
    while !list.is_empty() && varbinds.len() < MAX_VARBINDS {
        let (vb, rest) = expect(list, 0x30, "varbind")?;
        list = rest;
        let (name, vb) = expect(vb, 0x06, "varbind name")?;
        let (value, _) = tlv(vb, "varbind value")?;
        varbinds.push((oid_value(name)?, value_of(&value)?));
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
pub fn parse_message(bytes: &[u8]) -> Result<Message, ParseError> {
    let (body, _) = expect(bytes, 0x30, "message")?;
    let (version, rest) = read_int(body, "version")?;
    match version {
        0 | 1 => {
            let (community, rest) = expect(rest, 0x04, "community")?;
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
            let (header, rest) = expect(rest, 0x30, "msgGlobalData")?;
            let (message_id, h) = read_int(header, "msgID")?;
            let (_max_size, h) = read_int(h, "msgMaxSize")?;
            let (flags, h) = expect(h, 0x04, "msgFlags")?;
            let (security_model, _) = read_int(h, "msgSecurityModel")?;
            let (security, rest) = expect(rest, 0x04, "msgSecurityParameters")?;
            let (usm, _) = expect(security, 0x30, "UsmSecurityParameters")?;
            let (engine_id, u) = expect(usm, 0x04, "msgAuthoritativeEngineID")?;
            let (engine_boots, u) = read_int(u, "msgAuthoritativeEngineBoots")?;
            let (engine_time, _) = read_int(u, "msgAuthoritativeEngineTime")?;
            let (scoped, _) = tlv(rest, "msgData")?;
            let pdu = if scoped.tag == 0x30 {
                let (_ctx_engine, s) = expect(scoped.value, 0x04, "contextEngineID")?;
                let (_ctx_name, s) = expect(s, 0x04, "contextName")?;
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

/// True when `bytes` is a response (or, for v3, a Report) to request `id`: what the
/// probe accepts. Anything else (another id, a request, a trap) is dropped.
///
/// A v3 message must carry a Report (or Response) PDU in clear: our own discovery request
/// reflected back by an echo service has the right msgID too, and is not an engine.
pub fn answers(bytes: &[u8], id: i64) -> bool {
    parse_message(bytes).is_ok_and(|m| match (&m.v3, &m.pdu) {
        (Some(h), Some(p)) => {
            h.message_id == id && matches!(p.kind, PduKind::Report | PduKind::Response)
        }
        (None, Some(p)) => p.request_id == id && p.kind == PduKind::Response,
        _ => false,
    })
}

// ---------------------------------------------------------------------------
// Engine ids (RFC 3411 SnmpEngineID)

/// A decoded SNMP engine id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EngineId {
    /// The engine id in hex.
    pub hex: String,
    /// IANA enterprise number of the engine's vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<u32>,
    /// Its registered name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_name: Option<String>,
    /// ipv4, ipv6, mac, text, octets, enterprise-specific, legacy or unknown.
    pub format: String,
    /// The format byte (RFC 3411), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_code: Option<u8>,
    /// The address, MAC or text the id carries, when its format says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

fn mac_text(b: &[u8]) -> String {
    let mut s = String::with_capacity(17);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Decodes an engine id per RFC 3411: first bit set -> 4-byte enterprise number and a
/// format byte (1 IPv4, 2 IPv6, 3 MAC, 4 text, 5 octets, 128+ enterprise specific);
/// first bit clear -> the legacy 12-byte form (enterprise number + 8 bytes).
pub fn decode_engine_id(bytes: &[u8]) -> EngineId {
    let mut id = EngineId {
        hex: crate::record::hex(bytes),
        enterprise: None,
        enterprise_name: None,
        format: "unknown".into(),
        format_code: None,
        value: None,
    };
    let Some(head) = bytes.get(..4) else {
        return id;
    };
    let pen = u32::from_be_bytes([head[0] & 0x7F, head[1], head[2], head[3]]);
    id.enterprise = Some(pen);
    id.enterprise_name = crate::vendors::iana_enterprise(pen).map(str::to_owned);
    if head[0] & 0x80 == 0 {
        id.format = "legacy".into();
        return id;
    }
    let Some(&format) = bytes.get(4) else {
        return id;
    };
    let data = &bytes[5..];
    id.format_code = Some(format);
    let (name, value) = match format {
        1 => (
            "ipv4",
            <[u8; 4]>::try_from(data)
                .ok()
                .map(|a| std::net::Ipv4Addr::from(a).to_string()),
        ),
        2 => (
            "ipv6",
            <[u8; 16]>::try_from(data)
                .ok()
                .map(|a| std::net::Ipv6Addr::from(a).to_string()),
        ),
        3 => ("mac", (data.len() == 6).then(|| mac_text(data))),
        4 => ("text", Some(DeviceText::from_bytes(data).text)),
        5 => ("octets", None),
        128.. => ("enterprise-specific", None),
        _ => ("reserved", None),
    };
    id.format = name.into();
    id.value = value;
    id
}

// ---------------------------------------------------------------------------
// Record fields

/// SNMP fields of a service observation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SnmpDetails {
    /// Version that answered the identity GET ("1" or "2c"); absent when only v3 discovery answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<SnmpVersion>,
    /// Position (0-based) of the community that answered in the configured list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_index: Option<usize>,
    /// The community string itself, only with `record_community`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community: Option<String>,
    /// The system group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemGroup>,
    /// First rows of the ENTITY-MIB physical table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<EntityRow>,
    /// First non-empty ifPhysAddress, lower-case colon form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// SNMPv3 engine, from discovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineInfo>,
    /// error-status of the identity GET when non-zero, with its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<String>,
    /// Oddities accepted anyway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The MIB-II system group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SystemGroup {
    /// sysDescr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descr: Option<DeviceText>,
    /// sysObjectID, dotted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// Enterprise number of sysObjectID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<u32>,
    /// Its registered name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_name: Option<String>,
    /// sysUpTime in ticks (1/100 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_ticks: Option<u64>,
    /// sysUpTime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_seconds: Option<f64>,
    /// sysContact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<DeviceText>,
    /// sysName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<DeviceText>,
    /// sysLocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<DeviceText>,
    /// sysServices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<i64>,
    /// sysServices as layer names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_layers: Vec<String>,
}

/// One row of entPhysicalTable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EntityRow {
    /// entPhysicalIndex.
    pub index: u32,
    /// entPhysicalDescr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descr: Option<DeviceText>,
    /// entPhysicalHardwareRev.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_rev: Option<DeviceText>,
    /// entPhysicalFirmwareRev.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_rev: Option<DeviceText>,
    /// entPhysicalSoftwareRev.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_rev: Option<DeviceText>,
    /// entPhysicalSerialNum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<DeviceText>,
    /// entPhysicalMfgName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfg_name: Option<DeviceText>,
    /// entPhysicalModelName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<DeviceText>,
}

/// SNMPv3 engine facts from discovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EngineInfo {
    /// The engine id, decoded.
    pub engine_id: EngineId,
    /// msgAuthoritativeEngineBoots.
    pub boots: i64,
    /// msgAuthoritativeEngineTime (seconds since the last boot).
    pub time: i64,
}

/// Names of the sysServices layer bits (RFC 3418).
pub fn service_layers(services: i64) -> Vec<String> {
    [
        (0x01, "physical"),
        (0x02, "datalink"),
        (0x04, "internet"),
        (0x08, "end-to-end"),
        (0x40, "applications"),
    ]
    .iter()
    .filter(|(bit, _)| services & bit != 0)
    .map(|(_, n)| (*n).to_owned())
    .collect()
}

/// Name of an SNMP error-status.
pub fn error_status_name(status: i64) -> &'static str {
    match status {
        1 => "tooBig",
        2 => "noSuchName",
        3 => "badValue",
        4 => "readOnly",
        5 => "genErr",
        6 => "noAccess",
        16 => "authorizationError",
        _ => "other",
    }
}

/// A firmware version from sysDescr, only for formats where it is unambiguous:
/// Cisco IOS ("..., Version 15.2(4)EA9, ...") and explicit "Firmware Version: X" /
/// "FW: X" / "Firmware: X" fields. Anything else (e.g. a Linux kernel version in a
/// host's sysDescr) is not a device firmware and gives `None`.
pub fn firmware_from_sysdescr(descr: &str) -> Option<String> {
    let take = |rest: &str| {
        let v: String = rest
            .trim_start()
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != ',' && *c != ';')
            .collect();
        (!v.is_empty()).then_some(v)
    };
    if descr.contains("Cisco IOS") {
        if let Some(i) = descr.find(", Version ") {
            return take(&descr[i + ", Version ".len()..]);
        }
    }
    for key in ["Firmware Version:", "Firmware version:", "Firmware:", "FW:"] {
        if let Some(i) = descr.find(key) {
            return take(&descr[i + key.len()..]);
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Probe

/// Which SNMP versions the probe uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnmpVersions {
    /// v1 only.
    V1,
    /// v2c only.
    V2c,
    /// v3 discovery only.
    V3,
    /// v2c, then v1 when v2c is not answered, plus v3 discovery (the default).
    All,
}

/// SNMP probe settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnmpConfig {
    /// UDP port.
    pub port: u16,
    /// Communities tried in order (at most [`MAX_COMMUNITIES`]); never logged.
    pub communities: Vec<Vec<u8>>,
    /// Versions.
    pub versions: SnmpVersions,
    /// Put the answering community string in the record (off: only its index).
    pub record_community: bool,
    /// Most ENTITY-MIB rows read.
    pub max_entity_rows: u32,
    /// Most GetNext requests for ifPhysAddress.
    pub max_mac_requests: u32,
    /// Unanswered exchanges (after retries) before the device is given up.
    pub max_silent: u32,
}

impl Default for SnmpConfig {
    fn default() -> Self {
        SnmpConfig {
            port: DEFAULT_PORT,
            communities: vec![b"public".to_vec()],
            versions: SnmpVersions::All,
            record_community: false,
            max_entity_rows: 4,
            max_mac_requests: 4,
            max_silent: 2,
        }
    }
}

impl SnmpConfig {
    /// Most requests the probe can send to one device, retries not counted.
    pub fn max_requests(&self) -> u64 {
        let per_community = match self.versions {
            SnmpVersions::All => 2,
            SnmpVersions::V3 => 0,
            _ => 1,
        };
        let walks = u64::from(self.max_entity_rows) + u64::from(self.max_mac_requests);
        per_community * self.communities.len() as u64 + walks + 1
    }

    fn attempts(&self) -> Vec<(SnmpVersion, usize)> {
        let mut out = Vec::new();
        for i in 0..self.communities.len() {
            match self.versions {
                SnmpVersions::V1 => out.push((SnmpVersion::V1, i)),
                SnmpVersions::V2c => out.push((SnmpVersion::V2c, i)),
                SnmpVersions::All => {
                    out.push((SnmpVersion::V2c, i));
                    out.push((SnmpVersion::V1, i));
                }
                SnmpVersions::V3 => {}
            }
        }
        out
    }
}

struct SnmpRun<'a> {
    session: &'a mut DeviceSession,
    config: &'a SnmpConfig,
    requests: u32,
    first_rtt: Option<Duration>,
    silent: u32,
    details: SnmpDetails,
}

enum Outcome {
    Reply(Pdu),
    Silent,
    Fatal(ExchangeError),
}

impl SnmpRun<'_> {
    async fn read(
        &mut self,
        version: SnmpVersion,
        community: usize,
        read: SnmpRead,
        oids: Vec<Oid>,
    ) -> Outcome {
        let request = ReadOnlyRequest::SnmpRead {
            version,
            community: self.config.communities[community].clone(),
            read,
            oids,
        };
        self.requests += 1;
        match self
            .session
            .udp_exchange(self.config.port, &request, MAX_REPLY_LEN, &|b, c| {
                answers(b, i64::from(c as i32))
            })
            .await
        {
            Ok(reply) => {
                self.first_rtt.get_or_insert(reply.rtt);
                match parse_message(&reply.bytes) {
                    Ok(Message { pdu: Some(pdu), .. }) => Outcome::Reply(pdu),
                    Ok(_) => Outcome::Fatal(ExchangeError::Protocol("reply without a PDU".into())),
                    Err(e) => Outcome::Fatal(ExchangeError::Protocol(e.to_string())),
                }
            }
            Err(ExchangeError::Timeout) => {
                self.silent += 1;
                Outcome::Silent
            }
            Err(e) => Outcome::Fatal(e),
        }
    }
}

fn text(value: &SnmpValue) -> Option<DeviceText> {
    match value {
        SnmpValue::Octets(b) => Some(DeviceText::from_bytes(b)),
        _ => None,
    }
}

fn system_group(pdu: &Pdu) -> SystemGroup {
    let mut s = SystemGroup::default();
    for (oid, value) in &pdu.varbinds {
        let [1, 3, 6, 1, 2, 1, 1, column, 0] = oid.as_slice() else {
            continue;
        };
        match (column, value) {
            (1, v) => s.descr = text(v),
            (2, SnmpValue::Oid(o)) => {
                s.object_id = Some(oid_text(o));
                s.enterprise = enterprise_of(o);
                s.enterprise_name = s
                    .enterprise
                    .and_then(crate::vendors::iana_enterprise)
                    .map(str::to_owned);
            }
            (3, SnmpValue::TimeTicks(t)) => {
                s.uptime_ticks = Some(*t);
                s.uptime_seconds = Some(*t as f64 / 100.0);
            }
            (4, v) => s.contact = text(v),
            (5, v) => s.name = text(v),
            (6, v) => s.location = text(v),
            (7, SnmpValue::Integer(n)) => {
                s.services = Some(*n);
                s.service_layers = service_layers(*n);
            }
            _ => {}
        }
    }
    s
}

/// Runs the SNMP probe against one device.
pub(crate) async fn probe(
    session: &mut DeviceSession,
    config: &SnmpConfig,
) -> (ServiceObservation, Identity) {
    let mut run = SnmpRun {
        session,
        config,
        requests: 0,
        first_rtt: None,
        silent: 0,
        details: SnmpDetails::default(),
    };
    let mut status = Status::IoTimeout;
    let mut error = None;
    let mut answered = None;
    let discovery = matches!(config.versions, SnmpVersions::All | SnmpVersions::V3);
    let mut engine_tried = !discovery;
    let mut attempts = config.attempts().into_iter().peekable();
    loop {
        // v3 discovery goes second: it needs no community, so it identifies agents that
        // ignore ours (v3-only, other community) before the silent budget runs out.
        let first_done = run.requests > 0;
        if !engine_tried && (first_done || attempts.peek().is_none()) {
            engine_tried = true;
            match discover_engine(&mut run).await {
                Ok(Some(engine)) => run.details.engine = Some(engine),
                Ok(None) => {}
                Err(ExchangeError::Timeout) => {}
                Err(e) => {
                    if !matches!(e, ExchangeError::Protocol(_)) {
                        status = e.status();
                        error = Some(e.to_string());
                        break;
                    }
                    run.details.warnings.push(format!("v3 discovery: {e}"));
                }
            }
            continue;
        }
        let Some((version, community)) = attempts.next() else {
            break;
        };
        // A device that answered nothing yet gets a bounded number of silent tries;
        // one whose engine answered is known to run an agent.
        if run.silent >= config.max_silent && run.details.engine.is_none() {
            break;
        }
        let oids = SYSTEM_GROUP.iter().map(|o| o.to_vec()).collect();
        match run.read(version, community, SnmpRead::Get, oids).await {
            Outcome::Reply(pdu) => {
                answered = Some((version, community, pdu));
                break;
            }
            Outcome::Silent => {}
            Outcome::Fatal(e) => {
                status = e.status();
                error = Some(e.to_string());
                break;
            }
        }
    }
    if let Some((version, community, pdu)) = answered {
        run.details.version = Some(version);
        run.details.community_index = Some(community);
        if config.record_community {
            run.details.community =
                Some(DeviceText::from_bytes(&config.communities[community]).text);
        }
        if pdu.error_status != 0 {
            status = Status::ApplicationError;
            let name = error_status_name(pdu.error_status);
            run.details.error_status = Some(format!("{} ({name})", pdu.error_status));
            error = Some(format!(
                "error-status {} ({name}) at index {}",
                pdu.error_status, pdu.error_index
            ));
        } else {
            status = Status::Success;
            run.details.system = Some(system_group(&pdu));
            walk_entities(&mut run, version, community).await;
            walk_mac(&mut run, version, community).await;
        }
    }
    if !engine_tried && status.is_protocol_answer() {
        match discover_engine(&mut run).await {
            Ok(engine) => run.details.engine = engine,
            Err(e) => run.details.warnings.push(format!("v3 discovery: {e}")),
        }
    }
    if run.details.engine.is_some() && status == Status::IoTimeout {
        // Only v3 discovery answered: the engine id, its enterprise and boots/time
        // still identify the agent.
        status = Status::Success;
        error = None;
    }
    if status == Status::IoTimeout && error.is_none() {
        error = Some("no reply within the read timeout".into());
    }
    finish(run, status, error)
}

async fn walk_entities(run: &mut SnmpRun<'_>, version: SnmpVersion, community: usize) {
    let mut cursor: Vec<Oid> = ENTITY_COLUMNS
        .iter()
        .map(|c| {
            let mut o = ENT_PHYSICAL_ENTRY.to_vec();
            o.push(1);
            o.push(*c);
            o
        })
        .collect();
    for _ in 0..run.config.max_entity_rows {
        let Outcome::Reply(pdu) = run
            .read(version, community, SnmpRead::GetNext, cursor.clone())
            .await
        else {
            return;
        };
        if pdu.error_status != 0 {
            return;
        }
        let mut row = EntityRow::default();
        let mut next = Vec::new();
        for (i, (oid, value)) in pdu.varbinds.iter().enumerate() {
            let column = ENTITY_COLUMNS.get(i).copied();
            let in_column = column.is_some_and(|c| {
                oid.len() == ENT_PHYSICAL_ENTRY.len() + 3
                    && oid.starts_with(&ENT_PHYSICAL_ENTRY)
                    && oid[ENT_PHYSICAL_ENTRY.len()] == 1
                    && oid[ENT_PHYSICAL_ENTRY.len() + 1] == c
            });
            if !in_column || matches!(value, SnmpValue::Absent(_)) {
                continue;
            }
            row.index = oid[oid.len() - 1];
            let v = text(value).filter(|t| !t.text.trim().is_empty());
            match column {
                Some(2) => row.descr = v,
                Some(8) => row.hardware_rev = v,
                Some(9) => row.firmware_rev = v,
                Some(10) => row.software_rev = v,
                Some(11) => row.serial = v,
                Some(12) => row.mfg_name = v,
                _ => row.model_name = v,
            }
            next.push(oid.clone());
        }
        // Every column left the table (or the agent returned something else): done.
        if next.len() != ENTITY_COLUMNS.len() || next == cursor {
            if next.is_empty() {
                return;
            }
            run.details.entities.push(row);
            return;
        }
        run.details.entities.push(row);
        cursor = next;
    }
}

async fn walk_mac(run: &mut SnmpRun<'_>, version: SnmpVersion, community: usize) {
    let mut cursor = IF_PHYS_ADDRESS.to_vec();
    for _ in 0..run.config.max_mac_requests {
        let Outcome::Reply(pdu) = run
            .read(version, community, SnmpRead::GetNext, vec![cursor.clone()])
            .await
        else {
            return;
        };
        let Some((oid, value)) = pdu.varbinds.into_iter().next() else {
            return;
        };
        if pdu.error_status != 0 || !oid.starts_with(&IF_PHYS_ADDRESS) || oid <= cursor {
            return;
        }
        if let SnmpValue::Octets(b) = &value {
            // The loopback interface has an empty address; keep walking past it.
            if b.len() == 6 && b.iter().any(|x| *x != 0) {
                run.details.mac = Some(mac_text(b));
                return;
            }
        }
        cursor = oid;
    }
}

async fn discover_engine(run: &mut SnmpRun<'_>) -> Result<Option<EngineInfo>, ExchangeError> {
    run.requests += 1;
    let reply = run
        .session
        .udp_exchange(
            run.config.port,
            &ReadOnlyRequest::SnmpV3Discovery,
            MAX_REPLY_LEN,
            &|b, c| answers(b, i64::from(c as i32)),
        )
        .await;
    let reply = match reply {
        Ok(r) => r,
        Err(ExchangeError::Timeout) => {
            run.silent += 1;
            return Err(ExchangeError::Timeout);
        }
        Err(e) => return Err(e),
    };
    run.first_rtt.get_or_insert(reply.rtt);
    let message =
        parse_message(&reply.bytes).map_err(|e| ExchangeError::Protocol(e.to_string()))?;
    Ok(message.v3.map(|h| EngineInfo {
        engine_id: decode_engine_id(&h.engine_id),
        boots: h.engine_boots,
        time: h.engine_time,
    }))
}

fn finish(
    run: SnmpRun<'_>,
    status: Status,
    error: Option<String>,
) -> (ServiceObservation, Identity) {
    let details = run.details;
    let system = details.system.clone().unwrap_or_default();
    let first = |f: fn(&EntityRow) -> Option<&DeviceText>| {
        details
            .entities
            .iter()
            .find_map(|r| f(r).and_then(DeviceText::trimmed))
    };
    let enterprise = system
        .enterprise
        .or(details.engine.as_ref().and_then(|e| e.engine_id.enterprise));
    let descr = system
        .descr
        .as_ref()
        .map(|d| d.text.clone())
        .unwrap_or_default();
    let identity = Identity {
        vendor: first(|r| r.mfg_name.as_ref()).or_else(|| {
            enterprise
                .and_then(crate::vendors::iana_enterprise)
                .map(str::to_owned)
        }),
        vendor_id: enterprise.map(|id| VendorId {
            space: VendorIdSpace::IanaPen,
            id,
        }),
        model: first(|r| r.model_name.as_ref()),
        serial_number: first(|r| r.serial.as_ref()),
        // The running software image is what vulnerability management needs; on
        // Cisco-style agents entPhysicalFirmwareRev is the boot loader (ROMMON).
        firmware_version: first(|r| r.software_rev.as_ref())
            .or_else(|| first(|r| r.firmware_rev.as_ref()))
            .or_else(|| firmware_from_sysdescr(&descr)),
        hostname: system.name.as_ref().and_then(DeviceText::trimmed),
        mac: details.mac.clone().or_else(|| {
            details
                .engine
                .as_ref()
                .filter(|e| e.engine_id.format == "mac")
                .and_then(|e| e.engine_id.value.clone())
        }),
        // Layer 2 without applications is a bridge: a switch. Anything richer is
        // ambiguous (L3 switches, routers and hosts all set more bits).
        device_type: (system.services == Some(2)).then_some(DeviceType::Switch),
        ..Identity::default()
    };
    let reached = status.is_protocol_answer() || status == Status::ProtocolError;
    let observation = ServiceObservation {
        protocol: Protocol::Snmp,
        transport: Transport::Udp,
        port: run.config.port,
        status,
        rtt_ms: run.first_rtt.map(crate::record::millis),
        timestamp: jiff::Timestamp::now(),
        error,
        requests: run.requests,
        details: reached.then(|| ServiceDetails::Snmp(Box::new(details))),
    };
    (observation, identity)
}

#[cfg(test)]
mod tests {
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
        let parsed = parse_message(&v1).unwrap();
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
        let parsed = parse_message(&bytes).unwrap();
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

        let m = parse_message(&msg).unwrap();
        assert_eq!(m.version, SnmpVersion::V2c);
        assert_eq!(m.community, b"public");
        let pdu = m.pdu.unwrap();
        assert_eq!(pdu.kind, PduKind::Response);
        assert!(answers(&msg, 7) && !answers(&msg, 8));
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
        let system = system_group(&pdu);
        assert_eq!(system.enterprise, Some(318));
        assert_eq!(system.uptime_seconds, Some(1234.56));
        assert_eq!(
            system.service_layers,
            ["end-to-end", "applications"],
            "72 = 8 + 64"
        );
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
        let m = parse_message(&msg).unwrap();
        let h = m.v3.as_ref().unwrap();
        assert_eq!((h.engine_boots, h.engine_time), (3, 1_234_567));
        assert!(answers(&msg, 0x1d75_0e01));
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
        assert!(!answers(&rasn::ber::encode(&other).unwrap(), 0x1d75_0e01));
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

    #[test]
    fn rejects_malformed_ber() {
        // Length past the end, indefinite length, 5-byte length, 2^31 length.
        assert!(matches!(
            parse_message(&hex("30 26 02 01 01")),
            Err(ParseError::Truncated { .. })
        ));
        assert!(matches!(
            parse_message(&hex("30 80 02 01 01 00 00")),
            Err(ParseError::Unsupported(_))
        ));
        assert!(parse_message(&hex("30 85 00 00 00 00 05")).is_err());
        assert!(matches!(
            parse_message(&hex("30 84 80 00 00 00 02 01 01")),
            Err(ParseError::Truncated {
                declared: 0x8000_0000,
                ..
            })
        ));
        // A 17-byte integer request id.
        let huge = hex("30 1c 02 01 01 04 00 a2 15 02 11 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 01 00");
        assert!(matches!(
            parse_message(&huge),
            Err(ParseError::TooLarge(_)) | Err(ParseError::Truncated { .. })
        ));
        // Unknown version, an OID arc over 32 bits.
        assert!(matches!(
            parse_message(&hex("30 03 02 01 02")),
            Err(ParseError::Version(2))
        ));
        assert!(matches!(
            oid_value(&hex("2b 90 80 80 80 80 01")),
            Err(ParseError::TooLarge(_))
        ));
        assert!(oid_value(&hex("2b 86")).is_err(), "unterminated arc");
        // Deep nesting cannot recurse: the walker follows the fixed structure only.
        let mut deep = Vec::new();
        for _ in 0..1000 {
            deep.extend([0x30, 0x80]);
        }
        assert!(parse_message(&deep).is_err());
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
        assert!(parse_message(&request).is_ok());
        assert!(!answers(&request, 0x1234));
        for version in [SnmpVersion::V1, SnmpVersion::V2c] {
            let get = encode_read(
                version,
                b"public",
                9,
                SnmpRead::Get,
                &[SYSTEM_GROUP[0].to_vec()],
            );
            assert!(!answers(&get, 9));
        }
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_message(&bytes);
            let _ = decode_engine_id(&bytes);
            let _ = answers(&bytes, 1);
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
            let _ = parse_message(&bytes);
        }
    }
}
