//! HTTP/1.1 `GET`, sans IO (RFC 9110, RFC 9112): the closed request set and a bounded
//! reader of the response.
//!
//! The one request shape is `GET <path> HTTP/1.1` with `Host`, `User-Agent`, `Accept` and
//! `Connection: close` and nothing else: no other method, no body, no credentials, no
//! cookies. [`Path`] can spell only `/`, `/favicon.ico` and one same-host redirect target
//! that passed [`RedirectPath::new`]. The response head is read with `httparse` (at most
//! [`MAX_HEADERS`] headers in [`MAX_HEAD_LEN`] bytes); the body is read up to
//! [`MAX_BODY_READ`] decoded bytes, and only until the page title has closed, the body has
//! ended (`Content-Length`, the last chunk of a chunked body) or the server closes.

use std::fmt;
use std::net::IpAddr;

use crate::protocols::wire::FrameCheck;

/// Most response headers read; more is [`ParseError::TooManyHeaders`].
pub const MAX_HEADERS: usize = 64;
/// Largest response head (status line and headers) read.
pub const MAX_HEAD_LEN: usize = 16 * 1024;
/// Most body bytes (after chunked decoding) read: enough for a page's `<title>`.
pub const MAX_BODY_READ: usize = 64 * 1024;
/// Room for chunked framing (size lines) on top of the body read.
const CHUNK_SLACK: usize = 8 * 1024;
/// Largest response read: head, body and chunk framing.
pub const MAX_REPLY_LEN: usize = MAX_HEAD_LEN + MAX_BODY_READ + CHUNK_SLACK;
/// Longest redirect path followed.
pub const MAX_PATH_LEN: usize = 1024;
/// Longest chunk-size line of a chunked body (size and extensions).
const MAX_CHUNK_LINE: usize = 1024;
/// Longest page title kept (raw bytes, before decoding).
pub const MAX_TITLE_LEN: usize = 1024;

/// The HTTPS port, the `https` scheme's default (the `Host` header leaves it out).
pub const HTTPS_PORT: u16 = 443;

/// The `User-Agent` otscan sends: `otscan/<version>`.
pub const USER_AGENT: &str = concat!("otscan/", env!("CARGO_PKG_VERSION"));

/// The `Host` header's value: the target address (IPv6 in brackets), with `:port` when
/// the port is not the scheme's default (RFC 9110 7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Host {
    /// The target.
    pub ip: IpAddr,
    /// The port the request goes to.
    pub port: u16,
    /// The scheme's default port (80 for `http`, 443 for `https`).
    pub default_port: u16,
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}")?,
            IpAddr::V6(ip) => write!(f, "[{ip}]")?,
        }
        if self.port != self.default_port {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// A redirect target's path, checked: begins with `/`, printable ASCII without space,
/// at most [`MAX_PATH_LEN`] bytes, no query (`?`), no fragment (`#`), no `.` or `..` segment,
/// no percent-escape (`%2e%2e` is a dot segment and `%0d%0a` a line end to a server that
/// decodes them), no backslash (browsers read `/\host` as `//host`), no CGI program
/// (`cgi-bin`, a segment ending in `.cgi`): a query or a CGI path can carry an action; a
/// page path cannot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedirectPath(String);

impl RedirectPath {
    /// Checks `path`.
    ///
    /// # Errors
    ///
    /// Why the path is not followed, as a phrase for the record.
    pub fn new(path: &str) -> Result<Self, &'static str> {
        if !path.starts_with('/') || path.starts_with("//") {
            return Err("not a path on the same host");
        }
        if path.len() > MAX_PATH_LEN {
            return Err("path longer than 1024 bytes");
        }
        if !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("path with a space, a control or a non-ASCII byte");
        }
        if path.contains(['?', '#']) {
            return Err("path with a query or a fragment");
        }
        if path.contains('%') {
            return Err("path with a percent-escape");
        }
        if path.contains('\\') {
            return Err("path with a backslash");
        }
        if path.split('/').any(|s| s == ".." || s == ".") {
            return Err("path with a dot segment");
        }
        let lower = path.to_ascii_lowercase();
        if lower.contains("cgi-bin") || lower.split('/').any(|s| s.ends_with(".cgi")) {
            return Err("path to a CGI program");
        }
        Ok(RedirectPath(path.to_owned()))
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The paths the probe can ask for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Path {
    /// `/`, the device's start page.
    Root,
    /// `/favicon.ico` (only with `--http-favicon`).
    Favicon,
    /// One same-host redirect target of the start page.
    Redirect(RedirectPath),
}

impl Path {
    /// The request target as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Path::Root => "/",
            Path::Favicon => "/favicon.ico",
            Path::Redirect(path) => path.as_str(),
        }
    }
}

