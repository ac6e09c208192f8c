//! Niagara Fox (Tridium, TCP 1911) identification codec (sans IO).
//!
//! One request exists and nothing else can be encoded: the Fox `hello` a client sends
//! first on a new connection ([`HELLO`], the bytes nmap's `fox-info` sends). A station
//! answers with its own `hello` message, a text block of typed `key=type:value` tuples
//! that name the station, its host, its software and its brand.
//!
//! The message grammar, as stations send it (nmap `fox-info`, zgrab2's `fox` module,
//! the public Fox Wireshark Lua dissector and published station replies):
//!
//! ```text
//! message = header LF "{" LF *tuple "};;" [LF]
//! header  = "fox" SP frame-type SP sequence SP reply-to SP channel SP command
//! tuple   = key "=" type ":" value LF
//! value   = text to the end of the line                      (s, i, z, f, t, ...)
//!         | object-type SP length "[" length bytes "]"         (o: e.g. "bog 61[...]")
//!         | length "[" length bytes "]"                        (b: blob)
//!         | "{" LF *tuple "}"                                  (m: nested message)
//! ```
//!
//! Frame types are single letters (`a` asynchronous, `s` synchronous, `r` reply,
//! `e` error, `k` keep-alive, `n` null); sequence and reply-to are decimal integers
//! (-1 for none). Object and blob contents are counted bytes and may hold line feeds.
//!
//! Every read is bounded: the whole message by [`MAX_REPLY_LEN`], an ordinary line by
//! [`MAX_LINE_LEN`], nesting by [`MAX_DEPTH`]; at most [`MAX_TUPLES`] tuples are kept
//! (the rest are counted). A line that is not a tuple becomes a warning, not a failure;
//! bytes that do not start with `fox ` are not Fox.

use crate::protocols::wire::{Cursor, FrameCheck, Truncated};

/// The Fox hello otscan sends: frame type `a`, sequence 1, no reply-to, channel `fox`,
/// command `hello`, and the two tuples a client announces (Fox version 1.0, id 1).
/// The same bytes as nmap's `fox-info`.
pub const HELLO: &[u8] = b"fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\n};;\n";

/// Largest reply accepted, in bytes. Station hellos are about 1 KiB (a few KiB with a
/// large `sysInfo` object); more is not a hello.
pub const MAX_REPLY_LEN: usize = 32 * 1024;
/// Longest ordinary line (header or tuple, line feed excluded); object and blob
/// contents are bounded by [`MAX_REPLY_LEN`] only.
pub const MAX_LINE_LEN: usize = 4096;
/// Most tuples kept from one message (top level); further ones are counted.
pub const MAX_TUPLES: usize = 128;
/// Deepest nesting of `m:` messages read.
pub const MAX_DEPTH: usize = 4;
/// Most warnings kept from one message; further ones are counted in the last.
const MAX_WARNINGS: usize = 8;

/// The Fox requests otscan can send: only the hello. It carries no field, so no other
/// command (login, navigation, reads or writes of points) can be spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// The Fox `hello` ([`HELLO`]).
    Hello,
}

/// Encodes `request`. Fox carries no correlation otscan can choose (the hello's
/// sequence number is always 1): one hello per connection, so `correlation` is unused.
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    let _ = correlation;
    match request {
        Request::Hello => HELLO.to_vec(),
    }
}

/// Why a reply is not a Fox message otscan can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The message stops before its end (`};;`).
    #[error("reply truncated: {what} needs {needed} bytes, {available} present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The bytes do not start with `fox `: another protocol.
    #[error("not Niagara Fox: the reply starts {0:?}")]
    NotFox(String),
    /// The first line is not a Fox header.
    #[error("bad Fox header: {0}")]
    BadHeader(String),
    /// The line after the header is not `{`.
    #[error("Fox message has no body: line {0:?} where `{{` belongs")]
    NoBody(String),
    /// A line longer than [`MAX_LINE_LEN`].
    #[error("line {line} is longer than {MAX_LINE_LEN} bytes")]
    LineTooLong {
        /// 1-based line number.
        line: usize,
    },
    /// An object or blob whose counted length cannot be read or does not fit.
    #[error("{key}: {reason}")]
    BadLength {
        /// The tuple's key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// Nested messages deeper than [`MAX_DEPTH`].
    #[error("nested messages deeper than {MAX_DEPTH}")]
    TooDeep,
    /// The hello otscan sent, sent back: an echo, not a station.
    #[error("the reply is the hello echoed back")]
    Echo,
    /// A whole Fox message that answers another request (not a hello, an error or a close).
    #[error("Fox message {0:?} does not answer the hello")]
    OtherReply(String),
    /// A message larger than [`MAX_REPLY_LEN`].
    #[error("reply larger than the {0}-byte cap")]
    Oversized(usize),
}

