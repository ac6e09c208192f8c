//! Modbus/TCP codec, sans IO: the closed [`Request`] enum, [`encode`], MBAP framing
//! ([`frame`]) and [`parse`] of the replies to FC 0x2B / MEI 0x0E Read Device
//! Identification and FC 0x11 Report Server ID.
//!
//! [`parse`] decodes the PDU with tokio-modbus first and, when tokio-modbus rejects it
//! (unknown conformity level, trailing bytes, odd run indicator: all seen on real
//! devices), with a tolerant parser of our own ([`parse_pdu_tolerant`]) that reads
//! through the checked `Cursor` of `protocols::wire`.
//!
//! We do not use tokio-modbus's client: it owns the socket and encodes from its full
//! `Request` enum, writes included. The session owns the socket and every request
//! comes from [`Request`]. Spec: Modbus Application Protocol v1.1b3 (6.17 Report
//! Server ID, 6.21 Read Device Identification) and the Modbus Messaging on TCP/IP
//! Implementation Guide v1.0b (MBAP header).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::protocols::wire::{Cursor, FrameCheck, Truncated};
use crate::record::fields::hex;

/// MBAP header length (transaction id, protocol id, length, unit id).
pub const MBAP_LEN: usize = 7;
/// Largest PDU the Modbus spec allows.
pub const MAX_PDU_LEN: usize = 253;
/// Largest ADU: MBAP header + PDU, the most a reply frame can be.
pub const MAX_ADU_LEN: usize = MBAP_LEN + MAX_PDU_LEN;

const FC_REPORT_SERVER_ID: u8 = 0x11;
const FC_ENCAPSULATED: u8 = 0x2B;
const MEI_READ_DEVICE_ID: u8 = 0x0E;

/// Which stream of device-identification objects to read (MEI 0x0E "Read Device ID code").
///
/// Only the three stream codes exist here: individual access (code 0x04) is not
/// needed to build an inventory and is left out on purpose.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ReadDeviceIdCode {
    /// 0x01: basic objects (vendor name, product code, revision).
    Basic,
    /// 0x02: regular objects (vendor URL, product name, model name, user application name).
    Regular,
    /// 0x03: extended, vendor-specific objects (0x80-0xFF).
    Extended,
}

impl ReadDeviceIdCode {
    /// The code's byte on the wire.
    pub const fn value(self) -> u8 {
        match self {
            ReadDeviceIdCode::Basic => 0x01,
            ReadDeviceIdCode::Regular => 0x02,
            ReadDeviceIdCode::Extended => 0x03,
        }
    }

    /// The first object id of this stream's category.
    pub const fn first_object(self) -> u8 {
        match self {
            ReadDeviceIdCode::Basic => 0x00,
            ReadDeviceIdCode::Regular => 0x03,
            ReadDeviceIdCode::Extended => 0x80,
        }
    }
}

/// The Modbus requests otscan can send: identification reads only, no function code
/// that writes, diagnoses or changes anything can be spelled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Request {
    /// FC 0x2B / MEI 0x0E Read Device Identification, stream access.
    ReadDeviceId {
        /// Unit identifier (MBAP byte 7).
        unit_id: u8,
        /// Which object stream to read.
        read_code: ReadDeviceIdCode,
        /// First object id to return (continuation uses the reply's next object id).
        object_id: u8,
    },
    /// FC 0x11 Report Server ID (no request data).
    ReportServerId {
        /// Unit identifier (MBAP byte 7).
        unit_id: u8,
    },
}

/// Encodes `request` as one Modbus/TCP ADU; the low 16 bits of `correlation` become
/// the MBAP transaction id.
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    let transaction_id = correlation as u16;
    match *request {
        Request::ReadDeviceId {
            unit_id,
            read_code,
            object_id,
        } => encode_adu(
            transaction_id,
            unit_id,
            &[
                FC_ENCAPSULATED,
                MEI_READ_DEVICE_ID,
                read_code.value(),
                object_id,
            ],
        ),
        Request::ReportServerId { unit_id } => {
            encode_adu(transaction_id, unit_id, &[FC_REPORT_SERVER_ID])
        }
    }
}

fn encode_adu(transaction_id: u16, unit_id: u8, pdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MBAP_LEN + pdu.len());
    out.extend_from_slice(&transaction_id.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    // The length counts the unit id and the PDU; PDUs here are at most 4 bytes.
    out.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
    out.push(unit_id);
    out.extend_from_slice(pdu);
    out
}

