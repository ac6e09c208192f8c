//! Records every frame the fixtures receive, and every connection they accept, so tests can
//! audit exactly what a scanner sent (no writes, one connection per device, request pacing).
//! Every frame of a protocol the [`allowlist`] has rules for is checked against it as it is
//! recorded; [`Recorder::violations`] lists those outside it.

use std::{
    collections::HashMap,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    task::{ready, Context, Poll},
    time::Instant,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};

use crate::allowlist::{self, Violation};

/// The transport a frame arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A byte stream, split into frames by a [`Framing`].
    Tcp,
    /// One datagram is one frame.
    Udp,
}

/// One request (or unparseable chunk) as a fixture received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedFrame {
    /// The fixture's local address: which simulated device received the frame.
    pub device: SocketAddr,
    /// The sender's address.
    pub peer: SocketAddr,
    /// Protocol label of the framing used, e.g. `"modbus"`, or `"raw"` for unframed streams; for
    /// datagrams, the receiving fixture's protocol (`"enip"`, `"snmp"`).
    pub protocol: &'static str,
    /// The transport the frame arrived on.
    pub transport: Transport,
    /// Connection id, unique per [`Recorder`] and starting at 1; datagrams use 0.
    pub connection: u64,
    /// When the frame was complete.
    pub at: Instant,
    /// The frame exactly as received, headers included.
    pub bytes: Vec<u8>,
}

/// TCP connection counters for one device IP (all its ports together, because the safety rule is
/// one connection per device, not per service).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// Connections accepted since the recorder was created or last cleared.
    pub accepted: u64,
    /// Connections open right now.
    pub open: u64,
    /// The most connections that were open at the same time.
    pub max_concurrent: u64,
}

/// How a TCP byte stream is cut into frames for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Framing {
    /// Modbus/TCP: the MBAP length field says how many bytes follow the first 6.
    ModbusTcp,
    /// EtherNet/IP encapsulation: a 24-byte header whose little-endian length field (offset 2)
    /// says how many bytes follow it.
    Enip,
    /// ISO-on-TCP (RFC 1006, S7): a TPKT header (version 3, reserved, big-endian length of the
    /// whole packet, header included).
    Tpkt,
    /// No framing: every read is recorded as it arrived.
    Raw,
    /// Omron FINS/TCP: "FINS", then a big-endian u32 length of the bytes after it.
    FinsTcp,
    /// MELSEC SLMP / MC protocol 3E binary frame: a 9-byte header whose little-endian data
    /// length (offset 7) says how many bytes follow it.
    Melsec3e,
    /// Niagara Fox: text messages, each ending with the line `};;` (and its line feed).
    Fox,
    /// OPC UA UA-TCP: a 3-byte message type, a chunk type, a little-endian UInt32 size of the
    /// whole chunk, header included.
    UaTcp,
    /// HART-IP: an 8-byte header (version 1) whose big-endian byte count (offset 6) is the
    /// whole message's length, header included.
    HartIp,
    /// SSH: no framing (the scanner sends nothing), every read recorded as it arrived
    /// under the label `ssh`.
    Ssh,
    /// FTP control connection: no framing (the scanner sends nothing), every read recorded
    /// as it arrived under the label `ftp`.
    Ftp,
    /// Telnet: the client's refusals, three bytes each (`IAC WONT x`, `IAC DONT x`), recorded
    /// by whole triplets as they arrived under the label `telnet`.
    Telnet,
    /// HTTP/1.1 requests: a request head through its empty line, and the body its
    /// `Content-Length` announces, if any (so a request with a body is one frame the
    /// allowlist refuses); a head that grows past 16 KiB without its end is recorded as
    /// one frame. Label `http`.
    Http,
    /// TLS records from a client: each ClientHello record is one frame (label `tls`); every
    /// other record (the client's later flights, encrypted application data) is passed
    /// over unrecorded: a TLS fixture records the decrypted request itself
    /// ([`Recorder::record_tcp`]). A stream that does not start like a TLS record is
    /// recorded whole.
    Tls,
}

