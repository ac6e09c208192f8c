//! `otscan demo`: a simulated plant on loopback, scanned with the normal scan path.

use std::net::Ipv4Addr;

use protocol_fixtures::{Plant, PlantPorts, PlantSpec};
use scanner_core::protocols::bacnet::BacnetConfig;
use scanner_core::protocols::enip::EnipConfig;
use scanner_core::protocols::modbus::ModbusConfig;
use scanner_core::protocols::s7::S7Config;
use scanner_core::protocols::snmp::SnmpConfig;
use scanner_core::{ScanConfig, Targets};

use crate::cli::DemoArgs;
use crate::run::{run_scan, EXIT_FAILURE, EXIT_USAGE};

pub async fn demo_command(args: DemoArgs) -> u8 {
    if args.base.octets()[0] != 127 {
        eprintln!(
            "otscan: error: --base {}: the demo plant must live in 127.0.0.0/8 (loopback)",
            args.base
        );
        return EXIT_USAGE;
    }
    let [a, b, c, _] = args.base.octets();
    let base = Ipv4Addr::new(a, b, c, 0);
    let spec = PlantSpec::plant(
        base,
        PlantPorts {
            modbus: args.modbus_port,
            enip: args.enip_port,
            snmp: args.snmp_port,
            bacnet: args.bacnet_port,
            s7: args.s7_port,
        },
    );
    let plant = match Plant::start(spec) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("otscan: error: cannot start the simulated plant: {e}");
            return EXIT_FAILURE;
        }
    };
    eprintln!(
        "otscan demo: {} simulated devices on {base}/24, Modbus on port {}, EtherNet/IP on {}, S7 on {}, BACnet on {}, SNMP on {}; scanning the /24 with the default safe settings",
        plant.devices().len(),
        args.modbus_port,
        args.enip_port,
        args.s7_port,
        args.bacnet_port,
        args.snmp_port
    );
    for device in plant.devices() {
        let mut speaks = Vec::new();
        if device.modbus.is_some() {
            speaks.push("modbus");
        }
        if device.enip.is_some() {
            speaks.push("enip");
        }
        if device.s7.is_some() {
            speaks.push("s7");
        }
        if device.bacnet.is_some() {
            speaks.push("bacnet");
        }
        if device.snmp.is_some() {
            speaks.push("snmp");
        }
        if device.silent_tcp.is_some() {
            speaks.push("silent tcp");
        }
        eprintln!(
            "  {:<15} {:<22} {}",
            device.spec.ip,
            device.spec.name,
            speaks.join(", ")
        );
    }
    let config = Targets::parse([format!("{base}/24")])
        .map_err(|e| e.to_string())
        .and_then(|targets| {
            ScanConfig::builder()
                .targets(targets)
                .modbus(ModbusConfig {
                    port: args.modbus_port,
                    ..ModbusConfig::default()
                })
                .enip(EnipConfig {
                    port: args.enip_port,
                    ..EnipConfig::default()
                })
                .snmp(SnmpConfig {
                    port: args.snmp_port,
                    ..SnmpConfig::default()
                })
                .bacnet(BacnetConfig {
                    port: args.bacnet_port,
                    ..BacnetConfig::default()
                })
                .s7(S7Config {
                    port: args.s7_port,
                    ..S7Config::default()
                })
                .build()
                .map_err(|e| e.to_string())
        });
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("otscan: error: {e}");
            return EXIT_FAILURE;
        }
    };
    let options = crate::run::RunOptions {
        format: args.format,
        ..Default::default()
    };
    let code = run_scan(config, Box::new(std::io::stdout()), options).await;
    plant.shutdown().await;
    code
}
