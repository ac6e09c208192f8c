//! The paced, bounded device session: a probe's only way to reach the network.
//!
//! Each device scan owns one [`DeviceSession`]. It holds at most one TCP
//! connection to the device (reused for all its requests, closed with a FIN) and one
//! UDP socket connected to it, paces every packet-initiating action (a connection
//! attempt, a request, a UDP retry) against the global send-slot grid
//! (`crate::pacing`) and the per-device interval, caps the requests
//! one device can receive, bounds every read in size and time, and refuses to send
//! once the scan is cancelled or past its deadline. Probes never pace themselves.
//!
//! Every byte sent is encoded from a [`ReadOnlyRequest`]: there is no other way in. The
//! one exception is a TLS handshake (`DeviceSession::tls_exchange`, crate-private): its records are
//! rustls's, shaped by the client configuration the https probe passes (no client
//! certificate, no resumption, no early data); the request inside is still encoded from a
//! [`ReadOnlyRequest`].

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::pacing::Pacer;
use crate::protocols::wire::FrameCheck;
use futures::StreamExt;

use crate::record::fields::{Status, Transport};
use crate::request::ReadOnlyRequest;

/// Why an exchange with a device produced no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// The device refused the TCP connection.
    #[error("connection refused")]
    Refused,
    /// The TCP connection attempt timed out.
    #[error("connection attempt timed out")]
    ConnectTimeout,
    /// The device closed the connection before a full reply.
    #[error("connection closed by the device before a full reply")]
    Closed,
    /// No whole reply within the read timeout.
    #[error("no reply within the read timeout")]
    Timeout,
    /// The device kept sending whole frames that answer none of the requests.
    #[error("invalid reply: replies do not answer the request (wrong transaction id)")]
    Unanswered,
    /// The reply grew past the size cap.
    #[error("reply larger than the {0}-byte cap")]
    Oversized(usize),
    /// The per-device request budget is used up.
    #[error("per-device request budget of {0} used up")]
    Budget(u32),
    /// The scan was cancelled or reached its deadline: nothing more is sent.
    #[error("scan stopped (deadline or cancel)")]
    Stopped,
    /// The scanning host itself could not send (open-files limit, no route, an
    /// address family it lacks, a source port in use, no buffer space): not a result
    /// of the device. The session sends nothing more to the device, and the engine
    /// neither records nor marks the target done (see [`LocalFailure`]).
    #[error("{0}")]
    Local(LocalFailure),
    /// The TLS handshake failed (an alert from the device, a protocol version or cipher
    /// suite otscan's TLS client does not offer, bytes that are not TLS).
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// Any other socket error.
    #[error("network error: {0}")]
    Io(String),
}

/// What kind of local failure kept the scanning host from sending (see [`LocalFailure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LocalFailureKind {
    /// The process or the system ran out of file descriptors (EMFILE, ENFILE).
    OpenFiles,
    /// The kernel had no buffer space or memory for the socket (ENOBUFS, ENOMEM).
    NoBufferSpace,
    /// No route to the target's network from this host (ENETUNREACH), or the
    /// interface is down (ENETDOWN).
    NetworkUnreachable,
    /// The host's routing table refuses the target (EHOSTUNREACH raised by the
    /// host itself, e.g. an `unreachable` route).
    HostUnreachable,
    /// The host lacks the target's address family (EAFNOSUPPORT), e.g. no IPv6.
    AddressFamily,
    /// The local (source) port is in use (EADDRINUSE), e.g. `--bacnet-source-port`
    /// held by another program.
    AddressInUse,
    /// No usable local address or ephemeral port (EADDRNOTAVAIL).
    AddressNotAvailable,
}

/// A socket error raised by the scanning host itself, before or while sending,
/// rather than by the device or the network: the host cannot scan right now.
///
/// Only errors returned synchronously by `socket`, `bind`, `connect` or the first
/// `send` of a socket count (the kernel decided them locally, nothing reached the
/// wire). Errors that come back from the network keep their device status: a refused
/// connection (RST, or ICMP port unreachable on a connected UDP socket) is
/// `connection-refused`, silence is a timeout, an ICMP host unreachable from a
/// router after a connection attempt is `unknown-error`, as before.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action}: {reason}")]
pub struct LocalFailure {
    /// The errno's kind.
    pub kind: LocalFailureKind,
    /// What the host was doing, e.g. "cannot open a TCP socket".
    pub action: String,
    /// The operating system's text, e.g. "Too many open files (os error 24)".
    pub reason: String,
}

impl LocalFailure {
    /// The local failure `error` is, when its errno is one the host raises itself
    /// (EMFILE, ENFILE, ENOBUFS, ENOMEM, ENETUNREACH, ENETDOWN, EHOSTUNREACH,
    /// EAFNOSUPPORT, EADDRINUSE, EADDRNOTAVAIL); `None` for any other error.
    /// The caller decides whether the error was raised locally (see the type's doc).
    pub fn from_io(action: impl Into<String>, error: &std::io::Error) -> Option<Self> {
        use rustix::io::Errno;
        let code = error.raw_os_error()?;
        let is = |e: Errno| code == e.raw_os_error();
        let kind = if is(Errno::MFILE) || is(Errno::NFILE) {
            LocalFailureKind::OpenFiles
        } else if is(Errno::NOBUFS) || is(Errno::NOMEM) {
            LocalFailureKind::NoBufferSpace
        } else if is(Errno::NETUNREACH) || is(Errno::NETDOWN) {
            LocalFailureKind::NetworkUnreachable
        } else if is(Errno::HOSTUNREACH) {
            LocalFailureKind::HostUnreachable
        } else if is(Errno::AFNOSUPPORT) {
            LocalFailureKind::AddressFamily
        } else if is(Errno::ADDRINUSE) {
            LocalFailureKind::AddressInUse
        } else if is(Errno::ADDRNOTAVAIL) {
            LocalFailureKind::AddressNotAvailable
        } else {
            return None;
        };
        Some(LocalFailure {
            kind,
            action: action.into(),
            reason: error.to_string(),
        })
    }
}

impl ExchangeError {
    /// The record status for this error.
    pub fn status(&self) -> Status {
        match self {
            ExchangeError::Refused => Status::ConnectionRefused,
            ExchangeError::ConnectTimeout => Status::ConnectionTimeout,
            ExchangeError::Closed => Status::ConnectionClosed,
            ExchangeError::Timeout => Status::IoTimeout,
            ExchangeError::Unanswered | ExchangeError::Oversized(_) | ExchangeError::Tls(_) => {
                Status::ProtocolError
            }
            // Never in a record: the engine retries the target instead (like a stop,
            // the probe did not finish).
            ExchangeError::Stopped | ExchangeError::Local(_) => Status::Stopped,
            ExchangeError::Budget(_) => Status::BudgetExhausted,
            ExchangeError::Io(_) => Status::UnknownError,
        }
    }
}

/// Why a step of a probe failed: on the way ([`ExchangeError`]), or in a reply the
/// protocol's codec rejected (`E`, the codec's `ParseError`, kept typed until the
/// probe's status is settled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure<E> {
    /// Nothing usable came back.
    Exchange(ExchangeError),
    /// A reply came back that is not a valid answer of the protocol.
    Malformed(E),
}

impl<E> From<ExchangeError> for Failure<E> {
    fn from(e: ExchangeError) -> Self {
        Failure::Exchange(e)
    }
}

impl<E> Failure<E> {
    /// The record status for this failure: `protocol-error` for a malformed reply.
    pub fn status(&self) -> Status {
        match self {
            Failure::Exchange(e) => e.status(),
            Failure::Malformed(_) => Status::ProtocolError,
        }
    }

    /// True when the bytes that came back break the protocol (a malformed reply, or
    /// frames that answer nothing we asked), as opposed to silence or a transport error.
    pub fn is_protocol_violation(&self) -> bool {
        matches!(
            self,
            Failure::Malformed(_) | Failure::Exchange(ExchangeError::Unanswered)
        )
    }
}

