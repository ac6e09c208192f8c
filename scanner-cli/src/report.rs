//! `otscan report`: the HTML inventory report of a saved scan.

use crate::run::{EXIT_FAILURE, EXIT_USAGE};

/// `otscan report SCAN [OLDER] -o FILE`: 0 written, 1 the file cannot be written,
/// 2 bad usage or a scan that cannot be read (the message names the file and line).
pub fn report_command(args: &crate::cli::ReportArgs) -> u8 {
    let scans = std::iter::once(&args.scan).chain(args.older.as_ref());
    for scan in scans {
        if let Err(e) = crate::render::read_scan(scan) {
            say!("otscan: error: {e}");
            return EXIT_USAGE;
        }
    }
    say!("otscan: error: report: the HTML report is not written yet");
    EXIT_FAILURE
}
