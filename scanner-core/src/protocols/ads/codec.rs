//! Beckhoff ADS discovery codec (UDP 48899), sans IO: the closed [`Request`] set (the
//! Identify request, service 1, nothing else), [`encode`], UDP matching ([`answers`]) and
//! [`parse`] of the Identify reply.
//!
//! Wire facts (all little-endian; checked against ads-rs's `udp` module, MIT/Apache-2.0,
//! and a published TwinCAT 3.1.4024 reply in the twincat-scan NSE script, read for facts
//! only):
//!
//! - Every datagram starts with a 24-byte header: magic `03 66 14 71` (u32 0x71146603),
//!   invoke id u32, service id u32 (1 Identify, 6 AddRoute; a reply sets bit 31, so the
//!   Identify reply is 0x80000001), the sender's AMS NetId (6 bytes) and AMS port u16,
//!   then a tag count u32.
//! - Tags follow: tag id u16, length u16, data. In the Identify reply: 5 the host name
//!   (NUL-terminated), 4 the OS version block, 3 the TwinCAT version (major u8, minor u8,
//!   build u16), 18 (0x12) the fingerprint (TwinCAT 3.1.4024 and later, 64 hex characters
//!   and a NUL). AddRoute uses 1 status, 2 password, 7 NetId, 9 options, 12 route name,
//!   13 user name.
//! - The OS version block is Windows' OSVERSIONINFO: struct size u32, major u32, minor
//!   u32, build u32, platform id u32, then (Windows) a UTF-16 service-pack string of 128
//!   code units. Platform ids: 2 Windows NT, 3 Windows CE (Win32 values); ads-rs reads 0
//!   as TwinCAT/BSD and 1 as TC/RTOS, whose bytes after the platform id are not a
//!   UTF-16 string: otscan keeps them as hex.
//!
//! Only Identify can be spelled: service 6 (AddRoute) carries a user name and password
//! and adds a route to the device's router, so [`encode`] writes the constant service 1
//! and a tag count of 0, and nothing in [`Request`] can change them.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::protocols::wire::{Cursor, Truncated};

/// The magic that starts every ADS discovery datagram.
pub const MAGIC: [u8; 4] = [0x03, 0x66, 0x14, 0x71];
/// Service id of Identify.
pub const SERVICE_IDENTIFY: u32 = 1;
/// Service id of AddRoute (never sent; named for the refusal messages).
pub const SERVICE_ADD_ROUTE: u32 = 6;
/// Bit 31 of the service id: the datagram is a reply.
pub const RESPONSE_FLAG: u32 = 0x8000_0000;
/// Length of the header (magic to tag count).
pub const HEADER_LEN: usize = 24;
/// AMS port the request names as its sender: 10000, the AMS router's system service,
/// which is what TwinCAT's own broadcast search sends.
pub const SENDER_AMS_PORT: u16 = 10_000;
/// Most tags accepted in one reply (a real one has four or five).
pub const MAX_TAGS: u32 = 64;
/// Largest reply accepted: a TwinCAT 3 reply with its fingerprint is about 400 bytes.
pub const MAX_REPLY_LEN: usize = 2048;

/// Tag ids of the discovery protocol.
pub mod tag {
    /// AddRoute reply status (an ADS error code).
    pub const STATUS: u16 = 1;
    /// AddRoute password.
    pub const PASSWORD: u16 = 2;
    /// TwinCAT version: major u8, minor u8, build u16.
    pub const TWINCAT_VERSION: u16 = 3;
    /// OS version block (OSVERSIONINFO).
    pub const OS_VERSION: u16 = 4;
    /// Host (computer) name, NUL-terminated.
    pub const HOST_NAME: u16 = 5;
    /// AddRoute: the NetId of the route.
    pub const NET_ID: u16 = 7;
    /// AddRoute options (1: temporary route).
    pub const OPTIONS: u16 = 9;
    /// AddRoute route name.
    pub const ROUTE_NAME: u16 = 12;
    /// AddRoute user name.
    pub const USER_NAME: u16 = 13;
    /// Fingerprint (TwinCAT 3.1.4024 and later).
    pub const FINGERPRINT: u16 = 18;
}

