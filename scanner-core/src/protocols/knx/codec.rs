//! KNXnet/IP codec, sans IO: the closed [`Request`] set (DESCRIPTION_REQUEST only),
//! [`encode`], UDP matching ([`answers`]) and [`parse`] (a DESCRIPTION_RESPONSE).
//!
//! Wire facts (KNX Standard 03.08.02 "Core", sections 5 and 7.7; checked against
//! Wireshark's `knxip` dissector and against the bytes Debian's knxd 0.14 sends):
//!
//! - Header, 6 bytes: header length 0x06, protocol version 0x10, service type u16 BE,
//!   total length u16 BE (header included).
//! - DESCRIPTION_REQUEST (0x0203) carries one HPAI, the control endpoint the answer goes
//!   to: structure length 8, host protocol 0x01 (IPv4 UDP), IPv4 address, port u16 BE.
//!   otscan sends the "route back" HPAI 0.0.0.0:0, which tells the server to answer to
//!   the datagram's source address and port (the NAT support of the Core
//!   specification; knxd honours it, see the interop test). A gateway whose firmware
//!   predates route-back answers to 0.0.0.0 instead, and is seen as silent (a timeout).
//! - DESCRIPTION_RESPONSE (0x0204) carries description information blocks (DIBs), each
//!   `length u8, type u8, data` with the length counting itself:
//!   - 0x01 device information, 54 bytes: KNX medium u8, device status u8 (bit 0:
//!     programming mode), KNX individual address u16 (area 4 bits, line 4 bits, device
//!     8 bits), project-installation id u16, serial number 6 bytes (its first two bytes
//!     are the KNX manufacturer code), routing multicast address 4 bytes, MAC 6 bytes,
//!     friendly name 30 bytes (ISO 8859-1, NUL padded);
//!   - 0x02 supported service families: pairs family id u8, version u8;
//!   - 0xFE manufacturer data: KNX manufacturer id u16, then the manufacturer's bytes;
//!   - others (IP config 0x03, current IP config 0x04, KNX addresses 0x05, secured
//!     service families 0x06, tunnelling info 0x07, extended device info 0x08) are
//!     recorded by type and length only.
//!
//! Only DESCRIPTION_REQUEST can be spelled: KNXnet/IP carries CONNECT_REQUEST (0x0205),
//! TUNNELLING_REQUEST (0x0420, which reaches the KNX bus) and device management
//! (0x0310) on the same port, so [`encode`] writes constant bytes and nothing in
//! [`Request`] can change them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::protocols::wire::{Cursor, Truncated};
use crate::record::fields::DeviceText;

/// Length of the KNXnet/IP header.
pub const HEADER_LEN: usize = 6;
/// KNXnet/IP protocol version 1.0.
pub const VERSION_10: u8 = 0x10;
/// Service type of DESCRIPTION_REQUEST.
pub const DESCRIPTION_REQUEST: u16 = 0x0203;
/// Service type of DESCRIPTION_RESPONSE.
pub const DESCRIPTION_RESPONSE: u16 = 0x0204;
/// Length of an IPv4 UDP HPAI.
pub const HPAI_LEN: u8 = 8;
/// Host protocol code of IPv4 over UDP.
pub const IPV4_UDP: u8 = 0x01;
/// DIB type of the device information block.
pub const DIB_DEVICE_INFO: u8 = 0x01;
/// DIB type of the supported service families block.
pub const DIB_SUPP_SVC_FAMILIES: u8 = 0x02;
/// DIB type of the manufacturer data block.
pub const DIB_MFR_DATA: u8 = 0xFE;
/// Length of the device information DIB, its length and type bytes included.
pub const DEVICE_INFO_LEN: usize = 54;
/// Length of the friendly name field.
pub const FRIENDLY_NAME_LEN: usize = 30;
/// Largest reply read, in bytes: a description response holds a few DIBs of at most
/// 255 bytes each; real ones are 60-200 bytes.
pub const MAX_REPLY_LEN: usize = 2048;
/// Most DIBs decoded from one reply; more are a warning.
pub const MAX_DIBS: usize = 16;

