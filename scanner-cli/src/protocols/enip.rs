//! `--enip-transport`.

use clap::Args;
use scanner_core::protocols::enip::{EnipConfig, EnipTransport};

use super::{quoted, ProtocolArgs};

/// EtherNet/IP flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "EtherNet/IP options")]
pub struct EnipArgs {
    /// EtherNet/IP transport: unicast ListIdentity over tcp (default), udp, or both.
    #[arg(long, value_name = "T", default_value = "tcp", value_parser = parse_enip_transport)]
    pub enip_transport: EnipTransport,
}

impl ProtocolArgs for EnipArgs {
    type Config = EnipConfig;

    fn apply(&self, config: &mut EnipConfig) {
        config.transport = self.enip_transport;
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![(
            "enip-transport",
            quoted(&format!("{:?}", self.enip_transport).to_ascii_lowercase()),
        )]
    }
}

fn parse_enip_transport(s: &str) -> Result<EnipTransport, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "tcp" => Ok(EnipTransport::Tcp),
        "udp" => Ok(EnipTransport::Udp),
        "both" => Ok(EnipTransport::Both),
        other => Err(format!("'{other}' is not tcp, udp or both")),
    }
}
