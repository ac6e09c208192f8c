//! Scans the mixed simulated plant (Modbus + EtherNet/IP over TCP and UDP) and checks
//! the merged records and everything that went on the wire.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroUsize;
use std::time::Duration;

use futures::StreamExt;

mod common;
use protocol_fixtures::{Plant, PlantPorts, PlantSpec};
use scanner_core::protocols::enip::{EnipConfig, EnipDetails, EnipTransport};
use scanner_core::protocols::modbus::ModbusConfig;
use scanner_core::record::{DeviceType, ServiceDetails, Transport, VendorIdSpace};
use scanner_core::{AssetRecord, Protocol, Rate, ScanConfig, Scanner, Status, Targets};

const PORTS: PlantPorts = PlantPorts::block(20160);

fn config(subnet: &str, transport: EnipTransport, probes: &[Protocol]) -> ScanConfig {
    ScanConfig::builder()
        .targets(Targets::parse([subnet]).unwrap())
        .probes(probes.iter().copied())
        .rate(Rate::per_second(5000).unwrap())
        .per_device_interval(Duration::from_millis(5))
        .concurrency(NonZeroUsize::new(128).unwrap())
        .timeout(Duration::from_millis(500))
        .modbus(ModbusConfig {
            port: PORTS.modbus,
            ..ModbusConfig::default()
        })
        .enip(EnipConfig {
            port: PORTS.enip,
            transport,
            ..EnipConfig::default()
        })
        .build()
        .unwrap()
}

async fn scan(config: ScanConfig) -> BTreeMap<IpAddr, AssetRecord> {
    let mut scan = Scanner::new(config).scan();
    let mut records = BTreeMap::new();
    while let Some(r) = scan.next().await {
        let back: AssetRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert!(records.insert(r.ip, r).is_none());
    }
    records
}

fn ip(base: [u8; 3], host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(base[0], base[1], base[2], host))
}

