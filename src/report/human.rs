//! The human format: a line per app acted on, the plan of a dry run, the summary. Text
//! from the API (names, errors, team names in reasons) is made printable, so that on a
//! runner no line of it can start a workflow command.

use std::time::Duration;

use crate::duration;
use crate::reap::record::{
    AppEntry, Entry, GithubReport, Outcome, PipelineCounts, PipelineEntry, Report, Status,
};
use crate::report::words;
use crate::room::{self, RoomReport};
use crate::text::printable;

/// One line for an app acted on, as it happens.
pub fn app_line(entry: &AppEntry) -> String {
    acted_line(entry, "")
}

/// One line for a pipeline acted on, as it happens.
pub fn pipeline_line(entry: &PipelineEntry) -> String {
    acted_line(entry, "  pipeline")
}

fn acted_line<V>(entry: &Entry<V>, kind: &str) -> String {
    let outcome = entry.outcome.map_or("", Outcome::label);
    let name = printable(&entry.name);
    let mut line = format!("{outcome:<34} {name:<30} {:>7}{kind}", entry.age);
    if let Some(error) = &entry.error {
        line.push_str(&format!("  {}", printable(error)));
    }
    line
}

/// The plan of a dry run: every matching app (and pipeline), its age, verdict and why.
pub fn plan_table(report: &Report) -> String {
    let mut out = plan_row("verdict", "app", "age", "why");
    for entry in &report.apps {
        let row = plan_row(
            entry.verdict.label(),
            &entry.name,
            &entry.age,
            &entry.reason,
        );
        out.push_str(&row);
    }
    if let Some(pipelines) = &report.pipelines {
        out.push('\n');
        out.push_str(&plan_row("verdict", "pipeline", "age", "why"));
        for entry in pipelines {
            let row = plan_row(
                entry.verdict.label(),
                &entry.name,
                &entry.age,
                &entry.reason,
            );
            out.push_str(&row);
        }
    }
    out
}

fn plan_row(verdict: &str, name: &str, age: &str, why: &str) -> String {
    let (name, why) = (printable(name), printable(why));
    format!("{verdict:<11} {name:<30} {age:>7}  {why}\n")
}

/// A row for a count that most runs leave at zero, only when it is not.
fn push_nonzero(rows: &mut Vec<(&str, String)>, name: &'static str, count: usize) {
    if count > 0 {
        rows.push((name, count.to_string()));
    }
}

/// The summary at the end of a human run.
pub fn summary(report: &Report) -> String {
    let c = &report.counts;
    let mut rows: Vec<(&str, String)> = vec![
        ("matched", c.matched.to_string()),
        ("stale", c.stale.to_string()),
    ];
    if report.dry_run {
        rows.push(("would delete", c.stale.to_string()));
    } else {
        rows.push(("deleted", c.deleted.to_string()));
        rows.push(("conflicts", c.conflicts.to_string()));
        push_nonzero(
            &mut rows,
            "by other reapers",
            c.deleted_by_others + c.left_to_others,
        );
        rows.push(("failed", c.failed.to_string()));
        push_nonzero(&mut rows, "not attempted", c.not_attempted);
        push_nonzero(&mut rows, "unknown", c.unknown);
    }
    rows.push(("kept", c.kept.to_string()));
    rows.push(("too young", c.too_young.to_string()));
    push_nonzero(&mut rows, "team apps", c.team_apps);
    push_nonzero(&mut rows, "not owned", c.not_owned);
    push_nonzero(&mut rows, "other shards", c.other_shards);
    rows.push(("remaining", c.remaining.to_string()));
    rows.push(("requests", report.requests.requests.to_string()));
    if let Some(remaining) = report.rate_limit_remaining {
        rows.push(("rate limit left", remaining.to_string()));
    }
    rows.push(("elapsed", format!("{:.1}s", report.elapsed_seconds)));
    let mut out = format!(
        "{}, {} ({})\n",
        report.rule,
        report.scope,
        status_words(report)
    );
    for (name, value) in rows {
        out.push_str(&format!("  {name:<16} {value:>6}\n"));
    }
    if let Some(pipelines) = &c.pipelines {
        out.push_str(&pipelines_line(pipelines, report.dry_run));
    }
    if let Some(clock) = &report.clock {
        out.push_str(&format!("clock: {}\n", clock.words()));
    }
    if let Some(github) = &report.github {
        out.push_str(&github_line(github));
    }
    if let Some(message) = &report.message {
        out.push_str(&format!("{}\n", printable(&words::message(message))));
    }
    out
}

