//! The `--state` fingerprint covers every setting that decides what a target is asked:
//! an interrupted scan resumed with any protocol setting changed is refused (exit 2,
//! nothing sent), in real subprocesses sharing one state file.
//!
//! The flags tried are not a hand-kept list alone: every flag `otscan scan --help`
//! shows under a protocol's heading ("Modbus options", ...) must have a change here,
//! and `--port NAME=N` is tried for every registered protocol, so a new protocol or a
//! new flag without a fingerprint test fails this test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use scanner_core::{Protocol, ProtocolConfigs};

fn otscan() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("otscan"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otscan-state-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A scan of a loopback /16 (every port closed: each address refuses at once), cut
/// short by `--max-duration` so that the state it leaves is unfinished.
fn scan(state: &Path, extra: &[String]) -> Output {
    otscan()
        .args(["scan", "127.63.0.0/16", "--max-duration", "300ms"])
        .args([
            "--rate",
            "1000",
            "--per-device-interval",
            "1ms",
            "--timeout",
            "200ms",
        ])
        .arg("--state")
        .arg(state)
        .args(extra)
        .output()
        .unwrap()
}

/// The flags `otscan scan --help` lists under each protocol's heading.
fn protocol_flags() -> BTreeSet<String> {
    let out = otscan().args(["scan", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let mut flags = BTreeSet::new();
    let mut in_protocol_section = false;
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            in_protocol_section = line.ends_with(" options:");
            continue;
        }
        if !in_protocol_section {
            continue;
        }
        if let Some(flag) = line.trim_start().strip_prefix("--") {
            let name = flag.split([' ', '=']).next().unwrap_or_default();
            flags.insert(format!("--{name}"));
        }
    }
    flags
}

/// A changed value for each protocol flag (anything but its default).
const CHANGES: &[(&str, &[&str])] = &[
    ("--modbus-unit-ids", &["--modbus-unit-ids", "1"]),
    ("--enip-transport", &["--enip-transport", "both"]),
    ("--s7-tsaps", &["--s7-tsaps", "0/3"]),
    ("--bacnet-source-port", &["--bacnet-source-port", "47809"]),
    (
        "--snmp-communities",
        &["--snmp-communities", "public,private"],
    ),
    ("--snmp-version", &["--snmp-version", "2c"]),
    ("--record-community", &["--record-community"]),
    ("--fins-transport", &["--fins-transport", "udp"]),
    ("--fins-source-node", &["--fins-source-node", "1"]),
    ("--melsec-tcp-ports", &["--melsec-tcp-ports", "5007,5002"]),
    ("--melsec-udp-ports", &["--melsec-udp-ports", "none"]),
    ("--fox-max-reply-bytes", &["--fox-max-reply-bytes", "4096"]),
    ("--opcua-no-find-servers", &["--opcua-no-find-servers"]),
    (
        "--ads-sender-net-id",
        &["--ads-sender-net-id", "10.0.0.1.1.1"],
    ),
];

/// A changed value for each flag of a protocol off the default list: checked against a
/// scan with `--probes all` (a default scan does not run the protocol, so its flags are
/// rightly not in that scan's fingerprint).
const OFF_DEFAULT_CHANGES: &[(&str, &[&str])] = &[
    ("--http-favicon", &["--http-favicon"]),
    ("--https-favicon", &["--https-favicon"]),
];

#[test]
fn resuming_with_an_off_default_probe_setting_changed_is_refused() {
    let dir = temp("fingerprint-all");
    let state = dir.join("scan.state");
    let all: Vec<String> = vec!["--probes".into(), "all".into()];
    let first = scan(&state, &all);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let saved = std::fs::read_to_string(&state).unwrap();
    for (what, args) in OFF_DEFAULT_CHANGES {
        let mut changed = all.clone();
        changed.extend(args.iter().map(|a| a.to_string()));
        let out = scan(&state, &changed);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{what}: a resume with it changed must be refused: {stderr}"
        );
        assert!(
            stderr.contains("probes, ports or protocol settings"),
            "{what}: {stderr}"
        );
        assert_eq!(std::fs::read_to_string(&state).unwrap(), saved, "{what}");
    }
    let again = scan(&state, &all);
    assert_eq!(again.status.code(), Some(0), "{again:?}");
}

#[test]
fn resuming_with_any_probe_setting_changed_is_refused() {
    let flags = protocol_flags();
    assert!(
        flags.contains("--modbus-unit-ids") && flags.contains("--snmp-version"),
        "no protocol sections found in --help: {flags:?}"
    );
    let covered: BTreeSet<String> = CHANGES
        .iter()
        .chain(OFF_DEFAULT_CHANGES)
        .map(|(f, _)| f.to_string())
        .collect();
    let missing: Vec<&String> = flags.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "protocol flags without a fingerprint change in this test: {missing:?}"
    );

    let mut changes: Vec<(String, Vec<String>)> = CHANGES
        .iter()
        .map(|(flag, args)| {
            (
                flag.to_string(),
                args.iter().map(|a| a.to_string()).collect(),
            )
        })
        .collect();
    let defaults = ProtocolConfigs::default();
    // The protocols the scan runs (the default list): a port of a protocol off by default
    // changes nothing sent, so it is not in this scan's fingerprint; running it is.
    for &protocol in Protocol::DEFAULT {
        let port = defaults.port(protocol).wrapping_add(1000).max(1);
        changes.push((
            format!("--port {protocol}="),
            vec!["--port".into(), format!("{protocol}={port}")],
        ));
    }
    // A list where the protocol takes one (MELSEC).
    changes.push((
        "--port melsec=5007,5002".into(),
        vec!["--port".into(), "melsec=5007,5002".into()],
    ));
    changes.push((
        "--probes".into(),
        vec!["--probes".into(), "snmp,modbus".into()],
    ));
    changes.push(("--probes all".into(), vec!["--probes".into(), "all".into()]));
    changes.push(("--emit-all".into(), vec!["--emit-all".into()]));
    changes.push(("--no-liveness".into(), vec!["--no-liveness".into()]));

    let dir = temp("fingerprint");
    let state = dir.join("scan.state");
    let first = scan(&state, &[]);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let saved = std::fs::read_to_string(&state).unwrap();
    let json: serde_json::Value = serde_json::from_str(&saved).unwrap();
    let done: u64 = json["checkpoint"]["next"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(done < 65_536, "the first run must stop early: {saved}");
    // Secrets never reach the state file, only how many there are.
    assert!(!saved.contains("public"), "{saved}");

    for (what, args) in &changes {
        let out = scan(&state, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{what}: a resume with it changed must be refused: {stderr}"
        );
        assert!(
            stderr.contains("belongs to a different scan")
                && stderr.contains("probes, ports or protocol settings"),
            "{what}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{what}: nothing is scanned");
        assert_eq!(
            std::fs::read_to_string(&state).unwrap(),
            saved,
            "{what}: a refused run leaves the state as it was"
        );
    }

    // The same command resumes.
    let again = scan(&state, &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("resuming from"), "{stderr}");
}
