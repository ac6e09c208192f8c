//! ISO-on-TCP under S7comm: the TPKT frame (RFC 1006) and the COTP TPDUs (ISO 8073
//! class 0) otscan sends and reads: a Connection Request to a TSAP, the Confirm,
//! Disconnect Request or TPDU Error it gets back, and the Data TPDU that carries S7.

use crate::protocols::wire::{Cursor, Truncated};

/// TPKT header length.
pub const TPKT_HEADER_LEN: usize = 4;
/// TPKT version byte.
pub const TPKT_VERSION: u8 = 3;
/// Most COTP parameters decoded from one TPDU.
pub const MAX_COTP_PARAMS: usize = 16;

/// COTP PDU type: Connection Request.
pub(super) const COTP_CR: u8 = 0xE0;
/// COTP PDU type: Connection Confirm.
pub(super) const COTP_CC: u8 = 0xD0;
/// COTP PDU type: Disconnect Request.
pub(super) const COTP_DR: u8 = 0x80;
/// COTP PDU type: TPDU Error (reject).
pub(super) const COTP_ER: u8 = 0x70;
/// COTP PDU type: Data.
pub(super) const COTP_DT: u8 = 0xF0;
/// COTP parameter: TPDU size.
const PARAM_TPDU_SIZE: u8 = 0xC0;
/// COTP parameter: calling (source) TSAP.
const PARAM_CALLING_TSAP: u8 = 0xC1;
/// COTP parameter: called (destination) TSAP.
const PARAM_CALLED_TSAP: u8 = 0xC2;
/// TPDU size code 0x0A: 1024 bytes.
const TPDU_SIZE_1024: u8 = 0x0A;

/// What an S7 connection is for, the high byte of a rack/slot TSAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionType {
    /// 1: programming device (PG).
    Pg,
    /// 2: operator panel (OP).
    Op,
    /// 3: S7 basic communication.
    S7Basic,
}

impl ConnectionType {
    /// The byte on the wire.
    pub const fn code(self) -> u8 {
        match self {
            ConnectionType::Pg => 1,
            ConnectionType::Op => 2,
            ConnectionType::S7Basic => 3,
        }
    }
}

/// A rack/slot transport service access point: connection type in the high byte,
/// rack (3 bits) and slot (5 bits) in the low byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Tsap(u16);

impl Tsap {
    /// 0x0102: PG connection to rack 0, slot 2 (the CPU slot of an S7-300/400).
    pub const PG_RACK0_SLOT2: Tsap = Tsap(0x0102);
    /// 0x0200: OP connection to rack 0, slot 0.
    pub const OP_RACK0_SLOT0: Tsap = Tsap(0x0200);
    /// 0x0100: PG connection to rack 0, slot 0 (also the calling TSAP otscan uses).
    pub const PG_RACK0_SLOT0: Tsap = Tsap(0x0100);
    /// The destination TSAPs a probe tries, in order.
    pub const CANDIDATES: [Tsap; 3] = [
        Tsap::PG_RACK0_SLOT2,
        Tsap::OP_RACK0_SLOT0,
        Tsap::PG_RACK0_SLOT0,
    ];
    /// The calling (source) TSAP otscan sends.
    pub const LOCAL: Tsap = Tsap::PG_RACK0_SLOT0;

    /// A TSAP from its two bytes (connection type, then rack and slot).
    pub const fn from_value(value: u16) -> Tsap {
        Tsap(value)
    }

    /// A TSAP from its rack/slot form; `None` when rack > 7 or slot > 31.
    pub const fn rack_slot(connection: ConnectionType, rack: u8, slot: u8) -> Option<Tsap> {
        if rack > 7 || slot > 31 {
            return None;
        }
        Some(Tsap(
            ((connection.code() as u16) << 8) | ((rack as u16) << 5) | slot as u16,
        ))
    }

    /// The two TSAP bytes as a big-endian number.
    pub const fn value(self) -> u16 {
        self.0
    }
}

