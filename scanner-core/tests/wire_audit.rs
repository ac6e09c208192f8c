//! Read-only audit: scans of the complete mixed plant with every probe and every option that
//! changes what is sent (a long unit id list, all 256 unit ids on a gateway, every SNMP version
//! with four communities, EtherNet/IP over TCP and UDP, continuation), checked twice:
//!
//! 1. the fixtures record every frame they receive, and each one must decode (by hand, and with
//!    rasn-snmp for SNMP) to an allowlisted identification request;
//! 2. `tshark` captures the same scans on the loopback interface and dissects them with
//!    Wireshark's own Modbus/TCP, EtherNet/IP, SNMP, S7comm, BACnet and Omron FINS dissectors,
//!    independently
//!    of otscan and of the fixtures: no Modbus function outside {0x2B/0x0E, 0x11}, no
//!    EtherNet/IP command outside {0x63, 0x04, 0x64}, no SNMP PDU but get-request and
//!    get-next-request (v3: the empty discovery get-request), no S7 TPDU but a COTP Connection
//!    Request, the Setup Communication job and read-SZL 0x0011/0x001C userdata, no BACnet APDU
//!    but a unicast ReadProperty / ReadPropertyMultiple and Who-Is, no FINS command but
//!    Controller Data Read (05 01, data 00) and no FINS/TCP command but the node address
//!    request (client node 0) and the frame send carrying it. Wireshark has no Niagara Fox
//!    dissector: Fox requests are the captured TCP payloads, decoded by hand here, and each
//!    must be exactly the Fox hello. No OPC UA message but a Hello, an OpenSecureChannel
//!    (Issue, SecurityPolicy None, mode None) and the services GetEndpoints (428),
//!    FindServers (422) and CloseSecureChannel (452). No KNXnet/IP service but
//!    DESCRIPTION_REQUEST (0x0203) with one IPv4 UDP HPAI 0.0.0.0:0 (Wireshark's `kip`
//!    dissector, fields `knxip.*`); a CONNECT_REQUEST and a TUNNELLING_REQUEST are the
//!    negative controls. No PROFINET CM datagram but a DCE/RPC connectionless request
//!    (`dcerpc` dissector, found by its UDP heuristic) to the endpoint mapper
//!    (e1af8308-...) operation 2 whose `epm` body asks inquiry type 0 for the PNIO device
//!    interface (dea00001-...), no fragment; a PNIO Connect (interface dea00001-...,
//!    operation 0) and an `ept_insert` (operation 0) are the negative controls.
//!
//! SSH and FTP (off by default; in the "every probe" pass): the probes send nothing, so the
//! rule is that no TCP segment to the SSH or FTP port carries a payload (Wireshark's `ssh`
//! and `ftp` dissectors would name a client identification string, a key exchange or a
//! command; there must be none to name). A client identification string and a `USER`
//! command sent by the test are the negative controls. Telnet (also off by default): every
//! payload to the telnet port must be whole `IAC WONT x` / `IAC DONT x` triplets, decoded by
//! hand from the captured payload (refusals, nothing else: no text, so no user name); a
//! user name sent by the test is the negative control.
//!
//! HTTP (off by default; in the "every probe" pass) is dissected by Wireshark's `http`
//! dissector (fields `http.request.method`, `http.request.uri`, `http.request.line`): no
//! request but one `GET` head of a plain path (no query, no CGI) with only `Host`,
//! `User-Agent`, `Accept` and `Connection`, nothing after the head; a `POST` with a body to
//! a CGI program sent by the test is the negative control.
//!
//! HTTPS: Wireshark's `tls` dissector (fields `tls.record.content_type`,
//! `tls.handshake.type`): every payload to the HTTPS port is TLS records, and the only
//! handshake messages in clear are the ClientHello (and TLS 1.2's ClientKeyExchange); the
//! GET inside is checked by step 1 (the fixture records it decrypted). A plain HTTP request
//! to the TLS port is the negative control.
//!
//! MELSEC (SLMP / MC protocol 3E) is audited by step 1 only: `tshark -G protocols` of
//! Debian's tshark 4.0 lists no SLMP, MELSEC or MC protocol dissector, so the capture
//! filter leaves its port out and the recorder's hand-decoded rule (exactly the 15-byte
//! Read CPU Model Name) is the audit.
//!
//! HART-IP (TCP 5094) is dissected by Wireshark's `hart_ip` dissector (fields `hart_ip.*`):
//! no message but a request (type 0) Session Initiate as a secondary host (master type 0),
//! Session Close, and token-passing PDUs of command 0 in a short frame or 20, 74 and 84 in
//! a long frame; a Write Long Tag (command 22) in a session the test opens is the negative
//! control.
//!
//! Beckhoff ADS discovery (UDP 48899) likewise: tshark 4.0's `ams` dissector decodes AMS/TCP
//! on TCP 48898 (and EtherCAT mailboxes), not the discovery datagrams, and no dissector is
//! registered for UDP 48899. The recorder's hand-decoded rule (exactly the 24-byte Identify,
//! service 1, no tags) is the audit, with an AddRoute and a service 7 sent by the test as
//! its negative control.
//!
//! CODESYS V3 NameService (UDP 1740) likewise: tshark 4.0 lists no CODESYS dissector
//! (`tshark -G protocols`). The recorder's hand-decoded rule (exactly the resolve-address
//! request: service 0x03, package type 0xC202, a sender address only) is the audit, with a
//! channel manager open-channel datagram and a resolve-name request sent by the test as
//! its negative control.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::StreamExt;

mod common;
use common::Request;
use common::S7Request;
use protocol_fixtures::allowlist::FinsRequest;
use protocol_fixtures::OpcuaRequest;
use protocol_fixtures::{
    DeviceSpec, ModbusDeviceConfig, ModbusQuirk, OtherUnitIds, Plant, PlantPorts, PlantSpec,
    Transport as FixtureTransport, UnitIdPolicy,
};
use scanner_core::protocols::enip::{EnipConfig, EnipTransport};
use scanner_core::protocols::fins::{FinsConfig, FinsTransport};
use scanner_core::protocols::modbus::ModbusConfig;
use scanner_core::protocols::snmp::{SnmpConfig, SnmpVersions};
use scanner_core::{Protocol, Rate, ScanConfig, Scanner, Targets};

/// Communities tried: the most the configuration allows. The plant's agents answer `public`
/// (most) or `private` (the Moxa).
const COMMUNITIES: [&str; 4] = ["public", "private", "ops-ro", "scada-ro"];

/// Ports below the kernel's ephemeral range, so that in a capture a destination port tells
/// a request (scanner to device) from a reply.
const RECORDED: (Ipv4Addr, PlantPorts) = (Ipv4Addr::new(127, 88, 0, 0), PlantPorts::block(20192));
const CAPTURED: (Ipv4Addr, PlantPorts) = (Ipv4Addr::new(127, 89, 0, 0), PlantPorts::block(20224));

fn host(base: Ipv4Addr, host: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(base) | u32::from(host))
}

/// The mixed plant, plus a gateway that answers exception 0x0B to every unit id (so every unit
/// id gets asked) at .200, and a device whose continuation never ends at .201.
fn audit_plant(base: Ipv4Addr, ports: PlantPorts) -> PlantSpec {
    let mut spec = PlantSpec::plant(base, ports);
    spec.devices.push(
        DeviceSpec::new(host(base, 200), "gateway-every-unit").with_modbus(
            ports.modbus,
            ModbusDeviceConfig::new("Simulated Gateways", "GW-1", "1.0")
                .with_unit_ids(UnitIdPolicy::only([], OtherUnitIds::GatewayTargetFailed)),
        ),
    );
    spec.devices.push(
        DeviceSpec::new(host(base, 201), "endless-continuation").with_modbus(
            ports.modbus,
            ModbusDeviceConfig::new("Simulated Vendor", "SIM-LOOP", "0.1")
                .with_max_objects_per_page(1)
                .with_quirk(ModbusQuirk::EndlessContinuation),
        ),
    );
    spec
}

