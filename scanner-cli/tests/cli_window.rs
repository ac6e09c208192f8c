//! Maintenance-window operation in real subprocesses: refusal outside the window,
//! resume across several stops with a state file, SIGINT handling.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Duration;

use protocol_fixtures::{DeviceSpec, ModbusDeviceConfig, Plant, PlantSpec};

mod common;

fn otscan() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("otscan"))
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("otscan-window-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Modbus devices spread over a /18, at addresses the pseudo-random order visits
/// early, in the middle and late.
fn spread_plant(base: [u8; 2], port: u16) -> (PlantSpec, Vec<String>) {
    let mut spec = PlantSpec::default();
    let mut ips = Vec::new();
    for i in 0..24u16 {
        let third = (i * 37 % 64) as u8;
        let fourth = (i * 53 % 250 + 2) as u8;
        let ip = Ipv4Addr::new(127, base[0], base[1] + third, fourth);
        spec.devices
            .push(DeviceSpec::new(ip, format!("dev-{i}")).with_modbus(
                port,
                ModbusDeviceConfig::new("Sim", format!("P-{i}"), "1.0"),
            ));
        ips.push(ip.to_string());
    }
    ips.sort();
    (spec, ips)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_the_window_nothing_is_sent() {
    let plant = Plant::start(spread_plant([80, 0], 15071).0).unwrap();
    // A one-hour window that starts two hours from now (UTC), so never "now".
    let hour = (jiff::Timestamp::now().as_second() / 3600 + 2) % 24;
    let window = format!("{hour:02}:00-{:02}:00 UTC", (hour + 1) % 24);
    let out = tokio::task::spawn_blocking(move || {
        otscan()
            .args([
                "scan",
                "127.80.0.0/18",
                "--probes",
                "modbus",
                "--port",
                "modbus=15071",
            ])
            .args(["--window", &window])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(75), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("outside the maintenance window") && stderr.contains("opens"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    common::assert_nothing_sent(&plant);
    plant.shutdown().await;
}

/// One deadline-limited run over the /18 with the state file (and a report). The rate caps
/// a run at 0.25 s x 20,000 = 5,000 of the 16,384 targets however fast the machine is, so
/// the scan always needs several runs.
async fn resume_run(
    state: std::path::PathBuf,
    report: Option<std::path::PathBuf>,
) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let mut command = otscan();
        command
            .args([
                "scan",
                "127.81.0.0/18",
                "--probes",
                "modbus",
                "--port",
                "modbus=15072",
            ])
            .args([
                "--rate",
                "20000",
                "--per-device-interval",
                "0ms",
                "--concurrency",
                "256",
            ])
            .args(["--timeout", "500ms", "--max-duration", "250ms", "--state"])
            .arg(&state);
        if let Some(report) = report {
            command.arg("--report").arg(report);
        }
        command.output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_across_stops_yields_each_device_exactly_once() {
    let (spec, expected) = spread_plant([81, 0], 15072);
    let plant = Plant::start(spec).unwrap();
    let dir = temp("resume");
    let state = dir.join("scan.state");
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    let mut stops = 0;
    let mut reports = Vec::new();
    for run in 0..40 {
        let (state, report) = (state.clone(), dir.join(format!("report-{run}.json")));
        let report2 = report.clone();
        let out = resume_run(state, Some(report2)).await;
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            *seen
                .entry(record["ip"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let finished = report["targets"]["left"] == "0";
        if report["stopped_by"] == "deadline" {
            stops += 1;
        }
        reports.push(report);
        if finished {
            break;
        }
    }
    assert!(
        stops >= 2,
        "the scan was cut by the deadline at several points ({stops})"
    );
    let found: Vec<&String> = seen.keys().collect();
    assert_eq!(
        found,
        expected.iter().collect::<Vec<_>>(),
        "no device missing"
    );
    assert!(seen.values().all(|n| *n == 1), "no device twice: {seen:?}");
    let scanned: u64 = reports
        .iter()
        .map(|r| r["targets"]["scanned"].as_u64().unwrap())
        .sum();
    assert_eq!(
        scanned, 16_384,
        "every target scanned exactly once over all runs"
    );
    let last = reports.last().unwrap();
    assert_eq!(last["targets"]["left"], "0");

    // The next run after a finished scan starts a new cycle from the beginning.
    let out = resume_run(state, None).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("starting a new one"));
    plant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_flushes_and_keeps_the_state() {
    let plant = Plant::start(spread_plant([82, 0], 15073).0).unwrap();
    let dir = temp("sigint");
    let state = dir.join("scan.state");
    let child = otscan()
        .args([
            "scan",
            "127.82.0.0/18",
            "--probes",
            "modbus",
            "--port",
            "modbus=15073",
        ])
        .args(["--rate", "2000", "--state"])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "no half-written line"
    );
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("interrupted") && stderr.contains("targets left"),
        "{stderr}"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["format"], "otscan.state/2");
    plant.shutdown().await;
}

/// Issue 15 item 6: inside a one-hour window that opened 50 minutes ago, the default
/// grace is a tenth of the window capped at 5 minutes (not a tenth of the 10 minutes
/// left), so about 5 minutes remain for the scan; a grace as long as the window is a
/// usage error.
#[test]
fn the_default_grace_is_a_tenth_of_the_whole_window() {
    let now = jiff::Timestamp::now();
    let at = |minutes: i64| {
        (now + jiff::SignedDuration::from_mins(minutes))
            .strftime("%H:%M")
            .to_string()
    };
    let window = format!("{}-{} UTC", at(-50), at(10));
    let out = otscan()
        .args(["scan", "127.0.0.1", "--dry-run", "--window", &window])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let available = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("time available:"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let minutes: u64 = available
        .trim()
        .split('m')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("{available}"));
    assert!(
        (4..=5).contains(&minutes),
        "a 60-minute window keeps 5 minutes of grace: {available}"
    );
    let out = otscan()
        .args(["scan", "127.0.0.1", "--dry-run", "--window", &window])
        .args(["--window-grace", "1h"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--window-grace"));
}
