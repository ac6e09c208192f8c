//! Bad command-line input: one line naming the argument, exit code 2, nothing sent.

use assert_cmd::Command;
use predicates::prelude::*;

fn otscan() -> Command {
    Command::cargo_bin("otscan").unwrap()
}

fn assert_usage_error(args: &[&str], names: &str) {
    let out = otscan().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "args {args:?}: {out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line for {args:?}: {stderr}"
    );
    assert!(
        stderr.contains(names),
        "{args:?}: '{stderr}' should name '{names}'"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout for {args:?}");
}

#[test]
fn bad_targets_quote_the_text() {
    assert_usage_error(&["scan", "10.0.0.300"], "\"10.0.0.300\"");
    assert_usage_error(&["scan", "10.0.0.0/33"], "\"10.0.0.0/33\"");
    assert_usage_error(&["scan", "10.0.0.20-10.0.0.5"], "\"10.0.0.20-10.0.0.5\"");
    assert_usage_error(&["scan", "127.0.0.1", "--exclude", "nope!"], "\"nope!\"");
}

#[test]
fn bad_options_name_the_argument() {
    assert_usage_error(&["scan", "127.0.0.1", "--rate", "0"], "--rate");
    assert_usage_error(&["scan", "127.0.0.1", "--rate", "fast"], "--rate");
    assert_usage_error(&["scan", "127.0.0.1", "--timeout", "2 weeks"], "--timeout");
    assert_usage_error(
        &["scan", "127.0.0.1", "--modbus-unit-ids", "300"],
        "--modbus-unit-ids",
    );
    assert_usage_error(&["scan", "127.0.0.1", "--port", "modbus"], "--port");
    assert_usage_error(&["scan", "127.0.0.1", "--probes", "gopher"], "--probes");
    // Every probe on the default list, in the registry's order, then those off by default.
    let known: Vec<&str> = scanner_core::Protocol::DEFAULT
        .iter()
        .map(|p| p.name())
        .collect();
    let off: Vec<&str> = scanner_core::Protocol::OFF_BY_DEFAULT
        .iter()
        .map(|p| p.name())
        .collect();
    assert!(known.starts_with(&["modbus", "enip", "s7"]) && known.contains(&"snmp"));
    assert!(off.contains(&"ssh"));
    assert_usage_error(
        &["scan", "127.0.0.1", "--probes", "s7,ethercat"],
        &format!(
            "known: {}, and off by default: {}",
            known.join(", "),
            off.join(", ")
        ),
    );
    assert_usage_error(&["scan", "127.0.0.1", "--port", "s7=0"], "--port");
    // A port list the protocol refuses is refused where the flag is named.
    assert_usage_error(
        &[
            "scan",
            "127.0.0.1",
            "--probes",
            "http",
            "--port",
            "http=80,80",
        ],
        "--port",
    );
    assert_usage_error(
        &["scan", "127.0.0.1", "--port", "melsec=5007,5007"],
        "--port",
    );
    // `--port melsec=` would replace MELSEC's own lists, `none` included (a breaker sent
    // a UDP datagram the user had switched off): refused, whichever order.
    assert_usage_error(
        &[
            "scan",
            "127.0.0.1",
            "--melsec-udp-ports",
            "none",
            "--port",
            "melsec=5002",
        ],
        "--melsec-udp-ports",
    );
    assert_usage_error(
        &[
            "scan",
            "127.0.0.1",
            "--port",
            "melsec=5002",
            "--melsec-tcp-ports",
            "6000",
        ],
        "--port melsec=",
    );
    // One protocol's ports given twice: one would silently replace the other (the last
    // won), so the scan would not go where the user believes. Also in the demo.
    assert_usage_error(
        &[
            "scan",
            "127.0.0.1",
            "--port",
            "modbus=502",
            "--port",
            "s7=102",
            "--port",
            "modbus=5020",
        ],
        "--port modbus= is given twice",
    );
    assert_usage_error(
        &["demo", "--port", "http=8081", "--port", "http=8082"],
        "--port http= is given twice",
    );
    // `config show` prints the effective settings: never ones `scan` would refuse.
    assert_usage_error(
        &[
            "config",
            "show",
            "--port",
            "modbus=5020",
            "--port",
            "modbus=5021",
        ],
        "--port modbus= is given twice",
    );
    assert_usage_error(&["scan", "127.0.0.1", "--s7-tsaps", "9/1"], "--s7-tsaps");
    assert_usage_error(
        &["scan", "127.0.0.1", "--s7-tsaps", "0x1ffff"],
        "--s7-tsaps",
    );
    assert_usage_error(&["scan", "127.0.0.1", "--shard", "5/4"], "--shard");
    assert_usage_error(
        &["scan", "127.0.0.1", "--snmp-communities", ""],
        "--snmp-communities",
    );
    assert_usage_error(
        &["scan", "127.0.0.1", "--snmp-communities", "public,,private"],
        "--snmp-communities",
    );
    // Longer than any agent takes (a 70,000-byte one could not even be sent, and was
    // counted as a request): refused before anything is sent.
    // The community is a credential: the error gives its place and length, not it.
    let long = format!("public,{}", "c".repeat(257));
    assert_usage_error(
        &["scan", "127.0.0.1", "--snmp-communities", &long],
        "--snmp-communities: community 2 of the list is 257 bytes, at most 256",
    );
    let out = otscan()
        .args(["scan", "127.0.0.1", "--snmp-communities", &long])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("cccc"));
    assert_usage_error(
        &["config", "show", "--snmp-communities", &long],
        "--snmp-communities: community 2",
    );
    assert_usage_error(&["scan", "127.0.0.1", "--bogus"], "--bogus");
    assert_usage_error(&["scan"], "no targets");
}