/// The length of the HTTP request at the front of `buf` (see [`Framing::Http`]).
fn http_request_len(buf: &[u8]) -> FrameLen {
    const MAX_HEAD: usize = 16 * 1024;
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD {
            FrameLen::Complete(buf.len())
        } else {
            FrameLen::Incomplete
        };
    };
    let head = &buf[..end];
    let length = head
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let text = std::str::from_utf8(line).ok()?;
            let (name, value) = text.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .next()
        .unwrap_or(0)
        .min(MAX_HEAD);
    let total = end + 4 + length;
    if buf.len() < total {
        FrameLen::Incomplete
    } else {
        FrameLen::Complete(total)
    }
}

enum FrameLen {
    Complete(usize),
    /// A whole frame of this length that is not recorded.
    Skip(usize),
    Incomplete,
    /// The header cannot be right; the stream is out of step with the framing.
    Implausible,
}

impl Framing {
    /// The label recorded in [`RecordedFrame::protocol`].
    pub const fn protocol(self) -> &'static str {
        match self {
            Framing::ModbusTcp => "modbus",
            Framing::Enip => "enip",
            Framing::Tpkt => "s7",
            Framing::Raw => "raw",
            Framing::FinsTcp => "fins",
            Framing::Melsec3e => "melsec",
            Framing::Fox => "fox",
            Framing::UaTcp => "opcua",
            Framing::HartIp => "hart",
            Framing::Ssh => "ssh",
            Framing::Ftp => "ftp",
            Framing::Telnet => "telnet",
            Framing::Http => "http",
            Framing::Tls => "tls",
        }
    }

    /// The framing of the protocol registered for a well-known TCP port, [`Framing::Raw`] for any
    /// other port. Lets a protocol-agnostic fixture (e.g. a silent one) record comparable frames.
    pub fn for_port(port: u16) -> Self {
        match port {
            502 => Framing::ModbusTcp,
            44818 => Framing::Enip,
            102 => Framing::Tpkt,
            9600 => Framing::FinsTcp,
            1911 => Framing::Fox,
            4840 => Framing::UaTcp,
            5094 => Framing::HartIp,
            22 => Framing::Ssh,
            21 => Framing::Ftp,
            23 => Framing::Telnet,
            80 => Framing::Http,
            443 => Framing::Tls,
            _ => Framing::Raw,
        }
    }

    fn frame_len(self, buf: &[u8]) -> FrameLen {
        match self {
            Framing::Raw | Framing::Ssh | Framing::Ftp if buf.is_empty() => FrameLen::Incomplete,
            Framing::Raw | Framing::Ssh | Framing::Ftp => FrameLen::Complete(buf.len()),
            Framing::Http => http_request_len(buf),
            Framing::Tls => {
                if buf.first().is_some_and(|t| !(20..=23).contains(t)) {
                    return FrameLen::Implausible;
                }
                let Some(&[kind, _, _, l0, l1]) = buf.first_chunk::<5>() else {
                    return FrameLen::Incomplete;
                };
                let len = 5 + usize::from(u16::from_be_bytes([l0, l1]));
                if buf.len() < len {
                    FrameLen::Incomplete
                } else if kind == 22 && buf.get(5) == Some(&1) {
                    FrameLen::Complete(len)
                } else {
                    FrameLen::Skip(len)
                }
            }
            Framing::Telnet if buf.len() < 3 => FrameLen::Incomplete,
            Framing::Telnet => FrameLen::Complete(buf.len() / 3 * 3),
            Framing::ModbusTcp => {
                if buf.len() >= 4 && buf[2..4] != [0, 0] {
                    return FrameLen::Implausible;
                }
                if buf.len() < 6 {
                    return FrameLen::Incomplete;
                }
                // Unit id plus a PDU of at most 253 bytes.
                let length = usize::from(u16::from_be_bytes([buf[4], buf[5]]));
                if !(1..=254).contains(&length) {
                    FrameLen::Implausible
                } else if buf.len() < 6 + length {
                    FrameLen::Incomplete
                } else {
                    FrameLen::Complete(6 + length)
                }
            }
            Framing::UaTcp => {
                if buf.len() < 8 {
                    return FrameLen::Incomplete;
                }
                // A chunk of at most 16 MiB: more is a stream out of step.
                let size = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
                if !(8..=1 << 24).contains(&size) {
                    FrameLen::Implausible
                } else if buf.len() < size {
                    FrameLen::Incomplete
                } else {
                    FrameLen::Complete(size)
                }
            }
            Framing::Tpkt => {
                if !buf.is_empty() && buf[0] != 3 {
                    return FrameLen::Implausible;
                }
                if buf.len() < 4 {
                    return FrameLen::Incomplete;
                }
                // A TPKT holds at least a COTP length indicator and PDU type.
                let length = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
                if length < 6 {
                    FrameLen::Implausible
                } else if buf.len() < length {
                    FrameLen::Incomplete
                } else {
                    FrameLen::Complete(length)
                }
            }
            Framing::Melsec3e => {
                const HEADER: usize = 9;
                if buf.len() < HEADER {
                    return FrameLen::Incomplete;
                }
                let length = HEADER + usize::from(u16::from_le_bytes([buf[7], buf[8]]));
                if buf.len() < length {
                    FrameLen::Incomplete
                } else {
                    FrameLen::Complete(length)
                }
            }
            Framing::FinsTcp => {
                let start = &buf[..buf.len().min(4)];
                if start != &b"FINS"[..start.len()] {
                    return FrameLen::Implausible;
                }
                let Some(&[l0, l1, l2, l3]) = buf.get(4..8).and_then(|b| b.first_chunk::<4>())
                else {
                    return FrameLen::Incomplete;
                };
                // At least the command and error code; at most a FINS frame's 2 KiB.
                let length = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
                if !(8..=4096).contains(&length) {
                    FrameLen::Implausible
                } else if buf.len() < 8 + length {
                    FrameLen::Incomplete
                } else {
                    FrameLen::Complete(8 + length)
                }
            }
            // A message that does not start like one, or grows past 64 KiB without its end,
            // puts the stream out of step.
            Framing::Fox => {
                const MAX: usize = 64 * 1024;
                let head = &buf[..buf.len().min(4)];
                if head != &b"fox "[..head.len()] {
                    return FrameLen::Implausible;
                }
                match crate::fox::message_len(buf) {
                    Some(len) => FrameLen::Complete(len),
                    None if buf.len() > MAX => FrameLen::Implausible,
                    None => FrameLen::Incomplete,
                }
            }
            // A header that is not version 1 or shorter than itself puts the stream out of step.
            Framing::HartIp => {
                if buf.first().is_some_and(|&v| v != 1) {
                    return FrameLen::Implausible;
                }
                match crate::hart::message_len(buf) {
                    Some(len) if len >= crate::hart::HEADER_LEN && len <= buf.len() => {
                        if buf.len() >= 8 && usize::from(u16::from_be_bytes([buf[6], buf[7]])) < 8 {
                            FrameLen::Implausible
                        } else {
                            FrameLen::Complete(len)
                        }
                    }
                    Some(_) => FrameLen::Implausible,
                    None => FrameLen::Incomplete,
                }
            }
            // Any header is plausible (the u16 length already bounds a frame to 64 KiB), so a
            // stream out of step is recorded as whatever frames its bytes happen to describe.
            Framing::Enip => {
                const HEADER: usize = 24;
                if buf.len() < HEADER {
                    return FrameLen::Incomplete;
                }
                let length = HEADER + usize::from(u16::from_le_bytes([buf[2], buf[3]]));
                if buf.len() < length {
                    FrameLen::Incomplete
                } else {
                    FrameLen::Complete(length)
                }
            }
        }
    }
}

