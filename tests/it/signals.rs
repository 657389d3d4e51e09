//! SIGINT, SIGTERM and SIGHUP sent to a real reaper process mid-run: no new DELETE, a
//! bounded grace for those in flight, a truthful report, the lock released, exit 130,
//! 143 or 129.

use std::collections::HashSet;
use std::io::Read;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use heroku_reaper::lock::{self, Acquired};
use heroku_sandbox::{Fault, Loss};
use serde_json::Value;

use crate::faults::with_outcome;
use crate::reap::slow_deletes;
use crate::reaper::{Reaper, Run, wait_within};
use crate::support::{eventually, ids_with_outcome};

pub(crate) fn send(signal: &str, child: &Child) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("`kill` runs");
    assert!(status.success(), "kill -{signal} failed");
}

/// Sends SIGTERM and waits up to `limit` for the run to end as interrupted by it: exit
/// 143 and a JSON report that says so, which it gives back with the run.
fn terminate(child: Child, limit: Duration) -> (Run, Value) {
    send("TERM", &child);
    let run = wait_within(child, limit);
    run.code(143);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["status"], "interrupted", "{report}");
    assert_eq!(report["signal"], "SIGTERM", "{report}");
    (run, report)
}

/// Reads the child's stderr until `text` shows.
fn await_stderr(child: &mut Child, text: &str) -> String {
    let stderr = child.stderr.as_mut().unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 512];
    while !seen.contains(text) {
        let n = stderr.read(&mut buffer).unwrap();
        assert!(n > 0, "stderr ended before {text:?}: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    seen
}

#[test]
fn sigterm_mid_run_lets_deletes_in_flight_land_then_reports_and_exits_143() {
    let sandbox = slow_deletes(Duration::from_millis(200));
    let dir = tempfile::tempdir().unwrap();
    let report_file = dir.path().join("report.json");
    let reaper = Reaper::against(&sandbox)
        .args(["--format", "json", "--concurrency", "4", "--report"])
        .args([report_file.as_os_str()]);
    let lock_file = reaper.lock_file();
    let (child, _home) = reaper.spawn();
    // Mid-run: some apps deleted, more deletes in flight.
    eventually("deletes are under way", || {
        sandbox.deleted().len() >= 3 && !sandbox.deleting().is_empty()
    });
    let (run, report) = terminate(child, Duration::from_secs(20));
    run.stderr_has("SIGTERM: sending no new DELETE")
        .stderr_has("error: interrupted by SIGTERM");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
    assert_eq!(written, report);

    // Every DELETE sent answered within the grace, and was confirmed; none was sent
    // after the signal, so the rest are not attempted and still there.
    let deleted: HashSet<String> = sandbox.deleted().into_iter().map(|app| app.id).collect();
    assert_eq!(ids_with_outcome(&report, "deleted"), deleted);
    assert!(sandbox.deleting().is_empty());
    assert_eq!(
        sandbox.stats().by_status["DELETE /apps/{app} 200"],
        deleted.len() as u64
    );
    let not_attempted = ids_with_outcome(&report, "not-attempted");
    assert_eq!(not_attempted.len() + deleted.len(), 30, "{report}");
    assert!(!not_attempted.is_empty());
    let present: HashSet<String> = sandbox.apps().into_iter().map(|app| app.id).collect();
    assert!(not_attempted.is_subset(&present));
    assert_eq!(report["counts"]["unknown"], 0);
    // The lock is free again.
    assert!(matches!(
        lock::acquire(&lock_file, None, |_| {}).unwrap(),
        Acquired::Held(_)
    ));
}

/// A closed terminal: SIGHUP stops the run as SIGTERM does, report and all.
#[test]
fn sighup_mid_run_reports_and_exits_129() {
    let sandbox = slow_deletes(Duration::from_millis(200));
    let dir = tempfile::tempdir().unwrap();
    let report_file = dir.path().join("report.json");
    let (child, _home) = Reaper::against(&sandbox)
        .args(["--format", "json", "--concurrency", "2", "--report"])
        .args([report_file.as_os_str()])
        .spawn();
    eventually("deletes are under way", || {
        sandbox.deleted().len() >= 2 && !sandbox.deleting().is_empty()
    });
    send("HUP", &child);
    let run = wait_within(child, Duration::from_secs(20));
    run.code(129)
        .stderr_has("SIGHUP: sending no new DELETE")
        .stderr_has("error: interrupted by SIGHUP");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["status"], "interrupted");
    assert_eq!(report["signal"], "SIGHUP");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
    assert_eq!(written, report);
    let deleted: HashSet<String> = sandbox.deleted().into_iter().map(|app| app.id).collect();
    assert_eq!(ids_with_outcome(&report, "deleted"), deleted);
    assert_eq!(
        ids_with_outcome(&report, "not-attempted").len() + deleted.len(),
        30
    );
}

