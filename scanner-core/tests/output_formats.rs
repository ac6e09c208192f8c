//! Output formats: golden files per format from the same fixed records, OCSF
//! required-field validation against a checked-in OCSF 1.7.0 subset, ECS field
//! names against a checked-in list, and one-line JSON round trips.
//!
//! Regenerate the golden files after a deliberate change with
//! `OTSCAN_UPDATE_GOLDEN=1 cargo test -p scanner-core --test output_formats`
//! and review the diff before committing.

use std::collections::BTreeSet;
use std::path::PathBuf;

use scanner_core::output::{self, Format, OutputMeta};
use scanner_core::record::{AssetRecord, DeviceType, ServiceObservation, VendorId, VendorIdSpace};
use serde_json::{json, Map, Value};

const SCAN_ID: &str = "20260301T120000Z-0000cafe";

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

fn meta() -> OutputMeta {
    OutputMeta {
        product_version: "0.0.0-test".to_owned(),
        scanner_hostname: Some("scanner-01.ops.example".to_owned()),
        ..OutputMeta::default()
    }
}

/// A service observation from JSON, so new optional fields do not break the fixtures.
fn service(v: Value) -> ServiceObservation {
    serde_json::from_value(v).expect("fixture service")
}

fn base(ip: &str, observed_at: &str) -> AssetRecord {
    let mut r = AssetRecord::new(SCAN_ID, ip.parse().unwrap(), None);
    r.observed_at = observed_at.parse().unwrap();
    // Fixed so a version bump does not churn the golden files.
    r.scanner.version = "0.0.0-test".to_owned();
    r
}

/// The fixed plant: a PLC (with site enrichment), a switch, a Modbus I/O
/// coupler named by the operator, an IPv6 HMI answering with a Modbus
/// exception, and an address nothing answered on.
fn records() -> Vec<AssetRecord> {
    let mut plc = base("10.20.0.10", "2026-03-01T12:00:02.25Z");
    plc.responsive = true;
    plc.vendor = Some("Rockwell Automation/Allen-Bradley".into());
    plc.vendor_id = Some(VendorId {
        space: VendorIdSpace::Odva,
        id: 1,
    });
    plc.product_name = Some("1756-L61/B LOGIX5561".into());
    plc.product_code = Some("54".into());
    plc.serial_number = Some("006C061A".into());
    plc.firmware_version = Some("20.11".into());
    plc.device_type = Some(DeviceType::Plc);
    for f in [
        "vendor",
        "vendor_id",
        "product_name",
        "product_code",
        "serial_number",
        "firmware_version",
        "device_type",
    ] {
        plc.sources.insert(f.into(), scanner_core::Protocol::Enip);
    }
    plc.services = vec![
        service(
            json!({"protocol": "modbus", "transport": "tcp", "port": 502,
            "status": "connection-refused", "timestamp": "2026-03-01T12:00:01Z",
            "error": "connection refused", "requests": 1}),
        ),
        service(
            json!({"protocol": "enip", "transport": "tcp", "port": 44818,
            "status": "success", "rtt_ms": 0.287, "timestamp": "2026-03-01T12:00:02.25Z",
            "requests": 2}),
        ),
    ];
    plc.enrichment = Some(
        serde_json::from_value(json!({
            "matched": "10.20.0.0/24", "asset_number": "A-1001", "criticality": "high",
            "zone": "cell-1", "conduit": "c-1-2", "location": "Building 4, line 2",
            "owner": "controls team", "notes": "line 2 main PLC"
        }))
        .unwrap(),
    );

    let mut switch = base("10.20.0.2", "2026-03-01T12:00:00.5Z");
    switch.responsive = true;
    switch.vendor = Some("Hirschmann".into());
    switch.vendor_id = Some(VendorId {
        space: VendorIdSpace::IanaPen,
        id: 248,
    });
    switch.model = Some("RSP35".into());
    switch.serial_number = Some("943434023000123".into());
    switch.firmware_version = Some("09.0.04".into());
    switch.hostname = Some("sw-cell-1".into());
    switch.mac = Some("00:80:63:0a:0b:0c".into());
    switch.device_type = Some(DeviceType::Switch);
    switch.services = vec![service(json!({"protocol": "snmp", "transport": "udp",
        "port": 161, "status": "success", "rtt_ms": 1.5,
        "timestamp": "2026-03-01T12:00:00.5Z", "requests": 3}))];

    let mut coupler = base("10.20.0.17", "2026-03-01T12:00:03Z");
    coupler.target_name = Some("io-rack-3.plant.example".into());
    coupler.responsive = true;
    coupler.vendor = Some("Phoenix Contact".into());
    coupler.product_code = Some("2701916".into());
    coupler.firmware_version = Some("1.23".into());
    coupler.services = vec![
        service(
            json!({"protocol": "modbus", "transport": "tcp", "port": 502,
            "status": "success", "rtt_ms": 0.269, "timestamp": "2026-03-01T12:00:01.5Z",
            "requests": 1}),
        ),
        service(
            json!({"protocol": "enip", "transport": "tcp", "port": 44818,
            "status": "connection-timeout", "timestamp": "2026-03-01T12:00:03Z",
            "error": "connect timed out", "requests": 1}),
        ),
    ];

    let mut hmi = base("fd00:20::5", "2026-03-01T12:00:04Z");
    hmi.responsive = true;
    hmi.vendor = Some("Schneider Electric".into());
    hmi.product_name = Some("HMIGTO5310".into());
    hmi.device_type = Some(DeviceType::Hmi);
    hmi.services = vec![service(json!({"protocol": "modbus", "transport": "tcp",
        "port": 502, "status": "application-error",
        "timestamp": "2026-03-01T12:00:04Z", "error": "exception 0x01 (illegal function)",
        "requests": 2}))];

    let mut silent = base("10.20.0.99", "2026-03-01T12:00:05Z");
    silent.services = vec![service(json!({"protocol": "modbus", "transport": "tcp",
        "port": 502, "status": "connection-timeout",
        "timestamp": "2026-03-01T12:00:05Z", "requests": 1}))];

    vec![plc, switch, coupler, hmi, silent]
}

