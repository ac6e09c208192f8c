//! The terminal table: one line per device (address, vendor, product, firmware,
//! device type, protocols), its columns fitted to a width.
//!
//! Device strings are untrusted, and a terminal obeys escape sequences: every cell
//! loses ANSI escape sequences (CSI, OSC, DCS, as `console` parses them), control
//! characters become `�` (tabs and line breaks a space), and bidirectional-text
//! controls are dropped, so a product name can neither recolour, retitle or clear the
//! terminal nor reorder what is shown. A cell longer than its column is cut with `…`;
//! widths are display widths (a CJK character takes two columns).
//!
//! ```
//! use scanner_core::output::table::TableLayout;
//! use scanner_core::record::AssetRecord;
//!
//! let mut record = AssetRecord::new("scan-1", "10.0.0.5".parse().unwrap(), None);
//! record.responsive = true;
//! record.vendor = Some("Evil\u{1b}[2J\u{1b}]0;pwned\u{7} Corp".into());
//! let layout = TableLayout::streaming(Some(80));
//! let row = layout.row(&record);
//! assert!(row.starts_with("10.0.0.5"));
//! assert!(row.contains("Evil Corp") && !row.contains('\u{1b}'));
//! assert!(console::measure_text_width(&row) <= 80);
//! ```

use crate::record::AssetRecord;

/// Column headings, in order.
pub const COLUMNS: [&str; 6] = [
    "ADDRESS",
    "VENDOR",
    "PRODUCT",
    "FIRMWARE",
    "TYPE",
    "PROTOCOLS",
];

/// Spaces between two columns.
const GAP: usize = 2;
/// No column is cut narrower than this (the address column is never cut).
const MIN_WIDTH: usize = 6;
/// Widths a streamed table starts from, before fitting the terminal: an IPv4
/// address, then what most devices' strings fit in.
const STREAMING_WIDTHS: [usize; 6] = [15, 22, 30, 14, 12, 22];
/// A cell's longest display width in a fitted table, even with room to spare.
const MAX_CELL: usize = 48;

/// The six cells of a device's row, cleaned for a terminal (see the module docs).
///
/// `PRODUCT` is the product name, else the model, else the product code;
/// `PROTOCOLS` the protocols that answered in their protocol, comma-separated.
pub fn cells(record: &AssetRecord) -> [String; 6] {
    let product = record
        .product_name
        .as_ref()
        .or(record.model.as_ref())
        .or(record.product_code.as_ref());
    let text = |v: Option<&String>| v.map(|s| terminal_safe(s)).unwrap_or_default();
    [
        record.ip.to_string(),
        text(record.vendor.as_ref()),
        text(product),
        text(record.firmware_version.as_ref()),
        device_type_name(record).unwrap_or_default(),
        super::answering_protocols(record).join(","),
    ]
}

