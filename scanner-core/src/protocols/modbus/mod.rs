//! Modbus/TCP identification: FC 0x2B / MEI 0x0E Read Device Identification (basic,
//! regular and extended streams, with continuation), and FC 0x11 Report Server ID when
//! the device answers FC 0x2B with exception 01 (illegal function).
//!
//! Unit ids are tried in order until one answers ([`DEFAULT_UNIT_IDS`]); a gateway
//! exception (0x0A, 0x0B) moves on to the next. One TCP connection per device.

pub mod codec;
pub mod details;
mod probe;

pub use codec::{
    conformity_name, exception_name, object_name, parse_pdu_tolerant, Decoder, DeviceIdPage,
    ParseError, ReadDeviceIdCode, Reply, ReplyPdu, Request, ServerIdReply, MAX_ADU_LEN,
};
pub use details::{ModbusDetails, ModbusException, ModbusObject, ReportServerId, UnitAttempt};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default Modbus/TCP port.
pub const DEFAULT_PORT: u16 = 502;

/// Unit ids tried by default, in order: 255 (what the Modbus/TCP guide asks direct
/// devices to accept), 0 (what many answer instead), 1 (first serial slave behind a
/// gateway). 0 is not first because behind a serial gateway it is the broadcast address.
pub const DEFAULT_UNIT_IDS: [u8; 3] = [255, 0, 1];

/// Most unit ids one device may be asked about (the whole 0-255 space).
pub const MAX_UNIT_IDS: usize = 256;

/// Modbus probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModbusConfig {
    /// TCP port.
    pub port: u16,
    /// Unit ids to try in order, stopping at the first that answers.
    pub unit_ids: Vec<u8>,
    /// Most Read Device Identification pages followed per stream (continuation cap).
    pub max_pages: u32,
    /// Unit ids that may go unanswered (read timeout or closed connection) before the
    /// device is given up. A device that never answers costs this many timeouts. The
    /// default is 2 because devices that silently drop unit id 255 and answer 0 exist
    /// (libmodbus servers do); 1 makes a silent device cost a single timeout.
    pub max_silent_units: u32,
}

impl Default for ModbusConfig {
    fn default() -> Self {
        ModbusConfig {
            port: DEFAULT_PORT,
            unit_ids: DEFAULT_UNIT_IDS.to_vec(),
            max_pages: 8,
            max_silent_units: 2,
        }
    }
}

impl ProbeConfig for ModbusConfig {
    const PROTOCOL: Protocol = Protocol::Modbus;

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
        // Per unit id: one connection (a device may close it) and one basic request; on
        // the answering unit up to `max_pages` for each of the three streams, or one
        // Report Server ID.
        2 * self.unit_ids.len() as u64 + 3 * u64::from(self.max_pages)
    }

    fn validate(&self) -> Result<(), String> {
        if self.unit_ids.is_empty() {
            return Err("modbus unit ids: the list is empty".into());
        }
        if self.unit_ids.len() > MAX_UNIT_IDS {
            return Err(format!(
                "modbus unit ids: {} ids, at most {MAX_UNIT_IDS}",
                self.unit_ids.len()
            ));
        }
        if self.max_pages == 0 {
            return Err("modbus continuation page cap must be at least 1".into());
        }
        Ok(())
    }

    fn plan(&self) -> Vec<(&'static str, String)> {
        vec![("modbus unit ids", format!("{:?}", self.unit_ids))]
    }
}
