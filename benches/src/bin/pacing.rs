//! Pacing accuracy: scans a simulated plant with a configured global rate and per-device
//! interval, then measures what the devices received.
//!
//! `pacing run RATE INTERVAL_MS SECONDS [BASE]` starts, in this process, a plant of
//! `ceil(RATE x INTERVAL x 1.25) + 2` devices on loopback addresses from BASE (default
//! 127.70.0.0), each a Modbus gateway answering every unit id with exception 0x0A (so the
//! probe walks all 256 unit ids on one connection: a long-lived source of requests), an
//! EtherNet/IP device (TCP) and an SNMP agent, on ports 502, 44818 and 161. It scans them all at
//! once (concurrency = devices) with probes SNMP, EtherNet/IP, Modbus in that order, the given
//! rate (burst 1) and per-device interval, for SECONDS plus one, and prints the statistics of
//! the frames the fixtures recorded (their `at` instants) over the first SECONDS:
//! achieved rate, the largest count in any 100 ms window, and the smallest gap between two
//! frames to one device.
//!
//! The fixtures do not time-stamp TCP connection attempts, which the engine paces like
//! requests (one per TCP service per device), so the frame rate alone reads slightly low.
//! `pacing analyze FILE RATE INTERVAL_MS SECONDS` computes the same statistics over every
//! paced packet seen on the wire: FILE holds `tshark -T fields -e frame.time_epoch -e ip.dst
//! -e tcp.flags.syn -e tcp.flags.ack -e tcp.len -e udp.length` lines of a capture of the run
//! (see `benches/pacing.sh`): TCP SYNs (connection attempts), TCP segments with data, and UDP
//! datagrams, sent to the devices' ports.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr},
    num::{NonZeroU32, NonZeroUsize},
    time::{Duration, Instant},
};

use futures::StreamExt as _;
use protocol_fixtures::{
    DeviceSpec, EnipDeviceConfig, EnipTransports, ModbusDeviceConfig, OtherUnitIds, Plant,
    PlantSpec, SnmpAgentConfig, UnitIdPolicy,
};
use scanner_core::{
    protocols::modbus::ModbusConfig, ProbeKind, Rate, ScanConfig, Scanner, Targets,
};

/// Statistics of one stream of send events.
struct Stats {
    events: usize,
    window: f64,
    achieved: f64,
    max_100ms: usize,
    min_gap: Option<(f64, IpAddr)>,
}

/// `events` are (seconds, device) pairs in any order; only the `seconds`-long window from the
/// first event counts.
fn stats(mut events: Vec<(f64, IpAddr)>, seconds: f64) -> Stats {
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let t0 = events.first().map_or(0.0, |e| e.0);
    events.retain(|e| e.0 < t0 + seconds);
    // Largest number of events in any 100 ms window starting at an event.
    let mut max_100ms = 0;
    let mut j = 0;
    for i in 0..events.len() {
        while j < events.len() && events[j].0 < events[i].0 + 0.1 {
            j += 1;
        }
        max_100ms = max_100ms.max(j - i);
    }
    let mut last: HashMap<IpAddr, f64> = HashMap::new();
    let mut min_gap: Option<(f64, IpAddr)> = None;
    for &(t, ip) in &events {
        if let Some(prev) = last.insert(ip, t) {
            let gap = t - prev;
            if min_gap.is_none_or(|(g, _)| gap < g) {
                min_gap = Some((gap, ip));
            }
        }
    }
    Stats {
        events: events.len(),
        window: seconds,
        achieved: events.len() as f64 / seconds,
        max_100ms,
        min_gap,
    }
}

fn report(what: &str, s: &Stats, rate: u32, interval_ms: u64) {
    let error = (s.achieved - f64::from(rate)) / f64::from(rate) * 100.0;
    let gap = s.min_gap.map_or("n/a".to_owned(), |(g, ip)| {
        format!("{:.3} ms (device {ip})", g * 1000.0)
    });
    println!(
        "pacing {what}: configured {rate}/s, interval {interval_ms} ms: {} events in {:.0} s = {:.1}/s ({error:+.2}%); \
         largest 100 ms window {} (configured {:.0} + burst 1); min same-device gap {gap}",
        s.events,
        s.window,
        s.achieved,
        s.max_100ms,
        f64::from(rate) / 10.0,
    );
}

fn usage() -> ! {
    eprintln!(
        "usage: pacing run RATE INTERVAL_MS SECONDS [BASE]\n       pacing analyze FILE RATE INTERVAL_MS SECONDS"
    );
    std::process::exit(2)
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| usage())
}

