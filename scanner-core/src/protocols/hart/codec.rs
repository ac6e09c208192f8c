//! HART-IP (TCP 5094), sans IO: the closed request set, its encoding, the reply
//! decoder and the stream framing.
//!
//! Every HART-IP message starts with an 8-byte header: version (1), message type (0
//! request, 1 response, 2 publish, 3 error, 15 NAK), message id (0 Session Initiate, 1
//! Session Close, 2 Keep Alive, 3 token-passing PDU), status, sequence number (u16) and
//! byte count (u16, the whole message, header included), all big-endian. A token-passing
//! PDU carries one HART frame: delimiter (0x02 short / 0x82 long frame from a host, 0x06 /
//! 0x86 in a field device's answer), the address (1 byte polling address or 5 bytes unique
//! address), the command, the byte count, in a response the response code and the device
//! status byte, the data, and a check byte (the XOR of every byte from the delimiter on).
//! Facts from Wireshark's `packet-hartip.c` dissector and public HART command
//! implementations; this code is written independently.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::protocols::wire::{Cursor, FrameCheck, Truncated};
use crate::record::fields::DeviceText;

/// Length of the HART-IP header.
pub const HEADER_LEN: usize = 8;
/// HART-IP version otscan speaks (and the only one it accepts in a reply header).
pub const VERSION: u8 = 1;
/// Longest HART-IP message otscan reads: a HART frame carries at most 255 data bytes,
/// so a token-passing PDU is under 300 bytes; the cap leaves room for preambles.
pub const MAX_REPLY_LEN: usize = 1024;
/// The inactivity close time otscan asks for in Session Initiate, in milliseconds:
/// how long the device keeps the session if otscan vanished without Session Close.
pub const INACTIVITY_CLOSE_TIME_MS: u32 = 10_000;
/// Most sub-devices of an I/O system the probe reads with command 84.
pub const MAX_SUB_DEVICES: u16 = 8;

/// Message types (header byte 1).
pub mod message_type {
    /// A request.
    pub const REQUEST: u8 = 0;
    /// A response.
    pub const RESPONSE: u8 = 1;
    /// A publish (burst) message, unsolicited.
    pub const PUBLISH: u8 = 2;
    /// An error.
    pub const ERROR: u8 = 3;
    /// A negative acknowledge.
    pub const NAK: u8 = 15;
}

/// Message ids (header byte 2).
pub mod message_id {
    /// Session Initiate.
    pub const SESSION_INITIATE: u8 = 0;
    /// Session Close.
    pub const SESSION_CLOSE: u8 = 1;
    /// Keep Alive.
    pub const KEEP_ALIVE: u8 = 2;
    /// Token-passing PDU (a HART frame).
    pub const TOKEN_PASSING: u8 = 3;
}

/// HART commands otscan can send (all reads).
pub mod command {
    /// Read Unique Identifier (universal).
    pub const READ_UNIQUE_IDENTIFIER: u8 = 0;
    /// Read Long Tag (universal, HART 6 and later).
    pub const READ_LONG_TAG: u8 = 20;
    /// Read I/O System Capabilities (common practice).
    pub const READ_IO_SYSTEM_CAPABILITIES: u8 = 74;
    /// Read Sub-Device Identity Summary (common practice).
    pub const READ_SUB_DEVICE_IDENTITY_SUMMARY: u8 = 84;
}

/// Start delimiter of a short-frame request (STX, 1-byte polling address).
const STX_SHORT: u8 = 0x02;
/// Start delimiter of a long-frame request (STX, 5-byte unique address).
const STX_LONG: u8 = 0x82;
/// Frame type bits of a field device's answer (ACK).
const FRAME_ACK: u8 = 0x06;
/// Master type of the session: 0, a secondary host (see [`Request::SessionInitiate`]).
const SECONDARY_HOST: u8 = 0;

/// The 5-byte unique (long) address of a field device, from its command 0 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LongAddress {
    /// Expanded device type (command 0 bytes 1-2); its top two bits are not sent.
    pub expanded_device_type: u16,
    /// Device id (command 0 bytes 9-11).
    pub device_id: [u8; 3],
}

impl LongAddress {
    /// The address as sent by a secondary host: bit 7 (host) and bit 6 (burst) clear,
    /// then the low 38 bits of expanded device type and device id.
    fn bytes(self) -> [u8; 5] {
        let [high, low] = self.expanded_device_type.to_be_bytes();
        let [a, b, c] = self.device_id;
        [high & 0x3F, low, a, b, c]
    }
}

/// The only HART-IP requests otscan can send: session management and reads. No write,
/// no device-specific command, no command 77 (pass a command to a sub-device) can be
/// spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// Session Initiate as a secondary host (so the session never takes the primary
    /// host's place of the plant's own asset manager or DCS), inactivity close time
    /// [`INACTIVITY_CLOSE_TIME_MS`].
    SessionInitiate,
    /// Command 0, Read Unique Identifier, in a short frame to polling address 0.
    ReadUniqueIdentifier,
    /// Command 20, Read Long Tag, to the device's unique address.
    ReadLongTag(LongAddress),
    /// Command 74, Read I/O System Capabilities, to an I/O system's unique address.
    ReadIoSystemCapabilities(LongAddress),
    /// Command 84, Read Sub-Device Identity Summary of sub-device `index` (1 and up;
    /// 0 is the I/O system itself).
    ReadSubDeviceIdentitySummary {
        /// The I/O system's unique address.
        address: LongAddress,
        /// Sub-device index.
        index: u16,
    },
    /// Session Close.
    SessionClose,
}

impl Request {
    /// The HART-IP message id the request is sent with.
    pub fn message_id(&self) -> u8 {
        match self {
            Request::SessionInitiate => message_id::SESSION_INITIATE,
            Request::SessionClose => message_id::SESSION_CLOSE,
            _ => message_id::TOKEN_PASSING,
        }
    }