/// An AMS NetId: six bytes, written `a.b.c.d.e.f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AmsNetId(pub [u8; 6]);

impl AmsNetId {
    /// The NetId TwinCAT tools derive from an IPv4 address: the address, then `.1.1`.
    pub const fn from_ipv4(ip: std::net::Ipv4Addr) -> Self {
        let [a, b, c, d] = ip.octets();
        AmsNetId([a, b, c, d, 1, 1])
    }
}

impl fmt::Display for AmsNetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a}.{b}.{c}.{d}.{e}.{g}")
    }
}

/// The requests otscan can send on the ADS discovery port; nothing else can be spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// Identify (service 1), no tags, from `sender` (AMS port [`SENDER_AMS_PORT`]).
    Identify {
        /// The sender AMS NetId the request names.
        sender: AmsNetId,
    },
}

/// Encodes `request`; `correlation` is the invoke id. Public tools (TwinCAT's search as
/// nmap's twincat-scan replays it, ads-rs) send 0 and no public capture shows a reply to
/// another value, so [`answers`] takes a reply with the echoed id or with 0.
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    let Request::Identify { sender } = *request;
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&correlation.to_le_bytes());
    out.extend_from_slice(&SERVICE_IDENTIFY.to_le_bytes());
    out.extend_from_slice(&sender.0);
    out.extend_from_slice(&SENDER_AMS_PORT.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out
}

/// Why a reply cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than a fixed-size structure needs.
    #[error("reply truncated: {what} needs {needed} bytes, {available} present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The datagram does not start with the discovery magic.
    #[error("datagram does not start with the ADS discovery magic (starts {0:02x?})")]
    BadMagic([u8; 4]),
    /// The service id lacks the reply bit: a request, or an echo of ours.
    #[error("service {0:#x} is a request, not a reply (an echo?)")]
    NotAReply(u32),
    /// A reply to another service than Identify.
    #[error("reply to service {0:#x}, not Identify (0x80000001)")]
    WrongService(u32),
    /// More tags than otscan reads.
    #[error("tag count {0} is above the limit of {MAX_TAGS}")]
    TooManyTags(u32),
    /// A tag whose length runs past the end of the datagram.
    #[error("tag {id} declares {declared} bytes, {available} present")]
    TagOverrun {
        /// The tag id.
        id: u16,
        /// Its declared length.
        declared: usize,
        /// Bytes left in the datagram.
        available: usize,
    },
    /// More than [`MAX_REPLY_LEN`] bytes.
    #[error("reply of {0} bytes is above the limit of {MAX_REPLY_LEN}")]
    Oversized(usize),
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

/// One tag of a reply, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Tag id.
    pub id: u16,
    /// Its data.
    pub data: Vec<u8>,
}

/// The TwinCAT version of tag 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TwinCatVersion {
    /// Major version (2 or 3).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// Build (e.g. 4024).
    pub build: u16,
}

impl fmt::Display for TwinCatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.build)
    }
}

/// The OS version block of tag 4, decoded as far as public facts go.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct OsVersion {
    /// Struct size the block declares (0x114 = 276 for Windows' OSVERSIONINFOW).
    pub struct_size: u32,
    /// Major version (e.g. 10 for Windows 10, 6 for Windows CE 6).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Build number (e.g. 19045).
    pub build: u32,
    /// Platform id: 2 Windows NT, 3 Windows CE; 0 TwinCAT/BSD and 1 TC/RTOS as ads-rs
    /// reads them.
    pub platform_id: u32,
    /// Name of the platform id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Windows: the service-pack string (UTF-16), when not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_pack: Option<String>,
    /// Bytes after the platform id that are not a Windows service-pack string (TwinCAT/BSD,
    /// TC/RTOS, unknown platforms), lower-case hex, when not all zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_hex: Option<String>,
}

/// Name of an OS version block's platform id.
pub const fn platform_name(id: u32) -> Option<&'static str> {
    match id {
        0 => Some("TwinCAT/BSD"),
        1 => Some("TC/RTOS"),
        2 => Some("Windows NT"),
        3 => Some("Windows CE"),
        _ => None,
    }
}

