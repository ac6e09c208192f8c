//! A simulated PROFINET IO device's endpoint mapper on UDP 34964 (the CM port), decoded
//! by hand (never with otscan's encoder).
//!
//! An `ept_lookup` (DCE/RPC connectionless request, interface
//! e1af8308-5d1f-11c9-91a4-08002b14a0fa, operation 2) gets one entry: the configured
//! object UUID (a PNIO object dea00000-6c97-11d1-8271-IIII-DDDD-VVVV, or nil as p-net's
//! first entry), the 64-byte annotation `%-25s %-20s %5u %c%3u%3u%3u` and a tower,
//! echoing the request's activity UUID and sequence number. Any other interface or
//! operation (the PNIO device interface's Connect, Release, Read, Write, Control) gets a
//! reject `nca_s_unk_if` or `nca_s_op_rng_error`, never an action; anything that is not a
//! DCE/RPC request gets no answer.

use std::{io, net::SocketAddr};

use crate::{
    device::{bind_udp, serve_datagrams, DeviceHandle, Scope},
    recorder::Recorder,
};

/// The label recorded datagrams carry.
pub const PROTOCOL: &str = "profinet";
/// The PROFINET CM port.
pub const PORT: u16 = 34964;
/// The endpoint mapper interface UUID as a little-endian request writes it.
pub const EPM_INTERFACE_LE: [u8; 16] = [
    0x08, 0x83, 0xaf, 0xe1, 0x1f, 0x5d, 0xc9, 0x11, 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa,
];
/// The PNIO device interface UUID (dea00001-6c97-11d1-8271-00a02442df7d), little-endian.
pub const PNIO_DEVICE_LE: [u8; 16] = [
    0x01, 0x00, 0xa0, 0xde, 0x97, 0x6c, 0xd1, 0x11, 0x82, 0x71, 0x00, 0xa0, 0x24, 0x42, 0xdf, 0x7d,
];
/// Reject status: unknown interface.
pub const NCA_S_UNK_IF: u32 = 0x1c01_0003;
/// Reject status: operation number out of range.
pub const NCA_S_OP_RNG_ERROR: u32 = 0x1c01_0002;

/// What a simulated PROFINET device's endpoint mapper answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfinetDeviceConfig {
    /// Device type (annotation columns 0-24).
    pub device_type: String,
    /// Order number (columns 26-45).
    pub order_id: String,
    /// Hardware revision.
    pub hardware_revision: u16,
    /// Software revision: prefix and three numbers.
    pub software_revision: (char, u16, u16, u16),
    /// PNIO object (vendor id, device id); `None`: a nil object UUID.
    pub object: Option<(u16, u16)>,
    /// Integers and UUIDs big-endian (data representation 0x00).
    pub big_endian: bool,
    /// The annotation bytes as sent, instead of the printed columns.
    pub raw_annotation: Option<Vec<u8>>,
    /// Answer with a fault of this status instead of the entry.
    pub fault: Option<u32>,
    /// flags1 of the reply (0x0a, last fragment and no fack, as p-net sends; 0x04 makes
    /// it a fragment with more to come).
    pub flags1: u8,
    /// Added to the request's sequence number in the reply (0: echoed).
    pub sequence_offset: u32,
}

impl ProfinetDeviceConfig {
    /// A device of `device_type` with `order_id`, hardware revision `hw`, software
    /// revision `sw`.
    pub fn new(device_type: &str, order_id: &str, hw: u16, sw: (char, u16, u16, u16)) -> Self {
        ProfinetDeviceConfig {
            device_type: device_type.to_owned(),
            order_id: order_id.to_owned(),
            hardware_revision: hw,
            software_revision: sw,
            object: None,
            big_endian: false,
            raw_annotation: None,
            fault: None,
            flags1: 0x0a,
            sequence_offset: 0,
        }
    }

    /// Sends flags1 `flags` in the reply.
    #[must_use]
    pub fn with_flags1(mut self, flags: u8) -> Self {
        self.flags1 = flags;
        self
    }

    /// Answers with the request's sequence number plus `offset`.
    #[must_use]
    pub fn with_sequence_offset(mut self, offset: u32) -> Self {
        self.sequence_offset = offset;
        self
    }

    /// Names a PNIO object UUID with `vendor_id` and `device_id` (instance 1).
    #[must_use]
    pub fn with_object(mut self, vendor_id: u16, device_id: u16) -> Self {
        self.object = Some((vendor_id, device_id));
        self
    }

    /// Answers big-endian.
    #[must_use]
    pub fn big_endian(mut self) -> Self {
        self.big_endian = true;
        self
    }

    /// Sends these annotation bytes as they are.
    #[must_use]
    pub fn with_raw_annotation(mut self, bytes: &[u8]) -> Self {
        self.raw_annotation = Some(bytes.to_vec());
        self
    }

    /// Answers every lookup with a fault of `status`.
    #[must_use]
    pub fn with_fault(mut self, status: u32) -> Self {
        self.fault = Some(status);
        self
    }

