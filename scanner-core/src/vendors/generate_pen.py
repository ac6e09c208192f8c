#!/usr/bin/env python3
"""Regenerates iana_pen.tsv in this folder from a copy of IANA's Private Enterprise Numbers registry.

    python3 scanner-core/src/vendors/generate_pen.py enterprise-numbers.txt \\
        --source "https://www.iana.org/assignments/enterprise-numbers.txt"

The registry (https://www.iana.org/assignments/enterprise-numbers.txt) lists every PEN as a
number on a line of its own followed by the organization, the contact and the e-mail address,
each indented two spaces further. The script keeps only the numbers in SELECTION below (vendors
an OT / network scan meets, see iana_pen.md), takes each organization name exactly as the
registry spells it, and writes `pen<TAB>organization` rows under a header naming the registry
copy, its "last updated" date and today's date.

It never fetches anything: give it a local copy of the registry. It refuses a selected number
the copy does not have, one the registry marks unassigned or reserved, and a name with a tab.
"""

import argparse
import datetime
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "iana_pen.tsv"

# PENs to keep, grouped by why a scan meets them. A number enters only after its registry
# entry has been read; the name always comes from the registry, never from this list.
SELECTION = {
    "networking and IT": [
        2, 9, 11, 42, 43, 52, 63, 94, 99, 116, 119, 161, 171, 186, 193, 207, 236, 259, 289,
        311, 343, 368, 637, 641, 664, 674, 789, 890, 1991, 2011, 2620, 2623, 2636, 3845,
        3902, 3955, 4413, 4526, 8741, 8886, 12356, 12394, 13644, 14988, 25461, 25506,
    ],
    "SNMP agent software": [2021, 8072, 12325],
    "industrial automation and OT networking": [
        95, 244, 248, 332, 339, 396, 409, 553, 618, 623, 1966, 2736, 2743, 3833, 4329, 4346,
        4399, 4473, 8679, 8691, 13576, 14951, 15004, 16177, 16328, 20540, 20542, 20583,
    ],
    "power, UPS and racks": [318, 476, 534, 705, 850, 2084, 2606, 3808, 13742],
}

# Registry lines that wrap a contact's name onto the organization line. Each override states
# the registry's own text so a reviewer can see only the stray word was removed.
OVERRIDES = {
    # Registry: "U.C. Davis, ECE Dept. Tom" / "Arons" (the contact is Tom Arons).
    2021: ("U.C. Davis, ECE Dept. Tom", "U.C. Davis, ECE Dept."),
}

NUMBER = re.compile(r"^(\d+)$")
UPDATED = re.compile(r"\(last updated (\d{4}-\d{2}-\d{2})\)")


def read_registry(path):
    text = pathlib.Path(path).read_text(encoding="utf-8")
    updated = UPDATED.search(text)
    if not updated:
        sys.exit(f"{path}: no '(last updated YYYY-MM-DD)' line; is this the IANA registry?")
    names = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = NUMBER.match(line)
        if match and i + 1 < len(lines) and lines[i + 1].startswith("  "):
            names[int(match.group(1))] = lines[i + 1].strip()
    return updated.group(1), names


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registry", help="local copy of enterprise-numbers.txt")
    parser.add_argument("--source", required=True, help="where the copy came from, for the header")
    args = parser.parse_args()

    updated, registry = read_registry(args.registry)
    rows = {}
    for group, pens in SELECTION.items():
        for pen in pens:
            if pen in rows:
                sys.exit(f"PEN {pen} is selected twice")
            name = registry.get(pen)
            if name is None:
                sys.exit(f"PEN {pen} ({group}) is not in {args.registry}")
            if name.lower().startswith(("unassigned", "reserved", "---none---")):
                sys.exit(f"PEN {pen} ({group}) is {name!r} in the registry")
            if pen in OVERRIDES:
                expected, fixed = OVERRIDES[pen]
                if name != expected:
                    sys.exit(f"PEN {pen}: registry now reads {name!r}; review the override")
                name = fixed
            if "\t" in name:
                sys.exit(f"PEN {pen}: name contains a tab")
            rows[pen] = name

    today = datetime.date.today().isoformat()
    header = [
        "IANA Private Enterprise Numbers (SMI Network Management Private Enterprise Codes,",
        "  prefix iso.org.dod.internet.private.enterprise 1.3.6.1.4.1): a curated subset.",
        f"Source: the IANA registry, last updated {updated}: {args.source}",
        "Licence: IANA publishes its registries for anyone's use; each row is a registry fact",
        "  (a number and its assignee's name as the registry spells it). See iana_pen.md.",
        f"Generated {today} by generate_pen.py in this folder; do not edit by hand.",
        "Numbers not listed are not unknown to IANA, only to this subset: show them bare.",
    ]
    with open(OUT, "w", encoding="utf-8", newline="\n") as out:
        for line in header:
            out.write(f"# {line}\n")
        out.write("pen\torganization\n")
        for pen in sorted(rows):
            out.write(f"{pen}\t{rows[pen]}\n")
    print(f"{len(rows)} enterprise numbers written to {OUT.name}")


if __name__ == "__main__":
    main()
