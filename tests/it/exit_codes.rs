//! Every exit code that the "Exit codes" tables of README.md and docs/cli.md and `--help`
//! document, reached through the binary, and the rule behind exit 2: nothing was deleted.

use std::time::Duration;

use heroku_reaper::lock::{self, Acquired};
use heroku_sandbox::{Fault, Seed};
use serde_json::Value;

use crate::reap::{run_with_deletes_failing, slow_deletes, start};
use crate::reaper::{Reaper, Run, wait_within};
use crate::signals::send;
use crate::support::{doc_table, eventually};

/// The codes in the first column of the "Exit codes" table under `heading` in `path`
/// ("130, 143" is two).
fn documented(path: &str, heading: &str) -> Vec<i32> {
    doc_table(path, heading, "| code")
        .iter()
        .flat_map(|line| {
            let first = line.trim_matches('|').split(" | ").next().unwrap();
            first
                .split(", ")
                .map(|code| code.trim().parse::<i32>().expect("a code"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The codes `--help` lists under "Exit codes:", one a line ("  130, 143  …" is two).
fn help_codes() -> Vec<i32> {
    let help = Reaper::bare().args(["--help"]).run();
    let section = help.stdout.split("Exit codes:").nth(1).expect("a section");
    section
        .lines()
        .filter_map(|line| line.trim_start().split("  ").next())
        .flat_map(|first| first.split(", ").map(str::parse::<i32>))
        .filter_map(Result::ok)
        .collect()
}

/// A run that ends with `code`, and what it said.
fn reach(code: i32) -> Run {
    let sandbox = start(Seed::default());
    match code {
        0 => Reaper::against(&sandbox).run(),
        1 => run_with_deletes_failing(&sandbox, Reaper::against(&sandbox)),
        2 => Reaper::against(&sandbox).args(["--prefix", ""]).run(),
        3 => {
            sandbox.set_rate_limit_remaining(10);
            Reaper::against(&sandbox).run()
        }
        4 => {
            let reaper = Reaper::against(&sandbox).args(["--lock-timeout", "1s"]);
            let held = lock::acquire(&reaper.lock_file(), None, |_| {}).unwrap();
            assert!(matches!(held, Acquired::Held(_)));
            let run = reaper.run();
            assert_eq!(sandbox.stats().requests, 0, "sent before it had the lock");
            run
        }
        5 => {
            sandbox.inject("GET /apps", Fault::Delay(Duration::from_secs(30)), 1);
            Reaper::against(&sandbox).args(["--deadline", "1s"]).run()
        }
        129 | 130 | 143 => {
            drop(sandbox);
            let sandbox = slow_deletes(Duration::from_millis(200));
            let (child, _home) = Reaper::against(&sandbox)
                .args(["--concurrency", "1"])
                .spawn();
            eventually("deletes are under way", || !sandbox.deleting().is_empty());
            let signal = match code {
                129 => "HUP",
                130 => "INT",
                _ => "TERM",
            };
            send(signal, &child);
            wait_within(child, Duration::from_secs(60))
        }
        _ => panic!("no scenario reaches the documented exit code {code}; add one"),
    }
}

#[test]
fn every_documented_exit_code_is_reached_through_the_binary() {
    let codes = documented("README.md", "### Exit codes");
    assert_eq!(codes, [0, 1, 2, 3, 4, 5, 129, 130, 143]);
    assert_eq!(help_codes(), codes, "`--help` and README.md disagree");
    let reference = documented("docs/cli.md", "## Exit codes");
    assert_eq!(reference, codes, "docs/cli.md and README.md disagree");
    for code in codes {
        reach(code).code(code);
    }
}

#[test]
fn a_lock_held_past_the_timeout_ends_with_exit_4_and_a_report() {
    let sandbox = start(Seed::default());
    let reaper = Reaper::against(&sandbox).args(["--lock-timeout", "1s"]);
    let _held = lock::acquire(&reaper.lock_file(), None, |_| {}).unwrap();
    let (run, report) = reaper.json();
    run.code(4)
        .stderr_has("error: another reaper on this machine")
        .stderr_has(&format!("(pid {})", std::process::id()))
        .stderr_has("`--lock-timeout 1s`; nothing was sent")
        .stderr_has("wait longer with `--lock-timeout`");
    assert_eq!(report["status"], "lock-timeout");
    assert_eq!(sandbox.stats().requests, 0);
}

#[test]
fn a_key_rejected_after_two_deletes_is_exit_1_with_the_deletes_reported() {
    let sandbox = start(Seed::default());
    sandbox.inject_after("DELETE /apps/{app}", 2, Fault::Status(401), 1_000);
    let (run, report) = Reaper::against(&sandbox)
        .args(["--concurrency", "1"])
        .json();
    run.code(1)
        .stderr_has("401 `unauthorized`")
        .stderr_has("`HEROKU_API_KEY`");
    assert_eq!(sandbox.deleted().len(), 2);
    assert_eq!(report["status"], "unauthorized");
    assert_eq!(report["counts"]["deleted"], 2);
    let deleted: Vec<&Value> = report["apps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|app| app["outcome"] == "deleted")
        .collect();
    assert_eq!(deleted.len(), 2);
    // Rejected before any DELETE: exit 2 still means nothing was deleted.
    let fresh = start(Seed::default());
    fresh.inject("GET /apps", Fault::Status(401), 1_000);
    Reaper::against(&fresh).run().code(2);
    assert!(fresh.deleted().is_empty());
}
