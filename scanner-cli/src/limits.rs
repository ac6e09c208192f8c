//! The open-files limit a scan needs, checked (and raised) before anything is sent.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Descriptors the process needs besides the devices' sockets: standard streams,
/// the runtime's event queue and signal pipe, output, state, journal, lock and
/// report files, with room to spare.
pub const FDS_RESERVED: u64 = 64;

/// Open files a scan of `concurrency` devices at once needs, each holding at most
/// `per_device` sockets ([`ScanConfig::max_sockets_per_device`](scanner_core::ScanConfig::max_sockets_per_device)).
pub fn needed(concurrency: usize, per_device: u64) -> u64 {
    (concurrency as u64)
        .saturating_mul(per_device)
        .saturating_add(FDS_RESERVED)
}

/// Raises the soft open-files limit (RLIMIT_NOFILE) to the hard limit, then checks
/// that it carries `concurrency` devices at once, each holding at most `per_device`
/// sockets. The error is one line naming `--concurrency`, the need and the limit;
/// nothing has been sent.
pub fn ensure_open_files(concurrency: usize, per_device: u64) -> Result<u64, String> {
    let need = needed(concurrency, per_device);
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
    let most = now.saturating_sub(FDS_RESERVED) / per_device.max(1);
    let hard = before
        .maximum
        .map_or_else(|| "unlimited".to_owned(), |m| m.to_string());
    let fix = if most == 0 {
        format!("raise the limit to at least {need}")
    } else {
        format!("use --concurrency {most} or less, or raise the limit")
    };
    Err(format!(
        "--concurrency {concurrency} needs {need} open files ({per_device} sockets per device + {FDS_RESERVED}), but the open-files limit is {now} (hard limit {hard}): {fix} (ulimit -n, LimitNOFILE= in a systemd unit)"
    ))
}
