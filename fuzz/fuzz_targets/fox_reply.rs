//! A Niagara Fox reply, as the probe reads it: `fox::frame` (what the session does with the
//! bytes received so far), then `fox::parse_hello_reply` on the frame it cut (and `fox::parse`
//! on the whole input), folded into `FoxDetails`, the identity taken and serialised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::fox::{self, FoxDetails};
use scanner_core::protocols::wire::FrameCheck;

fuzz_target!(|data: &[u8]| {
    let framed = match fox::frame(data, 1) {
        FrameCheck::Complete { len, .. } => {
            assert!(len <= data.len());
            &data[..len]
        }
        FrameCheck::NeedMore | FrameCheck::Invalid(_) => data,
    };
    for bytes in [framed, data] {
        let mut details = FoxDetails::default();
        if let Ok(reply) = fox::parse_hello_reply(bytes) {
            assert!(reply.tuples.len() <= fox::MAX_TUPLES);
            details.apply(&reply);
            let _ = fox::identity_fields(&details);
        }
        if let Ok(reply) = fox::parse(bytes) {
            assert!(reply.tuples.len() <= fox::MAX_TUPLES);
        }
        serde_json::to_string(&details).expect("FoxDetails serialises");
    }
});
