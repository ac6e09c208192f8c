//! otscan's engine through the library, with settings the command line does not offer:
//! `Rate::Unlimited` (no global pacing at all). For benches and labs only: unpaced scanning is
//! unsafe on production networks.
//!
//! `scan_bench [OPTIONS] TARGET...`, e.g.
//! `scan_bench 127.64.0.0/16 --rate unlimited --interval 0 --concurrency 2048 --timeout 1000 --out r.jsonl`
//!
//! Options (defaults in parentheses): `--rate N|unlimited` (unlimited), `--interval MS`
//! per-device interval (0), `--concurrency N` (1024), `--timeout MS` connect and read timeout
//! (1000), `--udp-retries N` (0), `--probes LIST` (modbus,enip,snmp), `--ports M,E,S`
//! (502,44818,161), `--out FILE` NDJSON records (none).
//!
//! Prints one summary line on stdout: addresses, wall time, addresses/s, records per protocol,
//! requests sent, and the probe outcomes per status.

use std::{
    io::Write as _,
    num::{NonZeroU32, NonZeroUsize},
    time::{Duration, Instant},
};

use futures::StreamExt as _;
use scanner_core::{ProbeKind, Rate, ScanConfig, Scanner, Targets};

fn usage(why: &str) -> ! {
    eprintln!("scan_bench: {why}\nusage: scan_bench [--rate N|unlimited] [--interval MS] [--concurrency N] [--timeout MS] [--udp-retries N] [--probes LIST] [--ports M,E,S] [--out FILE] TARGET...");
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> T {
    value
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| usage(&format!("{flag} needs a number")))
}

#[tokio::main]
async fn main() {
    let mut rate = Rate::Unlimited;
    let mut interval = Duration::ZERO;
    let mut concurrency = 1024usize;
    let mut timeout = Duration::from_millis(1000);
    let mut udp_retries = 0u32;
    let mut probes = vec![ProbeKind::Modbus, ProbeKind::Enip, ProbeKind::Snmp];
    let mut ports = (502u16, 44818u16, 161u16);
    let mut out = None;
    let mut specs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rate" => match args.next().as_deref() {
                Some("unlimited") => rate = Rate::Unlimited,
                v => {
                    let n: u32 = number("--rate", v.map(str::to_owned));
                    rate = Rate::per_second(n).unwrap_or_else(|| usage("--rate 0"));
                }
            },
            "--interval" => interval = Duration::from_millis(number("--interval", args.next())),
            "--concurrency" => concurrency = number("--concurrency", args.next()),
            "--timeout" => timeout = Duration::from_millis(number("--timeout", args.next())),
            "--udp-retries" => udp_retries = number("--udp-retries", args.next()),
            "--probes" => {
                probes = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|p| match p {
                        "modbus" => ProbeKind::Modbus,
                        "enip" => ProbeKind::Enip,
                        "snmp" => ProbeKind::Snmp,
                        _ => usage("unknown probe"),
                    })
                    .collect();
            }
            "--ports" => {
                let list: Vec<u16> = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|p| p.parse().unwrap_or_else(|_| usage("bad --ports")))
                    .collect();
                let [m, e, s] = list[..] else {
                    usage("--ports needs three ports")
                };
                ports = (m, e, s);
            }
            "--out" => out = args.next(),
            flag if flag.starts_with("--") => usage(&format!("unknown option {flag}")),
            _ => specs.push(arg),
        }
    }
    if specs.is_empty() {
        usage("no targets");
    }
    let targets = Targets::parse(&specs).unwrap_or_else(|e| usage(&e.to_string()));
    let planned = targets.len();
    let config = {
        let modbus = scanner_core::protocols::modbus::ModbusConfig {
            port: ports.0,
            ..Default::default()
        };
        let enip = scanner_core::protocols::enip::EnipConfig {
            port: ports.1,
            ..Default::default()
        };
        let snmp = scanner_core::protocols::snmp::SnmpConfig {
            port: ports.2,
            ..Default::default()
        };
        ScanConfig::builder()
            .targets(targets)
            .probes(probes)
            .rate(rate)
            .burst(NonZeroU32::MIN)
            .per_device_interval(interval)
            .concurrency(NonZeroUsize::new(concurrency).unwrap_or(NonZeroUsize::MIN))
            .timeout(timeout)
            .udp_retries(udp_retries)
            .modbus(modbus)
            .enip(enip)
            .snmp(snmp)
            .build()
            .unwrap_or_else(|e| usage(&e.to_string()))
    };
    let mut sink = out.as_ref().map(|path| {
        std::io::BufWriter::new(
            std::fs::File::create(path).unwrap_or_else(|e| usage(&format!("{path}: {e}"))),
        )
    });
    let started = Instant::now();
    let mut scan = Scanner::new(config).scan();
    let progress = scan.progress();
    let mut records = 0u64;
    while let Some(record) = scan.next().await {
        records += 1;
        if let Some(sink) = sink.as_mut() {
            let line = serde_json::to_string(&record).unwrap_or_default();
            let _ = writeln!(sink, "{line}");
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(mut sink) = sink {
        let _ = sink.flush();
    }
    let p = progress.borrow().clone();
    let by_protocol: Vec<String> = p
        .responsive_by_protocol
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let statuses: Vec<String> = p.statuses.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "scan_bench: {planned} addresses in {elapsed:.2} s = {:.0} addresses/s; {records} records ({}); {} requests; statuses: {}",
        planned as f64 / elapsed,
        by_protocol.join(", "),
        p.requests_sent,
        statuses.join(", "),
    );
}
