//! A simulated OPC UA server on UA-TCP (`opc.tcp`, TCP port 4840): the Hello / Acknowledge
//! handshake, OpenSecureChannel with SecurityPolicy None, the discovery services GetEndpoints
//! and FindServers, and CloseSecureChannel, in the OPC UA Binary encoding (OPC 10000-6 §5.2,
//! §7.1). Every other service (sessions, reads, writes, calls) gets a ServiceFault
//! `Bad_ServiceUnsupported`, so nothing a scanner sends reaches an address space.
//!
//! The encoder and decoder are written here from OPC 10000-4 and 10000-6, independently of the
//! scanner's codec, so each checks the other.
//!
//! One conversation per TCP connection, as a server holds it:
//! 1. `HEL`: an `ACK` with the configured buffer sizes, or an `ERR` (then close) when
//!    [`OpcuaBehaviour::ErrorOnHello`] or when the endpoint URL is not the one
//!    [`OpcuaServerConfig::required_endpoint_url`] names (`Bad_TcpEndpointUrlInvalid`, as
//!    servers that check the URL's host do).
//! 2. `OPN`: a channel (SecurityPolicy None only), or an `ERR` `Bad_SecurityPolicyRejected`
//!    when [`OpcuaBehaviour::RejectSecurityPolicyNone`] (a server whose None endpoint is off).
//! 3. `MSG` GetEndpoints: every configured endpoint with the application description and the
//!    server certificate (a real self-signed X.509 certificate, see [`CERT_S7_1500`]); a reply
//!    larger than the configured send buffer goes in intermediate chunks (`C`) and a final one,
//!    as servers with 8 KiB buffers send endpoint lists with certificates.
//!    `MSG` FindServers: the server's own application and the configured other servers, or a
//!    ServiceFault when [`OpcuaServerConfig::find_servers_fault`].
//! 4. `CLO`: the server closes the connection without answering.
//!
//! Anything out of order (a MSG before the channel, a wrong channel id) gets an `ERR`
//! `Bad_TcpSecureChannelUnknown` and a close. Every received chunk is recorded with the label
//! [`PROTOCOL`] ([`Framing::UaTcp`]).

use std::{io, net::SocketAddr, sync::Arc};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use crate::{
    device::{bind_loopback, DeviceHandle, ACCEPT_RETRY},
    recorder::{Framing, Recorder, RecordingStream},
};

/// The registered OPC UA port (TCP).
pub const PORT: u16 = 4840;

/// The label UA-TCP chunks carry in [`crate::RecordedFrame::protocol`].
pub const PROTOCOL: &str = Framing::UaTcp.protocol();

/// Longest chunk the server reads; a longer declared size closes the connection.
const MAX_CHUNK: usize = 65_536;

/// A self-signed certificate of a Siemens-like S7-1500 OPC UA server (RSA 2048, SHA-256,
/// SAN URI `urn:SIMATIC.S7-1500.OPC-UA.Application:PLC_1`, DNS `plc-1`, IP 127.0.0.1, serial
/// 0x5A1E). Made once with `openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650
/// -outform DER -subj "/CN=SIMATIC.S7-1500.OPC-UA.Application:PLC_1/O=Siemens AG/OU=Digital
/// Industries/C=DE" -addext "subjectAltName=URI:urn:SIMATIC.S7-1500.OPC-UA.Application:PLC_1,
/// DNS:plc-1,IP:127.0.0.1" -set_serial 0x5A1E` (the key thrown away); see `certs/README.md`.
pub const CERT_S7_1500: &[u8] = include_bytes!("../certs/siemens-s7-1500.der");
/// A self-signed certificate of a Kepware-like gateway (`O=PTC Inc.`, SAN URI
/// `urn:otscan-demo:Kepware.KEPServerEX.V6:UA Server`), made the same way.
pub const CERT_KEPWARE: &[u8] = include_bytes!("../certs/kepware.der");
/// A self-signed certificate of a generic server (`O=otscan test`, SAN URI
/// `urn:line3:opcua:server`), made the same way.
pub const CERT_GENERIC: &[u8] = include_bytes!("../certs/generic-ua.der");