    /// The unique address a long-frame request goes to.
    pub fn unique_address(&self) -> Option<LongAddress> {
        match *self {
            Request::ReadLongTag(a) | Request::ReadIoSystemCapabilities(a) => Some(a),
            Request::ReadSubDeviceIdentitySummary { address, .. } => Some(address),
            _ => None,
        }
    }

    /// The HART command a token-passing request carries.
    pub fn command(&self) -> Option<u8> {
        match self {
            Request::ReadUniqueIdentifier => Some(command::READ_UNIQUE_IDENTIFIER),
            Request::ReadLongTag(_) => Some(command::READ_LONG_TAG),
            Request::ReadIoSystemCapabilities(_) => Some(command::READ_IO_SYSTEM_CAPABILITIES),
            Request::ReadSubDeviceIdentitySummary { .. } => {
                Some(command::READ_SUB_DEVICE_IDENTITY_SUMMARY)
            }
            Request::SessionInitiate | Request::SessionClose => None,
        }
    }
}

/// The HART frame of a token-passing request: delimiter, address, command, byte count,
/// data, check byte.
fn hart_frame(request: &Request) -> Vec<u8> {
    let (address, data): (Vec<u8>, Vec<u8>) = match *request {
        // Polling address 0, host bit clear (secondary host).
        Request::ReadUniqueIdentifier => (vec![0x00], Vec::new()),
        Request::ReadLongTag(a) | Request::ReadIoSystemCapabilities(a) => {
            (a.bytes().to_vec(), Vec::new())
        }
        Request::ReadSubDeviceIdentitySummary { address, index } => {
            (address.bytes().to_vec(), index.to_be_bytes().to_vec())
        }
        Request::SessionInitiate | Request::SessionClose => return Vec::new(),
    };
    let delimiter = if address.len() == 1 {
        STX_SHORT
    } else {
        STX_LONG
    };
    let mut frame = vec![delimiter];
    frame.extend_from_slice(&address);
    frame.push(request.command().unwrap_or_default());
    frame.push(data.len() as u8);
    frame.extend_from_slice(&data);
    frame.push(checksum(&frame));
    frame
}

/// The HART check byte: the XOR of `bytes`.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// Encodes `request`; the correlation's low 16 bits are the HART-IP sequence number.
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    let body = match request {
        Request::SessionInitiate => {
            let mut body = vec![SECONDARY_HOST];
            body.extend_from_slice(&INACTIVITY_CLOSE_TIME_MS.to_be_bytes());
            body
        }
        Request::SessionClose => Vec::new(),
        _ => hart_frame(request),
    };
    let [_, _, seq_high, seq_low] = correlation.to_be_bytes();
    let length = (HEADER_LEN + body.len()) as u16;
    let mut out = vec![
        VERSION,
        message_type::REQUEST,
        request.message_id(),
        0,
        seq_high,
        seq_low,
    ];
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Why a reply cannot be decoded.
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
    /// A header whose version is not 1.
    #[error("HART-IP version {0}, not 1")]
    BadVersion(u8),
    /// A header byte count below the header's 8 bytes.
    #[error("HART-IP byte count {0} is shorter than the header")]
    ShortLength(u16),
    /// A header byte count above [`MAX_REPLY_LEN`].
    #[error("HART-IP byte count {0} exceeds the {MAX_REPLY_LEN}-byte cap")]
    Oversized(u16),
    /// A message type that is not a response, error or NAK (a request: an echo).
    #[error("HART-IP message type {0} is not a response")]
    NotAResponse(u8),
    /// A message id otscan did not ask for.
    #[error("HART-IP message id {got} in answer to message id {expected}")]
    WrongMessage {
        /// Message id of the reply.
        got: u8,
        /// Message id of the request.
        expected: u8,
    },
    /// A HART frame whose delimiter is not a field device's answer (ACK).
    #[error("HART delimiter {0:#04x} is not a field device's answer")]
    NotAnAnswer(u8),
    /// An answer to another HART command.
    #[error("HART command {got} in answer to command {expected}")]
    WrongCommand {
        /// Command of the answer.
        got: u8,
        /// Command asked.
        expected: u8,
    },
    /// An answer from another field device than the unique address asked.
    #[error("HART answer from unique address {got} to a request to {expected}")]
    WrongAddress {
        /// Unique address of the answer (hex).
        got: String,
        /// Unique address asked (hex).
        expected: String,
    },
    /// A HART byte count that does not match the bytes present.
    #[error("HART byte count {count} but {available} bytes before the check byte")]
    ByteCountMismatch {
        /// The byte count sent.
        count: u8,
        /// Bytes present between the byte count and the check byte.
        available: usize,
    },
    /// A HART byte count below the response code and device status.
    #[error("HART byte count {0} is shorter than the response code and device status")]
    ShortByteCount(u8),
    /// A wrong check byte.
    #[error("HART check byte {got:#04x}, the frame's XOR is {expected:#04x}")]
    BadChecksum {
        /// Check byte sent.
        got: u8,
        /// XOR of the frame.
        expected: u8,
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

/// The HART-IP header of a reply, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct Header {
    /// Version (1).
    pub version: u8,
    /// Message type (1 response, 3 error, 15 NAK).
    pub message_type: u8,
    /// Message id (0 Session Initiate, 1 Session Close, 3 token-passing PDU).
    pub message_id: u8,
    /// Status: 0, or a HART-IP response code (see [`status_name`]).
    pub status: u8,
    /// Sequence number, the request's.
    pub sequence: u16,
    /// Byte count of the whole message.
    pub byte_count: u16,
}

