//! Starts the built-in plants on loopback and checks they answer as their specs say, and that
//! shutting down frees every port.

use std::{
    collections::BTreeSet,
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use protocol_fixtures::{
    enip::command, ModbusQuirk, Plant, PlantPorts, PlantSpec, RdiBehaviour, Transport,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream, UdpSocket},
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

fn list_identity() -> Vec<u8> {
    let mut request = vec![0u8; 24];
    request[0] = 0x63;
    request[12..20].copy_from_slice(b"plant-01");
    request
}

async fn enip_tcp(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut header = [0u8; 24];
    timeout(Duration::from_secs(2), stream.read_exact(&mut header))
        .await
        .expect("reply in time")
        .unwrap();
    let mut data = vec![0u8; usize::from(u16::from_le_bytes([header[2], header[3]]))];
    stream.read_exact(&mut data).await.unwrap();
    [&header[..], &data].concat()
}

async fn enip_udp(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(request, addr).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let (len, _) = timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
        .await
        .expect("reply in time")
        .unwrap();
    buf.truncate(len);
    buf
}

#[test]
fn mixed_plant_extends_demo_with_enip_devices() {
    let base = Ipv4Addr::new(127, 1, 0, 0);
    let demo = PlantSpec::demo(base, 502);
    let plant = PlantSpec::plant(base, PlantPorts::default());
    assert!(demo.devices.iter().all(|d| d.enip.is_none()));
    for device in &demo.devices {
        let same = plant.device(&device.name).unwrap();
        assert_eq!((same.ip, &same.modbus), (device.ip, &device.modbus));
    }
    let names: BTreeSet<_> = plant.devices.iter().map(|d| d.name.as_str()).collect();
    let ips: BTreeSet<_> = plant.devices.iter().map(|d| d.ip).collect();
    assert_eq!(names.len(), plant.devices.len());
    assert_eq!(ips.len(), plant.devices.len());

    let enip: Vec<_> = plant
        .devices
        .iter()
        .filter_map(|d| Some((d.ip.octets()[3], d.enip.as_ref()?)))
        .collect();
    assert_eq!(
        enip.iter().map(|(host, _)| *host).collect::<Vec<_>>(),
        [15, 20, 21, 22, 23, 24, 25, 26, 27]
    );
    assert!(enip.iter().all(|(_, (port, _))| *port == 44818));
    let m580 = plant.device("plc-m580").unwrap();
    assert!(m580.modbus.is_some());
    assert_eq!(m580.enip.as_ref().unwrap().1.vendor_id, 243);
    let l61 = &plant.device("plc-l61").unwrap().enip.as_ref().unwrap().1;
    assert_eq!(
        (
            l61.vendor_id,
            l61.device_type,
            l61.product_code,
            l61.revision
        ),
        (1, 0x0E, 54, (20, 11))
    );
    let odd = &plant
        .device("io-latin1-name")
        .unwrap()
        .enip
        .as_ref()
        .unwrap()
        .1;
    assert_eq!(odd.product_name.len(), 32);
    assert!(std::str::from_utf8(&odd.product_name).is_err());
    assert!(
        !plant
            .device("drive-pf70")
            .unwrap()
            .enip
            .as_ref()
            .unwrap()
            .1
            .include_state
    );
    let refuse = &plant
        .device("enip-refuse-all")
        .unwrap()
        .enip
        .as_ref()
        .unwrap()
        .1;
    assert_eq!(refuse.header_status, Some(1));
}

#[tokio::test]
async fn mixed_plant_answers_enip_on_both_transports_and_shutdown_frees_ports() {
    let ports = PlantPorts::block(20416);
    let spec = PlantSpec::plant(Ipv4Addr::new(127, 82, 0, 0), ports);
    let plant = Plant::start(spec.clone()).unwrap();
    assert_eq!(plant.devices().len(), spec.devices.len());

    let request = list_identity();
    for device in plant.devices() {
        let Some((port, config)) = &device.spec.enip else {
            assert_eq!(device.enip, None);
            continue;
        };
        let addr = device.enip.unwrap();
        assert_eq!((addr.ip(), addr.port()), (device.spec.ip.into(), *port));
        if !config.transports.tcp {
            // A UDP-only device (its lengths say less than its data: see its own test).
            assert!(config.short_lengths, "{}", device.spec.name);
            let udp = enip_udp(addr, &request).await;
            assert_eq!(udp[2..4], [0, 0], "encapsulation length 0");
            assert!(udp.len() > 24 + 40, "the whole identity item is there");
            continue;
        }
        let tcp = enip_tcp(addr, &request).await;
        let udp = enip_udp(addr, &request).await;
        assert_eq!(tcp, udp, "{}", device.spec.name);
        assert_eq!(tcp[12..20], *b"plant-01");
        if let Some(status) = config.header_status {
            assert_eq!(tcp[8..12], status.to_le_bytes());
            assert_eq!(tcp.len(), 24);
            continue;
        }
        assert_eq!(tcp[8..12], [0; 4], "{}", device.spec.name);
        let item = &tcp[30..];
        assert_eq!(item[4..6], port.to_be_bytes());
        assert_eq!(item[6..10], device.spec.ip.octets());
        assert_eq!(item[18..20], config.vendor_id.to_le_bytes());
        assert_eq!(item[20..22], config.device_type.to_le_bytes());
        assert_eq!(item[28..32], config.serial.to_le_bytes());
        assert_eq!(
            item[33..33 + config.product_name.len()],
            config.product_name[..]
        );
    }

    // The M580 answers Modbus too, and its connections on both ports count together.
    let m580 = plant.device("plc-m580").unwrap();
    let pdu = read_device_id(m580.modbus.unwrap(), 0).await.unwrap();
    assert_eq!(pdu[..2], [0x2B, 0x0E]);
    let ip = m580.spec.ip.into();
    assert_eq!(plant.recorder().connection_stats(ip).accepted, 2);
    let transports: Vec<_> = plant
        .recorder()
        .frames_for(ip)
        .iter()
        .map(|f| (f.protocol, f.transport))
        .collect();
    assert_eq!(
        transports,
        [
            ("enip", Transport::Tcp),
            ("enip", Transport::Udp),
            ("modbus", Transport::Tcp)
        ]
    );

    // Every other command is refused, and recorded.
    let adapter = plant.device("adapter-en2t").unwrap().enip.unwrap();
    let mut register = vec![0u8; 28];
    register[..4].copy_from_slice(&[0x65, 0, 4, 0]);
    register[24] = 1;
    let reply = enip_udp(adapter, &register).await;
    assert_eq!(
        (u16::from_le_bytes([reply[0], reply[1]]), &reply[2..12]),
        (
            command::REGISTER_SESSION,
            &[0, 0, 0, 0, 0, 0, 1, 0, 0, 0][..]
        )
    );
    let last = plant.recorder().frames_for(adapter.ip()).pop().unwrap();
    assert_eq!(last.bytes, register);

    let enip: Vec<SocketAddr> = plant.devices().iter().filter_map(|d| d.enip).collect();
    plant.shutdown().await;
    for addr in enip {
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "{addr} still accepts"
        );
        drop(UdpSocket::bind(addr).await.expect("UDP port freed"));
    }
}

