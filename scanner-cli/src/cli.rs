//! Command-line definition (clap) and the conversion of arguments into a `ScanConfig`.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use crate::render::{parse_format_choice, FormatChoice, OutputFormat};
use clap::{Args, Parser, Subcommand};
use scanner_core::output::ecs::EcsVersion;
use scanner_core::output::OutputMeta;
use scanner_core::window::Window;
use scanner_core::{Protocol, ProtocolConfigs, Rate, ScanConfig, Shard, Targets};

use crate::protocols::ProbeArgs;

const SCAN_EXAMPLES: &str = "\
Examples:
  otscan scan 10.20.0.0/24                      every probe (Modbus, EtherNet/IP, S7, OPC UA, FINS, Fox, MELSEC, KNX, ADS, HART-IP, PROFINET, CODESYS, BACnet, SNMP), safe defaults
  otscan scan 10.30.0.0/22 --probes bacnet,s7   building controllers and Siemens PLCs only
  otscan scan 10.40.0.0/24 --probes melsec --port melsec=5007,5002   Mitsubishi CPUs on the site's MC protocol ports
  otscan scan 10.20.0.0/24 --probes snmp --snmp-communities public,ops-ro
  otscan scan 10.20.0.0/24 --probes enip --enip-transport both
  otscan scan 10.20.0.0/24 --probes fins --fins-transport tcp   (Omron PLCs over FINS/TCP only)
  otscan scan 10.50.0.0/24 --probes ads         Beckhoff TwinCAT systems (ADS discovery Identify, UDP 48899)
  otscan scan 10.60.0.0/24 --probes hart        HART-IP instruments and multiplexers (TCP 5094, reads only)
  otscan scan 10.50.0.0/24 --probes profinet    PROFINET devices (CM endpoint-mapper lookup, UDP 34964)
  otscan scan 10.70.0.0/24 --probes codesys     CODESYS V3 runtimes (NameService, UDP 1740, IPv4 subnets of this host)
  otscan scan 10.20.0.0/24 --probes http --port http=80,8080   device web servers: Server header, realm, page title (off by default)
  otscan scan 10.20.0.0/24 --probes https --port https=443,8443   TLS version, suite and certificate (read, not verified), page title
  otscan scan 10.20.0.0/24 --probes all --http-favicon   every probe, the off-default ones too, and web favicon hashes
  otscan scan 10.20.0.0/24 --exclude 10.20.0.7 -o assets.jsonl
  otscan scan -iL plant-a.txt --exclude-file fragile.txt --rate 50
  otscan scan 10.20.0.0/16 --dry-run            show the plan, send nothing
  otscan scan 10.20.5.10 --modbus-unit-ids 1-247 --port modbus=5020   (serial gateway)
  cat targets.txt | otscan scan - --emit-all    every address gets a record (native, hec, csv;
                                                ocsf and ecs describe devices only)
  otscan scan 10.20.0.0/24 --format ocsf        OCSF Device Inventory Info events for a SIEM
  otscan scan 10.20.0.0/24 --format csv -o assets.csv   one spreadsheet-safe row per device
  otscan scan 10.20.0.0/24 -o assets.jsonl; otscan report assets.jsonl -o report.html
  otscan scan 10.20.0.0/24 --format hec --hec-index ot_assets \\
      | curl -sk -H 'Authorization: Splunk TOKEN' --data-binary @- \\
        https://splunk.example:8088/services/collector/event
  otscan scan 10.20.0.0/24 --format hec --hec-source plant-a --hec-sourcetype otscan:asset
  otscan scan 10.20.0.0/24 --format ecs --enrich inventory.csv
  otscan scan 10.20.0.0/24 --format ecs --ecs-version 9   ECS 9.2 device.* and host.entity.*

Safe defaults: 100 requests/s overall, 100 ms between packets to one device,
one TCP connection per device, 2 s timeouts, Modbus unit ids 255,0,1.

Exit codes: 0 scan finished (or stopped at its deadline), 1 a record, the state or the
report could not be written (what was written is whole and counted), 2 bad usage or a file
that cannot be written (nothing sent), 69 another run holds the --state file (nothing sent),
71 this host could not send (open-files limit, no route, source port in use; finished records
and the state are kept, the rest is left for the next run), 75 outside every --window
(nothing sent), 129 SIGHUP, 130 SIGINT, 143 SIGTERM (records and state written).";

