//! The closed set of requests otscan can ever put on the wire.
//!
//! Safety rule 1 of the design: every byte the scanner sends is encoded from a
//! [`ReadOnlyRequest`]. The engine's send paths accept nothing else (no raw
//! byte slices), and each variant can only express a read-only identification
//! request: there is no field through which a write, a session registration or
//! a set request could be spelled. Adding a variant is a reviewed design
//! change.

use crate::protocols::bacnet::{self, DeviceInstance, InstanceRange, PropertyId};
use crate::protocols::s7::{self, SetupParams, SzlId, Tsap};
use crate::protocols::snmp::{self, SnmpRead, SnmpVersion};
use crate::protocols::{enip, modbus};

/// Which stream of Modbus device-identification objects to read (MEI 0x0E "read device id code").
///
/// Only the three stream codes exist here: individual access (code 0x04) is not
/// needed to build an inventory and is left out on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModbusReadCode {
    /// 0x01: basic objects (vendor name, product code, revision).
    Basic,
    /// 0x02: regular objects (vendor URL, product name, model name, user application name).
    Regular,
    /// 0x03: extended, vendor-specific objects (0x80-0xFF).
    Extended,
}

impl ModbusReadCode {
    /// The code's byte on the wire.
    pub const fn value(self) -> u8 {
        match self {
            ModbusReadCode::Basic => 0x01,
            ModbusReadCode::Regular => 0x02,
            ModbusReadCode::Extended => 0x03,
        }
    }

    /// The first object id of this stream's category.
    pub const fn first_object(self) -> u8 {
        match self {
            ModbusReadCode::Basic => 0x00,
            ModbusReadCode::Regular => 0x03,
            ModbusReadCode::Extended => 0x80,
        }
    }
}

/// A read-only identification request, the only thing otscan can send.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReadOnlyRequest {
    /// Modbus FC 0x2B / MEI 0x0E Read Device Identification, stream access.
    ModbusReadDeviceId {
        /// Unit identifier (MBAP byte 7).
        unit_id: u8,
        /// Which object stream to read.
        read_code: ModbusReadCode,
        /// First object id to return (continuation uses the reply's next object id).
        object_id: u8,
    },
    /// Modbus FC 0x11 Report Server ID (no request data).
    ModbusReportServerId {
        /// Unit identifier (MBAP byte 7).
        unit_id: u8,
    },
    /// EtherNet/IP encapsulation command 0x0063 ListIdentity (no session needed).
    EnipListIdentity,
    /// EtherNet/IP encapsulation command 0x0004 ListServices (no session needed).
    EnipListServices,
    /// EtherNet/IP encapsulation command 0x0064 ListInterfaces (no session needed).
    EnipListInterfaces,
    /// SNMP v1/v2c GetRequest or GetNextRequest of these OIDs with this community.
    /// (v3 here is not a read: [`SnmpV3Discovery`](Self::SnmpV3Discovery) is.)
    SnmpRead {
        /// V1 or V2c (the encoder writes anything but V1 as v2c).
        version: SnmpVersion,
        /// Community string.
        community: Vec<u8>,
        /// Get or GetNext.
        read: SnmpRead,
        /// The OIDs.
        oids: Vec<snmp::Oid>,
    },
    /// SNMPv3 engine discovery: noAuthNoPriv, reportable, empty USM and an empty GetRequest.
    SnmpV3Discovery,
    /// BACnet confirmed ReadProperty of one property of the Device object.
    BacnetReadProperty {
        /// The Device instance, or [`DeviceInstance::WILDCARD`].
        device: DeviceInstance,
        /// The property, from the closed identification set.
        property: PropertyId,
    },
    /// BACnet confirmed ReadPropertyMultiple of Device object properties (an empty
    /// list reads all of [`PropertyId::ALL`]).
    BacnetReadPropertyMultiple {
        /// The Device instance, or [`DeviceInstance::WILDCARD`].
        device: DeviceInstance,
        /// The properties, from the closed identification set.
        properties: Vec<PropertyId>,
    },
    /// BACnet unconfirmed Who-Is, sent by unicast to one device.
    BacnetWhoIs {
        /// Optional Device instance range.
        range: Option<InstanceRange>,
    },
    /// COTP Connection Request (ISO-on-TCP) from otscan's local TSAP to `destination`.
    S7ConnectionRequest {
        /// The TSAP (rack and slot) asked for.
        destination: Tsap,
    },
    /// S7 Setup Communication job with otscan's fixed small parameters.
    S7SetupCommunication,
    /// S7 userdata "read SZL" of an identification list.
    S7ReadSzl {
        /// The list: module or component identification.
        szl: SzlId,
    },
}

