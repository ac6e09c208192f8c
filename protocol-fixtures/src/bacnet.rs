//! A simulated BACnet/IP device on UDP: the Device object's identity properties through
//! ReadProperty and ReadPropertyMultiple, and Who-Is answered by a unicast I-Am. Nothing is
//! writable: WriteProperty gets Error property/write-access-denied and every other confirmed
//! service a Reject (unrecognized-service), so nothing a scanner sends changes any state.
//!
//! The encoder and decoder here are written from ASHRAE 135 (BVLL Annex J, NPDU clause 6, APDU
//! clause 20), independently of the scanner's codec, so each checks the other.
//!
//! What the device does, and real ones too:
//! - a confirmed request for the wildcard Device instance 4194303 is served as a request for the
//!   device's own instance, unless the device refuses the wildcard (old stacks): then Error
//!   object/unknown-object, while its real instance and Who-Is still work;
//! - a property the device does not have gets Error property/unknown-property from
//!   ReadProperty, and a property access error inside a ReadPropertyMultiple ACK;
//! - an answer longer than the smaller of the device's max APDU and the one the request accepts
//!   gets Abort segmentation-not-supported: the device never segments;
//! - a device behind a BBMD answers in Forwarded-NPDUs, one behind a router with an NPDU source
//!   network and address;
//! - a segmented request gets Abort segmentation-not-supported, a datagram that is not a
//!   well-formed BVLC/NPDU (wrong BVLC length, a network-layer message) gets nothing.
//!
//! Every received datagram is recorded with the label [`PROTOCOL`].

use std::{
    io,
    net::{SocketAddr, SocketAddrV4},
};

use crate::{
    device::{bind_udp, serve_datagrams, DeviceHandle, Scope},
    recorder::Recorder,
};

/// The registered BACnet/IP port (UDP), 0xBAC0.
pub const PORT: u16 = 47808;

/// The label BACnet datagrams carry in [`crate::RecordedFrame::protocol`].
pub const PROTOCOL: &str = "bacnet";

/// The Device instance that means "whichever device receives this".
pub const WILDCARD_INSTANCE: u32 = 0x3F_FFFF;

/// The Device object type.
pub const OBJECT_DEVICE: u16 = 8;

/// The BACnet protocol version the device reports (property 98).
pub const PROTOCOL_VERSION: u8 = 1;
/// The BACnet protocol revision the device reports (property 139): 135-2012.
pub const PROTOCOL_REVISION: u8 = 14;

/// BVLC (Annex J) constants.
pub mod bvlc {
    /// The BVLC type of BACnet/IP.
    pub const TYPE: u8 = 0x81;
    /// BVLC-Result.
    pub const RESULT: u8 = 0x00;
    /// Forwarded-NPDU: six bytes of originating B/IP address, then the NPDU.
    pub const FORWARDED_NPDU: u8 = 0x04;
    /// Original-Unicast-NPDU.
    pub const ORIGINAL_UNICAST_NPDU: u8 = 0x0A;
    /// Original-Broadcast-NPDU.
    pub const ORIGINAL_BROADCAST_NPDU: u8 = 0x0B;
}

/// APDU types (the high nibble of the first APDU byte).
pub mod pdu_type {
    /// BACnet-Confirmed-Request-PDU.
    pub const CONFIRMED_REQUEST: u8 = 0;
    /// BACnet-Unconfirmed-Request-PDU.
    pub const UNCONFIRMED_REQUEST: u8 = 1;
    /// BACnet-SimpleACK-PDU.
    pub const SIMPLE_ACK: u8 = 2;
    /// BACnet-ComplexACK-PDU.
    pub const COMPLEX_ACK: u8 = 3;
    /// BACnet-Error-PDU.
    pub const ERROR: u8 = 5;
    /// BACnet-Reject-PDU.
    pub const REJECT: u8 = 6;
    /// BACnet-Abort-PDU.
    pub const ABORT: u8 = 7;
}

/// Service choices.
pub mod service {
    /// ReadProperty (confirmed).
    pub const READ_PROPERTY: u8 = 0x0C;
    /// ReadPropertyMultiple (confirmed).
    pub const READ_PROPERTY_MULTIPLE: u8 = 0x0E;
    /// WriteProperty (confirmed): always refused.
    pub const WRITE_PROPERTY: u8 = 0x0F;
    /// I-Am (unconfirmed).
    pub const I_AM: u8 = 0x00;
    /// Who-Is (unconfirmed).
    pub const WHO_IS: u8 = 0x08;
}

