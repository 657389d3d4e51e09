//! The API key never appears in any output, at any log level, even when things fail.

use heroku_reaper::sandbox::{Fault, Options, Sandbox, Seed};

use crate::reaper::Reaper;

const KEY: &str = "HRKU-AAq1zb9Sm4Kp7Tx2Vw6Ny3Lc8Rf5Gj0Hd";

fn sandbox() -> Sandbox {
    Sandbox::start(Options {
        token: KEY.to_string(),
        seed: Seed {
            stale: 5,
            ..Seed::default()
        },
        ..Options::default()
    })
    .unwrap()
}

fn assert_no_key(run: &crate::reaper::Run) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(!text.contains(KEY), "the key leaked on {stream}:\n{text}");
        assert!(
            !text.contains(&KEY[5..20]),
            "part of the key leaked on {stream}"
        );
    }
}

#[test]
fn the_key_never_appears_even_at_trace() {
    let sandbox = sandbox();
    for format in ["human", "json"] {
        let run = Reaper::against(&sandbox)
            .env("RUST_LOG", "trace")
            .args(["-vvv", "--format", format])
            .run();
        run.code(0);
        assert!(
            run.stderr.contains("TRACE") || run.stderr.contains("DEBUG"),
            "no logs at trace:\n{}",
            run.stderr
        );
        assert_no_key(&run);
    }
}

#[test]
fn nor_when_it_is_rejected_or_the_api_fails() {
    let sandbox = sandbox();
    let rejected = format!("{KEY}-wrong");
    let run = Reaper::against(&sandbox)
        .env("HEROKU_API_KEY", &rejected)
        .env("RUST_LOG", "trace")
        .run();
    run.code(2);
    assert_no_key(&run);
    sandbox.inject("DELETE /apps/{app}", Fault::Status(500), 1_000);
    let run = Reaper::against(&sandbox)
        .env("RUST_LOG", "trace")
        .args(["--retries", "0", "--format", "json"])
        .run();
    run.code(1);
    assert_no_key(&run);
}

#[test]
fn nor_from_netrc_or_a_dry_run() {
    let sandbox = sandbox();
    let reaper = Reaper::against(&sandbox).env_remove("HEROKU_API_KEY");
    std::fs::write(
        reaper.home().join(".netrc"),
        format!("machine api.heroku.com login ci@example.com password {KEY}\n"),
    )
    .unwrap();
    let run = reaper.env("RUST_LOG", "trace").args(["--dry-run"]).run();
    run.code(0);
    assert_no_key(&run);
}

#[test]
fn nor_the_github_token_accepted_or_rejected() {
    use crate::fake_github::{FakeGithub, TOKEN, run};
    let sandbox = sandbox();
    let github = FakeGithub::start_at("");
    github.add(run("heroku/ruby", 1, chrono::Utc::now()));
    let rejected = "ghs_R3jEcTeDt0kEnW1thNoR1ghtsAtAll";
    for (token, warned) in [(TOKEN, false), (rejected, true)] {
        let run = Reaper::against(&sandbox)
            .env("GITHUB_API_URL", github.url())
            .env("GITHUB_TOKEN", token)
            .env("GITHUB_REPOSITORY", "heroku/ruby")
            .env("RUST_LOG", "trace")
            .args([
                "-vvv",
                "--github-live-runs",
                "--dry-run",
                "--format",
                "json",
            ])
            .run();
        run.code(0);
        assert_eq!(
            run.stderr.contains("answered 401"),
            warned,
            "{}",
            run.stderr
        );
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(
                !text.contains(&token[4..20]),
                "the token leaked on {stream}"
            );
        }
    }
    // Five listings with the good token; the rejected one stops at the first.
    assert_eq!(github.requests().len(), 5 + 1);
}
