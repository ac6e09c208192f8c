//! Unattended runs lose nothing and never lie (issue 15, items 2-9), in real
//! `otscan` subprocesses against a simulated plant on loopback: resume after
//! SIGINT, SIGTERM, SIGHUP and SIGKILL, one run per state file, persistence
//! failures (full disk, read-only directory), a blocked stdout, a broken stderr,
//! planted links and files named twice.

mod common;

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn kill(pid: u32, signal: &str) {
    assert!(Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap()
        .success());
}

/// Waits for `child` to end, at most 15 s after `since` (`what` names the situation in
/// the failure message); returns how it ended.
fn wait_for_exit(
    child: &mut std::process::Child,
    since: Instant,
    what: &str,
) -> std::process::ExitStatus {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(since.elapsed() < Duration::from_secs(15), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `path` exists and is not empty (a run has started and holds its state).
fn wait_for_file(path: &Path) {
    let started = Instant::now();
    while std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
        assert!(started.elapsed() < Duration::from_secs(20), "{path:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Items 2 and 8: a weekly job is interrupted by SIGINT, SIGTERM, SIGHUP and
/// SIGKILL in turn, each time resumed by the same command with the same state and
/// output file: every target gets exactly one record in the output, none is lost,
/// and after each interruption the state counts exactly the targets whose records
/// are in the file (after SIGKILL too: the journal covers what the state missed).
#[test]
fn resume_after_every_kind_of_stop_keeps_every_record_exactly_once() {
    let ports = ports(20544);
    let (rt, plant) = runtime_plant(Ipv4Addr::new(127, 99, 0, 0), ports);
    let dir = temp("resume-signals");
    let (state, output) = (dir.join("plant.state"), dir.join("assets.jsonl"));
    let scan = |report: &Path| {
        let mut c = otscan();
        c.args(["scan", "127.99.0.0/22", "--rate", "1000", "--emit-all"])
            .args(scan_flags(&ports))
            .arg("--state")
            .arg(&state)
            .arg("-o")
            .arg(&output)
            .arg("--report")
            .arg(report)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    };
    let lines = || records(&std::fs::read(&output).unwrap_or_default()).len() as u128;
    let mut runs = 0;
    for (signal, code) in [
        ("INT", Some(130)),
        ("TERM", Some(143)),
        ("HUP", Some(129)),
        ("KILL", None),
    ] {
        let before = lines();
        let report = dir.join(format!("report-{signal}.json"));
        let child = scan(&report).spawn().unwrap();
        // Stopped mid-run, once it has written a record: a fixed 1.2 s was too short for
        // a run on a loaded machine (CI saw a run stopped before its first record).
        // Lines are counted by their ends: the writer may be mid-line.
        let newlines = || {
            std::fs::read(&output)
                .unwrap_or_default()
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u128
        };
        let waiting = Instant::now();
        while newlines() <= before && waiting.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
        kill(child.id(), signal);
        let out = child.wait_with_output().unwrap();
        runs += 1;
        assert_eq!(out.status.code(), code, "SIG{signal}: {out:?}");
        let written = lines();
        assert!(written > before, "SIG{signal}: the run wrote records");
        if signal != "KILL" {
            assert_eq!(
                state_done(&state),
                written,
                "SIG{signal}: the state counts exactly the targets with records"
            );
            let r = json_file(&report);
            assert_eq!(r["stopped_by"], "cancelled", "SIG{signal}");
        }
    }
    // The last run after SIGKILL: its report says how much the killed run finished.
    let report = dir.join("report-last.json");
    let before = lines();
    let out = scan(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r = json_file(&report);
    assert_eq!(
        r["targets"]["done_in_earlier_runs"],
        before.to_string(),
        "after SIGKILL nothing written is scanned again, nothing unwritten is counted"
    );
    assert_eq!(r["targets"]["left"], "0");
    let all = records(&std::fs::read(&output).unwrap());
    let by_ip = count_by_ip(&all);
    assert_eq!(
        by_ip.len(),
        1024,
        "every target, after {runs} interrupted runs"
    );
    assert!(by_ip.values().all(|n| *n == 1), "no target twice");
    let responsive: Vec<&str> = all
        .iter()
        .filter(|r| r["responsive"] == true)
        .map(|r| r["ip"].as_str().unwrap())
        .collect();
    // The same devices as one uninterrupted scan finds.
    let fresh = otscan()
        .args(["scan", "127.99.0.0/24", "--rate", "2000"])
        .args(scan_flags(&ports))
        .output()
        .unwrap();
    let expected = count_by_ip(&records(&fresh.stdout));
    assert_eq!(responsive.len(), expected.len());
    assert!(responsive.iter().all(|ip| expected.contains_key(*ip)));
    rt.block_on(plant.shutdown());
}

/// Item 3: a second run on the same state file exits 69 at once, naming the pid of
/// the run that holds it, and sends nothing; the first run is not disturbed.
#[test]
fn a_second_run_on_the_same_state_is_refused_with_the_holders_pid() {
    let dir = temp("lock");
    let state = dir.join("plant.state");
    let scan = |output: &str| {
        let mut c = otscan();
        c.args([
            "scan",
            "127.100.0.0/20",
            "--probes",
            "modbus",
            "--rate",
            "50",
        ])
        .args(["--port", "modbus=15631", "--timeout", "200ms"])
        .arg("--state")
        .arg(&state)
        .arg("-o")
        .arg(dir.join(output));
        c
    };
    let first = scan("first.jsonl").stderr(Stdio::piped()).spawn().unwrap();
    wait_for_file(&dir.join("plant.state.lock"));
    wait_for_file(&state);
    let started = Instant::now();
    let second = scan("second.jsonl").output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(69), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {}", first.id())) && stderr.contains("in use"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        !dir.join("second.jsonl").exists(),
        "nothing opened, nothing sent"
    );
    kill(first.id(), "TERM");
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{out:?}");
    // Once the holder is gone the lock is free again.
    let third = otscan()
        .args([
            "scan",
            "127.100.0.0/20",
            "--probes",
            "modbus",
            "--rate",
            "5000",
        ])
        .args(["--port", "modbus=15631", "--timeout", "200ms"])
        .args(["--max-duration", "200ms", "--per-device-interval", "0ms"])
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(third.status.code(), Some(0), "{third:?}");
}

/// A tmpfs of `size` mounted on `dir` (removed on drop): a disk that fills up.
struct SmallDisk {
    dir: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(dir: &Path, options: &str) -> SmallDisk {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                options,
                "otscan-test",
                dir.to_str().unwrap(),
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount tmpfs on {dir:?} (this test needs root)");
        SmallDisk {
            dir: dir.to_owned(),
        }
    }

    fn remount(&self, options: &str) {
        let ok = Command::new("mount")
            .args([
                "-o",
                &format!("remount,{options}"),
                self.dir.to_str().unwrap(),
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

/// Item 4: a full disk under `-o` ends the run with exit 1 and no torn line; the
/// state counts only the targets whose records are in the file, so once there is
/// room the same command completes the inventory with every target exactly once.
/// A read-only state directory and `/dev/full` are refused or fail the run.
#[test]
fn persistence_failures_fail_the_run_without_losing_or_tearing_records() {
    let ports = ports(20576);
    let (rt, plant) = runtime_plant(Ipv4Addr::new(127, 101, 0, 0), ports);
    let dir = temp("full-disk");
    let disk = SmallDisk::mount(&dir.join("small"), "size=24k");
    let (state, output) = (dir.join("plant.state"), dir.join("small/assets.jsonl"));
    let scan_to = |range: &str, state: &Path, output: &Path| {
        otscan()
            .args(["scan", range, "--rate", "4000", "--emit-all"])
            .args(scan_flags(&ports))
            .arg("--state")
            .arg(state)
            .arg("-o")
            .arg(output)
            .output()
            .unwrap()
    };
    let scan = || scan_to("127.101.0.0/24", &state, &output);
    let out = scan();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    let first = records(&std::fs::read(&output).unwrap());
    assert!(!first.is_empty() && first.len() < 256);
    assert_eq!(state_done(&state), first.len() as u128);
    // `otscan diff` reads the file: no torn line.
    let diff = otscan()
        .arg("diff")
        .arg(&output)
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(diff.status.code(), Some(0), "{diff:?}");

    disk.remount("size=2m");
    let out = scan();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let all = records(&std::fs::read(&output).unwrap());
    let by_ip = count_by_ip(&all);
    assert_eq!(by_ip.len(), 256);
    assert!(by_ip.values().all(|n| *n == 1), "no target twice");

    // The state's own disk fills in the middle of the run (its journal grows by a
    // line per target): exit 1, and the next run, with room again, loses nothing and
    // scans nothing twice.
    let state_disk = SmallDisk::mount(&dir.join("state-disk"), "size=12k");
    let (state, output) = (dir.join("state-disk/plant.state"), dir.join("all.jsonl"));
    let scan = || scan_to("127.101.0.0/21", &state, &output);
    let out = scan();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("journal") && stderr.contains("No space left on device"),
        "{stderr}"
    );
    let first = records(&std::fs::read(&output).unwrap()).len();
    assert!(first > 0 && first < 2048, "{first}");
    state_disk.remount("size=2m");
    let out = scan();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("{first} of 2048 targets already done")),
        "{stderr}"
    );
    let by_ip = count_by_ip(&records(&std::fs::read(&output).unwrap()));
    assert_eq!(by_ip.len(), 2048);
    assert!(by_ip.values().all(|n| *n == 1), "no target twice");
    drop(state_disk);

    // /dev/full as the output: the first record fails the run.
    let out = otscan()
        .args(["scan", "127.101.0.10", "--rate", "2000"])
        .args(scan_flags(&ports))
        .args(["-o", "/dev/full"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    // A state in a read-only directory: refused before anything is sent.
    let ro = SmallDisk::mount(&dir.join("ro"), "ro,size=1m");
    plant.recorder().clear();
    let out = otscan()
        .args(["scan", "127.101.0.0/24", "--rate", "2000"])
        .args(scan_flags(&ports))
        .arg("--state")
        .arg(dir.join("ro/plant.state"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--state") && stderr.contains("Read-only"),
        "{stderr}"
    );
    assert_nothing_sent(&plant);
    drop(ro);
    drop(disk);
    rt.block_on(plant.shutdown());
}

/// Item 5: stdout is a pipe nobody reads. SIGTERM still stops the run within a
/// bounded time, writes the state and the report, and the state counts exactly
/// the records that reached the pipe whole.
#[test]
fn a_blocked_stdout_does_not_make_signals_useless() {
    let ports = ports(20608);
    let (rt, plant) = runtime_plant(Ipv4Addr::new(127, 102, 0, 0), ports);
    let dir = temp("blocked-stdout");
    let (state, report) = (dir.join("plant.state"), dir.join("report.json"));
    let mut child = spawn_reporting(
        otscan()
            .args(["scan", "127.102.0.0/20", "--rate", "5000", "--emit-all"])
            .args(scan_flags(&ports))
            .args(["--per-device-interval", "0ms"])
            .arg("--state")
            .arg(&state),
        &report,
    );
    // 4,096 records of several hundred bytes fill the 64 KiB pipe long before the end.
    std::thread::sleep(Duration::from_millis(2500));
    let stopped = Instant::now();
    kill(child.id(), "TERM");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        // Read only after the process ended, so the pipe stays full until then.
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut std::io::BufReader::new(stdout), &mut text).unwrap();
        text
    });
    let status = wait_for_exit(
        &mut child,
        stopped,
        "SIGTERM did not stop a run whose stdout is blocked",
    );
    assert_eq!(status.code(), Some(143));
    let text = reader.join().unwrap();
    let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let written = records(&text[..whole]).len() as u128;
    assert!(written > 0 && written < 4096, "{written}");
    assert_eq!(
        state_done(&state),
        written,
        "exactly the records that reached the pipe whole are done"
    );
    let r = json_file(&report);
    assert_eq!(r["stopped_by"], "cancelled");
    assert_eq!(r["records"]["written"].as_u64().unwrap() as u128, written);
    rt.block_on(plant.shutdown());
}

/// Found by a breaker: SIGINT while a pipe nobody reads holds stdout, records small and
/// many (a refusing /16): the run still ends after the grace period, with the summary on
/// stderr and a report that says how it stopped and how far it got (the main thread had
/// waited for ever on the progress bar's lock, which the blocked writer held).
#[test]
fn an_interrupt_with_a_blocked_stdout_still_ends_with_its_report() {
    let dir = temp("blocked-interrupt");
    let (state, report) = (dir.join("s.state"), dir.join("report.json"));
    let mut child = spawn_reporting(
        otscan()
            .args(["scan", "127.104.0.0/16", "--probes", "modbus", "--emit-all"])
            .args(["--rate", "20000", "--per-device-interval", "0ms"])
            .args(["--timeout", "300ms"])
            .arg("--state")
            .arg(&state),
        &report,
    );
    std::thread::sleep(Duration::from_millis(2000));
    let stopped = Instant::now();
    kill(child.id(), "INT");
    let status = wait_for_exit(
        &mut child,
        stopped,
        "SIGINT did not end a run whose stdout is blocked",
    );
    assert_eq!(status.code(), Some(130));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("targets left"), "{stderr}");
    assert!(stderr.contains("the output is blocked"), "{stderr}");
    let r = json_file(&report);
    assert_eq!(r["stopped_by"], "cancelled", "{r}");
    assert!(r["elapsed_s"].as_f64().unwrap() >= 2.0, "{r}");
}

/// `otscan scan` of the one silent address these tests use, with `extra` flags.
fn scan_one_command(extra: &[&str]) -> Command {
    let mut cmd = otscan();
    cmd.args([
        "scan",
        "127.103.0.1",
        "--rate",
        "2000",
        "--timeout",
        "300ms",
    ])
    .args(extra);
    cmd
}

fn scan_one(extra: &[&str], stderr: Stdio) -> Output {
    scan_one_command(extra).stderr(stderr).output().unwrap()
}

/// Item 7: a full or broken stderr never panics (exit 101) and never costs the
/// report or the records.
#[test]
fn a_broken_stderr_never_panics_nor_loses_the_report() {
    let dir = temp("stderr");
    let (report, output) = (dir.join("report.json"), dir.join("assets.jsonl"));
    let args = [
        "--emit-all",
        "--report",
        report.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ];
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = scan_one(&args, Stdio::from(full));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json_file(&report)["targets"]["scanned"], 1);
    assert_eq!(records(&std::fs::read(&output).unwrap()).len(), 1);
    std::fs::remove_file(&report).unwrap();

    // stderr a pipe whose reader is gone: writes fail with EPIPE.
    let mut child = scan_one_command(&args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(json_file(&report)["targets"]["scanned"], 1);
}

/// Item 9: a link planted at the state's temporary name is not followed; the same
/// file named by two arguments is refused (exit 2, nothing written).
#[test]
fn planted_links_are_not_followed_and_files_named_twice_are_refused() {
    let dir = temp("links");
    let state = dir.join("plant.state");
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "keep me\n").unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("plant.state.tmp")).unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("plant.state.journal")).unwrap();
    let out = scan_one(
        &["--probes", "modbus", "--state", state.to_str().unwrap()],
        Stdio::piped(),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("plant.state.journal"));
    std::fs::remove_file(dir.join("plant.state.journal")).unwrap();
    let out = scan_one(
        &["--probes", "modbus", "--state", state.to_str().unwrap()],
        Stdio::piped(),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    assert!(json_file(&state)["format"]
        .as_str()
        .unwrap()
        .starts_with("otscan.state/"));

    let targets = dir.join("targets.txt");
    std::fs::write(&targets, "127.103.0.1\n").unwrap();
    let (s, t) = (state.to_str().unwrap(), targets.to_str().unwrap());
    let lock = format!("{s}.lock");
    for (args, names) in [
        (vec!["-o", s, "--state", s], ("-o", "--state")),
        (vec!["--report", t, "-iL", t], ("--report", "-iL")),
        (vec!["-o", t, "--exclude-file", t], ("-o", "--exclude-file")),
        (vec!["-o", &lock, "--state", s], ("-o", "--state")),
    ] {
        let out = otscan()
            .args(["scan", "127.103.0.1"])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(names.0) && stderr.contains(names.1),
            "{stderr}"
        );
        assert_eq!(std::fs::read_to_string(&targets).unwrap(), "127.103.0.1\n");
    }
}
