//! Niagara Fox identification (Tridium Niagara stations, TCP 1911): one TCP connection,
//! the Fox `hello` (the bytes nmap's `fox-info` sends), the station's hello reply read to
//! its end (`};;`) within the size cap and the read timeout, then the connection is
//! closed with a FIN. No login, no session: the hello is what every Fox client sends
//! before it authenticates, and the station forgets the connection when it closes.
//!
//! Fox over TLS (foxs, TCP 4911) is not probed: it needs a TLS client in the session,
//! which otscan does not have (see the README).

pub mod codec;
pub mod details;
mod probe;

pub use codec::{
    encode, frame, parse, parse_hello_reply, Header, ParseError, Reply, Request, Tuple, HELLO,
    MAX_DEPTH, MAX_LINE_LEN, MAX_REPLY_LEN, MAX_TUPLES,
};
pub use details::{brand_vendor, identity_fields, FoxDetails, FoxTuple};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default Fox port (plain text; 4911 is Fox over TLS).
pub const DEFAULT_PORT: u16 = 1911;

/// Niagara Fox probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FoxConfig {
    /// TCP port (1911).
    pub port: u16,
    /// Largest hello reply read, in bytes (default and most [`MAX_REPLY_LEN`]); a
    /// longer reply is a `protocol-error`.
    pub max_reply_bytes: usize,
}

impl Default for FoxConfig {
    fn default() -> Self {
        FoxConfig {
            port: DEFAULT_PORT,
            max_reply_bytes: MAX_REPLY_LEN,
        }
    }
}

impl ProbeConfig for FoxConfig {
    const PROTOCOL: Protocol = Protocol::Fox;

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
        // The connection and the hello.
        2
    }

    fn validate(&self) -> Result<(), String> {
        if !(256..=MAX_REPLY_LEN).contains(&self.max_reply_bytes) {
            return Err(format!(
                "fox reply cap {} is outside 256..={MAX_REPLY_LEN} bytes",
                self.max_reply_bytes
            ));
        }
        Ok(())
    }
}
