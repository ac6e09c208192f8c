//! PROFINET CM endpoint-mapper lookup codec (UDP 34964), sans IO: the closed [`Request`]
//! set (one DCE/RPC connectionless `ept_lookup`, nothing else), [`encode`], UDP matching
//! ([`answers`]), [`parse`] of the reply and the fixed-width [`Annotation`] of its entries.
//!
//! Wire facts (checked against Wireshark's packet-dcerpc.c and packet-dcerpc-epm.c, the
//! request nmap 7.95's profinet-cm-lookup.nse sends and its S7-1500 output, and rt-labs
//! p-net's endpoint mapper, read for facts only):
//!
//! - The 80-byte connectionless header: version 4, packet type (0 request, 2 response,
//!   3 fault, 6 reject), flags1 (0x02 last fragment, 0x04 fragment, 0x08 no fack,
//!   0x20 idempotent), flags2, data representation (byte 0 high nibble 1: little-endian
//!   integers, 0: big-endian), serial high, object UUID, interface UUID, activity UUID,
//!   server boot time u32, interface version u32, sequence number u32, operation number
//!   u16, interface hint u16, activity hint u16, fragment (body) length u16, fragment
//!   number u16, authentication protocol u8, serial low u8. UUIDs are written with their
//!   first three fields in the data representation's byte order.
//! - The endpoint mapper is interface e1af8308-5d1f-11c9-91a4-08002b14a0fa version 3;
//!   `ept_lookup` is operation 2. Its request body: inquiry type u32, object (pointer +
//!   UUID), interface (pointer + UUID + version major u16 + minor u16), version option
//!   u32, entry handle (20 bytes: attributes u32 + UUID), maximum entries u32.
//! - Its response body: entry handle (20 bytes), entry count u32, a conformant varying
//!   array (maximum u32, offset u32, actual count u32) of entries (object UUID, tower
//!   pointer u32, annotation as offset u32, length u32 and up to 64 bytes, padded to 4),
//!   then the towers the non-null pointers refer to (length u32, length u32, octets,
//!   padded to 4), then a status u32 (0 ok, 0x16c9a0d6 `ept_s_not_registered`).
//! - A fault or reject body is one status u32 (`nca_s_*` codes).
//! - The PNIO device interface is dea00001-6c97-11d1-8271-00a02442df7d; an IO device's
//!   object UUID is dea00000-6c97-11d1-8271-IIII-DDDD-VVVV (instance, device id,
//!   vendor id).
//! - The annotation is printed `%-25s %-20s %5u %c%3u%3u%3u` and NUL-padded to 64 bytes
//!   (p-net): device type (25 columns), order number (20), hardware revision (5),
//!   software revision prefix (V, R, P, U or T) and three numbers of 3 columns.
//!
//! Only the lookup can be spelled: [`encode`] writes the constant header (packet type
//! request, the endpoint-mapper interface, operation 2) and body; the PNIO interface's
//! Connect, Release, Read, Write and Control (operations 0-5 of dea00001-...) are not in
//! [`Request`].

use std::fmt;

use crate::protocols::wire::{Cursor, Truncated};

/// Length of the connectionless header.
pub const HEADER_LEN: usize = 80;
/// Largest reply accepted: a one-entry lookup reply is about 300 bytes; a PNIO device's
/// UDP payload is at most 1464 bytes.
pub const MAX_REPLY_LEN: usize = 1464;
/// Most entries accepted in one reply (the request asks for one).
pub const MAX_ENTRIES: u32 = 8;
/// Longest annotation (the IDL's `char annotation[64]`).
pub const ANNOTATION_LEN: usize = 64;
/// Longest tower accepted.
pub const MAX_TOWER_LEN: u32 = 512;
/// The endpoint mapper's interface UUID, e1af8308-5d1f-11c9-91a4-08002b14a0fa.
pub const EPM_INTERFACE: Uuid = Uuid([
    0xe1, 0xaf, 0x83, 0x08, 0x5d, 0x1f, 0x11, 0xc9, 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa,
]);
/// The endpoint mapper interface's version (major 3, minor 0).
pub const EPM_VERSION: u32 = 3;
/// The PNIO device interface UUID, dea00001-6c97-11d1-8271-00a02442df7d.
pub const PNIO_DEVICE_INTERFACE: Uuid = Uuid([
    0xde, 0xa0, 0x00, 0x01, 0x6c, 0x97, 0x11, 0xd1, 0x82, 0x71, 0x00, 0xa0, 0x24, 0x42, 0xdf, 0x7d,
]);
/// The first ten bytes of a PNIO IO device object UUID (dea00000-6c97-11d1-8271-...).
pub const PNIO_OBJECT_PREFIX: [u8; 10] =
    [0xde, 0xa0, 0x00, 0x00, 0x6c, 0x97, 0x11, 0xd1, 0x82, 0x71];
