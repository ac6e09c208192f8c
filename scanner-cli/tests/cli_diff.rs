//! `otscan diff` in real subprocesses (issue 15, item 12): output that cannot be
//! written is an error with a message, duplicate addresses in one file are reported,
//! a byte-order mark is accepted, and a 100 MB input is streamed in bounded memory.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{otscan, temp};

fn record(ip: &str, firmware: &str, padding: usize) -> String {
    serde_json::json!({
        "schema": "otscan.asset/1", "scan_id": "s", "observed_at": "2026-11-25T10:00:00Z",
        "scanner": {"name": "otscan", "version": "0.1.0"}, "ip": ip, "responsive": true,
        "vendor": "Schneider Electric", "firmware_version": firmware,
        "sources": {"vendor": "modbus"},
        "services": [{"protocol": "modbus", "transport": "tcp", "port": 502,
            "status": "success", "timestamp": "2026-11-25T10:00:00Z", "requests": 3,
            "error": "e".repeat(padding)}]
    })
    .to_string()
}

#[test]
fn diff_reports_write_errors_duplicates_and_accepts_a_bom() {
    let dir = temp("diff-errors");
    let (old, new) = (dir.join("old.jsonl"), dir.join("new.jsonl"));
    std::fs::write(
        &old,
        format!(
            "\u{feff}{}\n{}\n",
            record("10.0.0.1", "v1", 0),
            record("10.0.0.2", "v1", 0)
        ),
    )
    .unwrap();
    std::fs::write(
        &new,
        format!(
            "{}\n{}\n{}\n",
            record("10.0.0.1", "v1", 0),
            record("10.0.0.2", "v1", 0),
            record("10.0.0.1", "v2", 0)
        ),
    )
    .unwrap();
    let out = otscan()
        .args(["diff", "--json"])
        .arg(&old)
        .arg(&new)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "the BOM is accepted: {stderr}");
    assert!(
        stderr.contains("new.jsonl: 1 records repeat an address")
            && stderr.contains("10.0.0.1 at lines 1 and 3"),
        "{stderr}"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "the last record wins: {text}");

    // Standard output is /dev/full: a message and exit 2, not a silent failure.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = otscan()
        .args(["diff", "--json"])
        .arg(&old)
        .arg(&new)
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write the diff"), "{stderr}");

    // Standard output is a pipe whose reader is gone (EPIPE).
    let mut child = otscan()
        .args(["diff", "--json"])
        .arg(&old)
        .arg(&new)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write the diff") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

/// A 100 MB scan (10,000 records of 10 KB) is diffed with the process's data
/// segment capped at 64 MB (`prlimit --data`): only the compared fields of each
/// address are kept, never the whole file's records (main needs about 245 MB).
#[test]
fn a_100_mb_input_is_diffed_in_bounded_memory() {
    let dir = temp("diff-big");
    let big = dir.join("big.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
    let mut size = 0usize;
    let mut i = 0u32;
    while size < 100 << 20 {
        let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        let line = record(&ip, "v1", 10_000) + "\n";
        file.write_all(line.as_bytes()).unwrap();
        size += line.len();
        i += 1;
    }
    file.flush().unwrap();
    drop(file);
    let small = dir.join("small.jsonl");
    std::fs::write(&small, record("10.0.0.0", "v2", 0) + "\n").unwrap();
    let out = std::process::Command::new("prlimit")
        .arg("--data=64000000")
        .arg(assert_cmd::cargo::cargo_bin("otscan"))
        .args(["diff", "--json"])
        .arg(&big)
        .arg(&small)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let changes = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        changes.lines().count() as u32,
        i,
        "one changed, the others disappeared"
    );
    assert!(
        stderr.contains(&format!("{i} devices before, 1 after")),
        "{stderr}"
    );
    std::fs::remove_file(&big).unwrap();
}
