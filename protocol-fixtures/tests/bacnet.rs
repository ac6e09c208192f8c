//! The BACnet/IP fixture over real loopback sockets, with hand-written requests: identity
//! properties through ReadPropertyMultiple and ReadProperty, and every refusal a scanner must
//! fall back from.

use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use protocol_fixtures::{
    bacnet::{self, charset, error_class, error_code, segmentation},
    BacnetDevice, BacnetDeviceConfig, BacnetRefusal, BacnetString, DeviceHandle, Recorder,
    Transport,
};
use tokio::{net::UdpSocket, time::timeout};

/// The properties a scanner asks for, in its order.
const IDENTITY: [u8; 9] = [75, 120, 121, 70, 44, 12, 77, 28, 58];
const WILDCARD: [u8; 4] = [0x02, 0x3F, 0xFF, 0xFF];

fn device_id(instance: u32) -> [u8; 4] {
    (8u32 << 22 | instance).to_be_bytes()
}

/// BVLC Original-Unicast-NPDU, NPDU version 1 expecting a reply, then `apdu`.
fn datagram(apdu: &[u8]) -> Vec<u8> {
    let len = (apdu.len() + 6) as u16;
    let mut out = vec![0x81, 0x0A];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x04]);
    out.extend_from_slice(apdu);
    out
}

fn rpm(invoke: u8, object: [u8; 4], properties: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x05, invoke, 0x0E, 0x0C];
    apdu.extend_from_slice(&object);
    apdu.push(0x1E);
    for p in properties {
        apdu.extend_from_slice(&[0x09, *p]);
    }
    apdu.push(0x1F);
    datagram(&apdu)
}

fn rp(invoke: u8, object: [u8; 4], property: u8) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x05, invoke, 0x0C, 0x0C];
    apdu.extend_from_slice(&object);
    apdu.extend_from_slice(&[0x19, property]);
    datagram(&apdu)
}

fn spawn(host: u8, config: BacnetDeviceConfig) -> (DeviceHandle, Recorder) {
    let recorder = Recorder::new();
    let addr = SocketAddr::from((Ipv4Addr::new(127, 87, 0, host), 0));
    let handle = BacnetDevice::spawn(addr, config, recorder.clone()).unwrap();
    (handle, recorder)
}

/// Sends `request` and returns the reply, `None` after 300 ms of silence.
async fn exchange(device: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(request, device).await.unwrap();
    let mut buf = vec![0u8; 65_536];
    let (n, from) = timeout(Duration::from_millis(300), socket.recv_from(&mut buf))
        .await
        .ok()?
        .unwrap();
    assert_eq!(from, device, "replies come from the device's port");
    buf.truncate(n);
    Some(buf)
}

/// The APDU of a plain (unforwarded, unrouted) reply, after checking BVLC and NPDU.
fn apdu(reply: &[u8]) -> &[u8] {
    assert_eq!(reply[..2], [0x81, 0x0A], "{reply:02x?}");
    assert_eq!(
        usize::from(u16::from_be_bytes([reply[2], reply[3]])),
        reply.len()
    );
    assert_eq!(reply[4..6], [0x01, 0x00]);
    &reply[6..]
}

/// One application-tagged value at the front of `buf` (length under 254), and the rest.
fn app_value(buf: &[u8]) -> (&[u8], &[u8]) {
    let lvt = usize::from(buf[0] & 0x07);
    let (len, start) = if lvt == 5 {
        (usize::from(buf[1]), 2)
    } else {
        (lvt, 1)
    };
    (&buf[..start + len], &buf[start + len..])
}

type Results = BTreeMap<u8, Result<Vec<u8>, (u8, u8)>>;

