//! Command-line definition (clap) and the conversion of arguments into a `ScanConfig`.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use scanner_core::output::Format;
use scanner_core::protocols::enip::{EnipConfig, EnipTransport};
use scanner_core::protocols::modbus::ModbusConfig;
use scanner_core::protocols::snmp::{SnmpConfig, SnmpVersions};
use scanner_core::{Protocol, Rate, ScanConfig, Shard, Targets};

const SCAN_EXAMPLES: &str = "\
Examples:
  otscan scan 10.20.0.0/24                      Modbus, EtherNet/IP and SNMP identification, safe defaults
  otscan scan 10.20.0.0/24 --probes snmp --snmp-communities public,ops-ro
  otscan scan 10.20.0.0/24 --probes enip --enip-transport both
  otscan scan 10.20.0.0/24 --exclude 10.20.0.7 -o assets.jsonl
  otscan scan -iL plant-a.txt --exclude-file fragile.txt --rate 50
  otscan scan 10.20.0.0/16 --dry-run            show the plan, send nothing
  otscan scan 10.20.5.10 --modbus-unit-ids 1-247 --port modbus=5020   (serial gateway)
  cat targets.txt | otscan scan - --emit-all    every address gets a record
  otscan scan 10.20.0.0/24 --format ocsf        OCSF Device Inventory Info events for a SIEM
  otscan scan 10.20.0.0/24 --format hec | curl -sk -H 'Authorization: Splunk TOKEN' \\
      --data-binary @- https://splunk.example:8088/services/collector/event
  otscan scan 10.20.0.0/24 --format ecs --enrich inventory.csv

Safe defaults: 100 requests/s overall, 100 ms between packets to one device,
one TCP connection per device, 2 s timeouts, Modbus unit ids 255,0,1.

Exit codes: 0 scan finished, 1 runtime failure, 2 bad usage, 130 interrupted (Ctrl-C).";

/// otscan: identify industrial devices by asking them, read-only, who they are.
#[derive(Debug, Parser)]
#[command(name = "otscan", version, about, long_about = None,
    after_help = "Run `otscan demo` to scan a simulated plant on loopback.\n\nExit codes: 0 done, 1 runtime failure, 2 bad usage, 130 interrupted.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan targets and print one JSON asset record per device (NDJSON).
    #[command(after_help = SCAN_EXAMPLES)]
    Scan(Box<ScanArgs>),
    /// Start a simulated plant on loopback aliases and scan it.
    Demo(DemoArgs),
    /// Local-segment broadcast discovery (off unless asked; `scan` never broadcasts).
    #[command(after_help = DISCOVER_EXAMPLES)]
    Discover(DiscoverArgs),
    /// Compare two scans (native NDJSON): devices that appeared, disappeared or changed.
    #[command(after_help = DIFF_HELP)]
    Diff(DiffArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout: `otscan man > otscan.1`.
    Man,
}

const DIFF_HELP: &str = "\
Emits one JSON change event per line (appeared, disappeared, changed with
before/after per field); on a terminal, a readable table instead (--json forces
JSON). A firmware or serial number change on the same IP is marked notable.

Exit codes (like diff(1), for cron alerts): 0 nothing changed, 1 something
changed, 2 bad usage or unreadable input.

Example:
  otscan diff assets-2026-11-18.jsonl assets-2026-11-25.jsonl || mail -s 'OT inventory changed' ot@example.com";

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier scan (native NDJSON records).
    pub old: PathBuf,
    /// The later scan.
    pub new: PathBuf,
    /// JSON lines even on a terminal.
    #[arg(long)]
    pub json: bool,
}

/// Parses an output format name.
fn parse_format(s: &str) -> Result<Format, String> {
    s.parse::<Format>().map_err(|e| e.to_string())
}

const DISCOVER_EXAMPLES: &str = "\
Examples:
  otscan discover --enip --interface eth1              one ListIdentity broadcast, 3 s of replies
  otscan discover --enip --interface eth1 --wait 5s -o found.jsonl

