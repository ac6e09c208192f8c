//! OPC UA over UA-TCP (`opc.tcp`, TCP 4840) identification codec (sans IO).
//!
//! Five requests exist and nothing else can be encoded ([`Request`]): the UA-TCP Hello;
//! OpenSecureChannel with SecurityPolicy None and MessageSecurityMode None (no
//! certificate, no signature, no encryption); GetEndpoints and FindServers (the discovery
//! services that OPC 10000-4 §5.4 keeps open to any client without a session); and
//! CloseSecureChannel. No session service (CreateSession, ActivateSession) and no
//! attribute service (Read, Write, Call...) can be spelled: the only service NodeIds the
//! encoder writes are the four in [`node_id`].
//!
//! Framing (OPC 10000-6 §7.1.2): every message starts with a 3-byte type (`HEL`, `ACK`,
//! `ERR`, `OPN`, `MSG`, `CLO`), a chunk type (`F` final, `C` intermediate, `A` abort) and
//! a UInt32 message size, header included. OPN carries an asymmetric security header (the
//! policy URI, sender certificate, receiver thumbprint), MSG and CLO a symmetric one
//! (secure channel id, token id); both then a sequence header (sequence number, request
//! id) and the body: the ExpandedNodeId of the body's binary encoding and its fields.
//! Replies are matched to requests by request id ([`frame`]); a message in intermediate
//! chunks is reassembled, up to [`MAX_CHUNKS`] chunks and [`MAX_REPLY_LEN`] bytes; an
//! abort chunk is the server's error, like ERR.
//!
//! Byte order: everything is little-endian.

use std::net::IpAddr;

use super::binary::{
    push_node_id, push_null, push_string, push_u32, BinaryError, LocalizedText, Reader,
};
use crate::protocols::wire::FrameCheck;
use crate::record::fields::DeviceText;

/// Largest reply read (all chunks of one message): GetEndpoints answers carry the server
/// certificate in every endpoint, a few KiB each.
pub const MAX_REPLY_LEN: usize = 256 * 1024;
/// Most chunks of one message reassembled; more is an error.
pub const MAX_CHUNKS: usize = 64;
/// UA-TCP protocol version otscan speaks (OPC 10000-6 §7.1.2.3).
pub const PROTOCOL_VERSION: u32 = 0;
/// The buffer size otscan offers in its Hello (send and receive; 8192 is the minimum).
pub const BUFFER_SIZE: u32 = 65_536;
/// Secure channel lifetime otscan asks for, in milliseconds: the channel is closed at
/// once, and a server that misses the close frees it after this.
pub const REQUESTED_LIFETIME_MS: u32 = 60_000;
/// Timeout hint sent in every request header, in milliseconds.
pub const TIMEOUT_HINT_MS: u32 = 10_000;
/// The URI of SecurityPolicy None, the only policy otscan uses.
pub const SECURITY_POLICY_NONE: &str = "http://opcfoundation.org/UA/SecurityPolicy#None";
/// Length of the UA-TCP message header (type, chunk type, size).
pub const HEADER_LEN: usize = 8;

/// NodeIds (namespace 0) of the binary encodings of the messages otscan sends and reads
/// (OPC 10000-6 Annex A, NodeIds.csv `*_Encoding_DefaultBinary`).
pub mod node_id {
    /// FindServersRequest.
    pub const FIND_SERVERS_REQUEST: u16 = 422;
    /// FindServersResponse.
    pub const FIND_SERVERS_RESPONSE: u16 = 425;
    /// GetEndpointsRequest.
    pub const GET_ENDPOINTS_REQUEST: u16 = 428;
    /// GetEndpointsResponse.
    pub const GET_ENDPOINTS_RESPONSE: u16 = 431;
    /// OpenSecureChannelRequest.
    pub const OPEN_SECURE_CHANNEL_REQUEST: u16 = 446;
    /// OpenSecureChannelResponse.
    pub const OPEN_SECURE_CHANNEL_RESPONSE: u16 = 449;
    /// CloseSecureChannelRequest.
    pub const CLOSE_SECURE_CHANNEL_REQUEST: u16 = 452;
    /// ServiceFault: a service's failure, with only a response header.
    pub const SERVICE_FAULT: u16 = 397;
}

/// The endpoint URL put in the Hello and the discovery requests:
/// `opc.tcp://<address>:<port>`, built from the device's address only (no free text).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointUrl(String);

impl EndpointUrl {
    /// `opc.tcp://ip:port` (IPv6 in brackets).
    pub fn new(ip: IpAddr, port: u16) -> Self {
        EndpointUrl(match ip {
            IpAddr::V4(v4) => format!("opc.tcp://{v4}:{port}"),
            IpAddr::V6(v6) => format!("opc.tcp://[{v6}]:{port}"),
        })
    }

    /// The URL text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A secure channel the server opened: the ids every later message on it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SecureChannel {
    /// SecureChannelId the server assigned.
    pub channel_id: u32,
    /// TokenId of the channel's security token.
    pub token_id: u32,
}

/// The OPC UA requests otscan can send. A Hello, an OpenSecureChannel that can only ask
/// for SecurityPolicy None / mode None, the GetEndpoints and FindServers discovery
/// services, and CloseSecureChannel. No session, read, write or method call can be
/// spelled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Request {
    /// UA-TCP Hello with otscan's buffer sizes and the endpoint URL.
    Hello {
        /// Endpoint URL (`opc.tcp://address:port`).
        endpoint_url: EndpointUrl,
    },
    /// OpenSecureChannel (Issue), SecurityPolicy None, MessageSecurityMode None, no
    /// certificate, an empty nonce, [`REQUESTED_LIFETIME_MS`].
    OpenSecureChannel,
    /// GetEndpoints for the endpoint URL, no locale or profile filter.
    GetEndpoints {
        /// The channel opened.
        channel: SecureChannel,
        /// Endpoint URL asked about.
        endpoint_url: EndpointUrl,
    },
    /// FindServers for the endpoint URL, no locale or server URI filter.
    FindServers {
        /// The channel opened.
        channel: SecureChannel,
        /// Endpoint URL asked about.
        endpoint_url: EndpointUrl,
    },
    /// CloseSecureChannel: the server answers nothing and closes the channel.
    CloseSecureChannel {
        /// The channel to close.
        channel: SecureChannel,
    },
}

