//! HTTP flags: `--http-favicon` (the port list is `--port http=80,8080`). Off by default:
//! `--probes http` or `--probes all`.

use clap::Args;
use scanner_core::protocols::http::HttpConfig;

use super::ProtocolArgs;

/// HTTP flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "HTTP options")]
pub struct HttpArgs {
    /// Also GET /favicon.ico on the port that answered and record its hash (Shodan's
    /// mmh3): one more connection and request per device (default: not asked).
    #[arg(long)]
    pub http_favicon: bool,
}

impl ProtocolArgs for HttpArgs {
    type Config = HttpConfig;

    fn apply(&self, config: &mut HttpConfig) {
        config.favicon = self.http_favicon;
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![("http-favicon", self.http_favicon.to_string())]
    }
}
