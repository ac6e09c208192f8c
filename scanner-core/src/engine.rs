//! The scan engine: the scheduler only.
//!
//! Targets are pulled lazily from [`Targets`](crate::targets::Targets) and scanned by at
//! most `concurrency` devices at once, polled by one long-lived shard task per
//! runtime worker. Each device's scan owns a
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
use crate::record::fields::{Identity, Protocol, Status, Transport};
use crate::record::{AssetRecord, ServiceObservation};
use crate::session::{
    self, DeviceSession, ExchangeError, FirstPacket, Limits, LocalFailure, Stop, StopReason,
    Verdict,
};
use crate::targets::Target;

/// Progress of a running scan, published after every batch of finished devices.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Progress {
    /// Targets the scan will visit (after exclusions and sharding).
    pub planned: u128,
    /// Targets done by earlier runs of a resumed scan.
    pub done_before: u128,
    /// Targets whose probes are done in this run.
    pub finished: u64,
    /// Targets whose scan the deadline, a cancel or a local failure cut short: not
    /// done, scanned again on resume, no record emitted.
    pub interrupted: u64,
    /// Tries at a target that a local failure (the host could not send) cut short;
    /// each was retried later in the run or left undone. Never a device result.
    pub local_retries: u64,
    /// With [`StopReason::LocalFailure`]: the one-line reason, naming the target
    /// and the host's error (e.g. `10.0.0.5: cannot connect: Network is unreachable`).
    pub local_failure: Option<String>,
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

/// What a scan delivers, in order: each target done (with its record when it has
/// one to deliver), and at most every 100 ms (and once at the end) the checkpoint,
/// which never counts a target whose record is still to come.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanEvent {
    /// A target is done: its position in the scan order (this shard's sequence of
    /// [`Targets::iter`](crate::targets::Targets::iter), as in [`Checkpoint`]) and
    /// its record, unless the target answered nothing and `emit_all` is off.
    /// A consumer that keeps its own checkpoint marks `position` done once the
    /// record is stored.
    Done {
        /// Position of the target in the scan order.
        position: u128,
        /// The device's record, when there is one to deliver.
        record: Option<Box<AssetRecord>>,
    },
    /// Progress of the target order, for resumable scans.
    Checkpoint(Checkpoint),
}

/// State shared by every device scan and shard of one scan.
struct Shared {
    config: Arc<ScanConfig>,
    /// What every device session shares: bounds, pacer, stop signal.
    session: Arc<session::Shared>,
    /// Packets put on the wire per protocol, indexed by [`Protocol::index`].
    requests: Vec<AtomicU64>,
    scan_id: String,
    /// The liveness phase's first packets in order, with and without their probes,
    /// when they are the same for every target (computed once per scan); `None` when
    /// the phase is off or a probe's vary (see `RunProbe::FIRST_PACKETS_VARY`).
    liveness_firsts: Option<LivenessFirsts>,
}

/// The liveness phase's first packets in order: with their probes, and alone (what
/// `DeviceSession::liveness` takes).
type LivenessFirsts = (Vec<(Protocol, FirstPacket)>, Vec<FirstPacket>);

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
    /// The events of each turn of `drive`, in order, in messages of at most
    /// [`EVENT_ROOM`] events.
    records: mpsc::UnboundedReceiver<Vec<ScanEvent>>,
    /// Events received and not yet taken.
    buffer: std::collections::VecDeque<ScanEvent>,
    /// Room for events not yet taken: `drive` takes a permit per event it sends, the
    /// consumer gives it back when it takes the event; closed when the scan is dropped.
    room: Arc<tokio::sync::Semaphore>,
    progress: watch::Receiver<Progress>,
    cancel: CancellationToken,
}

