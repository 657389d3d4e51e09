//! The soak: many seeded random fault mixes, each a real reaper run against a faulty
//! sandbox, each checked against the invariants a cleanup tool owes its users:
//!
//! 1. no app outside the rule is deleted;
//! 2. an app reported gone (deleted, deleted with the response lost, a conflict) is gone;
//! 3. an app reported failed, or not attempted, still exists;
//! 4. every app the server deleted is reported gone or unknown, never failed or missing;
//! 5. an app reported unknown was checked again after the run and that check failed too;
//! 6. the run ends within a bound, with exit 0 (done, every stale app gone) or 1 (failed).
//!
//! It runs 100 processes, so a plain `cargo test` leaves it out; `.ci/run` always runs it
//! (`cargo test --locked --test it -- --ignored soak`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use heroku_sandbox::{FaultKind, FaultMix, Options, Role, Sandbox, Seed, Server};
use serde_json::Value;

use crate::reaper::Reaper;
use crate::support::eventually;

/// Mixes run (`SOAK_MIXES` for a longer soak, `SOAK_FIRST_SEED` for other mixes), and
/// how many at once (each is a sandbox and a reaper process).
const MIXES: u64 = 100;
const AT_ONCE: u64 = 6;
/// The client's timeout; `slow` faults and held answers last longer.
const TIMEOUT: &str = "200ms";
const FAULT_DELAY: Duration = Duration::from_millis(450);
/// A run that takes longer than this is stuck.
const BOUND: Duration = Duration::from_secs(30);

/// The highest rate of each kind a mix may draw.
const CEILINGS: [(FaultKind, f64); 8] = [
    (FaultKind::ServerError, 0.12),
    (FaultKind::Storm, 0.03),
    (FaultKind::Reset, 0.06),
    (FaultKind::Slow, 0.04),
    (FaultKind::Malformed, 0.06),
    (FaultKind::RepeatRange, 0.03),
    (FaultKind::EndlessRange, 0.03),
    (FaultKind::LostDelete, 0.15),
];

fn mix(seed: u64) -> FaultMix {
    let mut rng = fastrand::Rng::with_seed(seed);
    FaultMix::new(
        CEILINGS
            .iter()
            .map(|(kind, ceiling)| (*kind, (rng.f64() * ceiling * 1000.0).round() / 1000.0)),
    )
}

/// What one run saw, for the closing tally.
#[derive(Default)]
struct Tally {
    runs: u64,
    exits: BTreeMap<i32, u64>,
    faults: BTreeMap<String, u64>,
    outcomes: BTreeMap<String, u64>,
}

#[test]
#[ignore = "the soak: 100 processes; run it with `-- --ignored soak`, as .ci/run always does"]
fn random_fault_mixes_never_delete_a_wrong_app_nor_lose_track() {
    let setting = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .map_or(default, |value| value.parse().expect("a number"))
    };
    let mixes = setting("SOAK_MIXES", MIXES);
    let first = setting("SOAK_FIRST_SEED", 1);
    let started = Instant::now();
    let next = AtomicU64::new(first);
    let tally = Mutex::new(Tally::default());
    std::thread::scope(|scope| {
        for _ in 0..AT_ONCE {
            scope.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= first + mixes {
                        return;
                    }
                    soak_one(seed, &tally);
                }
            });
        }
    });
    let tally = tally.into_inner().unwrap();
    eprintln!(
        "soak: {} runs of {mixes} mixes in {:.1}s; exits {:?}; faults {:?}; outcomes {:?}",
        tally.runs,
        started.elapsed().as_secs_f64(),
        tally.exits,
        tally.faults,
        tally.outcomes
    );
    // The soak proves something only if the faults came and the hard cases happened.
    for kind in [
        "status",
        "429",
        "reset",
        "slow",
        "malformed",
        "repeat-range",
        "endless-range",
        "lost-cut",
        "lost-held",
    ] {
        assert!(tally.faults.contains_key(kind), "no `{kind}` fault met");
    }
    assert!(tally.outcomes.contains_key("deleted-response-lost"));
    assert!(tally.exits.contains_key(&0) && tally.exits.contains_key(&1));
}

