//! A simulated plant: many devices on loopback addresses from one description, sharing one
//! recorder. Tests assert against the spec's own values, so its fields are public.

use std::{
    io,
    net::{Ipv4Addr, SocketAddr},
};

use crate::{
    ads::{self, AdsDevice, AdsDeviceConfig, AdsOs},
    bacnet::{self, BacnetDevice, BacnetDeviceConfig, BacnetRefusal, BacnetString},
    banner::{self, BannerDevice, BannerDeviceConfig, BannerEnd},
    codesys::{self, CodesysDevice, CodesysDeviceConfig},
    device::{DeviceHandle, SilentTcpDevice},
    enip::{self, EnipDevice, EnipDeviceConfig},
    fins::{self, FinsAreaData, FinsDevice, FinsDeviceConfig, FinsTransports},
    fox::{self, FoxBehaviour, FoxDevice, FoxDeviceConfig},
    hart::{self, HartDevice, HartDeviceConfig, HartSubDevice},
    hostile::{HostileDevice, HostileEndpoint, HostileService},
    knx::{self, KnxDevice, KnxDeviceConfig},
    melsec::{self, MelsecDevice, MelsecDeviceConfig},
    modbus::{
        object_id as obj, ModbusDevice, ModbusDeviceConfig, ModbusQuirk, OtherUnitIds,
        RdiBehaviour, UnitIdPolicy,
    },
    opcua::{self, OpcuaBehaviour, OpcuaServer, OpcuaServerConfig, UaApplication, UaEndpoint},
    profinet::{self, ProfinetDevice, ProfinetDeviceConfig},
    recorder::{Framing, Recorder},
    s7::{
        self, component_index as ci, S7Behaviour, S7Device, S7DeviceConfig, S7Quirk, TsapRefusal,
    },
    snmp::{
        self, engine_id, mib, EntityRow, SnmpAgent, SnmpAgentConfig, SnmpBehaviour, SnmpValue,
        SnmpVersions,
    },
    web::{self, CertificateSpec, LegacyTlsConfig, WebDevice, WebDeviceConfig, WebResponse},
};

/// One simulated device: an address and the services it runs. Every service is optional, so a
/// protocol added later is one more field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceSpec {
    /// The device's address, in 127.0.0.0/8.
    pub ip: Ipv4Addr,
    /// A short unique name, for messages and lookups.
    pub name: String,
    /// A Modbus/TCP server on this port.
    pub modbus: Option<(u16, ModbusDeviceConfig)>,
    /// An EtherNet/IP device on this port, TCP and UDP as its config says.
    pub enip: Option<(u16, EnipDeviceConfig)>,
    /// A TCP port that accepts connections and never answers.
    pub silent_tcp: Option<u16>,
    /// An SNMP agent on this UDP port.
    pub snmp: Option<(u16, SnmpAgentConfig)>,
    /// A BACnet/IP device on this UDP port.
    pub bacnet: Option<(u16, BacnetDeviceConfig)>,
    /// An S7 CPU on this TCP port (ISO-on-TCP).
    pub s7: Option<(u16, S7DeviceConfig)>,
    /// An OPC UA server on this TCP port (UA-TCP).
    pub opcua: Option<(u16, OpcuaServerConfig)>,
    /// A MELSEC CPU on this port (SLMP 3E, TCP and/or UDP as its config says).
    pub melsec: Option<(u16, MelsecDeviceConfig)>,
    /// A Niagara station speaking Fox on this TCP port.
    pub fox: Option<(u16, FoxDeviceConfig)>,
    /// Hostile or fragile services (see [`crate::hostile`]).
    pub hostile: Vec<HostileService>,
    /// An Omron PLC speaking FINS on this port (UDP and TCP as its config says).
    pub fins: Option<(u16, FinsDeviceConfig)>,
    /// A KNXnet/IP interface or router on this UDP port.
    pub knx: Option<(u16, KnxDeviceConfig)>,
    /// A TwinCAT system answering ADS discovery on this UDP port.
    pub ads: Option<(u16, AdsDeviceConfig)>,
    /// A HART-IP server (field instrument or I/O system) on this TCP port.
    pub hart: Option<(u16, HartDeviceConfig)>,
    /// A PROFINET device's endpoint mapper on this UDP port.
    pub profinet: Option<(u16, ProfinetDeviceConfig)>,
    /// A CODESYS V3 runtime answering the NameService on this UDP port.
    pub codesys: Option<(u16, CodesysDeviceConfig)>,
    /// An SSH server on this TCP port (its greeting only, see [`crate::banner`]).
    pub ssh: Option<(u16, BannerDeviceConfig)>,
    /// An FTP server on this TCP port (its greeting only, see [`crate::banner`]).
    pub ftp: Option<(u16, BannerDeviceConfig)>,
    /// A telnet server on this TCP port (its banner only, see [`crate::banner`]).
    pub telnet: Option<(u16, BannerDeviceConfig)>,
    /// A web server (plain HTTP) on this TCP port (see [`crate::web`]).
    pub http: Option<(u16, WebDeviceConfig)>,
    /// A web server over TLS on this TCP port, with a certificate made from the spec.
    pub https: Option<(u16, WebDeviceConfig, CertificateSpec)>,
    /// A TLS server rustls cannot talk to (TLS 1.0 only, ...) on this TCP port.
    pub legacy_tls: Option<(u16, LegacyTlsConfig)>,
}

impl DeviceSpec {
    /// True when the device has a well-behaved simulated server of the protocol named
    /// `protocol` (as otscan names it: `"modbus"`, `"enip"`, `"snmp"`, `"bacnet"`, `"s7"`).
    pub fn serves(&self, protocol: &str) -> bool {
        match protocol {
            "modbus" => self.modbus.is_some(),
            "enip" => self.enip.is_some(),
            "snmp" => self.snmp.is_some(),
            "bacnet" => self.bacnet.is_some(),
            "s7" => self.s7.is_some(),
            "opcua" => self.opcua.is_some(),
            "melsec" => self.melsec.is_some(),
            "fins" => self.fins.is_some(),
            "fox" => self.fox.is_some(),
            "knx" => self.knx.is_some(),
            "ads" => self.ads.is_some(),
            "hart" => self.hart.is_some(),
            "profinet" => self.profinet.is_some(),
            "codesys" => self.codesys.is_some(),
            "ssh" => self.ssh.is_some(),
            "ftp" => self.ftp.is_some(),
            "telnet" => self.telnet.is_some(),
            "http" => self.http.is_some(),
            "https" => self.https.is_some() || self.legacy_tls.is_some(),
            _ => false,
        }
    }

    /// A device with no services yet.
    pub fn new(ip: Ipv4Addr, name: impl Into<String>) -> Self {
        Self {
            ip,
            name: name.into(),
            modbus: None,
            enip: None,
            silent_tcp: None,
            snmp: None,
            bacnet: None,
            s7: None,
            opcua: None,
            melsec: None,
            fox: None,
            hostile: Vec::new(),
            fins: None,
            knx: None,
            ads: None,
            hart: None,
            profinet: None,
            codesys: None,
            ssh: None,
            ftp: None,
            telnet: None,
            http: None,
            https: None,
            legacy_tls: None,
        }
    }

    /// Adds a hostile or fragile service.
    #[must_use]
    pub fn with_hostile(mut self, service: HostileService) -> Self {
        self.hostile.push(service);
        self
    }

    /// Adds a Modbus/TCP server.
    #[must_use]
    pub fn with_modbus(mut self, port: u16, config: ModbusDeviceConfig) -> Self {
        self.modbus = Some((port, config));
        self
    }

    /// Adds an EtherNet/IP device.
    #[must_use]
    pub fn with_enip(mut self, port: u16, config: EnipDeviceConfig) -> Self {
        self.enip = Some((port, config));
        self
    }

    /// Adds an SNMP agent.
    #[must_use]
    pub fn with_snmp(mut self, port: u16, config: SnmpAgentConfig) -> Self {
        self.snmp = Some((port, config));
        self
    }

    /// Adds a BACnet/IP device.
    #[must_use]
    pub fn with_bacnet(mut self, port: u16, config: BacnetDeviceConfig) -> Self {
        self.bacnet = Some((port, config));
        self
    }

    /// Adds an S7 CPU.
    #[must_use]
    pub fn with_s7(mut self, port: u16, config: S7DeviceConfig) -> Self {
        self.s7 = Some((port, config));
        self
    }

    /// Adds a MELSEC CPU.
    #[must_use]
    pub fn with_melsec(mut self, port: u16, config: MelsecDeviceConfig) -> Self {
        self.melsec = Some((port, config));
        self
    }

    /// Adds an Omron PLC speaking FINS.
    #[must_use]
    pub fn with_fins(mut self, port: u16, config: FinsDeviceConfig) -> Self {
        self.fins = Some((port, config));
        self
    }

    /// Adds a KNXnet/IP interface or router.
    #[must_use]
    pub fn with_knx(mut self, port: u16, config: KnxDeviceConfig) -> Self {
        self.knx = Some((port, config));
        self
    }

    /// Adds an SSH server (its greeting; see [`crate::banner`]).
    #[must_use]
    pub fn with_ssh(mut self, port: u16, config: BannerDeviceConfig) -> Self {
        self.ssh = Some((port, config));
        self
    }

    /// Adds an FTP server (its greeting; see [`crate::banner`]).
    #[must_use]
    pub fn with_ftp(mut self, port: u16, config: BannerDeviceConfig) -> Self {
        self.ftp = Some((port, config));
        self
    }

    /// Adds a web server speaking plain HTTP (see [`crate::web`]).
    #[must_use]
    pub fn with_http(mut self, port: u16, config: WebDeviceConfig) -> Self {
        self.http = Some((port, config));
        self
    }

    /// Adds a web server over TLS (see [`crate::web`]).
    #[must_use]
    pub fn with_https(
        mut self,
        port: u16,
        config: WebDeviceConfig,
        certificate: CertificateSpec,
    ) -> Self {
        self.https = Some((port, config, certificate));
        self
    }

    /// Adds a legacy TLS server (see [`crate::web::LegacyTlsConfig`]).
    #[must_use]
    pub fn with_legacy_tls(mut self, port: u16, config: LegacyTlsConfig) -> Self {
        self.legacy_tls = Some((port, config));
        self
    }

    /// Adds a telnet server (its banner; see [`crate::banner`]).
    #[must_use]
    pub fn with_telnet(mut self, port: u16, config: BannerDeviceConfig) -> Self {
        self.telnet = Some((port, config));
        self
    }

    /// Adds a Niagara station speaking Fox.
    #[must_use]
    pub fn with_fox(mut self, port: u16, config: FoxDeviceConfig) -> Self {
        self.fox = Some((port, config));
        self
    }

    /// Adds a TwinCAT system answering ADS discovery.
    #[must_use]
    pub fn with_ads(mut self, port: u16, config: AdsDeviceConfig) -> Self {
        self.ads = Some((port, config));
        self
    }

    /// Adds a HART-IP server.
    #[must_use]
    pub fn with_hart(mut self, port: u16, config: HartDeviceConfig) -> Self {
        self.hart = Some((port, config));
        self
    }

    /// Adds a PROFINET device's endpoint mapper.
    #[must_use]
    pub fn with_profinet(mut self, port: u16, config: ProfinetDeviceConfig) -> Self {
        self.profinet = Some((port, config));
        self
    }

    /// Adds a CODESYS V3 runtime answering the NameService.
    #[must_use]
    pub fn with_codesys(mut self, port: u16, config: CodesysDeviceConfig) -> Self {
        self.codesys = Some((port, config));
        self
    }

    /// Adds an OPC UA server.
    #[must_use]
    pub fn with_opcua(mut self, port: u16, config: OpcuaServerConfig) -> Self {
        self.opcua = Some((port, config));
        self
    }

    /// Adds a TCP port that never answers.
    #[must_use]
    pub fn with_silent_tcp(mut self, port: u16) -> Self {
        self.silent_tcp = Some(port);
        self
    }
}

/// The devices of a plant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlantSpec {
    /// The devices, in address order for the built-in plants.
    pub devices: Vec<DeviceSpec>,
}

/// The ports of [`PlantSpec::plant`]: one per protocol, shared by every device speaking it.
/// Port 0 gives every service its own free port ([`PlantPorts::EPHEMERAL`]).
///
/// Tests and examples take a [`PlantPorts::block`] of consecutive ports each, so they list no
/// protocol by name and a new protocol needs a field here only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlantPorts {
    /// Modbus/TCP port.
    pub modbus: u16,
    /// EtherNet/IP port, TCP and UDP.
    pub enip: u16,
    /// SNMP agent port, UDP.
    pub snmp: u16,
    /// BACnet/IP port, UDP.
    pub bacnet: u16,
    /// S7 (ISO-on-TCP) port, TCP.
    pub s7: u16,
    /// OPC UA (UA-TCP) port, TCP.
    pub opcua: u16,
    /// Omron FINS port, UDP and TCP.
    pub fins: u16,
    /// Niagara Fox port, TCP.
    pub fox: u16,
    /// MELSEC (SLMP 3E) port, TCP and UDP.
    pub melsec: u16,
    /// KNXnet/IP port, UDP.
    pub knx: u16,
    /// Beckhoff ADS discovery port, UDP.
    pub ads: u16,
    /// HART-IP port, TCP.
    pub hart: u16,
    /// PROFINET CM (endpoint mapper) port, UDP.
    pub profinet: u16,
    /// CODESYS V3 NameService port, UDP.
    pub codesys: u16,
    /// SSH port, TCP.
    pub ssh: u16,
    /// FTP control port, TCP.
    pub ftp: u16,
    /// Telnet port, TCP.
    pub telnet: u16,
    /// HTTP port, TCP.
    pub http: u16,
    /// HTTPS port, TCP.
    pub https: u16,
}

impl Default for PlantPorts {
    /// The registered ports, 502, 44818, 161, 47808, 102, 4840, 9600, 1911, 48899 (ADS) and
    /// 5094 (HART-IP), 34964 (PROFINET CM),
    /// 5007, MELSEC's common one, and 1741 for CODESYS (see [`PlantPorts::UNPRIVILEGED`]).
    fn default() -> Self {
        Self {
            modbus: 502,
            enip: enip::PORT,
            snmp: snmp::PORT,
            bacnet: bacnet::PORT,
            s7: s7::PORT,
            opcua: opcua::PORT,
            fins: fins::PORT,
            fox: fox::PORT,
            melsec: melsec::PORT,
            knx: knx::PORT,
            ads: ads::PORT,
            hart: hart::PORT,
            profinet: profinet::PORT,
            // 1741, a runtime of port index 1: 1740 is otscan's reply port on the
            // scanning host, which a simulated runtime there would hold.
            codesys: codesys::PORT + 1,
            ssh: banner::SSH_PORT,
            ftp: banner::FTP_PORT,
            telnet: banner::TELNET_PORT,
            http: web::HTTP_PORT,
            https: web::HTTPS_PORT,
        }
    }
}

impl PlantPorts {
    /// Ports below 1024 avoided, so the demo runs without privileges: Modbus 5020,
    /// EtherNet/IP 44818, SNMP 1161, BACnet/IP 47808, S7 10102, OPC UA 4840, FINS 9600, Fox 1911, MELSEC 5007,
    /// KNXnet/IP 3671, ADS 48899, HART-IP 5094, PROFINET 34964, CODESYS 1741 (a runtime of port index 1: otscan's
    /// probe receives its replies on UDP 1740 of the scanning host, which a runtime
    /// listening there would hold, as on a real host).
    pub const UNPRIVILEGED: PlantPorts = PlantPorts {
        modbus: 5020,
        enip: 44818,
        snmp: 1161,
        bacnet: 47808,
        s7: 10102,
        opcua: 4840,
        fins: 9600,
        fox: 1911,
        melsec: 5007,
        knx: 3671,
        ads: 48899,
        hart: 5094,
        profinet: 34964,
        codesys: 1741,
        ssh: 2222,
        ftp: 2121,
        telnet: 2323,
        http: 8080,
        https: 8443,
    };

