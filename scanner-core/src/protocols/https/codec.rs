//! HTTPS, sans IO: the request inside the TLS session is the HTTP probe's closed `GET`
//! (read with the HTTP codec), and the certificates the handshake brings are read by
//! [`certificate`](super::certificate). The TLS 1.3/1.2 handshake itself is rustls's.
//!
//! For a server rustls cannot handshake with (TLS 1.0/1.1 only, or only suites rustls
//! does not implement: RSA key exchange, CBC, 3DES, RC4), this codec is the **legacy
//! certificate reader**: one fixed ClientHello ([`Request::LegacyClientHello`], TLS 1.2 as
//! its highest version, so TLS 1.0 to 1.2 servers answer, and the common legacy RSA and
//! ECDHE suites), then the server's first flight read in clear: ServerHello, Certificate,
//! and whatever comes until ServerHelloDone (up to TLS 1.2 the certificate travels before
//! any key is agreed). Nothing more is sent; the connection is closed with a FIN.

use crate::protocols::http::codec as http;
use crate::protocols::wire::FrameCheck;

pub use crate::protocols::http::codec::{
    frame, parse, Host, ParseError, Path, RedirectPath, Response, MAX_REPLY_LEN,
};

/// What the HTTPS probe can send.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Request {
    /// The HTTP probe's `GET`, inside the TLS session.
    Get(http::Request),
    /// The legacy reader's one ClientHello (see the module documentation).
    LegacyClientHello,
}

