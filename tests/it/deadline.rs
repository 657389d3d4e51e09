//! `--deadline`: past it, the run stops as on a signal (no new request, a grace for the
//! DELETEs in flight, the report) and exits 5, whatever it was waiting for.

use std::collections::HashSet;
use std::time::Duration;

use heroku_sandbox::{Fault, Seed};
use serde_json::Value;

use crate::reap::slow_deletes;
use crate::reap::start;
use crate::reaper::Reaper;
use crate::support::ids_with_outcome;

#[test]
fn a_listing_slower_than_the_deadline_is_cut_off_with_the_report_and_exit_5() {
    let sandbox = start(Seed::default());
    // Far longer than the deadline: only the deadline can end the run soon.
    sandbox.inject("GET /apps", Fault::Delay(Duration::from_secs(60)), 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    let run = Reaper::against(&sandbox)
        .args(["--deadline", "1s", "--report"])
        .args([file.as_os_str()])
        .run_within(Duration::from_secs(30));
    run.code(5)
        .stderr_has("`--deadline 1s` passed: sending no new request")
        .stderr_has("error: stopped at `--deadline`")
        .stdout_has("stopped at the deadline");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(report["status"], "deadline-reached");
    assert!(report["signal"].is_null(), "{report}");
    // What was sent before the deadline, and nothing after: the rate limit, the listing
    // it cut off and the account beside it; no retry, no DELETE.
    let stats = sandbox.stats();
    assert_eq!(stats.requests, 3, "{:?}", stats.by_status);
    assert_eq!(stats.sent("DELETE"), 0);
    assert!(sandbox.deleted().is_empty());
}

#[test]
fn deletes_in_flight_at_the_deadline_land_and_no_other_is_sent() {
    let sandbox = slow_deletes(Duration::from_millis(300));
    let (run, report) = Reaper::against(&sandbox)
        .args(["--deadline", "2s", "--concurrency", "1"])
        .json();
    run.code(5);
    assert_eq!(report["status"], "deadline-reached");
    let deleted: HashSet<String> = sandbox.deleted().into_iter().map(|app| app.id).collect();
    assert!(
        !deleted.is_empty(),
        "nothing was deleted before the deadline"
    );
    // Every DELETE sent was answered within the grace and is in the report; the rest
    // were never sent.
    assert_eq!(ids_with_outcome(&report, "deleted"), deleted);
    assert_eq!(sandbox.stats().sent("DELETE"), deleted.len() as u64);
    let not_attempted = ids_with_outcome(&report, "not-attempted");
    assert_eq!(not_attempted.len() + deleted.len(), 30, "{report}");
    assert!(!not_attempted.is_empty());
}

#[test]
fn the_deadline_bounds_the_reading_of_github_too() {
    let sandbox = start(Seed::default());
    let github = crate::network::trickling_github();
    let run = Reaper::against(&sandbox)
        .env("GITHUB_API_URL", github.url())
        .env("GITHUB_TOKEN", crate::fake_github::TOKEN)
        .args(["--github-live-runs", "--github-repo", "heroku/ruby"])
        .args(["--timeout", "1h", "--deadline", "1s"])
        .run_within(Duration::from_secs(30));
    run.code(5)
        .stderr_has("stopped at `--deadline` while reading GitHub");
    assert_eq!(sandbox.stats().requests, 0);
}
