//! KNXnet/IP over real loopback sockets: the plant's simulated router is identified, and
//! so is a real KNXnet/IP server, Debian's knxd, started by the test on loopback
//! (`scripts/install-deps.sh` installs it).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroUsize;
use std::time::Duration;

use futures::StreamExt;

use protocol_fixtures::{DeviceSpec, KnxDeviceConfig, Plant, PlantSpec};
use scanner_core::protocols::knx::{KnxConfig, KnxDetails};
use scanner_core::record::{DeviceType, ServiceDetails};
use scanner_core::{AssetRecord, Protocol, Rate, ScanConfig, Scanner, Status, Targets};

const BASE: [u8; 3] = [127, 109, 0];
/// The simulated devices' port.
const PORT: u16 = 23_670;
/// knxd's server port (knxd binds it on every address, loopback included).
const KNXD_PORT: u16 = 23_671;

fn ip(host: u8) -> Ipv4Addr {
    Ipv4Addr::new(BASE[0], BASE[1], BASE[2], host)
}

async fn scan(targets: &str, port: u16) -> BTreeMap<IpAddr, AssetRecord> {
    let config = ScanConfig::builder()
        .targets(Targets::parse([targets]).unwrap())
        .probes([Protocol::Knx])
        .rate(Rate::per_second(2000).unwrap())
        .per_device_interval(Duration::from_millis(2))
        .concurrency(NonZeroUsize::new(8).unwrap())
        .timeout(Duration::from_millis(500))
        .udp_retries(0)
        .emit_all(true)
        .knx(KnxConfig { port })
        .build()
        .unwrap();
    Scanner::new(config)
        .scan()
        .map(|r| (r.ip, r))
        .collect()
        .await
}

fn knx(record: &AssetRecord) -> (Status, u32, KnxDetails) {
    let service = record
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Knx)
        .expect("a knx service");
    let details = match &service.details {
        Some(ServiceDetails::Knx(d)) => (**d).clone(),
        _ => KnxDetails::default(),
    };
    (service.status, service.requests, details)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_in_programming_mode_is_identified_and_a_closed_port_costs_one_datagram() {
    let spec = PlantSpec {
        devices: vec![DeviceSpec::new(ip(10), "router").with_knx(
            PORT,
            KnxDeviceConfig::router("Line coupler 2", "1.2.0").programming(),
        )],
    };
    let plant = Plant::start(spec).unwrap();
    let records = scan(&format!("{}.{}.{}.10-11", BASE[0], BASE[1], BASE[2]), PORT).await;
    let router = &records[&IpAddr::V4(ip(10))];
    let (status, requests, d) = knx(router);
    assert_eq!((status, requests), (Status::Success, 1));
    assert_eq!(d.individual_address.as_deref(), Some("1.2.0"));
    assert_eq!(d.programming_mode, Some(true));
    assert_eq!(d.role.as_deref(), Some("KNXnet/IP router"));
    assert_eq!(router.hostname.as_deref(), Some("Line coupler 2"));
    assert_eq!(router.device_type, Some(DeviceType::Gateway));
    let closed = &records[&IpAddr::V4(ip(11))];
    assert_eq!(knx(closed).0, Status::ConnectionRefused);
    assert_eq!(knx(closed).1, 1);
    assert_eq!(plant.recorder().frames_for(IpAddr::V4(ip(10))).len(), 1);
    assert!(plant.recorder().violations().is_empty());
    plant.shutdown().await;
}

/// Interoperability with a real KNXnet/IP server: knxd with a dummy bus, its EIBnet/IP
/// server answering description requests (`-D`) on UDP 23671, individual address 1.1.128,
/// friendly name `otscan-knxd`, scanned at 127.0.0.1. knxd honours the route-back HPAI
/// otscan sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knxd_is_identified() {
    let knxd = ["/usr/bin/knxd", "/usr/sbin/knxd"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("knxd is not installed: run scripts/install-deps.sh (Debian package knxd)");
    let mut child = std::process::Command::new(knxd)
        .args([
            "-e",
            "1.1.128",
            "-E",
            "1.1.129:8",
            "-n",
            "otscan-knxd",
            "-D",
            "-T",
            &format!("-S224.0.23.12:{KNXD_PORT}"),
            "-I",
            "lo",
            "-b",
            "dummy:",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // knxd's socket is bound to 0.0.0.0 without IP_PKTINFO, so its answers leave from the
    // loopback interface's primary address, 127.0.0.1, whatever 127.x address was asked;
    // otscan's connected socket drops a reply from another address (as it must), so the
    // target is 127.0.0.1.
    let target = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut record = None;
    // knxd takes a moment to bind; retry a few times rather than sleeping long.
    for _ in 0..20 {
        let records = scan(&target.to_string(), KNXD_PORT).await;
        if let Some(r) = records.get(&target).filter(|r| r.responsive) {
            record = Some(r.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let record = record.expect("knxd never answered");
    let (status, _, d) = knx(&record);
    assert_eq!(status, Status::Success, "{record:?}");
    assert_eq!(d.individual_address.as_deref(), Some("1.1.128"));
    assert_eq!(d.friendly_name.as_ref().unwrap().text, "otscan-knxd");
    assert_eq!(record.hostname.as_deref(), Some("otscan-knxd"));
    assert_eq!(record.device_type, Some(DeviceType::Gateway));
    let families: Vec<&str> = d.service_families.iter().map(|f| f.name.as_str()).collect();
    assert!(families.contains(&"Core"), "{families:?}");
    assert!(families.contains(&"Tunnelling"), "{families:?}");
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}
