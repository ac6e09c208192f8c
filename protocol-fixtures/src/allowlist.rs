//! The read-only allowlist: every request otscan may ever send to a device, decided from the
//! request's bytes alone.
//!
//! [`check`] decodes a request independently of otscan's encoders (by hand for Modbus/TCP,
//! EtherNet/IP, BACnet/IP, S7 and Fox; with rasn-snmp for SNMP) and accepts it only if it is one of
//! these identification reads:
//!
//! | label | accepted | spec |
//! | --- | --- | --- |
//! | `"modbus"` | MBAP with protocol id 0 and a true length, then Read Device Identification (FC 0x2B, MEI 0x0E, read code 1-3, one object id) or Report Server ID (FC 0x11) | Modbus Application Protocol v1.1b3 §6.17, §6.21; Modbus Messaging on TCP/IP v1.0b §3.1.3 |
//! | `"enip"` | a bare 24-byte encapsulation header of ListIdentity (0x0063), ListServices (0x0004) or ListInterfaces (0x0064), with no session handle and no data | ODVA CIP Vol. 2 (EtherNet/IP) §2-3, §2-4 |
//! | `"snmp"` | a v1/v2c GetRequest or GetNextRequest, or the v3 discovery message: msgFlags 0x04 (reportable, noAuthNoPriv) and a cleartext GetRequest with no variable bindings | RFC 1157, RFC 3416, RFC 3412 §6, RFC 3414 §4 |
//! | `"bacnet"` | BVLC Original-Unicast-NPDU with a true length, NPDU version 1 that routes nowhere and carries no network-layer message; then an unsegmented confirmed ReadProperty (0x0C) or ReadPropertyMultiple (0x0E) whose first object is a Device (type 8), or an unconfirmed Who-Is | ANSI/ASHRAE 135 Annex J.2, §6.2, §20.1 |
//! | `"melsec"` | exactly one 15-byte SLMP / MC protocol 3E binary request: subheader `50 00`, network 0, PC 0xFF, request destination module I/O 0x03FF, station 0, data length 6, any monitoring timer, command 0x0101 (Read CPU Model Name), subcommand 0, no request data | SLMP reference manual (3E frame, Read Type Name), as pymcprotocol documents it |
//! | `"fins"` | a bare FINS frame (UDP) or a FINS/TCP frame send (magic "FINS", a true length, command 2, error code 0) carrying it: ICF 0x80, RSV 0, GCT 2, DNA 0, DA1 0-254 (no broadcast), DA2 0 (the CPU unit), SNA 0, SA1 0-254, SA2 0, any SID, then exactly Controller Data Read `05 01 00`; or the FINS/TCP node address data send (command 0, length 12, error code 0, client node 0) | Omron W342 §3 and §5-3-5, W421 (FINS/TCP) |
//! | `"fox"` | exactly the Fox hello: the lines `fox a 1 -1 fox hello`, `{`, `fox.version=s:1.0`, `id=i:1`, `};;`, each ended by a line feed, nothing before or after (no login, no other command or channel, no further tuple) | nmap `fox-info`, zgrab2 `fox`, the public Fox dissector |
//! | `"opcua"` | a single final (`F`) UA-TCP chunk whose size is the frame's: a Hello (five UInt32 and an `opc.tcp://` endpoint URL, nothing more); an OpenSecureChannel on channel 0 under SecurityPolicy None with no certificate, a body of type OpenSecureChannelRequest (446) asking to Issue (0) with MessageSecurityMode None (1); a MSG of GetEndpointsRequest (428) or FindServersRequest (422) with no authentication token; or a CLO of CloseSecureChannelRequest (452). No session service (CreateSession 461, ActivateSession 467) or any other body type | OPC 10000-6 §7.1.2, §6.7; OPC 10000-4 §5.4, §5.5; NodeIds.csv |
//! | `"knx"` | exactly the 14-byte KNXnet/IP DESCRIPTION_REQUEST: header length 6, version 0x10, service 0x0203, total length 14, then one HPAI of length 8, host protocol 0x01 (IPv4 UDP), address 0.0.0.0 and port 0 (route back: the answer goes only to the sender); no SEARCH_REQUEST, CONNECT_REQUEST, tunnelling, routing or device management service | KNX Standard 03.08.02 (Core) §7.7.1, Wireshark's `knxip` dissector |
//! | `"ads"` | exactly one 24-byte ADS discovery Identify: magic `03 66 14 71`, any invoke id, service 1, any sender AMS NetId and port, tag count 0 and no tags (AddRoute, service 6, with its user name and password tags, and every other service refused) | ads-rs `udp` module; TwinCAT's broadcast search as nmap's twincat-scan sends it |
//! | `"hart"` | a HART-IP request (version 1, message type 0, status 0, a true byte count): Session Initiate as a secondary host (master type 0, an inactivity close time of 1-60000 ms, nothing more), Session Close (no body), or a token-passing PDU holding one HART frame from a secondary host with a correct check byte and nothing after it: command 0 (Read Unique Identifier) in a short frame to polling address 0, or in a long frame (5-byte unique address) command 20 (Read Long Tag) or 74 (Read I/O System Capabilities) without data, or 84 (Read Sub-Device Identity Summary) with a 2-byte index. Every write, reset, command 77 (pass a command to a sub-device), device-specific command, Keep Alive and primary-host session is refused | Wireshark's `packet-hartip.c`; HART universal and common practice command layouts |
//! | `"profinet"` | exactly one 156-byte DCE/RPC connectionless request (version 4, packet type 0, no fragment bit, little-endian data representation, no authentication, fragment 0 of 76 bytes) to the endpoint mapper (interface e1af8308-5d1f-11c9-91a4-08002b14a0fa version 3) operation 2 `ept_lookup`, with a nil object UUID and any activity and sequence; body: inquiry type 0, a nil object, the PNIO device interface dea00001-6c97-11d1-8271-00a02442df7d version 1.0, version option 1, a null entry handle and 1-16 entries (the PNIO interface's Connect, Release, Read, Write and Control, the endpoint mapper's insert and delete, pings and every other call refused) | Wireshark's `dcerpc` and `epm` dissectors; nmap 7.95 profinet-cm-lookup |
//! | `"codesys"` | exactly one CODESYS V3 NameService resolve address: datagram magic `C5`, header of 4 words (any hop count), packet info `40` (normal priority, no signal, relative address, no data length), service `03` (NameService request), message id 0, no receiver address and a sender address of 1-3 words, any broadcast id, zero padding to 4 bytes, then package type `C202` (resolve address), version `0400`, any request id, nothing more (the channel manager, service `40`, which opens channels for login and download, resolve name `C201`, a routed receiver address and every other service refused) | nmap `codesys3.lua` (Rapid7), Microsoft ics-forensics-tools `codesysv3_protocol` |
//! | `"ssh"` | nothing: the empty request only (the server speaks first; a client identification string, a key exchange or a user name is refused) | RFC 4253 §4.2 |
//! | `"ftp"` | nothing: the empty request only (the server greets first; USER, PASS, QUIT and every other command refused) | RFC 959 §4.2, §5.4 |
//! | `"telnet"` | refusals only: a sequence of `IAC WONT x` / `IAC DONT x` triplets, or nothing (no text, so no user name or password; no `DO`, `WILL` or sub-negotiation) | RFC 854, RFC 855 |
//! | `"http"` | exactly one HTTP/1.1 request head and nothing after it: the request line `GET <path> HTTP/1.1` (no other method), a path that begins with `/`, printable ASCII of at most 1024 bytes, no query (`?`), fragment (`#`), dot segment or `cgi-bin`; then only the headers `Host`, `User-Agent`, `Accept` and `Connection` (which must be `close`), each once, `Host` present; no body, so no `Content-Length` or `Transfer-Encoding`, no `Authorization`, `Cookie` or any other header | RFC 9110 §9.3.1, RFC 9112 §3 |
//! | `"https"` | the `"http"` rule, applied to the request a TLS fixture decrypted | RFC 9110, RFC 8446 |
//! | `"tls"` | exactly one TLS handshake record (type 22, version 3.1-3.3, a true length) holding exactly one ClientHello (handshake type 1, a true length): a client's first flight; every other record is encrypted or follows the handshake, and the fixtures record the request inside it under `"https"` | RFC 8446 §4.1.2, RFC 5246 §7.4.1.2 |
//! | `"s7"` | TPKT version 3 with a true length, then a COTP Connection Request without user data, or a COTP DT carrying an S7 job Setup Communication (0xF0) or a userdata read-SZL of list 0x0011 or 0x001C, or the read-SZL follow-up (parameters `00 01 12 08 12 44 01` + sequence + `00 00 00 00`, data `0A 00 00 00`, nothing more) | RFC 1006, ISO 8073, the public descriptions of the S7 PDU |
//!
//! Anything else, including bytes too short to tell, is a [`Violation`]. The checks never panic
//! and never index out of bounds, whatever the bytes. The labels are the ones the fixtures'
//! [`Recorder`](crate::Recorder) writes in [`RecordedFrame::protocol`](crate::RecordedFrame),
//! and the recorder checks every frame of a label in [`PROTOCOLS`] as it records it.

use rasn::types::Integer;
use rasn_snmp::{v2, v2c, v3};

use crate::recorder::Framing;

/// Label of Modbus/TCP frames (TCP, MBAP framing).
pub const MODBUS: &str = Framing::ModbusTcp.protocol();
/// Label of EtherNet/IP encapsulation frames (TCP or UDP).
pub const ENIP: &str = Framing::Enip.protocol();
/// Label of SNMP datagrams.
pub const SNMP: &str = crate::snmp::PROTOCOL;
/// Label of BACnet/IP datagrams.
pub const BACNET: &str = crate::bacnet::PROTOCOL;
/// Label of ISO-on-TCP (S7) frames.
pub const S7: &str = crate::s7::PROTOCOL;
/// Label of Omron FINS frames (UDP datagrams and FINS/TCP frames).
pub const FINS: &str = Framing::FinsTcp.protocol();

/// Label of Niagara Fox messages.
pub const FOX: &str = crate::fox::PROTOCOL;

/// Label of MELSEC SLMP / MC protocol 3E frames (TCP or UDP).
pub const MELSEC: &str = crate::melsec::PROTOCOL;

/// Label of Beckhoff ADS discovery datagrams (UDP 48899).
pub const ADS: &str = crate::ads::PROTOCOL;

/// Label of UA-TCP (OPC UA) frames.
pub const OPCUA: &str = crate::opcua::PROTOCOL;

/// Label of KNXnet/IP datagrams.
pub const KNX: &str = crate::knx::PROTOCOL;

/// Label of HART-IP messages (TCP 5094).
pub const HART: &str = crate::hart::PROTOCOL;

/// Label of PROFINET CM (DCE/RPC over UDP 34964) datagrams.
pub const PROFINET: &str = crate::profinet::PROTOCOL;

/// Label of CODESYS V3 NameService datagrams.
pub const CODESYS: &str = crate::codesys::PROTOCOL;

/// Label of bytes sent to an SSH server (the probe sends none).
pub const SSH: &str = Framing::Ssh.protocol();

/// Label of bytes sent to an FTP server's control port (the probe sends none).
pub const FTP: &str = Framing::Ftp.protocol();

/// Label of bytes sent to a telnet server (refusals only).
pub const TELNET: &str = Framing::Telnet.protocol();

/// Label of HTTP requests (a `GET` head only).
pub const HTTP: &str = Framing::Http.protocol();

/// Label of HTTP requests inside TLS, as a TLS fixture decrypted them (the `http` rule).
pub const HTTPS: &str = "https";

/// Label of TLS ClientHello records.
pub const TLS: &str = Framing::Tls.protocol();

/// Every protocol label [`check`] has rules for.
pub const PROTOCOLS: [&str; 20] = [
    MODBUS, ENIP, SNMP, BACNET, S7, OPCUA, FINS, FOX, MELSEC, KNX, ADS, HART, PROFINET, CODESYS,
    SSH, FTP, TELNET, HTTP, HTTPS, TLS,
];

/// What an allowlisted request asks for, decoded independently of otscan's encoders, so tests
/// can check they saw every kind of request an option can cause.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Request {
    /// Modbus FC 0x2B/0x0E (`read_code` 1-3, first `object`) or FC 0x11 (`read_code` 0).
    Modbus {
        /// MBAP unit id.
        unit: u8,
        /// Function code.
        function: u8,
        /// Read device id code (0 for FC 0x11).
        read_code: u8,
        /// First object id asked for (0 for FC 0x11).
        object: u8,
    },
    /// EtherNet/IP encapsulation command.
    Enip {
        /// Command code.
        command: u16,
    },
    /// BACnet APDU: `pdu` 0 (confirmed, `service` 0x0C/0x0E, `instance` the Device
    /// instance asked for) or 1 (unconfirmed Who-Is, `service` 0x08, `instance` 0).
    Bacnet {
        /// PDU type.
        pdu: u8,
        /// Service choice.
        service: u8,
        /// Device instance asked for (4194303: the wildcard).
        instance: u32,
    },
    /// S7: `Cr` to a TSAP, `Setup`, `Szl` of a list, or `SzlNext` (an SZL follow-up).
    S7(S7Request),
    /// OPC UA: a Hello, an OpenSecureChannel (None) or a discovery or close service.
    Opcua(OpcuaRequest),
    /// SNMP message.
    Snmp {
        /// Message version: 0 (v1), 1 (v2c) or 3.
        version: u8,
        /// PDU tag: 0xA0 GetRequest, 0xA1 GetNextRequest.
        pdu: u8,
        /// Community (empty for v3).
        community: Vec<u8>,
    },
    /// MELSEC 3E command and subcommand (only 0x0101 / 0 is ever accepted).
    Melsec {
        /// Command.
        command: u16,
        /// Subcommand.
        subcommand: u16,
    },
    /// Omron FINS: the FINS/TCP node address request, or Controller Data Read.
    Fins(FinsRequest),
    /// The Niagara Fox hello.
    FoxHello,
    /// The KNXnet/IP DESCRIPTION_REQUEST with the route-back HPAI.
    KnxDescription,
    /// Beckhoff ADS discovery Identify (service 1), from this sender AMS NetId.
    AdsIdentify {
        /// The sender AMS NetId the request names.
        sender: [u8; 6],
    },
    /// A HART-IP request: its message id (0 Session Initiate, 1 Session Close, 3
    /// token-passing PDU) and, for a PDU, the HART command.
    Hart {
        /// HART-IP message id.
        message_id: u8,
        /// HART command of a token-passing PDU.
        command: Option<u8>,
    },
    /// PROFINET CM: the endpoint mapper's `ept_lookup` for the PNIO device interface.
    ProfinetLookup,
    /// SSH: nothing (the probe only reads the server's identification string).
    SshNothing,
    /// FTP: nothing (the probe only reads the server's greeting).
    FtpNothing,
    /// Telnet: nothing (reading the banner), or refusals: how many `WONT` and `DONT`.
    TelnetRefusals {
        /// `IAC WONT x` triplets.
        wont: usize,
        /// `IAC DONT x` triplets.
        dont: usize,
    },
    /// TLS: one ClientHello record offering this highest version (`0x0303` TLS 1.2 in the
    /// legacy field, also for TLS 1.3).
    TlsClientHello {
        /// The ClientHello's `client_version`.
        version: u16,
    },
    /// HTTP: `GET` of this path.
    HttpGet {
        /// The request target.
        path: String,
    },
    /// CODESYS V3 NameService resolve address, from this relative sender address.
    CodesysResolveAddress {
        /// Sender address length in 16-bit words (1-3).
        sender_words: u8,
        /// The sender address words as one number.
        sender: u64,
    },
}

