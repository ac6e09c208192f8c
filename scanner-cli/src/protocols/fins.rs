//! `--fins-transport`, `--fins-source-node`.

use clap::Args;
use scanner_core::protocols::fins::{FinsConfig, FinsTransport, DEFAULT_SOURCE_NODE};

use super::{quoted, ProtocolArgs};

/// Omron FINS flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "FINS options")]
pub struct FinsArgs {
    /// FINS transport: udp, tcp (FINS/TCP, one connection and one FINS node number for the
    /// probe), both, or fallback (default: udp, then tcp only when udp is silent).
    #[arg(long, value_name = "T", default_value = "fallback", value_parser = parse_fins_transport)]
    pub fins_transport: FinsTransport,
    /// Source node address (SA1, 1-254) of the FINS/UDP request (default 99, as nmap's
    /// omron-info); on networks whose PLCs learn node addresses from requests
    /// (automatic dynamic conversion), give a node no other device uses.
    #[arg(long, value_name = "NODE", default_value_t = DEFAULT_SOURCE_NODE,
          value_parser = clap::value_parser!(u8).range(1..=254))]
    pub fins_source_node: u8,
}

impl ProtocolArgs for FinsArgs {
    type Config = FinsConfig;

    fn apply(&self, config: &mut FinsConfig) {
        config.transport = self.fins_transport;
        config.source_node = self.fins_source_node;
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "fins-transport",
                quoted(&format!("{:?}", self.fins_transport).to_ascii_lowercase()),
            ),
            ("fins-source-node", self.fins_source_node.to_string()),
        ]
    }
}

fn parse_fins_transport(s: &str) -> Result<FinsTransport, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "udp" => Ok(FinsTransport::Udp),
        "tcp" => Ok(FinsTransport::Tcp),
        "both" => Ok(FinsTransport::Both),
        "fallback" => Ok(FinsTransport::Fallback),
        other => Err(format!("'{other}' is not udp, tcp, both or fallback")),
    }
}
