//! The Fox fields of a service observation: `services[].details.fox` in the record (see
//! docs/record.md), folded from the station's hello reply, and the record identity they
//! give.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::codec::{Reply, Tuple};
use crate::record::fields::{DeviceText, DeviceType, Identity};

/// Fox fields of a service observation: the station's hello reply, its well-known keys by
/// name and every other tuple as sent, in order.
///
/// The named fields hold the `s` (string) tuples of their keys as sent (nmap `fox-info`
/// and zgrab2 read the same keys); a named key sent with another type stays in
/// [`other_keys`](Self::other_keys), so nothing is lost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FoxDetails {
    /// The reply's first line, e.g. `fox a 0 -1 fox hello`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `fox.version`: the Fox protocol version (e.g. `1.0.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fox_version: Option<DeviceText>,
    /// `hostName`: the host's name (often its address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<DeviceText>,
    /// `hostAddress`: the address the host gives itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_address: Option<DeviceText>,
    /// `app.name`: the application answering (`Station`, `Workbench`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<DeviceText>,
    /// `app.version`: the Niagara version (3.x: Niagara AX, 4.x: Niagara 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<DeviceText>,
    /// `vm.name`: the Java VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_name: Option<DeviceText>,
    /// `vm.version`: the Java VM's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_version: Option<DeviceText>,
    /// `os.name`: the operating system (QNX on JACE controllers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_name: Option<DeviceText>,
    /// `os.version`: the operating system's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<DeviceText>,
    /// `timeZone` up to its first `;`: the zone id (e.g. `America/Chicago`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<DeviceText>,
    /// `timeZone` after its first `;`: offsets and daylight-saving rules as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone_rules: Option<DeviceText>,
    /// `hostId`: the Niagara host id (licence key, e.g. `Qnx-NPM6-0000-16A3-8210`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_id: Option<DeviceText>,
    /// `vmUuid`: the VM's UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_uuid: Option<DeviceText>,
    /// `station.name`: the station's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station_name: Option<DeviceText>,
    /// `brandId`: the OEM brand the Niagara licence is for (`vykon`, `distech`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_id: Option<DeviceText>,
    /// `lang`: the station's language / locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<DeviceText>,
    /// `fatal`: why the station refused the connection (e.g. `Niagara4 Station
    /// Connections Unsupported`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fatal: Option<DeviceText>,
    /// What the reply says the host is: `building automation controller` (a station on
    /// QNX, a JACE), `supervisor` (a station on another OS), `station`, or `workbench`
    /// (the engineering tool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Every other tuple, in the order sent (with the named fields, at most
    /// [`MAX_TUPLES`](super::codec::MAX_TUPLES) tuples are kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_keys: Vec<FoxTuple>,
    /// Tuples sent beyond [`MAX_TUPLES`](super::codec::MAX_TUPLES), not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys_dropped: Option<u64>,
    /// Oddities noticed while decoding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One `key=type:value` tuple of a Fox message, as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FoxTuple {
    /// The key.
    pub key: DeviceText,
    /// The type letters: `s` string, `i` integer, `z` boolean (`t`/`f`), `f` float,
    /// `t` time (hex milliseconds), `o` object, `b` blob, `m` nested message.
    #[serde(rename = "type")]
    pub kind: String,
    /// For an object (`o`): its type, e.g. `bog` (a Baja object graph in XML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_type: Option<DeviceText>,
    /// The value: the text after `type:`; for objects and blobs the counted content;
    /// for a nested message its lines.
    pub value: DeviceText,
}

impl FoxDetails {
    /// Records a station's reply.
    pub fn apply(&mut self, reply: &Reply) {
        let h = &reply.header;
        self.message = Some(format!(
            "fox {} {} {} {} {}",
            h.frame_type, h.sequence, h.reply_to, h.channel, h.command
        ));
        for tuple in &reply.tuples {
            self.apply_tuple(tuple);
        }
        if reply.dropped > 0 {
            self.keys_dropped = Some(reply.dropped as u64);
        }
        self.warnings.extend(reply.warnings.iter().cloned());
        self.role = self.role();
    }

    fn apply_tuple(&mut self, tuple: &Tuple) {
        // The first `s` tuple of a named key fills its field; repeats and other types
        // stay as sent in `other_keys`.
        if tuple.kind == "s" {
            if tuple.key == b"timeZone" && self.time_zone.is_none() {
                let value = tuple.value.as_slice();
                let (zone, rules) = match value.iter().position(|&b| b == b';') {
                    Some(i) => (&value[..i], Some(&value[i + 1..])),
                    None => (value, None),
                };
                self.time_zone = Some(DeviceText::from_bytes(zone));
                self.time_zone_rules = rules.map(DeviceText::from_bytes);
                return;
            }
            if let Some(slot) = self.named(&tuple.key).filter(|slot| slot.is_none()) {
                *slot = Some(DeviceText::from_bytes(&tuple.value));
                return;
            }
        }
        self.other_keys.push(FoxTuple {
            key: DeviceText::from_bytes(&tuple.key),
            kind: tuple.kind.clone(),
            object_type: tuple.object_type.as_deref().map(DeviceText::from_bytes),
            value: DeviceText::from_bytes(&tuple.value),
        });
    }

