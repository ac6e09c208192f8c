//! Scan diff: appeared / disappeared / changed devices, notable firmware and
//! serial changes, and reading NDJSON scans with line-numbered errors.

use scanner_core::diff::{self, ChangeKind, DiffError};
use scanner_core::output::{self, Format, OutputMeta};
use scanner_core::record::{AssetRecord, DeviceType, ServiceObservation};
use serde_json::{json, Value};

fn service(protocol: &str, transport: &str, port: u16, status: &str) -> ServiceObservation {
    serde_json::from_value(json!({
        "protocol": protocol, "transport": transport, "port": port, "status": status,
        "timestamp": "2026-03-01T12:00:00Z", "requests": 1
    }))
    .unwrap()
}

/// A responsive Modbus device as a scan would record it.
fn device(scan: &str, ip: &str, firmware: &str, serial: &str) -> AssetRecord {
    let mut r = AssetRecord::new(scan, ip.parse().unwrap(), None);
    r.observed_at = "2026-03-01T12:00:00Z".parse().unwrap();
    r.responsive = true;
    r.vendor = Some("Phoenix Contact".into());
    r.product_code = Some("2701916".into());
    r.firmware_version = Some(firmware.into());
    r.serial_number = Some(serial.into());
    r.device_type = Some(DeviceType::Io);
    r.services = vec![
        service("modbus", "tcp", 502, "success"),
        service("enip", "tcp", 44818, "connection-refused"),
    ];
    r
}

/// Two scans of the plant: 10.20.0.11's firmware changed, 10.20.0.12
/// vanished, 10.20.0.14 appeared; 10.20.0.13 is the same apart from the scan
/// id, time and round-trip times, which must not count.
fn plant_scans() -> (Vec<AssetRecord>, Vec<AssetRecord>) {
    let old = vec![
        device("scan-a", "10.20.0.13", "1.0", "S13"),
        device("scan-a", "10.20.0.11", "1.23", "S11"),
        device("scan-a", "10.20.0.12", "1.0", "S12"),
    ];
    let mut same = device("scan-b", "10.20.0.13", "1.0", "S13");
    same.observed_at = "2026-03-02T08:00:00Z".parse().unwrap();
    same.services[0].rtt_ms = Some(0.5);
    let new = vec![
        device("scan-b", "10.20.0.14", "2.0", "S14"),
        device("scan-b", "10.20.0.11", "1.30", "S11"),
        same,
    ];
    (old, new)
}

#[test]
fn firmware_change_disappearance_and_appearance_are_exactly_three_changes() {
    let (old, new) = plant_scans();
    let changes = diff::diff(&old, &new);
    let summary: Vec<(ChangeKind, String, bool)> = changes
        .iter()
        .map(|c| (c.kind, c.ip.to_string(), c.notable))
        .collect();
    assert_eq!(
        summary,
        vec![
            (ChangeKind::Changed, "10.20.0.11".to_owned(), true),
            (ChangeKind::Disappeared, "10.20.0.12".to_owned(), false),
            (ChangeKind::Appeared, "10.20.0.14".to_owned(), false),
        ]
    );
    let fw = &changes[0];
    assert_eq!(fw.fields.len(), 1, "{:?}", fw.fields);
    assert_eq!(fw.fields[0].field, "firmware_version");
    assert_eq!(fw.fields[0].before, json!("1.23"));
    assert_eq!(fw.fields[0].after, json!("1.30"));
    assert_eq!(
        fw.to_string(),
        r#"changed 10.20.0.11: firmware_version "1.23" -> "1.30" (notable)"#
    );
    // Appeared and disappeared events say what came and went.
    let appeared = &changes[2];
    assert!(appeared
        .fields
        .iter()
        .any(|f| f.field == "serial_number" && f.before.is_null() && f.after == json!("S14")));
    assert!(appeared
        .fields
        .iter()
        .any(|f| f.field == "services" && f.after == json!(["modbus/tcp/502"])));
}

#[test]
fn the_same_scan_twice_has_no_changes() {
    let (old, _) = plant_scans();
    assert!(diff::diff(&old, &old).is_empty());
    assert!(diff::diff(&[], &[]).is_empty());
}

