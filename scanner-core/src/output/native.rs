//! The native format: the record exactly as serialized, described by the
//! checked-in JSON Schema (`scanner-core/schema/asset-record.schema.json`).

use crate::record::AssetRecord;

/// The record as a JSON value.
pub fn encode(record: &AssetRecord) -> serde_json::Value {
    // Serializing the record cannot fail: every map in it has string keys and
    // no field has a fallible Serialize impl. Null is an unreachable fallback
    // that keeps this path free of panics.
    serde_json::to_value(record).unwrap_or(serde_json::Value::Null)
}

/// Reads a saved native scan (NDJSON) one record at a time: what `otscan diff`,
/// `convert` and `report` read. A byte-order mark before the first line and blank
/// lines are skipped; a line longer than [`RecordReader::MAX_LINE_LEN`], or one that
/// is not a native record (an OCSF event, a torn line), is an error naming its
/// 1-based line, after which the reader ends.
///
/// ```
/// use scanner_core::output::native::RecordReader;
///
/// let text = "\u{feff}{\"schema\":\"otscan.asset/1\",\"scan_id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\",\"scanner\":{\"name\":\"otscan\",\"version\":\"0.1.0\"},\"ip\":\"10.0.0.5\",\"responsive\":true,\"sources\":{},\"services\":[]}\n\nnot json\n";
/// let mut reader = RecordReader::new(text.as_bytes());
/// assert_eq!(reader.next().unwrap().unwrap().ip.to_string(), "10.0.0.5");
/// assert_eq!(reader.next().unwrap().unwrap_err().line(), 3);
/// assert!(reader.next().is_none());
/// ```
pub struct RecordReader<R> {
    reader: R,
    buf: Vec<u8>,
    line: u64,
    done: bool,
}

impl<R: std::io::BufRead> RecordReader<R> {
    /// Longest record line read, in bytes.
    pub const MAX_LINE_LEN: usize = 1 << 20;

    /// A reader over `reader`.
    pub fn new(reader: R) -> Self {
        RecordReader {
            reader,
            buf: Vec::new(),
            line: 0,
            done: false,
        }
    }

    /// The 1-based line of the record last returned.
    pub fn line(&self) -> u64 {
        self.line
    }

    fn read_one(&mut self) -> Result<Option<AssetRecord>, ReadError> {
        use std::io::BufRead as _;
        loop {
            self.buf.clear();
            self.line += 1;
            let line = self.line;
            let io = |source| ReadError::Io { line, source };
            let n = std::io::Read::take(&mut self.reader, Self::MAX_LINE_LEN as u64 + 1)
                .read_until(b'\n', &mut self.buf)
                .map_err(io)?;
            if n == 0 {
                return Ok(None);
            }
            if self.buf.len() > Self::MAX_LINE_LEN {
                return Err(io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("longer than {} bytes", Self::MAX_LINE_LEN),
                )));
            }
            let mut text = self.buf.as_slice();
            if line == 1 {
                text = text.strip_prefix("\u{feff}".as_bytes()).unwrap_or(text);
            }
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return serde_json::from_slice(text)
                .map(Some)
                .map_err(|source| ReadError::NotARecord { line, source });
        }
    }
}

impl<R: std::io::BufRead> Iterator for RecordReader<R> {
    type Item = Result<AssetRecord, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.read_one() {
            Ok(Some(record)) => Some(Ok(record)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// A saved scan that cannot be read as native records (`otscan diff` calls it
/// `DiffError`).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Reading failed (I/O error or invalid UTF-8) at a line.
    #[error("line {line}: {source}")]
    Io {
        /// 1-based line number.
        line: u64,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A non-blank line is not a native asset record.
    #[error("line {line}: not an otscan asset record: {source}")]
    NotARecord {
        /// 1-based line number.
        line: u64,
        /// What the JSON decoder said (its column refers to this line).
        source: serde_json::Error,
    },
}

impl ReadError {
    /// The 1-based line the error is on.
    pub fn line(&self) -> u64 {
        match self {
            ReadError::Io { line, .. } | ReadError::NotARecord { line, .. } => *line,
        }
    }
}
