//! Recog matches in the record: which texts of a service's details are matched against
//! which Recog database ([`recog_texts`]), and how a match's parameters fill the record's
//! identity fields, `cpe` and `fingerprints` ([`apply`]). Called by [`super::derive::finish`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AssetRecord, DeviceType, Protocol, ServiceDetails};
use crate::recog::{match_text, Database};
use crate::vendors::canonical_vendor;

/// One Recog fingerprint that matched a text the device sent: `fingerprints[]` in the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RecogFingerprint {
    /// The Recog database (its file name without `.xml`), e.g. `ssh_banners`.
    pub database: String,
    /// The fingerprint's Recog description, e.g. `OpenSSH running on Debian 9.x (stretch)`.
    pub description: String,
    /// The probe whose answer held the text.
    pub protocol: Protocol,
    /// Where the text is in that service's details, e.g. `ssh.identification`.
    pub field: String,
    /// Recog's parameters as matched: `hw.vendor`, `hw.product`, `hw.device`, `os.*`,
    /// `service.*`, `*.cpe23`, ..., captures filled in and `{name}` references resolved.
    pub params: BTreeMap<String, String>,
}

/// The texts of one service's details that Recog matches: (database, field in the
/// details, text as Recog expects it). SSH: the identification string after
/// `SSH-<protoversion>-` (Recog's examples are `OpenSSH_7.4p1 Debian-10+deb9u1`); FTP: the
/// greeting without its reply codes; telnet: the banner trimmed at both ends (Recog's
/// telnet examples are), its line ends CR LF as sent; SNMP: sysDescr and sysObjectID (dotted, no leading dot).
///
/// The web probes (`http`, and `https` with the same page fields):
///
/// | details field | database |
/// |---|---|
/// | `http.server`, `https.server` | [`Database::HttpServers`] |
/// | `http.title`, `https.title` | [`Database::HtmlTitle`] |
/// | `http.www_authenticate`, `https.www_authenticate` (each value) | [`Database::HttpWwwauth`] |
/// | `https.tls.certificates[0].subject` (the server's own certificate) | [`Database::X509Subjects`] |
/// | `https.tls.certificates[0].issuer` | [`Database::X509Issuers`] |
///
/// Certificate names are RFC 4514 strings, most specific part first
/// (`CN=...,OU=...,O=...,C=US`), as Recog's x509 examples are written.
pub fn recog_texts(details: &ServiceDetails) -> Vec<(Database, &'static str, String)> {
    let mut texts = Vec::new();
    match details {
        ServiceDetails::Snmp(snmp) => {
            if let Some(system) = &snmp.system {
                if let Some(descr) = &system.descr {
                    texts.push((
                        Database::SnmpSysdescr,
                        "snmp.system.descr",
                        descr.text.clone(),
                    ));
                }
                if let Some(oid) = &system.object_id {
                    texts.push((
                        Database::SnmpSysobjid,
                        "snmp.system.object_id",
                        oid.trim_start_matches('.').to_owned(),
                    ));
                }
            }
        }
        ServiceDetails::Ssh(ssh) => {
            // `SSH-2.0-OpenSSH_9.2p1 Debian-2`: what follows the second `-`.
            if let Some(id) = &ssh.identification {
                let rest = id.text.strip_prefix("SSH-").and_then(|r| r.split_once('-'));
                if let Some((_, software)) = rest {
                    texts.push((
                        Database::SshBanners,
                        "ssh.identification",
                        software.to_owned(),
                    ));
                }
            }
        }
        ServiceDetails::Ftp(ftp) => {
            if let Some(banner) = &ftp.banner {
                texts.push((Database::FtpBanners, "ftp.banner", banner.text.clone()));
            }
        }
        ServiceDetails::Telnet(telnet) => {
            // The probe keeps line ends as line feeds; on the wire (RFC 854's NVT) and in
            // Recog's examples they are CR LF, which some fingerprints spell out.
            if let Some(banner) = &telnet.banner {
                let trimmed = banner.text.trim();
                if !trimmed.is_empty() {
                    let crlf = trimmed.replace("\r\n", "\n").replace('\n', "\r\n");
                    texts.push((Database::TelnetBanners, "telnet.banner", crlf));
                }
            }
        }
        ServiceDetails::Http(http) => page_texts(&http.page, HTTP_FIELDS, &mut texts),
        ServiceDetails::Https(https) => {
            page_texts(&https.page, HTTPS_FIELDS, &mut texts);
            if let Some(leaf) = https.tls.as_ref().and_then(|t| t.certificates.first()) {
                texts.push((
                    Database::X509Subjects,
                    "https.tls.certificates[0].subject",
                    leaf.subject.clone(),
                ));
                texts.push((
                    Database::X509Issuers,
                    "https.tls.certificates[0].issuer",
                    leaf.issuer.clone(),
                ));
            }
        }
        _ => {}
    }
    texts
}

