//! Omron FINS codec, sans IO: the closed [`Request`] set (Controller Data Read, MRC 0x05
//! SRC 0x01, in a bare FINS frame for UDP or inside a FINS/TCP "frame send"; and the
//! FINS/TCP node address data send that must come first on TCP), [`encode`], UDP matching
//! ([`answers`]), TCP framing ([`frame`]), [`parse`] (a FINS frame) and [`parse_tcp`] (a
//! FINS/TCP frame).
//!
//! Wire facts (Omron W342 "FINS Commands Reference", section 5; checked against
//! Wireshark's `omron` dissector and nmap's `omron-info` script):
//!
//! - FINS header, 10 bytes: ICF (0x80: command, response required; a response has bit 6
//!   set, 0xC0/0xC1), RSV 0, GCT 0x02, DNA, DA1, DA2, SNA, SA1, SA2, SID; then MRC, SRC.
//!   A response repeats MRC/SRC, then a 2-byte big-endian end code, then the data.
//! - The end code: bit 15 network relay error, bits 14-8 main code, bit 7 fatal CPU
//!   error, bit 6 non-fatal CPU error, bits 5-0 sub code. `0000` (flags aside) is normal.
//! - Controller Data Read response data: controller model (20 bytes ASCII, space padded),
//!   controller version (20), for system use (40), then the 12-byte area data: program
//!   area size u16, IOM size u8, number of DM words u16, timer/counter size u8, expansion
//!   DM banks u8, number of steps/transitions u16, kind of memory card u8, memory card size
//!   u16, all big-endian. Older CPUs stop after the version: that is accepted.
//! - FINS/TCP: every frame is "FINS", length u32 (bytes after the length field), command
//!   u32, error code u32, then data. Command 0 (client to server) asks for a node address
//!   (client node 0: let the server assign one), command 1 answers with the client and
//!   server node addresses, command 2 carries a FINS frame, command 3 notifies an error.
//!
//! Only Controller Data Read can be spelled: FINS carries RUN/STOP (04 01, 04 02) and
//! memory writes (01 02) in the same frame, so [`encode`] writes the constants 05 01 and
//! nothing in [`Request`] can change them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::protocols::wire::{Cursor, FrameCheck, Truncated};
use crate::record::fields::DeviceText;

/// Length of the FINS header (ICF to SID).
pub const HEADER_LEN: usize = 10;
/// Length of the FINS/TCP header ("FINS", length, command, error code).
pub const TCP_HEADER_LEN: usize = 16;
/// ICF of a command that asks for a response (bit 7 gateway use, bit 6 clear: command,
/// bit 0 clear: response required).
pub const ICF_COMMAND: u8 = 0x80;
/// ICF bit 6: the frame is a response.
pub const ICF_RESPONSE_BIT: u8 = 0x40;
/// Gateway count: the number of bridges a frame may cross (2 for every FINS client).
pub const GCT: u8 = 0x02;
/// Main request code of Controller Data Read.
pub const MRC_CONTROLLER_DATA_READ: u8 = 0x05;
/// Sub request code of Controller Data Read.
pub const SRC_CONTROLLER_DATA_READ: u8 = 0x01;
/// The one data byte sent with Controller Data Read (nmap's and Wireshark's vectors):
/// devices answer with the model and version, most with the area data after them.
pub const CONTROLLER_DATA_READ_DATA: u8 = 0x00;
/// Length of the model and the version fields.
pub const MODEL_LEN: usize = 20;
/// Length of the "for system use" field.
pub const SYSTEM_USE_LEN: usize = 40;
/// Length of the area data.
pub const AREA_DATA_LEN: usize = 12;
/// The FINS/TCP magic, "FINS".
pub const TCP_MAGIC: [u8; 4] = *b"FINS";
/// FINS/TCP command 0: node address data send, client to server.
pub const TCP_NODE_ADDRESS_REQUEST: u32 = 0;
/// FINS/TCP command 1: node address data send, server to client.
pub const TCP_NODE_ADDRESS_REPLY: u32 = 1;
/// FINS/TCP command 2: frame send.
pub const TCP_FRAME_SEND: u32 = 2;
/// FINS/TCP command 3: frame send error notification.
pub const TCP_ERROR_NOTIFICATION: u32 = 3;
/// Largest FINS node address (0xFF is broadcast).
pub const MAX_NODE: u8 = 0xFE;

/// Largest reply accepted: a full Controller Data Read response is 106 bytes (122 over
/// TCP), so anything much larger is a lie or a flood.
pub const MAX_REPLY_LEN: usize = 1024;

/// A FINS node address, 0-254: 0xFF (broadcast) cannot be spelled, so every request
/// goes to one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node(u8);

impl Node {
    /// Node 0: as DA1 of a FINS/UDP request, the node the datagram reaches.
    pub const LOCAL: Node = Node(0);

    /// The node `value`, or `None` for the broadcast address 0xFF.
    pub const fn new(value: u8) -> Option<Node> {
        if value <= MAX_NODE {
            Some(Node(value))
        } else {
            None
        }
    }

    /// The node address on the wire.
    pub const fn value(self) -> u8 {
        self.0
    }
}

/// Where a FINS command goes and whom the answer is for: the node addresses of the FINS
/// header (networks 0, the local network; unit addresses 0, the CPU unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeRoute {
    /// DA1, the destination node ([`Node::LOCAL`] over UDP, which FINS/UDP servers
    /// accept; over TCP, the server node the PLC gave).
    pub destination_node: Node,
    /// SA1, the source node (over TCP, the client node the PLC gave).
    pub source_node: Node,
}

