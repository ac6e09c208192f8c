//! HTTPS, sans IO: the request inside the TLS session is the HTTP probe's closed
//! `GET` ([`Request`], read with the HTTP codec), and the certificates the handshake
//! brings are read by [`certificate`](super::certificate). The TLS handshake itself is
//! rustls's (see the module documentation of `https`).

pub use crate::protocols::http::codec::{
    encode, frame, parse, Host, ParseError, Path, RedirectPath, Request, Response, MAX_REPLY_LEN,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_the_http_get_with_the_https_default_port() {
        let bytes = encode(
            &Request::Get {
                host: Host {
                    ip: std::net::Ipv4Addr::new(10, 0, 0, 5).into(),
                    port: 443,
                    default_port: 443,
                },
                path: Path::Root,
            },
            0,
        );
        assert!(bytes.starts_with(b"GET / HTTP/1.1\r\nHost: 10.0.0.5\r\n"));
    }
}
