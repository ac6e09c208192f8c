//! A simulated CODESYS V3 runtime answering the NameService on UDP 1740, decoded by
//! hand (never with otscan's encoder).
//!
//! Like a real runtime it answers a resolve-address request (datagram service 0x03,
//! package type 0xC202) not to the request's source but at the address the request's
//! relative sender address names: its own network prefix (a /8 on loopback) + the
//! sender's host bits, at UDP port 1740 + the sender's 2-bit port index (above the host
//! bits). The reply is an identification (service 0x04, package type 0xC280) with the
//! request id echoed. Every other datagram (the channel manager's service 0x40, which
//! opens the channels that log in and download, resolve-name requests, garbage) gets no
//! answer, so nothing a scanner sends changes the runtime.

use std::{
    io,
    net::{IpAddr, Ipv4Addr, SocketAddr},
};

use crate::{
    device::{bind_udp, serve_datagrams_to, DeviceHandle, Scope},
    recorder::Recorder,
};

/// The label recorded datagrams carry.
pub const PROTOCOL: &str = "codesys";
/// The runtime's UDP port (port index 0).
pub const PORT: u16 = 1740;
/// Datagram magic.
pub const MAGIC: u8 = 0xC5;
/// Datagram service of a NameService request.
pub const SERVICE_NAME_REQUEST: u8 = 0x03;
/// Datagram service of a NameService reply.
pub const SERVICE_NAME_REPLY: u8 = 0x04;
/// Datagram service of the channel manager (never answered here).
pub const SERVICE_CHANNEL: u8 = 0x40;
/// Package type of the resolve-address request.
pub const RESOLVE_ADDRESS: u16 = 0xC202;
/// Package type of the resolve-name request (never answered here).
pub const RESOLVE_NAME: u16 = 0xC201;
/// Package type of the identification reply.
pub const IDENTIFICATION: u16 = 0xC280;

/// What a simulated runtime answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodesysDeviceConfig {
    /// Node name (the runtime's own name).
    pub node_name: String,
    /// Device name (the target's product name).
    pub device_name: String,
    /// Vendor name.
    pub vendor_name: String,
    /// Target type (0x1000 programmable device).
    pub target_type: u32,
    /// Target id.
    pub target_id: u32,
    /// Target version, `a.b.c.d` from the high byte.
    pub target_version: [u8; 4],
    /// Serial number (empty: length 0).
    pub serial_number: String,
    /// Prefix length of the runtime's network: the reply goes to this prefix of its own
    /// address + the sender's host bits (8 on loopback).
    pub prefix_len: u8,
}

impl CodesysDeviceConfig {
    /// A runtime of `vendor_name` whose product is `device_name`, named `node_name`.
    pub fn new(node_name: &str, device_name: &str, vendor_name: &str) -> Self {
        CodesysDeviceConfig {
            node_name: node_name.to_owned(),
            device_name: device_name.to_owned(),
            vendor_name: vendor_name.to_owned(),
            target_type: 0x1000,
            target_id: 0,
            target_version: [3, 5, 19, 0],
            serial_number: String::new(),
            prefix_len: 8,
        }
    }

    /// Sets the target type, id and version.
    #[must_use]
    pub fn with_target(mut self, target_type: u32, target_id: u32, version: [u8; 4]) -> Self {
        self.target_type = target_type;
        self.target_id = target_id;
        self.target_version = version;
        self
    }

    /// Sends `serial` as the serial number.
    #[must_use]
    pub fn with_serial(mut self, serial: &str) -> Self {
        self.serial_number = serial.to_owned();
        self
    }

    /// The identification reply to `request` (`None`: not a resolve-address request).
    pub fn reply(&self, request: &[u8]) -> Option<Vec<u8>> {
        let r = parse_request(request)?;
        (r.package_type == RESOLVE_ADDRESS).then(|| self.identification(r.request_id))
    }

    /// The identification datagram with `request_id`.
    pub fn identification(&self, request_id: u32) -> Vec<u8> {
        identification_of(
            request_id,
            [&self.node_name, &self.device_name, &self.vendor_name].map(|s| utf16(s)),
            self.target_type,
            self.target_id,
            u32::from_be_bytes(self.target_version),
            self.serial_number.as_bytes(),
        )
    }

