//! KNXnet/IP flags: none (the port is `--port knx=N`; the request has no setting).

use clap::Args;
use scanner_core::protocols::knx::KnxConfig;

use super::ProtocolArgs;

/// KNXnet/IP flags (none).
#[derive(Debug, Args)]
#[command(next_help_heading = "KNXnet/IP options")]
pub struct KnxArgs {}

impl ProtocolArgs for KnxArgs {
    type Config = KnxConfig;

    fn apply(&self, _config: &mut KnxConfig) {}

    fn settings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