/// The object identifier and per-property results of a one-object RPM-ACK.
fn rpm_ack(apdu: &[u8], invoke: u8) -> ([u8; 4], Results) {
    assert_eq!(apdu[..3], [0x30, invoke, 0x0E], "{apdu:02x?}");
    assert_eq!(apdu[3], 0x0C);
    let object = apdu[4..8].try_into().unwrap();
    assert_eq!(apdu[8], 0x1E);
    let mut rest = &apdu[9..];
    let mut results = BTreeMap::new();
    while rest[0] != 0x1F {
        assert_eq!(rest[0], 0x29, "{rest:02x?}");
        let property = rest[1];
        match rest[2] {
            0x4E => {
                let (value, after) = app_value(&rest[3..]);
                assert_eq!(after[0], 0x4F);
                results.insert(property, Ok(value.to_vec()));
                rest = &after[1..];
            }
            0x5E => {
                assert_eq!((rest[3], rest[5], rest[7]), (0x91, 0x91, 0x5F));
                results.insert(property, Err((rest[4], rest[6])));
                rest = &rest[8..];
            }
            other => panic!("unexpected tag {other:02x}"),
        }
    }
    assert_eq!(rest, [0x1F]);
    (object, results)
}

fn string(text: &str) -> Vec<u8> {
    let mut out = if text.len() < 4 {
        vec![0x70 | (text.len() as u8 + 1)]
    } else {
        vec![0x75, text.len() as u8 + 1]
    };
    out.push(0);
    out.extend_from_slice(text.as_bytes());
    out
}

fn controller() -> BacnetDeviceConfig {
    BacnetDeviceConfig::new(
        1040,
        5,
        "Johnson Controls, Inc.",
        "MS-NAE5510-2 (simulated)",
    )
    .with_firmware_revision("11.0.0.611")
    .with_object_name("NAE-BLDG-A")
    .with_location("Building A, mech room 1")
    .with_segmentation(segmentation::BOTH)
}

#[tokio::test]
async fn read_property_multiple_answers_the_identity_and_is_recorded() {
    let (device, recorder) = spawn(1, controller());
    let request = rpm(7, WILDCARD, &IDENTITY);
    let reply = exchange(device.local_addr(), &request).await.unwrap();
    let (object, results) = rpm_ack(apdu(&reply), 7);
    assert_eq!(
        object,
        device_id(1040),
        "the real instance, not the wildcard"
    );
    assert_eq!(results[&75], Ok([&[0xC4][..], &device_id(1040)].concat()));
    assert_eq!(results[&120], Ok(vec![0x21, 5]));
    assert_eq!(results[&121], Ok(string("Johnson Controls, Inc.")));
    assert_eq!(results[&70], Ok(string("MS-NAE5510-2 (simulated)")));
    assert_eq!(results[&44], Ok(string("11.0.0.611")));
    assert_eq!(results[&77], Ok(string("NAE-BLDG-A")));
    assert_eq!(results[&58], Ok(string("Building A, mech room 1")));
    // Missing properties are access errors inside the ACK: property/unknown-property.
    assert_eq!(results[&12], Err((2, 32)));
    assert_eq!(results[&28], Err((2, 32)));
    assert_eq!(results.len(), IDENTITY.len());

    let frames = recorder.frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0].protocol, frames[0].transport, &frames[0].bytes),
        ("bacnet", Transport::Udp, &request)
    );
    assert_eq!(frames[0].device, device.local_addr());
    device.shutdown().await;
}

#[tokio::test]
async fn read_property_serves_one_property_and_its_errors() {
    let (device, _) = spawn(2, controller());
    let addr = device.local_addr();
    let reply = exchange(addr, &rp(1, WILDCARD, 121)).await.unwrap();
    let mut expected = vec![0x30, 1, 0x0C, 0x0C];
    expected.extend_from_slice(&device_id(1040));
    expected.extend_from_slice(&[0x19, 121, 0x3E]);
    expected.extend(string("Johnson Controls, Inc."));
    expected.push(0x3F);
    assert_eq!(apdu(&reply), expected);

    let reply = exchange(addr, &rp(2, device_id(1040), 28)).await.unwrap();
    assert_eq!(apdu(&reply), [0x50, 2, 0x0C, 0x91, 2, 0x91, 32]);
    let reply = exchange(addr, &rp(3, device_id(1041), 121)).await.unwrap();
    assert_eq!(apdu(&reply), [0x50, 3, 0x0C, 0x91, 1, 0x91, 31]);
    // Writes are refused, other services rejected.
    let write = datagram(&[
        0x00, 0x05, 4, 0x0F, 0x0C, 0x02, 0x00, 0x04, 0x10, 0x19, 77, 0x3E, 0x71, 0x00, 0x3F,
    ]);
    let reply = exchange(addr, &write).await.unwrap();
    assert_eq!(apdu(&reply), [0x50, 4, 0x0F, 0x91, 2, 0x91, 40]);
    let reply = exchange(addr, &datagram(&[0x00, 0x05, 5, 0x1A]))
        .await
        .unwrap();
    assert_eq!(apdu(&reply), [0x60, 5, 9]);
    device.shutdown().await;
}

