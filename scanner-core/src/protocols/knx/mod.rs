//! KNXnet/IP identification (KNX IP interfaces and routers, UDP 3671): one unicast
//! DESCRIPTION_REQUEST with the route-back HPAI (0.0.0.0:0: "answer to where this came
//! from"), whose DESCRIPTION_RESPONSE carries the device information DIB (KNX medium,
//! programming mode, individual address, project-installation id, serial number,
//! routing multicast address, MAC, friendly name), the supported service families and,
//! on some devices, manufacturer data.
//!
//! Cost to the device: one datagram (plus the scan's UDP retries when unanswered) and
//! one reply; no connection, no tunnel slot, nothing reaches the KNX bus. No
//! SEARCH_REQUEST (multicast), CONNECT_REQUEST, tunnelling or device management can be
//! encoded.

pub mod codec;
pub mod details;
mod probe;

pub use codec::{
    answers, dib_type_name, encode, medium_name, parse, service_family_name, service_name,
    DeviceInfo, IndividualAddress, ManufacturerData, OtherDib, ParseError, Reply, Request,
    MAX_REPLY_LEN,
};
pub use details::{identity_fields, KnxDetails, KnxOtherDib, ServiceFamily};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default KNXnet/IP port.
pub const DEFAULT_PORT: u16 = 3671;

/// KNXnet/IP probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KnxConfig {
    /// UDP port (3671).
    pub port: u16,
}

impl Default for KnxConfig {
    fn default() -> Self {
        KnxConfig { port: DEFAULT_PORT }
    }
}

impl ProbeConfig for KnxConfig {
    const PROTOCOL: Protocol = Protocol::Knx;

    fn port(&self) -> u16 {
        self.port
    }

    fn set_port(&mut self, port: u16) {
        self.port = port;
    }

    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }

    /// The description request and its retries.
    fn max_requests(&self, udp_retries: u32) -> u64 {
        1 + u64::from(udp_retries)
    }
}
