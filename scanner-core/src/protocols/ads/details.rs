//! The ADS discovery fields of a service observation: `services[].details.ads` in the
//! record (see docs/record.md), and the record identity they give.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::{c_string, os_version, tag, OsVersion, Reply, TwinCatVersion};
use crate::record::fields::{hex, DeviceText, DeviceType, Identity};

/// A tag of the Identify reply that otscan does not decode, kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OtherTag {
    /// Tag id.
    pub id: u16,
    /// Its data, lower-case hex.
    pub data_hex: String,
}

/// ADS discovery fields of a service observation in the record: what the Identify reply
/// (UDP 48899) of one TwinCAT system said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AdsDetails {
    /// The device's AMS NetId, `a.b.c.d.e.f` (often its IPv4 address and `.1.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ams_net_id: Option<String>,
    /// The AMS port the reply came from (10000, the system service, on TwinCAT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ams_port: Option<u16>,
    /// Host (computer) name, tag 5, without its NUL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<DeviceText>,
    /// TwinCAT version, tag 3 (major.minor.build as numbers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twincat_version: Option<TwinCatVersion>,
    /// The OS version block, tag 4, decoded (Windows' OSVERSIONINFO layout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<OsVersion>,
    /// The OS version block as sent, lower-case hex, when it is too short to decode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version_hex: Option<String>,
    /// Fingerprint, tag 18 (TwinCAT 3.1.4024 and later), without its NUL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<DeviceText>,
    /// Every other tag, as sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_tags: Vec<OtherTag>,
    /// Oddities in the reply that were accepted anyway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl AdsDetails {
    /// Records an Identify reply.
    pub fn apply_reply(&mut self, reply: &Reply) {
        self.ams_net_id = Some(reply.net_id.to_string());
        self.ams_port = Some(reply.ams_port);
        self.host_name = reply
            .tag(tag::HOST_NAME)
            .map(|d| DeviceText::from_bytes(c_string(d)));
        self.twincat_version = reply.twincat_version();
        if reply.tag(tag::TWINCAT_VERSION).is_some() && self.twincat_version.is_none() {
            self.warnings
                .push("TwinCAT version tag shorter than 4 bytes".to_owned());
        }
        if let Some(block) = reply.tag(tag::OS_VERSION) {
            self.os_version = os_version(block);
            if self.os_version.is_none() {
                self.os_version_hex = Some(hex(block));
            }
        }
        self.fingerprint = reply
            .tag(tag::FINGERPRINT)
            .map(|d| DeviceText::from_bytes(c_string(d)));
        let decoded = [
            tag::HOST_NAME,
            tag::TWINCAT_VERSION,
            tag::OS_VERSION,
            tag::FINGERPRINT,
        ];
        let mut seen = Vec::new();
        for t in &reply.tags {
            // The first of each decoded tag is in the fields above; duplicates stay here.
            if decoded.contains(&t.id) && !seen.contains(&t.id) {
                seen.push(t.id);
                continue;
            }
            self.other_tags.push(OtherTag {
                id: t.id,
                data_hex: hex(&t.data),
            });
        }
        self.warnings.extend(reply.warnings.iter().cloned());
    }

    /// The trimmed host name, when there is one.
    pub fn host(&self) -> Option<String> {
        self.host_name.as_ref().and_then(DeviceText::trimmed)
    }
}

/// The record's identity fields: the ADS discovery service is TwinCAT's AMS router, so a
/// device that answers Identify is a Beckhoff TwinCAT runtime, a PLC (TwinCAT's PLC
/// runtime runs on every such system, Embedded PC or IPC); the firmware is the TwinCAT
/// version.
pub fn identity_fields(details: &AdsDetails) -> Identity {
    if details.ams_net_id.is_none() {
        return Identity::default();
    }
    Identity {
        vendor: Some("Beckhoff".to_owned()),
        firmware_version: details.twincat_version.map(|v| v.to_string()),
        hostname: details.host(),
        device_type: Some(DeviceType::Plc),
        ..Identity::default()
    }
}
