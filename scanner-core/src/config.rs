//! Scan configuration: what to scan, with which probes, how gently.

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::{Duration, SystemTime};

use crate::checkpoint::Checkpoint;
use crate::protocols::ProtocolConfigs;
use crate::record::fields::{Protocol, Transport};
use crate::session::FirstPacket;
use crate::targets::Targets;

/// The address counting callers pass to `first_packets` (only the number of packets
/// matters), and the engine when no configured probe's first packets vary by target.
pub(crate) const UNSPECIFIED: std::net::IpAddr =
    std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

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
/// Default number of times a target whose scan a local failure cut short (see
/// [`LocalFailure`](crate::session::LocalFailure)) is tried again in the same run.
pub const DEFAULT_LOCAL_RETRIES: u32 = 2;
/// Default wait before the first retry after a local failure; it doubles with each.
pub const DEFAULT_LOCAL_RETRY_DELAY: Duration = Duration::from_secs(1);
/// Most unit ids one device may be asked about (the whole 0-255 space would be 256).
pub const MAX_UNIT_IDS: usize = crate::protocols::modbus::MAX_UNIT_IDS;

/// Probes run when none are chosen: every registered protocol on the default list
/// ([`Protocol::DEFAULT`]: the registry entries with `default = true`), in the
/// registry's order (see [`registry!`](crate::protocols)).
///
/// The order decides which protocol names a device's identity fields first: the
/// device's own automation protocols come before SNMP, which often describes only
/// its network module.
pub const DEFAULT_PROBES: &[Protocol] = Protocol::DEFAULT;

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
    /// Every protocol's probe settings (`protocols.modbus`, `protocols.snmp`, ...).
    pub protocols: ProtocolConfigs,
    /// Site inventory attributes joined into records by address.
    pub enrichment: Option<std::sync::Arc<crate::enrich::EnrichmentTable>>,
    /// Continue an earlier scan of the same targets: skip what its checkpoint says is done.
    pub resume: Option<Checkpoint>,
    /// Times a target is tried again in this run after a local failure (the host
    /// could not send); when its tries are used up the scan stops with
    /// [`StopReason::LocalFailure`](crate::StopReason::LocalFailure).
    pub local_retries: u32,
    /// Wait before the first such retry; each further retry waits twice as long.
    /// While a retry is pending no new target is started.
    pub local_retry_delay: Duration,
    /// The liveness phase (default on): before its probes, each address gets every
    /// probe's first packet only (one per probe and transport, one per per-device
    /// interval); an address that answers none of them within one timeout is silent and
    /// costs nothing more (each service `connection-timeout` or `io-timeout` with one
    /// request: no retries, no second community or version, no fallback transport).
    /// Any sign of life (SYN-ACK, RST, ICMP unreachable, any datagram) runs the probes
    /// in full. Off: every address is probed in full, as nmap's `-Pn` treats every
    /// host as up.
    pub liveness: bool,
}

