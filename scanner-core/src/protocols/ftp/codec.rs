//! FTP greeting, sans IO (RFC 959 4.2, 5.4).
//!
//! The server speaks first: after the TCP handshake of the control connection it sends a
//! reply, normally `220` (service ready), as one line `220 text CR LF` or as a multi-line
//! reply `220-first line` ... `220 last line`, where the lines between may be anything that
//! does not begin with the code and a space. `120` (ready in n minutes) and `421` (not
//! available) are the other greetings RFC 959 allows. otscan reads the one reply and sends
//! nothing: the one [`Request`] encodes to zero bytes, so no USER, PASS or any other command
//! can be spelled.

use crate::protocols::wire::FrameCheck;

/// The one thing the FTP probe can ask: read the server's greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// Read what the server sends first. Encodes to zero bytes: the connection itself
    /// elicits the greeting; the probe closes with a FIN instead of a QUIT.
    ReadGreeting,
}

/// Encodes `request`: always empty (see [`Request::ReadGreeting`]). The correlation goes
/// nowhere.
pub fn encode(request: &Request, _correlation: u32) -> Vec<u8> {
    match request {
        Request::ReadGreeting => Vec::new(),
    }
}

/// Longest line read, line end included.
pub const MAX_LINE_LEN: usize = 1024;
/// Most lines of a multi-line greeting.
pub const MAX_LINES: usize = 64;
/// Largest greeting read.
pub const MAX_REPLY_LEN: usize = 4096;

/// Why the bytes are not an FTP greeting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The first line does not begin with a three-digit code and a space or `-`.
    #[error("not an FTP reply: {0:?}")]
    NotFtp(String),
    /// A NUL byte: binary data, not an FTP greeting.
    #[error("binary data (a NUL byte at offset {0}) where an FTP greeting belongs")]
    Binary(usize),
    /// A line longer than otscan reads.
    #[error("FTP greeting line longer than {MAX_LINE_LEN} bytes")]
    LineTooLong,
    /// A multi-line greeting with more lines than otscan reads.
    #[error("multi-line FTP greeting with more than {MAX_LINES} lines")]
    TooManyLines,
    /// A multi-line greeting whose last line never came.
    #[error("multi-line FTP greeting without its last line ({0} lines)")]
    Unterminated(usize),
    /// Nothing to read.
    #[error("empty FTP greeting")]
    Empty,
    /// The greeting is longer than the size cap.
    #[error("FTP greeting longer than {0} bytes")]
    Oversized(usize),
}

/// An FTP greeting: the reply code and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply code, e.g. 220.
    pub code: u16,
    /// The text of each line without its line end; the first and last without their code
    /// and separator, the lines between without them too when they begin with the same
    /// code and `-` (a convention most servers follow), else as sent.
    pub lines: Vec<Vec<u8>>,
    /// Oddities that did not stop the reading (a bare LF, a missing line end).
    pub warnings: Vec<String>,
}