Sends exactly one EtherNet/IP ListIdentity datagram to the interface's IPv4
broadcast address and writes one record per device that replies. Devices delay
broadcast replies by up to about 2 s, so --wait is at least 2s.";

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Discover EtherNet/IP devices (ListIdentity broadcast). Required: the only kind today.
    #[arg(long, required = true)]
    pub enip: bool,
    /// Interface to broadcast on (its IPv4 broadcast address is used).
    #[arg(long, value_name = "IF")]
    pub interface: String,
    /// How long to collect replies (at least 2s).
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_duration)]
    pub wait: Duration,
    /// EtherNet/IP port.
    #[arg(long, default_value_t = 44818)]
    pub enip_port: u16,
    /// Write records to FILE instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format: native, ocsf, ecs or hec.
    #[arg(long, value_name = "FORMAT", default_value = "native", value_parser = parse_format)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Targets: addresses, CIDRs (v4/v6), ranges (10.0.0.5-10.0.0.20, 10.0.0.5-20), host names, or - for stdin.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Read targets from a file (one or more per line, # comments). Also spelled -iL.
    #[arg(long = "input-file", value_name = "FILE")]
    pub input_file: Vec<PathBuf>,
    /// Never scan these addresses, CIDRs or ranges (repeatable, comma-separated).
    #[arg(long, value_name = "SPEC", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Never scan the addresses listed in this file.
    #[arg(long, value_name = "FILE")]
    pub exclude_file: Vec<PathBuf>,
    /// Probes to run, in order.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "modbus,enip,snmp", value_parser = parse_probe)]
    pub probes: Vec<Protocol>,
    /// Use another port for a protocol, e.g. --port modbus=5020 (repeatable).
    #[arg(long = "port", value_name = "PROTO=N", value_parser = parse_port_override)]
    pub ports: Vec<(Protocol, u16)>,
    /// Global request rate: requests (connection attempts included) per second.
    #[arg(long, value_name = "N", default_value_t = scanner_core::config::DEFAULT_RATE, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: u32,
    /// Minimum time between two packets to the same device (e.g. 100ms).
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_duration)]
    pub per_device_interval: Duration,
    /// Devices scanned at once.
    #[arg(long, value_name = "N", default_value_t = NonZeroUsize::new(scanner_core::config::DEFAULT_CONCURRENCY).unwrap_or(NonZeroUsize::MIN))]
    pub concurrency: NonZeroUsize,
    /// Connect and read timeout (e.g. 2s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Stop sending after this long; finished records are still written.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_duration: Option<Duration>,
    /// Modbus unit ids to try in order, stopping at the first that answers (e.g. 255,0,1 or 1-247).
    #[arg(long, value_name = "LIST", value_parser = parse_unit_ids)]
    pub modbus_unit_ids: Option<UnitIds>,
    /// EtherNet/IP transport: unicast ListIdentity over tcp (default), udp, or both.
    #[arg(long, value_name = "T", default_value = "tcp", value_parser = parse_enip_transport)]
    pub enip_transport: EnipTransport,
    /// SNMP communities tried in order, stopping at the first that answers (at most 4:
    /// this identifies devices, it does not guess credentials). Never logged.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "public"
    )]
    pub snmp_communities: Vec<String>,
    /// SNMP versions: 1, 2c, 3 (engine discovery only) or all (v2c, then v1, plus v3 discovery).
    #[arg(long, value_name = "V", default_value = "all", value_parser = parse_snmp_version)]
    pub snmp_version: SnmpVersions,
    /// Put the answering community string in records (default: only its index in the list).
    #[arg(long)]
    pub record_community: bool,
    /// Times an unanswered UDP request is sent again.
    #[arg(long, value_name = "N", default_value_t = scanner_core::config::DEFAULT_UDP_RETRIES, value_parser = clap::value_parser!(u32).range(0..=5))]
    pub udp_retries: u32,
    /// Emit a record for every target, including those that answered nothing.
    #[arg(long)]
    pub emit_all: bool,
    /// Print the plan (targets, requests per device, expected duration) and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: also list every target in scan order.
    #[arg(long, requires = "dry_run")]
    pub list_targets: bool,
    /// Seed of the pseudo-random target order (the same seed gives the same order).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Scan only shard K of N of the target order (e.g. 2/4), to split a scan between scanners.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Join site inventory attributes (asset number, criticality, zone, conduit, location,
    /// owner, notes) from a CSV or TOML file into records, by address or CIDR.
    #[arg(long, value_name = "FILE")]
    pub enrich: Option<PathBuf>,
    /// Write records to FILE instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format: native (the otscan record), ocsf (Device Inventory Info, class
    /// 5001), ecs (event.kind: asset) or hec (Splunk HTTP Event Collector envelopes).
    #[arg(long, value_name = "FORMAT", default_value = "native", value_parser = parse_format)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// First address of the simulated /24 (must be in 127.0.0.0/8).
    #[arg(long, default_value = "127.77.0.0")]
    pub base: std::net::Ipv4Addr,
    /// TCP port the simulated Modbus devices listen on.
    #[arg(long, default_value_t = 5020)]
    pub modbus_port: u16,
    /// TCP and UDP port the simulated EtherNet/IP devices listen on.
    #[arg(long, default_value_t = 44818)]
    pub enip_port: u16,
    /// UDP port the simulated SNMP agents listen on.
    #[arg(long, default_value_t = 1161)]
    pub snmp_port: u16,
    /// Output format: native, ocsf, ecs or hec.
    #[arg(long, value_name = "FORMAT", default_value = "native", value_parser = parse_format)]
    pub format: Format,
}

