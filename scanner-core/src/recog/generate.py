#!/usr/bin/env python3
"""Regenerates the Recog match tables in tables/ from the Recog XML subset in xml/.

    python3 scanner-core/src/recog/generate.py           # writes tables/
    python3 scanner-core/src/recog/generate.py --check   # exits 1 when tables/ differs

Input: every `xml/*.xml` beside this script, each a verbatim subset of one file of Rapid7's
Recog (github.com/rapid7/recog, BSD-2-Clause, licence text in xml/LICENSE) whose leading
comment names the Recog path and the commit it was read at (see README.md).

Output, per XML file `NAME.xml`: `tables/NAME.json`, one JSON object with the source file,
commit, licence text, the database's root attributes, the fingerprints (one a line) and the
fingerprints left out because Rust's `regex` crate has no equivalent of a Ruby construct
they use (with the reason). Plus `tables/generated.rs`, the list of tables the Rust module
embeds with `include_str!`, so a new XML file needs no Rust change.

Pattern translation (Recog's patterns are Ruby regular expressions, see
lib/recog/fingerprint/regexp_factory.rb): Ruby's `^` and `$` always match at line starts
and ends, so every pattern gets Rust's `(?m)`; Ruby's MULTILINE (Recog flags REG_MULTILINE,
REG_DOT_NEWLINE, REG_LINE_ANY_CRLF, and an inline `m`) is "dot matches newline", Rust's
`s`; REG_ICASE is `i`. `\\A` and `\\z` are kept (Rust has them); `\\Z` (end, or before a
final newline) becomes `(?:\\n?\\z)`; `\\h` / `\\H` (hex digit) become `[0-9a-fA-F]` /
`[^0-9a-fA-F]`; `\\e` becomes `\\x1B`; `\\<` and `\\>` (literal in Ruby, word
boundaries in Rust) become `<` and `>`; `\\R` (any line break) becomes its alternation;
`{,n}` becomes `{0,n}` and a `{` that starts no repetition is escaped. Lookaround,
backreferences, atomic groups, possessive quantifiers, `\\G`, `\\K`, `\\c` control escapes
and absence operators have no translation: such fingerprints are skipped (listed in the
table's `skipped` field and printed). The Rust side compiles the patterns as byte patterns
without Unicode (`regex::bytes`, `unicode(false)`), so `\\d`, `\\w` and `\\s` are ASCII as
Ruby's are.

Standard library only; it never fetches anything.
"""

import base64
import json
import pathlib
import re
import sys
import xml.etree.ElementTree as ET

HERE = pathlib.Path(__file__).resolve().parent
XML_DIR = HERE / "xml"
TABLES = HERE / "tables"
LICENSE = XML_DIR / "LICENSE"

FLAG_MAP = {
    "REG_ICASE": "i",
    "REG_MULTILINE": "s",
    "REG_DOT_NEWLINE": "s",
    "REG_LINE_ANY_CRLF": "s",
}


class Untranslatable(Exception):
    """A Ruby construct Rust's regex crate has no equivalent for."""


