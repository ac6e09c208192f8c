//! What changed between two scans: devices that appeared, disappeared, moved to another
//! address, or changed identity or services.
//!
//! ```
//! use scanner_core::diff::{diff, read_jsonl, ChangeKind};
//!
//! let old = r#"{"schema":"otscan.asset/1","scan_id":"a","observed_at":"2026-01-01T00:00:00Z","scanner":{"name":"otscan","version":"0.1.0"},"ip":"10.0.0.5","responsive":true,"firmware_version":"20.11","sources":{},"services":[]}"#;
//! let new = old.replace("20.11", "20.13");
//! let changes = diff(&read_jsonl(old.as_bytes())?, &read_jsonl(new.as_bytes())?);
//! assert_eq!(changes.len(), 1);
//! assert_eq!(changes[0].kind, ChangeKind::Changed);
//! assert!(changes[0].notable, "a firmware change on the same address is notable");
//! # Ok::<(), scanner_core::diff::DiffError>(())
//! ```
//!
//! Rules:
//! - A device is keyed by its IP address. When a scan holds several records
//!   for one address (a resumed or merged scan), the last one wins.
//! - A device that disappeared from one address while a device with the same
//!   `asset_id` (not an `ip:` one) appeared at another is `moved`: one event at the
//!   new address, `previous_ip` the old one, `fields` the `ip` and whatever else
//!   differs. Records written before otscan derived `asset_id` get one derived from
//!   their fields when read.
//! - A record whose `responsive` is false (written with `--emit-all` for an
//!   address that answered no protocol) counts as absent: the device is gone
//!   from the inventory's point of view.
//! - Compared fields: `vendor`, `vendor_id`, `product_name`, `product_code`,
//!   `model`, `serial_number`, `firmware_version`, `hostname`, `mac`,
//!   `device_type`, and `services`, the set of `protocol/transport/port` that
//!   answered in their protocol (status success or application-error). A
//!   service switching between those two statuses is not a change: the
//!   device still speaks the protocol there.
//! - A change is `notable` when the firmware version or serial number was
//!   replaced by a different value. A value that merely appears or vanishes
//!   (one probe answered in one scan and not in the other) is reported but not
//!   notable, so flaky probes do not page anyone.
//! - Changes come out sorted by address.
//! - [`Inventory::read`] streams a file, keeping per address only the compared
//!   fields, and counts addresses that have more than one record.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::BufRead;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::AssetRecord;

/// What happened to a device between the two scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Answered in the new scan, not in the old one.
    Appeared,
    /// Answered in the old scan, not in the new one.
    Disappeared,
    /// Answered in both, with different identity or services.
    Changed,
    /// Gone from one address, and the same device (same `asset_id`) answered at another.
    Moved,
}

impl ChangeKind {
    /// The snake_case name used in change events.
    pub const fn name(self) -> &'static str {
        match self {
            ChangeKind::Appeared => "appeared",
            ChangeKind::Disappeared => "disappeared",
            ChangeKind::Changed => "changed",
            ChangeKind::Moved => "moved",
        }
    }
}

/// One field's value in each scan. `null` means the scan did not learn it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    /// Record field name (`firmware_version`, `services`, ...).
    pub field: String,
    /// Value in the old scan.
    pub before: Value,
    /// Value in the new scan.
    pub after: Value,
}

/// One change event, as `otscan diff` writes it (one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// Appeared, disappeared, changed or moved.
    pub kind: ChangeKind,
    /// The device's address (for `moved`, the new one).
    pub ip: IpAddr,
    /// For `moved`: the address the device had in the old scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_ip: Option<IpAddr>,
    /// For `changed`, the fields that differ; for `appeared` / `disappeared`,
    /// every compared field the scan that saw the device knew (the other side
    /// `null`), so the event says what came or went.
    pub fields: Vec<FieldChange>,
    /// True when the firmware version or the serial number was replaced by a
    /// different value on the same address.
    pub notable: bool,
}

