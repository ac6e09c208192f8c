//! Siemens S7 (S7comm over ISO-on-TCP, TCP 102) identification codec (sans IO).
//!
//! Four requests exist and nothing else can be encoded: a COTP Connection Request
//! ([`encode_connection_request`]), an S7 Setup Communication job
//! ([`encode_setup_communication`]), an S7 userdata "read SZL" for one of the two
//! identification lists in [`SzlId`] ([`encode_szl_read`]) and the follow-up that asks
//! for the next data unit of an SZL answer too long for one PDU ([`encode_szl_next`]).
//!
//! Framing is RFC 1006 (TPKT: version 3, reserved, big-endian length) carrying ISO 8073
//! COTP. Replies are parsed with checked reads into typed values or a [`ParseError`].
//! SZL records are stepped through by the record length the reply itself declares
//! (LENTHDR), never at fixed offsets: nmap's `s7-info` reads fixed offsets and crashes
//! on replies laid out differently (nmap issues #2117 and #2707). Where the declared
//! length cannot describe the data (0, or not whole records while the data is whole
//! records of the list's standard length: 28 bytes for 0x0011, 34 for 0x001C) the
//! standard length is used, and every whole record present is decoded whatever N_DR
//! says, with a warning. An answer too long for the PDU comes in data units
//! ([`SzlUnit`]), the next one only on a [`Request::ReadSzlNext`]; [`assemble_szl`]
//! joins them. Oddities that do not stop the decoding are kept as warnings; error classes and codes a CPU answers with
//! (S7-1200/1500 refusing classic S7) are data, not failures.
//!
//! Byte order: everything in TPKT, COTP and S7comm is big-endian.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::cotp::{
    cotp_split, data_tpdu, encode_connection_request, push_u16, tpkt_len, tpkt_payload, CotpError,
    Tsap, COTP_DR, COTP_DT, COTP_ER, TPKT_HEADER_LEN,
};
use crate::protocols::wire::{Cursor, FrameCheck, Truncated};
use crate::record::fields::DeviceText;

/// S7comm protocol id, the first byte of every S7 PDU.
pub const S7_PROTOCOL_ID: u8 = 0x32;
/// Most SZL records decoded from one reply; a hostile N_DR costs bounded work.
pub const MAX_SZL_RECORDS: usize = 64;
/// Most data units read for one SZL answer (the first and up to seven follow-ups); a CPU
/// that announces more is cut there, with a warning.
pub const MAX_SZL_DATA_UNITS: usize = 8;
/// Declared length of one SZL 0x0011 record (index, MLFB, BGTyp, Ausbg, Ausbe).
pub const MODULE_RECORD_LEN: usize = 28;
/// Declared length of one SZL 0x001C record (index and 32 bytes of text).
pub const COMPONENT_RECORD_LEN: usize = 34;

/// S7 function: Setup Communication.
const FUNCTION_SETUP: u8 = 0xF0;
/// Userdata function group: CPU functions.
const GROUP_CPU_FUNCTIONS: u8 = 0x04;
/// Userdata CPU-function subfunction: read SZL.
const SUBFUNCTION_READ_SZL: u8 = 0x01;
/// Data-unit return code: success.
pub(super) const RETURN_CODE_SUCCESS: u8 = 0xFF;

/// Parameters a Setup Communication job proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct SetupParams {
    /// Most unacknowledged jobs the caller may have outstanding.
    pub max_amq_calling: u16,
    /// Most unacknowledged jobs the callee may have outstanding.
    pub max_amq_called: u16,
    /// PDU length proposed (the CPU answers with the one it accepts).
    pub pdu_length: u16,
}

impl Default for SetupParams {
    /// One outstanding job each way, 480-byte PDUs (what nmap and snap7 propose).
    fn default() -> Self {
        SetupParams {
            max_amq_calling: 1,
            max_amq_called: 1,
            pdu_length: 480,
        }
    }
}

/// The system status lists (SZL) otscan may read: identification lists only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SzlId {
    /// SZL 0x0011 index 0: module identification (order numbers, versions).
    ModuleIdentification,
    /// SZL 0x001C index 0: component identification (names, serial, copyright).
    ComponentIdentification,
}

impl SzlId {
    /// The SZL id on the wire.
    pub const fn id(self) -> u16 {
        match self {
            SzlId::ModuleIdentification => 0x0011,
            SzlId::ComponentIdentification => 0x001C,
        }
    }

    /// The SZL index requested (0: all records).
    pub const fn index(self) -> u16 {
        0x0000
    }
}

/// The S7 requests otscan can send: a COTP Connection Request, the Setup
/// Communication job and the userdata read of an identification SZL. No other job
/// (read or write variables, download, PLC stop or start) or userdata function can
/// be spelled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Request {
    /// COTP Connection Request (ISO-on-TCP) from otscan's local TSAP to `destination`.
    ConnectionRequest {
        /// The TSAP (rack and slot) asked for.
        destination: Tsap,
    },
    /// S7 Setup Communication job with otscan's fixed small parameters.
    SetupCommunication,
    /// S7 userdata "read SZL" of an identification list.
    ReadSzl {
        /// The list: module or component identification.
        szl: SzlId,
    },
    /// The follow-up that asks a CPU for the next data unit of the SZL answer it is
    /// sending: userdata, CPU functions, read SZL, the `sequence` number the last data
    /// unit gave, no SZL id of its own. It can only continue an answer already begun.
    ReadSzlNext {
        /// Userdata sequence number of the data unit being continued.
        sequence: u8,
    },
}

/// Encodes `request`; the low 16 bits of `correlation` become the S7 PDU reference
/// (a Connection Request carries none).
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    let pdu_ref = correlation as u16;
    match *request {
        Request::ConnectionRequest { destination } => {
            encode_connection_request(Tsap::LOCAL, destination)
        }
        Request::SetupCommunication => encode_setup_communication(pdu_ref, SetupParams::default()),
        Request::ReadSzl { szl } => encode_szl_read(pdu_ref, szl),
        Request::ReadSzlNext { sequence } => encode_szl_next(pdu_ref, sequence),
    }
}

/// Encodes an S7 Setup Communication job with PDU reference `pdu_ref`.
pub fn encode_setup_communication(pdu_ref: u16, params: SetupParams) -> Vec<u8> {
    let mut setup = vec![FUNCTION_SETUP, 0x00];
    push_u16(&mut setup, params.max_amq_calling);
    push_u16(&mut setup, params.max_amq_called);
    push_u16(&mut setup, params.pdu_length);
    s7_pdu(Rosctr::Job, pdu_ref, &setup, &[])
}

/// Encodes an S7 userdata request: CPU functions, read SZL `szl`, PDU reference
/// `pdu_ref`, sequence 0.
pub fn encode_szl_read(pdu_ref: u16, szl: SzlId) -> Vec<u8> {
    // Parameter head, length of the rest, method request, type request | CPU
    // functions, subfunction read SZL, sequence number.
    let params = [
        0x00,
        0x01,
        0x12,
        0x04,
        0x11,
        0x40 | GROUP_CPU_FUNCTIONS,
        SUBFUNCTION_READ_SZL,
        0x00,
    ];
    // Return code (reserved in requests), transport size octet string, length 4.
    let mut data = vec![RETURN_CODE_SUCCESS, 0x09];
    push_u16(&mut data, 4);
    push_u16(&mut data, szl.id());
    push_u16(&mut data, szl.index());
    s7_pdu(Rosctr::Userdata, pdu_ref, &params, &data)
}

/// Encodes the SZL follow-up request: userdata, 12 bytes of parameters (head, length 8,
/// method 0x12, type request | CPU functions, subfunction read SZL, `sequence`, data unit
/// reference 0, last data unit 0, error code 0) and 4 bytes of data (return code 0x0A,
/// transport size 0, length 0), PDU reference `pdu_ref`.
pub fn encode_szl_next(pdu_ref: u16, sequence: u8) -> Vec<u8> {
    let params = [
        0x00,
        0x01,
        0x12,
        0x08,
        0x12,
        0x40 | GROUP_CPU_FUNCTIONS,
        SUBFUNCTION_READ_SZL,
        sequence,
        0x00,
        0x00,
        0x00, // error code (2 bytes)
        0x00,
    ];
    s7_pdu(
        Rosctr::Userdata,
        pdu_ref,
        &params,
        &[0x0A, 0x00, 0x00, 0x00],
    )
}