def translate(pattern):
    """The Rust spelling of a Ruby pattern, or Untranslatable with the reason."""
    out = []
    i = 0
    n = len(pattern)
    in_class = 0
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise Untranslatable("trailing backslash")
            e = pattern[i + 1]
            if e == "h":
                out.append("0-9a-fA-F" if in_class else "[0-9a-fA-F]")
            elif e == "H":
                if in_class:
                    raise Untranslatable("\\H inside a character class")
                out.append("[^0-9a-fA-F]")
            elif e == "e":
                out.append("\\x1B")
            elif e in "<>":
                # Ruby: the literal character; Rust: a word boundary.
                out.append(e)
            elif e == "R" and not in_class:
                out.append("(?:\\r\\n|[\\n\\v\\f\\r\\x{85}\\x{2028}\\x{2029}])")
            elif e == "c":
                raise Untranslatable("control escape \\c")
            elif e == "Z" and not in_class:
                out.append("(?:\\n?\\z)")
            elif e in "GK" and not in_class:
                raise Untranslatable(f"\\{e} (match-start anchor / keep)")
            elif e.isdigit() and e != "0" and not in_class:
                raise Untranslatable(f"backreference \\{e}")
            elif e == "k" and not in_class:
                raise Untranslatable("named backreference \\k")
            elif e == "g" and not in_class:
                raise Untranslatable("subexpression call \\g")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "[":
                # A POSIX class `[:alpha:]` or a nested class.
                if pattern.startswith("[:", i):
                    end = pattern.find(":]", i + 2)
                    if end < 0:
                        raise Untranslatable("unclosed POSIX class")
                    out.append(pattern[i : end + 2])
                    i = end + 2
                    continue
                in_class += 1
            elif c == "]":
                in_class -= 1
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = 1
            out.append(c)
            i += 1
            # A `]` or `^]` right after the opening bracket is literal.
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if c == "(" and pattern.startswith("(?", i):
            rest = pattern[i + 2 :]
            if rest[:1] in ("=", "!") or rest[:2] in ("<=", "<!"):
                raise Untranslatable("lookaround")
            if rest[:1] == ">":
                raise Untranslatable("atomic group")
            if rest[:1] == "~":
                raise Untranslatable("absence operator")
            if rest[:1] == "#":
                end = pattern.find(")", i)
                i = end + 1 if end >= 0 else n
                continue
            m = re.match(r"([imx]*)(?:-([imx]*))?([:)])", rest)
            if m:
                on = m.group(1).replace("m", "s")
                off = (m.group(2) or "").replace("m", "s")
                out.append("(?" + on + ("-" + off if m.group(2) is not None else "") + m.group(3))
                i += 2 + m.end()
                continue
            out.append("(?")
            i += 2
            continue
        if c in "*+?}" and i + 1 < n and pattern[i + 1] == "+":
            raise Untranslatable("possessive quantifier")
        if c == "{":
            m = re.match(r"\{(\d*)(,?)(\d*)\}", pattern[i:])
            if m and (m.group(1) or m.group(3)):
                lo = m.group(1) or "0"
                out.append("{" + lo + m.group(2) + m.group(3) + "}")
                i += m.end()
                if i < n and pattern[i] == "+":
                    raise Untranslatable("possessive quantifier")
                continue
            out.append("\\{")
            i += 1
            continue
        if c == "}":
            out.append("\\}")
            i += 1
            continue
        out.append(c)
        i += 1
    if in_class:
        raise Untranslatable("unclosed character class")
    return "".join(out)


def rust_regex(pattern, flags):
    letters = "m"
    for flag in flags:
        if flag not in FLAG_MAP:
            raise Untranslatable(f"unknown flag {flag}")
        if FLAG_MAP[flag] not in letters:
            letters += FLAG_MAP[flag]
    return f"(?{letters})" + translate(pattern)


def read_header(text, name):
    """The Recog path and commit the XML file's leading comment names."""
    m = re.search(
        r"rapid7/recog(?:\s+|, path\s+)(xml/\S+\.xml),?\s+(?:at\s+)?commit\s+([0-9a-f]{40})", text
    )
    if not m:
        sys.exit(f"{name}: the leading comment must name 'rapid7/recog xml/NAME.xml at commit SHA'")
    return m.group(1), m.group(2)


def example_of(element, name):
    attrs = dict(element.attrib)
    text = element.text or ""
    if "_filename" in attrs:
        return None
    encoding = attrs.pop("_encoding", None)
    if encoding == "base64":
        compact = "".join(text.split())
        try:
            base64.b64decode(compact, validate=True)
        except ValueError as err:
            sys.exit(f"{name}: bad base64 example {compact[:40]!r}: {err}")
        return {"base64": compact, "attrs": attrs}
    if encoding is not None:
        sys.exit(f"{name}: unknown example encoding {encoding!r}")
    return {"text": text, "attrs": attrs}