/// Security policy URIs.
pub mod policy {
    /// No security.
    pub const NONE: &str = "http://opcfoundation.org/UA/SecurityPolicy#None";
    /// Basic128Rsa15 (deprecated).
    pub const BASIC128RSA15: &str = "http://opcfoundation.org/UA/SecurityPolicy#Basic128Rsa15";
    /// Basic256 (deprecated).
    pub const BASIC256: &str = "http://opcfoundation.org/UA/SecurityPolicy#Basic256";
    /// Basic256Sha256.
    pub const BASIC256SHA256: &str = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";
    /// Aes128_Sha256_RsaOaep.
    pub const AES128_SHA256_RSAOAEP: &str =
        "http://opcfoundation.org/UA/SecurityPolicy#Aes128_Sha256_RsaOaep";
}

/// The UA-TCP binary transport profile.
pub const TRANSPORT_UATCP: &str =
    "http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary";

/// StatusCodes the server answers with (OPC 10000-6 Annex A).
pub mod status {
    /// Good.
    pub const GOOD: u32 = 0;
    /// The service is not supported.
    pub const BAD_SERVICE_UNSUPPORTED: u32 = 0x800B_0000;
    /// The security policy does not meet the server's requirements.
    pub const BAD_SECURITY_POLICY_REJECTED: u32 = 0x8055_0000;
    /// The server cannot take more connections.
    pub const BAD_TCP_SERVER_TOO_BUSY: u32 = 0x807D_0000;
    /// The secure channel is unknown.
    pub const BAD_TCP_SECURE_CHANNEL_UNKNOWN: u32 = 0x807F_0000;
    /// The endpoint URL is not one the server has.
    pub const BAD_TCP_ENDPOINT_URL_INVALID: u32 = 0x8083_0000;
    /// The message type is not valid.
    pub const BAD_TCP_MESSAGE_TYPE_INVALID: u32 = 0x807E_0000;
}

/// Binary encoding ids (namespace 0) of the bodies read and written.
pub mod service {
    /// ServiceFault.
    pub const SERVICE_FAULT: u32 = 397;
    /// FindServersRequest.
    pub const FIND_SERVERS_REQUEST: u32 = 422;
    /// FindServersResponse.
    pub const FIND_SERVERS_RESPONSE: u32 = 425;
    /// GetEndpointsRequest.
    pub const GET_ENDPOINTS_REQUEST: u32 = 428;
    /// GetEndpointsResponse.
    pub const GET_ENDPOINTS_RESPONSE: u32 = 431;
    /// OpenSecureChannelRequest.
    pub const OPEN_SECURE_CHANNEL_REQUEST: u32 = 446;
    /// OpenSecureChannelResponse.
    pub const OPEN_SECURE_CHANNEL_RESPONSE: u32 = 449;
    /// CloseSecureChannelRequest.
    pub const CLOSE_SECURE_CHANNEL_REQUEST: u32 = 452;
    /// CreateSessionRequest (never served).
    pub const CREATE_SESSION_REQUEST: u32 = 461;
}

/// One endpoint the server offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UaEndpoint {
    /// MessageSecurityMode: 1 None, 2 Sign, 3 SignAndEncrypt.
    pub security_mode: u32,
    /// SecurityPolicyUri.
    pub security_policy: String,
    /// UserTokenTypes accepted: 0 Anonymous, 1 UserName, 2 Certificate, 3 IssuedToken.
    pub token_types: Vec<u32>,
    /// SecurityLevel.
    pub security_level: u8,
}

impl UaEndpoint {
    /// An endpoint of `mode` under `policy` accepting `token_types`; the security level
    /// grows with the mode, as servers rate them.
    pub fn new(security_mode: u32, policy: &str, token_types: &[u32]) -> Self {
        UaEndpoint {
            security_mode,
            security_policy: policy.to_owned(),
            token_types: token_types.to_vec(),
            security_level: match security_mode {
                1 => 0,
                2 => 50,
                _ => 100,
            },
        }
    }
}

