//! The HTTPS request script: the web script of `http` over TLS (see
//! `http::probe::read_site`), with a TLS client that accepts any certificate.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::codec::{legacy_frame, parse_legacy, Request, MAX_LEGACY_LEN};
use super::details::{HttpsDetails, TlsDetails};
use super::HttpsConfig;
use crate::protocols::http::probe::{read_site, Scheme};
use crate::protocols::probe::{ProbeConfig, RunProbe};
use crate::record::fields::Identity;
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, ExchangeError, Failure, FirstPacket};

/// Accepts every certificate chain: otscan identifies, it does not authenticate (see the
/// module documentation). The handshake's signatures are checked against the
/// certificate's key as TLS requires, so the session is a real one with whoever holds it.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The one TLS client configuration: TLS 1.3 and 1.2, ring's suites, any certificate,
/// ALPN `http/1.1`, no client certificate, no resumption (nothing kept between devices).
fn connector() -> &'static tokio_rustls::TlsConnector {
    static CONNECTOR: OnceLock<tokio_rustls::TlsConnector> = OnceLock::new();
    CONNECTOR.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .expect("ring supports TLS 1.3 and 1.2")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config.resumption = rustls::client::Resumption::disabled();
        config.enable_sni = false;
        tokio_rustls::TlsConnector::from(Arc::new(config))
    })
}

/// The legacy certificate reader: one ClientHello on a new connection to `port`, the
/// server's first flight read in clear, the connection closed with a FIN (no page).
async fn read_legacy(
    session: &mut DeviceSession,
    port: u16,
    warnings: &mut Vec<String>,
) -> Option<TlsDetails> {
    let exchange = session
        .tcp_exchange(
            port,
            &ReadOnlyRequest::Https(Request::LegacyClientHello),
            MAX_LEGACY_LEN,
            &legacy_frame,
        )
        .await;
    session.close().await;
    let flight = match exchange {
        Ok(reply) => parse_legacy(&reply.bytes).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match flight {
        Ok(flight) => {
            let mut details = TlsDetails::from_handshake(
                flight.version_name(),
                flight.suite_name(),
                None,
                &flight.certificates,
                warnings,
            );
            details.legacy = true;
            warnings.extend(flight.warnings.iter().cloned());
            warnings.push(format!(
                "{} with {}: rustls does not speak it; certificate read by the legacy reader, no page fetched",
                flight.version_name(),
                flight.suite_name()
            ));
            Some(details)
        }
        Err(e) => {
            warnings.push(format!("legacy certificate reader: {e}"));
            None
        }
    }
}

impl RunProbe for HttpsConfig {
    /// The handshake and the start page of the first port that answers; the legacy
    /// reader when the handshake failed.
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let scheme = Scheme::Https(connector());
        let mut site = read_site(session, scheme, &self.ports, self.favicon).await;
        let mut warnings = std::mem::take(&mut site.warnings);
        let mut tls = site.tls.take().map(|t| {
            TlsDetails::from_handshake(
                t.version,
                t.cipher_suite,
                t.alpn,
                &t.certificates,
                &mut warnings,
            )
        });
        // A server rustls could not handshake with: the legacy reader, on a new connection.
        let handshake_failed = matches!(
            site.outcome,
            Err(Failure::Exchange(
                ExchangeError::Tls(_) | ExchangeError::Closed
            ))
        );
        if tls.is_none() && handshake_failed {
            if let Some(legacy) = read_legacy(session, site.port, &mut warnings).await {
                site.page.port = Some(site.port);
                tls = Some(legacy);
            }
        }
        let mut end = site.end(session);
        let details = HttpsDetails {
            page: site.page,
            tls,
            warnings,
        };
        end.identified = details.identifies();
        let identity = super::identity_fields(&details);
        let settled = end.settle(|| "no TLS handshake and no HTTP response".to_owned());
        let answered = end.first_rtt.is_some() || details.tls.is_some();
        vec![(end.observation(settled, details, answered), identity)]
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Tcp { port: self.port() }]
    }
}
