//! CODESYS V3 NameService codec, sans IO: the closed [`Request`] set (the NameService
//! resolve-address request only), [`encode`], UDP matching ([`answers`]) and [`parse`]
//! (the identification reply).
//!
//! The vendor publishes no specification. Wire facts, each from two public sources that
//! agree (facts only, no code taken):
//! Rapid7's nmap library `codesys3.lua` and script `codesys-plc-info.nse` (A. Galauner,
//! 2021; request built and reply parsed against WAGO PFC200 runtimes), Microsoft's
//! ics-forensics-tools `src/forensic/plugins/CodeSysV3/codesysv3_protocol/structures.py`
//! and `protocol.py`, and zgrab2's `modules/codesysv3/codesysv3.go` and `scanner.go` (whose
//! UDP mode also sends from local port 1740 + the port index, and assumes a /24).
//!
//! - Datagram layer (block driver UDP, no framing), big-endian bit fields:
//!   magic `0xC5`; hop info (hop count 5 bits, header length in 16-bit words 3 bits);
//!   packet info (priority 2 bits, signal 1, address type 1, data length 4); service id
//!   (`0x03` NameService request, `0x04` NameService reply, `0x40` channel manager);
//!   message id; address lengths in 16-bit words (sender high nibble, receiver low
//!   nibble); with a header length of 4 words a 16-bit broadcast id follows. Then the
//!   receiver and sender addresses, padded with zeros to a multiple of 4 bytes.
//! - A UDP address is relative: the sender's host bits (its IPv4 address without the
//!   network prefix) with a 2-bit port index above them, in as few 16-bit words as hold
//!   them. The runtime answers to its own network prefix + those host bits, at UDP port
//!   1740 + the port index, never to the request's source port (nmap's script binds
//!   source port 1740 for this reason). otscan always sends port index 0: the two
//!   sources disagree on where a non-zero index goes (above the host bits, or above
//!   the highest set bit of the host part) but agree for index 0.
//! - NameService header, little-endian: package type u16 (`0xC202` resolve address as
//!   request, `0xC280` identification as reply), version u16 (`0x0400`; ics-forensics
//!   also accepts `0x0103`), request id u32 (the reply echoes it: otscan's correlation).
//! - Identification body (40 bytes, little-endian): max channels u16, byte order u8
//!   (1: Intel), one byte (nmap: parent address difference), parent address size u16
//!   (bytes), node name length u16, device name length u16, vendor name length u16 (in
//!   UTF-16 code units, terminator excluded), target type u32, target id u32, target
//!   version u32 (`a.b.c.d` from its high byte down), flags u32, serial number length
//!   u8, OEM data length u8, block driver type u8, 9 reserved bytes. Then the parent
//!   address, node name, device name and vendor name (UTF-16LE, each followed by a
//!   2-byte NUL), serial number (ASCII, then one NUL byte) and the OEM data.
//! - nmap's example reply of a WAGO PFC200: vendor `WAGO`, device name `WAGO 750-8206
//!   PFC200 2ETH RS CAN DPS`, node name `PFC200-438F4C`, target id `0x10061204`, target
//!   type `0x1000`, version `5.15.4.0`.
//! - Target type (CODESYS runtime manual, "Device identification"): `0x1000`
//!   programmable device (PLC), `0x1001` 3S special device (offline visu client),
//!   `0x1002` safety controller, `0x1003` drive, `0x1004` parameterizable device. Target
//!   id: high word the vendor id CODESYS GmbH gives the OEM, low word the OEM's device id.
//!
//! Only the resolve-address request can be spelled: the same port carries the channel
//! manager (service `0x40`, which opens the channels that log in, download and start or
//! stop applications), so [`encode`] writes the service byte and package type as
//! constants and [`Request`] carries nothing but the sender's own relative address.

use crate::protocols::wire::{Cursor, Truncated};
use crate::record::fields::{hex, DeviceText};

