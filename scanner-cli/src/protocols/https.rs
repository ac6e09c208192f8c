//! HTTPS flags: `--https-favicon` (the port list is `--port https=443,8443`). Off by default:
//! `--probes https` or `--probes all`.

use clap::Args;
use scanner_core::protocols::https::HttpsConfig;

use super::ProtocolArgs;

/// HTTPS flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "HTTPS options")]
pub struct HttpsArgs {
    /// Also GET /favicon.ico on the port that answered and record its hash (Shodan's
    /// mmh3): one more connection and request per device (default: not asked).
    #[arg(long)]
    pub https_favicon: bool,
}

impl ProtocolArgs for HttpsArgs {
    type Config = HttpsConfig;

    fn apply(&self, config: &mut HttpsConfig) {
        config.favicon = self.https_favicon;
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![("https-favicon", self.https_favicon.to_string())]
    }
}
