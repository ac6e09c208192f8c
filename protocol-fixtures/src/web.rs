//! Simulated device web servers (HTTP/1.1 over TCP): each reads one request head per
//! connection, answers it from a table of paths, and closes (or holds, or drips, as the
//! hostile shapes want). Every request is recorded under the label `http`
//! ([`Framing::Http`]: one request head, and any body its `Content-Length` announces),
//! where the read-only allowlist checks it.
//!
//! The responses are written here from RFC 9110/9112 and published banners and page
//! titles of OT device web servers (Recog's `http_servers.xml` and `html_title.xml`
//! examples), independently of the scanner's codec.

use std::{io, net::SocketAddr, sync::Arc, time::Duration};

use tokio::{io::AsyncReadExt as _, net::TcpStream};

use crate::{
    banner::{play, BannerEnd},
    device::{bind_loopback, serve_connections, DeviceHandle},
    recorder::{Framing, Recorder, RecordingStream},
};

/// The registered HTTP port.
pub const HTTP_PORT: u16 = 80;
/// The registered HTTPS port.
pub const HTTPS_PORT: u16 = 443;

/// Largest request head the device reads before it answers anyway.
const MAX_REQUEST: usize = 16 * 1024;
/// One response: chunks written `gap` apart, then `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebResponse {
    /// Bytes written, in order.
    pub chunks: Vec<Vec<u8>>,
    /// Pause before each chunk after the first (and between repeats).
    pub gap: Duration,
    /// What follows (the banner services' ends: a close, a hold, a chunk repeated).
    pub end: BannerEnd,
}

impl WebResponse {
    /// A page: status line, `headers`, `Content-Length`, `Connection: close`, `body`.
    pub fn page(status: u16, reason: &str, headers: &[(&str, &str)], body: &str) -> Self {
        let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        Self::raw([head.into_bytes(), body.as_bytes().to_vec()].concat())
    }

    /// A page sent with `Transfer-Encoding: chunked`, `body` cut into `chunk`-byte chunks.
    pub fn chunked(
        status: u16,
        reason: &str,
        headers: &[(&str, &str)],
        body: &str,
        chunk: usize,
    ) -> Self {
        let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        for part in body.as_bytes().chunks(chunk.max(1)) {
            out.push_str(&format!("{:x}\r\n", part.len()));
            out.push_str(&String::from_utf8_lossy(part));
            out.push_str("\r\n");
        }
        out.push_str("0\r\n\r\n");
        Self::raw(out.into_bytes())
    }

    /// A redirect to `location`, no body.
    pub fn redirect(status: u16, location: &str, headers: &[(&str, &str)]) -> Self {
        let mut all = vec![("Location", location)];
        all.extend_from_slice(headers);
        let reason = match status {
            301 => "Moved Permanently",
            303 => "See Other",
            307 => "Temporary Redirect",
            308 => "Permanent Redirect",
            _ => "Found",
        };
        Self::page(status, reason, &all, "")
    }

    /// These bytes as they are, then a close.
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Self {
        WebResponse {
            chunks: vec![bytes.into()],
            gap: Duration::ZERO,
            end: BannerEnd::Close,
        }
    }

    /// Another end.
    #[must_use]
    pub fn with_end(mut self, end: BannerEnd) -> Self {
        self.end = end;
        self
    }

    /// More bytes, `gap` after the ones before.
    #[must_use]
    pub fn then(mut self, gap: Duration, chunk: impl Into<Vec<u8>>) -> Self {
        self.gap = gap;
        self.chunks.push(chunk.into());
        self
    }
}

/// A web server's behaviour: a response per path, and one for every other path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebDeviceConfig {
    /// `(path, response)`: the request target must equal the path.
    pub routes: Vec<(String, WebResponse)>,
    /// The response to any other path (404 by default).
    pub fallback: WebResponse,
}

impl WebDeviceConfig {
    /// A server whose start page `/` is `root`.
    pub fn new(root: WebResponse) -> Self {
        WebDeviceConfig {
            routes: vec![("/".to_owned(), root)],
            fallback: WebResponse::page(
                404,
                "Not Found",
                &[],
                "<html><title>404 Not Found</title></html>",
            ),
        }
    }

    /// One more path.
    #[must_use]
    pub fn route(mut self, path: &str, response: WebResponse) -> Self {
        self.routes.push((path.to_owned(), response));
        self
    }

    fn respond(&self, path: &str) -> &WebResponse {
        self.routes
            .iter()
            .find(|(p, _)| p == path)
            .map_or(&self.fallback, |(_, r)| r)
    }
}

/// The certificate a TLS web server presents, made at start with `rcgen` (a fresh
/// self-signed ECDSA P-256 key each time: no key material is checked in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSpec {
    /// Subject attributes in order, e.g. `[("O", "Siemens"), ("CN", "SIMATIC S7-1500")]`
    /// (`C`, `ST`, `L`, `O`, `OU`, `CN`).
    pub subject: Vec<(String, String)>,
    /// DNS subject alternative names.
    pub dns_names: Vec<String>,
}

