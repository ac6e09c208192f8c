//! Runs a scan: output sink (NDJSON), progress bar, summary, exit codes.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use scanner_core::output::{Format, OutputMeta};
use scanner_core::{Progress, ScanConfig, Scanner, StopReason};

use crate::cli::ScanArgs;

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_INTERRUPTED: u8 = 130;

/// Prints a clap error as one line (help and version go out whole) and picks the exit code.
pub fn usage_exit(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("bad usage")
                .trim_start_matches("error: ");
            eprintln!("otscan: error: {first}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OTSCAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn open_sink(output: Option<&std::path::Path>) -> Result<Box<dyn Write + Send>, u8> {
    match output {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Ok(Box::new(f)),
            Err(e) => {
                eprintln!(
                    "otscan: error: cannot create output file {}: {e}",
                    path.display()
                );
                Err(EXIT_FAILURE)
            }
        },
        None => Ok(Box::new(std::io::stdout())),
    }
}

/// Writes one record in `format` as one whole line and flushes it.
fn write_record(
    sink: &mut dyn Write,
    record: &scanner_core::AssetRecord,
    format: Format,
) -> Result<(), String> {
    scanner_core::output::write_record(sink, record, format, &OutputMeta::default())
        .map_err(|e| format!("cannot write output: {e}"))
}

pub async fn discover_command(args: crate::cli::DiscoverArgs) -> u8 {
    use scanner_core::discover::{discover_enip, DiscoveryError, EnipBroadcast};
    let config = EnipBroadcast {
        interface: args.interface.clone(),
        port: args.enip_port,
        listen: args.wait,
        max_devices: 65_536,
        scan_id: scanner_core::engine::new_scan_id(),
    };
    let mut sink = match open_sink(args.output.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let cancel = scanner_core::CancellationToken::new();
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        });
    }
    let result = match discover_enip(&config, &cancel).await {
        Ok(r) => r,
        Err(e @ (DiscoveryError::NoBroadcast(_) | DiscoveryError::ListenTooShort(_))) => {
            eprintln!("otscan: error: {e}");
            return EXIT_USAGE;
        }
        Err(e) => {
            eprintln!("otscan: error: discovery failed: {e}");
            return EXIT_FAILURE;
        }
    };
    for record in &result.records {
        if let Err(e) = write_record(&mut *sink, record, args.format) {
            eprintln!("otscan: error: {e}");
            return EXIT_FAILURE;
        }
    }
    eprintln!(
        "otscan: discover: one ListIdentity to {}, {} devices answered, {} replies ignored",
        result.broadcast,
        result.records.len(),
        result.ignored_replies
    );
    if cancel.is_cancelled() {
        EXIT_INTERRUPTED
    } else {
        EXIT_OK
    }
}

pub async fn scan_command(args: ScanArgs) -> u8 {
    let config = match args.to_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("otscan: error: {e}");
            return EXIT_USAGE;
        }
    };
    if args.dry_run {
        return dry_run(&config, args.list_targets);
    }
    match open_sink(args.output.as_deref()) {
        Ok(sink) => run_scan(config, sink, args.format).await,
        Err(code) => code,
    }
}

/// Scans and writes one JSON record per line to `sink`, flushed per record so a
/// reader (a SIEM forwarder, `jq`) never sees half a line; Ctrl-C stops sending and
/// still writes every finished record.
pub async fn run_scan(config: ScanConfig, mut sink: Box<dyn Write + Send>, format: Format) -> u8 {
    let planned = config.targets.len();
    let mut scan = Scanner::new(config).scan();
    let cancel = scan.cancel_token();
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, std::sync::atomic::Ordering::SeqCst);
                eprintln!("otscan: interrupted: stopping, writing finished records");
                cancel.cancel();
            }
        });
    }
    let bar = progress_bar(planned);
    let mut progress = scan.progress();
    let bar_task = {
        let bar = bar.clone();
        tokio::spawn(async move {
            while progress.changed().await.is_ok() {
                let p = progress.borrow().clone();
                bar.set_position(p.finished);
                bar.set_message(format!("{} devices", p.responsive));
                if p.done {
                    break;
                }
            }
        })
    };
    let mut write_error = None;
    while let Some(record) = scan.next().await {
        if let Err(e) = write_record(&mut *sink, &record, format) {
            write_error = Some(e);
            break;
        }
    }
    let summary = scan.progress().borrow().clone();
    drop(scan);
    let _ = tokio::time::timeout(Duration::from_millis(200), bar_task).await;
    bar.finish_and_clear();
    if let Some(e) = write_error {
        eprintln!("otscan: error: {e}");
        return EXIT_FAILURE;
    }
    eprintln!("{}", summary_line(&summary));
    if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
        EXIT_INTERRUPTED
    } else {
        EXIT_OK
    }
}

fn progress_bar(planned: u128) -> ProgressBar {
    let bar = ProgressBar::new(u64::try_from(planned).unwrap_or(u64::MAX));
    if std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} targets, {msg} ({per_sec}, eta {eta})",
        ) {
            bar.set_style(style);
        }
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