impl Scan {
    /// A receiver of progress snapshots (updated after every batch of finished devices; the
    /// last one, with `done` set, is the scan's summary).
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.clone()
    }

    /// The next record or checkpoint, in delivery order (the [`Stream`] yields only
    /// records). A checkpoint covers only targets whose records came before it, so a
    /// consumer that persists it after writing those records resumes exactly.
    pub async fn next_event(&mut self) -> Option<ScanEvent> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.room.add_permits(1);
                return Some(event);
            }
            // Cancel-safe: a batch received is stored before anything else can await.
            self.buffer.extend(self.records.recv().await?);
        }
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
            let event = self.buffer.pop_front();
            if event.is_some() {
                self.room.add_permits(1);
            }
            match event {
                Some(ScanEvent::Done {
                    record: Some(r), ..
                }) => return Poll::Ready(Some(*r)),
                Some(ScanEvent::Done { record: None, .. } | ScanEvent::Checkpoint(_)) => continue,
                None => {}
            }
            match self.records.poll_recv(cx) {
                Poll::Ready(Some(batch)) => self.buffer.extend(batch),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for Scan {
    fn drop(&mut self) {
        self.room.close();
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
                local_failure: std::sync::OnceLock::new(),
            },
            min_gap_us: AtomicU64::new(u64::MAX),
        }),
        requests: Protocol::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
        scan_id,
        liveness_firsts: liveness_firsts_of_scan(&config),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let room = Arc::new(tokio::sync::Semaphore::new(EVENT_ROOM));
    let initial = Progress {
        planned: config.targets.len(),
        done_before: config.resume.as_ref().map_or(0, Checkpoint::count),
        ..Progress::default()
    };
    let (progress_tx, progress_rx) = watch::channel(initial);
    let events = Events {
        tx,
        room: Arc::clone(&room),
    };
    tokio::spawn(drive(shared, events, progress_tx, started));
    Scan {
        records: rx,
        buffer: std::collections::VecDeque::new(),
        room,
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

/// One try at one target of the order.
struct Attempt {
    target: Target,
    position: u128,
    /// Earlier tries of this target that a local failure cut short.
    local_failures: u32,
}

/// How one try at a device ended.
enum DeviceOutcome {
    /// Every probe ran: the device's record, to deliver (the target is done).
    Finished(Box<AssetRecord>),
    /// Every probe ran and nothing answered, and such records are not delivered
    /// (`emit_all` off): how many of its services ended in each status, indexed as
    /// [`Status::ALL`], for the progress counts (the target is done). The record is
    /// dropped on the shard's thread that made it: freed there, its memory is reused
    /// there, not handed across threads for nothing.
    Unanswered([u32; Status::ALL.len()]),
    /// The scan's stop cut the device short: not done, no record.
    Interrupted,
    /// The host could not send: not done, no record; tried again or left for the next run.
    LocalFailure(LocalFailure),
}

/// Events not yet taken by the consumer, at most: `drive` waits for room beyond that
/// (a stalled consumer stalls the scan, and memory stays bounded).
const EVENT_ROOM: usize = 256;

/// The sending side of a scan's events: `drive` hands over each turn's events at
/// once (one wake-up of the consumer per turn, not one per target), within
/// [`EVENT_ROOM`].
struct Events {
    tx: mpsc::UnboundedSender<Vec<ScanEvent>>,
    room: Arc<tokio::sync::Semaphore>,
}

impl Events {
    /// Sends `events` in order, waiting for room as the consumer takes them; false once
    /// the consumer is gone (the scan was dropped).
    async fn send(&self, mut events: Vec<ScanEvent>) -> bool {
        while !events.is_empty() {
            let rest = events.split_off(events.len().min(EVENT_ROOM));
            // `EVENT_ROOM` fits in u32; the permits go back as the consumer takes events.
            match self.room.acquire_many(events.len() as u32).await {
                Ok(permits) => permits.forget(),
                Err(_) => return false,
            }
            if self.tx.send(events).is_err() {
                return false;
            }
            events = rest;
        }
        true
    }
}

async fn drive(
    shared: Arc<Shared>,
    tx: Events,
    progress_tx: watch::Sender<Progress>,
    started: Instant,
) {
    let config = Arc::clone(&shared.config);
    let mut checkpoint = config.resume.clone().unwrap_or_default();
    let skip = checkpoint.clone();
    let start = checkpoint.next;
    let mut source = config
        .targets
        .iter_from(start)
        .zip(start..)
        .filter(move |(_, position)| !skip.is_done(*position));
    // Tries waiting after a local failure, with the time each is due.
    let mut retries: Vec<(Instant, Attempt)> = Vec::new();
    let mut shards = Shards::spawn(&shared);
    // Tries handed to the shards and not yet returned: never more than the concurrency.
    let mut in_flight = 0usize;
    let mut returned = Vec::new();
    let mut progress = progress_tx.borrow().clone();
    let mut last_checkpoint = Instant::now();
    loop {
        // Start devices up to the concurrency, unless the scan must stop. While a
        // retry is pending the host has just failed to send: only retries start,
        // each when it is due, so a host that cannot send is not handed new targets.
        while in_flight < config.concurrency.get() && shared.stop().reason().is_none() {
            let attempt = if retries.is_empty() {
                match source.next() {
                    Some((target, position)) => Attempt {
                        target,
                        position,
                        local_failures: 0,
                    },
                    None => break,
                }
            } else {
                let due = retries
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, (due, _))| *due)
                    .filter(|(_, (due, _))| *due <= Instant::now())
                    .map(|(i, _)| i);
                match due {
                    Some(i) => retries.swap_remove(i).1,
                    None => break,
                }
            };
            shards.assign(attempt);
            in_flight += 1;
        }
        // Tries a gone shard could not take (the runtime is shutting down) are
        // interrupted, neither emitted nor done.
        let lost = shards.hand_out();
        in_flight -= lost;
        progress.interrupted += lost as u64;
        let next_retry = retries.iter().map(|(due, _)| *due).min();
        if in_flight == 0 {
            match next_retry {
                Some(due) if shared.stop().reason().is_none() => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(due) => {}
                        _ = shared.stop().stopped() => {}
                    }
                    continue;
                }
                _ => break,
            }
        }
        // Every device the shards finished since the last turn, in one wake-up.
        let received = tokio::select! {
            n = shards.returns.recv_many(&mut returned, usize::MAX) => n,
            _ = tokio::time::sleep_until(next_retry.unwrap_or_else(Instant::now)),
                if next_retry.is_some() && in_flight < config.concurrency.get() => continue,
        };
        if received == 0 {
            // Every shard is gone with tries in flight: only a runtime shutdown
            // does that; those targets are interrupted.
            progress.interrupted += in_flight as u64;
            break;
        }
        // This turn's events, sent as one message after the loop.
        let mut events = Vec::new();
        for (shard, mut attempt, outcome) in returned.drain(..).flatten() {
            in_flight -= 1;
            shards.in_flight[shard] -= 1;
            let outcome = match outcome {
                Ok(outcome) => outcome,
                // A probe's panic is the scan's, as if the device ran in this task.
                Err(panic) => std::panic::resume_unwind(panic),
            };
            let record = match outcome {
                DeviceOutcome::Interrupted => {
                    progress.interrupted += 1;
                    continue;
                }
                DeviceOutcome::LocalFailure(failure) => {
                    progress.local_retries += 1;
                    attempt.local_failures += 1;
                    if attempt.local_failures > config.local_retries {
                        // Retries did not help: stop, leaving this target (and every
                        // other not done) for the next run.
                        progress.interrupted += 1;
                        shared.stop().fail_locally(format!(
                            "{}: {failure} ({} tries)",
                            attempt.target.ip, attempt.local_failures
                        ));
                    } else {
                        tracing::info!(
                            "{}: {failure}; trying again later in this run",
                            attempt.target.ip
                        );
                        let wait = config
                            .local_retry_delay
                            .saturating_mul(1 << (attempt.local_failures - 1).min(16));
                        retries.push((Instant::now() + wait, attempt));
                    }
                    continue;
                }
                DeviceOutcome::Unanswered(statuses) => {
                    for (status, n) in Status::ALL.iter().zip(statuses) {
                        if n > 0 {
                            *progress.statuses.entry(*status).or_default() += u64::from(n);
                        }
                    }
                    None
                }
                DeviceOutcome::Finished(record) => Some(record),
            };
            let position = attempt.position;
            progress.finished += 1;
            if let Some(record) = &record {
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
                progress.emitted += 1;
            }
            events.push(ScanEvent::Done { position, record });
            checkpoint.complete(position);
            // A checkpoint every 100 ms is plenty for a state file and keeps a /16 from
            // cloning the out-of-order set 65,536 times; the last one always goes out.
            if last_checkpoint.elapsed() >= CHECKPOINT_INTERVAL {
                events.push(ScanEvent::Checkpoint(checkpoint.clone()));
                last_checkpoint = Instant::now();
            }
        }
        if !tx.send(events).await {
            // Nobody listens any more: stop sending, let in-flight devices end.
            shared.stop().cancel.cancel();
        }
        snapshot(&shared, &mut progress, started);
        progress_tx.send_replace(progress.clone());
    }
    shards.close().await;
    // Retries still waiting when the scan stopped are not done either.
    progress.interrupted += retries.len() as u64;
    tx.send(vec![ScanEvent::Checkpoint(checkpoint)]).await;
    progress.stopped = shared.stop().reason();
    progress.local_failure = shared.stop().local_failure.get().cloned();
    progress.done = true;
    snapshot(&shared, &mut progress, started);
    progress_tx.send_replace(progress);
}

