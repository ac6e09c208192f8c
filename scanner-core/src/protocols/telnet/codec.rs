//! Telnet, sans IO (RFC 854, RFC 855): the server's first bytes, split into option
//! negotiation and text, and the client's refusals.
//!
//! A telnet server speaks first: it asks for options (`IAC DO x`, `IAC WILL x`, sub-
//! negotiations `IAC SB ... IAC SE`) and sends its banner and login prompt as text. otscan
//! reads it and answers only what the protocol requires an answer to, each time with a
//! refusal: every `DO x` with `WONT x`, every `WILL x` with `DONT x` (RFC 854: either side
//! may refuse any option), each option at most once (RFC 1143's loop rule). Nothing else can
//! be spelled: no text, no credentials, no sub-negotiation.

use crate::protocols::wire::FrameCheck;

/// Interpret As Command.
pub const IAC: u8 = 255;
/// Refuse to perform an option (our answer to `DO`).
pub const WONT: u8 = 252;
/// Ask the other side not to perform an option (our answer to `WILL`).
pub const DONT: u8 = 254;
/// The other side asks us to perform an option.
pub const DO: u8 = 253;
/// The other side offers to perform an option.
pub const WILL: u8 = 251;
/// Sub-negotiation begin.
pub const SB: u8 = 250;
/// Sub-negotiation end.
pub const SE: u8 = 240;

/// A refusal otscan can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Refusal {
    /// `IAC WONT option`: we will not perform it (the answer to `DO`).
    Wont(u8),
    /// `IAC DONT option`: the server should not perform it (the answer to `WILL`).
    Dont(u8),
}

/// The telnet requests otscan can send: reading, or refusing options.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Request {
    /// Read what the server sends. Encodes to zero bytes.
    ReadBanner,
    /// Refuse the options the server asked for: three bytes each, nothing else.
    Refuse(Vec<Refusal>),
}

/// Encodes `request`. The correlation goes nowhere.
pub fn encode(request: &Request, _correlation: u32) -> Vec<u8> {
    match request {
        Request::ReadBanner => Vec::new(),
        Request::Refuse(refusals) => refusals
            .iter()
            .flat_map(|r| match *r {
                Refusal::Wont(option) => [IAC, WONT, option],
                Refusal::Dont(option) => [IAC, DONT, option],
            })
            .collect(),
    }
}

/// Largest banner read, negotiation included.
pub const MAX_REPLY_LEN: usize = 4096;
/// Longest sub-negotiation read.
pub const MAX_SUBNEGOTIATION: usize = 256;

/// Why the bytes are not telnet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A sub-negotiation longer than otscan reads.
    #[error("telnet sub-negotiation longer than {MAX_SUBNEGOTIATION} bytes")]
    LongSubnegotiation,
    /// Binary data: more than a third of the text bytes unprintable.
    #[error("binary data where a telnet banner belongs ({0} of {1} text bytes unprintable)")]
    Binary(usize, usize),
}

/// What one chunk of a telnet stream holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    /// Options the server asked us to perform (`DO`), in order.
    pub do_options: Vec<u8>,
    /// Options the server offered to perform (`WILL`), in order.
    pub will_options: Vec<u8>,
    /// Other commands seen (`DONT`, `WONT`, sub-negotiations, GA, NOP...), counted.
    pub other_commands: usize,
    /// The text bytes, negotiation taken out (`IAC IAC` read as one 255).
    pub text: Vec<u8>,
}

/// Framing for a telnet chunk: whatever arrived, cut before an unfinished command so that
/// no command is split between two reads. `_correlation` is unused.
pub fn frame(buf: &[u8], _correlation: u32) -> FrameCheck<ParseError> {
    match complete_len(buf) {
        Err(e) => FrameCheck::Invalid(e),
        Ok(0) => FrameCheck::NeedMore,
        Ok(len) => FrameCheck::Complete { len, matches: true },
    }
}