/// The requests otscan can send over FINS; nothing else can be spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// Controller Data Read (MRC 05, SRC 01, data 00): a bare FINS frame for UDP, or a
    /// FINS/TCP frame send (command 2) carrying it when `fins_tcp`.
    ControllerDataRead {
        /// The header's node addresses.
        route: NodeRoute,
        /// Wrap the frame in a FINS/TCP frame send.
        fins_tcp: bool,
    },
    /// FINS/TCP node address data send (command 0) with client node 0: asks the PLC to
    /// assign this connection a FINS node address.
    NodeAddressRequest,
}

/// Encodes `request`. The low byte of `correlation` is the SID of a Controller Data
/// Read (the node address request has no field for it).
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    match *request {
        Request::NodeAddressRequest => {
            let mut out = Vec::with_capacity(20);
            out.extend_from_slice(&TCP_MAGIC);
            out.extend_from_slice(&12u32.to_be_bytes());
            out.extend_from_slice(&TCP_NODE_ADDRESS_REQUEST.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
            out
        }
        Request::ControllerDataRead { route, fins_tcp } => {
            let sid = correlation.to_le_bytes()[0];
            let fins = [
                ICF_COMMAND,
                0x00, // RSV
                GCT,
                0x00, // DNA: local network
                route.destination_node.value(),
                0x00, // DA2: CPU unit
                0x00, // SNA: local network
                route.source_node.value(),
                0x00, // SA2
                sid,
                MRC_CONTROLLER_DATA_READ,
                SRC_CONTROLLER_DATA_READ,
                CONTROLLER_DATA_READ_DATA,
            ];
            if !fins_tcp {
                return fins.to_vec();
            }
            let mut out = Vec::with_capacity(TCP_HEADER_LEN + fins.len());
            out.extend_from_slice(&TCP_MAGIC);
            out.extend_from_slice(&(8 + fins.len() as u32).to_be_bytes());
            out.extend_from_slice(&TCP_FRAME_SEND.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
            out.extend_from_slice(&fins);
            out
        }
    }
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
    /// The frame's ICF is not a response's (bit 6 clear): a command, or an echo of ours.
    #[error("ICF {0:#04x} is not a response (an echo or a command)")]
    NotAResponse(u8),
    /// A response to another command than Controller Data Read.
    #[error("response to command {mrc:02x} {src:02x}, not Controller Data Read (05 01)")]
    WrongCommand {
        /// Main request code of the reply.
        mrc: u8,
        /// Sub request code of the reply.
        src: u8,
    },
    /// A FINS/TCP frame that does not start with "FINS".
    #[error("FINS/TCP frame does not start with \"FINS\" (starts {0:02x?})")]
    BadMagic([u8; 4]),
    /// A FINS/TCP length below the 8 bytes of command and error code.
    #[error("FINS/TCP length {0} is shorter than the command and error code")]
    ShortLength(u32),
    /// A FINS/TCP length field above [`MAX_REPLY_LEN`].
    #[error("FINS/TCP length {0} exceeds the {MAX_REPLY_LEN}-byte cap")]
    Oversized(u32),
    /// A FINS/TCP command other than the node address reply, frame send or error
    /// notification.
    #[error("unexpected FINS/TCP command {0:#x}")]
    UnexpectedTcpCommand(u32),
    /// A FINS/TCP reply of another kind than the request's (a frame for the node address
    /// request, or a node address reply for a frame).
    #[error("FINS/TCP command {got:#x} in answer to a request for command {expected:#x}")]
    WrongTcpCommand {
        /// Command of the reply.
        got: u32,
        /// Command expected.
        expected: u32,
    },
    /// A node address reply with a node address outside 1-254.
    #[error("FINS/TCP node address reply gives {which} node {value}, outside 1-254")]
    NodeOutOfRange {
        /// "client" or "server".
        which: &'static str,
        /// The value sent.
        value: u32,
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

/// The 10-byte FINS header of a reply, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FinsHeader {
    /// Information control field (0xC0 or 0xC1 in a response).
    pub icf: u8,
    /// Reserved, 0.
    pub rsv: u8,
    /// Gateway count.
    pub gct: u8,
    /// Destination network address.
    pub dna: u8,
    /// Destination node address.
    pub da1: u8,
    /// Destination unit address.
    pub da2: u8,
    /// Source network address.
    pub sna: u8,
    /// Source node address: the PLC's FINS node.
    pub sa1: u8,
    /// Source unit address (0: the CPU unit).
    pub sa2: u8,
    /// Service id, echoed from the request.
    pub sid: u8,
}

/// A FINS end code (response code): main and sub code with three flag bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndCode(pub u16);

impl EndCode {
    /// Bit 15: the error happened while relaying on a network.
    pub const fn relay_error(self) -> bool {
        self.0 & 0x8000 != 0
    }
    /// Bit 7: the PLC has a fatal CPU unit error.
    pub const fn fatal_cpu_error(self) -> bool {
        self.0 & 0x0080 != 0
    }
    /// Bit 6: the PLC has a non-fatal CPU unit error.
    pub const fn non_fatal_cpu_error(self) -> bool {
        self.0 & 0x0040 != 0
    }
    /// The main code (bits 14-8).
    pub const fn main(self) -> u8 {
        ((self.0 >> 8) & 0x7F) as u8
    }
    /// The sub code (bits 5-0).
    pub const fn sub(self) -> u8 {
        (self.0 & 0x3F) as u8
    }
    /// The code without its flag bits: main code and sub code.
    pub const fn code(self) -> u16 {
        ((self.main() as u16) << 8) | self.sub() as u16
    }
    /// Normal completion (the flags may still say the CPU has an error).
    pub const fn is_normal(self) -> bool {
        self.code() == 0
    }
    /// The main code's name (W342 section 5-1-3).
    pub const fn main_name(self) -> &'static str {
        match self.main() {
            0x00 => "normal completion",
            0x01 => "local node error",
            0x02 => "destination node error",
            0x03 => "controller error",
            0x04 => "service unsupported",
            0x05 => "routing table error",
            0x10 => "command format error",
            0x11 => "parameter error",
            0x20 => "read not possible",
            0x21 => "write not possible",
            0x22 => "not executable in current mode",
            0x23 => "no such device",
            0x24 => "cannot start/stop",
            0x25 => "unit error",
            0x26 => "command error",
            0x30 => "access right error",
            0x40 => "abort",
            _ => "unknown main code",
        }
    }
    /// The name of the main and sub code together, where the manual names it; else the
    /// main code's name.
    pub const fn name(self) -> &'static str {
        match self.code() {
            0x0000 => "normal completion",
            0x0001 => "service canceled",
            0x0101 => "local node not in network",
            0x0102 => "token timeout",
            0x0103 => "retries failed",
            0x0104 => "too many send frames",
            0x0105 => "node address range error",
            0x0106 => "node address duplication",
            0x0201 => "destination node not in network",
            0x0202 => "unit missing",
            0x0203 => "third node missing",
            0x0204 => "destination node busy",
            0x0205 => "response timeout",
            0x0301 => "communications controller error",
            0x0302 => "CPU unit error",
            0x0303 => "controller error",
            0x0304 => "unit number error",
            0x0401 => "undefined command",
            0x0402 => "not supported by model/version",
            0x0501 => "destination address setting error",
            0x0502 => "no routing tables",
            0x0503 => "routing table error",
            0x0504 => "too many relays",
            0x1001 => "command too long",
            0x1002 => "command too short",
            0x1003 => "elements/data don't match",
            0x1004 => "command format error",
            0x1005 => "header error",
            0x1101 => "area classification missing",
            0x1102 => "access size error",
            0x1103 => "address range error",
            0x1104 => "address range exceeded",
            0x1106 => "program missing",
            0x1109 => "relational error",
            0x110A => "duplicate data access",
            0x110B => "response too long",
            0x110C => "parameter error",
            0x2002 => "protected",
            0x2003 => "table missing",
            0x2004 => "data missing",
            0x2005 => "program missing",
            0x2006 => "file missing",
            0x2007 => "data mismatch",
            0x2101 => "read-only",
            0x2102 => "protected",
            0x2103 => "cannot register",
            0x2105 => "program missing",
            0x2106 => "file missing",
            0x2107 => "file name already exists",
            0x2108 => "cannot change",
            0x2201 => "not possible during execution",
            0x2202 => "not possible while running",
            0x2203 => "wrong PLC mode (program)",
            0x2204 => "wrong PLC mode (debug)",
            0x2205 => "wrong PLC mode (monitor)",
            0x2206 => "wrong PLC mode (run)",
            0x2207 => "specified node not polling node",
            0x2208 => "step cannot be executed",
            0x2301 => "file device missing",
            0x2302 => "memory missing",
            0x2303 => "clock missing",
            0x2401 => "table missing",
            0x2502 => "memory error",
            0x2503 => "I/O setting error",
            0x2504 => "too many I/O points",
            0x2505 => "CPU bus error",
            0x2506 => "I/O duplication",
            0x2507 => "I/O bus error",
            0x2509 => "SYSMAC BUS/2 error",
            0x250A => "CPU bus unit error",
            0x250D => "SYSMAC BUS number duplication",
            0x250F => "memory error",
            0x2510 => "SYSMAC BUS terminator missing",
            0x2601 => "no protection",
            0x2602 => "incorrect password",
            0x2604 => "protected",
            0x2605 => "service already executing",
            0x2606 => "service stopped",
            0x2607 => "no execution right",
            0x2608 => "settings not complete",
            0x2609 => "necessary items not set",
            0x260A => "number already defined",
            0x260B => "error will not clear",
            0x3001 => "no access right",
            0x4001 => "service aborted",
            _ => self.main_name(),
        }
    }
}

