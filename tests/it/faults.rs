//! Each fault the sandbox can inject, one at a time: the run recovers or ends as
//! documented, and the report says what really happened to each app.

use std::time::Duration;

use heroku_sandbox::{Fault, Loss, Role, Sandbox, Seed};
use serde_json::Value;

use crate::reap::start;
use crate::reaper::Reaper;

const DELETE: &str = "DELETE /apps/{app}";

/// The names of the report's apps with this outcome.
pub fn with_outcome(report: &Value, outcome: &str) -> Vec<String> {
    report["apps"]
        .as_array()
        .expect("the report lists apps")
        .iter()
        .filter(|app| app["outcome"] == outcome)
        .map(|app| app["name"].as_str().expect("a name").to_string())
        .collect()
}

/// A reaper that retries at once: these tests are about what a retry finds, not when.
fn reaper(sandbox: &Sandbox) -> Reaper {
    Reaper::against(sandbox).args(["--retry-backoff", "5ms"])
}

fn stale_left(sandbox: &Sandbox) -> usize {
    sandbox
        .apps()
        .iter()
        .filter(|app| app.role == Role::Stale)
        .count()
}

fn one_stale() -> Seed {
    Seed {
        stale: 1,
        ..Seed::default()
    }
}

#[test]
fn list_pages_cut_short_are_retried() {
    let sandbox = start(Seed::default());
    sandbox.inject("GET /apps", Fault::Reset, 2);
    let (run, report) = reaper(&sandbox).json();
    run.code(0);
    assert_eq!(sandbox.deleted().len(), 30);
    assert_eq!(sandbox.stats().faults["reset"], 2);
    assert!(report["requests"]["retries"].as_u64().unwrap() >= 2);
}

#[test]
fn a_malformed_list_page_is_retried_like_a_5xx_within_retries() {
    let sandbox = start(Seed::default());
    sandbox.inject("GET /apps", Fault::Malformed, 2);
    reaper(&sandbox).run().code(0);
    assert_eq!(sandbox.deleted().len(), 30);

    let sandbox = start(Seed::default());
    sandbox.inject("GET /apps", Fault::Malformed, 2);
    let run = reaper(&sandbox).args(["--retries", "1"]).run();
    run.code(1).stderr_has("JSON the reaper cannot read");
    assert_eq!(sandbox.stats().sent("DELETE"), 0);
}

#[test]
fn a_malformed_answer_to_a_delete_still_counts_the_delete() {
    let sandbox = start(Seed::default());
    sandbox.inject(DELETE, Fault::Malformed, 3);
    let (run, report) = reaper(&sandbox).json();
    run.code(0);
    assert_eq!(sandbox.deleted().len(), 30);
    assert_eq!(with_outcome(&report, "deleted").len(), 30);
    // A DELETE that answered 200 is never sent again.
    assert_eq!(sandbox.stats().sent("DELETE"), 30);
}

#[test]
fn a_next_range_that_repeats_stops_the_run_before_any_delete() {
    let sandbox = start(Seed::default());
    sandbox.inject("GET /apps", Fault::RepeatNextRange, 1);
    let run = reaper(&sandbox).run();
    run.code(1)
        .stderr_has("`Next-Range` repeats")
        .stderr_has("instead of paging forever");
    assert_eq!(sandbox.stats().sent("DELETE"), 0);
    assert_eq!(sandbox.stats().list_pages, 1);
}

#[test]
fn a_next_range_that_never_ends_stops_at_the_first_page_that_brings_nothing() {
    let sandbox = start(Seed::default());
    sandbox.inject("GET /apps", Fault::EndlessNextRange, 1);
    let run = reaper(&sandbox).run();
    run.code(1).stderr_has("brought no app not seen already");
    assert_eq!(sandbox.stats().sent("DELETE"), 0);
    assert_eq!(sandbox.stats().by_status["GET /apps 206"], 2);
}

#[test]
fn a_delete_whose_answer_is_lost_is_reported_deleted_with_the_response_lost() {
    let sandbox = start(Seed::default());
    sandbox.inject(DELETE, Fault::Lost(Loss::Cut), 1);
    // Another app's: the cut one's retry comes first.
    sandbox.inject_after(
        DELETE,
        3,
        Fault::Lost(Loss::Held(Duration::from_secs(2))),
        1,
    );
    let (run, report) = reaper(&sandbox).args(["--timeout", "300ms"]).json();
    run.code(0);
    assert_eq!(sandbox.deleted().len(), 30);
    let lost = with_outcome(&report, "deleted-response-lost");
    assert_eq!(lost.len(), 2, "{report}");
    let faults = sandbox.stats().faults;
    assert_eq!((faults["lost-cut"], faults["lost-held"]), (1, 1));
    assert_eq!(with_outcome(&report, "deleted").len(), 28);
    assert_eq!(report["counts"]["deleted"], 30);
    assert_eq!(report["counts"]["conflicts"], 0);
}

