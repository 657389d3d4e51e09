//! The `reap` command, from checked settings to an exit code: credentials, the lock,
//! the engine, and what gets printed.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Settings;
use crate::credentials::{self, ApiKey, Credentials};
use crate::duration;
use crate::exit::{self, Ending};
use crate::github;
use crate::heroku::Client;
use crate::lock::{self, Acquired, LockMode};
use crate::reap::cancel::{Cancel, Interrupt};
use crate::reap::plan::Scope;
use crate::reap::record::{AppEntry, GithubReport, Outcome, PipelineEntry, Report, Status};
use crate::reap::{self, Events};
use crate::report::actions::{self, GitHub};
use crate::report::{self, Format, human};
use crate::signals;

pub fn reap_command(settings: Settings) -> ExitCode {
    let environment_key = std::env::var("HEROKU_API_KEY").ok();
    let netrc = credentials::default_netrc_path(home_dir());
    let credentials = match credentials::resolve(environment_key, &netrc) {
        Ok(credentials) => credentials,
        Err(error) => return fail(&error.to_string(), Ending::Usage),
    };
    // In GitHub Actions, the runner's workflow commands.
    let runner = GitHub::from_env(settings.format);
    if let Some(runner) = &runner {
        // Before anything else is printed: the runner hides the key from here on.
        runner.command(&actions::mask(&credentials.key));
    }
    let _lock = match settings.lock {
        LockMode::Off => None,
        mode => {
            let path = settings.lock_file.display();
            let waiting = |holder: Option<u32>| {
                eprintln!(
                    "waiting for another reaper on this machine{} (lock `{path}`), for up to {}",
                    holder_words(holder),
                    duration::format(settings.lock_timeout)
                );
            };
            let wait = (mode == LockMode::Wait).then_some(settings.lock_timeout);
            match lock::acquire(&settings.lock_file, wait, waiting) {
                Ok(Acquired::Held(lock)) => Some(lock),
                Ok(Acquired::Busy { holder }) => {
                    let who = holder_words(holder);
                    eprintln!(
                        "another reaper on this machine{who} holds `{path}`; `--lock skip`: nothing to do"
                    );
                    let message = format!("another reaper on this machine{who} holds the lock");
                    return without_lock(&settings, Status::LockBusy, message);
                }
                Ok(Acquired::TimedOut { holder }) => {
                    let message = format!(
                        "another reaper on this machine{} held the lock `{path}` for all of `--lock-timeout {}`; nothing was sent. Find out why it takes so long, or wait longer with `--lock-timeout`",
                        holder_words(holder),
                        duration::format(settings.lock_timeout)
                    );
                    eprintln!("error: {message}");
                    return without_lock(&settings, Status::LockTimeout, message);
                }
                Err(error) => {
                    return fail(
                        &format!(
                            "cannot take the lock `{path}`: {error}; choose another path with `--lock-file`, or `--lock off`"
                        ),
                        Ending::Usage,
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
        Err(error) => {
            return fail(
                &format!("cannot start the async runtime: {error}"),
                Ending::Broken,
            );
        }
    };
    let report = runtime.block_on(run_engine(&settings, &credentials, runner.as_ref()));
    let report = match report {
        Ok(report) => report,
        Err(error) => return fail(&format!("{error:#}"), Ending::Usage),
    };
    finish(&settings, &credentials, report, runner.as_ref())
}

async fn run_engine(
    settings: &Settings,
    credentials: &Credentials,
    runner: Option<&GitHub>,
) -> anyhow::Result<Report> {
    let events = Printer::new(settings.format);
    let cancel = Cancel::default();
    // Whatever path the engine takes after an interrupt, the client sends nothing new.
    let client = Client::new(settings.client.clone(), &credentials.key)?.stop_when({
        let cancel = cancel.clone();
        move || cancel.interrupted().is_some()
    });
    let client = Arc::new(client);
    signals::watch(cancel.clone(), settings.grace)
        .map_err(|error| anyhow::anyhow!("cannot watch for SIGINT and SIGTERM: {error}"))?;
    let mut engine = settings.engine.clone();
    let github = match &settings.github {
        Some(github) => Some(live_runs(github, &mut engine, &events, &cancel).await),
        None => None,
    };
    if let Some(signal) = cancel.interrupted() {
        // Stopped while reading GitHub: nothing was sent to Heroku, and nothing will be.
        return Ok(interrupted_before_heroku(settings, signal));
    }
    let mut report = match runner {
        Some(runner) => {
            let grouped = runner.group(&events);
            let report = reap::reap_until(client, &engine, &grouped, cancel, settings.grace).await;
            grouped.close();
            report
        }
        None => reap::reap_until(client, &engine, &events, cancel, settings.grace).await,
    };
    events.done();
    report.github = github.map(|mut github| {
        github.orphaned = report
            .apps
            .iter()
            .filter(|app| app.verdict == reap::plan::Verdict::Delete)
            .filter(|app| app.reason.starts_with(reap::plan::ORPHANED))
            .count();
        github
    });
    Ok(report)
}

/// `--github-live-runs`: the cutoff goes into the policy; when GitHub cannot be read,
/// one warning, and the TTL rule alone. An interrupt ends the reading at once.
async fn live_runs(
    settings: &github::Settings,
    engine: &mut reap::Options,
    events: &dyn reap::Events,
    cancel: &Cancel,
) -> GithubReport {
    let token = std::env::var("GITHUB_TOKEN")
        .ok()
        .filter(|token| !token.trim().is_empty())
        .map(|token| ApiKey::new(token.trim()));
    let mut report = GithubReport {
        repos: settings.repos.clone(),
        ..GithubReport::default()
    };
    let checked = tokio::select! {
        checked = github::check(settings, token.as_ref()) => checked,
        // The caller sees the interrupt and reports it.
        _ = cancel.wait() => return report,
    };
    match checked {
        Ok(cutoff) => {
            report.cutoff = Some(cutoff.at);
            report.live_runs = cutoff.live_runs;
            report.earliest = cutoff.earliest_run();
            engine.policy.cutoff = Some(cutoff);
        }
        Err(error) => {
            events.note(&format!(
                "warning: cannot read GitHub's live workflow runs, so only the TTL decides: {error}"
            ));
            report.warning = Some(error.to_string());
        }
    }
    report
}

fn finish(
    settings: &Settings,
    credentials: &Credentials,
    mut report: Report,
    runner: Option<&GitHub>,
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
        .or_else(|| runner.map(GitHub::default_report_path));
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
                human::plan_table(&report),
                human::summary(&report)
            )
        }
        Format::Human => write!(stdout, "{}", human::summary(&report)),
    };
    drop(printed);
    if let Some(runner) = runner {
        runner.finish(&report, report_path.as_deref());
    }
    let code = exit::code(Ending::Run(&report));
    if code != exit::SUCCESS
        && let Some(message) = &report.message
    {
        eprintln!("error: {message}");
    }
    ExitCode::from(code)
}

/// Writes a new file beside `path` and renames it over `path`: a symlink planted there is
/// replaced, never followed, and a reader never sees half a report.
fn write_report(path: &Path, report: &Report) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "it names no file"))?;
    let mut temporary = name.to_os_string();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary);
    // `create_new` (O_EXCL) follows no symlink either.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)?;
    let written = file
        .write_all((report::json(report) + "\n").as_bytes())
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        // Ours: `create_new` made it.
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// The lock was not taken, so nothing was sent: the JSON report if asked, and the code.
fn without_lock(settings: &Settings, status: Status, message: String) -> ExitCode {
    let mut report = Report::new(
        settings.engine.policy.matcher.describe(),
        String::new(),
        None,
        settings.engine.dry_run,
    );
    report.status = status;
    report.message = Some(message);
    if settings.format == Format::Json {
        println!("{}", report::json(&report));
    }
    ExitCode::from(exit::code(Ending::Run(&report)))
}

