//! A /24 made only of hostile and fragile devices (`PlantSpec::hostile`), scanned with every
//! probe under the default pacing profile: the scan must end within a bound computed from the
//! configuration, give a record with a status for every address, never panic, write valid
//! NDJSON, send only read-only requests, and never hit a fragile device with a second
//! connection or with packets closer together than the per-device interval.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use futures::StreamExt;

mod common;
use protocol_fixtures::hostile::PACING_SENSITIVE_GAP;
use protocol_fixtures::{
    DeviceSpec, HostileBehaviour, Plant, PlantPorts, PlantSpec, Transport as FixtureTransport,
};
use scanner_core::config::Rate;
use scanner_core::output::{self, Format, OutputMeta};
use scanner_core::protocols::ads::MAX_REPLY_LEN as ADS_CAP;
use scanner_core::protocols::bacnet::MAX_REPLY_LEN as BACNET_CAP;
use scanner_core::protocols::codesys::MAX_REPLY_LEN as CODESYS_CAP;
use scanner_core::protocols::enip::{EnipConfig, EnipTransport, MAX_REPLY_LEN as ENIP_CAP};
use scanner_core::protocols::fins::{FinsConfig, FinsTransport, MAX_REPLY_LEN as FINS_CAP};
use scanner_core::protocols::fox::{MAX_REPLY_LEN as FOX_CAP, MAX_TUPLES as FOX_MAX_TUPLES};
use scanner_core::protocols::hart::MAX_SUB_DEVICES as HART_MAX_SUB_DEVICES;
use scanner_core::protocols::knx::MAX_REPLY_LEN as KNX_CAP;
use scanner_core::protocols::melsec::MAX_REPLY_LEN as MELSEC_CAP;
use scanner_core::protocols::profinet::MAX_REPLY_LEN as PROFINET_CAP;
use scanner_core::protocols::snmp::MAX_REPLY_LEN as SNMP_CAP;
use scanner_core::record::{ServiceDetails, Transport};
use scanner_core::{AssetRecord, Protocol, ScanConfig, Scanner, Status, Targets};

const BASE: Ipv4Addr = Ipv4Addr::new(127, 87, 0, 0);
const SUBNET: &str = "127.87.0.0/24";
const PORTS: PlantPorts = PlantPorts::block(20128);
/// Connect and read timeout: shorter than the default 2 s so the test is quick, still far longer
/// than any loopback reply takes, and shorter than the slow drip's one byte per second.
const TIMEOUT: Duration = Duration::from_millis(500);
/// `DeviceSession::close` waits at most this long for its FIN to go out.
const ENGINE_CLOSE_TIMEOUT: Duration = Duration::from_millis(500);
/// Room for the runtime, the fixtures and the machine (2 cores, other tests running).
const SLACK: Duration = Duration::from_secs(3);

fn config() -> ScanConfig {
    // Default rate, per-device interval, concurrency, retries and request cap; every
    // probe, in the default order.
    let builder = ScanConfig::builder()
        .targets(Targets::parse([SUBNET]).unwrap())
        .timeout(TIMEOUT)
        .emit_all(true)
        // Every probe, the ones off by default (the banner probes) included.
        .probes(Protocol::ALL.iter().copied())
        .enip(EnipConfig {
            transport: EnipTransport::Both,
            ..EnipConfig::default()
        })
        .fins(FinsConfig {
            transport: FinsTransport::Both,
            ..FinsConfig::default()
        });
    common::at_plant_ports(builder, PORTS).build().unwrap()
}

/// Whether `device` runs anything on the port `probe` uses: a well-behaved server, or a
/// hostile service on that port and one of the transports the probe uses in `config`.
fn listens(config: &ScanConfig, device: Option<&DeviceSpec>, probe: Protocol) -> bool {
    let Some(d) = device else { return false };
    let port = PORTS
        .get(probe.name())
        .expect("a plant port for every protocol");
    let transports = config.protocols.transports(probe);
    d.serves(probe.name())
        || d.hostile.iter().any(|h| {
            h.port == port
                && transports.iter().any(|t| match t {
                    Transport::Tcp => h.transport == FixtureTransport::Tcp,
                    Transport::Udp => h.transport == FixtureTransport::Udp,
                    // No probe runs on layer 2 (only `discover --profinet` does).
                    Transport::Ethernet => false,
                })
        })
}

/// Most requests (connection attempts included) the scan can send to `ip`: the configured
/// maximum for each probe whose port is served there, and for a closed port the fewest a
/// silent device gets, which is more than a refusal costs (one attempt per transport).
fn request_cap(config: &ScanConfig, spec: &PlantSpec, ip: IpAddr) -> u64 {
    let device = spec.devices.iter().find(|d| IpAddr::V4(d.ip) == ip);
    let per_probe: u64 = config
        .probes
        .iter()
        .map(|&probe| {
            let mut alone = config.clone();
            alone.probes = vec![probe];
            if listens(config, device, probe) {
                alone.max_requests_for_device()
            } else {
                alone.min_requests_for_device()
            }
        })
        .sum();
    per_probe.min(u64::from(config.max_requests_per_device))
}

/// The longest the scan may take, from the configuration alone.
///
/// Every request (connection attempts count) first waits for the per-device interval `I`, then
/// at most for the connect or read timeout `T`, and may cost one close of at most `F` (the
/// engine's FIN timeout): `c = I + max(Tc, Tr) + F`. A device `d` whose request cap is `R(d)`
/// (see [`request_cap`]; UDP retries are in it) so takes at most `W(d) = R(d) * c` of its own
/// time. Devices run `C` at a time in target order, a greedy list schedule, so their own time
/// adds up to at most `sum W / C + max W` (Graham's bound). On top of that, time spent waiting
/// for the global limiter is at most the time the limiter needs to hand out every request,
/// `sum R / rate`. Hence
///
/// `bound = sum R / rate + sum W / C + max W + slack`.
fn time_bound(config: &ScanConfig, spec: &PlantSpec) -> Duration {
    let per_request = config.per_device_interval
        + config.connect_timeout.max(config.read_timeout)
        + ENGINE_CLOSE_TIMEOUT;
    let caps: Vec<u64> = config
        .targets
        .iter()
        .map(|t| request_cap(config, spec, t.ip))
        .collect();
    let total: u64 = caps.iter().sum();
    let largest = caps.iter().copied().max().unwrap_or(0);
    let Rate::PerSecond(rate) = config.rate else {
        panic!("the default profile has a rate")
    };
    let limiter = Duration::from_secs_f64(total as f64 / f64::from(rate.get()));
    let concurrency = config.concurrency.get() as u32;
    let own = per_request * u32::try_from(total).unwrap() / concurrency;
    let longest = per_request * u32::try_from(largest).unwrap();
    limiter + own + longest + SLACK
}