/// A decoded HART-IP reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Its header.
    pub header: Header,
    /// What it carries.
    pub body: Body,
    /// Oddities that did not stop decoding.
    pub warnings: Vec<String>,
}

/// The body of a HART-IP reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A Session Initiate response: the master type and inactivity close time the device
    /// accepted (absent in a short error response).
    SessionInitiate {
        /// Master type (0 secondary, 1 primary host).
        master_type: Option<u8>,
        /// Inactivity close time, milliseconds.
        inactivity_close_time: Option<u32>,
    },
    /// A Session Close response.
    SessionClose,
    /// An error or NAK message: its error code (0 session closed, 1 primary session
    /// unavailable, 2 service unavailable), when one byte was sent.
    Error {
        /// Error code.
        code: Option<u8>,
    },
    /// A HART field device answer.
    Pdu(Response),
}

/// A HART field device's answer, from a token-passing PDU.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Start delimiter (0x06 short, 0x86 long frame).
    pub delimiter: u8,
    /// Address bytes as sent (1 or 5).
    pub address: Vec<u8>,
    /// HART command answered.
    pub command: u8,
    /// Response code (first status byte); with bit 7 set a communication error summary.
    pub response_code: u8,
    /// Field device status (second status byte).
    pub device_status: u8,
    /// The command's data after the two status bytes.
    pub data: Vec<u8>,
}

impl Response {
    /// True when the response code says the command failed: a communication error (bit 7)
    /// or an error-class response code, which carries no command data.
    pub fn is_error(&self) -> bool {
        self.response_code & 0x80 != 0 || response_code_is_error(self.response_code)
    }
}

/// True for the error-class HART response codes; 0 is success and 8, 14 and 96-127 are
/// warnings, after which the command's data follow.
pub fn response_code_is_error(code: u8) -> bool {
    !matches!(code, 0 | 8 | 14 | 96..=127)
}

/// The name of a HART response code (the single-meaning codes of the HART common
/// tables; the rest are command-specific).
pub fn response_code_name(code: u8) -> String {
    if code & 0x80 != 0 {
        return format!("communication error {code:#04x}");
    }
    match code {
        0 => "success".to_owned(),
        2 => "invalid selection".to_owned(),
        3 => "passed parameter too large".to_owned(),
        4 => "passed parameter too small".to_owned(),
        5 => "too few data bytes received".to_owned(),
        6 => "device-specific command error".to_owned(),
        7 => "in write protect mode".to_owned(),
        16 => "access restricted".to_owned(),
        32 => "busy".to_owned(),
        33 => "delayed response initiated".to_owned(),
        34 => "delayed response running".to_owned(),
        35 => "delayed response dead".to_owned(),
        36 => "delayed response conflict".to_owned(),
        64 => "command not implemented".to_owned(),
        c if response_code_is_error(c) => format!("command-specific error {c}"),
        c => format!("command-specific warning {c}"),
    }
}

/// The name of a HART-IP header status (a Session Initiate's response code).
pub fn status_name(status: u8) -> String {
    match status {
        14 => "version not supported".to_owned(),
        15 => "all available sessions in use".to_owned(),
        16 => "session already established".to_owned(),
        8 => "set to nearest possible value".to_owned(),
        other => response_code_name(other),
    }
}

/// The name of a HART-IP error message's error code.
pub fn error_code_name(code: u8) -> &'static str {
    match code {
        0 => "session closed",
        1 => "primary session unavailable",
        2 => "service unavailable",
        _ => "unknown error",
    }
}

/// Names of the field device status bits that are set, most significant first.
pub fn device_status_names(status: u8) -> Vec<&'static str> {
    const BITS: [(u8, &str); 8] = [
        (0x80, "device malfunction"),
        (0x40, "configuration changed"),
        (0x20, "cold start"),
        (0x10, "more status available"),
        (0x08, "loop current fixed"),
        (0x04, "loop current saturated"),
        (0x02, "non-primary variable out of limits"),
        (0x01, "primary variable out of limits"),
    ];
    BITS.iter()
        .filter(|(bit, _)| status & bit != 0)
        .map(|&(_, name)| name)
        .collect()
}

fn header(cursor: &mut Cursor<'_>) -> Result<Header, ParseError> {
    Ok(Header {
        version: cursor.u8("HART-IP version")?,
        message_type: cursor.u8("HART-IP message type")?,
        message_id: cursor.u8("HART-IP message id")?,
        status: cursor.u8("HART-IP status")?,
        sequence: cursor.u16_be("HART-IP sequence number")?,
        byte_count: cursor.u16_be("HART-IP byte count")?,
    })
}

/// Checks the fixed header fields every reply shares.
fn check_header(header: &Header) -> Result<(), ParseError> {
    if header.version != VERSION {
        return Err(ParseError::BadVersion(header.version));
    }
    if usize::from(header.byte_count) < HEADER_LEN {
        return Err(ParseError::ShortLength(header.byte_count));
    }
    if usize::from(header.byte_count) > MAX_REPLY_LEN {
        return Err(ParseError::Oversized(header.byte_count));
    }
    Ok(())
}

