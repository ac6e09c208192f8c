//! BACnet/IP codec (sans IO), ANSI/ASHRAE 135 Annex J (BVLC) and clauses 6 (NPDU)
//! and 20 (APDU encoding).
//!
//! Only three requests can be encoded, all read-only: a confirmed ReadProperty
//! (service 0x0C) and ReadPropertyMultiple (0x0E) of the Device object, for a
//! property from the closed [`PropertyId`] set, and an unconfirmed Who-Is (0x08)
//! sent by unicast. Nothing else can be built here.
//!
//! [`parse_reply`] reads one UDP datagram with checked accessors into a [`Reply`] or
//! a [`ParseError`]. Every tag length is checked against the bytes present (the
//! extended length markers 5, 254 and 255 included), nesting is capped at
//! [`MAX_DEPTH`] and the tags read per reply at [`MAX_TAGS`]; tags otscan has no use
//! for are skipped by their length, and oddities that do not stop the decoding are
//! kept as warnings. An Error, Reject or Abort APDU is a well-formed reply: it
//! proves a BACnet stack answered.
//!
//! Byte order: every multi-byte field is big-endian (network order).
//!
//! Requests never set the "segmented response accepted" bit: otscan does not
//! acknowledge segments, so a device whose answer does not fit one APDU replies
//! with an Abort (segmentation-not-supported) and the probe falls back to single
//! ReadProperty requests.

use std::net::{Ipv4Addr, SocketAddrV4};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::{DeviceSession, ExchangeError};
use crate::record::{
    hex, DeviceText, Identity, Protocol, ServiceDetails, ServiceObservation, Transport, VendorId,
    VendorIdSpace,
};
use crate::request::ReadOnlyRequest;

/// Default BACnet/IP UDP port (0xBAC0).
pub const DEFAULT_PORT: u16 = 47808;
/// BVLC type byte of BACnet/IP (Annex J).
pub const BVLC_TYPE: u8 = 0x81;
/// BVLC function: BVLC-Result.
pub const BVLC_RESULT: u8 = 0x00;
/// BVLC function: Forwarded-NPDU (carries the 6-byte originating B/IP address).
pub const BVLC_FORWARDED_NPDU: u8 = 0x04;
/// BVLC function: Original-Unicast-NPDU.
pub const BVLC_ORIGINAL_UNICAST: u8 = 0x0A;
/// BVLC function: Original-Broadcast-NPDU (some devices answer a unicast Who-Is so).
pub const BVLC_ORIGINAL_BROADCAST: u8 = 0x0B;
/// BACnet object type of the Device object.
pub const OBJECT_TYPE_DEVICE: u16 = 8;
/// Highest object instance number; as a Device instance in ReadProperty it is the
/// wildcard meaning "the device that receives this request".
pub const MAX_INSTANCE: u32 = 0x3F_FFFF;
/// Confirmed service choice: ReadProperty.
pub const SERVICE_READ_PROPERTY: u8 = 0x0C;
/// Confirmed service choice: ReadPropertyMultiple.
pub const SERVICE_READ_PROPERTY_MULTIPLE: u8 = 0x0E;
/// Unconfirmed service choice: I-Am.
pub const SERVICE_I_AM: u8 = 0x00;
/// Unconfirmed service choice: Who-Is.
pub const SERVICE_WHO_IS: u8 = 0x08;
/// Deepest nesting of opening / closing tags decoded.
pub const MAX_DEPTH: usize = 16;
/// Most tags decoded from one reply; a hostile reply cannot cost more work than this.
pub const MAX_TAGS: usize = 1024;

/// Length of the BVLC header.
const BVLC_HEADER_LEN: usize = 4;
/// NPDU protocol version.
const NPDU_VERSION: u8 = 0x01;
/// NPDU control bit: network-layer message (no APDU follows).
const NPDU_NETWORK_MESSAGE: u8 = 0x80;
/// NPDU control bit: DNET, DLEN, DADR and hop count present.
const NPDU_DEST_PRESENT: u8 = 0x20;
/// NPDU control bit: SNET, SLEN and SADR present.
const NPDU_SOURCE_PRESENT: u8 = 0x08;
/// NPDU control bit: the sender expects a reply.
const NPDU_EXPECTING_REPLY: u8 = 0x04;
/// Max-segments / max-APDU byte of our requests: segments unspecified, 1476 bytes.
const MAX_APDU_1476: u8 = 0x05;

/// A Device object instance: 0..=4194303, where 4194303 is the wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceInstance(u32);

impl DeviceInstance {
    /// The wildcard instance 4194303: addresses whichever device receives the request.
    pub const WILDCARD: DeviceInstance = DeviceInstance(MAX_INSTANCE);

    /// An instance, if it fits the 22 bits BACnet gives it.
    pub const fn new(instance: u32) -> Option<DeviceInstance> {
        if instance <= MAX_INSTANCE {
            Some(DeviceInstance(instance))
        } else {
            None
        }
    }

    /// The instance number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

/// The Device object properties otscan may read (BACnetPropertyIdentifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyId {
    /// 75 object-identifier: reveals the real instance behind the wildcard.
    ObjectIdentifier,
    /// 120 vendor-identifier.
    VendorIdentifier,
    /// 121 vendor-name.
    VendorName,
    /// 70 model-name.
    ModelName,
    /// 44 firmware-revision.
    FirmwareRevision,
    /// 12 application-software-version.
    ApplicationSoftwareVersion,
    /// 77 object-name.
    ObjectName,
    /// 28 description.
    Description,
    /// 58 location.
    Location,
}

impl PropertyId {
    /// Every property, in the order the probe asks for them.
    pub const ALL: [PropertyId; 9] = [
        PropertyId::ObjectIdentifier,
        PropertyId::VendorIdentifier,
        PropertyId::VendorName,
        PropertyId::ModelName,
        PropertyId::FirmwareRevision,
        PropertyId::ApplicationSoftwareVersion,
        PropertyId::ObjectName,
        PropertyId::Description,
        PropertyId::Location,
    ];

    /// The property identifier on the wire.
    pub const fn code(self) -> u8 {
        match self {
            PropertyId::ObjectIdentifier => 75,
            PropertyId::VendorIdentifier => 120,
            PropertyId::VendorName => 121,
            PropertyId::ModelName => 70,
            PropertyId::FirmwareRevision => 44,
            PropertyId::ApplicationSoftwareVersion => 12,
            PropertyId::ObjectName => 77,
            PropertyId::Description => 28,
            PropertyId::Location => 58,
        }
    }

    /// The property a wire identifier stands for, if it is one otscan reads.
    pub const fn from_code(code: u32) -> Option<PropertyId> {
        Some(match code {
            75 => PropertyId::ObjectIdentifier,
            120 => PropertyId::VendorIdentifier,
            121 => PropertyId::VendorName,
            70 => PropertyId::ModelName,
            44 => PropertyId::FirmwareRevision,
            12 => PropertyId::ApplicationSoftwareVersion,
            77 => PropertyId::ObjectName,
            28 => PropertyId::Description,
            58 => PropertyId::Location,
            _ => return None,
        })
    }

    /// The property's name as the standard spells it.
    pub const fn name(self) -> &'static str {
        match self {
            PropertyId::ObjectIdentifier => "object-identifier",
            PropertyId::VendorIdentifier => "vendor-identifier",
            PropertyId::VendorName => "vendor-name",
            PropertyId::ModelName => "model-name",
            PropertyId::FirmwareRevision => "firmware-revision",
            PropertyId::ApplicationSoftwareVersion => "application-software-version",
            PropertyId::ObjectName => "object-name",
            PropertyId::Description => "description",
            PropertyId::Location => "location",
        }
    }
}

/// An inclusive Device instance range for Who-Is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstanceRange {
    low: DeviceInstance,
    high: DeviceInstance,
}

impl InstanceRange {
    /// A range, if `low <= high`.
    pub const fn new(low: DeviceInstance, high: DeviceInstance) -> Option<InstanceRange> {
        if low.0 <= high.0 {
            Some(InstanceRange { low, high })
        } else {
            None
        }
    }

    /// Lowest instance.
    pub const fn low(self) -> DeviceInstance {
        self.low
    }

    /// Highest instance.
    pub const fn high(self) -> DeviceInstance {
        self.high
    }
}

// ---------------------------------------------------------------------------
// Encoders

/// Wraps an APDU in an NPDU (no routing) and an Original-Unicast-NPDU BVLC header.
fn frame(expecting_reply: bool, apdu: &[u8]) -> Vec<u8> {
    let total = BVLC_HEADER_LEN + 2 + apdu.len();
    let mut out = Vec::with_capacity(total);
    out.push(BVLC_TYPE);
    out.push(BVLC_ORIGINAL_UNICAST);
    // Our APDUs are a few dozen bytes; the saturation never happens.
    out.extend_from_slice(&u16::try_from(total).unwrap_or(u16::MAX).to_be_bytes());
    out.push(NPDU_VERSION);
    out.push(if expecting_reply {
        NPDU_EXPECTING_REPLY
    } else {
        0
    });
    out.extend_from_slice(apdu);
    out
}

/// Minimal big-endian bytes of an unsigned value (1 to 4 bytes).
fn unsigned_bytes(value: u32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|&&b| b == 0).count();
    bytes.get(skip..).unwrap_or(&bytes).to_vec()
}

/// A context-tagged primitive (tag numbers 0..=14, data up to 4 bytes).
fn context_tag(out: &mut Vec<u8>, number: u8, data: &[u8]) {
    // Lengths here are 1..=4, so they fit the 3-bit length field.
    let len = u8::try_from(data.len()).unwrap_or(0) & 0x07;
    out.push((number << 4) | 0x08 | len);
    out.extend_from_slice(data);
}

/// The 4-byte object identifier of a Device object.
fn device_object_id(device: DeviceInstance) -> [u8; 4] {
    ((u32::from(OBJECT_TYPE_DEVICE) << 22) | device.0).to_be_bytes()
}

/// Header of a confirmed request: PDU type 0 with no segmentation flags, max
/// segments unspecified, max APDU 1476, the invoke id and the service choice.
fn confirmed_header(invoke_id: u8, service: u8) -> Vec<u8> {
    vec![0x00, MAX_APDU_1476, invoke_id, service]
}

/// Encodes a confirmed ReadProperty of `property` of the Device object `device`
/// (use [`DeviceInstance::WILDCARD`] when the instance is not known yet).
pub fn encode_read_property(
    invoke_id: u8,
    device: DeviceInstance,
    property: PropertyId,
) -> Vec<u8> {
    let mut apdu = confirmed_header(invoke_id, SERVICE_READ_PROPERTY);
    context_tag(&mut apdu, 0, &device_object_id(device));
    context_tag(&mut apdu, 1, &[property.code()]);
    frame(true, &apdu)
}