/// A parsed unit id list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitIds(pub Vec<u8>);

fn parse_probe(s: &str) -> Result<Protocol, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "modbus" => Ok(Protocol::Modbus),
        "enip" => Ok(Protocol::Enip),
        "snmp" => Ok(Protocol::Snmp),
        other => Err(format!(
            "unknown probe '{other}' (known: modbus, enip, snmp)"
        )),
    }
}

fn parse_snmp_version(s: &str) -> Result<SnmpVersions, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "v1" => Ok(SnmpVersions::V1),
        "2c" | "v2c" => Ok(SnmpVersions::V2c),
        "3" | "v3" => Ok(SnmpVersions::V3),
        "all" => Ok(SnmpVersions::All),
        other => Err(format!("'{other}' is not 1, 2c, 3 or all")),
    }
}

fn parse_enip_transport(s: &str) -> Result<EnipTransport, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "tcp" => Ok(EnipTransport::Tcp),
        "udp" => Ok(EnipTransport::Udp),
        "both" => Ok(EnipTransport::Both),
        other => Err(format!("'{other}' is not tcp, udp or both")),
    }
}

fn parse_port_override(s: &str) -> Result<(Protocol, u16), String> {
    let (proto, port) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not PROTO=PORT, e.g. modbus=5020"))?;
    let proto = parse_probe(proto)?;
    let port: u16 = port
        .trim()
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("'{port}' is not a port number (1-65535)"))?;
    Ok((proto, port))
}

/// Parses `250ms`, `2s`, `5m`, `1h`, `1h30m` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|_| format!("'{s}' is not a duration"));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("'{s}' lacks a unit (ms, s, m, h)"))?;
        let (num, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("'{s}' is not a duration (e.g. 500ms, 2s, 1h30m)"))?;
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(format!("'{s}': unknown unit '{unit}' (ms, s, m, h)")),
        };
        total += Duration::try_from_secs_f64(n * scale)
            .map_err(|_| format!("'{s}' is not a duration"))?;
        rest = tail;
    }
    Ok(total)
}

/// Parses `255,0,1` or `1-247` or a mix; order is kept, duplicates dropped.
fn parse_unit_ids(s: &str) -> Result<UnitIds, String> {
    let mut ids = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let one = |t: &str| {
            t.trim()
                .parse::<u8>()
                .map_err(|_| format!("'{t}' is not a unit id (0-255)"))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (one(a)?, one(b)?),
            None => (one(part)?, one(part)?),
        };
        if lo > hi {
            return Err(format!("unit id range '{part}' runs backwards"));
        }
        for id in lo..=hi {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    if ids.is_empty() {
        return Err(format!("'{s}' names no unit id"));
    }
    Ok(UnitIds(ids))
}

/// Rewrites nmap's single-dash `-iL` into the long option clap knows.
pub fn normalize_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    args.into_iter()
        .map(|a| if a == "-iL" { "--input-file".into() } else { a })
        .collect()
}

