//! One module per protocol, each with the same shape: a sans-IO codec (encode a
//! [`ReadOnlyRequest`](crate::request::ReadOnlyRequest), parse a reply from bytes)
//! and a probe that drives the codec over the engine's paced device session.

pub mod bacnet;
pub mod enip;
pub mod modbus;
pub mod s7;
pub mod snmp;
mod wire;

use std::time::Duration;

use crate::engine::ExchangeError;
use crate::record::{Protocol, ServiceDetails, ServiceObservation, Status, Transport};

/// How a multi-step probe ended, for [`observe`].
pub(crate) struct ProbeEnd {
    /// The protocol and where it was reached.
    pub protocol: Protocol,
    /// Transport used.
    pub transport: Transport,
    /// Port probed.
    pub port: u16,
    /// Requests sent (connection attempts included).
    pub requests: u32,
    /// Round trip of the first reply; `None` when nothing answered.
    pub first_rtt: Option<Duration>,
    /// The error that ended the probe early, if any.
    pub outcome: Result<(), ExchangeError>,
    /// The replies identified the device.
    pub identified: bool,
    /// The device refused in its protocol (an error, reject, abort or disconnect): it
    /// speaks the protocol even if it said nothing else.
    pub refused: bool,
}

/// The status and error text a probe ends with, and a warning for its details.
pub(crate) struct Settled {
    /// The probe's status (see [`ProbeEnd::settle`]).
    pub status: Status,
    /// Why, for a non-success status.
    pub error: Option<String>,
    /// For an identified device whose probe ended early: what ended it.
    pub warning: Option<String>,
}

impl ProbeEnd {
    /// Settles the status: `success` when the device was identified (an early end is then
    /// a warning); the error of a malformed reply or a stopped scan; `application-error`
    /// when the device refused in its protocol (`refusal` says how); otherwise the error
    /// that ended the probe, or `application-error` when replies came without an identity.
    pub(crate) fn settle(&self, refusal: impl FnOnce() -> String) -> Settled {
        let (status, error, warning) = match &self.outcome {
            Err(e) if self.identified => (
                Status::Success,
                None,
                Some(format!("probe ended early: {e}")),
            ),
            _ if self.identified => (Status::Success, None, None),
            Err(e @ (ExchangeError::Protocol(_) | ExchangeError::Stopped)) => {
                (e.status(), Some(e.to_string()), None)
            }
            _ if self.refused => (Status::ApplicationError, Some(refusal()), None),
            Err(e) => (e.status(), Some(e.to_string()), None),
            Ok(()) => (
                Status::ApplicationError,
                Some("no identification in the replies".to_owned()),
                None,
            ),
        };
        Settled {
            status,
            error,
            warning,
        }
    }

    /// The service observation; `details` are kept when the device answered at all.
    pub(crate) fn observation(
        self,
        settled: Settled,
        details: ServiceDetails,
    ) -> ServiceObservation {
        ServiceObservation {
            protocol: self.protocol,
            transport: self.transport,
            port: self.port,
            status: settled.status,
            rtt_ms: self.first_rtt.map(crate::record::millis),
            timestamp: jiff::Timestamp::now(),
            error: settled.error,
            requests: self.requests,
            details: self.first_rtt.is_some().then_some(details),
        }
    }
}
