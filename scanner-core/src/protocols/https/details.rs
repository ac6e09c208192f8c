//! The HTTPS fields of a service observation: `services[].details.https` in the record
//! (see docs/record.md): the HTTP page fields ([`HttpPage`], the same as under
//! `details.http`) and what the TLS handshake showed ([`TlsDetails`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::certificate::{self, TlsCertificate};
use crate::protocols::http::details::HttpPage;
use crate::record::fields::Identity;

/// HTTPS fields of a service observation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HttpsDetails {
    /// The page fields, as under `details.http`.
    #[serde(flatten)]
    pub page: HttpPage,
    /// What the TLS handshake showed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsDetails>,
    /// Oddities of the handshake and the responses that did not stop the reading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The TLS session as the server agreed it, and its certificate chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TlsDetails {
    /// Protocol version: `TLSv1.3`, `TLSv1.2` (`TLSv1.1`, `TLSv1.0` from the legacy reader).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Cipher suite, IANA name, e.g. `TLS_AES_256_GCM_SHA384`,
    /// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    /// The application protocol the server chose (otscan offers `http/1.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// The certificate chain as sent, end entity first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<TlsCertificate>,
    /// The certificate came from the legacy reader (a server rustls cannot handshake with,
    /// e.g. TLS 1.0/1.1 only): the handshake was not finished and no page was fetched.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legacy: bool,
}

impl TlsDetails {
    /// The details of a handshake: version, suite, ALPN, and the chain decoded (a
    /// certificate that does not decode is a warning).
    pub fn from_handshake(
        version: String,
        cipher_suite: String,
        alpn: Option<String>,
        chain: &[Vec<u8>],
        warnings: &mut Vec<String>,
    ) -> Self {
        let mut certificates = Vec::new();
        for (i, der) in chain.iter().enumerate() {
            match certificate::decode(der) {
                Ok(cert) => certificates.push(cert),
                Err(e) => warnings.push(format!("certificate {i} not decoded: {e}")),
            }
        }
        TlsDetails {
            version: (!version.is_empty()).then_some(version),
            cipher_suite: (!cipher_suite.is_empty()).then_some(cipher_suite),
            alpn,
            certificates,
            legacy: false,
        }
    }
}

impl HttpsDetails {
    /// Whether the handshake or a response identified the server.
    pub fn identifies(&self) -> bool {
        self.tls.is_some() || self.page.status.is_some()
    }
}

/// The record identity the HTTPS details give: none (the certificate's subject is the
/// server's claim; matching it is Recog's job).
pub fn identity_fields(_details: &HttpsDetails) -> Identity {
    Identity::default()
}