    /// Where the runtime sends its answer to `request` from `peer`: its own network
    /// prefix + the sender address's host bits, port 1740 + its port index; `None` when
    /// the request carries no sender address or names a port index the runtime cannot
    /// reach, or the address is not loopback.
    pub fn reply_to(&self, own: IpAddr, request: &[u8]) -> Option<SocketAddr> {
        let IpAddr::V4(own) = own else {
            return None;
        };
        let r = parse_request(request)?;
        let host_bits = 32 - u32::from(self.prefix_len.min(32));
        let mask = if host_bits == 32 {
            u32::MAX
        } else {
            (1u32 << host_bits) - 1
        };
        let host = (r.sender & u64::from(mask)) as u32;
        let index = ((r.sender >> host_bits) & 3) as u16;
        let ip = Ipv4Addr::from((u32::from(own) & !mask) | host);
        ip.is_loopback()
            .then(|| SocketAddr::new(IpAddr::V4(ip), PORT + index))
    }
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// An identification datagram: names as UTF-16LE bytes (node, device, vendor; each
/// sent with a 2-byte NUL), the serial number sent with one NUL. The name lengths
/// are the byte counts / 2, so a test can make them lie by editing the result.
pub fn identification_of(
    request_id: u32,
    names: [Vec<u8>; 3],
    target_type: u32,
    target_id: u32,
    target_version: u32,
    serial: &[u8],
) -> Vec<u8> {
    // Header of 4 words, no receiver address, a 1-word sender address, 2 pad bytes.
    let mut out = vec![
        MAGIC,
        0x7C,
        0x40,
        SERVICE_NAME_REPLY,
        0,
        0x10,
        0,
        0,
        0,
        1,
        0,
        0,
    ];
    out.extend_from_slice(&IDENTIFICATION.to_le_bytes());
    out.extend_from_slice(&0x0400u16.to_le_bytes());
    out.extend_from_slice(&request_id.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes()); // max channels
    out.extend_from_slice(&[1, 0]); // Intel byte order
    out.extend_from_slice(&0u16.to_le_bytes()); // no parent address
    for n in &names {
        out.extend_from_slice(&((n.len() / 2) as u16).to_le_bytes());
    }
    for v in [target_type, target_id, target_version, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&[serial.len().min(255) as u8, 0, 2]);
    out.extend_from_slice(&[0; 9]);
    for n in &names {
        out.extend_from_slice(n);
        out.extend_from_slice(&[0, 0]);
    }
    if !serial.is_empty() {
        out.extend_from_slice(&serial[..serial.len().min(255)]);
        out.push(0);
    }
    out
}

/// A NameService request as the fixture reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameRequest {
    /// The sender address words as one number.
    pub sender: u64,
    /// Package type.
    pub package_type: u16,
    /// Request id.
    pub request_id: u32,
}

/// Reads a NameService request: `None` unless the datagram has the magic, service 0x03,
/// a 1-3 word sender address and a whole NameService header.
pub fn parse_request(datagram: &[u8]) -> Option<NameRequest> {
    if datagram.len() < 6 || datagram[0] != MAGIC || datagram[3] != SERVICE_NAME_REQUEST {
        return None;
    }
    let header = usize::from(datagram[1] & 7) * 2;
    let sender_words = usize::from(datagram[5] >> 4);
    let receiver_words = usize::from(datagram[5] & 0x0F);
    if header < 6 || !(1..=3).contains(&sender_words) {
        return None;
    }
    let sender_at = header + receiver_words * 2;
    let end = sender_at + sender_words * 2;
    let payload = end.div_ceil(4) * 4;
    let sender_bytes = datagram.get(sender_at..end)?;
    let ns = datagram.get(payload..payload + 8)?;
    Some(NameRequest {
        sender: sender_bytes
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        package_type: u16::from_le_bytes([ns[0], ns[1]]),
        request_id: u32::from_le_bytes([ns[4], ns[5], ns[6], ns[7]]),
    })
}

/// A simulated CODESYS V3 runtime's NameService port.
#[derive(Debug)]
pub struct CodesysDevice;

impl CodesysDevice {
    /// Starts serving `config` on `addr` (loopback only, UDP), recording every datagram.
    ///
    /// # Errors
    /// A non-loopback address or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: CodesysDeviceConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let socket = bind_udp(addr, Scope::Loopback)?;
        let own = addr.ip();
        serve_datagrams_to(socket, recorder, PROTOCOL, move |request, _peer| {
            Some((config.reply(request)?, config.reply_to(own, request)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolve-address request as nmap's codesys3.lua builds it: sender 0x0001_0005
    /// means host bits 5 and port index 0 on a /16... here on a /8: 2 words.
    fn request(package: u16, sender: [u8; 4], id: u32) -> Vec<u8> {
        let mut out = vec![MAGIC, 0x7C, 0x40, SERVICE_NAME_REQUEST, 0, 0x20, 0, 1];
        out.extend_from_slice(&sender);
        out.extend_from_slice(&package.to_le_bytes());
        out.extend_from_slice(&0x0400u16.to_le_bytes());
        out.extend_from_slice(&id.to_le_bytes());
        out
    }

    fn pfc() -> CodesysDeviceConfig {
        CodesysDeviceConfig::new("PFC200-438F4C", "WAGO 750-8206 PFC200", "WAGO")
    }

    #[test]
    fn resolve_address_is_answered_at_port_1740_plus_index() {
        let own: IpAddr = Ipv4Addr::new(127, 0, 0, 140).into();
        let req = request(RESOLVE_ADDRESS, [0, 0, 0, 1], 0x0420_6969);
        let reply = pfc().reply(&req).unwrap();
        assert_eq!(reply[3], SERVICE_NAME_REPLY);
        assert_eq!(reply[16..20], 0x0420_6969u32.to_le_bytes());
        assert_eq!(
            pfc().reply_to(own, &req),
            Some("127.0.0.1:1740".parse().unwrap())
        );
        // Port index 2 above the 24 host bits of a /8, host 127.1.2.3.
        let req = request(RESOLVE_ADDRESS, [0x02, 1, 2, 3], 1);
        assert_eq!(
            pfc().reply_to(own, &req),
            Some("127.1.2.3:1742".parse().unwrap())
        );
    }

    #[test]
    fn channel_manager_resolve_name_and_garbage_get_no_answer() {
        assert_eq!(pfc().reply(&request(RESOLVE_NAME, [0, 0, 0, 1], 1)), None);
        let mut channel = request(RESOLVE_ADDRESS, [0, 0, 0, 1], 1);
        channel[3] = SERVICE_CHANNEL;
        assert_eq!(pfc().reply(&channel), None);
        assert_eq!(pfc().reply(b"\xc5\x7c"), None);
        assert_eq!(pfc().reply(&[0u8; 40]), None);
    }
}