/// Frames an S7 request PDU in a COTP data TPDU: protocol id, `rosctr`, reserved,
/// `pdu_ref`, the parameter and data lengths (taken from the slices), then both.
fn s7_pdu(rosctr: Rosctr, pdu_ref: u16, params: &[u8], data: &[u8]) -> Vec<u8> {
    let mut s7 = vec![S7_PROTOCOL_ID, rosctr.code()];
    push_u16(&mut s7, 0x0000); // reserved
    push_u16(&mut s7, pdu_ref);
    push_u16(&mut s7, params.len() as u16);
    push_u16(&mut s7, data.len() as u16);
    s7.extend_from_slice(params);
    s7.extend_from_slice(data);
    data_tpdu(&s7)
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
    /// The TPKT frame or COTP TPDU around the S7 PDU cannot be read.
    #[error(transparent)]
    Cotp(#[from] CotpError),
    /// The S7 header's parameter and data lengths announce more bytes than there are.
    #[error("{what} announces {declared} bytes, {available} present")]
    LyingLength {
        /// Which length field.
        what: &'static str,
        /// Bytes announced.
        declared: usize,
        /// Bytes present.
        available: usize,
    },
    /// The device disconnected (COTP DR) instead of sending data.
    #[error("COTP disconnect request, reason {reason:#04x}")]
    Disconnected {
        /// Disconnect reason.
        reason: u8,
    },
    /// The device rejected the TPDU (COTP ER) instead of sending data.
    #[error("COTP TPDU error, cause {cause:#04x}")]
    Rejected {
        /// Reject cause.
        cause: u8,
    },
    /// The COTP payload does not start with the S7comm protocol id.
    #[error("not S7comm: protocol id {0:#04x}")]
    NotS7(u8),
    /// A message type (ROSCTR) that does not answer the request.
    #[error("unexpected S7 message type (ROSCTR) {0:#04x}")]
    UnexpectedRosctr(u8),
    /// An acknowledgement for a function other than the one requested.
    #[error("unexpected S7 function {0:#04x}")]
    UnexpectedFunction(u8),
    /// A userdata reply for something other than CPU functions / read SZL.
    #[error(
        "unexpected userdata reply: type/group {type_group:#04x}, subfunction {subfunction:#04x}"
    )]
    UnexpectedUserdata {
        /// Type (high nibble) and function group (low nibble).
        type_group: u8,
        /// Subfunction.
        subfunction: u8,
    },
    /// The TCP stream announces a frame larger than [`MAX_REPLY_LEN`].
    #[error("TPKT length {0} exceeds the {MAX_REPLY_LEN}-byte cap")]
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

/// S7comm message type (ROSCTR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rosctr {
    /// 1: job request.
    Job,
    /// 2: acknowledgement without data.
    Ack,
    /// 3: acknowledgement with data.
    AckData,
    /// 7: userdata.
    Userdata,
    /// Anything else.
    Other(u8),
}

impl Rosctr {
    /// The type a byte on the wire stands for.
    pub const fn from_code(code: u8) -> Rosctr {
        match code {
            1 => Rosctr::Job,
            2 => Rosctr::Ack,
            3 => Rosctr::AckData,
            7 => Rosctr::Userdata,
            other => Rosctr::Other(other),
        }
    }

    /// The byte this type is on the wire.
    pub const fn code(self) -> u8 {
        match self {
            Rosctr::Job => 1,
            Rosctr::Ack => 2,
            Rosctr::AckData => 3,
            Rosctr::Userdata => 7,
            Rosctr::Other(code) => code,
        }
    }
}

/// Name of an S7comm header error class (as Wireshark's s7comm dissector names them).
pub const fn error_class_name(class: u8) -> &'static str {
    match class {
        0x00 => "no error",
        0x81 => "application relationship error",
        0x82 => "object definition error",
        0x83 => "no resources available",
        0x84 => "error on service processing",
        0x85 => "error on supplies",
        0x87 => "access error",
        _ => "unknown",
    }
}

/// The S7comm header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S7Header {
    /// Message type.
    pub rosctr: Rosctr,
    /// PDU reference, echoed from the request.
    pub pdu_ref: u16,
    /// Parameter length.
    pub param_len: u16,
    /// Data length.
    pub data_len: u16,
    /// Error class (acknowledgements only).
    pub error_class: Option<u8>,
    /// Error code (acknowledgements only).
    pub error_code: Option<u8>,
}

impl S7Header {
    /// True when an acknowledgement carries a non-zero error class or code.
    pub fn is_error(&self) -> bool {
        self.error_class.unwrap_or(0) != 0 || self.error_code.unwrap_or(0) != 0
    }
}

/// An S7 PDU split into header, parameters and data.
struct S7Pdu<'a> {
    header: S7Header,
    params: &'a [u8],
    data: &'a [u8],
}

/// Unwraps TPKT and COTP DT and splits the S7 PDU inside.
fn parse_s7_pdu(buf: &[u8]) -> Result<S7Pdu<'_>, ParseError> {
    let tpdu = tpkt_payload(buf)?;
    let (pdu_type, fixed, payload) = cotp_split(tpdu)?;
    match pdu_type & 0xF0 {
        COTP_DT => {}
        COTP_DR => {
            let mut r = Cursor::new(fixed);
            r.take(4, "DR references")?;
            return Err(ParseError::Disconnected {
                reason: r.u8("DR reason")?,
            });
        }
        COTP_ER => {
            let mut r = Cursor::new(fixed);
            r.take(2, "ER reference")?;
            return Err(ParseError::Rejected {
                cause: r.u8("ER reject cause")?,
            });
        }
        _ => return Err(CotpError::UnexpectedCotp(pdu_type).into()),
    }
    let mut r = Cursor::new(payload);
    let protocol = r.u8("S7 protocol id")?;
    if protocol != S7_PROTOCOL_ID {
        return Err(ParseError::NotS7(protocol));
    }
    let rosctr = Rosctr::from_code(r.u8("S7 ROSCTR")?);
    r.u16_be("S7 reserved")?;
    let pdu_ref = r.u16_be("S7 PDU reference")?;
    let param_len = r.u16_be("S7 parameter length")?;
    let data_len = r.u16_be("S7 data length")?;
    let (error_class, error_code) = match rosctr {
        Rosctr::Ack | Rosctr::AckData => {
            (Some(r.u8("S7 error class")?), Some(r.u8("S7 error code")?))
        }
        _ => (None, None),
    };
    let declared = usize::from(param_len) + usize::from(data_len);
    if declared > r.len() {
        return Err(ParseError::LyingLength {
            what: "S7 parameter and data lengths",
            declared,
            available: r.len(),
        });
    }
    let params = r.take(usize::from(param_len), "S7 parameters")?;
    let data = r.take(usize::from(data_len), "S7 data")?;
    Ok(S7Pdu {
        header: S7Header {
            rosctr,
            pdu_ref,
            param_len,
            data_len,
            error_class,
            error_code,
        },
        params,
        data,
    })
}

/// The answer to Setup Communication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupAck {
    /// The S7 header, with the error class and code.
    pub header: S7Header,
    /// The negotiated parameters; absent when the CPU refused (error class set and no
    /// parameters sent).
    pub negotiated: Option<SetupParams>,
}

/// Parses the answer to Setup Communication: a whole TPKT frame.
pub fn parse_setup_ack(buf: &[u8]) -> Result<SetupAck, ParseError> {
    let pdu = parse_s7_pdu(buf)?;
    match pdu.header.rosctr {
        Rosctr::Ack | Rosctr::AckData => {}
        Rosctr::Job => return Err(ParseError::UnexpectedRosctr(1)),
        Rosctr::Userdata => return Err(ParseError::UnexpectedRosctr(7)),
        Rosctr::Other(code) => return Err(ParseError::UnexpectedRosctr(code)),
    }
    if pdu.params.is_empty() && pdu.header.is_error() {
        return Ok(SetupAck {
            header: pdu.header,
            negotiated: None,
        });
    }
    let mut r = Cursor::new(pdu.params);
    let function = r.u8("setup function")?;
    if function != FUNCTION_SETUP {
        return Err(ParseError::UnexpectedFunction(function));
    }
    r.u8("setup reserved")?;
    let negotiated = SetupParams {
        max_amq_calling: r.u16_be("max AmQ calling")?,
        max_amq_called: r.u16_be("max AmQ called")?,
        pdu_length: r.u16_be("PDU length")?,
    };
    Ok(SetupAck {
        header: pdu.header,
        negotiated: Some(negotiated),
    })
}