/// Datagram layer magic byte.
pub const MAGIC: u8 = 0xC5;
/// Datagram service id of a NameService request.
pub const SERVICE_NAME_REQUEST: u8 = 0x03;
/// Datagram service id of a NameService reply.
pub const SERVICE_NAME_REPLY: u8 = 0x04;
/// NameService package type of the resolve-address request.
pub const PACKAGE_RESOLVE_ADDRESS: u16 = 0xC202;
/// NameService package type of the identification reply.
pub const PACKAGE_IDENTIFICATION: u16 = 0xC280;
/// NameService version 4.00.
pub const VERSION_400: u16 = 0x0400;
/// NameService version 1.03 (accepted by ics-forensics-tools).
pub const VERSION_103: u16 = 0x0103;
/// Hop count otscan sends (nmap's value).
pub const HOP_COUNT: u8 = 15;
/// Priority "normal".
pub const PRIORITY_NORMAL: u8 = 1;
/// Header length otscan sends, in 16-bit words (6 bytes + the broadcast id).
pub const HEADER_WORDS: u8 = 4;
/// The first UDP port of a runtime; a runtime with port index `i` listens on `1740 + i`.
pub const BASE_PORT: u16 = 1740;
/// Length of the fixed part of the identification body.
pub const IDENTIFICATION_BODY_LEN: usize = 40;
/// Largest reply read, in bytes: an identification reply of a real runtime is
/// 150-400 bytes; one that does not fit an Ethernet frame is refused.
pub const MAX_REPLY_LEN: usize = 1472;

/// The sender's relative UDP address: its host bits (IPv4 address without the network
/// prefix) with port index 0, and how many 16-bit words carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SenderAddress {
    host: u32,
    words: u8,
}

impl SenderAddress {
    /// The relative address of `ip` on a network of prefix length `prefix_len` (0-32),
    /// port index 0: `host bits + 2 port-index bits`, rounded up to 16-bit words (nmap's
    /// rule: 1 word for a /24, 2 for a /8 or /16, 3 for a /0 or /1).
    pub fn new(ip: std::net::Ipv4Addr, prefix_len: u8) -> Self {
        let host_bits = 32 - u32::from(prefix_len.min(32));
        let mask = if host_bits == 32 {
            u32::MAX
        } else {
            (1u32 << host_bits) - 1
        };
        SenderAddress {
            host: u32::from(ip) & mask,
            // At most (32 + 2) / 16 rounded up = 3: fits a u8.
            words: (host_bits + 2).div_ceil(16) as u8,
        }
    }

    /// The host bits.
    pub fn host(&self) -> u32 {
        self.host
    }

    /// How many 16-bit words the address takes (1-3).
    pub fn words(&self) -> u8 {
        self.words
    }

    /// The address words, big-endian, most significant first.
    fn bytes(&self) -> Vec<u8> {
        let value = u64::from(self.host);
        (0..self.words)
            .rev()
            .flat_map(|i| ((value >> (16 * u32::from(i))) as u16).to_be_bytes())
            .collect()
    }
}

/// The requests otscan can send: a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// NameService resolve address (package type `0xC202`, version 4.00), unicast to
    /// the runtime, carrying only the sender's relative address (the runtime answers
    /// to that address at UDP port 1740).
    ResolveAddress {
        /// The scanning host's own relative address.
        sender: SenderAddress,
    },
}

/// Encodes `request`. The correlation is the NameService request id (u32 LE) the
/// identification reply echoes; its low 16 bits are also the datagram's broadcast id.
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    match request {
        Request::ResolveAddress { sender } => {
            let mut out = vec![
                MAGIC,
                (HOP_COUNT << 3) | HEADER_WORDS,
                PRIORITY_NORMAL << 6,
                SERVICE_NAME_REQUEST,
                0,
                sender.words << 4,
            ];
            out.extend_from_slice(&(correlation as u16).to_be_bytes());
            out.extend_from_slice(&sender.bytes());
            while out.len() % 4 != 0 {
                out.push(0);
            }
            out.extend_from_slice(&PACKAGE_RESOLVE_ADDRESS.to_le_bytes());
            out.extend_from_slice(&VERSION_400.to_le_bytes());
            out.extend_from_slice(&correlation.to_le_bytes());
            out
        }
    }
}

/// Whether `datagram` answers the request sent with `correlation`: a NameService reply
/// whose request id is the correlation. Anything else (our own request echoed,
/// another request's reply, garbage) is skipped.
pub fn answers(_request: &Request, datagram: &[u8], correlation: u32) -> bool {
    match datagram_layer(datagram) {
        Ok((layer, mut c)) => {
            layer.service == SERVICE_NAME_REPLY
                && c.u16_le("package type").is_ok()
                && c.u16_le("version").is_ok()
                && c.u32_le("request id") == Ok(correlation)
        }
        Err(_) => false,
    }
}

