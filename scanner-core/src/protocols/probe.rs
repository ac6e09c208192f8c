//! What every protocol provides to the registry, and the one way a probe ends.
//!
//! A protocol's settings type (in its folder's `mod.rs`) implements [`ProbeConfig`]:
//! port, transports, request counts for the plan, validation. Its `probe.rs` implements
//! `RunProbe` for the same type: the request script over the
//! [`DeviceSession`]. Every probe ends through `ProbeEnd`, so a status, its error
//! text, the round trip, the request count and the warnings are settled the same way
//! for every protocol.

use std::future::Future;
use std::time::Duration;

use crate::record::fields::hex;
use crate::record::fields::{millis, Identity, Protocol, Status, Transport};
use crate::record::{ReceivedBytes, ServiceDetails, ServiceObservation};
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, ExchangeError, Failure, FirstPacket, Received};

/// A protocol's probe settings, as the registry and the scan configuration use them.
///
/// Implemented by the settings type in each protocol folder's `mod.rs`. `Serialize`
/// gives the part of a resumable scan's fingerprint this protocol decides
/// ([`ProtocolConfigs::fingerprint`](super::ProtocolConfigs::fingerprint)): every field
/// is in it unless its type leaves it out (secrets are reduced to what is not secret,
/// such as how many community strings there are).
pub trait ProbeConfig:
    Clone + std::fmt::Debug + Default + PartialEq + serde::Serialize + Send + Sync + 'static
{
    /// The protocol these settings belong to.
    const PROTOCOL: Protocol;

    /// The port the probe talks to.
    fn port(&self) -> u16;

    /// Sets the port the probe talks to.
    fn set_port(&mut self, port: u16);

    /// Sets the ports the probe tries, in order (`--port NAME=N[,N...]`). Most
    /// protocols take exactly one; a protocol whose ports are set per site (MELSEC)
    /// takes a list. The error is a one-line message.
    fn set_ports(&mut self, ports: &[u16]) -> Result<(), String> {
        match ports {
            [port] => {
                self.set_port(*port);
                Ok(())
            }
            _ => Err(format!(
                "{} takes one port, not a list",
                Self::PROTOCOL.name()
            )),
        }
    }

    /// The transports and ports as `--help` and the plan show them, e.g. "TCP 502" or
    /// "TCP/UDP 44818".
    fn ports_text(&self) -> String {
        let transports: Vec<String> = self
            .transports()
            .iter()
            .map(|t| format!("{t:?}").to_ascii_uppercase())
            .collect();
        format!("{} {}", transports.join("/"), self.port())
    }

    /// The transports the probe uses, in order: the record gets one service
    /// observation for each.
    fn transports(&self) -> &'static [Transport];

    /// Most packets the probe can put on the wire to one device: connection attempts,
    /// requests and UDP retries (each unanswered UDP request is sent `1 + udp_retries`
    /// times).
    fn max_requests(&self, udp_retries: u32) -> u64;

    /// Fewest packets the probe puts on the wire to a device that answers nothing:
    /// by default one per transport (a connection attempt for TCP; for UDP the first
    /// datagram, which an unreachable port answers at once). A probe that sends more
    /// before it gives up says so.
    fn min_requests(&self, udp_retries: u32) -> u64 {
        let _ = udp_retries;
        self.transports().len() as u64
    }

    /// Checks the settings before anything is sent; the error is a one-line message
    /// that names the setting.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    /// Lines this protocol adds to the dry-run plan: (label, value).
    fn plan(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// Runs a protocol's probe: implemented in each protocol folder's `probe.rs`.
pub(crate) trait RunProbe: ProbeConfig {
    /// Asks the session's device who it is; one observation (and the identity it
    /// learned) per transport in [`ProbeConfig::transports`]. Ends through [`ProbeEnd`].
    fn probe(
        &self,
        session: &mut DeviceSession,
    ) -> impl Future<Output = Vec<(ServiceObservation, Identity)>> + Send;

    /// The probe's first packet on each of its transports, as its script would send
    /// it (a connection attempt for TCP, the first datagram for UDP; the first port of
    /// a list): what the liveness phase sends to find out whether anything is there.
    /// A transport that only runs when another got no answer (FINS's fallback to TCP)
    /// has none. `ip` is the target, for a first packet that names our side of the
    /// route to it (ADS's sender AMS NetId); counting callers pass any address.
    fn first_packets(&self, ip: std::net::IpAddr) -> Vec<FirstPacket>;

    /// Whether [`first_packets`](Self::first_packets) may differ from one target to the
    /// next or over a scan (ADS names our side of the route to each target; CODESYS
    /// sends none while UDP 1740 is taken). When no configured probe's do, the engine
    /// asks once per scan instead of once per address.
    const FIRST_PACKETS_VARY: bool = false;
}

/// Every protocol's details keep the oddities a probe accepted in a `warnings` list
/// (implemented for each registered details type by the registry).
pub(crate) trait Warnings {
    /// The details' warnings.
    fn warnings_mut(&mut self) -> &mut Vec<String>;
}

/// How a probe ended, settled by [`ProbeEnd::settle`] into a status.
///
/// `E` is the protocol codec's `ParseError`: a malformed reply stays typed until here.
pub(crate) struct ProbeEnd<E> {
    /// The protocol and where it was reached.
    pub protocol: Protocol,
    /// Transport used.
    pub transport: Transport,
    /// Port probed.
    pub port: u16,
    /// Packets put on the wire for this probe (see [`ProbeEnd::new`]).
    requests: u32,
    /// What the device sent last during this probe, shown when it broke the protocol.
    received: Option<Received>,
    /// Round trip of the first reply; `None` when nothing answered.
    pub first_rtt: Option<Duration>,
    /// The failure that ended the probe early, if any.
    pub outcome: Result<(), Failure<E>>,
    /// The replies identified the device.
    pub identified: bool,
    /// The device refused in its protocol (an exception, error, reject, abort or
    /// disconnect, or a reply without an identity): it speaks the protocol even if it
    /// said nothing else.
    pub refused: bool,
}

/// The status and error text a probe ends with, and a warning for its details.
pub(crate) struct Settled {
    /// The probe's status (see [`ProbeEnd::settle`]).
    pub status: Status,
    /// Why, for a non-success status.
    pub error: Option<String>,
    /// For an identified device whose probe ended early: what ended it.
    pub warning: Option<String>,
}

impl<E: std::fmt::Display> ProbeEnd<E> {
    /// The end of a probe that began when the session had sent `start` packets
    /// ([`DeviceSession::sent`]): its `requests` are every packet the session has put
    /// on the wire since, connection attempts and UDP retries included. That is the one
    /// meaning of `services[].requests` for every protocol.
    pub(crate) fn new(
        protocol: Protocol,
        transport: Transport,
        port: u16,
        session: &DeviceSession,
        start: u32,
    ) -> Self {
        ProbeEnd {
            protocol,
            transport,
            port,
            requests: session.sent().saturating_sub(start),
            received: session.received_since(start).cloned(),
            first_rtt: None,
            outcome: Ok(()),
            identified: false,
            refused: false,
        }
    }

    /// Settles the status: `success` when the device was identified (an early end is then
    /// a warning); the error of a reply that breaks the protocol or of a stopped scan;
    /// `application-error` when the device refused in its protocol (`refusal` says how; the
    /// request budget running out is then a warning);
    /// otherwise the failure that ended the probe, or `application-error` when replies
    /// came without an identity.
    pub(crate) fn settle(&self, refusal: impl FnOnce() -> String) -> Settled {
        let (status, error, warning) = match &self.outcome {
            Err(e) if self.identified => (
                Status::Success,
                None,
                Some(format!("probe ended early: {e}")),
            ),
            _ if self.identified => (Status::Success, None, None),
            Err(e)
                if e.is_protocol_violation()
                    || matches!(
                        e,
                        Failure::Exchange(ExchangeError::Stopped | ExchangeError::Local(_))
                    ) =>
            {
                (e.status(), Some(e.to_string()), None)
            }
            // A refusal proves the protocol; otscan's own request cap cutting the probe
            // short is said, not hidden.
            Err(e @ Failure::Exchange(ExchangeError::Budget(_))) if self.refused => (
                Status::ApplicationError,
                Some(refusal()),
                Some(format!("probe ended early: {e}")),
            ),
            _ if self.refused => (Status::ApplicationError, Some(refusal()), None),
            Err(e) => (e.status(), Some(e.to_string()), None),
            Ok(()) => (
                Status::ApplicationError,
                Some("no identification in the replies".to_owned()),
                None,
            ),
        };
        Settled {
            status,
            error,
            warning,
        }
    }

    /// The service observation; `details` go in when `keep_details` (as a rule: when
    /// the device answered at all), with the settled warning (an identified device's
    /// early end) added to their `warnings`.
    pub(crate) fn observation<D: Into<ServiceDetails> + Warnings>(
        self,
        settled: Settled,
        mut details: D,
        keep_details: bool,
    ) -> ServiceObservation {
        details.warnings_mut().extend(settled.warning);
        ServiceObservation {
            protocol: self.protocol,
            transport: self.transport,
            port: self.port,
            status: settled.status,
            rtt_ms: self.first_rtt.map(millis),
            timestamp: jiff::Timestamp::now(),
            error: settled.error,
            requests: self.requests,
            details: keep_details.then(|| details.into()),
            // A reply that broke the protocol is still what the device said: keep it.
            received: (settled.status == Status::ProtocolError)
                .then_some(self.received)
                .flatten()
                .map(|r| ReceivedBytes {
                    hex: hex(&r.bytes),
                    len: r.len,
                    rtt_ms: millis(r.rtt),
                }),
        }
    }
}

/// The script of a probe that is one UDP request (and the scan's retries), as KNXnet/IP's
/// description request and CODESYS's resolve address are: the exchange, the codec's
/// reading of the reply into the details (a codec error stays typed until the status is
/// settled), and the ending. `D` is the protocol's details type.
pub(crate) struct OneDatagram<'a, D> {
    /// The protocol, for the observation.
    pub protocol: Protocol,
    /// The device's UDP port.
    pub port: u16,
    /// Local port to send from (0: an ephemeral one; see
    /// [`DeviceSession::udp_exchange_from`]).
    pub local_port: u16,
    /// The request.
    pub request: ReadOnlyRequest,
    /// Largest reply read.
    pub max_len: usize,
    /// Whether a datagram answers the request sent with a correlation.
    pub matches: &'a (dyn Fn(&[u8], u32) -> bool + Sync),
    /// Whether the details identify the device.
    pub identifies: fn(&D) -> bool,
    /// The record identity the details give.
    pub identity: fn(&D) -> Identity,
    /// The error text of replies that do not identify the device.
    pub refusal: &'static str,
}

impl<D: Into<ServiceDetails> + Warnings + Send> OneDatagram<'_, D> {
    /// Sends the request, reads the reply into `details` with `read`, and ends the probe.
    pub(crate) async fn run<E: std::fmt::Display + Send>(
        self,
        session: &mut DeviceSession,
        mut details: D,
        read: impl FnOnce(&[u8], &mut D) -> Result<(), E> + Send,
    ) -> Vec<(ServiceObservation, Identity)> {
        let start = session.sent();
        let exchange = session
            .udp_exchange_from(
                self.local_port,
                self.port,
                &self.request,
                self.max_len,
                self.matches,
            )
            .await;
        let mut first_rtt = None;
        let outcome = match exchange {
            Ok(reply) => {
                first_rtt = Some(reply.rtt);
                read(&reply.bytes, &mut details).map_err(Failure::Malformed)
            }
            Err(e) => Err(e.into()),
        };
        let mut end = ProbeEnd::new(self.protocol, Transport::Udp, self.port, session, start);
        end.first_rtt = first_rtt;
        end.outcome = outcome;
        end.identified = (self.identifies)(&details);
        let identity = (self.identity)(&details);
        let settled = end.settle(|| self.refusal.to_owned());
        vec![(
            end.observation(settled, details, first_rtt.is_some()),
            identity,
        )]
    }
}

