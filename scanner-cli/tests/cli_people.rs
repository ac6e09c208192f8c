//! What a person sees (issue 20, items 1-4): the terminal table (the default on a
//! terminal, never mixed with the progress bar), CSV that a spreadsheet cannot run,
//! `otscan convert` of a saved scan, and one-line errors for a bad saved scan.

mod common;

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Output;

use common::*;

/// This file's plant: 127.147.0.0/24 on its own port block.
const BASE: Ipv4Addr = Ipv4Addr::new(127, 147, 0, 0);
const PORTS: u16 = 23200;

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A native record with the given identity strings.
fn record(ip: &str, vendor: &str, product: &str) -> String {
    serde_json::json!({
        "schema": "otscan.asset/1", "scan_id": "s", "observed_at": "2026-11-25T10:00:00Z",
        "scanner": {"name": "otscan", "version": "0.1.0"}, "ip": ip, "responsive": true,
        "vendor": vendor, "product_name": product, "firmware_version": "-1+2",
        "sources": {"vendor": "modbus"},
        "services": [{"protocol": "modbus", "transport": "tcp", "port": 502,
            "status": "success", "timestamp": "2026-11-25T10:00:00Z", "requests": 3}]
    })
    .to_string()
}

fn convert(scan: &Path, format: &str, columns: &str) -> Output {
    otscan()
        .args(["convert", "--format", format])
        .arg(scan)
        .env("COLUMNS", columns)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_scan_converts_to_a_table_csv_and_the_siem_formats() {
    let ports = ports(PORTS);
    let _plant = start_plant(BASE, ports);
    let dir = temp("people-convert");
    let scan = dir.join("scan.jsonl");
    let flags = scan_flags(&ports);
    let out = tokio::task::spawn_blocking(move || {
        otscan()
            .args(["scan", "127.147.0.0/24", "--rate", "2000"])
            .args(flags)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // stdout is a pipe: NDJSON, as before.
    let native = records(&out.stdout);
    assert!(native.len() >= 30, "{}", native.len());
    std::fs::write(&scan, &out.stdout).unwrap();

    // The table: a heading, one line per device, none wider than COLUMNS.
    let out = convert(&scan, "table", "80");
    let (table, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), native.len() + 1, "{table}");
    assert!(lines[0].starts_with("ADDRESS") && lines[0].contains("PROTOCOLS"));
    for line in &lines {
        assert!(line.chars().count() <= 80, "wider than 80: {line}");
    }
    let l61 = lines
        .iter()
        .find(|l| l.starts_with("127.147.0.20 "))
        .expect("the ControlLogix row");
    for cell in ["1756-L61/B", "20.11", "plc", "enip"] {
        assert!(l61.contains(cell), "{cell} in {l61}");
    }
    // Long vendor names are cut with an ellipsis at 80 columns, not at 200.
    assert!(table.contains('…'), "{table}");
    let wide = text(&convert(&scan, "table", "200")).0;
    assert!(wide.contains("Rockwell Automation/Allen-Bradley"), "{wide}");

    // CSV: a heading and one RFC 4180 row per device, the documented columns.
    let out = convert(&scan, "csv", "80");
    assert_eq!(out.status.code(), Some(0));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        &header[..8],
        [
            "ip",
            "vendor",
            "product_name",
            "model",
            "product_code",
            "firmware_version",
            "serial_number",
            "device_type"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), native.len());
    let l61 = rows.iter().find(|r| &r[0] == "127.147.0.20").unwrap();
    assert_eq!(&l61[2], "1756-L61/B LOGIX5561");
    assert_eq!(&l61[6], "006C061A");
    assert_eq!(&l61[10], "odva:1");

    // The SIEM formats come out of the saved scan as they would from the scan.
    for (format, key) in [
        ("ocsf", "class_uid"),
        ("ecs", "event"),
        ("hec", "sourcetype"),
        ("native", "schema"),
    ] {
        let out = convert(&scan, format, "80");
        assert_eq!(out.status.code(), Some(0), "{format}");
        let lines = records(&out.stdout);
        assert_eq!(lines.len(), native.len(), "{format}");
        assert!(
            lines.iter().all(|l| l.get(key).is_some()),
            "{format}: {key}"
        );
    }
    // Native in, native out: the same records.
    assert_eq!(records(&convert(&scan, "native", "80").stdout), native);
}

#[test]
fn hostile_device_strings_stay_text_in_csv_and_the_table() {
    let dir = temp("people-hostile");
    let scan = dir.join("hostile.jsonl");
    let lines = [
        record(
            "10.0.0.1",
            "Evil\u{1b}]0;pwned\u{7}\u{1b}[2J Corp",
            "=HYPERLINK(\"http://evil.example/\",\"click\")",
        ),
        record(
            "10.0.0.2",
            "@SUM(1+1)*cmd|' /C calc'!A0",
            "+1, \"quoted\"\r\nsecond line",
        ),
        record("10.0.0.3", "\tTabbed", "\u{202e}desrever\u{9b}31m"),
    ];
    std::fs::write(&scan, lines.join("\n") + "\n").unwrap();

    let out = convert(&scan, "csv", "120");
    assert_eq!(out.status.code(), Some(0));
    let csv_text = String::from_utf8(out.stdout).unwrap();
    // One row is one line, CRLF-terminated.
    assert_eq!(csv_text.matches("\r\n").count(), 4, "{csv_text:?}");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(
        &rows[0][2],
        "'=HYPERLINK(\"http://evil.example/\",\"click\")"
    );
    assert_eq!(&rows[1][1], "'@SUM(1+1)*cmd|' /C calc'!A0");
    assert_eq!(&rows[1][2], "'+1, \"quoted\"  second line");
    assert_eq!(&rows[2][1], "'\tTabbed");
    assert_eq!(&rows[0][5], "'-1+2", "a firmware that looks like a formula");
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell a spreadsheet would run: {cell:?}"
            );
        }
    }

    let out = convert(&scan, "table", "120");
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        !table.chars().any(|c| c.is_control() && c != '\n'),
        "control characters reach the terminal: {table:?}"
    );
    assert!(!table.contains('\u{202e}'), "{table:?}");
    assert!(table.contains("Evil Corp"), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
}