/// Operation number of `ept_lookup`.
pub const OPNUM_LOOKUP: u16 = 2;
/// The sequence number of every request otscan sends (a new activity per try).
pub const SEQUENCE: u32 = 0;
/// The last 12 bytes of otscan's activity UUIDs before the process's nonce is written
/// into them (see [`activity`]): version 4 and the RFC 4122 variant, node `otscan`.
pub const ACTIVITY_SUFFIX: [u8; 12] = *b"\x00\x00\x40\x00\x80\x00otscan";

/// Packet types of the connectionless protocol.
pub mod ptype {
    /// Request.
    pub const REQUEST: u8 = 0;
    /// Response.
    pub const RESPONSE: u8 = 2;
    /// Fault (the call failed in the server).
    pub const FAULT: u8 = 3;
    /// Working (the server is still on it).
    pub const WORKING: u8 = 4;
    /// Reject (the server refused the call).
    pub const REJECT: u8 = 6;
}

/// Bits of flags1.
pub mod flags1 {
    /// The last fragment of a fragmented body.
    pub const LAST_FRAGMENT: u8 = 0x02;
    /// The packet is a fragment.
    pub const FRAGMENT: u8 = 0x04;
    /// The sender wants no fragment acknowledgement.
    pub const NO_FACK: u8 = 0x08;
    /// Idempotent call.
    pub const IDEMPOTENT: u8 = 0x20;
}

/// Status of an `ept_lookup` that found nothing.
pub const EPT_S_NOT_REGISTERED: u32 = 0x16c9_a0d6;

/// Name of an endpoint-mapper status or a fault/reject `nca_s_*` code, when known.
pub const fn status_name(code: u32) -> Option<&'static str> {
    match code {
        0 => Some("ok"),
        EPT_S_NOT_REGISTERED => Some("ept_s_not_registered"),
        0x1c01_0001 => Some("nca_s_comm_failure"),
        0x1c01_0002 => Some("nca_s_op_rng_error"),
        0x1c01_0003 => Some("nca_s_unk_if"),
        0x1c01_0006 => Some("nca_s_wrong_boot_time"),
        0x1c01_0009 => Some("nca_s_you_crashed"),
        0x1c01_000b => Some("nca_s_proto_error"),
        _ => None,
    }
}

/// A status with its name: `nca_s_unk_if (0x1c010003)`.
pub fn status_text(code: u32) -> String {
    match status_name(code) {
        Some(name) => format!("{name} ({code:#010x})"),
        None => format!("{code:#010x}"),
    }
}

/// A UUID in its canonical (RFC 4122, big-endian) byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The 16 bytes as the wire writes them: the first three fields little-endian when
    /// `little`, as they are otherwise.
    pub fn to_wire(self, little: bool) -> [u8; 16] {
        swap_fields(self.0, little)
    }

    /// Reads a UUID written in the wire order of `little` (see [`Uuid::to_wire`]).
    pub fn from_wire(bytes: [u8; 16], little: bool) -> Self {
        Uuid(swap_fields(bytes, little))
    }
}

fn swap_fields(mut b: [u8; 16], little: bool) -> [u8; 16] {
    if little {
        b[0..4].reverse();
        b[4..6].reverse();
        b[6..8].reverse();
    }
    b
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The requests otscan can send to the PROFINET CM port; nothing else can be spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// `ept_lookup` (operation 2 of the endpoint mapper), inquiry type 0 (all entries),
    /// naming the PNIO device interface version 1, a null entry handle, one entry at
    /// most: the request nmap's profinet-cm-lookup sends, with sequence number 0.
    Lookup,
}

