//! Elastic Common Schema documents describing an asset.
//!
//! Categorization: `event.kind: asset`, `event.category: [host]`,
//! `event.type: [info]`, `event.dataset: otscan.asset`, `event.module: otscan`.
//! Only ECS field names are used (the list, with its source, is checked in at
//! `tests/data/ecs-fields-used.txt`); what ECS has no field for goes under the
//! custom `otscan.*` namespace, and enrichment attributes without an ECS field
//! go to `labels.*`.
//!
//! | record | ECS |
//! |---|---|
//! | `observed_at` | `@timestamp` (RFC 3339) |
//! | `ip` | `host.ip[]`, `related.ip[]` |
//! | `mac` | `host.mac[]` in ECS form, upper-case hyphenated (`00-00-5E-00-53-23`) |
//! | `hostname` | `host.hostname`, `host.name` (the address when there is no name), `related.hosts[]` |
//! | `vendor` | `device.manufacturer` |
//! | `model`, else `product_name` | `device.model.name` |
//! | `product_code` | `device.model.identifier` |
//! | `serial_number` | `device.serial_number` |
//! | the protocol that identified the device | `network.protocol` (one lower-case value: the protocol `sources.vendor` names, else the first service that answered in its protocol) |
//! | every protocol that answered | `otscan.protocols[]` (sorted, the one in `network.protocol` included) |
//! | otscan itself | `observer.vendor`, `observer.product`, `observer.type: scanner`, `observer.version`, `observer.hostname` |
//! | enrichment `location` | `host.geo.name` |
//! | other enrichment attributes | `labels.asset_number`, `labels.criticality`, `labels.zone`, `labels.conduit`, `labels.owner`, `labels.notes` |
//! | firmware, vendor id, role, product name, services, scan id | `otscan.*` |

use serde_json::{json, Map, Value};

use super::{answering_protocols, put, put_object, OutputMeta};
use crate::record::AssetRecord;

/// The ECS version the documents follow (`ecs.version`).
pub const ECS_VERSION: &str = "8.17.0";

/// The custom namespace for what ECS has no field for.
pub const CUSTOM_NAMESPACE: &str = "otscan";

/// A MAC address in ECS form (upper-case hex pairs joined by hyphens), or
/// `None` when `mac` is not six hex pairs separated by `:` or `-`.
pub fn ecs_mac(mac: &str) -> Option<String> {
    let pairs: Vec<&str> = mac.split([':', '-']).collect();
    let well_formed = pairs.len() == 6
        && pairs
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    well_formed.then(|| pairs.join("-").to_ascii_uppercase())
}

/// The ECS document for the record.
pub fn encode(record: &AssetRecord, meta: &OutputMeta) -> Value {
    let ip = record.ip.to_string();
    let mut doc = Map::new();
    doc.insert("@timestamp".into(), record.observed_at.to_string().into());
    doc.insert("ecs".into(), json!({ "version": ECS_VERSION }));
    doc.insert(
        "event".into(),
        json!({
            "kind": "asset",
            "category": ["host"],
            "type": ["info"],
            "dataset": "otscan.asset",
            "module": "otscan",
        }),
    );

    let mac = record.mac.as_deref().and_then(ecs_mac);
    let mut host = Map::new();
    host.insert("ip".into(), json!([ip]));
    if let Some(mac) = &mac {
        host.insert("mac".into(), json!([mac]));
    }
    put(&mut host, "hostname", record.hostname.clone());
    // host.name is what Kibana shows for a host; fall back to the address so
    // every asset has one.
    host.insert(
        "name".into(),
        record.hostname.clone().unwrap_or_else(|| ip.clone()).into(),
    );
    if let Some(location) = record.enrichment.as_ref().and_then(|e| e.location.clone()) {
        host.insert("geo".into(), json!({ "name": location }));
    }
    doc.insert("host".into(), Value::Object(host));

    let mut model = Map::new();
    put(
        &mut model,
        "name",
        record.model.clone().or_else(|| record.product_name.clone()),
    );
    put(&mut model, "identifier", record.product_code.clone());
    let mut device = Map::new();
    put(&mut device, "manufacturer", record.vendor.clone());
    put_object(&mut device, "model", model);
    put(&mut device, "serial_number", record.serial_number.clone());
    put_object(&mut doc, "device", device);

    if let Some(protocol) = primary_protocol(record) {
        doc.insert("network".into(), json!({ "protocol": protocol }));
    }

    let mut related = Map::new();
    related.insert("ip".into(), json!([ip]));
    if let Some(name) = &record.hostname {
        related.insert("hosts".into(), json!([name]));
    }
    doc.insert("related".into(), Value::Object(related));

    let mut observer = Map::new();
    observer.insert("vendor".into(), "otscan project".into());
    observer.insert("product".into(), "otscan".into());
    observer.insert("type".into(), "scanner".into());
    observer.insert("version".into(), meta.product_version.clone().into());
    put(&mut observer, "hostname", meta.scanner_hostname.clone());
    doc.insert("observer".into(), Value::Object(observer));

    put_object(&mut doc, "labels", labels(record));
    doc.insert(
        CUSTOM_NAMESPACE.into(),
        Value::Object(custom(record, mac.is_none())),
    );
    Value::Object(doc)
}

