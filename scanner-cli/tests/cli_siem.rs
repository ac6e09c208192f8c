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

/// `otscan convert SCAN ARGS`, which must succeed: its records and its stderr.
fn convert(scan: &Path, args: &[&str]) -> (Vec<serde_json::Value>, String) {
    let out = otscan()
        .arg("convert")
        .arg(scan)
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    (records(&out.stdout), stderr(&out))
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
fn bad_hec_and_ecs_options_are_refused_naming_the_argument() {
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
    // --ecs-version: 8 or 9, and only for ECS documents.
    assert_usage_error(
        &[
            "scan",
            "127.151.1.1",
            "--format",
            "ecs",
            "--ecs-version",
            "10",
        ],
        "--ecs-version",
    );
    assert_usage_error(
        &["demo", "--format", "ecs", "--ecs-version", "nine"],
        "--ecs-version",
    );
    assert_usage_error(
        &["convert", scan, "--format", "ocsf", "--ecs-version", "9"],
        "--ecs-version applies only to --format ecs",
    );
}

#[test]
fn convert_writes_ecs_9_documents_on_request() {
    let dir = temp("siem-ecs9");
    let scan = saved_scan(&dir);
    let docs = convert(&scan, &["--format", "ecs", "--ecs-version", "9"]).0;
    assert_eq!(docs.len(), 2, "the silent address is no asset");
    for d in &docs {
        assert_eq!(d["ecs"]["version"], "9.2.0");
        assert_eq!(d["device"]["vendor"]["name"], "Schneider Electric");
        assert_eq!(d["host"]["entity"]["type"], serde_json::json!(["host"]));
    }
    let d = &converted(&scan, "ecs")[0];
    assert_eq!(d["ecs"]["version"], "8.17.0", "8 stays the default");
    assert!(d["host"].get("entity").is_none());
}

#[test]
fn convert_puts_the_chosen_index_source_and_sourcetype_in_every_envelope() {
    let dir = temp("siem-hec");
    let scan = saved_scan(&dir);
    let envelopes = convert(
        &scan,
        &[
            "--format",
            "hec",
            "--hec-index",
            "ot_assets",
            "--hec-source",
            "otscan plant A",
            "--hec-sourcetype",
            "otscan:asset:a",
        ],
    )
    .0;
    assert_eq!(envelopes.len(), 3, "HEC keeps the silent address");
    for e in &envelopes {
        assert_eq!(e["index"], "ot_assets");
        assert_eq!(e["source"], "otscan plant A");
        assert_eq!(e["sourcetype"], "otscan:asset:a");
    }
    assert_eq!(envelopes[1]["event"]["responsive"], false);
    // Without the flags: Splunk's defaults for otscan, and no index (the token's).
    let e = &converted(&scan, "hec")[0];
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
        let (lines, said) = convert(&scan, &["--format", format]);
        let ips: Vec<&str> = lines
            .iter()
            .map(|e| e.pointer(ip).unwrap().as_str().unwrap())
            .collect();
        if format == "native" {
            assert_eq!(ips, ["10.9.0.1", "10.9.0.2", "10.9.0.3"]);
        } else {
            assert_eq!(ips, ["10.9.0.1", "10.9.0.3"], "{format}");
            assert!(
                said.contains("2 records as ")
                    && said.contains("1 addresses that answered nothing left out"),
                "{said}"
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

// ------------------------------------------------------------------ rsyslog

/// The repository's root (the workspace), for docs/ and the checked-in scans.
fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The demo plant's 88 devices as a saved native scan (checked in as a golden file).
fn plant_scan() -> std::path::PathBuf {
    repo().join("scanner-core/tests/data/golden/plant-native.jsonl")
}

/// The configuration block of docs/siem.md, its paths moved into `dir`: the test
/// runs the documented recipe, not a copy of it.
fn recipe(dir: &Path) -> String {
    let doc = std::fs::read_to_string(repo().join("docs/siem.md")).unwrap();
    let start = doc
        .find("```rsyslog\n")
        .expect("docs/siem.md has an rsyslog block")
        + 11;
    let len = doc[start..].find("\n```").unwrap();
    moved(&doc[start..start + len], dir)
}

/// `text` with the recipe's system paths replaced by folders of `dir`.
fn moved(text: &str, dir: &Path) -> String {
    let d = dir.display();
    text.replace("/run/otscan/", &format!("{d}/run/"))
        .replace("/var/lib/otscan/", &format!("{d}/lib/"))
        .replace("/var/log/otscan/", &format!("{d}/log/"))
}

/// An rsyslogd of the test's own: its configuration, work directory, socket and
/// outputs all in `dir`; killed when dropped.
struct Rsyslogd {
    child: std::process::Child,
    dir: std::path::PathBuf,
}

impl Rsyslogd {
    /// Starts rsyslogd in the foreground with `config` after what Debian's
    /// /etc/rsyslog.conf provides (imuxsock loaded, a work directory); the system
    /// socket /dev/log is left alone. Returns once the otscan socket exists.
    fn start(dir: &Path, config: &str) -> Rsyslogd {
        let rsyslogd = Path::new("/usr/sbin/rsyslogd");
        assert!(
            rsyslogd.exists(),
            "rsyslogd missing: scripts/install-deps.sh installs the Debian package rsyslog"
        );
        for sub in ["work", "lib", "log"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let conf = dir.join("rsyslog.conf");
        let preamble = format!(
            "global(workDirectory=\"{}/work\")\nmodule(load=\"imuxsock\" SysSock.Use=\"off\")\n",
            dir.display()
        );
        std::fs::write(&conf, preamble + config).unwrap();
        let check = std::process::Command::new(rsyslogd)
            .args(["-N1", "-f"])
            .arg(&conf)
            .output()
            .unwrap();
        assert!(check.status.success(), "rsyslogd -N1: {check:?}");
        let child = std::process::Command::new(rsyslogd)
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("rsyslogd.err")).unwrap())
            .spawn()
            .unwrap();
        let daemon = Rsyslogd {
            child,
            dir: dir.to_owned(),
        };
        let socket = dir.join("run/otscan.sock");
        let waited = std::time::Instant::now();
        while !socket.exists() {
            assert!(
                waited.elapsed() < std::time::Duration::from_secs(10),
                "rsyslogd made no socket: {}",
                std::fs::read_to_string(dir.join("rsyslogd.err")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        daemon
    }

    /// `otscan ARGS | logger [LOGGER_ARGS] -u SOCKET -t otscan`, a real pipe.
    fn pipe(&self, otscan_args: &[&str], logger_args: &[&str]) {
        let mut producer = otscan()
            .args(otscan_args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let logger = std::process::Command::new("logger")
            .args(logger_args)
            .arg("-u")
            .arg(self.dir.join("run/otscan.sock"))
            .args(["-t", "otscan"])
            .stdin(producer.stdout.take().unwrap())
            .status()
            .unwrap();
        assert!(logger.success(), "logger: {logger:?}");
        assert!(producer.wait().unwrap().success());
    }

    /// The lines of `log/NAME` once there are `n`; fails after 20 s.
    fn lines(&self, name: &str, n: usize) -> Vec<String> {
        let path = self.dir.join("log").join(name);
        let waited = std::time::Instant::now();
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            if lines.len() >= n && text.ends_with('\n') {
                assert_eq!(lines.len(), n, "{name}: more lines than sent");
                return lines;
            }
            assert!(
                waited.elapsed() < std::time::Duration::from_secs(20),
                "{name}: {} of {n} lines after 20 s; rsyslogd said: {}",
                lines.len(),
                std::fs::read_to_string(self.dir.join("rsyslogd.err")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A saved native scan with one record of about 20 KiB (the plant's first device
/// with long site notes from `--enrich`), larger than rsyslog's 8 KiB default.
fn large_scan(dir: &Path) -> std::path::PathBuf {
    let first = std::fs::read_to_string(plant_scan()).unwrap();
    let mut r: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    let notes = "2019-03 firmware 3.10 installed; spare CPU in cabinet 4; ".repeat(350);
    r["enrichment"] = serde_json::json!({"matched": "127.86.0.0/24", "notes": notes});
    let path = dir.join("large.jsonl");
    std::fs::write(&path, r.to_string() + "\n").unwrap();
    path
}

/// What `otscan convert SCAN --format FORMAT` writes, as JSON values.
fn converted(scan: &Path, format: &str) -> Vec<serde_json::Value> {
    convert(scan, &["--format", format]).0
}

/// Every value of `sent` is in `got` exactly once (rsyslog keeps no order between routes).
fn assert_same_records(sent: &[serde_json::Value], got: &[String]) {
    let mut got: Vec<serde_json::Value> = got
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(got.len(), sent.len());
    for s in sent {
        let i = got
            .iter()
            .position(|g| g == s)
            .unwrap_or_else(|| panic!("not received whole: {s}"));
        got.swap_remove(i);
    }
}

/// The recipe of docs/siem.md, run by a real rsyslogd: OCSF events of the demo
/// plant through `logger` and through a file, and a 20 KiB HEC record through
/// `logger`, all arrive whole and parse back to the values otscan wrote.
#[test]
fn the_rsyslog_recipe_ships_every_record_whole() {
    let dir = temp("siem-rsyslog");
    let daemon = Rsyslogd::start(&dir, &recipe(&dir));
    let plant = plant_scan();
    let plant = plant.to_str().unwrap();
    let ocsf = converted(Path::new(plant), "ocsf");
    assert_eq!(ocsf.len(), 88);
    assert!(
        ocsf.iter().all(|e| e.to_string().len() > 1024),
        "every event is larger than logger's default 1 KiB"
    );
    // Route 1: the pipe, with the documented logger size.
    daemon.pipe(
        &["convert", "--format", "ocsf", plant],
        &["--size", "65536"],
    );
    assert_same_records(&ocsf, &daemon.lines("records.jsonl", ocsf.len()));
    // Route 2: a file otscan writes, followed by imfile (which adds $!metadata).
    let out = otscan()
        .args(["convert", "--format", "ocsf", plant, "-o"])
        .arg(dir.join("lib/assets-plant.jsonl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let both = daemon.lines("records.jsonl", 2 * ocsf.len());
    assert_same_records(&[ocsf.clone(), ocsf.clone()].concat(), &both);
    // A record larger than rsyslog's default limit, through the pipe.
    let large = large_scan(&dir);
    let hec = converted(&large, "hec");
    assert!(
        hec[0].to_string().len() > 16 * 1024,
        "a record of about 20 KiB"
    );
    daemon.pipe(
        &["convert", "--format", "hec", large.to_str().unwrap()],
        &["--size", "65536"],
    );
    let all = daemon.lines("records.jsonl", 2 * ocsf.len() + 1);
    assert_same_records(&[ocsf.clone(), ocsf, hec].concat(), &all);
    assert!(
        !dir.join("log/unparsed.log").exists(),
        "nothing was cut: {}",
        std::fs::read_to_string(dir.join("log/unparsed.log")).unwrap_or_default()
    );
}

/// The traps the recipe avoids are real: without its settings rsyslogd receives
/// records split into 1 KiB pieces (logger's default) and cut at 8 KiB (its own
/// default), and
/// parsing an OCSF event into `$!` mixes rsyslog's metadata with the event's.
#[test]
fn without_the_recipe_records_are_cut_and_ocsf_metadata_clashes() {
    let dir = temp("siem-rsyslog-naive");
    let naive = moved(
        r#"module(load="mmjsonparse")
module(load="imfile")
input(type="imuxsock" Socket="/run/otscan/otscan.sock" CreatePath="on" ruleset="naive")
input(type="imfile" File="/var/lib/otscan/*.jsonl" Tag="otscan" addMetadata="on" ruleset="naive")
template(name="tree" type="string" string="%$!%\n")
template(name="text" type="string" string="%msg%\n")
ruleset(name="naive") {
  action(type="mmjsonparse" cookie="")
  if $parsesuccess == "OK" then {
    set $!metadata!relay = "rsyslog-1";
    action(type="omfile" file="/var/log/otscan/records.jsonl" template="tree")
  } else {
    action(type="omfile" file="/var/log/otscan/unparsed.log" template="text")
  }
}
"#,
        &dir,
    );
    let daemon = Rsyslogd::start(&dir, &naive);
    // logger without --size: the first OCSF event arrives as 1 KiB pieces, none of
    // which is JSON.
    let one = dir.join("one.jsonl");
    let first = std::fs::read_to_string(plant_scan()).unwrap();
    std::fs::write(&one, first.lines().next().unwrap().to_owned() + "\n").unwrap();
    let event = converted(&one, "ocsf")[0].to_string();
    let pieces = event.len().div_ceil(1024);
    assert!(pieces >= 2, "{} bytes", event.len());
    daemon.pipe(&["convert", "--format", "ocsf", one.to_str().unwrap()], &[]);
    let cut = daemon.lines("unparsed.log", pieces);
    assert!(
        cut.iter().all(|p| p.trim().len() <= 1024),
        "pieces of at most 1 KiB"
    );
    let joined: String = cut.iter().map(|p| p.trim_start()).collect();
    assert_eq!(joined, event, "logger split the record, in order");
    // logger --size 65536 but rsyslogd's default maxMessageSize: cut at 8 KiB.
    let large = large_scan(&dir);
    daemon.pipe(
        &["convert", "--format", "hec", large.to_str().unwrap()],
        &["--size", "65536"],
    );
    let cut = daemon.lines("unparsed.log", pieces + 1);
    let len = cut[pieces].trim().len();
    assert!(
        (4096..=8192).contains(&len),
        "cut by rsyslogd at 8 KiB: {len} bytes"
    );
    // An OCSF event from a file, parsed into $!: its metadata object took the place
    // of imfile's (no filename left) and took in the key a rule set.
    let out = otscan()
        .args(["convert", "--format", "ocsf", one.to_str().unwrap(), "-o"])
        .arg(dir.join("lib/assets.jsonl"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let sent = &converted(&one, "ocsf")[0];
    assert!(sent["metadata"].get("relay").is_none());
    let tree: serde_json::Value =
        serde_json::from_str(&daemon.lines("records.jsonl", 1)[0]).unwrap();
    assert_eq!(
        tree["metadata"]["relay"], "rsyslog-1",
        "a foreign key inside the OCSF event"
    );
    assert!(
        tree["metadata"].get("filename").is_none(),
        "imfile's metadata is gone: {}",
        tree["metadata"]
    );
    assert_eq!(tree["metadata"]["uid"], sent["metadata"]["uid"]);
}
