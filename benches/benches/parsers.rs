//! Micro-benchmarks of each reply parser and request encoder:
//! `cargo bench -p otscan-benches --bench parsers`.
//!
//! The replies are real ones: at start the bench runs the simulated plant on loopback
//! (127.66.0.0/24, free ports), sends each request once and keeps the bytes that come back, so
//! the parsers are measured on exactly what the fixtures serve (a Modbus regular-objects page,
//! an EtherNet/IP ListIdentity and ListServices reply, SNMP v2c system-group and v3 discovery
//! replies).

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::OnceLock,
    time::Duration,
};

use divan::{black_box, Bencher};
use protocol_fixtures::{Plant, PlantPorts, PlantSpec};
use scanner_core::{
    protocols::{
        enip,
        modbus::{self, ReadDeviceIdCode},
        snmp::{self, SnmpRead, SnmpVersion},
    },
    ReadOnlyRequest,
};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpStream, UdpSocket},
};

fn main() {
    divan::main();
}

/// The system group, as otscan asks for it.
const SYSTEM_GROUP: [&[u32]; 4] = [
    &[1, 3, 6, 1, 2, 1, 1, 1, 0],
    &[1, 3, 6, 1, 2, 1, 1, 2, 0],
    &[1, 3, 6, 1, 2, 1, 1, 3, 0],
    &[1, 3, 6, 1, 2, 1, 1, 5, 0],
];

fn modbus_regular() -> ReadOnlyRequest {
    ReadOnlyRequest::Modbus(modbus::Request::ReadDeviceId {
        unit_id: 255,
        read_code: ReadDeviceIdCode::Regular,
        object_id: 0,
    })
}

fn snmp_get() -> ReadOnlyRequest {
    ReadOnlyRequest::Snmp(snmp::Request::Read {
        version: SnmpVersion::V2c,
        community: b"public".to_vec(),
        read: SnmpRead::Get,
        oids: SYSTEM_GROUP.iter().map(|o| o.to_vec()).collect(),
    })
}

struct Replies {
    modbus: Vec<u8>,
    enip_identity: Vec<u8>,
    enip_services: Vec<u8>,
    snmp_get: Vec<u8>,
    snmp_v3: Vec<u8>,
}

async fn tcp_exchange(
    addr: SocketAddr,
    request: &[u8],
    len: impl Fn(&[u8]) -> Option<usize>,
) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect to the fixture");
    stream.write_all(request).await.expect("send");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(n) = len(&buf) {
            if buf.len() >= n {
                buf.truncate(n);
                return buf;
            }
        }
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the fixture closed before a whole reply");
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn udp_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    socket.connect(addr).await.expect("connect");
    socket.send(request).await.expect("send");
    let mut buf = vec![0u8; 65_536];
    let n = tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf))
        .await
        .expect("the agent answers")
        .expect("recv");
    buf.truncate(n);
    buf
}

fn replies() -> &'static Replies {
    static REPLIES: OnceLock<Replies> = OnceLock::new();
    REPLIES.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        runtime.block_on(async {
            let ports = PlantPorts::EPHEMERAL;
            let plant = Plant::start(PlantSpec::plant(Ipv4Addr::new(127, 66, 0, 0), ports))
                .expect("start the simulated plant on 127.66.0.0/24");
            let service =
                |name: &str, pick: fn(&protocol_fixtures::PlantDevice) -> Option<SocketAddr>| {
                    plant
                        .device(name)
                        .and_then(pick)
                        .unwrap_or_else(|| panic!("{name} in the plant"))
                };
            let plc = service("plc-m340", |d| d.modbus);
            let l61 = service("plc-l61", |d| d.enip);
            let ups = service("ups-smt1500", |d| d.snmp);
            let mbap = |b: &[u8]| {
                (b.len() >= 6).then(|| 6 + usize::from(u16::from_be_bytes([b[4], b[5]])))
            };
            let encap = |b: &[u8]| {
                (b.len() >= 24).then(|| 24 + usize::from(u16::from_le_bytes([b[2], b[3]])))
            };
            let replies = Replies {
                modbus: tcp_exchange(plc, &modbus_regular().encode(1), mbap).await,
                enip_identity: tcp_exchange(
                    l61,
                    &ReadOnlyRequest::Enip(enip::Request::ListIdentity).encode(7),
                    encap,
                )
                .await,
                enip_services: tcp_exchange(
                    l61,
                    &ReadOnlyRequest::Enip(enip::Request::ListServices).encode(8),
                    encap,
                )
                .await,
                snmp_get: udp_exchange(ups, &snmp_get().encode(42)).await,
                snmp_v3: udp_exchange(
                    ups,
                    &ReadOnlyRequest::Snmp(snmp::Request::V3Discovery).encode(43),
                )
                .await,
            };
            plant.shutdown().await;
            replies
        })
    })
}

mod parse {
    use super::*;

    #[divan::bench]
    fn modbus_device_id_page(b: Bencher<'_, '_>) {
        let bytes = &replies().modbus;
        assert!(modbus::codec::parse(bytes).is_ok());
        b.bench(|| modbus::codec::parse(black_box(bytes)));
    }

    #[divan::bench]
    fn enip_list_identity(b: Bencher<'_, '_>) {
        let bytes = &replies().enip_identity;
        assert!(enip::codec::parse(bytes).is_ok());
        b.bench(|| enip::codec::parse(black_box(bytes)));
    }

    #[divan::bench]
    fn enip_list_services(b: Bencher<'_, '_>) {
        let bytes = &replies().enip_services;
        assert!(enip::codec::parse(bytes).is_ok());
        b.bench(|| enip::codec::parse(black_box(bytes)));
    }

    #[divan::bench]
    fn snmp_v2c_system_group(b: Bencher<'_, '_>) {
        let bytes = &replies().snmp_get;
        assert!(snmp::codec::parse(bytes).is_ok());
        b.bench(|| snmp::codec::parse(black_box(bytes)));
    }

    #[divan::bench]
    fn snmp_v3_discovery_report(b: Bencher<'_, '_>) {
        let bytes = &replies().snmp_v3;
        assert!(snmp::codec::parse(bytes).is_ok());
        b.bench(|| snmp::codec::parse(black_box(bytes)));
    }
}

mod encode {
    use super::*;

    #[divan::bench]
    fn modbus_read_device_id() -> Vec<u8> {
        black_box(modbus_regular()).encode(black_box(1))
    }

    #[divan::bench]
    fn modbus_report_server_id() -> Vec<u8> {
        black_box(ReadOnlyRequest::Modbus(modbus::Request::ReportServerId {
            unit_id: 255,
        }))
        .encode(black_box(1))
    }

    #[divan::bench]
    fn enip_list_identity() -> Vec<u8> {
        black_box(ReadOnlyRequest::Enip(enip::Request::ListIdentity)).encode(black_box(7))
    }

    #[divan::bench]
    fn snmp_v2c_get_system_group(b: Bencher<'_, '_>) {
        let request = snmp_get();
        b.bench(|| black_box(&request).encode(black_box(42)));
    }

    #[divan::bench]
    fn snmp_v3_discovery() -> Vec<u8> {
        black_box(ReadOnlyRequest::Snmp(snmp::Request::V3Discovery)).encode(black_box(43))
    }
}
