//! A simulated EtherNet/IP device: the encapsulation layer's session-less list commands
//! (ListIdentity, ListServices, ListInterfaces) on TCP and UDP at one address and port, the way
//! PLCs, drives and adapters answer them. Every other command (RegisterSession, SendRRData, ...)
//! gets status 0x0001, invalid command, so nothing a scanner sends opens a session or reaches CIP.
//!
//! Replies are immediate: real devices delay replies to a *broadcast* ListIdentity by up to ~2 s,
//! but loopback has no broadcast to tell apart, so that delay is not simulated.
//!
//! Byte order: the header and every item are little-endian, except the socket address inside the
//! Identity item, a BSD `sockaddr_in` in network (big-endian) order.

use std::{
    io,
    net::{SocketAddr, SocketAddrV4},
    sync::Arc,
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::{
    device::{bind_tcp_and_udp, serve_tcp_and_udp, DeviceHandle, Scope},
    recorder::{Framing, Recorder, RecordingStream},
};

/// The registered EtherNet/IP encapsulation port, on TCP and UDP.
pub const PORT: u16 = 44818;

/// Length of the encapsulation header.
pub const HEADER_LEN: usize = 24;

/// Encapsulation command codes.
pub mod command {
    /// ListServices, answered.
    pub const LIST_SERVICES: u16 = 0x0004;
    /// ListIdentity, answered.
    pub const LIST_IDENTITY: u16 = 0x0063;
    /// ListInterfaces, answered (with no interfaces).
    pub const LIST_INTERFACES: u16 = 0x0064;
    /// RegisterSession: refused with status 0x0001, like every command not listed above.
    pub const REGISTER_SESSION: u16 = 0x0065;
    /// SendRRData: refused with status 0x0001.
    pub const SEND_RR_DATA: u16 = 0x006F;
}

/// Header status a device sends for a command it does not serve.
pub const STATUS_INVALID_COMMAND: u32 = 0x0001;

/// CPF item type of the Identity item in a ListIdentity reply.
pub const ITEM_IDENTITY: u16 = 0x000C;
/// CPF item type of the Communications item in a ListServices reply.
pub const ITEM_LIST_SERVICES: u16 = 0x0100;

/// Capability flag: CIP encapsulation over TCP.
pub const CAPABILITY_CIP_OVER_TCP: u16 = 1 << 5;
/// Capability flag: CIP class 0/1 (implicit I/O) over UDP.
pub const CAPABILITY_CLASS01_OVER_UDP: u16 = 1 << 8;

/// Version sent in the Identity and ListServices items.
const ENCAPSULATION_VERSION: u16 = 1;
/// `sin_family` of an IPv4 socket address (AF_INET).
const AF_INET: u16 = 2;
/// The ListServices name field is fixed-size, NUL-padded.
const SERVICES_NAME_LEN: usize = 16;

/// The transports a device answers on. Real stacks answer both; some embedded adapters answer
/// only UDP, and some scanners (zgrab2) try only TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnipTransports {
    /// Listen on TCP.
    pub tcp: bool,
    /// Listen on UDP.
    pub udp: bool,
}

impl EnipTransports {
    /// TCP and UDP, like most devices.
    pub const BOTH: Self = Self {
        tcp: true,
        udp: true,
    };
    /// TCP only: UDP datagrams go unanswered (ICMP port unreachable).
    pub const TCP_ONLY: Self = Self {
        tcp: true,
        udp: false,
    };
    /// UDP only: TCP connections are refused.
    pub const UDP_ONLY: Self = Self {
        tcp: false,
        udp: true,
    };
}

impl Default for EnipTransports {
    fn default() -> Self {
        Self::BOTH
    }
}

/// Identity and behaviour of a simulated EtherNet/IP device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnipDeviceConfig {
    /// ODVA vendor id (1 is Rockwell Automation/Allen-Bradley).
    pub vendor_id: u16,
    /// CIP device type (0x0E PLC, 0x0C communications adapter, 0x02 AC drive, ...).
    pub device_type: u16,
    /// Vendor-assigned product code.
    pub product_code: u16,
    /// Revision, major and minor.
    pub revision: (u8, u8),
    /// The Identity object's status word (owned, configured, extended status, fault bits).
    pub status: u16,
    /// Serial number.
    pub serial: u32,
    /// Product name as bytes, so it may be non-UTF-8. The CIP limit is 32 bytes but longer names
    /// are sent as configured, up to the 255 a length byte can say (cut there).
    pub product_name: Vec<u8>,
    /// The Identity object's state (3 operational, 255 default/not reported).
    pub state: u8,
    /// Whether the Identity item ends with the state byte; some old devices leave it out.
    pub include_state: bool,
    /// ListServices capability flags.
    pub capability_flags: u16,
    /// ListServices name, NUL-padded (or cut) to 16 bytes on the wire.
    pub services_name: Vec<u8>,
    /// When set, every command is answered with this header status and no data, as a stack that
    /// refuses everything does; `Some(0)` gives a success header with no data.
    pub header_status: Option<u32>,
    /// Which transports the device listens on.
    pub transports: EnipTransports,
    /// Lengths that say less than the data: the encapsulation length is 0 and the Identity
    /// item's length is [`SHORT_ITEM_BY`] bytes short of its product name, as some embedded
    /// stacks send ListIdentity over UDP (each datagram still carries the whole item).
    pub short_lengths: bool,
}

