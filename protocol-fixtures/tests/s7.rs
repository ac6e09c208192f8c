//! The S7 fixture over real loopback TCP, with hand-written requests: COTP connection by TSAP,
//! Setup Communication, SZL 0x0011 and 0x001C reads, and the refusals.

use std::{
    io,
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use protocol_fixtures::{
    s7::{self, component_index as ci, cotp, tsap},
    DeviceHandle, Recorder, S7Behaviour, S7Device, S7DeviceConfig, Transport, TsapRefusal,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

fn connection_request(called: u16) -> Vec<u8> {
    let mut frame = vec![
        0x03, 0x00, 0x00, 0x16, 0x11, 0xE0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xC0, 0x01, 0x0A, 0xC1,
        0x02, 0x01, 0x00, 0xC2, 0x02,
    ];
    frame.extend_from_slice(&called.to_be_bytes());
    frame
}

fn setup(pdu_ref: u16) -> Vec<u8> {
    let mut frame = vec![
        0x03, 0x00, 0x00, 0x19, 0x02, 0xF0, 0x80, 0x32, 0x01, 0x00, 0x00,
    ];
    frame.extend_from_slice(&pdu_ref.to_be_bytes());
    frame.extend_from_slice(&[0x00, 0x08, 0x00, 0x00, 0xF0, 0x00, 0x00, 0x01, 0x00, 0x01]);
    frame.extend_from_slice(&480u16.to_be_bytes());
    frame
}

fn szl_read(pdu_ref: u16, id: u16, index: u16) -> Vec<u8> {
    let mut frame = vec![
        0x03, 0x00, 0x00, 0x21, 0x02, 0xF0, 0x80, 0x32, 0x07, 0x00, 0x00,
    ];
    frame.extend_from_slice(&pdu_ref.to_be_bytes());
    frame.extend_from_slice(&[0x00, 0x08, 0x00, 0x08]);
    frame.extend_from_slice(&[0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01, 0x00]);
    frame.extend_from_slice(&[0xFF, 0x09, 0x00, 0x04]);
    frame.extend_from_slice(&id.to_be_bytes());
    frame.extend_from_slice(&index.to_be_bytes());
    frame
}

async fn read_tpkt(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    timeout(Duration::from_secs(2), stream.read_exact(&mut header))
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    assert_eq!(header[..2], [3, 0]);
    let mut frame = vec![0u8; usize::from(u16::from_be_bytes([header[2], header[3]]))];
    frame[..4].copy_from_slice(&header);
    stream.read_exact(&mut frame[4..]).await?;
    Ok(frame)
}

async fn exchange(stream: &mut TcpStream, request: &[u8]) -> Vec<u8> {
    stream.write_all(request).await.unwrap();
    read_tpkt(stream).await.unwrap()
}

/// Whether the device closed the connection (after whatever it sent).
async fn closed(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    matches!(
        timeout(Duration::from_secs(2), stream.read_to_end(&mut rest)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

fn s7_300() -> S7DeviceConfig {
    S7DeviceConfig::new()
        .with_pdu_length(240)
        .with_module("6ES7 315-2EH14-0AB0", 4)
        .with_basic_hardware("6ES7 315-2EH14-0AB0", 4)
        .with_basic_firmware(3, 2, 8)
        .with_component(ci::SYSTEM_NAME, "SIMATIC 300(1)")
        .with_component(ci::MODULE_NAME, "CPU 315-2 PN/DP")
        .with_component(ci::COPYRIGHT, "Original Siemens Equipment")
        .with_component(ci::SERIAL_NUMBER, "S C-X4U421302009")
}

fn spawn(host: u8, config: S7DeviceConfig) -> (DeviceHandle, Recorder) {
    let recorder = Recorder::new();
    let addr = SocketAddr::from((Ipv4Addr::new(127, 88, 0, host), 0));
    let handle = S7Device::spawn(addr, config, recorder.clone()).unwrap();
    (handle, recorder)
}

/// The S7 PDU of a DT frame.
fn s7_pdu(frame: &[u8]) -> &[u8] {
    assert_eq!(frame[4..7], [0x02, 0xF0, 0x80], "{frame:02x?}");
    &frame[7..]
}

#[tokio::test]
async fn classic_cpu_identifies_itself_and_every_frame_is_recorded() {
    let (device, recorder) = spawn(1, s7_300());
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let cr = connection_request(0x0102);
    let cc = exchange(&mut stream, &cr).await;
    // CC: destination reference = our source reference 1, parameters echoed.
    assert_eq!(cc[4..10], [0x11, 0xD0, 0x00, 0x01, 0x00, 0x01]);
    assert_eq!(cc[11..], cr[11..]);

    let ack = exchange(&mut stream, &setup(0x0A0B)).await;
    assert_eq!(
        s7_pdu(&ack),
        [0x32, 0x03, 0, 0, 0x0A, 0x0B, 0, 8, 0, 0, 0, 0, 0xF0, 0, 0, 1, 0, 1, 0, 240]
    );

    let reply = exchange(&mut stream, &szl_read(0x0A0C, 0x0011, 0)).await;
    let pdu = s7_pdu(&reply);
    assert_eq!(pdu[..6], [0x32, 0x07, 0, 0, 0x0A, 0x0C]);
    assert_eq!(pdu[6..8], [0, 12]);
    let params = &pdu[10..22];
    assert_eq!(
        params,
        [0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00]
    );
    let data = &pdu[22..];
    assert_eq!(
        usize::from(u16::from_be_bytes([pdu[8], pdu[9]])),
        data.len()
    );
    assert_eq!(data[..2], [0xFF, 0x09]);
    assert_eq!(
        usize::from(u16::from_be_bytes([data[2], data[3]])),
        data.len() - 4
    );
    assert_eq!(data[4..12], [0x00, 0x11, 0x00, 0x00, 0x00, 28, 0x00, 3]);
    let records: Vec<&[u8]> = data[12..].chunks(28).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0][..22], *b"\x00\x016ES7 315-2EH14-0AB0 ");
    assert_eq!(records[0][22..], [0x00, 0xC0, 0, 4, 0, 1]);
    assert_eq!(records[1][..2], [0, 6]);
    assert_eq!(records[2][..2], [0, 7]);
    assert_eq!(records[2][2..22], [b' '; 20]);
    assert_eq!(records[2][24..], [b'V', 3, 2, 8]);

    let reply = exchange(&mut stream, &szl_read(0x0A0D, 0x001C, 0)).await;
    let data = &s7_pdu(&reply)[22..];
    assert_eq!(data[4..12], [0x00, 0x1C, 0x00, 0x00, 0x00, 34, 0x00, 4]);
    let records: Vec<&[u8]> = data[12..].chunks(34).collect();
    assert_eq!(records[1][..2], [0, 2]);
    assert_eq!(&records[1][2..17], b"CPU 315-2 PN/DP");
    assert!(records[1][17..].iter().all(|b| *b == 0));
    assert_eq!(records[3][..2], [0, 5]);
    assert_eq!(&records[3][2..18], b"S C-X4U421302009");

    // A partial list: one record by index.
    let reply = exchange(&mut stream, &szl_read(0x0A0E, 0x011C, 5)).await;
    let data = &s7_pdu(&reply)[22..];
    assert_eq!(data[4..12], [0x01, 0x1C, 0x00, 0x05, 0x00, 34, 0x00, 1]);

    // Reads and writes of memory are refused.
    let read_var = [
        3, 0, 0, 0x1F, 2, 0xF0, 0x80, 0x32, 0x01, 0, 0, 0, 9, 0, 0x0E, 0, 0, 0x04, 0x01, 0x12,
        0x0A, 0x10, 0x02, 0x00, 0x01, 0x00, 0x01, 0x84, 0x00, 0x00, 0x00,
    ];
    let reply = exchange(&mut stream, &read_var).await;
    assert_eq!(
        s7_pdu(&reply),
        [0x32, 0x03, 0, 0, 0, 9, 0, 0, 0, 0, 0x81, 0x04]
    );

    stream.shutdown().await.unwrap();
    assert!(closed(&mut stream).await);
    let frames = recorder.frames();
    assert_eq!(frames.len(), 6);
    assert!(frames
        .iter()
        .all(|f| f.protocol == "s7" && f.transport == Transport::Tcp));
    assert_eq!(frames[0].bytes, cr);
    assert_eq!(frames[1].bytes, setup(0x0A0B));
    assert_eq!(frames[5].bytes, read_var);
    device.shutdown().await;
}

#[tokio::test]
async fn other_tsaps_get_a_disconnect_or_a_close_and_reconnects_work() {
    let config = s7_300().with_tsaps([tsap(0, 3), 0x0200]);
    let (device, recorder) = spawn(2, config.clone());
    for called in [0x0102, 0x0100] {
        let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
        let dr = exchange(&mut stream, &connection_request(called)).await;
        assert_eq!(
            dr,
            [
                3,
                0,
                0,
                11,
                6,
                0x80,
                0,
                1,
                0,
                1,
                cotp::REASON_ADDRESS_UNKNOWN
            ]
        );
        assert!(closed(&mut stream).await);
    }
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let cc = exchange(&mut stream, &connection_request(0x0200)).await;
    assert_eq!(cc[5], 0xD0);
    let ack = exchange(&mut stream, &setup(1)).await;
    assert_eq!(s7_pdu(&ack)[10..12], [0, 0]);
    assert_eq!(
        recorder.connection_stats(device.local_addr().ip()).accepted,
        3
    );
    device.shutdown().await;

    let (device, _) = spawn(3, config.with_other_tsaps(TsapRefusal::Close));
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    stream.write_all(&connection_request(0x0102)).await.unwrap();
    let mut rest = Vec::new();
    timeout(Duration::from_secs(2), stream.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty(), "{rest:02x?}");
    device.shutdown().await;
}

#[tokio::test]
async fn refused_setup_is_an_error_ack_data_without_parameters() {
    let config = s7_300().with_behaviour(S7Behaviour::RefuseSetup {
        class: 0x81,
        code: 0x04,
    });
    let (device, _) = spawn(4, config);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    let cc = exchange(&mut stream, &connection_request(0x0102)).await;
    assert_eq!(cc[5], 0xD0);
    let ack = exchange(&mut stream, &setup(7)).await;
    assert_eq!(
        s7_pdu(&ack),
        [0x32, 0x03, 0, 0, 0, 7, 0, 0, 0, 0, 0x81, 0x04]
    );
    // Without a setup, userdata ends the conversation.
    stream.write_all(&szl_read(8, 0x0011, 0)).await.unwrap();
    assert!(closed(&mut stream).await);
    device.shutdown().await;
}

#[tokio::test]
async fn refused_szl_reads_carry_d401_and_return_code_0a() {
    let (device, _) = spawn(5, s7_300().with_behaviour(S7Behaviour::RefuseSzl));
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    exchange(&mut stream, &connection_request(0x0102)).await;
    exchange(&mut stream, &setup(1)).await;
    for id in [0x0011, 0x001C] {
        let reply = exchange(&mut stream, &szl_read(2, id, 0)).await;
        let pdu = s7_pdu(&reply);
        assert_eq!(pdu[..10], [0x32, 0x07, 0, 0, 0, 2, 0, 12, 0, 4]);
        assert_eq!(
            pdu[10..],
            [
                0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01, 0x00, 0x00, 0x00, 0xD4, 0x01, 0x0A, 0, 0,
                0
            ]
        );
    }
    device.shutdown().await;

    // A device without a list refuses that list only.
    let config = S7DeviceConfig::new()
        .with_tsaps([0x0100])
        .with_module("6ES7 214-1AG40-0XB0", 5);
    let (device, _) = spawn(6, config);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    exchange(&mut stream, &connection_request(0x0100)).await;
    exchange(&mut stream, &setup(1)).await;
    let reply = exchange(&mut stream, &szl_read(3, 0x0011, 0)).await;
    assert_eq!(s7_pdu(&reply)[20..22], [0, 0]);
    let reply = exchange(&mut stream, &szl_read(4, 0x001C, 0)).await;
    assert_eq!(s7_pdu(&reply)[20..22], [0xD4, 0x01]);
    device.shutdown().await;
}

#[tokio::test]
async fn long_lists_are_cut_to_the_negotiated_pdu_and_odd_record_lengths_are_honest() {
    let config = (1..=11u16)
        .fold(s7_300(), |c, i| {
            c.with_component(i, format!("component {i}"))
        })
        .with_module_record_len(30);
    let (device, _) = spawn(7, config);
    let mut stream = TcpStream::connect(device.local_addr()).await.unwrap();
    exchange(&mut stream, &connection_request(0x0102)).await;
    exchange(&mut stream, &setup(1)).await;
    let reply = exchange(&mut stream, &szl_read(2, 0x001C, 0)).await;
    let pdu = s7_pdu(&reply);
    assert!(pdu.len() <= 240, "{}", pdu.len());
    assert_eq!(pdu[22 + 8..22 + 12], [0, 34, 0, 6]);
    assert_eq!(pdu.len(), 22 + 12 + 6 * 34);

    let reply = exchange(&mut stream, &szl_read(3, 0x0011, 0)).await;
    let data = &s7_pdu(&reply)[22..];
    assert_eq!(data[8..12], [0, 30, 0, 3]);
    assert_eq!(data.len(), 12 + 3 * 30);
    assert_eq!(data[12 + 28..12 + 30], [0, 0]);
    assert_eq!(s7::PORT, 102);
    device.shutdown().await;
}