fn golden(format: Format) {
    golden_file(format, &meta(), &format!("golden/{format}.jsonl"));
}

fn golden_file(format: Format, meta: &OutputMeta, name: &str) {
    let path = data(name);
    let produced: Vec<String> = records()
        .iter()
        .map(|r| output::encode_line(r, format, meta))
        .collect();
    if std::env::var_os("OTSCAN_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, produced.join("\n") + "\n").unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let expected: Vec<&str> = checked_in.lines().collect();
    assert_eq!(
        expected.len(),
        produced.len(),
        "{} has {} lines, the encoder made {}; rerun with OTSCAN_UPDATE_GOLDEN=1 if the change is deliberate",
        path.display(),
        expected.len(),
        produced.len()
    );
    for (i, (want, got)) in expected.iter().zip(&produced).enumerate() {
        // Compared as JSON values so the test does not depend on key order
        // (serde_json's preserve_order feature may be switched on by another crate).
        let want: Value = serde_json::from_str(want).unwrap();
        let got: Value = serde_json::from_str(got).unwrap();
        assert!(
            want == got,
            "{} line {} differs (rerun with OTSCAN_UPDATE_GOLDEN=1 if deliberate)\nwant: {want}\n got: {got}",
            path.display(),
            i + 1
        );
    }
}

#[test]
fn golden_native() {
    golden(Format::Native);
}

#[test]
fn golden_ocsf() {
    golden(Format::Ocsf);
}

#[test]
fn golden_ecs() {
    golden(Format::Ecs);
}

#[test]
fn golden_hec() {
    golden(Format::Hec);
}

fn meta_ecs9() -> OutputMeta {
    OutputMeta {
        ecs_version: output::ecs::EcsVersion::V9,
        ..meta()
    }
}

#[test]
fn golden_ecs9() {
    golden_file(Format::Ecs, &meta_ecs9(), "golden/ecs9.jsonl");
}

#[test]
fn every_format_is_one_json_object_per_line_and_round_trips() {
    let mut tricky = records().remove(0);
    // Device text with a newline and a quote must not break the line.
    tricky.product_name = Some("line one\nline \"two\"".into());
    let mut all = records();
    all.push(tricky);
    for format in Format::ALL {
        for r in &all {
            let line = output::encode_line(r, format, &meta());
            assert!(
                !line.contains('\n') && !line.contains('\r'),
                "{format}: {line}"
            );
            let parsed: Value = serde_json::from_str(&line).unwrap();
            assert!(parsed.is_object(), "{format}: not an object");
            assert_eq!(parsed, output::encode(r, format, &meta()), "{format}");
            assert_eq!(
                serde_json::from_str::<Value>(&parsed.to_string()).unwrap(),
                parsed
            );
        }
    }
}

#[test]
fn write_record_writes_one_terminated_line() {
    let mut out = Vec::new();
    for r in records() {
        output::write_record(&mut out, &r, Format::Ocsf, &meta()).unwrap();
    }
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with('\n'));
    assert_eq!(text.lines().count(), records().len());
}

