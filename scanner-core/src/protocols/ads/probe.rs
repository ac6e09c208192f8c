//! The ADS discovery request script: one Identify datagram (and the scan's retries).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::codec::{answers, parse, AmsNetId, Request, MAX_REPLY_LEN};
use super::details::{identity_fields, AdsDetails};
use super::AdsConfig;
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, Failure, FirstPacket};

impl RunProbe for AdsConfig {
    /// The sender AMS NetId comes from the route to each target.
    const FIRST_PACKETS_VARY: bool = true;

    /// The Identify request itself, from the same sender NetId the probe names: the
    /// liveness phase's datagram is the probe's first try.
    fn first_packets(&self, ip: IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Udp {
            port: self.port,
            local_port: 0,
            request: ReadOnlyRequest::Ads(self.identify(ip)),
        }]
    }

    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let start = session.sent();
        let request = self.identify(session.ip());
        let mut details = AdsDetails::default();
        let mut first_rtt = None;
        let mut result = Ok(());
        match session
            .udp_exchange(
                self.port,
                &ReadOnlyRequest::Ads(request),
                MAX_REPLY_LEN,
                &|d, c| answers(&request, d, c),
            )
            .await
        {
            Ok(reply) => {
                first_rtt = Some(reply.rtt);
                match parse(&reply.bytes) {
                    Ok(parsed) => details.apply_reply(&parsed),
                    Err(e) => result = Err(Failure::Malformed(e)),
                }
            }
            Err(e) => result = Err(e.into()),
        }
        session.close().await;
        let mut end = ProbeEnd::new(
            AdsConfig::PROTOCOL,
            Transport::Udp,
            self.port,
            session,
            start,
        );
        end.first_rtt = first_rtt;
        end.outcome = result;
        end.identified = details.ams_net_id.is_some();
        let settled = end.settle(|| "no Identify reply".to_owned());
        let identity = identity_fields(&details);
        vec![(
            end.observation(settled, details, first_rtt.is_some()),
            identity,
        )]
    }
}

impl AdsConfig {
    /// The Identify request to `ip`: from the configured sender NetId, else from
    /// [`sender_net_id`].
    fn identify(&self, ip: IpAddr) -> Request {
        Request::Identify {
            sender: self
                .sender_net_id
                .map_or_else(|| sender_net_id(ip, self.port), AmsNetId),
        }
    }
}

/// The sender AMS NetId: this host's IPv4 source address towards the device, then `.1.1`
/// (TwinCAT's default NetId for a host). The source address is the kernel's route choice
/// for a UDP socket connected to the device, which sends nothing; 0.0.0.0.1.1 when it
/// cannot be found or the device is IPv6.
fn sender_net_id(device: IpAddr, port: u16) -> AmsNetId {
    let IpAddr::V4(ip) = device else {
        return AmsNetId::from_ipv4(Ipv4Addr::UNSPECIFIED);
    };
    let source = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.connect((ip, port)).map(|()| s))
        .and_then(|s| s.local_addr());
    match source {
        Ok(SocketAddr::V4(local)) => AmsNetId::from_ipv4(*local.ip()),
        _ => AmsNetId::from_ipv4(Ipv4Addr::UNSPECIFIED),
    }
}