/// How many bytes a [`EnipDeviceConfig::short_lengths`] device's Identity item length is short.
pub const SHORT_ITEM_BY: usize = 6;

impl Default for EnipDeviceConfig {
    /// A well-behaved generic PLC of vendor 1, product code 1, revision 1.1, operational.
    fn default() -> Self {
        Self::new(1, 0x0E, 1, "Simulated EtherNet/IP PLC")
    }
}

impl EnipDeviceConfig {
    /// A well-behaved device on TCP and UDP: revision 1.1, status 0x0030 (no I/O connections
    /// yet), serial 0, state 3 (operational), capability flags 0x0120, services name
    /// "Communications".
    pub fn new(
        vendor_id: u16,
        device_type: u16,
        product_code: u16,
        product_name: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            vendor_id,
            device_type,
            product_code,
            revision: (1, 1),
            status: 0x0030,
            serial: 0,
            product_name: product_name.into(),
            state: 3,
            include_state: true,
            capability_flags: CAPABILITY_CIP_OVER_TCP | CAPABILITY_CLASS01_OVER_UDP,
            services_name: b"Communications".to_vec(),
            header_status: None,
            transports: EnipTransports::BOTH,
            short_lengths: false,
        }
    }

    /// Sets the revision.
    #[must_use]
    pub fn with_revision(mut self, major: u8, minor: u8) -> Self {
        self.revision = (major, minor);
        self
    }

    /// Sets the Identity status word.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Sets the serial number.
    #[must_use]
    pub fn with_serial(mut self, serial: u32) -> Self {
        self.serial = serial;
        self
    }

    /// Sets the product name.
    #[must_use]
    pub fn with_product_name(mut self, name: impl Into<Vec<u8>>) -> Self {
        self.product_name = name.into();
        self
    }

    /// Sets the state byte (and sends it).
    #[must_use]
    pub fn with_state(mut self, state: u8) -> Self {
        self.state = state;
        self.include_state = true;
        self
    }

    /// Ends the Identity item after the product name, as some old devices do.
    #[must_use]
    pub fn without_state(mut self) -> Self {
        self.include_state = false;
        self
    }

    /// Sets the ListServices capability flags.
    #[must_use]
    pub fn with_capability_flags(mut self, flags: u16) -> Self {
        self.capability_flags = flags;
        self
    }

    /// Sets the ListServices name.
    #[must_use]
    pub fn with_services_name(mut self, name: impl Into<Vec<u8>>) -> Self {
        self.services_name = name.into();
        self
    }

    /// Answers every command with this header status and no data.
    #[must_use]
    pub fn with_header_status(mut self, status: u32) -> Self {
        self.header_status = Some(status);
        self
    }

    /// Sends lengths that say less than the data (see [`EnipDeviceConfig::short_lengths`]).
    #[must_use]
    pub fn with_short_lengths(mut self) -> Self {
        self.short_lengths = true;
        self
    }

    /// Sets the transports the device listens on.
    #[must_use]
    pub fn with_transports(mut self, transports: EnipTransports) -> Self {
        self.transports = transports;
        self
    }

    /// The reply to the request whose header is `request`, sent by the device at `device`.
    fn reply(&self, request: &[u8; HEADER_LEN], device: SocketAddrV4) -> Vec<u8> {
        let command = u16::from_le_bytes([request[0], request[1]]);
        let (status, data) = match self.header_status {
            Some(status) => (status, Vec::new()),
            None => match command {
                command::LIST_IDENTITY => (0, cpf(&[(ITEM_IDENTITY, self.identity_item(device))])),
                command::LIST_SERVICES => (0, cpf(&[(ITEM_LIST_SERVICES, self.services_item())])),
                command::LIST_INTERFACES => (0, cpf(&[])),
                _ => (STATUS_INVALID_COMMAND, Vec::new()),
            },
        };
        let mut data = data;
        if self.short_lengths && command == command::LIST_IDENTITY && data.len() > 6 {
            // Item count (2), type (2), then the item length to shorten.
            let item_len = u16::from_le_bytes([data[4], data[5]]);
            let short = item_len.saturating_sub(u16::try_from(SHORT_ITEM_BY).unwrap_or(0));
            data[4..6].copy_from_slice(&short.to_le_bytes());
        }
        // The data is at most a few hundred bytes: the product name is cut to 255.
        let length = if self.short_lengths {
            0
        } else {
            u16::try_from(data.len()).unwrap_or(u16::MAX)
        };
        let mut reply = Vec::with_capacity(HEADER_LEN + data.len());
        reply.extend_from_slice(&command.to_le_bytes());
        reply.extend_from_slice(&length.to_le_bytes());
        reply.extend_from_slice(&request[4..8]); // session handle, echoed
        reply.extend_from_slice(&status.to_le_bytes());
        reply.extend_from_slice(&request[12..20]); // sender context, echoed
        reply.extend_from_slice(&0u32.to_le_bytes()); // options
        reply.extend_from_slice(&data);
        reply
    }

    fn identity_item(&self, device: SocketAddrV4) -> Vec<u8> {
        let name = &self.product_name[..self.product_name.len().min(usize::from(u8::MAX))];
        let mut item = Vec::with_capacity(34 + name.len());
        item.extend_from_slice(&ENCAPSULATION_VERSION.to_le_bytes());
        item.extend_from_slice(&AF_INET.to_be_bytes());
        item.extend_from_slice(&device.port().to_be_bytes());
        item.extend_from_slice(&device.ip().octets());
        item.extend_from_slice(&[0; 8]);
        item.extend_from_slice(&self.vendor_id.to_le_bytes());
        item.extend_from_slice(&self.device_type.to_le_bytes());
        item.extend_from_slice(&self.product_code.to_le_bytes());
        item.extend_from_slice(&[self.revision.0, self.revision.1]);
        item.extend_from_slice(&self.status.to_le_bytes());
        item.extend_from_slice(&self.serial.to_le_bytes());
        item.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        item.extend_from_slice(name);
        if self.include_state {
            item.push(self.state);
        }
        item
    }

    fn services_item(&self) -> Vec<u8> {
        let mut item = Vec::with_capacity(4 + SERVICES_NAME_LEN);
        item.extend_from_slice(&ENCAPSULATION_VERSION.to_le_bytes());
        item.extend_from_slice(&self.capability_flags.to_le_bytes());
        let mut name = [0u8; SERVICES_NAME_LEN];
        let len = self.services_name.len().min(SERVICES_NAME_LEN);
        name[..len].copy_from_slice(&self.services_name[..len]);
        item.extend_from_slice(&name);
        item
    }
}

