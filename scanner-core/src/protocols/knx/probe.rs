//! The KNXnet/IP request script: one DESCRIPTION_REQUEST (and the scan's UDP retries).

use super::codec::{answers, parse, Request, MAX_REPLY_LEN};
use super::details::{identity_fields, KnxDetails};
use super::KnxConfig;
use crate::protocols::probe::{OneDatagram, ProbeConfig, RunProbe};
use crate::record::fields::Identity;
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, FirstPacket};

impl RunProbe for KnxConfig {
    /// The description request itself: the liveness phase's datagram is the probe's
    /// first try.
    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Udp {
            port: self.port,
            local_port: 0,
            request: ReadOnlyRequest::Knx(Request::Description),
        }]
    }

    /// One description request; the response's DIBs are recorded.
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let request = Request::Description;
        OneDatagram {
            protocol: KnxConfig::PROTOCOL,
            port: self.port,
            local_port: 0,
            request: ReadOnlyRequest::Knx(request),
            max_len: MAX_REPLY_LEN,
            matches: &|d, c| answers(&request, d, c),
            identifies: KnxDetails::identifies,
            identity: identity_fields,
            refusal: "KNXnet/IP description response without device information",
        }
        .run(session, KnxDetails::default(), |bytes, details| {
            parse(bytes).map(|reply| details.apply(&reply))
        })
        .await
    }
}
