//! Scans simulated /24s of Modbus devices over real loopback sockets and checks the
//! records, what went on the wire, and the safety rules.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroUsize;
use std::time::Duration;

use futures::StreamExt;

mod common;
use protocol_fixtures::{Plant, PlantSpec};
use scanner_core::protocols::modbus::{ModbusConfig, ModbusDetails};
use scanner_core::record::ServiceDetails;
use scanner_core::{AssetRecord, Protocol, Rate, ScanConfig, Scanner, Status, Targets};

const PORT: u16 = 15020;

fn fast_config(subnet: &str) -> scanner_core::ScanConfigBuilder {
    ScanConfig::builder()
        .targets(Targets::parse([subnet]).unwrap())
        .probes([Protocol::Modbus])
        .rate(Rate::per_second(5000).unwrap())
        .per_device_interval(Duration::from_millis(5))
        .concurrency(NonZeroUsize::new(128).unwrap())
        .timeout(Duration::from_millis(600))
        .modbus(ModbusConfig {
            port: PORT,
            ..ModbusConfig::default()
        })
}

async fn scan(config: ScanConfig) -> (BTreeMap<IpAddr, AssetRecord>, scanner_core::Progress) {
    let mut scan = Scanner::new(config).scan();
    let progress = scan.progress();
    let mut records = BTreeMap::new();
    while let Some(r) = scan.next().await {
        // Every record must survive a JSON round trip (what the CLI prints).
        let json = serde_json::to_string(&r).unwrap();
        let back: AssetRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        assert!(records.insert(r.ip, r).is_none(), "one record per device");
    }
    let summary = progress.borrow().clone();
    (records, summary)
}

fn ip(base: Ipv4Addr, host: u8) -> IpAddr {
    let o = base.octets();
    IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], host))
}

fn modbus(record: &AssetRecord) -> &ModbusDetails {
    let service = &record.services[0];
    match service.details.as_ref() {
        Some(ServiceDetails::Modbus(d)) => d,
        other => panic!("{}: no modbus details: {other:?}", record.ip),
    }
}

fn object(details: &ModbusDetails, id: u8) -> Option<&str> {
    details
        .objects
        .iter()
        .find(|o| o.id == id)
        .map(|o| o.value.text.as_str())
}

