//! A simulated KNXnet/IP interface or router (UDP 3671), decoded by hand (never with
//! otscan's encoder).
//!
//! A DESCRIPTION_REQUEST (0x0203) with a well-formed IPv4 UDP HPAI gets a
//! DESCRIPTION_RESPONSE (0x0204) carrying the device information DIB, the supported
//! service families DIB and, when configured, a manufacturer data DIB, sent back to the
//! datagram's source (the route-back HPAI 0.0.0.0:0, and on loopback any HPAI). A
//! SEARCH_REQUEST gets no answer (it is multicast, never otscan's); a CONNECT_REQUEST
//! gets a CONNECT_RESPONSE with status 0x22 (E_CONNECTION_TYPE: no connection taken), so
//! nothing reaches a KNX bus; anything else is dropped.

use std::{io, net::SocketAddr};

use crate::{
    device::{bind_udp, serve_datagrams, DeviceHandle, Scope},
    recorder::Recorder,
};

/// The label recorded datagrams carry.
pub const PROTOCOL: &str = "knx";
/// The KNXnet/IP port.
pub const PORT: u16 = 3671;
/// DESCRIPTION_REQUEST.
pub const DESCRIPTION_REQUEST: u16 = 0x0203;
/// DESCRIPTION_RESPONSE.
pub const DESCRIPTION_RESPONSE: u16 = 0x0204;
/// CONNECT_REQUEST.
pub const CONNECT_REQUEST: u16 = 0x0205;
/// CONNECT_RESPONSE.
pub const CONNECT_RESPONSE: u16 = 0x0206;

/// What a simulated KNXnet/IP device answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnxDeviceConfig {
    /// KNX medium code (0x02 TP1, 0x20 KNX IP).
    pub medium: u8,
    /// Programming mode (device status bit 0).
    pub programming_mode: bool,
    /// KNX individual address (area << 12 | line << 8 | device).
    pub individual_address: u16,
    /// Project-installation id.
    pub project_installation_id: u16,
    /// KNX serial number.
    pub serial_number: [u8; 6],
    /// Routing multicast address.
    pub multicast_address: [u8; 4],
    /// MAC address.
    pub mac: [u8; 6],
    /// Friendly name (cut to 30 bytes, NUL padded).
    pub friendly_name: Vec<u8>,
    /// Supported service families (id, version).
    pub service_families: Vec<(u8, u8)>,
    /// Manufacturer data DIB: manufacturer id and bytes.
    pub manufacturer_data: Option<(u16, Vec<u8>)>,
}

impl KnxDeviceConfig {
    /// A KNX IP router (TP1 line, routing and tunnelling) called `friendly_name` at
    /// `individual_address` ("area.line.device").
    ///
    /// # Panics
    /// When the address is not `area.line.device`.
    pub fn router(friendly_name: &str, individual_address: &str) -> Self {
        let parts: Vec<u16> = individual_address
            .split('.')
            .map(|p| p.parse().expect("individual address part"))
            .collect();
        assert_eq!(parts.len(), 3, "individual address is area.line.device");
        KnxDeviceConfig {
            medium: 0x02,
            programming_mode: false,
            individual_address: parts[0] << 12 | parts[1] << 8 | parts[2],
            project_installation_id: 0,
            serial_number: [0x00, 0x83, 0x49, 0x00, 0x11, 0x22],
            multicast_address: [224, 0, 23, 12],
            mac: [0x00, 0x24, 0x6d, 0x01, 0x02, 0x03],
            friendly_name: friendly_name.as_bytes().to_vec(),
            service_families: vec![(0x02, 1), (0x03, 1), (0x04, 1), (0x05, 1)],
            manufacturer_data: None,
        }
    }

    /// An interface: tunnelling, no routing, no multicast address.
    #[must_use]
    pub fn interface(mut self) -> Self {
        self.service_families.retain(|f| f.0 != 0x05);
        self.multicast_address = [0; 4];
        self
    }

    /// In programming mode.
    #[must_use]
    pub fn programming(mut self) -> Self {
        self.programming_mode = true;
        self
    }

    /// With this serial number and MAC.
    #[must_use]
    pub fn with_ids(mut self, serial_number: [u8; 6], mac: [u8; 6]) -> Self {
        self.serial_number = serial_number;
        self.mac = mac;
        self
    }

    /// With a manufacturer data DIB.
    #[must_use]
    pub fn with_manufacturer_data(mut self, id: u16, data: &[u8]) -> Self {
        self.manufacturer_data = Some((id, data.to_vec()));
        self
    }