#[tokio::test]
async fn without_rpm_a_scanner_falls_back_to_read_property() {
    let (device, _) = spawn(3, controller().without_rpm());
    let addr = device.local_addr();
    let reply = exchange(addr, &rpm(9, WILDCARD, &IDENTITY)).await.unwrap();
    assert_eq!(apdu(&reply), [0x60, 9, 9], "reject: unrecognized-service");
    let reply = exchange(addr, &rp(10, WILDCARD, 120)).await.unwrap();
    assert_eq!(apdu(&reply)[..3], [0x30, 10, 0x0C]);
    assert_eq!(apdu(&reply)[10..], [0x3E, 0x21, 5, 0x3F]);
    device.shutdown().await;
}

#[tokio::test]
async fn a_device_refusing_the_wildcard_answers_who_is_and_its_instance() {
    let (device, recorder) = spawn(4, controller().refusing_wildcard());
    let addr = device.local_addr();
    let reply = exchange(addr, &rpm(1, WILDCARD, &IDENTITY)).await.unwrap();
    assert_eq!(apdu(&reply), [0x50, 1, 0x0E, 0x91, 1, 0x91, 31]);
    let reply = exchange(addr, &rp(2, WILDCARD, 75)).await.unwrap();
    assert_eq!(apdu(&reply), [0x50, 2, 0x0C, 0x91, 1, 0x91, 31]);

    // Who-Is without a range, then with one that holds 1040, then one that does not.
    let i_am = [
        &[0x10, 0x00, 0xC4][..],
        &device_id(1040),
        &[0x22, 0x05, 0xC4, 0x91, 0x00, 0x21, 5],
    ]
    .concat();
    let who_is = |range: &[u8]| {
        let mut d = datagram(&[&[0x10, 0x08][..], range].concat());
        d[5] = 0x00; // unconfirmed: no reply expected at the network layer
        d
    };
    let reply = exchange(addr, &who_is(&[])).await.unwrap();
    assert_eq!(apdu(&reply), i_am);
    let reply = exchange(addr, &who_is(&[0x0A, 0x04, 0x00, 0x1A, 0x04, 0x20]))
        .await
        .unwrap();
    assert_eq!(apdu(&reply), i_am);
    assert_eq!(
        exchange(addr, &who_is(&[0x09, 0x01, 0x19, 0x02])).await,
        None
    );

    let reply = exchange(addr, &rpm(3, device_id(1040), &IDENTITY))
        .await
        .unwrap();
    let (object, results) = rpm_ack(apdu(&reply), 3);
    assert_eq!(object, device_id(1040));
    assert_eq!(results[&120], Ok(vec![0x21, 5]));
    assert_eq!(recorder.frames().len(), 6);
    device.shutdown().await;
}

#[tokio::test]
async fn forwarded_and_routed_replies_carry_origin_and_source() {
    let (device, _) = spawn(5, controller().forwarded().routed(2001, [0x15]));
    let addr = device.local_addr();
    let SocketAddr::V4(v4) = addr else {
        unreachable!()
    };
    let reply = exchange(addr, &rpm(4, WILDCARD, &IDENTITY)).await.unwrap();
    assert_eq!(reply[..2], [0x81, 0x04]);
    assert_eq!(
        usize::from(u16::from_be_bytes([reply[2], reply[3]])),
        reply.len()
    );
    assert_eq!(reply[4..8], v4.ip().octets());
    assert_eq!(reply[8..10], v4.port().to_be_bytes());
    // NPDU: version 1, source specifier, SNET 2001, SLEN 1, SADR 0x15.
    assert_eq!(reply[10..16], [0x01, 0x08, 0x07, 0xD1, 0x01, 0x15]);
    let (_, results) = rpm_ack(&reply[16..], 4);
    assert_eq!(results[&120], Ok(vec![0x21, 5]));
    device.shutdown().await;
}

