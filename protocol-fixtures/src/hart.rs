//! A simulated HART-IP server (TCP 5094): a HART field device with an Ethernet port, or a
//! HART I/O system / multiplexer with instruments behind it.
//!
//! Every message is an 8-byte header (version 1, message type, message id, status,
//! sequence number, byte count of the whole message; big-endian) and a body. The server
//! answers Session Initiate (message id 0) with the configured status and the master type
//! and inactivity timer it accepted; token-passing PDUs (message id 3) only inside a
//! session, each a HART frame (delimiter, address, command, byte count, data, XOR check
//! byte) answered as the addressed device: command 0 (Read Unique Identifier) at polling
//! address 0, commands 20 (Read Long Tag), 74 (Read I/O System Capabilities) and 84 (Read
//! Sub-Device Identity Summary) at its unique address; every other command gets response
//! code 64 (command not implemented), so nothing a scanner sends changes the device.
//! Session Close (message id 1) is answered and the connection closed. Written from the
//! HART-IP and HART command layouts (as Wireshark's dissector reads them), independently
//! of the scanner's codec. Every message is recorded under [`PROTOCOL`].

use std::{io, net::SocketAddr, sync::Arc};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::{
    device::{bind_loopback, serve_connections, DeviceHandle},
    recorder::{Framing, Recorder, RecordingStream},
};

/// The registered HART-IP port.
pub const PORT: u16 = 5094;
/// Label of recorded HART-IP messages.
pub const PROTOCOL: &str = Framing::HartIp.protocol();
/// Length of the HART-IP header.
pub const HEADER_LEN: usize = 8;
/// Response code: command not implemented.
pub const COMMAND_NOT_IMPLEMENTED: u8 = 64;
/// HART-IP status of a Session Initiate refused because every session is taken.
pub const ALL_SESSIONS_IN_USE: u8 = 15;
/// Flag of a protocol bridge device (I/O system, multiplexer) in command 0 byte 8.
pub const FLAG_PROTOCOL_BRIDGE: u8 = 0x04;

/// One instrument behind an I/O system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HartSubDevice {
    /// I/O card it sits on.
    pub io_card: u8,
    /// Channel on that card.
    pub channel: u8,
    /// Manufacturer id.
    pub manufacturer_id: u16,
    /// Expanded device type.
    pub expanded_device_type: u16,
    /// Device id (24 bits).
    pub device_id: u32,
    /// Its HART revision.
    pub hart_revision: u8,
    /// Its long tag.
    pub long_tag: String,
}

/// What a simulated HART-IP device says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HartDeviceConfig {
    /// Expanded device type (command 0 bytes 1-2).
    pub expanded_device_type: u16,
    /// Device id (24 bits).
    pub device_id: u32,
    /// Manufacturer id (HART 7: command 0 bytes 17-18).
    pub manufacturer_id: u16,
    /// HART revision: 5 sends the 12-byte command 0 answer and no long tag, 7 the
    /// 22-byte one.
    pub hart_revision: u8,
    /// Device, software and hardware revisions.
    pub revisions: (u8, u8, u8),
    /// Command 0 flags (0x04: protocol bridge device).
    pub flags: u8,
    /// Field device status byte of every answer.
    pub device_status: u8,
    /// Long tag (command 20); `None`: command 20 not implemented.
    pub long_tag: Option<String>,
    /// Sub-devices, for an I/O system.
    pub sub_devices: Vec<HartSubDevice>,
    /// HART-IP status of the Session Initiate answer (0, or e.g. [`ALL_SESSIONS_IN_USE`]).
    pub session_status: u8,
    /// Response code of command 0 (0, or an error such as 16 access restricted).
    pub command0_response_code: u8,
}

impl HartDeviceConfig {
    /// A HART 7 field instrument.
    pub fn instrument(
        manufacturer_id: u16,
        expanded_device_type: u16,
        device_id: u32,
        long_tag: &str,
    ) -> Self {
        HartDeviceConfig {
            expanded_device_type,
            device_id,
            manufacturer_id,
            hart_revision: 7,
            revisions: (3, 5, 1),
            flags: 0,
            device_status: 0,
            long_tag: Some(long_tag.to_owned()),
            sub_devices: Vec::new(),
            session_status: 0,
            command0_response_code: 0,
        }
    }