/// A try handed back by a shard: the shard's index, the try, and how the device
/// ended (or the panic of its probe).
type Returned = (usize, Attempt, std::thread::Result<DeviceOutcome>);

/// The long-lived tasks that scan devices, one per runtime worker.
///
/// A task per device made the multi-thread runtime wake a worker (a futex call)
/// for nearly every device and every finished one; a shard instead polls all its
/// devices in one task, so a device's I/O wakes a task that is usually already
/// running. On a multi-thread runtime each shard runs on a thread of its own with
/// a current-thread runtime (its own I/O driver and timers): the runtime's workers
/// otherwise kept waking each other to steal the shard tasks (about one futex or
/// eventfd write per device, and as many context switches), which cost the CLI
/// about 7% of its CPU on a /16 (`benches/ab.sh`). A device's sockets and timers
/// then all belong to its shard's runtime. Hand-offs go in batches both ways:
/// `drive` sends each shard the tries of one turn as one message, a shard sends
/// back what finished in one poll as one message. `drive` keeps the target order, retries, checkpoint,
/// progress and records; the shards only run `scan_device`. Both channels are
/// unbounded but hold at most `concurrency` tries between them, which `drive`
/// counts before it hands out one more.
struct Shards {
    /// Per shard: tries assigned this turn, not yet sent.
    pending: Vec<Vec<Attempt>>,
    /// Per shard: its inbox (`None` once the shard is gone).
    inboxes: Vec<Option<mpsc::UnboundedSender<Vec<Attempt>>>>,
    /// Per shard: tries sent and not yet returned.
    in_flight: Vec<usize>,
    /// What the shards hand back, in batches.
    returns: mpsc::UnboundedReceiver<Vec<Returned>>,
    tasks: Vec<ShardTask>,
}

