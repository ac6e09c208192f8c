//! Runs a simulated plant on loopback until Ctrl-C, for benches and manual scans.
//!
//! `plant [BASE] [MODBUS_PORT] [plant|demo|test] [ENIP_PORT]`, e.g. `plant 127.90.0.0 15030`.
//! `plant` (default) is the mixed Modbus + EtherNet/IP plant, `demo` the Modbus-only one,
//! `test` the Modbus plant with hostile devices. EtherNet/IP listens on 44818 unless given.

use std::net::Ipv4Addr;

use protocol_fixtures::{Plant, PlantPorts, PlantSpec};

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
    let spec = match mode.as_deref() {
        Some("test") => PlantSpec::test_subnet(base, port),
        Some("demo") => PlantSpec::demo(base, port),
        _ => PlantSpec::plant(base, PlantPorts { modbus: port, enip }),
    };
    let plant = match Plant::start(spec) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("plant: cannot start: {e}");
            std::process::exit(1);
        }
    };
    for d in plant.devices() {
        eprintln!("plant: {} {}", d.spec.ip, d.spec.name);
    }
    eprintln!("plant: ready on port {port}");
    let _ = tokio::signal::ctrl_c().await;
    plant.shutdown().await;
}
