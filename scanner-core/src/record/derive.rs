//! Fields otscan derives from what the protocols said, once every probe of a device has
//! merged into its record ([`finish`]): Recog fingerprint matches (identity fields no
//! protocol reported, CPEs), the canonical vendor name, a device type no protocol stated,
//! and the stable asset id. Each derivation is written to the record's
//! `derived` map (field -> how), so a reader can tell a derived value from a reported one.

use super::{AssetRecord, DeviceType, Protocol, ServiceDetails, Status};
use crate::vendors::canonical_vendor;

/// Completes a record after its last probe: Recog matches (vendor, model, firmware,
/// `cpe`, `fingerprints`), canonical vendor, inferred device type (otscan's rules first,
/// then a Recog device class), asset id (in that order: the asset id uses the canonical
/// vendor).
pub fn finish(record: &mut AssetRecord) {
    super::recog::apply(record);
    canonicalize_vendor(record);
    infer_device_type(record);
    super::recog::apply_device_type(record);
    let (id, basis) = asset_id(record);
    record.asset_id = Some(id);
    record
        .derived
        .insert("asset_id".to_owned(), basis.to_owned());
}

/// Replaces `vendor` with its canonical spelling ([`canonical_vendor`]); the spelling the
/// protocol gave stays in that protocol's details and in `derived.vendor`.
fn canonicalize_vendor(record: &mut AssetRecord) {
    let Some(raw) = record.vendor.as_deref() else {
        return;
    };
    let canonical = canonical_vendor(raw);
    if canonical != raw {
        let how = format!("canonical name of {raw:?} (vendor_aliases.tsv)");
        // A vendor Recog filled keeps that note first.
        let how = match record.derived.get("vendor") {
            Some(recog) => format!("{recog}; {how}"),
            None => how,
        };
        record.derived.insert("vendor".to_owned(), how);
        record.vendor = Some(canonical);
    }
}

/// The details a protocol's services reported, first service first.
fn details(record: &AssetRecord) -> impl Iterator<Item = &ServiceDetails> {
    record.services.iter().filter_map(|s| s.details.as_ref())
}

/// Siemens order number (MLFB) prefixes and the role they name, from Siemens' product
/// numbering: 6ES7 SIMATIC S7, 6ES5 SIMATIC S5, 6AG1 SIPLUS (S7 for harsh environments) and
/// 6ED1 LOGO! are controllers; 6AV SIMATIC HMI panels; 6GK5 SCALANCE switches and routers;
/// 6GK7 and 6GK1 communication processors; 6SL and 6SE SINAMICS / MICROMASTER drives.
/// The controller prefixes count only for an order number the S7 probe read: a CPU answers
/// S7 communication with its own order number, while 6ES7 also numbers I/O modules.
const SIEMENS_ORDER_NUMBERS: [(&str, DeviceType, bool); 10] = [
    ("6ES7", DeviceType::Plc, true),
    ("6ES5", DeviceType::Plc, true),
    ("6AG1", DeviceType::Plc, true),
    ("6ED1", DeviceType::Plc, true),
    ("6AV", DeviceType::Hmi, false),
    ("6GK5", DeviceType::Switch, false),
    ("6GK7", DeviceType::CommAdapter, false),
    ("6GK1", DeviceType::CommAdapter, false),
    ("6SL", DeviceType::Drive, false),
    ("6SE", DeviceType::Drive, false),
];

/// APC (IANA enterprise 318) sysObjectID arcs under `products.hardware` in APC's PowerNet
/// MIB: backUPS (1), smartUPS (2), matrixUPS (3) and symmetraUPS (5) are UPSes, masterSwitch
/// (4) switched rack PDUs; 27 is the UPS network management card (AP9630/AP9631/AP9641,
/// "APC Web/SNMP Management Card" with a UPS firmware), which public classifiers
/// (Open-AudIT's APC rules, SNMP pollers' UPS profiles) key as a UPS.
const APC_SYS_OBJECT_IDS: [(&str, DeviceType); 6] = [
    ("1.3.6.1.4.1.318.1.3.27", DeviceType::Ups),
    ("1.3.6.1.4.1.318.1.3.1", DeviceType::Ups),
    ("1.3.6.1.4.1.318.1.3.2", DeviceType::Ups),
    ("1.3.6.1.4.1.318.1.3.3", DeviceType::Ups),
    ("1.3.6.1.4.1.318.1.3.5", DeviceType::Ups),
    ("1.3.6.1.4.1.318.1.3.4", DeviceType::Pdu),
];

