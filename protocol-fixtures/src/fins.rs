//! A simulated Omron PLC speaking FINS on UDP and TCP at one address and port (9600), the way
//! CS/CJ/CP/NJ CPUs with a built-in Ethernet port answer: Controller Data Read (MRC 05, SRC 01)
//! returns the controller model and version (20 bytes each, space padded), "for system use"
//! (40 bytes) and the area data (12 bytes); every other command gets end code 0401 (undefined
//! command): the simulated PLC changes nothing, whatever it is sent.
//!
//! FINS/TCP: every frame is "FINS", a big-endian length of the bytes after it, a command and an
//! error code. The client first sends command 0 (node address data send) with client node 0; the
//! PLC assigns a node from its pool (by default 239 upwards, 16 of them, as Omron's Ethernet
//! units do) and answers command 1 with the client and server nodes. The node is held until the
//! connection closes; with the pool empty the PLC answers error code 0x25. FINS frames then go in
//! command 2; anything else gets command 3 (error notification) with error code 0x03.
//!
//! FINS/UDP: one datagram is one frame. The PLC answers a frame whose DA1 is its own node or 0
//! and ignores the others, as a CPU on a FINS network does with frames for other nodes. Replies
//! go to the datagram's source address and port ("automatic generation (dynamic)" address
//! conversion). Every frame and datagram is recorded under [`PROTOCOL`].

use std::{
    collections::BTreeSet,
    io,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::{
    device::{bind_tcp_and_udp, serve_tcp_and_udp, DeviceHandle, Scope},
    recorder::{Framing, Recorder, RecordingStream},
};

/// The registered FINS port, on UDP and TCP.
pub const PORT: u16 = 9600;
/// Label of recorded FINS frames and datagrams.
pub const PROTOCOL: &str = Framing::FinsTcp.protocol();
/// The FINS/TCP magic.
pub const MAGIC: [u8; 4] = *b"FINS";
/// Length of the FINS header (ICF to SID).
pub const HEADER_LEN: usize = 10;
/// End code of a command the PLC does not serve: undefined command.
pub const END_UNDEFINED_COMMAND: u16 = 0x0401;
/// End code "not supported by model/version".
pub const END_NOT_SUPPORTED: u16 = 0x0402;

/// FINS/TCP commands.
pub mod tcp_command {
    /// Node address data send, client to server.
    pub const NODE_ADDRESS_REQUEST: u32 = 0;
    /// Node address data send, server to client.
    pub const NODE_ADDRESS_REPLY: u32 = 1;
    /// FINS frame send.
    pub const FRAME_SEND: u32 = 2;
    /// Frame send error notification.
    pub const ERROR_NOTIFICATION: u32 = 3;
}

/// FINS/TCP error codes the simulated PLC sends.
pub mod tcp_error {
    /// The header is not "FINS".
    pub const NOT_FINS: u32 = 0x01;
    /// The data length is too long.
    pub const TOO_LONG: u32 = 0x02;
    /// The command is not supported.
    pub const NOT_SUPPORTED: u32 = 0x03;
    /// The specified node is already connected.
    pub const NODE_IN_USE: u32 = 0x21;
    /// The client FINS node address is out of range.
    pub const NODE_OUT_OF_RANGE: u32 = 0x23;
    /// All the node addresses available for allocation have been used.
    pub const NO_NODE_LEFT: u32 = 0x25;
}

/// Largest FINS/TCP length the PLC reads (a FINS frame is at most 2012 bytes).
const MAX_TCP_LENGTH: usize = 2048;

/// The transports a PLC answers on: UDP and TCP (CJ2, CS1 and NJ CPUs with built-in
/// Ethernet), UDP only (older Ethernet units; TCP connections are refused) or TCP only (UDP
/// datagrams get ICMP port unreachable). The same choice as an EtherNet/IP device's.
pub type FinsTransports = crate::enip::EnipTransports;

/// The area data of a Controller Data Read response (all big-endian on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FinsAreaData {
    /// Program area size.
    pub program_area_size: u16,
    /// IOM size.
    pub iom_size: u8,
    /// Number of DM words.
    pub dm_words: u16,
    /// Timer/counter size.
    pub timer_counter_size: u8,
    /// Expansion DM size (banks).
    pub expansion_dm_size: u8,
    /// Number of steps/transitions.
    pub steps_transitions: u16,
    /// Kind of memory card.
    pub memory_card_kind: u8,
    /// Memory card size.
    pub memory_card_size: u16,
}