/// otscan: identify industrial devices by asking them, read-only, who they are.
#[derive(Debug, Parser)]
#[command(name = "otscan", version, about, long_about = None,
    after_help = "Run `otscan demo` to scan a simulated plant on loopback.\n\nExit codes: 0 done, 1 runtime failure (diff: changes found), 2 bad usage, 69 --state held by another run, 71 this host could not send, 75 outside the maintenance window, 129 SIGHUP, 130 SIGINT, 143 SIGTERM.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan targets: one line per device (a table on a terminal, else NDJSON records).
    #[command(after_help = SCAN_EXAMPLES)]
    Scan(Box<ScanArgs>),
    /// Start a simulated plant on loopback aliases and scan it.
    Demo(DemoArgs),
    /// Local-segment broadcast discovery (off unless asked; `scan` never broadcasts).
    #[command(after_help = DISCOVER_EXAMPLES)]
    Discover(DiscoverArgs),
    /// Compare two scans (native NDJSON): devices that appeared, disappeared, changed or moved.
    #[command(after_help = DIFF_HELP)]
    Diff(DiffArgs),
    /// Re-render a saved native scan as a table, CSV, OCSF, ECS or HEC.
    #[command(after_help = CONVERT_HELP)]
    Convert(ConvertArgs),
    /// Write one self-contained HTML inventory report of a saved scan (and what
    /// changed since an older one).
    #[command(after_help = REPORT_HELP)]
    Report(ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout: `otscan man > otscan.1`.
    Man,
    /// Configuration: `otscan config show [SCAN OPTIONS]` prints the effective settings.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (profile, --config file and flags merged) as TOML.
    Show(Box<ScanArgs>),
}

/// Inserts the options of a `--config` TOML file (keys are long flag names) right
/// after the subcommand, leaving out those the command line gives itself, so flags
/// win over the file and the file over the profile.
pub fn expand_config_file(
    args: Vec<std::ffi::OsString>,
) -> Result<Vec<std::ffi::OsString>, String> {
    use clap::CommandFactory;
    let texts: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let path = texts.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--config=").map(str::to_owned).or_else(|| {
            (a == "--config")
                .then(|| texts.get(i + 1).cloned())
                .flatten()
        })
    });
    let Some(path) = path else {
        return Ok(args);
    };
    let err = |m: String| format!("--config {path}: {m}");
    let text = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| err(e.message().to_owned()))?;
    let command = Cli::command();
    let scan = command
        .find_subcommand("scan")
        .ok_or_else(|| err("no scan command".into()))?;
    let known: std::collections::BTreeSet<String> = scan
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_owned))
        .collect();
    let on_command_line = |flag: &str| {
        texts
            .iter()
            .any(|a| a == &format!("--{flag}") || a.starts_with(&format!("--{flag}=")))
    };
    let scalar = |key: &str, v: &toml::Value| match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        other => Err(err(format!(
            "key '{key}': {} is not a value",
            other.type_str()
        ))),
    };
    let mut injected: Vec<String> = Vec::new();
    let mut positional: Vec<String> = Vec::new();
    for (key, value) in &table {
        let flag = key.replace('_', "-");
        if flag == "targets" {
            match value {
                toml::Value::Array(items) => {
                    for item in items {
                        positional.push(scalar(key, item)?);
                    }
                }
                other => positional.push(scalar(key, other)?),
            }
            continue;
        }
        if flag == "config" || !known.contains(&flag) {
            return Err(err(format!("unknown key '{key}'")));
        }
        if on_command_line(&flag) {
            continue;
        }
        match value {
            toml::Value::Boolean(true) => injected.push(format!("--{flag}")),
            toml::Value::Boolean(false) => {}
            toml::Value::Array(items) => {
                for item in items {
                    injected.push(format!("--{flag}"));
                    injected.push(scalar(key, item)?);
                }
            }
            other => {
                injected.push(format!("--{flag}"));
                injected.push(scalar(key, other)?);
            }
        }
    }
    let at = texts
        .iter()
        .position(|a| a == "scan" || a == "show")
        .map_or(texts.len(), |i| i + 1);
    let mut out = args;
    let tail = out.split_off(at);
    out.extend(injected.into_iter().map(Into::into));
    out.extend(tail);
    out.extend(positional.into_iter().map(Into::into));
    Ok(out)
}

