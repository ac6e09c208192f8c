//! FTP greeting (TCP 21), off by default: one TCP connection to the control port, the
//! server's greeting read (RFC 959: `220 text` or a multi-line `220-` ... `220 ` reply)
//! within the size cap and the read timeout, then the connection is closed with a FIN.
//! Nothing is sent: never USER or PASS, and no QUIT either. A FIN ends the control
//! connection for any server (RFC 959 servers treat the close as the end of the session);
//! QUIT would be one more command for the device's parser to handle and tells nothing more,
//! so the banner probes stay "read only, send nothing".
//!
//! Not an industrial protocol: it is off the default probe list and runs with
//! `--probes ftp` or `--probes all`.

pub mod codec;
pub mod details;
mod probe;

pub use codec::{
    encode, frame, parse, ParseError, Reply, Request, MAX_LINES, MAX_LINE_LEN, MAX_REPLY_LEN,
};
pub use details::{identity_fields, FtpDetails};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default FTP control port.
pub const DEFAULT_PORT: u16 = 21;

/// FTP probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FtpConfig {
    /// TCP port (21).
    pub port: u16,
}

impl Default for FtpConfig {
    fn default() -> Self {
        FtpConfig { port: DEFAULT_PORT }
    }
}

impl ProbeConfig for FtpConfig {
    const PROTOCOL: Protocol = Protocol::Ftp;

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
        // The connection only: the greeting is read, nothing is sent.
        1
    }

    fn plan(&self) -> Vec<(&'static str, String)> {
        vec![(
            "ftp",
            format!("read the greeting (at most {MAX_REPLY_LEN} bytes), send nothing (no USER, PASS or QUIT)"),
        )]
    }
}
