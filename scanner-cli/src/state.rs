//! The resume checkpoint file (`--state`): written atomically (temporary file,
//! fsync, rename, fsync of the directory), so a kill at any moment leaves either
//! the old state or the new one, never a torn file.
//!
//! Beside it live two more files, named after it:
//! - `STATE.lock`: one run at a time holds an exclusive `flock` on it ([`StateLock`]),
//!   and writes its pid there so that a second run can name the holder;
//! - `STATE.journal`: the targets done since the state was last written, one line
//!   each, appended before the target's record ([`Journal`]), so that after a
//!   SIGKILL a resume re-scans at most the target whose record was being written.

use std::io::Write;
use std::path::{Path, PathBuf};

use scanner_core::{Checkpoint, ScanConfig};
use serde::{Deserialize, Serialize};

const FORMAT: &str = "otscan.state/2";
/// The format written before each probe's settings entered the fingerprint.
const FORMAT_1: &str = "otscan.state/1";

/// What the state file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// File format version.
    pub format: String,
    /// Fingerprint of the target set, seed and shard (the target order).
    pub targets: String,
    /// The settings that decide what each target is asked (probes, ports, unit ids, versions).
    pub probing: String,
    /// Targets in the order (this shard).
    pub planned: String,
    /// Done positions of the order.
    pub checkpoint: Checkpoint,
    /// When the state was written.
    pub updated_at: String,
}

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Unreadable or unwritable.
    #[error("state file {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Not a state file of this version.
    #[error("state file {path} is not an otscan state file ({reason})")]
    Format {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Another run holds the state file's lock.
    #[error("state file {path} is in use by another otscan run{}: refusing to scan the same targets twice at once", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Busy {
        /// The file.
        path: PathBuf,
        /// The holder's process id, as it wrote it in the lock file.
        pid: Option<u32>,
    },
    /// Written for other targets or settings: mixing would skip or repeat targets.
    #[error("state file {path} belongs to a different scan ({what} differs): refusing to mix them; use another --state file, or delete this one to start over")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// Which part differs.
        what: String,
    },
    /// Written by an older otscan whose fingerprint this version cannot compare.
    #[error("state file {path} was written by an older otscan ({format}): finish that scan with the version that started it, or delete the file to start over")]
    Older {
        /// The file.
        path: PathBuf,
        /// Its format.
        format: String,
    },
}

impl State {
    /// A fresh state for `config` at `checkpoint`.
    pub fn new(config: &ScanConfig, checkpoint: Checkpoint) -> Self {
        State {
            format: FORMAT.to_owned(),
            targets: format!("{:016x}", config.targets.fingerprint()),
            probing: config.probing_fingerprint(),
            planned: config.targets.len().to_string(),
            checkpoint,
            updated_at: jiff::Timestamp::now().to_string(),
        }
    }

    /// True when every target of the order is done.
    pub fn complete(&self) -> bool {
        self.planned
            .parse::<u128>()
            .is_ok_and(|n| self.checkpoint.next >= n)
    }
}

