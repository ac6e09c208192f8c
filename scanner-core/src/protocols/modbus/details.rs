//! The Modbus fields of a service observation: `services[].details.modbus` in the
//! record (see docs/record.md).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::Decoder;
use crate::record::fields::{hex, DeviceText};

/// Modbus fields of a service observation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModbusDetails {
    /// The unit id that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<u8>,
    /// Every unit id tried, in order, with what happened.
    pub units_tried: Vec<UnitAttempt>,
    /// Conformity level byte (0x01-0x03, 0x81-0x83).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformity_level: Option<u8>,
    /// Highest object category served: basic, regular or extended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformity: Option<String>,
    /// The conformity level says individual object access is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub individual_access: Option<bool>,
    /// Every identification object received.
    pub objects: Vec<ModbusObject>,
    /// FC 0x11 Report Server ID reply, when asked (FC 0x2B unsupported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_server_id: Option<ReportServerId>,
    /// The exception that ended identification, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<ModbusException>,
    /// Read Device Identification replies received (pages).
    pub pages: u32,
    /// Continuation stopped early: page cap reached or the device looped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continuation_stopped: bool,
    /// Which decoder understood the replies (tolerant when any needed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoder: Option<Decoder>,
    /// Oddities in the replies that were accepted anyway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One unit id tried and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnitAttempt {
    /// Unit id.
    pub unit_id: u8,
    /// answered, exception name, io-timeout, connection-closed, protocol-error, ...
    pub outcome: String,
}

/// One identification object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ModbusObject {
    /// Object id.
    pub id: u8,
    /// Standard name for 0x00-0x06.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The value.
    pub value: DeviceText,
}

/// FC 0x11 reply fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReportServerId {
    /// First data byte, the server id in the common one-byte layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<u8>,
    /// Second data byte as run indicator (0x00 off, 0xFF on), when it is one of those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_indicator: Option<bool>,
    /// Bytes after server id and run indicator (often ASCII).
    pub additional: DeviceText,
    /// The whole payload after the byte count, in hex.
    pub raw_hex: String,
}

/// A Modbus exception reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ModbusException {
    /// Function code the exception answers.
    pub function: u8,
    /// Exception code.
    pub code: u8,
    /// Exception name.
    pub name: String,
}

impl ReportServerId {
    /// The fields of a Report Server ID payload (everything after the byte count).
    pub fn from_data(data: &[u8]) -> Self {
        let run_indicator = match data.get(1) {
            Some(0x00) => Some(false),
            Some(0xFF) => Some(true),
            _ => None,
        };
        ReportServerId {
            server_id: data.first().copied(),
            run_indicator,
            additional: DeviceText::from_bytes(data.get(2..).unwrap_or_default()),
            raw_hex: hex(data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_server_id_fields() {
        // Server id 0x42, run indicator on, "PLC-5A".
        let fields = ReportServerId::from_data(b"\x42\xFFPLC-5A");
        assert_eq!(fields.server_id, Some(0x42));
        assert_eq!(fields.run_indicator, Some(true));
        assert_eq!(fields.additional.text, "PLC-5A");
        assert_eq!(fields.raw_hex, "42ff504c432d3541");
        // A second byte that is neither 0x00 nor 0xFF is no run indicator.
        assert_eq!(ReportServerId::from_data(b"\x01\x07X").run_indicator, None);
    }
}
