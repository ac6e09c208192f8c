//! The asset record: one JSON object per device, merging every protocol that answered.
//!
//! Field names are stable and versioned by [`SCHEMA_VERSION`]; the JSON Schema in
//! `scanner-core/schema/asset-record.schema.json` is generated from these types
//! (see [`json_schema`]) and a test fails when the two drift.

use std::collections::BTreeMap;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// Which protocol gave each identity field above (field name -> protocol).
    pub sources: BTreeMap<String, Protocol>,
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

/// A numeric vendor id and the registry that assigns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VendorId {
    /// The id space: `odva` (CIP vendor ids), `iana-pen` (IANA private enterprise
    /// numbers) or `bacnet` (ASHRAE BACnet vendor ids).
    pub space: VendorIdSpace,
    /// The number in that space.
    pub id: u32,
}

/// Registries vendor ids come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VendorIdSpace {
    /// ODVA / CIP vendor ids (EtherNet/IP).
    Odva,
    /// IANA Private Enterprise Numbers (SNMP sysObjectID, engine ids).
    IanaPen,
    /// BACnet vendor identifiers, assigned by ASHRAE (Device object vendor-identifier, I-Am).
    Bacnet,
}

/// Device roles the record can state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceType {
    /// Programmable logic controller.
    Plc,
    /// Communications adapter / gateway module.
    CommAdapter,
    /// Human-machine interface.
    Hmi,
    /// Motor drive (AC/DC/servo).
    Drive,
    /// Discrete or analog I/O block.
    Io,
    /// Uninterruptible power supply.
    Ups,
    /// Power distribution unit.
    Pdu,
    /// Network switch.
    Switch,
    /// Router.
    Router,
    /// Protocol or serial gateway.
    Gateway,
    /// Any other role a protocol names.
    Other,
}

/// Protocols otscan speaks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Modbus/TCP (port 502).
    Modbus,
    /// EtherNet/IP encapsulation (port 44818).
    Enip,
    /// SNMP (UDP 161).
    Snmp,
    /// BACnet/IP (UDP 47808).
    Bacnet,
    /// Siemens S7comm over ISO-on-TCP (port 102).
    S7,
}

impl Protocol {
    /// Lower-case name as used in records and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Protocol::Modbus => "modbus",
            Protocol::Enip => "enip",
            Protocol::Snmp => "snmp",
            Protocol::Bacnet => "bacnet",
            Protocol::S7 => "s7",
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Transport a service was reached over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// Outcome of one probe, named as zgrab2 names them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The device answered with identification data.
    Success,
    /// The device answered in the protocol but with an error (e.g. a Modbus exception).
    ApplicationError,
    /// Bytes came back that are not a valid reply of the protocol.
    ProtocolError,
    /// The TCP connection was refused (RST).
    ConnectionRefused,
    /// The TCP connection attempt timed out.
    ConnectionTimeout,
    /// The peer closed the connection before a full reply.
    ConnectionClosed,
    /// Connected (or sent, for UDP) but no reply within the timeout.
    IoTimeout,
    /// The probe was not run or not finished because the scan was stopped (deadline or cancel).
    Stopped,
    /// Any other local or network error.
    UnknownError,
}

impl Status {
    /// True when the device answered in the protocol (the device speaks it).
    pub const fn is_protocol_answer(self) -> bool {
        matches!(self, Status::Success | Status::ApplicationError)
    }

    /// The kebab-case name used in records.
    pub const fn name(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::ApplicationError => "application-error",
            Status::ProtocolError => "protocol-error",
            Status::ConnectionRefused => "connection-refused",
            Status::ConnectionTimeout => "connection-timeout",
            Status::ConnectionClosed => "connection-closed",
            Status::IoTimeout => "io-timeout",
            Status::Stopped => "stopped",
            Status::UnknownError => "unknown-error",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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
    /// Requests sent by this probe.
    pub requests: u32,
    /// The protocol's decoded fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<ServiceDetails>,
}

/// Decoded protocol fields of a service, keyed by protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceDetails {
    /// Modbus device identification.
    Modbus(crate::protocols::modbus::ModbusDetails),
    /// EtherNet/IP ListIdentity / ListServices.
    Enip(crate::protocols::enip::EnipDetails),
    /// SNMP system group, ENTITY-MIB, MAC and v3 engine.
    Snmp(Box<crate::protocols::snmp::SnmpDetails>),
    /// BACnet/IP Device object properties, I-Am fields and refusals.
    Bacnet(Box<crate::protocols::bacnet::BacnetDetails>),
    /// Siemens S7: accepted TSAP, setup and SZL identification, or the refusal.
    S7(Box<crate::protocols::s7::S7Details>),
}

/// Bytes from a device shown as text without losing anything.
///
/// `text` is the UTF-8 reading (invalid sequences replaced by U+FFFD); when the
/// bytes were not valid UTF-8, `hex` holds them exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeviceText {
    /// The text, lossy only where `hex` is present.
    pub text: String,
    /// The raw bytes in lower-case hex, present only when they were not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
}

impl DeviceText {
    /// Reads device bytes as text, keeping the raw bytes when they are not UTF-8.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(s) => DeviceText {
                text: s.to_owned(),
                hex: None,
            },
            Err(_) => DeviceText {
                text: String::from_utf8_lossy(bytes).into_owned(),
                hex: Some(hex(bytes)),
            },
        }
    }

    /// The text trimmed of padding (NULs and whitespace), for identity fields.
    pub fn trimmed(&self) -> Option<String> {
        let t = self
            .text
            .trim_matches(|c: char| c == '\0' || c.is_whitespace());
        (!t.is_empty()).then(|| t.to_owned())
    }
}

/// A duration in milliseconds, rounded to the microsecond (finer is noise on a network).
pub fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Identity fields a probe learned, before merging into the record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identity {
    /// Vendor name.
    pub vendor: Option<String>,
    /// Vendor id.
    pub vendor_id: Option<VendorId>,
    /// Product name.
    pub product_name: Option<String>,
    /// Product code.
    pub product_code: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Firmware version.
    pub firmware_version: Option<String>,
    /// Self-reported host name.
    pub hostname: Option<String>,
    /// MAC address.
    pub mac: Option<String>,
    /// Device role.
    pub device_type: Option<DeviceType>,
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
            sources: BTreeMap::new(),
            services: Vec::new(),
            enrichment: None,
        }
    }

    /// Adds one probe's observation and the identity it learned.
    ///
    /// A field already filled by an earlier probe keeps its value: probes run
    /// in the configured order, so the first protocol that names a field wins,
    /// and `sources` records which one it was.
    pub fn merge(&mut self, observation: ServiceObservation, identity: Identity) {
        let protocol = observation.protocol;
        self.responsive |= observation.status.is_protocol_answer();
        self.observed_at = observation.timestamp;
        self.services.push(observation);
        let sources = &mut self.sources;
        let mut fill = |name: &str, slot: &mut Option<String>, value: Option<String>| {
            if slot.is_none() {
                if let Some(v) = value {
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
