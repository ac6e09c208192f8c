//! The Niagara Fox probe against the simulated plant's stations (hosts .80-.84 of
//! `PlantSpec::plant`), over real loopback sockets: what each station is recorded as, what it
//! cost (one connection, one hello, closed by the scanner), refusals recorded as what they are,
//! the JACE's Fox and BACnet/IP sides merged into one record, and a reply cap that bites.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use futures::StreamExt;

mod common;
use common::Request;
use protocol_fixtures::{Plant, PlantPorts, PlantSpec};
use scanner_core::protocols::fox::{FoxConfig, FoxDetails, HELLO};
use scanner_core::record::{DeviceType, ServiceDetails};
use scanner_core::{AssetRecord, Protocol, ScanConfig, Scanner, Status, Targets};

const BASE: Ipv4Addr = Ipv4Addr::new(127, 117, 0, 0);
const PORTS: PlantPorts = PlantPorts::block(21760);

fn ip(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 117, 0, host))
}

fn config(probes: &[Protocol], fox: FoxConfig) -> ScanConfig {
    let builder = ScanConfig::builder()
        .targets(Targets::parse(["127.117.0.80-84"]).unwrap())
        .timeout(Duration::from_millis(500))
        // Records for devices whose replies broke the protocol too.
        .emit_all(true);
    common::at_plant_ports(builder, PORTS)
        .fox(FoxConfig {
            port: PORTS.fox,
            ..fox
        })
        .probes(probes.iter().copied())
        .build()
        .unwrap()
}

async fn scan(config: ScanConfig) -> Vec<AssetRecord> {
    let mut records: Vec<AssetRecord> = Scanner::new(config).scan().collect().await;
    records.sort_by_key(|r| r.ip);
    records
}

fn fox(record: &AssetRecord) -> (Status, u32, Option<&str>, &FoxDetails) {
    let s = record
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Fox)
        .unwrap();
    let Some(ServiceDetails::Fox(d)) = &s.details else {
        panic!("no Fox details: {s:?}")
    };
    (s.status, s.requests, s.error.as_deref(), d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stations_are_identified_at_the_cost_of_one_hello_each() {
    let plant = Plant::start(PlantSpec::plant(BASE, PORTS)).unwrap();
    let records = scan(config(
        &[Protocol::Fox, Protocol::Bacnet],
        FoxConfig::default(),
    ))
    .await;
    assert_eq!(records.len(), 5);

    // The JACE: Fox and BACnet/IP in one record; the hardware model from BACnet.
    let jace = &records[0];
    assert_eq!(jace.ip, ip(80));
    let (status, requests, _, d) = fox(jace);
    assert_eq!(
        (status, requests),
        (Status::Success, 2),
        "a connection and the hello"
    );
    assert_eq!(d.station_name.as_ref().unwrap().text, "AHU_1");
    assert_eq!(d.brand_id.as_ref().unwrap().text, "vykon");
    assert_eq!(d.time_zone.as_ref().unwrap().text, "America/Chicago");
    assert_eq!(d.role.as_deref(), Some("building automation controller"));
    assert_eq!(
        (
            jace.vendor.as_deref(),
            jace.product_name.as_deref(),
            jace.model.as_deref(),
            jace.firmware_version.as_deref(),
            jace.hostname.as_deref(),
            jace.device_type,
        ),
        (
            Some("Tridium"),
            Some("Niagara 4 Station"),
            Some("JACE-8000"),
            Some("4.10.1.36"),
            Some("jace-ahu-1"),
            Some(DeviceType::BuildingController),
        )
    );
    assert_eq!(jace.sources.get("model").map(|p| p.name()), Some("bacnet"));
    assert_eq!(jace.sources.get("vendor").map(|p| p.name()), Some("fox"));

    // The AX station: the sysInfo object whole, by its counted length.
    let ax = &records[1];
    let (status, _, _, d) = fox(ax);
    assert_eq!(status, Status::Success);
    let sys = d
        .other_keys
        .iter()
        .find(|t| t.key.text == "sysInfo")
        .unwrap();
    assert_eq!((sys.kind.as_str(), sys.value.text.len()), ("o", 61));
    assert_eq!(ax.vendor.as_deref(), Some("Johnson Controls"));
    assert_eq!(ax.hostname, None, "hostName is an address");

    let supervisor = &records[2];
    assert_eq!(fox(supervisor).3.role.as_deref(), Some("supervisor"));
    assert_eq!(supervisor.vendor.as_deref(), Some("Distech Controls"));

    // Refusals: application errors that name what the station said.
    let (status, _, error, d) = fox(&records[3]);
    assert_eq!(status, Status::ApplicationError);
    assert!(error
        .unwrap()
        .contains("Niagara4 Station Connections Unsupported"));
    assert!(d.fatal.is_some() && records[3].vendor.is_none());
    let (status, _, error, _) = fox(&records[4]);
    assert_eq!(status, Status::ApplicationError);
    assert!(error.unwrap().contains("station busy"), "{error:?}");

    // What it cost each station: one connection, one frame (the hello), nothing left open.
    let recorder = plant.recorder();
    for host in 80..=84 {
        let frames: Vec<_> = recorder
            .frames_for(ip(host))
            .into_iter()
            .filter(|f| f.device.port() == PORTS.fox)
            .collect();
        assert_eq!(frames.len(), 1, ".{host}");
        assert_eq!(frames[0].bytes, HELLO);
        assert_eq!(
            common::audit_and_classify(&frames[0], PORTS),
            Request::FoxHello
        );
        let stats = recorder.connection_stats(ip(host));
        assert_eq!(stats.open, 0, ".{host}: the connection was closed");
    }
    assert!(recorder.violations().is_empty());

    // A reply cap below the stations' hellos (600 bytes and more): cut, a protocol error,
    // the bytes kept.
    let capped = FoxConfig {
        max_reply_bytes: 256,
        ..FoxConfig::default()
    };
    let records = scan(config(&[Protocol::Fox], capped)).await;
    let s = records[1]
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Fox)
        .unwrap();
    assert_eq!(s.status, Status::ProtocolError, "{s:?}");
    assert!(
        s.error.as_deref().unwrap().contains("256-byte cap"),
        "{s:?}"
    );
    assert_eq!(s.received.as_ref().map(|r| r.len), Some(256));
    // The fatal refusal (100 bytes) fits.
    assert_eq!(fox(&records[3]).0, Status::ApplicationError);
    plant.shutdown().await;
}
