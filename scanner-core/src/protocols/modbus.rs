//! Modbus/TCP identification: FC 0x2B / MEI 0x0E Read Device Identification,
//! with FC 0x11 Report Server ID as fallback.
//!
//! The codec half is sans IO: [`parse_reply`] turns an ADU into a [`ModbusReply`].
//! It decodes the PDU with tokio-modbus first and, when tokio-modbus rejects it
//! (unknown conformity level, trailing bytes, odd run indicator: all seen on real
//! devices), with a tolerant parser of our own that checks every offset.
//!
//! We do not use tokio-modbus's client: it owns the socket and encodes from its
//! full `Request` enum, writes included. The engine owns the socket (pacing,
//! one connection per device, bounded reads) and every request comes from
//! [`ReadOnlyRequest`].

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::{DeviceSession, ExchangeError, FrameCheck};
use crate::record::{
    DeviceText, Identity, Protocol, ServiceDetails, ServiceObservation, Status, Transport,
};
use crate::request::{ModbusReadCode, ReadOnlyRequest};

/// Default Modbus/TCP port.
pub const DEFAULT_PORT: u16 = 502;
/// MBAP header length (transaction id, protocol id, length, unit id).
pub const MBAP_LEN: usize = 7;
/// Largest PDU the Modbus spec allows.
pub const MAX_PDU_LEN: usize = 253;
/// Largest ADU: MBAP header + PDU.
pub const MAX_ADU_LEN: usize = MBAP_LEN + MAX_PDU_LEN;

const FC_REPORT_SERVER_ID: u8 = 0x11;
const FC_ENCAPSULATED: u8 = 0x2B;
const MEI_READ_DEVICE_ID: u8 = 0x0E;

/// Unit ids tried by default, in order: 255 (what the Modbus/TCP guide asks direct
/// devices to accept), 0 (what many answer instead), 1 (first serial slave behind a
/// gateway). 0 is not first because behind a serial gateway it is the broadcast address.
pub const DEFAULT_UNIT_IDS: [u8; 3] = [255, 0, 1];

pub(crate) fn encode_read_device_id(
    transaction_id: u16,
    unit_id: u8,
    read_code: ModbusReadCode,
    object_id: u8,
) -> Vec<u8> {
    encode_adu(
        transaction_id,
        unit_id,
        &[
            FC_ENCAPSULATED,
            MEI_READ_DEVICE_ID,
            read_code.value(),
            object_id,
        ],
    )
}

pub(crate) fn encode_report_server_id(transaction_id: u16, unit_id: u8) -> Vec<u8> {
    encode_adu(transaction_id, unit_id, &[FC_REPORT_SERVER_ID])
}

fn encode_adu(transaction_id: u16, unit_id: u8, pdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MBAP_LEN + pdu.len());
    out.extend_from_slice(&transaction_id.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    // The length counts the unit id and the PDU; PDUs here are at most 4 bytes.
    out.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
    out.push(unit_id);
    out.extend_from_slice(pdu);
    out
}

/// Frames a Modbus/TCP reply in a receive buffer: how long the ADU is and whether
/// it answers `transaction_id` (a late reply to an earlier request does not).
pub fn frame_check(buf: &[u8], transaction_id: u16) -> FrameCheck {
    if buf.len() < MBAP_LEN {
        return FrameCheck::NeedMore;
    }
    let protocol_id = u16::from_be_bytes([buf[2], buf[3]]);
    if protocol_id != 0 {
        return FrameCheck::Invalid(format!(
            "MBAP protocol id {protocol_id:#06x}, not Modbus (0)"
        ));
    }
    let length = usize::from(u16::from_be_bytes([buf[4], buf[5]]));
    if !(2..=MAX_PDU_LEN + 1).contains(&length) {
        return FrameCheck::Invalid(format!(
            "MBAP length {length} outside 2..={}",
            MAX_PDU_LEN + 1
        ));
    }
    let total = 6 + length;
    if buf.len() < total {
        return FrameCheck::NeedMore;
    }
    FrameCheck::Complete {
        len: total,
        matches: u16::from_be_bytes([buf[0], buf[1]]) == transaction_id,
    }
}

/// Which decoder understood a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Decoder {
    /// tokio-modbus's strict PDU decoder.
    TokioModbus,
    /// otscan's tolerant fallback parser (the strict one rejected the reply).
    Tolerant,
}

/// One page of a Read Device Identification reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdPage {
    /// Read device id code echoed by the device.
    pub read_code: u8,
    /// Conformity level byte.
    pub conformity_level: u8,
    /// More objects follow (continuation needed).
    pub more_follows: bool,
    /// Object id to continue from.
    pub next_object_id: u8,
    /// Objects in the order received.
    pub objects: Vec<(u8, Vec<u8>)>,
    /// Oddities the tolerant parser accepted.
    pub warnings: Vec<String>,
}

