//! Shared by the integration tests: the read-only audit of recorded frames, by the one
//! allowlist in [`protocol_fixtures::allowlist`]. Frames are audited by the port they arrived
//! at, not by their recorded label, so silent fixtures that record raw bytes are audited too.

use std::fmt::Debug;

use protocol_fixtures::{allowlist, PlantPorts, RecordedFrame};

#[allow(unused_imports)] // not every test binary classifies
pub use protocol_fixtures::allowlist::{Request, S7Request};

/// What `bytes` asks for if they are an allowlisted request of `protocol`; otherwise panics
/// with the rule they break and `shown` (the frame or the bytes).
fn audit(protocol: &str, bytes: &[u8], shown: &dyn Debug) -> Request {
    allowlist::check(protocol, bytes).unwrap_or_else(|violation| panic!("{violation}: {shown:?}"))
}

/// The allowlist label of the protocol served on the port `frame` arrived at, among `ports`
/// (port, label) pairs; panics on any other port.
fn label(frame: &RecordedFrame, ports: &[(u16, &'static str)]) -> &'static str {
    let port = frame.device.port();
    ports
        .iter()
        .find_map(|&(p, label)| (p == port).then_some(label))
        .unwrap_or_else(|| panic!("frame on an unexpected port: {frame:?}"))
}

/// Fails unless `frame` is a read-only identification request of the protocol served on the
/// port it arrived at: Modbus/TCP on `modbus_port`, EtherNet/IP on `enip_port` (see
/// [`allowlist`] for the rules).
#[allow(dead_code)] // not every test binary audits TCP
pub fn assert_read_only(frame: &RecordedFrame, modbus_port: u16, enip_port: u16) {
    let protocol = label(
        frame,
        &[
            (modbus_port, allowlist::MODBUS),
            (enip_port, allowlist::ENIP),
        ],
    );
    audit(protocol, &frame.bytes, frame);
}

/// Fails unless `datagram` is an SNMP GetRequest or GetNextRequest (v1/v2c) or the v3
/// discovery request.
#[allow(dead_code)] // not every test binary audits SNMP
pub fn assert_read_only_snmp(datagram: &[u8]) {
    audit(allowlist::SNMP, datagram, &format_args!("{datagram:02x?}"));
}

/// Fails unless `datagram` is a BACnet confirmed ReadProperty / ReadPropertyMultiple of
/// the Device object, not segmented, or an unconfirmed Who-Is, all by unicast.
#[allow(dead_code)]
pub fn assert_read_only_bacnet(datagram: &[u8]) {
    audit(
        allowlist::BACNET,
        datagram,
        &format_args!("{datagram:02x?}"),
    );
}

/// Fails unless `bytes` is an S7 COTP Connection Request, a Setup Communication job or a
/// userdata read of SZL 0x0011 or 0x001C, each in one TPKT frame.
#[allow(dead_code)]
pub fn assert_read_only_s7(bytes: &[u8]) {
    audit(allowlist::S7, bytes, &format_args!("{bytes:02x?}"));
}

/// Audits `frame` by the protocol of the plant port it arrived at (every protocol the
/// allowlist knows, by its port in `ports`) and says what it asks.
#[allow(dead_code)]
pub fn audit_and_classify(frame: &RecordedFrame, ports: PlantPorts) -> Request {
    let by_port: Vec<(u16, &'static str)> = allowlist::PROTOCOLS
        .iter()
        .filter_map(|&label| ports.get(label).map(|port| (port, label)))
        .collect();
    // A TLS fixture records its clients' ClientHellos as `tls` and the requests inside
    // the sessions as `https`, both on the HTTPS port.
    let protocol = match label(frame, &by_port) {
        allowlist::HTTPS if frame.protocol == allowlist::TLS => allowlist::TLS,
        other => other,
    };
    audit(protocol, &frame.bytes, frame)
}

/// Points every registered protocol's probe at the port the simulated plant serves it
/// on, so a test that scans the whole plant lists no protocol by name (a new protocol
/// needs a port in [`PlantPorts`], nothing here). Set other settings of a protocol
/// before this call: its setter replaces the port.
#[allow(dead_code)] // not every test binary scans a whole plant
pub fn at_plant_ports(
    builder: scanner_core::ScanConfigBuilder,
    ports: PlantPorts,
) -> scanner_core::ScanConfigBuilder {
    scanner_core::Protocol::ALL.iter().fold(builder, |b, &p| {
        let port = ports
            .get(p.name())
            .unwrap_or_else(|| panic!("the simulated plant has no port for {p}"));
        b.port(p, port)
    })
}

/// Bytes written as hex digits, any other characters (spaces, `:`) ignored.
#[allow(dead_code)] // not every test binary reads hex
pub fn hx(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}
