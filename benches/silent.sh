#!/usr/bin/env bash
# Silent networks at the packet budget (issue 16 part 1), in one run:
#   - a silent /24 (nothing answers: no reply, no RST, no ICMP), `--profile safe` and `normal`,
#     with the otscan built from BEFORE (default: the merge base with main, before the liveness
#     phase) and with this tree's otscan;
#   - a sparse /20 (41 devices of the mixed plant, 1%, the rest silent), both profiles, this
#     tree's otscan only (BEFORE needs about 40 minutes for it under the safe profile).
# The silent range is benches/silent-net.sh's (a veth to a peer namespace, a neighbour with a
# fake MAC): packets are counted on the wire (the veth's tx counter, SYN retransmissions
# included; packets to the plant's devices stay on loopback, uncounted), requests from otscan's
# summary line. The budget limit is the packets this tree's otscan needs (its requests, devices
# included) divided by the rate; each wall time is compared with it, and with this tree's
# --dry-run estimate.
# Usage: benches/silent.sh   (root; BEFORE=<rev>, SPARSE=0 to skip the /20)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out=${BENCH_OUT:-/tmp/otscan-bench-silent}
mkdir -p "$out"
SILENT24=127.220.0.0/24
SPARSE20=127.224.0.0/20
PLANT_BASE=127.224.0.0
net="$bench_root/benches/silent-net.sh"

# The "before" binary, built from BEFORE in a target directory of its own.
before_rev=$(git -C "$bench_root" rev-parse "${BEFORE:-$(git -C "$bench_root" merge-base HEAD main)}")
before_bin="$out/otscan-before"
if [ ! -x "$before_bin" ] || [ "$(cat "$out/before.rev" 2>/dev/null)" != "$before_rev" ]; then
    src=$(mktemp -d)
    git -C "$bench_root" archive "$before_rev" | tar -x -C "$src"
    (cd "$src" && CARGO_TARGET_DIR="$bench_root/target/before" cargo build --release -q -p scanner-cli)
    cp "$bench_root/target/before/release/otscan" "$before_bin"
    echo "$before_rev" >"$out/before.rev"
    rm -rf "$src"
fi

bench_setup
"$net" up "$NS" "$SILENT24" >/dev/null
# The /20's route and rule beside the /24's (silent-net.sh up sets one range).
ip -n "$NS" route replace "$SPARSE20" via 127.255.255.2 dev sv0 src 127.255.255.1
ip -n "$NS" rule add pref 50 to "$SPARSE20" table main
cleanup_net() { "$net" down "$NS" 2>/dev/null || true; bench_cleanup; }
trap cleanup_net EXIT

# 41 of the plant's devices (1% of 4,096), every protocol family, each reachable on otscan's
# default ports (not .93, whose MELSEC UDP port is the plant's 5007, not otscan's 5006); the
# plant's other devices sit on silent addresses.
live_hosts="10 11 12 13 14 20 21 22 23 24 30 31 32 33 34 40 41 42 43 44 50 51 52 53 54 60 61 62 63 70 71 72 73 80 81 82 83 90 91 92 15"
live=()
for h in $live_hosts; do live+=("${PLANT_BASE%.*}.$h"); done
"$net" live "$NS" "${live[@]}"
start_bg "$out/plant.log" "$bin/plant" "$PLANT_BASE" 502 plant 44818 161 47808 102
wait_ready "$out/plant.log"

packets() { "$net" count "$NS"; }
requests() { grep -o '[0-9]* requests' "$1" | tail -1 | cut -d' ' -f1; }
estimate() { "$bin/otscan" scan "$@" --dry-run | grep 'expected duration' | sed 's/ *expected duration: *//'; }

# run NAME BINARY TARGET PROFILE: one scan; NAME.{time,wall,packets,requests,jsonl,txt}.
run() {
    local name=$1 binary=$2 target=$3 profile=$4 before after
    before=$(packets)
    timed "$out/$name.time" "$binary" scan "$target" --profile "$profile" -o "$out/$name.jsonl" \
        2>"$out/$name.txt" || echo "$name failed: $(tail -1 "$out/$name.txt")"
    after=$(packets)
    echo $((after - before)) >"$out/$name.packets"
    echo "$name: $(wall_s "$out/$name.time") s, $(cat "$out/$name.packets") packets, $(requests "$out/$name.txt") requests" >&2
}

run after-safe "$bin/otscan" "$SILENT24" safe
run after-normal "$bin/otscan" "$SILENT24" normal
run before-normal "$before_bin" "$SILENT24" normal
run before-safe "$before_bin" "$SILENT24" safe
if [ "${SPARSE:-1}" != 0 ]; then
    run sparse-safe "$bin/otscan" "$SPARSE20" safe
    run sparse-normal "$bin/otscan" "$SPARSE20" normal
fi

rate_of() { case $1 in safe) echo 100 ;; normal) echo 500 ;; esac; }
responsive() { grep -c '"responsive":true' "$1" || true; }
# row LABEL NAME PROFILE LIMIT_FROM [ESTIMATE]: one table row.
row() {
    local label=$1 name=$2 profile=$3 limit_from=$4 est=${5:-} limit
    limit=$(awk -v p="$(requests "$out/$limit_from.txt")" -v r="$(rate_of "$profile")" 'BEGIN { printf "%.1f", p / r }')
    echo "| $label | $(cat "$out/$name.packets") | $(requests "$out/$name.txt") | $(wall_s "$out/$name.time") | $limit | $(ratio "$(wall_s "$out/$name.time")" "$limit") | $est |"
}
echo
echo "Silent networks, $(date -u +%F), before = $(git -C "$bench_root" rev-parse --short "$before_rev"), after = $(git -C "$bench_root" rev-parse --short HEAD)$(git -C "$bench_root" diff --quiet || echo '+changes')"
echo "| scan | packets on the wire | requests | wall s | budget limit s | wall / limit | --dry-run estimate |"
echo "|---|---|---|---|---|---|---|"
row "silent /24, safe, before" before-safe safe after-safe
row "silent /24, safe, after" after-safe safe after-safe "$(estimate "$SILENT24" --profile safe)"
row "silent /24, normal, before" before-normal normal after-normal
row "silent /24, normal, after" after-normal normal after-normal "$(estimate "$SILENT24" --profile normal)"
if [ "${SPARSE:-1}" != 0 ]; then
    row "sparse /20, safe, after ($(responsive "$out/sparse-safe.jsonl")/41 devices found)" sparse-safe safe sparse-safe "$(estimate "$SPARSE20" --profile safe)"
    row "sparse /20, normal, after ($(responsive "$out/sparse-normal.jsonl")/41 devices found)" sparse-normal normal sparse-normal "$(estimate "$SPARSE20" --profile normal)"
fi
