//! What users read, as snapshots: the human output of a run and of a dry run, the job
//! summary of GitHub mode and `--help`, from the real binary against the sandbox. A
//! change to any of them is a reviewed diff (`cargo insta review`).
//!
//! The sandbox is seeded, so app names are the same every run. What still moves is
//! filtered: ids, durations, the rate limit left (the pool refills with time). The order
//! of the per-app lines follows the DELETEs' answers, so they are sorted.

use std::time::Duration;

use heroku_sandbox::Seed;

use crate::reap::{run_with_deletes_failing, start};
use crate::reaper::{Reaper, Run};
use crate::runner::Runner;

/// Few apps of every kind, old enough to show their age in days and hours: a minute of a
/// loaded machine cannot change it.
fn seed() -> Seed {
    Seed {
        stale: 3,
        fresh: 2,
        other: 1,
        team_apps: 1,
        collaborator_apps: 1,
        orphan_pipelines: 1,
        stale_age: Duration::from_secs(3 * 86_400),
        seed: 1,
        ..Seed::default()
    }
}

fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[uuid]",
        ),
        (r"\b\d+\.\d+s\b", "[elapsed]"),
        // The fresh apps' ages, in seconds.
        (r"\b\d+s\b", "[seconds]"),
        (r"(rate limit left\s+)\d+", "$1[n]"),
        (r"Rate limit left: \d+", "Rate limit left: [n]"),
    ]
}

/// How the lines of apps and pipelines acted on begin.
const OUTCOMES: [&str; 7] = [
    "deleted",
    "already deleted",
    "left to another",
    "failed",
    "unknown",
    "would delete",
    "not attempted",
];

/// stdout with the lines of the apps and of the pipelines acted on each sorted, then
/// stderr when there is any.
fn settled(run: &Run) -> String {
    let (mut apps, mut pipelines, mut rest) = (Vec::new(), Vec::new(), Vec::new());
    let mut acting = true;
    for line in run.stdout.lines() {
        acting &= OUTCOMES.iter().any(|outcome| line.starts_with(outcome));
        match acting {
            true if line.ends_with("  pipeline") => pipelines.push(line),
            true => apps.push(line),
            false => rest.push(line),
        }
    }
    apps.sort_unstable();
    pipelines.sort_unstable();
    let mut out = [apps, pipelines, rest].concat().join("\n");
    if !run.stderr.is_empty() {
        out.push_str("\n--- stderr ---\n");
        out.push_str(&run.stderr);
    }
    out
}

#[test]
fn human_output_of_a_run() {
    let sandbox = start(seed());
    let run = Reaper::against(&sandbox).args(["--pipelines"]).run();
    run.code(0);
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(settled(&run));
    });
}

#[test]
fn human_output_of_a_dry_run() {
    let sandbox = start(seed());
    let run = Reaper::against(&sandbox)
        .args(["--pipelines", "--dry-run"])
        .run();
    run.code(0);
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(settled(&run));
    });
}

#[test]
fn job_summary_of_a_run_whose_deletes_fail() {
    let sandbox = start(seed());
    let runner = Runner::new();
    run_with_deletes_failing(&sandbox, Reaper::against(&sandbox).in_runner(&runner)).code(1);
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(runner.summary());
    });
}

#[test]
fn help() {
    // clap wraps to the terminal's width, or to `COLUMNS` without one; and it shows the
    // values of the environment variables, so the test's own lock file stays out.
    let run = Reaper::bare()
        .env("COLUMNS", "100")
        .env_remove("HEROKU_REAPER_LOCK_FILE")
        .args(["--help"])
        .run();
    run.code(0);
    // clap names the program as it was started: `heroku-reaper.exe` on Windows.
    insta::with_settings!({ filters => vec![(r"heroku-reaper\.exe", "heroku-reaper")] }, {
        insta::assert_snapshot!(run.stdout);
    });
}
