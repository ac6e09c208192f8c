//! Silent addresses (issue 16): in a network where most addresses answer nothing (no RST,
//! no ICMP), an address costs one packet per configured probe and transport, counted on
//! the wire; a device next to them, and a device that answers only with RST and ICMP
//! port unreachable, get exactly what they get without the liveness phase.
//!
//! The silent range is built by `benches/silent-net.sh` (shared with the benches) inside
//! a namespace this test creates; only loopback-range addresses, nothing leaves the
//! machine. Needs root and iproute2: skipped, saying why, otherwise (CI runs as root).

mod common;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

use common::{ip, records, Netns};
use protocol_fixtures::PlantPorts;

/// The silent range of these tests, and the plant's base (its devices on loopback).
const SILENT: &str = "127.206.0.0/24";
const PLANT: Ipv4Addr = Ipv4Addr::new(127, 207, 0, 0);
/// An address of the namespace's loopback with nothing bound: RST and port unreachable.
const REFUSING: &str = "127.208.0.9";

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../benches/silent-net.sh")
}

fn can_run() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !(root && ip(&["-V"])) {
        eprintln!(
            "skipped: this test builds a silent network in namespaces it creates \
             (benches/silent-net.sh): it needs root and iproute2"
        );
        return false;
    }
    true
}

/// The silent network on top of a test namespace; both namespaces removed on drop.
struct SilentNet {
    ns: Netns,
}

impl SilentNet {
    fn up(tag: &str) -> SilentNet {
        let ns = Netns::new(tag);
        let status = Command::new(script())
            .args(["up", &ns.name, SILENT])
            .status()
            .unwrap();
        assert!(status.success(), "silent-net.sh up");
        SilentNet { ns }
    }

    /// Packets sent into the silent range so far (the veth's transmit counter).
    fn packets(&self) -> u64 {
        let out = Command::new(script())
            .args(["count", &self.ns.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// `otscan scan TARGETS --emit-all` in the namespace with `ports` and `extra`; the
    /// records by address.
    fn scan(
        &self,
        targets: &[&str],
        ports: &PlantPorts,
        extra: &[&str],
    ) -> BTreeMap<String, serde_json::Value> {
        let mut command = self.ns.command(&assert_cmd::cargo::cargo_bin("otscan"));
        command
            .arg("scan")
            .args(targets)
            .args(["--emit-all", "--format", "native", "--rate", "1000"])
            // A 2 s connect timeout: a silent SYN must still go out once only.
            .args(["--per-device-interval", "10ms", "--timeout", "2s"]);
        for (name, port) in ports.iter() {
            command.arg("--port").arg(format!("{name}={port}"));
        }
        let out = command.args(extra).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        records(&out.stdout)
            .into_iter()
            .map(|r| (r["ip"].as_str().unwrap().to_owned(), r))
            .collect()
    }
}

impl Drop for SilentNet {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["down", &self.ns.name])
            .status();
    }
}

/// The plant binary's ports: the five it takes on its command line from a block above
/// 24000, its registered ones for the rest.
fn plant_ports() -> PlantPorts {
    let mut ports = PlantPorts::default();
    for (name, port) in [
        ("modbus", 24502),
        ("enip", 24818),
        ("snmp", 24161),
        ("bacnet", 24808),
        ("s7", 24102),
    ] {
        ports.set(name, port);
    }
    ports
}

/// What a record's services say, timestamps and round trips aside.
fn services(record: &serde_json::Value) -> Vec<String> {
    record["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {} {} {} requests={} error={}",
                s["protocol"], s["transport"], s["port"], s["status"], s["requests"], s["error"]
            )
        })
        .collect()
}

#[test]
fn silent_addresses_cost_one_packet_per_probe_and_devices_beside_them_keep_their_records() {
    if !can_run() {
        return;
    }
    let ports = plant_ports();
    let mut net = SilentNet::up("silent");
    net.ns.start_plant(PLANT, &ports);
    let silent: Vec<String> = (1..=16).map(|i| format!("127.206.0.{i}")).collect();
    // A device of each protocol family next to them.
    let devices: Vec<String> = [10, 20, 30, 40, 50, 60, 71, 80, 93]
        .iter()
        .map(|h| format!("127.207.0.{h}"))
        .collect();
    let mut targets: Vec<&str> = silent.iter().map(String::as_str).collect();
    targets.extend(devices.iter().map(String::as_str));

    let before = net.packets();
    let with = net.scan(&targets, &ports, &[]);
    let on_the_wire = net.packets() - before;

    // Every configured probe's first packet on each transport: a SYN for Modbus,
    // EtherNet/IP, S7, OPC UA, Fox, MELSEC and HART-IP, a datagram for FINS (its fallback
    // to TCP runs only after an answer), MELSEC, KNX, ADS, PROFINET, CODESYS, BACnet and SNMP.
    let per_address: u64 = 15;
    assert_eq!(
        on_the_wire,
        per_address * silent.len() as u64,
        "exactly one packet per probe and transport per silent address, kernel retransmissions included"
    );
    for ip in &silent {
        let record = &with[ip];
        assert_eq!(record["responsive"], false, "{record}");
        let services = record["services"].as_array().unwrap();
        assert_eq!(services.len() as u64, per_address, "{record}");
        for s in services {
            assert_eq!(s["requests"], 1, "{record}");
            let expected = if s["transport"] == "tcp" {
                "connection-timeout"
            } else {
                "io-timeout"
            };
            assert_eq!(s["status"], expected, "{record}");
        }
    }

    // The devices: what they get does not depend on the liveness phase at all.
    let device_targets: Vec<&str> = devices.iter().map(String::as_str).collect();
    let without = net.scan(&device_targets, &ports, &["--no-liveness"]);
    for ip in &devices {
        assert_eq!(with[ip]["responsive"], true, "{ip}: {}", with[ip]);
        assert_eq!(
            services(&with[ip]),
            services(&without[ip]),
            "{ip}: the same services, statuses and request counts with and without the phase"
        );
    }
}

#[test]
fn a_device_answering_only_with_rst_and_icmp_keeps_today_s_behaviour() {
    if !can_run() {
        return;
    }
    let net = SilentNet::up("refusing");
    let ports = plant_ports();
    let with = net.scan(&[REFUSING], &ports, &[]);
    let without = net.scan(&[REFUSING], &ports, &["--no-liveness"]);
    let (with, without) = (&with[REFUSING], &without[REFUSING]);
    assert_eq!(services(with), services(without));
    let statuses: Vec<&str> = with["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == "connection-refused"),
        "{statuses:?}"
    );
    // FINS's fallback to TCP ran: the refusal is a sign of life.
    assert!(
        with["services"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["protocol"] == "fins" && s["transport"] == "tcp"),
        "{with}"
    );
}