impl From<Truncated> for ParseError {
    fn from(t: Truncated) -> Self {
        ParseError::Truncated {
            what: t.what,
            needed: t.needed,
            available: t.available,
        }
    }
}

/// The first line of a Fox message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Frame type letter: `a` asynchronous, `s` synchronous, `r` reply, `e` error,
    /// `k` keep-alive, `n` null.
    pub frame_type: char,
    /// Sequence number.
    pub sequence: i64,
    /// Sequence number of the message this one replies to (-1: none).
    pub reply_to: i64,
    /// Channel (`fox` for the hello).
    pub channel: String,
    /// Command (`hello`).
    pub command: String,
}

impl Header {
    /// True for the header of a station's answer to the hello: channel `fox`, command
    /// `hello`; also an error frame (`e`) or a `close`, which answer it too.
    pub fn answers_hello(&self) -> bool {
        self.channel == "fox" && (self.command == "hello" || self.command == "close")
            || self.frame_type == 'e'
    }
}

/// One `key=type:value` tuple, bytes as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuple {
    /// The key, e.g. `hostName`.
    pub key: Vec<u8>,
    /// The type letters, e.g. `s` (string), `i` (integer), `z` (boolean), `o` (object).
    pub kind: String,
    /// For `o`: the object's type (e.g. `bog`).
    pub object_type: Option<Vec<u8>>,
    /// The value: the rest of the line; for `o` and `b` the counted content; for `m`
    /// the nested message's lines.
    pub value: Vec<u8>,
}

/// A decoded Fox message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The first line.
    pub header: Header,
    /// The top-level tuples in the order sent, at most [`MAX_TUPLES`].
    pub tuples: Vec<Tuple>,
    /// Tuples beyond [`MAX_TUPLES`], not kept.
    pub dropped: usize,
    /// Oddities that did not stop the decoding (lines that are not tuples, ...).
    pub warnings: Vec<String>,
}

impl Reply {
    /// The first `s` value of `key`.
    pub fn string(&self, key: &str) -> Option<&[u8]> {
        self.tuples
            .iter()
            .find(|t| t.key == key.as_bytes() && t.kind == "s")
            .map(|t| t.value.as_slice())
    }
}

/// Decodes a station's answer to the hello: [`parse`], and a message that does not
/// answer it ([`Header::answers_hello`]) is [`ParseError::OtherReply`].
///
/// # Errors
/// [`ParseError`] when the bytes are not a whole Fox message answering the hello.
pub fn parse_hello_reply(buf: &[u8]) -> Result<Reply, ParseError> {
    let reply = parse(buf)?;
    if !reply.header.answers_hello() {
        let h = &reply.header;
        return Err(ParseError::OtherReply(format!(
            "fox {} {} {} {} {}",
            h.frame_type, h.sequence, h.reply_to, h.channel, h.command
        )));
    }
    Ok(reply)
}

/// Decodes one whole Fox message (the frame [`frame`] cut). Bytes after its end are
/// ignored with a warning.
///
/// # Errors
/// [`ParseError`] when the bytes are not a whole Fox message.
pub fn parse(buf: &[u8]) -> Result<Reply, ParseError> {
    let (mut reply, len) = read_message(buf)?;
    if len < buf.len() {
        reply
            .warnings
            .push(format!("{} bytes after the message's end", buf.len() - len));
    }
    Ok(reply)
}

