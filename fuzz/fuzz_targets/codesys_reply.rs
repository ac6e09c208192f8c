//! A CODESYS V3 NameService identification reply: datagram layer, NameService header, the
//! identification body and its UTF-16 names, and the record fields built from them.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::codesys::{self, CodesysDetails, Request, SenderAddress};

fuzz_target!(|data: &[u8]| {
    let request = Request::ResolveAddress {
        sender: SenderAddress::new(Ipv4Addr::LOCALHOST, 8),
    };
    let answers = codesys::answers(&request, data, 7);
    if let Ok(reply) = codesys::parse(data) {
        assert_eq!(answers, reply.request_id == 7);
        let mut details = CodesysDetails::default();
        details.apply(&reply);
        assert!(details.target_version.is_some());
        let _ = codesys::identity_fields(&details);
        let _ = serde_json::to_string(&details).unwrap();
    }
});