/// Decodes one whole HART-IP message (as [`frame`] delimits it).
pub fn parse(buf: &[u8]) -> Result<Reply, ParseError> {
    let mut cursor = Cursor::new(buf);
    let header = header(&mut cursor)?;
    check_header(&header)?;
    let body = cursor.take(
        usize::from(header.byte_count) - HEADER_LEN,
        "HART-IP message body",
    )?;
    let mut warnings = Vec::new();
    if cursor.len() > 0 {
        warnings.push(format!("{} bytes after the HART-IP message", cursor.len()));
    }
    let body = match header.message_type {
        message_type::ERROR | message_type::NAK => Body::Error {
            code: match body {
                [code] => Some(*code),
                _ => None,
            },
        },
        message_type::RESPONSE => match header.message_id {
            message_id::SESSION_INITIATE => {
                let mut c = Cursor::new(body);
                let master_type = c.u8("master type").ok();
                let inactivity_close_time = c.u32_be("inactivity close time").ok();
                if c.len() > 0 {
                    warnings.push(format!("{} bytes after the session initiate body", c.len()));
                }
                Body::SessionInitiate {
                    master_type,
                    inactivity_close_time,
                }
            }
            message_id::SESSION_CLOSE | message_id::KEEP_ALIVE => Body::SessionClose,
            message_id::TOKEN_PASSING => Body::Pdu(parse_frame(body, &mut warnings)?),
            other => {
                return Err(ParseError::WrongMessage {
                    got: other,
                    expected: message_id::TOKEN_PASSING,
                })
            }
        },
        other => return Err(ParseError::NotAResponse(other)),
    };
    Ok(Reply {
        header,
        body,
        warnings,
    })
}

/// Decodes the HART frame of a token-passing PDU: preambles (0xFF) skipped, the
/// delimiter, address, command, byte count, status bytes, data and check byte.
fn parse_frame(body: &[u8], warnings: &mut Vec<String>) -> Result<Response, ParseError> {
    let preambles = body.iter().take_while(|&&b| b == 0xFF).count();
    let frame = &body[preambles..];
    let mut cursor = Cursor::new(frame);
    let delimiter = cursor.u8("HART delimiter")?;
    if delimiter & 0x07 != FRAME_ACK {
        return Err(ParseError::NotAnAnswer(delimiter));
    }
    let address_len = if delimiter & 0x80 != 0 { 5 } else { 1 };
    if delimiter & 0x60 != 0 {
        warnings.push(format!(
            "HART delimiter {delimiter:#04x} announces expansion bytes"
        ));
    }
    let address = cursor.take(address_len, "HART address")?.to_vec();
    // Delimiter bits 5-6: expansion bytes between the address and the command.
    cursor.take(usize::from((delimiter >> 5) & 0x03), "HART expansion bytes")?;
    let command = cursor.u8("HART command")?;
    let count = cursor.u8("HART byte count")?;
    let rest = cursor.rest();
    let Some((&check, payload)) = rest.split_last() else {
        return Err(ParseError::Truncated {
            what: "HART check byte",
            needed: 1,
            available: 0,
        });
    };
    if payload.len() != usize::from(count) {
        return Err(ParseError::ByteCountMismatch {
            count,
            available: payload.len(),
        });
    }
    let expected = checksum(&frame[..frame.len() - 1]);
    if check != expected {
        return Err(ParseError::BadChecksum {
            got: check,
            expected,
        });
    }
    let mut payload = Cursor::new(payload);
    let response_code = payload
        .u8("HART response code")
        .map_err(|_| ParseError::ShortByteCount(count))?;
    let device_status = payload
        .u8("HART device status")
        .map_err(|_| ParseError::ShortByteCount(count))?;
    Ok(Response {
        delimiter,
        address,
        command,
        response_code,
        device_status,
        data: payload.rest().to_vec(),
    })
}

/// Frames a HART-IP message on a stream: the header's byte count says how long it is.
/// A message matches when its sequence number is the correlation's low 16 bits and it
/// is not a publish (burst) message or a request.
pub fn frame(buf: &[u8], correlation: u32) -> FrameCheck<ParseError> {
    if let Some(&version) = buf.first() {
        if version != VERSION {
            return FrameCheck::Invalid(ParseError::BadVersion(version));
        }
    }
    let mut cursor = Cursor::new(buf);
    let Ok(header) = header(&mut cursor) else {
        return FrameCheck::NeedMore;
    };
    if let Err(e) = check_header(&header) {
        return FrameCheck::Invalid(e);
    }
    let len = usize::from(header.byte_count);
    if buf.len() < len {
        return FrameCheck::NeedMore;
    }
    let matches = header.sequence == correlation as u16
        && !matches!(
            header.message_type,
            message_type::REQUEST | message_type::PUBLISH
        );
    FrameCheck::Complete { len, matches }
}

/// Checks that `reply` answers `request`: the same message id and, for a HART frame,
/// the same command. An error or NAK message answers any request.
pub fn check_answers(request: &Request, reply: &Reply) -> Result<(), ParseError> {
    if matches!(reply.body, Body::Error { .. }) {
        return Ok(());
    }
    if reply.header.message_id != request.message_id() {
        return Err(ParseError::WrongMessage {
            got: reply.header.message_id,
            expected: request.message_id(),
        });
    }
    if let (Body::Pdu(response), Some(expected)) = (&reply.body, request.command()) {
        if response.command != expected {
            return Err(ParseError::WrongCommand {
                got: response.command,
                expected,
            });
        }
    }
    // A long-frame answer names the device that sent it: the one asked, the master and
    // burst-mode bits aside.
    if let (Body::Pdu(response), Some(asked)) = (&reply.body, request.unique_address()) {
        if let Ok(mut got) = <[u8; 5]>::try_from(response.address.as_slice()) {
            got[0] &= 0x3F;
            if got != asked.bytes() {
                let hex = |a: [u8; 5]| crate::record::fields::hex(&a);
                return Err(ParseError::WrongAddress {
                    got: hex(got),
                    expected: hex(asked.bytes()),
                });
            }
        }
    }
    Ok(())
}