/// The requests otscan can send: a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// DESCRIPTION_REQUEST (0x0203) with the route-back HPAI 0.0.0.0:0.
    Description,
}

impl Request {
    /// Every request of the closed set.
    pub const ALL: [Request; 1] = [Request::Description];
}

/// Encodes `request`. KNXnet/IP's description service carries no correlation: the
/// argument is unused, and [`answers`] matches any DESCRIPTION_RESPONSE.
pub fn encode(request: &Request, _correlation: u32) -> Vec<u8> {
    match request {
        Request::Description => {
            let total = (HEADER_LEN + usize::from(HPAI_LEN)) as u16;
            let mut out = Vec::with_capacity(usize::from(total));
            out.extend_from_slice(&[HEADER_LEN as u8, VERSION_10]);
            out.extend_from_slice(&DESCRIPTION_REQUEST.to_be_bytes());
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(&[HPAI_LEN, IPV4_UDP, 0, 0, 0, 0, 0, 0]);
            out
        }
    }
}

/// Whether `datagram` may answer the description request: a KNXnet/IP header (length
/// 6, version 1.0) of any service but DESCRIPTION_REQUEST itself (an echo of ours is
/// skipped). Other services are answers that [`parse`] refuses, so a device that
/// speaks KNXnet/IP but answers oddly is told apart from silence.
pub fn answers(_request: &Request, datagram: &[u8], _correlation: u32) -> bool {
    match datagram {
        [6, VERSION_10, hi, lo, _, _, ..] => u16::from_be_bytes([*hi, *lo]) != DESCRIPTION_REQUEST,
        _ => false,
    }
}

/// Why a reply cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than a structure needs.
    #[error("reply truncated: {what} needs {needed} bytes, {available} present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// A header length other than 6.
    #[error("KNXnet/IP header length {0}, not 6")]
    HeaderLength(u8),
    /// A protocol version other than 1.0.
    #[error("KNXnet/IP version {0:#04x}, not 0x10")]
    Version(u8),
    /// Another service than DESCRIPTION_RESPONSE.
    #[error("service type {0:#06x} ({name}), not DESCRIPTION_RESPONSE (0x0204)", name = service_name(*.0))]
    WrongService(u16),
    /// A total length shorter than the header.
    #[error("total length {0} is shorter than the 6-byte header")]
    TotalLength(u16),
    /// A DIB length below the 2 bytes of its length and type.
    #[error("DIB of type {dib_type:#04x} has length {len}, below 2")]
    DibLength {
        /// DIB type.
        dib_type: u8,
        /// Its length byte.
        len: u8,
    },
    /// A device information DIB shorter than 54 bytes.
    #[error("device information DIB has length {0}, not 54")]
    DeviceInfoLength(u8),
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

/// Name of a KNXnet/IP service type (Core 8.6.1 and the other parts' service lists).
pub fn service_name(service: u16) -> &'static str {
    match service {
        0x0201 => "SEARCH_REQUEST",
        0x0202 => "SEARCH_RESPONSE",
        0x0203 => "DESCRIPTION_REQUEST",
        0x0204 => "DESCRIPTION_RESPONSE",
        0x0205 => "CONNECT_REQUEST",
        0x0206 => "CONNECT_RESPONSE",
        0x0207 => "CONNECTIONSTATE_REQUEST",
        0x0208 => "CONNECTIONSTATE_RESPONSE",
        0x0209 => "DISCONNECT_REQUEST",
        0x020A => "DISCONNECT_RESPONSE",
        0x020B => "SEARCH_REQUEST_EXT",
        0x020C => "SEARCH_RESPONSE_EXT",
        0x0310 => "DEVICE_CONFIGURATION_REQUEST",
        0x0311 => "DEVICE_CONFIGURATION_ACK",
        0x0420 => "TUNNELLING_REQUEST",
        0x0421 => "TUNNELLING_ACK",
        0x0530 => "ROUTING_INDICATION",
        0x0531 => "ROUTING_LOST_MESSAGE",
        0x0532 => "ROUTING_BUSY",
        0x0950 => "SECURE_WRAPPER",
        _ => "unknown service",
    }
}

