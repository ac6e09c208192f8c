//! `--modbus-unit-ids`.

use clap::Args;
use scanner_core::protocols::modbus::ModbusConfig;

use super::{quoted, ProtocolArgs};

/// Modbus/TCP flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "Modbus options")]
pub struct ModbusArgs {
    /// Modbus unit ids to try in order, stopping at the first that answers (e.g. 255,0,1 or 1-247).
    #[arg(long, value_name = "LIST", value_parser = parse_unit_ids)]
    pub modbus_unit_ids: Option<UnitIds>,
}

/// A parsed unit id list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitIds(pub Vec<u8>);

impl ProtocolArgs for ModbusArgs {
    type Config = ModbusConfig;

    fn apply(&self, config: &mut ModbusConfig) {
        if let Some(ids) = &self.modbus_unit_ids {
            config.unit_ids.clone_from(&ids.0);
        }
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        self.modbus_unit_ids
            .iter()
            .map(|ids| {
                let list: Vec<String> = ids.0.iter().map(u8::to_string).collect();
                ("modbus-unit-ids", quoted(&list.join(",")))
            })
            .collect()
    }
}

/// Parses `255,0,1` or `1-247` or a mix; order is kept, duplicates dropped.
fn parse_unit_ids(s: &str) -> Result<UnitIds, String> {
    let mut ids = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let one = |t: &str| {
            t.trim()
                .parse::<u8>()
                .map_err(|_| format!("'{t}' is not a unit id (0-255)"))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (one(a)?, one(b)?),
            None => (one(part)?, one(part)?),
        };
        if lo > hi {
            return Err(format!("unit id range '{part}' runs backwards"));
        }
        for id in lo..=hi {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    if ids.is_empty() {
        return Err(format!("'{s}' names no unit id"));
    }
    Ok(UnitIds(ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_ids() {
        assert_eq!(parse_unit_ids("255,0,1"), Ok(UnitIds(vec![255, 0, 1])));
        assert_eq!(parse_unit_ids("1-247").map(|u| u.0.len()), Ok(247));
        assert_eq!(parse_unit_ids("3,1-3"), Ok(UnitIds(vec![3, 1, 2])));
        assert!(parse_unit_ids("256").is_err());
        assert!(parse_unit_ids("9-2").is_err());
        assert!(parse_unit_ids(",").is_err());
    }
}
