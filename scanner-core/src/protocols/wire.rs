//! Checked reading of untrusted reply bytes, shared by the binary codecs.

/// A read past the end of the bytes: which field, how many bytes it needed, how
/// many were left. Each codec turns it into its own `ParseError::Truncated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Truncated {
    pub what: &'static str,
    pub needed: usize,
    pub available: usize,
}

/// A forward-only reader over untrusted bytes: every read is checked and a short
/// read is a [`Truncated`] naming the field, never a panic.
#[derive(Clone, Copy)]
pub(crate) struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { rest: buf }
    }

    pub(crate) fn len(&self) -> usize {
        self.rest.len()
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Truncated> {
        let (head, tail) = self.rest.split_at_checked(n).ok_or(Truncated {
            what,
            needed: n,
            available: self.rest.len(),
        })?;
        self.rest = tail;
        Ok(head)
    }

    /// Takes up to `n` bytes: all of them, or what is left.
    pub(crate) fn take_upto(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = tail;
        head
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], Truncated> {
        let available = self.rest.len();
        let bytes = self.take(N, what)?;
        <[u8; N]>::try_from(bytes).map_err(|_| Truncated {
            what,
            needed: N,
            available,
        })
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, Truncated> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16_le(&mut self, what: &'static str) -> Result<u16, Truncated> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u16_be(&mut self, what: &'static str) -> Result<u16, Truncated> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u32_le(&mut self, what: &'static str) -> Result<u32, Truncated> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32_be(&mut self, what: &'static str) -> Result<u32, Truncated> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
}

/// How a receive buffer relates to the reply being waited for: what a TCP protocol's
/// codec says about the bytes received so far, so the session knows whether to read on.
/// `E` is the codec's `ParseError`: a buffer that cannot be the protocol's frame stays
/// typed until the probe settles its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameCheck<E> {
    /// Not a whole frame yet.
    NeedMore,
    /// A whole frame of `len` bytes is at the front; `matches` says whether it
    /// answers the request (a late reply to an earlier request does not).
    Complete {
        /// Frame length in bytes.
        len: usize,
        /// The frame answers the request just sent.
        matches: bool,
    },
    /// The bytes cannot be this protocol's frame.
    Invalid(E),
}

/// Test vectors written as hex with any separators ("80 00 02", "46494e53 0000000c").
#[cfg(test)]
pub(crate) fn hex_bytes(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("?"), 16).unwrap_or(0))
        .collect()
}
