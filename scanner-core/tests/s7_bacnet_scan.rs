//! BACnet/IP and Siemens S7 probes against the simulated plant's building controllers and
//! S7 CPUs (hosts .40-.45 and .50-.57 of `PlantSpec::plant`), over real loopback sockets:
//! what each device is recorded as, how many requests it cost, that refusals are recorded as
//! what they are, that an S7 CPU with an SNMP agent is one record, and that every frame the
//! devices received is a read-only identification request.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use futures::StreamExt;

mod common;
use common::{Request, S7Request};
use protocol_fixtures::{Plant, PlantPorts, PlantSpec};
use scanner_core::protocols::bacnet::{BacnetConfig, BacnetDetails, BacnetRefusal};
use scanner_core::protocols::s7::{ConnectionType, S7Config, S7Details, Tsap};
use scanner_core::protocols::snmp::SnmpConfig;
use scanner_core::record::{DeviceType, ServiceDetails, VendorId, VendorIdSpace};
use scanner_core::{AssetRecord, Protocol, ScanConfig, Scanner, Status, Targets};

const BASE: Ipv4Addr = Ipv4Addr::new(127, 83, 0, 0);
const PORTS: PlantPorts = PlantPorts::block(20288);

fn ip(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 83, 0, host))
}

fn config(targets: &str, probes: &[Protocol]) -> ScanConfig {
    // Default rate, per-device interval and concurrency: the pacing users get.
    ScanConfig::builder()
        .targets(Targets::parse([targets]).unwrap())
        .probes(probes.iter().copied())
        .timeout(Duration::from_millis(500))
        .bacnet(BacnetConfig {
            port: PORTS.bacnet,
            ..BacnetConfig::default()
        })
        .s7(S7Config {
            port: PORTS.s7,
            ..S7Config::default()
        })
        .snmp(SnmpConfig {
            port: PORTS.snmp,
            ..SnmpConfig::default()
        })
        .build()
        .unwrap()
}

fn bacnet(record: &AssetRecord) -> (Status, u32, &BacnetDetails) {
    let s = record
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Bacnet)
        .unwrap();
    let Some(ServiceDetails::Bacnet(d)) = &s.details else {
        panic!("no BACnet details: {s:?}")
    };
    (s.status, s.requests, d)
}

fn s7(record: &AssetRecord) -> (Status, u32, &S7Details) {
    let s = record
        .services
        .iter()
        .find(|s| s.protocol == Protocol::S7)
        .unwrap();
    let Some(ServiceDetails::S7(d)) = &s.details else {
        panic!("no S7 details: {s:?}")
    };
    (s.status, s.requests, d)
}

