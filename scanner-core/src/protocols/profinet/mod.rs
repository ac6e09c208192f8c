//! PROFINET CM endpoint-mapper lookup (UDP 34964): one DCE/RPC connectionless
//! `ept_lookup` request, which a PROFINET IO device's endpoint mapper answers with an
//! entry whose 64-byte annotation names the device type, order number, hardware revision
//! and software revision (e.g. `S7-1500`, `6ES7 516-3AN01-0AB0`, 3, V2.9.2).
//!
//! Cost to the device: one datagram (resent only with the scan's UDP retries), an
//! idempotent read of the endpoint map that sets up no application relation, no
//! connection and no state beyond the RPC activity the device keeps for a few seconds.
//! Each otscan process writes a random nonce into its activity UUIDs
//! ([`codec::activity`]), so a scan repeated soon after, or another otscan at the same
//! time, is not taken for a retransmission of the last one. (Scans repeated within one
//! process, by a library embedder, share the nonce: their sessions' correlations, and so
//! their activities, repeat: only how long the server remembers an activity separates
//! them.)
//! The same port takes the PNIO interface's Connect, Write and Control calls, which set
//! up I/O and parameterise the device: [`codec::Request`] cannot spell them.
//!
//! Devices that answer from another UDP port than 34964 (nmap's profinet-cm-lookup reads
//! replies with pcap for that reason) are not heard: the session's socket is connected
//! to the device's port.

pub mod codec;
pub mod dcp;
pub mod details;
mod probe;

pub use codec::{
    annotation, answers, encode, parse, status_name, Annotation, Body, Entry, ParseError, Reply,
    Request, SoftwareRevision, Uuid, MAX_REPLY_LEN,
};
pub use details::{dcp_identity_fields, identity_fields, mac_text, DcpDetails, ProfinetDetails};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default PROFINET CM (context manager) port, UDP.
pub const DEFAULT_PORT: u16 = 34964;

/// PROFINET CM lookup probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProfinetConfig {
    /// UDP port.
    pub port: u16,
}

impl Default for ProfinetConfig {
    fn default() -> Self {
        ProfinetConfig { port: DEFAULT_PORT }
    }
}

impl ProbeConfig for ProfinetConfig {
    const PROTOCOL: Protocol = Protocol::Profinet;

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
}
