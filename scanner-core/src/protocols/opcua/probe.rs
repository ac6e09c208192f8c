//! The OPC UA request script: Hello, OpenSecureChannel (SecurityPolicy None),
//! GetEndpoints, FindServers (unless turned off), CloseSecureChannel, then the TCP
//! connection is closed with a FIN. An Error message ends the script (the server closes
//! the connection after it); a failed service still gets its channel closed.

use super::codec::{
    frame, frame_nothing, is_bad, parse, EndpointUrl, Message, ParseError, Request, SecureChannel,
    MAX_REPLY_LEN,
};
use super::details::{identity_fields, OpcuaDetails};
use super::OpcuaConfig;
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, ExchangeError, Failure, FirstPacket};

type Error = Failure<ParseError>;

struct OpcuaRun<'a> {
    session: &'a mut DeviceSession,
    config: &'a OpcuaConfig,
    endpoint_url: EndpointUrl,
    first_rtt: Option<std::time::Duration>,
    details: OpcuaDetails,
}

/// How a step ended.
enum Step<T> {
    /// The answer the step wanted.
    Done(T),
    /// The service failed (ServiceFault or a bad service result): the channel stays open.
    Failed,
    /// An Error message or abort chunk: the server closes the connection.
    Refused,
}

impl OpcuaRun<'_> {
    async fn ask(&mut self, request: Request) -> Result<super::codec::Reply, Error> {
        let reply = self
            .session
            .tcp_exchange(
                self.config.port,
                &ReadOnlyRequest::Opcua(request),
                MAX_REPLY_LEN,
                &frame,
            )
            .await?;
        self.first_rtt.get_or_insert(reply.rtt);
        let parsed = parse(&reply.bytes).map_err(Failure::Malformed)?;
        self.details
            .warnings
            .extend(parsed.warnings.iter().cloned());
        Ok(parsed)
    }

    /// Records what refused `step`, or fails on a reply of the wrong kind.
    fn refusal<T>(
        &mut self,
        step: &str,
        expected: &'static str,
        message: &Message,
    ) -> Result<Step<T>, Error> {
        match message {
            Message::Error(e) | Message::Abort(e) => {
                self.details.apply_error_message(step, e);
                Ok(Step::Refused)
            }
            Message::ServiceFault(header) => {
                self.details.apply_error(step, header.service_result, None);
                Ok(Step::Failed)
            }
            other => Err(Failure::Malformed(ParseError::Unexpected {
                expected,
                got: other.kind().to_owned(),
            })),
        }
    }

    async fn hello(&mut self) -> Result<Step<()>, Error> {
        let endpoint_url = self.endpoint_url.clone();
        let reply = self.ask(Request::Hello { endpoint_url }).await?;
        match &reply.message {
            Message::Acknowledge(ack) => {
                self.details.apply_acknowledge(ack);
                Ok(Step::Done(()))
            }
            other => self.refusal("hello", "Acknowledge", other),
        }
    }

    async fn open(&mut self) -> Result<Step<SecureChannel>, Error> {
        let reply = self.ask(Request::OpenSecureChannel).await?;
        match &reply.message {
            Message::OpenSecureChannel(open) if is_bad(open.header.service_result) => {
                self.details
                    .apply_error("open", open.header.service_result, None);
                Ok(Step::Failed)
            }
            Message::OpenSecureChannel(open) => {
                self.details.apply_open(open);
                Ok(Step::Done(open.channel))
            }
            other => self.refusal("open", "OpenSecureChannelResponse", other),
        }
    }

    async fn get_endpoints(&mut self, channel: SecureChannel) -> Result<Step<()>, Error> {
        let endpoint_url = self.endpoint_url.clone();
        let reply = self
            .ask(Request::GetEndpoints {
                channel,
                endpoint_url,
            })
            .await?;
        match &reply.message {
            Message::GetEndpoints { header, .. } if is_bad(header.service_result) => {
                self.details
                    .apply_error("get-endpoints", header.service_result, None);
                Ok(Step::Failed)
            }
            Message::GetEndpoints { endpoints, .. } => {
                self.details.apply_endpoints(endpoints);
                Ok(Step::Done(()))
            }
            other => self.refusal("get-endpoints", "GetEndpointsResponse", other),
        }
    }

    async fn find_servers(&mut self, channel: SecureChannel) -> Result<Step<()>, Error> {
        let endpoint_url = self.endpoint_url.clone();
        let reply = self
            .ask(Request::FindServers {
                channel,
                endpoint_url,
            })
            .await?;
        match &reply.message {
            Message::FindServers { header, servers } if !is_bad(header.service_result) => {
                self.details.apply_servers(servers);
                Ok(Step::Done(()))
            }
            // FindServers failing after GetEndpoints answered is a note, not a refusal.
            Message::FindServers { header, .. } | Message::ServiceFault(header)
                if self.details.identifies() =>
            {
                self.details.warnings.push(format!(
                    "FindServers failed with {:#010x} ({})",
                    header.service_result,
                    super::codec::status_name(header.service_result).unwrap_or("unknown")
                ));
                Ok(Step::Failed)
            }
            Message::FindServers { header, .. } => {
                self.details
                    .apply_error("find-servers", header.service_result, None);
                Ok(Step::Failed)
            }
            other => self.refusal("find-servers", "FindServersResponse", other),
        }
    }

    /// Sends CloseSecureChannel, which nothing answers.
    async fn close_channel(&mut self, channel: SecureChannel) -> Result<(), Error> {
        self.session
            .tcp_exchange(
                self.config.port,
                &ReadOnlyRequest::Opcua(Request::CloseSecureChannel { channel }),
                MAX_REPLY_LEN,
                &frame_nothing,
            )
            .await
            .map(|_| ())
    }
}