#[tokio::test]
async fn a_small_max_apdu_aborts_rpm_and_serves_read_property() {
    let (device, _) = spawn(6, controller().with_max_apdu(50));
    let addr = device.local_addr();
    let reply = exchange(addr, &rpm(5, WILDCARD, &IDENTITY)).await.unwrap();
    assert_eq!(
        apdu(&reply),
        [0x71, 5, 4],
        "abort: segmentation-not-supported"
    );
    // One property fits.
    let reply = exchange(addr, &rpm(6, WILDCARD, &[120])).await.unwrap();
    assert_eq!(rpm_ack(apdu(&reply), 6).1[&120], Ok(vec![0x21, 5]));
    for property in IDENTITY {
        let reply = exchange(addr, &rp(7, WILDCARD, property)).await.unwrap();
        assert!(
            matches!(apdu(&reply)[0], 0x30 | 0x50),
            "{property}: {reply:02x?}"
        );
        assert!(apdu(&reply).len() <= 50);
    }
    let reply = exchange(addr, &rp(8, WILDCARD, 62)).await.unwrap();
    assert_eq!(apdu(&reply)[10..], [0x3E, 0x21, 50, 0x3F]);
    device.shutdown().await;
}

#[tokio::test]
async fn refuse_all_refuses_every_confirmed_request() {
    let refusal = BacnetRefusal::Error {
        class: error_class::DEVICE,
        code: error_code::OPERATIONAL_PROBLEM,
    };
    let (device, _) = spawn(7, controller().refusing_all(refusal));
    let addr = device.local_addr();
    let reply = exchange(addr, &rpm(1, WILDCARD, &IDENTITY)).await.unwrap();
    assert_eq!(apdu(&reply), [0x50, 1, 0x0E, 0x91, 0, 0x91, 25]);
    let reply = exchange(addr, &rp(2, device_id(1040), 75)).await.unwrap();
    assert_eq!(apdu(&reply), [0x50, 2, 0x0C, 0x91, 0, 0x91, 25]);
    let (device, _) = spawn(8, controller().refusing_all(BacnetRefusal::Reject(9)));
    let reply = exchange(device.local_addr(), &rp(3, WILDCARD, 75))
        .await
        .unwrap();
    assert_eq!(apdu(&reply), [0x60, 3, 9]);
    device.shutdown().await;
}

#[tokio::test]
async fn strings_keep_their_character_set_and_bytes() {
    let config = controller()
        .with_location(BacnetString::latin1(b"Geb\xE4ude S\xFCd".to_vec()))
        .with_description(BacnetString::raw(
            charset::UTF8,
            b"K\xFChlung \xFF".to_vec(),
        ));
    let (device, _) = spawn(9, config);
    let reply = exchange(device.local_addr(), &rpm(1, WILDCARD, &IDENTITY))
        .await
        .unwrap();
    let (_, results) = rpm_ack(apdu(&reply), 1);
    assert_eq!(
        results[&58],
        Ok([&[0x75, 12, 5][..], b"Geb\xE4ude S\xFCd"].concat())
    );
    let description = results[&28].clone().unwrap();
    assert_eq!(description[2], 0);
    assert!(std::str::from_utf8(&description[3..]).is_err());
    device.shutdown().await;
}

#[tokio::test]
async fn malformed_datagrams_are_recorded_and_dropped() {
    let (device, recorder) = spawn(10, controller());
    let addr = device.local_addr();
    let mut wrong_length = rp(1, WILDCARD, 75);
    wrong_length[3] += 1;
    for request in [
        wrong_length,
        vec![0x81, 0x0A, 0x00, 0x04],
        vec![0x82, 0x0A, 0x00, 0x06, 0x01, 0x04],
        b"not bacnet".to_vec(),
    ] {
        assert_eq!(exchange(addr, &request).await, None, "{request:02x?}");
    }
    assert_eq!(recorder.frames().len(), 4);
    // A segmented request is aborted.
    let reply = exchange(addr, &datagram(&[0x08, 0x05, 2, 0, 1, 0x0C]))
        .await
        .unwrap();
    assert_eq!(apdu(&reply), [0x71, 2, 4]);
    assert_eq!(bacnet::PORT, 47808);
    device.shutdown().await;
}
