use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = heroku_reaper::cli::Cli::parse();
    match cli.command {
        Some(heroku_reaper::cli::Command::Sandbox(args)) => match heroku_reaper::sandbox::run(&args) {
            Ok(code) => code,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(2)
            }
        },
        _ => ExitCode::SUCCESS,
    }
}