fn soak_one(seed: u64, tally: &Mutex<Tally>) {
    let mix = mix(seed);
    let sandbox = Sandbox::start(Options {
        seed: Seed {
            stale: 16,
            fresh: 4,
            other: 3,
            team_apps: 2,
            collaborator_apps: 2,
            seed,
            ..Seed::default()
        },
        server: Server {
            faults: Some(mix.clone()),
            fault_seed: seed,
            fault_delay: FAULT_DELAY,
            ..Server::default()
        },
        ..Options::default()
    })
    .expect("the sandbox starts");
    let dir = tempfile::tempdir().unwrap();
    let report_file = dir.path().join("report.json");
    let run = Reaper::against(&sandbox)
        .args([
            "--timeout",
            TIMEOUT,
            "--retries",
            "2",
            "--retry-backoff",
            "10ms",
        ])
        .args(["--rate-limit-refill", "60000", "--lock", "off"])
        // Half the runs ride out 429s; the other half stop at the default reserve.
        .args([
            "--reserve-rate-limit",
            if seed.is_multiple_of(2) { "0" } else { "500" },
        ])
        .args(["--report".as_ref(), report_file.as_os_str()])
        .run_within(BOUND);
    let context = format!("mix {seed} ({mix}): exit {}\n{}", run.code, run.stderr);
    // A DELETE that timed out may still be under way on the server: let it land.
    eventually("the sandbox's deletes land", || {
        sandbox.deleting().is_empty()
    });

    // 6: the documented exit codes, and the report's status agrees.
    let report: Value = match std::fs::read_to_string(&report_file) {
        Ok(text) => serde_json::from_str(&text).expect("the report is JSON"),
        Err(_) => {
            // Only a failure before the engine ran leaves no report; then nothing was sent.
            assert_eq!(run.code, 1, "{context}");
            assert_eq!(sandbox.stats().deletes, 0, "{context}");
            return;
        }
    };
    let status = report["status"].as_str().unwrap_or_default();
    match run.code {
        0 => assert_eq!(status, "done", "{context}"),
        1 => assert_eq!(status, "failed", "{context}"),
        // A 429 says the pool is empty: below the default reserve, so the run stops.
        3 => assert_eq!(status, "reserve-reached", "{context}"),
        code => panic!("exit {code} is not documented for a fault: {context}"),
    }

    let present: HashSet<String> = sandbox.apps().into_iter().map(|app| app.id).collect();
    let deleted = sandbox.deleted();
    // 1: nothing outside the rule.
    for app in &deleted {
        assert_eq!(app.role, Role::Stale, "{} was deleted: {context}", app.name);
    }
    let outcomes: HashMap<String, String> = report["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .filter_map(|app| {
            let outcome = app["outcome"].as_str()?;
            Some((app["id"].as_str()?.to_string(), outcome.to_string()))
        })
        .collect();
    for entry in report["apps"].as_array().unwrap() {
        let (Some(id), Some(outcome)) = (entry["id"].as_str(), entry["outcome"].as_str()) else {
            continue;
        };
        let what = format!("{} reported `{outcome}`: {context}", entry["name"]);
        match outcome {
            // 2
            "deleted" | "deleted-response-lost" | "conflict" | "deleted-by-another" => {
                assert!(!present.contains(id), "{what}, but it is still there")
            }
            // 3
            "failed" | "not-attempted" => {
                assert!(present.contains(id), "{what}, but it is gone")
            }
            // 5
            "unknown" => {
                let error = entry["error"].as_str().unwrap_or_default();
                assert!(
                    error.contains("follow-up listing failed too")
                        || error.contains("one more DELETE failed"),
                    "{what}, without a failed follow-up check: {error}"
                );
            }
            other => panic!("outcome `{other}` in a real run: {context}"),
        }
    }
    // 4: the server's record, read the other way.
    for app in &deleted {
        let outcome = outcomes.get(&app.id).map(String::as_str);
        assert!(
            matches!(
                outcome,
                Some("deleted" | "deleted-response-lost" | "conflict" | "unknown")
            ),
            "{} was deleted but reported {outcome:?}: {context}",
            app.name
        );
    }
    if run.code == 0 {
        assert!(
            sandbox.apps().iter().all(|app| app.role != Role::Stale),
            "exit 0 with stale apps left: {context}"
        );
    }

    let stats = sandbox.stats();
    let mut tally = tally.lock().unwrap();
    tally.runs += 1;
    *tally.exits.entry(run.code).or_default() += 1;
    for (name, count) in stats.faults {
        *tally.faults.entry(name).or_default() += count;
    }
    for outcome in outcomes.into_values() {
        *tally.outcomes.entry(outcome).or_default() += 1;
    }
}
