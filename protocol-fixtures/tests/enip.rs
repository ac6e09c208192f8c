//! Talks raw encapsulation bytes to the simulated EtherNet/IP device over real loopback TCP and
//! UDP sockets. Each test uses its own 127.81.0.x address so they can run in parallel.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use protocol_fixtures::{
    enip::command, DeviceHandle, EnipDevice, EnipDeviceConfig, EnipTransports, Recorder, Transport,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpStream, UdpSocket},
    time::timeout,
};

const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
const SILENCE: Duration = Duration::from_millis(200);
const SESSION: u32 = 0x1122_3344;
const CONTEXT: [u8; 8] = *b"otscan\x01\x02";

fn ip(host: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 81, 0, host)
}

fn spawn(host: u8, config: EnipDeviceConfig) -> (DeviceHandle, Recorder) {
    let recorder = Recorder::new();
    let device = EnipDevice::spawn(SocketAddr::from((ip(host), 0)), config, recorder.clone())
        .expect("bind fixture");
    (device, recorder)
}

fn request(command: u16, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&u16::try_from(data.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&SESSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&CONTEXT);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// The reply header the device must send for `command` with `status` and `length`.
fn reply_header(command: u16, length: u16, status: u32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&SESSION.to_le_bytes());
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&CONTEXT);
    out.extend_from_slice(&[0; 4]);
    out
}

/// Reads one whole reply, trusting only the header's length field.
async fn read_reply(stream: &mut TcpStream) -> Vec<u8> {
    let read = async {
        let mut header = [0u8; 24];
        stream.read_exact(&mut header).await.unwrap();
        let mut data = vec![0u8; usize::from(u16::from_le_bytes([header[2], header[3]]))];
        stream.read_exact(&mut data).await.unwrap();
        [&header[..], &data].concat()
    };
    timeout(REPLY_TIMEOUT, read).await.expect("reply in time")
}

async fn tcp_transact(stream: &mut TcpStream, request: &[u8]) -> Vec<u8> {
    stream.write_all(request).await.unwrap();
    read_reply(stream).await
}

async fn udp_socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

async fn udp_transact(socket: &UdpSocket, device: SocketAddr, request: &[u8]) -> Vec<u8> {
    socket.send_to(request, device).await.unwrap();
    let mut buf = vec![0u8; 2048];
    let (len, from) = timeout(REPLY_TIMEOUT, socket.recv_from(&mut buf))
        .await
        .expect("reply in time")
        .unwrap();
    assert_eq!(from, device, "reply from the address asked");
    buf.truncate(len);
    buf
}

async fn expect_no_udp_reply(socket: &UdpSocket, device: SocketAddr, request: &[u8]) {
    socket.send_to(request, device).await.unwrap();
    let mut buf = [0u8; 64];
    // Nothing, or the ICMP port unreachable Linux reports as a refused receive.
    if let Ok(received) = timeout(SILENCE, socket.recv_from(&mut buf)).await {
        assert!(received.is_err(), "expected no reply, got {received:?}");
    }
}

fn l61() -> EnipDeviceConfig {
    EnipDeviceConfig::new(1, 0x0E, 54, "1756-L61/B LOGIX5561")
        .with_revision(20, 11)
        .with_status(0x0060)
        .with_serial(0x006C_061A)
        .with_state(3)
}

/// The ListIdentity reply of [`l61`] at `device`, written out field by field.
fn l61_identity(device: SocketAddr) -> Vec<u8> {
    let SocketAddr::V4(device) = device else {
        unreachable!()
    };
    let name = b"1756-L61/B LOGIX5561";
    let mut item = vec![1, 0]; // encapsulation version 1, LE
    item.extend_from_slice(&[0x00, 0x02]); // sin_family AF_INET, BE
    item.extend_from_slice(&device.port().to_be_bytes());
    item.extend_from_slice(&device.ip().octets());
    item.extend_from_slice(&[0; 8]);
    item.extend_from_slice(&[0x01, 0x00]); // vendor 1
    item.extend_from_slice(&[0x0E, 0x00]); // PLC
    item.extend_from_slice(&[54, 0x00]); // product code
    item.extend_from_slice(&[20, 11]); // revision
    item.extend_from_slice(&[0x60, 0x00]); // status word
    item.extend_from_slice(&[0x1A, 0x06, 0x6C, 0x00]); // serial 0x006C061A
    item.push(20);
    item.extend_from_slice(name);
    item.push(3); // state
    assert_eq!(item.len(), 54);
    let mut data = vec![1, 0, 0x0C, 0x00, 54, 0];
    data.extend_from_slice(&item);
    [reply_header(command::LIST_IDENTITY, 60, 0), data].concat()
}

