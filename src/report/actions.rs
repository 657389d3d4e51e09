//! The GitHub Actions runner's side of a run, on when `GITHUB_ACTIONS=true`: mask the
//! key, fold the per-app lines into a group, annotate conflicts and failures, and write
//! the step's outputs and job summary. The formatters are pure; `GitHub` does the I/O.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::console::{self, Stream};
use crate::credentials::ApiKey;
use crate::duration;
use crate::exit::{self, Ending};
use crate::github::cutoff::clock;
use crate::reap::Events;
use crate::reap::facts::Note;
use crate::reap::plan::Verdict;
use crate::reap::record::{AppEntry, Outcome, PipelineEntry, Report};
use crate::report::{human, words};
use crate::room::{self, Hold, RoomReport};

/// Rows per table in the job summary; the JSON report has every app.
const SUMMARY_ROWS: usize = 50;

/// Where the report goes in GitHub mode when `--report` is not given: this, then the
/// step's id (`GITHUB_ACTION`), so that two steps of one job keep two reports.
const REPORT_FILE: &str = "heroku-reaper-report";

/// The runner's files, read from its environment once.
#[derive(Debug)]
pub struct GitHub {
    /// Workflow commands go to stdout, beside the per-app lines, unless stdout is the
    /// JSON document: the runner reads commands from stderr too.
    to_stderr: bool,
    output: Option<PathBuf>,
    step_summary: Option<PathBuf>,
    runner_temp: PathBuf,
    step: Option<String>,
}

impl GitHub {
    /// `Some` on a GitHub Actions runner (`GITHUB_ACTIONS=true`), else `None`.
    /// `json_on_stdout`: stdout is the JSON report (`--format json`, `--report -`).
    pub fn from_env(json_on_stdout: bool) -> Option<GitHub> {
        let file = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        if std::env::var_os("GITHUB_ACTIONS").as_deref() != Some(OsStr::new("true")) {
            return None;
        }
        Some(GitHub {
            to_stderr: json_on_stdout,
            output: file("GITHUB_OUTPUT").map(PathBuf::from),
            step_summary: file("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            runner_temp: file("RUNNER_TEMP")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir),
            step: file("GITHUB_ACTION").map(|step| step.to_string_lossy().into_owned()),
        })
    }

    /// Prints one or more workflow-command lines.
    pub fn command(&self, lines: &str) {
        if lines.is_empty() {
            return;
        }
        let lines = lines.trim_end_matches('\n');
        let stream = match self.to_stderr {
            true => Stream::Stderr,
            false => Stream::Stdout,
        };
        console::line(stream, lines);
    }

    /// Where the JSON report goes when `--report` is not given.
    pub fn default_report_path(&self) -> PathBuf {
        self.runner_temp
            .join(report_file_name(self.step.as_deref()))
    }

    /// Folds the per-app lines `inner` prints into one collapsible group.
    pub fn group<'a>(&'a self, inner: &'a dyn Events) -> Grouped<'a> {
        Grouped {
            github: self,
            inner,
            open: AtomicBool::new(false),
        }
    }

    /// After the run: annotations, the step's outputs and the job summary.
    /// `report_path` is the JSON report, when it was written.
    pub fn finish(&self, report: &Report, room: Option<&RoomReport>, report_path: Option<&Path>) {
        let mut commands = annotations(report);
        let mut outputs = outputs(report, report_path);
        let mut summary = summary(report);
        if let Some(room) = room {
            commands.push_str(&room_annotations(room));
            outputs.push_str(&room_outputs(room));
            summary.push_str(&room_summary(room, Utc::now()));
        }
        self.command(&commands);
        for (variable, path, text) in [
            ("GITHUB_OUTPUT", &self.output, outputs),
            ("GITHUB_STEP_SUMMARY", &self.step_summary, summary),
        ] {
            let Some(path) = path else { continue };
            if let Err(error) = append(path, &text) {
                console::err(&format!(
                    "error: cannot write to `${variable}` (`{}`): {error}",
                    path.display()
                ));
            }
        }
    }
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}

/// The `Events` of a human run, inside `::group::`/`::endgroup::`.
pub struct Grouped<'a> {
    github: &'a GitHub,
    inner: &'a dyn Events,
    open: AtomicBool,
}

