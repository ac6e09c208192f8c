//! The HART-IP fields of a service observation: `services[].details.hart` in the record
//! (see docs/record.md), and the record identity they give.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::{
    device_status_names, error_code_name, response_code_name, status_name, IoSystemCapabilities,
    SubDevice, UniqueIdentifier,
};
use crate::record::fields::{DeviceText, DeviceType, Identity, VendorId, VendorIdSpace};

/// A HART command that did not succeed: the command, its response code and the code's
/// name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandError {
    /// HART command number (0, 20, 74 or 84).
    pub command: u8,
    /// Response code (first status byte) as sent.
    pub response_code: u8,
    /// Its name ("command not implemented", "busy", ...).
    pub response_code_name: String,
}

/// HART-IP fields of a service observation in the record: what the session and the HART
/// commands 0, 20, 74 and 84 of one device said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HartDetails {
    /// HART-IP status of the Session Initiate response (0 success, 8 "set to nearest
    /// possible value", others refusals), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_status: Option<u8>,
    /// Its name, when not 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_status_name: Option<String>,
    /// Inactivity close time the device accepted, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactivity_close_time_ms: Option<u32>,
    /// Error code of a HART-IP error or NAK message (0 session closed, 1 primary session
    /// unavailable, 2 service unavailable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u8>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code_name: Option<String>,
    /// The device's command 0 (Read Unique Identifier) answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_identifier: Option<UniqueIdentifier>,
    /// Manufacturer identification code (HART 7: command 0 bytes 17-18; HART 5 and 6:
    /// byte 1), a number from the FieldComm Group's manufacturer list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer_id: Option<u16>,
    /// Expanded device type, lower-case hex (`0x2641`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expanded_device_type: Option<String>,
    /// Device id, decimal (the 24-bit number of command 0 bytes 9-11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<u32>,
    /// Names of the field device status bits set in the command 0 answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_status: Vec<String>,
    /// The long tag (command 20), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_tag: Option<DeviceText>,
    /// An I/O system's capabilities (command 74).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_system: Option<IoSystemCapabilities>,
    /// The sub-devices behind an I/O system or multiplexer (command 84, at most
    /// `MAX_SUB_DEVICES` of them, indices 1 upward).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_devices: Vec<SubDevice>,
    /// Sub-devices the I/O system reports but otscan did not read (over the cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_devices_not_read: Option<u16>,
    /// Commands the device answered with an error response code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command_errors: Vec<CommandError>,
    /// Oddities in the replies that were accepted anyway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl HartDetails {
    /// Records the Session Initiate response's status and accepted timer.
    pub fn apply_session(&mut self, status: u8, inactivity_close_time: Option<u32>) {
        self.session_status = Some(status);
        self.session_status_name = (status != 0).then(|| status_name(status));
        self.inactivity_close_time_ms = inactivity_close_time;
    }

    /// Records a HART-IP error or NAK message.
    pub fn apply_error(&mut self, code: Option<u8>) {
        self.error_code = code;
        self.error_code_name = Some(
            code.map_or("error message without a code", error_code_name)
                .to_owned(),
        );
    }

    /// Records the command 0 answer.
    pub fn apply_unique_identifier(&mut self, id: UniqueIdentifier, device_status: u8) {
        self.manufacturer_id = Some(id.manufacturer());
        self.expanded_device_type = Some(format!("{:#06x}", id.expanded_device_type));
        self.device_id = Some(id.device_id);
        self.device_status = device_status_names(device_status)
            .into_iter()
            .map(str::to_owned)
            .collect();
        self.unique_identifier = Some(id);
    }

    /// Records a command's error response code.
    pub fn apply_command_error(&mut self, command: u8, response_code: u8) {
        self.command_errors.push(CommandError {
            command,
            response_code,
            response_code_name: response_code_name(response_code),
        });
    }

    /// Why a device that answered gave no identity, when it said so in HART-IP.
    pub fn refusal(&self) -> Option<String> {
        if let (Some(code), Some(name)) = (self.error_code, &self.error_code_name) {
            return Some(format!("HART-IP error {code} ({name})"));
        }
        if let (Some(status), Some(name)) = (self.session_status, &self.session_status_name) {
            if status != 8 {
                return Some(format!("session initiate status {status} ({name})"));
            }
        }
        self.command_errors.first().map(|e| {
            format!(
                "command {} response code {} ({})",
                e.command, e.response_code, e.response_code_name
            )
        })
    }
}

/// The record's identity fields. HART manufacturer ids are kept as numbers
/// (`vendor_id` in the `hart` space): the FieldComm Group's list is not published under
/// a licence otscan may ship, so no name is given. The model is the expanded device type
/// (a number; names are in the same list), the serial number the device id, the
/// firmware the revisions, the host name the long tag. A protocol bridge device (an I/O
/// system or multiplexer) is a gateway; anything else is a field instrument.
pub fn identity_fields(details: &HartDetails) -> Identity {
    let Some(id) = &details.unique_identifier else {
        return Identity::default();
    };
    Identity {
        vendor_id: Some(VendorId {
            space: VendorIdSpace::Hart,
            id: u32::from(id.manufacturer()),
        }),
        model: details.expanded_device_type.clone(),
        serial_number: Some(id.device_id.to_string()),
        firmware_version: Some(format!(
            "device rev {}, software rev {}, hardware rev {} (HART {})",
            id.device_revision, id.software_revision, id.hardware_revision, id.hart_revision
        )),
        hostname: details.long_tag.as_ref().and_then(DeviceText::trimmed),
        device_type: Some(if id.is_io_system() {
            DeviceType::Gateway
        } else {
            DeviceType::FieldInstrument
        }),
        ..Identity::default()
    }
}
