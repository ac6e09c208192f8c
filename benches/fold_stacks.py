#!/usr/bin/env python3
"""Folds `perf script` output (stdin) into flame graph stacks (stdout): one line per distinct
stack, root first, frames joined by ';', then a space and the sample count, the format that
inferno-flamegraph and flamegraph.pl draw. With --self N: the N hottest leaf frames instead.
Written for benches/profile.sh (no flame graph tool is installed on the bench machine)."""
import re
import sys
from collections import Counter


def frames(lines):
    stack = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if stack:
                yield stack
            stack = []
            continue
        if not line[0].isspace():
            stack = [line.split()[0]]  # the sample's header: the command name
            continue
        parts = line.strip().split(None, 1)
        if len(parts) < 2:
            continue
        sym = re.sub(r"\+0x[0-9a-f]+$", "", parts[1].rsplit(" (", 1)[0])
        sym = re.sub(r"::h[0-9a-f]{16}$", "", sym)  # the rustc hash suffix
        stack.append(sym.replace(";", ":").replace(" ", "_"))
    if stack:
        yield stack


def main():
    self_top = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "--self" else 0
    folded = Counter()
    for stack in frames(sys.stdin):
        comm, calls = stack[0], stack[1:]
        folded[";".join([comm] + calls[::-1])] += 1
    if self_top:
        leaves = Counter()
        total = sum(folded.values())
        for s, n in folded.items():
            leaves[s.rsplit(";", 1)[-1]] += n
        for sym, n in leaves.most_common(self_top):
            print(f"{100 * n / total:6.2f}% {sym}")
        return
    for s, n in sorted(folded.items()):
        print(f"{s} {n}")


if __name__ == "__main__":
    main()
