//! The EtherNet/IP fields of a service observation: `services[].details.enip` in the
//! record (see docs/record.md), and the record identity they give.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::{CpfItem, EnipIdentity, EnipServiceItem, EnipUnknownItem, Reply};
use crate::record::fields::{DeviceType, Identity, VendorId, VendorIdSpace};

/// EtherNet/IP fields of a service observation in the record: what the list replies
/// of one device said, merged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnipDetails {
    /// The Identity item (from ListIdentity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<EnipIdentity>,
    /// ListServices items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<EnipServiceItem>,
    /// Items of types otscan does not decode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_items: Vec<EnipUnknownItem>,
    /// The first non-zero header status among the replies, 0 when all succeeded.
    pub header_status: u32,
    /// Name of [`header_status`](Self::header_status) when it is a known code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_status_name: Option<String>,
    /// Oddities in the replies that were accepted anyway, each prefixed with the
    /// command whose reply had it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl EnipDetails {
    /// Details of a single reply.
    pub fn from_reply(reply: &Reply) -> EnipDetails {
        let mut details = EnipDetails::default();
        details.add_reply(reply);
        details
    }

    /// Merges one more reply (e.g. ListServices after ListIdentity) into the details.
    pub fn add_reply(&mut self, reply: &Reply) {
        let command = reply.command.name();
        if reply.is_error() {
            if self.header_status == 0 {
                self.header_status = reply.header.status;
                self.header_status_name = reply.status_name.map(str::to_owned);
            }
            self.warnings.push(format!(
                "{command}: status {:#x} ({})",
                reply.header.status,
                reply.status_name.unwrap_or("unknown status")
            ));
        }
        for item in &reply.items {
            match item {
                CpfItem::Identity(identity) => {
                    if self.identity.is_none() {
                        self.identity = Some(EnipIdentity::clone(identity));
                    }
                }
                CpfItem::Service(service) => self.services.push(service.clone()),
                CpfItem::Unknown(unknown) => self.unknown_items.push(unknown.clone()),
            }
        }
        self.warnings
            .extend(reply.warnings.iter().map(|w| format!("{command}: {w}")));
    }
}

/// The record role (`device_type`) a CIP device type stands for: one of "plc",
/// "comm_adapter", "hmi", "drive", "io", "switch", "gateway" or "other".
///
/// "other" means the type names a role the record has no word for (sensor, valve,
/// encoder, ...). The generic types 0x00 and 0x2B name no role at all, and unknown
/// or vendor-specific types could be anything, so those give `None`.
pub fn device_role(device_type: u16) -> Option<DeviceType> {
    match device_type {
        0x0E => Some(DeviceType::Plc),
        0x0C => Some(DeviceType::CommAdapter),
        0x18 => Some(DeviceType::Hmi),
        // AC, DC, CIP Motion, CIP Motion safety and safety drives.
        0x02 | 0x13 | 0x25 | 0x2D | 0x2E => Some(DeviceType::Drive),
        // Discrete, safety discrete, safety analog and CIP Motion I/O.
        0x07 | 0x23 | 0x2A | 0x31 => Some(DeviceType::Io),
        0x2C => Some(DeviceType::Switch),
        // CIP Modbus Translator: a CIP front for Modbus devices behind it.
        0x29 => Some(DeviceType::Gateway),
        0x00 | 0x2B => None,
        other => crate::vendors::cip_device_type(other).map(|_| DeviceType::Other),
    }
}

/// The record's identity fields from an Identity item.
pub fn identity_fields(identity: &EnipIdentity) -> Identity {
    Identity {
        vendor: identity.vendor_name.clone(),
        vendor_id: Some(VendorId {
            space: VendorIdSpace::Odva,
            id: u32::from(identity.vendor_id),
        }),
        product_name: identity.product_name.trimmed(),
        product_code: Some(identity.product_code.to_string()),
        firmware_version: Some(identity.revision.clone()),
        serial_number: Some(identity.serial_number.clone()),
        device_type: device_role(identity.device_type),
        ..Identity::default()
    }
}
