//! The scan engine: the scheduler only.
//!
//! Targets are pulled lazily from [`Targets`](crate::targets::Targets) and scanned by at
//! most `concurrency` device tasks at once. Each device task owns a
//! `DeviceSession`, the only way a probe can reach the network (see
//! [`crate::session`]), and runs the configured probes through the protocol
//! registry ([`ProtocolConfigs`](crate::protocols::ProtocolConfigs)), merging their
//! observations into one record. The engine decides which device is next, how many
//! run at once, when the scan stops, and publishes progress and checkpoints.

use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::checkpoint::Checkpoint;
use crate::config::{Rate, ScanConfig};
use crate::pacing::Pacer;
use crate::record::fields::{Identity, Protocol, Status};
use crate::record::{AssetRecord, ServiceObservation};
use crate::session::{self, DeviceSession, Limits, Stop, StopReason};
use crate::targets::Target;

/// Progress of a running scan, published after every finished device.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Progress {
    /// Targets the scan will visit (after exclusions and sharding).
    pub planned: u128,
    /// Targets done by earlier runs of a resumed scan.
    pub done_before: u128,
    /// Targets whose probes are done in this run.
    pub finished: u64,
    /// Targets whose scan the deadline or a cancel cut short: not done, scanned again
    /// on resume, no record emitted.
    pub interrupted: u64,
    /// Devices that answered at least one probe at the protocol level.
    pub responsive: u64,
    /// Records delivered to the stream.
    pub emitted: u64,
    /// Requests (connection attempts included) sent so far.
    pub requests_sent: u64,
    /// Requests per protocol.
    pub requests_by_protocol: std::collections::BTreeMap<Protocol, u64>,
    /// Probe outcomes per status.
    pub statuses: std::collections::BTreeMap<Status, u64>,
    /// Devices that answered, per protocol.
    pub responsive_by_protocol: std::collections::BTreeMap<Protocol, u64>,
    /// Time since the scan started.
    pub elapsed: Duration,
    /// Shortest gap measured between two packets to the same device (the peak
    /// per-device rate is its inverse); never below the per-device interval.
    pub min_device_gap: Option<Duration>,
    /// Set when the scan ended early.
    pub stopped: Option<StopReason>,
    /// True once the scan has ended (all records delivered).
    pub done: bool,
}

/// Least time between two checkpoint events.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

/// What a scan delivers, in order: records, and at most every 100 ms (and once at
/// the end) the checkpoint, which never counts a target whose record is still to come.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanEvent {
    /// A device's record.
    Record(Box<AssetRecord>),
    /// Progress of the target order, for resumable scans.
    Checkpoint(Checkpoint),
}

/// State shared by every device task of one scan.
struct Shared {
    config: Arc<ScanConfig>,
    /// What every device session shares: bounds, pacer, stop signal.
    session: Arc<session::Shared>,
    /// Packets put on the wire per protocol, indexed by [`Protocol::index`].
    requests: Vec<AtomicU64>,
    scan_id: String,
}

impl Shared {
    fn requests_total(&self) -> u64 {
        self.requests
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .sum()
    }

    fn stop(&self) -> &Stop {
        &self.session.stop
    }
}

// ---------------------------------------------------------------------------
// Scheduler

/// A running scan: a [`Stream`] of [`AssetRecord`]s plus progress.
///
/// Dropping it cancels the scan: nothing new is sent and the background task ends
/// within one timeout.
pub struct Scan {
    records: mpsc::Receiver<ScanEvent>,
    progress: watch::Receiver<Progress>,
    cancel: CancellationToken,
}

impl Scan {
    /// A receiver of progress snapshots (updated after every finished device; the
    /// last one, with `done` set, is the scan's summary).
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.clone()
    }

    /// The next record or checkpoint, in delivery order (the [`Stream`] yields only
    /// records). A checkpoint covers only targets whose records came before it, so a
    /// consumer that persists it after writing those records resumes exactly.
    pub async fn next_event(&mut self) -> Option<ScanEvent> {
        self.records.recv().await
    }

    /// The token that cancels this scan. Cancelling stops all sending at once;
    /// records of devices already finished are still delivered.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

