//! Simulated PROFINET stations answering DCP Identify All on layer 2 (EtherType 0x8892),
//! for `otscan discover --profinet` across a veth pair in network namespaces a test made.
//!
//! Unlike every other fixture this one is not on loopback: it opens an AF_PACKET socket
//! (CAP_NET_RAW) on one interface, so run it only inside a namespace the test created. To
//! each Identify All request (FrameID 0xFEFE, service 5, type 0, the all selector) it
//! answers for every [`DcpStation`] from that station's MAC address, plus the
//! [`Responder`]'s extra frames: a reply carrying another xid and a hostile reply whose
//! block length runs past the frame. Every DCP frame it receives is reported, so a test can
//! count what the scanner sent.
//!
//! Wire layout (big-endian): FrameID u16, ServiceID u8, ServiceType u8, Xid u32, a reserved
//! u16 in responses (ResponseDelay in requests), DCPDataLength u16, then blocks of Option
//! u8, Suboption u8, DCPBlockLength u16, BlockInfo u16 and the value, padded to even length.

use std::io;
use std::os::fd::IntoRawFd;
use std::time::{Duration, Instant};

/// EtherType of PROFINET real-time frames.
pub const ETHERTYPE: u16 = 0x8892;

/// One simulated station's Identify answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcpStation {
    /// Its MAC address (the responses' source).
    pub mac: [u8; 6],
    /// NameOfStation.
    pub name_of_station: String,
    /// Type of station (the vendor's text).
    pub type_of_station: String,
    /// PI vendor id.
    pub vendor_id: u16,
    /// Device id.
    pub device_id: u16,
    /// Device role bits (0x01 IO device, 0x02 IO controller).
    pub role: u8,
    /// IPv4 address, mask, gateway.
    pub ip: ([u8; 4], [u8; 4], [u8; 4]),
}

impl DcpStation {
    /// An ET 200SP interface module (IO device) at `ip`.
    pub fn et200sp(mac: [u8; 6], ip: [u8; 4]) -> Self {
        DcpStation {
            mac,
            name_of_station: "et200sp-cell3".into(),
            type_of_station: "ET200SP".into(),
            vendor_id: 0x002a,
            device_id: 0x0313,
            role: 0x01,
            ip: (ip, [255, 255, 255, 0], [ip[0], ip[1], ip[2], 1]),
        }
    }

    /// An S7-1500 CPU (IO controller) at `ip`.
    pub fn s7_1500(mac: [u8; 6], ip: [u8; 4]) -> Self {
        DcpStation {
            mac,
            name_of_station: "plc-line2".into(),
            type_of_station: "S7-1500".into(),
            vendor_id: 0x002a,
            device_id: 0x010e,
            role: 0x02,
            ip: (ip, [255, 255, 255, 0], [ip[0], ip[1], ip[2], 1]),
        }
    }
}

fn block(option: u8, suboption: u8, info: u16, value: &[u8]) -> Vec<u8> {
    let len = u16::try_from(value.len() + 2).unwrap_or(u16::MAX);
    let mut out = vec![option, suboption];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&info.to_be_bytes());
    out.extend_from_slice(value);
    if value.len() % 2 == 1 {
        out.push(0);
    }
    out
}

