//! Simulated OT devices for otscan's tests and demo: well-behaved and quirky Modbus/TCP devices,
//! EtherNet/IP devices (TCP and UDP), SNMP agents (v1, v2c, v3 discovery), BACnet/IP devices,
//! Siemens S7 CPUs (ISO-on-TCP), OPC UA servers (UA-TCP
//! discovery), Omron PLCs (FINS on UDP and TCP), Niagara Fox stations, Mitsubishi MELSEC CPUs (SLMP
//! 3E, TCP and UDP), KNXnet/IP interfaces and routers, Beckhoff
//! TwinCAT systems (ADS discovery, UDP 48899), PROFINET IO devices (the CM endpoint
//! mapper, UDP 34964), silent TCP ports,
//! [`hostile`] and fragile devices for every protocol, a recorder of every frame they receive,
//! and a [`Plant`] that starts many devices on 127.x.y.z addresses from one [`PlantSpec`].
//!
//! Everything binds to loopback only; Linux routes all of 127.0.0.0/8 to `lo`, so any address
//! in it can be bound without creating aliases.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use protocol_fixtures::{Plant, PlantSpec};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! // Port 0: every device gets a free port; real scans of the demo use 502.
//! let plant = Plant::start(PlantSpec::demo(Ipv4Addr::new(127, 1, 200, 0), 0))?;
//! let plc = plant.device("plc-m340").and_then(|d| d.modbus).unwrap();
//! // ... scan `plc`, then audit what the scanner sent:
//! assert!(plant.recorder().frames_for(plc.ip()).is_empty());
//! plant.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod ads;
pub mod allowlist;
pub mod bacnet;
pub mod banner;
pub mod codesys;
pub mod device;
pub mod enip;
pub mod fins;
pub mod fox;
pub mod hart;
pub mod hostile;
pub mod knx;
pub mod melsec;
pub mod modbus;
pub mod opcua;
pub mod plant;
pub mod profinet;
pub mod profinet_dcp;
pub mod recorder;
pub mod s7;
pub mod snmp;
pub mod web;

pub use ads::{AdsDevice, AdsDeviceConfig, AdsOs};
pub use allowlist::{OpcuaRequest, Request, S7Request, Violation};
pub use bacnet::{BacnetDevice, BacnetDeviceConfig, BacnetRefusal, BacnetRoute, BacnetString};
pub use banner::{BannerDevice, BannerDeviceConfig, BannerEnd};
pub use codesys::{CodesysDevice, CodesysDeviceConfig};
pub use device::{DeviceHandle, SilentTcpDevice};
pub use enip::{EnipDevice, EnipDeviceConfig, EnipTransports};
pub use fins::{FinsAreaData, FinsDevice, FinsDeviceConfig, FinsTransports};
pub use fox::{FoxBehaviour, FoxDevice, FoxDeviceConfig};
pub use hart::{HartDevice, HartDeviceConfig, HartSubDevice};
pub use hostile::{
    DeviceGuard, GuardReport, GuardRules, HostileBehaviour, HostileDevice, HostileEndpoint,
    HostileFacts, HostileHandle, HostileProtocol, HostileReport, HostileService,
};
pub use knx::{KnxDevice, KnxDeviceConfig};
pub use melsec::{MelsecDevice, MelsecDeviceConfig};
pub use modbus::{
    ModbusDevice, ModbusDeviceConfig, ModbusQuirk, OtherUnitIds, RdiBehaviour, ReportServerId,
    UnitIdPolicy,
};
pub use opcua::{OpcuaBehaviour, OpcuaServer, OpcuaServerConfig, UaApplication, UaEndpoint};
pub use plant::{DeviceSpec, Plant, PlantDevice, PlantPorts, PlantSpec};
pub use profinet::{ProfinetDevice, ProfinetDeviceConfig};
pub use recorder::{ConnectionStats, Framing, RecordedFrame, Recorder, RecordingStream, Transport};
pub use s7::{S7Behaviour, S7Device, S7DeviceConfig, S7Quirk, SzlList, TsapRefusal};
pub use snmp::{
    EntityRow, Oid, SnmpAgent, SnmpAgentConfig, SnmpBehaviour, SnmpValue, SnmpVersions,
};
pub use web::{CertificateSpec, LegacyTlsConfig, WebDevice, WebDeviceConfig, WebResponse};
