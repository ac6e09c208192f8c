//! BACnet's tagged encoding (ANSI/ASHRAE 135 clause 20.2): the tag reader over the
//! checked `Cursor` of `protocols::wire` and the application-tagged values otscan decodes.
//!
//! Every tag length is checked against the bytes present (the extended length markers
//! 5, 254 and 255 included), nesting is capped at [`MAX_DEPTH`] and the tags read per
//! reply at [`MAX_TAGS`]. Byte order: big-endian.

use crate::protocols::wire::{Cursor, Truncated};
use crate::record::fields::DeviceText;

/// Highest object instance number; as a Device instance in ReadProperty it is the
/// wildcard meaning "the device that receives this request".
pub const MAX_INSTANCE: u32 = 0x3F_FFFF;
/// Deepest nesting of opening / closing tags decoded.
pub const MAX_DEPTH: usize = 16;
/// Most tags decoded from one reply; a hostile reply cannot cost more work than this.
pub const MAX_TAGS: usize = 1024;

/// Why a run of tags cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// Fewer bytes than a field needs.
    #[error("reply truncated: {what} needs {needed} bytes, {available} present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// A tag whose encoding is invalid (application class with length 6 or 7).
    #[error("invalid tag byte {0:#04x}")]
    InvalidTag(u8),
    /// A tag other than the one the grammar requires at this point.
    #[error("expected {expected}")]
    UnexpectedTag {
        /// What the grammar requires.
        expected: &'static str,
    },
    /// A primitive whose length does not suit its type.
    #[error("{what} has {len} bytes")]
    BadLength {
        /// What was being read.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// Opening tags nested deeper than [`MAX_DEPTH`].
    #[error("tags nested deeper than {MAX_DEPTH}")]
    TooDeep,
    /// More than [`MAX_TAGS`] tags.
    #[error("more than {MAX_TAGS} tags")]
    TooManyTags,
}

impl From<Truncated> for TagError {
    fn from(t: Truncated) -> Self {
        TagError::Truncated {
            what: t.what,
            needed: t.needed,
            available: t.available,
        }
    }
}

/// A BACnet object identifier: 10-bit type, 22-bit instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectId {
    /// Object type (8 = Device).
    pub object_type: u16,
    /// Instance number.
    pub instance: u32,
}

impl ObjectId {
    /// Decodes the 32-bit wire value.
    pub const fn from_raw(raw: u32) -> ObjectId {
        ObjectId {
            // 10 bits always fit a u16.
            object_type: (raw >> 22) as u16,
            instance: raw & MAX_INSTANCE,
        }
    }
}

/// A BACnet CharacterString: its character-set byte and the text, lossless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacnetString {
    /// Character set: 0 UTF-8 (ANSI X3.4), 1 IBM/Microsoft DBCS, 2 JIS X 0208,
    /// 3 UCS-4, 4 UCS-2, 5 ISO 8859-1; `None` for an empty encoding (no set byte).
    pub charset: Option<u8>,
    /// The text. For a character set decoded losslessly `hex` is absent; otherwise
    /// (undecodable bytes, DBCS, JIS) `hex` holds the raw string bytes.
    pub text: DeviceText,
}

impl BacnetString {
    /// Decodes a CharacterString's contents (the set byte then the bytes).
    pub fn decode(data: &[u8]) -> BacnetString {
        let Some((&charset, bytes)) = data.split_first() else {
            return BacnetString {
                charset: None,
                text: DeviceText::from_bytes(&[]),
            };
        };
        let decoded: Option<String> = match charset {
            // ANSI X3.4 / UTF-8; devices that send Latin-1 or Windows-1252 under it are
            // read as Windows-1252, the bytes kept (see `DeviceText::from_bytes`).
            0 => {
                return BacnetString {
                    charset: Some(charset),
                    text: DeviceText::from_bytes(bytes),
                }
            }
            3 if bytes.len() % 4 == 0 => bytes
                .chunks_exact(4)
                .map(|c| {
                    let raw = c.try_into().ok().map(u32::from_be_bytes)?;
                    char::from_u32(raw)
                })
                .collect(),
            4 if bytes.len() % 2 == 0 => {
                let units = bytes.chunks_exact(2).map(|c| {
                    u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                });
                char::decode_utf16(units)
                    .collect::<Result<String, _>>()
                    .ok()
            }
            5 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
            _ => None,
        };
        let text = match decoded {
            Some(text) => DeviceText {
                text,
                hex: None,
                encoding: None,
            },
            None => DeviceText::undecoded(bytes),
        };
        BacnetString {
            charset: Some(charset),
            text,
        }
    }
}

