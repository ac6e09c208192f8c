//! The BACnet/IP request script: ReadPropertyMultiple with the wildcard instance; a
//! unicast Who-Is when the device refuses the wildcard; single ReadProperty requests
//! when it rejects or aborts ReadPropertyMultiple.

use super::codec::{
    answers, check_answers, parse, DeviceInstance, ErrorClassCode, ParseError, Payload, PropertyId,
    Reply, Request, MAX_REPLY_LEN,
};
use super::codec::{error_class_name, error_code_name};
use super::details::{identity_fields, BacnetDetails, BacnetRefusal};
use super::BacnetConfig;
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, Failure, FirstPacket};

type Error = Failure<ParseError>;

struct BacnetRun<'a> {
    session: &'a mut DeviceSession,
    config: &'a BacnetConfig,
    first_rtt: Option<std::time::Duration>,
    details: BacnetDetails,
}

impl BacnetRun<'_> {
    /// One request and its parsed answer, checked to answer it.
    async fn ask(&mut self, request: Request) -> Result<Reply, Error> {
        let reply = self
            .session
            .udp_exchange_from(
                self.config.source_port.unwrap_or(0),
                self.config.port,
                &ReadOnlyRequest::Bacnet(request.clone()),
                MAX_REPLY_LEN,
                &|d, c| answers(&request, d, c),
            )
            .await?;
        self.first_rtt.get_or_insert(reply.rtt);
        let parsed = parse(&reply.bytes).map_err(Failure::Malformed)?;
        check_answers(&request, &parsed).map_err(Failure::Malformed)?;
        Ok(parsed)
    }

    fn instance(&self) -> DeviceInstance {
        self.details
            .device_instance
            .and_then(DeviceInstance::new)
            .unwrap_or(DeviceInstance::WILDCARD)
    }

    /// Who-Is by unicast; true when the device named its instance.
    async fn who_is(&mut self) -> Result<bool, Error> {
        let reply = self.ask(Request::WhoIs { range: None }).await?;
        self.details.absorb(&reply);
        Ok(self.details.device_instance.is_some())
    }

    /// ReadPropertyMultiple of every identification property. `Ok(true)`: the device
    /// answered with values; `Ok(false)`: it refused (the refusal is recorded).
    async fn read_multiple(&mut self) -> Result<bool, Error> {
        let reply = self
            .ask(Request::ReadPropertyMultiple {
                device: self.instance(),
                properties: PropertyId::ALL.to_vec(),
            })
            .await?;
        self.details.absorb(&reply);
        Ok(matches!(
            reply.payload,
            Payload::ReadPropertyMultipleAck { .. }
        ))
    }

    /// One ReadProperty; a property the device does not have is a warning.
    async fn read_one(&mut self, property: PropertyId) -> Result<Payload, Error> {
        let reply = self
            .ask(Request::ReadProperty {
                device: self.instance(),
                property,
            })
            .await?;
        match &reply.payload {
            Payload::Error { error, .. } if !is_unknown_object(&reply.payload) => {
                self.details.warnings.extend(reply.warnings.iter().cloned());
                self.details.warnings.push(format!(
                    "{}: error {}",
                    property.name(),
                    error.map_or_else(|| "without class and code".to_owned(), error_text)
                ));
            }
            _ => self.details.absorb(&reply),
        }
        Ok(reply.payload)
    }
}

/// True when the details identify the device (an instance, a vendor or a name).
fn identifies(d: &BacnetDetails) -> bool {
    d.device_instance.is_some()
        || d.vendor_id.is_some()
        || d.vendor_name.is_some()
        || d.model_name.is_some()
        || d.object_name.is_some()
        || d.firmware_revision.is_some()
}

fn error_text(e: ErrorClassCode) -> String {
    format!(
        "{}/{}",
        error_class_name(e.class).map_or_else(|| e.class.to_string(), str::to_owned),
        error_code_name(e.code).map_or_else(|| e.code.to_string(), str::to_owned)
    )
}

/// True for Error object / unknown-object: the device refuses the wildcard instance.
fn is_unknown_object(payload: &Payload) -> bool {
    matches!(
        payload,
        Payload::Error {
            error: Some(ErrorClassCode { class: 1, code: 31 }),
            ..
        }
    )
}