    /// The DESCRIPTION_RESPONSE body (the DIBs).
    pub fn dibs(&self) -> Vec<u8> {
        let mut out = vec![54, 0x01, self.medium, u8::from(self.programming_mode)];
        out.extend_from_slice(&self.individual_address.to_be_bytes());
        out.extend_from_slice(&self.project_installation_id.to_be_bytes());
        out.extend_from_slice(&self.serial_number);
        out.extend_from_slice(&self.multicast_address);
        out.extend_from_slice(&self.mac);
        let mut name = self.friendly_name.clone();
        name.resize(30, 0);
        out.extend_from_slice(&name);
        let families = u8::try_from(2 + 2 * self.service_families.len()).unwrap_or(u8::MAX);
        out.extend_from_slice(&[families, 0x02]);
        for (id, version) in &self.service_families {
            out.extend_from_slice(&[*id, *version]);
        }
        if let Some((id, data)) = &self.manufacturer_data {
            out.push(u8::try_from(4 + data.len()).unwrap_or(u8::MAX));
            out.push(0xFE);
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(data);
        }
        out
    }

    /// The reply to one datagram (`None`: no answer).
    pub fn reply(&self, datagram: &[u8]) -> Option<Vec<u8>> {
        let (service, body) = parse_header(datagram)?;
        match service {
            DESCRIPTION_REQUEST if hpai_ok(body) => Some(frame(DESCRIPTION_RESPONSE, &self.dibs())),
            // Channel 0, status E_CONNECTION_TYPE, no data endpoint.
            CONNECT_REQUEST => Some(frame(CONNECT_RESPONSE, &[0x00, 0x22])),
            _ => None,
        }
    }
}

/// The service type and body of a KNXnet/IP 1.0 frame whose total length is the
/// datagram's.
pub fn parse_header(datagram: &[u8]) -> Option<(u16, &[u8])> {
    let [6, 0x10, s0, s1, l0, l1, body @ ..] = datagram else {
        return None;
    };
    (usize::from(u16::from_be_bytes([*l0, *l1])) == datagram.len())
        .then_some((u16::from_be_bytes([*s0, *s1]), body))
}

/// An IPv4 UDP HPAI of length 8 and nothing after it.
fn hpai_ok(body: &[u8]) -> bool {
    matches!(body, [8, 0x01, _, _, _, _, _, _])
}

/// A KNXnet/IP frame of `service` around `body`.
pub fn frame(service: u16, body: &[u8]) -> Vec<u8> {
    let mut out = vec![6, 0x10];
    out.extend_from_slice(&service.to_be_bytes());
    let total = u16::try_from(6 + body.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A simulated KNXnet/IP device.
#[derive(Debug)]
pub struct KnxDevice;

impl KnxDevice {
    /// Starts serving `config` on UDP `addr` (loopback only), recording every datagram.
    ///
    /// # Errors
    /// A non-loopback address or a failed bind.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(
        addr: SocketAddr,
        config: KnxDeviceConfig,
        recorder: Recorder,
    ) -> io::Result<DeviceHandle> {
        let socket = bind_udp(addr, Scope::Loopback)?;
        serve_datagrams(socket, recorder, PROTOCOL, move |d| config.reply(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESCRIBE: [u8; 14] = [6, 0x10, 2, 3, 0, 14, 8, 1, 0, 0, 0, 0, 0, 0];

    #[test]
    fn description_request_gets_the_dibs() {
        let config = KnxDeviceConfig::router("MDT IP Router", "1.1.0");
        let reply = config.reply(&DESCRIBE).unwrap();
        assert_eq!(reply[..4], [6, 0x10, 2, 4]);
        assert_eq!(
            usize::from(u16::from_be_bytes([reply[4], reply[5]])),
            reply.len()
        );
        assert_eq!(reply[6..8], [54, 1]);
        assert_eq!(reply[10..12], [0x11, 0x00]);
        assert_eq!(&reply[30..43], b"MDT IP Router");
        assert_eq!(reply[60..62], [10, 2]);
    }

    #[test]
    fn connect_is_refused_and_garbage_dropped() {
        let config = KnxDeviceConfig::router("r", "1.1.0");
        let mut connect = DESCRIBE.to_vec();
        connect[3] = 5;
        assert_eq!(config.reply(&connect).unwrap()[2..4], [2, 6]);
        assert_eq!(config.reply(&DESCRIBE[..10]), None);
        assert_eq!(config.reply(b"garbage"), None);
    }
}
