//! `--github-live-runs` through the binary: the sandbox holds the apps, a fake GitHub
//! the workflow runs, and the cutoff decides what the TTL alone would keep.

use std::time::Duration;

use chrono::{DateTime, Utc};
use heroku_sandbox::{Role, Sandbox, Seed};
use serde_json::{Value, json};

use crate::fake_github::{Failure, FakeGithub, FakeRun, TOKEN, run};
use crate::reap::start;
use crate::reaper::{Reaper, Run};
use crate::support::named;

const RUBY: &str = "heroku/heroku-buildpack-ruby";
const PYTHON: &str = "heroku/heroku-buildpack-python";
const CURRENT_RUN: u64 = 100;

const PAST_TTL: &str = "hatchet-t-00000000aa";
const ORPHAN: &str = "hatchet-t-00000000bb";
const IN_SKEW: &str = "hatchet-t-00000000cc";
const YOUNG: &str = "hatchet-t-00000000dd";

fn minutes_ago(minutes: f64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::milliseconds((minutes * 60_000.0) as i64)
}

/// Four matching apps and nothing else: one past the 10m TTL, one younger but from
/// before every live run, one after the cutoff but inside the skew margin, one young.
fn sandbox() -> Sandbox {
    let sandbox = start(Seed::empty());
    for (name, minutes) in [(PAST_TTL, 30), (ORPHAN, 8), (YOUNG, 1)] {
        sandbox.add_app(name, Duration::from_secs(minutes * 60), Role::Added);
    }
    sandbox.add_app(IN_SKEW, Duration::from_secs(330), Role::Added);
    sandbox
}

/// Ruby's current run (3m ago) and a queued one; Python's five runs, started 1 to 5
/// minutes ago, over three pages with the earliest, run 205, on the last. With
/// `--skew 1m` the cutoff is 6 minutes ago.
fn github(prefix: &str) -> FakeGithub {
    let github = FakeGithub::start_at(prefix);
    github.add(run(RUBY, CURRENT_RUN, minutes_ago(3.0)));
    github.add(FakeRun {
        status: "queued",
        started_at: None,
        created_at: minutes_ago(0.5),
        ..run(RUBY, 101, minutes_ago(0.5))
    });
    for n in 1..=5 {
        github.add(run(PYTHON, 200 + n, minutes_ago(n as f64)));
    }
    github
}

/// A reaper in a job of Ruby's CI that shares the account with Python's.
fn reaper(sandbox: &Sandbox, github: &FakeGithub) -> Reaper {
    Reaper::against(sandbox)
        .env("GITHUB_API_URL", github.url())
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", RUBY)
        .env("GITHUB_RUN_ID", CURRENT_RUN.to_string())
        .args([
            "--github-live-runs",
            "--github-repo",
            PYTHON,
            "--skew",
            "1m",
        ])
}

fn names(apps: Vec<heroku_sandbox::SandboxApp>) -> Vec<String> {
    let mut names: Vec<String> = apps.into_iter().map(|app| app.name).collect();
    names.sort();
    names
}

fn entry<'a>(report: &'a Value, name: &str) -> &'a Value {
    named(&report["apps"], name)
}

fn warnings(run: &Run) -> usize {
    run.stderr
        .lines()
        .filter(|line| line.contains("warning: cannot read GitHub"))
        .count()
}

#[test]
fn apps_from_before_every_live_run_go_and_later_ones_wait_for_the_ttl() {
    let sandbox = sandbox();
    let github = github("");
    let (run, report) = reaper(&sandbox, &github).json();
    run.code(0);
    assert_eq!(warnings(&run), 0, "{}", run.stderr);
    assert_eq!(names(sandbox.deleted()), [PAST_TTL, ORPHAN]);
    assert_eq!(names(sandbox.apps()), [IN_SKEW, YOUNG]);

    assert_eq!(entry(&report, PAST_TTL)["reason"], "older than 10m");
    let orphan = entry(&report, ORPHAN)["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        orphan.starts_with(&format!(
            "orphaned: created before every live run; earliest is {PYTHON} run 205, started "
        )),
        "{orphan}"
    );
    for kept in [IN_SKEW, YOUNG] {
        assert_eq!(entry(&report, kept)["verdict"], "too-young");
        assert_eq!(
            entry(&report, kept)["reason"],
            "younger than 10m; a test may still use it"
        );
    }
    let summary = &report["github"];
    assert_eq!(summary["live_runs"], 7);
    assert_eq!(summary["orphaned"], 1);
    assert_eq!(summary["repos"], serde_json::json!([RUBY, PYTHON]));
    assert!(summary["warning"].is_null());
    let cutoff: DateTime<Utc> = summary["cutoff"].as_str().unwrap().parse().unwrap();
    let expected = minutes_ago(6.0);
    assert!((cutoff - expected).num_seconds().abs() < 10, "{cutoff}");

    // Every live status of both repositories, Python's in-progress runs over three
    // pages, and no need to fetch the current run: it was listed.
    let requests = github.requests();
    for repo in [RUBY, PYTHON] {
        for status in ["requested", "queued", "pending", "waiting", "in_progress"] {
            let listing = format!("GET /repos/{repo}/actions/runs?status={status}&per_page=100");
            assert!(requests.contains(&listing), "{listing} in {requests:#?}");
        }
    }
    assert!(
        requests.iter().any(|r| r.starts_with(&format!(
            "GET /repos/{PYTHON}/actions/runs?status=in_progress"
        )) && r.ends_with("page=3")),
        "{requests:#?}"
    );
    assert_eq!(requests.len(), 10 + 2);
}

