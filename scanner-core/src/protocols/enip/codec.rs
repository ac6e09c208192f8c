//! EtherNet/IP encapsulation codec, sans IO: the closed [`Request`] set (the three
//! session-less list commands, ListServices 0x0004, ListIdentity 0x0063 and
//! ListInterfaces 0x0064), [`encode`], TCP framing ([`frame`]), UDP matching
//! ([`answers`]) and [`parse`].
//!
//! Shaped like smoltcp's `wire` modules: [`parse`] reads a whole reply with checked
//! accessors into a [`Reply`] or a [`ParseError`]; nothing here touches a socket.
//! Every length a device sends is checked against the bytes present before it is
//! used, item parsing is capped at [`MAX_ITEMS`], and oddities that do not stop the
//! decoding are kept as warnings rather than dropped silently. The reply items that
//! the record keeps as they are ([`EnipIdentity`], [`EnipServiceItem`], ...) are
//! defined here with their serde form.
//!
//! Byte order: the encapsulation header and the CPF items are little-endian, except
//! the socket address inside the Identity item, which is a BSD `sockaddr_in` in
//! network (big-endian) order. Spec: The CIP Networks Library Vol 2 (EtherNet/IP
//! Adaptation of CIP), chapter 2 (encapsulation) and Vol 1 chapter 5 (Identity object).

use std::net::Ipv4Addr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::protocols::wire::{Cursor, FrameCheck, Truncated};
use crate::record::fields::DeviceText;

/// Length of the encapsulation header.
pub const HEADER_LEN: usize = 24;

/// The encapsulation commands otscan may send: the three session-less list commands.
/// Nothing else (RegisterSession, SendRRData, SendUnitData, ...) can be spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// 0x0004 ListServices.
    ListServices,
    /// 0x0063 ListIdentity.
    ListIdentity,
    /// 0x0064 ListInterfaces.
    ListInterfaces,
}

impl Command {
    /// The command code on the wire.
    pub const fn code(self) -> u16 {
        match self {
            Command::ListServices => 0x0004,
            Command::ListIdentity => 0x0063,
            Command::ListInterfaces => 0x0064,
        }
    }
}

/// The requests otscan can send: exactly the list [`Command`]s.
pub type Request = Command;

/// Encodes a list command: a bare 24-byte header with no data, session 0,
/// status 0, `correlation` in the first four bytes of the sender context, options 0.
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    let context = correlation;
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(&request.code().to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // length of data after the header
    out.extend_from_slice(&0u32.to_le_bytes()); // session handle
    out.extend_from_slice(&0u32.to_le_bytes()); // status
    out.extend_from_slice(&context.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // rest of the sender context
    out.extend_from_slice(&0u32.to_le_bytes()); // options
    out
}

/// CPF item type of a ListIdentity Identity item.
pub const ITEM_IDENTITY: u16 = 0x000C;
/// CPF item type of a ListServices "Communications" item.
pub const ITEM_LIST_SERVICES: u16 = 0x0100;
/// Most CPF items decoded from one reply. A real reply has one or two; the cap keeps
/// a hostile item count from costing more than a bounded amount of work and memory.
pub const MAX_ITEMS: usize = 64;
/// Longest product name the CIP Identity object allows. Longer names are kept, with
/// a warning, because the item length already bounds them.
pub const MAX_PRODUCT_NAME_LEN: usize = 32;

/// `sin_family` value of an IPv4 socket address (AF_INET).
const AF_INET: u16 = 2;
/// Identity item bytes up to and including the product-name length byte.
const IDENTITY_FIXED_LEN: usize = 33;
/// ListServices item: version, capability flags and the 16-byte name.
const SERVICE_ITEM_LEN: usize = 20;
/// Capability flag: CIP encapsulation over TCP.
const CAPABILITY_CIP_OVER_TCP: u16 = 1 << 5;
/// Capability flag: CIP class 0/1 (implicit I/O) over UDP.
const CAPABILITY_CLASS01_OVER_UDP: u16 = 1 << 8;

impl Command {
    /// The command a code on the wire stands for, if it is one otscan sends.
    pub const fn from_code(code: u16) -> Option<Command> {
        match code {
            0x0004 => Some(Command::ListServices),
            0x0063 => Some(Command::ListIdentity),
            0x0064 => Some(Command::ListInterfaces),
            _ => None,
        }
    }

    /// The command's name as the specification spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Command::ListServices => "ListServices",
            Command::ListIdentity => "ListIdentity",
            Command::ListInterfaces => "ListInterfaces",
        }
    }
}

/// Total length of the reply at the front of `buf` (header plus the data its length
/// field announces), once the 24-byte header is there; `None` until then.
///
/// [`frame`] uses it to frame TCP replies: read until `buf.len() >= reply_len`.
/// The length field is a u16, so the answer is at most 24 + 65535 bytes.
pub fn reply_len(buf: &[u8]) -> Option<usize> {
    if buf.len() < HEADER_LEN {
        return None;
    }
    let length: [u8; 2] = buf.get(2..4)?.try_into().ok()?;
    Some(HEADER_LEN + usize::from(u16::from_le_bytes(length)))
}

/// The first four sender-context bytes of the reply at the front of `buf`
/// (little-endian), once the header is there: the request's correlation value,
/// echoed back, so a reply can be matched to its request.
pub fn header_context(buf: &[u8]) -> Option<u32> {
    if buf.len() < HEADER_LEN {
        return None;
    }
    let context: [u8; 4] = buf.get(12..16)?.try_into().ok()?;
    Some(u32::from_le_bytes(context))
}

/// Name of an encapsulation header status code (EtherNet/IP spec, Vol 2 chapter 2,
/// encapsulation status codes); `None` for codes the spec does not define.
pub const fn encap_status_name(status: u32) -> Option<&'static str> {
    Some(match status {
        0x0000 => "success",
        0x0001 => "invalid or unsupported encapsulation command",
        0x0002 => "insufficient memory",
        0x0003 => "poorly formed or incorrect data",
        0x0064 => "invalid session handle",
        0x0065 => "invalid length",
        0x0069 => "unsupported encapsulation protocol revision",
        _ => return None,
    })
}

/// Meaning of the Identity status word's extended device status (bits 4-7), per the
/// CIP Identity object's status attribute (Vol 1 chapter 5).
pub const fn extended_status_meaning(value: u8) -> &'static str {
    match value {
        0 => "self-testing or unknown",
        1 => "firmware update in progress",
        2 => "at least one faulted I/O connection",
        3 => "no I/O connections established",
        4 => "non-volatile configuration bad",
        5 => "major fault",
        6 => "at least one I/O connection in run mode",
        7 => "at least one I/O connection established, all in idle mode",
        8 | 9 => "reserved",
        _ => "vendor specific",
    }
}

/// Name of the Identity object's state attribute, the last byte of the Identity item.
pub const fn state_name(state: u8) -> &'static str {
    match state {
        0 => "nonexistent",
        1 => "device self testing",
        2 => "standby",
        3 => "operational",
        4 => "major recoverable fault",
        5 => "major unrecoverable fault",
        // What Get_Attributes_All reports when the device does not keep a state.
        255 => "default (not reported)",
        _ => "reserved",
    }
}

