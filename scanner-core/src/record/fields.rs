//! The record's vocabulary: the small types every layer shares (protocols, transports,
//! statuses, vendor ids, device roles, lossless device text, the identity a probe learned).
//!
//! This module depends on nothing else in the crate, so codecs, the session and the
//! record can all use it without forming a cycle. [`Protocol`] is generated from the
//! protocol registry (`crate::protocols::registry!`): one variant per registered protocol,
//! in the registry's order, which is also the default probe order.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A numeric vendor id and the registry that assigns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VendorId {
    /// The id space: `odva` (CIP vendor ids), `iana-pen` (IANA private enterprise
    /// numbers), `bacnet` (ASHRAE BACnet vendor ids) `hart` (HART manufacturer ids) or
    /// `profinet` (PI vendor ids).
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
    /// HART manufacturer identification codes, assigned by the FieldComm Group (HART
    /// command 0).
    Hart,
    /// PROFINET vendor ids (VendorID), assigned by PROFIBUS & PROFINET International.
    Profinet,
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
    /// Building automation controller (BACnet controllers, Niagara JACEs).
    BuildingController,
    /// Any other role a protocol names.
    Other,
    /// A process field instrument: a transmitter, positioner or analyser (a HART field
    /// device that is not an I/O system).
    FieldInstrument,
}

macro_rules! protocol_enum {
    ($( $(#[doc = $doc:tt])* $variant:ident => $module:ident($name:tt, $config:ident, $details:ident, default = $default:literal) ),* $(,)?) => {
        /// Protocols otscan speaks, in the registry's order (the default probe order).
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
        )]
        pub enum Protocol {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $name)]
                $variant,
            )*
        }

        impl Protocol {
            /// Every registered protocol, in the registry's order.
            pub const ALL: &'static [Protocol] = &[$(Protocol::$variant),*];

            /// Lower-case name as used in records and on the command line (`--probes`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Protocol::$variant => $name,)*
                }
            }

            /// Whether the protocol is on the default probe list ([`Protocol::DEFAULT`]):
            /// the registry entry's `default = ...` flag.
            pub const fn on_by_default(self) -> bool {
                match self {
                    $(Protocol::$variant => $default,)*
                }
            }
        }
    };
}
crate::protocols::registry!(protocol_enum);

/// How many protocols lead the registry with `default = true`.
const DEFAULT_COUNT: usize = {
    let mut n = 0;
    while n < Protocol::ALL.len() && Protocol::ALL[n].on_by_default() {
        n += 1;
    }
    // Every protocol after the first off-default one is off by default too, so the default
    // list is a prefix of the registry and keeps its order.
    let mut i = n;
    while i < Protocol::ALL.len() {
        assert!(
            !Protocol::ALL[i].on_by_default(),
            "registry: a default = true entry after a default = false one"
        );
        i += 1;
    }
    n
};

impl Protocol {
    /// The default probe list: every registered protocol whose registry entry says
    /// `default = true`, in the registry's order. The others (the banner probes `ssh`,
    /// `ftp`, `telnet`) run only when named in `--probes` or with `--probes all`.
    pub const DEFAULT: &'static [Protocol] = Protocol::ALL.split_at(DEFAULT_COUNT).0;

    /// The protocols off the default list, in the registry's order.
    pub const OFF_BY_DEFAULT: &'static [Protocol] = Protocol::ALL.split_at(DEFAULT_COUNT).1;

    /// The protocol named `name` (case-insensitive, surrounding blanks ignored), as
    /// [`name`](Self::name) spells it; `None` for a name no protocol has.
    pub fn from_name(name: &str) -> Option<Protocol> {
        let name = name.trim();
        Protocol::ALL
            .iter()
            .copied()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// Position in [`Protocol::ALL`] (registry order), for per-protocol tables.
    pub const fn index(self) -> usize {
        self as usize
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
    /// Layer 2, no IP (PROFINET DCP in `otscan discover --profinet`; `port` is 0).
    Ethernet,
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
    /// otscan's own per-device request cap (`max_requests_per_device`, 64 by default) ended
    /// the probe before the device proved or refused the protocol.
    BudgetExhausted,
    /// Any other local or network error.
    UnknownError,
}

impl Status {
    /// Every status, in declaration order.
    pub const ALL: [Status; 10] = [
        Status::Success,
        Status::ApplicationError,
        Status::ProtocolError,
        Status::ConnectionRefused,
        Status::ConnectionTimeout,
        Status::ConnectionClosed,
        Status::IoTimeout,
        Status::Stopped,
        Status::BudgetExhausted,
        Status::UnknownError,
    ];

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
            Status::BudgetExhausted => "budget-exhausted",
            Status::UnknownError => "unknown-error",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Bytes from a device shown as text without losing anything.
///
/// Devices declare text as UTF-8 or ASCII and send Latin-1 or Windows-1252 (a
/// controller named "Café" sends `43 61 66 E9`). `text` is the UTF-8 reading when the
/// bytes are valid UTF-8; otherwise it is their Windows-1252 reading (a superset of
/// ISO 8859-1's printable range, decoded by `encoding_rs`: every byte maps to a
/// character, so nothing is replaced), `encoding` names that reading and `hex` keeps
/// the bytes exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeviceText {
    /// The text: UTF-8 as sent, or the reading `encoding` names.
    pub text: String,
    /// The raw bytes in lower-case hex, present only when they were not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// How `text` was decoded when the bytes were not valid UTF-8 (`windows-1252`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

impl DeviceText {
    /// Reads device bytes as text: UTF-8 when they are, else Windows-1252, keeping the
    /// raw bytes (see [`DeviceText`]).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(s) => DeviceText {
                text: s.to_owned(),
                hex: None,
                encoding: None,
            },
            Err(_) => {
                let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
                DeviceText {
                    text: text.into_owned(),
                    hex: Some(hex(bytes)),
                    encoding: Some(encoding_rs::WINDOWS_1252.name().to_ascii_lowercase()),
                }
            }
        }
    }

