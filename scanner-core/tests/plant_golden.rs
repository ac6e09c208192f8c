//! Golden files of every output format from one scan of the simulated mixed plant.
//!
//! Only what varies between runs is normalised (scan id, timestamps, round-trip
//! times); everything the devices said and every status must match the files exactly.
//! Regenerate after a deliberate change with
//! `OTSCAN_UPDATE_GOLDEN=1 cargo test -p scanner-core --test plant_golden`.

use std::net::Ipv4Addr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;

mod common;
use protocol_fixtures::{Plant, PlantPorts, PlantSpec};
use scanner_core::output::{encode_line, Format, OutputMeta};
use scanner_core::protocols::enip::{EnipConfig, EnipTransport};
use scanner_core::{AssetRecord, Rate, ScanConfig, Scanner, Targets};

const PORTS: PlantPorts = PlantPorts::block(20256);

fn normalise(record: &mut AssetRecord) {
    let fixed: jiff::Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
    record.scan_id = "golden".into();
    record.observed_at = fixed;
    for service in &mut record.services {
        service.timestamp = fixed;
        service.rtt_ms = service.rtt_ms.map(|_| 1.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_of_a_plant_scan_matches_its_golden_file() {
    let plant = Plant::start(PlantSpec::plant(Ipv4Addr::new(127, 86, 0, 0), PORTS)).unwrap();
    let builder = ScanConfig::builder()
        .targets(Targets::parse(["127.86.0.0/24"]).unwrap())
        .rate(Rate::per_second(5000).unwrap())
        .per_device_interval(Duration::from_millis(5))
        .concurrency(NonZeroUsize::new(128).unwrap())
        .timeout(Duration::from_millis(400))
        .enip(EnipConfig {
            transport: EnipTransport::Both,
            ..EnipConfig::default()
        });
    let config = common::at_plant_ports(builder, PORTS).build().unwrap();
    let mut records: Vec<AssetRecord> = Scanner::new(config).scan().collect().await;
    plant.shutdown().await;
    records.sort_by_key(|r| r.ip);
    records.iter_mut().for_each(normalise);
    let meta = OutputMeta {
        product_version: "0.0.0-golden".into(),
        scanner_hostname: None,
        ..OutputMeta::default()
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden");
    for format in [Format::Native, Format::Ocsf, Format::Ecs, Format::Hec] {
        let text: String = records
            .iter()
            .map(|r| encode_line(r, format, &meta) + "\n")
            .collect();
        let path = dir.join(format!("plant-{format}.jsonl"));
        if std::env::var_os("OTSCAN_UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        for (i, (w, g)) in want.lines().zip(text.lines()).enumerate() {
            assert_eq!(w, g, "{} line {} differs", path.display(), i + 1);
        }
        assert_eq!(
            want.lines().count(),
            text.lines().count(),
            "{}: record count (rerun with OTSCAN_UPDATE_GOLDEN=1 if deliberate)",
            path.display()
        );
    }
}
