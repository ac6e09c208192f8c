//! HTTPS (TCP 443, or a list of ports), off by default: a TLS handshake (TLS 1.3 or 1.2,
//! rustls with the `ring` provider), then the HTTP probe's `GET /` inside it, on a new
//! connection per request, each closed with close_notify and a FIN. The handshake's
//! version, cipher suite, ALPN and the certificate chain (decoded with `x509-parser`) are
//! recorded with the page.
//!
//! **The certificate is not verified: otscan identifies, it does not authenticate.** Any
//! chain is accepted (self-signed, expired, for another name, from an unknown CA) because
//! the device's own certificate is what tells who it is; nothing secret is sent over the
//! session, so accepting an impostor costs nothing but a wrong record. No SNI is sent (the
//! target is an address), no client certificate, no session resumption, no early data.
//!
//! A server rustls cannot handshake with (TLS 1.0/1.1 only, or only suites rustls does not
//! implement, as many OT devices) gets a second connection with the **legacy certificate
//! reader** (`codec`): one fixed ClientHello offering TLS 1.0-1.2 and the common legacy
//! suites, the server's first flight read in clear up to ServerHelloDone (the certificate
//! travels unencrypted up to TLS 1.2), then a FIN. No page is fetched on that path, and
//! the record says so (`tls.legacy`, a warning).
//!
//! Not an industrial protocol: off the default probe list, `--probes https` or
//! `--probes all`.

pub mod certificate;
pub mod codec;
pub mod details;
mod probe;

pub use certificate::TlsCertificate;
pub use details::{identity_fields, HttpsDetails, TlsDetails};

use crate::protocols::http::{
    max_web_requests, port_list, validate_ports, web_ports, MAX_BODY_READ, MAX_HEAD_LEN,
};
use crate::protocols::probe::ProbeConfig;
use crate::record::fields::Protocol;

/// Default HTTPS port.
pub const DEFAULT_PORT: u16 = crate::protocols::http::codec::HTTPS_PORT;

/// HTTPS probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HttpsConfig {
    /// TCP ports tried in order until one answers (default `[443]`).
    pub ports: Vec<u16>,
    /// Also fetch `/favicon.ico` and record its hash.
    pub favicon: bool,
}

impl Default for HttpsConfig {
    fn default() -> Self {
        HttpsConfig {
            ports: vec![DEFAULT_PORT],
            favicon: false,
        }
    }
}

impl ProbeConfig for HttpsConfig {
    const PROTOCOL: Protocol = Protocol::Https;

    web_ports!(DEFAULT_PORT);

    /// Per page, a handshake on top of the connection and the GET; and the legacy
    /// reader's connection and ClientHello.
    fn max_requests(&self, _udp_retries: u32) -> u64 {
        max_web_requests(self.ports.len(), self.favicon) + if self.favicon { 5 } else { 4 }
    }

    fn validate(&self) -> Result<(), String> {
        validate_ports("https", &self.ports)
    }

    fn plan(&self) -> Vec<(&'static str, String)> {
        vec![(
            "https",
            format!(
                "TLS 1.3/1.2 handshake (certificate read, not verified; a legacy ClientHello when it fails), GET / on TCP {} (first that answers), at most one same-host redirect{}; head <= {MAX_HEAD_LEN} bytes, body <= {MAX_BODY_READ} bytes",
                port_list(&self.ports),
                if self.favicon { ", GET /favicon.ico" } else { "" }
            ),
        )]
    }
}