impl ScanArgs {
    /// The effective settings as TOML, in the `--config` file's keys (communities masked).
    pub fn effective_toml(&self) -> String {
        let p = self.pacing();
        let mut out = String::new();
        let mut line = |k: &str, v: String| out.push_str(&format!("{k} = {v}\n"));
        let quoted = |s: &str| format!("{s:?}");
        let list = |items: Vec<String>| format!("[{}]", items.join(", "));
        line("profile", quoted(self.profile.name()));
        line("rate", p.rate.to_string());
        line(
            "per-device-interval",
            quoted(&format!("{}ms", p.per_device_interval.as_millis())),
        );
        line("concurrency", p.concurrency.to_string());
        line("timeout", quoted(&format!("{}ms", p.timeout.as_millis())));
        line("udp-retries", p.udp_retries.to_string());
        line(
            "probes",
            list(self.probe_list().iter().map(|x| quoted(x.name())).collect()),
        );
        line(
            "port",
            list(
                self.ports
                    .iter()
                    .map(|(pr, n)| {
                        let list: Vec<String> = n.iter().map(u16::to_string).collect();
                        quoted(&format!("{pr}={}", list.join(",")))
                    })
                    .collect(),
            ),
        );
        for (key, value) in self.probe_args.settings() {
            line(key, value);
        }
        line("format", quoted(&self.format.to_string()));
        for (key, value) in self.siem.settings() {
            line(key, value);
        }
        line("emit-all", self.emit_all.to_string());
        line("no-liveness", self.no_liveness.to_string());
        line(
            "window",
            list(self.windows.iter().map(|w| quoted(&w.text)).collect()),
        );
        if let Some(g) = self.window_grace {
            line("window-grace", quoted(&format!("{}s", g.as_secs())));
        }
        if let Some(d) = self.max_duration {
            line("max-duration", quoted(&format!("{}s", d.as_secs())));
        }
        for (key, path) in [
            ("state", &self.state),
            ("report", &self.report),
            ("output", &self.output),
            ("enrich", &self.enrich),
        ] {
            if let Some(path) = path {
                line(key, quoted(&path.display().to_string()));
            }
        }
        line(
            "exclude",
            list(self.exclude.iter().map(|e| quoted(e)).collect()),
        );
        line(
            "targets",
            list(self.targets.iter().map(|t| quoted(t)).collect()),
        );
        out
    }
}

const DIFF_HELP: &str = "\
Emits one JSON change event per line (appeared, disappeared, changed with
before/after per field, moved: the same asset_id at a new address, with
previous_ip); on a terminal, a readable table instead (--json forces JSON). A
firmware or serial number change is marked notable.

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

const CONVERT_HELP: &str = "\
Reads a scan saved in the native format (`otscan scan -o scan.jsonl`) and writes it
again in another format, so a scan is taken once and fed to every consumer. A line
that is not a native record stops it with a message naming the file and the line
(exit 2).

Examples:
  otscan convert scan.jsonl --format table            aligned to the terminal
  otscan convert scan.jsonl --format csv -o assets.csv
  otscan convert scan.jsonl --format ocsf | your-siem-shipper
  otscan convert scan.jsonl --format hec -o scan.hec.json
  otscan convert scan.jsonl --format hec --hec-index ot_assets --hec-sourcetype otscan:asset
  otscan convert scan.jsonl --format ecs --ecs-version 9     device.* and host.entity.* fields

OCSF and ECS describe devices: records of addresses that answered nothing (taken
with --emit-all) get no event; native, hec and csv keep them.";

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The saved scan (native NDJSON records, as `otscan scan` writes them).
    pub scan: PathBuf,
    /// Output format: table, csv, native, ocsf, ecs or hec [default: table on a
    /// terminal, native otherwise].
    #[arg(long, value_name = "FORMAT", default_value = "auto", hide_default_value = true,
        value_parser = parse_format_choice)]
    pub format: FormatChoice,
    /// Write to FILE instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Options of the SIEM formats.
    #[command(flatten)]
    pub siem: SiemArgs,
}

const REPORT_HELP: &str = "\
One HTML file, no network and no external assets (styles and the small script are
inside), that can be mailed: devices counted by vendor, device type, protocol and
firmware version; the device table (click a heading to sort, type to filter); every
device's protocol details; and, given an older scan, the devices that appeared,
vanished or changed, firmware and serial changes first. Every device string is
escaped: a product name cannot become markup or script.

Examples:
  otscan report scan.jsonl -o report.html
  otscan report today.jsonl last-week.jsonl -o report.html    with what changed";

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The scan to report (native NDJSON records).
    pub scan: PathBuf,
    /// An older scan to compare with (native NDJSON records).
    pub older: Option<PathBuf>,
    /// The HTML file to write.
    #[arg(short = 'o', long, value_name = "FILE", required = true)]
    pub output: PathBuf,
    /// The report's title.
    #[arg(long, value_name = "TEXT", default_value = "OT asset inventory")]
    pub title: String,
}

const DISCOVER_EXAMPLES: &str = "\
Examples:
  otscan discover --enip --interface eth1              one ListIdentity broadcast, 3 s of replies
  otscan discover --enip --interface eth1 --wait 5s -o found.jsonl
  otscan discover --profinet --interface eth1          one DCP Identify All frame (CAP_NET_RAW)

