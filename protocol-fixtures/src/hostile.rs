//! Hostile devices: real socket peers on loopback that break, one at a time, every assumption a
//! scanner's reply handling could make, plus fragile devices that check the scanner's manners.
//!
//! Each [`HostileDevice`] serves one port and transport with one [`HostileBehaviour`]. The
//! behaviours that answer build their replies from the request they received (transaction id,
//! sender context, SNMP request id echoed, unless the behaviour is to get them wrong), so a
//! scanner cannot tell them from a real device by the shape of the exchange alone. Every byte
//! received is recorded in the shared [`Recorder`] (TCP frames cut by the protocol's framing,
//! datagrams whole), and each device keeps [`HostileFacts`] about what it saw and sent.
//!
//! Two behaviours are not hostile but fragile: [`HostileBehaviour::Fragile`] answers correctly and
//! reports to a [`DeviceGuard`] that may be shared by every port of one device (the safety rules
//! are per device, not per service). The guard refuses (resets) a second TCP connection while the
//! first is open, optionally resets when two packets (connection attempts, requests, datagrams)
//! arrive closer than a minimum gap, and records every violation.
//!
//! [`PlantSpec::hostile`] lays out a /24 of these devices for every protocol.
//!
//! Everything is bounded: a drip or an endless stream ends when the peer goes away, after
//! [`ENDLESS_STREAM_CAP`] bytes, or after [`MAX_CONNECTION_TIME`]; a flood is
//! [`FLOOD_DATAGRAMS`] datagrams per request.

use std::{
    io,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream, UdpSocket},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use crate::{
    ads::{self, AdsDeviceConfig, AdsOs},
    bacnet::{self, BacnetDeviceConfig},
    banner::{BannerDeviceConfig, BannerEnd},
    codesys::{self, CodesysDeviceConfig},
    device::{bind_loopback, bind_udp, DeviceHandle, Scope, ACCEPT_RETRY},
    fins::{self, FinsDeviceConfig},
    fox::{self, FoxDeviceConfig},
    hart::{self, HartDeviceConfig, HartSubDevice},
    knx::{self, KnxDeviceConfig},
    melsec::{self, MelsecDeviceConfig},
    modbus::{ModbusDeviceConfig, ModbusQuirk},
    opcua::{self, OpcuaBehaviour, OpcuaServerConfig},
    plant::{DeviceSpec, PlantPorts, PlantSpec},
    profinet::{self, ProfinetDeviceConfig},
    recorder::{Framing, Recorder, RecordingStream, Transport},
    s7::{self, S7DeviceConfig, Tpdu},
    web::{CertificateSpec, LegacyTlsConfig, WebDeviceConfig, WebResponse},
};

/// Time between two bytes of a [`HostileBehaviour::SlowDrip`] reply.
pub const DRIP_INTERVAL: Duration = Duration::from_secs(1);
/// Most bytes a [`HostileBehaviour::EndlessStream`] writes on one connection.
pub const ENDLESS_STREAM_CAP: u64 = 64 << 20;
/// Longest any hostile connection is served; the device then closes it.
pub const MAX_CONNECTION_TIME: Duration = Duration::from_secs(60);
/// Datagrams a [`HostileBehaviour::Flood`] sends for each request it receives.
pub const FLOOD_DATAGRAMS: usize = 1000;
/// Nesting depth of the value in a [`HostileBehaviour::SnmpDeepNesting`] reply; the reply stays
/// under 8 KiB, so it is parsed rather than refused for its size.
pub const SNMP_NESTING_DEPTH: usize = 1500;
/// Arcs of the varbind name in a [`HostileBehaviour::SnmpHugeOids`] reply.
pub const SNMP_HUGE_OID_ARCS: usize = 4000;
/// Size of a [`HostileBehaviour::OversizedDatagram`] reply: more than any identification reply
/// needs, less than a UDP datagram can carry.
pub const OVERSIZED_DATAGRAM_LEN: usize = 16 * 1024;
/// The gap below which the pacing-sensitive device of [`PlantSpec::hostile`] resets: the default
/// 100 ms per-device interval, less 10 ms for the time between a packet's arrival and the moment
/// the fixture, a user-space task, takes its timestamp.
pub const PACING_SENSITIVE_GAP: Duration = Duration::from_millis(90);
/// The pause inside the first reply of the plant's `modbus-stall-mid-reply`: between one and two
/// read timeouts of a scanner whose read timeout is between 350 and 700 ms.
pub const MID_REPLY_STALL: Duration = Duration::from_millis(700);
/// Nesting depth of the opening tags inside the property value of a
/// [`HostileBehaviour::BacnetDeepNesting`] reply.
pub const BACNET_NESTING_DEPTH: usize = 1000;
/// Keys after the identity in a [`HostileBehaviour::FoxThousandsOfKeys`] hello reply: about
/// 20 KiB, under the scanner's 32 KiB reply cap.
pub const FOX_MANY_KEYS: usize = 2000;
/// Length of the one line of a [`HostileBehaviour::FoxHugeLine`] hello reply.
pub const FOX_HUGE_LINE: usize = 64 * 1024;
/// Length of a [`HostileBehaviour::Garbage`] reply.
const GARBAGE_LEN: usize = 64;

/// The protocol a hostile device pretends to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostileProtocol {
    /// Modbus/TCP (TCP only).
    Modbus,
    /// EtherNet/IP encapsulation (TCP and UDP).
    Enip,
    /// SNMP (UDP only).
    Snmp,
    /// BACnet/IP (UDP only).
    Bacnet,
    /// Siemens S7 on ISO-on-TCP (TCP only).
    S7,
    /// MELSEC SLMP / MC protocol 3E binary frames (TCP and UDP).
    Melsec,
    /// Omron FINS (UDP, and FINS/TCP with its node address exchange).
    Fins,
    /// Niagara Fox (TCP only).
    Fox,
    /// OPC UA on UA-TCP (TCP only).
    Opcua,
    /// KNXnet/IP (UDP only).
    Knx,
    /// Beckhoff ADS discovery (UDP only).
    Ads,
    /// HART-IP (TCP only).
    Hart,
    /// PROFINET CM endpoint mapper (UDP only).
    Profinet,
    /// CODESYS V3 NameService (UDP only).
    Codesys,
}

impl HostileProtocol {
    /// The label recorded frames carry, as the well-behaved fixtures use it.
    pub fn label(self) -> &'static str {
        match self {
            HostileProtocol::Modbus => "modbus",
            HostileProtocol::Enip => "enip",
            HostileProtocol::Snmp => crate::snmp::PROTOCOL,
            HostileProtocol::Bacnet => bacnet::PROTOCOL,
            HostileProtocol::S7 => s7::PROTOCOL,
            HostileProtocol::Melsec => melsec::PROTOCOL,
            HostileProtocol::Fins => fins::PROTOCOL,
            HostileProtocol::Fox => fox::PROTOCOL,
            HostileProtocol::Opcua => opcua::PROTOCOL,
            HostileProtocol::Knx => knx::PROTOCOL,
            HostileProtocol::Ads => ads::PROTOCOL,
            HostileProtocol::Hart => hart::PROTOCOL,
            HostileProtocol::Profinet => profinet::PROTOCOL,
            HostileProtocol::Codesys => codesys::PROTOCOL,
        }
    }

    fn framing(self) -> Framing {
        match self {
            HostileProtocol::Modbus => Framing::ModbusTcp,
            HostileProtocol::Enip => Framing::Enip,
            HostileProtocol::Snmp
            | HostileProtocol::Bacnet
            | HostileProtocol::Knx
            | HostileProtocol::Ads
            | HostileProtocol::Profinet => Framing::Raw,
            HostileProtocol::Codesys => Framing::Raw,
            HostileProtocol::S7 => Framing::Tpkt,
            HostileProtocol::Melsec => Framing::Melsec3e,
            HostileProtocol::Fins => Framing::FinsTcp,
            HostileProtocol::Fox => Framing::Fox,
            HostileProtocol::Opcua => Framing::UaTcp,
            HostileProtocol::Hart => Framing::HartIp,
        }
    }

    fn carries(self, transport: Transport) -> bool {
        match self {
            HostileProtocol::Modbus => transport == Transport::Tcp,
            HostileProtocol::Enip | HostileProtocol::Fins | HostileProtocol::Melsec => true,
            HostileProtocol::Snmp
            | HostileProtocol::Bacnet
            | HostileProtocol::Knx
            | HostileProtocol::Ads
            | HostileProtocol::Profinet
            | HostileProtocol::Codesys => transport == Transport::Udp,
            HostileProtocol::S7
            | HostileProtocol::Fox
            | HostileProtocol::Opcua
            | HostileProtocol::Hart => transport == Transport::Tcp,
        }
    }
}

/// How a hostile device treats each request. Variants name the protocol whose frames they
/// read and whose replies they imitate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostileBehaviour {
    /// TCP: completes the handshake, reads everything and never answers. UDP: never answers.
    Silent(HostileProtocol),
    /// TCP: a valid reply, one byte every [`DRIP_INTERVAL`], so the whole reply takes longer
    /// than any sensible read timeout.
    SlowDrip(HostileProtocol),
    /// TCP: after the first request, an endless stream of well-formed replies to other requests
    /// (wrong transaction id / sender context), until the peer goes away or
    /// [`ENDLESS_STREAM_CAP`] bytes.
    EndlessStream(HostileProtocol),
    /// TCP: the first half of a valid reply, then a clean close (FIN). UDP: the first half of a
    /// valid reply as a datagram.
    CloseMidReply(HostileProtocol),
    /// TCP: accepts the connection and resets it at once (SO_LINGER 0, then close: RST).
    ResetAfterConnect(HostileProtocol),
    /// TCP: the first request on a connection gets half a valid reply, then, `stall` later, the
    /// other half; later requests get prompt valid replies. With a read timeout `T` such that
    /// `T < stall < 2T`, the second half lands while the scanner waits for its next reply.
    StallMidReply {
        /// The protocol served.
        protocol: HostileProtocol,
        /// The pause inside the first reply.
        stall: Duration,
    },
    /// The header declares the largest length it can (MBAP length 65535, encapsulation length
    /// 0xFFFF, a BER length of 2^31, BVLC length 65535, TPKT length 65535) and far fewer bytes
    /// follow; on TCP the connection then stays open and quiet.
    HugeDeclaredLength(HostileProtocol),
    /// A valid reply followed by bytes its length fields do not cover.
    MoreThanDeclared(HostileProtocol),
    /// A valid reply to another request: Modbus transaction id, EtherNet/IP sender context,
    /// SNMP request id (and v3 msgID), BACnet invoke id or S7 PDU reference plus one (S7
    /// Connection Requests still get a matching Confirm).
    WrongCorrelation(HostileProtocol),
    /// A reply of another kind with the right correlation: a Modbus FC 0x03 register reply, an
    /// EtherNet/IP RegisterSession reply, an SNMP SetRequest PDU, a BACnet SimpleACK of
    /// WriteProperty, an S7 Write Var Ack_Data (S7 Connection Requests still get a Confirm).
    WrongReplyKind(HostileProtocol),
    /// 64 pseudo-random bytes (a fixed sequence) per request.
    Garbage(HostileProtocol),
    /// Every request sent straight back, as an echo service or a reflecting middlebox does:
    /// correlation and all, but a request, not a reply.
    Echo(HostileProtocol),
    /// Modbus: a legacy server that answers FC 0x2B with exception 01 (illegal function)
    /// after reading only the MBAP header and the function code, so it reads its next request
    /// on that connection from the leftover `0E ...` bytes and never answers it; on a fresh
    /// connection it answers FC 0x11 Report Server ID with `11 0A B4 FF 4C 4D 42 33 2E 31 2E
    /// 34` (server id 0xB4, running, "LMB3.1.4").
    ModbusDesyncAfterException,
    /// An EtherNet/IP ListIdentity-style reply whose CPF item count is 65535, with one item.
    EnipItemCount65535,
    /// An SNMP response whose first value is [`SNMP_NESTING_DEPTH`] nested SEQUENCEs.
    SnmpDeepNesting,
    /// An SNMP response whose error-status and error-index are 1000-byte INTEGERs (non-minimal
    /// encodings of tooBig and -1), and a v3 Report whose engine boots and time are as wide.
    SnmpHugeIntegers,
    /// An SNMP response whose varbind name has [`SNMP_HUGE_OID_ARCS`] arcs and whose
    /// sysObjectID value has one 100-byte arc.
    SnmpHugeOids,
    /// S7: valid connection and setup, then SZL answers whose record count is 65535 with one
    /// record (0x0011 and other lists) or whose record length is 0xFFFF with one 34-byte record
    /// (0x001C); the data lengths are true.
    S7SzlLyingCounts,
    /// S7: a Connection Confirm, then silence: nothing after it is ever answered.
    S7CotpThenSilence,
    /// OPC UA: a valid handshake and channel, then a GetEndpointsResponse whose endpoint array
    /// count is 2^31 (0x80000000, as an Int32 negative) followed by a few bytes.
    OpcuaEndpointCount2Pow31,
    /// BACnet: ReadProperty(Multiple) ACKs whose property value is [`BACNET_NESTING_DEPTH`]
    /// nested opening tags (and as many closing ones).
    BacnetDeepNesting,
    /// BACnet: ReadProperty(Multiple) ACKs whose property value is a CharacterString declaring
    /// an extended length of 0xFFFFFFFF, followed by a few bytes.
    BacnetHugeTagLength,
    /// UDP: a datagram of [`OVERSIZED_DATAGRAM_LEN`] bytes that starts like a valid reply.
    OversizedDatagram(HostileProtocol),
    /// UDP: a valid reply, sent from another port of the device's address.
    ReplyFromOtherPort(HostileProtocol),
    /// UDP: a valid reply, sent from another loopback address.
    ReplyFromOtherAddress(HostileProtocol),
    /// UDP: [`FLOOD_DATAGRAMS`] datagrams per request, replies to other requests and garbage,
    /// never the right reply.
    Flood(HostileProtocol),
    /// Fox: a hello reply that never ends: the header, `{`, then one short tuple after
    /// another, never `};;`, until the peer goes away or [`ENDLESS_STREAM_CAP`] bytes.
    FoxNeverEnds,
    /// Fox: a hello reply whose one tuple line is [`FOX_HUGE_LINE`] bytes long, then `};;`.
    FoxHugeLine,
    /// Fox: a whole hello reply with the identity and [`FOX_MANY_KEYS`] more keys.
    FoxThousandsOfKeys,
    /// Fox: an error frame (`fox e 0 1 fox hello`, `reason=s:...`) for every hello.
    FoxErrorReply,
    /// HART-IP: a valid session, then HART frames whose check byte is wrong.
    HartBadChecksum,
    /// HART-IP: a valid session, then HART frames whose byte count says 10 more bytes than
    /// the frame holds (the HART-IP byte count is true).
    HartByteCountLie,
    /// HART-IP: an I/O system whose command 74 reports 65535 devices detected; command 84
    /// answers for any index.
    HartHugeSubDeviceCount,
    /// HART-IP: a valid session, then every command answered with response code 16
    /// (access restricted) and no data.
    HartErrorResponseCode,
    /// Valid replies from a fragile stack: the guard, shared by every port of the device, refuses
    /// a second TCP connection while one is open and may reset on packets that come too close
    /// together; it records every violation.
    Fragile {
        /// The protocol served.
        protocol: HostileProtocol,
        /// The device's guard.
        guard: DeviceGuard,
    },
}

impl HostileBehaviour {
    /// The protocol whose frames the behaviour reads and imitates.
    pub fn protocol(&self) -> HostileProtocol {
        match self {
            HostileBehaviour::Silent(p)
            | HostileBehaviour::SlowDrip(p)
            | HostileBehaviour::EndlessStream(p)
            | HostileBehaviour::CloseMidReply(p)
            | HostileBehaviour::ResetAfterConnect(p)
            | HostileBehaviour::HugeDeclaredLength(p)
            | HostileBehaviour::MoreThanDeclared(p)
            | HostileBehaviour::WrongCorrelation(p)
            | HostileBehaviour::WrongReplyKind(p)
            | HostileBehaviour::Garbage(p)
            | HostileBehaviour::Echo(p)
            | HostileBehaviour::OversizedDatagram(p)
            | HostileBehaviour::ReplyFromOtherPort(p)
            | HostileBehaviour::ReplyFromOtherAddress(p)
            | HostileBehaviour::Flood(p)
            | HostileBehaviour::Fragile { protocol: p, .. }
            | HostileBehaviour::StallMidReply { protocol: p, .. } => *p,
            HostileBehaviour::ModbusDesyncAfterException => HostileProtocol::Modbus,
            HostileBehaviour::EnipItemCount65535 => HostileProtocol::Enip,
            HostileBehaviour::SnmpDeepNesting
            | HostileBehaviour::SnmpHugeIntegers
            | HostileBehaviour::SnmpHugeOids => HostileProtocol::Snmp,
            HostileBehaviour::S7SzlLyingCounts | HostileBehaviour::S7CotpThenSilence => {
                HostileProtocol::S7
            }
            HostileBehaviour::OpcuaEndpointCount2Pow31 => HostileProtocol::Opcua,
            HostileBehaviour::BacnetDeepNesting | HostileBehaviour::BacnetHugeTagLength => {
                HostileProtocol::Bacnet
            }
            HostileBehaviour::FoxNeverEnds
            | HostileBehaviour::FoxHugeLine
            | HostileBehaviour::FoxThousandsOfKeys
            | HostileBehaviour::FoxErrorReply => HostileProtocol::Fox,
            HostileBehaviour::HartBadChecksum
            | HostileBehaviour::HartByteCountLie
            | HostileBehaviour::HartHugeSubDeviceCount
            | HostileBehaviour::HartErrorResponseCode => HostileProtocol::Hart,
        }
    }