impl Stream for Scan {
    type Item = AssetRecord;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<AssetRecord>> {
        loop {
            match self.records.poll_recv(cx) {
                Poll::Ready(Some(ScanEvent::Record(r))) => return Poll::Ready(Some(*r)),
                Poll::Ready(Some(ScanEvent::Checkpoint(_))) => continue,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for Scan {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

pub(crate) fn start(config: ScanConfig, cancel: CancellationToken) -> Scan {
    let config = Arc::new(config);
    let pacer = match config.rate {
        Rate::Unlimited => None,
        Rate::PerSecond(n) => Some(Pacer::new(
            n.get(),
            config.burst.unwrap_or(NonZeroU32::MIN).get(),
        )),
    };
    let started = Instant::now();
    let deadline = config
        .deadline_from(std::time::SystemTime::now())
        .map(|d| started + d);
    let scan_id = config.scan_id.clone().unwrap_or_else(new_scan_id);
    let limits = Limits {
        per_device_interval: config.per_device_interval,
        connect_timeout: config.connect_timeout,
        read_timeout: config.read_timeout,
        udp_retries: config.udp_retries,
        max_requests_per_device: config.max_requests_per_device,
    };
    let shared = Arc::new(Shared {
        config: Arc::clone(&config),
        session: Arc::new(session::Shared {
            limits,
            pacer,
            stop: Stop {
                cancel: cancel.clone(),
                deadline,
            },
            min_gap_us: AtomicU64::new(u64::MAX),
        }),
        requests: Protocol::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
        scan_id,
    });
    let (tx, rx) = mpsc::channel(256);
    let initial = Progress {
        planned: config.targets.len(),
        done_before: config.resume.as_ref().map_or(0, Checkpoint::count),
        ..Progress::default()
    };
    let (progress_tx, progress_rx) = watch::channel(initial);
    tokio::spawn(drive(shared, tx, progress_tx, started));
    Scan {
        records: rx,
        progress: progress_rx,
        cancel,
    }
}

/// A fresh scan id: UTC start time plus a value that differs between runs.
pub fn new_scan_id() -> String {
    let now = jiff::Timestamp::now();
    format!(
        "{}-{:08x}",
        now.strftime("%Y%m%dT%H%M%SZ"),
        (now.subsec_nanosecond() as u32) ^ std::process::id().rotate_left(16)
    )
}

async fn drive(
    shared: Arc<Shared>,
    tx: mpsc::Sender<ScanEvent>,
    progress_tx: watch::Sender<Progress>,
    started: Instant,
) {
    let config = Arc::clone(&shared.config);
    let gate = Arc::clone(&shared);
    let scanner = Arc::clone(&shared);
    let mut checkpoint = config.resume.clone().unwrap_or_default();
    let skip = checkpoint.clone();
    let start = checkpoint.next;
    let mut devices = futures::stream::iter(config.targets.iter_from(start).zip(start..))
        .filter(move |(_, position)| futures::future::ready(!skip.is_done(*position)))
        // Stop starting new targets as soon as the scan must stop.
        .take_while(move |_| futures::future::ready(gate.stop().reason().is_none()))
        .map(move |(target, position)| {
            // A task per device lets the runtime spread devices over every core.
            let task = tokio::spawn(scan_device(Arc::clone(&scanner), target));
            let config = Arc::clone(&scanner.config);
            async move {
                match task.await {
                    Ok(record) => (position, record),
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    // Only a runtime shutdown cancels the task: count the target as
                    // interrupted (a stopped service), so it is neither emitted nor done.
                    Err(_) => {
                        let mut record =
                            AssetRecord::new("", std::net::Ipv4Addr::UNSPECIFIED.into(), None);
                        let (observation, identity) =
                            stopped_observation(&config, config.probes[0]);
                        record.merge(observation, identity);
                        (position, record)
                    }
                }
            }
        })
        .buffer_unordered(config.concurrency.get());
    let mut progress = progress_tx.borrow().clone();
    let mut last_checkpoint = Instant::now();
    while let Some((position, record)) = devices.next().await {
        // A target the stop cut short is not done: no record now, scanned again on resume.
        if record.services.iter().any(|s| s.status == Status::Stopped) {
            progress.interrupted += 1;
            continue;
        }
        progress.finished += 1;
        for service in &record.services {
            *progress.statuses.entry(service.status).or_default() += 1;
            if service.answered() {
                *progress
                    .responsive_by_protocol
                    .entry(service.protocol)
                    .or_default() += 1;
            }
        }
        if record.responsive {
            progress.responsive += 1;
        }
        let emit = record.responsive || config.emit_all;
        if emit {
            if tx.send(ScanEvent::Record(Box::new(record))).await.is_err() {
                // Nobody listens any more: stop sending, let in-flight devices end.
                shared.stop().cancel.cancel();
                continue;
            }
            progress.emitted += 1;
        }
        checkpoint.complete(position);
        // A checkpoint every 100 ms is plenty for a state file and keeps a /16 from
        // cloning the out-of-order set 65,536 times; the last one always goes out.
        if last_checkpoint.elapsed() >= CHECKPOINT_INTERVAL {
            let _ = tx.send(ScanEvent::Checkpoint(checkpoint.clone())).await;
            last_checkpoint = Instant::now();
        }
        snapshot(&shared, &mut progress, started);
        progress_tx.send_replace(progress.clone());
    }
    let _ = tx.send(ScanEvent::Checkpoint(checkpoint)).await;
    progress.stopped = shared.stop().reason();
    progress.done = true;
    snapshot(&shared, &mut progress, started);
    progress_tx.send_replace(progress);
}

fn snapshot(shared: &Shared, progress: &mut Progress, started: Instant) {
    progress.requests_sent = shared.requests_total();
    for &p in Protocol::ALL {
        let n = shared.requests[p.index()].load(Ordering::Relaxed);
        if n > 0 {
            progress.requests_by_protocol.insert(p, n);
        }
    }
    progress.elapsed = started.elapsed();
    progress.min_device_gap = shared.session.min_device_gap();
}

async fn scan_device(shared: Arc<Shared>, target: Target) -> AssetRecord {
    let config = Arc::clone(&shared.config);
    let mut record = AssetRecord::new(
        &shared.scan_id,
        target.ip,
        target.name.as_deref().map(str::to_owned),
    );
    let mut session = DeviceSession::new(target.ip, Arc::clone(&shared.session));
    for &probe in &config.probes {
        let observations = if shared.stop().reason().is_some() {
            vec![stopped_observation(&config, probe)]
        } else {
            let before = session.sent();
            let observations = config.protocols.probe(probe, &mut session).await;
            let sent = u64::from(session.sent() - before);
            shared.requests[probe.index()].fetch_add(sent, Ordering::Relaxed);
            observations
        };
        for (observation, identity) in observations {
            record.merge(observation, identity);
        }
    }
    session.close().await;
    record.enrichment = config
        .enrichment
        .as_ref()
        .and_then(|t| t.lookup(target.ip))
        .cloned();
    record
}

/// The observation of a probe the scan's stop kept from running.
fn stopped_observation(config: &ScanConfig, protocol: Protocol) -> (ServiceObservation, Identity) {
    let transport = config.protocols.transports(protocol)[0];
    (
        ServiceObservation {
            protocol,
            transport,
            port: config.port(protocol),
            status: Status::Stopped,
            rtt_ms: None,
            timestamp: jiff::Timestamp::now(),
            error: Some("scan stopped before this probe ran".to_owned()),
            requests: 0,
            details: None,
            received: None,
        },
        Identity::default(),
    )
}
