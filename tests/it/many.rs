//! Many reapers at once: every stale app gone, no wrong app deleted, conflicts counted.

use std::io::Read;
use std::time::{Duration, Instant};

use heroku_reaper::lock::{self, Acquired};
use heroku_reaper::reap::plan::shard_of;
use heroku_sandbox::{Options, Role, Sandbox, Seed, Server};
use serde_json::Value;

use crate::reaper::Reaper;
use crate::support::{Api, ids_with_outcome, stale_ids};

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
    staggered(reapers, Duration::ZERO)
}

#[test]
fn eight_processes_at_once_delete_every_stale_app_once_between_them() {
    let sandbox = slow_sandbox(60, Duration::from_millis(60));
    let reports = all_at_once((0..8).map(|_| Reaper::against(&sandbox)).collect());
    let deleted = sandbox.deleted();
    assert_eq!(deleted.len(), 60);
    assert!(deleted.iter().all(|app| app.role == Role::Stale));
    assert!(sandbox.apps().iter().all(|app| app.role != Role::Stale));
    let sum = |field: &str| count(&reports, field);
    // The reports agree with the server: each 200 is one reaper's "deleted", each
    // 404/403 one reaper's "conflict".
    let stats = sandbox.stats();
    assert_eq!(sum("deleted"), 60);
    assert_eq!(sum("conflicts"), stats.conflicts);
    assert_eq!(sum("failed"), 0);
    // A report has one entry per app, so a reaper that sent one app's DELETE twice
    // would report fewer outcomes than the server saw DELETEs.
    assert_eq!(sum("deleted") + sum("conflicts"), stats.sent("DELETE"));
}