/// A device by name, and the statuses each of its hostile services may end with.
type Expected<'a> = (&'a str, Vec<((Protocol, Transport), &'a [Status])>);

fn service(record: &AssetRecord, protocol: Protocol, transport: Transport) -> Status {
    record
        .services
        .iter()
        .find(|s| s.protocol == protocol && s.transport == transport)
        .unwrap_or_else(|| panic!("{}: no {protocol:?}/{transport:?} service", record.ip))
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_slash_24_is_scanned_safely_and_in_bounded_time() {
    let spec = PlantSpec::hostile(BASE, PORTS);
    let plant = Plant::start(spec.clone()).unwrap();
    let config = config();
    let bound = time_bound(&config, &spec);
    let interval = config.per_device_interval;

    let started = Instant::now();
    let mut scan = Scanner::new(config.clone()).scan();
    let progress = scan.progress();
    let mut records = BTreeMap::new();
    // What the CLI would write, in every output format.
    let mut ndjson: Vec<(Format, Vec<u8>)> = Format::ALL.map(|f| (f, Vec::new())).to_vec();
    let meta = OutputMeta::default();
    let collect = async {
        while let Some(record) = scan.next().await {
            for (format, out) in &mut ndjson {
                output::write_record(out, &record, *format, &meta).unwrap();
            }
            assert!(
                records.insert(record.ip, record).is_none(),
                "one record per device"
            );
        }
    };
    // A hang fails the test instead of stalling the suite.
    tokio::time::timeout(bound + Duration::from_secs(30), collect)
        .await
        .unwrap_or_else(|_| panic!("the scan did not end within {bound:?} + 30 s"));
    let elapsed = started.elapsed();
    eprintln!("hostile /24: {elapsed:?} (bound {bound:?})");
    assert!(elapsed <= bound, "took {elapsed:?}, bound {bound:?}");

    // No panic anywhere: every target finished and was delivered.
    let summary = progress.borrow().clone();
    assert!(summary.done);
    assert_eq!(summary.stopped, None);
    assert_eq!(
        (summary.planned, summary.finished, summary.emitted),
        (256, 256, 256)
    );

    // Valid NDJSON in every format: one JSON object per line, and native lines parse back
    // into the records they came from.
    for (format, bytes) in &ndjson {
        let text = std::str::from_utf8(bytes).unwrap();
        assert!(text.ends_with('\n'));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 256, "{format}");
        for line in lines {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(value.is_object(), "{format}: {line}");
            if *format == Format::Native {
                let back: AssetRecord = serde_json::from_str(line).unwrap();
                assert_eq!(records[&back.ip], back);
            }
        }
    }

    // A status for every probe and transport of every address, in probe order (the
    // registry's, EtherNet/IP over TCP then UDP).
    let every_kind: Vec<_> = config
        .probes
        .iter()
        .flat_map(|&p| config.protocols.transports(p).iter().map(move |&t| (p, t)))
        .collect();
    assert!(every_kind.contains(&(Protocol::Enip, Transport::Udp)));
    for record in records.values() {
        let kinds: Vec<_> = record
            .services
            .iter()
            .map(|s| (s.protocol, s.transport))
            .collect();
        assert_eq!(kinds, every_kind, "{}", record.ip);
        assert!(record.services.iter().all(|s| s.status != Status::Stopped));
    }

    let by_name = |name: &str| {
        let d = spec
            .device(name)
            .unwrap_or_else(|| panic!("no device {name}"));
        &records[&IpAddr::V4(d.ip)]
    };
    // Each hostile service ends with the status its behaviour deserves; every other port of
    // every address is closed. No hostile device gets itself identified, except those whose
    // reply is valid underneath the abuse.
    use Status::{
        ApplicationError as AppErr, ConnectionClosed as Closed, IoTimeout as Timeout,
        ProtocolError as Proto, Success as Ok_,
    };
    const MODBUS: (Protocol, Transport) = (Protocol::Modbus, Transport::Tcp);
    const ENIP_TCP: (Protocol, Transport) = (Protocol::Enip, Transport::Tcp);
    const ENIP_UDP: (Protocol, Transport) = (Protocol::Enip, Transport::Udp);
    const SNMP: (Protocol, Transport) = (Protocol::Snmp, Transport::Udp);
    const BACNET: (Protocol, Transport) = (Protocol::Bacnet, Transport::Udp);
    const MELSEC_TCP: (Protocol, Transport) = (Protocol::Melsec, Transport::Tcp);
    const MELSEC_UDP: (Protocol, Transport) = (Protocol::Melsec, Transport::Udp);
    const S7: (Protocol, Transport) = (Protocol::S7, Transport::Tcp);
    const FINS_UDP: (Protocol, Transport) = (Protocol::Fins, Transport::Udp);
    const FINS_TCP: (Protocol, Transport) = (Protocol::Fins, Transport::Tcp);
    const FOX: (Protocol, Transport) = (Protocol::Fox, Transport::Tcp);
    const OPCUA: (Protocol, Transport) = (Protocol::Opcua, Transport::Tcp);
    const KNX: (Protocol, Transport) = (Protocol::Knx, Transport::Udp);
    const ADS: (Protocol, Transport) = (Protocol::Ads, Transport::Udp);
    const HART: (Protocol, Transport) = (Protocol::Hart, Transport::Tcp);
    const PN: (Protocol, Transport) = (Protocol::Profinet, Transport::Udp);
    const CODESYS: (Protocol, Transport) = (Protocol::Codesys, Transport::Udp);
    const SSH: (Protocol, Transport) = (Protocol::Ssh, Transport::Tcp);
    const FTP: (Protocol, Transport) = (Protocol::Ftp, Transport::Tcp);
    const TELNET: (Protocol, Transport) = (Protocol::Telnet, Transport::Tcp);
    const HTTP: (Protocol, Transport) = (Protocol::Http, Transport::Tcp);
    const HTTPS: (Protocol, Transport) = (Protocol::Https, Transport::Tcp);
    // Garbage is a fixed byte sequence, but which reading of it a parser stops at is the
    // parser's business: either way it is not an identification.
    let garbage: &[Status] = &[Proto, Timeout];
    // A reset that reaches the socket before `connect` returns comes out of it as
    // ECONNRESET, which the engine reports as unknown-error rather than connection-closed
    // (engine.rs `DeviceSession::connect` maps only ECONNREFUSED); after it, as closed.
    // A reset before or right after connect returns is a closed connection.
    let reset: &[Status] = &[Closed];
    // Unit 255 times out with half a reply read; the engine keeps those bytes, so the late
    // reply completes, is skipped as stale by its transaction id, and unit 0 succeeds.
    let stalled: &[Status] = &[Ok_];
    let expected: Vec<Expected<'_>> = vec![
        ("modbus-silent", vec![(MODBUS, &[Timeout])]),
        ("modbus-slow-drip", vec![(MODBUS, &[Timeout])]),
        ("modbus-endless-stream", vec![(MODBUS, &[Proto])]),
        ("modbus-close-mid-reply", vec![(MODBUS, &[Closed])]),
        ("modbus-reset-after-connect", vec![(MODBUS, reset)]),
        ("modbus-huge-length", vec![(MODBUS, &[Proto])]),
        ("modbus-more-than-declared", vec![(MODBUS, &[Ok_])]),
        ("modbus-wrong-transaction-id", vec![(MODBUS, &[Timeout])]),
        ("modbus-wrong-function", vec![(MODBUS, &[Proto])]),
        ("modbus-garbage", vec![(MODBUS, garbage)]),
        ("modbus-looping-continuation", vec![(MODBUS, &[Ok_])]),
        ("modbus-endless-continuation", vec![(MODBUS, &[Ok_])]),
        ("modbus-echo", vec![(MODBUS, &[Proto])]),
        ("modbus-stall-mid-reply", vec![(MODBUS, stalled)]),
        ("modbus-desync-after-exception", vec![(MODBUS, &[Ok_])]),
        (
            "enip-silent",
            vec![(ENIP_TCP, &[Timeout]), (ENIP_UDP, &[Timeout])],
        ),
        ("enip-slow-drip", vec![(ENIP_TCP, &[Timeout])]),
        ("enip-endless-stream", vec![(ENIP_TCP, &[Proto])]),
        (
            "enip-close-mid-reply",
            vec![(ENIP_TCP, &[Closed]), (ENIP_UDP, &[Proto])],
        ),
        ("enip-reset-after-connect", vec![(ENIP_TCP, reset)]),
        (
            "enip-huge-length",
            vec![(ENIP_TCP, &[Proto]), (ENIP_UDP, &[Proto])],
        ),
        (
            "enip-more-than-declared",
            vec![(ENIP_TCP, &[Ok_]), (ENIP_UDP, &[Ok_])],
        ),
        (
            "enip-wrong-context",
            vec![(ENIP_TCP, &[Timeout]), (ENIP_UDP, &[Timeout])],
        ),
        (
            "enip-wrong-command",
            vec![(ENIP_TCP, &[Proto]), (ENIP_UDP, &[Proto])],
        ),
        (
            "enip-garbage",
            vec![(ENIP_TCP, garbage), (ENIP_UDP, garbage)],
        ),
        (
            "enip-item-count-65535",
            vec![(ENIP_TCP, &[Proto]), (ENIP_UDP, &[Proto])],
        ),
        ("enip-oversized-datagram", vec![(ENIP_UDP, &[Proto])]),
        ("enip-reply-from-other-port", vec![(ENIP_UDP, &[Timeout])]),
        (
            "enip-reply-from-other-address",
            vec![(ENIP_UDP, &[Timeout])],
        ),
        ("enip-udp-flood", vec![(ENIP_UDP, &[Timeout])]),
        (
            "enip-echo",
            vec![(ENIP_TCP, &[Proto]), (ENIP_UDP, &[Proto])],
        ),
        ("snmp-silent", vec![(SNMP, &[Timeout])]),
        // A reply that cannot be decoded answers no request: as good as silence.
        ("snmp-huge-length", vec![(SNMP, &[Timeout])]),
        ("snmp-more-than-declared", vec![(SNMP, &[Ok_])]),
        ("snmp-wrong-request-id", vec![(SNMP, &[Timeout])]),
        ("snmp-wrong-pdu", vec![(SNMP, &[Timeout])]),
        ("snmp-garbage", vec![(SNMP, garbage)]),
        ("snmp-deep-nesting", vec![(SNMP, &[Ok_])]),
        ("snmp-huge-integers", vec![(SNMP, &[AppErr])]),
        ("snmp-huge-oids", vec![(SNMP, &[Timeout])]),
        ("snmp-oversized-datagram", vec![(SNMP, &[Proto])]),
        ("snmp-reply-from-other-port", vec![(SNMP, &[Timeout])]),
        ("snmp-reply-from-other-address", vec![(SNMP, &[Timeout])]),
        ("snmp-flood", vec![(SNMP, &[Timeout])]),
        ("snmp-truncated-datagram", vec![(SNMP, &[Timeout])]),
        ("snmp-echo", vec![(SNMP, &[Timeout])]),
        ("bacnet-silent", vec![(BACNET, &[Timeout])]),
        ("bacnet-truncated-datagram", vec![(BACNET, &[Proto])]),
        ("bacnet-huge-length", vec![(BACNET, &[Proto])]),
        ("bacnet-more-than-declared", vec![(BACNET, &[Ok_])]),
        ("bacnet-wrong-invoke-id", vec![(BACNET, &[Timeout])]),
        // A SimpleACK for WriteProperty answers no read.
        ("bacnet-wrong-kind", vec![(BACNET, &[Proto])]),
        ("bacnet-garbage", vec![(BACNET, garbage)]),
        // Our own request echoed back is a request, never taken for an answer.
        ("bacnet-echo", vec![(BACNET, &[Timeout])]),
        ("bacnet-oversized-datagram", vec![(BACNET, &[Proto])]),
        ("bacnet-reply-from-other-port", vec![(BACNET, &[Timeout])]),
        (
            "bacnet-reply-from-other-address",
            vec![(BACNET, &[Timeout])],
        ),
        ("bacnet-flood", vec![(BACNET, &[Timeout])]),
        ("bacnet-deep-nesting", vec![(BACNET, &[Proto])]),
        ("bacnet-huge-tag-length", vec![(BACNET, &[Proto])]),
        ("s7-silent", vec![(S7, &[Timeout])]),
        ("s7-slow-drip", vec![(S7, &[Timeout])]),
        ("s7-endless-stream", vec![(S7, &[Proto])]),
        // Half a Connection Confirm and a FIN, on every TSAP: nothing proves S7.
        ("s7-close-mid-reply", vec![(S7, &[Closed])]),
        ("s7-reset-after-connect", vec![(S7, reset)]),
        ("s7-huge-length", vec![(S7, &[Proto])]),
        // Bytes after the Connection Confirm put the stream out of step: the setup reply
        // cannot be framed.
        ("s7-more-than-declared", vec![(S7, &[Proto])]),
        // The TSAP is confirmed, but no S7 reply ever answers: a timeout, not a refusal.
        ("s7-wrong-pdu-ref", vec![(S7, &[Timeout])]),
        ("s7-wrong-kind", vec![(S7, &[Proto])]),
        ("s7-garbage", vec![(S7, garbage)]),
        ("s7-echo", vec![(S7, &[Proto])]),
        // Every TSAP gets a new connection, whose first reply stalls past the timeout.
        ("s7-stall-mid-reply", vec![(S7, &[Timeout])]),
        // Lying record counts and lengths: the records present are decoded.
        ("s7-szl-lying-counts", vec![(S7, &[Ok_])]),
        ("s7-cotp-then-silence", vec![(S7, &[Timeout])]),
        ("fox-silent", vec![(FOX, &[Timeout])]),
        ("fox-slow-drip", vec![(FOX, &[Timeout])]),
        // Whole messages answering another request: the first is refused at once.
        ("fox-endless-stream", vec![(FOX, &[Proto])]),
        ("fox-close-mid-reply", vec![(FOX, &[Closed])]),
        ("fox-reset-after-connect", vec![(FOX, reset)]),
        ("fox-huge-length", vec![(FOX, &[Proto])]),
        // Bytes after `};;` are not read: the hello reply before them is whole.
        ("fox-more-than-declared", vec![(FOX, &[Ok_])]),
        ("fox-other-request", vec![(FOX, &[Proto])]),
        ("fox-wrong-kind", vec![(FOX, &[Proto])]),
        ("fox-garbage", vec![(FOX, garbage)]),
        ("fox-echo", vec![(FOX, &[Proto])]),
        // Never `};;`: cut at the 32 KiB cap.
        ("fox-never-ends", vec![(FOX, &[Proto])]),
        ("fox-huge-line", vec![(FOX, &[Proto])]),
        // Whole and under the cap: the first 128 tuples kept, the rest counted.
        ("fox-thousands-of-keys", vec![(FOX, &[Ok_])]),
        ("fox-error-reply", vec![(FOX, &[AppErr])]),
        ("fox-stall-mid-reply", vec![(FOX, &[Timeout])]),
        ("knx-silent", vec![(KNX, &[Timeout])]),
        // Half a description response: a DIB cut short.
        ("knx-close-mid-reply", vec![(KNX, &[Proto])]),
        ("knx-huge-length", vec![(KNX, &[Proto])]),
        // Bytes after the total length are a warning; the DIBs before them are whole.
        ("knx-more-than-declared", vec![(KNX, &[Ok_])]),
        ("knx-routing-indication", vec![(KNX, &[Proto])]),
        ("knx-connect-response", vec![(KNX, &[Proto])]),
        ("knx-garbage", vec![(KNX, garbage)]),
        // Our own DESCRIPTION_REQUEST back is skipped: no answer.
        ("knx-echo", vec![(KNX, &[Timeout])]),
        ("knx-oversized-datagram", vec![(KNX, &[Proto])]),
        ("knx-reply-from-other-port", vec![(KNX, &[Timeout])]),
        ("knx-reply-from-other-address", vec![(KNX, &[Timeout])]),
        // Routing indications and garbage: the first routing indication is not an answer.
        ("knx-flood", vec![(KNX, &[Proto, Timeout])]),
        (
            "melsec-silent",
            vec![(MELSEC_TCP, &[Timeout]), (MELSEC_UDP, &[Timeout])],
        ),
        ("melsec-slow-drip", vec![(MELSEC_TCP, &[Timeout])]),
        // Replies for another route, without end: framed, skipped, and cut off.
        ("melsec-endless-stream", vec![(MELSEC_TCP, &[Proto])]),
        (
            "melsec-close-mid-reply",
            vec![(MELSEC_TCP, &[Closed]), (MELSEC_UDP, &[Proto])],
        ),
        ("melsec-reset-after-connect", vec![(MELSEC_TCP, reset)]),
        (
            "melsec-huge-length",
            vec![(MELSEC_TCP, &[Proto]), (MELSEC_UDP, &[Proto])],
        ),
        (
            "melsec-more-than-declared",
            vec![(MELSEC_TCP, &[Ok_]), (MELSEC_UDP, &[Ok_])],
        ),
        // TCP: a reply for another route is skipped as another request's, then silence.
        // UDP: the datagram is a 3E response, so its wrong route is a protocol error.
        (
            "melsec-other-route",
            vec![(MELSEC_TCP, &[Timeout]), (MELSEC_UDP, &[Proto])],
        ),
        // A 4E subheader cannot frame a 3E reply; a UDP datagram without D0 00 is no answer.
        (
            "melsec-4e-subheader",
            vec![(MELSEC_TCP, &[Proto]), (MELSEC_UDP, &[Timeout])],
        ),
        (
            "melsec-garbage",
            vec![(MELSEC_TCP, garbage), (MELSEC_UDP, garbage)],
        ),
        // Our own request back: a protocol error on TCP, no answer on UDP.
        (
            "melsec-echo",
            vec![(MELSEC_TCP, &[Proto]), (MELSEC_UDP, &[Timeout])],
        ),
        (
            "melsec-end-code-c05c",
            vec![(MELSEC_TCP, &[AppErr]), (MELSEC_UDP, &[AppErr])],
        ),
        ("melsec-oversized-datagram", vec![(MELSEC_UDP, &[Proto])]),
        // Replies for other routes and garbage: the first 3E one is a wrong route.
        ("melsec-udp-flood", vec![(MELSEC_UDP, &[Proto, Timeout])]),
        ("ads-silent", vec![(ADS, &[Timeout])]),
        // Half the reply: the OS version tag runs past the end.
        ("ads-truncated-datagram", vec![(ADS, &[Proto])]),
        ("ads-huge-tag-length", vec![(ADS, &[Proto])]),
        // Tag count 1: the host name is read, the bytes after it are a warning.
        ("ads-more-than-declared", vec![(ADS, &[Ok_])]),
        ("ads-wrong-invoke-id", vec![(ADS, &[Timeout])]),
        // An AddRoute reply does not answer Identify: skipped until the timeout.
        ("ads-add-route-reply", vec![(ADS, &[Timeout])]),
        ("ads-garbage", vec![(ADS, garbage)]),
        // Our own request echoed back is a request (no reply bit), never an answer.
        ("ads-echo", vec![(ADS, &[Timeout])]),
        ("ads-oversized-datagram", vec![(ADS, &[Proto])]),
        ("ads-reply-from-other-port", vec![(ADS, &[Timeout])]),
        ("ads-reply-from-other-address", vec![(ADS, &[Timeout])]),
        ("ads-flood", vec![(ADS, &[Proto, Timeout])]),
        ("profinet-silent", vec![(PN, &[Timeout])]),
        // Half the reply: the annotation runs past the end.
        ("profinet-truncated-datagram", vec![(PN, &[Proto])]),
        ("profinet-huge-entry-count", vec![(PN, &[Proto])]),
        ("profinet-wrong-activity", vec![(PN, &[Timeout])]),
        // A reject for the right activity: the device speaks DCE/RPC and refused.
        ("profinet-reject", vec![(PN, &[AppErr])]),
        ("profinet-garbage", vec![(PN, garbage)]),
        ("profinet-oversized-datagram", vec![(PN, &[Proto])]),
        ("profinet-reply-from-other-port", vec![(PN, &[Timeout])]),
        ("profinet-flood", vec![(PN, &[Proto, Timeout])]),
        // More fragments announced: not reassembled, a protocol error.
        ("profinet-fragment", vec![(PN, &[Proto])]),
        ("profinet-wrong-sequence", vec![(PN, &[Timeout])]),
        // 64 letters: read by the columns, with warnings.
        ("profinet-unpadded-annotation", vec![(PN, &[Ok_])]),
        ("codesys-silent", vec![(CODESYS, &[Timeout])]),
        // Half the reply: the names run past the end.
        ("codesys-truncated-datagram", vec![(CODESYS, &[Proto])]),
        ("codesys-lying-name-length", vec![(CODESYS, &[Proto])]),
        // Another request id is another request's answer: skipped until the timeout.
        ("codesys-wrong-request-id", vec![(CODESYS, &[Timeout])]),
        ("codesys-address-reply", vec![(CODESYS, &[Timeout])]),
        ("codesys-garbage", vec![(CODESYS, garbage)]),
        // Our own request (service 0x03) is never an answer.
        ("codesys-echo", vec![(CODESYS, &[Timeout])]),
        ("codesys-oversized-datagram", vec![(CODESYS, &[Proto])]),
        ("codesys-reply-from-other-port", vec![(CODESYS, &[Timeout])]),
        (
            "codesys-reply-from-other-address",
            vec![(CODESYS, &[Timeout])],
        ),
        ("codesys-flood", vec![(CODESYS, &[Proto, Timeout])]),
        // An identification string without a line end is read when the timeout ends the
        // wait (a warning says so).
        ("ssh-no-newline", vec![(SSH, &[Ok_])]),
        // Lines forever, none an identification: the line cap (or the size cap) ends it.
        ("ssh-endless-banner", vec![(SSH, &[Proto])]),
        ("ssh-silent", vec![(SSH, &[Timeout])]),
        ("ssh-garbage", vec![(SSH, garbage)]),
        ("ssh-huge-line", vec![(SSH, &[Proto])]),
        ("ftp-no-newline", vec![(FTP, &[Ok_])]),
        // 220- lines forever: the line cap ends it.
        ("ftp-endless-multiline", vec![(FTP, &[Proto])]),
        ("ftp-silent", vec![(FTP, &[Timeout])]),
        ("ftp-garbage", vec![(FTP, garbage)]),
        // The close comes before the last line: the greeting is not whole.
        ("ftp-close-mid-greeting", vec![(FTP, &[Closed])]),
        // Two options refused once; the repeats are not answered again; the size cap
        // ends the read (a warning says so).
        ("telnet-negotiation-flood", vec![(TELNET, &[Ok_])]),
        ("telnet-silent", vec![(TELNET, &[Timeout])]),
        ("telnet-garbage", vec![(TELNET, &[Proto])]),
        // Text, then quiet until the deadline: the banner is whole.
        ("telnet-no-prompt", vec![(TELNET, &[Ok_])]),
        ("telnet-endless-banner", vec![(TELNET, &[Ok_])]),
        // Each option refused once, in rounds up to the cap.
        ("telnet-every-option", vec![(TELNET, &[Ok_])]),
        // More than 64 headers: httparse refuses.
        ("http-endless-headers", vec![(HTTP, &[Proto])]),
        // The body cap ends the read; the title is kept with a warning.
        ("http-title-never-closed", vec![(HTTP, &[Ok_])]),
        ("http-10mb-body", vec![(HTTP, &[Ok_])]),
        // Redirects to the same page and to another host: recorded, not followed.
        ("http-redirect-loop", vec![(HTTP, &[Ok_])]),
        ("http-redirect-elsewhere", vec![(HTTP, &[Ok_])]),
        ("http-slow-drip", vec![(HTTP, &[Timeout])]),
        ("http-garbage", vec![(HTTP, garbage)]),
        // A ServerHello, then nothing: the handshake times out (or rustls refuses the
        // hello and the legacy reader times out).
        (
            "https-stall-mid-handshake",
            vec![(HTTPS, &[Timeout, Proto])],
        ),
        // Not TLS, an alert, plain HTTP: the handshake fails, the legacy reader too.
        ("https-garbage", vec![(HTTPS, garbage)]),
        ("https-alert", vec![(HTTPS, &[Proto])]),
        ("https-plain-http", vec![(HTTPS, &[Proto])]),
        (
            "fins-silent",
            vec![(FINS_UDP, &[Timeout]), (FINS_TCP, &[Timeout])],
        ),
        ("fins-slow-drip", vec![(FINS_TCP, &[Timeout])]),
        // Node address replies without end: the first answers the node request, the next
        // one comes where the frame's answer should.
        ("fins-endless-stream", vec![(FINS_TCP, &[Proto])]),
        // FINS datagrams carry no length: half a reply still holds the model and most of
        // the version (a warning says so). Half a node address reply and a FIN: closed.
        (
            "fins-close-mid-reply",
            vec![(FINS_UDP, &[Ok_]), (FINS_TCP, &[Closed])],
        ),
        ("fins-reset-after-connect", vec![(FINS_TCP, reset)]),
        ("fins-huge-length", vec![(FINS_TCP, &[Proto])]),
        // Bytes after the node address reply put the stream out of step; after a datagram
        // they are a warning.
        (
            "fins-more-than-declared",
            vec![(FINS_UDP, &[Ok_]), (FINS_TCP, &[Proto])],
        ),
        (
            "fins-wrong-sid",
            vec![(FINS_UDP, &[Timeout]), (FINS_TCP, &[Timeout])],
        ),
        // A RUN response is never taken for Controller Data Read's.
        (
            "fins-wrong-command",
            vec![(FINS_UDP, &[Proto]), (FINS_TCP, &[Proto])],
        ),
        (
            "fins-garbage",
            vec![(FINS_UDP, garbage), (FINS_TCP, garbage)],
        ),
        // Our datagram echoed is a command, not a response; our node address request
        // echoed on TCP is a command no server sends.
        (
            "fins-echo",
            vec![(FINS_UDP, &[Timeout]), (FINS_TCP, &[Proto])],
        ),
        ("fins-oversized-datagram", vec![(FINS_UDP, &[Proto])]),
        ("fins-reply-from-other-port", vec![(FINS_UDP, &[Timeout])]),
        ("fins-udp-flood", vec![(FINS_UDP, &[Timeout])]),
        ("fins-stall-mid-reply", vec![(FINS_TCP, &[Timeout])]),
        (
            "fins-no-free-node",
            vec![(FINS_UDP, &[AppErr]), (FINS_TCP, &[AppErr])],
        ),
        ("opcua-silent", vec![(OPCUA, &[Timeout])]),
        ("opcua-slow-drip", vec![(OPCUA, &[Timeout])]),
        // ACKs (which carry no request id) answer the Hello; the next ACK is no channel.
        ("opcua-endless-stream", vec![(OPCUA, &[Proto])]),
        ("opcua-close-mid-reply", vec![(OPCUA, &[Closed])]),
        ("opcua-reset-after-connect", vec![(OPCUA, reset)]),
        ("opcua-huge-length", vec![(OPCUA, &[Proto])]),
        // Bytes after the Acknowledge put the stream out of step.
        ("opcua-more-than-declared", vec![(OPCUA, &[Proto])]),
        // The channel reply names another request id: skipped, then nothing answers.
        ("opcua-wrong-request-id", vec![(OPCUA, &[Timeout])]),
        // An ACK where the OpenSecureChannelResponse belongs.
        ("opcua-wrong-kind", vec![(OPCUA, &[Proto])]),
        ("opcua-garbage", vec![(OPCUA, garbage)]),
        ("opcua-echo", vec![(OPCUA, &[Proto])]),
        ("opcua-stall-mid-reply", vec![(OPCUA, &[Timeout])]),
        ("opcua-endpoint-count-2-pow-31", vec![(OPCUA, &[Proto])]),
        // An Error message proves OPC UA: the status code is named.
        ("opcua-error-reply", vec![(OPCUA, &[AppErr])]),
        ("hart-stalled-session-initiate", vec![(HART, &[Timeout])]),
        ("hart-slow-drip", vec![(HART, &[Timeout])]),
        ("hart-close-mid-reply", vec![(HART, &[Closed])]),
        ("hart-huge-byte-count", vec![(HART, &[Proto])]),
        // Answers to another sequence number and our own requests echoed are skipped.
        ("hart-wrong-sequence", vec![(HART, &[Timeout])]),
        ("hart-session-close-to-all", vec![(HART, &[Proto])]),
        ("hart-garbage", vec![(HART, garbage)]),
        ("hart-echo", vec![(HART, &[Timeout])]),
        ("hart-bad-checksum", vec![(HART, &[Proto])]),
        ("hart-byte-count-lie", vec![(HART, &[Proto])]),
        // 65535 devices reported: eight read, the rest counted.
        ("hart-huge-sub-device-count", vec![(HART, &[Ok_])]),
        // Response code 16 to command 0: the code is named.
        ("hart-error-response-code", vec![(HART, &[AppErr])]),
        (
            "fragile-one-connection",
            vec![
                (MODBUS, &[Ok_]),
                (ENIP_TCP, &[Ok_]),
                (ENIP_UDP, &[Ok_]),
                (S7, &[Ok_]),
                (FINS_UDP, &[Ok_]),
                (FINS_TCP, &[Ok_]),
                (BACNET, &[Ok_]),
                (SNMP, &[Ok_]),
                (HART, &[Ok_]),
            ],
        ),
        (
            "fragile-pacing",
            vec![
                (MODBUS, &[Ok_]),
                (ENIP_TCP, &[Ok_]),
                (ENIP_UDP, &[Ok_]),
                (S7, &[Ok_]),
                (FINS_UDP, &[Ok_]),
                (FINS_TCP, &[Ok_]),
                (BACNET, &[Ok_]),
                (SNMP, &[Ok_]),
                (HART, &[Ok_]),
            ],
        ),
    ];
    assert_eq!(
        expected.len(),
        spec.devices.len(),
        "every hostile device has its line"
    );
    for record in records.values() {
        let name = spec
            .devices
            .iter()
            .find(|d| IpAddr::V4(d.ip) == record.ip)
            .map_or("(empty)", |d| d.name.as_str());
        let wanted = expected
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[][..], |(_, w)| w.as_slice());
        if !wanted.is_empty() {
            let statuses: Vec<_> = record.services.iter().map(|s| s.status.name()).collect();
            let errors: Vec<_> = record
                .services
                .iter()
                .filter_map(|s| s.error.as_deref())
                .filter(|e| *e != "connection refused")
                .collect();
            eprintln!("{name:32} {} {errors:?}", statuses.join(" "));
        }
        for s in &record.services {
            let allowed = wanted
                .iter()
                .find(|(kind, _)| *kind == (s.protocol, s.transport))
                .map_or(&[Status::ConnectionRefused][..], |(_, allowed)| *allowed);
            assert!(
                allowed.contains(&s.status),
                "{name} {}: {:?}/{:?} is {}, expected one of {allowed:?} ({:?})",
                record.ip,
                s.protocol,
                s.transport,
                s.status.name(),
                s.error
            );
            // Every status but success says why.
            assert_eq!(
                s.error.is_some(),
                s.status != Status::Success,
                "{name} {:?}/{:?}: {:?}",
                s.protocol,
                s.transport,
                s.error
            );
        }
    }
    for name in ["modbus-looping-continuation", "modbus-endless-continuation"] {
        let r = by_name(name);
        let Some(ServiceDetails::Modbus(d)) = &r.services[0].details else {
            panic!("{name}: no modbus details")
        };
        assert!(d.continuation_stopped, "{name}: {d:?}");
    }
    // A server left out of step by a request it did not understand is asked its fallback
    // (Report Server ID) on a fresh connection, and answers it.
    let desync = by_name("modbus-desync-after-exception");
    let Some(ServiceDetails::Modbus(d)) = &desync.services[0].details else {
        panic!("desync: no modbus details")
    };
    let rsi = d
        .report_server_id
        .as_ref()
        .expect("Report Server ID answered");
    assert_eq!(
        (
            rsi.server_id,
            rsi.run_indicator,
            rsi.additional.text.as_str()
        ),
        (Some(0xB4), Some(true), "LMB3.1.4")
    );
    assert_eq!(d.exception.as_ref().map(|e| e.code), Some(0x01));

    // What a device said is never thrown away: a protocol-error keeps the bytes, and a
    // reply whose header matched the request (FC 0x03 with the right transaction id) makes
    // the device responsive; bytes that are not even a Modbus frame do not.
    let wrong = by_name("modbus-wrong-function");
    let wrong_service = &wrong.services[0];
    assert_eq!(wrong_service.status, Status::ProtocolError);
    let received = wrong_service.received.as_ref().expect("bytes kept");
    assert!(received.len > 0 && received.hex.len() == 2 * received.len.min(512));
    assert!(
        wrong.responsive,
        "a well-framed reply proves a Modbus stack"
    );
    let garbage = by_name("modbus-garbage");
    let garbage_service = &garbage.services[0];
    if garbage_service.status == Status::ProtocolError {
        let received = garbage_service.received.as_ref().expect("garbage kept");
        assert!(
            received.len >= 8 && received.hex.len() <= 1024,
            "{received:?}"
        );
        assert!(
            garbage_service.rtt_ms.is_none() && !garbage.responsive,
            "{garbage:?}"
        );
    }

    // What went on the wire: read-only requests only, and never more than the caps allow.
    let recorder = plant.recorder();
    for frame in recorder.frames() {
        common::audit_and_classify(&frame, PORTS);
    }
    let violations = recorder.violations();
    assert!(violations.is_empty(), "{violations:?}");
    for device in &spec.devices {
        let ip = IpAddr::V4(device.ip);
        let frames = recorder.frames_for(ip).len() as u64;
        let connections = recorder.connection_stats(ip).accepted;
        let cap = request_cap(&config, &spec, ip);
        assert!(
            frames + connections <= cap,
            "{}: {frames} frames and {connections} connections, cap {cap}",
            device.name
        );
        assert!(
            recorder.connection_stats(ip).max_concurrent <= 1,
            "{}",
            device.name
        );
    }

    // Fragile devices: never a second connection, never two packets too close together.
    for name in ["fragile-one-connection", "fragile-pacing"] {
        let device = plant.device(name).unwrap();
        let HostileBehaviour::Fragile { guard, .. } = &device.hostile[0].behaviour else {
            panic!("{name} is not fragile")
        };
        let report = guard.report();
        eprintln!("{name}: {report:?}");
        assert_eq!(report.concurrent_connections, 0, "{name}: {report:?}");
        assert_eq!(report.pacing_violations, 0, "{name}: {report:?}");
        assert!(
            report.connections >= 3,
            "{name}: Modbus, EtherNet/IP, S7 and FINS over TCP"
        );
        let smallest = report.smallest_gap.unwrap();
        assert!(
            smallest >= PACING_SENSITIVE_GAP && smallest + Duration::from_millis(10) >= interval,
            "{name}: packets {smallest:?} apart, interval {interval:?}"
        );
        // Fragile, not hostile: identified over every protocol.
        let r = by_name(name);
        for (p, t) in [
            (Protocol::Modbus, Transport::Tcp),
            (Protocol::Enip, Transport::Tcp),
            (Protocol::Enip, Transport::Udp),
            (Protocol::S7, Transport::Tcp),
            (Protocol::Fins, Transport::Udp),
            (Protocol::Fins, Transport::Tcp),
            (Protocol::Bacnet, Transport::Udp),
            (Protocol::Snmp, Transport::Udp),
            (Protocol::Hart, Transport::Tcp),
        ] {
            assert_eq!(service(r, p, t), Status::Success, "{name} {p:?}/{t:?}");
        }
    }

    // Bounded reads: devices that would stream or grow forever were cut off by the scanner
    // within one read timeout, with a protocol error, not read to the end.
    let facts = |name: &str| plant.device(name).unwrap().hostile[0].facts.report();
    // The S7 stream starts with a valid Connection Confirm, so its first exchange succeeds
    // and the stream is cut at the next one, which first waits for its pacing slot: closed
    // and a protocol error, but not within one read timeout of the first request.
    for (name, p) in [
        ("modbus-endless-stream", Protocol::Modbus),
        ("enip-endless-stream", Protocol::Enip),
        ("s7-endless-stream", Protocol::S7),
        ("melsec-endless-stream", Protocol::Melsec),
        ("fins-endless-stream", Protocol::Fins),
        ("opcua-endless-stream", Protocol::Opcua),
    ] {
        let f = facts(name);
        assert_eq!(f.connections, f.closed_by_peer, "{name}: {f:?}");
        // FINS/TCP and OPC UA, like S7, begin with an exchange the stream's first frame
        // answers.
        if !matches!(p, Protocol::S7 | Protocol::Fins | Protocol::Opcua) {
            assert!(f.longest_after_request < TIMEOUT, "{name}: {f:?}");
        }
        let r = by_name(name);
        assert_eq!(service(r, p, Transport::Tcp), Status::ProtocolError);
    }
    // An I/O system reporting 65535 devices: the probe reads MAX_SUB_DEVICES of them and
    // counts the rest, and the device saw no more requests than that.
    let huge = by_name("hart-huge-sub-device-count");
    let hart = huge
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Hart)
        .unwrap();
    let Some(ServiceDetails::Hart(d)) = &hart.details else {
        panic!("hart-huge-sub-device-count: no hart details")
    };
    assert_eq!(d.sub_devices.len(), usize::from(HART_MAX_SUB_DEVICES));
    assert_eq!(
        d.sub_devices_not_read,
        Some(u16::MAX - 1 - HART_MAX_SUB_DEVICES)
    );
    assert!(facts("hart-huge-sub-device-count").requests <= 5 + u64::from(HART_MAX_SUB_DEVICES));
    let refused = by_name("hart-error-response-code");
    let error = refused
        .services
        .iter()
        .find(|s| s.protocol == Protocol::Hart)
        .and_then(|s| s.error.clone())
        .unwrap();
    assert!(error.contains("access restricted"), "{error}");
    // A Fox hello reply that never ends is cut at the reply cap, within one read timeout;
    // one with thousands of keys that does end keeps the first MAX_TUPLES, counts the rest.
    let f = facts("fox-never-ends");
    assert!(f.longest_after_request < TIMEOUT, "fox-never-ends: {f:?}");
    let fox_service = |name: &str| {
        by_name(name)
            .services
            .iter()
            .find(|s| s.protocol == Protocol::Fox)
            .unwrap()
            .clone()
    };
    let never = fox_service("fox-never-ends");
    assert!(
        never
            .error
            .as_deref()
            .unwrap()
            .contains(&format!("{FOX_CAP}-byte cap")),
        "{never:?}"
    );
    let many = fox_service("fox-thousands-of-keys");
    let Some(ServiceDetails::Fox(d)) = &many.details else {
        panic!("fox-thousands-of-keys: no fox details")
    };
    assert_eq!(
        d.station_name.as_ref().unwrap().text,
        "Hostile_Station (simulated)"
    );
    let kept = d.other_keys.len() + 15;
    assert_eq!(kept, FOX_MAX_TUPLES, "{:?}", d.other_keys.len());
    assert!(d.keys_dropped.unwrap() >= 2000 - FOX_MAX_TUPLES as u64);
    for (name, cap) in [
        ("enip-oversized-datagram", ENIP_CAP),
        ("snmp-oversized-datagram", SNMP_CAP),
        ("bacnet-oversized-datagram", BACNET_CAP),
        ("melsec-oversized-datagram", MELSEC_CAP),
        ("ads-oversized-datagram", ADS_CAP),
        ("profinet-oversized-datagram", PROFINET_CAP),
        ("fins-oversized-datagram", FINS_CAP),
        ("knx-oversized-datagram", KNX_CAP),
        ("codesys-oversized-datagram", CODESYS_CAP),
    ] {
        let r = by_name(name);
        let s = r
            .services
            .iter()
            .find(|s| s.transport == Transport::Udp && s.status != Status::ConnectionRefused)
            .unwrap();
        assert_eq!(s.status, Status::ProtocolError, "{name}");
        assert!(
            s.error
                .as_deref()
                .unwrap()
                .contains(&format!("{cap}-byte cap")),
            "{name}: {:?}",
            s.error
        );
    }
    plant.shutdown().await;
}