    /// Whether the behaviour exists on `transport` (and its protocol runs over it).
    pub fn supports(&self, transport: Transport) -> bool {
        let by_behaviour = match self {
            HostileBehaviour::SlowDrip(_)
            | HostileBehaviour::EndlessStream(_)
            | HostileBehaviour::ResetAfterConnect(_)
            | HostileBehaviour::StallMidReply { .. } => transport == Transport::Tcp,
            HostileBehaviour::OversizedDatagram(_)
            | HostileBehaviour::ReplyFromOtherPort(_)
            | HostileBehaviour::ReplyFromOtherAddress(_)
            | HostileBehaviour::Flood(_) => transport == Transport::Udp,
            _ => true,
        };
        by_behaviour && self.protocol().carries(transport)
    }
}

// ---------------------------------------------------------------------------
// Facts

/// What a hostile device saw and did; clones share one record.
#[derive(Debug, Clone, Default)]
pub struct HostileFacts {
    inner: Arc<Mutex<HostileReport>>,
}

/// A snapshot of [`HostileFacts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostileReport {
    /// TCP connections accepted (reset ones included).
    pub connections: u64,
    /// TCP connections that ended, by either side.
    pub connections_ended: u64,
    /// TCP connections that ended because the peer closed or reset them.
    pub closed_by_peer: u64,
    /// The longest a TCP connection lasted, from accept to its end.
    pub longest_connection: Duration,
    /// The longest a TCP connection lasted after its first request arrived: how long the peer
    /// kept reading a reply that never ends.
    pub longest_after_request: Duration,
    /// Requests received: TCP frames and datagrams.
    pub requests: u64,
    /// Replies (or reply fragments, datagrams) sent.
    pub replies: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
}

impl HostileFacts {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HostileReport> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the device saw and did so far.
    pub fn report(&self) -> HostileReport {
        self.lock().clone()
    }

    fn connection(&self) {
        self.lock().connections += 1;
    }

    fn connection_ended(&self, lasted: Duration, after_request: Duration, by_peer: bool) {
        let mut r = self.lock();
        r.connections_ended += 1;
        r.closed_by_peer += u64::from(by_peer);
        r.longest_connection = r.longest_connection.max(lasted);
        r.longest_after_request = r.longest_after_request.max(after_request);
    }

    fn request(&self) {
        self.lock().requests += 1;
    }

    fn sent(&self, bytes: usize) {
        let mut r = self.lock();
        r.replies += 1;
        r.bytes_sent += bytes as u64;
    }
}

// ---------------------------------------------------------------------------
// Guard of a fragile device

/// What a fragile device cannot bear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardRules {
    /// A second TCP connection while one is open is reset (and recorded).
    pub single_connection: bool,
    /// Packets (connection attempts, requests, datagrams) closer together than this are
    /// recorded as violations, and the device resets (TCP) or drops (UDP) the later one.
    pub min_gap: Option<Duration>,
}

/// What a [`DeviceGuard`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardReport {
    /// TCP connections accepted and served.
    pub connections: u64,
    /// TCP connections that arrived while another was open, and were reset.
    pub concurrent_connections: u64,
    /// Packets seen: connection attempts, TCP requests and datagrams.
    pub packets: u64,
    /// Packets that came sooner than the minimum gap after the one before.
    pub pacing_violations: u64,
    /// The smallest gap seen between two packets.
    pub smallest_gap: Option<Duration>,
}

/// The shared state of a fragile device: every port of the device reports to the same guard.
/// Clones share it; two guards are equal only when they are the same guard.
#[derive(Debug, Clone)]
pub struct DeviceGuard {
    rules: GuardRules,
    state: Arc<Mutex<GuardState>>,
}

#[derive(Debug, Default)]
struct GuardState {
    /// The open connection: its id and a duplicate of its socket, to ask the kernel whether the
    /// peer has closed it (a pending FIN) when the next connection arrives.
    open: Option<(u64, std::net::TcpStream)>,
    last_id: u64,
    last_packet: Option<Instant>,
    report: GuardReport,
}

impl PartialEq for DeviceGuard {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.state, &other.state)
    }
}

impl Eq for DeviceGuard {}

/// Whether the connection a guard holds is still open from the peer's side.
enum PeerState {
    Open,
    Closed,
    /// Data the serving task has not read yet is in the way.
    Unknown,
}

impl DeviceGuard {
    /// A guard with these rules.
    pub fn new(rules: GuardRules) -> Self {
        Self {
            rules,
            state: Arc::default(),
        }
    }

    /// A device with one TCP connection slot, indifferent to pacing.
    pub fn one_connection() -> Self {
        Self::new(GuardRules {
            single_connection: true,
            min_gap: None,
        })
    }

    /// A device with one TCP connection slot that resets when two packets come closer than
    /// `gap`.
    pub fn one_connection_min_gap(gap: Duration) -> Self {
        Self::new(GuardRules {
            single_connection: true,
            min_gap: Some(gap),
        })
    }

    /// The guard's rules.
    pub fn rules(&self) -> GuardRules {
        self.rules
    }

    /// What the guard saw so far.
    pub fn report(&self) -> GuardReport {
        self.lock().report.clone()
    }

    fn lock(&self) -> MutexGuard<'_, GuardState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one packet; true when it came too soon and the device must not serve it.
    fn packet(&self) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        state.report.packets += 1;
        let mut too_soon = false;
        if let Some(last) = state.last_packet {
            // Tasks may record out of order by a hair: a later timestamp is not a gap.
            let gap = now.saturating_duration_since(last);
            let smallest = state.report.smallest_gap.map_or(gap, |s| s.min(gap));
            state.report.smallest_gap = Some(smallest);
            if self.rules.min_gap.is_some_and(|min| gap < min) {
                state.report.pacing_violations += 1;
                too_soon = true;
            }
        }
        state.last_packet = Some(state.last_packet.map_or(now, |last| last.max(now)));
        too_soon
    }

    fn peer_state(open: &std::net::TcpStream) -> PeerState {
        let mut byte = [0u8; 1];
        match open.peek(&mut byte) {
            Ok(0) => PeerState::Closed,
            Ok(_) => PeerState::Unknown,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => PeerState::Open,
            Err(_) => PeerState::Closed,
        }
    }

    /// Decides on a new connection: `None` when it was reset (second connection, or too soon).
    async fn admit(&self, stream: TcpStream) -> io::Result<Option<(TcpStream, u64)>> {
        let too_soon = self.packet();
        let mut concurrent = false;
        if self.rules.single_connection {
            // The peer's FIN for the old connection, if it sent one, reached this socket before
            // its SYN for the new one; only unread request bytes can hide it, and the serving
            // task reads those within milliseconds.
            for _ in 0..20 {
                let state = {
                    let guard = self.lock();
                    guard
                        .open
                        .as_ref()
                        .map_or(PeerState::Closed, |(_, s)| Self::peer_state(s))
                };
                match state {
                    PeerState::Closed => {
                        self.lock().open = None;
                        concurrent = false;
                        break;
                    }
                    PeerState::Open => {
                        concurrent = true;
                        break;
                    }
                    PeerState::Unknown => {
                        concurrent = true;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }
        if concurrent {
            self.lock().report.concurrent_connections += 1;
        }
        if concurrent || too_soon {
            stream.set_zero_linger()?;
            drop(stream);
            return Ok(None);
        }
        if self.rules.min_gap.is_some() {
            // Resets on a pacing violation must be resets: close without FIN.
            stream.set_zero_linger()?;
        }
        let std_stream = stream.into_std()?;
        let duplicate = std_stream.try_clone()?;
        let stream = TcpStream::from_std(std_stream)?;
        let mut state = self.lock();
        state.last_id += 1;
        let id = state.last_id;
        state.report.connections += 1;
        if self.rules.single_connection {
            state.open = Some((id, duplicate));
        }
        Ok(Some((stream, id)))
    }

    /// The serving task of connection `id` is done: the guard lets go of its socket.
    fn release(&self, id: u64) {
        let mut state = self.lock();
        if state.open.as_ref().is_some_and(|(open, _)| *open == id) {
            state.open = None;
        }
    }
}

// ---------------------------------------------------------------------------
// The device

/// A hostile (or fragile) device on one port and transport.
#[derive(Debug)]
pub struct HostileDevice;

/// A running [`HostileDevice`].
#[derive(Debug)]
pub struct HostileHandle {
    device: DeviceHandle,
    facts: HostileFacts,
}

impl HostileHandle {
    /// Where the device listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.device.local_addr()
    }

    /// What the device saw and did.
    pub fn facts(&self) -> &HostileFacts {
        &self.facts
    }

    /// Stops the device (see [`DeviceHandle::shutdown`]).
    pub async fn shutdown(self) {
        self.device.shutdown().await;
    }

    /// The plain handle and the facts.
    pub fn into_parts(self) -> (DeviceHandle, HostileFacts) {
        (self.device, self.facts)
    }
}

impl HostileDevice {
    /// Starts a device with `behaviour` on `addr` (loopback only; port 0 picks a free port) over
    /// `transport`, recording every received frame in `recorder`.
    ///
    /// # Errors
    /// A non-loopback address, a behaviour that does not exist on `transport` (see
    /// [`HostileBehaviour::supports`]), or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        transport: Transport,
        behaviour: HostileBehaviour,
        recorder: Recorder,
    ) -> io::Result<HostileHandle> {
        if !behaviour.supports(transport) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{behaviour:?} does not exist on {transport:?}"),
            ));
        }
        let facts = HostileFacts::new();
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let (local_addr, task) = match transport {
            Transport::Tcp => {
                let listener = bind_loopback(addr)?;
                let local_addr = listener.local_addr()?;
                let ctx = Arc::new(Ctx {
                    local_addr,
                    behaviour,
                    recorder,
                    facts: facts.clone(),
                    other_socket: None,
                });
                (local_addr, tokio::spawn(run_tcp(listener, ctx, stop)))
            }
            Transport::Udp => {
                let socket = bind_udp(addr, Scope::Loopback)?;
                let local_addr = socket.local_addr()?;
                let other_socket = match behaviour {
                    HostileBehaviour::ReplyFromOtherPort(_) => Some(bind_udp(
                        SocketAddr::new(local_addr.ip(), 0),
                        Scope::Loopback,
                    )?),
                    HostileBehaviour::ReplyFromOtherAddress(_) => Some(bind_udp(
                        SocketAddr::new(other_loopback(local_addr.ip()), 0),
                        Scope::Loopback,
                    )?),
                    _ => None,
                };
                let ctx = Arc::new(Ctx {
                    local_addr,
                    behaviour,
                    recorder,
                    facts: facts.clone(),
                    other_socket,
                });
                (local_addr, tokio::spawn(run_udp(socket, ctx, stop)))
            }
        };
        Ok(HostileHandle {
            device: DeviceHandle::new(local_addr, cancel, task),
            facts,
        })
    }
}

/// A loopback address other than `ip`, for replies that must come from elsewhere.
fn other_loopback(ip: IpAddr) -> IpAddr {
    let one = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
    if ip == one {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))
    } else {
        one
    }
}

struct Ctx {
    local_addr: SocketAddr,
    behaviour: HostileBehaviour,
    recorder: Recorder,
    facts: HostileFacts,
    /// Where replies from another port or address go out.
    other_socket: Option<UdpSocket>,
}

impl Ctx {
    fn protocol(&self) -> HostileProtocol {
        self.behaviour.protocol()
    }

    fn guard(&self) -> Option<&DeviceGuard> {
        match &self.behaviour {
            HostileBehaviour::Fragile { guard, .. } => Some(guard),
            _ => None,
        }
    }

    fn reply(&self, shape: Shape, request: &[u8], nth: u64) -> Vec<u8> {
        craft(self.protocol(), shape, request, self.local_addr, nth)
    }
}

async fn run_tcp(listener: TcpListener, ctx: Arc<Ctx>, stop: CancellationToken) {
    // Dropping the set when this task ends closes every connection it still holds.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if let Some((stream, slot)) = accept(&ctx, stream).await {
                        connections.spawn(serve_connection(Arc::clone(&ctx), stream, slot));
                    }
                }
                Err(err) => {
                    tracing::debug!(addr = %ctx.local_addr, %err, "hostile fixture accept failed");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            },
        }
    }
}

/// Admits a connection: `None` when the device reset it.
async fn accept(ctx: &Ctx, stream: TcpStream) -> Option<(RecordingStream<TcpStream>, Option<u64>)> {
    ctx.facts.connection();
    let framing = ctx.protocol().framing();
    match &ctx.behaviour {
        HostileBehaviour::ResetAfterConnect(_) => {
            if let Err(err) = stream.set_zero_linger() {
                tracing::debug!(%err, "hostile fixture could not set SO_LINGER");
            }
            // Counted and recorded like any connection, then closed with an RST.
            drop(ctx.recorder.wrap_tcp(stream, framing));
            ctx.facts
                .connection_ended(Duration::ZERO, Duration::ZERO, false);
            None
        }
        HostileBehaviour::Fragile { guard, .. } => match guard.admit(stream).await {
            Ok(Some((stream, id))) => {
                let stream = ctx.recorder.wrap_tcp(stream, framing).ok()?;
                Some((stream, Some(id)))
            }
            Ok(None) | Err(_) => {
                ctx.facts
                    .connection_ended(Duration::ZERO, Duration::ZERO, false);
                None
            }
        },
        _ => Some((ctx.recorder.wrap_tcp(stream, framing).ok()?, None)),
    }
}

/// How a conversation ended.
enum End {
    /// The peer closed or reset the connection.
    Peer,
    /// The device ended it.
    Device,
}

async fn serve_connection(
    ctx: Arc<Ctx>,
    mut stream: RecordingStream<TcpStream>,
    slot: Option<u64>,
) {
    let started = Instant::now();
    let mut first_request = None;
    let end = tokio::time::timeout(
        MAX_CONNECTION_TIME,
        converse(&ctx, &mut stream, &mut first_request),
    )
    .await
    .unwrap_or(End::Device);
    let after_request = first_request.map_or(Duration::ZERO, |at: Instant| at.elapsed());
    ctx.facts
        .connection_ended(started.elapsed(), after_request, matches!(end, End::Peer));
    drop(stream);
    if let (Some(id), Some(guard)) = (slot, ctx.guard()) {
        guard.release(id);
    }
}

async fn converse(
    ctx: &Ctx,
    stream: &mut RecordingStream<TcpStream>,
    first_request: &mut Option<Instant>,
) -> End {
    let protocol = ctx.protocol();
    let mut pending = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut nth = 0u64;
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return End::Peer,
            Ok(n) => n,
        };
        pending.extend_from_slice(&chunk[..n]);
        if ctx.behaviour == HostileBehaviour::ModbusDesyncAfterException {
            while let Some(reply) = modbus_desync_next(&mut pending) {
                first_request.get_or_insert_with(Instant::now);
                ctx.facts.request();
                if let Err(end) = send(ctx, stream, &reply).await {
                    return end;
                }
            }
            continue;
        }
        while let Some(request) = next_request(protocol, &mut pending) {
            first_request.get_or_insert_with(Instant::now);
            ctx.facts.request();
            nth += 1;
            if let Some(end) = respond_tcp(ctx, stream, &request, nth).await {
                return end;
            }
        }
    }
}

/// Writes `bytes`, counting them; `Err` when the peer is gone.
async fn send(ctx: &Ctx, stream: &mut RecordingStream<TcpStream>, bytes: &[u8]) -> Result<(), End> {
    stream.write_all(bytes).await.map_err(|_| End::Peer)?;
    ctx.facts.sent(bytes.len());
    Ok(())
}

