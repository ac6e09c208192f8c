# Shared by the bench scripts (sourced, not run). Needs root, ip(8), /usr/bin/time.
#
# Every bench runs in a network namespace of its own: its loopback is private, so the simulated
# devices can bind the registered ports (502, 44818, 161) on 127.x addresses without meeting
# anything else on the machine, and nothing the benches send can leave it. In that namespace
# the kernel's global ICMP rate limit (net.ipv4.icmp_ratemask, per namespace) is lifted: on
# loopback one kernel answers for all 65,536 "hosts" of a /16, so its default of 1000
# port-unreachable messages per second would time out every UDP probe of an empty address
# after the first thousand, a limit of the simulation, not of a real network where every host
# sends its own. Set BENCH_KEEP_ICMP_LIMIT=1 to keep the default.

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${CARGO_TARGET_DIR:-$bench_root/target}/release"
NS="otscan-bench-$$"
BENCH_PIDS=()

bench_cleanup() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${BENCH_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
}

bench_setup() {
    if [ "$(id -u)" != 0 ]; then echo "$0: needs root (network namespace, ports < 1024)" >&2; exit 2; fi
    (cd "$bench_root" && cargo build --release -q -p scanner-cli -p otscan-benches)
    # One descriptor per simulated service and per socket in flight.
    ulimit -n "$(ulimit -Hn)"
    ip netns add "$NS"
    trap bench_cleanup EXIT
    ip netns exec "$NS" ip link set lo up
    if [ -z "${BENCH_KEEP_ICMP_LIMIT:-}" ]; then
        ip netns exec "$NS" sysctl -qw net.ipv4.icmp_ratemask=0
    fi
}

in_ns() { ip netns exec "$NS" "$@"; }

# start_bg LOG CMD...: runs CMD in the namespace in the background, stopped on exit.
start_bg() {
    local log=$1; shift
    # Not through in_ns: `ip netns exec` execs CMD, so $! is CMD itself and can be stopped.
    ip netns exec "$NS" "$@" >"$log" 2>&1 &
    BENCH_PIDS+=($!)
}

# wait_ready LOG: waits (at most 60 s) for a plant to print "ready".
wait_ready() {
    local i
    for i in $(seq 600); do
        grep -q ': ready' "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$0: the plant did not start:" >&2; cat "$1" >&2; exit 1
}

# timed TIMEFILE CMD...: runs CMD in the namespace under /usr/bin/time -v (CPU time, peak RSS),
# and writes its wall time in seconds, to the millisecond, to TIMEFILE.wall.
timed() {
    local t=$1 start end status=0; shift
    start=$(date +%s%N)
    in_ns /usr/bin/time -v -o "$t" "$@" || status=$?
    end=$(date +%s%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }' >"$t.wall"
    return $status
}

wall_s() { cat "$1.wall"; }
cpu_s() { awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$1"; }
rss_mib() { awk -F': ' '/Maximum resident/ {printf "%.1f", $2/1024}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a/b; else print "n/a" }'; }
per_s() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n/s; else print "n/a" }'; }

# median DIR NAME RUNS: copies the run of NAME (files DIR/NAME-K.time*) with the median wall
# time to DIR/NAME.time*, and prints K.
median() {
    local dir=$1 name=$2 runs=$3 k f
    k=$(for r in $(seq "$runs"); do echo "$(cat "$dir/$name-$r.time.wall") $r"; done |
        sort -n | awk -v m=$(( (runs + 1) / 2 )) 'NR == m {print $2}')
    for f in time time.wall; do cp "$dir/$name-$k.$f" "$dir/$name.$f"; done
    echo "$k"
}

# throughput_plant OUT_DIR: the setup of throughput.sh, profile.sh and ab.sh: the namespace and
# bigplant's COUNT=512 devices over NET=127.64.0.0/16 (CONCURRENCY and TIMEOUT_MS default to
# 1024 and 1000 ms); sets out=OUT_DIR.
throughput_plant() {
    NET=127.64.0.0/16
    COUNT=512
    CONCURRENCY=${CONCURRENCY:-1024}
    TIMEOUT_MS=${TIMEOUT_MS:-1000}
    out=$1
    mkdir -p "$out"
    bench_setup
    start_bg "$out/plant.log" "$bin/bigplant" "$NET" "$COUNT" 0 502 44818 161 "$out/manifest.tsv"
    wait_ready "$out/plant.log"
}
