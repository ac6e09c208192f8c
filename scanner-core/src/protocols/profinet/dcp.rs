//! PROFINET DCP (Discovery and basic Configuration Protocol, layer 2, EtherType 0x8892),
//! sans IO: the closed [`DcpRequest`] set (Identify All, nothing else), [`encode_dcp`],
//! [`ethernet_frame`] and [`parse_identify_response`].
//!
//! Wire facts (checked against Wireshark's packet-pn-dcp.c and packet-pn-rt.c, read for
//! facts only; all integers big-endian):
//!
//! - After the Ethernet header (an 802.1Q tag allowed): FrameID u16 (0xFEFE Identify
//!   request to the multicast 01:0E:CF:00:00:00, 0xFEFF Identify response, 0xFEFD
//!   Get/Set, 0xFEFC Hello), ServiceID u8 (3 Get, 4 Set, 5 Identify, 6 Hello),
//!   ServiceType u8 (0 request, 1 response success, 5 request not supported), Xid u32,
//!   ResponseDelay u16 (requests; reserved in responses), DCPDataLength u16, then blocks.
//! - A block: Option u8, Suboption u8, DCPBlockLength u16, then (in responses) BlockInfo
//!   u16 and the value; a block of odd length is followed by one padding byte.
//! - Options: 0x01 IP (0x01 MAC address, 0x02 IP parameter: address, mask, gateway,
//!   0x03 full IP suite), 0x02 device properties (0x01 type of station, the vendor's
//!   text; 0x02 NameOfStation; 0x03 device id: vendor id u16, device id u16; 0x04 device
//!   role u8 and a reserved byte; 0x05 device options; 0x06 alias name; 0x07 device
//!   instance), 0x03 DHCP, 0x05 control (start/end transaction, signal, reset to
//!   factory), 0xFF/0xFF the all selector.
//!
//! Only Identify All can be spelled: Set (service 4) renames a station, changes its IP
//! address or resets it to factory settings through the control option, and Get reads
//! one station by its MAC; [`encode_dcp`] writes the constant FrameID 0xFEFE, service 5,
//! type 0 and the one all-selector block.

use crate::protocols::wire::{Cursor, Truncated};

/// EtherType of PROFINET real-time frames (DCP among them).
pub const ETHERTYPE: u16 = 0x8892;
/// The multicast address Identify requests go to.
pub const IDENTIFY_MULTICAST: [u8; 6] = [0x01, 0x0e, 0xcf, 0x00, 0x00, 0x00];
/// FrameID of an Identify request.
pub const FRAME_ID_IDENTIFY_REQUEST: u16 = 0xfefe;
/// FrameID of an Identify response.
pub const FRAME_ID_IDENTIFY_RESPONSE: u16 = 0xfeff;
/// ServiceID of Identify.
pub const SERVICE_IDENTIFY: u8 = 5;
/// Largest response delay factor (in 10 ms units), as the standard bounds it.
pub const MAX_RESPONSE_DELAY: u16 = 6400;
/// Most blocks read from one response.
pub const MAX_BLOCKS: usize = 64;

/// The DCP requests otscan can send; nothing else can be spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DcpRequest {
    /// Identify All: every station on the segment answers, each after a random delay of
    /// up to `response_delay` × 10 ms (1 to [`MAX_RESPONSE_DELAY`]; other values are
    /// clamped), with `xid` echoed.
    IdentifyAll {
        /// Transaction id, echoed by every response.
        xid: u32,
        /// Response delay factor (10 ms units).
        response_delay: u16,
    },
}

/// The DCP PDU of `request` (FrameID onwards, no Ethernet header).
pub fn encode_dcp(request: &DcpRequest) -> Vec<u8> {
    let DcpRequest::IdentifyAll {
        xid,
        response_delay,
    } = *request;
    let delay = response_delay.clamp(1, MAX_RESPONSE_DELAY);
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&FRAME_ID_IDENTIFY_REQUEST.to_be_bytes());
    out.extend_from_slice(&[SERVICE_IDENTIFY, 0]);
    out.extend_from_slice(&xid.to_be_bytes());
    out.extend_from_slice(&delay.to_be_bytes());
    out.extend_from_slice(&4u16.to_be_bytes());
    out.extend_from_slice(&[0xff, 0xff, 0x00, 0x00]);
    out
}

/// An Ethernet frame from `source` to the Identify multicast address carrying `request`,
/// padded to the 60-byte minimum.
pub fn ethernet_frame(source: [u8; 6], request: &DcpRequest) -> Vec<u8> {
    let mut out = IDENTIFY_MULTICAST.to_vec();
    out.extend_from_slice(&source);
    out.extend_from_slice(&ETHERTYPE.to_be_bytes());
    out.extend(encode_dcp(request));
    out.resize(out.len().max(60), 0);
    out
}