#[test]
fn a_serial_change_is_notable_a_serial_appearing_is_not() {
    let old = vec![
        device("a", "10.0.0.1", "1.0", "S1"),
        device("a", "10.0.0.2", "1.0", "S2"),
    ];
    let mut swapped = device("b", "10.0.0.1", "1.0", "S9");
    swapped.hostname = Some("new-name".into());
    let mut flaky = device("b", "10.0.0.2", "1.0", "S2");
    flaky.serial_number = None;
    let changes = diff::diff(&old, &[swapped, flaky]);
    assert_eq!(changes.len(), 2);
    assert!(changes[0].notable);
    let fields: Vec<&str> = changes[0].fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        ["serial_number", "hostname"],
        "report order is fixed"
    );
    assert!(
        !changes[1].notable,
        "a value that vanished is not a replacement"
    );
    assert_eq!(changes[1].fields[0].after, Value::Null);
}

#[test]
fn services_are_compared_as_the_set_that_answered() {
    let old = vec![device("a", "10.0.0.1", "1.0", "S1")];
    // Same answering set, different order and outcome of non-answering probes,
    // and success -> application-error: not a change.
    let mut same = device("b", "10.0.0.1", "1.0", "S1");
    same.services = vec![
        service("enip", "tcp", 44818, "connection-timeout"),
        service("modbus", "tcp", 502, "application-error"),
    ];
    assert!(diff::diff(&old, &[same]).is_empty());

    let mut more = device("b", "10.0.0.1", "1.0", "S1");
    more.services.push(service("snmp", "udp", 161, "success"));
    let changes = diff::diff(&old, &[more]);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].fields[0].field, "services");
    assert_eq!(changes[0].fields[0].before, json!(["modbus/tcp/502"]));
    assert_eq!(
        changes[0].fields[0].after,
        json!(["modbus/tcp/502", "snmp/udp/161"])
    );
    assert!(!changes[0].notable);
}

#[test]
fn unresponsive_records_count_as_absent() {
    let old = vec![device("a", "10.0.0.1", "1.0", "S1")];
    let mut gone = AssetRecord::new("b", "10.0.0.1".parse().unwrap(), None);
    gone.services = vec![service("modbus", "tcp", 502, "connection-timeout")];
    let changes = diff::diff(&old, std::slice::from_ref(&gone));
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, ChangeKind::Disappeared);
    assert!(diff::diff(&[gone.clone()], &[gone]).is_empty());
}

#[test]
fn the_last_record_of_an_address_wins() {
    let old = vec![device("a", "10.0.0.1", "1.0", "S1")];
    let new = vec![
        device("b", "10.0.0.1", "0.9", "S1"),
        device("b", "10.0.0.1", "1.0", "S1"),
    ];
    assert!(diff::diff(&old, &new).is_empty());
    let new = vec![
        device("b", "10.0.0.1", "1.0", "S1"),
        device("b", "10.0.0.1", "1.1", "S1"),
    ];
    assert_eq!(diff::diff(&old, &new)[0].fields[0].after, json!("1.1"));
}

#[test]
fn changes_are_sorted_by_address() {
    let new: Vec<AssetRecord> = ["10.0.0.10", "fd00::1", "10.0.0.9", "10.0.0.100"]
        .iter()
        .map(|ip| device("b", ip, "1", "S"))
        .collect();
    let ips: Vec<String> = diff::diff(&[], &new)
        .iter()
        .map(|c| c.ip.to_string())
        .collect();
    assert_eq!(ips, ["10.0.0.9", "10.0.0.10", "10.0.0.100", "fd00::1"]);
}

#[test]
fn scans_written_as_native_ndjson_read_back_and_diff() {
    let (old, new) = plant_scans();
    let write = |records: &[AssetRecord]| -> String {
        let mut out = Vec::new();
        for r in records {
            output::write_record(&mut out, r, Format::Native, &OutputMeta::default()).unwrap();
        }
        // A blank line in the middle (e.g. from concatenating files) is skipped.
        String::from_utf8(out)
            .unwrap()
            .replacen('\n', "\n\n  \n", 1)
    };
    let old_read = diff::read_jsonl(write(&old).as_bytes()).unwrap();
    let new_read = diff::read_jsonl(write(&new).as_bytes()).unwrap();
    assert_eq!(old_read, old);
    assert_eq!(diff::diff(&old_read, &new_read), diff::diff(&old, &new));
}

