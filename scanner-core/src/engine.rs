//! The scan engine: one async scheduler for every probe.
//!
//! Targets are pulled lazily from [`Targets`](crate::targets::Targets) and scanned
//! by at most `concurrency` device tasks at once. Each device task owns a
//! `DeviceSession`, the only way a probe can reach the network: it holds at most
//! one TCP connection to the device (reused for all its requests, closed with a
//! FIN), paces every send against the global send-slot grid and the per-device
//! interval, bounds every read in size and time, and refuses to send once the
//! scan is cancelled or past its deadline. Probes never pace themselves.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{Rate, ScanConfig};
use crate::record::{AssetRecord, Identity, Protocol, ServiceObservation, Status, Transport};
use crate::request::ReadOnlyRequest;
use crate::targets::Target;

/// How a receive buffer relates to the reply being waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameCheck {
    /// Not a whole frame yet.
    NeedMore,
    /// A whole frame of `len` bytes is at the front; `matches` says whether it
    /// answers the request (a late reply to an earlier request does not).
    Complete {
        /// Frame length in bytes.
        len: usize,
        /// The frame answers the request just sent.
        matches: bool,
    },
    /// The bytes cannot be this protocol's frame.
    Invalid(String),
}

/// Why an exchange with a device produced no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// The device refused the TCP connection.
    #[error("connection refused")]
    Refused,
    /// The TCP connection attempt timed out.
    #[error("connection attempt timed out")]
    ConnectTimeout,
    /// The device closed the connection before a whole reply.
    #[error("connection closed by the device before a full reply")]
    Closed,
    /// No whole reply within the read timeout.
    #[error("no reply within the read timeout")]
    Timeout,
    /// The reply is not a valid frame of the protocol.
    #[error("invalid reply: {0}")]
    Protocol(String),
    /// The reply grew past the size cap.
    #[error("reply larger than the {0}-byte cap")]
    Oversized(usize),
    /// The per-device request budget is used up.
    #[error("per-device request budget of {0} used up")]
    Budget(u32),
    /// The scan was cancelled or reached its deadline: nothing more is sent.
    #[error("scan stopped (deadline or cancel)")]
    Stopped,
    /// Any other socket error.
    #[error("network error: {0}")]
    Io(String),
}

impl ExchangeError {
    /// The record status for this error.
    pub fn status(&self) -> Status {
        match self {
            ExchangeError::Refused => Status::ConnectionRefused,
            ExchangeError::ConnectTimeout => Status::ConnectionTimeout,
            ExchangeError::Closed => Status::ConnectionClosed,
            ExchangeError::Timeout => Status::IoTimeout,
            ExchangeError::Protocol(_) | ExchangeError::Oversized(_) => Status::ProtocolError,
            ExchangeError::Stopped => Status::Stopped,
            ExchangeError::Budget(_) | ExchangeError::Io(_) => Status::UnknownError,
        }
    }
}

/// A whole reply frame and how long it took to arrive.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub bytes: Vec<u8>,
    pub rtt: Duration,
}

/// Why a scan stopped before visiting every target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// The deadline (or maximum duration) was reached.
    Deadline,
    /// The scan was cancelled (token, or the stream was dropped).
    Cancelled,
}

/// Progress of a running scan, published after every finished device.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Progress {
    /// Targets the scan will visit (after exclusions and sharding).
    pub planned: u128,
    /// Targets done by earlier runs of a resumed scan.
    pub done_before: u128,
    /// Targets whose probes are done in this run.
    pub finished: u64,
    /// Targets whose scan the deadline or a cancel cut short: not done, scanned again
    /// on resume, no record emitted.
    pub interrupted: u64,
    /// Devices that answered at least one probe at the protocol level.
    pub responsive: u64,
    /// Records delivered to the stream.
    pub emitted: u64,
    /// Requests (connection attempts included) sent so far.
    pub requests_sent: u64,
    /// Requests per protocol.
    pub requests_by_protocol: std::collections::BTreeMap<Protocol, u64>,
    /// Probe outcomes per status.
    pub statuses: std::collections::BTreeMap<Status, u64>,
    /// Devices that answered, per protocol.
    pub responsive_by_protocol: std::collections::BTreeMap<Protocol, u64>,
    /// Time since the scan started.
    pub elapsed: Duration,
    /// Shortest gap measured between two packets to the same device (the peak
    /// per-device rate is its inverse); never below the per-device interval.
    pub min_device_gap: Option<Duration>,
    /// Set when the scan ended early.
    pub stopped: Option<StopReason>,
    /// True once the scan has ended (all records delivered).
    pub done: bool,
}

