//! A simulated Beckhoff TwinCAT system's AMS router answering the ADS discovery protocol
//! on UDP 48899, decoded by hand (never with otscan's encoder).
//!
//! Identify (service 1) gets the configured NetId, host name, OS version block, TwinCAT
//! version and (TwinCAT 3.1.4024 and later) fingerprint, with the request's invoke id.
//! Every other service (AddRoute, 6, which carries a user name and password) and every
//! datagram that does not start with the magic gets no answer, so nothing a scanner sends
//! changes the router.

use std::{io, net::SocketAddr};

use crate::{
    device::{bind_udp, serve_datagrams, DeviceHandle, Scope},
    recorder::Recorder,
};

/// The label recorded datagrams carry.
pub const PROTOCOL: &str = "ads";
/// The ADS discovery port.
pub const PORT: u16 = 48899;
/// Magic that starts every discovery datagram.
pub const MAGIC: [u8; 4] = [0x03, 0x66, 0x14, 0x71];
/// Header length (magic to tag count).
pub const HEADER_LEN: usize = 24;
/// Services of the discovery protocol.
pub mod service {
    /// Identify.
    pub const IDENTIFY: u32 = 1;
    /// AddRoute (user name and password in tags): never answered here.
    pub const ADD_ROUTE: u32 = 6;
    /// Bit 31: a reply.
    pub const REPLY: u32 = 0x8000_0000;
}
/// Tag ids.
pub mod tag {
    /// AddRoute password.
    pub const PASSWORD: u16 = 2;
    /// TwinCAT version.
    pub const TWINCAT_VERSION: u16 = 3;
    /// OS version block.
    pub const OS_VERSION: u16 = 4;
    /// Host name.
    pub const HOST_NAME: u16 = 5;
    /// AddRoute NetId.
    pub const NET_ID: u16 = 7;
    /// AddRoute route name.
    pub const ROUTE_NAME: u16 = 12;
    /// AddRoute user name.
    pub const USER_NAME: u16 = 13;
    /// Fingerprint.
    pub const FINGERPRINT: u16 = 18;
}

/// The OS a simulated system reports in its OS version block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdsOs {
    /// Windows NT family (platform id 2): major, minor, build, service-pack string.
    Windows(u32, u32, u32, String),
    /// Windows CE (platform id 3): major, minor, build.
    WindowsCe(u32, u32, u32),
    /// TwinCAT/BSD (platform id 0): major, minor, build, then undecoded bytes.
    TwinCatBsd(u32, u32, u32, Vec<u8>),
}

impl AdsOs {
    /// The OS version block as the router sends it.
    pub fn block(&self) -> Vec<u8> {
        let (major, minor, build, platform) = match self {
            AdsOs::Windows(a, b, c, _) => (*a, *b, *c, 2u32),
            AdsOs::WindowsCe(a, b, c) => (*a, *b, *c, 3),
            AdsOs::TwinCatBsd(a, b, c, _) => (*a, *b, *c, 0),
        };
        let mut tail = match self {
            AdsOs::Windows(_, _, _, sp) => sp.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            AdsOs::WindowsCe(..) => Vec::new(),
            AdsOs::TwinCatBsd(_, _, _, extra) => extra.clone(),
        };
        if !matches!(self, AdsOs::TwinCatBsd(..)) {
            tail.resize(256, 0);
        }
        let size = 20 + tail.len() as u32;
        let mut out = Vec::new();
        for v in [size, major, minor, build, platform] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&tail);
        out
    }
}

/// What a simulated TwinCAT system answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdsDeviceConfig {
    /// AMS NetId.
    pub net_id: [u8; 6],
    /// Host name (sent NUL-terminated).
    pub host_name: String,
    /// TwinCAT version: major, minor, build.
    pub version: (u8, u8, u16),
    /// OS version block.
    pub os: AdsOs,
    /// Fingerprint (TwinCAT 3.1.4024 and later), sent NUL-terminated.
    pub fingerprint: Option<String>,
    /// Extra tags sent after the others, as (id, data).
    pub extra_tags: Vec<(u16, Vec<u8>)>,
}

impl AdsDeviceConfig {
    /// A TwinCAT system called `host_name` with `net_id`, TwinCAT `version`, on `os`.
    pub fn new(net_id: [u8; 6], host_name: &str, version: (u8, u8, u16), os: AdsOs) -> Self {
        AdsDeviceConfig {
            net_id,
            host_name: host_name.to_owned(),
            version,
            os,
            fingerprint: None,
            extra_tags: Vec::new(),
        }
    }

    /// Sends `fingerprint` in tag 18.
    #[must_use]
    pub fn with_fingerprint(mut self, fingerprint: &str) -> Self {
        self.fingerprint = Some(fingerprint.to_owned());
        self
    }

    /// Sends one more tag.
    #[must_use]
    pub fn with_tag(mut self, id: u16, data: &[u8]) -> Self {
        self.extra_tags.push((id, data.to_vec()));
        self
    }

