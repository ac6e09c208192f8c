//! The OPC UA fields of a service observation: `services[].details.opcua` in the record
//! (see docs/record.md), folded from the Acknowledge, OpenSecureChannel, GetEndpoints and
//! FindServers replies (or the Error that refused them), and the record identity they
//! give.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::certificate::{self, Certificate};
use super::codec::{
    application_type_name, security_mode_name, status_name, user_token_type_name, Acknowledge,
    ApplicationDescription, EndpointDescription, ErrorMessage, OpenSecureChannelResponse,
};
use crate::record::fields::{DeviceText, DeviceType, Identity};

/// Most endpoints kept in the record; more are counted in a warning.
pub const MAX_ENDPOINTS: usize = 32;
/// Most distinct certificates decoded.
pub const MAX_CERTIFICATES: usize = 8;
/// Most other servers (FindServers) kept.
pub const MAX_SERVERS: usize = 16;

/// OPC UA fields of a service observation in the record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OpcuaDetails {
    /// UA-TCP protocol version of the server (Acknowledge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<u32>,
    /// Largest chunk the server receives, bytes (Acknowledge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receive_buffer_size: Option<u32>,
    /// Largest chunk the server sends, bytes (Acknowledge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_buffer_size: Option<u32>,
    /// Largest message the server accepts, bytes, 0 for no limit (Acknowledge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_message_size: Option<u32>,
    /// Most chunks per message, 0 for no limit (Acknowledge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chunk_count: Option<u32>,
    /// A secure channel with SecurityPolicy None was opened (and closed again).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secure_channel_opened: bool,
    /// The server's own application, from the endpoints (else from FindServers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<Application>,
    /// Every endpoint GetEndpoints listed (at most [`MAX_ENDPOINTS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<Endpoint>,
    /// Some endpoint accepts anonymous users (a UserTokenPolicy of type Anonymous).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_allowed: Option<bool>,
    /// Some endpoint takes SecurityMode None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_none_offered: Option<bool>,
    /// The distinct server certificates of the endpoints, decoded; endpoints refer to them
    /// by index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<Certificate>,
    /// Other applications FindServers named (discovery servers, gateways' servers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<Application>,
    /// StatusCode of an Error message or abort chunk, or of a failed service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<u32>,
    /// Its symbolic name (e.g. `Bad_SecurityPolicyRejected`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_name: Option<String>,
    /// The reason text the server gave with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<DeviceText>,
    /// Which step the server refused: `hello`, `open`, `get-endpoints`, `find-servers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_step: Option<String>,
    /// Oddities noticed while decoding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// An OPC UA application (an ApplicationDescription).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Application {
    /// ApplicationUri: the application's globally unique id (`urn:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_uri: Option<DeviceText>,
    /// ProductUri: the product, as its vendor names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_uri: Option<DeviceText>,
    /// ApplicationName text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_name: Option<DeviceText>,
    /// ApplicationName locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_name_locale: Option<DeviceText>,
    /// ApplicationType: `Server`, `Client`, `ClientAndServer`, `DiscoveryServer`.
    pub application_type: String,
    /// GatewayServerUri, for a gateway's underlying server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_server_uri: Option<DeviceText>,
    /// DiscoveryUrls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discovery_urls: Vec<DeviceText>,
}

impl Application {
    fn from_description(d: &ApplicationDescription) -> Self {
        Application {
            application_uri: d.application_uri.clone(),
            product_uri: d.product_uri.clone(),
            application_name: d.application_name.text.clone(),
            application_name_locale: d.application_name.locale.clone(),
            application_type: application_type_name(d.application_type).to_owned(),
            gateway_server_uri: d.gateway_server_uri.clone(),
            discovery_urls: d.discovery_urls.iter().take(MAX_SERVERS).cloned().collect(),
        }
    }
}