/// How many bytes at the front of `buf` hold only whole commands.
fn complete_len(buf: &[u8]) -> Result<usize, ParseError> {
    let mut at = 0;
    let mut whole = 0;
    while at < buf.len() {
        if buf[at] != IAC {
            at += 1;
            whole = at;
            continue;
        }
        match buf.get(at + 1) {
            None => return Ok(whole),
            Some(&(DO | DONT | WILL | WONT)) => {
                if at + 2 >= buf.len() {
                    return Ok(whole);
                }
                at += 3;
            }
            Some(&SB) => {
                let body = &buf[at + 2..];
                match body.windows(2).position(|w| w == [IAC, SE]) {
                    Some(end) if end <= MAX_SUBNEGOTIATION => at += 2 + end + 2,
                    Some(_) => return Err(ParseError::LongSubnegotiation),
                    None if body.len() > MAX_SUBNEGOTIATION => {
                        return Err(ParseError::LongSubnegotiation)
                    }
                    None => return Ok(whole),
                }
            }
            Some(_) => at += 2,
        }
        whole = at;
    }
    Ok(whole)
}

/// Splits a chunk into negotiation and text (an unfinished command at the end is left
/// out; [`frame`] never cuts one).
///
/// # Errors
///
/// [`ParseError::LongSubnegotiation`].
pub fn parse(buf: &[u8]) -> Result<Chunk, ParseError> {
    let len = complete_len(buf)?;
    let buf = &buf[..len];
    let mut chunk = Chunk::default();
    let mut at = 0;
    while at < buf.len() {
        let b = buf[at];
        if b != IAC {
            chunk.text.push(b);
            at += 1;
            continue;
        }
        match (buf.get(at + 1), buf.get(at + 2)) {
            (Some(&DO), Some(&option)) => {
                chunk.do_options.push(option);
                at += 3;
            }
            (Some(&WILL), Some(&option)) => {
                chunk.will_options.push(option);
                at += 3;
            }
            (Some(&(DONT | WONT)), Some(_)) => {
                chunk.other_commands += 1;
                at += 3;
            }
            (Some(&SB), _) => {
                let body = &buf[at + 2..];
                let end = body
                    .windows(2)
                    .position(|w| w == [IAC, SE])
                    .unwrap_or(body.len());
                chunk.other_commands += 1;
                at += 2 + end + 2;
            }
            (Some(&IAC), _) => {
                chunk.text.push(IAC);
                at += 2;
            }
            _ => {
                chunk.other_commands += 1;
                at += 2;
            }
        }
    }
    Ok(chunk)
}

/// Checks that banner text is text: at most a third of its bytes outside printable ASCII
/// and the controls a terminal banner uses (CR, LF, TAB, BS, BEL, FF, ESC, and NUL after
/// CR as NVT sends it). Random bytes are about 60% outside; a banner in another encoding
/// than ASCII may be refused too (its bytes are in the record's `received` then).
///
/// # Errors
///
/// [`ParseError::Binary`] with the odd and total counts.
pub fn check_text(text: &[u8]) -> Result<(), ParseError> {
    let odd = text
        .iter()
        .enumerate()
        .filter(|&(i, &b)| {
            let nvt_nul = b == 0 && i > 0 && text[i - 1] == b'\r';
            !(b' '..=b'~').contains(&b)
                && !matches!(b, b'\r' | b'\n' | b'\t' | 7 | 8 | 12 | 27)
                && !nvt_nul
        })
        .count();
    if odd * 3 > text.len() {
        return Err(ParseError::Binary(odd, text.len()));
    }
    Ok(())
}

/// The printable banner: control bytes stripped (CR LF kept as a line feed, terminal escape
/// sequences removed), surrounding blank lines trimmed.
pub fn printable(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        let b = text[at];
        match b {
            // ESC [ ... final byte: a CSI sequence; ESC x: a two-byte sequence.
            27 => {
                if text.get(at + 1) == Some(&b'[') {
                    at += 2;
                    while at < text.len() && !(0x40..=0x7E).contains(&text[at]) {
                        at += 1;
                    }
                    at += 1;
                } else {
                    at += 2;
                }
                continue;
            }
            b'\n' => out.push(b'\n'),
            b'\t' => out.push(b'\t'),
            b if b < 0x20 || b == 0x7F => {}
            b => out.push(b),
        }
        at += 1;
    }
    let start = out
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(out.len());
    let end = out
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    out[start..end].to_vec()
}