/// Invalid configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No probe selected.
    #[error("no probe selected")]
    NoProbes,
    /// A probe's settings are invalid (the message names the setting).
    #[error("{reason}")]
    Probe {
        /// The probe.
        protocol: Protocol,
        /// What is wrong, e.g. "modbus unit ids: the list is empty".
        reason: String,
    },
    /// A zero timeout.
    #[error("{0} must be greater than zero")]
    ZeroDuration(&'static str),
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
                protocols: ProtocolConfigs::default(),
                enrichment: None,
                resume: None,
                local_retries: DEFAULT_LOCAL_RETRIES,
                local_retry_delay: DEFAULT_LOCAL_RETRY_DELAY,
                liveness: true,
            },
        }
    }

    /// The port a probe uses.
    pub fn port(&self, probe: Protocol) -> u16 {
        self.protocols.port(probe)
    }

    /// The settings that decide what each target is asked, as text: the probes in
    /// order, `emit_all`, the liveness phase when it is off (`;liveness=off`: left out
    /// when on, so states written before the phase existed resume), and each probe's settings as [`ProtocolConfigs::fingerprint`]
    /// gives them (every field, secrets reduced to their count). A resumed scan must
    /// keep them, or it would mix two different scans in one inventory.
    pub fn probing_fingerprint(&self) -> String {
        let names: Vec<&str> = self.probes.iter().map(|p| p.name()).collect();
        let mut out = format!("probes={};emit_all={}", names.join(","), self.emit_all);
        if !self.liveness {
            out.push_str(";liveness=off");
        }
        for &probe in &self.probes {
            out.push_str(&format!(";{probe}={}", self.protocols.fingerprint(probe)));
        }
        out
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

    /// Most packets (connection attempts and UDP retries included) one device can
    /// receive: each configured probe's most, capped by the per-device budget.
    pub fn max_requests_for_device(&self) -> u64 {
        let per_probe: u64 = self
            .probes
            .iter()
            .map(|&p| self.protocols.max_requests(p, self.udp_retries))
            .sum();
        per_probe.min(u64::from(self.max_requests_per_device))
    }

    /// Packets the liveness phase sends to an address that answers nothing: each
    /// probe's first packet on each of its transports (0 when the phase is off).
    pub fn liveness_packets(&self) -> u64 {
        if !self.liveness {
            return 0;
        }
        self.probes
            .iter()
            .map(|&p| self.protocols.first_packets(p, UNSPECIFIED).len() as u64)
            .sum()
    }

    /// How long the liveness phase waits for an answer to `first`: a SYN the connect
    /// timeout, at most [`LIVENESS_SYN_WAIT`](crate::session::LIVENESS_SYN_WAIT); a
    /// datagram the read timeout.
    fn liveness_wait(&self, first: &FirstPacket) -> Duration {
        match first.transport() {
            Transport::Tcp => self.connect_timeout.min(crate::session::LIVENESS_SYN_WAIT),
            Transport::Udp | Transport::Ethernet => self.read_timeout,
        }
    }

    /// Every probe's first packets in the order the liveness phase sends them: the
    /// longest wait first (with the defaults the datagrams, then the SYNs), probe order
    /// among equal waits, so a silent address is done about one SYN wait after its last
    /// packet rather than one read timeout. `ip` is the target (see
    /// `RunProbe::first_packets`).
    pub(crate) fn liveness_packets_in_order(
        &self,
        ip: std::net::IpAddr,
    ) -> Vec<(Protocol, FirstPacket)> {
        let mut firsts: Vec<(Protocol, FirstPacket)> = self
            .probes
            .iter()
            .flat_map(|&p| {
                self.protocols
                    .first_packets(p, ip)
                    .into_iter()
                    .map(move |f| (p, f))
            })
            .collect();
        firsts.sort_by_key(|(_, f)| std::cmp::Reverse(self.liveness_wait(f)));
        firsts
    }

    /// Sockets one device's session may hold at once: its TCP connection and UDP socket,
    /// and with the liveness phase one socket per first packet while the phase runs, then
    /// the datagrams' sockets until their probes take them over.
    pub fn max_sockets_per_device(&self) -> u64 {
        if !self.liveness {
            return 2;
        }
        let firsts = self.liveness_packets_in_order(UNSPECIFIED);
        let udp = firsts
            .iter()
            .filter(|(_, f)| f.transport() == Transport::Udp)
            .count() as u64;
        (firsts.len() as u64).max(2 + udp)
    }

    /// Wall time the liveness phase spends on one silent address when nothing else
    /// holds it up: its first packets go out one per per-device interval, and each waits
    /// its timeout (the datagrams first, each the read timeout, then the SYNs, each the
    /// connect timeout or at most
    /// [`LIVENESS_SYN_WAIT`](crate::session::LIVENESS_SYN_WAIT)); the address is done
    /// when the last wait ends. Zero when the phase is off.
    pub fn silent_address_time(&self) -> Duration {
        self.silent_address_time_at(self.per_device_interval)
    }

    /// [`silent_address_time`](Self::silent_address_time) when the address's first
    /// packets go out `spacing` apart (more than the per-device interval when the global
    /// rate is what holds them up).
    pub fn silent_address_time_at(&self, spacing: Duration) -> Duration {
        if !self.liveness {
            return Duration::ZERO;
        }
        self.liveness_packets_in_order(UNSPECIFIED)
            .iter()
            .enumerate()
            .map(|(i, (_, first))| {
                spacing.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX))
                    + self.liveness_wait(first)
            })
            .max()
            .unwrap_or_default()
    }

    /// Fewest packets a device that answers nothing receives (one connection
    /// attempt per TCP probe, each probe's first datagrams for UDP).
    pub fn min_requests_for_device(&self) -> u64 {
        self.probes
            .iter()
            .map(|&p| self.protocols.min_requests(p, self.udp_retries))
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
    /// Joins site inventory attributes into records.
    pub fn enrichment(mut self, table: crate::enrich::EnrichmentTable) -> Self {
        self.config.enrichment = Some(std::sync::Arc::new(table));
        self
    }
    /// Continues from an earlier scan's checkpoint (same targets, seed and shard).
    pub fn resume(mut self, checkpoint: Checkpoint) -> Self {
        self.config.resume = Some(checkpoint);
        self
    }

    /// Sets how often a target is tried again after a local failure, and the wait
    /// before the first retry (doubling with each).
    pub fn local_retries(mut self, retries: u32, first_delay: Duration) -> Self {
        self.config.local_retries = retries;
        self.config.local_retry_delay = first_delay;
        self
    }

    /// Turns the liveness phase on (the default) or off (see [`ScanConfig::liveness`]).
    pub fn liveness(mut self, on: bool) -> Self {
        self.config.liveness = on;
        self
    }

    /// Sets every protocol's probe settings at once.
    pub fn protocols(mut self, protocols: ProtocolConfigs) -> Self {
        self.config.protocols = protocols;
        self
    }

    /// Sets the port `probe` talks to.
    pub fn port(mut self, probe: Protocol, port: u16) -> Self {
        self.config.protocols.set_port(probe, port);
        self
    }

    /// Checks the configuration.
    pub fn build(self) -> Result<ScanConfig, ConfigError> {
        let c = self.config;
        if c.probes.is_empty() {
            return Err(ConfigError::NoProbes);
        }
        for &protocol in &c.probes {
            c.protocols
                .validate(protocol)
                .map_err(|reason| ConfigError::Probe { protocol, reason })?;
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

macro_rules! builder_setters {
    ($( $(#[doc = $doc:tt])* $variant:ident => $module:ident($name:tt, $config:ident, $details:ident, default = $default:literal) ),* $(,)?) => {
        impl ScanConfigBuilder {
            $(
                #[doc = concat!("Sets the ", $name, " probe settings.")]
                pub fn $module(mut self, settings: crate::protocols::$module::$config) -> Self {
                    self.config.protocols.$module = settings;
                    self
                }
            )*
        }
    };
}
crate::protocols::registry!(builder_setters);
