//! Many reapers at once: every stale app gone, no wrong app deleted, conflicts counted.

use std::io::Read;
use std::time::{Duration, Instant};

use heroku_reaper::lock::{self, Acquired};
use heroku_reaper::reap::plan::shard_of;
use heroku_sandbox::{Options, Role, Sandbox, Seed, Server};
use serde_json::Value;

use crate::reaper::Reaper;

fn slow_sandbox(stale: usize, delete_latency: Duration) -> Sandbox {
    Sandbox::start(Options {
        seed: Seed {
            stale,
            ..Seed::default()
        },
        server: Server {
            delete_latency: Some(delete_latency),
            jitter: 0.5,
            ..Server::default()
        },
        ..Options::default()
    })
    .unwrap()
}

/// Starts every reaper at once, each with its own lock (as on its own machine), and
/// returns their JSON reports once all have exited 0.
fn all_at_once(reapers: Vec<Reaper>) -> Vec<Value> {
    let children: Vec<_> = reapers
        .into_iter()
        .map(|reaper| reaper.args(["--format", "json"]).spawn())
        .collect();
    children
        .into_iter()
        .map(|(child, _home)| {
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(0), "{stderr}");
            serde_json::from_slice(&output.stdout).unwrap()
        })
        .collect()
}

#[test]
fn eight_processes_at_once_delete_every_stale_app_once_between_them() {
    let sandbox = slow_sandbox(60, Duration::from_millis(60));
    let reports = all_at_once((0..8).map(|_| Reaper::against(&sandbox)).collect());
    let deleted = sandbox.deleted();
    assert_eq!(deleted.len(), 60);
    assert!(deleted.iter().all(|app| app.role == Role::Stale));
    assert!(sandbox.apps().iter().all(|app| app.role != Role::Stale));
    let sum = |field: &str| -> u64 {
        reports
            .iter()
            .map(|report| report["counts"][field].as_u64().unwrap())
            .sum()
    };
    // The reports agree with the server: each 200 is one reaper's "deleted", each
    // 404/403 one reaper's "conflict".
    let stats = sandbox.stats();
    assert_eq!(sum("deleted"), 60);
    assert_eq!(sum("conflicts"), stats.conflicts);
    assert_eq!(sum("failed"), 0);
}

#[test]
fn lock_skip_returns_at_once_while_another_reaper_holds_the_lock() {
    let sandbox = slow_sandbox(30, Duration::ZERO);
    let reaper = Reaper::against(&sandbox).args(["--lock", "skip"]);
    let held = lock::acquire(&reaper.lock_file(), false, |_| {}).unwrap();
    assert!(matches!(held, Acquired::Held(_)));
    let started = Instant::now();
    let run = reaper.run();
    run.code(0).stderr_has("holds").stderr_has("nothing to do");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(sandbox.stats().requests, 0);
}

#[test]
fn lock_wait_takes_its_turn_then_lists_afresh() {
    let sandbox = slow_sandbox(30, Duration::from_millis(20));
    // The first reaper holds the lock while it works; the second waits, then finds
    // that there is nothing left to do.
    let first = Reaper::against(&sandbox);
    let lock_file = first.lock_file();
    let held = lock::acquire(&lock_file, false, |_| {}).unwrap();
    let (mut waiting, _home) = Reaper::against(&sandbox)
        .env("HEROKU_REAPER_LOCK_FILE", &lock_file)
        .args(["--lock", "wait", "--format", "json"])
        .spawn();
    let mut stderr = waiting.stderr.take().unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 256];
    while !seen.contains("waiting for another reaper") {
        let n = stderr.read(&mut buffer).unwrap();
        assert!(n > 0, "the waiting reaper exited early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    assert_eq!(
        sandbox.stats().requests,
        0,
        "it must not list before it has the lock"
    );
    first
        .env("HEROKU_REAPER_LOCK_FILE", &lock_file)
        .args(["--lock", "off"])
        .run()
        .code(0);
    drop(held);
    let output = waiting.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["counts"]["stale"], 0);
    assert_eq!(report["counts"]["conflicts"], 0);
    assert_eq!(sandbox.deleted().len(), 30);
    assert_eq!(sandbox.stats().conflicts, 0);
}

#[test]
fn eight_shards_split_the_stale_apps_without_a_single_conflict() {
    let sandbox = slow_sandbox(80, Duration::from_millis(20));
    let reports = all_at_once(
        (0..8)
            .map(|index| Reaper::against(&sandbox).args(["--shard", &format!("{index}/8")]))
            .collect(),
    );
    let stats = sandbox.stats();
    assert_eq!(stats.conflicts, 0);
    assert_eq!(stats.deletes, 80);
    let deleted = sandbox.deleted();
    assert!(deleted.iter().all(|app| app.role == Role::Stale));
    assert!(sandbox.apps().iter().all(|app| app.role != Role::Stale));
    // Each shard deleted exactly the stale apps whose ids fall in it.
    for (index, report) in reports.iter().enumerate() {
        let mine = deleted
            .iter()
            .filter(|app| shard_of(&app.id, 8) == index as u32)
            .count();
        assert_eq!(report["counts"]["deleted"], mine, "shard {index}");
        assert_eq!(report["counts"]["conflicts"], 0, "shard {index}");
        let reported: Vec<&str> = report["apps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|app| app["outcome"] == "deleted")
            .map(|app| app["id"].as_str().unwrap())
            .collect();
        assert!(reported.iter().all(|id| shard_of(id, 8) == index as u32));
    }
}
