//! A simulated Modbus/TCP device that answers Read Device Identification (FC 0x2B / MEI 0x0E)
//! and Report Server ID (FC 0x11) the way real devices do, including the ways they go wrong.
//! Every other function code gets exception 01, so nothing a scanner sends changes any state.

use std::{collections::BTreeMap, collections::BTreeSet, future, io, net::SocketAddr, sync::Arc};

use tokio_modbus::{
    prelude::ReadCode,
    server::{tcp::Server, Service},
    ExceptionCode, Request, Response, SlaveRequest,
};
use tokio_util::sync::CancellationToken;

use crate::{
    device::{bind_loopback, DeviceHandle, ACCEPT_RETRY},
    recorder::{Framing, Recorder},
};

/// Identity object ids of Read Device Identification.
pub mod object_id {
    /// Basic, mandatory.
    pub const VENDOR_NAME: u8 = 0x00;
    /// Basic, mandatory.
    pub const PRODUCT_CODE: u8 = 0x01;
    /// Basic, mandatory.
    pub const MAJOR_MINOR_REVISION: u8 = 0x02;
    /// Regular.
    pub const VENDOR_URL: u8 = 0x03;
    /// Regular.
    pub const PRODUCT_NAME: u8 = 0x04;
    /// Regular.
    pub const MODEL_NAME: u8 = 0x05;
    /// Regular.
    pub const USER_APPLICATION_NAME: u8 = 0x06;
    /// First extended, vendor-specific object id.
    pub const FIRST_EXTENDED: u8 = 0x80;
}

/// The largest Modbus PDU, function code included.
const MAX_PDU: usize = 253;
/// Function code, MEI type, read code, conformity, more follows, next object id, object count.
const RDI_HEADER: usize = 7;
const MEI_READ_DEVICE_ID: u8 = 0x0E;
const FC_READ_DEVICE_ID: u8 = 0x2B;
const FC_REPORT_SERVER_ID: u8 = 0x11;

/// Which unit ids a device answers, and how it treats the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitIdPolicy {
    /// Every unit id gets the same answer (typical for a device that is its own TCP server).
    Any,
    /// Only `ids` are answered; requests to other ids get `others`.
    Only {
        /// Unit ids the device answers.
        ids: BTreeSet<u8>,
        /// What requests to any other unit id get.
        others: OtherUnitIds,
    },
}

impl UnitIdPolicy {
    /// Answers only `ids`, treating other ids as `others` says.
    pub fn only(ids: impl IntoIterator<Item = u8>, others: OtherUnitIds) -> Self {
        Self::Only {
            ids: ids.into_iter().collect(),
            others,
        }
    }

    /// Whether requests to `unit_id` are answered normally.
    pub fn answers(&self, unit_id: u8) -> bool {
        match self {
            UnitIdPolicy::Any => true,
            UnitIdPolicy::Only { ids, .. } => ids.contains(&unit_id),
        }
    }
}

/// The reply to a request for a unit id the device does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherUnitIds {
    /// No reply at all (libmodbus drops requests for other unit ids).
    Silent,
    /// Exception 0x0A, Gateway Path Unavailable.
    GatewayPathUnavailable,
    /// Exception 0x0B, Gateway Target Device Failed to Respond.
    GatewayTargetFailed,
}

/// How the device treats Read Device Identification (FC 0x2B / MEI 0x0E).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdiBehaviour {
    /// Serves the configured objects per the Modbus specification.
    Normal,
    /// Exception 01: the device speaks Modbus but not FC 0x2B (FC 0x11 may still answer).
    IllegalFunction,
    /// This exception code.
    Exception(u8),
    /// No reply.
    Silent,
}

/// Reply data for Report Server ID (FC 0x11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportServerId {
    /// Server id byte.
    pub server_id: u8,
    /// Run indicator: true is sent as 0xFF, false as 0x00.
    pub run: bool,
    /// Vendor-specific bytes after the run indicator, often ASCII; cut to the 249 bytes a PDU
    /// has room for.
    pub data: Vec<u8>,
}