/// Why a reply could not be decoded.
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
    /// The header's length field announces more data than the reply holds.
    #[error("header length announces {declared} data bytes, {available} present")]
    LyingLength {
        /// Data bytes announced by the header.
        declared: usize,
        /// Data bytes present after the header.
        available: usize,
    },
    /// A command code that answers none of the three list requests.
    #[error("command {0:#06x} is not ListServices, ListIdentity or ListInterfaces")]
    UnexpectedCommand(u16),
    /// A CPF item's length runs past the end of the reply data.
    #[error(
        "CPF item {index} (type {item_type:#06x}) declares {declared} bytes, {available} present"
    )]
    ItemOverrun {
        /// Position of the item, from 0.
        index: usize,
        /// Item type.
        item_type: u16,
        /// Declared item length.
        declared: usize,
        /// Bytes left in the reply data.
        available: usize,
    },
    /// The CPF item count announces more items than the data holds.
    #[error("CPF item count announces {declared} items, data ends after {parsed}")]
    ItemCountOverrun {
        /// Items announced.
        declared: u16,
        /// Items present.
        parsed: usize,
    },
    /// A well-formed reply to another command than the one asked.
    #[error("{} reply to a {} request", .got.name(), .asked.name())]
    WrongCommand {
        /// The command the reply answers.
        got: Command,
        /// The command asked.
        asked: Command,
    },
    /// The TCP stream announces a reply larger than [`MAX_REPLY_LEN`].
    #[error("encapsulation length {0} exceeds the {MAX_REPLY_LEN}-byte cap")]
    Oversized(usize),
    /// The product name's length byte runs past the end of the Identity item.
    #[error("product name declares {declared} bytes, {available} left in the identity item")]
    NameOverrun {
        /// Declared name length.
        declared: usize,
        /// Bytes left in the item after the length byte.
        available: usize,
    },
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

/// The 24-byte encapsulation header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncapHeader {
    /// Command code.
    pub command: u16,
    /// Bytes of data after the header.
    pub length: u16,
    /// Session handle (0 for the list commands).
    pub session_handle: u32,
    /// Status; 0 is success.
    pub status: u32,
    /// Sender context, echoed from the request.
    pub sender_context: [u8; 8],
    /// Options (0).
    pub options: u32,
}

impl EncapHeader {
    /// Reads the header at the front of `buf`.
    pub fn parse(buf: &[u8]) -> Result<EncapHeader, ParseError> {
        if buf.len() < HEADER_LEN {
            return Err(ParseError::Truncated {
                what: "encapsulation header",
                needed: HEADER_LEN,
                available: buf.len(),
            });
        }
        let mut r = Cursor::new(buf);
        Ok(EncapHeader {
            command: r.u16_le("command")?,
            length: r.u16_le("length")?,
            session_handle: r.u32_le("session handle")?,
            status: r.u32_le("status")?,
            sender_context: r.array("sender context")?,
            options: r.u32_le("options")?,
        })
    }

    /// The first four sender-context bytes, little-endian: the request's correlation value.
    pub fn context(&self) -> u32 {
        let c = self.sender_context;
        u32::from_le_bytes([c[0], c[1], c[2], c[3]])
    }
}

/// The socket address an Identity item advertises (where the device says it listens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnipSocketAddress {
    /// `sin_family`; 2 (AF_INET) on every conforming device.
    pub family: u16,
    /// `sin_port`, normally 44818.
    pub port: u16,
    /// `sin_addr` in dotted-quad form. Devices behind NAT, or simulators, may report
    /// an address other than the one scanned, or 0.0.0.0.
    pub ip: String,
}

/// The Identity status word decoded (CIP Vol 1, Identity object attribute 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnipStatus {
    /// Bit 0: the device has an owner (a connection from a master / scanner).
    pub owned: bool,
    /// Bit 2: the configuration differs from the out-of-box default.
    pub configured: bool,
    /// Bits 4-7: extended device status, 0-15.
    pub extended_device_status: u8,
    /// What [`extended_device_status`](Self::extended_device_status) means.
    pub extended_device_status_meaning: String,
    /// Bit 8: minor recoverable fault.
    pub minor_recoverable_fault: bool,
    /// Bit 9: minor unrecoverable fault.
    pub minor_unrecoverable_fault: bool,
    /// Bit 10: major recoverable fault.
    pub major_recoverable_fault: bool,
    /// Bit 11: major unrecoverable fault.
    pub major_unrecoverable_fault: bool,
}

impl EnipStatus {
    /// Decodes a status word.
    pub fn from_word(word: u16) -> EnipStatus {
        let bit = |n: u16| word & (1 << n) != 0;
        // Four bits always fit in a u8.
        let extended = ((word >> 4) & 0x0F) as u8;
        EnipStatus {
            owned: bit(0),
            configured: bit(2),
            extended_device_status: extended,
            extended_device_status_meaning: extended_status_meaning(extended).to_owned(),
            minor_recoverable_fault: bit(8),
            minor_unrecoverable_fault: bit(9),
            major_recoverable_fault: bit(10),
            major_unrecoverable_fault: bit(11),
        }
    }
}

/// A ListIdentity Identity item (type 0x000C).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnipIdentity {
    /// Encapsulation protocol version (1).
    pub encapsulation_version: u16,
    /// Socket address the device advertises.
    pub socket_address: EnipSocketAddress,
    /// ODVA vendor id.
    pub vendor_id: u16,
    /// Vendor name from the ODVA table; absent for ids the table does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<String>,
    /// CIP device type (device profile number).
    pub device_type: u16,
    /// Device type name; absent for types the table does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type_name: Option<String>,
    /// Vendor-assigned product code.
    pub product_code: u16,
    /// Revision as "major.minor" with both in decimal, e.g. "20.11" (how Rockwell
    /// and most vendors print it; minor 1 is "20.1", not "20.01").
    pub revision: String,
    /// Major revision.
    pub revision_major: u8,
    /// Minor revision.
    pub revision_minor: u8,
    /// Raw status word.
    pub status_word: u16,
    /// Status word decoded.
    pub status: EnipStatus,
    /// Serial number as 8 upper-case hex digits without "0x", e.g. "006C061A",
    /// the way it is printed on module labels and in vendor tools.
    pub serial_number: String,
    /// Product name, lossless: non-UTF-8 bytes are kept in `hex`.
    pub product_name: DeviceText,
    /// Identity object state; absent when the device omits the last byte (some old
    /// devices do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<u8>,
    /// What [`state`](Self::state) means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_name: Option<String>,
}

/// A ListServices item (type 0x0100).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnipServiceItem {
    /// Protocol version of the service (1).
    pub version: u16,
    /// Raw capability flags.
    pub capability_flags: u16,
    /// Flag bit 5: CIP encapsulation over TCP supported.
    pub cip_over_tcp: bool,
    /// Flag bit 8: CIP class 0/1 (implicit I/O) over UDP supported.
    pub class01_over_udp: bool,
    /// Service name, NUL padding removed ("Communications"); invalid UTF-8 replaced.
    pub name: String,
}

/// A CPF item otscan does not decode, kept so the record shows it was there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnipUnknownItem {
    /// Item type.
    pub item_type: u16,
    /// Item length in bytes.
    pub length: u16,
}

/// One CPF item of a list reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpfItem {
    /// Identity item (0x000C), boxed because it is far larger than the others.
    Identity(Box<EnipIdentity>),
    /// ListServices item (0x0100).
    Service(EnipServiceItem),
    /// Any other item type.
    Unknown(EnipUnknownItem),
}

/// A decoded reply to one of the list commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The header as received.
    pub header: EncapHeader,
    /// The command the reply answers.
    pub command: Command,
    /// Name of a non-zero header status, when the code is a known one.
    pub status_name: Option<&'static str>,
    /// CPF item count the device announced; `None` when there was no item list to
    /// read (a reply with a non-zero status carries none).
    pub items_declared: Option<u16>,
    /// Items decoded, in order, at most [`MAX_ITEMS`].
    pub items: Vec<CpfItem>,
    /// Bytes after the length the header announced; ignored (noted in `warnings`).
    pub trailing_bytes: usize,
    /// Oddities accepted anyway.
    pub warnings: Vec<String>,
}

impl Reply {
    /// The header status (0 is success).
    pub fn status(&self) -> u32 {
        self.header.status
    }

    /// True when the device answered with a non-zero status: it speaks EtherNet/IP
    /// but refused the command (an application error, not silence).
    pub fn is_error(&self) -> bool {
        self.header.status != 0
    }