    /// Port 0 for every protocol: each service binds its own free port.
    pub const EPHEMERAL: PlantPorts = PlantPorts::block_of(0, 0);

    /// How many ports a [`PlantPorts::block`] spans: one per protocol, with room for the
    /// protocols to come, so blocks `BLOCK` apart never overlap.
    pub const BLOCK: u16 = 32;

    /// Consecutive ports from `first`, one per protocol in registry order (Modbus `first`,
    /// EtherNet/IP `first + 1`, SNMP `+ 2`, BACnet/IP `+ 3`, S7 `+ 4`, FINS `+ 6`, Fox `+ 7`, ...). Each test or
    /// example that starts a plant takes its own block, [`PlantPorts::BLOCK`] ports apart
    /// from every other one, so runs in parallel never share a port.
    ///
    /// # Panics
    /// In const evaluation (or at run time) when the block would pass port 65535.
    pub const fn block(first: u16) -> PlantPorts {
        assert!(
            first as u32 + Self::BLOCK as u32 <= 65536,
            "port block passes 65535"
        );
        PlantPorts::block_of(first, 1)
    }

    /// `first + index * step` for each protocol, by its index in registry order.
    const fn block_of(first: u16, step: u16) -> PlantPorts {
        PlantPorts {
            modbus: first,
            enip: first + step,
            snmp: first + 2 * step,
            bacnet: first + 3 * step,
            s7: first + 4 * step,
            opcua: first + 5 * step,
            fins: first + 6 * step,
            fox: first + 7 * step,
            melsec: first + 8 * step,
            knx: first + 9 * step,
            ads: first + 10 * step,
            hart: first + 11 * step,
            profinet: first + 12 * step,
            codesys: first + 13 * step,
            ssh: first + 14 * step,
            ftp: first + 15 * step,
            telnet: first + 16 * step,
            http: first + 17 * step,
            https: first + 18 * step,
        }
    }

    /// Every protocol the plant has devices for, as otscan names it (`"modbus"`, `"enip"`,
    /// ...), with its port, in registry order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u16)> {
        // Destructured without `..`: a new field fails to compile until it is listed here.
        let PlantPorts {
            modbus,
            enip,
            snmp,
            bacnet,
            s7,
            opcua,
            fins,
            fox,
            melsec,
            knx,
            ads,
            hart,
            profinet,
            codesys,
            ssh,
            ftp,
            telnet,
            http,
            https,
        } = *self;
        [
            ("modbus", modbus),
            ("enip", enip),
            ("snmp", snmp),
            ("bacnet", bacnet),
            ("s7", s7),
            ("opcua", opcua),
            ("fins", fins),
            ("fox", fox),
            ("melsec", melsec),
            ("knx", knx),
            ("ads", ads),
            ("hart", hart),
            ("profinet", profinet),
            ("codesys", codesys),
            ("ssh", ssh),
            ("ftp", ftp),
            ("telnet", telnet),
            ("http", http),
            ("https", https),
        ]
        .into_iter()
    }

    /// The port of the protocol named `protocol` (as otscan names it: `"modbus"`,
    /// `"enip"`, `"snmp"`, `"bacnet"`, `"s7"`, ...); `None` for a protocol the plant has no
    /// devices for.
    pub fn get(&self, protocol: &str) -> Option<u16> {
        self.iter()
            .find(|&(name, _)| name == protocol)
            .map(|(_, port)| port)
    }

    /// Sets the port of the protocol named `protocol`; false for a protocol the plant
    /// has no devices for.
    pub fn set(&mut self, protocol: &str, port: u16) -> bool {
        let PlantPorts {
            modbus,
            enip,
            snmp,
            bacnet,
            s7,
            opcua,
            fins,
            fox,
            melsec,
            knx,
            ads,
            hart,
            profinet,
            codesys,
            ssh,
            ftp,
            telnet,
            http,
            https,
        } = self;
        let slot = match protocol {
            "modbus" => modbus,
            "enip" => enip,
            "snmp" => snmp,
            "bacnet" => bacnet,
            "s7" => s7,
            "opcua" => opcua,
            "fins" => fins,
            "fox" => fox,
            "melsec" => melsec,
            "knx" => knx,
            "ads" => ads,
            "hart" => hart,
            "profinet" => profinet,
            "codesys" => codesys,
            "ssh" => ssh,
            "ftp" => ftp,
            "telnet" => telnet,
            "http" => http,
            "https" => https,
            _ => return false,
        };
        *slot = port;
        true
    }
}

/// Host `host` in the /24 that contains `base`.
fn host(base: Ipv4Addr, host: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(base) & !0xFF | u32::from(host))
}

impl PlantSpec {
    /// The device called `name`.
    pub fn device(&self, name: &str) -> Option<&DeviceSpec> {
        self.devices.iter().find(|d| d.name == name)
    }

    /// A small plant on the /24 containing `base` (hosts .10 to .18), every Modbus server on
    /// `modbus_port`, the silent device too. The identities are plausible but marked simulated
    /// wherever an object allows it:
    ///
    /// | host | name | behaviour |
    /// |------|------|-----------|
    /// | .10 | `plc-m340` | Schneider-like PLC, regular objects, conformity 0x82, any unit id, FC 0x11 too |
    /// | .11 | `coupler-750` | Wago-like coupler, conformity 0x82, two objects per page |
    /// | .12 | `gateway-meter` | gateway: unit 1 is a power meter, other ids get exception 0x0B |
    /// | .13 | `drive-unit0` | drive answering only unit 0, silent for other ids (libmodbus-like) |
    /// | .14 | `basic-io` | basic objects only, conformity 0x01 |
    /// | .15 | `plc-m580` | extended conformity 0x83, vendor objects 0x80 (text) and 0x81 (binary) |
    /// | .16 | `legacy-plc` | FC 0x2B gets exception 01, FC 0x11 answers |
    /// | .17 | `odd-conformity` | replies carry conformity byte 0x04 |
    /// | .18 | `silent-hmi` | accepts TCP on `modbus_port`, never answers |
    /// | .19 | `count-one-short` | Phoenix-like controller, conformity 0x82, every page's object count byte one short of the objects it carries |
    pub fn demo(base: Ipv4Addr, modbus_port: u16) -> Self {
        let port = modbus_port;
        let devices = vec![
            DeviceSpec::new(host(base, 10), "plc-m340").with_modbus(
                port,
                ModbusDeviceConfig::new("Schneider Electric", "BMX P34 2020", "v3.10")
                    .with_object(obj::VENDOR_URL, "http://www.se.com")
                    .with_object(obj::PRODUCT_NAME, "Modicon M340")
                    .with_object(obj::MODEL_NAME, "BMX P34 2020")
                    .with_object(obj::USER_APPLICATION_NAME, "LINE1_FILLER (simulated)")
                    .with_conformity_level(0x82)
                    .with_report_server_id(0x01, true, "BMX P34 2020 (simulated)"),
            ),
            DeviceSpec::new(host(base, 11), "coupler-750").with_modbus(
                port,
                ModbusDeviceConfig::new("WAGO", "750-362", "03.09.04(11)")
                    .with_object(obj::VENDOR_URL, "http://www.wago.com")
                    .with_object(obj::PRODUCT_NAME, "Fieldbus Coupler Modbus TCP")
                    .with_object(obj::MODEL_NAME, "750-362")
                    .with_object(obj::USER_APPLICATION_NAME, "simulated coupler")
                    .with_conformity_level(0x82)
                    .with_max_objects_per_page(2),
            ),
            DeviceSpec::new(host(base, 12), "gateway-meter").with_modbus(
                port,
                ModbusDeviceConfig::new("Schneider Electric", "METSEPM5560", "v2.7.4")
                    .with_object(obj::PRODUCT_NAME, "PowerLogic PM5560")
                    .with_object(obj::MODEL_NAME, "PM5560 (simulated, via gateway)")
                    .with_conformity_level(0x82)
                    .with_unit_ids(UnitIdPolicy::only([1], OtherUnitIds::GatewayTargetFailed)),
            ),
            DeviceSpec::new(host(base, 13), "drive-unit0").with_modbus(
                port,
                ModbusDeviceConfig::new("ABB", "ACS580-01", "2.15.0.1")
                    .with_object(obj::PRODUCT_NAME, "ACS580 drive (simulated)")
                    .with_conformity_level(0x02)
                    .with_unit_ids(UnitIdPolicy::only([0], OtherUnitIds::Silent)),
            ),
            DeviceSpec::new(host(base, 14), "basic-io").with_modbus(
                port,
                ModbusDeviceConfig::new("Phoenix Contact", "2701916 SIM", "1.23")
                    .with_conformity_level(0x01),
            ),
            DeviceSpec::new(host(base, 15), "plc-m580").with_modbus(
                port,
                ModbusDeviceConfig::new("Schneider Electric", "BME P58 2040", "v4.02")
                    .with_object(obj::VENDOR_URL, "http://www.se.com")
                    .with_object(obj::PRODUCT_NAME, "Modicon M580")
                    .with_object(obj::MODEL_NAME, "BME P58 2040")
                    .with_object(obj::USER_APPLICATION_NAME, "BOILER_HOUSE (simulated)")
                    .with_object(0x80, "SN SIM-580-000042")
                    .with_object(0x81, [0x00, 0x80, 0xF4, 0x5A, 0x00, 0x2A])
                    .with_conformity_level(0x83),
            ),
            DeviceSpec::new(host(base, 16), "legacy-plc").with_modbus(
                port,
                ModbusDeviceConfig::default()
                    .with_read_device_id(RdiBehaviour::IllegalFunction)
                    .with_report_server_id(0x0A, true, "140 CPU 651 60 (simulated)"),
            ),
            DeviceSpec::new(host(base, 17), "odd-conformity").with_modbus(
                port,
                ModbusDeviceConfig::new("Simulated Meters Inc.", "SM-300", "0.9.1")
                    .with_quirk(ModbusQuirk::UnknownConformity(0x04)),
            ),
            DeviceSpec::new(host(base, 18), "silent-hmi").with_silent_tcp(port),
            DeviceSpec::new(host(base, 19), "count-one-short").with_modbus(
                port,
                ModbusDeviceConfig::new("Phoenix Contact (simulated)", "AXC F 2152", "2023.0.8")
                    .with_object(
                        crate::modbus::object_id::PRODUCT_NAME,
                        "AXC F 2152 (simulated)",
                    )
                    .with_object(crate::modbus::object_id::MODEL_NAME, "2404267")
                    .with_conformity_level(0x82)
                    .with_quirk(ModbusQuirk::CountOneShort),
            ),
        ];
        Self { devices }
    }

