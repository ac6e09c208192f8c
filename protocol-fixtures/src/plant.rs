//! A simulated plant: many devices on loopback addresses from one description, sharing one
//! recorder. Tests assert against the spec's own values, so its fields are public.

use std::{
    io,
    net::{Ipv4Addr, SocketAddr},
};

use crate::{
    device::{DeviceHandle, SilentTcpDevice},
    enip::{self, EnipDevice, EnipDeviceConfig},
    hostile::{HostileDevice, HostileEndpoint, HostileService},
    modbus::{
        object_id as obj, ModbusDevice, ModbusDeviceConfig, ModbusQuirk, OtherUnitIds,
        RdiBehaviour, UnitIdPolicy,
    },
    recorder::{Framing, Recorder},
    snmp::{
        self, engine_id, mib, EntityRow, SnmpAgent, SnmpAgentConfig, SnmpBehaviour, SnmpValue,
        SnmpVersions,
    },
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
    /// Hostile or fragile services (see [`crate::hostile`]).
    pub hostile: Vec<HostileService>,
}

impl DeviceSpec {
    /// A device with no services yet.
    pub fn new(ip: Ipv4Addr, name: impl Into<String>) -> Self {
        Self {
            ip,
            name: name.into(),
            modbus: None,
            enip: None,
            silent_tcp: None,
            snmp: None,
            hostile: Vec::new(),
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
/// Port 0 gives every service its own free port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlantPorts {
    /// Modbus/TCP port.
    pub modbus: u16,
    /// EtherNet/IP port, TCP and UDP.
    pub enip: u16,
    /// SNMP agent port, UDP.
    pub snmp: u16,
}

impl Default for PlantPorts {
    /// The registered ports, 502, 44818 and 161.
    fn default() -> Self {
        Self {
            modbus: 502,
            enip: enip::PORT,
            snmp: snmp::PORT,
        }
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
        ];
        Self { devices }
    }

    /// The full mixed plant on the /24 containing `base`: every device of
    /// [`PlantSpec::demo`]`(base, ports.modbus)`, with `plc-m580` also speaking EtherNet/IP and
    /// SNMP, plus EtherNet/IP-only devices on hosts .20 to .26, every one on `ports.enip` over TCP
    /// and UDP, and SNMP-only devices on hosts .30 to .35, every agent on UDP `ports.snmp`.
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
    /// The hostile or fragile services, in spec order, with what each saw.
    pub hostile: Vec<HostileEndpoint>,
    handles: Vec<DeviceHandle>,
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