/// Field names of a page's Recog texts: server, title, WWW-Authenticate.
type PageFields = [&'static str; 3];
const HTTP_FIELDS: PageFields = ["http.server", "http.title", "http.www_authenticate"];
const HTTPS_FIELDS: PageFields = ["https.server", "https.title", "https.www_authenticate"];

/// The Server header, the page title and each WWW-Authenticate value of a web page.
fn page_texts(
    page: &crate::protocols::http::details::HttpPage,
    [server, title, auth]: PageFields,
    texts: &mut Vec<(Database, &'static str, String)>,
) {
    if let Some(v) = &page.server {
        texts.push((Database::HttpServers, server, v.text.clone()));
    }
    if let Some(v) = &page.title {
        texts.push((Database::HtmlTitle, title, v.text.clone()));
    }
    for v in &page.www_authenticate {
        texts.push((Database::HttpWwwauth, auth, v.text.clone()));
    }
}

/// Recog's device vocabulary (`hw.device`, else `os.device`) -> otscan's device type.
/// Values with no otscan type (Firewall, WAP, Printer, IP Camera, NAS, Network, ...) map
/// to none and stay in the match's `params`.
const DEVICE_TYPES: [(&str, DeviceType); 14] = [
    ("PLC", DeviceType::Plc),
    ("HMI", DeviceType::Hmi),
    ("UPS", DeviceType::Ups),
    ("PDU", DeviceType::Pdu),
    ("Power Distribution Unit", DeviceType::Pdu),
    ("Switch", DeviceType::Switch),
    ("Router", DeviceType::Router),
    ("Gateway", DeviceType::Gateway),
    ("Serial Device Server", DeviceType::Gateway),
    ("Device Server", DeviceType::Gateway),
    ("Terminal Server", DeviceType::Gateway),
    ("Building Automation", DeviceType::BuildingController),
    (
        "Building Automation Controller",
        DeviceType::BuildingController,
    ),
    ("Drive", DeviceType::Drive),
];

/// otscan's device type for a Recog device name (case-insensitive), if it has one.
pub fn device_type(recog_device: &str) -> Option<DeviceType> {
    DEVICE_TYPES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(recog_device.trim()))
        .map(|&(_, t)| t)
}

/// A non-empty parameter.
/// A match's parameters: name -> value.
type Params = BTreeMap<String, String>;

/// Whether a match can speak for a device whose record says `vendor`: it names no device
/// vendor, or the same one once both are canonical ([`canonical_vendor`]).
fn agrees(vendor_now: Option<&str>, m: &Params) -> bool {
    match (vendor_now, vendor(m)) {
        (Some(have), Some(said)) => canonical_vendor(have) == canonical_vendor(said),
        _ => true,
    }
}

fn param<'a>(m: &'a Params, name: &str) -> Option<&'a str> {
    m.get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty() && !v.contains('{'))
}

/// The device vendor a match names: `hw.vendor`; else `os.vendor` when the operating
/// system is a device's own (the match names its device class, `os.device`, other than
/// `General`, or the
/// service's vendor is the OS vendor: Cisco's SSH on Cisco IOS, H3C's on Comware). A
/// general-purpose OS under another vendor's service (OpenSSH on Debian) names no device
/// vendor.
fn vendor(m: &Params) -> Option<&str> {
    param(m, "hw.vendor").or_else(|| {
        let os = param(m, "os.vendor")?;
        // Recog's `General` device class is a general-purpose computer (Windows, HP-UX).
        let own = param(m, "os.device").is_some_and(|d| !d.eq_ignore_ascii_case("General"))
            || param(m, "service.vendor").is_some_and(|s| s.eq_ignore_ascii_case(os));
        own.then_some(os)
    })
}

/// The firmware version a match names: `os.version` when the OS is the device vendor's
/// own: [`vendor`] is the OS vendor (RouterOS on a MikroTik, VRP on a Huawei router), or
/// the match names a hardware vendor and no OS vendor (a Moxa NPort's "Firmware version",
/// which Recog files as `os.version`). `hw.version` is the hardware revision and
/// `service.version` a server program's version, so neither is firmware; both stay in
/// `fingerprints[].params`.
fn firmware(m: &Params) -> Option<&str> {
    let own = match param(m, "os.vendor") {
        Some(os) => vendor(m).is_some_and(|v| v.eq_ignore_ascii_case(os)),
        None => param(m, "hw.vendor").is_some(),
    };
    own.then(|| param(m, "os.version")).flatten()
}

