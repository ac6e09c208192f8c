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

/// Starts the plant on `base`/24 with `ports`, scans it (stdout a pipe), and stops it.
async fn scan_plant(base: Ipv4Addr, ports: protocol_fixtures::PlantPorts) -> Output {
    let _plant = start_plant(base, ports);
    scan(base, ports, Vec::new()).await
}

/// Scans `base`/24 (a plant already serving `ports`) with `extra` flags; it must succeed.
async fn scan(base: Ipv4Addr, ports: protocol_fixtures::PlantPorts, extra: Vec<String>) -> Output {
    let flags = scan_flags(&ports);
    let out = tokio::task::spawn_blocking(move || {
        otscan()
            .args(["scan", &format!("{base}/24"), "--rate", "2000"])
            .args(flags)
            .args(extra)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    out
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
    let dir = temp("people-convert");
    let scan = dir.join("scan.jsonl");
    let out = scan_plant(BASE, ports(PORTS)).await;
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
    assert!(wide.contains("Rockwell Automation"), "{wide}");

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
    // The scan is never overwritten by its own rendering, however -o spells it.
    for command in ["convert", "report"] {
        let out = otscan()
            .arg(command)
            .arg(&good)
            .arg("-o")
            .arg(dir.join(".").join("good.jsonl"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}: {}", text(&out).1);
    }
    assert_eq!(
        std::fs::read_to_string(&good).unwrap(),
        record("10.0.0.1", "A", "B") + "\n"
    );
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

/// Runs Debian's Chromium headless on `page` (file://, a fresh profile, no network
/// features) with `args`, and returns its stdout.
fn chromium(page: &Path, profile: &Path, args: &[String]) -> String {
    let out = std::process::Command::new("timeout")
        .arg("120")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run chromium ({e}): run scripts/install-deps.sh (it installs Debian's chromium)")
        });
    assert!(
        out.status.success(),
        "chromium failed (install it with scripts/install-deps.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `otscan report` of a scan of the simulated plant against an older scan, loaded in
/// a real browser: the DOM after the report's script ran has every device, a known
/// device's row, the changes (the firmware change first), and a hostile product name
/// as text, its script never run (it would retitle the page).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_works_in_a_real_browser_and_keeps_hostile_names_as_text() {
    let dir = temp("people-report");
    let ports = ports(PORTS + 2 * protocol_fixtures::PlantPorts::BLOCK);
    let out = scan_plant(Ipv4Addr::new(127, 149, 0, 0), ports).await;
    let mut scan = records(&out.stdout);
    // Today's scan also holds a device with a hostile product name and vendor.
    let hostile: serde_json::Value = serde_json::from_str(&record(
        "127.149.0.250",
        "<img src=x onerror=\"document.title='pwned by img'\">",
        "<script>document.title='pwned'</script>",
    ))
    .unwrap();
    scan.push(hostile);
    // Last week: the ControlLogix had older firmware, the ABB drive was not there,
    // and a device at .99 was.
    let mut older: Vec<serde_json::Value> = scan
        .iter()
        .filter(|r| r["ip"] != "127.149.0.13" && r["ip"] != "127.149.0.250")
        .cloned()
        .collect();
    for r in &mut older {
        if r["ip"] == "127.149.0.20" {
            r["firmware_version"] = "20.9".into();
        }
    }
    let mut gone = older[0].clone();
    gone["ip"] = "127.149.0.99".into();
    older.push(gone);
    let ndjson = |records: &[serde_json::Value]| {
        records
            .iter()
            .map(|r| r.to_string() + "\n")
            .collect::<String>()
    };
    let (new_path, old_path) = (dir.join("today.jsonl"), dir.join("last-week.jsonl"));
    std::fs::write(&new_path, ndjson(&scan)).unwrap();
    std::fs::write(&old_path, ndjson(&older)).unwrap();
    let page = dir.join("report.html");
    let out = otscan()
        .args(["report", "--title", "Plant A inventory"])
        .arg(&new_path)
        .arg(&old_path)
        .arg("-o")
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to fetch.
    for external in ["src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(external), "{external} in the report");
    }

    let devices = scan.iter().filter(|r| r["responsive"] == true).count();
    let dom = chromium(&page, &dir.join("profile-dom"), &["--dump-dom".into()]);
    assert!(
        dom.contains("data-ready=\"1\""),
        "the report's script did not run: {dom}"
    );
    assert!(
        dom.contains("<title>Plant A inventory</title>"),
        "the title was changed by a device string"
    );
    assert!(
        dom.contains(&format!("{devices} of {devices} devices shown")),
        "the device count the script wrote"
    );
    assert!(dom.contains(&format!("<b id=\"device-count\">{devices}</b>")));
    // The ControlLogix's row.
    let row_start = dom
        .find("#d-127-149-0-20\">127.149.0.20</a>")
        .expect("its row");
    let row = &dom[row_start..row_start + dom[row_start..].find("</tr>").unwrap()];
    for cell in [
        "Rockwell Automation",
        "1756-L61/B LOGIX5561",
        "20.11",
        "plc",
        "006C061A",
        "enip",
    ] {
        assert!(row.contains(&format!("<td>{cell}</td>")), "{cell} in {row}");
    }
    // The changes: the firmware change first and notable, then what came and went.
    let changes = &dom[dom.find("id=\"changes\"").expect("the changes section")..];
    let changes = &changes[..changes.find("</section>").unwrap()];
    let first_row = &changes[changes.find("<tbody>").unwrap()..];
    let first_row = &first_row[..first_row.find("</tr>").unwrap()];
    for text in [
        "notable",
        "127.149.0.20",
        "firmware_version",
        "20.9",
        "20.11",
    ] {
        assert!(
            first_row.contains(text),
            "{text} in the first change: {first_row}"
        );
    }
    assert!(changes.contains("127.149.0.13") && changes.contains(">appeared<"));
    assert!(changes.contains("127.149.0.99") && changes.contains(">vanished<"));
    // The hostile names are text in the page, not elements.
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "{dom}"
    );
    assert!(dom.contains("&lt;img src=x onerror="));
    assert!(
        !dom.contains("<img"),
        "an <img> element from a device string"
    );
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "only the report's own script"
    );
    // Per-device details carry every protocol's fields.
    let details = &dom[dom
        .find("id=\"d-127-149-0-15\"")
        .expect("the M580's details")..];
    let details = &details[..details
        .find("</details>\n</details>")
        .unwrap_or(details.len())];
    for field in [
        "modbus tcp/",
        "enip tcp/",
        "snmp udp/",
        "conformity",
        "serial_number",
    ] {
        assert!(details.contains(field), "{field} in the M580's details");
    }

    let png = dir.join("report.png");
    chromium(
        &page,
        &dir.join("profile-png"),
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1400,1000".into(),
        ],
    );
    let image = std::fs::read(&png).unwrap();
    assert!(
        image.starts_with(b"\x89PNG") && image.len() > 20_000,
        "{} bytes",
        image.len()
    );
}

#[test]
fn help_shows_the_new_commands_with_examples() {
    for (command, example) in [
        ("convert", "otscan convert scan.jsonl --format csv"),
        (
            "report",
            "otscan report today.jsonl last-week.jsonl -o report.html",
        ),
        ("scan", "--format csv -o assets.csv"),
    ] {
        let out = otscan().args([command, "--help"]).output().unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(
            help.contains("Examples:") && help.contains(example),
            "{command}: {help}"
        );
    }
    let out = otscan().args(["scan", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("table when stdout is a terminal"), "{help}");
}

/// A CSV file that a `--state` run appends to (the next cycle of a weekly job) keeps
/// one heading row; the table and CSV heading is not counted as a record line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_csv_keeps_one_heading_row() {
    let ports = ports(PORTS + 3 * protocol_fixtures::PlantPorts::BLOCK);
    let base = Ipv4Addr::new(127, 150, 0, 0);
    let _plant = start_plant(base, ports);
    let dir = temp("people-csv-state");
    let (csv_path, state) = (dir.join("assets.csv"), dir.join("scan.state"));
    for _ in 0..2 {
        let extra = [
            "--format",
            "csv",
            "--state",
            &state.display().to_string(),
            "-o",
            &csv_path.display().to_string(),
        ]
        .map(str::to_owned)
        .to_vec();
        scan(base, ports, extra).await;
    }
    let text = std::fs::read_to_string(&csv_path).unwrap();
    assert_eq!(text.matches("ip,vendor,").count(), 1, "{text}");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows = reader.records().map(Result::unwrap).count();
    assert!(rows >= 60, "two cycles of the plant: {rows} rows");
}