/// A Report Server ID (FC 0x11) reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerIdReply {
    /// Everything after the byte count: server id, run indicator, device-specific data.
    pub data: Vec<u8>,
}

/// A decoded Modbus reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModbusReply {
    /// FC 0x2B / 0x0E reply.
    DeviceId(DeviceIdPage),
    /// FC 0x11 reply.
    ServerId(ServerIdReply),
    /// Exception reply (function | 0x80, code).
    Exception {
        /// The function code the exception answers (without the 0x80 bit).
        function: u8,
        /// Exception code.
        code: u8,
    },
}

/// A reply with its MBAP fields and the decoder that understood it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAdu {
    /// MBAP transaction id.
    pub transaction_id: u16,
    /// MBAP unit id.
    pub unit_id: u8,
    /// The decoded PDU.
    pub reply: ModbusReply,
    /// Which decoder understood it.
    pub decoder: Decoder,
}

/// Why a reply could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than the structure needs.
    #[error("reply truncated: {what} needs {needed} bytes, {available} present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// MBAP header fields that cannot be a Modbus/TCP reply.
    #[error("bad MBAP header: {0}")]
    BadHeader(String),
    /// A function code that answers none of our requests.
    #[error("unexpected function code {0:#04x}")]
    UnexpectedFunction(u8),
    /// FC 0x2B with an MEI type other than 0x0E.
    #[error("unexpected MEI type {0:#04x}")]
    UnexpectedMeiType(u8),
    /// An object's declared length runs past the PDU.
    #[error("object {id:#04x} declares {declared} bytes, {available} present")]
    ObjectOverrun {
        /// Object id.
        id: u8,
        /// Declared length.
        declared: usize,
        /// Bytes present.
        available: usize,
    },
}

/// Parses one Modbus/TCP ADU (MBAP header + PDU) that answers one of our requests.
pub fn parse_reply(adu: &[u8]) -> Result<ParsedAdu, ParseError> {
    if adu.len() < MBAP_LEN + 1 {
        return Err(ParseError::Truncated {
            what: "MBAP header and function code",
            needed: MBAP_LEN + 1,
            available: adu.len(),
        });
    }
    let transaction_id = u16::from_be_bytes([adu[0], adu[1]]);
    let protocol_id = u16::from_be_bytes([adu[2], adu[3]]);
    if protocol_id != 0 {
        return Err(ParseError::BadHeader(format!(
            "protocol id {protocol_id:#06x}"
        )));
    }
    let length = usize::from(u16::from_be_bytes([adu[4], adu[5]]));
    if length != adu.len() - 6 {
        return Err(ParseError::BadHeader(format!(
            "length field {length} but {} bytes follow",
            adu.len() - 6
        )));
    }
    let unit_id = adu[6];
    let pdu = &adu[MBAP_LEN..];
    let (reply, decoder) = match decode_with_tokio_modbus(pdu) {
        Some(reply) => (reply, Decoder::TokioModbus),
        None => (parse_pdu_tolerant(pdu)?, Decoder::Tolerant),
    };
    Ok(ParsedAdu {
        transaction_id,
        unit_id,
        reply,
        decoder,
    })
}

fn decode_with_tokio_modbus(pdu: &[u8]) -> Option<ModbusReply> {
    use tokio_modbus::{ExceptionResponse, Response};
    let bytes = bytes::Bytes::copy_from_slice(pdu);
    if pdu.first().is_some_and(|fc| fc & 0x80 != 0) {
        let ex = ExceptionResponse::try_from(bytes).ok()?;
        if pdu.len() != 2 {
            return None;
        }
        return Some(ModbusReply::Exception {
            function: ex.function.value(),
            code: u8::from(ex.exception),
        });
    }
    match Response::try_from(bytes).ok()? {
        Response::ReadDeviceIdentification(r) => Some(ModbusReply::DeviceId(DeviceIdPage {
            read_code: r.read_code.value(),
            conformity_level: r.conformity_level.value(),
            more_follows: r.more_follows,
            next_object_id: r.next_object_id,
            objects: r
                .device_id_objects
                .into_iter()
                .map(|o| (o.id, o.value.to_vec()))
                .collect(),
            warnings: Vec::new(),
        })),
        // tokio-modbus splits the payload as (server id, run indicator, rest); we keep
        // it whole since the server id's length is device specific.
        Response::ReportServerId(..) => Some(ModbusReply::ServerId(ServerIdReply {
            data: pdu.get(2..)?.to_vec(),
        })),
        _ => None,
    }
}

