#!/usr/bin/env bash
# A/B of otscan CLI builds on throughput.sh's /16, interleaved (A B A B ...) against one plant,
# so a loaded machine slows both alike; prints each run and the medians of wall and CPU
# seconds, and checks each build's records against the first's (benches/same_records.py).
# With BASELINE=1 the kernel baseline runs after each round too, and each build's wall-time
# ratio to it is printed per round (kernel wall / build wall, sorted) with the median: the
# baseline's own time moves by a third between quiet runs, so a ratio is only fair within a round.
# Usage: benches/ab.sh OTSCAN_A OTSCAN_B [...]   (root; RUNS=5 CONCURRENCY=1024 TIMEOUT_MS=1000 BASELINE=0)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-5}
builds=("$@")
throughput_plant "${BENCH_OUT:-/tmp/otscan-bench-ab}"
for run in $(seq "$RUNS"); do
    for b in "${!builds[@]}"; do
        timed "$out/b$b-$run.time" "${builds[$b]}" scan "$NET" --probes modbus,enip,snmp \
            --rate 4294967295 --per-device-interval 0 --concurrency "$CONCURRENCY" \
            --timeout "${TIMEOUT_MS}ms" --udp-retries 0 -o "$out/b$b-$run.jsonl" 2>"$out/b$b-$run.txt"
        echo "run $run build $b: $(cat "$out/b$b-$run.time.wall") s wall, $(cpu_s "$out/b$b-$run.time") CPU s"
    done
    if [ "${BASELINE:-0}" = 1 ]; then
        timed "$out/kernel-$run.time" "$bin/kernel_baseline" "$NET" "$CONCURRENCY" "$TIMEOUT_MS" 502,44818 161 \
            >/dev/null
        echo "run $run kernel baseline: $(cat "$out/kernel-$run.time.wall") s wall, $(cpu_s "$out/kernel-$run.time") CPU s"
    fi
done
for b in "${!builds[@]}"; do
    k=$(median "$out" "b$b" "$RUNS")
    cpus=$(for r in $(seq "$RUNS"); do cpu_s "$out/b$b-$r.time"; echo; done | sort -n | awk -v m=$(( (RUNS + 1) / 2 )) 'NR == m')
    echo "build $b ${builds[$b]}: median wall $(wall_s "$out/b$b.time") s, median CPU $cpus s;" \
        "records vs build 0: $(python3 "$(dirname "$0")/same_records.py" "$out/b0-1.jsonl" "$out/b$b-$k.jsonl" | head -1)"
done
if [ "${BASELINE:-0}" = 1 ]; then
    for b in "${!builds[@]}"; do
        ratios=$(for r in $(seq "$RUNS"); do
            ratio "$(cat "$out/kernel-$r.time.wall")" "$(cat "$out/b$b-$r.time.wall")"; echo
        done | sort -n)
        echo "build $b vs the kernel baseline, per round: $(echo "$ratios" | tr "\n" " ");" \
            "median $(echo "$ratios" | awk -v m=$(( (RUNS + 1) / 2 )) 'NR == m')"
    done
fi