/// Answers one TCP request; `Some` ends the conversation.
async fn respond_tcp(
    ctx: &Ctx,
    stream: &mut RecordingStream<TcpStream>,
    request: &[u8],
    nth: u64,
) -> Option<End> {
    let shape = match &ctx.behaviour {
        HostileBehaviour::Silent(_) => return None,
        HostileBehaviour::SlowDrip(_) => {
            for byte in ctx.reply(Shape::Valid, request, nth) {
                if let Err(end) = send(ctx, stream, &[byte]).await {
                    return Some(end);
                }
                tokio::time::sleep(DRIP_INTERVAL).await;
            }
            return None;
        }
        HostileBehaviour::EndlessStream(_) => {
            let frame = ctx.reply(Shape::WrongCorrelation, request, nth);
            let mut burst = Vec::with_capacity(frame.len() * 64);
            for _ in 0..64 {
                burst.extend_from_slice(&frame);
            }
            let mut written = 0u64;
            while written < ENDLESS_STREAM_CAP {
                if let Err(end) = send(ctx, stream, &burst).await {
                    return Some(end);
                }
                written += burst.len() as u64;
            }
            return Some(End::Device);
        }
        HostileBehaviour::FoxNeverEnds => {
            let mut written = 0u64;
            let mut head = b"fox a 0 -1 fox hello\n{\n".to_vec();
            let mut line = 0u64;
            while written < ENDLESS_STREAM_CAP {
                let mut burst = std::mem::take(&mut head);
                for _ in 0..256 {
                    line += 1;
                    burst.extend_from_slice(format!("key{line}=s:value {line}\n").as_bytes());
                }
                if let Err(end) = send(ctx, stream, &burst).await {
                    return Some(end);
                }
                written += burst.len() as u64;
            }
            return Some(End::Device);
        }
        HostileBehaviour::CloseMidReply(_) => {
            let reply = ctx.reply(Shape::Valid, request, nth);
            let half = &reply[..reply.len() / 2];
            return Some(match send(ctx, stream, half).await {
                Ok(()) => {
                    let _ = stream.shutdown().await;
                    End::Device
                }
                Err(end) => end,
            });
        }
        HostileBehaviour::StallMidReply { stall, .. } if nth == 1 => {
            let reply = ctx.reply(Shape::Valid, request, nth);
            let (head, tail) = reply.split_at(reply.len() / 2);
            if let Err(end) = send(ctx, stream, head).await {
                return Some(end);
            }
            tokio::time::sleep(*stall).await;
            return send(ctx, stream, tail).await.err();
        }
        HostileBehaviour::Fragile { guard, .. } => {
            if guard.packet() && guard.rules().min_gap.is_some() {
                // SO_LINGER 0 was set on admission: dropping the stream resets it.
                return Some(End::Device);
            }
            Shape::Valid
        }
        HostileBehaviour::S7CotpThenSilence => match s7::parse_tpkt(request) {
            Some(Tpdu::Cr(_)) => Shape::Valid,
            _ => return None,
        },
        other => Shape::for_behaviour(other),
    };
    let reply = ctx.reply(shape, request, nth);
    send(ctx, stream, &reply).await.err()
}

/// [`HostileBehaviour::ModbusDesyncAfterException`]: the reply to the request at the front
/// of `pending`, consuming what the legacy server consumes (for FC 0x2B only the MBAP header
/// and the function code); `None` while a whole request of its reading is not there (for
/// the leftover of a desynchronised stream, never).
fn modbus_desync_next(pending: &mut Vec<u8>) -> Option<Vec<u8>> {
    let header: [u8; 8] = pending.get(..8)?.try_into().ok()?;
    let length = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let (consumed, pdu): (usize, &[u8]) = match header[7] {
        0x2B if header[2..4] == [0, 0] => (8, &[0xAB, 0x01]),
        0x11 if header[2..4] == [0, 0] && pending.len() >= 6 + length => (
            6 + length,
            &[
                0x11, 0x0A, 0xB4, 0xFF, 0x4C, 0x4D, 0x42, 0x33, 0x2E, 0x31, 0x2E, 0x34,
            ],
        ),
        // Anything else is read as a frame of the length its header claims, and refused.
        _ if pending.len() >= 6 + length => (6 + length, &[header[7] | 0x80, 0x01]),
        _ => return None,
    };
    pending.drain(..consumed);
    let mut reply = header[..4].to_vec();
    reply.extend_from_slice(&u16::try_from(pdu.len() + 1).unwrap_or(0).to_be_bytes());
    reply.push(header[6]);
    reply.extend_from_slice(pdu);
    Some(reply)
}

/// Cuts the next request off the front of `pending`: a whole Modbus or EtherNet/IP frame, or,
/// when the header cannot be a request's, everything received so far.
fn next_request(protocol: HostileProtocol, pending: &mut Vec<u8>) -> Option<Vec<u8>> {
    let len = match protocol {
        HostileProtocol::Modbus => {
            if pending.len() < 6 {
                return None;
            }
            let length = usize::from(u16::from_be_bytes([pending[4], pending[5]]));
            if pending[2..4] != [0, 0] || !(1..=254).contains(&length) {
                pending.len()
            } else {
                6 + length
            }
        }
        HostileProtocol::Enip => {
            if pending.len() < 24 {
                return None;
            }
            24 + usize::from(u16::from_le_bytes([pending[2], pending[3]]))
        }
        HostileProtocol::S7 => {
            if pending.len() < 4 {
                return None;
            }
            let length = usize::from(u16::from_be_bytes([pending[2], pending[3]]));
            if pending[0] != 3 || length < 6 {
                pending.len()
            } else {
                length
            }
        }
        HostileProtocol::Melsec => {
            if pending.len() < melsec::HEADER_LEN {
                return None;
            }
            melsec::HEADER_LEN + usize::from(u16::from_le_bytes([pending[7], pending[8]]))
        }
        HostileProtocol::Fins => {
            if pending.len() < 8 {
                return None;
            }
            let length = u32::from_be_bytes([pending[4], pending[5], pending[6], pending[7]]);
            if pending[..4] != fins::MAGIC || !(8..=4096).contains(&length) {
                pending.len()
            } else {
                8 + length as usize
            }
        }
        HostileProtocol::Fox => {
            if pending.len() >= 4 && !pending.starts_with(b"fox ") {
                pending.len()
            } else {
                fox::message_len(pending)?
            }
        }
        HostileProtocol::Opcua => {
            if pending.len() < 8 {
                return None;
            }
            let size = u32::from_le_bytes([pending[4], pending[5], pending[6], pending[7]]);
            if !(8..=65_536).contains(&size) {
                pending.len()
            } else {
                size as usize
            }
        }
        HostileProtocol::Hart => hart::message_len(pending)?,
        HostileProtocol::Snmp
        | HostileProtocol::Bacnet
        | HostileProtocol::Knx
        | HostileProtocol::Ads
        | HostileProtocol::Profinet => pending.len(),
        HostileProtocol::Codesys => pending.len(),
    };
    if len == 0 || pending.len() < len {
        return None;
    }
    Some(pending.drain(..len).collect())
}

async fn run_udp(socket: UdpSocket, ctx: Arc<Ctx>, stop: CancellationToken) {
    let mut buf = vec![0u8; 65_535];
    let mut nth = 0u64;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            received = socket.recv_from(&mut buf) => match received {
                Ok((len, peer)) => {
                    nth += 1;
                    let request = &buf[..len];
                    ctx.recorder
                        .record_datagram(ctx.local_addr, peer, ctx.protocol().label(), request);
                    ctx.facts.request();
                    for (from_other, datagram) in respond_udp(&ctx, request, nth) {
                        let out = if from_other { ctx.other_socket.as_ref() } else { Some(&socket) };
                        let Some(out) = out else { continue };
                        match out.send_to(&datagram, peer).await {
                            Ok(n) => ctx.facts.sent(n),
                            Err(err) => {
                                tracing::debug!(addr = %ctx.local_addr, %err, "hostile fixture send failed");
                            }
                        }
                    }
                }
                // An ICMP error for an earlier reply surfaces here on Linux; the socket is fine.
                Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(err) => {
                    tracing::debug!(addr = %ctx.local_addr, %err, "hostile fixture receive failed");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            },
        }
    }
}

/// The datagrams answering one request, each with whether it leaves from the other socket.
fn respond_udp(ctx: &Ctx, request: &[u8], nth: u64) -> Vec<(bool, Vec<u8>)> {
    let shape = match &ctx.behaviour {
        HostileBehaviour::Silent(_) => return Vec::new(),
        HostileBehaviour::CloseMidReply(_) => {
            let mut reply = ctx.reply(Shape::Valid, request, nth);
            reply.truncate(reply.len() / 2);
            return vec![(false, reply)];
        }
        HostileBehaviour::ReplyFromOtherPort(_) | HostileBehaviour::ReplyFromOtherAddress(_) => {
            return vec![(true, ctx.reply(Shape::Valid, request, nth))];
        }
        HostileBehaviour::Flood(_) => {
            return (0..FLOOD_DATAGRAMS as u64)
                .map(|i| {
                    let shape = if i % 2 == 0 {
                        Shape::WrongCorrelation
                    } else {
                        Shape::Garbage
                    };
                    (false, ctx.reply(shape, request, nth * 10_000 + i))
                })
                .collect();
        }
        HostileBehaviour::Fragile { guard, .. } => {
            if guard.packet() && guard.rules().min_gap.is_some() {
                return Vec::new();
            }
            Shape::Valid
        }
        other => Shape::for_behaviour(other),
    };
    vec![(false, ctx.reply(shape, request, nth))]
}

// ---------------------------------------------------------------------------
// Replies

/// The shape of a reply, for every protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Valid,
    HugeLength,
    MoreThanDeclared,
    WrongCorrelation,
    WrongKind,
    Garbage,
    Echo,
    ItemCount65535,
    DeepNesting,
    HugeIntegers,
    HugeOids,
    Oversized,
    HugeTagLength,
    SzlLyingCounts,
    FoxHugeLine,
    FoxManyKeys,
    FoxError,
    EndpointCount2Pow31,
    HartBadChecksum,
    HartByteCountLie,
    HartHugeSubDeviceCount,
    HartErrorResponseCode,
}

impl Shape {
    fn for_behaviour(behaviour: &HostileBehaviour) -> Shape {
        match behaviour {
            HostileBehaviour::HugeDeclaredLength(_) => Shape::HugeLength,
            HostileBehaviour::MoreThanDeclared(_) => Shape::MoreThanDeclared,
            HostileBehaviour::WrongCorrelation(_) => Shape::WrongCorrelation,
            HostileBehaviour::WrongReplyKind(_) => Shape::WrongKind,
            HostileBehaviour::Garbage(_) => Shape::Garbage,
            HostileBehaviour::Echo(_) => Shape::Echo,
            HostileBehaviour::EnipItemCount65535 => Shape::ItemCount65535,
            HostileBehaviour::SnmpDeepNesting => Shape::DeepNesting,
            HostileBehaviour::SnmpHugeIntegers => Shape::HugeIntegers,
            HostileBehaviour::SnmpHugeOids => Shape::HugeOids,
            HostileBehaviour::BacnetDeepNesting => Shape::DeepNesting,
            HostileBehaviour::BacnetHugeTagLength => Shape::HugeTagLength,
            HostileBehaviour::S7SzlLyingCounts => Shape::SzlLyingCounts,
            HostileBehaviour::OpcuaEndpointCount2Pow31 => Shape::EndpointCount2Pow31,
            HostileBehaviour::OversizedDatagram(_) => Shape::Oversized,
            HostileBehaviour::FoxHugeLine => Shape::FoxHugeLine,
            HostileBehaviour::FoxThousandsOfKeys => Shape::FoxManyKeys,
            HostileBehaviour::FoxErrorReply => Shape::FoxError,
            HostileBehaviour::HartBadChecksum => Shape::HartBadChecksum,
            HostileBehaviour::HartByteCountLie => Shape::HartByteCountLie,
            HostileBehaviour::HartHugeSubDeviceCount => Shape::HartHugeSubDeviceCount,
            HostileBehaviour::HartErrorResponseCode => Shape::HartErrorResponseCode,
            _ => Shape::Valid,
        }
    }
}

/// A reply of `shape` to `request`, sent by the device at `device`.
fn craft(
    protocol: HostileProtocol,
    shape: Shape,
    request: &[u8],
    device: SocketAddr,
    nth: u64,
) -> Vec<u8> {
    match shape {
        Shape::Garbage => return garbage(nth, GARBAGE_LEN),
        Shape::Echo => return request.to_vec(),
        _ => {}
    }
    let reply = match protocol {
        HostileProtocol::Modbus => modbus_reply(shape, request),
        HostileProtocol::Enip => enip_reply(shape, request, device),
        HostileProtocol::Snmp => snmp_reply(shape, request),
        HostileProtocol::Bacnet => bacnet_reply(shape, request, device),
        HostileProtocol::S7 => s7_reply(shape, request),
        HostileProtocol::Melsec => melsec_reply(shape, request),
        HostileProtocol::Fins => fins_reply(shape, request),
        HostileProtocol::Fox => fox_reply(shape, request),
        HostileProtocol::Opcua => opcua_reply(shape, request),
        HostileProtocol::Knx => knx_reply(shape, request),
        HostileProtocol::Ads => ads_reply(shape, request),
        HostileProtocol::Hart => hart_reply(shape, request),
        HostileProtocol::Profinet => profinet_reply(shape, request),
        HostileProtocol::Codesys => codesys_reply(shape, request),
    };
    // A request the device cannot read gets garbage: it has nothing to echo.
    reply.unwrap_or_else(|| garbage(nth, GARBAGE_LEN))
}

/// `len` bytes of a fixed pseudo-random sequence (xorshift64*), one per `seed`.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// Identity the valid replies carry (marked as simulated wherever a field allows it).
const VENDOR: &[u8] = b"Hostile Devices Inc. (simulated)";
const PRODUCT_CODE: &[u8] = b"HOSTILE-1";
const REVISION: &[u8] = b"v6.6.6";

fn mbap(transaction_id: u16, unit_id: u8, pdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(7 + pdu.len());
    out.extend_from_slice(&transaction_id.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    let length = u16::try_from(pdu.len() + 1).unwrap_or(u16::MAX);
    out.extend_from_slice(&length.to_be_bytes());
    out.push(unit_id);
    out.extend_from_slice(pdu);
    out
}

/// The valid reply PDU to a Modbus request PDU.
fn modbus_pdu(request: &[u8]) -> Vec<u8> {
    match request {
        [0x2B, 0x0E, code, _] => {
            let mut pdu = vec![0x2B, 0x0E, *code, 0x81, 0x00, 0x00, 3];
            for (id, value) in [(0u8, VENDOR), (1, PRODUCT_CODE), (2, REVISION)] {
                pdu.push(id);
                pdu.push(value.len() as u8);
                pdu.extend_from_slice(value);
            }
            pdu
        }
        [0x11] => {
            let mut pdu = vec![0x11, 0, 0x42, 0xFF];
            pdu.extend_from_slice(PRODUCT_CODE);
            pdu[1] = (pdu.len() - 2) as u8;
            pdu
        }
        [function, ..] => vec![function | 0x80, 0x01],
        [] => vec![0x80, 0x01],
    }
}

fn modbus_reply(shape: Shape, request: &[u8]) -> Option<Vec<u8>> {
    if request.len() < 8 {
        return None;
    }
    let transaction_id = u16::from_be_bytes([request[0], request[1]]);
    let unit_id = request[6];
    let pdu = modbus_pdu(&request[7..]);
    Some(match shape {
        Shape::WrongCorrelation => mbap(transaction_id.wrapping_add(1), unit_id, &pdu),
        // Read Holding Registers: one register, 42.
        Shape::WrongKind => mbap(transaction_id, unit_id, &[0x03, 0x02, 0x00, 0x2A]),
        Shape::HugeLength => {
            let mut reply = mbap(transaction_id, unit_id, &pdu);
            reply[4..6].copy_from_slice(&u16::MAX.to_be_bytes());
            reply.truncate(16);
            reply
        }
        Shape::MoreThanDeclared => {
            let mut reply = mbap(transaction_id, unit_id, &pdu);
            reply.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x00, 0x00, 0x00]);
            reply
        }
        Shape::Oversized => {
            let mut reply = mbap(transaction_id, unit_id, &pdu);
            reply.resize(OVERSIZED_DATAGRAM_LEN, 0);
            reply
        }
        _ => mbap(transaction_id, unit_id, &pdu),
    })
}

const ENIP_HEADER: usize = 24;
const ENIP_LIST_SERVICES: u16 = 0x0004;
const ENIP_LIST_IDENTITY: u16 = 0x0063;
const ENIP_LIST_INTERFACES: u16 = 0x0064;
const ENIP_REGISTER_SESSION: u16 = 0x0065;

/// An encapsulation reply: `length` is the header's length field, whatever `data` holds.
fn encapsulation(command: u16, length: u16, status: u32, context: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENIP_HEADER + data.len());
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // session handle
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(context);
    out.extend_from_slice(&[0; 4]); // options
    out.extend_from_slice(data);
    out
}

