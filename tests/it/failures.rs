//! Credentials, API errors, retries and timeouts: each ends as documented, and none
//! deletes anything it should not.

use std::time::Duration;

use heroku_sandbox::{Fault, Options, Role, Sandbox, Seed, Server};

use crate::reap::start;
use crate::reaper::Reaper;

#[test]
fn no_key_anywhere_names_both_places_and_sends_nothing() {
    let sandbox = start(Seed::default());
    let run = Reaper::against(&sandbox).env_remove("HEROKU_API_KEY").run();
    run.code(2)
        .stderr_has("HEROKU_API_KEY")
        .stderr_has(".netrc")
        .stderr_has("machine api.heroku.com");
    assert_eq!(sandbox.stats().requests, 0);
}

#[test]
fn the_netrc_entry_is_used_when_the_environment_has_no_key() {
    let sandbox = start(Seed::default());
    let reaper = Reaper::against(&sandbox).env_remove("HEROKU_API_KEY");
    std::fs::write(
        reaper.home().join(".netrc"),
        format!(
            "machine git.heroku.com\n  login ci@example.com\n  password wrong\nmachine api.heroku.com\n  login ci@example.com\n  password {}\n",
            sandbox.token()
        ),
    )
    .unwrap();
    reaper.run().code(0);
    assert_eq!(sandbox.deleted().len(), 30);
}

