//! A BACnet/IP datagram: BVLC, NPDU and APDU (`bacnet::codec::parse`), then the record fields
//! built from it (`BacnetDetails::absorb`) and their JSON form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::bacnet::{self, BacnetDetails};

fuzz_target!(|data: &[u8]| {
    if let Ok(reply) = bacnet::codec::parse(data) {
        let _ = reply.payload.invoke_id();
        let mut details = BacnetDetails::default();
        details.absorb(&reply);
        serde_json::to_string(&details).expect("BacnetDetails serialises");
    }
});