/// Shared log of received frames and connection counts; clones share one log.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    frames: Vec<RecordedFrame>,
    violations: Vec<(RecordedFrame, Violation)>,
    last_connection: u64,
    connections: HashMap<IpAddr, ConnectionStats>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A test that panicked while holding the lock must not hide the record from the others.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every frame received so far, in arrival order.
    pub fn frames(&self) -> Vec<RecordedFrame> {
        self.lock().frames.clone()
    }

    /// The frames received by any fixture bound to `addr`, in arrival order.
    pub fn frames_for(&self, addr: IpAddr) -> Vec<RecordedFrame> {
        let inner = self.lock();
        inner
            .frames
            .iter()
            .filter(|f| f.device.ip() == addr)
            .cloned()
            .collect()
    }

    /// The recorded frames that are not allowlisted read-only requests of their protocol
    /// ([`allowlist::check`]), each with the rule it breaks, in arrival order. Only frames whose
    /// [`RecordedFrame::protocol`] is one of [`allowlist::PROTOCOLS`] are checked: `"raw"` frames
    /// (unframed streams, e.g. of silent fixtures on unregistered ports) are not.
    pub fn violations(&self) -> Vec<(RecordedFrame, Violation)> {
        self.lock().violations.clone()
    }

    /// Connection counters of the device at `addr` (zero if it never saw a connection).
    pub fn connection_stats(&self, addr: IpAddr) -> ConnectionStats {
        self.lock()
            .connections
            .get(&addr)
            .copied()
            .unwrap_or_default()
    }

    /// Forgets recorded frames, violations and counters; connections still open stay counted as
    /// open.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.frames.clear();
        inner.violations.clear();
        for stats in inner.connections.values_mut() {
            *stats = ConnectionStats {
                accepted: 0,
                open: stats.open,
                max_concurrent: stats.open,
            };
        }
    }

    /// Records one received datagram (for UDP fixtures).
    pub fn record_datagram(
        &self,
        device: SocketAddr,
        peer: SocketAddr,
        protocol: &'static str,
        bytes: &[u8],
    ) {
        self.push_frame(device, peer, protocol, (Transport::Udp, 0), bytes);
    }

    fn push_frame(
        &self,
        device: SocketAddr,
        peer: SocketAddr,
        protocol: &'static str,
        (transport, connection): (Transport, u64),
        bytes: &[u8],
    ) {
        self.push(RecordedFrame {
            device,
            peer,
            protocol,
            transport,
            connection,
            at: Instant::now(),
            bytes: bytes.to_vec(),
        });
    }

    /// Records one frame a TCP fixture decoded itself (a TLS server's decrypted request),
    /// under `protocol`, on connection `connection` from `peer` to `device`.
    pub fn record_tcp(
        &self,
        device: SocketAddr,
        peer: SocketAddr,
        connection: u64,
        protocol: &'static str,
        bytes: &[u8],
    ) {
        self.push_frame(device, peer, protocol, (Transport::Tcp, connection), bytes);
    }

    /// Counts `stream` as an accepted connection and wraps it so every byte read from it is
    /// recorded, cut into frames by `framing`. The connection counts as open until the wrapper
    /// is dropped.
    pub fn wrap_tcp(
        &self,
        stream: TcpStream,
        framing: Framing,
    ) -> io::Result<RecordingStream<TcpStream>> {
        let device = stream.local_addr()?;
        let peer = stream.peer_addr()?;
        Ok(RecordingStream::new(
            stream,
            device,
            peer,
            framing,
            self.clone(),
        ))
    }

    fn push(&self, frame: RecordedFrame) {
        // Checked before taking the lock: other fixtures' tasks record too.
        let violation = allowlist::PROTOCOLS
            .contains(&frame.protocol)
            .then(|| allowlist::check(frame.protocol, &frame.bytes).err())
            .flatten();
        let mut inner = self.lock();
        if let Some(violation) = violation {
            inner.violations.push((frame.clone(), violation));
        }
        inner.frames.push(frame);
    }

    fn connection_opened(&self, device: IpAddr) -> u64 {
        let mut inner = self.lock();
        inner.last_connection += 1;
        let id = inner.last_connection;
        let stats = inner.connections.entry(device).or_default();
        stats.accepted += 1;
        stats.open += 1;
        stats.max_concurrent = stats.max_concurrent.max(stats.open);
        id
    }

    fn connection_closed(&self, device: IpAddr) {
        if let Some(stats) = self.lock().connections.get_mut(&device) {
            stats.open = stats.open.saturating_sub(1);
        }
    }
}

