#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for N seconds (default 60), at most JOBS at a time
# (default 2: CI machines have two cores), then prints per target: executions, executions per
# second, coverage (libFuzzer's cov = edges, ft = features), corpus size, peak memory, crashes.
# Exits 1 if any target found a crash; the inputs are in fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh            # one minute each
#   scripts/fuzz.sh 300        # five minutes each
#   JOBS=1 scripts/fuzz.sh 30 snmp_message enip_reply   # some targets only
#
# cargo-fuzz needs unstable rustc flags (-Z sanitizer); RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them, so no nightly is needed.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
jobs=${JOBS:-2}
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

if [ "$#" -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi
cargo fuzz build -O >/dev/null

# Longest input worth trying: a little over each parser's reply cap.
max_len() {
    case "$1" in
        modbus_*) echo 300 ;;
        enip_reply) echo 4096 ;;
        snmp_message) echo 9000 ;;
        snmp_engine_id) echo 64 ;;
        bacnet_reply) echo 1600 ;;
        s7_reply) echo 4096 ;;
        fins_reply) echo 1200 ;;
        melsec_reply) echo 600 ;;
        knx_reply) echo 2100 ;;
        ads_reply) echo 2100 ;;
        hart_reply) echo 1100 ;;
        profinet_reply) echo 1600 ;;
        codesys_reply) echo 1600 ;;
        opcua_reply) echo 20000 ;;
        http_reply) echo 20000 ;;
        tls_legacy_reply) echo 8000 ;;
        targets) echo 256 ;;
        *) echo 4096 ;;
    esac
}

mkdir -p logs
run() {
    local t=$1
    mkdir -p "corpus/$t" "seeds/$t" "artifacts/$t"
    cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 >"logs/$t.log" 2>&1 || true
}

running=0
for t in "${targets[@]}"; do
    run "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

crashed=0
printf '%-22s %14s %10s %8s %8s %8s %8s %8s\n' target executions exec/s cov ft corpus rss_mb crashes
for t in "${targets[@]}"; do
    log="logs/$t.log"
    stat() { grep -m1 "stat::$1:" "$log" | awk '{print $2}'; }
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    field() { echo "$last" | grep -oE "$1: *[0-9]+[kMb]*" | head -1 | awk '{print $2}'; }
    crashes=$(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
    [ "$crashes" -gt 0 ] && crashed=1
    printf '%-22s %14s %10s %8s %8s %8s %8s %8s\n' "$t" "$(stat number_of_executed_units)" \
        "$(stat average_exec_per_sec)" "$(field cov)" "$(field ft)" "$(field corp)" \
        "$(stat peak_rss_mb)" "$crashes"
done
exit "$crashed"