/// The suites the legacy ClientHello offers, in order of preference, with their IANA
/// names: ECDHE and RSA key exchange, AES-GCM, AES-CBC, 3DES and RC4 (what TLS 1.0-1.2
/// device servers choose from), and the renegotiation SCSV (RFC 5746).
pub const LEGACY_SUITES: [(u16, &str); 17] = [
    (0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    (0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    (0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
    (0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
    (0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"),
];

/// Largest server flight the legacy reader reads.
pub const MAX_LEGACY_LEN: usize = 64 * 1024;
/// Most certificates kept from a chain.
pub const MAX_CHAIN: usize = 10;
/// Largest TLS record (2^14 plus the expansion TLS 1.2 allows).
const MAX_RECORD: usize = (1 << 14) + 2048;

/// Encodes `request`: the `GET`, or the legacy ClientHello, whose 32-byte random is
/// derived from `correlation` (nothing secret depends on it: no key is ever agreed).
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    match request {
        Request::Get(get) => http::encode(get, correlation),
        Request::LegacyClientHello => client_hello(correlation),
    }
}

fn client_hello(correlation: u32) -> Vec<u8> {
    let mut hello = vec![0x03, 0x03];
    let seed = correlation.to_be_bytes();
    hello.extend((0..32u8).map(|i| seed[usize::from(i % 4)] ^ i.wrapping_mul(37)));
    hello.push(0); // no session id
    let suites: Vec<u8> = LEGACY_SUITES
        .iter()
        .flat_map(|(id, _)| id.to_be_bytes())
        .collect();
    hello.extend((suites.len() as u16).to_be_bytes());
    hello.extend(suites);
    hello.extend([1, 0]); // null compression only
    let mut extensions = Vec::new();
    // supported_groups: secp256r1, secp384r1, secp521r1.
    extensions.extend([
        0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x17, 0x00, 0x18, 0x00, 0x19,
    ]);
    // ec_point_formats: uncompressed.
    extensions.extend([0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    // signature_algorithms (TLS 1.2): RSA and ECDSA with SHA-256/384/512/1.
    let schemes = [
        0x0401u16, 0x0501, 0x0601, 0x0201, 0x0403, 0x0503, 0x0603, 0x0203,
    ];
    extensions.extend([0x00, 0x0d]);
    extensions.extend(((schemes.len() * 2 + 2) as u16).to_be_bytes());
    extensions.extend(((schemes.len() * 2) as u16).to_be_bytes());
    extensions.extend(schemes.iter().flat_map(|s| s.to_be_bytes()));
    hello.extend((extensions.len() as u16).to_be_bytes());
    hello.extend(extensions);
    let mut handshake = vec![1];
    handshake.extend(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend(hello);
    // The record says TLS 1.0, as clients do for servers that choke on more.
    let mut record = vec![22, 3, 1];
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

/// Why a server's flight is not one the legacy reader reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyError {
    /// The bytes are not TLS records.
    #[error("not a TLS record (type {0:#04x}, version {1:#06x})")]
    NotTls(u8, u16),
    /// A record longer than TLS allows.
    #[error("TLS record of {0} bytes")]
    RecordTooLong(usize),
    /// The server sent an alert.
    #[error("TLS alert from the server: level {0}, description {1}")]
    Alert(u8, u8),
    /// A handshake message that does not decode.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The flight ended (or the cap was reached) before a Certificate.
    #[error("no server certificate in the first flight")]
    NoCertificate,
    /// The flight is longer than the cap.
    #[error("server flight longer than {MAX_LEGACY_LEN} bytes")]
    Oversized,
}

/// The server's first flight as the legacy reader saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyFlight {
    /// The version the ServerHello chose, e.g. `0x0301` (TLS 1.0).
    pub version: u16,
    /// The suite the ServerHello chose.
    pub cipher_suite: u16,
    /// The chain as sent, DER, end entity first (at most [`MAX_CHAIN`]).
    pub certificates: Vec<Vec<u8>>,
    /// ServerHelloDone arrived.
    pub done: bool,
    /// Oddities that did not stop the reading.
    pub warnings: Vec<String>,
}

impl LegacyFlight {
    /// `TLSv1.0`, `TLSv1.1`, `TLSv1.2`, `SSLv3`, else the hex.
    pub fn version_name(&self) -> String {
        match self.version {
            0x0300 => "SSLv3".to_owned(),
            0x0301 => "TLSv1.0".to_owned(),
            0x0302 => "TLSv1.1".to_owned(),
            0x0303 => "TLSv1.2".to_owned(),
            v => format!("{v:#06x}"),
        }
    }

    /// The suite's IANA name when it is one otscan offered, else its hex.
    pub fn suite_name(&self) -> String {
        LEGACY_SUITES
            .iter()
            .find(|(id, _)| *id == self.cipher_suite)
            .map_or_else(
                || format!("{:#06x}", self.cipher_suite),
                |(_, n)| (*n).to_owned(),
            )
    }
}

/// How far the flight got: (flight so far, bytes of whole records read).
fn read_flight(buf: &[u8]) -> Result<(Option<LegacyFlight>, bool), LegacyError> {
    let mut handshake = Vec::new();
    let mut at = 0;
    while let Some(header) = buf.get(at..at + 5) {
        let (kind, version) = (header[0], u16::from_be_bytes([header[1], header[2]]));
        if !(20..=23).contains(&kind) || header[1] != 3 {
            return Err(LegacyError::NotTls(kind, version));
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if len > MAX_RECORD {
            return Err(LegacyError::RecordTooLong(len));
        }
        let Some(body) = buf.get(at + 5..at + 5 + len) else {
            break;
        };
        match kind {
            21 => {
                let (level, description) = (
                    body.first().copied().unwrap_or(0),
                    body.get(1).copied().unwrap_or(0),
                );
                return Err(LegacyError::Alert(level, description));
            }
            22 => handshake.extend_from_slice(body),
            // A ChangeCipherSpec or data before the handshake ends: not a first flight.
            _ => {
                return Err(LegacyError::Malformed(
                    "record before the server's handshake ended",
                ))
            }
        }
        at += 5 + len;
    }
    let mut flight: Option<LegacyFlight> = None;
    let mut certificate_seen = false;
    let mut rest = handshake.as_slice();
    while let Some(&[kind, l0, l1, l2]) = rest.first_chunk::<4>() {
        let len = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
        let Some(body) = rest.get(4..4 + len) else {
            break;
        };
        match kind {
            2 => {
                let version = body.get(..2).ok_or(LegacyError::Malformed("ServerHello"))?;
                let session_len =
                    usize::from(*body.get(34).ok_or(LegacyError::Malformed("ServerHello"))?);
                let suite = body
                    .get(35 + session_len..37 + session_len)
                    .ok_or(LegacyError::Malformed("ServerHello"))?;
                flight = Some(LegacyFlight {
                    version: u16::from_be_bytes([version[0], version[1]]),
                    cipher_suite: u16::from_be_bytes([suite[0], suite[1]]),
                    certificates: Vec::new(),
                    done: false,
                    warnings: Vec::new(),
                });
            }
            11 => {
                let f = flight
                    .as_mut()
                    .ok_or(LegacyError::Malformed("Certificate before ServerHello"))?;
                let total = body.get(..3).ok_or(LegacyError::Malformed("Certificate"))?;
                let total = usize::from(total[0]) << 16
                    | usize::from(total[1]) << 8
                    | usize::from(total[2]);
                let mut list = body
                    .get(3..3 + total)
                    .ok_or(LegacyError::Malformed("Certificate"))?;
                while let Some(&[c0, c1, c2]) = list.first_chunk::<3>() {
                    let clen = usize::from(c0) << 16 | usize::from(c1) << 8 | usize::from(c2);
                    let der = list
                        .get(3..3 + clen)
                        .ok_or(LegacyError::Malformed("Certificate"))?;
                    if f.certificates.len() < MAX_CHAIN {
                        f.certificates.push(der.to_vec());
                    } else {
                        f.warnings
                            .push(format!("chain longer than {MAX_CHAIN} certificates, cut"));
                        break;
                    }
                    list = &list[3 + clen..];
                }
                certificate_seen = true;
            }
            14 => {
                if let Some(f) = flight.as_mut() {
                    f.done = true;
                }
                return Ok((flight, true));
            }
            // ServerKeyExchange, CertificateRequest, CertificateStatus: not needed.
            _ => {}
        }
        rest = &rest[4 + len..];
    }
    Ok((flight, certificate_seen))
}

/// Framing for the session: complete when the flight has ServerHelloDone (or a whole
/// Certificate), invalid on an alert or bytes that are not TLS. `_correlation` is unused.
pub fn legacy_frame(buf: &[u8], _correlation: u32) -> FrameCheck<LegacyError> {
    match read_flight(buf) {
        Err(e) => FrameCheck::Invalid(e),
        Ok((_, true)) => FrameCheck::Complete {
            len: buf.len(),
            matches: true,
        },
        Ok(_) if buf.len() >= MAX_LEGACY_LEN => FrameCheck::Invalid(LegacyError::Oversized),
        Ok(_) => FrameCheck::NeedMore,
    }
}

/// Reads the server's first flight: the chosen version and suite and the chain.
///
/// # Errors
///
/// [`LegacyError`] when the bytes are not TLS, the server sent an alert, or no
/// certificate came.
pub fn parse_legacy(buf: &[u8]) -> Result<LegacyFlight, LegacyError> {
    match read_flight(buf)? {
        (Some(flight), _) if !flight.certificates.is_empty() => Ok(flight),
        _ => Err(LegacyError::NoCertificate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A TLS 1.0 server's flight: ServerHello (TLS_RSA_WITH_AES_128_CBC_SHA), Certificate
    /// with `certs`, ServerHelloDone, in one record.
    pub(crate) fn tls10_flight(certs: &[&[u8]]) -> Vec<u8> {
        let mut hs = Vec::new();
        let mut hello = vec![3, 1];
        hello.extend([7; 32]);
        hello.push(0);
        hello.extend([0x00, 0x2f, 0]);
        hs.push(2);
        hs.extend(&(hello.len() as u32).to_be_bytes()[1..]);
        hs.extend(hello);
        let mut list: Vec<u8> = Vec::new();
        for c in certs {
            list.extend(&(c.len() as u32).to_be_bytes()[1..]);
            list.extend(*c);
        }
        let mut body = (list.len() as u32).to_be_bytes()[1..].to_vec();
        body.extend(list);
        hs.push(11);
        hs.extend(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend(body);
        hs.extend([14, 0, 0, 0]);
        let mut record = vec![22, 3, 1];
        record.extend((hs.len() as u16).to_be_bytes());
        record.extend(hs);
        record
    }

    #[test]
    fn the_client_hello_is_one_handshake_record() {
        let bytes = encode(&Request::LegacyClientHello, 9);
        assert_eq!(&bytes[..3], &[22, 3, 1]);
        assert_eq!(
            usize::from(u16::from_be_bytes([bytes[3], bytes[4]])),
            bytes.len() - 5
        );
        assert_eq!(bytes[5], 1);
        assert_eq!(&bytes[9..11], &[3, 3]);
        assert_ne!(
            encode(&Request::LegacyClientHello, 9),
            encode(&Request::LegacyClientHello, 10)
        );
    }

    #[test]
    fn a_tls_1_0_flight_gives_version_suite_and_chain() {
        let flight = tls10_flight(&[b"cert-one", b"cert-two"]);
        assert_eq!(
            legacy_frame(&flight, 0),
            FrameCheck::Complete {
                len: flight.len(),
                matches: true
            }
        );
        let read = parse_legacy(&flight).unwrap();
        assert_eq!(read.version_name(), "TLSv1.0");
        assert_eq!(read.suite_name(), "TLS_RSA_WITH_AES_128_CBC_SHA");
        assert_eq!(
            read.certificates,
            [b"cert-one".to_vec(), b"cert-two".to_vec()]
        );
        assert!(read.done);
        // Cut anywhere before the end: more is needed, never a panic.
        for cut in 0..flight.len() {
            assert!(matches!(
                legacy_frame(&flight[..cut], 0),
                FrameCheck::NeedMore | FrameCheck::Complete { .. }
            ));
        }
    }

    #[test]
    fn hostile_flights() {
        assert_eq!(
            legacy_frame(b"HTTP/1.1 400 Bad Request\r\n", 0),
            FrameCheck::Invalid(LegacyError::NotTls(b'H', 0x5454))
        );
        assert_eq!(
            legacy_frame(&[21, 3, 1, 0, 2, 2, 70], 0),
            FrameCheck::Invalid(LegacyError::Alert(2, 70))
        );
        assert_eq!(
            legacy_frame(&[22, 3, 1, 0xff, 0xff], 0),
            FrameCheck::Invalid(LegacyError::RecordTooLong(0xffff))
        );
        assert_eq!(
            parse_legacy(&[22, 3, 1, 0, 4, 14, 0, 0, 0]),
            Err(LegacyError::NoCertificate)
        );
        // A Certificate whose list claims more than it holds.
        let mut lying = tls10_flight(&[b"x"]);
        let at = lying.iter().position(|&b| b == 11).unwrap();
        lying[at + 6] = 0x7f;
        assert!(parse_legacy(&lying).is_err());
        // A stall: a ServerHello and nothing more.
        let flight = tls10_flight(&[b"cert"]);
        assert_eq!(legacy_frame(&flight[..50], 0), FrameCheck::NeedMore);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = legacy_frame(&bytes, 0);
            let _ = parse_legacy(&bytes);
        }

        #[test]
        fn mutated_flights_never_panic(cut in 0usize..120, flip in 0usize..120, byte in any::<u8>()) {
            let mut buf = tls10_flight(&[b"certificate-bytes", b"ca"]);
            if flip < buf.len() {
                buf[flip] = byte;
            }
            buf.truncate(cut.min(buf.len()));
            let _ = legacy_frame(&buf, 0);
            let _ = parse_legacy(&buf);
        }
    }
}