fn enip_identity_item(device: SocketAddr) -> Vec<u8> {
    let name = b"Hostile adapter (simulated)";
    let mut item = Vec::new();
    item.extend_from_slice(&1u16.to_le_bytes()); // encapsulation protocol version
    item.extend_from_slice(&2u16.to_be_bytes()); // AF_INET
    item.extend_from_slice(&device.port().to_be_bytes());
    match device.ip() {
        IpAddr::V4(ip) => item.extend_from_slice(&ip.octets()),
        IpAddr::V6(_) => item.extend_from_slice(&[0; 4]),
    }
    item.extend_from_slice(&[0; 8]);
    item.extend_from_slice(&0xFFF0u16.to_le_bytes()); // vendor id nobody has
    item.extend_from_slice(&0x0Cu16.to_le_bytes()); // communications adapter
    item.extend_from_slice(&666u16.to_le_bytes()); // product code
    item.extend_from_slice(&[6, 6]); // revision
    item.extend_from_slice(&0x0030u16.to_le_bytes()); // status
    item.extend_from_slice(&0x0BAD_F00Du32.to_le_bytes()); // serial
    item.push(name.len() as u8);
    item.extend_from_slice(name);
    item.push(3); // state: operational
    item
}

fn cpf(count: u16, items: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut out = count.to_le_bytes().to_vec();
    for (kind, data) in items {
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&u16::try_from(data.len()).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(data);
    }
    out
}

/// The data of the valid reply to `command`, and its header status.
fn enip_data(command: u16, device: SocketAddr) -> (u32, Vec<u8>) {
    match command {
        ENIP_LIST_IDENTITY => (0, cpf(1, &[(0x000C, enip_identity_item(device))])),
        ENIP_LIST_SERVICES => {
            let mut item = 1u16.to_le_bytes().to_vec();
            item.extend_from_slice(&(1u16 << 5 | 1 << 8).to_le_bytes());
            let mut name = [0u8; 16];
            name[..14].copy_from_slice(b"Communications");
            item.extend_from_slice(&name);
            (0, cpf(1, &[(0x0100, item)]))
        }
        ENIP_LIST_INTERFACES => (0, cpf(0, &[])),
        // Invalid or unsupported command.
        _ => (1, Vec::new()),
    }
}

fn enip_reply(shape: Shape, request: &[u8], device: SocketAddr) -> Option<Vec<u8>> {
    let header = request.get(..ENIP_HEADER)?;
    let command = u16::from_le_bytes([header[0], header[1]]);
    let context = &header[12..20];
    let (status, data) = enip_data(command, device);
    let length = |data: &[u8]| u16::try_from(data.len()).unwrap_or(u16::MAX);
    Some(match shape {
        Shape::WrongCorrelation => {
            let mut other = context.to_vec();
            let first = u32::from_le_bytes([other[0], other[1], other[2], other[3]]);
            other[..4].copy_from_slice(&first.wrapping_add(1).to_le_bytes());
            encapsulation(command, length(&data), status, &other, &data)
        }
        // RegisterSession's reply: protocol version 1, options 0.
        Shape::WrongKind => encapsulation(ENIP_REGISTER_SESSION, 4, 0, context, &[1, 0, 0, 0]),
        Shape::HugeLength => encapsulation(command, u16::MAX, status, context, &data),
        Shape::MoreThanDeclared => {
            let mut reply = encapsulation(command, length(&data), status, context, &data);
            reply.extend_from_slice(&[0xEE; 16]);
            reply
        }
        Shape::ItemCount65535 => {
            let items = cpf(u16::MAX, &[(0x000C, enip_identity_item(device))]);
            encapsulation(command, length(&items), 0, context, &items)
        }
        Shape::Oversized => {
            let mut data = data;
            data.resize(OVERSIZED_DATAGRAM_LEN - ENIP_HEADER, 0);
            encapsulation(command, length(&data), status, context, &data)
        }
        _ => encapsulation(command, length(&data), status, context, &data),
    })
}

// SNMP: requests are read with a small BER walker, replies written by hand so that they can be
// wrong in exactly the intended way.

/// One TLV at the front of `buf`: tag, value, rest.
fn ber_read(buf: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = buf.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = rest.get(..count)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
        (len, &rest[count..])
    };
    let value = rest.get(..len)?;
    Some((tag, value, &rest[len..]))
}

fn ber_int_value(v: &[u8]) -> Option<i64> {
    if v.is_empty() || v.len() > 8 {
        return None;
    }
    let init: i64 = if v[0] & 0x80 != 0 { -1 } else { 0 };
    Some(v.iter().fold(init, |acc, b| acc << 8 | i64::from(*b)))
}

fn ber_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    ber_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

fn ber_int(value: i64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let mut start = 0;
    while start < 7
        && (bytes[start] == 0x00 && bytes[start + 1] & 0x80 == 0
            || bytes[start] == 0xFF && bytes[start + 1] & 0x80 != 0)
    {
        start += 1;
    }
    tlv(0x02, &bytes[start..])
}

fn ber_oid(arcs: &[u32]) -> Vec<u8> {
    let mut content = Vec::new();
    let mut push = |mut n: u32| {
        let mut groups = vec![(n & 0x7F) as u8];
        n >>= 7;
        while n > 0 {
            groups.push((n & 0x7F) as u8 | 0x80);
            n >>= 7;
        }
        content.extend(groups.iter().rev());
    };
    match arcs {
        [a, b, rest @ ..] => {
            push(a * 40 + b);
            rest.iter().for_each(|&n| push(n));
        }
        [a] => push(a * 40),
        [] => {}
    }
    tlv(0x06, &content)
}

/// What a reply needs from a request.
struct SnmpRequest<'a> {
    version: i64,
    community: &'a [u8],
    request_id: i64,
    /// v3 msgID.
    message_id: Option<i64>,
    /// The varbind names, whole TLVs.
    names: Vec<&'a [u8]>,
    /// GetNext (0xA1) rather than Get.
    next: bool,
}

fn whole_tlv(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, _, rest) = ber_read(buf)?;
    Some((&buf[..buf.len() - rest.len()], rest))
}

fn parse_snmp_request(datagram: &[u8]) -> Option<SnmpRequest<'_>> {
    let (0x30, message, _) = ber_read(datagram)? else {
        return None;
    };
    let (0x02, version, rest) = ber_read(message)? else {
        return None;
    };
    let version = ber_int_value(version)?;
    let (community, message_id, pdu) = if version == 3 {
        let (0x30, header, rest) = ber_read(rest)? else {
            return None;
        };
        let (0x02, message_id, _) = ber_read(header)? else {
            return None;
        };
        let (_, _, rest) = ber_read(rest)?; // security parameters
        let (0x30, scoped, _) = ber_read(rest)? else {
            return None;
        };
        let (_, _, scoped) = ber_read(scoped)?; // contextEngineID
        let (_, _, pdu) = ber_read(scoped)?; // contextName
        (&[][..], Some(ber_int_value(message_id)?), pdu)
    } else {
        let (0x04, community, pdu) = ber_read(rest)? else {
            return None;
        };
        (community, None, pdu)
    };
    let (kind, pdu, _) = ber_read(pdu)?;
    let (0x02, request_id, rest) = ber_read(pdu)? else {
        return None;
    };
    let (_, _, rest) = ber_read(rest)?;
    let (_, _, rest) = ber_read(rest)?;
    let (_, mut list, _) = ber_read(rest)?;
    let mut names = Vec::new();
    while !list.is_empty() {
        let (_, varbind, rest) = ber_read(list)?;
        list = rest;
        names.push(whole_tlv(varbind)?.0);
    }
    Some(SnmpRequest {
        version,
        community,
        request_id: ber_int_value(request_id)?,
        message_id,
        names,
        next: kind == 0xA1,
    })
}

/// The documentation enterprise number (RFC 5612).
const EXAMPLE_ENTERPRISE: u32 = 32473;
const SYS_DESCR: [u32; 9] = [1, 3, 6, 1, 2, 1, 1, 1, 0];
const SYS_OBJECT_ID: [u32; 9] = [1, 3, 6, 1, 2, 1, 1, 2, 0];
const SYS_NAME: [u32; 9] = [1, 3, 6, 1, 2, 1, 1, 5, 0];
const USM_STATS_UNKNOWN_ENGINE_IDS: [u32; 11] = [1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0];

fn engine_id() -> Vec<u8> {
    let mut id = (EXAMPLE_ENTERPRISE | 0x8000_0000).to_be_bytes().to_vec();
    id.push(4); // text
    id.extend_from_slice(b"hostile");
    id
}

/// The valid varbinds for a request: the system objects a Get names, nothing more (v2c
/// noSuchObject / endOfMibView, v1 NULL).
fn snmp_varbinds(request: &SnmpRequest<'_>) -> Vec<u8> {
    let mut list = Vec::new();
    for name in &request.names {
        let value = if request.next {
            if request.version == 0 {
                tlv(0x05, &[])
            } else {
                tlv(0x82, &[])
            }
        } else if *name == ber_oid(&SYS_DESCR) {
            tlv(0x04, b"Hostile agent (simulated)")
        } else if *name == ber_oid(&SYS_OBJECT_ID) {
            ber_oid(&[1, 3, 6, 1, 4, 1, EXAMPLE_ENTERPRISE, 666])
        } else if *name == ber_oid(&SYS_NAME) {
            tlv(0x04, b"hostile-agent")
        } else if request.version == 0 {
            tlv(0x05, &[])
        } else {
            tlv(0x80, &[])
        };
        list.extend(tlv(0x30, &[name.to_vec(), value].concat()));
    }
    list
}

/// A 1000-byte INTEGER: `value` (0 or -1 or small) after 999 sign-extension bytes.
fn wide_int(value: i8) -> Vec<u8> {
    let fill = if value < 0 { 0xFF } else { 0x00 };
    let mut content = vec![fill; 999];
    content.push(value as u8);
    tlv(0x02, &content)
}

fn snmp_reply(shape: Shape, datagram: &[u8]) -> Option<Vec<u8>> {
    let request = parse_snmp_request(datagram)?;
    let delta = i64::from(shape == Shape::WrongCorrelation);
    let pdu_tag = match (shape, request.message_id) {
        (Shape::WrongKind, _) => 0xA3, // SetRequest
        (_, Some(_)) => 0xA8,          // Report
        (_, None) => 0xA2,             // Response
    };
    let (error_status, error_index) = if shape == Shape::HugeIntegers {
        (wide_int(1), wide_int(-1))
    } else {
        (ber_int(0), ber_int(0))
    };
    let mut varbinds = if request.message_id.is_some() {
        let counter = tlv(0x41, &[1]);
        tlv(
            0x30,
            &[ber_oid(&USM_STATS_UNKNOWN_ENGINE_IDS), counter].concat(),
        )
    } else {
        snmp_varbinds(&request)
    };
    match shape {
        Shape::DeepNesting => {
            let mut value = tlv(0x30, &[]);
            for _ in 1..SNMP_NESTING_DEPTH {
                value = tlv(0x30, &value);
            }
            let first = tlv(0x30, &[ber_oid(&SYS_DESCR), value].concat());
            varbinds = [first, varbinds].concat();
        }
        Shape::HugeOids => {
            let long: Vec<u32> = (0..SNMP_HUGE_OID_ARCS as u32)
                .map(|i| i % 100 + 1)
                .collect();
            let mut wide_arc = vec![0x06];
            let mut content = vec![0x2B]; // 1.3
            content.extend(std::iter::repeat_n(0xFF, 99));
            content.push(0x7F);
            ber_len(content.len(), &mut wide_arc);
            wide_arc.extend_from_slice(&content);
            let first = tlv(0x30, &[ber_oid(&long), tlv(0x05, &[])].concat());
            let second = tlv(0x30, &[ber_oid(&SYS_OBJECT_ID), wide_arc].concat());
            varbinds = [first, second, varbinds].concat();
        }
        _ => {}
    }
    let pdu = tlv(
        pdu_tag,
        &[
            ber_int(request.request_id + delta),
            error_status,
            error_index,
            tlv(0x30, &varbinds),
        ]
        .concat(),
    );
    let mut reply = match request.message_id {
        None => tlv(
            0x30,
            &[ber_int(request.version), tlv(0x04, request.community), pdu].concat(),
        ),
        Some(message_id) => {
            let header = tlv(
                0x30,
                &[
                    ber_int(message_id + delta),
                    ber_int(65_507),
                    tlv(0x04, &[0]),
                    ber_int(3),
                ]
                .concat(),
            );
            let (boots, time) = if shape == Shape::HugeIntegers {
                (wide_int(0), wide_int(0))
            } else {
                (ber_int(1), ber_int(666))
            };
            let usm = tlv(
                0x30,
                &[
                    tlv(0x04, &engine_id()),
                    boots,
                    time,
                    tlv(0x04, &[]),
                    tlv(0x04, &[]),
                    tlv(0x04, &[]),
                ]
                .concat(),
            );
            let scoped = tlv(
                0x30,
                &[tlv(0x04, &engine_id()), tlv(0x04, &[]), pdu].concat(),
            );
            tlv(
                0x30,
                &[ber_int(3), header, tlv(0x04, &usm), scoped].concat(),
            )
        }
    };
    match shape {
        Shape::HugeLength => {
            // A SEQUENCE of 2^31 bytes, and the first few bytes of its content.
            let content_start = reply.len() - ber_read(&reply).map_or(0, |(_, v, _)| v.len());
            let mut lie = vec![0x30, 0x84, 0x80, 0x00, 0x00, 0x00];
            lie.extend_from_slice(&reply[content_start..reply.len().min(content_start + 24)]);
            reply = lie;
        }
        Shape::MoreThanDeclared => reply.extend_from_slice(&[0xA5; 32]),
        Shape::Oversized => reply.resize(OVERSIZED_DATAGRAM_LEN, 0),
        _ => {}
    }
    Some(reply)
}

// BACnet/IP: the valid replies come from the well-behaved device's encoder with a hostile
// identity; the hostile ones are that reply bent, or an ACK built around a poisoned value.

/// The Device instance of the hostile BACnet devices.
const BACNET_INSTANCE: u32 = 666;

fn bacnet_identity() -> BacnetDeviceConfig {
    BacnetDeviceConfig::new(
        BACNET_INSTANCE,
        0xFFF0, // a vendor id nobody has
        std::str::from_utf8(VENDOR).unwrap_or_default(),
        "HOSTILE-1",
    )
    .with_firmware_revision("v6.6.6")
    .with_object_name("hostile-bacnet")
}

/// A ReadProperty or ReadPropertyMultiple ACK (as the request asks) for object-name whose value
/// is `value`, raw; `None` for other requests.
fn bacnet_poisoned_ack(request: &[u8], value: &[u8]) -> Option<Vec<u8>> {
    let (invoke, service) = bacnet::confirmed_request(request)?;
    let object = bacnet::object_id(bacnet::OBJECT_DEVICE, BACNET_INSTANCE);
    let property = bacnet::property::OBJECT_NAME as u8;
    let mut apdu = vec![0x30, invoke, service, 0x0C];
    apdu.extend_from_slice(&object);
    match service {
        bacnet::service::READ_PROPERTY => {
            apdu.extend_from_slice(&[0x19, property, 0x3E]);
            apdu.extend_from_slice(value);
            apdu.push(0x3F);
        }
        bacnet::service::READ_PROPERTY_MULTIPLE => {
            apdu.extend_from_slice(&[0x1E, 0x29, property, 0x4E]);
            apdu.extend_from_slice(value);
            apdu.extend_from_slice(&[0x4F, 0x1F]);
        }
        _ => return None,
    }
    Some(bacnet::bvll(
        bacnet::bvlc::ORIGINAL_UNICAST_NPDU,
        &[&[0x01, 0x00][..], &apdu].concat(),
    ))
}

/// Offset of the APDU in the hostile device's replies: BVLC (4) and a plain NPDU (2).
const BACNET_APDU_AT: usize = 6;

fn bacnet_reply(shape: Shape, request: &[u8], device: SocketAddr) -> Option<Vec<u8>> {
    let SocketAddr::V4(device) = device else {
        return None;
    };
    match shape {
        Shape::DeepNesting => {
            let mut value = vec![0x0E; BACNET_NESTING_DEPTH];
            value.extend(std::iter::repeat_n(0x0F, BACNET_NESTING_DEPTH));
            return bacnet_poisoned_ack(request, &value);
        }
        Shape::HugeTagLength => {
            let mut value = vec![0x75, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00];
            value.extend_from_slice(b"simulated");
            return bacnet_poisoned_ack(request, &value);
        }
        Shape::WrongKind => {
            let invoke = bacnet::confirmed_request(request).map_or(0, |(invoke, _)| invoke);
            let apdu = [0x01, 0x00, 0x20, invoke, bacnet::service::WRITE_PROPERTY];
            return Some(bacnet::bvll(bacnet::bvlc::ORIGINAL_UNICAST_NPDU, &apdu));
        }
        _ => {}
    }
    let mut reply = bacnet_identity().reply(request, device)?;
    match shape {
        // Every APDU type that carries an invoke id: all but the unconfirmed I-Am.
        Shape::WrongCorrelation if reply.get(BACNET_APDU_AT).is_some_and(|t| t >> 4 >= 2) => {
            reply[BACNET_APDU_AT + 1] = reply[BACNET_APDU_AT + 1].wrapping_add(1);
        }
        Shape::HugeLength => {
            reply[2..4].copy_from_slice(&u16::MAX.to_be_bytes());
            reply.truncate(16);
        }
        Shape::MoreThanDeclared => {
            reply.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x00, 0x00, 0x00]);
        }
        Shape::Oversized => {
            reply.resize(OVERSIZED_DATAGRAM_LEN, 0);
            reply[2..4].copy_from_slice(&(OVERSIZED_DATAGRAM_LEN as u16).to_be_bytes());
        }
        _ => {}
    }
    Some(reply)
}