fn response_frame(to: [u8; 6], from: [u8; 6], xid: u32, blocks: &[u8]) -> Vec<u8> {
    let mut out = to.to_vec();
    out.extend_from_slice(&from);
    out.extend_from_slice(&ETHERTYPE.to_be_bytes());
    out.extend_from_slice(&[0xfe, 0xff, 5, 1]);
    out.extend_from_slice(&xid.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    let len = u16::try_from(blocks.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(blocks);
    out.resize(out.len().max(60), 0);
    out
}

/// The station's Identify response to `to` with `xid`.
pub fn identify_response(station: &DcpStation, to: [u8; 6], xid: u32) -> Vec<u8> {
    let (ip, mask, gateway) = station.ip;
    let mut ids = station.vendor_id.to_be_bytes().to_vec();
    ids.extend_from_slice(&station.device_id.to_be_bytes());
    let mut ip_value = ip.to_vec();
    ip_value.extend_from_slice(&mask);
    ip_value.extend_from_slice(&gateway);
    let mut blocks = Vec::new();
    blocks.extend(block(2, 1, 0, station.type_of_station.as_bytes()));
    blocks.extend(block(2, 2, 0, station.name_of_station.as_bytes()));
    blocks.extend(block(2, 3, 0, &ids));
    blocks.extend(block(2, 4, 0, &[station.role, 0]));
    blocks.extend(block(1, 2, 1, &ip_value));
    response_frame(to, station.mac, xid, &blocks)
}

/// A hostile Identify response with `xid`: its NameOfStation block declares 1024 bytes
/// and the frame carries 6.
pub fn hostile_response(from: [u8; 6], to: [u8; 6], xid: u32) -> Vec<u8> {
    let mut blocks = vec![2, 2, 0x04, 0x00, 0, 0];
    blocks.extend_from_slice(b"evil");
    response_frame(to, from, xid, &blocks)
}

/// What the responder saw: one DCP frame that reached it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcpFrame {
    /// Destination MAC.
    pub destination: [u8; 6],
    /// Source MAC.
    pub source: [u8; 6],
    /// FrameID.
    pub frame_id: u16,
    /// ServiceID.
    pub service_id: u8,
    /// ServiceType.
    pub service_type: u8,
    /// Xid.
    pub xid: u32,
    /// ResponseDelay (requests).
    pub response_delay: u16,
    /// The first block's option and suboption, if any.
    pub first_block: Option<(u8, u8)>,
}

impl DcpFrame {
    /// Reads the DCP header of an Ethernet frame of EtherType 0x8892 (no VLAN tag).
    pub fn parse(frame: &[u8]) -> Option<DcpFrame> {
        let u16_at = |i: usize| Some(u16::from_be_bytes([*frame.get(i)?, *frame.get(i + 1)?]));
        if u16_at(12)? != ETHERTYPE {
            return None;
        }
        let mut destination = [0; 6];
        destination.copy_from_slice(frame.get(0..6)?);
        let mut source = [0; 6];
        source.copy_from_slice(frame.get(6..12)?);
        Some(DcpFrame {
            destination,
            source,
            frame_id: u16_at(14)?,
            service_id: *frame.get(16)?,
            service_type: *frame.get(17)?,
            xid: u32::from_be_bytes(frame.get(18..22)?.try_into().ok()?),
            response_delay: u16_at(22)?,
            first_block: frame.get(26..28).map(|b| (b[0], b[1])),
        })
    }

    /// An Identify All request: FrameID 0xFEFE, service 5, type 0, the all selector.
    pub fn is_identify_all(&self) -> bool {
        self.frame_id == 0xfefe
            && self.service_id == 5
            && self.service_type == 0
            && self.first_block == Some((0xff, 0xff))
    }
}

/// Answers Identify All on one interface for its stations, with the extra frames.
#[derive(Debug, Clone)]
pub struct Responder {
    /// The interface (inside a test's namespace).
    pub interface: String,
    /// The well-behaved stations, answered in order.
    pub stations: Vec<DcpStation>,
    /// Send a hostile reply (block length overrun) from this MAC.
    pub hostile_from: Option<[u8; 6]>,
    /// Send a valid reply with another xid (the request's, bit-flipped) from this MAC.
    pub other_xid_from: Option<[u8; 6]>,
    /// Pause between two answers.
    pub spacing: Duration,
}

impl Responder {
    /// Runs until `deadline` (or forever with `None`), calling `seen` for every DCP frame
    /// received and answering every Identify All.
    ///
    /// # Errors
    /// The socket could not be opened (no CAP_NET_RAW, no such interface) or failed.
    pub fn run(
        &self,
        deadline: Option<Instant>,
        mut seen: impl FnMut(&DcpFrame),
    ) -> io::Result<()> {
        let interface = pnet_datalink::interfaces()
            .into_iter()
            .find(|i| i.name == self.interface)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such interface"))?;
        let protocol = socket2::Protocol::from(i32::from(ETHERTYPE.to_be()));
        let socket =
            socket2::Socket::new(socket2::Domain::PACKET, socket2::Type::RAW, Some(protocol))?;
        let config = pnet_datalink::Config {
            read_buffer_size: 2048,
            write_buffer_size: 2048,
            read_timeout: Some(Duration::from_millis(100)),
            channel_type: pnet_datalink::ChannelType::Layer3(ETHERTYPE),
            promiscuous: false,
            socket_fd: Some(socket.into_raw_fd()),
            ..pnet_datalink::Config::default()
        };
        let pnet_datalink::Channel::Ethernet(mut tx, mut rx) =
            pnet_datalink::channel(&interface, config)?
        else {
            return Err(io::Error::other("not an Ethernet channel"));
        };
        while deadline.is_none_or(|d| Instant::now() < d) {
            let frame = match rx.next() {
                Ok(f) => f.to_vec(),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => continue,
                Err(e) => return Err(e),
            };
            let Some(dcp) = DcpFrame::parse(&frame) else {
                continue;
            };
            seen(&dcp);
            if !dcp.is_identify_all() {
                continue;
            }
            let mut answers = Vec::new();
            if let Some(first) = self.stations.first() {
                answers.push(identify_response(first, dcp.source, dcp.xid));
            }
            if let Some(mac) = self.other_xid_from {
                let mut other = self
                    .stations
                    .first()
                    .cloned()
                    .unwrap_or_else(|| DcpStation::et200sp(mac, [10, 250, 0, 99]));
                other.mac = mac;
                other.name_of_station = "not-our-xid".into();
                answers.push(identify_response(&other, dcp.source, !dcp.xid));
            }
            if let Some(mac) = self.hostile_from {
                answers.push(hostile_response(mac, dcp.source, dcp.xid));
            }
            for station in self.stations.iter().skip(1) {
                answers.push(identify_response(station, dcp.source, dcp.xid));
            }
            for answer in answers {
                std::thread::sleep(self.spacing);
                if let Some(Err(e)) = tx.send_to(&answer, None) {
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_carry_the_blocks_and_the_hostile_one_overruns() {
        let station = DcpStation::et200sp([2, 0, 0, 0, 0, 0x10], [10, 250, 0, 10]);
        let frame = identify_response(&station, [2, 0, 0, 0, 0, 1], 7);
        let header = DcpFrame::parse(&frame).unwrap();
        assert_eq!(
            (header.frame_id, header.service_id, header.xid),
            (0xfeff, 5, 7)
        );
        assert_eq!(header.source, station.mac);
        assert_eq!(header.first_block, Some((2, 1)));
        let hostile = hostile_response([2, 0, 0, 0, 0, 0x66], [2, 0, 0, 0, 0, 1], 7);
        assert_eq!(&hostile[26..30], &[2, 2, 0x04, 0x00]);
        assert_eq!(hostile.len(), 60);
    }
}