/// The scans both audits run, each with its label.
fn passes(base: Ipv4Addr, ports: PlantPorts) -> Vec<(&'static str, ScanConfig)> {
    let builder = |targets: Vec<String>| {
        let builder = ScanConfig::builder()
            .targets(Targets::parse(targets).unwrap())
            .rate(Rate::per_second(5000).unwrap())
            .per_device_interval(Duration::from_millis(2))
            .concurrency(NonZeroUsize::new(256).unwrap())
            .timeout(Duration::from_millis(300))
            .max_requests_per_device(400)
            .enip(EnipConfig {
                transport: EnipTransport::Both,
                ..EnipConfig::default()
            })
            .snmp(SnmpConfig {
                communities: COMMUNITIES.iter().map(|c| c.as_bytes().to_vec()).collect(),
                versions: SnmpVersions::All,
                ..SnmpConfig::default()
            });
        common::at_plant_ports(builder, ports)
    };
    let hosts = |hosts: &[u8]| -> Vec<String> {
        hosts.iter().map(|&h| host(base, h).to_string()).collect()
    };
    let snmp_hosts = hosts(&[15, 30, 31, 32, 33, 34, 35]);
    let snmp_only = |versions| {
        builder(snmp_hosts.clone())
            .probes([Protocol::Snmp])
            .snmp(SnmpConfig {
                port: ports.snmp,
                communities: COMMUNITIES.iter().map(|c| c.as_bytes().to_vec()).collect(),
                versions,
                ..SnmpConfig::default()
            })
            .build()
            .unwrap()
    };
    vec![
        (
            "every probe on the /24, unit ids 1-247, EtherNet/IP over TCP and UDP",
            builder(vec![format!("{base}/24")])
                .probes(Protocol::ALL.iter().copied())
                .modbus(ModbusConfig {
                    port: ports.modbus,
                    unit_ids: (1..=247).collect(),
                    ..ModbusConfig::default()
                })
                .build()
                .unwrap(),
        ),
        (
            "all 256 unit ids, 64 continuation pages",
            builder(hosts(&[10, 12, 13, 16, 200, 201]))
                .probes([Protocol::Modbus])
                .modbus(ModbusConfig {
                    port: ports.modbus,
                    unit_ids: (0..=255).collect(),
                    max_pages: 64,
                    ..ModbusConfig::default()
                })
                .build()
                .unwrap(),
        ),
        ("SNMP v1 only", snmp_only(SnmpVersions::V1)),
        ("SNMP v2c only", snmp_only(SnmpVersions::V2c)),
        ("SNMP v3 discovery only", snmp_only(SnmpVersions::V3)),
        (
            "FINS over TCP only",
            builder(hosts(&[70, 71, 72, 73, 74]))
                .probes([Protocol::Fins])
                .fins(FinsConfig {
                    port: ports.fins,
                    transport: FinsTransport::Tcp,
                    ..FinsConfig::default()
                })
                .build()
                .unwrap(),
        ),
        (
            "EtherNet/IP over UDP only",
            builder(hosts(&[15, 20, 21, 22, 23, 24, 25, 26]))
                .probes([Protocol::Enip])
                .enip(EnipConfig {
                    port: ports.enip,
                    transport: EnipTransport::Udp,
                    ..EnipConfig::default()
                })
                .build()
                .unwrap(),
        ),
    ]
}

async fn scan(config: ScanConfig) -> usize {
    let mut scan = Scanner::new(config).scan();
    let mut n = 0;
    while scan.next().await.is_some() {
        n += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recorded_frame_is_a_read_only_identification_request() {
    let (base, ports) = RECORDED;
    let plant = Plant::start(audit_plant(base, ports)).unwrap();
    let mut seen: BTreeSet<(String, Request)> = BTreeSet::new();
    for (label, config) in passes(base, ports) {
        plant.recorder().clear();
        let records = scan(config).await;
        let frames = plant.recorder().frames();
        assert!(records > 0 && !frames.is_empty(), "{label}: nothing sent");
        for frame in &frames {
            let transport = match frame.transport {
                FixtureTransport::Tcp => "tcp",
                FixtureTransport::Udp => "udp",
            };
            seen.insert((
                transport.to_owned(),
                common::audit_and_classify(frame, ports),
            ));
        }
        // The recorder checked each frame against the same allowlist as it arrived.
        let violations = plant.recorder().violations();
        assert!(violations.is_empty(), "{label}: {violations:?}");
        eprintln!("{label}: {} frames, all read-only", frames.len());
    }

    // The audit is not vacuous: every kind of request the options can cause was seen.
    let modbus: Vec<_> = seen
        .iter()
        .filter_map(|(_, r)| match r {
            Request::Modbus {
                unit,
                function,
                read_code,
                object,
            } => Some((*unit, *function, *read_code, *object)),
            _ => None,
        })
        .collect();
    let units: BTreeSet<u8> = modbus.iter().map(|m| m.0).collect();
    assert_eq!(units.len(), 256, "every unit id was asked");
    let functions: BTreeSet<(u8, u8)> = modbus.iter().map(|m| (m.1, m.2)).collect();
    assert_eq!(
        functions,
        BTreeSet::from([(0x11, 0), (0x2B, 1), (0x2B, 2), (0x2B, 3)])
    );
    let objects: BTreeSet<u8> = modbus.iter().map(|m| m.3).collect();
    assert!(
        objects.len() > 10,
        "continuation from many object ids: {objects:?}"
    );
    let enip: BTreeSet<(&str, u16)> = seen
        .iter()
        .filter_map(|(t, r)| match r {
            Request::Enip { command } => Some((t.as_str(), *command)),
            _ => None,
        })
        .collect();
    assert_eq!(
        enip,
        BTreeSet::from([("tcp", 0x63), ("tcp", 0x04), ("udp", 0x63), ("udp", 0x04)])
    );
    let snmp: BTreeMap<(u8, u8), BTreeSet<Vec<u8>>> =
        seen.iter().fold(BTreeMap::new(), |mut acc, (_, r)| {
            if let Request::Snmp {
                version,
                pdu,
                community,
            } = r
            {
                acc.entry((*version, *pdu))
                    .or_default()
                    .insert(community.clone());
            }
            acc
        });
    let kinds: BTreeSet<(u8, u8)> = snmp.keys().copied().collect();
    assert_eq!(
        kinds,
        BTreeSet::from([(0, 0xA0), (0, 0xA1), (1, 0xA0), (1, 0xA1), (3, 0xA0)])
    );
    let communities: BTreeSet<&[u8]> = snmp
        .values()
        .flatten()
        .map(Vec::as_slice)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(communities.len(), COMMUNITIES.len(), "{communities:?}");
    // BACnet: RPM and RP, with the wildcard and with real instances, and Who-Is; S7: a
    // Connection Request to each TSAP, setup and both SZL lists.
    let bacnet: BTreeSet<(u8, u8, bool)> = seen
        .iter()
        .filter_map(|(_, r)| match r {
            Request::Bacnet {
                pdu,
                service,
                instance,
            } => Some((*pdu, *service, *instance == 0x3F_FFFF)),
            _ => None,
        })
        .collect();
    assert_eq!(
        bacnet,
        BTreeSet::from([
            (0, 0x0C, false),
            (0, 0x0C, true),
            (0, 0x0E, false),
            (0, 0x0E, true),
            (1, 0x08, false),
        ])
    );
    let s7: BTreeSet<S7Request> = seen
        .iter()
        .filter_map(|(_, r)| match r {
            Request::S7(s) => Some(*s),
            _ => None,
        })
        .collect();
    assert_eq!(
        s7,
        BTreeSet::from([
            S7Request::Cr(0x0102),
            S7Request::Cr(0x0200),
            S7Request::Cr(0x0100),
            S7Request::Setup,
            S7Request::Szl(0x0011),
            S7Request::Szl(0x001C),
            S7Request::SzlNext(1),
        ])
    );
    // MELSEC: Read CPU Model Name only, over TCP and UDP (the hand-decoded rule is the
    // whole audit: Debian's tshark 4.0 has no SLMP / MC protocol dissector).
    let melsec: BTreeSet<(&str, u16, u16)> = seen
        .iter()
        .filter_map(|(t, r)| match r {
            Request::Melsec {
                command,
                subcommand,
            } => Some((t.as_str(), *command, *subcommand)),
            _ => None,
        })
        .collect();
    assert_eq!(
        melsec,
        BTreeSet::from([("tcp", 0x0101, 0), ("udp", 0x0101, 0)])
    );
    // The negative control of that audit: a Remote STOP over TCP and a batch write over UDP,
    // sent by this test to the simulated Q03UDV (which refuses both with 0xC059), are
    // flagged by the recorder.
    plant.recorder().clear();
    melsec_controls(host(base, 90), ports.melsec).await;
    let flagged: Vec<_> = plant
        .recorder()
        .violations()
        .into_iter()
        .filter(|(frame, _)| frame.protocol == "melsec")
        .collect();
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    // ADS discovery: Identify only, over UDP, from the scanner's source address + .1.1
    // (loopback here: 127.x.y.z.1.1).
    let ads: BTreeSet<(&str, [u8; 6])> = seen
        .iter()
        .filter_map(|(t, r)| match r {
            Request::AdsIdentify { sender } => Some((t.as_str(), *sender)),
            _ => None,
        })
        .collect();
    assert!(!ads.is_empty(), "{seen:?}");
    for (transport, sender) in &ads {
        assert_eq!(*transport, "udp");
        assert_eq!((sender[0], sender[4], sender[5]), (127, 1, 1), "{sender:?}");
    }
    // Its negative control: an AddRoute with a user name and password, and a service 7,
    // sent by this test to the simulated CX9020 (which answers neither), are flagged.
    plant.recorder().clear();
    ads_controls(host(base, 110), ports.ads).await;
    let flagged: Vec<_> = plant
        .recorder()
        .violations()
        .into_iter()
        .filter(|(frame, _)| frame.protocol == "ads")
        .collect();
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    // HART-IP: a session, commands 0 and 20 (and 74 and 84 to the multiplexers), the close.
    let hart: BTreeSet<(&str, u8, Option<u8>)> = seen
        .iter()
        .filter_map(|(t, r)| match r {
            Request::Hart {
                message_id,
                command,
            } => Some((t.as_str(), *message_id, *command)),
            _ => None,
        })
        .collect();
    assert_eq!(
        hart,
        BTreeSet::from([
            ("tcp", 0, None),
            ("tcp", 1, None),
            ("tcp", 3, Some(0)),
            ("tcp", 3, Some(20)),
            ("tcp", 3, Some(74)),
            ("tcp", 3, Some(84)),
        ])
    );
    // Its negative control: Write Long Tag in a session the test opens is flagged.
    plant.recorder().clear();
    hart_control(host(base, 120), ports.hart).await;
    let flagged: Vec<_> = plant
        .recorder()
        .violations()
        .into_iter()
        .filter(|(frame, _)| frame.protocol == "hart")
        .collect();
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    // PROFINET: the endpoint mapper's lookup only, over UDP.
    let profinet: BTreeSet<(&str, &Request)> = seen
        .iter()
        .filter(|(_, r)| matches!(r, Request::ProfinetLookup))
        .map(|(t, r)| (t.as_str(), r))
        .collect();
    assert_eq!(
        profinet,
        BTreeSet::from([("udp", &Request::ProfinetLookup)])
    );
    // Its negative control: a PNIO Connect and an ept_insert, sent by this test to the
    // simulated S7-1500 (which rejects both), are flagged.
    plant.recorder().clear();
    let _ = profinet_controls(host(base, 130), ports.profinet).await;
    let flagged: Vec<_> = plant
        .recorder()
        .violations()
        .into_iter()
        .filter(|(frame, _)| frame.protocol == "profinet")
        .collect();
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    // CODESYS: the resolve address only, from the scanner's own relative address on lo's
    // /8 (127.0.0.1: host bits 1 in two words).
    let codesys: BTreeSet<(&str, u8, u64)> = seen
        .iter()
        .filter_map(|(t, r)| match r {
            Request::CodesysResolveAddress {
                sender_words,
                sender,
            } => Some((t.as_str(), *sender_words, *sender)),
            _ => None,
        })
        .collect();
    assert_eq!(codesys, BTreeSet::from([("udp", 2, 1)]), "{seen:?}");
    // Its negative control: a channel manager open-channel request and a resolve name, sent
    // by this test to the simulated PFC200 (which answers neither), are flagged.
    plant.recorder().clear();
    codesys_controls(host(base, 140), ports.codesys).await;
    let flagged: Vec<_> = plant
        .recorder()
        .violations()
        .into_iter()
        .filter(|(frame, _)| frame.protocol == "codesys")
        .collect();
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    // FINS: the node address request, and Controller Data Read over UDP to node 0 from
    // node 99 and over TCP between the nodes the PLCs assigned (239) and their own.
    let fins: BTreeSet<(&str, FinsRequest)> = seen
        .iter()
        .filter_map(|(t, r)| match r {
            Request::Fins(f) => Some((t.as_str(), *f)),
            _ => None,
        })
        .collect();
    let read = |tcp, destination, source| FinsRequest::ControllerDataRead {
        tcp,
        destination,
        source,
    };
    assert_eq!(
        fins,
        BTreeSet::from([
            ("tcp", FinsRequest::NodeAddress),
            ("tcp", read(true, 70, 239)),
            ("tcp", read(true, 72, 239)),
            ("tcp", read(true, 73, 239)),
            ("tcp", read(true, 74, 239)),
            ("udp", read(false, 0, 99)),
        ])
    );
    // KNXnet/IP: the route-back DESCRIPTION_REQUEST, and nothing else.
    assert!(
        seen.iter()
            .any(|(t, r)| t == "udp" && *r == Request::KnxDescription),
        "{seen:?}"
    );
    // Fox: the hello, over TCP, and nothing else.
    let fox: BTreeSet<&(String, Request)> = seen
        .iter()
        .filter(|(_, r)| *r == Request::FoxHello)
        .collect();
    assert_eq!(fox.len(), 1, "{seen:?}");
    // OPC UA: the Hello, a None channel, both discovery services and the close.
    let opcua: BTreeSet<OpcuaRequest> = seen
        .iter()
        .filter_map(|(_, r)| match r {
            Request::Opcua(o) => Some(*o),
            _ => None,
        })
        .collect();
    assert_eq!(
        opcua,
        BTreeSet::from([
            OpcuaRequest::Hello,
            OpcuaRequest::OpenSecureChannel,
            OpcuaRequest::GetEndpoints,
            OpcuaRequest::FindServers,
            OpcuaRequest::CloseSecureChannel,
        ])
    );
    plant.shutdown().await;
}

/// A HART-IP Session Initiate (secondary host, allowed) and a Write Long Tag (command 22,
/// refused by the rules) to `ip` on one connection; returns its source port.
async fn hart_control(ip: Ipv4Addr, port: u16) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let message = |id: u8, sequence: u8, body: &[u8]| {
        let mut out = vec![1, 0, id, 0, 0, sequence];
        out.extend_from_slice(&u16::try_from(8 + body.len()).unwrap().to_be_bytes());
        out.extend_from_slice(body);
        out
    };
    let mut write = vec![0x82, 0x26, 0x41, 0x0A, 0x1B, 0x2C, 22, 32];
    write.extend_from_slice(b"HACKED                          ");
    write.push(write.iter().fold(0, |acc, b| acc ^ b));
    let mut tcp = tokio::net::TcpStream::connect((ip, port)).await.unwrap();
    let source = tcp.local_addr().unwrap().port();
    let mut reply = [0u8; 128];
    tcp.write_all(&message(0, 1, &[0, 0, 0, 0x27, 0x10]))
        .await
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    tcp.write_all(&message(3, 2, &write)).await.unwrap();
    let n = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        reply.get(16),
        Some(&64).filter(|_| n > 16),
        "command not implemented"
    );
    source
}

