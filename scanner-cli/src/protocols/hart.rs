//! HART-IP flags: none (the port is `--port hart=N`; the script and its sub-device cap
//! are fixed).

use clap::Args;
use scanner_core::protocols::hart::HartConfig;

use super::ProtocolArgs;

/// HART-IP flags (none).
#[derive(Debug, Args)]
#[command(next_help_heading = "HART-IP options")]
pub struct HartArgs {}

impl ProtocolArgs for HartArgs {
    type Config = HartConfig;

    fn apply(&self, _config: &mut HartConfig) {}

    fn settings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