/// Trims NUL and space padding from device text; `None` when nothing is left.
fn padded_text(bytes: &[u8]) -> Option<DeviceText> {
    let pad = |b: &u8| *b == 0 || *b == b' ';
    let start = bytes.iter().position(|b| !pad(b))?;
    let end = bytes.iter().rposition(|b| !pad(b))?;
    bytes.get(start..=end).map(DeviceText::from_bytes)
}

/// One SZL 0x0011 (module identification) record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ModuleRecord {
    /// Record index: 1 module, 6 basic hardware, 7 basic firmware, ...
    pub index: u16,
    /// Order number (MLFB), padding trimmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<DeviceText>,
    /// Module type id (BGTyp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_type_id: Option<u16>,
    /// Ausbg: release (indexes 1, 6) or 'V' and the first version digit (index 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ausbg: Option<u16>,
    /// Ausbe: the remaining version digits (index 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ausbe: Option<u16>,
}

impl ModuleRecord {
    /// The version as "V x.y.z" when Ausbg starts with 'V'; otherwise the release
    /// number in Ausbg, as a number.
    pub fn version(&self) -> Option<String> {
        let ausbg = self.ausbg?;
        let [tag, major] = ausbg.to_be_bytes();
        if tag == b'V' {
            let [minor, patch] = self.ausbe?.to_be_bytes();
            Some(format!("V{major}.{minor}.{patch}"))
        } else if ausbg != 0 {
            Some(ausbg.to_string())
        } else {
            None
        }
    }
}

/// Name of an SZL 0x001C record index.
pub const fn component_index_name(index: u16) -> Option<&'static str> {
    Some(match index {
        1 => "system name",
        2 => "module name",
        3 => "plant identification",
        4 => "copyright",
        5 => "serial number",
        7 => "module type name",
        8 => "memory card serial number",
        9 => "manufacturer and profile",
        10 => "OEM id",
        11 => "location",
        _ => return None,
    })
}

/// One SZL 0x001C (component identification) record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ComponentRecord {
    /// Record index (see [`component_index_name`]).
    pub index: u16,
    /// The record's text, padding trimmed; absent when blank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<DeviceText>,
}

/// The records of an SZL read reply, decoded by list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SzlRecords {
    /// SZL 0x0011 records.
    Module(Vec<ModuleRecord>),
    /// SZL 0x001C records.
    Component(Vec<ComponentRecord>),
    /// Records of another list, raw (a device answering with a list not asked for).
    Other(Vec<Vec<u8>>),
}

/// The answer to an SZL read, reassembled from its data units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SzlResponse {
    /// The S7 header of the first data unit.
    pub header: S7Header,
    /// Userdata sequence number of the last data unit read.
    pub sequence: u8,
    /// False when the CPU announced more data units than were read.
    pub last_data_unit: bool,
    /// Data units read (1 when the list fits one PDU).
    pub data_units: usize,
    /// Userdata parameter error code (0: none), e.g. 0xD401 for an unknown SZL.
    pub error_code: u16,
    /// Data-unit return code (0xFF: success, 0x0A: object does not exist, ...).
    pub return_code: u8,
    /// Data-unit transport size (9: octet string).
    pub transport_size: u8,
    /// SZL id answered, when the reply has an SZL header.
    pub szl_id: Option<u16>,
    /// SZL index answered.
    pub szl_index: Option<u16>,
    /// Declared record length (LENTHDR).
    pub record_len: Option<u16>,
    /// Declared record count (N_DR).
    pub record_count: Option<u16>,
    /// The records present, each cut at the record length used (the declared one, or
    /// the list's standard one where the declared one cannot be right).
    pub records: SzlRecords,
    /// Oddities that did not stop the decoding.
    pub warnings: Vec<String>,
}

/// One data unit of an SZL read answer: the first carries the SZL header (id, index,
/// LENTHDR, N_DR) and the start of the records, each further one (answering
/// [`Request::ReadSzlNext`]) only the bytes that continue them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SzlUnit {
    /// The S7 header.
    pub header: S7Header,
    /// Userdata sequence number; a follow-up request repeats it.
    pub sequence: u8,
    /// Data unit reference number.
    pub data_unit_ref: u8,
    /// False when the CPU has more data units for a follow-up request (last data unit
    /// byte 0x01).
    pub last_data_unit: bool,
    /// Userdata parameter error code (0: none).
    pub error_code: u16,
    /// Data-unit return code (0xFF: success).
    pub return_code: u8,
    /// Data-unit transport size.
    pub transport_size: u8,
    /// The data unit's bytes after its return code, transport size and length.
    pub data: Vec<u8>,
    /// Oddities that did not stop the decoding.
    pub warnings: Vec<String>,
}

impl SzlUnit {
    /// True when the unit says more follow and carries no error: a follow-up may ask.
    pub fn more_follows(&self) -> bool {
        !self.last_data_unit
            && self.error_code == 0
            && self.return_code == RETURN_CODE_SUCCESS
            && !self.header.is_error()
    }
}

/// Parses one data unit of an SZL read answer (first or follow-up): a whole TPKT frame.
pub fn parse_szl_unit(buf: &[u8]) -> Result<SzlUnit, ParseError> {
    let pdu = parse_s7_pdu(buf)?;
    match pdu.header.rosctr {
        Rosctr::Userdata => {}
        Rosctr::Job => return Err(ParseError::UnexpectedRosctr(1)),
        Rosctr::Ack => return Err(ParseError::UnexpectedRosctr(2)),
        Rosctr::AckData => return Err(ParseError::UnexpectedRosctr(3)),
        Rosctr::Other(code) => return Err(ParseError::UnexpectedRosctr(code)),
    }
    let mut warnings = Vec::new();
    let mut p = Cursor::new(pdu.params);
    p.take(3, "userdata parameter head")?;
    let rest_len = p.u8("userdata parameter length")?;
    let method = p.u8("userdata method")?;
    let type_group = p.u8("userdata type and group")?;
    let subfunction = p.u8("userdata subfunction")?;
    let sequence = p.u8("userdata sequence")?;
    if type_group & 0x0F != GROUP_CPU_FUNCTIONS || subfunction != SUBFUNCTION_READ_SZL {
        return Err(ParseError::UnexpectedUserdata {
            type_group,
            subfunction,
        });
    }
    if method != 0x12 {
        warnings.push(format!("userdata method {method:#04x}, expected 0x12"));
    }
    let (data_unit_ref, last_data_unit, error_code) = if rest_len >= 8 {
        let data_unit_ref = p.u8("data unit reference")?;
        let last = p.u8("last data unit")? == 0;
        (data_unit_ref, last, p.u16_be("userdata error code")?)
    } else {
        (0, true, 0)
    };

    let mut d = Cursor::new(pdu.data);
    let return_code = d.u8("data return code")?;
    let transport_size = d.u8("data transport size")?;
    let data = if d.len() < 2 {
        Vec::new()
    } else {
        let data_len = usize::from(d.u16_be("data length")?);
        if data_len > d.len() {
            warnings.push(format!(
                "SZL data length declares {data_len} bytes, {} present; decoding what is there",
                d.len()
            ));
        }
        d.take_upto(data_len).to_vec()
    };
    Ok(SzlUnit {
        header: pdu.header,
        sequence,
        data_unit_ref,
        last_data_unit,
        error_code,
        return_code,
        transport_size,
        data,
        warnings,
    })
}

/// Parses the answer to an SZL read that came in one data unit: a whole TPKT frame.
pub fn parse_szl_response(buf: &[u8]) -> Result<SzlResponse, ParseError> {
    let unit = parse_szl_unit(buf)?;
    Ok(assemble_szl(std::slice::from_ref(&unit)))
}

