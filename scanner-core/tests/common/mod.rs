//! Shared by the integration tests: the read-only audit of recorded frames.

use protocol_fixtures::RecordedFrame;

/// Fails unless `frame` is a read-only identification request of the protocol
/// served on the port it arrived at (by port, so silent fixtures that record raw
/// bytes are audited too):
/// Modbus: MBAP with protocol id 0, a true length, FC 0x2B/0x0E stream read or FC 0x11.
/// EtherNet/IP: a bare 24-byte header of ListIdentity, ListServices or ListInterfaces.
#[allow(dead_code)] // not every test binary audits TCP
pub fn assert_read_only(frame: &RecordedFrame, modbus_port: u16, enip_port: u16) {
    let bytes = &frame.bytes;
    let port = frame.device.port();
    if port == modbus_port {
        assert!(bytes.len() >= 8, "short Modbus frame {frame:?}");
        assert_eq!(&bytes[2..4], [0, 0], "protocol id: {frame:?}");
        let length = usize::from(u16::from_be_bytes([bytes[4], bytes[5]]));
        assert_eq!(length, bytes.len() - 6, "length: {frame:?}");
        let ok = matches!(&bytes[7..], [0x2B, 0x0E, 0x01..=0x03, _] | [0x11]);
        assert!(
            ok,
            "not a read-only Modbus identification request: {frame:?}"
        );
    } else if port == enip_port {
        assert_eq!(
            bytes.len(),
            24,
            "ENIP list commands carry no data: {frame:?}"
        );
        let command = u16::from_le_bytes([bytes[0], bytes[1]]);
        assert!(
            [0x0063, 0x0004, 0x0064].contains(&command),
            "not an ENIP list command: {frame:?}"
        );
        assert_eq!(&bytes[4..8], [0; 4], "no session: {frame:?}");
    } else {
        panic!("frame on an unexpected port: {frame:?}");
    }
}

/// Fails unless `datagram` is an SNMP GetRequest or GetNextRequest (v1/v2c) or the v3
/// discovery request, decoded with rasn-snmp (independent of otscan's own decoder).
#[allow(dead_code)] // not every test binary audits SNMP
pub fn assert_read_only_snmp(datagram: &[u8]) {
    use rasn_snmp::{v2, v2c, v3};
    if let Ok(m) = rasn::ber::decode::<v2c::Message<v2::Pdus>>(datagram) {
        assert!(
            matches!(
                m.data,
                v2::Pdus::GetRequest(_) | v2::Pdus::GetNextRequest(_)
            ),
            "not a Get/GetNext: {m:?}"
        );
        return;
    }
    let m = rasn::ber::decode::<v3::Message>(datagram)
        .unwrap_or_else(|e| panic!("undecodable SNMP datagram {datagram:02x?}: {e}"));
    assert_eq!(
        m.global_data.flags.as_ref(),
        [0x04],
        "reportable, noAuthNoPriv"
    );
    match m.scoped_data {
        v3::ScopedPduData::CleartextPdu(p) => match p.data {
            v2::Pdus::GetRequest(r) => {
                assert!(r.0.variable_bindings.is_empty(), "discovery is empty")
            }
            other => panic!("v3 message other than discovery: {other:?}"),
        },
        v3::ScopedPduData::EncryptedPdu(_) => panic!("encrypted v3 PDU"),
    }
}

/// The APDU of a BACnet/IP datagram, read by hand after checking that it is an
/// Original-Unicast-NPDU with a version-1 NPDU that routes nowhere and carries no
/// network-layer message.
#[allow(dead_code)]
fn bacnet_apdu(datagram: &[u8]) -> &[u8] {
    assert!(datagram.len() >= 8, "short BACnet datagram {datagram:02x?}");
    assert_eq!(
        datagram[..2],
        [0x81, 0x0A],
        "only unicast BVLC: {datagram:02x?}"
    );
    assert_eq!(
        usize::from(u16::from_be_bytes([datagram[2], datagram[3]])),
        datagram.len(),
        "BVLC length: {datagram:02x?}"
    );
    assert_eq!(datagram[4], 0x01, "NPDU version: {datagram:02x?}");
    assert_eq!(
        datagram[5] & !0x04,
        0,
        "no routing, no network message: {datagram:02x?}"
    );
    &datagram[6..]
}

