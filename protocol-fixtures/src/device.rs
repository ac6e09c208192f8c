//! What every fixture shares: loopback-only listeners, a handle that stops the fixture, and the
//! simplest hostile device, one that accepts TCP and never answers.

use std::{
    io,
    net::{SocketAddr, SocketAddrV4},
    time::Duration,
};

use tokio::{
    io::AsyncReadExt as _,
    net::{TcpListener, TcpSocket, TcpStream, UdpSocket},
    task::{JoinHandle, JoinSet},
};
use tokio_util::sync::CancellationToken;

use crate::recorder::{Framing, Recorder, RecordingStream};

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
pub(crate) const ACCEPT_RETRY: Duration = Duration::from_millis(20);

/// Where a fixture may listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Loopback addresses only: the default for every fixture.
    Loopback,
    /// Any address, for a fixture started inside a network namespace that a test created
    /// itself (broadcast discovery needs a real interface to broadcast on).
    TestNamespace,
}

/// Fixtures must never be reachable from, or talk to, a real network.
fn ensure_scope(addr: SocketAddr, scope: Scope) -> io::Result<()> {
    if addr.ip().is_loopback() || scope == Scope::TestNamespace {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("fixtures bind only to loopback addresses, not {addr}"),
        ))
    }
}

/// Binds a TCP listener, refusing anything but loopback.
pub(crate) fn bind_loopback(addr: SocketAddr) -> io::Result<TcpListener> {
    bind_tcp(addr, Scope::Loopback)
}

/// Binds a TCP listener within `scope`.
pub(crate) fn bind_tcp(addr: SocketAddr, scope: Scope) -> io::Result<TcpListener> {
    ensure_scope(addr, scope)?;
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // Lets a test rebind a port right after a fixture on it shut down (TIME_WAIT).
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    // Room for a scanner test that opens many connections at once.
    socket.listen(1024)
}

/// Binds a UDP socket, refusing anything but loopback. No `SO_REUSEADDR`: on UDP it would let two
/// fixtures share a port and split its datagrams between them.
///
/// Must run inside a Tokio runtime.
pub(crate) fn bind_udp(addr: SocketAddr, scope: Scope) -> io::Result<UdpSocket> {
    ensure_scope(addr, scope)?;
    let socket = std::net::UdpSocket::bind(addr)?;
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket)
}

/// Attempts at finding a port free on both TCP and UDP when asked for port 0.
const PORT_0_ATTEMPTS: usize = 16;

/// Binds TCP, UDP or both on one port (a device speaking its protocol on either, as
/// EtherNet/IP and FINS devices do). With port 0 and both, a port free on both is
/// picked, TCP bound first.
pub(crate) fn bind_tcp_and_udp(
    addr: SocketAddrV4,
    tcp: bool,
    udp: bool,
    scope: Scope,
) -> io::Result<(Option<TcpListener>, Option<UdpSocket>, SocketAddrV4)> {
    if !tcp && !udp {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a TCP-and-UDP fixture needs TCP or UDP",
        ));
    }
    // A port the kernel picked free for TCP may be taken on UDP; try another.
    let attempts = if addr.port() == 0 && tcp && udp {
        PORT_0_ATTEMPTS
    } else {
        1
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let listener = if tcp {
            Some(bind_tcp(SocketAddr::V4(addr), scope)?)
        } else {
            None
        };
        let mut local = addr;
        if let Some(listener) = &listener {
            local.set_port(listener.local_addr()?.port());
        }
        if !udp {
            return Ok((listener, None, local));
        }
        match bind_udp(SocketAddr::V4(local), scope) {
            Ok(socket) => {
                local.set_port(socket.local_addr()?.port());
                return Ok((listener, Some(socket), local));
            }
            Err(err) if err.kind() == io::ErrorKind::AddrInUse && attempt < attempts => {}
            Err(err) => return Err(err),
        }
    }
}

/// Accepts on `listener`, or never completes when TCP is off.
pub(crate) async fn accept(listener: Option<&TcpListener>) -> io::Result<TcpStream> {
    match listener {
        Some(listener) => listener.accept().await.map(|(stream, _)| stream),
        None => std::future::pending().await,
    }
}

/// Receives on `socket`, or never completes when UDP is off.
pub(crate) async fn recv_from(
    socket: Option<&UdpSocket>,
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr)> {
    match socket {
        Some(socket) => socket.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// Serves a protocol on a TCP listener and a UDP socket sharing one port (either may be
/// off) until the returned handle stops it: each accepted connection, wrapped for the
/// recorder with `framing`, is served by `serve`; each datagram is recorded whole under
/// `label` and `answer`'s reply (if any) goes back to its sender.
///
/// Must run inside a Tokio runtime.
pub(crate) fn serve_tcp_and_udp<S, F>(
    (tcp, udp, local_addr): (Option<TcpListener>, Option<UdpSocket>, SocketAddrV4),
    recorder: Recorder,
    framing: Framing,
    label: &'static str,
    serve: S,
    answer: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + 'static,
) -> DeviceHandle
where
    S: Fn(crate::recorder::RecordingStream<TcpStream>) -> F + Send + 'static,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let device = SocketAddr::V4(local_addr);
    let task = tokio::spawn(async move {
        // Dropping the set when this task ends closes every connection it still holds.
        let mut connections = JoinSet::new();
        let mut datagram = vec![0u8; 65_535];
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = accept(tcp.as_ref()) => match accepted {
                    Ok(stream) => {
                        let Ok(stream) = recorder.wrap_tcp(stream, framing) else {
                            continue;
                        };
                        connections.spawn(serve(stream));
                    }
                    Err(err) => {
                        tracing::debug!(%device, %err, "{label} fixture accept failed");
                        tokio::time::sleep(ACCEPT_RETRY).await;
                    }
                },
                received = recv_from(udp.as_ref(), &mut datagram) => match (received, &udp) {
                    (Ok((len, peer)), Some(udp)) => {
                        let request = &datagram[..len];
                        recorder.record_datagram(device, peer, label, request);
                        if let Some(reply) = answer(request) {
                            if let Err(err) = udp.send_to(&reply, peer).await {
                                tracing::debug!(%device, %peer, %err, "{label} fixture send failed");
                            }
                        }
                    }
                    (Ok(_), None) => {}
                    // An ICMP error for an earlier reply surfaces here on Linux; the socket
                    // is still good.
                    (Err(err), _) if err.kind() == io::ErrorKind::ConnectionRefused => {}
                    (Err(err), _) => {
                        tracing::debug!(%device, %err, "{label} fixture receive failed");
                        tokio::time::sleep(ACCEPT_RETRY).await;
                    }
                },
            }
        }
    });
    DeviceHandle::new(device, cancel, task)
}

