//! Enrichment: what a scan cannot see (asset number, criticality, zone and conduit,
//! location, owner, notes), joined into records from an inventory file by address.
//!
//! The file is CSV (header `target,asset_number,criticality,zone,conduit,location,owner,notes`,
//! any subset of the attribute columns, in any order) or TOML (`[[asset]]` tables with
//! the same keys). `target` is an address or a CIDR; when several match, the most
//! specific (longest prefix) wins. A bad row stops everything with the file, line and
//! reason, before the scan starts.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Attributes joined into a record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Enrichment {
    /// The inventory line's target that matched (address or CIDR).
    pub matched: String,
    /// Asset (tag) number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_number: Option<String>,
    /// Criticality as the site rates it (e.g. high, medium, low).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality: Option<String>,
    /// Security zone (IEC 62443).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Conduit (IEC 62443).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conduit: Option<String>,
    /// Physical location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Owner (person or team).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// A bad inventory file.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// The file could not be read.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// A line is wrong.
    #[error("{path} line {line}: {reason}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: u64,
        /// Why.
        reason: String,
    },
}

/// Inventory attributes by network, most specific first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnrichmentTable {
    entries: Vec<(IpNet, Enrichment)>,
}

const COLUMNS: [&str; 7] = [
    "asset_number",
    "criticality",
    "zone",
    "conduit",
    "location",
    "owner",
    "notes",
];

fn parse_target(text: &str) -> Result<IpNet, String> {
    let t = text.trim();
    if let Ok(net) = t.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    t.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("target \"{t}\" is not an address or CIDR"))
}

fn set(e: &mut Enrichment, column: &str, value: String) {
    let value = Some(value).filter(|v| !v.trim().is_empty());
    match column {
        "asset_number" => e.asset_number = value,
        "criticality" => e.criticality = value,
        "zone" => e.zone = value,
        "conduit" => e.conduit = value,
        "location" => e.location = value,
        "owner" => e.owner = value,
        _ => e.notes = value,
    }
}

