//! Runs a scan: output sink (NDJSON), progress bar, summary, exit codes.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

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

/// Exit code when the scan is outside every maintenance window (EX_TEMPFAIL: try later).
pub const EXIT_OUTSIDE_WINDOW: u8 = 75;
/// Exit code after SIGTERM.
pub const EXIT_TERMINATED: u8 = 143;

/// How often the state file is rewritten during a scan (it is also written at the end).
const STATE_INTERVAL: Duration = Duration::from_secs(5);

/// Options of one scan run beyond the library configuration.
#[derive(Debug, Default)]
pub struct RunOptions {
    /// Output format.
    pub format: Format,
    /// Checkpoint file.
    pub state: Option<std::path::PathBuf>,
    /// JSON report file.
    pub report: Option<std::path::PathBuf>,
    /// When the maintenance window closes, for the progress bar and the report.
    pub window_closes: Option<jiff::Timestamp>,
}

/// The deadline from --window / --stop-at, or an exit code (outside the window).
/// Deadline, window close and the time sending may start, from --window / --stop-at.
type WindowPlan = (
    Option<jiff::Timestamp>,
    Option<jiff::Timestamp>,
    Option<jiff::Timestamp>,
);

async fn window_deadline(args: &ScanArgs) -> Result<WindowPlan, u8> {
    use scanner_core::window::{default_grace, show, state_at, until, WindowState};
    let mut deadline = args.stop_at;
    let mut closes_at = None;
    let mut starts_at = None;
    if !args.windows.is_empty() {
        let zone = args.windows[0].zone.clone();
        let now = jiff::Timestamp::now();
        let (opens, closes) = match state_at(&args.windows, now) {
            Some(WindowState::Open { closes }) => (now, closes),
            Some(WindowState::Closed { opens, closes }) => {
                if !args.wait || args.dry_run {
                    eprintln!(
                        "otscan: outside the maintenance window ({}): nothing sent; the next window opens {} (in {}){}",
                        args.windows.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(", "),
                        show(opens, &zone),
                        human_duration(until(now, opens).as_secs_f64()),
                        if args.dry_run { "" } else { "; --wait sleeps until then" }
                    );
                    if !args.dry_run {
                        return Err(EXIT_OUTSIDE_WINDOW);
                    }
                } else {
                    eprintln!(
                        "otscan: waiting for the maintenance window: opens {}",
                        show(opens, &zone)
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(until(now, opens)) => {}
                        _ = tokio::signal::ctrl_c() => return Err(EXIT_INTERRUPTED),
                    }
                }
                (opens, closes)
            }
            None => {
                eprintln!("otscan: error: --window: no window opens in the next week");
                return Err(EXIT_USAGE);
            }
        };
        let grace = args
            .window_grace
            .unwrap_or_else(|| default_grace(until(opens, closes)));
        let end = closes
            .checked_sub(jiff::SignedDuration::try_from(grace).unwrap_or_default())
            .unwrap_or(closes);
        closes_at = Some(closes);
        starts_at = Some(opens);
        deadline = Some(deadline.map_or(end, |d| d.min(end)));
    }
    Ok((deadline, closes_at, starts_at))
}

pub async fn scan_command(args: ScanArgs) -> u8 {
    let mut config = match args.to_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("otscan: error: {e}");
            return EXIT_USAGE;
        }
    };
    let (deadline, window_closes, starts) = match window_deadline(&args).await {
        Ok(d) => d,
        Err(code) => return code,
    };
    if let Some(d) = deadline {
        config.deadline = Some(
            std::time::SystemTime::UNIX_EPOCH
                + Duration::from_millis(d.as_millisecond().max(0) as u64),
        );
    }
    if let Some(path) = &args.state {
        match crate::state::load(path, &config) {
            Ok(Some(state)) if state.complete() => {
                // A finished cycle: the next scheduled run starts a new inventory.
                eprintln!(
                    "otscan: state file {}: the previous scan finished ({} targets); starting a new one",
                    path.display(),
                    state.planned
                );
            }
            Ok(Some(state)) => {
                eprintln!(
                    "otscan: resuming from {}: {} of {} targets already done",
                    path.display(),
                    state.checkpoint.count(),
                    state.planned
                );
                config.resume = Some(state.checkpoint);
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("otscan: error: {e}");
                return EXIT_USAGE;
            }
        }
    }
    if args.dry_run {
        return dry_run(&config, args.list_targets, deadline, starts);
    }
    let options = RunOptions {
        format: args.format,
        state: args.state.clone(),
        report: args.report.clone(),
        window_closes,
    };
    match open_sink(args.output.as_deref()) {
        Ok(sink) => run_scan(config, sink, options).await,
        Err(code) => code,
    }
}