--enip sends exactly one EtherNet/IP ListIdentity datagram to the interface's
IPv4 broadcast address; --profinet sends exactly one PROFINET DCP Identify All
frame to 01:0E:CF:00:00:00 out of the interface (no IP address needed), which
every PROFINET station on the segment answers. One record per device that
replies. Devices delay replies (DCP: over all but the last second of --wait), so
--wait is at least 2s.";

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Discover EtherNet/IP devices (one ListIdentity broadcast).
    #[arg(
        long,
        required_unless_present = "profinet",
        conflicts_with = "profinet"
    )]
    pub enip: bool,
    /// Discover PROFINET stations (one DCP Identify All frame, EtherType 0x8892; needs
    /// CAP_NET_RAW).
    #[arg(long)]
    pub profinet: bool,
    /// Interface to send on (--enip: its IPv4 broadcast address is used).
    #[arg(long, value_name = "IF")]
    pub interface: String,
    /// How long to collect replies (at least 2s).
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_duration)]
    pub wait: Duration,
    /// EtherNet/IP port.
    #[arg(long, default_value_t = 44818)]
    pub enip_port: u16,
    /// Write records to FILE instead of stdout (truncated, or appended to with --state).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format: table, csv, native, ocsf, ecs or hec [default: table on a
    /// terminal, native otherwise].
    #[arg(long, value_name = "FORMAT", default_value = "auto", hide_default_value = true,
        value_parser = parse_format_choice)]
    pub format: FormatChoice,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
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
    /// Probes to run, in order (see the list below). The first protocol that names an
    /// identity field wins.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = default_probe_list(),
        help = probes_help(), value_parser = parse_probe_choice)]
    pub probes: Vec<ProbeChoice>,
    /// Use another port for a protocol, e.g. --port modbus=5020 (repeatable, once per
    /// protocol). MELSEC takes
    /// a list tried in order over TCP and UDP, e.g. --port melsec=5007,5002 (default: TCP
    /// 5007, UDP 5006; see the MELSEC options); HTTP a list tried in order until one
    /// answers, e.g. --port http=80,8080 (at most 8), and HTTPS too; the other protocols take one
    /// port.
    #[arg(long = "port", value_name = "PROTO=N[,N]", value_parser = parse_port_override)]
    pub ports: Vec<(Protocol, Vec<u16>)>,
    /// Global request rate: requests (connection attempts included) per second
    /// [profile safe: 100, normal: 500, fast: 2000].
    #[arg(long, value_name = "N", allow_negative_numbers = true,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
    /// Minimum time between two packets to the same device, e.g. 100ms
    /// [profile safe: 100ms, normal: 50ms, fast: 25ms].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub per_device_interval: Option<Duration>,
    /// Devices scanned at once [profile safe: 64, normal: 256, fast: 1024]. Each
    /// needs two open files, one per probe and transport while its liveness phase runs:
    /// a value the open-files limit cannot carry is refused.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub concurrency: Option<NonZeroUsize>,
    /// Connect and read timeout, e.g. 2s, 500ms, at most 60s [profile safe: 2s,
    /// normal: 1500ms, fast: 1s].
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Stop sending after this long; finished records are still written.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_duration: Option<Duration>,
    /// Times an unanswered UDP request is sent again [profile safe: 1, normal: 1, fast: 0].
    #[arg(long, value_name = "N", allow_negative_numbers = true,
        value_parser = clap::value_parser!(u32).range(0..=5))]
    pub udp_retries: Option<u32>,
    /// Emit a record for every target, including those that answered nothing.
    #[arg(long)]
    pub emit_all: bool,
    /// Treat every address as live, like nmap's -Pn: probe it in full (retries, every SNMP
    /// version, fallback transports) even when it answers nothing. By default each address
    /// first gets every probe's first packet only, and one that answers none of them
    /// within one timeout costs nothing more (one packet per probe and transport).
    #[arg(long)]
    pub no_liveness: bool,
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
    /// Write records to FILE instead of stdout (truncated, or appended to with --state).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format: table (one aligned line per device), csv (one row per device,
    /// columns in docs/record.md), native (the otscan record), ocsf (Device Inventory
    /// Info, class 5001), ecs (event.kind: asset) or hec (Splunk HTTP Event Collector
    /// envelopes) [default: table when stdout is a terminal, native otherwise].
    #[arg(long, value_name = "FORMAT", default_value = "auto", hide_default_value = true,
        value_parser = parse_format_choice)]
    pub format: FormatChoice,
    /// Options of the SIEM formats.
    #[command(flatten)]
    pub siem: SiemArgs,
    /// Pacing bundle: safe (default), normal or fast (see README); explicit flags win.
    #[arg(long, value_name = "NAME", default_value = "safe", value_parser = parse_profile)]
    pub profile: Profile,
    /// TOML file holding any of these options (keys are the long flag names); flags win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Maintenance window, e.g. "Sat 02:00-04:00" or "Mon-Fri 22:00-02:00 Europe/Berlin"
    /// (repeatable). Outside every window nothing is sent; inside, the scan stops at the
    /// window's end minus the grace.
    #[arg(long = "window", value_name = "WINDOW", value_parser = parse_window)]
    pub windows: Vec<Window>,
    /// Time kept free before the window closes [default: a tenth of the whole window, at
    /// most 5m]; it must be shorter than the window.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub window_grace: Option<Duration>,
    /// Outside the window, sleep until it opens instead of refusing.
    #[arg(long)]
    pub wait: bool,
    /// Stop sending at this time: RFC 3339 (2026-11-28T04:00:00Z) or HH:MM (local, next
    /// occurrence); a time in the past is refused.
    #[arg(long, value_name = "TIME", value_parser = parse_stop_at)]
    pub stop_at: Option<jiff::Timestamp>,
    /// Checkpoint file: resume a scan that a window or a stop cut short; written atomically
    /// before sending and every 5 s. One run at a time (FILE.lock; a second exits 69);
    /// FILE.journal keeps what finished since, so after SIGKILL only targets in flight
    /// are scanned again, none whose record was written. With it, -o appends instead of
    /// truncating.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Write the run report as JSON to FILE (it is always printed on stderr); checked
    /// before sending, written even when stderr is broken.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Each protocol's own flags.
    #[command(flatten)]
    pub probe_args: ProbeArgs,
}

