//! `otscan scan` against a simulated plant: NDJSON on stdout, summary on stderr, exit 0.

use std::net::Ipv4Addr;

use assert_cmd::Command;
use protocol_fixtures::{Plant, PlantSpec};

fn records(stdout: &[u8]) -> Vec<serde_json::Value> {
    let text = std::str::from_utf8(stdout).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "whole lines only");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// `otscan scan TARGETS --probes PROBES` with each `--port` override, fast pacing and a
/// 500 ms timeout, run off the runtime so the plant keeps serving.
async fn quick_scan(targets: &str, probes: &str, ports: &[String]) -> std::process::Output {
    let mut args: Vec<String> = ["scan", targets, "--probes", probes]
        .map(str::to_owned)
        .to_vec();
    for port in ports {
        args.extend(["--port".to_owned(), port.clone()]);
    }
    args.extend(
        [
            "--rate",
            "2000",
            "--per-device-interval",
            "5ms",
            "--timeout",
            "500ms",
        ]
        .map(str::to_owned),
    );
    tokio::task::spawn_blocking(move || {
        Command::cargo_bin("otscan")
            .unwrap()
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_prints_one_json_record_per_simulated_device() {
    let plant = Plant::start(PlantSpec::demo(Ipv4Addr::new(127, 65, 0, 0), 15021)).unwrap();
    let out = tokio::task::spawn_blocking(|| {
        Command::cargo_bin("otscan")
            .unwrap()
            .args([
                "scan",
                "127.65.0.0/24",
                "--port",
                "modbus=15021",
                "--rate",
                "2000",
            ])
            .args(["--per-device-interval", "5ms", "--timeout", "500ms"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let recs = records(&out.stdout);
    let mut ips: Vec<&str> = recs.iter().map(|r| r["ip"].as_str().unwrap()).collect();
    ips.sort();
    let expected: Vec<String> = (10..=17)
        .chain([19])
        .map(|h| format!("127.65.0.{h}"))
        .collect();
    assert_eq!(ips, expected);
    let m340 = recs.iter().find(|r| r["ip"] == "127.65.0.10").unwrap();
    assert_eq!(m340["vendor"], "Schneider Electric");
    assert_eq!(m340["product_code"], "BMX P34 2020");
    assert_eq!(m340["firmware_version"], "v3.10");
    assert_eq!(m340["model"], "BMX P34 2020");
    assert_eq!(m340["product_name"], "Modicon M340");
    assert_eq!(m340["schema"], "otscan.asset/1");
    assert_eq!(m340["services"][0]["details"]["modbus"]["unit_id"], 255);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("256 of 256 targets scanned, 9 responsive devices"),
        "{stderr}"
    );

    // --emit-all -o FILE: every address gets a record with each probe's status.
    let dir = std::env::temp_dir().join(format!("otscan-cli-scan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("all.jsonl");
    let file2 = file.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::cargo_bin("otscan")
            .unwrap()
            .args([
                "scan",
                "127.65.0.0/28",
                "--port",
                "modbus=15021",
                "--rate",
                "2000",
            ])
            .args([
                "--per-device-interval",
                "5ms",
                "--timeout",
                "300ms",
                "--emit-all",
                "-o",
            ])
            .arg(&file2)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty(), "records went to the file");
    let all = records(&std::fs::read(&file).unwrap());
    assert_eq!(all.len(), 16);
    let empty = all.iter().find(|r| r["ip"] == "127.65.0.3").unwrap();
    assert_eq!(empty["responsive"], false);
    assert_eq!(empty["services"][0]["status"], "connection-refused");

    // --enrich joins inventory attributes, the most specific entry winning.
    let inventory = dir.join("inventory.csv");
    std::fs::write(
        &inventory,
        "target,asset_number,criticality,zone,owner\n127.65.0.0/24,,medium,Zone 2,OT team\n127.65.0.10,A-1001,high,Zone 2,OT team\n",
    )
    .unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::cargo_bin("otscan")
            .unwrap()
            .args([
                "scan",
                "127.65.0.10-11",
                "--port",
                "modbus=15021",
                "--rate",
                "2000",
            ])
            .args([
                "--per-device-interval",
                "5ms",
                "--timeout",
                "300ms",
                "--enrich",
            ])
            .arg(&inventory)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let recs = records(&out.stdout);
    let plc = recs.iter().find(|r| r["ip"] == "127.65.0.10").unwrap();
    assert_eq!(plc["enrichment"]["asset_number"], "A-1001");
    assert_eq!(plc["enrichment"]["criticality"], "high");
    let coupler = recs.iter().find(|r| r["ip"] == "127.65.0.11").unwrap();
    assert_eq!(coupler["enrichment"]["matched"], "127.65.0.0/24");
    assert_eq!(coupler["enrichment"]["owner"], "OT team");
    assert!(coupler["enrichment"].get("asset_number").is_none());

    // Every output format: one JSON object per line, with its own envelope.
    for (format, check) in [
        ("ocsf", "class_uid"),
        ("ecs", "event"),
        ("hec", "sourcetype"),
    ] {
        let out = tokio::task::spawn_blocking(move || {
            Command::cargo_bin("otscan")
                .unwrap()
                .args([
                    "scan",
                    "127.65.0.10",
                    "--port",
                    "modbus=15021",
                    "--probes",
                    "modbus",
                ])
                .args(["--timeout", "300ms", "--format", format])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let recs = records(&out.stdout);
        assert_eq!(recs.len(), 1, "{format}");
        assert!(recs[0].get(check).is_some(), "{format}: {}", recs[0]);
    }
    plant.shutdown().await;
}

#[test]
fn diff_reports_changes_and_exits_like_diff() {
    let dir = std::env::temp_dir().join(format!("otscan-cli-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let record = |ip: &str, firmware: &str| {
        serde_json::json!({
            "schema": "otscan.asset/1", "scan_id": "s", "observed_at": "2026-11-25T10:00:00Z",
            "scanner": {"name": "otscan", "version": "0.1.0"}, "ip": ip, "responsive": true,
            "vendor": "Schneider Electric", "firmware_version": firmware,
            "sources": {"vendor": "modbus"}, "services": []
        })
        .to_string()
    };
    let old = dir.join("old.jsonl");
    let new = dir.join("new.jsonl");
    std::fs::write(
        &old,
        format!(
            "{}\n{}\n",
            record("10.0.0.1", "v3.10"),
            record("10.0.0.2", "v1")
        ),
    )
    .unwrap();
    std::fs::write(
        &new,
        format!(
            "{}\n{}\n",
            record("10.0.0.1", "v3.20"),
            record("10.0.0.3", "v1")
        ),
    )
    .unwrap();
    let out = Command::cargo_bin("otscan")
        .unwrap()
        .args(["diff", "--json"])
        .arg(&old)
        .arg(&new)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "changes: exit 1 {out:?}");
    let changes = records(&out.stdout);
    let kinds: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| (c["ip"].as_str().unwrap(), c["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("10.0.0.1", "changed"),
            ("10.0.0.2", "disappeared"),
            ("10.0.0.3", "appeared")
        ]
    );
    assert_eq!(
        changes[0]["notable"], true,
        "firmware changed on the same IP"
    );
    let same = Command::cargo_bin("otscan")
        .unwrap()
        .args(["diff"])
        .arg(&old)
        .arg(&old)
        .output()
        .unwrap();
    assert_eq!(same.status.code(), Some(0));
    assert!(same.stdout.is_empty());
    std::fs::write(dir.join("bad.jsonl"), "{}\n").unwrap();
    let bad = Command::cargo_bin("otscan")
        .unwrap()
        .args(["diff"])
        .arg(dir.join("bad.jsonl"))
        .arg(&old)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("line 1"));
}

#[test]
fn completions_and_man_page() {
    let out = Command::cargo_bin("otscan")
        .unwrap()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("otscan"));
    let man = Command::cargo_bin("otscan")
        .unwrap()
        .arg("man")
        .output()
        .unwrap();
    assert!(man.status.success());
    let text = String::from_utf8_lossy(&man.stdout);
    assert!(
        text.contains(".TH otscan"),
        "{}",
        &text[..text.len().min(200)]
    );
}

/// `--probes s7,bacnet` with `--port` overrides: only those probes run, in that order, and the
/// controllers and CPUs of the plant come out identified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_s7_and_bacnet_identify_cpus_and_controllers() {
    let ports = protocol_fixtures::PlantPorts::block(20448);
    let plant = Plant::start(PlantSpec::plant(Ipv4Addr::new(127, 64, 0, 0), ports)).unwrap();
    let out = quick_scan(
        "127.64.0.40-55",
        "s7,bacnet",
        &[
            format!("s7={}", ports.s7),
            format!("bacnet={}", ports.bacnet),
        ],
    )
    .await;
    plant.shutdown().await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let recs = records(&out.stdout);
    assert_eq!(recs.len(), 13, "seven controllers and six CPUs");
    for r in &recs {
        let protocols: Vec<&str> = r["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["protocol"].as_str().unwrap())
            .collect();
        assert_eq!(protocols, ["s7", "bacnet"], "{r}");
    }
    let nae = recs.iter().find(|r| r["ip"] == "127.64.0.40").unwrap();
    assert_eq!(nae["vendor"], "Johnson Controls");
    assert_eq!(nae["vendor_id"]["space"], "bacnet");
    let cpu = recs.iter().find(|r| r["ip"] == "127.64.0.50").unwrap();
    assert_eq!(cpu["product_code"], "6ES7 315-2EH14-0AB0");
    assert_eq!(cpu["device_type"], "plc");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("s7 6, bacnet 7"), "{stderr}");
}

/// `--port melsec=A,B`: a list where MELSEC takes one, tried in order over TCP and UDP; a CPU
/// that answers only on B is found there, and one port is still refused for other protocols.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn melsec_port_list_finds_a_cpu_on_its_second_port() {
    let ports = protocol_fixtures::PlantPorts::block(20480);
    let second = ports.melsec + 1;
    let mut spec = PlantSpec::plant(Ipv4Addr::new(127, 65, 0, 0), ports);
    spec.devices.push(
        protocol_fixtures::DeviceSpec::new(Ipv4Addr::new(127, 65, 0, 97), "plc-on-second-port")
            .with_melsec(
                second,
                protocol_fixtures::MelsecDeviceConfig::new("R08CPU", 0x4801),
            ),
    );
    let plant = Plant::start(spec).unwrap();
    let list = format!("melsec={},{second}", ports.melsec);
    let out = quick_scan("127.65.0.90-97", "melsec", &[list]).await;
    plant.shutdown().await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let recs = records(&out.stdout);
    let by_ip = |ip: &str| recs.iter().find(|r| r["ip"] == ip).unwrap();
    let q03 = by_ip("127.65.0.90");
    assert_eq!(q03["model"], "Q03UDVCPU");
    assert_eq!(q03["services"][0]["port"], ports.melsec);
    let r08 = by_ip("127.65.0.97");
    assert_eq!(r08["model"], "R08CPU");
    assert_eq!(r08["vendor"], "Mitsubishi Electric");
    for service in r08["services"].as_array().unwrap() {
        assert_eq!(service["port"], second, "{service}");
        assert_eq!(service["status"], "success", "{service}");
    }
    let refused = by_ip("127.65.0.94");
    assert_eq!(refused["services"][0]["status"], "application-error");
    assert!(refused["services"][0]["error"]
        .as_str()
        .unwrap()
        .contains("0xc059"));

    let bad = Command::cargo_bin("otscan")
        .unwrap()
        .args(["scan", "127.65.0.1", "--port", "modbus=502,5020"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("modbus takes one port"));
}

/// `--probes ads --port ads=N`: the TwinCAT systems of the plant on a moved discovery port,
/// each named by its AMS NetId, host name, TwinCAT version and OS, and nothing else asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ads_probe_on_a_moved_port_names_twincat_systems() {
    let ports = protocol_fixtures::PlantPorts::block(23104);
    let plant = Plant::start(PlantSpec::plant(Ipv4Addr::new(127, 161, 0, 0), ports)).unwrap();
    let port = format!("ads={}", ports.ads);
    let out = quick_scan("127.161.0.110-114", "ads", &[port]).await;
    plant.shutdown().await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let recs = records(&out.stdout);
    assert_eq!(recs.len(), 5, "{recs:?}");
    for r in &recs {
        assert_eq!(r["vendor"], "Beckhoff", "{r}");
        assert_eq!(r["device_type"], "plc", "{r}");
        let services = r["services"].as_array().unwrap();
        assert_eq!(services.len(), 1, "{r}");
        assert_eq!(services[0]["protocol"], "ads");
        assert_eq!(services[0]["port"], ports.ads);
        assert_eq!(services[0]["requests"], 1);
    }
    let by_ip = |ip: &str| recs.iter().find(|r| r["ip"] == ip).unwrap();
    let cx = by_ip("127.161.0.110");
    assert_eq!(cx["hostname"], "CX-2DDB6E");
    assert_eq!(cx["firmware_version"], "3.1.4024");
    let ads = &cx["services"][0]["details"]["ads"];
    assert_eq!(ads["ams_net_id"], "5.45.219.110.1.1");
    assert_eq!(ads["os_version"]["platform"], "Windows CE");
    assert_eq!(ads["fingerprint"]["text"].as_str().unwrap().len(), 64);
    let tc2 = by_ip("127.161.0.113");
    assert_eq!(tc2["firmware_version"], "2.11.2305");
    assert!(tc2["services"][0]["details"]["ads"]["fingerprint"].is_null());
    let bsd = &by_ip("127.161.0.112")["services"][0]["details"]["ads"]["os_version"];
    assert_eq!(bsd["platform"], "TwinCAT/BSD");
    assert_eq!(bsd["extra_hex"], "31332e3200000000");
}

/// Two runs of `otscan scan --probes profinet` against one CM port send different
/// activity UUIDs (DCE/RPC servers keep an activity's last sequence number for a while,
/// and a repeated activity and sequence number may be taken for a retransmission): the
/// correlation in time-low, a nonce of the process beside it, node `otscan`. The port is
/// a socket of the test's that records each lookup and answers none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_profinet_runs_send_different_activity_uuids() {
    let device = tokio::net::UdpSocket::bind("127.162.9.1:0").await.unwrap();
    let port = format!("profinet={}", device.local_addr().unwrap().port());
    let mut activities = Vec::new();
    for _ in 0..2 {
        let out = quick_scan("127.162.9.1", "profinet", std::slice::from_ref(&port)).await;
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let mut run = Vec::new();
        let mut buf = [0u8; 512];
        while let Ok(n) = device.try_recv(&mut buf) {
            assert!(n >= 80, "a whole DCE/RPC header: {:02x?}", &buf[..n]);
            // Activity UUID at 40..56, little-endian fields (data representation 0x10).
            assert_eq!(buf[4], 0x10);
            run.push(<[u8; 16]>::try_from(&buf[40..56]).unwrap());
        }
        assert!(!run.is_empty(), "the run sent no lookup");
        for a in &run {
            assert_eq!(a[4..], run[0][4..], "one nonce in a run: {run:02x?}");
            assert_eq!(&a[10..], b"otscan", "node otscan: {a:02x?}");
            assert_eq!(a[7] & 0xf0, 0x40, "version 4: {a:02x?}");
            assert_eq!(a[8] & 0xc0, 0x80, "RFC 4122 variant: {a:02x?}");
        }
        activities.push(run);
    }
    assert_eq!(
        activities[0][0][..4],
        activities[1][0][..4],
        "each run's first try has the same correlation"
    );
    assert_ne!(
        activities[0][0], activities[1][0],
        "the second run repeated the first run's activity UUID"
    );
}

/// `--probes profinet --port profinet=N`: the PROFINET devices of the plant on a moved CM
/// port, each named by its annotation (device type, order number, software revision), a
/// fault named by its status, and one lookup per device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profinet_lookup_on_a_moved_port_reads_annotations() {
    let ports = protocol_fixtures::PlantPorts::block(23136);
    let plant = Plant::start(PlantSpec::plant(Ipv4Addr::new(127, 162, 0, 0), ports)).unwrap();
    let port = format!("profinet={}", ports.profinet);
    let out = quick_scan("127.162.0.130-135", "profinet", &[port]).await;
    plant.shutdown().await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let recs = records(&out.stdout);
    assert_eq!(recs.len(), 6, "{recs:?}");
    for r in &recs {
        let services = r["services"].as_array().unwrap();
        assert_eq!(services.len(), 1, "{r}");
        assert_eq!(services[0]["protocol"], "profinet");
        assert_eq!(services[0]["port"], ports.profinet);
        assert_eq!(services[0]["requests"], 1);
    }
    let by_ip = |ip: &str| recs.iter().find(|r| r["ip"] == ip).unwrap();
    let cpu = by_ip("127.162.0.130");
    assert_eq!(cpu["vendor"], "Siemens");
    assert_eq!(cpu["model"], "S7-1500");
    assert_eq!(cpu["product_code"], "6ES7 516-3AN01-0AB0");
    assert_eq!(cpu["firmware_version"], "V2.9.2");
    assert_eq!(cpu["device_type"], "plc");
    assert_eq!(cpu["vendor_id"]["space"], "profinet");
    assert_eq!(cpu["vendor_id"]["id"], 0x2a);
    let pn = &cpu["services"][0]["details"]["profinet"];
    assert_eq!(pn["hardware_revision"], 3);
    assert_eq!(pn["device_id"], 0x010e);
    assert_eq!(by_ip("127.162.0.131")["device_type"], "io");
    assert_eq!(by_ip("127.162.0.132")["device_type"], "switch");
    let drive = by_ip("127.162.0.134");
    assert_eq!(drive["device_type"], "drive");
    assert_eq!(drive["firmware_version"], "V4.7.10");
    let pnet = by_ip("127.162.0.133");
    assert!(pnet["vendor"].is_null(), "{pnet}");
    assert_eq!(pnet["firmware_version"], "R0.2.0");
    let fault = &by_ip("127.162.0.135")["services"][0];
    assert_eq!(fault["status"], "application-error");
    assert_eq!(fault["error"], "ept_lookup fault nca_s_unk_if (0x1c010003)");
}