#[test]
fn native_and_hec_carry_the_record_unchanged() {
    for r in records() {
        let native = output::encode(&r, Format::Native, &meta());
        assert_eq!(serde_json::from_value::<AssetRecord>(native).unwrap(), r);

        let hec = output::encode(&r, Format::Hec, &meta());
        assert_eq!(hec["host"], r.ip.to_string());
        assert_eq!(hec["source"], "otscan");
        assert_eq!(hec["sourcetype"], "otscan:asset");
        assert!(hec.get("index").is_none(), "the token's default index");
        let seconds = hec["time"].as_f64().unwrap();
        let expected = r.observed_at.as_millisecond() as f64 / 1000.0;
        assert!((seconds - expected).abs() < 1e-6, "{seconds} vs {expected}");
        assert_eq!(
            serde_json::from_value::<AssetRecord>(hec["event"].clone()).unwrap(),
            r
        );
    }
}

#[test]
fn the_asset_id_is_the_device_key_in_every_siem_format() {
    let mut plc = records().remove(0);
    scanner_core::record::derive::finish(&mut plc);
    let id = "serial:rockwell-automation:006C061A";
    assert_eq!(plc.asset_id.as_deref(), Some(id));
    let ocsf = output::encode(&plc, Format::Ocsf, &meta());
    assert_eq!(ocsf["device"]["uid"], id);
    let ecs = output::encode(&plc, Format::Ecs, &meta());
    assert_eq!(ecs["device"]["id"], id);
    let meta9 = OutputMeta {
        ecs_version: output::ecs::EcsVersion::V9,
        ..meta()
    };
    let ecs9 = output::encode(&plc, Format::Ecs, &meta9);
    assert_eq!(
        (&ecs9["device"]["id"], &ecs9["host"]["entity"]["id"]),
        (&json!(id), &json!(id))
    );
    // Both are ECS fields of their version, not custom ones.
    for (doc, list) in [
        (&ecs, "ecs-fields-used.txt"),
        (&ecs9, "ecs9-fields-used.txt"),
    ] {
        let (known, mut names) = (ecs_fields(list), BTreeSet::new());
        leaves("", doc, &mut names);
        let custom: Vec<&String> = names
            .iter()
            .filter(|n| {
                !known.contains(*n) && !n.starts_with("labels.") && !n.starts_with("otscan.")
            })
            .collect();
        assert!(custom.is_empty(), "{list}: {custom:?}");
    }
    let hec = output::encode(&plc, Format::Hec, &meta());
    assert_eq!(hec["fields"]["asset_id"], id);
    assert_eq!(hec["event"]["asset_id"], id);
    // A record without one (written before asset ids) leaves the keys out, never null.
    let old = records().remove(0);
    assert!(output::encode(&old, Format::Ocsf, &meta())["device"]
        .get("uid")
        .is_none());
    assert!(output::encode(&old, Format::Hec, &meta())
        .get("fields")
        .is_none());
}

/// `--hec-index`, `--hec-source` and `--hec-sourcetype` land in the envelope.
#[test]
fn hec_envelope_takes_the_chosen_index_source_and_sourcetype() {
    let meta = OutputMeta {
        hec: output::hec::HecFields {
            index: Some("ot_assets".into()),
            source: "otscan plant A".into(),
            sourcetype: "otscan:asset:plant".into(),
        },
        ..meta()
    };
    let hec = output::encode(&records()[0], Format::Hec, &meta);
    assert_eq!(hec["index"], "ot_assets");
    assert_eq!(hec["source"], "otscan plant A");
    assert_eq!(hec["sourcetype"], "otscan:asset:plant");
}