/// Matches every Recog text of the record's services and writes the results: every match
/// in `fingerprints`, the CPEs in `cpe` (per match: hardware, OS, then service), and `vendor`, `model` (`hw.product`) and
/// `firmware_version` when no protocol filled them (first match, in service order, that
/// names the field). A filled field's `sources` entry is the protocol whose text matched
/// and its `derived` entry names the database and fingerprint. The device type is left to
/// [`apply_device_type`], which runs after otscan's own inference rules.
pub fn apply(record: &mut AssetRecord) {
    let mut found = Vec::new();
    for service in &record.services {
        let Some(details) = &service.details else {
            continue;
        };
        for (db, field, text) in recog_texts(details) {
            // A match without parameters is one of Recog's "assert nothing" fingerprints
            // (a bare `login:` prompt): it says nothing of the device.
            if let Some(m) = match_text(db, &text).filter(|m| !m.params.is_empty()) {
                found.push((service.protocol, field, m));
            }
        }
    }
    for (protocol, _, m) in &found {
        // A match naming another maker than the one the record already has (a protocol's,
        // or an earlier match's) fills nothing and adds no CPE: a Schneider PLC's web page
        // that Recog takes for another vendor's must not give the PLC that vendor's model.
        if !agrees(record.vendor.as_deref(), &m.params) {
            continue;
        }
        let how = format!("recog {}.xml: {:?}", m.database.name(), m.description);
        let fields: [(&str, Option<&str>); 3] = [
            ("vendor", vendor(&m.params)),
            ("model", param(&m.params, "hw.product")),
            ("firmware_version", firmware(&m.params)),
        ];
        for (name, value) in fields {
            let Some(value) = value else { continue };
            let slot = match name {
                "vendor" => &mut record.vendor,
                "model" => &mut record.model,
                _ => &mut record.firmware_version,
            };
            if slot.is_none() {
                *slot = Some(value.to_owned());
                record.sources.insert(name.to_owned(), *protocol);
                record.derived.insert(name.to_owned(), how.clone());
            }
        }
        for (name, value) in &m.params {
            if name.ends_with("cpe23") && !value.contains('{') && !record.cpe.contains(value) {
                record.cpe.push(value.clone());
            }
        }
    }
    record.fingerprints = found
        .into_iter()
        .map(|(protocol, field, m)| RecogFingerprint {
            database: m.database.name().to_owned(),
            description: m.description,
            protocol,
            field: field.to_owned(),
            params: m.params,
        })
        .collect();
}

