//! `--pipelines` through the binary: orphaned matching pipelines go after the apps; the
//! coupled, the young and those of other names stay.

use std::time::Duration;

use heroku_sandbox::{Fault, Loss, Role, Sandbox, Seed};
use serde_json::Value;

use crate::reap::start;
use crate::reaper::{Reaper, wait_within};
use crate::signals::send;
use crate::support::{eventually, named};

const OLD: Duration = Duration::from_secs(3_600);

/// The default seed (30 stale and 10 fresh apps, each with its pipeline, and 3 orphaned
/// pipelines), and three more pipelines: a young orphan, an old one of another name, and
/// an old one still coupled to a fresh app.
fn sandbox() -> (Sandbox, Vec<String>) {
    let sandbox = start(Seed::default());
    sandbox.add_pipeline("hatchet-t-0youngorphan", Duration::from_secs(60));
    sandbox.add_pipeline("billing-pipeline", OLD);
    let coupled = sandbox.add_pipeline("hatchet-t-0stillcoupled", OLD);
    let fresh = sandbox
        .apps()
        .into_iter()
        .find(|app| app.role == Role::Fresh)
        .expect("a fresh app");
    sandbox.couple(&coupled.id, &fresh.id);
    let kept = vec![
        "billing-pipeline".to_string(),
        "hatchet-t-0stillcoupled".to_string(),
        "hatchet-t-0youngorphan".to_string(),
    ];
    (sandbox, kept)
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

fn requests(sandbox: &Sandbox, key: &str) -> u64 {
    sandbox.stats().by_status.get(key).copied().unwrap_or(0)
}

fn pipeline<'a>(report: &'a Value, name: &str) -> &'a Value {
    named(&report["pipelines"], name)
}

#[test]
fn orphaned_pipelines_go_after_their_apps_and_the_rest_stay() {
    let (sandbox, kept) = sandbox();
    let stale_apps: Vec<String> = sandbox
        .apps()
        .into_iter()
        .filter(|app| app.role == Role::Stale)
        .map(|app| app.name)
        .collect();
    let orphans: Vec<String> = sandbox
        .pipelines()
        .into_iter()
        .filter(|p| p.apps.is_empty() && !kept.contains(&p.name))
        .map(|p| p.name)
        .collect();
    assert_eq!(orphans.len(), 3);

    let (run, report) = Reaper::against(&sandbox).args(["--pipelines"]).json();
    run.code(0);
    assert_eq!(sandbox.deleted().len(), 30);
    let deleted: Vec<String> = sandbox
        .deleted_pipelines()
        .into_iter()
        .map(|p| p.name)
        .collect();
    let expected: Vec<String> = stale_apps.iter().chain(&orphans).cloned().collect();
    assert_eq!(sorted(deleted), sorted(expected));
    let left: Vec<String> = sandbox.pipelines().into_iter().map(|p| p.name).collect();
    for name in &kept {
        assert!(left.contains(name), "{name} was deleted");
    }
    // The fresh apps keep their (young, coupled) pipelines.
    assert_eq!(left.len(), 10 + kept.len());

    let counts = &report["counts"]["pipelines"];
    assert_eq!(counts["matched"], 30 + 10 + 3 + 2);
    assert_eq!(counts["deleted"], 33);
    assert_eq!(counts["coupled"], 1);
    assert_eq!(counts["too_young"], 11);
    assert_eq!(counts["conflicts"], 0);
    assert_eq!(
        pipeline(&report, &orphans[0])["reason"],
        "older than 10m; no app is coupled to it"
    );
    assert_eq!(pipeline(&report, &orphans[0])["outcome"], "deleted");
    let coupled = pipeline(&report, "hatchet-t-0stillcoupled");
    assert_eq!(coupled["verdict"], "coupled");
    assert_eq!(coupled["coupled_apps"].as_array().unwrap().len(), 1);
    assert!(
        report["pipelines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"] != "billing-pipeline")
    );
    // One listing, the couplings of the 34 old matching ones, one DELETE per orphan.
    assert_eq!(requests(&sandbox, "GET /pipelines 200"), 1);
    assert_eq!(
        requests(&sandbox, "GET /pipelines/{pipeline}/pipeline-couplings 200"),
        34
    );
    assert_eq!(requests(&sandbox, "DELETE /pipelines/{pipeline} 200"), 33);
    assert_eq!(sandbox.stats().pipeline_deletes, 33);
}