impl ReportServerId {
    /// Raw, because tokio-modbus 0.17's server sizes its typed `ReportServerId` response one
    /// byte short in the MBAP length, leaving the last data byte to corrupt the next frame.
    fn reply(&self) -> Response {
        let data = &self.data[..self.data.len().min(MAX_PDU - 4)];
        let mut pdu = vec![
            u8::try_from(data.len() + 2).unwrap_or(u8::MAX),
            self.server_id,
            if self.run { 0xFF } else { 0x00 },
        ];
        pdu.extend_from_slice(data);
        Response::Custom(FC_REPORT_SERVER_ID, pdu.into())
    }
}

/// Ways a device's Read Device Identification replies depart from the specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModbusQuirk {
    /// Well-formed replies.
    None,
    /// This conformity level byte instead of the configured one, e.g. 0x04, which tokio-modbus's
    /// decoder rejects.
    UnknownConformity(u8),
    /// These bytes after the last object, inside the PDU (counted by the MBAP length). A reply
    /// pushed past 253 bytes by them is not sent: the server closes the connection instead.
    TrailingBytes(Vec<u8>),
    /// Every page says more follows; the last one points back to object 0, so a client that
    /// follows continuations without a cap never stops.
    LoopingContinuation,
    /// Every page says more follows, with the next object id one past the page (or past the
    /// requested id when there is nothing left to send), so a client without a page cap
    /// keeps asking.
    EndlessContinuation,
    /// The object count byte says one object fewer than the page carries (seen on devices
    /// that count from 0); every object is still whole, and the PDU length is true.
    CountOneShort,
}

/// Behaviour of a simulated Modbus/TCP device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModbusDeviceConfig {
    /// Identity objects by id (see [`object_id`]); bytes, so values may be non-UTF-8.
    pub objects: BTreeMap<u8, Vec<u8>>,
    /// Conformity level sent in replies (0x01/0x02/0x03, or 0x81/0x82/0x83 with individual
    /// access). Its low bits also limit which objects are served: basic 0x00-0x02, regular up
    /// to 0x7F, extended up to 0xFF.
    pub conformity_level: u8,
    /// Most objects in one reply; fewer if the 253-byte PDU limit is reached first. Values
    /// below 1 count as 1.
    pub max_objects_per_page: usize,
    /// Which unit ids are answered.
    pub unit_ids: UnitIdPolicy,
    /// Treatment of FC 0x2B.
    pub read_device_id: RdiBehaviour,
    /// FC 0x11 reply; `None` answers FC 0x11 with exception 01.
    pub report_server_id: Option<ReportServerId>,
    /// Deliberate deviation from the specification in FC 0x2B replies.
    pub quirk: ModbusQuirk,
}

impl Default for ModbusDeviceConfig {
    /// A well-behaved device with the three basic objects, conformity 0x81, answering every unit
    /// id and every object in one page.
    fn default() -> Self {
        Self::new("Simulated Vendor", "SIM-0001", "v1.0")
    }
}

