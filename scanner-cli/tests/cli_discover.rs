//! `otscan discover --enip`: one ListIdentity broadcast on a real (virtual) Ethernet
//! segment. The test builds its own network: two network namespaces joined by a veth
//! pair (10.250.0.0/24 exists only inside them), a simulated ControlLogix listening on
//! 0.0.0.0:44818 in one, otscan in the other. Nothing leaves the namespaces.

use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::{ip, workspace_binary, TestNetwork};

fn must(args: &[&str]) {
    assert!(ip(args), "ip {} failed", args.join(" "));
}

#[test]
fn broadcast_list_identity_finds_the_device_on_the_segment() {
    common::assert_root_and_iproute2();
    let tag = std::process::id() % 100_000;
    let mut net = TestNetwork {
        scanner_ns: format!("otscan-s{tag}"),
        device_ns: format!("otscan-d{tag}"),
        fixture: None,
    };
    let (vs, vd) = (format!("ots{tag}"), format!("otd{tag}"));
    must(&["netns", "add", &net.scanner_ns]);
    must(&["netns", "add", &net.device_ns]);
    must(&["link", "add", &vs, "type", "veth", "peer", "name", &vd]);
    must(&["link", "set", &vs, "netns", &net.scanner_ns]);
    must(&["link", "set", &vd, "netns", &net.device_ns]);
    for (ns, dev, addr) in [
        (&net.scanner_ns, &vs, "10.250.0.1/24"),
        (&net.device_ns, &vd, "10.250.0.2/24"),
    ] {
        must(&["-n", ns, "addr", "add", addr, "brd", "+", "dev", dev]);
        must(&["-n", ns, "link", "set", dev, "up"]);
        must(&["-n", ns, "link", "set", "lo", "up"]);
    }

    let plant = workspace_binary("plant");
    net.fixture = Some(
        Command::new("ip")
            .args(["netns", "exec", &net.device_ns])
            .arg(&plant)
            .args(["0.0.0.0", "0", "netns-enip", "44818"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));

    let otscan = assert_cmd::cargo::cargo_bin("otscan");
    let out = Command::new("ip")
        .args(["netns", "exec", &net.scanner_ns])
        .arg(&otscan)
        .args(["discover", "--enip", "--interface", &vs, "--wait", "2s"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("one ListIdentity to 10.250.0.255:44818"),
        "{stderr}"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "one device on the segment: {lines:?}");
    let record = &lines[0];
    assert_eq!(record["ip"], "10.250.0.2");
    // ODVA's "Rockwell Automation/Allen-Bradley", canonical; vendor and serial are its id.
    assert_eq!(record["vendor"], "Rockwell Automation");
    assert_eq!(record["asset_id"], "serial:rockwell-automation:006C061A");
    assert_eq!(record["product_name"], "1756-L61/B LOGIX5561");
    assert_eq!(record["serial_number"], "006C061A");
    assert_eq!(record["services"][0]["transport"], "udp");
    assert_eq!(record["services"][0]["requests"], 1);

    // An interface without IPv4 broadcast is a usage error naming it.
    let out = Command::new("ip")
        .args(["netns", "exec", &net.scanner_ns])
        .arg(&otscan)
        .args(["discover", "--enip", "--interface", "lo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'lo'"));
}