/// Why a reply cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than a field needs (a lying length included).
    #[error("reply truncated: {what} needs {needed} bytes, {available} present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The first byte is not the datagram magic 0xC5.
    #[error("datagram magic {0:#04x}, not 0xc5")]
    Magic(u8),
    /// A header length below the 3 words of the fixed header.
    #[error("datagram header length of {0} words, below 3")]
    HeaderLength(u8),
    /// Another datagram service than the NameService reply.
    #[error("datagram service {0:#04x}, not the NameService reply (0x04)")]
    WrongService(u8),
    /// Another NameService package than the identification.
    #[error("NameService package type {0:#06x}, not identification (0xc280)")]
    WrongPackage(u16),
    /// A NameService version otscan does not read.
    #[error("NameService version {0:#06x}, not 4.00 or 1.03")]
    Version(u16),
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

/// The fixed header of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatagramLayer {
    /// Hop count.
    pub hop_count: u8,
    /// Header length in 16-bit words.
    pub header_words: u8,
    /// Datagram service id.
    pub service: u8,
    /// Sender address length in 16-bit words.
    pub sender_words: u8,
    /// Receiver address length in 16-bit words.
    pub receiver_words: u8,
}

/// Reads the datagram layer; the cursor is left at the NameService header.
fn datagram_layer(datagram: &[u8]) -> Result<(DatagramLayer, Cursor<'_>), ParseError> {
    let mut c = Cursor::new(datagram);
    let magic = c.u8("datagram magic")?;
    if magic != MAGIC {
        return Err(ParseError::Magic(magic));
    }
    let hop = c.u8("hop info")?;
    let _packet_info = c.u8("packet info")?;
    let service = c.u8("service id")?;
    let _message_id = c.u8("message id")?;
    let lengths = c.u8("address lengths")?;
    let layer = DatagramLayer {
        hop_count: hop >> 3,
        header_words: hop & 7,
        service,
        sender_words: lengths >> 4,
        receiver_words: lengths & 0x0F,
    };
    if layer.header_words < 3 {
        return Err(ParseError::HeaderLength(layer.header_words));
    }
    c.take(usize::from(layer.header_words) * 2 - 6, "rest of header")?;
    let addresses = (usize::from(layer.sender_words) + usize::from(layer.receiver_words)) * 2;
    c.take(addresses, "addresses")?;
    let used = datagram.len() - c.len();
    c.take((4 - used % 4) % 4, "address padding")?;
    Ok((layer, c))
}

/// A decoded identification reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The datagram layer.
    pub layer: DatagramLayer,
    /// NameService version (0x0400 or 0x0103).
    pub version: u16,
    /// The request id echoed.
    pub request_id: u32,
    /// The identification itself.
    pub identification: Identification,
    /// Oddities accepted anyway.
    pub warnings: Vec<String>,
}

/// The runtime's identification: what the CODESYS "scan network" dialog shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Identification {
    /// Most communication channels the runtime serves.
    pub max_channels: u16,
    /// Byte order flag (1: Intel/little-endian).
    pub byte_order: u8,
    /// The byte after the byte order (nmap: parent address difference).
    pub parent_address_difference: u8,
    /// Parent (gateway) address bytes.
    pub parent_address: Vec<u8>,
    /// Node name: the name given to this runtime (defaults to a per-device name such as
    /// `PFC200-438F4C`).
    pub node_name: DeviceText,
    /// Device name: the target's product name (e.g. `WAGO 750-8206 PFC200 2ETH RS CAN DPS`).
    pub device_name: DeviceText,
    /// Vendor name (e.g. `WAGO`).
    pub vendor_name: DeviceText,
    /// Target type (0x1000 programmable device, see [`target_type_name`]).
    pub target_type: u32,
    /// Target id: vendor id (high word) and device id (low word).
    pub target_id: u32,
    /// Target version, each byte one part from the high byte down.
    pub target_version: u32,
    /// Flags as sent.
    pub flags: u32,
    /// Block driver type as sent.
    pub block_driver_type: u8,
    /// Serial number (ASCII), empty when the length is 0.
    pub serial_number: DeviceText,
    /// OEM data bytes.
    pub oem_data: Vec<u8>,
}

impl Identification {
    /// The target version as `a.b.c.d`.
    pub fn version_text(&self) -> String {
        let b = self.target_version.to_be_bytes();
        format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
    }
}