/// The area data of a Controller Data Read response, as the CPU reports it (units per
/// Omron's manual for the CPU series; otscan keeps the numbers as sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct AreaData {
    /// Program area size (K words on CS/CJ CPUs).
    pub program_area_size: u16,
    /// IOM size: the area bit/word commands can reach (K bytes).
    pub iom_size: u8,
    /// Number of DM words.
    pub dm_words: u16,
    /// Timer/counter size.
    pub timer_counter_size: u8,
    /// Expansion DM (EM) size, in banks.
    pub expansion_dm_size: u8,
    /// Number of steps/transitions (SFC).
    pub steps_transitions: u16,
    /// Kind of memory card (0 none; see [`memory_card_name`]).
    pub memory_card_kind: u8,
    /// Memory card size (K bytes).
    pub memory_card_size: u16,
}

/// The name of a memory card kind byte (nmap's `omron-info` and the CV-series manual:
/// 0 no memory card, 1 SPRAM, 2 EPROM, 3 EEPROM); `None` for other values.
pub const fn memory_card_name(kind: u8) -> Option<&'static str> {
    match kind {
        0 => Some("no memory card"),
        1 => Some("SPRAM"),
        2 => Some("EPROM"),
        3 => Some("EEPROM"),
        _ => None,
    }
}

