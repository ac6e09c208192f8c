//! A Beckhoff ADS discovery Identify reply: header, tags, the OS version block and the
//! record fields built from them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::ads::{self, AdsDetails, AmsNetId, Request};

fuzz_target!(|data: &[u8]| {
    let request = Request::Identify {
        sender: AmsNetId::default(),
    };
    let _ = ads::answers(&request, data, 0);
    let _ = ads::os_version(data);
    if let Ok(reply) = ads::parse(data) {
        assert!(reply.tags.len() as u32 <= reply.tag_count);
        assert!(reply.tags.len() as u32 <= ads::codec::MAX_TAGS);
        let mut details = AdsDetails::default();
        details.apply_reply(&reply);
        assert!(details.ams_net_id.is_some());
        let _ = ads::identity_fields(&details);
        let _ = serde_json::to_string(&details).unwrap();
    }
});
