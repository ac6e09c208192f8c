//! OCSF Device Inventory Info events (schema 1.7.0).
//!
//! One event per device: class `inventory_info` (class_uid 5001) in the
//! Discovery category (5), activity Collect (2), so type_uid 500102; severity
//! Informational (1); `time` in epoch milliseconds.
//!
//! Mapping (OCSF 1.7.0 attribute names; see `tests/data/ocsf-1.7.0-subset.json`):
//!
//! | record | OCSF |
//! |---|---|
//! | `ip`, `mac`, `hostname` | `device.ip`, `device.mac`, `device.hostname` and `device.network_interfaces[0]` |
//! | `target_name` | `device.name` (the name the operator used for it) |
//! | `vendor` | `device.vendor_name`, `device.hw_info.vendor_name` |
//! | `model`, else `product_name` | `device.model` |
//! | `serial_number` | `device.hw_info.serial_number` |
//! | `device_type` | `device.type_id` / `device.type`: switch 10, router 12, the rest 99 Other with the role as text (OCSF has no PLC, HMI, drive, UPS ... types) |
//! | ports that accepted a connection | `device.network_interfaces[0].open_ports[]` (`port_info`: port, protocol_name, protocol_num) |
//! | `observed_at` | `time`, `device.last_seen_time` |
//! | `scan_id` | `metadata.correlation_uid`; `metadata.uid` is `scan_id` + `/` + ip, unique per event |
//! | `ip`, `mac`, `hostname`, `target_name` | `observables[]`: `device.ip` (type_id 2 IP Address), `device.mac` (3 MAC Address), `device.hostname` and `device.name` (1 Hostname), so a SIEM can pivot on them |
//! | service statuses | `status_id` 1 Success when a probe read the device's identity (a service with status `success`), else 2 Failure with `status_detail` naming what the device answered (it speaks the protocol but refused or broke identification) |
//! | enrichment `zone`, `owner` | `device.zone`, `device.owner.name` |
//! | firmware, vendor id, product code and name, role, `cpe`, Recog fingerprints (database and description), protocol outcomes, the rest of the enrichment | `unmapped` (OCSF has no attribute for them) |

use serde_json::{json, Map, Value};

use super::{epoch_millis, port_is_open, put, put_object, transport_name, OutputMeta};
use crate::record::{AssetRecord, DeviceType, Status, Transport};

/// The OCSF schema version the events follow (`metadata.version`).
pub const OCSF_VERSION: &str = "1.7.0";
/// Discovery category.
pub const CATEGORY_UID: u32 = 5;
/// Device Inventory Info: category 5 * 1000 + class 1.
pub const CLASS_UID: u32 = 5001;
/// Collect: the data was gathered by actively asking the device.
pub const ACTIVITY_ID: u32 = 2;
/// class_uid * 100 + activity_id.
pub const TYPE_UID: u32 = CLASS_UID * 100 + ACTIVITY_ID;
/// Informational: an inventory record is not a finding.
pub const SEVERITY_ID: u32 = 1;

/// OCSF observable `type_id`s (the observable object's type enum, OCSF 1.x
/// dictionary types): Hostname 1, IP Address 2, MAC Address 3.
pub mod observable_type {
    /// `hostname_t`.
    pub const HOSTNAME: u32 = 1;
    /// `ip_t`.
    pub const IP_ADDRESS: u32 = 2;
    /// `mac_t`.
    pub const MAC_ADDRESS: u32 = 3;
}

/// The event's `status_id` and `status` caption (base event enum: 0 Unknown,
/// 1 Success, 2 Failure, 99 Other) and, for a failure, a `status_detail`.
///
/// Success: at least one probe read the device's identity (a service with
/// status `success`). Failure: the device answered in a protocol but every such
/// answer refused or broke identification (`application-error`, `protocol-error`).
pub fn status(record: &AssetRecord) -> (u32, &'static str, Option<String>) {
    if record.services.iter().any(|s| s.status == Status::Success) {
        return (1, "Success", None);
    }
    let mut answered: Vec<String> = record
        .services
        .iter()
        .filter(|s| s.answered())
        .map(|s| {
            format!(
                "{}/{} {}",
                s.protocol.name(),
                transport_name(s.transport),
                s.status.name()
            )
        })
        .collect();
    answered.dedup();
    let detail = if answered.is_empty() {
        "no probe got an answer".to_owned()
    } else {
        format!("identity not read: {}", answered.join(", "))
    };
    (2, "Failure", Some(detail))
}

