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

/// Most warnings one DCP discovery keeps; further ones are counted only.
pub const MAX_DCP_WARNINGS: usize = 64;
/// Bytes read of one frame: an Ethernet frame with an 802.1Q tag (1518) and room to spare;
/// anything longer is cut there.
pub const MAX_DCP_FRAME: usize = 1600;

/// Settings of one PROFINET DCP Identify All.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfinetDcp {
    /// Interface the request leaves by (e.g. `eth1`); it needs no IP address.
    pub interface: String,
    /// How long to collect replies (at least [`MIN_LISTEN`]).
    pub listen: Duration,
    /// Most stations recorded; further replies are counted and dropped.
    pub max_devices: usize,
    /// Scan id for the records.
    pub scan_id: String,
}

/// Why a DCP discovery could not run; nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum DcpDiscoveryError {
    /// No interface of that name, or one without a MAC address.
    #[error("--interface {0}: no such Ethernet interface (none of that name with a MAC address)")]
    NoInterface(String),
    /// The listening time is shorter than the reply spread.
    #[error("listening time {0:?} is shorter than {MIN_LISTEN:?}")]
    ListenTooShort(Duration),
    /// The raw socket needs CAP_NET_RAW.
    #[error("--profinet needs CAP_NET_RAW (a raw Ethernet socket on --interface {0}): {1}")]
    NotPermitted(String, std::io::Error),
    /// Another socket error (the interface down, no buffer space...).
    #[error("--interface {0}: {1}")]
    Io(String, std::io::Error),
}

/// What a DCP discovery found.
#[derive(Debug, Clone, PartialEq)]
pub struct DcpDiscoveryResult {
    /// One record per answering station (by MAC), in order of arrival.
    pub records: Vec<AssetRecord>,
    /// Replies that were not ours (another xid), malformed, duplicates or past
    /// `max_devices`.
    pub ignored_replies: u64,
    /// Why replies were ignored, at most [`MAX_DCP_WARNINGS`].
    pub warnings: Vec<String>,
    /// The request's xid.
    pub xid: u32,
    /// The response delay factor sent (10 ms units).
    pub response_delay: u16,
}

/// The response delay factor for a listening time: stations spread their replies over
/// all but the last second of it (at 10 ms a step, within the standard's 1-6400).
pub fn dcp_response_delay(listen: Duration) -> u16 {
    let spread = listen.saturating_sub(Duration::from_secs(1)).as_millis() / 10;
    u16::try_from(spread)
        .unwrap_or(crate::protocols::profinet::dcp::MAX_RESPONSE_DELAY)
        .clamp(1, crate::protocols::profinet::dcp::MAX_RESPONSE_DELAY)
}

/// Sends one DCP Identify All to 01:0E:CF:00:00:00 out of the interface and collects the
/// Identify responses carrying its xid for the listening time (or until `cancel`).
///
/// The socket is AF_PACKET/SOCK_RAW for EtherType 0x8892 only, bound to the interface;
/// the reading runs on a blocking thread that polls in 100 ms steps up to the deadline.
pub async fn discover_profinet_dcp(
    config: &ProfinetDcp,
    cancel: &CancellationToken,
) -> Result<DcpDiscoveryResult, DcpDiscoveryError> {
    if config.listen < MIN_LISTEN {
        return Err(DcpDiscoveryError::ListenTooShort(config.listen));
    }
    let interface = config.interface.clone();
    let config = config.clone();
    let cancel = cancel.clone();
    match tokio::task::spawn_blocking(move || dcp_blocking(&config, &cancel)).await {
        Ok(r) => r,
        Err(e) => Err(DcpDiscoveryError::Io(
            interface,
            std::io::Error::other(e.to_string()),
        )),
    }
}

/// The sending and receiving halves of a raw Ethernet socket.
type DcpChannel = (
    Box<dyn pnet_datalink::DataLinkSender>,
    Box<dyn pnet_datalink::DataLinkReceiver>,
);

/// A raw socket for EtherType 0x8892 on `interface`, as a pnet channel.
fn dcp_channel(
    interface: &pnet_datalink::NetworkInterface,
) -> Result<DcpChannel, DcpDiscoveryError> {
    use crate::protocols::profinet::dcp::ETHERTYPE;
    use std::os::fd::IntoRawFd;
    let name = || interface.name.clone();
    // socket2 opens the socket for 0x8892 alone (pnet's own Layer2 socket would take
    // every EtherType); pnet binds it to the interface with the same protocol.
    let protocol = socket2::Protocol::from(i32::from(ETHERTYPE.to_be()));
    let socket = socket2::Socket::new(socket2::Domain::PACKET, socket2::Type::RAW, Some(protocol))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => DcpDiscoveryError::NotPermitted(name(), e),
            _ => DcpDiscoveryError::Io(name(), e),
        })?;
    let pnet_config = pnet_datalink::Config {
        read_buffer_size: MAX_DCP_FRAME,
        write_buffer_size: MAX_DCP_FRAME,
        read_timeout: Some(Duration::from_millis(100)),
        write_timeout: Some(Duration::from_secs(1)),
        channel_type: pnet_datalink::ChannelType::Layer3(ETHERTYPE),
        promiscuous: false,
        socket_fd: Some(socket.into_raw_fd()),
        ..pnet_datalink::Config::default()
    };
    match pnet_datalink::channel(interface, pnet_config) {
        Ok(pnet_datalink::Channel::Ethernet(tx, rx)) => Ok((tx, rx)),
        Ok(_) => Err(DcpDiscoveryError::Io(
            name(),
            std::io::Error::other("not an Ethernet channel"),
        )),
        Err(e) => Err(DcpDiscoveryError::Io(name(), e)),
    }
}