/// ` (pid N)`, when the holder wrote it.
fn holder_words(holder: Option<u32>) -> String {
    holder
        .map(|pid| format!(" (pid {pid})"))
        .unwrap_or_default()
}

/// The report of a run interrupted while reading GitHub, before the engine started.
fn interrupted_before_heroku(settings: &Settings, signal: Interrupt) -> Report {
    let scope = match &settings.engine.policy.scope {
        Scope::Account => "the account's own apps".to_string(),
        Scope::Team(team) => format!("team `{team}`"),
    };
    let mut report = Report::new(
        settings.engine.policy.matcher.describe(),
        scope,
        None,
        settings.engine.dry_run,
    );
    report.status = Status::Interrupted;
    report.signal = Some(signal);
    report.message = Some(format!(
        "interrupted by {} while reading GitHub's live workflow runs; nothing was sent to Heroku",
        signal.name()
    ));
    report
}

fn fail(message: &str, ending: Ending) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(exit::code(ending))
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
        let line = self.paint(human::app_line(entry), entry.outcome);
        match &*self.progress.lock().expect("not poisoned") {
            Some(bar) => {
                bar.inc(1);
                bar.println(line);
            }
            None => println!("{line}"),
        }
    }

    fn pipeline_outcome(&self, entry: &PipelineEntry) {
        if self.format != Format::Human {
            return;
        }
        println!("{}", self.paint(human::pipeline_line(entry), entry.outcome));
    }

    fn note(&self, text: &str) {
        match &*self.progress.lock().expect("not poisoned") {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
}
