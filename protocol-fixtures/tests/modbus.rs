//! Talks raw MBAP bytes to the simulated Modbus device over real loopback sockets.
//! Each test uses its own 127.77.0.x address so they can run in parallel.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use protocol_fixtures::{
    modbus::object_id, DeviceHandle, ModbusDevice, ModbusDeviceConfig, ModbusQuirk, OtherUnitIds,
    RdiBehaviour, Recorder, Transport, UnitIdPolicy,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
const SILENCE: Duration = Duration::from_millis(200);

fn spawn(host: u8, config: ModbusDeviceConfig) -> (DeviceHandle, Recorder) {
    let recorder = Recorder::new();
    let addr = SocketAddr::from((Ipv4Addr::new(127, 77, 0, host), 0));
    let device = ModbusDevice::spawn(addr, config, recorder.clone()).expect("bind fixture");
    (device, recorder)
}

fn adu(transaction: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let length = u16::try_from(pdu.len() + 1).unwrap();
    let mut adu = Vec::new();
    adu.extend_from_slice(&transaction.to_be_bytes());
    adu.extend_from_slice(&[0, 0]);
    adu.extend_from_slice(&length.to_be_bytes());
    adu.push(unit);
    adu.extend_from_slice(pdu);
    adu
}

/// Reads one whole reply ADU, trusting only what the MBAP header says.
async fn read_adu(stream: &mut TcpStream) -> Vec<u8> {
    let mut header = [0u8; 7];
    stream.read_exact(&mut header).await.unwrap();
    let length = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let mut pdu = vec![0u8; length - 1];
    stream.read_exact(&mut pdu).await.unwrap();
    [&header[..], &pdu].concat()
}

async fn transact(stream: &mut TcpStream, transaction: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    stream
        .write_all(&adu(transaction, unit, pdu))
        .await
        .unwrap();
    timeout(REPLY_TIMEOUT, read_adu(stream))
        .await
        .expect("reply in time")
}

async fn expect_silence(stream: &mut TcpStream, unit: u8, pdu: &[u8]) {
    stream.write_all(&adu(9, unit, pdu)).await.unwrap();
    let mut byte = [0u8; 1];
    assert!(
        timeout(SILENCE, stream.read(&mut byte)).await.is_err(),
        "expected no reply"
    );
}

#[tokio::test]
async fn basic_read_returns_configured_objects() {
    let config = ModbusDeviceConfig::new("Schneider Electric", "BMX P34 2020", "v3.10")
        .with_object(object_id::PRODUCT_NAME, "Modicon M340")
        .with_conformity_level(0x82);
    let (device, _) = spawn(1, config);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();

    let reply = transact(&mut stream, 0x1234, 0xFF, &[0x2B, 0x0E, 0x01, 0x00]).await;
    let mut expected = vec![0x12, 0x34, 0, 0, 0, 0, 0xFF];
    expected.extend_from_slice(&[0x2B, 0x0E, 0x01, 0x82, 0x00, 0x00, 3]);
    for (id, value) in [
        (0u8, &b"Schneider Electric"[..]),
        (1, b"BMX P34 2020"),
        (2, b"v3.10"),
    ] {
        expected.extend_from_slice(&[id, u8::try_from(value.len()).unwrap()]);
        expected.extend_from_slice(value);
    }
    expected[5] = u8::try_from(expected.len() - 6).unwrap();
    assert_eq!(reply, expected);

    // A regular read adds the regular object.
    let reply = transact(&mut stream, 2, 0xFF, &[0x2B, 0x0E, 0x02, 0x00]).await;
    assert_eq!(reply[13], 4, "object count");
    assert!(reply.ends_with(&[
        0x04, 12, b'M', b'o', b'd', b'i', b'c', b'o', b'n', b' ', b'M', b'3', b'4', b'0'
    ]));
}

#[tokio::test]
async fn continuation_pages_cover_every_object_once() {
    let config = ModbusDeviceConfig::new("V", "P", "R")
        .with_object(object_id::VENDOR_URL, "u")
        .with_object(object_id::MODEL_NAME, "m")
        .with_conformity_level(0x02)
        .with_max_objects_per_page(2);
    let (device, _) = spawn(2, config);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();

    let mut next = 0u8;
    let mut pages = Vec::new();
    loop {
        let reply = transact(&mut stream, 1, 0, &[0x2B, 0x0E, 0x02, next]).await;
        let pdu = &reply[7..];
        assert_eq!(pdu[..4], [0x2B, 0x0E, 0x02, 0x02]);
        pages.push(pdu[6..].to_vec());
        if pdu[4] == 0x00 {
            assert_eq!(pdu[5], 0, "next object id is 0 on the last page");
            break;
        }
        assert_eq!(pdu[4], 0xFF);
        next = pdu[5];
        assert!(pages.len() < 5, "device keeps paging");
    }
    assert_eq!(
        pages,
        [
            vec![2, 0, 1, b'V', 1, 1, b'P'],
            vec![2, 2, 1, b'R', 3, 1, b'u'],
            vec![1, 5, 1, b'm'],
        ]
    );
}

