#!/usr/bin/env bash
# Peer comparison for BACnet/IP and S7 (issue 9): the plant's BACnet devices (.40-.45) and S7
# CPUs (.50-.55) on the registered ports (UDP 47808, TCP 102: nmap's scripts run on no other),
# scanned by otscan and by nmap with its identification scripts, in a network namespace of its
# own (benches/lib.sh), then a per-device, per-field table against what the plant serves.
#   otscan: the CLI, --probes s7,bacnet --timeout 1s, otherwise the defaults (profile safe).
#   nmap:   -n -Pn -sT -sU -p T:102,U:47808 --script bacnet-info,s7-info (its defaults).
# Then nmap's s7-info once more against .52 only, copied with its second TSAP changed from
# 0x0200 to 0x0100 (the only TSAP that CPU accepts), to see how it reads 30-byte SZL records;
# NMAP_VARIANT=0 skips it. Prints wall times, then bacnet_s7_report's tables.
# Usage: benches/peer_bacnet_s7.sh   (root)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BASE=127.66.0.0
TARGETS=127.66.0.40-55
out=${BENCH_OUT:-/tmp/otscan-bench-peer-bacnet-s7}
mkdir -p "$out"
bench_setup

# plant BASE MODBUS MODE ENIP SNMP BACNET S7: every protocol of the plant on its registered port.
start_bg "$out/plant.log" "$bin/plant" "$BASE" 502 plant 44818 161 47808 102
wait_ready "$out/plant.log"

timed "$out/otscan.time" "$bin/otscan" scan "$TARGETS" --probes s7,bacnet --timeout 1s \
    -o "$out/otscan.jsonl" 2>"$out/otscan.err" || {
    echo "otscan failed:"; cat "$out/otscan.err"; exit 1; }
timed "$out/nmap.time" nmap -n -Pn -sT -sU -p T:102,U:47808 --script bacnet-info,s7-info \
    "$TARGETS" -oN "$out/nmap.txt" >/dev/null 2>"$out/nmap.err"

variant=()
if [ "${NMAP_VARIANT:-1}" != 0 ]; then
    script=""
    for d in /usr/share/nmap/scripts /usr/local/share/nmap/scripts; do
        [ -f "$d/s7-info.nse" ] && { script="$d/s7-info.nse"; break; }
    done
    if [ -n "$script" ] && grep -q ' \.\. "200" \.\. ' "$script"; then
        sed 's/ \.\. "200" \.\. / .. "100" .. /' "$script" >"$out/s7-info-tsap0100.nse"
        timed "$out/nmap-variant.time" nmap -n -Pn -sT -p T:102 \
            --script "$out/s7-info-tsap0100.nse" "${BASE%.0}.52" -oN "$out/nmap-variant.txt" \
            >/dev/null 2>"$out/nmap-variant.err"
        variant=("$out/nmap-variant.txt")
    else
        echo "(s7-info.nse not found or its alternative TSAP not where expected: no variant run)"
    fi
fi

echo "BACnet/IP .40-.45 and S7 .50-.55 of the plant ($TARGETS), one run each, $(date -u +%F)"
echo "| tool | wall s | CPU s | peak RSS MiB |"
echo "|---|---|---|---|"
echo "| otscan --probes s7,bacnet --timeout 1s | $(wall_s "$out/otscan.time") | $(cpu_s "$out/otscan.time") | $(rss_mib "$out/otscan.time") |"
echo "| nmap --script bacnet-info,s7-info | $(wall_s "$out/nmap.time") | $(cpu_s "$out/nmap.time") | $(rss_mib "$out/nmap.time") |"
if [ ${#variant[@]} -gt 0 ]; then
    echo "| nmap, s7-info with TSAP 0x0100, .52 only | $(wall_s "$out/nmap-variant.time") | $(cpu_s "$out/nmap-variant.time") | $(rss_mib "$out/nmap-variant.time") |"
fi
tail -n 1 "$out/otscan.err"
echo
"$bin/bacnet_s7_report" "$BASE" "$out/otscan.jsonl" "$out/nmap.txt" "${variant[@]}"
