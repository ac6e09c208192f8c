//! The hostile and fragile devices over real loopback sockets: each does what its name says.

use std::{
    collections::BTreeSet,
    io,
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use protocol_fixtures::{
    hostile::{BACNET_NESTING_DEPTH, DRIP_INTERVAL, FLOOD_DATAGRAMS},
    DeviceGuard, HostileBehaviour, HostileDevice, HostileHandle, HostileProtocol, Plant,
    PlantPorts, PlantSpec, Recorder, Transport,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpStream, UdpSocket},
    time::timeout,
};

use HostileProtocol::{Bacnet, Enip, Modbus, Snmp, S7};

/// Modbus Read Device Identification, basic stream, unit 255, transaction id 7.
const RDI: [u8; 11] = [0, 7, 0, 0, 0, 5, 0xFF, 0x2B, 0x0E, 0x01, 0x00];

/// An EtherNet/IP ListIdentity request with sender context 41.
fn list_identity() -> [u8; 24] {
    let mut request = [0u8; 24];
    request[0] = 0x63;
    request[12] = 41;
    request
}

/// A v2c GetRequest for sysDescr.0, community "public", request id 1234.
const SNMP_GET: &[u8] = &[
    0x30, 0x27, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xA0, 0x1A, 0x02,
    0x02, 0x04, 0xD2, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0E, 0x30, 0x0C, 0x06, 0x08, 0x2B,
    0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00,
];

fn spawn(host: u8, transport: Transport, behaviour: HostileBehaviour) -> (HostileHandle, Recorder) {
    let recorder = Recorder::new();
    let addr = SocketAddr::from((Ipv4Addr::new(127, 86, 0, host), 0));
    let handle = HostileDevice::spawn(addr, transport, behaviour, recorder.clone()).unwrap();
    (handle, recorder)
}

async fn read_some(stream: &mut TcpStream, wait: Duration) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 65_536];
    match timeout(wait, stream.read(&mut buf)).await {
        Err(_) => Ok(Vec::new()),
        Ok(Ok(n)) => {
            buf.truncate(n);
            Ok(buf)
        }
        Ok(Err(e)) => Err(e),
    }
}

/// Polls `check` until it holds or two seconds pass.
async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

#[tokio::test]
async fn unsupported_combinations_and_foreign_addresses_are_refused() {
    let recorder = Recorder::new();
    let local = SocketAddr::from((Ipv4Addr::new(127, 86, 1, 1), 0));
    for (transport, behaviour) in [
        (Transport::Udp, HostileBehaviour::SlowDrip(Enip)),
        (Transport::Tcp, HostileBehaviour::Flood(Enip)),
        (Transport::Tcp, HostileBehaviour::SnmpDeepNesting),
        (Transport::Udp, HostileBehaviour::Silent(Modbus)),
        (Transport::Udp, HostileBehaviour::Silent(S7)),
        (Transport::Tcp, HostileBehaviour::Silent(Bacnet)),
        (Transport::Udp, HostileBehaviour::S7SzlLyingCounts),
        (Transport::Tcp, HostileBehaviour::BacnetDeepNesting),
    ] {
        let err = HostileDevice::spawn(local, transport, behaviour, recorder.clone()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
    let foreign = SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 0));
    assert!(HostileDevice::spawn(
        foreign,
        Transport::Tcp,
        HostileBehaviour::Silent(Modbus),
        recorder
    )
    .is_err());
}

#[tokio::test]
async fn reset_after_connect_resets() {
    let (device, recorder) = spawn(
        2,
        Transport::Tcp,
        HostileBehaviour::ResetAfterConnect(Modbus),
    );
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    // The write may land before or after the reset; the read cannot succeed.
    let _ = stream.write_all(&RDI).await;
    let read = read_some(&mut stream, Duration::from_secs(2)).await;
    match read {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
        Ok(bytes) => assert!(bytes.is_empty(), "{bytes:02x?}"),
    }
    assert_eq!(device.facts().report().connections, 1);
    assert_eq!(
        recorder.connection_stats(device.local_addr().ip()).accepted,
        1
    );
    device.shutdown().await;
}

