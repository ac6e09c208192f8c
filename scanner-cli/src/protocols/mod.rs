//! Each protocol's `otscan scan` flags, in a struct of its own in a file of its own,
//! flattened into the scan arguments by [`ProbeArgs`]. The protocol-independent flags
//! (`--probes`, `--port NAME=N`) iterate the registry in scanner-core.

mod ads;
mod bacnet;
mod codesys;
mod enip;
mod fins;
mod fox;
mod ftp;
mod hart;
mod http;
mod https;
mod knx;
mod melsec;
mod modbus;
mod opcua;
mod profinet;
mod s7;
mod snmp;
mod ssh;
mod telnet;

use clap::Args;
use scanner_core::{ProbeConfig, Protocol, ProtocolConfigs};

/// What a protocol's flag struct does with its flags.
pub trait ProtocolArgs {
    /// The protocol's settings type in scanner-core.
    type Config: ProbeConfig;

    /// Applies the flags to the protocol's settings (defaults stay where no flag is given).
    fn apply(&self, config: &mut Self::Config);

    /// The flags' effective values as `--config` TOML lines, `(key, value)`; a secret
    /// is shown as a comment saying how many there are, never what they are.
    fn settings(&self) -> Vec<(&'static str, String)>;
}

/// Every protocol's flags.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub modbus: modbus::ModbusArgs,
    #[command(flatten)]
    pub enip: enip::EnipArgs,
    #[command(flatten)]
    pub s7: s7::S7Args,
    #[command(flatten)]
    pub bacnet: bacnet::BacnetArgs,
    #[command(flatten)]
    pub snmp: snmp::SnmpArgs,
    #[command(flatten)]
    pub fins: fins::FinsArgs,
    #[command(flatten)]
    pub melsec: melsec::MelsecArgs,
    #[command(flatten)]
    pub fox: fox::FoxArgs,
    #[command(flatten)]
    pub opcua: opcua::OpcuaArgs,
    #[command(flatten)]
    pub knx: knx::KnxArgs,
    #[command(flatten)]
    pub ads: ads::AdsArgs,
    #[command(flatten)]
    pub hart: hart::HartArgs,
    #[command(flatten)]
    pub profinet: profinet::ProfinetArgs,
    #[command(flatten)]
    pub codesys: codesys::CodesysArgs,
    #[command(flatten)]
    pub ssh: ssh::SshArgs,
    #[command(flatten)]
    pub ftp: ftp::FtpArgs,
    #[command(flatten)]
    pub telnet: telnet::TelnetArgs,
    #[command(flatten)]
    pub http: http::HttpArgs,
    #[command(flatten)]
    pub https: https::HttpsArgs,
}

impl ProbeArgs {
    /// Applies every protocol's flags to its settings.
    pub fn apply(&self, configs: &mut ProtocolConfigs) {
        // A match per registered protocol: a protocol added to the registry without its
        // flag struct here does not compile.
        for &protocol in Protocol::ALL {
            match protocol {
                Protocol::Modbus => self.modbus.apply(&mut configs.modbus),
                Protocol::Enip => self.enip.apply(&mut configs.enip),
                Protocol::S7 => self.s7.apply(&mut configs.s7),
                Protocol::Bacnet => self.bacnet.apply(&mut configs.bacnet),
                Protocol::Snmp => self.snmp.apply(&mut configs.snmp),
                Protocol::Fins => self.fins.apply(&mut configs.fins),
                Protocol::Melsec => self.melsec.apply(&mut configs.melsec),
                Protocol::Fox => self.fox.apply(&mut configs.fox),
                Protocol::Opcua => self.opcua.apply(&mut configs.opcua),
                Protocol::Knx => self.knx.apply(&mut configs.knx),
                Protocol::Ads => self.ads.apply(&mut configs.ads),
                Protocol::Hart => self.hart.apply(&mut configs.hart),
                Protocol::Profinet => self.profinet.apply(&mut configs.profinet),
                Protocol::Codesys => self.codesys.apply(&mut configs.codesys),
                Protocol::Ssh => self.ssh.apply(&mut configs.ssh),
                Protocol::Ftp => self.ftp.apply(&mut configs.ftp),
                Protocol::Telnet => self.telnet.apply(&mut configs.telnet),
                Protocol::Http => self.http.apply(&mut configs.http),
                Protocol::Https => self.https.apply(&mut configs.https),
            }
        }
    }

    /// Every protocol's effective settings as `--config` TOML lines, in registry order.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        Protocol::ALL
            .iter()
            .flat_map(|protocol| match protocol {
                Protocol::Modbus => self.modbus.settings(),
                Protocol::Enip => self.enip.settings(),
                Protocol::S7 => self.s7.settings(),
                Protocol::Bacnet => self.bacnet.settings(),
                Protocol::Snmp => self.snmp.settings(),
                Protocol::Fins => self.fins.settings(),
                Protocol::Melsec => self.melsec.settings(),
                Protocol::Fox => self.fox.settings(),
                Protocol::Opcua => self.opcua.settings(),
                Protocol::Knx => self.knx.settings(),
                Protocol::Ads => self.ads.settings(),
                Protocol::Hart => self.hart.settings(),
                Protocol::Profinet => self.profinet.settings(),
                Protocol::Codesys => self.codesys.settings(),
                Protocol::Ssh => self.ssh.settings(),
                Protocol::Ftp => self.ftp.settings(),
                Protocol::Telnet => self.telnet.settings(),
                Protocol::Http => self.http.settings(),
                Protocol::Https => self.https.settings(),
            })
            .collect()
    }
}

/// A TOML string literal.
fn quoted(s: &str) -> String {
    format!("{s:?}")
}