#[test]
fn a_bad_saved_scan_is_one_line_naming_the_file_and_the_line() {
    let dir = temp("people-bad");
    let good = dir.join("good.jsonl");
    let bad = dir.join("bad.jsonl");
    std::fs::write(&good, record("10.0.0.1", "A", "B") + "\n").unwrap();
    std::fs::write(
        &bad,
        format!(
            "{}\n\n{{\"not\": \"a record\"}}\n",
            record("10.0.0.1", "A", "B")
        ),
    )
    .unwrap();
    let html = dir.join("r.html");
    for args in [
        vec![
            "convert".into(),
            "--format".into(),
            "csv".into(),
            bad.display().to_string(),
        ],
        vec![
            "diff".into(),
            good.display().to_string(),
            bad.display().to_string(),
        ],
        vec![
            "report".into(),
            bad.display().to_string(),
            "-o".into(),
            html.display().to_string(),
        ],
        vec![
            "report".into(),
            good.display().to_string(),
            bad.display().to_string(),
            "-o".into(),
            html.display().to_string(),
        ],
    ] {
        let out = otscan().args(&args).output().unwrap();
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!(
                "otscan: error: {}: line 3: not an otscan asset record",
                bad.display()
            )),
            "{args:?}: {stderr}"
        );
    }
    // A missing file and an unknown format are bad usage too.
    let out = otscan()
        .args(["convert", "--format", "csv"])
        .arg(dir.join("missing.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("missing.jsonl"), "{}", text(&out).1);
    let out = otscan()
        .args(["convert", "--format", "xml"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("table, csv"), "{}", text(&out).1);
}

/// On a terminal (a pseudo-terminal from util-linux `script`), `otscan scan` prints
/// the table by default, and every record line starts on a line of its own: the
/// progress bar on stderr (the same terminal) is cleared before it, never mixed in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_table_is_the_default_and_never_mixed_with_the_progress_bar() {
    let ports = ports(PORTS + protocol_fixtures::PlantPorts::BLOCK);
    let base = Ipv4Addr::new(127, 148, 0, 0);
    let _plant = start_plant(base, ports);
    let flags = scan_flags(&ports).join(" ");
    let command = format!(
        "stty rows 40 cols 100; {} scan 127.148.0.0/24 --rate 300 {flags}",
        assert_cmd::cargo::cargo_bin("otscan").display()
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        !screen.contains("\"schema\""),
        "NDJSON on a terminal: {screen}"
    );
    assert!(screen.contains("ADDRESS"), "{screen}");
    assert!(
        screen.contains("targets"),
        "the progress bar was drawn: {screen}"
    );
    let csi = |s: &str| {
        let mut out = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                // ESC [ params final
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
                continue;
            }
            out.push(c);
        }
        out
    };
    let mut rows = 0;
    for line in screen.split('\n') {
        for segment in line.split('\r').map(csi) {
            if segment.contains("127.148.0.") {
                rows += 1;
                assert!(
                    segment.starts_with("127.148.0."),
                    "a record mixed with something else: {segment:?}"
                );
                assert!(segment.chars().count() <= 100, "{segment}");
            }
        }
    }
    assert!(rows >= 30, "{rows} rows: {screen}");
}
