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

/// Audits `frame` (see [`assert_read_only`], [`assert_read_only_snmp`]) and says what it asks.
#[allow(dead_code)]
pub fn audit_and_classify(frame: &RecordedFrame, ports: protocol_fixtures::PlantPorts) -> Request {
    let bytes = &frame.bytes;
    if frame.device.port() == ports.snmp {
        assert_read_only_snmp(bytes);
        return classify_snmp(bytes);
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
