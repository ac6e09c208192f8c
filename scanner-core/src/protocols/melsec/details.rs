//! The MELSEC fields of a service observation: `services[].details.melsec` in the
//! record (see docs/record.md), and the record identity they give.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::{end_code_name, Reply};
use crate::record::fields::{DeviceText, DeviceType, Identity};

/// MELSEC fields of a service observation in the record: what the Read CPU Model Name
/// reply said, and which ports were tried on this transport.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MelsecDetails {
    /// CPU model name as sent (16 ASCII characters, space padded), e.g. "Q03UDVCPU".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<DeviceText>,
    /// Model code that follows the name (e.g. 0x0366 for Q03UDVCPU, 0x4800 for R04CPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_code: Option<u16>,
    /// End code of the reply: 0 for a normal completion.
    pub end_code: u16,
    /// Name of a non-zero end code, when it is a known one (e.g. 0xC059 "command or
    /// subcommand not supported").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_code_name: Option<String>,
    /// The error information of an abnormal reply: the command and subcommand the
    /// device says failed (0x0101 and 0 when it is ours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_command: Option<u16>,
    /// The subcommand of the error information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_subcommand: Option<u16>,
    /// Every port tried on this transport before and including the one in the service
    /// entry, with how each ended, when more than one port was configured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports_tried: Vec<PortTried>,
    /// Oddities in the reply that were accepted anyway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One port of the configured list and how the Read CPU Model Name on it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PortTried {
    /// The port.
    pub port: u16,
    /// The status it ended with, as the record names statuses ("success",
    /// "application-error", "connection-refused", "io-timeout", "protocol-error", ...).
    pub status: String,
}

impl MelsecDetails {
    /// Details of one parsed reply.
    pub fn from_reply(reply: &Reply) -> MelsecDetails {
        let mut details = MelsecDetails {
            end_code: reply.end_code,
            warnings: reply.warnings.clone(),
            ..MelsecDetails::default()
        };
        if reply.is_error() {
            details.end_code_name = end_code_name(reply.end_code).map(str::to_owned);
            if let Some(info) = reply.error_information {
                details.error_command = Some(info.command);
                details.error_subcommand = Some(info.subcommand);
            }
        }
        if let Some(model) = &reply.model {
            details.model_name = Some(model.name.clone());
            details.model_code = model.code;
            if model.name.trimmed().is_none() {
                details.warnings.push("model name is blank".to_owned());
            }
        }
        details
    }
}

/// The record's identity fields from the details: the model name (trimmed of its
/// padding) as model, the model code as product code ("0x0366"), the vendor (a MELSEC
/// CPU model name names a Mitsubishi Electric CPU; devices that emulate the MC protocol
/// report one too) and the role `plc` (the command reads the CPU's own name).
pub fn identity_fields(details: &MelsecDetails) -> Identity {
    let Some(model) = details.model_name.as_ref().and_then(DeviceText::trimmed) else {
        return Identity::default();
    };
    Identity {
        vendor: Some("Mitsubishi Electric".to_owned()),
        model: Some(model),
        product_code: details.model_code.map(|c| format!("{c:#06x}")),
        device_type: Some(DeviceType::Plc),
        ..Identity::default()
    }
}