    /// The first Identity item.
    pub fn identity(&self) -> Option<&EnipIdentity> {
        self.items.iter().find_map(|item| match item {
            CpfItem::Identity(identity) => Some(&**identity),
            _ => None,
        })
    }

    /// The ListServices items.
    pub fn services(&self) -> impl Iterator<Item = &EnipServiceItem> {
        self.items.iter().filter_map(|item| match item {
            CpfItem::Service(service) => Some(service),
            _ => None,
        })
    }
}

/// Decodes a reply to ListIdentity, ListServices or ListInterfaces.
///
/// `buf` should hold one reply (see [`reply_len`]); bytes after the announced length
/// are ignored and counted in [`Reply::trailing_bytes`]. A non-zero header
/// status is not an error: the reply is returned with the status and its name.
pub fn parse(buf: &[u8]) -> Result<Reply, ParseError> {
    let header = EncapHeader::parse(buf)?;
    let command =
        Command::from_code(header.command).ok_or(ParseError::UnexpectedCommand(header.command))?;
    let declared = usize::from(header.length);
    let after_header = buf.get(HEADER_LEN..).unwrap_or_default();
    let data = after_header
        .get(..declared)
        .ok_or(ParseError::LyingLength {
            declared,
            available: after_header.len(),
        })?;
    let trailing_bytes = after_header.len() - data.len();
    let mut reply = Reply {
        header,
        command,
        status_name: None,
        items_declared: None,
        items: Vec::new(),
        trailing_bytes,
        warnings: Vec::new(),
    };
    if header.status == 0 && trailing_bytes > 0 {
        // More bytes than the header announces (a datagram: on TCP the header frames the
        // reply). When the announced data do not hold the item list, the datagram does:
        // devices that send length 0 with a whole identity exist.
        let mut announced = reply.clone();
        if parse_items(data, &mut announced).is_ok() && !announced.items.is_empty() {
            announced.warnings.push(format!(
                "{trailing_bytes} bytes after the {declared} data bytes the header announced, ignored"
            ));
            return Ok(announced);
        }
        reply.trailing_bytes = 0;
        reply.warnings.push(format!(
            "header length announces {declared} data bytes, the datagram carries {}: the item list it holds is decoded",
            after_header.len()
        ));
        parse_items(after_header, &mut reply)?;
        return Ok(reply);
    }
    if trailing_bytes > 0 {
        reply.warnings.push(format!(
            "{trailing_bytes} bytes after the {declared} data bytes the header announced, ignored"
        ));
    }
    if header.status != 0 {
        reply.status_name = encap_status_name(header.status);
        // An error reply has no item list defined; whatever follows is not ours to guess at.
        if !data.is_empty() {
            reply.warnings.push(format!(
                "{} data bytes after non-zero status {:#x}, ignored",
                data.len(),
                header.status
            ));
        }
        return Ok(reply);
    }
    parse_items(data, &mut reply)?;
    Ok(reply)
}

fn parse_items(data: &[u8], reply: &mut Reply) -> Result<(), ParseError> {
    let mut r = Cursor::new(data);
    let declared = r.u16_le("CPF item count")?;
    reply.items_declared = Some(declared);
    if declared == 0 {
        reply
            .warnings
            .push(format!("{} reply carries no items", reply.command.name()));
    }
    let wanted = usize::from(declared);
    if wanted > MAX_ITEMS {
        reply.warnings.push(format!(
            "{declared} items announced, only the first {MAX_ITEMS} decoded"
        ));
    }
    for index in 0..wanted.min(MAX_ITEMS) {
        if r.len() == 0 {
            return Err(ParseError::ItemCountOverrun {
                declared,
                parsed: index,
            });
        }
        let item_type = r.u16_le("CPF item type")?;
        let length = r.u16_le("CPF item length")?;
        let available = r.len();
        let body =
            r.take(usize::from(length), "CPF item")
                .map_err(|_| ParseError::ItemOverrun {
                    index,
                    item_type,
                    declared: usize::from(length),
                    available,
                })?;
        let item = match item_type {
            ITEM_IDENTITY => {
                let (identity, overrun) = parse_identity(body, r.rest(), &mut reply.warnings)?;
                if overrun > 0 {
                    // The identity ran past its item: what follows is part of it, not items.
                    r.take(overrun, "identity past its item")?;
                }
                CpfItem::Identity(Box::new(identity))
            }
            ITEM_LIST_SERVICES => CpfItem::Service(parse_service(body, &mut reply.warnings)?),
            _ => CpfItem::Unknown(EnipUnknownItem { item_type, length }),
        };
        reply.items.push(item);
    }
    if wanted <= MAX_ITEMS && r.len() > 0 {
        reply.warnings.push(format!(
            "{} bytes after the last CPF item, ignored",
            r.len()
        ));
    }
    let identities = reply
        .items
        .iter()
        .filter(|item| matches!(item, CpfItem::Identity(_)))
        .count();
    if identities > 1 {
        reply.warnings.push(format!(
            "{identities} identity items; the first is reported"
        ));
    }
    Ok(())
}

/// Decodes an Identity item. `after` is the reply data after the item: a product name
/// whose length byte runs past the item length is read on into it when it is there (the
/// length byte and the data agree, the item length does not), and the number of bytes so
/// read past the item is returned with the identity.
fn parse_identity(
    item: &[u8],
    after: &[u8],
    warnings: &mut Vec<String>,
) -> Result<(EnipIdentity, usize), ParseError> {
    if item.len() < IDENTITY_FIXED_LEN {
        return Err(ParseError::Truncated {
            what: "identity item",
            needed: IDENTITY_FIXED_LEN,
            available: item.len(),
        });
    }
    let mut r = Cursor::new(item);
    let encapsulation_version = r.u16_le("encapsulation version")?;
    // sockaddr_in travels in network order even though everything around it is LE.
    let family = r.u16_be("sin_family")?;
    let port = r.u16_be("sin_port")?;
    let ip = Ipv4Addr::from(r.u32_be("sin_addr")?);
    r.take(8, "sin_zero")?;
    let vendor_id = r.u16_le("vendor id")?;
    let device_type = r.u16_le("device type")?;
    let product_code = r.u16_le("product code")?;
    let revision_major = r.u8("major revision")?;
    let revision_minor = r.u8("minor revision")?;
    let status_word = r.u16_le("status")?;
    let serial = r.u32_le("serial number")?;
    let name_len = usize::from(r.u8("product name length")?);
    let available = r.len();
    let mut overrun = 0;
    let mut state_byte = None;
    let name: Vec<u8> = match r.take(name_len, "product name") {
        Ok(name) => name.to_vec(),
        Err(_) if available + after.len() >= name_len => {
            let short = name_len - available;
            let mut name = r.take_upto(available).to_vec();
            name.extend_from_slice(after.get(..short).unwrap_or_default());
            // The state byte follows the name, past the item too.
            state_byte = after.get(short).copied();
            overrun = short + usize::from(state_byte.is_some());
            warnings.push(format!(
                "identity item length {} is {short} bytes short of the product name its length byte announces: read on from the reply",
                item.len()
            ));
            name
        }
        Err(_) => {
            return Err(ParseError::NameOverrun {
                declared: name_len,
                available,
            })
        }
    };
    let name = name.as_slice();
    let state = state_byte.or_else(|| r.u8("state").ok());

    if family != AF_INET {
        warnings.push(format!(
            "identity socket address family {family}, not AF_INET (2)"
        ));
    }
    if name_len > MAX_PRODUCT_NAME_LEN {
        warnings.push(format!(
            "product name is {name_len} bytes, more than the {MAX_PRODUCT_NAME_LEN} CIP allows"
        ));
    }
    if state.is_none() {
        warnings.push("identity item ends without the state byte".to_owned());
    }
    if r.len() > 0 {
        warnings.push(format!(
            "{} bytes after the state byte in the identity item, ignored",
            r.len()
        ));
    }

    let identity = EnipIdentity {
        encapsulation_version,
        socket_address: EnipSocketAddress {
            family,
            port,
            ip: ip.to_string(),
        },
        vendor_id,
        vendor_name: crate::vendors::odva_vendor(vendor_id).map(str::to_owned),
        device_type,
        device_type_name: crate::vendors::cip_device_type(device_type).map(str::to_owned),
        product_code,
        revision: format!("{revision_major}.{revision_minor}"),
        revision_major,
        revision_minor,
        status_word,
        status: EnipStatus::from_word(status_word),
        serial_number: format!("{serial:08X}"),
        product_name: DeviceText::from_bytes(name),
        state,
        state_name: state.map(|s| state_name(s).to_owned()),
    };
    Ok((identity, overrun))
}

