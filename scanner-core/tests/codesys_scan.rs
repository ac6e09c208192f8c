//! CODESYS V3 over real loopback sockets: simulated runtimes that answer, as real ones
//! do, at UDP 1740 of the sender rather than to the request's source are identified, each
//! device with its own answer when many are asked at once, and a program holding UDP 1740
//! on the scanning host gives a per-service status instead of a crash or a silence.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroUsize;
use std::time::Duration;

use futures::StreamExt;

use protocol_fixtures::{CodesysDeviceConfig, DeviceSpec, Plant, PlantSpec};
use scanner_core::protocols::codesys::CodesysConfig;
use scanner_core::record::DeviceType;
use scanner_core::{AssetRecord, Protocol, Rate, ScanConfig, Scanner, Status, Targets};

const BASE: [u8; 3] = [127, 113, 0];
/// The simulated runtimes' port (a runtime of port index 0 listens on 1740; 1740 itself is
/// otscan's reply port on the scanning host, so the runtimes sit elsewhere).
const PORT: u16 = 23_740;

fn ip(host: u8) -> Ipv4Addr {
    Ipv4Addr::new(BASE[0], BASE[1], BASE[2], host)
}

async fn scan(targets: &str, liveness: bool) -> BTreeMap<IpAddr, AssetRecord> {
    let config = ScanConfig::builder()
        .targets(Targets::parse([targets]).unwrap())
        .probes([Protocol::Codesys])
        .rate(Rate::per_second(2000).unwrap())
        .per_device_interval(Duration::from_millis(2))
        .concurrency(NonZeroUsize::new(16).unwrap())
        .timeout(Duration::from_millis(500))
        .udp_retries(0)
        .liveness(liveness)
        .emit_all(true)
        .codesys(CodesysConfig { port: PORT })
        .build()
        .unwrap();
    Scanner::new(config)
        .scan()
        .map(|r| (r.ip, r))
        .collect()
        .await
}

fn status(record: &AssetRecord) -> (Status, Option<String>) {
    let s = record
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Codesys)
        .expect("a codesys service");
    (s.status, s.error.clone())
}

fn plant(count: u8) -> Plant {
    let devices = (0..count)
        .map(|i| {
            DeviceSpec::new(ip(10 + i), format!("rts-{i}")).with_codesys(
                PORT,
                CodesysDeviceConfig::new(&format!("NODE-{i}"), "WAGO 750-8212 PFC200", "WAGO")
                    .with_target(0x1000, 0x1006_1200 + u32::from(i), [4, 2, 0, i]),
            )
        })
        .collect();
    Plant::start(PlantSpec { devices }).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtimes_answering_at_1740_are_each_identified_and_a_busy_reply_port_is_a_status() {
    let plant = plant(24);
    let records = scan(&format!("{}.{}.{}.10-34", BASE[0], BASE[1], BASE[2]), true).await;
    // Sixteen sessions share the reply port at once: every device gets its own answer.
    for i in 0..24u8 {
        let r = &records[&IpAddr::V4(ip(10 + i))];
        assert_eq!(status(r).0, Status::Success, "{r:?}");
        assert_eq!(r.hostname.as_deref(), Some(format!("NODE-{i}").as_str()));
        assert_eq!(
            r.firmware_version.as_deref(),
            Some(format!("4.2.0.{i}").as_str())
        );
        assert_eq!(r.vendor.as_deref(), Some("WAGO"));
        assert_eq!(r.device_type, Some(DeviceType::Plc));
    }
    // Nothing listens at .34: the closed port answers port unreachable.
    assert_eq!(
        status(&records[&IpAddr::V4(ip(34))]).0,
        Status::ConnectionRefused
    );
    // Every request the plant saw is the allowlisted resolve address.
    for frame in plant.recorder().frames() {
        protocol_fixtures::allowlist::check(frame.protocol, &frame.bytes).unwrap();
    }

    // Another program holds UDP 1740 without SO_REUSEPORT: nothing is sent, the service
    // says why, and no identity is claimed.
    let holder = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 1740)).unwrap();
    plant.recorder().clear();
    let records = scan(&format!("{}.{}.{}.10", BASE[0], BASE[1], BASE[2]), false).await;
    let r = &records[&IpAddr::V4(ip(10))];
    let (st, error) = status(r);
    assert_eq!(st, Status::UnknownError);
    assert!(error.unwrap().contains("UDP 1740 is held"), "{r:?}");
    assert_eq!(r.hostname, None);
    assert!(plant.recorder().frames().is_empty());
    drop(holder);
}