/// How a shard runs, and how `close` waits for its end.
enum ShardTask {
    /// A task of the caller's runtime (a current-thread runtime: tests with paused
    /// time, embedders that scan on one thread).
    Task(tokio::task::JoinHandle<()>),
    /// A thread of its own with a current-thread runtime; sends the shard's end (or
    /// its panic) when it returns.
    Thread(tokio::sync::oneshot::Receiver<std::thread::Result<()>>),
}

/// Starts shard `index` on a thread of its own with a current-thread runtime; gives
/// the future back when the runtime or the thread cannot be made (the caller then
/// runs it as a task of its own runtime).
fn shard_thread<F>(index: usize, shard: F) -> Result<ShardTask, F>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::warn!("cannot start the runtime of scan shard {index}: {e}; it runs on the caller's runtime");
            return Err(shard);
        }
    };
    let (ended_tx, ended) = tokio::sync::oneshot::channel();
    // The runtime and the future move into the thread only once it exists: a failed
    // spawn keeps both (a runtime dropped here, in an async context, would panic).
    let (start_tx, start) = std::sync::mpsc::sync_channel::<(tokio::runtime::Runtime, F)>(1);
    let spawned = std::thread::Builder::new()
        .name(format!("otscan-shard-{index}"))
        .spawn(move || {
            let Ok((runtime, shard)) = start.recv() else {
                return;
            };
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runtime.block_on(shard);
            }));
            // Fails only once `drive` is gone: nobody waits for this end any more.
            let _ = ended_tx.send(result);
        });
    match spawned {
        Ok(_) => {
            // The thread waits on `start`, so the send cannot fail.
            let _ = start_tx.send((runtime, shard));
            Ok(ShardTask::Thread(ended))
        }
        Err(e) => {
            tracing::warn!("cannot start the thread of scan shard {index}: {e}; it runs on the caller's runtime");
            runtime.shutdown_background();
            Err(shard)
        }
    }
}

impl Shards {
    /// One shard per worker of the current runtime (1 on a current-thread runtime),
    /// never more than the concurrency.
    fn spawn(shared: &Arc<Shared>) -> Shards {
        let runtime = tokio::runtime::Handle::current();
        let threads = runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread;
        let workers = runtime.metrics().num_workers();
        let count = workers.clamp(1, shared.config.concurrency.get());
        let (returns_tx, returns) = mpsc::unbounded_channel();
        let mut inboxes = Vec::with_capacity(count);
        let mut tasks = Vec::with_capacity(count);
        for index in 0..count {
            let (inbox_tx, inbox) = mpsc::unbounded_channel();
            inboxes.push(Some(inbox_tx));
            let shard = shard(index, Arc::clone(shared), inbox, returns_tx.clone());
            let task = if threads {
                shard_thread(index, shard)
            } else {
                Err(shard)
            };
            tasks.push(task.unwrap_or_else(|shard| ShardTask::Task(tokio::spawn(shard))));
        }
        Shards {
            pending: (0..count).map(|_| Vec::new()).collect(),
            inboxes,
            in_flight: vec![0; count],
            returns,
            tasks,
        }
    }

