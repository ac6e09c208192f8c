//! The PROFINET CM lookup fields of a service observation: `services[].details.profinet`
//! in the record (see docs/record.md), and the record identity they give.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::{annotation, status_name, Body, Reply};
use super::dcp::{device_roles, IdentifyResponse};
use crate::record::fields::{DeviceText, DeviceType, Identity, VendorId, VendorIdSpace};

/// PROFINET CM lookup fields of a service observation in the record: what the
/// endpoint mapper (UDP 34964) of one PROFINET device said to `ept_lookup`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProfinetDetails {
    /// What answered: `response`, `fault` or `reject` (DCE/RPC packet types 2, 3, 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// The lookup status, or the fault/reject status (`nca_s_*`); 0 is success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    /// The status's name, when known (e.g. `ept_s_not_registered`, `nca_s_unk_if`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_name: Option<String>,
    /// Entries in the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<u32>,
    /// The first entry's annotation as sent, without its trailing NULs (space padding
    /// kept: the columns stay where the layout puts them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation: Option<DeviceText>,
    /// Device type, annotation columns 0-24 (e.g. `S7-1500`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<DeviceText>,
    /// Order number (OrderID), annotation columns 26-45 (e.g. `6ES7 516-3AN01-0AB0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<DeviceText>,
    /// Hardware revision, annotation columns 47-51.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_revision: Option<u16>,
    /// Software revision, annotation columns 53-62: prefix and three numbers (`V2.9.2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_revision: Option<String>,
    /// The first entry's object UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_uuid: Option<String>,
    /// PROFINET vendor id (VendorID, assigned by PI), from a PNIO object UUID
    /// (dea00000-6c97-11d1-8271-IIII-DDDD-VVVV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u16>,
    /// PROFINET device id (DeviceID), from a PNIO object UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<u16>,
    /// Instance, from a PNIO object UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<u16>,
    /// What the station said to a DCP Identify All (`otscan discover --profinet`, layer
    /// 2); absent in `scan` records, which never send DCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcp: Option<DcpDetails>,
    /// Oddities in the reply that were accepted anyway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A station's answer to DCP Identify All: `services[].details.profinet.dcp`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DcpDetails {
    /// The station's MAC address (the frame's source), lower-case colon form.
    pub mac: String,
    /// NameOfStation (device properties 0x02/0x02), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_of_station: Option<DeviceText>,
    /// Type of station, the vendor's text (0x02/0x01, e.g. `S7-1500`), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_of_station: Option<DeviceText>,
    /// Device role bits (0x02/0x04).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_role: Option<u8>,
    /// The role bits' names (`IO device`, `IO controller`, `IO multidevice`,
    /// `PN supervisor`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// IPv4 address (0x01/0x02).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<std::net::Ipv4Addr>,
    /// Subnet mask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<std::net::Ipv4Addr>,
    /// Default gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<std::net::Ipv4Addr>,
    /// The IP block's BlockInfo: 0 not set, 1 set, 2 set by DHCP; bit 7 an address
    /// conflict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_block_info: Option<u16>,
    /// Other blocks the station sent, as `option/suboption` in hex (e.g. `02/05`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_blocks: Vec<String>,
}

impl ProfinetDetails {
    /// The fields of a DCP Identify response: vendor and device id at the top (as the
    /// CM lookup's PNIO object UUID gives them), the rest under `dcp`.
    pub fn from_dcp(response: &IdentifyResponse) -> Self {
        let (vendor_id, device_id) = response.device_id.unzip();
        let ip = response.ip.map(|(a, m, g)| {
            (
                std::net::Ipv4Addr::from(a),
                std::net::Ipv4Addr::from(m),
                std::net::Ipv4Addr::from(g),
            )
        });
        ProfinetDetails {
            vendor_id,
            device_id,
            dcp: Some(DcpDetails {
                mac: mac_text(response.mac),
                name_of_station: response
                    .name_of_station
                    .as_deref()
                    .map(DeviceText::from_bytes),
                type_of_station: response
                    .type_of_station
                    .as_deref()
                    .map(DeviceText::from_bytes),
                device_role: response.device_role,
                roles: response
                    .device_role
                    .map(device_roles)
                    .unwrap_or_default()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                ip: ip.map(|(a, _, _)| a),
                mask: ip.map(|(_, m, _)| m),
                gateway: ip.map(|(_, _, g)| g),
                ip_block_info: response.ip_block_info,
                other_blocks: response
                    .other_blocks
                    .iter()
                    .map(|(o, s, _)| format!("{o:02x}/{s:02x}"))
                    .collect(),
            }),
            warnings: response.warnings.clone(),
            ..ProfinetDetails::default()
        }
    }
}