/// Remote STOP (0x1002) over TCP and a batch write of D100 (0x1401) over UDP to `ip`.
async fn melsec_controls(ip: Ipv4Addr, port: u16) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let frame = |command: u16, data: &[u8]| {
        let length = u16::try_from(6 + data.len()).unwrap().to_le_bytes();
        let mut out = vec![
            0x50, 0x00, 0x00, 0xFF, 0xFF, 0x03, 0x00, length[0], length[1],
        ];
        out.extend_from_slice(&[0x10, 0x00]);
        out.extend_from_slice(&command.to_le_bytes());
        out.extend_from_slice(&[0x00, 0x00]);
        out.extend_from_slice(data);
        out
    };
    let mut reply = [0u8; 64];
    let mut tcp = tokio::net::TcpStream::connect((ip, port)).await.unwrap();
    tcp.write_all(&frame(0x1002, &[0x01, 0x00])).await.unwrap();
    let n = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply[9..11.min(n)], [0x59, 0xC0], "refused with 0xC059");
    drop(tcp);
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let write = frame(0x1401, &[0x64, 0x00, 0x00, 0xA8, 0x01, 0x00, 0x2A, 0x00]);
    udp.send_to(&write, (ip, port)).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(500), udp.recv(&mut reply)).await;
}

/// A CODESYS channel manager open-channel request (datagram service 0x40, channel type
/// 0xC3) and a NameService resolve name (package type 0xC201, a UTF-16 name) to `ip`'s
/// runtime, from an ephemeral port, each waited on briefly (no answer comes).
async fn codesys_controls(ip: Ipv4Addr, port: u16) {
    let header = |service: u8| vec![0xC5, 0x7C, 0x40, service, 0, 0x20, 0, 1, 0, 0, 0, 1];
    let mut open_channel = header(0x40);
    open_channel.extend_from_slice(&[0xC3, 0x00, 0x01, 0x01, 0, 0, 0, 0, 1, 0, 0, 0]);
    open_channel.extend_from_slice(&[0x00, 0x40, 0x1F, 0x00, 5, 0, 0, 0]);
    let mut resolve_name = header(0x03);
    resolve_name.extend_from_slice(&[0x01, 0xC2, 0x00, 0x04, 9, 0, 0, 0]);
    resolve_name.extend_from_slice(&[b'P', 0, b'L', 0, b'C', 0, 0, 0]);
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut reply = [0u8; 512];
    for request in [open_channel, resolve_name] {
        udp.send_to(&request, (ip, port)).await.unwrap();
        let _ = tokio::time::timeout(Duration::from_millis(300), udp.recv(&mut reply)).await;
    }
}

/// An AddRoute (service 6: route name, NetId, user name, password, host) and a service 7
/// datagram to `ip`'s ADS discovery port, each waited on briefly (no answer comes).
async fn ads_controls(ip: Ipv4Addr, port: u16) {
    let datagram = |service: u32, tags: &[(u16, &[u8])]| {
        let mut out = vec![0x03, 0x66, 0x14, 0x71, 0, 0, 0, 0];
        out.extend_from_slice(&service.to_le_bytes());
        out.extend_from_slice(&[127, 0, 0, 1, 1, 1, 0x10, 0x27]);
        out.extend_from_slice(&u32::try_from(tags.len()).unwrap().to_le_bytes());
        for (id, data) in tags {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&u16::try_from(data.len()).unwrap().to_le_bytes());
            out.extend_from_slice(data);
        }
        out
    };
    let add_route = datagram(
        6,
        &[
            (12, b"audit\0"),
            (7, &[127, 0, 0, 1, 1, 1]),
            (13, b"Administrator\0"),
            (2, b"1\0"),
            (5, b"127.0.0.1\0"),
        ],
    );
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut reply = [0u8; 512];
    for request in [add_route, datagram(7, &[])] {
        udp.send_to(&request, (ip, port)).await.unwrap();
        let _ = tokio::time::timeout(Duration::from_millis(300), udp.recv(&mut reply)).await;
    }
}

