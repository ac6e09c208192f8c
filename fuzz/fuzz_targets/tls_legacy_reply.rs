//! A TLS server's first flight as the https probe's legacy certificate reader reads it:
//! the framing (what the session does with the bytes so far), the flight parsed, and each
//! certificate decoded into the record's fields and serialised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::https::codec::{legacy_frame, parse_legacy, MAX_CHAIN};
use scanner_core::protocols::https::TlsDetails;
use scanner_core::protocols::wire::FrameCheck;

fuzz_target!(|data: &[u8]| {
    if let FrameCheck::Complete { len, .. } = legacy_frame(data, 0) {
        assert!(len <= data.len());
    }
    if let Ok(flight) = parse_legacy(data) {
        assert!(!flight.certificates.is_empty() && flight.certificates.len() <= MAX_CHAIN);
        let mut warnings = Vec::new();
        let details = TlsDetails::from_handshake(
            flight.version_name(),
            flight.suite_name(),
            None,
            &flight.certificates,
            &mut warnings,
        );
        serde_json::to_string(&details).expect("TlsDetails serialises");
    }
});