#[test]
fn sigint_past_the_grace_leaves_unanswered_deletes_unknown_and_exits_130() {
    let sandbox = slow_deletes(Duration::from_millis(1_500));
    let (child, _home) = Reaper::against(&sandbox).args(["--grace", "50ms"]).spawn();
    // The probe: two apps side by side, both in flight.
    eventually("the probe's deletes are in flight", || {
        sandbox.deleting().len() == 2
    });
    send("INT", &child);
    let run = wait_within(child, Duration::from_secs(20));
    run.code(130).stderr_has("interrupted by SIGINT");
    assert!(run.stdout.contains("(interrupted)"), "{}", run.stdout);
    let unknown = run
        .stdout
        .lines()
        .find(|line| line.starts_with("unknown"))
        .unwrap_or_else(|| panic!("no unknown app in:\n{}", run.stdout));
    assert!(
        unknown.contains("no answer came within the grace"),
        "{unknown}"
    );
    assert!(
        run.stdout.contains("  unknown               2"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  not attempted        28"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_signal_while_listing_stops_at_once_with_no_delete() {
    let sandbox = slow_deletes(Duration::ZERO);
    sandbox.inject("GET /apps", Fault::Delay(Duration::from_secs(3)), 1);
    let (child, _home) = Reaper::against(&sandbox).args(["--format", "json"]).spawn();
    eventually("the listing is asked for", || sandbox.stats().requests >= 1);
    let (_, report) = terminate(child, Duration::from_secs(20));
    assert!(with_outcome(&report, "deleted").is_empty());
    assert_eq!(sandbox.stats().deletes, 0);
}

#[test]
fn a_second_signal_exits_at_once() {
    let sandbox = slow_deletes(Duration::from_millis(1_500));
    // With an hour of grace, only the second signal can end the run soon.
    let (mut child, _home) = Reaper::against(&sandbox).args(["--grace", "1h"]).spawn();
    eventually("the first delete is in flight", || {
        !sandbox.deleting().is_empty()
    });
    send("TERM", &child);
    await_stderr(&mut child, "send it again to exit at once");
    send("INT", &child);
    let run = wait_within(child, Duration::from_secs(20));
    run.code(130).stderr_has("SIGINT again: exiting at once");
}

#[test]
fn sigterm_while_github_trickles_exits_143_and_sends_heroku_nothing() {
    let sandbox = slow_deletes(Duration::ZERO);
    let github = crate::network::trickling_github();
    // With an hour's timeout, only the signal can end the GitHub read soon.
    let (child, _home) = Reaper::against(&sandbox)
        .env("GITHUB_API_URL", github.url())
        .env("GITHUB_TOKEN", crate::fake_github::TOKEN)
        .args(["--github-live-runs", "--github-repo", "heroku/ruby"])
        .args(["--timeout", "1h", "--format", "json"])
        .spawn();
    eventually("GitHub is asked", || !github.heads().is_empty());
    let (run, report) = terminate(child, Duration::from_secs(20));
    run.stderr_has("SIGTERM: sending no new DELETE")
        .stderr_has("interrupted by SIGTERM while reading GitHub");
    assert_eq!(report["scope"], "the account's own apps");
    assert!(
        report["github"].is_null(),
        "not read, so not reported: {report}"
    );
    assert_eq!(sandbox.stats().requests, 0);
    assert_eq!(github.heads().len(), 1);
}

#[test]
fn a_delete_in_flight_at_a_signal_is_not_retried_after_it() {
    let sandbox = slow_deletes(Duration::ZERO);
    // The first DELETE deletes, but its answer comes after the client's timeout, which
    // would have the client try again.
    sandbox.inject(
        "DELETE /apps/{app}",
        Fault::Lost(Loss::Held(Duration::from_secs(60))),
        1,
    );
    let (child, _home) = Reaper::against(&sandbox)
        .args([
            "--timeout",
            "5s",
            "--retry-backoff",
            "10ms",
            "--grace",
            "1m",
        ])
        .args(["--concurrency", "1", "--format", "json"])
        .spawn();
    eventually("the first DELETE is in flight", || {
        sandbox.stats().faults.contains_key("lost-held")
    });
    let (_, report) = terminate(child, Duration::from_secs(30));
    assert_eq!(sandbox.stats().sent("DELETE"), 1, "{report}");
    assert_eq!(ids_with_outcome(&report, "unknown").len(), 1, "{report}");
    assert_eq!(
        ids_with_outcome(&report, "not-attempted").len(),
        29,
        "{report}"
    );
}

#[test]
fn a_signal_while_pipelines_are_listed_sends_nothing_after_it() {
    let sandbox = slow_deletes(Duration::ZERO);
    // An answer held far longer than the wait below: the signal must not wait for it.
    sandbox.inject("GET /pipelines", Fault::Delay(Duration::from_secs(25)), 1);
    let (child, _home) = Reaper::against(&sandbox)
        .args(["--pipelines", "--format", "json"])
        .spawn();
    let give_up = Instant::now() + Duration::from_secs(60);
    while !sandbox.stats().faults.contains_key("slow") {
        assert!(Instant::now() < give_up, "the pipelines were never listed");
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = sandbox.stats();
    terminate(child, Duration::from_secs(10));
    // The listing in flight is abandoned; no coupling is read, no pipeline deleted.
    let after = sandbox.stats();
    assert_eq!(after.requests, before.requests, "{:?}", after.by_status);
    assert_eq!(after.pipeline_deletes, 0);
}