/// A running fixture. Dropping it aborts the fixture; [`DeviceHandle::shutdown`] stops it and
/// waits until its listener is closed.
#[derive(Debug)]
pub struct DeviceHandle {
    local_addr: SocketAddr,
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl DeviceHandle {
    pub(crate) fn new(
        local_addr: SocketAddr,
        cancel: CancellationToken,
        task: JoinHandle<()>,
    ) -> Self {
        Self {
            local_addr,
            cancel,
            task: Some(task),
        }
    }

    /// The address the fixture listens on (the real port if it was bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, closes open connections and returns once the listening port is free.
    /// Connection tasks finish on their own shortly after, so a [`Recorder`] may still count
    /// them as open for a moment.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            if let Err(err) = task.await {
                tracing::debug!(addr = %self.local_addr, %err, "fixture task ended abnormally");
            }
        }
    }
}

impl Drop for DeviceHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A device that completes the TCP handshake, records what it receives and never replies: the
/// case that must cost a scanner one timeout, not a hung scan.
#[derive(Debug)]
pub struct SilentTcpDevice;

impl SilentTcpDevice {
    /// Starts listening on `addr` (loopback only), recording received bytes cut by `framing`.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        framing: Framing,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let listener = bind_loopback(addr)?;
        serve_connections(
            listener,
            recorder,
            framing,
            "silent",
            |mut stream| async move {
                let mut buf = [0u8; 1024];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            },
        )
    }
}

/// Accepts TCP connections on `listener` until the returned handle stops it, records what
/// each receives cut by `framing`, and serves each with `serve`, several at once; stopping
/// closes every connection still open. `label` names the fixture in log lines.
pub(crate) fn serve_connections<F, Fut>(
    listener: TcpListener,
    recorder: Recorder,
    framing: Framing,
    label: &'static str,
    serve: F,
) -> io::Result<DeviceHandle>
where
    F: Fn(RecordingStream<TcpStream>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let local_addr = listener.local_addr()?;
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let task = tokio::spawn(async move {
        // Dropping the set when this task ends closes every connection it still holds.
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let Ok(stream) = recorder.wrap_tcp(stream, framing) else {
                            continue;
                        };
                        connections.spawn(serve(stream));
                    }
                    Err(err) => {
                        tracing::debug!(%local_addr, %err, label, "fixture accept failed");
                        tokio::time::sleep(ACCEPT_RETRY).await;
                    }
                },
            }
        }
    });
    Ok(DeviceHandle::new(local_addr, cancel, task))
}

/// Serves request/reply datagrams on `socket` until the returned handle stops it: every
/// datagram is recorded whole under `label`, and `handle`'s reply (if any) goes back to
/// its sender only.
pub(crate) fn serve_datagrams(
    socket: UdpSocket,
    recorder: Recorder,
    label: &'static str,
    mut handle: impl FnMut(&[u8]) -> Option<Vec<u8>> + Send + 'static,
) -> io::Result<DeviceHandle> {
    serve_datagrams_to(socket, recorder, label, move |request, peer| {
        handle(request).map(|reply| (reply, peer))
    })
}

/// [`serve_datagrams`] for a device that chooses where each reply goes (a CODESYS
/// runtime answers at the address and port the request names, not to its source):
/// `handle` gets the request and its source, and returns the reply and its destination.
pub(crate) fn serve_datagrams_to(
    socket: UdpSocket,
    recorder: Recorder,
    label: &'static str,
    mut handle: impl FnMut(&[u8], SocketAddr) -> Option<(Vec<u8>, SocketAddr)> + Send + 'static,
) -> io::Result<DeviceHandle> {
    let local_addr = socket.local_addr()?;
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                received = socket.recv_from(&mut buf) => match received {
                    Ok((len, peer)) => {
                        let request = &buf[..len];
                        recorder.record_datagram(local_addr, peer, label, request);
                        let Some((reply, to)) = handle(request, peer) else {
                            continue;
                        };
                        if let Err(err) = socket.send_to(&reply, to).await {
                            tracing::debug!(%local_addr, %peer, %err, label, "fixture send failed");
                        }
                    }
                    // An ICMP error for an earlier reply surfaces here on Linux; the socket
                    // is still good.
                    Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {}
                    Err(err) => {
                        tracing::debug!(%local_addr, %err, label, "fixture receive failed");
                        tokio::time::sleep(ACCEPT_RETRY).await;
                    }
                },
            }
        }
    });
    Ok(DeviceHandle::new(local_addr, cancel, task))
}