impl<E: std::fmt::Display> std::fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Exchange(e) => e.fmt(f),
            Failure::Malformed(e) => write!(f, "invalid reply: {e}"),
        }
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for Failure<E> {}

/// What a TLS handshake agreed on (see [`DeviceSession::tls_exchange`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSession {
    /// The protocol version, e.g. `TLSv1.3`.
    pub version: String,
    /// The cipher suite's IANA name, e.g. `TLS_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The application protocol the server chose, if any.
    pub alpn: Option<String>,
    /// The server's certificate chain as sent, DER, end entity first.
    pub certificates: Vec<Vec<u8>>,
}

/// A whole reply frame and how long it took to arrive.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub bytes: Vec<u8>,
    pub rtt: Duration,
    /// The read timeout ended the reply (with `close_ends`): the bytes are what came
    /// before it, not a whole reply.
    pub timed_out: bool,
}

/// Most bytes of a reply kept to show what a device said when its reply broke the protocol.
pub const MAX_KEPT_REPLY: usize = 512;

/// The last bytes a device sent in an exchange: what a `protocol-error` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The first [`MAX_KEPT_REPLY`] bytes.
    pub bytes: Vec<u8>,
    /// How many bytes there were.
    pub len: usize,
    /// Time from the request to the bytes.
    pub rtt: Duration,
    /// The session's packet count when they came: which probe they belong to.
    pub at: u32,
}

/// Why the scan must stop sending: cancellation, the deadline, or a local failure
/// that outlasted its retries.
pub(crate) struct Stop {
    pub cancel: CancellationToken,
    pub deadline: Option<Instant>,
    /// Set (before `cancel` is cancelled) when the host cannot send any more.
    pub local_failure: std::sync::OnceLock<String>,
}

/// What stopped the scan early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// The deadline (or maximum duration) was reached.
    Deadline,
    /// The scan was cancelled (token, or the stream was dropped).
    Cancelled,
    /// The scanning host could not send (a [`LocalFailure`]) and retries did not
    /// help: the targets it hit are left undone for the next run;
    /// [`Progress::local_failure`](crate::Progress::local_failure) says why.
    LocalFailure,
}

impl Stop {
    /// Stops the scan because the host cannot send; `reason` is the one-line why.
    pub(crate) fn fail_locally(&self, reason: String) {
        let _ = self.local_failure.set(reason);
        self.cancel.cancel();
    }

    /// Why the scan must stop now, if it must.
    pub(crate) fn reason(&self) -> Option<StopReason> {
        if self.local_failure.get().is_some() {
            Some(StopReason::LocalFailure)
        } else if self.cancel.is_cancelled() {
            Some(StopReason::Cancelled)
        } else if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Some(StopReason::Deadline)
        } else {
            None
        }
    }

    /// Resolves when the scan must stop sending.
    pub(crate) async fn stopped(&self) {
        match self.deadline {
            Some(d) => tokio::select! {
                _ = self.cancel.cancelled() => {}
                _ = tokio::time::sleep_until(d) => {}
            },
            None => self.cancel.cancelled().await,
        }
    }
}

/// The per-scan bounds every session applies (copied from the scan's configuration).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Least time between two packets to one device.
    pub per_device_interval: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Time allowed for a whole reply.
    pub read_timeout: Duration,
    /// Times an unanswered UDP request is sent again.
    pub udp_retries: u32,
    /// Cap on packets (connection attempts included) to one device.
    pub max_requests_per_device: u32,
}

/// What every session of one scan shares: the bounds, the global pacer, the stop
/// signal, and the shortest per-device gap measured.
pub(crate) struct Shared {
    pub limits: Limits,
    pub pacer: Option<Pacer>,
    pub stop: Stop,
    /// Shortest gap between two packets to one device, in microseconds (u64::MAX: none yet).
    pub min_gap_us: AtomicU64,
}

impl Shared {
    /// The shortest gap measured between two packets to one device.
    pub(crate) fn min_device_gap(&self) -> Option<Duration> {
        let gap = self.min_gap_us.load(Ordering::Relaxed);
        (gap != u64::MAX).then(|| Duration::from_micros(gap))
    }
}

struct Connection {
    port: u16,
    stream: TcpStream,
    /// Bytes received but not yet consumed: the start of a reply that missed its read
    /// timeout, or bytes after a frame. The next exchange parses on from them, so a
    /// late reply is recognised (and skipped) by its correlation instead of its tail
    /// being read as a new header.
    pending: Vec<u8>,
    /// A request has gone through it (false for a connection the liveness phase made).
    used: bool,
}

/// A probe's only way to reach a device: paced, bounded, one connection at a time.
pub struct DeviceSession {
    ip: IpAddr,
    shared: Arc<Shared>,
    conn: Option<Connection>,
    /// The device's UDP socket: (remote port, local port asked for, socket).
    udp: Option<(u16, u16, Arc<UdpSocket>)>,
    last_send: Option<Instant>,
    correlation: u32,
    requests: u32,
    received: Option<Received>,
    /// Set at the first local failure: nothing more is sent to this device.
    local: Option<LocalFailure>,
    /// What the liveness phase's first packets got, for the probes to take over instead
    /// of sending those packets again (see [`liveness`](Self::liveness)).
    primed: Vec<Primed>,
}

impl DeviceSession {
    pub(crate) fn new(ip: IpAddr, shared: Arc<Shared>) -> Self {
        DeviceSession {
            ip,
            shared,
            conn: None,
            udp: None,
            last_send: None,
            // Start correlations at a per-device value so replies from different
            // devices never look alike in a capture.
            correlation: 1,
            requests: 0,
            local: None,
            received: None,
            primed: Vec::new(),
        }
    }

    /// What the device sent last, if it came after the session had put `since` packets
    /// on the wire (so within the probe that began then).
    pub(crate) fn received_since(&self, since: u32) -> Option<&Received> {
        self.received.as_ref().filter(|r| r.at > since)
    }

    fn keep_received(&mut self, bytes: &[u8], rtt: Duration) {
        self.received = Some(Received {
            bytes: bytes[..bytes.len().min(MAX_KEPT_REPLY)].to_vec(),
            len: bytes.len(),
            rtt,
            at: self.requests,
        });
    }

    /// The local failure that ended this session's sending, if one did: the device's
    /// probes did not run to their end, and nothing they observed is a device result.
    pub(crate) fn local_failure(&self) -> Option<&LocalFailure> {
        self.local.as_ref()
    }

    /// Records a local failure of a packet-initiating action that [`pace`](Self::pace)
    /// counted: nothing left the host, so it is taken off the count again.
    fn failed_locally(&mut self, failure: LocalFailure) -> ExchangeError {
        self.requests = self.requests.saturating_sub(1);
        self.local = Some(failure.clone());
        ExchangeError::Local(failure)
    }

    /// Waits until this device and the global pacer allow one more packet-initiating
    /// action (a connection attempt or a request), or the scan stops.
    async fn pace(&mut self) -> Result<(), ExchangeError> {
        let shared = Arc::clone(&self.shared);
        let limits = &shared.limits;
        if let Some(failure) = &self.local {
            return Err(ExchangeError::Local(failure.clone()));
        }
        if self.requests >= limits.max_requests_per_device {
            return Err(ExchangeError::Budget(limits.max_requests_per_device));
        }
        if shared.stop.reason().is_some() {
            return Err(ExchangeError::Stopped);
        }
        if let Some(last) = self.last_send {
            let earliest = last + limits.per_device_interval;
            // A timer sleep rounds up to the next tick: skip it when the interval has passed.
            if earliest > Instant::now() {
                tokio::select! {
                    _ = tokio::time::sleep_until(earliest) => {}
                    _ = shared.stop.stopped() => return Err(ExchangeError::Stopped),
                }
            }
        }
        if let Some(pacer) = &shared.pacer {
            let slot = pacer.reserve();
            if slot > Instant::now() {
                tokio::select! {
                    _ = tokio::time::sleep_until(slot) => {}
                    _ = shared.stop.stopped() => return Err(ExchangeError::Stopped),
                }
            }
        }
        if shared.stop.reason().is_some() {
            return Err(ExchangeError::Stopped);
        }
        let now = Instant::now();
        if let Some(last) = self.last_send {
            let gap = u64::try_from(now.duration_since(last).as_micros()).unwrap_or(u64::MAX);
            shared.min_gap_us.fetch_min(gap, Ordering::Relaxed);
        }
        self.last_send = Some(now);
        self.requests += 1;
        Ok(())
    }

