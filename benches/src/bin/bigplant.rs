//! Runs a large simulated plant until Ctrl-C (or SIGTERM): COUNT devices spread evenly over a
//! loopback range, the rest of the range empty, for the throughput and peer benches.
//!
//! `bigplant CIDR COUNT [DUAL] [MODBUS_PORT ENIP_PORT SNMP_PORT] [MANIFEST]`, e.g.
//! `bigplant 127.64.0.0/16 512 0 502 44818 161 /tmp/plant.tsv`.
//!
//! Device `i` sits in the `i`-th of COUNT equal blocks of the range, at a pseudo-random host of
//! its block (never the range's first or last address). Its protocol cycles Modbus, EtherNet/IP
//! (TCP and UDP), SNMP; DUAL of the devices, spread evenly, also run the next protocol in that
//! cycle, so they answer two. Identities are plausible and numbered (serials, product codes)
//! so each device's record can be told apart. MANIFEST, if given, receives one line per device:
//! `ip<TAB>protocols` (e.g. `127.64.0.77<TAB>modbus,enip`), the truth the bench scripts compare
//! scanner output against.
//!
//! Each device costs one listening socket per protocol (two for EtherNet/IP), so 512 devices
//! need about 700 descriptors plus one per open connection: raise `ulimit -n` for more.

use std::{io::Write as _, net::Ipv4Addr};

use protocol_fixtures::{
    modbus::object_id, DeviceSpec, EnipDeviceConfig, ModbusDeviceConfig, Plant, PlantSpec,
    SnmpAgentConfig,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Modbus,
    Enip,
    Snmp,
}

impl Kind {
    const CYCLE: [Kind; 3] = [Kind::Modbus, Kind::Enip, Kind::Snmp];

    fn name(self) -> &'static str {
        match self {
            Kind::Modbus => "modbus",
            Kind::Enip => "enip",
            Kind::Snmp => "snmp",
        }
    }
}

/// The devices of a plant of `count` devices over `net/prefix`, `dual` of them speaking two
/// protocols, with their protocols in the order they were added.
fn layout(net: Ipv4Addr, prefix: u8, count: u32, dual: u32) -> Vec<(Ipv4Addr, Vec<Kind>)> {
    let size: u64 = 1 << (32 - u32::from(prefix.min(32)));
    let base = u64::from(u32::from(net)) & !(size - 1);
    let usable = size.saturating_sub(2).max(1);
    let count = u64::from(count).min(usable);
    let stride = (usable / count.max(1)).max(1);
    (0..count)
        .map(|i| {
            // A fixed pseudo-random host inside the block (Knuth's multiplicative hash).
            let jitter = (i.wrapping_mul(2_654_435_761) >> 7) % stride;
            let ip = Ipv4Addr::from((base + 1 + i * stride + jitter) as u32);
            let primary = Kind::CYCLE[(i % 3) as usize];
            let mut kinds = vec![primary];
            // Spread the dual devices evenly: device i is dual when the running share
            // i * dual / count steps up.
            let is_dual =
                dual > 0 && (i * u64::from(dual)) / count != ((i + 1) * u64::from(dual)) / count;
            if is_dual {
                kinds.push(Kind::CYCLE[((i + 1) % 3) as usize]);
            }
            (ip, kinds)
        })
        .collect()
}

fn modbus_config(i: usize) -> ModbusDeviceConfig {
    ModbusDeviceConfig::new(
        "Schneider Electric",
        format!("BMX P34 {:04}", 2000 + i),
        "v3.10",
    )
    .with_object(object_id::VENDOR_URL, "http://www.se.com")
    .with_object(object_id::PRODUCT_NAME, "Modicon M340")
    .with_object(object_id::MODEL_NAME, format!("BMX P34 {:04}", 2000 + i))
    .with_object(
        object_id::USER_APPLICATION_NAME,
        format!("LINE{i} (simulated)"),
    )
    .with_conformity_level(0x82)
}

fn enip_config(i: usize) -> EnipDeviceConfig {
    // Vendor 1 (Rockwell Automation/Allen-Bradley), device type 0x0E (PLC).
    EnipDeviceConfig::new(
        1,
        0x0E,
        54,
        format!("1756-L61/B LOGIX5561 #{i} (simulated)"),
    )
    .with_revision(20, 11)
    .with_serial(0x6000_0000 + i as u32)
}

fn snmp_config(i: usize) -> SnmpAgentConfig {
    SnmpAgentConfig::system(
        format!("Siemens, SIMATIC NET, SCALANCE XC208 #{i}, FW: Version V04.01.00 (simulated)"),
        [1, 3, 6, 1, 4, 1, 4329, 20, 1, 1, 1, 1, 79],
        format!("scalance-{i}"),
        "bench hall",
        "bench@plant.example",
        2,
        100 * i as u32,
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bigplant CIDR COUNT [DUAL] [MODBUS_PORT ENIP_PORT SNMP_PORT] [MANIFEST]";
    let Some((net, prefix)) = args.first().and_then(|c| {
        let (a, p) = c.split_once('/')?;
        Some((a.parse::<Ipv4Addr>().ok()?, p.parse::<u8>().ok()?))
    }) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let number = |i: usize, default: u32| {
        args.get(i)
            .map(|a| {
                a.parse::<u32>().unwrap_or_else(|_| {
                    eprintln!("{usage}");
                    std::process::exit(2)
                })
            })
            .unwrap_or(default)
    };
    let count = number(1, 512);
    let dual = number(2, 0);
    let port =
        |i: usize, default: u16| u16::try_from(number(i, u32::from(default))).unwrap_or(default);
    let (modbus, enip, snmp) = (port(3, 502), port(4, 44818), port(5, 161));
    let manifest = args.get(6);
    if !net.is_loopback() || !(8..=30).contains(&prefix) {
        eprintln!("bigplant: the range must be inside 127.0.0.0/8, with a prefix of /8 to /30");
        std::process::exit(2);
    }

    let devices = layout(net, prefix, count, dual);
    let mut spec = PlantSpec::default();
    for (i, (ip, kinds)) in devices.iter().enumerate() {
        let mut device = DeviceSpec::new(*ip, format!("dev-{i}"));
        for kind in kinds {
            device = match kind {
                Kind::Modbus => device.with_modbus(modbus, modbus_config(i)),
                Kind::Enip => device.with_enip(enip, enip_config(i)),
                Kind::Snmp => device.with_snmp(snmp, snmp_config(i)),
            };
        }
        spec.devices.push(device);
    }
    let plant = match Plant::start(spec) {
        Ok(p) => p,
        Err(e) => {
            eprintln!(
                "bigplant: cannot start: {e} (raise `ulimit -n`? run as root for ports < 1024)"
            );
            std::process::exit(1);
        }
    };
    if let Some(path) = manifest {
        let mut out = String::new();
        for (ip, kinds) in &devices {
            let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
            out.push_str(&format!("{ip}\t{}\n", names.join(",")));
        }
        if let Err(e) = std::fs::File::create(path).and_then(|mut f| f.write_all(out.as_bytes())) {
            eprintln!("bigplant: cannot write {path}: {e}");
            std::process::exit(1);
        }
    }
    eprintln!(
        "bigplant: {} devices ({} with two protocols) on {net}/{prefix}, ports modbus {modbus} enip {enip} snmp {snmp}",
        devices.len(),
        devices.iter().filter(|(_, k)| k.len() > 1).count()
    );
    eprintln!("bigplant: ready");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
    plant.shutdown().await;
}