impl ModbusDeviceConfig {
    /// A well-behaved device with the three mandatory basic objects, conformity 0x81.
    pub fn new(
        vendor_name: impl Into<Vec<u8>>,
        product_code: impl Into<Vec<u8>>,
        revision: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            objects: BTreeMap::from([
                (object_id::VENDOR_NAME, vendor_name.into()),
                (object_id::PRODUCT_CODE, product_code.into()),
                (object_id::MAJOR_MINOR_REVISION, revision.into()),
            ]),
            conformity_level: 0x81,
            max_objects_per_page: usize::from(u8::MAX),
            unit_ids: UnitIdPolicy::Any,
            read_device_id: RdiBehaviour::Normal,
            report_server_id: None,
            quirk: ModbusQuirk::None,
        }
    }

    /// Sets (or replaces) identity object `id`.
    #[must_use]
    pub fn with_object(mut self, id: u8, value: impl Into<Vec<u8>>) -> Self {
        self.objects.insert(id, value.into());
        self
    }

    /// Sets the conformity level.
    #[must_use]
    pub fn with_conformity_level(mut self, level: u8) -> Self {
        self.conformity_level = level;
        self
    }

    /// Limits the objects per reply, forcing continuation pages.
    #[must_use]
    pub fn with_max_objects_per_page(mut self, max: usize) -> Self {
        self.max_objects_per_page = max;
        self
    }

    /// Sets the unit id policy.
    #[must_use]
    pub fn with_unit_ids(mut self, policy: UnitIdPolicy) -> Self {
        self.unit_ids = policy;
        self
    }

    /// Sets the treatment of FC 0x2B.
    #[must_use]
    pub fn with_read_device_id(mut self, behaviour: RdiBehaviour) -> Self {
        self.read_device_id = behaviour;
        self
    }

    /// Answers FC 0x11 with these values.
    #[must_use]
    pub fn with_report_server_id(
        mut self,
        server_id: u8,
        run: bool,
        data: impl Into<Vec<u8>>,
    ) -> Self {
        self.report_server_id = Some(ReportServerId {
            server_id,
            run,
            data: data.into(),
        });
        self
    }

    /// Sets the quirk.
    #[must_use]
    pub fn with_quirk(mut self, quirk: ModbusQuirk) -> Self {
        self.quirk = quirk;
        self
    }

    /// The objects the conformity level lets the device serve: what an extended stream read
    /// (read code 03) from object 0 collects over all pages of a well-behaved device.
    pub fn served_objects(&self) -> impl Iterator<Item = (u8, &[u8])> + '_ {
        self.objects
            .range(..=last_object_id(self.conformity_level))
            .map(|(id, value)| (*id, value.as_slice()))
    }

    /// The device's answer: `Ok(None)` is no reply at all, `Err` an exception reply.
    fn reply(&self, unit_id: u8, request: &Request<'_>) -> Result<Option<Response>, ExceptionCode> {
        if let UnitIdPolicy::Only { ids, others } = &self.unit_ids {
            if !ids.contains(&unit_id) {
                return match others {
                    OtherUnitIds::Silent => Ok(None),
                    OtherUnitIds::GatewayPathUnavailable => {
                        Err(ExceptionCode::GatewayPathUnavailable)
                    }
                    OtherUnitIds::GatewayTargetFailed => Err(ExceptionCode::GatewayTargetDevice),
                };
            }
        }
        match request {
            Request::ReadDeviceIdentification(code, object) => match self.read_device_id {
                RdiBehaviour::Normal => self.read_device_identification(*code, *object).map(Some),
                RdiBehaviour::IllegalFunction => Err(ExceptionCode::IllegalFunction),
                RdiBehaviour::Exception(code) => Err(ExceptionCode::new(code)),
                RdiBehaviour::Silent => Ok(None),
            },
            Request::ReportServerId => match &self.report_server_id {
                Some(rsi) => Ok(Some(rsi.reply())),
                None => Err(ExceptionCode::IllegalFunction),
            },
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }

    /// Builds the reply PDU by hand, not as tokio-modbus's typed response, so that quirks can
    /// put anything in it; the server still frames it (MBAP length included).
    fn read_device_identification(
        &self,
        code: ReadCode,
        requested: u8,
    ) -> Result<Response, ExceptionCode> {
        let level_last = last_object_id(self.conformity_level);
        let (first, last) = match code {
            ReadCode::Specific => {
                // Individual access is what the 0x80 bit of the conformity level advertises.
                if self.conformity_level & 0x80 == 0 {
                    return Err(ExceptionCode::IllegalDataValue);
                }
                if requested > level_last || !self.objects.contains_key(&requested) {
                    return Err(ExceptionCode::IllegalDataAddress);
                }
                (requested, requested)
            }
            ReadCode::Basic | ReadCode::Regular | ReadCode::Extended => {
                let code_last = match code {
                    ReadCode::Basic => 0x02,
                    ReadCode::Regular => 0x7F,
                    _ => 0xFF,
                };
                let last = code_last.min(level_last);
                let known = requested <= last && self.objects.contains_key(&requested);
                // The spec restarts an unknown object id at the beginning; the endless device
                // instead walks on, which is what makes it endless.
                let first = if known || self.quirk == ModbusQuirk::EndlessContinuation {
                    requested
                } else {
                    0
                };
                (first, last)
            }
        };

        let max_objects = self.max_objects_per_page.max(1);
        let mut objects = Vec::new();
        let mut size = RDI_HEADER;
        let mut next = None;
        if first <= last {
            for (&id, value) in self.objects.range(first..=last) {
                // An object is indivisible, so one too big for any page is cut to fit.
                let value = &value[..value.len().min(MAX_PDU - RDI_HEADER - 2)];
                if !objects.is_empty()
                    && (objects.len() >= max_objects || size + 2 + value.len() > MAX_PDU)
                {
                    next = Some(id);
                    break;
                }
                size += 2 + value.len();
                objects.push((id, value));
            }
        }

        let (more_follows, next_object_id) = match self.quirk {
            ModbusQuirk::LoopingContinuation => (true, next.unwrap_or(0)),
            ModbusQuirk::EndlessContinuation => {
                let past = objects.last().map_or(requested, |(id, _)| *id);
                (true, next.unwrap_or(past.wrapping_add(1)))
            }
            _ => (next.is_some(), next.unwrap_or(0)),
        };
        let conformity = match self.quirk {
            ModbusQuirk::UnknownConformity(byte) => byte,
            _ => self.conformity_level,
        };

        let mut pdu = vec![
            MEI_READ_DEVICE_ID,
            code.value(),
            conformity,
            if more_follows { 0xFF } else { 0x00 },
            next_object_id,
            match self.quirk {
                ModbusQuirk::CountOneShort => {
                    u8::try_from(objects.len().saturating_sub(1)).unwrap_or(u8::MAX)
                }
                _ => u8::try_from(objects.len()).unwrap_or(u8::MAX),
            },
        ];
        for (id, value) in objects {
            pdu.push(id);
            pdu.push(u8::try_from(value.len()).unwrap_or(u8::MAX));
            pdu.extend_from_slice(value);
        }
        if let ModbusQuirk::TrailingBytes(extra) = &self.quirk {
            pdu.extend_from_slice(extra);
        }
        Ok(Response::Custom(FC_READ_DEVICE_ID, pdu.into()))
    }
}

