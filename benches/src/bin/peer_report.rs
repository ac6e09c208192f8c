//! Per-device identification table for the peer comparison: which of the plant's devices
//! otscan and nmap identified, protocol by protocol.
//!
//! `peer_report MANIFEST OTSCAN_NDJSON NMAP_NORMAL_OUTPUT`, where MANIFEST is the file
//! `bigplant` wrote (`ip<TAB>protocols`), OTSCAN_NDJSON otscan's native records and
//! NMAP_NORMAL_OUTPUT nmap's `-oN` file.
//!
//! otscan identified a device's protocol when its record has that service with status
//! `success` and the record names the device (vendor, product name or code, or a host name).
//! nmap identified it when the protocol's script (`modbus-discover`, `enip-info`,
//! `snmp-sysdescr`) printed output for that host. Prints a Markdown table, one row per device,
//! then the totals, and exits 1 when otscan missed a protocol that nmap identified.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("peer_report: {path}: {e}");
        std::process::exit(2)
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [manifest, otscan, nmap] = &args[..] else {
        eprintln!("usage: peer_report MANIFEST OTSCAN_NDJSON NMAP_NORMAL_OUTPUT");
        std::process::exit(2)
    };

    let mut truth: BTreeMap<Ipv4Addr, Vec<String>> = BTreeMap::new();
    for line in read(manifest).lines() {
        if let Some((ip, protocols)) = line.split_once('\t') {
            if let Ok(ip) = ip.parse() {
                truth.insert(ip, protocols.split(',').map(str::to_owned).collect());
            }
        }
    }

    let mut by_otscan: BTreeMap<Ipv4Addr, BTreeSet<String>> = BTreeMap::new();
    for line in read(otscan).lines() {
        let Ok(record) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(ip) = record["ip"].as_str().and_then(|ip| ip.parse().ok()) else {
            continue;
        };
        let named = ["vendor", "product_name", "product_code", "hostname"]
            .iter()
            .any(|k| record[*k].as_str().is_some_and(|v| !v.is_empty()));
        if !named {
            continue;
        }
        for service in record["services"].as_array().into_iter().flatten() {
            if service["status"] == "success" {
                if let Some(p) = service["protocol"].as_str() {
                    by_otscan.entry(ip).or_default().insert(p.to_owned());
                }
            }
        }
    }

    let mut by_nmap: BTreeMap<Ipv4Addr, BTreeSet<String>> = BTreeMap::new();
    let mut host: Option<Ipv4Addr> = None;
    for line in read(nmap).lines() {
        if let Some(rest) = line.strip_prefix("Nmap scan report for ") {
            host = rest.trim().parse().ok();
            continue;
        }
        let Some(ip) = host else { continue };
        for (script, protocol) in [
            ("modbus-discover:", "modbus"),
            ("enip-info:", "enip"),
            ("snmp-sysdescr:", "snmp"),
        ] {
            let text = line.trim_start_matches(['|', '_', ' ']);
            if text.starts_with(script) {
                by_nmap.entry(ip).or_default().insert(protocol.to_owned());
            }
        }
    }

    println!("| device | protocols | otscan identified | nmap identified |");
    println!("|---|---|---|---|");
    let (mut services, mut otscan_found, mut nmap_found, mut missed) = (0, 0, 0, 0);
    let list = |set: Option<&BTreeSet<String>>, wanted: &[String]| -> String {
        let got: Vec<&str> = wanted
            .iter()
            .filter(|p| set.is_some_and(|s| s.contains(*p)))
            .map(String::as_str)
            .collect();
        if got.is_empty() {
            "-".to_owned()
        } else {
            got.join(",")
        }
    };
    for (ip, protocols) in &truth {
        let o = by_otscan.get(ip);
        let n = by_nmap.get(ip);
        for p in protocols {
            services += 1;
            let in_o = o.is_some_and(|s| s.contains(p));
            let in_n = n.is_some_and(|s| s.contains(p));
            otscan_found += usize::from(in_o);
            nmap_found += usize::from(in_n);
            missed += usize::from(in_n && !in_o);
        }
        println!(
            "| {ip} | {} | {} | {} |",
            protocols.join(","),
            list(o, protocols),
            list(n, protocols)
        );
    }
    println!(
        "\npeer_report: {} devices, {services} services; otscan identified {otscan_found}, nmap {nmap_found}; \
         identified by nmap but not otscan: {missed}",
        truth.len()
    );
    if missed > 0 {
        std::process::exit(1);
    }
}
