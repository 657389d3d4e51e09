//! Right about the others: a run leaves an app to another reaper only while it sees that
//! reaper at work. Apps deleted by someone else (a person, Hatchet's own reaping, a run
//! that died), a 404 to its own DELETE, or its own DELETE answered with an error after
//! it took effect are no reaper walking on, and the run deletes all the rest itself.

use std::collections::HashSet;
use std::time::Duration;

use heroku_sandbox::{Fault, Options, Role, Sandbox, Seed, Server};
use serde_json::Value;

use crate::reaper::Reaper;
use crate::support::{ids_with_outcome, stale_ids};

fn sandbox(stale: usize) -> Sandbox {
    Sandbox::start(Options {
        seed: Seed {
            stale,
            ..Seed::default()
        },
        server: Server {
            delete_latency: Some(Duration::from_millis(40)),
            jitter: 0.5,
            ..Server::default()
        },
        ..Options::default()
    })
    .expect("the sandbox starts")
}

fn count(report: &Value, field: &str) -> u64 {
    report["counts"][field].as_u64().unwrap()
}

/// Every stale app is gone, the run says it is done, and it left nothing to anybody.
fn all_gone_and_done(sandbox: &Sandbox, report: &Value) {
    assert_eq!(report["status"], "done", "{report}");
    assert!(
        sandbox.apps().iter().all(|app| app.role != Role::Stale),
        "stale apps left: {report}"
    );
    assert_eq!(count(report, "left_to_others"), 0, "{report}");
    assert!(sandbox.deleted().iter().all(|app| app.role == Role::Stale));
}

#[test]
fn a_lone_reaper_deletes_every_stale_app_someone_else_did_not() {
    for others in [2, 10] {
        let sandbox = sandbox(40);
        let stale = stale_ids(&sandbox);
        // Spread over the ring, as a person or Hatchet deleting oldest first would.
        let theirs: Vec<String> = stale
            .iter()
            .step_by(40 / others)
            .take(others)
            .cloned()
            .collect();
        sandbox.delete_after_next_listing(&theirs);
        let (run, report) = Reaper::against(&sandbox).json();
        run.code(0);
        all_gone_and_done(&sandbox, &report);
        // Theirs are theirs, whichever way the run learned of them; the rest are the run's.
        let credited: HashSet<String> = ids_with_outcome(&report, "deleted-by-another")
            .union(&ids_with_outcome(&report, "conflict"))
            .cloned()
            .collect();
        assert_eq!(credited, theirs.iter().cloned().collect(), "{report}");
        assert_eq!(count(&report, "deleted"), 40 - others as u64, "{report}");
    }
}

#[test]
fn a_404_to_the_first_delete_is_no_reaper_to_leave_the_rest_to() {
    let sandbox = sandbox(30);
    // The probe's first DELETE finds its app gone: someone deleted it just before.
    sandbox.inject("DELETE /apps/{app}", Fault::ServedAs(404), 1);
    let (run, report) = Reaper::against(&sandbox).json();
    run.code(0);
    all_gone_and_done(&sandbox, &report);
    assert_eq!(count(&report, "conflicts"), 1, "{report}");
    assert_eq!(count(&report, "deleted"), 29, "{report}");
}

#[test]
fn a_first_delete_that_took_effect_but_answered_500_is_this_runs_own() {
    let sandbox = sandbox(30);
    sandbox.inject("DELETE /apps/{app}", Fault::ServedAs(500), 1);
    let (run, report) = Reaper::against(&sandbox)
        .args(["--retry-backoff", "10ms"])
        .json();
    run.code(0);
    all_gone_and_done(&sandbox, &report);
    // Its retry found it gone: by this run's own hand, never another reaper's.
    assert_eq!(
        ids_with_outcome(&report, "deleted-response-lost").len(),
        1,
        "{report}"
    );
    assert_eq!(count(&report, "deleted_by_others"), 0, "{report}");
    assert_eq!(count(&report, "conflicts"), 0, "{report}");
    assert!(
        !run.stdout.contains("already deleted by another reaper"),
        "{}",
        run.stdout
    );
}

#[test]
fn two_reapers_at_once_still_rarely_collide() {
    let sandbox = sandbox(60);
    let children: Vec<_> = (0..2)
        .map(|_| Reaper::against(&sandbox).args(["--format", "json"]).spawn())
        .collect();
    for (child, _home) in children {
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0));
    }
    assert!(sandbox.apps().iter().all(|app| app.role != Role::Stale));
    let conflicts = sandbox.stats().conflicts;
    assert!(conflicts <= 3, "{conflicts} duplicate deletes");
}
