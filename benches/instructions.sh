#!/usr/bin/env bash
# User-space instructions per address of otscan CLI builds (valgrind's callgrind), for changes
# too small for wall-clock A/B runs to see: the count moves by less than 0.1% between runs of
# one build, where wall and CPU times of throughput.sh's /16 move by 5-15%. Each build scans
# the first /20 of throughput.sh's plant (4,096 addresses, 32 devices; a 20 s timeout, since
# the scan runs ~50x slower under valgrind) and the kernel baseline does the same once.
# Prints each run's total and (total - a run on one device's address) / 4,095: per address,
# without start-up and one-off work such as building the Recog matchers (which the first
# answering device triggers).
# Usage: benches/instructions.sh OTSCAN_A [OTSCAN_B ...]   (root; valgrind from Debian)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
throughput_plant "${BENCH_OUT:-/tmp/otscan-bench-instructions}"
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }
# collected CMD...: the instructions callgrind collected running CMD in the namespace.
collected() {
    in_ns valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" "$@" 2>&1 >/dev/null \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
scan() {
    local b=$1 range=$2
    collected "$b" scan "$range" --probes modbus,enip,snmp --rate 4294967295 \
        --per-device-interval 0 --concurrency 1024 --timeout 20000ms --udp-retries 0 -o "$out/cg.jsonl"
}
# The plant's first SNMP device: its sysDescr makes the one-address run build the Recog
# matchers, as the /20's SNMP devices do.
device=$(awk -F'\t' '$2 == "snmp" { print $1; exit }' "$out/manifest.tsv")
echo "$(date -u +%F), 127.64.0.0/20 of the throughput plant; one address: $device"
for b in "$@"; do
    all=$(scan "$b" 127.64.0.0/20)
    one=$(scan "$b" "$device")
    echo "$b: $all instructions, $(( (all - one) / 4095 )) per address (one address: $one)"
done
k=$(collected "$bin/kernel_baseline" 127.64.0.0/20 1024 20000 502,44818 161)
echo "kernel baseline: $k instructions, $(( k / 4096 )) per address (start-up included)"
