//! HART-IP over real loopback sockets: the plant's instruments and multiplexers are
//! identified, the instruments behind a multiplexer are listed, the sub-device cap holds,
//! and refusals name their code.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroUsize;
use std::time::Duration;

use futures::StreamExt;

use protocol_fixtures::{Plant, PlantPorts, PlantSpec};
use scanner_core::protocols::hart::{HartConfig, HartDetails, MAX_SUB_DEVICES};
use scanner_core::record::{DeviceType, ServiceDetails};
use scanner_core::{AssetRecord, Protocol, Rate, ScanConfig, Scanner, Status, Targets};

const BASE: Ipv4Addr = Ipv4Addr::new(127, 113, 0, 0);
const PORTS: PlantPorts = PlantPorts::block(23_520);

fn ip(host: u8) -> IpAddr {
    let [a, b, c, _] = BASE.octets();
    IpAddr::V4(Ipv4Addr::new(a, b, c, host))
}

async fn scan() -> BTreeMap<IpAddr, AssetRecord> {
    let [a, b, c, _] = BASE.octets();
    let config = ScanConfig::builder()
        .targets(Targets::parse([format!("{a}.{b}.{c}.119-127")]).unwrap())
        .probes([Protocol::Hart])
        .rate(Rate::per_second(2000).unwrap())
        .per_device_interval(Duration::from_millis(2))
        .concurrency(NonZeroUsize::new(8).unwrap())
        .timeout(Duration::from_millis(500))
        .emit_all(true)
        .hart(HartConfig { port: PORTS.hart })
        .build()
        .unwrap();
    Scanner::new(config)
        .scan()
        .map(|r| (r.ip, r))
        .collect()
        .await
}

