//! Simulated banner services: an SSH server, an FTP server, a telnet server, as far as a
//! client that only reads their greeting sees them. On each connection the device writes
//! its greeting (a list of chunks, `gap` apart), then holds the connection open, closes it,
//! or repeats a chunk forever (the hostile shapes), while recording everything the client
//! sends under the protocol's label ([`Framing::Ssh`], [`Framing::Ftp`],
//! [`Framing::Telnet`]: every read as it arrived), where the read-only allowlist checks it.
//!
//! The greetings are written here from the specifications (RFC 4253 4.2, RFC 959 4.2,
//! RFC 854/855) and published banners of OT network gear, independently of the scanner's
//! codecs. No login is ever served: nothing a client sends changes what the device says.

use std::{io, net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::{
    device::{bind_loopback, serve_connections, DeviceHandle},
    recorder::{Framing, Recorder, RecordingStream},
};

/// The registered SSH port.
pub const SSH_PORT: u16 = 22;
/// The registered FTP control port.
pub const FTP_PORT: u16 = 21;
/// The registered telnet port.
pub const TELNET_PORT: u16 = 23;

/// Longest a device holds a connection open after its greeting, waiting for the client's
/// close.
const HOLD: Duration = Duration::from_secs(30);

/// What the device does once its greeting is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BannerEnd {
    /// Keeps the connection open until the client closes it (as a server waiting for
    /// the client's part does).
    Hold,
    /// Closes the connection.
    Close,
    /// Writes this chunk again and again, `gap` apart, until the client goes away.
    Repeat(Vec<u8>),
}

/// A banner service's behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BannerDeviceConfig {
    /// Chunks written on connect, in order.
    pub greeting: Vec<Vec<u8>>,
    /// Pause before each chunk after the first.
    pub gap: Duration,
    /// What follows the greeting.
    pub end: BannerEnd,
}

impl BannerDeviceConfig {
    /// A greeting written in one chunk, then held open.
    pub fn new(greeting: impl Into<Vec<u8>>) -> Self {
        BannerDeviceConfig {
            greeting: vec![greeting.into()],
            gap: Duration::ZERO,
            end: BannerEnd::Hold,
        }
    }

    /// A device that accepts the connection and says nothing.
    pub fn silent() -> Self {
        BannerDeviceConfig {
            greeting: Vec::new(),
            gap: Duration::ZERO,
            end: BannerEnd::Hold,
        }
    }

    /// Another end.
    #[must_use]
    pub fn with_end(mut self, end: BannerEnd) -> Self {
        self.end = end;
        self
    }

    /// More chunks, each `gap` after the one before.
    #[must_use]
    pub fn then(mut self, gap: Duration, chunk: impl Into<Vec<u8>>) -> Self {
        self.gap = gap;
        self.greeting.push(chunk.into());
        self
    }

    /// An FTP server's one-line ready greeting with `text`.
    pub fn ftp_ready(text: &str) -> Self {
        Self::new(format!("220 {text}\r\n"))
    }

    /// A telnet server that asks for `options` (the `IAC DO`/`WILL` bytes), then 20 ms later
    /// sends `text`.
    pub fn telnet(options: &[u8], text: &str) -> Self {
        Self::new(options.to_vec()).then(Duration::from_millis(20), text.as_bytes().to_vec())
    }

    /// A Debian OpenSSH server's identification string.
    pub fn openssh_debian() -> Self {
        Self::new("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    }
}

/// A simulated banner service.
pub struct BannerDevice;

impl BannerDevice {
    /// Starts serving `config` on TCP `addr` (loopback only; port 0 picks a free port), any
    /// number of connections, recording what clients send under `framing`'s label.
    ///
    /// # Errors
    /// A non-loopback address or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: BannerDeviceConfig,
        framing: Framing,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let listener = bind_loopback(addr)?;
        let config = Arc::new(config);
        serve_connections(
            listener,
            recorder,
            framing,
            framing.protocol(),
            move |stream| serve_connection(stream, Arc::clone(&config)),
        )
    }
}

/// Writes the greeting while reading (and so recording) what the client sends, until the
/// script ends or the client goes away.
async fn serve_connection(stream: RecordingStream<TcpStream>, config: Arc<BannerDeviceConfig>) {
    let (reader, writer) = tokio::io::split(stream);
    play(reader, writer, &config.greeting, config.gap, &config.end).await;
}

/// Plays a script on a connection: writes `chunks` (`gap` apart), then `end`, while
/// reading (and so recording) what the client sends, until the script ends or the client
/// goes away. Also the web fixtures' response writer.
pub(crate) async fn play<S: tokio::io::AsyncRead + tokio::io::AsyncWrite>(
    mut reader: tokio::io::ReadHalf<S>,
    mut writer: tokio::io::WriteHalf<S>,
    chunks: &[Vec<u8>],
    gap: Duration,
    end: &BannerEnd,
) {
    let read_all = async move {
        let mut chunk = [0u8; 2048];
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => return reader,
                Ok(_) => {}
            }
        }
    };
    let write = async {
        for (i, chunk) in chunks.iter().enumerate() {
            if i > 0 && !gap.is_zero() {
                tokio::time::sleep(gap).await;
            }
            if writer.write_all(chunk).await.is_err() {
                return false;
            }
        }
        match end {
            BannerEnd::Hold => true,
            BannerEnd::Close => false,
            BannerEnd::Repeat(chunk) => loop {
                if writer.write_all(chunk).await.is_err() {
                    return false;
                }
                if !gap.is_zero() {
                    tokio::time::sleep(gap).await;
                }
            },
        }
    };
    tokio::pin!(read_all);
    // The script, unless the client closes first.
    let hold = tokio::select! {
        hold = write => hold,
        _ = &mut read_all => return,
    };
    if hold {
        let _ = tokio::time::timeout(HOLD, &mut read_all).await;
    } else {
        let _ = writer.shutdown().await;
        // Record what is still on its way (the client's close).
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut read_all).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_greeting_comes_first_and_what_the_client_sends_is_recorded() {
        let recorder = Recorder::new();
        let device = BannerDevice::spawn(
            "127.0.0.1:0".parse().unwrap(),
            BannerDeviceConfig::openssh_debian(),
            Framing::Ssh,
            recorder.clone(),
        )
        .unwrap();
        let mut client = TcpStream::connect(device.local_addr()).await.unwrap();
        let mut buf = [0u8; 256];
        let n = client.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
        client.write_all(b"SSH-2.0-client\r\n").await.unwrap();
        drop(client);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let frames = recorder.frames();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].protocol, "ssh");
        assert_eq!(
            recorder.violations().len(),
            1,
            "the SSH probe sends nothing"
        );
        device.shutdown().await;
    }
}
