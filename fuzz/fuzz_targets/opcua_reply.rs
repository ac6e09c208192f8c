//! An OPC UA reply (UA-TCP message, possibly in several chunks) as the probe reads it: the
//! framing (`opcua::frame`), the parser (`opcua::parse`), and what decodes folded into
//! `OpcuaDetails` (server certificates decoded with x509-parser included), the identity and
//! the JSON, as the probe does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::opcua::{self, Message, OpcuaDetails};
use scanner_core::protocols::wire::FrameCheck;

fuzz_target!(|data: &[u8]| {
    for correlation in [0, 1, u32::MAX] {
        if let FrameCheck::Complete { len, .. } = opcua::frame(data, correlation) {
            assert!(len <= data.len() && len <= opcua::MAX_REPLY_LEN);
        }
    }
    let mut details = OpcuaDetails::default();
    if let Ok(reply) = opcua::parse(data) {
        match &reply.message {
            Message::Acknowledge(ack) => details.apply_acknowledge(ack),
            Message::Error(e) | Message::Abort(e) => details.apply_error_message("hello", e),
            Message::OpenSecureChannel(open) => details.apply_open(open),
            Message::GetEndpoints { endpoints, .. } => details.apply_endpoints(endpoints),
            Message::FindServers { servers, .. } => details.apply_servers(servers),
            Message::ServiceFault(h) => details.apply_error("get-endpoints", h.service_result, None),
        }
        assert!(details.endpoints.len() <= opcua::details::MAX_ENDPOINTS);
        assert!(details.certificates.len() <= opcua::details::MAX_CERTIFICATES);
    }
    let _ = opcua::identity_fields(&details);
    serde_json::to_string(&details).expect("OpcuaDetails serialises");
});