    /// The full mixed plant on the /24 containing `base`: every device of
    /// [`PlantSpec::demo`]`(base, ports.modbus)`, with `plc-m580` also speaking EtherNet/IP and
    /// SNMP, plus EtherNet/IP-only devices on hosts .20 to .26, every one on `ports.enip` over TCP
    /// and UDP, SNMP-only devices on hosts .30 to .35, every agent on UDP `ports.snmp`, BACnet/IP
    /// devices on hosts .40 to .45, S7 CPUs on hosts .50 to .57 (the S7-300 at .50 with an SNMP
    /// agent too, one device that a scanner must merge into one record), OPC UA servers on
    /// hosts .60 to .64 (the S7-1500 at .60 also speaking S7, the gateway at .64 Modbus) and
    /// Niagara stations speaking Fox on hosts .80 to .84 (the JACE at .80 with BACnet/IP too).
    /// Identities are realistic (it is all loopback); EtherNet/IP numbers are vendor id, CIP
    /// device type, product code, revision, status word, serial and state:
    ///
    /// | host | name | protocols | EtherNet/IP identity |
    /// |------|------|-----------|----------------------|
    /// | .10-.14, .16-.18 | as in [`PlantSpec::demo`] | Modbus (.18 silent) | none |
    /// | .15 | `plc-m580` | Modbus + EtherNet/IP | Schneider M580: vendor 243, type 0x0E, code 2052, rev 4.2, status 0x0030, serial 0x5A00002A, "BMEP58 2040", state 3 |
    /// | .20 | `plc-l61` | EtherNet/IP | ControlLogix: vendor 1, type 0x0E, code 54, rev 20.11, status 0x0060, serial 0x006C061A, "1756-L61/B LOGIX5561", state 3 |
    /// | .21 | `plc-l32e` | EtherNet/IP | CompactLogix: vendor 1, type 0x0E, code 64, rev 20.13, status 0x0030, serial 0x4062B1E5, "1769-L32E Ethernet Port", state 3 |
    /// | .22 | `plc-cj2m` | EtherNet/IP | Omron: vendor 47, type 0x0C, code 1609, rev 2.1, status 0x0030, serial 0x00357A21, "CJ2M-CPU31", state 3 |
    /// | .23 | `adapter-en2t` | EtherNet/IP | 1756-EN2T: vendor 1, type 0x0C, code 166, rev 5.28, status 0x0061 (owned), serial 0x60A2F1C3, "1756-EN2T/D", state 3 |
    /// | .24 | `drive-pf70` | EtherNet/IP | PowerFlex-like AC drive: vendor 1, type 0x02, code 81, rev 2.4, status 0x0164 (minor recoverable fault), serial 0x7A210C5E, "PowerFlex 70 480V 2HP", no state byte (older firmware) |
    /// | .25 | `io-latin1-name` | EtherNet/IP | discrete I/O: vendor 90, type 0x07, code 55, rev 1.7, status 0x0030, serial 0x00023A91, 32-byte non-UTF-8 name (Latin-1, 0xFF, trailing NUL), state 3 |
    /// | .26 | `enip-refuse-all` | EtherNet/IP | answers every command with header status 0x0001 and no data |
    /// | .27 | `enip-udp-short-lengths` | EtherNet/IP, UDP only | gateway: vendor 283, type 0x0C, code 1201, rev 3.4, serial 0x0C2D7715, "Turck BL20-E-GW-EN (sim)", state 3; encapsulation length 0 and an Identity item length 6 bytes short of its product name |
    ///
    /// SNMP agents (see [`crate::snmp`]; the full values are in [`PlantSpec::plant`]'s source and
    /// in each device's [`SnmpAgentConfig`]). Engine ids are RFC 3411 ids with the vendor's
    /// enterprise number, in hex; every agent but .33 answers v1 and v2c:
    ///
    /// | host | name | sysObjectID | community | versions | engine id | served |
    /// |------|------|-------------|-----------|----------|-----------|--------|
    /// | .15 | `plc-m580` | 1.3.6.1.4.1.3833.1.7.255.58 | public | 1, 2c, 3 | `80000ef903` + MAC `0080f45a002a` | system (sysName `m580-boiler`), ENTITY row 1 with serial `SIM-580-000042`, ifPhysAddress.1 |
    /// | .30 | `ups-smt1500` | 1.3.6.1.4.1.318.1.3.27 | public | 1, 2c, 3 | `8000013e03` + MAC `00c0b74a129e` | system (APC NMC sysDescr), a few PowerNet-MIB ups objects, ifPhysAddress.1, no ENTITY-MIB |
    /// | .31 | `switch-ie2000` | 1.3.6.1.4.1.9.1.1745 | public | 1, 2c, 3 | `8000000903` + MAC `002a6a3c8180` | system (multi-line Cisco IOS sysDescr, FQDN sysName), ENTITY rows 1001 chassis, 1002 port (empty columns), 1003 SFP; ifPhysAddress 1, 10101 and 14501 (empty) |
    /// | .32 | `nport-5150` | 1.3.6.1.4.1.8691.2.7 | private only: `public` gets no reply | 1, 2c, 3 | `800021f303` + MAC `0090e83a9f21` | system, ifPhysAddress.1 |
    /// | .33 | `scalance-v3only` | 1.3.6.1.4.1.4329.20.1.1.1.1.79 | (none answered) | 3 only | `800010e903` + MAC `001b1b8c550e` | only v3 discovery answers (boots 41, time 7259) |
    /// | .34 | `snmp-generr` | 1.3.6.1.4.1.8072.3.2.10 | public | 1, 2c, 3 | `80001f8880` + `5b1e3c2da96f6165` (net-snmp random, format 128) | every Get/GetNext/GetBulk gets genErr (5), index 1; v3 discovery works |
    /// | .35 | `snmp-odd-strings` | 1.3.6.1.4.1.248.14.10.41 | public | 1, 2c, 3 | `000000f80080631122330000`, a legacy pre-RFC 3411 12-byte id | non-UTF-8 sysDescr, 60-byte sysName, a Counter64 (invisible to v1), an IpAddress |
    /// | .36 | `snmp-v1-legacy` | 1.3.6.1.4.1.31200.1.3530 | public | 1 (v2c and v3 dropped silently) | none | no sysContact and sysLocation: the system-group Get gets noSuchName |
    /// | .37 | `snmp-small-buffer` | 1.3.6.1.4.1.3833.1.5560 | public | 1, 2c, 3 | default | 160-byte message size: the system-group Get gets tooBig |
    ///
    /// BACnet/IP devices (see [`crate::bacnet`]), every one on UDP `ports.bacnet`. Vendor ids are
    /// ASHRAE's; every device has object-identifier, object-type, vendor-identifier, max APDU,
    /// segmentation, protocol version 1 and revision 14, and the strings listed (the others get
    /// unknown-property); strings are UTF-8 unless marked:
    ///
    /// | host | name | instance | vendor id | vendor-name | model-name | firmware-revision | application-software-version | object-name | description | location | max APDU, segmentation | behaviour |
    /// |------|------|----------|-----------|-------------|------------|-------------------|------------------------------|-------------|-------------|----------|------------------------|-----------|
    /// | .40 | `bacnet-nae` | 1040 | 5 | Johnson Controls, Inc. | MS-NAE5510-2 | 11.0.0.611 | NAE 11.0 (simulated) | NAE-BLDG-A | Building A network engine (simulated) | Building A, mechanical room 1 | 1476, both (0) | well-behaved: RPM, wildcard |
    /// | .41 | `bacnet-no-rpm` | 8041 | 8 | Delta Controls | DSC-1616E | V3.40 | V3.40 build 1537 (simulated) | DSC-AHU1 | AHU 1 controller (simulated) | Roof, AHU 1 | 480, none (3) | RPM gets Reject unrecognized-service (9): ReadProperty only |
    /// | .42 | `bacnet-who-is` | 2098178 | 7 | Siemens Building Technologies | PXC36-E.D | V6.00.070 | Desigo PX 6.00 (simulated) | PXC-Heizung-Sued | charset 0 but not UTF-8: `Heizung \xFC\xFF S\xFCd` | ISO 8859-1 (charset 5): `Geb\xE4ude S\xFCd, UG` | 1476, both (0) | wildcard instance gets Error object/unknown-object (1/31): Who-Is, then instance 2098178 |
    /// | .43 | `bacnet-routed` | 243043 | 24 | Automated Logic Corporation | ZN551 (simulated) | 6.00:042 | zn551_v6 | VAV-3-12 | none | Floor 3, zone 12 | 480, none (3) | behind a BBMD (Forwarded-NPDU from its own address) and a router: NPDU source network 2001, MS/TP MAC 0x0C |
    /// | .44 | `bacnet-small-apdu` | 17044 | 17 | Honeywell | Spyder PUB6438S | 3.0.14 | 1.2 (simulated) | VAV-2-07 | Spyder VAV (simulated) | Floor 2, zone 7 | 50, none (3) | the RPM answer exceeds 50 bytes: Abort segmentation-not-supported (4); ReadProperty fits |
    /// | .45 | `bacnet-refuse-all` | 2045 | 2 | Trane | Tracer UC400 (simulated) | none | none | UC400-CHW | none | none | 1476, none (3) | every confirmed request gets Error device/operational-problem (0/25); Who-Is answered |
    /// | .46 | `bacnet-latin1-placeholders` | 3046 | 36 | `unknown` (placeholder) | `-` (placeholder) | empty | 4.10.0.154 (simulated) | charset 0 but Windows-1252: `Chaufferie Caf\xE9` | none | none | 1476, none (3) | well-behaved; text that is not what it claims and placeholders where values go |
    ///
    /// S7 CPUs (see [`crate::s7`]), every one on TCP `ports.s7`. SZL 0x0011 records: index 1 the
    /// module's order number with Ausbg = the release and Ausbe 1, index 6 the basic hardware
    /// (same), index 7 the firmware (Ausbg `'V'` and major, Ausbe minor and patch), BGTyp 0x00C0.
    /// SZL 0x001C records by index: 1 system name, 2 module name, 3 plant id, 4 copyright,
    /// 5 serial, 7 module type name, 8 memory card serial, 11 location:
    ///
    /// | host | name | TSAPs accepted (others) | PDU | SZL 0x0011 | SZL 0x001C | behaviour |
    /// |------|------|-------------------------|-----|------------|------------|-----------|
    /// | .50 | `plc-s7-315` | 0x0102 (Disconnect, reason 0x03) | 240 | 6ES7 315-2EH14-0AB0 release 4, hardware 6ES7 315-2EH14-0AB0 release 4, firmware V3.2.8 | 1 SIMATIC 300(1), 2 CPU 315-2 PN/DP, 3 FILLER-LINE-1, 4 Original Siemens Equipment, 5 S C-X4U421302009, 7 CPU 315-2 PN/DP | classic S7-300; also an SNMP agent on the same address (below) |
    /// | .51 | `plc-s7-416` | 0x0103, 0x0200 (Disconnect, reason 0x03) | 480 | 6ES7 416-3ES07-0AB0 release 2, hardware release 2, firmware V7.0.3 | 1 SIMATIC 400(1), 2 CPU 416-3 PN/DP, 3 BOILER-HOUSE, 4 Original Siemens Equipment, 5 S Q-H7U30918, 7 CPU 416-3 PN/DP, 8 MMC 2C45A61B, 11 Hall 3, cabinet 12 | classic S7-400 in slot 3: 0x0102 and 0x0100 refused, 0x0200 accepted |
    /// | .52 | `plc-s7-1214` | 0x0100 (close, no Disconnect) | 240 | 6ES7 214-1AG40-0XB0 release 5, hardware release 5, firmware V4.5.2, records declared and sent as 30 bytes (2 zero bytes each) | refused (0xD401, return code 0x0A) | S7-1200: only 0x0011 |
    /// | .53 | `plc-s7-1516` | 0x0102 (Disconnect, reason 0x03) | 480 | (configured but unreachable) | (unreachable) | S7-1500 with PUT/GET off: setup gets Ack_Data error class 0x81 code 0x04 |
    /// | .54 | `plc-s7-szl-refused` | 0x0102 (Disconnect, reason 0x03) | 240 | refused | refused | setup answered, every SZL read gets 0xD401 with return code 0x0A |
    /// | .55 | `s7-every-tsap-refused` | none (Disconnect, reason 0x88) | 240 | none | none | every Connection Request gets a Disconnect Request |
    /// | .56 | `plc-s7-lying-szl` | 0x0102 (Disconnect, reason 0x03) | 240 | 6ES7 317-2EK14-0AB0 release 3, hardware release 3, firmware V3.2.14; header declares LENTHDR 0 and N_DR 1 over the three 28-byte records | 1 SIMATIC 300(2), 2 CPU 317-2 PN/DP, 4 Original Siemens Equipment, 5 S C-L7A812340123, 7 CPU 317-2 PN/DP; header declares LENTHDR 32 over the 34-byte records | headers that cannot be right ([`S7Quirk::SzlHeader`]): decoded by the standard layout |
    /// | .57 | `plc-s7-data-units` | 0x0102 (Disconnect, reason 0x03) | 240 | 6ES7 412-5HK06-0AB0 release 6, hardware release 6, firmware V6.0.10 | 1 SIMATIC 400H(1), 2 CPU 412-5H PN/DP, 3 TURBINE-HALL-2, 4 Original Siemens Equipment, 5 S C-H2F735510442, 7 CPU 412-5H PN/DP, 8 MMC 5E31A0C7, 9 Siemens AG / S7-400H, 10 OEM 0000, 11 Turbine hall 2, rack A (348 bytes) | SZL answers longer than the PDU in data units ([`S7Quirk::DataUnits`]): 0x001C in two, the second on a follow-up request |
    ///
    /// OPC UA servers (see [`crate::opcua`]), every one on TCP `ports.opcua`:
    ///
    /// | host | name | application URI, product URI, name | endpoints (user tokens) | behaviour |
    /// |------|------|------------------------------------|-------------------------|-----------|
    /// | .60 | `plc-s7-1500-opcua` | `urn:SIMATIC.S7-1500.OPC-UA.Application:PLC_1`, `https://www.siemens.com/simatic-s7-opcua`, `SIMATIC.S7-1500.OPC-UA.Application:PLC_1` | None (UserName), Basic256Sha256 Sign and SignAndEncrypt (UserName, Certificate) | Siemens-like S7-1500: [`opcua::CERT_S7_1500`] in every endpoint, no anonymous access; also the S7 of `plc-s7-1516` (PUT/GET off) on `ports.s7` |
    /// | .61 | `kepware-gateway` | `urn:kepware-gw:Kepware.KEPServerEX.V6:UA Server`, `urn:Kepware.KEPServerEX.V6`, `KEPServerEX/UA Server` (no locale) | None, Basic128Rsa15, Basic256 and Basic256Sha256 Sign and SignAndEncrypt, Aes128_Sha256_RsaOaep SignAndEncrypt (Anonymous, UserName) | Kepware-like gateway: endpoint URL with its host name, 8 KiB send buffer so the 8 endpoints (a certificate each) come in two chunks (`C` then `F`), [`opcua::CERT_KEPWARE`] |
    /// | .62 | `opcua-none-rejected` | (not reached) | (not reached) | ACK, then `ERR` `Bad_SecurityPolicyRejected` to the OpenSecureChannel |
    /// | .63 | `opcua-url-strict` | (not reached) | (not reached) | `ERR` `Bad_TcpEndpointUrlInvalid` unless the Hello asks for `opc.tcp://line3-ua:4840` |
    /// | .64 | `edge-gateway` | `urn:open62541.server.application`, `http://open62541.org`, `open62541-based edge gateway (simulated)`, type DiscoveryServer | None (Anonymous) | FindServers adds two servers behind it; also a Modbus server on `ports.modbus` |
    ///
    /// `plc-s7-315`'s SNMP agent on UDP `ports.snmp`: sysDescr `Siemens, SIMATIC S7, CPU-300,
    /// 6ES7 315-2EH14-0AB0, HW: Version 4, FW: Version V3.2.8, S C-X4U421302009`, sysObjectID
    /// 1.3.6.1.4.1.4329.6.3.2.1 (Siemens, enterprise 4329), sysName `s7-315-filler`, sysLocation
    /// `Line 1 control cabinet`, ENTITY row 1 (`CPU 315-2 PN/DP`, hardware `4`, firmware `V3.2.8`,
    /// serial `S C-X4U421302009`, mfg `Siemens AG`, model `6ES7 315-2EH14-0AB0`), ifPhysAddress.1
    /// `00:1b:1b:21:04:a7`, engine id `800010e903` + that MAC; v1, v2c and v3, community public.
    ///
    /// MELSEC CPUs (see [`crate::melsec`]), every one on `ports.melsec` (TCP and UDP unless
    /// said), answering Read CPU Model Name; model codes of Q, L and iQ-R from a public SLMP
    /// table, the FX5U's simulated:
    ///
    /// | host | name | model name | model code | behaviour |
    /// |------|------|------------|------------|-----------|
    /// | .90 | `plc-q03udv` | Q03UDVCPU | 0x0366 | TCP and UDP |
    /// | .91 | `plc-r04` | R04CPU | 0x4800 | TCP and UDP |
    /// | .92 | `plc-fx5u-tcp-only` | FX5U-32MT/ES | 0x4A23 (simulated) | TCP only |
    /// | .93 | `plc-l26-udp-only` | L26CPU-BT | 0x0542 | UDP only |
    /// | .94 | `melsec-refuse-c059` | (Q06UDVCPU, never sent) | 0x0368 | Read CPU Model Name gets end code 0xC059 |
    ///
    /// Beckhoff TwinCAT systems (see [`crate::ads`]), every one on UDP `ports.ads`,
    /// answering the ADS discovery Identify (versions and OS blocks simulated, shaped as
    /// the public captures show them):
    ///
    /// | host | name | AMS NetId | host name | TwinCAT | OS block | other |
    /// |------|------|-----------|-----------|---------|----------|-------|
    /// | .110 | `plc-cx9020` | 5.45.219.110.1.1 | CX-2DDB6E | 3.1.4024 | Windows CE 7.0 | fingerprint |
    /// | .111 | `ipc-c6015` | 10.40.0.111.1.1 | C6015-LINE4 | 3.1.4026 | Windows NT 10.0.19045 | fingerprint |
    /// | .112 | `plc-cx5130-bsd` | 5.80.12.112.1.1 | CX-50C070 | 3.1.4026 | TwinCAT/BSD 13.2, 8 undecoded bytes | fingerprint |
    /// | .113 | `plc-cx9000-tc2` | 5.12.34.113.1.1 | CX_0A1B2C | 2.11.2305 | Windows CE 6.0 | none (TwinCAT 2) |
    /// | .114 | `ipc-extra-tags` | 192.168.10.114.1.1 | ENG-PC-7 | 3.1.4022 | Windows NT 6.1.7601 "Service Pack 1" | unknown tag 0x0a (4 bytes) |
    ///
    /// HART-IP servers (see [`crate::hart`]), every one on TCP `ports.hart`; manufacturer ids
    /// and device types are numbers only (simulated):
    ///
    /// | host | name | kind | long tag | behaviour |
    /// |------|------|------|----------|-----------|
    /// | .120 | `hart-pt-101` | HART 7 instrument, manufacturer 0x26, type 0x2641, id 0x0A1B2C | PT-101 STEAM HEADER | answers commands 0 and 20 |
    /// | .121 | `hart-tt-205` | HART 7 instrument, manufacturer 0x11, type 0x11C3, id 205 | TT-205 | device status "more status available" |
    /// | .122 | `hart-ft-5-legacy` | HART 5 instrument, manufacturer 0x26, type 0x2605, id 0x000123 | (none) | 12-byte command 0 answer; command 20 not implemented |
    /// | .123 | `hart-mux-1` | HART 7 I/O system (protocol bridge), manufacturer 0x26, type 0x26F0 | MUX-1 AREA 3 | three sub-devices behind it (commands 74 and 84) |
    /// | .124 | `hart-mux-big` | HART 7 I/O system, manufacturer 0x60, type 0x60A0 | MUX-BIG | twelve sub-devices: eight are read, four reported as not read |
    /// | .125 | `hart-sessions-full` | HART 7 instrument | (not reached) | Session Initiate status 15, all available sessions in use |
    /// | .126 | `hart-cmd0-refused` | HART 7 instrument | (not reached) | command 0 answered with response code 16, access restricted |
    ///
    /// PROFINET IO devices (see [`crate::profinet`]), every one on UDP `ports.profinet`,
    /// answering the endpoint mapper's `ept_lookup` with one entry whose annotation is
    /// printed `%-25s %-20s %5u %c%3u%3u%3u` (vendor 0x002A and device ids simulated):
    ///
    /// | host | name | device type | order number | HW | SW | other |
    /// |------|------|-------------|--------------|----|----|-------|
    /// | .130 | `plc-s7-1500-pn` | S7-1500 | 6ES7 516-3AN01-0AB0 | 3 | V2.9.2 | PNIO object, vendor 0x002A, device 0x010E |
    /// | .131 | `io-et200sp-pn` | ET 200SP | 6ES7 155-6AU01-0BN0 | 1 | V4.2.1 | PNIO object, vendor 0x002A, device 0x0313 |
    /// | .132 | `sw-scalance-x208` | SCALANCE X-200 | 6GK5 208-0BA00-2AA3 | 6 | V5.2.5 | nil object |
    /// | .133 | `pnet-sample-app` | P-Net Sample App | 12345 Abcdefghijk | 1 | R0.2.0 | nil object (p-net's first entry) |
    /// | .134 | `drive-g120-be` | SINAMICS G120 | 6SL3246-0BA22-1FA0 | 2 | V4.7.10 | big-endian, vendor 0x002A, device 0x0504 |
    /// | .135 | `plc-pn-fault` | (never sent) | | | | every lookup gets a fault `nca_s_unk_if` |
    ///
    /// Omron PLCs speaking FINS (see [`crate::fins`]), every one on `ports.fins` (UDP and TCP
    /// share it); model and version are space padded to 20 bytes as real CPUs send them; the
    /// area data is program area size, IOM size, DM words, timer/counter size, expansion DM
    /// banks, steps, memory card kind and size:
    ///
    /// | host | name | transports | node | model, version | Controller Data Read answer |
    /// |------|------|------------|------|----------------|-----------------------------|
    /// | .70 | `plc-cj2m-fins` | UDP, TCP | 70 | CJ2M-CPU31, 02.01 | full: 20, 23, 32768, 8, 0, 0, 0, 0 |
    /// | .71 | `plc-cp1l-udp` | UDP only | 71 | CP1L-EM40DT-D, 01.10 | full: 10, 23, 32768, 8, 0, 0, 0, 0 |
    /// | .72 | `plc-nj501-tcp` | TCP only | 72 | NJ501-1300, 01.40 | full: 20, 23, 32768, 8, 25, 0, 4, 2048 |
    /// | .73 | `plc-cs1g-short` | UDP, TCP | 73 | CS1G-CPU44H, 03.00 | model and version only (an older CPU) |
    /// | .74 | `plc-cj1m-refuses` | UDP, TCP | 74 | (CJ1M-CPU11, not sent) | end code 0401, undefined command |
    ///
    /// Niagara stations (see [`crate::fox`]), every one on TCP `ports.fox`, answering the Fox
    /// hello:
    ///
    /// | host | name | hello reply |
    /// |------|------|-------------|
    /// | .80 | `fox-jace8000` | Niagara 4.10.1.36 JACE-8000-like station `AHU_1` on host `jace-ahu-1`, QNX 6.5.0, brand `vykon`, host id `Qnx-TITAN-...`; also a BACnet/IP device on the same address (instance 80080, vendor 36 Tridium, model JACE-8000, firmware 4.10.1.36, object-name `jace-ahu-1`): one record |
    /// | .81 | `fox-ax38` | Niagara AX 3.8.213 JACE on QNX 6.4.1, station `Honeywell`, brand `FacExp`, host name its address (10.17.40.40), a `sysInfo` bog object: the tuples of a published station reply |
    /// | .82 | `fox-supervisor` | Niagara 4.12.2.16 supervisor on Windows Server 2019, brand `distech`, locale `fr_CA` |
    /// | .83 | `fox-n4-platform-fatal` | `fatal=s:Niagara4 Station Connections Unsupported`, `fox.version=s:Niagara 4` (a published refusal) |
    /// | .84 | `fox-error-frame` | an error frame `fox e 0 1 fox hello` with `reason=s:station busy`, then a close |
    ///
    /// KNXnet/IP devices (see [`crate::knx`]), every one on UDP `ports.knx`, answering the
    /// description request:
    ///
    /// | host | name | description response |
    /// |------|------|----------------------|
    /// | .100 | `knx-ip-router` | router `MDT IP Router SCN-IP100.03` at 1.1.0 on TP1, serial 0083:49001122, routing 224.0.23.12, a manufacturer data DIB (id 0x0083) |
    /// | .101 | `knx-ip-interface` | interface `KNX IP Interface 3rd floor` at 1.3.250, serial 0001:002a7f13, no routing |
    /// | .102 | `knx-router-programming` | router `Line coupler 2` at 1.2.0 in programming mode, serial 0083:49002001 |
    /// | .103 | `knxd-gateway` | knxd-like interface `knxd` at 1.1.128, all-zero serial (no serial in the identity) |
    /// | .104 | `knx-ip-router-backbone` | router `Backbone router 1.0.0` at 1.0.0, serial 0001:00118b5c |
    ///
    /// CODESYS V3 runtimes (see [`crate::codesys`]), every one on UDP `ports.codesys`,
    /// answering the NameService at UDP 1740 of the sender, as real runtimes do (names
    /// and ids simulated, shaped as nmap's published PFC200 example):
    ///
    /// | host | name | vendor | device name | node name | target type, id, version |
    /// |------|------|--------|-------------|-----------|--------------------------|
    /// | .140 | `plc-pfc200-codesys` | WAGO | WAGO 750-8206 PFC200 2ETH RS CAN DPS | PFC200-438F4C | 0x1000, 0x10061204, 5.15.4.0 |
    /// | .141 | `plc-m241-codesys` | Schneider Electric | TM241CE40R | M241-LINE2 | 0x1000, 0x101a0101, 5.1.9.34, serial |
    /// | .142 | `softplc-linux-codesys` | CODESYS GmbH | CODESYS Control for Linux SL | edge-gw-3 | 0x1000, 0x00000010, 4.10.0.0 |
    /// | .143 | `safety-codesys` | Festo | CPX-E-CEC-M1-PN Safety | SAFETY-CELL1 | 0x1002 (safety controller), 0x10110002, 3.5.17.20 |
    /// | .144 | `drive-codesys` | Bosch Rexroth AG | IndraDrive MLD | AXIS-7 | 0x1003 (drive), 0x10140003, 3.5.16.0 |
    ///
    /// Banner services (see [`crate::banner`]), off otscan's default probe list: SSH on
    /// TCP `ports.ssh`:
    ///
    /// | host | name | what it says |
    /// |------|------|--------------|
    /// | .150 | `switch-ie-ssh` | `SSH-1.99-Cisco-1.25` (an industrial Ethernet switch's SSH, SSH 1 and 2) |
    /// | .151 | `serial-server-ssh` | two pre-login lines, then `SSH-2.0-dropbear_2019.78` 20 ms later |
    ///
    /// FTP on TCP `ports.ftp`:
    ///
    /// | host | name | what it says |
    /// |------|------|--------------|
    /// | .152 | `hmi-panel-ftp` | a three-line `220-` greeting of an operator panel |
    /// | .153 | `plc-vxworks-ftp` | `220 VxWorks (VxWorks5.5.1) FTP server ready` |
    /// | .154 | `rtu-ftp-busy` | `421 Too many connections`, then a close |
    ///
    /// Telnet on TCP `ports.telnet` (options asked for first, the text 20 ms later):
    ///
    /// | host | name | what it says |
    /// |------|------|--------------|
    /// | .155 | `serial-server-telnet` | WILL ECHO, WILL SGA; a serial device server's menu (model, MAC, firmware) and a password prompt |
    /// | .156 | `switch-telnet-login` | DO TERMINAL-TYPE, DO NAWS, WILL ECHO, WILL SGA; `User Access Verification`, `Username:` |
    /// | .157 | `plc-telnet-shell` | no negotiation; `VxWorks login:` |
    ///
    /// Web servers (see [`crate::web`]), off otscan's default probe list, plain HTTP on TCP
    /// `ports.http`:
    ///
    /// | host | name | what it shows |
    /// |------|------|---------------|
    /// | .60 | `plc-s7-1500-opcua` (also S7 and OPC UA) | `302` to `/Portal/Portal.mwsl`, whose page is titled `SIMATIC 1500 Station` |
    /// | .160 | `serial-server-web` | `Server: MoxaHttp/1.0`, `401` with `Basic realm="NPort Web Console"` |
    /// | .161 | `ups-card-web` | `Server: Allegro-Software-RomPager/4.01`, a `303` to `https://...` (another scheme, not followed), cookie `C0` |
    /// | .162 | `plc-wago-web` | `Server: lighttpd/1.4.59`, a chunked page titled `WAGO Ethernet Web-Based Management` |
    /// | .163 | `plc-m580-web` | `Server: Schneider-WEB/V2.1.4`, a Latin-1 title (`é` as the byte E9), no length: the page ends at the close |
    /// | .164 | `gateway-web` | `X-Powered-By: PHP/5.6.40`, cookie `PHPSESSID`, a title with references and line breaks |
    ///
    /// Over TLS (TLS 1.3/1.2, a self-signed ECDSA certificate made at start) on TCP
    /// `ports.https`:
    ///
    /// | host | name | what it shows |
    /// |------|------|---------------|
    /// | .60 | `plc-s7-1500-opcua` | the same portal as over HTTP; certificate `CN=SIMATIC S7-1500,O=Siemens`, SAN `DNS:plc-s7-1500` |
    /// | .161 | `ups-card-web` | the logon page the HTTP redirect points at, titled `APC | Log On`; certificate `CN=APC Web Server,O=Schneider Electric` |
    /// | .166 | `hmi-tls10-only` | TLS 1.0 only (`TLS_RSA_WITH_AES_128_CBC_SHA`): the legacy reader reads `CN=Magelis HMI,O=Schneider Electric` |
    /// | .165 | `switch-web-https` | HTTPS only: `Server: Hirschmann Webserver`, `401` with `Basic realm="Industrial HiVision"` |
    ///
    /// `demo` and `test_subnet` stay Modbus-only so the Modbus tests' expectations hold.
    pub fn plant(base: Ipv4Addr, ports: PlantPorts) -> Self {
        let port = ports.enip;
        let mut spec = Self::demo(base, ports.modbus);
        let m580 = host(base, 15);
        if let Some(device) = spec.devices.iter_mut().find(|d| d.ip == m580) {
            device.enip = Some((
                port,
                EnipDeviceConfig::new(243, 0x0E, 2052, "BMEP58 2040")
                    .with_revision(4, 2)
                    .with_status(0x0030)
                    .with_serial(0x5A00_002A),
            ));
            device.snmp = Some((ports.snmp, m580_snmp()));
        }
        spec.devices.extend([
            DeviceSpec::new(host(base, 20), "plc-l61").with_enip(
                port,
                EnipDeviceConfig::new(1, 0x0E, 54, "1756-L61/B LOGIX5561")
                    .with_revision(20, 11)
                    .with_status(0x0060)
                    .with_serial(0x006C_061A)
                    .with_state(3),
            ),
            DeviceSpec::new(host(base, 21), "plc-l32e").with_enip(
                port,
                EnipDeviceConfig::new(1, 0x0E, 64, "1769-L32E Ethernet Port")
                    .with_revision(20, 13)
                    .with_status(0x0030)
                    .with_serial(0x4062_B1E5)
                    .with_state(3),
            ),
            DeviceSpec::new(host(base, 22), "plc-cj2m").with_enip(
                port,
                EnipDeviceConfig::new(47, 0x0C, 1609, "CJ2M-CPU31")
                    .with_revision(2, 1)
                    .with_status(0x0030)
                    .with_serial(0x0035_7A21)
                    .with_state(3),
            ),
            DeviceSpec::new(host(base, 23), "adapter-en2t").with_enip(
                port,
                EnipDeviceConfig::new(1, 0x0C, 166, "1756-EN2T/D")
                    .with_revision(5, 28)
                    .with_status(0x0061)
                    .with_serial(0x60A2_F1C3)
                    .with_state(3),
            ),
            DeviceSpec::new(host(base, 24), "drive-pf70").with_enip(
                port,
                EnipDeviceConfig::new(1, 0x02, 81, "PowerFlex 70 480V 2HP")
                    .with_revision(2, 4)
                    .with_status(0x0164)
                    .with_serial(0x7A21_0C5E)
                    .without_state(),
            ),
            DeviceSpec::new(host(base, 25), "io-latin1-name").with_enip(
                port,
                EnipDeviceConfig::new(90, 0x07, 55, LATIN1_NAME.to_vec())
                    .with_revision(1, 7)
                    .with_status(0x0030)
                    .with_serial(0x0002_3A91)
                    .with_state(3),
            ),
            DeviceSpec::new(host(base, 26), "enip-refuse-all").with_enip(
                port,
                EnipDeviceConfig::default().with_header_status(enip::STATUS_INVALID_COMMAND),
            ),
            DeviceSpec::new(host(base, 27), "enip-udp-short-lengths").with_enip(
                port,
                EnipDeviceConfig::new(283, 0x0C, 1201, "Turck BL20-E-GW-EN (sim)")
                    .with_revision(3, 4)
                    .with_status(0x0030)
                    .with_serial(0x0C2D_7715)
                    .with_state(3)
                    .with_transports(crate::EnipTransports::UDP_ONLY)
                    .with_short_lengths(),
            ),
        ]);
        let snmp = ports.snmp;
        spec.devices.extend([
            DeviceSpec::new(host(base, 30), "ups-smt1500").with_snmp(snmp, apc_ups_snmp()),
            DeviceSpec::new(host(base, 31), "switch-ie2000").with_snmp(snmp, cisco_ie_snmp()),
            DeviceSpec::new(host(base, 32), "nport-5150").with_snmp(snmp, moxa_nport_snmp()),
            DeviceSpec::new(host(base, 33), "scalance-v3only").with_snmp(snmp, scalance_snmp()),
            DeviceSpec::new(host(base, 34), "snmp-generr").with_snmp(snmp, generr_snmp()),
            DeviceSpec::new(host(base, 35), "snmp-odd-strings")
                .with_snmp(snmp, odd_strings_snmp(host(base, 35))),
            DeviceSpec::new(host(base, 36), "snmp-v1-legacy").with_snmp(snmp, v1_legacy_snmp()),
            DeviceSpec::new(host(base, 37), "snmp-small-buffer")
                .with_snmp(snmp, small_buffer_snmp()),
        ]);
        let port = ports.bacnet;
        spec.devices.extend([
            DeviceSpec::new(host(base, 40), "bacnet-nae").with_bacnet(port, jci_nae_bacnet()),
            DeviceSpec::new(host(base, 41), "bacnet-no-rpm").with_bacnet(port, delta_dsc_bacnet()),
            DeviceSpec::new(host(base, 42), "bacnet-who-is")
                .with_bacnet(port, siemens_pxc_bacnet()),
            DeviceSpec::new(host(base, 43), "bacnet-routed").with_bacnet(port, alc_zn551_bacnet()),
            DeviceSpec::new(host(base, 44), "bacnet-small-apdu")
                .with_bacnet(port, honeywell_spyder_bacnet()),
            DeviceSpec::new(host(base, 45), "bacnet-refuse-all")
                .with_bacnet(port, trane_refuse_all_bacnet()),
            DeviceSpec::new(host(base, 46), "bacnet-latin1-placeholders")
                .with_bacnet(port, tridium_latin1_bacnet()),
        ]);
        let port = ports.s7;
        spec.devices.extend([
            DeviceSpec::new(host(base, 50), "plc-s7-315")
                .with_s7(port, s7_315())
                .with_snmp(ports.snmp, s7_315_snmp()),
            DeviceSpec::new(host(base, 51), "plc-s7-416").with_s7(port, s7_416()),
            DeviceSpec::new(host(base, 52), "plc-s7-1214").with_s7(port, s7_1214()),
            DeviceSpec::new(host(base, 53), "plc-s7-1516").with_s7(port, s7_1516()),
            DeviceSpec::new(host(base, 54), "plc-s7-szl-refused").with_s7(port, s7_312_no_szl()),
            DeviceSpec::new(host(base, 55), "s7-every-tsap-refused").with_s7(
                port,
                S7DeviceConfig::new()
                    .with_tsaps([])
                    .with_other_tsaps(TsapRefusal::Disconnect(s7::cotp::REASON_REFUSED)),
            ),
            DeviceSpec::new(host(base, 56), "plc-s7-lying-szl").with_s7(port, s7_317_lying_szl()),
            DeviceSpec::new(host(base, 57), "plc-s7-data-units").with_s7(port, s7_412_data_units()),
        ]);
        let port = ports.melsec;
        spec.devices.extend([
            DeviceSpec::new(host(base, 90), "plc-q03udv")
                .with_melsec(port, MelsecDeviceConfig::new("Q03UDVCPU", 0x0366)),
            DeviceSpec::new(host(base, 91), "plc-r04")
                .with_melsec(port, MelsecDeviceConfig::new("R04CPU", 0x4800)),
            DeviceSpec::new(host(base, 92), "plc-fx5u-tcp-only").with_melsec(
                port,
                MelsecDeviceConfig::new("FX5U-32MT/ES", FX5U_SIMULATED_CODE).tcp_only(),
            ),
            DeviceSpec::new(host(base, 93), "plc-l26-udp-only").with_melsec(
                port,
                MelsecDeviceConfig::new("L26CPU-BT", 0x0542).udp_only(),
            ),
            DeviceSpec::new(host(base, 94), "melsec-refuse-c059").with_melsec(
                port,
                MelsecDeviceConfig::new("Q06UDVCPU", 0x0368)
                    .with_end_code(melsec::end_code::COMMAND_NOT_SUPPORTED),
            ),
        ]);
        let port = ports.codesys;
        spec.devices.extend([
            DeviceSpec::new(host(base, 140), "plc-pfc200-codesys").with_codesys(
                port,
                CodesysDeviceConfig::new(
                    "PFC200-438F4C",
                    "WAGO 750-8206 PFC200 2ETH RS CAN DPS",
                    "WAGO",
                )
                .with_target(0x1000, 0x1006_1204, [5, 15, 4, 0]),
            ),
            DeviceSpec::new(host(base, 141), "plc-m241-codesys").with_codesys(
                port,
                CodesysDeviceConfig::new("M241-LINE2", "TM241CE40R", "Schneider Electric")
                    .with_target(0x1000, 0x101a_0101, [5, 1, 9, 34])
                    .with_serial("M241-2027-00153"),
            ),
            DeviceSpec::new(host(base, 142), "softplc-linux-codesys").with_codesys(
                port,
                CodesysDeviceConfig::new(
                    "edge-gw-3",
                    "CODESYS Control for Linux SL",
                    "CODESYS GmbH",
                )
                .with_target(0x1000, 0x0000_0010, [4, 10, 0, 0]),
            ),
            DeviceSpec::new(host(base, 143), "safety-codesys").with_codesys(
                port,
                CodesysDeviceConfig::new("SAFETY-CELL1", "CPX-E-CEC-M1-PN Safety", "Festo")
                    .with_target(0x1002, 0x1011_0002, [3, 5, 17, 20]),
            ),
            DeviceSpec::new(host(base, 144), "drive-codesys").with_codesys(
                port,
                CodesysDeviceConfig::new("AXIS-7", "IndraDrive MLD", "Bosch Rexroth AG")
                    .with_target(0x1003, 0x1014_0003, [3, 5, 16, 0]),
            ),
        ]);
        let port = ports.ads;
        spec.devices.extend([
            DeviceSpec::new(host(base, 110), "plc-cx9020").with_ads(
                port,
                AdsDeviceConfig::new(
                    [5, 45, 219, 110, 1, 1],
                    "CX-2DDB6E",
                    (3, 1, 4024),
                    AdsOs::WindowsCe(7, 0, 0),
                )
                .with_fingerprint(ADS_FINGERPRINT_CX9020),
            ),
            DeviceSpec::new(host(base, 111), "ipc-c6015").with_ads(
                port,
                AdsDeviceConfig::new(
                    [10, 40, 0, 111, 1, 1],
                    "C6015-LINE4",
                    (3, 1, 4026),
                    AdsOs::Windows(10, 0, 19045, String::new()),
                )
                .with_fingerprint(ADS_FINGERPRINT_C6015),
            ),
            DeviceSpec::new(host(base, 112), "plc-cx5130-bsd").with_ads(
                port,
                AdsDeviceConfig::new(
                    [5, 80, 12, 112, 1, 1],
                    "CX-50C070",
                    (3, 1, 4026),
                    AdsOs::TwinCatBsd(13, 2, 0, vec![0x31, 0x33, 0x2e, 0x32, 0, 0, 0, 0]),
                )
                .with_fingerprint(ADS_FINGERPRINT_CX5130),
            ),
            DeviceSpec::new(host(base, 113), "plc-cx9000-tc2").with_ads(
                port,
                AdsDeviceConfig::new(
                    [5, 12, 34, 113, 1, 1],
                    "CX_0A1B2C",
                    (2, 11, 2305),
                    AdsOs::WindowsCe(6, 0, 0),
                ),
            ),
            DeviceSpec::new(host(base, 114), "ipc-extra-tags").with_ads(
                port,
                AdsDeviceConfig::new(
                    [192, 168, 10, 114, 1, 1],
                    "ENG-PC-7",
                    (3, 1, 4022),
                    AdsOs::Windows(6, 1, 7601, "Service Pack 1".to_owned()),
                )
                .with_tag(0x0a, &[1, 0, 0, 0]),
            ),
        ]);
        let port = ports.hart;
        let sub = |i: u8| HartSubDevice {
            io_card: 0,
            channel: i,
            manufacturer_id: 0x26,
            expanded_device_type: 0x2641,
            device_id: 0x0100 + u32::from(i),
            hart_revision: 7,
            long_tag: format!("TT-3{i:02}"),
        };
        spec.devices.extend([
            DeviceSpec::new(host(base, 120), "hart-pt-101").with_hart(
                port,
                HartDeviceConfig::instrument(0x26, 0x2641, 0x0A1B2C, "PT-101 STEAM HEADER"),
            ),
            DeviceSpec::new(host(base, 121), "hart-tt-205").with_hart(
                port,
                HartDeviceConfig::instrument(0x11, 0x11C3, 205, "TT-205").with_device_status(0x10),
            ),
            DeviceSpec::new(host(base, 122), "hart-ft-5-legacy")
                .with_hart(port, HartDeviceConfig::hart5(0x26, 0x05, 0x000123)),
            DeviceSpec::new(host(base, 123), "hart-mux-1").with_hart(
                port,
                HartDeviceConfig::io_system(
                    0x26,
                    0x26F0,
                    0x00_4D31,
                    "MUX-1 AREA 3",
                    (1..=3).map(sub).collect(),
                ),
            ),
            DeviceSpec::new(host(base, 124), "hart-mux-big").with_hart(
                port,
                HartDeviceConfig::io_system(
                    0x60,
                    0x60A0,
                    0x00_0B16,
                    "MUX-BIG",
                    (1..=12).map(sub).collect(),
                ),
            ),
            DeviceSpec::new(host(base, 125), "hart-sessions-full").with_hart(
                port,
                HartDeviceConfig::instrument(0x26, 0x2641, 0x0A1B2D, "PT-102")
                    .with_session_status(hart::ALL_SESSIONS_IN_USE),
            ),
            DeviceSpec::new(host(base, 126), "hart-cmd0-refused").with_hart(
                port,
                HartDeviceConfig::instrument(0x26, 0x2641, 0x0A1B2E, "PT-103")
                    .with_command0_response_code(16),
            ),
        ]);
        let port = ports.profinet;
        let pn = ProfinetDeviceConfig::new;
        spec.devices.extend([
            DeviceSpec::new(host(base, 130), "plc-s7-1500-pn").with_profinet(
                port,
                pn("S7-1500", "6ES7 516-3AN01-0AB0", 3, ('V', 2, 9, 2)).with_object(0x002a, 0x010e),
            ),
            DeviceSpec::new(host(base, 131), "io-et200sp-pn").with_profinet(
                port,
                pn("ET 200SP", "6ES7 155-6AU01-0BN0", 1, ('V', 4, 2, 1))
                    .with_object(0x002a, 0x0313),
            ),
            DeviceSpec::new(host(base, 132), "sw-scalance-x208").with_profinet(
                port,
                pn("SCALANCE X-200", "6GK5 208-0BA00-2AA3", 6, ('V', 5, 2, 5)),
            ),
            DeviceSpec::new(host(base, 133), "pnet-sample-app").with_profinet(
                port,
                pn("P-Net Sample App", "12345 Abcdefghijk", 1, ('R', 0, 2, 0)),
            ),
            DeviceSpec::new(host(base, 134), "drive-g120-be").with_profinet(
                port,
                pn("SINAMICS G120", "6SL3246-0BA22-1FA0", 2, ('V', 4, 7, 10))
                    .with_object(0x002a, 0x0504)
                    .big_endian(),
            ),
            DeviceSpec::new(host(base, 135), "plc-pn-fault").with_profinet(
                port,
                pn("S7-1500", "6ES7 511-1AK02-0AB0", 1, ('V', 2, 8, 3))
                    .with_fault(profinet::NCA_S_UNK_IF),
            ),
        ]);
        let port = ports.fins;
        spec.devices.extend([
            DeviceSpec::new(host(base, 70), "plc-cj2m-fins").with_fins(
                port,
                FinsDeviceConfig::new("CJ2M-CPU31", "02.01").with_node(70),
            ),
            DeviceSpec::new(host(base, 71), "plc-cp1l-udp").with_fins(
                port,
                FinsDeviceConfig::new("CP1L-EM40DT-D", "01.10")
                    .with_node(71)
                    .with_area(FinsAreaData {
                        program_area_size: 10,
                        iom_size: 23,
                        dm_words: 32768,
                        timer_counter_size: 8,
                        ..FinsAreaData::default()
                    })
                    .with_transports(FinsTransports::UDP_ONLY),
            ),
            DeviceSpec::new(host(base, 72), "plc-nj501-tcp").with_fins(
                port,
                FinsDeviceConfig::new("NJ501-1300", "01.40")
                    .with_node(72)
                    .with_area(FinsAreaData {
                        program_area_size: 20,
                        iom_size: 23,
                        dm_words: 32768,
                        timer_counter_size: 8,
                        expansion_dm_size: 25,
                        steps_transitions: 0,
                        memory_card_kind: 4,
                        memory_card_size: 2048,
                    })
                    .with_transports(FinsTransports::TCP_ONLY),
            ),
            DeviceSpec::new(host(base, 73), "plc-cs1g-short").with_fins(
                port,
                FinsDeviceConfig::new("CS1G-CPU44H", "03.00")
                    .with_node(73)
                    .with_short_reply(),
            ),
            DeviceSpec::new(host(base, 74), "plc-cj1m-refuses").with_fins(
                port,
                FinsDeviceConfig::new("CJ1M-CPU11", "04.00")
                    .with_node(74)
                    .with_end_code(fins::END_UNDEFINED_COMMAND),
            ),
        ]);
        let port = ports.fox;
        spec.devices.extend([
            DeviceSpec::new(host(base, 80), "fox-jace8000")
                .with_fox(port, FoxDeviceConfig::jace8000("jace-ahu-1", "AHU_1"))
                .with_bacnet(ports.bacnet, jace8000_bacnet()),
            DeviceSpec::new(host(base, 81), "fox-ax38")
                .with_fox(port, FoxDeviceConfig::ax38("10.17.40.40")),
            DeviceSpec::new(host(base, 82), "fox-supervisor")
                .with_fox(port, FoxDeviceConfig::supervisor("bms-sup-01")),
            DeviceSpec::new(host(base, 83), "fox-n4-platform-fatal").with_fox(
                port,
                FoxDeviceConfig::empty().with_behaviour(FoxBehaviour::Fatal(
                    "Niagara4 Station Connections Unsupported".to_owned(),
                )),
            ),
            DeviceSpec::new(host(base, 84), "fox-error-frame").with_fox(
                port,
                FoxDeviceConfig::empty()
                    .with_behaviour(FoxBehaviour::ErrorFrame("station busy".to_owned())),
            ),
        ]);
        let port = ports.knx;
        spec.devices.extend([
            DeviceSpec::new(host(base, 100), "knx-ip-router").with_knx(
                port,
                KnxDeviceConfig::router("MDT IP Router SCN-IP100.03", "1.1.0")
                    .with_manufacturer_data(0x0083, &[0x01, 0x04, 0x02]),
            ),
            DeviceSpec::new(host(base, 101), "knx-ip-interface").with_knx(
                port,
                KnxDeviceConfig::router("KNX IP Interface 3rd floor", "1.3.250")
                    .interface()
                    .with_ids(
                        [0x00, 0x01, 0x00, 0x2a, 0x7f, 0x13],
                        [0x00, 0x0e, 0x8c, 0x4d, 0x21, 0x07],
                    ),
            ),
            DeviceSpec::new(host(base, 102), "knx-router-programming").with_knx(
                port,
                KnxDeviceConfig::router("Line coupler 2", "1.2.0")
                    .programming()
                    .with_ids(
                        [0x00, 0x83, 0x49, 0x00, 0x20, 0x01],
                        [0x00, 0x24, 0x6d, 0x01, 0x20, 0x01],
                    ),
            ),
            DeviceSpec::new(host(base, 103), "knxd-gateway").with_knx(
                port,
                KnxDeviceConfig::router("knxd", "1.1.128")
                    .interface()
                    .with_ids([0; 6], [0x02, 0xfc, 0, 0, 0, 0x01]),
            ),
            DeviceSpec::new(host(base, 104), "knx-ip-router-backbone").with_knx(
                port,
                KnxDeviceConfig::router("Backbone router 1.0.0", "1.0.0").with_ids(
                    [0x00, 0x01, 0x00, 0x11, 0x8b, 0x5c],
                    [0x00, 0x01, 0x29, 0x3e, 0x51, 0x0a],
                ),
            ),
        ]);
        let port = ports.opcua;
        spec.devices.extend([
            DeviceSpec::new(host(base, 60), "plc-s7-1500-opcua")
                .with_opcua(port, s7_1500_opcua())
                .with_s7(ports.s7, s7_1516())
                .with_http(ports.http, s7_1500_web())
                .with_https(
                    ports.https,
                    s7_1500_web(),
                    CertificateSpec::new("Siemens", "SIMATIC S7-1500", &["plc-s7-1500"]),
                ),
            DeviceSpec::new(host(base, 61), "kepware-gateway").with_opcua(port, kepware_opcua()),
            DeviceSpec::new(host(base, 62), "opcua-none-rejected").with_opcua(
                port,
                OpcuaServerConfig::new(
                    "urn:line2-hmi:UnifiedAutomation:UaServerCpp",
                    "http://www.unifiedautomation.com/UaServerCpp",
                    "Line 2 HMI OPC UA (simulated)",
                )
                .with_behaviour(OpcuaBehaviour::RejectSecurityPolicyNone),
            ),
            DeviceSpec::new(host(base, 63), "opcua-url-strict").with_opcua(
                port,
                OpcuaServerConfig::new(
                    "urn:line3:opcua:server",
                    "urn:otscan-demo:line3",
                    "Line 3 server (simulated)",
                )
                .with_required_endpoint_url("opc.tcp://line3-ua:4840"),
            ),
            DeviceSpec::new(host(base, 64), "edge-gateway")
                .with_opcua(port, edge_gateway_opcua())
                .with_modbus(
                    ports.modbus,
                    ModbusDeviceConfig::new("open62541 (simulated)", "EDGE-GW-2", "1.3.9")
                        .with_object(obj::PRODUCT_NAME, "Edge gateway (simulated)")
                        .with_conformity_level(0x81),
                ),
        ]);
        let port = ports.http;
        spec.devices.extend([
            DeviceSpec::new(host(base, 160), "serial-server-web").with_http(
                port,
                WebDeviceConfig::new(WebResponse::page(
                    401,
                    "Unauthorized",
                    &[
                        ("Server", "MoxaHttp/1.0"),
                        ("WWW-Authenticate", "Basic realm=\"NPort Web Console\""),
                        ("Content-Type", "text/html"),
                    ],
                    "<HTML><HEAD><TITLE>NPort Web Console</TITLE></HEAD><BODY>401 Unauthorized</BODY></HTML>",
                )),
            ),
            DeviceSpec::new(host(base, 161), "ups-card-web")
                .with_http(
                    port,
                    WebDeviceConfig::new(WebResponse::redirect(
                        303,
                        "https://ups-card/logon.htm",
                        &[
                            ("Server", "Allegro-Software-RomPager/4.01"),
                            ("Set-Cookie", "C0=00000000; path=/"),
                        ],
                    )),
                )
                .with_https(
                    ports.https,
                    WebDeviceConfig::new(WebResponse::redirect(303, "/logon.htm", &[(
                        "Server",
                        "Allegro-Software-RomPager/4.01",
                    )]))
                    .route(
                        "/logon.htm",
                        WebResponse::page(
                            200,
                            "OK",
                            &[("Server", "Allegro-Software-RomPager/4.01"), ("Content-Type", "text/html")],
                            "<html><head><title>APC | Log On</title></head><body>Network Management Card (simulated)</body></html>",
                        ),
                    ),
                    // The self-signed certificate an APC Network Management Card makes for
                    // itself (its serial number as the common name).
                    CertificateSpec::distinguished(&[
                        ("C", "US"),
                        ("ST", "Default State"),
                        ("L", "Default Locality"),
                        ("O", "American Power Conversion Corp"),
                        ("OU", "Internally Generated Certificate"),
                        ("CN", "ZA1906SIM042"),
                    ]),
                ),
            DeviceSpec::new(host(base, 166), "hmi-tls10-only").with_legacy_tls(
                ports.https,
                LegacyTlsConfig::tls10(CertificateSpec::new("Schneider Electric", "Magelis HMI", &["hmi-line1"])),
            ),
            DeviceSpec::new(host(base, 165), "switch-web-https").with_https(
                ports.https,
                WebDeviceConfig::new(WebResponse::page(
                    401,
                    "Unauthorized",
                    &[
                        ("Server", "Hirschmann Webserver"),
                        ("WWW-Authenticate", "Basic realm=\"Industrial HiVision\""),
                    ],
                    "<html><head><title>Hirschmann RSP (simulated)</title></head></html>",
                )),
                CertificateSpec::new("Hirschmann Automation and Control GmbH", "RSP-SWITCH-7", &["rsp-switch-7"]),
            ),
            DeviceSpec::new(host(base, 162), "plc-wago-web").with_http(
                port,
                WebDeviceConfig::new(WebResponse::chunked(
                    200,
                    "OK",
                    &[
                        ("Server", "lighttpd/1.4.59"),
                        ("Content-Type", "text/html; charset=utf-8"),
                    ],
                    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>WAGO Ethernet Web-Based Management</title></head><body>750-8202 PFC200 (simulated)</body></html>",
                    32,
                )),
            ),
            DeviceSpec::new(host(base, 163), "plc-m580-web").with_http(
                port,
                WebDeviceConfig::new(WebResponse::raw(
                    [
                        b"HTTP/1.1 200 OK\r\nServer: Schneider-WEB/V2.1.4\r\nContent-Type: text/html; charset=ISO-8859-1\r\nConnection: close\r\n\r\n<html><head><title>Modicon M580 - Page d'accueil \xe9</title></head>".as_slice(),
                        b"<body>BMEP58 (simulated)</body></html>",
                    ]
                    .concat(),
                )),
            ),
            DeviceSpec::new(host(base, 164), "gateway-web").with_http(
                port,
                WebDeviceConfig::new(WebResponse::page(
                    200,
                    "OK",
                    &[
                        ("Server", "Apache"),
                        ("X-Powered-By", "PHP/5.6.40"),
                        ("Set-Cookie", "PHPSESSID=9f2c1e0d4b; path=/; HttpOnly"),
                        ("Content-Type", "text/html"),
                    ],
                    "<html><head>\n<title>\n  Edge&nbsp;Gateway &amp; Protocol\n  Converter &#8211; Login\n</title></head></html>",
                )),
            ),
        ]);
        let port = ports.telnet;
        // IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD; IAC DO TERMINAL-TYPE, IAC DO NAWS.
        let will_echo_sga: &[u8] = &[255, 251, 1, 255, 251, 3];
        let do_ttype_naws: &[u8] = &[255, 253, 24, 255, 253, 31];
        spec.devices.extend([
            DeviceSpec::new(host(base, 155), "serial-server-telnet").with_telnet(
                port,
                BannerDeviceConfig::telnet(
                    will_echo_sga,
                    "\r\n\r\nModel name       : NPort IA-5250\r\nMAC address      : 00:90:E8:00:00:01\r\nSerial No.       : 1042\r\nFirmware version : 1.6 Build 17060616\r\nSystem uptime    : 12 days, 04h:10m:09s\r\n\r\nPlease keyin your password: ",
                ),
            ),
            DeviceSpec::new(host(base, 156), "switch-telnet-login").with_telnet(
                port,
                BannerDeviceConfig::telnet(
                    &[do_ttype_naws, will_echo_sga].concat(),
                    "\r\n\r\nUser Access Verification\r\n\r\nUsername: ",
                ),
            ),
            DeviceSpec::new(host(base, 157), "plc-telnet-shell")
                .with_telnet(port, BannerDeviceConfig::new("\r\nVxWorks login: ")),
        ]);
        let port = ports.ftp;
        spec.devices.extend([
            DeviceSpec::new(host(base, 152), "hmi-panel-ftp").with_ftp(
                port,
                BannerDeviceConfig::new(
                    "220-Operator panel HMI-15 (simulated)\r\n220-Recipes and logs only\r\n220 FTP server ready\r\n",
                ),
            ),
            DeviceSpec::new(host(base, 153), "plc-vxworks-ftp").with_ftp(
                port,
                BannerDeviceConfig::ftp_ready("VxWorks (VxWorks5.5.1) FTP server ready"),
            ),
            DeviceSpec::new(host(base, 154), "rtu-ftp-busy")
                .with_ftp(port, BannerDeviceConfig::new("421 Too many connections\r\n").with_end(BannerEnd::Close)),
        ]);
        let port = ports.ssh;
        spec.devices.extend([
            DeviceSpec::new(host(base, 150), "switch-ie-ssh")
                .with_ssh(port, BannerDeviceConfig::new("SSH-1.99-Cisco-1.25\r\n")),
            DeviceSpec::new(host(base, 151), "serial-server-ssh").with_ssh(
                port,
                BannerDeviceConfig::new(
                    "Serial device server (simulated)\r\nAuthorised access only\r\n",
                )
                .then(
                    std::time::Duration::from_millis(20),
                    "SSH-2.0-dropbear_2019.78\r\n",
                ),
            ),
        ]);
        spec
    }

