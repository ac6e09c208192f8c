//! Scan configuration: what to scan, with which probes, how gently.

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::{Duration, SystemTime};

use crate::protocols::bacnet::BacnetConfig;
use crate::protocols::enip::EnipConfig;
use crate::protocols::modbus::ModbusConfig;
use crate::protocols::s7::S7Config;
use crate::protocols::snmp::SnmpConfig;
use crate::record::Protocol;
use crate::targets::Targets;

/// Default global request rate: 100 requests (connection attempts included) per
/// second, a tenth of runZero's documented default, for networks of fragile devices.
pub const DEFAULT_RATE: u32 = 100;
/// Default minimum gap between two packets to the same device (10 per second at most,
/// a quarter of runZero's 40 per device).
pub const DEFAULT_PER_DEVICE_INTERVAL: Duration = Duration::from_millis(100);
/// Default number of devices scanned at once.
pub const DEFAULT_CONCURRENCY: usize = 64;
/// Default TCP connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default time to wait for a whole reply.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Default cap on requests to one device in one scan.
pub const DEFAULT_MAX_REQUESTS_PER_DEVICE: u32 = 64;
/// Default number of times an unanswered UDP request is sent again.
pub const DEFAULT_UDP_RETRIES: u32 = 1;
/// Most unit ids one device may be asked about (the whole 0-255 space would be 256).
pub const MAX_UNIT_IDS: usize = 256;

/// Probes run when none are chosen: every probe this version has, in this order.
///
/// The order decides which protocol names a device's identity fields first: the
/// device's own automation protocols come before SNMP, which often describes only
/// its network module.
pub const DEFAULT_PROBES: [Protocol; 5] = [
    Protocol::Modbus,
    Protocol::Enip,
    Protocol::S7,
    Protocol::Bacnet,
    Protocol::Snmp,
];

/// Global pacing of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// At most this many requests per second across the whole scan.
    PerSecond(NonZeroU32),
    /// No global pacing. For benches and labs only: unsafe on production networks.
    Unlimited,
}

impl Rate {
    /// `n` requests per second; `None` when `n` is 0.
    pub fn per_second(n: u32) -> Option<Rate> {
        NonZeroU32::new(n).map(Rate::PerSecond)
    }
}

/// Everything a scan needs. Build it with [`ScanConfig::builder`].
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Addresses to scan, in their pseudo-random order.
    pub targets: Targets,
    /// Probes to run against each device, in this order.
    pub probes: Vec<Protocol>,
    /// Global request pacing.
    pub rate: Rate,
    /// Requests that may go out back to back before pacing applies (default 1).
    pub burst: Option<NonZeroU32>,
    /// Minimum gap between two packets to one device.
    pub per_device_interval: Duration,
    /// Devices scanned at once.
    pub concurrency: NonZeroUsize,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Time allowed for a whole reply.
    pub read_timeout: Duration,
    /// Cap on requests (connection attempts included) to one device in one scan.
    pub max_requests_per_device: u32,
    /// Stop sending at this wall-clock time.
    pub deadline: Option<SystemTime>,
    /// Stop sending this long after the scan starts.
    pub max_duration: Option<Duration>,
    /// Emit a record for every target, responsive or not.
    pub emit_all: bool,
    /// Scan id to put in records (generated when `None`).
    pub scan_id: Option<String>,
    /// Times an unanswered UDP request is sent again (each try waits the read timeout).
    pub udp_retries: u32,
    /// Modbus probe settings.
    pub modbus: ModbusConfig,
    /// EtherNet/IP probe settings.
    pub enip: EnipConfig,
    /// SNMP probe settings.
    pub snmp: SnmpConfig,
    /// BACnet/IP probe settings.
    pub bacnet: BacnetConfig,
    /// Siemens S7 probe settings.
    pub s7: S7Config,
    /// Site inventory attributes joined into records by address.
    pub enrichment: Option<std::sync::Arc<crate::enrich::EnrichmentTable>>,
    /// Continue an earlier scan of the same targets: skip what its checkpoint says is done.
    pub resume: Option<crate::engine::Checkpoint>,
}

/// Invalid configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No probe selected.
    #[error("no probe selected")]
    NoProbes,
    /// A probe this build cannot run.
    #[error("probe '{0}' is not available in this version")]
    ProbeUnavailable(Protocol),
    /// An empty or too long unit id list.
    #[error("modbus unit ids: {0}")]
    UnitIds(String),
    /// A zero timeout.
    #[error("{0} must be greater than zero")]
    ZeroDuration(&'static str),
    /// An empty or too long SNMP community list.
    #[error("snmp communities: {0}")]
    Communities(String),
    /// The S7 probe has no TSAP to try.
    #[error("s7 TSAP list is empty")]
    Tsaps,
    /// A zero page cap.
    #[error("modbus continuation page cap must be at least 1")]
    ZeroPages,
}

