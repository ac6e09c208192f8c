//! The Omron FINS probe against the simulated plant's PLCs (hosts .70-.74 of
//! `PlantSpec::plant`), over real loopback sockets: what each PLC is recorded as on each
//! transport setting, what it cost, that a refusal is recorded with its end code, that the
//! FINS/TCP node number is given back, and that every frame the PLCs received is a
//! read-only identification request.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;
use protocol_fixtures::{Plant, PlantPorts, PlantSpec};
use scanner_core::protocols::fins::{FinsConfig, FinsDetails, FinsTransport};
use scanner_core::record::{DeviceType, ServiceDetails, Transport};
use scanner_core::{AssetRecord, Protocol, ScanConfig, Scanner, Status, Targets};

const BASE: Ipv4Addr = Ipv4Addr::new(127, 96, 6, 0);
const PORTS: PlantPorts = PlantPorts::block(21600);

fn ip(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 96, 6, host))
}

async fn scan(targets: &str, transport: FinsTransport) -> BTreeMap<IpAddr, AssetRecord> {
    // Default rate, per-device interval and concurrency: the pacing users get.
    let config = ScanConfig::builder()
        .targets(Targets::parse([targets]).unwrap())
        .probes([Protocol::Fins])
        .timeout(Duration::from_millis(500))
        .emit_all(true)
        .fins(FinsConfig {
            port: PORTS.fins,
            transport,
            ..FinsConfig::default()
        })
        .build()
        .unwrap();
    let mut records = BTreeMap::new();
    let mut scan = Scanner::new(config).scan();
    while let Some(record) = scan.next().await {
        records.insert(record.ip, record);
    }
    records
}

/// One FINS service of a record: transport, status, requests, error and details.
type Service<'a> = (
    Transport,
    Status,
    u32,
    Option<&'a str>,
    Option<&'a FinsDetails>,
);

/// Each FINS service of a record.
fn services(record: &AssetRecord) -> Vec<Service<'_>> {
    record
        .services
        .iter()
        .filter(|s| s.protocol == Protocol::Fins)
        .map(|s| {
            let details = match &s.details {
                Some(ServiceDetails::Fins(d)) => Some(&**d),
                _ => None,
            };
            (
                s.transport,
                s.status,
                s.requests,
                s.error.as_deref(),
                details,
            )
        })
        .collect()
}

fn trimmed(t: &Option<scanner_core::record::DeviceText>) -> Option<&str> {
    t.as_ref().map(|t| t.text.trim_end())
}

