//! An SNMP v1, v2c or v3 message: otscan's bounded BER walk, and the matching of a reply to a
//! request id the probe does before it keeps a datagram.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::snmp;

fuzz_target!(|data: &[u8]| {
    match snmp::codec::parse(data) {
        Ok(message) => {
            let id = message
                .v3
                .as_ref()
                .map(|h| h.message_id)
                .or(message.pdu.as_ref().map(|p| p.request_id))
                .unwrap_or(0);
            // The probe matches with the request id it sent, an i32 carried in a u32.
            let _ = snmp::codec::answers(&snmp::Request::V3Discovery, data, id as i32 as u32);
            if let Some(pdu) = &message.pdu {
                assert!(pdu.varbinds.len() <= snmp::MAX_VARBINDS);
                for (oid, _) in &pdu.varbinds {
                    assert!(oid.len() <= snmp::MAX_OID_LEN + 1);
                    let _ = snmp::oid_text(oid);
                    let _ = snmp::enterprise_of(oid);
                }
                let _ = snmp::error_status_name(pdu.error_status);
            }
            if let Some(header) = &message.v3 {
                let _ = snmp::decode_engine_id(&header.engine_id);
            }
        }
        Err(_) => assert!(!snmp::codec::answers(&snmp::Request::V3Discovery, data, 0)),
    }
});