#[test]
fn a_dry_run_plans_the_pipelines_and_deletes_none() {
    let (sandbox, _) = sandbox();
    let run = Reaper::against(&sandbox)
        .args(["--pipelines", "--dry-run"])
        .run();
    run.code(0)
        .stdout_has("pipelines: 45 matched, 33 would delete, 1 coupled, 11 too young");
    let stale = sandbox
        .apps()
        .into_iter()
        .find(|app| app.role == Role::Stale)
        .unwrap();
    // The plan says what a real run would do: the stale app goes, then its pipeline.
    let line = run
        .stdout
        .lines()
        .filter(|line| line.contains(&stale.name))
        .nth(1)
        .unwrap_or_else(|| panic!("no pipeline line for {}:\n{}", stale.name, run.stdout))
        .to_string();
    assert!(
        line.starts_with("delete")
            && line.ends_with(&format!(
                "older than 10m; its apps go first (`{}`)",
                stale.name
            )),
        "{line}"
    );
    assert!(run.stdout.contains("coupled     hatchet-t-0stillcoupled"));
    assert!(sandbox.deleted_pipelines().is_empty());
    assert!(sandbox.deleted().is_empty());
    let stats = sandbox.stats();
    assert!(
        stats.by_status.keys().all(|key| !key.starts_with("DELETE")),
        "{:?}",
        stats.by_status
    );
}

#[test]
fn a_pipeline_someone_else_deleted_is_a_conflict_not_a_failure() {
    let (sandbox, _) = sandbox();
    sandbox.inject("DELETE /pipelines/{pipeline}", Fault::Status(404), 1);
    let (run, report) = Reaper::against(&sandbox).args(["--pipelines"]).json();
    run.code(0);
    let counts = &report["counts"]["pipelines"];
    assert_eq!(
        (counts["deleted"].as_u64(), counts["conflicts"].as_u64()),
        (Some(32), Some(1))
    );
    assert_eq!(counts["failed"], 0);
    assert_eq!(report["status"], "done");
}

#[test]
fn max_deletes_counts_apps_and_pipelines_together() {
    let sandbox = start(Seed {
        stale: 3,
        ..Seed::default()
    });
    // 3 stale apps, then their 3 pipelines and 3 orphans: 9 deletes in all.
    let run = Reaper::against(&sandbox)
        .args(["--pipelines", "--max-deletes", "8"])
        .run();
    run.code(1).stderr_has(
        "stopped before the pipelines: 3 apps and 6 pipelines are more than `--max-deletes 8`",
    );
    assert_eq!(sandbox.deleted().len(), 3);
    assert!(sandbox.deleted_pipelines().is_empty());

    let dry = Reaper::against(&start(Seed {
        stale: 3,
        ..Seed::default()
    }))
    .args(["--pipelines", "--max-deletes", "8", "--dry-run"])
    .run();
    dry.code(0)
        .stderr_has("a real run would stop before the pipelines");

    Reaper::against(&sandbox)
        .args(["--pipelines", "--max-deletes", "9"])
        .run()
        .code(0);
    assert_eq!(sandbox.deleted_pipelines().len(), 6);
}

#[test]
fn with_team_only_the_teams_pipelines_are_its_business() {
    let (sandbox, _) = sandbox();
    let (run, report) = Reaper::against(&sandbox)
        .args(["--pipelines", "--team", "hatchet-ci"])
        .json();
    run.code(0);
    // Every seeded pipeline belongs to the account, not the team.
    assert!(sandbox.deleted_pipelines().is_empty());
    let counts = &report["counts"]["pipelines"];
    assert_eq!(counts["not_owned"], 45);
    assert_eq!(requests(&sandbox, "GET /teams/{team} 200"), 1);
}

