//! BACnet/IP codec, sans IO: ANSI/ASHRAE 135 Annex J (BVLC) and clauses 6 (NPDU)
//! and 20 (APDU encoding).
//!
//! Only three requests can be encoded, all read-only: a confirmed ReadProperty
//! (service 0x0C) and ReadPropertyMultiple (0x0E) of the Device object, for a
//! property from the closed [`PropertyId`] set, and an unconfirmed Who-Is (0x08)
//! sent by unicast. Nothing else can be built here.
//!
//! [`parse`] reads one UDP datagram with checked accessors into a [`Reply`] or
//! a [`ParseError`]. Every tag length is checked against the bytes present (the
//! extended length markers 5, 254 and 255 included), nesting is capped at
//! [`MAX_DEPTH`] and the tags read per reply at [`MAX_TAGS`](super::tags::MAX_TAGS); tags otscan has no use
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

use super::tags::{
    object_id, small_unsigned, ObjectId, Reader, TagError, TagKind, Value, MAX_DEPTH, MAX_INSTANCE,
};
use crate::protocols::wire::Truncated;

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
/// Confirmed service choice: ReadProperty.
pub const SERVICE_READ_PROPERTY: u8 = 0x0C;
/// Confirmed service choice: ReadPropertyMultiple.
pub const SERVICE_READ_PROPERTY_MULTIPLE: u8 = 0x0E;
/// Unconfirmed service choice: I-Am.
pub const SERVICE_I_AM: u8 = 0x00;
/// Unconfirmed service choice: Who-Is.
pub const SERVICE_WHO_IS: u8 = 0x08;

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

/// The BACnet requests otscan can send: reads of the Device object's identification
/// properties and a unicast Who-Is. No write, device-control, reinitialize or
/// broadcast can be spelled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Request {
    /// Confirmed ReadProperty of one property of the Device object.
    ReadProperty {
        /// The Device instance, or [`DeviceInstance::WILDCARD`].
        device: DeviceInstance,
        /// The property, from the closed identification set.
        property: PropertyId,
    },
    /// Confirmed ReadPropertyMultiple of Device object properties (an empty list
    /// reads all of [`PropertyId::ALL`]).
    ReadPropertyMultiple {
        /// The Device instance, or [`DeviceInstance::WILDCARD`].
        device: DeviceInstance,
        /// The properties, from the closed identification set.
        properties: Vec<PropertyId>,
    },
    /// Unconfirmed Who-Is, sent by unicast to one device.
    WhoIs {
        /// Optional Device instance range.
        range: Option<InstanceRange>,
    },
}

/// Encodes `request`; the low 8 bits of `correlation` become the invoke id of a
/// confirmed request (a Who-Is carries none).
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    let invoke_id = correlation as u8;
    match request {
        Request::ReadProperty { device, property } => {
            encode_read_property(invoke_id, *device, *property)
        }
        Request::ReadPropertyMultiple { device, properties } => {
            encode_read_property_multiple(invoke_id, *device, properties)
        }
        Request::WhoIs { range } => encode_who_is(*range),
    }
}

// ---------------------------------------------------------------------------
// Encoders

/// Wraps an APDU in an NPDU (no routing) and an Original-Unicast-NPDU BVLC header.
fn wrap_unicast(expecting_reply: bool, apdu: &[u8]) -> Vec<u8> {
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
    wrap_unicast(true, &apdu)
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
    wrap_unicast(true, &apdu)
}

/// Encodes an unconfirmed Who-Is, to be sent by unicast, optionally limited to a
/// Device instance range.
pub fn encode_who_is(range: Option<InstanceRange>) -> Vec<u8> {
    let mut apdu = vec![0x10, SERVICE_WHO_IS];
    if let Some(range) = range {
        context_tag(&mut apdu, 0, &unsigned_bytes(range.low.0));
        context_tag(&mut apdu, 1, &unsigned_bytes(range.high.0));
    }
    wrap_unicast(false, &apdu)
}

// ---------------------------------------------------------------------------
// Replies

/// Why a datagram is not a BACnet/IP reply otscan can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
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
    /// A run of tags that cannot be read (clause 20.2).
    #[error(transparent)]
    Tag(#[from] TagError),
    /// A well-formed answer for another service than the one asked.
    #[error("a reply for service {answered:#04x} to a request for service {asked:#04x}")]
    WrongService {
        /// The service the reply answers.
        answered: u8,
        /// The service asked.
        asked: u8,
    },
}