/// Cuts a whole Fox message from the front of `buf`. `correlation` is unused (see
/// [`encode`]): one hello per connection, so any whole message is the answer, and
/// [`parse_hello_reply`] says whether it answers the hello. Our own hello sent back is
/// [`ParseError::Echo`].
pub fn frame(buf: &[u8], correlation: u32) -> FrameCheck<ParseError> {
    let _ = correlation;
    match read_message(buf) {
        Ok((_, len)) if buf.get(..len) == Some(HELLO) => FrameCheck::Invalid(ParseError::Echo),
        Ok((_, len)) => FrameCheck::Complete { len, matches: true },
        Err(ParseError::Truncated { .. }) if buf.len() >= MAX_REPLY_LEN => {
            FrameCheck::Invalid(ParseError::Oversized(MAX_REPLY_LEN))
        }
        Err(ParseError::Truncated { .. }) => FrameCheck::NeedMore,
        Err(e) => FrameCheck::Invalid(e),
    }
}

/// Reads a message from the front of `buf`: the reply and its length in bytes.
fn read_message(buf: &[u8]) -> Result<(Reply, usize), ParseError> {
    let head = &buf[..buf.len().min(4)];
    if head != &b"fox "[..head.len()] {
        return Err(ParseError::NotFox(
            String::from_utf8_lossy(&buf[..buf.len().min(16)]).into_owned(),
        ));
    }
    let mut reader = Reader {
        cursor: Cursor::new(buf),
        line: 0,
        warnings: Vec::new(),
        dropped_warnings: 0,
    };
    let header = parse_header(reader.line()?)?;
    let open = reader.line()?;
    if open != b"{" {
        return Err(ParseError::NoBody(
            String::from_utf8_lossy(&open[..open.len().min(32)]).into_owned(),
        ));
    }
    let mut tuples = Vec::new();
    let mut dropped = 0;
    loop {
        if reader.cursor.rest().starts_with(b"};;") {
            reader.cursor.take(3, "message end")?;
            if reader.cursor.rest().first() == Some(&b'\n') {
                reader.cursor.take(1, "message end")?;
            }
            break;
        }
        if let Some(tuple) = reader.tuple(0)? {
            if tuples.len() < MAX_TUPLES {
                tuples.push(tuple);
            } else {
                dropped += 1;
            }
        }
    }
    if dropped > 0 {
        reader.warn(format!(
            "{dropped} tuples after the first {MAX_TUPLES} not kept"
        ));
    }
    let len = buf.len() - reader.cursor.len();
    let mut warnings = reader.warnings;
    if reader.dropped_warnings > 0 {
        warnings.push(format!("{} more warnings", reader.dropped_warnings));
    }
    Ok((
        Reply {
            header,
            tuples,
            dropped,
            warnings,
        },
        len,
    ))
}

/// Parses `fox <type> <sequence> <reply-to> <channel> <command>`.
fn parse_header(line: &[u8]) -> Result<Header, ParseError> {
    let text = std::str::from_utf8(line)
        .map_err(|_| ParseError::BadHeader("not ASCII text".to_owned()))?;
    let fields: Vec<&str> = text.split(' ').collect();
    let [_fox, frame_type, sequence, reply_to, channel, command] = fields[..] else {
        return Err(ParseError::BadHeader(format!(
            "{} fields, 6 expected: {:?}",
            fields.len(),
            &text[..text.len().min(64)]
        )));
    };
    let mut letters = frame_type.chars();
    let (Some(frame_type), None) = (letters.next(), letters.next()) else {
        return Err(ParseError::BadHeader(format!(
            "frame type {frame_type:?} is not one letter"
        )));
    };
    let number = |what: &str, s: &str| {
        let digits = s.strip_prefix('-').unwrap_or(s);
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadHeader(format!(
                "{what} {s:?} is not a number"
            )));
        }
        s.parse::<i64>()
            .map_err(|_| ParseError::BadHeader(format!("{what} {s:?} is not a number")))
    };
    if channel.is_empty() || command.is_empty() {
        return Err(ParseError::BadHeader("empty channel or command".to_owned()));
    }
    Ok(Header {
        frame_type,
        sequence: number("sequence", sequence)?,
        reply_to: number("reply-to", reply_to)?,
        channel: channel.to_owned(),
        command: command.to_owned(),
    })
}

/// A line reader over the message, with its warnings.
struct Reader<'a> {
    cursor: Cursor<'a>,
    /// Lines read so far.
    line: usize,
    warnings: Vec<String>,
    dropped_warnings: usize,
}