/// Frames a Modbus/TCP reply in a receive buffer: how long the ADU is and whether
/// it answers the request whose transaction id is the low 16 bits of `correlation`
/// (a late reply to an earlier request does not).
pub fn frame(buf: &[u8], correlation: u32) -> FrameCheck<ParseError> {
    if buf.len() < MBAP_LEN {
        return FrameCheck::NeedMore;
    }
    let protocol_id = u16::from_be_bytes([buf[2], buf[3]]);
    if protocol_id != 0 {
        return FrameCheck::Invalid(ParseError::Framing(format!(
            "MBAP protocol id {protocol_id:#06x}, not Modbus (0)"
        )));
    }
    let length = usize::from(u16::from_be_bytes([buf[4], buf[5]]));
    if !(2..=MAX_PDU_LEN + 1).contains(&length) {
        return FrameCheck::Invalid(ParseError::Framing(format!(
            "MBAP length {length} outside 2..={}",
            MAX_PDU_LEN + 1
        )));
    }
    let total = 6 + length;
    if buf.len() < total {
        return FrameCheck::NeedMore;
    }
    FrameCheck::Complete {
        len: total,
        matches: u16::from_be_bytes([buf[0], buf[1]]) == correlation as u16,
    }
}

/// Which decoder understood a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Decoder {
    /// tokio-modbus's strict PDU decoder.
    TokioModbus,
    /// otscan's tolerant fallback parser (the strict one rejected the reply).
    Tolerant,
}

/// One page of a Read Device Identification reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdPage {
    /// Read device id code echoed by the device.
    pub read_code: u8,
    /// Conformity level byte.
    pub conformity_level: u8,
    /// More objects follow (continuation needed).
    pub more_follows: bool,
    /// Object id to continue from.
    pub next_object_id: u8,
    /// Objects in the order received.
    pub objects: Vec<(u8, Vec<u8>)>,
    /// Oddities the tolerant parser accepted.
    pub warnings: Vec<String>,
}

/// A Report Server ID (FC 0x11) reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerIdReply {
    /// Everything after the byte count: server id, run indicator, device-specific data.
    pub data: Vec<u8>,
}

/// A decoded reply PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyPdu {
    /// FC 0x2B / 0x0E reply.
    DeviceId(DeviceIdPage),
    /// FC 0x11 reply.
    ServerId(ServerIdReply),
    /// Exception reply (function | 0x80, code).
    Exception {
        /// The function code the exception answers (without the 0x80 bit).
        function: u8,
        /// Exception code.
        code: u8,
    },
}

/// A reply ADU: its MBAP fields, the decoded PDU and the decoder that understood it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// MBAP transaction id.
    pub transaction_id: u16,
    /// MBAP unit id.
    pub unit_id: u8,
    /// The decoded PDU.
    pub pdu: ReplyPdu,
    /// Which decoder understood it.
    pub decoder: Decoder,
}

/// Why a reply could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than the structure needs.
    #[error("reply truncated: {what} needs {needed} bytes, {available} present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// An MBAP header no Modbus/TCP device sends, seen while framing the stream.
    #[error("{0}")]
    Framing(String),
    /// MBAP header fields that cannot be a Modbus/TCP reply.
    #[error("bad MBAP header: {0}")]
    BadHeader(String),
    /// A function code that answers none of our requests.
    #[error("unexpected function code {0:#04x}")]
    UnexpectedFunction(u8),
    /// FC 0x2B with an MEI type other than 0x0E.
    #[error("unexpected MEI type {0:#04x}")]
    UnexpectedMeiType(u8),
    /// An object's declared length runs past the PDU.
    #[error("object {id:#04x} declares {declared} bytes, {available} present")]
    ObjectOverrun {
        /// Object id.
        id: u8,
        /// Declared length.
        declared: usize,
        /// Bytes present.
        available: usize,
    },
    /// A well-formed reply of another function than the request's (e.g. a Report
    /// Server ID reply to a Read Device Identification request).
    #[error("{0}")]
    WrongAnswer(&'static str),
}

impl From<Truncated> for ParseError {
    fn from(t: Truncated) -> Self {
        ParseError::Truncated {
            what: t.what,
            needed: t.needed,
            available: t.available,
        }
    }
}

