//! `otscan discover --profinet`: one PROFINET DCP Identify All on a real (virtual) Ethernet
//! segment. The test builds its own network: two network namespaces joined by a veth pair
//! (no IP addresses: DCP is layer 2), the `dcp-responder` fixture in one answering for two
//! stations (an ET 200SP and an S7-1500, by their own MACs) plus a reply with another xid and
//! a hostile one, otscan in the other. Frames exist only inside the namespaces.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod common;

use common::{ip, workspace_binary, TestNetwork};

fn must(args: &[&str]) {
    assert!(ip(args), "ip {} failed", args.join(" "));
}

/// The two namespaces joined by a veth pair, both ends up; `None` (with the reason
/// printed) where this host cannot create network namespaces.
fn network(tag: u32) -> Option<(TestNetwork, String, String)> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let net = TestNetwork {
        scanner_ns: format!("otscan-ps{tag}"),
        device_ns: format!("otscan-pd{tag}"),
        fixture: None,
    };
    if !is_root || !ip(&["netns", "add", &net.scanner_ns]) {
        eprintln!("skipped: cannot create a network namespace here (needs root and iproute2)");
        return None;
    }
    must(&["netns", "add", &net.device_ns]);
    let (vs, vd) = (format!("otps{tag}"), format!("otpd{tag}"));
    must(&["link", "add", &vs, "type", "veth", "peer", "name", &vd]);
    must(&["link", "set", &vs, "netns", &net.scanner_ns]);
    must(&["link", "set", &vd, "netns", &net.device_ns]);
    for (ns, dev) in [(&net.scanner_ns, &vs), (&net.device_ns, &vd)] {
        must(&["-n", ns, "link", "set", dev, "up"]);
        must(&["-n", ns, "link", "set", "lo", "up"]);
    }
    Some((net, vs, vd))
}

/// tshark capturing EtherType 0x8892 on the scanner's end of the pair into a file, once
/// it says it is capturing; `None` (with the reason printed) without tshark.
fn start_capture(net: &TestNetwork, interface: &str, file: &Path) -> Option<Child> {
    if !Command::new("tshark")
        .arg("-v")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("tshark check skipped: no tshark (scripts/install-deps.sh installs it)");
        return None;
    }
    let mut child = Command::new("ip")
        .args(["netns", "exec", &net.scanner_ns, "tshark", "-i", interface])
        .args(["-n", "-f", "ether proto 0x8892", "-w"])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    assert!(
        lines
            .by_ref()
            .map_while(Result::ok)
            .any(|l| l.contains("Capturing on")),
        "tshark did not start capturing"
    );
    // Keep draining its stderr (packet counts) so that it never blocks.
    std::thread::spawn(move || lines.for_each(drop));
    Some(child)
}

