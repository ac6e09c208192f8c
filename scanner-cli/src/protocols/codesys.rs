//! CODESYS V3 flags: none (the port is `--port codesys=N`; the request has no setting).

use clap::Args;
use scanner_core::protocols::codesys::CodesysConfig;

use super::ProtocolArgs;

/// CODESYS V3 flags (none).
#[derive(Debug, Args)]
#[command(next_help_heading = "CODESYS options")]
pub struct CodesysArgs {}

impl ProtocolArgs for CodesysArgs {
    type Config = CodesysConfig;

    fn apply(&self, _config: &mut CodesysConfig) {}

    fn settings(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