/// Parses one Modbus/TCP ADU (MBAP header + PDU) that answers one of our requests.
pub fn parse(adu: &[u8]) -> Result<Reply, ParseError> {
    let mut r = Cursor::new(adu);
    if r.len() < MBAP_LEN + 1 {
        return Err(ParseError::Truncated {
            what: "MBAP header and function code",
            needed: MBAP_LEN + 1,
            available: adu.len(),
        });
    }
    let transaction_id = r.u16_be("transaction id")?;
    let protocol_id = r.u16_be("protocol id")?;
    if protocol_id != 0 {
        return Err(ParseError::BadHeader(format!(
            "protocol id {protocol_id:#06x}"
        )));
    }
    let length = usize::from(r.u16_be("length")?);
    if length != r.len() {
        return Err(ParseError::BadHeader(format!(
            "length field {length} but {} bytes follow",
            r.len()
        )));
    }
    let unit_id = r.u8("unit id")?;
    let pdu = r.rest();
    let (reply, decoder) = match decode_with_tokio_modbus(pdu) {
        Some(reply) => (reply, Decoder::TokioModbus),
        None => (parse_pdu_tolerant(pdu)?, Decoder::Tolerant),
    };
    Ok(Reply {
        transaction_id,
        unit_id,
        pdu: reply,
        decoder,
    })
}

fn decode_with_tokio_modbus(pdu: &[u8]) -> Option<ReplyPdu> {
    use tokio_modbus::{ExceptionResponse, Response};
    let bytes = bytes::Bytes::copy_from_slice(pdu);
    if pdu.first().is_some_and(|fc| fc & 0x80 != 0) {
        let ex = ExceptionResponse::try_from(bytes).ok()?;
        if pdu.len() != 2 {
            return None;
        }
        return Some(ReplyPdu::Exception {
            function: ex.function.value(),
            code: u8::from(ex.exception),
        });
    }
    match Response::try_from(bytes).ok()? {
        // tokio-modbus reads as many objects as the count says and ignores what follows;
        // a page whose objects do not fill the PDU exactly goes to the tolerant parser,
        // which decodes every object that is there.
        Response::ReadDeviceIdentification(r)
            if 7 + r
                .device_id_objects
                .iter()
                .map(|o| 2 + o.value.len())
                .sum::<usize>()
                != pdu.len() =>
        {
            None
        }
        Response::ReadDeviceIdentification(r) => Some(ReplyPdu::DeviceId(DeviceIdPage {
            read_code: r.read_code.value(),
            conformity_level: r.conformity_level.value(),
            more_follows: r.more_follows,
            next_object_id: r.next_object_id,
            objects: r
                .device_id_objects
                .into_iter()
                .map(|o| (o.id, o.value.to_vec()))
                .collect(),
            warnings: Vec::new(),
        })),
        // tokio-modbus splits the payload as (server id, run indicator, rest); we keep
        // it whole since the server id's length is device specific.
        Response::ReportServerId(..) => Some(ReplyPdu::ServerId(ServerIdReply {
            data: pdu.get(2..)?.to_vec(),
        })),
        _ => None,
    }
}

/// Tolerant PDU parser: accepts any conformity/read code byte and trailing bytes
/// (noting them as warnings), and refuses only what cannot be read safely.
///
/// Each structure is read from the start of the PDU, so a truncation names the bytes
/// the whole structure needs (function code included) and the PDU's length.
pub fn parse_pdu_tolerant(pdu: &[u8]) -> Result<ReplyPdu, ParseError> {
    let function = Cursor::new(pdu).u8("function code")?;
    if function & 0x80 != 0 {
        let [_, code] = Cursor::new(pdu).array::<2>("exception code")?;
        return Ok(ReplyPdu::Exception {
            function: function & 0x7F,
            code,
        });
    }
    match function {
        FC_ENCAPSULATED => parse_device_id_pdu(pdu).map(ReplyPdu::DeviceId),
        FC_REPORT_SERVER_ID => {
            let [_, count] = Cursor::new(pdu).array::<2>("report server id byte count")?;
            let whole = Cursor::new(pdu).take(2 + usize::from(count), "report server id data")?;
            Ok(ReplyPdu::ServerId(ServerIdReply {
                data: whole.get(2..).unwrap_or_default().to_vec(),
            }))
        }
        other => Err(ParseError::UnexpectedFunction(other)),
    }
}