/// The name of a CODESYS target type (runtime manual, "Device identification").
pub fn target_type_name(target_type: u32) -> &'static str {
    match target_type {
        0x0000 => "empty slot",
        0x1000 => "programmable device",
        0x1001 => "3S special device",
        0x1002 => "safety controller",
        0x1003 => "drive",
        0x1004 => "parameterizable device",
        _ => "unknown target type",
    }
}

/// UTF-16LE text of `units` code units and its 2-byte terminator.
fn utf16_text(
    c: &mut Cursor<'_>,
    units: u16,
    what: &'static str,
    warnings: &mut Vec<String>,
) -> Result<DeviceText, ParseError> {
    let raw = c.take(usize::from(units) * 2, what)?;
    // The 2-byte NUL; a runtime that leaves it out goes straight on to the next field.
    if c.rest().starts_with(&[0, 0]) {
        c.take(2, what)?;
    } else {
        warnings.push(format!("{what} not followed by a NUL terminator"));
    }
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    Ok(match String::from_utf16(&units) {
        Ok(text) => DeviceText {
            text,
            hex: None,
            encoding: None,
        },
        Err(_) => {
            warnings.push(format!("{what} is not valid UTF-16"));
            DeviceText {
                text: String::from_utf16_lossy(&units),
                hex: Some(hex(raw)),
                encoding: Some("utf-16le".to_owned()),
            }
        }
    })
}

/// Decodes an identification reply (datagram layer, NameService header and body).
pub fn parse(datagram: &[u8]) -> Result<Reply, ParseError> {
    let (layer, mut c) = datagram_layer(datagram)?;
    if layer.service != SERVICE_NAME_REPLY {
        return Err(ParseError::WrongService(layer.service));
    }
    let package = c.u16_le("package type")?;
    if package != PACKAGE_IDENTIFICATION {
        return Err(ParseError::WrongPackage(package));
    }
    let version = c.u16_le("version")?;
    if version != VERSION_400 && version != VERSION_103 {
        return Err(ParseError::Version(version));
    }
    let request_id = c.u32_le("request id")?;
    let mut body = Cursor::new(c.take(IDENTIFICATION_BODY_LEN, "identification body")?);
    let mut warnings = Vec::new();
    let max_channels = body.u16_le("max channels")?;
    let byte_order = body.u8("byte order")?;
    let parent_address_difference = body.u8("parent address difference")?;
    let parent_len = body.u16_le("parent address size")?;
    let node_len = body.u16_le("node name length")?;
    let device_len = body.u16_le("device name length")?;
    let vendor_len = body.u16_le("vendor name length")?;
    let target_type = body.u32_le("target type")?;
    let target_id = body.u32_le("target id")?;
    let target_version = body.u32_le("target version")?;
    let flags = body.u32_le("flags")?;
    let serial_len = body.u8("serial number length")?;
    let oem_len = body.u8("OEM data length")?;
    let block_driver_type = body.u8("block driver type")?;
    if byte_order != 1 {
        warnings.push(format!(
            "byte order flag {byte_order} (not Intel): numbers read little-endian as sent"
        ));
    }
    let parent_address = c.take(usize::from(parent_len), "parent address")?.to_vec();
    let node_name = utf16_text(&mut c, node_len, "node name", &mut warnings)?;
    let device_name = utf16_text(&mut c, device_len, "device name", &mut warnings)?;
    let vendor_name = utf16_text(&mut c, vendor_len, "vendor name", &mut warnings)?;
    let serial_number = if serial_len == 0 {
        DeviceText::from_bytes(&[])
    } else {
        let raw = c.take(usize::from(serial_len), "serial number")?;
        if c.rest().first() == Some(&0) {
            c.take(1, "serial number terminator")?;
        } else {
            warnings.push("serial number not followed by a NUL terminator".to_owned());
        }
        DeviceText::from_bytes(raw)
    };
    let oem_data = c.take(usize::from(oem_len), "OEM data")?.to_vec();
    if c.len() > 0 {
        warnings.push(format!("{} bytes after the identification", c.len()));
    }
    Ok(Reply {
        layer,
        version,
        request_id,
        identification: Identification {
            max_channels,
            byte_order,
            parent_address_difference,
            parent_address,
            node_name,
            device_name,
            vendor_name,
            target_type,
            target_id,
            target_version,
            flags,
            block_driver_type,
            serial_number,
            oem_data,
        },
        warnings,
    })
}