/// OCSF and ECS describe devices: an address that answered nothing has no event;
/// the native record and HEC keep it, saying `responsive: false`.
#[test]
fn silent_addresses_are_no_ocsf_device_and_no_ecs_asset() {
    let records = records();
    let silent = &records[4];
    assert!(!silent.responsive);
    assert!(!output::emits(silent, Format::Ocsf));
    assert!(!output::emits(silent, Format::Ecs));
    assert!(output::emits(silent, Format::Native));
    assert!(output::emits(silent, Format::Hec));
    // A device that answered only with an error is still a device.
    assert!(output::emits(&records[3], Format::Ocsf));
    assert!(output::emits(&records[3], Format::Ecs));
}

// ---------------------------------------------------------------- OCSF

/// Checks `value` against the subset's description of an object and recurses
/// into the children it names. Returns the problems found.
fn check_ocsf_object(
    schema: &Value,
    object_name: &str,
    path: &str,
    value: &Value,
    problems: &mut Vec<String>,
) {
    let spec = &schema["objects"][object_name];
    assert!(spec.is_object(), "subset lacks object {object_name}");
    let Some(obj) = value.as_object() else {
        problems.push(format!("{path}: not an object"));
        return;
    };
    check_attributes(schema, spec, path, obj, problems);
    if let Some(children) = spec["children"].as_object() {
        for (key, child_type) in children {
            let child_type = child_type.as_str().unwrap();
            if let Some(name) = key.strip_suffix("[]") {
                if let Some(v) = obj.get(name) {
                    match v.as_array() {
                        Some(items) => {
                            for (i, item) in items.iter().enumerate() {
                                check_ocsf_object(
                                    schema,
                                    child_type,
                                    &format!("{path}.{name}[{i}]"),
                                    item,
                                    problems,
                                );
                            }
                        }
                        None => problems.push(format!("{path}.{name}: not an array")),
                    }
                }
            } else if let Some(v) = obj.get(key) {
                check_ocsf_object(schema, child_type, &format!("{path}.{key}"), v, problems);
            }
        }
    }
}