/// Errors turning arguments into a configuration: bad usage, exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// Bad target text or file.
    #[error(transparent)]
    Target(#[from] scanner_core::TargetError),
    /// Inconsistent configuration.
    #[error(transparent)]
    Config(#[from] scanner_core::ConfigError),
    /// Nothing to scan.
    #[error("no targets: give TARGET arguments, -iL FILE, or - for stdin")]
    NoTargets,
    /// A bad enrichment file.
    #[error("--enrich {0}")]
    Enrich(#[from] scanner_core::enrich::EnrichError),
}

impl ScanArgs {
    /// Parses targets and exclusions (failing before anything is sent) and builds the config.
    pub fn to_config(&self) -> Result<ScanConfig, UsageError> {
        if self.targets.is_empty() && self.input_file.is_empty() {
            return Err(UsageError::NoTargets);
        }
        let mut targets = Targets::empty();
        for spec in &self.targets {
            targets = if spec == "-" {
                targets.include_reader(std::io::stdin().lock(), "stdin")?
            } else {
                targets.include(spec)?
            };
        }
        for file in &self.input_file {
            targets = targets.include_file(file)?;
        }
        for spec in &self.exclude {
            targets = targets.exclude(spec)?;
        }
        for file in &self.exclude_file {
            targets = targets.exclude_file(file)?;
        }
        if let Some(seed) = self.seed {
            targets = targets.with_seed(seed);
        }
        if let Some(shard) = self.shard {
            targets = targets.with_shard(shard);
        }
        let mut modbus = ModbusConfig::default();
        if let Some(ids) = &self.modbus_unit_ids {
            modbus.unit_ids.clone_from(&ids.0);
        }
        let mut enip = EnipConfig {
            transport: self.enip_transport,
            ..EnipConfig::default()
        };
        let mut snmp = SnmpConfig {
            communities: self
                .snmp_communities
                .iter()
                .map(|c| c.as_bytes().to_vec())
                .collect(),
            versions: self.snmp_version,
            record_community: self.record_community,
            ..SnmpConfig::default()
        };
        for (proto, port) in &self.ports {
            match proto {
                Protocol::Modbus => modbus.port = *port,
                Protocol::Enip => enip.port = *port,
                Protocol::Snmp => snmp.port = *port,
            }
        }
        let mut builder = ScanConfig::builder()
            .targets(targets)
            .probes(self.probes.iter().copied())
            .rate(Rate::PerSecond(
                NonZeroU32::new(self.rate).unwrap_or(NonZeroU32::MIN),
            ))
            .per_device_interval(self.per_device_interval)
            .concurrency(self.concurrency)
            .timeout(self.timeout)
            .emit_all(self.emit_all)
            .udp_retries(self.udp_retries)
            .modbus(modbus)
            .enip(enip)
            .snmp(snmp);
        if let Some(d) = self.max_duration {
            builder = builder.max_duration(d);
        }
        if let Some(path) = &self.enrich {
            builder = builder.enrichment(scanner_core::enrich::EnrichmentTable::from_file(path)?);
        }
        Ok(builder.build()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("2 weeks").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn unit_ids() {
        assert_eq!(parse_unit_ids("255,0,1"), Ok(UnitIds(vec![255, 0, 1])));
        assert_eq!(parse_unit_ids("1-247").map(|u| u.0.len()), Ok(247));
        assert_eq!(parse_unit_ids("3,1-3"), Ok(UnitIds(vec![3, 1, 2])));
        assert!(parse_unit_ids("256").is_err());
        assert!(parse_unit_ids("9-2").is_err());
        assert!(parse_unit_ids(",").is_err());
    }

    #[test]
    fn ports() {
        assert_eq!(
            parse_port_override("modbus=5020"),
            Ok((Protocol::Modbus, 5020))
        );
        assert!(parse_port_override("modbus").is_err());
        assert!(parse_port_override("modbus=0").is_err());
        assert!(parse_port_override("ftp=21").is_err());
    }
}