fn hart(record: &AssetRecord) -> (Status, Option<String>, u32, HartDetails) {
    let service = record
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Hart)
        .expect("a hart service");
    let details = match &service.details {
        Some(ServiceDetails::Hart(d)) => (**d).clone(),
        _ => HartDetails::default(),
    };
    (
        service.status,
        service.error.clone(),
        service.requests,
        details,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instruments_multiplexers_and_refusals() {
    let plant = Plant::start(PlantSpec::plant(BASE, PORTS)).unwrap();
    let records = scan().await;

    // A HART 7 transmitter: numbers, revisions, long tag; connect, session, 0, 20, close.
    let pt = &records[&ip(120)];
    let (status, _, requests, d) = hart(pt);
    assert_eq!((status, requests), (Status::Success, 5));
    assert_eq!(pt.model.as_deref(), Some("0x2641"));
    assert_eq!(pt.serial_number.as_deref(), Some("662316"));
    assert_eq!(pt.hostname.as_deref(), Some("PT-101 STEAM HEADER"));
    assert_eq!(pt.device_type, Some(DeviceType::FieldInstrument));
    assert_eq!(
        pt.firmware_version.as_deref(),
        Some("device rev 3, software rev 5, hardware rev 1 (HART 7)")
    );
    assert_eq!(d.manufacturer_id, Some(0x26));
    assert!(d.sub_devices.is_empty() && d.io_system.is_none());

    // A HART 5 instrument: no long tag (command 20 not implemented), still identified.
    let (status, _, _, d) = hart(&records[&ip(122)]);
    assert_eq!(status, Status::Success);
    assert_eq!(d.command_errors.len(), 1);
    assert_eq!(
        d.command_errors[0].response_code_name,
        "command not implemented"
    );

    // A multiplexer: a gateway with its three instruments listed.
    let mux = &records[&ip(123)];
    let (status, _, requests, d) = hart(mux);
    assert_eq!((status, requests), (Status::Success, 9));
    assert_eq!(mux.device_type, Some(DeviceType::Gateway));
    let tags: Vec<String> = d
        .sub_devices
        .iter()
        .filter_map(|s| s.long_tag.as_ref().and_then(|t| t.trimmed()))
        .collect();
    assert_eq!(tags, ["TT-301", "TT-302", "TT-303"]);
    assert_eq!(d.io_system.map(|c| c.devices_detected), Some(4));

    // Twelve sub-devices: eight read, four counted.
    let (_, _, requests, d) = hart(&records[&ip(124)]);
    assert_eq!(d.sub_devices.len(), usize::from(MAX_SUB_DEVICES));
    assert_eq!(d.sub_devices_not_read, Some(4));
    assert_eq!(
        u64::from(requests),
        scanner_core::protocols::ProbeConfig::max_requests(&HartConfig::default(), 0)
    );

    // Refusals name their code.
    let (status, error, _, _) = hart(&records[&ip(125)]);
    assert_eq!(status, Status::ApplicationError);
    assert!(error.unwrap().contains("all available sessions in use"));
    let (status, error, _, _) = hart(&records[&ip(126)]);
    assert_eq!(status, Status::ApplicationError);
    assert!(error
        .unwrap()
        .contains("command 0 response code 16 (access restricted)"));

    // A closed port: one SYN.
    let (status, _, requests, _) = hart(&records[&ip(119)]);
    assert_eq!((status, requests), (Status::ConnectionRefused, 1));
    plant.shutdown().await;
}

/// An I/O system that answers every command 84 with sub-device 1's summary: the record
/// lists that instrument once (and warns), not once per index asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sub_device_answer_for_another_index_is_not_listed_twice() {
    use protocol_fixtures::hart::{ack_frame, message, message_len, respond};
    use protocol_fixtures::HartSubDevice;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let first = HartSubDevice {
        io_card: 1,
        channel: 0,
        manufacturer_id: 0x37,
        expanded_device_type: 0x3701,
        device_id: 0x0200,
        hart_revision: 7,
        long_tag: "LT-200".to_owned(),
    };
    let subs = (0..3u8)
        .map(|channel| HartSubDevice {
            channel,
            ..first.clone()
        })
        .collect();
    let config =
        protocol_fixtures::HartDeviceConfig::io_system(0x26, 0x26F0, 0x1234, "MUX-1", subs);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let config = config.clone();
            tokio::spawn(async move {
                let (mut buf, mut session) = (Vec::new(), false);
                let mut chunk = [0u8; 1024];
                while let Ok(n @ 1..) = stream.read(&mut chunk).await {
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(len) = message_len(&buf) {
                        let request: Vec<u8> = buf.drain(..len).collect();
                        let frame = &request[8..];
                        let (answer, close) = if request[2] == 3 && frame.get(6) == Some(&84) {
                            let data = config.command84_data(1).unwrap();
                            let ack = ack_frame(&frame[1..6], 84, 0, 0, &data);
                            let seq = u16::from_be_bytes([request[4], request[5]]);
                            (Some(message(1, 3, 0, seq, &ack)), false)
                        } else {
                            respond(&config, &request, &mut session)
                        };
                        if let Some(answer) = answer {
                            stream.write_all(&answer).await.unwrap();
                        }
                        if close {
                            return;
                        }
                    }
                }
            });
        }
    });
    let config = ScanConfig::builder()
        .targets(Targets::parse(["127.0.0.1"]).unwrap())
        .probes([Protocol::Hart])
        .per_device_interval(Duration::from_millis(2))
        .timeout(Duration::from_millis(500))
        .hart(HartConfig { port })
        .build()
        .unwrap();
    let records: Vec<AssetRecord> = Scanner::new(config).scan().collect().await;
    let (status, _, _, d) = hart(&records[0]);
    assert_eq!(status, Status::Success);
    let indexes: Vec<u16> = d.sub_devices.iter().map(|s| s.index).collect();
    assert_eq!(indexes, vec![1], "{:?}", d.warnings);
    let warned = |text: &str| d.warnings.iter().any(|w| w.contains(text));
    assert!(warned("command 84 for sub-device 2 answered for index 1"));
}
