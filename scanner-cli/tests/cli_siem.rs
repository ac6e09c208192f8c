//! What a SIEM receives (issue 20, item 8): the Splunk HEC envelope fields a
//! deployment chooses, OCSF/ECS without the addresses that answered nothing, and
//! records shipped through a real rsyslogd.

mod common;

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Output;

use common::*;

/// This file's plant: 127.151.0.0/24 on its own port block.
const BASE: Ipv4Addr = Ipv4Addr::new(127, 151, 0, 0);
const PORTS: u16 = 25100;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A native record: a responsive Modbus device, or (`responsive` false) an address
/// that refused the connection, as `--emit-all` writes it.
fn record(ip: &str, responsive: bool) -> serde_json::Value {
    let status = if responsive {
        "success"
    } else {
        "connection-refused"
    };
    let mut r = serde_json::json!({
        "schema": "otscan.asset/1", "scan_id": "s-siem", "observed_at": "2026-11-25T10:00:00Z",
        "scanner": {"name": "otscan", "version": "0.1.0"}, "ip": ip, "responsive": responsive, "sources": {},
        "services": [{"protocol": "modbus", "transport": "tcp", "port": 502,
            "status": status, "timestamp": "2026-11-25T10:00:00Z", "requests": 1}]
    });
    if responsive {
        r["vendor"] = "Schneider Electric".into();
        r["sources"] = serde_json::json!({"vendor": "modbus"});
    }
    r
}

/// A saved native scan in `dir`: two devices and one silent address.
fn saved_scan(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("scan.jsonl");
    let lines: Vec<String> = [
        record("10.9.0.1", true),
        record("10.9.0.2", false),
        record("10.9.0.3", true),
    ]
    .iter()
    .map(|r| r.to_string() + "\n")
    .collect();
    std::fs::write(&path, lines.concat()).unwrap();
    path
}

fn assert_usage_error(args: &[&str], names: &str) {
    let out = otscan().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "args {args:?}: {out:?}");
    let text = stderr(&out);
    assert_eq!(text.trim_end().lines().count(), 1, "one line: {text}");
    assert!(
        text.contains(names),
        "{args:?}: '{text}' should name {names}"
    );
    assert!(out.stdout.is_empty(), "nothing written for {args:?}");
}

