//! Scan targets: parsing, exclusions, and lazy iteration in a deterministic
//! pseudo-random order, optionally split into shards.
//!
//! A target spec (on the command line, or in a file read with
//! [`Targets::include_file`] / [`Targets::exclude_file`]) is one of:
//!
//! * a single address: `10.0.0.5`, `fe80::1`, `::1`;
//! * a CIDR block: `10.0.0.0/8`, `fd00::/120`. Host bits are ignored, so
//!   `10.0.0.5/24` is the whole `10.0.0.0/24` (as in nmap). IPv6 prefixes
//!   shorter than `/64` are refused: no scan can visit more than 2^64 addresses;
//! * a dash range: `10.0.0.5-10.0.0.20`, the last-octet short form
//!   `10.0.0.5-20`, or `fd00::1-fd00::ff`;
//! * a host name (`plc-1.plant.example`), resolved once, when it is parsed.
//!   Like nmap, an included name scans the first address the resolver returns;
//!   an excluded name removes every address it resolves to.
//!
//! Files hold any number of specs per line, separated by white space or
//! commas; `#` starts a comment that runs to the end of the line.
//!
//! Included specs are merged into sorted, disjoint address ranges and the
//! exclusions are subtracted from them at once, whatever the order of the
//! calls, so an excluded address can never be yielded. Memory grows with the
//! number of specs, never with the number of addresses.
//!
//! [`Targets::iter`] visits every remaining address exactly once, in an order
//! that looks random but depends only on the ranges and the seed, so the same
//! command gives the same order on every machine. [`Shard`]s split that order
//! between several scanners without overlap.
//!
//! ```
//! # use scanner_core::targets::{Shard, Targets};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let targets = Targets::parse(["10.20.0.0/24", "10.20.1.5-10.20.1.9"])?
//!     .exclude("10.20.0.0/28")?
//!     .with_shard("1/2".parse::<Shard>()?);
//! assert_eq!(targets.total_len(), 256 + 5 - 16);
//! assert_eq!(targets.len(), 123);
//! assert_eq!(targets.iter().count(), 123);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::iter::FusedIterator;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use ipnet::{Ipv4Net, Ipv6Net};

/// Seed of the visiting order when [`Targets::with_seed`] is not called.
///
/// It is a fixed constant (the bytes of `"otscanv1"`) rather than a random
/// value so that the same command visits addresses in the same order on every
/// run and every machine, and so that scanners started separately with
/// different [`Shard`]s of the same targets agree on the order they split.
pub const DEFAULT_SEED: u64 = 0x6f74_7363_616e_7631;

/// Shortest IPv6 prefix accepted: a /64 already holds 2^64 addresses.
const MIN_IPV6_PREFIX: u8 = 64;

/// Feistel rounds; 4 is the minimum for a pseudo-random permutation, the
/// extra rounds make the order of small sets look less structured.
const ROUNDS: usize = 6;

/// Why a target spec, target file or shard could not be used.
///
/// Every message quotes the offending text, and errors from files name the
/// file (or `stdin`) and the 1-based line number.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The text is not a valid address, CIDR, range or host name.
    #[error("invalid target {}: {reason}", quoted(spec))]
    Invalid {
        /// The spec as given (without surrounding white space).
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A syntactically valid host name could not be resolved.
    #[error("cannot resolve host name {}: {error}", quoted(name))]
    Resolve {
        /// The host name.
        name: String,
        /// The resolver's error.
        error: io::Error,
    },
    /// The text is not a valid `K/N` shard.
    #[error("invalid shard {}: {reason}", quoted(text))]
    InvalidShard {
        /// The text as given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The targets would hold more addresses than can be counted in a `u128`.
    #[error(
        "too many targets after adding {}: more than 2^128 - 1 addresses",
        quoted(spec)
    )]
    TooMany {
        /// The spec or file whose addresses overflowed the count.
        spec: String,
    },
    /// An error in a line of a target file.
    #[error("{origin} line {line}: {error}")]
    Line {
        /// The file path, or `stdin`.
        origin: String,
        /// 1-based line number.
        line: u64,
        /// The error in that line.
        error: Box<TargetError>,
    },
    /// A line of a target file (or stdin) is longer than [`MAX_LINE_LEN`].
    #[error("{origin} line {line}: longer than {max} bytes (not a target file?)")]
    LongLine {
        /// The file path, or `stdin`.
        origin: String,
        /// 1-based line number.
        line: u64,
        /// The longest line accepted, in bytes.
        max: usize,
    },
    /// A target file could not be opened or read.
    #[error("cannot read {path}: {error}")]
    Io {
        /// The file path, or `stdin`.
        path: String,
        /// The I/O error.
        error: io::Error,
    },
}

/// One address to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The address.
    pub ip: IpAddr,
    /// The host name the user gave, when the address came from a name.
    pub name: Option<Arc<str>>,
}

/// One part `K/N` of a scan split between `N` scanners.
///
/// Shard `K/N` visits the positions `K-1, K-1+N, K-1+2N, ...` of the shared
/// visiting order, so the `N` shards of the same targets and seed visit every
/// address exactly once between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based index `K`, at most `count`.
    pub index: u32,
    /// Number of shards `N`, at least 1.
    pub count: u32,
}

impl Shard {
    /// Shard `index/count`, or `None` unless `1 <= index <= count`.
    pub fn new(index: u32, count: u32) -> Option<Self> {
        let shard = Shard { index, count };
        shard.is_valid().then_some(shard)
    }

    /// Whether `1 <= index <= count`; the fields are public, so a `Shard` may
    /// have been built without [`Shard::new`].
    pub fn is_valid(self) -> bool {
        self.index >= 1 && self.index <= self.count
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = TargetError;

    /// Parses `K/N`, e.g. `2/4`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| TargetError::InvalidShard {
            text: text.to_owned(),
            reason,
        };
        let number = |part: &str| {
            // u32::from_str accepts a leading '+', which has no business here.
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse::<u32>().ok()
            } else {
                None
            }
        };
        let (index, count) = text
            .trim()
            .split_once('/')
            .and_then(|(k, n)| Some((number(k.trim())?, number(n.trim())?)))
            .ok_or_else(|| invalid("expected K/N, e.g. 2/4".to_owned()))?;
        if count == 0 {
            return Err(invalid("the shard count must be at least 1".to_owned()));
        }
        if index == 0 {
            return Err(invalid("shard numbers start at 1".to_owned()));
        }
        if index > count {
            return Err(invalid(format!(
                "shard {index} is past the shard count {count}"
            )));
        }
        Ok(Shard { index, count })
    }
}

/// The set of addresses to scan, with the order's seed and an optional shard.
///
/// Cloning is cheap in the number of addresses: it copies the range lists,
/// never the addresses themselves.
#[derive(Clone, Debug)]
pub struct Targets {
    /// Merged includes; kept apart from the exclusions so that an exclusion
    /// also applies to addresses included after it.
    include: Vec<Span>,
    /// Merged exclusions.
    exclude: Vec<Span>,
    /// Host names, only for addresses that came from names.
    names: Arc<BTreeMap<IpAddr, Arc<str>>>,
    /// `include` minus `exclude`, shared with the iterators.
    plan: Arc<Plan>,
    seed: u64,
    shard: Option<Shard>,
}

impl Default for Targets {
    fn default() -> Self {
        Self::empty()
    }
}