def convert(path, license_text):
    raw = path.read_text(encoding="utf-8")
    source, commit = read_header(raw, path.name)
    if pathlib.PurePosixPath(source).name != path.name:
        sys.exit(f"{path.name}: its comment names {source}")
    root = ET.fromstring(raw.encode("utf-8"))
    if root.tag != "fingerprints":
        sys.exit(f"{path.name}: root element is {root.tag}")
    fingerprints, skipped = [], []
    for fp in root.findall("fingerprint"):
        pattern = fp.get("pattern")
        description = " ".join((fp.findtext("description") or "").split())
        flags = [f for f in (fp.get("flags") or "").replace(",", " ").split() if f]
        try:
            regex = rust_regex(pattern, flags)
        except Untranslatable as why:
            skipped.append({"description": description, "pattern": pattern, "reason": str(why)})
            continue
        params = []
        for p in fp.findall("param"):
            params.append([int(p.get("pos")), p.get("name"), p.get("value") or ""])
        examples = [e for e in (example_of(x, path.name) for x in fp.findall("example")) if e]
        fingerprints.append(
            {
                "description": description,
                "pattern": pattern,
                "flags": flags,
                "regex": regex,
                "params": params,
                "examples": examples,
            }
        )
    header = {
        "database": path.stem,
        "source": f"rapid7/recog {source}",
        "commit": commit,
        "generated_by": "scanner-core/src/recog/generate.py from scanner-core/src/recog/xml/"
        + path.name,
        "license": "BSD-2-Clause: " + license_text,
        "matches": root.get("matches"),
        "protocol": root.get("protocol"),
        "database_type": root.get("database_type"),
        "preference": root.get("preference"),
        "skipped": skipped,
    }
    lines = ["{"]
    for key, value in header.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    lines.append('  "fingerprints": [')
    for k, fp in enumerate(fingerprints):
        comma = "," if k + 1 < len(fingerprints) else ""
        lines.append("    " + json.dumps(fp, ensure_ascii=False) + comma)
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n", len(fingerprints), skipped


def self_test():
    """The translation rules, on the Ruby constructs they exist for."""
    cases = {
        r"^a\Z": r"^a(?:\n?\z)",
        r"\A(?i)login:$": r"\A(?i)login:$",
        r"^\h+[\h:]$": r"^[0-9a-fA-F]+[0-9a-fA-F:]$",
        r"x{,3}y{2}z{1,}": r"x{0,3}y{2}z{1,}",
        r"^{a}$": r"^\{a\}$",
        r"(?m)a.b(?mi:c)": r"(?s)a.b(?si:c)",
        r"[]a]\e": r"[\]a]\x1B",
        r"(?<name>\d+)": r"(?<name>\d+)",
        r"\<title\>": r"<title>",
        r"a\Rb": r"a(?:\r\n|[\n\v\f\r\x{85}\x{2028}\x{2029}])b",
    }
    for ruby, rust in cases.items():
        got = translate(ruby)
        assert got == rust, f"translate({ruby!r}) = {got!r}, want {rust!r}"
    for ruby in [r"a(?=b)", r"(?<!a)b", r"(a)\1", r"a++", r"(?>a)", r"\Ga", r"a{2}+"]:
        try:
            translate(ruby)
        except Untranslatable:
            continue
        raise AssertionError(f"translate({ruby!r}) should refuse")
    assert rust_regex("a", ["REG_ICASE", "REG_DOT_NEWLINE"]) == "(?mis)a"


def main():
    self_test()
    check = sys.argv[1:] == ["--check"]
    if sys.argv[1:] and not check:
        sys.exit("usage: generate.py [--check]")
    license_text = LICENSE.read_text(encoding="utf-8")
    sources = sorted(XML_DIR.glob("*.xml"))
    if not sources:
        sys.exit("no xml/*.xml")
    outputs = {}
    entries = []
    for path in sources:
        text, count, skipped = convert(path, license_text)
        outputs[TABLES / f"{path.stem}.json"] = text
        entries.append(f'    ("{path.stem}", include_str!("{path.stem}.json")),')
        print(f"{path.name}: {count} fingerprints, {len(skipped)} skipped")
        for s in skipped:
            print(f"  skipped {s['description']!r}: {s['reason']}")
    rust = [
        "// @generated by scanner-core/src/recog/generate.py: do not edit.",
        "// Each table is one Recog database (rapid7/recog, BSD-2-Clause: xml/LICENSE).",
        "",
        "/// (database file stem, generated table) for every `xml/*.xml`, in name order.",
        "pub(super) const TABLES: &[(&str, &str)] = &[",
        *entries,
        "];",
        "",
    ]
    outputs[TABLES / "generated.rs"] = "\n".join(rust)
    stale = [p for p in TABLES.glob("*.json") if p not in outputs]
    if check:
        differ = [p.name for p, text in outputs.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        differ += [p.name + " (no xml)" for p in stale]
        if differ:
            sys.exit("tables/ is not what xml/ generates; run generate.py: " + ", ".join(differ))
        return
    TABLES.mkdir(exist_ok=True)
    for p in stale:
        p.unlink()
    for p, text in outputs.items():
        p.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