/// Encodes `request`. `correlation` is the sequence number, the request id and the
/// request handle of OPN, MSG and CLO messages (a Hello carries none): consecutive
/// correlations give the consecutive sequence numbers a secure channel requires.
pub fn encode(request: &Request, correlation: u32) -> Vec<u8> {
    match request {
        Request::Hello { endpoint_url } => {
            let mut body = Vec::new();
            push_u32(&mut body, PROTOCOL_VERSION);
            push_u32(&mut body, BUFFER_SIZE); // ReceiveBufferSize
            push_u32(&mut body, BUFFER_SIZE); // SendBufferSize
            push_u32(&mut body, MAX_REPLY_LEN as u32); // MaxMessageSize
            push_u32(&mut body, MAX_CHUNKS as u32); // MaxChunkCount
            push_string(&mut body, endpoint_url.as_str());
            message(b"HEL", &[], &body)
        }
        Request::OpenSecureChannel => {
            let mut security = Vec::new();
            push_u32(&mut security, 0); // SecureChannelId: a new channel
            push_string(&mut security, SECURITY_POLICY_NONE);
            push_null(&mut security); // SenderCertificate
            push_null(&mut security); // ReceiverCertificateThumbprint
            let mut body = service_head(node_id::OPEN_SECURE_CHANNEL_REQUEST, correlation);
            push_u32(&mut body, PROTOCOL_VERSION); // ClientProtocolVersion
            push_u32(&mut body, 0); // RequestType: Issue
            push_u32(&mut body, 1); // SecurityMode: None
            push_u32(&mut body, 0); // ClientNonce: empty ByteString
            push_u32(&mut body, REQUESTED_LIFETIME_MS);
            message(b"OPN", &security, &sequenced(correlation, &body))
        }
        Request::GetEndpoints {
            channel,
            endpoint_url,
        } => {
            let mut body = service_head(node_id::GET_ENDPOINTS_REQUEST, correlation);
            push_string(&mut body, endpoint_url.as_str());
            push_u32(&mut body, 0); // LocaleIds: none
            push_u32(&mut body, 0); // ProfileUris: none
            message(b"MSG", &symmetric(channel), &sequenced(correlation, &body))
        }
        Request::FindServers {
            channel,
            endpoint_url,
        } => {
            let mut body = service_head(node_id::FIND_SERVERS_REQUEST, correlation);
            push_string(&mut body, endpoint_url.as_str());
            push_u32(&mut body, 0); // LocaleIds: none
            push_u32(&mut body, 0); // ServerUris: none
            message(b"MSG", &symmetric(channel), &sequenced(correlation, &body))
        }
        Request::CloseSecureChannel { channel } => {
            let body = service_head(node_id::CLOSE_SECURE_CHANNEL_REQUEST, correlation);
            message(b"CLO", &symmetric(channel), &sequenced(correlation, &body))
        }
    }
}

/// A whole final chunk: type, `F`, size, then the parts.
fn message(kind: &[u8; 3], security: &[u8], rest: &[u8]) -> Vec<u8> {
    let size = HEADER_LEN + security.len() + rest.len();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(kind);
    out.push(b'F');
    push_u32(&mut out, size as u32);
    out.extend_from_slice(security);
    out.extend_from_slice(rest);
    out
}

/// The symmetric security header: channel id and token id.
fn symmetric(channel: &SecureChannel) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    push_u32(&mut out, channel.channel_id);
    push_u32(&mut out, channel.token_id);
    out
}

/// The sequence header (sequence number and request id, both `correlation`) and the body.
fn sequenced(correlation: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + body.len());
    push_u32(&mut out, correlation);
    push_u32(&mut out, correlation);
    out.extend_from_slice(body);
    out
}

/// The body's type NodeId and a RequestHeader: no authentication token, timestamp 0,
/// request handle `handle`, no diagnostics, no audit entry, [`TIMEOUT_HINT_MS`], no
/// additional header.
fn service_head(type_id: u16, handle: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    push_node_id(&mut out, type_id);
    out.extend_from_slice(&[0x00, 0x00]); // AuthenticationToken: null NodeId
    out.extend_from_slice(&[0; 8]); // Timestamp
    push_u32(&mut out, handle); // RequestHandle
    push_u32(&mut out, 0); // ReturnDiagnostics
    push_null(&mut out); // AuditEntryId
    push_u32(&mut out, TIMEOUT_HINT_MS);
    out.extend_from_slice(&[0x00, 0x00, 0x00]); // AdditionalHeader: null ExtensionObject
    out
}

/// Why a reply is not a usable OPC UA message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A value of the binary encoding is malformed or truncated.
    #[error(transparent)]
    Binary(#[from] BinaryError),
    /// A message type that UA-TCP does not define.
    #[error("message type {0:?} is not a UA-TCP message (HEL, ACK, ERR, OPN, MSG, CLO)")]
    MessageType(String),
    /// A chunk type other than `F`, `C` or `A`.
    #[error("chunk type {0:#04x} is not F, C or A")]
    ChunkType(u8),
    /// A message size below the header length or above [`MAX_REPLY_LEN`].
    #[error("message size {0} is below the 8-byte header or above the {MAX_REPLY_LEN}-byte cap")]
    MessageSize(u32),
    /// More than [`MAX_CHUNKS`] intermediate chunks.
    #[error("more than {MAX_CHUNKS} chunks in one message")]
    TooManyChunks,
    /// A chunk of another message type or request id between a message's chunks.
    #[error("chunk {index} of the message is a {kind} chunk of another message")]
    ChunkMismatch {
        /// Index of the chunk (0 is the first).
        index: usize,
        /// Its message type.
        kind: String,
    },
    /// The message ends before its final chunk.
    #[error("the message ends after an intermediate chunk, without its final chunk")]
    MissingFinalChunk,
    /// A reply of another kind than the request asks for.
    #[error("expected {expected}, got {got}")]
    Unexpected {
        /// What the request asks for.
        expected: &'static str,
        /// What came.
        got: String,
    },
    /// The message body's type is not one otscan reads.
    #[error("body type {0} is not a response otscan reads")]
    UnknownBody(String),
}

impl From<crate::protocols::wire::Truncated> for ParseError {
    fn from(t: crate::protocols::wire::Truncated) -> Self {
        ParseError::Binary(t.into())
    }
}

/// The parts of a UA-TCP message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    kind: [u8; 3],
    chunk: u8,
    size: usize,
}

const KNOWN_TYPES: [&[u8; 3]; 7] = [b"HEL", b"ACK", b"ERR", b"OPN", b"MSG", b"CLO", b"RHE"];

fn type_name(kind: &[u8]) -> String {
    String::from_utf8_lossy(kind).into_owned()
}

