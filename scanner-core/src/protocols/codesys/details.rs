//! The CODESYS fields of a service observation: `services[].details.codesys` in the
//! record (see docs/record.md), from the NameService identification reply, and the
//! record identity they give.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::{target_type_name, Reply};
use crate::record::fields::{hex, DeviceText, DeviceType, Identity};

/// CODESYS V3 fields of a service observation: what the identification reply said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CodesysDetails {
    /// Vendor name (e.g. `WAGO`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<DeviceText>,
    /// Device name: the target's product name (e.g. `WAGO 750-8206 PFC200 2ETH RS CAN DPS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<DeviceText>,
    /// Node name: this runtime's own name (e.g. `PFC200-438F4C`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<DeviceText>,
    /// Serial number as sent (absent when its length is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<DeviceText>,
    /// Target type (0x1000 programmable device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<u32>,
    /// Its name from the CODESYS runtime manual ("programmable device", "safety
    /// controller", "drive"...; "unknown target type" otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type_name: Option<String>,
    /// Target id: vendor id in the high word, the vendor's device id in the low word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<u32>,
    /// Target version (runtime version), `a.b.c.d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_version: Option<String>,
    /// Most communication channels the runtime serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_channels: Option<u16>,
    /// Byte order flag (1: Intel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_order: Option<u8>,
    /// Flags as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<u32>,
    /// Block driver type as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_driver_type: Option<u8>,
    /// Parent (gateway) address, lower-case hex; absent when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_address: Option<String>,
    /// OEM data, lower-case hex; absent when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oem_data: Option<String>,
    /// NameService version of the reply (0x0400: 4.00).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u16>,
    /// Oddities in the reply that were accepted anyway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl CodesysDetails {
    /// Records an identification reply.
    pub fn apply(&mut self, reply: &Reply) {
        let id = &reply.identification;
        self.vendor_name = Some(id.vendor_name.clone());
        self.device_name = Some(id.device_name.clone());
        self.node_name = Some(id.node_name.clone());
        self.serial_number = (!id.serial_number.text.is_empty()).then(|| id.serial_number.clone());
        self.target_type = Some(id.target_type);
        self.target_type_name = Some(target_type_name(id.target_type).to_owned());
        self.target_id = Some(id.target_id);
        self.target_version = Some(id.version_text());
        self.max_channels = Some(id.max_channels);
        self.byte_order = Some(id.byte_order);
        self.flags = Some(id.flags);
        self.block_driver_type = Some(id.block_driver_type);
        self.parent_address = (!id.parent_address.is_empty()).then(|| hex(&id.parent_address));
        self.oem_data = (!id.oem_data.is_empty()).then(|| hex(&id.oem_data));
        self.version = Some(reply.version);
        self.warnings.extend(reply.warnings.iter().cloned());
    }

    /// Whether the reply identified the device: it named a vendor, a device or a node.
    pub fn identifies(&self) -> bool {
        [&self.vendor_name, &self.device_name, &self.node_name]
            .iter()
            .any(|t| t.as_ref().and_then(DeviceText::trimmed).is_some())
    }
}

/// The record's identity fields: vendor from the vendor name, model from the device
/// name (the target's product name), host name from the node name (the runtime's own
/// name), firmware from the target version, product code from the target id
/// (`0x` + 8 hex digits), serial number when sent. Device type plc for the target
/// types of a PLC runtime (0x1000 programmable device, 0x1002 safety controller),
/// drive for 0x1003; none otherwise.
pub fn identity_fields(details: &CodesysDetails) -> Identity {
    if !details.identifies() {
        return Identity::default();
    }
    let text = |t: &Option<DeviceText>| t.as_ref().and_then(DeviceText::trimmed);
    Identity {
        vendor: text(&details.vendor_name),
        model: text(&details.device_name),
        hostname: text(&details.node_name),
        serial_number: text(&details.serial_number),
        firmware_version: details.target_version.clone(),
        product_code: details.target_id.map(|id| format!("{id:#010x}")),
        device_type: match details.target_type {
            Some(0x1000 | 0x1002) => Some(DeviceType::Plc),
            Some(0x1003) => Some(DeviceType::Drive),
            _ => None,
        },
        ..Identity::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::codec::{parse, tests};
    use super::*;

    #[test]
    fn wago_details_and_identity() {
        let mut d = CodesysDetails::default();
        d.apply(&parse(&tests::wago()).unwrap());
        assert_eq!(d.target_type_name.as_deref(), Some("programmable device"));
        let id = identity_fields(&d);
        assert_eq!(id.vendor.as_deref(), Some("WAGO"));
        assert_eq!(
            id.model.as_deref(),
            Some("WAGO 750-8206 PFC200 2ETH RS CAN DPS")
        );
        assert_eq!(id.hostname.as_deref(), Some("PFC200-438F4C"));
        assert_eq!(id.firmware_version.as_deref(), Some("5.15.4.0"));
        assert_eq!(id.product_code.as_deref(), Some("0x10061204"));
        assert_eq!(id.device_type, Some(DeviceType::Plc));
    }

    #[test]
    fn empty_names_are_no_identity() {
        let mut d = CodesysDetails::default();
        d.apply(&parse(&tests::reply(1, "", "", "")).unwrap());
        assert!(!d.identifies());
        assert_eq!(identity_fields(&d), Identity::default());
    }
}