fn parse_service(item: &[u8], warnings: &mut Vec<String>) -> Result<EnipServiceItem, ParseError> {
    let mut r = Cursor::new(item);
    if item.len() < SERVICE_ITEM_LEN {
        return Err(ParseError::Truncated {
            what: "ListServices item",
            needed: SERVICE_ITEM_LEN,
            available: item.len(),
        });
    }
    let version = r.u16_le("service version")?;
    let capability_flags = r.u16_le("capability flags")?;
    let raw_name = r.take(16, "service name")?;
    if r.len() > 0 {
        warnings.push(format!(
            "{} bytes after the ListServices item name, ignored",
            r.len()
        ));
    }
    let name_end = raw_name
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(raw_name.len());
    let name = raw_name.get(..name_end).unwrap_or_default();
    Ok(EnipServiceItem {
        version,
        capability_flags,
        cip_over_tcp: capability_flags & CAPABILITY_CIP_OVER_TCP != 0,
        class01_over_udp: capability_flags & CAPABILITY_CLASS01_OVER_UDP != 0,
        name: String::from_utf8_lossy(name).into_owned(),
    })
}

/// Largest reply accepted: identity and services replies are well under 200 bytes,
/// so a declared length beyond this is a lie or a flood, not a device.
pub const MAX_REPLY_LEN: usize = 2048;

/// Frames an EtherNet/IP reply on a TCP stream: 24-byte header plus its length
/// field, matched to the request by the sender context (`correlation`).
pub fn frame(buf: &[u8], correlation: u32) -> FrameCheck<ParseError> {
    let Some(len) = reply_len(buf) else {
        return FrameCheck::NeedMore;
    };
    if len > MAX_REPLY_LEN {
        return FrameCheck::Invalid(ParseError::Oversized(len - HEADER_LEN));
    }
    if buf.len() < len {
        return FrameCheck::NeedMore;
    }
    FrameCheck::Complete {
        len,
        matches: header_context(buf) == Some(correlation),
    }
}

/// True when `datagram` answers the request sent with `correlation`: its sender
/// context echoes it (any of the three commands; [`check_answers`] tells which).
pub fn answers(_request: &Request, datagram: &[u8], correlation: u32) -> bool {
    header_context(datagram) == Some(correlation)
}