/// Tolerant PDU parser: accepts any conformity/read code byte and trailing bytes
/// (noting them as warnings), and refuses only what cannot be read safely.
pub fn parse_pdu_tolerant(pdu: &[u8]) -> Result<ModbusReply, ParseError> {
    let Some(&function) = pdu.first() else {
        return Err(ParseError::Truncated {
            what: "function code",
            needed: 1,
            available: 0,
        });
    };
    if function & 0x80 != 0 {
        let code = *pdu.get(1).ok_or(ParseError::Truncated {
            what: "exception code",
            needed: 2,
            available: pdu.len(),
        })?;
        return Ok(ModbusReply::Exception {
            function: function & 0x7F,
            code,
        });
    }
    match function {
        FC_ENCAPSULATED => parse_device_id_pdu(pdu).map(ModbusReply::DeviceId),
        FC_REPORT_SERVER_ID => {
            let count = usize::from(*pdu.get(1).ok_or(ParseError::Truncated {
                what: "report server id byte count",
                needed: 2,
                available: pdu.len(),
            })?);
            let data = pdu.get(2..2 + count).ok_or(ParseError::Truncated {
                what: "report server id data",
                needed: 2 + count,
                available: pdu.len(),
            })?;
            Ok(ModbusReply::ServerId(ServerIdReply {
                data: data.to_vec(),
            }))
        }
        other => Err(ParseError::UnexpectedFunction(other)),
    }
}

fn parse_device_id_pdu(pdu: &[u8]) -> Result<DeviceIdPage, ParseError> {
    const FIXED: usize = 7;
    if pdu.len() < FIXED {
        return Err(ParseError::Truncated {
            what: "read device identification header",
            needed: FIXED,
            available: pdu.len(),
        });
    }
    if pdu[1] != MEI_READ_DEVICE_ID {
        return Err(ParseError::UnexpectedMeiType(pdu[1]));
    }
    let mut warnings = Vec::new();
    let (read_code, conformity_level) = (pdu[2], pdu[3]);
    if !(1..=4).contains(&read_code) {
        warnings.push(format!("unknown read device id code {read_code:#04x}"));
    }
    if !matches!(conformity_level, 0x01..=0x03 | 0x81..=0x83) {
        warnings.push(format!("unknown conformity level {conformity_level:#04x}"));
    }
    let more_follows = match pdu[4] {
        0x00 => false,
        0xFF => true,
        other => {
            warnings.push(format!("more-follows byte {other:#04x}, read as 'more'"));
            true
        }
    };
    let next_object_id = pdu[5];
    let count = usize::from(pdu[6]);
    let mut objects = Vec::with_capacity(count);
    let mut rest = &pdu[FIXED..];
    for _ in 0..count {
        let [id, len, tail @ ..] = rest else {
            return Err(ParseError::Truncated {
                what: "object header",
                needed: 2,
                available: rest.len(),
            });
        };
        let len = usize::from(*len);
        let value = tail.get(..len).ok_or(ParseError::ObjectOverrun {
            id: *id,
            declared: len,
            available: tail.len(),
        })?;
        objects.push((*id, value.to_vec()));
        rest = &tail[len..];
    }
    if !rest.is_empty() {
        warnings.push(format!("{} trailing bytes after the objects", rest.len()));
    }
    Ok(DeviceIdPage {
        read_code,
        conformity_level,
        more_follows,
        next_object_id,
        objects,
        warnings,
    })
}

/// Standard name of a device identification object id (0x00-0x06), as in the Modbus spec.
pub const fn object_name(id: u8) -> Option<&'static str> {
    Some(match id {
        0x00 => "VendorName",
        0x01 => "ProductCode",
        0x02 => "MajorMinorRevision",
        0x03 => "VendorUrl",
        0x04 => "ProductName",
        0x05 => "ModelName",
        0x06 => "UserApplicationName",
        _ => return None,
    })
}

/// Name of a Modbus exception code.
pub const fn exception_name(code: u8) -> &'static str {
    match code {
        0x01 => "illegal-function",
        0x02 => "illegal-data-address",
        0x03 => "illegal-data-value",
        0x04 => "server-device-failure",
        0x05 => "acknowledge",
        0x06 => "server-device-busy",
        0x08 => "memory-parity-error",
        0x0A => "gateway-path-unavailable",
        0x0B => "gateway-target-failed-to-respond",
        _ => "unknown",
    }
}

