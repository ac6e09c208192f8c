#!/usr/bin/env python3
"""Regenerates odva_vendors.tsv and cip_device_types.tsv in this folder from sources.tsv.

    python3 scanner-core/src/vendors/generate.py

sources.tsv (beside this script) is the input: one id -> name fact a line, each with the
public document it was read from and the words of that document that pair the id with the
name. Every fact comes from a vendor's own publication: an EDS file (whose [Device] section
holds `VendCode`, `VendName`, `ProdType` and `ProdTypeStr`) or a manual / documentation page
stating a product's CIP Identity Object values. None comes from Wireshark (GPL), nmap (NPSL)
or a table derived from them (pycomm3, pylogix, cpppo); see README.md.

The script only checks and reformats: it refuses a malformed line, an unknown table, an id
out of range, a name with a tab, and an id given twice with different names. It never
fetches anything.
"""

import datetime
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
SOURCES = HERE / "sources.tsv"
COLUMNS = ["table", "id", "name", "source", "evidence"]


def parse_id(table, text, line_no):
    try:
        value = int(text, 16) if table == "device_type" else int(text, 10)
    except ValueError:
        sys.exit(f"sources.tsv line {line_no}: bad id {text!r}")
    if table == "device_type" and not text.lower().startswith("0x"):
        sys.exit(f"sources.tsv line {line_no}: device types are written 0xNN, got {text!r}")
    if not 0 <= value <= 0xFFFF:
        sys.exit(f"sources.tsv line {line_no}: id {value} out of range")
    if table == "vendor" and value == 0:
        sys.exit(f"sources.tsv line {line_no}: vendor id 0 is reserved")
    return value


def read_sources():
    tables = {"vendor": {}, "device_type": {}}
    origins = {"vendor": set(), "device_type": set()}
    header_seen = False
    for line_no, line in enumerate(SOURCES.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if not header_seen:
            if fields != COLUMNS:
                sys.exit(f"sources.tsv line {line_no}: expected header {COLUMNS}")
            header_seen = True
            continue
        if len(fields) != len(COLUMNS):
            sys.exit(f"sources.tsv line {line_no}: {len(fields)} columns, want {len(COLUMNS)}")
        table, id_text, name, source, evidence = (f.strip() for f in fields)
        if table not in tables:
            sys.exit(f"sources.tsv line {line_no}: unknown table {table!r}")
        if not name or not source or not evidence:
            sys.exit(f"sources.tsv line {line_no}: name, source and evidence are required")
        key = parse_id(table, id_text, line_no)
        known = tables[table].get(key)
        if known is not None and known != name:
            sys.exit(f"sources.tsv line {line_no}: id {id_text} is {known!r} on an earlier line")
        tables[table][key] = name
        origins[table].add(source)
    if not header_seen:
        sys.exit("sources.tsv: no header line")
    return tables, origins


def write_tsv(path, header_lines, rows, id_format):
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for line in header_lines:
            out.write(f"# {line}\n" if line else "#\n")
        out.write("id\tname\n")
        for key in sorted(rows):
            out.write(f"{id_format(key)}\t{rows[key]}\n")


def main():
    if len(sys.argv) != 1:
        sys.exit(__doc__)
    tables, origins = read_sources()
    today = datetime.date.today().isoformat()

    def common(table):
        return [
            f"Sources: {len(origins[table])} public documents from device vendors (EDS files,",
            "  manuals, documentation pages), each listed with the quoted evidence in sources.tsv.",
            "Licence: no third-party table is copied; each row is a fact (an ODVA-assigned number",
            "  and its name) read from those documents. Nothing is taken from Wireshark (GPL), nmap",
            "  (NPSL) or tables derived from them (pycomm3, pylogix, cpppo).",
            f"Generated {today} by generate.py in this folder; do not edit by hand.",
        ]

    write_tsv(
        HERE / "odva_vendors.tsv",
        ["ODVA (CIP / EtherNet/IP) vendor ids: decimal id, vendor name as the source spells it."]
        + common("vendor")
        + ["Only ids a source confirms are listed; lookups of any other id return unknown."],
        tables["vendor"],
        str,
    )
    write_tsv(
        HERE / "cip_device_types.tsv",
        ["CIP device types (device profile numbers, CIP Vol 1 ch. 6): hex id, name."]
        + common("device_type")
        + ["Only types a source confirms are listed; lookups of any other type return unknown."],
        tables["device_type"],
        lambda k: f"0x{k:02X}",
    )
    print(f"{len(tables['vendor'])} vendors, {len(tables['device_type'])} device types")


if __name__ == "__main__":
    main()