pub(super) fn push_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// Wraps a COTP TPDU in a TPKT header. Every TPDU otscan builds is a few dozen bytes.
pub(super) fn tpkt(cotp_and_payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(TPKT_HEADER_LEN + cotp_and_payload.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(usize::from(total));
    out.push(TPKT_VERSION);
    out.push(0);
    push_u16(&mut out, total);
    out.extend_from_slice(cotp_and_payload);
    out
}

/// Wraps an S7 PDU in TPKT and a COTP DT TPDU (last data unit).
pub(super) fn data_tpdu(s7: &[u8]) -> Vec<u8> {
    let mut cotp = Vec::with_capacity(3 + s7.len());
    cotp.extend_from_slice(&[0x02, COTP_DT, 0x80]);
    cotp.extend_from_slice(s7);
    tpkt(&cotp)
}

/// Encodes a COTP Connection Request (class 0, TPDU size 1024) from `source` to
/// `destination`, with source reference 1.
pub fn encode_connection_request(source: Tsap, destination: Tsap) -> Vec<u8> {
    let mut cotp = vec![0x11, COTP_CR];
    push_u16(&mut cotp, 0x0000); // destination reference
    push_u16(&mut cotp, 0x0001); // source reference
    cotp.push(0x00); // class 0, no options
    cotp.extend_from_slice(&[PARAM_CALLING_TSAP, 2]);
    push_u16(&mut cotp, source.value());
    cotp.extend_from_slice(&[PARAM_CALLED_TSAP, 2]);
    push_u16(&mut cotp, destination.value());
    cotp.extend_from_slice(&[PARAM_TPDU_SIZE, 1, TPDU_SIZE_1024]);
    tpkt(&cotp)
}

/// Total length of the TPKT frame at the front of `buf`, once its 4-byte header is
/// there; `None` until then.
///
/// [`frame`](super::codec::frame) frames TCP replies with it: read until `buf.len() >= tpkt_len`. The
/// length is a u16, so the answer is at most 65535. A header that is not TPKT (wrong
/// version) or announces less than its own 4 bytes frames as 4 bytes, so the parser
/// sees it at once and reports it rather than the read waiting for a timeout.
pub fn tpkt_len(buf: &[u8]) -> Option<usize> {
    let header: [u8; 4] = buf.get(..TPKT_HEADER_LEN)?.try_into().ok()?;
    if header[0] != TPKT_VERSION {
        return Some(TPKT_HEADER_LEN);
    }
    let declared = usize::from(u16::from_be_bytes([header[2], header[3]]));
    Some(declared.max(TPKT_HEADER_LEN))
}

/// Why a TPKT frame or COTP TPDU cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CotpError {
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
    /// The first byte is not TPKT version 3.
    #[error("not TPKT: version byte {0:#04x}")]
    NotTpkt(u8),
    /// A TPKT length or COTP length indicator that announces more (or, for TPKT,
    /// fewer than its header) bytes than there are.
    #[error("{what} announces {declared} bytes, {available} present")]
    LyingLength {
        /// Which length field.
        what: &'static str,
        /// Bytes announced.
        declared: usize,
        /// Bytes present.
        available: usize,
    },
    /// A COTP TPDU of a type that does not answer the request.
    #[error("unexpected COTP TPDU type {0:#04x}")]
    UnexpectedCotp(u8),
}

impl From<Truncated> for CotpError {
    fn from(t: Truncated) -> Self {
        CotpError::Truncated {
            what: t.what,
            needed: t.needed,
            available: t.available,
        }
    }
}

/// The TPKT payload (the COTP TPDU) of the frame at the front of `buf`. Bytes after
/// the announced length belong to the next frame and are not looked at.
pub(super) fn tpkt_payload(buf: &[u8]) -> Result<&[u8], CotpError> {
    let mut r = Cursor::new(buf);
    let version = r.u8("TPKT version")?;
    if version != TPKT_VERSION {
        return Err(CotpError::NotTpkt(version));
    }
    r.u8("TPKT reserved")?;
    let declared = usize::from(r.u16_be("TPKT length")?);
    if declared < TPKT_HEADER_LEN || declared > buf.len() {
        return Err(CotpError::LyingLength {
            what: "TPKT length",
            declared,
            available: buf.len(),
        });
    }
    Ok(buf.get(TPKT_HEADER_LEN..declared).unwrap_or_default())
}

/// Splits a COTP TPDU into its type, the header bytes after the type (up to the
/// length indicator) and what follows the header.
pub(super) fn cotp_split(tpdu: &[u8]) -> Result<(u8, &[u8], &[u8]), CotpError> {
    let mut r = Cursor::new(tpdu);
    let li = usize::from(r.u8("COTP length indicator")?);
    if li == 0 || li > r.len() {
        return Err(CotpError::LyingLength {
            what: "COTP length indicator",
            declared: li,
            available: r.len(),
        });
    }
    let header = r.take(li, "COTP header")?;
    let (&pdu_type, fixed) = header.split_first().ok_or(CotpError::Truncated {
        what: "COTP TPDU type",
        needed: 1,
        available: 0,
    })?;
    Ok((pdu_type, fixed, r.rest()))
}

