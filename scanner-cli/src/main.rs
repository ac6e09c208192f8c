//! `otscan`: the thin command-line front end over scanner-core.

/// Prints one line to stderr. A closed, broken or full stderr is ignored: losing a
/// message must never end a run early (`say!` would panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod cli;
mod demo;
mod limits;
mod paths;
mod protocols;
mod render;
mod report;
mod run;
mod sink;
mod state;

use std::process::ExitCode;

/// mimalloc instead of the system allocator: per-thread free lists make the per-address
/// allocations of a large scan cheap (issue 16: glibc's malloc/free were 15% of the CPU of
/// a /16 scan, see benches/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let args = cli::normalize_args(std::env::args_os());
    let args = match cli::expand_config_file(args) {
        Ok(a) => a,
        Err(e) => {
            say!("otscan: error: {e}");
            return ExitCode::from(run::EXIT_USAGE);
        }
    };
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return run::usage_exit(e),
    };
    run::init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say!("otscan: error: cannot start the async runtime: {e}");
            return ExitCode::from(run::EXIT_FAILURE);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Scan(args) => run::scan_command(*args).await,
            Command::Demo(args) => demo::demo_command(args).await,
            Command::Discover(args) => run::discover_command(args).await,
            Command::Diff(args) => run::diff_command(&args),
            Command::Convert(args) => run::convert_command(&args),
            Command::Report(args) => report::report_command(&args),
            Command::Completions { shell } => run::completions_command(shell),
            Command::Man => run::man_command(),
            Command::Config(cli::ConfigCommand::Show(args)) => {
                use std::io::Write as _;
                if let Err(e) = args.check_options() {
                    say!("otscan: error: {e}");
                    run::EXIT_USAGE
                } else {
                    match write!(std::io::stdout(), "{}", args.effective_toml()) {
                        Ok(()) => run::EXIT_OK,
                        Err(e) => {
                            say!("otscan: error: cannot write the configuration: {e}");
                            run::EXIT_FAILURE
                        }
                    }
                }
            }
        }
    });
    ExitCode::from(code)
}