/// The record's device type as the record spells it (`plc`, `comm_adapter`, ...).
pub fn device_type_name(record: &AssetRecord) -> Option<String> {
    record
        .device_type
        .and_then(|t| serde_json::to_value(t).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// `text` made harmless for a terminal: escape sequences removed, control characters
/// replaced (`\t`, `\n`, `\r` by a space, others by `�`), bidirectional controls
/// (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) dropped.
pub fn terminal_safe(text: &str) -> String {
    console::strip_ansi_codes(text)
        .chars()
        .filter(|c| !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// Column widths for a table no wider than a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLayout {
    widths: [usize; 6],
    /// The whole line's limit, when there is one.
    limit: Option<usize>,
}

impl TableLayout {
    /// A layout for rows written as devices are found (their strings not known yet):
    /// usual widths, narrowed to fit `terminal_width` when given. A longer address
    /// (IPv6) widens its row rather than being cut; the row is then cut at the width.
    pub fn streaming(terminal_width: Option<usize>) -> TableLayout {
        TableLayout::fitted(STREAMING_WIDTHS, terminal_width)
    }

    /// A layout for known records: each column as wide as its widest cell (heading
    /// included, at most 48), narrowed to fit `terminal_width` when given.
    pub fn for_records<'a>(
        records: impl IntoIterator<Item = &'a AssetRecord>,
        terminal_width: Option<usize>,
    ) -> TableLayout {
        let mut widths = COLUMNS.map(console::measure_text_width);
        for record in records {
            for (w, cell) in widths.iter_mut().zip(cells(record)) {
                *w = (*w).max(console::measure_text_width(&cell).min(MAX_CELL));
            }
        }
        TableLayout::fitted(widths, terminal_width)
    }

    /// `natural` narrowed, widest column first, until the line fits `limit`.
    fn fitted(natural: [usize; 6], limit: Option<usize>) -> TableLayout {
        let mut widths = natural;
        if let Some(limit) = limit {
            let total = |w: &[usize; 6]| w.iter().sum::<usize>() + GAP * (w.len() - 1);
            while total(&widths) > limit {
                // Never the address (index 0): an address cut short is useless.
                let widest = (1..widths.len())
                    .filter(|&i| widths[i] > MIN_WIDTH)
                    .max_by_key(|&i| (widths[i], i));
                match widest {
                    Some(i) => widths[i] -= 1,
                    None => break,
                }
            }
        }
        TableLayout { widths, limit }
    }

    /// The column widths, in [`COLUMNS`] order.
    pub fn widths(&self) -> [usize; 6] {
        self.widths
    }

    /// The heading line (no newline).
    pub fn header(&self) -> String {
        self.line(COLUMNS.map(str::to_owned))
    }

    /// The record's line (no newline).
    pub fn row(&self, record: &AssetRecord) -> String {
        self.line(cells(record))
    }

    fn line(&self, cells: [String; 6]) -> String {
        let last = cells.len() - 1;
        let mut line = String::new();
        for (i, (cell, &width)) in cells.iter().zip(&self.widths).enumerate() {
            if i > 0 {
                line.push_str(&" ".repeat(GAP));
            }
            let cut = if i == 0 {
                cell.clone()
            } else {
                console::truncate_str(cell, width, "…").into_owned()
            };
            line.push_str(&cut);
            if i < last {
                let pad = width.saturating_sub(console::measure_text_width(&cut));
                line.push_str(&" ".repeat(pad));
            }
        }
        let line = match self.limit {
            Some(limit) => console::truncate_str(&line, limit, "…").into_owned(),
            None => line,
        };
        line.trim_end().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(ip: &str) -> AssetRecord {
        let mut r = AssetRecord::new("s", ip.parse().unwrap(), None);
        r.responsive = true;
        r
    }

    #[test]
    fn escapes_and_controls_never_reach_the_terminal() {
        let hostile = "A\u{1b}[31mRED\u{1b}[0m\u{9b}2J\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\\nnext\u{7}\u{202e}txt";
        let safe = terminal_safe(hostile);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe:?}");
        assert!(safe.starts_with("ARED"), "{safe:?}");
        assert!(safe.contains("link next"), "{safe:?}");
        assert!(!safe.contains('\u{202e}'));
    }

    #[test]
    fn rows_fit_the_width_and_cut_with_an_ellipsis() {
        let mut r = device("10.0.0.5");
        r.vendor = Some("Schneider Electric".into());
        r.product_name = Some("A very long product name that goes on and on and on".into());
        r.firmware_version = Some("v3.10".into());
        for width in [60, 80, 120] {
            let layout = TableLayout::streaming(Some(width));
            let row = layout.row(&r);
            assert!(console::measure_text_width(&row) <= width, "{width}: {row}");
            assert!(row.contains('…'), "{row}");
            assert!(console::measure_text_width(&layout.header()) <= width);
        }
        let wide = TableLayout::for_records([&r], Some(200));
        assert!(
            wide.row(&r).contains("that goes on and"),
            "at most 48 columns a cell"
        );
        // Columns line up: the vendor starts at the same column in header and row.
        let layout = TableLayout::for_records([&r], Some(100));
        assert_eq!(
            layout.header().find("VENDOR"),
            layout.row(&r).find("Schneider")
        );
    }

    #[test]
    fn wide_characters_count_double() {
        let mut r = device("10.0.0.6");
        r.vendor = Some("三菱電機三菱電機三菱電機三菱電機".into());
        let layout = TableLayout::streaming(Some(70));
        let row = layout.row(&r);
        assert!(console::measure_text_width(&row) <= 70, "{row}");
    }

    #[test]
    fn an_ipv6_address_is_never_cut() {
        let r = device("2001:db8:1234:5678:9abc:def0:1234:5678");
        let row = TableLayout::streaming(Some(200)).row(&r);
        assert!(
            row.starts_with("2001:db8:1234:5678:9abc:def0:1234:5678"),
            "{row}"
        );
    }
}
