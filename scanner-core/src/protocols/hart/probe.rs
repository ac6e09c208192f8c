//! The HART-IP request script: Session Initiate, command 0, command 20, for an I/O
//! system command 74 and command 84 per sub-device (capped), Session Close, FIN.

use std::time::Duration;

use super::codec::{
    check_answers, frame, parse, parse_io_system_capabilities, parse_long_tag, parse_sub_device,
    parse_unique_identifier, Body, ParseError, Request, Response, MAX_REPLY_LEN, MAX_SUB_DEVICES,
};
use super::details::{identity_fields, HartDetails};
use super::HartConfig;
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, Failure, FirstPacket};

type Error = Failure<ParseError>;

/// What the script learned, before it is settled.
#[derive(Default)]
struct Run {
    details: HartDetails,
    first_rtt: Option<Duration>,
    /// The device accepted the session: it gets a Session Close.
    session_open: bool,
}

impl RunProbe for HartConfig {
    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Tcp { port: self.port }]
    }

    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let start = session.sent();
        let mut run = Run::default();
        let result = script(session, self, &mut run).await;
        // Session Close only on a connection still in step with the device; after a
        // failure the FIN ends the session (and the inactivity timer frees it).
        if run.session_open && result.is_ok() {
            if let Err(e) = ask(session, self, Request::SessionClose, &mut run).await {
                run.details
                    .warnings
                    .push(format!("session close not answered: {e}"));
            }
        }
        session.close().await;
        let Run {
            details, first_rtt, ..
        } = run;
        let mut end = ProbeEnd::new(
            HartConfig::PROTOCOL,
            Transport::Tcp,
            self.port,
            session,
            start,
        );
        end.first_rtt = first_rtt;
        end.outcome = result;
        end.identified = details.unique_identifier.is_some();
        end.refused = !end.identified && details.refusal().is_some();
        let settled = end.settle(|| {
            details
                .refusal()
                .unwrap_or_else(|| "no unique identifier".to_owned())
        });
        let identity = identity_fields(&details);
        vec![(
            end.observation(settled, details, first_rtt.is_some()),
            identity,
        )]
    }
}

async fn script(
    session: &mut DeviceSession,
    config: &HartConfig,
    run: &mut Run,
) -> Result<(), Error> {
    let reply = ask(session, config, Request::SessionInitiate, run).await?;
    match reply.body {
        Body::SessionInitiate {
            inactivity_close_time,
            ..
        } => {
            let status = reply.header.status;
            run.details.apply_session(status, inactivity_close_time);
            if status != 0 && status != 8 {
                return Ok(());
            }
        }
        Body::Error { code } => {
            run.details.apply_error(code);
            return Ok(());
        }
        // check_answers lets only the kinds above through.
        Body::SessionClose | Body::Pdu(_) => return Ok(()),
    }
    run.session_open = true;
    let Some(response) = command(session, config, Request::ReadUniqueIdentifier, run).await? else {
        return Ok(());
    };
    let id = parse_unique_identifier(&response.data, &mut run.details.warnings)
        .map_err(Failure::Malformed)?;
    run.details
        .apply_unique_identifier(id, response.device_status);
    let address = id.long_address();
    if let Some(response) = command(session, config, Request::ReadLongTag(address), run).await? {
        match parse_long_tag(&response.data, &mut run.details.warnings) {
            Ok(tag) => run.details.long_tag = Some(tag),
            Err(e) => run.details.warnings.push(format!("command 20: {e}")),
        }
    }
    if !id.is_io_system() {
        return Ok(());
    }
    let Some(response) = command(
        session,
        config,
        Request::ReadIoSystemCapabilities(address),
        run,
    )
    .await?
    else {
        return Ok(());
    };
    let caps = match parse_io_system_capabilities(&response.data, &mut run.details.warnings) {
        Ok(caps) => caps,
        Err(e) => {
            run.details.warnings.push(format!("command 74: {e}"));
            return Ok(());
        }
    };
    run.details.io_system = Some(caps);
    let present = caps.sub_devices();
    let read = present.min(MAX_SUB_DEVICES);
    if present > read {
        run.details.sub_devices_not_read = Some(present - read);
    }
    for index in 1..=read {
        let request = Request::ReadSubDeviceIdentitySummary { address, index };
        if let Some(response) = command(session, config, request, run).await? {
            match parse_sub_device(&response.data, &mut run.details.warnings) {
                Ok(sub) => {
                    if sub.index != index {
                        run.details.warnings.push(format!(
                            "command 84 for sub-device {index} answered for index {}",
                            sub.index
                        ));
                    }
                    // One instrument listed once, however often it is answered for.
                    if !run.details.sub_devices.iter().any(|s| s.index == sub.index) {
                        run.details.sub_devices.push(sub);
                    }
                }
                Err(e) => run
                    .details
                    .warnings
                    .push(format!("command 84 for sub-device {index}: {e}")),
            }
        }
    }
    Ok(())
}

/// One HART command: its answer when the response code is success or a warning; `None`
/// (recorded in the details) for an error response code or a HART-IP error message.
async fn command(
    session: &mut DeviceSession,
    config: &HartConfig,
    request: Request,
    run: &mut Run,
) -> Result<Option<Response>, Error> {
    let reply = ask(session, config, request, run).await?;
    if reply.header.status != 0 {
        run.details.warnings.push(format!(
            "HART-IP status {} in the answer to command {}",
            reply.header.status,
            request.command().unwrap_or_default()
        ));
    }
    match reply.body {
        Body::Pdu(response) if response.is_error() => {
            run.details
                .apply_command_error(response.command, response.response_code);
            Ok(None)
        }
        Body::Pdu(response) => Ok(Some(response)),
        Body::Error { code } => {
            run.details.apply_error(code);
            Ok(None)
        }
        Body::SessionInitiate { .. } | Body::SessionClose => Ok(None),
    }
}

/// One HART-IP request and its parsed answer, checked to answer it.
async fn ask(
    session: &mut DeviceSession,
    config: &HartConfig,
    request: Request,
    run: &mut Run,
) -> Result<super::codec::Reply, Error> {
    let reply = session
        .tcp_exchange(
            config.port,
            &ReadOnlyRequest::Hart(request),
            MAX_REPLY_LEN,
            &frame,
        )
        .await?;
    run.first_rtt.get_or_insert(reply.rtt);
    let parsed = parse(&reply.bytes).map_err(Failure::Malformed)?;
    check_answers(&request, &parsed).map_err(Failure::Malformed)?;
    run.details.warnings.extend(parsed.warnings.iter().cloned());
    Ok(parsed)
}
