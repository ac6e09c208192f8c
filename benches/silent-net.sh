#!/usr/bin/env bash
# A silent network for tests and benches (issue 16): addresses where nothing answers, not
# even a RST or an ICMP error, as most addresses of a real OT network.
#
#   benches/silent-net.sh up    [NS] [RANGE]   create namespace NS (if missing) and NS-peer
#   benches/silent-net.sh down  [NS]           delete both
#   benches/silent-net.sh live  NS ADDR...     keep ADDRs of RANGE on NS's loopback (devices)
#   benches/silent-net.sh run   [NS] CMD...    run CMD inside NS
#   benches/silent-net.sh count [NS]           packets sent into the silent range so far
#
# Defaults: NS=otscan-silent, RANGE=127.200.0.0/16. Needs root and iproute2.
#
# How: NS gets a veth pair to a second namespace NS-peer (`sv0` in NS, `sv1` in NS-peer,
# IPv6 off on both so nothing but our packets crosses). RANGE is routed out of sv0 via a
# neighbour (127.255.255.2) whose MAC is a permanent fake one: every packet to RANGE leaves sv0
# with a destination MAC no interface has, and NS-peer drops it silently. For a 127.x range to
# be routed at all, `route_localnet` is on for sv0 and the `local` routing rule (priority 0,
# which would deliver all of 127.0.0.0/8 to lo) is moved after a rule that sends RANGE to the
# main table. Every other 127.x address of NS stays on its loopback, so simulated devices
# there keep answering.
#
# NETWORK RULE: only loopback-range addresses, inside namespaces this script made; nothing
# leaves the machine (sv1 is in NS-peer, which has no other interface, and drops all it gets).
# `count` reads sv0's tx_packets: every packet sent to RANGE, SYNs, datagrams and the kernel's
# own retransmissions alike, and nothing else (no ARP: the neighbour is permanent; no IPv6).
set -euo pipefail

cmd=${1:-}
shift || true
NS=${1:-otscan-silent}
shift || true
PEER="$NS-peer"
GATEWAY=127.255.255.2
LOCAL_ADDR=127.255.255.1
FAKE_MAC=02:00:5e:00:de:ad

need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "$0: needs root (network namespaces)" >&2
        exit 2
    fi
}

case "$cmd" in
up)
    need_root
    RANGE=${1:-127.200.0.0/16}
    case "$RANGE" in
    127.*) ;;
    *) echo "$0: RANGE must be in 127.0.0.0/8: $RANGE" >&2; exit 2 ;;
    esac
    ip netns list | grep -qx "$NS\( .*\)\?" || ip netns add "$NS"
    ip netns del "$PEER" 2>/dev/null || true
    ip netns add "$PEER"
    n() { ip -n "$NS" "$@"; }
    n link set lo up
    n link del sv0 2>/dev/null || true
    n link add sv0 type veth peer name sv1 netns "$PEER"
    ip netns exec "$NS" sysctl -qw net.ipv6.conf.sv0.disable_ipv6=1
    ip netns exec "$PEER" sysctl -qw net.ipv6.conf.sv1.disable_ipv6=1
    ip netns exec "$NS" sysctl -qw net.ipv4.conf.sv0.route_localnet=1
    ip netns exec "$NS" sysctl -qw net.ipv4.conf.all.route_localnet=1
    n addr add "$LOCAL_ADDR/30" dev sv0
    n link set sv0 up
    ip -n "$PEER" link set sv1 up
    n neigh replace "$GATEWAY" lladdr "$FAKE_MAC" dev sv0 nud permanent
    n route replace "$RANGE" via "$GATEWAY" dev sv0 src "$LOCAL_ADDR"
    # RANGE to the main table before the local rule, which moves after it.
    n rule del pref 0 table local 2>/dev/null || true
    n rule del pref 100 table local 2>/dev/null || true
    n rule add pref 100 table local
    n rule del pref 50 2>/dev/null || true
    n rule add pref 50 to "$RANGE" table main
    echo "$NS: $RANGE is silent (routed to $GATEWAY, fake MAC $FAKE_MAC, dropped in $PEER)"
    ;;
down)
    need_root
    ip netns del "$PEER" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    ;;
live)
    need_root
    # Before the range's rule (50), after nothing else: these stay local, so a simulated
    # device bound there answers while the rest of the range stays silent.
    for addr in "$@"; do
        ip -n "$NS" rule add pref 40 to "$addr/32" table local
    done
    ;;
run)
    need_root
    exec ip netns exec "$NS" "$@"
    ;;
count)
    need_root
    ip netns exec "$NS" cat /sys/class/net/sv0/statistics/tx_packets
    ;;
*)
    sed -n '2,13p' "$0" >&2
    exit 2
    ;;
esac