impl From<Truncated> for ParseError {
    fn from(t: Truncated) -> Self {
        ParseError::Tag(t.into())
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

/// Parses one BACnet/IP datagram.
pub fn parse(buf: &[u8]) -> Result<Reply, ParseError> {
    let warnings = Vec::new();
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
        // The datagram holds more than the BVLC length says. The NPDU and APDU delimit
        // themselves: when what the length covers does not parse, the datagram does.
        return match parse_body(buf, declared, function, Vec::new()) {
            Ok(mut reply) => {
                reply.warnings.insert(
                    0,
                    format!("{} bytes after the BVLC length ignored", buf.len() - declared),
                );
                Ok(reply)
            }
            Err(short) => parse_body(
                buf,
                buf.len(),
                function,
                vec![format!(
                    "BVLC length announces {declared} bytes, the datagram holds {}: the datagram is decoded",
                    buf.len()
                )],
            )
            .map_err(|_| short),
        };
    }
    parse_body(buf, declared, function, warnings)
}

/// The NPDU and APDU of a datagram whose BVLC covers `end` bytes.
fn parse_body(
    buf: &[u8],
    end: usize,
    function: u8,
    mut warnings: Vec<String>,
) -> Result<Reply, ParseError> {
    let body = buf.get(BVLC_HEADER_LEN..end).unwrap_or(&[]);
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
                            return Err(ParseError::Tag(TagError::UnexpectedTag {
                                expected: "opening tag 4 (value) or 5 (error)",
                            }))
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
                    return Err(ParseError::Tag(TagError::UnexpectedTag {
                        expected: "closing tag 1",
                    }))
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
                    return Err(TagError::TooDeep.into());
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

/// Largest datagram accepted: a full 1476-byte APDU with the largest
/// BVLC and NPDU headers is about 1,510 bytes.
pub const MAX_REPLY_LEN: usize = 2048;

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

/// True when `datagram` answers `request` sent with `correlation`: an I-Am for a
/// Who-Is, otherwise an answer carrying the request's invoke id (see
/// [`answers_request`]).
pub fn answers(request: &Request, datagram: &[u8], correlation: u32) -> bool {
    match request {
        Request::WhoIs { .. } => is_i_am(datagram),
        _ => answers_request(datagram, correlation as u8),
    }
}

/// Checks that a parsed reply answers `request`'s service: an ACK or Error for
/// another confirmed service is not an answer (a Reject or Abort names none, and
/// passes).
pub fn check_answers(request: &Request, reply: &Reply) -> Result<(), ParseError> {
    let asked = match request {
        Request::ReadProperty { .. } => SERVICE_READ_PROPERTY,
        Request::ReadPropertyMultiple { .. } => SERVICE_READ_PROPERTY_MULTIPLE,
        Request::WhoIs { .. } => return Ok(()),
    };
    match answered_service(&reply.payload) {
        Some(answered) if answered != asked => Err(ParseError::WrongService { answered, asked }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::details::BacnetDetails;
    use super::super::tags::{BacnetString, ObjectId, TagError, Value, MAX_TAGS};
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

    /// A BVLC length that says less than the datagram (a stack that counts only the
    /// header, or the NPDU): the APDU, which delimits itself, is decoded from the datagram.
    #[test]
    fn a_bvlc_length_that_says_less_is_read_past() {
        let mut datagram = rp_ack(1, 77, &hx("75 05 00 43 61 66 E9"));
        datagram[2..4].copy_from_slice(&8u16.to_be_bytes());
        let reply = parse(&datagram).unwrap();
        assert!(
            matches!(reply.payload, Payload::ReadPropertyAck { .. }),
            "{reply:?}"
        );
        assert!(reply.warnings[0].starts_with("BVLC length announces 8 bytes"));
        // Bytes after a whole reply are still only noted.
        let mut longer = rp_ack(1, 77, &hx("75 05 00 43 61 66 E9"));
        let declared = u16::try_from(longer.len()).unwrap();
        longer.extend_from_slice(&[0xDE, 0xAD]);
        longer[2..4].copy_from_slice(&declared.to_be_bytes());
        let reply = parse(&longer).unwrap();
        assert_eq!(reply.warnings[0], "2 bytes after the BVLC length ignored");
    }

    /// A CharacterString that claims UTF-8 (character set 0) but is Windows-1252: the
    /// value `75 05 00 43 61 66 E9` reads "Café", not "Caf\u{FFFD}", the bytes kept.
    #[test]
    fn charset_0_that_is_not_utf8_reads_as_windows_1252() {
        let reply = parse(&rp_ack(1, 77, &hx("75 05 00 43 61 66 E9"))).unwrap();
        let Payload::ReadPropertyAck { values, .. } = reply.payload else {
            panic!("{reply:?}")
        };
        let [Value::CharacterString(s)] = &values[..] else {
            panic!("{values:?}")
        };
        assert_eq!(s.charset, Some(0));
        assert_eq!(s.text.text, "Café");
        assert_eq!(s.text.hex.as_deref(), Some("436166e9"));
        assert_eq!(s.text.encoding.as_deref(), Some("windows-1252"));
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
        let reply = parse(&rp_ack(7, 75, &hx("c4 02 00 04 d2"))).unwrap();
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
        d.absorb(&parse(&rp_ack(1, 121, &char_string("Acme Controls"))).unwrap());
        d.absorb(&parse(&rp_ack(2, 120, &hx("22 01 04"))).unwrap());
        let long = "x".repeat(300);
        d.absorb(&parse(&rp_ack(3, 28, &char_string(&long))).unwrap());
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
        let reply = parse(&unicast(&apdu)).unwrap();
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
        let reply = parse(&unicast(&apdu)).unwrap();
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
        let reply = parse(&unicast(&apdu)).unwrap();
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
        let err = parse(&unicast(&hx("50 07 0c 91 01 91 1f"))).unwrap();
        assert_eq!(
            err.payload,
            Payload::Error {
                invoke_id: 7,
                service: 0x0C,
                error: Some(ErrorClassCode { class: 1, code: 31 })
            }
        );
        let rej = parse(&unicast(&hx("60 07 09"))).unwrap();
        assert_eq!(
            rej.payload,
            Payload::Reject {
                invoke_id: 7,
                reason: 9
            }
        );
        let abort = parse(&unicast(&hx("71 07 04"))).unwrap();
        assert_eq!(
            abort.payload,
            Payload::Abort {
                invoke_id: 7,
                server: true,
                reason: 4
            }
        );
        let ack = parse(&unicast(&hx("20 07 0f"))).unwrap();
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
        let reply = parse(&buf).unwrap();
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
        let reply = parse(&buf).unwrap();
        let npdu = reply.npdu.unwrap();
        assert_eq!(npdu.hop_count, Some(255));
        assert_eq!(npdu.destination.unwrap().network, 0xFFFF);
    }

    #[test]
    fn bvlc_result_and_network_message() {
        let r = parse(&hx("81 00 00 06 00 30")).unwrap();
        assert_eq!(r.payload, Payload::BvlcResult { code: 0x30 });
        let r = parse(&hx("81 0a 00 07 01 80 03")).unwrap();
        assert_eq!(r.payload, Payload::NetworkMessage { message_type: 3 });
    }

    #[test]
    fn segmented_ack_is_reported() {
        let r = parse(&unicast(&hx("38 01 00 04 0e 0c"))).unwrap();
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
            parse(&[]),
            Err(ParseError::Tag(TagError::Truncated { .. }))
        ));
        assert_eq!(
            parse(&hx("82 0a 00 04")),
            Err(ParseError::NotBacnetIp(0x82))
        );
        assert!(matches!(
            parse(&hx("81 0a 00 ff 01 00")),
            Err(ParseError::LyingLength {
                declared: 255,
                available: 6
            })
        ));
        assert!(matches!(
            parse(&hx("81 0a 00 02")),
            Err(ParseError::LyingLength { .. })
        ));
        assert_eq!(
            parse(&hx("81 05 00 04")),
            Err(ParseError::UnexpectedBvlcFunction(5))
        );
        assert_eq!(
            parse(&hx("81 0a 00 08 02 00 10 00")),
            Err(ParseError::NpduVersion(2))
        );
        // Source present but SADR cut short.
        assert!(matches!(
            parse(&hx("81 0a 00 0a 01 08 00 05 06 21")),
            Err(ParseError::Tag(TagError::Truncated { what: "SADR", .. }))
        ));
        // A confirmed request is not a reply.
        assert_eq!(
            parse(&unicast(&hx("00 05 01 0c"))),
            Err(ParseError::UnexpectedPduType(0))
        );
        assert_eq!(
            parse(&unicast(&hx("10 08"))),
            Err(ParseError::UnexpectedUnconfirmedService(8))
        );
    }

    #[test]
    fn trailing_bytes_warned() {
        let mut buf = unicast(&hx("60 01 00"));
        buf.extend_from_slice(&[0xAA, 0xBB]);
        let r = parse(&buf).unwrap();
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn lying_tag_lengths() {
        // Character string claims 200 bytes (extended length), 3 present.
        let r = parse(&rp_ack(1, 121, &hx("75 c8 00 41 42")));
        assert!(
            matches!(r, Err(ParseError::Tag(TagError::Truncated { .. }))),
            "{r:?}"
        );
        // 254 marker: 0xFFFF bytes claimed.
        let r = parse(&rp_ack(1, 121, &hx("75 fe ff ff 00")));
        assert!(
            matches!(r, Err(ParseError::Tag(TagError::Truncated { .. }))),
            "{r:?}"
        );
        // 255 marker: 4 GiB claimed.
        let r = parse(&rp_ack(1, 121, &hx("75 ff ff ff ff ff 00")));
        assert!(
            matches!(r, Err(ParseError::Tag(TagError::Truncated { .. }))),
            "{r:?}"
        );
        // Extended length cut inside its own marker.
        let r = parse(&unicast(&hx("30 01 0c 0c 02 00 04 d2 19 79 3e 75 ff 00")));
        assert!(
            matches!(r, Err(ParseError::Tag(TagError::Truncated { .. }))),
            "{r:?}"
        );
        // Missing closing tag.
        let r = parse(&unicast(&hx("30 01 0c 0c 02 00 04 d2 19 79 3e 21 01")));
        assert!(
            matches!(r, Err(ParseError::Tag(TagError::Truncated { .. }))),
            "{r:?}"
        );
        // Application tag with length bits 6.
        let r = parse(&rp_ack(1, 121, &hx("76")));
        assert_eq!(r, Err(ParseError::Tag(TagError::InvalidTag(0x76))));
    }

    #[test]
    fn unknown_tags_are_skipped() {
        // Reserved application tag 13 and a context tag
        // inside the value: kept raw, not a failure.
        let r = parse(&rp_ack(1, 121, &hx("d2 aa bb 0a 01 02"))).unwrap();
        let Payload::ReadPropertyAck { values, .. } = r.payload else {
            panic!()
        };
        assert_eq!(values.len(), 2);
        assert!(matches!(values[0], Value::Other { tag: 13, .. }));
        // Unknown tags between RPM results are skipped with a warning.
        let r = parse(&unicast(&hx(
            "30 05 0e 0c 02 00 04 d2 1e 69 01 29 78 4e 21 07 4f 1f",
        )))
        .unwrap();
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn deep_nesting_is_capped() {
        let mut value = vec![0x0E; MAX_DEPTH + 4];
        value.extend(vec![0x0F; MAX_DEPTH + 4]);
        let r = parse(&rp_ack(1, 121, &value));
        assert_eq!(r, Err(ParseError::Tag(TagError::TooDeep)));
    }

    #[test]
    fn tag_count_is_capped() {
        let value = vec![0x00; MAX_TAGS + 10]; // NULLs
        let mut apdu = vec![0x30, 1, 0x0C, 0x0C, 0x02, 0x00, 0x04, 0xD2, 0x19, 121, 0x3E];
        apdu.extend_from_slice(&value);
        apdu.push(0x3F);
        assert_eq!(
            parse(&unicast(&apdu)),
            Err(ParseError::Tag(TagError::TooManyTags))
        );
    }

    #[test]
    fn wrong_value_types_warn() {
        let mut d = BacnetDetails::default();
        d.absorb(&parse(&rp_ack(1, 121, &hx("21 05"))).unwrap());
        d.absorb(&parse(&rp_ack(1, 120, &char_string("x"))).unwrap());
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
        if let Ok(reply) = parse(buf) {
            let mut d = BacnetDetails::default();
            d.absorb(&reply);
            let _ = serde_json::to_string(&d).unwrap();
        }
    }

    #[test]
    fn valid_replies_parse() {
        for buf in valid_replies() {
            assert!(parse(&buf).is_ok(), "{buf:02x?}");
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