/// The identity a field device gives in its answer to command 0 (Read Unique
/// Identifier), HART 5 to 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct UniqueIdentifier {
    /// Byte 0: 254 (the expansion code).
    pub expansion_code: u8,
    /// Bytes 1-2: expanded device type (HART 5: manufacturer id, then device type).
    pub expanded_device_type: u16,
    /// Byte 3: preambles the device wants in a request.
    pub request_preambles: u8,
    /// Byte 4: HART protocol major revision (universal command revision), e.g. 7.
    pub hart_revision: u8,
    /// Byte 5: device revision.
    pub device_revision: u8,
    /// Byte 6: software revision.
    pub software_revision: u8,
    /// Byte 7 bits 7-3: hardware revision.
    pub hardware_revision: u8,
    /// Byte 7 bits 2-0: physical signalling code (0 Bell 202 current, ...).
    pub physical_signalling: u8,
    /// Byte 8: flags (0x01 multi-sensor device, 0x02 EEPROM control, 0x04 protocol
    /// bridge device, 0x08 IEEE 802.15.4 radio, ...).
    pub flags: u8,
    /// Bytes 9-11: device id, unique for the manufacturer and device type.
    pub device_id: u32,
    /// Byte 12 (HART 6+): preambles the device sends in a response.
    pub response_preambles: Option<u8>,
    /// Byte 13 (HART 6+): highest device variable number.
    pub max_device_variables: Option<u8>,
    /// Bytes 14-15 (HART 6+): configuration change counter.
    pub configuration_change_counter: Option<u16>,
    /// Byte 16 (HART 6+): extended field device status.
    pub extended_device_status: Option<u8>,
    /// Bytes 17-18 (HART 7): manufacturer identification code.
    pub manufacturer_id: Option<u16>,
    /// Bytes 19-20 (HART 7): private label distributor code.
    pub private_label_distributor: Option<u16>,
    /// Byte 21 (HART 7): device profile.
    pub device_profile: Option<u8>,
}

/// Flag bit of a protocol bridge device (an I/O system or multiplexer with sub-devices).
pub const FLAG_PROTOCOL_BRIDGE: u8 = 0x04;

impl UniqueIdentifier {
    /// The device's unique (long) address.
    pub fn long_address(&self) -> LongAddress {
        let [_, a, b, c] = self.device_id.to_be_bytes();
        LongAddress {
            expanded_device_type: self.expanded_device_type,
            device_id: [a, b, c],
        }
    }

    /// The manufacturer id: bytes 17-18 from HART 7, else (HART 5 and 6) the high byte of
    /// the expanded device type, which those revisions send as manufacturer id and
    /// device type.
    pub fn manufacturer(&self) -> u16 {
        self.manufacturer_id
            .unwrap_or(self.expanded_device_type >> 8)
    }

    /// True for a protocol bridge device (flag 0x04): an I/O system or multiplexer.
    pub fn is_io_system(&self) -> bool {
        self.flags & FLAG_PROTOCOL_BRIDGE != 0
    }
}

/// Decodes command 0's data (after the status bytes); 12 bytes at least.
pub fn parse_unique_identifier(
    data: &[u8],
    warnings: &mut Vec<String>,
) -> Result<UniqueIdentifier, ParseError> {
    let mut c = Cursor::new(data);
    let expansion_code = c.u8("expansion code")?;
    let expanded_device_type = c.u16_be("expanded device type")?;
    let request_preambles = c.u8("request preambles")?;
    let hart_revision = c.u8("HART revision")?;
    let device_revision = c.u8("device revision")?;
    let software_revision = c.u8("software revision")?;
    let hardware = c.u8("hardware revision")?;
    let flags = c.u8("flags")?;
    let [a, b, d] = c.array::<3>("device id")?;
    if expansion_code != 254 {
        warnings.push(format!(
            "command 0 byte 0 is {expansion_code}, not the expansion code 254"
        ));
    }
    let response_preambles = c.u8("response preambles").ok();
    let max_device_variables = c.u8("max device variables").ok();
    let configuration_change_counter = c.u16_be("configuration change counter").ok();
    let extended_device_status = c.u8("extended device status").ok();
    let manufacturer_id = c.u16_be("manufacturer id").ok();
    let private_label_distributor = c.u16_be("private label distributor").ok();
    let device_profile = c.u8("device profile").ok();
    if c.len() > 0 {
        warnings.push(format!("{} bytes after command 0's data", c.len()));
    }
    Ok(UniqueIdentifier {
        expansion_code,
        expanded_device_type,
        request_preambles,
        hart_revision,
        device_revision,
        software_revision,
        hardware_revision: hardware >> 3,
        physical_signalling: hardware & 0x07,
        flags,
        device_id: u32::from_be_bytes([0, a, b, d]),
        response_preambles,
        max_device_variables,
        configuration_change_counter,
        extended_device_status,
        manufacturer_id,
        private_label_distributor,
        device_profile,
    })
}

/// Decodes command 20's data: the 32-byte long tag (ISO Latin-1, NUL or space padded).
pub fn parse_long_tag(data: &[u8], warnings: &mut Vec<String>) -> Result<DeviceText, ParseError> {
    let mut c = Cursor::new(data);
    let tag = c.take(32, "long tag")?;
    if c.len() > 0 {
        warnings.push(format!("{} bytes after the long tag", c.len()));
    }
    Ok(DeviceText::from_bytes(tag))
}

/// An I/O system's capabilities (command 74).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct IoSystemCapabilities {
    /// Maximum number of I/O cards.
    pub max_io_cards: u8,
    /// Maximum channels per I/O card.
    pub max_channels_per_card: u8,
    /// Maximum sub-devices per channel.
    pub max_sub_devices_per_channel: u8,
    /// Devices detected, the I/O system itself included.
    pub devices_detected: u16,
    /// Delayed responses the I/O system supports.
    pub max_delayed_responses: u8,
    /// Master mode towards its sub-devices (0 secondary, 1 primary).
    pub master_mode: u8,
    /// Retry count for sub-device commands.
    pub retry_count: u8,
}