/// Encodes a confirmed ReadPropertyMultiple of `properties` of the Device object
/// `device`. Each property is asked once, in the order given, duplicates dropped;
/// an empty list asks for all of [`PropertyId::ALL`].
pub fn encode_read_property_multiple(
    invoke_id: u8,
    device: DeviceInstance,
    properties: &[PropertyId],
) -> Vec<u8> {
    let mut wanted: Vec<PropertyId> = Vec::with_capacity(PropertyId::ALL.len());
    let list = if properties.is_empty() {
        &PropertyId::ALL[..]
    } else {
        properties
    };
    for &p in list {
        if !wanted.contains(&p) {
            wanted.push(p);
        }
    }
    let mut apdu = confirmed_header(invoke_id, SERVICE_READ_PROPERTY_MULTIPLE);
    context_tag(&mut apdu, 0, &device_object_id(device));
    apdu.push(0x1E); // opening tag 1: listOfPropertyReferences
    for p in wanted {
        context_tag(&mut apdu, 0, &[p.code()]);
    }
    apdu.push(0x1F); // closing tag 1
    frame(true, &apdu)
}

/// Encodes an unconfirmed Who-Is, to be sent by unicast, optionally limited to a
/// Device instance range.
pub fn encode_who_is(range: Option<InstanceRange>) -> Vec<u8> {
    let mut apdu = vec![0x10, SERVICE_WHO_IS];
    if let Some(range) = range {
        context_tag(&mut apdu, 0, &unsigned_bytes(range.low.0));
        context_tag(&mut apdu, 1, &unsigned_bytes(range.high.0));
    }
    frame(false, &apdu)
}

// ---------------------------------------------------------------------------
// Replies

/// Why a datagram is not a BACnet/IP reply otscan can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than a field needs.
    #[error("reply truncated: {what} needs {needed} bytes, {available} present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The first byte is not the BACnet/IP BVLC type 0x81.
    #[error("BVLC type {0:#04x} is not BACnet/IP (0x81)")]
    NotBacnetIp(u8),
    /// The BVLC length field disagrees with the datagram.
    #[error("BVLC length announces {declared} bytes, {available} present")]
    LyingLength {
        /// Length announced (header included).
        declared: usize,
        /// Bytes in the datagram.
        available: usize,
    },
    /// A BVLC function a device does not answer a unicast request with.
    #[error("unexpected BVLC function {0:#04x}")]
    UnexpectedBvlcFunction(u8),
    /// An NPDU version other than 1.
    #[error("NPDU version {0:#04x} is not 1")]
    NpduVersion(u8),
    /// An APDU type a server does not send to a client (a request, a SegmentACK, or
    /// a reserved type).
    #[error("unexpected APDU type {0}")]
    UnexpectedPduType(u8),
    /// An unconfirmed service other than I-Am.
    #[error("unexpected unconfirmed service {0:#04x}")]
    UnexpectedUnconfirmedService(u8),
    /// A ComplexACK for a service otscan never requests.
    #[error("ComplexACK for service {0:#04x}, which otscan never requests")]
    UnexpectedAckService(u8),
    /// A tag whose encoding is invalid (application class with length 6 or 7).
    #[error("invalid tag byte {0:#04x}")]
    InvalidTag(u8),
    /// A tag other than the one the grammar requires at this point.
    #[error("expected {expected}")]
    UnexpectedTag {
        /// What the grammar requires.
        expected: &'static str,
    },
    /// A primitive whose length does not suit its type.
    #[error("{what} has {len} bytes")]
    BadLength {
        /// What was being read.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// Opening tags nested deeper than [`MAX_DEPTH`].
    #[error("tags nested deeper than {MAX_DEPTH}")]
    TooDeep,
    /// More than [`MAX_TAGS`] tags.
    #[error("more than {MAX_TAGS} tags")]
    TooManyTags,
}

/// A BACnet object identifier: 10-bit type, 22-bit instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectId {
    /// Object type (8 = Device).
    pub object_type: u16,
    /// Instance number.
    pub instance: u32,
}

impl ObjectId {
    /// Decodes the 32-bit wire value.
    pub const fn from_raw(raw: u32) -> ObjectId {
        ObjectId {
            // 10 bits always fit a u16.
            object_type: (raw >> 22) as u16,
            instance: raw & MAX_INSTANCE,
        }
    }
}

/// A BACnet CharacterString: its character-set byte and the text, lossless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacnetString {
    /// Character set: 0 UTF-8 (ANSI X3.4), 1 IBM/Microsoft DBCS, 2 JIS X 0208,
    /// 3 UCS-4, 4 UCS-2, 5 ISO 8859-1; `None` for an empty encoding (no set byte).
    pub charset: Option<u8>,
    /// The text. For a character set decoded losslessly `hex` is absent; otherwise
    /// (undecodable bytes, DBCS, JIS) `hex` holds the raw string bytes.
    pub text: DeviceText,
}

impl BacnetString {
    /// Decodes a CharacterString's contents (the set byte then the bytes).
    pub fn decode(data: &[u8]) -> BacnetString {
        let Some((&charset, bytes)) = data.split_first() else {
            return BacnetString {
                charset: None,
                text: DeviceText::from_bytes(&[]),
            };
        };
        let decoded: Option<String> = match charset {
            0 => std::str::from_utf8(bytes).ok().map(str::to_owned),
            3 if bytes.len() % 4 == 0 => bytes
                .chunks_exact(4)
                .map(|c| {
                    let raw = c.try_into().ok().map(u32::from_be_bytes)?;
                    char::from_u32(raw)
                })
                .collect(),
            4 if bytes.len() % 2 == 0 => {
                let units = bytes.chunks_exact(2).map(|c| {
                    u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                });
                char::decode_utf16(units)
                    .collect::<Result<String, _>>()
                    .ok()
            }
            5 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
            _ => None,
        };
        let text = match decoded {
            Some(text) => DeviceText { text, hex: None },
            None => DeviceText {
                text: String::from_utf8_lossy(bytes).into_owned(),
                hex: Some(hex(bytes)),
            },
        };
        BacnetString {
            charset: Some(charset),
            text,
        }
    }
}

/// An application-tagged value (clause 20.2), or what stood in its place.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Tag 0.
    Null,
    /// Tag 1.
    Boolean(bool),
    /// Tag 2.
    Unsigned(u64),
    /// Tag 3.
    Signed(i64),
    /// Tag 4.
    Real(f32),
    /// Tag 5.
    Double(f64),
    /// Tag 6.
    OctetString(Vec<u8>),
    /// Tag 7.
    CharacterString(BacnetString),
    /// Tag 8: unused-bits byte then the bits, kept raw.
    BitString(Vec<u8>),
    /// Tag 9.
    Enumerated(u64),
    /// Tag 10: year-1900, month, day, weekday.
    Date([u8; 4]),
    /// Tag 11: hour, minute, second, hundredths.
    Time([u8; 4]),
    /// Tag 12.
    ObjectIdentifier(ObjectId),
    /// A reserved application tag, a context tag inside a value, or a primitive
    /// whose length does not suit its type: kept raw.
    Other {
        /// Tag number.
        tag: u8,
        /// Whether the tag was context-specific.
        context: bool,
        /// The tag's data.
        data: Vec<u8>,
    },
    /// A constructed value (opening ... closing tag), skipped.
    Constructed {
        /// Tag number of the opening tag.
        tag: u8,
    },
}

impl Value {
    /// A short name of the value's type, for warnings.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "boolean",
            Value::Unsigned(_) => "unsigned",
            Value::Signed(_) => "signed",
            Value::Real(_) => "real",
            Value::Double(_) => "double",
            Value::OctetString(_) => "octet string",
            Value::CharacterString(_) => "character string",
            Value::BitString(_) => "bit string",
            Value::Enumerated(_) => "enumerated",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::ObjectIdentifier(_) => "object identifier",
            Value::Other { .. } => "other",
            Value::Constructed { .. } => "constructed",
        }
    }
}

/// A BACnet network address from the NPDU (a routed reply names its source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAddress {
    /// Network number (0xFFFF = broadcast).
    pub network: u16,
    /// MAC address on that network; empty for a broadcast.
    pub mac: Vec<u8>,
}

/// What the NPDU header said.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Npdu {
    /// The sender expects a reply.
    pub expecting_reply: bool,
    /// Network priority, 0-3.
    pub priority: u8,
    /// Destination (DNET / DADR), when present.
    pub destination: Option<NetworkAddress>,
    /// Source (SNET / SADR): set when a router forwarded the reply from another network.
    pub source: Option<NetworkAddress>,
    /// Hop count, present with a destination.
    pub hop_count: Option<u8>,
}

/// One property's result in a ReadPropertyMultiple-ACK.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyResult {
    /// The object the property belongs to.
    pub object: ObjectId,
    /// Property identifier.
    pub property: u32,
    /// Array index, when the device gave one.
    pub array_index: Option<u32>,
    /// The value(s), or the error the device returned for this property.
    pub outcome: Result<Vec<Value>, ErrorClassCode>,
}

/// An error class and code (BACnet-Error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorClassCode {
    /// Error class (0 device, 1 object, 2 property, ...).
    pub class: u32,
    /// Error code.
    pub code: u32,
}

/// An I-Am (unconfirmed service 0x00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IAm {
    /// The device's object identifier (type 8 on a conforming device).
    pub device: ObjectId,
    /// Max APDU length accepted.
    pub max_apdu: u32,
    /// Segmentation supported (0 both, 1 transmit, 2 receive, 3 none).
    pub segmentation: u32,
    /// BACnet vendor id.
    pub vendor_id: u32,
}

/// The message a reply carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A BVLC-Result (e.g. a NAK from a BBMD) with its result code.
    BvlcResult {
        /// Result code.
        code: u16,
    },
    /// A network-layer message (e.g. Reject-Message-To-Network from a router).
    NetworkMessage {
        /// Message type.
        message_type: u8,
    },
    /// ReadProperty-ACK.
    ReadPropertyAck {
        /// Invoke id echoed.
        invoke_id: u8,
        /// The object read.
        object: ObjectId,
        /// Property identifier.
        property: u32,
        /// Array index, when present.
        array_index: Option<u32>,
        /// The values inside the property-value tag.
        values: Vec<Value>,
    },
    /// ReadPropertyMultiple-ACK.
    ReadPropertyMultipleAck {
        /// Invoke id echoed.
        invoke_id: u8,
        /// Results, in order.
        results: Vec<PropertyResult>,
    },
    /// The first segment of a segmented ComplexACK (never asked for).
    SegmentedAck {
        /// Invoke id echoed.
        invoke_id: u8,
        /// Sequence number.
        sequence: u8,
        /// Service choice.
        service: u8,
    },
    /// I-Am.
    IAm(IAm),
    /// SimpleACK.
    SimpleAck {
        /// Invoke id echoed.
        invoke_id: u8,
        /// Service acknowledged.
        service: u8,
    },
    /// Error PDU.
    Error {
        /// Invoke id echoed.
        invoke_id: u8,
        /// Service the error answers.
        service: u8,
        /// Class and code, when the body held them.
        error: Option<ErrorClassCode>,
    },
    /// Reject PDU.
    Reject {
        /// Invoke id echoed.
        invoke_id: u8,
        /// Reject reason.
        reason: u8,
    },
    /// Abort PDU.
    Abort {
        /// Invoke id echoed.
        invoke_id: u8,
        /// Sent by the server (true) or the client.
        server: bool,
        /// Abort reason.
        reason: u8,
    },
}