/// A device type from the record's fields when no protocol stated one, with the protocol
/// whose field gave it and the rule, in `sources.device_type` and `derived.device_type`.
/// Rules, first match wins: a Siemens order number in `product_code` or `model`; SNMP
/// sysObjectID of an APC UPS or PDU; SNMP sysServices with the internet layer (4) and
/// neither end-to-end (8) nor applications (64), a router; a device that identified over
/// BACnet/IP, a building controller (BACnet devices that answer the Device object are
/// controllers in practice; routers and gateways announce themselves otherwise).
fn infer_device_type(record: &mut AssetRecord) {
    if record.device_type.is_some() {
        return;
    }
    let Some((device_type, protocol, rule)) = device_type_rule(record) else {
        return;
    };
    record.device_type = Some(device_type);
    record.sources.insert("device_type".to_owned(), protocol);
    record.derived.insert("device_type".to_owned(), rule);
}

fn device_type_rule(record: &AssetRecord) -> Option<(DeviceType, Protocol, String)> {
    for field in ["product_code", "model"] {
        let (value, source) = match field {
            "product_code" => (&record.product_code, record.sources.get(field)),
            _ => (&record.model, record.sources.get(field)),
        };
        let (Some(value), Some(&source)) = (value, source) else {
            continue;
        };
        let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        for (prefix, device_type, s7_only) in SIEMENS_ORDER_NUMBERS {
            if compact.starts_with(prefix) && (!s7_only || source == Protocol::S7) {
                return Some((
                    device_type,
                    source,
                    format!("Siemens order number prefix {prefix} in {field} {value:?}"),
                ));
            }
        }
    }
    for d in details(record) {
        let ServiceDetails::Snmp(snmp) = d else {
            continue;
        };
        let Some(system) = &snmp.system else {
            continue;
        };
        if let Some(oid) = system.object_id.as_deref() {
            let oid = oid.trim_start_matches('.');
            for (arc, device_type) in APC_SYS_OBJECT_IDS {
                if oid == arc || oid.starts_with(&format!("{arc}.")) {
                    return Some((
                        device_type,
                        Protocol::Snmp,
                        format!("sysObjectID {oid} under APC PowerNet-MIB arc {arc}"),
                    ));
                }
            }
        }
        if let Some(services) = system.services {
            if services & 0x04 != 0 && services & 0x48 == 0 {
                return Some((
                    DeviceType::Router,
                    Protocol::Snmp,
                    format!(
                        "sysServices {services}: internet layer without end-to-end or applications"
                    ),
                ));
            }
        }
    }
    let bacnet = record
        .services
        .iter()
        .any(|s| s.protocol == Protocol::Bacnet && s.status == Status::Success);
    bacnet.then(|| {
        (
            DeviceType::BuildingController,
            Protocol::Bacnet,
            "identified over BACnet/IP (a Device object answered)".to_owned(),
        )
    })
}

/// ApplicationUris that OPC UA server SDKs use until the integrator sets one (open62541's
/// server default, python-opcua's and asyncua's): every unconfigured server built on them
/// shares it, so it identifies nothing.
const SDK_DEFAULT_APPLICATION_URIS: [&str; 2] = [
    "urn:open62541.server.application",
    "urn:freeopcua:python:server",
];

