//! `--s7-tsaps`.

use clap::Args;
use scanner_core::protocols::s7::{ConnectionType, S7Config, Tsap};

use super::{quoted, ProtocolArgs};

/// Siemens S7 flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "S7 options")]
pub struct S7Args {
    /// S7 destination TSAPs tried in order, one connection each, until one is confirmed:
    /// hex (0x0103) or rack/slot of a PG connection (0/3). At most 8.
    #[arg(long, value_name = "LIST", default_value = "0x0102,0x0200,0x0100", value_parser = parse_tsaps)]
    pub s7_tsaps: Tsaps,
}

/// A parsed S7 TSAP list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tsaps(pub Vec<Tsap>);

/// Most TSAPs one device may be tried with: each costs a connection.
const MAX_TSAPS: usize = 8;

impl ProtocolArgs for S7Args {
    type Config = S7Config;

    fn apply(&self, config: &mut S7Config) {
        config.tsaps.clone_from(&self.s7_tsaps.0);
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        let list: Vec<String> = self
            .s7_tsaps
            .0
            .iter()
            .map(|t| format!("{:#06x}", t.value()))
            .collect();
        vec![("s7-tsaps", quoted(&list.join(",")))]
    }
}

fn parse_tsaps(s: &str) -> Result<Tsaps, String> {
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim) {
        let tsap = if let Some(hex) = item.strip_prefix("0x").or_else(|| item.strip_prefix("0X")) {
            u16::from_str_radix(hex, 16)
                .ok()
                .map(Tsap::from_value)
                .ok_or_else(|| format!("'{item}' is not a 16-bit hex TSAP"))?
        } else if let Some((rack, slot)) = item.split_once('/') {
            let rack: u8 = rack
                .parse()
                .map_err(|_| format!("'{item}': rack is not a number"))?;
            let slot: u8 = slot
                .parse()
                .map_err(|_| format!("'{item}': slot is not a number"))?;
            Tsap::rack_slot(ConnectionType::Pg, rack, slot)
                .ok_or_else(|| format!("'{item}': rack 0-7 and slot 0-31"))?
        } else {
            return Err(format!(
                "'{item}' is neither a hex TSAP (0x0102) nor rack/slot (0/2)"
            ));
        };
        if !out.contains(&tsap) {
            out.push(tsap);
        }
    }
    if out.len() > MAX_TSAPS {
        return Err(format!("{} TSAPs, at most {MAX_TSAPS}", out.len()));
    }
    Ok(Tsaps(out))
}