/// Checks that a parsed reply answers `request` (the same command).
pub fn check_answers(request: &Request, reply: &Reply) -> Result<(), ParseError> {
    if reply.command == *request {
        Ok(())
    } else {
        Err(ParseError::WrongCommand {
            got: reply.command,
            asked: *request,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::details::{device_role, EnipDetails};
    use super::super::DEFAULT_PORT;
    use super::*;
    use crate::record::fields::DeviceType;
    use proptest::prelude::*;

    // -----------------------------------------------------------------------
    // Builders: replies are assembled field by field, in wire order, so each test
    // shows exactly which bytes it gets wrong.

    fn hx(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    const CTX: [u8; 8] = [0x2A, 0, 0, 0, 0, 0, 0, 0];

    fn reply_bytes(command: u16, status: u32, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&command.to_le_bytes());
        out.extend_from_slice(&u16::try_from(data.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&status.to_le_bytes());
        out.extend_from_slice(&CTX);
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    fn cpf(items: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut out = u16::try_from(items.len()).unwrap().to_le_bytes().to_vec();
        for (item_type, body) in items {
            out.extend_from_slice(&item_type.to_le_bytes());
            out.extend_from_slice(&u16::try_from(body.len()).unwrap().to_le_bytes());
            out.extend_from_slice(body);
        }
        out
    }

    struct Ident<'a> {
        vendor: u16,
        device_type: u16,
        product_code: u16,
        revision: (u8, u8),
        status: u16,
        serial: u32,
        name: &'a [u8],
        state: Option<u8>,
        ip: [u8; 4],
    }

    impl Default for Ident<'_> {
        fn default() -> Self {
            Ident {
                vendor: 1,
                device_type: 0x0E,
                product_code: 54,
                revision: (20, 11),
                status: 0x0060,
                serial: 0x00C0_FFEE,
                name: b"1756-L61/B LOGIX5561",
                state: Some(3),
                ip: [192, 168, 1, 10],
            }
        }
    }

    fn identity_item(id: &Ident<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&2u16.to_be_bytes());
        out.extend_from_slice(&DEFAULT_PORT.to_be_bytes());
        out.extend_from_slice(&id.ip);
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&id.vendor.to_le_bytes());
        out.extend_from_slice(&id.device_type.to_le_bytes());
        out.extend_from_slice(&id.product_code.to_le_bytes());
        out.push(id.revision.0);
        out.push(id.revision.1);
        out.extend_from_slice(&id.status.to_le_bytes());
        out.extend_from_slice(&id.serial.to_le_bytes());
        out.push(u8::try_from(id.name.len()).unwrap());
        out.extend_from_slice(id.name);
        out.extend(id.state);
        out
    }

    fn list_identity(id: &Ident<'_>) -> Vec<u8> {
        reply_bytes(0x63, 0, &cpf(&[(ITEM_IDENTITY, identity_item(id))]))
    }

    fn services_item(version: u16, flags: u16, name: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&flags.to_le_bytes());
        let mut padded = [0u8; 16];
        padded[..name.len()].copy_from_slice(name);
        out.extend_from_slice(&padded);
        out
    }

    fn identity_of(buf: &[u8]) -> EnipIdentity {
        parse(buf).unwrap().identity().unwrap().clone()
    }

    // -----------------------------------------------------------------------
    // Requests

    #[test]
    fn each_command_encodes_to_its_exact_24_bytes() {
        let cases = [
            (
                Command::ListIdentity,
                "6300 0000 00000000 00000000 04030201 00000000 00000000",
            ),
            (
                Command::ListServices,
                "0400 0000 00000000 00000000 04030201 00000000 00000000",
            ),
            (
                Command::ListInterfaces,
                "6400 0000 00000000 00000000 04030201 00000000 00000000",
            ),
        ];
        for (command, expected) in cases {
            let bytes = encode(&command, 0x0102_0304);
            assert_eq!(bytes.len(), HEADER_LEN);
            assert_eq!(bytes, hx(expected), "{command:?}");
        }
    }

    #[test]
    fn command_codes_round_trip() {
        for command in [
            Command::ListServices,
            Command::ListIdentity,
            Command::ListInterfaces,
        ] {
            assert_eq!(Command::from_code(command.code()), Some(command));
        }
        for code in [0x0000, 0x0001, 0x0065, 0x0066, 0x006F, 0x0070, 0xFFFF] {
            assert_eq!(Command::from_code(code), None);
        }
    }

    #[test]
    fn reply_len_and_context_frame_a_reply() {
        let request = encode(&Command::ListIdentity, 0xDEAD_BEEF);
        assert_eq!(reply_len(&request), Some(HEADER_LEN));
        assert_eq!(header_context(&request), Some(0xDEAD_BEEF));
        assert_eq!(EncapHeader::parse(&request).unwrap().context(), 0xDEAD_BEEF);

        let reply = list_identity(&Ident::default());
        assert_eq!(reply_len(&reply), Some(reply.len()));
        assert_eq!(header_context(&reply), Some(42));
        for n in 0..HEADER_LEN {
            assert_eq!(reply_len(&reply[..n]), None);
            assert_eq!(header_context(&reply[..n]), None);
        }
        // Known once the header is in, before the data has arrived.
        assert_eq!(reply_len(&reply[..HEADER_LEN]), Some(reply.len()));
    }

    // -----------------------------------------------------------------------
    // Real-world identities

    /// ListIdentity reply of cpppo's ControlLogix 1756-L61 simulation, as captured from a
    /// live simulator and published as a test vector: one Identity item advertising
    /// 0.0.0.0:44818, sender context "LISTIDEN", state 0xFF.
    const CPPPO_1756_L61: &str = "63003c00 00000000 00000000 4c495354 4944454e 00000000
        0100 0c00 3600
        0100 0002 af12 00000000 0000000000000000
        0100 0e00 3600 14 0b 6031 1a066c00
        14 313735362d4c36312f42204c4f47495835353631 ff";

    #[test]
    fn controllogix_1756_l61_capture() {
        let bytes = hx(CPPPO_1756_L61);
        assert_eq!(bytes.len(), HEADER_LEN + 60);
        let reply = parse(&bytes).unwrap();
        assert_eq!(reply.command, Command::ListIdentity);
        assert_eq!(&reply.header.sender_context, b"LISTIDEN");
        assert_eq!(reply.items_declared, Some(1));
        assert_eq!(reply.trailing_bytes, 0);
        assert!(reply.warnings.is_empty(), "{:?}", reply.warnings);
        let id = reply.identity().unwrap();
        assert_eq!(id.encapsulation_version, 1);
        assert_eq!(
            id.socket_address,
            EnipSocketAddress {
                family: 2,
                port: 44818,
                ip: "0.0.0.0".into()
            }
        );
        assert_eq!(id.vendor_id, 1);
        assert_eq!(
            id.vendor_name.as_deref(),
            Some("Rockwell Automation/Allen-Bradley")
        );
        assert_eq!(id.device_type, 0x0E);
        assert_eq!(
            id.device_type_name.as_deref(),
            Some("Programmable Logic Controller")
        );
        assert_eq!(id.product_code, 54);
        assert_eq!(id.revision, "20.11");
        assert_eq!((id.revision_major, id.revision_minor), (20, 11));
        assert_eq!(id.status_word, 0x3160);
        assert_eq!(
            id.status,
            EnipStatus {
                owned: false,
                configured: false,
                extended_device_status: 6,
                extended_device_status_meaning: "at least one I/O connection in run mode".into(),
                minor_recoverable_fault: true,
                minor_unrecoverable_fault: false,
                major_recoverable_fault: false,
                major_unrecoverable_fault: false,
            }
        );
        assert_eq!(id.serial_number, "006C061A");
        assert_eq!(
            id.product_name,
            DeviceText::from_bytes(b"1756-L61/B LOGIX5561")
        );
        assert_eq!(id.product_name.hex, None);
        assert_eq!(id.state, Some(0xFF));
        assert_eq!(id.state_name.as_deref(), Some("default (not reported)"));
        assert_eq!(device_role(id.device_type), Some(DeviceType::Plc));
    }

    /// CompactLogix 1769-L32E: its Ethernet port answers as a communications adapter.
    /// Vendor, type, product code 158, revision 19.11, serial 0x002AD0EE, state 3 and
    /// the address are as a public Internet-scan banner recorded them; the status
    /// word was not in the banner and is a typical one.
    #[test]
    fn compactlogix_1769_l32e_ethernet_port() {
        let bytes = list_identity(&Ident {
            vendor: 1,
            device_type: 0x0C,
            product_code: 158,
            revision: (19, 11),
            status: 0x0030,
            serial: 0x002A_D0EE,
            name: b"1769-L32E Ethernet Port",
            state: Some(3),
            ip: [192, 168, 0, 200],
        });
        let id = identity_of(&bytes);
        assert_eq!(
            id.device_type_name.as_deref(),
            Some("Communications Adapter")
        );
        assert_eq!(device_role(id.device_type), Some(DeviceType::CommAdapter));
        assert_eq!(id.product_code, 158);
        assert_eq!(id.revision, "19.11");
        assert_eq!(id.serial_number, "002AD0EE");
        assert_eq!(id.product_name.text, "1769-L32E Ethernet Port");
        assert_eq!(id.socket_address.ip, "192.168.0.200");
        assert_eq!(id.status.extended_device_status, 3);
        assert_eq!(
            id.status.extended_device_status_meaning,
            "no I/O connections established"
        );
        assert_eq!(id.state_name.as_deref(), Some("operational"));
    }

    /// CompactLogix 5380 1769-L18ER, fields as recorded by the same banner source.
    #[test]
    fn compactlogix_1769_l18er() {
        let id = identity_of(&list_identity(&Ident {
            product_code: 154,
            revision: (26, 13),
            serial: 0x6064_53B4,
            name: b"1769-L18ER/B LOGIX5318ER",
            ip: [192, 168, 2, 10],
            ..Ident::default()
        }));
        assert_eq!(
            id.device_type_name.as_deref(),
            Some("Programmable Logic Controller")
        );
        assert_eq!(id.revision, "26.13");
        assert_eq!(id.serial_number, "606453B4");
        assert_eq!(id.product_name.text, "1769-L18ER/B LOGIX5318ER");
    }

    /// Omron CJ1W-EIP21, the EtherNet/IP unit of the CJ1/CJ2 family (the CJ2M's built-in
    /// port answers the same way): vendor 47, type 0x0C, product code 11, revision 3.2
    /// and serial 0x012F4766 as a public banner recorded them.
    #[test]
    fn omron_cj1w_eip21() {
        let id = identity_of(&list_identity(&Ident {
            vendor: 47,
            device_type: 0x0C,
            product_code: 11,
            revision: (3, 2),
            status: 0x0004,
            serial: 0x012F_4766,
            name: b"CJ1W-EIP21",
            state: Some(3),
            ip: [192, 168, 21, 2],
        }));
        assert_eq!(id.vendor_name.as_deref(), Some("OMRON Corporation"));
        assert_eq!(id.revision, "3.2");
        assert_eq!(id.serial_number, "012F4766");
        assert!(id.status.configured);
        assert!(!id.status.owned);
    }

    /// Schneider Electric Modicon M580 CPU BMEP582040. The catalogue number, vendor id
    /// 243 and PLC device type are real; product code, revision and serial are
    /// illustrative. Owned, configured and in run mode.
    #[test]
    fn schneider_m580() {
        let id = identity_of(&list_identity(&Ident {
            vendor: 243,
            device_type: 0x0E,
            product_code: 0x0834,
            revision: (3, 20),
            status: 0x0065,
            serial: 0x8C1F_6401,
            name: b"BMEP582040",
            state: Some(3),
            ip: [10, 20, 0, 5],
        }));
        assert_eq!(id.vendor_name.as_deref(), Some("Schneider Electric"));
        assert_eq!(id.revision, "3.20");
        assert_eq!(id.serial_number, "8C1F6401");
        assert!(id.status.owned && id.status.configured);
        assert_eq!(id.status.extended_device_status, 6);
    }

    #[test]
    fn unknown_vendor_and_device_type_keep_their_numbers() {
        let id = identity_of(&list_identity(&Ident {
            vendor: 0xFFFE,
            device_type: 0x0123,
            ..Ident::default()
        }));
        assert_eq!((id.vendor_id, id.vendor_name), (0xFFFE, None));
        assert_eq!((id.device_type, id.device_type_name), (0x0123, None));
        assert_eq!(device_role(0x0123), None);
    }

    // -----------------------------------------------------------------------
    // ListServices, ListInterfaces, status

    #[test]
    fn list_services_reply() {
        let bytes = reply_bytes(
            0x04,
            0,
            &cpf(&[(
                ITEM_LIST_SERVICES,
                services_item(1, 0x0120, b"Communications"),
            )]),
        );
        let reply = parse(&bytes).unwrap();
        assert_eq!(reply.command, Command::ListServices);
        assert!(reply.warnings.is_empty(), "{:?}", reply.warnings);
        let services: Vec<_> = reply.services().collect();
        assert_eq!(
            services,
            [&EnipServiceItem {
                version: 1,
                capability_flags: 0x0120,
                cip_over_tcp: true,
                class01_over_udp: true,
                name: "Communications".into(),
            }]
        );

        // A TCP-only adapter; a name using all 16 bytes, with no NUL.
        let bytes = reply_bytes(
            0x04,
            0,
            &cpf(&[(
                ITEM_LIST_SERVICES,
                services_item(1, 0x0020, b"ABCDEFGHIJKLMNOP"),
            )]),
        );
        let reply = parse(&bytes).unwrap();
        let service = reply.services().next().unwrap();
        assert!(service.cip_over_tcp && !service.class01_over_udp);
        assert_eq!(service.name, "ABCDEFGHIJKLMNOP");
    }

    #[test]
    fn list_services_item_too_short_is_an_error() {
        let bytes = reply_bytes(0x04, 0, &cpf(&[(ITEM_LIST_SERVICES, vec![1, 0, 0x20, 0])]));
        assert_eq!(
            parse(&bytes),
            Err(ParseError::Truncated {
                what: "ListServices item",
                needed: 20,
                available: 4
            })
        );
    }

    #[test]
    fn list_interfaces_reply_with_no_items() {
        let reply = parse(&reply_bytes(0x64, 0, &[0, 0])).unwrap();
        assert_eq!(reply.command, Command::ListInterfaces);
        assert_eq!(reply.items_declared, Some(0));
        assert!(reply.items.is_empty());
        assert_eq!(reply.warnings, ["ListInterfaces reply carries no items"]);
    }

    #[test]
    fn non_zero_status_is_returned_with_its_name() {
        let cases = [
            (0x0001, Some("invalid or unsupported encapsulation command")),
            (0x0002, Some("insufficient memory")),
            (0x0003, Some("poorly formed or incorrect data")),
            (0x0064, Some("invalid session handle")),
            (0x0065, Some("invalid length")),
            (0x0069, Some("unsupported encapsulation protocol revision")),
            (0x1234, None),
        ];
        for (status, name) in cases {
            let reply = parse(&reply_bytes(0x64, status, &[])).unwrap();
            assert!(reply.is_error());
            assert_eq!(reply.status(), status);
            assert_eq!(reply.status_name, name);
            assert_eq!(reply.items_declared, None);
            assert!(reply.warnings.is_empty());
            let details = EnipDetails::from_reply(&reply);
            assert_eq!(details.header_status, status);
            assert_eq!(details.header_status_name.as_deref(), name);
        }
        // Data after an error status is not decoded, only noted.
        let reply = parse(&reply_bytes(0x63, 1, &[1, 0, 0, 0])).unwrap();
        assert!(reply.items.is_empty());
        assert_eq!(reply.warnings.len(), 1);
    }

    // -----------------------------------------------------------------------
    // Malformed replies

    #[test]
    fn truncated_header() {
        let full = list_identity(&Ident::default());
        for n in [0, 1, 4, 23] {
            assert_eq!(
                parse(&full[..n]),
                Err(ParseError::Truncated {
                    what: "encapsulation header",
                    needed: 24,
                    available: n
                })
            );
        }
    }

    #[test]
    fn lying_header_length() {
        let mut bytes = list_identity(&Ident::default());
        let data_len = bytes.len() - HEADER_LEN;
        bytes.truncate(HEADER_LEN + 10);
        assert_eq!(
            parse(&bytes),
            Err(ParseError::LyingLength {
                declared: data_len,
                available: 10
            })
        );
        // The header alone, announcing a full data part.
        let mut header_only = reply_bytes(0x63, 0, &[]);
        header_only[2..4].copy_from_slice(&0xFFFFu16.to_le_bytes());
        assert_eq!(
            parse(&header_only),
            Err(ParseError::LyingLength {
                declared: 0xFFFF,
                available: 0
            })
        );
    }

    #[test]
    fn bytes_after_the_declared_length_are_ignored_but_noted() {
        let mut bytes = list_identity(&Ident::default());
        bytes.extend_from_slice(&[0xAA; 5]);
        let reply = parse(&bytes).unwrap();
        assert_eq!(reply.trailing_bytes, 5);
        assert!(reply.identity().is_some());
        assert_eq!(reply.warnings.len(), 1, "{:?}", reply.warnings);
    }

    #[test]
    fn commands_we_never_send_are_rejected() {
        for command in [0x0065, 0x006F, 0x0001] {
            let bytes = reply_bytes(command, 0, &[0, 0]);
            assert_eq!(parse(&bytes), Err(ParseError::UnexpectedCommand(command)));
        }
    }

    #[test]
    fn missing_item_count() {
        for data in [&[][..], &[1][..]] {
            assert_eq!(
                parse(&reply_bytes(0x63, 0, data)),
                Err(ParseError::Truncated {
                    what: "CPF item count",
                    needed: 2,
                    available: data.len()
                })
            );
        }
    }

    #[test]
    fn truncated_item_header() {
        assert_eq!(
            parse(&reply_bytes(0x63, 0, &[1, 0, 0x0C])),
            Err(ParseError::Truncated {
                what: "CPF item type",
                needed: 2,
                available: 1
            })
        );
        assert_eq!(
            parse(&reply_bytes(0x63, 0, &[1, 0, 0x0C, 0, 0x36])),
            Err(ParseError::Truncated {
                what: "CPF item length",
                needed: 2,
                available: 1
            })
        );
    }

    #[test]
    fn truncated_item_body() {
        // The item says 54 bytes; the reply (whose header length is honest) has 20.
        let item = identity_item(&Ident::default());
        let mut data = cpf(&[(ITEM_IDENTITY, item.clone())]);
        data.truncate(6 + 20);
        assert_eq!(
            parse(&reply_bytes(0x63, 0, &data)),
            Err(ParseError::ItemOverrun {
                index: 0,
                item_type: ITEM_IDENTITY,
                declared: item.len(),
                available: 20
            })
        );
    }

    #[test]
    fn lying_item_length() {
        let mut data = cpf(&[(ITEM_IDENTITY, identity_item(&Ident::default()))]);
        let present = data.len() - 6;
        data[4..6].copy_from_slice(&600u16.to_le_bytes());
        assert_eq!(
            parse(&reply_bytes(0x63, 0, &data)),
            Err(ParseError::ItemOverrun {
                index: 0,
                item_type: ITEM_IDENTITY,
                declared: 600,
                available: present
            })
        );
        // A second item lying after a good first one is caught at its own index.
        let mut data = cpf(&[
            (
                ITEM_LIST_SERVICES,
                services_item(1, 0x20, b"Communications"),
            ),
            (0x8000, vec![0; 16]),
        ]);
        let at = 2 + 4 + 20 + 2;
        data[at..at + 2].copy_from_slice(&17u16.to_le_bytes());
        assert!(matches!(
            parse(&reply_bytes(0x04, 0, &data)),
            Err(ParseError::ItemOverrun {
                index: 1,
                item_type: 0x8000,
                declared: 17,
                available: 16
            })
        ));
    }

    #[test]
    fn identity_item_shorter_than_its_fixed_fields() {
        let item = identity_item(&Ident::default());
        let bytes = reply_bytes(0x63, 0, &cpf(&[(ITEM_IDENTITY, item[..32].to_vec())]));
        assert_eq!(
            parse(&bytes),
            Err(ParseError::Truncated {
                what: "identity item",
                needed: 33,
                available: 32
            })
        );
    }

    #[test]
    fn item_count_zero() {
        let reply = parse(&reply_bytes(0x63, 0, &[0, 0])).unwrap();
        assert_eq!(reply.items_declared, Some(0));
        assert!(reply.identity().is_none());
        assert_eq!(reply.warnings, ["ListIdentity reply carries no items"]);
    }

    #[test]
    fn item_count_65535_with_one_item() {
        let mut data = cpf(&[(ITEM_IDENTITY, identity_item(&Ident::default()))]);
        data[0..2].copy_from_slice(&0xFFFFu16.to_le_bytes());
        assert_eq!(
            parse(&reply_bytes(0x63, 0, &data)),
            Err(ParseError::ItemCountOverrun {
                declared: 0xFFFF,
                parsed: 1
            })
        );
    }

    #[test]
    fn item_count_above_the_cap_decodes_the_first_items_only() {
        let items: Vec<(u16, Vec<u8>)> = (0..100).map(|i| (0x9000 + i, Vec::new())).collect();
        let reply = parse(&reply_bytes(0x64, 0, &cpf(&items))).unwrap();
        assert_eq!(reply.items_declared, Some(100));
        assert_eq!(reply.items.len(), MAX_ITEMS);
        assert_eq!(
            reply.items.last(),
            Some(&CpfItem::Unknown(EnipUnknownItem {
                item_type: 0x9000 + 63,
                length: 0
            }))
        );
        assert_eq!(
            reply.warnings,
            ["100 items announced, only the first 64 decoded"]
        );
    }

    #[test]
    fn unknown_item_types_are_kept() {
        let data = cpf(&[
            (0x8000, vec![0; 16]),
            (ITEM_IDENTITY, identity_item(&Ident::default())),
            (0x1234, Vec::new()),
        ]);
        let reply = parse(&reply_bytes(0x63, 0, &data)).unwrap();
        assert!(reply.warnings.is_empty(), "{:?}", reply.warnings);
        assert_eq!(reply.items.len(), 3);
        assert_eq!(
            reply.items[0],
            CpfItem::Unknown(EnipUnknownItem {
                item_type: 0x8000,
                length: 16
            })
        );
        assert!(matches!(reply.items[1], CpfItem::Identity(_)));
        let details = EnipDetails::from_reply(&reply);
        assert_eq!(details.unknown_items.len(), 2);
        assert!(details.identity.is_some());
    }

    #[test]
    fn bytes_after_the_last_item_are_noted() {
        let mut data = cpf(&[(ITEM_IDENTITY, identity_item(&Ident::default()))]);
        data.extend_from_slice(&[0, 0, 0]);
        let reply = parse(&reply_bytes(0x63, 0, &data)).unwrap();
        assert_eq!(reply.warnings, ["3 bytes after the last CPF item, ignored"]);
    }

    #[test]
    fn product_name_length_255_beyond_the_item() {
        let mut item = identity_item(&Ident {
            name: b"1756-L61",
            ..Ident::default()
        });
        item[32] = 255;
        let bytes = reply_bytes(0x63, 0, &cpf(&[(ITEM_IDENTITY, item)]));
        assert_eq!(
            parse(&bytes),
            Err(ParseError::NameOverrun {
                declared: 255,
                available: 9
            })
        );
    }

    /// Issue 14: encapsulation length 00 00 while the datagram carries the whole Identity
    /// item, whose item length is smaller than the product name its own length byte says.
    #[test]
    fn lengths_that_say_less_than_the_datagram_are_read_past() {
        let mut bytes = list_identity(&Ident::default());
        bytes[2..4].copy_from_slice(&[0, 0]);
        let item_len = u16::from_le_bytes([bytes[28], bytes[29]]);
        bytes[28..30].copy_from_slice(&(item_len - 5).to_le_bytes());
        let reply = parse(&bytes).unwrap();
        let id = reply.identity().expect("identity decoded");
        assert_eq!(id.product_name.text, "1756-L61/B LOGIX5561");
        assert_eq!(id.state, Some(3));
        assert_eq!(reply.trailing_bytes, 0);
        assert_eq!(reply.warnings.len(), 2, "{:?}", reply.warnings);
        assert!(reply.warnings[0].contains("header length announces 0 data bytes"));
        assert!(reply.warnings[1].contains("4 bytes short of the product name"));
    }

    #[test]
    fn non_utf8_product_name_is_read_as_windows_1252_and_kept_as_hex() {
        let id = identity_of(&list_identity(&Ident {
            name: b"PLC \xff\xfe\x80 5",
            ..Ident::default()
        }));
        assert_eq!(id.product_name.hex.as_deref(), Some("504c4320fffe802035"));
        assert_eq!(id.product_name.text, "PLC ÿþ€ 5");
        assert_eq!(id.product_name.encoding.as_deref(), Some("windows-1252"));
    }

    #[test]
    fn thirty_two_char_name_is_fine_and_longer_is_noted() {
        let name32 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
        let reply = parse(&list_identity(&Ident {
            name: name32,
            ..Ident::default()
        }))
        .unwrap();
        assert!(reply.warnings.is_empty(), "{:?}", reply.warnings);
        assert_eq!(reply.identity().unwrap().product_name.text.len(), 32);
        assert_eq!(reply.identity().unwrap().state, Some(3));

        let name33 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456";
        let reply = parse(&list_identity(&Ident {
            name: name33,
            ..Ident::default()
        }))
        .unwrap();
        assert_eq!(reply.identity().unwrap().product_name.text.len(), 33);
        assert_eq!(
            reply.warnings,
            ["product name is 33 bytes, more than the 32 CIP allows"]
        );
    }

    #[test]
    fn empty_product_name() {
        let id = identity_of(&list_identity(&Ident {
            name: b"",
            ..Ident::default()
        }));
        assert_eq!(id.product_name.text, "");
        assert_eq!(id.state, Some(3));
    }

    #[test]
    fn missing_state_byte() {
        let reply = parse(&list_identity(&Ident {
            state: None,
            ..Ident::default()
        }))
        .unwrap();
        let id = reply.identity().unwrap();
        assert_eq!((id.state, id.state_name.as_deref()), (None, None));
        assert_eq!(
            reply.warnings,
            ["identity item ends without the state byte"]
        );
    }

    #[test]
    fn extra_bytes_in_the_identity_item_and_odd_family_are_noted() {
        let mut item = identity_item(&Ident::default());
        item[2..4].copy_from_slice(&23u16.to_be_bytes());
        item.extend_from_slice(&[1, 2]);
        let reply = parse(&reply_bytes(0x63, 0, &cpf(&[(ITEM_IDENTITY, item)]))).unwrap();
        assert_eq!(reply.identity().unwrap().socket_address.family, 23);
        assert_eq!(reply.warnings.len(), 2, "{:?}", reply.warnings);
    }

    #[test]
    fn two_identity_items_report_the_first() {
        let data = cpf(&[
            (ITEM_IDENTITY, identity_item(&Ident::default())),
            (
                ITEM_IDENTITY,
                identity_item(&Ident {
                    name: b"second",
                    ..Ident::default()
                }),
            ),
        ]);
        let reply = parse(&reply_bytes(0x63, 0, &data)).unwrap();
        assert_eq!(
            reply.identity().unwrap().product_name.text,
            "1756-L61/B LOGIX5561"
        );
        assert_eq!(reply.warnings, ["2 identity items; the first is reported"]);
    }

    // -----------------------------------------------------------------------
    // Decoded fields

    #[test]
    fn status_word_bits() {
        let s = EnipStatus::from_word(0x0000);
        assert!(!s.owned && !s.configured && s.extended_device_status == 0);
        assert_eq!(s.extended_device_status_meaning, "self-testing or unknown");
        assert!(EnipStatus::from_word(0x0001).owned);
        assert!(EnipStatus::from_word(0x0004).configured);
        assert!(!EnipStatus::from_word(0x0002).owned && !EnipStatus::from_word(0x0002).configured);
        assert!(EnipStatus::from_word(0x0100).minor_recoverable_fault);
        assert!(EnipStatus::from_word(0x0200).minor_unrecoverable_fault);
        assert!(EnipStatus::from_word(0x0400).major_recoverable_fault);
        assert!(EnipStatus::from_word(0x0800).major_unrecoverable_fault);
        let all = EnipStatus::from_word(0xFFFF);
        assert!(all.owned && all.configured && all.major_unrecoverable_fault);
        assert_eq!(all.extended_device_status, 15);
        assert_eq!(all.extended_device_status_meaning, "vendor specific");
        let meanings: Vec<_> = (0u16..16)
            .map(|v| EnipStatus::from_word(v << 4).extended_device_status_meaning)
            .collect();
        assert_eq!(meanings[1], "firmware update in progress");
        assert_eq!(meanings[2], "at least one faulted I/O connection");
        assert_eq!(meanings[4], "non-volatile configuration bad");
        assert_eq!(meanings[5], "major fault");
        assert_eq!(
            meanings[7],
            "at least one I/O connection established, all in idle mode"
        );
        assert_eq!(meanings[8], "reserved");
        assert_eq!(meanings[10], "vendor specific");
    }

    #[test]
    fn state_names() {
        assert_eq!(state_name(0), "nonexistent");
        assert_eq!(state_name(3), "operational");
        assert_eq!(state_name(5), "major unrecoverable fault");
        assert_eq!(state_name(6), "reserved");
        assert_eq!(state_name(255), "default (not reported)");
    }

    #[test]
    fn device_roles() {
        assert_eq!(device_role(0x0E), Some(DeviceType::Plc));
        assert_eq!(device_role(0x0C), Some(DeviceType::CommAdapter));
        assert_eq!(device_role(0x18), Some(DeviceType::Hmi));
        for drive in [0x02, 0x13, 0x25, 0x2D, 0x2E] {
            assert_eq!(device_role(drive), Some(DeviceType::Drive), "{drive:#x}");
        }
        for io in [0x07, 0x23, 0x2A, 0x31] {
            assert_eq!(device_role(io), Some(DeviceType::Io), "{io:#x}");
        }
        assert_eq!(device_role(0x2C), Some(DeviceType::Switch));
        assert_eq!(device_role(0x29), Some(DeviceType::Gateway));
        assert_eq!(device_role(0x16), Some(DeviceType::Other)); // motor starter
        assert_eq!(device_role(0x1D), Some(DeviceType::Other)); // process control valve
        assert_eq!(device_role(0x00), None);
        assert_eq!(device_role(0x2B), None);
        assert_eq!(device_role(0x01), None);
        assert_eq!(device_role(0x8000), None);
    }

    #[test]
    fn details_merge_identity_and_services_and_serialize() {
        let identity = parse(&hx(CPPPO_1756_L61)).unwrap();
        let services = parse(&reply_bytes(
            0x04,
            0,
            &cpf(&[(
                ITEM_LIST_SERVICES,
                services_item(1, 0x0120, b"Communications"),
            )]),
        ))
        .unwrap();
        let refused = parse(&reply_bytes(0x64, 1, &[])).unwrap();
        let mut details = EnipDetails::from_reply(&identity);
        details.add_reply(&services);
        details.add_reply(&refused);
        assert_eq!(details.services.len(), 1);
        assert_eq!(details.header_status, 1);
        assert_eq!(
            details.warnings,
            ["ListInterfaces: status 0x1 (invalid or unsupported encapsulation command)"]
        );

        let json = serde_json::to_value(&details).unwrap();
        assert_eq!(json["identity"]["serial_number"], "006C061A");
        assert_eq!(json["identity"]["revision"], "20.11");
        assert_eq!(json["identity"]["socket_address"]["port"], 44818);
        assert_eq!(json["identity"]["status"]["extended_device_status"], 6);
        assert_eq!(
            json["identity"]["product_name"]["text"],
            "1756-L61/B LOGIX5561"
        );
        assert_eq!(json["services"][0]["cip_over_tcp"], true);
        let back: EnipDetails = serde_json::from_value(json).unwrap();
        assert_eq!(back, details);

        let schema = serde_json::to_value(schemars::schema_for!(EnipDetails)).unwrap();
        assert!(schema.to_string().contains("serial_number"));
    }

    #[test]
    fn error_messages_are_one_line_and_name_the_numbers() {
        let errors = [
            ParseError::Truncated {
                what: "identity item",
                needed: 33,
                available: 2,
            },
            ParseError::LyingLength {
                declared: 60,
                available: 10,
            },
            ParseError::UnexpectedCommand(0x65),
            ParseError::ItemOverrun {
                index: 0,
                item_type: 0x0C,
                declared: 600,
                available: 54,
            },
            ParseError::ItemCountOverrun {
                declared: 65535,
                parsed: 1,
            },
            ParseError::NameOverrun {
                declared: 255,
                available: 9,
            },
        ];
        for error in errors {
            let message = error.to_string();
            assert!(!message.contains('\n'));
            assert!(message.chars().any(|c| c.is_ascii_digit()), "{message}");
        }
        assert_eq!(
            ParseError::UnexpectedCommand(0x65).to_string(),
            "command 0x0065 is not ListServices, ListIdentity or ListInterfaces"
        );
    }

    // -----------------------------------------------------------------------
    // Property tests: nothing a device sends can make the parser panic.

    fn valid_replies() -> Vec<Vec<u8>> {
        vec![
            hx(CPPPO_1756_L61),
            list_identity(&Ident::default()),
            list_identity(&Ident {
                state: None,
                name: b"\xff\x00odd",
                ..Ident::default()
            }),
            reply_bytes(
                0x04,
                0,
                &cpf(&[(
                    ITEM_LIST_SERVICES,
                    services_item(1, 0x0120, b"Communications"),
                )]),
            ),
            reply_bytes(
                0x63,
                0,
                &cpf(&[
                    (0x8000, vec![7; 16]),
                    (ITEM_IDENTITY, identity_item(&Ident::default())),
                ]),
            ),
            reply_bytes(0x64, 0, &[0, 0]),
            reply_bytes(0x64, 1, &[]),
        ]
    }

    fn check_consistent(buf: &[u8]) {
        if let Ok(reply) = parse(buf) {
            let len = reply_len(buf).unwrap();
            assert!(len <= buf.len());
            // Bytes past the announced length are ignored, or, when the announced data
            // held no item list, decoded with a warning.
            assert!(
                reply.trailing_bytes == buf.len() - len
                    || reply.trailing_bytes == 0
                        && reply
                            .warnings
                            .iter()
                            .any(|w| w.starts_with("header length announces")),
                "{reply:?}"
            );
            assert!(reply.items.len() <= MAX_ITEMS);
            let _ = EnipDetails::from_reply(&reply);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..400)) {
            check_consistent(&buf);
        }

        #[test]
        fn arbitrary_data_after_a_valid_header_never_panics(
            command in prop_oneof![Just(0x04u16), Just(0x63), Just(0x64)],
            data in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            check_consistent(&reply_bytes(command, 0, &data));
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
            check_consistent(&buf);
        }

        #[test]
        fn every_prefix_of_a_valid_reply_is_handled(which in 0usize..7) {
            let buf = valid_replies().swap_remove(which);
            let full = reply_len(&buf).unwrap();
            for n in 0..buf.len() {
                let result = parse(&buf[..n]);
                if n < full {
                    prop_assert!(result.is_err(), "prefix {n} of {full} parsed");
                }
            }
            prop_assert!(parse(&buf).is_ok());
        }
    }
}
