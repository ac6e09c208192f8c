//! The web request script, shared by `http` and `https`: `GET /` on the first port of
//! the list that answers, at most one same-host redirect, the favicon with the flag; each
//! request on its own connection, closed with a FIN before the next.

use std::time::Duration;

use super::codec::{
    frame, parse, BodyLength, Host, ParseError, Path, RedirectPath, Request, Response,
    MAX_BODY_READ, MAX_REPLY_LEN,
};
use super::details::{favicon_mmh3, Favicon, HttpDetails, HttpPage, Redirected};
use super::HttpConfig;
use crate::protocols::probe::{ProbeConfig, ProbeEnd, RunProbe};
use crate::record::fields::{Identity, Protocol, Transport};
use crate::record::ServiceObservation;
use crate::request::ReadOnlyRequest;
use crate::session::{DeviceSession, ExchangeError, Failure, FirstPacket, TlsSession};

/// How a web request reaches the server.
#[derive(Clone, Copy)]
pub(crate) enum Scheme<'a> {
    /// Plain HTTP.
    Http,
    /// HTTP in TLS, with this client.
    Https(&'a tokio_rustls::TlsConnector),
}

impl Scheme<'_> {
    fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https(_) => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => super::DEFAULT_PORT,
            Scheme::Https(_) => super::codec::HTTPS_PORT,
        }
    }

    fn protocol(self) -> Protocol {
        match self {
            Scheme::Http => Protocol::Http,
            Scheme::Https(_) => Protocol::Https,
        }
    }
}

/// One `GET` on a new connection to `port`, the connection closed after; over TLS, the
/// handshake's result too (also when the exchange after it failed).
async fn get(
    session: &mut DeviceSession,
    scheme: Scheme<'_>,
    port: u16,
    path: Path,
) -> (
    Option<TlsSession>,
    Result<(Response, Duration), Failure<ParseError>>,
) {
    let request = Request::Get {
        host: Host {
            ip: session.ip(),
            port,
            default_port: scheme.default_port(),
        },
        path,
    };
    let (tls, exchange) = match scheme {
        Scheme::Http => (None, {
            session
                .tcp_exchange_ending(
                    port,
                    &ReadOnlyRequest::Http(request),
                    MAX_REPLY_LEN,
                    &frame,
                    true,
                )
                .await
        }),
        Scheme::Https(connector) => {
            session
                .tls_exchange(
                    port,
                    connector,
                    &ReadOnlyRequest::Https(crate::protocols::https::codec::Request::Get(request)),
                    MAX_REPLY_LEN,
                    &frame,
                )
                .await
        }
    };
    session.close().await;
    let read = exchange.and_then(|reply| match parse(&reply.bytes) {
        Ok(mut response) => {
            // A body that ends at the close is whole when the server closed: the read
            // neither timed out nor stopped at the cap.
            if response.body_length == BodyLength::ToClose
                && !reply.timed_out
                && response.body.len() < MAX_BODY_READ
            {
                response.body_complete = true;
            }
            if reply.timed_out {
                response.warnings.push(
                    "the response did not end within the read timeout: read as far as it came"
                        .to_owned(),
                );
            }
            Ok((response, reply.rtt))
        }
        // Part of a head, then the read timeout: the device did not answer in time.
        Err(_) if reply.timed_out => Err(ExchangeError::Timeout.into()),
        Err(e) => Err(Failure::Malformed(e)),
    });
    (tls, read)
}

/// What a site read found.
pub(crate) struct SiteRead {
    /// The probe's protocol (`http`, `https`).
    pub protocol: Protocol,
    /// The session's packet count when the read began.
    pub start: u32,
    /// The port read (the last tried when none answered).
    pub port: u16,
    /// Round trip of the start page's response.
    pub first_rtt: Option<Duration>,
    /// How the start page's read ended.
    pub outcome: Result<(), Failure<ParseError>>,
    /// The page fields.
    pub page: HttpPage,
    /// Oddities of the responses.
    pub warnings: Vec<String>,
    /// The start page's TLS handshake (https).
    pub tls: Option<TlsSession>,
}

