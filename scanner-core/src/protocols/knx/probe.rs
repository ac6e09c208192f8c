//! The KNXnet/IP request script: one DESCRIPTION_REQUEST (and the scan's UDP retries).

use super::codec::{answers, parse, ParseError, Request, MAX_REPLY_LEN};
use super::details::{identity_fields, KnxDetails};
use super::KnxConfig;
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, Failure, FirstPacket};

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
        let start = session.sent();
        let request = Request::Description;
        let mut details = KnxDetails::default();
        let exchange = session
            .udp_exchange(
                self.port,
                &ReadOnlyRequest::Knx(request),
                MAX_REPLY_LEN,
                &|d, c| answers(&request, d, c),
            )
            .await;
        let mut first_rtt = None;
        let outcome: Result<(), Failure<ParseError>> = match exchange {
            Ok(reply) => {
                first_rtt = Some(reply.rtt);
                match parse(&reply.bytes) {
                    Ok(reply) => {
                        details.apply(&reply);
                        Ok(())
                    }
                    Err(e) => Err(Failure::Malformed(e)),
                }
            }
            Err(e) => Err(e.into()),
        };
        let mut end = ProbeEnd::new(
            KnxConfig::PROTOCOL,
            Transport::Udp,
            self.port,
            session,
            start,
        );
        end.first_rtt = first_rtt;
        end.outcome = outcome;
        end.identified = details.identifies();
        let identity = identity_fields(&details);
        let settled =
            end.settle(|| "KNXnet/IP description response without device information".to_owned());
        vec![(
            end.observation(settled, details, first_rtt.is_some()),
            identity,
        )]
    }
}