    /// Text kept as sent but undecodable (a character set otscan does not read): the
    /// lossy UTF-8 reading, with the exact bytes in `hex`.
    pub fn undecoded(bytes: &[u8]) -> Self {
        DeviceText {
            text: String::from_utf8_lossy(bytes).into_owned(),
            hex: Some(hex(bytes)),
            encoding: None,
        }
    }

    /// The text trimmed of padding (NULs and whitespace), for identity fields; `None`
    /// when nothing is left or what is left is a placeholder ([`is_placeholder`]).
    pub fn trimmed(&self) -> Option<String> {
        let t = self
            .text
            .trim_matches(|c: char| c == '\0' || c.is_whitespace());
        (!t.is_empty() && !is_placeholder(t)).then(|| t.to_owned())
    }
}

/// Values vendors put where they have none: never an identity (vendor, model, firmware,
/// serial, host name), though the details keep them as sent.
///
/// Case-insensitive, after trimming padding. The list is what real devices and firmware
/// images are seen sending in place of a value: SNMP agents' "unknown" / "Not
/// available" / "N/A" sysName and entPhysical columns, PC BIOS strings on industrial
/// PCs and HMIs ("To Be Filled By O.E.M.", "Default string", "System Serial Number"),
/// placeholder dashes and question marks, and serial numbers of all zeros or all 0xFF
/// (as bytes, or as the hex digits a protocol prints them with).
pub fn is_placeholder(value: &str) -> bool {
    const WORDS: [&str; 22] = [
        "unknown",
        "unkown",
        "none",
        "null",
        "nil",
        "n/a",
        "na",
        "not available",
        "not applicable",
        "not specified",
        "not set",
        "unspecified",
        "undefined",
        "default",
        "default string",
        "to be filled by o.e.m.",
        "to be filled by oem",
        "system serial number",
        "system product name",
        "system manufacturer",
        "serial number",
        "empty",
    ];
    let v = value.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    if v.is_empty() || WORDS.iter().any(|w| v.eq_ignore_ascii_case(w)) {
        return true;
    }
    // One character repeated: "-", "--", "?", "***", "0000000", "FFFFFFFF", all 0xFF
    // bytes read as "ÿÿÿÿ", or U+FFFD from bytes that were not text.
    let mut chars = v.chars();
    let first = chars.next().unwrap_or(' ');
    let repeated = chars.all(|c| c.eq_ignore_ascii_case(&first));
    repeated
        && matches!(
            first.to_ascii_lowercase(),
            '-' | '?' | '*' | '.' | '_' | '0' | 'f' | 'ÿ' | '\u{FFFD}'
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_utf8_reads_as_windows_1252_and_keeps_its_bytes() {
        let cafe = DeviceText::from_bytes(b"Caf\xE9");
        assert_eq!(cafe.text, "Café");
        assert_eq!(cafe.hex.as_deref(), Some("436166e9"));
        assert_eq!(cafe.encoding.as_deref(), Some("windows-1252"));
        // Windows-1252's own characters (0x80-0x9F) and undefined bytes map, never U+FFFD.
        let odd = DeviceText::from_bytes(b"\x80 \x81 \x9F");
        assert_eq!(odd.text, "€ \u{81} Ÿ");
        let utf8 = DeviceText::from_bytes("Café".as_bytes());
        assert_eq!(
            (utf8.text.as_str(), utf8.hex, utf8.encoding),
            ("Café", None, None)
        );
        assert_eq!(
            DeviceText::from_bytes(b"PLC-1\0\0  ").trimmed().as_deref(),
            Some("PLC-1")
        );
    }

    #[test]
    fn placeholders_are_no_identity() {
        for p in [
            "",
            "   ",
            "\0\0",
            "unknown",
            "UNKNOWN",
            " Unknown ",
            "n/a",
            "N/A",
            "-",
            "--",
            "?",
            "none",
            "Not available",
            "To Be Filled By O.E.M.",
            "Default string",
            "00000000",
            "0",
            "FFFFFFFF",
            "ffff",
            "ÿÿÿÿ",
            "\u{FFFD}\u{FFFD}",
            "***",
        ] {
            assert!(is_placeholder(p), "{p:?}");
            assert_eq!(
                DeviceText::from_bytes(p.as_bytes()).trimmed(),
                None,
                "{p:?}"
            );
        }
        for real in [
            "Siemens",
            "CPU 315-2 PN/DP",
            "V3.2.8",
            "0A1B",
            "006C061A",
            "F1",
            "10",
            "N/A-2",
        ] {
            assert!(!is_placeholder(real), "{real:?}");
        }
        assert_eq!(DeviceText::from_bytes(&[0xFF; 8]).trimmed(), None);
    }
}
