//! Target specs (addresses, CIDRs, ranges, target files), parsed, excluded and iterated.
//!
//! The input is mapped onto the characters of numeric specs: digits, `.`, `:`, `/`, `-` and
//! `,`. Host names are resolved when parsed, and fuzzing must not send DNS queries, so specs that
//! the parser could take for a host name are dropped first (with this alphabet only those with
//! a dash before which no address stands, and no colon, can be).
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use scanner_core::targets::{Shard, Targets};

const ALPHABET: &[u8] = b"0123456789.:/-,";

/// Whether `parse_spec` could reach its host-name branch for `spec`.
fn may_resolve(spec: &str) -> bool {
    let text = spec.trim();
    if text.is_empty() || text.contains('/') || text.parse::<IpAddr>().is_ok() {
        return false;
    }
    if let Some((start, _)) = text.split_once('-') {
        if start.parse::<IpAddr>().is_ok() {
            return false;
        }
    }
    text.contains('-') && !text.contains(':')
}

fuzz_target!(|data: &[u8]| {
    let text: String = data
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    let _ = text.parse::<Shard>();
    let specs: Vec<&str> = text.split(',').filter(|s| !may_resolve(s)).collect();
    let (include, exclude) = specs.split_at(specs.len() / 2 + specs.len() % 2);
    let Ok(mut targets) = Targets::parse(include) else {
        return;
    };
    for spec in exclude {
        targets = match targets.exclude(spec) {
            Ok(t) => t,
            Err(_) => return,
        };
    }
    let total = targets.len();
    assert!(total <= targets.total_len());
    let mut visited = 0u128;
    for target in targets.iter().take(256) {
        assert!(targets.contains(target.ip));
        visited += 1;
    }
    assert_eq!(visited, total.min(256));
    if let Ok(shard) = "2/3".parse::<Shard>() {
        let part = targets.clone().with_shard(shard);
        assert!(part.len() <= total);
    }
    // The same specs as a target file.
    let file = specs.join(",");
    let _ = Targets::empty().include_reader(file.as_bytes(), "fuzz");
});