/// The script of a banner probe (SSH, FTP): connect, read what the server sends first with
/// the codec's `framing`, close with a FIN. Nothing is sent. A greeting cut short by the
/// timeout or the close is still offered to `parse` whole (its codec decides whether it
/// reads, with a warning).
pub(crate) struct Banner<'a, E> {
    /// The protocol, for the observation.
    pub protocol: Protocol,
    /// The device's TCP port.
    pub port: u16,
    /// Largest greeting read.
    pub max_len: usize,
    /// The codec's frame check.
    pub framing: &'a (dyn Fn(&[u8], u32) -> crate::protocols::wire::FrameCheck<E> + Sync),
}

impl<E: std::fmt::Display + Send> Banner<'_, E> {
    /// Reads the greeting and parses it with `parse`: the probe's end (round trip and
    /// outcome set) and the parsed greeting, if one was read.
    pub(crate) async fn read<R>(
        self,
        session: &mut DeviceSession,
        parse: impl Fn(&[u8]) -> Result<R, E> + Send,
    ) -> (ProbeEnd<E>, Option<R>) {
        let start = session.sent();
        let read = session
            .tcp_read(self.port, self.max_len, self.framing)
            .await;
        session.close().await;
        let mut first_rtt = None;
        let mut greeting = None;
        let outcome = match read {
            Ok(reply) => {
                first_rtt = Some(reply.rtt);
                parse(&reply.bytes)
                    .map(|r| greeting = Some(r))
                    .map_err(Failure::Malformed)
            }
            Err(e) => {
                // A greeting that never ended: read what came, if it is one.
                if let (
                    Failure::Exchange(ExchangeError::Timeout | ExchangeError::Closed),
                    Some(received),
                ) = (&e, session.received_since(start))
                {
                    if received.len == received.bytes.len() {
                        if let Ok(r) = parse(&received.bytes) {
                            first_rtt = Some(received.rtt);
                            greeting = Some(r);
                        }
                    }
                }
                Err(e)
            }
        };
        let mut end = ProbeEnd::new(self.protocol, Transport::Tcp, self.port, session, start);
        end.first_rtt = first_rtt;
        end.outcome = outcome;
        (end, greeting)
    }
}