/// Name of a KNX medium code (Core 7.5.4.1).
pub fn medium_name(medium: u8) -> &'static str {
    match medium {
        0x01 => "TP0",
        0x02 => "TP1",
        0x04 => "PL110",
        0x08 => "PL132",
        0x10 => "RF",
        0x20 => "KNX IP",
        _ => "unknown medium",
    }
}

/// Name of a KNXnet/IP service family id (Core 7.5.4.3).
pub fn service_family_name(family: u8) -> &'static str {
    match family {
        0x02 => "Core",
        0x03 => "Device Management",
        0x04 => "Tunnelling",
        0x05 => "Routing",
        0x06 => "Remote Logging",
        0x07 => "Remote Configuration and Diagnosis",
        0x08 => "Object Server",
        0x09 => "Security",
        _ => "unknown service family",
    }
}

/// Name of a DIB type (Core 7.5.4 and its later additions).
pub fn dib_type_name(dib_type: u8) -> &'static str {
    match dib_type {
        0x01 => "device information",
        0x02 => "supported service families",
        0x03 => "IP config",
        0x04 => "current IP config",
        0x05 => "KNX addresses",
        0x06 => "secured service families",
        0x07 => "tunnelling info",
        0x08 => "extended device information",
        0xFE => "manufacturer data",
        _ => "unknown DIB",
    }
}

/// A KNX individual address (area.line.device).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IndividualAddress(pub u16);

impl std::fmt::Display for IndividualAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = self.0;
        write!(f, "{}.{}.{}", a >> 12, (a >> 8) & 0x0F, a & 0xFF)
    }
}

/// The device information DIB, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// KNX medium code ([`medium_name`]).
    pub medium: u8,
    /// Device status byte (bit 0: programming mode).
    pub device_status: u8,
    /// KNX individual address.
    pub individual_address: IndividualAddress,
    /// Project-installation identifier.
    pub project_installation_id: u16,
    /// KNX serial number (first two bytes: the KNX manufacturer code).
    pub serial_number: [u8; 6],
    /// Routing multicast address (0.0.0.0 on a device that does not route).
    pub multicast_address: [u8; 4],
    /// MAC address of the KNXnet/IP interface.
    pub mac: [u8; 6],
    /// Friendly name, the 30 bytes as sent (NUL padded).
    pub friendly_name: [u8; FRIENDLY_NAME_LEN],
}

impl DeviceInfo {
    /// Whether the device is in programming mode (device status bit 0).
    pub fn programming_mode(&self) -> bool {
        self.device_status & 0x01 != 0
    }

    /// The friendly name up to its first NUL, as device text.
    pub fn friendly_name_text(&self) -> DeviceText {
        let end = self
            .friendly_name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(FRIENDLY_NAME_LEN);
        DeviceText::from_bytes(&self.friendly_name[..end])
    }
}

/// A DIB otscan does not decode: its type and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtherDib {
    /// DIB type.
    pub dib_type: u8,
    /// DIB length, its length and type bytes included.
    pub len: u8,
}

/// The manufacturer data DIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManufacturerData {
    /// KNX manufacturer id.
    pub manufacturer_id: u16,
    /// The bytes after the id, as sent.
    pub data: Vec<u8>,
}

/// A decoded DESCRIPTION_RESPONSE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// The device information DIB (absent only in a reply that breaks the standard).
    pub device_info: Option<DeviceInfo>,
    /// Supported service families: (family id, version) pairs in the order sent.
    pub service_families: Option<Vec<(u8, u8)>>,
    /// The manufacturer data DIB, when sent.
    pub manufacturer_data: Option<ManufacturerData>,
    /// DIBs of other types.
    pub other_dibs: Vec<OtherDib>,
    /// Oddities that did not stop decoding.
    pub warnings: Vec<String>,
}

