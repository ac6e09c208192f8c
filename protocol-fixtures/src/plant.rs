//! A simulated plant: many devices on loopback addresses from one description, sharing one
//! recorder. Tests assert against the spec's own values, so its fields are public.

use std::{
    io,
    net::{Ipv4Addr, SocketAddr},
};

use crate::{
    device::{DeviceHandle, SilentTcpDevice},
    enip::{self, EnipDevice, EnipDeviceConfig},
    modbus::{
        object_id as obj, ModbusDevice, ModbusDeviceConfig, ModbusQuirk, OtherUnitIds,
        RdiBehaviour, UnitIdPolicy,
    },
    recorder::{Framing, Recorder},
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
        }
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
}

impl Default for PlantPorts {
    /// The registered ports, 502 and 44818.
    fn default() -> Self {
        Self {
            modbus: 502,
            enip: enip::PORT,
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
    /// [`PlantSpec::demo`]`(base, ports.modbus)`, with `plc-m580` also speaking EtherNet/IP, plus
    /// EtherNet/IP-only devices on hosts .20 to .26, every one on `ports.enip` over TCP and UDP.
    /// Identities are realistic (it is all loopback); numbers are vendor id, CIP device type,
    /// product code, revision, status word, serial and state:
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
            devices.push(PlantDevice {
                spec,
                modbus,
                enip,
                silent_tcp,
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
