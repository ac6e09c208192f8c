//! Runs a simulated plant on loopback until Ctrl-C, for benches and manual scans.
//!
//! `plant [BASE] [PORT] [demo|test]`, e.g. `plant 127.90.0.0 15030 demo`.

use std::net::Ipv4Addr;

use protocol_fixtures::{Plant, PlantSpec};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base: Ipv4Addr = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(Ipv4Addr::new(127, 90, 0, 0));
    let port: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(15030);
    let spec = match args.next().as_deref() {
        Some("test") => PlantSpec::test_subnet(base, port),
        _ => PlantSpec::demo(base, port),
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
