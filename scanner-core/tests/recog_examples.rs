//! Every `<example>` of every generated Recog table is matched as Recog's own self-test
//! (spec/lib/fingerprint_self_test_spec.rb) does: the example matches its fingerprint with
//! every parameter its attributes state, and no earlier fingerprint of the database
//! matches it (so `match_text` returns this fingerprint). Every pattern compiles, every
//! table parses and names its Recog commit, and arbitrary text never panics.

use std::process::Command;

use proptest::prelude::*;
use regex::Regex;
use scanner_core::protocols::telnet::codec::printable;
use scanner_core::protocols::telnet::TelnetDetails;
use scanner_core::recog::{self, Database};
use scanner_core::record::recog::recog_texts;
use scanner_core::record::{DeviceText, ServiceDetails};

/// The databases the repository has a table for.
fn tables() -> Vec<(Database, &'static recog::Table)> {
    Database::ALL
        .into_iter()
        .filter_map(|db| recog::table(db).map(|t| (db, t)))
        .collect()
}

/// RFC 4648 base64 (Recog's `_encoding="base64"` examples), padding optional.
fn base64(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {text:?}"),
        };
        acc = acc << 6 | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn base64_decodes_a_recog_example() {
    // telnet_banners.xml's MikroTik example: "MikroTik v5.2\r\nLogin:\n".
    assert_eq!(
        base64("TWlrcm9UaWsgdjUuMg0KTG9naW46Cg=="),
        b"MikroTik v5.2\r\nLogin:\n"
    );
}

#[test]
fn every_table_parses_and_names_its_source_commit() {
    let names: Vec<&str> = tables().iter().map(|(db, _)| db.name()).collect();
    assert!(names.contains(&"ssh_banners"), "{names:?}");
    for (db, table) in tables() {
        assert_eq!(
            table.source,
            format!("rapid7/recog xml/{}.xml", db.name()),
            "{db:?}"
        );
        assert_eq!(table.commit.len(), 40, "{db:?}");
        assert!(!table.fingerprints.is_empty(), "{db:?}");
    }
}

