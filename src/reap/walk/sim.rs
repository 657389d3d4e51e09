//! A fleet of walkers against a simulated server, in simulated time: DELETEs of 300 ms
//! ±50% and listings of 30 ms ±20% at random, reapers starting together or apart, some
//! killed midway, and others (people, Hatchet's own reaping, a run that died) deleting
//! stale apps while they walk. The property: no stale app is left that nobody was
//! seen deleting, and duplicate deletes stay few.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::time::{Duration, Instant};

use super::{Answer, Next, Pool, Walker};

/// A fleet and what else happens to the account.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    pub stale: usize,
    /// When each reaper starts.
    pub starts: Vec<Duration>,
    /// Reapers killed after sending this many DELETEs, by index.
    pub killed_after: Vec<(usize, usize)>,
    /// Stale apps deleted by someone else this long after the first reaper's listing.
    pub outsiders: Vec<Duration>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    pub duplicates: usize,
    /// Of them, in the first second: probes that landed on each other.
    pub early: usize,
    pub stale_left: usize,
    /// When the last reaper finished.
    pub wall: Duration,
    pub deletes: usize,
    pub listings: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// The reaper asks its walker what to do.
    Wake(usize),
    /// A reaper's DELETE reaches the server.
    Arrive(usize, String, u64),
    /// Its answer reaches the reaper: deleted or not.
    Answered(usize, String, bool, u64),
    /// A listing reaches the server; then its answer reaches the reaper.
    Serve(usize, u64),
    Listed(usize, Vec<String>, u64),
    /// Someone else deletes a stale app.
    Outsider,
}

struct Reaper {
    walker: Option<Walker>,
    sent: usize,
    done: bool,
    killed_after: Option<usize>,
    requests: u64,
}

thread_local! {
    /// Duplicates by what the loser and the winner were doing.
    static TALLY: std::cell::RefCell<std::collections::BTreeMap<String, usize>> = Default::default();
}

/// `SIM_TRACE=1`: print what each reaper does, to see where a run goes wrong.
fn trace(now: Duration, reaper: usize, what: std::fmt::Arguments) {
    if std::env::var_os("SIM_TRACE").is_some() {
        eprintln!("{:>6.3} r{reaper} {what}", now.as_secs_f64());
    }
}

