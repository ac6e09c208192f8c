//! HTTP (TCP 80, or a list of ports), off by default: one `GET / HTTP/1.1` on its own
//! connection (`Host` the target, `User-Agent: otscan/<version>`, `Accept: */*`,
//! `Connection: close`, no body, no credentials, no cookies), the response head and the
//! body's first 64 KiB at most, read only until the page title has closed, then the
//! connection is closed with a FIN. At most one redirect of the start page is followed,
//! on a new connection: to the same host, scheme and port, and to a plain path only
//! (no query, no CGI); any other is recorded, not followed. With `--http-favicon`, one
//! more connection for `GET /favicon.ico`. Each request is its own connection, one at
//! a time (the session's one-connection rule).
//!
//! Ports are tried in order (`--port http=80,8080`): the first that answers with an HTTP
//! response is read, the others are not tried. A device web server answers on the port
//! its engineer set; trying every port would double the cost for one more page that
//! almost always says the same.
//!
//! Not an industrial protocol, and some old device web servers are fragile: off the
//! default probe list, run with `--probes http` or `--probes all`.
//!
//! The module is shared with `https`: [`HttpPage`] is the page part of both records and
//! `probe::read_site` the request script of both.

pub mod codec;
pub mod details;
pub(crate) mod probe;

pub use codec::{
    encode, frame, parse, Host, ParseError, Path, RedirectPath, Request, Response, MAX_BODY_READ,
    MAX_HEADERS, MAX_HEAD_LEN, MAX_REPLY_LEN, USER_AGENT,
};
pub use details::{identity_fields, Favicon, HttpDetails, HttpPage, Redirected};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::Protocol;

/// Default HTTP port.
pub const DEFAULT_PORT: u16 = 80;
/// Most ports in the list: each costs the device a connection attempt.
pub const MAX_PORTS: usize = 8;

/// HTTP probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HttpConfig {
    /// TCP ports tried in order until one answers (default `[80]`).
    pub ports: Vec<u16>,
    /// Also fetch `/favicon.ico` and record its hash (one more connection and request).
    pub favicon: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            ports: vec![DEFAULT_PORT],
            favicon: false,
        }
    }
}

/// `80` or `80,8080`.
pub(crate) fn port_list(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Checks a web probe's port list; `name` is the protocol's.
pub(crate) fn validate_ports(name: &str, ports: &[u16]) -> Result<(), String> {
    if ports.is_empty() {
        return Err(format!("{name} has no port to try"));
    }
    if ports.len() > MAX_PORTS {
        return Err(format!(
            "{name} port list has {} ports (at most {MAX_PORTS})",
            ports.len()
        ));
    }
    if ports.contains(&0) {
        return Err(format!("{name} port 0 is not a port"));
    }
    if let Some(p) = ports
        .iter()
        .enumerate()
        .find_map(|(i, p)| ports[..i].contains(p).then_some(p))
    {
        return Err(format!("{name} port {p} is listed twice"));
    }
    Ok(())
}

/// Most packets a web probe sends: a connection attempt per port, the `GET` on the port
/// that answers, a followed redirect (connection and `GET`) and the favicon's.
pub(crate) fn max_web_requests(ports: usize, favicon: bool) -> u64 {
    ports as u64 + 1 + 2 + if favicon { 2 } else { 0 }
}

/// The port methods of a web probe's [`ProbeConfig`] (a `ports` list tried in order, TCP),
/// shared by `http` and `https`; `$default` is the scheme's port.
macro_rules! web_ports {
    ($default:expr) => {
        fn port(&self) -> u16 {
            self.ports.first().copied().unwrap_or($default)
        }

        fn set_port(&mut self, port: u16) {
            self.ports = vec![port];
        }

        /// The list, tried in order until one answers.
        fn set_ports(&mut self, ports: &[u16]) -> Result<(), String> {
            self.ports = ports.to_vec();
            Ok(())
        }

        fn ports_text(&self) -> String {
            format!("TCP {}", $crate::protocols::http::port_list(&self.ports))
        }

        fn transports(&self) -> &'static [$crate::record::fields::Transport] {
            &[$crate::record::fields::Transport::Tcp]
        }

        fn min_requests(&self, _udp_retries: u32) -> u64 {
            self.ports.len() as u64
        }
    };
}
pub(crate) use web_ports;

impl ProbeConfig for HttpConfig {
    const PROTOCOL: Protocol = Protocol::Http;

    web_ports!(DEFAULT_PORT);

    fn max_requests(&self, _udp_retries: u32) -> u64 {
        max_web_requests(self.ports.len(), self.favicon)
    }

    fn validate(&self) -> Result<(), String> {
        validate_ports("http", &self.ports)
    }

    fn plan(&self) -> Vec<(&'static str, String)> {
        vec![(
            "http",
            format!(
                "GET / on TCP {} (first that answers), at most one same-host redirect{}; head <= {MAX_HEAD_LEN} bytes, body <= {MAX_BODY_READ} bytes",
                port_list(&self.ports),
                if self.favicon { ", GET /favicon.ico" } else { "" }
            ),
        )]
    }
}