/// An Omron FINS request, decoded by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FinsRequest {
    /// FINS/TCP node address data send (command 0) asking for an assigned node.
    NodeAddress,
    /// Controller Data Read (05 01), in a FINS/TCP frame send when `tcp`, to node
    /// `destination` from node `source`.
    ControllerDataRead {
        /// Sent inside a FINS/TCP frame send.
        tcp: bool,
        /// DA1.
        destination: u8,
        /// SA1.
        source: u8,
    },
}

/// An S7 request, decoded by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum S7Request {
    /// COTP Connection Request to this destination (called) TSAP; 0 if it names none.
    Cr(u16),
    /// Setup Communication.
    Setup,
    /// Read SZL of this id.
    Szl(u16),
    /// The follow-up asking for the next data unit of an SZL answer, with the sequence
    /// number of the unit it continues.
    SzlNext(u8),
}

/// An OPC UA request, decoded by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpcuaRequest {
    /// UA-TCP Hello.
    Hello,
    /// OpenSecureChannel (Issue) under SecurityPolicy None, mode None.
    OpenSecureChannel,
    /// GetEndpoints (service 428).
    GetEndpoints,
    /// FindServers (service 422).
    FindServers,
    /// CloseSecureChannel (service 452).
    CloseSecureChannel,
}

/// A request outside the allowlist (or a label without rules), and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{protocol} request outside the read-only allowlist: {reason}")]
pub struct Violation {
    /// The protocol label the request was checked as.
    pub protocol: String,
    /// The first rule the request breaks.
    pub reason: String,
}

/// Decides whether `bytes`, one request recorded under the label `protocol` (one of
/// [`PROTOCOLS`]: `"modbus"`, `"enip"`, `"snmp"`, `"bacnet"`, `"s7"`, `"fins"`, `"fox"`, `"melsec"`, `"knx"`, `"ads"`, `"hart"`, `"profinet"`, `"codesys"`, `"ssh"`, `"ftp"`, `"telnet"`), is an allowlisted
/// read-only identification request, and if so what it asks for. The rules of each protocol
/// are in the [module documentation](self). An unknown label is a [`Violation`] too.
///
/// Never panics, whatever the bytes.
pub fn check(protocol: &str, bytes: &[u8]) -> Result<Request, Violation> {
    let verdict = match protocol {
        MODBUS => modbus(bytes),
        ENIP => enip(bytes),
        SNMP => snmp(bytes),
        BACNET => bacnet(bytes),
        S7 => s7(bytes),
        MELSEC => melsec(bytes),
        FINS => fins(bytes),
        FOX => fox(bytes),
        OPCUA => opcua(bytes).map(Request::Opcua),
        KNX => knx(bytes),
        ADS => ads(bytes),
        HART => hart(bytes),
        PROFINET => profinet(bytes),
        CODESYS => codesys(bytes),
        SSH => ssh(bytes),
        FTP => ftp(bytes),
        TELNET => telnet(bytes),
        HTTP | HTTPS => http(bytes),
        TLS => tls_client_hello(bytes),
        _ => Err(format!(
            "no rules for protocol label {protocol:?} (known: {PROTOCOLS:?})"
        )),
    };
    verdict.map_err(|reason| Violation {
        protocol: protocol.to_owned(),
        reason,
    })
}

/// Why a request is refused.
type Verdict<T> = Result<T, String>;

/// TLS: exactly one handshake record holding exactly one ClientHello (a client's first
/// flight); no other record type, no other handshake message, nothing after it.
fn tls_client_hello(bytes: &[u8]) -> Verdict<Request> {
    let Some((&[kind, major, minor, l0, l1], body)) = bytes.split_first_chunk::<5>() else {
        return Err(format!("{} bytes: no whole TLS record header", bytes.len()));
    };
    if kind != 22 {
        return Err(format!(
            "TLS record type {kind}: only a handshake (22) ClientHello"
        ));
    }
    if major != 3 || !(1..=3).contains(&minor) {
        return Err(format!("TLS record version {major}.{minor}"));
    }
    if usize::from(u16::from_be_bytes([l0, l1])) != body.len() {
        return Err("TLS record length is not the bytes that follow".into());
    }
    let Some((&[msg, h0, h1, h2], hello)) = body.split_first_chunk::<4>() else {
        return Err("no whole handshake header".into());
    };
    if msg != 1 {
        return Err(format!("handshake message {msg}: only a ClientHello (1)"));
    }
    let len = usize::from(h0) << 16 | usize::from(h1) << 8 | usize::from(h2);
    if len != hello.len() {
        return Err("more or less than one ClientHello in the record".into());
    }
    let Some(&[v0, v1]) = hello.first_chunk::<2>() else {
        return Err("ClientHello without a version".into());
    };
    Ok(Request::TlsClientHello {
        version: u16::from_be_bytes([v0, v1]),
    })
}

/// HTTP: one `GET` head of the allowed headers, nothing after it (see the module table).
fn http(bytes: &[u8]) -> Verdict<Request> {
    let text = std::str::from_utf8(bytes).map_err(|_| "HTTP request not ASCII".to_owned())?;
    let Some(head) = text.strip_suffix("\r\n\r\n") else {
        return Err(
            "HTTP request does not end with its head's empty line (a body, or no end)".into(),
        );
    };
    if head.contains("\r\n\r\n") {
        return Err("more than one HTTP request head, or a body".into());
    }
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut words = request_line.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(format!(
            "HTTP request line {request_line:?} is not METHOD PATH VERSION"
        ));
    };
    if method != "GET" {
        return Err(format!("HTTP method {method:?}: only GET may be sent"));
    }
    if version != "HTTP/1.1" {
        return Err(format!("HTTP version {version:?}: only HTTP/1.1"));
    }
    if !path.starts_with('/')
        || path.len() > 1024
        || !path.bytes().all(|b| b.is_ascii_graphic())
        || path.contains(['?', '#'])
        || path.split('/').any(|s| s == ".." || s == ".")
        || path.to_ascii_lowercase().contains("cgi-bin")
    {
        return Err(format!(
            "HTTP path {path:?}: only a plain path (no query, dot segment or CGI)"
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("HTTP header line {line:?} without a colon"));
        };
        let name = name.to_ascii_lowercase();
        if !matches!(
            name.as_str(),
            "host" | "user-agent" | "accept" | "connection"
        ) {
            return Err(format!(
                "HTTP header {name:?}: only Host, User-Agent, Accept and Connection may be sent"
            ));
        }
        if seen.contains(&name) {
            return Err(format!("HTTP header {name:?} sent twice"));
        }
        if name == "connection" && !value.trim().eq_ignore_ascii_case("close") {
            return Err(format!("HTTP Connection {:?}: only close", value.trim()));
        }
        seen.push(name);
    }
    if !seen.iter().any(|n| n == "host") {
        return Err("HTTP/1.1 request without Host".into());
    }
    Ok(Request::HttpGet {
        path: path.to_owned(),
    })
}

/// Telnet: only refusals, `IAC WONT x` and `IAC DONT x` triplets (nothing is the read); any
/// text, `DO`, `WILL`, sub-negotiation (terminal type, environment: where a user name could
/// go) or other command is refused.
fn telnet(bytes: &[u8]) -> Verdict<Request> {
    let (mut wont, mut dont) = (0, 0);
    for triplet in bytes.chunks(3) {
        match triplet {
            [255, 252, _] => wont += 1,
            [255, 254, _] => dont += 1,
            other => {
                return Err(format!(
                    "telnet bytes {other:02x?}: only IAC WONT x and IAC DONT x may be sent"
                ))
            }
        }
    }
    Ok(Request::TelnetRefusals { wont, dont })
}

/// FTP: the probe sends nothing (the server greets first), so any byte is refused: no
/// USER, PASS, QUIT or any other command.
fn ftp(bytes: &[u8]) -> Verdict<Request> {
    if bytes.is_empty() {
        Ok(Request::FtpNothing)
    } else {
        Err(format!(
            "{} bytes sent to an FTP server: the FTP probe sends nothing",
            bytes.len()
        ))
    }
}

/// SSH: the probe sends nothing (the server speaks first), so any byte is refused: no
/// client identification string, no key exchange, no user name.
fn ssh(bytes: &[u8]) -> Verdict<Request> {
    if bytes.is_empty() {
        Ok(Request::SshNothing)
    } else {
        Err(format!(
            "{} bytes sent to an SSH server: the SSH probe sends nothing",
            bytes.len()
        ))
    }
}

/// A 15-byte 3E binary Read CPU Model Name to the own station's CPU, nothing else.
fn melsec(bytes: &[u8]) -> Verdict<Request> {
    let Ok(
        &[s0, s1, network, pc, io_low, io_high, station, len_low, len_high, _timer_low, _timer_high, cmd_low, cmd_high, sub_low, sub_high],
    ) = <&[u8; 15]>::try_from(bytes)
    else {
        return Err(format!(
            "{} bytes: a 3E Read CPU Model Name request is exactly 15",
            bytes.len()
        ));
    };
    if [s0, s1] != [0x50, 0x00] {
        return Err(format!(
            "subheader {s0:02x} {s1:02x} is not a 3E binary request (50 00)"
        ));
    }
    if [network, pc, io_low, io_high, station] != [0x00, 0xFF, 0xFF, 0x03, 0x00] {
        return Err("route is not the own station's CPU (00 FF FF 03 00)".into());
    }
    let length = u16::from_le_bytes([len_low, len_high]);
    if length != 6 {
        return Err(format!("request data length {length}, not 6"));
    }
    let command = u16::from_le_bytes([cmd_low, cmd_high]);
    let subcommand = u16::from_le_bytes([sub_low, sub_high]);
    if (command, subcommand) != (0x0101, 0x0000) {
        return Err(format!(
            "command {command:#06x} subcommand {subcommand:#06x} is not Read CPU Model Name (0x0101/0x0000)"
        ));
    }
    Ok(Request::Melsec {
        command,
        subcommand,
    })
}

/// The 14-byte DESCRIPTION_REQUEST with a route-back HPAI, nothing else.
fn knx(bytes: &[u8]) -> Verdict<Request> {
    let Ok(&[header_len, version, s0, s1, l0, l1, hpai_len, host_protocol, a0, a1, a2, a3, p0, p1]) =
        <&[u8; 14]>::try_from(bytes)
    else {
        return Err(format!(
            "{} bytes: a KNXnet/IP DESCRIPTION_REQUEST is exactly 14",
            bytes.len()
        ));
    };
    if (header_len, version) != (0x06, 0x10) {
        return Err(format!(
            "header length {header_len:#04x} version {version:#04x}, not KNXnet/IP 1.0 (06 10)"
        ));
    }
    let service = u16::from_be_bytes([s0, s1]);
    if service != 0x0203 {
        return Err(format!(
            "service type {service:#06x} is not DESCRIPTION_REQUEST (0x0203)"
        ));
    }
    if big_endian_length(l0, l1) != 14 {
        return Err(format!(
            "total length {} does not match the 14 bytes sent",
            big_endian_length(l0, l1)
        ));
    }
    if (hpai_len, host_protocol) != (8, 0x01) {
        return Err(format!(
            "HPAI length {hpai_len} protocol {host_protocol:#04x}, not an IPv4 UDP HPAI (08 01)"
        ));
    }
    if [a0, a1, a2, a3, p0, p1] != [0; 6] {
        return Err(format!(
            "HPAI {a0}.{a1}.{a2}.{a3}:{} is not route-back 0.0.0.0:0 (the answer could go elsewhere)",
            u16::from_be_bytes([p0, p1])
        ));
    }
    Ok(Request::KnxDescription)
}

/// A 24-byte ADS discovery Identify with no tags, nothing else.
fn ads(bytes: &[u8]) -> Verdict<Request> {
    let Some((&[m0, m1, m2, m3, _i0, _i1, _i2, _i3, s0, s1, s2, s3], rest)) =
        bytes.split_first_chunk::<12>()
    else {
        return Err(format!(
            "{} bytes: shorter than an ADS discovery header",
            bytes.len()
        ));
    };
    if [m0, m1, m2, m3] != [0x03, 0x66, 0x14, 0x71] {
        return Err(format!(
            "magic {m0:02x} {m1:02x} {m2:02x} {m3:02x} is not ADS discovery (03 66 14 71)"
        ));
    }
    let service = u32::from_le_bytes([s0, s1, s2, s3]);
    if service != 1 {
        let name = match service {
            6 => " (AddRoute, which carries a user name and password)",
            _ => "",
        };
        return Err(format!("service {service:#x}{name} is not Identify (1)"));
    }
    let Ok(&[n0, n1, n2, n3, n4, n5, _p0, _p1, c0, c1, c2, c3]) = <&[u8; 12]>::try_from(rest)
    else {
        return Err(format!(
            "{} bytes: an Identify request is exactly 24 (no tags)",
            bytes.len()
        ));
    };
    let tags = u32::from_le_bytes([c0, c1, c2, c3]);
    if tags != 0 {
        return Err(format!(
            "tag count {tags}: an Identify request carries none"
        ));
    }
    Ok(Request::AdsIdentify {
        sender: [n0, n1, n2, n3, n4, n5],
    })
}

/// A HART-IP Session Initiate (secondary host), Session Close or one read command.
fn hart(bytes: &[u8]) -> Verdict<Request> {
    let Some((&[version, kind, message_id, status, _s0, _s1, l0, l1], body)) =
        bytes.split_first_chunk::<8>()
    else {
        return Err(format!(
            "{} bytes: shorter than a HART-IP header",
            bytes.len()
        ));
    };
    if (version, kind, status) != (1, 0, 0) {
        return Err(format!(
            "version {version} message type {kind} status {status}, not a version 1 request (1, 0, 0)"
        ));
    }
    if big_endian_length(l0, l1) != bytes.len() {
        return Err(format!(
            "byte count {} does not match the {} bytes sent",
            big_endian_length(l0, l1),
            bytes.len()
        ));
    }
    match (message_id, body) {
        (0, &[0, t0, t1, t2, t3]) => match u32::from_be_bytes([t0, t1, t2, t3]) {
            1..=60_000 => Ok(Request::Hart {
                message_id,
                command: None,
            }),
            ms => Err(format!(
                "Session Initiate with an inactivity close time of {ms} ms: a scan asks for at most 60 s (1-60000)"
            )),
        },
        (0, [master, ..]) if body.len() == 5 => Err(format!(
            "Session Initiate as master type {master}: only a secondary host (0) may open a session"
        )),
        (0, _) => Err(format!("Session Initiate body of {} bytes, not 5", body.len())),
        (1, []) => Ok(Request::Hart {
            message_id,
            command: None,
        }),
        (3, frame) => hart_frame(frame).map(|command| Request::Hart {
            message_id,
            command: Some(command),
        }),
        (id, _) => Err(format!(
            "message id {id} (with {} body bytes) is not Session Initiate, Session Close or a token-passing PDU",
            body.len()
        )),
    }
}

