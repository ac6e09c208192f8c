//! Siemens S7 identification over ISO-on-TCP (TCP 102): a COTP Connection Request to
//! each candidate TSAP until one is confirmed (each on a new connection), Setup
//! Communication, then SZL 0x0011 (module identification) and 0x001C (component
//! identification); a list too long for the negotiated PDU comes in data units, each
//! further one asked for with a follow-up request (at most [`MAX_SZL_DATA_UNITS`] units
//! per list). A CPU that refuses classic S7 (an S7-1200/1500 without PUT/GET
//! access) is still recorded, with the TSAP it accepted and the error class it gave.

pub mod codec;
pub mod cotp;
pub mod details;
mod probe;

pub use codec::{assemble_szl, encode_szl_next, parse_szl_unit, SzlUnit, MAX_SZL_DATA_UNITS};
pub use codec::{
    component_index_name, error_class_name, parse_setup_ack, parse_szl_response, ComponentRecord,
    ModuleRecord, ParseError, Request, Rosctr, S7Header, SetupAck, SetupParams, SzlId, SzlRecords,
    SzlResponse, COMPONENT_RECORD_LEN, MAX_REPLY_LEN, MAX_SZL_RECORDS, MODULE_RECORD_LEN,
    S7_PROTOCOL_ID,
};
pub use cotp::{
    disconnect_reason_name, parse_cotp_reply, tpkt_len, ConnectionConfirm, ConnectionType,
    CotpDisconnect, CotpError, CotpReject, CotpReply, Tsap, MAX_COTP_PARAMS, TPKT_HEADER_LEN,
    TPKT_VERSION,
};
pub use details::{identity_fields, S7Details, TsapRefusal};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default ISO-TSAP port.
pub const DEFAULT_PORT: u16 = 102;

/// Siemens S7 probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct S7Config {
    /// TCP port (ISO-TSAP, 102).
    pub port: u16,
    /// Destination TSAPs tried in order, each on a new connection, until a device
    /// confirms one (default [`Tsap::CANDIDATES`]: rack 0 slot 2, 0x0200, rack 0 slot 0).
    pub tsaps: Vec<Tsap>,
    /// Also read SZL 0x001C (component identification: names, serial) after 0x0011.
    pub component_identification: bool,
}

impl Default for S7Config {
    fn default() -> Self {
        S7Config {
            port: DEFAULT_PORT,
            tsaps: Tsap::CANDIDATES.to_vec(),
            component_identification: true,
        }
    }
}

impl ProbeConfig for S7Config {
    const PROTOCOL: Protocol = Protocol::S7;

    fn port(&self) -> u16 {
        self.port
    }

    fn set_port(&mut self, port: u16) {
        self.port = port;
    }

    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }

    fn max_requests(&self, _udp_retries: u32) -> u64 {
        // A connection and a Connection Request per TSAP, then setup and the SZL reads,
        // each up to MAX_SZL_DATA_UNITS data units (the read and its follow-ups).
        let lists = 1 + u64::from(self.component_identification);
        2 * self.tsaps.len() as u64 + 1 + lists * MAX_SZL_DATA_UNITS as u64
    }

    fn validate(&self) -> Result<(), String> {
        if self.tsaps.is_empty() {
            return Err("s7 TSAP list is empty".into());
        }
        Ok(())
    }
}
