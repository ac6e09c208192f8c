//! The protocol registry: every protocol otscan speaks, listed once in `registry!`.
//!
//! Each protocol lives in its own folder with the same files (see
//! `docs/adding-a-protocol.md`):
//!
//! - `mod.rs`: what the protocol is: default port, transports, request caps, its
//!   settings type (implementing [`ProbeConfig`]);
//! - `codec.rs`: sans IO: the protocol's closed `Request` enum, `encode`, the reply
//!   types, `parse`, one `ParseError`, framing; it reads bytes only through [`wire`];
//! - `details.rs`: the serde types that appear under `services[].details.<name>`;
//! - `probe.rs`: the request script over the paced session (`crate::session`),
//!   ending through the shared `ProbeEnd` in [`probe`];
//!
//! plus a file per sub-format where one exists (SNMP's BER, BACnet's tags, S7's COTP).
//!
//! Everything that must know every protocol (the [`Protocol`] enum, the record's
//! [`ServiceDetails`](crate::record::ServiceDetails), the per-protocol settings in
//! [`ProtocolConfigs`], the dispatch to each probe) is generated from the one list in
//! `registry!` (in this file), so adding a protocol is one line there.

pub mod ads;
pub mod bacnet;
pub mod codesys;
pub mod enip;
pub mod fins;
pub mod fox;
pub mod ftp;
pub mod hart;
pub mod http;
pub mod https;
pub mod knx;
pub mod melsec;
pub mod modbus;
pub mod opcua;
pub mod probe;
pub mod profinet;
pub mod s7;
pub mod snmp;
pub mod ssh;
pub mod telnet;
pub mod wire;

pub use probe::ProbeConfig;

use crate::record::fields::{Identity, Protocol, Transport};
use crate::record::ServiceObservation;
use crate::session::{DeviceSession, FirstPacket};

