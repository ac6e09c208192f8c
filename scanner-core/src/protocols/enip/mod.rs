//! EtherNet/IP identification: the session-less encapsulation list commands,
//! ListIdentity (vendor, device type, product code and name, revision, serial, status,
//! state) and ListServices (capability flags), unicast over TCP (the device's single
//! paced connection, default), UDP, or both.

pub mod codec;
pub mod details;
mod probe;

pub use codec::{
    encap_status_name, extended_status_meaning, header_context, reply_len, state_name, Command,
    CpfItem, EncapHeader, EnipIdentity, EnipServiceItem, EnipSocketAddress, EnipStatus,
    EnipUnknownItem, ParseError, Reply, Request, HEADER_LEN, ITEM_IDENTITY, ITEM_LIST_SERVICES,
    MAX_ITEMS, MAX_PRODUCT_NAME_LEN, MAX_REPLY_LEN,
};
pub use details::{device_role, identity_fields, EnipDetails};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default EtherNet/IP encapsulation port (TCP and UDP).
pub const DEFAULT_PORT: u16 = 44818;

/// Transports the EtherNet/IP probe uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EnipTransport {
    /// Unicast over the device's single paced TCP connection (default).
    Tcp,
    /// Unicast UDP datagrams, with the configured retries.
    Udp,
    /// Both, TCP first: two service entries in the record.
    Both,
}

/// EtherNet/IP probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnipConfig {
    /// Port (TCP and UDP).
    pub port: u16,
    /// Transport(s) to use.
    pub transport: EnipTransport,
    /// Send ListServices after a successful ListIdentity.
    pub list_services: bool,
}

impl Default for EnipConfig {
    fn default() -> Self {
        EnipConfig {
            port: DEFAULT_PORT,
            transport: EnipTransport::Tcp,
            list_services: true,
        }
    }
}

impl ProbeConfig for EnipConfig {
    const PROTOCOL: Protocol = Protocol::Enip;

    fn port(&self) -> u16 {
        self.port
    }

    fn set_port(&mut self, port: u16) {
        self.port = port;
    }

    fn transports(&self) -> &'static [Transport] {
        match self.transport {
            EnipTransport::Tcp => &[Transport::Tcp],
            EnipTransport::Udp => &[Transport::Udp],
            EnipTransport::Both => &[Transport::Tcp, Transport::Udp],
        }
    }

    fn max_requests(&self, udp_retries: u32) -> u64 {
        let per_command = |t: &Transport| match t {
            Transport::Tcp => 1,
            Transport::Udp => 1 + u64::from(udp_retries),
            Transport::Ethernet => 0,
        };
        let commands = if self.list_services { 2 } else { 1 };
        // Each command on each transport, plus the TCP connection attempt.
        self.transports()
            .iter()
            .map(|t| commands * per_command(t) + u64::from(*t == Transport::Tcp))
            .sum()
    }

    fn min_requests(&self, udp_retries: u32) -> u64 {
        self.transports()
            .iter()
            .map(|t| match t {
                Transport::Tcp => 1,
                Transport::Udp => 1 + u64::from(udp_retries),
                Transport::Ethernet => 0,
            })
            .sum()
    }
}