#[test]
fn a_delete_slower_than_the_timeout_is_followed_through_not_reported_failed() {
    let sandbox = start(one_stale());
    sandbox.inject(DELETE, Fault::Delay(Duration::from_millis(800)), 1);
    let (run, report) = reaper(&sandbox)
        .args(["--timeout", "300ms", "--retries", "1"])
        .json();
    run.code(0);
    // The first DELETE timed out but went on; the retry found it going or gone.
    assert_eq!(with_outcome(&report, "deleted-response-lost").len(), 1);
    crate::support::eventually("the slow delete lands", || sandbox.deleted().len() == 1);
}

#[test]
fn with_no_retries_an_unanswered_delete_is_settled_by_a_follow_up_listing() {
    let sandbox = start(one_stale());
    sandbox.inject(DELETE, Fault::Lost(Loss::Cut), 1);
    let (run, report) = reaper(&sandbox).args(["--retries", "0"]).json();
    run.code(0);
    assert_eq!(with_outcome(&report, "deleted-response-lost").len(), 1);
    assert_eq!(sandbox.stats().by_status["GET /apps 200"], 2);
    assert_eq!(sandbox.stats().sent("DELETE"), 1);
}

#[test]
fn an_unanswered_delete_still_listed_gets_one_more_delete() {
    let sandbox = start(one_stale());
    sandbox.inject(DELETE, Fault::Reset, 1);
    let (run, report) = reaper(&sandbox).args(["--retries", "0"]).json();
    run.code(0);
    // The reset came before the server acted, so the follow-up DELETE did the work.
    assert_eq!(with_outcome(&report, "deleted").len(), 1);
    assert_eq!(sandbox.stats().sent("DELETE"), 2);
    assert_eq!(stale_left(&sandbox), 0);
}

#[test]
fn an_unanswered_delete_stays_unknown_only_when_the_follow_up_fails_too() {
    let sandbox = start(one_stale());
    sandbox.inject(DELETE, Fault::Lost(Loss::Cut), 1);
    sandbox.inject_after("GET /apps", 1, Fault::Status(503), 1);
    let (run, report) = reaper(&sandbox).args(["--retries", "0"]).json();
    run.code(1);
    let unknown = with_outcome(&report, "unknown");
    assert_eq!(unknown.len(), 1, "{report}");
    assert_eq!(report["counts"]["unknown"], 1);
    let entry = &report["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|app| app["outcome"] == "unknown")
        .unwrap();
    let error = entry["error"].as_str().unwrap();
    assert!(
        error.contains("the follow-up listing failed too") && error.contains("503"),
        "{error}"
    );
    // It was in fact deleted: unknown is the truth as the run saw it, not "failed".
    assert_eq!(sandbox.deleted().len(), 1);
}

#[test]
fn a_failure_after_a_lost_attempt_is_unknown_not_failed() {
    let sandbox = start(one_stale());
    sandbox.inject(DELETE, Fault::Lost(Loss::Cut), 1);
    sandbox.inject(DELETE, Fault::Status(500), 1);
    // The follow-up listing fails too, retry included.
    sandbox.inject_after("GET /apps", 1, Fault::Status(503), 2);
    let (run, report) = reaper(&sandbox).args(["--retries", "1"]).json();
    run.code(1);
    assert_eq!(with_outcome(&report, "unknown").len(), 1, "{report}");
    assert_eq!(report["counts"]["failed"], 0);
    let error = report["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|app| app["outcome"] == "unknown")
        .map(|app| app["error"].to_string())
        .unwrap();
    assert!(error.contains("may have been carried out"), "{error}");
}

#[test]
fn a_short_429_storm_is_ridden_out() {
    let sandbox = start(Seed::default());
    sandbox.inject(DELETE, Fault::Status(429), 6);
    sandbox.inject("GET /apps", Fault::Status(429), 3);
    let (run, report) = reaper(&sandbox)
        .args(["--rate-limit-refill", "60000", "--reserve-rate-limit", "0"])
        .json();
    run.code(0);
    assert_eq!(sandbox.deleted().len(), 30);
    assert_eq!(report["requests"]["rate_limited"], 9);
    assert_eq!(sandbox.stats().rate_limited, 9);
}
