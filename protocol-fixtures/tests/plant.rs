//! Starts the built-in plants on loopback and checks they answer as their specs say, and that
//! shutting down frees every port.

use std::{
    collections::BTreeSet,
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use protocol_fixtures::{ModbusQuirk, Plant, PlantSpec, RdiBehaviour};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    time::timeout,
};

async fn read_device_id(addr: SocketAddr, unit: u8) -> Option<Vec<u8>> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = [0, 1, 0, 0, 0, 5, unit, 0x2B, 0x0E, 0x01, 0x00];
    stream.write_all(&request).await.unwrap();
    let mut header = [0u8; 7];
    timeout(Duration::from_millis(300), stream.read_exact(&mut header))
        .await
        .ok()?
        .unwrap();
    let mut pdu = vec![0u8; usize::from(header[5]) - 1];
    stream.read_exact(&mut pdu).await.unwrap();
    Some(pdu)
}

#[test]
fn specs_have_unique_names_and_addresses_in_one_slash_24() {
    let base = Ipv4Addr::new(127, 1, 0, 0);
    let demo = PlantSpec::demo(base, 502);
    let subnet = PlantSpec::test_subnet(base, 502);
    assert!((6..=10).contains(&demo.devices.len()));
    assert!(subnet.devices.len() > demo.devices.len());
    for spec in [&demo, &subnet] {
        let names: BTreeSet<_> = spec.devices.iter().map(|d| d.name.as_str()).collect();
        let ips: BTreeSet<_> = spec.devices.iter().map(|d| d.ip).collect();
        assert_eq!(names.len(), spec.devices.len());
        assert_eq!(ips.len(), spec.devices.len());
        assert!(ips.iter().all(|ip| ip.octets()[..3] == [127, 1, 0]));
    }
    let odd = demo.device("odd-conformity").unwrap();
    assert_eq!(
        odd.modbus.as_ref().unwrap().1.quirk,
        ModbusQuirk::UnknownConformity(0x04)
    );
}

#[tokio::test]
async fn demo_plant_answers_per_spec_and_shutdown_frees_ports() {
    let spec = PlantSpec::demo(Ipv4Addr::new(127, 78, 0, 0), 15502);
    let plant = Plant::start(spec.clone()).unwrap();
    assert_eq!(plant.devices().len(), spec.devices.len());

    for device in plant.devices() {
        if let Some((port, config)) = &device.spec.modbus {
            let addr = device.modbus.unwrap();
            assert_eq!((addr.ip(), addr.port()), (device.spec.ip.into(), *port));
            let unit = (0..=255).find(|u| config.unit_ids.answers(*u)).unwrap();
            let pdu = read_device_id(addr, unit).await.unwrap();
            if config.read_device_id == RdiBehaviour::Normal {
                assert_eq!(pdu[..2], [0x2B, 0x0E], "{}", device.spec.name);
                let vendor = &config.objects[&0];
                assert_eq!(pdu[9..9 + vendor.len()], vendor[..], "{}", device.spec.name);
            } else {
                assert_eq!(pdu, [0xAB, 0x01]);
            }
        }
    }
    let silent = plant.device("silent-hmi").unwrap().silent_tcp.unwrap();
    assert_eq!(read_device_id(silent, 0).await, None);
    let frames = plant.recorder().frames_for(silent.ip());
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].protocol, "raw");

    let gateway = plant.device("gateway-meter").unwrap().modbus.unwrap();
    assert_eq!(read_device_id(gateway, 2).await.unwrap(), [0xAB, 0x0B]);
    let drive = plant.device("drive-unit0").unwrap().modbus.unwrap();
    assert_eq!(read_device_id(drive, 255).await, None);

    let addrs: Vec<SocketAddr> = plant
        .devices()
        .iter()
        .flat_map(|d| d.modbus.into_iter().chain(d.silent_tcp))
        .collect();
    plant.shutdown().await;
    for addr in addrs {
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "{addr} still accepts"
        );
        drop(TcpListener::bind(addr).await.unwrap());
    }
}

#[tokio::test]
async fn test_subnet_starts_on_free_ports_and_drop_tears_down() {
    let plant = Plant::start(PlantSpec::test_subnet(Ipv4Addr::new(127, 79, 0, 0), 0)).unwrap();
    let big = plant.device("big-objects").unwrap().modbus.unwrap();
    let mut stream = TcpStream::connect(big).await.unwrap();
    stream
        .write_all(&[0, 1, 0, 0, 0, 5, 0, 0x2B, 0x0E, 0x03, 0x80])
        .await
        .unwrap();
    let mut header = [0u8; 7];
    stream.read_exact(&mut header).await.unwrap();
    let mut pdu = vec![0u8; usize::from(u16::from_be_bytes([header[4], header[5]])) - 1];
    stream.read_exact(&mut pdu).await.unwrap();
    assert!(pdu.len() <= 253);
    assert_eq!(pdu[4..7], [0xFF, 0x82, 2]);

    let addr = plant.device("rdi-silent").unwrap().modbus.unwrap();
    drop(plant);
    // Abort on drop is asynchronous: give the runtime a moment to run the cancellations.
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{addr} still accepts after the plant was dropped");
}