/// Property identifiers of the Device object the device serves.
pub mod property {
    /// application-software-version.
    pub const APPLICATION_SOFTWARE_VERSION: u32 = 12;
    /// description.
    pub const DESCRIPTION: u32 = 28;
    /// firmware-revision.
    pub const FIRMWARE_REVISION: u32 = 44;
    /// location.
    pub const LOCATION: u32 = 58;
    /// max-apdu-length-accepted.
    pub const MAX_APDU_LENGTH_ACCEPTED: u32 = 62;
    /// model-name.
    pub const MODEL_NAME: u32 = 70;
    /// object-identifier.
    pub const OBJECT_IDENTIFIER: u32 = 75;
    /// object-name.
    pub const OBJECT_NAME: u32 = 77;
    /// object-type.
    pub const OBJECT_TYPE: u32 = 79;
    /// protocol-version.
    pub const PROTOCOL_VERSION: u32 = 98;
    /// segmentation-supported.
    pub const SEGMENTATION_SUPPORTED: u32 = 107;
    /// vendor-identifier.
    pub const VENDOR_IDENTIFIER: u32 = 120;
    /// vendor-name.
    pub const VENDOR_NAME: u32 = 121;
    /// protocol-revision.
    pub const PROTOCOL_REVISION: u32 = 139;
    /// The special property "all" of ReadPropertyMultiple: every property the device has.
    pub const ALL: u32 = 8;
}

/// Error classes.
pub mod error_class {
    /// device.
    pub const DEVICE: u16 = 0;
    /// object.
    pub const OBJECT: u16 = 1;
    /// property.
    pub const PROPERTY: u16 = 2;
    /// services.
    pub const SERVICES: u16 = 5;
}

/// Error codes.
pub mod error_code {
    /// operational-problem.
    pub const OPERATIONAL_PROBLEM: u16 = 25;
    /// service-request-denied.
    pub const SERVICE_REQUEST_DENIED: u16 = 29;
    /// unknown-object.
    pub const UNKNOWN_OBJECT: u16 = 31;
    /// unknown-property.
    pub const UNKNOWN_PROPERTY: u16 = 32;
    /// write-access-denied.
    pub const WRITE_ACCESS_DENIED: u16 = 40;
    /// property-is-not-an-array.
    pub const PROPERTY_IS_NOT_AN_ARRAY: u16 = 50;
}

/// Reject reasons.
pub mod reject_reason {
    /// invalid-tag.
    pub const INVALID_TAG: u8 = 4;
    /// missing-required-parameter.
    pub const MISSING_REQUIRED_PARAMETER: u8 = 5;
    /// unrecognized-service.
    pub const UNRECOGNIZED_SERVICE: u8 = 9;
}

/// Abort reasons.
pub mod abort_reason {
    /// other.
    pub const OTHER: u8 = 0;
    /// segmentation-not-supported.
    pub const SEGMENTATION_NOT_SUPPORTED: u8 = 4;
}

/// Values of segmentation-supported.
pub mod segmentation {
    /// segmented-both.
    pub const BOTH: u8 = 0;
    /// segmented-transmit.
    pub const TRANSMIT: u8 = 1;
    /// segmented-receive.
    pub const RECEIVE: u8 = 2;
    /// no-segmentation.
    pub const NONE: u8 = 3;
}

/// Character sets of a CharacterString.
pub mod charset {
    /// ISO 10646 (UTF-8), formerly ANSI X3.4.
    pub const UTF8: u8 = 0;
    /// ISO 8859-1 (Latin-1).
    pub const ISO_8859_1: u8 = 5;
}

/// A CharacterString value: a character set and the bytes as sent, which need not be valid in
/// that character set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacnetString {
    /// The character set byte (see [`charset`]).
    pub charset: u8,
    /// The string's bytes.
    pub bytes: Vec<u8>,
}

impl BacnetString {
    /// A UTF-8 string (character set 0).
    pub fn utf8(text: impl Into<String>) -> Self {
        Self::raw(charset::UTF8, text.into().into_bytes())
    }

    /// An ISO 8859-1 string (character set 5) of these bytes.
    pub fn latin1(bytes: impl Into<Vec<u8>>) -> Self {
        Self::raw(charset::ISO_8859_1, bytes)
    }

    /// Any character set and bytes, e.g. character set 0 with bytes that are not UTF-8.
    pub fn raw(charset: u8, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            charset,
            bytes: bytes.into(),
        }
    }
}

impl From<&str> for BacnetString {
    fn from(text: &str) -> Self {
        Self::utf8(text)
    }
}

impl From<String> for BacnetString {
    fn from(text: String) -> Self {
        Self::utf8(text)
    }
}

/// How a device refuses a confirmed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BacnetRefusal {
    /// A BACnet-Error-PDU with this error class and code.
    Error {
        /// Error class (see [`error_class`]).
        class: u16,
        /// Error code (see [`error_code`]).
        code: u16,
    },
    /// A BACnet-Reject-PDU with this reason (see [`reject_reason`]).
    Reject(u8),
    /// A BACnet-Abort-PDU from the server with this reason (see [`abort_reason`]).
    Abort(u8),
}

/// Where a routed device sits: the NPDU source its replies carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacnetRoute {
    /// The source network number (SNET), 1 to 65534.
    pub network: u16,
    /// The device's MAC address on that network (SADR), e.g. one byte on MS/TP.
    pub address: Vec<u8>,
}