async fn run_probe(run: &mut OpcuaRun<'_>) -> Result<(), Error> {
    if !matches!(run.hello().await?, Step::Done(())) {
        return Ok(());
    }
    let channel = match run.open().await? {
        Step::Done(channel) => channel,
        Step::Failed | Step::Refused => return Ok(()),
    };
    // Whatever the discovery services answer, the channel is closed unless the server
    // already dropped the connection (an Error, or a transport failure).
    let discovery = discover(run, channel).await;
    match discovery {
        Ok(true) => run.close_channel(channel).await,
        Ok(false) => Ok(()),
        // A server that went quiet keeps the connection: its channel is still closed.
        Err(e @ Failure::Exchange(ExchangeError::Timeout)) => {
            let _ = run.close_channel(channel).await;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// GetEndpoints then FindServers; `Ok(true)` while the connection is still open.
async fn discover(run: &mut OpcuaRun<'_>, channel: SecureChannel) -> Result<bool, Error> {
    if matches!(run.get_endpoints(channel).await?, Step::Refused) {
        return Ok(false);
    }
    if run.config.find_servers && matches!(run.find_servers(channel).await?, Step::Refused) {
        return Ok(false);
    }
    Ok(true)
}

impl RunProbe for OpcuaConfig {
    /// Hello, OpenSecureChannel (None), GetEndpoints, FindServers, CloseSecureChannel.
    /// A server that refuses with an Error message is recorded with its status code.
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let start = session.sent();
        let endpoint_url = EndpointUrl::new(session.ip(), self.port);
        let mut run = OpcuaRun {
            session,
            config: self,
            endpoint_url,
            first_rtt: None,
            details: OpcuaDetails::default(),
        };
        let outcome = run_probe(&mut run).await;
        run.session.close().await;
        let OpcuaRun {
            session,
            first_rtt,
            details,
            ..
        } = run;
        let mut end = ProbeEnd::new(
            OpcuaConfig::PROTOCOL,
            Transport::Tcp,
            self.port,
            session,
            start,
        );
        end.first_rtt = first_rtt;
        end.outcome = outcome;
        end.identified = details.identifies();
        end.refused = details.error_status.is_some();
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

/// Why a server that answered gave no identification.
fn refusal_summary(details: &OpcuaDetails) -> String {
    match details.error_status {
        Some(status) => {
            let mut text = format!(
                "OPC UA {} refused: {:#010x} ({})",
                details.error_step.as_deref().unwrap_or("request"),
                status,
                details.error_name.as_deref().unwrap_or("unknown status")
            );
            if let Some(reason) = details.error_reason.as_ref().and_then(|r| r.trimmed()) {
                text.push_str(&format!(": {reason}"));
            }
            text
        }
        None => "no application description in the replies".to_owned(),
    }
}