impl CertificateSpec {
    /// A subject of `organization` and `common_name`, with `dns_names`.
    pub fn new(organization: &str, common_name: &str, dns_names: &[&str]) -> Self {
        CertificateSpec {
            subject: vec![
                ("O".to_owned(), organization.to_owned()),
                ("CN".to_owned(), common_name.to_owned()),
            ],
            dns_names: dns_names.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    /// A subject of `attributes` in DER order (country first), with no alternative names:
    /// how device firmware that makes its own certificate often names itself.
    pub fn distinguished(attributes: &[(&str, &str)]) -> Self {
        CertificateSpec {
            subject: attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            dns_names: Vec::new(),
        }
    }

    /// The certificate and key, DER.
    ///
    /// # Errors
    /// rcgen's, as an I/O error.
    pub fn make(&self) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let err = |e: rcgen::Error| io::Error::other(e.to_string());
        let mut params = rcgen::CertificateParams::new(self.dns_names.clone()).map_err(err)?;
        let mut name = rcgen::DistinguishedName::new();
        for (key, value) in &self.subject {
            let kind = match key.as_str() {
                "C" => rcgen::DnType::CountryName,
                "ST" => rcgen::DnType::StateOrProvinceName,
                "L" => rcgen::DnType::LocalityName,
                "O" => rcgen::DnType::OrganizationName,
                "OU" => rcgen::DnType::OrganizationalUnitName,
                _ => rcgen::DnType::CommonName,
            };
            name.push(kind, value.as_str());
        }
        params.distinguished_name = name;
        let key = rcgen::KeyPair::generate().map_err(err)?;
        let cert = params.self_signed(&key).map_err(err)?;
        Ok((cert.der().to_vec(), key.serialize_der()))
    }
}

/// A TLS server of the kind rustls cannot talk to (TLS 1.0 or 1.1 only, or only legacy
/// suites), as far as a client's first flight gets: to any ClientHello it answers one
/// handshake record with ServerHello (`version`, `cipher_suite`), Certificate and
/// ServerHelloDone, written here by hand from RFC 2246/5246, and waits. It never finishes
/// a handshake, so it serves no page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyTlsConfig {
    /// The version the ServerHello chooses, e.g. `0x0301` (TLS 1.0).
    pub version: u16,
    /// The suite it chooses, e.g. `0x002f` (TLS_RSA_WITH_AES_128_CBC_SHA).
    pub cipher_suite: u16,
    /// The certificate sent.
    pub certificate: CertificateSpec,
    /// Stop after the ServerHello and hold the connection (a server that stalls
    /// mid-handshake).
    pub stall_after_hello: bool,
    /// Answer these bytes instead of the flight (garbage, an alert).
    pub raw_reply: Option<Vec<u8>>,
}

impl LegacyTlsConfig {
    /// A TLS 1.0 server choosing TLS_RSA_WITH_AES_128_CBC_SHA.
    pub fn tls10(certificate: CertificateSpec) -> Self {
        LegacyTlsConfig {
            version: 0x0301,
            cipher_suite: 0x002f,
            certificate,
            stall_after_hello: false,
            raw_reply: None,
        }
    }

    /// A server that answers `bytes` to any ClientHello and holds the connection.
    pub fn answering(bytes: impl Into<Vec<u8>>) -> Self {
        LegacyTlsConfig {
            raw_reply: Some(bytes.into()),
            ..Self::tls10(CertificateSpec::new("Hostile Devices Inc.", "hostile", &[]))
        }
    }

    /// The server's flight, as one handshake record.
    fn flight(&self, der: &[u8]) -> Vec<u8> {
        let u24 = |n: usize| (n as u32).to_be_bytes()[1..].to_vec();
        let mut hello = self.version.to_be_bytes().to_vec();
        hello.extend((0..32u8).map(|i| i.wrapping_mul(29)));
        hello.push(0);
        hello.extend(self.cipher_suite.to_be_bytes());
        hello.push(0);
        let mut handshake = vec![2];
        handshake.extend(u24(hello.len()));
        handshake.extend(hello);
        if !self.stall_after_hello {
            let mut chain = u24(der.len());
            chain.extend(der);
            handshake.push(11);
            handshake.extend(u24(chain.len() + 3));
            handshake.extend(u24(chain.len()));
            handshake.extend(chain);
            handshake.extend([14, 0, 0, 0]);
        }
        let mut record = vec![22];
        record.extend(self.version.to_be_bytes());
        record.extend((handshake.len() as u16).to_be_bytes());
        record.extend(handshake);
        record
    }
}

/// A simulated web server.
pub struct WebDevice;

impl WebDevice {
    /// Starts serving `config` over plain HTTP on TCP `addr` (loopback only; port 0 picks
    /// a free port), any number of connections, recording requests under `http`.
    ///
    /// # Errors
    /// A non-loopback address or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: WebDeviceConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let listener = bind_loopback(addr)?;
        let config = Arc::new(config);
        serve_connections(
            listener,
            recorder,
            Framing::Http,
            Framing::Http.protocol(),
            move |stream| serve_connection(stream, Arc::clone(&config)),
        )
    }
}

