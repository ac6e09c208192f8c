//! Splunk HTTP Event Collector envelopes, ready for
//! `curl --data-binary @- https://splunk:8088/services/collector/event`.
//!
//! One envelope per record: `time` (epoch seconds, millisecond precision),
//! `host` (the device's address, so Splunk's host field is the asset),
//! `source` (default `otscan`), `sourcetype` (default `otscan:asset`), `index`
//! (only when one is given; otherwise the HEC token's default index), `fields` (indexed
//! fields: `asset_id`, the record's stable identity, when it has one), and
//! `event` (the native record). [`HecFields`] sets the three.

use serde_json::{json, Map, Value};

use crate::record::AssetRecord;

/// The envelope fields a Splunk deployment chooses: where the events are
/// indexed and how they are labelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HecFields {
    /// `index`: `None` leaves it to the HEC token's default index.
    pub index: Option<String>,
    /// `source`.
    pub source: String,
    /// `sourcetype`.
    pub sourcetype: String,
}

impl Default for HecFields {
    /// No index, `source` [`SOURCE`], `sourcetype` [`SOURCETYPE`].
    fn default() -> Self {
        HecFields {
            index: None,
            source: SOURCE.to_owned(),
            sourcetype: SOURCETYPE.to_owned(),
        }
    }
}

/// Checks a Splunk index name as Splunk creates them: lower-case letters,
/// digits, `_` and `-`, not starting with `_` or `-` (those are Splunk's own
/// indexes), and not containing `kvstore`. The error says what is wrong.
pub fn check_index(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an index name cannot be empty".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "'{name}': {c:?} is not allowed (an index name has lower-case letters, digits, _ and -)"
        ));
    }
    if name.starts_with(['_', '-']) {
        return Err(format!("'{name}' starts with {:?}", &name[..1]));
    }
    if name.contains("kvstore") {
        return Err(format!(
            "'{name}' contains 'kvstore', which Splunk reserves"
        ));
    }
    Ok(())
}

/// Checks a `source` or `sourcetype`: 1 to 256 characters, no control
/// characters, no leading or trailing blank; a sourcetype also has no blank at
/// all (props.conf stanzas and searches name it bare).
pub fn check_label(text: &str, sourcetype: bool) -> Result<(), String> {
    if text.is_empty() {
        return Err("cannot be empty".into());
    }
    if text.chars().count() > 256 {
        return Err(format!("'{text}' is longer than 256 characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{text:?} contains a control character"));
    }
    if sourcetype && text.chars().any(char::is_whitespace) {
        return Err(format!("'{text}' contains a blank"));
    }
    if text.trim() != text {
        return Err(format!("'{text}' starts or ends with a blank"));
    }
    Ok(())
}

/// The `sourcetype` every envelope carries; Splunk props/transforms key on it.
pub const SOURCETYPE: &str = "otscan:asset";

/// The `source` every envelope carries.
pub const SOURCE: &str = "otscan";

/// The HEC envelope for the record.
pub fn encode(record: &AssetRecord, fields: &HecFields) -> Value {
    let mut envelope = Map::new();
    envelope.insert("time".into(), json!(epoch_seconds(record.observed_at)));
    envelope.insert("host".into(), record.ip.to_string().into());
    envelope.insert("source".into(), fields.source.clone().into());
    envelope.insert("sourcetype".into(), fields.sourcetype.clone().into());
    super::put(&mut envelope, "index", fields.index.clone());
    if let Some(id) = &record.asset_id {
        envelope.insert("fields".into(), json!({ "asset_id": id }));
    }
    envelope.insert("event".into(), super::native::encode(record));
    Value::Object(envelope)
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
    fn index_names_follow_splunk_rules() {
        for good in ["main", "ot_assets", "ot-assets-2", "0t"] {
            assert_eq!(check_index(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "OT",
            "ot assets",
            "_internal",
            "-x",
            "my_kvstore",
            "ot.assets",
            "é",
        ] {
            assert!(check_index(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn labels_refuse_control_characters_and_blank_sourcetypes() {
        assert_eq!(check_label("otscan plant A", false), Ok(()));
        assert_eq!(check_label("otscan:asset:ocsf", true), Ok(()));
        assert!(check_label("otscan plant A", true).is_err());
        assert!(check_label("", false).is_err());
        assert!(check_label(" x", false).is_err());
        assert!(check_label("a\nb", false).is_err());
        assert!(check_label("a\u{1b}[31m", false).is_err());
    }

    #[test]
    fn seconds_keep_milliseconds() {
        let t: jiff::Timestamp = "2026-03-01T12:00:00.123456Z".parse().unwrap();
        assert_eq!(epoch_seconds(t), 1_772_366_400.123);
    }
}