/// Loads the checkpoint for `config` from `path`; `None` when the file does not exist.
pub fn load(path: &Path, config: &ScanConfig) -> Result<Option<State>, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(StateError::Io {
                path: path.to_owned(),
                error,
            })
        }
    };
    let state: State = serde_json::from_str(&text).map_err(|e| StateError::Format {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if state.format == FORMAT_1 {
        return Err(StateError::Older {
            path: path.to_owned(),
            format: state.format,
        });
    }
    if state.format != FORMAT {
        return Err(StateError::Format {
            path: path.to_owned(),
            reason: format!("format {:?}, expected {FORMAT:?}", state.format),
        });
    }
    let expected = State::new(config, Checkpoint::default());
    let mismatch = |what: String| StateError::Mismatch {
        path: path.to_owned(),
        what,
    };
    if state.targets != expected.targets || state.planned != expected.planned {
        return Err(mismatch("target set, seed or shard".to_owned()));
    }
    if state.probing != expected.probing {
        return Err(mismatch(format!(
            "probes, ports or protocol settings: {}",
            first_difference(&state.probing, &expected.probing)
        )));
    }
    Ok(Some(state))
}

/// Which part of two probing fingerprints differs, by name: `probes`, `emit_all`, or a
/// protocol and the settings key that changed (`modbus.unit_ids`). Values are never shown:
/// the fingerprint holds no secret, but a name is all a user needs to find the flag.
fn first_difference(saved: &str, now: &str) -> String {
    let parts = |text: &str| -> Vec<(String, String)> {
        text.split(';')
            .map(|part| match part.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => (part.to_owned(), String::new()),
            })
            .collect()
    };
    let (saved, now) = (parts(saved), parts(now));
    for (name, value) in &now {
        match saved.iter().find(|(n, _)| n == name) {
            None => return format!("{name} was not probed before"),
            Some((_, old)) if old != value => {
                let keys = |json: &str| -> Option<serde_json::Map<String, serde_json::Value>> {
                    serde_json::from_str::<serde_json::Value>(json)
                        .ok()?
                        .as_object()
                        .cloned()
                };
                if let (Some(old), Some(new)) = (keys(old), keys(value)) {
                    if let Some(key) = new.keys().find(|k| old.get(*k) != new.get(*k)) {
                        return format!("{name}.{key}");
                    }
                }
                return name.clone();
            }
            Some(_) => {}
        }
    }
    saved
        .iter()
        .find(|(n, _)| !now.iter().any(|(m, _)| m == n))
        .map_or_else(
            || "probing".to_owned(),
            |(n, _)| format!("{n} is not probed now"),
        )
}

/// `path` with `suffix` added to its file name (`scan.state` -> `scan.state.tmp`).
pub fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn temporary(path: &Path) -> PathBuf {
    beside(path, ".tmp")
}

/// Opens `path` for reading and writing, created if missing, never through a
/// symbolic link planted at its name (`O_NOFOLLOW`), mode 0600 when created.
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
}

/// The exclusive lock on a state file, held for the whole run (released when
/// dropped, or by the kernel when the process dies, even by SIGKILL).
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

/// Takes the exclusive lock on `state` (an `flock` on `STATE.lock`, through `fs4`)
/// and writes this process's pid in the lock file; [`StateError::Busy`] with the
/// holder's pid when another run holds it.
pub fn lock(state: &Path) -> Result<StateLock, StateError> {
    let path = beside(state, ".lock");
    let io = |error| StateError::Io {
        path: path.clone(),
        error,
    };
    let mut file = open_no_follow(&path).map_err(io)?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => {}
        Err(fs4::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut file, &mut text);
            return Err(StateError::Busy {
                path: state.to_owned(),
                pid: text.split_whitespace().next().and_then(|p| p.parse().ok()),
            });
        }
        Err(fs4::TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes())
        .map_err(io)?;
    Ok(StateLock { _file: file })
}

/// Writes the state to the temporary file next to `path` and syncs it (step one of
/// [`save`]; split out so a test can stop between the two steps, as a kill would).
pub fn write_temporary(path: &Path, state: &State) -> Result<PathBuf, StateError> {
    let io = |error| StateError::Io {
        path: path.to_owned(),
        error,
    };
    let tmp = temporary(path);
    // Created exclusively: a link planted at the temporary name is removed, never
    // followed (O_CREAT|O_EXCL does not follow links), and a second one is an error.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?
    };
    let text = serde_json::to_string_pretty(state).unwrap_or_default();
    file.write_all(text.as_bytes()).map_err(io)?;
    file.write_all(b"\n").map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(tmp)
}

