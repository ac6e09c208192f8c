//! Lookup tables generated from vendors' public documents: ODVA vendor ids and CIP device types.
//!
//! The tables are TSV files in this folder, written by `generate.py` (see `README.md`
//! for the source, its licence and how to regenerate). They are embedded at compile
//! time and parsed once, on first use, so a scan that never meets EtherNet/IP never
//! pays for them.
//!
//! `iana_pen.tsv` (IANA Private Enterprise Numbers, for SNMP) is written by
//! `generate_pen.py` from IANA's registry; `iana_pen.md` names the source and the selection.
//! `bacnet_vendors.tsv` (ASHRAE's BACnet vendor ids) is written by `generate_bacnet.py` from
//! the copy of ASHRAE's list in the MIT/Apache-2.0 crate bacnet-rs; see `bacnet_vendors.md`.

use std::collections::HashMap;
use std::sync::OnceLock;

const ODVA_VENDORS_TSV: &str = include_str!("odva_vendors.tsv");
const CIP_DEVICE_TYPES_TSV: &str = include_str!("cip_device_types.tsv");
const IANA_PEN_TSV: &str = include_str!("iana_pen.tsv");
const BACNET_VENDORS_TSV: &str = include_str!("bacnet_vendors.tsv");

/// An id -> name table, sorted by id for binary search.
struct Table {
    rows: Vec<(u16, &'static str)>,
}

impl Table {
    fn get(&self, id: u16) -> Option<&'static str> {
        self.rows
            .binary_search_by_key(&id, |&(k, _)| k)
            .ok()
            .and_then(|i| self.rows.get(i))
            .map(|&(_, name)| name)
    }
}

/// Parses `id<TAB>name` lines; `#` comments, blank lines and the `id<TAB>name` header
/// are skipped. Returns the table and the lines it could not read, so a test can
/// insist there are none while lookups at run time simply skip them.
fn parse_tsv(text: &'static str) -> (Table, Vec<String>) {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') || line == "id\tname" {
            continue;
        }
        let parsed = line.split_once('\t').and_then(|(id, name)| {
            let id = match id.strip_prefix("0x") {
                Some(hex) => u16::from_str_radix(hex, 16).ok()?,
                None => id.parse::<u16>().ok()?,
            };
            let name = name.trim();
            (!name.is_empty() && !name.contains('\t')).then_some((id, name))
        });
        match parsed {
            Some(row) => rows.push(row),
            None => bad.push(format!("line {}: {line:?}", n + 1)),
        }
    }
    rows.sort_by_key(|&(id, _)| id);
    let before = rows.len();
    rows.dedup_by_key(|&mut (id, _)| id);
    if rows.len() != before {
        bad.push(format!("{} duplicate ids", before - rows.len()));
    }
    (Table { rows }, bad)
}

fn vendors() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| parse_tsv(ODVA_VENDORS_TSV).0)
}

fn device_types() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| parse_tsv(CIP_DEVICE_TYPES_TSV).0)
}

/// Name of the vendor an ODVA (CIP / EtherNet/IP) vendor id is assigned to, e.g.
/// 1 -> "Rockwell Automation/Allen-Bradley". `None` for ids the table does not know
/// (unassigned, reserved, or assigned after the table was generated).
pub fn odva_vendor(id: u16) -> Option<&'static str> {
    vendors().get(id)
}

/// Name of a CIP device type (device profile number), e.g. 0x0E ->
/// "Programmable Logic Controller". `None` for types the table does not know.
pub fn cip_device_type(id: u16) -> Option<&'static str> {
    device_types().get(id)
}

fn bacnet_vendors() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| parse_tsv(BACNET_VENDORS_TSV).0)
}

/// Name of the organization an ASHRAE-assigned BACnet vendor identifier belongs to, as
/// ASHRAE's list spells it, e.g. 5 -> "Johnson Controls, Inc.", 260 -> "BACnet Stack at
/// SourceForge". The id is what a device states in its I-Am and its `vendor-identifier`
/// property. `None` for ids the table does not hold (assigned after it was generated,
/// never assigned, reserved for ASHRAE) and for ids above 65535, which ASHRAE never
/// assigns (the property is an Unsigned16).
pub fn bacnet_vendor(id: u32) -> Option<&'static str> {
    bacnet_vendors().get(u16::try_from(id).ok()?)
}