/// Test vectors and a reply builder, shared with the details tests and the fixture's
/// behaviour in documentation.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn utf16z(s: &str) -> Vec<u8> {
        let mut out: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        out.extend_from_slice(&[0, 0]);
        out
    }

    /// An identification reply (the shape nmap's example shows for a WAGO PFC200),
    /// with a 1-word sender and a 1-word receiver address.
    pub(crate) fn reply(request_id: u32, node: &str, device: &str, vendor: &str) -> Vec<u8> {
        let mut out = vec![0xC5, 0x7C, 0x40, 0x04, 0x00, 0x11, 0x12, 0x34];
        out.extend_from_slice(&[0x00, 0x01, 0x00, 0x8c]); // receiver, sender
        out.extend_from_slice(&PACKAGE_IDENTIFICATION.to_le_bytes());
        out.extend_from_slice(&VERSION_400.to_le_bytes());
        out.extend_from_slice(&request_id.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes()); // max channels
        out.extend_from_slice(&[1, 0]); // Intel byte order, difference
        out.extend_from_slice(&0u16.to_le_bytes()); // parent address size
        for s in [node, device, vendor] {
            out.extend_from_slice(&(s.encode_utf16().count() as u16).to_le_bytes());
        }
        out.extend_from_slice(&0x1000u32.to_le_bytes());
        out.extend_from_slice(&0x1006_1204u32.to_le_bytes());
        out.extend_from_slice(&0x050F_0400u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // flags
        out.extend_from_slice(&[8, 0, 2]); // serial len, OEM len, block driver
        out.extend_from_slice(&[0; 9]);
        for s in [node, device, vendor] {
            out.extend_from_slice(&utf16z(s));
        }
        out.extend_from_slice(b"12345678\0");
        out
    }

    #[test]
    fn names_without_their_nul_terminator_are_read_with_a_warning() {
        let names = ["PFC200-438F4C", "WAGO 750-8206", "WAGO"];
        let full = reply(9, names[0], names[1], names[2]);
        // Datagram layer (12), NameService header (8) and the 40-byte body, then the names.
        let mut bare = full[..60].to_vec();
        for name in names {
            bare.extend(name.encode_utf16().flat_map(u16::to_le_bytes));
        }
        let mut last = bare.clone();
        let mut serial = bare.clone();
        serial.extend_from_slice(b"12345678");
        let r = parse(&serial).unwrap();
        assert_eq!(r.identification.serial_number.text, "12345678");
        assert_eq!(r.warnings.len(), 4, "{:?}", r.warnings);
        bare.extend_from_slice(b"12345678\0");
        let r = parse(&bare).unwrap();
        let id = &r.identification;
        let read = [&id.node_name, &id.device_name, &id.vendor_name].map(|t| t.text.as_str());
        assert_eq!((read, id.serial_number.text.as_str()), (names, "12345678"));
        let warned = |r: &Reply| r.warnings.iter().filter(|w| w.contains("NUL")).count();
        assert_eq!(warned(&r), 3, "{:?}", r.warnings);
        // The vendor name at the very end of the datagram (no serial number).
        last[48] = 0;
        let r = parse(&last).unwrap();
        assert_eq!(r.identification.vendor_name.text, "WAGO");
        assert_eq!(warned(&r), 3, "{:?}", r.warnings);
    }

    pub(crate) fn wago() -> Vec<u8> {
        reply(
            0x0420_6969,
            "PFC200-438F4C",
            "WAGO 750-8206 PFC200 2ETH RS CAN DPS",
            "WAGO",
        )
    }

    #[test]
    fn request_bytes_for_a_slash_24_and_a_slash_8() {
        let sender = SenderAddress::new(Ipv4Addr::new(192, 168, 20, 5), 24);
        let bytes = encode(&Request::ResolveAddress { sender }, 0x0420_6969);
        // nmap's layout: header of 4 words, 1 sender word, 2 bytes of padding.
        assert_eq!(hex(&bytes), "c57c4003001069690005000002c2000469692004");
        let sender = SenderAddress::new(Ipv4Addr::new(127, 0, 0, 1), 8);
        assert_eq!(sender.words(), 2);
        let bytes = encode(&Request::ResolveAddress { sender }, 7);
        assert_eq!(hex(&bytes[..12]), "c57c40030020000700000001");
        assert_eq!(bytes.len(), 20);
        assert_eq!(&bytes[16..], &7u32.to_le_bytes());
        assert_eq!(SenderAddress::new(Ipv4Addr::new(10, 1, 2, 3), 0).words(), 3);
        let three = encode(
            &Request::ResolveAddress {
                sender: SenderAddress::new(Ipv4Addr::new(10, 1, 2, 3), 0),
            },
            1,
        );
        assert_eq!(three.len(), 24, "14 header+address bytes padded to 16");
    }

    #[test]
    fn wago_reply_decodes_like_nmaps_example() {
        let r = parse(&wago()).unwrap();
        let id = &r.identification;
        assert_eq!(id.vendor_name.text, "WAGO");
        assert_eq!(id.device_name.text, "WAGO 750-8206 PFC200 2ETH RS CAN DPS");
        assert_eq!(id.node_name.text, "PFC200-438F4C");
        assert_eq!(id.target_id, 0x1006_1204);
        assert_eq!(id.target_type, 0x1000);
        assert_eq!(id.version_text(), "5.15.4.0");
        assert_eq!(id.serial_number.text, "12345678");
        assert_eq!(r.request_id, 0x0420_6969);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert!(answers(&req(), &wago(), 0x0420_6969));
        assert!(!answers(&req(), &wago(), 0x0420_696a));
    }

    fn req() -> Request {
        Request::ResolveAddress {
            sender: SenderAddress::new(Ipv4Addr::LOCALHOST, 8),
        }
    }

    #[test]
    fn our_own_request_is_not_an_answer() {
        let bytes = encode(&req(), 9);
        assert!(!answers(&req(), &bytes, 9));
        assert_eq!(
            parse(&bytes).unwrap_err(),
            ParseError::WrongService(SERVICE_NAME_REQUEST)
        );
    }

    #[test]
    fn hostile_shapes_are_typed_errors() {
        assert!(matches!(parse(&[]), Err(ParseError::Truncated { .. })));
        assert_eq!(parse(&[0x55; 40]).unwrap_err(), ParseError::Magic(0x55));
        let mut b = wago();
        b[1] = 0x7A; // header of 2 words
        assert_eq!(parse(&b).unwrap_err(), ParseError::HeaderLength(2));
        let mut b = wago();
        b[12] = 0x01; // package type 0xc201
        assert_eq!(parse(&b).unwrap_err(), ParseError::WrongPackage(0xc201));
        let mut b = wago();
        b[15] = 0x05;
        assert_eq!(parse(&b).unwrap_err(), ParseError::Version(0x0500));
        // The vendor name claims 60000 code units.
        let mut b = wago();
        b[30..32].copy_from_slice(&60000u16.to_le_bytes());
        assert!(matches!(
            parse(&b),
            Err(ParseError::Truncated {
                what: "vendor name",
                ..
            })
        ));
        // Address lengths that run past the end.
        let mut b = wago();
        b[5] = 0xFF;
        b.truncate(40);
        assert!(matches!(parse(&b), Err(ParseError::Truncated { .. })));
        // Every truncation is an error, never a panic.
        let full = wago();
        for n in 0..full.len() - 1 {
            assert!(parse(&full[..n]).is_err(), "cut at {n}");
        }
    }

    #[test]
    fn odd_but_readable_replies_are_warnings() {
        let mut b = wago();
        b[22] = 0; // byte order Motorola
        b.extend_from_slice(&[1, 2, 3]);
        let r = parse(&b).unwrap();
        assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
        // An unpaired surrogate in the node name.
        let mut b = wago();
        let node = 12 + 8 + IDENTIFICATION_BODY_LEN;
        b[node..node + 2].copy_from_slice(&0xD800u16.to_le_bytes());
        let r = parse(&b).unwrap();
        assert!(r.identification.node_name.hex.is_some());
    }

    fn check_all(buf: &[u8]) {
        let _ = parse(buf);
        let _ = answers(&req(), buf, 1);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            check_all(&buf);
            let mut b = vec![0xC5, 0x7C, 0x40, 0x04];
            b.extend_from_slice(&buf);
            check_all(&b);
        }

        #[test]
        fn mutated_replies_never_panic(
            edits in proptest::collection::vec((0usize..160, any::<u8>()), 0..8),
            cut in 0usize..=160,
        ) {
            let mut b = wago();
            for (i, v) in edits {
                if i < b.len() {
                    b[i] = v;
                }
            }
            b.truncate(cut);
            check_all(&b);
        }
    }
}