    /// Assigns a try to the shard with the fewest devices (in flight and assigned).
    fn assign(&mut self, attempt: Attempt) {
        let shard = (0..self.pending.len())
            .filter(|&i| self.inboxes[i].is_some())
            .min_by_key(|&i| self.in_flight[i] + self.pending[i].len())
            .unwrap_or(0);
        self.pending[shard].push(attempt);
    }

    /// Sends each shard its tries of this turn in one message; returns how many
    /// could not be sent (their shard is gone: only a runtime shutdown ends a shard
    /// early, since a probe's panic comes back as a result).
    fn hand_out(&mut self) -> usize {
        let mut lost = 0;
        for shard in 0..self.pending.len() {
            if self.pending[shard].is_empty() {
                continue;
            }
            let batch = std::mem::take(&mut self.pending[shard]);
            let count = batch.len();
            let sent = self.inboxes[shard]
                .as_ref()
                .is_some_and(|inbox| inbox.send(batch).is_ok());
            if sent {
                self.in_flight[shard] += count;
            } else {
                self.inboxes[shard] = None;
                lost += count;
            }
        }
        lost
    }

    /// Closes the inboxes and waits for every shard to end; a shard's panic (not a
    /// probe's: those come back as results) is re-raised here.
    async fn close(self) {
        drop(self.inboxes);
        drop(self.returns);
        for task in self.tasks {
            match task {
                ShardTask::Task(task) => {
                    if let Err(e) = task.await {
                        if e.is_panic() {
                            std::panic::resume_unwind(e.into_panic());
                        }
                    }
                }
                ShardTask::Thread(ended) => {
                    if let Ok(Err(panic)) = ended.await {
                        std::panic::resume_unwind(panic);
                    }
                }
            }
        }
    }
}

