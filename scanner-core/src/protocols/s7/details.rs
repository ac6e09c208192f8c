//! The S7 fields of a service observation: `services[].details.s7` in the record
//! (see docs/record.md), folded from the COTP, setup and SZL replies, and the record
//! identity they give.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::{
    error_class_name, ComponentRecord, ModuleRecord, S7Header, SetupAck, SzlRecords, SzlResponse,
    RETURN_CODE_SUCCESS,
};
use super::cotp::{ConnectionConfirm, Tsap};
use crate::record::fields::{DeviceText, DeviceType, Identity};

/// S7 fields of a service observation in the record: what the COTP, setup and SZL
/// replies of one device said, merged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct S7Details {
    /// Destination TSAP the device accepted with a Connection Confirm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsap: Option<u16>,
    /// TSAPs tried before, which the device refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_tsaps: Vec<TsapRefusal>,
    /// PDU length negotiated in Setup Communication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdu_length: Option<u16>,
    /// Order number (MLFB) of the module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<DeviceText>,
    /// Hardware version / release (SZL 0x0011 index 6, else index 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_version: Option<String>,
    /// Firmware version, "Vx.y.z" (SZL 0x0011 index 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    /// System name (SZL 0x001C index 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_name: Option<DeviceText>,
    /// Module name (index 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_name: Option<DeviceText>,
    /// Plant identification (index 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plant_id: Option<DeviceText>,
    /// Copyright (index 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copyright: Option<DeviceText>,
    /// Serial number of the module (index 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<DeviceText>,
    /// Module type name (index 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_type: Option<DeviceText>,
    /// Memory card serial number (index 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_card_serial: Option<DeviceText>,
    /// Location designation (index 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<DeviceText>,
    /// S7 header error class the device answered with (non-zero only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_class: Option<u8>,
    /// S7 header error code that came with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u8>,
    /// Name of the error class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_name: Option<String>,
    /// Userdata error code of a refused SZL read (non-zero only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub szl_error_code: Option<u16>,
    /// Data return code of a refused SZL read (other than 0xFF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub szl_return_code: Option<u8>,
    /// Oddities noticed while decoding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl S7Details {
    /// Records a Connection Confirm to `tsap`.
    pub fn apply_confirm(&mut self, tsap: Tsap, confirm: &ConnectionConfirm) {
        self.tsap = Some(tsap.value());
        self.warnings.extend(confirm.warnings.iter().cloned());
    }

    fn apply_header(&mut self, header: &S7Header) {
        if header.is_error() {
            let class = header.error_class.unwrap_or(0);
            self.error_class = Some(class);
            self.error_code = header.error_code;
            self.error_name = Some(error_class_name(class).to_owned());
        }
    }

    /// Records a Setup Communication answer (negotiated PDU length or error).
    pub fn apply_setup(&mut self, ack: &SetupAck) {
        self.apply_header(&ack.header);
        if let Some(params) = ack.negotiated {
            self.pdu_length = Some(params.pdu_length);
        }
    }

    /// Records an SZL read answer: identification fields, or the error it carried.
    pub fn apply_szl(&mut self, response: &SzlResponse) {
        self.apply_header(&response.header);
        if response.error_code != 0 {
            self.szl_error_code = Some(response.error_code);
        }
        if response.return_code != RETURN_CODE_SUCCESS {
            self.szl_return_code = Some(response.return_code);
        }
        self.warnings.extend(response.warnings.iter().cloned());
        match &response.records {
            SzlRecords::Module(records) => self.apply_module(records),
            SzlRecords::Component(records) => self.apply_component(records),
            SzlRecords::Other(_) => {}
        }
    }

    fn apply_module(&mut self, records: &[ModuleRecord]) {
        let by_index = |i: u16| records.iter().find(|r| r.index == i);
        let order = [1, 6, 7]
            .iter()
            .filter_map(|&i| by_index(i))
            .chain(records.iter())
            .find_map(|r| r.order_number.clone());
        if self.order_number.is_none() {
            self.order_number = order;
        }
        if let Some(v) = by_index(6)
            .or_else(|| by_index(1))
            .and_then(|r| r.version())
        {
            self.hardware_version = Some(v);
        }
        if let Some(v) = by_index(7).and_then(|r| r.version()) {
            self.firmware_version = Some(v);
        }
    }

    fn apply_component(&mut self, records: &[ComponentRecord]) {
        for record in records {
            let slot = match record.index {
                1 => &mut self.system_name,
                2 => &mut self.module_name,
                3 => &mut self.plant_id,
                4 => &mut self.copyright,
                5 => &mut self.serial_number,
                7 => &mut self.module_type,
                8 => &mut self.memory_card_serial,
                11 => &mut self.location,
                _ => continue,
            };
            if record.text.is_some() {
                *slot = record.text.clone();
            }
        }
    }
}

/// A TSAP the device would not connect to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TsapRefusal {
    /// The destination TSAP asked for.
    pub tsap: u16,
    /// How it refused: `disconnect` (COTP DR), `reject` (COTP ER) or `closed` (TCP closed).
    pub how: String,
    /// The DR reason or ER cause byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<u8>,
    /// The DR reason's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_name: Option<String>,
}

/// Order-number prefixes of Siemens automation products (SIMATIC S7/S5, SIPLUS,
/// LOGO!, SIMATIC NET).
const SIEMENS_ORDER_PREFIXES: [&str; 5] = ["6ES7", "6ES5", "6AG1", "6ED1", "6GK"];

/// The record's identity fields from what the device said.
pub fn identity_fields(details: &S7Details) -> Identity {
    let text = |t: &Option<DeviceText>| t.as_ref().and_then(DeviceText::trimmed);
    let order = text(&details.order_number);
    let siemens = order
        .as_deref()
        .is_some_and(|o| SIEMENS_ORDER_PREFIXES.iter().any(|p| o.starts_with(p)))
        || text(&details.copyright).is_some_and(|c| c.contains("Siemens"));
    let model = text(&details.module_type).or_else(|| text(&details.module_name));
    let device_type = model.as_deref().and_then(|m| {
        if m.contains("CPU") {
            Some(DeviceType::Plc)
        } else if m.starts_with("CP ") || m.starts_with("IM ") {
            Some(DeviceType::CommAdapter)
        } else {
            None
        }
    });
    Identity {
        vendor: siemens.then(|| "Siemens".to_owned()),
        product_code: order,
        model,
        serial_number: text(&details.serial_number),
        firmware_version: details.firmware_version.clone(),
        device_type,
        ..Identity::default()
    }
}
