//! Local-segment broadcast discovery, only when the user asks for it.
//!
//! `scan` is unicast only (safety rule 3). Discovery sends exactly one EtherNet/IP
//! ListIdentity datagram to an interface's broadcast address and listens for the
//! replies: devices delay them at random by up to about 2 s so that a segment's
//! answers do not collide, so the listening time is at least 2 s.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::protocols::enip::{self, EnipDetails};
use crate::record::{AssetRecord, Protocol, ServiceObservation, Status, Transport};
use crate::request::ReadOnlyRequest;

/// Shortest listening time: devices delay broadcast replies by up to about 2 s.
pub const MIN_LISTEN: Duration = Duration::from_secs(2);

/// Settings of one EtherNet/IP broadcast discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnipBroadcast {
    /// Interface whose IPv4 broadcast address is used (e.g. `eth0`).
    pub interface: String,
    /// Destination port (44818).
    pub port: u16,
    /// How long to collect replies (at least [`MIN_LISTEN`]).
    pub listen: Duration,
    /// Most devices recorded; further replies are counted and dropped.
    pub max_devices: usize,
    /// Scan id for the records.
    pub scan_id: String,
}

/// Why a discovery could not run.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// No interface of that name with an IPv4 broadcast address.
    #[error("interface '{0}' has no IPv4 address with a broadcast address")]
    NoBroadcast(String),
    /// The listening time is shorter than devices' reply delay.
    #[error("listening time {0:?} is shorter than the {MIN_LISTEN:?} devices may delay replies")]
    ListenTooShort(Duration),
    /// A socket error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What a discovery found.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryResult {
    /// One record per replying device, in order of arrival.
    pub records: Vec<AssetRecord>,
    /// Replies that could not be parsed, were duplicates, or came past `max_devices`.
    pub ignored_replies: u64,
    /// The broadcast address the request went to.
    pub broadcast: SocketAddr,
}

/// The interface's IPv4 address and broadcast address.
fn interface_broadcast(name: &str) -> Result<(Ipv4Addr, Ipv4Addr), DiscoveryError> {
    let interfaces = if_addrs::get_if_addrs()?;
    interfaces
        .into_iter()
        .filter(|i| i.name == name)
        .find_map(|i| match i.addr {
            if_addrs::IfAddr::V4(v4) => v4.broadcast.map(|b| (v4.ip, b)),
            if_addrs::IfAddr::V6(_) => None,
        })
        .ok_or_else(|| DiscoveryError::NoBroadcast(name.to_owned()))
}

/// Sends one ListIdentity to the interface's broadcast address and collects replies
/// for the listening time (or until `cancel`).
pub async fn discover_enip(
    config: &EnipBroadcast,
    cancel: &CancellationToken,
) -> Result<DiscoveryResult, DiscoveryError> {
    if config.listen < MIN_LISTEN {
        return Err(DiscoveryError::ListenTooShort(config.listen));
    }
    let (local, broadcast) = interface_broadcast(&config.interface)?;
    let socket = UdpSocket::bind((local, 0)).await?;
    socket.set_broadcast(true)?;
    let destination = SocketAddr::from((broadcast, config.port));
    // The context lets us tell our replies from other traffic on the port.
    let context = std::process::id() ^ 0x6f74_0000;
    let request = ReadOnlyRequest::Enip(enip::Request::ListIdentity).encode(context);
    let sent_at = tokio::time::Instant::now();
    socket.send_to(&request, destination).await?;
    let until = sent_at + config.listen;
    let mut buf = vec![0u8; enip::MAX_REPLY_LEN + 1];
    let mut seen = BTreeSet::new();
    let mut result = DiscoveryResult {
        records: Vec::new(),
        ignored_replies: 0,
        broadcast: destination,
    };
    loop {
        let received = tokio::select! {
            r = tokio::time::timeout_at(until, socket.recv_from(&mut buf)) => r,
            () = cancel.cancelled() => break,
        };
        let (n, from) = match received {
            Err(_) => break,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
            Ok(Err(e)) => return Err(e.into()),
            Ok(Ok(x)) => x,
        };
        let rtt = sent_at.elapsed();
        let reply = &buf[..n.min(enip::MAX_REPLY_LEN)];
        let parsed = match enip::codec::parse(reply) {
            Ok(p) if n <= enip::MAX_REPLY_LEN && enip::header_context(reply) == Some(context) => p,
            _ => {
                result.ignored_replies += 1;
                continue;
            }
        };
        let Some(identity) = parsed.identity().cloned() else {
            result.ignored_replies += 1;
            continue;
        };
        if result.records.len() >= config.max_devices || !seen.insert(from.ip()) {
            result.ignored_replies += 1;
            continue;
        }
        let mut record = AssetRecord::new(&config.scan_id, from.ip(), None);
        let observation = ServiceObservation {
            protocol: Protocol::Enip,
            transport: Transport::Udp,
            port: from.port(),
            status: Status::Success,
            rtt_ms: Some(crate::record::millis(rtt)),
            timestamp: jiff::Timestamp::now(),
            error: None,
            requests: 1,
            details: Some(EnipDetails::from_reply(&parsed).into()),
            received: None,
        };
        record.merge(observation, enip::identity_fields(&identity));
        crate::record::derive::finish(&mut record);
        result.records.push(record);
    }
    Ok(result)
}