/// Identity and behaviour of a simulated BACnet/IP device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacnetDeviceConfig {
    /// The Device object instance, 0 to 4194302.
    pub instance: u32,
    /// ASHRAE vendor identifier (5 Johnson Controls, 7 Siemens Building Technologies, 8 Delta
    /// Controls, 24 Automated Logic, ...).
    pub vendor_id: u16,
    /// vendor-name; `None` leaves the property out (unknown-property).
    pub vendor_name: Option<BacnetString>,
    /// model-name.
    pub model_name: Option<BacnetString>,
    /// firmware-revision.
    pub firmware_revision: Option<BacnetString>,
    /// application-software-version.
    pub application_software_version: Option<BacnetString>,
    /// object-name.
    pub object_name: Option<BacnetString>,
    /// description.
    pub description: Option<BacnetString>,
    /// location.
    pub location: Option<BacnetString>,
    /// max-apdu-length-accepted: also the longest APDU the device sends; a longer answer gets
    /// Abort segmentation-not-supported. 50 is the smallest BACnet allows.
    pub max_apdu: u16,
    /// segmentation-supported (see [`segmentation`]); reported only, the device never segments.
    pub segmentation: u8,
    /// Whether ReadPropertyMultiple is served; otherwise it gets Reject unrecognized-service.
    pub supports_rpm: bool,
    /// Whether the wildcard instance [`WILDCARD_INSTANCE`] names this device; otherwise it gets
    /// Error object/unknown-object.
    pub accepts_wildcard: bool,
    /// Replies as Forwarded-NPDUs from the device's own address, as a device behind a BBMD.
    pub forwarded: bool,
    /// Replies carry this NPDU source, as from a device behind a BACnet router.
    pub route: Option<BacnetRoute>,
    /// Every confirmed request gets this refusal (Who-Is is still answered).
    pub refuse_all: Option<BacnetRefusal>,
}

impl BacnetDeviceConfig {
    /// A well-behaved device: ReadProperty and ReadPropertyMultiple, wildcard accepted, max APDU
    /// 1476, segmentation none, the given vendor name and model name, no other strings.
    pub fn new(
        instance: u32,
        vendor_id: u16,
        vendor_name: impl Into<BacnetString>,
        model_name: impl Into<BacnetString>,
    ) -> Self {
        Self {
            instance,
            vendor_id,
            vendor_name: Some(vendor_name.into()),
            model_name: Some(model_name.into()),
            firmware_revision: None,
            application_software_version: None,
            object_name: None,
            description: None,
            location: None,
            max_apdu: 1476,
            segmentation: segmentation::NONE,
            supports_rpm: true,
            accepts_wildcard: true,
            forwarded: false,
            route: None,
            refuse_all: None,
        }
    }

    /// Sets (or, with `None`, removes) vendor-name.
    #[must_use]
    pub fn with_vendor_name(mut self, value: Option<BacnetString>) -> Self {
        self.vendor_name = value;
        self
    }

    /// Sets (or, with `None`, removes) model-name.
    #[must_use]
    pub fn with_model_name(mut self, value: Option<BacnetString>) -> Self {
        self.model_name = value;
        self
    }

    /// Sets firmware-revision.
    #[must_use]
    pub fn with_firmware_revision(mut self, value: impl Into<BacnetString>) -> Self {
        self.firmware_revision = Some(value.into());
        self
    }

    /// Sets application-software-version.
    #[must_use]
    pub fn with_application_software_version(mut self, value: impl Into<BacnetString>) -> Self {
        self.application_software_version = Some(value.into());
        self
    }

    /// Sets object-name.
    #[must_use]
    pub fn with_object_name(mut self, value: impl Into<BacnetString>) -> Self {
        self.object_name = Some(value.into());
        self
    }

    /// Sets description.
    #[must_use]
    pub fn with_description(mut self, value: impl Into<BacnetString>) -> Self {
        self.description = Some(value.into());
        self
    }

    /// Sets location.
    #[must_use]
    pub fn with_location(mut self, value: impl Into<BacnetString>) -> Self {
        self.location = Some(value.into());
        self
    }

    /// Sets max-apdu-length-accepted, the longest APDU the device sends or takes.
    #[must_use]
    pub fn with_max_apdu(mut self, max_apdu: u16) -> Self {
        self.max_apdu = max_apdu;
        self
    }

    /// Sets segmentation-supported (reported only).
    #[must_use]
    pub fn with_segmentation(mut self, segmentation: u8) -> Self {
        self.segmentation = segmentation;
        self
    }

    /// ReadPropertyMultiple gets Reject unrecognized-service.
    #[must_use]
    pub fn without_rpm(mut self) -> Self {
        self.supports_rpm = false;
        self
    }

    /// The wildcard instance gets Error object/unknown-object.
    #[must_use]
    pub fn refusing_wildcard(mut self) -> Self {
        self.accepts_wildcard = false;
        self
    }

    /// Replies as Forwarded-NPDUs, as a device behind a BBMD.
    #[must_use]
    pub fn forwarded(mut self) -> Self {
        self.forwarded = true;
        self
    }

    /// Replies carry NPDU source `network` and `address`, as a device behind a router.
    #[must_use]
    pub fn routed(mut self, network: u16, address: impl Into<Vec<u8>>) -> Self {
        self.route = Some(BacnetRoute {
            network,
            address: address.into(),
        });
        self
    }

