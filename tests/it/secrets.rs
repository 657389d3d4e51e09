//! The API key never appears in any output, at any log level, even when things fail.

use heroku_reaper::sandbox::{Fault, Options, Sandbox, Seed};

use crate::reaper::{Reaper, Run};
use crate::runner::Runner;

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

fn assert_no_key(run: &Run) {
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

/// In GitHub mode the key appears once, as the `::add-mask::` line the runner swallows,
/// and nowhere else: not in another line, the outputs, the summary or the report.
#[test]
fn in_github_mode_only_the_mask_line_holds_it() {
    let sandbox = sandbox();
    sandbox.inject("DELETE /apps/{app}", Fault::Status(500), 2);
    for (format, commands_on_stdout) in [("human", true), ("json", false)] {
        let runner = Runner::new();
        let run = Reaper::against(&sandbox)
            .in_runner(&runner)
            .env("RUST_LOG", "trace")
            .args(["-vvv", "--retries", "0", "--format", format])
            .run();
        let (commands, other) = if commands_on_stdout {
            (&run.stdout, &run.stderr)
        } else {
            (&run.stderr, &run.stdout)
        };
        let holding: Vec<&str> = commands.lines().filter(|l| l.contains(KEY)).collect();
        assert_eq!(holding, [format!("::add-mask::{KEY}")], "{format}");
        assert_eq!(commands.lines().next(), Some(holding[0]), "masked first");
        let rest = Run {
            code: run.code,
            stdout: commands.replacen(holding[0], "", 1),
            stderr: other.clone(),
        };
        assert_no_key(&rest);
        let outputs = runner.outputs();
        let report = std::fs::read_to_string(&outputs["report"]).unwrap();
        for (what, text) in [
            ("outputs", format!("{outputs:?}")),
            ("summary", runner.summary()),
            ("report", report),
        ] {
            assert!(
                !text.contains(&KEY[5..20]),
                "the key leaked into the {what}"
            );
        }
    }
}