impl ScanConfig {
    /// A builder with the documented safe defaults.
    pub fn builder() -> ScanConfigBuilder {
        ScanConfigBuilder {
            config: ScanConfig {
                targets: Targets::empty(),
                probes: DEFAULT_PROBES.to_vec(),
                rate: Rate::PerSecond(NonZeroU32::new(DEFAULT_RATE).unwrap_or(NonZeroU32::MIN)),
                burst: None,
                per_device_interval: DEFAULT_PER_DEVICE_INTERVAL,
                concurrency: NonZeroUsize::new(DEFAULT_CONCURRENCY).unwrap_or(NonZeroUsize::MIN),
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                read_timeout: DEFAULT_READ_TIMEOUT,
                max_requests_per_device: DEFAULT_MAX_REQUESTS_PER_DEVICE,
                deadline: None,
                max_duration: None,
                emit_all: false,
                scan_id: None,
                udp_retries: DEFAULT_UDP_RETRIES,
                modbus: ModbusConfig::default(),
                enip: EnipConfig::default(),
                snmp: SnmpConfig::default(),
                bacnet: BacnetConfig::default(),
                s7: S7Config::default(),
                enrichment: None,
                resume: None,
            },
        }
    }

    /// The port a probe uses.
    pub fn port(&self, probe: Protocol) -> u16 {
        match probe {
            Protocol::Modbus => self.modbus.port,
            Protocol::Enip => self.enip.port,
            Protocol::Snmp => self.snmp.port,
            Protocol::Bacnet => self.bacnet.port,
            Protocol::S7 => self.s7.port,
        }
    }

