//! `--github-live-runs` through the binary: the sandbox holds the apps, a fake GitHub
//! the workflow runs, and the cutoff decides what the TTL alone would keep.

use std::time::Duration;

use chrono::{DateTime, Utc};
use heroku_sandbox::{Role, Sandbox, Seed};
use serde_json::Value;

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
        let (run, report) = reaper.json();
        run.code(0).stderr_has(why);
        assert_eq!(warnings(&run), 1, "{case}: {}", run.stderr);
        assert_eq!(names(sandbox.deleted()), [PAST_TTL], "{case}");
        assert_eq!(entry(&report, ORPHAN)["verdict"], "too-young", "{case}");
        let summary = &report["github"];
        assert!(summary["warning"].as_str().unwrap().contains(why), "{case}");
        assert!(summary["cutoff"].is_null(), "{case}");
        assert_eq!(summary["orphaned"], 0, "{case}");
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