/// Signals: the first SIGINT/SIGTERM stops sending and lets the scan deliver what is
/// finished; a second exits at once, but only between two output lines.
fn watch_signals(
    cancel: scanner_core::CancellationToken,
    sink: std::sync::Arc<std::sync::Mutex<Box<dyn Write + Send>>>,
) -> std::sync::Arc<std::sync::atomic::AtomicU8> {
    use std::sync::atomic::{AtomicU8, Ordering};
    let code = std::sync::Arc::new(AtomicU8::new(0));
    let seen = code.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        loop {
            let exit = tokio::select! {
                _ = int.recv() => EXIT_INTERRUPTED,
                _ = term.recv() => EXIT_TERMINATED,
            };
            if seen.load(Ordering::SeqCst) != 0 {
                // Holding the lock means no line is half written.
                let _guard = sink.lock();
                eprintln!("otscan: second signal: exiting now");
                std::process::exit(i32::from(exit));
            }
            seen.store(exit, Ordering::SeqCst);
            eprintln!("otscan: stopping: no new requests; writing finished records (signal again to exit at once)");
            cancel.cancel();
        }
    });
    code
}

/// Scans and writes one record per line to `sink` (flushed per record, so a reader
/// never sees half a line), keeps the checkpoint file, prints the run report.
pub async fn run_scan(config: ScanConfig, sink: Box<dyn Write + Send>, options: RunOptions) -> u8 {
    use std::sync::atomic::Ordering;
    let planned = config.targets.len();
    let state_base = options.state.as_ref().map(|_| config.clone());
    let rate_limit = config.rate;
    let mut scan = Scanner::new(config).scan();
    let sink = std::sync::Arc::new(std::sync::Mutex::new(sink));
    let signalled = watch_signals(scan.cancel_token(), sink.clone());
    let bar = progress_bar(planned);
    let mut progress = scan.progress();
    let closes = options.window_closes;
    let bar_task = {
        let bar = bar.clone();
        tokio::spawn(async move {
            while progress.changed().await.is_ok() {
                let p = progress.borrow().clone();
                bar.set_position(
                    u64::try_from(p.done_before)
                        .unwrap_or(u64::MAX)
                        .saturating_add(p.finished),
                );
                let left = closes
                    .map(|c| {
                        format!(
                            ", window closes in {}",
                            human_duration(
                                scanner_core::window::until(jiff::Timestamp::now(), c)
                                    .as_secs_f64()
                            )
                        )
                    })
                    .unwrap_or_default();
                bar.set_message(format!("{} devices{left}", p.responsive));
                if p.done {
                    break;
                }
            }
        })
    };
    let mut write_error = None;
    let mut latest = None;
    let mut last_save = std::time::Instant::now();
    while let Some(event) = scan.next_event().await {
        match event {
            scanner_core::ScanEvent::Record(record) => {
                let mut out = sink
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Err(e) = write_record(&mut **out, &record, options.format) {
                    write_error = Some(e);
                    break;
                }
            }
            scanner_core::ScanEvent::Checkpoint(cp) => {
                latest = Some(cp);
                if last_save.elapsed() >= STATE_INTERVAL {
                    save_state(
                        options.state.as_deref(),
                        state_base.as_ref(),
                        latest.as_ref(),
                    );
                    last_save = std::time::Instant::now();
                }
            }
        }
    }
    let summary = scan.progress().borrow().clone();
    drop(scan);
    save_state(
        options.state.as_deref(),
        state_base.as_ref(),
        latest.as_ref(),
    );
    let _ = tokio::time::timeout(Duration::from_millis(200), bar_task).await;
    bar.finish_and_clear();
    if let Some(e) = write_error {
        eprintln!("otscan: error: {e}");
        return EXIT_FAILURE;
    }
    eprintln!("{}", summary_line(&summary));
    let report = run_report(&summary, rate_limit, options.window_closes);
    if let Some(path) = &options.report {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
        if let Err(e) = std::fs::write(path, text) {
            eprintln!(
                "otscan: error: cannot write the report {}: {e}",
                path.display()
            );
            return EXIT_FAILURE;
        }
    }
    match signalled.load(Ordering::SeqCst) {
        0 => EXIT_OK,
        code => code,
    }
}