    /// Packets this session has put on the wire so far: connection attempts and every
    /// datagram, retries included. A probe's `requests` is the difference over its run.
    pub(crate) fn sent(&self) -> u32 {
        self.requests
    }

    /// The device's address (OPC UA puts it in the endpoint URL it asks about).
    pub(crate) fn ip(&self) -> IpAddr {
        self.ip
    }

    async fn connect(&mut self, port: u16) -> Result<(), ExchangeError> {
        if self.conn.as_ref().is_some_and(|c| c.port == port) {
            return Ok(());
        }
        // One TCP connection per device at a time: close any other port's first.
        self.close().await;
        // The liveness phase's attempt to this port was answered (RST, ICMP): that
        // answer is this attempt's, as a second SYN would get it again.
        if let Some(i) = self
            .primed
            .iter()
            .position(|p| matches!(p, Primed::TcpAnswered { port: p, .. } if *p == port))
        {
            if let Primed::TcpAnswered { error, .. } = self.primed.swap_remove(i) {
                return Err(error);
            }
        }
        self.pace().await?;
        let addr = SocketAddr::new(self.ip, port);
        let timeout = self.shared.limits.connect_timeout;
        match tokio::time::timeout(timeout, connect_tcp(addr)).await {
            Err(_) => Err(ExchangeError::ConnectTimeout),
            Ok(Err(Connect::Local(failure))) => Err(self.failed_locally(failure)),
            Ok(Err(Connect::Device(e))) => Err(e),
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                self.conn = Some(Connection {
                    port,
                    stream,
                    pending: Vec::new(),
                    used: false,
                });
                Ok(())
            }
        }
    }

    /// Sends `request` over the device's TCP connection to `port` (connecting if
    /// needed) and reads one whole reply that answers it, bounded by `max_len`
    /// bytes and the read timeout. `framing` is the protocol codec's frame check:
    /// replies that answer earlier requests are skipped, bytes it rejects end the
    /// exchange with [`Failure::Malformed`].
    pub(crate) async fn tcp_exchange<E>(
        &mut self,
        port: u16,
        request: &ReadOnlyRequest,
        max_len: usize,
        framing: &(dyn Fn(&[u8], u32) -> FrameCheck<E> + Sync),
    ) -> Result<Reply, Failure<E>> {
        self.tcp_exchange_ending(port, request, max_len, framing, false)
            .await
    }

    /// [`tcp_exchange`](Self::tcp_exchange), and with `close_ends` for a protocol whose
    /// reply may end where the device closes the connection (an HTTP/1.1 response to
    /// `Connection: close` without a length): the bytes received before the close are the
    /// reply when there are any (the framing could not yet call them whole); a close
    /// before any byte is [`ExchangeError::Closed`] as always. The same holds at the read
    /// timeout: a device that sent a response head and then neither ends its body nor
    /// closes has its bytes read so far taken as the reply (and the connection closed),
    /// so what it said is kept; a timeout before any byte is [`ExchangeError::Timeout`].
    pub(crate) async fn tcp_exchange_ending<E>(
        &mut self,
        port: u16,
        request: &ReadOnlyRequest,
        max_len: usize,
        framing: &(dyn Fn(&[u8], u32) -> FrameCheck<E> + Sync),
        close_ends: bool,
    ) -> Result<Reply, Failure<E>> {
        self.connect(port).await?;
        self.pace().await?;
        self.correlation = self.correlation.wrapping_add(1);
        let correlation = self.correlation;
        let bytes = request.encode(correlation);
        let shared = Arc::clone(&self.shared);
        let Some(conn) = self.conn.as_mut() else {
            return Err(ExchangeError::Closed.into());
        };
        conn.used = true;
        let sent_at = Instant::now();
        let result = tokio::select! {
            r = tokio::time::timeout(
                shared.limits.read_timeout,
                write_and_read(
                    &mut conn.stream,
                    &mut conn.pending,
                    &bytes,
                    correlation,
                    max_len,
                    framing,
                    close_ends,
                ),
            ) => r.unwrap_or(Err(ExchangeError::Timeout.into())),
            _ = shared.stop.cancel.cancelled() => Err(ExchangeError::Stopped.into()),
        };
        // Time the per-device interval from the end of the exchange: a write that had to
        // wait can never bring the next request closer than the interval.
        self.last_send = Some(Instant::now());
        let mut cut_short = false;
        let result = match result {
            Err(Failure::Exchange(ExchangeError::Timeout)) if close_ends => {
                match self.conn.as_mut().map(|c| std::mem::take(&mut c.pending)) {
                    Some(partial) if !partial.is_empty() => {
                        cut_short = true;
                        Ok(partial)
                    }
                    _ => Err(ExchangeError::Timeout.into()),
                }
            }
            other => other,
        };
        if cut_short {
            // Mid-response: the stream cannot carry another exchange.
            self.close().await;
        }
        match &result {
            Ok(bytes) => self.keep_received(bytes, sent_at.elapsed()),
            // Bytes that broke the framing are what the device said: keep them to show.
            Err(
                Failure::Malformed(_)
                | Failure::Exchange(ExchangeError::Oversized(_) | ExchangeError::Unanswered),
            ) => {
                if let Some(pending) = self.conn.as_ref().map(|c| c.pending.clone()) {
                    self.keep_received(&pending, sent_at.elapsed());
                }
            }
            Err(_) => {}
        }
        match result {
            Ok(bytes) => Ok(Reply {
                bytes,
                rtt: sent_at.elapsed(),
                timed_out: cut_short,
            }),
            // A late reply after a timeout is recognised by its correlation and
            // skipped, so the connection stays usable; anything else leaves the
            // stream in an unknown state.
            Err(Failure::Exchange(ExchangeError::Timeout)) => Err(ExchangeError::Timeout.into()),
            Err(e) => {
                self.close().await;
                Err(e)
            }
        }
    }

    /// A TLS handshake on a new TCP connection to `port` with `connector` (paced and
    /// counted as one request, bounded by the read timeout), then `request` inside the
    /// TLS session and one whole reply read as [`tcp_exchange_ending`](Self::tcp_exchange_ending)
    /// with `close_ends` does; the connection is closed after (close_notify, FIN). The
    /// handshake's result comes back also when the exchange after it fails; a failed
    /// handshake is [`ExchangeError::Tls`]. No SNI: the target is an address.
    pub(crate) async fn tls_exchange<E>(
        &mut self,
        port: u16,
        connector: &tokio_rustls::TlsConnector,
        request: &ReadOnlyRequest,
        max_len: usize,
        framing: &(dyn Fn(&[u8], u32) -> FrameCheck<E> + Sync),
    ) -> (Option<TlsSession>, Result<Reply, Failure<E>>) {
        if let Err(e) = self.connect(port).await {
            return (None, Err(e.into()));
        }
        // The handshake: our ClientHello (and the flights after it) count as one request.
        if let Err(e) = self.pace().await {
            self.close().await;
            return (None, Err(e.into()));
        }
        let Some(conn) = self.conn.take() else {
            return (None, Err(ExchangeError::Closed.into()));
        };
        let shared = Arc::clone(&self.shared);
        let timeout = shared.limits.read_timeout;
        let name = rustls::pki_types::ServerName::IpAddress(self.ip.into());
        let handshake = tokio::select! {
            r = tokio::time::timeout(timeout, connector.connect(name, conn.stream)) => r,
            _ = shared.stop.cancel.cancelled() => return (None, Err(ExchangeError::Stopped.into())),
        };
        self.last_send = Some(Instant::now());
        let mut stream = match handshake {
            Err(_) => return (None, Err(ExchangeError::Timeout.into())),
            Ok(Err(e)) => return (None, Err(tls_error(&e).into())),
            Ok(Ok(stream)) => stream,
        };
        let session = {
            let (_, client) = stream.get_ref();
            TlsSession {
                version: client
                    .protocol_version()
                    .map(|v| match v {
                        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
                        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
                        other => format!("{other:?}"),
                    })
                    .unwrap_or_default(),
                cipher_suite: client
                    .negotiated_cipher_suite()
                    .and_then(|s| s.suite().as_str())
                    .map(iana_suite_name)
                    .unwrap_or_default(),
                alpn: client
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
                certificates: client
                    .peer_certificates()
                    .unwrap_or_default()
                    .iter()
                    .map(|c| c.as_ref().to_vec())
                    .collect(),
            }
        };
        if let Err(e) = self.pace().await {
            let _ = tokio::time::timeout(Duration::from_millis(500), stream.shutdown()).await;
            return (Some(session), Err(e.into()));
        }
        let bytes = request.encode(0);
        let sent_at = Instant::now();
        let mut pending = Vec::new();
        let result = tokio::select! {
            r = tokio::time::timeout(
                timeout,
                write_and_read(&mut stream, &mut pending, &bytes, 0, max_len, framing, true),
            ) => r.unwrap_or(Err(ExchangeError::Timeout.into())),
            _ = shared.stop.cancel.cancelled() => Err(ExchangeError::Stopped.into()),
        };
        self.last_send = Some(Instant::now());
        // As `tcp_exchange_ending` with `close_ends`: bytes, then silence until the read
        // timeout, are the reply as far as it came (the caller decides whether they say
        // enough); silence from the start stays a timeout.
        let (result, timed_out) = match result {
            Err(Failure::Exchange(ExchangeError::Timeout)) if !pending.is_empty() => {
                (Ok(std::mem::take(&mut pending)), true)
            }
            other => (other, false),
        };
        match &result {
            Ok(reply) => self.keep_received(reply, sent_at.elapsed()),
            Err(_) if !pending.is_empty() => self.keep_received(&pending, sent_at.elapsed()),
            Err(_) => {}
        }
        let _ = tokio::time::timeout(Duration::from_millis(500), stream.shutdown()).await;
        (
            Some(session),
            result.map(|bytes| Reply {
                bytes,
                rtt: sent_at.elapsed(),
                timed_out,
            }),
        )
    }

    /// Reads what the device sends first on its TCP connection to `port` (connecting if
    /// needed), sending nothing: a banner protocol's greeting (SSH's identification
    /// string, FTP's 220 reply). One whole frame as `framing` sees it (called with
    /// correlation 0), bounded by `max_len` bytes and the read timeout.
    ///
    /// Nothing is written, so nothing is paced or counted beyond the connection attempt.
    /// Whatever arrived is kept as the session's last received bytes, also when the read
    /// ends in a timeout, a close or the size cap, so a probe can still read a greeting
    /// that never ended ([`received_since`](Self::received_since)).
    pub(crate) async fn tcp_read<E>(
        &mut self,
        port: u16,
        max_len: usize,
        framing: &(dyn Fn(&[u8], u32) -> FrameCheck<E> + Sync),
    ) -> Result<Reply, Failure<E>> {
        let wait = self.shared.limits.read_timeout;
        self.tcp_talk(port, None, max_len, framing, wait).await
    }

    /// The read timeout: how long one reply may take.
    pub(crate) fn read_timeout(&self) -> Duration {
        self.shared.limits.read_timeout
    }

    /// A banner conversation's step on the TCP connection to `port` (connecting if
    /// needed): `send`, if any, paced and counted like any request (telnet's refusals),
    /// then one frame read as [`tcp_read`](Self::tcp_read) does, waiting at most `wait`.
    /// The connection stays open after a timeout (the conversation's end decides).
    pub(crate) async fn tcp_talk<E>(
        &mut self,
        port: u16,
        send: Option<&ReadOnlyRequest>,
        max_len: usize,
        framing: &(dyn Fn(&[u8], u32) -> FrameCheck<E> + Sync),
        wait: Duration,
    ) -> Result<Reply, Failure<E>> {
        self.connect(port).await?;
        let bytes = match send {
            Some(request) => {
                self.pace().await?;
                request.encode(0)
            }
            None => Vec::new(),
        };
        let shared = Arc::clone(&self.shared);
        let Some(conn) = self.conn.as_mut() else {
            return Err(ExchangeError::Closed.into());
        };
        conn.used = true;
        let started = Instant::now();
        let result = tokio::select! {
            r = tokio::time::timeout(
                wait,
                write_and_read(&mut conn.stream, &mut conn.pending, &bytes, 0, max_len, framing, false),
            ) => r.unwrap_or(Err(ExchangeError::Timeout.into())),
            _ = shared.stop.cancel.cancelled() => Err(ExchangeError::Stopped.into()),
        };
        if send.is_some() {
            self.last_send = Some(Instant::now());
        }
        match &result {
            Ok(bytes) => self.keep_received(bytes, started.elapsed()),
            Err(_) => {
                if let Some(pending) = self
                    .conn
                    .as_ref()
                    .map(|c| c.pending.clone())
                    .filter(|p| !p.is_empty())
                {
                    self.keep_received(&pending, started.elapsed());
                }
            }
        }
        match result {
            Ok(bytes) => Ok(Reply {
                bytes,
                rtt: started.elapsed(),
                timed_out: false,
            }),
            Err(Failure::Exchange(ExchangeError::Timeout)) => Err(ExchangeError::Timeout.into()),
            Err(e) => {
                self.close().await;
                Err(e)
            }
        }
    }

    /// Sends `request` in a UDP datagram to `port` and waits for a reply that
    /// `matches` it, resending up to the configured number of retries.
    ///
    /// The socket is connected to the device, so the kernel drops datagrams from any
    /// other address or port, and a port-unreachable answer ends the wait at once.
    /// A reply to an earlier try of the same exchange is accepted; anything else
    /// (duplicates, stale replies, floods) is skipped until the try's timeout.
    pub(crate) async fn udp_exchange(
        &mut self,
        port: u16,
        request: &ReadOnlyRequest,
        max_len: usize,
        matches: &(dyn Fn(&[u8], u32) -> bool + Sync),
    ) -> Result<Reply, ExchangeError> {
        self.udp_exchange_from(0, port, request, max_len, matches)
            .await
    }

    /// [`udp_exchange`](Self::udp_exchange) from local port `local_port` (0: an
    /// ephemeral one). A fixed local port is shared with the scan's other device
    /// sessions (SO_REUSEPORT); each socket is connected to its device, so the kernel
    /// still hands every session only its own device's datagrams.
    pub(crate) async fn udp_exchange_from(
        &mut self,
        local_port: u16,
        port: u16,
        request: &ReadOnlyRequest,
        max_len: usize,
        matches: &(dyn Fn(&[u8], u32) -> bool + Sync),
    ) -> Result<Reply, ExchangeError> {
        let shared = Arc::clone(&self.shared);
        let mut fresh_socket = false;
        // The liveness phase's datagram of this very request, already on the wire: the
        // exchange's first try (correlation, when it left, whether it was refused).
        let mut primed_try = None;
        if self
            .udp
            .as_ref()
            .is_none_or(|(p, l, _)| *p != port || *l != local_port)
        {
            self.udp = None;
            if let Some(primed) = self.take_primed_udp(port, local_port) {
                if primed.request == *request {
                    primed_try = Some((primed.correlation, primed.sent_at, primed.refused));
                }
                self.udp = Some((port, local_port, primed.socket));
            } else {
                let socket = self.open_udp(local_port, port).await?;
                self.udp = Some((port, local_port, Arc::new(socket)));
                fresh_socket = true;
            }
        }
        let mut sent = Vec::new();
        // Made at the first read: a refusal already in needs none.
        let mut buf = Vec::new();
        for _ in 0..=shared.limits.udp_retries {
            let Some(socket) = self.udp.as_ref().map(|(_, _, s)| Arc::clone(s)) else {
                return Err(ExchangeError::Closed);
            };
            let sent_at = if let Some((correlation, sent_at, refused)) = primed_try.take() {
                // Port unreachable already came back: what a resend would get at once.
                if refused {
                    return Err(ExchangeError::Refused);
                }
                sent.push(correlation);
                sent_at
            } else {
                self.pace().await?;
                self.correlation = self.correlation.wrapping_add(1);
                sent.push(self.correlation);
                let bytes = request.encode(self.correlation);
                let sent_at = Instant::now();
                if let Err(e) = send_datagram(&socket, &bytes).await {
                    return Err(self.udp_send_error(&e, fresh_socket));
                }
                fresh_socket = false;
                // The first datagram on a new socket may wait for the driver: time the
                // per-device interval from when the datagram actually left.
                self.last_send = Some(Instant::now());
                sent_at
            };
            let until = sent_at + shared.limits.read_timeout;
            buf.resize(max_len + 1, 0);
            loop {
                let received = tokio::select! {
                    r = tokio::time::timeout_at(until, socket.recv(&mut buf)) => r,
                    _ = shared.stop.cancel.cancelled() => return Err(ExchangeError::Stopped),
                };
                let n = match received {
                    Err(_) => break, // this try timed out
                    Ok(Err(e)) => return Err(udp_error(&e)),
                    Ok(Ok(n)) => n,
                };
                if n > max_len {
                    return Err(ExchangeError::Oversized(max_len));
                }
                let datagram = &buf[..n];
                if sent.iter().any(|&c| matches(datagram, c)) {
                    let rtt = sent_at.elapsed();
                    let bytes = datagram.to_vec();
                    self.keep_received(&bytes, rtt);
                    return Ok(Reply {
                        bytes,
                        rtt,
                        timed_out: false,
                    });
                }
            }
        }
        Err(ExchangeError::Timeout)
    }

    /// A UDP socket from `local_port` (0: an ephemeral one) connected to the device's
    /// `port`. Everything up to the first datagram is decided by the host alone.
    async fn open_udp(&mut self, local_port: u16, port: u16) -> Result<UdpSocket, ExchangeError> {
        let local: SocketAddr = match self.ip {
            IpAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, local_port).into(),
            IpAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, local_port).into(),
        };
        let socket = match bind_udp(local) {
            Ok(socket) => socket,
            Err(e) => {
                let action = if local_port == 0 {
                    "cannot open a UDP socket".to_owned()
                } else {
                    format!("cannot bind UDP source port {local_port}")
                };
                return Err(self.local_or(&action, &e));
            }
        };
        if let Err(e) = socket.connect(SocketAddr::new(self.ip, port)).await {
            return Err(self.local_or("cannot connect a UDP socket", &e));
        }
        if local_port != 0 {
            drop_queued(&socket);
        }
        Ok(socket)
    }

    /// The error of a failed datagram send, counted by [`pace`](Self::pace). The first
    /// datagram of a new socket cannot carry an ICMP error of an earlier one: what fails
    /// it is the host. Later sends may report a device's ICMP error; only a lost route or
    /// buffers are the host's there.
    fn udp_send_error(&mut self, e: &std::io::Error, fresh_socket: bool) -> ExchangeError {
        let local = LocalFailure::from_io("cannot send a UDP datagram", e)
            .filter(|f| fresh_socket || f.kind != LocalFailureKind::HostUnreachable);
        match local {
            Some(failure) => self.failed_locally(failure),
            None => udp_error(e),
        }
    }

    /// A local failure when `error` is one (the caller knows the host raised it
    /// synchronously, before anything reached the wire), else a network error.
    /// Used before the pacing count, so nothing is taken off it.
    fn local_or(&mut self, action: &str, error: &std::io::Error) -> ExchangeError {
        match LocalFailure::from_io(action, error) {
            Some(failure) => {
                self.local = Some(failure.clone());
                ExchangeError::Local(failure)
            }
            None => ExchangeError::Io(error.to_string()),
        }
    }

    /// Closes the device's TCP connection unless no request has gone through it yet
    /// (one the liveness phase established): a probe that starts a step on a fresh
    /// connection gets one either way, without a second handshake.
    pub(crate) async fn close_unless_fresh(&mut self) {
        if self.conn.as_ref().is_some_and(|c| c.used) {
            self.close().await;
        }
    }

    /// Closes the device's TCP connection, if any, with a FIN.
    pub(crate) async fn close(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_millis(500), conn.stream.shutdown()).await;
        }
    }
}