/// An application-tagged value (clause 20.2), or what stood in its place.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Tag 0.
    Null,
    /// Tag 1.
    Boolean(bool),
    /// Tag 2.
    Unsigned(u64),
    /// Tag 3.
    Signed(i64),
    /// Tag 4.
    Real(f32),
    /// Tag 5.
    Double(f64),
    /// Tag 6.
    OctetString(Vec<u8>),
    /// Tag 7.
    CharacterString(BacnetString),
    /// Tag 8: unused-bits byte then the bits, kept raw.
    BitString(Vec<u8>),
    /// Tag 9.
    Enumerated(u64),
    /// Tag 10: year-1900, month, day, weekday.
    Date([u8; 4]),
    /// Tag 11: hour, minute, second, hundredths.
    Time([u8; 4]),
    /// Tag 12.
    ObjectIdentifier(ObjectId),
    /// A reserved application tag, a context tag inside a value, or a primitive
    /// whose length does not suit its type: kept raw.
    Other {
        /// Tag number.
        tag: u8,
        /// Whether the tag was context-specific.
        context: bool,
        /// The tag's data.
        data: Vec<u8>,
    },
    /// A constructed value (opening ... closing tag), skipped.
    Constructed {
        /// Tag number of the opening tag.
        tag: u8,
    },
}

impl Value {
    /// A short name of the value's type, for warnings.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "boolean",
            Value::Unsigned(_) => "unsigned",
            Value::Signed(_) => "signed",
            Value::Real(_) => "real",
            Value::Double(_) => "double",
            Value::OctetString(_) => "octet string",
            Value::CharacterString(_) => "character string",
            Value::BitString(_) => "bit string",
            Value::Enumerated(_) => "enumerated",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::ObjectIdentifier(_) => "object identifier",
            Value::Other { .. } => "other",
            Value::Constructed { .. } => "constructed",
        }
    }
}

/// A reader of tags over reply bytes: the checked [`Cursor`] plus a count of the
/// tags read, capped at [`MAX_TAGS`].
pub(super) struct Reader<'a> {
    cursor: Cursor<'a>,
    tags: usize,
}

/// The class of a tag (clause 20.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TagKind {
    Application,
    Context,
    Opening,
    Closing,
}

/// One tag and the data its length covers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tag<'a> {
    pub number: u8,
    pub kind: TagKind,
    /// The length/value/type bits (the value of an application Boolean).
    pub lvt: u8,
    pub data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader {
            cursor: Cursor::new(buf),
            tags: 0,
        }
    }

    pub(super) fn remaining(&self) -> usize {
        self.cursor.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(super) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], TagError> {
        Ok(self.cursor.take(n, what)?)
    }

    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8, TagError> {
        Ok(self.cursor.u8(what)?)
    }

    pub(super) fn u16(&mut self, what: &'static str) -> Result<u16, TagError> {
        Ok(self.cursor.u16_be(what)?)
    }

    pub(super) fn u32(&mut self, what: &'static str) -> Result<u32, TagError> {
        Ok(self.cursor.u32_be(what)?)
    }

    /// Reads one tag and its data, every length checked against the bytes left.
    pub(super) fn tag(&mut self) -> Result<Tag<'a>, TagError> {
        self.tags += 1;
        if self.tags > MAX_TAGS {
            return Err(TagError::TooManyTags);
        }
        let first = self.u8("tag")?;
        let mut number = first >> 4;
        let context = first & 0x08 != 0;
        let lvt = first & 0x07;
        if number == 0x0F {
            number = self.u8("extended tag number")?;
        }
        if context && lvt == 6 {
            return Ok(Tag {
                number,
                kind: TagKind::Opening,
                lvt,
                data: &[],
            });
        }
        if context && lvt == 7 {
            return Ok(Tag {
                number,
                kind: TagKind::Closing,
                lvt,
                data: &[],
            });
        }
        if !context && number == 1 {
            // Application Boolean: the value is in the length bits, no data follows.
            return Ok(Tag {
                number,
                kind: TagKind::Application,
                lvt,
                data: &[],
            });
        }
        let len = match lvt {
            0..=4 => usize::from(lvt),
            5 => match self.u8("extended length")? {
                254 => usize::from(self.u16("extended length")?),
                255 => usize::try_from(self.u32("extended length")?).unwrap_or(usize::MAX),
                n => usize::from(n),
            },
            _ => return Err(TagError::InvalidTag(first)),
        };
        let data = self.take(len, "tag data")?;
        Ok(Tag {
            number,
            kind: if context {
                TagKind::Context
            } else {
                TagKind::Application
            },
            lvt,
            data,
        })
    }

    fn peek_tag(&self) -> Option<Tag<'a>> {
        let mut probe = Reader {
            cursor: self.cursor,
            tags: 0,
        };
        probe.tag().ok()
    }

    /// Reads a context-tagged primitive with the given number.
    pub(super) fn context(
        &mut self,
        number: u8,
        expected: &'static str,
    ) -> Result<&'a [u8], TagError> {
        let tag = self.tag()?;
        if tag.kind == TagKind::Context && tag.number == number {
            Ok(tag.data)
        } else {
            Err(TagError::UnexpectedTag { expected })
        }
    }

    /// Reads an application-tagged primitive with the given number.
    pub(super) fn application(
        &mut self,
        number: u8,
        expected: &'static str,
    ) -> Result<Tag<'a>, TagError> {
        let tag = self.tag()?;
        if tag.kind == TagKind::Application && tag.number == number {
            Ok(tag)
        } else {
            Err(TagError::UnexpectedTag { expected })
        }
    }

    pub(super) fn opening(&mut self, number: u8, expected: &'static str) -> Result<(), TagError> {
        let tag = self.tag()?;
        if tag.kind == TagKind::Opening && tag.number == number {
            Ok(())
        } else {
            Err(TagError::UnexpectedTag { expected })
        }
    }

    /// Whether the next tag is a context primitive / opening / closing tag `number`.
    pub(super) fn next_is(&self, kind: TagKind, number: u8) -> bool {
        self.peek_tag()
            .is_some_and(|t| t.kind == kind && t.number == number)
    }

    /// Reads values up to the closing tag `number` (consumed). Nested constructed
    /// values are skipped, bounded by [`MAX_DEPTH`].
    pub(super) fn values_until_closing(&mut self, number: u8) -> Result<Vec<Value>, TagError> {
        let mut values = Vec::new();
        loop {
            let tag = self.tag()?;
            match tag.kind {
                TagKind::Closing if tag.number == number => return Ok(values),
                TagKind::Closing => {
                    return Err(TagError::UnexpectedTag {
                        expected: "matching closing tag",
                    });
                }
                TagKind::Opening => {
                    self.skip_constructed(tag.number, 1)?;
                    values.push(Value::Constructed { tag: tag.number });
                }
                TagKind::Application => values.push(application_value(tag)),
                TagKind::Context => values.push(Value::Other {
                    tag: tag.number,
                    context: true,
                    data: tag.data.to_vec(),
                }),
            }
        }
    }

    /// Skips to the closing tag matching an opening tag `number` already read.
    pub(super) fn skip_constructed(&mut self, number: u8, depth: usize) -> Result<(), TagError> {
        if depth > MAX_DEPTH {
            return Err(TagError::TooDeep);
        }
        loop {
            let tag = self.tag()?;
            match tag.kind {
                TagKind::Closing if tag.number == number => return Ok(()),
                TagKind::Closing => {
                    return Err(TagError::UnexpectedTag {
                        expected: "matching closing tag",
                    });
                }
                TagKind::Opening => self.skip_constructed(tag.number, depth + 1)?,
                TagKind::Application | TagKind::Context => {}
            }
        }
    }
}