/// A stream that tees everything read from it into a [`Recorder`], one [`RecordedFrame`] per
/// frame. Writes pass through unrecorded: the record is of what the scanner sent.
#[derive(Debug)]
pub struct RecordingStream<S> {
    inner: S,
    recorder: Recorder,
    framing: Framing,
    device: SocketAddr,
    peer: SocketAddr,
    connection: u64,
    pending: Vec<u8>,
}

impl<S> RecordingStream<S> {
    /// Wraps `inner`, an accepted connection from `peer` to the fixture at `device`, and counts
    /// it as open.
    pub fn new(
        inner: S,
        device: SocketAddr,
        peer: SocketAddr,
        framing: Framing,
        recorder: Recorder,
    ) -> Self {
        let connection = recorder.connection_opened(device.ip());
        Self {
            inner,
            recorder,
            framing,
            device,
            peer,
            connection,
            pending: Vec::new(),
        }
    }

    /// This connection's id in the record.
    pub fn connection(&self) -> u64 {
        self.connection
    }

    /// The fixture's address and the client's: (device, peer).
    pub fn addresses(&self) -> (SocketAddr, SocketAddr) {
        (self.device, self.peer)
    }

    fn record(&self, bytes: Vec<u8>) {
        self.recorder.push(RecordedFrame {
            device: self.device,
            peer: self.peer,
            protocol: self.framing.protocol(),
            transport: Transport::Tcp,
            connection: self.connection,
            at: Instant::now(),
            bytes,
        });
    }