    /// A HART 7 I/O system (protocol bridge) with these sub-devices.
    pub fn io_system(
        manufacturer_id: u16,
        expanded_device_type: u16,
        device_id: u32,
        long_tag: &str,
        sub_devices: Vec<HartSubDevice>,
    ) -> Self {
        HartDeviceConfig {
            flags: FLAG_PROTOCOL_BRIDGE,
            sub_devices,
            ..Self::instrument(manufacturer_id, expanded_device_type, device_id, long_tag)
        }
    }

    /// A HART 5 instrument: 12-byte command 0 answer (manufacturer id in byte 1), no long
    /// tag.
    pub fn hart5(manufacturer_id: u8, device_type: u8, device_id: u32) -> Self {
        HartDeviceConfig {
            hart_revision: 5,
            revisions: (2, 4, 1),
            long_tag: None,
            ..Self::instrument(
                u16::from(manufacturer_id),
                u16::from_be_bytes([manufacturer_id, device_type]),
                device_id,
                "",
            )
        }
    }

    /// Sets the field device status byte.
    #[must_use]
    pub fn with_device_status(mut self, status: u8) -> Self {
        self.device_status = status;
        self
    }

    /// Sets the Session Initiate status.
    #[must_use]
    pub fn with_session_status(mut self, status: u8) -> Self {
        self.session_status = status;
        self
    }

    /// Sets command 0's response code.
    #[must_use]
    pub fn with_command0_response_code(mut self, code: u8) -> Self {
        self.command0_response_code = code;
        self
    }

    fn unique_address(&self) -> [u8; 5] {
        let [high, low] = self.expanded_device_type.to_be_bytes();
        let [_, a, b, c] = self.device_id.to_be_bytes();
        [high & 0x3F, low, a, b, c]
    }

    /// Command 0's data.
    pub fn command0_data(&self) -> Vec<u8> {
        let [_, a, b, c] = self.device_id.to_be_bytes();
        let (device_rev, software_rev, hardware_rev) = self.revisions;
        let mut data = vec![254];
        data.extend_from_slice(&self.expanded_device_type.to_be_bytes());
        data.extend_from_slice(&[
            5,
            self.hart_revision,
            device_rev,
            software_rev,
            hardware_rev << 3,
            self.flags,
            a,
            b,
            c,
        ]);
        if self.hart_revision >= 7 {
            data.extend_from_slice(&[5, 4, 0, 1, 0]);
            data.extend_from_slice(&self.manufacturer_id.to_be_bytes());
            data.extend_from_slice(&self.manufacturer_id.to_be_bytes());
            data.push(1);
        }
        data
    }

    /// Command 74's data: one card, 16 channels, one device per channel, the I/O system
    /// and its sub-devices detected.
    pub fn command74_data(&self, devices_detected: u16) -> Vec<u8> {
        let mut data = vec![1, 16, 1];
        data.extend_from_slice(&devices_detected.to_be_bytes());
        data.extend_from_slice(&[1, 0, 3]);
        data
    }

    /// Command 84's data for sub-device `index` (1-based), if it exists.
    pub fn command84_data(&self, index: u16) -> Option<Vec<u8>> {
        let sub = self.sub_devices.get(usize::from(index).checked_sub(1)?)?;
        let [_, a, b, c] = sub.device_id.to_be_bytes();
        let mut data = index.to_be_bytes().to_vec();
        data.extend_from_slice(&[sub.io_card, sub.channel]);
        data.extend_from_slice(&sub.manufacturer_id.to_be_bytes());
        data.extend_from_slice(&sub.expanded_device_type.to_be_bytes());
        data.extend_from_slice(&[a, b, c, sub.hart_revision]);
        data.extend_from_slice(&padded_tag(&sub.long_tag));
        data.extend_from_slice(&[1, 1, 0, 0]);
        Some(data)
    }