    /// Time from `now` until the scan must stop sending, if it has a deadline.
    pub fn deadline_from(&self, now: SystemTime) -> Option<Duration> {
        let by_clock = self
            .deadline
            .map(|d| d.duration_since(now).unwrap_or(Duration::ZERO));
        match (by_clock, self.max_duration) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Most requests (connection attempts included) one device can receive.
    pub fn max_requests_for_device(&self) -> u64 {
        let per_probe: u64 = self
            .probes
            .iter()
            .map(|p| match p {
                // One connection, plus one more for each unit id that may close it.
                Protocol::Modbus => self.modbus.max_requests() + self.modbus.unit_ids.len() as u64,
                Protocol::Enip => self.enip.max_requests(self.udp_retries),
                Protocol::Snmp => self.snmp.max_requests() * (1 + u64::from(self.udp_retries)),
                Protocol::Bacnet => self.bacnet.max_requests(self.udp_retries),
                Protocol::S7 => self.s7.max_requests(),
            })
            .sum();
        per_probe.min(u64::from(self.max_requests_per_device))
    }

    /// Fewest requests a device that answers nothing receives (one connection
    /// attempt per TCP probe, every try of each UDP request).
    pub fn min_requests_for_device(&self) -> u64 {
        self.probes
            .iter()
            .map(|p| match p {
                Protocol::Modbus => 1,
                Protocol::Enip => self
                    .enip
                    .transports()
                    .iter()
                    .map(|t| match t {
                        crate::record::Transport::Tcp => 1,
                        crate::record::Transport::Udp => 1 + u64::from(self.udp_retries),
                    })
                    .sum(),
                // An address whose port is unreachable answers the first datagram.
                Protocol::Snmp | Protocol::Bacnet => 1,
                Protocol::S7 => 1,
            })
            .sum()
    }
}

/// Builder for [`ScanConfig`]; every setter has a safe default.
#[derive(Debug, Clone)]
pub struct ScanConfigBuilder {
    config: ScanConfig,
}

impl ScanConfigBuilder {
    /// Sets the targets.
    pub fn targets(mut self, targets: Targets) -> Self {
        self.config.targets = targets;
        self
    }
    /// Sets the probes, run in this order against each device.
    pub fn probes(mut self, probes: impl IntoIterator<Item = Protocol>) -> Self {
        let mut list: Vec<Protocol> = Vec::new();
        for p in probes {
            if !list.contains(&p) {
                list.push(p);
            }
        }
        self.config.probes = list;
        self
    }
    /// Sets the global request rate.
    pub fn rate(mut self, rate: Rate) -> Self {
        self.config.rate = rate;
        self
    }
    /// Sets how many requests may go out back to back.
    pub fn burst(mut self, burst: NonZeroU32) -> Self {
        self.config.burst = Some(burst);
        self
    }
    /// Sets the minimum gap between two packets to one device.
    pub fn per_device_interval(mut self, interval: Duration) -> Self {
        self.config.per_device_interval = interval;
        self
    }
    /// Sets how many devices are scanned at once.
    pub fn concurrency(mut self, n: NonZeroUsize) -> Self {
        self.config.concurrency = n;
        self
    }
    /// Sets both the connect and the read timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self.config.read_timeout = timeout;
        self
    }
    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }
    /// Sets the read timeout.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.config.read_timeout = timeout;
        self
    }
    /// Sets the cap on requests to one device.
    pub fn max_requests_per_device(mut self, n: u32) -> Self {
        self.config.max_requests_per_device = n;
        self
    }
    /// Stops sending at this wall-clock time.
    pub fn deadline(mut self, at: SystemTime) -> Self {
        self.config.deadline = Some(at);
        self
    }
    /// Stops sending this long after the start.
    pub fn max_duration(mut self, d: Duration) -> Self {
        self.config.max_duration = Some(d);
        self
    }
    /// Emits a record for every target, not only responsive ones.
    pub fn emit_all(mut self, yes: bool) -> Self {
        self.config.emit_all = yes;
        self
    }
    /// Sets the scan id carried by every record.
    pub fn scan_id(mut self, id: impl Into<String>) -> Self {
        self.config.scan_id = Some(id.into());
        self
    }
    /// Sets how often an unanswered UDP request is sent again.
    pub fn udp_retries(mut self, n: u32) -> Self {
        self.config.udp_retries = n;
        self
    }
    /// Sets the EtherNet/IP probe settings.
    pub fn enip(mut self, enip: EnipConfig) -> Self {
        self.config.enip = enip;
        self
    }
    /// Joins site inventory attributes into records.
    pub fn enrichment(mut self, table: crate::enrich::EnrichmentTable) -> Self {
        self.config.enrichment = Some(std::sync::Arc::new(table));
        self
    }
    /// Continues from an earlier scan's checkpoint (same targets, seed and shard).
    pub fn resume(mut self, checkpoint: crate::engine::Checkpoint) -> Self {
        self.config.resume = Some(checkpoint);
        self
    }
    /// Sets the SNMP probe settings.
    pub fn snmp(mut self, snmp: SnmpConfig) -> Self {
        self.config.snmp = snmp;
        self
    }
    /// Sets the BACnet/IP probe settings.
    pub fn bacnet(mut self, bacnet: BacnetConfig) -> Self {
        self.config.bacnet = bacnet;
        self
    }
    /// Sets the Siemens S7 probe settings.
    pub fn s7(mut self, s7: S7Config) -> Self {
        self.config.s7 = s7;
        self
    }
    /// Sets the Modbus probe settings.
    pub fn modbus(mut self, modbus: ModbusConfig) -> Self {
        self.config.modbus = modbus;
        self
    }

    /// Checks the configuration.
    pub fn build(self) -> Result<ScanConfig, ConfigError> {
        let c = self.config;
        if c.probes.is_empty() {
            return Err(ConfigError::NoProbes);
        }
        if let Some(&p) = c.probes.iter().find(|p| !DEFAULT_PROBES.contains(p)) {
            return Err(ConfigError::ProbeUnavailable(p));
        }
        if c.modbus.unit_ids.is_empty() {
            return Err(ConfigError::UnitIds("the list is empty".into()));
        }
        if c.modbus.unit_ids.len() > MAX_UNIT_IDS {
            return Err(ConfigError::UnitIds(format!(
                "{} ids, at most {MAX_UNIT_IDS}",
                c.modbus.unit_ids.len()
            )));
        }
        if c.snmp.communities.is_empty()
            && c.snmp.versions != crate::protocols::snmp::SnmpVersions::V3
        {
            return Err(ConfigError::Communities("the list is empty".into()));
        }
        if c.snmp.communities.len() > crate::protocols::snmp::MAX_COMMUNITIES {
            return Err(ConfigError::Communities(format!(
                "{} communities, at most {}: otscan identifies devices, it does not guess credentials",
                c.snmp.communities.len(),
                crate::protocols::snmp::MAX_COMMUNITIES
            )));
        }
        if c.probes.contains(&Protocol::S7) && c.s7.tsaps.is_empty() {
            return Err(ConfigError::Tsaps);
        }
        if c.modbus.max_pages == 0 {
            return Err(ConfigError::ZeroPages);
        }
        if c.connect_timeout.is_zero() {
            return Err(ConfigError::ZeroDuration("connect timeout"));
        }
        if c.read_timeout.is_zero() {
            return Err(ConfigError::ZeroDuration("read timeout"));
        }
        Ok(c)
    }
}