#[tokio::test]
async fn mixed_plant_starts_on_free_ports() {
    let ports = PlantPorts::EPHEMERAL;
    let plant = Plant::start(PlantSpec::plant(Ipv4Addr::new(127, 83, 0, 0), ports)).unwrap();
    let m580 = plant.device("plc-m580").unwrap();
    assert_ne!(m580.enip.unwrap().port(), 0);
    let reply = enip_udp(m580.enip.unwrap(), &list_identity()).await;
    assert_eq!(
        reply[30 + 4..30 + 6],
        m580.enip.unwrap().port().to_be_bytes()
    );
    plant.shutdown().await;
}

/// A BACnet ReadPropertyMultiple of vendor-identifier and object-name of the wildcard Device.
const BACNET_RPM: [u8; 21] = [
    0x81, 0x0A, 0x00, 0x15, 0x01, 0x04, 0x00, 0x05, 0x01, 0x0E, 0x0C, 0x02, 0x3F, 0xFF, 0xFF, 0x1E,
    0x09, 0x78, 0x09, 0x4D, 0x1F,
];

async fn udp_exchange(addr: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(request, addr).await.unwrap();
    let mut buf = vec![0u8; 2048];
    let (len, _) = timeout(Duration::from_millis(500), socket.recv_from(&mut buf))
        .await
        .ok()?
        .unwrap();
    buf.truncate(len);
    Some(buf)
}

