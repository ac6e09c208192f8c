//! The Modbus request script: unit ids in turn until one answers Read Device
//! Identification (then its regular and extended streams as its conformity level
//! allows, following continuation within the page cap), or Report Server ID after an
//! illegal-function exception. One connection, closed with a FIN at the end.

use std::collections::BTreeMap;

use super::codec::{
    conformity_name, exception_name, frame, object_name, parse, DeviceIdPage, ParseError,
    ReadDeviceIdCode, Reply, ReplyPdu, Request, MAX_ADU_LEN,
};
use super::details::{ModbusDetails, ModbusException, ModbusObject, ReportServerId, UnitAttempt};
use super::ModbusConfig;
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{DeviceText, Identity, Status, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, ExchangeError, Failure, FirstPacket};

type Error = Failure<ParseError>;

/// What one unit id gave.
enum UnitResult {
    /// The unit answered; stop trying others.
    Answered,
    /// Nothing behind this unit id (gateway exception) or silent: try the next.
    Next,
    /// Stop the probe with this failure.
    Stop(Error),
}

struct ModbusRun<'a> {
    session: &'a mut DeviceSession,
    config: &'a ModbusConfig,
    details: ModbusDetails,
    objects: BTreeMap<u8, Vec<u8>>,
    first_rtt: Option<std::time::Duration>,
}

impl RunProbe for ModbusConfig {
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let start = session.sent();
        let mut run = ModbusRun {
            session,
            config: self,
            details: ModbusDetails::default(),
            objects: BTreeMap::new(),
            first_rtt: None,
        };
        let mut answered = false;
        let mut failure = None;
        let mut silent = 0u32;
        for &unit in &self.unit_ids {
            match run.identify_unit(unit).await {
                UnitResult::Answered => {
                    answered = true;
                    break;
                }
                UnitResult::Next => {
                    let last = run.details.units_tried.last().map(|u| u.outcome.as_str());
                    if matches!(last, Some("io-timeout" | "connection-closed")) {
                        silent += 1;
                        if silent >= self.max_silent_units {
                            break;
                        }
                    }
                }
                UnitResult::Stop(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        run.session.close().await;
        vec![run.finish(start, answered, failure)]
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Tcp { port: self.port }]
    }
}

impl ModbusRun<'_> {
    async fn exchange(&mut self, request: Request) -> Result<Reply, Error> {
        let reply = self
            .session
            .tcp_exchange(
                self.config.port,
                &ReadOnlyRequest::Modbus(request),
                MAX_ADU_LEN,
                &frame,
            )
            .await?;
        self.first_rtt.get_or_insert(reply.rtt);
        parse(&reply.bytes).map_err(Failure::Malformed)
    }

    fn attempt(&mut self, unit_id: u8, outcome: impl Into<String>) {
        self.details.units_tried.push(UnitAttempt {
            unit_id,
            outcome: outcome.into(),
        });
    }

    async fn identify_unit(&mut self, unit_id: u8) -> UnitResult {
        let basic = Request::ReadDeviceId {
            unit_id,
            read_code: ReadDeviceIdCode::Basic,
            object_id: 0,
        };
        let parsed = match self.exchange(basic).await {
            Ok(p) => p,
            // Silence or a closed connection on one unit id may be a device that
            // ignores that id (libmodbus does): the session reconnects if needed.
            Err(e @ Failure::Exchange(ExchangeError::Timeout | ExchangeError::Closed)) => {
                self.attempt(unit_id, e.status().name());
                return UnitResult::Next;
            }
            Err(e) => {
                self.attempt(unit_id, e.status().name());
                return UnitResult::Stop(e);
            }
        };
        self.note_decoder(parsed.decoder);
        match parsed.pdu {
            ReplyPdu::Exception {
                code: code @ (0x0A | 0x0B),
                ..
            } => {
                // A gateway with nothing behind this unit id: the next id may have a device.
                self.attempt(unit_id, exception_name(code));
                UnitResult::Next
            }
            ReplyPdu::Exception { function, code } => {
                self.attempt(unit_id, exception_name(code));
                self.details.unit_id = Some(unit_id);
                self.details.exception = Some(ModbusException {
                    function,
                    code,
                    name: exception_name(code).to_owned(),
                });
                if code == 0x01 {
                    // A device that did not understand a request may have read only part
                    // of it: the fallback goes on a fresh connection (FIN first, still one
                    // connection at a time).
                    self.session.close().await;
                    self.report_server_id(unit_id).await;
                }
                UnitResult::Answered
            }
            ReplyPdu::DeviceId(page) => {
                self.attempt(unit_id, "answered");
                self.details.unit_id = Some(unit_id);
                let level = page.conformity_level;
                self.details.conformity_level = Some(level);
                self.details.conformity = conformity_name(level).map(str::to_owned);
                self.details.individual_access = Some(level & 0x80 != 0);
                self.follow_stream(unit_id, ReadDeviceIdCode::Basic, page)
                    .await;
                if matches!(level & 0x7F, 0x02 | 0x03) {
                    self.read_stream(unit_id, ReadDeviceIdCode::Regular).await;
                }
                if level & 0x7F == 0x03 {
                    self.read_stream(unit_id, ReadDeviceIdCode::Extended).await;
                }
                UnitResult::Answered
            }
            ReplyPdu::ServerId(_) => {
                self.attempt(unit_id, "protocol-error");
                UnitResult::Stop(Failure::Malformed(ParseError::WrongAnswer(
                    "Report Server ID reply to a Read Device Identification request",
                )))
            }
        }
    }