impl WebDevice {
    /// Starts serving `config` over TLS (1.3 and 1.2, rustls) on TCP `addr` with a
    /// certificate made from `certificate`: ClientHello records are recorded under `tls`,
    /// the decrypted requests under `https`.
    ///
    /// # Errors
    /// A non-loopback address, a failed bind, a certificate that cannot be made.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn_tls(
        addr: SocketAddr,
        config: WebDeviceConfig,
        certificate: &CertificateSpec,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let (cert, key) = certificate.make()?;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| io::Error::other(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(
                vec![rustls::pki_types::CertificateDer::from(cert)],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
            )
            .map_err(|e| io::Error::other(e.to_string()))?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let listener = bind_loopback(addr)?;
        let config = Arc::new(config);
        let requests = recorder.clone();
        serve_connections(
            listener,
            recorder,
            Framing::Tls,
            Framing::Tls.protocol(),
            move |stream| {
                serve_tls(
                    stream,
                    acceptor.clone(),
                    Arc::clone(&config),
                    requests.clone(),
                )
            },
        )
    }
}

impl WebDevice {
    /// Starts a [`LegacyTlsConfig`] server on TCP `addr`: ClientHello records are
    /// recorded under `tls`.
    ///
    /// # Errors
    /// A non-loopback address, a failed bind, a certificate that cannot be made.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn_legacy_tls(
        addr: SocketAddr,
        config: &LegacyTlsConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let (der, _) = config.certificate.make()?;
        let flight = Arc::new(
            config
                .raw_reply
                .clone()
                .unwrap_or_else(|| config.flight(&der)),
        );
        let listener = bind_loopback(addr)?;
        serve_connections(
            listener,
            recorder,
            Framing::Tls,
            Framing::Tls.protocol(),
            move |stream| serve_legacy(stream, Arc::clone(&flight)),
        )
    }
}

/// Reads one TLS record (the ClientHello), answers the flight, holds the connection.
async fn serve_legacy(stream: RecordingStream<TcpStream>, flight: Arc<Vec<u8>>) {
    let (mut reader, writer) = tokio::io::split(stream);
    let mut record = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        let want = record
            .get(3..5)
            .map(|l: &[u8]| 5 + usize::from(u16::from_be_bytes([l[0], l[1]])));
        if want.is_some_and(|w| record.len() >= w) || record.len() > MAX_REQUEST {
            break;
        }
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => record.extend_from_slice(&chunk[..n]),
        }
    }
    play(
        reader,
        writer,
        &[flight.to_vec()],
        Duration::ZERO,
        &BannerEnd::Hold,
    )
    .await;
}

async fn serve_tls(
    stream: RecordingStream<TcpStream>,
    acceptor: tokio_rustls::TlsAcceptor,
    config: Arc<WebDeviceConfig>,
    recorder: Recorder,
) {
    let (device, peer) = stream.addresses();
    let connection = stream.connection();
    let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(5), acceptor.accept(stream)).await
    else {
        return;
    };
    answer(tls, &config, |head| {
        recorder.record_tcp(device, peer, connection, crate::allowlist::HTTPS, head);
    })
    .await;
}

/// Reads one request head on `stream`, hands it to `seen`, plays the response to it.
async fn answer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite>(
    stream: S,
    config: &WebDeviceConfig,
    seen: impl FnOnce(&[u8]),
) {
    let (mut reader, writer) = tokio::io::split(stream);
    let Some(head) = read_head(&mut reader).await else {
        return;
    };
    seen(&head);
    let response = config.respond(&target(&head));
    play(
        reader,
        writer,
        &response.chunks,
        response.gap,
        &response.end,
    )
    .await;
}

/// Reads a request head (through its empty line, at most [`MAX_REQUEST`] bytes); `None`
/// when the client closes first.
async fn read_head<R: tokio::io::AsyncRead + Unpin>(reader: &mut R) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    Some(head)
}

/// The request target of a request head (`GET /x HTTP/1.1`): the second word.
fn target(head: &[u8]) -> String {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(line);
    text.split(' ').nth(1).unwrap_or("").to_owned()
}

async fn serve_connection(stream: RecordingStream<TcpStream>, config: Arc<WebDeviceConfig>) {
    // The recording stream records the request itself.
    answer(stream, &config, |_| {}).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_carry_their_length_and_chunks_their_sizes() {
        let page = WebResponse::page(200, "OK", &[("Server", "x")], "hello");
        assert_eq!(
            page.chunks[0],
            b"HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
        );
        let chunked = WebResponse::chunked(200, "OK", &[], "hello", 3);
        assert!(chunked.chunks[0].ends_with(b"3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"));
        assert_eq!(target(b"GET /favicon.ico HTTP/1.1\r\n"), "/favicon.ico");
    }
}