/// A shard: scans the devices handed to it, all polled inline in this one task,
/// and hands back, in one message per poll, every try that ended. Ends once its
/// inbox is closed and its last device has ended.
async fn shard(
    index: usize,
    shared: Arc<Shared>,
    mut inbox: mpsc::UnboundedReceiver<Vec<Attempt>>,
    returns: mpsc::UnboundedSender<Vec<Returned>>,
) {
    let mut running = futures::stream::FuturesUnordered::new();
    let mut open = true;
    let mut batches = Vec::new();
    std::future::poll_fn(|cx| {
        while open {
            match inbox.poll_recv_many(cx, &mut batches, usize::MAX) {
                Poll::Ready(0) => open = false,
                Poll::Ready(_) => {
                    for attempt in batches.drain(..).flatten() {
                        running.push(run_device(index, Arc::clone(&shared), attempt));
                    }
                }
                Poll::Pending => break,
            }
        }
        let mut ended = Vec::new();
        while let Poll::Ready(Some(done)) = running.poll_next_unpin(cx) {
            ended.push(done);
        }
        if !ended.is_empty() {
            // Fails only once `drive` is gone: nobody is left to count these.
            let _ = returns.send(ended);
        }
        if !open && running.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

/// Scans one device and says how it ended, with the attempt for a retry; a probe's
/// panic is caught here and re-raised by `drive`.
async fn run_device(shard: usize, shared: Arc<Shared>, attempt: Attempt) -> Returned {
    let scan = std::panic::AssertUnwindSafe(scan_device(shared, attempt.target.clone()));
    let outcome = futures::FutureExt::catch_unwind(scan).await;
    (shard, attempt, outcome)
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

async fn scan_device(shared: Arc<Shared>, target: Target) -> DeviceOutcome {
    let config = Arc::clone(&shared.config);
    let mut record = AssetRecord::new(
        &shared.scan_id,
        target.ip,
        target.name.as_deref().map(str::to_owned),
    );
    let mut session = DeviceSession::new(target.ip, Arc::clone(&shared.session));
    // Packets the liveness phase sent for each (probe, transport): theirs to count.
    let mut credit: Vec<(Protocol, Transport)> = Vec::new();
    if config.liveness && shared.stop().reason().is_none() {
        let per_target;
        let (firsts, packets) = match &shared.liveness_firsts {
            Some((firsts, packets)) => (firsts.as_slice(), packets.as_slice()),
            None => {
                per_target = liveness_firsts(&config, target.ip);
                (per_target.0.as_slice(), per_target.1.as_slice())
            }
        };
        let liveness = session.liveness(packets).await;
        for ((probe, first), _) in firsts.iter().zip(&liveness.sent).filter(|(_, s)| **s) {
            shared.requests[probe.index()].fetch_add(1, Ordering::Relaxed);
            credit.push((*probe, first.transport()));
        }
        if let Some(failure) = session.local_failure() {
            let failure = failure.clone();
            session.close().await;
            return DeviceOutcome::LocalFailure(failure);
        }
        if liveness.verdict == Verdict::Silent {
            session.close().await;
            // In probe order, as the probes would have recorded them.
            let mut silent: Vec<&(Protocol, FirstPacket)> = firsts.iter().collect();
            silent.sort_by_key(|(p, _)| config.probes.iter().position(|q| q == p));
            for (probe, first) in silent {
                record.merge(silent_observation(*probe, first), Identity::default());
            }
            return finish(&config, target, record);
        }
        // Alive: the probes run in full (a cut phase leaves them to the stop).
    }
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
        if let Some(failure) = session.local_failure() {
            // What this try observed is not a result of the device: drop it all.
            let failure = failure.clone();
            session.close().await;
            return DeviceOutcome::LocalFailure(failure);
        }
        for (mut observation, identity) in observations {
            // The liveness packet of this probe and transport went out first.
            if let Some(i) = credit
                .iter()
                .position(|c| *c == (probe, observation.transport))
            {
                credit.swap_remove(i);
                observation.requests += 1;
            }
            record.merge(observation, identity);
        }
    }
    session.close().await;
    // A target the stop cut short is not done: no record now, scanned again on resume.
    if record.services.iter().any(|s| s.status == Status::Stopped) {
        return DeviceOutcome::Interrupted;
    }
    finish(&config, target, record)
}

/// The liveness phase's first packets for `ip`, in order: with their probes, and alone.
fn liveness_firsts(config: &ScanConfig, ip: std::net::IpAddr) -> LivenessFirsts {
    let firsts = config.liveness_packets_in_order(ip);
    let packets = firsts.iter().map(|(_, f)| f.clone()).collect();
    (firsts, packets)
}

/// [`liveness_firsts`] once for the whole scan, when the phase is on and no configured
/// probe's first packets vary by target.
fn liveness_firsts_of_scan(config: &ScanConfig) -> Option<LivenessFirsts> {
    let fixed = config
        .probes
        .iter()
        .all(|&p| !config.protocols.first_packets_vary(p));
    (config.liveness && fixed).then(|| liveness_firsts(config, crate::config::UNSPECIFIED))
}

/// The finished device's record: derived fields (asset id, canonical vendor, inferred
/// type) and its site inventory attributes.
fn finish(config: &ScanConfig, target: Target, mut record: AssetRecord) -> DeviceOutcome {
    if !record.responsive && !config.emit_all {
        // Never delivered: nothing to derive, only its statuses to count.
        let mut statuses = [0u32; Status::ALL.len()];
        for service in &record.services {
            if let Some(i) = Status::ALL.iter().position(|s| *s == service.status) {
                statuses[i] += 1;
            }
        }
        return DeviceOutcome::Unanswered(statuses);
    }
    crate::record::derive::finish(&mut record);
    record.enrichment = config
        .enrichment
        .as_ref()
        .and_then(|t| t.lookup(target.ip))
        .cloned();
    DeviceOutcome::Finished(Box::new(record))
}

/// The observation of a probe whose first packet (on `first`'s transport) got no answer,
/// at an address that answered none: it cost that packet and nothing more.
fn silent_observation(protocol: Protocol, first: &FirstPacket) -> ServiceObservation {
    let (status, error) = match first.transport() {
        Transport::Tcp => (Status::ConnectionTimeout, ExchangeError::ConnectTimeout),
        Transport::Udp | Transport::Ethernet => (Status::IoTimeout, ExchangeError::Timeout),
    };
    ServiceObservation {
        protocol,
        transport: first.transport(),
        port: first.port(),
        status,
        rtt_ms: None,
        timestamp: jiff::Timestamp::now(),
        error: Some(format!(
            "{error} (silent address: no probe's first packet was answered, nothing more sent)"
        )),
        requests: 1,
        details: None,
        received: None,
    }
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