/// Reads and checks a header at the start of `buf`; `Ok(None)` when fewer than 8 bytes
/// are there but they can still begin a message.
fn header(buf: &[u8]) -> Result<Option<Header>, ParseError> {
    let seen = buf.len().min(3);
    if !KNOWN_TYPES.iter().any(|t| t[..seen] == buf[..seen]) {
        return Err(ParseError::MessageType(type_name(&buf[..seen])));
    }
    if buf.len() > 3 && !matches!(buf[3], b'F' | b'C' | b'A') {
        return Err(ParseError::ChunkType(buf[3]));
    }
    let Some((head, _)) = buf.split_first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if (size as usize) < HEADER_LEN || size as usize > MAX_REPLY_LEN {
        return Err(ParseError::MessageSize(size));
    }
    Ok(Some(Header {
        kind: [head[0], head[1], head[2]],
        chunk: head[3],
        size: size as usize,
    }))
}

/// The request id of a whole OPN, MSG or CLO chunk; `None` for other types.
fn request_id(chunk: &[u8], kind: &[u8; 3]) -> Result<Option<u32>, ParseError> {
    let mut r = Reader::new(chunk.get(HEADER_LEN..).unwrap_or_default());
    match kind {
        b"OPN" => {
            r.u32("secure channel id")?;
            r.byte_string("security policy URI")?;
            r.byte_string("sender certificate")?;
            r.byte_string("receiver certificate thumbprint")?;
        }
        b"MSG" | b"CLO" => {
            r.u32("secure channel id")?;
            r.u32("token id")?;
        }
        _ => return Ok(None),
    }
    r.u32("sequence number")?;
    Ok(Some(r.u32("request id")?))
}

/// The framing of UA-TCP replies for the session: whole messages (all their chunks),
/// matched to the request by request id (`correlation`); ACK and ERR answer whatever was
/// sent. Bytes that cannot begin a UA-TCP message are [`FrameCheck::Invalid`].
pub fn frame(buf: &[u8], correlation: u32) -> FrameCheck<ParseError> {
    match frame_len(buf) {
        Ok(None) => FrameCheck::NeedMore,
        Ok(Some((len, id))) => FrameCheck::Complete {
            len,
            matches: id.is_none_or(|id| id == correlation),
        },
        Err(e) => FrameCheck::Invalid(e),
    }
}

/// The framing for a request no reply answers (CloseSecureChannel): complete at once,
/// whatever is buffered.
pub fn frame_nothing(_buf: &[u8], _correlation: u32) -> FrameCheck<ParseError> {
    FrameCheck::Complete {
        len: 0,
        matches: true,
    }
}

/// Length of the whole message at the front of `buf` (every chunk up to the final or
/// abort chunk) and its request id; `Ok(None)` when more bytes are needed.
fn frame_len(buf: &[u8]) -> Result<Option<(usize, Option<u32>)>, ParseError> {
    let Some(first) = header(buf)? else {
        return Ok(None);
    };
    if buf.len() < first.size {
        return Ok(None);
    }
    let id = request_id(&buf[..first.size], &first.kind)?;
    let mut end = first.size;
    let mut chunk = first.chunk;
    let mut index = 0;
    while chunk == b'C' {
        index += 1;
        if index >= MAX_CHUNKS {
            return Err(ParseError::TooManyChunks);
        }
        let Some(next) = header(&buf[end..])? else {
            return Ok(None);
        };
        if buf.len() < end + next.size {
            return Ok(None);
        }
        let next_id = request_id(&buf[end..end + next.size], &next.kind)?;
        if next.kind != first.kind || next_id != id {
            return Err(ParseError::ChunkMismatch {
                index,
                kind: type_name(&next.kind),
            });
        }
        end += next.size;
        chunk = next.chunk;
    }
    Ok(Some((end, id)))
}

/// The Acknowledge: what the server accepts for this connection (OPC 10000-6 §7.1.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acknowledge {
    /// UA-TCP protocol version of the server.
    pub protocol_version: u32,
    /// Largest chunk the server receives, bytes.
    pub receive_buffer_size: u32,
    /// Largest chunk the server sends, bytes.
    pub send_buffer_size: u32,
    /// Largest message the server accepts (0: no limit), bytes.
    pub max_message_size: u32,
    /// Most chunks in one message (0: no limit).
    pub max_chunk_count: u32,
}

/// An Error message (ERR) or an abort chunk: a status code and a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMessage {
    /// The StatusCode (see [`status_name`]).
    pub status: u32,
    /// The server's reason text.
    pub reason: Option<DeviceText>,
}

/// The common header of every service response (OPC 10000-4 §7.33).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHeader {
    /// Server time of the response: 100-ns ticks since 1601-01-01 UTC.
    pub timestamp: i64,
    /// The request handle it answers.
    pub request_handle: u32,
    /// The service's StatusCode.
    pub service_result: u32,
}

/// An OpenSecureChannelResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSecureChannelResponse {
    /// The response header.
    pub header: ResponseHeader,
    /// The server's protocol version.
    pub server_protocol_version: u32,
    /// The channel and token ids.
    pub channel: SecureChannel,
    /// The token lifetime the server granted, milliseconds.
    pub revised_lifetime: u32,
    /// The security policy URI of the reply's asymmetric header.
    pub security_policy_uri: Option<DeviceText>,
}

/// An ApplicationDescription (OPC 10000-4 §7.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplicationDescription {
    /// ApplicationUri.
    pub application_uri: Option<DeviceText>,
    /// ProductUri.
    pub product_uri: Option<DeviceText>,
    /// ApplicationName.
    pub application_name: LocalizedText,
    /// ApplicationType (see [`application_type_name`]).
    pub application_type: u32,
    /// GatewayServerUri.
    pub gateway_server_uri: Option<DeviceText>,
    /// DiscoveryProfileUri.
    pub discovery_profile_uri: Option<DeviceText>,
    /// DiscoveryUrls.
    pub discovery_urls: Vec<DeviceText>,
}

/// A UserTokenPolicy (OPC 10000-4 §7.37).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserTokenPolicy {
    /// PolicyId.
    pub policy_id: Option<DeviceText>,
    /// UserTokenType (see [`user_token_type_name`]).
    pub token_type: u32,
    /// IssuedTokenType.
    pub issued_token_type: Option<DeviceText>,
    /// IssuerEndpointUrl.
    pub issuer_endpoint_url: Option<DeviceText>,
    /// SecurityPolicyUri for the token.
    pub security_policy_uri: Option<DeviceText>,
}