    /// Every confirmed request gets `refusal`.
    #[must_use]
    pub fn refusing_all(mut self, refusal: BacnetRefusal) -> Self {
        self.refuse_all = Some(refusal);
        self
    }

    /// The application-tagged value of a property, or the error reading it gives.
    fn value(&self, id: u32) -> Result<Vec<u8>, (u16, u16)> {
        let string = |s: &Option<BacnetString>| {
            s.as_ref()
                .map(character_string)
                .ok_or((error_class::PROPERTY, error_code::UNKNOWN_PROPERTY))
        };
        match id {
            property::OBJECT_IDENTIFIER => Ok(app_object_id(OBJECT_DEVICE, self.instance)),
            property::OBJECT_TYPE => Ok(app_enumerated(u32::from(OBJECT_DEVICE))),
            property::VENDOR_IDENTIFIER => Ok(app_unsigned(u32::from(self.vendor_id))),
            property::MAX_APDU_LENGTH_ACCEPTED => Ok(app_unsigned(u32::from(self.max_apdu))),
            property::SEGMENTATION_SUPPORTED => Ok(app_enumerated(u32::from(self.segmentation))),
            property::PROTOCOL_VERSION => Ok(app_unsigned(u32::from(PROTOCOL_VERSION))),
            property::PROTOCOL_REVISION => Ok(app_unsigned(u32::from(PROTOCOL_REVISION))),
            property::VENDOR_NAME => string(&self.vendor_name),
            property::MODEL_NAME => string(&self.model_name),
            property::FIRMWARE_REVISION => string(&self.firmware_revision),
            property::APPLICATION_SOFTWARE_VERSION => string(&self.application_software_version),
            property::OBJECT_NAME => string(&self.object_name),
            property::DESCRIPTION => string(&self.description),
            property::LOCATION => string(&self.location),
            _ => Err((error_class::PROPERTY, error_code::UNKNOWN_PROPERTY)),
        }
    }

    /// The properties "all" stands for: those the device has.
    fn all_properties(&self) -> Vec<u32> {
        [
            property::OBJECT_IDENTIFIER,
            property::OBJECT_NAME,
            property::OBJECT_TYPE,
            property::VENDOR_NAME,
            property::VENDOR_IDENTIFIER,
            property::MODEL_NAME,
            property::FIRMWARE_REVISION,
            property::APPLICATION_SOFTWARE_VERSION,
            property::LOCATION,
            property::DESCRIPTION,
            property::PROTOCOL_VERSION,
            property::PROTOCOL_REVISION,
            property::MAX_APDU_LENGTH_ACCEPTED,
            property::SEGMENTATION_SUPPORTED,
        ]
        .into_iter()
        .filter(|id| self.value(*id).is_ok())
        .collect()
    }

    /// Whether an object identifier in a request names this device.
    fn names_me(&self, object: (u16, u32)) -> bool {
        object.0 == OBJECT_DEVICE
            && (object.1 == self.instance || object.1 == WILDCARD_INSTANCE && self.accepts_wildcard)
    }

    /// The whole reply datagram to `datagram`, received by the device at `device`.
    pub(crate) fn reply(&self, datagram: &[u8], device: SocketAddrV4) -> Option<Vec<u8>> {
        let apdu = parse_datagram(datagram)?;
        let reply = match apdu.first()? >> 4 {
            pdu_type::CONFIRMED_REQUEST => self.confirmed(apdu)?,
            pdu_type::UNCONFIRMED_REQUEST => self.unconfirmed(apdu)?,
            _ => return None,
        };
        Some(self.wrap(&reply, device))
    }

    /// The APDU answering a confirmed request.
    fn confirmed(&self, apdu: &[u8]) -> Option<Vec<u8>> {
        let [first, max, invoke, ..] = *apdu else {
            return None;
        };
        if first & 0x08 != 0 {
            // A segmented request: the device cannot reassemble.
            return Some(abort(invoke, abort_reason::SEGMENTATION_NOT_SUPPORTED));
        }
        let service = *apdu.get(3)?;
        let body = &apdu[4..];
        if let Some(refusal) = self.refuse_all {
            return Some(refuse(invoke, service, refusal));
        }
        let ack = match service {
            service::READ_PROPERTY => match parse_read_property(body) {
                Some(request) => self.read_property(invoke, &request),
                None => return Some(reject(invoke, reject_reason::INVALID_TAG)),
            },
            service::READ_PROPERTY_MULTIPLE if self.supports_rpm => {
                match parse_read_property_multiple(body) {
                    Some(request) => self.read_property_multiple(invoke, &request),
                    None => return Some(reject(invoke, reject_reason::INVALID_TAG)),
                }
            }
            service::WRITE_PROPERTY => error(
                invoke,
                service,
                error_class::PROPERTY,
                error_code::WRITE_ACCESS_DENIED,
            ),
            _ => reject(invoke, reject_reason::UNRECOGNIZED_SERVICE),
        };
        let limit = usize::from(self.max_apdu).min(max_apdu_accepted(max));
        if ack.len() > limit {
            return Some(abort(invoke, abort_reason::SEGMENTATION_NOT_SUPPORTED));
        }
        Some(ack)
    }

