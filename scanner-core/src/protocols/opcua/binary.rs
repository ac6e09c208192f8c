//! The few OPC UA Binary encoding types the identification messages use (OPC 10000-6
//! §5.2, "OPC UA Binary"), read with bounds and written for otscan's own requests.
//!
//! Every integer is little-endian. A String or ByteString is an Int32 length and that
//! many bytes; -1 is null, any other negative length is an error. An array is an Int32
//! count (-1 null) and the elements; a count is checked against the bytes left (each
//! element takes at least a known number of bytes) before anything is allocated, so a
//! count of 2^31 costs nothing. A NodeId starts with an encoding byte: 0x00 two-byte
//! (UInt8 id, namespace 0), 0x01 four-byte (UInt8 namespace, UInt16 id), 0x02 numeric
//! (UInt16 namespace, UInt32 id), 0x03 string, 0x04 GUID, 0x05 opaque (ByteString); an
//! ExpandedNodeId may add 0x80 (a namespace URI String follows) and 0x40 (a UInt32 server
//! index follows). A DiagnosticInfo is a mask byte and the fields the mask names, one of
//! them a nested DiagnosticInfo: nesting deeper than [`MAX_DIAGNOSTIC_DEPTH`] is an error.

use crate::protocols::wire::{Cursor, Truncated};
use crate::record::fields::DeviceText;

/// Deepest nesting of DiagnosticInfo (its InnerDiagnosticInfo) read; deeper is an error.
pub const MAX_DIAGNOSTIC_DEPTH: usize = 8;

/// Why bytes are not the OPC UA Binary encoding of the type being read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinaryError {
    /// A field runs past the end of the bytes.
    #[error("{what} truncated: needs {needed} bytes, {available} left")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Bytes it needed.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// A String, ByteString or array length below -1.
    #[error("{what}: length {len} is negative (only -1, null, is allowed)")]
    NegativeLength {
        /// The field being read.
        what: &'static str,
        /// The length sent.
        len: i32,
    },
    /// An array count whose elements cannot fit in the bytes left.
    #[error("{what}: {count} elements cannot fit in the {available} bytes left")]
    ArrayCount {
        /// The array being read.
        what: &'static str,
        /// The count sent.
        count: i32,
        /// Bytes left after the count.
        available: usize,
    },
    /// A NodeId encoding byte that names no form.
    #[error("{what}: NodeId encoding byte {encoding:#04x} names no form")]
    NodeIdEncoding {
        /// The field being read.
        what: &'static str,
        /// The encoding byte sent.
        encoding: u8,
    },
    /// An ExtensionObject encoding byte other than 0 (no body), 1 (ByteString) or 2 (XML).
    #[error("{what}: ExtensionObject encoding byte {encoding:#04x} is not 0, 1 or 2")]
    ExtensionObjectEncoding {
        /// The field being read.
        what: &'static str,
        /// The encoding byte sent.
        encoding: u8,
    },
    /// DiagnosticInfo nested deeper than [`MAX_DIAGNOSTIC_DEPTH`].
    #[error("DiagnosticInfo nested deeper than {MAX_DIAGNOSTIC_DEPTH}")]
    DiagnosticDepth,
}

impl From<Truncated> for BinaryError {
    fn from(t: Truncated) -> Self {
        BinaryError::Truncated {
            what: t.what,
            needed: t.needed,
            available: t.available,
        }
    }
}

/// A NodeId as sent (OPC 10000-6 §5.2.2.9); only numeric ids of namespace 0 name the
/// message types otscan reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeId {
    /// Two-byte, four-byte and numeric forms.
    Numeric {
        /// Namespace index.
        namespace: u16,
        /// Identifier.
        id: u32,
    },
    /// String, GUID and opaque forms: the identifier's bytes.
    Other {
        /// Namespace index.
        namespace: u16,
        /// The encoding byte's form (0x03, 0x04, 0x05).
        form: u8,
        /// The identifier's bytes.
        value: Vec<u8>,
    },
}

impl NodeId {
    /// The numeric identifier of a namespace-0 NodeId.
    pub fn ns0(&self) -> Option<u32> {
        match *self {
            NodeId::Numeric { namespace: 0, id } => Some(id),
            _ => None,
        }
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeId::Numeric { namespace, id } => write!(f, "ns={namespace};i={id}"),
            NodeId::Other {
                namespace,
                form,
                value,
            } => write!(
                f,
                "ns={namespace};form={form:#04x};{}",
                crate::record::fields::hex(value)
            ),
        }
    }
}

