//! Room for the run (`--reserve-apps`) through the binary: the sandbox holds the apps
//! (its app limit is 100), a fake GitHub the workflow runs and their jobs, and the runs
//! end while the reaper waits.

use std::process::Child;
use std::time::Duration;

use chrono::{DateTime, Utc};
use heroku_sandbox::{Role, Sandbox, Seed};
use serde_json::Value;

use crate::fake_github::{Failure, FakeGithub, FakeRun, TOKEN, in_progress, run, succeeded};
use crate::reap::start;
use crate::reaper::{Reaper, Run, wait_within};
use crate::runner::Runner;
use crate::support::{Api, eventually};

const REPO: &str = "heroku/heroku-buildpack-ruby";
const CLEANUP: &str = "Delete stale Heroku test apps";
const THIS_RUN: u64 = 300;
const RUNNER: &str = "GitHub Actions 7";

fn ago(minutes: f64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::milliseconds((minutes * 60_000.0) as i64)
}

/// `n` young test apps made `seconds` ago, named after `tag`; gives their ids.
fn apps(sandbox: &Sandbox, tag: &str, n: usize, seconds: u64) -> Vec<String> {
    (0..n)
        .map(|i| {
            let name = format!("hatchet-t-{tag}{i:04x}");
            let age = Duration::from_secs(seconds);
            sandbox.add_app(&name, age, Role::Added).id
        })
        .collect()
}

/// A live run of `REPO` whose cleanup job succeeded `minutes` ago: admitted then.
fn admitted(id: u64, minutes: f64) -> FakeRun {
    FakeRun {
        jobs: vec![succeeded(CLEANUP, ago(minutes))],
        ..run(REPO, id, ago(minutes + 1.0))
    }
}

/// GitHub with this run, whose cleanup job is in progress on `RUNNER`, and `others`.
fn github(others: Vec<FakeRun>) -> FakeGithub {
    let github = FakeGithub::start_at("");
    github.add(FakeRun {
        jobs: vec![in_progress(CLEANUP, ago(0.2), RUNNER)],
        ..run(REPO, THIS_RUN, ago(0.3))
    });
    for other in others {
        github.add(other);
    }
    github
}

/// A cleanup step of this run that reserves 40 apps, looking every 200ms.
fn gate(sandbox: &Sandbox, github: &FakeGithub) -> Reaper {
    Reaper::against(sandbox)
        .env("GITHUB_API_URL", github.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_RUN_ID", THIS_RUN.to_string())
        .env("RUNNER_NAME", RUNNER)
        .args(["--reserve-apps", "40", "--room-poll", "200ms"])
}

/// How many times the live runs in progress were listed (their first page): once a look.
fn looks(github: &FakeGithub) -> usize {
    let listing = format!("GET /repos/{REPO}/actions/runs?status=in_progress");
    github
        .requests()
        .iter()
        .filter(|request| request.starts_with(&listing) && !request.contains("&page="))
        .count()
}

/// Starts `reaper` with a JSON report, and waits until it has looked `n` times.
fn waiting(reaper: Reaper, github: &FakeGithub, n: usize) -> (Child, tempfile::TempDir) {
    let started = reaper.args(["--format", "json"]).spawn();
    eventually("the reaper waits for room", || looks(github) >= n);
    started
}

fn finished(child: Child) -> (Run, Value) {
    let run = wait_within(child, Duration::from_secs(60));
    let report = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}\n{}", run.stdout, run.stderr));
    (run, report)
}

fn held_by(report: &Value) -> Vec<u64> {
    let held = report["room"]["held_by"].as_array().expect("held_by");
    held.iter()
        .map(|lease| lease["run_id"].as_u64().unwrap())
        .collect()
}

