//! The S7 request script: Connection Requests to each TSAP in turn (a new connection
//! for each) until one is confirmed, Setup Communication, the two identification SZL
//! reads (each followed by a follow-up request per further data unit the CPU announces,
//! at most [`MAX_SZL_DATA_UNITS`] units per list); the connection is closed with a FIN.

use super::codec::{
    assemble_szl, frame, parse_setup_ack, parse_szl_unit, ParseError, Request, SzlId,
    MAX_REPLY_LEN, MAX_SZL_DATA_UNITS, RETURN_CODE_SUCCESS,
};
use super::cotp::{disconnect_reason_name, parse_cotp_reply, CotpReply};
use super::details::{identity_fields, S7Details, TsapRefusal};
use super::S7Config;
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, ExchangeError, Failure, FirstPacket};

type Error = Failure<ParseError>;

struct S7Run<'a> {
    session: &'a mut DeviceSession,
    config: &'a S7Config,
    first_rtt: Option<std::time::Duration>,
    details: S7Details,
}

impl S7Run<'_> {
    async fn ask(&mut self, request: Request) -> Result<Vec<u8>, Error> {
        let reply = self
            .session
            .tcp_exchange(
                self.config.port,
                &ReadOnlyRequest::S7(request),
                MAX_REPLY_LEN,
                &frame,
            )
            .await?;
        self.first_rtt.get_or_insert(reply.rtt);
        Ok(reply.bytes)
    }

    /// Connection Requests to each TSAP in turn, a new connection for each; `Ok(true)`
    /// once one is confirmed.
    async fn connect(&mut self) -> Result<bool, Error> {
        let config = self.config;
        for &tsap in &config.tsaps {
            // Each TSAP on a fresh connection (the liveness phase's, if it made one).
            self.session.close_unless_fresh().await;
            let reply = match self
                .ask(Request::ConnectionRequest { destination: tsap })
                .await
            {
                Ok(reply) => reply,
                // A device that drops the connection on an unknown TSAP: try the next.
                Err(Failure::Exchange(ExchangeError::Closed)) => {
                    self.details.refused_tsaps.push(TsapRefusal {
                        tsap: tsap.value(),
                        how: "closed".to_owned(),
                        reason: None,
                        reason_name: None,
                    });
                    continue;
                }
                Err(e) => return Err(e),
            };
            match parse_cotp_reply(&reply).map_err(|e| Failure::Malformed(e.into()))? {
                CotpReply::Confirm(confirm) => {
                    self.details.apply_confirm(tsap, &confirm);
                    return Ok(true);
                }
                CotpReply::Disconnect(dr) => self.details.refused_tsaps.push(TsapRefusal {
                    tsap: tsap.value(),
                    how: "disconnect".to_owned(),
                    reason: Some(dr.reason),
                    reason_name: Some(disconnect_reason_name(dr.reason).to_owned()),
                }),
                CotpReply::Reject(er) => self.details.refused_tsaps.push(TsapRefusal {
                    tsap: tsap.value(),
                    how: "reject".to_owned(),
                    reason: Some(er.cause),
                    reason_name: None,
                }),
            }
        }
        // Every TSAP closed without a word: nothing proves an ISO-on-TCP stack.
        if self
            .details
            .refused_tsaps
            .iter()
            .all(|r| r.reason.is_none())
        {
            return Err(ExchangeError::Closed.into());
        }
        Ok(false)
    }

    /// Setup Communication; `Ok(false)` when the CPU refused it (recorded).
    async fn setup(&mut self) -> Result<bool, Error> {
        let reply = self.ask(Request::SetupCommunication).await?;
        let ack = parse_setup_ack(&reply).map_err(Failure::Malformed)?;
        self.details.apply_setup(&ack);
        Ok(!ack.header.is_error() && ack.negotiated.is_some())
    }

    /// Reads one SZL list: the first data unit, then a follow-up for each further unit
    /// the CPU announces, up to [`MAX_SZL_DATA_UNITS`] in all. What the units hold is
    /// recorded even when a follow-up fails; the failure is returned after.
    async fn read_szl(&mut self, szl: SzlId) -> Result<(), Error> {
        let reply = self.ask(Request::ReadSzl { szl }).await?;
        let mut units = vec![parse_szl_unit(&reply).map_err(Failure::Malformed)?];
        let mut failure = None;
        while let Some(unit) = units.last().filter(|u| u.more_follows()) {
            if units.len() >= MAX_SZL_DATA_UNITS {
                self.details.warnings.push(format!(
                    "SZL {:#06x}: the CPU announces more data units after {MAX_SZL_DATA_UNITS}; \
                     stopped at the cap",
                    szl.id()
                ));
                break;
            }
            let next = Request::ReadSzlNext {
                sequence: unit.sequence,
            };
            match self.ask(next).await {
                Ok(reply) => match parse_szl_unit(&reply) {
                    Ok(unit) => units.push(unit),
                    Err(e) => {
                        failure = Some(Failure::Malformed(e));
                        break;
                    }
                },
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let response = assemble_szl(&units);
        if response.szl_id.is_some_and(|id| id != szl.id()) {
            self.details.warnings.push(format!(
                "asked for SZL {:#06x}, the reply is SZL {:#06x}",
                szl.id(),
                response.szl_id.unwrap_or_default()
            ));
        }
        self.details.apply_szl(&response);
        failure.map_or(Ok(()), Err)
    }
}

impl RunProbe for S7Config {
    /// A COTP Connection Request to each candidate TSAP until one is confirmed, Setup
    /// Communication, then SZL reads 0x0011 and 0x001C. A CPU that refuses the setup or
    /// the reads (S7-1200/1500 with PUT/GET disabled) is recorded with what it accepted
    /// and the error it gave.
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let start = session.sent();
        let mut run = S7Run {
            session,
            config: self,
            first_rtt: None,
            details: S7Details::default(),
        };
        let outcome = run_probe(&mut run).await;
        run.session.close().await;
        let S7Run {
            session,
            first_rtt,
            details,
            ..
        } = run;
        let mut end = ProbeEnd::new(
            S7Config::PROTOCOL,
            Transport::Tcp,
            self.port,
            session,
            start,
        );
        end.first_rtt = first_rtt;
        end.outcome = outcome;
        end.identified = details.order_number.is_some()
            || details.module_type.is_some()
            || details.module_name.is_some()
            || details.serial_number.is_some()
            || details.firmware_version.is_some();
        end.refused = details.error_class.is_some()
            || details.szl_error_code.is_some()
            || details.szl_return_code.is_some()
            || (details.tsap.is_none() && details.refused_tsaps.iter().any(|r| r.reason.is_some()));
        let identity = if end.identified {
            identity_fields(&details)
        } else {
            Identity::default()
        };
        let settled = end.settle(|| refusal_summary(&details));
        vec![(
            end.observation(settled, details, first_rtt.is_some()),
            identity,
        )]
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Tcp { port: self.port }]
    }
}

