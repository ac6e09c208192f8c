#!/usr/bin/env bash
# CPU profile of the otscan CLI scanning throughput.sh's /16 (issue 16 part 2): `perf record -g`
# on `otscan scan` inside the bench namespace, then `perf report --no-children` (top symbols)
# and the folded stacks (benches/fold_stacks.py) that a flame graph tool draws.
# Usage: benches/profile.sh [OUT_DIR]   (root; CONCURRENCY=1024 TIMEOUT_MS=1000 by default;
# PROBES=modbus,enip,snmp; EXTRA="..." more otscan flags)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PROBES=${PROBES:-modbus,enip,snmp}
throughput_plant "${1:-/tmp/otscan-bench-profile}"
# shellcheck disable=SC2086
in_ns perf record -F 999 --call-graph dwarf,8192 -o "$out/perf.data" -- \
    "$bin/otscan" scan "$NET" --probes "$PROBES" --rate 4294967295 --per-device-interval 0 \
    --concurrency "$CONCURRENCY" --timeout "${TIMEOUT_MS}ms" --udp-retries 0 ${EXTRA:-} \
    -o "$out/cli.jsonl" 2>"$out/cli.txt" >/dev/null
perf report -i "$out/perf.data" --no-children --sort dso,symbol -g none --percent-limit 0.4 \
    --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' >"$out/top.txt" || true
perf script -i "$out/perf.data" 2>/dev/null | python3 "$(dirname "$0")/fold_stacks.py" >"$out/folded.txt"
echo "top symbols (self): $out/top.txt; folded stacks: $out/folded.txt; records: $out/cli.jsonl"
cat "$out/top.txt"