impl Targets {
    /// No targets, the default seed and no shard.
    pub fn empty() -> Self {
        Targets {
            include: Vec::new(),
            exclude: Vec::new(),
            names: Arc::new(BTreeMap::new()),
            plan: Arc::new(Plan::default()),
            seed: DEFAULT_SEED,
            shard: None,
        }
    }

    /// Targets made of the included `specs` (see the [module docs](self)).
    pub fn parse<I, S>(specs: I) -> Result<Self, TargetError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut batch = Batch::default();
        for spec in specs {
            batch.include(spec.as_ref())?;
        }
        Self::empty().apply(batch, "the given targets")
    }

    /// Adds the addresses of one spec.
    pub fn include(self, spec: &str) -> Result<Self, TargetError> {
        let mut batch = Batch::default();
        batch.include(spec)?;
        self.apply(batch, spec)
    }

    /// Adds the specs of a file (`-` reads standard input).
    pub fn include_file(self, path: impl AsRef<Path>) -> Result<Self, TargetError> {
        let path = path.as_ref();
        if path == Path::new("-") {
            return self.include_reader(io::stdin().lock(), "stdin");
        }
        let origin = path.display().to_string();
        let file = open(path, &origin)?;
        self.include_reader(BufReader::new(file), &origin)
    }

    /// Adds the specs read from `reader`; `origin` names it in error messages.
    pub fn include_reader(self, reader: impl BufRead, origin: &str) -> Result<Self, TargetError> {
        let mut batch = Batch::default();
        read_specs(reader, origin, |spec| batch.include(spec))?;
        self.apply(batch, origin)
    }

    /// Removes the addresses of one spec, including ones added later.
    pub fn exclude(self, spec: &str) -> Result<Self, TargetError> {
        let mut batch = Batch::default();
        batch.exclude(spec)?;
        self.apply(batch, spec)
    }

    /// Removes the specs of a file (`-` reads standard input).
    pub fn exclude_file(self, path: impl AsRef<Path>) -> Result<Self, TargetError> {
        let path = path.as_ref();
        if path == Path::new("-") {
            return self.exclude_reader(io::stdin().lock(), "stdin");
        }
        let origin = path.display().to_string();
        let file = open(path, &origin)?;
        self.exclude_reader(BufReader::new(file), &origin)
    }

    /// Removes the specs read from `reader`; `origin` names it in error messages.
    pub fn exclude_reader(self, reader: impl BufRead, origin: &str) -> Result<Self, TargetError> {
        let mut batch = Batch::default();
        read_specs(reader, origin, |spec| batch.exclude(spec))?;
        self.apply(batch, origin)
    }

    /// Sets the seed of the visiting order (default [`DEFAULT_SEED`]).
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Visits only `shard` of the order. A shard that is not
    /// [valid](Shard::is_valid) visits nothing: better to scan nothing than
    /// addresses another scanner was meant to take.
    #[must_use]
    pub fn with_shard(mut self, shard: Shard) -> Self {
        self.shard = Some(shard);
        self
    }

    /// The seed of the visiting order.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The shard, if one was set.
    pub fn shard(&self) -> Option<Shard> {
        self.shard
    }

    /// Number of addresses this shard visits, after exclusions.
    pub fn len(&self) -> u128 {
        let (_, _, len) = self.stride();
        len
    }

    /// Whether this shard visits no address.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of addresses after exclusions, over all shards.
    pub fn total_len(&self) -> u128 {
        self.plan.total
    }

    /// Whether `ip` is in the set (after exclusions, ignoring the shard).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (family, value) = to_u128(ip);
        let spans = &self.plan.spans;
        let after = spans.partition_point(|s| (s.family, s.start) <= (family, value));
        after
            .checked_sub(1)
            .and_then(|i| spans.get(i))
            .is_some_and(|s| s.family == family && value <= s.end)
    }

    /// The set as sorted, disjoint, inclusive `(first, last)` address ranges,
    /// IPv4 before IPv6, after exclusions and ignoring the shard.
    pub fn ranges(&self) -> impl Iterator<Item = (IpAddr, IpAddr)> + '_ {
        self.plan
            .spans
            .iter()
            .filter_map(|s| Some((from_u128(s.family, s.start)?, from_u128(s.family, s.end)?)))
    }

    /// Lazily visits the addresses of this shard in the seeded order.
    pub fn iter(&self) -> TargetIter {
        self.iter_from(0)
    }

    /// Like [`iter`](Self::iter), but starting after the first `position`
    /// targets, without visiting them; with [`TargetIter::position`] this
    /// resumes an interrupted scan.
    pub fn iter_from(&self, position: u128) -> TargetIter {
        let (offset, stride, len) = self.stride();
        TargetIter {
            plan: Arc::clone(&self.plan),
            names: Arc::clone(&self.names),
            permutation: Permutation::new(self.plan.total, self.seed),
            offset,
            stride,
            next: position.min(len),
            len,
        }
    }

    /// A hash of the address ranges (after exclusions), the seed and the
    /// shard: equal for the same visiting order, on every machine and run.
    /// Host names are left out, they do not change what is visited.
    pub fn fingerprint(&self) -> u64 {
        let mut hash = Fnv1a::new();
        // Versioned so that a future change of the order invalidates old state.
        hash.write(b"otscan-targets-v1");
        hash.write(&(self.plan.spans.len() as u64).to_le_bytes());
        for span in &self.plan.spans {
            hash.write(&[span.family as u8]);
            hash.write(&span.start.to_le_bytes());
            hash.write(&span.end.to_le_bytes());
        }
        hash.write(&self.seed.to_le_bytes());
        match self.shard {
            Some(shard) => {
                hash.write(&[1]);
                hash.write(&shard.index.to_le_bytes());
                hash.write(&shard.count.to_le_bytes());
            }
            None => hash.write(&[0]),
        }
        mix64(hash.0)
    }

    /// `(first slot, slot stride, number of slots)` of this shard within the
    /// permutation of `[0, total_len)`.
    fn stride(&self) -> (u128, u128, u128) {
        let total = self.plan.total;
        match self.shard {
            None => (0, 1, total),
            Some(shard) if shard.is_valid() => {
                let offset = u128::from(shard.index - 1);
                let stride = u128::from(shard.count);
                let len = if total > offset {
                    (total - offset - 1) / stride + 1
                } else {
                    0
                };
                (offset, stride, len)
            }
            Some(_) => (0, 1, 0),
        }
    }

    /// Folds a parsed batch into the sets and rebuilds the plan; `what`
    /// names the batch in the (practically unreachable) overflow error.
    fn apply(mut self, batch: Batch, what: &str) -> Result<Self, TargetError> {
        if batch.include.is_empty() && batch.exclude.is_empty() {
            return Ok(self);
        }
        if !batch.include.is_empty() {
            self.include.extend(batch.include);
            self.include = normalize(std::mem::take(&mut self.include));
        }
        if !batch.exclude.is_empty() {
            self.exclude.extend(batch.exclude);
            self.exclude = normalize(std::mem::take(&mut self.exclude));
        }
        if !batch.names.is_empty() {
            let names = Arc::make_mut(&mut self.names);
            for (ip, name) in batch.names {
                // The first name given for an address is the one the user sees.
                names.entry(ip).or_insert(name);
            }
        }
        let plan = Plan::new(subtract(&self.include, &self.exclude)).ok_or_else(|| {
            TargetError::TooMany {
                spec: what.to_owned(),
            }
        })?;
        self.plan = Arc::new(plan);
        Ok(self)
    }
}

impl IntoIterator for &Targets {
    type Item = Target;
    type IntoIter = TargetIter;