/// Decodes an OS version block; `None` when it is shorter than the 20 bytes of its
/// numbers (the caller keeps it as hex).
pub fn os_version(block: &[u8]) -> Option<OsVersion> {
    let mut c = Cursor::new(block);
    let mut version = OsVersion {
        struct_size: c.u32_le("struct size").ok()?,
        major: c.u32_le("major").ok()?,
        minor: c.u32_le("minor").ok()?,
        build: c.u32_le("build").ok()?,
        platform_id: c.u32_le("platform id").ok()?,
        ..OsVersion::default()
    };
    version.platform = platform_name(version.platform_id).map(str::to_owned);
    let rest = c.rest();
    if matches!(version.platform_id, 2 | 3) {
        let units = rest
            .chunks_exact(2)
            .map(|p| u16::from_le_bytes([p[0], p[1]]))
            .take_while(|&u| u != 0);
        let text: String = char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        if !text.is_empty() {
            version.service_pack = Some(text);
        }
    } else if rest.iter().any(|&b| b != 0) {
        version.extra_hex = Some(crate::record::fields::hex(rest));
    }
    Some(version)
}

/// A decoded Identify reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The invoke id (the request's, echoed).
    pub invoke_id: u32,
    /// The device's AMS NetId.
    pub net_id: AmsNetId,
    /// The device's AMS port (10000, the system service, on TwinCAT).
    pub ams_port: u16,
    /// The tag count the header declares.
    pub tag_count: u32,
    /// The tags, in order.
    pub tags: Vec<Tag>,
    /// Oddities that did not stop decoding.
    pub warnings: Vec<String>,
}

impl Reply {
    /// The data of the first tag `id`.
    pub fn tag(&self, id: u16) -> Option<&[u8]> {
        self.tags
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.data.as_slice())
    }

    /// The TwinCAT version, when tag 3 has its four bytes.
    pub fn twincat_version(&self) -> Option<TwinCatVersion> {
        let data = self.tag(tag::TWINCAT_VERSION)?;
        let [major, minor, lo, hi, ..] = *data else {
            return None;
        };
        Some(TwinCatVersion {
            major,
            minor,
            build: u16::from_le_bytes([lo, hi]),
        })
    }
}

/// The bytes of a NUL-terminated string tag, without the NUL and anything after it.
pub fn c_string(data: &[u8]) -> &[u8] {
    data.iter()
        .position(|&b| b == 0)
        .map_or(data, |end| &data[..end])
}

/// Decodes an Identify reply.
///
/// # Errors
/// [`ParseError`]: a short header, a wrong magic, a request (echo) or another service's
/// reply, a tag count above [`MAX_TAGS`], a tag longer than the bytes left, or more
/// than [`MAX_REPLY_LEN`] bytes.
pub fn parse(buf: &[u8]) -> Result<Reply, ParseError> {
    if buf.len() > MAX_REPLY_LEN {
        return Err(ParseError::Oversized(buf.len()));
    }
    let mut c = Cursor::new(buf);
    let magic: [u8; 4] = c.array("magic")?;
    if magic != MAGIC {
        return Err(ParseError::BadMagic(magic));
    }
    let invoke_id = c.u32_le("invoke id")?;
    let service = c.u32_le("service id")?;
    if service & RESPONSE_FLAG == 0 {
        return Err(ParseError::NotAReply(service));
    }
    if service != RESPONSE_FLAG | SERVICE_IDENTIFY {
        return Err(ParseError::WrongService(service));
    }
    let net_id = AmsNetId(c.array("AMS NetId")?);
    let ams_port = c.u16_le("AMS port")?;
    let tag_count = c.u32_le("tag count")?;
    if tag_count > MAX_TAGS {
        return Err(ParseError::TooManyTags(tag_count));
    }
    let mut warnings = Vec::new();
    let mut tags: Vec<Tag> = Vec::new();
    for _ in 0..tag_count {
        if c.len() == 0 {
            warnings.push(format!(
                "tag count {tag_count} but only {} tags present",
                tags.len()
            ));
            break;
        }
        let id = c.u16_le("tag id")?;
        let declared = usize::from(c.u16_le("tag length")?);
        let available = c.len();
        let data = c
            .take(declared, "tag data")
            .map_err(|_| ParseError::TagOverrun {
                id,
                declared,
                available,
            })?;
        if tags.iter().any(|t| t.id == id) {
            warnings.push(format!("tag {id} sent more than once; the first is used"));
        }
        tags.push(Tag {
            id,
            data: data.to_vec(),
        });
    }
    if c.len() > 0 {
        warnings.push(format!(
            "{} bytes after the {tag_count} declared tags ignored",
            c.len()
        ));
    }
    Ok(Reply {
        invoke_id,
        net_id,
        ams_port,
        tag_count,
        tags,
        warnings,
    })
}