#[test]
fn two_admitted_runs_of_forty_make_a_third_wait_until_one_ends() {
    let sandbox = start(Seed::empty());
    let first = apps(&sandbox, "a", 20, 300);
    apps(&sandbox, "b", 20, 300);
    let github = github(vec![admitted(1, 8.0), admitted(2, 7.0)]);
    let (child, _home) = waiting(gate(&sandbox, &github), &github, 2);
    // Run 1 ends: its tests delete their apps, and GitHub says it is over.
    let api = Api::new(&sandbox);
    for id in &first {
        assert_eq!(api.delete(&format!("/apps/{id}")).status, 200);
    }
    github.end(REPO, 1, "success");
    let (run, report) = finished(child);
    run.code(0).stderr_has(
        "waiting for room: this run reserves 40 apps and 20 are free (100 apps - 0 other - 80 reserved - 0 test apps outside reservations = 20 free); held by heroku/heroku-buildpack-ruby run 1 (40 apps, admitted ",
    );
    run.stderr_has("), heroku/heroku-buildpack-ruby run 2 (40 apps, admitted ");
    let room = &report["room"];
    assert_eq!(room["outcome"], "admitted", "{room:#}");
    assert_eq!(room["admitted"], true);
    assert!(room["looks"].as_u64().unwrap() >= 3, "{room:#}");
    assert!(room["waited_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(held_by(&report), [2]);
    assert_eq!(room["room"]["free"], 60);
    assert_eq!(report["status"], "done");
    assert!(
        sandbox.deleted().len() == 20,
        "only run 1's own teardown deleted"
    );
    // Run 1's jobs were read once: an admitted run stays so for its attempt.
    let jobs_of_1 = github
        .requests()
        .iter()
        .filter(|request| request.contains("/actions/runs/1/jobs"))
        .count();
    assert_eq!(jobs_of_1, 1);
}

#[test]
fn a_cancelled_run_frees_its_room_and_its_leaked_apps_still_count() {
    let sandbox = start(Seed::empty());
    // Run 1's apps, made before run 2 was admitted, and run 2's.
    apps(&sandbox, "a", 20, 360);
    apps(&sandbox, "b", 20, 240);
    let github = github(vec![admitted(1, 8.0), admitted(2, 5.0)]);
    let (child, _home) = waiting(gate(&sandbox, &github), &github, 2);
    github.end(REPO, 1, "cancelled");
    let (run, report) = finished(child);
    run.code(0);
    let room = &report["room"];
    assert_eq!(room["outcome"], "admitted", "{room:#}");
    assert_eq!(held_by(&report), [2]);
    // Run 1's 20 leaked apps are no admitted run's: they count beside run 2's 40.
    let count = &room["room"];
    assert_eq!(
        (
            &count["test_apps"],
            &count["reserved"],
            &count["outside_reservations"],
            &count["free"]
        ),
        (
            &Value::from(40),
            &Value::from(40),
            &Value::from(20),
            &Value::from(40)
        )
    );
    assert!(
        sandbox.deleted().is_empty(),
        "the leaks are younger than the TTL"
    );
}

#[test]
fn with_github_live_runs_a_cancelled_runs_leaks_go_at_once() {
    let sandbox = start(Seed::empty());
    // Run 1's apps, made before run 2 was admitted (4 minutes ago), and run 2's.
    let leaks = apps(&sandbox, "a", 40, 270);
    apps(&sandbox, "b", 40, 180);
    let github = github(vec![admitted(1, 6.0), admitted(2, 4.0)]);
    let reaper = gate(&sandbox, &github).args(["--github-live-runs", "--skew", "10s"]);
    let (child, _home) = waiting(reaper, &github, 2);
    github.end(REPO, 1, "cancelled");
    let (run, report) = finished(child);
    run.code(0);
    assert_eq!(
        report["room"]["outcome"], "admitted",
        "{:#}",
        report["room"]
    );
    // No live run can own them: made before run 2's admission, and this run's tests
    // wait for it. Younger than the TTL, they go all the same.
    let mut deleted: Vec<String> = sandbox.deleted().into_iter().map(|app| app.id).collect();
    deleted.sort();
    let mut leaks = leaks;
    leaks.sort();
    assert_eq!(deleted, leaks);
    let reason = report["apps"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "orphaned: created before every live run; earliest is {REPO} run 2, admitted "
        )),
        "{reason}"
    );
    assert_eq!(report["room"]["room"]["free"], 60);
}

#[test]
fn a_run_is_not_blocked_by_its_own_reservation_or_apps() {
    let sandbox = start(Seed::empty());
    // This run's cleanup job succeeded 5 minutes ago; its tests made 40 apps since, and
    // now a later job of the same run asks for room.
    apps(&sandbox, "c", 40, 240);
    let github = FakeGithub::start_at("");
    github.add(FakeRun {
        jobs: vec![
            succeeded(CLEANUP, ago(5.0)),
            in_progress("test (heroku-24)", ago(4.0), RUNNER),
        ],
        ..run(REPO, THIS_RUN, ago(6.0))
    });
    github.add(admitted(1, 3.0));
    let (run, report) = gate(&sandbox, &github)
        .args(["--admission-job", CLEANUP])
        .json();
    run.code(0);
    let room = &report["room"];
    assert_eq!(room["outcome"], "admitted", "{room:#}");
    assert_eq!(room["looks"], 1);
    let reason = room["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("this run's `{CLEANUP}` job succeeded at "))
            && reason.ends_with(": the run holds its room already"),
        "{reason}"
    );
    assert!(!run.stderr.contains("waiting for room"), "{}", run.stderr);
}

