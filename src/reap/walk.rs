//! The order one reaper deletes in, chosen so that reapers which cannot see each other
//! rarely ask to delete the same app.
//!
//! Every reaper sorts the stale apps the same way (by id) into a ring and starts at a
//! random place on it, walking forward. A listing taken after the first delete shows
//! where the others started: apps gone from the ring that this reaper did not delete.
//! Each reaper then keeps to its territory, the stretch from where it stands to the
//! next gone app, because the reaper that made that gap is walking forward from it.
//! A conflict (404/403) is fresh evidence of a neighbour: list again and re-measure.

use std::collections::HashSet;

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
    /// Index of the next slot to consider.
    position: usize,
    /// How many more slots, from `position` on, are this reaper's territory.
    budget: usize,
}

impl Walk {
    /// A walk over `ids` (sorted here) from `start`, at first covering only the start
    /// app: the probe, before any listing has shown where other reapers are.
    pub fn probe_first(mut ids: Vec<String>, start: usize) -> Walk {
        ids.sort();
        let len = ids.len();
        Walk {
            slots: vec![Slot::Open; len],
            ids,
            position: if len == 0 { 0 } else { start % len },
            budget: len.min(1),
        }
    }

    /// A walk that owns every app from the start: for a shard, which no other reaper touches.
    pub fn whole(mut ids: Vec<String>) -> Walk {
        ids.sort();
        let len = ids.len();
        Walk {
            slots: vec![Slot::Open; len],
            ids,
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

    /// The next app of this reaper's territory, if any is left.
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
            self.position = index;
        }
        self.measure();
    }

