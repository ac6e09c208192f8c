//! The OPC UA fixture over real loopback TCP, with hand-written requests: Hello, a None
//! channel, GetEndpoints in chunks, FindServers, the close, and the refusals.

use std::{net::SocketAddr, time::Duration};

use protocol_fixtures::{
    opcua::{self, policy, status},
    OpcuaBehaviour, OpcuaServer, OpcuaServerConfig, Recorder, UaEndpoint,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

fn message(kind: &[u8; 3], body: &[u8]) -> Vec<u8> {
    let mut out = kind.to_vec();
    out.push(b'F');
    out.extend_from_slice(&(body.len() as u32 + 8).to_le_bytes());
    out.extend_from_slice(body);
    out
}

fn hello(url: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for v in [0u32, 65_536, 65_536, 0, 0] {
        body.extend_from_slice(&v.to_le_bytes());
    }
    string(&mut body, url.as_bytes());
    message(b"HEL", &body)
}

/// A service's type id and a session-less request header with handle `handle`.
fn service(id: u16, handle: u32) -> Vec<u8> {
    let mut out = vec![0x01, 0x00];
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&[0x00, 0x00]);
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&handle.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0]);
    out
}

fn open() -> Vec<u8> {
    let mut body = vec![0; 4];
    string(&mut body, policy::NONE.as_bytes());
    body.extend_from_slice(&[0xFF; 8]);
    body.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0]);
    body.extend(service(446, 1));
    for v in [0u32, 0, 1, 0, 60_000] {
        body.extend_from_slice(&v.to_le_bytes());
    }
    message(b"OPN", &body)
}

fn msg(kind: &[u8; 3], channel: u32, id: u16, request: u32) -> Vec<u8> {
    let mut body = channel.to_le_bytes().to_vec();
    body.extend_from_slice(&[1, 0, 0, 0]);
    body.extend_from_slice(&request.to_le_bytes());
    body.extend_from_slice(&request.to_le_bytes());
    body.extend(service(id, request));
    if kind == b"MSG" {
        string(&mut body, b"opc.tcp://127.0.0.1:4840");
        body.extend_from_slice(&[0; 8]);
    }
    message(kind, &body)
}