/// Pacing bundles, from gentlest to fastest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The default: for production networks with fragile devices.
    Safe,
    /// For robust networks in a maintenance window.
    Normal,
    /// For labs and test benches.
    Fast,
}

/// What a profile sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileValues {
    pub rate: u32,
    pub per_device_interval: Duration,
    pub concurrency: usize,
    pub timeout: Duration,
    pub udp_retries: u32,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Safe => "safe",
            Profile::Normal => "normal",
            Profile::Fast => "fast",
        }
    }

    pub fn values(self) -> ProfileValues {
        match self {
            Profile::Safe => ProfileValues {
                rate: scanner_core::config::DEFAULT_RATE,
                per_device_interval: scanner_core::config::DEFAULT_PER_DEVICE_INTERVAL,
                concurrency: scanner_core::config::DEFAULT_CONCURRENCY,
                timeout: scanner_core::config::DEFAULT_READ_TIMEOUT,
                udp_retries: scanner_core::config::DEFAULT_UDP_RETRIES,
            },
            Profile::Normal => ProfileValues {
                rate: 500,
                per_device_interval: Duration::from_millis(50),
                concurrency: 256,
                timeout: Duration::from_millis(1500),
                udp_retries: 1,
            },
            Profile::Fast => ProfileValues {
                rate: 2000,
                per_device_interval: Duration::from_millis(25),
                concurrency: 1024,
                timeout: Duration::from_secs(1),
                udp_retries: 0,
            },
        }
    }
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "safe" => Ok(Profile::Safe),
        "normal" => Ok(Profile::Normal),
        "fast" => Ok(Profile::Fast),
        other => Err(format!("'{other}' is not safe, normal or fast")),
    }
}

fn parse_window(s: &str) -> Result<Window, String> {
    s.parse::<Window>().map_err(|e| e.to_string())
}

/// The longest `--timeout` accepted: a device that needs more is not answering.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// A duration no longer than [`MAX_TIMEOUT`].
fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d > MAX_TIMEOUT {
        return Err(format!(
            "'{s}' is longer than the {}s maximum",
            MAX_TIMEOUT.as_secs()
        ));
    }
    Ok(d)
}

