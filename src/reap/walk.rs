//! The order one reaper deletes in, chosen so that reapers which cannot see each other
//! rarely ask to delete the same app, and how many of its deletes are in flight: the
//! ring of stale apps, each reaper's territory on it, the delete window, and helping
//! with what is left. docs/design.md ("The walk") says why each rule is as it is.

use std::collections::HashSet;

/// Deletes in flight at first: a reaper that starts inside another's stretch wastes
/// this many, not a full window.
const FIRST_WINDOW: usize = 1;

/// Tokens others spent since the latest listing that show them at work.
pub const OTHERS_AT_WORK: f64 = 3.0;
/// Below this many tokens left in the pool, a listing while walking costs more than it
/// saves: the throttle paces the deletes, and a conflict costs one token, not a window.
const LOOK_POOL_FLOOR: u32 = 100;

/// Should a reaper walking its territory list again now, without stopping its deletes?
/// Only when others have spent from the pool since its latest listing (another reaper
/// may have started inside the territory since), a delete round trip has passed since
/// that listing (so a new reaper's first delete has landed: listing more often would
/// show nothing new, and less often lets the window run into it), and more of the
/// territory is ahead than one window (a listing answers well within a DELETE's round
/// trip, so it can still stop the next sends). Not on a nearly empty pool (`pool_left`,
/// the latest `RateLimit-Remaining`), where each listing takes a scarce token.
pub fn look_again(
    since_listing: std::time::Duration,
    round_trip: std::time::Duration,
    others_spent: f64,
    ahead: usize,
    window: usize,
    pool_left: Option<u32>,
) -> bool {
    since_listing >= round_trip
        && others_spent >= OTHERS_AT_WORK
        && ahead > window
        && pool_left.is_none_or(|left| left >= LOOK_POOL_FLOOR)
}

/// How many deletes one reaper keeps in flight, as TCP sizes its congestion window:
/// it starts small and grows by one with each delete that succeeds (doubling every
/// round trip), up to `--concurrency`; a conflict halves it at once, because another
/// reaper is deleting right here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    size: usize,
    limit: usize,
}

impl Window {
    pub fn new(limit: usize) -> Window {
        let limit = limit.max(1);
        Window {
            size: FIRST_WINDOW.min(limit),
            limit,
        }
    }

    /// Already at `limit`: for a shard, which no other reaper touches.
    pub fn full(limit: usize) -> Window {
        let limit = limit.max(1);
        Window { size: limit, limit }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// A delete succeeded.
    pub fn grow(&mut self) {
        self.size = (self.size + 1).min(self.limit);
    }

    /// Another reaper deleted an app first. Call it once per wave: the deletes already
    /// in flight when the first conflict lands were sent on the old evidence.
    pub fn shrink(&mut self) {
        self.size = (self.size / 2).max(1);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Listed and not yet handed out.
    Open,
    /// Handed out to this reaper's deletes.
    Mine,
    /// Gone without this reaper: another reaper's work.
    Theirs,
}

#[derive(Debug, Clone)]
pub struct Walk {
    ids: Vec<String>,
    slots: Vec<Slot>,
    /// For each `Theirs` slot, the listing that first showed it gone (a conflict counts
    /// for the next listing): a stretch whose front went in the latest one is being worked.
    gone_in: Vec<u32>,
    /// Listings observed so far.
    listings: u32,
    /// Index of the next slot to consider.
    position: usize,
    /// How many more slots, from `position` on, are this reaper's territory.
    budget: usize,
}

/// What is left for a reaper whose territory ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Help {
    /// A stretch nobody is working on: it is now this reaper's territory.
    Stretch,
    /// Only stretches other reapers are walking.
    OnlyLive,
    /// No stale app is left.
    Nothing,
}

/// A stretch of open slots.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    len: usize,
    /// The slot before it went in one of the latest two listings: another reaper is
    /// walking it (one listing without progress may be a slow delete, not a dead reaper).
    live: bool,
}

impl Walk {
    /// A walk over `ids` (sorted here) from `start`, at first covering only the start
    /// app: the probe, before any listing has shown where other reapers are.
    pub fn probe_first(ids: Vec<String>, start: usize) -> Walk {
        let mut walk = Walk::whole(ids);
        if !walk.is_empty() {
            walk.position = start % walk.len();
            walk.budget = 1;
        }
        walk
    }