/// Big-endian unsigned of 1 to 8 bytes.
pub(super) fn be_unsigned(data: &[u8]) -> Option<u64> {
    (1..=8)
        .contains(&data.len())
        .then(|| data.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// A u32 from a context or application Unsigned / Enumerated of 1 to 4 bytes.
pub(super) fn small_unsigned(data: &[u8], what: &'static str) -> Result<u32, TagError> {
    be_unsigned(data)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or(TagError::BadLength {
            what,
            len: data.len(),
        })
}

pub(super) fn object_id(data: &[u8], what: &'static str) -> Result<ObjectId, TagError> {
    let raw: [u8; 4] = data.try_into().map_err(|_| TagError::BadLength {
        what,
        len: data.len(),
    })?;
    Ok(ObjectId::from_raw(u32::from_be_bytes(raw)))
}

/// Decodes an application-tagged primitive; lengths that do not suit the type give
/// [`Value::Other`] rather than an error.
pub(super) fn application_value(tag: Tag<'_>) -> Value {
    let data = tag.data;
    let four = <[u8; 4]>::try_from(data).ok();
    let decoded = match tag.number {
        0 if data.is_empty() => Some(Value::Null),
        1 => Some(Value::Boolean(tag.lvt != 0)),
        2 => be_unsigned(data).map(Value::Unsigned),
        3 => be_unsigned(data).map(|v| {
            // Sign-extend from the encoded width (1..=8 bytes).
            let shift = 64 - 8 * data.len() as u32;
            Value::Signed(((v << shift) as i64) >> shift)
        }),
        4 => four.map(|b| Value::Real(f32::from_be_bytes(b))),
        5 => <[u8; 8]>::try_from(data)
            .ok()
            .map(|b| Value::Double(f64::from_be_bytes(b))),
        6 => Some(Value::OctetString(data.to_vec())),
        7 => Some(Value::CharacterString(BacnetString::decode(data))),
        8 => Some(Value::BitString(data.to_vec())),
        9 => be_unsigned(data).map(Value::Enumerated),
        10 => four.map(Value::Date),
        11 => four.map(Value::Time),
        12 => four.map(|b| Value::ObjectIdentifier(ObjectId::from_raw(u32::from_be_bytes(b)))),
        _ => None,
    };
    decoded.unwrap_or_else(|| Value::Other {
        tag: tag.number,
        context: false,
        data: data.to_vec(),
    })
}