    /// [`PlantSpec::demo`] plus hostile and edge-case devices on hosts .30 to .38, all on
    /// `modbus_port`:
    ///
    /// | host | name | behaviour |
    /// |------|------|-----------|
    /// | .30 | `rdi-silent` | never answers FC 0x2B, FC 0x11 gets exception 01 |
    /// | .31 | `trailing-bytes` | two extra bytes after the objects |
    /// | .32 | `looping-continuation` | one object per page, last page points back to object 0 |
    /// | .33 | `endless-continuation` | more follows forever, next object id always increasing |
    /// | .34 | `gateway-no-path` | every unit id gets exception 0x0A |
    /// | .35 | `non-utf8-vendor` | vendor name with Latin-1 and 0xFF bytes |
    /// | .36 | `rdi-busy` | FC 0x2B gets exception 0x06 (server busy) |
    /// | .37 | `unit-255-only` | answers only unit 255, silent otherwise |
    /// | .38 | `big-objects` | four 100-byte extended objects: pages cut by the 253-byte limit |
    pub fn test_subnet(base: Ipv4Addr, modbus_port: u16) -> Self {
        let port = modbus_port;
        let simulated = || ModbusDeviceConfig::new("Simulated Vendor", "SIM-EDGE", "v0.1");
        let mut spec = Self::demo(base, modbus_port);
        spec.devices.extend([
            DeviceSpec::new(host(base, 30), "rdi-silent")
                .with_modbus(port, simulated().with_read_device_id(RdiBehaviour::Silent)),
            DeviceSpec::new(host(base, 31), "trailing-bytes").with_modbus(
                port,
                simulated().with_quirk(ModbusQuirk::TrailingBytes(vec![0x00, 0x00])),
            ),
            DeviceSpec::new(host(base, 32), "looping-continuation").with_modbus(
                port,
                simulated()
                    .with_max_objects_per_page(1)
                    .with_quirk(ModbusQuirk::LoopingContinuation),
            ),
            DeviceSpec::new(host(base, 33), "endless-continuation").with_modbus(
                port,
                simulated().with_quirk(ModbusQuirk::EndlessContinuation),
            ),
            DeviceSpec::new(host(base, 34), "gateway-no-path").with_modbus(
                port,
                simulated()
                    .with_unit_ids(UnitIdPolicy::only([], OtherUnitIds::GatewayPathUnavailable)),
            ),
            DeviceSpec::new(host(base, 35), "non-utf8-vendor").with_modbus(
                port,
                simulated().with_object(obj::VENDOR_NAME, b"Sim\xE9 \xFF\x00GmbH".to_vec()),
            ),
            DeviceSpec::new(host(base, 36), "rdi-busy").with_modbus(
                port,
                simulated().with_read_device_id(RdiBehaviour::Exception(0x06)),
            ),
            DeviceSpec::new(host(base, 37), "unit-255-only").with_modbus(
                port,
                simulated().with_unit_ids(UnitIdPolicy::only([255], OtherUnitIds::Silent)),
            ),
            DeviceSpec::new(host(base, 38), "big-objects").with_modbus(
                port,
                (0x80..0x84)
                    .fold(simulated(), |c, id| {
                        c.with_object(id, vec![b'A' + (id - 0x80); 100])
                    })
                    .with_conformity_level(0x83),
            ),
        ]);
        spec
    }
}

