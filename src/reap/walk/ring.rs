//! The ring of stale apps one reaper walks, and what its listings show of the others:
//! which apps went without it and when, and so where other reapers are at work
//! (docs/design.md, "The walk").

use std::collections::HashSet;
use std::time::Instant;

/// An end of a gap that moved by this many at once is a reaper's: apps deleted by hand
/// or by Hatchet, in another order than the ring's, rarely land three side by side.
const SURE_RUN: usize = 3;

/// How far above its gap a walker's deletes in flight may land: the most a reaper keeps
/// in flight (`--concurrency`'s default).
const WINDOW_REACH: usize = 24;

/// What an app that went without this reaper says about who deleted it, read when a
/// listing first showed it gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    /// Alone: deleted by hand, by Hatchet's own reaping, by a run that died, or a 404 to
    /// this reaper. Nobody walks on from it, so a walk passes over it.
    Alone,
    /// Went with a neighbour, next to no earlier gap: a reaper's probe (two apps side by
    /// side) or the start of its walk.
    Start,
    /// Extended an earlier gap upward: a reaper walking up. `sure` when by three or more
    /// at once, or right after a listing that showed that gap grow the same way: one or
    /// two apps beside a gap may be anybody's.
    Up { sure: bool },
    /// The same, downward.
    Down { sure: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone {
    /// When this reaper learned of it: a listing's answer, or a 404's.
    pub at: Instant,
    /// The listing before the one that showed it: it went after this. None for a 404.
    pub since: Option<Instant>,
    pub sign: Sign,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Listed and not yet handed out.
    Open,
    /// Handed out to this reaper's DELETE.
    Mine,
    /// Gone without this reaper.
    Gone(Gone),
}

/// Which way a leg walks the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Up,
    Down,
}

/// Part of the ring this reaper walks: from `at`, `steps` slots at most, one way,
/// stopping at the first wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leg {
    pub at: usize,
    pub dir: Dir,
    pub steps: usize,
}

/// A stretch of the ring between two walls holding apps still listed: `len` slots from
/// `start` upward. `below` and `above` are the walls' slots next to it (the same one
/// when there is only one wall; none on a ring with no wall).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stretch {
    pub start: usize,
    pub len: usize,
    pub below: Option<usize>,
    pub above: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Ring {
    ids: Vec<String>,
    slots: Vec<Slot>,
    /// When the latest listing was answered.
    listed_at: Option<Instant>,
}

