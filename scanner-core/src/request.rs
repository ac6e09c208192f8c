//! The closed set of requests otscan can ever put on the wire.
//!
//! Safety rule 1 of the design: every byte the scanner sends is encoded from a
//! [`ReadOnlyRequest`]. The session's send paths accept nothing else (no raw byte
//! slices), and each variant wraps one protocol's own closed `Request` enum (in that
//! protocol's `codec.rs`), which can only express read-only identification requests:
//! there is no field through which a write, a session registration or a set request
//! could be spelled. Adding a variant, or a variant to a protocol's `Request`, is a
//! reviewed design change.

use crate::protocols::ads::codec as ads;
use crate::protocols::bacnet::codec as bacnet;
use crate::protocols::codesys::codec as codesys;
use crate::protocols::enip::codec as enip;
use crate::protocols::fins::codec as fins;
use crate::protocols::fox::codec as fox;
use crate::protocols::ftp::codec as ftp;
use crate::protocols::hart::codec as hart;
use crate::protocols::http::codec as http;
use crate::protocols::https::codec as https;
use crate::protocols::knx::codec as knx;
use crate::protocols::melsec::codec as melsec;
use crate::protocols::modbus::codec as modbus;
use crate::protocols::opcua::codec as opcua;
use crate::protocols::profinet::codec as profinet;
use crate::protocols::s7::codec as s7;
use crate::protocols::snmp::codec as snmp;
use crate::protocols::ssh::codec as ssh;
use crate::protocols::telnet::codec as telnet;
use crate::record::fields::Protocol;

/// A read-only identification request, the only thing otscan can send: one variant per
/// protocol, each wrapping that protocol's closed request enum.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReadOnlyRequest {
    /// Modbus/TCP: FC 0x2B / MEI 0x0E Read Device Identification, FC 0x11 Report Server ID.
    Modbus(modbus::Request),
    /// EtherNet/IP: the session-less ListIdentity, ListServices, ListInterfaces.
    Enip(enip::Request),
    /// Siemens S7: COTP Connection Request, Setup Communication, read SZL 0x0011/0x001C
    /// and its follow-up for the next data unit.
    S7(s7::Request),
    /// BACnet/IP: ReadProperty / ReadPropertyMultiple of the Device object, unicast Who-Is.
    Bacnet(bacnet::Request),
    /// SNMP: v1/v2c GetRequest / GetNextRequest, v3 engine discovery.
    Snmp(snmp::Request),
    /// OPC UA: UA-TCP Hello, OpenSecureChannel (SecurityPolicy None), GetEndpoints,
    /// FindServers, CloseSecureChannel; never a session.
    Opcua(opcua::Request),
    /// Omron FINS: Controller Data Read (05 01) over UDP or in a FINS/TCP frame send, and
    /// the FINS/TCP node address request.
    Fins(fins::Request),
    /// MELSEC SLMP / MC protocol 3E frame: Read CPU Model Name (0x0101) only.
    Melsec(melsec::Request),
    /// Niagara Fox: the hello, nothing else.
    Fox(fox::Request),
    /// KNXnet/IP: DESCRIPTION_REQUEST (0x0203) with the route-back HPAI, nothing else.
    Knx(knx::Request),
    /// Beckhoff ADS discovery: Identify (service 1) only; AddRoute cannot be spelled.
    Ads(ads::Request),
    /// HART-IP: Session Initiate (secondary host), HART commands 0, 20, 74 and 84 (reads),
    /// Session Close; no write, device-specific or pass-to-sub-device command.
    Hart(hart::Request),
    /// PROFINET CM: the endpoint mapper's `ept_lookup` for the PNIO device interface only;
    /// Connect, Write, Control and the other PNIO calls cannot be spelled.
    Profinet(profinet::Request),
    /// CODESYS V3: the NameService resolve-address request only; the channel manager
    /// (login, download, start/stop) cannot be spelled.
    Codesys(codesys::Request),
    /// SSH: read the server's identification string; encodes to zero bytes (nothing is
    /// sent: no client identification, no key exchange, no credentials).
    Ssh(ssh::Request),
    /// FTP: read the server's greeting; encodes to zero bytes (nothing is sent: no USER,
    /// PASS, QUIT or any other command).
    Ftp(ftp::Request),
    /// Telnet: read the banner (zero bytes), or refuse options (`IAC WONT x`, `IAC DONT x`,
    /// nothing else: no text, no sub-negotiation, no credentials).
    Telnet(telnet::Request),
    /// HTTP: `GET` of `/`, `/favicon.ico` or one checked same-host redirect path, with
    /// `Host`, `User-Agent`, `Accept` and `Connection: close` only (no other method, no
    /// body, no credentials, no cookies).
    Http(http::Request),
    /// HTTPS: the same `GET` as [`ReadOnlyRequest::Http`], inside a TLS session (the
    /// handshake is rustls's: no client certificate, no resumption, no early data); or the
    /// legacy certificate reader's one fixed ClientHello (TLS 1.0-1.2, legacy suites).
    Https(https::Request),
}

