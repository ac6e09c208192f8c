//! The resume checkpoint file (`--state`): written atomically (temporary file,
//! fsync, rename, fsync of the directory), so a kill at any moment leaves either
//! the old state or the new one, never a torn file.

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

fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes the state to the temporary file next to `path` and syncs it (step one of
/// [`save`]; split out so a test can stop between the two steps, as a kill would).
pub fn write_temporary(path: &Path, state: &State) -> Result<PathBuf, StateError> {
    let io = |error| StateError::Io {
        path: path.to_owned(),
        error,
    };
    let tmp = temporary(path);
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
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
}