/// Conformity level name: the highest object category the device serves.
pub const fn conformity_name(level: u8) -> Option<&'static str> {
    Some(match level & 0x7F {
        0x01 => "basic",
        0x02 => "regular",
        0x03 => "extended",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Record fields

/// Modbus fields of a service observation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModbusDetails {
    /// The unit id that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<u8>,
    /// Every unit id tried, in order, with what happened.
    pub units_tried: Vec<UnitAttempt>,
    /// Conformity level byte (0x01-0x03, 0x81-0x83).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformity_level: Option<u8>,
    /// Highest object category served: basic, regular or extended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformity: Option<String>,
    /// The conformity level says individual object access is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub individual_access: Option<bool>,
    /// Every identification object received.
    pub objects: Vec<ModbusObject>,
    /// FC 0x11 Report Server ID reply, when asked (FC 0x2B unsupported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_server_id: Option<ReportServerId>,
    /// The exception that ended identification, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<ModbusException>,
    /// Read Device Identification replies received (pages).
    pub pages: u32,
    /// Continuation stopped early: page cap reached or the device looped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continuation_stopped: bool,
    /// Which decoder understood the replies (tolerant when any needed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoder: Option<Decoder>,
    /// Oddities in the replies that were accepted anyway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One unit id tried and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnitAttempt {
    /// Unit id.
    pub unit_id: u8,
    /// answered, exception name, io-timeout, connection-closed, protocol-error, ...
    pub outcome: String,
}

/// One identification object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ModbusObject {
    /// Object id.
    pub id: u8,
    /// Standard name for 0x00-0x06.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The value.
    pub value: DeviceText,
}

/// FC 0x11 reply fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReportServerId {
    /// First data byte, the server id in the common one-byte layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<u8>,
    /// Second data byte as run indicator (0x00 off, 0xFF on), when it is one of those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_indicator: Option<bool>,
    /// Bytes after server id and run indicator (often ASCII).
    pub additional: DeviceText,
    /// The whole payload after the byte count, in hex.
    pub raw_hex: String,
}

/// A Modbus exception reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ModbusException {
    /// Function code the exception answers.
    pub function: u8,
    /// Exception code.
    pub code: u8,
    /// Exception name.
    pub name: String,
}

impl ReportServerId {
    fn from_data(data: &[u8]) -> Self {
        let run_indicator = match data.get(1) {
            Some(0x00) => Some(false),
            Some(0xFF) => Some(true),
            _ => None,
        };
        ReportServerId {
            server_id: data.first().copied(),
            run_indicator,
            additional: DeviceText::from_bytes(data.get(2..).unwrap_or_default()),
            raw_hex: crate::record::hex(data),
        }
    }
}

// ---------------------------------------------------------------------------
// Probe

/// Modbus probe settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModbusConfig {
    /// TCP port.
    pub port: u16,
    /// Unit ids to try in order, stopping at the first that answers.
    pub unit_ids: Vec<u8>,
    /// Most Read Device Identification pages followed per stream (continuation cap).
    pub max_pages: u32,
    /// Unit ids that may go unanswered (read timeout or closed connection) before the
    /// device is given up. A device that never answers costs this many timeouts. The
    /// default is 2 because devices that silently drop unit id 255 and answer 0 exist
    /// (libmodbus servers do); 1 makes a silent device cost a single timeout.
    pub max_silent_units: u32,
}

impl Default for ModbusConfig {
    fn default() -> Self {
        ModbusConfig {
            port: DEFAULT_PORT,
            unit_ids: DEFAULT_UNIT_IDS.to_vec(),
            max_pages: 8,
            max_silent_units: 2,
        }
    }
}

impl ModbusConfig {
    /// Largest number of requests the probe can send to one device (for the plan).
    pub fn max_requests(&self) -> u64 {
        // Per unit: one basic request; on the answering unit up to max_pages for each
        // of the three streams, or one Report Server ID.
        self.unit_ids.len() as u64 + 3 * u64::from(self.max_pages)
    }
}

enum UnitResult {
    /// The unit answered; stop trying others.
    Answered,
    /// Nothing behind this unit id (gateway exception) or silent: try the next.
    Next,
    /// Stop the probe with this status.
    Stop(Status),
}

struct ModbusRun<'a> {
    session: &'a mut DeviceSession,
    config: &'a ModbusConfig,
    details: ModbusDetails,
    objects: BTreeMap<u8, Vec<u8>>,
    requests: u32,
    first_rtt: Option<Duration>,
    error: Option<String>,
}

/// Runs the Modbus probe against one device over the engine's session.
pub(crate) async fn probe(
    session: &mut DeviceSession,
    config: &ModbusConfig,
) -> (ServiceObservation, Identity) {
    let mut run = ModbusRun {
        session,
        config,
        details: ModbusDetails::default(),
        objects: BTreeMap::new(),
        requests: 0,
        first_rtt: None,
        error: None,
    };
    let mut status = Status::IoTimeout;
    let mut silent = 0u32;
    for &unit in &config.unit_ids {
        match run.identify_unit(unit).await {
            UnitResult::Answered => {
                status =
                    if run.details.exception.is_some() && run.details.report_server_id.is_none() {
                        Status::ApplicationError
                    } else {
                        Status::Success
                    };
                break;
            }
            UnitResult::Next => {
                status = run.last_unit_status();
                if matches!(status, Status::IoTimeout | Status::ConnectionClosed) {
                    silent += 1;
                    if silent >= config.max_silent_units {
                        break;
                    }
                }
            }
            UnitResult::Stop(s) => {
                status = s;
                break;
            }
        }
    }
    run.session.close().await;
    run.finish(status)
}