/// Fails unless `datagram` is a BACnet confirmed ReadProperty / ReadPropertyMultiple of
/// the Device object, not segmented, or an unconfirmed Who-Is, all by unicast.
#[allow(dead_code)]
pub fn assert_read_only_bacnet(datagram: &[u8]) {
    let apdu = bacnet_apdu(datagram);
    match apdu[0] {
        0x00 => {
            assert!(
                matches!(apdu[3], 0x0C | 0x0E),
                "confirmed service {:#04x} is not a read: {datagram:02x?}",
                apdu[3]
            );
            assert_eq!(apdu[4], 0x0C, "object identifier first: {datagram:02x?}");
            let object = u32::from_be_bytes([apdu[5], apdu[6], apdu[7], apdu[8]]);
            assert_eq!(object >> 22, 8, "Device object only: {datagram:02x?}");
        }
        0x10 => assert_eq!(
            apdu[1], 0x08,
            "unconfirmed other than Who-Is: {datagram:02x?}"
        ),
        other => {
            panic!("BACnet PDU type {other:#04x} is not a request otscan makes: {datagram:02x?}")
        }
    }
}

/// Fails unless `frame` is an S7 COTP Connection Request, a Setup Communication job or a
/// userdata read of SZL 0x0011 or 0x001C, each in one TPKT frame.
#[allow(dead_code)]
pub fn assert_read_only_s7(bytes: &[u8]) {
    assert!(bytes.len() >= 7, "short TPKT frame {bytes:02x?}");
    assert_eq!(bytes[0], 3, "TPKT version: {bytes:02x?}");
    assert_eq!(
        usize::from(u16::from_be_bytes([bytes[2], bytes[3]])),
        bytes.len(),
        "TPKT length: {bytes:02x?}"
    );
    let cotp = &bytes[4..];
    match cotp[1] {
        0xE0 => assert_eq!(
            usize::from(cotp[0]) + 1,
            cotp.len(),
            "a Connection Request carries no user data: {bytes:02x?}"
        ),
        0xF0 => {
            let s7 = &cotp[3..];
            assert_eq!(s7[0], 0x32, "S7 protocol id: {bytes:02x?}");
            let params = &s7[10..];
            match s7[1] {
                0x01 => assert_eq!(
                    params[0], 0xF0,
                    "the only job is Setup Communication: {bytes:02x?}"
                ),
                0x07 => {
                    assert_eq!(
                        params[..7],
                        [0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01],
                        "the only userdata is a read-SZL request: {bytes:02x?}"
                    );
                    let data = &s7[18..];
                    let szl = u16::from_be_bytes([data[4], data[5]]);
                    assert!(
                        matches!(szl, 0x0011 | 0x001C),
                        "SZL {szl:#06x}: {bytes:02x?}"
                    );
                }
                other => panic!("S7 ROSCTR {other:#04x}: {bytes:02x?}"),
            }
        }
        other => panic!("COTP TPDU {other:#04x} is not a request otscan makes: {bytes:02x?}"),
    }
}

/// What a recorded request asks for, decoded independently of otscan's encoders (by hand for
/// Modbus and EtherNet/IP, with rasn-snmp for SNMP), for tests that check they saw every kind
/// of request an option can cause.
#[allow(dead_code)] // only the wire audit classifies
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Request {
    /// Modbus FC 0x2B/0x0E (`read_code` 1-3, first `object`) or FC 0x11 (`read_code` 0).
    Modbus {
        /// MBAP unit id.
        unit: u8,
        /// Function code.
        function: u8,
        /// Read device id code (0 for FC 0x11).
        read_code: u8,
        /// First object id asked for (0 for FC 0x11).
        object: u8,
    },
    /// EtherNet/IP encapsulation command.
    Enip {
        /// Command code.
        command: u16,
    },
    /// BACnet APDU: `pdu` 0 (confirmed, `service` 0x0C/0x0E, `instance` the Device
    /// instance asked for) or 1 (unconfirmed Who-Is, `service` 0x08, `instance` 0).
    Bacnet {
        /// PDU type.
        pdu: u8,
        /// Service choice.
        service: u8,
        /// Device instance asked for (4194303: the wildcard).
        instance: u32,
    },
    /// S7: `Cr` to a TSAP, `Setup`, or `Szl` of a list.
    S7(S7Request),
    /// SNMP message.
    Snmp {
        /// Message version: 0 (v1), 1 (v2c) or 3.
        version: u8,
        /// PDU tag: 0xA0 GetRequest, 0xA1 GetNextRequest.
        pdu: u8,
        /// Community (empty for v3).
        community: Vec<u8>,
    },
}