    fn into_iter(self) -> TargetIter {
        self.iter()
    }
}

/// Lazy iterator over the targets of one shard, in the seeded order.
///
/// It owns what it needs (`Send + 'static`), so it can outlive the
/// [`Targets`] it came from and move to another task.
#[derive(Clone, Debug)]
pub struct TargetIter {
    plan: Arc<Plan>,
    names: Arc<BTreeMap<IpAddr, Arc<str>>>,
    permutation: Permutation,
    offset: u128,
    stride: u128,
    /// How many of this shard's slots have been consumed.
    next: u128,
    len: u128,
}

impl TargetIter {
    /// How many targets of this shard have been consumed (yielded or
    /// skipped); [`Targets::iter_from`] with this value resumes here.
    pub fn position(&self) -> u128 {
        self.next
    }

    /// Targets left to yield.
    pub fn remaining(&self) -> u128 {
        self.len - self.next
    }
}

impl Iterator for TargetIter {
    type Item = Target;

    fn next(&mut self) -> Option<Target> {
        if self.next >= self.len {
            return None;
        }
        // next < len keeps the slot below total_len, so this cannot overflow.
        let slot = self.offset + self.next * self.stride;
        self.next += 1;
        let ip = self.plan.address(self.permutation.apply(slot))?;
        let name = self.names.get(&ip).cloned();
        Some(Target { ip, name })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.remaining();
        (
            usize::try_from(remaining).unwrap_or(usize::MAX),
            usize::try_from(remaining).ok(),
        )
    }

    fn nth(&mut self, n: usize) -> Option<Target> {
        // Skipping costs nothing: any slot's address is computed directly.
        self.next = self.next.saturating_add(n as u128).min(self.len);
        self.next()
    }
}

impl FusedIterator for TargetIter {}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Family {
    V4,
    V6,
}

/// Inclusive range of addresses of one family; inclusive so that the last
/// IPv6 address needs no 2^128 end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    family: Family,
    start: u128,
    end: u128,
}

impl Span {
    fn single(ip: IpAddr) -> Self {
        let (family, value) = to_u128(ip);
        Span {
            family,
            start: value,
            end: value,
        }
    }
}

fn to_u128(ip: IpAddr) -> (Family, u128) {
    match ip {
        IpAddr::V4(v4) => (Family::V4, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => (Family::V6, u128::from(v6)),
    }
}

fn from_u128(family: Family, value: u128) -> Option<IpAddr> {
    match family {
        Family::V4 => Some(IpAddr::V4(Ipv4Addr::from(u32::try_from(value).ok()?))),
        Family::V6 => Some(IpAddr::V6(Ipv6Addr::from(value))),
    }
}

/// Sorts and merges overlapping or adjacent spans.
fn normalize(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable();
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last)
                if last.family == span.family && span.start.saturating_sub(1) <= last.end =>
            {
                last.end = last.end.max(span.end);
            }
            _ => merged.push(span),
        }
    }
    merged
}

/// `include` minus `exclude`, both normalized; the result is normalized.
fn subtract(include: &[Span], exclude: &[Span]) -> Vec<Span> {
    let mut out = Vec::with_capacity(include.len());
    let mut first = 0;
    for inc in include {
        while exclude
            .get(first)
            .is_some_and(|e| (e.family, e.end) < (inc.family, inc.start))
        {
            first += 1;
        }
        let mut start = inc.start;
        let mut covered = false;
        for e in exclude.get(first..).unwrap_or_default() {
            if e.family != inc.family || e.start > inc.end {
                break;
            }
            // Earlier exclusions ended before `start`, so `e.end >= start`.
            if e.start > start {
                out.push(Span {
                    family: inc.family,
                    start,
                    end: e.start - 1,
                });
            }
            if e.end >= inc.end {
                covered = true;
                break;
            }
            start = e.end + 1;
        }
        if !covered {
            out.push(Span {
                family: inc.family,
                start,
                end: inc.end,
            });
        }
    }
    out
}

/// The final address set, laid out as one index space `[0, total)`.
#[derive(Debug, Default)]
struct Plan {
    spans: Vec<Span>,
    /// Index of the first address of each span.
    first: Vec<u128>,
    total: u128,
}

impl Plan {
    /// `None` if the count overflows `u128`.
    fn new(spans: Vec<Span>) -> Option<Self> {
        let mut first = Vec::with_capacity(spans.len());
        let mut total: u128 = 0;
        for span in &spans {
            first.push(total);
            total = total.checked_add((span.end - span.start).checked_add(1)?)?;
        }
        Some(Plan {
            spans,
            first,
            total,
        })
    }

    fn address(&self, index: u128) -> Option<IpAddr> {
        let i = self.first.partition_point(|&f| f <= index).checked_sub(1)?;
        let span = self.spans.get(i)?;
        let offset = index.checked_sub(*self.first.get(i)?)?;
        from_u128(span.family, span.start.checked_add(offset)?)
    }
}

/// Seeded bijection of `[0, n)`: a balanced Feistel network over the smallest
/// power-of-four domain `>= n`, cycle-walking back into `[0, n)`. The domain
/// is less than `4n`, so a walk takes fewer than 4 steps on average.
#[derive(Clone, Copy, Debug)]
struct Permutation {
    n: u128,
    half_bits: u32,
    keys: [u64; ROUNDS],
}

impl Permutation {
    fn new(n: u128, seed: u64) -> Self {
        let ceil_log2 = if n <= 1 {
            0
        } else {
            128 - (n - 1).leading_zeros()
        };
        // At least one bit per half, so that the network mixes at all.
        let bits = ceil_log2.max(2);
        let half_bits = bits.div_ceil(2);
        let mut state = seed;
        let keys = std::array::from_fn(|_| {
            state = state.wrapping_add(GOLDEN_GAMMA);
            mix64(state)
        });
        Permutation { n, half_bits, keys }
    }

    fn half_mask(&self) -> u64 {
        if self.half_bits >= 64 {
            u64::MAX
        } else {
            (1 << self.half_bits) - 1
        }
    }

    fn encrypt(&self, x: u128) -> u128 {
        let mask = self.half_mask();
        // Truncating casts split x (< 2^(2*half_bits)) into its two halves.
        let mut left = (x >> self.half_bits) as u64 & mask;
        let mut right = x as u64 & mask;
        for key in self.keys {
            let f = mix64(right ^ key) & mask;
            (left, right) = (right, left ^ f);
        }
        (u128::from(left) << self.half_bits) | u128::from(right)
    }

    /// Image of `index`, which must be `< n`.
    fn apply(&self, index: u128) -> u128 {
        // Walking the permutation's cycle from an element of [0, n) always
        // comes back into [0, n), at the latest at the element itself.
        let mut x = self.encrypt(index);
        while x >= self.n {
            x = self.encrypt(x);
        }
        x
    }
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The splitmix64 finalizer.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a, for a hash that is the same in every process (unlike `RandomState`).
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Specs parsed but not yet merged, so that a file costs one sort.
#[derive(Default)]
struct Batch {
    include: Vec<Span>,
    exclude: Vec<Span>,
    names: Vec<(IpAddr, Arc<str>)>,
}

impl Batch {
    fn include(&mut self, spec: &str) -> Result<(), TargetError> {
        match parse_spec(spec)? {
            Spec::Span(span) => self.include.push(span),
            Spec::Name(name) => {
                let ip = resolve(name)?.next().ok_or_else(|| no_address(name))?;
                self.include.push(Span::single(ip));
                self.names.push((ip, Arc::from(name)));
            }
        }
        Ok(())
    }