async fn run_probe(run: &mut S7Run<'_>) -> Result<(), Error> {
    if !run.connect().await? || !run.setup().await? {
        return Ok(());
    }
    run.read_szl(SzlId::ModuleIdentification).await?;
    if run.config.component_identification {
        run.read_szl(SzlId::ComponentIdentification).await?;
    }
    Ok(())
}

/// Why a device that answered gave no identification.
fn refusal_summary(details: &S7Details) -> String {
    if let Some(name) = &details.error_name {
        return format!(
            "S7 error class {:#04x} ({name}), code {:#04x}",
            details.error_class.unwrap_or_default(),
            details.error_code.unwrap_or_default()
        );
    }
    if details.szl_error_code.is_some() || details.szl_return_code.is_some() {
        return format!(
            "SZL read refused: error code {:#06x}, return code {:#04x}",
            details.szl_error_code.unwrap_or_default(),
            details.szl_return_code.unwrap_or(RETURN_CODE_SUCCESS)
        );
    }
    if details.tsap.is_none() {
        let tsaps: Vec<String> = details
            .refused_tsaps
            .iter()
            .map(|r| format!("{:#06x} ({})", r.tsap, r.how))
            .collect();
        return format!("no TSAP accepted: {}", tsaps.join(", "));
    }
    "no identification in the replies".to_owned()
}