#[tokio::test]
async fn slow_drip_sends_one_byte_at_a_time() {
    let (device, recorder) = spawn(3, Transport::Tcp, HostileBehaviour::SlowDrip(Modbus));
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    stream.write_all(&RDI).await.unwrap();
    let first = read_some(&mut stream, Duration::from_millis(500))
        .await
        .unwrap();
    assert_eq!(first, [0]);
    let more = read_some(&mut stream, DRIP_INTERVAL / 2).await.unwrap();
    assert!(more.is_empty(), "{more:02x?}");
    let second = read_some(&mut stream, DRIP_INTERVAL * 2).await.unwrap();
    assert_eq!(second, [7], "the transaction id, echoed");
    assert_eq!(recorder.frames()[0].bytes, RDI);
    device.shutdown().await;
}

#[tokio::test]
async fn endless_stream_streams_until_the_peer_leaves() {
    let (device, _) = spawn(4, Transport::Tcp, HostileBehaviour::EndlessStream(Enip));
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    stream.write_all(&list_identity()).await.unwrap();
    let mut total = 0usize;
    let mut buf = vec![0u8; 65_536];
    while total < 4 << 20 {
        let n = timeout(Duration::from_secs(2), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        if total == 0 {
            // Replies to another request: the sender context is off by one.
            assert_eq!(buf[12], 42);
        }
        total += n;
    }
    drop(stream);
    let facts = device.facts().clone();
    assert!(eventually(|| facts.report().closed_by_peer == 1).await);
    assert!(facts.report().bytes_sent >= 4 << 20);
    device.shutdown().await;
}

#[tokio::test]
async fn huge_declared_length_then_quiet() {
    let (device, _) = spawn(
        5,
        Transport::Tcp,
        HostileBehaviour::HugeDeclaredLength(Modbus),
    );
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    stream.write_all(&RDI).await.unwrap();
    let reply = read_some(&mut stream, Duration::from_millis(500))
        .await
        .unwrap();
    assert_eq!(reply.len(), 16);
    assert_eq!(&reply[4..6], [0xFF, 0xFF]);
    let more = read_some(&mut stream, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(more.is_empty());
    device.shutdown().await;
}

#[tokio::test]
async fn close_mid_reply_closes_cleanly() {
    let (device, _) = spawn(6, Transport::Tcp, HostileBehaviour::CloseMidReply(Enip));
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    stream.write_all(&list_identity()).await.unwrap();
    let mut reply = Vec::new();
    timeout(Duration::from_secs(2), stream.read_to_end(&mut reply))
        .await
        .unwrap()
        .unwrap();
    let declared = 24 + usize::from(u16::from_le_bytes([reply[2], reply[3]]));
    assert_eq!(reply.len(), declared / 2);
    device.shutdown().await;
}

#[tokio::test]
async fn fragile_device_resets_a_second_connection_and_records_it() {
    let guard = DeviceGuard::one_connection();
    let behaviour = HostileBehaviour::Fragile {
        protocol: Modbus,
        guard: guard.clone(),
    };
    let (device, _) = spawn(7, Transport::Tcp, behaviour);
    let mut first = TcpStream::connect(device.local_addr()).await.unwrap();
    first.write_all(&RDI).await.unwrap();
    let reply = read_some(&mut first, Duration::from_secs(1)).await.unwrap();
    assert_eq!(&reply[7..9], [0x2B, 0x0E]);

    let mut second = TcpStream::connect(device.local_addr()).await.unwrap();
    let _ = second.write_all(&RDI).await;
    match read_some(&mut second, Duration::from_secs(2)).await {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
        Ok(bytes) => assert!(bytes.is_empty()),
    }
    assert_eq!(guard.report().concurrent_connections, 1);

    // Closed with a FIN, the slot is free at once: the next connection is served.
    first.shutdown().await.unwrap();
    drop(first);
    let mut third = TcpStream::connect(device.local_addr()).await.unwrap();
    third.write_all(&RDI).await.unwrap();
    let reply = read_some(&mut third, Duration::from_secs(1)).await.unwrap();
    assert_eq!(&reply[7..9], [0x2B, 0x0E]);
    let report = guard.report();
    assert_eq!((report.connections, report.concurrent_connections), (2, 1));
    device.shutdown().await;
}

#[tokio::test]
async fn pacing_sensitive_device_resets_on_packets_too_close() {
    let guard = DeviceGuard::one_connection_min_gap(Duration::from_millis(100));
    let behaviour = HostileBehaviour::Fragile {
        protocol: Enip,
        guard: guard.clone(),
    };
    let (device, _) = spawn(8, Transport::Tcp, behaviour);
    // A request right after the connection attempt: too soon.
    let mut hasty = TcpStream::connect(device.local_addr()).await.unwrap();
    hasty.write_all(&list_identity()).await.unwrap();
    match read_some(&mut hasty, Duration::from_secs(2)).await {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
        Ok(bytes) => assert!(bytes.is_empty()),
    }
    assert_eq!(guard.report().pacing_violations, 1);
    drop(hasty);

    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut polite = TcpStream::connect(device.local_addr()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    polite.write_all(&list_identity()).await.unwrap();
    let reply = read_some(&mut polite, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(&reply[..2], [0x63, 0x00]);
    let report = guard.report();
    assert_eq!(report.pacing_violations, 1);
    assert_eq!(report.packets, 4);
    assert!(report.smallest_gap.unwrap() < Duration::from_millis(100));
    device.shutdown().await;
}

#[tokio::test]
async fn udp_replies_from_elsewhere_skip_a_connected_socket() {
    for (host, behaviour) in [
        (9, HostileBehaviour::ReplyFromOtherPort(Snmp)),
        (10, HostileBehaviour::ReplyFromOtherAddress(Snmp)),
    ] {
        let other_address = matches!(behaviour, HostileBehaviour::ReplyFromOtherAddress(_));
        let (device, _) = spawn(host, Transport::Udp, behaviour);
        let device_addr = device.local_addr();
        let open = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        open.send_to(SNMP_GET, device_addr).await.unwrap();
        let mut buf = [0u8; 2048];
        let (n, from) = timeout(Duration::from_secs(1), open.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 20);
        assert_ne!(from, device_addr);
        assert_eq!(from.ip() != device_addr.ip(), other_address);

        let connected = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        connected.connect(device_addr).await.unwrap();
        connected.send(SNMP_GET).await.unwrap();
        let got = timeout(Duration::from_millis(300), connected.recv(&mut buf)).await;
        assert!(got.is_err(), "a connected socket hears only its peer");
        device.shutdown().await;
    }
}

#[tokio::test]
async fn flood_sends_many_datagrams_per_request() {
    let (device, recorder) = spawn(11, Transport::Udp, HostileBehaviour::Flood(Enip));
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket
        .send_to(&list_identity(), device.local_addr())
        .await
        .unwrap();
    let mut buf = [0u8; 2048];
    let mut received = 0;
    while let Ok(Ok(_)) = timeout(Duration::from_millis(300), socket.recv_from(&mut buf)).await {
        received += 1;
    }
    // The receive buffer may drop some; most arrive.
    assert!(received > 100, "{received}");
    assert_eq!(device.facts().report().replies, FLOOD_DATAGRAMS as u64);
    assert_eq!(recorder.frames().len(), 1);
    device.shutdown().await;
}

#[tokio::test]
async fn snmp_hostile_replies_echo_the_request_id_where_they_should() {
    for behaviour in [
        HostileBehaviour::SnmpDeepNesting,
        HostileBehaviour::SnmpHugeIntegers,
        HostileBehaviour::SnmpHugeOids,
        HostileBehaviour::MoreThanDeclared(Snmp),
        HostileBehaviour::OversizedDatagram(Snmp),
    ] {
        let (device, _) = spawn(12, Transport::Udp, behaviour.clone());
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.connect(device.local_addr()).await.unwrap();
        socket.send(SNMP_GET).await.unwrap();
        let mut buf = vec![0u8; 65_536];
        let n = timeout(Duration::from_secs(1), socket.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        // SEQUENCE, version 1, community "public", then the PDU with request id 1234.
        let reply = &buf[..n];
        assert_eq!(reply[0], 0x30, "{behaviour:?}");
        let at = reply
            .windows(4)
            .position(|w| w == [0x02, 0x02, 0x04, 0xD2])
            .is_some();
        assert!(at, "{behaviour:?}: request id not echoed");
        device.shutdown().await;
    }
}

#[tokio::test]
async fn hostile_plant_starts_on_one_slash_24_and_stops() {
    let base = Ipv4Addr::new(127, 86, 2, 0);
    let ports = PlantPorts::block(20384);
    let spec = PlantSpec::hostile(base, ports);
    let names: BTreeSet<_> = spec.devices.iter().map(|d| d.name.as_str()).collect();
    let ips: BTreeSet<_> = spec.devices.iter().map(|d| d.ip).collect();
    assert_eq!(names.len(), spec.devices.len());
    assert_eq!(ips.len(), spec.devices.len());
    assert!(spec.devices.len() >= 40);
    assert!(ips.iter().all(|ip| ip.octets()[..3] == [127, 86, 2]));
    let plant = Plant::start(spec.clone()).unwrap();
    let fragile = plant.device("fragile-pacing").unwrap();
    assert_eq!(fragile.hostile.len(), 9);
    let protocols: BTreeSet<_> = spec
        .devices
        .iter()
        .flat_map(|d| d.hostile.iter().map(|h| h.behaviour.protocol().label()))
        .collect();
    assert_eq!(
        protocols,
        BTreeSet::from([
            "ads", "bacnet", "codesys", "enip", "fins", "fox", "hart", "knx", "melsec", "modbus",
            "opcua", "profinet", "s7", "snmp"
        ])
    );
    let at = |host: u8| {
        spec.devices
            .iter()
            .find(|d| d.ip.octets()[3] == host)
            .unwrap()
    };
    assert_eq!(at(80).name, "bacnet-silent");
    assert_eq!(at(93).name, "bacnet-huge-tag-length");
    assert_eq!(at(100).name, "s7-silent");
    assert_eq!(at(113).name, "s7-cotp-then-silence");
    assert_eq!(at(140).name, "fins-silent");
    assert_eq!(at(155).name, "fins-no-free-node");
    assert_eq!(at(160).name, "fox-silent");
    assert_eq!(at(175).name, "fox-stall-mid-reply");
    let guards: Vec<_> = fragile
        .hostile
        .iter()
        .map(|h| match &h.behaviour {
            HostileBehaviour::Fragile { guard, .. } => guard.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(
        guards.windows(2).all(|g| g[0] == g[1]),
        "one guard per device"
    );
    plant.shutdown().await;
    // Every port is free again.
    let again = Plant::start(spec).unwrap();
    again.shutdown().await;
}

/// A BACnet ReadPropertyMultiple of object-name and vendor-identifier, invoke id 33.
const BACNET_RPM: [u8; 21] = [
    0x81, 0x0A, 0x00, 0x15, 0x01, 0x04, 0x00, 0x05, 33, 0x0E, 0x0C, 0x02, 0x3F, 0xFF, 0xFF, 0x1E,
    0x09, 0x4D, 0x09, 0x78, 0x1F,
];

async fn udp_exchange(addr: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(addr).await.unwrap();
    socket.send(request).await.unwrap();
    let mut buf = vec![0u8; 65_536];
    let n = timeout(Duration::from_millis(500), socket.recv(&mut buf))
        .await
        .ok()?
        .unwrap();
    buf.truncate(n);
    Some(buf)
}

/// An assertion on one reply.
type ReplyCheck = fn(&[u8]);

#[tokio::test]
async fn bacnet_hostile_replies_bend_the_right_field() {
    let cases: [(HostileBehaviour, ReplyCheck); 6] = [
        (HostileBehaviour::Garbage(Bacnet), |r| {
            assert_eq!(r.len(), 64)
        }),
        (HostileBehaviour::WrongCorrelation(Bacnet), |r| {
            assert_eq!(r[6..9], [0x30, 34, 0x0E], "{r:02x?}");
        }),
        (HostileBehaviour::WrongReplyKind(Bacnet), |r| {
            assert_eq!(r, [0x81, 0x0A, 0x00, 0x09, 0x01, 0x00, 0x20, 33, 0x0F]);
        }),
        (HostileBehaviour::HugeDeclaredLength(Bacnet), |r| {
            assert_eq!((&r[..4], r.len()), (&[0x81, 0x0A, 0xFF, 0xFF][..], 16));
        }),
        (HostileBehaviour::BacnetDeepNesting, |r| {
            let depth = BACNET_NESTING_DEPTH;
            let nested = [vec![0x0E; depth], vec![0x0F; depth]].concat();
            assert!(r
                .windows(nested.len() + 1)
                .any(|w| w[0] == 0x4E && w[1..] == nested[..]));
            assert_eq!(r[6..9], [0x30, 33, 0x0E]);
        }),
        (HostileBehaviour::BacnetHugeTagLength, |r| {
            assert!(r
                .windows(6)
                .any(|w| w == [0x75, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]));
            assert_eq!(usize::from(u16::from_be_bytes([r[2], r[3]])), r.len());
        }),
    ];
    for (i, (behaviour, check)) in cases.into_iter().enumerate() {
        let (device, recorder) = spawn(20 + i as u8, Transport::Udp, behaviour.clone());
        let reply = udp_exchange(device.local_addr(), &BACNET_RPM)
            .await
            .unwrap_or_else(|| panic!("{behaviour:?}: no reply"));
        check(&reply);
        let frames = recorder.frames();
        assert_eq!(
            (frames[0].protocol, &frames[0].bytes[..]),
            ("bacnet", &BACNET_RPM[..])
        );
        device.shutdown().await;
    }
    // A valid reply names the hostile device's identity.
    let (device, _) = spawn(
        26,
        Transport::Udp,
        HostileBehaviour::MoreThanDeclared(Bacnet),
    );
    let reply = udp_exchange(device.local_addr(), &BACNET_RPM)
        .await
        .unwrap();
    let declared = usize::from(u16::from_be_bytes([reply[2], reply[3]]));
    assert_eq!(reply.len(), declared + 8);
    // vendor-identifier 0xFFF0, a vendor id nobody has.
    assert!(reply
        .windows(6)
        .any(|w| w == [0x29, 0x78, 0x4E, 0x22, 0xFF, 0xF0]));
    device.shutdown().await;
}

fn s7_connection_request() -> Vec<u8> {
    vec![
        0x03, 0x00, 0x00, 0x16, 0x11, 0xE0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xC0, 0x01, 0x0A, 0xC1,
        0x02, 0x01, 0x00, 0xC2, 0x02, 0x01, 0x02,
    ]
}

const S7_SETUP: [u8; 25] = [
    0x03, 0x00, 0x00, 0x19, 0x02, 0xF0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x08, 0x00,
    0x00, 0xF0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xE0,
];

fn s7_szl(id: u16) -> Vec<u8> {
    let mut frame = vec![
        0x03, 0x00, 0x00, 0x21, 0x02, 0xF0, 0x80, 0x32, 0x07, 0x00, 0x00, 0x00, 0x06, 0x00, 0x08,
        0x00, 0x08, 0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01, 0x00, 0xFF, 0x09, 0x00, 0x04,
    ];
    frame.extend_from_slice(&id.to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame
}

async fn s7_exchange(stream: &mut TcpStream, request: &[u8]) -> Option<Vec<u8>> {
    stream.write_all(request).await.unwrap();
    let mut header = [0u8; 4];
    timeout(Duration::from_millis(500), stream.read_exact(&mut header))
        .await
        .ok()?
        .ok()?;
    let mut frame = vec![0u8; usize::from(u16::from_be_bytes([header[2], header[3]]))];
    frame[..4].copy_from_slice(&header);
    stream.read_exact(&mut frame[4..]).await.unwrap();
    Some(frame)
}

#[tokio::test]
async fn s7_lying_counts_wrong_ref_and_silence_after_cotp() {
    let (device, recorder) = spawn(30, Transport::Tcp, HostileBehaviour::S7SzlLyingCounts);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let cc = s7_exchange(&mut stream, &s7_connection_request())
        .await
        .unwrap();
    assert_eq!(cc[5], 0xD0);
    let ack = s7_exchange(&mut stream, &S7_SETUP).await.unwrap();
    assert_eq!(ack[7..9], [0x32, 0x03]);
    let reply = s7_exchange(&mut stream, &s7_szl(0x0011)).await.unwrap();
    let data = &reply[7 + 22..];
    assert_eq!(data[4..12], [0x00, 0x11, 0, 0, 0, 28, 0xFF, 0xFF]);
    assert_eq!(data.len(), 12 + 28, "one record, whatever the count says");
    let reply = s7_exchange(&mut stream, &s7_szl(0x001C)).await.unwrap();
    let data = &reply[7 + 22..];
    assert_eq!(data[8..12], [0xFF, 0xFF, 0, 2]);
    assert_eq!(data.len(), 12 + 34);
    let frames = recorder.frames();
    assert_eq!(frames.len(), 4);
    assert!(frames.iter().all(|f| f.protocol == "s7"));
    assert_eq!(frames[1].bytes, S7_SETUP);
    device.shutdown().await;

    let (device, _) = spawn(31, Transport::Tcp, HostileBehaviour::WrongCorrelation(S7));
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    s7_exchange(&mut stream, &s7_connection_request())
        .await
        .unwrap();
    let ack = s7_exchange(&mut stream, &S7_SETUP).await.unwrap();
    assert_eq!(ack[11..13], [0x00, 0x06], "PDU reference 5 + 1");
    device.shutdown().await;

    let (device, _) = spawn(32, Transport::Tcp, HostileBehaviour::WrongReplyKind(S7));
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    s7_exchange(&mut stream, &s7_connection_request())
        .await
        .unwrap();
    let ack = s7_exchange(&mut stream, &S7_SETUP).await.unwrap();
    assert_eq!(
        ack[7..],
        [0x32, 0x03, 0, 0, 0, 5, 0, 2, 0, 1, 0, 0, 0x05, 0x01, 0xFF]
    );
    device.shutdown().await;

    let (device, _) = spawn(33, Transport::Tcp, HostileBehaviour::S7CotpThenSilence);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let cc = s7_exchange(&mut stream, &s7_connection_request())
        .await
        .unwrap();
    assert_eq!(cc[5], 0xD0);
    assert_eq!(s7_exchange(&mut stream, &S7_SETUP).await, None);
    assert_eq!(device.facts().report().requests, 2);
    device.shutdown().await;

    let (device, _) = spawn(34, Transport::Tcp, HostileBehaviour::HugeDeclaredLength(S7));
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    stream.write_all(&s7_connection_request()).await.unwrap();
    let reply = read_some(&mut stream, Duration::from_millis(500))
        .await
        .unwrap();
    assert_eq!((&reply[..4], reply.len()), (&[3, 0, 0xFF, 0xFF][..], 16));
    device.shutdown().await;
}

#[tokio::test]
async fn fragile_devices_answer_bacnet_and_s7_correctly() {
    let guard = DeviceGuard::one_connection();
    let s7 = HostileBehaviour::Fragile {
        protocol: S7,
        guard: guard.clone(),
    };
    let (device, _) = spawn(40, Transport::Tcp, s7);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    s7_exchange(&mut stream, &s7_connection_request())
        .await
        .unwrap();
    s7_exchange(&mut stream, &S7_SETUP).await.unwrap();
    let reply = s7_exchange(&mut stream, &s7_szl(0x001C)).await.unwrap();
    assert!(reply.windows(13).any(|w| w == b"S HOSTILE-666"));
    device.shutdown().await;

    let bacnet = HostileBehaviour::Fragile {
        protocol: Bacnet,
        guard: guard.clone(),
    };
    let (device, _) = spawn(41, Transport::Udp, bacnet);
    let reply = udp_exchange(device.local_addr(), &BACNET_RPM)
        .await
        .unwrap();
    assert_eq!(reply[6..9], [0x30, 33, 0x0E]);
    assert!(reply.windows(14).any(|w| w == b"hostile-bacnet"));
    assert_eq!(guard.report().packets, 5);
    device.shutdown().await;
}