#[test]
fn read_jsonl_errors_name_the_line() {
    let good = output::encode_line(
        &device("a", "10.0.0.1", "1", "S"),
        Format::Native,
        &OutputMeta::default(),
    );
    let text = format!("{good}\n\n{{\"ip\": \"10.0.0.2\"}}\n{good}\n");
    let err = diff::read_jsonl(text.as_bytes()).unwrap_err();
    assert!(
        matches!(err, DiffError::NotARecord { line: 3, .. }),
        "{err:?}"
    );
    assert_eq!(err.line(), 3);
    assert!(
        err.to_string()
            .starts_with("line 3: not an otscan asset record"),
        "{err}"
    );

    let err = diff::read_jsonl(format!("{good}\nnot json at all\n").as_bytes()).unwrap_err();
    assert_eq!(err.line(), 2);

    // An OCSF event is JSON but not a native record.
    let ocsf = output::encode_line(
        &device("a", "10.0.0.1", "1", "S"),
        Format::Ocsf,
        &OutputMeta::default(),
    );
    assert_eq!(diff::read_jsonl(ocsf.as_bytes()).unwrap_err().line(), 1);

    let bad_utf8: &[u8] = b"\n\xff\xfe\n";
    assert!(matches!(
        diff::read_jsonl(bad_utf8).unwrap_err(),
        DiffError::Io { line: 2, .. }
    ));
}

#[test]
fn change_events_serialize_as_documented() {
    let (old, new) = plant_scans();
    let changes = diff::diff(&old, &new);
    let line = serde_json::to_string(&changes[0]).unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["kind"], "changed");
    assert_eq!(v["ip"], "10.20.0.11");
    assert_eq!(v["notable"], true);
    assert_eq!(
        v["fields"][0],
        json!({"field": "firmware_version", "before": "1.23", "after": "1.30"})
    );
    assert_eq!(
        serde_json::from_value::<diff::Change>(v).unwrap(),
        changes[0]
    );

    let schema = diff::json_schema();
    for field in ["kind", "ip", "fields", "notable"] {
        assert!(
            schema["properties"].get(field).is_some(),
            "schema lacks {field}"
        );
    }
}

#[test]
fn a_device_at_a_new_address_is_moved_not_gone_and_new() {
    // The same PLC (same vendor and serial, so the same asset id) answered at .12 in the
    // old scan and at .40 in the new one, with a firmware update on the way.
    let old = vec![
        device("scan-a", "10.20.0.11", "1.0", "S11"),
        device("scan-a", "10.20.0.12", "1.0", "S12"),
    ];
    let mut new = vec![
        device("scan-b", "10.20.0.11", "1.0", "S11"),
        device("scan-b", "10.20.0.40", "1.1", "S12"),
    ];
    // New scans carry the id; old ones (written before asset ids) get it derived on read.
    for r in &mut new {
        scanner_core::record::derive::finish(r);
    }
    assert_eq!(
        new[1].asset_id.as_deref(),
        Some("serial:phoenix-contact:S12")
    );
    let changes = diff::diff(&old, &new);
    assert_eq!(changes.len(), 1, "{changes:?}");
    let moved = &changes[0];
    assert_eq!(moved.kind, ChangeKind::Moved);
    assert_eq!(moved.ip.to_string(), "10.20.0.40");
    assert_eq!(
        moved.previous_ip.map(|ip| ip.to_string()).as_deref(),
        Some("10.20.0.12")
    );
    let fields: Vec<(&str, &Value, &Value)> = moved
        .fields
        .iter()
        .map(|f| (f.field.as_str(), &f.before, &f.after))
        .collect();
    assert_eq!(
        fields,
        [
            ("ip", &json!("10.20.0.12"), &json!("10.20.0.40")),
            ("firmware_version", &json!("1.0"), &json!("1.1")),
        ]
    );
    assert!(
        moved.notable,
        "a firmware replaced on the way is still notable"
    );
    assert_eq!(
        moved.to_string(),
        "moved 10.20.0.40 (was 10.20.0.12): ip \"10.20.0.12\" -> \"10.20.0.40\"; \
         firmware_version \"1.0\" -> \"1.1\" (notable)"
    );

    // A device known only by its address cannot move: its ip: id changes with it.
    let anonymous = |scan: &str, ip: &str| {
        let mut r = device(scan, ip, "1.0", "S1");
        r.vendor = None;
        r.serial_number = None;
        r
    };
    let changes = diff::diff(
        &[anonymous("a", "10.20.0.12")],
        &[anonymous("b", "10.20.0.40")],
    );
    let kinds: Vec<ChangeKind> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [ChangeKind::Disappeared, ChangeKind::Appeared]);
}
