//! A Modbus/TCP reply as it comes off the socket: framing (`modbus::codec::frame`), then the ADU parser (tokio-modbus's
//! strict decoder with otscan's tolerant fallback), then what the record keeps of it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::modbus::{self, ReplyPdu};
use scanner_core::protocols::wire::FrameCheck;
use scanner_core::record::DeviceText;

fuzz_target!(|data: &[u8]| {
    let transaction_id = data
        .get(..2)
        .map_or(1, |b| u16::from_be_bytes([b[0], b[1]]));
    if let FrameCheck::Complete { len, .. } = modbus::codec::frame(data, u32::from(transaction_id))
    {
        assert!(len <= data.len() && len <= modbus::MAX_ADU_LEN);
    }
    if let Ok(adu) = modbus::codec::parse(data) {
        if let ReplyPdu::DeviceId(page) = &adu.pdu {
            for (id, value) in &page.objects {
                let _ = modbus::object_name(*id);
                let _ = DeviceText::from_bytes(value).trimmed();
            }
            let _ = modbus::conformity_name(page.conformity_level);
        }
    }
});
