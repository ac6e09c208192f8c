//! The engine's scheduling as a user notices it, with devices spread over one shard task
//! per runtime worker: never more devices at once than the concurrency, and a cancelled
//! scan still delivers (and checkpoints) every device that finished, including those whose
//! results were still waiting to be handed back when the cancel came.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protocol_fixtures::{DeviceSpec, ModbusDeviceConfig, Plant, PlantSpec};
use scanner_core::protocols::modbus::ModbusConfig;
use scanner_core::{Protocol, Rate, ScanConfig, ScanEvent, Scanner, StopReason, Targets};
use tokio::io::AsyncReadExt;

const HOLDING_BASE: Ipv4Addr = Ipv4Addr::new(127, 118, 0, 0);
const HOLDING_PORT: u16 = 24_010;
const PLANT_BASE: Ipv4Addr = Ipv4Addr::new(127, 119, 0, 0);
const PLANT_PORT: u16 = 24_011;

fn host(base: Ipv4Addr, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(base) + n)
}

/// A Modbus-only scan of `base`+1 to `base`+`devices` on `port`, unpaced but for the
/// per-device `interval`, at most `concurrency` devices at once.
fn modbus_scan(
    base: Ipv4Addr,
    devices: u32,
    port: u16,
    concurrency: usize,
    interval: Duration,
) -> scanner_core::ScanConfigBuilder {
    let range = format!("{}-{}", host(base, 1), host(base, devices));
    ScanConfig::builder()
        .targets(Targets::parse([range]).unwrap())
        .probes([Protocol::Modbus])
        .rate(Rate::Unlimited)
        .per_device_interval(interval)
        .concurrency(NonZeroUsize::new(concurrency).unwrap())
        .modbus(ModbusConfig {
            port,
            ..ModbusConfig::default()
        })
}

/// Connections the holding devices have open, by the order they were accepted.
#[derive(Default)]
struct Open {
    open: BTreeSet<u64>,
    next: u64,
    /// The most connections open at once, each counted 50 ms after its accept (by then
    /// the connection the scanner closed just before is seen closed too).
    max: usize,
}

/// `count` devices on `HOLDING_BASE`+1.. that accept a connection and never answer,
/// holding it until the scanner closes it.
async fn holding_devices(count: u32, open: Arc<Mutex<Open>>) {
    for n in 1..=count {
        let addr = SocketAddr::from((host(HOLDING_BASE, n), HOLDING_PORT));
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let open = Arc::clone(&open);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let open = Arc::clone(&open);
                tokio::spawn(async move {
                    let id = {
                        let mut o = open.lock().unwrap();
                        o.next += 1;
                        let id = o.next;
                        o.open.insert(id);
                        id
                    };
                    let counted = async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        let mut o = open.lock().unwrap();
                        o.max = o.max.max(o.open.len());
                    };
                    let mut buf = [0u8; 512];
                    let drained =
                        async { while stream.read(&mut buf).await.is_ok_and(|n| n > 0) {} };
                    tokio::join!(counted, drained);
                    open.lock().unwrap().open.remove(&id);
                });
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrency_cap_holds_across_shards() {
    const DEVICES: u32 = 24;
    const CAP: usize = 4;
    let open = Arc::new(Mutex::new(Open::default()));
    holding_devices(DEVICES, Arc::clone(&open)).await;
    let config = modbus_scan(
        HOLDING_BASE,
        DEVICES,
        HOLDING_PORT,
        CAP,
        Duration::from_millis(20),
    )
    .timeout(Duration::from_millis(300))
    .emit_all(true)
    .build()
    .unwrap();
    let mut scan = Scanner::new(config).scan();
    let mut ips = BTreeSet::new();
    while let Some(event) = scan.next_event().await {
        if let ScanEvent::Done {
            record: Some(record),
            ..
        } = event
        {
            ips.insert(record.ip);
        }
    }
    assert_eq!(ips.len(), DEVICES as usize, "a record per device: {ips:?}");
    let max = open.lock().unwrap().max;
    // Two shards on two workers: the cap is the scan's, not each shard's.
    assert_eq!(
        max, CAP,
        "devices holding a connection at once (concurrency {CAP})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_with_finished_devices_not_yet_handed_back_keeps_every_record() {
    // More devices than the scan holds for its consumer (256 events): with nobody reading, the
    // engine blocks on delivering while the shards finish the devices it handed out.
    const DEVICES: u32 = 320;
    let spec = PlantSpec {
        devices: (1..=DEVICES)
            .map(|n| {
                DeviceSpec::new(host(PLANT_BASE, n), format!("plc-{n}")).with_modbus(
                    PLANT_PORT,
                    ModbusDeviceConfig::new("Simulated Vendor", format!("SIM-{n}"), "1.0"),
                )
            })
            .collect(),
    };
    let plant = Plant::start(spec).unwrap();
    let config = modbus_scan(PLANT_BASE, DEVICES, PLANT_PORT, 64, Duration::ZERO)
        .timeout(Duration::from_millis(2000))
        .build()
        .unwrap();
    let mut scan = Scanner::new(config).scan();
    let progress = scan.progress();

    // Nobody reads: wait until the devices contacted so far are all closed and no new
    // one is contacted for a while (every device handed out has finished).
    let contacted = || -> BTreeSet<IpAddr> {
        (1..=DEVICES)
            .map(|n| IpAddr::V4(host(PLANT_BASE, n)))
            .filter(|&ip| plant.recorder().connection_stats(ip).accepted > 0)
            .collect()
    };
    let mut finished = BTreeSet::new();
    let mut stable = 0;
    for _ in 0..300 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = contacted();
        let all_closed = now
            .iter()
            .all(|&ip| plant.recorder().connection_stats(ip).open == 0);
        stable = if all_closed && now == finished {
            stable + 1
        } else {
            0
        };
        finished = now;
        if stable >= 6 {
            break;
        }
    }
    assert!(
        stable >= 6,
        "the scan did not settle: {} contacted",
        finished.len()
    );
    assert!(
        finished.len() > 256,
        "more devices finished than the scan holds for its consumer: {}",
        finished.len()
    );
    assert!(!progress.borrow().done);

    scan.cancel_token().cancel();
    let mut delivered = BTreeSet::new();
    let mut positions = Vec::new();
    let mut last_checkpoint = None;
    while let Some(event) = scan.next_event().await {
        match event {
            ScanEvent::Done {
                position,
                record: Some(record),
            } => {
                positions.push(position);
                delivered.insert(record.ip);
            }
            ScanEvent::Done { record: None, .. } => panic!("a Modbus device answered nothing"),
            ScanEvent::Checkpoint(c) => last_checkpoint = Some(c),
        }
    }
    let missing: Vec<_> = finished.difference(&delivered).collect();
    let extra: Vec<_> = delivered.difference(&finished).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "every device that finished before the cancel is delivered, and no other: \
         {} finished, {} delivered, missing {missing:?}, extra {extra:?}",
        finished.len(),
        delivered.len()
    );
    let checkpoint = last_checkpoint.expect("a final checkpoint");
    assert_eq!(checkpoint.count(), positions.len() as u128);
    assert!(positions.iter().all(|&p| checkpoint.is_done(p)));
    let summary = progress.borrow().clone();
    assert!(summary.done);
    assert_eq!(summary.stopped, Some(StopReason::Cancelled));
    assert_eq!(summary.finished, finished.len() as u64);
    assert_eq!(summary.interrupted, 0, "no device was cut short");
}