/// Decodes a DESCRIPTION_RESPONSE datagram.
///
/// # Errors
/// A header that is not KNXnet/IP 1.0's, another service, a total length or DIB length
/// that points past the datagram or below its own header, a short device information
/// DIB.
pub fn parse(buf: &[u8]) -> Result<Reply, ParseError> {
    let mut c = Cursor::new(buf);
    let header_len = c.u8("header length")?;
    if usize::from(header_len) != HEADER_LEN {
        return Err(ParseError::HeaderLength(header_len));
    }
    let version = c.u8("protocol version")?;
    if version != VERSION_10 {
        return Err(ParseError::Version(version));
    }
    let service = c.u16_be("service type")?;
    if service != DESCRIPTION_RESPONSE {
        return Err(ParseError::WrongService(service));
    }
    let total = c.u16_be("total length")?;
    if usize::from(total) < HEADER_LEN {
        return Err(ParseError::TotalLength(total));
    }
    let mut reply = Reply::default();
    let body_len = usize::from(total) - HEADER_LEN;
    let body = c.take(body_len, "body (total length)")?;
    if !c.rest().is_empty() {
        reply.warnings.push(format!(
            "{} bytes after the total length {total} ignored",
            c.rest().len()
        ));
    }
    let mut c = Cursor::new(body);
    let mut dibs = 0usize;
    while !c.rest().is_empty() {
        if dibs == MAX_DIBS {
            reply.warnings.push(format!(
                "more than {MAX_DIBS} DIBs: the last {} bytes ignored",
                c.rest().len()
            ));
            break;
        }
        dibs += 1;
        let len = c.u8("DIB length")?;
        let dib_type = c.u8("DIB type")?;
        if len < 2 {
            return Err(ParseError::DibLength { dib_type, len });
        }
        let data = c.take(usize::from(len) - 2, "DIB data")?;
        match dib_type {
            DIB_DEVICE_INFO => {
                if usize::from(len) < DEVICE_INFO_LEN {
                    return Err(ParseError::DeviceInfoLength(len));
                }
                if usize::from(len) > DEVICE_INFO_LEN {
                    reply.warnings.push(format!(
                        "device information DIB has length {len}, not 54: the rest ignored"
                    ));
                }
                let info = device_info(data)?;
                if reply.device_info.is_some() {
                    reply
                        .warnings
                        .push("a second device information DIB ignored".to_owned());
                } else {
                    reply.device_info = Some(info);
                }
            }
            DIB_SUPP_SVC_FAMILIES => {
                if data.len() % 2 != 0 {
                    reply.warnings.push(format!(
                        "supported service families DIB has odd length {len}: the last byte ignored"
                    ));
                }
                let families: Vec<(u8, u8)> = data.chunks_exact(2).map(|p| (p[0], p[1])).collect();
                if reply.service_families.is_some() {
                    reply
                        .warnings
                        .push("a second supported service families DIB ignored".to_owned());
                } else {
                    reply.service_families = Some(families);
                }
            }
            DIB_MFR_DATA => {
                let mut d = Cursor::new(data);
                let manufacturer_id = d.u16_be("manufacturer id")?;
                if reply.manufacturer_data.is_some() {
                    reply
                        .warnings
                        .push("a second manufacturer data DIB ignored".to_owned());
                } else {
                    reply.manufacturer_data = Some(ManufacturerData {
                        manufacturer_id,
                        data: d.rest().to_vec(),
                    });
                }
            }
            _ => reply.other_dibs.push(OtherDib { dib_type, len }),
        }
    }
    if reply.device_info.is_none() {
        reply
            .warnings
            .push("no device information DIB (the standard requires one)".to_owned());
    }
    if reply.service_families.is_none() {
        reply
            .warnings
            .push("no supported service families DIB (the standard requires one)".to_owned());
    }
    Ok(reply)
}