#[tokio::test]
async fn list_identity_over_tcp_and_udp_has_exact_bytes_and_is_recorded() {
    let (device, recorder) = spawn(1, l61());
    let addr = device.local_addr();
    let expected = l61_identity(addr);
    let req = request(command::LIST_IDENTITY, &[]);

    let mut stream = TcpStream::connect(addr).await.unwrap();
    assert_eq!(tcp_transact(&mut stream, &req).await, expected);
    let client = stream.local_addr().unwrap();

    let socket = udp_socket().await;
    assert_eq!(udp_transact(&socket, addr, &req).await, expected);
    // The port is the device's, on both transports: sin_port is big-endian.
    assert_eq!(expected[24 + 10..24 + 12], addr.port().to_be_bytes());
    assert_eq!(expected[24 + 12..24 + 16], [127, 81, 0, 1]);

    let frames = recorder.frames();
    assert_eq!(frames.len(), 2);
    let (tcp, udp) = (&frames[0], &frames[1]);
    assert_eq!(
        (
            tcp.device,
            tcp.peer,
            tcp.protocol,
            tcp.transport,
            tcp.connection
        ),
        (addr, client, "enip", Transport::Tcp, 1)
    );
    assert_eq!(
        (
            udp.device,
            udp.peer,
            udp.protocol,
            udp.transport,
            udp.connection
        ),
        (
            addr,
            socket.local_addr().unwrap(),
            "enip",
            Transport::Udp,
            0
        )
    );
    assert_eq!((&tcp.bytes, &udp.bytes), (&req, &req));
    // Datagrams are not connections.
    assert_eq!(recorder.connection_stats(addr.ip()).accepted, 1);
}

#[tokio::test]
async fn one_connection_carries_many_requests_however_they_are_cut() {
    let (device, recorder) = spawn(2, EnipDeviceConfig::default().with_capability_flags(0x0020));
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();

    let services = request(command::LIST_SERVICES, &[]);
    let interfaces = request(command::LIST_INTERFACES, &[]);
    // The first request plus part of the second in one segment, the rest later.
    let burst = [&services[..], &interfaces[..5]].concat();
    stream.write_all(&burst).await.unwrap();
    let mut expected = reply_header(command::LIST_SERVICES, 26, 0);
    expected.extend_from_slice(&[1, 0, 0x00, 0x01, 20, 0, 1, 0, 0x20, 0x00]);
    expected.extend_from_slice(b"Communications\0\0");
    assert_eq!(read_reply(&mut stream).await, expected);
    stream.write_all(&interfaces[5..]).await.unwrap();
    let expected = [reply_header(command::LIST_INTERFACES, 2, 0), vec![0, 0]].concat();
    assert_eq!(read_reply(&mut stream).await, expected);

    // Data after a list command's header is read past, not taken for the next header.
    let padded = request(command::LIST_SERVICES, &[0xAA; 3]);
    let reply = tcp_transact(&mut stream, &padded).await;
    assert_eq!(reply[..2], [0x04, 0x00]);
    assert_eq!(reply[24 + 8..24 + 10], [0x20, 0x00], "capability flags");

    let frames: Vec<_> = recorder.frames().into_iter().map(|f| f.bytes).collect();
    assert_eq!(frames, [services, interfaces, padded]);
}

#[tokio::test]
async fn other_commands_get_invalid_command_and_are_recorded() {
    let (device, recorder) = spawn(3, l61());
    let addr = device.local_addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();

    let register = request(command::REGISTER_SESSION, &[1, 0, 0, 0]);
    let reply = tcp_transact(&mut stream, &register).await;
    assert_eq!(reply, reply_header(command::REGISTER_SESSION, 0, 1));
    let send_rr = request(command::SEND_RR_DATA, &[0; 16]);
    let reply = tcp_transact(&mut stream, &send_rr).await;
    assert_eq!(reply, reply_header(command::SEND_RR_DATA, 0, 1));
    // The connection survives the refusals.
    let identity = request(command::LIST_IDENTITY, &[]);
    assert_eq!(
        tcp_transact(&mut stream, &identity).await,
        l61_identity(addr)
    );

    let socket = udp_socket().await;
    let nop = request(0x0000, &[]);
    let reply = udp_transact(&socket, addr, &nop).await;
    assert_eq!(reply, reply_header(0x0000, 0, 1));

    // Too short for its own header: recorded, not answered.
    let short = request(command::LIST_IDENTITY, &[])[..20].to_vec();
    expect_no_udp_reply(&socket, addr, &short).await;
    let lying = request(command::SEND_RR_DATA, &[0; 16])[..30].to_vec();
    expect_no_udp_reply(&socket, addr, &lying).await;

    let recorded: Vec<_> = recorder.frames_for(addr.ip());
    let bytes: Vec<_> = recorded.iter().map(|f| f.bytes.clone()).collect();
    assert_eq!(bytes, [register, send_rr, identity, nop, short, lying]);
    assert!(recorded.iter().all(|f| f.protocol == "enip"));
}