/// One HART request frame from a secondary host: command 0 to polling address 0, or
/// commands 20, 74 (no data) and 84 (2-byte index) to a unique address.
fn hart_frame(frame: &[u8]) -> Verdict<u8> {
    let (address_len, short) = match frame.first() {
        Some(0x02) => (1, true),
        Some(0x82) => (5, false),
        Some(d) => return Err(format!("delimiter {d:#04x} is not a host's STX (02 or 82)")),
        None => return Err("empty token-passing PDU".into()),
    };
    let Some(&[first_address]) = frame.get(1..2) else {
        return Err("HART frame ends in its address".into());
    };
    if first_address & 0xC0 != 0 {
        return Err(format!(
            "address byte {first_address:#04x}: the primary-host or burst bit is set"
        ));
    }
    let (Some(&command), Some(&count)) = (frame.get(1 + address_len), frame.get(2 + address_len))
    else {
        return Err("HART frame ends before its command and byte count".into());
    };
    let data_at = 3 + address_len;
    let count = usize::from(count);
    if frame.len() != data_at + count + 1 {
        return Err(format!(
            "HART byte count {count} does not match the {} bytes sent",
            frame.len()
        ));
    }
    let check = frame.iter().fold(0u8, |acc, b| acc ^ b);
    if check != 0 {
        return Err("HART check byte is not the XOR of the frame".into());
    }
    let allowed = match (command, short) {
        (0, true) => first_address == 0 && count == 0,
        (20 | 74, false) => count == 0,
        (84, false) => count == 2,
        _ => false,
    };
    if !allowed {
        return Err(format!(
            "HART command {command} with {count} data bytes in a {} frame is not an allowed read (0 short; 20, 74, 84 long)",
            if short { "short" } else { "long" }
        ));
    }
    Ok(command)
}

/// The endpoint mapper interface UUID, as a little-endian request writes it.
const EPM_LE: [u8; 16] = [
    0x08, 0x83, 0xaf, 0xe1, 0x1f, 0x5d, 0xc9, 0x11, 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa,
];
/// The PNIO device interface UUID, as a little-endian request writes it.
const PNIO_DEVICE_LE: [u8; 16] = [
    0x01, 0x00, 0xa0, 0xde, 0x97, 0x6c, 0xd1, 0x11, 0x82, 0x71, 0x00, 0xa0, 0x24, 0x42, 0xdf, 0x7d,
];

/// A 156-byte connectionless `ept_lookup` of the PNIO device interface, nothing else.
fn profinet(bytes: &[u8]) -> Verdict<Request> {
    let Ok(d) = <&[u8; 156]>::try_from(bytes) else {
        return Err(format!(
            "{} bytes: an ept_lookup request is exactly 156 (80 header + 76 body)",
            bytes.len()
        ));
    };
    let le32 = |at: usize| u32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]);
    let le16 = |at: usize| u16::from_le_bytes([d[at], d[at + 1]]);
    if d[0] != 4 {
        return Err(format!("RPC version {}, not 4 (connectionless)", d[0]));
    }
    if d[1] != 0 {
        return Err(format!("packet type {} is not a request (0)", d[1]));
    }
    if d[2] & 0x04 != 0 {
        return Err("fragment bit set: a lookup fits one datagram".into());
    }
    if d[4] != 0x10 {
        return Err(format!(
            "data representation {:#04x}: only little-endian ASCII (0x10) is read here",
            d[4]
        ));
    }
    if d[8..24] != [0; 16] {
        return Err("object UUID is not nil (a PNIO object addresses an AR)".into());
    }
    if d[24..40] != EPM_LE {
        let what = if d[24..40] == PNIO_DEVICE_LE {
            " (the PNIO device interface: Connect, Release, Read, Write, Control)"
        } else {
            ""
        };
        return Err(format!("interface is not the endpoint mapper{what}"));
    }
    if le32(60) != 3 {
        return Err(format!("interface version {}, not 3", le32(60)));
    }
    let opnum = le16(68);
    if opnum != 2 {
        let name = match opnum {
            0 => " (ept_insert)",
            1 => " (ept_delete)",
            _ => "",
        };
        return Err(format!("operation {opnum}{name} is not ept_lookup (2)"));
    }
    if le16(74) != 76 || le16(76) != 0 || d[78] != 0 {
        return Err(format!(
            "fragment length {} number {} authentication {}: not one 76-byte unauthenticated fragment",
            le16(74),
            le16(76),
            d[78]
        ));
    }
    let body = &d[80..];
    let b32 = |at: usize| le32(80 + at);
    if b32(0) != 0 {
        return Err(format!("inquiry type {}, not 0 (all entries)", b32(0)));
    }
    if body[8..24] != [0; 16] {
        return Err("lookup object is not nil".into());
    }
    if b32(24) == 0 || body[28..44] != PNIO_DEVICE_LE || b32(44) != 1 {
        return Err("lookup interface is not the PNIO device interface version 1.0".into());
    }
    if b32(48) != 1 {
        return Err(format!("version option {}, not 1 (all)", b32(48)));
    }
    if body[52..72] != [0; 20] {
        return Err("entry handle is not null".into());
    }
    if !(1..=16).contains(&b32(72)) {
        return Err(format!("maximum entries {}, not 1-16", b32(72)));
    }
    Ok(Request::ProfinetLookup)
}

fn codesys(bytes: &[u8]) -> Verdict<Request> {
    let Some((&[magic, hop, info, service, message, lengths, _b0, _b1], rest)) =
        bytes.split_first_chunk::<8>()
    else {
        return Err(format!(
            "{} bytes: shorter than a CODESYS datagram header",
            bytes.len()
        ));
    };
    if magic != 0xC5 {
        return Err(format!("magic {magic:02x} is not a CODESYS datagram (c5)"));
    }
    if service != 0x03 {
        let name = match service {
            0x40 => " (the channel manager: login, download, start and stop)",
            0x01 => " (address notification)",
            _ => "",
        };
        return Err(format!(
            "service {service:#04x}{name} is not the NameService request (0x03)"
        ));
    }
    if hop & 7 != 4 {
        return Err(format!("header length {} words, not 4", hop & 7));
    }
    if info != 0x40 {
        return Err(format!(
            "packet info {info:#04x}, not 0x40 (normal priority, relative address, no data length)"
        ));
    }
    if message != 0 {
        return Err(format!("message id {message}, not 0"));
    }
    let (sender_words, receiver_words) = (lengths >> 4, lengths & 0x0F);
    if receiver_words != 0 || !(1..=3).contains(&sender_words) {
        return Err(format!(
            "{receiver_words} receiver and {sender_words} sender address words: only a 1-3 word sender is sent"
        ));
    }
    let address_len = usize::from(sender_words) * 2;
    let padding = (4 - (8 + address_len) % 4) % 4;
    let Some((address, rest)) = rest.split_at_checked(address_len) else {
        return Err("sender address cut short".to_owned());
    };
    let Some((pad, rest)) = rest.split_at_checked(padding) else {
        return Err("padding cut short".to_owned());
    };
    if pad.iter().any(|&b| b != 0) {
        return Err("padding is not zero".to_owned());
    }
    let Ok(&[p0, p1, v0, v1, _r0, _r1, _r2, _r3]) = <&[u8; 8]>::try_from(rest) else {
        return Err(format!(
            "{} NameService bytes: a resolve address is exactly 8",
            rest.len()
        ));
    };
    let package = u16::from_le_bytes([p0, p1]);
    if package != 0xC202 {
        let name = match package {
            0xC201 => " (resolve name)",
            0xC280 => " (identification: a reply)",
            _ => "",
        };
        return Err(format!(
            "package type {package:#06x}{name} is not resolve address (0xc202)"
        ));
    }
    let version = u16::from_le_bytes([v0, v1]);
    if version != 0x0400 {
        return Err(format!("NameService version {version:#06x}, not 0x0400"));
    }
    Ok(Request::CodesysResolveAddress {
        sender_words,
        sender: address
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
    })
}

fn big_endian_length(high: u8, low: u8) -> usize {
    usize::from(u16::from_be_bytes([high, low]))
}

/// MBAP header (transaction id, protocol id, length, unit id), then a PDU that reads identity.
fn modbus(bytes: &[u8]) -> Verdict<Request> {
    let Some((&[_, _, id_high, id_low, length_high, length_low, unit], pdu)) =
        bytes.split_first_chunk::<7>()
    else {
        return Err(format!("{} bytes: no whole MBAP header", bytes.len()));
    };
    let protocol_id = u16::from_be_bytes([id_high, id_low]);
    if protocol_id != 0 {
        return Err(format!("MBAP protocol id {protocol_id:#06x}, not 0"));
    }
    // The length counts the unit id and the PDU.
    let length = big_endian_length(length_high, length_low);
    if length != pdu.len() + 1 {
        return Err(format!(
            "MBAP length {length}, but {} bytes follow it",
            pdu.len() + 1
        ));
    }
    match *pdu {
        [0x2B, 0x0E, read_code @ 0x01..=0x03, object] => Ok(Request::Modbus {
            unit,
            function: 0x2B,
            read_code,
            object,
        }),
        [0x11] => Ok(Request::Modbus {
            unit,
            function: 0x11,
            read_code: 0,
            object: 0,
        }),
        [] => Err("no function code".to_owned()),
        _ => Err(format!(
            "PDU {pdu:02x?} is neither Read Device Identification (0x2B/0x0E, read code 1-3, \
             an object id) nor Report Server ID (0x11)"
        )),
    }
}

/// A bare encapsulation header: command, length, session handle, status, context, options.
fn enip(bytes: &[u8]) -> Verdict<Request> {
    let Ok(&[command_low, command_high, l0, l1, s0, s1, s2, s3, ..]) = <&[u8; 24]>::try_from(bytes)
    else {
        return Err(format!(
            "{} bytes: the list commands are a bare 24-byte header",
            bytes.len()
        ));
    };
    let command = u16::from_le_bytes([command_low, command_high]);
    if ![0x0063, 0x0004, 0x0064].contains(&command) {
        return Err(format!(
            "command {command:#06x} is not ListIdentity, ListServices or ListInterfaces"
        ));
    }
    let length = u16::from_le_bytes([l0, l1]);
    if length != 0 {
        return Err(format!(
            "length field {length}: the list commands carry no data"
        ));
    }
    let session = u32::from_le_bytes([s0, s1, s2, s3]);
    if session != 0 {
        return Err(format!(
            "session handle {session:#010x}: list commands need none"
        ));
    }
    Ok(Request::Enip { command })
}

/// The context tag of a PDU (RFC 3416 §3).
fn pdu_tag(pdus: &v2::Pdus) -> u8 {
    match pdus {
        v2::Pdus::GetRequest(_) => 0xA0,
        v2::Pdus::GetNextRequest(_) => 0xA1,
        v2::Pdus::Response(_) => 0xA2,
        v2::Pdus::SetRequest(_) => 0xA3,
        v2::Pdus::GetBulkRequest(_) => 0xA5,
        v2::Pdus::InformRequest(_) => 0xA6,
        v2::Pdus::Trap(_) => 0xA7,
        v2::Pdus::Report(_) => 0xA8,
    }
}

/// A community-based Get/GetNext, or the v3 discovery message.
fn snmp(bytes: &[u8]) -> Verdict<Request> {
    if let Ok(message) = rasn::ber::decode::<v2c::Message<v2::Pdus>>(bytes) {
        let version = match u8::try_from(&message.version) {
            Ok(version @ (0 | 1)) => version,
            _ => {
                return Err(format!(
                    "community message of version {}, not v1 (0) or v2c (1)",
                    message.version
                ))
            }
        };
        let pdu = pdu_tag(&message.data);
        if !matches!(pdu, 0xA0 | 0xA1) {
            return Err(format!(
                "PDU tag {pdu:#04x}, not GetRequest (0xa0) or GetNextRequest (0xa1)"
            ));
        }
        return Ok(Request::Snmp {
            version,
            pdu,
            community: message.community.to_vec(),
        });
    }
    let message = rasn::ber::decode::<v3::Message>(bytes)
        .map_err(|err| format!("neither a v1/v2c nor a v3 message: {err}"))?;
    if message.version != Integer::from(3) {
        return Err(format!("v3-shaped message of version {}", message.version));
    }
    let flags = message.global_data.flags.as_ref();
    if flags != [0x04] {
        return Err(format!(
            "v3 msgFlags {flags:02x?}, not 0x04 (reportable, noAuthNoPriv discovery)"
        ));
    }
    let v3::ScopedPduData::CleartextPdu(scoped) = message.scoped_data else {
        return Err("encrypted v3 scoped PDU".to_owned());
    };
    let v2::Pdus::GetRequest(get) = &scoped.data else {
        return Err(format!(
            "v3 PDU tag {:#04x}: only the discovery GetRequest (0xa0)",
            pdu_tag(&scoped.data)
        ));
    };
    if !get.0.variable_bindings.is_empty() {
        return Err("v3 GetRequest with variable bindings: discovery asks for none".to_owned());
    }
    Ok(Request::Snmp {
        version: 3,
        pdu: 0xA0,
        community: Vec::new(),
    })
}

