//! The KNXnet/IP fields of a service observation: `services[].details.knx` in the record
//! (see docs/record.md), from the DESCRIPTION_RESPONSE, and the record identity they give.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::{dib_type_name, medium_name, service_family_name, Reply};
use crate::record::fields::{hex, DeviceText, DeviceType, Identity};

/// One supported service family of the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceFamily {
    /// Family id (0x02 Core, 0x03 Device Management, 0x04 Tunnelling, 0x05 Routing...).
    pub id: u8,
    /// Its name ("unknown service family" for an id the Core specification does not list).
    pub name: String,
    /// The family's version the device implements.
    pub version: u8,
}

/// A DIB otscan records by type and length only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KnxOtherDib {
    /// DIB type code.
    pub dib_type: u8,
    /// Its name (e.g. "IP config", "tunnelling info").
    pub name: String,
    /// DIB length in bytes, its length and type bytes included.
    pub length: u8,
}

/// KNXnet/IP fields of a service observation: what the DESCRIPTION_RESPONSE said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KnxDetails {
    /// KNX medium code of the device's KNX side (0x02 TP1, 0x20 KNX IP...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<u8>,
    /// Its name: TP0, TP1, PL110, PL132, RF, KNX IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium_name: Option<String>,
    /// Device status byte as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_status: Option<u8>,
    /// Device status bit 0: the device is in programming mode (its programming button
    /// was pressed and not released by ETS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programming_mode: Option<bool>,
    /// KNX individual address as `area.line.device` (e.g. `1.1.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub individual_address: Option<String>,
    /// Project-installation identifier (0: not set by ETS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_installation_id: Option<u16>,
    /// KNX serial number, 12 lower-case hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// The serial number's first two bytes: the KNX manufacturer code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer_code: Option<u16>,
    /// Routing multicast address, dotted (0.0.0.0 on a device that does not route).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_multicast_address: Option<String>,
    /// MAC address of the KNXnet/IP interface (`aa:bb:cc:dd:ee:ff`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Friendly name up to its first NUL (set in ETS; defaults to a product name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<DeviceText>,
    /// Supported service families, in the order sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_families: Vec<ServiceFamily>,
    /// What the service families make of the device: "KNXnet/IP router" (Routing),
    /// "KNXnet/IP interface" (Tunnelling without Routing), else "KNXnet/IP device".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Manufacturer data DIB: the KNX manufacturer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer_data_id: Option<u16>,
    /// Manufacturer data DIB: the bytes after the id, lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer_data: Option<String>,
    /// Other DIBs, by type and length.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_dibs: Vec<KnxOtherDib>,
    /// Oddities in the reply that were accepted anyway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn colon_hex(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

impl KnxDetails {
    /// Records a DESCRIPTION_RESPONSE.
    pub fn apply(&mut self, reply: &Reply) {
        if let Some(info) = &reply.device_info {
            self.medium = Some(info.medium);
            self.medium_name = Some(medium_name(info.medium).to_owned());
            self.device_status = Some(info.device_status);
            self.programming_mode = Some(info.programming_mode());
            self.individual_address = Some(info.individual_address.to_string());
            self.project_installation_id = Some(info.project_installation_id);
            self.serial_number = Some(hex(&info.serial_number));
            self.manufacturer_code = Some(u16::from_be_bytes([
                info.serial_number[0],
                info.serial_number[1],
            ]));
            let m = info.multicast_address;
            self.routing_multicast_address = Some(format!("{}.{}.{}.{}", m[0], m[1], m[2], m[3]));
            self.mac = Some(colon_hex(&info.mac));
            self.friendly_name = Some(info.friendly_name_text());
        }
        if let Some(families) = &reply.service_families {
            self.service_families = families
                .iter()
                .map(|&(id, version)| ServiceFamily {
                    id,
                    name: service_family_name(id).to_owned(),
                    version,
                })
                .collect();
            let has = |id: u8| families.iter().any(|f| f.0 == id);
            self.role = Some(
                if has(0x05) {
                    "KNXnet/IP router"
                } else if has(0x04) {
                    "KNXnet/IP interface"
                } else {
                    "KNXnet/IP device"
                }
                .to_owned(),
            );
        }
        if let Some(m) = &reply.manufacturer_data {
            self.manufacturer_data_id = Some(m.manufacturer_id);
            self.manufacturer_data = Some(hex(&m.data));
        }
        self.other_dibs = reply
            .other_dibs
            .iter()
            .map(|d| KnxOtherDib {
                dib_type: d.dib_type,
                name: dib_type_name(d.dib_type).to_owned(),
                length: d.len,
            })
            .collect();
        self.warnings.extend(reply.warnings.iter().cloned());
    }

    /// Whether the reply identified the device: it carried the device information DIB.
    pub fn identifies(&self) -> bool {
        self.individual_address.is_some()
    }
}

/// The record's identity fields. The friendly name becomes the host name: it is the
/// name the installer gave the device in ETS (a product name until then), so it names
/// this device rather than its product. Serial number and MAC as sent, unless all zeros
/// (knxd sends a zero serial). Device type: gateway (a KNXnet/IP interface or router
/// joins a KNX bus to IP). No vendor: the manufacturer code is kept in the details, and
/// otscan ships no table of KNX manufacturer codes.
pub fn identity_fields(details: &KnxDetails) -> Identity {
    if !details.identifies() {
        return Identity::default();
    }
    let not_zero = |s: &Option<String>| {
        s.clone()
            .filter(|v| v.chars().any(|c| c.is_ascii_hexdigit() && c != '0'))
    };
    Identity {
        serial_number: not_zero(&details.serial_number),
        mac: not_zero(&details.mac),
        hostname: details.friendly_name.as_ref().and_then(DeviceText::trimmed),
        device_type: Some(DeviceType::Gateway),
        ..Identity::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::codec::{parse, tests};
    use super::*;

    #[test]
    fn router_details_and_identity() {
        let mut d = KnxDetails::default();
        d.apply(&parse(&tests::router()).unwrap());
        assert_eq!(d.individual_address.as_deref(), Some("1.1.0"));
        assert_eq!(d.programming_mode, Some(true));
        assert_eq!(d.medium_name.as_deref(), Some("KNX IP"));
        assert_eq!(d.serial_number.as_deref(), Some("008349001122"));
        assert_eq!(d.manufacturer_code, Some(0x83));
        assert_eq!(d.role.as_deref(), Some("KNXnet/IP router"));
        assert_eq!(d.service_families[3].name, "Routing");
        assert_eq!(d.other_dibs[0].name, "IP config");
        let id = identity_fields(&d);
        assert_eq!(id.hostname.as_deref(), Some("IP Router N146"));
        assert_eq!(id.mac.as_deref(), Some("00:24:6d:01:02:03"));
        assert_eq!(id.serial_number.as_deref(), Some("008349001122"));
        assert_eq!(id.device_type, Some(DeviceType::Gateway));
    }

    #[test]
    fn knxd_zero_serial_is_no_identity() {
        let mut d = KnxDetails::default();
        d.apply(&parse(&tests::knxd()).unwrap());
        assert_eq!(d.role.as_deref(), Some("KNXnet/IP interface"));
        let id = identity_fields(&d);
        assert_eq!(id.serial_number, None);
        assert_eq!(id.hostname.as_deref(), Some("otscan-knxd"));
    }
}
