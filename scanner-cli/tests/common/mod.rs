//! Helpers shared by the unattended-run tests: the binary, temporary folders, the
//! records of a run, a simulated plant on loopback, and network namespaces that a
//! test creates (and removes) to inject faults without leaving the machine.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use protocol_fixtures::{Plant, PlantPorts, PlantSpec};

/// The `otscan` binary under test.
pub fn otscan() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("otscan"))
}

/// A fresh temporary folder for one test.
pub fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otscan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The records of NDJSON text: whole lines only, each a JSON object.
pub fn records(text: &[u8]) -> Vec<serde_json::Value> {
    let text = std::str::from_utf8(text).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "a torn last line");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// How many records each address has.
pub fn count_by_ip(records: &[serde_json::Value]) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for r in records {
        *seen
            .entry(r["ip"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    seen
}

/// Every service status of the records, e.g. to prove none is `unknown-error`.
pub fn statuses(records: &[serde_json::Value]) -> Vec<String> {
    records
        .iter()
        .flat_map(|r| r["services"].as_array().cloned().unwrap_or_default())
        .map(|s| s["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The plant's ports for a test: [`PlantPorts::block`] from `first` on.
pub fn ports(first: u16) -> PlantPorts {
    PlantPorts::block(first)
}

/// The `--port` flags that point every probe at `ports`, and fast pacing for loopback.
pub fn scan_flags(ports: &PlantPorts) -> Vec<String> {
    let mut flags = Vec::new();
    for (name, port) in ports.iter() {
        flags.push("--port".to_owned());
        flags.push(format!("{name}={port}"));
    }
    for f in ["--per-device-interval", "5ms", "--timeout", "500ms"] {
        flags.push(f.to_owned());
    }
    flags
}

/// A runtime of the test's own and the mixed plant on `base`/24, served by it.
pub fn runtime_plant(base: Ipv4Addr, ports: PlantPorts) -> (tokio::runtime::Runtime, Plant) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let plant = rt.block_on(async { start_plant(base, ports) });
    (rt, plant)
}

/// Starts `command` with `--report REPORT`, stdout and stderr piped.
pub fn spawn_reporting(command: &mut Command, report: &Path) -> Child {
    command
        .arg("--report")
        .arg(report)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Asserts that no device of `plant` received a frame or a connection.
pub fn assert_nothing_sent(plant: &Plant) {
    assert!(plant.recorder().frames().is_empty(), "nothing was sent");
    for d in plant.devices() {
        assert_eq!(
            plant.recorder().connection_stats(d.spec.ip.into()).accepted,
            0,
            "{} got a connection",
            d.spec.ip
        );
    }
}

/// The mixed plant (Modbus, EtherNet/IP, S7, BACnet, SNMP) on `base`/24.
pub fn start_plant(base: Ipv4Addr, ports: PlantPorts) -> Plant {
    Plant::start(PlantSpec::plant(base, ports)).unwrap()
}

/// A workspace binary next to the test executable (`plant`).
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// `ip ARGS`, true on success.
pub fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A network namespace this test created, with the processes started in it;
/// removed on drop, even when the test fails.
pub struct Netns {
    pub name: String,
    children: Vec<Child>,
}

/// Namespace tests need root and iproute2.
pub fn assert_root_and_iproute2() {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    assert!(
        is_root && ip(&["-V"]),
        "this test creates network namespaces: it needs root and iproute2 (scripts/install-deps.sh)"
    );
}

impl Netns {
    /// Creates the namespace `otscan-<tag><pid>` with its loopback up.
    pub fn new(tag: &str) -> Netns {
        assert_root_and_iproute2();
        let name = format!("otscan-{tag}{}", std::process::id() % 100_000);
        ip(&["netns", "del", &name]);
        assert!(ip(&["netns", "add", &name]), "ip netns add {name}");
        let ns = Netns {
            name,
            children: Vec::new(),
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NS ARGS`, which must succeed.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        assert!(ip(&all), "ip {}", all.join(" "));
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// Starts the `plant` binary inside the namespace on `base` with `ports` and
    /// waits until it is ready.
    pub fn start_plant(&mut self, base: Ipv4Addr, ports: &PlantPorts) {
        let mut child = self
            .command(&workspace_binary("plant"))
            .arg(base.to_string())
            .arg(ports.modbus.to_string())
            .arg("plant")
            .args([ports.enip, ports.snmp, ports.bacnet, ports.s7].map(|p| p.to_string()))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        self.children.push(child);
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            assert!(!line.contains("cannot start"), "{line}");
            if line.contains("plant: ready") {
                return;
            }
        }
        panic!("the plant in {} did not start", self.name);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        ip(&["netns", "del", &self.name]);
    }
}

/// The soft open-files limit of process `pid` (from /proc).
pub fn nofile_soft(pid: u32) -> String {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().to_owned()
}

/// Sets the soft open-files limit of process `pid` (util-linux `prlimit`).
pub fn set_nofile_soft(pid: u32, soft: &str) {
    let ok = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--nofile={soft}:")])
        .status()
        .unwrap()
        .success();
    assert!(ok, "prlimit --pid {pid} --nofile={soft}:");
}

/// Parses a JSON file.
pub fn json_file(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// How many targets a state file counts as done.
pub fn state_done(path: &Path) -> u128 {
    let state = json_file(path);
    let next: u128 = state["checkpoint"]["next"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    next + state["checkpoint"]["done"].as_array().unwrap().len() as u128
}

/// Two namespaces joined by a veth pair (the discovery tests) and the fixture process in
/// one; removed on drop, even when the test fails.
pub struct TestNetwork {
    pub scanner_ns: String,
    pub device_ns: String,
    pub fixture: Option<Child>,
}

impl Drop for TestNetwork {
    fn drop(&mut self) {
        if let Some(mut child) = self.fixture.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Deleting a namespace deletes its end of the veth pair, and so the pair.
        ip(&["netns", "del", &self.scanner_ns]);
        ip(&["netns", "del", &self.device_ns]);
    }
}