impl FinsAreaData {
    /// The 12 bytes on the wire.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12);
        out.extend_from_slice(&self.program_area_size.to_be_bytes());
        out.push(self.iom_size);
        out.extend_from_slice(&self.dm_words.to_be_bytes());
        out.push(self.timer_counter_size);
        out.push(self.expansion_dm_size);
        out.extend_from_slice(&self.steps_transitions.to_be_bytes());
        out.push(self.memory_card_kind);
        out.extend_from_slice(&self.memory_card_size.to_be_bytes());
        out
    }
}

/// Identity and behaviour of a simulated Omron PLC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinsDeviceConfig {
    /// Controller model field as sent (20 bytes when built by [`FinsDeviceConfig::new`]).
    pub model: Vec<u8>,
    /// Controller version field as sent.
    pub version: Vec<u8>,
    /// The 40 "for system use" bytes.
    pub system_use: Vec<u8>,
    /// The area data; `None`: the PLC stops after the version (older CPUs).
    pub area: Option<FinsAreaData>,
    /// End code of every Controller Data Read answer; not 0: the answer carries no data.
    pub end_code: u16,
    /// The PLC's own FINS node address (SA1 of its replies, the server node on TCP).
    pub node: u8,
    /// First node of the pool FINS/TCP clients are assigned from.
    pub first_client_node: u8,
    /// How many client nodes the pool holds.
    pub client_nodes: u8,
    /// Transports served.
    pub transports: FinsTransports,
}

impl FinsDeviceConfig {
    /// A PLC whose model and version are padded with spaces to 20 bytes each, as real CPUs send
    /// them, with zero system-use bytes, the default area data of a CJ2M (program area 20, IOM
    /// 23, 32768 DM words, timer/counter 8, no expansion DM, no memory card), node 1, both
    /// transports.
    pub fn new(model: &str, version: &str) -> Self {
        Self {
            model: padded(model.as_bytes()),
            version: padded(version.as_bytes()),
            system_use: vec![0; 40],
            area: Some(FinsAreaData {
                program_area_size: 20,
                iom_size: 23,
                dm_words: 32768,
                timer_counter_size: 8,
                ..FinsAreaData::default()
            }),
            end_code: 0,
            node: 1,
            first_client_node: 239,
            client_nodes: 16,
            transports: FinsTransports::BOTH,
        }
    }

    /// Sets the area data.
    #[must_use]
    pub fn with_area(mut self, area: FinsAreaData) -> Self {
        self.area = Some(area);
        self
    }

    /// Answers with model and version only (40 data bytes), as older CPUs do.
    #[must_use]
    pub fn with_short_reply(mut self) -> Self {
        self.area = None;
        self
    }

    /// Answers Controller Data Read with this end code and no data (e.g. 0x0401).
    #[must_use]
    pub fn with_end_code(mut self, end_code: u16) -> Self {
        self.end_code = end_code;
        self
    }

    /// Sets the PLC's own node address.
    #[must_use]
    pub fn with_node(mut self, node: u8) -> Self {
        self.node = node;
        self
    }

    /// Sets the FINS/TCP client node pool.
    #[must_use]
    pub fn with_client_nodes(mut self, first: u8, count: u8) -> Self {
        self.first_client_node = first;
        self.client_nodes = count;
        self
    }

    /// Sets the transports served.
    #[must_use]
    pub fn with_transports(mut self, transports: FinsTransports) -> Self {
        self.transports = transports;
        self
    }

    /// The response data of a normal Controller Data Read.
    fn controller_data(&self) -> Vec<u8> {
        let mut data = self.model.clone();
        data.extend_from_slice(&self.version);
        if let Some(area) = self.area {
            data.extend_from_slice(&self.system_use);
            data.extend_from_slice(&area.to_bytes());
        }
        data
    }

