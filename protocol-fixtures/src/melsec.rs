//! A simulated Mitsubishi MELSEC CPU (Q, L, iQ-R, iQ-F) answering SLMP / MC protocol 3E
//! binary frames over TCP and UDP on one port, decoded by hand (never with otscan's
//! encoder).
//!
//! Read CPU Model Name (command 0x0101, subcommand 0x0000) gets the configured 16-byte
//! model name and model code (or the configured end code); every other command gets end
//! code 0xC059 (command not supported) with its error information, so nothing a scanner
//! sends runs, stops or writes anything. A request whose data length does not match the
//! bytes that came (UDP) gets 0xC061. Frames that are not 3E binary requests (ASCII
//! frames, 4E frames, other protocols) get no answer.
//!
//! Model codes: Q03UDVCPU 0x0366 and R04CPU 0x4800 are from a public SLMP constants table
//! (see otscan's codec); FX5U codes are simulated, not verified.

use std::{io, net::SocketAddr, sync::Arc};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::{
    device::{bind_tcp_and_udp, serve_tcp_and_udp, DeviceHandle, Scope},
    recorder::{Framing, Recorder, RecordingStream},
};

/// The label recorded frames and datagrams carry.
pub const PROTOCOL: &str = "melsec";
/// The TCP port many MELSEC-Q CPUs answer on (otscan's default TCP port).
pub const TCP_PORT: u16 = 5007;
/// The UDP port otscan tries by default.
pub const UDP_PORT: u16 = 5006;
/// The plant's default port (both transports share one port in the plant).
pub const PORT: u16 = TCP_PORT;
/// Request subheader of a 3E binary frame.
pub const SUBHEADER_REQUEST: [u8; 2] = [0x50, 0x00];
/// Response subheader of a 3E binary frame.
pub const SUBHEADER_RESPONSE: [u8; 2] = [0xD0, 0x00];
/// Subheader, four routing fields and the data length.
pub const HEADER_LEN: usize = 9;
/// Read CPU Model Name.
pub const READ_CPU_MODEL_NAME: u16 = 0x0101;

/// End codes the fixture sends.
pub mod end_code {
    /// Command or subcommand not supported.
    pub const COMMAND_NOT_SUPPORTED: u16 = 0xC059;
    /// Error in the request contents.
    pub const REQUEST_CONTENTS: u16 = 0xC05C;
    /// Request data length does not match the data.
    pub const DATA_LENGTH_MISMATCH: u16 = 0xC061;
}

/// Commands of the 3E family that must never be sent by a read-only scanner; the fixture
/// refuses them like any other (0xC059). Listed for the allowlist's near-miss tests.
pub mod command {
    /// Batch read of devices.
    pub const BATCH_READ: u16 = 0x0401;
    /// Batch write of devices.
    pub const BATCH_WRITE: u16 = 0x1401;
    /// Random write.
    pub const RANDOM_WRITE: u16 = 0x1402;
    /// Remote RUN.
    pub const REMOTE_RUN: u16 = 0x1001;
    /// Remote STOP.
    pub const REMOTE_STOP: u16 = 0x1002;
    /// Remote PAUSE.
    pub const REMOTE_PAUSE: u16 = 0x1003;
    /// Remote latch clear.
    pub const REMOTE_LATCH_CLEAR: u16 = 0x1005;
    /// Remote RESET.
    pub const REMOTE_RESET: u16 = 0x1006;
    /// Remote password unlock.
    pub const PASSWORD_UNLOCK: u16 = 0x1630;
    /// Remote password lock.
    pub const PASSWORD_LOCK: u16 = 0x1631;
    /// Loopback test (echo).
    pub const LOOPBACK_TEST: u16 = 0x0619;
}

/// What a simulated CPU answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MelsecDeviceConfig {
    /// Model name, sent in 16 bytes (cut or space padded).
    pub model_name: Vec<u8>,
    /// Model code after the name; `None` leaves it out (data length 18).
    pub model_code: Option<u16>,
    /// End code for Read CPU Model Name: 0 answers it, anything else refuses it.
    pub end_code: u16,
    /// Listen on TCP.
    pub tcp: bool,
    /// Listen on UDP.
    pub udp: bool,
}