/// An application the server describes (itself, or another one FindServers names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UaApplication {
    /// ApplicationUri.
    pub application_uri: String,
    /// ProductUri.
    pub product_uri: String,
    /// ApplicationName text.
    pub application_name: String,
    /// ApplicationName locale (`None`: the mask leaves it out, as many servers do).
    pub locale: Option<String>,
    /// ApplicationType: 0 Server, 1 Client, 2 ClientAndServer, 3 DiscoveryServer.
    pub application_type: u32,
    /// DiscoveryUrls.
    pub discovery_urls: Vec<String>,
}

/// How the server treats the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpcuaBehaviour {
    /// Serves discovery.
    Serve,
    /// Answers the Hello with an `ERR` of this status and closes.
    ErrorOnHello(u32),
    /// Answers the OpenSecureChannel with `ERR` `Bad_SecurityPolicyRejected` and closes: a
    /// server whose SecurityPolicy None is switched off (e.g. an S7-1500 with only secure
    /// endpoints).
    RejectSecurityPolicyNone,
}

/// A simulated OPC UA server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpcuaServerConfig {
    /// The server's own application.
    pub application: UaApplication,
    /// The endpoint URL it advertises (often a host name, not the address asked).
    pub endpoint_url: String,
    /// The endpoints.
    pub endpoints: Vec<UaEndpoint>,
    /// The server certificate (DER) sent in every endpoint, also the None one.
    pub certificate: Option<Vec<u8>>,
    /// Other applications FindServers names.
    pub other_servers: Vec<UaApplication>,
    /// Handshake behaviour.
    pub behaviour: OpcuaBehaviour,
    /// When set, a Hello for any other endpoint URL gets `ERR` `Bad_TcpEndpointUrlInvalid`.
    pub required_endpoint_url: Option<String>,
    /// The server's send buffer (chunk size), at least 8192: larger replies are chunked.
    pub send_buffer_size: u32,
    /// FindServers gets a ServiceFault `Bad_ServiceUnsupported`.
    pub find_servers_fault: bool,
}

impl OpcuaServerConfig {
    /// A server called `name` with application URI `uri` and product URI `product`, a None
    /// endpoint for anonymous users, no certificate, 64 KiB buffers.
    pub fn new(uri: &str, product: &str, name: &str) -> Self {
        OpcuaServerConfig {
            application: UaApplication {
                application_uri: uri.to_owned(),
                product_uri: product.to_owned(),
                application_name: name.to_owned(),
                locale: Some("en".to_owned()),
                application_type: 0,
                discovery_urls: Vec::new(),
            },
            endpoint_url: "opc.tcp://localhost:4840".to_owned(),
            endpoints: vec![UaEndpoint::new(1, policy::NONE, &[0])],
            certificate: None,
            other_servers: Vec::new(),
            behaviour: OpcuaBehaviour::Serve,
            required_endpoint_url: None,
            send_buffer_size: 65_536,
            find_servers_fault: false,
        }
    }

    /// Sets the advertised endpoint URL (also the discovery URL).
    #[must_use]
    pub fn with_endpoint_url(mut self, url: &str) -> Self {
        self.endpoint_url = url.to_owned();
        self.application.discovery_urls = vec![url.to_owned()];
        self
    }

    /// Replaces the endpoints.
    #[must_use]
    pub fn with_endpoints(mut self, endpoints: Vec<UaEndpoint>) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// Sets the server certificate (DER).
    #[must_use]
    pub fn with_certificate(mut self, der: &[u8]) -> Self {
        self.certificate = Some(der.to_vec());
        self
    }

    /// Sets the ApplicationName locale (`None` leaves it out).
    #[must_use]
    pub fn with_locale(mut self, locale: Option<&str>) -> Self {
        self.application.locale = locale.map(str::to_owned);
        self
    }

    /// Sets the ApplicationType.
    #[must_use]
    pub fn with_application_type(mut self, kind: u32) -> Self {
        self.application.application_type = kind;
        self
    }

    /// Adds an application FindServers names.
    #[must_use]
    pub fn with_other_server(mut self, server: UaApplication) -> Self {
        self.other_servers.push(server);
        self
    }

