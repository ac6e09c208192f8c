//! What an embedder of the library sees of the engine's threads: on a multi-thread runtime a
//! scan runs its devices on threads of its own (`otscan-shard-N`, one per worker), and
//! those end once the scan is dropped and their devices have ended: none is left behind.
//! A test binary of its own, so no other test's scan shares the process's thread list.

use std::net::Ipv4Addr;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use scanner_core::protocols::modbus::ModbusConfig;
use scanner_core::{Protocol, Rate, ScanConfig, ScanEvent, Scanner, Targets};

/// Threads of this process whose name starts with `otscan-shard`.
fn shard_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("otscan-shard"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_scan_leaves_no_shard_thread_behind() {
    // 4,094 loopback addresses where nothing listens (each refuses at once), paced so the
    // scan lasts about two seconds: it is dropped after its first event.
    let base = Ipv4Addr::new(127, 117, 0, 0);
    let config = ScanConfig::builder()
        .targets(Targets::parse([format!("{base}/20")]).unwrap())
        .probes([Protocol::Modbus])
        .rate(Rate::per_second(2000).unwrap())
        .per_device_interval(Duration::ZERO)
        .concurrency(NonZeroUsize::new(32).unwrap())
        .timeout(Duration::from_millis(300))
        .emit_all(true)
        .modbus(ModbusConfig {
            port: 24_030,
            ..ModbusConfig::default()
        })
        .build()
        .unwrap();
    assert_eq!(shard_threads(), 0, "no scan yet");
    let mut scan = Scanner::new(config).scan();
    let first = scan.next_event().await;
    assert!(matches!(first, Some(ScanEvent::Done { .. })), "{first:?}");
    // One shard per worker, each on its own thread, while the scan runs.
    assert_eq!(shard_threads(), 2, "the scan's shard threads");
    let progress = scan.progress();
    drop(scan);
    // Every device still in flight ends within its timeout; then the shards end.
    let dropped = Instant::now();
    while shard_threads() > 0 {
        assert!(
            dropped.elapsed() < Duration::from_secs(10),
            "shard threads still running 10 s after the scan was dropped: {}",
            shard_threads()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The scan was cut short, not run to its end.
    let summary = progress.borrow().clone();
    assert!(
        summary.finished < 4094,
        "the dropped scan went on: {summary:?}"
    );
}