    fn read_property(&self, invoke: u8, request: &PropertyRef) -> Vec<u8> {
        let service = service::READ_PROPERTY;
        if !self.names_me(request.object) {
            return error(
                invoke,
                service,
                error_class::OBJECT,
                error_code::UNKNOWN_OBJECT,
            );
        }
        let value = match (self.value(request.property), request.index) {
            (Ok(_), Some(_)) => Err((error_class::PROPERTY, error_code::PROPERTY_IS_NOT_AN_ARRAY)),
            (value, _) => value,
        };
        match value {
            Err((class, code)) => error(invoke, service, class, code),
            Ok(value) => {
                let mut ack = vec![pdu_type::COMPLEX_ACK << 4, invoke, service];
                ack.extend(context_object_id(0, OBJECT_DEVICE, self.instance));
                ack.extend(context_unsigned(1, request.property));
                ack.push(opening(3));
                ack.extend(value);
                ack.push(closing(3));
                ack
            }
        }
    }

    fn read_property_multiple(&self, invoke: u8, request: &[ObjectRequest]) -> Vec<u8> {
        let service = service::READ_PROPERTY_MULTIPLE;
        if request.iter().all(|o| !self.names_me(o.object)) {
            return error(
                invoke,
                service,
                error_class::OBJECT,
                error_code::UNKNOWN_OBJECT,
            );
        }
        let mut ack = vec![pdu_type::COMPLEX_ACK << 4, invoke, service];
        for object in request {
            let known = self.names_me(object.object);
            // The device's own identifier, also for the wildcard (as most stacks answer).
            let instance = if known {
                self.instance
            } else {
                object.object.1
            };
            ack.extend(context_object_id(0, object.object.0, instance));
            ack.push(opening(1));
            let mut properties = Vec::new();
            for &(id, index) in &object.properties {
                if id == property::ALL && known {
                    properties.extend(self.all_properties().into_iter().map(|p| (p, None)));
                } else {
                    properties.push((id, index));
                }
            }
            for (id, index) in properties {
                ack.extend(context_unsigned(2, id));
                if let Some(index) = index {
                    ack.extend(context_unsigned(3, index));
                }
                let value = if !known {
                    Err((error_class::OBJECT, error_code::UNKNOWN_OBJECT))
                } else {
                    match (self.value(id), index) {
                        (Ok(_), Some(_)) => {
                            Err((error_class::PROPERTY, error_code::PROPERTY_IS_NOT_AN_ARRAY))
                        }
                        (value, _) => value,
                    }
                };
                match value {
                    Ok(value) => {
                        ack.push(opening(4));
                        ack.extend(value);
                        ack.push(closing(4));
                    }
                    Err((class, code)) => {
                        ack.push(opening(5));
                        ack.extend(app_enumerated(u32::from(class)));
                        ack.extend(app_enumerated(u32::from(code)));
                        ack.push(closing(5));
                    }
                }
            }
            ack.push(closing(1));
        }
        ack
    }

    /// The APDU answering an unconfirmed request: an I-Am for a Who-Is in range.
    fn unconfirmed(&self, apdu: &[u8]) -> Option<Vec<u8>> {
        if *apdu.get(1)? != service::WHO_IS {
            return None;
        }
        let (low, high) = parse_who_is(&apdu[2..])?;
        if !(low..=high).contains(&self.instance) {
            return None;
        }
        Some(self.i_am())
    }

    /// An I-Am APDU.
    pub(crate) fn i_am(&self) -> Vec<u8> {
        let mut apdu = vec![pdu_type::UNCONFIRMED_REQUEST << 4, service::I_AM];
        apdu.extend(app_object_id(OBJECT_DEVICE, self.instance));
        apdu.extend(app_unsigned(u32::from(self.max_apdu)));
        apdu.extend(app_enumerated(u32::from(self.segmentation)));
        apdu.extend(app_unsigned(u32::from(self.vendor_id)));
        apdu
    }

    /// NPDU and BVLC around an APDU.
    fn wrap(&self, apdu: &[u8], device: SocketAddrV4) -> Vec<u8> {
        let mut npdu = vec![1];
        match &self.route {
            Some(route) => {
                npdu.push(0x08);
                npdu.extend_from_slice(&route.network.to_be_bytes());
                let address = &route.address[..route.address.len().min(255)];
                npdu.push(address.len() as u8);
                npdu.extend_from_slice(address);
            }
            None => npdu.push(0x00),
        }
        npdu.extend_from_slice(apdu);
        if self.forwarded {
            let mut origin = device.ip().octets().to_vec();
            origin.extend_from_slice(&device.port().to_be_bytes());
            bvll(bvlc::FORWARDED_NPDU, &[&origin, &npdu[..]].concat())
        } else {
            bvll(bvlc::ORIGINAL_UNICAST_NPDU, &npdu)
        }
    }
}