#[tokio::test]
async fn header_status_device_answers_everything_with_it() {
    let (device, _) = spawn(4, l61().with_header_status(0x0001));
    let addr = device.local_addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let socket = udp_socket().await;
    for command in [
        command::LIST_IDENTITY,
        command::LIST_SERVICES,
        command::LIST_INTERFACES,
    ] {
        let req = request(command, &[]);
        let expected = reply_header(command, 0, 1);
        assert_eq!(tcp_transact(&mut stream, &req).await, expected);
        assert_eq!(udp_transact(&socket, addr, &req).await, expected);
    }

    let (device, _) = spawn(5, l61().with_header_status(0x0069));
    let req = request(command::LIST_IDENTITY, &[]);
    let reply = udp_transact(&socket, device.local_addr(), &req).await;
    assert_eq!(reply, reply_header(command::LIST_IDENTITY, 0, 0x69));
}

#[tokio::test]
async fn transports_can_be_udp_only_or_tcp_only() {
    let (device, recorder) = spawn(6, l61().with_transports(EnipTransports::UDP_ONLY));
    let addr = device.local_addr();
    let err = TcpStream::connect(addr).await.expect_err("TCP is off");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let socket = udp_socket().await;
    let req = request(command::LIST_IDENTITY, &[]);
    assert_eq!(udp_transact(&socket, addr, &req).await, l61_identity(addr));
    assert_eq!(recorder.connection_stats(addr.ip()).accepted, 0);

    let (device, _) = spawn(7, l61().with_transports(EnipTransports::TCP_ONLY));
    let addr = device.local_addr();
    expect_no_udp_reply(&socket, addr, &req).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    assert_eq!(tcp_transact(&mut stream, &req).await, l61_identity(addr));
}

#[tokio::test]
async fn identity_variants_non_utf8_name_and_no_state() {
    let name: Vec<u8> = (0..32).map(|i| 0xE0 | (i & 0x1F)).collect();
    let config = EnipDeviceConfig::new(90, 0x07, 55, name.clone())
        .with_status(0x0A50)
        .without_state();
    let (device, _) = spawn(8, config);
    let socket = udp_socket().await;
    let reply = udp_transact(
        &socket,
        device.local_addr(),
        &request(command::LIST_IDENTITY, &[]),
    )
    .await;
    // Item length: 33 fixed bytes and the name, no state.
    assert_eq!(reply[2..4], [2 + 4 + 33 + 32, 0]);
    assert_eq!(reply[28..30], [33 + 32, 0]);
    assert_eq!(reply[30 + 26..30 + 28], [0x50, 0x0A], "status word");
    assert_eq!(reply[30 + 32], 32);
    assert_eq!(reply[30 + 33..], name[..]);
}

#[tokio::test]
async fn spawn_refuses_bad_addresses_and_no_transport() {
    let refused = [
        SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 0)),
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 0)),
    ];
    for addr in refused {
        let err = EnipDevice::spawn(addr, l61(), Recorder::new()).expect_err("must refuse");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{addr}");
    }
    let none = EnipTransports {
        tcp: false,
        udp: false,
    };
    let addr = SocketAddr::from((ip(9), 0));
    let err = EnipDevice::spawn(addr, l61().with_transports(none), Recorder::new())
        .expect_err("must refuse");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn fixed_port_serves_both_transports_and_shutdown_frees_them() {
    let addr = SocketAddr::from((ip(10), 44_919));
    let recorder = Recorder::new();
    let device = EnipDevice::spawn(addr, l61(), recorder.clone()).unwrap();
    assert_eq!(device.local_addr(), addr);
    let req = request(command::LIST_IDENTITY, &[]);
    let socket = udp_socket().await;
    assert_eq!(udp_transact(&socket, addr, &req).await, l61_identity(addr));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    assert_eq!(tcp_transact(&mut stream, &req).await, l61_identity(addr));

    device.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());
    drop(UdpSocket::bind(addr).await.expect("UDP port free again"));
    assert_eq!(
        recorder.frames_for(IpAddr::V4(ip(10))).len(),
        2,
        "one frame per transport"
    );
}
