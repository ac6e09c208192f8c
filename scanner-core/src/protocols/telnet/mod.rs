//! Telnet banner (TCP 23), off by default: one TCP connection; what the server sends is
//! read for at most the read timeout in all (4 KiB at most), every option it asks for is
//! refused (`DO` with `WONT`, `WILL` with `DONT`, each option once, at most
//! [`MAX_REFUSAL_ROUNDS`] rounds), the read stops early at a prompt (`login:`, `>`, `#`),
//! then the connection is closed with a FIN. Nothing else is sent: no terminal type, no
//! text, never a user name or password.
//!
//! Not an industrial protocol: it is off the default probe list and runs with
//! `--probes telnet` or `--probes all`.

pub mod codec;
pub mod details;
mod probe;

pub use codec::{
    check_text, encode, ends_with_prompt, frame, parse, printable, Chunk, ParseError, Refusal,
    Request, MAX_REPLY_LEN, MAX_SUBNEGOTIATION,
};
pub use details::{identity_fields, TelnetDetails};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default telnet port.
pub const DEFAULT_PORT: u16 = 23;

/// Most rounds of refusals sent to one server.
pub const MAX_REFUSAL_ROUNDS: usize = 4;

/// Telnet probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TelnetConfig {
    /// TCP port (23).
    pub port: u16,
}

impl Default for TelnetConfig {
    fn default() -> Self {
        TelnetConfig { port: DEFAULT_PORT }
    }
}

impl ProbeConfig for TelnetConfig {
    const PROTOCOL: Protocol = Protocol::Telnet;

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
        // The connection and the rounds of refusals.
        1 + MAX_REFUSAL_ROUNDS as u64
    }

    fn plan(&self) -> Vec<(&'static str, String)> {
        vec![(
            "telnet",
            format!(
                "read the banner (at most {MAX_REPLY_LEN} bytes, one timeout), refuse every option (at most {MAX_REFUSAL_ROUNDS} rounds), never log in"
            ),
        )]
    }
}