impl Payload {
    /// The invoke id, for the APDUs that carry one: matches a reply to its request.
    pub fn invoke_id(&self) -> Option<u8> {
        match self {
            Payload::ReadPropertyAck { invoke_id, .. }
            | Payload::ReadPropertyMultipleAck { invoke_id, .. }
            | Payload::SegmentedAck { invoke_id, .. }
            | Payload::SimpleAck { invoke_id, .. }
            | Payload::Error { invoke_id, .. }
            | Payload::Reject { invoke_id, .. }
            | Payload::Abort { invoke_id, .. } => Some(*invoke_id),
            Payload::BvlcResult { .. } | Payload::NetworkMessage { .. } | Payload::IAm(_) => None,
        }
    }
}

/// A parsed BACnet/IP datagram.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// BVLC function.
    pub bvlc_function: u8,
    /// Originating B/IP address of a Forwarded-NPDU.
    pub forwarded_from: Option<SocketAddrV4>,
    /// The NPDU header; `None` for a BVLC-Result.
    pub npdu: Option<Npdu>,
    /// What the datagram says.
    pub payload: Payload,
    /// Oddities that did not stop the decoding.
    pub warnings: Vec<String>,
}

/// A cursor over reply bytes with checked reads.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    tags: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Application,
    Context,
    Opening,
    Closing,
}

#[derive(Debug, Clone, Copy)]
struct Tag<'a> {
    number: u8,
    kind: TagKind,
    /// The length/value/type bits (the value of an application Boolean).
    lvt: u8,
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            tags: 0,
        }
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ParseError> {
        let end = self.pos.checked_add(n);
        match end.and_then(|end| self.buf.get(self.pos..end)) {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => Err(ParseError::Truncated {
                what,
                needed: n,
                available: self.remaining(),
            }),
        }
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, ParseError> {
        let b = self.take(1, what)?;
        b.first().copied().ok_or(ParseError::Truncated {
            what,
            needed: 1,
            available: 0,
        })
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, ParseError> {
        let b: [u8; 2] = self
            .take(2, what)?
            .try_into()
            .map_err(|_| ParseError::Truncated {
                what,
                needed: 2,
                available: 0,
            })?;
        Ok(u16::from_be_bytes(b))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, ParseError> {
        let b: [u8; 4] = self
            .take(4, what)?
            .try_into()
            .map_err(|_| ParseError::Truncated {
                what,
                needed: 4,
                available: 0,
            })?;
        Ok(u32::from_be_bytes(b))
    }

    /// Reads one tag and its data, every length checked against the bytes left.
    fn tag(&mut self) -> Result<Tag<'a>, ParseError> {
        self.tags += 1;
        if self.tags > MAX_TAGS {
            return Err(ParseError::TooManyTags);
        }
        let first = self.u8("tag")?;
        let mut number = first >> 4;
        let context = first & 0x08 != 0;
        let lvt = first & 0x07;
        if number == 0x0F {
            number = self.u8("extended tag number")?;
        }
        if context && lvt == 6 {
            return Ok(Tag {
                number,
                kind: TagKind::Opening,
                lvt,
                data: &[],
            });
        }
        if context && lvt == 7 {
            return Ok(Tag {
                number,
                kind: TagKind::Closing,
                lvt,
                data: &[],
            });
        }
        if !context && number == 1 {
            // Application Boolean: the value is in the length bits, no data follows.
            return Ok(Tag {
                number,
                kind: TagKind::Application,
                lvt,
                data: &[],
            });
        }
        let len = match lvt {
            0..=4 => usize::from(lvt),
            5 => match self.u8("extended length")? {
                254 => usize::from(self.u16("extended length")?),
                255 => usize::try_from(self.u32("extended length")?).unwrap_or(usize::MAX),
                n => usize::from(n),
            },
            _ => return Err(ParseError::InvalidTag(first)),
        };
        let data = self.take(len, "tag data")?;
        Ok(Tag {
            number,
            kind: if context {
                TagKind::Context
            } else {
                TagKind::Application
            },
            lvt,
            data,
        })
    }

    fn peek_tag(&self) -> Option<Tag<'a>> {
        let mut probe = Reader {
            buf: self.buf,
            pos: self.pos,
            tags: 0,
        };
        probe.tag().ok()
    }

    /// Reads a context-tagged primitive with the given number.
    fn context(&mut self, number: u8, expected: &'static str) -> Result<&'a [u8], ParseError> {
        let tag = self.tag()?;
        if tag.kind == TagKind::Context && tag.number == number {
            Ok(tag.data)
        } else {
            Err(ParseError::UnexpectedTag { expected })
        }
    }

    /// Reads an application-tagged primitive with the given number.
    fn application(&mut self, number: u8, expected: &'static str) -> Result<Tag<'a>, ParseError> {
        let tag = self.tag()?;
        if tag.kind == TagKind::Application && tag.number == number {
            Ok(tag)
        } else {
            Err(ParseError::UnexpectedTag { expected })
        }
    }

    fn opening(&mut self, number: u8, expected: &'static str) -> Result<(), ParseError> {
        let tag = self.tag()?;
        if tag.kind == TagKind::Opening && tag.number == number {
            Ok(())
        } else {
            Err(ParseError::UnexpectedTag { expected })
        }
    }

    /// Whether the next tag is a context primitive / opening / closing tag `number`.
    fn next_is(&self, kind: TagKind, number: u8) -> bool {
        self.peek_tag()
            .is_some_and(|t| t.kind == kind && t.number == number)
    }

    /// Reads values up to the closing tag `number` (consumed). Nested constructed
    /// values are skipped, bounded by [`MAX_DEPTH`].
    fn values_until_closing(&mut self, number: u8) -> Result<Vec<Value>, ParseError> {
        let mut values = Vec::new();
        loop {
            let tag = self.tag()?;
            match tag.kind {
                TagKind::Closing if tag.number == number => return Ok(values),
                TagKind::Closing => {
                    return Err(ParseError::UnexpectedTag {
                        expected: "matching closing tag",
                    });
                }
                TagKind::Opening => {
                    self.skip_constructed(tag.number, 1)?;
                    values.push(Value::Constructed { tag: tag.number });
                }
                TagKind::Application => values.push(application_value(tag)),
                TagKind::Context => values.push(Value::Other {
                    tag: tag.number,
                    context: true,
                    data: tag.data.to_vec(),
                }),
            }
        }
    }

    /// Skips to the closing tag matching an opening tag `number` already read.
    fn skip_constructed(&mut self, number: u8, depth: usize) -> Result<(), ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        loop {
            let tag = self.tag()?;
            match tag.kind {
                TagKind::Closing if tag.number == number => return Ok(()),
                TagKind::Closing => {
                    return Err(ParseError::UnexpectedTag {
                        expected: "matching closing tag",
                    });
                }
                TagKind::Opening => self.skip_constructed(tag.number, depth + 1)?,
                TagKind::Application | TagKind::Context => {}
            }
        }
    }
}

/// Big-endian unsigned of 1 to 8 bytes.
fn be_unsigned(data: &[u8]) -> Option<u64> {
    (1..=8)
        .contains(&data.len())
        .then(|| data.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// A u32 from a context or application Unsigned / Enumerated of 1 to 4 bytes.
fn small_unsigned(data: &[u8], what: &'static str) -> Result<u32, ParseError> {
    be_unsigned(data)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or(ParseError::BadLength {
            what,
            len: data.len(),
        })
}

fn object_id(data: &[u8], what: &'static str) -> Result<ObjectId, ParseError> {
    let raw: [u8; 4] = data.try_into().map_err(|_| ParseError::BadLength {
        what,
        len: data.len(),
    })?;
    Ok(ObjectId::from_raw(u32::from_be_bytes(raw)))
}

/// Decodes an application-tagged primitive; lengths that do not suit the type give
/// [`Value::Other`] rather than an error.
fn application_value(tag: Tag<'_>) -> Value {
    let data = tag.data;
    let four = <[u8; 4]>::try_from(data).ok();
    let decoded = match tag.number {
        0 if data.is_empty() => Some(Value::Null),
        1 => Some(Value::Boolean(tag.lvt != 0)),
        2 => be_unsigned(data).map(Value::Unsigned),
        3 => be_unsigned(data).map(|v| {
            // Sign-extend from the encoded width (1..=8 bytes).
            let shift = 64 - 8 * data.len() as u32;
            Value::Signed(((v << shift) as i64) >> shift)
        }),
        4 => four.map(|b| Value::Real(f32::from_be_bytes(b))),
        5 => <[u8; 8]>::try_from(data)
            .ok()
            .map(|b| Value::Double(f64::from_be_bytes(b))),
        6 => Some(Value::OctetString(data.to_vec())),
        7 => Some(Value::CharacterString(BacnetString::decode(data))),
        8 => Some(Value::BitString(data.to_vec())),
        9 => be_unsigned(data).map(Value::Enumerated),
        10 => four.map(Value::Date),
        11 => four.map(Value::Time),
        12 => four.map(|b| Value::ObjectIdentifier(ObjectId::from_raw(u32::from_be_bytes(b)))),
        _ => None,
    };
    decoded.unwrap_or_else(|| Value::Other {
        tag: tag.number,
        context: false,
        data: data.to_vec(),
    })
}

/// Parses one BACnet/IP datagram.
pub fn parse_reply(buf: &[u8]) -> Result<Reply, ParseError> {
    let mut warnings = Vec::new();
    let mut r = Reader::new(buf);
    let bvlc_type = r.u8("BVLC type")?;
    if bvlc_type != BVLC_TYPE {
        return Err(ParseError::NotBacnetIp(bvlc_type));
    }
    let function = r.u8("BVLC function")?;
    let declared = usize::from(r.u16("BVLC length")?);
    if declared > buf.len() || declared < BVLC_HEADER_LEN {
        return Err(ParseError::LyingLength {
            declared,
            available: buf.len(),
        });
    }
    if declared < buf.len() {
        warnings.push(format!(
            "{} bytes after the BVLC length ignored",
            buf.len() - declared
        ));
    }
    let body = buf.get(BVLC_HEADER_LEN..declared).unwrap_or(&[]);
    let mut r = Reader::new(body);
    let mut forwarded_from = None;
    match function {
        BVLC_RESULT => {
            let code = r.u16("BVLC-Result code")?;
            return Ok(Reply {
                bvlc_function: function,
                forwarded_from: None,
                npdu: None,
                payload: Payload::BvlcResult { code },
                warnings,
            });
        }
        BVLC_FORWARDED_NPDU => {
            let ip = r.u32("originating address")?;
            let port = r.u16("originating port")?;
            forwarded_from = Some(SocketAddrV4::new(Ipv4Addr::from(ip), port));
        }
        BVLC_ORIGINAL_UNICAST | BVLC_ORIGINAL_BROADCAST => {}
        other => return Err(ParseError::UnexpectedBvlcFunction(other)),
    }

    // NPDU (clause 6.2).
    let version = r.u8("NPDU version")?;
    if version != NPDU_VERSION {
        return Err(ParseError::NpduVersion(version));
    }
    let control = r.u8("NPDU control")?;
    let mut npdu = Npdu {
        expecting_reply: control & NPDU_EXPECTING_REPLY != 0,
        priority: control & 0x03,
        ..Npdu::default()
    };
    if control & 0x50 != 0 {
        warnings.push(format!("NPDU control {control:#04x} sets reserved bits"));
    }
    if control & NPDU_DEST_PRESENT != 0 {
        let network = r.u16("DNET")?;
        let len = r.u8("DLEN")?;
        let mac = r.take(usize::from(len), "DADR")?.to_vec();
        npdu.destination = Some(NetworkAddress { network, mac });
    }
    if control & NPDU_SOURCE_PRESENT != 0 {
        let network = r.u16("SNET")?;
        let len = r.u8("SLEN")?;
        if len == 0 {
            warnings.push("NPDU source address has SLEN 0".to_owned());
        }
        let mac = r.take(usize::from(len), "SADR")?.to_vec();
        npdu.source = Some(NetworkAddress { network, mac });
    }
    if control & NPDU_DEST_PRESENT != 0 {
        npdu.hop_count = Some(r.u8("hop count")?);
    }
    if control & NPDU_NETWORK_MESSAGE != 0 {
        let message_type = r.u8("network message type")?;
        return Ok(Reply {
            bvlc_function: function,
            forwarded_from,
            npdu: Some(npdu),
            payload: Payload::NetworkMessage { message_type },
            warnings,
        });
    }

    let payload = parse_apdu(&mut r, &mut warnings)?;
    if !r.is_empty() {
        warnings.push(format!("{} bytes after the APDU ignored", r.remaining()));
    }
    Ok(Reply {
        bvlc_function: function,
        forwarded_from,
        npdu: Some(npdu),
        payload,
        warnings,
    })
}

fn parse_apdu(r: &mut Reader<'_>, warnings: &mut Vec<String>) -> Result<Payload, ParseError> {
    let first = r.u8("APDU type")?;
    match first >> 4 {
        1 => {
            let service = r.u8("service choice")?;
            if service != SERVICE_I_AM {
                return Err(ParseError::UnexpectedUnconfirmedService(service));
            }
            parse_i_am(r).map(Payload::IAm)
        }
        2 => Ok(Payload::SimpleAck {
            invoke_id: r.u8("invoke id")?,
            service: r.u8("service choice")?,
        }),
        3 => {
            let invoke_id = r.u8("invoke id")?;
            if first & 0x08 != 0 {
                let sequence = r.u8("sequence number")?;
                let _window = r.u8("proposed window size")?;
                let service = r.u8("service choice")?;
                return Ok(Payload::SegmentedAck {
                    invoke_id,
                    sequence,
                    service,
                });
            }
            let service = r.u8("service choice")?;
            match service {
                SERVICE_READ_PROPERTY => parse_read_property_ack(r, invoke_id),
                SERVICE_READ_PROPERTY_MULTIPLE => parse_rpm_ack(r, invoke_id, warnings),
                other => Err(ParseError::UnexpectedAckService(other)),
            }
        }
        5 => {
            let invoke_id = r.u8("invoke id")?;
            let service = r.u8("service choice")?;
            let error = error_class_code(r)?;
            if error.is_none() {
                warnings.push("Error PDU without error class and code".to_owned());
            }
            Ok(Payload::Error {
                invoke_id,
                service,
                error,
            })
        }
        6 => Ok(Payload::Reject {
            invoke_id: r.u8("invoke id")?,
            reason: r.u8("reject reason")?,
        }),
        7 => Ok(Payload::Abort {
            server: first & 0x01 != 0,
            invoke_id: r.u8("invoke id")?,
            reason: r.u8("abort reason")?,
        }),
        other => Err(ParseError::UnexpectedPduType(other)),
    }
}

fn parse_i_am(r: &mut Reader<'_>) -> Result<IAm, ParseError> {
    let device = object_id(
        r.application(12, "I-Am device object identifier")?.data,
        "I-Am device identifier",
    )?;
    let max_apdu = small_unsigned(
        r.application(2, "I-Am max APDU (unsigned)")?.data,
        "I-Am max APDU",
    )?;
    let segmentation = small_unsigned(
        r.application(9, "I-Am segmentation (enumerated)")?.data,
        "I-Am segmentation",
    )?;
    let vendor_id = small_unsigned(
        r.application(2, "I-Am vendor id (unsigned)")?.data,
        "I-Am vendor id",
    )?;
    Ok(IAm {
        device,
        max_apdu,
        segmentation,
        vendor_id,
    })
}

fn parse_read_property_ack(r: &mut Reader<'_>, invoke_id: u8) -> Result<Payload, ParseError> {
    let object = object_id(
        r.context(0, "context tag 0 (object identifier)")?,
        "object identifier",
    )?;
    let property = small_unsigned(
        r.context(1, "context tag 1 (property identifier)")?,
        "property identifier",
    )?;
    let array_index = if r.next_is(TagKind::Context, 2) {
        Some(small_unsigned(r.context(2, "array index")?, "array index")?)
    } else {
        None
    };
    r.opening(3, "opening tag 3 (property value)")?;
    let values = r.values_until_closing(3)?;
    Ok(Payload::ReadPropertyAck {
        invoke_id,
        object,
        property,
        array_index,
        values,
    })
}

fn parse_rpm_ack(
    r: &mut Reader<'_>,
    invoke_id: u8,
    warnings: &mut Vec<String>,
) -> Result<Payload, ParseError> {
    let mut results = Vec::new();
    while !r.is_empty() {
        let object = object_id(
            r.context(0, "context tag 0 (object identifier)")?,
            "object identifier",
        )?;
        r.opening(1, "opening tag 1 (list of results)")?;
        loop {
            let tag = r.tag()?;
            match tag.kind {
                TagKind::Closing if tag.number == 1 => break,
                TagKind::Context if tag.number == 2 => {
                    let property = small_unsigned(tag.data, "property identifier")?;
                    let array_index = if r.next_is(TagKind::Context, 3) {
                        Some(small_unsigned(r.context(3, "array index")?, "array index")?)
                    } else {
                        None
                    };
                    let open = r.tag()?;
                    let outcome = match (open.kind, open.number) {
                        (TagKind::Opening, 4) => Ok(r.values_until_closing(4)?),
                        (TagKind::Opening, 5) => {
                            let error = error_class_code_until(r, 5)?;
                            Err(error.unwrap_or_else(|| {
                                warnings.push(format!(
                                    "property {property}: error without class and code"
                                ));
                                ErrorClassCode {
                                    class: u32::MAX,
                                    code: u32::MAX,
                                }
                            }))
                        }
                        _ => {
                            return Err(ParseError::UnexpectedTag {
                                expected: "opening tag 4 (value) or 5 (error)",
                            });
                        }
                    };
                    results.push(PropertyResult {
                        object,
                        property,
                        array_index,
                        outcome,
                    });
                }
                TagKind::Opening => {
                    warnings.push(format!("unknown constructed tag {} skipped", tag.number));
                    r.skip_constructed(tag.number, 1)?;
                }
                TagKind::Application | TagKind::Context => {
                    warnings.push(format!("unknown tag {} skipped", tag.number));
                }
                TagKind::Closing => {
                    return Err(ParseError::UnexpectedTag {
                        expected: "closing tag 1",
                    });
                }
            }
        }
    }
    Ok(Payload::ReadPropertyMultipleAck { invoke_id, results })
}

/// Error class and code: the first two Enumerated values in the rest of an Error
/// PDU, at any nesting depth (some services wrap them in context tag 0).
fn error_class_code(r: &mut Reader<'_>) -> Result<Option<ErrorClassCode>, ParseError> {
    let mut found = Vec::with_capacity(2);
    let mut depth = 0usize;
    while !r.is_empty() && found.len() < 2 {
        let tag = r.tag()?;
        match tag.kind {
            TagKind::Opening => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ParseError::TooDeep);
                }
            }
            TagKind::Closing => depth = depth.saturating_sub(1),
            TagKind::Application if tag.number == 9 => {
                found.push(small_unsigned(tag.data, "error class/code")?);
            }
            TagKind::Application | TagKind::Context => {}
        }
    }
    Ok(match found.as_slice() {
        [class, code] => Some(ErrorClassCode {
            class: *class,
            code: *code,
        }),
        _ => None,
    })
}

