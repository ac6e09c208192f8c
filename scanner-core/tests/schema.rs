//! The checked-in JSON Schema must match the record types.
//!
//! Regenerate after a deliberate change with
//! `OTSCAN_UPDATE_SCHEMA=1 cargo test -p scanner-core --test schema`.

use std::path::PathBuf;

#[test]
fn checked_in_schema_matches_the_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/asset-record.schema.json");
    let generated =
        serde_json::to_string_pretty(&scanner_core::record::json_schema()).unwrap() + "\n";
    if std::env::var_os("OTSCAN_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is out of date with the record types; rerun with OTSCAN_UPDATE_SCHEMA=1 and commit it",
        path.display()
    );
}

#[test]
fn schema_describes_the_core_fields() {
    let schema = scanner_core::record::json_schema();
    let props = &schema["properties"];
    for field in [
        "schema",
        "ip",
        "vendor",
        "services",
        "sources",
        "scan_id",
        "observed_at",
    ] {
        assert!(props.get(field).is_some(), "schema lacks {field}");
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(required.contains(&"ip") && required.contains(&"services"));
}

/// docs/record.md documents every field of the record and of its nested objects.
#[test]
fn record_documentation_names_every_schema_field() {
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/record.md"),
    )
    .unwrap();
    let schema = scanner_core::record::json_schema();
    let mut missing = Vec::new();
    let mut check = |props: &serde_json::Value| {
        for name in props.as_object().into_iter().flatten().map(|(k, _)| k) {
            if !doc.contains(&format!("`{name}`")) {
                missing.push(name.clone());
            }
        }
    };
    check(&schema["properties"]);
    for def in schema["$defs"].as_object().unwrap().values() {
        check(&def["properties"]);
    }
    assert!(missing.is_empty(), "docs/record.md lacks: {missing:?}");
}

/// The `protocol` row of `services[]` and the `details` row list every registered protocol.
#[test]
fn record_documentation_lists_every_protocol() {
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/record.md"),
    )
    .unwrap();
    let row = |start: &str| {
        doc.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_default()
            .to_owned()
    };
    let (protocol, details) = (row("| `protocol` |"), row("| `details` |"));
    for p in scanner_core::Protocol::ALL {
        let name = p.name();
        assert!(
            protocol.contains(&format!("`{name}`")),
            "{name}: {protocol}"
        );
        assert!(
            details.contains(&format!("`\"{name}\": …`")),
            "{name}: {details}"
        );
    }
}