// S7: stateless, each request answered as a CPU in the right state would answer it.

fn s7_identity() -> S7DeviceConfig {
    S7DeviceConfig::new()
        .with_module("6ES7 666-6HO57-0AB0", 6)
        .with_basic_firmware(6, 6, 6)
        .with_component(s7::component_index::MODULE_NAME, "Hostile CPU (simulated)")
        .with_component(s7::component_index::SERIAL_NUMBER, "S HOSTILE-666")
}

/// An SZL answer whose counts lie (see [`HostileBehaviour::S7SzlLyingCounts`]).
fn s7_lying_szl(id: u16, index: u16) -> Vec<u8> {
    let mut szl = id.to_be_bytes().to_vec();
    szl.extend_from_slice(&index.to_be_bytes());
    if id & 0xFF == s7::szl_id::COMPONENT_IDENTIFICATION {
        szl.extend_from_slice(&[0xFF, 0xFF, 0x00, 0x02]);
        szl.extend(s7::component_record(2, b"Hostile CPU (simulated)"));
    } else {
        szl.extend_from_slice(&[0x00, 28, 0xFF, 0xFF]);
        szl.extend(
            s7::ModuleRecord {
                index: 1,
                order_number: b"6ES7 666-6HO57-0AB0".to_vec(),
                bg_type: s7::BG_TYPE_CPU,
                ausbg: 6,
                ausbe: 1,
            }
            .encode(),
        );
    }
    s7::data_item(s7::RETURN_SUCCESS, 0x09, &szl)
}

/// The S7 PDU answering a DT's S7 request.
fn s7_answer(shape: Shape, pdu: &[u8]) -> Option<Vec<u8>> {
    let request = s7::parse_s7(pdu)?;
    let pdu_ref = if shape == Shape::WrongCorrelation {
        request.pdu_ref.wrapping_add(1)
    } else {
        request.pdu_ref
    };
    let ack_data = s7::rosctr::ACK_DATA;
    if shape == Shape::WrongKind {
        // Write Var, one item, success.
        let params = [s7::function::WRITE_VAR, 0x01];
        return Some(s7::s7_pdu(
            ack_data,
            pdu_ref,
            Some((0, 0)),
            &params,
            &[0xFF],
        ));
    }
    if let Some((calling, called, length)) = s7::parse_setup(&request) {
        let mut params = vec![s7::function::SETUP_COMMUNICATION, 0];
        params.extend_from_slice(&calling.min(1).to_be_bytes());
        params.extend_from_slice(&called.min(1).to_be_bytes());
        params.extend_from_slice(&length.min(240).to_be_bytes());
        return Some(s7::s7_pdu(ack_data, pdu_ref, Some((0, 0)), &params, &[]));
    }
    if let Some((sequence, id, index)) = s7::parse_szl_read(&request) {
        let data = if shape == Shape::SzlLyingCounts {
            Some(s7_lying_szl(id, index))
        } else {
            s7_identity().szl_data(id, index, 218)
        };
        let (params, data) = match data {
            Some(data) => (s7::szl_response_params(sequence, 0), data),
            None => (
                s7::szl_response_params(sequence, s7::SZL_NOT_AVAILABLE),
                s7::data_item(s7::RETURN_OBJECT_DOES_NOT_EXIST, 0, &[]),
            ),
        };
        return Some(s7::s7_pdu(
            s7::rosctr::USERDATA,
            pdu_ref,
            None,
            &params,
            &data,
        ));
    }
    Some(s7::s7_pdu(
        ack_data,
        pdu_ref,
        Some((s7::error_class::APPLICATION_RELATIONSHIP, 0x04)),
        &[],
        &[],
    ))
}

fn s7_reply(shape: Shape, request: &[u8]) -> Option<Vec<u8>> {
    let mut reply = match s7::parse_tpkt(request)? {
        // Any TSAP is accepted.
        Tpdu::Cr(cr) => s7::connection_confirm(&cr, 1),
        Tpdu::Data(pdu) => s7::dt(&s7_answer(shape, pdu)?),
        Tpdu::Disconnect | Tpdu::Other => return None,
    };
    match shape {
        Shape::HugeLength => {
            reply[2..4].copy_from_slice(&u16::MAX.to_be_bytes());
            reply.truncate(16);
        }
        Shape::MoreThanDeclared => {
            reply.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x00, 0x00, 0x00]);
        }
        _ => {}
    }
    Some(reply)
}

/// A KNXnet/IP reply of `shape`: a router's DESCRIPTION_RESPONSE, bent.
fn knx_reply(shape: Shape, request: &[u8]) -> Option<Vec<u8>> {
    let device = KnxDeviceConfig::router("HOSTILE-KNX (sim)", "6.6.6");
    let mut reply = device.reply(request)?;
    match shape {
        // A total length of 0xFFFF in a short datagram.
        Shape::HugeLength => reply[4..6].copy_from_slice(&u16::MAX.to_be_bytes()),
        Shape::MoreThanDeclared => reply.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]),
        // The description service carries no correlation: a ROUTING_INDICATION (a bus
        // telegram a router multicasts) lands on the socket instead.
        Shape::WrongCorrelation => {
            reply = knx::frame(
                0x0530,
                &[
                    0x29, 0x00, 0xBC, 0xE0, 0x11, 0x01, 0x08, 0x01, 0x01, 0x00, 0x81,
                ],
            );
        }
        // A CONNECT_RESPONSE (channel 0, E_NO_MORE_CONNECTIONS) to the description request.
        Shape::WrongKind => reply = knx::frame(knx::CONNECT_RESPONSE, &[0x00, 0x24]),
        Shape::Oversized => reply.resize(OVERSIZED_DATAGRAM_LEN, 0),
        _ => {}
    }
    Some(reply)
}

/// A MELSEC reply of `shape`: a Q03UDVCPU's Read CPU Model Name answer, bent.
fn melsec_reply(shape: Shape, request: &[u8]) -> Option<Vec<u8>> {
    let mut reply = MelsecDeviceConfig::default().reply(request)?;
    match shape {
        Shape::HugeLength => {
            reply[7..9].copy_from_slice(&u16::MAX.to_le_bytes());
            reply.truncate(20);
        }
        Shape::MoreThanDeclared => reply.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]),
        // The answer of a request that went to network 1, station 2: not ours.
        Shape::WrongCorrelation => {
            reply[2] = 0x01;
            reply[3] = 0x02;
        }
        // A 4E response (subheader D4 00 and a serial number): another frame family.
        Shape::WrongKind => {
            let mut four_e = vec![0xD4, 0x00, 0x34, 0x12, 0x00, 0x00];
            four_e.extend_from_slice(&reply[2..]);
            reply = four_e;
        }
        Shape::Oversized => reply.resize(OVERSIZED_DATAGRAM_LEN, b' '),
        _ => {}
    }
    Some(reply)
}

/// The Controller Data Read answer of the hostile PLC (and RUN's, for the wrong kind).
fn fins_frame_reply(shape: Shape, frame: &[u8]) -> Option<Vec<u8>> {
    let header: &[u8; fins::HEADER_LEN] = frame.first_chunk()?;
    let plc = FinsDeviceConfig::new("HOSTILE-FINS (sim)", "v6.6.6").with_node(66);
    let mut reply = match shape {
        // A RUN (04 01) response, normal completion, to the same SID.
        Shape::WrongKind => fins::response(header, plc.node, [0x04, 0x01], 0, &[]),
        _ => plc.respond(frame, false)?,
    };
    match shape {
        // The SID of another request.
        Shape::WrongCorrelation => reply[9] = reply[9].wrapping_add(1),
        Shape::MoreThanDeclared => reply.extend_from_slice(&[0xEE; 16]),
        Shape::Oversized => reply.resize(OVERSIZED_DATAGRAM_LEN, 0),
        _ => {}
    }
    Some(reply)
}

/// A FINS datagram's answer, or a FINS/TCP frame's: the node address request always gets a
/// valid node (239, server 66), so the abuse lands on the frame send; lengths lie in the
/// FINS/TCP header.
fn fins_reply(shape: Shape, request: &[u8]) -> Option<Vec<u8>> {
    let Some(rest) = request.strip_prefix(&fins::MAGIC) else {
        return fins_frame_reply(shape, request);
    };
    let command = u32::from_be_bytes(*rest.get(4..8)?.first_chunk()?);
    let mut reply = match command {
        fins::tcp_command::NODE_ADDRESS_REQUEST => fins::node_address_reply(239, 66),
        fins::tcp_command::FRAME_SEND => {
            let inner = match shape {
                Shape::MoreThanDeclared => Shape::Valid,
                other => other,
            };
            fins::tcp_frame(
                fins::tcp_command::FRAME_SEND,
                0,
                &fins_frame_reply(inner, rest.get(12..)?)?,
            )
        }
        _ => return None,
    };
    match shape {
        Shape::HugeLength => {
            reply[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
            reply.truncate(20);
        }
        Shape::MoreThanDeclared => reply.extend_from_slice(&[0xEE; 16]),
        _ => {}
    }
    Some(reply)
}

// PROFINET: every lookup answered by a device whose annotation names it hostile, bent.

fn profinet_reply(shape: Shape, request: &[u8]) -> Option<Vec<u8>> {
    let config = ProfinetDeviceConfig::new("HOSTILE-PN", "6ES7 000-0HO00-0AB0", 1, ('V', 6, 6, 6))
        .with_object(0x002a, 0x0666);
    let mut reply = config.reply(request)?;
    match shape {
        // Entry count and the array's actual count 0xFFFFFFFF (body offsets 20 and 32).
        Shape::HugeLength => {
            reply[100..104].copy_from_slice(&u32::MAX.to_le_bytes());
            reply[112..116].copy_from_slice(&u32::MAX.to_le_bytes());
        }
        Shape::MoreThanDeclared => reply.extend_from_slice(&[0xee; 16]),
        // The activity UUID's time-low (the correlation) plus one.
        Shape::WrongCorrelation => {
            let low = u32::from_le_bytes(*reply[40..44].first_chunk()?);
            reply[40..44].copy_from_slice(&low.wrapping_add(1).to_le_bytes());
        }
        // A reject (packet type 6) nca_s_op_rng_error for the right activity.
        Shape::WrongKind => {
            reply = profinet::datagram_of(
                6,
                &profinet::parse_request(request)?,
                true,
                &profinet::NCA_S_OP_RNG_ERROR.to_le_bytes(),
            );
        }
        Shape::Oversized => reply.resize(OVERSIZED_DATAGRAM_LEN, 0),
        _ => {}
    }
    Some(reply)
}

// ADS: every Identify answered by a TwinCAT system that names itself hostile, bent.

fn ads_reply(shape: Shape, request: &[u8]) -> Option<Vec<u8>> {
    let mut reply = AdsDeviceConfig::new(
        [5, 66, 6, 6, 1, 1],
        "HOSTILE-CX",
        (3, 1, 4024),
        AdsOs::WindowsCe(7, 0, 0),
    )
    .reply(request)?;
    match shape {
        // The host name tag (the first, at 24) declares 0xFFFF bytes; the datagram ends soon.
        Shape::HugeLength => {
            reply[26..28].copy_from_slice(&u16::MAX.to_le_bytes());
            reply.truncate(40);
        }
        // Tag count 1, three more tags after it.
        Shape::MoreThanDeclared => reply[20..24].copy_from_slice(&1u32.to_le_bytes()),
        Shape::WrongCorrelation => {
            let invoke = u32::from_le_bytes(*reply[4..8].first_chunk()?);
            reply[4..8].copy_from_slice(&invoke.wrapping_add(1).to_le_bytes());
        }
        // An AddRoute reply (service 0x80000006) with a status tag.
        Shape::WrongKind => {
            reply = ads::datagram_of(
                u32::from_le_bytes(*reply[4..8].first_chunk()?),
                ads::service::REPLY | ads::service::ADD_ROUTE,
                [5, 66, 6, 6, 1, 1],
                10_000,
                &[(1, vec![0, 0, 0, 0])],
            );
        }
        Shape::Oversized => reply.resize(OVERSIZED_DATAGRAM_LEN, 0),
        _ => {}
    }
    Some(reply)
}

// HART-IP: every request answered by an I/O system that names itself hostile, bent.

fn hart_identity() -> HartDeviceConfig {
    let sub = HartSubDevice {
        io_card: 0,
        channel: 1,
        manufacturer_id: 0x66,
        expanded_device_type: 0x6666,
        device_id: 0x66,
        hart_revision: 7,
        long_tag: "HOSTILE SUB (simulated)".to_owned(),
    };
    HartDeviceConfig::io_system(0x66, 0x6666, 0x06_6666, "HOSTILE (simulated)", vec![sub])
}

fn hart_reply(shape: Shape, request: &[u8]) -> Option<Vec<u8>> {
    let header = request.get(..hart::HEADER_LEN)?;
    let sequence = u16::from_be_bytes([header[4], header[5]]);
    let config = hart_identity();
    let body = &request[hart::HEADER_LEN..];
    // The HART frame answering a token-passing request, as the shape bends it.
    let frame = |config: &HartDeviceConfig| -> Option<Vec<u8>> {
        let mut frame = match shape {
            Shape::HartErrorResponseCode => {
                let address_len = if body.first()? & 0x80 != 0 { 5 } else { 1 };
                hart::ack_frame(
                    body.get(1..1 + address_len)?,
                    *body.get(1 + address_len)?,
                    16,
                    0,
                    &[],
                )
            }
            Shape::HartHugeSubDeviceCount if body.get(6) == Some(&74) => {
                hart::ack_frame(body.get(1..6)?, 74, 0, 0, &config.command74_data(u16::MAX))
            }
            Shape::HartHugeSubDeviceCount if body.get(6) == Some(&84) => {
                let index = u16::from_be_bytes([*body.get(8)?, *body.get(9)?]);
                let mut data = config.command84_data(1)?;
                data[..2].copy_from_slice(&index.to_be_bytes());
                hart::ack_frame(body.get(1..6)?, 84, 0, 0, &data)
            }
            _ => config.answer_frame(body)?,
        };
        match shape {
            Shape::HartBadChecksum => *frame.last_mut()? ^= 0x5A,
            Shape::HartByteCountLie => {
                let at = if frame[0] & 0x80 != 0 { 7 } else { 3 };
                frame[at] = frame[at].wrapping_add(10);
                let last = frame.len() - 1;
                frame[last] = hart::xor(&frame[..last]);
            }
            _ => {}
        }
        Some(frame)
    };
    let valid = match header[2] {
        0 => hart::message(1, 0, 0, sequence, body),
        1 => hart::message(1, 1, 0, sequence, &[]),
        3 => hart::message(1, 3, 0, sequence, &frame(&config)?),
        _ => return None,
    };
    Some(match shape {
        // The byte count says 0xFFFF; a few bytes follow, then quiet.
        Shape::HugeLength => {
            let mut reply = valid;
            reply[6..8].copy_from_slice(&u16::MAX.to_be_bytes());
            reply.truncate(12);
            reply
        }
        Shape::MoreThanDeclared => {
            let mut reply = valid;
            reply.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0, 0]);
            reply
        }
        Shape::WrongCorrelation => {
            let mut reply = valid;
            reply[4..6].copy_from_slice(&sequence.wrapping_add(1).to_be_bytes());
            reply
        }
        // A Session Close response to everything.
        Shape::WrongKind => hart::message(1, 1, 0, sequence, &[]),
        _ => valid,
    })
}

// CODESYS: every resolve address answered by a runtime that names itself hostile, in the
// shape asked for, to the request's source (otscan sends from 1740, the reply port).

fn codesys_reply(shape: Shape, request: &[u8]) -> Option<Vec<u8>> {
    let mut reply = CodesysDeviceConfig::new("HOSTILE-RTS", "Hostile Runtime (sim)", "Hostile")
        .with_target(0x1000, 0x6666_0001, [3, 5, 19, 0])
        .reply(request)?;
    match shape {
        // The vendor name (the third length, at 30) claims 0xFFFF UTF-16 units.
        Shape::HugeLength => reply[30..32].copy_from_slice(&u16::MAX.to_le_bytes()),
        Shape::MoreThanDeclared => reply.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]),
        // Another request's identification: the request id plus one.
        Shape::WrongCorrelation => {
            let id = u32::from_le_bytes(*reply[16..20].first_chunk()?);
            reply[16..20].copy_from_slice(&id.wrapping_add(1).to_le_bytes());
        }
        // An address notification reply (service 0x02) instead of the NameService reply.
        Shape::WrongKind => reply[3] = 0x02,
        Shape::Oversized => reply.resize(OVERSIZED_DATAGRAM_LEN, 0),
        _ => {}
    }
    Some(reply)
}