/// The one-line summary printed at the end of a scan.
pub fn summary_line(p: &Progress) -> String {
    let per_protocol: Vec<String> = p
        .responsive_by_protocol
        .iter()
        .map(|(proto, n)| format!("{proto} {n}"))
        .collect();
    let statuses: Vec<String> = p.statuses.iter().map(|(s, n)| format!("{s} {n}")).collect();
    let mut line = format!(
        "otscan: {} of {} targets scanned, {} responsive devices{}; statuses: {}; {} requests; {:.1}s",
        p.finished,
        p.planned,
        p.responsive,
        if per_protocol.is_empty() {
            String::new()
        } else {
            format!(" ({})", per_protocol.join(", "))
        },
        if statuses.is_empty() {
            "none".to_owned()
        } else {
            statuses.join(", ")
        },
        p.requests_sent,
        p.elapsed.as_secs_f64()
    );
    match p.stopped {
        Some(StopReason::Deadline) => line.push_str(&format!(
            "; stopped at the deadline, {} targets left",
            p.planned.saturating_sub(u128::from(p.finished))
        )),
        Some(StopReason::Cancelled) => line.push_str(&format!(
            "; interrupted, {} targets left",
            p.planned.saturating_sub(u128::from(p.finished))
        )),
        None => {}
    }
    line
}

/// Prints the plan and sends nothing.
fn dry_run(config: &ScanConfig, list: bool) -> u8 {
    let targets = config.targets.len();
    let min_req = config.min_requests_for_device();
    let max_req = config.max_requests_for_device();
    let rate = match config.rate {
        scanner_core::Rate::PerSecond(n) => f64::from(n.get()),
        scanner_core::Rate::Unlimited => f64::INFINITY,
    };
    let secs = |reqs: u64| (targets as f64) * (reqs as f64) / rate;
    let mut out = std::io::stdout().lock();
    let probes: Vec<String> = config
        .probes
        .iter()
        .map(|p| format!("{p}/{}", config.port(*p)))
        .collect();
    let mut text = format!(
        "plan (dry run, nothing sent)\n  targets:              {targets}\n  probes:               {}\n  modbus unit ids:      {:?}\n  requests per device:  {min_req} (nothing listening) to {max_req} (answers every request)\n  rate:                 {} requests/s, {} ms between packets to one device, {} devices at once\n  expected duration:    {} (every address empty) to {} (every address a device)\n  target order seed:    {}{}\n",
        probes.join(", "),
        config.modbus.unit_ids,
        rate,
        config.per_device_interval.as_millis(),
        config.concurrency,
        human_duration(secs(min_req)),
        human_duration(secs(max_req)),
        config.targets.seed(),
        config
            .targets
            .shard()
            .map(|s| format!(", shard {s}"))
            .unwrap_or_default(),
    );
    if let Some(d) = config.max_duration {
        text.push_str(&format!(
            "  maximum duration:     {}\n",
            human_duration(d.as_secs_f64())
        ));
    }
    if out.write_all(text.as_bytes()).is_err() {
        return EXIT_FAILURE;
    }
    if list {
        let mut buf = std::io::BufWriter::new(out);
        for t in config.targets.iter() {
            let line = match &t.name {
                Some(name) => format!("{} {}\n", t.ip, name),
                None => format!("{}\n", t.ip),
            };
            if buf.write_all(line.as_bytes()).is_err() {
                return EXIT_FAILURE;
            }
        }
        if buf.flush().is_err() {
            return EXIT_FAILURE;
        }
    }
    EXIT_OK
}

fn human_duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "unbounded by pacing".into();
    }
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{secs:.1}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// `otscan diff`: 0 nothing changed, 1 changes, 2 bad usage or unreadable input.
pub fn diff_command(args: &crate::cli::DiffArgs) -> u8 {
    use scanner_core::diff::{diff, read_jsonl};
    let read = |path: &std::path::Path| -> Result<Vec<scanner_core::AssetRecord>, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        read_jsonl(std::io::BufReader::new(file)).map_err(|e| format!("{}: {e}", path.display()))
    };
    let (old, new) = match (read(&args.old), read(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("otscan: error: {e}");
            return EXIT_USAGE;
        }
    };
    let changes = diff(&old, &new);
    let mut out = std::io::stdout().lock();
    let table = !args.json && std::io::stdout().is_terminal();
    for change in &changes {
        let line = if table {
            change.to_string()
        } else {
            serde_json::to_string(change).unwrap_or_default()
        };
        if writeln!(out, "{line}").is_err() {
            return EXIT_USAGE;
        }
    }
    let notable = changes.iter().filter(|c| c.notable).count();
    eprintln!(
        "otscan: diff: {} devices before, {} after, {} changes ({notable} notable)",
        old.len(),
        new.len(),
        changes.len()
    );
    u8::from(!changes.is_empty())
}

/// `otscan completions SHELL`.
pub fn completions_command(shell: clap_complete::Shell) -> u8 {
    use clap::CommandFactory;
    let mut command = crate::cli::Cli::command();
    clap_complete::generate(shell, &mut command, "otscan", &mut std::io::stdout());
    EXIT_OK
}

/// `otscan man`: the manual page in roff.
pub fn man_command() -> u8 {
    use clap::CommandFactory;
    let man = clap_mangen::Man::new(crate::cli::Cli::command());
    match man.render(&mut std::io::stdout()) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("otscan: error: cannot write the manual page: {e}");
            EXIT_FAILURE
        }
    }
}
