//! The `reap` command, from checked settings to an exit code: credentials, the lock,
//! the engine, and what gets printed.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Settings;
use crate::console::{self, Stream};
use crate::credentials::{self, ApiKey, Credentials, Source};
use crate::duration;
use crate::exit::{self, Ending};
use crate::github;
use crate::heroku::Client;
use crate::lock::{self, Acquired, LockMode};
use crate::reap::cancel::{Cancel, Interrupt};
use crate::reap::facts::Note;
use crate::reap::plan::Scope;
use crate::reap::record::{
    AppEntry, GithubReport, Message, Outcome, PipelineEntry, Report, Status,
};
use crate::reap::{self, Events};
use crate::report::actions::{self, GitHub};
use crate::report::{self, Format, human, words};
use crate::report_file::{self, Target};
use crate::room::{Gate, RoomReport};
use crate::signals;

pub fn reap_command(settings: Settings) -> ExitCode {
    // `--deadline` counts from here: the wait for the lock is part of the run.
    let started = Instant::now();
    let (credentials, github_token) = match secrets(&settings) {
        Ok(secrets) => secrets,
        Err(code) => return code,
    };
    // In GitHub Actions, the runner's workflow commands.
    let runner = GitHub::from_env(json_on_stdout(&settings));
    if let Some(runner) = &runner {
        // Before anything else is printed: the runner hides the key from here on.
        runner.command(&actions::mask(&credentials.key));
    }
    let _lock = match take_lock(&settings) {
        Ok(lock) => lock,
        Err(code) => return code,
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
    let engine = Engine {
        settings: &settings,
        credentials: &credentials,
        github_token: github_token.as_ref(),
        runner: runner.as_ref(),
        deadline: started + settings.deadline,
    };
    let (report, room) = match runtime.block_on(engine.run()) {
        Ok(ran) => ran,
        Err(error) => return fail(&format!("{error:#}"), Ending::Usage),
    };
    finish(&settings, &credentials, report, room, runner.as_ref())
}

/// What is checked before anything is sent: the `--report` path, the key and, when GitHub
/// is to be read (`--github-live-runs`, `--reserve-apps`), the GitHub token (a token that
/// is not text stops the run here).
fn secrets(settings: &Settings) -> Result<(Credentials, Option<ApiKey>), ExitCode> {
    if let Some(Target::File(path)) = &settings.report
        && let Err(why) = report_file::check(path)
    {
        let message = format!("`--report {}` {why}", path.display());
        return Err(fail(&message, Ending::Usage));
    }
    let credentials = credentials().map_err(|error| fail(&error.to_string(), Ending::Usage))?;
    let reads_github = settings.github.is_some()
        || (settings.room.as_ref()).is_some_and(|room| room.github.is_some());
    let github_token = match reads_github {
        true => credentials::environment("GITHUB_TOKEN")
            .map_err(|error| fail(&error.to_string(), Ending::Usage))?
            .filter(|token| !token.trim().is_empty())
            .map(|token| ApiKey::new(token.trim())),
        false => None,
    };
    Ok((credentials, github_token))
}

/// The machine's lock, as `--lock` says; when it is not taken, the run ends here.
fn take_lock(settings: &Settings) -> Result<Option<lock::Lock>, ExitCode> {
    let mode = settings.lock;
    if mode == LockMode::Off {
        return Ok(None);
    }
    let path = settings.lock_file.display();
    let waiting = |holder: Option<u32>| {
        console::err(&format!(
            "waiting for another reaper on this machine{} (lock `{path}`), for up to {}",
            holder_words(holder),
            duration::format(settings.lock_timeout)
        ));
    };
    let wait = (mode == LockMode::Wait).then_some(settings.lock_timeout);
    match lock::acquire(&settings.lock_file, wait, waiting) {
        Ok(Acquired::Held(lock)) => Ok(Some(lock)),
        Ok(Acquired::Busy { holder }) => {
            let who = holder_words(holder);
            console::err(&format!(
                "another reaper on this machine{who} holds `{path}`; `--lock skip`: nothing to do"
            ));
            let message = format!("another reaper on this machine{who} holds the lock");
            Err(without_lock(settings, Status::LockBusy, message))
        }
        Ok(Acquired::TimedOut { holder }) => {
            let message = format!(
                "another reaper on this machine{} held the lock `{path}` for all of `--lock-timeout {}`; nothing was sent. Find out why it takes so long, or wait longer with `--lock-timeout`",
                holder_words(holder),
                duration::format(settings.lock_timeout)
            );
            console::err(&format!("error: {message}"));
            Err(without_lock(settings, Status::LockTimeout, message))
        }
        Err(error) => Err(fail(
            &format!(
                "cannot take the lock `{path}`: {error}; choose another path with `--lock-file`, or `--lock off`"
            ),
            Ending::Usage,
        )),
    }
}

/// The key, and a warning when the netrc file that gave it is open to other users.
fn credentials() -> Result<Credentials, credentials::CredentialsError> {
    let environment_key = credentials::environment("HEROKU_API_KEY")?;
    let netrc = credentials::default_netrc_path(home_dir());
    let credentials = credentials::resolve(environment_key, &netrc)?;
    if let Source::Netrc(path) = &credentials.source
        && let Some(warning) = credentials::exposure_warning(path)
    {
        console::err(&warning);
    }
    Ok(credentials)
}

/// Whether stdout carries the JSON report (`--format json` or `--report -`): then the
/// human lines and the runner's commands go to stderr.
fn json_on_stdout(settings: &Settings) -> bool {
    settings.format == Format::Json || settings.report == Some(Target::Stdout)
}

/// Where the human output goes: stdout, unless `--report -` put the JSON report there.
fn human_stream(settings: &Settings) -> Stream {
    match settings.report {
        Some(Target::Stdout) => Stream::Stderr,
        _ => Stream::Stdout,
    }
}

/// What one run of the engine needs beside the settings.
struct Engine<'a> {
    settings: &'a Settings,
    credentials: &'a Credentials,
    github_token: Option<&'a ApiKey>,
    runner: Option<&'a GitHub>,
    /// When `--deadline` passes.
    deadline: Instant,
}

