//! The closed set of requests otscan can ever put on the wire.
//!
//! Safety rule 1 of the design: every byte the scanner sends is encoded from a
//! [`ReadOnlyRequest`]. The session's send paths accept nothing else (no raw byte
//! slices), and each variant wraps one protocol's own closed `Request` enum (in that
//! protocol's `codec.rs`), which can only express read-only identification requests:
//! there is no field through which a write, a session registration or a set request
//! could be spelled. Adding a variant, or a variant to a protocol's `Request`, is a
//! reviewed design change.

use crate::protocols::{bacnet, enip, modbus, s7, snmp};
use crate::record::fields::Protocol;

/// A read-only identification request, the only thing otscan can send: one variant per
/// protocol, each wrapping that protocol's closed request enum.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReadOnlyRequest {
    /// Modbus/TCP: FC 0x2B / MEI 0x0E Read Device Identification, FC 0x11 Report Server ID.
    Modbus(modbus::Request),
    /// EtherNet/IP: the session-less ListIdentity, ListServices, ListInterfaces.
    Enip(enip::Request),
    /// Siemens S7: COTP Connection Request, Setup Communication, read SZL 0x0011/0x001C.
    S7(s7::Request),
    /// BACnet/IP: ReadProperty / ReadPropertyMultiple of the Device object, unicast Who-Is.
    Bacnet(bacnet::Request),
    /// SNMP: v1/v2c GetRequest / GetNextRequest, v3 engine discovery.
    Snmp(snmp::Request),
}

impl ReadOnlyRequest {
    /// Encodes the request into the bytes that go on the wire.
    ///
    /// `correlation` ties a reply to its request; each codec says where it goes (the
    /// Modbus transaction id, the EtherNet/IP sender context, the SNMP request id, the
    /// BACnet invoke id, the S7 PDU reference).
    pub fn encode(&self, correlation: u32) -> Vec<u8> {
        match self {
            ReadOnlyRequest::Modbus(r) => modbus::codec::encode(r, correlation),
            ReadOnlyRequest::Enip(r) => enip::codec::encode(r, correlation),
            ReadOnlyRequest::S7(r) => s7::codec::encode(r, correlation),
            ReadOnlyRequest::Bacnet(r) => bacnet::codec::encode(r, correlation),
            ReadOnlyRequest::Snmp(r) => snmp::codec::encode(r, correlation),
        }
    }