/// An EndpointDescription (OPC 10000-4 §7.14).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndpointDescription {
    /// EndpointUrl.
    pub endpoint_url: Option<DeviceText>,
    /// The server's ApplicationDescription.
    pub server: ApplicationDescription,
    /// ServerCertificate (DER), when sent.
    pub server_certificate: Option<Vec<u8>>,
    /// MessageSecurityMode (see [`security_mode_name`]).
    pub security_mode: u32,
    /// SecurityPolicyUri.
    pub security_policy_uri: Option<DeviceText>,
    /// UserIdentityTokens.
    pub user_identity_tokens: Vec<UserTokenPolicy>,
    /// TransportProfileUri.
    pub transport_profile_uri: Option<DeviceText>,
    /// SecurityLevel (higher is more secure, server-relative).
    pub security_level: u8,
}

/// What a reply message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// ACK to the Hello.
    Acknowledge(Acknowledge),
    /// ERR: the server refused and closes the connection.
    Error(ErrorMessage),
    /// An abort chunk (`A`) ending a message.
    Abort(ErrorMessage),
    /// OpenSecureChannelResponse.
    OpenSecureChannel(OpenSecureChannelResponse),
    /// GetEndpointsResponse.
    GetEndpoints {
        /// Its response header.
        header: ResponseHeader,
        /// The endpoints.
        endpoints: Vec<EndpointDescription>,
    },
    /// FindServersResponse.
    FindServers {
        /// Its response header.
        header: ResponseHeader,
        /// The servers.
        servers: Vec<ApplicationDescription>,
    },
    /// ServiceFault: the service failed with the header's service result.
    ServiceFault(ResponseHeader),
}

impl Message {
    /// A short name of the message's kind, for errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Acknowledge(_) => "Acknowledge",
            Message::Error(_) => "Error",
            Message::Abort(_) => "abort chunk",
            Message::OpenSecureChannel(_) => "OpenSecureChannelResponse",
            Message::GetEndpoints { .. } => "GetEndpointsResponse",
            Message::FindServers { .. } => "FindServersResponse",
            Message::ServiceFault(_) => "ServiceFault",
        }
    }
}

/// A parsed reply: the message and the oddities noticed while decoding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The message.
    pub message: Message,
    /// Oddities that did not stop decoding.
    pub warnings: Vec<String>,
}

/// Parses one whole reply message (all its chunks, as [`frame`] delimits it).
pub fn parse(bytes: &[u8]) -> Result<Reply, ParseError> {
    let mut warnings = Vec::new();
    let first = header(bytes)?.ok_or(BinaryError::Truncated {
        what: "message header",
        needed: HEADER_LEN,
        available: bytes.len(),
    })?;
    if bytes.len() < first.size {
        return Err(BinaryError::Truncated {
            what: "message",
            needed: first.size,
            available: bytes.len(),
        }
        .into());
    }
    if bytes.len() > first.size && first.chunk == b'F' {
        warnings.push(format!(
            "{} bytes after the message ignored",
            bytes.len() - first.size
        ));
    }
    let single = &bytes[HEADER_LEN..first.size];
    match &first.kind {
        b"ACK" => return parse_ack(single).map(|a| reply(Message::Acknowledge(a), warnings)),
        b"ERR" => return parse_error(single).map(|e| reply(Message::Error(e), warnings)),
        b"OPN" | b"MSG" => {}
        other => {
            return Err(ParseError::Unexpected {
                expected: "ACK, ERR, OPN or MSG",
                got: type_name(other),
            })
        }
    }
    let mut body = Vec::new();
    let mut policy = None;
    let mut channel_id;
    let mut offset = 0;
    let mut index = 0;
    loop {
        let Some(h) = header(&bytes[offset..])? else {
            return Err(ParseError::MissingFinalChunk);
        };
        if h.kind != first.kind {
            return Err(ParseError::ChunkMismatch {
                index,
                kind: type_name(&h.kind),
            });
        }
        let chunk = bytes
            .get(offset + HEADER_LEN..offset + h.size)
            .ok_or(ParseError::MissingFinalChunk)?;
        let mut r = Reader::new(chunk);
        channel_id = r.u32("secure channel id")?;
        if h.kind == *b"OPN" {
            policy = r.string("security policy URI")?;
            r.byte_string("sender certificate")?;
            r.byte_string("receiver certificate thumbprint")?;
        } else {
            r.u32("token id")?;
        }
        r.u32("sequence number")?;
        r.u32("request id")?;
        let rest = r.bytes(r.remaining(), "chunk body")?;
        if h.chunk == b'A' {
            let error = parse_error(rest)?;
            return Ok(reply(Message::Abort(error), warnings));
        }
        body.extend_from_slice(rest);
        offset += h.size;
        index += 1;
        if h.chunk == b'F' {
            break;
        }
        if index >= MAX_CHUNKS {
            return Err(ParseError::TooManyChunks);
        }
    }
    if let Some(p) = &policy {
        if p.text != SECURITY_POLICY_NONE {
            warnings.push(format!(
                "OpenSecureChannel reply under security policy {}, not None",
                p.text
            ));
        }
    }
    let message = parse_body(&body, &mut warnings)?;
    let message = match message {
        Message::OpenSecureChannel(mut open) => {
            if open.channel.channel_id != channel_id {
                warnings.push(format!(
                    "security token names channel {}, the message header channel {channel_id}",
                    open.channel.channel_id
                ));
            }
            open.security_policy_uri = policy;
            Message::OpenSecureChannel(open)
        }
        other => other,
    };
    Ok(reply(message, warnings))
}

fn reply(message: Message, warnings: Vec<String>) -> Reply {
    Reply { message, warnings }
}

fn parse_ack(bytes: &[u8]) -> Result<Acknowledge, ParseError> {
    let mut r = Reader::new(bytes);
    Ok(Acknowledge {
        protocol_version: r.u32("ACK protocol version")?,
        receive_buffer_size: r.u32("ACK receive buffer size")?,
        send_buffer_size: r.u32("ACK send buffer size")?,
        max_message_size: r.u32("ACK max message size")?,
        max_chunk_count: r.u32("ACK max chunk count")?,
    })
}

fn parse_error(bytes: &[u8]) -> Result<ErrorMessage, ParseError> {
    let mut r = Reader::new(bytes);
    let status = r.u32("error status code")?;
    // A reason that runs past the message is kept out rather than failing the error.
    let reason = r.string("error reason").ok().flatten();
    Ok(ErrorMessage { status, reason })
}

fn response_header(r: &mut Reader<'_>) -> Result<ResponseHeader, ParseError> {
    let timestamp = r.i64("response timestamp")?;
    let request_handle = r.u32("request handle")?;
    let service_result = r.u32("service result")?;
    r.skip_diagnostic_info("service diagnostics")?;
    r.string_array("string table")?;
    r.skip_extension_object("additional header")?;
    Ok(ResponseHeader {
        timestamp,
        request_handle,
        service_result,
    })
}

