//! SSH flags: none (the port is `--port ssh=N`; the probe only reads the server's
//! identification string). Off by default: `--probes ssh` or `--probes all`.

use clap::Args;
use scanner_core::protocols::ssh::SshConfig;

use super::ProtocolArgs;

/// SSH flags (none).
#[derive(Debug, Args)]
#[command(next_help_heading = "SSH options")]
pub struct SshArgs {}

impl ProtocolArgs for SshArgs {
    type Config = SshConfig;

    fn apply(&self, _config: &mut SshConfig) {}

    fn settings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
