//! Local failures are not device results (issue 15, item 1), in real `otscan`
//! subprocesses against a simulated plant on loopback:
//! - the open-files limit: raised toward the hard limit at start, a concurrency it
//!   cannot carry refused (exit 2, nothing sent), and descriptors running out in the
//!   middle of a run (`prlimit --pid`) retried, never recorded as `unknown-error`;
//! - no route (a `throw` route) and a host-raised "no route to host" (an
//!   `unreachable` route) inside a network namespace the test creates: the run stops
//!   with exit 71 and a one-line reason, records and checkpoints only what finished,
//!   and the next run completes the inventory with every device exactly once;
//! - a `--bacnet-source-port` held by another socket: refused before sending.

mod common;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_files_limit_is_raised_checked_and_survived() {
    let ports = ports(20480);
    let plant = start_plant(Ipv4Addr::new(127, 96, 0, 0), ports);
    let flags = scan_flags(&ports);
    let run = |shell: String| {
        let flags = flags.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "{shell}; exec \"$0\" scan 127.96.0.0/24 --rate 2000 --concurrency 512 \"$@\""
                ))
                .arg(assert_cmd::cargo::cargo_bin("otscan"))
                .args(flags)
                .output()
                .unwrap()
        })
    };
    // The baseline: what the plant shows without any limit.
    let full = run("true".into()).await.unwrap();
    assert_eq!(full.status.code(), Some(0), "{full:?}");
    let expected = count_by_ip(&records(&full.stdout));
    assert!(expected.len() >= 30, "{expected:?}");

    // Hard limit 64: 512 devices at once cannot be carried. Refused, nothing sent.
    plant.recorder().clear();
    let out = run("ulimit -n 64".into()).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--concurrency 512") && stderr.contains("open-files limit is 64"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert_nothing_sent(&plant);

    // Soft limit 64 under a higher hard limit: raised at start, every device found.
    let out = run("ulimit -Sn 64".into()).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let found = records(&out.stdout);
    assert_eq!(count_by_ip(&found), expected);
    assert!(!statuses(&found).iter().any(|s| s == "unknown-error"));

    // Descriptors run out in the middle of a run (the soft limit lowered below what
    // the process holds, for half a second): the targets hit are retried later in
    // the run, none is recorded with the host's error, each gets exactly one record.
    let dir = temp("local-emfile");
    let report = dir.join("report.json");
    let mut child = spawn_reporting(
        otscan()
            .args(["scan", "127.96.0.0/23", "--rate", "400", "--emit-all"])
            .args(&flags),
        &report,
    );
    let pid = child.id();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let soft = nofile_soft(pid);
    set_nofile_soft(pid, "3");
    tokio::time::sleep(Duration::from_millis(500)).await;
    set_nofile_soft(pid, &soft);
    let stdout = child.stdout.take().unwrap();
    let out = tokio::task::spawn_blocking(move || {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut std::io::BufReader::new(stdout), &mut text).unwrap();
        (text, child.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    let (stdout, out) = out;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let all = records(&stdout);
    let by_ip = count_by_ip(&all);
    assert_eq!(by_ip.len(), 512, "every target once");
    assert!(by_ip.values().all(|n| *n == 1), "no target twice");
    assert!(
        !statuses(&all).iter().any(|s| s == "unknown-error"),
        "the host's error is no device's status"
    );
    let responsive: BTreeMap<String, usize> = all
        .iter()
        .filter(|r| r["responsive"] == true)
        .map(|r| (r["ip"].as_str().unwrap().to_owned(), 1))
        .collect();
    assert_eq!(responsive, expected, "every device found");
    let report = json_file(&report);
    assert!(
        report["targets"]["local_retries"].as_u64().unwrap() > 0,
        "the fault was injected: {report}"
    );
    assert_eq!(report["stopped_by"], serde_json::Value::Null);
    plant.shutdown().await;
}

#[test]
fn no_route_stops_the_run_and_the_next_run_completes_the_inventory() {
    let ports = ports(20512);
    let mut ns = Netns::new("noroute");
    ns.start_plant(Ipv4Addr::new(127, 97, 0, 0), &ports);
    let dir = temp("local-noroute");
    let (state, output, report) = (
        dir.join("plant.state"),
        dir.join("assets.jsonl"),
        dir.join("report.json"),
    );
    let otscan_bin = assert_cmd::cargo::cargo_bin("otscan");
    let scan = |extra: &[&str]| {
        ns.command(&otscan_bin)
            .args(["scan", "127.97.0.0/24", "--rate", "2000"])
            .args(scan_flags(&ports))
            .arg("--state")
            .arg(&state)
            .arg("-o")
            .arg(&output)
            .arg("--report")
            .arg(&report)
            .args(extra)
            .output()
            .unwrap()
    };
    let error_lines = |stderr: &str| {
        stderr
            .lines()
            .filter(|l| l.starts_with("otscan: error:"))
            .count()
    };

    // The route to the devices is gone (as when the OT interface is down): connect
    // fails with ENETUNREACH on the host. Exit 71, nothing recorded or done.
    ns.ip(&["route", "add", "throw", "127.97.0.0/24", "table", "local"]);
    let out = scan(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(71), "{stderr}");
    assert_eq!(error_lines(&stderr), 1, "{stderr}");
    assert!(stderr.contains("Network is unreachable"), "{stderr}");
    assert!(records(&std::fs::read(&output).unwrap()).is_empty());
    assert_eq!(state_done(&state), 0, "no target counted as done");
    let r = json_file(&report);
    assert_eq!(r["stopped_by"], "local-failure");
    assert_eq!(r["targets"]["scanned"], 0);
    ns.ip(&["route", "del", "throw", "127.97.0.0/24", "table", "local"]);

    // The host's routing table refuses half the range (EHOSTUNREACH raised locally):
    // what finished is recorded and counted, the rest is left for the next run.
    ns.ip(&[
        "route",
        "add",
        "unreachable",
        "127.97.0.128/25",
        "table",
        "local",
    ]);
    let out = scan(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(71), "{stderr}");
    assert_eq!(error_lines(&stderr), 1, "{stderr}");
    assert!(stderr.contains("No route to host"), "{stderr}");
    let first = records(&std::fs::read(&output).unwrap());
    assert!(!statuses(&first)
        .iter()
        .any(|s| s == "unknown-error" || s == "stopped"));
    let r = json_file(&report);
    let scanned = r["targets"]["scanned"].as_u64().unwrap();
    assert!(scanned < 256, "{r}");
    assert_eq!(state_done(&state), u128::from(scanned), "{r}");
    ns.ip(&[
        "route",
        "del",
        "unreachable",
        "127.97.0.128/25",
        "table",
        "local",
    ]);

    // The route is back: the same command finishes the inventory.
    let out = scan(&[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let all = records(&std::fs::read(&output).unwrap());
    let by_ip = count_by_ip(&all);
    assert!(
        by_ip.values().all(|n| *n == 1),
        "no device twice: {by_ip:?}"
    );
    // The same devices as a scan that never met a fault.
    let fresh = ns
        .command(&otscan_bin)
        .args(["scan", "127.97.0.0/24", "--rate", "2000"])
        .args(scan_flags(&ports))
        .output()
        .unwrap();
    assert_eq!(count_by_ip(&records(&fresh.stdout)), by_ip);
    assert!(by_ip.len() >= 30, "{by_ip:?}");
}

#[test]
fn a_bacnet_source_port_in_use_is_refused_before_sending() {
    let port = 47_900 + (std::process::id() % 90) as u16;
    let holder = std::net::UdpSocket::bind(("0.0.0.0", port)).unwrap();
    let out = otscan()
        .args(["scan", "127.98.0.1", "--probes", "bacnet", "--emit-all"])
        .args(["--bacnet-source-port", &port.to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("--bacnet-source-port {port}")),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no record");
    drop(holder);
}