/// Common Packet Format data: item count, then each item as type, length, data.
fn cpf(items: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&u16::try_from(items.len()).unwrap_or(u16::MAX).to_le_bytes());
    for (kind, data) in items {
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&u16::try_from(data.len()).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(data);
    }
    out
}

/// A simulated EtherNet/IP device.
#[derive(Debug)]
pub struct EnipDevice;

impl EnipDevice {
    /// Starts serving `config` on `addr` (IPv4 loopback only) over the configured transports,
    /// TCP and UDP sharing the port, recording every received frame and datagram in `recorder`.
    /// With port 0 and both transports, a port free on both is picked (TCP bound first).
    ///
    /// On TCP a connection may carry any number of requests, framed by the header's length
    /// field; data after a header is read and ignored. On UDP one datagram is one request; a
    /// datagram shorter than its header says is recorded but not answered, as stacks drop it.
    /// The reply echoes the command, session handle and sender context, with options 0.
    ///
    /// # Errors
    /// A non-loopback or IPv6 address, no transport enabled, or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: EnipDeviceConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        Self::spawn_in(addr, config, recorder, Scope::Loopback)
    }

    /// Like [`EnipDevice::spawn`], but on any address (e.g. `0.0.0.0`, to hear broadcasts).
    /// Only for a process running inside a network namespace its test created: the
    /// broadcast-discovery test runs it on a veth pair there.
    ///
    /// # Errors
    /// As [`EnipDevice::spawn`], less the loopback rule.
    pub fn spawn_in_test_namespace(
        addr: SocketAddr,
        config: EnipDeviceConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        Self::spawn_in(addr, config, recorder, Scope::TestNamespace)
    }

    fn spawn_in(
        addr: SocketAddr,
        config: EnipDeviceConfig,
        recorder: Recorder,
        scope: Scope,
    ) -> io::Result<DeviceHandle> {
        let SocketAddr::V4(addr) = addr else {
            // The Identity item can only describe an IPv4 address.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("EtherNet/IP fixtures bind only to IPv4, not {addr}"),
            ));
        };
        let bound = bind_tcp_and_udp(addr, config.transports.tcp, config.transports.udp, scope)?;
        let local_addr = bound.2;
        let config = Arc::new(config);
        let datagrams = Arc::clone(&config);
        Ok(serve_tcp_and_udp(
            bound,
            recorder,
            Framing::Enip,
            Framing::Enip.protocol(),
            move |stream| serve_connection(stream, Arc::clone(&config), local_addr),
            move |request| datagram_reply(&datagrams, request, local_addr),
        ))
    }
}