/// Simulated TwinCAT fingerprints (64 lower-case hex characters, as TwinCAT 3.1.4024 and
/// later send them).
const ADS_FINGERPRINT_CX9020: &str =
    "7d1f4c0e9a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081920a1b2c";
const ADS_FINGERPRINT_C6015: &str =
    "c29952a3976633423f118913a84b0ac671f841eb56837b2709de663f0c971f91";
const ADS_FINGERPRINT_CX5130: &str =
    "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030201000";

/// The FX5U model code the simulated iQ-F CPU sends: simulated, not verified against a
/// real FX5U (public tables found list Q, L and iQ-R codes only).
const FX5U_SIMULATED_CODE: u16 = 0x4A23;

/// A 32-byte product name that is not UTF-8: Latin-1 letters, a 0xFF and a NUL pad.
const LATIN1_NAME: &[u8; 32] = b"E/A-Modul \xDCberwachung Stra\xDFe 7\xFF\x00";

/// The M580's MAC, the same as its Modbus vendor object 0x81 (00:80:F4 is Schneider's OUI).
const M580_MAC: [u8; 6] = [0x00, 0x80, 0xF4, 0x5A, 0x00, 0x2A];

/// One day in TimeTicks (hundredths of a second).
const DAY_TICKS: u32 = 8_640_000;

