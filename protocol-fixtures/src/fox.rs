//! A simulated Tridium Niagara station speaking Fox (TCP 1911): it reads a client's Fox
//! messages and answers the `hello` with its own hello, a block of typed `key=type:value`
//! tuples (host, application, VM, OS, time zone, host id, station, brand), as stations do
//! before a client logs in. Every other command closes the connection, so nothing a scanner
//! sends reaches the station's points or changes state.
//!
//! The message format is written here from public descriptions (nmap's `fox-info`, zgrab2's
//! `fox` module, the public Fox Wireshark dissector, published station replies),
//! independently of the scanner's codec:
//!
//! ```text
//! fox <frame type> <sequence> <reply-to> <channel> <command>\n
//! {\n
//! key=type:value\n          (o: "<object type> <length>[<bytes>]", b: "<length>[<bytes>]")
//! };;\n
//! ```
//!
//! Configurations: [`FoxDeviceConfig::jace8000`] (a Niagara 4 JACE-8000-like controller of the
//! `vykon` brand), [`FoxDeviceConfig::ax38`] (a Niagara AX 3.8 JACE, Honeywell-named, Facility
//! Explorer brand, with a `sysInfo` object), [`FoxDeviceConfig::supervisor`] (a Niagara 4
//! supervisor on Windows) and [`FoxBehaviour::Fatal`] (a Niagara 4 platform that refuses station
//! connections with a `fatal` tuple, as published) or [`FoxBehaviour::ErrorFrame`].
//!
//! Every received message is recorded with the label [`PROTOCOL`] ([`Framing::Fox`]).

use std::{io, net::SocketAddr, sync::Arc};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::{
    device::{bind_loopback, serve_connections, DeviceHandle},
    recorder::{Framing, Recorder, RecordingStream},
};

/// The registered Fox port (TCP; 4911 is Fox over TLS).
pub const PORT: u16 = 1911;

/// The label Fox messages carry in [`crate::RecordedFrame::protocol`].
pub const PROTOCOL: &str = "fox";

/// The end of every Fox message.
pub const TERMINATOR: &[u8] = b"};;\n";

/// Longest message the station reads; a longer one closes the connection.
const MAX_MESSAGE: usize = 16 * 1024;

/// How the station answers a hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoxBehaviour {
    /// Its hello, with the configured tuples.
    Hello,
    /// A hello with `fatal=s:<text>` and `fox.version=s:Niagara 4` only, as a Niagara 4
    /// platform daemon answers a station connection it does not serve.
    Fatal(String),
    /// An error frame (`fox e 0 1 fox hello`) with `reason=s:<text>`, then a close.
    ErrorFrame(String),
}

/// One tuple the station sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoxTuple {
    /// Key, e.g. `hostName`.
    pub key: String,
    /// Type letter: `s`, `i`, `z`, `o`, `b`...
    pub kind: String,
    /// For `o`: the object's type (e.g. `bog`).
    pub object_type: Option<String>,
    /// Value bytes (for `o` and `b` the counted content).
    pub value: Vec<u8>,
}

impl FoxTuple {
    /// The tuple's wire form, line feed included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("{}={}:", self.key, self.kind).into_bytes();
        match (self.kind.as_str(), &self.object_type) {
            ("o", Some(object_type)) => {
                out.extend_from_slice(format!("{object_type} {}[", self.value.len()).as_bytes());
                out.extend_from_slice(&self.value);
                out.push(b']');
            }
            ("b", _) => {
                out.extend_from_slice(format!("{}[", self.value.len()).as_bytes());
                out.extend_from_slice(&self.value);
                out.push(b']');
            }
            _ => out.extend_from_slice(&self.value),
        }
        out.push(b'\n');
        out
    }
}

/// What a simulated station says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoxDeviceConfig {
    /// The tuples of its hello, in order.
    pub tuples: Vec<FoxTuple>,
    /// How it answers.
    pub behaviour: FoxBehaviour,
}

impl Default for FoxDeviceConfig {
    fn default() -> Self {
        Self::jace8000("jace-ahu-1", "AHU_1")
    }
}

impl FoxDeviceConfig {
    /// A station with no tuples.
    pub fn empty() -> Self {
        FoxDeviceConfig {
            tuples: Vec::new(),
            behaviour: FoxBehaviour::Hello,
        }
    }

    /// Adds a string tuple.
    #[must_use]
    pub fn with(self, key: &str, value: &str) -> Self {
        self.with_tuple(key, "s", value.as_bytes())
    }

    /// Adds a tuple of any type.
    #[must_use]
    pub fn with_tuple(mut self, key: &str, kind: &str, value: &[u8]) -> Self {
        self.tuples.push(FoxTuple {
            key: key.to_owned(),
            kind: kind.to_owned(),
            object_type: None,
            value: value.to_vec(),
        });
        self
    }