#[test]
fn the_dry_run_plan_gives_each_verdict_its_reason() {
    let sandbox = sandbox();
    let github = github("");
    let run = reaper(&sandbox, &github).args(["--dry-run"]).run();
    run.code(0);
    // The plan as a user sees it (`cargo test -- --nocapture` shows it).
    println!("{}", run.stdout);
    let line = |name: &str| {
        run.stdout
            .lines()
            .find(|line| line.contains(name))
            .unwrap_or_else(|| panic!("{name} is not in the plan:\n{}", run.stdout))
            .to_string()
    };
    assert!(line(PAST_TTL).starts_with("delete") && line(PAST_TTL).ends_with("older than 10m"));
    assert!(line(ORPHAN).starts_with("delete"));
    assert!(
        line(ORPHAN).contains(&format!(
            "orphaned: created before every live run; earliest is {PYTHON} run 205, started"
        )),
        "{}",
        line(ORPHAN)
    );
    for kept in [IN_SKEW, YOUNG] {
        assert!(line(kept).starts_with("too young"), "{}", line(kept));
        assert!(line(kept).ends_with("younger than 10m; a test may still use it"));
    }
    run.stdout_has("github: 7 live runs in heroku/heroku-buildpack-ruby, heroku/heroku-buildpack-python; 1 app younger than the TTL");
    assert!(sandbox.deleted().is_empty());
    assert_eq!(sandbox.stats().deletes, 0);
}

#[test]
fn the_current_run_counts_even_when_no_listing_has_it_yet() {
    let sandbox = sandbox();
    // On GitHub Enterprise Server, under `/api/v3`.
    let github = github("/api/v3");
    github.add(FakeRun {
        listed: false,
        ..run(RUBY, 99, minutes_ago(9.0))
    });
    let (run, report) = reaper(&sandbox, &github).env("GITHUB_RUN_ID", "99").json();
    run.code(0);
    // The cutoff is 10 minutes ago now: only the TTL deletes.
    assert_eq!(names(sandbox.deleted()), [PAST_TTL]);
    assert_eq!(entry(&report, ORPHAN)["verdict"], "too-young");
    let earliest = report["github"]["earliest"].as_str().unwrap();
    assert!(
        earliest.starts_with(&format!("{RUBY} run 99, started ")),
        "{earliest}"
    );
    assert_eq!(report["github"]["live_runs"], 8);
    assert!(
        github
            .requests()
            .contains(&format!("GET /repos/{RUBY}/actions/runs/99")),
        "{:#?}",
        github.requests()
    );
}