pub fn run(scenario: &Scenario, seed: u64) -> Outcome {
    let mut rng = fastrand::Rng::with_seed(seed);
    let base = Instant::now();
    let at = |d: Duration| base + d;
    let ids: Vec<String> = (0..scenario.stale).map(|i| format!("{i:05}")).collect();
    let mut present: HashSet<String> = ids.iter().cloned().collect();
    let mut reapers: Vec<Reaper> = (0..scenario.starts.len())
        .map(|r| Reaper {
            walker: None,
            sent: 0,
            done: false,
            killed_after: scenario
                .killed_after
                .iter()
                .find(|(k, _)| *k == r)
                .map(|(_, n)| *n),
            requests: 0,
        })
        .collect();
    let mut events: BinaryHeap<Reverse<(Duration, u64, Event)>> = BinaryHeap::new();
    let mut order = 0u64;
    let mut push = |events: &mut BinaryHeap<_>, when: Duration, event: Event| {
        order += 1;
        events.push(Reverse((when, order, event)));
    };
    for (r, start) in scenario.starts.iter().enumerate() {
        // Each reaper first lists (30 ms), then its walker starts.
        push(&mut events, *start, Event::Serve(r, u64::MAX));
    }
    let first = scenario.starts.iter().min().copied().unwrap_or_default();
    for after in &scenario.outsiders {
        push(
            &mut events,
            first + Duration::from_millis(15) + *after,
            Event::Outsider,
        );
    }
    let mut outcome = Outcome::default();
    // Who sent each DELETE, doing what, and who deleted each app: for the tally of
    // duplicates by what both sides were doing.
    let mut sent_as: std::collections::HashMap<(usize, String), String> = Default::default();
    let mut deleted_by: std::collections::HashMap<String, String> = Default::default();
    let mut total_requests = 0u64;
    while let Some(Reverse((now, _, event))) = events.pop() {
        // A walk that never ends is a failure of its own: stop and count what is left.
        if now > Duration::from_secs(120) {
            outcome.wall = now;
            break;
        }
        match event {
            Event::Outsider => {
                let mut left: Vec<&String> =
                    ids.iter().filter(|id| present.contains(*id)).collect();
                left.sort();
                if !left.is_empty() {
                    let victim = left[rng.usize(..left.len())].clone();
                    present.remove(&victim);
                }
                total_requests += 1;
            }
            Event::Arrive(r, id, n) => {
                let deleted = present.remove(&id);
                let kind = sent_as.get(&(r, id.clone())).cloned().unwrap_or_default();
                if deleted {
                    deleted_by.insert(id.clone(), kind.clone());
                } else {
                    let winner = deleted_by
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| "outsider".into());
                    TALLY.with(|t| {
                        *t.borrow_mut()
                            .entry(format!("{kind} vs {winner}"))
                            .or_insert(0) += 1
                    });
                }
                if !deleted {
                    outcome.duplicates += 1;
                    outcome.early += usize::from(now < first + Duration::from_secs(1));
                    trace(now, r, format_args!("DUPLICATE {id}"));
                }
                let back = Duration::from_micros(n);
                push(
                    &mut events,
                    now + back,
                    Event::Answered(r, id, deleted, n * 2),
                );
            }
            Event::Serve(r, n) => {
                let snapshot: Vec<String> = ids
                    .iter()
                    .filter(|id| present.contains(*id))
                    .cloned()
                    .collect();
                let back = if n == u64::MAX {
                    Duration::from_millis(15)
                } else {
                    Duration::from_micros(n)
                };
                push(&mut events, now + back, Event::Listed(r, snapshot, n));
            }
            Event::Answered(r, id, deleted, took) => {
                if let Some(walker) = reapers[r].walker.as_mut() {
                    let answer = if deleted {
                        Answer::Deleted
                    } else {
                        Answer::Conflict
                    };
                    trace(now, r, format_args!("answer {id} {answer:?}"));
                    walker.answered(&id, answer, at(now), Some(Duration::from_micros(took)));
                }
                push(&mut events, now, Event::Wake(r));
            }
            Event::Listed(r, snapshot, n) => {
                let reaper = &mut reapers[r];
                if n == u64::MAX {
                    // The first listing: the stale apps it holds make the ring.
                    let others = (total_requests - reaper.requests) as f64;
                    reaper.walker = Some(Walker::new(snapshot, 24, at(now), others, rng.u64(..)));
                } else if let Some(walker) = reaper.walker.as_mut() {
                    trace(now, r, format_args!("listed {} left", snapshot.len()));
                    walker.listed(&snapshot.iter().map(String::as_str).collect(), at(now));
                }
                push(&mut events, now, Event::Wake(r));
            }
            Event::Wake(r) => {
                let reaper = &mut reapers[r];
                if reaper.done {
                    continue;
                }
                let Some(walker) = reaper.walker.as_mut() else {
                    continue;
                };
                loop {
                    let pool = Pool {
                        others_spent: (total_requests - reaper.requests) as f64,
                        remaining: Some(4_000),
                        tokens_per_second: 1.25,
                    };
                    let next = walker.next(at(now), pool);
                    trace(now, r, format_args!("{next:?} {}", walker.describe()));
                    match next {
                        Next::Delete(id) => {
                            sent_as.insert((r, id.clone()), walker.doing());
                            if reaper
                                .killed_after
                                .is_some_and(|limit| reaper.sent >= limit)
                            {
                                reaper.done = true;
                                break;
                            }
                            reaper.sent += 1;
                            reaper.requests += 1;
                            total_requests += 1;
                            outcome.deletes += 1;
                            let took = Duration::from_millis(150 + rng.u64(..300));
                            let half = took / 2;
                            push(
                                &mut events,
                                now + half,
                                Event::Arrive(r, id, half.as_micros() as u64),
                            );
                        }
                        Next::List { look } => {
                            let why = format!(
                                "list {} {}",
                                if look { "look" } else { "decide" },
                                walker.describe().split(' ').next().unwrap_or_default()
                            );
                            TALLY.with(|t| *t.borrow_mut().entry(why).or_insert(0) += 1);
                            reaper.requests += 1;
                            total_requests += 1;
                            outcome.listings += 1;
                            let took = Duration::from_millis(24 + rng.u64(..12));
                            let half = took / 2;
                            push(
                                &mut events,
                                now + half,
                                Event::Serve(r, half.as_micros() as u64),
                            );
                        }
                        // The pool's count is always fresh here.
                        Next::CheckPool => {}
                        Next::Wait(Some(until)) => {
                            push(
                                &mut events,
                                until.duration_since(base).max(now),
                                Event::Wake(r),
                            );
                            break;
                        }
                        Next::Wait(None) => break,
                        Next::Done => {
                            reaper.done = true;
                            outcome.wall = outcome.wall.max(now);
                            break;
                        }
                    }
                }
            }
        }
    }
    outcome.stale_left = present.len();
    outcome
}