/// A Read Device Identification PDU (function code included).
fn parse_device_id_pdu(pdu: &[u8]) -> Result<DeviceIdPage, ParseError> {
    let mut r = Cursor::new(pdu);
    let [_, mei, read_code, conformity_level, more, next_object_id, count] =
        r.array::<7>("read device identification header")?;
    if mei != MEI_READ_DEVICE_ID {
        return Err(ParseError::UnexpectedMeiType(mei));
    }
    let mut warnings = Vec::new();
    if !(1..=4).contains(&read_code) {
        warnings.push(format!("unknown read device id code {read_code:#04x}"));
    }
    if !matches!(conformity_level, 0x01..=0x03 | 0x81..=0x83) {
        warnings.push(format!("unknown conformity level {conformity_level:#04x}"));
    }
    let more_follows = match more {
        0x00 => false,
        0xFF => true,
        other => {
            warnings.push(format!("more-follows byte {other:#04x}, read as 'more'"));
            true
        }
    };
    // The object list delimits itself (id, length, value): decode every whole object the
    // PDU holds, whatever the count says, and warn when they disagree.
    let count = usize::from(count);
    let mut objects = Vec::with_capacity(count.min(MAX_PDU_LEN / 2));
    while r.len() > 0 {
        let Ok([id, len]) = r.array::<2>("object header") else {
            warnings.push(format!(
                "{} byte after the last object: {}",
                r.len(),
                hex(r.rest())
            ));
            break;
        };
        let len = usize::from(len);
        let available = r.len();
        let Ok(value) = r.take(len, "object value") else {
            if objects.len() < count {
                // The count promised this object: the reply is cut, not padded.
                return Err(ParseError::ObjectOverrun {
                    id,
                    declared: len,
                    available,
                });
            }
            warnings.push(format!(
                "{} bytes after the objects do not form an object (id {id:#04x} declares {len}, {available} present): {}",
                available + 2,
                hex(&pdu[pdu.len() - available - 2..])
            ));
            break;
        };
        objects.push((id, value.to_vec()));
    }
    if objects.len() != count {
        warnings.push(format!(
            "object count says {count}, the page holds {}: all decoded",
            objects.len()
        ));
    }
    Ok(DeviceIdPage {
        read_code,
        conformity_level,
        more_follows,
        next_object_id,
        objects,
        warnings,
    })
}

/// Standard name of a device identification object id (0x00-0x06), as in the Modbus spec.
pub const fn object_name(id: u8) -> Option<&'static str> {
    Some(match id {
        0x00 => "VendorName",
        0x01 => "ProductCode",
        0x02 => "MajorMinorRevision",
        0x03 => "VendorUrl",
        0x04 => "ProductName",
        0x05 => "ModelName",
        0x06 => "UserApplicationName",
        _ => return None,
    })
}

/// Name of a Modbus exception code.
pub const fn exception_name(code: u8) -> &'static str {
    match code {
        0x01 => "illegal-function",
        0x02 => "illegal-data-address",
        0x03 => "illegal-data-value",
        0x04 => "server-device-failure",
        0x05 => "acknowledge",
        0x06 => "server-device-busy",
        0x08 => "memory-parity-error",
        0x0A => "gateway-path-unavailable",
        0x0B => "gateway-target-failed-to-respond",
        _ => "unknown",
    }
}