fn save_state(
    path: Option<&std::path::Path>,
    config: Option<&ScanConfig>,
    checkpoint: Option<&scanner_core::Checkpoint>,
) {
    let (Some(path), Some(config)) = (path, config) else {
        return;
    };
    // Before any target finished, the state is what the run resumed from.
    let checkpoint = checkpoint
        .or(config.resume.as_ref())
        .cloned()
        .unwrap_or_default();
    if let Err(e) = crate::state::save(path, &crate::state::State::new(config, checkpoint)) {
        eprintln!("otscan: warning: {e}");
    }
}

/// The run report (stderr summary and `--report` JSON).
pub fn run_report(
    p: &Progress,
    rate: scanner_core::Rate,
    window_closes: Option<jiff::Timestamp>,
) -> serde_json::Value {
    let done_total = p.done_before + u128::from(p.finished);
    let secs = p.elapsed.as_secs_f64();
    serde_json::json!({
        "targets": {
            "planned": p.planned.to_string(),
            "done_in_earlier_runs": p.done_before.to_string(),
            "scanned": p.finished,
            "interrupted": p.interrupted,
            "left": p.planned.saturating_sub(done_total).to_string(),
        },
        "devices": p.responsive,
        "devices_by_protocol": p.responsive_by_protocol,
        "statuses": p.statuses,
        "requests": p.requests_sent,
        "requests_by_protocol": p.requests_by_protocol,
        "achieved_rate_per_s": if secs > 0.0 { (p.requests_sent as f64 / secs * 10.0).round() / 10.0 } else { 0.0 },
        "configured_rate_per_s": match rate { scanner_core::Rate::PerSecond(n) => Some(n.get()), scanner_core::Rate::Unlimited => None },
        "peak_per_device_rate_per_s": p.min_device_gap.filter(|g| !g.is_zero()).map(|g| (10.0 / g.as_secs_f64()).round() / 10.0),
        "elapsed_s": (secs * 10.0).round() / 10.0,
        "stopped_by": p.stopped,
        "window_closes": window_closes.map(|t| t.to_string()),
    })
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
    if p.done_before > 0 {
        line.push_str(&format!("; {} done in earlier runs", p.done_before));
    }
    let left = p
        .planned
        .saturating_sub(p.done_before + u128::from(p.finished));
    match p.stopped {
        Some(StopReason::Deadline) => {
            line.push_str(&format!("; stopped at the deadline, {left} targets left"))
        }
        Some(StopReason::Cancelled) => {
            line.push_str(&format!("; interrupted, {left} targets left"))
        }
        None => {}
    }
    line
}

/// Prints the plan and sends nothing.
fn dry_run(
    config: &ScanConfig,
    list: bool,
    deadline: Option<jiff::Timestamp>,
    starts: Option<jiff::Timestamp>,
) -> u8 {
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
    let protocol_lines: String = config
        .probes
        .iter()
        .flat_map(|&p| config.protocols.plan(p))
        .map(|(label, value)| format!("  {:<22}{value}\n", format!("{label}:")))
        .collect();
    let mut text = format!(
        "plan (dry run, nothing sent)\n  targets:              {targets}\n  probes:               {}\n{protocol_lines}  requests per device:  {min_req} (nothing listening) to {max_req} (answers every request)\n  rate:                 {} requests/s, {} ms between packets to one device, {} devices at once\n  expected duration:    {} (every address empty) to {} (every address a device)\n  target order seed:    {}{}\n",
        probes.join(", "),
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
    let available = deadline
        .map(|d| {
            let from = starts.map_or(jiff::Timestamp::now(), |s| s.max(jiff::Timestamp::now()));
            scanner_core::window::until(from, d).as_secs_f64()
        })
        .into_iter()
        .chain(config.max_duration.map(|d| d.as_secs_f64()))
        .reduce(f64::min);
    if let Some(available) = available {
        let left = targets.saturating_sub(
            config
                .resume
                .as_ref()
                .map_or(0, scanner_core::Checkpoint::count),
        );
        let need_max = (left as f64) * (max_req as f64) / rate;
        let need_min = (left as f64) * (min_req as f64) / rate;
        let verdict = if need_max <= available {
            "fits".to_owned()
        } else if need_min <= available {
            format!(
                "fits only if few addresses answer: up to {} needed; {:.0} requests/s would fit in any case",
                human_duration(need_max),
                (left as f64) * (max_req as f64) / available.max(1.0)
            )
        } else {
            format!(
                "does NOT fit: needs at least {}; {:.0} requests/s would fit (or use --state to spread it over several windows)",
                human_duration(need_min),
                (left as f64) * (min_req as f64) / available.max(1.0)
            )
        };
        text.push_str(&format!(
            "  time available:       {} (window or deadline), {} targets left: {verdict}\n",
            human_duration(available),
            left
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