/// The one thing the HTTP and HTTPS probes can ask.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Request {
    /// `GET <path> HTTP/1.1` to `host`, `Connection: close`, no body.
    Get {
        /// The `Host` header.
        host: Host,
        /// The request target.
        path: Path,
    },
}

/// Encodes `request`. The correlation goes nowhere: one request per connection, so the
/// response is the connection's.
pub fn encode(request: &Request, _correlation: u32) -> Vec<u8> {
    match request {
        Request::Get { host, path } => format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            path.as_str()
        )
        .into_bytes(),
    }
}

/// Why the bytes are not an HTTP response otscan reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes are not an HTTP/1.x status line and headers.
    #[error("not an HTTP response head: {0}")]
    Head(String),
    /// The head did not end within the size cap.
    #[error("HTTP response head longer than {MAX_HEAD_LEN} bytes")]
    HeadTooLong,
    /// More headers than otscan reads.
    #[error("more than {MAX_HEADERS} HTTP response headers")]
    TooManyHeaders,
    /// The bytes ended before the head did.
    #[error("HTTP response head cut short after {0} bytes")]
    Truncated(usize),
    /// A chunk-size line of a chunked body that is not one.
    #[error("bad chunk size line in a chunked HTTP body")]
    BadChunk,
}

/// How the body's end is known (RFC 9112 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// No body (1xx, 204, 304).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    ToClose,
}

/// An HTTP response as read: the head whole, the body's first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP minor version (`1` for HTTP/1.1).
    pub minor_version: u8,
    /// Status code.
    pub status: u16,
    /// Reason phrase, as sent.
    pub reason: Vec<u8>,
    /// Headers in order: name as sent, value as sent.
    pub headers: Vec<(String, Vec<u8>)>,
    /// How the body's end is known.
    pub body_length: BodyLength,
    /// The body's first bytes, chunked framing removed, at most [`MAX_BODY_READ`].
    pub body: Vec<u8>,
    /// The whole body was read and kept (at most [`MAX_BODY_READ`] bytes). [`parse`]
    /// leaves it false for a body that ends at the close ([`BodyLength::ToClose`]): only
    /// the reader knows whether the server closed (the body's end) or the read stopped.
    pub body_complete: bool,
    /// Oddities that did not stop the reading.
    pub warnings: Vec<String>,
}

impl Response {
    /// The values of header `name` (case-insensitive), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        values(&self.headers, name)
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// A redirect status (301, 302, 303, 307, 308).
    pub fn is_redirect(&self) -> bool {
        matches!(self.status, 301 | 302 | 303 | 307 | 308)
    }
}

/// The values of header `name` (case-insensitive), in order.
fn values<'a>(
    headers: &'a [(String, Vec<u8>)],
    name: &'a str,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

/// The head: (status, reason, headers, minor version, head length).
type Head = (u16, Vec<u8>, Vec<(String, Vec<u8>)>, u8, usize);

/// Interim (1xx) responses skipped before the final one (RFC 9110 15.2: a server may send
/// any number, e.g. `100 Continue`, though we never ask for one); more is an error.
const MAX_INTERIM: usize = 4;

/// The final response's head, after any interim (1xx but 101) responses; its length
/// counts the interim heads before it.
fn head(buf: &[u8]) -> Result<Option<Head>, ParseError> {
    let mut skipped = 0;
    for _ in 0..=MAX_INTERIM {
        match one_head(&buf[skipped..])? {
            Some((status, _, _, _, len)) if (100..200).contains(&status) && status != 101 => {
                skipped += len;
                if skipped > MAX_HEAD_LEN {
                    return Err(ParseError::HeadTooLong);
                }
            }
            Some((status, reason, headers, version, len)) => {
                return Ok(Some((status, reason, headers, version, skipped + len)))
            }
            None => return Ok(None),
        }
    }
    Err(ParseError::Head(format!(
        "more than {MAX_INTERIM} interim (1xx) responses"
    )))
}

