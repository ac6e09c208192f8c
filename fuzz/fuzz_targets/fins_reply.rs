//! An Omron FINS reply, read both ways the probe reads one: as a FINS/UDP datagram
//! (`fins::answers`, `fins::parse`) and as bytes off a FINS/TCP stream (`fins::frame`, then
//! `fins::parse_tcp` of the frame it delimits). What decodes is folded into `FinsDetails`,
//! turned into the record's identity and serialised, as the probe does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::fins::{self, FinsDetails, Request, TcpReply};
use scanner_core::protocols::wire::FrameCheck;

fuzz_target!(|data: &[u8]| {
    let mut details = FinsDetails::default();
    let _ = fins::answers(&Request::NodeAddressRequest, data, 0x2A);
    if let Ok(reply) = fins::parse(data) {
        details.apply_reply(&reply);
    }
    if let FrameCheck::Complete { len, .. } = fins::frame(data, 0x2A) {
        assert!(len <= data.len() && len <= fins::MAX_REPLY_LEN + 8);
        match fins::parse_tcp(&data[..len]) {
            Ok(TcpReply::Frame(reply)) => details.apply_reply(&reply),
            Ok(TcpReply::Error { code, .. }) => details.apply_tcp_error(code),
            Ok(TcpReply::NodeAddress { client_node, .. }) => {
                details.client_node = Some(client_node.value());
            }
            Err(_) => {}
        }
    }
    let _ = fins::identity_fields(&details);
    serde_json::to_string(&details).expect("FinsDetails serialises");
});
