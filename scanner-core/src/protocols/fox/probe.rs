//! The Fox request script: connect, send the hello, read the station's reply to its end,
//! close the connection with a FIN.

use super::codec::{frame, parse_hello_reply, ParseError, Request};
use super::details::{identity_fields, FoxDetails};
use super::FoxConfig;
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, Failure, FirstPacket};

impl RunProbe for FoxConfig {
    /// One hello on a new connection; the reply's tuples are recorded. A station that
    /// answers with a `fatal` tuple, an error frame or a `close` refused: it speaks Fox.
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let start = session.sent();
        let mut details = FoxDetails::default();
        let exchange = session
            .tcp_exchange(
                self.port,
                &ReadOnlyRequest::Fox(Request::Hello),
                self.max_reply_bytes,
                &frame,
            )
            .await;
        session.close().await;
        let mut first_rtt = None;
        let outcome: Result<(), Failure<ParseError>> = match exchange {
            Ok(reply) => {
                first_rtt = Some(reply.rtt);
                match parse_hello_reply(&reply.bytes) {
                    Ok(reply) => {
                        details.apply(&reply);
                        Ok(())
                    }
                    Err(e) => Err(Failure::Malformed(e)),
                }
            }
            Err(e) => Err(e),
        };
        let mut end = ProbeEnd::new(
            FoxConfig::PROTOCOL,
            Transport::Tcp,
            self.port,
            session,
            start,
        );
        end.first_rtt = first_rtt;
        end.outcome = outcome;
        let refused = details.fatal.is_some()
            || details
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with("fox e ") || m.ends_with(" close"));
        end.identified = !refused && details.identifies();
        end.refused = refused || details.message.is_some();
        let identity = if end.identified {
            identity_fields(&details)
        } else {
            Identity::default()
        };
        let settled = end.settle(|| refusal_summary(&details));
        vec![(
            end.observation(settled, details, first_rtt.is_some()),
            identity,
        )]
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Tcp { port: self.port }]
    }
}

/// Why a station that answered gave no identification.
fn refusal_summary(details: &FoxDetails) -> String {
    if let Some(fatal) = &details.fatal {
        return format!("Fox hello refused: fatal {:?}", fatal.text);
    }
    match details.message.as_deref() {
        Some(m) if m.starts_with("fox e ") || m.ends_with(" close") => {
            let reason = details
                .other_keys
                .first()
                .map(|t| format!(": {}={:?}", t.key.text, t.value.text))
                .unwrap_or_default();
            format!("Fox hello refused ({m}){reason}")
        }
        _ => "Fox hello reply without identification".to_owned(),
    }
}