#[test]
fn bad_hec_fields_are_refused_naming_the_argument() {
    let dir = temp("siem-usage");
    let scan = saved_scan(&dir);
    let scan = scan.to_str().unwrap();
    for command in [
        vec!["scan", "127.151.1.1", "--format", "hec"],
        vec!["demo", "--format", "hec"],
        vec!["convert", scan, "--format", "hec"],
    ] {
        let with = |extra: &[&'static str]| [command.clone(), extra.to_vec()].concat();
        assert_usage_error(&with(&["--hec-index", "OT Assets"]), "--hec-index");
        assert_usage_error(&with(&["--hec-index", "_internal"]), "--hec-index");
        assert_usage_error(&with(&["--hec-index", "ot_kvstore"]), "--hec-index");
        assert_usage_error(&with(&["--hec-source", ""]), "--hec-source");
        assert_usage_error(&with(&["--hec-source", "a\u{1b}[2J"]), "--hec-source");
        assert_usage_error(
            &with(&["--hec-sourcetype", "otscan asset"]),
            "--hec-sourcetype",
        );
    }
    // A HEC field with another format is a mistake, not something to ignore.
    assert_usage_error(
        &[
            "scan",
            "127.151.1.1",
            "--format",
            "ocsf",
            "--hec-index",
            "ot",
        ],
        "--hec-index applies only to --format hec",
    );
    assert_usage_error(
        &[
            "convert",
            scan,
            "--format",
            "native",
            "--hec-sourcetype",
            "x",
        ],
        "--hec-sourcetype",
    );
    assert_usage_error(
        &["demo", "--format", "ecs", "--hec-source", "x"],
        "--hec-source",
    );
}

#[test]
fn convert_puts_the_chosen_index_source_and_sourcetype_in_every_envelope() {
    let dir = temp("siem-hec");
    let scan = saved_scan(&dir);
    let out = otscan()
        .args(["convert", "--format", "hec", "--hec-index", "ot_assets"])
        .args([
            "--hec-source",
            "otscan plant A",
            "--hec-sourcetype",
            "otscan:asset:a",
        ])
        .arg(&scan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let envelopes = records(&out.stdout);
    assert_eq!(envelopes.len(), 3, "HEC keeps the silent address");
    for e in &envelopes {
        assert_eq!(e["index"], "ot_assets");
        assert_eq!(e["source"], "otscan plant A");
        assert_eq!(e["sourcetype"], "otscan:asset:a");
    }
    assert_eq!(envelopes[1]["event"]["responsive"], false);
    // Without the flags: Splunk's defaults for otscan, and no index (the token's).
    let out = otscan()
        .args(["convert", "--format", "hec"])
        .arg(&scan)
        .output()
        .unwrap();
    let e = &records(&out.stdout)[0];
    assert_eq!(
        (e["source"].as_str(), e["sourcetype"].as_str()),
        (Some("otscan"), Some("otscan:asset"))
    );
    assert!(e.get("index").is_none());
}

#[test]
fn convert_leaves_silent_addresses_out_of_ocsf_and_ecs() {
    let dir = temp("siem-convert");
    let scan = saved_scan(&dir);
    for (format, ip) in [
        ("ocsf", "/device/ip"),
        ("ecs", "/host/ip/0"),
        ("native", "/ip"),
    ] {
        let out = otscan()
            .args(["convert", "--format", format])
            .arg(&scan)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let ips: Vec<String> = records(&out.stdout)
            .iter()
            .map(|e| e.pointer(ip).unwrap().as_str().unwrap().to_owned())
            .collect();
        if format == "native" {
            assert_eq!(ips, ["10.9.0.1", "10.9.0.2", "10.9.0.3"]);
        } else {
            assert_eq!(ips, ["10.9.0.1", "10.9.0.3"], "{format}");
            assert!(
                stderr(&out).contains("2 records as ")
                    && stderr(&out).contains("1 addresses that answered nothing left out"),
                "{}",
                stderr(&out)
            );
        }
    }
}

/// `scan --emit-all --format ocsf` on a real plant: the devices get events, the
/// empty addresses of the range none, and the run still counts them as scanned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_all_scans_write_no_ocsf_or_ecs_event_for_empty_addresses() {
    let ports = common::ports(PORTS);
    let _plant = start_plant(BASE, ports);
    // .8 and .9 hold no device; .10 and .11 are Modbus devices of the plant.
    let range = "127.151.0.8-127.151.0.11";
    for format in ["ocsf", "ecs", "native"] {
        let flags = scan_flags(&ports);
        let out = tokio::task::spawn_blocking(move || {
            otscan()
                .args([
                    "scan",
                    range,
                    "--probes",
                    "modbus",
                    "--emit-all",
                    "--rate",
                    "2000",
                ])
                .args(["--format", format])
                .args(flags)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let lines = records(&out.stdout);
        let text = stderr(&out);
        assert!(text.contains("4 targets"), "{text}");
        match format {
            "native" => assert_eq!(lines.len(), 4, "native keeps every address"),
            _ => {
                let ip = if format == "ocsf" {
                    "/device/ip"
                } else {
                    "/host/ip/0"
                };
                let mut ips: Vec<&str> = lines
                    .iter()
                    .map(|e| e.pointer(ip).unwrap().as_str().unwrap())
                    .collect();
                ips.sort_unstable();
                assert_eq!(ips, ["127.151.0.10", "127.151.0.11"], "{format}");
                assert!(
                    text.contains("addresses that answer nothing get none"),
                    "{text}"
                );
            }
        }
    }
}