/// Encodes `request`; `correlation` is the first four bytes (time-low field) of the
/// activity UUID, whose other twelve are the process's nonce and [`ACTIVITY_SUFFIX`]
/// (see [`activity`]). Little-endian data representation, ASCII, IEEE floats.
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    let Request::Lookup = *request;
    let mut body = Vec::with_capacity(76);
    body.extend_from_slice(&0u32.to_le_bytes()); // inquiry type: all entries
    body.extend_from_slice(&1u32.to_le_bytes()); // object pointer
    body.extend_from_slice(&[0; 16]); // object: nil
    body.extend_from_slice(&2u32.to_le_bytes()); // interface pointer
    body.extend_from_slice(&PNIO_DEVICE_INTERFACE.to_wire(true));
    body.extend_from_slice(&1u16.to_le_bytes()); // interface version major
    body.extend_from_slice(&0u16.to_le_bytes()); // minor
    body.extend_from_slice(&1u32.to_le_bytes()); // version option: all
    body.extend_from_slice(&[0; 20]); // entry handle: null
    body.extend_from_slice(&1u32.to_le_bytes()); // maximum entries
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&[4, ptype::REQUEST, flags1::IDEMPOTENT, 0, 0x10, 0, 0, 0]);
    out.extend_from_slice(&[0; 16]); // object UUID: nil
    out.extend_from_slice(&EPM_INTERFACE.to_wire(true));
    out.extend_from_slice(&activity(correlation).to_wire(true));
    out.extend_from_slice(&0u32.to_le_bytes()); // server boot time: unknown
    out.extend_from_slice(&EPM_VERSION.to_le_bytes());
    out.extend_from_slice(&SEQUENCE.to_le_bytes());
    out.extend_from_slice(&OPNUM_LOOKUP.to_le_bytes());
    out.extend_from_slice(&0xffffu16.to_le_bytes()); // interface hint: none
    out.extend_from_slice(&0xffffu16.to_le_bytes()); // activity hint: none
    out.extend_from_slice(&(body.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // fragment number
    out.extend_from_slice(&[0, 0]); // no authentication, serial low
    out.extend_from_slice(&body);
    out
}

/// The activity UUID of the try with `correlation` in this process: time-low is the
/// correlation; time-mid, the low byte of time-high and the low byte of the clock
/// sequence are [`activity_nonce`]; the rest is [`ACTIVITY_SUFFIX`] (a version 4 UUID,
/// node `otscan`).
///
/// A connectionless DCE/RPC server keeps each activity's last sequence number for a
/// while and may take a request with an activity and sequence number it has seen for
/// a retransmission, answering it from its cache or not at all (DCE 1.1 RPC, C706,
/// the connectionless protocol). Every device session starts its correlations at the
/// same value, so without the nonce a scan repeated within that while, or a second
/// scanner at the same time, would send the very activity and sequence number of the
/// scan before.
pub fn activity(correlation: u32) -> Uuid {
    let nonce = activity_nonce();
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&correlation.to_be_bytes());
    b[4..].copy_from_slice(&ACTIVITY_SUFFIX);
    b[4..6].copy_from_slice(&nonce[..2]);
    b[7] = nonce[2];
    b[9] = nonce[3];
    Uuid(b)
}

/// Four random bytes drawn from the operating system once per process (ring's
/// `SystemRandom`; the clock's nanoseconds if that ever fails), written into every
/// [`activity`] UUID of the process.
pub fn activity_nonce() -> [u8; 4] {
    static NONCE: std::sync::OnceLock<[u8; 4]> = std::sync::OnceLock::new();
    *NONCE.get_or_init(|| {
        ring::rand::generate::<[u8; 4]>(&ring::rand::SystemRandom::new())
            .map(|r| r.expose())
            .unwrap_or_else(|_| {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                nanos.to_be_bytes()
            })
    })
}

/// Why a reply cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than a fixed-size structure needs.
    #[error("reply truncated: {what} needs {needed} bytes, {available} present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// Not DCE/RPC version 4 (connectionless).
    #[error("RPC version {0}, not 4 (connectionless DCE/RPC)")]
    BadVersion(u8),
    /// A packet type that is not an answer to a call (a request: an echo).
    #[error("packet type {0} is not a response, fault or reject")]
    NotAReply(u8),
    /// A response from another interface or operation than `ept_lookup`.
    #[error("response to interface {interface} operation {opnum}, not ept_lookup")]
    WrongCall {
        /// The interface UUID of the reply.
        interface: String,
        /// Its operation number.
        opnum: u16,
    },
    /// A fragment of a body split over several datagrams, which otscan does not collect.
    #[error("fragment {fragment} of a fragmented reply (flags1 {flags:#04x}); fragments are not reassembled")]
    Fragmented {
        /// Fragment number.
        fragment: u16,
        /// flags1 as sent.
        flags: u8,
    },
    /// More entries than otscan reads.
    #[error("{0} entries, above the limit of {MAX_ENTRIES}")]
    TooManyEntries(u32),
    /// An annotation longer than its 64 bytes.
    #[error("annotation of {0} bytes, above the {ANNOTATION_LEN} the IDL allows")]
    AnnotationTooLong(u32),
    /// A tower longer than otscan reads.
    #[error("tower of {0} bytes, above the limit of {MAX_TOWER_LEN}")]
    TowerTooLong(u32),
    /// More than [`MAX_REPLY_LEN`] bytes.
    #[error("reply of {0} bytes is above the limit of {MAX_REPLY_LEN}")]
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

/// The header fields otscan reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Packet type ([`ptype`]).
    pub ptype: u8,
    /// flags1 ([`flags1`]).
    pub flags1: u8,
    /// Integers little-endian (data representation byte 0, high nibble 1).
    pub little_endian: bool,
    /// Object UUID.
    pub object: Uuid,
    /// Interface UUID.
    pub interface: Uuid,
    /// Activity UUID.
    pub activity: Uuid,
    /// Server boot time (seconds since 1970 by convention).
    pub server_boot: u32,
    /// Interface version.
    pub interface_version: u32,
    /// Sequence number.
    pub sequence: u32,
    /// Operation number.
    pub opnum: u16,
    /// Body length the header declares.
    pub body_len: u16,
    /// Fragment number.
    pub fragment: u16,
}

