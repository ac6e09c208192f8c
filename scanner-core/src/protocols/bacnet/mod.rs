//! BACnet/IP identification: one ReadPropertyMultiple of the Device object's
//! identification properties with the wildcard instance 4194303, single ReadProperty
//! requests when the device rejects or aborts it, and a unicast Who-Is when it refuses
//! the wildcard instance. Unicast only, sent from an ephemeral port unless asked.

pub mod codec;
pub mod details;
mod probe;
pub mod tags;

pub use codec::{
    abort_reason_name, answers_request, error_class_name, error_code_name, is_i_am,
    reject_reason_name, segmentation_name, DeviceInstance, ErrorClassCode, IAm, InstanceRange,
    NetworkAddress, Npdu, ParseError, Payload, PropertyId, PropertyResult, Reply, Request,
    MAX_REPLY_LEN,
};
pub use details::{identity_fields, BacnetDetails, BacnetRefusal};
pub use tags::{BacnetString, ObjectId, TagError, Value, MAX_DEPTH, MAX_INSTANCE, MAX_TAGS};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default BACnet/IP UDP port (0xBAC0).
pub const DEFAULT_PORT: u16 = 47808;

/// BACnet/IP probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BacnetConfig {
    /// UDP port (the replies must come from it).
    pub port: u16,
    /// Ask with one ReadPropertyMultiple first (default); single ReadProperty requests
    /// follow only when the device rejects or aborts it.
    pub read_property_multiple: bool,
    /// Ask the device for its instance with a unicast Who-Is when it refuses the
    /// wildcard instance (default on).
    pub who_is_fallback: bool,
    /// Send from this local UDP port instead of an ephemeral one (`None`, the default),
    /// for devices that answer only to port 47808. The port is shared by every device
    /// session of the scan; binding it fails while another program holds it (e.g. a
    /// BACnet stack on the scanning host).
    pub source_port: Option<u16>,
}

impl Default for BacnetConfig {
    fn default() -> Self {
        BacnetConfig {
            port: DEFAULT_PORT,
            read_property_multiple: true,
            who_is_fallback: true,
            source_port: None,
        }
    }
}

impl ProbeConfig for BacnetConfig {
    const PROTOCOL: Protocol = Protocol::Bacnet;

    fn port(&self) -> u16 {
        self.port
    }

    fn set_port(&mut self, port: u16) {
        self.port = port;
    }

    fn transports(&self) -> &'static [Transport] {
        &[Transport::Udp]
    }

    /// ReadPropertyMultiple twice (wildcard, then the real instance), one Who-Is and
    /// one ReadProperty per property, each sent `1 + udp_retries` times.
    fn max_requests(&self, udp_retries: u32) -> u64 {
        let rpm = if self.read_property_multiple { 2 } else { 0 };
        let who_is = u64::from(self.who_is_fallback);
        (rpm + who_is + PropertyId::ALL.len() as u64) * (1 + u64::from(udp_retries))
    }
}