/// The list of protocols, in the default probe order (also [`Protocol`]'s order).
///
/// Each entry: doc comment, the [`Protocol`] variant, its folder under `protocols/`,
/// then `(name, settings type, details type, default = on)`: the lower-case name used in
/// records, `--probes` and `--port NAME=N`; the type in `mod.rs` implementing
/// [`ProbeConfig`]; the type in `details.rs` under `services[].details.<name>`; whether
/// the protocol is on the default probe list ([`Protocol::DEFAULT`]).
///
/// A protocol off the default list (`default = false`: the banner probes, which are not
/// identification requests of an industrial protocol) runs only when named in
/// `--probes` or with `--probes all`. Off-default entries come after every default one
/// (a compile-time check in [`Protocol`]), so the default list keeps the registry's order.
///
/// The order decides which protocol names a device's identity fields first when no
/// probe order is given: the device's own automation protocols come before SNMP, which
/// often describes only its network module.
///
/// `registry!(callback)` expands to `callback! { <the entries> }`; every module that
/// must cover each protocol defines such a callback instead of listing the protocols.
macro_rules! registry {
    ($callback:ident) => {
        $callback! {
            /// Modbus/TCP (port 502).
            Modbus => modbus("modbus", ModbusConfig, ModbusDetails, default = true),
            /// EtherNet/IP encapsulation (port 44818).
            Enip => enip("enip", EnipConfig, EnipDetails, default = true),
            /// Siemens S7comm over ISO-on-TCP (port 102).
            S7 => s7("s7", S7Config, S7Details, default = true),
            /// OPC UA over UA-TCP (port 4840): discovery over a SecurityPolicy None channel.
            Opcua => opcua("opcua", OpcuaConfig, OpcuaDetails, default = true),
            /// Omron FINS (UDP/TCP 9600).
            Fins => fins("fins", FinsConfig, FinsDetails, default = true),
            /// Niagara Fox (TCP 1911).
            Fox => fox("fox", FoxConfig, FoxDetails, default = true),
            /// Mitsubishi MELSEC SLMP / MC protocol 3E frame (TCP 5007, UDP 5006; per site).
            Melsec => melsec("melsec", MelsecConfig, MelsecDetails, default = true),
            /// KNXnet/IP (UDP 3671): the description service.
            Knx => knx("knx", KnxConfig, KnxDetails, default = true),
            /// Beckhoff ADS discovery (UDP 48899): the Identify request only.
            Ads => ads("ads", AdsConfig, AdsDetails, default = true),
            /// HART-IP (TCP 5094): session, commands 0, 20, 74 and 84, session close.
            Hart => hart("hart", HartConfig, HartDetails, default = true),
            /// PROFINET CM endpoint-mapper lookup (UDP 34964): the device's annotation.
            Profinet => profinet("profinet", ProfinetConfig, ProfinetDetails, default = true),
            /// CODESYS V3 NameService (UDP 1740): the resolve-address request only.
            Codesys => codesys("codesys", CodesysConfig, CodesysDetails, default = true),
            /// BACnet/IP (UDP 47808).
            Bacnet => bacnet("bacnet", BacnetConfig, BacnetDetails, default = true),
            /// SNMP (UDP 161).
            Snmp => snmp("snmp", SnmpConfig, SnmpDetails, default = true),
            /// SSH (TCP 22): the server's identification string, read; nothing sent.
            /// Off by default: not an industrial protocol (`--probes all`).
            Ssh => ssh("ssh", SshConfig, SshDetails, default = false),
            /// FTP (TCP 21): the server's greeting, read; nothing sent.
            /// Off by default: not an industrial protocol (`--probes all`).
            Ftp => ftp("ftp", FtpConfig, FtpDetails, default = false),
            /// Telnet (TCP 23): the banner read, every option refused; never a login.
            /// Off by default: not an industrial protocol (`--probes all`).
            Telnet => telnet("telnet", TelnetConfig, TelnetDetails, default = false),
            /// HTTP (TCP 80, or a list): one `GET /`, at most one same-host redirect.
            /// Off by default: not an industrial protocol (`--probes all`).
            Http => http("http", HttpConfig, HttpDetails, default = false),
            /// HTTPS (TCP 443, or a list): a TLS handshake (the certificate read, not
            /// verified) and the HTTP probe's `GET /` inside it.
            /// Off by default: not an industrial protocol (`--probes all`).
            Https => https("https", HttpsConfig, HttpsDetails, default = false),
        }
    };
}
pub(crate) use registry;

