#!/usr/bin/env bash
# Peer comparison (bench 3 of issue 8): a /22 with 64 devices, 32 of them answering two
# protocols, scanned back to back by otscan and by nmap with its identification scripts, on
# the registered ports (502, 44818, 161), in a network namespace of its own (benches/lib.sh).
#   otscan: the CLI, the three probes nmap has scripts for here (--probes modbus,enip,snmp), --rate 4294967295 --per-device-interval 0, 1 s timeouts,
#           the default concurrency (64).
#   nmap:   -n -Pn -sT -sU -p T:502,T:44818,U:161 --script modbus-discover,enip-info,snmp-sysdescr
#           plus -T5 --min-hostgroup 1024 --min-parallelism 1024 --max-retries 1 (fastest that
#           still identifies every device here; NMAP_EXTRA replaces these).
# Each tool runs RUNS times (default 3, alternating); the median wall time counts. Prints the
# time ratio and a per-device table of what each tool identified (peer_report, last runs).
# Usage: benches/peer.sh   (root)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
NET=127.65.0.0/22
out=${BENCH_OUT:-/tmp/otscan-bench-peer}
mkdir -p "$out"
NMAP_EXTRA=${NMAP_EXTRA:--T5 --min-hostgroup 1024 --min-parallelism 1024 --max-retries 1}
bench_setup

start_bg "$out/plant.log" "$bin/bigplant" "$NET" 64 32 502 44818 161 "$out/manifest.tsv"
wait_ready "$out/plant.log"

RUNS=${RUNS:-3}
for run in $(seq "$RUNS"); do
    timed "$out/otscan-$run.time" "$bin/otscan" scan "$NET" --probes modbus,enip,snmp --rate 4294967295 --per-device-interval 0 \
        --timeout 1s -o "$out/otscan.jsonl" 2>"$out/otscan.err" || {
        echo "otscan failed:"; cat "$out/otscan.err"; exit 1; }
    # shellcheck disable=SC2086
    timed "$out/nmap-$run.time" nmap -n -Pn -sT -sU -p T:502,T:44818,U:161 \
        --script modbus-discover,enip-info,snmp-sysdescr $NMAP_EXTRA "$NET" -oN "$out/nmap.txt" >/dev/null
done
median "$out" otscan "$RUNS" >/dev/null; median "$out" nmap "$RUNS" >/dev/null
w_o=$(wall_s "$out/otscan.time"); w_n=$(wall_s "$out/nmap.time")
echo "1024 addresses, 64 devices (32 with two protocols), median of $RUNS runs, $(date -u +%F)"
echo "| tool | wall s | CPU s | peak RSS MiB |"
echo "|---|---|---|---|"
echo "| otscan | $w_o | $(cpu_s "$out/otscan.time") | $(rss_mib "$out/otscan.time") |"
echo "| nmap + scripts | $w_n | $(cpu_s "$out/nmap.time") | $(rss_mib "$out/nmap.time") |"
echo "otscan is $(ratio "$w_n" "$w_o")x faster than nmap with its identification scripts"
echo
"$bin/peer_report" "$out/manifest.tsv" "$out/otscan.jsonl" "$out/nmap.txt"