fn one_head(buf: &[u8]) -> Result<Option<Head>, ParseError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut slots);
    match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => {
            if len > MAX_HEAD_LEN {
                return Err(ParseError::HeadTooLong);
            }
            let headers = response
                .headers
                .iter()
                .map(|h| (h.name.to_owned(), h.value.to_vec()))
                .collect();
            Ok(Some((
                response.code.unwrap_or(0),
                response.reason.unwrap_or("").as_bytes().to_vec(),
                headers,
                response.version.unwrap_or(1),
                len,
            )))
        }
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_LEN => Err(ParseError::HeadTooLong),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(ParseError::TooManyHeaders),
        Err(e) => Err(ParseError::Head(e.to_string())),
    }
}

fn body_length(
    status: u16,
    headers: &[(String, Vec<u8>)],
    warnings: &mut Vec<String>,
) -> BodyLength {
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return BodyLength::Empty;
    }
    if let Some(te) = values(headers, "transfer-encoding").last() {
        let last = te.rsplit(|&b| b == b',').next().unwrap_or_default();
        if last.trim_ascii().eq_ignore_ascii_case(b"chunked") {
            return BodyLength::Chunked;
        }
        warnings.push("transfer coding other than chunked: body read to the close".to_owned());
        return BodyLength::ToClose;
    }
    let lengths: Vec<Option<u64>> = values(headers, "content-length")
        .map(|v| {
            std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.trim().parse().ok())
        })
        .collect();
    match lengths.as_slice() {
        [] => BodyLength::ToClose,
        [Some(n), rest @ ..] if rest.iter().all(|r| *r == Some(*n)) => BodyLength::Length(*n),
        _ => {
            warnings
                .push("invalid or conflicting Content-Length: body read to the close".to_owned());
            BodyLength::ToClose
        }
    }
}

/// The decoded body so far: (bytes, the body ended, raw bytes consumed).
fn decode_body(length: BodyLength, raw: &[u8]) -> Result<(Vec<u8>, bool, usize), ParseError> {
    match length {
        BodyLength::Empty => Ok((Vec::new(), true, 0)),
        BodyLength::Length(n) => {
            let take = usize::try_from(n).unwrap_or(usize::MAX).min(raw.len());
            let kept = take.min(MAX_BODY_READ);
            // Whole when all `n` bytes are in and kept (the cap cuts what is kept; the
            // read may run past it by the chunk slack).
            Ok((raw[..kept].to_vec(), kept as u64 == n, take))
        }
        BodyLength::ToClose => {
            let kept = raw.len().min(MAX_BODY_READ);
            Ok((raw[..kept].to_vec(), false, raw.len()))
        }
        BodyLength::Chunked => {
            let mut out = Vec::new();
            let mut at = 0;
            loop {
                if out.len() >= MAX_BODY_READ {
                    out.truncate(MAX_BODY_READ);
                    return Ok((out, false, at));
                }
                let rest = &raw[at..];
                let Some(eol) = rest
                    .iter()
                    .take(MAX_CHUNK_LINE + 1)
                    .position(|&b| b == b'\n')
                else {
                    if rest.len() > MAX_CHUNK_LINE {
                        return Err(ParseError::BadChunk);
                    }
                    return Ok((out, false, at));
                };
                let line = rest[..eol].strip_suffix(b"\r").unwrap_or(&rest[..eol]);
                let size_text = line
                    .split(|&b| b == b';')
                    .next()
                    .unwrap_or_default()
                    .trim_ascii();
                let size = std::str::from_utf8(size_text)
                    .ok()
                    .filter(|s| !s.is_empty() && s.len() <= 16)
                    .and_then(|s| usize::from_str_radix(s, 16).ok())
                    .ok_or(ParseError::BadChunk)?;
                let data_at = at + eol + 1;
                if size == 0 {
                    // The last chunk: trailers are not read.
                    return Ok((out, true, raw.len().min(data_at)));
                }
                let available = raw.len().saturating_sub(data_at);
                let take = size.min(available);
                out.extend_from_slice(&raw[data_at..data_at + take]);
                if take < size {
                    out.truncate(MAX_BODY_READ);
                    return Ok((out, false, raw.len()));
                }
                let mut next = data_at + size;
                // The chunk's CRLF.
                match &raw[next..] {
                    [b'\r', b'\n', ..] => next += 2,
                    [b'\n', ..] => next += 1,
                    [] | [b'\r'] => return Ok((out, false, raw.len())),
                    _ => return Err(ParseError::BadChunk),
                }
                at = next;
            }
        }
    }
}