/// Error class and code inside a constructed tag `number`; consumes its closing tag.
fn error_class_code_until(
    r: &mut Reader<'_>,
    number: u8,
) -> Result<Option<ErrorClassCode>, ParseError> {
    let values = r.values_until_closing(number)?;
    let mut enums = values.iter().filter_map(|v| match v {
        Value::Enumerated(e) => u32::try_from(*e).ok(),
        _ => None,
    });
    Ok(match (enums.next(), enums.next()) {
        (Some(class), Some(code)) => Some(ErrorClassCode { class, code }),
        _ => None,
    })
}

// ---------------------------------------------------------------------------
// Names

/// Name of an error class (BACnetErrorClass).
pub const fn error_class_name(class: u32) -> Option<&'static str> {
    Some(match class {
        0 => "device",
        1 => "object",
        2 => "property",
        3 => "resources",
        4 => "security",
        5 => "services",
        6 => "vt",
        7 => "communication",
        _ => return None,
    })
}

/// Name of the common error codes (BACnetErrorCode); `None` for the others.
pub const fn error_code_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0 => "other",
        3 => "device-busy",
        9 => "invalid-data-type",
        25 => "operational-problem",
        27 => "read-access-denied",
        29 => "service-request-denied",
        30 => "timeout",
        31 => "unknown-object",
        32 => "unknown-property",
        36 => "unsupported-object-type",
        41 => "character-set-not-supported",
        42 => "invalid-array-index",
        _ => return None,
    })
}

/// Name of a reject reason (BACnetRejectReason).
pub const fn reject_reason_name(reason: u8) -> Option<&'static str> {
    Some(match reason {
        0 => "other",
        1 => "buffer-overflow",
        2 => "inconsistent-parameters",
        3 => "invalid-parameter-data-type",
        4 => "invalid-tag",
        5 => "missing-required-parameter",
        6 => "parameter-out-of-range",
        7 => "too-many-arguments",
        8 => "undefined-enumeration",
        9 => "unrecognized-service",
        _ => return None,
    })
}

/// Name of an abort reason (BACnetAbortReason).
pub const fn abort_reason_name(reason: u8) -> Option<&'static str> {
    Some(match reason {
        0 => "other",
        1 => "buffer-overflow",
        2 => "invalid-apdu-in-this-state",
        3 => "preempted-by-higher-priority-task",
        4 => "segmentation-not-supported",
        5 => "security-error",
        6 => "insufficient-security",
        7 => "window-size-out-of-range",
        8 => "application-exceeded-reply-time",
        9 => "out-of-resources",
        10 => "tsm-timeout",
        11 => "apdu-too-long",
        _ => return None,
    })
}