/// The highest object id a conformity level's category covers.
fn last_object_id(conformity_level: u8) -> u8 {
    match conformity_level & 0x7F {
        0x01 => 0x02,
        0x02 => 0x7F,
        _ => 0xFF,
    }
}

#[derive(Clone)]
struct ModbusService {
    config: Arc<ModbusDeviceConfig>,
}

impl Service for ModbusService {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = future::Ready<Result<Option<Response>, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        future::ready(self.config.reply(req.slave, &req.request))
    }
}

/// A simulated Modbus/TCP device.
#[derive(Debug)]
pub struct ModbusDevice;

impl ModbusDevice {
    /// Starts serving `config` on `addr` (loopback only; port 0 picks a free port), recording
    /// every received frame in `recorder`.
    ///
    /// Requests tokio-modbus cannot decode (protocol id not 0, MEI type other than 0x0E, read
    /// code outside 01-04, extra bytes) close the connection without a reply.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: ModbusDeviceConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let listener = bind_loopback(addr)?;
        let local_addr = listener.local_addr()?;
        let service = ModbusService {
            config: Arc::new(config),
        };
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            let on_connected = |stream, _peer| {
                // A connection reset before we saw it is rejected, not fatal to the listener.
                let accepted = recorder
                    .wrap_tcp(stream, Framing::ModbusTcp)
                    .ok()
                    .map(|stream| (service.clone(), stream));
                future::ready(Ok(accepted))
            };
            let on_process_error = move |err: io::Error| {
                tracing::debug!(%local_addr, %err, "modbus fixture connection ended");
            };
            let server = Server::new(listener);
            loop {
                // `serve` returns only when `accept` fails (e.g. out of file descriptors); the
                // device then keeps listening, as a real one would.
                tokio::select! {
                    () = stop.cancelled() => break,
                    Err(err) = server.serve(&on_connected, on_process_error) => {
                        tracing::debug!(%local_addr, %err, "modbus fixture accept failed");
                        tokio::time::sleep(ACCEPT_RETRY).await;
                    }
                }
            }
        });
        Ok(DeviceHandle::new(local_addr, cancel, task))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdu(response: Result<Option<Response>, ExceptionCode>) -> Vec<u8> {
        match response {
            Ok(Some(Response::Custom(fc, data))) => [&[fc][..], &data].concat(),
            other => panic!("expected a raw reply, got {other:?}"),
        }
    }

    fn rdi(code: ReadCode, object: u8) -> Request<'static> {
        Request::ReadDeviceIdentification(code, object)
    }

    #[test]
    fn stream_reads_are_limited_by_read_code_and_conformity() {
        let config = ModbusDeviceConfig::new("V", "P", "R")
            .with_object(object_id::PRODUCT_NAME, "N")
            .with_object(0x80, [0xFF])
            .with_conformity_level(0x02);
        let basic = pdu(config.reply(0, &rdi(ReadCode::Basic, 0)));
        assert_eq!(
            basic,
            [0x2B, 0x0E, 1, 2, 0, 0, 3, 0, 1, b'V', 1, 1, b'P', 2, 1, b'R']
        );
        let extended = pdu(config.reply(0, &rdi(ReadCode::Extended, 4)));
        assert_eq!(extended, [0x2B, 0x0E, 3, 2, 0, 0, 1, 4, 1, b'N']);
        // Object 0x80 is beyond conformity 02, so asking for it restarts at object 0.
        let restart = pdu(config.reply(0, &rdi(ReadCode::Extended, 0x80)));
        assert_eq!(restart[6], 4);
        assert_eq!(
            config
                .served_objects()
                .map(|(id, _)| id)
                .collect::<Vec<_>>(),
            [0, 1, 2, 4]
        );
    }

    #[test]
    fn individual_access_needs_the_0x80_conformity_bit() {
        let config = ModbusDeviceConfig::new("V", "P", "R");
        let one = pdu(config.reply(0, &rdi(ReadCode::Specific, 1)));
        assert_eq!(one, [0x2B, 0x0E, 4, 0x81, 0, 0, 1, 1, 1, b'P']);
        assert_eq!(
            config.reply(0, &rdi(ReadCode::Specific, 5)),
            Err(ExceptionCode::IllegalDataAddress)
        );
        let stream_only = config.with_conformity_level(0x01);
        assert_eq!(
            stream_only.reply(0, &rdi(ReadCode::Specific, 1)),
            Err(ExceptionCode::IllegalDataValue)
        );
    }

    #[test]
    fn pages_respect_the_pdu_limit() {
        let config = (0x80..0x84)
            .fold(ModbusDeviceConfig::default(), |c, id| {
                c.with_object(id, vec![b'x'; 100])
            })
            .with_conformity_level(0x83);
        let first = pdu(config.reply(0, &rdi(ReadCode::Extended, 0x80)));
        assert_eq!(first[4..7], [0xFF, 0x82, 2]);
        assert!(first.len() <= MAX_PDU);
        let last = pdu(config.reply(0, &rdi(ReadCode::Extended, 0x82)));
        assert_eq!(last[4..7], [0x00, 0x00, 2]);
        let huge = ModbusDeviceConfig::default().with_object(0, vec![b'x'; 300]);
        let huge = pdu(huge.reply(0, &rdi(ReadCode::Basic, 0)));
        assert_eq!((huge.len(), &huge[4..8]), (MAX_PDU, &[0xFF, 1, 1, 0][..]));
    }

    #[test]
    fn continuation_quirks_never_say_done() {
        let looping = ModbusDeviceConfig::default()
            .with_max_objects_per_page(2)
            .with_quirk(ModbusQuirk::LoopingContinuation);
        assert_eq!(
            pdu(looping.reply(0, &rdi(ReadCode::Basic, 0)))[4..6],
            [0xFF, 2]
        );
        assert_eq!(
            pdu(looping.reply(0, &rdi(ReadCode::Basic, 2)))[4..6],
            [0xFF, 0]
        );
        let endless = looping.with_quirk(ModbusQuirk::EndlessContinuation);
        assert_eq!(
            pdu(endless.reply(0, &rdi(ReadCode::Basic, 2)))[4..6],
            [0xFF, 3]
        );
        assert_eq!(
            pdu(endless.reply(0, &rdi(ReadCode::Basic, 0x40)))[4..7],
            [0xFF, 0x41, 0]
        );
    }
}
