//! Splunk HTTP Event Collector envelopes, ready for
//! `curl --data-binary @- https://splunk:8088/services/collector/event`.
//!
//! One envelope per record: `time` (epoch seconds, millisecond precision),
//! `host` (the device's address, so Splunk's host field is the asset),
//! `source` `otscan`, `sourcetype` `otscan:asset`, `fields` (indexed fields: `asset_id`,
//! the record's stable identity, when it has one), and `event` (the native record).

use serde_json::{json, Value};

use crate::record::AssetRecord;

/// The `sourcetype` every envelope carries; Splunk props/transforms key on it.
pub const SOURCETYPE: &str = "otscan:asset";

/// The `source` every envelope carries.
pub const SOURCE: &str = "otscan";

/// The HEC envelope for the record.
pub fn encode(record: &AssetRecord) -> Value {
    let mut envelope = json!({
        "time": epoch_seconds(record.observed_at),
        "host": record.ip.to_string(),
        "source": SOURCE,
        "sourcetype": SOURCETYPE,
        "event": super::native::encode(record),
    });
    if let Some(id) = &record.asset_id {
        envelope["fields"] = json!({ "asset_id": id });
    }
    envelope
}

/// Seconds since the epoch with millisecond precision, the resolution Splunk
/// indexes `_time` at; finer digits would only add float noise.
fn epoch_seconds(t: jiff::Timestamp) -> f64 {
    // Exact for any plausible timestamp: |ms| < 2^53.
    super::epoch_millis(t) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_milliseconds() {
        let t: jiff::Timestamp = "2026-03-01T12:00:00.123456Z".parse().unwrap();
        assert_eq!(epoch_seconds(t), 1_772_366_400.123);
    }
}
