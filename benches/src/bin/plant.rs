//! Runs a simulated plant until Ctrl-C (or SIGTERM), for benches, demos and tests.
//!
//! `plant [BASE] [MODBUS_PORT] [plant|demo|test|netns-enip] [ENIP_PORT] [SNMP_PORT]
//! [BACNET_PORT] [S7_PORT]`, e.g. `plant 127.90.0.0 15030`. `plant` (default) is the mixed
//! plant of [`PlantSpec::plant`] (Modbus, EtherNet/IP, SNMP, BACnet/IP, S7, FINS, Niagara Fox,
//! MELSEC), `demo` the Modbus-only one, `test` the Modbus plant with hostile devices; EtherNet/IP
//! listens on 44818, SNMP on 161, BACnet/IP on 47808 and S7 on 1102 unless given, FINS always on
//! 9600, Fox always on its registered port 1911 (S7's registered port is 102, e.g. `plant
//! 127.66.0.0 502 plant 44818 161 47808 102` in a bench's namespace, as root).
//! `netns-enip` starts the plant's ControlLogix alone on 0.0.0.0:ENIP_PORT to answer
//! broadcasts: only inside a network namespace a test made.

use std::net::{Ipv4Addr, SocketAddr};

use protocol_fixtures::{DeviceHandle, EnipDevice, Plant, PlantPorts, PlantSpec, Recorder};

enum Running {
    Plant(Plant),
    Device(DeviceHandle),
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base: Ipv4Addr = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(Ipv4Addr::new(127, 90, 0, 0));
    let port: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(15030);
    let mode = args.next();
    let enip: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(44818);
    let snmp: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(161);
    let bacnet: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(47808);
    let s7: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1102);
    // Protocols without an argument keep their registered port.
    let mut ports = PlantPorts::default();
    for (name, p) in [
        ("modbus", port),
        ("enip", enip),
        ("snmp", snmp),
        ("bacnet", bacnet),
        ("s7", s7),
    ] {
        ports.set(name, p);
    }
    let started = match mode.as_deref() {
        Some("test") => Plant::start(PlantSpec::test_subnet(base, port)).map(Running::Plant),
        Some("demo") => Plant::start(PlantSpec::demo(base, port)).map(Running::Plant),
        Some("netns-enip") => {
            let spec = PlantSpec::plant(Ipv4Addr::new(127, 0, 0, 0), ports);
            let config = spec
                .device("plc-l61")
                .and_then(|d| d.enip.clone())
                .map(|(_, c)| c)
                .unwrap_or_default();
            EnipDevice::spawn_in_test_namespace(
                SocketAddr::from((Ipv4Addr::UNSPECIFIED, enip)),
                config,
                Recorder::new(),
            )
            .map(Running::Device)
        }
        _ => Plant::start(PlantSpec::plant(base, ports)).map(Running::Plant),
    };
    let running = match started {
        Ok(r) => r,
        Err(e) => {
            eprintln!("plant: cannot start: {e}");
            std::process::exit(1);
        }
    };
    if let Running::Plant(plant) = &running {
        for d in plant.devices() {
            eprintln!("plant: {} {}", d.spec.ip, d.spec.name);
        }
    }
    eprintln!("plant: ready");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
    match running {
        Running::Plant(plant) => plant.shutdown().await,
        Running::Device(device) => device.shutdown().await,
    }
}