/// Name of a COTP disconnect reason (ISO 8073 13.5.3 e).
pub const fn disconnect_reason_name(reason: u8) -> &'static str {
    match reason {
        0x00 => "reason not specified",
        0x01 => "congestion at TSAP",
        0x02 => "session entity not attached to TSAP",
        0x03 => "address unknown",
        0x80 => "normal disconnect",
        0x81 => "remote transport entity congestion",
        0x82 => "connection negotiation failed",
        0x83 => "duplicate source reference",
        0x84 => "mismatched references",
        0x85 => "protocol error",
        0x87 => "reference overflow",
        0x88 => "connection request refused",
        0x8A => "header or parameter length invalid",
        _ => "unknown",
    }
}

/// A COTP Connection Confirm: the device accepted the TSAP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionConfirm {
    /// Destination reference (ours, echoed).
    pub destination_ref: u16,
    /// Source reference (the device's).
    pub source_ref: u16,
    /// Class and options byte.
    pub class_option: u8,
    /// TPDU size code (parameter 0xC0), if present.
    pub tpdu_size: Option<u8>,
    /// Calling TSAP (parameter 0xC1), if present and two bytes long.
    pub calling_tsap: Option<u16>,
    /// Called TSAP (parameter 0xC2), if present and two bytes long.
    pub called_tsap: Option<u16>,
    /// Oddities that did not stop the decoding.
    pub warnings: Vec<String>,
}

/// A COTP Disconnect Request: the device refused the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CotpDisconnect {
    /// Destination reference.
    pub destination_ref: u16,
    /// Source reference.
    pub source_ref: u16,
    /// Disconnect reason.
    pub reason: u8,
}

/// A COTP TPDU Error: the device rejected the request as malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CotpReject {
    /// Destination reference.
    pub destination_ref: u16,
    /// Reject cause.
    pub cause: u8,
}

/// What a device answers a COTP Connection Request with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CotpReply {
    /// 0xD0 Connection Confirm.
    Confirm(ConnectionConfirm),
    /// 0x80 Disconnect Request.
    Disconnect(CotpDisconnect),
    /// 0x70 TPDU Error.
    Reject(CotpReject),
}

/// Parses the answer to a Connection Request: a whole TPKT frame.
pub fn parse_cotp_reply(buf: &[u8]) -> Result<CotpReply, CotpError> {
    let tpdu = tpkt_payload(buf)?;
    let (pdu_type, fixed, _after) = cotp_split(tpdu)?;
    let mut r = Cursor::new(fixed);
    match pdu_type & 0xF0 {
        COTP_CC => {
            let mut cc = ConnectionConfirm {
                destination_ref: r.u16_be("CC destination reference")?,
                source_ref: r.u16_be("CC source reference")?,
                class_option: r.u8("CC class")?,
                tpdu_size: None,
                calling_tsap: None,
                called_tsap: None,
                warnings: Vec::new(),
            };
            parse_cc_params(&mut r, &mut cc);
            Ok(CotpReply::Confirm(cc))
        }
        COTP_DR => Ok(CotpReply::Disconnect(CotpDisconnect {
            destination_ref: r.u16_be("DR destination reference")?,
            source_ref: r.u16_be("DR source reference")?,
            reason: r.u8("DR reason")?,
        })),
        COTP_ER => Ok(CotpReply::Reject(CotpReject {
            destination_ref: r.u16_be("ER destination reference")?,
            cause: r.u8("ER reject cause")?,
        })),
        _ => Err(CotpError::UnexpectedCotp(pdu_type)),
    }
}

fn parse_cc_params(r: &mut Cursor<'_>, cc: &mut ConnectionConfirm) {
    for _ in 0..MAX_COTP_PARAMS {
        if r.len() == 0 {
            return;
        }
        let (Ok(code), Ok(len)) = (r.u8("COTP parameter code"), r.u8("COTP parameter length"))
        else {
            cc.warnings
                .push("COTP parameter area ends inside a parameter header".to_owned());
            return;
        };
        let Ok(value) = r.take(usize::from(len), "COTP parameter value") else {
            cc.warnings.push(format!(
                "COTP parameter {code:#04x} declares {len} bytes, {} present",
                r.len()
            ));
            return;
        };
        let as_u16 = <[u8; 2]>::try_from(value).ok().map(u16::from_be_bytes);
        match code {
            PARAM_TPDU_SIZE => cc.tpdu_size = value.first().copied(),
            PARAM_CALLING_TSAP | PARAM_CALLED_TSAP => {
                if as_u16.is_none() {
                    cc.warnings
                        .push(format!("TSAP parameter {code:#04x} is {len} bytes, not 2"));
                }
                if code == PARAM_CALLING_TSAP {
                    cc.calling_tsap = as_u16;
                } else {
                    cc.called_tsap = as_u16;
                }
            }
            _ => {}
        }
    }
    if r.len() > 0 {
        cc.warnings.push(format!(
            "more than {MAX_COTP_PARAMS} COTP parameters; the rest ignored"
        ));
    }
}