fn analyze(args: &[String]) {
    let path: String = arg(args, 1);
    let rate: u32 = arg(args, 2);
    let interval_ms: u64 = arg(args, 3);
    let seconds: f64 = arg(args, 4);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("pacing: {path}: {e}");
        std::process::exit(1)
    });
    let mut events = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (Some(t), Some(ip)) = (
            f.first().and_then(|t| t.parse::<f64>().ok()),
            f.get(1).and_then(|ip| ip.parse::<IpAddr>().ok()),
        ) else {
            continue;
        };
        let flag = |i: usize| matches!(f.get(i).copied(), Some("1" | "True" | "true"));
        let tcp_len: u64 = f.get(4).and_then(|l| l.parse().ok()).unwrap_or(0);
        let is_udp = f.get(5).is_some_and(|l| !l.is_empty());
        let syn = flag(2) && !flag(3);
        if syn || tcp_len > 0 || is_udp {
            events.push((t, ip));
        }
    }
    report("on the wire", &stats(events, seconds), rate, interval_ms);
}

async fn run(args: &[String]) {
    let rate: u32 = arg(args, 1);
    let interval_ms: u64 = arg(args, 2);
    let seconds: u64 = arg(args, 3);
    let base: Ipv4Addr = args
        .get(4)
        .map_or(Some(Ipv4Addr::new(127, 70, 0, 0)), |a| a.parse().ok())
        .unwrap_or_else(|| usage());
    if rate == 0 || !base.is_loopback() {
        usage();
    }
    // Each device can take 1000 / interval requests per second; 25% spare keeps the global
    // limiter, not the devices, the bound.
    let per_device = 1000.0 / interval_ms.max(1) as f64;
    let devices = ((f64::from(rate) / per_device) * 1.25).ceil() as u32 + 2;
    let mut spec = PlantSpec::default();
    for i in 0..devices {
        let ip = Ipv4Addr::from(u32::from(base) + 1 + i);
        spec.devices.push(
            DeviceSpec::new(ip, format!("paced-{i}"))
                .with_modbus(
                    502,
                    ModbusDeviceConfig::new("Simulated Vendor", "GW-PACE", "v1.0").with_unit_ids(
                        UnitIdPolicy::only([], OtherUnitIds::GatewayPathUnavailable),
                    ),
                )
                .with_enip(
                    44818,
                    EnipDeviceConfig::default().with_transports(EnipTransports::TCP_ONLY),
                )
                .with_snmp(
                    161,
                    SnmpAgentConfig::system(
                        "pacing bench agent",
                        [1, 3, 6, 1, 4, 1, 99999, 1],
                        "paced",
                        "",
                        "",
                        2,
                        0,
                    ),
                ),
        );
    }
    let plant = Plant::start(spec).unwrap_or_else(|e| {
        eprintln!("pacing: cannot start the plant: {e} (run as root, raise ulimit -n)");
        std::process::exit(1)
    });
    let last = Ipv4Addr::from(u32::from(base) + devices);
    let targets = Targets::parse([format!("{}-{last}", Ipv4Addr::from(u32::from(base) + 1))])
        .unwrap_or_else(|_| usage());
    let modbus = ModbusConfig {
        unit_ids: (0..=255).collect(),
        ..Default::default()
    };
    let config = ScanConfig::builder()
        .targets(targets)
        .probes([ProbeKind::Snmp, ProbeKind::Enip, ProbeKind::Modbus])
        .rate(Rate::per_second(rate).unwrap_or_else(|| usage()))
        .burst(NonZeroU32::MIN)
        .per_device_interval(Duration::from_millis(interval_ms))
        .concurrency(NonZeroUsize::new(devices as usize).unwrap_or(NonZeroUsize::MIN))
        .timeout(Duration::from_secs(2))
        .max_requests_per_device(10_000)
        .max_duration(Duration::from_secs(seconds + 1))
        .modbus(modbus)
        .build()
        .unwrap_or_else(|e| {
            eprintln!("pacing: {e}");
            std::process::exit(2)
        });
    eprintln!(
        "pacing: {devices} devices from {base}, scanning for {} s",
        seconds + 1
    );
    let started = Instant::now();
    let mut scan = Scanner::new(config).scan();
    let progress = scan.progress();
    while scan.next().await.is_some() {}
    let sent = progress.borrow().requests_sent;
    eprintln!(
        "pacing: scan ended after {:.2} s, {sent} requests counted by the engine",
        started.elapsed().as_secs_f64()
    );
    let frames = plant.recorder().frames();
    let origin = frames.iter().map(|f| f.at).min().unwrap_or(started);
    let events = frames
        .iter()
        .map(|f| (f.at.duration_since(origin).as_secs_f64(), f.device.ip()))
        .collect();
    report(
        "at the fixtures (frames only)",
        &stats(events, seconds as f64),
        rate,
        interval_ms,
    );
    plant.shutdown().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => run(&args).await,
        Some("analyze") => analyze(&args),
        _ => usage(),
    }
}