    /// The 64-byte annotation.
    pub fn annotation(&self) -> Vec<u8> {
        let mut out = self.raw_annotation.clone().unwrap_or_else(|| {
            let (p, a, b, c) = self.software_revision;
            format!(
                "{:<25.25} {:<20.20} {:>5} {p}{a:>3}{b:>3}{c:>3}",
                self.device_type, self.order_id, self.hardware_revision
            )
            .into_bytes()
        });
        out.resize(64, 0);
        out
    }

    /// The reply to one datagram (`None`: not a DCE/RPC request, no answer).
    pub fn reply(&self, datagram: &[u8]) -> Option<Vec<u8>> {
        let mut request = parse_request(datagram)?;
        request.sequence = request.sequence.wrapping_add(self.sequence_offset);
        let mut reply = self.answer(&request)?;
        reply[2] = self.flags1;
        Some(reply)
    }

    fn answer(&self, request: &RequestHeader) -> Option<Vec<u8>> {
        let little = !self.big_endian;
        let reject = if request.interface != EPM_INTERFACE_LE {
            Some(NCA_S_UNK_IF)
        } else if request.opnum != 2 {
            Some(NCA_S_OP_RNG_ERROR)
        } else {
            None
        };
        if let Some(status) = reject {
            return Some(datagram_of(6, request, little, &word(status, little)));
        }
        if let Some(status) = self.fault {
            return Some(datagram_of(3, request, little, &word(status, little)));
        }
        let mut body = vec![0u8; 20];
        body[4..8].copy_from_slice(&0x0c_u32.to_be_bytes());
        for v in [1u32, 1, 0, 1] {
            body.extend_from_slice(&word(v, little));
        }
        let mut object = [0u8; 16];
        if let Some((vendor, device)) = self.object {
            object[..10]
                .copy_from_slice(&[0xde, 0xa0, 0x00, 0x00, 0x6c, 0x97, 0x11, 0xd1, 0x82, 0x71]);
            object[10..12].copy_from_slice(&1u16.to_be_bytes());
            object[12..14].copy_from_slice(&device.to_be_bytes());
            object[14..].copy_from_slice(&vendor.to_be_bytes());
        }
        body.extend_from_slice(&uuid_wire(object, little));
        body.extend_from_slice(&word(3, little)); // tower pointer
        body.extend_from_slice(&word(0, little));
        body.extend_from_slice(&word(64, little));
        body.extend_from_slice(&self.annotation());
        let tower = tower();
        body.extend_from_slice(&word(tower.len() as u32, little));
        body.extend_from_slice(&word(tower.len() as u32, little));
        body.extend_from_slice(&tower);
        while body.len() % 4 != 0 {
            body.push(0);
        }
        body.extend_from_slice(&word(0, little));
        Some(datagram_of(2, request, little, &body))
    }
}

/// A five-floor tower: the PNIO interface, NDR, connectionless RPC, UDP 34964, IP.
fn tower() -> Vec<u8> {
    let mut t = vec![5, 0];
    let mut floor = |lhs: &[u8], rhs: &[u8]| {
        t.extend_from_slice(&(lhs.len() as u16).to_le_bytes());
        t.extend_from_slice(lhs);
        t.extend_from_slice(&(rhs.len() as u16).to_le_bytes());
        t.extend_from_slice(rhs);
    };
    let mut pnio = vec![0x0d];
    pnio.extend_from_slice(&PNIO_DEVICE_LE);
    pnio.extend_from_slice(&[1, 0]);
    floor(&pnio, &[0, 0]);
    let mut ndr = vec![
        0x0d, 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10,
        0x48, 0x60,
    ];
    ndr.extend_from_slice(&[2, 0]);
    floor(&ndr, &[0, 0]);
    floor(&[0x0a], &[0, 0]);
    floor(&[0x08], &PORT.to_be_bytes());
    floor(&[0x09], &[0, 0, 0, 0]);
    t
}

fn word(v: u32, little: bool) -> [u8; 4] {
    if little {
        v.to_le_bytes()
    } else {
        v.to_be_bytes()
    }
}

/// A canonical (big-endian) UUID in the wire order of `little`.
fn uuid_wire(mut b: [u8; 16], little: bool) -> [u8; 16] {
    if little {
        b[0..4].reverse();
        b[4..6].reverse();
        b[6..8].reverse();
    }
    b
}

