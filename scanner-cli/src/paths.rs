//! Files a scan writes must be distinct from each other and from the files it reads:
//! `-o` over `--state`, or `--report` over a target file, would destroy one of them.

use std::path::{Path, PathBuf};

use crate::cli::ScanArgs;

/// What identifies a file: device and inode when it exists, else the canonical
/// path of its directory joined with its name.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    Inode(u64, u64),
    Path(PathBuf),
}

fn identity(path: &Path) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        // A device such as /dev/null or /dev/stdout may be named twice.
        Ok(m) if !m.is_file() => None,
        Ok(m) => Some(Identity::Inode(m.dev(), m.ino())),
        Err(_) => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
            Some(Identity::Path(dir.join(path.file_name()?)))
        }
    }
}

/// Refuses two arguments naming the same file when at least one of them is
/// written; the message names both arguments and the file.
pub fn distinct(args: &ScanArgs) -> Result<(), String> {
    let mut written: Vec<(&str, PathBuf)> = Vec::new();
    if let Some(o) = &args.output {
        written.push(("-o", o.clone()));
    }
    if let Some(state) = &args.state {
        written.push(("--state", state.clone()));
        for suffix in [".tmp", ".lock", ".journal"] {
            written.push(("--state", crate::state::beside(state, suffix)));
        }
    }
    if let Some(r) = &args.report {
        written.push(("--report", r.clone()));
    }
    let mut read: Vec<(&str, PathBuf)> = Vec::new();
    read.extend(args.input_file.iter().map(|f| ("-iL", f.clone())));
    read.extend(
        args.exclude_file
            .iter()
            .map(|f| ("--exclude-file", f.clone())),
    );
    read.extend(args.enrich.iter().map(|f| ("--enrich", f.clone())));
    read.extend(args.config.iter().map(|f| ("--config", f.clone())));
    let ids = |list: &[(&'static str, PathBuf)]| -> Vec<(&'static str, PathBuf, Identity)> {
        list.iter()
            .filter_map(|(name, path)| identity(path).map(|id| (*name, path.clone(), id)))
            .collect()
    };
    let (written, read) = (ids(&written), ids(&read));
    for (i, (name, path, id)) in written.iter().enumerate() {
        let later = written[i + 1..].iter().filter(|(other, ..)| other != name);
        for (other, _, other_id) in later.chain(read.iter()) {
            if id == other_id {
                return Err(format!(
                    "{name} and {other} name the same file ({}): each needs its own",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

/// True when `a` and `b` name the same regular file, however they are spelled
/// (`convert` and `report` must not write over the scan they read).
pub fn same_file(a: &Path, b: &Path) -> bool {
    matches!((identity(a), identity(b)), (Some(x), Some(y)) if x == y)
}