/// A BVLL message: type, function, length (of the whole message), payload.
pub(crate) fn bvll(function: u8, payload: &[u8]) -> Vec<u8> {
    let length = u16::try_from(payload.len() + 4).unwrap_or(u16::MAX);
    let mut out = vec![bvlc::TYPE, function];
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

// ---------------------------------------------------------------------------
// Encoding

/// The bytes of `value` without leading zeros, at least one.
fn minimal(value: u32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
    bytes[skip..].to_vec()
}

/// A tag header: number, class bit and length (extended when over 4).
fn tag(number: u8, context: bool, len: usize) -> Vec<u8> {
    let class = if context { 0x08 } else { 0x00 };
    let mut out = Vec::with_capacity(6);
    if len <= 4 {
        out.push(number << 4 | class | len as u8);
    } else {
        out.push(number << 4 | class | 5);
        if len <= 253 {
            out.push(len as u8);
        } else if len <= 0xFFFF {
            out.push(254);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(255);
            out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
        }
    }
    out
}

fn opening(number: u8) -> u8 {
    number << 4 | 0x0E
}

fn closing(number: u8) -> u8 {
    number << 4 | 0x0F
}

pub(crate) fn object_id(kind: u16, instance: u32) -> [u8; 4] {
    (u32::from(kind) << 22 | instance & 0x3F_FFFF).to_be_bytes()
}

pub(crate) fn app_object_id(kind: u16, instance: u32) -> Vec<u8> {
    [&tag(12, false, 4)[..], &object_id(kind, instance)].concat()
}

fn context_object_id(number: u8, kind: u16, instance: u32) -> Vec<u8> {
    [&tag(number, true, 4)[..], &object_id(kind, instance)].concat()
}

pub(crate) fn app_unsigned(value: u32) -> Vec<u8> {
    let bytes = minimal(value);
    [tag(2, false, bytes.len()), bytes].concat()
}

pub(crate) fn app_enumerated(value: u32) -> Vec<u8> {
    let bytes = minimal(value);
    [tag(9, false, bytes.len()), bytes].concat()
}

pub(crate) fn context_unsigned(number: u8, value: u32) -> Vec<u8> {
    let bytes = minimal(value);
    [tag(number, true, bytes.len()), bytes].concat()
}

pub(crate) fn character_string(s: &BacnetString) -> Vec<u8> {
    let mut out = tag(7, false, s.bytes.len() + 1);
    out.push(s.charset);
    out.extend_from_slice(&s.bytes);
    out
}

fn error(invoke: u8, service: u8, class: u16, code: u16) -> Vec<u8> {
    let mut out = vec![pdu_type::ERROR << 4, invoke, service];
    out.extend(app_enumerated(u32::from(class)));
    out.extend(app_enumerated(u32::from(code)));
    out
}

fn reject(invoke: u8, reason: u8) -> Vec<u8> {
    vec![pdu_type::REJECT << 4, invoke, reason]
}

fn abort(invoke: u8, reason: u8) -> Vec<u8> {
    // The server bit: the abort comes from the device, not the client.
    vec![pdu_type::ABORT << 4 | 0x01, invoke, reason]
}

fn refuse(invoke: u8, service: u8, refusal: BacnetRefusal) -> Vec<u8> {
    match refusal {
        BacnetRefusal::Error { class, code } => error(invoke, service, class, code),
        BacnetRefusal::Reject(reason) => reject(invoke, reason),
        BacnetRefusal::Abort(reason) => abort(invoke, reason),
    }
}

/// The max-APDU-length-accepted code of a confirmed request's second byte, in bytes.
fn max_apdu_accepted(byte: u8) -> usize {
    match byte & 0x0F {
        0 => 50,
        1 => 128,
        2 => 206,
        3 => 480,
        4 => 1024,
        // 5 is 1476; the rest are reserved: take them as the BACnet/IP maximum.
        _ => 1476,
    }
}

// ---------------------------------------------------------------------------
// Decoding

/// The APDU of a BACnet/IP datagram: BVLC with a matching length, an NPDU of version 1 that is
/// not a network-layer message.
pub(crate) fn parse_datagram(datagram: &[u8]) -> Option<&[u8]> {
    let [bvlc::TYPE, function, hi, lo, ..] = *datagram else {
        return None;
    };
    if usize::from(u16::from_be_bytes([hi, lo])) != datagram.len() {
        return None;
    }
    let npdu = match function {
        bvlc::ORIGINAL_UNICAST_NPDU | bvlc::ORIGINAL_BROADCAST_NPDU => &datagram[4..],
        bvlc::FORWARDED_NPDU => datagram.get(10..)?,
        _ => return None,
    };
    let [1, control, ..] = *npdu else {
        return None;
    };
    if control & 0x80 != 0 {
        return None;
    }
    let mut at = 2;
    if control & 0x20 != 0 {
        let len = usize::from(*npdu.get(at + 2)?);
        at += 3 + len;
    }
    if control & 0x08 != 0 {
        let len = usize::from(*npdu.get(at + 2)?);
        at += 3 + len;
    }
    if control & 0x20 != 0 {
        at += 1; // hop count
    }
    npdu.get(at..)
}

/// The invoke id and service choice of a confirmed request datagram.
pub(crate) fn confirmed_request(datagram: &[u8]) -> Option<(u8, u8)> {
    let apdu = parse_datagram(datagram)?;
    if apdu.first()? >> 4 != pdu_type::CONFIRMED_REQUEST || apdu[0] & 0x08 != 0 {
        return None;
    }
    Some((*apdu.get(2)?, *apdu.get(3)?))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind<'a> {
    Data(&'a [u8]),
    Opening,
    Closing,
}

/// One tag at the front of `buf`: number, whether it is context-specific, its kind and the rest.
fn read_tag(buf: &[u8]) -> Option<(u8, bool, TagKind<'_>, &[u8])> {
    let (&first, mut rest) = buf.split_first()?;
    let mut number = first >> 4;
    if number == 0x0F {
        let (&n, r) = rest.split_first()?;
        number = n;
        rest = r;
    }
    let context = first & 0x08 != 0;
    let lvt = first & 0x07;
    if context && lvt == 6 {
        return Some((number, context, TagKind::Opening, rest));
    }
    if context && lvt == 7 {
        return Some((number, context, TagKind::Closing, rest));
    }
    if !context && number == 1 {
        // An application Boolean carries its value in the length field.
        return Some((number, context, TagKind::Data(&[]), rest));
    }
    let len = if lvt < 5 {
        usize::from(lvt)
    } else {
        let (&ext, r) = rest.split_first()?;
        rest = r;
        match ext {
            254 => {
                let b = rest.get(..2)?;
                rest = &rest[2..];
                usize::from(u16::from_be_bytes([b[0], b[1]]))
            }
            255 => {
                let b = rest.get(..4)?;
                rest = &rest[4..];
                usize::try_from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok()?
            }
            n => usize::from(n),
        }
    };
    let data = rest.get(..len)?;
    Some((number, context, TagKind::Data(data), &rest[len..]))
}

fn unsigned(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 4 {
        return None;
    }
    Some(bytes.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b)))
}

