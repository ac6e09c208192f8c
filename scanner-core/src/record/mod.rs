//! The asset record: one JSON object per device, merging every protocol that answered.
//!
//! Field names are stable and versioned by [`SCHEMA_VERSION`]; the JSON Schema in
//! `scanner-core/schema/asset-record.schema.json` is generated from these types
//! (see [`json_schema`]) and a test fails when the two drift.

use std::collections::BTreeMap;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod derive;
pub mod fields;
pub mod recog;

pub use fields::{
    hex, millis, DeviceText, DeviceType, Identity, Protocol, Status, Transport, VendorId,
    VendorIdSpace,
};

/// Version of the record layout. Bumped on any incompatible change.
pub const SCHEMA_VERSION: &str = "otscan.asset/1";

/// One identified (or, with `emit_all`, merely scanned) device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AssetRecord {
    /// Record layout version, [`SCHEMA_VERSION`].
    pub schema: String,
    /// Identifier shared by every record of one scan run.
    pub scan_id: String,
    /// When the device's last probe finished (RFC 3339, UTC).
    pub observed_at: jiff::Timestamp,
    /// The scanner that produced the record.
    pub scanner: ScannerInfo,
    /// The device's address.
    pub ip: IpAddr,
    /// The host name the user gave for this address, when the target was a name (resolved once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// True when at least one probe got an answer at the protocol level (success or application error).
    pub responsive: bool,
    /// Vendor (manufacturer) name, best value across protocols.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Numeric vendor id with the registry it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<VendorId>,
    /// Product name as the device reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// Product code / catalogue number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    /// Model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Firmware / revision string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    /// Host name the device reports for itself (e.g. SNMP sysName).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// MAC address, lower-case colon form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Role of the device, when a protocol says it soundly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<DeviceType>,
    /// CPE names of the device's hardware, operating system and services, from Recog
    /// fingerprints that matched its banners and SNMP system group (`hw.cpe23`,
    /// `os.cpe23`, `service.cpe23`; Recog writes them in CPE 2.2 URI form,
    /// `cpe:/a:openbsd:openssh:7.4p1`), deduplicated, in match order (per match: hardware, OS, service); a CPE whose version
    /// the text did not give ends in `-`. See [`recog::apply`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpe: Vec<String>,
    /// Which protocol gave each identity field above (field name -> protocol).
    pub sources: BTreeMap<String, Protocol>,
    /// Stable identity of the device across scans, from the strongest identity it gave:
    /// `mac:...`, `serial:<vendor>:<serial>`, `opcua:<application uri>`,
    /// `bacnet:<vendor id>:<device instance>`, `fox:<host id>`, `snmp-engine:<hex>`, else
    /// `ip:<address>` (see [`derive::asset_id`]; `derived.asset_id` names the basis).
    /// Absent only in records written before otscan derived it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<String>,
    /// Fields otscan derived rather than copied from one protocol's answer, with how:
    /// `asset_id` (its basis), `vendor` (the spelling it was canonicalised from),
    /// `device_type` (the rule that inferred it), and `vendor`, `model`,
    /// `firmware_version` or `device_type` filled from a Recog fingerprint
    /// (`recog ssh_banners.xml: "OpenSSH on MikroTik"`). See [`derive::finish`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub derived: BTreeMap<String, String>,
    /// Every Recog fingerprint that matched a text of the device's services (SSH
    /// identification, FTP greeting, telnet banner, SNMP sysDescr and sysObjectID), in
    /// service order: database, description, the probe and details field the text came
    /// from, and the parameters. See [`recog::apply`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fingerprints: Vec<recog::RecogFingerprint>,
    /// One entry per probe run against the device, in the order they ran.
    pub services: Vec<ServiceObservation>,
    /// Site inventory attributes joined from an enrichment file (`--enrich`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrichment: Option<crate::enrich::Enrichment>,
}

/// Name and version of the scanner, carried in every record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScannerInfo {
    /// Always "otscan".
    pub name: String,
    /// Crate version of scanner-core.
    pub version: String,
}