    /// The protocol this request belongs to.
    pub fn protocol(&self) -> Protocol {
        match self {
            ReadOnlyRequest::Modbus(_) => Protocol::Modbus,
            ReadOnlyRequest::Enip(_) => Protocol::Enip,
            ReadOnlyRequest::S7(_) => Protocol::S7,
            ReadOnlyRequest::Bacnet(_) => Protocol::Bacnet,
            ReadOnlyRequest::Snmp(_) => Protocol::Snmp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::bacnet::{DeviceInstance, InstanceRange, PropertyId};
    use crate::protocols::modbus::ReadDeviceIdCode;
    use crate::protocols::s7::{SzlId, Tsap};
    use crate::protocols::snmp::{SnmpRead, SnmpVersion};

    /// A BACnet/IP request is an Original-Unicast NPDU without routing whose APDU is
    /// a confirmed ReadProperty / ReadPropertyMultiple of the Device object or an
    /// unconfirmed Who-Is: never a write, a device-control or a broadcast.
    fn assert_bacnet_read_only(bytes: &[u8]) {
        assert_eq!(&bytes[..2], [0x81, 0x0A], "{bytes:02x?}");
        assert_eq!(
            usize::from(u16::from_be_bytes([bytes[2], bytes[3]])),
            bytes.len()
        );
        assert_eq!(bytes[4], 0x01, "NPDU version");
        assert_eq!(bytes[5] & !0x04, 0, "no routing, no network message");
        let apdu = &bytes[6..];
        match apdu[0] >> 4 {
            0 => {
                assert_eq!(apdu[0], 0x00, "not segmented");
                assert!(matches!(apdu[3], 0x0C | 0x0E), "{apdu:02x?}");
                // Context tag 0: an object identifier of type 8 (Device).
                assert_eq!(apdu[4], 0x0C);
                assert_eq!(
                    u32::from_be_bytes([apdu[5], apdu[6], apdu[7], apdu[8]]) >> 22,
                    8
                );
            }
            1 => assert_eq!(apdu[1], 0x08, "only Who-Is is unconfirmed"),
            _ => panic!("not a request: {apdu:02x?}"),
        }
    }

    /// An S7 request is a COTP Connection Request, a Setup Communication job or a
    /// userdata read of SZL 0x0011 / 0x001C: never another job function (read or write
    /// variables, download, stop, PLC control) nor another userdata function.
    fn assert_s7_read_only(bytes: &[u8]) {
        assert_eq!(bytes[0], 3, "TPKT version");
        assert_eq!(
            usize::from(u16::from_be_bytes([bytes[2], bytes[3]])),
            bytes.len()
        );
        let cotp = &bytes[4..];
        match cotp[1] {
            0xE0 => assert_eq!(usize::from(cotp[0]) + 1, cotp.len(), "CR carries no data"),
            0xF0 => {
                let s7 = &cotp[3..];
                assert_eq!(s7[0], 0x32);
                let params = &s7[10..];
                match s7[1] {
                    0x01 => assert_eq!(params[0], 0xF0, "the only job is Setup Communication"),
                    0x07 => {
                        assert_eq!(&params[..7], [0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01]);
                        let data = &s7[18..];
                        let szl = u16::from_be_bytes([data[4], data[5]]);
                        assert!(matches!(szl, 0x0011 | 0x001C), "SZL {szl:#06x}");
                    }
                    other => panic!("ROSCTR {other:#04x} in {bytes:02x?}"),
                }
            }
            other => panic!("COTP TPDU {other:#04x}"),
        }
    }

    /// Every request the enum can express, for every unit id and read code, encodes
    /// to an allowlisted read-only frame; nothing else can be built.
    #[test]
    fn every_encodable_request_is_read_only() {
        let mut all = vec![
            ReadOnlyRequest::Enip(enip::Command::ListIdentity),
            ReadOnlyRequest::Enip(enip::Command::ListServices),
            ReadOnlyRequest::Enip(enip::Command::ListInterfaces),
            ReadOnlyRequest::Snmp(snmp::Request::V3Discovery),
        ];
        for version in [SnmpVersion::V1, SnmpVersion::V2c, SnmpVersion::V3] {
            for read in [SnmpRead::Get, SnmpRead::GetNext] {
                all.push(ReadOnlyRequest::Snmp(snmp::Request::Read {
                    version,
                    community: b"public".to_vec(),
                    read,
                    oids: snmp::SYSTEM_GROUP.iter().map(|o| o.to_vec()).collect(),
                }));
            }
        }
        for device in [
            DeviceInstance::WILDCARD,
            DeviceInstance::new(0).unwrap(),
            DeviceInstance::new(260_001).unwrap(),
        ] {
            all.push(ReadOnlyRequest::Bacnet(
                bacnet::Request::ReadPropertyMultiple {
                    device,
                    properties: Vec::new(),
                },
            ));
            all.push(ReadOnlyRequest::Bacnet(
                bacnet::Request::ReadPropertyMultiple {
                    device,
                    properties: PropertyId::ALL.to_vec(),
                },
            ));
            for property in PropertyId::ALL {
                all.push(ReadOnlyRequest::Bacnet(bacnet::Request::ReadProperty {
                    device,
                    property,
                }));
            }
        }
        all.push(ReadOnlyRequest::Bacnet(bacnet::Request::WhoIs {
            range: None,
        }));
        all.push(ReadOnlyRequest::Bacnet(bacnet::Request::WhoIs {
            range: InstanceRange::new(DeviceInstance::new(7).unwrap(), DeviceInstance::WILDCARD),
        }));
        for destination in Tsap::CANDIDATES {
            all.push(ReadOnlyRequest::S7(s7::Request::ConnectionRequest {
                destination,
            }));
        }
        all.push(ReadOnlyRequest::S7(s7::Request::SetupCommunication));
        for szl in [SzlId::ModuleIdentification, SzlId::ComponentIdentification] {
            all.push(ReadOnlyRequest::S7(s7::Request::ReadSzl { szl }));
        }
        for unit_id in 0..=255u8 {
            all.push(ReadOnlyRequest::Modbus(modbus::Request::ReportServerId {
                unit_id,
            }));
            for read_code in [
                ReadDeviceIdCode::Basic,
                ReadDeviceIdCode::Regular,
                ReadDeviceIdCode::Extended,
            ] {
                for object_id in [0x00, 0x03, 0x7F, 0x80, 0xFF] {
                    all.push(ReadOnlyRequest::Modbus(modbus::Request::ReadDeviceId {
                        unit_id,
                        read_code,
                        object_id,
                    }));
                }
            }
        }
        for request in all {
            for correlation in [0, 1, 0xFFFF, u32::MAX] {
                let bytes = request.encode(correlation);
                match request.protocol() {
                    Protocol::Modbus => {
                        assert_eq!(&bytes[2..4], [0, 0]);
                        assert_eq!(usize::from(bytes[5]), bytes.len() - 6);
                        assert!(
                            matches!(&bytes[7..], [0x2B, 0x0E, 0x01..=0x03, _] | [0x11]),
                            "{bytes:02x?}"
                        );
                    }
                    Protocol::Enip => {
                        assert_eq!(bytes.len(), 24);
                        let command = u16::from_le_bytes([bytes[0], bytes[1]]);
                        assert!([0x0004, 0x0063, 0x0064].contains(&command));
                        assert_eq!(&bytes[2..8], [0; 6], "no data, no session");
                    }
                    Protocol::Snmp => {
                        // Only Get (0xA0) and GetNext (0xA1) PDUs exist, never Set (0xA3).
                        let message = snmp::codec::parse(&bytes).unwrap_or_else(|e| {
                            panic!("undecodable SNMP request {bytes:02x?}: {e}")
                        });
                        let pdu = message.pdu.unwrap();
                        assert!(
                            matches!(pdu.kind, snmp::PduKind::Other(0xA0 | 0xA1)),
                            "{pdu:?}"
                        );
                        assert_eq!((pdu.error_status, pdu.error_index), (0, 0));
                    }
                    Protocol::Bacnet => assert_bacnet_read_only(&bytes),
                    Protocol::S7 => assert_s7_read_only(&bytes),
                }
            }
        }
    }
}