/// One endpoint (an EndpointDescription without the repeated application).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Endpoint {
    /// EndpointUrl.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<DeviceText>,
    /// MessageSecurityMode: `None`, `Sign`, `SignAndEncrypt` (or `Invalid`).
    pub security_mode: String,
    /// SecurityPolicyUri (e.g. `http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_policy_uri: Option<DeviceText>,
    /// The user token types accepted: `Anonymous`, `UserName`, `Certificate`, `IssuedToken`.
    pub user_token_types: Vec<String>,
    /// SecurityLevel: the server's relative rating of this endpoint (higher is more secure).
    pub security_level: u8,
    /// TransportProfileUri.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_profile_uri: Option<DeviceText>,
    /// Index of the endpoint's server certificate in `certificates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<usize>,
}

impl OpcuaDetails {
    /// Records the Acknowledge.
    pub fn apply_acknowledge(&mut self, ack: &Acknowledge) {
        self.protocol_version = Some(ack.protocol_version);
        self.receive_buffer_size = Some(ack.receive_buffer_size);
        self.send_buffer_size = Some(ack.send_buffer_size);
        self.max_message_size = Some(ack.max_message_size);
        self.max_chunk_count = Some(ack.max_chunk_count);
    }

    /// Records the opened channel.
    pub fn apply_open(&mut self, open: &OpenSecureChannelResponse) {
        self.secure_channel_opened = true;
        if open.server_protocol_version != self.protocol_version.unwrap_or(0) {
            self.warnings.push(format!(
                "OpenSecureChannel names protocol version {}, the Acknowledge {}",
                open.server_protocol_version,
                self.protocol_version.unwrap_or(0)
            ));
        }
    }

    /// Records a refusal: an Error message, an abort chunk or a failed service's status,
    /// at `step`.
    pub fn apply_error(&mut self, step: &str, status: u32, reason: Option<DeviceText>) {
        self.error_status = Some(status);
        self.error_name = status_name(status).map(str::to_owned);
        self.error_reason = reason;
        self.error_step = Some(step.to_owned());
    }

    /// Records an Error message or abort chunk at `step`.
    pub fn apply_error_message(&mut self, step: &str, error: &ErrorMessage) {
        self.apply_error(step, error.status, error.reason.clone());
    }

    /// Records the GetEndpoints answer: the application, each endpoint, the certificates.
    pub fn apply_endpoints(&mut self, endpoints: &[EndpointDescription]) {
        if let Some(first) = endpoints.first() {
            self.application = Some(Application::from_description(&first.server));
        }
        if endpoints
            .iter()
            .any(|e| e.server.application_uri != endpoints[0].server.application_uri)
        {
            self.warnings
                .push("endpoints name more than one application URI".to_owned());
        }
        if endpoints.len() > MAX_ENDPOINTS {
            self.warnings.push(format!(
                "{} endpoints listed; the first {MAX_ENDPOINTS} kept",
                endpoints.len()
            ));
        }
        let mut ders: Vec<&[u8]> = Vec::new();
        for e in endpoints.iter().take(MAX_ENDPOINTS) {
            let certificate = e.server_certificate.as_deref().and_then(|der| {
                if let Some(i) = ders.iter().position(|d| *d == der) {
                    return Some(i);
                }
                if ders.len() >= MAX_CERTIFICATES {
                    return None;
                }
                match certificate::decode(der) {
                    Ok(cert) => {
                        ders.push(der);
                        self.certificates.push(cert);
                        Some(ders.len() - 1)
                    }
                    Err(err) => {
                        self.warnings.push(format!(
                            "server certificate of {} bytes not decoded: {err}",
                            der.len()
                        ));
                        None
                    }
                }
            });
            self.endpoints.push(Endpoint {
                endpoint_url: e.endpoint_url.clone(),
                security_mode: security_mode_name(e.security_mode).to_owned(),
                security_policy_uri: e.security_policy_uri.clone(),
                user_token_types: e
                    .user_identity_tokens
                    .iter()
                    .map(|t| user_token_type_name(t.token_type).to_owned())
                    .collect(),
                security_level: e.security_level,
                transport_profile_uri: e.transport_profile_uri.clone(),
                certificate,
            });
        }
        self.anonymous_allowed = Some(
            endpoints
                .iter()
                .flat_map(|e| &e.user_identity_tokens)
                .any(|t| t.token_type == 0),
        );
        self.security_none_offered = Some(endpoints.iter().any(|e| e.security_mode == 1));
    }