/// What a normal Controller Data Read response carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControllerData {
    /// Controller model, as sent (20 bytes, space padded).
    pub model: Option<DeviceText>,
    /// Controller version, as sent (20 bytes, space padded).
    pub version: Option<DeviceText>,
    /// The 40 "for system use" bytes.
    pub for_system_use: Option<Vec<u8>>,
    /// The area data (absent from the short replies of older CPUs).
    pub area: Option<AreaData>,
}

/// A decoded FINS response frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The header as sent.
    pub header: FinsHeader,
    /// Main request code echoed.
    pub mrc: u8,
    /// Sub request code echoed.
    pub src: u8,
    /// End code.
    pub end_code: EndCode,
    /// The response data of a normal completion.
    pub data: Option<ControllerData>,
    /// Oddities accepted while decoding.
    pub warnings: Vec<String>,
}

/// Reads one fixed-size text field, or what is left of it (a warning then says so).
fn text_field(
    cursor: &mut Cursor<'_>,
    len: usize,
    what: &str,
    warnings: &mut Vec<String>,
) -> Option<DeviceText> {
    let bytes = cursor.take_upto(len);
    if bytes.is_empty() {
        return None;
    }
    if bytes.len() < len {
        warnings.push(format!("{what} is {} bytes, {len} expected", bytes.len()));
    }
    Some(DeviceText::from_bytes(bytes))
}

/// Decodes a FINS response frame (a UDP datagram, or the data of a FINS/TCP frame send).
///
/// The header, MRC/SRC and end code are required; MRC/SRC must be 05 01
/// ([`ParseError::WrongCommand`]). After a normal end code the model and version are
/// read as far as they go, then "for system use" and the area data when whole; shorter
/// or longer data is a warning.
pub fn parse(buf: &[u8]) -> Result<Reply, ParseError> {
    let mut cursor = Cursor::new(buf);
    let h: [u8; HEADER_LEN] = cursor.array("FINS header")?;
    let header = FinsHeader {
        icf: h[0],
        rsv: h[1],
        gct: h[2],
        dna: h[3],
        da1: h[4],
        da2: h[5],
        sna: h[6],
        sa1: h[7],
        sa2: h[8],
        sid: h[9],
    };
    if header.icf & ICF_RESPONSE_BIT == 0 {
        return Err(ParseError::NotAResponse(header.icf));
    }
    let mrc = cursor.u8("MRC")?;
    let src = cursor.u8("SRC")?;
    if (mrc, src) != (MRC_CONTROLLER_DATA_READ, SRC_CONTROLLER_DATA_READ) {
        return Err(ParseError::WrongCommand { mrc, src });
    }
    let end_code = EndCode(cursor.u16_be("end code")?);
    let mut warnings = Vec::new();
    if header.rsv != 0 {
        warnings.push(format!("RSV is {:#04x}, 0 expected", header.rsv));
    }
    if end_code.relay_error() {
        warnings.push("end code flags a network relay error".to_owned());
    }
    if end_code.fatal_cpu_error() {
        warnings.push("end code flags a fatal CPU unit error".to_owned());
    }
    if end_code.non_fatal_cpu_error() {
        warnings.push("end code flags a non-fatal CPU unit error".to_owned());
    }
    if !end_code.is_normal() {
        if cursor.len() > 0 {
            warnings.push(format!(
                "{} bytes after an error end code ignored",
                cursor.len()
            ));
        }
        return Ok(Reply {
            header,
            mrc,
            src,
            end_code,
            data: None,
            warnings,
        });
    }
    let mut data = ControllerData {
        model: text_field(&mut cursor, MODEL_LEN, "controller model", &mut warnings),
        version: text_field(&mut cursor, MODEL_LEN, "controller version", &mut warnings),
        ..ControllerData::default()
    };
    if data.model.is_none() {
        warnings.push("normal completion without controller data".to_owned());
    }
    if cursor.len() >= SYSTEM_USE_LEN {
        data.for_system_use = Some(cursor.take(SYSTEM_USE_LEN, "for system use")?.to_vec());
        if cursor.len() >= AREA_DATA_LEN {
            data.area = Some(AreaData {
                program_area_size: cursor.u16_be("program area size")?,
                iom_size: cursor.u8("IOM size")?,
                dm_words: cursor.u16_be("number of DM words")?,
                timer_counter_size: cursor.u8("timer/counter size")?,
                expansion_dm_size: cursor.u8("expansion DM size")?,
                steps_transitions: cursor.u16_be("number of steps/transitions")?,
                memory_card_kind: cursor.u8("kind of memory card")?,
                memory_card_size: cursor.u16_be("memory card size")?,
            });
        }
    }
    if cursor.len() > 0 {
        let what = if data.for_system_use.is_none() {
            "before the system-use field's 40"
        } else if data.area.is_none() {
            "of area data, 12 expected"
        } else {
            "after the area data"
        };
        warnings.push(format!("{} bytes {what}", cursor.len()));
    }
    Ok(Reply {
        header,
        mrc,
        src,
        end_code,
        data: Some(data),
        warnings,
    })
}

