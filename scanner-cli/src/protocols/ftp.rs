//! FTP flags: none (the port is `--port ftp=N`; the probe only reads the server's
//! greeting). Off by default: `--probes ftp` or `--probes all`.

use clap::Args;
use scanner_core::protocols::ftp::FtpConfig;

use super::ProtocolArgs;

/// FTP flags (none).
#[derive(Debug, Args)]
#[command(next_help_heading = "FTP options")]
pub struct FtpArgs {}

impl ProtocolArgs for FtpArgs {
    type Config = FtpConfig;

    fn apply(&self, _config: &mut FtpConfig) {}

    fn settings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
