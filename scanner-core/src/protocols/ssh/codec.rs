//! SSH identification string, sans IO (RFC 4253 section 4.2).
//!
//! The server speaks first: after the TCP handshake it sends
//! `SSH-protoversion-softwareversion SP comments CR LF`, at most 255 bytes with the
//! CR LF, and may send other lines before it (none of which begins with `SSH-`).
//! otscan reads up to that line and sends nothing: the one [`Request`] encodes to zero
//! bytes, so no client identification, no key exchange and no credentials can be spelled.

use crate::protocols::wire::FrameCheck;

/// The one thing the SSH probe can ask: read the server's identification string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// Read what the server sends first. Encodes to zero bytes: the connection itself
    /// elicits the identification string, and nothing is written to the server.
    ReadIdentification,
}

/// Encodes `request`: always empty (see [`Request::ReadIdentification`]). The
/// correlation goes nowhere: a banner answers the connection, not a request.
pub fn encode(request: &Request, _correlation: u32) -> Vec<u8> {
    match request {
        Request::ReadIdentification => Vec::new(),
    }
}

/// Longest identification line, CR LF included (RFC 4253 4.2).
pub const MAX_LINE_LEN: usize = 255;
/// Most lines a server may send before its identification string.
pub const MAX_PRE_LINES: usize = 32;
/// Largest greeting read: the identification line and the lines before it.
pub const MAX_REPLY_LEN: usize = 4096;

/// Why the bytes are not an SSH greeting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No line beginning with `SSH-` in the bytes.
    #[error("no SSH identification string in {0} bytes")]
    NoIdentification(usize),
    /// The identification line is longer than RFC 4253 allows.
    #[error("SSH identification line longer than {MAX_LINE_LEN} bytes ({0})")]
    LineTooLong(usize),
    /// More lines before the identification string than otscan reads.
    #[error("more than {MAX_PRE_LINES} lines before the SSH identification string")]
    TooManyLines,
    /// A NUL byte before the identification string: binary data, not an SSH server.
    #[error("binary data (a NUL byte at offset {0}) where an SSH greeting belongs")]
    Binary(usize),
    /// The identification string has no `-` after its protocol version.
    #[error("SSH identification string without a software version: {0:?}")]
    NoSoftwareVersion(String),
    /// The greeting is longer than the size cap.
    #[error("SSH greeting longer than {0} bytes")]
    Oversized(usize),
}

/// The server's identification string, split as RFC 4253 4.2 defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identification {
    /// The line as sent, without its line end.
    pub line: Vec<u8>,
    /// `protoversion`: `2.0`, or `1.99` for a server that also speaks SSH 1.
    pub proto_version: Vec<u8>,
    /// `softwareversion`, e.g. `OpenSSH_9.2p1`.
    pub software_version: Vec<u8>,
    /// `comments` after the first space, e.g. `Debian-2+deb12u3`.
    pub comments: Option<Vec<u8>>,
}

/// An SSH greeting: the lines before the identification string and the string itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Lines before the identification string, without their line ends.
    pub pre_lines: Vec<Vec<u8>>,
    /// The identification string.
    pub identification: Identification,
    /// Oddities that did not stop the reading (a bare LF, a missing line end).
    pub warnings: Vec<String>,
}

/// One line at the front of `buf`: (content without its line end, length with it), or
/// `None` when no LF has arrived yet.
fn line(buf: &[u8]) -> Option<(&[u8], usize)> {
    let end = buf.iter().position(|&b| b == b'\n')?;
    let content = &buf[..end];
    Some((content.strip_suffix(b"\r").unwrap_or(content), end + 1))
}