fn dcp_blocking(
    config: &ProfinetDcp,
    cancel: &CancellationToken,
) -> Result<DcpDiscoveryResult, DcpDiscoveryError> {
    use crate::protocols::profinet::{self, dcp};
    let interface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == config.interface)
        .filter(|i| i.mac.is_some_and(|m| m != pnet_datalink::MacAddr::zero()))
        .ok_or_else(|| DcpDiscoveryError::NoInterface(config.interface.clone()))?;
    let own_mac = interface.mac.map(|m| m.octets()).unwrap_or_default();
    let (mut tx, mut rx) = dcp_channel(&interface)?;
    // Our replies carry it back: the process id and the clock, so two runs differ.
    let xid = std::process::id().rotate_left(16)
        ^ jiff::Timestamp::now().subsec_nanosecond().unsigned_abs();
    let response_delay = dcp_response_delay(config.listen);
    let frame = dcp::ethernet_frame(
        own_mac,
        &dcp::DcpRequest::IdentifyAll {
            xid,
            response_delay,
        },
    );
    let sent_at = std::time::Instant::now();
    match tx.send_to(&frame, None) {
        Some(Ok(())) => {}
        Some(Err(e)) => return Err(DcpDiscoveryError::Io(config.interface.clone(), e)),
        None => {
            return Err(DcpDiscoveryError::Io(
                config.interface.clone(),
                std::io::Error::other("frame larger than the send buffer"),
            ))
        }
    }
    let until = sent_at + config.listen;
    let mut result = DcpDiscoveryResult {
        records: Vec::new(),
        ignored_replies: 0,
        warnings: Vec::new(),
        xid,
        response_delay,
    };
    let mut seen = BTreeSet::new();
    let ignore = |result: &mut DcpDiscoveryResult, why: String| {
        result.ignored_replies += 1;
        if result.warnings.len() < MAX_DCP_WARNINGS {
            result.warnings.push(why);
        }
    };
    while std::time::Instant::now() < until && !cancel.is_cancelled() {
        let bytes = match rx.next() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DcpDiscoveryError::Io(config.interface.clone(), e)),
        };
        let rtt = sent_at.elapsed();
        let from = bytes.get(6..12).map(|m| {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(m);
            mac
        });
        let source = from.map(profinet::mac_text).unwrap_or_default();
        // Our own request, and other stations' requests (Hello, another master's Identify).
        if from == Some(own_mac) {
            continue;
        }
        let response = match dcp::parse_identify_response(bytes) {
            Ok(r) => r,
            Err(dcp::DcpError::NotIdentifyResponse { .. }) => continue,
            Err(e) => {
                ignore(&mut result, format!("frame from {source}: {e}"));
                continue;
            }
        };
        if response.xid != xid {
            ignore(
                &mut result,
                format!(
                    "Identify response from {source} with xid {:#010x}, not ours ({xid:#010x})",
                    response.xid
                ),
            );
            continue;
        }
        if !seen.insert(response.mac) {
            ignore(
                &mut result,
                format!("second Identify response from {source}"),
            );
            continue;
        }
        if result.records.len() >= config.max_devices {
            ignore(
                &mut result,
                format!(
                    "Identify response from {source} past {} stations",
                    config.max_devices
                ),
            );
            continue;
        }
        let details = profinet::ProfinetDetails::from_dcp(&response);
        let identity = profinet::dcp_identity_fields(&details);
        let ip = response
            .ip
            .map_or(Ipv4Addr::UNSPECIFIED, |(a, _, _)| Ipv4Addr::from(a));
        let mut record = AssetRecord::new(&config.scan_id, ip.into(), None);
        let observation = ServiceObservation {
            protocol: Protocol::Profinet,
            transport: Transport::Ethernet,
            port: 0,
            status: Status::Success,
            rtt_ms: Some(crate::record::millis(rtt)),
            timestamp: jiff::Timestamp::now(),
            error: None,
            requests: 1,
            details: Some(details.into()),
            received: None,
        };
        record.merge(observation, identity);
        crate::record::derive::finish(&mut record);
        result.records.push(record);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dcp_replies_spread_over_all_but_the_last_second() {
        assert_eq!(dcp_response_delay(Duration::from_secs(2)), 100);
        assert_eq!(dcp_response_delay(Duration::from_secs(3)), 200);
        assert_eq!(dcp_response_delay(Duration::from_millis(500)), 1);
        assert_eq!(dcp_response_delay(Duration::from_secs(3600)), 6400);
    }
}