    /// The field of a well-known key.
    fn named(&mut self, key: &[u8]) -> Option<&mut Option<DeviceText>> {
        Some(match key {
            b"fox.version" => &mut self.fox_version,
            b"hostName" => &mut self.host_name,
            b"hostAddress" => &mut self.host_address,
            b"app.name" => &mut self.app_name,
            b"app.version" => &mut self.app_version,
            b"vm.name" => &mut self.vm_name,
            b"vm.version" => &mut self.vm_version,
            b"os.name" => &mut self.os_name,
            b"os.version" => &mut self.os_version,
            b"hostId" => &mut self.host_id,
            b"vmUuid" => &mut self.vm_uuid,
            b"station.name" => &mut self.station_name,
            b"brandId" => &mut self.brand_id,
            b"lang" => &mut self.lang,
            b"fatal" => &mut self.fatal,
            _ => return None,
        })
    }

    /// The reply names the station: an application, a station, a host id or a brand.
    pub fn identifies(&self) -> bool {
        [
            &self.app_name,
            &self.app_version,
            &self.station_name,
            &self.host_id,
            &self.brand_id,
        ]
        .iter()
        .any(|f| f.as_ref().and_then(DeviceText::trimmed).is_some())
    }

    /// What the reply says the host is (see [`FoxDetails::role`]).
    fn role(&self) -> Option<String> {
        let text = |t: &Option<DeviceText>| t.as_ref().and_then(DeviceText::trimmed);
        let app = text(&self.app_name)?;
        if app.eq_ignore_ascii_case("workbench") {
            return Some("workbench".to_owned());
        }
        if !app.eq_ignore_ascii_case("station") {
            return None;
        }
        let qnx = text(&self.os_name).is_some_and(|o| o.to_ascii_lowercase().contains("qnx"))
            || text(&self.host_id).is_some_and(|h| h.to_ascii_lowercase().starts_with("qnx-"));
        let os_known = text(&self.os_name).is_some();
        Some(
            if qnx {
                "building automation controller"
            } else if os_known {
                "supervisor"
            } else {
                "station"
            }
            .to_owned(),
        )
    }
}

/// The vendor a Niagara `brandId` stands for: the OEM that licenses the Niagara framework
/// under that brand (Vykon is Tridium's own brand, Facility Explorer (`FacExp`) Johnson
/// Controls', WEBs Honeywell's). `None` for a brand not in the table.
pub fn brand_vendor(brand: &str) -> Option<&'static str> {
    let brand = brand.trim().to_ascii_lowercase();
    let vendor = match brand.as_str() {
        "vykon" | "tridium" | "niagara" => "Tridium",
        "facexp" | "jci" | "johnsoncontrols" => "Johnson Controls",
        "webs" | "honeywell" => "Honeywell",
        "lynxspring" => "Lynxspring",
        b if b.starts_with("distech") => "Distech Controls",
        _ => return None,
    };
    Some(vendor)
}

/// The Niagara generation an `app.version` belongs to: 4.x `Niagara 4`, 3.x `Niagara AX`,
/// 2.x `Niagara R2`.
fn generation(version: &str) -> Option<&'static str> {
    match version.trim().split('.').next()? {
        "4" => Some("Niagara 4"),
        "3" => Some("Niagara AX"),
        "2" => Some("Niagara R2"),
        _ => None,
    }
}

/// The record's identity fields from what the station said: vendor from `brandId` (the
/// brand itself when it is not in [`brand_vendor`]'s table), product name the Niagara
/// generation and application (`Niagara 4 Station`), firmware the application version,
/// host name `hostName` unless it is an address, device type `building_controller` for a
/// station on a JACE (QNX), `other` for a supervisor or another station. Fox
/// names no hardware model (a JACE's model comes from its BACnet or SNMP side).
pub fn identity_fields(details: &FoxDetails) -> Identity {
    let text = |t: &Option<DeviceText>| t.as_ref().and_then(DeviceText::trimmed);
    let brand = text(&details.brand_id);
    let vendor = brand
        .as_deref()
        .map(|b| brand_vendor(b).map_or_else(|| b.to_owned(), str::to_owned));
    let app_version = text(&details.app_version);
    let hostname = text(&details.host_name).filter(|h| h.parse::<std::net::IpAddr>().is_err());
    let device_type = match details.role.as_deref() {
        Some("building automation controller") => Some(DeviceType::BuildingController),
        Some("supervisor" | "station") => Some(DeviceType::Other),
        _ => None,
    };
    let app = text(&details.app_name);
    let product_name = match (app_version.as_deref().and_then(generation), app) {
        (Some(generation), Some(app)) => Some(format!("{generation} {app}")),
        (Some(generation), None) => Some(generation.to_owned()),
        (None, app) => app,
    };
    Identity {
        vendor,
        product_name,
        firmware_version: app_version,
        hostname,
        device_type,
        ..Identity::default()
    }
}
