//! The SNMP fields of a service observation: `services[].details.snmp` in the record
//! (see docs/record.md): system group, ENTITY-MIB rows, MAC, and the v3 engine with
//! its id decoded per RFC 3411.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::SnmpVersion;
use crate::record::fields::{hex, DeviceText};

/// A decoded SNMP engine id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EngineId {
    /// The engine id in hex.
    pub hex: String,
    /// IANA enterprise number of the engine's vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<u32>,
    /// Its registered name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_name: Option<String>,
    /// ipv4, ipv6, mac, text, octets, enterprise-specific, legacy or unknown.
    pub format: String,
    /// The format byte (RFC 3411), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_code: Option<u8>,
    /// The address, MAC or text the id carries, when its format says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

pub(super) fn mac_text(b: &[u8]) -> String {
    let mut s = String::with_capacity(17);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Decodes an engine id per RFC 3411: first bit set -> 4-byte enterprise number and a
/// format byte (1 IPv4, 2 IPv6, 3 MAC, 4 text, 5 octets, 128+ enterprise specific);
/// first bit clear -> the legacy 12-byte form (enterprise number + 8 bytes).
pub fn decode_engine_id(bytes: &[u8]) -> EngineId {
    let mut id = EngineId {
        hex: hex(bytes),
        enterprise: None,
        enterprise_name: None,
        format: "unknown".into(),
        format_code: None,
        value: None,
    };
    let Some(head) = bytes.get(..4) else {
        return id;
    };
    let pen = u32::from_be_bytes([head[0] & 0x7F, head[1], head[2], head[3]]);
    id.enterprise = Some(pen);
    id.enterprise_name = crate::vendors::iana_enterprise(pen).map(str::to_owned);
    if head[0] & 0x80 == 0 {
        id.format = "legacy".into();
        return id;
    }
    let Some(&format) = bytes.get(4) else {
        return id;
    };
    let data = &bytes[5..];
    id.format_code = Some(format);
    let (name, value) = match format {
        1 => (
            "ipv4",
            <[u8; 4]>::try_from(data)
                .ok()
                .map(|a| std::net::Ipv4Addr::from(a).to_string()),
        ),
        2 => (
            "ipv6",
            <[u8; 16]>::try_from(data)
                .ok()
                .map(|a| std::net::Ipv6Addr::from(a).to_string()),
        ),
        3 => ("mac", (data.len() == 6).then(|| mac_text(data))),
        4 => ("text", Some(DeviceText::from_bytes(data).text)),
        5 => ("octets", None),
        128.. => ("enterprise-specific", None),
        _ => ("reserved", None),
    };
    id.format = name.into();
    id.value = value;
    id
}

/// SNMP fields of a service observation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SnmpDetails {
    /// Version that answered the identity GET ("1" or "2c"); absent when only v3 discovery answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<SnmpVersion>,
    /// Position (0-based) of the community that answered in the configured list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_index: Option<usize>,
    /// The community string itself, only with `record_community`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community: Option<String>,
    /// The system group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemGroup>,
    /// First rows of the ENTITY-MIB physical table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<EntityRow>,
    /// First non-empty ifPhysAddress, lower-case colon form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// SNMPv3 engine, from discovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineInfo>,
    /// error-status of the identity GET when non-zero, with its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<String>,
    /// Oddities accepted anyway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The MIB-II system group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SystemGroup {
    /// sysDescr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descr: Option<DeviceText>,
    /// sysObjectID, dotted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// Enterprise number of sysObjectID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<u32>,
    /// Its registered name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_name: Option<String>,
    /// sysUpTime in ticks (1/100 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_ticks: Option<u64>,
    /// sysUpTime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_seconds: Option<f64>,
    /// sysContact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<DeviceText>,
    /// sysName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<DeviceText>,
    /// sysLocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<DeviceText>,
    /// sysServices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<i64>,
    /// sysServices as layer names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_layers: Vec<String>,
}

/// One row of entPhysicalTable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EntityRow {
    /// entPhysicalIndex.
    pub index: u32,
    /// entPhysicalDescr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descr: Option<DeviceText>,
    /// entPhysicalHardwareRev.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_rev: Option<DeviceText>,
    /// entPhysicalFirmwareRev.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_rev: Option<DeviceText>,
    /// entPhysicalSoftwareRev.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_rev: Option<DeviceText>,
    /// entPhysicalSerialNum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<DeviceText>,
    /// entPhysicalMfgName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfg_name: Option<DeviceText>,
    /// entPhysicalModelName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<DeviceText>,
}

/// SNMPv3 engine facts from discovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EngineInfo {
    /// The engine id, decoded.
    pub engine_id: EngineId,
    /// msgAuthoritativeEngineBoots.
    pub boots: i64,
    /// msgAuthoritativeEngineTime (seconds since the last boot).
    pub time: i64,
}

/// Names of the sysServices layer bits (RFC 3418).
pub fn service_layers(services: i64) -> Vec<String> {
    [
        (0x01, "physical"),
        (0x02, "datalink"),
        (0x04, "internet"),
        (0x08, "end-to-end"),
        (0x40, "applications"),
    ]
    .iter()
    .filter(|(bit, _)| services & bit != 0)
    .map(|(_, n)| (*n).to_owned())
    .collect()
}

/// Name of an SNMP error-status.
pub fn error_status_name(status: i64) -> &'static str {
    match status {
        1 => "tooBig",
        2 => "noSuchName",
        3 => "badValue",
        4 => "readOnly",
        5 => "genErr",
        6 => "noAccess",
        16 => "authorizationError",
        _ => "other",
    }
}

/// A firmware version from sysDescr, only for formats where it is unambiguous:
/// Cisco IOS ("..., Version 15.2(4)EA9, ...") and explicit "Firmware Version: X" /
/// "FW: X" / "Firmware: X" fields. Anything else (e.g. a Linux kernel version in a
/// host's sysDescr) is not a device firmware and gives `None`.
pub fn firmware_from_sysdescr(descr: &str) -> Option<String> {
    if descr.is_empty() {
        // Every silent or refusing address: no searchers built for nothing.
        return None;
    }
    let take = |rest: &str| {
        let v: String = rest
            .trim_start()
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != ',' && *c != ';')
            .collect();
        (!v.is_empty()).then_some(v)
    };
    if descr.contains("Cisco IOS") {
        if let Some(i) = descr.find(", Version ") {
            return take(&descr[i + ", Version ".len()..]);
        }
    }
    for key in ["Firmware Version:", "Firmware version:", "Firmware:", "FW:"] {
        if let Some(i) = descr.find(key) {
            return take(&descr[i + key.len()..]);
        }
    }
    None
}