impl Default for MelsecDeviceConfig {
    fn default() -> Self {
        MelsecDeviceConfig::new("Q03UDVCPU", 0x0366)
    }
}

impl MelsecDeviceConfig {
    /// A CPU called `model_name` with `model_code`, on TCP and UDP.
    pub fn new(model_name: impl Into<Vec<u8>>, model_code: u16) -> Self {
        MelsecDeviceConfig {
            model_name: model_name.into(),
            model_code: Some(model_code),
            end_code: 0,
            tcp: true,
            udp: true,
        }
    }

    /// Refuses Read CPU Model Name with `end_code`.
    #[must_use]
    pub fn with_end_code(mut self, end_code: u16) -> Self {
        self.end_code = end_code;
        self
    }

    /// Leaves the model code out of the reply.
    #[must_use]
    pub fn without_model_code(mut self) -> Self {
        self.model_code = None;
        self
    }

    /// TCP only.
    #[must_use]
    pub fn tcp_only(mut self) -> Self {
        self.udp = false;
        self
    }

    /// UDP only.
    #[must_use]
    pub fn udp_only(mut self) -> Self {
        self.tcp = false;
        self
    }

    /// The reply to one request frame or datagram (`None`: not a 3E binary request, no
    /// answer). Bytes after the header that are not exactly what its data length says (a
    /// datagram can carry more or less) get end code 0xC061.
    pub fn reply(&self, frame: &[u8]) -> Option<Vec<u8>> {
        let request = parse_request(frame)?;
        let route: [u8; 5] = frame[2..7].try_into().ok()?;
        if !request.whole {
            return Some(error_reply(route, end_code::DATA_LENGTH_MISMATCH, None));
        }
        let (Some(command), Some(subcommand)) = (request.command, request.subcommand) else {
            return Some(error_reply(route, end_code::REQUEST_CONTENTS, None));
        };
        if command != READ_CPU_MODEL_NAME || subcommand != 0 || !request.data.is_empty() {
            return Some(error_reply(
                route,
                end_code::COMMAND_NOT_SUPPORTED,
                Some((command, subcommand)),
            ));
        }
        if self.end_code != 0 {
            return Some(error_reply(
                route,
                self.end_code,
                Some((command, subcommand)),
            ));
        }
        let mut data = 0u16.to_le_bytes().to_vec();
        let mut name = self.model_name.clone();
        name.resize(16, b' ');
        data.extend_from_slice(&name);
        if let Some(code) = self.model_code {
            data.extend_from_slice(&code.to_le_bytes());
        }
        Some(response(route, &data))
    }
}

/// A 3E binary request as the fixture reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request3E<'a> {
    /// Monitoring timer (250 ms units), when present.
    pub timer: Option<u16>,
    /// Command, when present.
    pub command: Option<u16>,
    /// Subcommand, when present.
    pub subcommand: Option<u16>,
    /// Request data after the subcommand.
    pub data: &'a [u8],
    /// The data length matches the bytes after the header exactly.
    pub whole: bool,
}

/// Reads a 3E binary request frame: `None` unless it starts with the request subheader
/// and a whole header.
pub fn parse_request(frame: &[u8]) -> Option<Request3E<'_>> {
    if frame.get(..2)? != SUBHEADER_REQUEST || frame.len() < HEADER_LEN {
        return None;
    }
    let declared = usize::from(u16::from_le_bytes([frame[7], frame[8]]));
    let body = &frame[HEADER_LEN..];
    let whole = body.len() == declared;
    let body = &body[..declared.min(body.len())];
    let word = |at: usize| {
        body.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    Some(Request3E {
        timer: word(0),
        command: word(2),
        subcommand: word(4),
        data: body.get(6..).unwrap_or(&[]),
        whole,
    })
}