fn check_attributes(
    schema: &Value,
    spec: &Value,
    path: &str,
    obj: &Map<String, Value>,
    problems: &mut Vec<String>,
) {
    let names = |k: &str| -> Vec<String> {
        spec[k]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    for required in names("required") {
        if obj.get(&required).is_none_or(Value::is_null) {
            problems.push(format!("{path}: required attribute {required} missing"));
        }
    }
    let one_of = names("at_least_one");
    if !one_of.is_empty() && !one_of.iter().any(|k| obj.contains_key(k)) {
        problems.push(format!("{path}: needs at least one of {one_of:?}"));
    }
    let known: BTreeSet<String> = names("attributes").into_iter().collect();
    for key in obj.keys() {
        if !known.contains(key) {
            problems.push(format!(
                "{path}: {key} is not an OCSF {} attribute",
                schema["version"]
            ));
        }
    }
    if let Some(enums) = spec["enums"].as_object() {
        for (attr, values) in enums {
            let Some(v) = obj.get(attr) else { continue };
            let Some(id) = v.as_u64() else {
                problems.push(format!("{path}.{attr}: not an integer"));
                continue;
            };
            let Some(caption) = values.get(id.to_string()) else {
                problems.push(format!("{path}.{attr}: {id} not in the enum"));
                continue;
            };
            // Sibling caption (type for type_id, activity_name for activity_id ...):
            // must be the enum caption, except for 99 Other where the source names it.
            let sibling = match attr.as_str() {
                "activity_id" => "activity_name".to_owned(),
                "severity_id" => "severity".to_owned(),
                other => other.trim_end_matches("_id").to_owned(),
            };
            if let Some(text) = obj.get(&sibling) {
                if id != 99 && text != caption {
                    problems.push(format!(
                        "{path}.{sibling}: {text} is not the caption of {id} ({caption})"
                    ));
                }
            }
        }
    }
    if let Some(types) = spec["types"].as_object() {
        for (attr, ty) in types {
            let Some(v) = obj.get(attr) else { continue };
            match ty.as_str().unwrap() {
                "mac_t" => {
                    // ^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})$, spelled out to avoid a regex dependency.
                    assert_eq!(
                        schema["types"]["mac_t"]["regex"],
                        "^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})$",
                        "the subset's mac_t changed; update this check"
                    );
                    let s = v.as_str().unwrap_or_default();
                    let ok = s.len() == 17
                        && s.split([':', '-']).count() == 6
                        && s.split([':', '-'])
                            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
                    if !ok {
                        problems.push(format!("{path}.{attr}: {v} is not a mac_t"));
                    }
                }
                "port_t" => {
                    if v.as_u64().is_none_or(|p| p > 65535) {
                        problems.push(format!("{path}.{attr}: {v} is not a port_t"));
                    }
                }
                "timestamp_t" => {
                    // Milliseconds: an integer, and past 2001-09-09 in ms (seconds would be ~1.7e9).
                    if v.as_i64().is_none_or(|t| t <= 1_000_000_000_000) {
                        problems.push(format!("{path}.{attr}: {v} is not epoch milliseconds"));
                    }
                }
                other => panic!("unknown type {other} in subset"),
            }
        }
    }
}

fn ocsf_schema() -> Value {
    let text = std::fs::read_to_string(data("ocsf-1.7.0-subset.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn ocsf_events_satisfy_the_schema_subset() {
    let schema = ocsf_schema();
    let class = &schema["class"];
    for r in records() {
        let event = output::encode(&r, Format::Ocsf, &meta());
        let obj = event.as_object().unwrap();
        let mut problems = Vec::new();
        check_attributes(&schema, class, "event", obj, &mut problems);
        check_ocsf_object(
            &schema,
            "metadata",
            "event.metadata",
            &event["metadata"],
            &mut problems,
        );
        check_ocsf_object(
            &schema,
            "device",
            "event.device",
            &event["device"],
            &mut problems,
        );
        for (i, o) in event["observables"].as_array().unwrap().iter().enumerate() {
            check_ocsf_object(
                &schema,
                "observable",
                &format!("event.observables[{i}]"),
                o,
                &mut problems,
            );
        }
        assert!(problems.is_empty(), "{}: {problems:#?}", r.ip);

        let category = class["category"]["uid"].as_u64().unwrap();
        let class_uid = category * 1000 + class["uid"].as_u64().unwrap();
        assert_eq!(event["category_uid"], category);
        assert_eq!(event["class_uid"], class_uid);
        assert_eq!(event["class_uid"], 5001);
        assert_eq!(event["activity_id"], 2, "Collect");
        assert_eq!(event["type_uid"], class_uid * 100 + 2);
        assert_eq!(event["severity_id"], 1);
        assert_eq!(event["time"], r.observed_at.as_millisecond());
        assert_eq!(event["metadata"]["version"], schema["version"]);
        assert_eq!(event["metadata"]["product"]["name"], "otscan");
        assert_eq!(
            event["metadata"]["product"]["vendor_name"],
            "otscan project"
        );
        assert_eq!(event["metadata"]["product"]["version"], "0.0.0-test");
        assert_eq!(event["metadata"]["correlation_uid"], SCAN_ID);
        assert_eq!(event["device"]["ip"], r.ip.to_string());
    }
}

#[test]
fn ocsf_validator_rejects_what_it_should() {
    // The validator must not be vacuous: break an event and expect complaints.
    let schema = ocsf_schema();
    let mut event = output::encode(&records()[1], Format::Ocsf, &meta());
    event["device"].as_object_mut().unwrap().remove("type_id");
    event["device"]["network_interfaces"][0]["open_port"] = json!([]);
    event["device"]["mac"] = json!("00:80:63:0a:0b");
    event["device"]["network_interfaces"][0]["open_ports"][0]
        .as_object_mut()
        .unwrap()
        .remove("port");
    let mut problems = Vec::new();
    check_ocsf_object(&schema, "device", "device", &event["device"], &mut problems);
    let all = problems.join("\n");
    assert!(all.contains("required attribute type_id missing"), "{all}");
    assert!(all.contains("open_port is not an OCSF"), "{all}");
    assert!(all.contains("is not a mac_t"), "{all}");
    assert!(all.contains("required attribute port missing"), "{all}");
}

/// The fixture records in `format`.
fn encoded(format: Format) -> Vec<Value> {
    records()
        .iter()
        .map(|r| output::encode(r, format, &meta()))
        .collect()
}

#[test]
fn ocsf_device_types_and_open_ports() {
    let events = encoded(Format::Ocsf);
    let [plc, switch, coupler, hmi, silent] = &events[..] else {
        panic!("five fixture records")
    };
    assert_eq!(
        (
            plc["device"]["type_id"].clone(),
            plc["device"]["type"].clone()
        ),
        (json!(99), json!("PLC"))
    );
    assert_eq!(
        (
            switch["device"]["type_id"].clone(),
            switch["device"]["type"].clone()
        ),
        (json!(10), json!("Switch"))
    );
    assert_eq!(hmi["device"]["type"], "HMI");
    assert_eq!(coupler["device"]["type_id"], 0);

    let ports = |e: &Value| e["device"]["network_interfaces"][0]["open_ports"].clone();
    // Refused Modbus is not open; the answering ENIP port is.
    assert_eq!(
        ports(plc),
        json!([{"port": 44818, "protocol_name": "tcp", "protocol_num": 6}])
    );
    assert_eq!(
        ports(switch),
        json!([{"port": 161, "protocol_name": "udp", "protocol_num": 17}])
    );
    // A Modbus exception still proves the port open; a connect timeout does not.
    assert_eq!(
        ports(hmi),
        json!([{"port": 502, "protocol_name": "tcp", "protocol_num": 6}])
    );
    assert_eq!(
        ports(coupler),
        json!([{"port": 502, "protocol_name": "tcp", "protocol_num": 6}])
    );
    assert_eq!(ports(silent), Value::Null);

    assert_eq!(plc["device"]["hw_info"]["serial_number"], "006C061A");
    assert_eq!(plc["device"]["model"], "1756-L61/B LOGIX5561");
    assert_eq!(plc["device"]["zone"], "cell-1");
    assert_eq!(plc["unmapped"]["firmware_version"], "20.11");
    assert_eq!(
        plc["unmapped"]["vendor_id"],
        json!({"space": "odva", "id": 1})
    );
    assert_eq!(plc["unmapped"]["product_code"], "54");
    assert_eq!(plc["unmapped"]["services"][1]["status"], "success");
    assert_eq!(plc["unmapped"]["enrichment"]["criticality"], "high");
    assert_eq!(switch["device"]["mac"], "00:80:63:0a:0b:0c");
    assert_eq!(coupler["device"]["name"], "io-rack-3.plant.example");
}

/// What a SIEM pivots on: every address and name of the device as an
/// observable pointing at the attribute that holds it, with OCSF's type ids.
#[test]
fn ocsf_observables_name_the_addresses_and_names() {
    let events = encoded(Format::Ocsf);
    let observed = |e: &Value| -> Vec<(String, u64, String)> {
        e["observables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["name"].as_str().unwrap().to_owned(),
                    o["type_id"].as_u64().unwrap(),
                    o["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let own = |name: &str, type_id: u64, value: &str| (name.to_owned(), type_id, value.to_owned());
    assert_eq!(
        observed(&events[1]),
        vec![
            own("device.ip", 2, "10.20.0.2"),
            own("device.mac", 3, "00:80:63:0a:0b:0c"),
            own("device.hostname", 1, "sw-cell-1"),
        ]
    );
    assert_eq!(
        observed(&events[2]),
        vec![
            own("device.ip", 2, "10.20.0.17"),
            own("device.name", 1, "io-rack-3.plant.example"),
        ]
    );
    assert_eq!(
        observed(&events[3]),
        vec![own("device.ip", 2, "fd00:20::5")]
    );
    // Each observable's value is the value of the attribute it names.
    for e in &events {
        for (name, _, value) in observed(e) {
            let attribute = name.strip_prefix("device.").unwrap();
            assert_eq!(e["device"][attribute], value.as_str(), "{name}");
        }
    }
}

/// Success when a probe read the identity; a device that only refused
/// identification (the HMI's Modbus exception) is a Failure that says why.
#[test]
fn ocsf_status_says_whether_the_identity_was_read() {
    let events = encoded(Format::Ocsf);
    for e in &events[..3] {
        assert_eq!(
            (e["status_id"].clone(), e["status"].clone()),
            (json!(1), json!("Success"))
        );
        assert!(e.get("status_detail").is_none());
    }
    let hmi = &events[3];
    assert_eq!(
        (hmi["status_id"].clone(), hmi["status"].clone()),
        (json!(2), json!("Failure"))
    );
    assert_eq!(
        hmi["status_detail"],
        "identity not read: modbus/tcp application-error"
    );
}

// ---------------------------------------------------------------- ECS

fn ecs_fields(list: &str) -> BTreeSet<String> {
    std::fs::read_to_string(data(list))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Dotted names of every leaf: scalars and arrays of scalars are leaves,
/// objects (also inside arrays) are walked into.
fn leaves(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&name, v, out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for item in items {
                leaves(prefix, item, out);
            }
        }
        _ => {
            out.insert(prefix.to_owned());
        }
    }
}

#[test]
fn ecs_documents_use_only_ecs_fields_or_the_custom_namespace() {
    let known = ecs_fields("ecs-fields-used.txt");
    let mut used = BTreeSet::new();
    for r in records() {
        let doc = output::encode(&r, Format::Ecs, &meta());
        let mut names = BTreeSet::new();
        leaves("", &doc, &mut names);
        for name in &names {
            assert!(
                known.contains(name) || name.starts_with("labels.") || name.starts_with("otscan."),
                "{}: {name} is neither an ECS field (tests/data/ecs-fields-used.txt) nor under labels.* / otscan.*",
                r.ip
            );
        }
        used.extend(names);
    }
    // The fixtures exercise the ECS fields that matter for an asset inventory.
    for f in [
        "@timestamp",
        "event.kind",
        "host.ip",
        "host.mac",
        "host.hostname",
        "device.manufacturer",
        "device.model.name",
        "device.model.identifier",
        "device.serial_number",
        "network.protocol",
        "related.ip",
        "observer.product",
        "host.geo.name",
        "labels.zone",
    ] {
        assert!(used.contains(f), "no fixture produced {f}");
    }
}

/// `--ecs-version 9`: only ECS 9 field names, and the device and entity fields
/// take over what ECS 8 documents keep under `otscan.*`.
#[test]
fn ecs9_documents_move_otscan_fields_to_device_and_entity() {
    let known = ecs_fields("ecs9-fields-used.txt");
    let docs: Vec<Value> = records()
        .iter()
        .map(|r| output::encode(r, Format::Ecs, &meta_ecs9()))
        .collect();
    for doc in &docs {
        let mut names = BTreeSet::new();
        leaves("", doc, &mut names);
        for name in &names {
            assert!(
                known.contains(name) || name.starts_with("labels.") || name.starts_with("otscan."),
                "{name} is neither an ECS 9 field (tests/data/ecs9-fields-used.txt) nor custom"
            );
        }
        assert_eq!(doc["ecs"]["version"], "9.2.0");
        assert_eq!(doc["host"]["entity"]["type"], json!(["host"]));
        assert_eq!(doc["host"]["entity"]["source"], "otscan");
        assert_eq!(doc["host"]["entity"]["name"], doc["host"]["name"]);
        assert_eq!(
            doc["host"]["entity"]["last_seen_timestamp"],
            doc["@timestamp"]
        );
        for gone in ["target_name", "product_name", "device_type", "vendor_id"] {
            assert!(doc["otscan"].get(gone).is_none(), "otscan.{gone} in ECS 9");
        }
    }
    let plc = &docs[0];
    assert_eq!(
        plc["device"]["vendor"]["name"],
        "Rockwell Automation/Allen-Bradley"
    );
    assert_eq!(plc["device"]["vendor"]["id"], "odva:1");
    assert_eq!(plc["device"]["product"]["name"], "1756-L61/B LOGIX5561");
    assert_eq!(plc["device"]["product"]["id"], "54");
    assert_eq!(plc["device"]["type"], "plc");
    assert_eq!(plc["host"]["entity"]["sub_type"], "plc");
    assert_eq!(
        plc["otscan"]["firmware_version"], "20.11",
        "ECS 9 has no firmware field"
    );
    assert_eq!(docs[1]["device"]["vendor"]["id"], "iana-pen:248");
    assert_eq!(
        docs[2]["host"]["entity"]["display_name"],
        "io-rack-3.plant.example"
    );
    // The ECS 8 documents are unchanged by the option's existence.
    let v8 = output::encode(&records()[0], Format::Ecs, &meta());
    assert_eq!(v8["ecs"]["version"], "8.17.0");
    assert_eq!(v8["otscan"]["vendor_id"], json!({"space": "odva", "id": 1}));
    assert!(v8["host"].get("entity").is_none() && v8["device"].get("vendor").is_none());
}

#[test]
fn ecs_categorization_and_identity() {
    let docs = encoded(Format::Ecs);
    for (doc, r) in docs.iter().zip(records()) {
        assert_eq!(doc["event"]["kind"], "asset");
        assert_eq!(doc["event"]["category"], json!(["host"]));
        assert_eq!(doc["event"]["type"], json!(["info"]));
        assert_eq!(doc["event"]["dataset"], "otscan.asset");
        assert_eq!(doc["host"]["ip"], json!([r.ip.to_string()]));
        assert_eq!(doc["related"]["ip"], json!([r.ip.to_string()]));
        assert_eq!(doc["observer"]["type"], "scanner");
        assert_eq!(doc["observer"]["product"], "otscan");
        assert_eq!(doc["observer"]["version"], "0.0.0-test");
        assert_eq!(doc["observer"]["hostname"], "scanner-01.ops.example");
        let ts = doc["@timestamp"].as_str().unwrap();
        assert_eq!(
            ts.parse::<jiff::Timestamp>().unwrap(),
            r.observed_at,
            "RFC 3339"
        );
    }
    let switch = &docs[1];
    assert_eq!(switch["host"]["mac"], json!(["00-80-63-0A-0B-0C"]));
    assert_eq!(switch["host"]["hostname"], "sw-cell-1");
    assert_eq!(switch["host"]["name"], "sw-cell-1");
    assert_eq!(switch["network"]["protocol"], "snmp");
    assert_eq!(switch["otscan"]["protocols"], json!(["snmp"]));
    assert_eq!(switch["device"]["model"]["name"], "RSP35");
    let plc = &docs[0];
    assert_eq!(
        (
            plc["network"]["protocol"].clone(),
            plc["otscan"]["protocols"].clone()
        ),
        (json!("enip"), json!(["enip"])),
        "refused Modbus did not answer"
    );
    assert_eq!(
        plc["device"]["manufacturer"],
        "Rockwell Automation/Allen-Bradley"
    );
    assert_eq!(plc["device"]["model"]["identifier"], "54");
    assert_eq!(plc["device"]["serial_number"], "006C061A");
    assert_eq!(plc["otscan"]["firmware_version"], "20.11");
    assert_eq!(
        plc["host"]["name"], "10.20.0.10",
        "no host name: the address"
    );
    assert_eq!(plc["labels"]["criticality"], "high");
    assert_eq!(
        docs[3]["network"]["protocol"], "modbus",
        "an exception is an answer"
    );
    assert!(docs[4].get("network").is_none(), "nothing answered");
    assert!(docs[4]["otscan"].get("protocols").is_none());
}

/// ECS `network.protocol` is one keyword: a device several protocols answered
/// for is filed under the one that identified it, the others stay in
/// `otscan.protocols`.
#[test]
fn ecs_network_protocol_is_the_identifying_protocol() {
    let mut r = base("10.20.0.30", "2026-03-01T12:00:06Z");
    r.responsive = true;
    r.vendor = Some("Siemens".into());
    r.services = ["modbus", "s7", "snmp"]
        .iter()
        .map(|p| {
            service(
                json!({"protocol": p, "transport": "tcp", "port": 1, "status": "success",
                "timestamp": "2026-03-01T12:00:06Z", "requests": 1}),
            )
        })
        .collect();
    let doc = |r: &AssetRecord| output::encode(r, Format::Ecs, &meta());
    // No source recorded: the first protocol that answered, in probe order.
    assert_eq!(doc(&r)["network"]["protocol"], "modbus");
    r.sources
        .insert("vendor".into(), scanner_core::Protocol::S7);
    assert_eq!(doc(&r)["network"]["protocol"], "s7");
    assert_eq!(
        doc(&r)["otscan"]["protocols"],
        json!(["modbus", "s7", "snmp"])
    );
    // A source whose service did not answer (a record edited by hand) is not used.
    r.services[1].status = scanner_core::record::Status::ConnectionRefused;
    assert_eq!(doc(&r)["network"]["protocol"], "modbus");
}