fn text(t: &Option<scanner_core::record::DeviceText>) -> Option<&str> {
    t.as_ref().map(|t| t.text.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_controllers_and_s7_cpus_are_identified_or_their_refusals_recorded() {
    let plant = Plant::start(PlantSpec::plant(BASE, PORTS)).unwrap();
    let scan = Scanner::new(config(
        "127.83.0.40-127.83.0.57",
        &[Protocol::S7, Protocol::Bacnet, Protocol::Snmp],
    ))
    .scan();
    let records: BTreeMap<IpAddr, AssetRecord> = scan.map(|r| (r.ip, r)).collect().await;
    let frames = plant.recorder().frames();
    let connections: Vec<_> = (40..=57)
        .map(|h| plant.recorder().connection_stats(ip(h)))
        .collect();
    plant.shutdown().await;

    let hosts: Vec<IpAddr> = [40, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 55, 56, 57]
        .map(ip)
        .to_vec();
    assert_eq!(records.keys().copied().collect::<Vec<_>>(), hosts);

    // .40: a well-behaved controller: everything from one ReadPropertyMultiple.
    let nae = &records[&ip(40)];
    assert_eq!(nae.vendor.as_deref(), Some("Johnson Controls"));
    assert_eq!(
        nae.vendor_id,
        Some(VendorId {
            space: VendorIdSpace::Bacnet,
            id: 5
        })
    );
    assert_eq!(nae.model.as_deref(), Some("MS-NAE5510-2"));
    assert_eq!(nae.firmware_version.as_deref(), Some("11.0.0.611"));
    assert_eq!(nae.hostname.as_deref(), Some("NAE-BLDG-A"));
    assert_eq!(nae.sources["vendor"], Protocol::Bacnet);
    let (status, requests, d) = bacnet(nae);
    assert_eq!((status, requests), (Status::Success, 1));
    assert_eq!(d.device_instance, Some(1040));
    assert_eq!(
        text(&d.application_software_version),
        Some("NAE 11.0 (simulated)")
    );
    assert_eq!(text(&d.location), Some("Building A, mechanical room 1"));
    assert!(d.refusals.is_empty() && d.warnings.is_empty(), "{d:?}");

    // .41 rejects ReadPropertyMultiple: one request, then nine single reads.
    let (status, requests, d) = bacnet(&records[&ip(41)]);
    assert_eq!((status, requests), (Status::Success, 10));
    assert_eq!(d.device_instance, Some(8041));
    assert_eq!(text(&d.vendor_name), Some("Delta Controls"));
    assert_eq!(text(&d.description), Some("AHU 1 controller (simulated)"));
    assert!(matches!(
        d.refusals[..],
        [BacnetRefusal::Reject { reason: 9, .. }]
    ));

    // .42 refuses the wildcard instance: a unicast Who-Is learns it, then RPM works.
    let (status, requests, d) = bacnet(&records[&ip(42)]);
    assert_eq!((status, requests), (Status::Success, 3));
    assert_eq!(d.device_instance, Some(2_098_178));
    assert_eq!(
        (d.max_apdu, d.segmentation.as_deref()),
        (Some(1476), Some("segmented-both"))
    );
    // Charset 0 that is not UTF-8 is read as Windows-1252 and keeps its bytes; ISO
    // 8859-1 is decoded.
    let description = d.description.as_ref().unwrap();
    assert_eq!(
        description.hex.as_deref(),
        Some("4865697a756e6720fcff2053fc64")
    );
    assert_eq!(description.text, "Heizung üÿ Süd");
    assert_eq!(description.encoding.as_deref(), Some("windows-1252"));
    assert_eq!(text(&d.location), Some("Gebäude Süd, UG"));
    assert!(matches!(
        d.refusals[..],
        [BacnetRefusal::Error {
            error_class: Some(1),
            error_code: Some(31),
            ..
        }]
    ));

    // .43 answers through a BBMD, as a device behind a router.
    let (status, _, d) = bacnet(&records[&ip(43)]);
    assert_eq!(status, Status::Success);
    assert_eq!(
        d.forwarded_from.as_deref(),
        Some(format!("127.83.0.43:{}", PORTS.bacnet).as_str())
    );
    assert_eq!(
        (d.source_network, d.source_mac.as_deref()),
        (Some(2001), Some("0c"))
    );
    assert!(d.description.is_none());
    assert!(
        d.warnings.iter().any(|w| w.contains("description")),
        "{d:?}"
    );
    assert_eq!(records[&ip(43)].vendor.as_deref(), Some("Automated Logic"));

    // .44's answer would need segmentation: Abort, then single reads that fit.
    let (status, requests, d) = bacnet(&records[&ip(44)]);
    assert_eq!((status, requests), (Status::Success, 10));
    assert!(matches!(
        d.refusals[..],
        [BacnetRefusal::Abort { reason: 4, .. }]
    ));
    assert_eq!(text(&d.model_name), Some("Spyder PUB6438S"));

    // .46 names itself in Windows-1252 under charset 0 and puts placeholders where the
    // vendor, model and firmware go: the name reads "Café", the placeholders are kept in
    // the details but are no identity, and the vendor comes from the vendor id.
    let jace = &records[&ip(46)];
    assert_eq!(jace.hostname.as_deref(), Some("Chaufferie Café"));
    assert_eq!(jace.vendor.as_deref(), Some("Tridium"));
    assert_eq!((&jace.model, &jace.firmware_version), (&None, &None));
    let (status, _, d) = bacnet(jace);
    assert_eq!(status, Status::Success);
    assert_eq!(text(&d.vendor_name), Some("unknown"));
    assert_eq!(text(&d.model_name), Some("-"));
    let name = d.object_name.as_ref().unwrap();
    assert_eq!(
        (name.hex.as_deref(), name.encoding.as_deref()),
        (Some("4368617566666572696520436166e9"), Some("windows-1252"))
    );

    // .45 refuses every read, but its I-Am still names the instance and the vendor id,
    // whose name comes from ASHRAE's list.
    let refuse_all = &records[&ip(45)];
    let (status, requests, d) = bacnet(refuse_all);
    assert_eq!((status, requests), (Status::Success, 3));
    assert_eq!((d.device_instance, d.vendor_id), (Some(2045), Some(2)));
    assert_eq!(refuse_all.vendor.as_deref(), Some("Trane"));
    assert!(matches!(
        d.refusals[0],
        BacnetRefusal::Error {
            error_class: Some(0),
            error_code: Some(25),
            ..
        }
    ));

    // .50: an S7-300 with an SNMP agent is one record; S7 names the identity first.
    let s7_300 = &records[&ip(50)];
    assert_eq!(s7_300.vendor.as_deref(), Some("Siemens"));
    assert_eq!(s7_300.product_code.as_deref(), Some("6ES7 315-2EH14-0AB0"));
    assert_eq!(s7_300.model.as_deref(), Some("CPU 315-2 PN/DP"));
    assert_eq!(s7_300.serial_number.as_deref(), Some("S C-X4U421302009"));
    assert_eq!(s7_300.firmware_version.as_deref(), Some("V3.2.8"));
    assert_eq!(s7_300.device_type, Some(DeviceType::Plc));
    assert_eq!(s7_300.hostname.as_deref(), Some("s7-315-filler"));
    assert_eq!(s7_300.mac.as_deref(), Some("00:1b:1b:21:04:a7"));
    assert_eq!(s7_300.sources["serial_number"], Protocol::S7);
    assert_eq!(s7_300.sources["hostname"], Protocol::Snmp);
    let statuses: Vec<_> = s7_300
        .services
        .iter()
        .map(|s| (s.protocol, s.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (Protocol::S7, Status::Success),
            (Protocol::Bacnet, Status::ConnectionRefused),
            (Protocol::Snmp, Status::Success)
        ]
    );
    let (_, requests, d) = s7(s7_300);
    // Connection, Connection Request, setup, two SZL reads.
    assert_eq!(requests, 5);
    assert_eq!((d.tsap, d.pdu_length), (Some(0x0102), Some(240)));
    assert_eq!(d.hardware_version.as_deref(), Some("4"));
    assert_eq!(text(&d.system_name), Some("SIMATIC 300(1)"));
    assert_eq!(text(&d.plant_id), Some("FILLER-LINE-1"));
    assert_eq!(text(&d.copyright), Some("Original Siemens Equipment"));

    // .51: an S7-400 that refuses rack 0 slot 2 with a Disconnect and takes 0x0200.
    let (status, requests, d) = s7(&records[&ip(51)]);
    assert_eq!((status, requests), (Status::Success, 7));
    assert_eq!(d.tsap, Some(0x0200));
    assert_eq!(d.refused_tsaps.len(), 1);
    assert_eq!(
        (
            d.refused_tsaps[0].tsap,
            d.refused_tsaps[0].how.as_str(),
            d.refused_tsaps[0].reason
        ),
        (0x0102, "disconnect", Some(3))
    );
    assert_eq!(text(&d.memory_card_serial), Some("MMC 2C45A61B"));
    assert_eq!(text(&d.location), Some("Hall 3, cabinet 12"));
    assert_eq!(records[&ip(51)].firmware_version.as_deref(), Some("V7.0.3"));

    // .52: an S7-1200 that closes on unknown TSAPs, declares 30-byte SZL 0x0011 records
    // (decoded by that length) and refuses SZL 0x001C.
    let s7_1200 = &records[&ip(52)];
    let (status, requests, d) = s7(s7_1200);
    assert_eq!((status, requests), (Status::Success, 9));
    assert_eq!(d.tsap, Some(0x0100));
    let refused: Vec<_> = d
        .refused_tsaps
        .iter()
        .map(|r| (r.tsap, r.how.as_str()))
        .collect();
    assert_eq!(refused, [(0x0102, "closed"), (0x0200, "closed")]);
    assert_eq!(s7_1200.product_code.as_deref(), Some("6ES7 214-1AG40-0XB0"));
    assert_eq!(s7_1200.firmware_version.as_deref(), Some("V4.5.2"));
    assert_eq!(
        (d.szl_error_code, d.szl_return_code),
        (Some(0xD401), Some(0x0A))
    );
    assert!(
        d.warnings.iter().any(|w| w.contains("record length 30")),
        "{d:?}"
    );

    // .53: an S7-1500 that accepts the connection and refuses classic S7.
    let (status, requests, d) = s7(&records[&ip(53)]);
    assert_eq!((status, requests), (Status::ApplicationError, 3));
    assert_eq!(
        (d.tsap, d.error_class, d.error_code),
        (Some(0x0102), Some(0x81), Some(0x04))
    );
    assert!(records[&ip(53)].services[0]
        .error
        .as_deref()
        .unwrap()
        .contains("0x81"));

    // .54: setup works, every SZL read is refused.
    let (status, _, d) = s7(&records[&ip(54)]);
    assert_eq!(status, Status::ApplicationError);
    assert_eq!((d.pdu_length, d.szl_error_code), (Some(240), Some(0xD401)));

    // .55 disconnects every TSAP: three tries, each on its own connection.
    let (status, requests, d) = s7(&records[&ip(55)]);
    assert_eq!((status, requests), (Status::ApplicationError, 6));
    assert_eq!(
        d.refused_tsaps.iter().map(|r| r.tsap).collect::<Vec<_>>(),
        [0x0102, 0x0200, 0x0100]
    );

    // .56 declares LENTHDR 0 and N_DR 1 over three 28-byte 0x0011 records, and 32-byte
    // records over 34-byte 0x001C ones: every record decoded by the standard layout.
    let lying = &records[&ip(56)];
    let (status, requests, d) = s7(lying);
    assert_eq!((status, requests), (Status::Success, 5));
    assert_eq!(text(&d.order_number), Some("6ES7 317-2EK14-0AB0"));
    assert_eq!(d.hardware_version.as_deref(), Some("3"));
    assert_eq!(d.firmware_version.as_deref(), Some("V3.2.14"));
    assert_eq!(text(&d.system_name), Some("SIMATIC 300(2)"));
    assert_eq!(text(&d.copyright), Some("Original Siemens Equipment"));
    assert_eq!(text(&d.serial_number), Some("S C-L7A812340123"));
    assert_eq!(text(&d.module_type), Some("CPU 317-2 PN/DP"));
    assert_eq!(lying.model.as_deref(), Some("CPU 317-2 PN/DP"));
    assert_eq!(lying.serial_number.as_deref(), Some("S C-L7A812340123"));
    assert_eq!(lying.firmware_version.as_deref(), Some("V3.2.14"));
    let standard: Vec<_> = d
        .warnings
        .iter()
        .filter(|w| w.contains("standard"))
        .collect();
    assert_eq!(standard.len(), 2, "{:?}", d.warnings);
    assert!(standard[0].contains("0x0011") && standard[0].contains("28-byte"));
    assert!(standard[1].contains("0x001c") && standard[1].contains("34-byte"));
    assert!(
        d.warnings.iter().any(|w| w.contains("declares 1 records")),
        "{:?}",
        d.warnings
    );

    // .57 sends its ten 0x001C records in two data units: one follow-up brings the rest.
    let units = &records[&ip(57)];
    let (status, requests, d) = s7(units);
    assert_eq!((status, requests), (Status::Success, 6));
    assert_eq!(text(&d.system_name), Some("SIMATIC 400H(1)"));
    assert_eq!(text(&d.plant_id), Some("TURBINE-HALL-2"));
    // Records 7 to 11 come in the second unit, record 7 cut across the two.
    assert_eq!(text(&d.module_type), Some("CPU 412-5H PN/DP"));
    assert_eq!(text(&d.memory_card_serial), Some("MMC 5E31A0C7"));
    assert_eq!(text(&d.location), Some("Turbine hall 2, rack A"));
    assert_eq!(units.serial_number.as_deref(), Some("S C-H2F735510442"));
    assert_eq!(units.firmware_version.as_deref(), Some("V6.0.10"));
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);

    // What the devices received: only read-only identification requests, never two
    // connections to one device at once.
    let mut seen: BTreeMap<IpAddr, Vec<Request>> = BTreeMap::new();
    for frame in &frames {
        let request = common::audit_and_classify(frame, PORTS);
        seen.entry(frame.device.ip()).or_default().push(request);
    }
    for stats in &connections {
        assert!(stats.max_concurrent <= 1, "{stats:?}");
    }
    let wildcard_rpm = Request::Bacnet {
        pdu: 0,
        service: 0x0E,
        instance: 0x3F_FFFF,
    };
    assert_eq!(seen[&ip(40)], std::slice::from_ref(&wildcard_rpm));
    assert_eq!(
        seen[&ip(42)],
        [
            wildcard_rpm,
            Request::Bacnet {
                pdu: 1,
                service: 0x08,
                instance: 0
            },
            Request::Bacnet {
                pdu: 0,
                service: 0x0E,
                instance: 2_098_178
            },
        ]
    );
    assert_eq!(
        seen[&ip(52)],
        [0x0102, 0x0200, 0x0100]
            .map(|t| Request::S7(S7Request::Cr(t)))
            .into_iter()
            .chain([
                Request::S7(S7Request::Setup),
                Request::S7(S7Request::Szl(0x0011)),
                Request::S7(S7Request::Szl(0x001C)),
            ])
            .collect::<Vec<_>>()
    );
    // The follow-up repeats the sequence number the CPU gave its first data unit (1).
    assert_eq!(
        seen[&ip(57)],
        [
            Request::S7(S7Request::Cr(0x0102)),
            Request::S7(S7Request::Setup),
            Request::S7(S7Request::Szl(0x0011)),
            Request::S7(S7Request::Szl(0x001C)),
            Request::S7(S7Request::SzlNext(1)),
        ]
    );
}

/// `--probes bacnet,s7` against addresses where nothing listens: the probes end at the first
/// refusal (ICMP port unreachable, TCP RST) and the addresses get no record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_ports_cost_one_request_each_and_make_no_record() {
    let scan = Scanner::new(config("127.83.1.0/28", &[Protocol::Bacnet, Protocol::S7]));
    let mut scan = scan.scan();
    let progress = scan.progress();
    assert!(scan.next().await.is_none());
    let p = progress.borrow().clone();
    assert_eq!(p.finished, 16);
    assert_eq!(p.requests_by_protocol[&Protocol::Bacnet], 16);
    assert_eq!(p.requests_by_protocol[&Protocol::S7], 16);
    assert_eq!(p.statuses[&Status::ConnectionRefused], 32);
}

