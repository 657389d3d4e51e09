//! heroku-reaper: deletes the throwaway Heroku apps that test suites leak, in one step
//! before the tests run, safely even when many copies run at once.

pub mod cli;
pub mod config;
pub mod console;
pub mod credentials;
#[cfg(feature = "sandbox")]
pub mod demo;
pub mod duration;
pub mod exit;
pub mod github;
pub mod heroku;
pub mod lock;
pub mod net;
pub mod reap;
pub mod report;
pub mod report_file;
pub mod room;
pub mod run;
pub mod signals;
pub mod text;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use cli::{Cli, Command};
use config::{PrefixSource, Settings};
use exit::Ending;

/// The whole program: arguments in, exit code out.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let matches = match Cli::command().try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(error) => {
            let _ = error.print();
            let ending = if error.use_stderr() {
                Ending::Usage
            } else {
                Ending::Help
            };
            return ExitCode::from(exit::code(ending));
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(exit::code(Ending::Usage));
        }
    };
    let (reap_args, reap_matches) = match cli.command {
        None => (cli.reap, &matches),
        Some(Command::Reap(args)) => (args, matches.subcommand_matches("reap").unwrap_or(&matches)),
        #[cfg(feature = "sandbox")]
        Some(Command::Sandbox(args)) => return usage_error(heroku_sandbox::run(&args)),
        #[cfg(feature = "sandbox")]
        Some(Command::Demo(args)) => return usage_error(demo::run(&args)),
    };
    init_logging(reap_args.verbose);
    let prefix_source = match reap_matches.value_source("prefix") {
        Some(ValueSource::CommandLine) => PrefixSource::CommandLine,
        Some(ValueSource::EnvVariable) => PrefixSource::Environment,
        _ => PrefixSource::Default,
    };
    match Settings::from_args(&reap_args, prefix_source) {
        Ok(settings) => run::reap_command(settings),
        Err(error) => {
            console::err(&format!("error: {error}"));
            ExitCode::from(exit::code(Ending::Usage))
        }
    }
}

/// `sandbox` and `demo` fail only on what they were given (a taken port, a bad seed).
#[cfg(feature = "sandbox")]
fn usage_error(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|error| {
        console::err(&format!("error: {error:#}"));
        ExitCode::from(exit::code(Ending::Usage))
    })
}

/// Logs go to stderr: `RUST_LOG` if set, else warnings, more with each `-v`. A log line
/// that cannot be written is dropped: the subscriber's own report of it would panic on a
/// closed stderr.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "warn,heroku_reaper=info",
        2 => "info,heroku_reaper=debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false)
        .try_init();
}
