//! PROFINET has no flags: the lookup is one fixed request (`--port profinet=N` moves it).

use clap::Args;
use scanner_core::protocols::profinet::ProfinetConfig;

use super::ProtocolArgs;

/// PROFINET flags (none).
#[derive(Debug, Args)]
#[command(next_help_heading = "PROFINET options")]
pub struct ProfinetArgs {}

impl ProtocolArgs for ProfinetArgs {
    type Config = ProfinetConfig;

    fn apply(&self, _config: &mut ProfinetConfig) {}

    fn settings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