impl ReadOnlyRequest {
    /// Encodes the request into the bytes that go on the wire.
    ///
    /// `correlation` ties a reply to its request: it becomes the Modbus MBAP
    /// transaction id (low 16 bits) or the EtherNet/IP sender context.
    pub fn encode(&self, correlation: u32) -> Vec<u8> {
        match *self {
            ReadOnlyRequest::ModbusReadDeviceId {
                unit_id,
                read_code,
                object_id,
            } => modbus::encode_read_device_id(correlation as u16, unit_id, read_code, object_id),
            ReadOnlyRequest::ModbusReportServerId { unit_id } => {
                modbus::encode_report_server_id(correlation as u16, unit_id)
            }
            ReadOnlyRequest::EnipListIdentity => {
                enip::encode_command(enip::Command::ListIdentity, correlation)
            }
            ReadOnlyRequest::EnipListServices => {
                enip::encode_command(enip::Command::ListServices, correlation)
            }
            ReadOnlyRequest::EnipListInterfaces => {
                enip::encode_command(enip::Command::ListInterfaces, correlation)
            }
            ReadOnlyRequest::SnmpRead {
                version,
                ref community,
                read,
                ref oids,
            } => snmp::encode_read(version, community, correlation as i32, read, oids),
            ReadOnlyRequest::SnmpV3Discovery => {
                snmp::encode_v3_discovery(correlation as i32, correlation as i32)
            }
            ReadOnlyRequest::BacnetReadProperty { device, property } => {
                bacnet::encode_read_property(correlation as u8, device, property)
            }
            ReadOnlyRequest::BacnetReadPropertyMultiple {
                device,
                ref properties,
            } => bacnet::encode_read_property_multiple(correlation as u8, device, properties),
            ReadOnlyRequest::BacnetWhoIs { range } => bacnet::encode_who_is(range),
            ReadOnlyRequest::S7ConnectionRequest { destination } => {
                s7::encode_connection_request(Tsap::LOCAL, destination)
            }
            ReadOnlyRequest::S7SetupCommunication => {
                s7::encode_setup_communication(correlation as u16, SetupParams::default())
            }
            ReadOnlyRequest::S7ReadSzl { szl } => s7::encode_szl_read(correlation as u16, szl),
        }
    }

