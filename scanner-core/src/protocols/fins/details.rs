//! The FINS fields of a service observation: `services[].details.fins` in the record (see
//! docs/record.md), and the record identity they give.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::{memory_card_name, tcp_error_name, AreaData, Reply};
use crate::record::fields::{hex, DeviceText, DeviceType, Identity};

/// FINS fields of a service observation in the record: what the Controller Data Read
/// response (and, over TCP, the node address exchange) of one device said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FinsDetails {
    /// FINS/TCP: the client node address the PLC gave this connection (1-254).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_node: Option<u8>,
    /// FINS/TCP: the PLC's own node address from the node address reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_node: Option<u8>,
    /// FINS/TCP error code the PLC answered with (non-zero only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_error: Option<u32>,
    /// Its meaning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_error_name: Option<String>,
    /// Source node (SA1) of the response: the PLC's FINS node address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_node: Option<u8>,
    /// Source network (SNA) of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_network: Option<u8>,
    /// End code of the response as sent (flag bits included), e.g. 0 or 0x0401.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_code: Option<u16>,
    /// Name of the end code's main and sub code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_code_name: Option<String>,
    /// Controller model, as sent (e.g. "CJ2M-CPU31" space padded to 20 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_model: Option<DeviceText>,
    /// Controller version, as sent (e.g. "02.01").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_version: Option<DeviceText>,
    /// The 40 "for system use" bytes, lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_system_use: Option<String>,
    /// The area data (absent when the CPU sends only model and version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_data: Option<AreaData>,
    /// Name of the area data's kind of memory card, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_card: Option<String>,
    /// Oddities in the replies that were accepted anyway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl FinsDetails {
    /// Records a Controller Data Read response.
    pub fn apply_reply(&mut self, reply: &Reply) {
        self.source_node = Some(reply.header.sa1);
        self.source_network = Some(reply.header.sna);
        self.end_code = Some(reply.end_code.0);
        self.end_code_name = Some(reply.end_code.name().to_owned());
        if let Some(data) = &reply.data {
            self.controller_model = data.model.clone();
            self.controller_version = data.version.clone();
            self.for_system_use = data.for_system_use.as_deref().map(hex);
            self.area_data = data.area;
            self.memory_card = data
                .area
                .and_then(|a| memory_card_name(a.memory_card_kind))
                .map(str::to_owned);
        }
        self.warnings.extend(reply.warnings.iter().cloned());
    }

    /// Records a FINS/TCP error code.
    pub fn apply_tcp_error(&mut self, code: u32) {
        self.tcp_error = Some(code);
        self.tcp_error_name = Some(tcp_error_name(code).to_owned());
    }

    /// The trimmed controller model, when it names one.
    pub fn model(&self) -> Option<String> {
        self.controller_model.as_ref().and_then(DeviceText::trimmed)
    }
}

/// The record's identity fields: FINS is Omron's own protocol and Controller Data Read
/// is answered by the CPU unit, so a device that names its model is an Omron PLC.
pub fn identity_fields(details: &FinsDetails) -> Identity {
    let Some(model) = details.model() else {
        return Identity::default();
    };
    Identity {
        vendor: Some("Omron".to_owned()),
        model: Some(model),
        firmware_version: details
            .controller_version
            .as_ref()
            .and_then(DeviceText::trimmed),
        device_type: Some(DeviceType::Plc),
        ..Identity::default()
    }
}