/// Longest wait for the answer to a liveness SYN: just under Linux's initial
/// retransmission timeout (1 s, `TCP_TIMEOUT_INIT`), so the kernel never sends the SYN
/// a second time before the attempt is dropped. Any live TCP stack answers a SYN
/// (SYN-ACK or RST) far sooner.
pub const LIVENESS_SYN_WAIT: Duration = Duration::from_millis(900);

/// A probe's first packet, as the liveness phase sends it (see
/// [`DeviceSession::liveness`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FirstPacket {
    /// A TCP connection attempt (one SYN) to `port`.
    Tcp {
        /// The probe's (first) TCP port.
        port: u16,
    },
    /// The probe's first datagram: `request` to `port` from `local_port` (0: an
    /// ephemeral port), exactly as its first UDP exchange would send it.
    Udp {
        /// The probe's (first) UDP port.
        port: u16,
        /// The local port the probe sends from.
        local_port: u16,
        /// The probe's first request.
        request: ReadOnlyRequest,
    },
}

impl FirstPacket {
    /// The transport the packet goes over.
    pub(crate) fn transport(&self) -> Transport {
        match self {
            FirstPacket::Tcp { .. } => Transport::Tcp,
            FirstPacket::Udp { .. } => Transport::Udp,
        }
    }