/// Framing for [`DeviceSession::tcp_read`](crate::session): complete through the LF
/// that ends the identification line. `_correlation` is unused (nothing was sent).
pub fn frame(buf: &[u8], _correlation: u32) -> FrameCheck<ParseError> {
    let mut at = 0;
    let mut lines = 0;
    loop {
        let rest = &buf[at..];
        if let Some(nul) = rest.iter().position(|&b| b == 0) {
            return FrameCheck::Invalid(ParseError::Binary(at + nul));
        }
        match line(rest) {
            Some((content, len)) => {
                if content.starts_with(b"SSH-") {
                    if len > MAX_LINE_LEN {
                        return FrameCheck::Invalid(ParseError::LineTooLong(len));
                    }
                    return FrameCheck::Complete {
                        len: at + len,
                        matches: true,
                    };
                }
                lines += 1;
                if lines > MAX_PRE_LINES {
                    return FrameCheck::Invalid(ParseError::TooManyLines);
                }
                at += len;
            }
            None => {
                if rest.starts_with(b"SSH-") && rest.len() > MAX_LINE_LEN {
                    return FrameCheck::Invalid(ParseError::LineTooLong(rest.len()));
                }
                if buf.len() >= MAX_REPLY_LEN {
                    return FrameCheck::Invalid(ParseError::Oversized(MAX_REPLY_LEN));
                }
                return FrameCheck::NeedMore;
            }
        }
    }
}

/// Reads an SSH greeting: the lines before the identification string and the string.
/// A last line that begins with `SSH-` but never ended (the server stopped sending or
/// closed) is read with a warning.
///
/// # Errors
///
/// [`ParseError`] when the bytes hold no identification string.
pub fn parse(buf: &[u8]) -> Result<Reply, ParseError> {
    let mut warnings = Vec::new();
    let mut pre_lines = Vec::new();
    let mut at = 0;
    loop {
        let rest = &buf[at..];
        if let Some(nul) = rest.iter().position(|&b| b == 0) {
            let is_ident =
                rest.starts_with(b"SSH-") && line(rest).is_none_or(|(_, len)| nul >= len);
            if !is_ident {
                return Err(ParseError::Binary(at + nul));
            }
        }
        let (content, len, ended) = match line(rest) {
            Some((content, len)) => (content, len, true),
            None if rest.is_empty() => return Err(ParseError::NoIdentification(buf.len())),
            None => (rest, rest.len(), false),
        };
        if content.starts_with(b"SSH-") {
            if len > MAX_LINE_LEN {
                return Err(ParseError::LineTooLong(len));
            }
            if !ended {
                warnings.push("identification string without a line end".to_owned());
            } else if !rest[..len].ends_with(b"\r\n") {
                warnings.push("identification string ends in LF without CR".to_owned());
            }
            let identification = split(content)?;
            if at + len < buf.len() {
                warnings.push(format!(
                    "{} bytes after the identification string",
                    buf.len() - at - len
                ));
            }
            return Ok(Reply {
                pre_lines,
                identification,
                warnings,
            });
        }
        if !ended {
            return Err(ParseError::NoIdentification(buf.len()));
        }
        pre_lines.push(content.to_vec());
        if pre_lines.len() > MAX_PRE_LINES {
            return Err(ParseError::TooManyLines);
        }
        at += len;
    }
}