#[test]
fn when_github_cannot_be_read_only_the_ttl_decides_with_one_warning() {
    let failing = |status, rate_limited| Failure {
        status,
        times: 1_000,
        rate_limited,
    };
    let cases: [(&str, Option<Failure>, Option<&str>, &str); 6] = [
        (
            "forbidden",
            Some(failing(403, false)),
            None,
            "answered 403: Resource not accessible by integration; the token needs `actions: read`",
        ),
        (
            "server errors",
            Some(failing(502, false)),
            None,
            "answered 502: Server Error",
        ),
        (
            "rate limited",
            Some(failing(403, true)),
            None,
            "rate limit ran out",
        ),
        (
            "a rejected token",
            None,
            Some("ghs_wrong"),
            "answered 401: Bad credentials; check `GITHUB_TOKEN`",
        ),
        ("no token", None, Some(""), "`GITHUB_TOKEN` is not set"),
        (
            "an unknown current run",
            None,
            None,
            "`GET /repos/heroku/heroku-buildpack-ruby/actions/runs/404` answered 404",
        ),
    ];
    for (case, failure, token, why) in cases {
        let sandbox = sandbox();
        let github = github("");
        if let Some(failure) = failure {
            github.fail(failure);
        }
        let mut reaper = reaper(&sandbox, &github);
        if let Some(token) = token {
            reaper = reaper.env("GITHUB_TOKEN", token);
        }
        if case == "an unknown current run" {
            reaper = reaper.env("GITHUB_RUN_ID", "404");
        }
        falls_back_to_the_ttl(&sandbox, reaper, why);
        match case {
            // 5xx are retried (`--retries 3`), then given up on.
            "server errors" => assert_eq!(github.requests().len(), 4, "{case}"),
            "no token" => assert!(github.requests().is_empty(), "{case}"),
            _ => {}
        }
    }
}

/// Arguments, environment, and the start of the error it must give.
type Refused = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[test]
fn bad_github_usage_is_refused_before_any_request() {
    let sandbox = sandbox();
    let github = github("");
    let cases: [Refused; 6] = [
        (
            &["--github-live-runs"],
            &[],
            "`--github-live-runs` needs the repositories",
        ),
        (
            &["--github-live-runs", "--github-repo", "heroku"],
            &[],
            "`--github-repo`: `heroku` is not `OWNER/NAME`",
        ),
        (
            &["--github-repo", PYTHON],
            &[],
            "`--github-repo heroku/heroku-buildpack-python` has no effect without `--github-live-runs`",
        ),
        (
            &["--github-live-runs"],
            &[("GITHUB_REPOSITORY", RUBY), ("GITHUB_RUN_ID", "latest")],
            "`GITHUB_RUN_ID` is `latest`, not a run id",
        ),
        (
            &["--github-live-runs", "--github-repo", PYTHON],
            &[("GITHUB_API_URL", "http://github.example.com/api/v3")],
            "`GITHUB_API_URL=http://github.example.com/api/v3` is plain http to another machine",
        ),
        (
            &[
                "--github-live-runs",
                "--github-repo",
                PYTHON,
                "--skew",
                "soon",
            ],
            &[],
            "`--skew`: `soon` is not a duration",
        ),
    ];
    for (args, env, message) in cases {
        let mut reaper = Reaper::against(&sandbox).env("GITHUB_TOKEN", TOKEN);
        for (name, value) in env {
            reaper = reaper.env(name, value);
        }
        let run = reaper.args(args).run();
        run.code(2).stderr_has(&format!("error: {message}"));
    }
    assert_eq!(sandbox.stats().requests, 0);
    assert!(github.requests().is_empty());
}

/// Runs `reaper`, which GitHub cannot be wholly read for: exit 0, one warning that says
/// `why`, and only the TTL deciding: the orphan stays.
fn falls_back_to_the_ttl(sandbox: &Sandbox, reaper: Reaper, why: &str) -> Value {
    let (run, report) = reaper.json();
    run.code(0).stderr_has(why);
    assert_eq!(warnings(&run), 1, "{}", run.stderr);
    assert_eq!(names(sandbox.deleted()), [PAST_TTL], "{why}");
    assert_eq!(entry(&report, ORPHAN)["verdict"], "too-young", "{why}");
    let summary = &report["github"];
    assert!(
        summary["warning"].as_str().unwrap().contains(why),
        "{summary}"
    );
    assert!(summary["cutoff"].is_null(), "{summary}");
    assert_eq!(summary["orphaned"], 0, "{summary}");
    report
}