    /// The port the packet goes to.
    pub(crate) fn port(&self) -> u16 {
        match self {
            FirstPacket::Tcp { port } | FirstPacket::Udp { port, .. } => *port,
        }
    }
}

/// What the liveness phase concluded about the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Something answered (or the phase could not prove silence): the probes run in
    /// full, as without the phase.
    Alive,
    /// Nothing answered any first packet within its timeout.
    Silent,
    /// The scan's stop or a local failure cut the phase short.
    Cut,
}

/// The liveness phase's verdict and which first packets went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Liveness {
    /// What the phase concluded.
    pub verdict: Verdict,
    /// For each first packet given, whether it was put on the wire.
    pub sent: Vec<bool>,
}

/// An answer (or a datagram on its way) the liveness phase leaves for the probes.
enum Primed {
    /// The connection attempt to `port` was answered with `error` (RST, ICMP).
    TcpAnswered { port: u16, error: ExchangeError },
    /// A datagram the phase sent: its probe's first try of `request`.
    Udp(PrimedUdp),
}

struct PrimedUdp {
    port: u16,
    local_port: u16,
    request: ReadOnlyRequest,
    correlation: u32,
    sent_at: Instant,
    socket: Arc<UdpSocket>,
    /// Port unreachable came back.
    refused: bool,
}

/// What came back to one first packet in the liveness phase.
enum Signal {
    /// The TCP handshake completed.
    Connected(TcpStream),
    /// The TCP attempt was answered with an error (RST, ICMP unreachable).
    TcpAnswered(ExchangeError),
    /// The host failed the attempt itself.
    Local(LocalFailure),
    /// A datagram came back.
    Datagram,
    /// Port unreachable came back.
    UdpRefused,
    /// Another socket error came back.
    UdpError,
    /// Nothing within the packet's timeout.
    Nothing,
}

type Pending = futures::stream::FuturesUnordered<
    std::pin::Pin<Box<dyn std::future::Future<Output = (usize, Signal)> + Send>>,
>;

