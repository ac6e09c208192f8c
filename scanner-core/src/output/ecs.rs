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
//! | firmware, vendor id, role, product name, `cpe`, Recog fingerprints (database, description), services, scan id | `otscan.*` |
//!
//! With [`EcsVersion::V9`] (`--ecs-version 9`) the documents follow ECS 9.2,
//! whose device field set names what ECS 8 had no field for, and whose entity
//! field set (nested under `host`, where ECS expects it from a producer) describes
//! the asset; those fields replace their `otscan.*` counterparts:
//!
//! | record | ECS 9 | instead of |
//! |---|---|---|
//! | `vendor` | `device.vendor.name` (and `device.manufacturer`, as in 8) | |
//! | `vendor_id` | `device.vendor.id` (`space:id`, e.g. `odva:1`) | `otscan.vendor_id` |
//! | `product_name` | `device.product.name` | `otscan.product_name` |
//! | `product_code` | `device.product.id` (and `device.model.identifier`, as in 8) | |
//! | `device_type` | `device.type`, `host.entity.sub_type` (`plc`, `switch`, ...) | `otscan.device_type` |
//! | `target_name` | `host.entity.display_name` | `otscan.target_name` |
//! | `asset_id` | `device.id` (ECS 8 and 9), `host.entity.id` | |
//! | the asset | `host.entity.type: [host]`, `host.entity.name` (= `host.name`), `host.entity.source: otscan`, `host.entity.last_seen_timestamp` (= `@timestamp`) | |

use serde_json::{json, Map, Value};

use super::{answering_protocols, put, put_object, OutputMeta};
use crate::record::AssetRecord;

/// The ECS version the documents follow by default (`ecs.version`).
pub const ECS_VERSION: &str = "8.17.0";

/// The ECS version of [`EcsVersion::V9`] documents: the first with the device
/// field set's `vendor`, `product` and `type` fields (ECS RFC 0053) and the
/// entity field set.
pub const ECS_9_VERSION: &str = "9.2.0";

/// Which ECS major version the documents follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EcsVersion {
    /// ECS 8.17: what ECS 8 has no field for goes to `otscan.*`.
    #[default]
    V8,
    /// ECS 9.2: `device.*` and `host.entity.*` fields replace `otscan.*` ones.
    V9,
}

impl EcsVersion {
    /// The `ecs.version` the documents carry.
    pub const fn version(self) -> &'static str {
        match self {
            EcsVersion::V8 => ECS_VERSION,
            EcsVersion::V9 => ECS_9_VERSION,
        }
    }
}

impl std::str::FromStr for EcsVersion {
    type Err = String;

    /// `8` or `9` (a full version such as `9.2.0` names its major version).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().split('.').next() {
            Some("8") => Ok(EcsVersion::V8),
            Some("9") => Ok(EcsVersion::V9),
            _ => Err(format!(
                "'{s}' is not an ECS version otscan writes (8 or 9)"
            )),
        }
    }
}

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
    let v9 = meta.ecs_version == EcsVersion::V9;
    doc.insert(
        "ecs".into(),
        json!({ "version": meta.ecs_version.version() }),
    );
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
    if v9 {
        host.insert("entity".into(), Value::Object(entity(record, &ip)));
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
    put(&mut device, "id", record.asset_id.clone());
    put(&mut device, "manufacturer", record.vendor.clone());
    put_object(&mut device, "model", model);
    put(&mut device, "serial_number", record.serial_number.clone());
    if v9 {
        let mut vendor = Map::new();
        put(&mut vendor, "name", record.vendor.clone());
        put(
            &mut vendor,
            "id",
            record.vendor_id.as_ref().map(vendor_id_text),
        );
        put_object(&mut device, "vendor", vendor);
        let mut product = Map::new();
        put(&mut product, "name", record.product_name.clone());
        put(&mut product, "id", record.product_code.clone());
        put_object(&mut device, "product", product);
        put(&mut device, "type", record.device_type.map(role_name));
    }
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
        Value::Object(custom(record, mac.is_none(), v9)),
    );
    Value::Object(doc)
}

/// `space:id`, as the CSV column spells a vendor id (`odva:1`, `iana-pen:9`).
fn vendor_id_text(id: &crate::record::VendorId) -> String {
    let space = serde_json::to_value(id.space).unwrap_or(Value::Null);
    format!("{}:{}", space.as_str().unwrap_or_default(), id.id)
}

/// The role as the record spells it (`plc`, `comm_adapter`, ...).
fn role_name(role: crate::record::DeviceType) -> String {
    serde_json::to_value(role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// ECS 9 `host.entity.*`: the asset as an entity of type host.
fn entity(record: &AssetRecord, ip: &str) -> Map<String, Value> {
    let mut entity = Map::new();
    entity.insert("type".into(), json!(["host"]));
    entity.insert(
        "name".into(),
        record
            .hostname
            .clone()
            .unwrap_or_else(|| ip.to_owned())
            .into(),
    );
    put(&mut entity, "id", record.asset_id.clone());
    put(&mut entity, "display_name", record.target_name.clone());
    put(&mut entity, "sub_type", record.device_type.map(role_name));
    entity.insert("source".into(), CUSTOM_NAMESPACE.into());
    entity.insert(
        "last_seen_timestamp".into(),
        record.observed_at.to_string().into(),
    );
    entity
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

/// The `otscan.*` namespace: identity ECS cannot hold and the per-protocol
/// outcomes; with ECS 9 (`v9`) without what its device and entity fields hold.
fn custom(record: &AssetRecord, mac_not_ecs: bool, v9: bool) -> Map<String, Value> {
    let mut custom = Map::new();
    custom.insert("scan_id".into(), record.scan_id.clone().into());
    custom.insert("responsive".into(), record.responsive.into());
    put(
        &mut custom,
        "firmware_version",
        record.firmware_version.clone(),
    );
    super::put_recog(&mut custom, record);
    if !v9 {
        put(&mut custom, "target_name", record.target_name.clone());
        put(&mut custom, "product_name", record.product_name.clone());
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