    /// The answer to one HART frame (a request's delimiter, address, command, byte count,
    /// data and check byte): `None` when it is not for this device or not a well-formed
    /// request (a field device stays silent).
    pub fn answer_frame(&self, frame: &[u8]) -> Option<Vec<u8>> {
        let (&delimiter, rest) = frame.split_first()?;
        let address_len = match delimiter {
            0x02 => 1,
            0x82 => 5,
            _ => return None,
        };
        let address = rest.get(..address_len)?;
        let command = *rest.get(address_len)?;
        let count = usize::from(*rest.get(address_len + 1)?);
        let data = rest.get(address_len + 2..address_len + 2 + count)?;
        let check = *rest.get(address_len + 2 + count)?;
        if xor(&frame[..1 + address_len + 2 + count]) != check {
            return None;
        }
        let for_me = match address {
            [short] => short & 0x3F == 0,
            long => {
                long[0] & 0x3F == self.unique_address()[0]
                    && long[1..] == self.unique_address()[1..]
            }
        };
        if !for_me {
            return None;
        }
        let (code, body) = match (command, address_len) {
            (0, _) if self.command0_response_code != 0 => (self.command0_response_code, Vec::new()),
            (0, _) => (0, self.command0_data()),
            (20, 5) => match &self.long_tag {
                Some(tag) => (0, padded_tag(tag).to_vec()),
                None => (COMMAND_NOT_IMPLEMENTED, Vec::new()),
            },
            (74, 5) if self.flags & FLAG_PROTOCOL_BRIDGE != 0 => {
                let detected = u16::try_from(self.sub_devices.len() + 1).unwrap_or(u16::MAX);
                (0, self.command74_data(detected))
            }
            (84, 5) if self.flags & FLAG_PROTOCOL_BRIDGE != 0 => {
                let index = u16::from_be_bytes([*data.first()?, *data.get(1)?]);
                match self.command84_data(index) {
                    Some(body) => (0, body),
                    // Invalid selection.
                    None => (2, Vec::new()),
                }
            }
            _ => (COMMAND_NOT_IMPLEMENTED, Vec::new()),
        };
        Some(ack_frame(address, command, code, self.device_status, &body))
    }
}

/// A long tag, ISO Latin-1, space padded to 32 bytes (cut at 32).
pub fn padded_tag(tag: &str) -> [u8; 32] {
    let mut out = [b' '; 32];
    for (slot, b) in out.iter_mut().zip(tag.bytes()) {
        *slot = b;
    }
    out
}

/// The XOR of `bytes`: a HART check byte.
pub fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// A field device's answer frame (ACK): delimiter 0x06 / 0x86, the request's address,
/// command, byte count, response code, device status, data and check byte.
pub fn ack_frame(address: &[u8], command: u8, code: u8, status: u8, data: &[u8]) -> Vec<u8> {
    let mut frame = vec![if address.len() == 1 { 0x06 } else { 0x86 }];
    frame.extend_from_slice(address);
    frame.push(command);
    frame.push(u8::try_from(data.len() + 2).unwrap_or(u8::MAX));
    frame.push(code);
    frame.push(status);
    frame.extend_from_slice(data);
    frame.push(xor(&frame));
    frame
}

