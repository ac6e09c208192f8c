//! A Siemens S7 reply frame (TPKT + COTP + S7comm), read as each of the three answers the probe
//! expects: `s7::parse_cotp_reply`, `s7::parse_setup_ack` and `s7::parse_szl_response`, and as
//! every data unit of a multi-unit SZL answer (`s7::parse_szl_unit`, `s7::assemble_szl`). What
//! decodes is folded into `S7Details` and serialised, as the probe does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::protocols::s7::{self, CotpReply, S7Details, Tsap};

fuzz_target!(|data: &[u8]| {
    if let Some(len) = s7::tpkt_len(data) {
        assert!(len <= usize::from(u16::MAX));
    }
    let mut details = S7Details::default();
    if let Ok(CotpReply::Confirm(confirm)) = s7::parse_cotp_reply(data) {
        assert!(confirm.warnings.len() <= s7::MAX_COTP_PARAMS + 1);
        details.apply_confirm(Tsap::PG_RACK0_SLOT2, &confirm);
    }
    if let Ok(ack) = s7::parse_setup_ack(data) {
        details.apply_setup(&ack);
    }
    if let Ok(response) = s7::parse_szl_response(data) {
        match &response.records {
            s7::SzlRecords::Module(records) => {
                assert!(records.len() <= s7::MAX_SZL_RECORDS);
                for record in records {
                    let _ = record.version();
                }
            }
            s7::SzlRecords::Component(records) => {
                assert!(records.len() <= s7::MAX_SZL_RECORDS);
                for record in records {
                    let _ = s7::component_index_name(record.index);
                }
            }
            s7::SzlRecords::Other(records) => assert!(records.len() <= s7::MAX_SZL_RECORDS),
        }
        details.apply_szl(&response);
    }
    // The same frame as every data unit of a multi-unit answer, up to the cap.
    if let Ok(unit) = s7::parse_szl_unit(data) {
        let units = vec![unit; s7::MAX_SZL_DATA_UNITS];
        let response = s7::assemble_szl(&units);
        let count = match &response.records {
            s7::SzlRecords::Module(v) => v.len(),
            s7::SzlRecords::Component(v) => v.len(),
            s7::SzlRecords::Other(v) => v.len(),
        };
        assert!(count <= s7::MAX_SZL_RECORDS);
        details.apply_szl(&response);
    }
    serde_json::to_string(&details).expect("S7Details serialises");
});