/// A decoded FINS/TCP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpReply {
    /// Command 1: the node addresses the server gave.
    NodeAddress {
        /// The client's (otscan's) FINS node address for this connection, 1-254.
        client_node: Node,
        /// The server's (the PLC's) FINS node address, 1-254.
        server_node: Node,
        /// Oddities accepted while decoding.
        warnings: Vec<String>,
    },
    /// Command 2: a FINS frame.
    Frame(Reply),
    /// A frame with a non-zero FINS/TCP error code (command 3, error notification, or
    /// any command carrying one).
    Error {
        /// The frame's command.
        command: u32,
        /// The FINS/TCP error code.
        code: u32,
    },
}

/// The meaning of a FINS/TCP error code (W342/W421: FINS/TCP error codes).
pub const fn tcp_error_name(code: u32) -> &'static str {
    match code {
        0x00 => "normal",
        0x01 => "the header is not 'FINS'",
        0x02 => "the data length is too long",
        0x03 => "the command is not supported",
        0x20 => "all connections are in use",
        0x21 => "the specified node is already connected",
        0x22 => "attempt to access a protected node from an unspecified IP address",
        0x23 => "the client FINS node address is out of range",
        0x24 => "the same FINS node address is used by the client and server",
        0x25 => "all the node addresses available for allocation have been used",
        _ => "unknown FINS/TCP error",
    }
}

/// The FINS/TCP header at the front of `buf`: (length field, command, error code), or
/// `None` if fewer than 16 bytes are there. Checks nothing.
fn tcp_header(buf: &[u8]) -> Option<(u32, u32, u32)> {
    let mut cursor = Cursor::new(buf);
    cursor.take(4, "magic").ok()?;
    Some((
        cursor.u32_be("length").ok()?,
        cursor.u32_be("command").ok()?,
        cursor.u32_be("error code").ok()?,
    ))
}

/// Decodes one whole FINS/TCP frame (as [`frame`] delimits it).
pub fn parse_tcp(buf: &[u8]) -> Result<TcpReply, ParseError> {
    let mut cursor = Cursor::new(buf);
    let magic: [u8; 4] = cursor.array("FINS/TCP magic")?;
    if magic != TCP_MAGIC {
        return Err(ParseError::BadMagic(magic));
    }
    let length = cursor.u32_be("FINS/TCP length")?;
    if length < 8 {
        return Err(ParseError::ShortLength(length));
    }
    if length as usize > MAX_REPLY_LEN {
        return Err(ParseError::Oversized(length));
    }
    let command = cursor.u32_be("FINS/TCP command")?;
    let code = cursor.u32_be("FINS/TCP error code")?;
    let body = cursor.take(length as usize - 8, "FINS/TCP data")?;
    let mut warnings = Vec::new();
    if cursor.len() > 0 {
        warnings.push(format!("{} bytes after the FINS/TCP frame", cursor.len()));
    }
    if code != 0 {
        return Ok(TcpReply::Error { command, code });
    }
    match command {
        TCP_NODE_ADDRESS_REPLY => {
            let mut data = Cursor::new(body);
            let client = data.u32_be("client node address")?;
            let server = data.u32_be("server node address")?;
            if data.len() > 0 {
                warnings.push(format!("{} bytes after the node addresses", data.len()));
            }
            let node = |which, value: u32| match u8::try_from(value).ok().and_then(Node::new) {
                Some(n) if n != Node::LOCAL => Ok(n),
                _ => Err(ParseError::NodeOutOfRange { which, value }),
            };
            Ok(TcpReply::NodeAddress {
                client_node: node("client", client)?,
                server_node: node("server", server)?,
                warnings,
            })
        }
        TCP_FRAME_SEND => {
            let mut reply = parse(body)?;
            reply.warnings.extend(warnings);
            Ok(TcpReply::Frame(reply))
        }
        other => Err(ParseError::UnexpectedTcpCommand(other)),
    }
}

/// Frames a FINS/TCP reply on a stream: the 8-byte magic and length, then `length`
/// bytes. A frame send matches when its FINS SID is `correlation`'s low byte; node
/// address replies and error notifications carry no SID and match whatever was asked
/// (the probe checks the kind with [`check_tcp_answers`]).
pub fn frame(buf: &[u8], correlation: u32) -> FrameCheck<ParseError> {
    // Garbage is refused from its first byte: a stream that cannot become "FINS".
    let start = &buf[..buf.len().min(4)];
    if start != &TCP_MAGIC[..start.len()] {
        let mut magic = [0u8; 4];
        magic[..start.len()].copy_from_slice(start);
        return FrameCheck::Invalid(ParseError::BadMagic(magic));
    }
    let Some(length) = buf
        .get(4..8)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
    else {
        return FrameCheck::NeedMore;
    };
    if length < 8 {
        return FrameCheck::Invalid(ParseError::ShortLength(length));
    }
    if length as usize > MAX_REPLY_LEN {
        return FrameCheck::Invalid(ParseError::Oversized(length));
    }
    let len = 8 + length as usize;
    if buf.len() < len {
        return FrameCheck::NeedMore;
    }
    let matches = match tcp_header(buf) {
        Some((_, TCP_FRAME_SEND, 0)) => buf
            .get(TCP_HEADER_LEN + 9)
            .is_none_or(|&sid| sid == correlation.to_le_bytes()[0]),
        _ => true,
    };
    FrameCheck::Complete { len, matches }
}