/// One endpoint-mapper entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Object UUID.
    pub object: Uuid,
    /// The annotation bytes as sent (up to 64).
    pub annotation: Vec<u8>,
    /// The protocol tower, as sent (empty for a null pointer).
    pub tower: Vec<u8>,
}

impl Entry {
    /// For a PNIO IO device object UUID (dea00000-6c97-11d1-8271-...): instance,
    /// device id, vendor id.
    pub fn pnio_object(&self) -> Option<(u16, u16, u16)> {
        let b = self.object.0;
        if b[..10] != PNIO_OBJECT_PREFIX {
            return None;
        }
        Some((
            u16::from_be_bytes([b[10], b[11]]),
            u16::from_be_bytes([b[12], b[13]]),
            u16::from_be_bytes([b[14], b[15]]),
        ))
    }
}

/// What the reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The `ept_lookup` response.
    Lookup {
        /// The entry count the body declares.
        entry_count: u32,
        /// The entries.
        entries: Vec<Entry>,
        /// The status (0 ok, [`EPT_S_NOT_REGISTERED`]).
        status: u32,
    },
    /// A fault: the call failed in the server, with its status.
    Fault(u32),
    /// A reject: the server refused the call, with its status.
    Reject(u32),
}

/// A decoded reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Its header.
    pub header: Header,
    /// Its body.
    pub body: Body,
    /// Oddities that did not stop decoding.
    pub warnings: Vec<String>,
}

/// A reader that takes integers in the reply's byte order.
struct Ndr<'a> {
    c: Cursor<'a>,
    little: bool,
    start: usize,
}