#[test]
fn without_the_flag_no_pipeline_is_asked_for() {
    let (sandbox, _) = sandbox();
    let (run, report) = Reaper::against(&sandbox).json();
    run.code(0);
    assert!(report.get("pipelines").is_none());
    assert!(report["counts"].get("pipelines").is_none());
    assert!(
        sandbox
            .stats()
            .by_status
            .keys()
            .all(|key| !key.contains("/pipelines")),
        "{:?}",
        sandbox.stats().by_status
    );
}

#[test]
fn pipelines_follow_app_limit_rounds_that_made_room() {
    let (sandbox, _) = sandbox();
    let (run, report) = Reaper::against(&sandbox)
        .args(["--pipelines", "--app-limit", "50"])
        .json();
    run.code(0);
    assert_eq!(sandbox.deleted().len(), 30);
    assert_eq!(report["counts"]["pipelines"]["deleted"], 33);
    assert_eq!(sandbox.deleted_pipelines().len(), 33);
}

#[test]
fn in_github_mode_each_pipeline_deleted_has_its_line() {
    let (sandbox, _) = sandbox();
    let runner = crate::runner::Runner::new();
    let run = Reaper::against(&sandbox)
        .in_runner(&runner)
        .args(["--pipelines"])
        .run();
    run.code(0);
    let deleted = sandbox.stats().pipeline_deletes;
    assert_eq!(deleted, 33);
    let lines = run
        .stdout
        .lines()
        .filter(|line| line.starts_with("deleted ") && line.ends_with("  pipeline"))
        .count();
    assert_eq!(lines as u64, deleted, "{}", run.stdout);
}

/// Three orphaned stale pipelines and no app.
fn orphans_only() -> Sandbox {
    start(Seed {
        orphan_pipelines: 3,
        ..Seed::empty()
    })
}

