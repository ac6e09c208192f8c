//! Beckhoff ADS discovery (UDP 48899): one Identify request (service 1), which a TwinCAT
//! system's AMS router answers with its AMS NetId, host name, TwinCAT version, OS version
//! block and (TwinCAT 3.1.4024 and later) fingerprint.
//!
//! Cost to the device: one datagram (resent only with the scan's UDP retries), answered
//! by the router without any route, login or state. The same port takes AddRoute
//! (service 6, with a user name and password): [`codec::Request`] cannot spell it.
//!
//! The request's sender AMS NetId is, by default, the scanner's own IPv4 source address
//! towards the device followed by `.1.1`, the NetId TwinCAT tools give a host by default
//! (0.0.0.0.1.1 for IPv6 targets or when the source address cannot be found);
//! [`AdsConfig::sender_net_id`] sets another. Its AMS port is 10000, the router's system
//! service, as TwinCAT's broadcast search sends.

pub mod codec;
pub mod details;
mod probe;

pub use codec::{
    answers, encode, os_version, parse, platform_name, AmsNetId, OsVersion, ParseError, Reply,
    Request, Tag, TwinCatVersion, MAX_REPLY_LEN, SENDER_AMS_PORT,
};
pub use details::{identity_fields, AdsDetails, OtherTag};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default ADS discovery port (UDP).
pub const DEFAULT_PORT: u16 = 48899;

/// ADS discovery probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdsConfig {
    /// UDP port.
    pub port: u16,
    /// The sender AMS NetId the Identify request names; `None` (default): the scanner's
    /// IPv4 source address towards each device + `.1.1`.
    pub sender_net_id: Option<[u8; 6]>,
}

impl Default for AdsConfig {
    fn default() -> Self {
        AdsConfig {
            port: DEFAULT_PORT,
            sender_net_id: None,
        }
    }
}

impl ProbeConfig for AdsConfig {
    const PROTOCOL: Protocol = Protocol::Ads;

    fn port(&self) -> u16 {
        self.port
    }

    fn set_port(&mut self, port: u16) {
        self.port = port;
    }

    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }

    fn max_requests(&self, udp_retries: u32) -> u64 {
        1 + u64::from(udp_retries)
    }

    fn plan(&self) -> Vec<(&'static str, String)> {
        let sender = match self.sender_net_id {
            Some(id) => AmsNetId(id).to_string(),
            None => "source address + .1.1".to_owned(),
        };
        vec![("ads sender net id", sender)]
    }
}