/// BVLC (type, function, length), NPDU (version, control), then the APDU.
fn bacnet(bytes: &[u8]) -> Verdict<Request> {
    let Some((&[bvlc, function, length_high, length_low, version, control], apdu)) =
        bytes.split_first_chunk::<6>()
    else {
        return Err(format!(
            "{} bytes: no whole BVLC and NPDU header",
            bytes.len()
        ));
    };
    if [bvlc, function] != [0x81, 0x0A] {
        return Err(format!(
            "BVLC {bvlc:#04x}/{function:#04x}, not BACnet/IP Original-Unicast-NPDU (0x81/0x0a)"
        ));
    }
    let length = big_endian_length(length_high, length_low);
    if length != bytes.len() {
        return Err(format!("BVLC length {length}, datagram {}", bytes.len()));
    }
    if version != 1 {
        return Err(format!("NPDU version {version}, not 1"));
    }
    // Only the expecting-reply bit: no destination, no source, no network-layer message.
    if control & !0x04 != 0 {
        return Err(format!(
            "NPDU control {control:#04x}: routing or a network-layer message"
        ));
    }
    match *apdu {
        // Type 0 with no segmentation flags, max segments/APDU, invoke id, service choice.
        [0x00, _, _, service, ref parameters @ ..] => {
            if !matches!(service, 0x0C | 0x0E) {
                return Err(format!(
                    "confirmed service {service:#04x} is not ReadProperty (0x0c) or \
                     ReadPropertyMultiple (0x0e)"
                ));
            }
            // Context tag 0, length 4: the object identifier.
            let [0x0C, o0, o1, o2, o3, ..] = *parameters else {
                return Err("the first parameter is not an object identifier".to_owned());
            };
            let object = u32::from_be_bytes([o0, o1, o2, o3]);
            let object_type = object >> 22;
            if object_type != 8 {
                return Err(format!("object type {object_type}, not Device (8)"));
            }
            Ok(Request::Bacnet {
                pdu: 0,
                service,
                instance: object & 0x3F_FFFF,
            })
        }
        [0x10, 0x08, ..] => Ok(Request::Bacnet {
            pdu: 1,
            service: 0x08,
            instance: 0,
        }),
        [0x10, service, ..] => Err(format!(
            "unconfirmed service {service:#04x}, not Who-Is (0x08)"
        )),
        [first @ (0x00 | 0x10), ..] => Err(format!("APDU of type byte {first:#04x} cut short")),
        [first, ..] => Err(format!(
            "APDU type byte {first:#04x}: only an unsegmented confirmed request (0x00) or an \
             unconfirmed request (0x10)"
        )),
        [] => Err("no APDU".to_owned()),
    }
}

/// TPKT (version, reserved, length), then a COTP CR or a DT with an S7 PDU.
fn s7(bytes: &[u8]) -> Verdict<Request> {
    let Some((&[version, _, length_high, length_low], cotp)) = bytes.split_first_chunk::<4>()
    else {
        return Err(format!("{} bytes: no whole TPKT header", bytes.len()));
    };
    if version != 3 {
        return Err(format!("TPKT version {version}, not 3"));
    }
    let length = big_endian_length(length_high, length_low);
    if length != bytes.len() {
        return Err(format!("TPKT length {length}, frame {}", bytes.len()));
    }
    // Length indicator, TPDU code; a DT's third byte is its TPDU number and EOT.
    match *cotp {
        [indicator, 0xE0, ..] => {
            if usize::from(indicator) + 1 != cotp.len() {
                return Err(format!(
                    "COTP Connection Request of {} bytes, length indicator {indicator}: \
                     it carries no user data",
                    cotp.len()
                ));
            }
            called_tsap(cotp).map(|tsap| Request::S7(S7Request::Cr(tsap)))
        }
        [_, 0xF0, _, ref pdu @ ..] => s7_pdu(pdu).map(Request::S7),
        [_, tpdu, ..] => Err(format!(
            "COTP TPDU {tpdu:#04x} is neither a Connection Request (0xe0) nor DT (0xf0)"
        )),
        _ => Err(format!("{} bytes: no COTP header", cotp.len())),
    }
}

/// The Fox hello, line by line: the header's five fields, the body's two tuples, the end.
fn fox(bytes: &[u8]) -> Verdict<Request> {
    let text = std::str::from_utf8(bytes).map_err(|_| "Fox message is not UTF-8".to_owned())?;
    let Some(body) = text.strip_suffix('\n') else {
        return Err("Fox message does not end with a line feed".to_owned());
    };
    let lines: Vec<&str> = body.split('\n').collect();
    let [header, open, ref tuples @ .., close] = lines[..] else {
        return Err(format!("{} lines: not a Fox message", lines.len()));
    };
    let fields: Vec<&str> = header.split(' ').collect();
    let ["fox", frame_type, sequence, reply_to, channel, command] = fields[..] else {
        return Err(format!(
            "Fox header {header:?} is not `fox` and five fields"
        ));
    };
    if (channel, command) != ("fox", "hello") {
        return Err(format!("Fox command {channel} {command}, not fox hello"));
    }
    if (frame_type, sequence, reply_to) != ("a", "1", "-1") {
        return Err(format!(
            "Fox hello framed {frame_type} {sequence} {reply_to}, not a 1 -1"
        ));
    }
    if (open, close) != ("{", "};;") {
        return Err(format!("Fox body opens {open:?} and closes {close:?}"));
    }
    if tuples != ["fox.version=s:1.0", "id=i:1"] {
        return Err(format!(
            "Fox hello tuples {tuples:?}, not fox.version=s:1.0 and id=i:1"
        ));
    }
    Ok(Request::FoxHello)
}

/// The URI of OPC UA SecurityPolicy None.
const UA_POLICY_NONE: &[u8] = b"http://opcfoundation.org/UA/SecurityPolicy#None";

/// A little-endian reader of an OPC UA request, every read checked.
struct UaBytes<'a>(&'a [u8]);

impl<'a> UaBytes<'a> {
    fn take(&mut self, n: usize, what: &str) -> Verdict<&'a [u8]> {
        let Some((head, tail)) = self.0.split_at_checked(n) else {
            return Err(format!("{what} runs past the end"));
        };
        self.0 = tail;
        Ok(head)
    }

    fn u32(&mut self, what: &str) -> Verdict<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A String or ByteString: `None` when null (-1).
    fn string(&mut self, what: &str) -> Verdict<Option<&'a [u8]>> {
        match self.u32(what)? as i32 {
            -1 => Ok(None),
            n if n < 0 => Err(format!("{what}: negative length {n}")),
            n => self.take(n as usize, what).map(Some),
        }
    }

    /// A namespace-0 numeric NodeId (two-byte, four-byte or numeric form).
    fn node_id(&mut self, what: &str) -> Verdict<u32> {
        match self.take(1, what)?[0] {
            0x00 => Ok(u32::from(self.take(1, what)?[0])),
            0x01 => {
                let b = self.take(3, what)?;
                if b[0] != 0 {
                    return Err(format!("{what} in namespace {}", b[0]));
                }
                Ok(u32::from(u16::from_le_bytes([b[1], b[2]])))
            }
            0x02 => {
                let ns = self.take(2, what)?;
                if ns != [0, 0] {
                    return Err(format!("{what} outside namespace 0"));
                }
                self.u32(what)
            }
            form => Err(format!("{what}: NodeId form {form:#04x}, not a numeric id")),
        }
    }

    /// A RequestHeader with no authentication token (no session), no additional header.
    fn request_header(&mut self) -> Verdict<()> {
        if self.take(2, "authentication token")? != [0x00, 0x00] {
            return Err("request header carries an authentication token (a session)".to_owned());
        }
        self.take(8 + 4 + 4, "request header")?;
        self.string("audit entry id")?;
        self.u32("timeout hint")?;
        if self.take(3, "additional header")? != [0x00, 0x00, 0x00] {
            return Err("request header carries an additional header".to_owned());
        }
        Ok(())
    }

    /// A String array: its count, each element.
    fn string_array(&mut self, what: &str) -> Verdict<()> {
        let count = self.u32(what)? as i32;
        if count > 16 {
            return Err(format!("{what}: {count} elements"));
        }
        for _ in 0..count.max(0) {
            self.string(what)?;
        }
        Ok(())
    }

    fn end(&self, what: &str) -> Verdict<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(format!("{} bytes after the {what}", self.0.len()))
        }
    }
}

/// One final UA-TCP chunk: HEL, OPN (None), MSG (GetEndpoints, FindServers) or CLO.
fn opcua(bytes: &[u8]) -> Verdict<OpcuaRequest> {
    let Some((&[t0, t1, t2, chunk, s0, s1, s2, s3], rest)) = bytes.split_first_chunk::<8>() else {
        return Err(format!("{} bytes: no whole UA-TCP header", bytes.len()));
    };
    if chunk != b'F' {
        return Err(format!("chunk type {chunk:#04x}, not a single final chunk"));
    }
    let size = u32::from_le_bytes([s0, s1, s2, s3]) as usize;
    if size != bytes.len() {
        return Err(format!("message size {size}, frame {}", bytes.len()));
    }
    let mut r = UaBytes(rest);
    match &[t0, t1, t2] {
        b"HEL" => {
            r.take(20, "Hello fields")?;
            let url = r.string("endpoint URL")?.unwrap_or_default();
            if !url.starts_with(b"opc.tcp://") || url.len() > 4096 {
                return Err("Hello endpoint URL is not an opc.tcp URL".to_owned());
            }
            r.end("Hello")?;
            Ok(OpcuaRequest::Hello)
        }
        b"OPN" => {
            if r.u32("secure channel id")? != 0 {
                return Err("OpenSecureChannel on an existing channel (a renewal)".to_owned());
            }
            if r.string("security policy URI")? != Some(UA_POLICY_NONE) {
                return Err("OpenSecureChannel under a policy other than None".to_owned());
            }
            if r.string("sender certificate")?
                .is_some_and(|c| !c.is_empty())
                || r.string("receiver thumbprint")?
                    .is_some_and(|c| !c.is_empty())
            {
                return Err("OpenSecureChannel with a certificate".to_owned());
            }
            r.take(8, "sequence header")?;
            let service = r.node_id("body type")?;
            if service != 446 {
                return Err(format!(
                    "OPN body type {service}, not OpenSecureChannelRequest (446)"
                ));
            }
            r.request_header()?;
            r.u32("client protocol version")?;
            let request_type = r.u32("request type")?;
            if request_type != 0 {
                return Err(format!(
                    "OpenSecureChannel request type {request_type}, not Issue (0)"
                ));
            }
            let mode = r.u32("security mode")?;
            if mode != 1 {
                return Err(format!(
                    "OpenSecureChannel security mode {mode}, not None (1)"
                ));
            }
            r.string("client nonce")?;
            r.u32("requested lifetime")?;
            r.end("OpenSecureChannelRequest")?;
            Ok(OpcuaRequest::OpenSecureChannel)
        }
        kind @ (b"MSG" | b"CLO") => {
            r.take(16, "security and sequence headers")?;
            let service = r.node_id("body type")?;
            r.request_header()?;
            let request = match (kind, service) {
                (b"CLO", 452) => OpcuaRequest::CloseSecureChannel,
                (b"MSG", 428) => {
                    r.string("endpoint URL")?;
                    r.string_array("locale ids")?;
                    r.string_array("profile URIs")?;
                    OpcuaRequest::GetEndpoints
                }
                (b"MSG", 422) => {
                    r.string("endpoint URL")?;
                    r.string_array("locale ids")?;
                    r.string_array("server URIs")?;
                    OpcuaRequest::FindServers
                }
                _ => {
                    return Err(format!(
                        "{} body type {service} is not GetEndpoints (428), FindServers (422) \
                         or CloseSecureChannel (452)",
                        String::from_utf8_lossy(kind.as_slice())
                    ))
                }
            };
            r.end("request")?;
            Ok(request)
        }
        other => Err(format!(
            "UA-TCP message type {:?} is not HEL, OPN, MSG or CLO",
            String::from_utf8_lossy(other)
        )),
    }
}

/// The called TSAP (parameter 0xC2) of a COTP Connection Request, 0 if it names none.
fn called_tsap(cotp: &[u8]) -> Verdict<u16> {
    // Length indicator, code, destination and source references, class; then parameters.
    let Some((_, mut parameters)) = cotp.split_first_chunk::<7>() else {
        return Err(format!(
            "COTP Connection Request of {} bytes, shorter than its fixed part",
            cotp.len()
        ));
    };
    let mut called = 0;
    // Code, length, value.
    while let [code, length, ref rest @ ..] = *parameters {
        let Some((value, next)) = rest.split_at_checked(usize::from(length)) else {
            return Err(format!("COTP parameter {code:#04x} runs past the end"));
        };
        if code == 0xC2 {
            let Some(&tsap) = value.first_chunk::<2>() else {
                return Err(format!("called TSAP of {length} bytes"));
            };
            called = u16::from_be_bytes(tsap);
        }
        parameters = next;
    }
    Ok(called)
}

/// An S7 PDU: a 10-byte header (protocol id, ROSCTR, reserved, PDU reference, parameter and
/// data lengths), parameters, data.
fn s7_pdu(pdu: &[u8]) -> Verdict<S7Request> {
    let Some((&[protocol_id, rosctr, ..], parameters)) = pdu.split_first_chunk::<10>() else {
        return Err(format!(
            "S7 PDU of {} bytes, shorter than its header",
            pdu.len()
        ));
    };
    if protocol_id != 0x32 {
        return Err(format!("S7 protocol id {protocol_id:#04x}, not 0x32"));
    }
    match rosctr {
        0x01 => match parameters.first() {
            Some(0xF0) => Ok(S7Request::Setup),
            Some(function) => Err(format!(
                "job function {function:#04x}: the only job is Setup Communication (0xf0)"
            )),
            None => Err("job without a function".to_owned()),
        },
        0x07 => {
            // Head, parameter length 8, method 0x12, type request + group CPU functions,
            // subfunction read SZL, sequence, data unit reference 0, last data unit 0, error
            // code 0; the data: return code 0x0a, transport size 0, length 0. Nothing else.
            if let Some((&[0x00, 0x01, 0x12, 0x08, 0x12, 0x44, 0x01, sequence], rest)) =
                parameters.split_first_chunk::<8>()
            {
                // The header's parameter and data lengths (bytes 6-9).
                let Some(&[_, _, _, _, _, _, p_high, p_low, d_high, d_low]) =
                    pdu.first_chunk::<10>()
                else {
                    return Err("S7 PDU shorter than its header".to_owned());
                };
                if [p_high, p_low, d_high, d_low] != [0x00, 0x0C, 0x00, 0x04] {
                    return Err(format!(
                        "SZL follow-up with parameter length {}, data length {}: not 12 and 4",
                        big_endian_length(p_high, p_low),
                        big_endian_length(d_high, d_low)
                    ));
                }
                if rest != [0x00, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00] {
                    return Err(format!(
                        "SZL follow-up carrying {rest:02x?} after its sequence number, \
                         not 00 00 00 00 / 0a 00 00 00"
                    ));
                }
                return Ok(S7Request::SzlNext(sequence));
            }
            // Head, parameter length, method request, type request + group CPU functions,
            // subfunction read SZL.
            if parameters.first_chunk::<7>() != Some(&[0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01]) {
                return Err("userdata parameters other than a read-SZL request".to_owned());
            }
            // Data after the 8 parameter bytes: return code, transport size, length, SZL id.
            let Some(&[_, _, _, _, id_high, id_low]) =
                pdu.get(18..).and_then(<[u8]>::first_chunk::<6>)
            else {
                return Err("read-SZL request cut short before the SZL id".to_owned());
            };
            match u16::from_be_bytes([id_high, id_low]) {
                szl @ (0x0011 | 0x001C) => Ok(S7Request::Szl(szl)),
                szl => Err(format!("SZL {szl:#06x}, not 0x0011 or 0x001c")),
            }
        }
        _ => Err(format!(
            "ROSCTR {rosctr:#04x}: only a job (0x01) or userdata (0x07)"
        )),
    }
}