/// Lower-case letters and digits, other runs folded to one `-`: the vendor part of an
/// asset id ("Rockwell Automation" -> "rockwell-automation").
fn id_part(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// True for a MAC that can name one interface: six hex octets, not all zero, not all
/// ones, and not a group (multicast or broadcast) address. Devices that report
/// `00:00:00:00:00:00` would otherwise all share one asset id.
fn unicast_mac(mac: &str) -> bool {
    let octets: Vec<u8> = mac
        .split([':', '-'])
        .filter_map(|o| u8::from_str_radix(o, 16).ok())
        .collect();
    octets.len() == 6 && octets.iter().any(|&o| o != 0) && octets[0] & 0x01 == 0
}

/// A protocol's unique id for a device in its details, as an asset id.
type ProtocolId = fn(&ServiceDetails) -> Option<String>;

/// The protocol ids [`asset_id`] uses after MAC and serial, strongest first, with the
/// basis each is named by.
const PROTOCOL_IDS: [(ProtocolId, &str); 4] = [
    (opcua_id, "opcua application_uri"),
    (bacnet_id, "bacnet vendor_id+device_instance"),
    (fox_id, "fox hostId"),
    (snmp_engine_id, "snmp engine id"),
];

fn opcua_id(details: &ServiceDetails) -> Option<String> {
    let ServiceDetails::Opcua(o) = details else {
        return None;
    };
    o.application
        .as_ref()?
        .application_uri
        .as_ref()?
        .trimmed()
        .filter(|u| !SDK_DEFAULT_APPLICATION_URIS.contains(&u.as_str()))
        .map(|u| format!("opcua:{u}"))
}

fn bacnet_id(details: &ServiceDetails) -> Option<String> {
    let ServiceDetails::Bacnet(b) = details else {
        return None;
    };
    Some(format!("bacnet:{}:{}", b.vendor_id?, b.device_instance?))
}

fn fox_id(details: &ServiceDetails) -> Option<String> {
    let ServiceDetails::Fox(f) = details else {
        return None;
    };
    f.host_id.as_ref()?.trimmed().map(|h| format!("fox:{h}"))
}

fn snmp_engine_id(details: &ServiceDetails) -> Option<String> {
    let ServiceDetails::Snmp(s) = details else {
        return None;
    };
    let hex = s.engine.as_ref()?.engine_id.hex.to_ascii_lowercase();
    (!hex.is_empty()).then(|| format!("snmp-engine:{hex}"))
}

/// The record's stable identity and what it is derived from, strongest first:
/// - `mac`: `mac:00:1b:1b:21:04:a7`, the device's MAC (SNMP ifPhysAddress or a MAC-format
///   engine id), unless it is all zeros or a group address;
/// - `vendor+serial_number`: `serial:siemens:S C-X4U421302009`, canonical vendor and serial
///   (serials are unique per vendor, not across vendors);
/// - `opcua application_uri`: `opcua:urn:...`, the ApplicationUri OPC UA requires to be
///   globally unique for an application instance (not an SDK's default one);
/// - `bacnet vendor_id+device_instance`: `bacnet:5:40040`, the device instance (unique in
///   a BACnet internetwork) with the ASHRAE vendor id;
/// - `fox hostId`: `fox:Qnx-TITAN-0000-1A2B-3C4D`, the Niagara host id (the platform's
///   licence id);
/// - `snmp engine id`: `snmp-engine:800010e9030...`, snmpEngineID, which RFC 3411 asks to
///   be unique per agent (some device families ship one id on every unit, so it ranks last
///   of the protocol ids);
/// - `ip`: `ip:10.20.0.5`, when nothing stronger answered.
///
/// The same device gives the same id in every scan as long as the same protocols answer;
/// a protocol that answered once and not again can move the id down this list.
pub fn asset_id(record: &AssetRecord) -> (String, &'static str) {
    if let Some(mac) = record.mac.as_deref().filter(|m| unicast_mac(m)) {
        return (format!("mac:{}", mac.to_ascii_lowercase()), "mac");
    }
    if let (Some(vendor), Some(serial)) = (&record.vendor, &record.serial_number) {
        let vendor = id_part(vendor);
        if !vendor.is_empty() && !serial.trim().is_empty() {
            return (
                format!("serial:{vendor}:{}", serial.trim()),
                "vendor+serial_number",
            );
        }
    }
    for (id_of, basis) in PROTOCOL_IDS {
        if let Some(id) = details(record).find_map(id_of) {
            return (id, basis);
        }
    }
    (format!("ip:{}", record.ip), "ip")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> AssetRecord {
        let mut r = AssetRecord::new("t", "10.20.0.5".parse().unwrap(), None);
        r.responsive = true;
        r
    }

    /// A service observation of `protocol` with `details` (JSON, as a record holds them).
    fn service(
        protocol: &str,
        status: &str,
        details: serde_json::Value,
    ) -> super::super::ServiceObservation {
        serde_json::from_value(json!({
            "protocol": protocol, "transport": "udp", "port": 1, "status": status,
            "timestamp": "2026-12-01T00:00:00Z", "requests": 1, "details": { protocol: details }
        }))
        .unwrap()
    }

    #[test]
    fn asset_id_takes_the_strongest_identity_and_names_its_basis() {
        let mut r = record();
        r.services = vec![
            service(
                "snmp",
                "success",
                json!({ "engine": { "engine_id": { "hex": "80001F8804ABCD", "format": "text" }, "boots": 1, "time": 5 } }),
            ),
            service(
                "fox",
                "success",
                json!({ "host_id": { "text": "Qnx-TITAN-0000-1A2B-3C4D" } }),
            ),
            service(
                "bacnet",
                "success",
                json!({ "device_instance": 40040, "vendor_id": 5 }),
            ),
            service(
                "opcua",
                "success",
                json!({ "application": { "application_uri": { "text": "urn:open62541.server.application" }, "application_type": "Server" } }),
            ),
        ];
        let id = |r: &AssetRecord| asset_id(r);
        // An SDK's default ApplicationUri is skipped: BACnet's instance is next.
        assert_eq!(
            id(&r),
            (
                "bacnet:5:40040".to_owned(),
                "bacnet vendor_id+device_instance"
            )
        );
        r.services.push(service("opcua", "success", json!({ "application": { "application_uri": { "text": " urn:plant:line1:PLC_1 " }, "application_type": "Server" } })));
        assert_eq!(
            id(&r),
            (
                "opcua:urn:plant:line1:PLC_1".to_owned(),
                "opcua application_uri"
            )
        );
        r.vendor = Some("Rockwell Automation".into());
        r.serial_number = Some("006C061A".into());
        assert_eq!(id(&r).0, "serial:rockwell-automation:006C061A");
        // A MAC no interface has is no identity: the serial stays.
        for unusable in [
            "00:00:00:00:00:00",
            "ff:ff:ff:ff:ff:ff",
            "01:00:5e:00:00:01",
            "garbage",
        ] {
            r.mac = Some(unusable.into());
            assert_eq!(id(&r).1, "vendor+serial_number", "{unusable}");
        }
        r.mac = Some("00:1D:9C:AA:BB:CC".into());
        assert_eq!(id(&r), ("mac:00:1d:9c:aa:bb:cc".to_owned(), "mac"));
        // Without any of them: the address.
        let mut bare = record();
        bare.services = vec![service(
            "snmp",
            "success",
            json!({ "engine": { "engine_id": { "hex": "80001F8804ABCD", "format": "text" }, "boots": 1, "time": 5 } }),
        )];
        assert_eq!(id(&bare).0, "snmp-engine:80001f8804abcd");
        assert_eq!(asset_id(&record()), ("ip:10.20.0.5".to_owned(), "ip"));
    }

    #[test]
    fn device_type_rules_fill_only_what_no_protocol_said() {
        let typed = |r: &mut AssetRecord| {
            finish(r);
            (
                r.device_type,
                r.sources.get("device_type").copied(),
                r.derived.get("device_type").cloned(),
            )
        };
        // An S7 CPU's order number: a PLC. The same prefix from Modbus says nothing.
        let mut s7 = record();
        s7.product_code = Some("6ES7 214-1AG40-0XB0".into());
        s7.sources.insert("product_code".into(), Protocol::S7);
        let (t, source, rule) = typed(&mut s7);
        assert_eq!((t, source), (Some(DeviceType::Plc), Some(Protocol::S7)));
        assert!(rule.unwrap().contains("6ES7"));
        let mut other = record();
        other.product_code = Some("6ES7 131-6BF00-0BA0".into());
        other
            .sources
            .insert("product_code".into(), Protocol::Modbus);
        assert_eq!(typed(&mut other).0, None);
        // A panel's 6AV order number, from any protocol: an HMI.
        other.product_code = Some("6AV2 124-0GC01-0AX0".into());
        assert_eq!(typed(&mut other).0, Some(DeviceType::Hmi));
        // APC's UPS card sysObjectID; a router's sysServices.
        let mut ups = record();
        ups.services = vec![service(
            "snmp",
            "success",
            json!({ "system": { "object_id": "1.3.6.1.4.1.318.1.3.27", "services": 72 } }),
        )];
        assert_eq!(typed(&mut ups).0, Some(DeviceType::Ups));
        let mut router = record();
        router.services = vec![service(
            "snmp",
            "success",
            json!({ "system": { "object_id": "1.3.6.1.4.1.9.1.1", "services": 6 } }),
        )];
        assert_eq!(typed(&mut router).0, Some(DeviceType::Router));
        // A BACnet device that identified: a building controller; one that timed out: nothing.
        let mut bacnet = record();
        bacnet.services = vec![service(
            "bacnet",
            "success",
            json!({ "device_instance": 1 }),
        )];
        assert_eq!(typed(&mut bacnet).0, Some(DeviceType::BuildingController));
        bacnet.services[0].status = Status::IoTimeout;
        bacnet.device_type = None;
        assert_eq!(typed(&mut bacnet).0, None);
        // A type a protocol stated stays, with no derivation noted.
        let mut stated = record();
        stated.device_type = Some(DeviceType::Drive);
        stated.product_code = Some("6AV2 124-0GC01-0AX0".into());
        stated.sources.insert("product_code".into(), Protocol::S7);
        assert_eq!(typed(&mut stated), (Some(DeviceType::Drive), None, None));
    }

    #[test]
    fn finish_canonicalises_the_vendor_and_keeps_the_raw_spelling() {
        let mut r = record();
        r.vendor = Some("Siemens AG".into());
        r.serial_number = Some("S C-X4U421302009".into());
        finish(&mut r);
        assert_eq!(r.vendor.as_deref(), Some("Siemens"));
        assert!(r.derived["vendor"].contains("\"Siemens AG\""));
        assert_eq!(
            r.asset_id.as_deref(),
            Some("serial:siemens:S C-X4U421302009")
        );
        assert_eq!(r.derived["asset_id"], "vendor+serial_number");
    }
}
