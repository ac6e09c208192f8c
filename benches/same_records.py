#!/usr/bin/env python3
"""Compares the records of two otscan NDJSON outputs after dropping what differs between any
two runs (scan_id, observed_at, each service's timestamp and rtt_ms), sorted by line: prints
`same N records` and exits 0, or the first differences and exits 1.
Records that differ only in a service's `requests` count are reported apart (and do not fail):
which first packet of the liveness phase is answered first is a race on loopback (a refused
SYN or the SNMP reply), so a device's probe may resend the SYN the phase already sent; two
runs of one build differ so on a few records.
Usage: benches/same_records.py A.jsonl B.jsonl   (used to check that a performance change
leaves every record of benches/throughput.sh's scan byte-identical, issue 16)."""
import json
import sys

VOLATILE = {"scan_id", "observed_at", "timestamp", "rtt_ms"}


def strip(value, volatile=VOLATILE):
    if isinstance(value, dict):
        return {k: strip(v, volatile) for k, v in value.items() if k not in volatile}
    if isinstance(value, list):
        return [strip(v, volatile) for v in value]
    return value


def lines(path, volatile=VOLATILE):
    with open(path, encoding="utf-8") as f:
        return sorted(
            json.dumps(strip(json.loads(line), volatile), sort_keys=True) for line in f if line.strip()
        )


def main():
    a, b = lines(sys.argv[1]), lines(sys.argv[2])
    if a == b:
        print(f"same {len(a)} records")
        return 0
    with_requests = VOLATILE | {"requests"}
    if lines(sys.argv[1], with_requests) == lines(sys.argv[2], with_requests):
        print(f"same {len(a)} records but for the requests count of {len(set(a) - set(b))} (liveness race)")
        return 0
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    print(f"differ: {len(a)} vs {len(b)} records; {len(only_a)} only in A, {len(only_b)} only in B")
    for line in only_a[:3]:
        print("A:", line[:400])
    for line in only_b[:3]:
        print("B:", line[:400])
    return 1


if __name__ == "__main__":
    sys.exit(main())