#[test]
fn every_pattern_compiles() {
    let mut failures = Vec::new();
    for (db, table) in tables() {
        for fp in &table.fingerprints {
            if let Err(e) = fp.compiled() {
                failures.push(format!(
                    "{}: {:?} ({}): {e}",
                    db.name(),
                    fp.description,
                    fp.regex
                ));
            }
        }
        for s in &table.skipped {
            // A skipped fingerprint names why; the README counts them.
            assert!(
                !s.reason.is_empty() && !s.pattern.is_empty(),
                "{}",
                s.description
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Examples an earlier fingerprint of the same database matches first in upstream Recog
/// too (same order at the commit the XML names; Recog's own self-test checks an example
/// against its own fingerprint only). The record then carries the earlier fingerprint, as
/// Recog's matcher would.
const SHADOWED_UPSTREAM: &[(&str, &str)] = &[(
    // "Cambium Networks Router" (`CN=([^,]+),OU=Products,...`) precedes "Cambium Networks WAP".
    "x509_subjects",
    "CN=Cambium WLAN AP,OU=Products,O=Cambium Networks Inc,L=San Jose,ST=CA,C=US",
)];

#[test]
fn every_example_matches_its_fingerprint_first_with_the_stated_params() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (db, table) in tables() {
        for fp in &table.fingerprints {
            for example in &fp.examples {
                let bytes = match (&example.text, &example.base64) {
                    (Some(t), _) => t.as_bytes().to_vec(),
                    (None, Some(b)) => base64(b),
                    (None, None) => panic!("{}: empty example", fp.description),
                };
                let text = String::from_utf8_lossy(&bytes);
                checked += 1;
                let Some(params) = fp.matches(&text) else {
                    failures.push(format!(
                        "{}: {:?} does not match {:?}",
                        db.name(),
                        fp.description,
                        text
                    ));
                    continue;
                };
                for (name, want) in &example.attrs {
                    if params.get(name) != Some(want) {
                        failures.push(format!(
                            "{}: {:?} on {text:?}: {name} is {:?}, want {want:?}",
                            db.name(),
                            fp.description,
                            params.get(name)
                        ));
                    }
                }
                let first = recog::match_text(db, &text).map(|m| m.description);
                let shadowed = SHADOWED_UPSTREAM.contains(&(db.name(), text.as_ref()));
                if first.as_deref() != Some(fp.description.as_str()) && !shadowed {
                    failures.push(format!(
                        "{}: {text:?} matches {first:?} before {:?}",
                        db.name(),
                        fp.description
                    ));
                }
            }
        }
    }
    assert!(checked > 0);
    assert!(
        failures.is_empty(),
        "{} of {checked} examples fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn telnet_examples_read_as_the_telnet_probe_reads_them_still_match() {
    // The probe strips control bytes (CR and NUL among them) and keeps line feeds
    // (protocols::telnet::codec::printable); recog_texts gives Recog CR LF line ends back.
    let table = recog::table(Database::TelnetBanners).expect("telnet table");
    let mut unmatched = Vec::new();
    let mut checked = 0;
    for fp in table.fingerprints.iter().filter(|fp| !fp.params.is_empty()) {
        for example in &fp.examples {
            let bytes = match (&example.text, &example.base64) {
                (Some(t), _) => t.as_bytes().to_vec(),
                (None, b) => base64(b.as_deref().unwrap()),
            };
            let banner = DeviceText::from_bytes(&printable(&bytes));
            let details = ServiceDetails::from(TelnetDetails {
                banner: Some(banner),
                ..TelnetDetails::default()
            });
            let texts = recog_texts(&details);
            let (db, field, text) = &texts[0];
            assert_eq!((*db, *field), (Database::TelnetBanners, "telnet.banner"));
            checked += 1;
            let first = recog::match_text(*db, text).map(|m| m.description);
            if first.as_deref() != Some(fp.description.as_str()) {
                unmatched.push(fp.description.as_str());
            }
        }
    }
    assert!(checked > 50, "{checked}");
    // ZTE's F6xx prompt is `\r\n\rLogin:`: the lone CR the probe strips is in its pattern.
    unmatched.dedup();
    assert_eq!(unmatched, ["ZTE F6xx series GPON router"]);
}

#[test]
fn the_tables_are_what_the_xml_generates() {
    // generate.py --check also runs its translation self-test.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/src/recog/generate.py");
    let out = Command::new("python3")
        .args([script, "--check"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn translated_ruby_constructs_keep_their_ruby_meaning_in_rust() {
    // generate.py's translations (its self_test), compiled as the module compiles them.
    let re = |p: &str| Regex::new(&format!("(?m){p}")).unwrap();
    // Ruby \Z: end of text, or before a final newline; not before an inner one.
    let end = re(r"^a(?:\n?\z)");
    assert!(end.is_match("a") && end.is_match("a\n") && !end.is_match("a\nb"));
    // Ruby ^ and $ are line anchors; \A is the start of the text only.
    assert!(re("^b$").is_match("a\nb\nc"));
    assert!(!re(r"\Ab").is_match("a\nb"));
    // \h is a hex digit; {,3} is {0,3}; a { that starts no repetition is literal.
    assert!(re("^[0-9a-fA-F]+[0-9a-fA-F:]$").is_match("0e8:"));
    assert!(re("^x{0,3}y$").is_match("xxy"));
    assert!(re(r"^\{a\}$").is_match("{a}"));
    // Ruby's (?m) is dot-all, Rust's (?s).
    assert!(re("(?s)a.b").is_match("a\nb") && !re("a.b").is_match("a\nb"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary text (up to 3 x MAX_INPUT) never panics, in any database, and a match's
    /// captures come from the first MAX_INPUT bytes only.
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}", repeat in 1usize..40) {
        let long = text.repeat(repeat);
        for db in Database::ALL {
            if let Some(m) = recog::match_text(db, &long) {
                for value in m.params.values() {
                    prop_assert!(value.len() <= recog::MAX_INPUT + 200);
                }
            }
        }
    }
}
