//! The open-files limit a scan needs, checked (and raised) before anything is sent.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// File descriptors one device of a scan may hold at once: its TCP connection and
/// its UDP socket (a session never holds two of either).
pub const FDS_PER_DEVICE: u64 = 2;
/// Descriptors the process needs besides the devices' sockets: standard streams,
/// the runtime's event queue and signal pipe, output, state, journal, lock and
/// report files, with room to spare.
pub const FDS_RESERVED: u64 = 64;

/// Open files a scan of `concurrency` devices at once needs.
pub fn needed(concurrency: usize) -> u64 {
    (concurrency as u64)
        .saturating_mul(FDS_PER_DEVICE)
        .saturating_add(FDS_RESERVED)
}

/// Raises the soft open-files limit (RLIMIT_NOFILE) to the hard limit, then checks
/// that it carries `concurrency` devices at once. The error is one line naming
/// `--concurrency`, the need and the limit; nothing has been sent.
pub fn ensure_open_files(concurrency: usize) -> Result<u64, String> {
    let need = needed(concurrency);
    let before = getrlimit(Resource::Nofile);
    let soft = before.current.unwrap_or(u64::MAX);
    // An unlimited hard limit cannot be the soft one on Linux (fs.nr_open caps it):
    // ask for what the scan needs, at least the common 1M.
    let target = before.maximum.unwrap_or_else(|| need.max(1 << 20));
    if soft < target {
        let raised = Rlimit {
            current: Some(target),
            maximum: before.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_err() && need > soft {
            let _ = setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(need),
                    maximum: before.maximum,
                },
            );
        }
    }
    let now = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    if now >= need {
        return Ok(now);
    }
    let most = now.saturating_sub(FDS_RESERVED) / FDS_PER_DEVICE;
    let hard = before
        .maximum
        .map_or_else(|| "unlimited".to_owned(), |m| m.to_string());
    let fix = if most == 0 {
        format!("raise the limit to at least {need}")
    } else {
        format!("use --concurrency {most} or less, or raise the limit")
    };
    Err(format!(
        "--concurrency {concurrency} needs {need} open files ({FDS_PER_DEVICE} per device + {FDS_RESERVED}), but the open-files limit is {now} (hard limit {hard}): {fix} (ulimit -n, LimitNOFILE= in a systemd unit)"
    ))
}