    /// Sets the handshake behaviour.
    #[must_use]
    pub fn with_behaviour(mut self, behaviour: OpcuaBehaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    /// Requires this endpoint URL in the Hello.
    #[must_use]
    pub fn with_required_endpoint_url(mut self, url: &str) -> Self {
        self.required_endpoint_url = Some(url.to_owned());
        self
    }

    /// Sets the send buffer (chunk) size, at least 8192.
    #[must_use]
    pub fn with_send_buffer_size(mut self, size: u32) -> Self {
        self.send_buffer_size = size.max(8192);
        self
    }

    /// Makes FindServers fail with a ServiceFault.
    #[must_use]
    pub fn with_find_servers_fault(mut self) -> Self {
        self.find_servers_fault = true;
        self
    }
}

// ---------------------------------------------------------------------------
// Encoding (OPC 10000-6 §5.2): little-endian, Int32-length strings, -1 null.

/// Appends a UInt32.
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a String.
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

/// Appends a ByteString.
pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    out.extend_from_slice(b);
}

/// Appends a null String/ByteString/array.
pub(crate) fn put_null(out: &mut Vec<u8>) {
    put_u32(out, u32::MAX);
}

/// Appends a namespace-0 numeric NodeId in the numeric (7-byte) form, which servers may use
/// for any id (the scanner must read every form).
fn put_node_numeric(out: &mut Vec<u8>, id: u32) {
    out.push(0x02);
    out.extend_from_slice(&[0, 0]);
    put_u32(out, id);
}

/// Appends a namespace-0 NodeId in the four-byte form.
fn put_node(out: &mut Vec<u8>, id: u32) {
    out.push(0x01);
    out.push(0);
    out.extend_from_slice(&(id as u16).to_le_bytes());
}

/// Now as an OPC UA DateTime (100-ns ticks since 1601-01-01).
fn now_ticks() -> i64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64 * 10)
        .unwrap_or(0);
    unix + 116_444_736_000_000_000
}

/// A ResponseHeader answering `handle` with `result`.
pub(crate) fn response_header(out: &mut Vec<u8>, handle: u32, result: u32) {
    out.extend_from_slice(&now_ticks().to_le_bytes());
    put_u32(out, handle);
    put_u32(out, result);
    out.push(0x00); // no diagnostics
    put_u32(out, 0); // empty string table
    out.extend_from_slice(&[0x00, 0x00, 0x00]); // no additional header
}

/// A message of `kind` in one final chunk.
pub(crate) fn chunk(kind: &[u8; 3], chunk_type: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = kind.to_vec();
    out.push(chunk_type);
    put_u32(&mut out, (payload.len() + 8) as u32);
    out.extend_from_slice(payload);
    out
}

/// An `ERR` message.
pub fn error_message(status: u32, reason: &str) -> Vec<u8> {
    let mut payload = Vec::new();
    put_u32(&mut payload, status);
    put_str(&mut payload, reason);
    chunk(b"ERR", b'F', &payload)
}

/// An `ACK` with protocol version 0 and these buffer sizes, no message or chunk limit.
pub fn acknowledge(receive: u32, send: u32) -> Vec<u8> {
    let mut payload = Vec::new();
    for v in [0, receive, send, 0, 0] {
        put_u32(&mut payload, v);
    }
    chunk(b"ACK", b'F', &payload)
}

fn application(out: &mut Vec<u8>, app: &UaApplication) {
    put_str(out, &app.application_uri);
    put_str(out, &app.product_uri);
    match &app.locale {
        Some(locale) => {
            out.push(0x03);
            put_str(out, locale);
        }
        None => out.push(0x02),
    }
    put_str(out, &app.application_name);
    put_u32(out, app.application_type);
    put_null(out); // GatewayServerUri
    put_null(out); // DiscoveryProfileUri
    put_u32(out, app.discovery_urls.len() as u32);
    for url in &app.discovery_urls {
        put_str(out, url);
    }
}