    /// The protocol this request belongs to.
    pub fn protocol(&self) -> crate::record::Protocol {
        use crate::record::Protocol;
        match self {
            ReadOnlyRequest::ModbusReadDeviceId { .. }
            | ReadOnlyRequest::ModbusReportServerId { .. } => Protocol::Modbus,
            ReadOnlyRequest::EnipListIdentity
            | ReadOnlyRequest::EnipListServices
            | ReadOnlyRequest::EnipListInterfaces => Protocol::Enip,
            ReadOnlyRequest::SnmpRead { .. } | ReadOnlyRequest::SnmpV3Discovery => Protocol::Snmp,
            ReadOnlyRequest::BacnetReadProperty { .. }
            | ReadOnlyRequest::BacnetReadPropertyMultiple { .. }
            | ReadOnlyRequest::BacnetWhoIs { .. } => Protocol::Bacnet,
            ReadOnlyRequest::S7ConnectionRequest { .. }
            | ReadOnlyRequest::S7SetupCommunication
            | ReadOnlyRequest::S7ReadSzl { .. } => Protocol::S7,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ReadOnlyRequest::EnipListIdentity,
            ReadOnlyRequest::EnipListServices,
            ReadOnlyRequest::EnipListInterfaces,
            ReadOnlyRequest::SnmpV3Discovery,
        ];
        for version in [SnmpVersion::V1, SnmpVersion::V2c, SnmpVersion::V3] {
            for read in [SnmpRead::Get, SnmpRead::GetNext] {
                all.push(ReadOnlyRequest::SnmpRead {
                    version,
                    community: b"public".to_vec(),
                    read,
                    oids: snmp::SYSTEM_GROUP.iter().map(|o| o.to_vec()).collect(),
                });
            }
        }
        for device in [
            DeviceInstance::WILDCARD,
            DeviceInstance::new(0).unwrap(),
            DeviceInstance::new(260_001).unwrap(),
        ] {
            all.push(ReadOnlyRequest::BacnetReadPropertyMultiple {
                device,
                properties: Vec::new(),
            });
            all.push(ReadOnlyRequest::BacnetReadPropertyMultiple {
                device,
                properties: PropertyId::ALL.to_vec(),
            });
            for property in PropertyId::ALL {
                all.push(ReadOnlyRequest::BacnetReadProperty { device, property });
            }
        }
        all.push(ReadOnlyRequest::BacnetWhoIs { range: None });
        all.push(ReadOnlyRequest::BacnetWhoIs {
            range: InstanceRange::new(DeviceInstance::new(7).unwrap(), DeviceInstance::WILDCARD),
        });
        for destination in Tsap::CANDIDATES {
            all.push(ReadOnlyRequest::S7ConnectionRequest { destination });
        }
        all.push(ReadOnlyRequest::S7SetupCommunication);
        for szl in [SzlId::ModuleIdentification, SzlId::ComponentIdentification] {
            all.push(ReadOnlyRequest::S7ReadSzl { szl });
        }
        for unit_id in 0..=255u8 {
            all.push(ReadOnlyRequest::ModbusReportServerId { unit_id });
            for read_code in [
                ModbusReadCode::Basic,
                ModbusReadCode::Regular,
                ModbusReadCode::Extended,
            ] {
                for object_id in [0x00, 0x03, 0x7F, 0x80, 0xFF] {
                    all.push(ReadOnlyRequest::ModbusReadDeviceId {
                        unit_id,
                        read_code,
                        object_id,
                    });
                }
            }
        }
        for request in all {
            for correlation in [0, 1, 0xFFFF, u32::MAX] {
                let bytes = request.encode(correlation);
                match request.protocol() {
                    crate::record::Protocol::Modbus => {
                        assert_eq!(&bytes[2..4], [0, 0]);
                        assert_eq!(usize::from(bytes[5]), bytes.len() - 6);
                        assert!(
                            matches!(&bytes[7..], [0x2B, 0x0E, 0x01..=0x03, _] | [0x11]),
                            "{bytes:02x?}"
                        );
                    }
                    crate::record::Protocol::Enip => {
                        assert_eq!(bytes.len(), 24);
                        let command = u16::from_le_bytes([bytes[0], bytes[1]]);
                        assert!([0x0004, 0x0063, 0x0064].contains(&command));
                        assert_eq!(&bytes[2..8], [0; 6], "no data, no session");
                    }
                    crate::record::Protocol::Snmp => {
                        // Only Get (0xA0) and GetNext (0xA1) PDUs exist, never Set (0xA3).
                        let message = snmp::parse_message(&bytes).unwrap_or_else(|e| {
                            panic!("undecodable SNMP request {bytes:02x?}: {e}")
                        });
                        let pdu = message.pdu.unwrap();
                        assert!(
                            matches!(pdu.kind, snmp::PduKind::Other(0xA0 | 0xA1)),
                            "{pdu:?}"
                        );
                        assert_eq!((pdu.error_status, pdu.error_index), (0, 0));
                    }
                    crate::record::Protocol::Bacnet => assert_bacnet_read_only(&bytes),
                    crate::record::Protocol::S7 => assert_s7_read_only(&bytes),
                }
            }
        }
    }
}