/// Why a frame is not an Identify response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DcpError {
    /// Fewer bytes than a structure needs.
    #[error("frame truncated: {what} needs {needed} bytes, {available} present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// Not EtherType 0x8892.
    #[error("EtherType {0:#06x}, not PROFINET (0x8892)")]
    NotProfinet(u16),
    /// Another frame than an Identify response (a request, Hello, Get/Set, cyclic data).
    #[error("FrameID {frame_id:#06x} service {service_id} type {service_type} is not an Identify response")]
    NotIdentifyResponse {
        /// FrameID.
        frame_id: u16,
        /// ServiceID.
        service_id: u8,
        /// ServiceType.
        service_type: u8,
    },
    /// The station said it does not support the request.
    #[error("station answered 'request not supported' (service type 5)")]
    Unsupported,
    /// A block longer than the bytes left.
    #[error("block {option:#04x}/{suboption:#04x} declares {declared} bytes, {available} present")]
    BlockOverrun {
        /// Option.
        option: u8,
        /// Suboption.
        suboption: u8,
        /// Declared length.
        declared: usize,
        /// Bytes left.
        available: usize,
    },
}

impl From<Truncated> for DcpError {
    fn from(t: Truncated) -> Self {
        DcpError::Truncated {
            what: t.what,
            needed: t.needed,
            available: t.available,
        }
    }
}

/// A station's Identify response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdentifyResponse {
    /// The station's MAC address (the frame's source).
    pub mac: [u8; 6],
    /// Xid (the request's, echoed).
    pub xid: u32,
    /// NameOfStation (device option 0x02/0x02), as sent.
    pub name_of_station: Option<Vec<u8>>,
    /// Type of station, the vendor's text (0x02/0x01), as sent.
    pub type_of_station: Option<Vec<u8>>,
    /// Vendor id and device id (0x02/0x03).
    pub device_id: Option<(u16, u16)>,
    /// Device role bits (0x02/0x04): 0x01 IO device, 0x02 IO controller, 0x04 IO
    /// multidevice, 0x08 PN supervisor.
    pub device_role: Option<u8>,
    /// IPv4 address, subnet mask and gateway (0x01/0x02).
    pub ip: Option<([u8; 4], [u8; 4], [u8; 4])>,
    /// The IP block's BlockInfo (0 not set, 1 set, 2 set by DHCP; bit 7 address conflict).
    pub ip_block_info: Option<u16>,
    /// Every other block: option, suboption, value (BlockInfo removed).
    pub other_blocks: Vec<(u8, u8, Vec<u8>)>,
    /// Oddities that did not stop decoding.
    pub warnings: Vec<String>,
}

/// Names of the device role bits.
pub fn device_roles(role: u8) -> Vec<&'static str> {
    [
        (0x01, "IO device"),
        (0x02, "IO controller"),
        (0x04, "IO multidevice"),
        (0x08, "PN supervisor"),
    ]
    .into_iter()
    .filter(|(bit, _)| role & bit != 0)
    .map(|(_, name)| name)
    .collect()
}