/// The reply to one datagram, `None` if it is shorter than its header says.
fn datagram_reply(
    config: &EnipDeviceConfig,
    datagram: &[u8],
    device: SocketAddrV4,
) -> Option<Vec<u8>> {
    let header: &[u8; HEADER_LEN] = datagram.get(..HEADER_LEN)?.try_into().ok()?;
    let length = usize::from(u16::from_le_bytes([header[2], header[3]]));
    (datagram.len() >= HEADER_LEN + length).then(|| config.reply(header, device))
}

/// Answers requests on one TCP connection until the peer closes it or sends a truncated frame.
async fn serve_connection(
    mut stream: RecordingStream<TcpStream>,
    config: Arc<EnipDeviceConfig>,
    device: SocketAddrV4,
) {
    let mut header = [0u8; HEADER_LEN];
    loop {
        if stream.read_exact(&mut header).await.is_err() {
            return;
        }
        // The length field bounds the data to 64 KiB; it is drained, not buffered.
        let length = u64::from(u16::from_le_bytes([header[2], header[3]]));
        let mut data = (&mut stream).take(length);
        match tokio::io::copy(&mut data, &mut tokio::io::sink()).await {
            Ok(copied) if copied == length => {}
            _ => return,
        }
        if let Err(err) = stream.write_all(&config.reply(&header, device)).await {
            tracing::debug!(%device, %err, "enip fixture connection ended");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn request(command: u16, length: u16) -> [u8; HEADER_LEN] {
        let mut header = [0u8; HEADER_LEN];
        header[..2].copy_from_slice(&command.to_le_bytes());
        header[2..4].copy_from_slice(&length.to_le_bytes());
        header[4..8].copy_from_slice(&0x0102_0304u32.to_le_bytes());
        header[12..20].copy_from_slice(b"ctx-1234");
        header
    }

    const DEVICE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 9), PORT);

    #[test]
    fn long_names_are_cut_and_the_state_byte_is_optional() {
        let config = EnipDeviceConfig::default().with_product_name(vec![b'x'; 300]);
        let reply = config.reply(&request(command::LIST_IDENTITY, 0), DEVICE);
        // Header, item count, item type and length, 32 fixed bytes, name length.
        let name_len = HEADER_LEN + 2 + 4 + 32;
        assert_eq!(reply[name_len], 255);
        assert_eq!(reply.len(), name_len + 1 + 255 + 1);
        let without = config.without_state();
        let reply = without.reply(&request(command::LIST_IDENTITY, 0), DEVICE);
        assert_eq!(reply.len(), name_len + 1 + 255);
        assert_eq!(
            usize::from(u16::from_le_bytes([reply[2], reply[3]])),
            reply.len() - HEADER_LEN
        );
    }

    #[test]
    fn services_name_is_padded_or_cut_to_16_bytes() {
        let config = EnipDeviceConfig::default().with_services_name("Communications and more");
        let reply = config.reply(&request(command::LIST_SERVICES, 0), DEVICE);
        assert_eq!(&reply[HEADER_LEN + 10..], b"Communications a");
        let reply = EnipDeviceConfig::default().reply(&request(command::LIST_SERVICES, 0), DEVICE);
        assert_eq!(&reply[HEADER_LEN + 10..], b"Communications\0\0");
    }

    #[test]
    fn short_datagrams_get_no_reply() {
        let config = EnipDeviceConfig::default();
        let header = request(command::LIST_IDENTITY, 2);
        assert_eq!(datagram_reply(&config, &header[..20], DEVICE), None);
        assert_eq!(datagram_reply(&config, &header, DEVICE), None);
        let full = [&header[..], &[0, 0]].concat();
        let reply = datagram_reply(&config, &full, DEVICE).unwrap();
        assert_eq!(reply[8..12], [0, 0, 0, 0]);
    }
}
