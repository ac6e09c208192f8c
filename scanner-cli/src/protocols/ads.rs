//! `--ads-sender-net-id`.

use clap::Args;
use scanner_core::protocols::ads::{AdsConfig, AmsNetId};

use super::ProtocolArgs;

/// Beckhoff ADS flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "ADS options")]
pub struct AdsArgs {
    /// Sender AMS NetId the Identify request names, a.b.c.d.e.f (default: the scanner's
    /// IPv4 source address towards each device + .1.1, TwinCAT's default NetId of a host).
    #[arg(long, value_name = "NETID", value_parser = parse_net_id)]
    pub ads_sender_net_id: Option<[u8; 6]>,
}

impl ProtocolArgs for AdsArgs {
    type Config = AdsConfig;

    fn apply(&self, config: &mut AdsConfig) {
        if let Some(id) = self.ads_sender_net_id {
            config.sender_net_id = Some(id);
        }
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        match self.ads_sender_net_id {
            Some(id) => vec![(
                "ads-sender-net-id",
                super::quoted(&AmsNetId(id).to_string()),
            )],
            None => Vec::new(),
        }
    }
}

fn parse_net_id(s: &str) -> Result<[u8; 6], String> {
    let parts: Vec<&str> = s.trim().split('.').collect();
    let bytes: Vec<u8> = parts
        .iter()
        .map(|p| p.parse::<u8>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("'{s}' is not an AMS NetId (six numbers 0-255, a.b.c.d.e.f)"))?;
    bytes
        .try_into()
        .map_err(|_| format!("'{s}' is not an AMS NetId (six numbers 0-255, a.b.c.d.e.f)"))
}
