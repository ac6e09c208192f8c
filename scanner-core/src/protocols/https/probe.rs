//! The HTTPS request script: the web script of `http` over TLS (see
//! `http::probe::read_site`), with a TLS client that accepts any certificate.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::details::{HttpsDetails, TlsDetails};
use super::HttpsConfig;
use crate::protocols::http::probe::{read_site, Scheme};
use crate::protocols::probe::{ProbeConfig, RunProbe};
use crate::record::fields::Identity;
use crate::record::ServiceObservation;
use crate::session::{DeviceSession, FirstPacket};

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

impl RunProbe for HttpsConfig {
    /// The handshake and the start page of the first port that answers.
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let mut site = read_site(
            session,
            Scheme::Https(connector()),
            &self.ports,
            self.favicon,
        )
        .await;
        let mut warnings = std::mem::take(&mut site.warnings);
        let tls = site.tls.take().map(|t| {
            TlsDetails::from_handshake(
                t.version,
                t.cipher_suite,
                t.alpn,
                &t.certificates,
                &mut warnings,
            )
        });
        let details = HttpsDetails {
            page: site.page,
            tls,
            warnings,
        };
        site.end.identified = details.identifies();
        let identity = super::identity_fields(&details);
        let settled = site
            .end
            .settle(|| "no TLS handshake and no HTTP response".to_owned());
        let answered = site.end.first_rtt.is_some() || details.tls.is_some();
        vec![(site.end.observation(settled, details, answered), identity)]
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Tcp { port: self.port() }]
    }
}
