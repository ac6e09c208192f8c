#!/usr/bin/env python3
"""Regenerates bacnet_vendors.tsv in this folder from bacnet-rs's copy of ASHRAE's BACnet vendor ids.

    python3 scanner-core/src/vendors/generate_bacnet.py \\
        ~/.cargo/registry/src/index.crates.io-*/bacnet-rs-0.3.2

ASHRAE assigns BACnet vendor identifiers and publishes the list ("BACnet Vendor IDs",
https://bacnet.org/assigned-vendor-ids/) as a web page only. The crate bacnet-rs (MIT OR
Apache-2.0) carries a machine-readable copy of it: `const BACNET_VENDORS: &[(u16, &str)]` in
`src/vendor.rs`, one `(id, "name")` tuple per vendor. Give this script the crate's folder (as
`cargo fetch` unpacks it, with `.cargo_vcs_info.json`, `Cargo.toml` and the licence files) or
a git checkout of it and `--commit`; it reads the tuples as data (nothing of the crate's code
is used), keeps every id with the name as written, drops the ids the list marks "Reserved for
ASHRAE", and writes `id<TAB>name` rows under a header naming the crate, its version, the
commit, its licence and today's date. See bacnet_vendors.md.

It never fetches anything. It refuses a copy without both licence files or whose licence is
not MIT/Apache-2.0, an id given twice, an id above 65535 and a name with a tab or no text.
"""

import argparse
import datetime
import json
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "bacnet_vendors.tsv"

TABLE_START = "const BACNET_VENDORS: &[(u16, &str)] = &["
# One tuple, possibly wrapped by rustfmt over several lines: (id, "name"),
ROW = re.compile(r'\(\s*(\d+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*,?\s*\)', re.S)
RESERVED = "Reserved for ASHRAE"


def crate_facts(root):
    """Version, commit and licence of the crate copy, checked."""
    cargo = (root / "Cargo.toml").read_text(encoding="utf-8")
    name = re.search(r'^name\s*=\s*"([^"]+)"', cargo, re.M)
    version = re.search(r'^version\s*=\s*"([^"]+)"', cargo, re.M)
    licence = re.search(r'^license\s*=\s*"([^"]+)"', cargo, re.M)
    if not (name and name.group(1) == "bacnet-rs" and version and licence):
        sys.exit(f"{root}: Cargo.toml does not name the bacnet-rs crate, a version and a licence")
    if licence.group(1) not in ("MIT OR Apache-2.0", "Apache-2.0 OR MIT", "MIT"):
        sys.exit(f"{root}: licence {licence.group(1)!r} is not MIT/Apache-2.0; review before use")
    mit = root / "LICENSE-MIT"
    if not mit.exists() or not (root / "LICENSE-APACHE").exists():
        sys.exit(f"{root}: LICENSE-MIT and LICENSE-APACHE must both be present")
    notice = next(
        (l.strip() for l in mit.read_text(encoding="utf-8").splitlines() if l.startswith("Copyright")),
        None,
    )
    if notice is None:
        sys.exit(f"{mit}: no Copyright line")
    commit = None
    vcs = root / ".cargo_vcs_info.json"
    if vcs.exists():
        commit = json.loads(vcs.read_text(encoding="utf-8"))["git"]["sha1"]
    return version.group(1), licence.group(1), notice, commit


def read_table(path):
    text = path.read_text(encoding="utf-8")
    start = text.find(TABLE_START)
    if start < 0:
        sys.exit(f"{path}: no `{TABLE_START}`; has the crate changed its layout?")
    body = text[start + len(TABLE_START):]
    end = body.find("\n];")
    if end < 0:
        sys.exit(f"{path}: the BACNET_VENDORS table never ends")
    body = body[:end]
    # Every line of the table must be a comment, a (part of a) tuple, or blank: a line the
    # pattern below does not consume would be a row silently lost.
    leftover = ROW.sub("", body)
    leftover = re.sub(r"//[^\n]*", "", leftover)
    if leftover.strip(" \n,"):
        sys.exit(f"{path}: unreadable text in the table: {leftover.strip()[:80]!r}")
    rows = {}
    for match in ROW.finditer(body):
        vid, name = int(match.group(1)), match.group(2)
        if "\\" in name:
            sys.exit(f"{path}: vendor {vid}: escape sequences are not expected: {name!r}")
        if vid > 0xFFFF:
            sys.exit(f"{path}: vendor id {vid} does not fit 16 bits")
        if vid in rows:
            sys.exit(f"{path}: vendor id {vid} given twice ({rows[vid]!r}, {name!r})")
        name = name.strip()
        if not name or "\t" in name:
            sys.exit(f"{path}: vendor {vid}: empty name or a tab")
        rows[vid] = name
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("crate", help="folder of the bacnet-rs crate (or a checkout of its repository)")
    parser.add_argument("--commit", help="git commit of a checkout without .cargo_vcs_info.json")
    args = parser.parse_args()

    root = pathlib.Path(args.crate).expanduser()
    version, licence, notice, commit = crate_facts(root)
    commit = args.commit or commit
    if not commit or not re.fullmatch(r"[0-9a-f]{40}", commit):
        sys.exit("the commit read is unknown: give --commit with 40 hex digits")
    rows = read_table(root / "src" / "vendor.rs")
    reserved = sorted(vid for vid, name in rows.items() if name == RESERVED)
    for vid in reserved:
        del rows[vid]

    today = datetime.date.today().isoformat()
    header = [
        "BACnet vendor identifiers (ASHRAE-assigned): decimal id, vendor name as the list spells it.",
        "Source: ASHRAE's list \"BACnet Vendor IDs\" (https://bacnet.org/assigned-vendor-ids/),",
        f"  read from its machine-readable copy in the bacnet-rs crate {version} (crates.io),",
        "  src/vendor.rs, table BACNET_VENDORS, repository https://github.com/bacnet-rs/bacnet-rs,",
        f"  commit {commit}.",
        f"Licence: bacnet-rs is {licence} (LICENSE-MIT, LICENSE-APACHE; {notice});",
        "  each row is a fact (an ASHRAE-assigned number and its assignee). See bacnet_vendors.md.",
        f"Ids the list reserves for ASHRAE ({', '.join(map(str, reserved))}) are left out.",
        f"Generated {today} by generate_bacnet.py in this folder; do not edit by hand.",
    ]
    with open(OUT, "w", encoding="utf-8", newline="\n") as out:
        for line in header:
            out.write(f"# {line}\n")
        out.write("id\tname\n")
        for vid in sorted(rows):
            out.write(f"{vid}\t{rows[vid]}\n")
    print(f"{len(rows)} BACnet vendor ids written to {OUT.name} ({len(reserved)} reserved ids left out)")


if __name__ == "__main__":
    main()