/// The OpenSecureChannelResponse body answering `handle` on channel `channel_id`.
pub(crate) fn open_response(handle: u32, channel_id: u32) -> Vec<u8> {
    let mut body = Vec::new();
    put_node(&mut body, service::OPEN_SECURE_CHANNEL_RESPONSE);
    response_header(&mut body, handle, status::GOOD);
    put_u32(&mut body, 0); // server protocol version
    put_u32(&mut body, channel_id);
    put_u32(&mut body, 1); // token id
    body.extend_from_slice(&now_ticks().to_le_bytes());
    put_u32(&mut body, 60_000);
    put_bytes(&mut body, &[]); // server nonce
    body
}

/// The GetEndpointsResponse body.
pub(crate) fn endpoints_response(config: &OpcuaServerConfig, handle: u32) -> Vec<u8> {
    let mut body = Vec::new();
    put_node_numeric(&mut body, service::GET_ENDPOINTS_RESPONSE);
    response_header(&mut body, handle, status::GOOD);
    put_u32(&mut body, config.endpoints.len() as u32);
    for e in &config.endpoints {
        put_str(&mut body, &config.endpoint_url);
        application(&mut body, &config.application);
        match &config.certificate {
            Some(der) => put_bytes(&mut body, der),
            None => put_null(&mut body),
        }
        put_u32(&mut body, e.security_mode);
        put_str(&mut body, &e.security_policy);
        put_u32(&mut body, e.token_types.len() as u32);
        for (i, &t) in e.token_types.iter().enumerate() {
            put_str(&mut body, &format!("token-{i}"));
            put_u32(&mut body, t);
            put_null(&mut body);
            put_null(&mut body);
            // UserName tokens on a None endpoint are encrypted under a policy of their own.
            if t == 1 && e.security_mode == 1 {
                put_str(&mut body, policy::BASIC256SHA256);
            } else {
                put_null(&mut body);
            }
        }
        put_str(&mut body, TRANSPORT_UATCP);
        body.push(e.security_level);
    }
    body
}

/// The FindServersResponse body.
pub(crate) fn servers_response(config: &OpcuaServerConfig, handle: u32) -> Vec<u8> {
    let mut body = Vec::new();
    put_node(&mut body, service::FIND_SERVERS_RESPONSE);
    response_header(&mut body, handle, status::GOOD);
    put_u32(&mut body, 1 + config.other_servers.len() as u32);
    application(&mut body, &config.application);
    for other in &config.other_servers {
        application(&mut body, other);
    }
    body
}

/// A ServiceFault body.
pub(crate) fn service_fault(handle: u32, result: u32) -> Vec<u8> {
    let mut body = Vec::new();
    put_node(&mut body, service::SERVICE_FAULT);
    response_header(&mut body, handle, result);
    body
}

/// The `OPN` message (one final chunk) carrying `body`.
pub(crate) fn opn_message(channel_id: u32, request_id: u32, sequence: u32, body: &[u8]) -> Vec<u8> {
    let mut payload = Vec::new();
    put_u32(&mut payload, channel_id);
    put_str(&mut payload, policy::NONE);
    put_null(&mut payload);
    put_null(&mut payload);
    put_u32(&mut payload, sequence);
    put_u32(&mut payload, request_id);
    payload.extend_from_slice(body);
    chunk(b"OPN", b'F', &payload)
}

/// The `MSG` chunks carrying `body`, each at most `chunk_size` bytes.
pub(crate) fn msg_chunks(
    channel_id: u32,
    request_id: u32,
    sequence: &mut u32,
    body: &[u8],
    chunk_size: usize,
) -> Vec<u8> {
    // Header 8, security header 8, sequence header 8.
    let room = chunk_size.saturating_sub(24).max(1);
    let pieces: Vec<&[u8]> = if body.is_empty() {
        vec![body]
    } else {
        body.chunks(room).collect()
    };
    let mut out = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let mut payload = Vec::new();
        put_u32(&mut payload, channel_id);
        put_u32(&mut payload, 1); // token id
        put_u32(&mut payload, *sequence);
        *sequence = sequence.wrapping_add(1);
        put_u32(&mut payload, request_id);
        payload.extend_from_slice(piece);
        let kind = if i + 1 == pieces.len() { b'F' } else { b'C' };
        out.extend(chunk(b"MSG", kind, &payload));
    }
    out
}

// ---------------------------------------------------------------------------
// Decoding requests