/// The CODESYS NameService addresses IPv4 hosts only: a scan that asks for it alone of an
/// IPv6 target would send nothing and say nothing.
#[test]
fn codesys_alone_refuses_ipv6_targets() {
    for target in ["::1", "fd00::/120"] {
        assert_usage_error(&["scan", target, "--probes", "codesys"], "--probes codesys");
        assert_usage_error(
            &["scan", target, "--probes", "codesys", "--dry-run"],
            "--probes codesys",
        );
    }
    assert_usage_error(&["scan", "127.0.0.1", "::1", "--probes", "codesys"], "::1");
}

#[test]
fn missing_files_are_named() {
    let out = otscan()
        .args(["scan", "-iL", "/nonexistent/targets.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("/nonexistent/targets.txt"), "{stderr}");
}

#[test]
fn bad_line_in_a_target_file_names_file_and_line() {
    let dir = std::env::temp_dir().join(format!("otscan-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("targets.txt");
    std::fs::write(&file, "# plant A\n127.0.0.1\n\n127.0.0.999\n").unwrap();
    let out = otscan().args(["scan", "-iL"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("line 4") && stderr.contains("127.0.0.999"),
        "{stderr}"
    );
}

#[test]
fn bad_enrichment_row_names_file_and_line_before_scanning() {
    let dir = std::env::temp_dir().join(format!("otscan-enrich-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("inventory.csv");
    std::fs::write(&file, "target,zone\n127.0.0.1,a\nnot-an-ip,b\n").unwrap();
    let out = otscan()
        .args(["scan", "127.0.0.1", "--enrich"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("inventory.csv line 3") && stderr.contains("not-an-ip"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn help_shows_examples_and_exit_codes() {
    otscan()
        .args(["scan", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("--dry-run"))
        .stdout(predicate::str::contains("Exit codes"));
}

/// The first example says what "every probe" is: each protocol of the default list by name
/// (the banner probes, off by default, are listed apart).
#[test]
fn help_s_every_probe_example_names_every_probe() {
    let out = otscan().args(["scan", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let list = help
        .split_once("every probe (")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(list, _)| list.replace([' ', '-', '\n'], "").to_lowercase())
        .unwrap_or_default();
    for protocol in scanner_core::Protocol::DEFAULT {
        let name = match protocol.name() {
            "enip" => "ethernet/ip",
            "hart" => "hartip",
            other => other,
        };
        assert!(
            list.contains(name),
            "{name} missing from every probe ({list})"
        );
    }
    assert!(help.contains("--probes codesys"), "{help}");
}

#[test]
fn banner_probes_are_off_by_default_and_on_with_probes_all() {
    let plan = |extra: &[&str]| {
        let out = otscan()
            .args(["scan", "10.0.0.0/30", "--dry-run"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let default = plan(&[]);
    assert!(!default.contains("ssh/22"), "{default}");
    assert!(
        default.contains("not probed:           ssh"),
        "the plan says which probes are off: {default}"
    );
    let all = plan(&["--probes", "all"]);
    assert!(
        all.contains("ssh/22") && all.contains("modbus/502"),
        "{all}"
    );
    assert!(!all.contains("not probed:"), "{all}");
    // `default` plus one: the default list, then ssh, each once.
    let some = plan(&["--probes", "default,ssh,modbus"]);
    let line = some.lines().find(|l| l.contains("probes:")).unwrap();
    assert!(line.ends_with(", snmp/161, ssh/22"), "{line}");
    assert_eq!(line.matches("modbus/").count(), 1, "{line}");
    // A port list is shown whole, as the probe tries it.
    let listed = plan(&["--probes", "http,modbus", "--port", "http=80,8080"]);
    let line = listed.lines().find(|l| l.contains("probes:")).unwrap();
    assert!(line.ends_with("http (TCP 80,8080), modbus/502"), "{line}");
    // --help names them.
    let help = otscan().args(["scan", "--help"]).output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("Off by default"), "{help}");
    assert!(
        words.contains("default list): ssh, ftp, telnet, http, https."),
        "{help}"
    );
}

#[test]
fn dry_run_plans_a_slash_8_without_sending() {
    // Nothing listens on 10/8 here and the network rule forbids traffic there:
    // a dry run must not send anything, and it must finish at once.
    let out = otscan()
        .args([
            "scan",
            "10.0.0.0/8",
            "--exclude",
            "10.1.0.0/16",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("targets:              16711680"),
        "{stdout}"
    );
    assert!(stdout.contains("nothing sent"));
}

#[test]
fn dry_run_lists_targets_in_a_shuffled_deterministic_order() {
    let run = |seed: &str| {
        let out = otscan()
            .args([
                "scan",
                "127.0.0.0/28",
                "--dry-run",
                "--list-targets",
                "--seed",
                seed,
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("127."))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let a = run("7");
    assert_eq!(a.len(), 16);
    assert_eq!(a, run("7"), "same seed, same order");
    assert_ne!(a, run("8"), "another seed, another order");
    let mut sorted = a.clone();
    sorted.sort_by_key(|s| s.parse::<std::net::Ipv4Addr>().unwrap());
    assert_ne!(a, sorted, "not ascending");
}

/// Issue 15 item 10: target files and stdin are read in bounded lines; a huge line
/// or a file without newlines is a clear error (exit 2) in bounded memory and time,
/// and long tokens are cut in messages.
#[test]
fn target_input_is_read_in_bounded_lines() {
    let dir = std::env::temp_dir().join(format!("otscan-bounded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let long = dir.join("long.txt");
    std::fs::write(&long, format!("127.0.0.1\n{}\n", "9".repeat(1 << 20))).unwrap();
    let out = otscan().args(["scan", "-iL"]).arg(&long).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("line 2: longer than 8192 bytes"),
        "{stderr}"
    );
    assert!(stderr.len() < 400, "the line is not echoed: {stderr}");
    // /dev/zero has no newline at all: the first 8 KiB decide.
    let started = std::time::Instant::now();
    assert_usage_error(&["scan", "-iL", "/dev/zero"], "/dev/zero line 1");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // The same through stdin.
    let out = otscan()
        .args(["scan", "-"])
        .write_stdin(vec![b'1'; 1 << 20])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stdin line 1"));
    // A long bad token is quoted cut, with its length.
    let token = format!("10.0.0.{}", "7".repeat(5000));
    let out = otscan().args(["scan", &token]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("(5007 bytes)") && stderr.len() < 400,
        "{stderr}"
    );
}

/// Issue 15 item 11: more bad input that must be refused before anything is sent,
/// each with one line that names the argument.
#[test]
fn empty_targets_past_times_and_insane_values_are_refused() {
    let dir = std::env::temp_dir().join(format!("otscan-low-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "# nothing here\n").unwrap();
    let empty = empty.to_str().unwrap();
    assert_usage_error(&["scan", "-iL", empty], "no targets left");
    assert_usage_error(
        &["scan", "127.0.0.0/30", "--exclude", "127.0.0.0/29"],
        "no targets left",
    );
    assert_usage_error(
        &["scan", "127.0.0.1", "--stop-at", "2020-01-01T00:00:00Z"],
        "--stop-at",
    );
    assert_usage_error(&["scan", "127.0.0.1", "--timeout", "1h"], "--timeout");
    assert_usage_error(&["scan", "127.0.0.1", "--rate", "-5"], "--rate");
    assert_usage_error(
        &["scan", "127.0.0.1", "--concurrency", "-1"],
        "--concurrency",
    );
    assert_usage_error(&["scan", "-iL"], "-iL");
    assert_usage_error(&["scan", "127.0.0.1", "-o"], "--output");
    assert_usage_error(
        &[
            "scan",
            "127.0.0.1",
            "--report",
            "/nonexistent-dir/report.json",
        ],
        "--report",
    );
    assert_usage_error(
        &["scan", "127.0.0.1", "-o", "/nonexistent-dir/assets.jsonl"],
        "-o",
    );
    assert_usage_error(
        &[
            "scan",
            "127.0.0.1",
            "--state",
            "/nonexistent-dir/scan.state",
        ],
        "--state",
    );
    // A grace as long as the window leaves no time to scan.
    assert_usage_error(
        &[
            "scan",
            "127.0.0.1",
            "--window",
            "00:00-00:30 UTC",
            "--window-grace",
            "30m",
            "--wait",
        ],
        "--window-grace",
    );
}

#[test]
fn dry_run_estimates_silent_addresses_from_the_liveness_phase() {
    let plan = |extra: &[&str]| {
        let out = otscan()
            .args(["scan", "10.0.0.0/24", "--dry-run"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    // Safe profile: 15 first packets per address, 3,840 at 100/s, then the last SYN's
    // 0.9 s wait (the datagrams go first: their 2 s waits end earlier).
    let safe = plan(&[]);
    assert!(
        safe.contains("15 (silent: each probe's first packet)"),
        "{safe}"
    );
    assert!(safe.contains("39.3s (every address silent)"), "{safe}");
    assert!(
        safe.contains("assumes:              a silent address"),
        "{safe}"
    );
    // Without the phase the plan says what it does not estimate.
    let off = plan(&["--no-liveness"]);
    assert!(!off.contains("every address silent"), "{off}");
    assert!(off.contains("which this does not estimate"), "{off}");
}

/// An opt-in feature of a probe the run leaves out changes nothing: said on one line, the
/// run goes on. A `--port` for such a probe is not warned about (a site's port map).
#[test]
fn a_feature_flag_for_a_probe_not_run_is_warned_about() {
    let out = otscan()
        .args([
            "scan",
            "127.0.0.1",
            "--probes",
            "modbus",
            "--http-favicon",
            "--port",
            "http=8080",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("warning: --http-favicon has no effect"),
        "{stderr}"
    );
    assert!(!stderr.contains("--port"), "{stderr}");
    let quiet = otscan()
        .args([
            "scan",
            "127.0.0.1",
            "--probes",
            "http",
            "--http-favicon",
            "--port",
            "http=8080",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert!(quiet.status.success(), "{quiet:?}");
    assert!(
        !String::from_utf8(quiet.stderr).unwrap().contains("warning"),
        "no warning when the probe runs"
    );
}
