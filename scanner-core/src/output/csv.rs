//! CSV: one row per device, the columns of [`COLUMNS`] in that order (documented in
//! docs/record.md; new columns are only ever added at the end).
//!
//! Quoting follows RFC 4180 (the `csv` crate: a field holding a comma, a quote or a
//! line break is quoted, quotes doubled; rows end with CRLF). Device strings are
//! untrusted, and a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@`
//! (or a tab or CR before one) as a formula: such a cell gets a leading `'`, which
//! spreadsheets show as text (`=HYPERLINK(...)` becomes `'=HYPERLINK(...)`). Line
//! breaks inside a cell become spaces, so that one row is always one line.
//!
//! ```
//! use scanner_core::output::csv::{header, row};
//! use scanner_core::record::AssetRecord;
//!
//! let mut record = AssetRecord::new("scan-1", "10.0.0.5".parse().unwrap(), None);
//! record.product_name = Some("=HYPERLINK(\"http://evil\",\"x\")".into());
//! assert!(header().starts_with("ip,vendor,product_name,"));
//! assert!(row(&record).contains(r#"'=HYPERLINK(""http://evil"",""x"")"#));
//! ```

use crate::record::AssetRecord;

/// The CSV columns, in order.
pub const COLUMNS: [&str; 23] = [
    "ip",
    "vendor",
    "product_name",
    "model",
    "product_code",
    "firmware_version",
    "serial_number",
    "device_type",
    "hostname",
    "mac",
    "vendor_id",
    "protocols",
    "services",
    "responsive",
    "target_name",
    "observed_at",
    "scan_id",
    "asset_number",
    "criticality",
    "zone",
    "location",
    "owner",
    "asset_id",
];

/// The heading row, CRLF-terminated.
pub fn header() -> String {
    encode_row(COLUMNS.iter().map(|c| (*c).to_owned()))
}

/// The record's row, CRLF-terminated.
pub fn row(record: &AssetRecord) -> String {
    encode_row(cells(record))
}

/// The record's cells in [`COLUMNS`] order, before quoting and neutralising.
///
/// `vendor_id` is `space:id` (`odva:1`); `protocols` the protocols that answered
/// in their protocol, `;`-separated; `services` every probe as
/// `protocol/transport/port=status`, `;`-separated.
pub fn cells(record: &AssetRecord) -> Vec<String> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let enrichment = record.enrichment.as_ref();
    let enriched = |f: fn(&crate::enrich::Enrichment) -> &Option<String>| {
        enrichment.and_then(|e| f(e).clone()).unwrap_or_default()
    };
    let vendor_id = record
        .vendor_id
        .as_ref()
        .and_then(|v| {
            let space = serde_json::to_value(v.space).ok()?;
            Some(format!("{}:{}", space.as_str()?, v.id))
        })
        .unwrap_or_default();
    let services: Vec<String> = record
        .services
        .iter()
        .map(|s| {
            format!(
                "{}/{}/{}={}",
                s.protocol.name(),
                super::transport_name(s.transport),
                s.port,
                s.status.name()
            )
        })
        .collect();
    vec![
        record.ip.to_string(),
        text(&record.vendor),
        text(&record.product_name),
        text(&record.model),
        text(&record.product_code),
        text(&record.firmware_version),
        text(&record.serial_number),
        super::table::device_type_name(record).unwrap_or_default(),
        text(&record.hostname),
        text(&record.mac),
        vendor_id,
        super::answering_protocols(record).join(";"),
        services.join(";"),
        record.responsive.to_string(),
        text(&record.target_name),
        record.observed_at.to_string(),
        record.scan_id.clone(),
        enriched(|e| &e.asset_number),
        enriched(|e| &e.criticality),
        enriched(|e| &e.zone),
        enriched(|e| &e.location),
        enriched(|e| &e.owner),
        text(&record.asset_id),
    ]
}

/// `cell` safe to open in a spreadsheet: line breaks become spaces, and a cell that
/// starts with `=`, `+`, `-`, `@`, a tab or a CR gets a leading `'`.
pub fn neutralise(cell: &str) -> String {
    let one_line: String = cell
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    // The first character of the original decides: a leading CR is a trigger too.
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{one_line}"),
        _ => one_line,
    }
}

fn encode_row(cells: impl IntoIterator<Item = String>) -> String {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let cells: Vec<String> = cells.into_iter().map(|c| neutralise(&c)).collect();
    // Writing to a Vec cannot fail, and every cell is valid UTF-8.
    let _ = writer.write_record(&cells);
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_quoting_is_rfc4180() {
        for hostile in [
            "=1+1",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert!(neutralise(hostile).starts_with('\''), "{hostile:?}");
        }
        assert_eq!(neutralise("v3.10"), "v3.10");
        assert_eq!(neutralise("a\r\nb"), "a  b");
        let mut r = AssetRecord::new("s", "10.0.0.1".parse().unwrap(), None);
        r.vendor = Some("Acme, \"Inc\"".into());
        r.product_name = Some("=cmd|'/C calc'!A0".into());
        r.model = Some("two\nlines".into());
        let line = row(&r);
        assert!(
            line.ends_with("\r\n") && line.matches('\n').count() == 1,
            "{line:?}"
        );
        let text = format!("{}{line}", header());
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let got = reader.records().next().unwrap().unwrap();
        assert_eq!(&got[1], "Acme, \"Inc\"");
        assert_eq!(&got[2], "'=cmd|'/C calc'!A0");
        assert_eq!(&got[3], "two lines");
        assert_eq!(got.len(), COLUMNS.len());
    }

    #[test]
    fn docs_record_md_lists_every_column_in_order() {
        let doc = include_str!("../../../docs/record.md");
        let section = &doc[doc.find("## CSV").expect("a CSV section")..];
        let mut at = 0;
        for column in COLUMNS {
            let found = section[at..].find(&format!("`{column}`"));
            at += found
                .unwrap_or_else(|| panic!("docs/record.md: `{column}` missing or out of order"));
        }
    }
}
