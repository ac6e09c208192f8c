#!/usr/bin/env bash
# End-to-end throughput on a /16 (bench 1 and 2 of issue 8), back to back in one run:
#   1. otscan's engine, all three probes, pacing off (scan_bench: Rate::Unlimited, no
#      per-device interval; the CLI's --rate has no "unlimited", see benches/README.md),
#   2. the otscan CLI with the fastest settings it accepts (--rate 4294967295, --per-device-interval 0),
#   3. the kernel baseline (kernel_baseline: the same socket operations, no scanner logic),
#   4. nmap's plain two-port connect scan (-n -Pn -sT -p 502,44818 -T5 --min-parallelism 512),
# against a plant of 512 devices (Modbus / EtherNet/IP / SNMP in turn) spread over
# 127.64.0.0/16, in a network namespace of its own (see benches/lib.sh).
# Each run executes the four back to back, RUNS times (default 3); the median wall time of each
# counts (the machine may be shared). Usage: benches/throughput.sh   (root; CONCURRENCY=1024
# TIMEOUT_MS=1000 RUNS=3 by default)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
throughput_plant "${BENCH_OUT:-/tmp/otscan-bench-throughput}"
addresses=65536

# found FILE: how many of the plant's devices have a record in FILE (NDJSON).
found() { grep -o '"ip":"[^"]*"' "$1" | cut -d'"' -f4 | sort -u | grep -Fxf <(cut -f1 "$out/manifest.tsv") | wc -l; }

RUNS=${RUNS:-3}
for run in $(seq "$RUNS"); do
    timed "$out/lib-$run.time" "$bin/scan_bench" "$NET" --rate unlimited --interval 0 \
        --concurrency "$CONCURRENCY" --timeout "$TIMEOUT_MS" --udp-retries 0 --out "$out/lib-$run.jsonl" \
        >"$out/lib-$run.txt"
    timed "$out/cli-$run.time" "$bin/otscan" scan "$NET" --probes modbus,enip,snmp --rate 4294967295 --per-device-interval 0 \
        --concurrency "$CONCURRENCY" --timeout "${TIMEOUT_MS}ms" --udp-retries 0 -o "$out/cli-$run.jsonl" \
        2>"$out/cli-$run.txt" || echo "otscan CLI failed: $(tail -1 "$out/cli-$run.txt")"
    timed "$out/kernel-$run.time" "$bin/kernel_baseline" "$NET" "$CONCURRENCY" "$TIMEOUT_MS" 502,44818 161 \
        >"$out/kernel-$run.txt"
    timed "$out/nmap-$run.time" nmap -n -Pn -sT -p 502,44818 -T5 --min-parallelism 512 "$NET" \
        -oG "$out/nmap-$run.gnmap" >/dev/null 2>&1
    echo "run $run: otscan engine $(cat "$out/lib-$run.time.wall") s, CLI $(cat "$out/cli-$run.time.wall") s," \
        "kernel baseline $(cat "$out/kernel-$run.time.wall") s, nmap $(cat "$out/nmap-$run.time.wall") s"
done
k_lib=$(median "$out" lib "$RUNS"); k_cli=$(median "$out" cli "$RUNS")
k_ker=$(median "$out" kernel "$RUNS"); k_nmap=$(median "$out" nmap "$RUNS")
cp "$out/lib-$k_lib.jsonl" "$out/lib.jsonl"; cp "$out/cli-$k_cli.jsonl" "$out/cli.jsonl" 2>/dev/null || : >"$out/cli.jsonl"
cp "$out/kernel-$k_ker.txt" "$out/kernel.txt"
nmap_open=$(grep -c '/open/' "$out/nmap-$k_nmap.gnmap" || true)

w_lib=$(wall_s "$out/lib.time"); w_cli=$(wall_s "$out/cli.time")
w_ker=$(wall_s "$out/kernel.time"); w_nmap=$(wall_s "$out/nmap.time")
r_lib=$(per_s $addresses "$w_lib"); r_cli=$(per_s $addresses "$w_cli")
r_ker=$(per_s $addresses "$w_ker"); r_nmap=$(per_s $addresses "$w_nmap")
echo
echo "$addresses addresses, $COUNT devices, concurrency $CONCURRENCY, timeout ${TIMEOUT_MS} ms, median of $RUNS runs, $(date -u +%F)"
echo "| run | wall s | addresses/s | found | CPU s | peak RSS MiB | vs kernel | vs nmap |"
echo "|---|---|---|---|---|---|---|---|"
echo "| otscan engine, unpaced (scan_bench) | $w_lib | $r_lib | $(found "$out/lib.jsonl")/$COUNT | $(cpu_s "$out/lib.time") | $(rss_mib "$out/lib.time") | $(ratio "$r_lib" "$r_ker") | $(ratio "$r_lib" "$r_nmap") |"
echo "| otscan CLI, --rate 4294967295 | $w_cli | $r_cli | $(found "$out/cli.jsonl" || true)/$COUNT | $(cpu_s "$out/cli.time") | $(rss_mib "$out/cli.time") | $(ratio "$r_cli" "$r_ker") | $(ratio "$r_cli" "$r_nmap") |"
echo "| kernel baseline | $w_ker | $r_ker | $(grep -o 'responsive [0-9]*' "$out/kernel.txt" | cut -d' ' -f2)/$COUNT | $(cpu_s "$out/kernel.time") | $(rss_mib "$out/kernel.time") | 1.00 | $(ratio "$r_ker" "$r_nmap") |"
echo "| nmap -sT 502,44818 | $w_nmap | $r_nmap | $nmap_open TCP devices open | $(cpu_s "$out/nmap.time") | $(rss_mib "$out/nmap.time") | $(ratio "$r_nmap" "$r_ker") | 1.00 |"
echo
# Issue 16's goals, in the same run. The comparison is fair to nmap: its connect scan sends the
# two TCP ports otscan's Modbus and EtherNet/IP probes connect to, otscan sends the SNMP
# datagram on top (as the kernel baseline does).
echo "otscan CLI vs nmap -sT: $(ratio "$r_cli" "$r_nmap") (goal >= 1.0); vs kernel baseline: $(ratio "$r_cli" "$r_ker") (goal >= 0.9)"
echo "CPU s: otscan CLI $(cpu_s "$out/cli.time"), otscan engine $(cpu_s "$out/lib.time"), kernel baseline $(cpu_s "$out/kernel.time"), nmap $(cpu_s "$out/nmap.time")"