/// A request as the server reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UaRequest {
    /// `HEL` with its endpoint URL.
    Hello { endpoint_url: String },
    /// `OPN` under a policy, with its request id and handle.
    Open {
        policy: String,
        request_id: u32,
        handle: u32,
    },
    /// `MSG` of a service on a channel.
    Service {
        channel_id: u32,
        request_id: u32,
        service: u32,
        handle: u32,
    },
    /// `CLO`.
    Close,
}

struct In<'a>(&'a [u8]);

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        match self.u32()? as i32 {
            -1 => Some(&[]),
            n if n < 0 => None,
            n => self.take(n as usize),
        }
    }

    fn node(&mut self) -> Option<u32> {
        match *self.take(1)?.first()? {
            0x00 => Some(u32::from(self.take(1)?[0])),
            0x01 => {
                let b = self.take(3)?;
                Some(u32::from(u16::from_le_bytes([b[1], b[2]])))
            }
            0x02 => {
                self.take(2)?;
                self.u32()
            }
            _ => None,
        }
    }

    /// The service id and the request handle (the header's third field).
    fn service_and_handle(&mut self) -> Option<(u32, u32)> {
        let service = self.node()?;
        self.node()?; // authentication token
        self.take(8)?; // timestamp
        Some((service, self.u32()?))
    }
}

/// Reads one chunk.
pub(crate) fn read_request(chunk: &[u8]) -> Option<UaRequest> {
    let (head, rest) = chunk.split_first_chunk::<8>()?;
    let mut r = In(rest);
    match &head[..3] {
        b"HEL" => {
            r.take(20)?;
            let url = r.string()?;
            Some(UaRequest::Hello {
                endpoint_url: String::from_utf8_lossy(url).into_owned(),
            })
        }
        b"OPN" => {
            r.u32()?;
            let policy = String::from_utf8_lossy(r.string()?).into_owned();
            r.string()?;
            r.string()?;
            r.u32()?;
            let request_id = r.u32()?;
            let (_, handle) = r.service_and_handle()?;
            Some(UaRequest::Open {
                policy,
                request_id,
                handle,
            })
        }
        b"MSG" => {
            let channel_id = r.u32()?;
            r.u32()?;
            r.u32()?;
            let request_id = r.u32()?;
            let (service, handle) = r.service_and_handle()?;
            Some(UaRequest::Service {
                channel_id,
                request_id,
                service,
                handle,
            })
        }
        b"CLO" => Some(UaRequest::Close),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// The device

/// A simulated OPC UA server.
#[derive(Debug)]
pub struct OpcuaServer;

impl OpcuaServer {
    /// Starts serving `config` on TCP `addr` (loopback only; port 0 picks a free port), one
    /// conversation per connection, recording every received chunk in `recorder`.
    ///
    /// # Errors
    /// A non-loopback address or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: OpcuaServerConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let listener = bind_loopback(addr)?;
        let local_addr = listener.local_addr()?;
        let config = Arc::new(config);
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            let mut next_channel = 1u32;
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            let Ok(stream) = recorder.wrap_tcp(stream, Framing::UaTcp) else {
                                continue;
                            };
                            next_channel = next_channel.wrapping_add(1);
                            connections.spawn(serve_connection(stream, config.clone(), next_channel));
                        }
                        Err(err) => {
                            tracing::debug!(%local_addr, %err, "opcua fixture accept failed");
                            tokio::time::sleep(ACCEPT_RETRY).await;
                        }
                    },
                }
            }
        });
        Ok(DeviceHandle::new(local_addr, cancel, task))
    }
}

/// Reads one whole chunk; `None` at the end of the stream or on an implausible header.
async fn read_chunk(stream: &mut RecordingStream<TcpStream>) -> Option<Vec<u8>> {
    let mut header = [0u8; 8];
    stream.read_exact(&mut header).await.ok()?;
    let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if !(8..=MAX_CHUNK).contains(&size) {
        return None;
    }
    let mut chunk = vec![0u8; size];
    chunk[..8].copy_from_slice(&header);
    stream.read_exact(&mut chunk[8..]).await.ok()?;
    Some(chunk)
}