/// Which targets of the scan order are done: every position below `next`, plus
/// `done` (positions at or past `next`, finished out of order by concurrent devices).
/// Positions index this shard's sequence of [`Targets::iter`](crate::targets::Targets::iter).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// All positions below this are done.
    #[serde(with = "u128_text")]
    pub next: u128,
    /// Done positions at or past `next`.
    #[serde(with = "u128_list")]
    pub done: std::collections::BTreeSet<u128>,
}

impl Checkpoint {
    /// Marks `position` done.
    pub fn complete(&mut self, position: u128) {
        if position >= self.next {
            self.done.insert(position);
        }
        while self.done.remove(&self.next) {
            self.next += 1;
        }
    }

    /// True when `position` is done.
    pub fn is_done(&self, position: u128) -> bool {
        position < self.next || self.done.contains(&position)
    }

    /// Number of done positions.
    pub fn count(&self) -> u128 {
        self.next + self.done.len() as u128
    }
}

// u128 positions travel as decimal strings: JSON numbers lose precision past 2^53.
mod u128_text {
    pub fn serialize<S: serde::Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

mod u128_list {
    use std::collections::BTreeSet;
    pub fn serialize<S: serde::Serializer>(v: &BTreeSet<u128>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(u128::to_string))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeSet<u128>, D::Error> {
        let texts: Vec<String> = serde::Deserialize::deserialize(d)?;
        texts
            .iter()
            .map(|t| t.parse().map_err(serde::de::Error::custom))
            .collect()
    }
}

/// Least time between two checkpoint events.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

/// What a scan delivers, in order: records, and at most every 100 ms (and once at
/// the end) the checkpoint, which never counts a target whose record is still to come.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanEvent {
    /// A device's record.
    Record(Box<AssetRecord>),
    /// Progress of the target order, for resumable scans.
    Checkpoint(Checkpoint),
}

struct Stop {
    cancel: CancellationToken,
    deadline: Option<Instant>,
}

impl Stop {
    fn reason(&self) -> Option<StopReason> {
        if self.cancel.is_cancelled() {
            Some(StopReason::Cancelled)
        } else if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Some(StopReason::Deadline)
        } else {
            None
        }
    }

    /// Resolves when the scan must stop sending.
    async fn stopped(&self) {
        match self.deadline {
            Some(d) => tokio::select! {
                _ = self.cancel.cancelled() => {}
                _ = tokio::time::sleep_until(d) => {}
            },
            None => self.cancel.cancelled().await,
        }
    }
}

const PROTOCOLS: [Protocol; 5] = [
    Protocol::Modbus,
    Protocol::Enip,
    Protocol::Snmp,
    Protocol::Bacnet,
    Protocol::S7,
];

fn protocol_index(p: Protocol) -> usize {
    match p {
        Protocol::Modbus => 0,
        Protocol::Enip => 1,
        Protocol::Snmp => 2,
        Protocol::Bacnet => 3,
        Protocol::S7 => 4,
    }
}

/// State shared by every device task of one scan.
pub(crate) struct Shared {
    pub config: Arc<ScanConfig>,
    pacer: Option<Pacer>,
    stop: Stop,
    requests: [AtomicU64; PROTOCOLS.len()],
    /// Shortest gap between two packets to one device, in microseconds (u64::MAX: none yet).
    min_gap_us: AtomicU64,
    scan_id: String,
}

