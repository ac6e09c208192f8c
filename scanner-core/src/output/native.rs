//! The native format: the record exactly as serialized, described by the
//! checked-in JSON Schema (`scanner-core/schema/asset-record.schema.json`).

use crate::record::AssetRecord;

/// The record as a JSON value.
pub fn encode(record: &AssetRecord) -> serde_json::Value {
    // Serializing the record cannot fail: every map in it has string keys and
    // no field has a fallible Serialize impl. Null is an unreachable fallback
    // that keeps this path free of panics.
    serde_json::to_value(record).unwrap_or(serde_json::Value::Null)
}