impl fmt::Display for Change {
    /// One human-readable line, e.g.
    /// `changed 10.0.0.5: firmware_version "20.11" -> "20.13" (notable)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.name(), self.ip)?;
        if let Some(previous) = self.previous_ip {
            write!(f, " (was {previous})")?;
        }
        if matches!(self.kind, ChangeKind::Changed | ChangeKind::Moved) {
            let parts: Vec<String> = self
                .fields
                .iter()
                .map(|c| format!("{} {} -> {}", c.field, c.before, c.after))
                .collect();
            write!(f, ": {}", parts.join("; "))?;
        }
        if self.notable {
            f.write_str(" (notable)")?;
        }
        Ok(())
    }
}

/// Fields whose replacement makes a change notable: a different firmware or
/// a different serial at the same address means the device was updated or swapped.
const NOTABLE: [&str; 2] = ["firmware_version", "serial_number"];

/// The values of the compared fields of a record, in [`FIELDS`] order, `null` when absent.
fn snapshot(r: &AssetRecord) -> Vec<Value> {
    fn text(v: &Option<String>) -> Value {
        v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
    }
    fn json<T: Serialize>(v: &Option<T>) -> Value {
        // Vendor ids and roles serialize to plain JSON; Null is an unreachable fallback.
        v.as_ref().map_or(Value::Null, |v| {
            serde_json::to_value(v).unwrap_or(Value::Null)
        })
    }
    let services: BTreeSet<String> = r
        .services
        .iter()
        .filter(|s| s.status.is_protocol_answer())
        .map(|s| {
            format!(
                "{}/{}/{}",
                s.protocol.name(),
                crate::output::transport_name(s.transport),
                s.port
            )
        })
        .collect();
    let services = if services.is_empty() {
        Value::Null
    } else {
        Value::Array(services.into_iter().map(Value::String).collect())
    };
    // In FIELDS order.
    vec![
        text(&r.vendor),
        json(&r.vendor_id),
        text(&r.product_name),
        text(&r.product_code),
        text(&r.model),
        text(&r.serial_number),
        text(&r.firmware_version),
        text(&r.hostname),
        text(&r.mac),
        json(&r.device_type),
        services,
    ]
}

/// The compared fields of one record, as [`snapshot`] gives them, kept as one
/// compact JSON array of their values (in [`FIELDS`] order): a few hundred bytes per
/// device, compared as text and decoded only for a device that changed.
type Snapshot = Box<str>;

/// The compared fields, in report order (the order [`snapshot`] gives them).
const FIELDS: [&str; 11] = [
    "vendor",
    "vendor_id",
    "product_name",
    "product_code",
    "model",
    "serial_number",
    "firmware_version",
    "hostname",
    "mac",
    "device_type",
    "services",
];

fn compact(r: &AssetRecord) -> Snapshot {
    serde_json::to_string(&snapshot(r))
        .unwrap_or_default()
        .into_boxed_str()
}

/// The fields of a compact snapshot with their names.
fn expand(snapshot: &Snapshot) -> Vec<(&'static str, Value)> {
    let values: Vec<Value> = serde_json::from_str(snapshot).unwrap_or_default();
    FIELDS.into_iter().zip(values).collect()
}

/// Responsive records by address, the last record of an address winning.
fn by_ip(records: &[AssetRecord]) -> Inventory {
    let mut inventory = Inventory::default();
    for r in records {
        inventory.add(r, 0);
    }
    inventory
}

/// The changes from `old` to `new`, sorted by address. Empty when nothing changed.
pub fn diff(old: &[AssetRecord], new: &[AssetRecord]) -> Vec<Change> {
    let (old, new) = (by_ip(old), by_ip(new));
    changes(&old, &new).collect()
}

