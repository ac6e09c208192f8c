//! The EtherNet/IP request script: ListIdentity, then ListServices once the device
//! identified itself, on each configured transport in turn.

use std::time::Duration;

use super::codec::{self, check_answers, parse, ParseError, Reply, Request, MAX_REPLY_LEN};
use super::details::{identity_fields, EnipDetails};
use super::EnipConfig;
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, Failure, FirstPacket};

type Error = Failure<ParseError>;

/// EtherNet/IP has no layer-2 exchange (`Transport::Ethernet` is PROFINET DCP's).
fn no_layer2() -> Error {
    crate::session::ExchangeError::Io("EtherNet/IP is not spoken over bare Ethernet".into()).into()
}

impl RunProbe for EnipConfig {
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let mut out = Vec::new();
        for &transport in self.transports() {
            out.push(probe_transport(session, self, transport).await);
        }
        session.close().await;
        out
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        self.transports()
            .iter()
            .filter_map(|t| match t {
                Transport::Tcp => Some(FirstPacket::Tcp { port: self.port }),
                Transport::Udp => Some(FirstPacket::Udp {
                    port: self.port,
                    local_port: 0,
                    request: ReadOnlyRequest::Enip(Request::ListIdentity),
                }),
                Transport::Ethernet => None,
            })
            .collect()
    }
}

/// One list command over `transport` and its parsed reply, checked to answer it.
async fn exchange(
    session: &mut DeviceSession,
    port: u16,
    transport: Transport,
    request: Request,
) -> Result<(Reply, Duration), Error> {
    let wrapped = ReadOnlyRequest::Enip(request);
    let reply = match transport {
        Transport::Tcp => {
            session
                .tcp_exchange(port, &wrapped, MAX_REPLY_LEN, &codec::frame)
                .await?
        }
        Transport::Udp => {
            session
                .udp_exchange(port, &wrapped, MAX_REPLY_LEN, &|d, c| {
                    codec::answers(&request, d, c)
                })
                .await?
        }
        Transport::Ethernet => return Err(no_layer2()),
    };
    let parsed = parse(&reply.bytes).map_err(Failure::Malformed)?;
    check_answers(&request, &parsed).map_err(Failure::Malformed)?;
    Ok((parsed, reply.rtt))
}

/// ListIdentity (and ListServices) over one transport: identified by an Identity
/// item; a reply without one (an error status, or no item) is a refusal.
async fn probe_transport(
    session: &mut DeviceSession,
    config: &EnipConfig,
    transport: Transport,
) -> (ServiceObservation, Identity) {
    let start = session.sent();
    let identify = exchange(session, config.port, transport, Request::ListIdentity).await;
    let (reply, rtt) = match identify {
        Ok(r) => r,
        Err(e) => {
            let mut end =
                ProbeEnd::new(EnipConfig::PROTOCOL, transport, config.port, session, start);
            end.outcome = Err(e);
            let settled = end.settle(String::new);
            return (
                end.observation(settled, EnipDetails::default(), false),
                Identity::default(),
            );
        }
    };
    let mut details = EnipDetails::from_reply(&reply);
    let identity = reply.identity().cloned();
    if identity.is_some() && config.list_services {
        match exchange(session, config.port, transport, Request::ListServices).await {
            Ok((services, _)) => details.add_reply(&services),
            Err(e) => details.warnings.push(format!("ListServices: {e}")),
        }
    }
    let mut end =
        ProbeEnd::<ParseError>::new(EnipConfig::PROTOCOL, transport, config.port, session, start);
    end.first_rtt = Some(rtt);
    end.identified = identity.is_some();
    end.refused = identity.is_none();
    let settled = end.settle(|| {
        if reply.is_error() {
            format!(
                "encapsulation status {:#x} ({})",
                reply.status(),
                reply.status_name.unwrap_or("unknown status")
            )
        } else {
            "ListIdentity reply without an Identity item".to_owned()
        }
    });
    let record_identity = identity.as_ref().map(identity_fields).unwrap_or_default();
    (end.observation(settled, details, true), record_identity)
}