impl<'a> Ndr<'a> {
    fn u32(&mut self, what: &'static str) -> Result<u32, Truncated> {
        if self.little {
            self.c.u32_le(what)
        } else {
            self.c.u32_be(what)
        }
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, Truncated> {
        if self.little {
            self.c.u16_le(what)
        } else {
            self.c.u16_be(what)
        }
    }

    fn uuid(&mut self, what: &'static str) -> Result<Uuid, Truncated> {
        Ok(Uuid::from_wire(self.c.array(what)?, self.little))
    }

    /// Skips to the next multiple of 4 from the body's start (NDR alignment).
    fn align4(&mut self) {
        let at = self.start - self.c.len();
        self.c.take_upto((4 - at % 4) % 4);
    }
}

fn header(c: &mut Cursor<'_>) -> Result<Header, ParseError> {
    let version = c.u8("RPC version")?;
    if version != 4 {
        return Err(ParseError::BadVersion(version));
    }
    let ptype = c.u8("packet type")?;
    let flags1 = c.u8("flags1")?;
    let _flags2 = c.u8("flags2")?;
    let drep: [u8; 3] = c.array("data representation")?;
    let _serial_hi = c.u8("serial high")?;
    let little = drep[0] >> 4 == 1;
    let mut n = Ndr {
        c: *c,
        little,
        start: 0,
    };
    let h = Header {
        ptype,
        flags1,
        little_endian: little,
        object: n.uuid("object UUID")?,
        interface: n.uuid("interface UUID")?,
        activity: n.uuid("activity UUID")?,
        server_boot: n.u32("server boot time")?,
        interface_version: n.u32("interface version")?,
        sequence: n.u32("sequence number")?,
        opnum: {
            let op = n.u16("operation number")?;
            let _ihint = n.u16("interface hint")?;
            let _ahint = n.u16("activity hint")?;
            op
        },
        body_len: n.u16("fragment length")?,
        fragment: n.u16("fragment number")?,
    };
    let _auth = n.c.u8("authentication protocol")?;
    let _serial_lo = n.c.u8("serial low")?;
    *c = n.c;
    Ok(h)
}

/// Decodes a reply to the lookup.
///
/// # Errors
/// [`ParseError`]: a short header or body, not version 4, a request (echo), a response
/// to another call, a fragment other than a whole one, more than [`MAX_ENTRIES`]
/// entries, an annotation above 64 bytes or a tower above [`MAX_TOWER_LEN`], or more
/// than [`MAX_REPLY_LEN`] bytes.
pub fn parse(buf: &[u8]) -> Result<Reply, ParseError> {
    if buf.len() > MAX_REPLY_LEN {
        return Err(ParseError::Oversized(buf.len()));
    }
    let mut c = Cursor::new(buf);
    let header = header(&mut c)?;
    let mut warnings = Vec::new();
    if !matches!(header.ptype, ptype::RESPONSE | ptype::FAULT | ptype::REJECT) {
        return Err(ParseError::NotAReply(header.ptype));
    }
    if header.flags1 & flags1::FRAGMENT != 0 {
        if header.fragment != 0 || header.flags1 & flags1::LAST_FRAGMENT == 0 {
            return Err(ParseError::Fragmented {
                fragment: header.fragment,
                flags: header.flags1,
            });
        }
        warnings.push("fragment flag set on a whole (first and last) fragment".to_owned());
    }
    let declared = usize::from(header.body_len);
    let body = c
        .take(declared, "body")
        .map_err(|_| ParseError::Truncated {
            what: "body (fragment length)",
            needed: declared,
            available: c.len(),
        })?;
    if c.len() > 0 {
        warnings.push(format!(
            "{} bytes after the {declared}-byte body ignored",
            c.len()
        ));
    }
    let mut n = Ndr {
        c: Cursor::new(body),
        little: header.little_endian,
        start: body.len(),
    };
    let body = match header.ptype {
        ptype::FAULT => Body::Fault(n.u32("fault status")?),
        ptype::REJECT => Body::Reject(n.u32("reject status")?),
        _ => {
            if header.interface != EPM_INTERFACE || header.opnum != OPNUM_LOOKUP {
                return Err(ParseError::WrongCall {
                    interface: header.interface.to_string(),
                    opnum: header.opnum,
                });
            }
            lookup_body(&mut n, &mut warnings)?
        }
    };
    Ok(Reply {
        header,
        body,
        warnings,
    })
}

fn lookup_body(n: &mut Ndr<'_>, warnings: &mut Vec<String>) -> Result<Body, ParseError> {
    n.c.take(20, "entry handle")?;
    let entry_count = n.u32("entry count")?;
    let _max = n.u32("entries maximum count")?;
    let offset = n.u32("entries offset")?;
    let actual = n.u32("entries actual count")?;
    if entry_count > MAX_ENTRIES || actual > MAX_ENTRIES {
        return Err(ParseError::TooManyEntries(entry_count.max(actual)));
    }
    if actual != entry_count {
        warnings.push(format!(
            "entry count {entry_count} but {actual} entries in the array"
        ));
    }
    if offset != 0 {
        warnings.push(format!("entries array offset {offset}, not 0"));
    }
    let mut entries = Vec::new();
    let mut towers = Vec::new();
    for _ in 0..actual {
        let object = n.uuid("entry object UUID")?;
        let tower_ref = n.u32("tower pointer")?;
        let _ann_offset = n.u32("annotation offset")?;
        let len = n.u32("annotation length")?;
        if len as usize > ANNOTATION_LEN {
            return Err(ParseError::AnnotationTooLong(len));
        }
        let annotation = n.c.take(len as usize, "annotation")?.to_vec();
        n.align4();
        towers.push(tower_ref != 0);
        entries.push(Entry {
            object,
            annotation,
            tower: Vec::new(),
        });
    }
    for (entry, has_tower) in entries.iter_mut().zip(towers) {
        if !has_tower {
            continue;
        }
        let _max = n.u32("tower maximum count")?;
        let len = n.u32("tower length")?;
        if len > MAX_TOWER_LEN {
            return Err(ParseError::TowerTooLong(len));
        }
        entry.tower = n.c.take(len as usize, "tower")?.to_vec();
        n.align4();
    }
    let status = n.u32("lookup status")?;
    if n.c.len() > 0 {
        warnings.push(format!(
            "{} bytes after the lookup status ignored",
            n.c.len()
        ));
    }
    Ok(Body::Lookup {
        entry_count,
        entries,
        status,
    })
}

/// Whether `datagram` answers `request` sent with `correlation`: version 4, a response,
/// fault or reject, the try's activity UUID and sequence number 0. A request (an echo)
/// does not.
pub fn answers(_request: &Request, datagram: &[u8], correlation: u32) -> bool {
    let mut c = Cursor::new(datagram);
    let Ok(h) = header(&mut c) else {
        return false;
    };
    matches!(h.ptype, ptype::RESPONSE | ptype::FAULT | ptype::REJECT)
        && h.activity == activity(correlation)
        && h.sequence == SEQUENCE
}

/// A software revision: prefix letter and three numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftwareRevision {
    /// The prefix: V (officially released), R (revision), P (prototype), U (under
    /// test), T (test device).
    pub prefix: char,
    /// Functional enhancement, bug fix, internal change.
    pub numbers: (u16, u16, u16),
}

impl fmt::Display for SoftwareRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b, c) = self.numbers;
        write!(f, "{}{a}.{b}.{c}", self.prefix)
    }
}

/// The annotation read by its fixed columns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Annotation {
    /// Device type, columns 0-24, trailing padding removed.
    pub device_type: Vec<u8>,
    /// Order number, columns 26-45, trailing padding removed.
    pub order_id: Vec<u8>,
    /// Hardware revision, columns 47-51, when a number.
    pub hardware_revision: Option<u16>,
    /// Software revision, columns 53-62, when a prefix and three numbers.
    pub software_revision: Option<SoftwareRevision>,
    /// Oddities in the layout.
    pub warnings: Vec<String>,
}