impl RunProbe for BacnetConfig {
    /// ReadPropertyMultiple of the Device object's identification properties with
    /// the wildcard instance, a unicast Who-Is when the device refuses the wildcard,
    /// single ReadProperty requests when it rejects or aborts ReadPropertyMultiple.
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let start = session.sent();
        let mut run = BacnetRun {
            session,
            config: self,
            first_rtt: None,
            details: BacnetDetails::default(),
        };
        let outcome = run_probe(&mut run).await;
        let BacnetRun {
            session,
            first_rtt,
            details,
            ..
        } = run;
        let mut end = ProbeEnd::new(
            BacnetConfig::PROTOCOL,
            Transport::Udp,
            self.port,
            session,
            start,
        );
        end.first_rtt = first_rtt;
        end.outcome = outcome;
        end.identified = identifies(&details);
        end.refused = !details.refusals.is_empty();
        let identity = if end.identified {
            identity_fields(&details)
        } else {
            Identity::default()
        };
        let settled = end.settle(|| match details.refusals.first() {
            Some(refusal) => format!("device refused: {}", refusal_text(refusal)),
            None => "no identification in the replies".to_owned(),
        });
        let keep = first_rtt.is_some();
        vec![(end.observation(settled, details, keep), identity)]
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        let request = if self.read_property_multiple {
            Request::ReadPropertyMultiple {
                device: DeviceInstance::WILDCARD,
                properties: PropertyId::ALL.to_vec(),
            }
        } else {
            Request::ReadProperty {
                device: DeviceInstance::WILDCARD,
                property: PropertyId::ALL[0],
            }
        };
        vec![FirstPacket::Udp {
            port: self.port,
            local_port: self.source_port.unwrap_or(0),
            request: ReadOnlyRequest::Bacnet(request),
        }]
    }
}

async fn run_probe(run: &mut BacnetRun<'_>) -> Result<(), Error> {
    if run.config.read_property_multiple {
        if run.read_multiple().await? {
            return Ok(());
        }
        let refused_wildcard = run.details.refusals.last().is_some_and(|r| {
            matches!(
                r,
                BacnetRefusal::Error {
                    error_class: Some(1),
                    error_code: Some(31),
                    ..
                }
            )
        });
        if refused_wildcard {
            if !run.config.who_is_fallback || !run.who_is().await? {
                return Ok(());
            }
            if run.read_multiple().await? {
                return Ok(());
            }
        }
        // Rejected or aborted (e.g. the answer needs segmentation): one property at a time.
    }
    read_each(run).await
}

/// ReadProperty of each identification property in turn.
async fn read_each(run: &mut BacnetRun<'_>) -> Result<(), Error> {
    for property in PropertyId::ALL {
        if property == PropertyId::ObjectIdentifier && run.details.device_instance.is_some() {
            continue;
        }
        let payload = run.read_one(property).await?;
        if is_unknown_object(&payload) {
            // The wildcard is refused: learn the instance, then ask again, or stop.
            if run.details.device_instance.is_some()
                || !run.config.who_is_fallback
                || !run.who_is().await?
            {
                return Ok(());
            }
            if property != PropertyId::ObjectIdentifier {
                run.read_one(property).await?;
            }
        } else if property == PropertyId::ObjectIdentifier
            && !matches!(payload, Payload::ReadPropertyAck { .. })
        {
            // A device that refuses its own object-identifier will not say more to reads,
            // but may still name its instance and vendor in an I-Am.
            if run.config.who_is_fallback {
                let _ = run.who_is().await?;
            }
            return Ok(());
        }
    }
    Ok(())
}

fn refusal_text(refusal: &BacnetRefusal) -> String {
    match refusal {
        BacnetRefusal::Error {
            error_class_name,
            error_class,
            error_code_name,
            error_code,
            ..
        } => format!(
            "error {}/{}",
            error_class_name
                .clone()
                .or_else(|| error_class.map(|c| c.to_string()))
                .unwrap_or_else(|| "?".to_owned()),
            error_code_name
                .clone()
                .or_else(|| error_code.map(|c| c.to_string()))
                .unwrap_or_else(|| "?".to_owned()),
        ),
        BacnetRefusal::Reject {
            reason,
            reason_name,
        } => format!(
            "reject {}",
            reason_name.clone().unwrap_or_else(|| reason.to_string())
        ),
        BacnetRefusal::Abort {
            reason,
            reason_name,
            ..
        } => format!(
            "abort {}",
            reason_name.clone().unwrap_or_else(|| reason.to_string())
        ),
    }
}