/// Serves one connection until the peer leaves, closes the channel or breaks the order.
async fn serve_connection(
    mut stream: RecordingStream<TcpStream>,
    config: Arc<OpcuaServerConfig>,
    channel_id: u32,
) {
    let mut hello = false;
    let mut open = false;
    let mut sequence = 1u32;
    while let Some(chunk) = read_chunk(&mut stream).await {
        let (reply, close) = match (read_request(&chunk), hello, open) {
            (Some(UaRequest::Hello { endpoint_url }), false, _) => {
                hello = true;
                match config.behaviour {
                    OpcuaBehaviour::ErrorOnHello(status) => (
                        error_message(status, "server cannot take the connection"),
                        true,
                    ),
                    _ if config
                        .required_endpoint_url
                        .as_ref()
                        .is_some_and(|url| *url != endpoint_url) =>
                    {
                        (
                            error_message(
                                status::BAD_TCP_ENDPOINT_URL_INVALID,
                                "EndpointUrl does not match",
                            ),
                            true,
                        )
                    }
                    _ => (acknowledge(65_536, config.send_buffer_size), false),
                }
            }
            (
                Some(UaRequest::Open {
                    policy,
                    request_id,
                    handle,
                }),
                true,
                false,
            ) => {
                if config.behaviour == OpcuaBehaviour::RejectSecurityPolicyNone
                    || policy != policy::NONE
                {
                    (
                        error_message(
                            status::BAD_SECURITY_POLICY_REJECTED,
                            "SecurityPolicy None is not allowed",
                        ),
                        true,
                    )
                } else {
                    open = true;
                    let reply = opn_message(
                        channel_id,
                        request_id,
                        sequence,
                        &open_response(handle, channel_id),
                    );
                    sequence += 1;
                    (reply, false)
                }
            }
            (
                Some(UaRequest::Service {
                    channel_id: asked,
                    request_id,
                    service,
                    handle,
                }),
                true,
                true,
            ) if asked == channel_id => {
                let body = match service {
                    service::GET_ENDPOINTS_REQUEST => endpoints_response(&config, handle),
                    service::FIND_SERVERS_REQUEST if !config.find_servers_fault => {
                        servers_response(&config, handle)
                    }
                    _ => service_fault(handle, status::BAD_SERVICE_UNSUPPORTED),
                };
                let chunks = msg_chunks(
                    channel_id,
                    request_id,
                    &mut sequence,
                    &body,
                    config.send_buffer_size as usize,
                );
                (chunks, false)
            }
            (Some(UaRequest::Close), _, true) => {
                let _ = stream.shutdown().await;
                return;
            }
            (Some(UaRequest::Service { .. } | UaRequest::Close), _, _) => (
                error_message(status::BAD_TCP_SECURE_CHANNEL_UNKNOWN, "no such channel"),
                true,
            ),
            _ => (
                error_message(status::BAD_TCP_MESSAGE_TYPE_INVALID, "unexpected message"),
                true,
            ),
        };
        if stream.write_all(&reply).await.is_err() || close {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_bodies_go_in_intermediate_chunks() {
        let body = vec![7u8; 20_000];
        let mut sequence = 1;
        let chunks = msg_chunks(3, 9, &mut sequence, &body, 8192);
        let mut at = 0;
        let mut kinds = Vec::new();
        while at < chunks.len() {
            let size = u32::from_le_bytes(chunks[at + 4..at + 8].try_into().unwrap()) as usize;
            assert!(size <= 8192);
            kinds.push(chunks[at + 3]);
            at += size;
        }
        assert_eq!(kinds, b"CCF");
        assert_eq!(sequence, 4);
    }

    #[test]
    fn requests_are_read_by_hand() {
        let mut hel = vec![0; 20];
        put_str(&mut hel, "opc.tcp://127.0.0.1:4840");
        assert_eq!(
            read_request(&chunk(b"HEL", b'F', &hel)),
            Some(UaRequest::Hello {
                endpoint_url: "opc.tcp://127.0.0.1:4840".to_owned()
            })
        );
        assert_eq!(read_request(b"XYZF\x08\0\0\0"), None);
    }
}