    /// A walk that owns every app from the start: for a shard, which no other reaper touches.
    pub fn whole(mut ids: Vec<String>) -> Walk {
        ids.sort();
        let len = ids.len();
        Walk {
            slots: vec![Slot::Open; len],
            gone_in: vec![0; len],
            ids,
            listings: 0,
            position: 0,
            budget: len,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The next app of this reaper's territory, if any is left. Each app is handed out
    /// once per walk, however the territory moves.
    pub fn next_app(&mut self) -> Option<&str> {
        while self.budget > 0 {
            let index = self.position;
            self.position = (self.position + 1) % self.ids.len();
            self.budget -= 1;
            if self.slots[index] == Slot::Open {
                self.slots[index] = Slot::Mine;
                return Some(&self.ids[index]);
            }
        }
        None
    }

    /// Another reaper deleted this app first: it is walking forward from here, so this
    /// reaper's territory ends here.
    pub fn conflict(&mut self, id: &str) {
        if let Some(index) = self.index_of(id) {
            self.slots[index] = Slot::Theirs;
            self.gone_in[index] = self.listings + 1;
            self.position = index;
        }
        self.measure();
    }

    /// A fresh listing: apps missing from it that this reaper did not take are another
    /// reaper's. Re-measures the territory.
    pub fn observe(&mut self, present: &HashSet<&str>) {
        self.listings += 1;
        for index in 0..self.ids.len() {
            if self.slots[index] == Slot::Open && !present.contains(self.ids[index].as_str()) {
                self.slots[index] = Slot::Theirs;
                self.gone_in[index] = self.listings;
            }
        }
        self.measure();
    }

    /// Has any listing or conflict shown another reaper at work?
    pub fn others_seen(&self) -> bool {
        self.slots.contains(&Slot::Theirs)
    }

    /// Apps still listed that lie in other reapers' territories.
    pub fn left_to_others(&self) -> Vec<&str> {
        self.open_indices().map(|i| self.ids[i].as_str()).collect()
    }

    /// How many apps of this reaper's territory are still to be handed out.
    pub fn ahead(&self) -> usize {
        let len = self.ids.len();
        (0..self.budget)
            .map(|step| (self.position + step) % len)
            .filter(|&index| self.slots[index] == Slot::Open)
            .count()
    }

    /// Is this reaper's remaining territory the largest? Then it is likely the last to
    /// finish, and the one that should check that nothing was left behind.
    pub fn holds_largest_territory(&self) -> bool {
        let mine = self.ahead();
        let largest = self.open_runs().iter().map(|run| run.len).max();
        mine >= largest.unwrap_or(0)
    }

    /// After this reaper's territory ended, and a fresh listing: takes the largest
    /// stretch nobody was seen working on (its front did not move over the last two
    /// listings), whole, from its front. A stretch whose front moved is left to the reaper
    /// walking it, which helps in turn if a conflict cuts it short. Taking a stalled
    /// stretch whole, rather than halving it again and again, keeps takeovers from
    /// cascading; if its reaper was only slow, the two meet at its front, where this
    /// reaper's window is smallest.
    pub fn help(&mut self) -> Help {
        let runs = self.open_runs();
        let stalled = runs
            .iter()
            .filter(|run| !run.live)
            .max_by_key(|run| run.len);
        match stalled {
            Some(run) => {
                self.position = run.start;
                self.budget = run.len;
                Help::Stretch
            }
            None if runs.is_empty() => Help::Nothing,
            None => Help::OnlyLive,
        }
    }

    /// Every stretch of open slots, around the ring.
    fn open_runs(&self) -> Vec<Run> {
        let len = self.ids.len();
        let Some(first_closed) = (0..len).find(|&i| self.slots[i] != Slot::Open) else {
            let whole = Run {
                start: 0,
                len,
                live: false,
            };
            return if len == 0 { vec![] } else { vec![whole] };
        };
        let mut runs: Vec<Run> = Vec::new();
        for step in 1..=len {
            let index = (first_closed + step) % len;
            if self.slots[index] != Slot::Open {
                continue;
            }
            let before = (index + len - 1) % len;
            match runs.last_mut() {
                Some(run) if (run.start + run.len) % len == index => run.len += 1,
                _ => runs.push(Run {
                    start: index,
                    len: 1,
                    live: self.slots[before] == Slot::Theirs
                        && self.gone_in[before] + 1 >= self.listings,
                }),
            }
        }
        runs
    }

    /// The territory runs from `position` to the next slot another reaper took.
    fn measure(&mut self) {
        let len = self.ids.len();
        self.budget = (0..len)
            .find(|&step| self.slots[(self.position + step) % len] == Slot::Theirs)
            .unwrap_or(len);
    }

    fn open_indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.ids.len()).filter(|&i| self.slots[i] == Slot::Open)
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.ids
            .binary_search_by(|probe| probe.as_str().cmp(id))
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i:04}")).collect()
    }

    fn drain(walk: &mut Walk) -> Vec<String> {
        std::iter::from_fn(|| walk.next_app().map(str::to_string)).collect()
    }

    fn without(all: &[String], gone: &[&str]) -> Vec<String> {
        all.iter()
            .filter(|id| !gone.contains(&id.as_str()))
            .cloned()
            .collect()
    }

    fn observe(walk: &mut Walk, present: &[String]) {
        walk.observe(&present.iter().map(String::as_str).collect());
    }

    #[test]
    fn the_window_starts_at_one_grows_on_success_and_halves_on_a_conflict() {
        let mut window = Window::new(24);
        assert_eq!(window.size(), 1);
        for _ in 0..5 {
            window.grow();
        }
        assert_eq!(window.size(), 6);
        window.shrink();
        assert_eq!(window.size(), 3);
        window.shrink();
        window.shrink();
        window.shrink();
        assert_eq!(window.size(), 1, "never below one");
        for _ in 0..100 {
            window.grow();
        }
        assert_eq!(window.size(), 24, "never above --concurrency");
        assert_eq!(Window::full(8).size(), 8);
        assert_eq!(Window::new(0).size(), 1);
    }

    #[test]
    fn a_long_walk_looks_again_once_others_spend_and_a_round_trip_has_passed() {
        let rtt = std::time::Duration::from_millis(300);
        let ms = std::time::Duration::from_millis;
        let pool = Some(4_000);
        assert!(look_again(ms(300), rtt, 3.0, 40, 8, pool));
        // Too soon: a newcomer's first delete may not have landed yet.
        assert!(!look_again(ms(299), rtt, 3.0, 40, 8, pool));
        // Nobody else spends: nobody can have started inside the territory.
        assert!(!look_again(ms(900), rtt, 2.9, 40, 8, pool));
        // A nearly empty pool: a conflict is cheaper than a listing.
        assert!(!look_again(ms(900), rtt, 9.0, 40, 8, Some(99)));
        assert!(look_again(ms(900), rtt, 9.0, 40, 8, None));
        // The window already covers what is left: a listing could not change a thing.
        assert!(!look_again(ms(900), rtt, 9.0, 8, 8, pool));
        assert!(look_again(ms(900), rtt, 9.0, 9, 8, pool));
    }

    #[test]
    fn a_listing_while_walking_ends_the_territory_before_a_newcomers_start() {
        let all = ids(20);
        let mut walk = Walk::probe_first(all.clone(), 0);
        drain(&mut walk);
        observe(&mut walk, &without(&all, &["0000"]));
        assert_eq!(walk.ahead(), 19);
        let sent: Vec<String> = (0..4)
            .filter_map(|_| walk.next_app().map(str::to_string))
            .collect();
        assert_eq!(sent, ["0001", "0002", "0003", "0004"]);
        // A newcomer probed 0009 meanwhile; ours in flight are still listed.
        observe(&mut walk, &without(&all, &["0000", "0009"]));
        assert_eq!(walk.ahead(), 4);
        assert_eq!(drain(&mut walk), ["0005", "0006", "0007", "0008"]);
    }

    #[test]
    fn alone_it_probes_then_takes_the_whole_ring() {
        let mut walk = Walk::probe_first(ids(5), 3);
        assert_eq!(drain(&mut walk), ["0003"]);
        observe(&mut walk, &ids(5));
        assert!(!walk.others_seen());
        assert_eq!(drain(&mut walk), ["0004", "0000", "0001", "0002"]);
        assert!(walk.left_to_others().is_empty());
        assert_eq!(walk.help(), Help::Nothing);
    }

    #[test]
    fn stops_where_another_reaper_started() {
        let mut walk = Walk::probe_first(ids(10), 2);
        assert_eq!(drain(&mut walk), ["0002"]);
        // Another reaper probed 0006; 0002 is gone by our own hand.
        observe(&mut walk, &without(&ids(10), &["0006", "0002"]));
        assert!(walk.others_seen());
        assert_eq!(drain(&mut walk), ["0003", "0004", "0005"]);
        assert_eq!(
            walk.left_to_others(),
            ["0000", "0001", "0007", "0008", "0009"]
        );
    }

    #[test]
    fn a_conflict_ends_the_territory_there() {
        let mut walk = Walk::whole(ids(6));
        assert_eq!(walk.next_app(), Some("0000"));
        walk.conflict("0001");
        assert_eq!(drain(&mut walk), Vec::<String>::new());
    }

    #[test]
    fn helping_takes_a_stalled_stretch_whole_and_leaves_a_live_one() {
        let all = ids(12);
        let mut walk = Walk::probe_first(all.clone(), 0);
        drain(&mut walk);
        // Another reaper started at 0005: ours is 0001-0004.
        observe(&mut walk, &without(&all, &["0000", "0005"]));
        assert_eq!(drain(&mut walk), ["0001", "0002", "0003", "0004"]);
        // It has reached 0008: its stretch is live, nothing to help with.
        let gone: Vec<String> = ids(9);
        let gone: Vec<&str> = gone.iter().map(String::as_str).collect();
        observe(&mut walk, &without(&all, &gone));
        assert_eq!(walk.help(), Help::OnlyLive);
        assert_eq!(walk.next_app(), None);
        // A listing later it has not moved: maybe a slow delete.
        observe(&mut walk, &without(&all, &gone));
        assert_eq!(walk.help(), Help::OnlyLive);
        // Two listings later it still has not: its reaper stopped. Take it all.
        observe(&mut walk, &without(&all, &gone));
        assert_eq!(walk.help(), Help::Stretch);
        assert_eq!(drain(&mut walk), ["0009", "0010", "0011"]);
        assert_eq!(walk.help(), Help::Nothing);
    }

    #[test]
    fn a_conflict_marks_the_stretch_after_it_as_live() {
        let all = ids(12);
        let mut walk = Walk::whole(all.clone());
        assert_eq!(walk.next_app(), Some("0000"));
        walk.conflict("0001");
        observe(&mut walk, &without(&all, &["0000", "0001"]));
        assert_eq!(walk.help(), Help::OnlyLive);
    }

    #[test]
    fn empty_rings_hand_out_nothing() {
        let mut walk = Walk::probe_first(vec![], 7);
        assert_eq!(walk.next_app(), None);
        assert_eq!(walk.help(), Help::Nothing);
        assert!(walk.is_empty());
    }

    #[test]
    fn a_shared_probe_leaves_the_stretch_to_the_winner() {
        let mut walk = Walk::probe_first(ids(10), 4);
        assert_eq!(walk.next_app(), Some("0004"));
        walk.conflict("0004");
        observe(&mut walk, &without(&ids(10), &["0004"]));
        assert_eq!(walk.next_app(), None);
        assert!(!walk.holds_largest_territory());
    }

    /// One simulated reaper: the engine's loop over a walk, with deletes that land one
    /// round after they are sent.
    struct Sim {
        walk: Walk,
        window: Window,
        in_flight: Vec<String>,
        sent: HashSet<String>,
        /// Probed, and not yet listed again.
        probing: bool,
        helping: bool,
        /// Held the largest territory: waits for live stretches too.
        verifier: bool,
        /// Joined while others were deleting: watches a round before it lists again.
        looking: bool,
        done: bool,
    }

    /// Reapers joining `stagger` rounds apart, each listing when it joins (and, if others
    /// were deleting, watching a round and listing again), probing,
    /// listing again, deleting its territory with the window, and helping after a
    /// conflict. Returns the duplicate deletes; panics if a reaper sent one app twice
    /// or a stale app is left.
    fn simulate(reapers: usize, stale: usize, stagger: usize, seed: u64) -> usize {
        let ring = ids(stale);
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut deleted: HashSet<String> = HashSet::new();
        let mut sims: Vec<Sim> = Vec::new();
        let mut duplicates = 0;
        let mut at_work = false;
        for round in 0.. {
            while sims.len() < reapers && sims.len() * stagger <= round {
                let present: Vec<String> = ring
                    .iter()
                    .filter(|id| !deleted.contains(*id))
                    .cloned()
                    .collect();
                let start = rng.usize(..present.len().max(1));
                sims.push(Sim {
                    walk: Walk::probe_first(present, start),
                    window: Window::new(24),
                    in_flight: vec![],
                    sent: HashSet::new(),
                    probing: true,
                    helping: false,
                    verifier: false,
                    looking: at_work,
                    done: false,
                });
            }
            // Every delete in flight lands, then each reaper decides on what it sees.
            for sim in sims.iter_mut() {
                let mut conflicted = false;
                for id in std::mem::take(&mut sim.in_flight) {
                    if deleted.insert(id.clone()) {
                        sim.window.grow();
                    } else {
                        duplicates += 1;
                        conflicted = true;
                        sim.walk.conflict(&id);
                    }
                }
                if conflicted {
                    sim.window.shrink();
                    sim.helping = true;
                }
            }
            let present: Vec<String> = ring
                .iter()
                .filter(|id| !deleted.contains(*id))
                .cloned()
                .collect();
            for sim in sims.iter_mut().filter(|sim| !sim.done) {
                if sim.looking {
                    sim.looking = false;
                    observe(&mut sim.walk, &present);
                    if sim.walk.others_seen() {
                        sim.probing = false;
                        sim.helping = true;
                        if sim.walk.help() != Help::Stretch {
                            sim.done = true;
                            continue;
                        }
                    }
                }
                // Walking a territory longer than its window while others delete: it
                // lists again each round, as the engine does once per round trip.
                if !sim.probing && at_work && sim.walk.ahead() > sim.window.size() {
                    observe(&mut sim.walk, &present);
                }
                let mut next = sim.walk.next_app().map(str::to_string);
                if next.is_none() && sim.probing && !sim.helping {
                    sim.probing = false;
                    observe(&mut sim.walk, &present);
                    sim.verifier = sim.walk.holds_largest_territory();
                    sim.helping = sim.verifier && sim.walk.others_seen();
                    next = sim.walk.next_app().map(str::to_string);
                }
                if next.is_none() && sim.helping {
                    observe(&mut sim.walk, &present);
                    match sim.walk.help() {
                        Help::Stretch => {
                            sim.window = Window::new(24);
                            next = sim.walk.next_app().map(str::to_string);
                        }
                        // The verifier waits a round and lists again.
                        Help::OnlyLive if sim.verifier => continue,
                        Help::OnlyLive | Help::Nothing => {}
                    }
                }
                let Some(first) = next else {
                    sim.done = true;
                    continue;
                };
                let mut batch = vec![first];
                while batch.len() < sim.window.size() {
                    match sim.walk.next_app() {
                        Some(id) => batch.push(id.to_string()),
                        None => break,
                    }
                }
                for id in &batch {
                    assert!(sim.sent.insert(id.clone()), "seed {seed}: {id} sent twice");
                }
                sim.in_flight = batch;
            }
            if sims.len() == reapers && sims.iter().all(|sim| sim.done) {
                break;
            }
            // What a reaper joining next round sees spent from the rate-limit pool.
            at_work = sims.iter().any(|sim| !sim.in_flight.is_empty());
        }
        assert_eq!(deleted.len(), stale, "seed {seed}: stale apps left");
        duplicates
    }

    #[test]
    fn simultaneous_reapers_split_the_ring() {
        let duplicates: Vec<usize> = (0..200).map(|seed| simulate(8, 100, 0, seed)).collect();
        assert!(duplicates.iter().all(|&d| d <= 6), "{duplicates:?}");
        let total: usize = duplicates.iter().sum();
        assert!(total < 200, "{total} in 200 runs");
    }

    /// Reapers that join while others delete watch a round, list again and leave live
    /// stretches to their reapers, so nobody walks into another's stretch.
    #[test]
    fn late_starters_neither_leave_apps_nor_send_one_twice() {
        for stagger in [1, 2, 3, 5] {
            for seed in 0..200 {
                let duplicates = simulate(8, 100, stagger, seed);
                assert!(
                    duplicates <= 6,
                    "stagger {stagger}, seed {seed}: {duplicates}"
                );
            }
        }
    }
}