impl DeviceSession {
    /// The liveness phase: sends each of `firsts` (every configured probe's first
    /// packet, in the order given: the engine gives the longest wait first) one per
    /// per-device interval through the usual pacing,
    /// until the first sign of life: a SYN-ACK, a RST, an ICMP error, any datagram.
    ///
    /// Then the phase stops at once: connection attempts still pending are dropped (the
    /// kernel answers a late SYN-ACK with a RST, so no second connection is established
    /// through them), the first completed connection becomes the session's connection,
    /// refusals (those already in when the phase ends included) and datagrams already
    /// sent are left for the probes to take over (so the probe that owns a first
    /// packet does not send it again), and the verdict
    /// is [`Verdict::Alive`]. When no first packet is answered within its timeout (a
    /// TCP attempt [`LIVENESS_SYN_WAIT`] or the connect timeout, whichever is shorter,
    /// a datagram the read timeout), the verdict is [`Verdict::Silent`]: the address
    /// cost one packet per first packet and about one timeout.
    ///
    /// Connection attempts overlap only for a device that takes longer than the
    /// per-device interval to answer a SYN; a live device answers the first SYN before
    /// the second is due, so the phase ends before a second attempt is made.
    pub(crate) async fn liveness(&mut self, firsts: &[FirstPacket]) -> Liveness {
        let shared = Arc::clone(&self.shared);
        let mut sent = vec![false; firsts.len()];
        let mut pending = Pending::new();
        let mut udp: Vec<Option<PrimedUdp>> = firsts.iter().map(|_| None).collect();
        let mut answer = None;
        for (i, first) in firsts.iter().enumerate() {
            // The per-device interval, then the global slot, watching for answers.
            if let Some(last) = self.last_send {
                let earliest = last + shared.limits.per_device_interval;
                if let Ok(Some(a)) =
                    tokio::time::timeout_at(earliest, next_life(&mut pending)).await
                {
                    answer = Some(a);
                    break;
                }
            }
            let paced = tokio::select! {
                Some(a) = next_life(&mut pending), if !pending.is_empty() => Err(a),
                r = self.pace() => Ok(r),
            };
            match paced {
                Err(a) => {
                    answer = Some(a);
                    break;
                }
                Ok(Err(ExchangeError::Budget(_))) => {
                    // Silence cannot be proven within the budget: the probes decide.
                    return Liveness {
                        verdict: Verdict::Alive,
                        sent,
                    };
                }
                Ok(Err(_)) => {
                    return Liveness {
                        verdict: Verdict::Cut,
                        sent,
                    }
                }
                Ok(Ok(())) => {}
            }
            match first {
                FirstPacket::Tcp { port } => {
                    match start_connect(SocketAddr::new(self.ip, *port)) {
                        Ok(stream) => {
                            // Timed from the SYN, not from the future's first poll: a busy
                            // runtime must not let the kernel's retransmission out.
                            let until = Instant::now()
                                + shared.limits.connect_timeout.min(LIVENESS_SYN_WAIT);
                            pending.push(Box::pin(async move {
                                let signal =
                                    match tokio::time::timeout_at(until, finish_connect(stream))
                                        .await
                                    {
                                        Err(_) => Signal::Nothing,
                                        Ok(Ok(stream)) => Signal::Connected(stream),
                                        Ok(Err(Connect::Device(e))) => Signal::TcpAnswered(e),
                                        Ok(Err(Connect::Local(f))) => Signal::Local(f),
                                    };
                                (i, signal)
                            }));
                        }
                        Err(Connect::Local(failure)) => {
                            self.failed_locally(failure);
                            return Liveness {
                                verdict: Verdict::Cut,
                                sent,
                            };
                        }
                        Err(Connect::Device(e)) => {
                            sent[i] = true;
                            answer = Some((i, Signal::TcpAnswered(e)));
                            break;
                        }
                    }
                }
                FirstPacket::Udp {
                    port,
                    local_port,
                    request,
                } => {
                    // The pacing count is the datagram's: opening the socket sends nothing.
                    self.requests = self.requests.saturating_sub(1);
                    let socket = match self.open_udp(*local_port, *port).await {
                        Ok(socket) => Arc::new(socket),
                        Err(_) => {
                            return Liveness {
                                verdict: if self.local.is_some() {
                                    Verdict::Cut
                                } else {
                                    Verdict::Alive
                                },
                                sent,
                            }
                        }
                    };
                    self.requests += 1;
                    self.correlation = self.correlation.wrapping_add(1);
                    let correlation = self.correlation;
                    let sent_at = Instant::now();
                    if let Err(e) = send_datagram(&socket, &request.encode(correlation)).await {
                        let error = self.udp_send_error(&e, true);
                        if self.local.is_some() {
                            return Liveness {
                                verdict: Verdict::Cut,
                                sent,
                            };
                        }
                        sent[i] = true;
                        answer = Some((
                            i,
                            if error == ExchangeError::Refused {
                                Signal::UdpRefused
                            } else {
                                Signal::UdpError
                            },
                        ));
                        break;
                    }
                    self.last_send = Some(Instant::now());
                    let watched = Arc::clone(&socket);
                    let wait = shared.limits.read_timeout;
                    pending.push(Box::pin(async move {
                        let mut byte = [0u8; 1];
                        // Peek: the datagram stays for the probe's own exchange to read.
                        let signal =
                            match tokio::time::timeout_at(sent_at + wait, watched.peek(&mut byte))
                                .await
                            {
                                Err(_) => Signal::Nothing,
                                Ok(Ok(_)) => Signal::Datagram,
                                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                                    Signal::UdpRefused
                                }
                                Ok(Err(_)) => Signal::UdpError,
                            };
                        (i, signal)
                    }));
                    udp[i] = Some(PrimedUdp {
                        port: *port,
                        local_port: *local_port,
                        request: request.clone(),
                        correlation,
                        sent_at,
                        socket,
                        refused: false,
                    });
                }
            }
            sent[i] = true;
        }
        if answer.is_none() {
            // Every first packet is out: one timeout for an answer.
            let next = tokio::select! {
                a = next_life(&mut pending) => a,
                _ = shared.stop.stopped() => {
                    return Liveness { verdict: Verdict::Cut, sent };
                }
            };
            match next {
                Some(a) => answer = Some(a),
                None => {
                    return Liveness {
                        verdict: Verdict::Silent,
                        sent,
                    }
                }
            }
        }
        // A sign of life: drop the attempts still pending, keep what came back, also
        // the answers already in beside the one that ended the phase (a refusal that
        // came back with it would otherwise be dropped unseen, and its probe would send
        // its SYN again).
        let mut late = Vec::new();
        while let Some(Some(done)) = futures::FutureExt::now_or_never(pending.next()) {
            late.push(done);
        }
        drop(pending);
        if let Some((i, signal)) = answer {
            match signal {
                Signal::Connected(stream) => {
                    let _ = stream.set_nodelay(true);
                    self.conn = Some(Connection {
                        port: firsts[i].port(),
                        stream,
                        pending: Vec::new(),
                        used: false,
                    });
                }
                Signal::TcpAnswered(error) => self.primed.push(Primed::TcpAnswered {
                    port: firsts[i].port(),
                    error,
                }),
                Signal::Local(failure) => {
                    // Counted by pace, never on the wire.
                    self.failed_locally(failure);
                    sent[i] = false;
                    return Liveness {
                        verdict: Verdict::Cut,
                        sent,
                    };
                }
                Signal::UdpRefused => {
                    if let Some(p) = udp[i].as_mut() {
                        p.refused = true;
                    }
                }
                // The socket's error is gone with the read: the probe starts afresh.
                Signal::UdpError => udp[i] = None,
                Signal::Datagram | Signal::Nothing => {}
            }
        }
        for (i, signal) in late {
            match signal {
                Signal::TcpAnswered(error) => self.primed.push(Primed::TcpAnswered {
                    port: firsts[i].port(),
                    error,
                }),
                // The peek took the socket's error: keep it for the probe.
                Signal::UdpRefused => {
                    if let Some(p) = udp[i].as_mut() {
                        p.refused = true;
                    }
                }
                Signal::UdpError => udp[i] = None,
                // A second connection is closed as a pending attempt always was; a
                // host failure of an attempt no longer needed is not the scan's.
                Signal::Connected(_) | Signal::Local(_) | Signal::Datagram | Signal::Nothing => {}
            }
        }
        self.primed
            .extend(udp.into_iter().flatten().map(Primed::Udp));
        Liveness {
            verdict: Verdict::Alive,
            sent,
        }
    }

    /// The datagram the liveness phase sent to `port` from `local_port`, if any.
    fn take_primed_udp(&mut self, port: u16, local_port: u16) -> Option<PrimedUdp> {
        let i = self.primed.iter().position(
            |p| matches!(p, Primed::Udp(u) if u.port == port && u.local_port == local_port),
        )?;
        match self.primed.swap_remove(i) {
            Primed::Udp(u) => Some(u),
            Primed::TcpAnswered { .. } => None,
        }
    }
}