/// Smallest encoded ApplicationDescription: five null strings or empty texts, a mask
/// byte, the type and a null array.
const MIN_APPLICATION_LEN: usize = 4 * 4 + 1 + 4 + 4;
/// Smallest encoded EndpointDescription.
const MIN_ENDPOINT_LEN: usize = 4 + MIN_APPLICATION_LEN + 4 + 4 + 4 + 4 + 4 + 1;
/// Smallest encoded UserTokenPolicy.
const MIN_TOKEN_LEN: usize = 4 * 5;

fn parse_body(body: &[u8], warnings: &mut Vec<String>) -> Result<Message, ParseError> {
    let mut r = Reader::new(body);
    let type_id = r.expanded_node_id("body type id")?;
    let id = type_id
        .ns0()
        .and_then(|id| u16::try_from(id).ok())
        .ok_or_else(|| ParseError::UnknownBody(type_id.to_string()))?;
    let message = match id {
        node_id::SERVICE_FAULT => Message::ServiceFault(response_header(&mut r)?),
        node_id::OPEN_SECURE_CHANNEL_RESPONSE => {
            let header = response_header(&mut r)?;
            let server_protocol_version = r.u32("server protocol version")?;
            let channel_id = r.u32("token channel id")?;
            let token_id = r.u32("token id")?;
            r.i64("token created at")?;
            let revised_lifetime = r.u32("revised lifetime")?;
            r.byte_string("server nonce")?;
            Message::OpenSecureChannel(OpenSecureChannelResponse {
                header,
                server_protocol_version,
                channel: SecureChannel {
                    channel_id,
                    token_id,
                },
                revised_lifetime,
                security_policy_uri: None,
            })
        }
        node_id::GET_ENDPOINTS_RESPONSE => {
            let header = response_header(&mut r)?;
            let count = r.array_len("endpoints", MIN_ENDPOINT_LEN)?;
            let mut endpoints = Vec::with_capacity(count.min(64));
            for _ in 0..count {
                endpoints.push(endpoint(&mut r)?);
            }
            Message::GetEndpoints { header, endpoints }
        }
        node_id::FIND_SERVERS_RESPONSE => {
            let header = response_header(&mut r)?;
            let count = r.array_len("servers", MIN_APPLICATION_LEN)?;
            let mut servers = Vec::with_capacity(count.min(64));
            for _ in 0..count {
                servers.push(application(&mut r)?);
            }
            Message::FindServers { header, servers }
        }
        _ => return Err(ParseError::UnknownBody(type_id.to_string())),
    };
    if r.remaining() > 0 {
        warnings.push(format!(
            "{} bytes after the {} ignored",
            r.remaining(),
            message.kind()
        ));
    }
    Ok(message)
}

fn application(r: &mut Reader<'_>) -> Result<ApplicationDescription, ParseError> {
    Ok(ApplicationDescription {
        application_uri: r.string("application URI")?,
        product_uri: r.string("product URI")?,
        application_name: r.localized_text("application name")?,
        application_type: r.u32("application type")?,
        gateway_server_uri: r.string("gateway server URI")?,
        discovery_profile_uri: r.string("discovery profile URI")?,
        discovery_urls: r.string_array("discovery URLs")?,
    })
}

fn endpoint(r: &mut Reader<'_>) -> Result<EndpointDescription, ParseError> {
    let endpoint_url = r.string("endpoint URL")?;
    let server = application(r)?;
    let server_certificate = r.byte_string("server certificate")?.map(<[u8]>::to_vec);
    let security_mode = r.u32("security mode")?;
    let security_policy_uri = r.string("security policy URI")?;
    let count = r.array_len("user identity tokens", MIN_TOKEN_LEN)?;
    let mut user_identity_tokens = Vec::with_capacity(count.min(16));
    for _ in 0..count {
        user_identity_tokens.push(UserTokenPolicy {
            policy_id: r.string("policy id")?,
            token_type: r.u32("token type")?,
            issued_token_type: r.string("issued token type")?,
            issuer_endpoint_url: r.string("issuer endpoint URL")?,
            security_policy_uri: r.string("token security policy URI")?,
        });
    }
    Ok(EndpointDescription {
        endpoint_url,
        server,
        server_certificate: server_certificate.filter(|c| !c.is_empty()),
        security_mode,
        security_policy_uri,
        user_identity_tokens,
        transport_profile_uri: r.string("transport profile URI")?,
        security_level: r.u8("security level")?,
    })
}

/// The name of a MessageSecurityMode value (OPC 10000-4 §7.20).
pub fn security_mode_name(mode: u32) -> &'static str {
    match mode {
        0 => "Invalid",
        1 => "None",
        2 => "Sign",
        3 => "SignAndEncrypt",
        _ => "unknown",
    }
}

/// The name of an ApplicationType value (OPC 10000-4 §7.2).
pub fn application_type_name(kind: u32) -> &'static str {
    match kind {
        0 => "Server",
        1 => "Client",
        2 => "ClientAndServer",
        3 => "DiscoveryServer",
        _ => "unknown",
    }
}

/// The name of a UserTokenType value (OPC 10000-4 §7.37).
pub fn user_token_type_name(kind: u32) -> &'static str {
    match kind {
        0 => "Anonymous",
        1 => "UserName",
        2 => "Certificate",
        3 => "IssuedToken",
        _ => "unknown",
    }
}