/// Name of a segmentation value (BACnetSegmentation).
pub const fn segmentation_name(value: u32) -> Option<&'static str> {
    Some(match value {
        0 => "segmented-both",
        1 => "segmented-transmit",
        2 => "segmented-receive",
        3 => "no-segmentation",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Record

/// An Error, Reject or Abort a device answered with: proof of a BACnet stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BacnetRefusal {
    /// Error PDU.
    Error {
        /// Service choice the error answers.
        service: u8,
        /// Error class, when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_class: Option<u32>,
        /// Error class name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_class_name: Option<String>,
        /// Error code, when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code: Option<u32>,
        /// Error code name, for the common codes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code_name: Option<String>,
    },
    /// Reject PDU.
    Reject {
        /// Reject reason.
        reason: u8,
        /// Reason name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_name: Option<String>,
    },
    /// Abort PDU.
    Abort {
        /// Sent by the server.
        server: bool,
        /// Abort reason.
        reason: u8,
        /// Reason name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_name: Option<String>,
    },
}

/// What BACnet/IP told about a device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BacnetDetails {
    /// Device object instance (from object-identifier or I-Am).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_instance: Option<u32>,
    /// BACnet vendor id (ASHRAE-assigned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u32>,
    /// vendor-name property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<DeviceText>,
    /// model-name property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<DeviceText>,
    /// firmware-revision property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_revision: Option<DeviceText>,
    /// application-software-version property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_software_version: Option<DeviceText>,
    /// object-name property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_name: Option<DeviceText>,
    /// description property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<DeviceText>,
    /// location property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<DeviceText>,
    /// Max APDU length accepted (I-Am).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_apdu: Option<u32>,
    /// Segmentation supported (I-Am), by name, or the number when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<String>,
    /// The B/IP address a BACnet Broadcast Management Device forwarded the reply
    /// from (BVLC Forwarded-NPDU), as `ip:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<String>,
    /// BACnet network number of the answering device, when the reply came through a
    /// BACnet router (NPDU source network): the identity is then that device's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_network: Option<u16>,
    /// MAC address of the answering device on `source_network`, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_mac: Option<String>,
    /// Errors, rejects and aborts the device answered with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<BacnetRefusal>,
    /// Oddities met while reading the device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl BacnetDetails {
    /// Folds a parsed reply into the details: property values, I-Am fields,
    /// refusals, and the reply's warnings.
    pub fn absorb(&mut self, reply: &Reply) {
        self.warnings.extend(reply.warnings.iter().cloned());
        if let Some(from) = reply.forwarded_from {
            self.forwarded_from.get_or_insert_with(|| from.to_string());
        }
        if let Some(source) = reply.npdu.as_ref().and_then(|n| n.source.as_ref()) {
            self.source_network.get_or_insert(source.network);
            self.source_mac.get_or_insert_with(|| hex(&source.mac));
        }
        match &reply.payload {
            Payload::ReadPropertyAck {
                object,
                property,
                values,
                ..
            } => self.absorb_property(*object, *property, values),
            Payload::ReadPropertyMultipleAck { results, .. } => {
                for result in results {
                    match &result.outcome {
                        Ok(values) => self.absorb_property(result.object, result.property, values),
                        Err(e) => self.warnings.push(format!(
                            "{}: error {}/{}",
                            property_label(result.property),
                            error_class_name(e.class).unwrap_or("?"),
                            error_code_name(e.code)
                                .map_or_else(|| e.code.to_string(), str::to_owned),
                        )),
                    }
                }
            }
            Payload::IAm(i_am) => {
                if i_am.device.object_type == OBJECT_TYPE_DEVICE {
                    self.device_instance.get_or_insert(i_am.device.instance);
                } else {
                    self.warnings.push(format!(
                        "I-Am names object type {}, not device",
                        i_am.device.object_type
                    ));
                }
                self.max_apdu = Some(i_am.max_apdu);
                self.segmentation = Some(
                    segmentation_name(i_am.segmentation)
                        .map_or_else(|| i_am.segmentation.to_string(), str::to_owned),
                );
                self.vendor_id.get_or_insert(i_am.vendor_id);
            }
            Payload::Error { service, error, .. } => self.refusals.push(BacnetRefusal::Error {
                service: *service,
                error_class: error.map(|e| e.class),
                error_class_name: error
                    .and_then(|e| error_class_name(e.class))
                    .map(str::to_owned),
                error_code: error.map(|e| e.code),
                error_code_name: error
                    .and_then(|e| error_code_name(e.code))
                    .map(str::to_owned),
            }),
            Payload::Reject { reason, .. } => self.refusals.push(BacnetRefusal::Reject {
                reason: *reason,
                reason_name: reject_reason_name(*reason).map(str::to_owned),
            }),
            Payload::Abort { server, reason, .. } => self.refusals.push(BacnetRefusal::Abort {
                server: *server,
                reason: *reason,
                reason_name: abort_reason_name(*reason).map(str::to_owned),
            }),
            Payload::SegmentedAck { .. } => self
                .warnings
                .push("segmented reply, which otscan does not accept".to_owned()),
            Payload::SimpleAck { service, .. } => self
                .warnings
                .push(format!("unexpected SimpleACK for service {service:#04x}")),
            Payload::BvlcResult { code } => self.warnings.push(format!("BVLC-Result {code:#06x}")),
            Payload::NetworkMessage { message_type } => self
                .warnings
                .push(format!("network-layer message {message_type:#04x}")),
        }
    }

    fn absorb_property(&mut self, object: ObjectId, property: u32, values: &[Value]) {
        if object.object_type != OBJECT_TYPE_DEVICE {
            self.warnings.push(format!(
                "property {property} of object type {}, not device, ignored",
                object.object_type
            ));
            return;
        }
        let Some(id) = PropertyId::from_code(property) else {
            self.warnings
                .push(format!("unrequested property {property} ignored"));
            return;
        };
        let Some(value) = values.first() else {
            self.warnings.push(format!("{}: no value", id.name()));
            return;
        };
        if values.len() > 1 {
            self.warnings.push(format!(
                "{}: {} values, first kept",
                id.name(),
                values.len()
            ));
        }
        let text_slot = match id {
            PropertyId::ObjectIdentifier => {
                match value {
                    Value::ObjectIdentifier(oid) if oid.object_type == OBJECT_TYPE_DEVICE => {
                        self.device_instance = Some(oid.instance);
                    }
                    other => self.mismatch(id, other),
                }
                return;
            }
            PropertyId::VendorIdentifier => {
                match value {
                    Value::Unsigned(v) => match u32::try_from(*v) {
                        Ok(v) => self.vendor_id = Some(v),
                        Err(_) => self.mismatch(id, value),
                    },
                    other => self.mismatch(id, other),
                }
                return;
            }
            PropertyId::VendorName => &mut self.vendor_name,
            PropertyId::ModelName => &mut self.model_name,
            PropertyId::FirmwareRevision => &mut self.firmware_revision,
            PropertyId::ApplicationSoftwareVersion => &mut self.application_software_version,
            PropertyId::ObjectName => &mut self.object_name,
            PropertyId::Description => &mut self.description,
            PropertyId::Location => &mut self.location,
        };
        match value {
            Value::CharacterString(s) => *text_slot = Some(s.text.clone()),
            other => self.mismatch(id, other),
        }
    }

    fn mismatch(&mut self, id: PropertyId, value: &Value) {
        self.warnings.push(format!(
            "{}: unexpected {} value ignored",
            id.name(),
            value.type_name()
        ));
    }
}

fn property_label(property: u32) -> String {
    PropertyId::from_code(property).map_or_else(|| property.to_string(), |p| p.name().to_owned())
}

// ---------------------------------------------------------------------------
// Probe

/// Largest datagram the probe accepts: a full 1476-byte APDU with the largest
/// BVLC and NPDU headers is about 1,510 bytes.
pub const MAX_REPLY_LEN: usize = 2048;

/// BACnet/IP probe settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacnetConfig {
    /// UDP port (the replies must come from it).
    pub port: u16,
    /// Ask with one ReadPropertyMultiple first (default); single ReadProperty requests
    /// follow only when the device rejects or aborts it.
    pub read_property_multiple: bool,
    /// Ask the device for its instance with a unicast Who-Is when it refuses the
    /// wildcard instance (default on).
    pub who_is_fallback: bool,
    /// Send from this local UDP port instead of an ephemeral one (`None`, the default),
    /// for devices that answer only to port 47808. The port is shared by every device
    /// session of the scan; binding it fails while another program holds it (e.g. a
    /// BACnet stack on the scanning host).
    pub source_port: Option<u16>,
}

impl Default for BacnetConfig {
    fn default() -> Self {
        BacnetConfig {
            port: DEFAULT_PORT,
            read_property_multiple: true,
            who_is_fallback: true,
            source_port: None,
        }
    }
}

impl BacnetConfig {
    /// Most requests the probe can send to one device: ReadPropertyMultiple twice
    /// (wildcard, then the real instance), one Who-Is and one ReadProperty per
    /// property, each sent `1 + udp_retries` times.
    pub fn max_requests(&self, udp_retries: u32) -> u64 {
        let rpm = if self.read_property_multiple { 2 } else { 0 };
        let who_is = u64::from(self.who_is_fallback);
        (rpm + who_is + PropertyId::ALL.len() as u64) * (1 + u64::from(udp_retries))
    }
}

/// The APDU of a BACnet/IP datagram, found by skipping the BVLC and NPDU headers
/// without decoding anything else; `None` for a network-layer message or a datagram
/// too short to hold one.
fn apdu_of(datagram: &[u8]) -> Option<&[u8]> {
    if *datagram.first()? != BVLC_TYPE {
        return None;
    }
    let header = match *datagram.get(1)? {
        BVLC_ORIGINAL_UNICAST | BVLC_ORIGINAL_BROADCAST => BVLC_HEADER_LEN,
        BVLC_FORWARDED_NPDU => BVLC_HEADER_LEN + 6,
        _ => return None,
    };
    let npdu = datagram.get(header..)?;
    let control = *npdu.get(1)?;
    if control & NPDU_NETWORK_MESSAGE != 0 {
        return None;
    }
    let mut at = 2;
    if control & NPDU_DEST_PRESENT != 0 {
        at += 3 + usize::from(*npdu.get(at + 2)?);
    }
    if control & NPDU_SOURCE_PRESENT != 0 {
        at += 3 + usize::from(*npdu.get(at + 2)?);
    }
    if control & NPDU_DEST_PRESENT != 0 {
        at += 1;
    }
    npdu.get(at..)
}

/// True when `datagram` answers the confirmed request with invoke id `invoke_id`:
/// a SimpleACK, ComplexACK, Error, Reject or Abort carrying that invoke id. A
/// request (our own, echoed back) never matches.
pub fn answers_request(datagram: &[u8], invoke_id: u8) -> bool {
    apdu_of(datagram).is_some_and(|apdu| {
        matches!(apdu.first().map(|b| b >> 4), Some(2 | 3 | 5 | 6 | 7))
            && apdu.get(1) == Some(&invoke_id)
    })
}

/// The confirmed service a reply answers, for the APDUs that name it (a Reject or an
/// Abort does not).
fn answered_service(payload: &Payload) -> Option<u8> {
    match payload {
        Payload::ReadPropertyAck { .. } => Some(SERVICE_READ_PROPERTY),
        Payload::ReadPropertyMultipleAck { .. } => Some(SERVICE_READ_PROPERTY_MULTIPLE),
        Payload::SegmentedAck { service, .. }
        | Payload::SimpleAck { service, .. }
        | Payload::Error { service, .. } => Some(*service),
        _ => None,
    }
}