    /// Records the FindServers answer: the server's own application when GetEndpoints
    /// gave none, and every other application it names.
    pub fn apply_servers(&mut self, servers: &[ApplicationDescription]) {
        for s in servers {
            let app = Application::from_description(s);
            match &self.application {
                None => self.application = Some(app),
                Some(own) if own.application_uri == app.application_uri => {}
                Some(_) if self.servers.len() < MAX_SERVERS => self.servers.push(app),
                Some(_) => {}
            }
        }
    }

    /// The device said anything that identifies the application.
    pub fn identifies(&self) -> bool {
        self.application.as_ref().is_some_and(|a| {
            a.application_uri.is_some() || a.product_uri.is_some() || a.application_name.is_some()
        }) || !self.certificates.is_empty()
    }
}

/// Vendors recognised in application URIs, product URIs, application names and
/// certificate organisations: (lower-case needle, vendor, device type it implies).
const VENDORS: [(&str, &str, Option<DeviceType>); 22] = [
    ("simatic.s7", "Siemens", Some(DeviceType::Plc)),
    ("siemens", "Siemens", None),
    ("kepware", "PTC Kepware", Some(DeviceType::Gateway)),
    ("kepserverex", "PTC Kepware", Some(DeviceType::Gateway)),
    ("beckhoff", "Beckhoff", None),
    ("twincat", "Beckhoff", None),
    ("codesys", "CODESYS", None),
    ("3s-smart", "CODESYS", None),
    ("br-automation", "B&R", None),
    ("rockwell", "Rockwell Automation", None),
    ("schneider", "Schneider Electric", None),
    ("omron", "Omron", None),
    ("wago", "WAGO", None),
    ("phoenixcontact", "Phoenix Contact", None),
    ("inductiveautomation", "Inductive Automation", None),
    ("unifiedautomation", "Unified Automation", None),
    ("unified-automation", "Unified Automation", None),
    ("prosysopc", "Prosys OPC", None),
    ("softing", "Softing", None),
    ("matrikon", "Matrikon", None),
    ("open62541", "open62541", None),
    ("freeopcua", "FreeOpcUa", None),
];