/// The changes from `old` to `new` one at a time, sorted by address (a moved device
/// at its new address).
pub fn changes<'a>(old: &'a Inventory, new: &'a Inventory) -> impl Iterator<Item = Change> + 'a {
    let moves = moves(old, new);
    let moved_from: BTreeSet<IpAddr> = moves.values().copied().collect();
    let ips: BTreeSet<IpAddr> = old
        .devices
        .keys()
        .chain(new.devices.keys())
        .copied()
        .collect();
    ips.into_iter().filter_map(move |ip| {
        if moved_from.contains(&ip) && !new.devices.contains_key(&ip) {
            return None;
        }
        match (old.devices.get(&ip), new.devices.get(&ip)) {
            (None, Some(n)) => match moves.get(&ip) {
                Some(&from) => Some(moved(from, ip, &old.devices[&from], n)),
                None => Some(one_sided(ChangeKind::Appeared, ip, n)),
            },
            (Some(o), None) => Some(one_sided(ChangeKind::Disappeared, ip, o)),
            (Some(o), Some(n)) => changed(ip, o, n),
            (None, None) => None,
        }
    })
}

/// New address -> old address of each device that left an address and showed up, with
/// the same asset id, at an address that answered nothing in the old scan. An `ip:` id
/// never moves; each old address pairs at most once.
fn moves(old: &Inventory, new: &Inventory) -> BTreeMap<IpAddr, IpAddr> {
    let mut gone: BTreeMap<&str, IpAddr> = BTreeMap::new();
    for (ip, id) in &old.ids {
        if !new.devices.contains_key(ip) && !id.starts_with("ip:") {
            gone.entry(id.as_str()).or_insert(*ip);
        }
    }
    let mut pairs = BTreeMap::new();
    for (ip, id) in &new.ids {
        if old.devices.contains_key(ip) {
            continue;
        }
        if let Some(from) = gone.remove(id.as_str()) {
            pairs.insert(*ip, from);
        }
    }
    pairs
}

/// An address with more than one record in one scan file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The address.
    pub ip: IpAddr,
    /// 1-based line of its first record.
    pub first_line: u64,
    /// 1-based line of a later record (the last one read wins).
    pub line: u64,
}

/// One scan file reduced to what a diff compares: the compared fields of the last
/// record of each responsive address (never whole records), so memory grows with
/// the number of addresses, not with the size of the file.
#[derive(Debug, Default)]
pub struct Inventory {
    devices: BTreeMap<IpAddr, Snapshot>,
    /// The asset id of each address in `devices`.
    ids: BTreeMap<IpAddr, String>,
    /// First line of every address seen, to report duplicates.
    first_lines: BTreeMap<IpAddr, u64>,
    /// Records read.
    pub records: u64,
    /// Records of an address that already had one (the last record wins).
    pub duplicate_count: u64,
    /// The first few of them (at most [`Inventory::MAX_DUPLICATES_KEPT`]).
    pub duplicates: Vec<Duplicate>,
}

impl Inventory {
    /// How many duplicates are kept with their address and lines, for messages.
    pub const MAX_DUPLICATES_KEPT: usize = 5;
    /// Longest record line read, in bytes.
    pub const MAX_LINE_LEN: usize = crate::output::native::RecordReader::<&[u8]>::MAX_LINE_LEN;

    /// Devices (responsive addresses) in the inventory.
    pub fn devices(&self) -> usize {
        self.devices.len()
    }

    fn add(&mut self, r: &AssetRecord, line: u64) {
        self.records += 1;
        match self.first_lines.get(&r.ip) {
            Some(&first_line) => {
                self.duplicate_count += 1;
                if self.duplicates.len() < Self::MAX_DUPLICATES_KEPT {
                    self.duplicates.push(Duplicate {
                        ip: r.ip,
                        first_line,
                        line,
                    });
                }
            }
            None => {
                self.first_lines.insert(r.ip, line);
            }
        }
        if r.responsive {
            self.devices.insert(r.ip, compact(r));
            let id = r.asset_id.clone().unwrap_or_else(|| {
                // A record from before asset ids: derived from its fields as a scan would.
                let mut derived = r.clone();
                crate::record::derive::finish(&mut derived);
                derived.asset_id.unwrap_or_default()
            });
            self.ids.insert(r.ip, id);
        } else {
            // A later unresponsive record for the address supersedes an
            // earlier answer: the latest word on the device is that it is gone.
            self.devices.remove(&r.ip);
            self.ids.remove(&r.ip);
        }
    }

