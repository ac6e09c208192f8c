//! Recog fingerprint matching: the text a device sends about itself (an SSH software
//! version, an FTP greeting, a telnet banner, SNMP sysDescr and sysObjectID, ...) matched
//! against a subset of Rapid7's Recog databases (BSD-2-Clause, `xml/LICENSE`).
//!
//! The databases are `xml/*.xml` (verbatim subsets of Recog's files, see `xml/README.md`),
//! turned into `tables/*.json` by `generate.py`; this module embeds those tables, parses
//! them once ([`OnceLock`]) and compiles every fingerprint's pattern with the `regex`
//! crate. [`match_text`] returns the first fingerprint of a database, in file order, whose
//! pattern matches, as Recog's `Nizer` does, with its parameters resolved.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;

mod tables {
    include!("tables/generated.rs");
}

/// Bytes of input a pattern sees at most: longer text is cut (at a character boundary)
/// before matching, so that matching time is bounded whatever a device sends.
pub const MAX_INPUT: usize = 4096;

/// Compiled size limit of one pattern (the `regex` crate's default is 10 MiB; Recog's
/// patterns are small).
const SIZE_LIMIT: usize = 1 << 20;

/// One Recog database: which text it is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Database {
    /// `ssh_banners.xml`: the SSH identification string after `SSH-2.0-`
    /// (`OpenSSH_8.4p1 Debian-5`).
    SshBanners,
    /// `ftp_banners.xml`: the FTP greeting's text without its reply code.
    FtpBanners,
    /// `telnet_banners.xml`: the telnet banner, whitespace trimmed at both ends.
    TelnetBanners,
    /// `snmp_sysdescr.xml`: SNMP sysDescr.0.
    SnmpSysdescr,
    /// `snmp_sysobjid.xml`: SNMP sysObjectID.0 in dotted form (`1.3.6.1.4.1.9.1.516`).
    SnmpSysobjid,
    /// `http_servers.xml`: the HTTP `Server` header.
    HttpServers,
    /// `html_title.xml`: the HTML page title.
    HtmlTitle,
    /// `http_wwwauth.xml`: the HTTP `WWW-Authenticate` header.
    HttpWwwauth,
    /// `x509_subjects.xml`: a TLS certificate's subject.
    X509Subjects,
    /// `x509_issuers.xml`: a TLS certificate's issuer.
    X509Issuers,
}

impl Database {
    /// Every database, in this order.
    pub const ALL: [Database; 10] = [
        Database::SshBanners,
        Database::FtpBanners,
        Database::TelnetBanners,
        Database::SnmpSysdescr,
        Database::SnmpSysobjid,
        Database::HttpServers,
        Database::HtmlTitle,
        Database::HttpWwwauth,
        Database::X509Subjects,
        Database::X509Issuers,
    ];

    /// The Recog file name without `.xml`, e.g. `ssh_banners`.
    pub const fn name(self) -> &'static str {
        match self {
            Database::SshBanners => "ssh_banners",
            Database::FtpBanners => "ftp_banners",
            Database::TelnetBanners => "telnet_banners",
            Database::SnmpSysdescr => "snmp_sysdescr",
            Database::SnmpSysobjid => "snmp_sysobjid",
            Database::HttpServers => "http_servers",
            Database::HtmlTitle => "html_title",
            Database::HttpWwwauth => "http_wwwauth",
            Database::X509Subjects => "x509_subjects",
            Database::X509Issuers => "x509_issuers",
        }
    }
}

/// One `<param>` of a fingerprint: `pos` 0 is a fixed `value` (which may name other
/// parameters in braces, `cpe:/a:openbsd:openssh:{service.version}`), `pos` > 0 the
/// pattern's capture group of that number.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "(usize, String, String)")]
pub struct Param {
    /// Capture group number, or 0 for a fixed value.
    pub pos: usize,
    /// Recog's parameter name, e.g. `hw.vendor`, `service.version`, `os.cpe23`.
    pub name: String,
    /// The fixed value (empty for a capture).
    pub value: String,
}

impl From<(usize, String, String)> for Param {
    fn from((pos, name, value): (usize, String, String)) -> Self {
        Param { pos, name, value }
    }
}