/// Decodes an Ethernet frame as an Identify response.
///
/// # Errors
/// [`DcpError`]: a short frame, another EtherType, another DCP frame, an "unsupported"
/// answer or a block that runs past the data.
pub fn parse_identify_response(frame: &[u8]) -> Result<IdentifyResponse, DcpError> {
    let mut c = Cursor::new(frame);
    let _dst: [u8; 6] = c.array("destination MAC")?;
    let mac: [u8; 6] = c.array("source MAC")?;
    let mut ethertype = c.u16_be("EtherType")?;
    if ethertype == 0x8100 {
        let _tci = c.u16_be("VLAN tag")?;
        ethertype = c.u16_be("EtherType")?;
    }
    if ethertype != ETHERTYPE {
        return Err(DcpError::NotProfinet(ethertype));
    }
    let frame_id = c.u16_be("FrameID")?;
    let service_id = c.u8("ServiceID")?;
    let service_type = c.u8("ServiceType")?;
    if frame_id == FRAME_ID_IDENTIFY_RESPONSE && service_id == SERVICE_IDENTIFY && service_type == 5
    {
        return Err(DcpError::Unsupported);
    }
    if frame_id != FRAME_ID_IDENTIFY_RESPONSE || service_id != SERVICE_IDENTIFY || service_type != 1
    {
        return Err(DcpError::NotIdentifyResponse {
            frame_id,
            service_id,
            service_type,
        });
    }
    let xid = c.u32_be("Xid")?;
    let _reserved = c.u16_be("reserved")?;
    let data_len = usize::from(c.u16_be("DCPDataLength")?);
    let mut r = IdentifyResponse {
        mac,
        xid,
        ..IdentifyResponse::default()
    };
    let data = if data_len > c.len() {
        r.warnings.push(format!(
            "DCPDataLength {data_len} but {} bytes follow",
            c.len()
        ));
        c.rest()
    } else {
        c.take(data_len, "DCP data")?
    };
    let mut d = Cursor::new(data);
    while d.len() >= 4 {
        if r.other_blocks.len() + 8 > MAX_BLOCKS {
            r.warnings
                .push(format!("more than {MAX_BLOCKS} blocks: the rest ignored"));
            break;
        }
        let option = d.u8("option")?;
        let suboption = d.u8("suboption")?;
        let declared = usize::from(d.u16_be("block length")?);
        let available = d.len();
        let block = d
            .take(declared, "block")
            .map_err(|_| DcpError::BlockOverrun {
                option,
                suboption,
                declared,
                available,
            })?;
        if declared % 2 == 1 {
            d.take_upto(1);
        }
        let (info, value) = match block {
            [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
            _ => {
                r.warnings.push(format!(
                    "block {option:#04x}/{suboption:#04x} shorter than its BlockInfo"
                ));
                continue;
            }
        };
        match (option, suboption) {
            (0x02, 0x02) => r.name_of_station = Some(value.to_vec()),
            (0x02, 0x01) => r.type_of_station = Some(value.to_vec()),
            (0x02, 0x03) if value.len() >= 4 => {
                r.device_id = Some((
                    u16::from_be_bytes([value[0], value[1]]),
                    u16::from_be_bytes([value[2], value[3]]),
                ));
            }
            (0x02, 0x04) if !value.is_empty() => r.device_role = Some(value[0]),
            (0x01, 0x02) if value.len() >= 12 => {
                let q = |i: usize| [value[i], value[i + 1], value[i + 2], value[i + 3]];
                r.ip = Some((q(0), q(4), q(8)));
                r.ip_block_info = Some(info);
            }
            _ => r.other_blocks.push((option, suboption, value.to_vec())),
        }
    }
    if d.len() > 0 {
        r.warnings
            .push(format!("{} bytes after the last block ignored", d.len()));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn block(option: u8, suboption: u8, info: u16, value: &[u8]) -> Vec<u8> {
        let mut out = vec![option, suboption];
        out.extend_from_slice(&u16::try_from(value.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(&info.to_be_bytes());
        out.extend_from_slice(value);
        if value.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    /// An ET 200SP's Identify response as Wireshark's dissector lays it out: type of
    /// station, NameOfStation (odd length, padded), device id 0x002A/0x0313, role IO
    /// device, IP 192.168.0.10/24 via 192.168.0.1.
    pub(crate) fn et200sp(xid: u32) -> Vec<u8> {
        let mut blocks = Vec::new();
        blocks.extend(block(2, 1, 0, b"ET200SP"));
        blocks.extend(block(2, 2, 0, b"et200sp-cell3"));
        blocks.extend(block(2, 3, 0, &[0x00, 0x2a, 0x03, 0x13]));
        blocks.extend(block(2, 4, 0, &[0x01, 0x00]));
        blocks.extend(block(
            1,
            2,
            1,
            &[192, 168, 0, 10, 255, 255, 255, 0, 192, 168, 0, 1],
        ));
        let mut out = vec![0x28, 0x63, 0x36, 0x01, 0x02, 0x03];
        out.extend_from_slice(&[0x28, 0x63, 0x36, 0xaa, 0xbb, 0xcc]);
        out.extend_from_slice(&[0x88, 0x92, 0xfe, 0xff, 5, 1]);
        out.extend_from_slice(&xid.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&u16::try_from(blocks.len()).unwrap().to_be_bytes());
        out.extend(blocks);
        out
    }

    #[test]
    fn identify_all_is_the_all_selector_to_the_multicast_address() {
        let request = DcpRequest::IdentifyAll {
            xid: 0x0102_0304,
            response_delay: 0,
        };
        assert_eq!(
            encode_dcp(&request),
            [0xfe, 0xfe, 5, 0, 1, 2, 3, 4, 0, 1, 0, 4, 0xff, 0xff, 0, 0]
        );
        let frame = ethernet_frame([2, 0, 0, 0, 0, 1], &request);
        assert_eq!(frame.len(), 60);
        assert_eq!(frame[..6], IDENTIFY_MULTICAST);
        assert_eq!(frame[12..14], [0x88, 0x92]);
    }

    #[test]
    fn an_et200sp_response_gives_name_ids_role_and_ip() {
        let r = parse_identify_response(&et200sp(7)).unwrap();
        assert_eq!(r.xid, 7);
        assert_eq!(r.mac, [0x28, 0x63, 0x36, 0xaa, 0xbb, 0xcc]);
        assert_eq!(r.name_of_station.as_deref(), Some(&b"et200sp-cell3"[..]));
        assert_eq!(r.type_of_station.as_deref(), Some(&b"ET200SP"[..]));
        assert_eq!(r.device_id, Some((0x002a, 0x0313)));
        assert_eq!(device_roles(r.device_role.unwrap()), ["IO device"]);
        assert_eq!(
            r.ip,
            Some(([192, 168, 0, 10], [255, 255, 255, 0], [192, 168, 0, 1]))
        );
        assert_eq!(r.ip_block_info, Some(1));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn other_frames_and_bent_blocks_are_typed_errors() {
        let good = et200sp(1);
        let mut request = good.clone();
        request[14..16].copy_from_slice(&[0xfe, 0xfe]);
        assert!(matches!(
            parse_identify_response(&request),
            Err(DcpError::NotIdentifyResponse { .. })
        ));
        let mut set = good.clone();
        set[16] = 4;
        assert!(parse_identify_response(&set).is_err());
        let mut unsupported = good.clone();
        unsupported[17] = 5;
        assert_eq!(
            parse_identify_response(&unsupported),
            Err(DcpError::Unsupported)
        );
        let mut ip = good.clone();
        ip[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(
            parse_identify_response(&ip),
            Err(DcpError::NotProfinet(0x0800))
        );
        let mut overrun = good.clone();
        overrun[28..30].copy_from_slice(&[0xff, 0xff]);
        assert!(matches!(
            parse_identify_response(&overrun),
            Err(DcpError::BlockOverrun { .. })
        ));
        assert!(parse_identify_response(&good[..20]).is_err());
        // A VLAN tag is skipped.
        let mut tagged = good[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
        tagged.extend_from_slice(&good[12..]);
        assert_eq!(
            parse_identify_response(&tagged).unwrap().device_id,
            Some((0x2a, 0x313))
        );
        // A data length longer than the frame: what is there is read, with a warning.
        let mut long = good;
        long[24..26].copy_from_slice(&[0x7f, 0xff]);
        assert_eq!(parse_identify_response(&long).unwrap().warnings.len(), 1);
    }

    proptest! {
        #[test]
        fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_identify_response(&bytes);
        }

        #[test]
        fn mutated_responses_never_panic(at in 0usize..120, value in any::<u8>(), cut in 0usize..120) {
            let mut bytes = et200sp(3);
            if at < bytes.len() {
                bytes[at] = value;
            }
            bytes.truncate(cut.max(1));
            let _ = parse_identify_response(&bytes);
        }
    }

    #[test]
    fn an_identify_response_becomes_details_and_identity() {
        use crate::protocols::profinet::details::{dcp_identity_fields, ProfinetDetails};
        use crate::record::fields::{DeviceType, VendorIdSpace};
        let details = ProfinetDetails::from_dcp(&parse_identify_response(&et200sp(7)).unwrap());
        assert_eq!(
            (details.vendor_id, details.device_id),
            (Some(0x2a), Some(0x313))
        );
        let dcp = details.dcp.as_ref().unwrap();
        assert_eq!(dcp.mac, "28:63:36:aa:bb:cc");
        assert_eq!(dcp.roles, ["IO device"]);
        assert_eq!(dcp.gateway, Some(std::net::Ipv4Addr::new(192, 168, 0, 1)));
        let identity = dcp_identity_fields(&details);
        assert_eq!(identity.hostname.as_deref(), Some("et200sp-cell3"));
        assert_eq!(identity.model.as_deref(), Some("ET200SP"));
        assert_eq!(identity.mac.as_deref(), Some("28:63:36:aa:bb:cc"));
        assert_eq!(
            identity.vendor_id.map(|v| (v.space, v.id)),
            Some((VendorIdSpace::Profinet, 0x2a))
        );
        // An IO device alone names no device type; an IO controller is a PLC.
        assert_eq!(identity.device_type, None);
        let mut controller = et200sp(7);
        let role = controller.len() - 20;
        assert_eq!(controller[role - 6..role - 2], [2, 4, 0, 4]);
        controller[role] = 0x02;
        let details = ProfinetDetails::from_dcp(&parse_identify_response(&controller).unwrap());
        assert_eq!(
            dcp_identity_fields(&details).device_type,
            Some(DeviceType::Plc)
        );
    }
}