impl<'a> Reader<'a> {
    fn warn(&mut self, warning: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        } else {
            self.dropped_warnings += 1;
        }
    }

    /// The next line without its line feed; bounded by [`MAX_LINE_LEN`].
    fn line(&mut self) -> Result<&'a [u8], ParseError> {
        self.line += 1;
        let rest = self.cursor.rest();
        let window = &rest[..rest.len().min(MAX_LINE_LEN + 1)];
        match window.iter().position(|&b| b == b'\n') {
            Some(end) => {
                let line = self.cursor.take(end, "line")?;
                self.cursor.take(1, "line feed")?;
                Ok(line)
            }
            None if rest.len() > MAX_LINE_LEN => Err(ParseError::LineTooLong { line: self.line }),
            None => Err(ParseError::Truncated {
                what: "line feed",
                needed: rest.len() + 1,
                available: rest.len(),
            }),
        }
    }

    /// Skips a line that is not a tuple, with a warning saying `why`.
    fn skip_line(&mut self, why: &str) -> Result<Option<Tuple>, ParseError> {
        let line = self.line()?;
        self.warn(format!(
            "line {}: {why}: {:?}",
            self.line,
            String::from_utf8_lossy(&line[..line.len().min(48)])
        ));
        Ok(None)
    }

    /// Reads one tuple at nesting `depth`; `None` for a line that is not a tuple
    /// (a warning).
    fn tuple(&mut self, depth: usize) -> Result<Option<Tuple>, ParseError> {
        let rest = self.cursor.rest();
        // The key and type come before the first ':' of the line; a counted value's
        // head is on the same line, its content may run over several.
        let window = &rest[..rest.len().min(MAX_LINE_LEN + 1)];
        let newline = window.iter().position(|&b| b == b'\n');
        let head_end = newline.unwrap_or(window.len());
        let Some(colon) = window[..head_end].iter().position(|&b| b == b':') else {
            return self.skip_line("not a key=type:value tuple");
        };
        let Some(equals) = window[..colon].iter().position(|&b| b == b'=') else {
            return self.skip_line("no '=' before the type");
        };
        let kind = &window[equals + 1..colon];
        let key = &window[..equals];
        if key.is_empty()
            || kind.is_empty()
            || kind.len() > 8
            || !kind.iter().all(u8::is_ascii_lowercase)
        {
            return self.skip_line("not a key=type:value tuple");
        }
        let key = key.to_vec();
        let kind = String::from_utf8_lossy(kind).into_owned();
        match kind.as_str() {
            "o" | "b" => {
                self.cursor.take(colon + 1, "tuple head")?;
                let (object_type, value) = self.counted(&key, kind == "o")?;
                Ok(Some(Tuple {
                    key,
                    kind,
                    object_type,
                    value,
                }))
            }
            "m" if window.get(colon + 1) == Some(&b'{') => {
                self.line()?;
                if head_end != colon + 2 {
                    self.warn(format!("line {}: text after a nested '{{'", self.line));
                }
                let value = self.nested(depth + 1)?;
                Ok(Some(Tuple {
                    key,
                    kind,
                    object_type: None,
                    value,
                }))
            }
            _ => {
                let line = self.line()?;
                Ok(Some(Tuple {
                    key,
                    kind,
                    object_type: None,
                    value: line[colon + 1..].to_vec(),
                }))
            }
        }
    }

    /// A counted value after `o:` (`type length[...]`) or `b:` (`length[...]`), up to
    /// and including the line feed after `]`.
    fn counted(
        &mut self,
        key: &[u8],
        object: bool,
    ) -> Result<(Option<Vec<u8>>, Vec<u8>), ParseError> {
        let bad = |reason: String| ParseError::BadLength {
            key: String::from_utf8_lossy(&key[..key.len().min(48)]).into_owned(),
            reason,
        };
        let rest = self.cursor.rest();
        let window = &rest[..rest.len().min(MAX_LINE_LEN + 1)];
        let Some(open) = window.iter().position(|&b| b == b'[' || b == b'\n') else {
            return if rest.len() > MAX_LINE_LEN {
                Err(ParseError::LineTooLong {
                    line: self.line + 1,
                })
            } else {
                Err(Truncated {
                    what: "counted value head",
                    needed: rest.len() + 1,
                    available: rest.len(),
                }
                .into())
            };
        };
        if window[open] == b'\n' {
            return Err(bad("no '[' after the length".to_owned()));
        }
        let head = self.cursor.take(open + 1, "counted value head")?;
        let head = &head[..open];
        let (object_type, digits) = if object {
            let Some(space) = head.iter().rposition(|&b| b == b' ') else {
                return Err(bad("object without a type".to_owned()));
            };
            (Some(head[..space].to_vec()), &head[space + 1..])
        } else {
            (None, head)
        };
        if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad(format!(
                "length {:?} is not a number",
                String::from_utf8_lossy(digits)
            )));
        }
        let length: usize = digits
            .iter()
            .fold(0, |n, &d| n * 10 + usize::from(d - b'0'));
        if length > MAX_REPLY_LEN {
            return Err(bad(format!(
                "length {length} is beyond the {MAX_REPLY_LEN}-byte cap"
            )));
        }
        let value = self.cursor.take(length, "counted value")?.to_vec();
        let close = self.cursor.take(1, "']' after a counted value")?;
        if close != b"]" {
            return Err(bad(format!(
                "byte {:#04x} where ']' ends the {length} counted bytes",
                close[0]
            )));
        }
        self.line += value.iter().filter(|&&b| b == b'\n').count();
        let tail = self.line()?;
        if !tail.is_empty() {
            self.warn(format!("line {}: text after a counted value", self.line));
        }
        Ok((object_type, value))
    }

    /// The lines of a nested message up to its closing `}` line (consumed), as sent.
    fn nested(&mut self, depth: usize) -> Result<Vec<u8>, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        let start = self.cursor.rest();
        loop {
            let rest = self.cursor.rest();
            if rest.starts_with(b"}\n") {
                let body = &start[..start.len() - rest.len()];
                self.line()?;
                return Ok(body.to_vec());
            }
            if rest.len() < 2 {
                return Err(Truncated {
                    what: "nested message end",
                    needed: 2,
                    available: rest.len(),
                }
                .into());
            }
            self.tuple(depth)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A Niagara AX 3.8 station's hello reply (Honeywell-branded, QNX JACE), as
    /// published in a Fox responder replaying a real station.
    pub(crate) const AX38: &[u8] = b"fox a 0 -1 fox hello\n{\nfox.version=s:1.0.1\nid=i:122\nhostName=s:10.17.40.40\nhostAddress=s:10.17.40.40\napp.name=s:Station\napp.version=s:3.8.213\nvm.name=s:Java HotSpot(TM) Client VM\nvm.version=s:1.5.0_81-b06\nos.name=s:QNX\nos.version=s:6.4.1\nstation.name=s:Honeywell\nlang=s:en\ntimeZone=s:EST5EDT;-18000000;3600000;02:00:00.000,wall,march,8,on or after,sunday,undefined;02:00:00.000,wall,november,1,on or after,sunday,undefined\nhostId=s:Qnx-NPM6-0000-16A3-8210\nvmUuid=s:11e8e9a6-0b40-571a-0000-00000000a096\nbrandId=s:FacExp\nsysInfo=o:bog 61[<bog version=\"1.0\">\n<p m=\"b=baja\" t=\"b:Facets\" v=\"\"/>\n</bog>\n]\nauthAgentTypeSpecs=s:fox:FoxUsernamePasswordAuthAgent\n};;\n";

    /// A Niagara 4 platform refusing the hello (published reply).
    const FATAL: &[u8] = b"fox a 0 -1 fox hello\n{\nfatal=s:Niagara4 Station Connections Unsupported\nfox.version=s:Niagara 4\n};;\n";

    fn check_all(buf: &[u8]) {
        if let Ok(reply) = parse(buf) {
            let mut details = super::super::details::FoxDetails::default();
            details.apply(&reply);
            let _ = super::super::details::identity_fields(&details);
            serde_json::to_string(&details).unwrap();
        }
        let _ = frame(buf, 1);
    }

    #[test]
    fn the_hello_is_nmaps_bytes_and_parses_as_fox() {
        assert_eq!(encode(&Request::Hello, 7), HELLO);
        assert_eq!(
            HELLO,
            &b"fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\n};;\n"[..]
        );
        let hello = parse(HELLO).unwrap();
        assert_eq!(hello.header.sequence, 1);
        assert_eq!(hello.header.reply_to, -1);
        assert_eq!(hello.tuples.len(), 2);
        // Our own hello echoed back is not a station's answer.
        assert_eq!(frame(HELLO, 1), FrameCheck::Invalid(ParseError::Echo));
    }

    #[test]
    fn an_ax_station_reply_decodes_every_tuple_in_order() {
        let reply = parse(AX38).unwrap();
        assert_eq!(reply.header.frame_type, 'a');
        assert_eq!(reply.header.sequence, 0);
        assert_eq!(reply.header.command, "hello");
        let keys: Vec<String> = reply
            .tuples
            .iter()
            .map(|t| String::from_utf8_lossy(&t.key).into_owned())
            .collect();
        assert_eq!(keys.len(), 18, "{keys:?}");
        assert_eq!(keys[0], "fox.version");
        assert_eq!(keys[17], "authAgentTypeSpecs");
        assert_eq!(reply.string("app.version"), Some(&b"3.8.213"[..]));
        assert_eq!(reply.string("brandId"), Some(&b"FacExp"[..]));
        // A value may hold ':' (only the first one ends the type).
        assert_eq!(
            reply.string("authAgentTypeSpecs"),
            Some(&b"fox:FoxUsernamePasswordAuthAgent"[..])
        );
        let sys = &reply.tuples[16];
        assert_eq!(sys.kind, "o");
        assert_eq!(sys.object_type.as_deref(), Some(&b"bog"[..]));
        assert_eq!(sys.value.len(), 61);
        assert!(sys.value.ends_with(b"</bog>\n"));
        assert!(reply.warnings.is_empty(), "{:?}", reply.warnings);
        assert_eq!(
            frame(AX38, 9),
            FrameCheck::Complete {
                len: AX38.len(),
                matches: true
            }
        );
    }

    #[test]
    fn every_prefix_of_a_reply_needs_more_and_the_whole_completes() {
        for cut in 0..AX38.len() - 1 {
            assert_eq!(frame(&AX38[..cut], 1), FrameCheck::NeedMore, "cut at {cut}");
        }
        // A reply without the last line feed is whole; bytes after it stay unread.
        let short = &AX38[..AX38.len() - 1];
        assert!(matches!(frame(short, 1), FrameCheck::Complete { len, .. } if len == short.len()));
        let two = [AX38, FATAL].concat();
        assert!(matches!(frame(&two, 1), FrameCheck::Complete { len, .. } if len == AX38.len()));
        assert_eq!(parse(&two).unwrap().warnings.len(), 1);
    }

    #[test]
    fn a_fatal_refusal_is_a_whole_hello_reply() {
        let reply = parse(FATAL).unwrap();
        assert_eq!(
            reply.string("fatal"),
            Some(&b"Niagara4 Station Connections Unsupported"[..])
        );
        assert!(matches!(
            frame(FATAL, 1),
            FrameCheck::Complete { matches: true, .. }
        ));
        let error = b"fox e 0 1 fox hello\n{\nreason=s:busy\n};;\n";
        assert!(parse_hello_reply(error).is_ok());
        assert!(parse_hello_reply(FATAL).is_ok());
        // A whole message answering something else is framed, then refused.
        let other = b"fox a 0 -1 fox welcome\n{\n};;\n";
        assert!(matches!(
            frame(other, 1),
            FrameCheck::Complete { matches: true, .. }
        ));
        assert_eq!(
            parse_hello_reply(other),
            Err(ParseError::OtherReply("fox a 0 -1 fox welcome".to_owned()))
        );
    }

    #[test]
    fn other_protocols_are_not_fox() {
        for other in [
            &b"HTTP/1.1 400 Bad Request\r\n\r\n"[..],
            b"SSH-2.0-OpenSSH_8.9\r\n",
            b"\x16\x03\x01\x00\x50",
            b"fo\x00",
            b"FOX a 0 -1 fox hello\n",
        ] {
            assert!(
                matches!(frame(other, 1), FrameCheck::Invalid(ParseError::NotFox(_))),
                "{other:?}"
            );
        }
        assert_eq!(frame(b"fo", 1), FrameCheck::NeedMore);
        assert!(matches!(
            frame(b"fox hello\n{\n};;\n", 1),
            FrameCheck::Invalid(ParseError::BadHeader(_))
        ));
        assert!(matches!(
            frame(b"fox a x -1 fox hello\n{\n};;\n", 1),
            FrameCheck::Invalid(ParseError::BadHeader(_))
        ));
        assert!(matches!(
            frame(b"fox a 0 -1 fox hello\nhost=s:x\n};;\n", 1),
            FrameCheck::Invalid(ParseError::NoBody(_))
        ));
    }

    #[test]
    fn hostile_shapes_are_bounded() {
        // A line that never ends.
        let mut long = b"fox a 0 -1 fox hello\n{\nhostName=s:".to_vec();
        long.resize(long.len() + MAX_LINE_LEN, b'A');
        assert_eq!(
            frame(&long, 1),
            FrameCheck::Invalid(ParseError::LineTooLong { line: 3 })
        );
        // An endless stream of short tuples, never `};;`.
        let mut endless = b"fox a 0 -1 fox hello\n{\n".to_vec();
        while endless.len() < MAX_REPLY_LEN {
            endless.extend_from_slice(b"k=s:v\n");
        }
        assert_eq!(
            frame(&endless, 1),
            FrameCheck::Invalid(ParseError::Oversized(MAX_REPLY_LEN))
        );
        // Thousands of keys that do end: the first MAX_TUPLES are kept, the rest counted.
        let mut many = b"fox a 0 -1 fox hello\n{\n".to_vec();
        for i in 0..3000 {
            many.extend_from_slice(format!("k{i}=s:v\n").as_bytes());
        }
        many.extend_from_slice(b"};;\n");
        let reply = parse(&many).unwrap();
        assert_eq!(
            (reply.tuples.len(), reply.dropped),
            (MAX_TUPLES, 3000 - MAX_TUPLES)
        );
        assert!(reply.warnings[0].contains("not kept"));
        // A counted object that lies about its length.
        let lying = b"fox a 0 -1 fox hello\n{\nsysInfo=o:bog 5[abc]\n};;\n";
        assert!(matches!(
            frame(lying, 1),
            FrameCheck::Invalid(ParseError::BadLength { .. })
        ));
        let huge = b"fox a 0 -1 fox hello\n{\nsysInfo=o:bog 999999999[\n};;\n";
        assert!(matches!(
            frame(huge, 1),
            FrameCheck::Invalid(ParseError::BadLength { .. })
        ));
        let no_type = b"fox a 0 -1 fox hello\n{\nsysInfo=o:61[x]\n};;\n";
        assert!(matches!(parse(no_type), Err(ParseError::BadLength { .. })));
        // Too deep.
        let mut deep = b"fox a 0 -1 fox hello\n{\n".to_vec();
        for _ in 0..=MAX_DEPTH {
            deep.extend_from_slice(b"m=m:{\n");
        }
        deep.extend_from_slice(&b"}\n".repeat(MAX_DEPTH + 1));
        deep.extend_from_slice(b"};;\n");
        assert_eq!(parse(&deep), Err(ParseError::TooDeep));
    }

    #[test]
    fn odd_lines_are_warnings_and_nested_messages_are_kept_whole() {
        let reply = parse(
            b"fox a 0 -1 fox hello\n{\ngarbage line\n=s:nokey\nk=S:upper\nlang=s:de\nn=m:{\na=i:1\nb=m:{\nc=z:t\n}\n}\nbin=b:3[a\nb]\n};;\n",
        )
        .unwrap();
        assert_eq!(reply.warnings.len(), 3, "{:?}", reply.warnings);
        assert_eq!(reply.string("lang"), Some(&b"de"[..]));
        let nested = &reply.tuples[1];
        assert_eq!(nested.kind, "m");
        assert_eq!(nested.value, b"a=i:1\nb=m:{\nc=z:t\n}\n");
        assert_eq!(reply.tuples[2].value, b"a\nb");
    }

    /// A Niagara 4 JACE-8000-like station's reply (shape of published N4 replies).
    const N4: &[u8] = b"fox a 0 -1 fox hello\n{\nfox.version=s:1.0.2\nid=i:4\nhostName=s:jace-ahu-3\nhostAddress=s:10.20.0.80\napp.name=s:Station\napp.version=s:4.10.1.36\nvm.name=s:OpenJDK 32-Bit Server VM\nvm.version=s:25.252-b09\nos.name=s:QNX\nos.version=s:6.5.0\nstation.name=s:AHU_3\nlang=s:en\ntimeZone=s:America/Chicago;-21600000;3600000\nhostId=s:Qnx-TITAN-0000-1A2B-3C4D\nvmUuid=s:2f1e0c1d-0000-4000-8000-000000000080\nbrandId=s:vykon\n};;\n";

    #[test]
    fn details_and_identity_of_station_replies() {
        use super::super::details::{identity_fields, FoxDetails};
        use crate::record::fields::DeviceType;
        let mut ax = FoxDetails::default();
        ax.apply(&parse(AX38).unwrap());
        assert_eq!(ax.message.as_deref(), Some("fox a 0 -1 fox hello"));
        assert_eq!(ax.time_zone.as_ref().unwrap().text, "EST5EDT");
        assert!(ax
            .time_zone_rules
            .as_ref()
            .unwrap()
            .text
            .starts_with("-18000000;"));
        assert_eq!(ax.role.as_deref(), Some("building automation controller"));
        // id, sysInfo and authAgentTypeSpecs are kept in order, typed.
        let others: Vec<(&str, &str)> = ax
            .other_keys
            .iter()
            .map(|t| (t.key.text.as_str(), t.kind.as_str()))
            .collect();
        assert_eq!(
            others,
            [("id", "i"), ("sysInfo", "o"), ("authAgentTypeSpecs", "s")]
        );
        assert_eq!(ax.other_keys[1].object_type.as_ref().unwrap().text, "bog");
        assert!(ax.identifies());
        let id = identity_fields(&ax);
        assert_eq!(id.vendor.as_deref(), Some("Johnson Controls"));
        assert_eq!(id.product_name.as_deref(), Some("Niagara AX Station"));
        assert_eq!(id.model, None);
        assert_eq!(id.firmware_version.as_deref(), Some("3.8.213"));
        // hostName is an address here: not a host name.
        assert_eq!(id.hostname, None);
        // A QNX station: a JACE, the building controller itself.
        assert_eq!(id.device_type, Some(DeviceType::BuildingController));

        let mut n4 = FoxDetails::default();
        n4.apply(&parse(N4).unwrap());
        let id = identity_fields(&n4);
        assert_eq!(id.vendor.as_deref(), Some("Tridium"));
        assert_eq!(id.product_name.as_deref(), Some("Niagara 4 Station"));
        assert_eq!(id.hostname.as_deref(), Some("jace-ahu-3"));
        assert_eq!(n4.station_name.as_ref().unwrap().text, "AHU_3");

        let mut fatal = FoxDetails::default();
        fatal.apply(&parse(FATAL).unwrap());
        assert!(!fatal.identifies());
        assert_eq!(fatal.fox_version.as_ref().unwrap().text, "Niagara 4");
    }

    #[test]
    fn repeated_or_retyped_keys_and_odd_bytes_are_kept() {
        use super::super::details::FoxDetails;
        let mut d = FoxDetails::default();
        d.apply(
            &parse(b"fox a 0 -1 fox hello\n{\nhostName=s:a\nhostName=s:b\nhostId=i:7\nstation.name=s:Caf\xe9\n};;\n")
                .unwrap(),
        );
        assert_eq!(d.host_name.as_ref().unwrap().text, "a");
        assert_eq!(d.other_keys.len(), 2);
        let station = d.station_name.unwrap();
        assert_eq!(
            (station.text.as_str(), station.hex.as_deref()),
            ("Café", Some("436166e9"))
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            check_all(&buf);
            let mut fox = b"fox a 0 -1 fox hello\n{\n".to_vec();
            fox.extend_from_slice(&buf);
            check_all(&fox);
        }

        #[test]
        fn mutated_replies_never_panic(
            edits in proptest::collection::vec((0usize..AX38.len(), any::<u8>()), 0..8),
            cut in 0usize..=AX38.len(),
        ) {
            let mut buf = AX38.to_vec();
            for (at, byte) in edits {
                buf[at] = byte;
            }
            check_all(&buf[..cut]);
            check_all(&buf);
        }

        #[test]
        fn tuples_of_any_text_round_trip(
            key in "[a-zA-Z][a-zA-Z0-9.]{0,20}",
            value in "[^\n]{0,60}",
        ) {
            let msg = format!("fox a 0 -1 fox hello\n{{\n{key}=s:{value}\n}};;\n");
            let reply = parse(msg.as_bytes()).unwrap();
            prop_assert_eq!(reply.string(&key), Some(value.as_bytes()));
        }
    }
}