/// A FINS/TCP frame (command 0 node address request, or command 2 carrying a FINS
/// frame), or a bare FINS frame.
fn fins(bytes: &[u8]) -> Verdict<Request> {
    let Some(rest) = bytes.strip_prefix(b"FINS") else {
        return fins_frame(bytes, false);
    };
    let Some((&[l0, l1, l2, l3, c0, c1, c2, c3, e0, e1, e2, e3], data)) =
        rest.split_first_chunk::<12>()
    else {
        return Err(format!("{} bytes: no whole FINS/TCP header", bytes.len()));
    };
    let length = u32::from_be_bytes([l0, l1, l2, l3]);
    if usize::try_from(length).ok() != Some(rest.len() - 4) {
        return Err(format!(
            "FINS/TCP length {length}, {} bytes follow it",
            rest.len() - 4
        ));
    }
    let error = u32::from_be_bytes([e0, e1, e2, e3]);
    if error != 0 {
        return Err(format!("FINS/TCP error code {error:#x} in a request"));
    }
    match u32::from_be_bytes([c0, c1, c2, c3]) {
        0 if data == [0, 0, 0, 0] => Ok(Request::Fins(FinsRequest::NodeAddress)),
        0 => Err(format!(
            "node address request with client node data {data:02x?}, not 0 (assigned)"
        )),
        2 => fins_frame(data, true),
        command => Err(format!(
            "FINS/TCP command {command:#x}: only 0 (node address) and 2 (frame send)"
        )),
    }
}