/// `plc-m580`'s agent: the CPU's embedded Ethernet port, with the identity its Modbus objects
/// carry.
fn m580_snmp() -> SnmpAgentConfig {
    SnmpAgentConfig::system(
        "Schneider Electric Modicon M580 BME P58 2040 CPU, firmware V4.02 (simulated)",
        mib::enterprise(3833, &[1, 7, 255, 58]),
        "m580-boiler",
        "Boiler house, rack 1",
        "controls@plant.example",
        72,
        3 * DAY_TICKS,
    )
    .with_entity(
        1,
        EntityRow::new("Modicon M580 CPU")
            .with_hardware_rev("PV03")
            .with_firmware_rev("V4.02")
            .with_software_rev("V4.02")
            .with_serial_num("SIM-580-000042")
            .with_mfg_name("Schneider Electric")
            .with_model_name("BME P58 2040"),
    )
    .with_if_mac(1, M580_MAC)
    .with_engine(engine_id::mac(3833, M580_MAC), 12, 259_200)
}

/// `ups-smt1500`: an APC Smart-UPS behind a Network Management Card 3, which has no ENTITY-MIB
/// but its own PowerNet-MIB identity objects.
fn apc_ups_snmp() -> SnmpAgentConfig {
    const MAC: [u8; 6] = [0x00, 0xC0, 0xB7, 0x4A, 0x12, 0x9E];
    let ups = |arcs: &[u32]| mib::enterprise(318, &[1, 1, 1]).child(arcs);
    SnmpAgentConfig::system(
        "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.8.2 PN:apc_hw05_aos_682.bin \
         AF1:v6.8.2 AN1:apc_hw05_sumx_682.bin MN:AP9641 HR:05 SN: ZA1906SIM042 MD:02/08/2019) \
         (Embedded PowerNet SNMP Agent SW v2.2 compatible)",
        mib::enterprise(318, &[1, 3, 27]),
        "ups-mcc1",
        "MCC room 1",
        "facilities@plant.example",
        72,
        31 * DAY_TICKS,
    )
    // upsBasicIdentModel, upsAdvIdentFirmwareRevision, upsAdvIdentSerialNumber,
    // upsBasicBatteryStatus (2 normal), upsAdvBatteryCapacity.
    .with_value(ups(&[1, 1, 1, 0]), "Smart-UPS 1500")
    .with_value(ups(&[1, 2, 1, 0]), "UPS 09.3 (ID18)")
    .with_value(ups(&[1, 2, 3, 0]), "AS1906SIM042")
    .with_value(ups(&[2, 1, 1, 0]), SnmpValue::Integer(2))
    .with_value(ups(&[2, 2, 1, 0]), SnmpValue::Gauge32(100))
    .with_if_mac(1, MAC)
    .with_engine(engine_id::mac(318, MAC), 7, 2_678_400)
}

/// `switch-ie2000`: a Cisco IE 2000, entity indexes from 1001 as Catalyst-family IOS numbers
/// them, a port row with empty columns and an SFP with its own serial.
fn cisco_ie_snmp() -> SnmpAgentConfig {
    const BASE_MAC: [u8; 6] = [0x00, 0x2A, 0x6A, 0x3C, 0x81, 0x80];
    SnmpAgentConfig::system(
        "Cisco IOS Software, IE2000 Software (IE2000-UNIVERSALK9-M), Version 15.2(4)EA9, \
         RELEASE SOFTWARE (fc1)\r\nTechnical Support: http://www.cisco.com/techsupport\r\n\
         Copyright (c) 1986-2020 by Cisco Systems, Inc.\r\nCompiled Tue 09-Jun-20 02:33 by mcpre",
        mib::enterprise(9, &[1, 1745]),
        "sw-cell3.plant.example",
        "Cell 3 control cabinet",
        "network@plant.example",
        2,
        14 * DAY_TICKS,
    )
    .with_entity(
        1001,
        EntityRow::new("IE-2000-8TC-G-B")
            .with_hardware_rev("V04")
            .with_firmware_rev("15.2(4r)EA2")
            .with_software_rev("15.2(4)EA9")
            .with_serial_num("FOC2215SIM3")
            .with_mfg_name("Cisco Systems, Inc.")
            .with_model_name("IE-2000-8TC-G-B"),
    )
    .with_entity(1002, EntityRow::new("GigabitEthernet1/1"))
    .with_entity(
        1003,
        EntityRow::new("1000BaseSX SFP")
            .with_hardware_rev("V01")
            .with_serial_num("FNS1922SIM7")
            .with_mfg_name("CISCO-FINISAR")
            .with_model_name("GLC-SX-MM-RGD"),
    )
    .with_if_mac(1, [0x00, 0x2A, 0x6A, 0x3C, 0x81, 0xC0])
    .with_if_mac(10101, [0x00, 0x2A, 0x6A, 0x3C, 0x81, 0x81])
    // Null0 has no hardware address: a zero-length ifPhysAddress, as IOS serves it.
    .with_value(
        mib::if_phys_address(14501),
        SnmpValue::OctetString(Vec::new()),
    )
    .with_engine(engine_id::mac(9, BASE_MAC), 3, 1_209_600)
}

