//! `otscan report`: the HTML inventory report of a saved scan.

use scanner_core::output::report::{render, ReportInput};

use crate::run::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};

/// `otscan report SCAN [OLDER] -o FILE`: 0 written, 1 the file cannot be written,
/// 2 bad usage or a scan that cannot be read (the message names the file and line).
pub fn report_command(args: &crate::cli::ReportArgs) -> u8 {
    let inputs = std::iter::once(&args.scan).chain(args.older.as_ref());
    if inputs
        .clone()
        .any(|p| crate::paths::same_file(p, &args.output))
    {
        say!(
            "otscan: error: -o {}: a scan to report cannot be the report",
            args.output.display()
        );
        return EXIT_USAGE;
    }
    let mut scans = Vec::new();
    for path in inputs {
        match crate::render::read_scan(path) {
            Ok(records) => scans.push(records),
            Err(e) => {
                say!("otscan: error: {e}");
                return EXIT_USAGE;
            }
        }
    }
    let name = |p: &std::path::Path| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let records = &scans[0];
    let mut input = ReportInput::new(&args.title, &name(&args.scan), records);
    if let (Some(older), Some(old_records)) = (&args.older, scans.get(1)) {
        input = input.with_changes(&name(older), scanner_core::diff::diff(old_records, records));
    }
    let html = match render(&input) {
        Ok(h) => h,
        Err(e) => {
            say!("otscan: error: {e}");
            return EXIT_FAILURE;
        }
    };
    if let Err(e) = std::fs::write(&args.output, html) {
        say!(
            "otscan: error: cannot write the report {}: {e}",
            args.output.display()
        );
        return EXIT_USAGE;
    }
    let devices = records.iter().filter(|r| r.responsive).count();
    say!(
        "otscan: report: {devices} devices{} written to {}",
        input
            .changes
            .as_ref()
            .map(|(_, c)| format!(", {} changes", c.len()))
            .unwrap_or_default(),
        args.output.display()
    );
    EXIT_OK
}
