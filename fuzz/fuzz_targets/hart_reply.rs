//! A HART-IP reply: stream framing, the header and HART frame, each command's data (0,
//! 20, 74, 84) and the record fields built from them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::hart::codec::{
    self, parse_io_system_capabilities, parse_long_tag, parse_sub_device, parse_unique_identifier,
};
use scanner_core::protocols::hart::{self, Body, HartDetails, Request};

fuzz_target!(|data: &[u8]| {
    let _ = hart::frame(data, 3);
    let Ok(reply) = hart::parse(data) else {
        return;
    };
    assert!(usize::from(reply.header.byte_count) <= hart::MAX_REPLY_LEN);
    let _ = hart::check_answers(&Request::ReadUniqueIdentifier, &reply);
    let mut details = HartDetails::default();
    match reply.body {
        Body::SessionInitiate {
            inactivity_close_time,
            ..
        } => details.apply_session(reply.header.status, inactivity_close_time),
        Body::Error { code } => details.apply_error(code),
        Body::SessionClose => {}
        Body::Pdu(response) => {
            if response.is_error() {
                details.apply_command_error(response.command, response.response_code);
            }
            let w = &mut details.warnings;
            match response.command {
                codec::command::READ_UNIQUE_IDENTIFIER => {
                    if let Ok(id) = parse_unique_identifier(&response.data, w) {
                        details.apply_unique_identifier(id, response.device_status);
                    }
                }
                codec::command::READ_LONG_TAG => details.long_tag = parse_long_tag(&response.data, w).ok(),
                codec::command::READ_IO_SYSTEM_CAPABILITIES => {
                    details.io_system = parse_io_system_capabilities(&response.data, w).ok();
                }
                _ => {
                    if let Ok(sub) = parse_sub_device(&response.data, w) {
                        details.sub_devices.push(sub);
                    }
                }
            }
        }
    }
    let _ = details.refusal();
    let _ = hart::identity_fields(&details);
    let _ = serde_json::to_string(&details).unwrap();
});
