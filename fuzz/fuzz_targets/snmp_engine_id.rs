//! RFC 3411 engine ids (what an agent's v3 discovery Report carries), decoded for the record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::snmp;

fuzz_target!(|data: &[u8]| {
    let id = snmp::decode_engine_id(data);
    assert_eq!(id.hex.len(), data.len() * 2);
    if data.len() < 4 {
        assert!(id.enterprise.is_none());
    }
});
