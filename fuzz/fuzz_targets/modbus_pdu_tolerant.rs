//! otscan's own tolerant Modbus PDU parser, alone (the ADU target reaches it only when
//! tokio-modbus rejects a PDU first).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::modbus::{self, ReplyPdu};

fuzz_target!(|data: &[u8]| {
    match modbus::parse_pdu_tolerant(data) {
        Ok(ReplyPdu::DeviceId(page)) => {
            let bytes: usize = page.objects.iter().map(|(_, v)| v.len() + 2).sum();
            assert!(bytes + 7 <= data.len());
        }
        Ok(ReplyPdu::Exception { code, .. }) => {
            let _ = modbus::exception_name(code);
        }
        Ok(ReplyPdu::ServerId(reply)) => assert!(reply.data.len() + 2 <= data.len()),
        Err(_) => {}
    }
});