impl Shared {
    fn requests_total(&self) -> u64 {
        self.requests
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .sum()
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
pub(crate) struct DeviceSession {
    ip: IpAddr,
    shared: Arc<Shared>,
    conn: Option<Connection>,
    /// The device's UDP socket: (remote port, local port asked for, socket).
    udp: Option<(u16, u16, UdpSocket)>,
    last_send: Option<Instant>,
    correlation: u32,
    requests: u32,
}

impl DeviceSession {
    fn new(ip: IpAddr, shared: Arc<Shared>) -> Self {
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
        }
    }

    /// Waits until this device and the global pacer allow one more packet-initiating
    /// action (a connection attempt or a request), or the scan stops.
    async fn pace(&mut self, protocol: Protocol) -> Result<(), ExchangeError> {
        let shared = Arc::clone(&self.shared);
        let config = &shared.config;
        if self.requests >= config.max_requests_per_device {
            return Err(ExchangeError::Budget(config.max_requests_per_device));
        }
        if shared.stop.reason().is_some() {
            return Err(ExchangeError::Stopped);
        }
        if let Some(last) = self.last_send {
            let earliest = last + config.per_device_interval;
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
        shared.requests[protocol_index(protocol)].fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Packets this session has sent so far (connection attempts and every datagram,
    /// retries included): a probe's count is the difference over its run.
    pub(crate) fn sent(&self) -> u32 {
        self.requests
    }

    async fn connect(&mut self, port: u16, protocol: Protocol) -> Result<(), ExchangeError> {
        if self.conn.as_ref().is_some_and(|c| c.port == port) {
            return Ok(());
        }
        // One TCP connection per device at a time: close any other port's first.
        self.close().await;
        self.pace(protocol).await?;
        let addr = SocketAddr::new(self.ip, port);
        let timeout = self.shared.config.connect_timeout;
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Err(_) => Err(ExchangeError::ConnectTimeout),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                Err(ExchangeError::Refused)
            }
            // A reset that lands before connect returns is a closed connection.
            Ok(Err(e)) => Err(io_error(&e)),
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
    /// bytes and the read timeout. Replies that answer earlier requests are skipped.
    pub(crate) async fn tcp_exchange(
        &mut self,
        port: u16,
        request: &ReadOnlyRequest,
        max_len: usize,
        framing: &(dyn Fn(&[u8], u32) -> FrameCheck + Sync),
    ) -> Result<Reply, ExchangeError> {
        let protocol = request.protocol();
        self.connect(port, protocol).await?;
        self.pace(protocol).await?;
        self.correlation = self.correlation.wrapping_add(1);
        let correlation = self.correlation;
        let bytes = request.encode(correlation);
        let shared = Arc::clone(&self.shared);
        let Some(conn) = self.conn.as_mut() else {
            return Err(ExchangeError::Closed);
        };
        let sent_at = Instant::now();
        let result = tokio::select! {
            r = tokio::time::timeout(
                shared.config.read_timeout,
                write_and_read(
                    &mut conn.stream,
                    &mut conn.pending,
                    &bytes,
                    correlation,
                    max_len,
                    framing,
                ),
            ) => r.unwrap_or(Err(ExchangeError::Timeout)),
            _ = shared.stop.cancel.cancelled() => Err(ExchangeError::Stopped),
        };
        // Time the per-device interval from the end of the exchange: a write that had to
        // wait can never bring the next request closer than the interval.
        self.last_send = Some(Instant::now());
        match result {
            Ok(bytes) => Ok(Reply {
                bytes,
                rtt: sent_at.elapsed(),
            }),
            // A late reply after a timeout is recognised by its correlation and
            // skipped, so the connection stays usable; anything else leaves the
            // stream in an unknown state.
            Err(ExchangeError::Timeout) => Err(ExchangeError::Timeout),
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
        let protocol = request.protocol();
        let shared = Arc::clone(&self.shared);
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
            let socket = bind_udp(local).map_err(|e| {
                ExchangeError::Io(format!("cannot bind UDP source port {local_port}: {e}"))
            })?;
            socket
                .connect(SocketAddr::new(self.ip, port))
                .await
                .map_err(|e| ExchangeError::Io(e.to_string()))?;
            self.udp = Some((port, local_port, socket));
        }
        let mut sent = Vec::new();
        let mut buf = vec![0u8; max_len + 1];
        for _ in 0..=shared.config.udp_retries {
            self.pace(protocol).await?;
            self.correlation = self.correlation.wrapping_add(1);
            sent.push(self.correlation);
            let bytes = request.encode(self.correlation);
            let Some((_, _, socket)) = self.udp.as_ref() else {
                return Err(ExchangeError::Closed);
            };
            let sent_at = Instant::now();
            socket.send(&bytes).await.map_err(|e| udp_error(&e))?;
            // The first datagram on a new socket may wait for the driver: time the
            // per-device interval from when the datagram actually left.
            self.last_send = Some(Instant::now());
            let until = sent_at + shared.config.read_timeout;
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
                    return Ok(Reply {
                        bytes: datagram.to_vec(),
                        rtt: sent_at.elapsed(),
                    });
                }
            }
        }
        Err(ExchangeError::Timeout)
    }

    /// Closes the device's TCP connection, if any, with a FIN.
    pub(crate) async fn close(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_millis(500), conn.stream.shutdown()).await;
        }
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

async fn write_and_read(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    request: &[u8],
    correlation: u32,
    max_len: usize,
    framing: &(dyn Fn(&[u8], u32) -> FrameCheck + Sync),
) -> Result<Vec<u8>, ExchangeError> {
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
                    return Err(ExchangeError::Protocol(
                        "replies do not answer the request (wrong transaction id)".into(),
                    ));
                }
                buf.drain(..len.min(buf.len()));
                continue;
            }
            FrameCheck::Invalid(reason) => return Err(ExchangeError::Protocol(reason)),
            FrameCheck::NeedMore => {}
        }
        if buf.len() >= max_len {
            return Err(ExchangeError::Oversized(max_len));
        }
        let room = (max_len - buf.len()).min(chunk.len());
        let n = stream
            .read(&mut chunk[..room])
            .await
            .map_err(|e| io_error(&e))?;
        if n == 0 {
            return Err(ExchangeError::Closed);
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

// ---------------------------------------------------------------------------
// Scheduler

/// A running scan: a [`Stream`] of [`AssetRecord`]s plus progress.
///
/// Dropping it cancels the scan: nothing new is sent and the background task ends
/// within one timeout.
pub struct Scan {
    records: mpsc::Receiver<ScanEvent>,
    progress: watch::Receiver<Progress>,
    cancel: CancellationToken,
}

impl Scan {
    /// A receiver of progress snapshots (updated after every finished device; the
    /// last one, with `done` set, is the scan's summary).
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.clone()
    }

    /// The next record or checkpoint, in delivery order (the [`Stream`] yields only
    /// records). A checkpoint covers only targets whose records came before it, so a
    /// consumer that persists it after writing those records resumes exactly.
    pub async fn next_event(&mut self) -> Option<ScanEvent> {
        self.records.recv().await
    }

    /// The token that cancels this scan. Cancelling stops all sending at once;
    /// records of devices already finished are still delivered.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

impl Stream for Scan {
    type Item = AssetRecord;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<AssetRecord>> {
        loop {
            match self.records.poll_recv(cx) {
                Poll::Ready(Some(ScanEvent::Record(r))) => return Poll::Ready(Some(*r)),
                Poll::Ready(Some(ScanEvent::Checkpoint(_))) => continue,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for Scan {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

pub(crate) fn start(config: ScanConfig, cancel: CancellationToken) -> Scan {
    let config = Arc::new(config);
    let pacer = match config.rate {
        Rate::Unlimited => None,
        Rate::PerSecond(n) => Some(Pacer::new(
            n.get(),
            config.burst.unwrap_or(NonZeroU32::MIN).get(),
        )),
    };
    let started = Instant::now();
    let deadline = config
        .deadline_from(std::time::SystemTime::now())
        .map(|d| started + d);
    let scan_id = config.scan_id.clone().unwrap_or_else(new_scan_id);
    let shared = Arc::new(Shared {
        config: Arc::clone(&config),
        pacer,
        stop: Stop {
            cancel: cancel.clone(),
            deadline,
        },
        requests: Default::default(),
        min_gap_us: AtomicU64::new(u64::MAX),
        scan_id,
    });
    let (tx, rx) = mpsc::channel(256);
    let initial = Progress {
        planned: config.targets.len(),
        done_before: config.resume.as_ref().map_or(0, Checkpoint::count),
        ..Progress::default()
    };
    let (progress_tx, progress_rx) = watch::channel(initial);
    tokio::spawn(drive(shared, tx, progress_tx, started));
    Scan {
        records: rx,
        progress: progress_rx,
        cancel,
    }
}

/// A fresh scan id: UTC start time plus a value that differs between runs.
pub fn new_scan_id() -> String {
    let now = jiff::Timestamp::now();
    format!(
        "{}-{:08x}",
        now.strftime("%Y%m%dT%H%M%SZ"),
        (now.subsec_nanosecond() as u32) ^ std::process::id().rotate_left(16)
    )
}

async fn drive(
    shared: Arc<Shared>,
    tx: mpsc::Sender<ScanEvent>,
    progress_tx: watch::Sender<Progress>,
    started: Instant,
) {
    let config = Arc::clone(&shared.config);
    let gate = Arc::clone(&shared);
    let scanner = Arc::clone(&shared);
    let mut checkpoint = config.resume.clone().unwrap_or_default();
    let skip = checkpoint.clone();
    let start = checkpoint.next;
    let mut devices = futures::stream::iter(config.targets.iter_from(start).zip(start..))
        .filter(move |(_, position)| futures::future::ready(!skip.is_done(*position)))
        // Stop starting new targets as soon as the scan must stop.
        .take_while(move |_| futures::future::ready(gate.stop.reason().is_none()))
        .map(move |(target, position)| {
            // A task per device lets the runtime spread devices over every core.
            let task = tokio::spawn(scan_device(Arc::clone(&scanner), target));
            async move {
                match task.await {
                    Ok(record) => (position, record),
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    // Only a runtime shutdown cancels the task: count the target as
                    // interrupted (a stopped service), so it is neither emitted nor done.
                    Err(_) => {
                        let mut record =
                            AssetRecord::new("", std::net::Ipv4Addr::UNSPECIFIED.into(), None);
                        let (observation, identity) = stopped_observation(Protocol::Modbus, 0);
                        record.merge(observation, identity);
                        (position, record)
                    }
                }
            }
        })
        .buffer_unordered(config.concurrency.get());
    let mut progress = progress_tx.borrow().clone();
    let mut last_checkpoint = Instant::now();
    while let Some((position, record)) = devices.next().await {
        // A target the stop cut short is not done: no record now, scanned again on resume.
        if record.services.iter().any(|s| s.status == Status::Stopped) {
            progress.interrupted += 1;
            continue;
        }
        progress.finished += 1;
        for service in &record.services {
            *progress.statuses.entry(service.status).or_default() += 1;
            if service.status.is_protocol_answer() {
                *progress
                    .responsive_by_protocol
                    .entry(service.protocol)
                    .or_default() += 1;
            }
        }
        if record.responsive {
            progress.responsive += 1;
        }
        let emit = record.responsive || config.emit_all;
        if emit {
            if tx.send(ScanEvent::Record(Box::new(record))).await.is_err() {
                // Nobody listens any more: stop sending, let in-flight devices end.
                shared.stop.cancel.cancel();
                continue;
            }
            progress.emitted += 1;
        }
        checkpoint.complete(position);
        // A checkpoint every 100 ms is plenty for a state file and keeps a /16 from
        // cloning the out-of-order set 65,536 times; the last one always goes out.
        if last_checkpoint.elapsed() >= CHECKPOINT_INTERVAL {
            let _ = tx.send(ScanEvent::Checkpoint(checkpoint.clone())).await;
            last_checkpoint = Instant::now();
        }
        snapshot(&shared, &mut progress, started);
        progress_tx.send_replace(progress.clone());
    }
    let _ = tx.send(ScanEvent::Checkpoint(checkpoint)).await;
    progress.stopped = shared.stop.reason();
    progress.done = true;
    snapshot(&shared, &mut progress, started);
    progress_tx.send_replace(progress);
}

fn snapshot(shared: &Shared, progress: &mut Progress, started: Instant) {
    progress.requests_sent = shared.requests_total();
    for p in PROTOCOLS {
        let n = shared.requests[protocol_index(p)].load(Ordering::Relaxed);
        if n > 0 {
            progress.requests_by_protocol.insert(p, n);
        }
    }
    progress.elapsed = started.elapsed();
    let gap = shared.min_gap_us.load(Ordering::Relaxed);
    progress.min_device_gap = (gap != u64::MAX).then(|| Duration::from_micros(gap));
}

async fn scan_device(shared: Arc<Shared>, target: Target) -> AssetRecord {
    let config = Arc::clone(&shared.config);
    let mut record = AssetRecord::new(
        &shared.scan_id,
        target.ip,
        target.name.as_deref().map(str::to_owned),
    );
    let mut session = DeviceSession::new(target.ip, Arc::clone(&shared));
    for &probe in &config.probes {
        let observations = if shared.stop.reason().is_some() {
            vec![stopped_observation(probe, config.port(probe))]
        } else {
            match probe {
                Protocol::Modbus => {
                    vec![crate::protocols::modbus::probe(&mut session, &config.modbus).await]
                }
                Protocol::Enip => crate::protocols::enip::probe(&mut session, &config.enip).await,
                Protocol::Snmp => {
                    vec![crate::protocols::snmp::probe(&mut session, &config.snmp).await]
                }
                Protocol::Bacnet => {
                    vec![crate::protocols::bacnet::probe(&mut session, &config.bacnet).await]
                }
                Protocol::S7 => vec![crate::protocols::s7::probe(&mut session, &config.s7).await],
            }
        };
        for (observation, identity) in observations {
            record.merge(observation, identity);
        }
    }
    session.close().await;
    record.enrichment = config
        .enrichment
        .as_ref()
        .and_then(|t| t.lookup(target.ip))
        .cloned();
    record
}

fn stopped_observation(protocol: Protocol, port: u16) -> (ServiceObservation, Identity) {
    observation_without_reply(
        protocol,
        port,
        Status::Stopped,
        "scan stopped before this probe ran",
    )
}

fn observation_without_reply(
    protocol: Protocol,
    port: u16,
    status: Status,
    why: &str,
) -> (ServiceObservation, Identity) {
    let transport = match protocol {
        Protocol::Snmp | Protocol::Bacnet => Transport::Udp,
        Protocol::Modbus | Protocol::Enip | Protocol::S7 => Transport::Tcp,
    };
    (
        ServiceObservation {
            protocol,
            transport,
            port,
            status,
            rtt_ms: None,
            timestamp: jiff::Timestamp::now(),
            error: Some(why.to_owned()),
            requests: 0,
            details: None,
        },
        Identity::default(),
    )
}

/// Global pacing by reserved send slots on a fixed grid: each packet takes the next
/// free slot and sleeps until it. Unlike a limiter that wakes every waiter to race
/// for capacity, a late wake-up loses nothing and waiters do not stampede, so the
/// achieved rate stays at the configured one at high rates too.
struct Pacer {
    period: Duration,
    burst: u32,
    next: std::sync::Mutex<Instant>,
}

impl Pacer {
    fn new(per_second: u32, burst: u32) -> Self {
        Pacer {
            period: Duration::from_secs(1) / per_second.max(1),
            burst: burst.max(1),
            next: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// The send time reserved for one packet.
    fn reserve(&self) -> Instant {
        let now = Instant::now();
        let mut next = self
            .next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Unused slots of the past accumulate up to `burst`, no more.
        let earliest = now
            .checked_sub(self.period * (self.burst - 1))
            .unwrap_or(now);
        let slot = (*next).max(earliest);
        *next = slot + self.period;
        slot
    }
}