/// Connects with TSAP `called` and returns the stream if the CPU confirmed it.
async fn s7_connect(addr: SocketAddr, called: u16) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut cr = vec![
        0x03, 0x00, 0x00, 0x16, 0x11, 0xE0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xC0, 0x01, 0x0A, 0xC1,
        0x02, 0x01, 0x00, 0xC2, 0x02,
    ];
    cr.extend_from_slice(&called.to_be_bytes());
    stream.write_all(&cr).await.unwrap();
    let mut reply = [0u8; 6];
    match timeout(Duration::from_secs(2), stream.read_exact(&mut reply)).await {
        Ok(Ok(_)) if reply[5] == 0xD0 => {
            let mut rest = vec![0u8; usize::from(reply[3]) - 6];
            stream.read_exact(&mut rest).await.unwrap();
            Some(stream)
        }
        _ => None,
    }
}

/// Sends a DT with `s7` and returns the S7 PDU of the reply.
async fn s7_exchange(stream: &mut TcpStream, s7: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x03, 0x00];
    frame.extend_from_slice(&((s7.len() + 7) as u16).to_be_bytes());
    frame.extend_from_slice(&[0x02, 0xF0, 0x80]);
    frame.extend_from_slice(s7);
    stream.write_all(&frame).await.unwrap();
    let mut header = [0u8; 4];
    timeout(Duration::from_secs(2), stream.read_exact(&mut header))
        .await
        .unwrap()
        .unwrap();
    let mut rest = vec![0u8; usize::from(u16::from_be_bytes([header[2], header[3]])) - 4];
    stream.read_exact(&mut rest).await.unwrap();
    rest[3..].to_vec()
}

const S7_SETUP: [u8; 18] = [
    0x32, 0x01, 0, 0, 0, 1, 0, 8, 0, 0, 0xF0, 0, 0, 1, 0, 1, 0x01, 0xE0,
];

fn s7_szl(id: u16) -> Vec<u8> {
    let mut pdu = vec![
        0x32, 0x07, 0, 0, 0, 2, 0, 8, 0, 8, 0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01, 0x00, 0xFF,
        0x09, 0x00, 0x04,
    ];
    pdu.extend_from_slice(&id.to_be_bytes());
    pdu.extend_from_slice(&[0, 0]);
    pdu
}

