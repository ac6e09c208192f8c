//! An HTTP response as the web probes read it: the codec's `frame` (what the session does
//! with the bytes received so far), then `parse` on the frame it cut and on the whole input
//! (a response that ends at the close is parsed whole), folded into the page fields (title,
//! charset, references, realm, cookie names) and serialised; the favicon hash of the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::http::{self, details::favicon_mmh3, HttpDetails};
use scanner_core::protocols::wire::FrameCheck;

fuzz_target!(|data: &[u8]| {
    let framed = match http::frame(data, 0) {
        FrameCheck::Complete { len, .. } => {
            assert!(len <= data.len());
            &data[..len]
        }
        FrameCheck::NeedMore | FrameCheck::Invalid(_) => data,
    };
    for bytes in [framed, data] {
        let mut details = HttpDetails::default();
        if let Ok(response) = http::parse(bytes) {
            assert!(response.headers.len() <= http::MAX_HEADERS);
            assert!(response.body.len() <= http::MAX_BODY_READ);
            details.page.apply(&response, &mut details.warnings);
            let _ = favicon_mmh3(&response.body);
            let _ = http::identity_fields(&details);
        }
        serde_json::to_string(&details).expect("HttpDetails serialises");
    }
});
