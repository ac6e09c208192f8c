//! A banner protocol's greeting, as the probes read it (one shared target for the banner
//! probes, which are off by default), read as SSH, as FTP and as telnet: the codec's `frame` (what the
//! session does with the bytes received so far), then `parse` on the frame it cut and on the
//! whole input (a greeting cut short is parsed whole), folded into the details, the identity
//! taken and serialised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::ftp::{self, FtpDetails};
use scanner_core::protocols::ssh::{self, SshDetails};
use scanner_core::protocols::telnet::{self, TelnetDetails};
use scanner_core::protocols::wire::FrameCheck;

fuzz_target!(|data: &[u8]| {
    let framed = match ssh::frame(data, 0) {
        FrameCheck::Complete { len, .. } => {
            assert!(len <= data.len());
            &data[..len]
        }
        FrameCheck::NeedMore | FrameCheck::Invalid(_) => data,
    };
    for bytes in [framed, data] {
        let mut details = SshDetails::default();
        if let Ok(reply) = ssh::parse(bytes) {
            assert!(reply.pre_lines.len() <= ssh::MAX_PRE_LINES);
            details.apply(&reply);
            let _ = ssh::identity_fields(&details);
        }
        serde_json::to_string(&details).expect("SshDetails serialises");
    }
    let framed = match ftp::frame(data, 0) {
        FrameCheck::Complete { len, .. } => {
            assert!(len <= data.len());
            &data[..len]
        }
        FrameCheck::NeedMore | FrameCheck::Invalid(_) => data,
    };
    for bytes in [framed, data] {
        let mut details = FtpDetails::default();
        if let Ok(reply) = ftp::parse(bytes) {
            assert!(reply.lines.len() <= ftp::MAX_LINES);
            details.apply(&reply);
            let _ = ftp::identity_fields(&details);
        }
        serde_json::to_string(&details).expect("FtpDetails serialises");
    }
    let mut details = TelnetDetails::default();
    if let FrameCheck::Complete { len, .. } = telnet::frame(data, 0) {
        assert!(len <= data.len());
    }
    if let Ok(chunk) = telnet::parse(data) {
        let _ = details.add(&chunk, data.len());
        let _ = telnet::check_text(&chunk.text);
        let _ = telnet::ends_with_prompt(&chunk.text);
        details.finish(&chunk.text);
        let _ = telnet::identity_fields(&details);
    }
    serde_json::to_string(&details).expect("TelnetDetails serialises");
});
