//! Mitsubishi MELSEC identification over SLMP / MC protocol (3E binary frame): one Read
//! CPU Model Name (command 0x0101) per port, giving the CPU's model name and model code.
//!
//! MELSEC ports are set per site (each Ethernet connection of the CPU or Ethernet module
//! is opened on a port the engineer chose), so the probe takes a list of ports per
//! transport and tries them in order until one answers in MC protocol. Defaults: TCP
//! 5007 and UDP 5006, the pair public MELSEC-Q fingerprints and SLMP scanners use (e.g.
//! GRASSMARLIN's "MELSEC-Q" fingerprint watches 5006/5007, and SLMP discovery tools
//! probe TCP 5007); 5000-5002 (QJ71E71-style auto-open and MC protocol ports) are
//! common too and can be added with `--port melsec=5007,5002`.
//!
//! Cost to the device: per TCP port one connection holding one request, closed (FIN) as
//! soon as the reply is read, before the next port (many MELSEC Ethernet modules have few
//! connection slots); per UDP port one datagram (plus the configured retries when
//! unanswered). Nothing is written: the request enum can spell Read CPU Model Name only.

pub mod codec;
pub mod details;
mod probe;

pub use codec::{
    answers, check_answers, encode, end_code_name, frame, parse, reply_len, CpuModel,
    ErrorInformation, ParseError, Reply, Request, Route, COMMAND_READ_CPU_MODEL_NAME, HEADER_LEN,
    MAX_REPLY_LEN, MODEL_NAME_LEN, MONITORING_TIMER,
};
pub use details::{identity_fields, MelsecDetails, PortTried};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default TCP port.
pub const DEFAULT_TCP_PORT: u16 = 5007;
/// Default UDP port.
pub const DEFAULT_UDP_PORT: u16 = 5006;
/// Most ports in each list: each costs the device a connection attempt or a datagram.
pub const MAX_PORTS: usize = 8;

/// MELSEC probe settings.
///
/// `--port melsec=LIST` sets both lists to LIST (`--port melsec=5007,5002` tries 5007
/// then 5002, over TCP and over UDP); `--melsec-tcp-ports` and `--melsec-udp-ports` set
/// one list each, `none` leaving that transport out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MelsecConfig {
    /// TCP ports tried in order until one answers (default `[5007]`); empty: no TCP probe.
    pub tcp_ports: Vec<u16>,
    /// UDP ports tried in order until one answers (default `[5006]`); empty: no UDP probe.
    pub udp_ports: Vec<u16>,
}

impl Default for MelsecConfig {
    fn default() -> Self {
        MelsecConfig {
            tcp_ports: vec![DEFAULT_TCP_PORT],
            udp_ports: vec![DEFAULT_UDP_PORT],
        }
    }
}

impl MelsecConfig {
    /// The ports tried over `transport`.
    pub fn ports_for(&self, transport: Transport) -> &[u16] {
        match transport {
            Transport::Tcp => &self.tcp_ports,
            Transport::Udp => &self.udp_ports,
            Transport::Ethernet => &[],
        }
    }
}

fn list(ports: &[u16]) -> String {
    if ports.is_empty() {
        return "none".to_owned();
    }
    let text: Vec<String> = ports.iter().map(u16::to_string).collect();
    text.join(",")
}

impl ProbeConfig for MelsecConfig {
    const PROTOCOL: Protocol = Protocol::Melsec;

    /// The first TCP port, else the first UDP port.
    fn port(&self) -> u16 {
        self.tcp_ports
            .first()
            .or(self.udp_ports.first())
            .copied()
            .unwrap_or(DEFAULT_TCP_PORT)
    }

    /// One port for both transports.
    fn set_port(&mut self, port: u16) {
        self.tcp_ports = vec![port];
        self.udp_ports = vec![port];
    }

    /// The list for both transports, tried in order.
    fn set_ports(&mut self, ports: &[u16]) -> Result<(), String> {
        self.tcp_ports = ports.to_vec();
        self.udp_ports = ports.to_vec();
        self.validate()
    }

    fn ports_text(&self) -> String {
        format!(
            "TCP {}, UDP {}",
            list(&self.tcp_ports),
            list(&self.udp_ports)
        )
    }

    fn transports(&self) -> &'static [Transport] {
        match (self.tcp_ports.is_empty(), self.udp_ports.is_empty()) {
            (false, false) => &[Transport::Tcp, Transport::Udp],
            (false, true) => &[Transport::Tcp],
            (true, false) => &[Transport::Udp],
            // validate() refuses this; the record still needs a transport.
            (true, true) => &[Transport::Tcp],
        }
    }

    fn max_requests(&self, udp_retries: u32) -> u64 {
        // Per TCP port a connection attempt and the request; per UDP port the datagram
        // and its retries.
        2 * self.tcp_ports.len() as u64 + (1 + u64::from(udp_retries)) * self.udp_ports.len() as u64
    }

    fn min_requests(&self, _udp_retries: u32) -> u64 {
        // Nothing listening: every port is tried once (refused, or port unreachable).
        (self.tcp_ports.len() + self.udp_ports.len()) as u64
    }

    fn validate(&self) -> Result<(), String> {
        if self.tcp_ports.is_empty() && self.udp_ports.is_empty() {
            return Err("melsec has no TCP and no UDP port to try".into());
        }
        for (name, ports) in [("TCP", &self.tcp_ports), ("UDP", &self.udp_ports)] {
            if ports.len() > MAX_PORTS {
                return Err(format!(
                    "melsec {name} port list has {} ports (at most {MAX_PORTS})",
                    ports.len()
                ));
            }
            if ports.contains(&0) {
                return Err(format!("melsec {name} port 0 is not a port"));
            }
            if let Some(p) = ports
                .iter()
                .enumerate()
                .find_map(|(i, p)| ports[..i].contains(p).then_some(p))
            {
                return Err(format!("melsec {name} port {p} is listed twice"));
            }
        }
        Ok(())
    }

    fn plan(&self) -> Vec<(&'static str, String)> {
        vec![("melsec ports", self.ports_text())]
    }
}