/// A DCE/RPC connectionless request to `interface` (little-endian UUID bytes) operation
/// `opnum` carrying `body`, written here by hand.
fn dcerpc_request(interface: [u8; 16], opnum: u16, body: &[u8]) -> Vec<u8> {
    let mut out = vec![4, 0, 0x20, 0, 0x10, 0, 0, 0];
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&interface);
    out.extend_from_slice(&[0xa5; 16]);
    out.extend_from_slice(&[0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&opnum.to_le_bytes());
    out.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    out.extend_from_slice(&u16::try_from(body.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(body);
    out
}

/// A PNIO Connect (interface dea00001-..., operation 0, an empty NDR header and no
/// blocks) and an ept_insert (endpoint mapper operation 0) to `ip`'s CM port, each from
/// its own socket and waited on briefly (the fixture rejects both). Returns the source
/// ports.
async fn profinet_controls(ip: Ipv4Addr, port: u16) -> Vec<u16> {
    const EPM: [u8; 16] = [
        0x08, 0x83, 0xaf, 0xe1, 0x1f, 0x5d, 0xc9, 0x11, 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0,
        0xfa,
    ];
    const PNIO: [u8; 16] = [
        0x01, 0x00, 0xa0, 0xde, 0x97, 0x6c, 0xd1, 0x11, 0x82, 0x71, 0x00, 0xa0, 0x24, 0x42, 0xdf,
        0x7d,
    ];
    let mut connect_body = Vec::new();
    for v in [1500u32, 0, 1500, 0, 0] {
        connect_body.extend_from_slice(&v.to_le_bytes());
    }
    let insert_body = [0u8; 8];
    let mut sources = Vec::new();
    let mut reply = [0u8; 512];
    for request in [
        dcerpc_request(PNIO, 0, &connect_body),
        dcerpc_request(EPM, 0, &insert_body),
    ] {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sources.push(udp.local_addr().unwrap().port());
        udp.send_to(&request, (ip, port)).await.unwrap();
        let _ = tokio::time::timeout(Duration::from_millis(300), udp.recv(&mut reply)).await;
    }
    sources
}

// ---------------------------------------------------------------------------
// tshark

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A running `tshark` capture on `lo`, writing a pcapng file and printing one summary line
/// per packet, so the test knows when the capture is live and when it has caught up.
struct Capture {
    child: Child,
    lines: mpsc::Receiver<String>,
    marker: UdpSocket,
    marker_port: u16,
}

impl Capture {
    /// Starts capturing and returns once a marker datagram to `ready` shows up.
    async fn start(tshark: &Path, filter: &str, file: &Path, ready: Ipv4Addr, port: u16) -> Self {
        let mut child = Command::new(tshark)
            .args(["-i", "lo", "-n", "-l", "-P", "-f", filter, "-w"])
            .arg(file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("tshark starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let capture = Capture {
            child,
            lines,
            marker: UdpSocket::bind("127.0.0.1:0").unwrap(),
            marker_port: port,
        };
        capture.wait_for_marker(ready).await;
        capture
    }

    /// Sends datagrams to `to` until the capture prints one: everything captured before it
    /// has been written too.
    async fn wait_for_marker(&self, to: Ipv4Addr) {
        let needle = to.to_string();
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            let _ = self
                .marker
                .send_to(b"otscan-marker", SocketAddr::from((to, self.marker_port)));
            tokio::time::sleep(Duration::from_millis(50)).await;
            while let Ok(line) = self.lines.try_recv() {
                if line.contains(&needle) {
                    return;
                }
            }
        }
        panic!("tshark never showed the marker datagram to {to}: is capture on lo allowed?");
    }

    /// Waits until everything so far is written, then stops tshark with SIGINT.
    async fn stop(mut self, done: Ipv4Addr) {
        self.wait_for_marker(done).await;
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        for _ in 0..200 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The dissected fields of one captured packet.
#[derive(Debug, Default)]
struct Dissected {
    number: String,
    tcp_src: Option<u16>,
    udp_src: Option<u16>,
    tcp_port: Option<u16>,
    udp_port: Option<u16>,
    tcp_len: usize,
    modbus_functions: Vec<u8>,
    modbus_mei: Vec<u8>,
    enip_commands: Vec<u16>,
    snmp_version: Option<u8>,
    snmp_msg_version: Option<u8>,
    snmp_pdus: Vec<u8>,
    snmp_flags: String,
    cotp_types: Vec<u8>,
    s7_rosctr: Vec<u8>,
    s7_functions: Vec<u8>,
    s7_groups: Vec<u8>,
    s7_subfunctions: Vec<u8>,
    s7_szl_ids: Vec<u16>,
    s7_methods: Vec<u8>,
    s7_types: Vec<u8>,
    s7_last_units: Vec<u8>,
    s7_return_codes: Vec<u8>,
    bvlc_function: Option<u8>,
    npdu_control: Option<u8>,
    bacnet_types: Vec<u8>,
    bacnet_confirmed: Vec<u8>,
    bacnet_unconfirmed: Vec<u8>,
    fins_tcp_commands: Vec<u32>,
    fins_client_nodes: Vec<u32>,
    fins_icf: Vec<u8>,
    fins_commands: Vec<u16>,
    fins_data: String,
    opcua_types: Vec<String>,
    opcua_chunks: Vec<String>,
    opcua_services: Vec<u32>,
    opcua_policies: Vec<String>,
    opcua_modes: Vec<u32>,
    opcua_token_requests: Vec<u32>,
    malformed: bool,
    /// The TCP payload as captured (no dissector reads Fox).
    tcp_payload: Vec<u8>,
    knx_services: Vec<u16>,
    knx_host_protocols: Vec<u8>,
    knx_addresses: Vec<String>,
    knx_ports: Vec<u16>,
    hart_types: Vec<u8>,
    hart_ids: Vec<u8>,
    hart_commands: Vec<u8>,
    hart_delimiters: Vec<u8>,
    hart_masters: Vec<u8>,
    dcerpc_types: Vec<u8>,
    dcerpc_interfaces: Vec<String>,
    dcerpc_opnums: Vec<u16>,
    dcerpc_flags1: Vec<u8>,
    epm_inquiry_types: Vec<u32>,
    epm_interfaces: Vec<String>,
    epm_max_entries: Vec<u32>,
    http_methods: Vec<String>,
    http_uris: Vec<String>,
    http_lines: Vec<String>,
    tls_content_types: Vec<u8>,
    tls_handshake_types: Vec<u8>,
    /// TLS 1.3's encrypted records (their outer type, 23).
    tls_opaque_types: Vec<u8>,
}

/// The Fox hello, the only Fox message otscan may send, written out here by hand (nmap's
/// `fox-info` sends the same bytes).
const FOX_HELLO: &[u8] = b"fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\n};;\n";

const FIELDS: [&str; 63] = [
    "frame.number",
    "tcp.srcport",
    "udp.srcport",
    "tcp.dstport",
    "udp.dstport",
    "tcp.len",
    "modbus.func_code",
    "modbus.mei",
    "enip.command",
    "snmp.version",
    "snmp.msgVersion",
    "snmp.data",
    "snmp.msgFlags",
    "_ws.malformed",
    "cotp.type",
    "s7comm.header.rosctr",
    "s7comm.param.func",
    "s7comm.param.userdata.funcgroup",
    "s7comm.param.userdata.subfunc",
    "s7comm.data.userdata.szl_id",
    "bvlc.function",
    "bacnet.control",
    "bacapp.type",
    "bacapp.confirmed_service",
    "bacapp.unconfirmed_service",
    "s7comm.param.userdata.reqres1",
    "s7comm.param.userdata.type",
    "s7comm.param.userdata.lastdataunit",
    "s7comm.data.returncode",
    "omron.tcp.command",
    "omron.tcp.client_node_address",
    "omron.icf",
    "omron.command",
    "omron.command.data",
    "tcp.payload",
    "opcua.transport.type",
    "opcua.transport.chunk",
    "opcua.servicenodeid.numeric",
    "opcua.security.spu",
    "opcua.MessageSecurityMode",
    "opcua.SecurityTokenRequestType",
    "knxip.service",
    "knxip.hostprotocol",
    "knxip.ipaddr",
    "knxip.port",
    "hart_ip.message_type",
    "hart_ip.message_id",
    "hart_ip.pt.command",
    "hart_ip.pt.delimiter",
    "hart_ip.session_init.master_type",
    "dcerpc.pkt_type",
    "dcerpc.dg_if_id",
    "dcerpc.opnum",
    "dcerpc.dg_flags1",
    "epm.inq_type",
    "epm.if_id",
    "epm.max_ents",
    "http.request.method",
    "http.request.uri",
    "http.request.line",
    "tls.record.content_type",
    "tls.handshake.type",
    "tls.record.opaque_type",
];

fn number(text: &str) -> u64 {
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    }
    .unwrap_or_else(|_| panic!("not a number: {text:?}"))
}

fn numbers<T: TryFrom<u64>>(field: &str) -> Vec<T> {
    field
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| T::try_from(number(s)).ok().expect("in range"))
        .collect()
}

fn strings(field: &str) -> Vec<String> {
    field
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn dissect(tshark: &Path, file: &Path, ports: PlantPorts) -> Vec<Dissected> {
    let mut cmd = Command::new(tshark);
    cmd.arg("-r").arg(file).arg("-n");
    // Decode-as alone leaves Modbus/TCP unable to tell queries from responses (it compares
    // ports with its own port preference), and then it does not dissect the MEI type.
    cmd.args(["-o", &format!("mbtcp.tcp.port:{}", ports.modbus)]);
    // PROFINET CM is DCE/RPC over UDP, which tshark finds only by its heuristic (there is no
    // decode-as for it). Without this, UDP's port table is tried first, and a scanner socket
    // whose ephemeral source port is one a dissector registers (47000 is HCrt's, 34980
    // EtherCAT's) has its lookup dissected as that protocol and flagged malformed: CI failed
    // so on a frame from port 47000. Every other frame dissects the same either way.
    cmd.args(["-o", "udp.try_heuristic_first:TRUE"]);
    for decode in [
        format!("tcp.port=={},mbtcp", ports.modbus),
        format!("tcp.port=={},enip", ports.enip),
        format!("udp.port=={},enip", ports.enip),
        format!("udp.port=={},snmp", ports.snmp),
        format!("tcp.port=={},tpkt", ports.s7),
        format!("udp.port=={},bvlc", ports.bacnet),
        format!("tcp.port=={},omron", ports.fins),
        format!("udp.port=={},omron", ports.fins),
        format!("tcp.port=={},opcua", ports.opcua),
        format!("udp.port=={},kip", ports.knx),
        format!("tcp.port=={},hart_ip", ports.hart),
        format!("tcp.port=={},http", ports.http),
        format!("tcp.port=={},tls", ports.https),
    ] {
        cmd.args(["-d", &decode]);
    }
    cmd.args([
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for field in FIELDS {
        cmd.args(["-e", field]);
    }
    let out = cmd.stderr(Stdio::null()).output().expect("tshark -r runs");
    assert!(out.status.success(), "tshark -r failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('|').collect();
            assert_eq!(f.len(), FIELDS.len(), "{line}");
            let one = |s: &str| numbers::<u64>(s).first().copied();
            let port = |s: &str| one(s).map(|p| u16::try_from(p).expect("a port"));
            Dissected {
                number: f[0].to_owned(),
                tcp_src: port(f[1]),
                udp_src: port(f[2]),
                tcp_port: port(f[3]),
                udp_port: port(f[4]),
                tcp_len: one(f[5]).unwrap_or(0) as usize,
                modbus_functions: numbers(f[6]),
                modbus_mei: numbers(f[7]),
                enip_commands: numbers(f[8]),
                snmp_version: one(f[9]).map(|v| v as u8),
                snmp_msg_version: one(f[10]).map(|v| v as u8),
                snmp_pdus: numbers(f[11]),
                snmp_flags: f[12].to_owned(),
                malformed: !f[13].is_empty(),
                cotp_types: numbers(f[14]),
                s7_rosctr: numbers(f[15]),
                s7_functions: numbers(f[16]),
                s7_groups: numbers(f[17]),
                s7_subfunctions: numbers(f[18]),
                s7_szl_ids: numbers(f[19]),
                bvlc_function: one(f[20]).map(|v| v as u8),
                npdu_control: one(f[21]).map(|v| v as u8),
                bacnet_types: numbers(f[22]),
                bacnet_confirmed: numbers(f[23]),
                bacnet_unconfirmed: numbers(f[24]),
                s7_methods: numbers(f[25]),
                s7_types: numbers(f[26]),
                s7_last_units: numbers(f[27]),
                s7_return_codes: numbers(f[28]),
                fins_tcp_commands: numbers(f[29]),
                fins_client_nodes: numbers(f[30]),
                fins_icf: numbers(f[31]),
                fins_commands: numbers(f[32]),
                fins_data: f[33].to_owned(),
                tcp_payload: common::hx(f[34]),
                opcua_types: strings(f[35]),
                opcua_chunks: strings(f[36]),
                opcua_services: numbers(f[37]),
                opcua_policies: strings(f[38]),
                opcua_modes: numbers(f[39]),
                opcua_token_requests: numbers(f[40]),
                knx_services: numbers(f[41]),
                knx_host_protocols: numbers(f[42]),
                knx_addresses: strings(f[43]),
                knx_ports: numbers(f[44]),
                hart_types: numbers(f[45]),
                hart_ids: numbers(f[46]),
                hart_commands: numbers(f[47]),
                hart_delimiters: numbers(f[48]),
                hart_masters: numbers(f[49]),
                dcerpc_types: numbers(f[50]),
                dcerpc_interfaces: strings(f[51]),
                dcerpc_opnums: numbers(f[52]),
                dcerpc_flags1: numbers(f[53]),
                epm_inquiry_types: numbers(f[54]),
                epm_interfaces: strings(f[55]),
                epm_max_entries: numbers(f[56]),
                http_methods: strings(f[57]),
                http_uris: strings(f[58]),
                http_lines: strings(f[59]),
                tls_content_types: numbers(f[60]),
                tls_handshake_types: numbers(f[61]),
                tls_opaque_types: numbers(f[62]),
            }
        })
        .collect()
}

/// A kind of request the dissectors saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Seen {
    /// Modbus function code.
    Modbus(u8),
    /// EtherNet/IP over UDP (or TCP), command.
    Enip(bool, u16),
    /// SNMP message version (0, 1, 3) and PDU choice (0 get-request, 1 get-next-request).
    Snmp(u8, u8),
    /// S7: COTP TPDU type (0x0e CR, 0x0f DT), ROSCTR, function or SZL id.
    S7(u8, u8, u16),
    /// BACnet APDU type and service.
    Bacnet(u8, u8),
    /// FINS over UDP (or TCP), the FINS/TCP command (0 over UDP), the FINS command.
    Fins(bool, u32, u16),
    /// The Fox hello.
    FoxHello,
    /// OPC UA message type and service node id (0 for a Hello).
    Opcua(&'static str, u32),
    /// The KNXnet/IP DESCRIPTION_REQUEST with the route-back HPAI.
    KnxDescription,
    /// HART-IP message id and the HART command of a token-passing PDU (0 otherwise).
    Hart(u8, u8),
    /// The PROFINET CM endpoint mapper's ept_lookup of the PNIO device interface.
    ProfinetLookup,
    /// Telnet refusals (IAC WONT / IAC DONT triplets).
    TelnetRefusals,
    /// An HTTP GET of `/` (true) or of another plain path (false).
    HttpGet(bool),
    /// A TLS ClientHello.
    TlsClientHello,
    /// TLS records after the handshake's first flight (change cipher spec, encrypted
    /// handshake and application data, alerts).
    TlsEncrypted,
}

/// The rules, applied to one request as Wireshark dissected it.
fn check(p: &Dissected, ports: PlantPorts) -> Result<Seen, String> {
    let n = &p.number;
    if p.malformed {
        return Err(format!("frame {n}: malformed {p:?}"));
    }
    if p.tcp_port == Some(ports.modbus) {
        let [function] = p.modbus_functions[..] else {
            return Err(format!("frame {n}: not one Modbus PDU: {p:?}"));
        };
        return match (function, p.modbus_mei.first()) {
            (0x11, None) | (0x2B, Some(0x0E)) => Ok(Seen::Modbus(function)),
            (f, mei) => Err(format!("frame {n}: Modbus function {f:#04x}, MEI {mei:?}")),
        };
    }
    if p.tcp_port == Some(ports.enip) || p.udp_port == Some(ports.enip) {
        let [command] = p.enip_commands[..] else {
            return Err(format!("frame {n}: not one EtherNet/IP command: {p:?}"));
        };
        return if [0x0063, 0x0004, 0x0064].contains(&command) {
            Ok(Seen::Enip(p.udp_port.is_some(), command))
        } else {
            Err(format!("frame {n}: EtherNet/IP command {command:#06x}"))
        };
    }
    if p.tcp_port == Some(ports.s7) {
        return match (&p.cotp_types[..], &p.s7_rosctr[..]) {
            ([0x0e], []) => Ok(Seen::S7(0x0e, 0, 0)),
            ([0x0f], [1]) if p.s7_functions[..] == [0xf0] => Ok(Seen::S7(0x0f, 1, 0xf0)),
            ([0x0f], [7])
                if p.s7_groups[..] == [4]
                    && p.s7_subfunctions[..] == [1]
                    && matches!(p.s7_szl_ids[..], [0x0011 | 0x001c]) =>
            {
                Ok(Seen::S7(0x0f, 7, p.s7_szl_ids[0]))
            }
            // The SZL follow-up: method 0x12, type request (4), CPU functions, read SZL, "last
            // data unit", return code 0x0a and no SZL id: it asks for nothing but the next
            // data unit of an answer begun.
            ([0x0f], [7])
                if p.s7_groups[..] == [4]
                    && p.s7_subfunctions[..] == [1]
                    && p.s7_szl_ids.is_empty()
                    && p.s7_methods[..] == [0x12]
                    && p.s7_types[..] == [4]
                    && p.s7_last_units[..] == [0]
                    && p.s7_return_codes[..] == [0x0a] =>
            {
                Ok(Seen::S7(0x0f, 7, 0))
            }
            _ => Err(format!(
                "frame {n}: S7 request outside the allowlist: {p:?}"
            )),
        };
    }
    if p.tcp_port == Some(ports.fins) || p.udp_port == Some(ports.fins) {
        // A FINS command frame: ICF 0x80 (a command that wants its response), Controller
        // Data Read with its one data byte 00, nothing else.
        let controller_data_read =
            p.fins_icf[..] == [0x80] && p.fins_commands[..] == [0x0501] && p.fins_data == "00";
        let udp = p.udp_port.is_some();
        return match (udp, &p.fins_tcp_commands[..]) {
            (true, []) if controller_data_read => Ok(Seen::Fins(true, 0, 0x0501)),
            // Node address request with client node 0: the PLC assigns one.
            (false, [0])
                if p.fins_client_nodes[..] == [0]
                    && p.fins_icf.is_empty()
                    && p.fins_commands.is_empty() =>
            {
                Ok(Seen::Fins(false, 0, 0))
            }
            (false, [2]) if controller_data_read => Ok(Seen::Fins(false, 2, 0x0501)),
            _ => Err(format!(
                "frame {n}: FINS request outside the allowlist: {p:?}"
            )),
        };
    }
    if p.tcp_port == Some(ports.telnet) {
        let refusals = !p.tcp_payload.is_empty()
            && p.tcp_payload.len() % 3 == 0
            && p.tcp_payload
                .chunks(3)
                .all(|t| t[0] == 0xFF && matches!(t[1], 0xFC | 0xFE));
        return if refusals {
            Ok(Seen::TelnetRefusals)
        } else {
            Err(format!(
                "frame {n}: telnet payload {:02x?} is not refusals only",
                p.tcp_payload
            ))
        };
    }
    if p.tcp_port == Some(ports.http) {
        // One GET head: Wireshark's `http` names the method, the target and each header
        // line; the payload ends with the head's empty line and holds nothing after it.
        let head_only = p.tcp_payload.ends_with(b"\r\n\r\n")
            && p.tcp_payload
                .windows(4)
                .filter(|w| w == b"\r\n\r\n")
                .count()
                == 1;
        let headers_allowed = p.http_lines.iter().all(|line| {
            let name = line
                .split(':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            matches!(
                name.as_str(),
                "host" | "user-agent" | "accept" | "connection"
            )
        });
        return match (&p.http_methods[..], &p.http_uris[..]) {
            ([method], [uri])
                if method == "GET"
                    && head_only
                    && headers_allowed
                    && uri.starts_with('/')
                    && !uri.contains(['?', '#'])
                    && !uri.contains("cgi-bin") =>
            {
                Ok(Seen::HttpGet(uri == "/"))
            }
            _ => Err(format!(
                "frame {n}: HTTP request outside the allowlist: {p:?}"
            )),
        };
    }
    if p.tcp_port == Some(ports.https) {
        // TLS records only; in clear, no handshake message but the ClientHello (1) and
        // TLS 1.2's ClientKeyExchange (16): never a client Certificate (11) or anything
        // else; the request itself travels encrypted (application data, 23).
        let types: Vec<u8> = [&p.tls_content_types[..], &p.tls_opaque_types[..]].concat();
        let records_only = !types.is_empty() && types.iter().all(|t| (20..=23).contains(t));
        return match &p.tls_handshake_types[..] {
            _ if !records_only => Err(format!("frame {n}: not TLS records: {p:?}")),
            [1] => Ok(Seen::TlsClientHello),
            [] | [16] => Ok(Seen::TlsEncrypted),
            other => Err(format!(
                "frame {n}: TLS handshake messages {other:?} from the client"
            )),
        };
    }
    if p.tcp_port == Some(ports.ssh) || p.tcp_port == Some(ports.ftp) {
        // The banner probes only read the server's greeting: any payload is a byte they
        // must not have sent.
        return Err(format!(
            "frame {n}: {} bytes sent to a banner service (port {:?}): {:?}",
            p.tcp_len,
            p.tcp_port,
            String::from_utf8_lossy(&p.tcp_payload)
        ));
    }
    if p.tcp_port == Some(ports.fox) {
        return if p.tcp_payload == FOX_HELLO {
            Ok(Seen::FoxHello)
        } else {
            Err(format!(
                "frame {n}: Fox payload {:?} is not the hello",
                String::from_utf8_lossy(&p.tcp_payload)
            ))
        };
    }
    if p.tcp_port == Some(ports.opcua) {
        const POLICY_NONE: &str = "http://opcfoundation.org/UA/SecurityPolicy#None";
        let chunks_final = p.opcua_chunks.iter().all(|c| c == "F") && !p.opcua_chunks.is_empty();
        let types: Vec<&str> = p.opcua_types.iter().map(String::as_str).collect();
        return match (&types[..], &p.opcua_services[..]) {
            (["HEL"], []) if chunks_final => Ok(Seen::Opcua("HEL", 0)),
            // A new channel under SecurityPolicy None, mode None: nothing signed or encrypted,
            // no certificate.
            (["OPN"], [446])
                if chunks_final
                    && p.opcua_policies[..] == [POLICY_NONE]
                    && p.opcua_modes[..] == [1]
                    && p.opcua_token_requests[..] == [0] =>
            {
                Ok(Seen::Opcua("OPN", 446))
            }
            (["MSG"], [s @ (428 | 422)]) if chunks_final => Ok(Seen::Opcua("MSG", *s)),
            (["CLO"], [452]) if chunks_final => Ok(Seen::Opcua("CLO", 452)),
            _ => Err(format!(
                "frame {n}: OPC UA request outside the allowlist: {p:?}"
            )),
        };
    }
    if p.udp_port == Some(ports.knx) {
        // One DESCRIPTION_REQUEST (0x0203) whose one HPAI is IPv4 UDP 0.0.0.0:0 (route back).
        return if p.knx_services[..] == [0x0203]
            && p.knx_host_protocols[..] == [1]
            && p.knx_addresses[..] == ["0.0.0.0"]
            && p.knx_ports[..] == [0]
        {
            Ok(Seen::KnxDescription)
        } else {
            Err(format!(
                "frame {n}: KNXnet/IP request outside the allowlist: {p:?}"
            ))
        };
    }
    if p.tcp_port == Some(ports.hart) {
        // One request; a session only as a secondary host; reads only.
        return match (
            &p.hart_types[..],
            &p.hart_ids[..],
            &p.hart_delimiters[..],
            &p.hart_commands[..],
            &p.hart_masters[..],
        ) {
            ([0], [0], [], [], [0]) => Ok(Seen::Hart(0, 0)),
            ([0], [1], [], [], []) => Ok(Seen::Hart(1, 0)),
            ([0], [3], [0x02], [0], []) => Ok(Seen::Hart(3, 0)),
            ([0], [3], [0x82], [c @ (20 | 74 | 84)], []) => Ok(Seen::Hart(3, *c)),
            _ => Err(format!(
                "frame {n}: HART-IP request outside the allowlist: {p:?}"
            )),
        };
    }
    if p.udp_port == Some(ports.profinet) {
        // One connectionless request (type 0), not a fragment, to the endpoint mapper,
        // operation 2 (ept_lookup), inquiry type 0 for the PNIO device interface.
        const EPM: &str = "e1af8308-5d1f-11c9-91a4-08002b14a0fa";
        const PNIO: &str = "dea00001-6c97-11d1-8271-00a02442df7d";
        return if p.dcerpc_types[..] == [0]
            && p.dcerpc_interfaces[..] == [EPM]
            && p.dcerpc_opnums[..] == [2]
            && matches!(p.dcerpc_flags1[..], [f] if f & 0x04 == 0)
            && p.epm_inquiry_types[..] == [0]
            && p.epm_interfaces[..] == [PNIO]
            && matches!(p.epm_max_entries[..], [1..=16])
        {
            Ok(Seen::ProfinetLookup)
        } else {
            Err(format!(
                "frame {n}: PROFINET CM request outside the allowlist: {p:?}"
            ))
        };
    }
    if p.udp_port == Some(ports.bacnet) {
        // Unicast only, an NPDU that routes nowhere, a Device-object read or a Who-Is.
        if p.bvlc_function != Some(0x0a) || p.npdu_control.is_none_or(|c| c & !0x04 != 0) {
            return Err(format!(
                "frame {n}: BACnet BVLC/NPDU outside the allowlist: {p:?}"
            ));
        }
        return match (
            &p.bacnet_types[..],
            &p.bacnet_confirmed[..],
            &p.bacnet_unconfirmed[..],
        ) {
            ([0], [s @ (12 | 14)], []) => Ok(Seen::Bacnet(0, *s)),
            ([1], [], [8]) => Ok(Seen::Bacnet(1, 8)),
            _ => Err(format!(
                "frame {n}: BACnet request outside the allowlist: {p:?}"
            )),
        };
    }
    let [pdu] = p.snmp_pdus[..] else {
        return Err(format!("frame {n}: not one SNMP PDU: {p:?}"));
    };
    if pdu > 1 {
        return Err(format!("frame {n}: SNMP PDU {pdu}, not get or get-next"));
    }
    match (p.snmp_version, p.snmp_msg_version) {
        (Some(v @ (0 | 1)), None) => Ok(Seen::Snmp(v, pdu)),
        // v3: only the discovery get-request, reportable, no authentication, no privacy.
        (None, Some(3)) if pdu == 0 && p.snmp_flags == "04" => Ok(Seen::Snmp(3, pdu)),
        other => Err(format!(
            "frame {n}: SNMP version {other:?}, flags {}",
            p.snmp_flags
        )),
    }
}

/// Negative controls: one forbidden request per protocol, sent by the test itself (never by
/// the scanner) to the plant's own fixtures, which answer writes with errors and change
/// nothing. Returns the source ports they left from.
async fn send_controls(base: Ipv4Addr, ports: PlantPorts) -> Vec<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sources = Vec::new();
    // Modbus FC 0x06 Write Single Register to plc-m340.
    let mut tcp = tokio::net::TcpStream::connect((host(base, 10), ports.modbus))
        .await
        .unwrap();
    sources.push(tcp.local_addr().unwrap().port());
    tcp.write_all(&[0, 1, 0, 0, 0, 6, 1, 0x06, 0x00, 0x01, 0x00, 0x2A])
        .await
        .unwrap();
    let mut reply = [0u8; 64];
    let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    drop(tcp);
    // EtherNet/IP RegisterSession (0x65) over UDP to plc-l61.
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sources.push(udp.local_addr().unwrap().port());
    let mut register = vec![0x65, 0x00, 0x04, 0x00];
    register.extend_from_slice(&[0; 20]);
    register.extend_from_slice(&[1, 0, 0, 0]);
    udp.send_to(&register, (host(base, 20), ports.enip))
        .await
        .unwrap();
    // SNMP v2c SetRequest of sysName.0 to the UPS.
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sources.push(udp.local_addr().unwrap().port());
    let set: &[u8] = &[
        0x30, 0x29, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xA3, 0x1C,
        0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x11, 0x30, 0x0F, 0x06, 0x08,
        0x2B, 0x06, 0x01, 0x02, 0x01, 0x01, 0x05, 0x00, 0x04, 0x03, b'b', b'a', b'd',
    ];
    udp.send_to(set, (host(base, 30), ports.snmp))
        .await
        .unwrap();
    // S7: a Connection Request, then a Write Var job (one byte to DB1) to the S7-300.
    let mut tcp = tokio::net::TcpStream::connect((host(base, 50), ports.s7))
        .await
        .unwrap();
    sources.push(tcp.local_addr().unwrap().port());
    let cr: &[u8] = &[
        0x03, 0x00, 0x00, 0x16, 0x11, 0xE0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xC1, 0x02, 0x01, 0x00,
        0xC2, 0x02, 0x01, 0x02, 0xC0, 0x01, 0x0A,
    ];
    tcp.write_all(cr).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    let write_var: &[u8] = &[
        0x03, 0x00, 0x00, 0x24, 0x02, 0xF0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x0E,
        0x00, 0x05, 0x05, 0x01, 0x12, 0x0A, 0x10, 0x02, 0x00, 0x01, 0x00, 0x01, 0x84, 0x00, 0x00,
        0x00, 0x00, 0x04, 0x00, 0x08, 0x2A,
    ];
    tcp.write_all(write_var).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    drop(tcp);
    // S7: the follow-up telegram's shape, but for the time functions (group 7) with
    // subfunction 2 (set clock): only the SZL continuation may look like that.
    let mut tcp = tokio::net::TcpStream::connect((host(base, 50), ports.s7))
        .await
        .unwrap();
    sources.push(tcp.local_addr().unwrap().port());
    tcp.write_all(cr).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    let follow_up_set_clock: &[u8] = &[
        0x03, 0x00, 0x00, 0x21, 0x02, 0xF0, 0x80, 0x32, 0x07, 0x00, 0x00, 0x00, 0x03, 0x00, 0x0C,
        0x00, 0x04, 0x00, 0x01, 0x12, 0x08, 0x12, 0x47, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x0A,
        0x00, 0x00, 0x00,
    ];
    tcp.write_all(follow_up_set_clock).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    drop(tcp);
    // BACnet WriteProperty of object-name to the building controller.
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sources.push(udp.local_addr().unwrap().port());
    let write_property: &[u8] = &[
        0x81, 0x0A, 0x00, 0x18, 0x01, 0x04, 0x00, 0x05, 0x01, 0x0F, 0x0C, 0x02, 0x00, 0x04, 0x10,
        0x19, 0x4D, 0x3E, 0x74, 0x00, 0x62, 0x61, 0x64, 0x3F,
    ];
    udp.send_to(write_property, (host(base, 40), ports.bacnet))
        .await
        .unwrap();
    // FINS RUN (04 01, monitor mode) over UDP to the CJ2M.
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sources.push(udp.local_addr().unwrap().port());
    let run: &[u8] = &[
        0x80, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x63, 0x00, 0x01, 0x04, 0x01, 0xFF, 0xFF, 0x02,
    ];
    udp.send_to(run, (host(base, 70), ports.fins))
        .await
        .unwrap();
    // FINS/TCP: the node address exchange, then Memory Area Write (01 02) of D100 = 0x002A
    // to the CJ2M.
    let mut tcp = tokio::net::TcpStream::connect((host(base, 70), ports.fins))
        .await
        .unwrap();
    sources.push(tcp.local_addr().unwrap().port());
    let node_request: &[u8] = &[
        b'F', b'I', b'N', b'S', 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    tcp.write_all(node_request).await.unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    let memory_write: &[u8] = &[
        b'F', b'I', b'N', b'S', 0, 0, 0, 28, 0, 0, 0, 2, 0, 0, 0, 0, 0x80, 0x00, 0x02, 0x00, 70,
        0x00, 0x00, 239, 0x00, 0x02, 0x01, 0x02, 0x82, 0x00, 0x64, 0x00, 0x00, 0x01, 0x00, 0x2A,
    ];
    tcp.write_all(memory_write).await.unwrap();
    // SSH: a client identification string to the switch (the probe sends nothing).
    let mut tcp = tokio::net::TcpStream::connect((host(base, 150), ports.ssh))
        .await
        .unwrap();
    sources.push(tcp.local_addr().unwrap().port());
    let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    tcp.write_all(b"SSH-2.0-OpenSSH_9.2p1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(tcp);
    // Telnet: a user name to the PLC's login prompt (the probe sends refusals only).
    let mut tcp = tokio::net::TcpStream::connect((host(base, 157), ports.telnet))
        .await
        .unwrap();
    sources.push(tcp.local_addr().unwrap().port());
    let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    tcp.write_all(b"admin\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(tcp);
    // HTTP: a POST with a body to a CGI program of the serial device server.
    let mut tcp = tokio::net::TcpStream::connect((host(base, 160), ports.http))
        .await
        .unwrap();
    sources.push(tcp.local_addr().unwrap().port());
    tcp.write_all(b"POST /cgi-bin/restart.cgi HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na=1")
        .await
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    drop(tcp);
    // HTTPS: a plain HTTP request to the TLS port of the switch (not TLS at all).
    let mut tcp = tokio::net::TcpStream::connect((host(base, 165), ports.https))
        .await
        .unwrap();
    sources.push(tcp.local_addr().unwrap().port());
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    drop(tcp);
    // FTP: a USER command to the HMI (the probe sends nothing).
    let mut tcp = tokio::net::TcpStream::connect((host(base, 152), ports.ftp))
        .await
        .unwrap();
    sources.push(tcp.local_addr().unwrap().port());
    let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    tcp.write_all(b"USER anonymous\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(tcp);
    // Fox: a login after the hello's shape, to the JACE (the station closes on it).
    let mut tcp = tokio::net::TcpStream::connect((host(base, 80), ports.fox))
        .await
        .unwrap();
    sources.push(tcp.local_addr().unwrap().port());
    tcp.write_all(b"fox a 1 -1 fox login\n{\nusername=s:admin\n};;\n")
        .await
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    // OPC UA: Hello and a None channel (both allowed), then a CreateSessionRequest (461) to
    // the Kepware-like gateway, which refuses it (an unknown channel or a ServiceFault).
    let mut tcp = tokio::net::TcpStream::connect((host(base, 61), ports.opcua))
        .await
        .unwrap();
    sources.push(tcp.local_addr().unwrap().port());
    for message in opcua_control_messages(host(base, 61), ports.opcua) {
        tcp.write_all(&message).await.unwrap();
        let _ = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut reply)).await;
    }
    drop(tcp);
    // KNXnet/IP: a CONNECT_REQUEST for a link-layer tunnel (the router refuses it with
    // E_CONNECTION_TYPE), and a TUNNELLING_REQUEST carrying a group write of 1 to 1/0/1
    // (the router drops it), each from its own socket.
    let route_back = [0x08, 0x01, 0, 0, 0, 0, 0, 0];
    let mut connect = vec![0x06, 0x10, 0x02, 0x05, 0x00, 0x1A];
    connect.extend_from_slice(&route_back);
    connect.extend_from_slice(&route_back);
    connect.extend_from_slice(&[0x04, 0x04, 0x02, 0x00]);
    let tunnel: &[u8] = &[
        0x06, 0x10, 0x04, 0x20, 0x00, 0x15, 0x04, 0x01, 0x00, 0x00, 0x11, 0x00, 0xBC, 0xE0, 0x00,
        0x00, 0x08, 0x01, 0x01, 0x00, 0x81,
    ];
    for datagram in [&connect[..], tunnel] {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sources.push(udp.local_addr().unwrap().port());
        udp.send_to(datagram, (host(base, 100), ports.knx))
            .await
            .unwrap();
    }
    // HART-IP: a session as a secondary host, then Write Long Tag (command 22) to the
    // pressure transmitter (which answers "command not implemented").
    sources.push(hart_control(host(base, 120), ports.hart).await);
    // PROFINET: a PNIO Connect and an ept_insert to the S7-1500 (rejected).
    sources.extend(profinet_controls(host(base, 130), ports.profinet).await);
    sources
}

/// A Hello, an OpenSecureChannel (None) and a CreateSessionRequest on channel 2, written here by
/// hand from OPC 10000-6, not with otscan's encoder (which
/// cannot spell a session).
fn opcua_control_messages(ip: Ipv4Addr, port: u16) -> Vec<Vec<u8>> {
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
    /// Type NodeId (four-byte form) and a request header without a session.
    fn service(id: u16) -> Vec<u8> {
        let mut out = vec![0x01, 0x00];
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&[0x00, 0x00]);
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&[0xFF; 4]);
        out.extend_from_slice(&[0x10, 0x27, 0, 0]);
        out.extend_from_slice(&[0, 0, 0]);
        out
    }
    let url = format!("opc.tcp://{ip}:{port}");
    let mut hello = Vec::new();
    for v in [0u32, 65_536, 65_536, 0, 0] {
        hello.extend_from_slice(&v.to_le_bytes());
    }
    string(&mut hello, url.as_bytes());
    let mut open = vec![0; 4];
    string(
        &mut open,
        b"http://opcfoundation.org/UA/SecurityPolicy#None",
    );
    open.extend_from_slice(&[0xFF; 8]);
    open.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0]);
    open.extend(service(446));
    for v in [0u32, 0, 1, 0, 60_000] {
        open.extend_from_slice(&v.to_le_bytes());
    }
    // CreateSession: client description, server URI, endpoint URL, session name, nonce,
    // certificate, timeout, max response size; only its type matters to the check.
    let mut session = vec![2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0];
    session.extend(service(461));
    session.extend_from_slice(&[0xFF; 4 * 3]);
    session.extend_from_slice(&[0x00]);
    session.extend_from_slice(&[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    string(&mut session, url.as_bytes());
    string(&mut session, b"control");
    session.extend_from_slice(&[0xFF; 8]);
    session.extend_from_slice(&[0; 8 + 4]);
    vec![
        message(b"HEL", &hello),
        message(b"OPN", &open),
        message(b"MSG", &session),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tshark_dissects_only_read_only_requests_on_the_wire() {
    let Some(tshark) = find_program("tshark") else {
        panic!("tshark is not installed: run scripts/install-deps.sh (it installs Debian's tshark)")
    };
    let (base, ports) = CAPTURED;
    let plant = Plant::start(audit_plant(base, ports)).unwrap();
    let dir = std::env::temp_dir().join(format!("otscan-wire-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("scan.pcapng");
    let _ = std::fs::remove_file(&file);
    // Markers go to the discard port of two addresses outside the scanned /24, so that no
    // packet of the scan can be taken for one.
    let marker_port = 9;
    let [a, b, c, _] = base.octets();
    let (start_marker, end_marker) = (
        Ipv4Addr::new(a, b, c.wrapping_add(1), 250),
        Ipv4Addr::new(a, b, c.wrapping_add(1), 251),
    );
    let filter = format!(
        "(net {base}/24 and (tcp port {} or port {} or udp port {} or tcp port {} or udp port {} \
         or port {} or tcp port {} or tcp port {} or udp port {} or tcp port {} or udp port {} or tcp port {} or tcp port {} or tcp port {} or tcp port {} or tcp port {})) or (udp port {marker_port} and (host {start_marker} or host {end_marker}))",
        ports.modbus, ports.enip, ports.snmp, ports.s7, ports.bacnet, ports.fins, ports.fox, ports.opcua, ports.knx, ports.hart,
        ports.profinet, ports.ssh, ports.ftp, ports.telnet, ports.http, ports.https
    );
    let capture = Capture::start(&tshark, &filter, &file, start_marker, marker_port).await;
    for (label, config) in passes(base, ports) {
        let records = scan(config).await;
        assert!(records > 0, "{label}");
    }
    let controls = send_controls(base, ports).await;
    capture.stop(end_marker).await;

    let packets = dissect(&tshark, &file, ports);
    let requests: Vec<&Dissected> = packets
        .iter()
        .filter(|p| {
            p.tcp_port.is_some_and(|d| {
                d == ports.modbus
                    || d == ports.enip
                    || d == ports.s7
                    || d == ports.fins
                    || d == ports.fox
                    || d == ports.opcua
                    || d == ports.hart
                    || d == ports.ssh
                    || d == ports.ftp
                    || d == ports.telnet
                    || d == ports.http
                    || d == ports.https
            }) && p.tcp_len > 0
                || p.udp_port.is_some_and(|d| {
                    d == ports.enip
                        || d == ports.snmp
                        || d == ports.bacnet
                        || d == ports.fins
                        || d == ports.knx
                        || d == ports.profinet
                })
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut flagged = Vec::new();
    for p in &requests {
        match check(p, ports) {
            Ok(kind) => {
                seen.insert(kind);
            }
            Err(why) => flagged.push((p.tcp_src.or(p.udp_src), why)),
        }
    }
    eprintln!(
        "tshark: {} packets, {} requests, kinds {seen:?}",
        packets.len(),
        requests.len()
    );
    // The negative controls, and nothing else, break the rules.
    let (from_controls, from_scanner): (Vec<_>, Vec<_>) = flagged
        .into_iter()
        .partition(|(port, _)| port.is_some_and(|p| controls.contains(&p)));
    assert!(
        from_scanner.is_empty(),
        "the scanner sent what it must not: {from_scanner:#?}"
    );
    assert_eq!(
        from_controls.len(),
        controls.len(),
        "the check missed a control: {from_controls:#?}"
    );
    // The capture saw every kind of request, so the allowlist was really applied.
    assert_eq!(
        seen,
        BTreeSet::from([
            Seen::Modbus(0x11),
            Seen::Modbus(0x2B),
            Seen::Enip(false, 0x0004),
            Seen::Enip(false, 0x0063),
            Seen::Enip(true, 0x0004),
            Seen::Enip(true, 0x0063),
            Seen::Snmp(0, 0),
            Seen::Snmp(0, 1),
            Seen::Snmp(1, 0),
            Seen::Snmp(1, 1),
            Seen::Snmp(3, 0),
            Seen::S7(0x0e, 0, 0),
            Seen::S7(0x0f, 1, 0xf0),
            Seen::S7(0x0f, 0x07, 0x0000),
            Seen::S7(0x0f, 7, 0x0011),
            Seen::S7(0x0f, 7, 0x001c),
            Seen::Bacnet(0, 12),
            Seen::Bacnet(0, 14),
            Seen::Bacnet(1, 8),
            Seen::Fins(false, 0, 0),
            Seen::Fins(false, 2, 0x0501),
            Seen::Fins(true, 0, 0x0501),
            Seen::FoxHello,
            Seen::Opcua("HEL", 0),
            Seen::Opcua("OPN", 446),
            Seen::Opcua("MSG", 422),
            Seen::Opcua("MSG", 428),
            Seen::Opcua("CLO", 452),
            Seen::KnxDescription,
            Seen::Hart(0, 0),
            Seen::Hart(1, 0),
            Seen::Hart(3, 0),
            Seen::Hart(3, 20),
            Seen::Hart(3, 74),
            Seen::Hart(3, 84),
            Seen::ProfinetLookup,
            Seen::TelnetRefusals,
            Seen::HttpGet(true),
            Seen::HttpGet(false),
            Seen::TlsClientHello,
            Seen::TlsEncrypted,
        ])
    );
    plant.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