    fn record_complete_frames(&mut self) {
        loop {
            match self.framing.frame_len(&self.pending) {
                FrameLen::Complete(n) => {
                    let frame = self.pending.drain(..n).collect();
                    self.record(frame);
                }
                FrameLen::Skip(n) => {
                    self.pending.drain(..n);
                }
                FrameLen::Implausible => {
                    let rest = std::mem::take(&mut self.pending);
                    self.record(rest);
                    return;
                }
                FrameLen::Incomplete => return,
            }
        }
    }
}

impl<S> Drop for RecordingStream<S> {
    fn drop(&mut self) {
        // A truncated last frame is still something the scanner sent.
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.record(rest);
        }
        self.recorder.connection_closed(self.device.ip());
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for RecordingStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let received = &buf.filled()[before..];
        if !received.is_empty() {
            this.pending.extend_from_slice(received);
            this.record_complete_frames();
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for RecordingStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    async fn record_stream(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        record_stream_as(Framing::ModbusTcp, chunks).await
    }

    async fn record_stream_as(framing: Framing, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let recorder = Recorder::new();
        let mut stream = RecordingStream::new(
            Script(chunks.iter().map(|c| c.to_vec()).collect()),
            addr("127.0.0.1:502"),
            addr("127.0.0.2:40000"),
            framing,
            recorder.clone(),
        );
        let mut sink = Vec::new();
        stream.read_to_end(&mut sink).await.unwrap();
        assert_eq!(recorder.connection_stats(addr("127.0.0.1:0").ip()).open, 1);
        drop(stream);
        let stats = recorder.connection_stats(addr("127.0.0.1:0").ip());
        assert_eq!(
            (stats.accepted, stats.open, stats.max_concurrent),
            (1, 0, 1)
        );
        recorder.frames().into_iter().map(|f| f.bytes).collect()
    }

    /// Yields one scripted chunk per read, then end of stream.
    struct Script(std::collections::VecDeque<Vec<u8>>);

    impl AsyncRead for Script {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if let Some(chunk) = self.get_mut().0.pop_front() {
                buf.put_slice(&chunk);
            }
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn modbus_frames_are_split_and_joined_by_mbap_length() {
        let frames = record_stream(&[
            &[0, 1, 0, 0, 0, 5, 1, 0x2B, 0x0E, 1],
            &[0, 0, 2, 0, 0, 0, 2, 1, 0x11],
        ])
        .await;
        assert_eq!(
            frames,
            [
                vec![0, 1, 0, 0, 0, 5, 1, 0x2B, 0x0E, 1, 0],
                vec![0, 2, 0, 0, 0, 2, 1, 0x11],
            ]
        );
    }

    #[tokio::test]
    async fn implausible_header_and_truncated_tail_are_kept_raw() {
        let frames = record_stream(&[&[0, 1, 0, 7, 0, 2, 1, 3], &[0, 1, 0, 0, 0, 6, 1]]).await;
        assert_eq!(
            frames,
            [vec![0, 1, 0, 7, 0, 2, 1, 3], vec![0, 1, 0, 0, 0, 6, 1]]
        );
        let frames = record_stream(&[&[0, 1, 0, 0, 1, 0, 1, 3]]).await;
        assert_eq!(frames, [vec![0, 1, 0, 0, 1, 0, 1, 3]]);
    }

    #[tokio::test]
    async fn enip_frames_are_split_and_joined_by_header_length() {
        let header = |command: u8, length: u8| {
            let mut h = vec![0u8; 24];
            h[0] = command;
            h[2] = length;
            h
        };
        let first = header(0x63, 0);
        let second = [header(0x65, 4), vec![1, 0, 0, 0]].concat();
        let third = header(0x04, 0);
        // One read carries the first frame and most of the second's header; the third is cut
        // short by the end of the stream and still recorded.
        let burst = [&first[..], &second[..6]].concat();
        let frames = record_stream_as(
            Framing::Enip,
            &[&burst, &second[6..26], &second[26..], &third[..7]],
        )
        .await;
        assert_eq!(frames, [first, second, third[..7].to_vec()]);
        assert_eq!(Framing::for_port(44818), Framing::Enip);
        assert_eq!(Framing::Enip.protocol(), "enip");
    }

    #[tokio::test]
    async fn tpkt_frames_are_split_and_joined_by_tpkt_length() {
        let cr = [3, 0, 0, 11, 6, 0xE0, 0, 0, 0, 1, 0];
        let dt = [3, 0, 0, 9, 2, 0xF0, 0x80, 0x32, 0x01];
        let burst = [&cr[..], &dt[..3]].concat();
        let frames = record_stream_as(Framing::Tpkt, &[&burst, &dt[3..], &[9, 9, 9]]).await;
        assert_eq!(frames, [cr.to_vec(), dt.to_vec(), vec![9, 9, 9]]);
        assert_eq!(Framing::for_port(102), Framing::Tpkt);
        assert_eq!(Framing::Tpkt.protocol(), "s7");
    }

    #[tokio::test]
    async fn fox_messages_are_split_at_their_end() {
        let hello = b"fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\n};;\n";
        // Reads of at most 32 bytes (the scripted reader's limit), cutting both messages.
        let tail = [&hello[40..], &hello[..9]].concat();
        let frames = record_stream_as(
            Framing::Fox,
            &[
                &hello[..20],
                &hello[20..40],
                &tail,
                &hello[9..30],
                &hello[30..],
                b"GET /",
            ],
        )
        .await;
        assert_eq!(frames, [hello.to_vec(), hello.to_vec(), b"GET /".to_vec()]);
        assert_eq!(Framing::for_port(1911), Framing::Fox);
        assert_eq!(Framing::Fox.protocol(), "fox");
    }

    #[test]
    fn forbidden_frames_are_violations_and_raw_frames_unchecked() {
        let recorder = Recorder::new();
        let (device, peer) = (addr("127.0.0.1:44818"), addr("127.0.0.2:40000"));
        let mut list_identity = vec![0u8; 24];
        list_identity[0] = 0x63;
        // RegisterSession with its protocol version and options.
        let mut register_session = vec![0u8; 28];
        register_session[..3].copy_from_slice(&[0x65, 0, 4]);
        register_session[24] = 1;
        recorder.record_datagram(device, peer, "enip", &list_identity);
        recorder.record_datagram(device, peer, "enip", &register_session);
        recorder.record_datagram(device, peer, "raw", &register_session);
        assert_eq!(recorder.frames().len(), 3);
        let violations = recorder.violations();
        assert_eq!(violations.len(), 1, "{violations:?}");
        let (frame, violation) = &violations[0];
        assert_eq!((frame.protocol, &frame.bytes), ("enip", &register_session));
        assert!(violation.reason.contains("28 bytes"), "{violation}");
        recorder.clear();
        assert!(recorder.violations().is_empty());
    }

    #[tokio::test]
    async fn tcp_frames_are_checked_as_they_are_cut() {
        let recorder = Recorder::new();
        let mut stream = RecordingStream::new(
            Script(
                [
                    vec![0, 1, 0, 0, 0, 2, 1, 0x11, 0, 2, 0, 0, 0, 6],
                    vec![1, 0x06, 0, 1, 0, 5],
                ]
                .into(),
            ),
            addr("127.0.0.1:502"),
            addr("127.0.0.2:40000"),
            Framing::ModbusTcp,
            recorder.clone(),
        );
        stream.read_to_end(&mut Vec::new()).await.unwrap();
        let violations = recorder.violations();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(
            violations[0].0.bytes,
            [0, 2, 0, 0, 0, 6, 1, 0x06, 0, 1, 0, 5]
        );
    }

    #[test]
    fn clear_keeps_open_connections_counted() {
        let recorder = Recorder::new();
        let ip = addr("127.0.0.1:0").ip();
        let id = recorder.connection_opened(ip);
        recorder.connection_opened(ip);
        recorder.connection_closed(ip);
        recorder.clear();
        assert_eq!(id, 1);
        let stats = recorder.connection_stats(ip);
        assert_eq!(
            (stats.accepted, stats.open, stats.max_concurrent),
            (0, 1, 1)
        );
    }
}
