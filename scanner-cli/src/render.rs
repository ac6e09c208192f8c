//! How records are shown (`--format`): one of the JSON formats, CSV or the terminal
//! table; and opening saved scans for `convert`, `diff` and `report`.

use std::fmt;
use std::io::IsTerminal;
use std::path::Path;

use scanner_core::output::native::RecordReader;
use scanner_core::output::table::TableLayout;
use scanner_core::output::{Format, OutputMeta};
use scanner_core::record::AssetRecord;

/// A format records can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON object per line: native, OCSF, ECS or HEC.
    Json(Format),
    /// One CSV row per device, after a heading row.
    Csv,
    /// One aligned line per device, after a heading line.
    Table,
}

impl OutputFormat {
    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Json(f) => f.name(),
            OutputFormat::Csv => "csv",
            OutputFormat::Table => "table",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What `--format` says: a format, or `auto` (the table when records go to a
/// terminal, native NDJSON otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatChoice {
    /// Table on a terminal, native otherwise.
    Auto,
    /// This format.
    Chosen(OutputFormat),
}

impl FormatChoice {
    /// The format for records written to `-o FILE` (`to_file`) or stdout.
    pub fn resolve(self, to_file: bool) -> OutputFormat {
        match self {
            FormatChoice::Chosen(f) => f,
            FormatChoice::Auto if !to_file && std::io::stdout().is_terminal() => {
                OutputFormat::Table
            }
            FormatChoice::Auto => OutputFormat::Json(Format::Native),
        }
    }
}

impl fmt::Display for FormatChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatChoice::Auto => f.write_str("auto"),
            FormatChoice::Chosen(format) => format.fmt(f),
        }
    }
}

/// Parses `--format`: auto, native, ocsf, ecs, hec, csv or table (any case).
pub fn parse_format_choice(s: &str) -> Result<FormatChoice, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(FormatChoice::Auto),
        "csv" => Ok(FormatChoice::Chosen(OutputFormat::Csv)),
        "table" => Ok(FormatChoice::Chosen(OutputFormat::Table)),
        _ => s
            .parse::<Format>()
            .map(|f| FormatChoice::Chosen(OutputFormat::Json(f)))
            .map_err(|_| {
                format!("unknown output format {s:?} (expected one of: auto, table, csv, native, ocsf, ecs, hec)")
            }),
    }
}

/// Turns records into the bytes of one output format.
#[derive(Debug, Clone)]
pub struct Renderer {
    format: OutputFormat,
    layout: TableLayout,
    meta: OutputMeta,
}

impl Renderer {
    /// A renderer for `format`; a table is fitted to `layout`.
    pub fn new(format: OutputFormat, layout: TableLayout) -> Renderer {
        Renderer {
            format,
            layout,
            meta: OutputMeta::default(),
        }
    }

    /// A renderer for records written as they are found: a table is fitted to the
    /// terminal's width.
    pub fn streaming(format: OutputFormat) -> Renderer {
        Renderer::new(format, TableLayout::streaming(terminal_width()))
    }

    /// The same renderer with `meta` for the JSON formats (HEC fields, ECS version).
    pub fn with_meta(mut self, meta: OutputMeta) -> Renderer {
        self.meta = meta;
        self
    }

    /// The format.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// The heading line (with its line ending) of CSV and the table.
    pub fn header(&self) -> Option<String> {
        match self.format {
            OutputFormat::Json(_) => None,
            OutputFormat::Csv => Some(scanner_core::output::csv::header()),
            OutputFormat::Table => Some(self.layout.header() + "\n"),
        }
    }

    /// The record's line, with its line ending; `None` when the format has no
    /// line for it (OCSF and ECS skip addresses that answered nothing).
    pub fn line(&self, record: &AssetRecord) -> Option<String> {
        Some(match self.format {
            OutputFormat::Json(f) if !scanner_core::output::emits(record, f) => return None,
            OutputFormat::Json(f) => {
                scanner_core::output::encode_line(record, f, &self.meta) + "\n"
            }
            OutputFormat::Csv => scanner_core::output::csv::row(record),
            OutputFormat::Table => self.layout.row(record) + "\n",
        })
    }
}

/// Columns a table may take: the terminal's width when stdout is one, else
/// `COLUMNS` when set, else no limit.
pub fn terminal_width() -> Option<usize> {
    let from_terminal = terminal_size::terminal_size_of(std::io::stdout())
        .map(|(w, _)| usize::from(w.0))
        .filter(|&w| w > 0);
    from_terminal.or_else(|| {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse().ok())
            .filter(|&w: &usize| w > 0)
    })
}

/// Opens a saved native scan for reading record by record; the error names the file.
pub fn open_scan(path: &Path) -> Result<RecordReader<std::io::BufReader<std::fs::File>>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(RecordReader::new(std::io::BufReader::new(file)))
}

/// Every record of a saved native scan; the error, one line, names the file and the line.
pub fn read_scan(path: &Path) -> Result<Vec<AssetRecord>, String> {
    open_scan(path)?
        .map(|r| r.map_err(|e| scan_error(path, &e)))
        .collect()
}

/// `FILE: line N: what is wrong`, on one line.
pub fn scan_error(path: &Path, e: &scanner_core::diff::DiffError) -> String {
    let text = format!("{}: {e}", path.display());
    text.replace(['\n', '\r'], " ")
}