    fn exclude(&mut self, spec: &str) -> Result<(), TargetError> {
        match parse_spec(spec)? {
            Spec::Span(span) => self.exclude.push(span),
            Spec::Name(name) => {
                // Every address, not just the first: the resolver may order
                // them differently at scan time, and excluding too much is safe.
                let before = self.exclude.len();
                self.exclude.extend(resolve(name)?.map(Span::single));
                if self.exclude.len() == before {
                    return Err(no_address(name));
                }
            }
        }
        Ok(())
    }
}

enum Spec<'a> {
    Span(Span),
    Name(&'a str),
}

fn parse_spec(spec: &str) -> Result<Spec<'_>, TargetError> {
    let text = spec.trim();
    let invalid = |reason: String| TargetError::Invalid {
        spec: text.to_owned(),
        reason,
    };
    if text.is_empty() {
        return Err(invalid("empty target".to_owned()));
    }
    if let Some((addr, prefix)) = text.split_once('/') {
        return parse_cidr(addr, prefix).map(Spec::Span).map_err(invalid);
    }
    if let Some((start, end)) = text.split_once('-') {
        // Host names hold dashes too: only an address before the dash makes a range.
        if let Ok(start) = start.parse::<IpAddr>() {
            return parse_range(start, end).map(Spec::Span).map_err(invalid);
        }
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(Spec::Span(Span::single(ip)));
    }
    if is_host_name(text) {
        return Ok(Spec::Name(text));
    }
    let reason = if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        "not a valid IPv4 address"
    } else if text.contains(':') {
        "not a valid IPv6 address"
    } else {
        "not an IP address, CIDR block, address range or host name"
    };
    Err(invalid(reason.to_owned()))
}

fn parse_cidr(addr: &str, prefix: &str) -> Result<Span, String> {
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("{addr:?} before the '/' is not an IP address"))?;
    let prefix = if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) {
        prefix.parse::<u8>().ok()
    } else {
        None
    };
    let out_of_range = |max: u8| match prefix {
        Some(p) => format!("prefix length /{p} is out of range (0-{max})"),
        None => format!("the prefix length after the '/' must be a number from 0 to {max}"),
    };
    match ip {
        IpAddr::V4(v4) => {
            let net = prefix
                .and_then(|p| Ipv4Net::new(v4, p).ok())
                .ok_or_else(|| out_of_range(32))?;
            Ok(Span {
                family: Family::V4,
                start: u128::from(u32::from(net.network())),
                end: u128::from(u32::from(net.broadcast())),
            })
        }
        IpAddr::V6(v6) => {
            let net = prefix
                .and_then(|p| Ipv6Net::new(v6, p).ok())
                .ok_or_else(|| out_of_range(128))?;
            if net.prefix_len() < MIN_IPV6_PREFIX {
                return Err(format!(
                    "IPv6 prefix /{} holds more than 2^64 addresses; the shortest accepted is /{MIN_IPV6_PREFIX}",
                    net.prefix_len()
                ));
            }
            Ok(Span {
                family: Family::V6,
                start: u128::from(net.network()),
                end: u128::from(net.broadcast()),
            })
        }
    }
}

fn parse_range(start: IpAddr, end_text: &str) -> Result<Span, String> {
    let end = match (end_text.parse::<IpAddr>(), start) {
        (Ok(end), _) => end,
        (Err(_), IpAddr::V4(v4))
            if !end_text.is_empty() && end_text.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let last = end_text
                .parse::<u8>()
                .map_err(|_| format!("last octet {end_text:?} is not a number from 0 to 255"))?;
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, last))
        }
        (Err(_), _) => return Err(format!("range end {end_text:?} is not an IP address")),
    };
    let (family, first) = to_u128(start);
    let (end_family, last) = to_u128(end);
    if family != end_family {
        return Err("a range cannot mix IPv4 and IPv6 addresses".to_owned());
    }
    if first > last {
        return Err(format!("range start {start} is after its end {end}"));
    }
    if last - first > u128::from(u64::MAX) {
        return Err("the range holds more than 2^64 addresses".to_owned());
    }
    Ok(Span {
        family,
        start: first,
        end: last,
    })
}

/// Host name syntax (letters, digits, `-`, `_`, dots; at most 253 bytes),
/// checked before any lookup so that junk is reported as junk.
fn is_host_name(text: &str) -> bool {
    let name = text.strip_suffix('.').unwrap_or(text);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    // A numeric last label makes a numeric address form (`10.1`, `10.0.0.300`,
    // `1.2.3.0x4`) that the system resolver might accept in its own way.
    let last = name.rsplit('.').next().unwrap_or(name);
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x"))
            && last.bytes().skip(2).all(|b| b.is_ascii_hexdigit());
    labels_ok && !numeric
}

fn resolve(name: &str) -> Result<impl Iterator<Item = IpAddr>, TargetError> {
    (name, 0u16)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|a| a.ip()))
        .map_err(|error| TargetError::Resolve {
            name: name.to_owned(),
            error,
        })
}

fn no_address(name: &str) -> TargetError {
    TargetError::Resolve {
        name: name.to_owned(),
        error: io::Error::new(io::ErrorKind::NotFound, "no address found"),
    }
}

fn open(path: &Path, origin: &str) -> Result<File, TargetError> {
    File::open(path).map_err(|error| TargetError::Io {
        path: origin.to_owned(),
        error,
    })
}

/// Longest line of a target or exclusion file (or stdin), in bytes.
pub const MAX_LINE_LEN: usize = 8192;

/// Longest piece of user text quoted in an error message, in characters.
const MAX_QUOTED: usize = 80;

/// `text` quoted for an error message, cut after [`MAX_QUOTED`] characters (saying
/// how long it was), so a huge token cannot flood a log.
pub(crate) fn quoted(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", &text[..cut], text.len()),
    }
}

