//! `otscan demo`: a simulated plant on loopback, scanned with the normal scan path.

use std::net::Ipv4Addr;

use protocol_fixtures::{Plant, PlantPorts, PlantSpec};
use scanner_core::{Protocol, ProtocolConfigs, ScanConfig, Targets};

use crate::cli::DemoArgs;
use crate::run::{run_scan, EXIT_FAILURE, EXIT_USAGE};

pub async fn demo_command(args: DemoArgs) -> u8 {
    let format = args.format.resolve(false);
    let meta = match crate::run::siem_meta(&args.siem, format) {
        Ok(m) => m,
        Err(code) => return code,
    };
    if args.base.octets()[0] != 127 {
        say!(
            "otscan: error: --base {}: the demo plant must live in 127.0.0.0/8 (loopback)",
            args.base
        );
        return EXIT_USAGE;
    }
    if let Some(protocol) = crate::cli::port_given_twice(&args.ports) {
        say!(
            "otscan: error: {}",
            crate::cli::UsageError::PortTwice(protocol)
        );
        return EXIT_USAGE;
    }
    let [a, b, c, _] = args.base.octets();
    let base = Ipv4Addr::new(a, b, c, 0);
    let mut ports = PlantPorts::UNPRIVILEGED;
    // The simulated devices serve the first port of a list; the scan tries them all.
    let mut lists: Vec<(Protocol, Vec<u16>)> = Vec::new();
    for (protocol, list) in &args.ports {
        let port = list[0];
        if !ports.set(protocol.name(), port) {
            say!(
                "otscan: error: --port {protocol}={port}: the demo plant has no {protocol} devices"
            );
            return EXIT_USAGE;
        }
        lists.push((*protocol, list.clone()));
    }
    // Every registered protocol is scanned on the port its simulated devices use.
    let mut plan = Vec::new();
    for &protocol in Protocol::ALL {
        match ports.get(protocol.name()) {
            Some(port) => plan.push((
                protocol,
                lists
                    .iter()
                    .find(|(p, _)| *p == protocol)
                    .map_or_else(|| vec![port], |(_, list)| list.clone()),
            )),
            None => {
                say!("otscan: error: the demo plant has no simulated {protocol} devices");
                return EXIT_FAILURE;
            }
        }
    }
    let plant = match Plant::start(PlantSpec::plant(base, ports)) {
        Ok(p) => p,
        Err(e) => {
            say!("otscan: error: cannot start the simulated plant: {e}");
            return EXIT_FAILURE;
        }
    };
    let on: Vec<String> = plan
        .iter()
        .map(|(p, list)| {
            let list: Vec<String> = list.iter().map(u16::to_string).collect();
            format!("{p} on {}", list.join(","))
        })
        .collect();
    say!(
        "otscan demo: {} simulated devices on {base}/24, {}; scanning the /24 with the default safe settings and every probe (off by default in a scan: {})",
        plant.devices().len(),
        on.join(", "),
        crate::cli::off_by_default_list()
    );
    for device in plant.devices() {
        say!(
            "  {:<15} {:<22} {}",
            device.spec.ip,
            device.spec.name,
            device.speaks().join(", ")
        );
    }
    let config = Targets::parse([format!("{base}/24")])
        .map_err(|e| e.to_string())
        .and_then(|targets| {
            let mut protocols = ProtocolConfigs::default();
            for (p, list) in &plan {
                protocols.set_ports(*p, list)?;
            }
            // Every probe, the ones off by default included, to show the plant's banner
            // services too.
            ScanConfig::builder()
                .targets(targets)
                .probes(Protocol::ALL.iter().copied())
                .protocols(protocols)
                .build()
                .map_err(|e| e.to_string())
        });
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            say!("otscan: error: {e}");
            return EXIT_FAILURE;
        }
    };
    let renderer = crate::render::Renderer::streaming(format).with_meta(meta);
    if let Some(header) = renderer.header() {
        say_out(&header);
    }
    let options = crate::run::RunOptions {
        renderer,
        report: None,
        window_closes: None,
    };
    let code = run_scan(config, crate::sink::Sink::Stdout, options, None).await;
    plant.shutdown().await;
    code
}

/// Writes the table or CSV heading to stdout (a closed stdout shows at the first record).
fn say_out(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