/// The SZL answer that `units` (the first data unit, then each follow-up's, in order)
/// make together: the first unit's SZL header and the records of all their bytes. An
/// empty slice gives an empty answer.
pub fn assemble_szl(units: &[SzlUnit]) -> SzlResponse {
    let empty = SzlUnit {
        header: S7Header {
            rosctr: Rosctr::Userdata,
            pdu_ref: 0,
            param_len: 0,
            data_len: 0,
            error_class: None,
            error_code: None,
        },
        sequence: 0,
        data_unit_ref: 0,
        last_data_unit: true,
        error_code: 0,
        return_code: RETURN_CODE_SUCCESS,
        transport_size: 0,
        data: Vec::new(),
        warnings: Vec::new(),
    };
    let first = units.first().unwrap_or(&empty);
    let last = units.last().unwrap_or(&empty);
    let mut response = SzlResponse {
        header: first.header,
        sequence: last.sequence,
        last_data_unit: last.last_data_unit,
        data_units: units.len(),
        error_code: first.error_code,
        return_code: first.return_code,
        transport_size: first.transport_size,
        szl_id: None,
        szl_index: None,
        record_len: None,
        record_count: None,
        records: SzlRecords::Other(Vec::new()),
        warnings: units.iter().flat_map(|u| u.warnings.clone()).collect(),
    };
    if !last.last_data_unit {
        response.warnings.push(format!(
            "more SZL data units follow after the {} read; not requested",
            units.len()
        ));
    }
    if first.return_code != RETURN_CODE_SUCCESS || first.data.is_empty() {
        return response;
    }
    // Follow-up units carry no header of their own: their bytes continue the records.
    let mut bytes = first.data.clone();
    for unit in units.iter().skip(1) {
        if unit.return_code != RETURN_CODE_SUCCESS || unit.error_code != 0 {
            response.warnings.push(format!(
                "SZL data unit {} refused: error code {:#06x}, return code {:#04x}",
                unit.data_unit_ref, unit.error_code, unit.return_code
            ));
            break;
        }
        bytes.extend_from_slice(&unit.data);
    }
    decode_szl_list(&bytes, &mut response);
    response
}

/// Decodes the SZL header and records of an answer's data (all its units' bytes).
fn decode_szl_list(bytes: &[u8], response: &mut SzlResponse) {
    if bytes.len() < 8 {
        response.warnings.push(format!(
            "SZL header cut short: {} bytes of data",
            bytes.len()
        ));
        return;
    }
    let mut szl = Cursor::new(bytes);
    let mut header = [0u16; 4];
    for (field, what) in header.iter_mut().zip([
        "SZL id",
        "SZL index",
        "SZL record length",
        "SZL record count",
    ]) {
        *field = szl.u16_be(what).unwrap_or_default();
    }
    let [szl_id, szl_index, record_len, record_count] = header;
    response.szl_id = Some(szl_id);
    response.szl_index = Some(szl_index);
    response.record_len = Some(record_len);
    response.record_count = Some(record_count);

    let standard = match szl_id {
        0x0011 => Some(MODULE_RECORD_LEN),
        0x001C => Some(COMPONENT_RECORD_LEN),
        _ => None,
    };
    let used = record_layout(record_len, record_count, szl.len(), standard);
    match used {
        Layout::Declared => {
            if let Some(expected) =
                standard.filter(|&e| record_len != 0 && usize::from(record_len) != e)
            {
                response.warnings.push(format!(
                    "SZL {szl_id:#06x} record length {record_len}, expected {expected}; decoded by the declared length"
                ));
            }
        }
        Layout::Standard(len) => response.warnings.push(format!(
            "SZL {szl_id:#06x} declares {record_count} records of {record_len} bytes, \
             which {} data bytes cannot hold; decoded as the standard {len}-byte records",
            szl.len()
        )),
    }
    let len = match used {
        Layout::Declared => usize::from(record_len),
        Layout::Standard(len) => len,
    };
    let raw = split_records(&mut szl, len, record_count, &mut response.warnings);
    response.records = match szl_id {
        0x0011 => SzlRecords::Module(raw.iter().filter_map(|r| module_record(r)).collect()),
        0x001C => SzlRecords::Component(raw.iter().filter_map(|r| component_record(r)).collect()),
        _ => SzlRecords::Other(raw.iter().map(|r| r.to_vec()).collect()),
    };
}

/// Which record length an SZL answer is stepped through by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// The declared LENTHDR.
    Declared,
    /// The list's standard record length: the declared one cannot be right.
    Standard(usize),
}

/// The declared record length is kept unless it cannot describe the data while the
/// list's standard length does: a LENTHDR too small to hold a record index (0 or 1),
/// or one under which the data is not whole records (or not one) when it is whole
/// standard records. A declared length that fits the data (say 40-byte records of a
/// newer CPU) is believed, even when it is not the standard one.
fn record_layout(
    record_len: u16,
    record_count: u16,
    available: usize,
    standard: Option<usize>,
) -> Layout {
    let declared = usize::from(record_len);
    let Some(standard) = standard else {
        return Layout::Declared;
    };
    if declared == standard || available < standard || available % standard != 0 {
        return Layout::Declared;
    }
    let declared_fits = declared >= 2 && available % declared == 0;
    // When both lengths cut the data into whole records, a count that matches only the
    // standard one settles it.
    let count = usize::from(record_count);
    let count_says_standard = count * standard == available && count * declared != available;
    if declared_fits && !count_says_standard {
        Layout::Declared
    } else {
        Layout::Standard(standard)
    }
}

/// Cuts the whole records of `record_len` bytes present, up to [`MAX_SZL_RECORDS`],
/// noting any disagreement with the declared count N_DR: records past a count that says
/// less are kept (they are there), a count that says more keeps what is present.
fn split_records<'a>(
    szl: &mut Cursor<'a>,
    record_len: usize,
    record_count: u16,
    warnings: &mut Vec<String>,
) -> Vec<&'a [u8]> {
    let mut records = Vec::new();
    if record_len == 0 {
        if record_count != 0 || szl.len() != 0 {
            warnings.push(format!(
                "SZL record length 0 with {record_count} records declared; none decoded"
            ));
        }
        return records;
    }
    let declared = usize::from(record_count);
    let present = szl.len() / record_len;
    if present > MAX_SZL_RECORDS {
        warnings.push(format!(
            "SZL holds {present} records ({declared} declared); only the first {MAX_SZL_RECORDS} decoded"
        ));
    }
    while records.len() < MAX_SZL_RECORDS {
        match szl.take(record_len, "SZL record") {
            Ok(record) => records.push(record),
            Err(_) => break,
        }
    }
    if present < declared {
        warnings.push(format!(
            "SZL declares {declared} records of {record_len} bytes; data ends after {present}"
        ));
    } else if present > declared {
        warnings.push(format!(
            "SZL declares {declared} records of {record_len} bytes; the data holds {present}, all decoded"
        ));
    }
    if present <= MAX_SZL_RECORDS && szl.len() > 0 {
        warnings.push(format!(
            "{} bytes after the last whole SZL record ignored",
            szl.len()
        ));
    }
    records
}

/// Decodes a 0x0011 record; fields past the end of a short record are absent.
fn module_record(bytes: &[u8]) -> Option<ModuleRecord> {
    let mut r = Cursor::new(bytes);
    let index = r.u16_be("module record index").ok()?;
    let order_number = padded_text(r.take_upto(20));
    Some(ModuleRecord {
        index,
        order_number,
        module_type_id: r.u16_be("BGTyp").ok(),
        ausbg: r.u16_be("Ausbg").ok(),
        ausbe: r.u16_be("Ausbe").ok(),
    })
}

/// Decodes a 0x001C record: index, then text to the end of the record.
fn component_record(bytes: &[u8]) -> Option<ComponentRecord> {
    let mut r = Cursor::new(bytes);
    let index = r.u16_be("component record index").ok()?;
    Some(ComponentRecord {
        index,
        text: padded_text(r.rest()),
    })
}

/// Largest reply frame accepted: otscan asks for 1024-byte TPDUs and a
/// 480-byte PDU, so a TPKT length beyond this is a lie or a flood, not a CPU.
pub const MAX_REPLY_LEN: usize = 2048;