fn pipelines_line(c: &PipelineCounts, dry_run: bool) -> String {
    let mut parts = vec![format!("{} matched", c.matched)];
    if dry_run {
        parts.push(format!("{} would delete", c.stale));
    } else {
        parts.push(format!("{} deleted", c.deleted));
        parts.push(format!("{} conflicts", c.conflicts));
        for (count, what) in [
            (c.deleted_by_others, "by other reapers"),
            (c.failed + c.unknown, "failed"),
            (c.not_attempted, "not attempted"),
        ] {
            if count > 0 {
                parts.push(format!("{count} {what}"));
            }
        }
    }
    for (count, what) in [
        (c.coupled, "coupled"),
        (c.kept, "kept"),
        (c.too_young, "too young"),
        (c.not_owned, "not owned"),
    ] {
        if count > 0 {
            parts.push(format!("{count} {what}"));
        }
    }
    format!("pipelines: {}\n", parts.join(", "))
}

fn github_line(github: &GithubReport) -> String {
    match (&github.warning, github.cutoff) {
        (Some(warning), _) => format!(
            "github: not read, so only the TTL decided: {}\n",
            printable(warning)
        ),
        (None, Some(cutoff)) => format!(
            "github: {} live runs in {}; {} {} younger than the TTL created before the cutoff, {}{}\n",
            github.live_runs,
            github.repos.join(", "),
            github.orphaned,
            if github.orphaned == 1 { "app" } else { "apps" },
            cutoff.format("%Y-%m-%dT%H:%M:%SZ"),
            github
                .earliest
                .as_ref()
                .map(|run| format!(" (the earliest run, {run}, less the skew)"))
                .unwrap_or_default()
        ),
        (None, None) => String::new(),
    }
}

/// `room: …`: how the wait for room (`--reserve-apps`) ended, after the summary.
pub fn room_line(room: &RoomReport) -> String {
    if room.outcome == room::Outcome::NotChecked {
        return format!(
            "room: not counted: {}\n",
            printable(&words::message(&room.reason))
        );
    }
    let mut line = format!(
        "room: {} after {} ({} apps reserved, {} looks): {}\n",
        room.outcome.label(),
        duration::format(Duration::from_secs_f64(room.waited_seconds)),
        room.reserve_apps,
        room.looks,
        printable(&words::message(&room.reason))
    );
    if let Some(warning) = &room.github_warning {
        line.push_str(&format!("room: {}\n", printable(warning)));
    }
    line
}

