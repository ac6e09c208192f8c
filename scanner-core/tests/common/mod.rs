//! Shared by the integration tests: the read-only audit of recorded frames.

use protocol_fixtures::RecordedFrame;

/// Fails unless `frame` is a read-only identification request of the protocol
/// served on the port it arrived at (by port, so silent fixtures that record raw
/// bytes are audited too):
/// Modbus: MBAP with protocol id 0, a true length, FC 0x2B/0x0E stream read or FC 0x11.
/// EtherNet/IP: a bare 24-byte header of ListIdentity, ListServices or ListInterfaces.
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