fn is_pad(b: u8) -> bool {
    b == b' ' || b == 0
}

fn column(ann: &[u8], from: usize, to: usize) -> &[u8] {
    ann.get(from..to.min(ann.len())).unwrap_or(&[])
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_pad(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_pad(b))
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

fn number(bytes: &[u8]) -> Option<u16> {
    let t = trim(bytes);
    if t.is_empty() || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(t).ok()?.parse().ok()
}

/// Reads an annotation by its fixed columns (`%-25s %-20s %5u %c%3u%3u%3u`).
pub fn annotation(ann: &[u8]) -> Annotation {
    let mut a = Annotation {
        device_type: trim(column(ann, 0, 25)).to_vec(),
        order_id: trim(column(ann, 26, 46)).to_vec(),
        ..Annotation::default()
    };
    for (at, name) in [
        (25, "device type"),
        (46, "order number"),
        (52, "hardware revision"),
    ] {
        if let Some(&b) = ann.get(at) {
            if !is_pad(b) {
                a.warnings.push(format!(
                    "annotation column {at} after the {name} is {b:#04x}, not a space: fields may run together"
                ));
            }
        }
    }
    let hw = column(ann, 47, 52);
    a.hardware_revision = number(hw);
    if a.hardware_revision.is_none() && !trim(hw).is_empty() {
        a.warnings
            .push("annotation hardware revision (columns 47-51) is not a number".to_owned());
    }
    let sw = column(ann, 53, 63);
    if let Some(&prefix) = sw.first() {
        let nums = (
            number(column(sw, 1, 4)),
            number(column(sw, 4, 7)),
            number(column(sw, 7, 10)),
        );
        if let (true, (Some(x), Some(y), Some(z))) = (prefix.is_ascii_alphabetic(), nums) {
            a.software_revision = Some(SoftwareRevision {
                prefix: char::from(prefix),
                numbers: (x, y, z),
            });
        } else if !trim(sw).is_empty() {
            a.warnings.push(
                "annotation software revision (columns 53-62) is not a prefix and three numbers"
                    .to_owned(),
            );
        }
    }
    if ann.len() < ANNOTATION_LEN - 1 {
        a.warnings.push(format!(
            "annotation of {} bytes, shorter than 63",
            ann.len()
        ));
    }
    if let Some(tail) = ann.get(63..) {
        if tail.iter().any(|&b| !is_pad(b)) {
            a.warnings
                .push("annotation byte 63 is not a NUL or space".to_owned());
        }
    }
    a
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocols::wire::hex_bytes;
    use proptest::prelude::*;

    /// The annotation nmap 7.95's profinet-cm-lookup shows for an S7-1500 (its @output).
    pub(crate) const S7_1500: &str =
        "S7-1500                   6ES7 672-5DC01-0YA0      0 V  2  1  7";

    /// A lookup response to the try with `correlation`: one entry with `object` and
    /// `annotation` (NUL-padded to 64), a PNIO tower, status 0; `little` sets the byte
    /// order.
    pub(crate) fn reply(
        correlation: u32,
        object: Uuid,
        annotation: &[u8],
        little: bool,
    ) -> Vec<u8> {
        let u32b = |v: u32| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let mut body = Vec::new();
        body.extend_from_slice(&[0; 20]);
        body.extend_from_slice(&u32b(1));
        body.extend_from_slice(&u32b(1));
        body.extend_from_slice(&u32b(0));
        body.extend_from_slice(&u32b(1));
        body.extend_from_slice(&object.to_wire(little));
        body.extend_from_slice(&u32b(3));
        body.extend_from_slice(&u32b(0));
        body.extend_from_slice(&u32b(64));
        let mut ann = annotation.to_vec();
        ann.resize(64, 0);
        body.extend_from_slice(&ann);
        let tower = [0x05u8, 0x00, 0x13, 0x00, 0x0d];
        body.extend_from_slice(&u32b(tower.len() as u32));
        body.extend_from_slice(&u32b(tower.len() as u32));
        body.extend_from_slice(&tower);
        body.extend_from_slice(&[0; 3]);
        body.extend_from_slice(&u32b(0));
        header(ptype::RESPONSE, correlation, little, &body)
    }

    pub(crate) fn header(pt: u8, correlation: u32, little: bool, body: &[u8]) -> Vec<u8> {
        let mut out = vec![4, pt, 0x0a, 0, if little { 0x10 } else { 0 }, 0, 0, 0];
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&EPM_INTERFACE.to_wire(little));
        out.extend_from_slice(&activity(correlation).to_wire(little));
        let u32b = |v: u32| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let u16b = |v: u16| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        out.extend_from_slice(&u32b(0x5f3a_1b20));
        out.extend_from_slice(&u32b(3));
        out.extend_from_slice(&u32b(0));
        out.extend_from_slice(&u16b(2));
        out.extend_from_slice(&u16b(0));
        out.extend_from_slice(&u16b(0xffff));
        out.extend_from_slice(&u16b(body.len() as u16));
        out.extend_from_slice(&u16b(0));
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(body);
        out
    }

    fn pnio_object(vendor: u16, device: u16) -> Uuid {
        let mut b = [0u8; 16];
        b[..10].copy_from_slice(&PNIO_OBJECT_PREFIX);
        b[10..12].copy_from_slice(&1u16.to_be_bytes());
        b[12..14].copy_from_slice(&device.to_be_bytes());
        b[14..].copy_from_slice(&vendor.to_be_bytes());
        Uuid(b)
    }

    #[test]
    fn the_lookup_is_nmaps_request_with_otscans_activity_and_sequence_0() {
        // nmap 7.95 profinet-cm-lookup.nse's DCE_RPC_REQUEST and EPM_Lookup.
        let nmap = hex_bytes(
            "04002000100000000000000000000000000000000000000008 83afe11f5dc91191a408002b14a0fa
             0100000001000100010000010001000100000000030000000c0000000200ffffffff4c0000000000
             00000000010000000000000000000000000000000000000002000000 0100a0de976cd111827100a02442df7d
             01000000 01000000 0000000000000000000000000000000000000000 01000000",
        );
        let ours = encode(&Request::Lookup, 0x0102_0304);
        assert_eq!(ours.len(), nmap.len());
        assert_eq!(ours[..24], nmap[..24], "version, type, flags, drep, object");
        assert_eq!(ours[24..40], nmap[24..40], "endpoint mapper interface");
        assert_eq!(
            ours[40..44],
            [4, 3, 2, 1],
            "correlation in the activity's time-low"
        );
        let nonce = activity_nonce();
        assert_eq!(
            ours[44..56],
            [
                nonce[1], nonce[0], nonce[2], 0x40, 0x80, nonce[3], b'o', b't', b's', b'c', b'a',
                b'n'
            ],
            "the process's nonce in time-mid, time-high and the clock sequence (version 4, \
             RFC 4122 variant), node otscan"
        );
        assert_eq!(ours[60..64], nmap[60..64], "interface version 3");
        assert_eq!(ours[64..68], [0; 4], "sequence 0 (nmap sends 12)");
        assert_eq!(ours[68..], nmap[68..], "opnum 2, hints, length 76, body");
    }

    #[test]
    fn an_s7_1500_annotation_reads_by_its_columns() {
        let r = parse(&reply(
            7,
            pnio_object(0x002a, 0x010e),
            S7_1500.as_bytes(),
            true,
        ))
        .unwrap();
        assert!(answers(
            &Request::Lookup,
            &reply(7, Uuid::default(), b"", true),
            7
        ));
        let Body::Lookup {
            entries,
            status,
            entry_count,
        } = &r.body
        else {
            panic!("{r:?}");
        };
        assert_eq!((*status, *entry_count), (0, 1));
        assert_eq!(entries[0].pnio_object(), Some((1, 0x010e, 0x002a)));
        assert_eq!(entries[0].tower.len(), 5);
        let a = annotation(&entries[0].annotation);
        assert_eq!(a.device_type, b"S7-1500");
        assert_eq!(a.order_id, b"6ES7 672-5DC01-0YA0");
        assert_eq!(a.hardware_revision, Some(0));
        assert_eq!(a.software_revision.unwrap().to_string(), "V2.1.7");
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn a_big_endian_reply_reads_the_same() {
        let le = parse(&reply(
            9,
            pnio_object(0x002a, 0x0a01),
            S7_1500.as_bytes(),
            true,
        ))
        .unwrap();
        let be_bytes = reply(9, pnio_object(0x002a, 0x0a01), S7_1500.as_bytes(), false);
        assert!(answers(&Request::Lookup, &be_bytes, 9));
        let be = parse(&be_bytes).unwrap();
        assert_eq!(le.body, be.body);
        assert!(!be.header.little_endian);
    }

    #[test]
    fn p_net_style_annotation_with_a_long_name_and_r_prefix() {
        // p-net prints "%-25s %-20s %5u %c%3u%3u%3u".
        let text = format!(
            "{:<25} {:<20} {:>5} {}{:>3}{:>3}{:>3}",
            "P-Net Sample App", "12345 Abcdefghijk", 3, 'R', 1, 12, 103
        );
        let a = annotation(text.as_bytes());
        assert_eq!(a.device_type, b"P-Net Sample App");
        assert_eq!(a.order_id, b"12345 Abcdefghijk");
        assert_eq!(a.hardware_revision, Some(3));
        assert_eq!(a.software_revision.unwrap().to_string(), "R1.12.103");
    }

    #[test]
    fn an_annotation_without_padding_is_kept_with_warnings() {
        let a = annotation(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz!!");
        assert_eq!(a.device_type, b"ABCDEFGHIJKLMNOPQRSTUVWXY");
        assert_eq!(a.hardware_revision, None);
        assert!(a.software_revision.is_none());
        assert!(
            a.warnings.iter().any(|w| w.contains("run together")),
            "{:?}",
            a.warnings
        );
        assert!(
            a.warnings.iter().any(|w| w.contains("byte 63")),
            "{:?}",
            a.warnings
        );
        let short = annotation(b"S7-1200");
        assert_eq!(short.device_type, b"S7-1200");
        assert!(short.warnings.iter().any(|w| w.contains("shorter")));
    }

    #[test]
    fn faults_and_rejects_carry_their_status() {
        let fault = header(ptype::FAULT, 1, true, &0x1c01_0003u32.to_le_bytes());
        assert!(answers(&Request::Lookup, &fault, 1));
        assert_eq!(parse(&fault).unwrap().body, Body::Fault(0x1c01_0003));
        assert_eq!(status_text(0x1c01_0003), "nca_s_unk_if (0x1c010003)");
        let reject = header(ptype::REJECT, 1, false, &0x1c01_0002u32.to_be_bytes());
        assert_eq!(parse(&reject).unwrap().body, Body::Reject(0x1c01_0002));
        let mut body = vec![0u8; 20];
        body.extend_from_slice(&[0; 16]);
        body.extend_from_slice(&EPT_S_NOT_REGISTERED.to_le_bytes());
        let none = parse(&header(ptype::RESPONSE, 1, true, &body)).unwrap();
        assert_eq!(
            none.body,
            Body::Lookup {
                entry_count: 0,
                entries: vec![],
                status: EPT_S_NOT_REGISTERED
            }
        );
    }

    #[test]
    fn wrong_activity_sequence_or_echo_do_not_answer() {
        let good = reply(5, Uuid::default(), S7_1500.as_bytes(), true);
        assert!(!answers(&Request::Lookup, &good, 6));
        let mut seq = good.clone();
        seq[64] = 1;
        assert!(!answers(&Request::Lookup, &seq, 5));
        let echo = encode(&Request::Lookup, 5);
        assert!(!answers(&Request::Lookup, &echo, 5));
        assert_eq!(parse(&echo), Err(ParseError::NotAReply(0)));
        assert!(!answers(&Request::Lookup, &good[..79], 5));
    }

    #[test]
    fn hostile_shapes_are_typed_errors() {
        let good = reply(5, Uuid::default(), S7_1500.as_bytes(), true);
        // More fragments to come.
        let mut frag = good.clone();
        frag[2] = flags1::FRAGMENT;
        assert!(matches!(parse(&frag), Err(ParseError::Fragmented { .. })));
        // A whole fragment with both bits: accepted with a warning.
        let mut whole = good.clone();
        whole[2] = flags1::FRAGMENT | flags1::LAST_FRAGMENT;
        assert_eq!(parse(&whole).unwrap().warnings.len(), 1);
        // A huge entry count.
        let mut huge = good.clone();
        huge[100..104].copy_from_slice(&u32::MAX.to_le_bytes());
        huge[112..116].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&huge), Err(ParseError::TooManyEntries(u32::MAX)));
        // An annotation declaring 0xffff bytes.
        let mut long = good.clone();
        long[140..144].copy_from_slice(&0xffffu32.to_le_bytes());
        assert_eq!(parse(&long), Err(ParseError::AnnotationTooLong(0xffff)));
        // Truncated and oversized.
        assert!(matches!(
            parse(&good[..good.len() - 10]),
            Err(ParseError::Truncated { .. })
        ));
        assert!(matches!(
            parse(&good[..40]),
            Err(ParseError::Truncated { .. })
        ));
        assert_eq!(parse(&[0u8; 2000]), Err(ParseError::Oversized(2000)));
        // Garbage.
        assert_eq!(
            parse(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
            Err(ParseError::BadVersion(b'H'))
        );
        // A response to another call.
        let mut other = good.clone();
        other[68] = 3;
        assert!(matches!(
            parse(&other),
            Err(ParseError::WrongCall { opnum: 3, .. })
        ));
        // Trailing bytes after the body.
        let mut extra = good;
        extra.extend_from_slice(&[1, 2, 3]);
        assert_eq!(parse(&extra).unwrap().warnings.len(), 1);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse(&bytes);
            let _ = answers(&Request::Lookup, &bytes, 0);
            let _ = annotation(&bytes);
        }

        #[test]
        fn mutated_replies_never_panic(at in 0usize..260, value in any::<u8>(), cut in 0usize..260) {
            let mut bytes = reply(1, Uuid::default(), S7_1500.as_bytes(), true);
            if at < bytes.len() {
                bytes[at] = value;
            }
            bytes.truncate(cut.max(1));
            let _ = parse(&bytes);
        }
    }
}