impl Default for ScannerInfo {
    fn default() -> Self {
        ScannerInfo {
            name: "otscan".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

macro_rules! service_details {
    ($( $(#[doc = $doc:tt])* $variant:ident => $module:ident($name:tt, $config:ident, $details:ident, default = $default:literal) ),* $(,)?) => {
        /// Decoded protocol fields of a service, keyed by protocol (one variant per
        /// registered protocol, each holding the type of that protocol's `details.rs`).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        pub enum ServiceDetails {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $name)]
                $variant(Box<crate::protocols::$module::details::$details>),
            )*
        }

        impl ServiceDetails {
            /// The protocol these fields belong to.
            pub fn protocol(&self) -> Protocol {
                match self {
                    $(ServiceDetails::$variant(_) => Protocol::$variant,)*
                }
            }
        }

        $(
            impl From<crate::protocols::$module::details::$details> for ServiceDetails {
                fn from(details: crate::protocols::$module::details::$details) -> Self {
                    ServiceDetails::$variant(Box::new(details))
                }
            }
        )*
    };
}
crate::protocols::registry!(service_details);

/// What one probe observed on one service of the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceObservation {
    /// Protocol probed.
    pub protocol: Protocol,
    /// Transport used.
    pub transport: Transport,
    /// Port probed.
    pub port: u16,
    /// Outcome.
    pub status: Status,
    /// Round-trip time of the first reply, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    /// When the probe finished.
    pub timestamp: jiff::Timestamp,
    /// Human-readable reason for a non-success status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Packets this probe put on the wire: connection attempts, requests and UDP
    /// retries, counted by the session the same way for every protocol.
    pub requests: u32,
    /// The protocol's decoded fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<ServiceDetails>,
    /// For a `protocol-error`: what the device sent that broke the protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<ReceivedBytes>,
}

impl ServiceObservation {
    /// True when the device answered in the protocol: success, an application error, or
    /// a protocol error after a reply whose header matched the request (`rtt_ms` is set
    /// only for those): the device speaks the protocol even if the rest broke it.
    pub fn answered(&self) -> bool {
        self.status.is_protocol_answer()
            || self.status == Status::ProtocolError && self.rtt_ms.is_some()
    }
}

/// What a device sent when its reply broke the protocol, kept so the record shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReceivedBytes {
    /// The first 512 bytes, lower-case hex.
    pub hex: String,
    /// How many bytes came back in all.
    pub len: usize,
    /// Milliseconds from the request to these bytes.
    pub rtt_ms: f64,
}

impl AssetRecord {
    /// An empty record for `ip`, to which probes' results are merged.
    pub fn new(scan_id: &str, ip: IpAddr, target_name: Option<String>) -> Self {
        AssetRecord {
            schema: SCHEMA_VERSION.to_owned(),
            scan_id: scan_id.to_owned(),
            observed_at: jiff::Timestamp::now(),
            scanner: ScannerInfo::default(),
            ip,
            target_name,
            responsive: false,
            vendor: None,
            vendor_id: None,
            product_name: None,
            product_code: None,
            model: None,
            serial_number: None,
            firmware_version: None,
            hostname: None,
            mac: None,
            device_type: None,
            cpe: Vec::new(),
            sources: BTreeMap::new(),
            asset_id: None,
            derived: BTreeMap::new(),
            fingerprints: Vec::new(),
            services: Vec::new(),
            enrichment: None,
        }
    }

    /// Adds one probe's observation and the identity it learned.
    ///
    /// A field already filled by an earlier probe keeps its value: probes run
    /// in the configured order, so the first protocol that names a field wins,
    /// and `sources` records which one it was. Placeholders
    /// ([`is_placeholder`](fields::is_placeholder)) never fill a field, so a later
    /// protocol's real value can.
    pub fn merge(&mut self, observation: ServiceObservation, identity: Identity) {
        let protocol = observation.protocol;
        self.responsive |= observation.answered();
        self.observed_at = observation.timestamp;
        self.services.push(observation);
        let sources = &mut self.sources;
        // A placeholder ("unknown", "-", all zeros, ...) is never an identity, whichever
        // protocol sent it; the service's details keep it as sent.
        let mut fill = |name: &str, slot: &mut Option<String>, value: Option<String>| {
            if slot.is_none() {
                if let Some(v) = value.filter(|v| !fields::is_placeholder(v)) {
                    *slot = Some(v);
                    sources.insert(name.to_owned(), protocol);
                }
            }
        };
        fill("vendor", &mut self.vendor, identity.vendor);
        fill(
            "product_name",
            &mut self.product_name,
            identity.product_name,
        );
        fill(
            "product_code",
            &mut self.product_code,
            identity.product_code,
        );
        fill("model", &mut self.model, identity.model);
        fill(
            "serial_number",
            &mut self.serial_number,
            identity.serial_number,
        );
        fill(
            "firmware_version",
            &mut self.firmware_version,
            identity.firmware_version,
        );
        fill("hostname", &mut self.hostname, identity.hostname);
        fill("mac", &mut self.mac, identity.mac);
        if self.vendor_id.is_none() && identity.vendor_id.is_some() {
            self.vendor_id = identity.vendor_id;
            self.sources.insert("vendor_id".to_owned(), protocol);
        }
        if self.device_type.is_none() && identity.device_type.is_some() {
            self.device_type = identity.device_type;
            self.sources.insert("device_type".to_owned(), protocol);
        }
    }
}

/// The JSON Schema of [`AssetRecord`], as checked in under `scanner-core/schema/`.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(AssetRecord);
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}
