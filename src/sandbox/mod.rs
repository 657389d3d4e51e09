//! A Heroku-compatible API on loopback, for tests, benchmarks and `heroku-reaper demo`.

use std::process::ExitCode;

use crate::cli::SandboxArgs;

/// `heroku-reaper sandbox`: serve until interrupted.
pub fn run(_args: &SandboxArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the sandbox is not built yet")
}