impl Engine<'_> {
    async fn run(self) -> anyhow::Result<(Report, Option<RoomReport>)> {
        let settings = self.settings;
        let events = Printer::new(settings.format, human_stream(settings));
        let cancel = Cancel::default();
        // Whatever path the engine takes after an interrupt, the client sends nothing new.
        let client = Client::new(settings.client.clone(), &self.credentials.key)?.stop_when({
            let cancel = cancel.clone();
            move || cancel.interrupted().is_some()
        });
        let client = Arc::new(client);
        signals::watch(cancel.clone(), settings.grace)
            .map_err(|error| anyhow::anyhow!("cannot watch for signals: {error}"))?;
        let _deadline = signals::deadline(
            cancel.clone(),
            self.deadline,
            settings.deadline,
            settings.grace,
        );
        let mut engine = settings.engine.clone();
        let github = match &settings.github {
            Some(github) => {
                Some(live_runs(github, self.github_token, &mut engine, &events, &cancel).await)
            }
            None => None,
        };
        if let Some(signal) = cancel.interrupted() {
            // Stopped while reading GitHub: nothing was sent to Heroku, and nothing will be.
            return Ok((interrupted_before_heroku(settings, signal), None));
        }
        let reaping = Arc::clone(&client);
        let mut report = match self.runner {
            Some(runner) => {
                let grouped = runner.group(&events);
                let report =
                    reap::reap_until(reaping, &engine, &grouped, cancel.clone(), settings.grace)
                        .await;
                grouped.close();
                report
            }
            None => {
                reap::reap_until(reaping, &engine, &events, cancel.clone(), settings.grace).await
            }
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
        let room = self
            .room(client, &engine, &events, cancel, &mut report)
            .await;
        Ok((report, room))
    }

    /// `--reserve-apps`: the wait for room, after a reaping that ended well.
    async fn room(
        &self,
        client: Arc<Client>,
        engine: &reap::Options,
        events: &Printer,
        cancel: Cancel,
        report: &mut Report,
    ) -> Option<RoomReport> {
        let settings = self.settings.room.as_ref()?;
        let why = match report.status {
            Status::DryRun => "a dry run: the room was not counted, and no run is admitted",
            Status::Done | Status::UnderLimit => {
                let gate = Gate {
                    settings,
                    client,
                    token: self.github_token,
                    engine,
                    events,
                    cancel,
                    grace: self.settings.grace,
                };
                return Some(gate.admit(report).await);
            }
            _ => "the reaping did not end well, so the room was not counted",
        };
        Some(RoomReport::not_checked(settings, why.to_string()))
    }
}