/// Lower-case colon form of a MAC address.
pub fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The record's identity fields from a DCP Identify response: hostname = NameOfStation
/// (the name the station answers DCP name resolution with, DNS-compatible by the
/// standard), model = type of station, the PI vendor id, the MAC; device type `plc` for an
/// IO controller only (an IO device may be a drive, an I/O station, a switch or an HMI).
pub fn dcp_identity_fields(details: &ProfinetDetails) -> Identity {
    let Some(dcp) = &details.dcp else {
        return Identity::default();
    };
    Identity {
        vendor_id: details.vendor_id.map(|id| VendorId {
            space: VendorIdSpace::Profinet,
            id: u32::from(id),
        }),
        model: dcp.type_of_station.as_ref().and_then(DeviceText::trimmed),
        hostname: dcp.name_of_station.as_ref().and_then(DeviceText::trimmed),
        mac: (dcp.mac != "00:00:00:00:00:00").then(|| dcp.mac.clone()),
        device_type: dcp
            .device_role
            .is_some_and(|r| r & 0x02 != 0)
            .then_some(DeviceType::Plc),
        ..Identity::default()
    }
}

impl ProfinetDetails {
    /// Records a reply.
    pub fn apply_reply(&mut self, reply: &Reply) {
        let (kind, status) = match &reply.body {
            Body::Lookup { status, .. } => ("response", *status),
            Body::Fault(s) => ("fault", *s),
            Body::Reject(s) => ("reject", *s),
        };
        self.reply = Some(kind.to_owned());
        self.status = Some(status);
        self.status_name = status_name(status).map(str::to_owned);
        self.warnings.extend(reply.warnings.iter().cloned());
        let Body::Lookup { entries, .. } = &reply.body else {
            return;
        };
        self.entries = Some(entries.len() as u32);
        let Some(entry) = entries.first() else {
            return;
        };
        self.object_uuid = Some(entry.object.to_string());
        if let Some((instance, device_id, vendor_id)) = entry.pnio_object() {
            self.instance = Some(instance);
            self.device_id = Some(device_id);
            self.vendor_id = Some(vendor_id);
        }
        if entry.annotation.is_empty() {
            return;
        }
        let end = entry
            .annotation
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |e| e + 1);
        self.annotation = Some(DeviceText::from_bytes(&entry.annotation[..end]));
        let a = annotation(&entry.annotation);
        self.device_type =
            (!a.device_type.is_empty()).then(|| DeviceText::from_bytes(&a.device_type));
        self.order_id = (!a.order_id.is_empty()).then(|| DeviceText::from_bytes(&a.order_id));
        self.hardware_revision = a.hardware_revision;
        self.software_revision = a.software_revision.map(|s| s.to_string());
        self.warnings.extend(a.warnings);
    }

    /// The annotation named the device (a device type or an order number).
    pub fn identifies(&self) -> bool {
        self.device_type.is_some() || self.order_id.is_some()
    }
}

/// Siemens order number (MLFB) prefixes: SIMATIC (6ES7, 6ES5, 6AG1 SIPLUS, 6ED1 LOGO!,
/// 6AV HMI), SIMATIC NET (6GK), SINAMICS / MICROMASTER (6SL, 6SE), as in
/// `record::derive`'s Siemens order-number rules.
const SIEMENS_PREFIXES: [&str; 8] = ["6ES7", "6ES5", "6AG1", "6ED1", "6AV", "6GK", "6SL", "6SE"];

/// Device types the annotation's device-type column names, by prefix: Siemens'
/// product family names.
const FAMILIES: [(&str, DeviceType); 7] = [
    ("S7-", DeviceType::Plc),
    ("CPU ", DeviceType::Plc),
    ("ET 200", DeviceType::Io),
    ("ET200", DeviceType::Io),
    ("SCALANCE", DeviceType::Switch),
    ("SINAMICS", DeviceType::Drive),
    ("SIMATIC HMI", DeviceType::Hmi),
];

/// The record's identity fields: model = the annotation's device type, product code =
/// its order number, firmware = its software revision; vendor Siemens when the order
/// number is a Siemens MLFB; the PI vendor id from a PNIO object UUID (kept as a number:
/// no PI vendor table with a usable licence is bundled); the device type from the
/// device-type column's product family (S7-… a PLC, ET 200… I/O, SCALANCE a switch,
/// SINAMICS a drive).
pub fn identity_fields(details: &ProfinetDetails) -> Identity {
    let model = details.device_type.as_ref().and_then(DeviceText::trimmed);
    let order = details.order_id.as_ref().and_then(DeviceText::trimmed);
    let compact: Option<String> = order
        .as_ref()
        .map(|o| o.chars().filter(|c| !c.is_whitespace()).collect());
    let siemens = compact
        .as_ref()
        .is_some_and(|o| SIEMENS_PREFIXES.iter().any(|p| o.starts_with(p)));
    let device_type = model.as_ref().and_then(|m| {
        FAMILIES
            .iter()
            .find(|(p, _)| m.to_ascii_uppercase().starts_with(&p.to_ascii_uppercase()))
            .map(|(_, t)| *t)
    });
    Identity {
        vendor: siemens.then(|| "Siemens".to_owned()),
        vendor_id: details.vendor_id.map(|id| VendorId {
            space: VendorIdSpace::Profinet,
            id: u32::from(id),
        }),
        model,
        product_code: order,
        firmware_version: details.software_revision.clone(),
        device_type,
        ..Identity::default()
    }
}