/// `nport-5150`: a Moxa serial device server whose read community was changed to "private".
fn moxa_nport_snmp() -> SnmpAgentConfig {
    const MAC: [u8; 6] = [0x00, 0x90, 0xE8, 0x3A, 0x9F, 0x21];
    SnmpAgentConfig::system(
        "NPort 5150",
        mib::enterprise(8691, &[2, 7]),
        "NP5150_3A9F21",
        "Pump house cabinet 2",
        "",
        72,
        5 * DAY_TICKS,
    )
    .with_communities(["private"])
    .with_if_mac(1, MAC)
    .with_engine(engine_id::mac(8691, MAC), 2, 432_000)
}

/// `snmp-v1-legacy`: an old RTU's agent that speaks SNMPv1 only (v2c and v3 dropped
/// without a word) and does not implement sysContact or sysLocation: a Get of the whole
/// system group gets noSuchName for the first of them.
fn v1_legacy_snmp() -> SnmpAgentConfig {
    let mut agent = SnmpAgentConfig::system(
        "SEL-3530 RTAC (simulated)",
        mib::enterprise(31_200, &[1, 3530]),
        "rtac-sub-7",
        "",
        "",
        78,
        DAY_TICKS,
    )
    .with_versions(SnmpVersions {
        v1: true,
        v2c: false,
        v3: false,
    });
    agent
        .values
        .remove(&crate::snmp::Oid::from(mib::SYS_CONTACT));
    agent
        .values
        .remove(&crate::snmp::Oid::from(mib::SYS_LOCATION));
    agent
}

/// `snmp-small-buffer`: an embedded agent whose 160-byte message buffer cannot hold the
/// whole system group in one reply: tooBig, until asked for less.
fn small_buffer_snmp() -> SnmpAgentConfig {
    SnmpAgentConfig::system(
        "Power meter PM5560 (simulated) firmware 2.7.4 build 18",
        mib::enterprise(3833, &[1, 5560]),
        "pm5560-feeder-3",
        "Switchgear room, feeder 3",
        "facilities@example.invalid",
        72,
        3 * DAY_TICKS,
    )
    .with_max_message_size(160)
}

/// `scalance-v3only`: a Siemens SCALANCE switch hardened to SNMPv3: the objects exist but only
/// engine discovery is reachable without credentials.
fn scalance_snmp() -> SnmpAgentConfig {
    const MAC: [u8; 6] = [0x00, 0x1B, 0x1B, 0x8C, 0x55, 0x0E];
    SnmpAgentConfig::system(
        "Siemens, SIMATIC NET, SCALANCE XC208, 6GK5 208-0BA00-2AC2, HW: Version 1, \
         FW: Version V04.01.00 (simulated)",
        mib::enterprise(4329, &[20, 1, 1, 1, 1, 79]),
        "scalance-xc208-hall2",
        "Hall 2",
        "network@plant.example",
        2,
        7_259 * 100,
    )
    .with_versions(SnmpVersions::V3_ONLY)
    .with_if_mac(1, MAC)
    .with_engine(engine_id::mac(4329, MAC), 41, 7_259)
}

/// `snmp-generr`: a net-snmp based RTU gateway whose instrumentation fails on every request.
fn generr_snmp() -> SnmpAgentConfig {
    SnmpAgentConfig::system(
        "Linux rtu-gw 4.19.0-sim #1 SMP PREEMPT armv7l",
        mib::enterprise(8072, &[3, 2, 10]),
        "rtu-gw",
        "Substation 4",
        "scada@plant.example",
        72,
        DAY_TICKS / 2,
    )
    .with_behaviour(SnmpBehaviour::ErrorStatus(snmp::error_status::GEN_ERR))
    // net-snmp's default: format 128 (enterprise specific), 4 random bytes and 4 time bytes.
    .with_engine(
        engine_id::rfc3411(
            8072,
            0x80,
            &[0x5B, 0x1E, 0x3C, 0x2D, 0xA9, 0x6F, 0x61, 0x65],
        ),
        5,
        43_200,
    )
}

/// `snmp-odd-strings`: an old Hirschmann-like agent with a Latin-1 sysDescr, a 60-byte sysName,
/// a legacy engine id and the value types scanners meet less often.
fn odd_strings_snmp(ip: Ipv4Addr) -> SnmpAgentConfig {
    SnmpAgentConfig::system(
        b"Ger\xE4t \xDCberwachung \xFF\x00 Steuerung \x81\x82 (simulated)".to_vec(),
        mib::enterprise(248, &[14, 10, 41]),
        "packaging-line-7-north-cabinet-controller-redundant-pair-a01",
        b"Halle S\xFCd".to_vec(),
        "",
        6,
        u32::MAX,
    )
    // ifHCInOctets.1 (Counter64, hidden from v1) and ipAdEntAddr.<ip> (IpAddress).
    .with_value(
        [1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1],
        SnmpValue::Counter64(0x1_0000_0000_0001),
    )
    .with_value(
        snmp::Oid::from([1, 3, 6, 1, 2, 1, 4, 20, 1, 1]).child(&ip.octets().map(u32::from)),
        SnmpValue::IpAddress(ip.octets()),
    )
    .with_if_mac(1, [0x00, 0x80, 0x63, 0x11, 0x22, 0x33])
    .with_engine(
        engine_id::legacy(248, [0x00, 0x80, 0x63, 0x11, 0x22, 0x33, 0x00, 0x00]),
        1,
        17,
    )
}

/// `bacnet-nae`: a Johnson Controls Metasys network engine, a building controller answering
/// everything.
fn jci_nae_bacnet() -> BacnetDeviceConfig {
    BacnetDeviceConfig::new(1040, 5, "Johnson Controls, Inc.", "MS-NAE5510-2")
        .with_firmware_revision("11.0.0.611")
        .with_application_software_version("NAE 11.0 (simulated)")
        .with_object_name("NAE-BLDG-A")
        .with_description("Building A network engine (simulated)")
        .with_location("Building A, mechanical room 1")
        .with_segmentation(bacnet::segmentation::BOTH)
}

/// `bacnet-no-rpm`: an older Delta Controls system controller without ReadPropertyMultiple.
fn delta_dsc_bacnet() -> BacnetDeviceConfig {
    BacnetDeviceConfig::new(8041, 8, "Delta Controls", "DSC-1616E")
        .with_firmware_revision("V3.40")
        .with_application_software_version("V3.40 build 1537 (simulated)")
        .with_object_name("DSC-AHU1")
        .with_description("AHU 1 controller (simulated)")
        .with_location("Roof, AHU 1")
        .with_max_apdu(480)
        .without_rpm()
}

/// `bacnet-who-is`: a Siemens Desigo PX controller that does not take the wildcard instance,
/// with a German location in ISO 8859-1 and a description that claims UTF-8 but is not.
fn siemens_pxc_bacnet() -> BacnetDeviceConfig {
    BacnetDeviceConfig::new(2_098_178, 7, "Siemens Building Technologies", "PXC36-E.D")
        .with_firmware_revision("V6.00.070")
        .with_application_software_version("Desigo PX 6.00 (simulated)")
        .with_object_name("PXC-Heizung-Sued")
        .with_description(BacnetString::raw(
            bacnet::charset::UTF8,
            b"Heizung \xFC\xFF S\xFCd".to_vec(),
        ))
        .with_location(BacnetString::latin1(b"Geb\xE4ude S\xFCd, UG".to_vec()))
        .with_segmentation(bacnet::segmentation::BOTH)
        .refusing_wildcard()
}

/// `bacnet-routed`: an Automated Logic zone controller on MS/TP behind a router, reached through
/// a BBMD.
fn alc_zn551_bacnet() -> BacnetDeviceConfig {
    BacnetDeviceConfig::new(
        243_043,
        24,
        "Automated Logic Corporation",
        "ZN551 (simulated)",
    )
    .with_firmware_revision("6.00:042")
    .with_application_software_version("zn551_v6")
    .with_object_name("VAV-3-12")
    .with_location("Floor 3, zone 12")
    .with_max_apdu(480)
    .forwarded()
    .routed(2001, [0x0C])
}

/// `bacnet-small-apdu`: a Honeywell Spyder with the smallest max APDU BACnet allows.
fn honeywell_spyder_bacnet() -> BacnetDeviceConfig {
    BacnetDeviceConfig::new(17_044, 17, "Honeywell", "Spyder PUB6438S")
        .with_firmware_revision("3.0.14")
        .with_application_software_version("1.2 (simulated)")
        .with_object_name("VAV-2-07")
        .with_description("Spyder VAV (simulated)")
        .with_location("Floor 2, zone 7")
        .with_max_apdu(50)
}

/// `bacnet-refuse-all`: a Trane unit controller whose application refuses every read.
fn trane_refuse_all_bacnet() -> BacnetDeviceConfig {
    BacnetDeviceConfig::new(2045, 2, "Trane", "Tracer UC400 (simulated)")
        .with_object_name("UC400-CHW")
        .refusing_all(BacnetRefusal::Error {
            class: bacnet::error_class::DEVICE,
            code: bacnet::error_code::OPERATIONAL_PROBLEM,
        })
}

/// `bacnet-latin1-placeholders`: a Tridium JACE whose integrator typed the station name in
/// a Windows-1252 editor (charset 0 claimed, `E9` for é) and left placeholders where the
/// vendor-name, model-name and firmware-revision go.
fn tridium_latin1_bacnet() -> BacnetDeviceConfig {
    BacnetDeviceConfig::new(
        3046,
        36,
        BacnetString::utf8("unknown"),
        BacnetString::utf8("-"),
    )
    .with_firmware_revision("")
    .with_application_software_version("4.10.0.154 (simulated)")
    .with_object_name(BacnetString::raw(
        bacnet::charset::UTF8,
        b"Chaufferie Caf\xE9".to_vec(),
    ))
}

/// `fox-jace8000`'s BACnet/IP side: the same JACE, Tridium's ASHRAE vendor id 36.
fn jace8000_bacnet() -> BacnetDeviceConfig {
    BacnetDeviceConfig::new(
        80080,
        36,
        BacnetString::utf8("Tridium, Inc."),
        BacnetString::utf8("JACE-8000"),
    )
    .with_firmware_revision("4.10.1.36")
    .with_application_software_version("Niagara 4.10.1.36 (simulated)")
    .with_object_name(BacnetString::utf8("jace-ahu-1"))
}

/// `plc-s7-315`'s order number, serial and MAC, shared by its S7 and SNMP identities.
const S7_315_ORDER: &str = "6ES7 315-2EH14-0AB0";
const S7_315_SERIAL: &str = "S C-X4U421302009";
const S7_315_MAC: [u8; 6] = [0x00, 0x1B, 0x1B, 0x21, 0x04, 0xA7];

/// `plc-s7-315`: a CPU 315-2 PN/DP. Six 0x001C records: all that fit its 240-byte PDU.
fn s7_315() -> S7DeviceConfig {
    S7DeviceConfig::new()
        .with_pdu_length(240)
        .with_module(S7_315_ORDER, 4)
        .with_basic_hardware(S7_315_ORDER, 4)
        .with_basic_firmware(3, 2, 8)
        .with_component(ci::SYSTEM_NAME, "SIMATIC 300(1)")
        .with_component(ci::MODULE_NAME, "CPU 315-2 PN/DP")
        .with_component(ci::PLANT_ID, "FILLER-LINE-1")
        .with_component(ci::COPYRIGHT, "Original Siemens Equipment")
        .with_component(ci::SERIAL_NUMBER, S7_315_SERIAL)
        .with_component(ci::MODULE_TYPE_NAME, "CPU 315-2 PN/DP")
}

/// `plc-s7-315`'s agent: the CPU's PROFINET interface.
fn s7_315_snmp() -> SnmpAgentConfig {
    SnmpAgentConfig::system(
        format!(
            "Siemens, SIMATIC S7, CPU-300, {S7_315_ORDER}, HW: Version 4, FW: Version V3.2.8, \
             {S7_315_SERIAL}"
        ),
        mib::enterprise(4329, &[6, 3, 2, 1]),
        "s7-315-filler",
        "Line 1 control cabinet",
        "",
        72,
        9 * DAY_TICKS,
    )
    .with_entity(
        1,
        EntityRow::new("CPU 315-2 PN/DP")
            .with_hardware_rev("4")
            .with_firmware_rev("V3.2.8")
            .with_serial_num(S7_315_SERIAL)
            .with_mfg_name("Siemens AG")
            .with_model_name(S7_315_ORDER),
    )
    .with_if_mac(1, S7_315_MAC)
    .with_engine(engine_id::mac(4329, S7_315_MAC), 4, 777_600)
}

/// `plc-s7-416`: a CPU 416-3 PN/DP in slot 3 of a 400 rack.
fn s7_416() -> S7DeviceConfig {
    let order = "6ES7 416-3ES07-0AB0";
    S7DeviceConfig::new()
        .with_tsaps([s7::tsap(0, 3), 0x0200])
        .with_pdu_length(480)
        .with_module(order, 2)
        .with_basic_hardware(order, 2)
        .with_basic_firmware(7, 0, 3)
        .with_component(ci::SYSTEM_NAME, "SIMATIC 400(1)")
        .with_component(ci::MODULE_NAME, "CPU 416-3 PN/DP")
        .with_component(ci::PLANT_ID, "BOILER-HOUSE")
        .with_component(ci::COPYRIGHT, "Original Siemens Equipment")
        .with_component(ci::SERIAL_NUMBER, "S Q-H7U30918")
        .with_component(ci::MODULE_TYPE_NAME, "CPU 416-3 PN/DP")
        .with_component(ci::MEMORY_CARD_SERIAL, "MMC 2C45A61B")
        .with_component(ci::LOCATION, "Hall 3, cabinet 12")
}

/// `plc-s7-1214`: a CPU 1214C answering module identification only, with 30-byte records.
fn s7_1214() -> S7DeviceConfig {
    let order = "6ES7 214-1AG40-0XB0";
    S7DeviceConfig::new()
        .with_tsaps([0x0100])
        .with_other_tsaps(TsapRefusal::Close)
        .with_pdu_length(240)
        .with_module_record_len(30)
        .with_module(order, 5)
        .with_basic_hardware(order, 5)
        .with_basic_firmware(4, 5, 2)
}

/// `plc-s7-1516`: a CPU 1516-3 PN/DP with PUT/GET access off.
/// The S7-1500's web server: the start page redirects to the portal page.
fn s7_1500_web() -> WebDeviceConfig {
    WebDeviceConfig::new(WebResponse::redirect(302, "/Portal/Portal.mwsl", &[]))
        .route(
            "/Portal/Portal.mwsl",
            WebResponse::page(
                200,
                "OK",
                &[
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Set-Cookie", "siemens_ad_session=0123abcd; path=/; HttpOnly"),
                ],
                "<!DOCTYPE html><html><head><title>SIMATIC 1500 Station  PLC_1</title></head><body>Start page (simulated)</body></html>",
            ),
        )
}

fn s7_1516() -> S7DeviceConfig {
    let order = "6ES7 516-3AN01-0AB0";
    S7DeviceConfig::new()
        .with_pdu_length(480)
        .with_module(order, 3)
        .with_basic_firmware(2, 8, 3)
        .with_component(ci::MODULE_NAME, "CPU 1516-3 PN/DP")
        .with_behaviour(S7Behaviour::RefuseSetup {
            class: s7::error_class::APPLICATION_RELATIONSHIP,
            code: 0x04,
        })
}