/// Frames a reply on the ISO-on-TCP stream: one TPKT frame, matched to the
/// request by the S7 PDU reference when it carries an S7 PDU (COTP connection
/// replies carry none and always match).
pub fn frame(buf: &[u8], correlation: u32) -> FrameCheck<ParseError> {
    let Some(len) = tpkt_len(buf) else {
        return FrameCheck::NeedMore;
    };
    if len > MAX_REPLY_LEN {
        return FrameCheck::Invalid(ParseError::Oversized(len));
    }
    if buf.len() < len {
        return FrameCheck::NeedMore;
    }
    FrameCheck::Complete {
        len,
        matches: pdu_reference(&buf[..len]).is_none_or(|r| r == correlation as u16),
    }
}

/// The S7 PDU reference of a TPKT frame that carries a COTP DT with an S7 PDU.
fn pdu_reference(frame: &[u8]) -> Option<u16> {
    let tpdu = frame.get(TPKT_HEADER_LEN..)?;
    let li = usize::from(*tpdu.first()?);
    if tpdu.get(1)? & 0xF0 != COTP_DT {
        return None;
    }
    let s7 = tpdu.get(1 + li..)?;
    if *s7.first()? != S7_PROTOCOL_ID {
        return None;
    }
    Some(u16::from_be_bytes([*s7.get(4)?, *s7.get(5)?]))
}

#[cfg(test)]
mod tests {
    use super::super::cotp::{
        disconnect_reason_name, encode_connection_request, parse_cotp_reply, ConnectionType,
        CotpDisconnect, CotpError, CotpReject, CotpReply,
    };
    use super::super::details::{identity_fields, S7Details};
    use super::*;
    use crate::record::fields::DeviceType;
    use proptest::prelude::*;