/// A reply datagram of packet type `ptype` to `request` carrying `body`: the request's
/// interface, activity (converted to the reply's byte order), sequence and operation.
pub fn datagram_of(ptype: u8, request: &RequestHeader, little: bool, body: &[u8]) -> Vec<u8> {
    let canonical = |b: [u8; 16]| uuid_wire(b, true); // the request is little-endian
    let u16w = |v: u16| {
        if little {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    };
    let mut out = vec![4, ptype, 0x0a, 0, if little { 0x10 } else { 0 }, 0, 0, 0];
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&uuid_wire(canonical(request.interface), little));
    out.extend_from_slice(&uuid_wire(canonical(request.activity), little));
    out.extend_from_slice(&word(0x6512_3400, little)); // server boot time
    out.extend_from_slice(&word(3, little));
    out.extend_from_slice(&word(request.sequence, little));
    out.extend_from_slice(&u16w(request.opnum));
    out.extend_from_slice(&u16w(0));
    out.extend_from_slice(&u16w(0xffff));
    out.extend_from_slice(&u16w(body.len() as u16));
    out.extend_from_slice(&u16w(0));
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(body);
    out
}

/// A request's header as the fixture reads it (little-endian requests only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHeader {
    /// Interface UUID as sent.
    pub interface: [u8; 16],
    /// Activity UUID as sent.
    pub activity: [u8; 16],
    /// Sequence number.
    pub sequence: u32,
    /// Operation number.
    pub opnum: u16,
}

/// Reads a little-endian DCE/RPC connectionless request's header: `None` for anything
/// else.
pub fn parse_request(d: &[u8]) -> Option<RequestHeader> {
    if d.len() < 80 || d[0] != 4 || d[1] != 0 || d[4] != 0x10 {
        return None;
    }
    Some(RequestHeader {
        interface: d[24..40].try_into().ok()?,
        activity: d[40..56].try_into().ok()?,
        sequence: u32::from_le_bytes(d[64..68].try_into().ok()?),
        opnum: u16::from_le_bytes(d[68..70].try_into().ok()?),
    })
}

/// The `ept_lookup` request nmap 7.95's profinet-cm-lookup.nse sends (sequence 12, its
/// fixed activity UUID), for tests.
pub fn nmap_lookup() -> Vec<u8> {
    let mut d = vec![4, 0, 0x20, 0, 0x10, 0, 0, 0];
    d.extend_from_slice(&[0; 16]);
    d.extend_from_slice(&EPM_INTERFACE_LE);
    d.extend_from_slice(&[1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1]);
    d.extend_from_slice(&[
        0, 0, 0, 0, 3, 0, 0, 0, 0x0c, 0, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 0x4c, 0, 0, 0, 0, 0,
    ]);
    d.extend_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0]); // inquiry type 0, object pointer
    d.extend_from_slice(&[0; 16]);
    d.extend_from_slice(&[2, 0, 0, 0]); // interface pointer
    d.extend_from_slice(&PNIO_DEVICE_LE);
    d.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0]); // version 1.0, version option 1
    d.extend_from_slice(&[0; 20]); // null entry handle
    d.extend_from_slice(&[1, 0, 0, 0]); // one entry
    d
}

/// A simulated PROFINET device's CM port.
#[derive(Debug)]
pub struct ProfinetDevice;

impl ProfinetDevice {
    /// Starts serving `config` on `addr` (loopback only, UDP), recording every datagram.
    ///
    /// # Errors
    /// A non-loopback address or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: ProfinetDeviceConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let socket = bind_udp(addr, Scope::Loopback)?;
        serve_datagrams(socket, recorder, PROTOCOL, move |request| {
            config.reply(request)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s7_1500() -> ProfinetDeviceConfig {
        ProfinetDeviceConfig::new("S7-1500", "6ES7 672-5DC01-0YA0", 0, ('V', 2, 1, 7))
    }

    #[test]
    fn the_annotation_prints_as_nmap_shows_an_s7_1500() {
        let ann = s7_1500().annotation();
        assert_eq!(
            &ann[..63],
            b"S7-1500                   6ES7 672-5DC01-0YA0      0 V  2  1  7"
        );
        assert_eq!(ann[63], 0);
    }

    #[test]
    fn a_lookup_is_answered_with_the_activity_and_sequence() {
        let request = nmap_lookup();
        let reply = s7_1500().reply(&request).unwrap();
        assert_eq!(reply[1], 2, "response");
        assert_eq!(reply[40..56], request[40..56]);
        assert_eq!(reply[64..68], request[64..68]);
        assert_eq!(&reply[80 + 60..80 + 64], &64u32.to_le_bytes());
        assert_eq!(&reply[80 + 64..80 + 71], b"S7-1500");
    }

    #[test]
    fn pnio_calls_are_rejected_and_garbage_ignored() {
        let mut connect = nmap_lookup();
        connect[24..40].copy_from_slice(&PNIO_DEVICE_LE);
        connect[68] = 0;
        let reply = s7_1500().reply(&connect).unwrap();
        assert_eq!(
            (reply[1], &reply[80..84]),
            (6, &NCA_S_UNK_IF.to_le_bytes()[..])
        );
        let mut insert = nmap_lookup();
        insert[68] = 0;
        assert_eq!(s7_1500().reply(&insert).unwrap()[1], 6);
        assert_eq!(s7_1500().reply(b"hello"), None);
    }
}
