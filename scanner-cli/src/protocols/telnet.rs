//! Telnet flags: none (the port is `--port telnet=N`; the probe reads the banner and
//! refuses every option). Off by default: `--probes telnet` or `--probes all`.

use clap::Args;
use scanner_core::protocols::telnet::TelnetConfig;

use super::ProtocolArgs;

/// Telnet flags (none).
#[derive(Debug, Args)]
#[command(next_help_heading = "Telnet options")]
pub struct TelnetArgs {}

impl ProtocolArgs for TelnetArgs {
    type Config = TelnetConfig;

    fn apply(&self, _config: &mut TelnetConfig) {}

    fn settings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