/// StatusCodes a server may answer with while a client says Hello, opens a channel or
/// asks discovery questions (OPC 10000-6 Annex A, StatusCode.csv), by the code's upper 16
/// bits (the lower 16 are info bits).
const STATUS_NAMES: [(u32, &str); 40] = [
    (0x0000_0000, "Good"),
    (0x8001_0000, "Bad_UnexpectedError"),
    (0x8002_0000, "Bad_InternalError"),
    (0x8003_0000, "Bad_OutOfMemory"),
    (0x8004_0000, "Bad_ResourceUnavailable"),
    (0x8005_0000, "Bad_CommunicationError"),
    (0x8006_0000, "Bad_EncodingError"),
    (0x8007_0000, "Bad_DecodingError"),
    (0x8008_0000, "Bad_EncodingLimitsExceeded"),
    (0x800A_0000, "Bad_Timeout"),
    (0x800B_0000, "Bad_ServiceUnsupported"),
    (0x800C_0000, "Bad_Shutdown"),
    (0x800E_0000, "Bad_ServerHalted"),
    (0x8010_0000, "Bad_TooManyOperations"),
    (0x8012_0000, "Bad_CertificateInvalid"),
    (0x8013_0000, "Bad_SecurityChecksFailed"),
    (0x801F_0000, "Bad_UserAccessDenied"),
    (0x8022_0000, "Bad_SecureChannelIdInvalid"),
    (0x8023_0000, "Bad_InvalidTimestamp"),
    (0x8024_0000, "Bad_NonceInvalid"),
    (0x802A_0000, "Bad_RequestHeaderInvalid"),
    (0x803D_0000, "Bad_NotSupported"),
    (0x8053_0000, "Bad_RequestTypeInvalid"),
    (0x8054_0000, "Bad_SecurityModeRejected"),
    (0x8055_0000, "Bad_SecurityPolicyRejected"),
    (0x807D_0000, "Bad_TcpServerTooBusy"),
    (0x807E_0000, "Bad_TcpMessageTypeInvalid"),
    (0x807F_0000, "Bad_TcpSecureChannelUnknown"),
    (0x8080_0000, "Bad_TcpMessageTooLarge"),
    (0x8081_0000, "Bad_TcpNotEnoughResources"),
    (0x8082_0000, "Bad_TcpInternalError"),
    (0x8083_0000, "Bad_TcpEndpointUrlInvalid"),
    (0x8085_0000, "Bad_RequestTimeout"),
    (0x8086_0000, "Bad_SecureChannelClosed"),
    (0x8087_0000, "Bad_SecureChannelTokenUnknown"),
    (0x8088_0000, "Bad_SequenceNumberInvalid"),
    (0x80AB_0000, "Bad_InvalidArgument"),
    (0x80AC_0000, "Bad_ConnectionRejected"),
    (0x80B7_0000, "Bad_MaxConnectionsReached"),
    (0x80BE_0000, "Bad_ProtocolVersionUnsupported"),
];

/// The symbolic name of a StatusCode (its upper 16 bits), or `None` for a code outside
/// the table of codes likely at discovery time.
pub fn status_name(status: u32) -> Option<&'static str> {
    let code = status & 0xFFFF_0000;
    STATUS_NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// True for a Bad StatusCode (severity bits 10).