/// RFC 3339 (not in the past), or HH:MM in the local zone at its next occurrence.
fn parse_stop_at(s: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        if t <= jiff::Timestamp::now() {
            return Err(format!("'{s}' is in the past"));
        }
        return Ok(t);
    }
    let bad = || format!("'{s}' is neither RFC 3339 (2026-11-28T04:00:00Z) nor HH:MM");
    let time: jiff::civil::Time = s.parse().map_err(|_| bad())?;
    let now = jiff::Zoned::now();
    let today = now
        .date()
        .to_datetime(time)
        .to_zoned(now.time_zone().clone())
        .map_err(|_| bad())?;
    let at = if today.timestamp() > now.timestamp() {
        today
    } else {
        today.tomorrow().map_err(|_| bad())?
    };
    Ok(at.timestamp())
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// First address of the simulated /24 (must be in 127.0.0.0/8).
    #[arg(long, default_value = "127.77.0.0")]
    pub base: std::net::Ipv4Addr,
    /// Serve (and scan) a protocol's simulated devices on another port, e.g. --port s7=102
    /// (repeatable, once per protocol). The defaults avoid ports below 1024: modbus 5020, enip 44818, s7 10102,
    /// opcua 4840, fins 9600, bacnet 47808, snmp 1161, fox 1911, melsec 5007, knx 3671, ads 48899, hart 5094, profinet 34964, codesys 1741, ssh 2222, ftp 2121, telnet 2323, http 8080, https 8443. A MELSEC list (--port melsec=5007,5002) is
    /// scanned in order; the simulated devices serve the first port.
    #[arg(long = "port", value_name = "PROTO=N[,N]", value_parser = parse_port_override)]
    pub ports: Vec<(Protocol, Vec<u16>)>,
    /// Output format: table, csv, native, ocsf, ecs or hec [default: table on a
    /// terminal, native otherwise].
    #[arg(long, value_name = "FORMAT", default_value = "auto", hide_default_value = true,
        value_parser = parse_format_choice)]
    pub format: FormatChoice,
    /// Options of the SIEM formats.
    #[command(flatten)]
    pub siem: SiemArgs,
}

/// Options of the SIEM formats, shared by `scan`, `demo` and `convert`. Each is
/// refused (exit 2, nothing sent) with a format it does not apply to.
#[derive(Debug, Clone, Default, Args)]
pub struct SiemArgs {
    /// With --format hec: the Splunk index for the events (lower-case letters, digits,
    /// _ and -, not starting with _ or -) [default: the HEC token's default index].
    #[arg(long, value_name = "INDEX", value_parser = parse_hec_index)]
    pub hec_index: Option<String>,
    /// With --format hec: the events' source [default: otscan].
    #[arg(long, value_name = "TEXT", value_parser = parse_hec_source)]
    pub hec_source: Option<String>,
    /// With --format hec: the events' sourcetype, no blanks [default: otscan:asset].
    #[arg(long, value_name = "NAME", value_parser = parse_hec_sourcetype)]
    pub hec_sourcetype: Option<String>,
    /// With --format ecs: 8 (ECS 8.17, what ECS has no field for under otscan.*) or 9
    /// (ECS 9.2: device.vendor.*, device.product.*, device.type and host.entity.*
    /// replace otscan.vendor_id, product_name, device_type, target_name) [default: 8].
    #[arg(long, value_name = "8|9", value_parser = parse_ecs_version)]
    pub ecs_version: Option<EcsVersion>,
}

impl SiemArgs {
    /// The output settings for `format`, or the one-line error naming an option
    /// that does not apply to it.
    pub fn meta(&self, format: OutputFormat) -> Result<OutputMeta, String> {
        use scanner_core::output::Format;
        for (flag, given, wanted) in [
            ("--hec-index", self.hec_index.is_some(), Format::Hec),
            ("--hec-source", self.hec_source.is_some(), Format::Hec),
            (
                "--hec-sourcetype",
                self.hec_sourcetype.is_some(),
                Format::Hec,
            ),
            ("--ecs-version", self.ecs_version.is_some(), Format::Ecs),
        ] {
            if given && format != OutputFormat::Json(wanted) {
                return Err(format!(
                    "{flag} applies only to --format {wanted} (the format is {format})"
                ));
            }
        }
        let mut meta = OutputMeta::default();
        meta.hec.index.clone_from(&self.hec_index);
        if let Some(source) = &self.hec_source {
            meta.hec.source.clone_from(source);
        }
        if let Some(sourcetype) = &self.hec_sourcetype {
            meta.hec.sourcetype.clone_from(sourcetype);
        }
        meta.ecs_version = self.ecs_version.unwrap_or_default();
        Ok(meta)
    }

    /// The options that are set, as `--config` keys and TOML values.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        [
            ("hec-index", &self.hec_index),
            ("hec-source", &self.hec_source),
            ("hec-sourcetype", &self.hec_sourcetype),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| (key, format!("{v:?}"))))
        .chain(
            self.ecs_version
                .map(|v| ("ecs-version", format!("{:?}", v.version()))),
        )
        .collect()
    }
}

fn parse_ecs_version(s: &str) -> Result<EcsVersion, String> {
    s.parse()
}

fn parse_hec_index(s: &str) -> Result<String, String> {
    scanner_core::output::hec::check_index(s).map(|()| s.to_owned())
}

fn parse_hec_source(s: &str) -> Result<String, String> {
    scanner_core::output::hec::check_label(s, false).map(|()| s.to_owned())
}

fn parse_hec_sourcetype(s: &str) -> Result<String, String> {
    scanner_core::output::hec::check_label(s, true).map(|()| s.to_owned())
}

