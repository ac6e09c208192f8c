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
    let expected: Vec<String> = (10..=17).map(|h| format!("127.65.0.{h}")).collect();
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
        stderr.contains("256 of 256 targets scanned, 8 responsive devices"),
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
    plant.shutdown().await;
}