    /// The response to one FINS command frame, `None` when the PLC sends none: a response, a
    /// frame too short to be a command, a frame for another node (when `check_node`), or a
    /// command that asks for no response (ICF bit 0).
    pub fn respond(&self, frame: &[u8], check_node: bool) -> Option<Vec<u8>> {
        let (header, command) = frame.split_first_chunk::<HEADER_LEN>()?;
        let [icf, _, _, _, da1, ..] = *header;
        if icf & 0x40 != 0 || icf & 0x01 != 0 || command.len() < 2 {
            return None;
        }
        if check_node && da1 != 0 && da1 != self.node {
            return None;
        }
        let (end_code, data) = match command {
            [0x05, 0x01, ..] if self.end_code != 0 => (self.end_code, Vec::new()),
            [0x05, 0x01, ..] => (0, self.controller_data()),
            _ => (END_UNDEFINED_COMMAND, Vec::new()),
        };
        Some(response(
            header,
            self.node,
            [command[0], command[1]],
            end_code,
            &data,
        ))
    }
}

/// `text` padded with spaces (or cut) to the 20 bytes of a model or version field.
pub fn padded(text: &[u8]) -> Vec<u8> {
    let mut out = text.to_vec();
    out.resize(20, b' ');
    out
}

/// A FINS response to the command whose header is `request`: addresses swapped, the source
/// node `node`, the SID echoed, then MRC/SRC, the end code and `data`.
pub fn response(
    request: &[u8; HEADER_LEN],
    node: u8,
    command: [u8; 2],
    end_code: u16,
    data: &[u8],
) -> Vec<u8> {
    let [_, _, _, dna, _, da2, sna, sa1, sa2, sid] = *request;
    let mut out = vec![0xC0, 0x00, 0x02, sna, sa1, sa2, dna, node, da2, sid];
    out.extend_from_slice(&command);
    out.extend_from_slice(&end_code.to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// A FINS/TCP frame of `command` with `error` and `data`.
pub fn tcp_frame(command: u32, error: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + data.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(
        &u32::try_from(8 + data.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(&command.to_be_bytes());
    out.extend_from_slice(&error.to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// The node address reply: client and server nodes as u32.
pub fn node_address_reply(client: u8, server: u8) -> Vec<u8> {
    let mut data = u32::from(client).to_be_bytes().to_vec();
    data.extend_from_slice(&u32::from(server).to_be_bytes());
    tcp_frame(tcp_command::NODE_ADDRESS_REPLY, 0, &data)
}

/// The FINS/TCP client nodes in use.
type NodePool = Arc<Mutex<BTreeSet<u8>>>;

/// A simulated Omron PLC.
#[derive(Debug)]
pub struct FinsDevice;

impl FinsDevice {
    /// Starts serving `config` on `addr` (IPv4 loopback only) over the configured transports,
    /// UDP and TCP sharing the port, recording every frame and datagram in `recorder`.
    ///
    /// # Errors
    /// A non-loopback or IPv6 address, no transport enabled, or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: FinsDeviceConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let SocketAddr::V4(addr) = addr else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("FINS fixtures bind only to IPv4, not {addr}"),
            ));
        };
        let bound = bind_tcp_and_udp(
            addr,
            config.transports.tcp,
            config.transports.udp,
            Scope::Loopback,
        )?;
        let config = Arc::new(config);
        let datagrams = Arc::clone(&config);
        let pool = NodePool::default();
        Ok(serve_tcp_and_udp(
            bound,
            recorder,
            Framing::FinsTcp,
            PROTOCOL,
            move |stream| serve_connection(stream, Arc::clone(&config), Arc::clone(&pool)),
            move |request| datagrams.respond(request, true),
        ))
    }
}

/// A client node taken from the pool, given back when the connection ends.
struct HeldNode {
    pool: NodePool,
    node: Option<u8>,
}

impl Drop for HeldNode {
    fn drop(&mut self) {
        if let Some(node) = self.node {
            self.pool
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&node);
        }
    }
}

impl HeldNode {
    /// Takes `asked` (0: the first free node of the pool); the error code when it cannot.
    fn take(&mut self, config: &FinsDeviceConfig, asked: u32) -> Result<u8, u32> {
        if let Some(node) = self.node {
            return Ok(node);
        }
        let mut used = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        let node = if asked == 0 {
            (0..config.client_nodes)
                .filter_map(|i| config.first_client_node.checked_add(i))
                .filter(|&n| n != 0xFF && n != config.node)
                .find(|n| !used.contains(n))
                .ok_or(tcp_error::NO_NODE_LEFT)?
        } else {
            let node = u8::try_from(asked)
                .ok()
                .filter(|&n| n != 0xFF && n != config.node)
                .ok_or(tcp_error::NODE_OUT_OF_RANGE)?;
            if used.contains(&node) {
                return Err(tcp_error::NODE_IN_USE);
            }
            node
        };
        used.insert(node);
        self.node = Some(node);
        Ok(node)
    }
}

/// Serves one FINS/TCP connection until the peer closes it or breaks the framing.
async fn serve_connection(
    mut stream: RecordingStream<TcpStream>,
    config: Arc<FinsDeviceConfig>,
    pool: NodePool,
) {
    let mut held = HeldNode { pool, node: None };
    let mut head = [0u8; 8];
    loop {
        if stream.read_exact(&mut head).await.is_err() {
            return;
        }
        let length = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let fatal = if head[..4] != MAGIC {
            Some(tcp_error::NOT_FINS)
        } else if !(8..=MAX_TCP_LENGTH).contains(&length) {
            Some(tcp_error::TOO_LONG)
        } else {
            None
        };
        if let Some(code) = fatal {
            let _ = stream
                .write_all(&tcp_frame(tcp_command::ERROR_NOTIFICATION, code, &[]))
                .await;
            return;
        }
        let mut body = vec![0u8; length];
        if stream.read_exact(&mut body).await.is_err() {
            return;
        }
        let command = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        let data = &body[8..];
        let reply = match command {
            tcp_command::NODE_ADDRESS_REQUEST => match data.first_chunk::<4>() {
                Some(&asked) => match held.take(&config, u32::from_be_bytes(asked)) {
                    Ok(node) => Some(node_address_reply(node, config.node)),
                    Err(code) => Some(tcp_frame(tcp_command::NODE_ADDRESS_REPLY, code, &[])),
                },
                None => Some(tcp_frame(
                    tcp_command::ERROR_NOTIFICATION,
                    tcp_error::NOT_SUPPORTED,
                    &[],
                )),
            },
            tcp_command::FRAME_SEND if held.node.is_some() => config
                .respond(data, false)
                .map(|fins| tcp_frame(tcp_command::FRAME_SEND, 0, &fins)),
            _ => Some(tcp_frame(
                tcp_command::ERROR_NOTIFICATION,
                tcp_error::NOT_SUPPORTED,
                &[],
            )),
        };
        if let Some(reply) = reply {
            if stream.write_all(&reply).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(da1: u8, mrc: u8, src: u8) -> Vec<u8> {
        vec![0x80, 0, 2, 0, da1, 0, 0, 0x63, 0, 0x2A, mrc, src, 0x00]
    }

    #[test]
    fn controller_data_read_gets_model_version_and_area_data() {
        let config = FinsDeviceConfig::new("CJ2M-CPU31", "02.01").with_node(70);
        let reply = config.respond(&command(0, 5, 1), true).unwrap();
        assert_eq!(reply.len(), 14 + 20 + 20 + 40 + 12);
        assert_eq!(&reply[..10], &[0xC0, 0, 2, 0, 0x63, 0, 0, 70, 0, 0x2A]);
        assert_eq!(&reply[10..14], &[5, 1, 0, 0]);
        assert_eq!(&reply[14..34], b"CJ2M-CPU31          ");
        let short = config.clone().with_short_reply();
        assert_eq!(short.respond(&command(70, 5, 1), true).unwrap().len(), 54);
        let refused = config.clone().with_end_code(END_NOT_SUPPORTED);
        assert_eq!(
            refused.respond(&command(0, 5, 1), true).unwrap()[10..],
            [5, 1, 4, 2]
        );
    }

    #[test]
    fn other_commands_and_other_nodes_change_nothing() {
        let config = FinsDeviceConfig::new("CJ2M-CPU31", "02.01").with_node(70);
        // RUN gets "undefined command".
        assert_eq!(
            config.respond(&command(0, 4, 1), true).unwrap()[10..],
            [4, 1, 4, 1]
        );
        assert_eq!(config.respond(&command(71, 5, 1), true), None);
        assert_eq!(config.respond(&command(0, 5, 1)[..11], true), None);
        let mut no_response = command(0, 5, 1);
        no_response[0] = 0x81;
        assert_eq!(config.respond(&no_response, true), None);
    }
}
