//! MELSEC port lists over real loopback sockets: a CPU answering on the second port of the
//! list is found there, with the ports tried before it; a closed address costs one packet
//! per port; every TCP connection is closed before the next port.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroUsize;
use std::time::Duration;

use futures::StreamExt;

use protocol_fixtures::{DeviceSpec, MelsecDeviceConfig, Plant, PlantSpec};
use scanner_core::protocols::melsec::{MelsecConfig, MelsecDetails, PortTried};
use scanner_core::record::{DeviceType, ServiceDetails, Transport};
use scanner_core::{AssetRecord, Protocol, Rate, ScanConfig, Scanner, Status, Targets};

const BASE: [u8; 3] = [127, 95, 0];
/// The list's first port (where most CPUs of the plant answer) and its second.
const FIRST: u16 = 20_611;
const SECOND: u16 = 20_612;

fn ip(host: u8) -> Ipv4Addr {
    Ipv4Addr::new(BASE[0], BASE[1], BASE[2], host)
}

fn details(record: &AssetRecord, transport: Transport) -> (u16, Status, u32, MelsecDetails) {
    let service = record
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Melsec && s.transport == transport)
        .expect("a melsec service");
    let details = match &service.details {
        Some(ServiceDetails::Melsec(d)) => (**d).clone(),
        _ => MelsecDetails::default(),
    };
    (service.port, service.status, service.requests, details)
}

fn tried(list: &[(u16, &str)]) -> Vec<PortTried> {
    list.iter()
        .map(|&(port, status)| PortTried {
            port,
            status: status.to_owned(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_port_of_the_list_that_answers_is_recorded() {
    let spec = PlantSpec {
        devices: vec![
            DeviceSpec::new(ip(10), "on-first")
                .with_melsec(FIRST, MelsecDeviceConfig::new("R04CPU", 0x4800)),
            DeviceSpec::new(ip(11), "on-second")
                .with_melsec(SECOND, MelsecDeviceConfig::new("Q03UDVCPU", 0x0366)),
            DeviceSpec::new(ip(12), "tcp-only-on-second").with_melsec(
                SECOND,
                MelsecDeviceConfig::new("FX5U-32MT/ES", 0x4A23).tcp_only(),
            ),
        ],
    };
    let plant = Plant::start(spec).unwrap();
    let config = ScanConfig::builder()
        .targets(Targets::parse([format!("{}.{}.{}.10-13", BASE[0], BASE[1], BASE[2])]).unwrap())
        .probes([Protocol::Melsec])
        .rate(Rate::per_second(2000).unwrap())
        .per_device_interval(Duration::from_millis(2))
        .concurrency(NonZeroUsize::new(8).unwrap())
        .timeout(Duration::from_millis(400))
        .udp_retries(0)
        .emit_all(true)
        .melsec(MelsecConfig {
            tcp_ports: vec![FIRST, SECOND],
            udp_ports: vec![FIRST, SECOND],
        })
        .build()
        .unwrap();
    let records: BTreeMap<IpAddr, AssetRecord> = Scanner::new(config)
        .scan()
        .map(|r| (r.ip, r))
        .collect()
        .await;

    let first = &records[&IpAddr::V4(ip(10))];
    assert_eq!(first.model.as_deref(), Some("R04CPU"));
    let (port, status, requests, d) = details(first, Transport::Tcp);
    assert_eq!((port, status, requests), (FIRST, Status::Success, 2));
    assert_eq!(d.ports_tried, tried(&[(FIRST, "success")]));

    // Found on the second port, over both transports; the refused first port is counted.
    let second = &records[&IpAddr::V4(ip(11))];
    assert_eq!(second.model.as_deref(), Some("Q03UDVCPU"));
    assert_eq!(second.vendor.as_deref(), Some("Mitsubishi Electric"));
    assert_eq!(second.product_code.as_deref(), Some("0x0366"));
    assert_eq!(second.device_type, Some(DeviceType::Plc));
    for transport in [Transport::Tcp, Transport::Udp] {
        let (port, status, requests, d) = details(second, transport);
        assert_eq!((port, status), (SECOND, Status::Success), "{transport:?}");
        let expected = if transport == Transport::Tcp { 3 } else { 2 };
        assert_eq!(requests, expected, "{transport:?}");
        assert_eq!(
            d.ports_tried,
            tried(&[(FIRST, "connection-refused"), (SECOND, "success")])
        );
        assert_eq!(d.model_code, Some(0x0366));
    }

    // TCP only: UDP's closed ports are said, port by port, on the first port's entry.
    let tcp_only = &records[&IpAddr::V4(ip(12))];
    let (port, status, _, _) = details(tcp_only, Transport::Tcp);
    assert_eq!((port, status), (SECOND, Status::Success));
    let (port, status, requests, d) = details(tcp_only, Transport::Udp);
    assert_eq!(
        (port, status, requests),
        (FIRST, Status::ConnectionRefused, 2)
    );
    assert_eq!(
        d.ports_tried,
        tried(&[
            (FIRST, "connection-refused"),
            (SECOND, "connection-refused")
        ])
    );

    // Nothing there: one connection attempt and one datagram per port.
    let empty = &records[&IpAddr::V4(ip(13))];
    for transport in [Transport::Tcp, Transport::Udp] {
        let (port, status, requests, _) = details(empty, transport);
        assert_eq!(
            (port, status, requests),
            (FIRST, Status::ConnectionRefused, 2)
        );
    }

    // One connection per port tried, each closed before the next, and only the read.
    for host in [10, 11, 12] {
        let stats = plant.recorder().connection_stats(IpAddr::V4(ip(host)));
        assert_eq!(stats.max_concurrent, 1, "{host}: {stats:?}");
        assert_eq!(stats.open, 0, "{host}: {stats:?}");
    }
    assert!(plant.recorder().violations().is_empty());
    plant.shutdown().await;
}