    /// The reply to one datagram (`None`: not an Identify request, no answer).
    pub fn reply(&self, datagram: &[u8]) -> Option<Vec<u8>> {
        let request = parse_request(datagram)?;
        if request.service != service::IDENTIFY {
            return None;
        }
        let mut tags: Vec<(u16, Vec<u8>)> = Vec::new();
        let mut name = self.host_name.as_bytes().to_vec();
        name.push(0);
        tags.push((tag::HOST_NAME, name));
        tags.push((tag::OS_VERSION, self.os.block()));
        let (major, minor, build) = self.version;
        let mut version = vec![major, minor];
        version.extend_from_slice(&build.to_le_bytes());
        tags.push((tag::TWINCAT_VERSION, version));
        if let Some(fp) = &self.fingerprint {
            let mut data = fp.as_bytes().to_vec();
            data.push(0);
            tags.push((tag::FINGERPRINT, data));
        }
        tags.extend(self.extra_tags.iter().cloned());
        Some(datagram_of(
            request.invoke_id,
            service::REPLY | service::IDENTIFY,
            self.net_id,
            10_000,
            &tags,
        ))
    }
}

/// A discovery datagram: header and tags.
pub fn datagram_of(
    invoke_id: u32,
    service: u32,
    net_id: [u8; 6],
    ams_port: u16,
    tags: &[(u16, Vec<u8>)],
) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&invoke_id.to_le_bytes());
    out.extend_from_slice(&service.to_le_bytes());
    out.extend_from_slice(&net_id);
    out.extend_from_slice(&ams_port.to_le_bytes());
    out.extend_from_slice(&(tags.len() as u32).to_le_bytes());
    for (id, data) in tags {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(data.len() as u16).to_le_bytes());
        out.extend_from_slice(data);
    }
    out
}

/// A discovery request's header as the fixture reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHeader {
    /// Invoke id.
    pub invoke_id: u32,
    /// Service id.
    pub service: u32,
    /// Sender AMS NetId.
    pub sender: [u8; 6],
    /// Sender AMS port.
    pub sender_port: u16,
    /// Tag count.
    pub tag_count: u32,
}

/// Reads a discovery datagram's header: `None` unless it starts with the magic and a
/// whole header.
pub fn parse_request(datagram: &[u8]) -> Option<RequestHeader> {
    if datagram.len() < HEADER_LEN || datagram[..4] != MAGIC {
        return None;
    }
    let u32_at = |at: usize| u32::from_le_bytes(datagram[at..at + 4].try_into().unwrap_or([0; 4]));
    Some(RequestHeader {
        invoke_id: u32_at(4),
        service: u32_at(8),
        sender: datagram[12..18].try_into().ok()?,
        sender_port: u16::from_le_bytes([datagram[18], datagram[19]]),
        tag_count: u32_at(20),
    })
}

/// A simulated TwinCAT AMS router's discovery port.
#[derive(Debug)]
pub struct AdsDevice;

impl AdsDevice {
    /// Starts serving `config` on `addr` (loopback only, UDP), recording every datagram.
    ///
    /// # Errors
    /// A non-loopback address or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: AdsDeviceConfig,
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

    fn identify(invoke_id: u32) -> Vec<u8> {
        datagram_of(
            invoke_id,
            service::IDENTIFY,
            [127, 0, 0, 1, 1, 1],
            10_000,
            &[],
        )
    }

    fn cx9020() -> AdsDeviceConfig {
        AdsDeviceConfig::new(
            [5, 20, 30, 40, 1, 1],
            "CX-1A2B3C",
            (3, 1, 4024),
            AdsOs::WindowsCe(7, 0, 0),
        )
    }

    #[test]
    fn identify_is_answered_with_the_invoke_id() {
        let reply = cx9020().reply(&identify(9)).unwrap();
        assert_eq!(reply[..4], MAGIC);
        assert_eq!(reply[4..8], 9u32.to_le_bytes());
        assert_eq!(reply[8..12], 0x8000_0001u32.to_le_bytes());
        assert_eq!(reply[12..18], [5, 20, 30, 40, 1, 1]);
        assert_eq!(reply[20..24], 3u32.to_le_bytes());
        assert_eq!(&reply[28..38], b"CX-1A2B3C\0");
    }

    #[test]
    fn add_route_and_garbage_get_no_answer() {
        let add_route = datagram_of(
            0,
            service::ADD_ROUTE,
            [127, 0, 0, 1, 1, 1],
            10_000,
            &[
                (tag::USER_NAME, b"Administrator\0".to_vec()),
                (tag::PASSWORD, b"1\0".to_vec()),
            ],
        );
        assert_eq!(cx9020().reply(&add_route), None);
        assert_eq!(cx9020().reply(b"\x03\x66\x14"), None);
        let mut bad = identify(0);
        bad[0] = 0;
        assert_eq!(cx9020().reply(&bad), None);
    }
}
