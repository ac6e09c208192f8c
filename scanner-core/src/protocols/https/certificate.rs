//! A TLS server's certificate (X.509 v3, DER) decoded with `x509-parser` into the facts
//! that identify a device: subject and issuer (RFC 4514 strings), serial, validity, subject
//! alternative names, key, signature algorithm, whether it is self-issued, its SHA-256.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use x509_parser::der_parser::oid::Oid;
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid2abbrev, oid2sn, oid_registry};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::X509Name;

use crate::record::fields::hex;

/// Most subject alternative names kept.
const MAX_SANS: usize = 32;

/// One certificate of the chain a server sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TlsCertificate {
    /// Subject distinguished name as an RFC 4514 string (last RDN first, `,` between RDNs,
    /// special characters escaped), e.g. `CN=SIMATIC S7-1500,O=Siemens`.
    pub subject: String,
    /// Issuer distinguished name, the same way; equal to the subject when self-issued.
    pub issuer: String,
    /// Serial number, lower-case hex.
    pub serial: String,
    /// Start of validity, RFC 3339 UTC.
    pub not_before: String,
    /// End of validity, RFC 3339 UTC.
    pub not_after: String,
    /// Subject alternative names, `DNS:name`, `IP:address`, `URI:uri` or `email:address`,
    /// in order (at most 32).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
    /// The public key: algorithm and size or curve, e.g. `RSA 2048`, `EC P-256`, `Ed25519`.
    pub key: String,
    /// Signature algorithm, e.g. `sha256WithRSAEncryption`, `ecdsa-with-SHA256`.
    pub signature_algorithm: String,
    /// The issuer is the subject (a self-issued certificate, as device certificates made
    /// by the device itself are; the signature is not checked).
    pub self_signed: bool,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
}

/// Decodes a DER certificate; the error is the parser's message.
pub fn decode(der: &[u8]) -> Result<TlsCertificate, String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    let time = |t: &x509_parser::time::ASN1Time| {
        jiff::Timestamp::from_second(t.timestamp())
            .map(|ts| ts.to_string())
            .unwrap_or_else(|_| t.to_string())
    };
    let mut sans = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for general in san.value.general_names.iter().take(MAX_SANS) {
            let text = match general {
                GeneralName::DNSName(dns) => format!("DNS:{dns}"),
                GeneralName::IPAddress(ip) => format!("IP:{}", ip_text(ip)),
                GeneralName::URI(uri) => format!("URI:{uri}"),
                GeneralName::RFC822Name(mail) => format!("email:{mail}"),
                _ => continue,
            };
            sans.push(text);
        }
    }
    Ok(TlsCertificate {
        subject: rfc4514(cert.subject()),
        issuer: rfc4514(cert.issuer()),
        serial: cert
            .raw_serial_as_string()
            .replace(':', "")
            .to_ascii_lowercase(),
        not_before: time(&cert.validity().not_before),
        not_after: time(&cert.validity().not_after),
        sans,
        key: key_text(&cert),
        signature_algorithm: short_name(&cert.signature_algorithm.algorithm),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        sha256: hex(ring::digest::digest(&ring::digest::SHA256, der).as_ref()),
    })
}

fn short_name(oid: &Oid<'_>) -> String {
    oid2sn(oid, oid_registry())
        .map(str::to_owned)
        .unwrap_or_else(|_| oid.to_id_string())
}

/// `RSA 2048`, `EC P-256`, `Ed25519`, else the algorithm's name and size.
fn key_text(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let algorithm = short_name(&spki.algorithm.algorithm);
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| match oid.to_id_string().as_str() {
                    "1.2.840.10045.3.1.7" => "P-256".to_owned(),
                    "1.3.132.0.34" => "P-384".to_owned(),
                    "1.3.132.0.35" => "P-521".to_owned(),
                    _ => short_name(&oid),
                })
                .unwrap_or_else(|| "unknown curve".to_owned());
            format!("EC {curve}")
        }
        _ if algorithm == "1.3.101.112" || algorithm.eq_ignore_ascii_case("ed25519") => {
            "Ed25519".to_owned()
        }
        Ok(other) if other.key_size() > 0 => format!("{algorithm} {}", other.key_size()),
        _ => algorithm,
    }
}

/// A distinguished name as RFC 4514 writes it: the last RDN first, `,` between RDNs,
/// `+` between the attributes of one, short names (`CN`, `O`, ...) or the dotted OID,
/// values escaped; a value that is not a string is `#` and its DER in hex.
pub fn rfc4514(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let oid = attr.attr_type();
                    let key = oid2abbrev(oid, oid_registry())
                        .map(str::to_owned)
                        .unwrap_or_else(|_| oid.to_id_string());
                    let value = match attr.as_str() {
                        Ok(text) => escape(text),
                        Err(_) => format!("#{}", hex(attr.attr_value().data)),
                    };
                    format!("{key}={value}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// RFC 4514 2.4: `"+,;<>\` escaped, a leading `#` or space and a trailing space too,
/// NUL as `\00`.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' | ' ' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
    out
}

/// An IP address of a subject alternative name (4 or 16 bytes), else its hex.
fn ip_text(bytes: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return std::net::Ipv4Addr::from(v4).to_string();
    }
    if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        return std::net::Ipv6Addr::from(v6).to_string();
    }
    hex(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_as_rfc_4514_says() {
        assert_eq!(escape("Siemens, AG"), "Siemens\\, AG");
        assert_eq!(escape(" #x "), "\\ #x\\ ");
        assert_eq!(escape("#1"), "\\#1");
        assert_eq!(escape("a+b<c>;\"\\"), "a\\+b\\<c\\>\\;\\\"\\\\");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(b"").is_err());
        assert!(decode(&[0x30, 0x82, 0xff, 0xff, 0x00]).is_err());
    }
}