/// One item of `--probes`: a protocol, `all` (every registered protocol, the ones off
/// by default included) or `default` (the default list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeChoice {
    /// One protocol.
    One(Protocol),
    /// Every registered protocol, in the registry's order.
    All,
    /// The default list ([`Protocol::DEFAULT`]), in the registry's order.
    Default,
}

impl ScanArgs {
    /// The opt-in probe features given for a probe the scan does not run
    /// (`--http-favicon` without http, `--https-favicon` without https), as typed: each
    /// is warned about, since it changes nothing. `--port` overrides are not: a site's
    /// port map is naturally wider than one run's probe list.
    pub fn flags_without_their_probe(&self) -> Vec<String> {
        let probes = self.probe_list();
        [
            (
                self.probe_args.http.http_favicon,
                Protocol::Http,
                "--http-favicon",
            ),
            (
                self.probe_args.https.https_favicon,
                Protocol::Https,
                "--https-favicon",
            ),
        ]
        .into_iter()
        .filter(|(given, protocol, _)| *given && !probes.contains(protocol))
        .map(|(_, _, flag)| flag.to_owned())
        .collect()
    }

    /// The probes `--probes` names, in its order, `all` and `default` expanded, each
    /// protocol once (at its first mention).
    pub fn probe_list(&self) -> Vec<Protocol> {
        let mut out: Vec<Protocol> = Vec::new();
        for choice in &self.probes {
            let protocols: &[Protocol] = match choice {
                ProbeChoice::One(p) => std::slice::from_ref(p),
                ProbeChoice::All => Protocol::ALL,
                ProbeChoice::Default => Protocol::DEFAULT,
            };
            for &p in protocols {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }
}

fn parse_probe_choice(s: &str) -> Result<ProbeChoice, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "all" => Ok(ProbeChoice::All),
        "default" => Ok(ProbeChoice::Default),
        _ => parse_probe(s).map(ProbeChoice::One),
    }
}

/// The names of the protocols off the default list, `ssh, ftp, telnet`.
pub fn off_by_default_list() -> String {
    Protocol::OFF_BY_DEFAULT
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `modbus,enip,s7,bacnet,snmp`: every protocol on the default list, in the registry's
/// order.
fn default_probe_list() -> &'static str {
    static LIST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        let names: Vec<&str> = scanner_core::config::DEFAULT_PROBES
            .iter()
            .map(|p| p.name())
            .collect();
        names.join(",")
    })
}

/// The `--probes` help: every registered protocol with its transports and default port.
fn probes_help() -> String {
    let defaults = ProtocolConfigs::default();
    let list: Vec<String> = Protocol::ALL
        .iter()
        .map(|&p| format!("{p} ({})", defaults.ports_text(p)))
        .collect();
    format!(
        "Probes to run, in order: {}. The first protocol that names an identity field wins. \
         Off by default (not industrial protocols; name them, or use `all` for every probe, \
         `default` for the default list): {}.",
        list.join(", "),
        off_by_default_list()
    )
}

fn parse_probe(s: &str) -> Result<Protocol, String> {
    Protocol::from_name(s).ok_or_else(|| {
        format!(
            "unknown probe '{}' (known: {}, and off by default: {}; or all, default)",
            s.trim().to_ascii_lowercase(),
            default_probe_list().replace(',', ", "),
            off_by_default_list()
        )
    })
}

