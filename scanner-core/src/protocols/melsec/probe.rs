//! The MELSEC request script: on each transport, Read CPU Model Name on each configured
//! port in turn until one answers in MC protocol; TCP connections are closed after each
//! port.

use std::time::Duration;

use super::codec::{self, check_answers, parse, ParseError, Reply, Request, MAX_REPLY_LEN};
use super::details::{identity_fields, MelsecDetails, PortTried};
use super::MelsecConfig;
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Status, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, ExchangeError, Failure, FirstPacket};

type Error = Failure<ParseError>;

impl RunProbe for MelsecConfig {
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let mut out = Vec::new();
        for &transport in self.transports() {
            out.push(probe_transport(session, self.ports_for(transport), transport).await);
        }
        out
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        self.transports()
            .iter()
            .filter_map(|&t| {
                let port = *self.ports_for(t).first()?;
                Some(match t {
                    Transport::Tcp => FirstPacket::Tcp { port },
                    Transport::Udp => FirstPacket::Udp {
                        port,
                        local_port: 0,
                        request: ReadOnlyRequest::Melsec(Request::ReadCpuModelName),
                    },
                    Transport::Ethernet => return None,
                })
            })
            .collect()
    }
}

/// Read CPU Model Name on `port` over `transport`, parsed and checked to answer it. A TCP
/// connection is closed before this returns: MELSEC modules have few connection slots.
async fn exchange(
    session: &mut DeviceSession,
    port: u16,
    transport: Transport,
) -> Result<(Reply, Duration), Error> {
    let request = Request::ReadCpuModelName;
    let wrapped = ReadOnlyRequest::Melsec(request);
    let reply = match transport {
        Transport::Tcp => {
            let reply = session
                .tcp_exchange(port, &wrapped, MAX_REPLY_LEN, &codec::frame)
                .await;
            session.close().await;
            reply?
        }
        Transport::Udp => {
            session
                .udp_exchange(port, &wrapped, MAX_REPLY_LEN, &|d, c| {
                    codec::answers(&request, d, c)
                })
                .await?
        }
        Transport::Ethernet => {
            return Err(crate::session::ExchangeError::Io(
                "MELSEC is not spoken over bare Ethernet".into(),
            )
            .into())
        }
    };
    let parsed = parse(&reply.bytes).map_err(Failure::Malformed)?;
    check_answers(&request, &parsed).map_err(Failure::Malformed)?;
    Ok((parsed, reply.rtt))
}

/// How much a failure says about the port: a reply that broke the protocol says most,
/// then something that listened but did not answer, then nothing listening.
fn weight(failure: &Error) -> u8 {
    match failure {
        e if e.is_protocol_violation() => 3,
        Failure::Exchange(ExchangeError::Closed | ExchangeError::Timeout) => 2,
        Failure::Exchange(ExchangeError::Oversized(_)) => 3,
        _ => 1,
    }
}

/// True when no further port may be tried: the scan stopped, the host failed, or the
/// per-device budget ran out.
fn ends_the_probe(failure: &Error) -> bool {
    matches!(
        failure,
        Failure::Exchange(
            ExchangeError::Stopped | ExchangeError::Local(_) | ExchangeError::Budget(_)
        )
    )
}

/// The ports of one transport in order: the observation of the first that answers in MC
/// protocol (identified by a model name, or refused with an end code), else that of the
/// port whose failure says most (the first on a tie). `requests` counts every packet
/// of this transport, over every port tried.
async fn probe_transport(
    session: &mut DeviceSession,
    ports: &[u16],
    transport: Transport,
) -> (ServiceObservation, Identity) {
    let start = session.sent();
    let mut tried: Vec<PortTried> = Vec::new();
    let mut worst: Option<(u16, Error)> = None;
    let note = |tried: &Vec<PortTried>, details: &mut MelsecDetails| {
        if ports.len() > 1 {
            details.ports_tried = tried.clone();
        }
    };
    for &port in ports {
        match exchange(session, port, transport).await {
            Ok((reply, rtt)) => {
                let mut details = MelsecDetails::from_reply(&reply);
                let mut end = ProbeEnd::<ParseError>::new(
                    MelsecConfig::PROTOCOL,
                    transport,
                    port,
                    session,
                    start,
                );
                end.first_rtt = Some(rtt);
                end.identified = identity_fields(&details).model.is_some();
                end.refused = reply.is_error();
                let settled = end.settle(|| {
                    format!(
                        "end code {:#06x} ({})",
                        reply.end_code,
                        codec::end_code_name(reply.end_code).unwrap_or("unknown end code")
                    )
                });
                tried.push(PortTried {
                    port,
                    status: settled.status.name().to_owned(),
                });
                note(&tried, &mut details);
                let identity = identity_fields(&details);
                return (end.observation(settled, details, true), identity);
            }
            Err(e) => {
                tried.push(PortTried {
                    port,
                    status: e.status().name().to_owned(),
                });
                let stop = ends_the_probe(&e);
                if stop || worst.as_ref().is_none_or(|(_, w)| weight(&e) > weight(w)) {
                    worst = Some((port, e));
                }
                if stop {
                    break;
                }
            }
        }
    }
    let (port, failure) = worst.unwrap_or((
        ports.first().copied().unwrap_or_default(),
        Failure::Exchange(ExchangeError::Budget(0)),
    ));
    let mut end = ProbeEnd::new(MelsecConfig::PROTOCOL, transport, port, session, start);
    let answered = failure.status() == Status::ProtocolError;
    end.outcome = Err(failure);
    let settled = end.settle(String::new);
    let mut details = MelsecDetails::default();
    note(&tried, &mut details);
    let keep = answered || !details.ports_tried.is_empty();
    (end.observation(settled, details, keep), Identity::default())
}
