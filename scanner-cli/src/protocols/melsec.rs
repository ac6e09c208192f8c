//! `--melsec-tcp-ports`, `--melsec-udp-ports`.

use clap::Args;
use scanner_core::protocols::melsec::{MelsecConfig, MAX_PORTS};

use super::{quoted, ProtocolArgs};

/// MELSEC flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "MELSEC options")]
pub struct MelsecArgs {
    /// MELSEC (SLMP / MC protocol 3E) TCP ports tried in order until one answers, one
    /// connection each, closed before the next (default 5007; at most 8; `none`: no TCP
    /// probe). `--port melsec=LIST` sets this list and the UDP list at once.
    #[arg(long, value_name = "LIST", default_value = "5007", value_parser = parse_ports)]
    pub melsec_tcp_ports: Ports,
    /// MELSEC UDP ports tried in order until one answers, one datagram each plus retries
    /// (default 5006; at most 8; `none`: no UDP probe).
    #[arg(long, value_name = "LIST", default_value = "5006", value_parser = parse_ports)]
    pub melsec_udp_ports: Ports,
}

/// A parsed port list (`none` is the empty list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports(pub Vec<u16>);

impl ProtocolArgs for MelsecArgs {
    type Config = MelsecConfig;

    fn apply(&self, config: &mut MelsecConfig) {
        config.tcp_ports.clone_from(&self.melsec_tcp_ports.0);
        config.udp_ports.clone_from(&self.melsec_udp_ports.0);
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("melsec-tcp-ports", quoted(&text(&self.melsec_tcp_ports.0))),
            ("melsec-udp-ports", quoted(&text(&self.melsec_udp_ports.0))),
        ]
    }
}

fn text(ports: &[u16]) -> String {
    if ports.is_empty() {
        return "none".to_owned();
    }
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_ports(s: &str) -> Result<Ports, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(Ports(Vec::new()));
    }
    let mut out: Vec<u16> = Vec::new();
    for item in s.split(',').map(str::trim) {
        let port = item
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("'{item}' is not a port number (1-65535)"))?;
        if out.contains(&port) {
            return Err(format!("port {port} is listed twice"));
        }
        out.push(port);
    }
    if out.len() > MAX_PORTS {
        return Err(format!("{} ports (at most {MAX_PORTS})", out.len()));
    }
    Ok(Ports(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_lists() {
        assert_eq!(parse_ports("5007, 5002"), Ok(Ports(vec![5007, 5002])));
        assert_eq!(parse_ports("none"), Ok(Ports(Vec::new())));
        assert!(parse_ports("5007,5007").is_err());
        assert!(parse_ports("0").is_err());
        assert!(parse_ports("1,2,3,4,5,6,7,8,9").is_err());
        assert!(parse_ports("").is_err());
    }
}