/// A netrc with the sandbox's key, at `mode`, in the reaper's home.
#[cfg(unix)]
fn netrc_at(reaper: &Reaper, sandbox: &Sandbox, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let netrc = reaper.home().join(".netrc");
    let entry = format!(
        "machine api.heroku.com login ci@example.com password {}\n",
        sandbox.token()
    );
    std::fs::write(&netrc, entry).unwrap();
    std::fs::set_permissions(&netrc, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A key that is set but not text is an error, not a reason to take another key from
/// `~/.netrc`, even a good one: nothing is sent, and its bytes are not shown.
#[cfg(unix)]
#[test]
fn a_key_that_is_not_text_is_refused_rather_than_replaced_by_netrc() {
    use std::os::unix::ffi::OsStrExt;
    let sandbox = start(Seed::default());
    let reaper = Reaper::against(&sandbox);
    netrc_at(&reaper, &sandbox, 0o644);
    let key = std::ffi::OsStr::from_bytes(b"ci-key-\xff");
    let run = reaper.env("HEROKU_API_KEY", key).run();
    run.code(2)
        .stderr_has("`HEROKU_API_KEY` is set but is not UTF-8 text");
    assert!(!run.stderr.contains("ci-key") && !run.stdout.contains("ci-key"));
    assert_eq!(sandbox.stats().requests, 0);
}

#[cfg(unix)]
#[test]
fn a_netrc_other_users_can_read_is_warned_about_and_used() {
    let sandbox = start(Seed::default());
    let open = Reaper::against(&sandbox).env_remove("HEROKU_API_KEY");
    netrc_at(&open, &sandbox, 0o644);
    let netrc = open.home().join(".netrc");
    let run = open.run();
    run.code(0)
        .stderr_has(&format!(
            "warning: `{}` holds the Heroku API key and other users of this machine can read it (mode 0644); `chmod 600 {}`",
            netrc.display(),
            netrc.display()
        ));
    assert_eq!(sandbox.deleted().len(), 30);
    let private = Reaper::against(&sandbox).env_remove("HEROKU_API_KEY");
    netrc_at(&private, &sandbox, 0o600);
    let run = private.run();
    run.code(0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn a_rejected_key_exits_2_naming_where_it_came_from() {
    let sandbox = start(Seed::default());
    let run = Reaper::against(&sandbox)
        .env("HEROKU_API_KEY", "not-the-key")
        .run();
    run.code(2)
        .stderr_has("401 `unauthorized`")
        .stderr_has("`HEROKU_API_KEY`");
    assert_eq!(sandbox.stats().sent("DELETE"), 0);
}

#[test]
fn a_406_is_reported_with_its_id_and_request_id() {
    let sandbox = start(Seed::default());
    sandbox.inject("GET /apps", Fault::Status(406), 1);
    let run = Reaper::against(&sandbox).run();
    run.code(1)
        .stderr_has("406 `not_acceptable`")
        .stderr_has("Request-Id");
    assert_eq!(sandbox.stats().sent("DELETE"), 0);
}

#[test]
fn a_burst_of_5xx_is_retried_and_the_run_succeeds() {
    let sandbox = start(Seed::default());
    sandbox.inject("GET /apps", Fault::Status(503), 2);
    sandbox.inject("DELETE /apps/{app}", Fault::Status(500), 2);
    let (run, report) = Reaper::against(&sandbox).json();
    run.code(0);
    assert_eq!(sandbox.deleted().len(), 30);
    assert_eq!(report["counts"]["failed"], 0);
    assert!(
        report["requests"]["retries"].as_u64().unwrap() >= 4,
        "{}",
        report["requests"]
    );
}

#[test]
fn deletes_that_keep_failing_end_in_exit_1_with_request_ids() {
    let sandbox = start(Seed::default());
    sandbox.inject("DELETE /apps/{app}", Fault::Status(500), 1_000);
    let (run, report) = Reaper::against(&sandbox)
        .args(["--retries", "1", "--concurrency", "4"])
        .json();
    run.code(1);
    assert!(sandbox.deleted().is_empty());
    assert_eq!(report["status"], "failed");
    let failed: Vec<&serde_json::Value> = report["apps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|app| app["outcome"] == "failed")
        .collect();
    assert!(!failed.is_empty());
    for app in &failed {
        assert_eq!(app["http_status"], 500);
        assert!(
            app["request_id"].as_str().is_some_and(|id| id.len() == 36),
            "{app}"
        );
    }
    // Failing deletes stop the run early instead of hammering a broken API: the probe,
    // then a batch of 4 in flight, one more after the first of them fails, then stop.
    // Each DELETE is tried twice (`--retries 1`).
    assert!(
        sandbox.stats().sent("DELETE") <= 2 * (1 + 4 + 1),
        "{}",
        sandbox.stats().sent("DELETE")
    );
    // Every DELETE sent is reported failed; the rest, not attempted.
    assert_eq!(
        report["counts"]["failed"].as_u64().unwrap(),
        sandbox.stats().sent("DELETE") / 2
    );
    assert_eq!(
        report["counts"]["failed"].as_u64().unwrap()
            + report["counts"]["not_attempted"].as_u64().unwrap(),
        30
    );
}

/// A sandbox of 20 stale apps whose rate-limit pool starts at `remaining`.
fn with_pool(remaining: u32, refill_per_minute: f64) -> Sandbox {
    Sandbox::start(Options {
        seed: Seed {
            stale: 20,
            ..Seed::default()
        },
        server: Server {
            rate_limit_remaining: Some(remaining),
            rate_limit_refill_per_minute: refill_per_minute,
            ..Server::default()
        },
        ..Options::default()
    })
    .unwrap()
}

#[test]
fn a_nearly_empty_pool_slows_the_deletes_instead_of_drawing_429s() {
    let sandbox = with_pool(3, 1_200.0);
    let (run, report) = Reaper::against(&sandbox)
        .args(["--rate-limit-refill", "1200", "--reserve-rate-limit", "0"])
        .json();
    run.code(0);
    assert_eq!(sandbox.deleted().len(), 20);
    let stats = sandbox.stats();
    // Whether the last token goes depends on when the refill lands against the
    // requests in flight; either way the run had to wait for the refill.
    assert!(
        stats.min_remaining <= 1,
        "the pool ran all but dry: {stats:?}"
    );
    assert_eq!(
        stats.rate_limited, 0,
        "the throttle waited for the refill instead"
    );
    assert_eq!(report["requests"]["rate_limited"], 0);
}

#[test]
fn a_429_storm_is_throttled_through() {
    let sandbox = start(Seed {
        stale: 20,
        ..Seed::default()
    });
    // Another client drains the pool: six 429s the throttle could not foresee.
    sandbox.inject("DELETE /apps/{app}", Fault::Status(429), 6);
    let (run, report) = Reaper::against(&sandbox)
        .args(["--rate-limit-refill", "6000", "--reserve-rate-limit", "0"])
        .json();
    run.code(0);
    assert_eq!(sandbox.deleted().len(), 20);
    assert_eq!(sandbox.stats().rate_limited, 6);
    assert_eq!(report["requests"]["rate_limited"], 6);
    assert_eq!(report["counts"]["failed"], 0);
}

#[test]
fn the_reserve_is_never_crossed_and_stopping_there_exits_3() {
    let sandbox = with_pool(30, 0.001);
    let (run, report) = Reaper::against(&sandbox)
        .args(["--reserve-rate-limit", "15"])
        .json();
    run.code(3).stderr_has("--reserve-rate-limit 15");
    let stats = sandbox.stats();
    assert!(stats.min_remaining >= 15, "{stats:?}");
    assert_eq!(report["status"], "reserve-reached");
    let deleted = sandbox.deleted().len() as u64;
    assert!(deleted > 0 && deleted < 20, "{deleted}");
    assert_eq!(report["counts"]["deleted"], deleted);
    assert_eq!(report["counts"]["not_attempted"], 20 - deleted);
    // Already at the reserve: nothing counted is sent at all. (The run above stops at
    // the reserve or a token or two above it: its estimate errs low while deletes are
    // in flight.)
    sandbox.set_rate_limit_remaining(15);
    let before = sandbox.stats().counted();
    Reaper::against(&sandbox)
        .args(["--reserve-rate-limit", "15"])
        .run()
        .code(3);
    assert_eq!(sandbox.stats().counted(), before);
}

#[test]
fn endless_429s_end_as_a_failure() {
    let sandbox = start(Seed::default());
    sandbox.inject("GET /apps", Fault::Status(429), 1_000);
    let run = Reaper::against(&sandbox)
        .args(["--rate-limit-refill", "60000", "--reserve-rate-limit", "0"])
        .run();
    run.code(1).stderr_has("429 `rate_limit`");
    assert_eq!(sandbox.stats().sent("DELETE"), 0);
}

#[test]
fn a_response_slower_than_the_timeout_ends_as_a_failure() {
    let sandbox = start(Seed::default());
    sandbox.inject("GET /apps", Fault::Delay(Duration::from_secs(3)), 1_000);
    let run = Reaper::against(&sandbox)
        .args(["--timeout", "300ms", "--retries", "1"])
        .run();
    run.code(1).stderr_has("timed out");
    assert_eq!(sandbox.stats().sent("DELETE"), 0);
    assert_eq!(
        sandbox
            .apps()
            .iter()
            .filter(|app| app.role == Role::Stale)
            .count(),
        30
    );
}

#[test]
fn bad_usage_exits_2_before_any_request() {
    let sandbox = start(Seed::default());
    for args in [
        vec!["--prefix", ""],
        vec!["--match", ".*"],
        vec!["--older-than", "soon"],
        vec!["--concurrency", "0"],
        vec!["--api-url", "http://example.com"],
        vec!["--on-conflict", "stop-if-under-limit"],
        vec!["--no-such-flag"],
    ] {
        let run = Reaper::against(&sandbox).args(&args).run();
        run.code(2);
        assert!(run.stderr.starts_with("error:"), "{args:?}: {}", run.stderr);
    }
    assert_eq!(sandbox.stats().requests, 0);
}
