//! Runs a scan: output sink (NDJSON), progress bar, summary, exit codes.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use scanner_core::output::Format;
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
                .trim_start_matches("error: ")
                // `-iL` is rewritten to --input-file before clap sees it.
                .replace("'--input-file <FILE>'", "'-iL/--input-file <FILE>'");
            say!("otscan: error: {}", cut_line(&first));
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// A message line cut to 300 characters, so that a huge argument cannot flood a log.
fn cut_line(line: &str) -> String {
    const MAX: usize = 300;
    match line.char_indices().nth(MAX) {
        None => line.to_owned(),
        Some((cut, _)) => format!("{}... ({} bytes)", &line[..cut], line.len()),
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

pub async fn discover_command(args: crate::cli::DiscoverArgs) -> u8 {
    use scanner_core::discover::{discover_enip, DiscoveryError, EnipBroadcast};
    if args.profinet {
        return discover_profinet(args).await;
    }
    let config = EnipBroadcast {
        interface: args.interface.clone(),
        port: args.enip_port,
        listen: args.wait,
        max_devices: 65_536,
        scan_id: scanner_core::engine::new_scan_id(),
    };
    let (mut sink, cancel) = match discover_output(&args) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let result = match discover_enip(&config, &cancel).await {
        Ok(r) => r,
        Err(e @ (DiscoveryError::NoBroadcast(_) | DiscoveryError::ListenTooShort(_))) => {
            say!("otscan: error: {e}");
            return EXIT_USAGE;
        }
        Err(e) => {
            say!("otscan: error: discovery failed: {e}");
            return EXIT_FAILURE;
        }
    };
    if let Err(code) = write_discovered(&args, &mut sink, &result.records) {
        return code;
    }
    say!(
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

/// A discovery's output (opened before anything is sent: a bad `-o` is a usage error)
/// and the token Ctrl-C cancels.
fn discover_output(
    args: &crate::cli::DiscoverArgs,
) -> Result<(crate::sink::Sink, scanner_core::CancellationToken), u8> {
    let sink = match crate::sink::Sink::open(args.output.as_deref(), false) {
        Ok(o) => o.sink,
        Err(e) => {
            say!("otscan: error: -o: {e}");
            return Err(EXIT_USAGE);
        }
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
    Ok((sink, cancel))
}

/// Writes discovered records in the chosen format; the exit code when the output fails.
fn write_discovered(
    args: &crate::cli::DiscoverArgs,
    sink: &mut crate::sink::Sink,
    records: &[scanner_core::record::AssetRecord],
) -> Result<(), u8> {
    let renderer = crate::render::Renderer::new(
        args.format.resolve(args.output.is_some()),
        scanner_core::output::table::TableLayout::for_records(
            records,
            crate::render::terminal_width(),
        ),
    );
    if let Some(header) = renderer.header() {
        if let Err(e) = sink.write_line(header.as_bytes()) {
            say!("otscan: error: {e}");
            return Err(EXIT_FAILURE);
        }
    }
    for line in records.iter().filter_map(|r| renderer.line(r)) {
        if let Err(e) = sink.write_line(line.as_bytes()) {
            say!("otscan: error: {e}");
            return Err(EXIT_FAILURE);
        }
    }
    Ok(())
}

/// `otscan discover --profinet`: one DCP Identify All out of the interface.
async fn discover_profinet(args: crate::cli::DiscoverArgs) -> u8 {
    use scanner_core::discover::{discover_profinet_dcp, DcpDiscoveryError, ProfinetDcp};
    let config = ProfinetDcp {
        interface: args.interface.clone(),
        listen: args.wait,
        max_devices: 4096,
        scan_id: scanner_core::engine::new_scan_id(),
    };
    let (mut sink, cancel) = match discover_output(&args) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let result = match discover_profinet_dcp(&config, &cancel).await {
        Ok(r) => r,
        Err(
            e @ (DcpDiscoveryError::NoInterface(_)
            | DcpDiscoveryError::ListenTooShort(_)
            | DcpDiscoveryError::NotPermitted(..)),
        ) => {
            say!("otscan: error: {e}");
            return EXIT_USAGE;
        }
        Err(e @ DcpDiscoveryError::Io(..)) => {
            say!("otscan: error: discovery failed: {e}");
            return EXIT_LOCAL_FAILURE;
        }
    };
    if let Err(code) = write_discovered(&args, &mut sink, &result.records) {
        return code;
    }
    for warning in &result.warnings {
        say!("otscan: discover: warning: {warning}");
    }
    say!(
        "otscan: discover: one DCP Identify All (xid {:#010x}, response delay {} x 10 ms) out of {}, {} stations answered, {} replies ignored",
        result.xid,
        result.response_delay,
        args.interface,
        result.records.len(),
        result.ignored_replies
    );
    if cancel.is_cancelled() {
        EXIT_INTERRUPTED
    } else {
        EXIT_OK
    }
}

/// Exit code when another run holds the `--state` file (EX_UNAVAILABLE): nothing sent.
pub const EXIT_STATE_BUSY: u8 = 69;
/// Exit code when the scanning host could not send and retries did not help
/// (EX_OSERR): open-files limit, no route, interface down, source port in use.
/// Finished records and the state are written; the targets it hit are left undone.
pub const EXIT_LOCAL_FAILURE: u8 = 71;
/// Exit code when the scan is outside every maintenance window (EX_TEMPFAIL: try later).
pub const EXIT_OUTSIDE_WINDOW: u8 = 75;
/// Exit code after SIGHUP.
pub const EXIT_HANGUP: u8 = 129;
/// Exit code after SIGTERM.
pub const EXIT_TERMINATED: u8 = 143;

/// How often the state file is rewritten during a scan (it is also written at the
/// start and at the end; the journal covers the time between).
const STATE_INTERVAL: Duration = Duration::from_secs(5);
/// After a stop signal, how long finished records may take to reach a blocked
/// output before the run gives up on them, writes the state and the report, and exits.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// Options of one scan run beyond the library configuration.
#[derive(Debug)]
pub struct RunOptions {
    /// How records are written.
    pub renderer: crate::render::Renderer,
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
        // (when the window opened or opens, when it closes, when the run may start)
        let (opened, closes, opens) = match state_at(&args.windows, now) {
            Some(WindowState::Open { opened, closes }) => (opened, closes, None),
            Some(WindowState::Closed { opens, closes }) => (opens, closes, Some(opens)),
            None => {
                say!("otscan: error: --window: no window opens in the next week");
                return Err(EXIT_USAGE);
            }
        };
        // The grace is a tenth of the whole window (capped at 5 minutes), however
        // late in the window the run starts; one as long as the window is refused.
        let length = until(opened, closes);
        let grace = args.window_grace.unwrap_or_else(|| default_grace(length));
        if grace >= length {
            say!(
                "otscan: error: --window-grace {}: not shorter than the window ({})",
                human_duration(grace.as_secs_f64()),
                human_duration(length.as_secs_f64())
            );
            return Err(EXIT_USAGE);
        }
        if let Some(opens) = opens {
            if !args.wait || args.dry_run {
                say!(
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
                say!(
                    "otscan: waiting for the maintenance window: opens {}",
                    show(opens, &zone)
                );
                tokio::select! {
                    _ = tokio::time::sleep(until(now, opens)) => {}
                    code = first_signal() => return Err(code),
                }
            }
        }
        let end = closes
            .checked_sub(jiff::SignedDuration::try_from(grace).unwrap_or_default())
            .unwrap_or(closes);
        closes_at = Some(closes);
        starts_at = Some(opens.unwrap_or(now));
        deadline = Some(deadline.map_or(end, |d| d.min(end)));
    }
    Ok((deadline, closes_at, starts_at))
}

/// Resolves at the first SIGINT, SIGTERM or SIGHUP with its exit code.
async fn first_signal() -> u8 {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => EXIT_INTERRUPTED,
        _ = term.recv() => EXIT_TERMINATED,
        _ = hup.recv() => EXIT_HANGUP,
    }
}

pub async fn scan_command(args: ScanArgs) -> u8 {
    if let Err(e) = crate::paths::distinct(&args) {
        say!("otscan: error: {e}");
        return EXIT_USAGE;
    }
    let format = args.format.resolve(args.output.is_some());
    let meta = match siem_meta(&args.siem, format) {
        Ok(m) => m,
        Err(code) => return code,
    };
    if let (true, crate::render::OutputFormat::Json(f @ (Format::Ocsf | Format::Ecs))) =
        (args.emit_all, format)
    {
        say!("otscan: --emit-all: {f} events describe devices, so addresses that answer nothing get none (native and hec records keep them)");
    }
    let mut config = match args.to_config() {
        Ok(c) => c,
        Err(e) => {
            say!("otscan: error: {e}");
            return EXIT_USAGE;
        }
    };
    for flag in args.flags_without_their_probe() {
        say!("otscan: warning: {flag} has no effect: its probe is not in --probes");
    }
    if let Err(e) =
        crate::limits::ensure_open_files(config.concurrency.get(), config.max_sockets_per_device())
    {
        say!("otscan: error: {e}");
        return EXIT_USAGE;
    }
    if let Err(e) = bacnet_source_port_free(&config) {
        say!("otscan: error: {e}");
        return EXIT_USAGE;
    }
    if let Err(e) = codesys_alone_ipv4(&config) {
        say!("otscan: error: {e}");
        return EXIT_USAGE;
    }
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
    if args.dry_run {
        if let Some(path) = &args.state {
            match crate::state::load(path, &config) {
                Ok(Some(state)) if !state.complete() => config.resume = Some(state.checkpoint),
                Ok(_) => {}
                Err(e) => {
                    say!("otscan: error: {e}");
                    return EXIT_USAGE;
                }
            }
        }
        return dry_run(&config, args.list_targets, deadline, starts);
    }
    // Everything that must be written is opened (and the state written) before
    // anything is sent: a run that could not keep its results does not start.
    let state = match &args.state {
        Some(path) => match open_state(path, &mut config, args.output.as_deref()) {
            Ok(s) => Some(s),
            Err(code) => return code,
        },
        None => None,
    };
    let mut opened = match crate::sink::Sink::open(args.output.as_deref(), state.is_some()) {
        Ok(o) => o,
        Err(e) => {
            say!("otscan: error: -o: {e}");
            return EXIT_USAGE;
        }
    };
    let renderer = crate::render::Renderer::streaming(format).with_meta(meta);
    // The heading goes out before the journal's mark is taken (so a resumed run
    // counts only record lines), and only into an empty file: a resumed CSV keeps one.
    if let Some(header) = renderer.header() {
        if opened.sink.is_empty() {
            if let Err(e) = opened.sink.write_line(header.as_bytes()) {
                say!("otscan: error: {e}");
                return EXIT_FAILURE;
            }
        }
    }
    if opened.removed_torn > 0 {
        say!(
            "otscan: -o: removed a torn last line ({} bytes) left by a killed run; its target is scanned again",
            opened.removed_torn
        );
    }
    if let Some(path) = &args.report {
        if let Err(e) = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
        {
            say!(
                "otscan: error: --report: cannot write {}: {e}",
                path.display()
            );
            return EXIT_USAGE;
        }
    }
    let state = match state {
        Some(mut s) => match s.start(&config, opened.sink.mark().as_deref()) {
            Ok(()) => Some(s),
            Err(e) => {
                say!("otscan: error: --state: {e}");
                return EXIT_USAGE;
            }
        },
        None => None,
    };
    let options = RunOptions {
        renderer,
        report: args.report.clone(),
        window_closes,
    };
    run_scan(config, opened.sink, options, state).await
}

/// `--bacnet-source-port N`: the port must be free to share (nothing sent).
fn bacnet_source_port_free(config: &ScanConfig) -> Result<(), String> {
    let port = match config.protocols.bacnet.source_port {
        Some(p) if p != 0 && config.probes.contains(&scanner_core::Protocol::Bacnet) => p,
        _ => return Ok(()),
    };
    let bind = || -> std::io::Result<()> {
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        let local: std::net::SocketAddr = (std::net::Ipv4Addr::UNSPECIFIED, port).into();
        socket.bind(&local.into())
    };
    bind().map_err(|e| {
        format!("--bacnet-source-port {port}: cannot bind UDP port {port}: {e} (another BACnet stack on this host holds it)")
    })
}

/// `--probes codesys` alone: every target must be IPv4 (the NameService over UDP
/// addresses IPv4 hosts only, so an IPv6 target would get nothing and no record say so).
fn codesys_alone_ipv4(config: &ScanConfig) -> Result<(), String> {
    if config.probes != [scanner_core::Protocol::Codesys] {
        return Ok(());
    }
    match config.targets.ranges().find(|(first, _)| first.is_ipv6()) {
        Some((first, _)) => Err(format!(
            "--probes codesys: the CODESYS NameService reaches IPv4 hosts only, and the targets include the IPv6 address {first}: it would be sent nothing"
        )),
        None => Ok(()),
    }
}

/// The state of a `--state` run: its lock, file, journal and checkpoint.
pub struct StateRun {
    path: std::path::PathBuf,
    _lock: crate::state::StateLock,
    /// The configuration the state describes (targets, order, probe settings).
    base: Option<ScanConfig>,
    journal: Option<crate::state::Journal>,
}

impl StateRun {
    /// Writes the state the run starts from and a fresh journal (before sending).
    fn start(
        &mut self,
        config: &ScanConfig,
        output_mark: Option<&str>,
    ) -> Result<(), crate::state::StateError> {
        let checkpoint = config.resume.clone().unwrap_or_default();
        crate::state::save(&self.path, &crate::state::State::new(config, checkpoint))?;
        self.journal = Some(crate::state::Journal::create(
            &self.path,
            config,
            output_mark,
        )?);
        self.base = Some(config.clone());
        Ok(())
    }

    /// Writes the state at `checkpoint`, then empties the journal.
    fn save(
        &mut self,
        checkpoint: &scanner_core::Checkpoint,
        output_mark: Option<&str>,
    ) -> Result<(), String> {
        let Some(base) = &self.base else {
            return Ok(());
        };
        crate::state::save(
            &self.path,
            &crate::state::State::new(base, checkpoint.clone()),
        )
        .map_err(|e| e.to_string())?;
        if let Some(journal) = &mut self.journal {
            journal.reset(output_mark).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Locks the state file, loads it with what the journal of a killed run adds, and
/// sets the resume point; an exit code when the run must not start.
fn open_state(
    path: &std::path::Path,
    config: &mut ScanConfig,
    output: Option<&std::path::Path>,
) -> Result<StateRun, u8> {
    use crate::state::StateError;
    let lock = match crate::state::lock(path) {
        Ok(l) => l,
        Err(e @ StateError::Busy { .. }) => {
            say!("otscan: error: {e}");
            return Err(EXIT_STATE_BUSY);
        }
        Err(e) => {
            say!("otscan: error: --state: {e}");
            return Err(EXIT_USAGE);
        }
    };
    let loaded = match crate::state::load(path, config) {
        Ok(s) => s,
        Err(e) => {
            say!("otscan: error: {e}");
            return Err(EXIT_USAGE);
        }
    };
    match loaded {
        Some(state) if state.complete() => {
            // A finished cycle: the next scheduled run starts a new inventory.
            say!(
                "otscan: state file {}: the previous scan finished ({} targets); starting a new one",
                path.display(),
                state.planned
            );
        }
        Some(mut state) => {
            let lines_after =
                |mark: &str| output.and_then(|o| crate::sink::lines_after_mark(o, mark));
            match crate::state::Journal::recover(path, config, lines_after) {
                Ok(Some(recovered)) => {
                    for position in &recovered.done {
                        state.checkpoint.complete(*position);
                    }
                    if !recovered.done.is_empty() || recovered.unsure.is_some() {
                        say!(
                            "otscan: state file {}: {} more targets done by a run that did not write its last state (killed, or its disk full){}",
                            path.display(),
                            recovered.done.len(),
                            if recovered.unsure.is_some() {
                                "; the one whose record it was writing is scanned again"
                            } else {
                                ""
                            }
                        );
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    say!("otscan: error: --state: {e}");
                    return Err(EXIT_USAGE);
                }
            }
            say!(
                "otscan: resuming from {}: {} of {} targets already done",
                path.display(),
                state.checkpoint.count(),
                state.planned
            );
            config.resume = Some(state.checkpoint);
        }
        None => {}
    }
    Ok(StateRun {
        path: path.to_owned(),
        _lock: lock,
        base: None,
        journal: None,
    })
}

/// Stop signals: the first SIGINT/SIGTERM/SIGHUP stops sending and lets the scan
/// deliver what is finished; a second exits at once, between two output lines (it
/// waits at most a second for a line being written).
struct Signals {
    /// The exit code of the first signal (0: none yet).
    code: std::sync::Arc<std::sync::atomic::AtomicU8>,
    /// Becomes true at the first signal.
    seen: tokio::sync::watch::Receiver<bool>,
}

impl Signals {
    fn watch(
        cancel: scanner_core::CancellationToken,
        line: std::sync::Arc<std::sync::Mutex<()>>,
    ) -> Signals {
        use std::sync::atomic::Ordering;
        let code = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(0));
        let (seen_tx, seen) = tokio::sync::watch::channel(false);
        let first = code.clone();
        tokio::spawn(async move {
            loop {
                let exit = first_signal().await;
                if first.load(Ordering::SeqCst) != 0 {
                    // Holding the line lock means no line is half written; a blocked
                    // output does not hold the exit up for more than a second.
                    let started = std::time::Instant::now();
                    let _guard = loop {
                        if let Ok(g) = line.try_lock() {
                            break Some(g);
                        }
                        if started.elapsed() > Duration::from_secs(1) {
                            break None;
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    };
                    say!("otscan: second signal: exiting now");
                    std::process::exit(i32::from(exit));
                }
                first.store(exit, Ordering::SeqCst);
                let _ = seen_tx.send(true);
                say!("otscan: stopping: no new requests; writing finished records (signal again to exit at once)");
                cancel.cancel();
            }
        });
        Signals { code, seen }
    }

    /// The first signal's exit code, if one came.
    fn code(&self) -> Option<u8> {
        match self.code.load(std::sync::atomic::Ordering::SeqCst) {
            0 => None,
            c => Some(c),
        }
    }

    /// Resolves [`STOP_GRACE`] after the first signal (never without one).
    fn grace_over(&self) -> impl std::future::Future<Output = ()> {
        let mut seen = self.seen.clone();
        async move {
            if seen.wait_for(|s| *s).await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(STOP_GRACE).await;
        }
    }
}

/// One finished target for the writer: its position and its record's line, if any.
/// The writer gets them in batches of what the scan had ready (at most [`WRITER_BATCH`]):
/// one wake-up of its thread per batch, not per target (issue 16: on a /16, 65,536
/// wake-ups of the writer cost more CPU than the records).
struct Finished {
    position: u128,
    line: Option<Vec<u8>>,
}

/// What the writer and the end of the run share: the checkpoint of targets whose
/// records are stored, the state, and the first persistence failure.
struct Persist {
    checkpoint: scanner_core::Checkpoint,
    state: Option<StateRun>,
    last_save: std::time::Instant,
    /// Set at the end of the run: a writer still blocked must not touch the state.
    closed: bool,
    failure: Option<String>,
    written: u64,
}

type Shared<T> = std::sync::Arc<std::sync::Mutex<T>>;

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The writer thread: for each finished target, the journal entry, then the record
/// line, then the checkpoint (and every few seconds the state). Blocking writes
/// (a stalled pipe) stay on this thread, so signals still stop the run.
fn writer(
    mut rx: tokio::sync::mpsc::Receiver<Vec<Finished>>,
    mut sink: crate::sink::Sink,
    persist: Shared<Persist>,
    line: Shared<()>,
    cancel: scanner_core::CancellationToken,
    bar: Option<ProgressBar>,
) {
    let fail = |e: String| {
        let mut p = lock(&persist);
        p.failure.get_or_insert(e);
        cancel.cancel();
    };
    let mut batch = Vec::new().into_iter();
    loop {
        let Some(done) = batch.next() else {
            match rx.blocking_recv() {
                Some(next) => batch = next.into_iter(),
                None => break,
            }
            continue;
        };
        {
            let mut p = lock(&persist);
            if p.closed {
                return;
            }
            let entry = p.state.as_mut().and_then(|s| s.journal.as_mut()).map(|j| {
                j.append(done.position, done.line.is_some())
                    .map_err(|e| e.to_string())
            });
            if let Some(Err(e)) = entry {
                drop(p);
                fail(e);
                return;
            }
        }
        if let Some(bytes) = &done.line {
            let result = {
                let _guard = lock(&line);
                // Records on a terminal go out between two drawings of the progress
                // bar (cleared, then redrawn below), never into its line.
                match &bar {
                    Some(bar) => bar.suspend(|| sink.write_line(bytes)),
                    None => sink.write_line(bytes),
                }
            };
            if let Err(e) = result {
                fail(e);
                return;
            }
        }
        let mut p = lock(&persist);
        if p.closed {
            return;
        }
        p.checkpoint.complete(done.position);
        p.written += u64::from(done.line.is_some());
        if p.state.is_some() && p.last_save.elapsed() >= STATE_INTERVAL {
            let checkpoint = p.checkpoint.clone();
            let saved = p
                .state
                .as_mut()
                .map_or(Ok(()), |s| s.save(&checkpoint, sink.mark().as_deref()));
            p.last_save = std::time::Instant::now();
            if let Err(e) = saved {
                drop(p);
                fail(e);
                return;
            }
        }
    }
}

/// The most finished targets handed to the writer at once.
const WRITER_BATCH: usize = 256;

/// Scans and writes one record per line to `sink` (flushed per record, so a reader
/// never sees half a line), keeps the checkpoint file, prints the run report.
pub async fn run_scan(
    config: ScanConfig,
    sink: crate::sink::Sink,
    options: RunOptions,
    state: Option<StateRun>,
) -> u8 {
    let planned = config.targets.len();
    let rate_limit = config.rate;
    let renderer = options.renderer.clone();
    let persist = std::sync::Arc::new(std::sync::Mutex::new(Persist {
        checkpoint: config.resume.clone().unwrap_or_default(),
        state,
        last_save: std::time::Instant::now(),
        closed: false,
        failure: None,
        written: 0,
    }));
    let mut scan = Scanner::new(config).scan();
    let line = std::sync::Arc::new(std::sync::Mutex::new(()));
    let signals = Signals::watch(scan.cancel_token(), line.clone());
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Finished>>(64);
    let (writer_done_tx, writer_done) = tokio::sync::oneshot::channel::<()>();
    let bar = progress_bar(planned);
    {
        let (persist, cancel) = (persist.clone(), scan.cancel_token());
        // Records go between two drawings of the bar only when both share a terminal:
        // suspending locks the bar while the line is written, and a blocked pipe would
        // hold that lock for ever (and with it every update of the bar).
        let shared_terminal = matches!(sink, crate::sink::Sink::Stdout)
            && std::io::IsTerminal::is_terminal(&std::io::stdout())
            && !bar.is_hidden();
        let records_bar = shared_terminal.then(|| bar.clone());
        std::thread::spawn(move || {
            writer(rx, sink, persist, line, cancel, records_bar);
            let _ = writer_done_tx.send(());
        });
    }
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
    let grace_over = signals.grace_over();
    tokio::pin!(grace_over);
    let mut abandoned = false;
    let mut records = 0u64;
    'events: loop {
        let event = tokio::select! {
            e = scan.next_event() => e,
            () = &mut grace_over => { abandoned = true; break 'events; }
        };
        let mut next = event;
        let mut ended = next.is_none();
        let mut batch = Vec::new();
        // This event and those already waiting behind it, in order.
        while let Some(event) = next.take() {
            if let scanner_core::ScanEvent::Done { position, record } = event {
                // OCSF and ECS have no line for an address that answered nothing.
                let line = record.and_then(|r| renderer.line(&r)).map(|line| {
                    records += 1;
                    line.into_bytes()
                });
                batch.push(Finished { position, line });
            }
            if batch.len() < WRITER_BATCH {
                match futures::FutureExt::now_or_never(scan.next_event()) {
                    Some(None) => ended = true,
                    Some(event) => next = event,
                    None => {}
                }
            }
        }
        if !batch.is_empty() {
            tokio::select! {
                // An error means the writer stopped at a failure: the scan is being
                // cancelled, and what is left is not written.
                _ = tx.send(batch) => {}
                () = &mut grace_over => { abandoned = true; break 'events; }
            }
        }
        if ended {
            break;
        }
    }
    let mut progress = scan.progress();
    drop(scan);
    // Dropping the scan ends it at once (its devices stop, a drive waiting for room to
    // deliver gives up): wait briefly for its final summary, so an abandoned run's report
    // says why it stopped and how far it got, not what a stalled moment showed.
    let _ = tokio::time::timeout(Duration::from_secs(1), progress.wait_for(|p| p.done)).await;
    let summary = progress.borrow().clone();
    drop(tx);
    if !abandoned {
        tokio::select! {
            _ = writer_done => {}
            () = &mut grace_over => abandoned = true,
        }
    }
    let _ = tokio::time::timeout(Duration::from_millis(200), bar_task).await;
    if !abandoned {
        // A writer blocked on stdout may hold a drawn bar's lock (it suspends the bar
        // while it writes): an abandoned run leaves the bar as it is.
        bar.finish_and_clear();
    }
    let (failure, written) = {
        let mut p = lock(&persist);
        p.closed = true;
        let checkpoint = p.checkpoint.clone();
        if let Some(mut state) = p.state.take() {
            match state.save(&checkpoint, None) {
                Ok(()) => {
                    if let Some(journal) = state.journal.take() {
                        journal.remove();
                    }
                }
                Err(e) => {
                    p.failure.get_or_insert(e);
                }
            }
        }
        (p.failure.clone(), p.written)
    };
    say!("{}", summary_line(&summary));
    if abandoned {
        say!(
            "otscan: warning: the output is blocked: {} of {records} records written; the targets of the others are not counted as done",
            written
        );
    }
    let mut report = run_report(&summary, rate_limit, options.window_closes);
    report["records"] = serde_json::json!({ "delivered": records, "written": written });
    report["failure"] = serde_json::json!(failure);
    let mut code = EXIT_OK;
    if let Some(path) = &options.report {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
        if let Err(e) = std::fs::write(path, text) {
            say!(
                "otscan: error: cannot write the report {}: {e}",
                path.display()
            );
            code = EXIT_FAILURE;
        }
    }
    if let Some(e) = &failure {
        say!("otscan: error: {e}; every record written is whole, and the next run with the same state scans only the targets whose records are not written");
        return EXIT_FAILURE;
    }
    if code != EXIT_OK {
        return code;
    }
    if let Some(signal) = signals.code() {
        return signal;
    }
    if summary.stopped == Some(StopReason::LocalFailure) {
        let left = summary
            .planned
            .saturating_sub(summary.done_before + u128::from(summary.finished));
        say!(
            "otscan: error: stopped: this host could not send ({}); {left} targets left for the next run",
            summary.local_failure.as_deref().unwrap_or("local failure")
        );
        return EXIT_LOCAL_FAILURE;
    }
    EXIT_OK
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
            "local_retries": p.local_retries,
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
        "local_failure": p.local_failure,
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
        Some(StopReason::LocalFailure) => line.push_str(&format!(
            "; stopped: this host could not send, {left} targets left"
        )),
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
    let estimate = Estimate::of(config, targets as f64);
    let mut out = std::io::stdout().lock();
    let probes: Vec<String> = config
        .probes
        .iter()
        .map(|&p| {
            // A port list (http, https, melsec) in full, as the probe tries it.
            let ports = config.protocols.ports_text(p);
            if ports.contains(',') {
                format!("{p} ({ports})")
            } else {
                format!("{p}/{}", config.port(p))
            }
        })
        .collect();
    let protocol_lines: String = config
        .probes
        .iter()
        .flat_map(|&p| config.protocols.plan(p))
        .map(|(label, value)| format!("  {:<22}{value}\n", format!("{label}:")))
        .collect();
    let silent_packets = config.liveness_packets();
    let (silent_requests, silent_duration, assumes) = match estimate.silent {
        Some(silent) => (
            format!("{silent_packets} (silent: each probe's first packet), "),
            format!("{} (every address silent), ", human_duration(silent)),
            format!(
                "a silent address (no answer, no RST, no ICMP: most of a sparse network) gets \
                 each probe's first packet, one per {} ms, then one timeout: {:.1}s and \
                 {silent_packets} packets each, {} at once; anything that answers is probed in full",
                config.per_device_interval.as_millis(),
                config.silent_address_time().as_secs_f64(),
                config.concurrency,
            ),
        ),
        None => (
            String::new(),
            String::new(),
            "every address answers at once (a reply, RST or port unreachable); with \
             --no-liveness a silent address waits out each probe's timeouts and retries, \
             which this does not estimate"
                .to_owned(),
        ),
    };
    let off: Vec<&str> = scanner_core::Protocol::OFF_BY_DEFAULT
        .iter()
        .filter(|p| !config.probes.contains(p))
        .map(|p| p.name())
        .collect();
    let off_line = if off.is_empty() {
        String::new()
    } else {
        format!(
            "  not probed:           {} (off by default: --probes all, or name them)\n",
            off.join(", ")
        )
    };
    let mut text = format!(
        "plan (dry run, nothing sent)\n  targets:              {targets}\n  probes:               {}\n{off_line}{protocol_lines}  requests per device:  {silent_requests}{min_req} (refusing: RST or port unreachable) to {max_req} (answers every request)\n  rate:                 {} requests/s, {} ms between packets to one device, {} devices at once\n  expected duration:    {silent_duration}{} (every address refusing) to {} (every address a device)\n  assumes:              {assumes}\n  target order seed:    {}{}\n",
        probes.join(", "),
        rate,
        config.per_device_interval.as_millis(),
        config.concurrency,
        human_duration(estimate.refusing),
        human_duration(estimate.devices),
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
        let left_estimate = Estimate::of(config, left as f64);
        let need_max = left_estimate.devices;
        // The least a sparse network needs: silent addresses with the liveness phase,
        // addresses that refuse at once without it.
        let need_min = left_estimate.silent.unwrap_or(left_estimate.refusing);
        let min_req = if config.liveness {
            silent_packets
        } else {
            min_req
        };
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

/// The dry run's duration model for a number of addresses, in seconds, for three
/// networks: every address silent, every address refusing, every address a device.
///
/// An address's packets go out at best one per per-device interval, `concurrency`
/// addresses at once, and the global rate caps all packets: the duration is the larger
/// of the rate bound (all packets at the rate, plus the last address's wait) and the
/// concurrency bound (addresses in rounds of `concurrency`, each round as long as one
/// address). Answers are taken as immediate: a slow device takes longer.
struct Estimate {
    /// Every address silent, with the liveness phase (`None` when it is off).
    silent: Option<f64>,
    /// Every address refusing at once (RST, port unreachable): the fewest packets.
    refusing: f64,
    /// Every address a device answering every request: the most packets.
    devices: f64,
}

impl Estimate {
    fn of(config: &ScanConfig, addresses: f64) -> Estimate {
        let rate = match config.rate {
            scanner_core::Rate::PerSecond(n) => f64::from(n.get()),
            scanner_core::Rate::Unlimited => f64::INFINITY,
        };
        let interval = config.per_device_interval.as_secs_f64();
        let rounds = (addresses / config.concurrency.get() as f64).ceil();
        let bound = |packets: u64, per_address: f64, wait: f64| {
            let by_rate = addresses * packets as f64 / rate + wait;
            by_rate.max(rounds * per_address)
        };
        let paced = |packets: u64| packets.saturating_sub(1) as f64 * interval;
        let silent = config.liveness.then(|| {
            let packets = config.liveness_packets();
            let per_address = config.silent_address_time().as_secs_f64();
            // Held up by the rate, an address's packets go out `concurrency / rate`
            // apart: what is left after its last one is the wait that ends last.
            let spacing = interval.max(config.concurrency.get() as f64 / rate);
            let spread = config
                .silent_address_time_at(std::time::Duration::from_secs_f64(spacing))
                .as_secs_f64();
            let wait = (spread - spacing * packets.saturating_sub(1) as f64).max(0.0);
            bound(packets, per_address, wait)
        });
        let refusing = config.min_requests_for_device();
        let devices = config.max_requests_for_device();
        Estimate {
            silent,
            refusing: bound(refusing, paced(refusing), 0.0),
            devices: bound(devices, paced(devices), 0.0),
        }
    }
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

/// `otscan diff`: 0 nothing changed, 1 changes, 2 bad usage, unreadable input or
/// output that cannot be written (a message says which). Files are streamed: only
/// the compared fields of each address are kept. Addresses with several records in
/// one file are reported (the last record wins).
pub fn diff_command(args: &crate::cli::DiffArgs) -> u8 {
    use scanner_core::diff::{changes, Inventory};
    let read = |path: &std::path::Path| -> Result<Inventory, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let inventory = Inventory::read(std::io::BufReader::new(file))
            .map_err(|e| crate::render::scan_error(path, &e))?;
        if inventory.duplicate_count > 0 {
            let examples: Vec<String> = inventory
                .duplicates
                .iter()
                .map(|d| format!("{} at lines {} and {}", d.ip, d.first_line, d.line))
                .collect();
            say!(
                "otscan: diff: {}: {} records repeat an address already seen (e.g. {}); the last record of each address is used",
                path.display(),
                inventory.duplicate_count,
                examples.join(", ")
            );
        }
        Ok(inventory)
    };
    let (old, new) = match (read(&args.old), read(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            say!("otscan: error: {e}");
            return EXIT_USAGE;
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let table = !args.json && std::io::stdout().is_terminal();
    let (mut count, mut notable) = (0u64, 0u64);
    for change in changes(&old, &new) {
        count += 1;
        notable += u64::from(change.notable);
        let line = if table {
            change.to_string()
        } else {
            serde_json::to_string(&change).unwrap_or_default()
        };
        if let Err(e) = writeln!(out, "{line}") {
            say!("otscan: error: cannot write the diff: {e}");
            return EXIT_USAGE;
        }
    }
    if let Err(e) = out.flush() {
        say!("otscan: error: cannot write the diff: {e}");
        return EXIT_USAGE;
    }
    say!(
        "otscan: diff: {} devices before, {} after, {count} changes ({notable} notable)",
        old.devices(),
        new.devices()
    );
    u8::from(count > 0)
}

/// The output settings of `--hec-*` for `format`; a flag that does not apply is
/// reported on one line and gives the usage exit code.
pub fn siem_meta(
    siem: &crate::cli::SiemArgs,
    format: crate::render::OutputFormat,
) -> Result<scanner_core::output::OutputMeta, u8> {
    siem.meta(format).map_err(|e| {
        say!("otscan: error: {e}");
        EXIT_USAGE
    })
}

/// `otscan convert SCAN --format F [-o FILE]`: 0 written, 1 output that cannot be
/// written, 2 bad usage or a scan that cannot be read (the message names the file
/// and the line).
pub fn convert_command(args: &crate::cli::ConvertArgs) -> u8 {
    use crate::render::{OutputFormat, Renderer};
    if let Some(output) = args
        .output
        .as_deref()
        .filter(|o| crate::paths::same_file(o, &args.scan))
    {
        say!(
            "otscan: error: -o {}: the scan to convert cannot be its own output",
            output.display()
        );
        return EXIT_USAGE;
    }
    let format = args.format.resolve(args.output.is_some());
    let meta = match siem_meta(&args.siem, format) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let mut reader = match crate::render::open_scan(&args.scan) {
        Ok(r) => r,
        Err(e) => {
            say!("otscan: error: {e}");
            return EXIT_USAGE;
        }
    };
    // A table is fitted to its widest cells, so its records are read first; every
    // other format streams, one record at a time.
    let mut held = Vec::new();
    if format == OutputFormat::Table {
        for record in reader.by_ref() {
            match record {
                Ok(r) => held.push(r),
                Err(e) => {
                    say!(
                        "otscan: error: {}",
                        crate::render::scan_error(&args.scan, &e)
                    );
                    return EXIT_USAGE;
                }
            }
        }
    }
    let layout = scanner_core::output::table::TableLayout::for_records(
        &held,
        crate::render::terminal_width(),
    );
    let renderer = Renderer::new(format, layout).with_meta(meta);
    let mut sink = match crate::sink::Sink::open(args.output.as_deref(), false) {
        Ok(o) => o.sink,
        Err(e) => {
            say!("otscan: error: -o: {e}");
            return EXIT_USAGE;
        }
    };
    let mut write = |text: &str| match sink.write_line(text.as_bytes()) {
        Ok(()) => Ok(()),
        Err(e) => {
            say!("otscan: error: {e}");
            Err(EXIT_FAILURE)
        }
    };
    if let Some(header) = renderer.header() {
        if let Err(code) = write(&header) {
            return code;
        }
    }
    let (mut count, mut skipped) = (0u64, 0u64);
    for record in held.into_iter().map(Ok).chain(reader) {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                say!(
                    "otscan: error: {}",
                    crate::render::scan_error(&args.scan, &e)
                );
                return EXIT_USAGE;
            }
        };
        let Some(line) = renderer.line(&record) else {
            skipped += 1;
            continue;
        };
        if let Err(code) = write(&line) {
            return code;
        }
        count += 1;
    }
    if renderer.format() != OutputFormat::Table {
        let skipped = match skipped {
            0 => String::new(),
            n => format!(
                " ({n} addresses that answered nothing left out: {} describes devices)",
                renderer.format()
            ),
        };
        say!(
            "otscan: convert: {count} records as {}{skipped}",
            renderer.format()
        );
    }
    EXIT_OK
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
            say!("otscan: error: cannot write the manual page: {e}");
            EXIT_FAILURE
        }
    }
}