impl Grouped<'_> {
    /// Closes the group, if one was opened.
    pub fn close(&self) {
        if self.open.swap(false, Ordering::SeqCst) {
            self.github.command("::endgroup::");
        }
    }
}

impl Events for Grouped<'_> {
    fn planned(&self, deletes: usize) {
        // With `--format json` no per-app line is printed: nothing to fold.
        if deletes > 0 && !self.github.to_stderr && !self.open.swap(true, Ordering::SeqCst) {
            self.github.command(&format!(
                "::group::heroku-reaper: deleting {deletes} stale app{}",
                plural(deletes)
            ));
        }
        self.inner.planned(deletes);
    }

    fn outcome(&self, entry: &AppEntry) {
        self.inner.outcome(entry);
    }

    fn pipeline_outcome(&self, entry: &PipelineEntry) {
        self.inner.pipeline_outcome(entry);
    }

    fn note(&self, text: &str) {
        self.inner.note(text);
    }

    fn noted(&self, note: &Note) {
        self.inner.noted(note);
    }
}

/// `::add-mask::` for the key: the runner hides it in the log from then on.
pub fn mask(key: &ApiKey) -> String {
    format!("::add-mask::{}", escape_data(key.expose()))
}

/// One `::warning::` per conflict, one `::error::` per failed delete, and one for the
/// run itself when it did not end well.
pub fn annotations(report: &Report) -> String {
    let mut out = String::new();
    for entry in &report.apps {
        let (level, title, text) = match entry.outcome {
            Some(Outcome::Conflict) => (
                "warning",
                "heroku-reaper: conflict",
                format!(
                    "`{}` was already deleted by another reaper ({}); each conflict costs API budget: run one cleanup in a `concurrency` group, or split the work with `shard`",
                    entry.name,
                    answer(entry)
                ),
            ),
            Some(Outcome::Failed | Outcome::Unknown) => (
                "error",
                "heroku-reaper: delete failed",
                format!(
                    "`{}` is still there: {}",
                    entry.name,
                    entry
                        .error
                        .as_deref()
                        .unwrap_or(entry.outcome.map_or("", Outcome::label))
                ),
            ),
            _ => continue,
        };
        annotate(&mut out, level, title, &text);
    }
    if let Some(note) = report.clock.as_ref().and_then(|clock| clock.note.as_ref()) {
        annotate(&mut out, "warning", "heroku-reaper: clock", note);
    }
    // Exit 3 (stopped at the rate-limit reserve) is a warning: the tests still run.
    let level = match exit::code(Ending::Run(report)) {
        0 => None,
        3 => Some("warning"),
        _ => Some("error"),
    };
    if let (Some(level), Some(message)) = (level, &report.message) {
        annotate(&mut out, level, "heroku-reaper", &words::message(message));
    }
    out
}

/// What the API said to a conflicting DELETE.
fn answer(entry: &AppEntry) -> String {
    let mut text = match entry.http_status {
        Some(status) => format!("DELETE answered {status}"),
        None => "it was gone from a listing".to_string(),
    };
    if let Some(id) = &entry.request_id {
        text.push_str(&format!(", Request-Id {id}"));
    }
    text
}

fn annotate(out: &mut String, level: &str, title: &str, text: &str) {
    let _ = writeln!(
        out,
        "::{level} title={}::{}",
        escape_property(title),
        escape_data(text)
    );
}