// Fox: every hello answered by a station that names itself hostile, in the shape asked for.

fn fox_identity() -> FoxDeviceConfig {
    FoxDeviceConfig::jace8000("hostile-jace", "Hostile_Station (simulated)")
}

fn fox_reply(shape: Shape, request: &[u8]) -> Option<Vec<u8>> {
    let [_, _, _, "fox", "hello"] = fox::parse_header(request)? else {
        return None;
    };
    let hello = "fox a 0 -1 fox hello";
    let identity = || -> Vec<u8> {
        fox_identity()
            .tuples
            .iter()
            .flat_map(fox::FoxTuple::encode)
            .collect()
    };
    Some(match shape {
        Shape::HugeLength => {
            // An object declaring 999999999 bytes, a few of them, then quiet.
            let mut reply = format!("{hello}\n{{\n").into_bytes();
            reply.extend_from_slice(b"sysInfo=o:bog 999999999[<bog version=\"1.0\">");
            reply
        }
        Shape::MoreThanDeclared => {
            let mut reply = fox_identity().hello_reply();
            reply.extend_from_slice(b"\xDE\xAD\xBE\xEF trailing bytes");
            reply
        }
        Shape::WrongCorrelation => fox::message(
            "fox r 0 7 station nav",
            b"ord=s:station:|slot:/\nchildren=i:3\n",
        ),
        Shape::WrongKind => fox::message("fox a 0 -1 fox welcome", b""),
        Shape::FoxHugeLine => {
            let mut line = b"hostName=s:".to_vec();
            line.resize(FOX_HUGE_LINE, b'A');
            line.push(b'\n');
            fox::message(hello, &line)
        }
        Shape::FoxManyKeys => {
            let mut tuples = identity();
            for i in 0..FOX_MANY_KEYS {
                tuples.extend_from_slice(format!("k{i}=s:{i}\n").as_bytes());
            }
            fox::message(hello, &tuples)
        }
        Shape::FoxError => fox::message(
            "fox e 0 1 fox hello",
            b"reason=s:hostile station refuses (simulated)\n",
        ),
        _ => fox_identity().hello_reply(),
    })
}

// OPC UA: stateless, each request answered as a server with an open channel would answer it.

/// The identity of the hostile OPC UA server.
fn opcua_identity() -> OpcuaServerConfig {
    OpcuaServerConfig::new(
        "urn:hostile:opcua:server",
        "urn:hostile-devices:opcua (simulated)",
        "Hostile OPC UA server (simulated)",
    )
}

fn opcua_reply(shape: Shape, request: &[u8]) -> Option<Vec<u8>> {
    let request = opcua::read_request(request)?;
    let ack = || opcua::acknowledge(65_536, 65_536);
    let mut reply = match request {
        opcua::UaRequest::Hello { .. } => ack(),
        _ if shape == Shape::WrongKind => ack(),
        opcua::UaRequest::Open {
            request_id, handle, ..
        } => {
            let id = if shape == Shape::WrongCorrelation {
                request_id.wrapping_add(1)
            } else {
                request_id
            };
            opcua::opn_message(7, id, 1, &opcua::open_response(handle, 7))
        }
        opcua::UaRequest::Service {
            request_id,
            service,
            handle,
            ..
        } => {
            let id = if shape == Shape::WrongCorrelation {
                request_id.wrapping_add(1)
            } else {
                request_id
            };
            let body = match service {
                opcua::service::GET_ENDPOINTS_REQUEST if shape == Shape::EndpointCount2Pow31 => {
                    let mut body = vec![0x01, 0x00];
                    body.extend_from_slice(
                        &(opcua::service::GET_ENDPOINTS_RESPONSE as u16).to_le_bytes(),
                    );
                    opcua::response_header(&mut body, handle, opcua::status::GOOD);
                    opcua::put_u32(&mut body, 0x8000_0000);
                    body.extend_from_slice(&[0xEE; 32]);
                    body
                }
                opcua::service::GET_ENDPOINTS_REQUEST => {
                    opcua::endpoints_response(&opcua_identity(), handle)
                }
                opcua::service::FIND_SERVERS_REQUEST => {
                    opcua::servers_response(&opcua_identity(), handle)
                }
                _ => opcua::service_fault(handle, opcua::status::BAD_SERVICE_UNSUPPORTED),
            };
            let mut sequence = request_id;
            opcua::msg_chunks(7, id, &mut sequence, &body, 65_536)
        }
        // Nothing answers a CloseSecureChannel.
        opcua::UaRequest::Close => return Some(Vec::new()),
    };
    match shape {
        Shape::HugeLength => {
            reply[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
            reply.truncate(16);
        }
        Shape::MoreThanDeclared => {
            reply.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x00, 0x00, 0x00]);
        }
        _ => {}
    }
    Some(reply)
}

// ---------------------------------------------------------------------------
// The hostile plant

/// A hostile service of a [`DeviceSpec`]: a port, a transport and a behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostileService {
    /// Port (0 picks a free one).
    pub port: u16,
    /// Transport.
    pub transport: Transport,
    /// Behaviour.
    pub behaviour: HostileBehaviour,
}

/// A running hostile service of a [`crate::PlantDevice`].
#[derive(Debug, Clone)]
pub struct HostileEndpoint {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its transport.
    pub transport: Transport,
    /// Its behaviour (a fragile device's guard is in it).
    pub behaviour: HostileBehaviour,
    /// What it saw and did.
    pub facts: HostileFacts,
}

/// Host `host` in the /24 that contains `base`.
fn host(base: Ipv4Addr, host: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(base) & !0xFF | u32::from(host))
}

