//! The paced, bounded device session: a probe's only way to reach the network.
//!
//! Each device task of a scan owns one [`DeviceSession`]. It holds at most one TCP
//! connection to the device (reused for all its requests, closed with a FIN) and one
//! UDP socket connected to it, paces every packet-initiating action (a connection
//! attempt, a request, a UDP retry) against the global send-slot grid
//! (`crate::pacing`) and the per-device interval, caps the requests
//! one device can receive, bounds every read in size and time, and refuses to send
//! once the scan is cancelled or past its deadline. Probes never pace themselves.
//!
//! Every byte sent is encoded from a [`ReadOnlyRequest`]: there is no other way in.

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
use crate::record::fields::Status;
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
            ExchangeError::Unanswered | ExchangeError::Oversized(_) => Status::ProtocolError,
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

/// A whole reply frame and how long it took to arrive.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub bytes: Vec<u8>,
    pub rtt: Duration,
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
}

/// A probe's only way to reach a device: paced, bounded, one connection at a time.
pub struct DeviceSession {
    ip: IpAddr,
    shared: Arc<Shared>,
    conn: Option<Connection>,
    /// The device's UDP socket: (remote port, local port asked for, socket).
    udp: Option<(u16, u16, UdpSocket)>,
    last_send: Option<Instant>,
    correlation: u32,
    requests: u32,
    received: Option<Received>,
    /// Set at the first local failure: nothing more is sent to this device.
    local: Option<LocalFailure>,
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
        self.connect(port).await?;
        self.pace().await?;
        self.correlation = self.correlation.wrapping_add(1);
        let correlation = self.correlation;
        let bytes = request.encode(correlation);
        let shared = Arc::clone(&self.shared);
        let Some(conn) = self.conn.as_mut() else {
            return Err(ExchangeError::Closed.into());
        };
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
                ),
            ) => r.unwrap_or(Err(ExchangeError::Timeout.into())),
            _ = shared.stop.cancel.cancelled() => Err(ExchangeError::Stopped.into()),
        };
        // Time the per-device interval from the end of the exchange: a write that had to
        // wait can never bring the next request closer than the interval.
        self.last_send = Some(Instant::now());
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
        if self
            .udp
            .as_ref()
            .is_none_or(|(p, l, _)| *p != port || *l != local_port)
        {
            self.udp = None;
            let local: SocketAddr = match self.ip {
                IpAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, local_port).into(),
                IpAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, local_port).into(),
            };
            // Everything up to the first datagram is decided by the host alone.
            let action = if local_port == 0 {
                "cannot open a UDP socket".to_owned()
            } else {
                format!("cannot bind UDP source port {local_port}")
            };
            let socket = match bind_udp(local) {
                Ok(socket) => socket,
                Err(e) => return Err(self.local_or(&action, &e)),
            };
            if let Err(e) = socket.connect(SocketAddr::new(self.ip, port)).await {
                return Err(self.local_or("cannot connect a UDP socket", &e));
            }
            self.udp = Some((port, local_port, socket));
            fresh_socket = true;
        }
        let mut sent = Vec::new();
        let mut buf = vec![0u8; max_len + 1];
        for _ in 0..=shared.limits.udp_retries {
            self.pace().await?;
            self.correlation = self.correlation.wrapping_add(1);
            sent.push(self.correlation);
            let bytes = request.encode(self.correlation);
            let Some((_, _, socket)) = self.udp.as_ref() else {
                return Err(ExchangeError::Closed);
            };
            let sent_at = Instant::now();
            if let Err(e) = socket.send(&bytes).await {
                // The first datagram of a new socket cannot carry an ICMP error of an
                // earlier one: what fails it is the host. Later sends may report a
                // device's ICMP error; only a lost route or buffers are the host's there.
                let local = LocalFailure::from_io("cannot send a UDP datagram", &e)
                    .filter(|f| fresh_socket || f.kind != LocalFailureKind::HostUnreachable);
                return Err(match local {
                    Some(failure) => self.failed_locally(failure),
                    None => udp_error(&e),
                });
            }
            fresh_socket = false;
            // The first datagram on a new socket may wait for the driver: time the
            // per-device interval from when the datagram actually left.
            self.last_send = Some(Instant::now());
            let until = sent_at + shared.limits.read_timeout;
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
                    return Ok(Reply { bytes, rtt });
                }
            }
        }
        Err(ExchangeError::Timeout)
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

    /// Closes the device's TCP connection, if any, with a FIN.
    pub(crate) async fn close(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_millis(500), conn.stream.shutdown()).await;
        }
    }
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
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .and_then(|s| s.set_nonblocking(true).map(|()| s))
    .map_err(|e| local_or_io("cannot open a TCP socket", &e))?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(Connect::Device(ExchangeError::Refused))
        }
        Err(e) => return Err(local_or_io("cannot connect", &e)),
    }
    let stream = TcpStream::from_std(std::net::TcpStream::from(socket))
        .map_err(|e| local_or_io("cannot register a TCP socket", &e))?;
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
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(local),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if local.port() != 0 {
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&local.into())?;
    UdpSocket::from_std(socket.into())
}

async fn write_and_read<E>(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    request: &[u8],
    correlation: u32,
    max_len: usize,
    framing: &(dyn Fn(&[u8], u32) -> FrameCheck<E> + Sync),
) -> Result<Vec<u8>, Failure<E>> {
    // Late replies the device may still send; more than this and it is not answering us.
    const MAX_STALE_FRAMES: usize = 4;
    stream.write_all(request).await.map_err(|e| io_error(&e))?;
    let mut chunk = [0u8; 2048];
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