/// Stops the capture (SIGINT: tshark writes what it has) and dissects it with `pn_dcp`:
/// one `service_id service_type eth.dst eth.src` line per DCP frame.
fn dissect(mut child: Child, file: &Path) -> Vec<String> {
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-n", "-Y", "pn_dcp", "-T", "fields"])
        .args(["-e", "pn_dcp.service_id", "-e", "pn_dcp.service_type"])
        .args(["-e", "eth.dst", "-e", "eth.src"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn dcp_identify_all_finds_two_stations_and_survives_hostile_replies() {
    let tag = std::process::id() % 100_000;
    let Some((mut net, vs, vd)) = network(tag) else {
        return;
    };
    let responder = workspace_binary("dcp-responder");
    net.fixture = Some(
        Command::new("ip")
            .args(["netns", "exec", &net.device_ns])
            .arg(&responder)
            .arg(&vd)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(700));
    let pcap = std::env::temp_dir().join(format!("otscan-dcp-{tag}.pcapng"));
    let capture = start_capture(&net, &vs, &pcap);

    let otscan = assert_cmd::cargo::cargo_bin("otscan");
    let run = |prefix: &[&str], interface: &str| {
        Command::new("ip")
            .args(["netns", "exec", &net.scanner_ns])
            .args(prefix)
            .arg(&otscan)
            .args(["discover", "--profinet", "--interface", interface])
            .args(["--wait", "2s"])
            .output()
            .unwrap()
    };

    // Without CAP_NET_RAW: one line naming the capability, exit 2, nothing sent.
    let out = run(
        &["setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw"],
        &vs,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("CAP_NET_RAW"), "{stderr}");
    assert!(out.stdout.is_empty());
    // An unknown interface: one line naming --interface, exit 2, nothing sent.
    let out = run(&[], "nosuch0");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--interface nosuch0"), "{stderr}");

    let out = run(&[], &vs);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("2 stations answered, 2 replies ignored"),
        "{stderr}"
    );
    assert!(stderr.contains("response delay 100 x 10 ms"), "{stderr}");
    assert!(
        stderr.contains("from 02:00:00:00:00:30 with xid"),
        "the other xid's reply is a warning: {stderr}"
    );
    assert!(
        stderr.contains("frame from 02:00:00:00:00:66: block 0x02/0x02 declares 1024 bytes"),
        "the hostile reply is a warning: {stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    println!("{stdout}");
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{records:?}");
    let (io, plc) = (&records[0], &records[1]);
    assert_eq!(io["ip"], "10.250.0.10");
    assert_eq!(io["mac"], "02:00:00:00:00:10");
    assert_eq!(io["hostname"], "et200sp-cell3");
    assert_eq!(io["model"], "ET200SP");
    assert_eq!(
        io["vendor_id"],
        serde_json::json!({"space": "profinet", "id": 42})
    );
    let service = &io["services"][0];
    assert_eq!(service["protocol"], "profinet");
    assert_eq!(service["transport"], "ethernet");
    assert_eq!(service["requests"], 1);
    let details = &service["details"]["profinet"];
    assert_eq!(details["device_id"], 0x0313);
    assert_eq!(details["dcp"]["roles"], serde_json::json!(["IO device"]));
    assert_eq!(details["dcp"]["mask"], "255.255.255.0");
    assert_eq!(details["dcp"]["gateway"], "10.250.0.1");
    assert_eq!(plc["ip"], "10.250.0.20");
    assert_eq!(plc["mac"], "02:00:00:00:00:20");
    assert_eq!(plc["hostname"], "plc-line2");
    assert_eq!(plc["model"], "S7-1500");
    assert_eq!(plc["device_type"], "plc");
    assert_eq!(
        plc["services"][0]["details"]["profinet"]["device_id"],
        0x010e
    );

    // tshark's pn_dcp dissector, independently: one request (service 5 Identify, type 0)
    // to the multicast address over all three runs, the rest the fixture's responses
    // (type 1) to the scanner.
    if let Some(child) = capture {
        let frames = dissect(child, &pcap);
        eprintln!("tshark pn_dcp: {frames:?}");
        let _ = std::fs::remove_file(&pcap);
        let requests: Vec<&String> = frames.iter().filter(|f| !f.starts_with("5 1 ")).collect();
        assert_eq!(requests.len(), 1, "{frames:?}");
        assert!(
            requests[0].starts_with("5 0 01:0e:cf:00:00:00 "),
            "{frames:?}"
        );
        assert_eq!(frames.len(), 5, "one request, four responses: {frames:?}");
    }

    // Exactly one DCP frame reached the segment: the Identify All, to the multicast
    // address, with the response delay set.
    let mut child = net.fixture.take().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let mut seen = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut seen)
        .unwrap();
    let frames: Vec<&str> = seen.lines().collect();
    assert_eq!(frames.len(), 1, "{seen}");
    assert!(
        frames[0].starts_with("dcp frame_id=0xfefe service=5 type=0 ")
            && frames[0].contains(" delay=100 dst=01:0e:cf:00:00:00 identify_all=true"),
        "{seen}"
    );
}