/// Framing for the session: complete when the body has ended, the page title has
/// closed, or [`MAX_BODY_READ`] body bytes are in; a response that ends at the close is
/// whole at the close (the session's `tcp_exchange_to_close`). `_correlation` is unused.
pub fn frame(buf: &[u8], _correlation: u32) -> FrameCheck<ParseError> {
    let (status, _, headers, _, head_len) = match head(buf) {
        Ok(Some(head)) => head,
        Ok(None) => return FrameCheck::NeedMore,
        Err(e) => return FrameCheck::Invalid(e),
    };
    let length = body_length(status, &headers, &mut Vec::new());
    let raw = &buf[head_len..];
    let whole = FrameCheck::Complete {
        len: buf.len(),
        matches: true,
    };
    match decode_body(length, raw) {
        // The head answered the request: a body that breaks its chunking is the
        // device's answer all the same (`parse` records a warning), not a broken reply.
        Err(_) => whole,
        Ok((_, true, used)) => FrameCheck::Complete {
            len: head_len + used,
            matches: true,
        },
        Ok((body, false, _)) => {
            if body.len() >= MAX_BODY_READ
                || raw.len() >= MAX_BODY_READ + CHUNK_SLACK
                || title_closed(&body)
            {
                whole
            } else {
                FrameCheck::NeedMore
            }
        }
    }
}

/// Reads a response: the head whole, the body as far as it came (a body cut short by
/// the size cap or the close is read with `body_complete` false).
///
/// # Errors
///
/// [`ParseError`] when the head is not an HTTP/1.x response head or is cut short.
pub fn parse(buf: &[u8]) -> Result<Response, ParseError> {
    let Some((status, reason, headers, minor_version, head_len)) = head(buf)? else {
        return Err(ParseError::Truncated(buf.len()));
    };
    let mut warnings = Vec::new();
    let body_length = body_length(status, &headers, &mut warnings);
    let (body, body_complete, _) = match decode_body(body_length, &buf[head_len..]) {
        Ok(read) => read,
        Err(e) => {
            warnings.push(format!("body not read: {e}"));
            (Vec::new(), false, 0)
        }
    };
    if let BodyLength::Length(n) = body_length {
        if !body_complete && body.len() < MAX_BODY_READ && !title_closed(&body) {
            warnings.push(format!(
                "body shorter than its Content-Length ({} of {n} bytes)",
                body.len()
            ));
        }
    }
    Ok(Response {
        minor_version,
        status,
        reason,
        headers,
        body_length,
        body,
        body_complete,
        warnings,
    })
}

/// Position of `needle` (ASCII, lower case) in `hay`, ignoring ASCII case.
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Where the `<title>` element's content starts: after the `>` of `<title` or
/// `<title attr=..>`.
fn title_start(body: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find_ci(&body[from..], b"<title") {
        let after = from + at + 6;
        match body.get(after) {
            Some(b'>') => return Some(after + 1),
            Some(b) if b.is_ascii_whitespace() || *b == b'/' => {
                let close = body[after..].iter().position(|&b| b == b'>')?;
                return Some(after + close + 1);
            }
            // `<titlebar>`: another element.
            Some(_) => from = after,
            None => return None,
        }
    }
    None
}

fn title_closed(body: &[u8]) -> bool {
    title_start(body).is_some_and(|start| find_ci(&body[start..], b"</title").is_some())
}

/// A page title as found in the body: its raw bytes (at most [`MAX_TITLE_LEN`]) and
/// whether it was cut (not closed in the bytes read, or longer than the cap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTitle {
    /// The bytes between `<title>` and `</title>`, undecoded.
    pub bytes: Vec<u8>,
    /// The title did not close within the bytes read.
    pub unclosed: bool,
    /// The title was longer than [`MAX_TITLE_LEN`] and was cut.
    pub cut: bool,
}