/// `probe::Warnings` for every registered protocol's details.
macro_rules! warnings_impls {
    ($( $(#[doc = $doc:tt])* $variant:ident => $module:ident($name:tt, $config:ident, $details:ident, default = $default:literal) ),* $(,)?) => {
        $(
            impl probe::Warnings for $module::details::$details {
                fn warnings_mut(&mut self) -> &mut Vec<String> {
                    &mut self.warnings
                }
            }
        )*
    };
}
registry!(warnings_impls);

macro_rules! protocol_configs {
    ($( $(#[doc = $doc:tt])* $variant:ident => $module:ident($name:tt, $config:ident, $details:ident, default = $default:literal) ),* $(,)?) => {
        /// Every probe's settings, one field per registered protocol (named like the
        /// protocol's folder), each with its documented safe defaults.
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
        pub struct ProtocolConfigs {
            $(
                $(#[doc = $doc])*
                pub $module: $module::$config,
            )*
        }

        impl ProtocolConfigs {
            /// The port `protocol`'s probe talks to.
            pub fn port(&self, protocol: Protocol) -> u16 {
                match protocol {
                    $(Protocol::$variant => self.$module.port(),)*
                }
            }

            /// Sets the port of `protocol`'s probe (`--port NAME=N`).
            pub fn set_port(&mut self, protocol: Protocol, port: u16) {
                match protocol {
                    $(Protocol::$variant => self.$module.set_port(port),)*
                }
            }

            /// Sets the ports `protocol`'s probe tries, in order (`--port NAME=N,N`):
            /// an error for a protocol that takes one port.
            pub fn set_ports(&mut self, protocol: Protocol, ports: &[u16]) -> Result<(), String> {
                match protocol {
                    $(Protocol::$variant => self.$module.set_ports(ports),)*
                }
            }

            /// `protocol`'s transports and ports as `--help` shows them.
            pub fn ports_text(&self, protocol: Protocol) -> String {
                match protocol {
                    $(Protocol::$variant => self.$module.ports_text(),)*
                }
            }

            /// The transports `protocol`'s probe uses, in order: one service
            /// observation each.
            pub fn transports(&self, protocol: Protocol) -> &'static [Transport] {
                match protocol {
                    $(Protocol::$variant => self.$module.transports(),)*
                }
            }

            /// Most packets `protocol`'s probe can put on the wire to one device
            /// (connection attempts and UDP retries included).
            pub fn max_requests(&self, protocol: Protocol, udp_retries: u32) -> u64 {
                match protocol {
                    $(Protocol::$variant => self.$module.max_requests(udp_retries),)*
                }
            }

            /// Fewest packets `protocol`'s probe puts on the wire to a device that
            /// answers nothing.
            pub fn min_requests(&self, protocol: Protocol, udp_retries: u32) -> u64 {
                match protocol {
                    $(Protocol::$variant => self.$module.min_requests(udp_retries),)*
                }
            }

            /// Checks `protocol`'s settings; the error is a one-line message that
            /// names the setting.
            pub fn validate(&self, protocol: Protocol) -> Result<(), String> {
                match protocol {
                    $(Protocol::$variant => self.$module.validate(),)*
                }
            }

            /// Lines `protocol` adds to the dry-run plan: (label, value).
            pub fn plan(&self, protocol: Protocol) -> Vec<(&'static str, String)> {
                match protocol {
                    $(Protocol::$variant => self.$module.plan(),)*
                }
            }

            /// `protocol`'s settings as canonical JSON, secrets reduced to what
            /// [`ProbeConfig`] says (e.g. SNMP: how many communities, never which): the
            /// part of a resumable scan's fingerprint that this protocol decides. Every
            /// field of the settings type is in it unless the type leaves it out, so a
            /// new setting cannot be forgotten.
            pub fn fingerprint(&self, protocol: Protocol) -> String {
                match protocol {
                    $(Protocol::$variant => serde_json::to_string(&self.$module),)*
                }
                .unwrap_or_default()
            }

            /// `protocol`'s first packet on each of its transports (see
            /// [`RunProbe::first_packets`](probe::RunProbe::first_packets)).
            pub(crate) fn first_packets(
                &self,
                protocol: Protocol,
                ip: std::net::IpAddr,
            ) -> Vec<FirstPacket> {
                use probe::RunProbe;
                match protocol {
                    $(Protocol::$variant => self.$module.first_packets(ip),)*
                }
            }

            /// Whether `protocol`'s first packets may differ between targets (see
            /// [`RunProbe::FIRST_PACKETS_VARY`](probe::RunProbe::FIRST_PACKETS_VARY)).
            pub(crate) fn first_packets_vary(&self, protocol: Protocol) -> bool {
                fn vary<P: probe::RunProbe>(_: &P) -> bool {
                    P::FIRST_PACKETS_VARY
                }
                match protocol {
                    $(Protocol::$variant => vary(&self.$module),)*
                }
            }

            /// Runs `protocol`'s probe against the session's device.
            pub(crate) async fn probe(
                &self,
                protocol: Protocol,
                session: &mut DeviceSession,
            ) -> Vec<(ServiceObservation, Identity)> {
                use probe::RunProbe;
                match protocol {
                    // Boxed: the device's future then holds a pointer, not the largest
                    // probe's state inline (17 KB per device before, copied on every start).
                    $(Protocol::$variant => Box::pin(self.$module.probe(session)).await,)*
                }
            }
        }
    };
}
registry!(protocol_configs);

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! debug_of {
        ($( $(#[doc = $doc:tt])* $variant:ident => $module:ident($name:tt, $config:ident, $details:ident, default = $default:literal) ),* $(,)?) => {
            /// `protocol`'s settings as `Debug` renders them.
            fn debug_of(configs: &ProtocolConfigs, protocol: Protocol) -> String {
                match protocol {
                    $(Protocol::$variant => format!("{:?}", configs.$module),)*
                }
            }
        };
    }
    registry!(debug_of);

    /// The top-level field names of a struct's `Debug` text, `Name { a: 1, b: [2] }`.
    fn debug_fields(text: &str) -> Vec<String> {
        let mut fields = Vec::new();
        let mut depth = 0usize;
        let mut word = String::new();
        for c in text.chars() {
            match c {
                '{' | '[' | '(' => {
                    depth += 1;
                    word.clear();
                }
                '}' | ']' | ')' => depth = depth.saturating_sub(1),
                ':' if depth == 1 && !word.is_empty() => fields.push(std::mem::take(&mut word)),
                ',' if depth == 1 => word.clear(),
                c if depth == 1 && (c.is_alphanumeric() || c == '_') => word.push(c),
                _ => {}
            }
        }
        fields
    }

    /// Every field of every protocol's settings, flags or not, is part of the resumable
    /// scan's fingerprint (as a key of its JSON), so no setting can be left out of it.
    #[test]
    fn every_setting_of_every_protocol_is_in_its_fingerprint() {
        let configs = ProtocolConfigs::default();
        for &protocol in Protocol::ALL {
            let fields = debug_fields(&debug_of(&configs, protocol));
            // At least one field (KNXnet/IP has only its port): an empty list would mean
            // the Debug text was not read.
            assert!(!fields.is_empty(), "{protocol}: {fields:?}");
            let json: serde_json::Value =
                serde_json::from_str(&configs.fingerprint(protocol)).unwrap();
            let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
            for field in &fields {
                assert!(
                    keys.contains(&field),
                    "{protocol}: setting {field} is not in the fingerprint {json}"
                );
            }
        }
    }

    #[test]
    fn secrets_are_counted_not_written() {
        let mut configs = ProtocolConfigs::default();
        configs.snmp.communities = vec![b"s3cr3t".to_vec(), b"other".to_vec()];
        let text = configs.fingerprint(Protocol::Snmp);
        assert!(!text.contains("s3cr3t") && !text.contains("115"), "{text}");
        assert!(text.contains("\"communities\":2"), "{text}");
    }

    #[test]
    fn registry_names_round_trip() {
        for &protocol in Protocol::ALL {
            assert_eq!(Protocol::from_name(protocol.name()), Some(protocol));
            assert_eq!(
                Protocol::from_name(&format!(" {} ", protocol.name().to_uppercase())),
                Some(protocol)
            );
            assert_eq!(Protocol::ALL[protocol.index()], protocol);
            let details = ProtocolConfigs::default().transports(protocol);
            assert!(!details.is_empty(), "{protocol} has a transport");
        }
        assert_eq!(Protocol::from_name("gopher"), None);
    }

    /// The engine asks a probe for its first packets once per scan unless it says they
    /// vary (`RunProbe::FIRST_PACKETS_VARY`): a probe that says they do not must give the
    /// same packets for any target, IPv4 or IPv6 (a new probe that names the target in
    /// its first packet and forgets the flag fails here).
    #[test]
    fn first_packets_that_do_not_vary_are_the_same_for_every_target() {
        let configs = ProtocolConfigs::default();
        let targets: [std::net::IpAddr; 3] = [
            "10.20.0.7".parse().unwrap(),
            "192.168.1.200".parse().unwrap(),
            "fd00::17".parse().unwrap(),
        ];
        let mut varying = Vec::new();
        for &protocol in Protocol::ALL {
            if configs.first_packets_vary(protocol) {
                varying.push(protocol);
                continue;
            }
            let first = configs.first_packets(protocol, targets[0]);
            for ip in &targets[1..] {
                assert_eq!(
                    configs.first_packets(protocol, *ip),
                    first,
                    "{protocol}'s first packets differ for {ip}"
                );
            }
        }
        assert_eq!(varying, [Protocol::Ads, Protocol::Codesys]);
    }
}