/// A 3E response with `route` (the request's five routing bytes) and `data` (end code
/// on).
pub fn response(route: [u8; 5], data: &[u8]) -> Vec<u8> {
    let mut out = SUBHEADER_RESPONSE.to_vec();
    out.extend_from_slice(&route);
    out.extend_from_slice(&u16::try_from(data.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// An abnormal response: `end_code`, then the error information (the route, command and
/// subcommand) when the command is known.
pub fn error_reply(route: [u8; 5], end_code: u16, failed: Option<(u16, u16)>) -> Vec<u8> {
    let mut data = end_code.to_le_bytes().to_vec();
    if let Some((command, subcommand)) = failed {
        data.extend_from_slice(&route);
        data.extend_from_slice(&command.to_le_bytes());
        data.extend_from_slice(&subcommand.to_le_bytes());
    }
    response(route, &data)
}

/// A simulated MELSEC CPU.
#[derive(Debug)]
pub struct MelsecDevice;

impl MelsecDevice {
    /// Starts serving `config` on `addr` (loopback only) over the configured transports,
    /// TCP and UDP sharing the port, recording every frame and datagram in `recorder`. On
    /// TCP a connection may carry any number of requests, each framed by its data length.
    ///
    /// # Errors
    /// A non-loopback address, no transport enabled, or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: MelsecDeviceConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let SocketAddr::V4(addr) = addr else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a MELSEC fixture binds an IPv4 address",
            ));
        };
        let bound = bind_tcp_and_udp(addr, config.tcp, config.udp, Scope::Loopback)?;
        let config = Arc::new(config);
        let datagrams = Arc::clone(&config);
        Ok(serve_tcp_and_udp(
            bound,
            recorder,
            Framing::Melsec3e,
            PROTOCOL,
            move |stream| serve_connection(stream, Arc::clone(&config)),
            move |request| datagrams.reply(request),
        ))
    }
}

/// Answers 3E requests on one connection until the peer closes it; a frame that is not a
/// 3E binary request ends the connection (the stream is out of step).
async fn serve_connection(mut stream: RecordingStream<TcpStream>, config: Arc<MelsecDeviceConfig>) {
    let mut header = [0u8; HEADER_LEN];
    loop {
        if stream.read_exact(&mut header).await.is_err() || header[..2] != SUBHEADER_REQUEST {
            return;
        }
        let length = usize::from(u16::from_le_bytes([header[7], header[8]]));
        let mut frame = header.to_vec();
        frame.resize(HEADER_LEN + length, 0);
        if stream.read_exact(&mut frame[HEADER_LEN..]).await.is_err() {
            return;
        }
        let Some(reply) = config.reply(&frame) else {
            return;
        };
        if stream.write_all(&reply).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: [u8; 15] = [
        0x50, 0x00, 0x00, 0xFF, 0xFF, 0x03, 0x00, 0x06, 0x00, 0x10, 0x00, 0x01, 0x01, 0x00, 0x00,
    ];

    #[test]
    fn read_cpu_model_name_is_answered() {
        let reply = MelsecDeviceConfig::default().reply(&READ).unwrap();
        assert_eq!(reply.len(), 29);
        assert_eq!(reply[..9], [0xD0, 0, 0, 0xFF, 0xFF, 0x03, 0, 0x14, 0]);
        assert_eq!(&reply[11..27], b"Q03UDVCPU       ");
        assert_eq!(reply[27..], [0x66, 0x03]);
    }

    #[test]
    fn other_commands_are_refused_with_c059() {
        let mut stop = READ.to_vec();
        stop[11..13].copy_from_slice(&command::REMOTE_STOP.to_le_bytes());
        let reply = MelsecDeviceConfig::default().reply(&stop).unwrap();
        assert_eq!(reply[9..11], [0x59, 0xC0]);
        assert_eq!(reply[16..18], [0x02, 0x10]);
        let mut short = READ.to_vec();
        short.pop();
        let reply = MelsecDeviceConfig::default().reply(&short).unwrap();
        assert_eq!(reply[9..11], [0x61, 0xC0]);
        assert_eq!(MelsecDeviceConfig::default().reply(b"5000"), None);
    }
}