/// Replaces `path` with the state atomically.
pub fn save(path: &Path, state: &State) -> Result<(), StateError> {
    let io = |error| StateError::Io {
        path: path.to_owned(),
        error,
    };
    let tmp = write_temporary(path, state)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    // The rename is durable only once the directory entry is on disk.
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

const JOURNAL_FORMAT: &str = "otscan.journal/1";

/// The targets done since the state file was last written, one line each:
/// `POSITION` for a target without a record, `POSITION r` for one with a record,
/// written *before* that record. The header names the scan (target fingerprint and
/// size) and where the `-o` file stood when the journal started (a [`Sink::mark`]:
/// length, device and inode; `-` for stdout).
///
/// [`Sink::mark`]: crate::sink::Sink::mark
///
/// Every entry is followed by the record it announces before the next entry is
/// written, so only the last entry can announce a record that never got written;
/// [`Journal::recover`] checks that one against the `-o` file.
#[derive(Debug)]
pub struct Journal {
    file: std::fs::File,
    path: PathBuf,
    header: String,
}

/// What the journal of an earlier, killed run says.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Positions done (whose records, if any, are written).
    pub done: Vec<u128>,
    /// The last entry's position when its record may not have been written
    /// (re-scanned: at most this one target).
    pub unsure: Option<u128>,
}

fn journal_header(config: &ScanConfig, output_mark: Option<&str>) -> String {
    format!(
        "{JOURNAL_FORMAT} {:016x} {} {}",
        config.targets.fingerprint(),
        config.targets.len(),
        output_mark.unwrap_or("-")
    )
}

