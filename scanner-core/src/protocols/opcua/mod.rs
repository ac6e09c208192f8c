//! OPC UA identification over UA-TCP (`opc.tcp`, TCP 4840): a Hello (answered by an
//! Acknowledge with the server's protocol version and buffer sizes), an OpenSecureChannel
//! with SecurityPolicy None and mode None, GetEndpoints (every endpoint with its security
//! mode, policy, user token types and the server certificate, and the application URI,
//! product URI and name), FindServers (other applications the server knows of), then
//! CloseSecureChannel and a clean TCP close. No session is ever created: the Request enum
//! cannot spell CreateSession or ActivateSession.
//!
//! Cost to the device: one TCP connection and one secure channel, both closed before the
//! probe returns. A server that refuses (an Error message such as
//! `Bad_TcpEndpointUrlInvalid` or `Bad_SecurityPolicyRejected`) is recorded as speaking
//! OPC UA, with the status code named.

pub mod binary;
pub mod certificate;
pub mod codec;
pub mod details;
mod probe;

pub use certificate::Certificate;
pub use codec::{
    application_type_name, encode, frame, parse, security_mode_name, status_name,
    user_token_type_name, Acknowledge, ApplicationDescription, EndpointDescription, EndpointUrl,
    ErrorMessage, Message, ParseError, Reply, Request, SecureChannel, MAX_CHUNKS, MAX_REPLY_LEN,
    SECURITY_POLICY_NONE,
};
pub use details::{identity_fields, Application, Endpoint, OpcuaDetails};

use crate::protocols::probe::ProbeConfig;
use crate::record::fields::{Protocol, Transport};

/// Default OPC UA port (IANA `opcua-tcp`).
pub const DEFAULT_PORT: u16 = 4840;

/// OPC UA probe settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpcuaConfig {
    /// TCP port (4840).
    pub port: u16,
    /// Also ask FindServers after GetEndpoints (one more request on the open channel):
    /// a discovery server or gateway names the other applications it knows.
    pub find_servers: bool,
}

impl Default for OpcuaConfig {
    fn default() -> Self {
        OpcuaConfig {
            port: DEFAULT_PORT,
            find_servers: true,
        }
    }
}

impl ProbeConfig for OpcuaConfig {
    const PROTOCOL: Protocol = Protocol::Opcua;

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
        // The connection, Hello, OpenSecureChannel, GetEndpoints, FindServers and
        // CloseSecureChannel.
        5 + u64::from(self.find_servers)
    }
}