impl ModbusRun<'_> {
    fn last_unit_status(&self) -> Status {
        match self.details.units_tried.last().map(|u| u.outcome.as_str()) {
            Some("io-timeout") => Status::IoTimeout,
            Some("connection-closed") => Status::ConnectionClosed,
            // Gateway exceptions prove Modbus even when no unit sits behind them.
            Some(_) => Status::ApplicationError,
            None => Status::IoTimeout,
        }
    }

    async fn exchange(&mut self, request: ReadOnlyRequest) -> Result<ParsedAdu, ExchangeError> {
        self.requests += 1;
        let reply = self
            .session
            .tcp_exchange(self.config.port, &request, MAX_ADU_LEN, &|buf, corr| {
                frame_check(buf, corr as u16)
            })
            .await?;
        self.first_rtt.get_or_insert(reply.rtt);
        parse_reply(&reply.bytes).map_err(|e| ExchangeError::Protocol(e.to_string()))
    }

    fn attempt(&mut self, unit_id: u8, outcome: impl Into<String>) {
        self.details.units_tried.push(UnitAttempt {
            unit_id,
            outcome: outcome.into(),
        });
    }

    async fn identify_unit(&mut self, unit_id: u8) -> UnitResult {
        let basic = ReadOnlyRequest::ModbusReadDeviceId {
            unit_id,
            read_code: ModbusReadCode::Basic,
            object_id: 0,
        };
        let parsed = match self.exchange(basic).await {
            Ok(p) => p,
            // Silence or a closed connection on one unit id may be a device that
            // ignores that id (libmodbus does): the session reconnects if needed.
            Err(e @ (ExchangeError::Timeout | ExchangeError::Closed)) => {
                self.attempt(unit_id, e.status().name());
                return UnitResult::Next;
            }
            Err(e) => {
                self.attempt(unit_id, e.status().name());
                self.error = Some(e.to_string());
                return UnitResult::Stop(e.status());
            }
        };
        self.note_decoder(parsed.decoder);
        match parsed.reply {
            ModbusReply::Exception {
                code: code @ (0x0A | 0x0B),
                ..
            } => {
                // A gateway with nothing behind this unit id: the next id may have a device.
                self.attempt(unit_id, exception_name(code));
                UnitResult::Next
            }
            ModbusReply::Exception { function, code } => {
                self.attempt(unit_id, exception_name(code));
                self.details.unit_id = Some(unit_id);
                self.details.exception = Some(ModbusException {
                    function,
                    code,
                    name: exception_name(code).to_owned(),
                });
                if code == 0x01 {
                    self.report_server_id(unit_id).await;
                }
                UnitResult::Answered
            }
            ModbusReply::DeviceId(page) => {
                self.attempt(unit_id, "answered");
                self.details.unit_id = Some(unit_id);
                let level = page.conformity_level;
                self.details.conformity_level = Some(level);
                self.details.conformity = conformity_name(level).map(str::to_owned);
                self.details.individual_access = Some(level & 0x80 != 0);
                self.follow_stream(unit_id, ModbusReadCode::Basic, page)
                    .await;
                if matches!(level & 0x7F, 0x02 | 0x03) {
                    self.read_stream(unit_id, ModbusReadCode::Regular).await;
                }
                if level & 0x7F == 0x03 {
                    self.read_stream(unit_id, ModbusReadCode::Extended).await;
                }
                UnitResult::Answered
            }
            ModbusReply::ServerId(_) => {
                self.attempt(unit_id, "protocol-error");
                self.error =
                    Some("Report Server ID reply to a Read Device Identification request".into());
                UnitResult::Stop(Status::ProtocolError)
            }
        }
    }

    fn note_decoder(&mut self, decoder: Decoder) {
        if self.details.decoder != Some(Decoder::Tolerant) {
            self.details.decoder = Some(decoder);
        }
    }

    /// Reads one more stream (regular or extended); errors there keep what was learned.
    async fn read_stream(&mut self, unit_id: u8, read_code: ModbusReadCode) {
        let request = ReadOnlyRequest::ModbusReadDeviceId {
            unit_id,
            read_code,
            object_id: read_code.first_object(),
        };
        match self.exchange(request).await {
            Ok(ParsedAdu {
                reply: ModbusReply::DeviceId(page),
                decoder,
                ..
            }) => {
                self.note_decoder(decoder);
                self.follow_stream(unit_id, read_code, page).await;
            }
            Ok(other) => self.details.warnings.push(format!(
                "{read_code:?} stream: unexpected reply {:?}",
                other.reply
            )),
            Err(e) => self
                .details
                .warnings
                .push(format!("{read_code:?} stream: {e}")),
        }
    }

    /// Keeps a page's objects and follows `more_follows` continuation, bounded by
    /// the page cap and refusing to revisit an object id (a looping device).
    async fn follow_stream(&mut self, unit_id: u8, read_code: ModbusReadCode, first: DeviceIdPage) {
        let mut page = first;
        let mut asked = vec![read_code.first_object()];
        let mut pages = 1u32;
        loop {
            self.details.pages += 1;
            self.details.warnings.append(&mut page.warnings);
            for (id, value) in std::mem::take(&mut page.objects) {
                self.objects.entry(id).or_insert(value);
            }
            if !page.more_follows {
                return;
            }
            let next = page.next_object_id;
            if pages >= self.config.max_pages || asked.contains(&next) {
                self.details.continuation_stopped = true;
                return;
            }
            asked.push(next);
            pages += 1;
            let request = ReadOnlyRequest::ModbusReadDeviceId {
                unit_id,
                read_code,
                object_id: next,
            };
            match self.exchange(request).await {
                Ok(ParsedAdu {
                    reply: ModbusReply::DeviceId(p),
                    decoder,
                    ..
                }) => {
                    self.note_decoder(decoder);
                    page = p;
                }
                Ok(other) => {
                    self.details.warnings.push(format!(
                        "continuation at object {next:#04x}: unexpected reply {:?}",
                        other.reply
                    ));
                    return;
                }
                Err(e) => {
                    self.details
                        .warnings
                        .push(format!("continuation at object {next:#04x}: {e}"));
                    return;
                }
            }
        }
    }

    async fn report_server_id(&mut self, unit_id: u8) {
        match self
            .exchange(ReadOnlyRequest::ModbusReportServerId { unit_id })
            .await
        {
            Ok(ParsedAdu {
                reply: ModbusReply::ServerId(reply),
                decoder,
                ..
            }) => {
                self.note_decoder(decoder);
                self.details.report_server_id = Some(ReportServerId::from_data(&reply.data));
            }
            Ok(ParsedAdu {
                reply: ModbusReply::Exception { code, .. },
                ..
            }) => self.details.warnings.push(format!(
                "report server id: exception {code:#04x} {}",
                exception_name(code)
            )),
            Ok(other) => self.details.warnings.push(format!(
                "report server id: unexpected reply {:?}",
                other.reply
            )),
            Err(e) => self.details.warnings.push(format!("report server id: {e}")),
        }
    }

    fn finish(mut self, status: Status) -> (ServiceObservation, Identity) {
        let text = |objects: &BTreeMap<u8, Vec<u8>>, id: u8| {
            objects
                .get(&id)
                .and_then(|v| DeviceText::from_bytes(v).trimmed())
        };
        let identity = Identity {
            vendor: text(&self.objects, 0x00),
            product_code: text(&self.objects, 0x01),
            firmware_version: text(&self.objects, 0x02),
            product_name: text(&self.objects, 0x04),
            model: text(&self.objects, 0x05),
            ..Identity::default()
        };
        self.details.objects = self
            .objects
            .iter()
            .map(|(&id, value)| ModbusObject {
                id,
                name: object_name(id).map(str::to_owned),
                value: DeviceText::from_bytes(value),
            })
            .collect();
        if status == Status::ApplicationError && self.error.is_none() {
            if let Some(ex) = &self.details.exception {
                self.error = Some(format!("exception {:#04x} {}", ex.code, ex.name));
            } else if let Some(last) = self.details.units_tried.last() {
                self.error = Some(format!("unit {}: {}", last.unit_id, last.outcome));
            }
        }
        if self.error.is_none() {
            match status {
                Status::IoTimeout => self.error = Some(ExchangeError::Timeout.to_string()),
                // Every unit id tried ended with the device closing (or resetting) the
                // connection: say so, as the other probes do.
                Status::ConnectionClosed => self.error = Some(ExchangeError::Closed.to_string()),
                _ => {}
            }
        }
        // Details are worth keeping once a request reached the device; a refused
        // connection has nothing to say beyond its status.
        let reached = !self.details.units_tried.is_empty()
            && !matches!(
                status,
                Status::ConnectionRefused | Status::ConnectionTimeout | Status::Stopped
            );
        let observation = ServiceObservation {
            protocol: Protocol::Modbus,
            transport: Transport::Tcp,
            port: self.config.port,
            status,
            rtt_ms: self.first_rtt.map(crate::record::millis),
            timestamp: jiff::Timestamp::now(),
            error: self.error,
            requests: self.requests,
            details: reached.then_some(ServiceDetails::Modbus(self.details)),
        };
        (observation, identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adu(tid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
        let mut v = tid.to_be_bytes().to_vec();
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
        v.push(unit);
        v.extend_from_slice(pdu);
        v
    }

    fn device_id_pdu(conformity: u8, more: u8, next: u8, objects: &[(u8, &[u8])]) -> Vec<u8> {
        let mut pdu = vec![
            0x2B,
            0x0E,
            0x01,
            conformity,
            more,
            next,
            objects.len() as u8,
        ];
        for (id, value) in objects {
            pdu.push(*id);
            pdu.push(value.len() as u8);
            pdu.extend_from_slice(value);
        }
        pdu
    }

    #[test]
    fn encodes_read_device_id_and_report_server_id() {
        let basic = ReadOnlyRequest::ModbusReadDeviceId {
            unit_id: 0xFF,
            read_code: ModbusReadCode::Basic,
            object_id: 0,
        };
        assert_eq!(
            basic.encode(0x0102),
            [0x01, 0x02, 0, 0, 0, 5, 0xFF, 0x2B, 0x0E, 0x01, 0x00]
        );
        let extended = ReadOnlyRequest::ModbusReadDeviceId {
            unit_id: 1,
            read_code: ModbusReadCode::Extended,
            object_id: 0x80,
        };
        assert_eq!(
            extended.encode(7),
            [0, 7, 0, 0, 0, 5, 1, 0x2B, 0x0E, 0x03, 0x80]
        );
        assert_eq!(
            ReadOnlyRequest::ModbusReportServerId { unit_id: 0 }.encode(0x1_0003),
            [0, 3, 0, 0, 0, 2, 0, 0x11]
        );
    }

    #[test]
    fn parses_the_spec_example_reply() {
        // Modbus Application Protocol v1.1b3, 6.21: a basic stream in one page.
        let pdu = device_id_pdu(
            0x01,
            0x00,
            0x00,
            &[
                (0x00, b"Company identification"),
                (0x01, b"Product code XX"),
                (0x02, b"V2.11"),
            ],
        );
        let parsed = parse_reply(&adu(9, 0xFF, &pdu)).unwrap();
        assert_eq!(parsed.transaction_id, 9);
        assert_eq!(parsed.unit_id, 0xFF);
        assert_eq!(parsed.decoder, Decoder::TokioModbus);
        let ModbusReply::DeviceId(page) = parsed.reply else {
            panic!("not a device id reply")
        };
        assert_eq!(page.conformity_level, 0x01);
        assert!(!page.more_follows);
        assert_eq!(
            page.objects,
            vec![
                (0, b"Company identification".to_vec()),
                (1, b"Product code XX".to_vec()),
                (2, b"V2.11".to_vec())
            ]
        );
    }

    #[test]
    fn parses_a_continuation_page() {
        // The spec's second example: more follows, continue at object 0x02.
        let pdu = device_id_pdu(0x82, 0xFF, 0x02, &[(0x00, b"Company"), (0x01, b"PC-1")]);
        let ModbusReply::DeviceId(page) = parse_reply(&adu(1, 0, &pdu)).unwrap().reply else {
            panic!()
        };
        assert!(page.more_follows);
        assert_eq!(page.next_object_id, 0x02);
        assert_eq!(page.objects.len(), 2);
    }

    #[test]
    fn tolerates_unknown_conformity_and_trailing_bytes() {
        let mut pdu = device_id_pdu(0x04, 0x00, 0x00, &[(0x00, b"Acme")]);
        pdu.extend_from_slice(&[0xDE, 0xAD]);
        let parsed = parse_reply(&adu(1, 1, &pdu)).unwrap();
        assert_eq!(parsed.decoder, Decoder::Tolerant);
        let ModbusReply::DeviceId(page) = parsed.reply else {
            panic!()
        };
        assert_eq!(page.objects, vec![(0, b"Acme".to_vec())]);
        assert_eq!(page.warnings.len(), 2, "{:?}", page.warnings);
        assert!(page.warnings[0].contains("conformity level 0x04"));
        assert!(page.warnings[1].contains("2 trailing bytes"));
    }

    #[test]
    fn parses_exceptions_and_report_server_id() {
        let ex = parse_reply(&adu(1, 0xFF, &[0xAB, 0x01])).unwrap();
        assert_eq!(
            ex.reply,
            ModbusReply::Exception {
                function: 0x2B,
                code: 0x01
            }
        );
        let gw = parse_reply(&adu(1, 5, &[0xAB, 0x0B])).unwrap();
        assert_eq!(
            gw.reply,
            ModbusReply::Exception {
                function: 0x2B,
                code: 0x0B
            }
        );
        // Byte count 7: server id 0x42, run indicator on, "PLC-5A".
        let rsi = parse_reply(&adu(2, 1, b"\x11\x08\x42\xFFPLC-5A")).unwrap();
        let ModbusReply::ServerId(reply) = rsi.reply else {
            panic!()
        };
        let fields = ReportServerId::from_data(&reply.data);
        assert_eq!(fields.server_id, Some(0x42));
        assert_eq!(fields.run_indicator, Some(true));
        assert_eq!(fields.additional.text, "PLC-5A");
        // A run indicator tokio-modbus rejects still parses tolerantly.
        let odd = parse_reply(&adu(2, 1, b"\x11\x03\x01\x07X")).unwrap();
        assert_eq!(odd.decoder, Decoder::Tolerant);
    }

    #[test]
    fn rejects_malformed_replies() {
        // Object length runs past the end.
        let pdu = [0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x10, b'A'];
        assert!(matches!(
            parse_reply(&adu(1, 1, &pdu)),
            Err(ParseError::ObjectOverrun {
                id: 0,
                declared: 16,
                available: 1
            })
        ));
        // Object count larger than the objects present.
        let pdu = [0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03, 0x00, 0x01, b'A'];
        assert!(matches!(
            parse_reply(&adu(1, 1, &pdu)),
            Err(ParseError::Truncated { .. })
        ));
        // Wrong MEI type, unexpected function, short header, bad protocol id, lying length.
        assert!(matches!(
            parse_reply(&adu(1, 1, &[0x2B, 0x0D, 1, 1, 0, 0, 0])),
            Err(ParseError::UnexpectedMeiType(0x0D))
        ));
        assert!(matches!(
            parse_reply(&adu(1, 1, &[0x06, 0, 1, 0, 3])),
            Err(ParseError::UnexpectedFunction(0x06))
        ));
        assert!(parse_reply(&[0, 1, 0, 0, 0, 2]).is_err());
        let mut bad = adu(1, 1, &[0xAB, 0x01]);
        bad[3] = 1;
        assert!(matches!(parse_reply(&bad), Err(ParseError::BadHeader(_))));
        let mut lying = adu(1, 1, &[0xAB, 0x01]);
        lying[5] = 9;
        assert!(matches!(parse_reply(&lying), Err(ParseError::BadHeader(_))));
    }

    #[test]
    fn frames_replies_and_skips_stale_ones() {
        let reply = adu(5, 1, &[0xAB, 0x01]);
        assert_eq!(frame_check(&reply[..4], 5), FrameCheck::NeedMore);
        assert_eq!(frame_check(&reply[..8], 5), FrameCheck::NeedMore);
        assert_eq!(
            frame_check(&reply, 5),
            FrameCheck::Complete {
                len: 9,
                matches: true
            }
        );
        assert_eq!(
            frame_check(&reply, 4),
            FrameCheck::Complete {
                len: 9,
                matches: false
            }
        );
        // MBAP length 65535 is a lie no Modbus device can tell: refuse, don't wait for it.
        let huge = [0, 5, 0, 0, 0xFF, 0xFF, 1, 0x2B];
        assert!(matches!(frame_check(&huge, 5), FrameCheck::Invalid(_)));
        let http = b"HTTP/1.1 400 Bad Request\r\n";
        assert!(matches!(frame_check(http, 5), FrameCheck::Invalid(_)));
    }

    #[test]
    fn names_objects_exceptions_and_conformity() {
        assert_eq!(object_name(0x04), Some("ProductName"));
        assert_eq!(object_name(0x80), None);
        assert_eq!(exception_name(0x0A), "gateway-path-unavailable");
        assert_eq!(conformity_name(0x83), Some("extended"));
        assert_eq!(conformity_name(0x04), None);
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_reply(&bytes);
            let _ = parse_pdu_tolerant(&bytes);
            let _ = frame_check(&bytes, 1);
        }

        #[test]
        fn parser_never_panics_on_mutated_replies(
            flips in proptest::collection::vec((0usize..64, proptest::num::u8::ANY), 1..6),
            cut in 0usize..64,
        ) {
            let pdu = device_id_pdu(0x83, 0xFF, 0x05, &[(0, b"Vendor"), (1, b"P-1"), (2, b"1.0")]);
            let mut bytes = adu(3, 1, &pdu);
            for (i, b) in flips {
                let n = bytes.len();
                bytes[i % n] = b;
            }
            bytes.truncate(bytes.len().saturating_sub(cut % 8));
            let _ = parse_reply(&bytes);
        }
    }
}
