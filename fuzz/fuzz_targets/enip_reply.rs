//! An EtherNet/IP encapsulation reply (TCP framing and the UDP path alike): header, CPF items,
//! Identity and ListServices items, and the record fields built from them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::enip::{self, EnipDetails};
use scanner_core::protocols::wire::FrameCheck;

fuzz_target!(|data: &[u8]| {
    let context = enip::header_context(data).unwrap_or(1);
    if let FrameCheck::Complete { len, matches } = enip::codec::frame(data, context) {
        assert!(len <= data.len() && len <= enip::MAX_REPLY_LEN && matches);
    }
    let _ = enip::reply_len(data);
    if let Ok(reply) = enip::codec::parse(data) {
        assert!(reply.items.len() <= enip::MAX_ITEMS);
        let mut details = EnipDetails::from_reply(&reply);
        details.add_reply(&reply);
        if let Some(identity) = reply.identity() {
            let _ = enip::device_role(identity.device_type);
        }
        let _ = reply.services().count();
    }
});