/// A few words on how the run ended.
pub fn status_words(report: &Report) -> &'static str {
    match report.status {
        Status::Done => "done",
        Status::DryRun => "dry run: nothing deleted",
        Status::UnderLimit => "stopped under the app limit",
        Status::LockBusy => "skipped: another reaper holds the lock",
        Status::Failed => "failed",
        Status::LimitHeld => "app limit still held",
        Status::ReserveReached => "stopped at the rate-limit reserve",
        Status::Refused => "refused: nothing deleted",
        Status::Unauthorized if report.deleted_any() => "unauthorized: stopped after some deletes",
        Status::Unauthorized => "unauthorized: nothing deleted",
        Status::Interrupted => "interrupted",
        Status::DeadlineReached => "stopped at the deadline",
        Status::LockTimeout => "timed out waiting for the lock: nothing sent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_line() {
        let mut room = crate::room::tests::sample();
        room.github_warning = Some("cannot read GitHub's runs: `GET /x` said\n::error::x".into());
        let admitted = super::room_line(&room);
        room.outcome = room::Outcome::NotChecked;
        room.reason =
            Message::Text("a dry run: the room was not counted, and no run is admitted".into());
        insta::assert_snapshot!(format!("{admitted}{}", super::room_line(&room)));
    }
    use crate::reap::clock::{ClockReport, Source};
    use crate::reap::pipeline_plan::PipelineVerdict;
    use crate::reap::record::Message;
    use crate::reap::record::tests::{pipeline, sample, sample_with_github_and_pipelines};

    /// What a dry run prints: the plan, then the summary.
    fn plan_and_summary(report: &Report) -> String {
        format!("{}\n{}", plan_table(report), summary(report))
    }

    #[test]
    fn dry_run_plan() {
        insta::assert_snapshot!(plan_and_summary(&sample(true)));
    }

    #[test]
    fn a_github_warning_says_only_the_ttl_decided() {
        let mut report = sample(false);
        report.github = Some(GithubReport {
            repos: vec!["heroku/heroku-buildpack-ruby".into()],
            warning: Some("`GITHUB_TOKEN` is not set".into()),
            ..GithubReport::default()
        });
        assert!(
            summary(&report)
                .contains("github: not read, so only the TTL decided: `GITHUB_TOKEN` is not set\n")
        );
        let line = pipeline_line(&pipeline(
            "hatchet-t-0a1b2c3d4e",
            PipelineVerdict::Delete,
            "",
            Some(Outcome::Deleted),
        ));
        assert_eq!(
            line,
            "deleted                            hatchet-t-0a1b2c3d4e               60m  pipeline"
        );
    }

    #[test]
    fn the_summary_names_the_clock_and_its_note() {
        let mut report = sample(false);
        assert!(summary(&report).contains("\nclock: Heroku's, from the listings' `Date` header\n"));
        report.clock = Some(ClockReport {
            source: Source::Heroku,
            skew_seconds: Some(86_400),
            note: Some("the local clock is 24h00m ahead of Heroku's".into()),
        });
        assert!(summary(&report).contains(
            "\nclock: Heroku's, from the listings' `Date` header; the local clock is 24h00m ahead of Heroku's\n"
        ));
        report.clock = Some(ClockReport {
            source: Source::Local,
            skew_seconds: None,
            note: Some("no `Date`".into()),
        });
        assert!(summary(&report).contains("\nclock: the local one; no `Date`\n"));
    }

    #[test]
    fn human_summary() {
        insta::assert_snapshot!(summary(&sample(false)));
    }

    #[test]
    fn dry_run_plan_with_github_and_pipelines() {
        insta::assert_snapshot!(plan_and_summary(&sample_with_github_and_pipelines(true)));
    }

    #[test]
    fn app_lines() {
        let report = sample(false);
        let lines: Vec<String> = report.apps[..2].iter().map(app_line).collect();
        insta::assert_snapshot!(lines.join("\n"));
    }

    #[test]
    fn server_text_keeps_to_its_line() {
        let mut report = sample(false);
        let entry = &mut report.apps[0];
        entry.name = "hatchet-t-x\n::endgroup::".into();
        entry.error = Some("boom\r\n::error::owned ##[error]legacy".into());
        entry.reason = "belongs to team `x\n::group::y`".into();
        let line = app_line(entry);
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(line.contains("hatchet-t-x\\n::endgroup::"), "{line}");
        assert!(
            line.ends_with("boom\\r\\n::error::owned ##\\[error]legacy"),
            "{line}"
        );
        report.message = Some(Message::Text("stopped\n::endgroup::".into()));
        for text in [plan_table(&report), summary(&report)] {
            for line in text.lines() {
                assert!(!line.trim_start().starts_with("::"), "{line}");
            }
        }
    }
}