/// OCSF device `type_id` and `type` caption for a role.
///
/// OCSF 1.7.0 endpoint types are IT categories (Server ... Router, IDS, IPS,
/// Load Balancer); only switch and router have an exact match, every OT role
/// is 99 Other with the role as the caption, and an unknown role is 0 Unknown.
pub fn device_type(role: Option<DeviceType>) -> (u32, &'static str) {
    match role {
        None => (0, "Unknown"),
        Some(DeviceType::Switch) => (10, "Switch"),
        Some(DeviceType::Router) => (12, "Router"),
        Some(DeviceType::Plc) => (99, "PLC"),
        Some(DeviceType::Hmi) => (99, "HMI"),
        Some(DeviceType::CommAdapter) => (99, "Communications Adapter"),
        Some(DeviceType::Drive) => (99, "Drive"),
        Some(DeviceType::Io) => (99, "I/O"),
        Some(DeviceType::Ups) => (99, "UPS"),
        Some(DeviceType::Pdu) => (99, "PDU"),
        Some(DeviceType::Gateway) => (99, "Gateway"),
        Some(DeviceType::BuildingController) => (99, "Building Controller"),
        Some(DeviceType::Other) => (99, "Other"),
        Some(DeviceType::FieldInstrument) => (99, "Field Instrument"),
    }
}

/// IANA protocol numbers for `port_info.protocol_num`.
const fn protocol_num(transport: Transport) -> u8 {
    match transport {
        Transport::Tcp => 6,
        Transport::Udp => 17,
        // Not an IP port: `port_is_open` leaves such services out of `open_ports`.
        Transport::Ethernet => 0,
    }
}

/// The Device Inventory Info event for the record.
pub fn encode(record: &AssetRecord, meta: &OutputMeta) -> Value {
    let time = epoch_millis(record.observed_at);
    let ip = record.ip.to_string();

    let mut event = Map::new();
    event.insert("activity_id".into(), ACTIVITY_ID.into());
    event.insert("activity_name".into(), "Collect".into());
    event.insert("category_uid".into(), CATEGORY_UID.into());
    event.insert("category_name".into(), "Discovery".into());
    event.insert("class_uid".into(), CLASS_UID.into());
    event.insert("class_name".into(), "Device Inventory Info".into());
    event.insert("type_uid".into(), TYPE_UID.into());
    event.insert("type_name".into(), "Device Inventory Info: Collect".into());
    event.insert("severity_id".into(), SEVERITY_ID.into());
    event.insert("severity".into(), "Informational".into());
    let (status_id, status_caption, status_detail) = status(record);
    event.insert("status_id".into(), status_id.into());
    event.insert("status".into(), status_caption.into());
    put(&mut event, "status_detail", status_detail);
    event.insert("time".into(), time.into());
    event.insert("metadata".into(), metadata(record, meta, &ip));
    event.insert("observables".into(), observables(record, &ip));
    event.insert("device".into(), device(record, &ip, time));
    put_object(&mut event, "unmapped", unmapped(record));
    Value::Object(event)
}

/// The addresses and names in the event, each pointing at the attribute that
/// holds it.
fn observables(record: &AssetRecord, ip: &str) -> Value {
    let observable = |name: &str, type_id: u32, caption: &str, value: &str| json!({ "name": name, "type_id": type_id, "type": caption, "value": value });
    let mut list = vec![observable(
        "device.ip",
        observable_type::IP_ADDRESS,
        "IP Address",
        ip,
    )];
    if let Some(mac) = &record.mac {
        list.push(observable(
            "device.mac",
            observable_type::MAC_ADDRESS,
            "MAC Address",
            mac,
        ));
    }
    if let Some(host) = &record.hostname {
        list.push(observable(
            "device.hostname",
            observable_type::HOSTNAME,
            "Hostname",
            host,
        ));
    }
    if let Some(name) = &record.target_name {
        list.push(observable(
            "device.name",
            observable_type::HOSTNAME,
            "Hostname",
            name,
        ));
    }
    Value::Array(list)
}

fn metadata(record: &AssetRecord, meta: &OutputMeta, ip: &str) -> Value {
    let mut metadata = Map::new();
    metadata.insert("version".into(), OCSF_VERSION.into());
    metadata.insert(
        "product".into(),
        json!({
            "name": "otscan",
            "vendor_name": "otscan project",
            "version": meta.product_version,
        }),
    );
    // metadata.uid identifies one event, so it must differ per device; the scan
    // id, shared by all events of a run, is what correlation_uid is for.
    metadata.insert("uid".into(), format!("{}/{ip}", record.scan_id).into());
    metadata.insert("correlation_uid".into(), record.scan_id.clone().into());
    if let Some(host) = &meta.scanner_hostname {
        metadata.insert("reporter".into(), json!({ "hostname": host }));
    }
    Value::Object(metadata)
}