impl EnrichmentTable {
    /// Reads a CSV or TOML (by `.toml` extension) inventory file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, EnrichError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| EnrichError::Io {
            path: name.clone(),
            error,
        })?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
        {
            Self::from_toml(&text, &name)
        } else {
            Self::from_csv(&text, &name)
        }
    }

    /// Parses CSV text; `origin` names it in errors.
    pub fn from_csv(text: &str, origin: &str) -> Result<Self, EnrichError> {
        let err = |line: u64, reason: String| EnrichError::Line {
            path: origin.to_owned(),
            line,
            reason,
        };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let headers = reader.headers().map_err(|e| err(1, e.to_string()))?.clone();
        let mut target_col = None;
        let mut columns = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            match h {
                "target" => target_col = Some(i),
                c if COLUMNS.contains(&c) => columns.push((i, c.to_owned())),
                other => {
                    return Err(err(
                        1,
                        format!(
                            "unknown column \"{other}\" (known: target, {})",
                            COLUMNS.join(", ")
                        ),
                    ))
                }
            }
        }
        let target_col = target_col.ok_or_else(|| err(1, "no \"target\" column".into()))?;
        let mut table = EnrichmentTable::default();
        for row in reader.records() {
            let row = row.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                err(line, e.to_string())
            })?;
            let line = row.position().map_or(0, |p| p.line());
            let target = row.get(target_col).unwrap_or_default();
            let net = parse_target(target).map_err(|r| err(line, r))?;
            let mut entry = Enrichment {
                matched: target.to_owned(),
                ..Enrichment::default()
            };
            for (i, column) in &columns {
                set(
                    &mut entry,
                    column,
                    row.get(*i).unwrap_or_default().to_owned(),
                );
            }
            table.entries.push((net, entry));
        }
        table.sort();
        Ok(table)
    }

    /// Parses TOML text (`[[asset]]` tables); `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, EnrichError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            asset: Vec<toml::Spanned<Row>>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Row {
            target: String,
            asset_number: Option<String>,
            criticality: Option<String>,
            zone: Option<String>,
            conduit: Option<String>,
            location: Option<String>,
            owner: Option<String>,
            notes: Option<String>,
        }
        let line_of =
            |offset: usize| 1 + text[..offset.min(text.len())].matches('\n').count() as u64;
        let file: File = toml::from_str(text).map_err(|e| EnrichError::Line {
            path: origin.to_owned(),
            line: e.span().map_or(0, |s| line_of(s.start)),
            reason: e.message().to_owned(),
        })?;
        let mut table = EnrichmentTable::default();
        for spanned in file.asset {
            let line = line_of(spanned.span().start);
            let row = spanned.into_inner();
            let net = parse_target(&row.target).map_err(|reason| EnrichError::Line {
                path: origin.to_owned(),
                line,
                reason,
            })?;
            table.entries.push((
                net,
                Enrichment {
                    matched: row.target,
                    asset_number: row.asset_number,
                    criticality: row.criticality,
                    zone: row.zone,
                    conduit: row.conduit,
                    location: row.location,
                    owner: row.owner,
                    notes: row.notes,
                },
            ));
        }
        table.sort();
        Ok(table)
    }

    fn sort(&mut self) {
        // Most specific first, so the first match is the best one.
        self.entries
            .sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
    }

    /// Number of inventory entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The attributes for `ip`: the most specific entry that contains it.
    pub fn lookup(&self, ip: IpAddr) -> Option<&Enrichment> {
        self.entries
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, e)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_most_specific_wins() {
        let table = EnrichmentTable::from_csv(
            "target,zone,criticality,asset_number\n\
             # the whole cell\n\
             10.20.0.0/24,Zone 2 cell A,medium,\n\
             10.20.0.10,Zone 2 cell A,high,A-1001\n",
            "inv.csv",
        )
        .unwrap();
        assert_eq!(table.len(), 2);
        let plc = table.lookup("10.20.0.10".parse().unwrap()).unwrap();
        assert_eq!(plc.asset_number.as_deref(), Some("A-1001"));
        assert_eq!(plc.criticality.as_deref(), Some("high"));
        let other = table.lookup("10.20.0.99".parse().unwrap()).unwrap();
        assert_eq!(other.matched, "10.20.0.0/24");
        assert_eq!(other.asset_number, None);
        assert!(table.lookup("10.21.0.1".parse().unwrap()).is_none());
    }

    #[test]
    fn csv_errors_name_file_line_and_reason() {
        let e = EnrichmentTable::from_csv("target,zone\n10.0.0.1,a\n10.0.0.999,b\n", "inv.csv")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "inv.csv line 3: target \"10.0.0.999\" is not an address or CIDR"
        );
        let e = EnrichmentTable::from_csv("target,colour\n", "inv.csv")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("inv.csv line 1: unknown column \"colour\""),
            "{e}"
        );
        let e = EnrichmentTable::from_csv("zone\nx\n", "inv.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no \"target\" column"), "{e}");
        let e = EnrichmentTable::from_csv("target,zone\n10.0.0.1,a,extra\n", "inv.csv")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("inv.csv line 2:"), "{e}");
    }

    #[test]
    fn toml_rows_and_errors() {
        let table = EnrichmentTable::from_toml(
            "[[asset]]\ntarget = \"10.0.0.0/8\"\nowner = \"OT team\"\n\n[[asset]]\ntarget = \"10.1.2.3\"\nlocation = \"Pump house\"\n",
            "inv.toml",
        )
        .unwrap();
        let e = table.lookup("10.1.2.3".parse().unwrap()).unwrap();
        assert_eq!(e.location.as_deref(), Some("Pump house"));
        assert_eq!(e.owner, None, "most specific entry only");
        let err = EnrichmentTable::from_toml(
            "[[asset]]\ntarget = \"10.0.0.1\"\n\n[[asset]]\ntarget = \"nope\"\n",
            "inv.toml",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "inv.toml line 4: target \"nope\" is not an address or CIDR"
        );
        let err =
            EnrichmentTable::from_toml("[[asset]]\ntarget = \"10.0.0.1\"\ncolor = 1\n", "inv.toml")
                .unwrap_err()
                .to_string();
        assert!(err.starts_with("inv.toml line 3:"), "{err}");
    }
}