/// A context-tagged primitive value with this tag number at the front of `buf`.
fn context_data(buf: &[u8], number: u8) -> Option<(&[u8], &[u8])> {
    match read_tag(buf)? {
        (n, true, TagKind::Data(data), rest) if n == number => Some((data, rest)),
        _ => None,
    }
}

fn context_object(buf: &[u8], number: u8) -> Option<((u16, u32), &[u8])> {
    let (data, rest) = context_data(buf, number)?;
    let raw = u32::from_be_bytes(data.try_into().ok()?);
    Some((((raw >> 22) as u16, raw & 0x3F_FFFF), rest))
}

/// An optional context-tagged unsigned with this tag number.
fn optional_unsigned(buf: &[u8], number: u8) -> Option<(Option<u32>, &[u8])> {
    match context_data(buf, number) {
        Some((data, rest)) => Some((Some(unsigned(data)?), rest)),
        None => Some((None, buf)),
    }
}

/// A ReadProperty request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PropertyRef {
    object: (u16, u32),
    property: u32,
    index: Option<u32>,
}

fn parse_read_property(body: &[u8]) -> Option<PropertyRef> {
    let (object, rest) = context_object(body, 0)?;
    let (property, rest) = context_data(rest, 1)?;
    let (index, rest) = optional_unsigned(rest, 2)?;
    rest.is_empty().then_some(PropertyRef {
        object,
        property: unsigned(property)?,
        index,
    })
}

/// One object of a ReadPropertyMultiple request, with its properties and array indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ObjectRequest {
    object: (u16, u32),
    properties: Vec<(u32, Option<u32>)>,
}

fn parse_read_property_multiple(mut body: &[u8]) -> Option<Vec<ObjectRequest>> {
    let mut objects = Vec::new();
    while !body.is_empty() {
        let (object, rest) = context_object(body, 0)?;
        let (1, true, TagKind::Opening, mut rest) = read_tag(rest)? else {
            return None;
        };
        let mut properties = Vec::new();
        loop {
            if let (1, true, TagKind::Closing, after) = read_tag(rest)? {
                rest = after;
                break;
            }
            let (id, after) = context_data(rest, 0)?;
            let (index, after) = optional_unsigned(after, 1)?;
            properties.push((unsigned(id)?, index));
            rest = after;
        }
        if properties.is_empty() {
            return None;
        }
        objects.push(ObjectRequest { object, properties });
        body = rest;
    }
    (!objects.is_empty()).then_some(objects)
}

/// The instance range of a Who-Is: both limits or neither.
fn parse_who_is(body: &[u8]) -> Option<(u32, u32)> {
    if body.is_empty() {
        return Some((0, WILDCARD_INSTANCE));
    }
    let (low, rest) = context_data(body, 0)?;
    let (high, rest) = context_data(rest, 1)?;
    rest.is_empty().then_some((unsigned(low)?, unsigned(high)?))
}

// ---------------------------------------------------------------------------
// The device

/// A simulated BACnet/IP device.
#[derive(Debug)]
pub struct BacnetDevice;