fn enip(record: &AssetRecord, transport: Transport) -> &EnipDetails {
    record
        .services
        .iter()
        .filter(|s| s.protocol == Protocol::Enip && s.transport == transport)
        .find_map(|s| match &s.details {
            Some(ServiceDetails::Enip(d)) => Some(d),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{}: no enip/{transport:?} details", record.ip))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_plant_over_tcp_and_udp() {
    let base = [127, 66, 0];
    let plant = Plant::start(PlantSpec::plant(Ipv4Addr::new(127, 66, 0, 0), PORTS)).unwrap();
    let records = scan(config(
        "127.66.0.0/24",
        EnipTransport::Both,
        &[Protocol::Modbus, Protocol::Enip],
    ))
    .await;

    // .64 is the OPC UA edge gateway, which also speaks Modbus.
    let expected: Vec<IpAddr> = (10..=17)
        .chain([19])
        .chain(20..=27)
        .chain([64])
        .map(|h| ip(base, h))
        .collect();
    assert_eq!(records.keys().copied().collect::<Vec<_>>(), expected);

    // A ControlLogix: every identity field, both transports agree.
    let l61 = &records[&ip(base, 20)];
    assert_eq!(l61.vendor.as_deref(), Some("Rockwell Automation"));
    let vid = l61.vendor_id.as_ref().unwrap();
    assert_eq!((vid.space, vid.id), (VendorIdSpace::Odva, 1));
    assert_eq!(l61.device_type, Some(DeviceType::Plc));
    assert_eq!(l61.product_name.as_deref(), Some("1756-L61/B LOGIX5561"));
    assert_eq!(l61.product_code.as_deref(), Some("54"));
    assert_eq!(l61.firmware_version.as_deref(), Some("20.11"));
    assert_eq!(l61.serial_number.as_deref(), Some("006C061A"));
    assert_eq!(l61.sources.get("serial_number"), Some(&Protocol::Enip));
    let tcp = enip(l61, Transport::Tcp);
    let udp = enip(l61, Transport::Udp);
    assert_eq!(tcp.identity, udp.identity);
    let id = tcp.identity.as_ref().unwrap();
    assert_eq!(id.status_word, 0x0060);
    assert_eq!(id.state, Some(3));
    assert_eq!(id.socket_address.port, PORTS.enip);
    assert_eq!(id.socket_address.ip, "127.66.0.20");
    assert_eq!(tcp.services.len(), 1, "ListServices after the identity");
    assert!(tcp.services[0].cip_over_tcp && tcp.services[0].class01_over_udp);
    assert_eq!(
        l61.services.len(),
        3,
        "modbus refused + enip tcp + enip udp"
    );
    assert_eq!(l61.services[0].status, Status::ConnectionRefused);
    assert!(l61.services[1..]
        .iter()
        .all(|s| s.status == Status::Success));

    // One device speaking both protocols is one record with both services.
    let m580 = &records[&ip(base, 15)];
    let protocols: Vec<Protocol> = m580.services.iter().map(|s| s.protocol).collect();
    assert_eq!(
        protocols,
        [Protocol::Modbus, Protocol::Enip, Protocol::Enip]
    );
    assert_eq!(m580.vendor.as_deref(), Some("Schneider Electric"));
    assert_eq!(m580.sources.get("vendor"), Some(&Protocol::Modbus));
    assert_eq!(m580.vendor_id.as_ref().map(|v| v.id), Some(243));
    assert_eq!(m580.sources.get("vendor_id"), Some(&Protocol::Enip));
    assert_eq!(m580.device_type, Some(DeviceType::Plc));

    let adapter = &records[&ip(base, 23)];
    assert_eq!(adapter.device_type, Some(DeviceType::CommAdapter));
    assert!(
        enip(adapter, Transport::Tcp)
            .identity
            .as_ref()
            .unwrap()
            .status
            .owned
    );

    let drive = &records[&ip(base, 24)];
    assert_eq!(drive.device_type, Some(DeviceType::Drive));
    let id = enip(drive, Transport::Tcp).identity.as_ref().unwrap();
    assert_eq!(id.state, None, "old device without the state byte");
    assert!(id.status.minor_recoverable_fault);

    let latin1 = &records[&ip(base, 25)];
    let id = enip(latin1, Transport::Udp).identity.as_ref().unwrap();
    assert!(id.product_name.hex.is_some(), "non-UTF-8 name kept exactly");
    assert_eq!(id.product_name.hex.as_ref().unwrap().len(), 64);

    let refusing = &records[&ip(base, 26)];
    assert!(refusing.responsive);
    let s = refusing
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Enip)
        .unwrap();
    assert_eq!(s.status, Status::ApplicationError);
    assert_eq!(enip(refusing, Transport::Tcp).header_status, 1);

    // .27 sends encapsulation length 0 and an Identity item 6 bytes short of its product
    // name over UDP; the datagram holds the whole identity, which is decoded, with warnings.
    let short = &records[&ip(base, 27)];
    assert_eq!(
        short.product_name.as_deref(),
        Some("Turck BL20-E-GW-EN (sim)")
    );
    assert_eq!(short.serial_number.as_deref(), Some("0C2D7715"));
    let d = enip(short, Transport::Udp);
    assert_eq!(d.identity.as_ref().unwrap().state, Some(3));
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("header length announces 0"))
            && d.warnings
                .iter()
                .any(|w| w.contains("5 bytes short of the product name")),
        "{:?}",
        d.warnings
    );

    // What went on the wire: only identification requests, one connection at a time.
    for frame in plant.recorder().frames() {
        common::assert_read_only(&frame, PORTS.modbus, PORTS.enip);
    }
    for device in plant.devices() {
        let stats = plant
            .recorder()
            .connection_stats(IpAddr::V4(device.spec.ip));
        assert!(stats.max_concurrent <= 1, "{}: {stats:?}", device.spec.name);
    }
    plant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_only_scan_accepts_replies_and_counts_unreachable_ports() {
    let base = [127, 67, 0];
    let plant = Plant::start(PlantSpec::plant(Ipv4Addr::new(127, 67, 0, 0), PORTS)).unwrap();
    let records = scan(config(
        "127.67.0.16-127.67.0.23",
        EnipTransport::Udp,
        &[Protocol::Enip],
    ))
    .await;
    let found: Vec<IpAddr> = records.keys().copied().collect();
    assert_eq!(found, (20..=23).map(|h| ip(base, h)).collect::<Vec<_>>());
    let cj2m = &records[&ip(base, 22)];
    assert_eq!(cj2m.vendor_id.as_ref().map(|v| v.id), Some(47));
    assert_eq!(cj2m.services[0].transport, Transport::Udp);
    assert_eq!(
        cj2m.services[0].requests, 2,
        "ListIdentity + ListServices, no retry needed"
    );
    // UDP frames recorded: exactly one ListIdentity and one ListServices per device.
    let frames = plant.recorder().frames_for(ip(base, 22));
    let commands: Vec<u8> = frames.iter().map(|f| f.bytes[0]).collect();
    assert_eq!(commands, [0x63, 0x04]);
    plant.shutdown().await;
}