/// The one protocol for `network.protocol`, which ECS defines as a single
/// keyword: the protocol that named the vendor (it identified the device), else
/// the first service, in probe order, that answered in its protocol.
pub fn primary_protocol(record: &AssetRecord) -> Option<&'static str> {
    let answering = answering_protocols(record);
    record
        .sources
        .get("vendor")
        .map(|p| p.name())
        .filter(|name| answering.contains(name))
        .or_else(|| {
            record
                .services
                .iter()
                .find(|s| s.status.is_protocol_answer())
                .map(|s| s.protocol.name())
        })
}

/// Enrichment attributes ECS has no field for; labels are flat keyword pairs.
fn labels(record: &AssetRecord) -> Map<String, Value> {
    let mut labels = Map::new();
    if let Some(e) = &record.enrichment {
        put(&mut labels, "asset_number", e.asset_number.clone());
        put(&mut labels, "criticality", e.criticality.clone());
        put(&mut labels, "zone", e.zone.clone());
        put(&mut labels, "conduit", e.conduit.clone());
        put(&mut labels, "owner", e.owner.clone());
        put(&mut labels, "notes", e.notes.clone());
    }
    labels
}

/// The `otscan.*` namespace: identity ECS cannot hold and the per-protocol outcomes.
fn custom(record: &AssetRecord, mac_not_ecs: bool) -> Map<String, Value> {
    let mut custom = Map::new();
    custom.insert("scan_id".into(), record.scan_id.clone().into());
    custom.insert("responsive".into(), record.responsive.into());
    put(&mut custom, "target_name", record.target_name.clone());
    put(&mut custom, "product_name", record.product_name.clone());
    put(
        &mut custom,
        "firmware_version",
        record.firmware_version.clone(),
    );
    if let Some(role) = record.device_type {
        custom.insert(
            "device_type".into(),
            serde_json::to_value(role).unwrap_or(Value::Null),
        );
    }
    if let Some(id) = &record.vendor_id {
        custom.insert(
            "vendor_id".into(),
            serde_json::to_value(id).unwrap_or(Value::Null),
        );
    }
    if mac_not_ecs {
        // Keep a MAC that could not be put in ECS form rather than drop it.
        put(&mut custom, "mac", record.mac.clone());
    }
    let protocols = answering_protocols(record);
    if !protocols.is_empty() {
        custom.insert("protocols".into(), json!(protocols));
    }
    custom.insert("services".into(), super::service_summaries(record));
    custom
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_goes_to_upper_hyphen_form() {
        assert_eq!(
            ecs_mac("00:00:5e:00:53:23").as_deref(),
            Some("00-00-5E-00-53-23")
        );
        assert_eq!(
            ecs_mac("00-00-5E-00-53-23").as_deref(),
            Some("00-00-5E-00-53-23")
        );
        assert_eq!(ecs_mac("0000.5e00.5323"), None);
        assert_eq!(ecs_mac("00:00:5e:00:53"), None);
        assert_eq!(ecs_mac("00:00:5e:00:53:2g"), None);
    }
}