/// `deleted=`, `conflicts=`, `remaining=` and `report=` for `$GITHUB_OUTPUT`.
pub fn outputs(report: &Report, report_path: Option<&Path>) -> String {
    let counts = &report.counts;
    let path = report_path.map(|path| path.display().to_string());
    [
        ("deleted", counts.deleted.to_string()),
        ("conflicts", counts.conflicts.to_string()),
        ("remaining", counts.remaining.to_string()),
        ("report", path.unwrap_or_default()),
    ]
    .iter()
    .map(|(name, value)| output(name, value))
    .collect()
}

/// `admitted=` and `waited-seconds=`, with `--reserve-apps`.
pub fn room_outputs(room: &RoomReport) -> String {
    output("admitted", &room.admitted.to_string())
        + &output("waited-seconds", &format!("{:.0}", room.waited_seconds))
}

/// A `::warning::` when the tests proceed without room, and when GitHub's runs could not
/// be read (the plain wait); a run not admitted is the run's own `::error::`.
pub fn room_annotations(room: &RoomReport) -> String {
    let mut out = String::new();
    if room.outcome == room::Outcome::Proceeded {
        annotate(
            &mut out,
            "warning",
            "heroku-reaper: no room",
            &words::message(&room.reason),
        );
    }
    if let Some(warning) = &room.github_warning {
        annotate(&mut out, "warning", "heroku-reaper: room", warning);
    }
    out
}

/// The job summary's "Room for this run": how the wait ended, the count, who held room
/// (since when: the time of day when it is `now`'s day).
pub fn room_summary(room: &RoomReport, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "\n### Room for this run\n\n{} after {}, {} apps reserved: {}.\n",
        capitalize(room.outcome.label()),
        duration::format(Duration::from_secs_f64(room.waited_seconds)),
        room.reserve_apps,
        cell(&words::message(&room.reason))
    );
    if let Some(warning) = &room.github_warning {
        let _ = write!(out, "\n> {}\n", cell(warning));
    }
    if let Some(count) = &room.room {
        let _ = write!(
            out,
            "\nAt the last of {} looks: {}.\n",
            room.looks,
            count.words()
        );
    }
    if room.held_by.is_empty() {
        return out;
    }
    out.push_str("\n| held by | apps | since |\n| --- | ---: | --- |\n");
    for lease in &room.held_by {
        let how = match lease.hold {
            Hold::Admitted => "admitted",
            Hold::InLine => "in line since",
        };
        let _ = writeln!(
            out,
            "| {} run {} | {} | {how} {} |",
            cell(&lease.repo),
            lease.run_id,
            lease.apps,
            clock(lease.since, now)
        );
    }
    out
}