/// A FINS command frame: the 10-byte header, then exactly Controller Data Read 05 01 00.
fn fins_frame(frame: &[u8], tcp: bool) -> Verdict<Request> {
    let Some((&[icf, rsv, gct, dna, da1, da2, sna, sa1, sa2, _sid], command)) =
        frame.split_first_chunk::<10>()
    else {
        return Err(format!("{} bytes: no whole FINS header", frame.len()));
    };
    if icf != 0x80 {
        return Err(format!(
            "ICF {icf:#04x}, not 0x80 (a command that wants its response)"
        ));
    }
    if [rsv, gct, dna, da2, sna, sa2] != [0, 2, 0, 0, 0, 0] {
        return Err(format!(
            "RSV/GCT/DNA/DA2/SNA/SA2 {:02x?}, not 00 02 00 00 00 00",
            [rsv, gct, dna, da2, sna, sa2]
        ));
    }
    if da1 == 0xFF || sa1 == 0xFF {
        return Err("broadcast node address 0xff".to_owned());
    }
    match *command {
        [0x05, 0x01, 0x00] => Ok(Request::Fins(FinsRequest::ControllerDataRead {
            tcp,
            destination: da1,
            source: sa1,
        })),
        [0x05, 0x01, ref data @ ..] => Err(format!(
            "Controller Data Read with data {data:02x?}, not 00"
        )),
        [mrc, src, ..] => Err(format!(
            "FINS command {mrc:02x} {src:02x}: only Controller Data Read (05 01)"
        )),
        _ => Err("FINS frame without a command code".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn accepted(protocol: &str, bytes: &[u8]) -> Request {
        check(protocol, bytes).unwrap_or_else(|v| panic!("{v}: {bytes:02x?}"))
    }

    fn refused(protocol: &str, bytes: &[u8]) -> Violation {
        let violation = match check(protocol, bytes) {
            Ok(request) => panic!("accepted {request:?}: {bytes:02x?}"),
            Err(violation) => violation,
        };
        assert_eq!(violation.protocol, protocol);
        violation
    }

    // ---- Modbus/TCP

    /// An MBAP header with a true length (unit id included), then `pdu`.
    fn mbap(unit: u8, pdu: &[u8]) -> Vec<u8> {
        let length = u16::try_from(pdu.len() + 1).unwrap().to_be_bytes();
        [&[0x00, 0x2A, 0x00, 0x00, length[0], length[1], unit], pdu].concat()
    }

    #[test]
    fn modbus_identification_reads_are_accepted() {
        for read_code in 1..=3 {
            assert_eq!(
                accepted(MODBUS, &mbap(0xFF, &[0x2B, 0x0E, read_code, 0x80])),
                Request::Modbus {
                    unit: 0xFF,
                    function: 0x2B,
                    read_code,
                    object: 0x80
                }
            );
        }
        assert_eq!(
            accepted(MODBUS, &mbap(7, &[0x11])),
            Request::Modbus {
                unit: 7,
                function: 0x11,
                read_code: 0,
                object: 0
            }
        );
    }

    #[test]
    fn modbus_near_misses_are_refused() {
        // Write Single Register, Write Multiple Registers.
        refused(MODBUS, &mbap(1, &[0x06, 0x00, 0x01, 0x00, 0x05]));
        refused(
            MODBUS,
            &mbap(1, &[0x10, 0x00, 0x01, 0x00, 0x01, 0x02, 0x00, 0x05]),
        );
        // Read Holding Registers is a read, but not an identification request.
        refused(MODBUS, &mbap(1, &[0x03, 0x00, 0x00, 0x00, 0x01]));
        // Read code 4 (individual access), CANopen MEI 0x0D, a trailing byte.
        refused(MODBUS, &mbap(1, &[0x2B, 0x0E, 0x04, 0x00]));
        refused(MODBUS, &mbap(1, &[0x2B, 0x0D, 0x01, 0x00]));
        refused(MODBUS, &mbap(1, &[0x2B, 0x0E, 0x01, 0x00, 0x00]));
        refused(MODBUS, &mbap(1, &[]));
        let mut other_protocol = mbap(1, &[0x11]);
        other_protocol[3] = 1;
        assert!(refused(MODBUS, &other_protocol)
            .reason
            .contains("protocol id"));
        let mut long_length = mbap(1, &[0x11]);
        long_length[5] += 1;
        assert!(refused(MODBUS, &long_length).reason.contains("length"));
    }

    // ---- EtherNet/IP

    /// A 24-byte encapsulation header with `command`, `session` and sender context 9.
    fn encapsulation(command: u16, session: u32) -> Vec<u8> {
        let mut header = vec![0u8; 24];
        header[..2].copy_from_slice(&command.to_le_bytes());
        header[4..8].copy_from_slice(&session.to_le_bytes());
        header[12] = 9;
        header
    }

    #[test]
    fn enip_list_commands_are_accepted() {
        for command in [0x0063, 0x0004, 0x0064] {
            assert_eq!(
                accepted(ENIP, &encapsulation(command, 0)),
                Request::Enip { command }
            );
        }
    }

    #[test]
    fn enip_near_misses_are_refused() {
        // RegisterSession with its 4 bytes of data, and bare.
        let mut register = encapsulation(0x0065, 0);
        register[2] = 4;
        register.extend_from_slice(&[1, 0, 0, 0]);
        refused(ENIP, &register);
        refused(ENIP, &encapsulation(0x0065, 0));
        // SendRRData in a session.
        refused(ENIP, &encapsulation(0x006F, 0x1234_5678));
        refused(ENIP, &encapsulation(0x006F, 0));
        // A list command in a session, or with data.
        assert!(refused(ENIP, &encapsulation(0x0063, 1))
            .reason
            .contains("session"));
        refused(ENIP, &[encapsulation(0x0063, 0), vec![0]].concat());
        refused(ENIP, &encapsulation(0x0063, 0)[..23]);
        // A bare header whose length field announces data it does not carry.
        let mut lying = encapsulation(0x0063, 0);
        lying[2] = 4;
        assert!(refused(ENIP, &lying).reason.contains("length"));
    }

    // ---- SNMP

    /// A BER tag-length-value with a short-form length.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        [&[tag, u8::try_from(content.len()).unwrap()], content].concat()
    }

    /// A BER INTEGER of one byte.
    fn int(value: u8) -> Vec<u8> {
        tlv(0x02, &[value])
    }

    /// A PDU with request id 5 and no error; `bindings` are the encoded VarBinds.
    fn pdu(tag: u8, bindings: &[u8]) -> Vec<u8> {
        tlv(tag, &[int(5), int(0), int(0), tlv(0x30, bindings)].concat())
    }

    /// sysDescr.0 with a NULL value.
    fn sys_descr() -> Vec<u8> {
        let oid = tlv(0x06, &[0x2B, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00]);
        tlv(0x30, &[oid, vec![0x05, 0x00]].concat())
    }

    /// A community-based message, built by hand.
    fn community_message(version: u8, community: &[u8], pdu: &[u8]) -> Vec<u8> {
        tlv(
            0x30,
            &[int(version), tlv(0x04, community), pdu.to_vec()].concat(),
        )
    }

    /// A v3 message with `flags` and a cleartext scoped `pdu`, built by hand; the USM
    /// parameters are empty, as a discovery request's are.
    fn v3_message(flags: u8, pdu: &[u8]) -> Vec<u8> {
        let header = [
            int(1),
            tlv(0x02, &[0x00, 0xFF, 0xE3]),
            tlv(0x04, &[flags]),
            int(3),
        ];
        let usm = [
            tlv(0x04, &[]),
            int(0),
            int(0),
            tlv(0x04, &[]),
            tlv(0x04, &[]),
            tlv(0x04, &[]),
        ];
        let scoped = [tlv(0x04, &[]), tlv(0x04, &[]), pdu.to_vec()];
        tlv(
            0x30,
            &[
                int(3),
                tlv(0x30, &header.concat()),
                tlv(0x04, &tlv(0x30, &usm.concat())),
                tlv(0x30, &scoped.concat()),
            ]
            .concat(),
        )
    }

    #[test]
    fn snmp_reads_and_discovery_are_accepted() {
        for (version, tag) in [(0, 0xA0), (0, 0xA1), (1, 0xA0), (1, 0xA1)] {
            let message = community_message(version, b"public", &pdu(tag, &sys_descr()));
            assert_eq!(
                accepted(SNMP, &message),
                Request::Snmp {
                    version,
                    pdu: tag,
                    community: b"public".to_vec()
                }
            );
        }
        assert_eq!(
            accepted(SNMP, &v3_message(0x04, &pdu(0xA0, &[]))),
            Request::Snmp {
                version: 3,
                pdu: 0xA0,
                community: Vec::new()
            }
        );
    }

    #[test]
    fn snmp_near_misses_are_refused() {
        use rasn::types::{ObjectIdentifier, OctetString};
        use rasn_smi::v2::{ObjectSyntax, SimpleSyntax};

        let set = v2c::Message {
            version: Integer::from(1),
            community: OctetString::from_static(b"private"),
            data: v2::Pdus::SetRequest(v2::SetRequest(v2::Pdu {
                request_id: 5,
                error_status: 0,
                error_index: 0,
                variable_bindings: vec![v2::VarBind {
                    // sysContact.0
                    name: ObjectIdentifier::new(vec![1, 3, 6, 1, 2, 1, 1, 4, 0]).unwrap(),
                    value: v2::VarBindValue::Value(ObjectSyntax::Simple(SimpleSyntax::String(
                        OctetString::from_static(b"owned"),
                    ))),
                }],
            })),
        };
        let set = rasn::ber::encode(&set).unwrap();
        assert_eq!(set[0..2], [0x30, u8::try_from(set.len() - 2).unwrap()]);
        assert!(set.contains(&0xA3));
        assert!(refused(SNMP, &set).reason.contains("0xa3"));
        // The same SetRequest, by hand, in v1; a GetBulk; a Response.
        refused(
            SNMP,
            &community_message(0, b"private", &pdu(0xA3, &sys_descr())),
        );
        refused(
            SNMP,
            &community_message(1, b"public", &pdu(0xA5, &sys_descr())),
        );
        refused(
            SNMP,
            &community_message(1, b"public", &pdu(0xA2, &sys_descr())),
        );
        // A Get of another message version.
        refused(
            SNMP,
            &community_message(2, b"public", &pdu(0xA0, &sys_descr())),
        );
        // v3 with authentication and privacy, or asking for something, or setting.
        refused(SNMP, &v3_message(0x07, &pdu(0xA0, &[])));
        refused(SNMP, &v3_message(0x04, &pdu(0xA0, &sys_descr())));
        refused(SNMP, &v3_message(0x04, &pdu(0xA3, &[])));
        refused(SNMP, b"not BER");
    }

    // ---- BACnet/IP

    /// An Original-Unicast-NPDU with NPDU control `control` and `apdu`.
    fn bvlc(control: u8, apdu: &[u8]) -> Vec<u8> {
        let length = u16::try_from(apdu.len() + 6).unwrap().to_be_bytes();
        [&[0x81, 0x0A, length[0], length[1], 0x01, control], apdu].concat()
    }

    /// A confirmed request (max APDU 1476, invoke id 3) of `service` whose first parameter is
    /// the object identifier of `object_type`/`instance`, then `rest`.
    fn confirmed(service: u8, object_type: u32, instance: u32, rest: &[u8]) -> Vec<u8> {
        let object = ((object_type << 22) | instance).to_be_bytes();
        [&[0x00, 0x05, 0x03, service, 0x0C][..], &object, rest].concat()
    }

    /// ReadProperty's property identifier: object-name (77).
    const OBJECT_NAME: &[u8] = &[0x19, 0x4D];
    /// ReadPropertyMultiple's list: object-name.
    const NAME_LIST: &[u8] = &[0x1E, 0x09, 0x4D, 0x1F];

    #[test]
    fn bacnet_device_reads_and_who_is_are_accepted() {
        for (service, rest) in [(0x0C, OBJECT_NAME), (0x0E, NAME_LIST)] {
            for instance in [0, 1234, 0x3F_FFFF] {
                assert_eq!(
                    accepted(BACNET, &bvlc(0x04, &confirmed(service, 8, instance, rest))),
                    Request::Bacnet {
                        pdu: 0,
                        service,
                        instance
                    }
                );
            }
        }
        let who_is = Request::Bacnet {
            pdu: 1,
            service: 0x08,
            instance: 0,
        };
        assert_eq!(accepted(BACNET, &bvlc(0x00, &[0x10, 0x08])), who_is);
        // With a range: 7 to 4194303.
        let ranged = [0x10, 0x08, 0x09, 0x07, 0x1B, 0x3F, 0xFF, 0xFF];
        assert_eq!(accepted(BACNET, &bvlc(0x00, &ranged)), who_is);
    }

    #[test]
    fn bacnet_near_misses_are_refused() {
        // WriteProperty of the Device's object-name.
        let write = [OBJECT_NAME, &[0x3E, 0x75, 0x02, 0x00, b'x', 0x3F]].concat();
        refused(BACNET, &bvlc(0x04, &confirmed(0x0F, 8, 1234, &write)));
        // DeviceCommunicationControl (disable) and ReinitializeDevice (coldstart): their first
        // parameters are not object identifiers, and the service alone refuses them.
        let dcc = [0x00, 0x05, 0x03, 0x11, 0x19, 0x01];
        assert!(refused(BACNET, &bvlc(0x04, &dcc)).reason.contains("0x11"));
        let reinitialize = [0x00, 0x05, 0x03, 0x14, 0x09, 0x00];
        assert!(refused(BACNET, &bvlc(0x04, &reinitialize))
            .reason
            .contains("0x14"));
        // A read of an analog input, a segmented read, an I-Am, a broadcast, a routed read.
        refused(BACNET, &bvlc(0x04, &confirmed(0x0C, 0, 1, OBJECT_NAME)));
        let mut segmented = confirmed(0x0C, 8, 1, OBJECT_NAME);
        segmented[0] = 0x08;
        refused(BACNET, &bvlc(0x04, &segmented));
        refused(
            BACNET,
            &bvlc(0x00, &[0x10, 0x00, 0xC4, 0x02, 0x00, 0x04, 0xD2]),
        );
        let mut broadcast = bvlc(0x00, &[0x10, 0x08]);
        broadcast[1] = 0x0B;
        refused(BACNET, &broadcast);
        refused(BACNET, &bvlc(0x24, &confirmed(0x0C, 8, 1, OBJECT_NAME)));
        let mut long_length = bvlc(0x00, &[0x10, 0x08]);
        long_length[3] += 1;
        refused(BACNET, &long_length);
    }

    // ---- S7

    /// `cotp` and what follows it in one TPKT.
    fn tpkt(cotp: &[u8]) -> Vec<u8> {
        let length = u16::try_from(cotp.len() + 4).unwrap().to_be_bytes();
        [&[0x03, 0x00, length[0], length[1]], cotp].concat()
    }

    /// A COTP Connection Request, class 0, TPDU size 1024, calling TSAP 0x0100, called `tsap`.
    fn connection_request(tsap: u16) -> Vec<u8> {
        let called = tsap.to_be_bytes();
        let tail = [
            0xE0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xC0, 0x01, 0x0A, 0xC1, 0x02, 0x01, 0x00, 0xC2,
            0x02, called[0], called[1],
        ];
        tpkt(&[&[u8::try_from(tail.len()).unwrap()][..], &tail].concat())
    }

    /// An S7 PDU of `rosctr` with `parameters` and `data`, in a COTP DT.
    fn s7_pdu(rosctr: u8, parameters: &[u8], data: &[u8]) -> Vec<u8> {
        let p = u16::try_from(parameters.len()).unwrap().to_be_bytes();
        let d = u16::try_from(data.len()).unwrap().to_be_bytes();
        let header = [0x32, rosctr, 0x00, 0x00, 0x00, 0x01, p[0], p[1], d[0], d[1]];
        tpkt(&[&[0x02, 0xF0, 0x80][..], &header, parameters, data].concat())
    }

    /// Setup Communication: AmQ 1/1, PDU length 480.
    fn setup() -> Vec<u8> {
        s7_pdu(0x01, &[0xF0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xE0], &[])
    }

    /// A userdata read of SZL `id`, index 0.
    fn read_szl(id: u16) -> Vec<u8> {
        let id = id.to_be_bytes();
        s7_pdu(
            0x07,
            &[0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01, 0x00],
            &[0xFF, 0x09, 0x00, 0x04, id[0], id[1], 0x00, 0x00],
        )
    }

    /// The SZL follow-up for the data unit of sequence `sequence` (snap7's telegram).
    fn szl_next(sequence: u8) -> Vec<u8> {
        s7_pdu(
            0x07,
            &[
                0x00, 0x01, 0x12, 0x08, 0x12, 0x44, 0x01, sequence, 0x00, 0x00, 0x00, 0x00,
            ],
            &[0x0A, 0x00, 0x00, 0x00],
        )
    }

    #[test]
    fn s7_szl_follow_up_is_accepted_and_its_near_misses_refused() {
        for sequence in [0x00, 0x02, 0xFF] {
            assert_eq!(
                accepted(S7, &szl_next(sequence)),
                Request::S7(S7Request::SzlNext(sequence))
            );
        }
        let params = |p: [u8; 12]| p;
        let base = [
            0x00, 0x01, 0x12, 0x08, 0x12, 0x44, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00,
        ];
        // Another group (0x45 programmer commands, 0x47 time, 0x43 block functions), another
        // subfunction (0x02 message service), a response type (0x84), a data unit reference or
        // "more" flag, an error code: each byte outside the telegram is refused.
        for (i, value) in [
            (5, 0x45),
            (5, 0x47),
            (5, 0x43),
            (5, 0x84),
            (6, 0x02),
            (8, 0x01),
            (9, 0x01),
            (10, 0xD4),
            (4, 0x11),
        ] {
            let mut p = params(base);
            p[i] = value;
            refused(S7, &s7_pdu(0x07, &p, &[0x0A, 0x00, 0x00, 0x00]));
        }
        // Data other than 0a 00 00 00: an SZL id smuggled in, a success code, more bytes.
        for data in [
            &[0xFF, 0x09, 0x00, 0x04, 0x00, 0x11, 0x00, 0x00][..],
            &[0xFF, 0x00, 0x00, 0x00],
            &[0x0A, 0x00, 0x00, 0x01],
            &[0x0A, 0x00, 0x00, 0x00, 0x00],
            &[],
        ] {
            assert!(refused(S7, &s7_pdu(0x07, &base, data))
                .reason
                .contains("follow-up"));
        }
        // Longer parameters (a write's item after the telegram).
        let long = [&base[..], &[0x12, 0x0A]].concat();
        refused(S7, &s7_pdu(0x07, &long, &[0x0A, 0x00, 0x00, 0x00]));
        // The follow-up shape as a job, not userdata.
        refused(S7, &s7_pdu(0x01, &base, &[0x0A, 0x00, 0x00, 0x00]));
    }

    #[test]
    fn s7_identification_requests_are_accepted() {
        for tsap in [0x0102, 0x0200, 0x0100, 0x0301] {
            assert_eq!(
                accepted(S7, &connection_request(tsap)),
                Request::S7(S7Request::Cr(tsap))
            );
        }
        // No called TSAP: class and TPDU size only.
        let bare = tpkt(&[0x09, 0xE0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xC0, 0x01, 0x0A]);
        assert_eq!(accepted(S7, &bare), Request::S7(S7Request::Cr(0)));
        assert_eq!(accepted(S7, &setup()), Request::S7(S7Request::Setup));
        for id in [0x0011, 0x001C] {
            assert_eq!(accepted(S7, &read_szl(id)), Request::S7(S7Request::Szl(id)));
        }
    }

    #[test]
    fn s7_near_misses_are_refused() {
        // Read Var and Write Var of one DB1 byte, PLC Stop.
        let item = [
            0x12, 0x0A, 0x10, 0x02, 0x00, 0x01, 0x00, 0x01, 0x84, 0x00, 0x00, 0x00,
        ];
        let read_var = [&[0x04, 0x01][..], &item].concat();
        assert!(refused(S7, &s7_pdu(0x01, &read_var, &[]))
            .reason
            .contains("0x04"));
        let write_var = [&[0x05, 0x01][..], &item].concat();
        refused(
            S7,
            &s7_pdu(0x01, &write_var, &[0x00, 0x04, 0x00, 0x08, 0x2A]),
        );
        let plc_stop = [
            &[0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09][..],
            b"P_PROGRAM",
        ]
        .concat();
        refused(S7, &s7_pdu(0x01, &plc_stop, &[]));
        // Other SZLs: the module identification's index list, the CPU's diagnostic buffer.
        for id in [0x0000, 0x0111, 0x0424, 0x00A0] {
            assert!(refused(S7, &read_szl(id)).reason.contains("SZL"));
        }
        // A userdata write (subfunction 2 of another group), an Ack_Data, a Disconnect Request.
        refused(
            S7,
            &s7_pdu(0x07, &[0x00, 0x01, 0x12, 0x04, 0x11, 0x45, 0x02, 0x00], &[]),
        );
        refused(S7, &s7_pdu(0x03, &[0xF0, 0x00], &[0x00, 0x00]));
        refused(S7, &tpkt(&[0x06, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00]));
        // A Connection Request with user data, or with a parameter running past its end.
        let mut with_data = connection_request(0x0102);
        with_data.push(0xFF);
        with_data[3] += 1;
        refused(S7, &with_data);
        refused(
            S7,
            &tpkt(&[0x09, 0xE0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xC2, 0x03, 0x01]),
        );
        // TPKT version 2.
        let mut version = setup();
        version[0] = 2;
        refused(S7, &version);
    }

    const FOX_HELLO: &[u8] = b"fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\n};;\n";

    #[test]
    fn the_fox_hello_is_accepted_and_its_near_misses_refused() {
        assert_eq!(accepted(FOX, FOX_HELLO), Request::FoxHello);
        let text = std::str::from_utf8(FOX_HELLO).unwrap();
        for near in [
            // Login, authentication and session steps of a Fox client.
            "fox a 2 -1 fox login\n{\nusername=s:admin\n};;\n",
            "fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\nusername=s:admin\n};;\n",
            "fox a 2 -1 fox clientKeyExchangeMethod\n{\nmethod=s:null.1\n};;\n",
            // Station channels: navigation, point reads and writes, invocations.
            "fox a 3 -1 nav hello\n{\n};;\n",
            "fox s 4 -1 station write\n{\nord=s:station:|slot:/Drivers\nvalue=s:1\n};;\n",
            "fox a 5 -1 bql query\n{\nq=s:select *\n};;\n",
            "fox a 1 -1 fox close\n{\n};;\n",
            // The hello reframed: another frame type, sequence, reply-to, channel.
            "fox s 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\n};;\n",
            "fox a 2 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\n};;\n",
            "fox a 1 0 fox hello\n{\nfox.version=s:1.0\nid=i:1\n};;\n",
            "fox a 1 -1 station hello\n{\nfox.version=s:1.0\nid=i:1\n};;\n",
            // Other bodies and endings.
            "fox a 1 -1 fox hello\n{\nid=i:1\nfox.version=s:1.0\n};;\n",
            "fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\n}\n",
            "fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\n};;",
            "fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\n};;\n\n",
            "fox a 1 -1  fox hello\n{\nfox.version=s:1.0\nid=i:1\n};;\n",
            "fox a 1 -1 fox hello\r\n{\nfox.version=s:1.0\nid=i:1\n};;\n",
        ] {
            assert_ne!(near, text);
            refused(FOX, near.as_bytes());
        }
        // Two hellos in one frame.
        refused(FOX, &[FOX_HELLO, FOX_HELLO].concat());
    }

    #[test]
    fn unknown_labels_are_violations() {
        for label in ["raw", "", "Modbus", "HTTP", "TLS"] {
            let violation = refused(label, &mbap(1, &[0x11]));
            assert!(violation.to_string().contains("no rules"), "{violation}");
        }
    }

    // ---- FINS

    /// A FINS command frame: header to `da1`/`sa1`, SID 7, then `command`.
    fn fins_frame(da1: u8, sa1: u8, command: &[u8]) -> Vec<u8> {
        let mut out = vec![0x80, 0x00, 0x02, 0x00, da1, 0x00, 0x00, sa1, 0x00, 0x07];
        out.extend_from_slice(command);
        out
    }

    /// A FINS/TCP frame of `command` carrying `data`.
    fn fins_tcp(command: u32, data: &[u8]) -> Vec<u8> {
        let mut out = b"FINS".to_vec();
        out.extend_from_slice(&(8 + data.len() as u32).to_be_bytes());
        out.extend_from_slice(&command.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(data);
        out
    }

    const CONTROLLER_DATA_READ: [u8; 3] = [0x05, 0x01, 0x00];

    #[test]
    fn fins_controller_data_read_and_node_address_request_are_accepted() {
        assert_eq!(
            accepted(FINS, &fins_frame(0, 0x63, &CONTROLLER_DATA_READ)),
            Request::Fins(FinsRequest::ControllerDataRead {
                tcp: false,
                destination: 0,
                source: 0x63
            })
        );
        assert_eq!(
            accepted(FINS, &fins_tcp(0, &[0, 0, 0, 0])),
            Request::Fins(FinsRequest::NodeAddress)
        );
        assert_eq!(
            accepted(
                FINS,
                &fins_tcp(2, &fins_frame(10, 0xEF, &CONTROLLER_DATA_READ))
            ),
            Request::Fins(FinsRequest::ControllerDataRead {
                tcp: true,
                destination: 10,
                source: 0xEF
            })
        );
    }

    #[test]
    fn fins_near_misses_are_refused() {
        // Every command that changes the PLC shares the frame: RUN, STOP, memory area write
        // and fill, parameter/program area writes, clock write, error clear, forced set.
        for command in [
            &[0x04, 0x01, 0xFF, 0xFF, 0x04][..],
            &[0x04, 0x02, 0xFF, 0xFF],
            &[0x01, 0x02, 0x82, 0x00, 0x64, 0x00, 0x00, 0x01, 0x12, 0x34],
            &[0x01, 0x03, 0x82, 0x00, 0x64, 0x00, 0x00, 0x01, 0x00, 0x00],
            &[0x02, 0x02, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01],
            &[0x03, 0x07, 0xFF, 0xFF],
            &[0x03, 0x08, 0xFF, 0xFF],
            &[0x07, 0x02, 0x24, 0x01, 0x01],
            &[0x21, 0x01, 0xFF, 0xFF],
            &[0x23, 0x01, 0x00, 0x01],
            &[0x0C, 0x02, 0xFF, 0xFF],
            // Reads that are not identification are refused too.
            &[0x01, 0x01, 0x82, 0x00, 0x00, 0x00, 0x00, 0x01],
            &[0x06, 0x01],
            // Controller Data Read with another data byte, none, or more.
            &[0x05, 0x01, 0x01],
            &[0x05, 0x01],
            &[0x05, 0x01, 0x00, 0x00],
        ] {
            refused(FINS, &fins_frame(0, 0x63, command));
            refused(FINS, &fins_tcp(2, &fins_frame(10, 0xEF, command)));
        }
        // Header fields: a response ICF, no response wanted, broadcast, another unit,
        // another network, a gateway count other than 2.
        for (at, value) in [
            (0, 0xC0),
            (0, 0x81),
            (4, 0xFF),
            (7, 0xFF),
            (5, 0x10),
            (3, 1),
            (6, 1),
            (2, 7),
            (1, 1),
            (8, 1),
        ] {
            let mut frame = fins_frame(0, 0x63, &CONTROLLER_DATA_READ);
            frame[at] = value;
            refused(FINS, &frame);
        }
        // FINS/TCP: lying lengths, an error code, other commands, a chosen client node.
        let mut lying = fins_tcp(2, &fins_frame(10, 0xEF, &CONTROLLER_DATA_READ));
        lying[7] += 1;
        refused(FINS, &lying);
        lying[7] -= 2;
        refused(FINS, &lying);
        let mut error = fins_tcp(0, &[0, 0, 0, 0]);
        error[15] = 1;
        refused(FINS, &error);
        for command in [1, 3, 6] {
            refused(FINS, &fins_tcp(command, &[0, 0, 0, 0]));
        }
        refused(FINS, &fins_tcp(0, &[0, 0, 0, 9]));
        refused(FINS, &fins_tcp(0, &[]));
        refused(FINS, b"FINS");
    }

    // ---- OPC UA

    fn ua_string(buf: &mut Vec<u8>, s: &[u8]) {
        buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
        buf.extend_from_slice(s);
    }

    fn ua_frame(kind: &[u8; 3], body: &[u8]) -> Vec<u8> {
        let mut out = kind.to_vec();
        out.push(b'F');
        out.extend_from_slice(&((body.len() + 8) as u32).to_le_bytes());
        out.extend_from_slice(body);
        out
    }

    /// NodeId (four-byte form) and a session-less RequestHeader.
    fn ua_service(id: u16) -> Vec<u8> {
        let mut b = vec![0x01, 0x00];
        b.extend_from_slice(&id.to_le_bytes());
        b.extend_from_slice(&[0x00, 0x00]);
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(&[0xFF; 4]);
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&[0x00, 0x00, 0x00]);
        b
    }

    fn ua_hello() -> Vec<u8> {
        let mut b = vec![0; 20];
        ua_string(&mut b, b"opc.tcp://127.0.0.1:4840");
        ua_frame(b"HEL", &b)
    }

    fn ua_open(policy: &[u8], request_type: u32, mode: u32) -> Vec<u8> {
        let mut b = vec![0; 4];
        ua_string(&mut b, policy);
        b.extend_from_slice(&[0xFF; 8]);
        b.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0]);
        b.extend_from_slice(&ua_service(446));
        for v in [0, request_type, mode, 0, 60_000] {
            b.extend_from_slice(&u32::to_le_bytes(v));
        }
        ua_frame(b"OPN", &b)
    }

    fn ua_msg(kind: &[u8; 3], service: u16, discovery_fields: bool) -> Vec<u8> {
        let mut b = vec![5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0];
        b.extend_from_slice(&ua_service(service));
        if discovery_fields {
            ua_string(&mut b, b"opc.tcp://127.0.0.1:4840");
            b.extend_from_slice(&[0; 8]);
        }
        ua_frame(kind, &b)
    }

    #[test]
    fn opcua_discovery_requests_are_accepted() {
        for (bytes, request) in [
            (ua_hello(), OpcuaRequest::Hello),
            (
                ua_open(UA_POLICY_NONE, 0, 1),
                OpcuaRequest::OpenSecureChannel,
            ),
            (ua_msg(b"MSG", 428, true), OpcuaRequest::GetEndpoints),
            (ua_msg(b"MSG", 422, true), OpcuaRequest::FindServers),
            (ua_msg(b"CLO", 452, false), OpcuaRequest::CloseSecureChannel),
        ] {
            assert_eq!(accepted(OPCUA, &bytes), Request::Opcua(request));
        }
    }

    #[test]
    fn opcua_sessions_writes_and_secured_channels_are_refused() {
        // CreateSession, ActivateSession, Read, Write, Call, CloseSession.
        for service in [461, 467, 631, 673, 712, 473] {
            let violation = refused(OPCUA, &ua_msg(b"MSG", service, false));
            assert!(violation.reason.contains("body type"), "{violation}");
        }
        // A session's authentication token in a GetEndpoints.
        let mut with_token = ua_msg(b"MSG", 428, true);
        with_token[28] = 0x01; // four-byte NodeId instead of the null one
        refused(OPCUA, &with_token);
        // A policy other than None, a renewal, a signed mode.
        refused(
            OPCUA,
            &ua_open(
                b"http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256",
                0,
                1,
            ),
        );
        assert!(refused(OPCUA, &ua_open(UA_POLICY_NONE, 1, 1))
            .reason
            .contains("Issue"));
        assert!(refused(OPCUA, &ua_open(UA_POLICY_NONE, 0, 3))
            .reason
            .contains("mode"));
        // The close service in a MSG, GetEndpoints in a CLO, an OPN body in a MSG.
        refused(OPCUA, &ua_msg(b"MSG", 452, false));
        refused(OPCUA, &ua_msg(b"CLO", 428, true));
        refused(OPCUA, &ua_msg(b"MSG", 446, false));
        // An intermediate chunk, a lying size, trailing bytes, a non-opc.tcp URL.
        let mut chunked = ua_hello();
        chunked[3] = b'C';
        refused(OPCUA, &chunked);
        let mut lying = ua_hello();
        lying[4] = lying[4].wrapping_add(1);
        refused(OPCUA, &lying);
        let mut trailing = ua_hello();
        trailing.push(0);
        trailing[4] += 1;
        refused(OPCUA, &trailing);
        let mut http = vec![0; 20];
        ua_string(&mut http, b"http://x/");
        refused(OPCUA, &ua_frame(b"HEL", &http));
        // ACK or ERR from the client side, and an unknown message type.
        refused(OPCUA, &ua_frame(b"ACK", &[0; 20]));
        refused(OPCUA, &ua_frame(b"RHE", &[0; 20]));
    }

    // ---- Never panics

    /// Every allowed request above, with its label.
    fn allowed() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            (MODBUS, mbap(1, &[0x2B, 0x0E, 0x01, 0x00])),
            (MODBUS, mbap(1, &[0x11])),
            (ENIP, encapsulation(0x0063, 0)),
            (
                SNMP,
                community_message(1, b"public", &pdu(0xA1, &sys_descr())),
            ),
            (SNMP, v3_message(0x04, &pdu(0xA0, &[]))),
            (BACNET, bvlc(0x04, &confirmed(0x0E, 8, 1, NAME_LIST))),
            (BACNET, bvlc(0x00, &[0x10, 0x08])),
            (S7, connection_request(0x0102)),
            (S7, setup()),
            (S7, read_szl(0x0011)),
            (S7, szl_next(2)),
            (MELSEC, melsec_3e(0x0101, 0, &[])),
            (KNX, KNX_DESCRIPTION.to_vec()),
            (ADS, ads_datagram(1, &[])),
            (HART, hart_message(0, &[0, 0, 0, 0x27, 0x10])),
            (HART, hart_message(1, &[])),
            (HART, hart_message(3, &hart_frame_bytes(0x02, &[0], 0, &[]))),
            (
                HART,
                hart_message(3, &hart_frame_bytes(0x82, &HART_ADDRESS, 20, &[])),
            ),
            (
                HART,
                hart_message(3, &hart_frame_bytes(0x82, &HART_ADDRESS, 74, &[])),
            ),
            (
                HART,
                hart_message(3, &hart_frame_bytes(0x82, &HART_ADDRESS, 84, &[0, 1])),
            ),
            (PROFINET, pn_lookup()),
            (FINS, fins_frame(0, 0x63, &CONTROLLER_DATA_READ)),
            (FINS, fins_tcp(0, &[0, 0, 0, 0])),
            (
                FINS,
                fins_tcp(2, &fins_frame(10, 0xEF, &CONTROLLER_DATA_READ)),
            ),
            (FOX, FOX_HELLO.to_vec()),
            (OPCUA, ua_hello()),
            (OPCUA, ua_open(UA_POLICY_NONE, 0, 1)),
            (OPCUA, ua_msg(b"MSG", 428, true)),
            (OPCUA, ua_msg(b"MSG", 422, true)),
            (OPCUA, ua_msg(b"CLO", 452, false)),
        ]
    }

    /// Each allowed request cut at every length and with each of its bytes set to every value,
    /// under every label: the checks near the accepted shapes, where random bytes rarely reach.
    #[test]
    fn truncated_and_mutated_requests_never_panic() {
        for (label, bytes) in allowed() {
            accepted(label, &bytes);
            for other in PROTOCOLS.iter().chain(&["raw"]) {
                for end in 0..bytes.len() {
                    let _ = check(other, &bytes[..end]);
                }
                for at in 0..bytes.len() {
                    let mut mutated = bytes.clone();
                    for value in 0..=u8::MAX {
                        mutated[at] = value;
                        let _ = check(other, &mutated);
                    }
                }
            }
        }
    }

    // ---- KNXnet/IP

    const KNX_DESCRIPTION: [u8; 14] = [6, 0x10, 2, 3, 0, 14, 8, 1, 0, 0, 0, 0, 0, 0];

    /// A KNXnet/IP frame of `service` around `body`, with a true total length.
    fn knx_frame(service: u16, body: &[u8]) -> Vec<u8> {
        let mut out = vec![6, 0x10];
        out.extend_from_slice(&service.to_be_bytes());
        out.extend_from_slice(&u16::try_from(6 + body.len()).unwrap().to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    // ---- HART-IP

    const HART_ADDRESS: [u8; 5] = [0x26, 0x41, 0x0A, 0x1B, 0x2C];

    /// A HART-IP request of `message_id` around `body`, sequence 7, true byte count.
    fn hart_message(message_id: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![1, 0, message_id, 0, 0, 7];
        out.extend_from_slice(&u16::try_from(8 + body.len()).unwrap().to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// A HART frame with a correct check byte.
    fn hart_frame_bytes(delimiter: u8, address: &[u8], command: u8, data: &[u8]) -> Vec<u8> {
        let mut out = vec![delimiter];
        out.extend_from_slice(address);
        out.push(command);
        out.push(u8::try_from(data.len()).unwrap());
        out.extend_from_slice(data);
        out.push(out.iter().fold(0, |acc, b| acc ^ b));
        out
    }

    #[test]
    fn hart_reads_are_accepted() {
        assert_eq!(
            accepted(
                HART,
                &hart_message(3, &hart_frame_bytes(0x82, &HART_ADDRESS, 84, &[0, 3]))
            ),
            Request::Hart {
                message_id: 3,
                command: Some(84)
            }
        );
        assert_eq!(
            accepted(HART, &hart_message(0, &[0, 0, 0, 0x27, 0x10])),
            Request::Hart {
                message_id: 0,
                command: None
            }
        );
    }

    #[test]
    fn hart_near_misses_are_refused() {
        // Writes, resets, commands passed to sub-devices, device-specific commands.
        for command in [
            6, 17, 18, 19, 22, 35, 38, 40, 41, 42, 44, 45, 77, 79, 128, 200, 255,
        ] {
            refused(
                HART,
                &hart_message(3, &hart_frame_bytes(0x82, &HART_ADDRESS, command, &[])),
            );
            refused(
                HART,
                &hart_message(3, &hart_frame_bytes(0x82, &HART_ADDRESS, command, &[0; 24])),
            );
            refused(
                HART,
                &hart_message(3, &hart_frame_bytes(0x02, &[0], command, &[])),
            );
        }
        // Command 77 with an embedded command 0 is still refused.
        let embedded = hart_frame_bytes(0x82, &HART_ADDRESS, 0, &[]);
        let mut data = vec![0, 1, 5];
        data.extend_from_slice(&embedded);
        refused(
            HART,
            &hart_message(3, &hart_frame_bytes(0x82, &HART_ADDRESS, 77, &data)),
        );
        // A primary-host session, a primary-host or burst address, a keep alive.
        assert!(refused(HART, &hart_message(0, &[1, 0, 0, 0x27, 0x10]))
            .reason
            .contains("secondary"));
        let mut primary = HART_ADDRESS;
        primary[0] |= 0x80;
        refused(
            HART,
            &hart_message(3, &hart_frame_bytes(0x82, &primary, 20, &[])),
        );
        refused(
            HART,
            &hart_message(3, &hart_frame_bytes(0x02, &[0x80], 0, &[])),
        );
        refused(HART, &hart_message(2, &[]));
        // Command 0 elsewhere than polling address 0 or with data; 20 with data; 84 without.
        refused(
            HART,
            &hart_message(3, &hart_frame_bytes(0x02, &[5], 0, &[])),
        );
        refused(
            HART,
            &hart_message(3, &hart_frame_bytes(0x02, &[0], 0, &[1])),
        );
        refused(
            HART,
            &hart_message(3, &hart_frame_bytes(0x82, &HART_ADDRESS, 20, &[1])),
        );
        refused(
            HART,
            &hart_message(3, &hart_frame_bytes(0x82, &HART_ADDRESS, 84, &[])),
        );
        // A bad check byte, a lying byte count, bytes after the frame, a response.
        let mut bad = hart_frame_bytes(0x82, &HART_ADDRESS, 20, &[]);
        *bad.last_mut().unwrap() ^= 1;
        refused(HART, &hart_message(3, &bad));
        let mut lie = hart_message(1, &[]);
        lie[7] = 9;
        refused(HART, &lie);
        let mut after = hart_frame_bytes(0x82, &HART_ADDRESS, 20, &[]);
        after.push(0);
        refused(HART, &hart_message(3, &after));
        let mut response = hart_message(1, &[]);
        response[1] = 1;
        refused(HART, &response);
        refused(HART, &hart_message(0, &[0, 0, 0, 0x27]));
        // A session the device would keep for ~49 days (or, with 0, never time out)
        // after a scanner that vanished without Session Close.
        assert!(
            refused(HART, &hart_message(0, &[0, 0xFF, 0xFF, 0xFF, 0xFF]))
                .reason
                .contains("inactivity")
        );
        refused(HART, &hart_message(0, &[0, 0, 0, 0, 0]));
    }

    // ---- ADS

    /// An ADS discovery datagram of `service` with `tags`, from 127.0.0.1.1.1:10000.
    fn ads_datagram(service: u32, tags: &[(u16, &[u8])]) -> Vec<u8> {
        let mut out = vec![0x03, 0x66, 0x14, 0x71, 7, 0, 0, 0];
        out.extend_from_slice(&service.to_le_bytes());
        out.extend_from_slice(&[127, 0, 0, 1, 1, 1, 0x10, 0x27]);
        out.extend_from_slice(&u32::try_from(tags.len()).unwrap().to_le_bytes());
        for (id, data) in tags {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&u16::try_from(data.len()).unwrap().to_le_bytes());
            out.extend_from_slice(data);
        }
        out
    }

    #[test]
    fn knx_description_request_is_accepted() {
        assert_eq!(accepted(KNX, &KNX_DESCRIPTION), Request::KnxDescription);
        assert_eq!(knx_frame(0x0203, &KNX_DESCRIPTION[6..]), KNX_DESCRIPTION);
    }

    #[test]
    fn knx_near_misses_are_refused() {
        let route_back = [8, 1, 0, 0, 0, 0, 0, 0];
        // CONNECT_REQUEST: control and data HPAIs, then a tunnel CRI (link layer).
        let mut connect = route_back.to_vec();
        connect.extend_from_slice(&route_back);
        connect.extend_from_slice(&[4, 0x04, 0x02, 0x00]);
        let reason = refused(KNX, &knx_frame(0x0205, &connect)).reason;
        assert!(reason.contains("bytes"), "{reason}");
        // TUNNELLING_REQUEST: connection header, then a cEMI L_Data.req group write.
        let tunnel = [
            4, 0x01, 0x00, 0x00, 0x11, 0x00, 0xBC, 0xE0, 0x00, 0x00, 0x08, 0x01, 0x01, 0x00, 0x81,
        ];
        refused(KNX, &knx_frame(0x0420, &tunnel));
        // The same services cut or padded to 14 bytes are refused for their type alone.
        for service in [
            0x0205u16, 0x0420, 0x0201, 0x0207, 0x0209, 0x0310, 0x0530, 0x0950,
        ] {
            let reason = refused(KNX, &knx_frame(service, &route_back)).reason;
            assert!(reason.contains("not DESCRIPTION_REQUEST"), "{reason}");
        }
        // An HPAI pointing elsewhere (reflection), TCP, a lying length, version 2.
        refused(KNX, &knx_frame(0x0203, &[8, 1, 10, 0, 0, 5, 0x0e, 0x57]));
        refused(KNX, &knx_frame(0x0203, &[8, 2, 0, 0, 0, 0, 0, 0]));
        let mut lying = KNX_DESCRIPTION;
        lying[5] = 0x10;
        refused(KNX, &lying);
        let mut v2 = KNX_DESCRIPTION;
        v2[1] = 0x20;
        refused(KNX, &v2);
        let mut extra = KNX_DESCRIPTION.to_vec();
        extra.push(0);
        refused(KNX, &extra);
    }

    // ---- CODESYS

    /// A resolve address from 127.0.0.1 on a /8 (2 sender words), request id 7.
    const CODESYS_RESOLVE: [u8; 20] = [
        0xC5, 0x7C, 0x40, 0x03, 0x00, 0x20, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0x02, 0xC2, 0x00,
        0x04, 0x07, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn codesys_resolve_address_is_accepted() {
        assert_eq!(
            accepted(CODESYS, &CODESYS_RESOLVE),
            Request::CodesysResolveAddress {
                sender_words: 2,
                sender: 1
            }
        );
        // nmap's request from 192.168.20.5/24: 1 sender word and 2 padding bytes.
        let nmap = [
            0xC5, 0x7C, 0x40, 0x03, 0x00, 0x10, 0x12, 0x34, 0x00, 0x05, 0x00, 0x00, 0x02, 0xC2,
            0x00, 0x04, 0x69, 0x69, 0x20, 0x04,
        ];
        assert_eq!(
            accepted(CODESYS, &nmap),
            Request::CodesysResolveAddress {
                sender_words: 1,
                sender: 5
            }
        );
    }

    #[test]
    fn codesys_near_misses_are_refused() {
        // The channel manager's open-channel request (type 0xC3) in a service 0x40 datagram.
        let mut open_channel = CODESYS_RESOLVE[..12].to_vec();
        open_channel[3] = 0x40;
        open_channel.extend_from_slice(&[0xC3, 0x00, 0x01, 0x01, 0, 0, 0, 0, 1, 0, 0, 0]);
        let reason = refused(CODESYS, &open_channel).reason;
        assert!(reason.contains("channel manager"), "{reason}");
        // Resolve name, with a UTF-16 name after the header.
        let mut resolve_name = CODESYS_RESOLVE.to_vec();
        resolve_name[12] = 0x01;
        assert!(refused(CODESYS, &resolve_name)
            .reason
            .contains("resolve name"));
        resolve_name.extend_from_slice(&[b'P', 0, b'L', 0, b'C', 0, 0, 0]);
        refused(CODESYS, &resolve_name);
        // A routed receiver address, bytes after the request, a cut request, a data
        // length, a signal, another version, a message id, non-zero padding.
        let mut routed = CODESYS_RESOLVE.to_vec();
        routed[5] = 0x21;
        refused(CODESYS, &routed);
        let mut longer = CODESYS_RESOLVE.to_vec();
        longer.push(0);
        refused(CODESYS, &longer);
        refused(CODESYS, &CODESYS_RESOLVE[..19]);
        for (at, value) in [
            (2, 0x41),
            (2, 0x60),
            (15, 0x05),
            (4, 1),
            (1, 0x7B),
            (0, 0xC4),
        ] {
            let mut b = CODESYS_RESOLVE;
            b[at] = value;
            refused(CODESYS, &b);
        }
        let mut one_word = CODESYS_RESOLVE[..10].to_vec();
        one_word[5] = 0x10;
        one_word.extend_from_slice(&[0x00, 0x01]); // padding not zero
        one_word.extend_from_slice(&CODESYS_RESOLVE[12..]);
        assert!(refused(CODESYS, &one_word).reason.contains("padding"));
    }

    #[test]
    fn ads_identify_is_accepted() {
        assert_eq!(
            accepted(ADS, &ads_datagram(1, &[])),
            Request::AdsIdentify {
                sender: [127, 0, 0, 1, 1, 1]
            }
        );
    }

    #[test]
    fn ads_near_misses_are_refused() {
        use crate::ads::tag;
        // AddRoute with a user name and password: refused, and named.
        let add_route = ads_datagram(
            6,
            &[
                (tag::ROUTE_NAME, b"otscan\0"),
                (tag::NET_ID, &[127, 0, 0, 1, 1, 1]),
                (tag::USER_NAME, b"Administrator\0"),
                (tag::PASSWORD, b"1\0"),
                (tag::HOST_NAME, b"127.0.0.1\0"),
            ],
        );
        assert!(refused(ADS, &add_route).reason.contains("AddRoute"));
        refused(ADS, &ads_datagram(6, &[]));
        for service in [0, 2, 3, 5, 7, 8, 0x8000_0001] {
            refused(ADS, &ads_datagram(service, &[]));
        }
        // Identify with tags, or with bytes after the header.
        refused(ADS, &ads_datagram(1, &[(tag::USER_NAME, b"x\0")]));
        let mut longer = ads_datagram(1, &[]);
        longer.push(0);
        refused(ADS, &longer);
        let mut bad_magic = ads_datagram(1, &[]);
        bad_magic[3] = 0x72;
        refused(ADS, &bad_magic);
        refused(ADS, &ads_datagram(1, &[])[..23]);
    }

    // ---- PROFINET

    /// nmap 7.95 profinet-cm-lookup.nse's request, as the fixture writes it.
    fn pn_lookup() -> Vec<u8> {
        crate::profinet::nmap_lookup()
    }

    #[test]
    fn profinet_lookup_is_accepted() {
        assert_eq!(pn_lookup().len(), 156);
        assert_eq!(accepted(PROFINET, &pn_lookup()), Request::ProfinetLookup);
    }

    #[test]
    fn profinet_near_misses_are_refused() {
        // The PNIO device interface's calls (0 Connect, 1 Release, 2 Read, 3 Write,
        // 4 Control, 5 ReadImplicit): refused for the interface, and named.
        for opnum in 0..=5u8 {
            let mut call = pn_lookup();
            call[24..40].copy_from_slice(&PNIO_DEVICE_LE);
            call[68] = opnum;
            let reason = refused(PROFINET, &call).reason;
            assert!(reason.contains("PNIO device interface"), "{reason}");
        }
        // Endpoint mapper insert and delete, and other operations.
        for opnum in [0u8, 1, 3, 4, 5, 6] {
            let mut op = pn_lookup();
            op[68] = opnum;
            refused(PROFINET, &op);
        }
        // Ping (1), a response (2), a fragment, big-endian, an object naming a device.
        for (at, value) in [
            (1usize, 1u8),
            (1, 2),
            (2, 0x24),
            (4, 0x00),
            (0, 5),
            (8, 0xde),
        ] {
            let mut bent = pn_lookup();
            bent[at] = value;
            refused(PROFINET, &bent);
        }
        // Lying fragment length, authentication, other inquiry types, a handle that
        // continues an enumeration, no or many entries, a longer datagram.
        for (at, value) in [
            (74usize, 0x4d),
            (78, 1),
            (80, 1),
            (80 + 52, 1),
            (80 + 72, 0),
            (80 + 72, 17),
        ] {
            let mut bent = pn_lookup();
            bent[at] = value;
            refused(PROFINET, &bent);
        }
        let mut longer = pn_lookup();
        longer.extend_from_slice(&[0; 4]);
        refused(PROFINET, &longer);
        refused(PROFINET, &pn_lookup()[..155]);
    }

    // ---- MELSEC

    /// A 3E request to the own station with `command`, `subcommand` and `data`.
    fn melsec_3e(command: u16, subcommand: u16, data: &[u8]) -> Vec<u8> {
        let length = u16::try_from(6 + data.len()).unwrap().to_le_bytes();
        let mut out = vec![
            0x50, 0x00, 0x00, 0xFF, 0xFF, 0x03, 0x00, length[0], length[1],
        ];
        out.extend_from_slice(&0x0010u16.to_le_bytes());
        out.extend_from_slice(&command.to_le_bytes());
        out.extend_from_slice(&subcommand.to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn melsec_read_cpu_model_name_is_accepted() {
        assert_eq!(
            accepted(MELSEC, &melsec_3e(0x0101, 0, &[])),
            Request::Melsec {
                command: 0x0101,
                subcommand: 0
            }
        );
        // Any monitoring timer.
        let mut no_timer = melsec_3e(0x0101, 0, &[]);
        no_timer[9..11].copy_from_slice(&[0, 0]);
        accepted(MELSEC, &no_timer);
    }

    #[test]
    fn melsec_near_misses_are_refused() {
        use crate::melsec::command as c;
        // Remote RUN/STOP/PAUSE/latch clear/RESET carry a mode word; writes carry devices.
        for (command, data) in [
            (c::REMOTE_RUN, &[0x01, 0x00, 0x00, 0x00][..]),
            (c::REMOTE_STOP, &[0x01, 0x00][..]),
            (c::REMOTE_PAUSE, &[0x01, 0x00][..]),
            (c::REMOTE_LATCH_CLEAR, &[0x01, 0x00][..]),
            (c::REMOTE_RESET, &[0x01, 0x00][..]),
            (
                c::BATCH_WRITE,
                &[0x64, 0x00, 0x00, 0xA8, 0x01, 0x00, 0x34, 0x12][..],
            ),
            (
                c::RANDOM_WRITE,
                &[0x01, 0x00, 0x64, 0x00, 0x00, 0xA8, 0x34, 0x12][..],
            ),
            (c::BATCH_READ, &[0x64, 0x00, 0x00, 0xA8, 0x01, 0x00][..]),
            (
                c::PASSWORD_UNLOCK,
                &[0x04, 0x00, b'a', b'b', b'c', b'd'][..],
            ),
            (c::PASSWORD_LOCK, &[0x04, 0x00, b'a', b'b', b'c', b'd'][..]),
            (c::LOOPBACK_TEST, &[0x02, 0x00, b'O', b'K'][..]),
        ] {
            refused(MELSEC, &melsec_3e(command, 0, data));
            // The same command without its data (15 bytes) is refused for its code alone.
            let reason = refused(MELSEC, &melsec_3e(command, 0, &[])).reason;
            assert!(reason.contains("not Read CPU Model Name"), "{reason}");
        }
        // Read CPU Model Name with another subcommand, extra data, a lying length, another
        // route, the 4E and ASCII frames.
        refused(MELSEC, &melsec_3e(0x0101, 0x0001, &[]));
        refused(MELSEC, &melsec_3e(0x0101, 0, &[0x00]));
        let mut lying = melsec_3e(0x0101, 0, &[]);
        lying[7] = 0x08;
        refused(MELSEC, &lying);
        let mut routed = melsec_3e(0x0101, 0, &[]);
        routed[2] = 0x01;
        refused(MELSEC, &routed);
        let mut four_e = vec![0x54, 0x00, 0x34, 0x12, 0x00, 0x00];
        four_e.extend_from_slice(&melsec_3e(0x0101, 0, &[])[2..]);
        refused(MELSEC, &four_e);
        refused(MELSEC, b"500000FF03FF000018001001010000");
        // A reply is not a request.
        let mut reply = melsec_3e(0x0101, 0, &[]);
        reply[0] = 0xD0;
        refused(MELSEC, &reply);
    }

    #[test]
    fn empty_and_one_byte_inputs_are_refused() {
        for label in PROTOCOLS {
            // The banner probes' one request is empty (they send nothing); every byte is
            // refused.
            if label == SSH {
                assert_eq!(accepted(label, &[]), Request::SshNothing);
            } else if label == FTP {
                assert_eq!(accepted(label, &[]), Request::FtpNothing);
            } else if label == TELNET {
                assert_eq!(
                    accepted(label, &[]),
                    Request::TelnetRefusals { wont: 0, dont: 0 }
                );
            } else {
                refused(label, &[]);
            }
            for byte in 0..=u8::MAX {
                refused(label, &[byte]);
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            label in prop::sample::select(&[MODBUS, ENIP, SNMP, BACNET, S7, OPCUA, FINS, FOX, MELSEC, ADS, HART, SSH, "raw"][..]),
            bytes in prop::collection::vec(any::<u8>(), 0..600),
        ) {
            if let Err(violation) = check(label, &bytes) {
                prop_assert_eq!(violation.protocol, label);
            }
        }

        /// Arbitrary bytes behind each protocol's valid header, so the checks go past it.
        #[test]
        fn arbitrary_bodies_never_panic(
            header in prop::sample::select(allowed()),
            cut in 0usize..32,
            tail in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let (label, bytes) = header;
            let keep = bytes.len().saturating_sub(cut);
            let _ = check(label, &[&bytes[..keep], &tail[..]].concat());
        }
    }

    #[test]
    fn http_get_only_and_its_near_misses() {
        let ok = "GET / HTTP/1.1\r\nHost: 10.0.0.5\r\nUser-Agent: otscan/0.1.0\r\nAccept: */*\r\nConnection: close\r\n\r\n";
        assert_eq!(
            check(HTTP, ok.as_bytes()),
            Ok(Request::HttpGet { path: "/".into() })
        );
        assert!(check(HTTP, ok.replace("GET / ", "GET /favicon.ico ").as_bytes()).is_ok());
        assert!(check(
            HTTP,
            ok.replace("GET / ", "GET /Portal/Portal.mwsl ").as_bytes()
        )
        .is_ok());
        let near_misses = [
            ok.replace("GET ", "POST "),
            ok.replace("GET ", "PUT "),
            ok.replace("GET ", "DELETE "),
            ok.replace("GET ", "HEAD "),
            ok.replace("GET / ", "GET /cgi-bin/reboot.cgi "),
            ok.replace("GET / ", "GET /config?save=1 "),
            ok.replace("GET / ", "GET /../etc/passwd "),
            ok.replace("GET / ", "GET http://10.0.0.5/ "),
            ok.replace("\r\n\r\n", "\r\nContent-Length: 4\r\n\r\nabcd"),
            format!("{ok}x=1"),
            ok.replace("Accept: */*", "Authorization: Basic YWRtaW46YWRtaW4="),
            ok.replace("Accept: */*", "Cookie: session=1"),
            ok.replace("Connection: close", "Connection: keep-alive"),
            ok.replace("Host: 10.0.0.5\r\n", ""),
            ok.replace("HTTP/1.1", "HTTP/1.0"),
            format!("{ok}{ok}"),
            ok.trim_end().to_owned(),
        ];
        for request in near_misses {
            assert!(check(HTTP, request.as_bytes()).is_err(), "{request:?}");
        }
    }
}