fn units(details: &ModbusDetails) -> Vec<(u8, &str)> {
    details
        .units_tried
        .iter()
        .map(|u| (u.unit_id, u.outcome.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_plant_records_carry_every_identity() {
    let base = Ipv4Addr::new(127, 61, 0, 0);
    let plant = Plant::start(PlantSpec::demo(base, PORT)).unwrap();
    let (records, summary) = scan(fast_config("127.61.0.0/24").build().unwrap()).await;

    // Hosts .10-.17 and .19 answer Modbus; .18 accepts TCP and never answers; the rest are
    // empty.
    let expected: Vec<IpAddr> = (10..=17).chain([19]).map(|h| ip(base, h)).collect();
    assert_eq!(records.keys().copied().collect::<Vec<_>>(), expected);
    assert_eq!(summary.planned, 256);
    assert_eq!(summary.finished, 256);
    assert_eq!(summary.responsive, 9);
    assert!(summary.done);
    assert_eq!(summary.statuses.get(&Status::ConnectionRefused), Some(&246));
    assert_eq!(summary.statuses.get(&Status::IoTimeout), Some(&1));

    let m340 = &records[&ip(base, 10)];
    assert_eq!(m340.vendor.as_deref(), Some("Schneider Electric"));
    assert_eq!(m340.product_code.as_deref(), Some("BMX P34 2020"));
    assert_eq!(m340.firmware_version.as_deref(), Some("v3.10"));
    assert_eq!(m340.product_name.as_deref(), Some("Modicon M340"));
    assert_eq!(m340.model.as_deref(), Some("BMX P34 2020"));
    assert_eq!(m340.sources.get("vendor"), Some(&Protocol::Modbus));
    assert_eq!(m340.services[0].status, Status::Success);
    assert!(m340.services[0].rtt_ms.is_some());
    let d = modbus(m340);
    assert_eq!(d.unit_id, Some(255));
    assert_eq!(d.conformity_level, Some(0x82));
    assert_eq!(d.conformity.as_deref(), Some("regular"));
    assert_eq!(d.individual_access, Some(true));
    assert_eq!(object(d, 0x03), Some("http://www.se.com"));
    assert_eq!(object(d, 0x06), Some("LINE1_FILLER (simulated)"));
    assert_eq!(d.objects.len(), 7);

    // Two objects per page: the basic and regular streams need continuation.
    let coupler = &records[&ip(base, 11)];
    let d = modbus(coupler);
    assert_eq!(coupler.vendor.as_deref(), Some("WAGO"));
    assert_eq!(object(d, 0x05), Some("750-362"));
    assert_eq!(d.objects.len(), 7);
    assert!(d.pages >= 4, "pages {}", d.pages);
    assert!(!d.continuation_stopped);

    // A gateway: 255 and 0 get exception 0x0B, the meter sits behind unit 1.
    let meter = &records[&ip(base, 12)];
    let d = modbus(meter);
    assert_eq!(
        units(d),
        [
            (255, "gateway-target-failed-to-respond"),
            (0, "gateway-target-failed-to-respond"),
            (1, "answered")
        ]
    );
    assert_eq!(meter.product_code.as_deref(), Some("METSEPM5560"));

    // Silent for 255 (libmodbus-like), answers 0.
    let drive = &records[&ip(base, 13)];
    assert_eq!(units(modbus(drive)), [(255, "io-timeout"), (0, "answered")]);
    assert_eq!(drive.vendor.as_deref(), Some("ABB"));
    assert_eq!(drive.services[0].status, Status::Success);

    // Basic conformity: only the basic stream is asked for.
    let io = &records[&ip(base, 14)];
    assert_eq!(modbus(io).conformity.as_deref(), Some("basic"));
    let asked: Vec<u8> = plant
        .recorder()
        .frames_for(ip(base, 14))
        .iter()
        .map(|f| f.bytes[9])
        .collect();
    assert_eq!(
        asked,
        [0x01],
        "basic device asked only for the basic stream"
    );

    // Extended: vendor objects, binary kept exactly.
    let m580 = &records[&ip(base, 15)];
    let d = modbus(m580);
    assert_eq!(object(d, 0x80), Some("SN SIM-580-000042"));
    let binary = d.objects.iter().find(|o| o.id == 0x81).unwrap();
    assert_eq!(binary.value.hex.as_deref(), Some("0080f45a002a"));
    assert_eq!(binary.name, None);

    // FC 0x2B unsupported: exception 01 recorded, FC 0x11 identifies the device.
    let legacy = &records[&ip(base, 16)];
    let d = modbus(legacy);
    assert_eq!(legacy.services[0].status, Status::Success);
    assert_eq!(d.exception.as_ref().map(|e| e.code), Some(0x01));
    let rsi = d.report_server_id.as_ref().unwrap();
    assert_eq!(rsi.server_id, Some(0x0A));
    assert_eq!(rsi.run_indicator, Some(true));
    assert_eq!(rsi.additional.text, "140 CPU 651 60 (simulated)");

    // A conformity byte tokio-modbus rejects: the tolerant parser still identifies it.
    // .19's object count bytes say one object fewer than each page carries: every object
    // is kept, and the disagreement is a warning.
    let short = modbus(&records[&ip(base, 19)]);
    assert_eq!(object(short, 0x05), Some("2404267"));
    assert_eq!(object(short, 0x04), Some("AXC F 2152 (simulated)"));
    assert!(
        short.warnings[0].starts_with("object count says 2, the page holds 3"),
        "{:?}",
        short.warnings
    );
    assert_eq!(
        short.decoder,
        Some(scanner_core::protocols::modbus::Decoder::Tolerant)
    );

    let odd = &records[&ip(base, 17)];
    let d = modbus(odd);
    assert_eq!(odd.vendor.as_deref(), Some("Simulated Meters"));
    assert_eq!(
        d.decoder,
        Some(scanner_core::protocols::modbus::Decoder::Tolerant)
    );
    assert!(
        d.warnings.iter().any(|w| w.contains("0x04")),
        "{:?}",
        d.warnings
    );

    plant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_settings_send_only_read_only_identification_one_connection_at_a_time() {
    let base = Ipv4Addr::new(127, 62, 0, 0);
    let plant = Plant::start(PlantSpec::test_subnet(base, PORT)).unwrap();
    // Default pacing, timeouts and unit ids; only the port differs (tests avoid 502).
    let config = ScanConfig::builder()
        .targets(Targets::parse(["127.62.0.0/24"]).unwrap())
        .modbus(ModbusConfig {
            port: PORT,
            ..ModbusConfig::default()
        })
        .emit_all(true)
        .build()
        .unwrap();
    let interval = config.per_device_interval;
    let (records, summary) = scan(config).await;
    assert_eq!(records.len(), 256, "emit-all: one record per address");
    assert!(summary.done && summary.stopped.is_none());

    let frames = plant.recorder().frames();
    assert!(
        frames.len() > 40,
        "the plant was scanned ({} frames)",
        frames.len()
    );
    for frame in &frames {
        common::assert_read_only(frame, PORT, 0);
    }
    for device in plant.devices() {
        let addr = IpAddr::V4(device.spec.ip);
        let stats = plant.recorder().connection_stats(addr);
        assert!(stats.max_concurrent <= 1, "{}: {stats:?}", device.spec.name);
        let times: Vec<_> = plant
            .recorder()
            .frames_for(addr)
            .iter()
            .map(|f| f.at)
            .collect();
        for pair in times.windows(2) {
            let gap = pair[1].duration_since(pair[0]);
            // The recorder stamps frames on arrival; allow scheduling jitter of a few ms.
            assert!(
                gap + Duration::from_millis(5) >= interval,
                "{}: requests {gap:?} apart, interval {interval:?}",
                device.spec.name
            );
        }
    }

    // Hostile devices are bounded and recorded, not fatal.
    let looping = &records[&ip(base, 32)];
    assert!(modbus(looping).continuation_stopped);
    assert_eq!(looping.services[0].status, Status::Success);
    let endless = &records[&ip(base, 33)];
    let d = modbus(endless);
    assert!(d.continuation_stopped);
    assert!(
        endless.services[0].requests <= 3 * 8 + 3,
        "{}",
        endless.services[0].requests
    );
    let no_path = &records[&ip(base, 34)];
    assert_eq!(no_path.services[0].status, Status::ApplicationError);
    assert_eq!(modbus(no_path).units_tried.len(), 3);
    let latin1 = &records[&ip(base, 35)];
    let vendor = modbus(latin1).objects.iter().find(|o| o.id == 0).unwrap();
    assert_eq!(vendor.value.hex.as_deref(), Some("53696de920ff00476d6248"));
    let busy = &records[&ip(base, 36)];
    assert_eq!(busy.services[0].status, Status::ApplicationError);
    assert_eq!(modbus(busy).exception.as_ref().map(|e| e.code), Some(0x06));
    let silent = &records[&ip(base, 18)];
    assert!(!silent.responsive);
    assert_eq!(silent.services[0].status, Status::IoTimeout);
    let trailing = &records[&ip(base, 31)];
    assert_eq!(trailing.vendor.as_deref(), Some("Simulated Vendor"));
    let big = &records[&ip(base, 38)];
    assert_eq!(modbus(big).objects.len(), 7, "3 basic + 4 extended objects");

    plant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_device_costs_bounded_timeouts_and_the_deadline_flushes_records() {
    let base = Ipv4Addr::new(127, 63, 0, 0);
    let plant = Plant::start(PlantSpec::demo(base, PORT)).unwrap();
    let timeout = Duration::from_millis(400);
    let silent_only = fast_config("127.63.0.18")
        .timeout(timeout)
        .emit_all(true)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let (records, _) = scan(silent_only).await;
    let elapsed = started.elapsed();
    let r = &records[&ip(base, 18)];
    assert_eq!(r.services[0].status, Status::IoTimeout);
    // Two unit ids may go unanswered by default (devices that ignore 255 exist), no more.
    assert_eq!(modbus(r).units_tried.len(), 2);
    assert!(elapsed < timeout * 4, "silent device took {elapsed:?}");

    // A deadline shorter than the scan: nothing new starts after it, what finished is delivered.
    let slow = ScanConfig::builder()
        .targets(Targets::parse(["127.63.0.0/24"]).unwrap())
        .rate(Rate::per_second(50).unwrap())
        .modbus(ModbusConfig {
            port: PORT,
            ..ModbusConfig::default()
        })
        .max_duration(Duration::from_millis(700))
        .build()
        .unwrap();
    let (records, summary) = scan(slow).await;
    assert_eq!(summary.stopped, Some(scanner_core::StopReason::Deadline));
    assert!(
        summary.finished < 256,
        "stopped early: {}",
        summary.finished
    );
    assert!(
        summary.requests_sent <= 50,
        "paced: {}",
        summary.requests_sent
    );
    for r in records.values() {
        assert!(r.responsive);
    }
    plant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exclusions_are_never_contacted_and_dropping_the_stream_stops_the_scan() {
    let base = Ipv4Addr::new(127, 64, 0, 0);
    let plant = Plant::start(PlantSpec::demo(base, PORT)).unwrap();
    let config = fast_config("127.64.0.0/24")
        .targets(
            Targets::parse(["127.64.0.0/24"])
                .unwrap()
                .exclude("127.64.0.10-127.64.0.12")
                .unwrap(),
        )
        .build()
        .unwrap();
    let (records, summary) = scan(config).await;
    assert_eq!(summary.planned, 253);
    for h in 10..=12 {
        assert!(!records.contains_key(&ip(base, h)));
        assert!(plant.recorder().frames_for(ip(base, h)).is_empty());
        assert_eq!(plant.recorder().connection_stats(ip(base, h)).accepted, 0);
    }
    assert!(records.contains_key(&ip(base, 13)));

    // Drop the stream after the first record: the scan stops sending.
    plant.recorder().clear();
    let mut scan = Scanner::new(
        fast_config("127.64.0.0/24")
            .rate(Rate::per_second(40).unwrap())
            .build()
            .unwrap(),
    )
    .scan();
    let progress = scan.progress();
    let _first = scan.next().await;
    drop(scan);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let sent = progress.borrow().requests_sent;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        progress.borrow().requests_sent,
        sent,
        "nothing sent after the drop"
    );
    assert!(progress.borrow().done);
    plant.shutdown().await;
}

/// A serial gateway with nothing behind it answers exception 0x0B to every unit id. Asked
/// about 1-247, it proves a Modbus stack long before otscan's per-device request cap (64)
/// runs out: the record is responsive, `application-error`, with every unit tried, and the
/// cap that cut the walk short is a warning, not an `unknown-error`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_refuses_every_unit_is_responsive_when_the_budget_runs_out() {
    use protocol_fixtures::{DeviceSpec, ModbusDeviceConfig, OtherUnitIds, UnitIdPolicy};
    let base = Ipv4Addr::new(127, 97, 0, 0);
    let mut spec = PlantSpec::default();
    spec.devices.push(
        DeviceSpec::new(Ipv4Addr::new(127, 97, 0, 9), "empty-gateway").with_modbus(
            PORT,
            ModbusDeviceConfig::new("Gateways Inc.", "GW-8", "1.0")
                .with_unit_ids(UnitIdPolicy::only([], OtherUnitIds::GatewayTargetFailed)),
        ),
    );
    let plant = Plant::start(spec).unwrap();
    let config = fast_config("127.97.0.9")
        .modbus(ModbusConfig {
            port: PORT,
            unit_ids: (1..=247).collect(),
            ..ModbusConfig::default()
        })
        .build()
        .unwrap();
    let (records, _) = scan(config).await;
    plant.shutdown().await;
    let record = &records[&ip(base, 9)];
    assert!(record.responsive, "{record:?}");
    let service = &record.services[0];
    assert_eq!(service.status, Status::ApplicationError, "{service:?}");
    assert_eq!(
        service.requests, 64,
        "the per-device cap, connection included"
    );
    assert!(
        service
            .error
            .as_deref()
            .is_some_and(|e| e.contains("gateway-target-failed-to-respond")),
        "{service:?}"
    );
    let d = modbus(record);
    // One connection and 63 requests answered with 0x0B, then the cap refused the 64th unit.
    assert_eq!(d.units_tried.len(), 64, "{:?}", units(d));
    assert!(units(d)[..63]
        .iter()
        .all(|(_, outcome)| *outcome == "gateway-target-failed-to-respond"));
    assert_eq!(units(d)[63], (64, "budget-exhausted"));
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("per-device request budget of 64 used up")),
        "{:?}",
        d.warnings
    );
}
