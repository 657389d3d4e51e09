//! Every number and duration a user can give, swept through the binary with extreme
//! values: refused with exit 2 before any request (a reap's refusals name the bound), or
//! accepted; never a panic (exit 101). The options come from the command line's own
//! definition, so a new one fails here until it is placed in a list below (and bounded).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use clap::CommandFactory;
use heroku_reaper::cli::Cli;
use heroku_sandbox::Seed;

use crate::reap::start;
use crate::reaper::{BIN, Reaper, Run, wait_within};

const EXTREMES: [&str; 10] = [
    "0",
    "-1",
    "1e308",
    "18446744073709551616",
    "999999999999d",
    "5e-324",
    "1e-17",
    "NaN",
    "inf",
    "-inf",
];

/// Past any bound: refusing a number or duration this big must say which bound (one
/// that is not a number at all, `999999999999d` for a count, just says so).
const HUGE_NUMBER: &str = "18446744073709551616";
const HUGE_DURATION: &str = "999999999999d";

/// The reap command's options that take a value, by kind.
const REAP_NUMBERS: [&str; 9] = [
    "app-limit",
    "reserve-apps",
    "account-limit",
    "max-deletes",
    "concurrency",
    "retries",
    "rate-limit-refill",
    "reserve-rate-limit",
    "shard",
];
const REAP_DURATIONS: [&str; 9] = [
    "older-than",
    "wait-for-room",
    "room-poll",
    "lock-timeout",
    "timeout",
    "grace",
    "retry-backoff",
    "skew",
    "deadline",
];
const REAP_OTHERS: [&str; 14] = [
    "prefix",
    "match",
    "team",
    "keep",
    "on-conflict",
    "lock",
    "lock-file",
    "format",
    "report",
    "api-url",
    "api-key",
    "github-repo",
    "if-no-room",
    "admission-job",
];

/// The sandbox subcommand's.
const SANDBOX_NUMBERS: [&str; 15] = [
    "port",
    "stale",
    "fresh",
    "other",
    "team-apps",
    "collaborator-apps",
    "seed",
    "orphan-pipelines",
    "jitter",
    "delete-jitter",
    "rate-limit-pool",
    "rate-limit-remaining",
    "app-limit",
    "rate-limit-refill",
    "fault-seed",
];
const SANDBOX_DURATIONS: [&str; 6] = [
    "stale-age",
    "fresh-age",
    "latency",
    "delete-latency",
    "fault-delay",
    "clock-skew",
];
const SANDBOX_OTHERS: [&str; 5] = [
    "token",
    "team-name",
    "prefix",
    "coupled-pipelines",
    "faults",
];

/// The long names of a command's options that take a value, each checked to be in one
/// of the lists; gives the numbers and durations.
fn swept(command: &clap::Command, lists: [&[&str]; 3]) -> Vec<String> {
    let mut swept = Vec::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if !arg.get_action().takes_values() || long == "help" {
            continue;
        }
        let [numbers, durations, others] = lists;
        assert!(
            numbers.contains(&long) || durations.contains(&long) || others.contains(&long),
            "`--{long}` takes a value: put it in a list of tests/it/bounds.rs (numbers and durations need bounds)"
        );
        if !others.contains(&long) {
            swept.push(long.to_string());
        }
    }
    assert_eq!(swept.len(), lists[0].len() + lists[1].len(), "{swept:?}");
    swept
}

/// Whether a refusal of a value says the bound it broke.
fn names_a_bound(stderr: &str) -> bool {
    stderr.contains(" to ") || stderr.contains("at most")
}

/// What an option needs beside it to be read at all.
fn context(long: &str) -> &'static [&'static str] {
    match long {
        "wait-for-room" => &["--app-limit", "5"],
        "account-limit" | "room-poll" => &["--reserve-apps", "1"],
        "skew" => &[
            "--github-live-runs",
            "--github-repo",
            "heroku/ruby",
            "--retries",
            "0",
        ],
        _ => &[],
    }
}

fn check(what: &str, run: &Run, refused_before_any_request: bool) {
    assert_ne!(run.code, 101, "{what} panicked:\n{}", run.stderr);
    match run.code {
        0 => {}
        2 => {
            assert!(run.stderr.starts_with("error: "), "{what}:\n{}", run.stderr);
            assert!(
                refused_before_any_request,
                "{what} was refused after a request"
            );
        }
        code => panic!("{what} exited {code}:\n{}", run.stderr),
    }
}

#[test]
fn every_number_and_duration_of_a_reap_is_bounded() {
    let sandbox = start(Seed::default());
    let reap = Cli::command();
    let options = swept(&reap, [&REAP_NUMBERS, &REAP_DURATIONS, &REAP_OTHERS]);
    let mut refused = 0;
    for long in options {
        let values: Vec<String> = match long.as_str() {
            // Each half of `I/N`.
            "shard" => EXTREMES
                .iter()
                .flat_map(|v| [format!("{v}/2"), format!("0/{v}")])
                .collect(),
            _ => EXTREMES.iter().map(|v| v.to_string()).collect(),
        };
        for value in values {
            let what = format!("`--{long}={value}`");
            let before = sandbox.stats().requests;
            let run = Reaper::against(&sandbox)
                // GitHub, for `--skew`, refuses at once.
                .env("GITHUB_API_URL", "http://127.0.0.1:1")
                .args(context(&long))
                .args([format!("--{long}={value}")])
                .args(["--dry-run"])
                .run_within(Duration::from_secs(60));
            let sent = sandbox.stats().requests - before;
            check(&what, &run, sent == 0);
            if run.code == 2 {
                refused += 1;
                assert!(
                    run.stderr.contains(&format!("--{long}")),
                    "{what}: {}",
                    run.stderr
                );
                let huge = value == HUGE_NUMBER
                    || (REAP_DURATIONS.contains(&long.as_str()) && value == HUGE_DURATION);
                if huge {
                    assert!(names_a_bound(&run.stderr), "{what}: {}", run.stderr);
                }
            }
        }
    }
    // Most extremes are refused; the few that are fine (`--retries=0`) ran.
    assert!(refused > 120, "{refused} refused");
}

#[test]
fn every_number_and_duration_of_the_sandbox_is_bounded() {
    let reap = Cli::command();
    let sandbox = reap
        .find_subcommand("sandbox")
        .expect("a sandbox subcommand");
    let options = swept(
        sandbox,
        [&SANDBOX_NUMBERS, &SANDBOX_DURATIONS, &SANDBOX_OTHERS],
    );
    for long in options {
        for value in EXTREMES {
            let what = format!("`sandbox --{long}={value}`");
            let mut child = Command::new(BIN)
                .args(["sandbox", &format!("--{long}={value}")])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the binary starts");
            let mut first = String::new();
            let mut stdout = BufReader::new(child.stdout.take().unwrap());
            let _ = stdout.read_line(&mut first);
            if first.starts_with("HEROKU_API_URL=") {
                // Accepted: it serves until stopped.
                let _ = child.kill();
                let _ = child.wait();
                continue;
            }
            let run = wait_within(child, Duration::from_secs(60));
            check(&what, &run, true);
            assert_eq!(run.code, 2, "{what} neither served nor was refused");
            assert!(
                run.stderr.contains(&format!("--{long}")),
                "{what}: {}",
                run.stderr
            );
        }
    }
}