/// True when `datagram` answers the Controller Data Read sent with `correlation`: a
/// FINS response (ICF bit 6 set, bits 5-1 clear: 0x40, 0x41, 0xC0 or 0xC1) with RSV 0,
/// room for MRC/SRC and the end code, and the correlation's low byte as its SID. An
/// echo of the request (ICF 0x80) answers nothing, and with a one-byte SID the other
/// checks keep stray datagrams from being taken for the answer.
pub fn answers(_request: &Request, datagram: &[u8], correlation: u32) -> bool {
    match datagram {
        [icf, rsv, _, _, _, _, _, _, _, sid, _, _, _, _, ..] => {
            icf & 0x7E == ICF_RESPONSE_BIT && *rsv == 0 && *sid == correlation.to_le_bytes()[0]
        }
        _ => false,
    }
}

/// Checks that a FINS/TCP reply is of the kind `request` asks for: a node address reply
/// for the node address request, a frame for a frame; an error notification answers
/// either.
pub fn check_tcp_answers(request: &Request, reply: &TcpReply) -> Result<(), ParseError> {
    let expected = match request {
        Request::NodeAddressRequest => TCP_NODE_ADDRESS_REPLY,
        Request::ControllerDataRead { .. } => TCP_FRAME_SEND,
    };
    let got = match reply {
        TcpReply::NodeAddress { .. } => TCP_NODE_ADDRESS_REPLY,
        TcpReply::Frame(_) => TCP_FRAME_SEND,
        TcpReply::Error { .. } => return Ok(()),
    };
    if got == expected {
        Ok(())
    } else {
        Err(ParseError::WrongTcpCommand { got, expected })
    }
}

#[cfg(test)]
mod tests {
    use super::super::details::{identity_fields, FinsDetails};
    use super::*;
    use crate::protocols::wire::hex_bytes as hx;
    use crate::record::fields::DeviceType;
    use proptest::prelude::*;

    fn padded(text: &str, len: usize) -> Vec<u8> {
        let mut out = text.as_bytes().to_vec();
        out.resize(len, b' ');
        out
    }