/// Starts the reapers `apart` from each other, each with its own lock, and returns
/// their JSON reports once all have exited 0.
fn staggered(reapers: Vec<Reaper>, apart: Duration) -> Vec<Value> {
    let children: Vec<_> = reapers
        .into_iter()
        .map(|reaper| {
            let child = reaper.args(["--format", "json"]).spawn();
            std::thread::sleep(apart);
            child
        })
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

/// `counts.<field>` summed over the reports.
fn count(reports: &[Value], field: &str) -> u64 {
    reports
        .iter()
        .map(|report| report["counts"][field].as_u64().unwrap())
        .sum()
}

#[test]
fn reapers_starting_apart_leave_nothing_and_send_no_app_twice() {
    let sandbox = slow_sandbox(60, Duration::from_millis(60));
    let reports = staggered(
        (0..6).map(|_| Reaper::against(&sandbox)).collect(),
        Duration::from_millis(100),
    );
    let stats = sandbox.stats();
    assert!(sandbox.deleted().iter().all(|app| app.role == Role::Stale));
    assert!(sandbox.apps().iter().all(|app| app.role != Role::Stale));
    assert_eq!(count(&reports, "deleted"), 60);
    assert_eq!(count(&reports, "conflicts"), stats.conflicts);
    assert_eq!(
        count(&reports, "deleted") + count(&reports, "conflicts"),
        stats.sent("DELETE")
    );
}

/// A reaper that took the whole ring (nobody else had deleted anything when it listed
/// after its probe) lists again while deleting once others spend from the pool, so it
/// stops short of where a newcomer probed (two apps side by side) instead of sending a
/// DELETE into it. The newcomer here never walks on: once it has had a newcomer's time
/// to start, the reaper takes its stretch too.
#[test]
fn a_reaper_walking_its_territory_sees_a_newcomer_probe_ahead_and_stops_short() {
    let sandbox = Sandbox::start(Options {
        seed: Seed {
            stale: 100,
            ..Seed::default()
        },
        server: Server {
            delete_latency: Some(Duration::from_millis(400)),
            ..Server::default()
        },
        ..Options::default()
    })
    .unwrap();
    let ring = stale_ids(&sandbox);
    let (child, _home) = Reaper::against(&sandbox).args(["--format", "json"]).spawn();
    // Its probe, its listing after it, and the first DELETE of its territory.
    let deadline = Instant::now() + Duration::from_secs(30);
    let walking = loop {
        assert!(
            Instant::now() < deadline,
            "the reaper never started its territory"
        );
        let deleting = sandbox.deleting();
        if sandbox.stats().list_pages >= 2 && !deleting.is_empty() {
            // The first of its window: the one whose predecessor is not in flight too.
            let ids: Vec<&str> = deleting.iter().map(|app| app.id.as_str()).collect();
            let first = ids.iter().find(|id| {
                let at = ring.iter().position(|r| r == *id).unwrap();
                !ids.contains(&ring[(at + ring.len() - 1) % ring.len()].as_str())
            });
            break first.unwrap().to_string();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Another client starts ahead: it lists a few times and probes two apps side by
    // side, 70 apps on. The window sends about 3, 6, 12 and 24 a round trip: the
    // reaper's answers show the others' spending after the second, and its listing
    // answers before the fourth (so even two round trips late on a slow machine, it has
    // not reached those apps).
    let at = ring.iter().position(|id| *id == walking).unwrap();
    let probe = [
        ring[(at + 70) % ring.len()].clone(),
        ring[(at + 71) % ring.len()].clone(),
    ];
    let api = Api::new(&sandbox);
    for _ in 0..5 {
        api.get("/apps");
    }
    // Both at once, as a probe sends them.
    std::thread::scope(|scope| {
        for id in &probe {
            let api = &api;
            scope.spawn(move || {
                assert_eq!(api.send("DELETE", &format!("/apps/{id}"), &[]).status, 200);
            });
        }
    });
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    // Without a listing while deleting, its window runs into the newcomer's apps: 404s.
    let conflicted: Vec<usize> = ids_with_outcome(&report, "conflict")
        .iter()
        .map(|id| (ring.iter().position(|r| r == id).unwrap() + ring.len() - at) % ring.len())
        .collect();
    assert_eq!(
        sandbox.stats().conflicts,
        0,
        "conflicts this far ahead: {conflicted:?}"
    );
    let outcome = |id: &str| {
        let apps = report["apps"].as_array().unwrap();
        let entry = apps.iter().find(|app| app["id"] == id).unwrap();
        entry["outcome"].as_str().unwrap().to_string()
    };
    for id in &probe {
        assert_eq!(outcome(id), "deleted-by-another");
    }
    // Up to the newcomer's probe the stretch was the reaper's; after it, the
    // newcomer's, until it showed no sign of walking on.
    let before = &ring[(at + 69) % ring.len()];
    let after = &ring[(at + 72) % ring.len()];
    assert_eq!(outcome(before), "deleted");
    assert_eq!(outcome(after), "deleted");
    assert!(sandbox.apps().iter().all(|app| app.role != Role::Stale));
}

#[test]
fn reapers_sharing_a_nearly_empty_pool_pace_to_the_refill_between_them() {
    // Twenty tokens a second, five in the pool: the four reapers must share the refill.
    let sandbox = Sandbox::start(Options {
        seed: Seed {
            stale: 40,
            ..Seed::default()
        },
        server: Server {
            rate_limit_remaining: Some(5),
            rate_limit_refill_per_minute: 1_200.0,
            ..Server::default()
        },
        ..Options::default()
    })
    .unwrap();
    let reports = all_at_once(
        (0..4)
            .map(|_| {
                Reaper::against(&sandbox).args([
                    "--rate-limit-refill",
                    "1200",
                    "--reserve-rate-limit",
                    "0",
                ])
            })
            .collect(),
    );
    let stats = sandbox.stats();
    assert_eq!(stats.min_remaining, 0, "the pool did run dry");
    assert!(sandbox.apps().iter().all(|app| app.role != Role::Stale));
    assert!(sandbox.deleted().iter().all(|app| app.role == Role::Stale));
    // Each reaper sees what the others spend and counts only on its share of the
    // refill: a reaper blind to the others would send as if the refill were all its
    // own, and draw about one 429 for each request the others make.
    let rate_limited: u64 = reports
        .iter()
        .map(|report| report["requests"]["rate_limited"].as_u64().unwrap())
        .sum();
    assert_eq!(rate_limited, stats.rate_limited);
    assert!(
        stats.rate_limited * 4 <= stats.counted(),
        "{} of {} requests answered 429",
        stats.rate_limited,
        stats.counted()
    );
}

#[test]
fn lock_skip_returns_at_once_while_another_reaper_holds_the_lock() {
    let sandbox = slow_sandbox(30, Duration::ZERO);
    let reaper = Reaper::against(&sandbox).args(["--lock", "skip"]);
    let held = lock::acquire(&reaper.lock_file(), None, |_| {}).unwrap();
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
    let held = lock::acquire(&lock_file, None, |_| {}).unwrap();
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
