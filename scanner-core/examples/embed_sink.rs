//! Embed the scanner: a custom sink, a progress watcher and a cancellation token.
//!
//! `cargo run -p scanner-core --example embed_sink`: scans the simulated plant on
//! 127.79.0.0/24, keeps only PLCs in an in-memory inventory, shows progress, and
//! cancels the scan as soon as three PLCs are known.

use std::net::Ipv4Addr;

use futures::StreamExt;
use protocol_fixtures::{Plant, PlantPorts, PlantSpec};
use scanner_core::protocols::bacnet::BacnetConfig;
use scanner_core::protocols::enip::EnipConfig;
use scanner_core::protocols::modbus::ModbusConfig;
use scanner_core::protocols::s7::S7Config;
use scanner_core::protocols::snmp::SnmpConfig;
use scanner_core::record::DeviceType;
use scanner_core::{AssetRecord, CancellationToken, ScanConfig, Scanner, Targets};

/// What an embedding tool might keep: its own inventory type.
#[derive(Default)]
struct PlcInventory {
    plcs: Vec<(std::net::IpAddr, String)>,
}

impl PlcInventory {
    fn accept(&mut self, record: &AssetRecord) {
        if record.device_type == Some(DeviceType::Plc) {
            let name = record
                .product_name
                .clone()
                .or_else(|| record.model.clone())
                .unwrap_or_default();
            self.plcs.push((record.ip, name));
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ports = PlantPorts::block(20032);
    let plant = Plant::start(PlantSpec::plant(Ipv4Addr::new(127, 79, 0, 0), ports))?;
    let config = ScanConfig::builder()
        .targets(Targets::parse(["127.79.0.0/24"])?)
        .modbus(ModbusConfig {
            port: ports.modbus,
            ..ModbusConfig::default()
        })
        .enip(EnipConfig {
            port: ports.enip,
            ..EnipConfig::default()
        })
        .snmp(SnmpConfig {
            port: ports.snmp,
            ..SnmpConfig::default()
        })
        .bacnet(BacnetConfig {
            port: ports.bacnet,
            ..BacnetConfig::default()
        })
        .s7(S7Config {
            port: ports.s7,
            ..S7Config::default()
        })
        .build()?;
    let cancel = CancellationToken::new();
    let mut scan = Scanner::new(config).scan_with_cancel(cancel.clone());
    let mut progress = scan.progress();
    let watcher = tokio::spawn(async move {
        while progress.changed().await.is_ok() {
            let p = progress.borrow().clone();
            if p.finished % 64 == 0 || p.done {
                eprintln!(
                    "progress: {}/{} targets, {} devices",
                    p.finished, p.planned, p.responsive
                );
            }
            if p.done {
                return p;
            }
        }
        progress.borrow().clone()
    });
    let mut inventory = PlcInventory::default();
    while let Some(record) = scan.next().await {
        inventory.accept(&record);
        if inventory.plcs.len() >= 3 {
            cancel.cancel(); // stop sending; finished records still arrive
        }
    }
    let summary = watcher.await?;
    for (ip, name) in &inventory.plcs {
        println!("PLC {ip} {name}");
    }
    println!("stopped early: {:?}", summary.stopped);
    plant.shutdown().await;
    assert!(inventory.plcs.len() >= 3);
    Ok(())
}