/// Splits `SSH-protoversion-softwareversion[ SP comments]`.
fn split(content: &[u8]) -> Result<Identification, ParseError> {
    let after = &content[4..];
    let Some(dash) = after.iter().position(|&b| b == b'-') else {
        return Err(ParseError::NoSoftwareVersion(
            String::from_utf8_lossy(content).into_owned(),
        ));
    };
    let proto_version = after[..dash].to_vec();
    let rest = &after[dash + 1..];
    let (software_version, comments) = match rest.iter().position(|&b| b == b' ') {
        Some(space) => (rest[..space].to_vec(), Some(rest[space + 1..].to_vec())),
        None => (rest.to_vec(), None),
    };
    Ok(Identification {
        line: content.to_vec(),
        proto_version,
        software_version,
        comments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_request_is_zero_bytes() {
        assert!(encode(&Request::ReadIdentification, 7).is_empty());
    }

    #[test]
    fn openssh_on_debian() {
        let buf = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
        assert_eq!(
            frame(buf, 0),
            FrameCheck::Complete {
                len: buf.len(),
                matches: true
            }
        );
        let reply = parse(buf).unwrap();
        let id = &reply.identification;
        assert_eq!(id.proto_version, b"2.0");
        assert_eq!(id.software_version, b"OpenSSH_9.2p1");
        assert_eq!(id.comments.as_deref(), Some(&b"Debian-2+deb12u3"[..]));
        assert!(reply.warnings.is_empty() && reply.pre_lines.is_empty());
    }

    #[test]
    fn lines_before_the_identification_and_dropbear_with_a_bare_lf() {
        let buf = b"Welcome\r\nauthorised use only\r\nSSH-2.0-dropbear_2022.83\n";
        let FrameCheck::Complete { len, .. } = frame(buf, 0) else {
            panic!()
        };
        assert_eq!(len, buf.len());
        let reply = parse(buf).unwrap();
        assert_eq!(reply.pre_lines.len(), 2);
        assert_eq!(reply.identification.software_version, b"dropbear_2022.83");
        assert_eq!(reply.identification.comments, None);
        assert_eq!(reply.warnings.len(), 1, "{:?}", reply.warnings);
    }

    #[test]
    fn ssh_1_99_and_a_cisco_version_with_a_dash() {
        let reply = parse(b"SSH-1.99-Cisco-1.25\r\n").unwrap();
        assert_eq!(reply.identification.proto_version, b"1.99");
        assert_eq!(reply.identification.software_version, b"Cisco-1.25");
    }

    #[test]
    fn hostile_greetings() {
        // No line end yet: more is needed; once the line is too long, invalid.
        assert_eq!(frame(b"SSH-2.0-x", 0), FrameCheck::NeedMore);
        let long = [b"SSH-2.0-".as_slice(), &[b'a'; 300]].concat();
        assert!(matches!(
            frame(&long, 0),
            FrameCheck::Invalid(ParseError::LineTooLong(_))
        ));
        // A banner without a newline still reads, with a warning.
        let reply = parse(b"SSH-2.0-NoNewline").unwrap();
        assert_eq!(reply.warnings, ["identification string without a line end"]);
        // Binary garbage.
        assert_eq!(
            frame(b"\x00\x01\x02", 0),
            FrameCheck::Invalid(ParseError::Binary(0))
        );
        assert_eq!(parse(b"\xff\x00"), Err(ParseError::Binary(1)));
        // Endless lines before any identification.
        let endless = b"hello\r\n".repeat(40);
        assert_eq!(
            frame(&endless, 0),
            FrameCheck::Invalid(ParseError::TooManyLines)
        );
        // One endless line that is not SSH.
        let blob = vec![b'x'; MAX_REPLY_LEN];
        assert_eq!(
            frame(&blob, 0),
            FrameCheck::Invalid(ParseError::Oversized(MAX_REPLY_LEN))
        );
        assert_eq!(parse(b""), Err(ParseError::NoIdentification(0)));
        assert_eq!(
            parse(b"220 ftp ready\r\n"),
            Err(ParseError::NoIdentification(15))
        );
        assert!(matches!(
            parse(b"SSH-2.0\r\n"),
            Err(ParseError::NoSoftwareVersion(_))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = frame(&bytes, 0);
            let _ = parse(&bytes);
        }

        #[test]
        fn mutated_greetings_never_panic(
            cut in 0usize..60,
            flip in 0usize..60,
            byte in any::<u8>(),
        ) {
            let mut buf = b"banner\r\nSSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n".to_vec();
            if flip < buf.len() {
                buf[flip] = byte;
            }
            buf.truncate(cut.min(buf.len()));
            let _ = frame(&buf, 0);
            let _ = parse(&buf);
        }
    }
}