    /// Adds an object tuple (`o:<object_type> <len>[...]`).
    #[must_use]
    pub fn with_object(mut self, key: &str, object_type: &str, value: &[u8]) -> Self {
        self.tuples.push(FoxTuple {
            key: key.to_owned(),
            kind: "o".to_owned(),
            object_type: Some(object_type.to_owned()),
            value: value.to_vec(),
        });
        self
    }

    /// Sets how it answers.
    #[must_use]
    pub fn with_behaviour(mut self, behaviour: FoxBehaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    /// A Niagara 4.10 JACE-8000-like controller (QNX, `vykon` brand) named `host`, running
    /// station `station`.
    pub fn jace8000(host: &str, station: &str) -> Self {
        Self::empty()
            .with("fox.version", "1.0.2")
            .with_tuple("id", "i", b"4")
            .with("hostName", host)
            .with("hostAddress", "192.168.1.140")
            .with("app.name", "Station")
            .with("app.version", "4.10.1.36")
            .with("vm.name", "OpenJDK 32-Bit Server VM")
            .with("vm.version", "25.252-b09")
            .with("os.name", "QNX")
            .with("os.version", "6.5.0")
            .with("station.name", station)
            .with("lang", "en")
            .with(
                "timeZone",
                "America/Chicago;-21600000;3600000;02:00:00.000,wall,march,8,on or after,sunday,undefined;02:00:00.000,wall,november,1,on or after,sunday,undefined",
            )
            .with("hostId", "Qnx-TITAN-0000-1A2B-3C4D")
            .with("vmUuid", "2f1e0c1d-5a6b-4c7d-8e9f-000000000080")
            .with("brandId", "vykon")
            .with(
                "authAgentTypeSpecs",
                "fox:FoxUsernamePasswordAuthAgent,fox:FoxDigestAuthAgent",
            )
    }

    /// A Niagara AX 3.8 JACE (QNX, `FacExp` brand, station named `Honeywell`, its host name
    /// its address) with a `sysInfo` object: the tuples of a published station reply.
    pub fn ax38(address: &str) -> Self {
        Self::empty()
            .with("fox.version", "1.0.1")
            .with_tuple("id", "i", b"122")
            .with("hostName", address)
            .with("hostAddress", address)
            .with("app.name", "Station")
            .with("app.version", "3.8.213")
            .with("vm.name", "Java HotSpot(TM) Client VM")
            .with("vm.version", "1.5.0_81-b06")
            .with("os.name", "QNX")
            .with("os.version", "6.4.1")
            .with("station.name", "Honeywell")
            .with("lang", "en")
            .with(
                "timeZone",
                "EST5EDT;-18000000;3600000;02:00:00.000,wall,march,8,on or after,sunday,undefined;02:00:00.000,wall,november,1,on or after,sunday,undefined",
            )
            .with("hostId", "Qnx-NPM6-0000-16A3-8210")
            .with("vmUuid", "11e8e9a6-0b40-571a-0000-00000000a096")
            .with("brandId", "FacExp")
            .with_object(
                "sysInfo",
                "bog",
                b"<bog version=\"1.0\">\n<p m=\"b=baja\" t=\"b:Facets\" v=\"\"/>\n</bog>\n",
            )
            .with("authAgentTypeSpecs", "fox:FoxUsernamePasswordAuthAgent")
    }

    /// A Niagara 4 supervisor on Windows (`distech` brand) named `host`.
    pub fn supervisor(host: &str) -> Self {
        Self::empty()
            .with("fox.version", "1.0.2")
            .with_tuple("id", "i", b"9")
            .with("hostName", host)
            .with("hostAddress", "10.20.0.5")
            .with("app.name", "Station")
            .with("app.version", "4.12.2.16")
            .with("vm.name", "OpenJDK 64-Bit Server VM")
            .with("vm.version", "11.0.19+7")
            .with("os.name", "Windows Server 2019")
            .with("os.version", "10.0")
            .with("station.name", "Campus_Supervisor")
            .with("lang", "fr_CA")
            .with("timeZone", "America/Montreal;-18000000;3600000")
            .with("hostId", "Win-5A1C-77E2-90B4-1D0E")
            .with("brandId", "distech")
    }

    /// The station's answer to a hello.
    pub fn hello_reply(&self) -> Vec<u8> {
        let (header, tuples): (&str, Vec<u8>) = match &self.behaviour {
            FoxBehaviour::Hello => (
                "fox a 0 -1 fox hello",
                self.tuples.iter().flat_map(FoxTuple::encode).collect(),
            ),
            FoxBehaviour::Fatal(text) => (
                "fox a 0 -1 fox hello",
                format!("fatal=s:{text}\nfox.version=s:Niagara 4\n").into_bytes(),
            ),
            FoxBehaviour::ErrorFrame(text) => (
                "fox e 0 1 fox hello",
                format!("reason=s:{text}\n").into_bytes(),
            ),
        };
        message(header, &tuples)
    }
}

/// A whole Fox message: `header`, `{`, the encoded `tuples`, `};;`.
pub fn message(header: &str, tuples: &[u8]) -> Vec<u8> {
    let mut out = format!("{header}\n{{\n").into_bytes();
    out.extend_from_slice(tuples);
    out.extend_from_slice(TERMINATOR);
    out
}

/// The header line of a Fox message, split: frame type, sequence, reply-to, channel, command.
/// `None` when the first line is not `fox` and five fields.
pub fn parse_header(message: &[u8]) -> Option<[&str; 5]> {
    let end = message.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&message[..end]).ok()?;
    let mut fields = line.split(' ');
    if fields.next()? != "fox" {
        return None;
    }
    let parts = [
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    ];
    fields.next().is_none().then_some(parts)
}