/// An enterprise number -> organization table, sorted by number for binary search.
/// Separate from [`Table`] because PENs are 32-bit.
struct PenTable {
    rows: Vec<(u32, &'static str)>,
}

/// Parses `pen<TAB>organization` lines the way [`parse_tsv`] parses its tables: comments,
/// blank lines and the `pen<TAB>organization` header are skipped, unreadable lines and
/// duplicate numbers are returned for the tests to reject.
fn parse_pen_tsv(text: &'static str) -> (PenTable, Vec<String>) {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') || line == "pen\torganization" {
            continue;
        }
        let parsed = line.split_once('\t').and_then(|(pen, name)| {
            let pen = pen.parse::<u32>().ok()?;
            let name = name.trim();
            (!name.is_empty() && !name.contains('\t')).then_some((pen, name))
        });
        match parsed {
            Some(row) => rows.push(row),
            None => bad.push(format!("line {}: {line:?}", n + 1)),
        }
    }
    rows.sort_by_key(|&(pen, _)| pen);
    let before = rows.len();
    rows.dedup_by_key(|&mut (pen, _)| pen);
    if rows.len() != before {
        bad.push(format!("{} duplicate numbers", before - rows.len()));
    }
    (PenTable { rows }, bad)
}

fn enterprises() -> &'static PenTable {
    static TABLE: OnceLock<PenTable> = OnceLock::new();
    TABLE.get_or_init(|| parse_pen_tsv(IANA_PEN_TSV).0)
}

/// Organization an IANA Private Enterprise Number is assigned to, as the registry spells
/// it, e.g. 9 -> "ciscoSystems", 8072 -> "net-snmp". `None` for numbers the curated table
/// does not hold (see `iana_pen.md`): that says nothing about the number being unassigned.
pub fn iana_enterprise(pen: u32) -> Option<&'static str> {
    let rows = &enterprises().rows;
    rows.binary_search_by_key(&pen, |&(k, _)| k)
        .ok()
        .and_then(|i| rows.get(i))
        .map(|&(_, name)| name)
}

const VENDOR_ALIASES_TSV: &str = include_str!("vendor_aliases.tsv");

/// Letters and digits only, lower case: the key aliases are compared by.
fn alias_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// `canonical<TAB>alias<TAB>source` rows, keyed by [`alias_key`] of the alias and of the
/// canonical name itself; the lines that cannot be read are returned for a test.
fn parse_aliases(text: &'static str) -> (HashMap<String, &'static str>, Vec<String>) {
    let mut map = HashMap::new();
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') || line.starts_with("canonical\t") {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        match fields[..] {
            [canonical, alias, source]
                if !canonical.trim().is_empty()
                    && !alias_key(alias).is_empty()
                    && !source.trim().is_empty() =>
            {
                map.insert(alias_key(canonical), canonical.trim());
                map.insert(alias_key(alias), canonical.trim());
            }
            _ => bad.push(format!("line {}: {line:?}", n + 1)),
        }
    }
    (map, bad)
}

fn aliases() -> &'static HashMap<String, &'static str> {
    static TABLE: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| parse_aliases(VENDOR_ALIASES_TSV).0)
}

/// Legal forms dropped from the end of a vendor name that has no alias, longest first
/// (compared case-insensitively, after trailing commas and spaces).
const LEGAL_FORMS: [&str; 22] = [
    " gmbh & co. kg",
    " co., ltd.",
    " co.,ltd.",
    " co., ltd",
    " pty ltd",
    " corporation",
    " s.p.a.",
    " corp.",
    " gmbh",
    " inc.",
    " ltd.",
    " b.v.",
    " s.a.",
    " llc",
    " inc",
    " ltd",
    " sas",
    " plc",
    " ag",
    " ab",
    " sa",
    " kg",
];