/// The 52 data bytes of a device information DIB.
fn device_info(data: &[u8]) -> Result<DeviceInfo, ParseError> {
    let mut c = Cursor::new(data);
    Ok(DeviceInfo {
        medium: c.u8("KNX medium")?,
        device_status: c.u8("device status")?,
        individual_address: IndividualAddress(c.u16_be("individual address")?),
        project_installation_id: c.u16_be("project-installation id")?,
        serial_number: c.array("serial number")?,
        multicast_address: c.array("routing multicast address")?,
        mac: c.array("MAC address")?,
        friendly_name: c.array("friendly name")?,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocols::wire::hex_bytes;
    use proptest::prelude::*;

    /// knxd 0.14 (Debian 12) started as `knxd -e 1.1.128 -n otscan-knxd -D -T -S -b
    /// dummy:`, answering a route-back DESCRIPTION_REQUEST on loopback (captured here).
    pub(crate) fn knxd() -> Vec<u8> {
        hex_bytes(
            "06100204 0044 3601 02 00 1180 0000 000000000000 e000170c 02fc00000001
             6f747363616e2d6b6e7864 000000000000000000000000000000000000 00
             0802 0201 0301 0401",
        )
    }

    /// A KNX IP router in programming mode: routing and tunnelling families, a
    /// manufacturer data DIB and an IP config DIB (shaped after published ETS captures
    /// of MDT and Siemens routers).
    pub(crate) fn router() -> Vec<u8> {
        let mut b = hex_bytes(
            "06100204 0000 3601 20 01 1100 0001 0083 49 00 1122 e000170c 00 24 6d 01 02 03",
        );
        let mut name = b"IP Router N146".to_vec();
        name.resize(30, 0);
        b.extend_from_slice(&name);
        b.extend(hex_bytes("0a02 0202 0302 0402 0502"));
        b.extend(hex_bytes("1003 c0a80102 ffffff00 c0a80101 07 04"));
        b.extend(hex_bytes("08fe 0083 01 02 03 04"));
        let total = b.len() as u16;
        b[4..6].copy_from_slice(&total.to_be_bytes());
        b
    }

    #[test]
    fn the_request_is_the_route_back_description_request() {
        assert_eq!(
            encode(&Request::Description, 7),
            hex_bytes("06 10 02 03 00 0e 08 01 00 00 00 00 00 00")
        );
    }

    #[test]
    fn knxd_reply_decodes() {
        let reply = parse(&knxd()).unwrap();
        let info = reply.device_info.unwrap();
        assert_eq!(medium_name(info.medium), "TP1");
        assert!(!info.programming_mode());
        assert_eq!(info.individual_address.to_string(), "1.1.128");
        assert_eq!(info.multicast_address, [224, 0, 23, 12]);
        assert_eq!(info.friendly_name_text().text, "otscan-knxd");
        assert_eq!(reply.service_families, Some(vec![(2, 1), (3, 1), (4, 1)]));
        assert!(reply.warnings.is_empty(), "{:?}", reply.warnings);
    }

    #[test]
    fn router_reply_decodes_every_dib() {
        let reply = parse(&router()).unwrap();
        let info = reply.device_info.unwrap();
        assert_eq!(medium_name(info.medium), "KNX IP");
        assert!(info.programming_mode());
        assert_eq!(info.individual_address.to_string(), "1.1.0");
        assert_eq!(info.project_installation_id, 1);
        assert_eq!(info.serial_number, [0x00, 0x83, 0x49, 0x00, 0x11, 0x22]);
        assert_eq!(info.mac, [0x00, 0x24, 0x6d, 0x01, 0x02, 0x03]);
        assert_eq!(info.friendly_name_text().text, "IP Router N146");
        assert_eq!(reply.service_families.unwrap().len(), 4);
        assert_eq!(
            reply.manufacturer_data,
            Some(ManufacturerData {
                manufacturer_id: 0x0083,
                data: vec![1, 2, 3, 4]
            })
        );
        assert_eq!(
            reply.other_dibs,
            vec![OtherDib {
                dib_type: 3,
                len: 16
            }]
        );
    }

    #[test]
    fn answers_skips_echoes_and_non_knx() {
        let r = Request::Description;
        assert!(answers(&r, &knxd(), 1));
        assert!(!answers(&r, &encode(&r, 1), 1));
        assert!(!answers(&r, b"\x06\x10\x02", 1));
        assert!(!answers(&r, b"garbage datagram", 1));
        // A CONNECT_RESPONSE answers, and parse refuses it.
        let connect = hex_bytes("06 10 02 06 00 08 00 22");
        assert!(answers(&r, &connect, 1));
        assert_eq!(parse(&connect), Err(ParseError::WrongService(0x0206)));
    }

    #[test]
    fn hostile_shapes_are_typed_errors() {
        let mut b = knxd();
        b[4..6].copy_from_slice(&0x0100u16.to_be_bytes());
        assert!(matches!(parse(&b), Err(ParseError::Truncated { .. })));
        let mut b = knxd();
        b[4..6].copy_from_slice(&3u16.to_be_bytes());
        assert_eq!(parse(&b), Err(ParseError::TotalLength(3)));
        let mut b = knxd();
        b[6] = 0x80;
        assert!(matches!(parse(&b), Err(ParseError::Truncated { .. })));
        let mut b = knxd();
        b[6] = 0x10;
        assert!(matches!(parse(&b), Err(ParseError::DeviceInfoLength(0x10))));
        let mut b = knxd();
        b[6] = 0;
        assert!(matches!(
            parse(&b),
            Err(ParseError::DibLength { len: 0, .. })
        ));
        let mut b = knxd();
        b[1] = 0x20;
        assert_eq!(parse(&b), Err(ParseError::Version(0x20)));
        let mut b = knxd();
        b[0] = 8;
        assert_eq!(parse(&b), Err(ParseError::HeaderLength(8)));
        assert!(matches!(parse(&[]), Err(ParseError::Truncated { .. })));
    }

    #[test]
    fn oddities_are_warnings() {
        let mut b = knxd();
        b.extend_from_slice(b"trailer");
        let reply = parse(&b).unwrap();
        assert!(reply.warnings[0].contains("7 bytes after"));
        // Only a header: no DIBs at all.
        let reply = parse(&hex_bytes("06 10 02 04 00 06")).unwrap();
        assert!(reply.device_info.is_none());
        assert_eq!(reply.warnings.len(), 2);
        // Many tiny DIBs stop at the cap.
        let mut b = hex_bytes("06 10 02 04 00 00");
        for _ in 0..40 {
            b.extend_from_slice(&[2, 0x55]);
        }
        let total = b.len() as u16;
        b[4..6].copy_from_slice(&total.to_be_bytes());
        let reply = parse(&b).unwrap();
        assert_eq!(reply.other_dibs.len(), MAX_DIBS);
        assert!(reply.warnings.iter().any(|w| w.contains("more than")));
    }

    fn check_all(buf: &[u8]) {
        let _ = answers(&Request::Description, buf, 0);
        if let Ok(reply) = parse(buf) {
            let mut details = super::super::details::KnxDetails::default();
            details.apply(&reply);
            let _ = super::super::details::identity_fields(&details);
            serde_json::to_string(&details).unwrap();
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            check_all(&buf);
            let mut knx = hex_bytes("06 10 02 04");
            knx.extend_from_slice(&buf);
            check_all(&knx);
        }

        #[test]
        fn mutated_replies_never_panic(
            edits in proptest::collection::vec((0usize..130, any::<u8>()), 0..8),
            cut in 0usize..=130,
        ) {
            let mut b = router();
            for (i, v) in edits {
                if i < b.len() {
                    b[i] = v;
                }
            }
            b.truncate(cut.min(b.len()));
            check_all(&b);
        }
    }
}
