//! SSH identification (TCP 22), off by default: one TCP connection, the server's
//! identification string read (RFC 4253 4.2: `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`,
//! and any lines the server sends before it) within the size cap and the read timeout,
//! then the connection is closed with a FIN. Nothing is sent: not our identification
//! string, not a key exchange, never a user name. The server logs an unfinished
//! connection ("did not receive identification string"), as it does for any port scan.
//!
//! Not an industrial protocol: it is off the default probe list and runs with
//! `--probes ssh` or `--probes all`.

pub mod codec;
pub mod details;
mod probe;

pub use codec::{
    encode, frame, parse, Identification, ParseError, Reply, Request, MAX_LINE_LEN, MAX_PRE_LINES,
    MAX_REPLY_LEN,
};
pub use details::{identity_fields, SshDetails};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default SSH port.
pub const DEFAULT_PORT: u16 = 22;

/// SSH probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SshConfig {
    /// TCP port (22).
    pub port: u16,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig { port: DEFAULT_PORT }
    }
}

impl ProbeConfig for SshConfig {
    const PROTOCOL: Protocol = Protocol::Ssh;

    fn port(&self) -> u16 {
        self.port
    }

    fn set_port(&mut self, port: u16) {
        self.port = port;
    }

    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }

    fn max_requests(&self, _udp_retries: u32) -> u64 {
        // The connection only: the identification string is read, nothing is sent.
        1
    }

    fn plan(&self) -> Vec<(&'static str, String)> {
        vec![(
            "ssh",
            format!("read the identification string (at most {MAX_REPLY_LEN} bytes), send nothing"),
        )]
    }
}
