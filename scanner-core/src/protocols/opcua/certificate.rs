//! The server certificate an OPC UA endpoint sends (an X.509 v3 DER certificate, OPC
//! 10000-6 §6.2.2), decoded with `x509-parser` into the facts that identify the
//! application: subject, issuer, serial, validity, subject alternative names (the
//! application URI must be one, OPC 10000-4 §6.1.3), key and signature algorithms.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid2sn, oid_registry};
use x509_parser::prelude::{FromDer, X509Certificate};

/// A decoded server certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Certificate {
    /// Subject distinguished name, RFC 4514 style (`CN=..., O=...`).
    pub subject: String,
    /// Issuer distinguished name; equal to the subject for a self-signed certificate.
    pub issuer: String,
    /// Serial number, lower-case hex bytes separated by colons.
    pub serial: String,
    /// Start of validity, RFC 3339 UTC.
    pub not_before: String,
    /// End of validity, RFC 3339 UTC.
    pub not_after: String,
    /// Subject organisation (O), when named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Subject common name (CN), when named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// URIs of the subject alternative name (the application URI among them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub san_uris: Vec<String>,
    /// DNS names of the subject alternative name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub san_dns: Vec<String>,
    /// IP addresses of the subject alternative name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub san_ips: Vec<String>,
    /// Public key algorithm (short name, e.g. `rsaEncryption`, or the OID).
    pub key_algorithm: String,
    /// Public key size in bits, when the algorithm tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_bits: Option<u32>,
    /// Signature algorithm (short name, e.g. `sha256WithRSAEncryption`, or the OID).
    pub signature_algorithm: String,
    /// Length of the DER certificate, bytes.
    pub der_len: usize,
}

/// Most subject alternative names of each kind kept.
const MAX_SAN: usize = 16;

/// Decodes a DER certificate; the error is the parser's message.
pub fn decode(der: &[u8]) -> Result<Certificate, String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    let name = |oid: &x509_parser::der_parser::oid::Oid<'_>| {
        oid2sn(oid, oid_registry())
            .map(str::to_owned)
            .unwrap_or_else(|_| oid.to_id_string())
    };
    let time = |t: &x509_parser::time::ASN1Time| {
        jiff::Timestamp::from_second(t.timestamp())
            .map(|ts| ts.to_string())
            .unwrap_or_else(|_| t.to_string())
    };
    let first = |mut it: Box<
        dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue<'_>> + '_,
    >| { it.next().and_then(|a| a.as_str().ok()).map(str::to_owned) };
    let mut out = Certificate {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string().to_ascii_lowercase(),
        not_before: time(&cert.validity().not_before),
        not_after: time(&cert.validity().not_after),
        organization: first(Box::new(cert.subject().iter_organization())),
        common_name: first(Box::new(cert.subject().iter_common_name())),
        key_algorithm: name(&cert.public_key().algorithm.algorithm),
        key_bits: cert
            .public_key()
            .parsed()
            .ok()
            .map(|k| k.key_size())
            .filter(|&bits| bits > 0)
            .and_then(|bits| u32::try_from(bits).ok()),
        signature_algorithm: name(&cert.signature_algorithm.algorithm),
        der_len: der.len(),
        ..Certificate::default()
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for general in &san.value.general_names {
            match general {
                GeneralName::URI(uri) if out.san_uris.len() < MAX_SAN => {
                    out.san_uris.push((*uri).to_owned());
                }
                GeneralName::DNSName(dns) if out.san_dns.len() < MAX_SAN => {
                    out.san_dns.push((*dns).to_owned());
                }
                GeneralName::IPAddress(ip) if out.san_ips.len() < MAX_SAN => {
                    out.san_ips.push(ip_text(ip));
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// An IP address of a subject alternative name (4 or 16 bytes), else its hex.
fn ip_text(bytes: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return std::net::Ipv4Addr::from(v4).to_string();
    }
    if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        return std::net::Ipv6Addr::from(v6).to_string();
    }
    crate::record::fields::hex(bytes)
}