/// The first `<title>` element of `body`, case-insensitive.
pub fn title(body: &[u8]) -> Option<RawTitle> {
    let start = title_start(body)?;
    let rest = &body[start..];
    let (content, unclosed) = match find_ci(rest, b"</title") {
        Some(end) => (&rest[..end], false),
        None => (rest, true),
    };
    let cut = content.len() > MAX_TITLE_LEN;
    Some(RawTitle {
        bytes: content[..content.len().min(MAX_TITLE_LEN)].to_vec(),
        unclosed,
        cut,
    })
}

/// The character set a page declares in its first bytes: `<meta charset="x">` or
/// `<meta http-equiv="Content-Type" content="text/html; charset=x">` (the label as
/// written, lower case).
pub fn meta_charset(body: &[u8]) -> Option<String> {
    let head_end = find_ci(body, b"</head").unwrap_or(body.len()).min(4096);
    let head = &body[..head_end];
    let mut from = 0;
    while let Some(at) = find_ci(&head[from..], b"<meta") {
        let tag_start = from + at;
        let tag_end = head[tag_start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(head.len(), |e| tag_start + e);
        if let Some(label) = charset_param(&head[tag_start..tag_end]) {
            return Some(label);
        }
        from = tag_end;
    }
    None
}

/// The value after `charset=` in `text` (a Content-Type value or a meta tag).
pub fn charset_param(text: &[u8]) -> Option<String> {
    let at = find_ci(text, b"charset=")? + 8;
    let value: Vec<u8> = text[at..]
        .iter()
        .copied()
        .skip_while(|&b| b == b'"' || b == b'\'')
        .take_while(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        .collect();
    (!value.is_empty()).then(|| String::from_utf8_lossy(&value).to_ascii_lowercase())
}

/// Decodes HTML character references in a title: the five XML ones, `&nbsp;` and
/// numeric references (`&#169;`, `&#xA9;`); anything else is left as written. Own code
/// rather than a crate: titles of device pages use only these, and the full HTML table
/// (2231 names) would be a large dependency for a rare case.
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..].find(';').map(|e| e + 1).filter(|&e| e <= 10);
        let decoded = end.and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .map(|h| u32::from_str_radix(h, 16))
                    .or_else(|| name.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32)
                    .filter(|c| *c != '\0'),
            };
            c.map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Collapses runs of whitespace (and `&nbsp;`) into one space and trims the ends, as a
/// browser shows a title.
pub fn collapse_whitespace(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '\u{a0}')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `realm` parameter of a `WWW-Authenticate` value (`Basic realm="NPort"`), quoted
/// string unescaped, or a bare token.
pub fn realm(value: &[u8]) -> Option<Vec<u8>> {
    let at = find_ci(value, b"realm=")? + 6;
    let rest = &value[at..];
    if let Some(quoted) = rest.strip_prefix(b"\"") {
        let mut out = Vec::new();
        let mut escaped = false;
        for &b in quoted {
            match (escaped, b) {
                (false, b'\\') => escaped = true,
                (false, b'"') => return Some(out),
                _ => {
                    out.push(b);
                    escaped = false;
                }
            }
        }
        Some(out)
    } else {
        let token: Vec<u8> = rest
            .iter()
            .copied()
            .take_while(|&b| b != b',' && !b.is_ascii_whitespace())
            .collect();
        (!token.is_empty()).then_some(token)
    }
}