/// One output; a value with a line break takes the runner's `name<<DELIMITER` form.
fn output(name: &str, value: &str) -> String {
    if !value.contains(['\n', '\r']) {
        return format!("{name}={value}\n");
    }
    let mut delimiter = "HEROKU_REAPER_EOF".to_string();
    while value.contains(&delimiter) {
        delimiter.push('_');
    }
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// The job summary: the counts, the rate limit left, and a table per kind of app.
pub fn summary(report: &Report) -> String {
    let mut out = format!(
        "## heroku-reaper: {}\n\n{}, {}",
        human::status_words(report),
        capitalize(&report.rule),
        report.scope
    );
    if let Some(age) = &report.older_than {
        let _ = write!(out, ", older than {age}");
    }
    out.push_str(".\n\n");
    if let Some(message) = &report.message {
        let _ = write!(out, "> {}\n\n", cell(&words::message(message)));
    }
    out.push_str("| | apps |\n| --- | ---: |\n");
    for (name, n) in count_rows(report) {
        let _ = writeln!(out, "| {name} | {n} |");
    }
    let rate_limit = report
        .rate_limit_remaining
        .map_or_else(|| "unknown".to_string(), |left| left.to_string());
    let _ = writeln!(
        out,
        "\nRate limit left: {rate_limit} requests. This run sent {} requests in {:.1}s.",
        report.requests.requests, report.elapsed_seconds
    );
    if let Some(clock) = &report.clock {
        let _ = writeln!(out, "\nAges by the clock: {}.", clock.words());
    }
    for (title, pick, detail) in TABLES {
        table(&mut out, title, report, pick, detail);
    }
    out
}

/// The summary's counts, a row each: what the run did, then the apps it left alone, so
/// that the rows add up to `matched`.
fn count_rows(report: &Report) -> Vec<(&'static str, usize)> {
    let c = &report.counts;
    let mut rows = vec![("matched", c.matched), ("stale", c.stale)];
    if report.dry_run {
        rows.push(("would delete", c.stale));
    } else {
        rows.extend([
            ("deleted", c.deleted),
            ("conflicts", c.conflicts),
            ("failed", c.failed + c.unknown),
        ]);
        if c.not_attempted > 0 {
            rows.push(("not attempted", c.not_attempted));
        }
        let by_others = c.deleted_by_others + c.left_to_others;
        if by_others > 0 {
            rows.push(("by other reapers", by_others));
        }
    }
    rows.extend([("kept", c.kept), ("too young", c.too_young)]);
    // Matching apps out of scope, so that the rows add up to `matched`.
    for (name, n) in [
        ("team apps", c.team_apps),
        ("not owned", c.not_owned),
        ("other shards", c.other_shards),
    ] {
        if n > 0 {
            rows.push((name, n));
        }
    }
    rows.push(("remaining", c.remaining));
    rows
}

/// The summary's tables of apps: a title, which apps, and what more to show of each.
const TABLES: [(&str, Pick, Option<Detail>); 6] = [
    (
        "Would delete",
        |e| e.outcome == Some(Outcome::Planned),
        None,
    ),
    (
        "Deleted",
        |e| {
            matches!(
                e.outcome,
                Some(Outcome::Deleted | Outcome::DeletedResponseLost)
            )
        },
        None,
    ),
    (
        "Already deleted by another reaper",
        |e| e.outcome == Some(Outcome::Conflict),
        Some(("answer", answer)),
    ),
    (
        "Failed",
        |e| matches!(e.outcome, Some(Outcome::Failed | Outcome::Unknown)),
        Some(("error", failure)),
    ),
    (
        "Kept",
        |e| e.verdict == Verdict::Keep,
        Some(("why", reason)),
    ),
    ("Too young", |e| e.verdict == Verdict::TooYoung, None),
];

/// Which apps a summary table lists.
type Pick = fn(&AppEntry) -> bool;

/// A column beyond name and age: its header and its cells.
type Detail = (&'static str, fn(&AppEntry) -> String);

/// A `### Title (n)` table of the apps `pick` selects: name, age and maybe a detail.
fn table(out: &mut String, title: &str, report: &Report, pick: Pick, detail: Option<Detail>) {
    let apps: Vec<&AppEntry> = report.apps.iter().filter(|e| pick(e)).collect();
    if apps.is_empty() {
        return;
    }
    let _ = write!(out, "\n### {title} ({})\n\n", apps.len());
    match detail {
        Some((header, _)) => {
            let _ = write!(out, "| app | age | {header} |\n| --- | ---: | --- |\n");
        }
        None => out.push_str("| app | age |\n| --- | ---: |\n"),
    }
    for entry in apps.iter().take(SUMMARY_ROWS) {
        let _ = write!(out, "| {} | {} |", code(&entry.name), entry.age);
        if let Some((_, detail)) = detail {
            let _ = write!(out, " {} |", cell(&detail(entry)));
        }
        out.push('\n');
    }
    if apps.len() > SUMMARY_ROWS {
        let _ = writeln!(
            out,
            "\n… and {} more: every app is in the JSON report (the `report` output).",
            apps.len() - SUMMARY_ROWS
        );
    }
}

fn failure(entry: &AppEntry) -> String {
    entry
        .error
        .clone()
        .unwrap_or_else(|| entry.outcome.map_or("", Outcome::label).to_string())
}

fn reason(entry: &AppEntry) -> String {
    entry.reason.clone()
}

/// Text safe inside a Markdown table cell or on one line of the summary: a `|` ends no
/// cell, a line break ends no row, and HTML stays text.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// An app's name as code; one that no app could have (a backtick would end the code
/// span) as plain text, through `cell`.
fn code(name: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-._".contains(c);
    if !name.is_empty() && name.chars().all(plain) {
        format!("`{name}`")
    } else {
        cell(name)
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A workflow command's message: the runner turns these escapes back into characters.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value (`title=`): also `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `heroku-reaper-report-<step>.json`, the step's id kept to characters safe in a file
/// name, or `heroku-reaper-report.json` outside a step.
fn report_file_name(step: Option<&str>) -> String {
    match step {
        Some(step) => {
            let safe: String = step
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("{REPORT_FILE}-{safe}.json")
        }
        None => format!("{REPORT_FILE}.json"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reap::record::tests::{entry, sample};
    use crate::reap::record::{Message, Status};

    #[test]
    fn room_for_this_run() {
        let now = "2026-11-27T12:05:00Z".parse().unwrap();
        let mut room = crate::room::tests::sample();
        insta::assert_snapshot!(room_summary(&room, now));
        assert_eq!(room_outputs(&room), "admitted=true\nwaited-seconds=95\n");
        assert_eq!(room_annotations(&room), "");
        room.outcome = room::Outcome::Proceeded;
        room.admitted = false;
        room.reason =
            Message::Text("no room for this run after `--wait-for-room 10m`; proceeding".into());
        room.github_warning = Some("cannot read GitHub's runs: `GET /x` answered 403".into());
        insta::assert_snapshot!("room_for_this_run_proceeding", {
            format!(
                "{}\n{}\n{}",
                room_outputs(&room),
                room_annotations(&room),
                room_summary(&room, now)
            )
        });
    }

    #[test]
    fn each_step_has_a_report_file_of_its_own() {
        assert_eq!(report_file_name(None), "heroku-reaper-report.json");
        assert_eq!(
            report_file_name(Some("__run_2")),
            "heroku-reaper-report-__run_2.json"
        );
        assert_eq!(
            report_file_name(Some("reap/../x y")),
            "heroku-reaper-report-reap____x_y.json"
        );
    }

    /// The report's own sample, plus a failed delete and a stale app gone by another reaper.
    fn with_failure() -> Report {
        let mut report = sample(false);
        let mut failed = entry(
            "hatchet-t-feedc0ffee",
            52,
            Verdict::Delete,
            "older than 10m",
            Some(Outcome::Failed),
        );
        failed.http_status = Some(500);
        failed.request_id = Some("c3d2e1f0-0000-4000-8000-000000000002".into());
        failed.error = Some(
            "`DELETE /apps/hatchet-t-feedc0ffee` answered 500 `internal_server_error`: try again (Request-Id c3d2e1f0-0000-4000-8000-000000000002)".into(),
        );
        report.apps.push(failed);
        report.status = Status::Failed;
        report.message = Some(Message::Text(
            "1 stale app is left: its delete failed".into(),
        ));
        report.tally();
        report
    }

    #[test]
    fn job_summary() {
        insta::assert_snapshot!(summary(&with_failure()));
    }

    #[test]
    fn job_summary_of_a_dry_run() {
        insta::assert_snapshot!(summary(&sample(true)));
    }

    #[test]
    fn step_outputs() {
        let path = Path::new("/runner/temp/heroku-reaper-report.json");
        insta::assert_snapshot!(outputs(&with_failure(), Some(path)));
    }

    #[test]
    fn annotation_lines() {
        insta::assert_snapshot!(annotations(&with_failure()));
    }

    #[test]
    fn a_skewed_clock_is_a_warning() {
        let mut report = sample(false);
        report.clock = Some(crate::reap::clock::ClockReport {
            source: crate::reap::clock::Source::Local,
            skew_seconds: Some(-600),
            note: Some("the local clock is 10m behind Heroku's".into()),
        });
        assert!(annotations(&report).ends_with(
            "\n::warning title=heroku-reaper%3A clock::the local clock is 10m behind Heroku's\n"
        ));
        assert!(summary(&report).contains(
            "\nAges by the clock: the local one; the local clock is 10m behind Heroku's.\n"
        ));
    }

    #[test]
    fn a_clean_run_raises_no_annotation() {
        let mut report = sample(false);
        report.apps.retain(|e| e.outcome != Some(Outcome::Conflict));
        report.tally();
        assert_eq!(annotations(&report), "");
    }

    #[test]
    fn stopping_at_the_rate_limit_reserve_is_a_warning_not_an_error() {
        let mut report = sample(false);
        report.apps.retain(|e| e.outcome != Some(Outcome::Conflict));
        report.status = Status::ReserveReached;
        report.message = Some(Message::Text("the rate-limit pool is down to 480".into()));
        let lines = annotations(&report);
        assert!(lines.starts_with("::warning "), "{lines}");
        assert!(!lines.contains("::error"), "{lines}");
    }

    #[test]
    fn long_tables_are_cut_and_point_at_the_report() {
        let mut report = sample(false);
        for n in 0..SUMMARY_ROWS + 7 {
            report.apps.push(entry(
                &format!("hatchet-t-{n:010x}"),
                20,
                Verdict::Delete,
                "older than 10m",
                Some(Outcome::Deleted),
            ));
        }
        report.tally();
        let text = summary(&report);
        assert!(text.contains("### Deleted (58)"), "{text}");
        assert_eq!(text.matches("| `hatchet-t-").count(), SUMMARY_ROWS + 3);
        assert!(text.contains("… and 8 more"), "{text}");
    }

    #[test]
    fn commands_cannot_be_broken_or_injected_by_their_text() {
        assert_eq!(mask(&ApiKey::new("a%b\nc\rd")), "::add-mask::a%25b%0Ac%0Dd");
        let mut out = String::new();
        annotate(&mut out, "error", "a: b, c", "line\n::endgroup::");
        assert_eq!(out, "::error title=a%3A b%2C c::line%0A::endgroup::\n");
    }

    #[test]
    fn an_output_with_a_line_break_takes_the_delimiter_form() {
        assert_eq!(output("report", "/tmp/a b"), "report=/tmp/a b\n");
        assert_eq!(
            output("report", "x\nHEROKU_REAPER_EOF"),
            "report<<HEROKU_REAPER_EOF_\nx\nHEROKU_REAPER_EOF\nHEROKU_REAPER_EOF_\n"
        );
    }

    #[test]
    fn table_cells_keep_their_pipes_line_breaks_and_html_as_text() {
        assert_eq!(cell("a | b\nc\rd"), "a \\| b c d");
        assert_eq!(
            cell("<img src=x onerror=alert(1)> & <script>"),
            "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;script&gt;"
        );
        assert_eq!(code("hatchet-t-0a1b"), "`hatchet-t-0a1b`");
        assert_eq!(code("x` | <b>"), "x` \\| &lt;b&gt;");
    }

    #[test]
    fn server_text_in_the_summary_stays_in_its_cell() {
        let mut report = with_failure();
        let failed = report.apps.last_mut().unwrap();
        failed.name = "hatchet-t-x`|<b>\n## owned".into();
        failed.error = Some("boom\n| injected | row |\n<script>alert(1)</script>".into());
        report.message = Some(Message::Text("stopped\n\n# heading <i>".into()));
        let text = summary(&report);
        let row = text
            .lines()
            .find(|line| line.contains("boom"))
            .expect("the failed row");
        assert_eq!(
            row,
            "| hatchet-t-x`\\|&lt;b&gt; ## owned | 52m | boom \\| injected \\| row \\| &lt;script&gt;alert(1)&lt;/script&gt; |"
        );
        assert!(text.contains("> stopped  # heading &lt;i&gt;\n"), "{text}");
        assert!(
            !text.contains("<script>") && !text.contains("\n## owned"),
            "{text}"
        );
    }
}