/// True when `signal` shows the device is there.
fn is_life(signal: &Signal) -> bool {
    !matches!(signal, Signal::Nothing)
}

/// The next first packet answered, skipping those that timed out; `None` once none is
/// pending.
async fn next_life(pending: &mut Pending) -> Option<(usize, Signal)> {
    while let Some(a) = pending.next().await {
        if is_life(&a.1) {
            return Some(a);
        }
    }
    None
}

/// Why a TCP connection attempt failed: the host could not make it, or the attempt
/// went out and the device or the network answered (or not).
enum Connect {
    Local(LocalFailure),
    Device(ExchangeError),
}

/// Opens a TCP connection to `addr` in two steps, so that an error the host raises
/// itself (no socket, no route, no such address family: returned by `socket` or
/// at once by the non-blocking `connect`) is told apart from what comes back from
/// the network after the SYN left (a reset is `Refused`; an ICMP error or a
/// failed neighbour lookup stays a network error of the device, as before).
async fn connect_tcp(addr: SocketAddr) -> Result<TcpStream, Connect> {
    finish_connect(start_connect(addr)?).await
}

/// The synchronous half of [`connect_tcp`]: the socket and its non-blocking `connect`
/// (the SYN is on its way when this returns `Ok`).
fn start_connect(addr: SocketAddr) -> Result<TcpStream, Connect> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        nonblocking(socket2::Type::STREAM),
        Some(socket2::Protocol::TCP),
    )
    .and_then(set_nonblocking)
    .map_err(|e| local_or_io("cannot open a TCP socket", &e))?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(Connect::Device(ExchangeError::Refused))
        }
        Err(e) => return Err(local_or_io("cannot connect", &e)),
    }
    TcpStream::from_std(std::net::TcpStream::from(socket))
        .map_err(|e| local_or_io("cannot register a TCP socket", &e))
}

/// The asynchronous half of [`connect_tcp`]: waits for the handshake's end.
async fn finish_connect(stream: TcpStream) -> Result<TcpStream, Connect> {
    // Writable once the handshake completed or failed (as tokio's own connect waits).
    stream
        .writable()
        .await
        .map_err(|e| Connect::Device(io_error(&e)))?;
    match stream.take_error() {
        Ok(None) => Ok(stream),
        Ok(Some(e)) | Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err(Connect::Device(ExchangeError::Refused))
        }
        // A reset that lands before connect returns is a closed connection.
        Ok(Some(e)) | Err(e) => Err(Connect::Device(io_error(&e))),
    }
}

/// `ty` created non-blocking where the platform can (Linux: `SOCK_NONBLOCK`), which saves
/// the two `fcntl` calls of `set_nonblocking` on every socket (two per address and
/// transport on a large scan; issue 16).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn nonblocking(ty: socket2::Type) -> socket2::Type {
    ty.nonblocking()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn nonblocking(ty: socket2::Type) -> socket2::Type {
    ty
}

/// `socket`, non-blocking: [`nonblocking`] made it so at creation, or `fcntl` does now.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[allow(clippy::unnecessary_wraps)]
fn set_nonblocking(socket: socket2::Socket) -> std::io::Result<socket2::Socket> {
    Ok(socket)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set_nonblocking(socket: socket2::Socket) -> std::io::Result<socket2::Socket> {
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// A synchronous error of the host's own: local when its errno says so.
fn local_or_io(action: &str, error: &std::io::Error) -> Connect {
    match LocalFailure::from_io(action, error) {
        Some(failure) => Connect::Local(failure),
        None => Connect::Device(io_error(error)),
    }
}

/// A UDP socket bound to `local`: an ephemeral port as usual, or a fixed port shared
/// with the scan's other sockets (SO_REUSEADDR and SO_REUSEPORT). A port held by another
/// program without SO_REUSEPORT fails to bind.
fn bind_udp(local: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = set_nonblocking(socket2::Socket::new(
        socket2::Domain::for_address(local),
        nonblocking(socket2::Type::DGRAM),
        Some(socket2::Protocol::UDP),
    )?)?;
    if local.port() != 0 {
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
    }
    socket.bind(&local.into())?;
    UdpSocket::from_std(socket.into())
}

/// Sends `datagram` on the connected `socket` at once, without first waiting for the
/// runtime to report the socket writable: a new socket's first readiness comes only
/// with the driver's next turn, which cost every first datagram a trip through the
/// scheduler. When the kernel has no room for it (`WouldBlock`), waits for room through
/// the runtime as usual. Errors are the send's own.
async fn send_datagram(socket: &UdpSocket, datagram: &[u8]) -> std::io::Result<usize> {
    match socket2::SockRef::from(socket).send(datagram) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => socket.send(datagram).await,
        sent => sent,
    }
}

/// Drops the datagrams already queued on a just-connected socket. A socket bound to a
/// fixed source port shared with other sessions (SO_REUSEPORT) is unconnected until its
/// `connect`, and the kernel may hand it any host's datagram to that port meanwhile
/// (another device's late reply to the CODESYS reply port, with the same request id);
/// connecting does not drop what is already queued, so it is dropped here.
fn drop_queued(socket: &UdpSocket) {
    let socket = socket2::SockRef::from(socket);
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 64];
    // Non-blocking: ends at WouldBlock once the queue is empty. The receive buffer
    // holds a few hundred datagrams at most; the cap bounds a device that floods.
    for _ in 0..1024 {
        if socket.recv(&mut buf).is_err() {
            break;
        }
    }
}

/// A cipher suite's IANA name from rustls's (`TLS13_AES_128_GCM_SHA256` is IANA's
/// `TLS_AES_128_GCM_SHA256`; the TLS 1.2 names are IANA's already).
fn iana_suite_name(name: &str) -> String {
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name.to_owned(),
    }
}

/// A failed handshake: rustls's error (an alert the device sent, no shared version or
/// suite, bytes that are not TLS), or the socket's.
fn tls_error(e: &std::io::Error) -> ExchangeError {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => ExchangeError::Tls(tls.to_string()),
        None => match io_error(e) {
            ExchangeError::Io(text) => ExchangeError::Tls(text),
            other => other,
        },
    }
}