/// Whether `datagram` answers `request` sent with `correlation`: the magic, the invoke
/// id (echoed, or 0 from a router that does not echo it) and the Identify reply service.
/// A request (an echo) does not.
pub fn answers(_request: &Request, datagram: &[u8], correlation: u32) -> bool {
    let mut c = Cursor::new(datagram);
    let (Ok(magic), Ok(invoke), Ok(service)) = (
        c.array::<4>("magic"),
        c.u32_le("invoke id"),
        c.u32_le("service"),
    ) else {
        return false;
    };
    magic == MAGIC
        && (invoke == correlation || invoke == 0)
        && service == RESPONSE_FLAG | SERVICE_IDENTIFY
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::wire::hex_bytes;
    use proptest::prelude::*;

    /// The TwinCAT 3.1.4024 reply (Windows 10 build 19045) published in the twincat-scan
    /// NSE script's comments, rebuilt from its fields: NetId 192.168.0.6.1.1, host name
    /// "DESKTOP-R0I97Q4", OS block 276 bytes, version 3.1.4024, a 64-character fingerprint.
    pub(crate) fn windows10_reply() -> Vec<u8> {
        let mut out = hex_bytes("036614710000000001000080c0a800060101102704000000");
        out.extend(hex_bytes("050010004445534b544f502d5230493937513400"));
        out.extend(hex_bytes(
            "04001401140100000a00000000000000654a000002000000",
        ));
        out.extend(std::iter::repeat_n(0u8, 256));
        out.extend(hex_bytes("030004000301b80f"));
        out.extend(hex_bytes("12004100"));
        out.extend_from_slice(
            b"c29952a3976633423f118913a84b0ac671f841eb56837b2709de663f0c971f91\0",
        );
        out
    }

    #[test]
    fn identify_request_is_the_24_bytes_twincat_tools_send() {
        let sender = AmsNetId::from_ipv4(std::net::Ipv4Addr::new(192, 168, 0, 6));
        assert_eq!(
            encode(&Request::Identify { sender }, 0),
            hex_bytes("036614710000000001000000c0a800060101102700000000")
        );
        let with_id = encode(&Request::Identify { sender }, 0x0102_0304);
        assert_eq!(with_id[4..8], [4, 3, 2, 1]);
        assert_eq!(sender.to_string(), "192.168.0.6.1.1");
    }

    #[test]
    fn windows10_twincat3_reply_is_decoded() {
        let reply = parse(&windows10_reply()).unwrap();
        assert_eq!(reply.net_id.to_string(), "192.168.0.6.1.1");
        assert_eq!(reply.ams_port, 10_000);
        assert_eq!(reply.tags.len(), 4);
        assert_eq!(
            c_string(reply.tag(tag::HOST_NAME).unwrap()),
            b"DESKTOP-R0I97Q4"
        );
        assert_eq!(reply.twincat_version().unwrap().to_string(), "3.1.4024");
        let os = os_version(reply.tag(tag::OS_VERSION).unwrap()).unwrap();
        assert_eq!((os.major, os.minor, os.build), (10, 0, 19045));
        assert_eq!(os.platform.as_deref(), Some("Windows NT"));
        assert_eq!(os.service_pack, None);
        assert_eq!(c_string(reply.tag(tag::FINGERPRINT).unwrap()).len(), 64);
        assert!(reply.warnings.is_empty());
    }

    #[test]
    fn os_blocks_of_ce_and_bsd() {
        // Windows CE 6 (the NSE script's pattern), service pack "SP1".
        let mut ce = hex_bytes("140100000600000000000000000000000300000053005000310000");
        ce.resize(276, 0);
        let os = os_version(&ce).unwrap();
        assert_eq!(os.platform.as_deref(), Some("Windows CE"));
        assert_eq!(os.service_pack.as_deref(), Some("SP1"));
        let bsd = hex_bytes("14000000 0d000000 02000000 00000000 00000000 deadbeef");
        let os = os_version(&bsd).unwrap();
        assert_eq!(os.platform.as_deref(), Some("TwinCAT/BSD"));
        assert_eq!(os.extra_hex.as_deref(), Some("deadbeef"));
        assert_eq!(os_version(&[1, 2, 3]), None);
    }

    #[test]
    fn hostile_replies_are_typed_errors() {
        let good = windows10_reply();
        let mut bad_magic = good.clone();
        bad_magic[0] = 0x04;
        assert!(matches!(parse(&bad_magic), Err(ParseError::BadMagic(_))));
        let echo = encode(
            &Request::Identify {
                sender: AmsNetId::default(),
            },
            0,
        );
        assert_eq!(parse(&echo), Err(ParseError::NotAReply(1)));
        let mut add_route = good.clone();
        add_route[8] = 6;
        assert_eq!(
            parse(&add_route),
            Err(ParseError::WrongService(0x8000_0006))
        );
        let mut many = good.clone();
        many[20..24].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(parse(&many), Err(ParseError::TooManyTags(1000)));
        let mut lying = good.clone();
        lying[26..28].copy_from_slice(&0xFFFFu16.to_le_bytes());
        assert!(matches!(
            parse(&lying),
            Err(ParseError::TagOverrun { id: 5, .. })
        ));
        assert!(matches!(
            parse(&good[..10]),
            Err(ParseError::Truncated { .. })
        ));
        assert_eq!(
            parse(&vec![0; MAX_REPLY_LEN + 1]),
            Err(ParseError::Oversized(MAX_REPLY_LEN + 1))
        );
    }

    #[test]
    fn count_mismatches_and_duplicates_are_warnings() {
        let mut fewer = windows10_reply();
        fewer[20] = 9;
        let reply = parse(&fewer).unwrap();
        assert_eq!(reply.tags.len(), 4);
        assert!(reply.warnings[0].contains("only 4 tags"));
        let mut more = windows10_reply();
        more[20] = 1;
        let reply = parse(&more).unwrap();
        assert_eq!(reply.tags.len(), 1);
        assert!(reply.warnings[0].contains("ignored"));
        let mut dup = windows10_reply();
        dup[20] = 5;
        dup.extend(hex_bytes("050002004100"));
        let reply = parse(&dup).unwrap();
        assert_eq!(
            c_string(reply.tag(tag::HOST_NAME).unwrap()),
            b"DESKTOP-R0I97Q4"
        );
        assert!(reply.warnings.iter().any(|w| w.contains("more than once")));
    }

    #[test]
    fn matching_is_by_invoke_id_and_reply_service() {
        let request = Request::Identify {
            sender: AmsNetId::default(),
        };
        let mut reply = windows10_reply();
        reply[4..8].copy_from_slice(&7u32.to_le_bytes());
        assert!(answers(&request, &reply, 7));
        assert!(!answers(&request, &reply, 8));
        reply[4..8].copy_from_slice(&0u32.to_le_bytes());
        assert!(answers(&request, &reply, 8), "a router that answers 0");
        reply[4..8].copy_from_slice(&7u32.to_le_bytes());
        assert!(!answers(&request, &encode(&request, 7), 7));
        assert!(!answers(&request, &reply[..11], 7));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse(&buf);
            let _ = os_version(&buf);
            let _ = answers(&Request::Identify { sender: AmsNetId::default() }, &buf, 0);
        }

        #[test]
        fn mutated_valid_replies_never_panic(
            at in 0usize..400,
            byte in any::<u8>(),
            cut in 0usize..400,
        ) {
            let mut buf = windows10_reply();
            let at = at % buf.len();
            buf[at] = byte;
            buf.truncate(buf.len().saturating_sub(cut));
            if let Ok(reply) = parse(&buf) {
                let _ = reply.twincat_version();
                if let Some(os) = reply.tag(tag::OS_VERSION) {
                    let _ = os_version(os);
                }
            }
        }
    }
}