/// Reads one chunk: its type, chunk type and bytes; `None` when the server closed.
async fn chunk(stream: &mut TcpStream) -> Option<([u8; 3], u8, Vec<u8>)> {
    let mut header = [0u8; 8];
    timeout(Duration::from_secs(2), stream.read_exact(&mut header))
        .await
        .ok()?
        .ok()?;
    let size = u32::from_le_bytes(header[4..8].try_into().unwrap()) as usize;
    let mut rest = vec![0u8; size - 8];
    stream.read_exact(&mut rest).await.ok()?;
    Some(([header[0], header[1], header[2]], header[3], rest))
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

async fn serve(
    config: OpcuaServerConfig,
) -> (SocketAddr, Recorder, protocol_fixtures::DeviceHandle) {
    let recorder = Recorder::new();
    let handle =
        OpcuaServer::spawn("127.0.0.1:0".parse().unwrap(), config, recorder.clone()).unwrap();
    (handle.local_addr(), recorder, handle)
}

#[tokio::test]
async fn discovery_over_a_none_channel_then_close() {
    let config = OpcuaServerConfig::new("urn:test:server", "urn:test:product", "Test server")
        .with_certificate(opcua::CERT_GENERIC)
        .with_send_buffer_size(8192)
        .with_endpoints(
            (0..8)
                .map(|i| UaEndpoint::new(1 + i % 3, policy::BASIC256SHA256, &[0, 1]))
                .collect(),
        );
    let (addr, recorder, handle) = serve(config).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&hello("opc.tcp://127.0.0.1:4840"))
        .await
        .unwrap();
    let (kind, _, ack) = chunk(&mut stream).await.unwrap();
    assert_eq!(&kind, b"ACK");
    assert_eq!(u32_at(&ack, 8), 8192, "send buffer");
    stream.write_all(&open()).await.unwrap();
    let (kind, _, opn) = chunk(&mut stream).await.unwrap();
    assert_eq!(&kind, b"OPN");
    let channel = u32_at(&opn, 0);
    assert!(opn
        .windows(policy::NONE.len())
        .any(|w| w == policy::NONE.as_bytes()));
    // GetEndpoints: eight endpoints with a certificate each do not fit one 8 KiB chunk.
    stream
        .write_all(&msg(b"MSG", channel, 428, 2))
        .await
        .unwrap();
    let mut chunk_types = Vec::new();
    loop {
        let (kind, chunk_type, body) = chunk(&mut stream).await.unwrap();
        assert_eq!(&kind, b"MSG");
        assert_eq!(u32_at(&body, 12), 2, "request id");
        chunk_types.push(chunk_type);
        if chunk_type == b'F' {
            break;
        }
    }
    assert_eq!(chunk_types, b"CF");
    stream
        .write_all(&msg(b"MSG", channel, 422, 3))
        .await
        .unwrap();
    let (_, chunk_type, body) = chunk(&mut stream).await.unwrap();
    assert_eq!(chunk_type, b'F');
    assert_eq!(
        &body[16..20],
        &[0x01, 0x00, 0xA9, 0x01],
        "FindServersResponse"
    );
    // CloseSecureChannel: no answer, the server closes.
    stream
        .write_all(&msg(b"CLO", channel, 452, 4))
        .await
        .unwrap();
    let mut rest = [0u8; 16];
    let n = timeout(Duration::from_secs(2), stream.read(&mut rest))
        .await
        .unwrap();
    assert_eq!(n.unwrap(), 0, "closed after CLO");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let labels: Vec<_> = recorder.frames().iter().map(|f| f.protocol).collect();
    assert_eq!(labels, ["opcua"; 5]);
    assert!(
        recorder.violations().is_empty(),
        "{:?}",
        recorder.violations()
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn refusals_are_error_messages() {
    for (config, expected, at_open) in [
        (
            OpcuaServerConfig::new("urn:a", "urn:b", "c")
                .with_required_endpoint_url("opc.tcp://line3-ua:4840"),
            status::BAD_TCP_ENDPOINT_URL_INVALID,
            false,
        ),
        (
            OpcuaServerConfig::new("urn:a", "urn:b", "c")
                .with_behaviour(OpcuaBehaviour::RejectSecurityPolicyNone),
            status::BAD_SECURITY_POLICY_REJECTED,
            true,
        ),
        (
            OpcuaServerConfig::new("urn:a", "urn:b", "c").with_behaviour(
                OpcuaBehaviour::ErrorOnHello(status::BAD_TCP_SERVER_TOO_BUSY),
            ),
            status::BAD_TCP_SERVER_TOO_BUSY,
            false,
        ),
    ] {
        let (addr, _, handle) = serve(config).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(&hello("opc.tcp://127.0.0.1:4840"))
            .await
            .unwrap();
        if at_open {
            assert_eq!(&chunk(&mut stream).await.unwrap().0, b"ACK");
            stream.write_all(&open()).await.unwrap();
        }
        let (kind, _, body) = chunk(&mut stream).await.unwrap();
        assert_eq!((&kind, u32_at(&body, 0)), (b"ERR", expected));
        assert!(chunk(&mut stream).await.is_none(), "closed after ERR");
        handle.shutdown().await;
    }
}

#[tokio::test]
async fn a_session_request_is_refused_and_recorded_as_a_violation() {
    let (addr, recorder, handle) = serve(OpcuaServerConfig::new("urn:a", "urn:b", "c")).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&hello("opc.tcp://127.0.0.1:4840"))
        .await
        .unwrap();
    chunk(&mut stream).await.unwrap();
    stream.write_all(&open()).await.unwrap();
    let channel = u32_at(&chunk(&mut stream).await.unwrap().2, 0);
    // CreateSessionRequest (461): a ServiceFault, Bad_ServiceUnsupported.
    stream
        .write_all(&msg(b"MSG", channel, 461, 2))
        .await
        .unwrap();
    let (_, _, body) = chunk(&mut stream).await.unwrap();
    assert_eq!(&body[16..20], &[0x01, 0x00, 0x8D, 0x01], "ServiceFault");
    assert_eq!(u32_at(&body, 20 + 8 + 4), status::BAD_SERVICE_UNSUPPORTED);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(recorder.violations().len(), 1);
    handle.shutdown().await;
}