impl Ring {
    /// The ring of `ids`, sorted, so every reaper walks them in the same order.
    pub fn new(mut ids: Vec<String>) -> Ring {
        ids.sort();
        ids.dedup();
        Ring {
            slots: vec![Slot::Open; ids.len()],
            ids,
            listed_at: None,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn id(&self, index: usize) -> &str {
        &self.ids[index]
    }

    pub fn slot(&self, index: usize) -> Slot {
        self.slots[index]
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.ids
            .binary_search_by(|probe| probe.as_str().cmp(id))
            .ok()
    }

    /// The slot `steps` away from `index`, going `dir`.
    pub fn step(&self, index: usize, dir: Dir, steps: usize) -> usize {
        let len = self.len();
        match dir {
            Dir::Up => (index + steps) % len,
            Dir::Down => (index + len - steps % len) % len,
        }
    }

    /// Walks stop at this reaper's own apps and at others' work; they pass over an app
    /// that went alone.
    pub fn is_wall(&self, index: usize) -> bool {
        match self.slots[index] {
            Slot::Open => false,
            Slot::Mine => true,
            Slot::Gone(gone) => gone.sign != Sign::Alone,
        }
    }

    /// Hands `index` out to this reaper.
    pub fn take(&mut self, index: usize) {
        self.slots[index] = Slot::Mine;
    }

    /// The next app of `leg` to delete, if the leg has one left: it passes over apps
    /// that went alone and ends at a wall.
    pub fn next_of(&mut self, leg: &mut Leg) -> Option<usize> {
        while leg.steps > 0 {
            let index = leg.at;
            if self.is_wall(index) {
                leg.steps = 0;
                break;
            }
            leg.at = self.step(index, leg.dir, 1);
            leg.steps -= 1;
            if self.slots[index] == Slot::Open {
                return Some(index);
            }
        }
        None
    }

    /// Apps `leg` would still hand out.
    pub fn ahead_of(&self, leg: &Leg) -> usize {
        let mut ahead = 0;
        for step in 0..leg.steps {
            let index = self.step(leg.at, leg.dir, step);
            if self.is_wall(index) {
                break;
            }
            ahead += usize::from(self.slots[index] == Slot::Open);
        }
        ahead
    }

    /// A listing answered at `at`: apps missing from it that were never handed out went
    /// without this reaper. Returns how many.
    pub fn observe(&mut self, present: &HashSet<&str>, at: Instant) -> usize {
        let since = self.listed_at.replace(at);
        let went: Vec<usize> = (0..self.len())
            .filter(|&i| self.slots[i] == Slot::Open && !present.contains(self.ids[i].as_str()))
            .collect();
        let signs: Vec<(usize, Sign)> = runs_of(&went, self.len())
            .into_iter()
            .flat_map(|run| {
                let sign = self.sign_of_run(&run, since);
                run.into_iter().map(move |i| (i, sign))
            })
            .collect();
        for &(index, sign) in &signs {
            self.slots[index] = Slot::Gone(Gone { at, since, sign });
        }
        went.len()
    }

    /// What a run of apps that went in one listing (after the one at `since`) means: an
    /// end of an earlier gap moved, a start, or one app alone.
    fn sign_of_run(&self, run: &[usize], since: Option<Instant>) -> Sign {
        let before = |i: usize| match self.slots[i] {
            Slot::Gone(gone) => Some(gone),
            _ => None,
        };
        if run.len() == self.len() {
            return Sign::Alone;
        }
        // The end it extends moved the same way in the listing just before: a reaper at
        // work, not two apps deleted by hand side by side.
        let again = |gone: Gone, up: bool| {
            since.is_some_and(|since| gone.at == since)
                && match gone.sign {
                    Sign::Up { .. } => up,
                    Sign::Down { .. } => !up,
                    _ => false,
                }
        };
        if let Some(gone) = before(self.step(run[0], Dir::Down, 1)) {
            Sign::Up {
                sure: run.len() >= SURE_RUN || again(gone, true),
            }
        } else if let Some(gone) = before(self.step(run[run.len() - 1], Dir::Up, 1)) {
            Sign::Down {
                sure: run.len() >= SURE_RUN || again(gone, false),
            }
        } else if run.len() >= 2 && self.walker_within_reach(run[0]) {
            // A walker's deletes in flight together land out of order, so a listing may
            // show some of them apart from its gap, a little above it.
            Sign::Up { sure: true }
        } else if run.len() >= 2 || self.slots[self.step(run[0], Dir::Down, 1)] == Slot::Mine {
            // Right above this reaper's own apps, even one app is another's start: a
            // probe that overlapped this reaper's, whose other app it shows.
            Sign::Start
        } else {
            Sign::Alone
        }
    }

    /// Is there, a window's reach below `index` past apps still listed, the upper end of
    /// a gap that was already growing upward?
    fn walker_within_reach(&self, index: usize) -> bool {
        for step in 1..=WINDOW_REACH.min(self.len() - 1) {
            match self.slots[self.step(index, Dir::Down, step)] {
                Slot::Open => {}
                Slot::Gone(gone) => return matches!(gone.sign, Sign::Up { .. } | Sign::Start),
                Slot::Mine => return false,
            }
        }
        false
    }

    /// Another reaper deleted `index` first (a 404 or 403 to this reaper's DELETE). By
    /// itself that says nothing of a reaper walking on, so a walk passes over it.
    pub fn conflict(&mut self, index: usize, at: Instant) {
        self.slots[index] = Slot::Gone(Gone {
            at,
            since: None,
            sign: Sign::Alone,
        });
    }

    /// When the latest listing was answered.
    pub fn listed_at(&self) -> Option<Instant> {
        self.listed_at
    }

    /// Apps still listed and not handed out.
    pub fn open(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).filter(|&i| self.slots[i] == Slot::Open)
    }

    /// Every stretch between walls that still holds a listed app, around the ring.
    pub fn stretches(&self) -> Vec<Stretch> {
        let len = self.len();
        let walls: Vec<usize> = (0..len).filter(|&i| self.is_wall(i)).collect();
        let Some(&last) = walls.last() else {
            let whole = Stretch {
                start: 0,
                len,
                below: None,
                above: None,
            };
            return if self.open().next().is_some() {
                vec![whole]
            } else {
                vec![]
            };
        };
        let mut below = last;
        let mut stretches = Vec::new();
        for &wall in &walls {
            let gap = (wall + len - below - 1) % len;
            let start = (below + 1) % len;
            if (0..gap).any(|step| self.slots[(start + step) % len] == Slot::Open) {
                stretches.push(Stretch {
                    start,
                    len: gap,
                    below: Some(below),
                    above: Some(wall),
                });
            }
            below = wall;
        }
        stretches
    }
}

/// `indices` (sorted) grouped into runs of neighbours on a ring of `len`.
fn runs_of(indices: &[usize], len: usize) -> Vec<Vec<usize>> {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for &i in indices {
        match runs.last_mut() {
            Some(run) if run[run.len() - 1] + 1 == i => run.push(i),
            _ => runs.push(vec![i]),
        }
    }
    // A run that ends at the top joins the one that starts at zero.
    if runs.len() > 1 && runs[0][0] == 0 && runs[runs.len() - 1].last() == Some(&(len - 1)) {
        let first = runs.remove(0);
        runs.last_mut().expect("two runs").extend(first);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ring_of(n: usize) -> Ring {
        Ring::new((0..n).map(|i| format!("{i:04}")).collect())
    }

    fn listing(ring: &mut Ring, gone: &[usize], at: Instant) {
        let ids: Vec<String> = (0..ring.len())
            .filter(|i| !gone.contains(i))
            .map(|i| ring.id(i).to_string())
            .collect();
        ring.observe(&ids.iter().map(String::as_str).collect(), at);
    }

    #[test]
    fn an_app_gone_alone_is_passed_over_and_two_side_by_side_are_a_start() {
        let mut ring = ring_of(10);
        listing(&mut ring, &[3, 6, 7], Instant::now());
        assert!(!ring.is_wall(3));
        assert!(ring.is_wall(6) && ring.is_wall(7));
        let mut leg = Leg {
            at: 1,
            dir: Dir::Up,
            steps: 10,
        };
        let handed: Vec<usize> = std::iter::from_fn(|| ring.next_of(&mut leg)).collect();
        assert_eq!(handed, [1, 2, 4, 5], "over 3, and up to the run at 6");
    }

    fn sign(ring: &Ring, index: usize) -> Option<Sign> {
        match ring.slot(index) {
            Slot::Gone(gone) => Some(gone.sign),
            _ => None,
        }
    }

    #[test]
    fn a_gap_that_grows_says_which_way_its_reaper_walks_and_how_surely() {
        let mut ring = ring_of(30);
        let t = Instant::now();
        listing(&mut ring, &[4, 5, 14, 15, 24], t);
        assert_eq!(sign(&ring, 4), Some(Sign::Start));
        assert_eq!(sign(&ring, 24), Some(Sign::Alone));
        let later = t + Duration::from_millis(300);
        listing(
            &mut ring,
            &[4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 24, 25],
            later,
        );
        assert_eq!(sign(&ring, 7), Some(Sign::Up { sure: true }));
        assert_eq!(sign(&ring, 12), Some(Sign::Down { sure: true }));
        // One app beside a gap may be anybody's; once more the listing after, a reaper.
        assert_eq!(sign(&ring, 25), Some(Sign::Up { sure: false }));
        let last = later + Duration::from_millis(300);
        listing(
            &mut ring,
            &[4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 24, 25, 26],
            last,
        );
        assert_eq!(sign(&ring, 26), Some(Sign::Up { sure: true }));
        assert_eq!(sign(&ring, 9), Some(Sign::Up { sure: true }));
        // Two apps gone alone side by side, a listing apart, are no reaper.
        let mut hands = ring_of(10);
        listing(&mut hands, &[3], t);
        listing(&mut hands, &[3, 4], later);
        assert_eq!(sign(&hands, 4), Some(Sign::Up { sure: false }));
        match ring.slot(26) {
            Slot::Gone(gone) => assert_eq!(gone.since, Some(later)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn runs_join_across_zero() {
        assert_eq!(runs_of(&[0, 1, 4, 9], 10), [vec![4], vec![9, 0, 1]]);
        assert_eq!(runs_of(&[3], 10), [vec![3]]);
    }

    #[test]
    fn one_app_gone_right_above_this_reapers_own_is_anothers_start() {
        let mut ring = ring_of(10);
        ring.take(3);
        ring.take(4);
        listing(&mut ring, &[5, 8], Instant::now());
        assert!(ring.is_wall(5), "a probe that overlapped this one");
        assert!(!ring.is_wall(8));
    }

    #[test]
    fn a_404_is_no_wall_by_itself() {
        let mut ring = ring_of(10);
        ring.take(2);
        ring.conflict(2, Instant::now());
        assert!(!ring.is_wall(2));
    }

    #[test]
    fn stretches_lie_between_walls_around_the_ring() {
        let mut ring = ring_of(10);
        let t = Instant::now();
        assert_eq!(ring.stretches().len(), 1);
        ring.take(0);
        listing(&mut ring, &[0, 5, 6, 8], t);
        let stretches = ring.stretches();
        let spans: Vec<(usize, usize)> = stretches.iter().map(|s| (s.start, s.len)).collect();
        // 8 went alone, so the stretch after 6 runs on to 0, the reaper's own.
        assert_eq!(spans, [(7, 3), (1, 4)]);
        assert_eq!(stretches[0].below, Some(6));
        assert_eq!(stretches[0].above, Some(0));
        assert_eq!(stretches[1].below, Some(0));
    }

    #[test]
    fn a_leg_downward_stops_at_a_wall_and_wraps_around_zero() {
        let mut ring = ring_of(8);
        listing(&mut ring, &[5, 6], Instant::now());
        let mut leg = Leg {
            at: 1,
            dir: Dir::Down,
            steps: 8,
        };
        let handed: Vec<usize> = std::iter::from_fn(|| ring.next_of(&mut leg)).collect();
        assert_eq!(handed, [1, 0, 7]);
        assert_eq!(ring.ahead_of(&leg), 0);
    }
}