impl Journal {
    /// Reads the journal that an earlier run of this scan left beside `state` (none
    /// when it finished normally). `lines_after(mark)` counts the whole lines the
    /// `-o` file holds after the output mark the journal started at (`None`: unknown,
    /// e.g. stdout or another file), to tell whether the last announced record was
    /// written. A journal of another scan is ignored.
    pub fn recover(
        state: &Path,
        config: &ScanConfig,
        lines_after: impl Fn(&str) -> Option<u64>,
    ) -> Result<Option<Recovered>, StateError> {
        let path = beside(state, ".journal");
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(StateError::Io { path, error }),
        };
        // Only whole lines count: a line cut by the kill is not an entry.
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let text = String::from_utf8_lossy(&text[..whole]);
        let mut lines = text.lines();
        let Some(header) = lines.next() else {
            return Ok(None);
        };
        let mut words = header.split(' ');
        let (format, targets, planned, offset) =
            (words.next(), words.next(), words.next(), words.next());
        let expected = journal_header(config, None);
        let mut expected = expected.split(' ');
        if format != expected.next() || targets != expected.next() || planned != expected.next() {
            return Ok(None);
        }
        let mark = offset.filter(|o| *o != "-");
        let mut recovered = Recovered::default();
        let mut announced = 0u64;
        let mut last_announced = None;
        for line in lines {
            let mut parts = line.split(' ');
            let Some(position) = parts.next().and_then(|p| p.parse::<u128>().ok()) else {
                continue;
            };
            let with_record = parts.next() == Some("r");
            if with_record {
                announced += 1;
                last_announced = Some(position);
            } else {
                last_announced = None;
            }
            recovered.done.push(position);
        }
        // The last entry announced a record: written only if the -o file holds as
        // many whole lines since the journal started as entries announced records.
        if let Some(position) = last_announced {
            let written = mark.and_then(&lines_after);
            if written.is_none_or(|w| w < announced) {
                recovered.done.pop();
                recovered.unsure = Some(position);
            }
        }
        Ok(Some(recovered))
    }

    /// Starts a fresh journal beside `state` (replacing an old one), never through a
    /// planted link; `output_mark` is where the `-o` file stands (`None`: stdout).
    pub fn create(
        state: &Path,
        config: &ScanConfig,
        output_mark: Option<&str>,
    ) -> Result<Journal, StateError> {
        let path = beside(state, ".journal");
        let file = open_no_follow(&path).map_err(|error| StateError::Io {
            path: path.clone(),
            error,
        })?;
        let mut journal = Journal {
            file,
            path,
            header: journal_header(config, None),
        };
        journal.reset(output_mark)?;
        Ok(journal)
    }

    /// Appends the entry of a target done at `position` (`record`: a record follows).
    pub fn append(&mut self, position: u128, record: bool) -> Result<(), StateError> {
        let line = if record {
            format!("{position} r\n")
        } else {
            format!("{position}\n")
        };
        self.file
            .write_all(line.as_bytes())
            .map_err(|error| StateError::Io {
                path: self.path.clone(),
                error,
            })
    }

    /// Empties the journal after the state file was written (it holds every entry).
    pub fn reset(&mut self, output_mark: Option<&str>) -> Result<(), StateError> {
        use std::io::Seek;
        let io = |error| StateError::Io {
            path: self.path.clone(),
            error,
        };
        let mut words: Vec<&str> = self.header.split(' ').collect();
        words.truncate(3);
        words.push(output_mark.unwrap_or("-"));
        let header = words.join(" ") + "\n";
        self.file.set_len(0).map_err(io)?;
        self.file.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
        self.file.write_all(header.as_bytes()).map_err(io)
    }

    /// Removes the journal once the final state is written.
    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scanner_core::Targets;

    fn config(targets: &str) -> ScanConfig {
        ScanConfig::builder()
            .targets(Targets::parse([targets]).unwrap())
            .build()
            .unwrap()
    }

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "otscan-state-{}-{}",
            std::process::id(),
            jiff::Timestamp::now().as_nanosecond()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trip_and_missing_file() {
        let d = dir();
        let path = d.join("scan.state");
        let c = config("127.0.0.0/24");
        assert!(load(&path, &c).unwrap().is_none());
        let mut cp = Checkpoint::default();
        for p in [0, 1, 2, 5, 7] {
            cp.complete(p);
        }
        save(&path, &State::new(&c, cp.clone())).unwrap();
        let back = load(&path, &c).unwrap().unwrap();
        assert_eq!(back.checkpoint, cp);
        assert_eq!(back.checkpoint.next, 3);
        assert!(!back.complete());
    }

    #[test]
    fn a_different_scan_is_refused() {
        let d = dir();
        let path = d.join("scan.state");
        save(
            &path,
            &State::new(&config("127.0.0.0/24"), Checkpoint::default()),
        )
        .unwrap();
        let e = load(&path, &config("127.0.1.0/24"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("different scan") && e.contains("target set"),
            "{e}"
        );
        let other_seed = ScanConfig::builder()
            .targets(Targets::parse(["127.0.0.0/24"]).unwrap().with_seed(9))
            .build()
            .unwrap();
        assert!(load(&path, &other_seed).is_err());
        let other_probes = ScanConfig::builder()
            .targets(Targets::parse(["127.0.0.0/24"]).unwrap())
            .probes([scanner_core::Protocol::Modbus])
            .build()
            .unwrap();
        let e = load(&path, &other_probes).unwrap_err().to_string();
        assert!(e.contains("probes"), "{e}");
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            load(&path, &config("127.0.0.0/24")),
            Err(StateError::Format { .. })
        ));
    }

    #[test]
    fn a_refusal_names_the_setting_and_an_older_file_says_so() {
        let d = dir();
        let path = d.join("scan.state");
        let c = config("127.0.0.0/24");
        save(&path, &State::new(&c, Checkpoint::default())).unwrap();
        let mut other = c.clone();
        other.protocols.modbus.unit_ids = vec![1];
        let e = load(&path, &other).unwrap_err().to_string();
        assert!(e.contains("modbus.unit_ids differs"), "{e}");
        let mut fewer = c.clone();
        fewer.probes.retain(|p| *p != scanner_core::Protocol::Snmp);
        let e = load(&path, &fewer).unwrap_err().to_string();
        assert!(e.contains("probes differs"), "{e}");
        // A file of the first format: its fingerprint cannot be compared.
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("otscan.state/2", "otscan.state/1");
        std::fs::write(&path, text).unwrap();
        let e = load(&path, &c).unwrap_err().to_string();
        assert!(e.contains("written by an older otscan"), "{e}");
    }

    #[test]
    fn a_kill_between_write_and_rename_leaves_the_old_state() {
        let d = dir();
        let path = d.join("scan.state");
        let c = config("127.0.0.0/24");
        let mut old = Checkpoint::default();
        old.complete(0);
        save(&path, &State::new(&c, old.clone())).unwrap();
        let mut new = old.clone();
        new.complete(1);
        // The process dies after writing the temporary file, before the rename.
        let tmp = write_temporary(&path, &State::new(&c, new.clone())).unwrap();
        assert!(tmp.exists());
        assert_eq!(
            load(&path, &c).unwrap().unwrap().checkpoint,
            old,
            "old state intact"
        );
        // A torn temporary file (killed mid-write) is never read either.
        std::fs::write(&tmp, "{\"format\": \"otscan.st").unwrap();
        assert_eq!(load(&path, &c).unwrap().unwrap().checkpoint, old);
        // The next save replaces both.
        save(&path, &State::new(&c, new.clone())).unwrap();
        assert_eq!(load(&path, &c).unwrap().unwrap().checkpoint, new);
        assert!(!tmp.exists());
    }

    #[test]
    fn the_journal_recovers_entries_and_doubts_only_an_unwritten_last_record() {
        let d = dir();
        let state = d.join("scan.state");
        let c = config("127.0.0.0/24");
        assert_eq!(Journal::recover(&state, &c, |_| Some(0)).unwrap(), None);
        let mut j = Journal::create(&state, &c, Some("100@1:2")).unwrap();
        j.append(4, false).unwrap();
        j.append(7, true).unwrap();
        j.append(2, true).unwrap();
        // Two records announced: both written, or only the first.
        let r = Journal::recover(&state, &c, |m| (m == "100@1:2").then_some(2)).unwrap();
        assert_eq!(r.unwrap().done, [4, 7, 2]);
        let r = Journal::recover(&state, &c, |_| Some(1)).unwrap().unwrap();
        assert_eq!((r.done, r.unsure), (vec![4, 7], Some(2)));
        // Stdout: the last announced record is in doubt.
        let r = Journal::recover(&state, &c, |_| None).unwrap().unwrap();
        assert_eq!(r.unsure, Some(2));
        // An entry after it proves the record before it was written; a torn entry is no entry.
        j.append(9, false).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(beside(&state, ".journal"))
            .unwrap()
            .write_all(b"12")
            .unwrap();
        let r = Journal::recover(&state, &c, |_| None).unwrap().unwrap();
        assert_eq!((r.done, r.unsure), (vec![4, 7, 2, 9], None));
        // A reset empties it; another scan's journal is ignored.
        j.reset(Some("300@1:2")).unwrap();
        let r = Journal::recover(&state, &c, |_| None).unwrap().unwrap();
        assert!(r.done.is_empty());
        assert_eq!(
            Journal::recover(&state, &config("127.0.1.0/24"), |_| None).unwrap(),
            None
        );
        j.remove();
        assert!(!beside(&state, ".journal").exists());
    }

    #[test]
    fn a_second_lock_names_the_holder() {
        let d = dir();
        let state = d.join("scan.state");
        let held = lock(&state).unwrap();
        match lock(&state) {
            Err(StateError::Busy { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("{other:?}"),
        }
        drop(held);
        lock(&state).unwrap();
    }

    #[test]
    fn a_link_planted_at_the_temporary_name_is_not_followed() {
        let d = dir();
        let state = d.join("scan.state");
        let victim = d.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, beside(&state, ".tmp")).unwrap();
        let c = config("127.0.0.0/24");
        save(&state, &State::new(&c, Checkpoint::default())).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(load(&state, &c).unwrap().is_some());
    }
}