/// Whether the text so far ends with what a server says when it waits for input (a login
/// or password prompt, a menu's choice, a shell prompt): the banner is complete.
pub fn ends_with_prompt(text: &[u8]) -> bool {
    let trimmed = text
        .iter()
        .rposition(|b| *b != b' ')
        .map_or(&text[..0], |e| &text[..=e]);
    matches!(trimmed.last(), Some(b':' | b'>' | b'#' | b'$' | b'?'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refusals_are_three_bytes_each_and_reading_is_none() {
        assert!(encode(&Request::ReadBanner, 1).is_empty());
        assert_eq!(
            encode(
                &Request::Refuse(vec![Refusal::Wont(24), Refusal::Dont(1)]),
                1
            ),
            [IAC, WONT, 24, IAC, DONT, 1]
        );
    }

    #[test]
    fn a_linux_telnetd_opening() {
        // DO TERMINAL-TYPE, DO TSPEED, DO XDISPLOC, DO NEW-ENVIRON, then later text.
        let buf = [IAC, DO, 24, IAC, DO, 32, IAC, DO, 35, IAC, DO, 39];
        assert_eq!(
            frame(&buf, 0),
            FrameCheck::Complete {
                len: buf.len(),
                matches: true
            }
        );
        let chunk = parse(&buf).unwrap();
        assert_eq!(chunk.do_options, [24, 32, 35, 39]);
        assert!(chunk.text.is_empty());
    }

    #[test]
    fn a_serial_server_menu_with_will_echo() {
        let mut buf = vec![IAC, WILL, 1, IAC, WILL, 3];
        buf.extend_from_slice(b"\r\n\x1b[2JModel name : NPort 5110\r\nlogin: ");
        let chunk = parse(&buf).unwrap();
        assert_eq!(chunk.will_options, [1, 3]);
        assert!(check_text(&chunk.text).is_ok());
        assert_eq!(printable(&chunk.text), b"Model name : NPort 5110\nlogin:");
        assert!(ends_with_prompt(&chunk.text));
    }

    #[test]
    fn unfinished_commands_wait_for_more() {
        assert_eq!(frame(&[IAC], 0), FrameCheck::NeedMore);
        assert_eq!(frame(&[IAC, DO], 0), FrameCheck::NeedMore);
        assert_eq!(
            frame(&[b'a', IAC, DO], 0),
            FrameCheck::Complete {
                len: 1,
                matches: true
            }
        );
        assert_eq!(frame(&[IAC, SB, 24, 1], 0), FrameCheck::NeedMore);
        let sub = [IAC, SB, 24, 1, IAC, SE, b'x'];
        let chunk = parse(&sub).unwrap();
        assert_eq!(
            (chunk.other_commands, chunk.text.as_slice()),
            (1, &b"x"[..])
        );
        let long = [[IAC, SB].as_slice(), &[7; 300]].concat();
        assert_eq!(
            frame(&long, 0),
            FrameCheck::Invalid(ParseError::LongSubnegotiation)
        );
        assert_eq!(parse(&[IAC, IAC, b'a']).unwrap().text, [IAC, b'a']);
    }

    #[test]
    fn garbage_is_not_text() {
        let bytes = crate::protocols::wire::hex_bytes(
            "38af23716db2f053adbaa4a34cd19f5de8dad525eb74cc4c6c91b9c1a90858fb1c7035ee6390ef62e2b97a0d07299d9ed1a75f64b1b61dee19afde281cc877b4",
        );
        let chunk = parse(&bytes).unwrap();
        assert_eq!(chunk.text.len(), 64);
        assert!(check_text(&chunk.text).is_err());
        assert!(check_text(&[0, 1, 2, 3, 4, 5, 6, 8]).is_err());
        assert!(check_text(b"login: ").is_ok());
        assert!(check_text(b"").is_ok());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = frame(&bytes, 0);
            if let Ok(chunk) = parse(&bytes) {
                let _ = check_text(&chunk.text);
                let _ = printable(&chunk.text);
                let _ = ends_with_prompt(&chunk.text);
            }
        }
    }
}
