//! Encoders that turn an [`AssetRecord`] into the JSON other tools ingest.
//!
//! Every format is one JSON object per record, written as one line (no newline
//! inside it), so a stream of records is NDJSON that `jq`, Splunk, Elastic
//! and OCSF pipelines read line by line.
//!
//! | [`Format`] | what a line is |
//! |---|---|
//! | `native` | the record as serialized (its JSON Schema is checked in) |
//! | `ocsf` | an OCSF 1.7.0 Device Inventory Info event (class 5001, activity Collect) |
//! | `ecs` | an Elastic Common Schema document with `event.kind: asset` |
//! | `hec` | a Splunk HTTP Event Collector envelope around the native record |
//!
//! For people rather than pipelines: [`table`] (a terminal table, one line per
//! device), [`csv`] (one spreadsheet-safe row per device) and [`report`] (one
//! self-contained HTML inventory report).
//!
//! ```
//! use scanner_core::output::{encode_line, Format, OutputMeta};
//! use scanner_core::record::AssetRecord;
//!
//! let record = AssetRecord::new("scan-1", "10.0.0.5".parse().unwrap(), None);
//! let line = encode_line(&record, "ecs".parse::<Format>().unwrap(), &OutputMeta::default());
//! assert!(!line.contains('\n'));
//! let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
//! assert_eq!(doc["event"]["kind"], "asset");
//! ```

pub mod csv;
pub mod ecs;
pub mod hec;
pub mod native;
pub mod ocsf;
pub mod report;
pub mod table;

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::record::{AssetRecord, ServiceObservation, Status, Transport};

/// The output formats `--format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The native record, one per line.
    #[default]
    Native,
    /// OCSF Device Inventory Info events.
    Ocsf,
    /// Elastic Common Schema documents.
    Ecs,
    /// Splunk HTTP Event Collector envelopes.
    Hec,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 4] = [Format::Native, Format::Ocsf, Format::Ecs, Format::Hec];

    /// The lower-case name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Native => "native",
            Format::Ocsf => "ocsf",
            Format::Ecs => "ecs",
            Format::Hec => "hec",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not one of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown output format {0:?} (expected one of: native, ocsf, ecs, hec)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Case-insensitive because people type `OCSF` and `ECS` the way the
        // standards spell them.
        let wanted = s.trim();
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// Facts about the producer that are not in the record, for the formats that
/// describe who observed the device (OCSF `metadata`, ECS `observer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputMeta {
    /// Version of otscan that produced the events.
    pub product_version: String,
    /// Host name of the machine running the scan, when the caller wants it in
    /// the events (ECS `observer.hostname`, OCSF `metadata.reporter.hostname`).
    pub scanner_hostname: Option<String>,
    /// Splunk HEC envelope fields (`index`, `source`, `sourcetype`).
    pub hec: hec::HecFields,
    /// The ECS version `ecs` documents follow.
    pub ecs_version: ecs::EcsVersion,
}

impl Default for OutputMeta {
    /// This crate's version, no scanner host name, the default HEC fields, ECS 8.
    fn default() -> Self {
        OutputMeta {
            product_version: env!("CARGO_PKG_VERSION").to_owned(),
            scanner_hostname: None,
            hec: hec::HecFields::default(),
            ecs_version: ecs::EcsVersion::default(),
        }
    }
}

/// The record in `format`, as a JSON value.
pub fn encode(record: &AssetRecord, format: Format, meta: &OutputMeta) -> serde_json::Value {
    match format {
        Format::Native => native::encode(record),
        Format::Ocsf => ocsf::encode(record, meta),
        Format::Ecs => ecs::encode(record, meta),
        Format::Hec => hec::encode(record, &meta.hec),
    }
}

/// True when `format` has a line for the record.
///
/// OCSF Device Inventory Info events and ECS asset documents describe a device,
/// so an address that answered nothing (a `--emit-all` record with
/// `responsive: false`) has none: a SIEM would otherwise count every empty
/// address of a scanned range as an asset. The native record, the HEC envelope
/// around it, CSV and the table keep such records (`responsive: false`).
pub fn emits(record: &AssetRecord, format: Format) -> bool {
    match format {
        Format::Ocsf | Format::Ecs => record.responsive,
        Format::Native | Format::Hec => true,
    }
}

/// The record in `format` as one compact JSON object, without a trailing newline.
///
/// Compact JSON escapes control characters inside strings, so the line never
/// contains a newline even when a device reports one in a text field.
pub fn encode_line(record: &AssetRecord, format: Format, meta: &OutputMeta) -> String {
    encode(record, format, meta).to_string()
}