#[tokio::test]
async fn unit_id_policies_silence_or_gateway_exception() {
    let silent =
        ModbusDeviceConfig::default().with_unit_ids(UnitIdPolicy::only([0], OtherUnitIds::Silent));
    let (device, _) = spawn(3, silent);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    expect_silence(&mut stream, 0xFF, &[0x2B, 0x0E, 0x01, 0x00]).await;
    // The connection survives the ignored request.
    let reply = transact(&mut stream, 5, 0, &[0x2B, 0x0E, 0x01, 0x00]).await;
    assert_eq!(reply[..2], [0, 5]);
    assert_eq!(reply[7..9], [0x2B, 0x0E]);

    let gateway = ModbusDeviceConfig::default()
        .with_unit_ids(UnitIdPolicy::only([1], OtherUnitIds::GatewayTargetFailed));
    let (device, _) = spawn(4, gateway);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let reply = transact(&mut stream, 7, 2, &[0x2B, 0x0E, 0x01, 0x00]).await;
    assert_eq!(reply, [0, 7, 0, 0, 0, 3, 2, 0xAB, 0x0B]);
    let reply = transact(&mut stream, 8, 0, &[0x11]).await;
    assert_eq!(reply, [0, 8, 0, 0, 0, 3, 0, 0x91, 0x0B]);
    let reply = transact(&mut stream, 9, 1, &[0x2B, 0x0E, 0x01, 0x00]).await;
    assert_eq!(reply[7..9], [0x2B, 0x0E]);

    let no_path = ModbusDeviceConfig::default()
        .with_unit_ids(UnitIdPolicy::only([], OtherUnitIds::GatewayPathUnavailable));
    let (device, _) = spawn(5, no_path);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let reply = transact(&mut stream, 1, 1, &[0x2B, 0x0E, 0x01, 0x00]).await;
    assert_eq!(reply[7..], [0xAB, 0x0A]);
}

#[tokio::test]
async fn report_server_id_after_read_device_id_refused() {
    let config = ModbusDeviceConfig::default()
        .with_read_device_id(RdiBehaviour::IllegalFunction)
        .with_report_server_id(0x0A, true, "140 CPU");
    let (device, _) = spawn(6, config);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let reply = transact(&mut stream, 1, 0xFF, &[0x2B, 0x0E, 0x01, 0x00]).await;
    assert_eq!(reply, [0, 1, 0, 0, 0, 3, 0xFF, 0xAB, 0x01]);
    let reply = transact(&mut stream, 2, 0xFF, &[0x11]).await;
    assert_eq!(
        reply,
        [0, 2, 0, 0, 0, 12, 0xFF, 0x11, 9, 0x0A, 0xFF, b'1', b'4', b'0', b' ', b'C', b'P', b'U']
    );

    // Without a configured reply, FC 0x11 is an illegal function too; silence is silence.
    let config = ModbusDeviceConfig::default().with_read_device_id(RdiBehaviour::Silent);
    let (device, _) = spawn(7, config);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let reply = transact(&mut stream, 3, 0, &[0x11]).await;
    assert_eq!(reply[7..], [0x91, 0x01]);
    expect_silence(&mut stream, 0, &[0x2B, 0x0E, 0x01, 0x00]).await;
}