/// `--github-live-runs`: the cutoff goes into the policy; when GitHub cannot be read,
/// one warning, and the TTL rule alone. An interrupt ends the reading at once.
async fn live_runs(
    settings: &github::Settings,
    token: Option<&ApiKey>,
    engine: &mut reap::Options,
    events: &dyn reap::Events,
    cancel: &Cancel,
) -> GithubReport {
    let mut report = GithubReport {
        repos: settings.repos.clone(),
        ..GithubReport::default()
    };
    let checked = tokio::select! {
        checked = github::check(settings, token) => checked,
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
    room: Option<RoomReport>,
    runner: Option<&GitHub>,
) -> ExitCode {
    if report.status == Status::Unauthorized {
        let rejected = report.message.take().map(|m| words::message(&m));
        report.message = Some(Message::Text(format!(
            "{}; the key came from {}. Check it (`heroku auth:token` prints a valid one), or set `HEROKU_API_KEY`",
            rejected.unwrap_or_default(),
            credentials.source
        )));
    }
    // In GitHub mode the report is always written: the `report` output points at it.
    let target = settings
        .report
        .clone()
        .or_else(|| runner.map(|runner| Target::File(runner.default_report_path())));
    let room = room.as_ref();
    let written = deliver(target.as_ref(), &report, room);
    let mut printed = match settings.format {
        Format::Json => report::document(&report, room),
        Format::Human if report.status == Status::DryRun => format!(
            "{}\n{}",
            human::plan_table(&report),
            human::summary(&report)
        ),
        Format::Human => human::summary(&report),
    };
    if let (Format::Human, Some(room)) = (settings.format, room) {
        printed.push_str(&human::room_line(room));
    }
    console::line(human_stream(settings), printed.trim_end());
    if let Some(runner) = runner {
        let path = match (&target, written) {
            (Some(Target::File(path)), true) => Some(path.as_path()),
            _ => None,
        };
        runner.finish(&report, room, path);
    }
    let code = exit::code(ending(&report, written));
    if code != exit::SUCCESS
        && let Some(message) = &report.message
    {
        console::err(&format!("error: {}", words::message(message)));
    }
    ExitCode::from(code)
}

/// Writes the JSON report to `target`, if any; says whether it is there. A report that
/// cannot be written is said on stderr, and fails the run (see [`ending`]).
fn deliver(target: Option<&Target>, report: &Report, room: Option<&RoomReport>) -> bool {
    let Some(target) = target else {
        return true;
    };
    match report_file::write(target, &report::document(report, room)) {
        Ok(()) => true,
        Err(error) => {
            let place = match target {
                Target::Stdout => "stdout".to_string(),
                Target::File(path) => format!("`{}`", path.display()),
            };
            console::err(&format!(
                "error: cannot write the report to {place}: {error}"
            ));
            false
        }
    }
}

fn ending(report: &Report, written: bool) -> Ending<'_> {
    match written {
        true => Ending::Run(report),
        false => Ending::Unreported(report),
    }
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
    report.message = Some(Message::Text(message));
    let written = deliver(settings.report.as_ref(), &report, None);
    if settings.format == Format::Json {
        console::out(&report::json(&report));
    }
    ExitCode::from(exit::code(ending(&report, written)))
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
    report.status = match signal {
        Interrupt::Deadline => Status::DeadlineReached,
        _ => Status::Interrupted,
    };
    report.signal = Some(signal).filter(|signal| signal.is_signal());
    report.message = Some(Message::Text(format!(
        "{} while reading GitHub's live workflow runs; nothing was sent to Heroku",
        signal.stopped()
    )));
    report
}

fn fail(message: &str, ending: Ending) -> ExitCode {
    console::err(&format!("error: {message}"));
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
    /// Where the lines per app go: stdout, unless it carries the JSON report.
    stream: Stream,
    color: bool,
    progress: Mutex<Option<ProgressBar>>,
}

impl Printer {
    fn new(format: Format, stream: Stream) -> Printer {
        let terminal = match stream {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        };
        let color = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer {
            format,
            stream,
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
            None => console::line(self.stream, &line),
        }
    }

    fn pipeline_outcome(&self, entry: &PipelineEntry) {
        if self.format != Format::Human {
            return;
        }
        let line = self.paint(human::pipeline_line(entry), entry.outcome);
        console::line(self.stream, &line);
    }

    fn note(&self, text: &str) {
        match &*self.progress.lock().expect("not poisoned") {
            Some(bar) => bar.println(text),
            None => console::err(text),
        }
    }

    fn noted(&self, note: &Note) {
        self.note(&words::note(note));
    }
}