#[test]
fn a_listing_github_cut_short_at_1000_runs_leaves_the_ttl_to_decide() {
    // 1,500 runs in progress: GitHub lists the 1,000 newest (started in the last five
    // minutes) in 10 pages of 100; the 500 it leaves out started an hour ago, and may
    // own the apps of 25 minutes. From the listed runs alone, those would be orphans.
    let github = FakeGithub::start_at("");
    github.page_size(100);
    for n in 0..1_500_u64 {
        let minutes = if n < 1_000 {
            1.0 + n as f64 / 250.0
        } else {
            60.0
        };
        github.add(run(PYTHON, 10_000 + n, minutes_ago(minutes)));
    }
    let sandbox = start(Seed::empty());
    let younger_than_the_ttl = ["hatchet-t-0000025aaa", "hatchet-t-0000025bbb"];
    for name in younger_than_the_ttl {
        sandbox.add_app(name, Duration::from_secs(25 * 60), Role::Added);
    }
    sandbox.add_app(PAST_TTL, Duration::from_secs(2 * 3600), Role::Added);
    let (run, report) = Reaper::against(&sandbox)
        .env("GITHUB_API_URL", github.url())
        .env("GITHUB_TOKEN", TOKEN)
        .args(["--github-live-runs", "--github-repo", PYTHON])
        .args(["--older-than", "1h"])
        .json();
    let why = "`GET /repos/heroku/heroku-buildpack-python/actions/runs?status=in_progress&per_page=100` counts 1500 runs but lists 1000; GitHub lists at most 1,000 for a status, newest first, so the earliest live runs are not known";
    run.code(0).stderr_has(why);
    assert_eq!(warnings(&run), 1, "{}", run.stderr);
    assert_eq!(names(sandbox.deleted()), [PAST_TTL]);
    for name in younger_than_the_ttl {
        assert_eq!(entry(&report, name)["verdict"], "too-young", "{name}");
    }
    assert_eq!(report["github"]["warning"], why);
    let pages = github
        .requests()
        .iter()
        .filter(|request| request.contains("status=in_progress"))
        .count();
    assert_eq!(pages, 10);
}

#[test]
fn answers_not_of_the_documented_shape_leave_the_ttl_to_decide() {
    let started = minutes_ago(3.0).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let one_run = json!({"id": 7, "created_at": started, "run_started_at": started});
    let shapes = [
        (json!({"items": []}), "missing field `total_count`"),
        (
            json!({"total_count": 1, "jobs": []}),
            "missing field `workflow_runs`",
        ),
        (json!({"total_count": 0}), "missing field `workflow_runs`"),
        (json!({"workflow_runs": []}), "missing field `total_count`"),
        (
            json!({"total_count": "0", "workflow_runs": []}),
            "invalid type: string \"0\", expected u64",
        ),
        (
            json!({"total_count": -1, "workflow_runs": []}),
            "invalid value: integer `-1`, expected u64",
        ),
        (json!([]), "not an object"),
        (json!([0, []]), "not an object"),
        (json!(null), "not an object"),
        (
            json!({"total_count": 1, "workflow_runs": [{"id": 7}]}),
            "missing field `created_at`",
        ),
        (
            json!({"total_count": 1, "workflow_runs": [{"id": "7", "created_at": started}]}),
            "invalid type: string \"7\", expected u64",
        ),
        (
            json!({"total_count": 3, "workflow_runs": [one_run]}),
            "counts 3 runs but lists 1",
        ),
    ];
    for (shape, why) in shapes {
        let sandbox = sandbox();
        let github = github("");
        github.answer_lists_with(shape.clone(), 1_000);
        let report = falls_back_to_the_ttl(&sandbox, reaper(&sandbox, &github), why);
        let warning = report["github"]["warning"].as_str().unwrap();
        if !why.starts_with("counts") {
            assert!(
                warning.contains("answered with JSON not of the shape GitHub documents"),
                "{shape}: {warning}"
            );
        }
    }
}

#[test]
fn a_next_page_on_another_origin_gets_no_request_and_the_ttl_decides() {
    let foreign = FakeGithub::start_at("");
    let github = github("");
    let own = github.url();
    // Another port, then the same host and port on another scheme: the https to http
    // downgrade of a real API, turned around for loopback.
    let https = own.replacen("http://", "https://", 1);
    for origin in [foreign.url(), https] {
        let sandbox = sandbox();
        github.link_next_pages_to(&origin);
        let why = format!(
            "is on `{origin}`, not on `GITHUB_API_URL`'s origin `{own}`; the token is sent to no other origin, so not every live run was seen"
        );
        falls_back_to_the_ttl(&sandbox, reaper(&sandbox, &github), &why);
    }
    assert!(foreign.requests().is_empty(), "{:?}", foreign.requests());
    // The fake itself saw no page past the first: each link was refused unfollowed.
    assert!(
        github.requests().iter().all(|r| !r.contains("page=2")),
        "{:#?}",
        github.requests()
    );
}

#[test]
fn a_listing_past_the_body_limit_leaves_the_ttl_to_decide() {
    let sandbox = sandbox();
    let github = github("");
    github.pad_lists(100 << 20);
    let why = "answered with a body over 32 MiB, far more than any page of workflow runs; stopped reading it";
    falls_back_to_the_ttl(&sandbox, reaper(&sandbox, &github), why);
}