#[tokio::test]
async fn quirky_replies_have_exact_bytes() {
    let base = || ModbusDeviceConfig::new("V", "P", "R");
    let header = |len: u8| [0, 1, 0, 0, 0, len, 0];

    let (device, _) = spawn(8, base().with_quirk(ModbusQuirk::UnknownConformity(0x04)));
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let reply = transact(&mut stream, 1, 0, &[0x2B, 0x0E, 0x01, 0x00]).await;
    let body = [
        0x2B, 0x0E, 0x01, 0x04, 0, 0, 3, 0, 1, b'V', 1, 1, b'P', 2, 1, b'R',
    ];
    assert_eq!(reply, [&header(17)[..], &body].concat());

    let quirk = ModbusQuirk::TrailingBytes(vec![0xDE, 0xAD]);
    let (device, _) = spawn(9, base().with_quirk(quirk));
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let reply = transact(&mut stream, 1, 0, &[0x2B, 0x0E, 0x01, 0x00]).await;
    let body = [
        0x2B, 0x0E, 0x01, 0x81, 0, 0, 3, 0, 1, b'V', 1, 1, b'P', 2, 1, b'R', 0xDE, 0xAD,
    ];
    assert_eq!(reply, [&header(19)[..], &body].concat());

    let looping = base()
        .with_max_objects_per_page(2)
        .with_quirk(ModbusQuirk::LoopingContinuation);
    let (device, _) = spawn(10, looping);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let reply = transact(&mut stream, 1, 0, &[0x2B, 0x0E, 0x01, 0x00]).await;
    assert_eq!(
        reply[7..],
        [0x2B, 0x0E, 0x01, 0x81, 0xFF, 2, 2, 0, 1, b'V', 1, 1, b'P']
    );
    let reply = transact(&mut stream, 1, 0, &[0x2B, 0x0E, 0x01, 0x02]).await;
    assert_eq!(reply[7..], [0x2B, 0x0E, 0x01, 0x81, 0xFF, 0, 1, 2, 1, b'R']);

    let (device, _) = spawn(11, base().with_quirk(ModbusQuirk::EndlessContinuation));
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let mut next = 0u8;
    for expected_next in [3u8, 4, 5, 6] {
        let reply = transact(&mut stream, 1, 0, &[0x2B, 0x0E, 0x01, next]).await;
        assert_eq!(reply[11..13], [0xFF, expected_next]);
        next = reply[12];
    }
}

#[tokio::test]
async fn writes_get_illegal_function_and_are_recorded() {
    let (device, recorder) = spawn(12, ModbusDeviceConfig::default());
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let client = stream.local_addr().unwrap();
    let write = adu(0x0042, 1, &[0x06, 0x00, 0x10, 0x12, 0x34]);
    // Two requests in one segment, the second split across two writes: framing, not timing,
    // decides frame boundaries.
    let read = adu(0x0043, 1, &[0x2B, 0x0E, 0x01, 0x00]);
    let mut burst = write.clone();
    burst.extend_from_slice(&read[..3]);
    stream.write_all(&burst).await.unwrap();
    assert_eq!(
        read_adu(&mut stream).await,
        [0, 0x42, 0, 0, 0, 3, 1, 0x86, 0x01]
    );
    stream.write_all(&read[3..]).await.unwrap();
    assert_eq!(read_adu(&mut stream).await[7..9], [0x2B, 0x0E]);

    let frames = recorder.frames();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].bytes, write);
    assert_eq!(frames[1].bytes, read);
    for frame in &frames {
        assert_eq!(frame.device, device.local_addr());
        assert_eq!(frame.peer, client);
        assert_eq!(frame.protocol, "modbus");
        assert_eq!(frame.transport, Transport::Tcp);
        assert_eq!(frame.connection, 1);
    }
    assert!(frames[0].at <= frames[1].at);
}

#[tokio::test]
async fn connection_stats_count_accepted_and_concurrent() {
    let (device, recorder) = spawn(13, ModbusDeviceConfig::default());
    let ip = IpAddr::V4(Ipv4Addr::new(127, 77, 0, 13));
    let request = [0x2B, 0x0E, 0x01, 0x00];

    let mut first = TcpStream::connect(device.local_addr()).await.unwrap();
    transact(&mut first, 1, 0, &request).await;
    let mut second = TcpStream::connect(device.local_addr()).await.unwrap();
    transact(&mut second, 1, 0, &request).await;
    let stats = recorder.connection_stats(ip);
    assert_eq!(
        (stats.accepted, stats.open, stats.max_concurrent),
        (2, 2, 2)
    );

    drop((first, second));
    let mut third = TcpStream::connect(device.local_addr()).await.unwrap();
    transact(&mut third, 1, 0, &request).await;
    wait_until(|| recorder.connection_stats(ip).open == 1).await;
    let stats = recorder.connection_stats(ip);
    assert_eq!((stats.accepted, stats.max_concurrent), (3, 2));

    let frames = recorder.frames_for(ip);
    assert_eq!(
        frames.iter().map(|f| f.connection).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(recorder
        .frames_for(IpAddr::V4(Ipv4Addr::new(127, 77, 0, 99)))
        .is_empty());
    recorder.clear();
    assert!(recorder.frames().is_empty());
    let stats = recorder.connection_stats(ip);
    assert_eq!(
        (stats.accepted, stats.open, stats.max_concurrent),
        (0, 1, 1)
    );
}

#[tokio::test]
async fn non_loopback_addresses_are_refused() {
    let addr = SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 0));
    let err = ModbusDevice::spawn(addr, ModbusDeviceConfig::default(), Recorder::new())
        .expect_err("must refuse");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

async fn wait_until(mut condition: impl FnMut() -> bool) {
    for _ in 0..100 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 1 s");
}
