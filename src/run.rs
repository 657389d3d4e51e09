//! The `reap` command, from checked settings to an exit code: credentials, the lock,
//! the engine, and what gets printed.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressStyle};

use crate::actions::GitHub;
use crate::cli::{Format, LockMode};
use crate::config::Settings;
use crate::credentials::{self, Credentials};
use crate::heroku::Client;
use crate::lock::{self, Acquired};
use crate::reap::{self, Events};
use crate::report::{self, AppEntry, Outcome, Report, Status};

/// Exit code for bad usage or configuration: nothing was sent.
pub const USAGE: u8 = 2;

pub fn reap_command(settings: Settings) -> ExitCode {
    let environment_key = std::env::var("HEROKU_API_KEY").ok();
    let netrc = credentials::default_netrc_path(home_dir());
    let credentials = match credentials::resolve(environment_key, &netrc) {
        Ok(credentials) => credentials,
        Err(error) => return fail(&error.to_string(), USAGE),
    };
    let github = GitHub::from_env(settings.format);
    if let Some(github) = &github {
        // Before anything else is printed: the runner hides the key from here on.
        github.command(&crate::actions::mask(&credentials.key));
    }
    let _lock = match settings.lock {
        LockMode::Off => None,
        mode => {
            let waiting = |holder: Option<u32>| {
                eprintln!(
                    "waiting for another reaper on this machine{} (lock `{}`)",
                    holder
                        .map(|pid| format!(" (pid {pid})"))
                        .unwrap_or_default(),
                    settings.lock_file.display()
                );
            };
            match lock::acquire(&settings.lock_file, mode == LockMode::Wait, waiting) {
                Ok(Acquired::Held(lock)) => Some(lock),
                Ok(Acquired::Busy { holder }) => {
                    let who = holder
                        .map(|pid| format!(" (pid {pid})"))
                        .unwrap_or_default();
                    eprintln!(
                        "another reaper on this machine{who} holds `{}`; `--lock skip`: nothing to do",
                        settings.lock_file.display()
                    );
                    if settings.format == Format::Json {
                        let mut report = skipped_report(&settings);
                        report.message = Some(format!(
                            "another reaper on this machine{who} holds the lock"
                        ));
                        println!("{}", report::json(&report));
                    }
                    return ExitCode::SUCCESS;
                }
                Err(error) => {
                    return fail(
                        &format!(
                            "cannot take the lock `{}`: {error}; choose another path with `--lock-file`, or `--lock off`",
                            settings.lock_file.display()
                        ),
                        USAGE,
                    );
                }
            }
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the async runtime: {error}"), 1),
    };
    let report = runtime.block_on(run_engine(&settings, &credentials, github.as_ref()));
    let report = match report {
        Ok(report) => report,
        Err(error) => return fail(&format!("{error:#}"), USAGE),
    };
    finish(&settings, &credentials, report, github.as_ref())
}

async fn run_engine(
    settings: &Settings,
    credentials: &Credentials,
    github: Option<&GitHub>,
) -> anyhow::Result<Report> {
    let client = Arc::new(Client::new(settings.client.clone(), &credentials.key)?);
    let events = Printer::new(settings.format);
    let report = match github {
        Some(github) => {
            let grouped = github.group(&events);
            let report = reap::reap(client, &settings.engine, &grouped).await;
            grouped.close();
            report
        }
        None => reap::reap(client, &settings.engine, &events).await,
    };
    events.done();
    Ok(report)
}

fn finish(
    settings: &Settings,
    credentials: &Credentials,
    mut report: Report,
    github: Option<&GitHub>,
) -> ExitCode {
    if report.status == Status::Unauthorized {
        report.message = Some(format!(
            "{}; the key came from {}. Check it (`heroku auth:token` prints a valid one), or set `HEROKU_API_KEY`",
            report.message.take().unwrap_or_default(),
            credentials.source
        ));
    }
    // In GitHub mode the report is always written: the `report` output points at it.
    let mut report_path = settings
        .report
        .clone()
        .or_else(|| github.map(GitHub::default_report_path));
    if let Some(path) = &report_path
        && let Err(error) = write_report(path, &report)
    {
        eprintln!(
            "error: cannot write the report to `{}`: {error}",
            path.display()
        );
        report_path = None;
    }
    let mut stdout = std::io::stdout().lock();
    let printed = match settings.format {
        Format::Json => writeln!(stdout, "{}", report::json(&report)),
        Format::Human if report.status == Status::DryRun => {
            write!(
                stdout,
                "{}\n{}",
                report::plan_table(&report),
                report::summary(&report)
            )
        }
        Format::Human => write!(stdout, "{}", report::summary(&report)),
    };
    drop(printed);
    if let Some(github) = github {
        github.finish(&report, report_path.as_deref());
    }
    let code = report.status.exit_code();
    if code != 0
        && let Some(message) = &report.message
    {
        eprintln!("error: {message}");
    }
    ExitCode::from(code)
}

fn write_report(path: &PathBuf, report: &Report) -> std::io::Result<()> {
    std::fs::write(path, report::json(report) + "\n")
}

fn skipped_report(settings: &Settings) -> Report {
    let mut report = Report::new(
        settings.engine.policy.matcher.describe(),
        String::new(),
        None,
        settings.engine.dry_run,
    );
    report.status = Status::LockBusy;
    report
}

fn fail(message: &str, code: u8) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

pub fn home_dir() -> Option<PathBuf> {
    let variable = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    std::env::var_os(variable)
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
}

/// Human output as it happens: a line per app acted on, a progress bar on a terminal.
struct Printer {
    format: Format,
    color: bool,
    progress: Mutex<Option<ProgressBar>>,
}

impl Printer {
    fn new(format: Format) -> Printer {
        let color = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer {
            format,
            color,
            progress: Mutex::new(None),
        }
    }

    fn done(&self) {
        if let Some(bar) = self.progress.lock().expect("not poisoned").take() {
            bar.finish_and_clear();
        }
    }

    fn paint(&self, text: String, outcome: Option<Outcome>) -> String {
        let code = match outcome {
            _ if !self.color => return text,
            Some(Outcome::Deleted | Outcome::DeletedResponseLost) => "32",
            Some(Outcome::Conflict) => "33",
            Some(Outcome::Failed | Outcome::Unknown) => "31",
            _ => return text,
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

impl Events for Printer {
    fn planned(&self, deletes: usize) {
        // Only worth a bar when it will take a while and someone is watching.
        if self.format == Format::Human && deletes >= 20 && std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(deletes as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} apps  {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            *self.progress.lock().expect("not poisoned") = Some(bar);
        }
    }

    fn outcome(&self, entry: &AppEntry) {
        if self.format != Format::Human {
            return;
        }
        let line = self.paint(report::app_line(entry), entry.outcome);
        match &*self.progress.lock().expect("not poisoned") {
            Some(bar) => {
                bar.inc(1);
                bar.println(line);
            }
            None => println!("{line}"),
        }
    }

    fn note(&self, text: &str) {
        match &*self.progress.lock().expect("not poisoned") {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
}