    /// Reads a native NDJSON scan line by line (a byte-order mark before the first
    /// line and blank lines are skipped), keeping only what [`changes`] compares.
    /// Errors name the 1-based line; a line longer than
    /// [`Inventory::MAX_LINE_LEN`] is one.
    pub fn read<R: BufRead>(reader: R) -> Result<Inventory, DiffError> {
        // The one reader of saved scans, shared with `otscan convert` and `report`.
        let mut inventory = Inventory::default();
        let mut records = crate::output::native::RecordReader::new(reader);
        while let Some(record) = records.next() {
            let record = record?;
            inventory.add(&record, records.line());
        }
        Ok(inventory)
    }
}

fn one_sided(kind: ChangeKind, ip: IpAddr, snapshot: &Snapshot) -> Change {
    let fields = expand(snapshot)
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(field, v)| {
            let (before, after) = match kind {
                ChangeKind::Appeared => (Value::Null, v),
                _ => (v, Value::Null),
            };
            FieldChange {
                field: field.to_owned(),
                before,
                after,
            }
        })
        .collect();
    Change {
        kind,
        ip,
        previous_ip: None,
        fields,
        notable: false,
    }
}

/// The event of a device that moved from `from` to `to`: the address first, then every
/// other compared field that differs.
fn moved(from: IpAddr, to: IpAddr, old: &Snapshot, new: &Snapshot) -> Change {
    let mut change = changed(to, old, new).unwrap_or(Change {
        kind: ChangeKind::Changed,
        ip: to,
        previous_ip: None,
        fields: Vec::new(),
        notable: false,
    });
    change.kind = ChangeKind::Moved;
    change.previous_ip = Some(from);
    change.fields.insert(
        0,
        FieldChange {
            field: "ip".to_owned(),
            before: Value::String(from.to_string()),
            after: Value::String(to.to_string()),
        },
    );
    change
}

fn changed(ip: IpAddr, old: &Snapshot, new: &Snapshot) -> Option<Change> {
    if old == new {
        return None;
    }
    let fields: Vec<FieldChange> = expand(old)
        .into_iter()
        .zip(expand(new))
        .filter(|((_, before), (_, after))| before != after)
        .map(|((field, before), (_, after))| FieldChange {
            field: field.to_owned(),
            before,
            after,
        })
        .collect();
    if fields.is_empty() {
        return None;
    }
    let notable = fields
        .iter()
        .any(|c| NOTABLE.contains(&c.field.as_str()) && !c.before.is_null() && !c.after.is_null());
    Some(Change {
        kind: ChangeKind::Changed,
        ip,
        previous_ip: None,
        fields,
        notable,
    })
}

/// A scan file that cannot be read as records: the error of
/// [`RecordReader`](crate::output::native::RecordReader), which every reader of saved
/// scans shares.
pub use crate::output::native::ReadError as DiffError;

/// Reads a native NDJSON scan (one record per line), skipping blank lines.
///
/// Every record is returned, duplicates included; [`diff`] keeps the last
/// record of each address. Errors name the 1-based line; the caller adds the
/// file name. The whole file is held in memory: for large files use
/// [`Inventory::read`], which keeps only what a diff compares.
pub fn read_jsonl<R: BufRead>(reader: R) -> Result<Vec<AssetRecord>, DiffError> {
    let mut records = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line_no = u64::try_from(index).map_or(u64::MAX, |i| i.saturating_add(1));
        let line = line.map_err(|source| DiffError::Io {
            line: line_no,
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line).map_err(|source| DiffError::NotARecord {
            line: line_no,
            source,
        })?;
        records.push(record);
    }
    Ok(records)
}

/// The JSON Schema of a change event, for consumers of `otscan diff` output.
pub fn json_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Change)).unwrap_or(Value::Null)
}