impl IoSystemCapabilities {
    /// Sub-devices behind the I/O system (devices detected less the I/O system itself).
    pub fn sub_devices(&self) -> u16 {
        self.devices_detected.saturating_sub(1)
    }
}

/// Decodes command 74's data (8 bytes).
pub fn parse_io_system_capabilities(
    data: &[u8],
    warnings: &mut Vec<String>,
) -> Result<IoSystemCapabilities, ParseError> {
    let mut c = Cursor::new(data);
    let caps = IoSystemCapabilities {
        max_io_cards: c.u8("max I/O cards")?,
        max_channels_per_card: c.u8("max channels per card")?,
        max_sub_devices_per_channel: c.u8("max sub-devices per channel")?,
        devices_detected: c.u16_be("devices detected")?,
        max_delayed_responses: c.u8("max delayed responses")?,
        master_mode: c.u8("master mode")?,
        retry_count: c.u8("retry count")?,
    };
    if c.len() > 0 {
        warnings.push(format!("{} bytes after command 74's data", c.len()));
    }
    Ok(caps)
}

/// One sub-device's identity summary (command 84).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct SubDevice {
    /// Sub-device index.
    pub index: u16,
    /// I/O card it is on.
    pub io_card: u8,
    /// Channel of that card.
    pub channel: u8,
    /// Manufacturer identification code.
    pub manufacturer_id: u16,
    /// Expanded device type.
    pub expanded_device_type: u16,
    /// Device id.
    pub device_id: u32,
    /// Universal command revision (HART revision) of the sub-device.
    pub hart_revision: u8,
    /// Long tag, as sent (absent when the answer stops before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_tag: Option<DeviceText>,
    /// Device revision (absent when not sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_revision: Option<u8>,
    /// Device profile (absent when not sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_profile: Option<u8>,
    /// Private label distributor code (absent when not sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_label_distributor: Option<u16>,
}

