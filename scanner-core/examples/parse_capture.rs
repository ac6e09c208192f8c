//! Use the protocol codecs alone, without the engine: parse captured reply bytes.
//!
//! `cargo run -p scanner-core --example parse_capture`

use scanner_core::protocols::{enip, modbus, snmp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A Modbus/TCP Read Device Identification reply (basic stream), as captured.
    let modbus_reply = [
        0x00, 0x01, 0x00, 0x00, 0x00, 0x1A, 0xFF, // MBAP: tid 1, length 26, unit 255
        0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03, // FC 43/14, basic, conformity 1, 3 objects
        0x00, 0x04, b'A', b'c', b'm', b'e', // VendorName
        0x01, 0x04, b'P', b'-', b'1', b'0', // ProductCode
        0x02, 0x04, b'v', b'2', b'.', b'1', // MajorMinorRevision
    ];
    let parsed = modbus::codec::parse(&modbus_reply)?;
    println!("modbus: {:?} via {:?}", parsed.pdu, parsed.decoder);

    // An EtherNet/IP reply with a non-zero encapsulation status (invalid command).
    let mut enip_reply = vec![0x63, 0x00, 0x00, 0x00];
    enip_reply.extend_from_slice(&[0; 4]); // session
    enip_reply.extend_from_slice(&1u32.to_le_bytes()); // status 1
    enip_reply.extend_from_slice(&[0; 12]); // context + options
    let reply = enip::codec::parse(&enip_reply)?;
    println!(
        "enip: status {:#x} ({:?})",
        reply.status(),
        reply.status_name
    );

    // An SNMPv3 engine id from a Report.
    let engine = snmp::decode_engine_id(&[
        0x80, 0x00, 0x01, 0x3E, 0x03, 0x00, 0xC0, 0xB7, 0x4A, 0x12, 0x9E,
    ]);
    println!(
        "snmp engine: {} {:?} {:?}",
        engine.format, engine.enterprise_name, engine.value
    );
    Ok(())
}
