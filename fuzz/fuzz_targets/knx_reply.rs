//! A KNXnet/IP DESCRIPTION_RESPONSE datagram: the answer match, the header and DIBs, and
//! the record fields built from them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::knx::{self, KnxDetails, Request};

fuzz_target!(|data: &[u8]| {
    let _ = knx::answers(&Request::Description, data, 0);
    if let Ok(reply) = knx::parse(data) {
        assert!(reply.other_dibs.len() <= knx::codec::MAX_DIBS);
        let mut details = KnxDetails::default();
        details.apply(&reply);
        let _ = knx::identity_fields(&details);
        let _ = serde_json::to_string(&details).unwrap();
    }
});
