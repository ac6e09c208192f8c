//! A MELSEC SLMP / MC protocol 3E reply (TCP framing and the UDP path alike): header, end
//! code, model name and code or error information, and the record fields built from them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::melsec::{self, MelsecDetails, Request};
use scanner_core::protocols::wire::FrameCheck;

fuzz_target!(|data: &[u8]| {
    if let FrameCheck::Complete { len, .. } = melsec::frame(data, 0) {
        assert!(len <= data.len() && len <= melsec::MAX_REPLY_LEN);
    }
    let _ = melsec::reply_len(data);
    let _ = melsec::answers(&Request::ReadCpuModelName, data, 0);
    if let Ok(reply) = melsec::parse(data) {
        assert_eq!(reply.model.is_some(), reply.end_code == 0);
        let _ = melsec::check_answers(&Request::ReadCpuModelName, &reply);
        let details = MelsecDetails::from_reply(&reply);
        let _ = melsec::identity_fields(&details);
        let _ = serde_json::to_string(&details).unwrap();
    }
});