    fn note_decoder(&mut self, decoder: super::Decoder) {
        if self.details.decoder != Some(super::Decoder::Tolerant) {
            self.details.decoder = Some(decoder);
        }
    }

    /// Reads one more stream (regular or extended); errors there keep what was learned.
    async fn read_stream(&mut self, unit_id: u8, read_code: ReadDeviceIdCode) {
        let request = Request::ReadDeviceId {
            unit_id,
            read_code,
            object_id: read_code.first_object(),
        };
        match self.exchange(request).await {
            Ok(Reply {
                pdu: ReplyPdu::DeviceId(page),
                decoder,
                ..
            }) => {
                self.note_decoder(decoder);
                self.follow_stream(unit_id, read_code, page).await;
            }
            Ok(other) => self.details.warnings.push(format!(
                "{read_code:?} stream: unexpected reply {:?}",
                other.pdu
            )),
            Err(e) => self
                .details
                .warnings
                .push(format!("{read_code:?} stream: {e}")),
        }
    }

    /// Keeps a page's objects and follows `more_follows` continuation, bounded by
    /// the page cap and refusing to revisit an object id (a looping device).
    async fn follow_stream(
        &mut self,
        unit_id: u8,
        read_code: ReadDeviceIdCode,
        first: DeviceIdPage,
    ) {
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
            let request = Request::ReadDeviceId {
                unit_id,
                read_code,
                object_id: next,
            };
            match self.exchange(request).await {
                Ok(Reply {
                    pdu: ReplyPdu::DeviceId(p),
                    decoder,
                    ..
                }) => {
                    self.note_decoder(decoder);
                    page = p;
                }
                Ok(other) => {
                    self.details.warnings.push(format!(
                        "continuation at object {next:#04x}: unexpected reply {:?}",
                        other.pdu
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
        match self.exchange(Request::ReportServerId { unit_id }).await {
            Ok(Reply {
                pdu: ReplyPdu::ServerId(reply),
                decoder,
                ..
            }) => {
                self.note_decoder(decoder);
                self.details.report_server_id = Some(ReportServerId::from_data(&reply.data));
            }
            Ok(Reply {
                pdu: ReplyPdu::Exception { code, .. },
                ..
            }) => self.details.warnings.push(format!(
                "report server id: exception {code:#04x} {}",
                exception_name(code)
            )),
            Ok(other) => self.details.warnings.push(format!(
                "report server id: unexpected reply {:?}",
                other.pdu
            )),
            Err(e) => self.details.warnings.push(format!("report server id: {e}")),
        }
    }

    /// Settles the probe: identified when a unit answered Read Device Identification
    /// (or Report Server ID after an exception); an exception without that, or a
    /// gateway exception on the last unit tried, is a refusal; silence or a closed
    /// connection on the last unit tried ends it with that failure.
    fn finish(
        mut self,
        start: u32,
        answered: bool,
        failure: Option<Error>,
    ) -> (ServiceObservation, Identity) {
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
        let mut end = ProbeEnd::new(
            ModbusConfig::PROTOCOL,
            Transport::Tcp,
            self.config.port,
            self.session,
            start,
        );
        end.first_rtt = self.first_rtt;
        // The last unit id that answered with an exception (a gateway's 0x0A/0x0B).
        let gateway = self
            .details
            .units_tried
            .iter()
            .rev()
            .find(|u| u.outcome != "answered" && Status::ALL.iter().all(|s| s.name() != u.outcome))
            .cloned();
        if answered {
            end.identified =
                self.details.exception.is_none() || self.details.report_server_id.is_some();
            end.refused = !end.identified;
        } else {
            let last = self.details.units_tried.last();
            end.outcome = match (failure, last.map(|u| u.outcome.as_str())) {
                (Some(e), _) => Err(e),
                (None, Some("connection-closed")) => Err(ExchangeError::Closed.into()),
                (None, Some("io-timeout") | None) => Err(ExchangeError::Timeout.into()),
                (None, Some(_)) => Ok(()),
            };
            // Gateway exceptions prove a Modbus stack even when no unit sits behind them,
            // and even when a later unit id was silent or the request budget ran out.
            end.refused = gateway.is_some();
        }
        let settled = end.settle(|| match (&self.details.exception, &gateway) {
            (Some(ex), _) => format!("exception {:#04x} {}", ex.code, ex.name),
            (None, Some(unit)) => format!("unit {}: {}", unit.unit_id, unit.outcome),
            (None, None) => "no identification in the replies".to_owned(),
        });
        // Details are worth keeping once a request reached the device; a refused
        // connection has nothing to say beyond its status.
        let keep = !self.details.units_tried.is_empty()
            && !matches!(
                settled.status,
                Status::ConnectionRefused | Status::ConnectionTimeout | Status::Stopped
            );
        (end.observation(settled, self.details, keep), identity)
    }
}