async fn write_and_read<E, S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    request: &[u8],
    correlation: u32,
    max_len: usize,
    framing: &(dyn Fn(&[u8], u32) -> FrameCheck<E> + Sync),
    close_ends: bool,
) -> Result<Vec<u8>, Failure<E>> {
    // Late replies the device may still send; more than this and it is not answering us.
    const MAX_STALE_FRAMES: usize = 4;
    stream.write_all(request).await.map_err(|e| io_error(&e))?;
    // On the heap: an array here would sit inline in every exchange's future (2 KiB more
    // to copy for each probe a device starts, whether it connects or not).
    let mut chunk = vec![0u8; 2048];
    let mut stale = 0;
    loop {
        match framing(buf, correlation) {
            FrameCheck::Complete { len, matches: true } => {
                let len = len.min(buf.len());
                let reply = buf[..len].to_vec();
                buf.drain(..len);
                return Ok(reply);
            }
            FrameCheck::Complete {
                len,
                matches: false,
            } => {
                stale += 1;
                if stale > MAX_STALE_FRAMES {
                    return Err(ExchangeError::Unanswered.into());
                }
                buf.drain(..len.min(buf.len()));
                continue;
            }
            FrameCheck::Invalid(reason) => return Err(Failure::Malformed(reason)),
            FrameCheck::NeedMore => {}
        }
        if buf.len() >= max_len {
            return Err(ExchangeError::Oversized(max_len).into());
        }
        let room = (max_len - buf.len()).min(chunk.len());
        let n = stream
            .read(&mut chunk[..room])
            .await
            .map_err(|e| io_error(&e))?;
        if n == 0 {
            if close_ends && !buf.is_empty() {
                return Ok(std::mem::take(buf));
            }
            return Err(ExchangeError::Closed.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn udp_error(e: &std::io::Error) -> ExchangeError {
    // ICMP port unreachable surfaces as ECONNREFUSED on a connected UDP socket.
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        ExchangeError::Refused
    } else {
        ExchangeError::Io(e.to_string())
    }
}

fn io_error(e: &std::io::Error) -> ExchangeError {
    match e.kind() {
        std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::BrokenPipe
        | std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionAborted => ExchangeError::Closed,
        _ => ExchangeError::Io(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::melsec::codec::Request as MelsecRequest;

    fn session(ip: IpAddr, interval_ms: u64, timeout_ms: u64) -> DeviceSession {
        let shared = Shared {
            limits: Limits {
                per_device_interval: Duration::from_millis(interval_ms),
                connect_timeout: Duration::from_millis(timeout_ms),
                read_timeout: Duration::from_millis(timeout_ms),
                udp_retries: 1,
                max_requests_per_device: 64,
            },
            pacer: None,
            stop: Stop {
                cancel: CancellationToken::new(),
                deadline: None,
                local_failure: std::sync::OnceLock::new(),
            },
            min_gap_us: AtomicU64::new(u64::MAX),
        };
        DeviceSession::new(ip, Arc::new(shared))
    }

    const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn udp_first(port: u16) -> FirstPacket {
        FirstPacket::Udp {
            port,
            local_port: 0,
            request: ReadOnlyRequest::Melsec(MelsecRequest::ReadCpuModelName),
        }
    }

    /// A bound UDP socket that never answers (so the kernel sends no port unreachable).
    async fn silent_udp() -> (UdpSocket, u16) {
        let socket = UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        (socket, port)
    }

    /// Datagrams waiting on `socket`, without blocking.
    fn waiting(socket: &UdpSocket) -> usize {
        let mut buf = [0u8; 2048];
        let mut n = 0;
        while socket.try_recv(&mut buf).is_ok() {
            n += 1;
        }
        n
    }

    #[tokio::test]
    async fn a_shared_source_port_socket_keeps_only_its_device_s_datagrams() {
        let device = UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let other = UdpSocket::bind((std::net::Ipv4Addr::new(127, 0, 0, 2), 0))
            .await
            .unwrap();
        let local = bind_udp((std::net::Ipv4Addr::UNSPECIFIED, 0).into()).unwrap();
        let port = local.local_addr().unwrap().port();
        drop(local);
        // The session's socket on the shared port, before its connect: another host's
        // reply (another device on the subnet) reaches it.
        let socket = bind_udp((std::net::Ipv4Addr::UNSPECIFIED, port).into()).unwrap();
        other
            .send_to(b"other device", (std::net::Ipv4Addr::LOCALHOST, port))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        socket.connect(device.local_addr().unwrap()).await.unwrap();
        drop_queued(&socket);
        device
            .send_to(b"its device", (std::net::Ipv4Addr::LOCALHOST, port))
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_millis(500), socket.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"its device");
    }

    #[tokio::test]
    async fn a_silent_address_costs_one_packet_per_first_packet_and_one_timeout() {
        let (a, port_a) = silent_udp().await;
        let (b, port_b) = silent_udp().await;
        let mut session = session(LOOPBACK, 20, 200);
        let started = Instant::now();
        let liveness = session
            .liveness(&[udp_first(port_a), udp_first(port_b)])
            .await;
        let took = started.elapsed();
        assert_eq!(liveness.verdict, Verdict::Silent);
        assert_eq!(liveness.sent, vec![true, true]);
        assert_eq!(session.sent(), 2);
        assert_eq!((waiting(&a), waiting(&b)), (1, 1));
        // The second datagram one interval after the first, then one timeout.
        assert!(took >= Duration::from_millis(215), "{took:?}");
        assert!(took < Duration::from_millis(600), "{took:?}");
    }

    #[tokio::test]
    async fn a_refusal_is_a_sign_of_life_and_the_probe_takes_it_over() {
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let (silent, port) = silent_udp().await;
        let mut session = session(LOOPBACK, 100, 500);
        let liveness = session
            .liveness(&[FirstPacket::Tcp { port: closed }, udp_first(port)])
            .await;
        assert_eq!(liveness.verdict, Verdict::Alive);
        // The RST came within the interval: the datagram never went.
        assert_eq!(liveness.sent, vec![true, false]);
        assert_eq!(waiting(&silent), 0);
        // The probe's own attempt gets the refusal without a second SYN ...
        assert_eq!(session.connect(closed).await, Err(ExchangeError::Refused));
        assert_eq!(session.sent(), 1);
        // ... once: a later attempt is sent as usual.
        assert_eq!(session.connect(closed).await, Err(ExchangeError::Refused));
        assert_eq!(session.sent(), 2);
    }

    #[tokio::test]
    async fn port_unreachable_is_a_sign_of_life_and_ends_the_probe_s_exchange() {
        let closed = {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.local_addr().unwrap().port()
        };
        let mut session = session(LOOPBACK, 50, 500);
        let first = udp_first(closed);
        let liveness = session.liveness(std::slice::from_ref(&first)).await;
        assert_eq!(liveness.verdict, Verdict::Alive);
        let FirstPacket::Udp { request, .. } = first else {
            unreachable!()
        };
        let started = Instant::now();
        let result = session
            .udp_exchange(closed, &request, 64, &|_, _| true)
            .await;
        assert_eq!(result.unwrap_err(), ExchangeError::Refused);
        assert!(started.elapsed() < Duration::from_millis(100));
        assert_eq!(session.sent(), 1);
    }

    #[tokio::test]
    async fn an_answered_datagram_is_the_probe_s_first_try() {
        let echo = UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let port = echo.local_addr().unwrap().port();
        let echoed = tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let mut n = 0;
            while let Ok(Ok((len, from))) =
                tokio::time::timeout(Duration::from_millis(700), echo.recv_from(&mut buf)).await
            {
                n += 1;
                echo.send_to(&buf[..len], from).await.unwrap();
            }
            n
        });
        let (silent, silent_port) = silent_udp().await;
        let mut session = session(LOOPBACK, 100, 500);
        let first = udp_first(port);
        let liveness = session
            .liveness(&[first.clone(), udp_first(silent_port)])
            .await;
        assert_eq!(liveness.verdict, Verdict::Alive);
        assert_eq!(liveness.sent, vec![true, false]);
        let FirstPacket::Udp { request, .. } = first else {
            unreachable!()
        };
        let reply = session
            .udp_exchange(port, &request, 2048, &|d, c| d == request.encode(c))
            .await
            .unwrap();
        assert_eq!(reply.bytes.len(), request.encode(0).len());
        assert_eq!(session.sent(), 1);
        assert_eq!(echoed.await.unwrap(), 1, "the request went out once");
        assert_eq!(waiting(&silent), 0);
    }

    #[tokio::test]
    async fn a_syn_ack_becomes_the_session_s_one_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = tokio::spawn(async move {
            let mut n = 0;
            let mut held = Vec::new();
            while let Ok(Ok((stream, _))) =
                tokio::time::timeout(Duration::from_millis(400), listener.accept()).await
            {
                n += 1;
                held.push(stream);
            }
            n
        });
        let other = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut session = session(LOOPBACK, 100, 500);
        let liveness = session
            .liveness(&[FirstPacket::Tcp { port }, FirstPacket::Tcp { port: other }])
            .await;
        assert_eq!(liveness.verdict, Verdict::Alive);
        assert_eq!(liveness.sent, vec![true, false]);
        assert_eq!(session.conn.as_ref().map(|c| c.port), Some(port));
        // A probe that wants a fresh connection keeps it (no request went through it),
        // and its connect reuses it: no second attempt.
        session.close_unless_fresh().await;
        session.connect(port).await.unwrap();
        assert_eq!(session.sent(), 1);
        session.close().await;
        assert_eq!(accepted.await.unwrap(), 1);
    }
}