fn device(record: &AssetRecord, ip: &str, time: i64) -> Value {
    let (type_id, type_caption) = device_type(record.device_type);
    let mut device = Map::new();
    device.insert("type_id".into(), type_id.into());
    device.insert("type".into(), type_caption.into());
    device.insert("ip".into(), ip.into());
    // The stable identity: the same device keeps its uid when its address changes.
    put(&mut device, "uid", record.asset_id.clone());
    put(&mut device, "mac", record.mac.clone());
    put(&mut device, "hostname", record.hostname.clone());
    put(&mut device, "name", record.target_name.clone());
    put(&mut device, "vendor_name", record.vendor.clone());
    put(
        &mut device,
        "model",
        record.model.clone().or_else(|| record.product_name.clone()),
    );
    device.insert("last_seen_time".into(), time.into());

    let mut hw_info = Map::new();
    put(&mut hw_info, "serial_number", record.serial_number.clone());
    put(&mut hw_info, "vendor_name", record.vendor.clone());
    put_object(&mut device, "hw_info", hw_info);

    if let Some(e) = &record.enrichment {
        put(&mut device, "zone", e.zone.clone());
        if let Some(owner) = &e.owner {
            device.insert("owner".into(), json!({ "name": owner }));
        }
    }

    device.insert(
        "network_interfaces".into(),
        Value::Array(vec![network_interface(record, ip)]),
    );
    Value::Object(device)
}

/// The one interface a scan sees: the address it reached, with the ports that
/// accepted a connection.
fn network_interface(record: &AssetRecord, ip: &str) -> Value {
    let mut interface = Map::new();
    interface.insert("ip".into(), ip.into());
    put(&mut interface, "mac", record.mac.clone());
    put(&mut interface, "hostname", record.hostname.clone());
    // A network scan cannot tell wired from wireless.
    interface.insert("type_id".into(), 0.into());
    interface.insert("type".into(), "Unknown".into());

    let mut ports: Vec<(u16, Transport)> = record
        .services
        .iter()
        .filter(|s| port_is_open(s))
        .map(|s| (s.port, s.transport))
        .collect();
    ports.sort_unstable_by_key(|&(port, transport)| (port, protocol_num(transport)));
    ports.dedup();
    if !ports.is_empty() {
        let open: Vec<Value> = ports
            .into_iter()
            .map(|(port, transport)| {
                json!({
                    "port": port,
                    "protocol_name": transport_name(transport),
                    "protocol_num": protocol_num(transport),
                })
            })
            .collect();
        interface.insert("open_ports".into(), Value::Array(open));
    }
    Value::Object(interface)
}

/// What OCSF has no attribute for, under the producer's own names.
fn unmapped(record: &AssetRecord) -> Map<String, Value> {
    let mut unmapped = Map::new();
    put(
        &mut unmapped,
        "firmware_version",
        record.firmware_version.clone(),
    );
    put(&mut unmapped, "product_name", record.product_name.clone());
    put(&mut unmapped, "product_code", record.product_code.clone());
    if let Some(id) = &record.vendor_id {
        unmapped.insert(
            "vendor_id".into(),
            serde_json::to_value(id).unwrap_or(Value::Null),
        );
    }
    if let Some(role) = record.device_type {
        unmapped.insert(
            "device_type".into(),
            serde_json::to_value(role).unwrap_or(Value::Null),
        );
    }
    unmapped.insert("responsive".into(), record.responsive.into());
    super::put_recog(&mut unmapped, record);
    unmapped.insert("services".into(), super::service_summaries(record));
    if !record.sources.is_empty() {
        unmapped.insert(
            "sources".into(),
            serde_json::to_value(&record.sources).unwrap_or(Value::Null),
        );
    }
    if let Some(e) = &record.enrichment {
        // zone and owner already went to device.zone / device.owner.
        let mut rest = Map::new();
        rest.insert("matched".into(), e.matched.clone().into());
        put(&mut rest, "asset_number", e.asset_number.clone());
        put(&mut rest, "criticality", e.criticality.clone());
        put(&mut rest, "conduit", e.conduit.clone());
        put(&mut rest, "location", e.location.clone());
        put(&mut rest, "notes", e.notes.clone());
        unmapped.insert("enrichment".into(), Value::Object(rest));
    }
    unmapped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_uid_is_class_times_hundred_plus_activity() {
        assert_eq!(TYPE_UID, 500_102);
    }

    #[test]
    fn only_network_roles_get_it_types() {
        assert_eq!(device_type(Some(DeviceType::Switch)), (10, "Switch"));
        assert_eq!(device_type(Some(DeviceType::Router)), (12, "Router"));
        assert_eq!(device_type(Some(DeviceType::Plc)), (99, "PLC"));
        assert_eq!(device_type(None), (0, "Unknown"));
    }
}