/// An S7 request, decoded by hand.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum S7Request {
    /// COTP Connection Request to this destination TSAP.
    Cr(u16),
    /// Setup Communication.
    Setup,
    /// Read SZL of this id.
    Szl(u16),
}

/// Audits `frame` (see [`assert_read_only`], [`assert_read_only_snmp`],
/// [`assert_read_only_bacnet`], [`assert_read_only_s7`]) and says what it asks.
#[allow(dead_code)]
pub fn audit_and_classify(frame: &RecordedFrame, ports: protocol_fixtures::PlantPorts) -> Request {
    let bytes = &frame.bytes;
    if frame.device.port() == ports.snmp {
        assert_read_only_snmp(bytes);
        return classify_snmp(bytes);
    }
    if frame.device.port() == ports.bacnet {
        assert_read_only_bacnet(bytes);
        let apdu = bacnet_apdu(bytes);
        return match apdu[0] {
            0x00 => Request::Bacnet {
                pdu: 0,
                service: apdu[3],
                instance: u32::from_be_bytes([apdu[5], apdu[6], apdu[7], apdu[8]]) & 0x3F_FFFF,
            },
            _ => Request::Bacnet {
                pdu: 1,
                service: apdu[1],
                instance: 0,
            },
        };
    }
    if frame.device.port() == ports.s7 {
        assert_read_only_s7(bytes);
        let cotp = &bytes[4..];
        return Request::S7(if cotp[1] == 0xE0 {
            // Parameters after the 7 fixed bytes: code, length, value.
            let mut params = &cotp[7..];
            let mut called = 0;
            while let [code, len, rest @ ..] = params {
                let (value, next) = rest.split_at(usize::from(*len));
                if *code == 0xC2 {
                    called = u16::from_be_bytes([value[0], value[1]]);
                }
                params = next;
            }
            S7Request::Cr(called)
        } else if cotp[4] == 0x01 {
            S7Request::Setup
        } else {
            let data = &cotp[3 + 18..];
            S7Request::Szl(u16::from_be_bytes([data[4], data[5]]))
        });
    }
    assert_read_only(frame, ports.modbus, ports.enip);
    if frame.device.port() == ports.modbus {
        let (read_code, object) = match bytes[7..] {
            [0x2B, 0x0E, code, object] => (code, object),
            _ => (0, 0),
        };
        Request::Modbus {
            unit: bytes[6],
            function: bytes[7],
            read_code,
            object,
        }
    } else {
        Request::Enip {
            command: u16::from_le_bytes([bytes[0], bytes[1]]),
        }
    }
}

#[allow(dead_code)]
fn classify_snmp(datagram: &[u8]) -> Request {
    use rasn_snmp::{v2, v2c, v3};
    let tag = |pdus: &v2::Pdus| match pdus {
        v2::Pdus::GetRequest(_) => 0xA0,
        v2::Pdus::GetNextRequest(_) => 0xA1,
        other => panic!("not a read: {other:?}"),
    };
    if let Ok(m) = rasn::ber::decode::<v2c::Message<v2::Pdus>>(datagram) {
        return Request::Snmp {
            version: u8::try_from(&m.version).expect("version 0 or 1"),
            pdu: tag(&m.data),
            community: m.community.to_vec(),
        };
    }
    let m = rasn::ber::decode::<v3::Message>(datagram).expect("v3 message");
    let v3::ScopedPduData::CleartextPdu(p) = m.scoped_data else {
        panic!("encrypted v3 PDU")
    };
    Request::Snmp {
        version: 3,
        pdu: tag(&p.data),
        community: Vec::new(),
    }
}