/// The record's spelling of a vendor name from any protocol or table: the canonical name of
/// `vendor_aliases.tsv` when the name (letters and digits, any case) is one of its aliases,
/// e.g. "Siemens AG", "SIEMENS AG" and "Siemens Schweiz AG" -> "Siemens", "ciscoSystems" ->
/// "Cisco", "Rockwell Automation/Allen-Bradley" -> "Rockwell Automation"; else the name less
/// trailing legal forms ("Simulated Meters Inc." -> "Simulated Meters"), never less than two
/// characters; else the name as given, trimmed.
pub fn canonical_vendor(name: &str) -> String {
    if let Some(canonical) = aliases().get(&alias_key(name)) {
        return (*canonical).to_owned();
    }
    let mut rest = name.trim();
    loop {
        let trimmed = rest.trim_end_matches([',', ' ']);
        let lower = trimmed.to_lowercase();
        let Some(form) = LEGAL_FORMS.iter().find(|f| lower.ends_with(*f)) else {
            break;
        };
        let shorter = trimmed[..trimmed.len() - form.len()].trim_end_matches([',', ' ']);
        if shorter.chars().count() < 2 {
            break;
        }
        rest = shorter;
    }
    rest.trim_end_matches([',', ' ']).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_without_bad_lines() {
        // The tables hold only ids a vendor's own publication confirms (see README.md),
        // so they are small; these floors catch a truncated or emptied file.
        for (text, min_rows) in [(ODVA_VENDORS_TSV, 20), (CIP_DEVICE_TYPES_TSV, 8)] {
            let (table, bad) = parse_tsv(text);
            assert!(bad.is_empty(), "bad lines: {bad:?}");
            assert!(table.rows.len() >= min_rows);
        }
        // The header comment must name the sources and the licence position.
        for text in [ODVA_VENDORS_TSV, CIP_DEVICE_TYPES_TSV] {
            assert!(text.starts_with('#'));
            assert!(text.contains("Licence:"));
            assert!(text.contains("Sources:") && text.contains("sources.tsv"));
        }
    }

    #[test]
    fn well_known_vendor_ids() {
        assert_eq!(odva_vendor(1), Some("Rockwell Automation/Allen-Bradley"));
        assert_eq!(odva_vendor(47), Some("OMRON Corporation"));
        assert_eq!(odva_vendor(243), Some("Schneider Electric"));
        assert_eq!(odva_vendor(0), None);
        assert_eq!(odva_vendor(0xFFFF), None);
    }

    #[test]
    fn bacnet_table_parses_and_names_its_source() {
        let (table, bad) = parse_tsv(BACNET_VENDORS_TSV);
        assert!(bad.is_empty(), "bad lines: {bad:?}");
        // ASHRAE's list had about 1,500 vendors when the table was generated.
        assert!(table.rows.len() >= 1500, "{} rows", table.rows.len());
        assert!(BACNET_VENDORS_TSV.starts_with('#'));
        assert!(
            BACNET_VENDORS_TSV.contains("Source:") && BACNET_VENDORS_TSV.contains("bacnet.org")
        );
        assert!(BACNET_VENDORS_TSV.contains("Licence:") && BACNET_VENDORS_TSV.contains("MIT"));
        assert!(BACNET_VENDORS_TSV.contains("commit "));
        assert!(!table
            .rows
            .iter()
            .any(|(_, name)| name.starts_with("Reserved")));
    }

    #[test]
    fn well_known_bacnet_vendor_ids() {
        assert_eq!(bacnet_vendor(0), Some("ASHRAE"));
        assert_eq!(bacnet_vendor(5), Some("Johnson Controls, Inc."));
        assert_eq!(bacnet_vendor(8), Some("Delta Controls"));
        assert_eq!(bacnet_vendor(24), Some("Automated Logic Corporation"));
        assert_eq!(bacnet_vendor(36), Some("Tridium Inc."));
        assert_eq!(
            bacnet_vendor(222),
            Some("WAGO Kontakttechnik GmbH & Co. KG")
        );
        assert_eq!(bacnet_vendor(260), Some("BACnet Stack at SourceForge"));
        assert_eq!(bacnet_vendor(389), Some("Chipkin Automation Systems"));
        assert_eq!(
            bacnet_vendor(73),
            Some("ABB Gebäudetechnik AG Bereich NetServ")
        );
        // Reserved for ASHRAE, absent from the copy, beyond 16 bits.
        assert_eq!(bacnet_vendor(555), None);
        assert_eq!(bacnet_vendor(1395), None);
        assert_eq!(bacnet_vendor(0xFFFF), None);
        assert_eq!(bacnet_vendor(0x1_0000), None);
        assert_eq!(bacnet_vendor(0x1_0000 + 5), None);
        assert_eq!(bacnet_vendor(u32::MAX), None);
    }

    #[test]
    fn well_known_device_types() {
        assert_eq!(cip_device_type(0x0E), Some("Programmable Logic Controller"));
        assert_eq!(cip_device_type(0x0C), Some("Communications Adapter"));
        assert_eq!(cip_device_type(0x02), Some("AC Drive"));
        assert_eq!(cip_device_type(0x1D), Some("Process Control Valve"));
        assert_eq!(cip_device_type(0x01), None);
        assert_eq!(cip_device_type(0xFFFF), None);
    }

    #[test]
    fn pen_table_parses_and_names_its_source() {
        let (table, bad) = parse_pen_tsv(IANA_PEN_TSV);
        assert!(bad.is_empty(), "bad lines: {bad:?}");
        assert!(table.rows.len() >= 50);
        assert!(IANA_PEN_TSV.starts_with('#'));
        assert!(IANA_PEN_TSV.contains("Source:") && IANA_PEN_TSV.contains("iana.org"));
        assert!(IANA_PEN_TSV.contains("Licence:"));
    }

    #[test]
    fn well_known_enterprise_numbers() {
        assert_eq!(iana_enterprise(9), Some("ciscoSystems"));
        assert_eq!(iana_enterprise(8072), Some("net-snmp"));
        assert_eq!(iana_enterprise(4329), Some("Siemens AG"));
        assert_eq!(iana_enterprise(3833), Some("Schneider Electric"));
        assert_eq!(iana_enterprise(13576), Some("WAGO Kontakttechnik GmbH"));
        assert_eq!(iana_enterprise(0), None);
        assert_eq!(iana_enterprise(u32::MAX), None);
        let (table, bad) =
            parse_pen_tsv("# c\npen\torganization\n70000\tBig\n1\tOne\n1\tTwice\nx\ty\n");
        assert_eq!(table.rows, vec![(1, "One"), (70000, "Big")]);
        assert_eq!(bad.len(), 2, "{bad:?}");
    }

    #[test]
    fn parser_reports_bad_lines_and_duplicates() {
        let (table, bad) =
            parse_tsv("# c\nid\tname\n7\tSeven\nx\tbad\n7\tAgain\n0x10\tSixteen\nnotab\n");
        assert_eq!(table.get(16), Some("Sixteen"));
        assert_eq!(table.get(7), Some("Seven"));
        assert_eq!(bad.len(), 3, "{bad:?}");
    }

    #[test]
    fn vendor_aliases_parse_and_name_each_company_once() {
        let (map, bad) = parse_aliases(VENDOR_ALIASES_TSV);
        assert!(bad.is_empty(), "{bad:?}");
        assert!(map.len() > 60, "{}", map.len());
        // No alias maps to two canonical names: the file has each spelling once.
        let mut seen = HashMap::new();
        for line in VENDOR_ALIASES_TSV
            .lines()
            .filter(|l| !l.starts_with('#'))
            .skip(1)
        {
            let mut f = line.split('\t');
            let (canonical, alias) = (f.next().unwrap(), f.next().unwrap());
            if let Some(other) = seen.insert(alias_key(alias), canonical) {
                assert_eq!(other, canonical, "{alias} twice");
            }
        }
    }

    #[test]
    fn vendor_names_from_every_protocol_meet_on_one_spelling() {
        // The spellings the plant's protocols and the tables give for one company.
        for (raw, canonical) in [
            ("Siemens AG", "Siemens"),
            ("SIEMENS AG", "Siemens"),
            ("Siemens Schweiz AG", "Siemens"),
            ("Siemens", "Siemens"),
            ("ciscoSystems", "Cisco"),
            ("Cisco Systems, Inc.", "Cisco"),
            ("Rockwell Automation/Allen-Bradley", "Rockwell Automation"),
            ("Schneider Automation Inc.", "Schneider Electric"),
            ("OMRON Corporation", "Omron"),
            ("The Trane Company", "Trane"),
            ("Johnson Controls, Inc.", "Johnson Controls"),
            (
                "American Power Conversion Corp.",
                "APC by Schneider Electric",
            ),
            // No alias: legal forms go, the rest stays as spelled.
            ("Simulated Meters Inc.", "Simulated Meters"),
            ("Acme Widgets GmbH & Co. KG", "Acme Widgets"),
            ("net-snmp", "net-snmp"),
            ("  AB  ", "AB"),
            ("Open62541 (simulated)", "Open62541 (simulated)"),
        ] {
            assert_eq!(canonical_vendor(raw), canonical, "{raw}");
        }
    }

    #[test]
    fn aliases_name_table_spellings_that_exist() {
        // Every alias whose source is one of this folder's tables is spelled as that table
        // spells it, so the alias meets the name a lookup returns.
        for line in VENDOR_ALIASES_TSV
            .lines()
            .filter(|l| !l.starts_with('#'))
            .skip(1)
        {
            let f: Vec<&str> = line.split('\t').collect();
            let (alias, source) = (f[1], f[2]);
            for part in source.split(", ") {
                let ids = |prefix: &str| -> Vec<u32> {
                    part.strip_prefix(prefix)
                        .map(|rest| {
                            rest.split(", ")
                                .filter_map(|i| i.trim().parse().ok())
                                .collect()
                        })
                        .unwrap_or_default()
                };
                for id in ids("odva_vendors.tsv ") {
                    assert_eq!(odva_vendor(id as u16), Some(alias), "{line}");
                }
                for id in ids("iana_pen.tsv ") {
                    assert_eq!(iana_enterprise(id), Some(alias), "{line}");
                }
                for id in ids("bacnet_vendors.tsv ") {
                    assert_eq!(bacnet_vendor(id), Some(alias), "{line}");
                }
            }
        }
    }
}