/// A LocalizedText: an optional locale and an optional text (OPC 10000-6 §5.2.2.14).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalizedText {
    /// Locale id, e.g. `en-US`.
    pub locale: Option<DeviceText>,
    /// The text.
    pub text: Option<DeviceText>,
}

/// A bounded reader of OPC UA Binary values over untrusted bytes.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    cur: Cursor<'a>,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader {
            cur: Cursor::new(bytes),
        }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.cur.len()
    }

    /// Reads `n` raw bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], BinaryError> {
        Ok(self.cur.take(n, what)?)
    }

    /// Byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, BinaryError> {
        Ok(self.cur.u8(what)?)
    }

    /// UInt16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, BinaryError> {
        Ok(self.cur.u16_le(what)?)
    }

    /// UInt32 (also StatusCode and enumerations).
    pub fn u32(&mut self, what: &'static str) -> Result<u32, BinaryError> {
        Ok(self.cur.u32_le(what)?)
    }

    /// Int32.
    pub fn i32(&mut self, what: &'static str) -> Result<i32, BinaryError> {
        Ok(self.u32(what)? as i32)
    }

    /// Int64 (also DateTime: 100-ns ticks since 1601-01-01 UTC).
    pub fn i64(&mut self, what: &'static str) -> Result<i64, BinaryError> {
        Ok(i64::from_le_bytes(self.cur.array(what)?))
    }

    /// A length prefix: `None` for -1 (null), an error below -1.
    fn length(&mut self, what: &'static str) -> Result<Option<usize>, BinaryError> {
        match self.i32(what)? {
            -1 => Ok(None),
            len if len < 0 => Err(BinaryError::NegativeLength { what, len }),
            len => Ok(Some(len as usize)),
        }
    }

    /// A ByteString (also String before decoding): `None` when null.
    pub fn byte_string(&mut self, what: &'static str) -> Result<Option<&'a [u8]>, BinaryError> {
        match self.length(what)? {
            None => Ok(None),
            Some(len) => Ok(Some(self.cur.take(len, what)?)),
        }
    }

    /// A String as device text (UTF-8 by the spec; other bytes are kept, see
    /// [`DeviceText`]): `None` when null.
    pub fn string(&mut self, what: &'static str) -> Result<Option<DeviceText>, BinaryError> {
        Ok(self.byte_string(what)?.map(DeviceText::from_bytes))
    }

    /// An array count checked against the bytes left, each element taking at least
    /// `min_element` bytes; 0 for a null array.
    pub fn array_len(
        &mut self,
        what: &'static str,
        min_element: usize,
    ) -> Result<usize, BinaryError> {
        let count = self.i32(what)?;
        match count {
            -1 => Ok(0),
            c if c < 0 => Err(BinaryError::NegativeLength { what, len: c }),
            c => {
                let available = self.remaining();
                if (c as usize).saturating_mul(min_element.max(1)) > available {
                    return Err(BinaryError::ArrayCount {
                        what,
                        count: c,
                        available,
                    });
                }
                Ok(c as usize)
            }
        }
    }

    /// An array of Strings (null elements are left out).
    pub fn string_array(&mut self, what: &'static str) -> Result<Vec<DeviceText>, BinaryError> {
        let count = self.array_len(what, 4)?;
        let mut out = Vec::with_capacity(count.min(64));
        for _ in 0..count {
            if let Some(s) = self.string(what)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// A LocalizedText.
    pub fn localized_text(&mut self, what: &'static str) -> Result<LocalizedText, BinaryError> {
        let mask = self.u8(what)?;
        let locale = if mask & 0x01 != 0 {
            self.string(what)?
        } else {
            None
        };
        let text = if mask & 0x02 != 0 {
            self.string(what)?
        } else {
            None
        };
        Ok(LocalizedText { locale, text })
    }

    /// A NodeId in any of its forms, after its encoding byte `encoding` (flags masked off).
    fn node_id_body(&mut self, encoding: u8, what: &'static str) -> Result<NodeId, BinaryError> {
        Ok(match encoding {
            0x00 => NodeId::Numeric {
                namespace: 0,
                id: u32::from(self.u8(what)?),
            },
            0x01 => NodeId::Numeric {
                namespace: u16::from(self.u8(what)?),
                id: u32::from(self.u16(what)?),
            },
            0x02 => NodeId::Numeric {
                namespace: self.u16(what)?,
                id: self.u32(what)?,
            },
            form @ (0x03 | 0x05) => NodeId::Other {
                namespace: self.u16(what)?,
                form,
                value: self.byte_string(what)?.unwrap_or_default().to_vec(),
            },
            0x04 => NodeId::Other {
                namespace: self.u16(what)?,
                form: 0x04,
                value: self.bytes(16, what)?.to_vec(),
            },
            encoding => return Err(BinaryError::NodeIdEncoding { what, encoding }),
        })
    }

    /// A NodeId.
    pub fn node_id(&mut self, what: &'static str) -> Result<NodeId, BinaryError> {
        let encoding = self.u8(what)?;
        self.node_id_body(encoding, what)
    }

    /// An ExpandedNodeId: the NodeId; a namespace URI and a server index, when the flags
    /// say they follow, are read and dropped.
    pub fn expanded_node_id(&mut self, what: &'static str) -> Result<NodeId, BinaryError> {
        let encoding = self.u8(what)?;
        let id = self.node_id_body(encoding & 0x3F, what)?;
        if encoding & 0x80 != 0 {
            self.byte_string(what)?;
        }
        if encoding & 0x40 != 0 {
            self.u32(what)?;
        }
        Ok(id)
    }

    /// Skips an ExtensionObject: its type NodeId, encoding byte and body.
    pub fn skip_extension_object(&mut self, what: &'static str) -> Result<(), BinaryError> {
        self.node_id(what)?;
        match self.u8(what)? {
            0x00 => Ok(()),
            0x01 | 0x02 => self.byte_string(what).map(|_| ()),
            encoding => Err(BinaryError::ExtensionObjectEncoding { what, encoding }),
        }
    }

    /// Skips a DiagnosticInfo (nested at most [`MAX_DIAGNOSTIC_DEPTH`] deep).
    pub fn skip_diagnostic_info(&mut self, what: &'static str) -> Result<(), BinaryError> {
        let mut depth = 0;
        loop {
            let mask = self.u8(what)?;
            // SymbolicId, NamespaceUri, LocalizedText, Locale: Int32 each.
            for bit in [0x01, 0x02, 0x04, 0x08] {
                if mask & bit != 0 {
                    self.i32(what)?;
                }
            }
            if mask & 0x10 != 0 {
                self.byte_string(what)?; // AdditionalInfo
            }
            if mask & 0x20 != 0 {
                self.u32(what)?; // InnerStatusCode
            }
            if mask & 0x40 == 0 {
                return Ok(());
            }
            depth += 1;
            if depth > MAX_DIAGNOSTIC_DEPTH {
                return Err(BinaryError::DiagnosticDepth);
            }
        }
    }
}

/// Appends a UInt32.
pub fn push_u32(buf: &mut Vec<u8>, value: u32) {
    buf.extend_from_slice(&value.to_le_bytes());
}

/// Appends a String (never null).
pub fn push_string(buf: &mut Vec<u8>, value: &str) {
    push_u32(buf, value.len() as u32);
    buf.extend_from_slice(value.as_bytes());
}

/// Appends a null String or ByteString (length -1).
pub fn push_null(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&(-1i32).to_le_bytes());
}

/// Appends a namespace-0 numeric NodeId in the four-byte form (ids up to 65535).
pub fn push_node_id(buf: &mut Vec<u8>, id: u16) {
    buf.extend_from_slice(&[0x01, 0x00]);
    buf.extend_from_slice(&id.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_length_prefixed_and_minus_one_is_null() {
        let bytes = [
            3, 0, 0, 0, b'a', b'b', b'c', 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0,
        ];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.string("s").unwrap().unwrap().text, "abc");
        assert_eq!(r.string("s").unwrap(), None);
        assert_eq!(r.string("s").unwrap().unwrap().text, "");
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn hostile_lengths_and_counts_are_errors_without_allocation() {
        let negative = (-2i32).to_le_bytes();
        assert!(matches!(
            Reader::new(&negative).string("s"),
            Err(BinaryError::NegativeLength { len: -2, .. })
        ));
        let huge = (i32::MAX).to_le_bytes();
        assert!(matches!(
            Reader::new(&huge).string("s"),
            Err(BinaryError::Truncated { .. })
        ));
        let mut count = 0x8000_0000u32.wrapping_sub(1).to_le_bytes().to_vec();
        count.extend_from_slice(&[0; 16]);
        assert!(matches!(
            Reader::new(&count).string_array("urls"),
            Err(BinaryError::ArrayCount { available: 16, .. })
        ));
        let min = i32::MIN.to_le_bytes();
        assert!(matches!(
            Reader::new(&min).array_len("a", 4),
            Err(BinaryError::NegativeLength { .. })
        ));
        assert_eq!(
            Reader::new(&(-1i32).to_le_bytes())
                .array_len("a", 4)
                .unwrap(),
            0
        );
    }

    #[test]
    fn every_node_id_form_reads() {
        let forms: [(&[u8], NodeId); 4] = [
            (
                &[0x00, 0x2A],
                NodeId::Numeric {
                    namespace: 0,
                    id: 42,
                },
            ),
            (
                &[0x01, 0x00, 0xAF, 0x01],
                NodeId::Numeric {
                    namespace: 0,
                    id: 431,
                },
            ),
            (
                &[0x02, 0x02, 0x00, 0x01, 0x00, 0x01, 0x00],
                NodeId::Numeric {
                    namespace: 2,
                    id: 0x0001_0001,
                },
            ),
            (
                &[0x03, 0x01, 0x00, 0x02, 0, 0, 0, b'h', b'i'],
                NodeId::Other {
                    namespace: 1,
                    form: 3,
                    value: b"hi".to_vec(),
                },
            ),
        ];
        for (bytes, id) in forms {
            assert_eq!(Reader::new(bytes).node_id("n").unwrap(), id);
        }
        let mut guid = vec![0x04, 0x00, 0x00];
        guid.extend_from_slice(&[7; 16]);
        assert_eq!(Reader::new(&guid).node_id("n").unwrap().ns0(), None);
        assert!(matches!(
            Reader::new(&[0x07, 0]).node_id("n"),
            Err(BinaryError::NodeIdEncoding { encoding: 7, .. })
        ));
        // Expanded: namespace URI and server index follow.
        let expanded = [0xC1, 0x00, 0xAF, 0x01, 1, 0, 0, 0, b'u', 9, 0, 0, 0, 0xEE];
        let mut r = Reader::new(&expanded);
        assert_eq!(r.expanded_node_id("n").unwrap().ns0(), Some(431));
        assert_eq!(r.remaining(), 1);
    }

    #[test]
    fn localized_text_reads_what_its_mask_names() {
        let bytes = [0x03, 2, 0, 0, 0, b'e', b'n', 3, 0, 0, 0, b'P', b'L', b'C'];
        let t = Reader::new(&bytes).localized_text("t").unwrap();
        assert_eq!(t.locale.unwrap().text, "en");
        assert_eq!(t.text.unwrap().text, "PLC");
        let only_text = [0x02, 1, 0, 0, 0, b'x'];
        let t = Reader::new(&only_text).localized_text("t").unwrap();
        assert_eq!((t.locale, t.text.unwrap().text), (None, "x".to_owned()));
    }

    #[test]
    fn diagnostic_info_and_extension_objects_are_skipped_within_bounds() {
        // Symbolic id, additional info "ab", inner status, inner diagnostic (empty).
        let bytes = [
            0x71, 1, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', 0, 0, 0x80, 0x80, 0x00, 0xEE,
        ];
        let mut r = Reader::new(&bytes);
        r.skip_diagnostic_info("d").unwrap();
        assert_eq!(r.remaining(), 1);
        let deep = vec![0x40; 64];
        assert_eq!(
            Reader::new(&deep).skip_diagnostic_info("d"),
            Err(BinaryError::DiagnosticDepth)
        );
        let body = [0x01, 0x00, 0x10, 0x01, 0x01, 2, 0, 0, 0, 1, 2, 0xEE];
        let mut r = Reader::new(&body);
        r.skip_extension_object("x").unwrap();
        assert_eq!(r.remaining(), 1);
        assert!(matches!(
            Reader::new(&[0x00, 0x00, 0x03]).skip_extension_object("x"),
            Err(BinaryError::ExtensionObjectEncoding { encoding: 3, .. })
        ));
    }
}
