//! `--snmp-communities`, `--snmp-version`, `--record-community`.

use clap::Args;
use scanner_core::protocols::snmp::{SnmpConfig, SnmpVersions, MAX_COMMUNITY_LEN};

use super::{quoted, ProtocolArgs};

/// SNMP flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "SNMP options")]
pub struct SnmpArgs {
    /// SNMP communities tried in order, stopping at the first that answers (at most 4:
    /// this identifies devices, it does not guess credentials; each at most 256 bytes).
    /// Never logged.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "public",
        value_parser = parse_community
    )]
    pub snmp_communities: Vec<String>,
    /// SNMP versions: 1, 2c, 3 (engine discovery only) or all (v2c, then v1, plus v3 discovery).
    #[arg(long, value_name = "V", default_value = "all", value_parser = parse_snmp_version)]
    pub snmp_version: SnmpVersions,
    /// Put the answering community string in records (default: only its index in the list).
    #[arg(long)]
    pub record_community: bool,
}

impl ProtocolArgs for SnmpArgs {
    type Config = SnmpConfig;

    fn apply(&self, config: &mut SnmpConfig) {
        config.communities = self
            .snmp_communities
            .iter()
            .map(|c| c.as_bytes().to_vec())
            .collect();
        config.versions = self.snmp_version;
        config.record_community = self.record_community;
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "snmp-version",
                quoted(&format!("{:?}", self.snmp_version).to_ascii_lowercase()),
            ),
            // Community strings are secrets: show how many, never which.
            (
                "# snmp-communities",
                format!("{} configured", self.snmp_communities.len()),
            ),
            ("record-community", self.record_community.to_string()),
        ]
    }
}

/// A community string; an empty one is refused (agents reject it, and it is usually a
/// stray comma), without quoting the others.
fn parse_community(s: &str) -> Result<String, String> {
    if s.is_empty() {
        Err("an empty community string (a stray comma?)".to_owned())
    } else {
        Ok(s.to_owned())
    }
}

impl SnmpArgs {
    /// The first community longer than [`MAX_COMMUNITY_LEN`] bytes: its place in the
    /// list (from 1) and its length. Checked after parsing, so that the error can leave
    /// the community itself out (the parser's error would print it).
    pub fn community_too_long(&self) -> Option<(usize, usize)> {
        self.snmp_communities
            .iter()
            .position(|c| c.len() > MAX_COMMUNITY_LEN)
            .map(|i| (i + 1, self.snmp_communities[i].len()))
    }
}

fn parse_snmp_version(s: &str) -> Result<SnmpVersions, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "v1" => Ok(SnmpVersions::V1),
        "2c" | "v2c" => Ok(SnmpVersions::V2c),
        "3" | "v3" => Ok(SnmpVersions::V3),
        "all" => Ok(SnmpVersions::All),
        other => Err(format!("'{other}' is not 1, 2c, 3 or all")),
    }
}