/// Asks the PLC at `host` for a FINS/TCP node the way a client does; the node it gives.
async fn node_a_client_gets(host: u8) -> u32 {
    let mut tcp = tokio::net::TcpStream::connect((ip(host), PORTS.fins))
        .await
        .unwrap();
    tcp.write_all(b"FINS\0\0\0\x0c\0\0\0\0\0\0\0\0\0\0\0\0")
        .await
        .unwrap();
    let mut reply = [0u8; 24];
    tokio::time::timeout(Duration::from_secs(2), tcp.read_exact(&mut reply))
        .await
        .unwrap()
        .unwrap();
    u32::from_be_bytes([reply[16], reply[17], reply[18], reply[19]])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn omron_plcs_are_identified_on_the_transport_they_answer() {
    let plant = Plant::start(PlantSpec::plant(BASE, PORTS)).unwrap();

    // Fallback (the default): UDP first, TCP only where UDP is silent or refused.
    let records = scan(&format!("{}-{}", ip(70), ip(74)), FinsTransport::Fallback).await;
    let cj2m = &records[&ip(70)];
    assert_eq!(
        (
            cj2m.vendor.as_deref(),
            cj2m.model.as_deref(),
            cj2m.firmware_version.as_deref(),
            cj2m.device_type,
        ),
        (
            Some("Omron"),
            Some("CJ2M-CPU31"),
            Some("02.01"),
            Some(DeviceType::Plc)
        )
    );
    let [(Transport::Udp, Status::Success, 1, None, Some(d))] = services(cj2m)[..] else {
        panic!("{:?}", services(cj2m))
    };
    // Kept as sent: the 20-byte field, space padded.
    assert_eq!(
        d.controller_model.as_ref().unwrap().text,
        "CJ2M-CPU31          "
    );
    let area = d.area_data.unwrap();
    assert_eq!(
        (
            area.program_area_size,
            area.dm_words,
            area.timer_counter_size
        ),
        (20, 32768, 8)
    );
    assert_eq!(
        (d.source_node, d.end_code, d.memory_card.as_deref()),
        (Some(70), Some(0), Some("no memory card"))
    );

    let cp1l = &records[&ip(71)];
    assert_eq!(cp1l.model.as_deref(), Some("CP1L-EM40DT-D"));
    assert!(matches!(
        services(cp1l)[..],
        [(Transport::Udp, Status::Success, 1, None, Some(_))]
    ));

    // TCP only: UDP is refused, so FINS/TCP is tried: a connection, the node address
    // request and the frame.
    let nj = &records[&ip(72)];
    assert_eq!(nj.model.as_deref(), Some("NJ501-1300"));
    let [(Transport::Udp, Status::ConnectionRefused, 1, _, None), (Transport::Tcp, Status::Success, 3, None, Some(d))] =
        services(nj)[..]
    else {
        panic!("{:?}", services(nj))
    };
    assert_eq!(
        (d.client_node, d.server_node, d.source_node),
        (Some(239), Some(72), Some(72))
    );
    assert_eq!(d.area_data.unwrap().memory_card_size, 2048);

    // An older CPU: model and version only.
    let cs1 = &records[&ip(73)];
    let [(Transport::Udp, Status::Success, 1, None, Some(d))] = services(cs1)[..] else {
        panic!("{:?}", services(cs1))
    };
    assert_eq!(
        (trimmed(&d.controller_model), trimmed(&d.controller_version)),
        (Some("CS1G-CPU44H"), Some("03.00"))
    );
    assert_eq!((d.area_data, &d.for_system_use), (None, &None));

    // A refusal names its end code, and names no identity.
    let refuses = &records[&ip(74)];
    let [(Transport::Udp, Status::ApplicationError, 1, Some(error), Some(d))] =
        services(refuses)[..]
    else {
        panic!("{:?}", services(refuses))
    };
    assert_eq!(error, "end code 0401 (undefined command)");
    assert_eq!(
        (d.end_code, d.end_code_name.as_deref()),
        (Some(0x0401), Some("undefined command"))
    );
    assert!(refuses.model.is_none() && refuses.responsive);

    // TCP only, on a PLC that serves both: one connection, node 239, given back after.
    let records = scan(&ip(70).to_string(), FinsTransport::Tcp).await;
    let [(Transport::Tcp, Status::Success, 3, None, Some(d))] = services(&records[&ip(70)])[..]
    else {
        panic!("{:?}", services(&records[&ip(70)]))
    };
    assert_eq!((d.client_node, d.server_node), (Some(239), Some(70)));
    let stats = plant.recorder().connection_stats(ip(70));
    assert_eq!((stats.accepted, stats.max_concurrent), (1, 1));
    // The PLC gives a node back when it sees the connection end, which it may see after the
    // scan returns: wait (bounded) until it has closed its side, then ask.
    for _ in 0..100 {
        if plant.recorder().connection_stats(ip(70)).open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(plant.recorder().connection_stats(ip(70)).open, 0);
    assert_eq!(
        node_a_client_gets(70).await,
        239,
        "the scan gave its node back"
    );

    // UDP only on the TCP-only PLC: refused, and TCP is not tried.
    let records = scan(&ip(72).to_string(), FinsTransport::Udp).await;
    assert!(matches!(
        services(&records[&ip(72)])[..],
        [(Transport::Udp, Status::ConnectionRefused, 1, _, None)]
    ));
    // Both: one service per transport.
    let records = scan(&ip(73).to_string(), FinsTransport::Both).await;
    assert!(matches!(
        services(&records[&ip(73)])[..],
        [
            (Transport::Udp, Status::Success, 1, None, Some(_)),
            (Transport::Tcp, Status::Success, 3, None, Some(_))
        ]
    ));

    // Everything the PLCs received was read-only.
    for frame in plant.recorder().frames() {
        common::audit_and_classify(&frame, PORTS);
    }
    assert!(plant.recorder().violations().is_empty());
    plant.shutdown().await;
}