/// `n` reapers starting `apart` from each other.
pub fn fleet(n: usize, apart: Duration) -> Vec<Duration> {
    (0..n).map(|i| apart * i as u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the scenario `name` over 200 seeds: no stale app may be left in any, and the
    /// duplicate deletes of the worst run and of the median one stay within bounds.
    fn holds(name: &str, worst: usize, median: usize) {
        let (_, scenario) = named()
            .into_iter()
            .find(|(n, _)| *n == name)
            .expect("a scenario");
        let mut duplicates: Vec<usize> = (0..200)
            .map(|seed| {
                let outcome = run(&scenario, seed);
                assert_eq!(outcome.stale_left, 0, "{name}, seed {seed}: {outcome:?}");
                outcome.duplicates
            })
            .collect();
        duplicates.sort();
        assert!(duplicates[199] <= worst, "{name}: {duplicates:?}");
        assert!(duplicates[100] <= median, "{name}: {duplicates:?}");
    }

    #[test]
    fn a_lone_reaper_deletes_everything_others_left_whatever_they_deleted() {
        // A duplicate here is only ever the outsider's DELETE landing on one of its own.
        holds("lone", 0, 0);
        holds("lone+2", 2, 0);
        holds("lone+5", 5, 0);
        holds("lone+10", 10, 0);
        holds("lone+trickle", 10, 4);
    }

    #[test]
    fn reapers_together_split_the_ring() {
        holds("8x100", 6, 0);
        holds("16x300", 6, 0);
    }

    #[test]
    fn reapers_starting_apart_leave_nothing_and_collide_little() {
        holds("8x100-0.2s", 30, 2);
        holds("8x100-0.5s", 30, 2);
    }

    #[test]
    fn a_fleet_with_others_deleting_leaves_nothing() {
        holds("8x100+out", 30, 2);
    }

    #[test]
    fn a_reaper_killed_early_has_its_stretch_taken_over() {
        holds("4x100-killed", 40, 6);
    }
}

/// The scenarios `survey` compares, by name.
#[cfg(test)]
fn named() -> Vec<(&'static str, Scenario)> {
    let ms = Duration::from_millis;
    let lone = |outsiders: Vec<Duration>| Scenario {
        stale: 40,
        starts: fleet(1, ms(0)),
        outsiders,
        ..Scenario::default()
    };
    let many = |n: usize, stale: usize, apart: u64| Scenario {
        stale,
        starts: fleet(n, ms(apart)),
        ..Scenario::default()
    };
    vec![
        ("lone", lone(vec![])),
        ("lone+2", lone(vec![ms(5); 2])),
        ("lone+5", lone(vec![ms(5); 5])),
        ("lone+10", lone(vec![ms(5); 10])),
        // One Hatchet process deleting one stale app after another, about one a round trip.
        ("lone+trickle", lone((0..40).map(|i| ms(330 * i)).collect())),
        ("8x100", many(8, 100, 0)),
        ("8x100-0.2s", many(8, 100, 200)),
        ("8x100-0.5s", many(8, 100, 500)),
        ("16x300", many(16, 300, 0)),
        (
            "4x100-killed",
            Scenario {
                killed_after: vec![(0, 3)],
                ..many(4, 100, 0)
            },
        ),
        (
            "8x100+out",
            Scenario {
                outsiders: vec![ms(10), ms(400), ms(900), ms(1_500)],
                ..many(8, 100, 200)
            },
        ),
    ]
}

/// `SIM_TRACE=1 SIM_SCENARIO=name SIM_SEED=n cargo test --lib sim::replay -- --ignored
/// --nocapture`: one run, traced.
#[test]
#[ignore = "a tool to look at one run"]
fn replay() {
    let seed = std::env::var("SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let name = std::env::var("SIM_SCENARIO").unwrap_or_else(|_| "8x100".into());
    let (_, scenario) = named()
        .into_iter()
        .find(|(n, _)| *n == name)
        .expect("a scenario of `named`");
    eprintln!("{:?}", run(&scenario, seed));
}

/// `cargo test --lib sim::survey -- --ignored --nocapture`: each scenario over 200 seeds,
/// in a line: runs that left stale apps, duplicates, wall and listings (median, worst).
#[test]
#[ignore = "a tool to compare changes"]
fn survey() {
    let only = std::env::var("SIM_SCENARIO").ok();
    for (name, scenario) in named() {
        if only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        let outcomes: Vec<(u64, Outcome)> =
            (0..200).map(|seed| (seed, run(&scenario, seed))).collect();
        let stat = |of: &dyn Fn(&Outcome) -> f64| {
            let mut v: Vec<(f64, u64)> = outcomes.iter().map(|(s, o)| (of(o), *s)).collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            (v[v.len() / 2].0, v[v.len() - 1].0, v[v.len() - 1].1)
        };
        let left: Vec<u64> = outcomes
            .iter()
            .filter(|(_, o)| o.stale_left > 0)
            .map(|(s, _)| *s)
            .take(5)
            .collect();
        let (dm, dw, ds) = stat(&|o| o.duplicates as f64);
        let (em, ew, _) = stat(&|o| o.early as f64);
        let (wm, ww, ws) = stat(&|o| o.wall.as_secs_f64());
        let (lm, lw, _) = stat(&|o| o.listings as f64);
        let stale = outcomes.iter().filter(|(_, o)| o.stale_left > 0).count();
        let tally = TALLY.with(|t| std::mem::take(&mut *t.borrow_mut()));
        let mut tally: Vec<(String, usize)> = tally.into_iter().collect();
        tally.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        if std::env::var_os("SIM_TALLY").is_some() {
            eprintln!("{name}: {:?}", &tally[..tally.len().min(8)]);
        }
        eprintln!(
            "{name:>14}: stale left in {stale:>3} {left:?}; duplicates {dm} ({dw}, seed {ds}), early {em} ({ew}); wall {wm:.2} ({ww:.2}, seed {ws}); listings {lm} ({lw})"
        );
    }
}