/// `plc-s7-lying-szl`: a CPU 317 whose SZL headers cannot be right: 0x0011 declares
/// LENTHDR 0 and one record over three, 0x001C 32-byte records over 34-byte ones.
fn s7_317_lying_szl() -> S7DeviceConfig {
    let order = "6ES7 317-2EK14-0AB0";
    S7DeviceConfig::new()
        .with_module(order, 3)
        .with_basic_hardware(order, 3)
        .with_basic_firmware(3, 2, 14)
        .with_component(ci::SYSTEM_NAME, "SIMATIC 300(2)")
        .with_component(ci::MODULE_NAME, "CPU 317-2 PN/DP")
        .with_component(ci::COPYRIGHT, "Original Siemens Equipment")
        .with_component(ci::SERIAL_NUMBER, "S C-L7A812340123")
        .with_component(ci::MODULE_TYPE_NAME, "CPU 317-2 PN/DP")
        .with_quirk(S7Quirk::SzlHeader {
            id: s7::szl_id::MODULE_IDENTIFICATION,
            record_len: Some(0),
            record_count: Some(1),
        })
        .with_quirk(S7Quirk::SzlHeader {
            id: s7::szl_id::COMPONENT_IDENTIFICATION,
            record_len: Some(32),
            record_count: None,
        })
}

/// `plc-s7-data-units`: a CPU 412-5H with ten 0x001C records, more than its 240-byte PDU
/// holds: sent in two data units.
fn s7_412_data_units() -> S7DeviceConfig {
    let order = "6ES7 412-5HK06-0AB0";
    S7DeviceConfig::new()
        .with_pdu_length(240)
        .with_module(order, 6)
        .with_basic_hardware(order, 6)
        .with_basic_firmware(6, 0, 10)
        .with_component(ci::SYSTEM_NAME, "SIMATIC 400H(1)")
        .with_component(ci::MODULE_NAME, "CPU 412-5H PN/DP")
        .with_component(ci::PLANT_ID, "TURBINE-HALL-2")
        .with_component(ci::COPYRIGHT, "Original Siemens Equipment")
        .with_component(ci::SERIAL_NUMBER, "S C-H2F735510442")
        .with_component(ci::MODULE_TYPE_NAME, "CPU 412-5H PN/DP")
        .with_component(ci::MEMORY_CARD_SERIAL, "MMC 5E31A0C7")
        .with_component(9, "Siemens AG / S7-400H")
        .with_component(10, "OEM 0000")
        .with_component(ci::LOCATION, "Turbine hall 2, rack A")
        .with_quirk(S7Quirk::DataUnits)
}

/// `plc-s7-1500-opcua`: a Siemens-like S7-1500 OPC UA server: no anonymous access,
/// SecurityPolicy None offered for UserName only, two secure endpoints.
fn s7_1500_opcua() -> OpcuaServerConfig {
    let uri = "urn:SIMATIC.S7-1500.OPC-UA.Application:PLC_1";
    OpcuaServerConfig::new(uri, "https://www.siemens.com/simatic-s7-opcua", &uri[4..])
        .with_endpoint_url("opc.tcp://192.168.0.1:4840")
        .with_certificate(opcua::CERT_S7_1500)
        .with_endpoints(vec![
            UaEndpoint::new(1, opcua::policy::NONE, &[1]),
            UaEndpoint::new(2, opcua::policy::BASIC256SHA256, &[1, 2]),
            UaEndpoint::new(3, opcua::policy::BASIC256SHA256, &[1, 2]),
        ])
}

/// `kepware-gateway`: a Kepware-like gateway with small chunks and anonymous access.
fn kepware_opcua() -> OpcuaServerConfig {
    OpcuaServerConfig::new(
        "urn:kepware-gw:Kepware.KEPServerEX.V6:UA Server",
        "urn:Kepware.KEPServerEX.V6",
        "KEPServerEX/UA Server",
    )
    .with_locale(None)
    .with_endpoint_url("opc.tcp://kepware-gw:49320")
    .with_certificate(opcua::CERT_KEPWARE)
    .with_send_buffer_size(8192)
    .with_endpoints(vec![
        UaEndpoint::new(1, opcua::policy::NONE, &[0, 1]),
        UaEndpoint::new(2, opcua::policy::BASIC128RSA15, &[0, 1]),
        UaEndpoint::new(3, opcua::policy::BASIC128RSA15, &[0, 1]),
        UaEndpoint::new(2, opcua::policy::BASIC256, &[0, 1]),
        UaEndpoint::new(3, opcua::policy::BASIC256, &[0, 1]),
        UaEndpoint::new(2, opcua::policy::BASIC256SHA256, &[0, 1]),
        UaEndpoint::new(3, opcua::policy::BASIC256SHA256, &[0, 1]),
        UaEndpoint::new(3, opcua::policy::AES128_SHA256_RSAOAEP, &[0, 1]),
    ])
}

/// `edge-gateway`: an open62541-based discovery server naming two servers behind it.
fn edge_gateway_opcua() -> OpcuaServerConfig {
    let behind = |uri: &str, name: &str, url: &str| UaApplication {
        application_uri: uri.to_owned(),
        product_uri: "http://open62541.org".to_owned(),
        application_name: name.to_owned(),
        locale: Some("en-US".to_owned()),
        application_type: 0,
        discovery_urls: vec![url.to_owned()],
    };
    OpcuaServerConfig::new(
        "urn:open62541.server.application",
        "http://open62541.org",
        "open62541-based edge gateway (simulated)",
    )
    .with_application_type(3)
    .with_endpoint_url("opc.tcp://edge-gw:4840")
    .with_certificate(opcua::CERT_GENERIC)
    .with_other_server(behind(
        "urn:press-7:open62541.server",
        "Press 7 (simulated)",
        "opc.tcp://press-7:4840",
    ))
    .with_other_server(behind(
        "urn:oven-2:open62541.server",
        "Oven 2 (simulated)",
        "opc.tcp://oven-2:4840",
    ))
}

/// `plc-s7-szl-refused`: a CPU 312 whose SZL reads are all refused.
fn s7_312_no_szl() -> S7DeviceConfig {
    let order = "6ES7 312-1AE14-0AB0";
    S7DeviceConfig::new()
        .with_module(order, 1)
        .with_component(ci::MODULE_NAME, "CPU 312")
        .with_behaviour(S7Behaviour::RefuseSzl)
}

/// A running device of a [`Plant`]: its spec and where its services actually listen.
#[derive(Debug)]
pub struct PlantDevice {
    /// The device's description.
    pub spec: DeviceSpec,
    /// Where the Modbus server listens, if there is one.
    pub modbus: Option<SocketAddr>,
    /// Where the EtherNet/IP device listens (TCP and UDP share the port), if there is one.
    pub enip: Option<SocketAddr>,
    /// Where the silent TCP port listens, if there is one.
    pub silent_tcp: Option<SocketAddr>,
    /// Where the SNMP agent listens (UDP), if there is one.
    pub snmp: Option<SocketAddr>,
    /// Where the BACnet/IP device listens (UDP), if there is one.
    pub bacnet: Option<SocketAddr>,
    /// Where the S7 CPU listens (TCP), if there is one.
    pub s7: Option<SocketAddr>,
    /// Where the OPC UA server listens (TCP), if there is one.
    pub opcua: Option<SocketAddr>,
    /// Where the FINS PLC listens (UDP and TCP share the port), if there is one.
    pub fins: Option<SocketAddr>,
    /// Where the Niagara station listens (TCP Fox), if there is one.
    pub fox: Option<SocketAddr>,
    /// Where the MELSEC CPU listens (TCP and/or UDP on one port), if there is one.
    pub melsec: Option<SocketAddr>,
    /// Where the KNXnet/IP device listens (UDP), if there is one.
    pub knx: Option<SocketAddr>,
    /// Where the TwinCAT system answers ADS discovery (UDP), if there is one.
    pub ads: Option<SocketAddr>,
    /// Where the HART-IP server listens (TCP), if there is one.
    pub hart: Option<SocketAddr>,
    /// Where the PROFINET device's endpoint mapper answers (UDP), if there is one.
    pub profinet: Option<SocketAddr>,
    /// Where the CODESYS runtime answers the NameService (UDP), if there is one.
    pub codesys: Option<SocketAddr>,
    /// Where the SSH server listens (TCP), if there is one.
    pub ssh: Option<SocketAddr>,
    /// Where the FTP server listens (TCP), if there is one.
    pub ftp: Option<SocketAddr>,
    /// Where the telnet server listens (TCP), if there is one.
    pub telnet: Option<SocketAddr>,
    /// Where the web server listens (plain HTTP, TCP), if there is one.
    pub http: Option<SocketAddr>,
    /// Where the TLS web server (or the legacy TLS server) listens (TCP), if there is one.
    pub https: Option<SocketAddr>,
    /// The hostile or fragile services, in spec order, with what each saw.
    pub hostile: Vec<HostileEndpoint>,
    handles: Vec<DeviceHandle>,
}

impl PlantDevice {
    /// What the device serves, by the names otscan gives protocols (`"modbus"`, ...),
    /// plus `"silent tcp"`.
    pub fn speaks(&self) -> Vec<&'static str> {
        [
            (self.modbus.is_some(), "modbus"),
            (self.enip.is_some(), "enip"),
            (self.s7.is_some(), "s7"),
            (self.opcua.is_some(), "opcua"),
            (self.fins.is_some(), "fins"),
            (self.fox.is_some(), "fox"),
            (self.bacnet.is_some(), "bacnet"),
            (self.snmp.is_some(), "snmp"),
            (self.melsec.is_some(), "melsec"),
            (self.knx.is_some(), "knx"),
            (self.ads.is_some(), "ads"),
            (self.hart.is_some(), "hart"),
            (self.profinet.is_some(), "profinet"),
            (self.codesys.is_some(), "codesys"),
            (self.ssh.is_some(), "ssh"),
            (self.ftp.is_some(), "ftp"),
            (self.telnet.is_some(), "telnet"),
            (self.http.is_some(), "http"),
            (self.https.is_some(), "https"),
            (self.silent_tcp.is_some(), "silent tcp"),
        ]
        .into_iter()
        .filter_map(|(present, name)| present.then_some(name))
        .collect()
    }
}

/// A running simulated plant. Dropping it aborts every device.
#[derive(Debug)]
pub struct Plant {
    recorder: Recorder,
    devices: Vec<PlantDevice>,
}

impl Plant {
    /// Binds and starts every device of `spec`; on any failure, stops those already started.
    /// Addresses outside loopback are refused.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn start(spec: PlantSpec) -> io::Result<Plant> {
        let recorder = Recorder::new();
        let mut devices = Vec::with_capacity(spec.devices.len());
        for spec in spec.devices {
            let in_context = |addr: SocketAddr, err: io::Error| {
                io::Error::new(err.kind(), format!("device {} at {addr}: {err}", spec.name))
            };
            let mut handles = Vec::new();
            let mut modbus = None;
            if let Some((port, config)) = &spec.modbus {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = ModbusDevice::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                modbus = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut enip = None;
            if let Some((port, config)) = &spec.enip {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = EnipDevice::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                enip = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut silent_tcp = None;
            if let Some(port) = spec.silent_tcp {
                let addr = SocketAddr::from((spec.ip, port));
                let handle =
                    SilentTcpDevice::spawn(addr, Framing::for_port(port), recorder.clone())
                        .map_err(|e| in_context(addr, e))?;
                silent_tcp = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut snmp = None;
            if let Some((port, config)) = &spec.snmp {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = SnmpAgent::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                snmp = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut bacnet = None;
            if let Some((port, config)) = &spec.bacnet {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = BacnetDevice::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                bacnet = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut s7 = None;
            if let Some((port, config)) = &spec.s7 {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = S7Device::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                s7 = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut melsec = None;
            if let Some((port, config)) = &spec.melsec {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = MelsecDevice::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                melsec = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut fins = None;
            if let Some((port, config)) = &spec.fins {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = FinsDevice::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                fins = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut ssh = None;
            if let Some((port, config)) = &spec.ssh {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle =
                    BannerDevice::spawn(addr, config.clone(), Framing::Ssh, recorder.clone())
                        .map_err(|e| in_context(addr, e))?;
                ssh = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut ftp = None;
            if let Some((port, config)) = &spec.ftp {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle =
                    BannerDevice::spawn(addr, config.clone(), Framing::Ftp, recorder.clone())
                        .map_err(|e| in_context(addr, e))?;
                ftp = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut telnet = None;
            if let Some((port, config)) = &spec.telnet {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle =
                    BannerDevice::spawn(addr, config.clone(), Framing::Telnet, recorder.clone())
                        .map_err(|e| in_context(addr, e))?;
                telnet = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut http = None;
            if let Some((port, config)) = &spec.http {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = WebDevice::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                http = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut https = None;
            if let Some((port, config, certificate)) = &spec.https {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle =
                    WebDevice::spawn_tls(addr, config.clone(), certificate, recorder.clone())
                        .map_err(|e| in_context(addr, e))?;
                https = Some(handle.local_addr());
                handles.push(handle);
            }
            if let Some((port, config)) = &spec.legacy_tls {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = WebDevice::spawn_legacy_tls(addr, config, recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                https = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut fox = None;
            if let Some((port, config)) = &spec.fox {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = FoxDevice::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                fox = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut knx = None;
            if let Some((port, config)) = &spec.knx {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = KnxDevice::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                knx = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut ads = None;
            if let Some((port, config)) = &spec.ads {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = AdsDevice::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                ads = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut hart = None;
            if let Some((port, config)) = &spec.hart {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = HartDevice::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                hart = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut profinet = None;
            if let Some((port, config)) = &spec.profinet {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = ProfinetDevice::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                profinet = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut codesys = None;
            if let Some((port, config)) = &spec.codesys {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = CodesysDevice::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                codesys = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut opcua = None;
            if let Some((port, config)) = &spec.opcua {
                let addr = SocketAddr::from((spec.ip, *port));
                let handle = OpcuaServer::spawn(addr, config.clone(), recorder.clone())
                    .map_err(|e| in_context(addr, e))?;
                opcua = Some(handle.local_addr());
                handles.push(handle);
            }
            let mut hostile = Vec::new();
            for service in &spec.hostile {
                let addr = SocketAddr::from((spec.ip, service.port));
                let handle = HostileDevice::spawn(
                    addr,
                    service.transport,
                    service.behaviour.clone(),
                    recorder.clone(),
                )
                .map_err(|e| in_context(addr, e))?;
                let (handle, facts) = handle.into_parts();
                hostile.push(HostileEndpoint {
                    addr: handle.local_addr(),
                    transport: service.transport,
                    behaviour: service.behaviour.clone(),
                    facts,
                });
                handles.push(handle);
            }
            devices.push(PlantDevice {
                spec,
                modbus,
                enip,
                silent_tcp,
                snmp,
                bacnet,
                s7,
                opcua,
                fins,
                fox,
                melsec,
                knx,
                ads,
                hart,
                profinet,
                codesys,
                ssh,
                ftp,
                telnet,
                http,
                https,
                hostile,
                handles,
            });
        }
        Ok(Plant { recorder, devices })
    }

    /// The recorder shared by every device of the plant.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// The running devices, in spec order.
    pub fn devices(&self) -> &[PlantDevice] {
        &self.devices
    }

    /// The running device called `name`.
    pub fn device(&self, name: &str) -> Option<&PlantDevice> {
        self.devices.iter().find(|d| d.spec.name == name)
    }

    /// Stops every device and returns once all their ports are free.
    pub async fn shutdown(self) {
        for device in self.devices {
            for handle in device.handles {
                handle.shutdown().await;
            }
        }
    }
}