/// True when `datagram` is an I-Am (the answer to a Who-Is).
pub fn is_i_am(datagram: &[u8]) -> bool {
    apdu_of(datagram).is_some_and(|apdu| apdu.get(..2) == Some(&[0x10, SERVICE_I_AM]))
}

struct BacnetRun<'a> {
    session: &'a mut DeviceSession,
    config: &'a BacnetConfig,
    requests: u32,
    first_rtt: Option<std::time::Duration>,
    details: BacnetDetails,
}

impl BacnetRun<'_> {
    /// One request and its parsed answer.
    async fn ask(&mut self, request: ReadOnlyRequest) -> Result<Reply, ExchangeError> {
        let who_is = matches!(request, ReadOnlyRequest::BacnetWhoIs { .. });
        let reply = self
            .session
            .udp_exchange_from(
                self.config.source_port.unwrap_or(0),
                self.config.port,
                &request,
                MAX_REPLY_LEN,
                &|d, c| {
                    if who_is {
                        is_i_am(d)
                    } else {
                        answers_request(d, c as u8)
                    }
                },
            )
            .await?;
        self.first_rtt.get_or_insert(reply.rtt);
        let parsed =
            parse_reply(&reply.bytes).map_err(|e| ExchangeError::Protocol(e.to_string()))?;
        let service = match request {
            ReadOnlyRequest::BacnetReadProperty { .. } => SERVICE_READ_PROPERTY,
            ReadOnlyRequest::BacnetReadPropertyMultiple { .. } => SERVICE_READ_PROPERTY_MULTIPLE,
            _ => return Ok(parsed),
        };
        match answered_service(&parsed.payload) {
            Some(answered) if answered != service => Err(ExchangeError::Protocol(format!(
                "a reply for service {answered:#04x} to a request for service {service:#04x}"
            ))),
            _ => Ok(parsed),
        }
    }

    fn instance(&self) -> DeviceInstance {
        self.details
            .device_instance
            .and_then(DeviceInstance::new)
            .unwrap_or(DeviceInstance::WILDCARD)
    }

    /// Who-Is by unicast; true when the device named its instance.
    async fn who_is(&mut self) -> Result<bool, ExchangeError> {
        let reply = self
            .ask(ReadOnlyRequest::BacnetWhoIs { range: None })
            .await?;
        self.details.absorb(&reply);
        Ok(self.details.device_instance.is_some())
    }

    /// ReadPropertyMultiple of every identification property. `Ok(true)`: the device
    /// answered with values; `Ok(false)`: it refused (the refusal is recorded).
    async fn read_multiple(&mut self) -> Result<bool, ExchangeError> {
        let reply = self
            .ask(ReadOnlyRequest::BacnetReadPropertyMultiple {
                device: self.instance(),
                properties: PropertyId::ALL.to_vec(),
            })
            .await?;
        self.details.absorb(&reply);
        Ok(matches!(
            reply.payload,
            Payload::ReadPropertyMultipleAck { .. }
        ))
    }

    /// One ReadProperty; a property the device does not have is a warning.
    async fn read_one(&mut self, property: PropertyId) -> Result<Payload, ExchangeError> {
        let reply = self
            .ask(ReadOnlyRequest::BacnetReadProperty {
                device: self.instance(),
                property,
            })
            .await?;
        match &reply.payload {
            Payload::Error { error, .. } if !is_unknown_object(&reply.payload) => {
                self.details.warnings.extend(reply.warnings.iter().cloned());
                self.details.warnings.push(format!(
                    "{}: error {}",
                    property.name(),
                    error.map_or_else(|| "without class and code".to_owned(), error_text)
                ));
            }
            _ => self.details.absorb(&reply),
        }
        Ok(reply.payload)
    }
}

/// True when the details identify the device (an instance, a vendor or a name).
fn identifies(d: &BacnetDetails) -> bool {
    d.device_instance.is_some()
        || d.vendor_id.is_some()
        || d.vendor_name.is_some()
        || d.model_name.is_some()
        || d.object_name.is_some()
        || d.firmware_revision.is_some()
}

fn error_text(e: ErrorClassCode) -> String {
    format!(
        "{}/{}",
        error_class_name(e.class).map_or_else(|| e.class.to_string(), str::to_owned),
        error_code_name(e.code).map_or_else(|| e.code.to_string(), str::to_owned)
    )
}

/// True for Error object / unknown-object: the device refuses the wildcard instance.
fn is_unknown_object(payload: &Payload) -> bool {
    matches!(
        payload,
        Payload::Error {
            error: Some(ErrorClassCode { class: 1, code: 31 }),
            ..
        }
    )
}

/// Runs the BACnet/IP probe against one device: ReadPropertyMultiple of the Device
/// object's identification properties with the wildcard instance, a unicast Who-Is
/// when the device refuses the wildcard, single ReadProperty requests when it
/// rejects or aborts ReadPropertyMultiple.
pub(crate) async fn probe(
    session: &mut DeviceSession,
    config: &BacnetConfig,
) -> (ServiceObservation, Identity) {
    let mut run = BacnetRun {
        session,
        config,
        requests: 0,
        first_rtt: None,
        details: BacnetDetails::default(),
    };
    let before = run.session.sent();
    let outcome = run_probe(&mut run).await;
    // Every datagram, retries included, as the session paced them.
    run.requests = run.session.sent() - before;
    let BacnetRun {
        requests,
        first_rtt,
        mut details,
        ..
    } = run;
    let identified = identifies(&details);
    let end = super::ProbeEnd {
        protocol: Protocol::Bacnet,
        transport: Transport::Udp,
        port: config.port,
        requests,
        first_rtt,
        outcome,
        identified,
        refused: !details.refusals.is_empty(),
    };
    let identity = if identified {
        identity_fields(&details)
    } else {
        Identity::default()
    };
    let settled = end.settle(|| match details.refusals.first() {
        Some(refusal) => format!("device refused: {}", refusal_text(refusal)),
        None => "no identification in the replies".to_owned(),
    });
    details.warnings.extend(settled.warning.clone());
    let observation = end.observation(settled, ServiceDetails::Bacnet(Box::new(details)));
    (observation, identity)
}

async fn run_probe(run: &mut BacnetRun<'_>) -> Result<(), ExchangeError> {
    if run.config.read_property_multiple {
        if run.read_multiple().await? {
            return Ok(());
        }
        let refused_wildcard = run.details.refusals.last().is_some_and(|r| {
            matches!(
                r,
                BacnetRefusal::Error {
                    error_class: Some(1),
                    error_code: Some(31),
                    ..
                }
            )
        });
        if refused_wildcard {
            if !run.config.who_is_fallback || !run.who_is().await? {
                return Ok(());
            }
            if run.read_multiple().await? {
                return Ok(());
            }
        }
        // Rejected or aborted (e.g. the answer needs segmentation): one property at a time.
    }
    read_each(run).await
}

/// ReadProperty of each identification property in turn.
async fn read_each(run: &mut BacnetRun<'_>) -> Result<(), ExchangeError> {
    for property in PropertyId::ALL {
        if property == PropertyId::ObjectIdentifier && run.details.device_instance.is_some() {
            continue;
        }
        let payload = run.read_one(property).await?;
        if is_unknown_object(&payload) {
            // The wildcard is refused: learn the instance, then ask again, or stop.
            if run.details.device_instance.is_some()
                || !run.config.who_is_fallback
                || !run.who_is().await?
            {
                return Ok(());
            }
            if property != PropertyId::ObjectIdentifier {
                run.read_one(property).await?;
            }
        } else if property == PropertyId::ObjectIdentifier
            && !matches!(payload, Payload::ReadPropertyAck { .. })
        {
            // A device that refuses its own object-identifier will not say more to reads,
            // but may still name its instance and vendor in an I-Am.
            if run.config.who_is_fallback {
                let _ = run.who_is().await?;
            }
            return Ok(());
        }
    }
    Ok(())
}

fn refusal_text(refusal: &BacnetRefusal) -> String {
    match refusal {
        BacnetRefusal::Error {
            error_class_name,
            error_class,
            error_code_name,
            error_code,
            ..
        } => format!(
            "error {}/{}",
            error_class_name
                .clone()
                .or_else(|| error_class.map(|c| c.to_string()))
                .unwrap_or_else(|| "?".to_owned()),
            error_code_name
                .clone()
                .or_else(|| error_code.map(|c| c.to_string()))
                .unwrap_or_else(|| "?".to_owned()),
        ),
        BacnetRefusal::Reject {
            reason,
            reason_name,
        } => format!(
            "reject {}",
            reason_name.clone().unwrap_or_else(|| reason.to_string())
        ),
        BacnetRefusal::Abort {
            reason,
            reason_name,
            ..
        } => format!(
            "abort {}",
            reason_name.clone().unwrap_or_else(|| reason.to_string())
        ),
    }
}