/// The record's identity fields from what the device said: the vendor and device type
/// from a known name in the application URI, product URI, application name or the
/// certificate's organisation; the product name from the application name; the model
/// of a Siemens S7 CPU (`S7-1500`, `S7-1200`) from its application URI.
pub fn identity_fields(details: &OpcuaDetails) -> Identity {
    let text = |t: &Option<DeviceText>| t.as_ref().and_then(DeviceText::trimmed);
    let app = details.application.clone().unwrap_or_default();
    let mut haystack: Vec<String> = [
        &app.application_uri,
        &app.product_uri,
        &app.application_name,
    ]
    .into_iter()
    .filter_map(text)
    .collect();
    haystack.extend(
        details
            .certificates
            .iter()
            .filter_map(|c| c.organization.clone()),
    );
    let lower: Vec<String> = haystack.iter().map(|h| h.to_ascii_lowercase()).collect();
    let known = VENDORS
        .iter()
        .find(|(needle, _, _)| lower.iter().any(|h| h.contains(needle)));
    let model = ["S7-1500", "S7-1200", "S7-300", "S7-400"]
        .into_iter()
        .find(|m| {
            text(&app.application_uri)
                .or_else(|| text(&app.application_name))
                .is_some_and(|u| u.contains(m))
        })
        .map(str::to_owned);
    Identity {
        vendor: known.map(|(_, vendor, _)| (*vendor).to_owned()),
        product_name: text(&app.application_name),
        model,
        device_type: known.and_then(|(_, _, t)| *t),
        ..Identity::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::opcua::binary::LocalizedText;
    use crate::protocols::opcua::codec::UserTokenPolicy;

    fn text(s: &str) -> Option<DeviceText> {
        Some(DeviceText::from_bytes(s.as_bytes()))
    }

    fn endpoint(mode: u32, tokens: &[u32], cert: Option<&[u8]>) -> EndpointDescription {
        EndpointDescription {
            endpoint_url: text("opc.tcp://192.168.0.1:4840"),
            server: ApplicationDescription {
                application_uri: text("urn:SIMATIC.S7-1500.OPC-UA.Application:PLC_1"),
                product_uri: text("https://www.siemens.com/simatic-s7-opcua"),
                application_name: LocalizedText {
                    locale: text("en"),
                    text: text("SIMATIC.S7-1500.OPC-UA.Application:PLC_1"),
                },
                ..ApplicationDescription::default()
            },
            server_certificate: cert.map(<[u8]>::to_vec),
            security_mode: mode,
            security_policy_uri: text("http://opcfoundation.org/UA/SecurityPolicy#None"),
            user_identity_tokens: tokens
                .iter()
                .map(|&t| UserTokenPolicy {
                    token_type: t,
                    ..UserTokenPolicy::default()
                })
                .collect(),
            transport_profile_uri: None,
            security_level: 0,
        }
    }

    #[test]
    fn a_siemens_server_is_a_siemens_plc_with_its_certificate_decoded() {
        let cert = protocol_fixtures::opcua::CERT_S7_1500;
        let mut details = OpcuaDetails::default();
        details.apply_endpoints(&[
            endpoint(1, &[1], Some(cert)),
            endpoint(3, &[1, 2], Some(cert)),
        ]);
        assert_eq!(details.anonymous_allowed, Some(false));
        assert_eq!(details.security_none_offered, Some(true));
        assert_eq!(details.certificates.len(), 1, "one certificate, shared");
        assert_eq!(details.endpoints[1].certificate, Some(0));
        assert_eq!(
            details.endpoints[1].user_token_types,
            ["UserName", "Certificate"]
        );
        let c = &details.certificates[0];
        assert_eq!(c.organization.as_deref(), Some("Siemens AG"));
        assert_eq!(c.san_uris, ["urn:SIMATIC.S7-1500.OPC-UA.Application:PLC_1"]);
        assert_eq!(c.san_dns, ["plc-1"]);
        assert_eq!(c.san_ips, ["127.0.0.1"]);
        assert_eq!(c.serial, "5a:1e");
        assert_eq!(c.subject, c.issuer, "self-signed");
        assert_eq!(c.key_bits, Some(2048));
        assert_eq!(c.signature_algorithm, "sha256WithRSAEncryption");
        assert!(c.not_before.ends_with('Z') && c.not_after > c.not_before);
        let identity = identity_fields(&details);
        assert_eq!(identity.vendor.as_deref(), Some("Siemens"));
        assert_eq!(identity.model.as_deref(), Some("S7-1500"));
        assert_eq!(identity.device_type, Some(DeviceType::Plc));
        assert!(details.identifies());
    }

    #[test]
    fn certificates_that_do_not_decode_are_a_warning() {
        let mut details = OpcuaDetails::default();
        details.apply_endpoints(&[endpoint(1, &[0], Some(&[0x30, 0x03, 0x02, 0x01, 0x01]))]);
        assert!(details.certificates.is_empty());
        assert_eq!(details.endpoints[0].certificate, None);
        assert!(
            details.warnings[0].contains("not decoded"),
            "{:?}",
            details.warnings
        );
        assert_eq!(details.anonymous_allowed, Some(true));
    }

    #[test]
    fn find_servers_adds_only_other_applications() {
        let mut details = OpcuaDetails::default();
        details.apply_endpoints(&[endpoint(1, &[0], None)]);
        let own = endpoint(1, &[0], None).server;
        let mut other = own.clone();
        other.application_uri = text("urn:press-7");
        details.apply_servers(&[own, other]);
        assert_eq!(details.servers.len(), 1);
        assert_eq!(details.servers[0].application_uri, text("urn:press-7"));
    }

    #[test]
    fn an_error_names_its_status() {
        let mut details = OpcuaDetails::default();
        details.apply_error("open", 0x8055_0000, text("None is off"));
        assert_eq!(
            details.error_name.as_deref(),
            Some("Bad_SecurityPolicyRejected")
        );
        assert!(!details.identifies());
    }
}