    fn hx(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn frames_are_matched_by_pdu_reference_and_capped() {
        let cc = hx("03 00 00 0b 06 d0 00 01 00 02 00");
        // COTP replies carry no reference: they always answer the request.
        assert_eq!(
            frame(&cc, 5),
            FrameCheck::Complete {
                len: 11,
                matches: true
            }
        );
        assert_eq!(frame(&cc[..6], 5), FrameCheck::NeedMore);
        // An Ack_Data with PDU reference 5 answers correlation 5 (and 0x10005), not 6.
        let ack =
            hx("03 00 00 1b 02 f0 80 32 03 00 00 00 05 00 08 00 00 00 00 f0 00 00 01 00 01 00 f0");
        assert_eq!(pdu_reference(&ack), Some(5));
        assert!(matches!(
            frame(&ack, 0x1_0005),
            FrameCheck::Complete { matches: true, .. }
        ));
        assert!(matches!(
            frame(&ack, 6),
            FrameCheck::Complete { matches: false, .. }
        ));
        // A length past the cap is refused before it is read.
        assert!(matches!(
            frame(&hx("03 00 ff ff"), 1),
            FrameCheck::Invalid(_)
        ));
    }

    #[test]
    fn identity_names_siemens_only_for_its_order_numbers() {
        let mut d = S7Details {
            order_number: text("6ES7 315-2EH14-0AB0"),
            module_type: text("CPU 315-2 PN/DP"),
            serial_number: text("S C-X4U421302009"),
            firmware_version: Some("V3.2.8".into()),
            ..S7Details::default()
        };
        let id = identity_fields(&d);
        assert_eq!(id.vendor.as_deref(), Some("Siemens"));
        assert_eq!(id.device_type, Some(DeviceType::Plc));
        assert_eq!(id.product_code.as_deref(), Some("6ES7 315-2EH14-0AB0"));
        // Another vendor's S7-compatible CPU keeps its order number, but is not Siemens.
        d.order_number = text("VIPA 315-4NE12");
        d.module_type = text("CP 343-1 Lean");
        let id = identity_fields(&d);
        assert_eq!(id.vendor, None);
        assert_eq!(id.device_type, Some(DeviceType::CommAdapter));
    }

    fn text(s: &str) -> Option<DeviceText> {
        Some(DeviceText::from_bytes(s.as_bytes()))
    }

    /// TPKT + COTP DT around an S7 PDU.
    fn dt_frame(s7: &[u8]) -> Vec<u8> {
        let mut out = vec![3, 0];
        out.extend_from_slice(&u16::try_from(7 + s7.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&[0x02, 0xF0, 0x80]);
        out.extend_from_slice(s7);
        out
    }

    fn s7_header(rosctr: u8, params: &[u8], data: &[u8], error: Option<[u8; 2]>) -> Vec<u8> {
        let mut out = vec![0x32, rosctr, 0, 0, 0x01, 0x00];
        out.extend_from_slice(&u16::try_from(params.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&u16::try_from(data.len()).unwrap().to_be_bytes());
        if let Some(e) = error {
            out.extend_from_slice(&e);
        }
        out.extend_from_slice(params);
        out.extend_from_slice(data);
        out
    }

    fn padded(s: &str, len: usize) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.resize(len, b' ');
        v
    }

    fn module_rec(index: u16, mlfb: &str, bgtyp: u16, ausbg: u16, ausbe: u16) -> Vec<u8> {
        let mut r = index.to_be_bytes().to_vec();
        r.extend_from_slice(&padded(mlfb, 20));
        r.extend_from_slice(&bgtyp.to_be_bytes());
        r.extend_from_slice(&ausbg.to_be_bytes());
        r.extend_from_slice(&ausbe.to_be_bytes());
        r
    }

    fn component_rec(index: u16, s: &str, len: usize) -> Vec<u8> {
        let mut r = index.to_be_bytes().to_vec();
        let mut t = s.as_bytes().to_vec();
        t.resize(len - 2, 0);
        r.extend_from_slice(&t);
        r
    }

    /// A userdata SZL read response frame with the given records.
    fn szl_reply(szl_id: u16, record_len: u16, records: &[Vec<u8>], n_dr: u16) -> Vec<u8> {
        let params = hx("00 01 12 08 12 84 01 01 00 00 00 00");
        let mut body = szl_id.to_be_bytes().to_vec();
        body.extend_from_slice(&0u16.to_be_bytes());
        body.extend_from_slice(&record_len.to_be_bytes());
        body.extend_from_slice(&n_dr.to_be_bytes());
        for r in records {
            body.extend_from_slice(r);
        }
        let mut data = vec![0xFF, 0x09];
        data.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        data.extend_from_slice(&body);
        dt_frame(&s7_header(7, &params, &data, None))
    }

    fn s7_300_module_records() -> Vec<Vec<u8>> {
        vec![
            module_rec(1, "6ES7 315-2EH14-0AB0", 0xC000, 0x0004, 0x0001),
            module_rec(6, "6ES7 315-2EH14-0AB0", 0xC000, 0x0004, 0x0001),
            module_rec(7, "", 0xC000, 0x5603, 0x0206),
        ]
    }

    fn s7_300_component_records(len: usize) -> Vec<Vec<u8>> {
        vec![
            component_rec(1, "SNAP7-SERVER", len),
            component_rec(2, "CPU 315-2 PN/DP", len),
            component_rec(3, "", len),
            component_rec(4, "Original Siemens Equipment", len),
            component_rec(5, "S C-X4U421302009", len),
            component_rec(7, "CPU 315-2 PN/DP", len),
            component_rec(8, "MMC 267FF11F", len),
        ]
    }

    #[test]
    fn connection_request_bytes() {
        assert_eq!(
            encode_connection_request(Tsap::LOCAL, Tsap::PG_RACK0_SLOT2),
            hx("03 00 00 16 11 e0 00 00 00 01 00 c1 02 01 00 c2 02 01 02 c0 01 0a")
        );
        assert_eq!(
            encode_connection_request(Tsap::LOCAL, Tsap::OP_RACK0_SLOT0),
            hx("03 00 00 16 11 e0 00 00 00 01 00 c1 02 01 00 c2 02 02 00 c0 01 0a")
        );
    }

    #[test]
    fn tsap_rack_slot_forms() {
        assert_eq!(
            Tsap::rack_slot(ConnectionType::Pg, 0, 2),
            Some(Tsap::PG_RACK0_SLOT2)
        );
        assert_eq!(
            Tsap::rack_slot(ConnectionType::Op, 0, 0),
            Some(Tsap::OP_RACK0_SLOT0)
        );
        assert_eq!(
            Tsap::rack_slot(ConnectionType::S7Basic, 1, 3).map(Tsap::value),
            Some(0x0323)
        );
        assert_eq!(Tsap::rack_slot(ConnectionType::Pg, 8, 0), None);
        assert_eq!(Tsap::rack_slot(ConnectionType::Pg, 0, 32), None);
        let values: Vec<u16> = Tsap::CANDIDATES.iter().map(|t| t.value()).collect();
        assert_eq!(values, [0x0102, 0x0200, 0x0100]);
    }

    #[test]
    fn setup_communication_bytes() {
        assert_eq!(
            encode_setup_communication(0, SetupParams::default()),
            hx("03 00 00 19 02 f0 80 32 01 00 00 00 00 00 08 00 00 f0 00 00 01 00 01 01 e0")
        );
        let p = SetupParams {
            max_amq_calling: 2,
            max_amq_called: 3,
            pdu_length: 240,
        };
        assert_eq!(
            encode_setup_communication(0x0102, p),
            hx("03 00 00 19 02 f0 80 32 01 00 00 01 02 00 08 00 00 f0 00 00 02 00 03 00 f0")
        );
    }

    #[test]
    fn szl_read_bytes() {
        assert_eq!(
            encode_szl_read(0, SzlId::ModuleIdentification),
            hx("03 00 00 21 02 f0 80 32 07 00 00 00 00 00 08 00 08
                00 01 12 04 11 44 01 00 ff 09 00 04 00 11 00 00")
        );
        assert_eq!(
            encode_szl_read(5, SzlId::ComponentIdentification),
            hx("03 00 00 21 02 f0 80 32 07 00 00 00 05 00 08 00 08
                00 01 12 04 11 44 01 00 ff 09 00 04 00 1c 00 00")
        );
    }

    #[test]
    fn tpkt_framing() {
        assert_eq!(tpkt_len(&[]), None);
        assert_eq!(tpkt_len(&[3, 0, 0]), None);
        assert_eq!(tpkt_len(&[3, 0, 0, 0x16]), Some(22));
        assert_eq!(tpkt_len(&[3, 0, 0xFF, 0xFF, 1]), Some(65535));
        assert_eq!(tpkt_len(&[3, 0, 0, 1]), Some(4));
        assert_eq!(tpkt_len(&[0x16, 3, 0, 0]), Some(4));
    }

    #[test]
    fn connection_confirm_parses() {
        let cc = hx("03 00 00 16 11 d0 00 01 44 31 00 c0 01 0a c1 02 01 00 c2 02 01 02");
        let CotpReply::Confirm(c) = parse_cotp_reply(&cc).unwrap() else {
            panic!("not a confirm");
        };
        assert_eq!(c.destination_ref, 1);
        assert_eq!(c.source_ref, 0x4431);
        assert_eq!(c.tpdu_size, Some(0x0A));
        assert_eq!(c.calling_tsap, Some(0x0100));
        assert_eq!(c.called_tsap, Some(0x0102));
        assert!(c.warnings.is_empty());
        let mut details = S7Details::default();
        details.apply_confirm(Tsap::PG_RACK0_SLOT2, &c);
        assert_eq!(details.tsap, Some(0x0102));
    }

    #[test]
    fn confirm_with_lying_parameter_warns() {
        let cc = hx("03 00 00 0f 0a d0 00 01 00 02 00 c1 09 01 00");
        let CotpReply::Confirm(c) = parse_cotp_reply(&cc).unwrap() else {
            panic!("not a confirm");
        };
        assert_eq!(c.calling_tsap, None);
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn disconnect_and_reject_parse() {
        let dr = hx("03 00 00 0b 06 80 00 01 00 00 81");
        assert_eq!(
            parse_cotp_reply(&dr).unwrap(),
            CotpReply::Disconnect(CotpDisconnect {
                destination_ref: 1,
                source_ref: 0,
                reason: 0x81
            })
        );
        assert_eq!(
            disconnect_reason_name(0x81),
            "remote transport entity congestion"
        );
        let er = hx("03 00 00 09 04 70 00 01 02");
        assert_eq!(
            parse_cotp_reply(&er).unwrap(),
            CotpReply::Reject(CotpReject {
                destination_ref: 1,
                cause: 2
            })
        );
        // A DR where data was expected is an error naming the reason.
        assert_eq!(
            parse_setup_ack(&dr),
            Err(ParseError::Disconnected { reason: 0x81 })
        );
    }

    #[test]
    fn setup_ack_parses() {
        let ack =
            hx("03 00 00 1b 02 f0 80 32 03 00 00 00 00 00 08 00 00 00 00 f0 00 00 01 00 01 00 f0");
        let a = parse_setup_ack(&ack).unwrap();
        assert_eq!(a.header.rosctr, Rosctr::AckData);
        assert!(!a.header.is_error());
        assert_eq!(
            a.negotiated,
            Some(SetupParams {
                max_amq_calling: 1,
                max_amq_called: 1,
                pdu_length: 240
            })
        );
        let mut d = S7Details::default();
        d.apply_setup(&a);
        assert_eq!(d.pdu_length, Some(240));
        assert_eq!(d.error_class, None);
    }

    #[test]
    fn refused_setup_is_recorded_as_data() {
        // Ack without parameters, error class 0x81 code 0x04.
        let ack = dt_frame(&s7_header(2, &[], &[], Some([0x81, 0x04])));
        let a = parse_setup_ack(&ack).unwrap();
        assert_eq!(a.negotiated, None);
        let mut d = S7Details::default();
        d.apply_setup(&a);
        assert_eq!(d.error_class, Some(0x81));
        assert_eq!(d.error_code, Some(0x04));
        assert_eq!(
            d.error_name.as_deref(),
            Some("application relationship error")
        );
    }

    #[test]
    fn szl_module_identification_s7_300() {
        let reply = szl_reply(0x0011, 28, &s7_300_module_records(), 3);
        let r = parse_szl_response(&reply).unwrap();
        assert_eq!(r.szl_id, Some(0x0011));
        assert_eq!(r.record_len, Some(28));
        assert_eq!(r.record_count, Some(3));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        let SzlRecords::Module(records) = &r.records else {
            panic!("not module records");
        };
        assert_eq!(records.len(), 3);
        assert_eq!(records[2].version().as_deref(), Some("V3.2.6"));
        let mut d = S7Details::default();
        d.apply_szl(&r);
        assert_eq!(d.order_number, text("6ES7 315-2EH14-0AB0"));
        assert_eq!(d.hardware_version.as_deref(), Some("4"));
        assert_eq!(d.firmware_version.as_deref(), Some("V3.2.6"));
    }

    #[test]
    fn szl_component_identification_s7_300() {
        let reply = szl_reply(0x001C, 34, &s7_300_component_records(34), 7);
        let r = parse_szl_response(&reply).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        let mut d = S7Details::default();
        d.apply_szl(&r);
        assert_eq!(d.system_name, text("SNAP7-SERVER"));
        assert_eq!(d.module_name, text("CPU 315-2 PN/DP"));
        assert_eq!(d.plant_id, None);
        assert_eq!(d.copyright, text("Original Siemens Equipment"));
        assert_eq!(d.serial_number, text("S C-X4U421302009"));
        assert_eq!(d.module_type, text("CPU 315-2 PN/DP"));
        assert_eq!(d.memory_card_serial, text("MMC 267FF11F"));
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["serial_number"]["text"], "S C-X4U421302009");
    }

    #[test]
    fn unexpected_record_length_is_parsed_by_declared_length() {
        // 40-byte component records (six extra bytes each): a fixed-offset reader
        // would drift into the next record.
        let reply = szl_reply(0x001C, 40, &s7_300_component_records(40), 7);
        let r = parse_szl_response(&reply).unwrap();
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        let mut d = S7Details::default();
        d.apply_szl(&r);
        assert_eq!(d.serial_number, text("S C-X4U421302009"));
        assert_eq!(d.copyright, text("Original Siemens Equipment"));

        // Short (24-byte) module records: fields past the record end are absent.
        let short: Vec<Vec<u8>> = s7_300_module_records()
            .into_iter()
            .map(|r| r[..24].to_vec())
            .collect();
        let r = parse_szl_response(&szl_reply(0x0011, 24, &short, 3)).unwrap();
        let SzlRecords::Module(records) = &r.records else {
            panic!("not module records");
        };
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].order_number, text("6ES7 315-2EH14-0AB0"));
        assert_eq!(records[0].module_type_id, Some(0xC000));
        assert_eq!(records[0].ausbg, None);
    }

    #[test]
    fn lying_record_count_keeps_what_is_there() {
        let reply = szl_reply(0x001C, 34, &s7_300_component_records(34)[..2], 9);
        let r = parse_szl_response(&reply).unwrap();
        let SzlRecords::Component(records) = &r.records else {
            panic!("not component records");
        };
        assert_eq!(records.len(), 2);
        assert!(r.warnings.iter().any(|w| w.contains("data ends after 2")));

        let huge = parse_szl_response(&szl_reply(0x001C, 34, &[], u16::MAX)).unwrap();
        assert!(!huge.warnings.is_empty());
        let zero = parse_szl_response(&szl_reply(0x001C, 0, &[vec![1, 2]], 3)).unwrap();
        assert_eq!(zero.records, SzlRecords::Component(Vec::new()));
    }

    #[test]
    fn szl_next_bytes() {
        // snap7's follow-up telegram, and what Wireshark 4.0 dissects it as: method 0x12,
        // type request (4), CPU functions (4), read SZL (1), sequence 2, last data unit
        // "yes", return code 0x0a, no SZL id.
        assert_eq!(
            encode_szl_next(6, 2),
            hx("03 00 00 21 02 f0 80 32 07 00 00 00 06 00 0c 00 04
                00 01 12 08 12 44 01 02 00 00 00 00 0a 00 00 00")
        );
        assert_eq!(
            encode(&Request::ReadSzlNext { sequence: 0xA7 }, 0x1_0003),
            encode_szl_next(3, 0xA7)
        );
    }

    #[test]
    fn impossible_record_length_falls_back_to_the_standard_layout() {
        // 0x0011 declaring LENTHDR 0 and N_DR 1 over three 28-byte records.
        let r = parse_szl_response(&szl_reply(0x0011, 0, &s7_300_module_records(), 1)).unwrap();
        let SzlRecords::Module(records) = &r.records else {
            panic!("not module records");
        };
        let indexes: Vec<u16> = records.iter().map(|r| r.index).collect();
        assert_eq!(indexes, [1, 6, 7]);
        assert!(
            r.warnings.iter().any(|w| w.contains("standard 28-byte")),
            "{:?}",
            r.warnings
        );
        assert!(
            r.warnings.iter().any(|w| w.contains("holds 3")),
            "{:?}",
            r.warnings
        );
        let mut d = S7Details::default();
        d.apply_szl(&r);
        assert_eq!(d.firmware_version.as_deref(), Some("V3.2.6"));

        // 0x001C declaring 32-byte records over seven 34-byte ones (238 bytes: not whole
        // 32-byte records), and LENTHDR 0xFFFF over one.
        let r =
            parse_szl_response(&szl_reply(0x001C, 32, &s7_300_component_records(34), 7)).unwrap();
        assert_eq!(r.record_len, Some(32));
        let mut d = S7Details::default();
        d.apply_szl(&r);
        assert_eq!(d.serial_number, text("S C-X4U421302009"));
        assert_eq!(d.memory_card_serial, text("MMC 267FF11F"));
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        let one = &s7_300_component_records(34)[4..5];
        let r = parse_szl_response(&szl_reply(0x001C, 0xFFFF, one, 1)).unwrap();
        assert_eq!(
            r.records,
            SzlRecords::Component(vec![ComponentRecord {
                index: 5,
                text: text("S C-X4U421302009")
            }])
        );

        // Both lengths cut 68 bytes into whole records: N_DR 2 says 34.
        let two = &s7_300_component_records(34)[..2];
        let r = parse_szl_response(&szl_reply(0x001C, 17, two, 2)).unwrap();
        assert!(matches!(&r.records, SzlRecords::Component(v) if v.len() == 2));
        // ... and N_DR 4 says 17: the declared layout stands.
        let r = parse_szl_response(&szl_reply(0x001C, 17, two, 4)).unwrap();
        assert!(matches!(&r.records, SzlRecords::Component(v) if v.len() == 4));
        // An unknown list has no standard layout: LENTHDR 0 decodes nothing.
        let r = parse_szl_response(&szl_reply(0x0424, 0, &[vec![0; 20]], 1)).unwrap();
        assert_eq!(r.records, SzlRecords::Other(Vec::new()));
    }

    #[test]
    fn count_that_says_less_keeps_every_whole_record() {
        let r =
            parse_szl_response(&szl_reply(0x001C, 34, &s7_300_component_records(34), 2)).unwrap();
        let SzlRecords::Component(records) = &r.records else {
            panic!("not component records");
        };
        assert_eq!(records.len(), 7);
        assert!(
            r.warnings.iter().any(|w| w.contains("holds 7")),
            "{:?}",
            r.warnings
        );
        // A partial record at the end is not one.
        let mut recs = s7_300_component_records(34);
        recs.push(vec![0x00, 0x0B, b'x']);
        let r = parse_szl_response(&szl_reply(0x001C, 34, &recs, 7)).unwrap();
        assert!(matches!(&r.records, SzlRecords::Component(v) if v.len() == 7));
        assert!(
            r.warnings.iter().any(|w| w.contains("3 bytes after")),
            "{:?}",
            r.warnings
        );
        // The record cap still holds whatever the data holds.
        let many: Vec<Vec<u8>> = (0..100u16).map(|i| component_rec(i, "x", 34)).collect();
        let body_cap = parse_szl_response(&szl_reply(0x001C, 34, &many[..55], 1)).unwrap();
        assert!(matches!(&body_cap.records, SzlRecords::Component(v) if v.len() == 55));
        let units = data_unit_frames(0x001C, 34, &many, 100, 400, 9);
        let parsed: Vec<SzlUnit> = units.iter().map(|f| parse_szl_unit(f).unwrap()).collect();
        let r = assemble_szl(&parsed);
        assert!(
            matches!(&r.records, SzlRecords::Component(v) if v.len() == MAX_SZL_RECORDS),
            "{:?}",
            r.warnings
        );
    }

    /// An SZL answer of `records` cut into data units of at most `unit_len` data bytes,
    /// as a CPU sends it: the first with the SZL header, the others continuing the bytes;
    /// every unit but the last says "more follows"; sequence `sequence`.
    fn data_unit_frames(
        szl_id: u16,
        record_len: u16,
        records: &[Vec<u8>],
        n_dr: u16,
        unit_len: usize,
        sequence: u8,
    ) -> Vec<Vec<u8>> {
        let mut body = szl_id.to_be_bytes().to_vec();
        body.extend_from_slice(&0u16.to_be_bytes());
        body.extend_from_slice(&record_len.to_be_bytes());
        body.extend_from_slice(&n_dr.to_be_bytes());
        for r in records {
            body.extend_from_slice(r);
        }
        let chunks: Vec<&[u8]> = body.chunks(unit_len).collect();
        chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let more = u8::from(i + 1 < chunks.len());
                let params = [
                    0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01, sequence, i as u8, more, 0x00, 0x00,
                ];
                let mut data = vec![0xFF, 0x09];
                data.extend_from_slice(&u16::try_from(chunk.len()).unwrap().to_be_bytes());
                data.extend_from_slice(chunk);
                dt_frame(&s7_header(7, &params, &data, None))
            })
            .collect()
    }

    #[test]
    fn data_units_are_reassembled() {
        // The "more follows" parameters: type response | CPU functions, read SZL,
        // sequence 2, data unit reference 6, last data unit 0x01 (no), no error.
        let params = hx("00 01 12 08 12 84 01 02 06 01 00 00");
        let data = hx("ff 09 00 0c 00 1c 00 00 00 22 00 07 00 01 53 4e");
        let unit = parse_szl_unit(&dt_frame(&s7_header(7, &params, &data, None))).unwrap();
        assert_eq!((unit.sequence, unit.data_unit_ref), (2, 6));
        assert!(!unit.last_data_unit && unit.more_follows());
        let alone = assemble_szl(std::slice::from_ref(&unit));
        assert!(!alone.last_data_unit);
        assert!(alone
            .warnings
            .iter()
            .any(|w| w.contains("more SZL data units")));

        // Seven 0x001C records (246 bytes with the header) in units of 100 bytes: the
        // second and third units cut records in the middle.
        let frames = data_unit_frames(0x001C, 34, &s7_300_component_records(34), 7, 100, 2);
        assert_eq!(frames.len(), 3);
        let units: Vec<SzlUnit> = frames.iter().map(|f| parse_szl_unit(f).unwrap()).collect();
        assert!(units[0].more_follows() && units[1].more_follows());
        assert!(!units[2].more_follows());
        let r = assemble_szl(&units);
        assert_eq!(r.data_units, 3);
        assert!(r.last_data_unit);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        let mut d = S7Details::default();
        d.apply_szl(&r);
        assert_eq!(d.serial_number, text("S C-X4U421302009"));
        assert_eq!(d.memory_card_serial, text("MMC 267FF11F"));
        assert_eq!(d.module_type, text("CPU 315-2 PN/DP"));

        // Cut at two units: the records in them, and a warning that more were announced.
        let r = assemble_szl(&units[..2]);
        assert!(!r.last_data_unit);
        let SzlRecords::Component(records) = &r.records else {
            panic!("not component records");
        };
        assert_eq!(records.len(), 5);
        assert!(
            r.warnings.iter().any(|w| w.contains("after the 2 read")),
            "{:?}",
            r.warnings
        );

        // A refused follow-up ends the answer where it was.
        let refusal = dt_frame(&s7_header(
            7,
            &hx("00 01 12 08 12 84 01 02 00 00 d4 01"),
            &hx("0a 00 00 00"),
            None,
        ));
        let refused = parse_szl_unit(&refusal).unwrap();
        assert!(!refused.more_follows());
        let r = assemble_szl(&[units[0].clone(), refused, units[1].clone()]);
        assert!(matches!(&r.records, SzlRecords::Component(v) if v.len() == 2));
        assert!(
            r.warnings.iter().any(|w| w.contains("refused")),
            "{:?}",
            r.warnings
        );
        assert_eq!(assemble_szl(&[]).records, SzlRecords::Other(Vec::new()));
    }

    #[test]
    fn s7_1200_style_szl_refusal() {
        // Userdata response with parameter error 0xD602 and return code 0x0A.
        let params = hx("00 01 12 08 12 84 01 01 00 00 d6 02");
        let data = hx("0a 00 00 00");
        let reply = dt_frame(&s7_header(7, &params, &data, None));
        let r = parse_szl_response(&reply).unwrap();
        assert_eq!(r.error_code, 0xD602);
        assert_eq!(r.return_code, 0x0A);
        assert_eq!(r.szl_id, None);
        let mut d = S7Details::default();
        d.apply_szl(&r);
        assert_eq!(d.szl_error_code, Some(0xD602));
        assert_eq!(d.szl_return_code, Some(0x0A));
    }

    #[test]
    fn truncated_and_lying_frames_are_errors() {
        let good = szl_reply(0x0011, 28, &s7_300_module_records(), 3);
        for cut in 0..good.len() {
            assert!(parse_szl_response(&good[..cut]).is_err(), "cut {cut}");
        }
        let mut lying = good.clone();
        lying[2] = 0xFF;
        assert!(matches!(
            parse_szl_response(&lying),
            Err(ParseError::Cotp(CotpError::LyingLength { .. }))
        ));
        // S7 data length larger than the frame.
        let mut s7_lying = encode_setup_communication(0, SetupParams::default());
        s7_lying[16] = 0x40;
        assert!(matches!(
            parse_setup_ack(&s7_lying),
            Err(ParseError::LyingLength { .. })
        ));
        assert_eq!(
            parse_cotp_reply(&hx("04 00 00 04")),
            Err(CotpError::NotTpkt(4))
        );
        assert!(matches!(
            parse_cotp_reply(&hx("03 00 00 07 09 d0 00")),
            Err(CotpError::LyingLength { .. })
        ));
        // A setup ack that is really a job, and userdata for another function.
        assert_eq!(
            parse_setup_ack(&encode_setup_communication(0, SetupParams::default())),
            Err(ParseError::UnexpectedRosctr(1))
        );
        let other = dt_frame(&s7_header(
            7,
            &hx("00 01 12 08 12 87 01 01 00 00 00 00"),
            &[],
            None,
        ));
        assert!(matches!(
            parse_szl_response(&other),
            Err(ParseError::UnexpectedUserdata { .. })
        ));
    }

    #[test]
    fn non_utf8_text_is_lossless() {
        let mut bad = component_rec(5, "S\u{0}\u{0}", 34);
        bad[3] = 0xFF;
        let r = parse_szl_response(&szl_reply(0x001C, 34, &[bad], 1)).unwrap();
        let SzlRecords::Component(records) = &r.records else {
            panic!("not component records");
        };
        let t = records[0].text.clone().unwrap();
        assert_eq!(t.hex.as_deref(), Some("53ff"));
    }

    fn check_all(buf: &[u8]) {
        let _ = tpkt_len(buf);
        let _ = parse_cotp_reply(buf);
        let _ = parse_setup_ack(buf);
        if let Ok(r) = parse_szl_response(buf) {
            let mut d = S7Details::default();
            d.apply_szl(&r);
            match &r.records {
                SzlRecords::Module(v) => assert!(v.len() <= MAX_SZL_RECORDS),
                SzlRecords::Component(v) => assert!(v.len() <= MAX_SZL_RECORDS),
                SzlRecords::Other(v) => assert!(v.len() <= MAX_SZL_RECORDS),
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..400)) {
            check_all(&buf);
        }

        #[test]
        fn arbitrary_s7_after_valid_framing_never_panics(
            rosctr in prop_oneof![Just(2u8), Just(3), Just(7), any::<u8>()],
            params in proptest::collection::vec(any::<u8>(), 0..40),
            data in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            check_all(&dt_frame(&s7_header(rosctr, &params, &data, Some([0, 0]))));
            check_all(&dt_frame(&s7_header(rosctr, &params, &data, None)));
        }

        #[test]
        fn arbitrary_szl_bodies_never_panic(
            szl_id in prop_oneof![Just(0x0011u16), Just(0x001C), any::<u16>()],
            record_len in 0u16..80,
            n_dr in any::<u16>(),
            body in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            check_all(&szl_reply(szl_id, record_len, &[body], n_dr));
        }

        #[test]
        fn arbitrary_data_units_never_panic(
            units in proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..120), 0..10),
        ) {
            let frames: Vec<SzlUnit> = units
                .iter()
                .filter_map(|d| {
                    let params = hx("00 01 12 08 12 84 01 02 00 01 00 00");
                    parse_szl_unit(&dt_frame(&s7_header(7, &params, d, None))).ok()
                })
                .collect();
            let r = assemble_szl(&frames);
            let mut details = S7Details::default();
            details.apply_szl(&r);
            match &r.records {
                SzlRecords::Module(v) => prop_assert!(v.len() <= MAX_SZL_RECORDS),
                SzlRecords::Component(v) => prop_assert!(v.len() <= MAX_SZL_RECORDS),
                SzlRecords::Other(v) => prop_assert!(v.len() <= MAX_SZL_RECORDS),
            }
        }

        #[test]
        fn mutated_valid_replies_never_panic(
            which in 0usize..3,
            pos in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let mut reply = match which {
                0 => szl_reply(0x0011, 28, &s7_300_module_records(), 3),
                1 => szl_reply(0x001C, 34, &s7_300_component_records(34), 7),
                _ => hx("03 00 00 16 11 d0 00 01 44 31 00 c0 01 0a c1 02 01 00 c2 02 01 02"),
            };
            let i = pos.index(reply.len());
            reply[i] = byte;
            check_all(&reply);
        }
    }
}