/// Writes the record as one line (with its newline) and flushes, so a consumer
/// reading a pipe sees each device as soon as it is scanned.
pub fn write_record<W: Write + ?Sized>(
    out: &mut W,
    record: &AssetRecord,
    format: Format,
    meta: &OutputMeta,
) -> io::Result<()> {
    let mut line = encode_line(record, format, meta);
    line.push('\n');
    out.write_all(line.as_bytes())?;
    out.flush()
}

/// Seconds and milliseconds since the Unix epoch of a timestamp, as OCSF
/// (`timestamp_t`, milliseconds) and Splunk (`time`, seconds) want them.
pub(crate) fn epoch_millis(t: jiff::Timestamp) -> i64 {
    t.as_millisecond()
}

/// True when the observation shows the port open: something at the far end
/// accepted the connection (TCP) or answered (UDP).
///
/// A refused or timed-out TCP connect says the port is closed or filtered.
/// For UDP a silence proves nothing, so only bytes coming back count.
pub(crate) fn port_is_open(service: &ServiceObservation) -> bool {
    match service.transport {
        Transport::Tcp => matches!(
            service.status,
            Status::Success
                | Status::ApplicationError
                | Status::ProtocolError
                | Status::ConnectionClosed
                | Status::IoTimeout
        ),
        Transport::Udp => matches!(
            service.status,
            Status::Success | Status::ApplicationError | Status::ProtocolError
        ),
        // Layer 2 (PROFINET DCP): no IP port at all.
        Transport::Ethernet => false,
    }
}

/// Lower-case transport name, as OCSF `protocol_name` and ECS `network.transport` spell it.
/// Protocol, transport, port, status and rtt of every service: what the OCSF and
/// ECS encoders keep of the services beyond their own fields.
pub(crate) fn service_summaries(record: &AssetRecord) -> serde_json::Value {
    record
        .services
        .iter()
        .map(|s| {
            let mut service = serde_json::Map::new();
            service.insert("protocol".into(), s.protocol.name().into());
            service.insert("transport".into(), transport_name(s.transport).into());
            service.insert("port".into(), s.port.into());
            service.insert("status".into(), s.status.name().into());
            put(&mut service, "rtt_ms", s.rtt_ms);
            serde_json::Value::Object(service)
        })
        .collect()
}

pub(crate) const fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
        Transport::Ethernet => "ethernet",
    }
}

/// Protocol names of the services that answered in their protocol, sorted and
/// without repeats.
pub(crate) fn answering_protocols(record: &AssetRecord) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = record
        .services
        .iter()
        .filter(|s| s.status.is_protocol_answer())
        .map(|s| s.protocol.name())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Inserts `value` under `key` when it is present, so encoders never emit
/// `null` for something a scan did not learn.
pub(crate) fn put<V: Into<serde_json::Value>>(
    object: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    value: Option<V>,
) {
    if let Some(v) = value {
        object.insert(key.to_owned(), v.into());
    }
}

/// The record's `cpe` list and its Recog fingerprints (database and description, the
/// parameters stay in the native record) under `cpe` and `fingerprints`, when there are any:
/// the SIEM formats carry them in their producer namespace (OCSF `unmapped`, ECS `otscan.*`).
pub(crate) fn put_recog(
    map: &mut serde_json::Map<String, serde_json::Value>,
    record: &AssetRecord,
) {
    if !record.cpe.is_empty() {
        map.insert("cpe".into(), record.cpe.clone().into());
    }
    if !record.fingerprints.is_empty() {
        let fps: Vec<serde_json::Value> = record
            .fingerprints
            .iter()
            .map(|f| serde_json::json!({ "database": f.database, "description": f.description }))
            .collect();
        map.insert("fingerprints".into(), fps.into());
    }
}

/// Inserts `value` under `key` unless it is an empty object, so optional
/// sub-objects disappear instead of showing up as `{}`.
pub(crate) fn put_object(
    object: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    value: serde_json::Map<String, serde_json::Value>,
) {
    if !value.is_empty() {
        object.insert(key.to_owned(), serde_json::Value::Object(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.to_string().parse::<Format>(), Ok(f));
        }
        assert_eq!("OCSF".parse::<Format>(), Ok(Format::Ocsf));
        assert!("csv".parse::<Format>().is_err());
    }

    #[test]
    fn udp_silence_is_not_an_open_port() {
        let mut s: ServiceObservation = serde_json::from_value(serde_json::json!({
            "protocol": "snmp", "transport": "udp", "port": 161, "status": "io-timeout",
            "timestamp": "2026-01-01T00:00:00Z", "requests": 1
        }))
        .unwrap();
        assert!(!port_is_open(&s));
        s.transport = Transport::Tcp;
        assert!(port_is_open(&s), "a TCP timeout after connect means open");
        s.status = Status::ConnectionRefused;
        assert!(!port_is_open(&s));
    }
}