fn with_pipeline_outcome(report: &Value, outcome: &str) -> Vec<Value> {
    report["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["outcome"] == outcome)
        .cloned()
        .collect()
}

const PIPELINE_DELETE: &str = "DELETE /pipelines/{pipeline}";

#[test]
fn an_unanswered_pipeline_delete_still_listed_gets_one_more_delete() {
    let sandbox = orphans_only();
    // The reset comes before the server acts, so the pipeline is still listed after.
    sandbox.inject(PIPELINE_DELETE, Fault::Reset, 1);
    let (run, report) = Reaper::against(&sandbox)
        .args(["--pipelines", "--retries", "0"])
        .json();
    run.code(0);
    assert_eq!(
        with_pipeline_outcome(&report, "deleted").len(),
        3,
        "{report}"
    );
    assert_eq!(report["counts"]["pipelines"]["failed"], 0);
    assert_eq!(sandbox.stats().sent("DELETE /pipelines"), 4);
    assert_eq!(requests(&sandbox, "GET /pipelines 200"), 2);
    assert_eq!(sandbox.deleted_pipelines().len(), 3);
}

#[test]
fn an_unanswered_pipeline_delete_gone_from_the_listing_was_deleted() {
    let sandbox = orphans_only();
    sandbox.inject(PIPELINE_DELETE, Fault::Lost(Loss::Cut), 1);
    let (run, report) = Reaper::against(&sandbox)
        .args(["--pipelines", "--retries", "0"])
        .json();
    run.code(0);
    let lost = with_pipeline_outcome(&report, "deleted-response-lost");
    assert_eq!(lost.len(), 1, "{report}");
    assert!(lost[0].get("error").is_none(), "{report}");
    assert_eq!(sandbox.stats().sent("DELETE /pipelines"), 3);
}

#[test]
fn an_unanswered_pipeline_delete_stays_unknown_only_when_the_check_fails_too() {
    let sandbox = orphans_only();
    sandbox.inject(PIPELINE_DELETE, Fault::Lost(Loss::Cut), 1);
    sandbox.inject_after("GET /pipelines", 1, Fault::Status(503), 1);
    let (run, report) = Reaper::against(&sandbox)
        .args(["--pipelines", "--retries", "0"])
        .json();
    run.code(1);
    let unknown = with_pipeline_outcome(&report, "unknown");
    assert_eq!(unknown.len(), 1, "{report}");
    assert_eq!(report["counts"]["pipelines"]["failed"], 0);
    let error = unknown[0]["error"].as_str().unwrap();
    assert!(
        error.contains("the follow-up listing failed too") && error.contains("503"),
        "{error}"
    );
    // It was in fact deleted: unknown is the truth as the run saw it, not "failed".
    assert_eq!(sandbox.deleted_pipelines().len(), 3);
}

#[test]
fn a_pipeline_still_listed_whose_second_delete_fails_is_unknown_not_failed() {
    let sandbox = orphans_only();
    sandbox.inject(PIPELINE_DELETE, Fault::Reset, 1);
    sandbox.inject_after(PIPELINE_DELETE, 2, Fault::Status(500), 1);
    let (run, report) = Reaper::against(&sandbox)
        .args(["--pipelines", "--retries", "0", "--concurrency", "1"])
        .json();
    run.code(1);
    let unknown = with_pipeline_outcome(&report, "unknown");
    assert_eq!(unknown.len(), 1, "{report}");
    assert_eq!(report["counts"]["pipelines"]["failed"], 0);
    let error = unknown[0]["error"].as_str().unwrap();
    assert!(error.contains("one more DELETE failed"), "{error}");
}

#[test]
fn pipeline_deletes_in_flight_at_a_signal_get_the_grace_then_are_unknown() {
    let sandbox = orphans_only();
    // Answers held far longer than the wait below: only the grace can end the run soon.
    sandbox.inject(PIPELINE_DELETE, Fault::Delay(Duration::from_secs(60)), 3);
    let (child, _home) = Reaper::against(&sandbox)
        .args(["--pipelines", "--concurrency", "1", "--grace", "50ms"])
        .args(["--timeout", "1h", "--format", "json"])
        .spawn();
    eventually("a pipeline DELETE is in flight", || {
        sandbox.stats().faults.contains_key("slow")
    });
    send("INT", &child);
    let run = wait_within(child, Duration::from_secs(20));
    run.code(130);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["status"], "interrupted", "{report}");
    let unknown = with_pipeline_outcome(&report, "unknown");
    assert_eq!(unknown.len(), 1, "{report}");
    assert!(
        unknown[0]["error"]
            .as_str()
            .unwrap()
            .contains("no answer came within the grace"),
        "{report}"
    );
    assert_eq!(with_pipeline_outcome(&report, "not-attempted").len(), 2);
    // One DELETE was sent, and none after the signal; it never answered.
    assert_eq!(sandbox.stats().faults["slow"], 1);
    assert_eq!(sandbox.stats().sent("DELETE /pipelines"), 0);
}

#[test]
fn three_pipeline_deletes_failing_in_a_row_stop_the_rest() {
    let sandbox = start(Seed {
        orphan_pipelines: 5,
        ..Seed::empty()
    });
    sandbox.inject(PIPELINE_DELETE, Fault::Status(500), 3);
    let (run, report) = Reaper::against(&sandbox)
        .args(["--pipelines", "--retries", "0", "--concurrency", "1"])
        .json();
    run.code(1)
        .stderr_has("3 deletes failed in a row; stopped sending more");
    assert_eq!(
        with_pipeline_outcome(&report, "failed").len(),
        3,
        "{report}"
    );
    assert_eq!(with_pipeline_outcome(&report, "not-attempted").len(), 2);
    assert_eq!(sandbox.stats().sent("DELETE /pipelines"), 3);
}
