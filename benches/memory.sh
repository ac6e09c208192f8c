#!/usr/bin/env bash
# Memory at scale (bench 5 of issue 8): peak RSS of
#   1. `otscan scan NET --dry-run --list-targets` for a /16, a /12 and a /8 (sends nothing:
#      memory must stay flat as the target count grows 256-fold),
#   2. the unpaced /16 scan of the throughput plant (scan_bench, as in benches/throughput.sh)
#      at concurrency 64, 1024 and 4096: memory may grow with concurrency only.
# Usage: benches/memory.sh   (root for part 2; CONCURRENCIES overrides the list)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out=${BENCH_OUT:-/tmp/otscan-bench-memory}
mkdir -p "$out"
bench_setup

echo "| run | targets | wall s | peak RSS MiB |"
echo "|---|---|---|---|"
for net in 10.0.0.0/16 10.0.0.0/12 10.0.0.0/8; do
    n=$(timed "$out/dry.time" "$bin/otscan" scan "$net" --dry-run --list-targets | wc -l)
    echo "| otscan scan $net --dry-run --list-targets | $n lines | $(wall_s "$out/dry.time") | $(rss_mib "$out/dry.time") |"
done

start_bg "$out/plant.log" "$bin/bigplant" 127.64.0.0/16 512 0 502 44818 161 "$out/manifest.tsv"
wait_ready "$out/plant.log"
for c in ${CONCURRENCIES:-64 1024 4096}; do
    timed "$out/scan-$c.time" "$bin/scan_bench" 127.64.0.0/16 --concurrency "$c" --timeout 1000 >"$out/scan-$c.txt"
    echo "| scan_bench 127.64.0.0/16 (unpaced), concurrency $c | 65536, $(grep -o '[0-9]* records' "$out/scan-$c.txt") | $(wall_s "$out/scan-$c.time") | $(rss_mib "$out/scan-$c.time") |"
done