impl BacnetDevice {
    /// Starts serving `config` on UDP `addr` (IPv4 loopback only; port 0 picks a free port),
    /// recording every received datagram in `recorder` with the label [`PROTOCOL`]. Replies go
    /// to the sender's address and port, I-Am included.
    ///
    /// # Errors
    /// A non-loopback or IPv6 address, or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: BacnetDeviceConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let SocketAddr::V4(_) = addr else {
            // A Forwarded-NPDU can only carry an IPv4 address.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("BACnet/IP fixtures bind only to IPv4, not {addr}"),
            ));
        };
        let socket = bind_udp(addr, Scope::Loopback)?;
        let local_addr = socket.local_addr()?;
        let SocketAddr::V4(device) = local_addr else {
            return Err(io::Error::other("bound an IPv4 address, got IPv6"));
        };
        serve_datagrams(socket, recorder, PROTOCOL, move |request| {
            config.reply(request, device)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const DEVICE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 9), PORT);

    fn config() -> BacnetDeviceConfig {
        BacnetDeviceConfig::new(1234, 5, "Vendor", "Model-1").with_object_name("Dev")
    }

    fn request(apdu: &[u8]) -> Vec<u8> {
        bvll(bvlc::ORIGINAL_UNICAST_NPDU, &[&[1, 4][..], apdu].concat())
    }

    #[test]
    fn tags_round_trip() {
        assert_eq!(tag(7, false, 4), [0x74]);
        assert_eq!(tag(7, false, 5), [0x75, 5]);
        assert_eq!(tag(7, false, 300), [0x75, 254, 0x01, 0x2C]);
        assert_eq!(tag(7, false, 70_000), [0x75, 255, 0, 1, 0x11, 0x70]);
        assert_eq!(app_unsigned(1476), [0x22, 0x05, 0xC4]);
        assert_eq!(app_unsigned(0), [0x21, 0x00]);
        let s = character_string(&BacnetString::utf8("abcdef"));
        assert_eq!(&s[..3], [0x75, 7, 0]);
        let (number, context, kind, rest) = read_tag(&s).unwrap();
        assert_eq!((number, context, rest.len()), (7, false, 0));
        assert_eq!(kind, TagKind::Data(&s[2..]));
        assert_eq!(object_id(8, WILDCARD_INSTANCE), [0x02, 0x3F, 0xFF, 0xFF]);
    }

    #[test]
    fn read_property_and_its_errors() {
        let c = config();
        let rp = |object: [u8; 4], prop: u8| {
            let apdu = [&[0x00, 0x05, 9, 0x0C, 0x0C][..], &object, &[0x19, prop]].concat();
            c.reply(&request(&apdu), DEVICE).unwrap()
        };
        let ack = rp(object_id(8, WILDCARD_INSTANCE), 121);
        assert_eq!(
            &ack[6..],
            [
                &[0x30, 9, 0x0C, 0x0C, 0x02, 0x00, 0x04, 0xD2, 0x19, 121, 0x3E, 0x75, 7, 0][..],
                b"Vendor",
                &[0x3F]
            ]
            .concat()
        );
        let missing = rp(object_id(8, 1234), 28);
        assert_eq!(&missing[6..], [0x50, 9, 0x0C, 0x91, 2, 0x91, 32]);
        let other = rp(object_id(8, 99), 121);
        assert_eq!(&other[6..], [0x50, 9, 0x0C, 0x91, 1, 0x91, 31]);
        let refusing = c.clone().refusing_wildcard();
        let apdu = [
            &[0x00, 0x05, 9, 0x0C, 0x0C][..],
            &object_id(8, WILDCARD_INSTANCE),
            &[0x19, 75],
        ]
        .concat();
        let reply = refusing.reply(&request(&apdu), DEVICE).unwrap();
        assert_eq!(&reply[6..], [0x50, 9, 0x0C, 0x91, 1, 0x91, 31]);
    }

    #[test]
    fn who_is_ranges() {
        let c = config();
        let i_am = c.reply(&request(&[0x10, 0x08]), DEVICE).unwrap();
        assert_eq!(
            &i_am[6..],
            [0x10, 0x00, 0xC4, 0x02, 0x00, 0x04, 0xD2, 0x22, 0x05, 0xC4, 0x91, 3, 0x21, 5]
        );
        let in_range = [0x10, 0x08, 0x0A, 0x04, 0xD2, 0x1A, 0x04, 0xD2];
        assert!(c.reply(&request(&in_range), DEVICE).is_some());
        let out_of_range = [0x10, 0x08, 0x09, 0x01, 0x19, 0x02];
        assert!(c.reply(&request(&out_of_range), DEVICE).is_none());
        let half = [0x10, 0x08, 0x09, 0x01];
        assert!(c.reply(&request(&half), DEVICE).is_none());
    }

    #[test]
    fn bad_bvlc_length_and_network_messages_are_dropped() {
        let c = config();
        let mut bad = request(&[0x10, 0x08]);
        bad[3] += 1;
        assert!(c.reply(&bad, DEVICE).is_none());
        let network = bvll(bvlc::ORIGINAL_UNICAST_NPDU, &[1, 0x80, 0x00]);
        assert!(c.reply(&network, DEVICE).is_none());
    }
}
