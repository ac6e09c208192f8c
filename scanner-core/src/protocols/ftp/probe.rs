//! The FTP request script: connect, read the greeting, close with a FIN.

use super::codec::{frame, parse, ParseError, MAX_REPLY_LEN};
use super::details::{identity_fields, FtpDetails};
use super::FtpConfig;
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Transport};
use crate::record::ServiceObservation;
use crate::session::{DeviceSession, ExchangeError, Failure, FirstPacket};

impl RunProbe for FtpConfig {
    /// Reads the greeting on a new connection and closes it. A one-line greeting cut
    /// short (no line end before the timeout or the close) is still read, with a warning.
    /// A greeting other than 220 (421 not available, 120 not yet) is a refusal.
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let start = session.sent();
        let mut details = FtpDetails::default();
        let read = session.tcp_read(self.port, MAX_REPLY_LEN, &frame).await;
        session.close().await;
        let mut first_rtt = None;
        let outcome: Result<(), Failure<ParseError>> = match read {
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
            Err(e) => {
                // A greeting that never ended: read what came, if it is one.
                if let (
                    Failure::Exchange(ExchangeError::Timeout | ExchangeError::Closed),
                    Some(received),
                ) = (&e, session.received_since(start))
                {
                    if received.len == received.bytes.len() {
                        if let Ok(reply) = parse(&received.bytes) {
                            first_rtt = Some(received.rtt);
                            details.apply(&reply);
                        }
                    }
                }
                Err(e)
            }
        };
        let mut end = ProbeEnd::new(
            FtpConfig::PROTOCOL,
            Transport::Tcp,
            self.port,
            session,
            start,
        );
        end.first_rtt = first_rtt;
        end.outcome = outcome;
        end.identified = details.identifies();
        end.refused = details.code.is_some() && !end.identified;
        let identity = identity_fields(&details);
        let code = details.code;
        let settled = end.settle(|| match code {
            Some(code) => format!("FTP greeting {code}, not 220 (service ready)"),
            None => "no FTP greeting".to_owned(),
        });
        vec![(
            end.observation(settled, details, first_rtt.is_some()),
            identity,
        )]
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Tcp { port: self.port }]
    }
}