impl PlantSpec {
    /// A /24 (the one containing `base`) of hostile and fragile devices, each on the port of the
    /// protocol it abuses (`ports`); every other port of every address is closed. Names say
    /// what each does; [`HostileBehaviour`] has the details.
    ///
    /// | hosts | protocol | transport | behaviours, in host order |
    /// |-------|----------|-----------|---------------------------|
    /// | .10-.24 | Modbus | TCP | silent, slow drip, endless stream, close mid-reply, reset after connect, MBAP length 65535, more than declared, wrong transaction id, wrong function (FC 0x03 reply), garbage, looping continuation, endless continuation (those two are [`crate::ModbusDevice`]s with [`ModbusQuirk`]s), echo, stall mid-reply ([`MID_REPLY_STALL`]), desynchronised after an exception ([`HostileBehaviour::ModbusDesyncAfterException`]) |
    /// | .30-.45 | EtherNet/IP | TCP and UDP | silent, slow drip (TCP), endless stream (TCP), close mid-reply (UDP: half a datagram), reset after connect (TCP), length 0xFFFF, more than declared, wrong sender context, wrong command (RegisterSession reply), garbage, item count 65535, oversized datagram (UDP), reply from another port (UDP), reply from another address (UDP), flood (UDP), echo |
    /// | .50-.64 | SNMP | UDP | silent, BER length 2^31, more than declared, wrong request id, wrong PDU (SetRequest), garbage, deep nesting, huge integers, huge OIDs, oversized datagram, reply from another port, reply from another address, flood, truncated datagram, echo |
    /// | .80-.93 | BACnet/IP | UDP | silent, truncated datagram (close mid-reply), BVLC length 65535, more than declared, wrong invoke id, wrong kind (SimpleACK of WriteProperty), garbage, echo, oversized datagram, reply from another port, reply from another address, flood, deep nesting ([`BACNET_NESTING_DEPTH`] opening tags), huge tag length (CharacterString of 0xFFFFFFFF bytes) |
    /// | .100-.113 | S7 | TCP | silent, slow drip, endless stream, close mid-reply, reset after connect, TPKT length 65535, more than declared, wrong PDU reference, wrong kind (Write Var Ack_Data), garbage, echo, stall mid-reply ([`MID_REPLY_STALL`]), SZL lying counts (record count 65535 / record length 0xFFFF), COTP then silence |
    /// | .180-.193 | MELSEC | TCP and UDP | silent, slow drip (TCP), endless stream (TCP), close mid-reply (UDP: half a datagram), reset after connect (TCP), data length 0xFFFF, more than declared, reply for another route (network 1, PC 2), 4E subheader (`D4 00`), garbage, echo, end code 0xC05C (a [`crate::MelsecDevice`]), oversized datagram (UDP), flood (UDP) |
    /// | .140-.155 | FINS | UDP and TCP | silent, slow drip (TCP), endless stream (TCP), close mid-reply, reset after connect (TCP), FINS/TCP length 0xFFFFFFFF (TCP), more than declared, wrong SID, wrong kind (a RUN 04 01 response), garbage, echo, oversized datagram (UDP), reply from another port (UDP), flood (UDP), stall mid-reply (TCP), no free FINS/TCP node (a [`crate::FinsDevice`] with an empty node pool: error code 0x25; its UDP answers end code 0401) |
    /// | .160-.175 | Fox | TCP | silent, slow drip, endless stream (whole messages answering another request), close mid-reply, reset after connect, object length 999999999, more than declared, reply to another request (`fox r 0 7 station nav`), wrong kind (`fox welcome`), garbage, echo, never ends (tuples forever, no `};;`), huge line ([`FOX_HUGE_LINE`] bytes), thousands of keys ([`FOX_MANY_KEYS`]), error reply (`fox e`), stall mid-reply ([`MID_REPLY_STALL`]) |
    /// | .120-.133 | OPC UA | TCP | silent, slow drip, endless stream (ACKs, then replies with another request id), close mid-reply, reset after connect, message size 0xFFFFFFFF, more than declared, wrong request id, wrong kind (an ACK to every request: ACK when OPN is expected), garbage, echo, stall mid-reply ([`MID_REPLY_STALL`]), endpoint array count 2^31 ([`HostileBehaviour::OpcuaEndpointCount2Pow31`]), an `ERR` `Bad_TcpServerTooBusy` to the Hello (an [`crate::OpcuaServer`]) |
    /// | .200-.211 | KNXnet/IP | UDP | silent, close mid-reply (half a datagram), total length 0xFFFF, more than declared, a ROUTING_INDICATION instead of the answer, a CONNECT_RESPONSE instead of the answer, garbage, echo, oversized datagram, reply from another port, reply from another address, flood |
    /// | .212-.219, .49, .46-.48 | PROFINET CM | UDP | truncated datagram (half the reply), entry count 0xFFFFFFFF, wrong activity UUID, a reject `nca_s_op_rng_error`, garbage, oversized datagram, silent, reply from another port (.212-.219), flood (.49); and (.46-.48) three [`crate::ProfinetDevice`]s: a fragment with more to come (flags1 0x04), a wrong sequence number, an annotation of 64 letters (no padding, no NUL) |
    /// | .220-.231 | ADS discovery | UDP | silent, truncated datagram (half the reply), host name tag declaring 0xFFFF bytes, tag count 1 with four tags, wrong invoke id, wrong kind (an AddRoute reply), garbage, echo, oversized datagram, reply from another port, reply from another address, flood |
    /// | .232-.243 | HART-IP | TCP | silent (a stalled Session Initiate), slow drip, close mid-reply, byte count 0xFFFF, wrong sequence number, Session Close response to everything, garbage, echo, HART frames with a bad check byte, HART byte count 10 more than present, command 74 reporting 65535 devices, every command answered with response code 16 |
    /// | .244-.254 | CODESYS V3 | UDP | silent, truncated datagram (half the reply), vendor name declaring 0xFFFF UTF-16 units, reply with another request id, wrong kind (service 0x02 instead of the NameService reply), garbage, echo, oversized datagram, reply from another port, reply from another address, flood; every reply goes to the request's source, which is otscan's reply port 1740 |
    /// | .65-.69 | SSH | TCP | ([`crate::BannerDevice`]s) an identification string without a line end, an endless banner (lines forever, never `SSH-`), silent, binary garbage forever, a 4008-byte identification line |
    /// | .72-.76 | FTP | TCP | ([`crate::BannerDevice`]s) a 220 line without a line end, a `220-` greeting that never ends, silent, binary garbage forever, a close after the first line of a multi-line greeting |
    /// | .77-.79, .25-.27 | telnet | TCP | ([`crate::BannerDevice`]s) a negotiation flood (the same DO and WILL forever), silent, binary garbage forever, text without a prompt or line end, an endless banner, every option asked for again and again |
    /// | .94-.99, .28 | HTTP | TCP | ([`crate::WebDevice`]s) endless headers, a title never closed (text forever), a 10 MB body, a redirect to itself (not followed), a redirect to another host (not followed), a slow drip (a byte every 150 ms), garbage (.28) |
    /// | .114-.117 | HTTPS | TCP | a TLS 1.2 server that stalls after its ServerHello, garbage instead of TLS, a fatal handshake_failure alert to every ClientHello, plain HTTP (a 400) on the TLS port |
    /// | .70 | all | all | `fragile-one-connection`: answers every protocol correctly, one TCP connection slot shared by its ports; a second connection while one is open is reset and recorded |
    /// | .71 | all | all | `fragile-pacing`: the same, and resets (or drops a datagram) when two packets arrive less than [`PACING_SENSITIVE_GAP`] apart |
    pub fn hostile(base: Ipv4Addr, ports: PlantPorts) -> Self {
        use HostileBehaviour as B;
        use HostileProtocol::{
            Ads, Bacnet, Codesys, Enip, Fins, Fox, Hart, Knx, Melsec, Modbus, Opcua, Profinet,
            Snmp, S7,
        };
        let tcp = |port: u16, behaviour: HostileBehaviour| HostileService {
            port,
            transport: Transport::Tcp,
            behaviour,
        };
        let udp = |port: u16, behaviour: HostileBehaviour| HostileService {
            port,
            transport: Transport::Udp,
            behaviour,
        };
        let mut devices = Vec::new();
        let modbus: [(&str, HostileBehaviour); 10] = [
            ("modbus-silent", B::Silent(Modbus)),
            ("modbus-slow-drip", B::SlowDrip(Modbus)),
            ("modbus-endless-stream", B::EndlessStream(Modbus)),
            ("modbus-close-mid-reply", B::CloseMidReply(Modbus)),
            ("modbus-reset-after-connect", B::ResetAfterConnect(Modbus)),
            ("modbus-huge-length", B::HugeDeclaredLength(Modbus)),
            ("modbus-more-than-declared", B::MoreThanDeclared(Modbus)),
            ("modbus-wrong-transaction-id", B::WrongCorrelation(Modbus)),
            ("modbus-wrong-function", B::WrongReplyKind(Modbus)),
            ("modbus-garbage", B::Garbage(Modbus)),
        ];
        for (i, (name, behaviour)) in modbus.into_iter().enumerate() {
            devices.push(
                DeviceSpec::new(host(base, 10 + i as u8), name)
                    .with_hostile(tcp(ports.modbus, behaviour)),
            );
        }
        let looping = ModbusDeviceConfig::new("Hostile Devices Inc.", "LOOP-1", "v1")
            .with_max_objects_per_page(1)
            .with_quirk(ModbusQuirk::LoopingContinuation);
        let endless = ModbusDeviceConfig::new("Hostile Devices Inc.", "ENDLESS-1", "v1")
            .with_quirk(ModbusQuirk::EndlessContinuation);
        devices.push(
            DeviceSpec::new(host(base, 20), "modbus-looping-continuation")
                .with_modbus(ports.modbus, looping),
        );
        devices.push(
            DeviceSpec::new(host(base, 21), "modbus-endless-continuation")
                .with_modbus(ports.modbus, endless),
        );
        devices.push(
            DeviceSpec::new(host(base, 22), "modbus-echo")
                .with_hostile(tcp(ports.modbus, B::Echo(Modbus))),
        );
        devices.push(
            DeviceSpec::new(host(base, 23), "modbus-stall-mid-reply").with_hostile(tcp(
                ports.modbus,
                B::StallMidReply {
                    protocol: Modbus,
                    stall: MID_REPLY_STALL,
                },
            )),
        );
        devices.push(
            DeviceSpec::new(host(base, 24), "modbus-desync-after-exception")
                .with_hostile(tcp(ports.modbus, B::ModbusDesyncAfterException)),
        );

        let both = |b: HostileBehaviour| vec![tcp(ports.enip, b.clone()), udp(ports.enip, b)];
        let enip: [(&str, Vec<HostileService>); 16] = [
            ("enip-silent", both(B::Silent(Enip))),
            ("enip-slow-drip", vec![tcp(ports.enip, B::SlowDrip(Enip))]),
            (
                "enip-endless-stream",
                vec![tcp(ports.enip, B::EndlessStream(Enip))],
            ),
            ("enip-close-mid-reply", both(B::CloseMidReply(Enip))),
            (
                "enip-reset-after-connect",
                vec![tcp(ports.enip, B::ResetAfterConnect(Enip))],
            ),
            ("enip-huge-length", both(B::HugeDeclaredLength(Enip))),
            ("enip-more-than-declared", both(B::MoreThanDeclared(Enip))),
            ("enip-wrong-context", both(B::WrongCorrelation(Enip))),
            ("enip-wrong-command", both(B::WrongReplyKind(Enip))),
            ("enip-garbage", both(B::Garbage(Enip))),
            ("enip-item-count-65535", both(B::EnipItemCount65535)),
            (
                "enip-oversized-datagram",
                vec![udp(ports.enip, B::OversizedDatagram(Enip))],
            ),
            (
                "enip-reply-from-other-port",
                vec![udp(ports.enip, B::ReplyFromOtherPort(Enip))],
            ),
            (
                "enip-reply-from-other-address",
                vec![udp(ports.enip, B::ReplyFromOtherAddress(Enip))],
            ),
            ("enip-udp-flood", vec![udp(ports.enip, B::Flood(Enip))]),
            ("enip-echo", both(B::Echo(Enip))),
        ];
        for (i, (name, services)) in enip.into_iter().enumerate() {
            let spec = services.into_iter().fold(
                DeviceSpec::new(host(base, 30 + i as u8), name),
                DeviceSpec::with_hostile,
            );
            devices.push(spec);
        }

        let snmp: [(&str, HostileBehaviour); 15] = [
            ("snmp-silent", B::Silent(Snmp)),
            ("snmp-huge-length", B::HugeDeclaredLength(Snmp)),
            ("snmp-more-than-declared", B::MoreThanDeclared(Snmp)),
            ("snmp-wrong-request-id", B::WrongCorrelation(Snmp)),
            ("snmp-wrong-pdu", B::WrongReplyKind(Snmp)),
            ("snmp-garbage", B::Garbage(Snmp)),
            ("snmp-deep-nesting", B::SnmpDeepNesting),
            ("snmp-huge-integers", B::SnmpHugeIntegers),
            ("snmp-huge-oids", B::SnmpHugeOids),
            ("snmp-oversized-datagram", B::OversizedDatagram(Snmp)),
            ("snmp-reply-from-other-port", B::ReplyFromOtherPort(Snmp)),
            (
                "snmp-reply-from-other-address",
                B::ReplyFromOtherAddress(Snmp),
            ),
            ("snmp-flood", B::Flood(Snmp)),
            ("snmp-truncated-datagram", B::CloseMidReply(Snmp)),
            ("snmp-echo", B::Echo(Snmp)),
        ];
        for (i, (name, behaviour)) in snmp.into_iter().enumerate() {
            devices.push(
                DeviceSpec::new(host(base, 50 + i as u8), name)
                    .with_hostile(udp(ports.snmp, behaviour)),
            );
        }

        let bacnet: [(&str, HostileBehaviour); 14] = [
            ("bacnet-silent", B::Silent(Bacnet)),
            ("bacnet-truncated-datagram", B::CloseMidReply(Bacnet)),
            ("bacnet-huge-length", B::HugeDeclaredLength(Bacnet)),
            ("bacnet-more-than-declared", B::MoreThanDeclared(Bacnet)),
            ("bacnet-wrong-invoke-id", B::WrongCorrelation(Bacnet)),
            ("bacnet-wrong-kind", B::WrongReplyKind(Bacnet)),
            ("bacnet-garbage", B::Garbage(Bacnet)),
            ("bacnet-echo", B::Echo(Bacnet)),
            ("bacnet-oversized-datagram", B::OversizedDatagram(Bacnet)),
            (
                "bacnet-reply-from-other-port",
                B::ReplyFromOtherPort(Bacnet),
            ),
            (
                "bacnet-reply-from-other-address",
                B::ReplyFromOtherAddress(Bacnet),
            ),
            ("bacnet-flood", B::Flood(Bacnet)),
            ("bacnet-deep-nesting", B::BacnetDeepNesting),
            ("bacnet-huge-tag-length", B::BacnetHugeTagLength),
        ];
        for (i, (name, behaviour)) in bacnet.into_iter().enumerate() {
            devices.push(
                DeviceSpec::new(host(base, 80 + i as u8), name)
                    .with_hostile(udp(ports.bacnet, behaviour)),
            );
        }

        let s7: [(&str, HostileBehaviour); 14] = [
            ("s7-silent", B::Silent(S7)),
            ("s7-slow-drip", B::SlowDrip(S7)),
            ("s7-endless-stream", B::EndlessStream(S7)),
            ("s7-close-mid-reply", B::CloseMidReply(S7)),
            ("s7-reset-after-connect", B::ResetAfterConnect(S7)),
            ("s7-huge-length", B::HugeDeclaredLength(S7)),
            ("s7-more-than-declared", B::MoreThanDeclared(S7)),
            ("s7-wrong-pdu-ref", B::WrongCorrelation(S7)),
            ("s7-wrong-kind", B::WrongReplyKind(S7)),
            ("s7-garbage", B::Garbage(S7)),
            ("s7-echo", B::Echo(S7)),
            (
                "s7-stall-mid-reply",
                B::StallMidReply {
                    protocol: S7,
                    stall: MID_REPLY_STALL,
                },
            ),
            ("s7-szl-lying-counts", B::S7SzlLyingCounts),
            ("s7-cotp-then-silence", B::S7CotpThenSilence),
        ];
        for (i, (name, behaviour)) in s7.into_iter().enumerate() {
            devices.push(
                DeviceSpec::new(host(base, 100 + i as u8), name)
                    .with_hostile(tcp(ports.s7, behaviour)),
            );
        }
        let opcua = [
            ("opcua-silent", B::Silent(Opcua)),
            ("opcua-slow-drip", B::SlowDrip(Opcua)),
            ("opcua-endless-stream", B::EndlessStream(Opcua)),
            ("opcua-close-mid-reply", B::CloseMidReply(Opcua)),
            ("opcua-reset-after-connect", B::ResetAfterConnect(Opcua)),
            ("opcua-huge-length", B::HugeDeclaredLength(Opcua)),
            ("opcua-more-than-declared", B::MoreThanDeclared(Opcua)),
            ("opcua-wrong-request-id", B::WrongCorrelation(Opcua)),
            ("opcua-wrong-kind", B::WrongReplyKind(Opcua)),
            ("opcua-garbage", B::Garbage(Opcua)),
            ("opcua-echo", B::Echo(Opcua)),
            (
                "opcua-stall-mid-reply",
                B::StallMidReply {
                    protocol: Opcua,
                    stall: MID_REPLY_STALL,
                },
            ),
            ("opcua-endpoint-count-2-pow-31", B::OpcuaEndpointCount2Pow31),
        ];
        let count = opcua.len() as u8;
        for (i, (name, behaviour)) in opcua.into_iter().enumerate() {
            devices.push(
                DeviceSpec::new(host(base, 120 + i as u8), name)
                    .with_hostile(tcp(ports.opcua, behaviour)),
            );
        }
        devices.push(
            DeviceSpec::new(host(base, 120 + count), "opcua-error-reply").with_opcua(
                ports.opcua,
                opcua_identity().with_behaviour(OpcuaBehaviour::ErrorOnHello(
                    opcua::status::BAD_TCP_SERVER_TOO_BUSY,
                )),
            ),
        );

        let tcp_udp =
            |b: HostileBehaviour| vec![tcp(ports.melsec, b.clone()), udp(ports.melsec, b)];
        let melsec: [(&str, Vec<HostileService>); 13] = [
            ("melsec-silent", tcp_udp(B::Silent(Melsec))),
            (
                "melsec-slow-drip",
                vec![tcp(ports.melsec, B::SlowDrip(Melsec))],
            ),
            (
                "melsec-endless-stream",
                vec![tcp(ports.melsec, B::EndlessStream(Melsec))],
            ),
            ("melsec-close-mid-reply", tcp_udp(B::CloseMidReply(Melsec))),
            (
                "melsec-reset-after-connect",
                vec![tcp(ports.melsec, B::ResetAfterConnect(Melsec))],
            ),
            ("melsec-huge-length", tcp_udp(B::HugeDeclaredLength(Melsec))),
            (
                "melsec-more-than-declared",
                tcp_udp(B::MoreThanDeclared(Melsec)),
            ),
            ("melsec-other-route", tcp_udp(B::WrongCorrelation(Melsec))),
            ("melsec-4e-subheader", tcp_udp(B::WrongReplyKind(Melsec))),
            ("melsec-garbage", tcp_udp(B::Garbage(Melsec))),
            ("melsec-echo", tcp_udp(B::Echo(Melsec))),
            (
                "melsec-oversized-datagram",
                vec![udp(ports.melsec, B::OversizedDatagram(Melsec))],
            ),
            (
                "melsec-udp-flood",
                vec![udp(ports.melsec, B::Flood(Melsec))],
            ),
        ];
        for (i, (name, services)) in melsec.into_iter().enumerate() {
            let host_number = 180 + i as u8 + u8::from(i >= 11);
            let spec = services.into_iter().fold(
                DeviceSpec::new(host(base, host_number), name),
                DeviceSpec::with_hostile,
            );
            devices.push(spec);
        }
        let both = |b: HostileBehaviour| vec![udp(ports.fins, b.clone()), tcp(ports.fins, b)];
        let fins: [(&str, Vec<HostileService>); 15] = [
            ("fins-silent", both(B::Silent(Fins))),
            ("fins-slow-drip", vec![tcp(ports.fins, B::SlowDrip(Fins))]),
            (
                "fins-endless-stream",
                vec![tcp(ports.fins, B::EndlessStream(Fins))],
            ),
            ("fins-close-mid-reply", both(B::CloseMidReply(Fins))),
            (
                "fins-reset-after-connect",
                vec![tcp(ports.fins, B::ResetAfterConnect(Fins))],
            ),
            (
                "fins-huge-length",
                vec![tcp(ports.fins, B::HugeDeclaredLength(Fins))],
            ),
            ("fins-more-than-declared", both(B::MoreThanDeclared(Fins))),
            ("fins-wrong-sid", both(B::WrongCorrelation(Fins))),
            ("fins-wrong-command", both(B::WrongReplyKind(Fins))),
            ("fins-garbage", both(B::Garbage(Fins))),
            ("fins-echo", both(B::Echo(Fins))),
            (
                "fins-oversized-datagram",
                vec![udp(ports.fins, B::OversizedDatagram(Fins))],
            ),
            (
                "fins-reply-from-other-port",
                vec![udp(ports.fins, B::ReplyFromOtherPort(Fins))],
            ),
            ("fins-udp-flood", vec![udp(ports.fins, B::Flood(Fins))]),
            (
                "fins-stall-mid-reply",
                vec![tcp(
                    ports.fins,
                    B::StallMidReply {
                        protocol: Fins,
                        stall: MID_REPLY_STALL,
                    },
                )],
            ),
        ];
        for (i, (name, services)) in fins.into_iter().enumerate() {
            let spec = services.into_iter().fold(
                DeviceSpec::new(host(base, 140 + i as u8), name),
                DeviceSpec::with_hostile,
            );
            devices.push(spec);
        }
        let knx: [(&str, HostileBehaviour); 12] = [
            ("knx-silent", B::Silent(Knx)),
            ("knx-close-mid-reply", B::CloseMidReply(Knx)),
            ("knx-huge-length", B::HugeDeclaredLength(Knx)),
            ("knx-more-than-declared", B::MoreThanDeclared(Knx)),
            ("knx-routing-indication", B::WrongCorrelation(Knx)),
            ("knx-connect-response", B::WrongReplyKind(Knx)),
            ("knx-garbage", B::Garbage(Knx)),
            ("knx-echo", B::Echo(Knx)),
            ("knx-oversized-datagram", B::OversizedDatagram(Knx)),
            ("knx-reply-from-other-port", B::ReplyFromOtherPort(Knx)),
            (
                "knx-reply-from-other-address",
                B::ReplyFromOtherAddress(Knx),
            ),
            ("knx-flood", B::Flood(Knx)),
        ];
        for (i, (name, behaviour)) in knx.into_iter().enumerate() {
            devices.push(
                DeviceSpec::new(host(base, 200 + i as u8), name)
                    .with_hostile(udp(ports.knx, behaviour)),
            );
        }
        devices.push(
            DeviceSpec::new(host(base, 191), "melsec-end-code-c05c").with_melsec(
                ports.melsec,
                MelsecDeviceConfig::new("R04CPU", 0x4800)
                    .with_end_code(melsec::end_code::REQUEST_CONTENTS),
            ),
        );
        devices.push(
            DeviceSpec::new(host(base, 155), "fins-no-free-node").with_fins(
                ports.fins,
                FinsDeviceConfig::new("CJ2M-CPU33", "02.00")
                    .with_node(55)
                    .with_client_nodes(239, 0)
                    .with_end_code(fins::END_UNDEFINED_COMMAND),
            ),
        );
        let ads: [(&str, HostileBehaviour); 12] = [
            ("ads-silent", B::Silent(Ads)),
            ("ads-truncated-datagram", B::CloseMidReply(Ads)),
            ("ads-huge-tag-length", B::HugeDeclaredLength(Ads)),
            ("ads-more-than-declared", B::MoreThanDeclared(Ads)),
            ("ads-wrong-invoke-id", B::WrongCorrelation(Ads)),
            ("ads-add-route-reply", B::WrongReplyKind(Ads)),
            ("ads-garbage", B::Garbage(Ads)),
            ("ads-echo", B::Echo(Ads)),
            ("ads-oversized-datagram", B::OversizedDatagram(Ads)),
            ("ads-reply-from-other-port", B::ReplyFromOtherPort(Ads)),
            (
                "ads-reply-from-other-address",
                B::ReplyFromOtherAddress(Ads),
            ),
            ("ads-flood", B::Flood(Ads)),
        ];
        for (i, (name, behaviour)) in ads.into_iter().enumerate() {
            devices.push(
                DeviceSpec::new(host(base, 220 + i as u8), name)
                    .with_hostile(udp(ports.ads, behaviour)),
            );
        }
        let pn: [(&str, HostileBehaviour); 6] = [
            ("profinet-truncated-datagram", B::CloseMidReply(Profinet)),
            ("profinet-huge-entry-count", B::HugeDeclaredLength(Profinet)),
            ("profinet-wrong-activity", B::WrongCorrelation(Profinet)),
            ("profinet-reject", B::WrongReplyKind(Profinet)),
            ("profinet-garbage", B::Garbage(Profinet)),
            (
                "profinet-oversized-datagram",
                B::OversizedDatagram(Profinet),
            ),
        ];
        let pn_more: [(&str, HostileBehaviour); 3] = [
            ("profinet-silent", B::Silent(Profinet)),
            (
                "profinet-reply-from-other-port",
                B::ReplyFromOtherPort(Profinet),
            ),
            ("profinet-flood", B::Flood(Profinet)),
        ];
        let pn_hosts = (212..220).chain([49]);
        for (at, (name, behaviour)) in pn_hosts.zip(pn.into_iter().chain(pn_more)) {
            devices.push(
                DeviceSpec::new(host(base, at), name).with_hostile(udp(ports.profinet, behaviour)),
            );
        }
        let quirky =
            |name: &str| ProfinetDeviceConfig::new(name, "6ES7 000-0QU00-0AB0", 1, ('V', 1, 0, 0));
        devices.extend([
            DeviceSpec::new(host(base, 46), "profinet-fragment")
                .with_profinet(ports.profinet, quirky("FRAGMENT").with_flags1(0x04)),
            DeviceSpec::new(host(base, 47), "profinet-wrong-sequence")
                .with_profinet(ports.profinet, quirky("SEQUENCE").with_sequence_offset(1)),
            DeviceSpec::new(host(base, 48), "profinet-unpadded-annotation").with_profinet(
                ports.profinet,
                quirky("UNPADDED").with_raw_annotation(
                    b"S7-1500XXXXXXXXXXXXXXXXXX6ES7516-3AN01-0AB0XXXXXXXXXXXXXXXXXXXXX",
                ),
            ),
        ]);
        let codesys: [(&str, HostileBehaviour); 11] = [
            ("codesys-silent", B::Silent(Codesys)),
            ("codesys-truncated-datagram", B::CloseMidReply(Codesys)),
            ("codesys-lying-name-length", B::HugeDeclaredLength(Codesys)),
            ("codesys-wrong-request-id", B::WrongCorrelation(Codesys)),
            ("codesys-address-reply", B::WrongReplyKind(Codesys)),
            ("codesys-garbage", B::Garbage(Codesys)),
            ("codesys-echo", B::Echo(Codesys)),
            ("codesys-oversized-datagram", B::OversizedDatagram(Codesys)),
            (
                "codesys-reply-from-other-port",
                B::ReplyFromOtherPort(Codesys),
            ),
            (
                "codesys-reply-from-other-address",
                B::ReplyFromOtherAddress(Codesys),
            ),
            ("codesys-flood", B::Flood(Codesys)),
        ];
        for (i, (name, behaviour)) in codesys.into_iter().enumerate() {
            devices.push(
                DeviceSpec::new(host(base, 244 + i as u8), name)
                    .with_hostile(udp(ports.codesys, behaviour)),
            );
        }
        let fox: [(&str, HostileBehaviour); 16] = [
            ("fox-silent", B::Silent(Fox)),
            ("fox-slow-drip", B::SlowDrip(Fox)),
            ("fox-endless-stream", B::EndlessStream(Fox)),
            ("fox-close-mid-reply", B::CloseMidReply(Fox)),
            ("fox-reset-after-connect", B::ResetAfterConnect(Fox)),
            ("fox-huge-length", B::HugeDeclaredLength(Fox)),
            ("fox-more-than-declared", B::MoreThanDeclared(Fox)),
            ("fox-other-request", B::WrongCorrelation(Fox)),
            ("fox-wrong-kind", B::WrongReplyKind(Fox)),
            ("fox-garbage", B::Garbage(Fox)),
            ("fox-echo", B::Echo(Fox)),
            ("fox-never-ends", B::FoxNeverEnds),
            ("fox-huge-line", B::FoxHugeLine),
            ("fox-thousands-of-keys", B::FoxThousandsOfKeys),
            ("fox-error-reply", B::FoxErrorReply),
            (
                "fox-stall-mid-reply",
                B::StallMidReply {
                    protocol: Fox,
                    stall: MID_REPLY_STALL,
                },
            ),
        ];
        for (i, (name, behaviour)) in fox.into_iter().enumerate() {
            devices.push(
                DeviceSpec::new(host(base, 160 + i as u8), name)
                    .with_hostile(tcp(ports.fox, behaviour)),
            );
        }

        for (host_number, name, guard) in [
            (70, "fragile-one-connection", DeviceGuard::one_connection()),
            (
                71,
                "fragile-pacing",
                DeviceGuard::one_connection_min_gap(PACING_SENSITIVE_GAP),
            ),
        ] {
            let fragile = |protocol| B::Fragile {
                protocol,
                guard: guard.clone(),
            };
            devices.push(
                DeviceSpec::new(host(base, host_number), name)
                    .with_hostile(tcp(ports.modbus, fragile(Modbus)))
                    .with_hostile(tcp(ports.enip, fragile(Enip)))
                    .with_hostile(udp(ports.enip, fragile(Enip)))
                    .with_hostile(udp(ports.snmp, fragile(Snmp)))
                    .with_hostile(udp(ports.bacnet, fragile(Bacnet)))
                    .with_hostile(tcp(ports.s7, fragile(S7)))
                    .with_hostile(udp(ports.fins, fragile(Fins)))
                    .with_hostile(tcp(ports.fins, fragile(Fins)))
                    .with_hostile(tcp(ports.hart, fragile(Hart))),
            );
        }
        let hart: [(&str, HostileBehaviour); 12] = [
            ("hart-stalled-session-initiate", B::Silent(Hart)),
            ("hart-slow-drip", B::SlowDrip(Hart)),
            ("hart-close-mid-reply", B::CloseMidReply(Hart)),
            ("hart-huge-byte-count", B::HugeDeclaredLength(Hart)),
            ("hart-wrong-sequence", B::WrongCorrelation(Hart)),
            ("hart-session-close-to-all", B::WrongReplyKind(Hart)),
            ("hart-garbage", B::Garbage(Hart)),
            ("hart-echo", B::Echo(Hart)),
            ("hart-bad-checksum", B::HartBadChecksum),
            ("hart-byte-count-lie", B::HartByteCountLie),
            ("hart-huge-sub-device-count", B::HartHugeSubDeviceCount),
            ("hart-error-response-code", B::HartErrorResponseCode),
        ];
        for (i, (name, behaviour)) in hart.into_iter().enumerate() {
            devices.push(
                DeviceSpec::new(host(base, 232 + i as u8), name)
                    .with_hostile(tcp(ports.hart, behaviour)),
            );
        }
        // Banner services: simulated servers (crate::banner) with hostile greetings.
        let line = || "Welcome to the endless banner\r\n".as_bytes().to_vec();
        let ssh: [(&str, BannerDeviceConfig); 5] = [
            (
                "ssh-no-newline",
                BannerDeviceConfig::new("SSH-2.0-NoNewline_1.0"),
            ),
            (
                "ssh-endless-banner",
                BannerDeviceConfig::silent().with_end(BannerEnd::Repeat(line())),
            ),
            ("ssh-silent", BannerDeviceConfig::silent()),
            (
                "ssh-garbage",
                BannerDeviceConfig::new(garbage(22, 64))
                    .with_end(BannerEnd::Repeat(garbage(23, 64))),
            ),
            (
                "ssh-huge-line",
                BannerDeviceConfig::new([b"SSH-2.0-".as_slice(), &[b'A'; 4000]].concat()),
            ),
        ];
        let ftp: [(&str, BannerDeviceConfig); 5] = [
            (
                "ftp-no-newline",
                BannerDeviceConfig::new("220 FTP ready without a line end"),
            ),
            (
                "ftp-endless-multiline",
                BannerDeviceConfig::new("220-Welcome\r\n")
                    .with_end(BannerEnd::Repeat(b"220-and more\r\n".to_vec())),
            ),
            ("ftp-silent", BannerDeviceConfig::silent()),
            (
                "ftp-garbage",
                BannerDeviceConfig::new(garbage(21, 64))
                    .with_end(BannerEnd::Repeat(garbage(24, 64))),
            ),
            (
                "ftp-close-mid-greeting",
                BannerDeviceConfig::new("220-first line\r\n").with_end(BannerEnd::Close),
            ),
        ];
        let flood: Vec<u8> = [255, 253, 24, 255, 251, 1].repeat(16);
        let every_option: Vec<u8> = (0..=255u8).flat_map(|o| [255, 253, o]).collect();
        let telnet: [(&str, u8, BannerDeviceConfig); 6] = [
            (
                "telnet-negotiation-flood",
                77,
                BannerDeviceConfig::silent().with_end(BannerEnd::Repeat(flood)),
            ),
            ("telnet-silent", 78, BannerDeviceConfig::silent()),
            (
                "telnet-garbage",
                79,
                BannerDeviceConfig::new(garbage(25, 64))
                    .with_end(BannerEnd::Repeat(garbage(26, 64))),
            ),
            (
                "telnet-no-prompt",
                25,
                BannerDeviceConfig::new("Welcome, no prompt and no line end"),
            ),
            (
                "telnet-endless-banner",
                26,
                BannerDeviceConfig::silent().with_end(BannerEnd::Repeat(
                    b"Welcome to the endless banner\r\n".to_vec(),
                )),
            ),
            (
                "telnet-every-option",
                27,
                BannerDeviceConfig::silent().with_end(BannerEnd::Repeat(every_option)),
            ),
        ];
        for (name, h, config) in telnet {
            devices.push(DeviceSpec::new(host(base, h), name).with_telnet(ports.telnet, config));
        }
        for (i, (name, config)) in ftp.into_iter().enumerate() {
            devices
                .push(DeviceSpec::new(host(base, 72 + i as u8), name).with_ftp(ports.ftp, config));
        }
        for (i, (name, config)) in ssh.into_iter().enumerate() {
            devices
                .push(DeviceSpec::new(host(base, 65 + i as u8), name).with_ssh(ports.ssh, config));
        }
        // Web servers: simulated ones (crate::web) with hostile responses.
        let head = |extra: &str| format!("HTTP/1.1 200 OK\r\n{extra}\r\n").into_bytes();
        let http: [(&str, u8, WebResponse); 7] = [
            (
                "http-endless-headers",
                94,
                WebResponse::raw(head("")[..17].to_vec()).with_end(BannerEnd::Repeat(
                    b"X-Padding: aaaaaaaaaaaaaaaa\r\n".to_vec(),
                )),
            ),
            (
                "http-title-never-closed",
                95,
                WebResponse::raw([head(""), b"<html><head><title>never closed ".to_vec()].concat())
                    .with_end(BannerEnd::Repeat(b"and never closed ".to_vec())),
            ),
            (
                "http-10mb-body",
                96,
                WebResponse::raw(head("Content-Length: 10000000\r\n"))
                    .with_end(BannerEnd::Repeat(vec![b'x'; 4096])),
            ),
            (
                "http-redirect-loop",
                97,
                WebResponse::redirect(302, "/", &[]),
            ),
            (
                "http-redirect-elsewhere",
                98,
                WebResponse::redirect(302, "http://192.0.2.1/admin", &[]),
            ),
            (
                "http-slow-drip",
                99,
                b"HTTP/1.1 200 OK\r\n"
                    .iter()
                    .skip(1)
                    .fold(WebResponse::raw(b"H".to_vec()), |r, &b| {
                        r.then(Duration::from_millis(150), vec![b])
                    }),
            ),
            ("http-garbage", 28, WebResponse::raw(garbage(80, 256))),
        ];
        for (name, h, response) in http {
            devices.push(
                DeviceSpec::new(host(base, h), name)
                    .with_http(ports.http, WebDeviceConfig::new(response)),
            );
        }
        let mut stall = LegacyTlsConfig::tls10(CertificateSpec::new("Hostile", "stall", &[]));
        stall.version = 0x0303;
        stall.cipher_suite = 0xc02f;
        stall.stall_after_hello = true;
        let https: [(&str, u8, LegacyTlsConfig); 4] = [
            ("https-stall-mid-handshake", 114, stall),
            (
                "https-garbage",
                115,
                LegacyTlsConfig::answering(garbage(81, 256)),
            ),
            // level 2 (fatal), description 40 (handshake_failure).
            (
                "https-alert",
                116,
                LegacyTlsConfig::answering(vec![21, 3, 3, 0, 2, 2, 40]),
            ),
            (
                "https-plain-http",
                117,
                LegacyTlsConfig::answering(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec(),
                ),
            ),
        ];
        for (name, h, config) in https {
            devices.push(DeviceSpec::new(host(base, h), name).with_legacy_tls(ports.https, config));
        }
        PlantSpec { devices }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9)), 502);

    #[test]
    fn ber_helpers_round_trip() {
        for v in [
            0i64,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            65_535,
            i64::MAX,
            i64::MIN,
        ] {
            let encoded = ber_int(v);
            let (tag, value, rest) = ber_read(&encoded).unwrap();
            assert_eq!((tag, rest.len()), (0x02, 0));
            assert_eq!(ber_int_value(value), Some(v), "{encoded:02x?}");
        }
        assert_eq!(
            ber_oid(&[1, 3, 6, 1, 2, 1, 1, 1, 0]),
            [0x06, 0x08, 0x2B, 6, 1, 2, 1, 1, 1, 0]
        );
        assert_eq!(
            ber_oid(&[1, 3, 6, 1, 4, 1, 32473]),
            [6, 8, 0x2B, 6, 1, 4, 1, 0x81, 0xFD, 0x59]
        );
        let long = tlv(0x04, &[0; 300]);
        assert_eq!(&long[..4], [0x04, 0x82, 0x01, 0x2C]);
    }

    #[test]
    fn modbus_shapes() {
        let request = [0, 7, 0, 0, 0, 5, 0xFF, 0x2B, 0x0E, 0x01, 0x00];
        let valid = modbus_reply(Shape::Valid, &request).unwrap();
        assert_eq!(&valid[..2], [0, 7]);
        assert_eq!(usize::from(valid[5]), valid.len() - 6);
        assert_eq!(&valid[7..10], [0x2B, 0x0E, 0x01]);
        let wrong = modbus_reply(Shape::WrongCorrelation, &request).unwrap();
        assert_eq!(&wrong[..2], [0, 8]);
        let huge = modbus_reply(Shape::HugeLength, &request).unwrap();
        assert_eq!((&huge[4..6], huge.len()), (&[0xFF, 0xFF][..], 16));
        let more = modbus_reply(Shape::MoreThanDeclared, &request).unwrap();
        assert_eq!(more.len(), valid.len() + 8);
        let rsi = modbus_reply(Shape::Valid, &[0, 1, 0, 0, 0, 2, 1, 0x11]).unwrap();
        assert_eq!(usize::from(rsi[8]), rsi.len() - 9);
    }

    #[test]
    fn enip_shapes() {
        let mut request = [0u8; 24];
        request[0] = 0x63;
        request[12..16].copy_from_slice(&41u32.to_le_bytes());
        let valid = enip_reply(Shape::Valid, &request, DEVICE).unwrap();
        assert_eq!(
            usize::from(u16::from_le_bytes([valid[2], valid[3]])),
            valid.len() - 24
        );
        assert_eq!(&valid[12..16], 41u32.to_le_bytes());
        let wrong = enip_reply(Shape::WrongCorrelation, &request, DEVICE).unwrap();
        assert_eq!(&wrong[12..16], 42u32.to_le_bytes());
        let huge = enip_reply(Shape::HugeLength, &request, DEVICE).unwrap();
        assert_eq!(&huge[2..4], [0xFF, 0xFF]);
        let count = enip_reply(Shape::ItemCount65535, &request, DEVICE).unwrap();
        assert_eq!(&count[24..26], [0xFF, 0xFF]);
        let kind = enip_reply(Shape::WrongKind, &request, DEVICE).unwrap();
        assert_eq!(&kind[..2], [0x65, 0x00]);
    }

    /// v2c GetRequest for sysDescr.0 and sysName.0, community "public", request id 1234.
    fn get_request(version: i64, next: bool) -> Vec<u8> {
        let varbinds = [
            tlv(0x30, &[ber_oid(&SYS_DESCR), tlv(0x05, &[])].concat()),
            tlv(0x30, &[ber_oid(&SYS_NAME), tlv(0x05, &[])].concat()),
        ]
        .concat();
        let pdu = tlv(
            if next { 0xA1 } else { 0xA0 },
            &[ber_int(1234), ber_int(0), ber_int(0), tlv(0x30, &varbinds)].concat(),
        );
        tlv(
            0x30,
            &[ber_int(version), tlv(0x04, b"public"), pdu].concat(),
        )
    }

    #[test]
    fn snmp_request_is_read_and_echoed() {
        let request = get_request(1, false);
        let parsed = parse_snmp_request(&request).unwrap();
        assert_eq!(
            (parsed.version, parsed.community, parsed.request_id),
            (1, &b"public"[..], 1234)
        );
        assert_eq!(parsed.names.len(), 2);
        let reply = snmp_reply(Shape::Valid, &request).unwrap();
        let (tag, message, rest) = ber_read(&reply).unwrap();
        assert_eq!((tag, rest.len()), (0x30, 0));
        let (_, _, rest) = ber_read(message).unwrap();
        let (_, community, rest) = ber_read(rest).unwrap();
        assert_eq!(community, b"public");
        let (tag, pdu, _) = ber_read(rest).unwrap();
        assert_eq!(tag, 0xA2);
        let (_, id, _) = ber_read(pdu).unwrap();
        assert_eq!(ber_int_value(id), Some(1234));
        let wrong = snmp_reply(Shape::WrongCorrelation, &request).unwrap();
        assert_ne!(wrong, reply);
        let nested = snmp_reply(Shape::DeepNesting, &request).unwrap();
        assert!(
            nested.len() > 4000 && nested.len() < 8192,
            "{}",
            nested.len()
        );
        let huge = snmp_reply(Shape::HugeLength, &request).unwrap();
        assert_eq!(&huge[..6], [0x30, 0x84, 0x80, 0, 0, 0]);
        assert!(snmp_reply(Shape::Valid, &get_request(0, true)).is_some());
        assert!(parse_snmp_request(b"\x30\x03\x02\x01").is_none());
    }

    #[test]
    fn behaviours_know_their_transports() {
        assert!(HostileBehaviour::SlowDrip(HostileProtocol::Modbus).supports(Transport::Tcp));
        assert!(!HostileBehaviour::SlowDrip(HostileProtocol::Enip).supports(Transport::Udp));
        assert!(!HostileBehaviour::Silent(HostileProtocol::Snmp).supports(Transport::Tcp));
        assert!(!HostileBehaviour::Flood(HostileProtocol::Modbus).supports(Transport::Udp));
        assert!(HostileBehaviour::Flood(HostileProtocol::Enip).supports(Transport::Udp));
        assert!(HostileBehaviour::SnmpHugeOids.supports(Transport::Udp));
        let guard = DeviceGuard::one_connection();
        assert_eq!(guard, guard.clone());
        assert_ne!(guard, DeviceGuard::one_connection());
    }

    #[test]
    fn garbage_is_fixed_per_seed() {
        assert_eq!(garbage(3, 64), garbage(3, 64));
        assert_ne!(garbage(3, 64), garbage(4, 64));
    }
}