/// `PROTO=N`, or `PROTO=N,N,...` for a protocol that takes a list of ports (MELSEC).
fn parse_port_override(s: &str) -> Result<(Protocol, Vec<u16>), String> {
    let (proto, list) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not PROTO=PORT, e.g. modbus=5020"))?;
    let proto = parse_probe(proto)?;
    let ports = list
        .split(',')
        .map(|port| {
            port.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("'{port}' is not a port number (1-65535)"))
        })
        .collect::<Result<Vec<u16>, String>>()?;
    // The protocol's own settings say whether it takes a list and which lists are valid
    // (a port listed twice, too many ports): refused here, where clap names `--port`.
    let mut configs = ProtocolConfigs::default();
    configs.set_ports(proto, &ports)?;
    configs.validate(proto)?;
    Ok((proto, ports))
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
    /// Targets were given, but none is left to scan.
    #[error("no targets left to scan: the target files are empty or everything is excluded")]
    EmptyTargets,
    /// A bad enrichment file.
    #[error("--enrich {0}")]
    Enrich(#[from] scanner_core::enrich::EnrichError),
    /// `--port melsec=LIST` beside MELSEC's own lists: it would silently replace them
    /// (and so send on a transport `none` had switched off).
    #[error("--port melsec= sets the MELSEC TCP and UDP lists both; with --melsec-tcp-ports or --melsec-udp-ports, give the lists there only")]
    MelsecPortsTwice,
    /// `--port PROTO=...` given twice for one protocol: one would silently replace the
    /// other.
    #[error("--port {0}= is given twice; give a protocol's ports once (a list where it takes one: --port melsec=5007,5002)")]
    PortTwice(Protocol),
    /// A community longer than any agent takes; the community itself is not shown.
    #[error("--snmp-communities: community {index} of the list is {len} bytes, at most {max} (net-snmp's limit)", max = scanner_core::protocols::snmp::MAX_COMMUNITY_LEN)]
    CommunityTooLong {
        /// Its place in the list, from 1.
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
}

/// The first protocol that `--port` names twice in `ports`.
pub fn port_given_twice(ports: &[(Protocol, Vec<u16>)]) -> Option<Protocol> {
    ports
        .iter()
        .enumerate()
        .find(|(i, (p, _))| ports[..*i].iter().any(|(q, _)| q == p))
        .map(|(_, (p, _))| *p)
}

impl ScanArgs {
    /// Pacing after the profile: explicit flags win, the profile fills the rest.
    pub fn pacing(&self) -> ProfileValues {
        let p = self.profile.values();
        ProfileValues {
            rate: self.rate.unwrap_or(p.rate),
            per_device_interval: self.per_device_interval.unwrap_or(p.per_device_interval),
            concurrency: self.concurrency.map_or(p.concurrency, NonZeroUsize::get),
            timeout: self.timeout.unwrap_or(p.timeout),
            udp_retries: self.udp_retries.unwrap_or(p.udp_retries),
        }
    }

    /// The checks of options against each other that the parser cannot make (a
    /// protocol's `--port` twice, a community too long, `--port melsec=` beside MELSEC's
    /// own lists): `scan` and `config show` refuse the same command lines.
    pub fn check_options(&self) -> Result<(), UsageError> {
        if let Some(protocol) = port_given_twice(&self.ports) {
            return Err(UsageError::PortTwice(protocol));
        }
        if let Some((index, len)) = self.probe_args.snmp.community_too_long() {
            return Err(UsageError::CommunityTooLong { index, len });
        }
        // The lists' defaults are MelsecConfig's: anything else was given (`none` too).
        let (melsec, defaults) = (
            &self.probe_args.melsec,
            scanner_core::protocols::melsec::MelsecConfig::default(),
        );
        let melsec_lists_given = melsec.melsec_tcp_ports.0 != defaults.tcp_ports
            || melsec.melsec_udp_ports.0 != defaults.udp_ports;
        if melsec_lists_given && self.ports.iter().any(|(p, _)| *p == Protocol::Melsec) {
            return Err(UsageError::MelsecPortsTwice);
        }
        Ok(())
    }

    /// Parses targets and exclusions (failing before anything is sent) and builds the config.
    pub fn to_config(&self) -> Result<ScanConfig, UsageError> {
        if self.targets.is_empty() && self.input_file.is_empty() {
            return Err(UsageError::NoTargets);
        }
        self.check_options()?;
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
        if targets.is_empty() {
            return Err(UsageError::EmptyTargets);
        }
        let mut protocols = ProtocolConfigs::default();
        self.probe_args.apply(&mut protocols);
        for (protocol, ports) in &self.ports {
            // Checked by the parser: a list only where the protocol takes one.
            let _ = protocols.set_ports(*protocol, ports);
        }
        let pacing = self.pacing();
        let mut builder = ScanConfig::builder()
            .targets(targets)
            .probes(self.probe_list())
            .rate(Rate::PerSecond(
                NonZeroU32::new(pacing.rate).unwrap_or(NonZeroU32::MIN),
            ))
            .per_device_interval(pacing.per_device_interval)
            .concurrency(NonZeroUsize::new(pacing.concurrency).unwrap_or(NonZeroUsize::MIN))
            .timeout(pacing.timeout)
            .emit_all(self.emit_all)
            .liveness(!self.no_liveness)
            .udp_retries(pacing.udp_retries)
            .protocols(protocols);
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
    fn ports() {
        assert_eq!(
            parse_port_override("modbus=5020"),
            Ok((Protocol::Modbus, vec![5020]))
        );
        assert_eq!(
            parse_port_override("melsec=5007,5002"),
            Ok((Protocol::Melsec, vec![5007, 5002]))
        );
        assert!(parse_port_override("modbus=502,5020").is_err());
        assert!(parse_port_override("melsec=5007,5007").is_err());
        assert!(parse_port_override("modbus").is_err());
        assert!(parse_port_override("modbus=0").is_err());
        assert!(parse_port_override("ethercat=34980").is_err());
        assert_eq!(
            parse_port_override("ftp=2121"),
            Ok((Protocol::Ftp, vec![2121]))
        );
    }
}
