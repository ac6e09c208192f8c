#!/usr/bin/env bash
# Foundation figures: time and peak memory of
#   1. a default-settings scan of a simulated /24 (the demo plant, 9 devices),
#   2. a --dry-run --list-targets enumeration of 10.0.0.0/8 and of 10.0.0.0/16
#      (nothing is sent: memory must stay flat as the target count grows).
# Usage: benches/foundation.sh   (from the repository root; needs /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p scanner-cli -p otscan-benches
bin=target/release
peak() { grep 'Maximum resident' "$1" | awk '{print $6 " KiB"}'; }
wall() { grep 'Elapsed (wall' "$1" | awk '{print $8}'; }

$bin/plant 127.90.0.0 15030 demo 2>/dev/null &
plant=$!
trap 'kill $plant 2>/dev/null || true' EXIT
sleep 1
/usr/bin/time -v $bin/otscan scan 127.90.0.0/24 --port modbus=15030 >/tmp/otscan-bench-24.jsonl 2>/tmp/otscan-bench-24.time
echo "scan 127.90.0.0/24 (defaults): $(wc -l </tmp/otscan-bench-24.jsonl) records, wall $(wall /tmp/otscan-bench-24.time), peak RSS $(peak /tmp/otscan-bench-24.time)"
grep '^otscan:' /tmp/otscan-bench-24.time || true

for net in 10.0.0.0/16 10.0.0.0/8; do
    /usr/bin/time -v $bin/otscan scan $net --dry-run --list-targets 2>/tmp/otscan-bench-dry.time | wc -l >/tmp/otscan-bench-dry.count
    echo "dry-run --list-targets $net: $(cat /tmp/otscan-bench-dry.count) lines, wall $(wall /tmp/otscan-bench-dry.time), peak RSS $(peak /tmp/otscan-bench-dry.time)"
done