    /// A Controller Data Read response, built field by field in wire order.
    fn response(sid: u8, end_code: u16, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0xC0, 0x00, 0x02, 0x00, 0x63, 0x00, 0x00, 0x01, 0x00, sid];
        out.extend_from_slice(&[0x05, 0x01]);
        out.extend_from_slice(&end_code.to_be_bytes());
        out.extend_from_slice(data);
        out
    }

    /// nmap's documented CJ2M-CPU32 answer (omron-info's @output): program area 20, IOM
    /// 23, 32768 DM words, timer/counter 8, expansion DM 1, no steps, no memory card.
    fn cj2m_data() -> Vec<u8> {
        let mut data = padded("CJ2M-CPU32", 20);
        data.extend_from_slice(&padded("02.01", 20));
        data.extend_from_slice(&[0u8; 40]);
        data.extend_from_slice(&hx("0014 17 8000 08 01 0000 00 0000"));
        data
    }

    fn tcp(command: u32, error: u32, data: &[u8]) -> Vec<u8> {
        let mut out = TCP_MAGIC.to_vec();
        out.extend_from_slice(&(8 + data.len() as u32).to_be_bytes());
        out.extend_from_slice(&command.to_be_bytes());
        out.extend_from_slice(&error.to_be_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn udp_request_is_nmaps_controller_data_read() {
        // omron-info.nse sends 80 00 02 00 00 00 00 63 00 ef 05 01 00 over UDP.
        let request = Request::ControllerDataRead {
            route: NodeRoute {
                destination_node: Node::LOCAL,
                source_node: Node::new(0x63).unwrap(),
            },
            fins_tcp: false,
        };
        assert_eq!(
            encode(&request, 0xEF),
            hx("80 00 02 00 00 00 00 63 00 ef 05 01 00")
        );
        // Only the SID follows the correlation: its low byte.
        assert_eq!(encode(&request, 0x1234_5607)[9], 0x07);
    }

    #[test]
    fn the_broadcast_node_cannot_be_spelled() {
        assert_eq!(Node::new(0xFF), None);
        assert_eq!(Node::new(0xFE).map(Node::value), Some(0xFE));
        assert_eq!(Node::LOCAL.value(), 0);
    }

    #[test]
    fn tcp_requests_are_the_node_address_exchange_and_a_frame_send() {
        // nmap's omrontcp request address command: FINS, length 12, command 0, client 0.
        assert_eq!(
            encode(&Request::NodeAddressRequest, 9),
            hx("46494e53 0000000c 00000000 00000000 00000000")
        );
        let request = Request::ControllerDataRead {
            route: NodeRoute {
                destination_node: Node::new(0x0A).unwrap(),
                source_node: Node::new(0xEF).unwrap(),
            },
            fins_tcp: true,
        };
        assert_eq!(
            encode(&request, 0x42),
            hx("46494e53 00000015 00000002 00000000 80 00 02 00 0a 00 00 ef 00 42 05 01 00")
        );
    }

    #[test]
    fn full_response_gives_model_version_and_area_data() {
        let reply = parse(&response(0xEF, 0, &cj2m_data())).unwrap();
        assert!(reply.end_code.is_normal());
        assert!(reply.warnings.is_empty(), "{:?}", reply.warnings);
        let data = reply.data.clone().unwrap();
        assert_eq!(data.model.unwrap().trimmed().as_deref(), Some("CJ2M-CPU32"));
        assert_eq!(data.version.unwrap().trimmed().as_deref(), Some("02.01"));
        assert_eq!(
            data.area,
            Some(AreaData {
                program_area_size: 20,
                iom_size: 23,
                dm_words: 32768,
                timer_counter_size: 8,
                expansion_dm_size: 1,
                steps_transitions: 0,
                memory_card_kind: 0,
                memory_card_size: 0,
            })
        );
        let mut details = FinsDetails::default();
        details.apply_reply(&reply);
        assert_eq!(details.memory_card.as_deref(), Some("no memory card"));
        assert_eq!(details.source_node, Some(1));
        let identity = identity_fields(&details);
        assert_eq!(identity.vendor.as_deref(), Some("Omron"));
        assert_eq!(identity.model.as_deref(), Some("CJ2M-CPU32"));
        assert_eq!(identity.firmware_version.as_deref(), Some("02.01"));
        assert_eq!(identity.device_type, Some(DeviceType::Plc));
        // The text is kept as sent, padding included.
        assert_eq!(details.controller_model.unwrap().text.len(), 20);
    }

    #[test]
    fn short_reply_of_an_older_cpu_keeps_model_and_version() {
        let mut data = padded("CS1G-CPU44H", 20);
        data.extend_from_slice(&padded("03.00", 20));
        let reply = parse(&response(1, 0, &data)).unwrap();
        let data = reply.data.unwrap();
        assert_eq!(
            data.model.unwrap().trimmed().as_deref(),
            Some("CS1G-CPU44H")
        );
        assert_eq!(data.area, None);
        assert_eq!(data.for_system_use, None);
        assert!(reply.warnings.is_empty(), "{:?}", reply.warnings);
    }

    #[test]
    fn odd_lengths_are_warnings() {
        // A model cut short.
        let reply = parse(&response(1, 0, b"CP1L-EM")).unwrap();
        assert_eq!(
            reply.data.unwrap().model.unwrap().trimmed().as_deref(),
            Some("CP1L-EM")
        );
        assert_eq!(reply.warnings, ["controller model is 7 bytes, 20 expected"]);
        // Area data cut short, and bytes after a whole layout (the unit data of a
        // request without its data byte).
        let full = cj2m_data();
        let reply = parse(&response(1, 0, &full[..full.len() - 3])).unwrap();
        assert_eq!(reply.data.unwrap().area, None);
        assert_eq!(reply.warnings, ["9 bytes of area data, 12 expected"]);
        let mut long = full.clone();
        long.extend_from_slice(&[0u8; 66]);
        let reply = parse(&response(1, 0, &long)).unwrap();
        assert!(reply.data.unwrap().area.is_some());
        assert_eq!(reply.warnings, ["66 bytes after the area data"]);
        // No data at all after a normal end code.
        let reply = parse(&response(1, 0, &[])).unwrap();
        assert_eq!(reply.data.unwrap().model, None);
        assert_eq!(
            reply.warnings,
            ["normal completion without controller data"]
        );
    }

    #[test]
    fn end_codes_are_named_and_their_flags_split_off() {
        let reply = parse(&response(1, 0x0401, &[])).unwrap();
        assert!(!reply.end_code.is_normal());
        assert_eq!(reply.end_code.name(), "undefined command");
        assert_eq!(reply.data, None);
        assert_eq!(EndCode(0x0402).name(), "not supported by model/version");
        assert_eq!(EndCode(0x2108).name(), "cannot change");
        assert_eq!(EndCode(0x1177).main_name(), "parameter error");
        assert_eq!(EndCode(0x1137).name(), "parameter error");
        assert_eq!(EndCode(0x7F00).name(), "unknown main code");
        // 0x0040: normal completion, but the CPU has a non-fatal error; still data.
        let reply = parse(&response(1, 0x0040, &cj2m_data())).unwrap();
        assert!(reply.end_code.is_normal() && reply.end_code.non_fatal_cpu_error());
        assert!(reply.data.is_some());
        assert_eq!(
            reply.warnings,
            ["end code flags a non-fatal CPU unit error"]
        );
        // 0x8000 | 0x0205: a relay error, response timeout.
        let code = EndCode(0x8205);
        assert!(code.relay_error());
        assert_eq!(
            (code.main(), code.sub(), code.name()),
            (2, 5, "response timeout")
        );
    }

    #[test]
    fn hostile_replies_are_typed_errors() {
        // An echo of the request.
        let echo = encode(
            &Request::ControllerDataRead {
                route: NodeRoute {
                    destination_node: Node::LOCAL,
                    source_node: Node::new(0x63).unwrap(),
                },
                fins_tcp: false,
            },
            7,
        );
        assert_eq!(parse(&echo), Err(ParseError::NotAResponse(0x80)));
        assert!(!answers(&Request::NodeAddressRequest, &echo, 7));
        // An answer to another command (RUN, 04 01).
        let mut run = response(7, 0, &[]);
        run[10..12].copy_from_slice(&[0x04, 0x01]);
        assert_eq!(
            parse(&run),
            Err(ParseError::WrongCommand { mrc: 4, src: 1 })
        );
        // Too short for the header and the end code.
        assert!(matches!(
            parse(&hx("c0 00 02")),
            Err(ParseError::Truncated { .. })
        ));
        assert!(matches!(
            parse(&response(7, 0, &[])[..13]),
            Err(ParseError::Truncated {
                what: "end code",
                ..
            })
        ));
        assert!(parse(b"HTTP/1.1 400 Bad Request\r\n\r\n").is_err());
    }

    #[test]
    fn udp_matching_is_by_sid_and_response_bit() {
        let request = Request::NodeAddressRequest;
        let reply = response(0x2A, 0, &cj2m_data());
        assert!(answers(&request, &reply, 0x2A));
        assert!(answers(&request, &reply, 0x0100_002A));
        assert!(!answers(&request, &reply, 0x2B));
        assert!(!answers(&request, &reply[..13], 0x2A));
        // ICF and RSV must be a response's.
        for (at, value) in [(0, 0x80), (0, 0xC2), (1, 0x01)] {
            let mut odd = reply.clone();
            odd[at] = value;
            assert!(!answers(&request, &odd, 0x2A), "{at} {value:#x}");
        }
    }

    #[test]
    fn fins_tcp_frames_are_delimited_and_matched() {
        let node = tcp(1, 0, &hx("000000ef 0000000a"));
        assert_eq!(
            frame(&node, 1),
            FrameCheck::Complete {
                len: 24,
                matches: true
            }
        );
        assert_eq!(
            parse_tcp(&node),
            Ok(TcpReply::NodeAddress {
                client_node: Node::new(0xEF).unwrap(),
                server_node: Node::new(0x0A).unwrap(),
                warnings: Vec::new()
            })
        );
        for n in 0..node.len() {
            assert_eq!(frame(&node[..n], 1), FrameCheck::NeedMore, "{n}");
        }
        let data = tcp(2, 0, &response(0x42, 0, &cj2m_data()));
        assert_eq!(
            frame(&data, 0x42),
            FrameCheck::Complete {
                len: data.len(),
                matches: true
            }
        );
        // Another request's SID: skipped, not an error.
        assert_eq!(
            frame(&data, 0x43),
            FrameCheck::Complete {
                len: data.len(),
                matches: false
            }
        );
        let TcpReply::Frame(reply) = parse_tcp(&data).unwrap() else {
            panic!()
        };
        assert_eq!(reply.header.sid, 0x42);
        // Error notifications and error codes.
        assert_eq!(
            parse_tcp(&tcp(3, 0x21, &[])),
            Ok(TcpReply::Error {
                command: 3,
                code: 0x21
            })
        );
        assert_eq!(tcp_error_name(0x20), "all connections are in use");
        assert!(check_tcp_answers(&Request::NodeAddressRequest, &TcpReply::Frame(reply)).is_err());
    }

    #[test]
    fn fins_tcp_lies_are_invalid() {
        // Garbage, lying lengths in both directions, other commands, bad node numbers.
        assert!(matches!(
            frame(b"HTTP/1.1", 0),
            FrameCheck::Invalid(ParseError::BadMagic(_))
        ));
        assert!(matches!(frame(b"GE", 0), FrameCheck::Invalid(_)));
        assert_eq!(
            frame(&hx("46494e53 ffffffff"), 0),
            FrameCheck::Invalid(ParseError::Oversized(u32::MAX))
        );
        assert_eq!(
            frame(&hx("46494e53 00000004 00000001"), 0),
            FrameCheck::Invalid(ParseError::ShortLength(4))
        );
        assert_eq!(
            parse_tcp(&tcp(7, 0, &[])),
            Err(ParseError::UnexpectedTcpCommand(7))
        );
        assert_eq!(
            parse_tcp(&tcp(1, 0, &hx("00000100 0000000a"))),
            Err(ParseError::NodeOutOfRange {
                which: "client",
                value: 256
            })
        );
        assert!(matches!(
            parse_tcp(&tcp(1, 0, &hx("000000ef"))),
            Err(ParseError::Truncated { .. })
        ));
        // A frame send too short to hold a SID matches, and fails to parse.
        let short = tcp(2, 0, &hx("c0 00"));
        assert!(matches!(
            frame(&short, 9),
            FrameCheck::Complete { matches: true, .. }
        ));
        assert!(parse_tcp(&short).is_err());
    }

    fn check_consistent(buf: &[u8]) {
        if let Ok(reply) = parse(buf) {
            let mut details = FinsDetails::default();
            details.apply_reply(&reply);
            let _ = identity_fields(&details);
            let _ = serde_json::to_string(&details).unwrap();
        }
        if let FrameCheck::Complete { len, .. } = frame(buf, 0) {
            assert!(len <= buf.len() && len <= MAX_REPLY_LEN + 8);
            let _ = parse_tcp(&buf[..len]);
        }
        let _ = parse_tcp(buf);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..300)) {
            check_consistent(&buf);
        }

        #[test]
        fn mutated_valid_replies_never_panic(
            tcp_wrapped in any::<bool>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let fins = response(1, 0, &cj2m_data());
            let mut buf = if tcp_wrapped { tcp(2, 0, &fins) } else { fins };
            for (at, value) in edits {
                let i = at.index(buf.len());
                buf[i] = value;
            }
            buf.truncate(cut.index(buf.len() + 1));
            check_consistent(&buf);
        }
    }
}