impl ReadOnlyRequest {
    /// Encodes the request into the bytes that go on the wire.
    ///
    /// `correlation` ties a reply to its request; each codec says where it goes (the
    /// Modbus transaction id, the EtherNet/IP sender context, the SNMP request id, the
    /// BACnet invoke id, the S7 PDU reference, the FINS SID, the ADS invoke id, the HART-IP sequence number,
    /// the PROFINET lookup's activity UUID; a MELSEC 3E frame,
    /// Fox and KNXnet/IP carry none; the banner probes send nothing).
    pub fn encode(&self, correlation: u32) -> Vec<u8> {
        match self {
            ReadOnlyRequest::Modbus(r) => modbus::encode(r, correlation),
            ReadOnlyRequest::Enip(r) => enip::encode(r, correlation),
            ReadOnlyRequest::S7(r) => s7::encode(r, correlation),
            ReadOnlyRequest::Bacnet(r) => bacnet::encode(r, correlation),
            ReadOnlyRequest::Snmp(r) => snmp::encode(r, correlation),
            ReadOnlyRequest::Fins(r) => fins::encode(r, correlation),
            ReadOnlyRequest::Melsec(r) => melsec::encode(r, correlation),
            ReadOnlyRequest::Fox(r) => fox::encode(r, correlation),
            ReadOnlyRequest::Opcua(r) => opcua::encode(r, correlation),
            ReadOnlyRequest::Knx(r) => knx::encode(r, correlation),
            ReadOnlyRequest::Ads(r) => ads::encode(r, correlation),
            ReadOnlyRequest::Hart(r) => hart::encode(r, correlation),
            ReadOnlyRequest::Profinet(r) => profinet::encode(r, correlation),
            ReadOnlyRequest::Codesys(r) => codesys::encode(r, correlation),
            ReadOnlyRequest::Ssh(r) => ssh::encode(r, correlation),
            ReadOnlyRequest::Ftp(r) => ftp::encode(r, correlation),
            ReadOnlyRequest::Telnet(r) => telnet::encode(r, correlation),
            ReadOnlyRequest::Http(r) => http::encode(r, correlation),
            ReadOnlyRequest::Https(r) => https::encode(r, correlation),
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
            ReadOnlyRequest::Fins(_) => Protocol::Fins,
            ReadOnlyRequest::Melsec(_) => Protocol::Melsec,
            ReadOnlyRequest::Fox(_) => Protocol::Fox,
            ReadOnlyRequest::Opcua(_) => Protocol::Opcua,
            ReadOnlyRequest::Knx(_) => Protocol::Knx,
            ReadOnlyRequest::Ads(_) => Protocol::Ads,
            ReadOnlyRequest::Hart(_) => Protocol::Hart,
            ReadOnlyRequest::Profinet(_) => Protocol::Profinet,
            ReadOnlyRequest::Codesys(_) => Protocol::Codesys,
            ReadOnlyRequest::Ssh(_) => Protocol::Ssh,
            ReadOnlyRequest::Ftp(_) => Protocol::Ftp,
            ReadOnlyRequest::Telnet(_) => Protocol::Telnet,
            ReadOnlyRequest::Http(_) => Protocol::Http,
            ReadOnlyRequest::Https(_) => Protocol::Https,
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

    /// Every request the enum can express, for every unit id, read code, device
    /// instance, property, TSAP, SNMP version and correlation, encodes to an allowlisted
    /// read-only frame; nothing else can be built.
    #[test]
    fn every_encodable_request_is_read_only() {
        let mut all = vec![
            ReadOnlyRequest::Enip(enip::Command::ListIdentity),
            ReadOnlyRequest::Enip(enip::Command::ListServices),
            ReadOnlyRequest::Enip(enip::Command::ListInterfaces),
            ReadOnlyRequest::Snmp(snmp::Request::V3Discovery),
            ReadOnlyRequest::Melsec(melsec::Request::ReadCpuModelName),
            ReadOnlyRequest::Knx(knx::Request::Description),
            ReadOnlyRequest::Ads(ads::Request::Identify {
                sender: ads::AmsNetId([127, 0, 0, 1, 1, 1]),
            }),
            ReadOnlyRequest::Ads(ads::Request::Identify {
                sender: ads::AmsNetId::default(),
            }),
            ReadOnlyRequest::Profinet(profinet::Request::Lookup),
            ReadOnlyRequest::Codesys(codesys::Request::ResolveAddress {
                sender: codesys::SenderAddress::new(std::net::Ipv4Addr::new(127, 0, 0, 1), 8),
            }),
            ReadOnlyRequest::Codesys(codesys::Request::ResolveAddress {
                sender: codesys::SenderAddress::new(std::net::Ipv4Addr::new(192, 168, 1, 9), 24),
            }),
            ReadOnlyRequest::Codesys(codesys::Request::ResolveAddress {
                sender: codesys::SenderAddress::new(std::net::Ipv4Addr::new(10, 0, 0, 1), 0),
            }),
        ];
        for version in [SnmpVersion::V1, SnmpVersion::V2c, SnmpVersion::V3] {
            for read in [SnmpRead::Get, SnmpRead::GetNext] {
                all.push(ReadOnlyRequest::Snmp(snmp::Request::Read {
                    version,
                    community: b"public".to_vec(),
                    read,
                    oids: snmp::system_group_oids(),
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
        for sequence in 0..=255u8 {
            all.push(ReadOnlyRequest::S7(s7::Request::ReadSzlNext { sequence }));
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
        all.push(ReadOnlyRequest::Fins(fins::Request::NodeAddressRequest));
        let nodes = || (0..=255u8).filter_map(fins::Node::new);
        for destination_node in nodes() {
            for source_node in nodes() {
                for fins_tcp in [false, true] {
                    all.push(ReadOnlyRequest::Fins(fins::Request::ControllerDataRead {
                        route: fins::NodeRoute {
                            destination_node,
                            source_node,
                        },
                        fins_tcp,
                    }));
                }
            }
        }
        all.push(ReadOnlyRequest::Fox(fox::Request::Hello));
        all.push(ReadOnlyRequest::Https(https::Request::LegacyClientHello));
        all.push(ReadOnlyRequest::Ssh(ssh::Request::ReadIdentification));
        all.push(ReadOnlyRequest::Ftp(ftp::Request::ReadGreeting));
        all.push(ReadOnlyRequest::Telnet(telnet::Request::ReadBanner));
        for option in [0, 1, 3, 24, 31, 32, 39, 255] {
            all.push(ReadOnlyRequest::Telnet(telnet::Request::Refuse(vec![
                telnet::Refusal::Wont(option),
                telnet::Refusal::Dont(option),
            ])));
        }
        for (ip, port) in [("127.0.0.1", 80), ("::1", 8080), ("10.20.30.40", 443)] {
            let host = http::Host {
                ip: ip.parse().unwrap(),
                port,
                default_port: 80,
            };
            for path in [
                http::Path::Root,
                http::Path::Favicon,
                http::Path::Redirect(http::RedirectPath::new("/Portal/Portal.mwsl").unwrap()),
                http::Path::Redirect(http::RedirectPath::new("/index.html").unwrap()),
            ] {
                let get = http::Request::Get { host, path };
                all.push(ReadOnlyRequest::Http(get.clone()));
                all.push(ReadOnlyRequest::Https(https::Request::Get(get)));
            }
        }
        for ip in ["127.0.0.1", "::1", "10.20.30.40"] {
            let endpoint_url = opcua::EndpointUrl::new(ip.parse().unwrap(), 4840);
            let channel = opcua::SecureChannel {
                channel_id: 7,
                token_id: 1,
            };
            all.extend([
                ReadOnlyRequest::Opcua(opcua::Request::Hello {
                    endpoint_url: endpoint_url.clone(),
                }),
                ReadOnlyRequest::Opcua(opcua::Request::OpenSecureChannel),
                ReadOnlyRequest::Opcua(opcua::Request::GetEndpoints {
                    channel,
                    endpoint_url: endpoint_url.clone(),
                }),
                ReadOnlyRequest::Opcua(opcua::Request::FindServers {
                    channel,
                    endpoint_url,
                }),
                ReadOnlyRequest::Opcua(opcua::Request::CloseSecureChannel { channel }),
            ]);
        }
        all.extend([
            ReadOnlyRequest::Hart(hart::Request::SessionInitiate),
            ReadOnlyRequest::Hart(hart::Request::ReadUniqueIdentifier),
            ReadOnlyRequest::Hart(hart::Request::SessionClose),
        ]);
        // Every expanded device type's top bits (which the address never sends) and the
        // device id's extremes, every sub-device index.
        for expanded_device_type in [0, 0x2641, 0x3FFF, 0xC000, 0xFFFF] {
            for device_id in [[0, 0, 0], [0x0A, 0x1B, 0x2C], [0xFF; 3]] {
                let address = hart::LongAddress {
                    expanded_device_type,
                    device_id,
                };
                all.push(ReadOnlyRequest::Hart(hart::Request::ReadLongTag(address)));
                all.push(ReadOnlyRequest::Hart(
                    hart::Request::ReadIoSystemCapabilities(address),
                ));
                for index in [0, 1, 8, 0xFFFF] {
                    all.push(ReadOnlyRequest::Hart(
                        hart::Request::ReadSubDeviceIdentitySummary { address, index },
                    ));
                }
            }
        }
        // Every registered protocol's requests are here: a protocol added to the registry
        // fails this test until its requests are listed above.
        let covered: std::collections::BTreeSet<Protocol> =
            all.iter().map(ReadOnlyRequest::protocol).collect();
        assert_eq!(
            covered.into_iter().collect::<Vec<_>>(),
            Protocol::ALL.to_vec(),
            "every registered protocol's requests go through the allowlist"
        );
        // Each encoding goes through the one read-only allowlist the fixtures' recorder
        // and the wire audits use, which decodes it independently of these encoders.
        for request in all {
            for correlation in [0, 1, 0xFFFF, u32::MAX] {
                let bytes = request.encode(correlation);
                // The legacy ClientHello goes to the HTTPS port in clear: the TLS rule.
                let label = match &request {
                    ReadOnlyRequest::Https(https::Request::LegacyClientHello) => "tls",
                    other => other.protocol().name(),
                };
                if let Err(violation) = protocol_fixtures::allowlist::check(label, &bytes) {
                    panic!("{request:?} encodes to {bytes:02x?}: {violation}");
                }
            }
        }
    }
}