#[tokio::test]
async fn mixed_plant_serves_bacnet_and_s7_per_spec() {
    let ports = PlantPorts::EPHEMERAL;
    assert_eq!(
        (PlantPorts::default().bacnet, PlantPorts::default().s7),
        (47808, 102)
    );
    let plant = Plant::start(PlantSpec::plant(Ipv4Addr::new(127, 84, 0, 0), ports)).unwrap();
    let hosts = |pick: fn(&protocol_fixtures::PlantDevice) -> bool| -> Vec<u8> {
        plant
            .devices()
            .iter()
            .filter(|d| pick(d))
            .map(|d| d.spec.ip.octets()[3])
            .collect()
    };
    // The JACE at .80 speaks BACnet/IP besides Fox, the S7-1500 at .60 S7 besides OPC UA.
    assert_eq!(
        hosts(|d| d.bacnet.is_some()),
        [40, 41, 42, 43, 44, 45, 46, 80]
    );
    assert_eq!(
        hosts(|d| d.s7.is_some()),
        [50, 51, 52, 53, 54, 55, 56, 57, 60]
    );
    assert_eq!(hosts(|d| d.opcua.is_some()), [60, 61, 62, 63, 64]);
    assert_eq!(hosts(|d| d.fox.is_some()), [80, 81, 82, 83, 84]);

    // BACnet: the first byte of each answer's APDU (after BVLC and a 2-byte NPDU, or the
    // forwarded and routed headers of .43).
    let mut kinds = Vec::new();
    for device in plant.devices().iter().filter(|d| d.bacnet.is_some()) {
        let reply = udp_exchange(device.bacnet.unwrap(), &BACNET_RPM)
            .await
            .unwrap();
        let apdu = if reply[1] == 0x04 {
            &reply[16..]
        } else {
            &reply[6..]
        };
        kinds.push((device.spec.name.as_str(), apdu[0], apdu[2]));
    }
    assert_eq!(
        kinds,
        [
            ("bacnet-nae", 0x30, 0x0E),
            ("bacnet-no-rpm", 0x60, 9),
            ("bacnet-who-is", 0x50, 0x0E),
            ("bacnet-routed", 0x30, 0x0E),
            ("bacnet-small-apdu", 0x30, 0x0E),
            ("bacnet-refuse-all", 0x50, 0x0E),
            ("bacnet-latin1-placeholders", 0x30, 0x0E),
            ("fox-jace8000", 0x30, 0x0E),
        ]
    );
    let nae = plant.device("bacnet-nae").unwrap();
    let config = &nae.spec.bacnet.as_ref().unwrap().1;
    assert_eq!((config.instance, config.vendor_id), (1040, 5));
    let reply = udp_exchange(nae.bacnet.unwrap(), &BACNET_RPM)
        .await
        .unwrap();
    assert!(reply.windows(13).any(|w| w == b"\x75\x0B\x00NAE-BLDG-A"));

    // S7: the 315 answers 0x0102 with its serial; the 416 refuses 0x0102 and takes 0x0200.
    let s7_315 = plant.device("plc-s7-315").unwrap();
    assert!(s7_315.snmp.is_some(), "S7 and SNMP on one address");
    let mut stream = s7_connect(s7_315.s7.unwrap(), 0x0102).await.unwrap();
    let ack = s7_exchange(&mut stream, &S7_SETUP).await;
    assert_eq!(ack[10..], [0, 0, 0xF0, 0, 0, 1, 0, 1, 0, 240]);
    let szl = s7_exchange(&mut stream, &s7_szl(0x001C)).await;
    assert!(szl.windows(16).any(|w| w == b"S C-X4U421302009"));
    drop(stream);
    let s7_416 = plant.device("plc-s7-416").unwrap().s7.unwrap();
    assert!(s7_connect(s7_416, 0x0102).await.is_none());
    assert!(s7_connect(s7_416, 0x0200).await.is_some());
    let s7_1214 = plant.device("plc-s7-1214").unwrap().s7.unwrap();
    let mut stream = s7_connect(s7_1214, 0x0100).await.unwrap();
    s7_exchange(&mut stream, &S7_SETUP).await;
    let szl = s7_exchange(&mut stream, &s7_szl(0x0011)).await;
    assert_eq!(szl[20..22], [0, 0]);
    assert_eq!(szl[22 + 8..22 + 12], [0, 30, 0, 3]);
    let szl = s7_exchange(&mut stream, &s7_szl(0x001C)).await;
    assert_eq!(szl[20..22], [0xD4, 0x01]);
    let s7_1516 = plant.device("plc-s7-1516").unwrap().s7.unwrap();
    let mut stream = s7_connect(s7_1516, 0x0102).await.unwrap();
    assert_eq!(
        s7_exchange(&mut stream, &S7_SETUP).await[10..],
        [0x81, 0x04]
    );
    let refused = plant.device("s7-every-tsap-refused").unwrap().s7.unwrap();
    for tsap in [0x0102, 0x0200, 0x0100] {
        assert!(s7_connect(refused, tsap).await.is_none());
    }
    let frames = plant.recorder().frames_for(s7_315.spec.ip.into());
    assert_eq!(
        frames.iter().map(|f| f.protocol).collect::<Vec<_>>(),
        ["s7", "s7", "s7"]
    );
    plant.shutdown().await;
}
