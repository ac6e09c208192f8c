//! The bounded BER walk under the SNMP codec: one TLV at a time through the checked
//! [`Cursor`], definite lengths of at most 4 bytes, single-byte tags, and the value
//! decoders SNMP needs (INTEGER, unsigned application types, OBJECT IDENTIFIER).
//!
//! No recursion: the codec walks SNMP's fixed structure level by level, so nesting in
//! a hostile reply cannot exhaust the stack. Spec: ITU-T X.690 (BER), RFC 3416 (PDUs).

use crate::protocols::wire::{Cursor, Truncated};

/// An object identifier as its arcs.
pub type Oid = Vec<u32>;

/// Most sub-identifiers in one OID.
pub const MAX_OID_LEN: usize = 128;

/// Why BER bytes cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BerError {
    /// Fewer bytes than a length says.
    #[error("{what}: length {declared} but {available} bytes present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Declared length.
        declared: usize,
        /// Bytes present.
        available: usize,
    },
    /// A tag other than the structure requires.
    #[error("{what}: expected tag {expected:#04x}, found {found:#04x}")]
    UnexpectedTag {
        /// What was being read.
        what: &'static str,
        /// Tag required.
        expected: u8,
        /// Tag found.
        found: u8,
    },
    /// An encoding SNMP never uses (indefinite length, multi-byte tags, lengths over 4 bytes).
    #[error("{0}")]
    Unsupported(&'static str),
    /// An integer wider than 64 bits, or an OID arc wider than 32 bits.
    #[error("{0} too large")]
    TooLarge(&'static str),
}

impl From<Truncated> for BerError {
    fn from(t: Truncated) -> Self {
        BerError::Truncated {
            what: t.what,
            declared: t.needed,
            available: t.available,
        }
    }
}

/// One tag-length-value: its single-byte tag and the value bytes its length covers.
pub(super) struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
}

/// Reads one TLV from the front of `buf`, returning it and the rest.
pub(super) fn tlv<'a>(buf: &'a [u8], what: &'static str) -> Result<(Tlv<'a>, &'a [u8]), BerError> {
    let mut r = Cursor::new(buf);
    let [tag, first] = r.array::<2>(what)?;
    if tag & 0x1F == 0x1F {
        return Err(BerError::Unsupported("multi-byte BER tag"));
    }
    let len = match first {
        0x80 => return Err(BerError::Unsupported("indefinite BER length")),
        n if n < 0x80 => usize::from(n),
        n => {
            let count = usize::from(n & 0x7F);
            if count > 4 {
                return Err(BerError::Unsupported("BER length of more than 4 bytes"));
            }
            r.take(count, what)?
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        }
    };
    let value = r.take(len, what)?;
    Ok((Tlv { tag, value }, r.rest()))
}

/// Reads one TLV that must carry `tag`: its value and the rest.
pub(super) fn expect<'a>(
    buf: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), BerError> {
    let (t, rest) = tlv(buf, what)?;
    if t.tag != tag {
        return Err(BerError::UnexpectedTag {
            what,
            expected: tag,
            found: t.tag,
        });
    }
    Ok((t.value, rest))
}

/// A two's-complement INTEGER value of up to 64 bits (an empty value reads as 0).
pub(super) fn int_value(v: &[u8], what: &'static str) -> Result<i64, BerError> {
    // Drop sign-extension bytes so 9-byte encodings of values that fit still decode.
    let mut v = v;
    while v.len() > 8 {
        match v {
            [0x00, second, ..] if second & 0x80 == 0 => v = &v[1..],
            [0xFF, second, ..] if second & 0x80 != 0 => v = &v[1..],
            _ => break,
        }
    }
    if v.len() > 8 {
        return Err(BerError::TooLarge(what));
    }
    let init: i64 = match v.first() {
        Some(b) if b & 0x80 != 0 => -1,
        _ => 0,
    };
    Ok(v.iter().fold(init, |acc, b| (acc << 8) | i64::from(*b)))
}

/// An unsigned application value (Counter32, Gauge32, TimeTicks, Counter64).
pub(super) fn uint_value(v: &[u8], what: &'static str) -> Result<u64, BerError> {
    let v = match v {
        [0, rest @ ..] => rest,
        other => other,
    };
    if v.len() > 8 {
        return Err(BerError::TooLarge(what));
    }
    Ok(v.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// Reads one INTEGER TLV: its value and the rest.
pub(super) fn read_int<'a>(buf: &'a [u8], what: &'static str) -> Result<(i64, &'a [u8]), BerError> {
    let (v, rest) = expect(buf, 0x02, what)?;
    Ok((int_value(v, what)?, rest))
}

/// An OBJECT IDENTIFIER value: base-128 arcs of at most 32 bits, at most
/// [`MAX_OID_LEN`] of them.
pub(super) fn oid_value(v: &[u8]) -> Result<Oid, BerError> {
    let mut r = Cursor::new(v);
    let mut arcs = Vec::new();
    let mut acc: u64 = 0;
    while r.len() > 0 {
        let b = r.u8("OID arc")?;
        acc = (acc << 7) | u64::from(b & 0x7F);
        if acc > u64::from(u32::MAX) {
            return Err(BerError::TooLarge("OID arc"));
        }
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                // The first encoded number packs the first two arcs.
                let first = (acc / 40).min(2);
                arcs.push(first as u32);
                arcs.push((acc - first * 40) as u32);
            } else {
                arcs.push(acc as u32);
            }
            acc = 0;
            if arcs.len() > MAX_OID_LEN {
                return Err(BerError::TooLarge("OID"));
            }
        } else if r.len() == 0 {
            return Err(BerError::Truncated {
                what: "OID arc",
                declared: v.len() + 1,
                available: v.len(),
            });
        }
    }
    Ok(arcs)
}
