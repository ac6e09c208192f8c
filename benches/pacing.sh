#!/usr/bin/env bash
# Pacing accuracy (bench 4 of issue 8): for each configured rate (50, 500, 5000 requests/s;
# RATES overrides) with the default 100 ms per-device interval, runs `pacing run` (a plant
# plus a scan in one process, see benches/src/bin/pacing.rs) for 10 s while dumpcap records
# every packet sent to the devices' ports, then reports over the first 10 s, both from the
# fixtures' own records and from the capture: achieved rate (target: within 2%), largest
# count in any 100 ms window (configured: rate / 10, burst 1) and the smallest gap between two
# packets to one device (must never be below the interval).
# Usage: benches/pacing.sh   (root; needs dumpcap and tshark)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RATES=${RATES:-50 500 5000}
INTERVAL_MS=${INTERVAL_MS:-100}
SECONDS_RUN=${SECONDS_RUN:-10}
out=${BENCH_OUT:-/tmp/otscan-bench-pacing}
mkdir -p "$out"
bench_setup

for rate in $RATES; do
    cap="$out/pacing-$rate.pcapng"
    rm -f "$cap"
    start_bg "$out/dumpcap-$rate.log" dumpcap -q -i lo -s 96 -w "$cap" \
        -f "tcp dst port 502 or tcp dst port 44818 or udp dst port 161"
    dumpcap_pid=${BENCH_PIDS[-1]}
    for _ in $(seq 100); do [ -s "$cap" ] && break; sleep 0.1; done
    timed "$out/pacing-$rate.time" "$bin/pacing" run "$rate" "$INTERVAL_MS" "$SECONDS_RUN" \
        2>"$out/pacing-$rate.err" | tee "$out/pacing-$rate.txt"
    sleep 0.5
    kill "$dumpcap_pid"; wait "$dumpcap_pid" 2>/dev/null || true
    tshark -r "$cap" -T fields -e frame.time_epoch -e ip.dst -e tcp.flags.syn -e tcp.flags.ack \
        -e tcp.len -e udp.length 2>/dev/null >"$out/pacing-$rate.tsv"
    "$bin/pacing" analyze "$out/pacing-$rate.tsv" "$rate" "$INTERVAL_MS" "$SECONDS_RUN" | tee -a "$out/pacing-$rate.txt"
    grep 'requests counted' "$out/pacing-$rate.err" || true
    echo "CPU $(cpu_s "$out/pacing-$rate.time") s (plant and scanner together)"
done