/// The code of a line that begins with three digits and `sep`.
fn code_of(line: &[u8], sep: u8) -> Option<u16> {
    match line {
        [a, b, c, s, ..] if *s == sep && [a, b, c].iter().all(|d| d.is_ascii_digit()) => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        // A final line with no text at all ("220" and a line end) is read too.
        [a, b, c] if sep == b' ' && [a, b, c].iter().all(|d| d.is_ascii_digit()) => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// One line at the front of `buf`: (content without its line end, length with it, CR LF).
fn line(buf: &[u8]) -> Option<(&[u8], usize, bool)> {
    let end = buf.iter().position(|&b| b == b'\n')?;
    let content = &buf[..end];
    match content.strip_suffix(b"\r") {
        Some(c) => Some((c, end + 1, true)),
        None => Some((content, end + 1, false)),
    }
}

/// Where the greeting at the front of `buf` ends, or why it cannot be one.
enum Scan {
    Complete(usize),
    NeedMore { lines: usize },
    Invalid(ParseError),
}

fn scan(buf: &[u8]) -> Scan {
    if let Some(nul) = buf.iter().position(|&b| b == 0) {
        return Scan::Invalid(ParseError::Binary(nul));
    }
    let head = &buf[..buf.len().min(4)];
    let plausible = head.iter().take(3).all(u8::is_ascii_digit)
        && head
            .get(3)
            .is_none_or(|&s| matches!(s, b' ' | b'-' | b'\r' | b'\n'));
    if !plausible {
        return Scan::Invalid(ParseError::NotFtp(
            String::from_utf8_lossy(&buf[..buf.len().min(40)]).into_owned(),
        ));
    }
    let mut at = 0;
    let mut lines = 0;
    let mut multi: Option<u16> = None;
    loop {
        let rest = &buf[at..];
        let Some((content, len, _)) = line(rest) else {
            if rest.len() >= MAX_LINE_LEN {
                return Scan::Invalid(ParseError::LineTooLong);
            }
            return Scan::NeedMore { lines };
        };
        if len > MAX_LINE_LEN {
            return Scan::Invalid(ParseError::LineTooLong);
        }
        lines += 1;
        match multi {
            None => match code_of(content, b'-') {
                Some(code) => multi = Some(code),
                None => return Scan::Complete(len),
            },
            Some(code) => {
                if code_of(content, b' ') == Some(code) {
                    return Scan::Complete(at + len);
                }
            }
        }
        if lines >= MAX_LINES {
            return Scan::Invalid(ParseError::TooManyLines);
        }
        at += len;
    }
}

/// Framing for `DeviceSession::tcp_read`: complete through the line end of the greeting's
/// last line. `_correlation` is unused (nothing was sent).
pub fn frame(buf: &[u8], _correlation: u32) -> FrameCheck<ParseError> {
    match scan(buf) {
        Scan::Complete(len) => FrameCheck::Complete { len, matches: true },
        Scan::Invalid(e) => FrameCheck::Invalid(e),
        Scan::NeedMore { .. } if buf.len() >= MAX_REPLY_LEN => {
            FrameCheck::Invalid(ParseError::Oversized(MAX_REPLY_LEN))
        }
        Scan::NeedMore { .. } => FrameCheck::NeedMore,
    }
}

/// Reads an FTP greeting. A one-line greeting whose line end never came (the server
/// stopped sending or closed) is read with a warning; a multi-line one without its last
/// line is [`ParseError::Unterminated`].
///
/// # Errors
///
/// [`ParseError`] when the bytes are not a whole FTP reply.
pub fn parse(buf: &[u8]) -> Result<Reply, ParseError> {
    if buf.is_empty() {
        return Err(ParseError::Empty);
    }
    let (len, mut warnings) = match scan(buf) {
        Scan::Complete(len) => (len, Vec::new()),
        Scan::Invalid(e) => return Err(e),
        Scan::NeedMore { lines: 0 } if code_of(buf, b' ').is_some() => {
            (buf.len(), vec!["greeting without a line end".to_owned()])
        }
        Scan::NeedMore { lines } => return Err(ParseError::Unterminated(lines)),
    };
    let body = &buf[..len];
    let mut lines = Vec::new();
    let mut bare_lf = false;
    let mut code = 0;
    let mut at = 0;
    while at < body.len() {
        let (content, n) = match line(&body[at..]) {
            Some((content, n, crlf)) => {
                bare_lf |= !crlf;
                (content, n)
            }
            None => (&body[at..], body.len() - at),
        };
        let first = at == 0;
        let last = at + n == body.len();
        if first {
            code = code_of(content, b'-')
                .or_else(|| code_of(content, b' '))
                .unwrap_or(0);
        }
        let text = if first || last || code_of(content, b'-') == Some(code) {
            content.get(4..).unwrap_or_default()
        } else {
            content
        };
        lines.push(text.to_vec());
        at += n;
    }
    if bare_lf {
        warnings.push("lines end in LF without CR".to_owned());
    }
    if len < buf.len() {
        warnings.push(format!("{} bytes after the greeting", buf.len() - len));
    }
    Ok(Reply {
        code,
        lines,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_request_is_zero_bytes() {
        assert!(encode(&Request::ReadGreeting, 9).is_empty());
    }

    #[test]
    fn one_line_greetings() {
        let buf = b"220 (vsFTPd 3.0.3)\r\n";
        assert_eq!(
            frame(buf, 0),
            FrameCheck::Complete {
                len: buf.len(),
                matches: true
            }
        );
        let reply = parse(buf).unwrap();
        assert_eq!(reply.code, 220);
        assert_eq!(reply.lines, [b"(vsFTPd 3.0.3)".to_vec()]);
        assert!(reply.warnings.is_empty());
        let reply = parse(b"220 VxWorks FTP server (VxWorks 6.9) ready.\n").unwrap();
        assert_eq!(reply.warnings, ["lines end in LF without CR"]);
        assert_eq!(parse(b"421 Too many users\r\n").unwrap().code, 421);
    }

    #[test]
    fn multi_line_greetings() {
        let buf =
            b"220-Welcome to the HMI\r\n220-Authorised users only\r\n  indented\r\n220 ready\r\n";
        assert_eq!(
            frame(&buf[..30], 0),
            FrameCheck::NeedMore,
            "the last line is still to come"
        );
        let reply = parse(buf).unwrap();
        assert_eq!(reply.code, 220);
        let lines: Vec<&[u8]> = reply.lines.iter().map(Vec::as_slice).collect();
        assert_eq!(
            lines,
            [
                &b"Welcome to the HMI"[..],
                b"Authorised users only",
                b"  indented",
                b"ready"
            ]
        );
        // Another code's final line does not end it.
        assert_eq!(frame(b"220-a\r\n230 b\r\n", 0), FrameCheck::NeedMore);
    }

    #[test]
    fn hostile_greetings() {
        assert_eq!(frame(b"220 no newline", 0), FrameCheck::NeedMore);
        let reply = parse(b"220 no newline").unwrap();
        assert_eq!(reply.warnings, ["greeting without a line end"]);
        assert_eq!(
            parse(b"220-never\r\nends"),
            Err(ParseError::Unterminated(1))
        );
        let endless = [b"220-start\r\n".as_slice(), &b"220-more\r\n".repeat(80)].concat();
        assert_eq!(
            frame(&endless, 0),
            FrameCheck::Invalid(ParseError::TooManyLines)
        );
        assert!(matches!(
            frame(b"SSH-2.0-x\r\n", 0),
            FrameCheck::Invalid(ParseError::NotFtp(_))
        ));
        assert_eq!(frame(b"22", 0), FrameCheck::NeedMore);
        assert_eq!(
            frame(b"220\x00", 0),
            FrameCheck::Invalid(ParseError::Binary(3))
        );
        let long = [b"220 ".as_slice(), &[b'x'; 2000]].concat();
        assert_eq!(
            frame(&long, 0),
            FrameCheck::Invalid(ParseError::LineTooLong)
        );
        assert_eq!(parse(b""), Err(ParseError::Empty));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = frame(&bytes, 0);
            let _ = parse(&bytes);
        }

        #[test]
        fn mutated_greetings_never_panic(cut in 0usize..60, flip in 0usize..60, byte in any::<u8>()) {
            let mut buf = b"220-Welcome\r\n  to the HMI\r\n220 ready\r\n".to_vec();
            if flip < buf.len() {
                buf[flip] = byte;
            }
            buf.truncate(cut.min(buf.len()));
            let _ = frame(&buf, 0);
            let _ = parse(&buf);
        }
    }
}
