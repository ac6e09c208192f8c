//! The kernel baseline: the socket operations otscan performs per address, with no scanner
//! logic (no pacing, no protocol parsing, no records), at the same concurrency. Its
//! throughput is the physical limit of the machine for that work.
//!
//! `kernel_baseline CIDR [CONCURRENCY] [TIMEOUT_MS] [TCP_PORT,TCP_PORT,...] [UDP_PORT|none]
//! [shuffled|sequential]`, e.g. `kernel_baseline 127.64.0.0/16 1024 1000 502,44818 161`.
//!
//! Per address, in this order, as otscan does for an address that answers nothing: a TCP
//! connect to each TCP port (closed with a FIN at once when it succeeds), then one UDP
//! exchange: a socket bound to an ephemeral port and connected to the address, one SNMP v2c
//! GetRequest of sysDescr sent, one datagram (or the ICMP port-unreachable error) awaited.
//! Each operation is bounded by the timeout. CONCURRENCY tasks pull addresses from a shared
//! iterator; the runtime is tokio's default multi-threaded one, as in `otscan`. The order is
//! otscan's own pseudo-random one (`shuffled`, the default) or plain address order.
//!
//! Prints one line: addresses, wall time, addresses/s, and how many addresses answered.

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use scanner_core::{
    protocols::snmp::{self, SnmpRead, SnmpVersion},
    ReadOnlyRequest, Targets,
};
use tokio::{
    io::AsyncWriteExt as _,
    net::{TcpStream, UdpSocket},
};

#[derive(Default)]
struct Counts {
    tcp_open: AtomicU64,
    tcp_refused: AtomicU64,
    tcp_other: AtomicU64,
    udp_reply: AtomicU64,
    udp_refused: AtomicU64,
    udp_timeout: AtomicU64,
    responsive: AtomicU64,
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

async fn visit(
    ip: Ipv4Addr,
    tcp_ports: &[u16],
    udp_port: Option<u16>,
    request: &[u8],
    timeout: Duration,
    counts: &Counts,
) {
    let mut responsive = false;
    for &port in tcp_ports {
        match tokio::time::timeout(timeout, TcpStream::connect((ip, port))).await {
            Ok(Ok(mut stream)) => {
                count(&counts.tcp_open);
                responsive = true;
                let _ = stream.shutdown().await;
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                count(&counts.tcp_refused)
            }
            _ => count(&counts.tcp_other),
        }
    }
    if let Some(port) = udp_port {
        let exchange = async {
            let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await?;
            socket.connect(SocketAddr::from((ip, port))).await?;
            socket.send(request).await?;
            let mut buf = [0u8; 2048];
            socket.recv(&mut buf).await
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(_)) => {
                count(&counts.udp_reply);
                responsive = true;
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                count(&counts.udp_refused)
            }
            _ => count(&counts.udp_timeout),
        }
    }
    if responsive {
        count(&counts.responsive);
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: kernel_baseline CIDR [CONCURRENCY] [TIMEOUT_MS] [TCP_PORT,TCP_PORT,...] [UDP_PORT|none] [shuffled|sequential]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((net, prefix)) = args.first().and_then(|c| {
        let (a, p) = c.split_once('/')?;
        Some((a.parse::<Ipv4Addr>().ok()?, p.parse::<u32>().ok()?))
    }) else {
        usage()
    };
    if prefix > 32 {
        usage()
    }
    let concurrency: usize = args
        .get(1)
        .map_or(Ok(1024), |a| a.parse())
        .unwrap_or_else(|_| usage());
    let timeout_ms: u64 = args
        .get(2)
        .map_or(Ok(250), |a| a.parse())
        .unwrap_or_else(|_| usage());
    let tcp_ports: Vec<u16> = args
        .get(3)
        .map_or("502,44818", String::as_str)
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().unwrap_or_else(|_| usage()))
        .collect();
    let udp_port: Option<u16> = match args.get(4).map(String::as_str) {
        None => Some(161),
        Some("none") => None,
        Some(p) => Some(p.parse().unwrap_or_else(|_| usage())),
    };
    let size: u64 = 1 << (32 - prefix);
    let first = u64::from(u32::from(net)) & !(size - 1);
    let shuffled = match args.get(5).map(String::as_str) {
        None | Some("shuffled") => true,
        Some("sequential") => false,
        Some(_) => usage(),
    };
    // otscan's visiting order (the target list only: no other scanner code is involved).
    let order = Targets::parse([format!("{net}/{prefix}")]).unwrap_or_else(|_| usage());
    let order = Arc::new(Mutex::new(order.iter()));
    // The same datagram otscan sends first: a v2c GetRequest of the system group.
    let request = ReadOnlyRequest::Snmp(snmp::Request::Read {
        version: SnmpVersion::V2c,
        community: b"public".to_vec(),
        read: SnmpRead::Get,
        oids: vec![vec![1, 3, 6, 1, 2, 1, 1, 1, 0]].into(),
    })
    .encode(1);

    let next = Arc::new(AtomicU64::new(0));
    let counts = Arc::new(Counts::default());
    let tcp_ports = Arc::new(tcp_ports);
    let request = Arc::new(request);
    let timeout = Duration::from_millis(timeout_ms);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (order, next, counts, tcp_ports, request) = (
            Arc::clone(&order),
            Arc::clone(&next),
            Arc::clone(&counts),
            Arc::clone(&tcp_ports),
            Arc::clone(&request),
        );
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= size {
                    break;
                }
                let ip = if shuffled {
                    let next = order.lock().ok().and_then(|mut o| o.next());
                    match next.map(|t| t.ip) {
                        Some(std::net::IpAddr::V4(ip)) => ip,
                        _ => break,
                    }
                } else {
                    Ipv4Addr::from((first + i) as u32)
                };
                visit(ip, &tcp_ports, udp_port, &request, timeout, &counts).await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    println!(
        "kernel_baseline: {size} addresses in {elapsed:.2} s = {:.0} addresses/s; responsive {}; \
         tcp open {} refused {} other {}; udp reply {} refused {} timeout {}",
        size as f64 / elapsed,
        get(&counts.responsive),
        get(&counts.tcp_open),
        get(&counts.tcp_refused),
        get(&counts.tcp_other),
        get(&counts.udp_reply),
        get(&counts.udp_refused),
        get(&counts.udp_timeout),
    );
}