/// A whole HART-IP message: header (version 1) and body.
pub fn message(
    message_type: u8,
    message_id: u8,
    status: u8,
    sequence: u16,
    body: &[u8],
) -> Vec<u8> {
    let mut out = vec![1, message_type, message_id, status];
    out.extend_from_slice(&sequence.to_be_bytes());
    let length = u16::try_from(HEADER_LEN + body.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The length of the first whole message in `buf` (by its header's byte count), if any;
/// `Some(buf.len())` for bytes that cannot be a HART-IP header (version not 1, byte
/// count under 8).
pub fn message_len(buf: &[u8]) -> Option<usize> {
    let header = buf.get(..HEADER_LEN)?;
    let length = usize::from(u16::from_be_bytes([header[6], header[7]]));
    if header[0] != 1 || length < HEADER_LEN {
        return Some(buf.len());
    }
    (buf.len() >= length).then_some(length)
}

/// The answer to one request message, and whether the connection closes after it.
/// `session` says whether a session is open (and is opened by Session Initiate).
pub fn respond(
    config: &HartDeviceConfig,
    request: &[u8],
    session: &mut bool,
) -> (Option<Vec<u8>>, bool) {
    let Some(header) = request.get(..HEADER_LEN) else {
        return (None, true);
    };
    if header[0] != 1 || header[1] != 0 {
        return (None, true);
    }
    let sequence = u16::from_be_bytes([header[4], header[5]]);
    let body = &request[HEADER_LEN..];
    match header[2] {
        0 => {
            let (master, timer) = match body {
                [master, t0, t1, t2, t3] => (*master, u32::from_be_bytes([*t0, *t1, *t2, *t3])),
                // Too few data bytes.
                _ => return (Some(message(1, 0, 5, sequence, &[])), false),
            };
            *session = config.session_status == 0;
            let mut reply = vec![master];
            reply.extend_from_slice(&timer.to_be_bytes());
            (
                Some(message(1, 0, config.session_status, sequence, &reply)),
                false,
            )
        }
        1 => (Some(message(1, 1, 0, sequence, &[])), true),
        2 => (Some(message(1, 2, 0, sequence, &[])), false),
        // A PDU outside a session: error message, "session closed".
        3 if !*session => (Some(message(3, 3, 0, sequence, &[0])), true),
        3 => match config.answer_frame(body) {
            Some(frame) => (Some(message(1, 3, 0, sequence, &frame)), false),
            None => (None, false),
        },
        _ => (None, true),
    }
}

/// A simulated HART-IP server.
pub struct HartDevice;

impl HartDevice {
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
        config: HartDeviceConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let listener = bind_loopback(addr)?;
        let config = Arc::new(config);
        serve_connections(
            listener,
            recorder,
            Framing::HartIp,
            PROTOCOL,
            move |stream| serve_connection(stream, Arc::clone(&config)),
        )
    }
}

async fn serve_connection(mut stream: RecordingStream<TcpStream>, config: Arc<HartDeviceConfig>) {
    let mut pending = Vec::new();
    let mut chunk = [0u8; 1024];
    let mut session = false;
    loop {
        while let Some(len) = message_len(&pending) {
            let request: Vec<u8> = pending.drain(..len).collect();
            let (reply, close) = respond(&config, &request, &mut session);
            if let Some(reply) = reply {
                if stream.write_all(&reply).await.is_err() {
                    return;
                }
            }
            if close {
                let _ = stream.shutdown().await;
                return;
            }
        }
        if pending.len() > 4096 {
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

    fn config() -> HartDeviceConfig {
        HartDeviceConfig::io_system(
            0x26,
            0x26F0,
            0x00_1234,
            "MUX-1",
            vec![HartSubDevice {
                io_card: 0,
                channel: 3,
                manufacturer_id: 0x26,
                expanded_device_type: 0x2641,
                device_id: 7,
                hart_revision: 7,
                long_tag: "TT-7".into(),
            }],
        )
    }

    #[test]
    fn a_session_then_command_0_and_84() {
        let c = config();
        let mut session = false;
        let (reply, close) = respond(
            &c,
            &message(0, 3, 0, 1, &[0x02, 0, 0, 0, 0x02]),
            &mut session,
        );
        assert_eq!(reply.unwrap(), message(3, 3, 0, 1, &[0]));
        assert!(close, "a PDU outside a session is refused");
        let (reply, _) = respond(
            &c,
            &message(0, 0, 0, 2, &[0, 0, 0, 0x27, 0x10]),
            &mut session,
        );
        assert_eq!(reply.unwrap(), message(1, 0, 0, 2, &[0, 0, 0, 0x27, 0x10]));
        assert!(session);
        let (reply, _) = respond(
            &c,
            &message(0, 3, 0, 3, &[0x02, 0, 0, 0, 0x02]),
            &mut session,
        );
        let reply = reply.unwrap();
        assert_eq!(reply[8], 0x06);
        assert_eq!(reply[HEADER_LEN + 6..HEADER_LEN + 9], [254, 0x26, 0xF0]);
        let mut frame = vec![0x82, 0x26, 0xF0, 0x00, 0x12, 0x34, 84, 2, 0, 1];
        frame.push(xor(&frame));
        let (reply, _) = respond(&c, &message(0, 3, 0, 4, &frame), &mut session);
        let reply = reply.unwrap();
        assert_eq!(
            reply[HEADER_LEN + 10..HEADER_LEN + 12],
            [0, 1],
            "sub-device index 1"
        );
        // A write (command 18) is never served.
        let mut write = vec![0x82, 0x26, 0xF0, 0x00, 0x12, 0x34, 18, 0];
        write.push(xor(&write));
        let (reply, _) = respond(&c, &message(0, 3, 0, 5, &write), &mut session);
        assert_eq!(reply.unwrap()[HEADER_LEN + 8], COMMAND_NOT_IMPLEMENTED);
        let (reply, close) = respond(&c, &message(0, 1, 0, 6, &[]), &mut session);
        assert_eq!(reply.unwrap(), message(1, 1, 0, 6, &[]));
        assert!(close);
    }
}
