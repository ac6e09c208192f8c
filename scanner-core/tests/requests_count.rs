//! One meaning of `services[].requests` for every protocol: the packets the probe put on
//! the wire, connection attempts and UDP retries included. Checked per registered
//! protocol against what the simulated devices saw: the recorder's accepted connections
//! plus the frames each device received on the probe's port and transport.

use std::net::Ipv4Addr;
use std::num::NonZeroUsize;
use std::time::Duration;

use futures::StreamExt;

mod common;
use protocol_fixtures::{
    DeviceSpec, ModbusDeviceConfig, ModbusQuirk, OtherUnitIds, Plant, PlantPorts, PlantSpec,
    Transport as FixtureTransport, UnitIdPolicy,
};
use scanner_core::protocols::enip::{EnipConfig, EnipTransport};
use scanner_core::protocols::snmp::SnmpConfig;
use scanner_core::record::Transport;
use scanner_core::{AssetRecord, Protocol, Rate, ScanConfig, Scanner, Status, Targets};

const BASE: Ipv4Addr = Ipv4Addr::new(127, 92, 0, 0);
const PORTS: PlantPorts = PlantPorts::block(20352);

fn host(h: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(BASE) | u32::from(h))
}

/// The mixed plant, a gateway that refuses every unit id (each asked: reconnects after
/// silent ones count too) and a device whose continuation never ends.
fn plant() -> PlantSpec {
    let mut spec = PlantSpec::plant(BASE, PORTS);
    spec.devices.push(
        DeviceSpec::new(host(200), "gateway-every-unit").with_modbus(
            PORTS.modbus,
            ModbusDeviceConfig::new("Simulated Gateways", "GW-1", "1.0")
                .with_unit_ids(UnitIdPolicy::only([], OtherUnitIds::GatewayTargetFailed)),
        ),
    );
    spec.devices.push(
        DeviceSpec::new(host(201), "endless-continuation").with_modbus(
            PORTS.modbus,
            ModbusDeviceConfig::new("Simulated Vendor", "SIM-LOOP", "0.1")
                .with_max_objects_per_page(1)
                .with_quirk(ModbusQuirk::EndlessContinuation),
        ),
    );
    spec
}

async fn scan(config: ScanConfig) -> Vec<AssetRecord> {
    Scanner::new(config).scan().collect().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_counts_what_it_put_on_the_wire() {
    let spec = plant();
    let plant = Plant::start(spec.clone()).unwrap();
    for &protocol in Protocol::ALL {
        plant.recorder().clear();
        let mut listening_services = 0;
        let builder = ScanConfig::builder()
            .targets(Targets::parse([format!("{BASE}/24")]).unwrap())
            .probes([protocol])
            .rate(Rate::per_second(5000).unwrap())
            .per_device_interval(Duration::from_millis(2))
            .concurrency(NonZeroUsize::new(256).unwrap())
            .timeout(Duration::from_millis(300))
            .max_requests_per_device(400)
            .emit_all(true)
            // Both transports, and every community (unanswered ones are retried).
            .enip(EnipConfig {
                transport: EnipTransport::Both,
                ..EnipConfig::default()
            })
            .snmp(SnmpConfig {
                communities: ["nobody", "public", "private", "ops-ro"]
                    .iter()
                    .map(|c| c.as_bytes().to_vec())
                    .collect(),
                ..SnmpConfig::default()
            });
        let config = common::at_plant_ports(builder, PORTS).build().unwrap();
        let records = scan(config).await;
        // A request nothing answers (OPC UA's CloseSecureChannel, sent just before the FIN)
        // can still be on its way to the fixture when the scan ends: wait until the recorder
        // has seen every frame (its count stops growing), at most a second.
        let mut seen = plant.recorder().frames().len();
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = plant.recorder().frames().len();
            if now == seen {
                break;
            }
            seen = now;
        }
        assert_eq!(records.len(), 256, "{protocol}");
        for record in &records {
            let frames = plant.recorder().frames_for(record.ip);
            let connections = plant.recorder().connection_stats(record.ip).accepted;
            for service in &record.services {
                assert_eq!(service.protocol, protocol);
                let transport = match service.transport {
                    Transport::Tcp => FixtureTransport::Tcp,
                    Transport::Udp => FixtureTransport::Udp,
                    Transport::Ethernet => panic!("a scan on layer 2: {service:?}"),
                };
                let received = frames
                    .iter()
                    .filter(|f| f.device.port() == service.port && f.transport == transport)
                    .count() as u64;
                let accepted = if transport == FixtureTransport::Tcp {
                    connections
                } else {
                    0
                };
                if received + accepted == 0 {
                    // Nothing listens: one connection attempt refused, or one datagram
                    // answered by ICMP port unreachable.
                    assert_eq!(
                        (service.status, service.requests),
                        (Status::ConnectionRefused, 1),
                        "{protocol} {} {:?}",
                        record.ip,
                        service.transport
                    );
                } else {
                    listening_services += 1;
                    assert_eq!(
                        u64::from(service.requests),
                        accepted + received,
                        "{protocol} {} {:?}: {} connections and {} frames seen, record says {}",
                        record.ip,
                        service.transport,
                        accepted,
                        received,
                        service.requests
                    );
                }
            }
        }
        let violations = plant.recorder().violations();
        assert!(violations.is_empty(), "{protocol}: {violations:?}");
        // The protocol's devices were reached, so the comparison above was not vacuous (five
        // of them, or every one for a protocol with fewer simulated devices).
        let serving = spec
            .devices
            .iter()
            .filter(|d| d.serves(protocol.name()))
            .count();
        assert!(serving >= 2, "{protocol}: {serving} devices");
        assert!(
            listening_services >= serving.min(5),
            "{protocol}: {listening_services}"
        );
    }
    plant.shutdown().await;
}