    /// A fresh listing: apps missing from it that this reaper did not take are another
    /// reaper's. Re-measures the territory.
    pub fn observe(&mut self, present: &HashSet<&str>) {
        for (slot, id) in self.slots.iter_mut().zip(&self.ids) {
            if *slot == Slot::Open && !present.contains(id.as_str()) {
                *slot = Slot::Theirs;
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

    /// The largest stretch of open slots, as (first index, length).
    fn largest_open_run(&self) -> Option<(usize, usize)> {
        let len = self.ids.len();
        let first_closed = (0..len).find(|&i| self.slots[i] != Slot::Open);
        let Some(first_closed) = first_closed else {
            return (len > 0).then_some((0, len));
        };
        let mut best: Option<(usize, usize)> = None;
        let mut run_start = None;
        for step in 1..=len {
            let index = (first_closed + step) % len;
            match (self.slots[index] == Slot::Open, run_start) {
                (true, None) => run_start = Some((index, step)),
                (false, Some((start, start_step))) => {
                    let run = step - start_step;
                    if best.is_none_or(|(_, longest)| run > longest) {
                        best = Some((start, run));
                    }
                    run_start = None;
                }
                _ => {}
            }
        }
        best
    }

    /// Is this reaper's remaining territory the largest? Then it is likely the last to
    /// finish, and the one that should check that nothing was left behind.
    pub fn holds_largest_territory(&self) -> bool {
        let mine = self.territory_len();
        let largest = self.largest_open_run().map_or(0, |(_, len)| len);
        mine >= largest
    }

    /// Takes over the back half of the largest stretch still listed: its owner (if it
    /// is alive) works from the front, so the two meet only at the end.
    pub fn take_over(&mut self) -> bool {
        let Some((start, run)) = self.largest_open_run() else {
            return false;
        };
        let half = run / 2;
        self.position = (start + half) % self.ids.len();
        self.budget = run - half;
        true
    }

    fn territory_len(&self) -> usize {
        let len = self.ids.len();
        (0..self.budget)
            .map(|step| (self.position + step) % len)
            .filter(|&index| self.slots[index] == Slot::Open)
            .count()
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

    #[test]
    fn alone_it_probes_then_takes_the_whole_ring() {
        let mut walk = Walk::probe_first(ids(5), 3);
        assert_eq!(drain(&mut walk), ["0003"]);
        let all = ids(5);
        walk.observe(&all.iter().map(String::as_str).collect());
        assert!(!walk.others_seen());
        assert_eq!(drain(&mut walk), ["0004", "0000", "0001", "0002"]);
        assert!(walk.left_to_others().is_empty());
    }

    #[test]
    fn stops_where_another_reaper_started() {
        let mut walk = Walk::probe_first(ids(10), 2);
        assert_eq!(drain(&mut walk), ["0002"]);
        // Another reaper probed 0006; 0002 is gone by our own hand.
        let present: Vec<String> = ids(10)
            .into_iter()
            .filter(|id| id != "0006" && id != "0002")
            .collect();
        walk.observe(&present.iter().map(String::as_str).collect());
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
    fn taking_over_starts_halfway_down_the_largest_stretch() {
        let mut walk = Walk::probe_first(ids(12), 0);
        drain(&mut walk);
        // Others took 0001 and 0005; the open stretches are 2-4 (3) and 6-11 (6).
        let present: Vec<String> = ids(12)
            .into_iter()
            .filter(|id| !["0000", "0001", "0005"].contains(&id.as_str()))
            .collect();
        walk.observe(&present.iter().map(String::as_str).collect());
        assert_eq!(drain(&mut walk), Vec::<String>::new());
        assert!(!walk.holds_largest_territory());
        assert!(walk.take_over());
        assert_eq!(drain(&mut walk), ["0009", "0010", "0011"]);
    }

    #[test]
    fn empty_rings_hand_out_nothing() {
        let mut walk = Walk::probe_first(vec![], 7);
        assert_eq!(walk.next_app(), None);
        assert!(!walk.take_over());
        assert!(walk.is_empty());
    }

    #[test]
    fn a_shared_probe_leaves_the_stretch_to_the_winner() {
        let mut walk = Walk::probe_first(ids(10), 4);
        assert_eq!(walk.next_app(), Some("0004"));
        walk.conflict("0004");
        let present: Vec<String> = ids(10).into_iter().filter(|id| id != "0004").collect();
        walk.observe(&present.iter().map(String::as_str).collect());
        assert_eq!(walk.next_app(), None);
        assert!(!walk.holds_largest_territory());
    }

    /// Reapers that start together, probe, list once and keep to their territories
    /// delete every app, and collide only where two probes hit the same app.
    #[test]
    fn simultaneous_reapers_split_the_ring() {
        let ring = ids(100);
        let mut total_duplicates = 0;
        for seed in 0..200 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut walks: Vec<Walk> = (0..8)
                .map(|_| Walk::probe_first(ring.clone(), rng.usize(..100)))
                .collect();
            let mut deleted: HashSet<String> = HashSet::new();
            let mut duplicates = 0;
            for walk in &mut walks {
                let id = walk.next_app().unwrap().to_string();
                if !deleted.insert(id.clone()) {
                    duplicates += 1;
                    walk.conflict(&id);
                }
            }
            let present: HashSet<&str> = ring
                .iter()
                .map(String::as_str)
                .filter(|id| !deleted.contains(*id))
                .collect();
            for walk in &mut walks {
                walk.observe(&present);
            }
            // Interleave the reapers one delete at a time, as if in parallel.
            let mut busy = true;
            while busy {
                busy = false;
                for walk in &mut walks {
                    if let Some(id) = walk.next_app().map(str::to_string) {
                        busy = true;
                        if !deleted.insert(id.clone()) {
                            duplicates += 1;
                            walk.conflict(&id);
                        }
                    }
                }
            }
            assert_eq!(deleted.len(), 100, "seed {seed}");
            assert!(duplicates <= 3, "seed {seed}: {duplicates} duplicates");
            total_duplicates += duplicates;
        }
        // Two of eight random starts on 100 apps coincide about 0.28 times a run.
        assert!(total_duplicates < 200 / 2, "{total_duplicates} in 200 runs");
    }
}
