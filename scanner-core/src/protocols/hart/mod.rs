//! HART-IP identification (TCP 5094): the identity of a HART field device, or of an I/O
//! system or multiplexer and the instruments behind it.
//!
//! One TCP connection per device: Session Initiate (as a secondary host, so the session
//! never takes the primary host's place; inactivity close time 10 s), then in
//! token-passing PDUs command 0 (Read Unique Identifier: expanded device type, device
//! id, revisions, manufacturer id) to polling address 0 and command 20 (Read Long Tag)
//! to the unique address it gave; for a protocol bridge device (flag 0x04: an I/O system
//! or multiplexer) command 74 (Read I/O System Capabilities: how many devices it
//! detected) and command 84 (Read Sub-Device Identity Summary) for sub-devices 1 up to
//! [`codec::MAX_SUB_DEVICES`]; then Session Close and a FIN. Every command is a read.
//! Cost to the device: one connection and one secondary-host session (of the few a
//! HART-IP server holds), released by Session Close; 2 to 11 HART commands, each
//! answered from the device's own memory (an I/O system answers command 84 from its
//! sub-device list, without traffic on the 4-20 mA loops).
//!
//! UDP 5094 is left out: a HART-IP server answers a UDP Session Initiate from another
//! port (Wireshark's dissector follows the session there), which a connected UDP
//! socket cannot receive.

pub mod codec;
pub mod details;
mod probe;

pub use codec::{
    check_answers, encode, frame, parse, Body, Header, IoSystemCapabilities, LongAddress,
    ParseError, Reply, Request, Response, SubDevice, UniqueIdentifier, MAX_REPLY_LEN,
    MAX_SUB_DEVICES,
};
pub use details::{identity_fields, CommandError, HartDetails};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default HART-IP port (TCP and UDP).
pub const DEFAULT_PORT: u16 = 5094;

/// HART-IP probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HartConfig {
    /// TCP port.
    pub port: u16,
}

impl Default for HartConfig {
    fn default() -> Self {
        HartConfig { port: DEFAULT_PORT }
    }
}

impl ProbeConfig for HartConfig {
    const PROTOCOL: Protocol = Protocol::Hart;

    fn port(&self) -> u16 {
        self.port
    }

    fn set_port(&mut self, port: u16) {
        self.port = port;
    }

    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }

    fn max_requests(&self, _udp_retries: u32) -> u64 {
        // The connection attempt, Session Initiate, commands 0, 20 and 74, command 84 per
        // sub-device read, Session Close.
        5 + u64::from(MAX_SUB_DEVICES) + 1
    }

    fn plan(&self) -> Vec<(&'static str, String)> {
        vec![(
            "hart sub-devices read",
            format!("at most {MAX_SUB_DEVICES} per I/O system"),
        )]
    }
}