/// Fills `device_type`, when still empty, from the first match in `fingerprints` whose
/// `hw.device` (else `os.device`) has an otscan type; `sources` and `derived` as in
/// [`apply`].
pub fn apply_device_type(record: &mut AssetRecord) {
    if record.device_type.is_some() {
        return;
    }
    let hit = record
        .fingerprints
        .iter()
        .filter(|f| agrees(record.vendor.as_deref(), &f.params))
        .find_map(|f| {
            let device = f
                .params
                .get("hw.device")
                .and_then(|d| device_type(d))
                .or_else(|| f.params.get("os.device").and_then(|d| device_type(d)))?;
            Some((device, f))
        });
    if let Some((device, f)) = hit {
        record.device_type = Some(device);
        record.sources.insert("device_type".to_owned(), f.protocol);
        record.derived.insert(
            "device_type".to_owned(),
            format!("recog {}.xml: {:?}", f.database, f.description),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(services: serde_json::Value) -> AssetRecord {
        let mut r = AssetRecord::new("t", "10.20.0.9".parse().unwrap(), None);
        r.services = serde_json::from_value(services).unwrap();
        r
    }

    fn service(protocol: &str, details: serde_json::Value) -> serde_json::Value {
        json!({
            "protocol": protocol, "transport": "tcp", "port": 22, "status": "success",
            "timestamp": "2026-12-01T00:00:00Z", "requests": 1, "details": { protocol: details }
        })
    }

    #[test]
    fn a_mikrotik_ssh_banner_names_vendor_firmware_type_and_cpes() {
        let mut r = record(json!([service(
            "ssh",
            json!({ "identification": { "text": "SSH-2.0-OpenSSH_2.3.0_Mikrotik_v2.9" } })
        )]));
        apply(&mut r);
        apply_device_type(&mut r);
        assert_eq!(r.vendor.as_deref(), Some("MikroTik"));
        assert_eq!(r.firmware_version.as_deref(), Some("2.9"));
        assert_eq!(r.device_type, Some(DeviceType::Router));
        assert_eq!(r.sources["vendor"], Protocol::Ssh);
        assert_eq!(
            r.derived["vendor"],
            "recog ssh_banners.xml: \"OpenSSH on MikroTik\""
        );
        assert_eq!(
            r.cpe,
            [
                "cpe:/o:mikrotik:routeros:2.9",
                "cpe:/a:openbsd:openssh:2.3.0"
            ]
        );
        assert_eq!(r.fingerprints.len(), 1);
        assert_eq!(r.fingerprints[0].field, "ssh.identification");
        assert_eq!(r.fingerprints[0].params["os.product"], "RouterOS");
    }

    #[test]
    fn a_general_purpose_os_names_no_device_and_reported_values_win() {
        let mut r = record(json!([service(
            "ssh",
            json!({ "identification": { "text": "SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7" } })
        )]));
        r.firmware_version = Some("V4.2".into());
        r.sources.insert("firmware_version".into(), Protocol::S7);
        apply(&mut r);
        apply_device_type(&mut r);
        // OpenSSH on Debian: no vendor, model, firmware or type, but the CPEs and the match.
        assert_eq!((r.vendor.as_deref(), r.model.as_deref()), (None, None));
        assert_eq!(r.firmware_version.as_deref(), Some("V4.2"));
        assert_eq!(r.sources["firmware_version"], Protocol::S7);
        assert_eq!(r.device_type, None);
        assert_eq!(
            r.cpe,
            [
                "cpe:/o:debian:debian_linux:9.0",
                "cpe:/a:openbsd:openssh:7.4p1"
            ]
        );
        // A Cisco SSH banner: Cisco's own stack on its own OS names the vendor.
        let mut cisco = record(json!([service(
            "ssh",
            json!({ "identification": { "text": "SSH-1.99-Cisco-1.25" } })
        )]));
        apply(&mut cisco);
        assert_eq!(cisco.vendor.as_deref(), Some("Cisco"));
        assert_eq!(cisco.cpe, ["cpe:/o:cisco:ios:-"]);
    }

    #[test]
    fn a_match_naming_another_maker_fills_nothing() {
        // A Moxa banner on a device a protocol said is Schneider Electric's: listed, but no
        // model, firmware, device type or CPE of Moxa's lands in the Schneider record.
        let banner = "Model name       : NPort 5610-8-DT\nMAC address      : 00:90:E8:12:34:56\nSerial No.       : 9522\nFirmware version : 2.2 Build 11090613\nSystem uptime    : 8 days\n\nPlease keyin your password:";
        let mut r = record(json!([service(
            "telnet",
            json!({ "banner": { "text": banner } })
        )]));
        r.vendor = Some("Schneider Electric".into());
        r.sources.insert("vendor".into(), Protocol::Modbus);
        apply(&mut r);
        apply_device_type(&mut r);
        assert_eq!(r.fingerprints.len(), 1, "{:?}", r.fingerprints);
        assert_eq!(r.vendor.as_deref(), Some("Schneider Electric"));
        assert_eq!(
            (r.model.as_deref(), r.firmware_version.as_deref()),
            (None, None)
        );
        assert_eq!(r.device_type, None);
        assert!(r.cpe.is_empty(), "{:?}", r.cpe);
        // The same maker under another spelling agrees.
        let mut same = record(json!([service(
            "telnet",
            json!({ "banner": { "text": banner } })
        )]));
        same.vendor = Some("Moxa Inc.".into());
        apply(&mut same);
        assert_eq!(same.firmware_version.as_deref(), Some("2.2"));
    }

    #[test]
    fn a_moxa_telnet_banner_names_a_gateway_and_a_bare_prompt_names_nothing() {
        // As otscan's telnet probe records it: lines joined by line feeds, NULs stripped.
        let banner = "Model name       : NPort 5610-8-DT\nMAC address      : 00:90:E8:12:34:56\nSerial No.       : 9522\nFirmware version : 2.2 Build 11090613\nSystem uptime    : 8 days\n\nPlease keyin your password:";
        let mut r = record(json!([service(
            "telnet",
            json!({ "banner": { "text": banner } })
        )]));
        apply(&mut r);
        apply_device_type(&mut r);
        assert_eq!(r.vendor.as_deref(), Some("Moxa"));
        assert_eq!(r.model.as_deref(), Some("5610-8-DT"));
        // Recog files the NPort's firmware as os.version, with no OS vendor.
        assert_eq!(r.firmware_version.as_deref(), Some("2.2"));
        assert_eq!(r.device_type, Some(DeviceType::Gateway));
        assert_eq!(r.sources["device_type"], Protocol::Telnet);
        assert_eq!(r.fingerprints[0].params["os.version"], "2.2");
        let mut bare = record(json!([service(
            "telnet",
            json!({ "banner": { "text": "\r\nlogin: " } })
        )]));
        apply(&mut bare);
        assert!(bare.fingerprints.is_empty() && bare.vendor.is_none());
    }

    #[test]
    fn device_vocabulary_maps_case_insensitively_and_unknown_classes_map_to_none() {
        assert_eq!(device_type("router"), Some(DeviceType::Router));
        assert_eq!(
            device_type("Serial Device Server"),
            Some(DeviceType::Gateway)
        );
        assert_eq!(device_type("Firewall"), None);
        assert_eq!(device_type("IP Camera"), None);
    }
}
