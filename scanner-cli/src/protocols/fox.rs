//! `--fox-max-reply-bytes`.

use clap::Args;
use scanner_core::protocols::fox::{FoxConfig, MAX_REPLY_LEN};

use super::ProtocolArgs;

/// Niagara Fox flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "Fox options")]
pub struct FoxArgs {
    /// Largest Fox hello reply read, in bytes (256-32768, default 32768); a longer reply
    /// is a protocol-error.
    #[arg(long, value_name = "BYTES", default_value_t = MAX_REPLY_LEN, value_parser = parse_cap)]
    pub fox_max_reply_bytes: usize,
}

impl ProtocolArgs for FoxArgs {
    type Config = FoxConfig;

    fn apply(&self, config: &mut FoxConfig) {
        config.max_reply_bytes = self.fox_max_reply_bytes;
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![("fox-max-reply-bytes", self.fox_max_reply_bytes.to_string())]
    }
}

fn parse_cap(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of bytes"))?;
    if (256..=MAX_REPLY_LEN).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is outside 256..={MAX_REPLY_LEN}"))
    }
}