/// The cookie's name in a `Set-Cookie` value (the text before `=`), never its value.
pub fn cookie_name(value: &[u8]) -> Option<String> {
    let name = value.split(|&b| b == b'=').next()?.trim_ascii();
    (!name.is_empty() && name.len() <= 256 && !value.starts_with(b"="))
        .then(|| String::from_utf8_lossy(name).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn get(ip: IpAddr, port: u16, path: Path) -> Vec<u8> {
        encode(
            &Request::Get {
                host: Host {
                    ip,
                    port,
                    default_port: 80,
                },
                path,
            },
            1,
        )
    }

    #[test]
    fn the_request_is_one_plain_get() {
        let bytes = get(Ipv4Addr::new(10, 0, 0, 5).into(), 80, Path::Root);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            format!(
                "GET / HTTP/1.1\r\nHost: 10.0.0.5\r\nUser-Agent: otscan/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
                env!("CARGO_PKG_VERSION")
            )
        );
        let v6 = get(Ipv6Addr::LOCALHOST.into(), 8080, Path::Favicon);
        assert!(v6.starts_with(b"GET /favicon.ico HTTP/1.1\r\nHost: [::1]:8080\r\n"));
    }

    #[test]
    fn a_good_head_with_a_broken_body_is_an_answer_with_a_warning() {
        let raw = b"HTTP/1.1 200 OK\r\nServer: Chunky/1\r\nTransfer-Encoding: chunked\r\n\r\n\
                    FFFFFFFFFFFFFFFFFFFF\r\nabc";
        assert!(matches!(
            frame(raw, 0),
            FrameCheck::Complete { matches: true, .. }
        ));
        let r = parse(raw).unwrap();
        assert_eq!(
            (r.status, r.header("server")),
            (200, Some(&b"Chunky/1"[..]))
        );
        assert!(
            r.warnings.iter().any(|w| w.starts_with("body not read")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn interim_responses_are_skipped_and_bounded() {
        let r = parse(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\n\
              Server: RealOne\r\nContent-Length: 17\r\n\r\n<title>ok</title>",
        )
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("server"), Some(&b"RealOne"[..]));
        assert_eq!(title(&r.body).map(|t| t.bytes), Some(b"ok".to_vec()));
        // An interim response alone is not an answer yet; five of them are an error.
        assert!(matches!(
            frame(b"HTTP/1.1 100 Continue\r\n\r\n", 0),
            FrameCheck::NeedMore
        ));
        let five = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(5);
        assert!(parse(&five).is_err());
    }

    #[test]
    fn redirect_paths_are_checked() {
        assert!(RedirectPath::new("/index.html").is_ok());
        assert!(RedirectPath::new("/Portal/Portal.mwsl").is_ok());
        for bad in [
            "index.html",
            "//evil.example/",
            "/a b",
            "/a\r\nX: y",
            "/login?next=/",
            "/../etc/passwd",
            "/cgi-bin/reboot",
            "/caf\u{e9}",
            // Encoded dot segments, line ends and NULs, a backslash, a CGI program.
            "/%2e%2e/etc/passwd",
            "/.%2E/x",
            "/%0d%0aX-Injected:%20y",
            "/x%00y",
            "/\\evil",
            "/admin/reboot.cgi",
            "/x.CGI",
        ] {
            assert!(RedirectPath::new(bad).is_err(), "{bad:?}");
        }
        assert!(RedirectPath::new(&format!("/{}", "a".repeat(1024))).is_err());
    }

    const S7_PAGE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: Siemens S7-1500 Web Server\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 71\r\nSet-Cookie: siemens_ad_session=abc123; path=/\r\n\r\n<html><head><title>SIMATIC&nbsp;S7-1500</title></head><body></body></html>";

    #[test]
    fn a_page_with_a_length() {
        let FrameCheck::Complete { len, matches: true } = frame(S7_PAGE, 0) else {
            panic!("{:?}", frame(S7_PAGE, 0))
        };
        assert!(len <= S7_PAGE.len());
        let response = parse(S7_PAGE).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.reason, b"OK");
        assert_eq!(
            response.header("server"),
            Some(&b"Siemens S7-1500 Web Server"[..])
        );
        let title = title(&response.body).unwrap();
        assert_eq!(title.bytes, b"SIMATIC&nbsp;S7-1500");
        assert_eq!(
            collapse_whitespace(&decode_entities("SIMATIC&nbsp;S7-1500")),
            "SIMATIC S7-1500"
        );
        assert_eq!(
            cookie_name(b"siemens_ad_session=abc123; path=/").unwrap(),
            "siemens_ad_session"
        );
    }

    #[test]
    fn a_chunked_page_and_the_title_ends_the_read() {
        let buf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n<title>\r\n5;ext=1\r\nNPort\r\n8\r\n</title>\r\n0\r\n\r\n";
        assert!(matches!(frame(buf, 0), FrameCheck::Complete { .. }));
        let response = parse(buf).unwrap();
        assert!(response.body_complete);
        assert_eq!(response.body, b"<title>NPort</title>");
        // The title closed: no need to wait for the rest.
        let open =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n<title>NPort</title>\r\n";
        assert!(matches!(frame(open, 0), FrameCheck::Complete { .. }));
        let waiting = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n<title>\r\n";
        assert_eq!(frame(waiting, 0), FrameCheck::NeedMore);
        // A broken chunk after a good head ends the read; `parse` warns of it.
        assert!(matches!(
            frame(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                0
            ),
            FrameCheck::Complete { matches: true, .. }
        ));
    }

    #[test]
    fn a_body_to_the_close_and_a_body_without_a_title() {
        let buf = b"HTTP/1.0 200 OK\r\nServer: GoAhead-Webs\r\n\r\n<html>no title here";
        assert_eq!(frame(buf, 0), FrameCheck::NeedMore);
        let response = parse(buf).unwrap();
        assert_eq!(response.minor_version, 0);
        assert_eq!(response.body_length, BodyLength::ToClose);
        assert!(title(&response.body).is_none());
        let redirect =
            b"HTTP/1.1 302 Found\r\nLocation: /Portal/Portal.mwsl\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            frame(redirect, 0),
            FrameCheck::Complete {
                len: redirect.len(),
                matches: true
            }
        );
        assert!(parse(redirect).unwrap().is_redirect());
    }

    #[test]
    fn titles_realms_and_charsets() {
        let t = title(b"<HTML><TITLE lang=en>APC | Log On</TITLE>").unwrap();
        assert_eq!(t.bytes, b"APC | Log On");
        assert!(title(b"<titlebar>x</titlebar>").is_none());
        let open = title(b"<title>never closed").unwrap();
        assert!(open.unclosed);
        assert_eq!(
            realm(b"Basic realm=\"NPort Web Console\""),
            Some(b"NPort Web Console".to_vec())
        );
        assert_eq!(
            realm(b"Digest realm=WAGO, nonce=\"x\""),
            Some(b"WAGO".to_vec())
        );
        assert_eq!(
            charset_param(b"text/html; charset=ISO-8859-1"),
            Some("iso-8859-1".into())
        );
        assert_eq!(
            meta_charset(b"<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"></head>"),
            Some("windows-1251".into())
        );
        assert_eq!(
            meta_charset(b"<meta charset=\"utf-8\">"),
            Some("utf-8".into())
        );
        assert_eq!(
            decode_entities("a &amp; b &lt;&#65;&#x42;&gt; &bogus; &"),
            "a & b <AB> &bogus; &"
        );
        assert_eq!(collapse_whitespace("\r\n  Moxa\t NPort \n"), "Moxa NPort");
    }

    #[test]
    fn hostile_heads() {
        let endless = [
            b"HTTP/1.1 200 OK\r\n".as_slice(),
            &b"X-A: b\r\n".repeat(2000),
        ]
        .concat();
        assert!(matches!(
            frame(&endless, 0),
            FrameCheck::Invalid(ParseError::TooManyHeaders | ParseError::HeadTooLong)
        ));
        let long = [
            b"HTTP/1.1 200 OK\r\nX: ".as_slice(),
            &[b'a'; MAX_HEAD_LEN + 10],
        ]
        .concat();
        assert_eq!(
            frame(&long, 0),
            FrameCheck::Invalid(ParseError::HeadTooLong)
        );
        assert!(matches!(
            frame(b"\x16\x03\x01\x00\x05hello", 0),
            FrameCheck::Invalid(ParseError::Head(_))
        ));
        assert!(matches!(
            frame(b"SSH-2.0-OpenSSH\r\n", 0),
            FrameCheck::Invalid(ParseError::Head(_))
        ));
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\n"),
            Err(ParseError::Truncated(17))
        );
        // A huge body: complete once the cap is in.
        let mut big = b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'x', MAX_BODY_READ));
        assert!(matches!(frame(&big, 0), FrameCheck::Complete { .. }));
        assert_eq!(parse(&big).unwrap().body.len(), MAX_BODY_READ);
        // A lying length: shorter body, with a warning.
        let short = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nabc").unwrap();
        assert_eq!(short.warnings.len(), 1);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..800)) {
            let _ = frame(&bytes, 0);
            let _ = parse(&bytes);
            let _ = title(&bytes);
            let _ = meta_charset(&bytes);
            let _ = realm(&bytes);
            let _ = decode_entities(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn mutated_responses_never_panic(cut in 0usize..200, flip in 0usize..200, byte in any::<u8>()) {
            let mut buf = S7_PAGE.to_vec();
            if flip < buf.len() {
                buf[flip] = byte;
            }
            buf.truncate(cut.min(buf.len()));
            let _ = frame(&buf, 0);
            let _ = parse(&buf);
        }
    }
}