/// Decodes command 84's data: index, card, channel, manufacturer id, expanded device
/// type, device id, HART revision (12 bytes), then the 32-byte long tag, device
/// revision, device profile and private label distributor where sent.
pub fn parse_sub_device(data: &[u8], warnings: &mut Vec<String>) -> Result<SubDevice, ParseError> {
    let mut c = Cursor::new(data);
    let index = c.u16_be("sub-device index")?;
    let io_card = c.u8("I/O card")?;
    let channel = c.u8("channel")?;
    let manufacturer_id = c.u16_be("manufacturer id")?;
    let expanded_device_type = c.u16_be("expanded device type")?;
    let [a, b, d] = c.array::<3>("device id")?;
    let hart_revision = c.u8("HART revision")?;
    let long_tag = match c.len() {
        0 => None,
        n if n < 32 => {
            warnings.push(format!("sub-device {index}: long tag of {n} bytes, not 32"));
            Some(DeviceText::from_bytes(c.take_upto(n)))
        }
        _ => Some(DeviceText::from_bytes(c.take_upto(32))),
    };
    let device_revision = c.u8("device revision").ok();
    let device_profile = c.u8("device profile").ok();
    let private_label_distributor = c.u16_be("private label distributor").ok();
    if c.len() > 0 {
        warnings.push(format!(
            "sub-device {index}: {} bytes after the summary",
            c.len()
        ));
    }
    Ok(SubDevice {
        index,
        io_card,
        channel,
        manufacturer_id,
        expanded_device_type,
        device_id: u32::from_be_bytes([0, a, b, d]),
        hart_revision,
        long_tag,
        device_revision,
        device_profile,
        private_label_distributor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::wire::hex_bytes;
    use proptest::prelude::*;

    /// A field device's answer: header (sequence `seq`) and an ACK frame.
    fn answer(seq: u16, address: &[u8], cmd: u8, code: u8, status: u8, data: &[u8]) -> Vec<u8> {
        let mut frame = vec![if address.len() == 1 { 0x06 } else { 0x86 }];
        frame.extend_from_slice(address);
        frame.push(cmd);
        frame.push((data.len() + 2) as u8);
        frame.push(code);
        frame.push(status);
        frame.extend_from_slice(data);
        frame.push(checksum(&frame));
        let mut out = vec![1, 1, 3, 0];
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&((HEADER_LEN + frame.len()) as u16).to_be_bytes());
        out.extend_from_slice(&frame);
        out
    }

    /// Command 0 data of a HART 7 transmitter: expanded device type 0x2641, device id
    /// 0x0A1B2C, manufacturer 0x0026.
    fn cmd0_hart7() -> Vec<u8> {
        hex_bytes("fe 2641 05 07 03 05 0a 00 0a1b2c 05 04 0012 00 0026 0026 01")
    }

    #[test]
    fn requests_encode_as_the_dissector_reads_them() {
        assert_eq!(
            encode(&Request::SessionInitiate, 0x0001_0002),
            hex_bytes("01 00 00 00 0002 000d 00 00002710")
        );
        assert_eq!(
            encode(&Request::SessionClose, 7),
            hex_bytes("01 00 01 00 0007 0008")
        );
        // Short frame, polling address 0, command 0, no data, check byte 02^00^00^00.
        assert_eq!(
            encode(&Request::ReadUniqueIdentifier, 3),
            hex_bytes("01 00 03 00 0003 000d 02 00 00 00 02")
        );
        let address = LongAddress {
            expanded_device_type: 0xE641,
            device_id: [0x0A, 0x1B, 0x2C],
        };
        let tag = encode(&Request::ReadLongTag(address), 4);
        // The host and burst bits of the address stay clear.
        assert_eq!(&tag[8..], &hex_bytes("82 26 41 0a 1b 2c 14 00 cc")[..]);
        let sub = encode(
            &Request::ReadSubDeviceIdentitySummary { address, index: 1 },
            5,
        );
        assert_eq!(&sub[8..16], &hex_bytes("82 26 41 0a 1b 2c 54 02")[..]);
        assert_eq!(&sub[16..18], &[0, 1]);
        assert_eq!(sub[18], checksum(&sub[8..18]));
        let caps = encode(&Request::ReadIoSystemCapabilities(address), 6);
        assert_eq!(caps[14], 74);
    }

    #[test]
    fn a_hart7_unique_identifier_decodes() {
        let reply = parse(&answer(3, &[0x00], 0, 0, 0x40, &cmd0_hart7())).unwrap();
        let Body::Pdu(response) = reply.body else {
            panic!("{reply:?}")
        };
        assert_eq!(response.command, 0);
        assert!(!response.is_error());
        assert_eq!(
            device_status_names(response.device_status),
            ["configuration changed"]
        );
        let mut warnings = Vec::new();
        let id = parse_unique_identifier(&response.data, &mut warnings).unwrap();
        assert_eq!(id.expanded_device_type, 0x2641);
        assert_eq!(id.hart_revision, 7);
        assert_eq!(id.device_revision, 3);
        assert_eq!(id.software_revision, 5);
        assert_eq!(id.hardware_revision, 1);
        assert_eq!(id.physical_signalling, 2);
        assert_eq!(id.device_id, 0x0A1B2C);
        assert_eq!(id.manufacturer_id, Some(0x26));
        assert_eq!(id.manufacturer(), 0x26);
        assert_eq!(id.device_profile, Some(1));
        assert!(!id.is_io_system());
        assert!(warnings.is_empty());
    }

    #[test]
    fn a_hart5_unique_identifier_names_its_manufacturer_in_byte_1() {
        let data = hex_bytes("fe 2605 05 05 01 02 08 00 000123");
        let mut warnings = Vec::new();
        let id = parse_unique_identifier(&data, &mut warnings).unwrap();
        assert_eq!(id.manufacturer_id, None);
        assert_eq!(id.manufacturer(), 0x26);
        assert_eq!(id.device_id, 0x123);
        assert!(parse_unique_identifier(&data[..11], &mut warnings).is_err());
    }

    #[test]
    fn long_tag_io_capabilities_and_sub_devices_decode() {
        let mut w = Vec::new();
        let mut tag = b"PT-101 STEAM HEADER".to_vec();
        tag.resize(32, b' ');
        assert_eq!(
            parse_long_tag(&tag, &mut w).unwrap().trimmed().as_deref(),
            Some("PT-101 STEAM HEADER")
        );
        assert!(parse_long_tag(&tag[..31], &mut w).is_err());
        let caps =
            parse_io_system_capabilities(&hex_bytes("04 10 01 0005 01 01 03"), &mut w).unwrap();
        assert_eq!(caps.devices_detected, 5);
        assert_eq!(caps.sub_devices(), 4);
        let mut sub = hex_bytes("0001 02 03 0026 2641 0a1b2c 07");
        sub.extend_from_slice(&tag);
        sub.extend_from_slice(&hex_bytes("03 01 0026"));
        let d = parse_sub_device(&sub, &mut w).unwrap();
        assert_eq!((d.index, d.io_card, d.channel), (1, 2, 3));
        assert_eq!(d.device_id, 0x0A1B2C);
        assert_eq!(d.device_revision, Some(3));
        assert!(w.is_empty());
        assert!(parse_sub_device(&sub[..11], &mut w).is_err());
    }

    #[test]
    fn expansion_bytes_are_skipped_and_preambles_alone_are_truncated() {
        // A long-frame answer whose delimiter announces one expansion byte (bits 5-6):
        // the byte sits between the address and the command.
        let address = [0x26, 0x41, 0x0a, 0x1b, 0x2c];
        let mut frame = vec![0x86 | 0x20];
        frame.extend_from_slice(&address);
        frame.push(0x00); // expansion byte
        frame.extend_from_slice(&[20, 34, 0, 0]);
        frame.extend_from_slice(&[b' '; 32]);
        frame.push(checksum(&frame));
        let mut message = vec![1, 1, 3, 0, 0, 4];
        message.extend_from_slice(&((HEADER_LEN + frame.len()) as u16).to_be_bytes());
        message.extend_from_slice(&frame);
        let reply = parse(&message).unwrap();
        let Body::Pdu(response) = &reply.body else {
            panic!("{reply:?}")
        };
        assert_eq!((response.command, response.data.len()), (20, 32));
        assert!(reply.warnings.iter().any(|w| w.contains("expansion")));
        // Preambles and nothing else.
        let mut preambles = vec![1, 1, 3, 0, 0, 4, 0, 13];
        preambles.extend_from_slice(&[0xFF; 5]);
        assert!(matches!(
            parse(&preambles),
            Err(ParseError::Truncated { .. })
        ));
    }

    #[test]
    fn hostile_frames_are_typed_errors() {
        let good = answer(3, &[0x00], 0, 0, 0, &cmd0_hart7());
        // Bad check byte.
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 0xFF;
        assert!(matches!(parse(&bad), Err(ParseError::BadChecksum { .. })));
        // HART byte count that lies (one more than present).
        let mut lie = good.clone();
        lie[11] += 1;
        assert!(matches!(
            parse(&lie),
            Err(ParseError::ByteCountMismatch { .. })
        ));
        // Header byte count that lies.
        let mut long = good.clone();
        long[7] += 4;
        assert!(matches!(parse(&long), Err(ParseError::Truncated { .. })));
        assert_eq!(
            frame(&long, 3),
            FrameCheck::NeedMore,
            "a short stream waits for more"
        );
        // Oversized and undersized byte counts, a wrong version, garbage.
        assert_eq!(
            frame(&hex_bytes("01 01 03 00 0003 ffff"), 3),
            FrameCheck::Invalid(ParseError::Oversized(0xFFFF))
        );
        assert_eq!(
            frame(&hex_bytes("01 01 03 00 0003 0004"), 3),
            FrameCheck::Invalid(ParseError::ShortLength(4))
        );
        assert_eq!(
            frame(b"HTTP/1.1 400", 3),
            FrameCheck::Invalid(ParseError::BadVersion(b'H'))
        );
        // An echo of the request is not a response.
        let echo = encode(&Request::ReadUniqueIdentifier, 3);
        assert_eq!(
            frame(&echo, 3),
            FrameCheck::Complete {
                len: echo.len(),
                matches: false
            }
        );
        assert!(matches!(parse(&echo), Err(ParseError::NotAResponse(0))));
        // A frame whose delimiter is a request's.
        let mut stx = good.clone();
        stx[8] = 0x02;
        assert!(matches!(parse(&stx), Err(ParseError::NotAnAnswer(2))));
    }

    #[test]
    fn error_responses_and_statuses_are_named() {
        let reply = parse(&answer(3, &[0x00], 0, 64, 0, &[])).unwrap();
        let Body::Pdu(r) = reply.body else { panic!() };
        assert!(r.is_error());
        assert_eq!(
            response_code_name(r.response_code),
            "command not implemented"
        );
        assert_eq!(response_code_name(0x88), "communication error 0x88");
        assert!(!response_code_is_error(8));
        assert_eq!(status_name(15), "all available sessions in use");
        let nak = parse(&hex_bytes("01 0f 00 00 0001 0009 01")).unwrap();
        assert_eq!(nak.body, Body::Error { code: Some(1) });
        assert_eq!(error_code_name(1), "primary session unavailable");
        let init = parse(&hex_bytes("01 01 00 00 0001 000d 00 00002710")).unwrap();
        assert_eq!(
            init.body,
            Body::SessionInitiate {
                master_type: Some(0),
                inactivity_close_time: Some(10_000)
            }
        );
        assert!(check_answers(&Request::SessionInitiate, &init).is_ok());
        assert!(check_answers(&Request::ReadUniqueIdentifier, &init).is_err());
        let wrong = parse(&answer(3, &[0x00], 20, 0, 0, &[0; 32])).unwrap();
        assert_eq!(
            check_answers(&Request::ReadUniqueIdentifier, &wrong),
            Err(ParseError::WrongCommand {
                got: 20,
                expected: 0
            })
        );
    }

    #[test]
    fn a_long_frame_answer_from_another_device_does_not_answer() {
        let asked = LongAddress {
            expanded_device_type: 0x2641,
            device_id: [0x0A, 0x1B, 0x2C],
        };
        let request = Request::ReadLongTag(asked);
        // Its own address, the burst-mode bit set: an answer.
        let own = parse(&answer(
            3,
            &[0x66, 0x41, 0x0A, 0x1B, 0x2C],
            20,
            0,
            0,
            &[0; 32],
        ))
        .unwrap();
        assert_eq!(check_answers(&request, &own), Ok(()));
        // Another device's unique address: its long tag is not this device's.
        let other = parse(&answer(
            3,
            &[0x26, 0x41, 0x0A, 0x1B, 0x2D],
            20,
            0,
            0,
            &[0; 32],
        ))
        .unwrap();
        assert!(matches!(
            check_answers(&request, &other),
            Err(ParseError::WrongAddress { .. })
        ));
    }

    #[test]
    fn framing_matches_the_sequence_number_and_skips_publish() {
        let good = answer(3, &[0x00], 0, 0, 0, &cmd0_hart7());
        let mut stream = good.clone();
        stream.extend_from_slice(&[1, 1]);
        assert_eq!(
            frame(&stream, 0x0001_0003),
            FrameCheck::Complete {
                len: good.len(),
                matches: true
            }
        );
        assert!(matches!(
            frame(&good, 4),
            FrameCheck::Complete { matches: false, .. }
        ));
        let mut publish = good.clone();
        publish[1] = message_type::PUBLISH;
        assert!(matches!(
            frame(&publish, 3),
            FrameCheck::Complete { matches: false, .. }
        ));
        assert_eq!(frame(&good[..5], 3), FrameCheck::NeedMore);
        // Preambles before the delimiter are skipped.
        let mut pre = good[..8].to_vec();
        pre.extend_from_slice(&[0xFF, 0xFF]);
        pre.extend_from_slice(&good[8..]);
        let len = pre.len() as u16;
        pre[6..8].copy_from_slice(&len.to_be_bytes());
        assert!(matches!(parse(&pre).unwrap().body, Body::Pdu(_)));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut w = Vec::new();
            let _ = frame(&buf, 3);
            if let Ok(reply) = parse(&buf) {
                let _ = check_answers(&Request::ReadUniqueIdentifier, &reply);
            }
            let _ = parse_unique_identifier(&buf, &mut w);
            let _ = parse_long_tag(&buf, &mut w);
            let _ = parse_io_system_capabilities(&buf, &mut w);
            let _ = parse_sub_device(&buf, &mut w);
        }

        #[test]
        fn mutated_answers_never_panic(at in 0usize..64, byte in any::<u8>(), cut in 0usize..64) {
            let mut buf = answer(3, &[0x00], 0, 0, 0, &cmd0_hart7());
            let at = at % buf.len();
            buf[at] = byte;
            buf.truncate(buf.len().saturating_sub(cut));
            let _ = frame(&buf, 3);
            if let Ok(Reply { body: Body::Pdu(r), .. }) = parse(&buf) {
                let _ = parse_unique_identifier(&r.data, &mut Vec::new());
            }
        }
    }
}
