//! A closed stdout or stderr (`heroku-reaper | head -1`) stops nothing important: every
//! stale app is still deleted, the `--report` file written, and the exit code is the run's.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Duration;

use heroku_sandbox::{Options, Sandbox, Seed, Server};
use serde_json::Value;

use crate::reaper::{Reaper, wait_within};

/// 40 stale apps, deleted slowly enough that most of the output comes after the reader
/// has gone.
fn forty_stale() -> Sandbox {
    Sandbox::start(Options {
        seed: Seed {
            stale: 40,
            ..Seed::default()
        },
        server: Server {
            delete_latency: Some(Duration::from_millis(100)),
            ..Server::default()
        },
        ..Options::default()
    })
    .unwrap()
}

fn assert_all_done(sandbox: &Sandbox, report: &Path) {
    assert_eq!(sandbox.deleted().len(), 40);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(report["status"], "done");
    assert_eq!(report["counts"]["deleted"], 40);
}

#[test]
fn a_reader_that_leaves_after_the_first_line_stops_nothing() {
    let sandbox = forty_stale();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let (mut child, _home) = Reaper::against(&sandbox)
        .args(["--concurrency", "2", "--report"])
        .args([report.as_os_str()])
        .spawn();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("deleted"), "{first:?}");
    // As `head -1` does: the pipe's read end closes, so later writes fail.
    drop(stdout);
    assert!(
        sandbox.deleted().len() < 40,
        "the run ended before the reader left"
    );
    let run = wait_within(child, Duration::from_secs(60));
    run.code(0);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_all_done(&sandbox, &report);
}

#[test]
fn a_closed_stderr_stops_nothing_even_with_debug_logs() {
    let sandbox = forty_stale();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let (mut child, _home) = Reaper::against(&sandbox)
        .args(["-vv", "--concurrency", "2", "--report"])
        .args([report.as_os_str()])
        .spawn();
    drop(child.stderr.take());
    // Read stdout whole, so that only stderr is closed.
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let run = wait_within(child, Duration::from_secs(60));
    run.code(0);
    assert!(stdout.contains("deleted"), "{stdout}");
    assert_all_done(&sandbox, &report);
}