pub fn is_bad(status: u32) -> bool {
    status & 0xC000_0000 == 0x8000_0000
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(s: &str) -> Option<DeviceText> {
        Some(DeviceText::from_bytes(s.as_bytes()))
    }

    fn s(buf: &mut Vec<u8>, value: &str) {
        push_string(buf, value);
    }

    /// A ResponseHeader: timestamp, handle, result, empty diagnostics, no string table,
    /// null additional header.
    fn response_header(buf: &mut Vec<u8>, handle: u32, result: u32) {
        buf.extend_from_slice(&0x01D9_0000_0000_0000i64.to_le_bytes());
        push_u32(buf, handle);
        push_u32(buf, result);
        buf.push(0x00);
        push_u32(buf, u32::MAX); // null string table
        buf.extend_from_slice(&[0x00, 0x00, 0x00]);
    }

    fn application(buf: &mut Vec<u8>, uri: &str, product: &str, name: &str, kind: u32) {
        s(buf, uri);
        s(buf, product);
        buf.push(0x03);
        s(buf, "en");
        s(buf, name);
        push_u32(buf, kind);
        push_null(buf);
        push_null(buf);
        push_u32(buf, 1);
        s(buf, "opc.tcp://plc:4840");
    }

    fn endpoint(buf: &mut Vec<u8>, mode: u32, policy: &str, tokens: &[u32], cert: &[u8]) {
        s(buf, "opc.tcp://plc:4840");
        application(
            buf,
            "urn:SIMATIC.S7-1500.OPC-UA.Application:PLC_1",
            "https://www.siemens.com/s7-1500",
            "SIMATIC.S7-1500.OPC-UA.Application:PLC_1",
            0,
        );
        push_u32(buf, cert.len() as u32);
        buf.extend_from_slice(cert);
        push_u32(buf, mode);
        s(buf, policy);
        push_u32(buf, tokens.len() as u32);
        for &t in tokens {
            s(buf, "p");
            push_u32(buf, t);
            push_null(buf);
            push_null(buf);
            push_null(buf);
        }
        s(
            buf,
            "http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary",
        );
        buf.push(if mode == 1 { 0 } else { 10 });
    }

    /// A server message chunk on channel 5, token 1.
    fn chunk(kind: &[u8; 3], chunk_type: u8, request_id: u32, body: &[u8]) -> Vec<u8> {
        let mut security = Vec::new();
        push_u32(&mut security, 5);
        if kind == b"OPN" {
            s(&mut security, SECURITY_POLICY_NONE);
            push_null(&mut security);
            push_null(&mut security);
        } else {
            push_u32(&mut security, 1);
        }
        let mut out = message(kind, &security, &sequenced_with(request_id, body));
        out[3] = chunk_type;
        out
    }

    fn sequenced_with(request_id: u32, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        push_u32(&mut out, 51);
        push_u32(&mut out, request_id);
        out.extend_from_slice(body);
        out
    }

    fn get_endpoints_body(count: usize) -> Vec<u8> {
        let mut body = Vec::new();
        push_node_id(&mut body, node_id::GET_ENDPOINTS_RESPONSE);
        response_header(&mut body, 3, 0);
        push_u32(&mut body, count as u32);
        for i in 0..count {
            if i == 0 {
                endpoint(&mut body, 1, SECURITY_POLICY_NONE, &[0], &[]);
            } else {
                endpoint(
                    &mut body,
                    3,
                    "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256",
                    &[1, 2],
                    &[0x30, 0x03, 0x02, 0x01, 0x01],
                );
            }
        }
        body
    }

    #[test]
    fn hello_is_the_spec_layout() {
        let url = EndpointUrl::new("127.0.0.1".parse().unwrap(), 4840);
        let hello = encode(&Request::Hello { endpoint_url: url }, 9);
        let mut expected = b"HELF".to_vec();
        push_u32(&mut expected, 8 + 20 + 4 + 24);
        for v in [0, 65_536, 65_536, 262_144, 64] {
            push_u32(&mut expected, v);
        }
        s(&mut expected, "opc.tcp://127.0.0.1:4840");
        assert_eq!(hello, expected);
        let v6 = EndpointUrl::new("::1".parse().unwrap(), 4841);
        assert_eq!(v6.as_str(), "opc.tcp://[::1]:4841");
    }

    #[test]
    fn open_secure_channel_asks_for_policy_none_and_mode_none() {
        let opn = encode(&Request::OpenSecureChannel, 0x0102_0304);
        assert_eq!(&opn[..4], b"OPNF");
        assert_eq!(
            u32::from_le_bytes(opn[4..8].try_into().unwrap()) as usize,
            opn.len()
        );
        assert_eq!(&opn[8..12], &[0, 0, 0, 0], "a new channel");
        let policy_end = 16 + SECURITY_POLICY_NONE.len();
        assert_eq!(&opn[16..policy_end], SECURITY_POLICY_NONE.as_bytes());
        // Null certificate and thumbprint, sequence number and request id.
        assert_eq!(&opn[policy_end..policy_end + 8], &[0xFF; 8]);
        assert_eq!(
            &opn[policy_end + 8..policy_end + 16],
            &[4, 3, 2, 1, 4, 3, 2, 1]
        );
        assert_eq!(
            &opn[policy_end + 16..policy_end + 20],
            &[0x01, 0x00, 0xBE, 0x01]
        );
        // Request type Issue, security mode None, empty nonce, lifetime.
        let tail = &opn[opn.len() - 20..];
        assert_eq!(&tail[4..12], &[0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&tail[16..], &REQUESTED_LIFETIME_MS.to_le_bytes());
    }

    #[test]
    fn discovery_and_close_requests_carry_the_channel_and_their_service_ids() {
        let channel = SecureChannel {
            channel_id: 0xAABB,
            token_id: 3,
        };
        let url = EndpointUrl::new("10.0.0.1".parse().unwrap(), 4840);
        for (request, kind, id) in [
            (
                Request::GetEndpoints {
                    channel,
                    endpoint_url: url.clone(),
                },
                b"MSG",
                [0x01, 0x00, 0xAC, 0x01],
            ),
            (
                Request::FindServers {
                    channel,
                    endpoint_url: url.clone(),
                },
                b"MSG",
                [0x01, 0x00, 0xA6, 0x01],
            ),
            (
                Request::CloseSecureChannel { channel },
                b"CLO",
                [0x01, 0x00, 0xC4, 0x01],
            ),
        ] {
            let bytes = encode(&request, 7);
            assert_eq!(&bytes[..3], kind);
            assert_eq!(bytes[3], b'F');
            assert_eq!(&bytes[8..16], &[0xBB, 0xAA, 0, 0, 3, 0, 0, 0]);
            assert_eq!(&bytes[16..24], &[7, 0, 0, 0, 7, 0, 0, 0]);
            assert_eq!(&bytes[24..28], &id, "{request:?}");
            assert_eq!(
                frame(&bytes, 7),
                FrameCheck::Complete {
                    len: bytes.len(),
                    matches: true
                }
            );
        }
    }

    #[test]
    fn acknowledge_and_error_parse() {
        // An open62541-style ACK: version 0, 64 KiB buffers, no message or chunk limit.
        let ack = [
            b'A', b'C', b'K', b'F', 28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
            0, 0, 0,
        ];
        assert_eq!(
            frame(&ack, 99),
            FrameCheck::Complete {
                len: 28,
                matches: true
            }
        );
        let Message::Acknowledge(a) = parse(&ack).unwrap().message else {
            panic!("not an ACK");
        };
        assert_eq!(
            (a.receive_buffer_size, a.send_buffer_size, a.max_chunk_count),
            (65_536, 65_536, 0)
        );
        let mut err = b"ERRF".to_vec();
        let reason = "The endpoint URL is not valid";
        push_u32(&mut err, (16 + reason.len()) as u32);
        push_u32(&mut err, 0x8083_0000);
        s(&mut err, reason);
        let Message::Error(e) = parse(&err).unwrap().message else {
            panic!("not an ERR");
        };
        assert_eq!(status_name(e.status), Some("Bad_TcpEndpointUrlInvalid"));
        assert_eq!(e.reason, text(reason));
        assert_eq!(status_name(0x8055_0000), Some("Bad_SecurityPolicyRejected"));
        assert_eq!(status_name(0x8055_0001), Some("Bad_SecurityPolicyRejected"));
        assert_eq!(status_name(0x80FF_0000), None);
    }

    #[test]
    fn open_secure_channel_response_gives_the_channel() {
        let mut body = Vec::new();
        push_node_id(&mut body, node_id::OPEN_SECURE_CHANNEL_RESPONSE);
        response_header(&mut body, 2, 0);
        push_u32(&mut body, 0);
        push_u32(&mut body, 5); // channel
        push_u32(&mut body, 1); // token
        body.extend_from_slice(&[0; 8]);
        push_u32(&mut body, 60_000);
        push_u32(&mut body, 0); // empty server nonce
        let reply = chunk(b"OPN", b'F', 2, &body);
        assert_eq!(
            frame(&reply, 2),
            FrameCheck::Complete {
                len: reply.len(),
                matches: true
            }
        );
        assert_eq!(
            frame(&reply, 3),
            FrameCheck::Complete {
                len: reply.len(),
                matches: false
            }
        );
        let Message::OpenSecureChannel(open) = parse(&reply).unwrap().message else {
            panic!("not an OPN");
        };
        assert_eq!(
            open.channel,
            SecureChannel {
                channel_id: 5,
                token_id: 1
            }
        );
        assert_eq!(open.security_policy_uri, text(SECURITY_POLICY_NONE));
    }

    #[test]
    fn get_endpoints_response_lists_every_endpoint() {
        let reply = chunk(b"MSG", b'F', 3, &get_endpoints_body(2));
        let parsed = parse(&reply).unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let Message::GetEndpoints { endpoints, header } = parsed.message else {
            panic!("not GetEndpoints");
        };
        assert_eq!(header.request_handle, 3);
        assert_eq!(endpoints.len(), 2);
        let none = &endpoints[0];
        assert_eq!(security_mode_name(none.security_mode), "None");
        assert_eq!(none.server_certificate, None);
        assert_eq!(
            none.server.application_uri,
            text("urn:SIMATIC.S7-1500.OPC-UA.Application:PLC_1")
        );
        assert_eq!(none.server.application_name.locale, text("en"));
        assert_eq!(
            application_type_name(none.server.application_type),
            "Server"
        );
        assert_eq!(
            none.server.discovery_urls,
            vec![text("opc.tcp://plc:4840").unwrap()]
        );
        assert_eq!(
            user_token_type_name(none.user_identity_tokens[0].token_type),
            "Anonymous"
        );
        let secure = &endpoints[1];
        assert_eq!(security_mode_name(secure.security_mode), "SignAndEncrypt");
        assert_eq!(secure.security_level, 10);
        assert_eq!(secure.user_identity_tokens.len(), 2);
        assert_eq!(
            secure.server_certificate.as_deref(),
            Some(&[0x30, 3, 2, 1, 1][..])
        );
    }

    #[test]
    fn intermediate_chunks_are_reassembled_and_abort_is_an_error() {
        let body = get_endpoints_body(3);
        let (a, b) = body.split_at(body.len() / 3);
        let (b, c) = b.split_at(b.len() / 2);
        let whole = [
            chunk(b"MSG", b'C', 4, a),
            chunk(b"MSG", b'C', 4, b),
            chunk(b"MSG", b'F', 4, c),
        ]
        .concat();
        for cut in [10, 30, whole.len() - 1] {
            assert_eq!(
                frame(&whole[..cut], 4),
                FrameCheck::NeedMore,
                "cut at {cut}"
            );
        }
        assert_eq!(
            frame(&whole, 4),
            FrameCheck::Complete {
                len: whole.len(),
                matches: true
            }
        );
        let Message::GetEndpoints { endpoints, .. } = parse(&whole).unwrap().message else {
            panic!("not reassembled");
        };
        assert_eq!(endpoints.len(), 3);
        // A chunk of another request between the chunks.
        let mixed = [chunk(b"MSG", b'C', 4, a), chunk(b"MSG", b'F', 5, c)].concat();
        assert!(matches!(
            frame(&mixed, 4),
            FrameCheck::Invalid(ParseError::ChunkMismatch { .. })
        ));
        // An abort chunk after an intermediate one ends the message with its status.
        let mut abort_body = Vec::new();
        push_u32(&mut abort_body, 0x8080_0000);
        s(&mut abort_body, "too large");
        let aborted = [
            chunk(b"MSG", b'C', 4, a),
            chunk(b"MSG", b'A', 4, &abort_body),
        ]
        .concat();
        assert_eq!(
            frame(&aborted, 4),
            FrameCheck::Complete {
                len: aborted.len(),
                matches: true
            }
        );
        let Message::Abort(e) = parse(&aborted).unwrap().message else {
            panic!("not an abort");
        };
        assert_eq!(status_name(e.status), Some("Bad_TcpMessageTooLarge"));
        // Endless intermediate chunks stop at the cap.
        let endless: Vec<u8> = (0..=MAX_CHUNKS)
            .flat_map(|_| chunk(b"MSG", b'C', 4, &[1]))
            .collect();
        assert_eq!(
            frame(&endless, 4),
            FrameCheck::Invalid(ParseError::TooManyChunks)
        );
    }

    #[test]
    fn hostile_frames_are_refused_early() {
        assert!(matches!(
            frame(b"GET / HTTP/1.1\r\n", 1),
            FrameCheck::Invalid(ParseError::MessageType(_))
        ));
        assert!(matches!(
            frame(b"X", 1),
            FrameCheck::Invalid(ParseError::MessageType(_))
        ));
        assert_eq!(frame(b"AC", 1), FrameCheck::NeedMore);
        assert_eq!(
            frame(b"ACKZ", 1),
            FrameCheck::Invalid(ParseError::ChunkType(b'Z'))
        );
        let mut lying = b"MSGF".to_vec();
        push_u32(&mut lying, u32::MAX);
        assert_eq!(
            frame(&lying, 1),
            FrameCheck::Invalid(ParseError::MessageSize(u32::MAX))
        );
        let mut tiny = b"ACKF".to_vec();
        push_u32(&mut tiny, 4);
        assert_eq!(
            frame(&tiny, 1),
            FrameCheck::Invalid(ParseError::MessageSize(4))
        );
        // A short ACK is a truncation, not a panic.
        let mut short = b"ACKF".to_vec();
        push_u32(&mut short, 12);
        short.extend_from_slice(&[0; 4]);
        assert!(matches!(
            parse(&short),
            Err(ParseError::Binary(BinaryError::Truncated { .. }))
        ));
        // HEL from a server is no answer.
        let hel = encode(
            &Request::Hello {
                endpoint_url: EndpointUrl::new([127, 0, 0, 1].into(), 1),
            },
            0,
        );
        assert!(matches!(parse(&hel), Err(ParseError::Unexpected { .. })));
    }

    #[test]
    fn an_endpoint_count_of_2_pow_31_costs_nothing() {
        let mut body = Vec::new();
        push_node_id(&mut body, node_id::GET_ENDPOINTS_RESPONSE);
        response_header(&mut body, 3, 0);
        push_u32(&mut body, 0x7FFF_FFFF);
        body.extend_from_slice(&[0; 64]);
        let reply = chunk(b"MSG", b'F', 3, &body);
        assert!(matches!(
            parse(&reply),
            Err(ParseError::Binary(BinaryError::ArrayCount {
                count: 0x7FFF_FFFF,
                ..
            }))
        ));
        let mut body = Vec::new();
        push_node_id(&mut body, node_id::GET_ENDPOINTS_RESPONSE);
        response_header(&mut body, 3, 0);
        push_u32(&mut body, 0x8000_0000);
        let reply = chunk(b"MSG", b'F', 3, &body);
        assert!(matches!(
            parse(&reply),
            Err(ParseError::Binary(BinaryError::NegativeLength { .. }))
        ));
    }

    #[test]
    fn service_fault_and_unknown_bodies() {
        let mut body = Vec::new();
        push_node_id(&mut body, node_id::SERVICE_FAULT);
        response_header(&mut body, 3, 0x800B_0000);
        let Message::ServiceFault(h) = parse(&chunk(b"MSG", b'F', 3, &body)).unwrap().message
        else {
            panic!("not a fault");
        };
        assert_eq!(
            status_name(h.service_result),
            Some("Bad_ServiceUnsupported")
        );
        let mut body = Vec::new();
        push_node_id(&mut body, 464); // CreateSessionResponse
        assert!(matches!(
            parse(&chunk(b"MSG", b'F', 3, &body)),
            Err(ParseError::UnknownBody(_))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), c in any::<u32>()) {
            let _ = frame(&bytes, c);
            let _ = parse(&bytes);
        }

        #[test]
        fn mutated_replies_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            cut in any::<usize>(),
        ) {
            let mut reply = chunk(b"MSG", b'F', 3, &get_endpoints_body(2));
            for (at, byte) in edits {
                let i = at % reply.len();
                reply[i] = byte;
            }
            reply.truncate(cut % (reply.len() + 1));
            let _ = frame(&reply, 3);
            let _ = parse(&reply);
        }
    }
}
