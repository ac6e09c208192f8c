//! The PROFINET CM lookup script: one `ept_lookup` datagram (and the scan's retries).

use std::net::IpAddr;

use super::codec::{answers, parse, status_text, Body, Request, MAX_REPLY_LEN};
use super::details::{identity_fields, ProfinetDetails};
use super::ProfinetConfig;
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, Failure, FirstPacket};

impl RunProbe for ProfinetConfig {
    /// The lookup itself: the liveness phase's datagram is the probe's first try.
    fn first_packets(&self, _ip: IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Udp {
            port: self.port,
            local_port: 0,
            request: ReadOnlyRequest::Profinet(Request::Lookup),
        }]
    }

    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let start = session.sent();
        let request = Request::Lookup;
        let mut details = ProfinetDetails::default();
        let mut first_rtt = None;
        let mut result = Ok(());
        let mut refusal = None;
        match session
            .udp_exchange(
                self.port,
                &ReadOnlyRequest::Profinet(request),
                MAX_REPLY_LEN,
                &|d, c| answers(&request, d, c),
            )
            .await
        {
            Ok(reply) => {
                first_rtt = Some(reply.rtt);
                match parse(&reply.bytes) {
                    Ok(parsed) => {
                        refusal = match parsed.body {
                            Body::Fault(s) => Some(format!("ept_lookup fault {}", status_text(s))),
                            Body::Reject(s) => {
                                Some(format!("ept_lookup rejected: {}", status_text(s)))
                            }
                            Body::Lookup { status, .. } if status != 0 => {
                                Some(format!("ept_lookup status {}", status_text(status)))
                            }
                            Body::Lookup { .. } => None,
                        };
                        details.apply_reply(&parsed);
                    }
                    Err(e) => result = Err(Failure::Malformed(e)),
                }
            }
            Err(e) => result = Err(e.into()),
        }
        session.close().await;
        let mut end = ProbeEnd::new(
            ProfinetConfig::PROTOCOL,
            Transport::Udp,
            self.port,
            session,
            start,
        );
        end.first_rtt = first_rtt;
        end.outcome = result;
        end.identified = details.identifies();
        end.refused = refusal.is_some() || (first_rtt.is_some() && end.outcome.is_ok());
        let settled = end.settle(|| {
            refusal.unwrap_or_else(|| "ept_lookup answered without an annotation".to_owned())
        });
        let identity = identity_fields(&details);
        vec![(
            end.observation(settled, details, first_rtt.is_some()),
            identity,
        )]
    }
}
