//! The FINS request script: Controller Data Read over UDP; over TCP the node address
//! exchange, then Controller Data Read in a frame send from the node the PLC assigned,
//! then a FIN that releases the connection and the node number.

use std::time::Duration;

use super::codec::{
    answers, check_tcp_answers, frame, parse, parse_tcp, Node, NodeRoute, ParseError, Request,
    TcpReply, MAX_REPLY_LEN,
};
use super::details::{identity_fields, FinsDetails};
use super::{FinsConfig, FinsTransport};
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Status, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, Failure, FirstPacket};

type Error = Failure<ParseError>;

impl RunProbe for FinsConfig {
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let mut out = Vec::new();
        match self.transport {
            FinsTransport::Udp => out.push(probe_udp(session, self).await),
            FinsTransport::Tcp => out.push(probe_tcp(session, self).await),
            FinsTransport::Both => {
                out.push(probe_udp(session, self).await);
                out.push(probe_tcp(session, self).await);
            }
            FinsTransport::Fallback => {
                let udp = probe_udp(session, self).await;
                let silent = matches!(udp.0.status, Status::IoTimeout | Status::ConnectionRefused);
                out.push(udp);
                if silent {
                    out.push(probe_tcp(session, self).await);
                }
            }
        }
        session.close().await;
        out
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        let udp = FirstPacket::Udp {
            port: self.port,
            local_port: 0,
            request: ReadOnlyRequest::Fins(udp_request(self)),
        };
        let tcp = FirstPacket::Tcp { port: self.port };
        match self.transport {
            // TCP runs only when UDP got no answer: never for a silent address.
            FinsTransport::Udp | FinsTransport::Fallback => vec![udp],
            FinsTransport::Tcp => vec![tcp],
            FinsTransport::Both => vec![udp, tcp],
        }
    }
}

/// What one transport's run learned, before it is settled.
struct Outcome {
    details: FinsDetails,
    first_rtt: Option<Duration>,
    result: Result<(), Error>,
}

/// Controller Data Read as sent over UDP, DA1 0.
fn udp_request(config: &FinsConfig) -> Request {
    Request::ControllerDataRead {
        route: NodeRoute {
            destination_node: Node::LOCAL,
            // validate() keeps the setting within 1-254; the broadcast node cannot be sent.
            source_node: Node::new(config.source_node).unwrap_or(Node::LOCAL),
        },
        fins_tcp: false,
    }
}

/// Controller Data Read in one datagram (and the scan's retries), DA1 0.
async fn probe_udp(
    session: &mut DeviceSession,
    config: &FinsConfig,
) -> (ServiceObservation, Identity) {
    let start = session.sent();
    let request = udp_request(config);
    let mut outcome = Outcome {
        details: FinsDetails::default(),
        first_rtt: None,
        result: Ok(()),
    };
    match session
        .udp_exchange(
            config.port,
            &ReadOnlyRequest::Fins(request),
            MAX_REPLY_LEN,
            &|d, c| answers(&request, d, c),
        )
        .await
    {
        Ok(reply) => {
            outcome.first_rtt = Some(reply.rtt);
            match parse(&reply.bytes) {
                Ok(parsed) => outcome.details.apply_reply(&parsed),
                Err(e) => outcome.result = Err(Failure::Malformed(e)),
            }
        }
        Err(e) => outcome.result = Err(e.into()),
    }
    settle(session, config, Transport::Udp, start, outcome)
}

/// The node address exchange, then Controller Data Read in a frame send.
async fn probe_tcp(
    session: &mut DeviceSession,
    config: &FinsConfig,
) -> (ServiceObservation, Identity) {
    let start = session.sent();
    let mut outcome = Outcome {
        details: FinsDetails::default(),
        first_rtt: None,
        result: Ok(()),
    };
    let result = run_tcp(session, config, &mut outcome).await;
    outcome.result = result;
    session.close().await;
    settle(session, config, Transport::Tcp, start, outcome)
}

async fn run_tcp(
    session: &mut DeviceSession,
    config: &FinsConfig,
    outcome: &mut Outcome,
) -> Result<(), Error> {
    let route = match ask_tcp(session, config, Request::NodeAddressRequest, outcome).await? {
        TcpReply::NodeAddress {
            client_node,
            server_node,
            warnings,
        } => {
            outcome.details.client_node = Some(client_node.value());
            outcome.details.server_node = Some(server_node.value());
            outcome.details.warnings.extend(warnings);
            NodeRoute {
                destination_node: server_node,
                source_node: client_node,
            }
        }
        TcpReply::Error { code, .. } => {
            outcome.details.apply_tcp_error(code);
            return Ok(());
        }
        // check_tcp_answers let only the kinds above through.
        TcpReply::Frame(_) => return Ok(()),
    };
    let request = Request::ControllerDataRead {
        route,
        fins_tcp: true,
    };
    match ask_tcp(session, config, request, outcome).await? {
        TcpReply::Frame(reply) => outcome.details.apply_reply(&reply),
        TcpReply::Error { code, .. } => outcome.details.apply_tcp_error(code),
        TcpReply::NodeAddress { .. } => {}
    }
    Ok(())
}

/// One FINS/TCP request and its parsed answer, checked to be of the kind asked for.
async fn ask_tcp(
    session: &mut DeviceSession,
    config: &FinsConfig,
    request: Request,
    outcome: &mut Outcome,
) -> Result<TcpReply, Error> {
    let reply = session
        .tcp_exchange(
            config.port,
            &ReadOnlyRequest::Fins(request),
            MAX_REPLY_LEN,
            &frame,
        )
        .await?;
    outcome.first_rtt.get_or_insert(reply.rtt);
    let parsed = parse_tcp(&reply.bytes).map_err(Failure::Malformed)?;
    check_tcp_answers(&request, &parsed).map_err(Failure::Malformed)?;
    Ok(parsed)
}

/// Settles one transport's observation: identified by a controller model; an error end
/// code, a FINS/TCP error or a normal answer without data is a refusal.
fn settle(
    session: &DeviceSession,
    config: &FinsConfig,
    transport: Transport,
    start: u32,
    outcome: Outcome,
) -> (ServiceObservation, Identity) {
    let Outcome {
        details,
        first_rtt,
        result,
    } = outcome;
    let mut end = ProbeEnd::new(FinsConfig::PROTOCOL, transport, config.port, session, start);
    end.first_rtt = first_rtt;
    end.outcome = result;
    end.identified = details.model().is_some();
    end.refused = !end.identified && (details.end_code.is_some() || details.tcp_error.is_some());
    let settled = end.settle(|| refusal(&details));
    let identity = identity_fields(&details);
    (
        end.observation(settled, details, first_rtt.is_some()),
        identity,
    )
}

/// Why a device that answered gave no identification.
fn refusal(details: &FinsDetails) -> String {
    if let (Some(code), Some(name)) = (details.tcp_error, &details.tcp_error_name) {
        return format!("FINS/TCP error {code:#x} ({name})");
    }
    match (details.end_code, &details.end_code_name) {
        (Some(code), Some(name)) if code & 0x7F3F != 0 => {
            format!("end code {code:04x} ({name})")
        }
        _ => "normal completion without a controller model".to_owned(),
    }
}
