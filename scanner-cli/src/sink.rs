//! Where records go: stdout or `-o FILE`, one whole line per record.
//!
//! A regular file is written so that it never keeps a torn line: a write that fails
//! (disk full, I/O error) is cut back to the end of the last whole line, and a file
//! appended to (a resumed `--state` run) first loses a torn last line that a killed
//! run left, whose target the state does not count as done.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The record sink: stdout, a regular file (whose length is tracked), or another
/// file such as a pipe or a device.
pub enum Sink {
    /// Standard output.
    Stdout,
    /// A file named by `-o`.
    File {
        /// The open file.
        file: File,
        /// Its name, for messages.
        path: PathBuf,
        /// For a regular file, the length after the last whole line; `None` for a
        /// pipe, a FIFO or a device, which cannot be cut back.
        len: Option<u64>,
    },
}

/// What opening the sink did to an existing file, for a message.
pub struct Opened {
    /// The sink.
    pub sink: Sink,
    /// Bytes of a torn last line removed before appending.
    pub removed_torn: u64,
}

impl Sink {
    /// Opens the sink: stdout for `None`; `path` truncated, or with `append` kept
    /// and appended to after removing a torn last line. The error names the file.
    pub fn open(path: Option<&Path>, append: bool) -> Result<Opened, String> {
        let Some(path) = path else {
            return Ok(Opened {
                sink: Sink::Stdout,
                removed_torn: 0,
            });
        };
        let err = |e: std::io::Error| format!("cannot open output file {}: {e}", path.display());
        let mut file = if append {
            std::fs::OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(path)
        } else {
            File::create(path)
        }
        .map_err(err)?;
        let regular = file.metadata().map_err(err)?.is_file();
        let mut removed_torn = 0;
        let len = if regular {
            let len = file.metadata().map_err(err)?.len();
            let whole = whole_lines_len(&mut file, len).map_err(err)?;
            if whole < len {
                file.set_len(whole).map_err(err)?;
                removed_torn = len - whole;
            }
            Some(whole)
        } else {
            None
        };
        Ok(Opened {
            sink: Sink::File {
                file,
                path: path.to_owned(),
                len,
            },
            removed_torn,
        })
    }

    /// Writes one whole line (`line` ends with a newline) and flushes it. When the
    /// write fails, a regular file is cut back to its last whole line, so no torn
    /// line stays behind; the error names the file.
    pub fn write_line(&mut self, line: &[u8]) -> Result<(), String> {
        match self {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(line)
                    .and_then(|()| out.flush())
                    .map_err(|e| format!("cannot write output: {e}"))
            }
            Sink::File { file, path, len } => match file.write_all(line) {
                Ok(()) => {
                    if let Some(len) = len {
                        *len += line.len() as u64;
                    }
                    Ok(())
                }
                Err(e) => {
                    let cut = match len {
                        Some(len) => match file.set_len(*len) {
                            Ok(()) => String::new(),
                            Err(e2) => format!(" (and cannot remove the partial line: {e2})"),
                        },
                        None => String::new(),
                    };
                    Err(format!(
                        "cannot write output file {}: {e}{cut}",
                        path.display()
                    ))
                }
            },
        }
    }

    /// True when nothing is in the output yet: stdout, a pipe, or an empty regular
    /// file (a heading row belongs only at the start of a file).
    pub fn is_empty(&self) -> bool {
        !matches!(self, Sink::File { len: Some(n), .. } if *n > 0)
    }

    /// Where the output stands, as a journal keeps it: `OFFSET@DEVICE:INODE` for a
    /// regular file (so a later run can tell whether it writes to the same file),
    /// `None` for stdout, pipes and devices.
    pub fn mark(&self) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        match self {
            Sink::File {
                file,
                len: Some(len),
                ..
            } => {
                let m = file.metadata().ok()?;
                Some(format!("{len}@{}:{}", m.dev(), m.ino()))
            }
            _ => None,
        }
    }
}

/// Whole lines the regular file `path` holds after the position `mark` (a
/// [`Sink::mark`]) names; `None` when `path` is not the file the mark was taken on,
/// or is shorter than it, or cannot be read.
pub fn lines_after_mark(path: &Path, mark: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let (offset, id) = mark.split_once('@')?;
    let m = std::fs::metadata(path).ok()?;
    if id != format!("{}:{}", m.dev(), m.ino()) {
        return None;
    }
    lines_after(path, offset.parse().ok()?)
}

/// The length of `file` (of `len` bytes) up to and including its last newline.
fn whole_lines_len(file: &mut File, len: u64) -> std::io::Result<u64> {
    let mut end = len;
    let mut chunk = [0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..n])?;
        if let Some(i) = chunk[..n].iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Whole lines in the regular file `path` after byte `offset` (`None` when the
/// file cannot be read or is shorter than `offset`).
fn lines_after(path: &Path, offset: u64) -> Option<u64> {
    let mut file = File::open(path).ok()?;
    if file.metadata().ok()?.len() < offset {
        return None;
    }
    file.seek(SeekFrom::Start(offset)).ok()?;
    let mut count = 0u64;
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            return Some(count);
        }
        count += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_removes_a_torn_last_line_and_counts_lines() {
        let dir = std::env::temp_dir().join(format!("otscan-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"b\":2}\n{\"c\":").unwrap();
        let opened = Sink::open(Some(&path), true).unwrap();
        assert_eq!(opened.removed_torn, 5);
        let mut sink = opened.sink;
        assert!(sink.mark().unwrap().starts_with("16@"));
        sink.write_line(b"{\"d\":4}\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n{\"d\":4}\n"
        );
        assert_eq!(lines_after(&path, 8), Some(2));
        assert_eq!(lines_after(&path, 1000), None);
        let mark = sink.mark().unwrap();
        assert!(mark.starts_with("24@"), "{mark}");
        assert_eq!(lines_after_mark(&path, &mark), Some(0));
        assert_eq!(lines_after_mark(&path, "8@1:2"), None, "another file");
        // Without append the file starts empty.
        let opened = Sink::open(Some(&path), false).unwrap();
        assert!(opened.sink.mark().unwrap().starts_with("0@"));
    }
}
