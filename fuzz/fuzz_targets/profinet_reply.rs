//! A PROFINET CM endpoint-mapper reply: the DCE/RPC connectionless header, the
//! ept_lookup body, the annotation's columns and the record fields built from them; and
//! the same bytes as a DCP Identify response frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::profinet::{self, Body, ProfinetDetails, Request};

fuzz_target!(|data: &[u8]| {
    let _ = profinet::answers(&Request::Lookup, data, 0);
    let _ = profinet::annotation(data);
    if let Ok(r) = profinet::dcp::parse_identify_response(data) {
        assert!(r.other_blocks.len() <= profinet::dcp::MAX_BLOCKS);
    }
    if let Ok(reply) = profinet::parse(data) {
        if let Body::Lookup { entries, .. } = &reply.body {
            assert!(entries.len() as u32 <= profinet::codec::MAX_ENTRIES);
            assert!(entries.iter().all(|e| e.annotation.len() <= 64));
        }
        let mut details = ProfinetDetails::default();
        details.apply_reply(&reply);
        assert!(details.reply.is_some());
        let _ = profinet::identity_fields(&details);
        let _ = serde_json::to_string(&details).unwrap();
    }
});