/// One `<example>` of a fingerprint: a text it must match and the parameters it must
/// give (`attrs`); base64 examples (Recog's `_encoding="base64"`, for text with control
/// characters) are kept encoded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Example {
    /// The example text, when it is plain.
    #[serde(default)]
    pub text: Option<String>,
    /// The example bytes in base64, when Recog encodes them.
    #[serde(default)]
    pub base64: Option<String>,
    /// Parameter name -> value the match must give.
    pub attrs: BTreeMap<String, String>,
}

/// One Recog `<fingerprint>` as generated.
#[derive(Debug, Deserialize)]
pub struct Fingerprint {
    /// Recog's `<description>`, whitespace folded.
    pub description: String,
    /// The pattern as Recog writes it (Ruby syntax).
    pub pattern: String,
    /// Recog's flags (`REG_ICASE`, ...), already folded into `regex`.
    pub flags: Vec<String>,
    /// The pattern in Rust `regex` syntax (see generate.py).
    pub regex: String,
    /// The parameters, in file order.
    pub params: Vec<Param>,
    /// The examples Recog ships with it.
    pub examples: Vec<Example>,
    #[serde(skip)]
    compiled: OnceLock<Result<Regex, String>>,
}

impl Fingerprint {
    /// The compiled pattern, or why `regex` refused it (a test keeps that from happening).
    pub fn compiled(&self) -> Result<&Regex, &str> {
        self.compiled
            .get_or_init(|| {
                // Byte patterns without Unicode: `\d`, `\w`, `\s` are ASCII as Ruby's are,
                // and the whole set after one match in every database costs 15.5 MiB of
                // resident memory instead of 36.4 MiB with Unicode classes (VmHWM of a
                // release build, 2026-12-01).
                RegexBuilder::new(&self.regex)
                    .unicode(false)
                    .size_limit(SIZE_LIMIT)
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// This fingerprint's parameters for `text`, when its pattern matches: captures and
    /// fixed values, then `{name}` references in values resolved. A capture group that
    /// took no part in the match gives no parameter.
    pub fn matches(&self, text: &str) -> Option<BTreeMap<String, String>> {
        let caps = self.compiled().ok()?.captures(text.as_bytes())?;
        let mut params = BTreeMap::new();
        for p in &self.params {
            if p.pos == 0 {
                params.insert(p.name.clone(), p.value.clone());
            } else if let Some(m) = caps.get(p.pos) {
                params.insert(
                    p.name.clone(),
                    String::from_utf8_lossy(m.as_bytes()).into_owned(),
                );
            }
        }
        let resolved: Vec<(String, String)> = params
            .iter()
            .filter(|(_, v)| v.contains('{'))
            .map(|(k, v)| (k.clone(), interpolate(v, &params)))
            .collect();
        params.extend(resolved);
        Some(params)
    }
}

/// `value` with each `{name}` replaced by that parameter's value; a reference to a
/// parameter the match did not give stays as written.
fn interpolate(value: &str, params: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match params.get(name).filter(|v| !v.contains('{')) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A generated table: one Recog database.
#[derive(Debug, Deserialize)]
pub struct Table {
    /// The Recog file, e.g. `rapid7/recog xml/ssh_banners.xml`.
    pub source: String,
    /// The Recog commit the subset was read at.
    pub commit: String,
    /// Fingerprints the generator left out, with the reason (a Ruby-only construct).
    pub skipped: Vec<Skipped>,
    /// The fingerprints, in Recog's order.
    pub fingerprints: Vec<Fingerprint>,
    #[serde(skip)]
    set: OnceLock<Option<RegexSet>>,
}

impl Table {
    /// Every fingerprint's pattern in one [`RegexSet`] (index = fingerprint index), built
    /// as the single patterns are; `None` when the set cannot be built (a pattern the
    /// tests name as not compiling), and the patterns are then tried one by one.
    ///
    /// Why: finding the first match by compiling and trying each pattern in turn compiled
    /// every pattern before it; with the set, only the patterns that match are compiled on
    /// their own (for their captures). One match in every database: 12.7 MiB resident with
    /// the sets, 15.5 MiB without (VmHWM, release build, 2026-12-01). Same result: the
    /// first matching fingerprint in file order (tests/recog_examples.rs checks it for every
    /// example).
    fn set(&self) -> Option<&RegexSet> {
        self.set
            .get_or_init(|| {
                RegexSetBuilder::new(self.fingerprints.iter().map(|fp| fp.regex.as_str()))
                    .unicode(false)
                    .size_limit(SIZE_LIMIT * 64)
                    .build()
                    .ok()
            })
            .as_ref()
    }
}

/// A fingerprint left out of a table.
#[derive(Debug, Deserialize)]
pub struct Skipped {
    /// Its description.
    pub description: String,
    /// Its Ruby pattern.
    pub pattern: String,
    /// Why it has no Rust translation.
    pub reason: String,
}

/// The generated table of `db`, parsed once; `None` when the repository has no XML for it.
pub fn table(db: Database) -> Option<&'static Table> {
    static TABLES: OnceLock<Vec<(Database, Table)>> = OnceLock::new();
    let all = TABLES.get_or_init(|| {
        tables::TABLES
            .iter()
            .filter_map(|(name, json)| {
                let db = Database::ALL.into_iter().find(|d| d.name() == *name)?;
                // The tables are generated and embedded: a parse error is a build defect,
                // which tests/recog_examples.rs catches; here it only disables the table.
                serde_json::from_str(json).ok().map(|t| (db, t))
            })
            .collect()
    });
    all.iter().find(|(d, _)| *d == db).map(|(_, t)| t)
}

/// A fingerprint that matched a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The database it belongs to.
    pub database: Database,
    /// Its Recog description, e.g. `OpenSSH running on Debian 9.x (stretch)`.
    pub description: String,
    /// Parameter name -> value (`hw.vendor`, `service.version`, `os.cpe23`, ...), captures
    /// filled in and `{name}` references resolved.
    pub params: BTreeMap<String, String>,
}

/// `text` cut to at most [`MAX_INPUT`] bytes at a character boundary.
fn bounded(text: &str) -> &str {
    if text.len() <= MAX_INPUT {
        return text;
    }
    let mut end = MAX_INPUT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The first fingerprint of `db`, in Recog's order, that matches `text` (its first
/// [`MAX_INPUT`] bytes), with its parameters; `None` when none does or the repository
/// has no table for `db`.
pub fn match_text(db: Database, text: &str) -> Option<Match> {
    let text = bounded(text);
    let table = table(db)?;
    // Which patterns match at all, in one pass of the set; only those are compiled
    // on their own for their captures (a pattern the set cannot hold is tried as before).
    let candidates: Vec<usize> = match table.set() {
        Some(set) => set.matches(text.as_bytes()).into_iter().collect(),
        None => (0..table.fingerprints.len()).collect(),
    };
    candidates.into_iter().find_map(|i| {
        let fp = &table.fingerprints[i];
        fp.matches(text).map(|params| Match {
            database: db,
            description: fp.description.clone(),
            params,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssh_on_debian_gives_service_os_and_resolved_cpes() {
        let m = match_text(Database::SshBanners, "OpenSSH_7.4p1 Debian-10+deb9u7").unwrap();
        assert_eq!(m.description, "OpenSSH running on Debian 9.x (stretch)");
        assert_eq!(m.params["service.version"], "7.4p1");
        assert_eq!(m.params["service.cpe23"], "cpe:/a:openbsd:openssh:7.4p1");
        assert_eq!(m.params["os.cpe23"], "cpe:/o:debian:debian_linux:9.0");
        assert_eq!(match_text(Database::SshBanners, "NoSuchServer_1.0"), None);
    }

    #[test]
    fn a_capture_that_took_no_part_gives_no_param_and_its_reference_stays() {
        // `Mocana SSH ` matches with its optional version group unset.
        let m = match_text(Database::SshBanners, "Mocana SSH ").unwrap();
        assert_eq!(m.params.get("service.version"), None);
        let mut params = BTreeMap::new();
        params.insert("os.version".to_owned(), "6.9".to_owned());
        assert_eq!(
            interpolate("cpe:/o:x:{os.version}:{hw.version}", &params),
            "cpe:/o:x:6.9:{hw.version}"
        );
        assert_eq!(interpolate("open { brace", &params), "open { brace");
    }

    #[test]
    fn input_is_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_INPUT);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_INPUT && cut.len() > MAX_INPUT - 2);
        assert!(cut.chars().all(|c| c == 'é'));
        // A banner past the bound is not seen: only newlines fit in the first MAX_INPUT bytes.
        let late = format!("{}dropbear_2020.81", "\n".repeat(MAX_INPUT));
        assert_eq!(match_text(Database::SshBanners, &late), None);
        let m = match_text(Database::SshBanners, late.trim_start()).unwrap();
        assert_eq!(m.params["service.version"], "2020.81");
    }
}
