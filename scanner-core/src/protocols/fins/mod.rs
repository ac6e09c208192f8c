//! Omron FINS identification (UDP and TCP 9600): one Controller Data Read (MRC 05, SRC
//! 01), which answers with the controller model and version, and on most CPUs the area
//! data (program, DM, timer/counter, expansion DM and memory card sizes).
//!
//! UDP first: one datagram (resent only with the scan's UDP retries). Over TCP the
//! FINS/TCP node address exchange comes first (command 0 with client node 0, so the PLC
//! assigns one; command 1 answers with the client and server nodes), then the request in
//! a frame send (command 2) from the assigned client node to the server node. Cost to
//! the device: on UDP one datagram; on TCP one connection and one FINS node number, both
//! released when otscan closes the connection (FIN) right after the answer.
//!
//! Which transports: [`FinsTransport`], default [`FinsTransport::Fallback`] (TCP only
//! when UDP was silent or refused).

pub mod codec;
pub mod details;
mod probe;

pub use codec::{
    answers, encode, frame, memory_card_name, parse, parse_tcp, tcp_error_name, AreaData,
    ControllerData, EndCode, FinsHeader, Node, NodeRoute, ParseError, Reply, Request, TcpReply,
    MAX_REPLY_LEN,
};
pub use details::{identity_fields, FinsDetails};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default FINS port (UDP and TCP).
pub const DEFAULT_PORT: u16 = 9600;

/// The source node (SA1) nmap's `omron-info` sends over UDP, and otscan's default.
pub const DEFAULT_SOURCE_NODE: u8 = 0x63;

/// Transports the FINS probe uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FinsTransport {
    /// UDP only.
    Udp,
    /// FINS/TCP only.
    Tcp,
    /// Both, UDP first: two service entries in the record.
    Both,
    /// UDP, then FINS/TCP only when UDP was silent or refused (default).
    Fallback,
}

/// FINS probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FinsConfig {
    /// Port (UDP and TCP).
    pub port: u16,
    /// Transport(s) to use.
    pub transport: FinsTransport,
    /// Source node address (SA1) of the UDP request, 1-254. FINS/TCP uses the node the
    /// PLC assigns instead. A PLC in "automatic generation (dynamic)" address conversion
    /// learns this node's IP address from the request, so on such a network choose a
    /// node no other device uses (e.g. the last octet of the scanner's address).
    pub source_node: u8,
}

impl Default for FinsConfig {
    fn default() -> Self {
        FinsConfig {
            port: DEFAULT_PORT,
            transport: FinsTransport::Fallback,
            source_node: DEFAULT_SOURCE_NODE,
        }
    }
}

impl ProbeConfig for FinsConfig {
    const PROTOCOL: Protocol = Protocol::Fins;

    fn port(&self) -> u16 {
        self.port
    }

    fn set_port(&mut self, port: u16) {
        self.port = port;
    }

    fn transports(&self) -> &'static [Transport] {
        match self.transport {
            FinsTransport::Udp => &[Transport::Udp],
            FinsTransport::Tcp => &[Transport::Tcp],
            FinsTransport::Both | FinsTransport::Fallback => &[Transport::Udp, Transport::Tcp],
        }
    }

    fn max_requests(&self, udp_retries: u32) -> u64 {
        // UDP: the datagram and its retries; TCP: the connection attempt, the node address
        // request and the frame.
        self.transports()
            .iter()
            .map(|t| match t {
                Transport::Udp => 1 + u64::from(udp_retries),
                Transport::Tcp => 3,
                Transport::Ethernet => 0,
            })
            .sum()
    }

    fn validate(&self) -> Result<(), String> {
        if !(1..=codec::MAX_NODE).contains(&self.source_node) {
            return Err(format!(
                "fins source node {} is outside 1-254",
                self.source_node
            ));
        }
        Ok(())
    }

    fn plan(&self) -> Vec<(&'static str, String)> {
        let transport = match self.transport {
            FinsTransport::Udp => "udp",
            FinsTransport::Tcp => "tcp",
            FinsTransport::Both => "both (udp, then tcp)",
            FinsTransport::Fallback => "fallback (tcp only when udp is silent)",
        };
        vec![
            ("fins transport", transport.to_owned()),
            ("fins source node", self.source_node.to_string()),
        ]
    }
}