#[test]
fn with_github_down_it_waits_for_the_apps_alone_and_says_so() {
    let sandbox = start(Seed::empty());
    let ids = apps(&sandbox, "d", 70, 180);
    let github = github(vec![admitted(1, 8.0), admitted(2, 7.0)]);
    github.fail(Failure {
        status: 500,
        times: 100_000,
        rate_limited: false,
    });
    let runner = Runner::new();
    let reaper = gate(&sandbox, &github)
        .args(["--retries", "0"])
        .in_runner(&runner);
    let (child, _home) = reaper.spawn();
    // Each look asks GitHub once, for this run's jobs, and is answered 500.
    eventually("the reaper looks twice", || github.requests().len() >= 2);
    let api = Api::new(&sandbox);
    for id in &ids[..10] {
        assert_eq!(api.delete(&format!("/apps/{id}")).status, 200);
    }
    let run = wait_within(child, Duration::from_secs(60));
    run.code(0);
    let warning = format!(
        "warning: cannot read GitHub's runs, so only the apps on the account count (the plain wait for room): `GET /repos/{REPO}/actions/runs/{THIS_RUN}/jobs?per_page=100` answered 500"
    );
    assert_eq!(run.stderr.matches(&warning).count(), 1, "{}", run.stderr);
    run.stderr_has("waiting for room: this run reserves 40 apps and 30 are free (100 apps - 0 other - 0 reserved - 70 test apps outside reservations = 30 free); no run holds room");
    run.stdout_has("::warning title=heroku-reaper%3A room::cannot read GitHub's runs");
    let outputs = runner.outputs();
    assert_eq!(outputs["admitted"], "true");
    assert!(
        outputs["waited-seconds"].parse::<u64>().is_ok(),
        "{outputs:?}"
    );
    let summary = runner.summary();
    assert!(
        summary.contains("### Room for this run\n\nAdmitted after "),
        "{summary}"
    );
    assert!(
        summary.contains("> cannot read GitHub's runs, so only the apps"),
        "{summary}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&outputs["report"]).unwrap()).unwrap();
    assert_eq!(report["room"]["room"]["free"], 40);
    assert!(
        report["room"]["github_warning"]
            .as_str()
            .unwrap()
            .contains("answered 500")
    );
}

#[test]
fn a_reservation_larger_than_the_account_fails_at_once_with_the_numbers() {
    let sandbox = start(Seed::empty());
    for n in 0..10 {
        sandbox.add_app(
            &format!("my-site-{n}"),
            Duration::from_secs(86_400),
            Role::Other,
        );
    }
    let (run, report) = Reaper::against(&sandbox)
        .args(["--reserve-apps", "95", "--room-poll", "200ms"])
        .json();
    run.code(1).stderr_has(
        "error: this run reserves 95 apps (`--reserve-apps`), more than the account can ever give it: 100 apps (`--account-limit`) - 10 other apps = 90. Lower `--reserve-apps`",
    );
    assert_eq!(report["status"], "limit-held");
    assert_eq!(report["room"]["outcome"], "too-large");
    assert_eq!(report["room"]["looks"], 1);
    assert_eq!(report["room"]["admitted"], false);
}

#[test]
fn with_no_room_in_time_it_fails_or_proceeds_as_told() {
    let sandbox = start(Seed::empty());
    apps(&sandbox, "e", 80, 180);
    let github = github(vec![]);
    let fails = gate(&sandbox, &github).args(["--wait-for-room", "1s"]);
    let (run, report) = fails.json();
    run.code(1).stderr_has(
        "error: no room for this run after `--wait-for-room 1s`: it reserves 40 apps and 20 are free (100 apps - 0 other - 0 reserved - 80 test apps outside reservations = 20 free). Its tests would meet the app limit",
    );
    assert_eq!(report["status"], "limit-held");
    assert_eq!(report["room"]["outcome"], "no-room");
    assert!(report["room"]["looks"].as_u64().unwrap() >= 2);

    let runner = Runner::new();
    let proceeds = gate(&sandbox, &github)
        .args(["--wait-for-room", "1s", "--if-no-room", "proceed"])
        .in_runner(&runner);
    let run = proceeds.run();
    run.code(0)
        .stderr_has("warning: no room for this run after `--wait-for-room 1s`")
        .stderr_has("proceeding all the same (`--if-no-room proceed`)");
    run.stdout_has("::warning title=heroku-reaper%3A no room::no room for this run");
    let outputs = runner.outputs();
    assert_eq!(outputs["admitted"], "false");
    assert!(outputs["waited-seconds"].parse::<u64>().unwrap() >= 1);
    assert!(
        runner
            .summary()
            .contains("No room in time; proceeding after ")
    );
}

#[test]
fn the_deadline_ends_the_wait_as_it_ends_a_run() {
    let sandbox = start(Seed::empty());
    apps(&sandbox, "f", 80, 180);
    let github = github(vec![]);
    let (run, report) = gate(&sandbox, &github)
        .args(["--wait-for-room", "2s", "--deadline", "2s"])
        .json();
    run.code(5);
    assert_eq!(report["status"], "deadline-reached");
    assert_eq!(report["room"]["outcome"], "stopped");
    assert_eq!(
        report["message"],
        "stopped at `--deadline` while waiting for room for this run; its tests should not start"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_ends_the_wait_with_its_code() {
    let sandbox = start(Seed::empty());
    apps(&sandbox, "f", 80, 180);
    let github = github(vec![]);
    let (child, _home) = waiting(gate(&sandbox, &github), &github, 1);
    crate::signals::send("TERM", &child);
    let (run, report) = finished(child);
    run.code(143);
    assert_eq!(report["status"], "interrupted");
    assert_eq!(report["signal"], "SIGTERM");
    assert_eq!(report["room"]["outcome"], "stopped");
}