/// Calls `each` on every spec of a target file, tagging errors with the line.
fn read_specs(
    mut reader: impl BufRead,
    origin: &str,
    mut each: impl FnMut(&str) -> Result<(), TargetError>,
) -> Result<(), TargetError> {
    let mut buf = Vec::new();
    let mut line_no: u64 = 0;
    loop {
        buf.clear();
        // Bounded: a line longer than MAX_LINE_LEN (a file without newlines, such as
        // /dev/zero) is an error, not a growing buffer.
        let read = std::io::Read::take(&mut reader, MAX_LINE_LEN as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|error| TargetError::Io {
                path: origin.to_owned(),
                error,
            })?;
        if read == 0 {
            return Ok(());
        }
        line_no += 1;
        if buf.len() > MAX_LINE_LEN {
            return Err(TargetError::LongLine {
                origin: origin.to_owned(),
                line: line_no,
                max: MAX_LINE_LEN,
            });
        }
        // Lossy, so that a stray byte is reported inside its spec, with the line.
        let line = String::from_utf8_lossy(&buf);
        let line = if line_no == 1 {
            line.trim_start_matches('\u{feff}')
        } else {
            &line
        };
        let content = line.split_once('#').map_or(line, |(content, _)| content);
        for spec in content
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
        {
            each(spec).map_err(|error| TargetError::Line {
                origin: origin.to_owned(),
                line: line_no,
                error: Box::new(error),
            })?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::io::Cursor;
    use std::time::{Duration, Instant};

    fn v4(text: &str) -> IpAddr {
        IpAddr::V4(text.parse().unwrap())
    }

    fn ranges(targets: &Targets) -> Vec<(String, String)> {
        targets
            .ranges()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn range(a: &str, b: &str) -> (String, String) {
        (a.to_owned(), b.to_owned())
    }

    fn ips(targets: &Targets) -> Vec<IpAddr> {
        targets.iter().map(|t| t.ip).collect()
    }

    fn error(spec: &str) -> String {
        Targets::parse([spec]).unwrap_err().to_string()
    }

    #[test]
    fn single_addresses() {
        let t = Targets::parse(["10.0.0.5", "fe80::1", "::1"]).unwrap();
        assert_eq!(
            ranges(&t),
            [
                range("10.0.0.5", "10.0.0.5"),
                range("::1", "::1"),
                range("fe80::1", "fe80::1"),
            ]
        );
        assert_eq!(t.len(), 3);
        assert_eq!(t.total_len(), 3);
        let mut got = ips(&t);
        got.sort();
        assert_eq!(
            got,
            [
                v4("10.0.0.5"),
                "::1".parse().unwrap(),
                "fe80::1".parse().unwrap()
            ]
        );
        assert!(t.iter().all(|t| t.name.is_none()));
    }

    #[test]
    fn cidr_blocks() {
        let t = Targets::parse(["10.0.0.0/8"]).unwrap();
        assert_eq!(ranges(&t), [range("10.0.0.0", "10.255.255.255")]);
        assert_eq!(t.len(), 16_777_216);

        // Host bits are ignored, as in nmap.
        let t = Targets::parse(["10.0.0.5/24"]).unwrap();
        assert_eq!(ranges(&t), [range("10.0.0.0", "10.0.0.255")]);

        let t = Targets::parse(["fd00::/120"]).unwrap();
        assert_eq!(ranges(&t), [range("fd00::", "fd00::ff")]);
        assert_eq!(t.len(), 256);

        assert_eq!(Targets::parse(["0.0.0.0/0"]).unwrap().len(), 1 << 32);
        assert_eq!(Targets::parse(["10.1.2.3/32"]).unwrap().len(), 1);
        assert_eq!(Targets::parse(["fd00::7/128"]).unwrap().len(), 1);
        assert_eq!(Targets::parse(["fd00::/64"]).unwrap().len(), 1 << 64);
    }

    #[test]
    fn dash_ranges() {
        let t = Targets::parse(["10.0.0.5-10.0.0.20"]).unwrap();
        assert_eq!(ranges(&t), [range("10.0.0.5", "10.0.0.20")]);
        assert_eq!(t.len(), 16);

        let t = Targets::parse(["10.0.0.5-20"]).unwrap();
        assert_eq!(ranges(&t), [range("10.0.0.5", "10.0.0.20")]);

        let t = Targets::parse(["10.0.0.250-10.0.1.3"]).unwrap();
        assert_eq!(t.len(), 10);

        let t = Targets::parse(["fd00::1-fd00::ff"]).unwrap();
        assert_eq!(ranges(&t), [range("fd00::1", "fd00::ff")]);
        assert_eq!(t.len(), 255);

        let t = Targets::parse(["10.0.0.7-10.0.0.7"]).unwrap();
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn errors_quote_the_text() {
        assert_eq!(
            error("10.0.0.300"),
            r#"invalid target "10.0.0.300": not a valid IPv4 address"#
        );
        assert_eq!(
            error("10.0.0.0/33"),
            r#"invalid target "10.0.0.0/33": prefix length /33 is out of range (0-32)"#
        );
        assert_eq!(
            error("10.0.0.20-10.0.0.5"),
            r#"invalid target "10.0.0.20-10.0.0.5": range start 10.0.0.20 is after its end 10.0.0.5"#
        );
        assert_eq!(
            error("foo bar"),
            r#"invalid target "foo bar": not an IP address, CIDR block, address range or host name"#
        );
        assert_eq!(
            error("fd00::/32"),
            r#"invalid target "fd00::/32": IPv6 prefix /32 holds more than 2^64 addresses; the shortest accepted is /64"#
        );
        for (spec, reason) in [
            ("10.0.0.0/", "must be a number from 0 to 32"),
            ("10.0.0.0/x", "must be a number from 0 to 32"),
            ("fd00::/129", "/129 is out of range (0-128)"),
            ("foo/24", r#""foo" before the '/' is not an IP address"#),
            (
                "10.0.0.5-300",
                r#"last octet "300" is not a number from 0 to 255"#,
            ),
            (
                "10.0.0.5-4",
                "range start 10.0.0.5 is after its end 10.0.0.4",
            ),
            ("10.0.0.5-", r#"range end "" is not an IP address"#),
            ("10.0.0.1-fd00::1", "cannot mix IPv4 and IPv6"),
            ("fd00::1-10.0.0.1", "cannot mix IPv4 and IPv6"),
            ("fd00::1-ff", r#"range end "ff" is not an IP address"#),
            ("::-ffff::", "more than 2^64 addresses"),
            ("fd00::gg", "not a valid IPv6 address"),
            ("fe80::1%eth0", "not a valid IPv6 address"),
            ("10.1", "not a valid IPv4 address"),
            ("", "empty target"),
            ("   ", "empty target"),
        ] {
            let message = error(spec);
            let quoted = format!("invalid target {:?}: ", spec.trim());
            assert!(message.starts_with(&quoted), "{spec}: {message}");
            assert!(message.contains(reason), "{spec}: {message}");
        }
        // The IPv6 range limit lets exactly 2^64 addresses through.
        assert_eq!(
            Targets::parse(["fd00::-fd00::ffff:ffff:ffff:ffff"])
                .unwrap()
                .len(),
            1 << 64
        );
        // Exclusions are checked just as strictly.
        let message = Targets::empty()
            .exclude("10.0.0.0/33")
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with(r#"invalid target "10.0.0.0/33""#),
            "{message}"
        );
    }

    #[test]
    fn host_name_syntax_is_checked_before_any_lookup() {
        for name in [
            "localhost",
            "plc-1.plant.example",
            "plc_1.example.",
            "a",
            "1a.b2",
            &"a".repeat(63),
            &["a"; 127].join("."),
        ] {
            assert!(is_host_name(name), "{name}");
        }
        for junk in [
            "a b",
            "a..b",
            ".a",
            "-a",
            "a-",
            "a.-b",
            "a/b",
            "a:b",
            "a@b",
            "plc\u{e9}.example",
            "10.0.0.300",
            "10.1",
            "10",
            "1.2.3.0x4",
            "0x0a",
            "example.123",
            "x1.2",
            &"a".repeat(64),
            &["a"; 128].join("."),
            ".",
            "",
        ] {
            assert!(!is_host_name(junk), "{junk}");
        }
        // Junk is rejected as a target, not sent to a resolver.
        assert!(matches!(
            Targets::parse(["a b"]),
            Err(TargetError::Invalid { .. })
        ));
        assert!(matches!(
            Targets::parse(["10.0.0.0/33"]),
            Err(TargetError::Invalid { .. })
        ));
    }

    #[test]
    fn localhost_resolves_and_carries_its_name() {
        let t = Targets::parse(["localhost"]).unwrap();
        assert_eq!(t.len(), 1);
        let got: Vec<Target> = t.iter().collect();
        assert_eq!(got.len(), 1);
        assert!(got[0].ip.is_loopback(), "{:?}", got[0]);
        assert_eq!(got[0].name.as_deref(), Some("localhost"));

        // The same address given as a literal is visited once, with the name.
        let literal = got[0].ip.to_string();
        let t = Targets::parse(["localhost", literal.as_str()]).unwrap();
        assert_eq!(t.iter().collect::<Vec<_>>(), got);

        // Excluding a name removes what it resolved to.
        let t = Targets::parse(["localhost", "10.0.0.1"])
            .unwrap()
            .exclude("localhost")
            .unwrap();
        assert_eq!(ips(&t), [v4("10.0.0.1")]);
    }

    #[test]
    fn files_with_comments_blank_lines_and_commas() {
        let text = "\u{feff}# plant A\n\
                    10.0.0.1, 10.0.0.2\n\
                    \n\
                    \t10.0.1.0/30 10.0.2.5-6   # line PLCs\n\
                    #10.9.9.9\n\
                    fd00::1,,fd00::2,\r\n\
                    10.0.3.1";
        let t = Targets::empty()
            .include_reader(Cursor::new(text), "targets.txt")
            .unwrap();
        assert_eq!(
            ranges(&t),
            [
                range("10.0.0.1", "10.0.0.2"),
                range("10.0.1.0", "10.0.1.3"),
                range("10.0.2.5", "10.0.2.6"),
                range("10.0.3.1", "10.0.3.1"),
                range("fd00::1", "fd00::2"),
            ]
        );

        let t = t
            .exclude_reader(
                Cursor::new("10.0.1.1 # flaky\n\n10.0.2.5-6\n"),
                "fragile.txt",
            )
            .unwrap();
        assert_eq!(t.len(), 11 - 3);
        assert!(!t.contains(v4("10.0.1.1")));
        assert!(!t.contains(v4("10.0.2.6")));
    }

    #[test]
    fn file_errors_carry_origin_and_line() {
        let text = "10.0.0.1\n# comment\n10.0.0.2, 10.0.0.0/33\n";
        let err = Targets::empty()
            .include_reader(Cursor::new(text), "targets.txt")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"targets.txt line 3: invalid target "10.0.0.0/33": prefix length /33 is out of range (0-32)"#
        );
        let err = Targets::empty()
            .exclude_reader(Cursor::new("\n\n\n\nfoo\u{1}"), "stdin")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with(r#"stdin line 5: invalid target "foo\u{1}""#),
            "{err}"
        );
        let err = Targets::empty()
            .include_reader(Cursor::new(b"10.0.0.1\n10.0.0.\xff\n".to_vec()), "bin.txt")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("bin.txt line 2: invalid target \"10.0.0.\u{fffd}\""),
            "{err}"
        );
    }

    #[test]
    fn files_on_disk() {
        let dir = std::env::temp_dir().join(format!("otscan-targets-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let include = dir.join("targets.txt");
        let exclude = dir.join("exclude.txt");
        std::fs::write(&include, "10.0.0.0/29\n").unwrap();
        std::fs::write(&exclude, "10.0.0.3\nbad/1\n").unwrap();

        let t = Targets::empty().include_file(&include).unwrap();
        assert_eq!(t.len(), 8);
        let err = t.exclude_file(&exclude).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                r#"{} line 2: invalid target "bad/1": "bad" before the '/' is not an IP address"#,
                exclude.display()
            )
        );

        let missing = dir.join("missing.txt");
        let err = Targets::empty().include_file(&missing).unwrap_err();
        assert!(matches!(err, TargetError::Io { .. }));
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read {}: ", missing.display())),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn exclusions_are_subtracted() {
        let t = Targets::parse(["10.0.0.0/16"])
            .unwrap()
            .exclude("10.0.0.1")
            .unwrap()
            .exclude("10.0.5.10-10.0.5.19")
            .unwrap()
            .exclude("10.0.128.0/20")
            .unwrap()
            .exclude("10.0.255.255")
            .unwrap()
            .exclude("192.168.0.0/16")
            .unwrap()
            .exclude("fd00::/64")
            .unwrap();
        assert_eq!(t.len(), 65_536 - 1 - 10 - 4096 - 1);
        assert_eq!(
            ranges(&t),
            [
                range("10.0.0.0", "10.0.0.0"),
                range("10.0.0.2", "10.0.5.9"),
                range("10.0.5.20", "10.0.127.255"),
                range("10.0.144.0", "10.0.255.254"),
            ]
        );
        let mut seen = 0u128;
        for target in t.iter() {
            let ip = target.ip;
            let IpAddr::V4(a) = ip else { panic!("{ip}") };
            let n = u32::from(a);
            assert_ne!(ip, v4("10.0.0.1"));
            assert_ne!(ip, v4("10.0.255.255"));
            assert!(!(0x0a00_050a..=0x0a00_0513).contains(&n), "{ip}");
            assert!(!(0x0a00_8000..=0x0a00_8fff).contains(&n), "{ip}");
            seen += 1;
        }
        assert_eq!(seen, t.len());
    }

    #[test]
    fn exclusions_win_whatever_the_call_order() {
        let t = Targets::empty()
            .exclude("10.0.0.0/30")
            .unwrap()
            .include("10.0.0.0/29")
            .unwrap();
        assert_eq!(ranges(&t), [range("10.0.0.4", "10.0.0.7")]);
        let everything = Targets::parse(["10.0.0.0/24"])
            .unwrap()
            .exclude("10.0.0.0/23")
            .unwrap();
        assert!(everything.is_empty());
        assert_eq!(everything.iter().next(), None);
    }

    #[test]
    fn overlapping_includes_are_counted_once() {
        let t = Targets::parse([
            "10.0.0.0/24",
            "10.0.0.128/25",
            "10.0.0.5",
            "10.0.0.250-10.0.1.10",
            "10.0.1.0/24",
            "10.0.0.0/24",
            "fd00::1-fd00::10",
            "fd00::8-fd00::20",
        ])
        .unwrap();
        assert_eq!(
            ranges(&t),
            [
                range("10.0.0.0", "10.0.1.255"),
                range("fd00::1", "fd00::20")
            ]
        );
        assert_eq!(t.len(), 512 + 32);
        let got: BTreeSet<IpAddr> = ips(&t).into_iter().collect();
        assert_eq!(got.len(), 512 + 32);
    }

    #[test]
    fn a_slash_16_is_visited_once_each_and_shuffled() {
        let t = Targets::parse(["10.1.0.0/16"]).unwrap();
        let mut seen = vec![false; 65_536];
        let mut order = Vec::with_capacity(65_536);
        for target in t.iter() {
            let IpAddr::V4(a) = target.ip else { panic!() };
            let n = u32::from(a);
            assert_eq!(n >> 16, 0x0a01);
            let slot = &mut seen[(n & 0xffff) as usize];
            assert!(!*slot, "{a} twice");
            *slot = true;
            order.push(n);
        }
        assert!(seen.iter().all(|&s| s));
        assert!(!order.windows(2).all(|w| w[0] < w[1]));
        assert!(!order.windows(2).all(|w| w[0] > w[1]));
        // Not just rotated or strided: few neighbours are adjacent addresses.
        let adjacent = order
            .windows(2)
            .filter(|w| w[0].abs_diff(w[1]) == 1)
            .count();
        assert!(adjacent < 100, "{adjacent}");
    }

    #[test]
    fn the_seed_decides_the_order() {
        let t = Targets::parse(["10.0.0.0/22", "fd00::/120"]).unwrap();
        assert_eq!(t.seed(), DEFAULT_SEED);
        assert_eq!(ips(&t), ips(&t.clone()));
        assert_eq!(
            ips(&t),
            ips(&Targets::parse(["10.0.0.0/22", "fd00::/120"]).unwrap())
        );
        let a = ips(&t.clone().with_seed(1));
        let b = ips(&t.clone().with_seed(2));
        assert_eq!(a, ips(&t.clone().with_seed(1)));
        assert_ne!(a, b);
        assert_ne!(a, ips(&t));
        let mut sorted_a = a.clone();
        let mut sorted_b = b;
        sorted_a.sort();
        sorted_b.sort();
        assert_eq!(sorted_a, sorted_b);
        // Orders differ throughout, not in a couple of places.
        let same = a.iter().zip(ips(&t)).filter(|(x, y)| *x == y).count();
        assert!(same < 20, "{same}");
    }

    #[test]
    fn the_default_order_is_pinned() {
        // Resume files and separately started shards rely on this order never
        // changing silently; change these values only with the fingerprint version.
        let t = Targets::parse(["10.0.0.0/24"]).unwrap();
        let first: Vec<String> = t.iter().take(6).map(|t| t.ip.to_string()).collect();
        assert_eq!(first, PINNED_ORDER);
        assert_eq!(t.fingerprint(), PINNED_FINGERPRINT);
    }

    const PINNED_ORDER: [&str; 6] = [
        "10.0.0.235",
        "10.0.0.255",
        "10.0.0.104",
        "10.0.0.209",
        "10.0.0.211",
        "10.0.0.153",
    ];
    const PINNED_FINGERPRINT: u64 = 0x3f7f3f210aeb5a4e;

    #[test]
    fn shards_partition_the_order() {
        let t = Targets::parse(["10.2.0.0/20"])
            .unwrap()
            .exclude("10.2.3.7")
            .unwrap();
        let all: Vec<IpAddr> = ips(&t);
        let mut union = BTreeSet::new();
        let mut lens = 0;
        for index in 1..=3 {
            let shard = Shard::new(index, 3).unwrap();
            let part = t.clone().with_shard(shard);
            assert_eq!(part.shard(), Some(shard));
            assert_eq!(part.total_len(), 4095);
            let got = ips(&part);
            assert_eq!(got.len() as u128, part.len());
            // Shard K takes every N-th position of the shared order.
            let expected: Vec<IpAddr> = all
                .iter()
                .copied()
                .skip(index as usize - 1)
                .step_by(3)
                .collect();
            assert_eq!(got, expected);
            for ip in got {
                assert!(union.insert(ip), "{ip} in two shards");
            }
            lens += part.len();
        }
        assert_eq!(lens, 4095);
        assert_eq!(union, all.into_iter().collect());
    }

    #[test]
    fn shard_lengths_are_exact() {
        for total in 0u128..20 {
            let t = if total == 0 {
                Targets::empty()
            } else {
                Targets::parse([format!("10.0.0.0-10.0.0.{}", total - 1)]).unwrap()
            };
            for count in 1..=7 {
                let mut sum = 0;
                for index in 1..=count {
                    let part = t.clone().with_shard(Shard { index, count });
                    assert_eq!(
                        part.len(),
                        part.iter().count() as u128,
                        "{total} {index}/{count}"
                    );
                    sum += part.len();
                }
                assert_eq!(sum, total);
            }
        }
        // A big set: counted, not iterated.
        let t = Targets::parse(["fd00::/64"]).unwrap();
        assert_eq!(
            t.clone().with_shard(Shard { index: 1, count: 3 }).len(),
            (1 << 64) / 3 + 1
        );
        assert_eq!(
            t.clone().with_shard(Shard { index: 2, count: 3 }).len(),
            (1 << 64) / 3
        );
        // A shard that is not valid visits nothing.
        let bad = Targets::parse(["10.0.0.0/24"])
            .unwrap()
            .with_shard(Shard { index: 0, count: 0 });
        assert!(bad.is_empty());
        assert_eq!(bad.iter().next(), None);
    }

    #[test]
    fn shard_text() {
        let shard: Shard = "2/4".parse().unwrap();
        assert_eq!(shard, Shard { index: 2, count: 4 });
        assert_eq!(shard.to_string(), "2/4");
        assert_eq!(
            " 1/1 ".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 1 }
        );
        for (text, reason) in [
            ("0/4", "start at 1"),
            ("5/4", "past the shard count 4"),
            ("1/0", "at least 1"),
            ("0/0", "at least 1"),
            ("", "expected K/N"),
            ("2", "expected K/N"),
            ("a/b", "expected K/N"),
            ("2/4/6", "expected K/N"),
            ("-1/4", "expected K/N"),
            ("+1/4", "expected K/N"),
            ("1/99999999999", "expected K/N"),
        ] {
            let message = text.parse::<Shard>().unwrap_err().to_string();
            assert!(
                message.starts_with(&format!("invalid shard {text:?}: ")),
                "{message}"
            );
            assert!(message.contains(reason), "{text}: {message}");
        }
        assert_eq!(Shard::new(0, 4), None);
        assert_eq!(Shard::new(5, 4), None);
        assert_eq!(Shard::new(4, 4), Some(Shard { index: 4, count: 4 }));
    }

    #[test]
    fn a_slash_8_is_lazy() {
        let t = Targets::parse(["10.0.0.0/8"]).unwrap();
        assert_eq!(t.len(), 16_777_216);
        let started = Instant::now();
        let first: Vec<IpAddr> = t.iter().take(1000).map(|t| t.ip).collect();
        assert!(started.elapsed() < Duration::from_secs(1));
        let distinct: BTreeSet<IpAddr> = first.iter().copied().collect();
        assert_eq!(distinct.len(), 1000);
        assert!(first
            .iter()
            .all(|ip| matches!(ip, IpAddr::V4(a) if a.octets()[0] == 10)));
        let mut it = t.iter();
        assert_eq!(it.size_hint(), (16_777_216, Some(16_777_216)));
        it.nth(9);
        assert_eq!(it.position(), 10);
        assert_eq!(it.remaining(), 16_777_206);
    }

    #[test]
    fn an_ipv6_slash_64_is_lazy() {
        let t = Targets::parse(["fd00:1:2:3::/64"]).unwrap();
        assert_eq!(t.len(), 1 << 64);
        let net: Ipv6Net = "fd00:1:2:3::/64".parse().unwrap();
        let first: Vec<IpAddr> = t.iter().take(10).map(|t| t.ip).collect();
        assert_eq!(first.iter().collect::<BTreeSet<_>>().len(), 10);
        for ip in &first {
            let IpAddr::V6(a) = ip else { panic!("{ip}") };
            assert!(net.contains(a), "{a}");
        }
        // Deep positions are reachable without walking there.
        let deep: Vec<IpAddr> = t.iter_from(1 << 63).take(3).map(|t| t.ip).collect();
        assert_eq!(deep.len(), 3);
        assert!(t.iter_from(1 << 64).next().is_none());
    }

    #[test]
    fn empty_and_single() {
        let empty = Targets::empty();
        assert!(empty.is_empty());
        assert_eq!(empty.len(), 0);
        assert_eq!(empty.iter().next(), None);
        assert!(Targets::parse(Vec::<String>::new()).unwrap().is_empty());
        assert!(Targets::empty()
            .include_reader(Cursor::new("# nothing\n\n"), "x")
            .unwrap()
            .is_empty());

        for seed in 0..20 {
            let one = Targets::parse(["192.0.2.1"]).unwrap().with_seed(seed);
            assert_eq!(ips(&one), [v4("192.0.2.1")]);
        }
    }

    #[test]
    fn resuming_from_a_position() {
        let t = Targets::parse(["10.0.0.0/23"])
            .unwrap()
            .with_shard(Shard { index: 2, count: 3 });
        let all = ips(&t);
        let mut it = t.iter();
        for _ in 0..57 {
            it.next();
        }
        assert_eq!(it.position(), 57);
        let rest: Vec<IpAddr> = t.iter_from(it.position()).map(|t| t.ip).collect();
        assert_eq!(rest, all[57..]);
        assert_eq!(it.map(|t| t.ip).collect::<Vec<_>>(), all[57..]);
        assert_eq!(t.iter().nth(100).map(|t| t.ip), all.get(100).copied());
        assert_eq!(t.iter_from(u128::MAX).next(), None);
    }

    #[test]
    fn fingerprint_tracks_ranges_seed_and_shard() {
        let a = Targets::parse(["10.0.0.0/31", "10.0.0.7"]).unwrap();
        let same = Targets::parse(["10.0.0.7", "10.0.0.0-10.0.0.1", "10.0.0.1"]).unwrap();
        assert_eq!(a.fingerprint(), same.fingerprint());
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
        let different = [
            Targets::parse(["10.0.0.0/31"]).unwrap(),
            Targets::parse(["10.0.0.0/31", "10.0.0.8"]).unwrap(),
            a.clone().exclude("10.0.0.1").unwrap(),
            a.clone().with_seed(DEFAULT_SEED + 1),
            a.clone().with_shard(Shard { index: 1, count: 2 }),
            a.clone().with_shard(Shard { index: 2, count: 2 }),
            Targets::parse(["::a00:0/127", "::a00:7"]).unwrap(),
        ];
        let mut prints: BTreeSet<u64> = different.iter().map(Targets::fingerprint).collect();
        prints.insert(a.fingerprint());
        assert_eq!(prints.len(), different.len() + 1);
    }

    #[test]
    fn iterators_are_send_and_static() {
        fn owned<T: Send + Sync + 'static>(_: &T) {}
        let t = Targets::parse(["10.0.0.0/30"]).unwrap();
        let it = t.iter();
        owned(&it);
        owned(&t);
        drop(t);
        let handle = std::thread::spawn(move || it.count());
        assert_eq!(handle.join().unwrap(), 4);
    }

    #[test]
    fn permutation_is_a_bijection() {
        for n in (0u128..=300).chain([1023, 1024, 1025, 4097]) {
            for seed in [0, 1, DEFAULT_SEED, u64::MAX] {
                let p = Permutation::new(n, seed);
                let mut seen = vec![false; n as usize];
                for i in 0..n {
                    let x = p.apply(i);
                    assert!(x < n);
                    assert!(
                        !std::mem::replace(&mut seen[x as usize], true),
                        "n={n} seed={seed}"
                    );
                }
            }
        }
        // Domain size for the largest sets: 2^128, one 64-bit half each.
        let p = Permutation::new(u128::MAX, 7);
        assert_eq!(p.half_bits, 64);
        assert_ne!(p.apply(0), p.apply(1));
    }

    /// Small IPv4 ranges as (first offset, length) from 10.0.0.0.
    fn spans() -> impl Strategy<Value = Vec<(u32, u32)>> {
        prop::collection::vec((0u32..600, 1u32..80), 0..8)
    }

    fn spec((first, len): (u32, u32)) -> String {
        let start = Ipv4Addr::from(0x0a00_0000 + first);
        let end = Ipv4Addr::from(0x0a00_0000 + first + len - 1);
        match len {
            1 => start.to_string(),
            _ => format!("{start}-{end}"),
        }
    }

    fn naive(spans: &[(u32, u32)]) -> BTreeSet<u32> {
        spans
            .iter()
            .flat_map(|&(first, len)| first..first + len)
            .map(|o| 0x0a00_0000 + o)
            .collect()
    }

    proptest! {
        /// Any text at all: a spec, an error or a host name to look up, never a panic. (The
        /// name is only classified here; nothing is resolved.)
        #[test]
        fn any_text_is_classified_without_panicking(text in any::<String>()) {
            let _ = parse_spec(&text);
            let _ = text.parse::<Shard>();
        }

        /// Numeric specs through the whole public path (include, exclude, target file,
        /// iteration, shards), without panics. Specs the parser would take for host names are
        /// left out: those would be resolved.
        #[test]
        fn numeric_specs_never_panic(specs in prop::collection::vec("[0-9.:/-]{0,24}", 0..6)) {
            let specs: Vec<&str> = specs
                .iter()
                .map(String::as_str)
                .filter(|s| !matches!(parse_spec(s), Ok(Spec::Name(_))))
                .collect();
            if let Ok(targets) = Targets::parse(&specs) {
                let total = targets.len();
                prop_assert_eq!(targets.iter().take(64).count() as u128, total.min(64));
                for spec in &specs {
                    if let Ok(rest) = targets.clone().exclude(spec) {
                        prop_assert!(rest.len() <= total);
                        for t in rest.iter().take(16) {
                            prop_assert!(rest.contains(t.ip) && targets.contains(t.ip));
                        }
                    }
                }
                let half = targets.clone().with_shard(Shard { index: 1, count: 2 });
                prop_assert!(half.len() <= total);
            }
            let file = specs.join(",");
            let _ = Targets::empty().include_reader(file.as_bytes(), "proptest");
            let _ = Targets::empty().exclude_reader(file.as_bytes(), "proptest");
        }

        #[test]
        fn iteration_is_the_set_difference(
            include in spans(),
            exclude in spans(),
            cidr in prop::option::of((0u32..640, 26u8..=32)),
            seed in any::<u64>(),
            count in 1u32..5,
        ) {
            let mut targets = Targets::parse(include.iter().copied().map(spec)).unwrap().with_seed(seed);
            for &e in &exclude {
                targets = targets.exclude(&spec(e)).unwrap();
            }
            let mut expected: BTreeSet<u32> = naive(&include)
                .difference(&naive(&exclude))
                .copied()
                .collect();
            if let Some((offset, prefix)) = cidr {
                let net = Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + offset), prefix).unwrap();
                targets = targets.exclude(&net.to_string()).unwrap();
                let (lo, hi) = (u32::from(net.network()), u32::from(net.broadcast()));
                expected.retain(|&a| a < lo || a > hi);
            }
            prop_assert_eq!(targets.len(), expected.len() as u128);

            let got: Vec<u32> = targets
                .iter()
                .map(|t| match t.ip {
                    IpAddr::V4(a) => u32::from(a),
                    IpAddr::V6(_) => u32::MAX,
                })
                .collect();
            let got_set: BTreeSet<u32> = got.iter().copied().collect();
            prop_assert_eq!(got.len(), got_set.len());
            prop_assert_eq!(&got_set, &expected);
            for &a in &expected {
                prop_assert!(targets.contains(IpAddr::V4(Ipv4Addr::from(a))));
            }

            let mut from_shards = Vec::new();
            for index in 1..=count {
                let part = targets.clone().with_shard(Shard { index, count });
                let ips: Vec<u32> = part
                    .iter()
                    .map(|t| match t.ip {
                        IpAddr::V4(a) => u32::from(a),
                        IpAddr::V6(_) => u32::MAX,
                    })
                    .collect();
                prop_assert_eq!(ips.len() as u128, part.len());
                from_shards.extend(ips);
            }
            from_shards.sort_unstable();
            prop_assert_eq!(from_shards, expected.into_iter().collect::<Vec<_>>());
        }
    }
}