/// The length of the first whole message in `buf` (through its `};;` line feed), if any.
pub fn message_len(buf: &[u8]) -> Option<usize> {
    buf.windows(TERMINATOR.len())
        .position(|w| w == TERMINATOR)
        .map(|i| i + TERMINATOR.len())
}

/// A simulated Niagara station.
pub struct FoxDevice;

impl FoxDevice {
    /// Starts serving `config` on TCP `addr` (loopback only; port 0 picks a free port), any
    /// number of connections, recording every received message in `recorder`.
    ///
    /// # Errors
    /// A non-loopback address or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: FoxDeviceConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let listener = bind_loopback(addr)?;
        let config = Arc::new(config);
        serve_connections(listener, recorder, Framing::Fox, PROTOCOL, move |stream| {
            serve_connection(stream, Arc::clone(&config))
        })
    }
}

/// Serves one connection: each hello gets the station's answer; anything else (another
/// command, bytes that are not Fox, a message too long) closes it.
async fn serve_connection(mut stream: RecordingStream<TcpStream>, config: Arc<FoxDeviceConfig>) {
    let mut pending = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        while let Some(len) = message_len(&pending) {
            let request: Vec<u8> = pending.drain(..len).collect();
            let Some([_, _, _, "fox", "hello"]) = parse_header(&request) else {
                return;
            };
            if stream.write_all(&config.hello_reply()).await.is_err() {
                return;
            }
            if matches!(config.behaviour, FoxBehaviour::ErrorFrame(_)) {
                let _ = stream.shutdown().await;
                return;
            }
        }
        if pending.len() > MAX_MESSAGE || (pending.len() >= 4 && !pending.starts_with(b"fox ")) {
            return;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &[u8] = b"fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\n};;\n";

    #[test]
    fn the_ax_reply_is_the_published_one() {
        let reply = FoxDeviceConfig::ax38("10.17.40.40").hello_reply();
        let text = String::from_utf8(reply).unwrap();
        assert!(text.starts_with("fox a 0 -1 fox hello\n{\nfox.version=s:1.0.1\nid=i:122\n"));
        assert!(text.contains("sysInfo=o:bog 61[<bog version=\"1.0\">\n"));
        assert!(text
            .ends_with("</bog>\n]\nauthAgentTypeSpecs=s:fox:FoxUsernamePasswordAuthAgent\n};;\n"));
    }

    #[test]
    fn headers_and_lengths() {
        assert_eq!(parse_header(HELLO), Some(["a", "1", "-1", "fox", "hello"]));
        assert_eq!(message_len(HELLO), Some(HELLO.len()));
        assert_eq!(message_len(&HELLO[..HELLO.len() - 1]), None);
        assert_eq!(parse_header(b"fox a 1 -1 fox\n"), None);
        let fatal = FoxDeviceConfig::default()
            .with_behaviour(FoxBehaviour::Fatal(
                "Niagara4 Station Connections Unsupported".into(),
            ))
            .hello_reply();
        assert!(fatal.starts_with(b"fox a 0 -1 fox hello\n{\nfatal=s:Niagara4 Station"));
    }

    #[tokio::test]
    async fn a_station_answers_the_hello_over_tcp_and_closes_on_anything_else() {
        let recorder = Recorder::new();
        let device = FoxDevice::spawn(
            "127.0.0.1:0".parse().unwrap(),
            FoxDeviceConfig::jace8000("jace-1", "AHU_1"),
            recorder.clone(),
        )
        .unwrap();
        let mut client = TcpStream::connect(device.local_addr()).await.unwrap();
        client.write_all(HELLO).await.unwrap();
        let mut reply = Vec::new();
        let mut chunk = [0u8; 4096];
        while message_len(&reply).is_none() {
            let n = client.read(&mut chunk).await.unwrap();
            assert!(n > 0);
            reply.extend_from_slice(&chunk[..n]);
        }
        let text = String::from_utf8(reply).unwrap();
        assert!(text.contains("\nbrandId=s:vykon\n"), "{text}");
        // A login attempt is not served: the station closes.
        client
            .write_all(b"fox a 2 -1 fox login\n{\nuser=s:admin\n};;\n")
            .await
            .unwrap();
        assert_eq!(client.read(&mut chunk).await.unwrap(), 0);
        let frames = recorder.frames();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].bytes, HELLO);
        assert_eq!(frames[0].protocol, PROTOCOL);
        device.shutdown().await;
    }
}
