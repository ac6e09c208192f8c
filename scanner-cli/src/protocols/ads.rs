//! Beckhoff ADS discovery has no flags of its own: one Identify datagram, port set with
//! `--port ads=N`.

use clap::Args;
use scanner_core::protocols::ads::AdsConfig;

use super::ProtocolArgs;

/// Beckhoff ADS flags (none).
#[derive(Debug, Args)]
#[command(next_help_heading = "ADS options")]
pub struct AdsArgs {}

impl ProtocolArgs for AdsArgs {
    type Config = AdsConfig;

    fn apply(&self, _config: &mut AdsConfig) {}

    fn settings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