/// The record's identity fields from what the device said.
pub(crate) fn identity_fields(details: &BacnetDetails) -> Identity {
    let vendor = details
        .vendor_name
        .as_ref()
        .and_then(DeviceText::trimmed)
        .or_else(|| {
            details
                .vendor_id
                .and_then(crate::vendors::bacnet_vendor)
                .map(str::to_owned)
        });
    Identity {
        vendor,
        vendor_id: details.vendor_id.map(|id| VendorId {
            space: VendorIdSpace::Bacnet,
            id,
        }),
        model: details.model_name.as_ref().and_then(DeviceText::trimmed),
        firmware_version: details
            .firmware_revision
            .as_ref()
            .and_then(DeviceText::trimmed),
        hostname: details.object_name.as_ref().and_then(DeviceText::trimmed),
        ..Identity::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hx(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    /// BVLC Original-Unicast + NPDU (no routing, no reply expected) around an APDU.
    fn unicast(apdu: &[u8]) -> Vec<u8> {
        let mut out = vec![0x81, 0x0A];
        out.extend_from_slice(&u16::try_from(apdu.len() + 6).unwrap().to_be_bytes());
        out.extend_from_slice(&[0x01, 0x00]);
        out.extend_from_slice(apdu);
        out
    }

    /// A character-string application tag (charset 0), with extended length if needed.
    fn char_string(s: &str) -> Vec<u8> {
        let len = s.len() + 1;
        let mut out = if len <= 4 {
            vec![0x70 | u8::try_from(len).unwrap()]
        } else if len < 254 {
            vec![0x75, u8::try_from(len).unwrap()]
        } else {
            let mut v = vec![0x75, 254];
            v.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
            v
        };
        out.push(0);
        out.extend_from_slice(s.as_bytes());
        out
    }

    fn rp_ack(invoke: u8, property: u8, value: &[u8]) -> Vec<u8> {
        let mut apdu = vec![
            0x30, invoke, 0x0C, 0x0C, 0x02, 0x00, 0x04, 0xD2, 0x19, property, 0x3E,
        ];
        apdu.extend_from_slice(value);
        apdu.push(0x3F);
        unicast(&apdu)
    }

    // --- reply matching -----------------------------------------------------

    #[test]
    fn replies_match_by_invoke_id_and_requests_never_do() {
        let ack = rp_ack(7, 75, &hx("c4 02 00 04 d2"));
        assert!(answers_request(&ack, 7));
        assert!(!answers_request(&ack, 8));
        // Our own request, echoed back with the same invoke id, is not an answer.
        let request = encode_read_property(7, DeviceInstance::WILDCARD, PropertyId::ModelName);
        assert!(!answers_request(&request, 7));
        // Reject, Abort (server) and Error carry the invoke id at the same place.
        for apdu in [hx("60 07 09"), hx("71 07 04"), hx("50 07 0e 91 01 91 1f")] {
            assert!(answers_request(&unicast(&apdu), 7), "{apdu:02x?}");
        }
        let i_am = unicast(&hx("10 00 c4 02 00 04 d2 22 05 c4 91 00 21 05"));
        assert!(is_i_am(&i_am) && !answers_request(&i_am, 0x00));
        assert!(!is_i_am(&encode_who_is(None)));
    }

    #[test]
    fn the_apdu_is_found_behind_forwarding_and_routing_headers() {
        // Forwarded-NPDU (6 address bytes), NPDU with a source network 2001, MAC 0x0C.
        let apdu = hx("30 07 0c 0c 02 00 04 d2 19 4b 3e c4 02 00 04 d2 3f");
        let mut datagram = hx("81 04 00 00 7f 00 00 2b ba c0 01 08 07 d1 01 0c");
        datagram.extend_from_slice(&apdu);
        let len = u16::try_from(datagram.len()).unwrap().to_be_bytes();
        datagram[2..4].copy_from_slice(&len);
        assert_eq!(apdu_of(&datagram), Some(&apdu[..]));
        assert!(answers_request(&datagram, 7));
        // A network-layer message has no APDU; a short header no answer.
        assert_eq!(apdu_of(&hx("81 0a 00 07 01 80 01")), None);
        assert_eq!(apdu_of(&hx("81 0a 00 05 01")), None);
        assert_eq!(apdu_of(&hx("81 04 00 08 7f 00")), None);
    }

    // --- encoders ----------------------------------------------------------

    #[test]
    fn read_property_wildcard_object_identifier() {
        let got = encode_read_property(7, DeviceInstance::WILDCARD, PropertyId::ObjectIdentifier);
        assert_eq!(
            got,
            hx("81 0a 00 11 01 04 00 05 07 0c 0c 02 3f ff ff 19 4b")
        );
    }

    #[test]
    fn read_property_given_instance_vendor_name() {
        let dev = DeviceInstance::new(1234).unwrap();
        let got = encode_read_property(0xFE, dev, PropertyId::VendorName);
        assert_eq!(
            got,
            hx("81 0a 00 11 01 04 00 05 fe 0c 0c 02 00 04 d2 19 79")
        );
    }

    #[test]
    fn property_codes() {
        let codes: Vec<u8> = PropertyId::ALL.iter().map(|p| p.code()).collect();
        assert_eq!(codes, [75, 120, 121, 70, 44, 12, 77, 28, 58]);
        for p in PropertyId::ALL {
            assert_eq!(PropertyId::from_code(u32::from(p.code())), Some(p));
        }
    }

    #[test]
    fn read_property_multiple_all() {
        let got = encode_read_property_multiple(1, DeviceInstance::WILDCARD, &[]);
        let want = hx("81 0a 00 23 01 04 00 05 01 0e 0c 02 3f ff ff 1e \
             09 4b 09 78 09 79 09 46 09 2c 09 0c 09 4d 09 1c 09 3a 1f");
        assert_eq!(got, want);
        assert_eq!(got.len(), 0x23);
    }

    #[test]
    fn read_property_multiple_dedups() {
        let got = encode_read_property_multiple(
            2,
            DeviceInstance::WILDCARD,
            &[
                PropertyId::ModelName,
                PropertyId::ModelName,
                PropertyId::Location,
            ],
        );
        assert_eq!(
            got,
            hx("81 0a 00 15 01 04 00 05 02 0e 0c 02 3f ff ff 1e 09 46 09 3a 1f")
        );
    }

    #[test]
    fn who_is_without_and_with_range() {
        assert_eq!(encode_who_is(None), hx("81 0a 00 08 01 00 10 08"));
        let range =
            InstanceRange::new(DeviceInstance::new(0).unwrap(), DeviceInstance::WILDCARD).unwrap();
        assert_eq!(
            encode_who_is(Some(range)),
            hx("81 0a 00 0e 01 00 10 08 09 00 1b 3f ff ff")
        );
        let range = InstanceRange::new(
            DeviceInstance::new(300).unwrap(),
            DeviceInstance::new(70000).unwrap(),
        )
        .unwrap();
        assert_eq!(
            encode_who_is(Some(range)),
            hx("81 0a 00 0f 01 00 10 08 0a 01 2c 1b 01 11 70")
        );
    }

    #[test]
    fn typed_params_reject_out_of_range() {
        assert!(DeviceInstance::new(MAX_INSTANCE + 1).is_none());
        assert!(InstanceRange::new(
            DeviceInstance::new(5).unwrap(),
            DeviceInstance::new(4).unwrap()
        )
        .is_none());
    }

    // --- replies -----------------------------------------------------------

    #[test]
    fn read_property_ack_object_identifier() {
        let reply = parse_reply(&rp_ack(7, 75, &hx("c4 02 00 04 d2"))).unwrap();
        assert!(reply.warnings.is_empty(), "{:?}", reply.warnings);
        assert_eq!(reply.payload.invoke_id(), Some(7));
        let Payload::ReadPropertyAck {
            object,
            property,
            values,
            array_index,
            ..
        } = &reply.payload
        else {
            panic!("{reply:?}")
        };
        assert_eq!(
            *object,
            ObjectId {
                object_type: 8,
                instance: 1234
            }
        );
        assert_eq!(*property, 75);
        assert_eq!(*array_index, None);
        assert_eq!(
            values,
            &[Value::ObjectIdentifier(ObjectId {
                object_type: 8,
                instance: 1234
            })]
        );
        let mut d = BacnetDetails::default();
        d.absorb(&reply);
        assert_eq!(d.device_instance, Some(1234));
    }

    #[test]
    fn read_property_ack_strings_and_vendor_id() {
        let mut d = BacnetDetails::default();
        d.absorb(&parse_reply(&rp_ack(1, 121, &char_string("Acme Controls"))).unwrap());
        d.absorb(&parse_reply(&rp_ack(2, 120, &hx("22 01 04"))).unwrap());
        let long = "x".repeat(300);
        d.absorb(&parse_reply(&rp_ack(3, 28, &char_string(&long))).unwrap());
        assert_eq!(d.vendor_name.unwrap().text, "Acme Controls");
        assert_eq!(d.vendor_id, Some(260));
        assert_eq!(d.description.unwrap().text, long);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    }

    #[test]
    fn character_sets_are_lossless() {
        let latin1 = BacnetString::decode(&[5, b'S', 0xE4, b'l']);
        assert_eq!(latin1.text.text, "Säl");
        assert_eq!(latin1.text.hex, None);
        let ucs2 = BacnetString::decode(&[4, 0x00, 0x41, 0x20, 0xAC]);
        assert_eq!(ucs2.text.text, "A€");
        let ucs4 = BacnetString::decode(&[3, 0, 0, 0, 0x42]);
        assert_eq!(ucs4.text.text, "B");
        let dbcs = BacnetString::decode(&[1, 0x88, 0x9F]);
        assert_eq!(dbcs.charset, Some(1));
        assert_eq!(dbcs.text.hex.as_deref(), Some("889f"));
        let bad_utf8 = BacnetString::decode(&[0, 0xFF, b'a']);
        assert_eq!(bad_utf8.text.hex.as_deref(), Some("ff61"));
        let empty = BacnetString::decode(&[]);
        assert_eq!(empty.charset, None);
    }

    #[test]
    fn read_property_ack_with_array_index_and_constructed_value() {
        // [2] array index 0, then a constructed value inside the property value.
        let apdu = hx("30 09 0c 0c 02 00 00 01 19 4d 29 00 3e 2e 21 01 2f 75 03 00 41 42 3f");
        let reply = parse_reply(&unicast(&apdu)).unwrap();
        let Payload::ReadPropertyAck {
            array_index,
            values,
            ..
        } = reply.payload
        else {
            panic!()
        };
        assert_eq!(array_index, Some(0));
        assert_eq!(values.len(), 2);
        assert_eq!(values[0], Value::Constructed { tag: 2 });
    }

    #[test]
    fn read_property_multiple_ack_with_values_and_error() {
        // object device,1234; [1] { [2] 121 [4] { "Acme" } [2] 28 [5] { property/unknown-property } }
        let mut apdu = hx("30 05 0e 0c 02 00 04 d2 1e 29 79 4e");
        apdu.extend_from_slice(&char_string("Acme"));
        apdu.extend_from_slice(&hx("4f 29 1c 5e 91 02 91 20 5f 29 78 4e 21 07 4f 1f"));
        let reply = parse_reply(&unicast(&apdu)).unwrap();
        let Payload::ReadPropertyMultipleAck { invoke_id, results } = &reply.payload else {
            panic!("{reply:?}")
        };
        assert_eq!(*invoke_id, 5);
        assert_eq!(results.len(), 3);
        assert_eq!(
            results[1].outcome,
            Err(ErrorClassCode { class: 2, code: 32 })
        );
        let mut d = BacnetDetails::default();
        d.absorb(&reply);
        assert_eq!(d.vendor_name.unwrap().text, "Acme");
        assert_eq!(d.vendor_id, Some(7));
        assert_eq!(d.description, None);
        assert_eq!(d.warnings, ["description: error property/unknown-property"]);
    }

    #[test]
    fn i_am() {
        let apdu = hx("10 00 c4 02 00 04 d2 22 05 c4 91 03 22 01 04");
        let reply = parse_reply(&unicast(&apdu)).unwrap();
        assert_eq!(
            reply.payload,
            Payload::IAm(IAm {
                device: ObjectId {
                    object_type: 8,
                    instance: 1234
                },
                max_apdu: 1476,
                segmentation: 3,
                vendor_id: 260,
            })
        );
        let mut d = BacnetDetails::default();
        d.absorb(&reply);
        assert_eq!(d.device_instance, Some(1234));
        assert_eq!(d.max_apdu, Some(1476));
        assert_eq!(d.segmentation.as_deref(), Some("no-segmentation"));
        assert_eq!(d.vendor_id, Some(260));
    }

    #[test]
    fn error_reject_abort_simple_ack() {
        let err = parse_reply(&unicast(&hx("50 07 0c 91 01 91 1f"))).unwrap();
        assert_eq!(
            err.payload,
            Payload::Error {
                invoke_id: 7,
                service: 0x0C,
                error: Some(ErrorClassCode { class: 1, code: 31 })
            }
        );
        let rej = parse_reply(&unicast(&hx("60 07 09"))).unwrap();
        assert_eq!(
            rej.payload,
            Payload::Reject {
                invoke_id: 7,
                reason: 9
            }
        );
        let abort = parse_reply(&unicast(&hx("71 07 04"))).unwrap();
        assert_eq!(
            abort.payload,
            Payload::Abort {
                invoke_id: 7,
                server: true,
                reason: 4
            }
        );
        let ack = parse_reply(&unicast(&hx("20 07 0f"))).unwrap();
        assert_eq!(
            ack.payload,
            Payload::SimpleAck {
                invoke_id: 7,
                service: 0x0F
            }
        );

        let mut d = BacnetDetails::default();
        for r in [&err, &rej, &abort] {
            d.absorb(r);
        }
        assert_eq!(d.refusals.len(), 3);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["refusals"][0]["kind"], "error");
        assert_eq!(json["refusals"][0]["error_code_name"], "unknown-object");
        assert_eq!(json["refusals"][1]["reason_name"], "unrecognized-service");
        assert_eq!(
            json["refusals"][2]["reason_name"],
            "segmentation-not-supported"
        );
    }

    #[test]
    fn forwarded_npdu_with_routed_source() {
        // Forwarded-NPDU from 192.168.1.10:47808; NPDU with SNET 5, SLEN 1, SADR 0x21.
        let apdu = hx("10 00 c4 02 00 00 2a 22 01 e0 91 00 21 05");
        let mut body = hx("c0 a8 01 0a ba c0 01 08 00 05 01 21");
        body.extend_from_slice(&apdu);
        let mut buf = vec![0x81, 0x04];
        buf.extend_from_slice(&u16::try_from(body.len() + 4).unwrap().to_be_bytes());
        buf.extend_from_slice(&body);
        let reply = parse_reply(&buf).unwrap();
        assert_eq!(
            reply.forwarded_from,
            Some(SocketAddrV4::new(Ipv4Addr::new(192, 168, 1, 10), 47808))
        );
        let npdu = reply.npdu.unwrap();
        assert_eq!(
            npdu.source,
            Some(NetworkAddress {
                network: 5,
                mac: vec![0x21]
            })
        );
        let Payload::IAm(i_am) = reply.payload else {
            panic!()
        };
        assert_eq!(i_am.device.instance, 42);
        assert_eq!(i_am.max_apdu, 480);
        assert_eq!(i_am.vendor_id, 5);
    }

    #[test]
    fn destination_and_hop_count() {
        // DNET 0xFFFF, DLEN 0, hop count 255, then a Reject.
        let buf = hx("81 0a 00 0d 01 20 ff ff 00 ff 60 01 00");
        let reply = parse_reply(&buf).unwrap();
        let npdu = reply.npdu.unwrap();
        assert_eq!(npdu.hop_count, Some(255));
        assert_eq!(npdu.destination.unwrap().network, 0xFFFF);
    }

    #[test]
    fn bvlc_result_and_network_message() {
        let r = parse_reply(&hx("81 00 00 06 00 30")).unwrap();
        assert_eq!(r.payload, Payload::BvlcResult { code: 0x30 });
        let r = parse_reply(&hx("81 0a 00 07 01 80 03")).unwrap();
        assert_eq!(r.payload, Payload::NetworkMessage { message_type: 3 });
    }

    #[test]
    fn segmented_ack_is_reported() {
        let r = parse_reply(&unicast(&hx("38 01 00 04 0e 0c"))).unwrap();
        assert_eq!(
            r.payload,
            Payload::SegmentedAck {
                invoke_id: 1,
                sequence: 0,
                service: 0x0E
            }
        );
    }

    // --- malformed -----------------------------------------------------------

    #[test]
    fn malformed_headers() {
        assert!(matches!(
            parse_reply(&[]),
            Err(ParseError::Truncated { .. })
        ));
        assert_eq!(
            parse_reply(&hx("82 0a 00 04")),
            Err(ParseError::NotBacnetIp(0x82))
        );
        assert!(matches!(
            parse_reply(&hx("81 0a 00 ff 01 00")),
            Err(ParseError::LyingLength {
                declared: 255,
                available: 6
            })
        ));
        assert!(matches!(
            parse_reply(&hx("81 0a 00 02")),
            Err(ParseError::LyingLength { .. })
        ));
        assert_eq!(
            parse_reply(&hx("81 05 00 04")),
            Err(ParseError::UnexpectedBvlcFunction(5))
        );
        assert_eq!(
            parse_reply(&hx("81 0a 00 08 02 00 10 00")),
            Err(ParseError::NpduVersion(2))
        );
        // Source present but SADR cut short.
        assert!(matches!(
            parse_reply(&hx("81 0a 00 0a 01 08 00 05 06 21")),
            Err(ParseError::Truncated { what: "SADR", .. })
        ));
        // A confirmed request is not a reply.
        assert_eq!(
            parse_reply(&unicast(&hx("00 05 01 0c"))),
            Err(ParseError::UnexpectedPduType(0))
        );
        assert_eq!(
            parse_reply(&unicast(&hx("10 08"))),
            Err(ParseError::UnexpectedUnconfirmedService(8))
        );
    }

    #[test]
    fn trailing_bytes_warned() {
        let mut buf = unicast(&hx("60 01 00"));
        buf.extend_from_slice(&[0xAA, 0xBB]);
        let r = parse_reply(&buf).unwrap();
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn lying_tag_lengths() {
        // Character string claims 200 bytes (extended length), 3 present.
        let r = parse_reply(&rp_ack(1, 121, &hx("75 c8 00 41 42")));
        assert!(matches!(r, Err(ParseError::Truncated { .. })), "{r:?}");
        // 254 marker: 0xFFFF bytes claimed.
        let r = parse_reply(&rp_ack(1, 121, &hx("75 fe ff ff 00")));
        assert!(matches!(r, Err(ParseError::Truncated { .. })), "{r:?}");
        // 255 marker: 4 GiB claimed.
        let r = parse_reply(&rp_ack(1, 121, &hx("75 ff ff ff ff ff 00")));
        assert!(matches!(r, Err(ParseError::Truncated { .. })), "{r:?}");
        // Extended length cut inside its own marker.
        let r = parse_reply(&unicast(&hx("30 01 0c 0c 02 00 04 d2 19 79 3e 75 ff 00")));
        assert!(matches!(r, Err(ParseError::Truncated { .. })), "{r:?}");
        // Missing closing tag.
        let r = parse_reply(&unicast(&hx("30 01 0c 0c 02 00 04 d2 19 79 3e 21 01")));
        assert!(matches!(r, Err(ParseError::Truncated { .. })), "{r:?}");
        // Application tag with length bits 6.
        let r = parse_reply(&rp_ack(1, 121, &hx("76")));
        assert_eq!(r, Err(ParseError::InvalidTag(0x76)));
    }

    #[test]
    fn unknown_tags_are_skipped() {
        // Reserved application tag 13 and a context tag
        // inside the value: kept raw, not a failure.
        let r = parse_reply(&rp_ack(1, 121, &hx("d2 aa bb 0a 01 02"))).unwrap();
        let Payload::ReadPropertyAck { values, .. } = r.payload else {
            panic!()
        };
        assert_eq!(values.len(), 2);
        assert!(matches!(values[0], Value::Other { tag: 13, .. }));
        // Unknown tags between RPM results are skipped with a warning.
        let r = parse_reply(&unicast(&hx(
            "30 05 0e 0c 02 00 04 d2 1e 69 01 29 78 4e 21 07 4f 1f",
        )))
        .unwrap();
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn deep_nesting_is_capped() {
        let mut value = vec![0x0E; MAX_DEPTH + 4];
        value.extend(vec![0x0F; MAX_DEPTH + 4]);
        let r = parse_reply(&rp_ack(1, 121, &value));
        assert_eq!(r, Err(ParseError::TooDeep));
    }

    #[test]
    fn tag_count_is_capped() {
        let value = vec![0x00; MAX_TAGS + 10]; // NULLs
        let mut apdu = vec![0x30, 1, 0x0C, 0x0C, 0x02, 0x00, 0x04, 0xD2, 0x19, 121, 0x3E];
        apdu.extend_from_slice(&value);
        apdu.push(0x3F);
        assert_eq!(parse_reply(&unicast(&apdu)), Err(ParseError::TooManyTags));
    }

    #[test]
    fn wrong_value_types_warn() {
        let mut d = BacnetDetails::default();
        d.absorb(&parse_reply(&rp_ack(1, 121, &hx("21 05"))).unwrap());
        d.absorb(&parse_reply(&rp_ack(1, 120, &char_string("x"))).unwrap());
        assert_eq!(d.vendor_name, None);
        assert_eq!(d.vendor_id, None);
        assert_eq!(d.warnings.len(), 2);
    }

    #[test]
    fn details_schema_exists() {
        let schema = schemars::schema_for!(BacnetDetails);
        assert!(serde_json::to_string(&schema)
            .unwrap()
            .contains("device_instance"));
    }

    fn valid_replies() -> Vec<Vec<u8>> {
        let mut rpm = hx("30 05 0e 0c 02 00 04 d2 1e 29 79 4e");
        rpm.extend_from_slice(&char_string("Acme"));
        rpm.extend_from_slice(&hx("4f 29 1c 5e 91 02 91 20 5f 1f"));
        vec![
            rp_ack(7, 75, &hx("c4 02 00 04 d2")),
            rp_ack(1, 121, &char_string("Acme Controls")),
            unicast(&rpm),
            unicast(&hx("10 00 c4 02 00 04 d2 22 05 c4 91 03 22 01 04")),
            unicast(&hx("50 07 0c 91 01 91 1f")),
            unicast(&hx("71 07 04")),
            hx("81 04 00 14 c0 a8 01 0a ba c0 01 08 00 05 01 21 60 01 00 00"),
        ]
    }

    fn check(buf: &[u8]) {
        if let Ok(reply) = parse_reply(buf) {
            let mut d = BacnetDetails::default();
            d.absorb(&reply);
            let _ = serde_json::to_string(&d).unwrap();
        }
    }

    #[test]
    fn valid_replies_parse() {
        for buf in valid_replies() {
            assert!(parse_reply(&buf).is_ok(), "{buf:02x?}");
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            check(&data);
        }

        #[test]
        fn random_apdus_never_panic(apdu in proptest::collection::vec(any::<u8>(), 0..300)) {
            check(&unicast(&apdu));
        }

        #[test]
        fn mutated_valid_replies_never_panic(
            which in 0usize..7,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let mut buf = valid_replies().swap_remove(which);
            for (at, value) in edits {
                let i = at.index(buf.len());
                buf[i] = value;
            }
            if truncate {
                buf.truncate(cut.index(buf.len() + 1));
            }
            check(&buf);
        }

        #[test]
        fn encoders_are_well_framed(invoke in any::<u8>(), instance in 0u32..=MAX_INSTANCE, which in 0usize..9) {
            let dev = DeviceInstance::new(instance).unwrap();
            for buf in [
                encode_read_property(invoke, dev, PropertyId::ALL[which]),
                encode_read_property_multiple(invoke, dev, &PropertyId::ALL[..=which]),
                encode_who_is(InstanceRange::new(dev, DeviceInstance::WILDCARD)),
            ] {
                prop_assert_eq!(usize::from(u16::from_be_bytes([buf[2], buf[3]])), buf.len());
            }
        }
    }
}
