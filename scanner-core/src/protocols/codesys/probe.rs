//! The CODESYS V3 request script: one NameService resolve-address request from local
//! port 1740 (and the scan's UDP retries).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::codec::{answers, parse, ParseError, Request, SenderAddress, BASE_PORT, MAX_REPLY_LEN};
use super::details::{identity_fields, CodesysDetails};
use super::CodesysConfig;
use crate::protocols::probe::{OneDatagram, ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, ExchangeError, Failure, FirstPacket};

impl RunProbe for CodesysConfig {
    /// None while UDP 1740 is taken, none for an IPv6 target.
    const FIRST_PACKETS_VARY: bool = true;

    /// The resolve-address request itself, from local port 1740: the liveness phase's
    /// datagram is the probe's first try, and its socket receives the reply. None for an
    /// IPv6 device (the NameService over UDP addresses IPv4 hosts only), and none while
    /// another program holds UDP 1740 (the probe then reports that, if the device is
    /// found alive by another probe, instead of a silence it could not observe).
    fn first_packets(&self, ip: IpAddr) -> Vec<FirstPacket> {
        if reply_port_busy().is_some() {
            return Vec::new();
        }
        match resolve_address(ip, self.port) {
            Some(request) => vec![FirstPacket::Udp {
                port: self.port,
                local_port: BASE_PORT,
                request: ReadOnlyRequest::Codesys(request),
            }],
            None => Vec::new(),
        }
    }

    /// One resolve-address request; the identification is recorded.
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let Some(request) = resolve_address(session.ip(), self.port) else {
            return Vec::new();
        };
        let details = CodesysDetails::default();
        if let Some(reason) = reply_port_busy() {
            // Nothing sent: the answer would go to the other program.
            let mut end: ProbeEnd<ParseError> = ProbeEnd::new(
                CodesysConfig::PROTOCOL,
                Transport::Udp,
                self.port,
                session,
                session.sent(),
            );
            end.outcome = Err(Failure::Exchange(ExchangeError::Io(reason)));
            let settled = end.settle(String::new);
            return vec![(
                end.observation(settled, details, false),
                Identity::default(),
            )];
        }
        OneDatagram {
            protocol: CodesysConfig::PROTOCOL,
            port: self.port,
            local_port: BASE_PORT,
            request: ReadOnlyRequest::Codesys(request),
            max_len: MAX_REPLY_LEN,
            matches: &|d, c| answers(&request, d, c),
            identifies: CodesysDetails::identifies,
            identity: identity_fields,
            refusal: "CODESYS identification without a name",
        }
        .run(session, details, |bytes, details| {
            parse(bytes).map(|reply| details.apply(&reply))
        })
        .await
    }
}

/// The request to an IPv4 device: this host's source address towards it (the kernel's
/// route choice for a UDP socket connected to the device, which sends nothing) with the
/// prefix length of the interface holding that address (24 when no interface lists
/// it). `None` for an IPv6 device.
fn resolve_address(device: IpAddr, port: u16) -> Option<Request> {
    let IpAddr::V4(ip) = device else {
        return None;
    };
    let source = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.connect((ip, port)).map(|()| s))
        .and_then(|s| s.local_addr());
    let local = match source {
        Ok(SocketAddr::V4(local)) => *local.ip(),
        _ => Ipv4Addr::UNSPECIFIED,
    };
    let prefix = if_addrs::get_if_addrs()
        .ok()
        .and_then(|ifs| {
            ifs.into_iter().find_map(|i| match i.addr {
                if_addrs::IfAddr::V4(v4) if v4.ip == local => Some(v4.prefixlen),
                _ => None,
            })
        })
        .unwrap_or(24);
    Some(Request::ResolveAddress {
        sender: SenderAddress::new(local, prefix),
    })
}

/// Why the reply port cannot be used now: another program on this host holds UDP 1740
/// without `SO_REUSEPORT` (a CODESYS runtime or gateway), so a runtime's answer would go
/// to it. Checked by binding the port as the session does (address and port reuse), and
/// released at once; `None` when the port can be shared.
fn reply_port_busy() -> Option<String> {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .ok()?;
    socket.set_reuse_address(true).ok()?;
    socket.set_reuse_port(true).ok()?;
    let local = SocketAddr::from((Ipv4Addr::UNSPECIFIED, BASE_PORT));
    match socket.bind(&local.into()) {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Some(format!(
            "reply port UDP {BASE_PORT} is held by another program on this host (a CODESYS \
             runtime or gateway?): a runtime answers there, so nothing was sent"
        )),
        _ => None,
    }
}
