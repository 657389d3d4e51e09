//! Runs the real `heroku-reaper` binary: a small builder with the environment a test
//! needs and nothing from the developer's own (no real key, no real `~/.netrc`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use heroku_sandbox::Sandbox;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_heroku-reaper");

/// Environment variables the binary reads; cleared so the developer's own never leak in.
const READ_FROM_ENVIRONMENT: &[&str] = &[
    "HEROKU_API_KEY",
    "HEROKU_API_URL",
    "HATCHET_APP_PREFIX",
    "RUST_LOG",
    "NO_COLOR",
    "GITHUB_ACTIONS",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "GITHUB_API_URL",
    "RUNNER_TEMP",
    "RUNNER_NAME",
];

pub struct Reaper {
    command: Command,
    home: tempfile::TempDir,
}

impl Reaper {
    /// A reaper with no credentials and no API: the bare binary in a clean home.
    pub fn bare() -> Reaper {
        let home = tempfile::tempdir().expect("a temp dir");
        let mut command = Command::new(BIN);
        for name in READ_FROM_ENVIRONMENT {
            command.env_remove(name);
        }
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("HEROKU_REAPER_") {
                command.env_remove(name);
            }
        }
        command
            .env("HOME", home.path())
            .env("USERPROFILE", home.path())
            .env("HEROKU_REAPER_LOCK_FILE", home.path().join("reaper.lock"));
        Reaper { command, home }
    }

    /// A reaper pointed at the sandbox with its key.
    pub fn against(sandbox: &Sandbox) -> Reaper {
        let mut reaper = Reaper::bare();
        reaper
            .command
            .env("HEROKU_API_URL", sandbox.url())
            .env("HEROKU_API_KEY", sandbox.token());
        reaper
    }

    pub fn args<I, S>(mut self, args: I) -> Reaper
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Reaper {
        self.command.env(name, value);
        self
    }

    /// Runs it as a step of `runner` (GitHub mode).
    pub fn in_runner(mut self, runner: &crate::runner::Runner) -> Reaper {
        runner.apply(&mut self.command);
        self
    }

    pub fn env_remove(mut self, name: &str) -> Reaper {
        self.command.env_remove(name);
        self
    }

    /// This reaper's home (its `~/.netrc` lives here).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The lock file this reaper uses unless told otherwise.
    pub fn lock_file(&self) -> PathBuf {
        self.home.path().join("reaper.lock")
    }

    pub fn run(mut self) -> Run {
        let output = self.command.output().expect("the binary runs");
        Run::from(output)
    }

    /// Runs with `--format json` and parses stdout.
    pub fn json(self) -> (Run, Value) {
        let run = self.args(["--format", "json"]).run();
        let report = serde_json::from_str(&run.stdout).unwrap_or_else(|error| {
            panic!(
                "stdout is not JSON ({error}):\n{}\nstderr:\n{}",
                run.stdout, run.stderr
            )
        });
        (run, report)
    }

    /// Runs it, failing the test if it has not ended within `limit` (a bound on a run
    /// that could hang, not a measure of speed). Output goes through files, so a chatty
    /// run never blocks on a full pipe.
    pub fn run_within(mut self, limit: Duration) -> Run {
        let stdout = self.home.path().join("stdout");
        let stderr = self.home.path().join("stderr");
        let file = |path: &Path| std::fs::File::create(path).expect("an output file");
        let mut child = self
            .command
            .stdout(file(&stdout))
            .stderr(file(&stderr))
            .spawn()
            .expect("the binary starts");
        let give_up = Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().expect("the child can be waited for") {
                break status;
            }
            if Instant::now() > give_up {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the run did not end within {limit:?}; stderr:\n{}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        Run {
            code: status.code().unwrap_or(-1),
            stdout: read(&stdout),
            stderr: read(&stderr),
        }
    }

    /// Starts it without waiting; the home stays alive with the returned guard.
    pub fn spawn(mut self) -> (Child, tempfile::TempDir) {
        let child = self
            .command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        (child, self.home)
    }
}

/// Waits for a spawned run, failing the test if it is still running after `limit` (a
/// bound on a run that could hang, not a measure of speed).
pub fn wait_within(mut child: Child, limit: Duration) -> Run {
    let give_up = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > give_up {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Run::from(child.wait_with_output().unwrap())
}

/// What a finished run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Checks the exit code, showing everything printed when it differs.
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code, expected,
            "exit code {} instead of {expected}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    pub fn stderr_has(&self, text: &str) -> &Run {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    pub fn stdout_has(&self, text: &str) -> &Run {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.stdout
        );
        self
    }
}