/// A configured TSAP list replaces the default one: the S7-400 in slot 3 is reached on its
/// own TSAP at the first try.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_tsap_list_is_tried_instead_of_the_default() {
    let base = Ipv4Addr::new(127, 83, 2, 0);
    let plant = Plant::start(PlantSpec::plant(base, PORTS)).unwrap();
    let mut config = config("127.83.2.51", &[Protocol::S7]);
    config.protocols.s7.tsaps = vec![Tsap::rack_slot(ConnectionType::Pg, 0, 3).unwrap()];
    let records: Vec<AssetRecord> = Scanner::new(config).scan().collect().await;
    let frames = plant.recorder().frames();
    plant.shutdown().await;
    let (status, requests, d) = s7(&records[0]);
    assert_eq!(
        (status, requests, d.tsap),
        (Status::Success, 5, Some(0x0103))
    );
    assert!(d.refused_tsaps.is_empty());
    let first = common::audit_and_classify(&frames[0], PORTS);
    assert_eq!(first, Request::S7(S7Request::Cr(0x0103)));
}

/// `source_port`: every BACnet request of the scan leaves from that one port, shared by the
/// concurrent device sessions, and each session still gets its own device's replies. A port
/// another program holds is an error on the service, named, not a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_bacnet_source_port_is_shared_by_every_device_session() {
    const SOURCE: u16 = 15983;
    let base = Ipv4Addr::new(127, 83, 3, 0);
    let plant = Plant::start(PlantSpec::plant(base, PORTS)).unwrap();
    let mut config = config("127.83.3.40-127.83.3.45", &[Protocol::Bacnet]);
    config.protocols.bacnet.source_port = Some(SOURCE);
    let records: Vec<AssetRecord> = Scanner::new(config.clone()).scan().collect().await;
    let frames = plant.recorder().frames();
    assert_eq!(records.len(), 6);
    let identified = records
        .iter()
        .filter(|r| bacnet(r).0 == Status::Success)
        .count();
    assert_eq!(identified, 6, "the refuse-all controller by its I-Am");
    assert!(!frames.is_empty());
    assert!(frames.iter().all(|f| f.peer.port() == SOURCE), "{frames:?}");

    // Held by a socket without SO_REUSEPORT, as another BACnet stack would hold 47808.
    let holder = std::net::UdpSocket::bind(("0.0.0.0", SOURCE + 1)).unwrap();
    config.protocols.bacnet.source_port = Some(SOURCE + 1);
    config.emit_all = true;
    let records: Vec<AssetRecord> = Scanner::new(config).scan().collect().await;
    drop(holder);
    plant.shutdown().await;
    for r in &records {
        let s = &r.services[0];
        assert_eq!(s.status, Status::UnknownError, "{s:?}");
        assert!(
            s.error
                .as_deref()
                .unwrap()
                .contains("cannot bind UDP source port 15984"),
            "{s:?}"
        );
    }
}