/// Conformity level name: the highest object category the device serves.
pub const fn conformity_name(level: u8) -> Option<&'static str> {
    Some(match level & 0x7F {
        0x01 => "basic",
        0x02 => "regular",
        0x03 => "extended",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adu(tid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
        let mut v = tid.to_be_bytes().to_vec();
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
        v.push(unit);
        v.extend_from_slice(pdu);
        v
    }

    fn device_id_pdu(conformity: u8, more: u8, next: u8, objects: &[(u8, &[u8])]) -> Vec<u8> {
        let mut pdu = vec![
            0x2B,
            0x0E,
            0x01,
            conformity,
            more,
            next,
            objects.len() as u8,
        ];
        for (id, value) in objects {
            pdu.push(*id);
            pdu.push(value.len() as u8);
            pdu.extend_from_slice(value);
        }
        pdu
    }

    #[test]
    fn encodes_read_device_id_and_report_server_id() {
        let basic = Request::ReadDeviceId {
            unit_id: 0xFF,
            read_code: ReadDeviceIdCode::Basic,
            object_id: 0,
        };
        assert_eq!(
            encode(&basic, 0x0102),
            [0x01, 0x02, 0, 0, 0, 5, 0xFF, 0x2B, 0x0E, 0x01, 0x00]
        );
        let extended = Request::ReadDeviceId {
            unit_id: 1,
            read_code: ReadDeviceIdCode::Extended,
            object_id: 0x80,
        };
        assert_eq!(
            encode(&extended, 7),
            [0, 7, 0, 0, 0, 5, 1, 0x2B, 0x0E, 0x03, 0x80]
        );
        assert_eq!(
            encode(&Request::ReportServerId { unit_id: 0 }, 0x1_0003),
            [0, 3, 0, 0, 0, 2, 0, 0x11]
        );
    }

    #[test]
    fn parses_the_spec_example_reply() {
        // Modbus Application Protocol v1.1b3, 6.21: a basic stream in one page.
        let pdu = device_id_pdu(
            0x01,
            0x00,
            0x00,
            &[
                (0x00, b"Company identification"),
                (0x01, b"Product code XX"),
                (0x02, b"V2.11"),
            ],
        );
        let parsed = parse(&adu(9, 0xFF, &pdu)).unwrap();
        assert_eq!(parsed.transaction_id, 9);
        assert_eq!(parsed.unit_id, 0xFF);
        assert_eq!(parsed.decoder, Decoder::TokioModbus);
        let ReplyPdu::DeviceId(page) = parsed.pdu else {
            panic!("not a device id reply")
        };
        assert_eq!(page.conformity_level, 0x01);
        assert!(!page.more_follows);
        assert_eq!(
            page.objects,
            vec![
                (0, b"Company identification".to_vec()),
                (1, b"Product code XX".to_vec()),
                (2, b"V2.11".to_vec())
            ]
        );
    }

    #[test]
    fn parses_a_continuation_page() {
        // The spec's second example: more follows, continue at object 0x02.
        let pdu = device_id_pdu(0x82, 0xFF, 0x02, &[(0x00, b"Company"), (0x01, b"PC-1")]);
        let ReplyPdu::DeviceId(page) = parse(&adu(1, 0, &pdu)).unwrap().pdu else {
            panic!()
        };
        assert!(page.more_follows);
        assert_eq!(page.next_object_id, 0x02);
        assert_eq!(page.objects.len(), 2);
    }

    #[test]
    fn tolerates_unknown_conformity_and_trailing_bytes() {
        let mut pdu = device_id_pdu(0x04, 0x00, 0x00, &[(0x00, b"Acme")]);
        pdu.extend_from_slice(&[0xDE, 0xAD]);
        let parsed = parse(&adu(1, 1, &pdu)).unwrap();
        assert_eq!(parsed.decoder, Decoder::Tolerant);
        let ReplyPdu::DeviceId(page) = parsed.pdu else {
            panic!()
        };
        assert_eq!(page.objects, vec![(0, b"Acme".to_vec())]);
        assert_eq!(page.warnings.len(), 2, "{:?}", page.warnings);
        assert!(page.warnings[0].contains("conformity level 0x04"));
        assert!(
            page.warnings[1].contains("2 bytes after the objects do not form an object")
                && page.warnings[1].ends_with("dead"),
            "{:?}",
            page.warnings
        );
    }

    /// Issue 14's vector: object count 1, two whole objects: both are kept.
    #[test]
    fn objects_the_count_leaves_out_are_decoded() {
        let pdu = [
            0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x41, 0x01, 0x01, 0x42,
        ];
        let parsed = parse(&adu(1, 1, &pdu)).unwrap();
        assert_eq!(parsed.decoder, Decoder::Tolerant);
        let ReplyPdu::DeviceId(page) = parsed.pdu else {
            panic!()
        };
        assert_eq!(page.objects, vec![(0, b"A".to_vec()), (1, b"B".to_vec())]);
        assert_eq!(
            page.warnings,
            ["object count says 1, the page holds 2: all decoded"]
        );
        // A lone byte after the objects is kept in the warning, not read as an object.
        let mut odd = pdu.to_vec();
        odd[6] = 2;
        odd.push(0x7F);
        let ReplyPdu::DeviceId(page) = parse(&adu(1, 1, &odd)).unwrap().pdu else {
            panic!()
        };
        assert_eq!(page.objects.len(), 2);
        assert_eq!(page.warnings, ["1 byte after the last object: 7f"]);
    }

    #[test]
    fn parses_exceptions_and_report_server_id() {
        let ex = parse(&adu(1, 0xFF, &[0xAB, 0x01])).unwrap();
        assert_eq!(
            ex.pdu,
            ReplyPdu::Exception {
                function: 0x2B,
                code: 0x01
            }
        );
        let gw = parse(&adu(1, 5, &[0xAB, 0x0B])).unwrap();
        assert_eq!(
            gw.pdu,
            ReplyPdu::Exception {
                function: 0x2B,
                code: 0x0B
            }
        );
        // Byte count 7: server id 0x42, run indicator on, "PLC-5A".
        let rsi = parse(&adu(2, 1, b"\x11\x08\x42\xFFPLC-5A")).unwrap();
        let ReplyPdu::ServerId(reply) = rsi.pdu else {
            panic!()
        };
        assert_eq!(reply.data, b"\x42\xFFPLC-5A");
        // A run indicator tokio-modbus rejects still parses tolerantly.
        let odd = parse(&adu(2, 1, b"\x11\x03\x01\x07X")).unwrap();
        assert_eq!(odd.decoder, Decoder::Tolerant);
    }

    #[test]
    fn rejects_malformed_replies() {
        // Object length runs past the end.
        let pdu = [0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x10, b'A'];
        assert!(matches!(
            parse(&adu(1, 1, &pdu)),
            Err(ParseError::ObjectOverrun {
                id: 0,
                declared: 16,
                available: 1
            })
        ));
        // An object count larger than the objects present is decoded, with a warning.
        let pdu = [0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03, 0x00, 0x01, b'A'];
        let ReplyPdu::DeviceId(page) = parse(&adu(1, 1, &pdu)).unwrap().pdu else {
            panic!()
        };
        assert_eq!(page.objects, vec![(0, b"A".to_vec())]);
        assert!(page.warnings[0].contains("count says 3, the page holds 1"));
        // Wrong MEI type, unexpected function, short header, bad protocol id, lying length.
        assert!(matches!(
            parse(&adu(1, 1, &[0x2B, 0x0D, 1, 1, 0, 0, 0])),
            Err(ParseError::UnexpectedMeiType(0x0D))
        ));
        assert!(matches!(
            parse(&adu(1, 1, &[0x06, 0, 1, 0, 3])),
            Err(ParseError::UnexpectedFunction(0x06))
        ));
        assert!(parse(&[0, 1, 0, 0, 0, 2]).is_err());
        let mut bad = adu(1, 1, &[0xAB, 0x01]);
        bad[3] = 1;
        assert!(matches!(parse(&bad), Err(ParseError::BadHeader(_))));
        let mut lying = adu(1, 1, &[0xAB, 0x01]);
        lying[5] = 9;
        assert!(matches!(parse(&lying), Err(ParseError::BadHeader(_))));
    }

    #[test]
    fn frames_replies_and_skips_stale_ones() {
        let reply = adu(5, 1, &[0xAB, 0x01]);
        assert_eq!(frame(&reply[..4], 5), FrameCheck::NeedMore);
        assert_eq!(frame(&reply[..8], 5), FrameCheck::NeedMore);
        assert_eq!(
            frame(&reply, 5),
            FrameCheck::Complete {
                len: 9,
                matches: true
            }
        );
        assert_eq!(
            frame(&reply, 4),
            FrameCheck::Complete {
                len: 9,
                matches: false
            }
        );
        // MBAP length 65535 is a lie no Modbus device can tell: refuse, don't wait for it.
        let huge = [0, 5, 0, 0, 0xFF, 0xFF, 1, 0x2B];
        assert!(matches!(frame(&huge, 5), FrameCheck::Invalid(_)));
        let http = b"HTTP/1.1 400 Bad Request\r\n";
        assert!(matches!(frame(http, 5), FrameCheck::Invalid(_)));
    }

    #[test]
    fn names_objects_exceptions_and_conformity() {
        assert_eq!(object_name(0x04), Some("ProductName"));
        assert_eq!(object_name(0x80), None);
        assert_eq!(exception_name(0x0A), "gateway-path-unavailable");
        assert_eq!(conformity_name(0x83), Some("extended"));
        assert_eq!(conformity_name(0x04), None);
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse(&bytes);
            let _ = parse_pdu_tolerant(&bytes);
            let _ = frame(&bytes, 1);
        }

        #[test]
        fn parser_never_panics_on_mutated_replies(
            flips in proptest::collection::vec((0usize..64, proptest::num::u8::ANY), 1..6),
            cut in 0usize..64,
        ) {
            let pdu = device_id_pdu(0x83, 0xFF, 0x05, &[(0, b"Vendor"), (1, b"P-1"), (2, b"1.0")]);
            let mut bytes = adu(3, 1, &pdu);
            for (i, b) in flips {
                let n = bytes.len();
                bytes[i % n] = b;
            }
            bytes.truncate(bytes.len().saturating_sub(cut % 8));
            let _ = parse(&bytes);
        }
    }
}
