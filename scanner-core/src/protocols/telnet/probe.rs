//! The telnet request script: connect, read, refuse what the server asks for, stop at a
//! prompt, the size cap or the deadline, close with a FIN.

use std::time::Instant;

use super::codec::{check_text, ends_with_prompt, frame, parse, ParseError, Refusal, Request};
use super::details::{identity_fields, TelnetDetails};
use super::{TelnetConfig, MAX_REFUSAL_ROUNDS, MAX_REPLY_LEN};
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, ExchangeError, Failure, FirstPacket};

impl RunProbe for TelnetConfig {
    /// Reads for at most one read timeout in all. The end of the wait after something was
    /// read is the banner's end, not a failure.
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let start = session.sent();
        let deadline = Instant::now() + session.read_timeout();
        let mut details = TelnetDetails::default();
        let mut first_rtt = None;
        let mut send: Option<ReadOnlyRequest> = None;
        let mut text = Vec::new();
        let outcome: Result<(), Failure<ParseError>> = loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let room = MAX_REPLY_LEN.saturating_sub(details.bytes_read).max(1);
            let read = session
                .tcp_talk(self.port, send.take().as_ref(), room, &frame, wait)
                .await;
            let reply = match read {
                Ok(reply) => reply,
                // Quiet until the deadline after a banner: the banner is whole.
                Err(Failure::Exchange(ExchangeError::Timeout)) if details.bytes_read > 0 => {
                    break Ok(())
                }
                Err(Failure::Exchange(ExchangeError::Oversized(_))) if details.bytes_read > 0 => {
                    details
                        .warnings
                        .push(format!("banner cut at {MAX_REPLY_LEN} bytes"));
                    break Ok(());
                }
                Err(e) => break Err(e),
            };
            first_rtt.get_or_insert(reply.rtt);
            let chunk = match parse(&reply.bytes) {
                Ok(chunk) => chunk,
                Err(e) => break Err(Failure::Malformed(e)),
            };
            let (new_do, new_will) = details.add(&chunk, reply.bytes.len());
            text.extend_from_slice(&chunk.text);
            if let Err(e) = check_text(&text) {
                // Not a banner: nothing of it is kept as one (the bytes are in the
                // record's `received`).
                text.clear();
                break Err(Failure::Malformed(e));
            }
            let refusals: Vec<Refusal> = new_do
                .into_iter()
                .map(Refusal::Wont)
                .chain(new_will.into_iter().map(Refusal::Dont))
                .collect();
            if details.bytes_read >= MAX_REPLY_LEN {
                details
                    .warnings
                    .push(format!("banner cut at {MAX_REPLY_LEN} bytes"));
                break Ok(());
            }
            if !refusals.is_empty() {
                if details.refusal_rounds == MAX_REFUSAL_ROUNDS {
                    details.warnings.push(format!(
                        "negotiation went on past {MAX_REFUSAL_ROUNDS} rounds of refusals"
                    ));
                    break Ok(());
                }
                details.refusal_rounds += 1;
                send = Some(ReadOnlyRequest::Telnet(Request::Refuse(refusals)));
                continue;
            }
            if ends_with_prompt(&text) {
                break Ok(());
            }
            if Instant::now() >= deadline {
                break Ok(());
            }
        };
        session.close().await;
        details.finish(&text);
        let mut end = ProbeEnd::new(
            TelnetConfig::PROTOCOL,
            Transport::Tcp,
            self.port,
            session,
            start,
        );
        end.first_rtt = first_rtt;
        end.outcome = outcome;
        end.identified = details.identifies();
        let identity = identity_fields(&details);
        let settled = end.settle(|| "no telnet banner".to_owned());
        vec![(
            end.observation(settled, details, first_rtt.is_some()),
            identity,
        )]
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Tcp { port: self.port }]
    }
}