/// Where a redirect's `Location` leads: the path to follow, or why not.
fn redirect_target(
    location: &[u8],
    scheme: Scheme<'_>,
    host: &Host,
) -> Result<RedirectPath, String> {
    let location = std::str::from_utf8(location)
        .map_err(|_| "location not ASCII".to_owned())?
        .trim();
    let path = if location.starts_with('/') && !location.starts_with("//") {
        location.to_owned()
    } else if let Some((loc_scheme, rest)) = location.split_once("://") {
        if !loc_scheme.eq_ignore_ascii_case(scheme.name()) {
            return Err(format!("another scheme ({loc_scheme})"));
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let same = authority.eq_ignore_ascii_case(&host.to_string())
            || authority.eq_ignore_ascii_case(
                &Host {
                    default_port: 0,
                    ..*host
                }
                .to_string(),
            );
        if !same {
            return Err("another host or port".to_owned());
        }
        path.to_owned()
    } else if location.starts_with("//") {
        return Err("another host or port".to_owned());
    } else {
        // Relative to the start page `/`.
        format!("/{location}")
    };
    if path == "/" {
        return Err("a redirect to the page just read".to_owned());
    }
    RedirectPath::new(&path).map_err(str::to_owned)
}

/// The web script for `scheme` over `ports`: the page of the first port that answers.
pub(crate) async fn read_site(
    session: &mut DeviceSession,
    scheme: Scheme<'_>,
    ports: &[u16],
    favicon: bool,
) -> SiteRead {
    let start = session.sent();
    let mut page = HttpPage::default();
    let mut warnings = Vec::new();
    let mut outcome: Result<(), Failure<ParseError>> =
        Err(Failure::Exchange(ExchangeError::Budget(0)));
    let mut first_rtt = None;
    let mut tls = None;
    let mut port = ports.first().copied().unwrap_or(scheme.default_port());
    for (i, &try_port) in ports.iter().enumerate() {
        port = try_port;
        let (handshake, read) = get(session, scheme, port, Path::Root).await;
        if handshake.is_some() {
            page.port = Some(port);
            tls = handshake;
        }
        match read {
            Ok((response, rtt)) => {
                first_rtt = Some(rtt);
                outcome = Ok(());
                page.port = Some(port);
                page.apply(&response, &mut warnings);
                if response.is_redirect() {
                    outcome =
                        follow(session, scheme, port, &response, &mut page, &mut warnings).await;
                }
                if favicon {
                    page.favicon = fetch_favicon(session, scheme, port, &mut warnings).await;
                }
                break;
            }
            Err(e) => {
                let unreached = matches!(
                    e,
                    Failure::Exchange(ExchangeError::Refused | ExchangeError::ConnectTimeout)
                );
                outcome = Err(e);
                if !(unreached && tls.is_none() && i + 1 < ports.len()) {
                    break;
                }
            }
        }
    }
    SiteRead {
        protocol: scheme.protocol(),
        start,
        port,
        first_rtt,
        outcome,
        page,
        warnings,
        tls,
    }
}

impl SiteRead {
    /// The probe's end, counted now: everything sent since the read began.
    pub(crate) fn end(&mut self, session: &DeviceSession) -> ProbeEnd<ParseError> {
        let mut end = ProbeEnd::new(
            self.protocol,
            Transport::Tcp,
            self.port,
            session,
            self.start,
        );
        end.first_rtt = self.first_rtt;
        end.outcome = std::mem::replace(&mut self.outcome, Ok(()));
        end.identified = self.page.status.is_some();
        end
    }
}

/// Follows the start page's redirect when it stays on the site; records why not
/// otherwise.
async fn follow(
    session: &mut DeviceSession,
    scheme: Scheme<'_>,
    port: u16,
    response: &Response,
    page: &mut HttpPage,
    warnings: &mut Vec<String>,
) -> Result<(), Failure<ParseError>> {
    let Some(location) = response.header("location") else {
        warnings.push(format!("redirect ({}) without a Location", response.status));
        return Ok(());
    };
    page.location = Some(crate::record::fields::DeviceText::from_bytes(location));
    let host = Host {
        ip: session.ip(),
        port,
        default_port: scheme.default_port(),
    };
    match redirect_target(location, scheme, &host) {
        Err(reason) => {
            page.redirected = Some(Redirected {
                followed: false,
                path: None,
                reason: Some(reason),
            });
            Ok(())
        }
        Ok(path) => {
            page.redirected = Some(Redirected {
                followed: true,
                path: Some(path.as_str().to_owned()),
                reason: None,
            });
            match get(session, scheme, port, Path::Redirect(path)).await.1 {
                Ok((target, _)) => {
                    if target.is_redirect() {
                        warnings.push(format!(
                            "the redirect target redirects again ({}): not followed",
                            target.status
                        ));
                    }
                    page.apply(&target, warnings);
                    Ok(())
                }
                Err(e) => {
                    warnings.push(format!("redirect target not read: {e}"));
                    Ok(())
                }
            }
        }
    }
}

async fn fetch_favicon(
    session: &mut DeviceSession,
    scheme: Scheme<'_>,
    port: u16,
    warnings: &mut Vec<String>,
) -> Option<Favicon> {
    match get(session, scheme, port, Path::Favicon).await.1 {
        Ok((icon, _)) if icon.status == 200 && !icon.body.is_empty() => {
            if !icon.body_complete {
                warnings.push(format!(
                    "favicon not read whole ({} bytes read): not hashed",
                    icon.body.len()
                ));
            }
            Some(Favicon {
                status: icon.status,
                bytes: icon.body.len() as u64,
                mmh3: icon.body_complete.then(|| favicon_mmh3(&icon.body)),
            })
        }
        Ok(icon) => {
            warnings.push(format!("no favicon (status {})", icon.0.status));
            None
        }
        Err(e) => {
            warnings.push(format!("favicon not read: {e}"));
            None
        }
    }
}

impl RunProbe for HttpConfig {
    /// Reads the start page of the first port that answers (see [`read_site`]).
    async fn probe(&self, session: &mut DeviceSession) -> Vec<(ServiceObservation, Identity)> {
        let mut site = read_site(session, Scheme::Http, &self.ports, self.favicon).await;
        let end = site.end(session);
        let details = HttpDetails {
            page: site.page,
            warnings: site.warnings,
        };
        let identity = super::identity_fields(&details);
        let settled = end.settle(|| "no HTTP response".to_owned());
        let answered = end.first_rtt.is_some();
        vec![(end.observation(settled, details, answered), identity)]
    }

    fn first_packets(&self, _ip: std::net::IpAddr) -> Vec<FirstPacket> {
        vec![FirstPacket::Tcp { port: self.port() }]
    }
}
