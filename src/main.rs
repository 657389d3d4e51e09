use std::process::ExitCode;

fn main() -> ExitCode {
    heroku_reaper::main(std::env::args_os())
}
