//! The order one reaper deletes in, and when it lists, waits or stops, so that reapers
//! which cannot see each other rarely ask to delete the same app and leave no stale app
//! that nobody is deleting. A pure state machine, told the time: the engine asks it what
//! to do next and tells it the answers; the simulation in `sim` drives it the same way.
//! docs/design.md explains the walk.

mod ring;
#[cfg(test)]
mod sim;
mod timing;

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use ring::{Dir, Gone, Leg, Ring, Sign, Slot, Stretch};
use timing::Timing;
pub use timing::Window;

/// Tokens others spent that show them at work: a listing, an account and a DELETE.
pub const OTHERS_AT_WORK: f64 = 3.0;
/// Below this many tokens left, the pool is too low to spend freely: the throttle paces
/// the deletes, a listing while walking costs more than it saves, and a conflict costs
/// one token, not a window.
const LOW_POOL: u32 = 100;
/// The longest a paced reaper is given to show a delete before its stretch is taken over.
const STALL_PACED_MAX: f64 = 60.0;
/// Before its probe, a reaper looks at the pool this long after its first listing, and
/// again this long after that (see `sense`).
const SENSE_AFTER: Duration = Duration::from_millis(200);
const SENSE_OVER: Duration = Duration::from_millis(200);
/// After conflicts, the pause before listing again starts here and doubles (Hatchet's
/// habit), capped low because the listing tells where to go next.
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_millis(3_200);
/// The probe: this many apps side by side, so that other reapers tell a reaper's start
/// from an app deleted alone.
const PROBE: usize = 2;

/// What the engine should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send a DELETE for this app.
    Delete(String),
    /// List the apps; `look`: a look while deleting, whose failure changes nothing.
    List { look: bool },
    /// Ask the pool how full it is (`GET /account/rate-limits`, free), then ask again.
    CheckPool,
    /// Wait for an answer, or until then.
    Wait(Option<Instant>),
    /// Nothing left but apps other reapers are seen deleting.
    Done,
}

/// What one DELETE ended in, as the walk sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Deleted,
    /// Someone else deleted it first (404, or 403 `forbidden`).
    Conflict,
    /// Failed, or no answer: the app may still be there.
    Failed,
}

/// What the rate-limit pool shows of the other clients of the account.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pool {
    /// Tokens they spent since this run's first answer.
    pub others_spent: f64,
    /// The latest `RateLimit-Remaining`.
    pub remaining: Option<u32>,
    /// Tokens a second this reaper counts on from the refill.
    pub tokens_per_second: f64,
}

impl Pool {
    /// Too low to spend freely (`LOW_POOL`).
    fn low(&self) -> bool {
        self.remaining.is_some_and(|left| left < LOW_POOL)
    }

    /// How long a reaper at work may go without a delete that shows: two round trips of
    /// a DELETE, or, on a pool too low to spend freely, two tokens of the refill at this
    /// reaper's pace, since the throttle holds every reaper on the account to about the
    /// same pace and a reaper waiting for its token is not a reaper that stopped.
    fn stall(&self, wire: Duration) -> Duration {
        if !self.low() || self.tokens_per_second <= 0.0 {
            return wire;
        }
        wire.max(Duration::from_secs_f64(
            (2.0 / self.tokens_per_second).min(STALL_PACED_MAX),
        ))
    }

    /// How many DELETEs to keep on their way: the window, or, on a pool too low to spend
    /// freely, what this reaper's pace pays for within a round trip (at least one). More
    /// would wait in the throttle for their tokens, each already bound to an app that
    /// another reaper may reach first.
    fn sendable(&self, window: usize, round_trip: Duration) -> usize {
        if !self.low() {
            return window;
        }
        let paid = (self.tokens_per_second * round_trip.as_secs_f64()).ceil();
        window.min((paid as usize).max(1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Start,
    /// Before probing: how much others spend from the pool over a while, asked at
    /// `until` (`asked`: the check is out). Reapers that started with this one spend in
    /// a burst (a listing, the account, a probe) and then pause; reapers already walking
    /// spend all along.
    Sense {
        until: Instant,
        first: Option<f64>,
        asked: bool,
    },
    /// Others were at work at the start: look again then, and decide.
    LateLook(Instant),
    /// The probe's DELETEs are out.
    Probe,
    /// The pause after the probe, then a listing and a decision.
    Pause(Instant),
    Walking,
    /// After conflicts: wait until then, then list and decide.
    Backoff(Instant),
    /// Deciding, on a listing answered after `fresh_after` before taking a stretch.
    Deciding {
        fresh_after: Instant,
    },
    /// Waiting for others' stretches to show they are worked, or that they stalled.
    Waiting(Instant),
    Done,
}

/// What a stretch of others' apps calls for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    /// Take it: walking `dir` from `at`, `steps` slots.
    Take(Leg),
    /// Nobody is seen at work on it: take it from its top down (`from_top`: it lies just
    /// below this reaper's own apps), or else from a random place in its upper half.
    TakeOver { stretch: Stretch, from_top: bool },
    /// Its reaper was seen moving after this run's latest conflict: leave it.
    Leave,
    /// Not yet: look again then.
    Recheck(Instant),
    /// Its signs ran out since the latest listing: list again.
    Relist,
}

#[derive(Debug, Clone)]
pub struct Walker {
    ring: Ring,
    window: Window,
    timing: Timing,
    /// How long a reaper at work may go without a delete that shows, as the pool stood at
    /// the latest move (`Pool::stall`).
    stall: Duration,
    phase: Phase,
    legs: VecDeque<Leg>,
    /// DELETEs in flight: the app's slot, and when it was handed out.
    in_flight: HashMap<usize, Instant>,
    /// A listing asked for and not answered yet: when, and whether only a look.
    listing: Option<(Instant, bool)>,
    /// Where this reaper probes: a random place, so reapers start apart.
    start: usize,
    /// The probe's DELETEs sent so far.
    probed: usize,
    /// No other reaper touches these apps (a shard, pipelines): no probe, no looks.
    alone: bool,
    /// The latest conflict: a gap's growth counts as a reaper at work only when seen
    /// between two listings after it.
    floor: Option<Instant>,
    /// Conflicts in the walk now going, and walks in a row that had some.
    conflicts: usize,
    /// Conflicts since the front leg began: a second one ends it.
    leg_conflicts: usize,
    backoffs: u32,
    shrunk_at: Option<Instant>,
    others_spent_at_listing: f64,
    /// The same at the listing before: spending over both tells whether anyone else is
    /// at work, even right after a listing.
    others_spent_before: f64,
    rng: fastrand::Rng,
}

impl Walker {
    /// A walk over `ids` with up to `concurrency` DELETEs in flight, probing at a random
    /// place first. The first listing (the one `ids` come from) was answered at `listed`.
    pub fn new(
        ids: Vec<String>,
        concurrency: usize,
        listed: Instant,
        others_spent: f64,
        seed: u64,
    ) -> Walker {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut ring = Ring::new(ids);
        let present: Vec<String> = (0..ring.len()).map(|i| ring.id(i).to_string()).collect();
        ring.observe(&present.iter().map(String::as_str).collect(), listed);
        let start = rng.usize(..ring.len().max(1));
        Walker {
            ring,
            window: Window::new(concurrency),
            timing: Timing::default(),
            stall: Timing::default().stall(),
            phase: Phase::Start,
            legs: VecDeque::new(),
            in_flight: HashMap::new(),
            listing: None,
            start,
            probed: 0,
            alone: false,
            floor: None,
            conflicts: 0,
            leg_conflicts: 0,
            backoffs: 0,
            shrunk_at: None,
            others_spent_at_listing: others_spent,
            others_spent_before: others_spent,
            rng,
        }
    }

    /// A walk over apps no other reaper touches: all of them, `concurrency` at a time,
    /// from a random place.
    pub fn alone(ids: Vec<String>, concurrency: usize, seed: u64) -> Walker {
        let mut walker = Walker::new(ids, concurrency, Instant::now(), 0.0, seed);
        walker.alone = true;
        walker.window = Window::full(concurrency);
        walker.legs.push_back(Leg {
            at: walker.start,
            dir: Dir::Up,
            steps: walker.ring.len(),
        });
        walker.phase = Phase::Walking;
        walker
    }

    /// What to do now.
    pub fn next(&mut self, now: Instant, pool: Pool) -> Next {
        self.stall = pool.stall(self.timing.stall());
        for _ in 0..1000 {
            if let Some(next) = self.step(now, pool) {
                return next;
            }
        }
        panic!("the walk does not settle: {:?}", self.phase);
    }

    /// One move of the state machine: what to do, or `None` when the phase changed.
    fn step(&mut self, now: Instant, pool: Pool) -> Option<Next> {
        match self.phase {
            Phase::Start => {
                self.begin();
                None
            }
            Phase::Sense {
                until,
                first,
                asked,
            } => self.sense(now, pool, until, first, asked),
            Phase::LateLook(until) | Phase::Pause(until) | Phase::Backoff(until) => {
                if now < until {
                    return Some(Next::Wait(Some(until)));
                }
                self.phase = Phase::Deciding { fresh_after: until };
                None
            }
            Phase::Waiting(until) => {
                if now < until {
                    return Some(Next::Wait(Some(until)));
                }
                // What the wait was for shows in a listing only.
                self.phase = Phase::Deciding { fresh_after: until };
                Some(self.ask_listing(now, pool, false))
            }
            Phase::Probe => self.probe(now),
            Phase::Walking => self.walking(now, pool),
            Phase::Deciding { fresh_after } => self.deciding(now, fresh_after, pool),
            Phase::Done => Some(Next::Done),
        }
    }

    /// Probe, or, when others are already at work, look where they are first.
    fn begin(&mut self) {
        if self.ring.len() == 0 {
            self.phase = Phase::Done;
            return;
        }
        let listed = self.ring.listed_at().unwrap_or_else(Instant::now);
        self.phase = Phase::Sense {
            until: listed + SENSE_AFTER,
            first: None,
            asked: false,
        };
    }

    /// Two looks at the pool, `SENSE_OVER` apart, after the burst of reapers starting
    /// together: if others spent meanwhile, some are walking, and a probe would likely
    /// land in a stretch one is clearing. Then look again once reapers that started
    /// about now have probed and begun to walk, so that one listing shows who is at
    /// work where. Otherwise, probe.
    fn sense(
        &mut self,
        now: Instant,
        pool: Pool,
        until: Instant,
        first: Option<f64>,
        asked: bool,
    ) -> Option<Next> {
        if !asked {
            if now < until {
                return Some(Next::Wait(Some(until)));
            }
            self.phase = Phase::Sense {
                until,
                first,
                asked: true,
            };
            return Some(Next::CheckPool);
        }
        match first {
            None => {
                self.phase = Phase::Sense {
                    until: now + SENSE_OVER,
                    first: Some(pool.others_spent),
                    asked: false,
                };
            }
            Some(first) if pool.others_spent - first >= OTHERS_AT_WORK => {
                self.phase = Phase::LateLook(now + self.timing.start());
            }
            Some(_) => self.start_probe(),
        }
        None
    }

    /// The probe's DELETEs all at once; once answered, the pause (or, after a conflict,
    /// the backoff) before listing.
    fn probe(&mut self, now: Instant) -> Option<Next> {
        // Two at once, unless `--concurrency` allows only one.
        if self.probed < PROBE.min(self.window.limit())
            && let Some(id) = self.hand_out(now)
        {
            self.probed += 1;
            return Some(Next::Delete(id));
        }
        if !self.in_flight.is_empty() {
            return Some(Next::Wait(None));
        }
        self.legs.clear();
        self.phase = if self.conflicts > 0 {
            self.backoff(now)
        } else {
            Phase::Pause(now + self.timing.probe_pause())
        };
        None
    }

    /// Starts with the probe at `start`: two apps side by side, passing over any gone.
    fn start_probe(&mut self) {
        self.legs.push_back(Leg {
            at: self.start,
            dir: Dir::Up,
            steps: self.ring.len(),
        });
        self.probed = 0;
        self.phase = Phase::Probe;
    }

    fn walking(&mut self, now: Instant, pool: Pool) -> Option<Next> {
        if self.look_due(now, pool) {
            return Some(self.ask_listing(now, pool, true));
        }
        let sendable = match self.alone {
            true => self.window.size(),
            false => pool.sendable(self.window.size(), self.timing.delete.high()),
        };
        if self.in_flight.len() < sendable
            && let Some(id) = self.hand_out(now)
        {
            return Some(Next::Delete(id));
        }
        if !self.legs.is_empty() || !self.in_flight.is_empty() {
            return Some(Next::Wait(None));
        }
        self.phase = if self.alone {
            Phase::Done
        } else if self.conflicts > 0 {
            self.backoff(now)
        } else {
            self.backoffs = 0;
            Phase::Deciding {
                fresh_after: now.checked_sub(self.timing.delete.high()).unwrap_or(now),
            }
        };
        None
    }

    /// The next app of the legs, handed out to this reaper.
    fn hand_out(&mut self, now: Instant) -> Option<String> {
        while let Some(leg) = self.legs.front_mut() {
            match self.ring.next_of(leg) {
                Some(index) => {
                    self.ring.take(index);
                    self.in_flight.insert(index, now);
                    return Some(self.ring.id(index).to_string());
                }
                None => {
                    self.legs.pop_front();
                    self.leg_conflicts = 0;
                }
            }
        }
        None
    }

    /// Should a reaper walking its legs list again now, without stopping its deletes?
    /// Only when others have spent from the pool since its latest listing (another
    /// reaper may have started inside its way since), a round trip has passed since that
    /// listing (so a newcomer's probe has landed), and more lies ahead than one window
    /// (a listing answers well within a DELETE's round trip, so it can still stop the
    /// next sends). Not on a nearly empty pool, where each listing takes a scarce token.
    fn look_due(&self, now: Instant, pool: Pool) -> bool {
        let since = self
            .ring
            .listed_at()
            .map_or(Duration::MAX, |at| now.saturating_duration_since(at));
        !self.alone
            && self.listing.is_none()
            && since >= self.timing.delete.high()
            && pool.others_spent - self.others_spent_at_listing >= OTHERS_AT_WORK
            && !pool.low()
            && self.ahead() > self.window.size()
    }

    /// Apps the legs would still hand out.
    pub fn ahead(&self) -> usize {
        self.legs.iter().map(|leg| self.ring.ahead_of(leg)).sum()
    }

    fn ask_listing(&mut self, now: Instant, pool: Pool, look: bool) -> Next {
        self.listing = Some((now, look));
        self.others_spent_before = self.others_spent_at_listing;
        self.others_spent_at_listing = pool.others_spent;
        Next::List { look }
    }

    fn backoff(&mut self, now: Instant) -> Phase {
        self.conflicts = 0;
        self.backoffs += 1;
        let pause = BACKOFF_START * 2u32.pow((self.backoffs - 1).min(5));
        Phase::Backoff(now + pause.min(BACKOFF_CAP))
    }

    /// What to do once the legs are done: take the stretches nobody is seen working,
    /// wait for news of the others, or stop.
    fn deciding(&mut self, now: Instant, fresh_after: Instant, pool: Pool) -> Option<Next> {
        if self.listing.is_some() || !self.in_flight.is_empty() {
            return Some(Next::Wait(None));
        }
        let stretches = self.ring.stretches();
        let fresh = self.ring.listed_at().is_some_and(|at| at >= fresh_after);
        if stretches.first().is_some_and(|s| s.below.is_none()) {
            if !fresh {
                return Some(self.ask_listing(now, pool, false));
            }
            // Nobody else's work is in sight: start as a reaper alone does.
            self.start_probe();
            return None;
        }
        // Once a decision, so that reapers deciding alike do not take over alike. While
        // others spend from the pool, long enough that the reaper next above a stalled
        // stretch, which takes it at once, shows at work on it first.
        let others_at_work = pool.others_spent - self.others_spent_before >= OTHERS_AT_WORK;
        let patience = if others_at_work { 2.0 } else { 1.0 } + self.rng.f64();
        let verdicts: Vec<Verdict> = stretches
            .iter()
            .map(|s| self.verdict(s, now, patience))
            .collect();
        let takes = self.legs_taken(&verdicts);
        if (!takes.is_empty() && !fresh) || verdicts.contains(&Verdict::Relist) {
            return Some(self.ask_listing(now, pool, false));
        }
        if !takes.is_empty() {
            if others_at_work
                && verdicts
                    .iter()
                    .any(|v| matches!(v, Verdict::TakeOver { .. }))
            {
                // Its reaper may be alive after all: start small, as a newcomer does.
                self.window = Window::new(self.window.limit());
            }
            self.legs.extend(takes);
            self.phase = Phase::Walking;
            return None;
        }
        self.phase = self.wait_for_recheck(&verdicts, now);
        None
    }

    /// The legs that `verdicts` take, over stretches that still hold apps.
    fn legs_taken(&mut self, verdicts: &[Verdict]) -> Vec<Leg> {
        let mut takes: Vec<Leg> = Vec::new();
        for verdict in verdicts {
            match *verdict {
                Verdict::Take(leg) => takes.push(leg),
                Verdict::TakeOver { stretch, from_top } => {
                    takes.extend(self.take_over_legs(&stretch, from_top));
                }
                _ => {}
            }
        }
        takes.retain(|leg| self.ring.ahead_of(leg) > 0);
        takes
    }

    /// When `verdicts` take nothing: wait until the earliest recheck, or be done.
    fn wait_for_recheck(&mut self, verdicts: &[Verdict], now: Instant) -> Phase {
        let recheck = verdicts
            .iter()
            .filter_map(|verdict| match verdict {
                Verdict::Recheck(at) => Some(*at),
                _ => None,
            })
            .min();
        match recheck {
            // A little later at random, so that reapers waiting alike do not all list
            // and take over at once.
            Some(at) => {
                Phase::Waiting(at.max(now) + self.timing.listing.high().mul_f64(self.rng.f64()))
            }
            None => Phase::Done,
        }
    }

    /// What `stretch` calls for at `now`.
    /// - After this reaper's own apps: it is this reaper's to walk up.
    /// - Its reaper seen moving within a stall's time: leave it to that reaper (after a
    ///   conflict of this run's, look again first: the growth may be another reaper's
    ///   that took the stretch over and stopped at the same conflict).
    /// - Just below this reaper's own apps, and its reaper (below it) not seen moving:
    ///   take it from the top down. This reaper is the one neighbour of that stretch on
    ///   this side, so no other takes it from there; if its reaper is alive after all,
    ///   the two meet midway.
    /// - A probe or a start below it, within a start's time: wait for it to move.
    /// - Nobody seen at work on it for a stall's time, times `patience` (at random, so
    ///   that reapers who see it alike do not all take it at once): take it.
    fn verdict(&self, stretch: &Stretch, now: Instant, patience: f64) -> Verdict {
        let slot = |index: Option<usize>| index.map(|i| self.ring.slot(i));
        if slot(stretch.below) == Some(Slot::Mine) {
            return Verdict::Take(Leg {
                at: stretch.start,
                dir: Dir::Up,
                steps: stretch.len,
            });
        }
        let gone = |index: Option<usize>| match slot(index) {
            Some(Slot::Gone(gone)) => Some(gone),
            _ => None,
        };
        let (below, above) = (gone(stretch.below), gone(stretch.above));
        let growth = [
            below.filter(|gone| matches!(gone.sign, Sign::Up { .. })),
            above.filter(|gone| matches!(gone.sign, Sign::Down { .. })),
        ];
        if let Some(verdict) = self.seen_at_work(growth, below, now) {
            return verdict;
        }
        let from_top = slot(stretch.above) == Some(Slot::Mine);
        if from_top {
            return Verdict::TakeOver {
                stretch: *stretch,
                from_top,
            };
        }
        // Nobody seen at work: after a stall's time, by a listing taken after it.
        let since = below
            .iter()
            .chain(growth.iter().flatten())
            .map(|gone| gone.at)
            .max();
        let stalled = since.map_or(now, |at| at + self.stall.mul_f64(patience));
        if stalled > now {
            return Verdict::Recheck(stalled);
        }
        if self.ring.listed_at().is_none_or(|at| at < stalled) {
            return Verdict::Relist;
        }
        Verdict::TakeOver {
            stretch: *stretch,
            from_top,
        }
    }

    /// What the `growth` beside a stretch, and a start `below` it, say at `now` of a
    /// reaper at work on it: leave it, list again, or look again then. `None`: nobody is
    /// seen at work on it.
    fn seen_at_work(
        &self,
        growth: [Option<Gone>; 2],
        below: Option<Gone>,
        now: Instant,
    ) -> Option<Verdict> {
        let stall = self.stall;
        let mut recheck: Option<Instant> = None;
        let mut look_then = |at: Instant| {
            recheck = Some(recheck.map_or(at, |then: Instant| then.min(at)));
        };
        for gone in growth.into_iter().flatten() {
            let sure = matches!(
                gone.sign,
                Sign::Up { sure: true } | Sign::Down { sure: true }
            );
            let until = gone.at + stall;
            if until <= now {
                continue;
            }
            if !(sure && self.trusted(&gone)) {
                look_then(until);
                continue;
            }
            // Left only on news from the latest listing, and that a recent one: a
            // reaper that stopped since (to leave this stretch to another) must not be
            // taken for one at work.
            let listed = self.ring.listed_at().unwrap_or(now);
            let next_look = listed + self.timing.delete.high();
            // Seen between two listings close together: not old growth that a listing
            // long after only now shows.
            if gone.since.is_some_and(|since| gone.at <= since + stall) {
                return Some(Verdict::Leave);
            }
            if now >= next_look {
                return Some(Verdict::Relist);
            }
            look_then(next_look);
        }
        if let Some(gone) = below.filter(|gone| gone.sign == Sign::Start) {
            let until = gone.at + self.timing.start();
            if until > now {
                look_then(until);
            }
        }
        recheck.map(Verdict::Recheck)
    }

    /// A sign seen between two listings after this run's latest conflict: growth seen
    /// across the conflict may be another reaper's that took the stretch over, and
    /// stopped at it too.
    fn trusted(&self, gone: &Gone) -> bool {
        gone.since
            .is_some_and(|since| self.floor.is_none_or(|floor| since >= floor))
    }

    /// Legs over `stretch` from its top (`from_top`) or else a random place in its upper
    /// half: down to its bottom, then up from there to its top, so that two reapers taking
    /// it at once do not start on the same app, and one at work on it from below after
    /// all meets this one midway.
    fn take_over_legs(&mut self, stretch: &Stretch, from_top: bool) -> [Leg; 2] {
        let top = stretch.len - 1;
        let below_top = if from_top {
            0
        } else {
            self.rng.usize(..stretch.len.div_ceil(2)).min(top)
        };
        let from = top - below_top;
        let down = Leg {
            at: self.ring.step(stretch.start, Dir::Up, from),
            dir: Dir::Down,
            steps: from + 1,
        };
        let up = Leg {
            at: self.ring.step(stretch.start, Dir::Up, from + 1),
            dir: Dir::Up,
            steps: top - from,
        };
        [down, up]
    }

    /// A DELETE handed out at some time was answered at `now`; `wire` is a recent
    /// DELETE's round trip on the wire, if known.
    pub fn answered(&mut self, id: &str, answer: Answer, now: Instant, wire: Option<Duration>) {
        let Some(index) = self.ring.index_of(id) else {
            return;
        };
        if let Some(sent) = self.in_flight.remove(&index) {
            self.timing
                .delete
                .sample(now.saturating_duration_since(sent));
        }
        if let Some(wire) = wire {
            self.timing.wire.sample(wire);
        }
        match answer {
            Answer::Deleted => self.window.grow(),
            Answer::Conflict if !self.alone => {
                self.ring.conflict(index, now);
                self.floor = Some(now);
                self.conflicts += 1;
                self.leg_conflicts += 1;
                // One 404 may be anybody's; two in one leg are a reaper at work ahead.
                if self.leg_conflicts >= 2
                    && let Some(leg) = self.legs.front_mut()
                {
                    leg.steps = 0;
                }
                // One wave of conflicts shrinks the window once: the deletes in flight
                // with the first were sent on the same old evidence.
                let wave = self.timing.delete.high();
                if self
                    .shrunk_at
                    .is_none_or(|at| now.saturating_duration_since(at) > wave)
                {
                    self.window.shrink();
                    self.shrunk_at = Some(now);
                }
            }
            Answer::Conflict | Answer::Failed => {}
        }
    }

    /// The engine did not send `id` after all (another part of the run settled it).
    pub fn skipped(&mut self, id: &str) {
        if let Some(index) = self.ring.index_of(id) {
            self.in_flight.remove(&index);
        }
    }

    /// A listing answered at `now`, with the ids it holds.
    pub fn listed(&mut self, present: &HashSet<&str>, now: Instant) {
        if let Some((asked, _)) = self.listing.take() {
            self.timing
                .listing
                .sample(now.saturating_duration_since(asked));
        }
        let went = self.ring.observe(present, now);
        if went > 0 {
            self.meet_midway(now);
        }
    }

    /// A listing asked for failed: a look changes nothing; otherwise the engine stops.
    pub fn list_failed(&mut self) {
        self.listing = None;
    }

    /// A walk downward whose stretch a reaper below was just seen climbing leaves it the
    /// lower half of what lies between them, so the two stop short of each other.
    fn meet_midway(&mut self, now: Instant) {
        for leg in self.legs.iter_mut().filter(|leg| leg.dir == Dir::Down) {
            let wall = (0..leg.steps)
                .map(|step| (step, self.ring.step(leg.at, Dir::Down, step)))
                .find(|&(_, index)| self.ring.is_wall(index));
            if let Some((distance, index)) = wall
                && let Slot::Gone(gone) = self.ring.slot(index)
                && matches!(gone.sign, Sign::Up { .. })
                && gone.at == now
            {
                leg.steps = leg.steps.min(distance.div_ceil(2));
            }
        }
    }

    /// Apps still listed that this reaper leaves to the others at work on them.
    pub fn left_to_others(&self) -> Vec<&str> {
        self.ring.open().map(|i| self.ring.id(i)).collect()
    }

    /// Where the walk stands, in a few words, for the debug log.
    pub fn state(&self) -> String {
        let phase = format!("{:?}", self.phase);
        let phase = phase.split([' ', '(']).next().unwrap_or_default();
        format!(
            "{phase}, window {}, {} in flight, {} ahead, {} listed and not handed out",
            self.window.size(),
            self.in_flight.len(),
            self.ahead(),
            self.ring.open().count()
        )
    }

    /// What the walk is doing, in a word, for the simulation's tally.
    #[cfg(test)]
    pub fn doing(&self) -> String {
        let leg = match self.legs.front() {
            Some(leg) if leg.dir == Dir::Down => "down",
            Some(_) => "up",
            None => "-",
        };
        let phase = format!("{:?}", self.phase);
        let phase = phase
            .split([' ', '('])
            .next()
            .unwrap_or_default()
            .to_string();
        format!("{phase}/{leg}")
    }

    /// The phase and the ring, in a line, for traces.
    #[cfg(test)]
    pub fn describe(&self) -> String {
        let ring: String = (0..self.ring.len())
            .map(|i| match self.ring.slot(i) {
                Slot::Open => '.',
                Slot::Mine => 'm',
                Slot::Gone(gone) => match gone.sign {
                    Sign::Alone => 'a',
                    Sign::Start => 's',
                    Sign::Up { sure: true } => '>',
                    Sign::Up { sure: false } => ')',
                    Sign::Down { sure: true } => '<',
                    Sign::Down { sure: false } => '(',
                },
            })
            .collect();
        format!("{:?} w{} {ring}", self.phase, self.window.size())
    }

    /// Apps handed out and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool with `remaining` tokens, of which this reaper counts on `tokens_per_second`.
    fn pool(remaining: u32, tokens_per_second: f64) -> Pool {
        Pool {
            remaining: Some(remaining),
            tokens_per_second,
            ..POOL
        }
    }

    #[test]
    fn a_reaper_paced_by_a_low_pool_is_given_two_of_its_tokens_before_it_counts_as_stalled() {
        let wire = Duration::from_millis(900);
        // Tokens to spare: the round trips decide.
        assert_eq!(pool(4_000, 0.3125).stall(wire), wire);
        // Four reapers sharing Heroku's refill (1.25 a second): one token each 3.2 s.
        assert_eq!(pool(12, 0.3125).stall(wire), Duration::from_secs_f64(6.4));
        // A pace faster than the round trips changes nothing.
        assert_eq!(pool(12, 100.0).stall(wire), wire);
        // A pace close to nothing is bounded, so a stopped reaper's apps are still taken.
        assert_eq!(
            pool(0, 0.001).stall(wire),
            Duration::from_secs_f64(STALL_PACED_MAX)
        );
    }

    #[test]
    fn on_a_low_pool_only_the_deletes_its_pace_pays_for_go_out() {
        let trip = Duration::from_millis(400);
        assert_eq!(pool(4_000, 0.3).sendable(24, trip), 24);
        // One of four reapers on Heroku's refill: one at a time.
        assert_eq!(pool(15, 0.3125).sendable(24, trip), 1);
        // Alone on a refill ten times Heroku's: five a round trip.
        assert_eq!(pool(15, 12.5).sendable(24, trip), 5);
        assert_eq!(pool(15, 12.5).sendable(3, trip), 3);
    }

    const POOL: Pool = Pool {
        others_spent: 0.0,
        remaining: Some(4_000),
        tokens_per_second: 1.25,
    };

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i:04}")).collect()
    }

    fn present_without(all: &[String], gone: &[&str]) -> Vec<String> {
        all.iter()
            .filter(|id| !gone.contains(&id.as_str()))
            .cloned()
            .collect()
    }

    fn list(walker: &mut Walker, present: &[String], at: Instant) {
        walker.listed(&present.iter().map(String::as_str).collect(), at);
    }

    /// Sends every DELETE the walker asks for, answering each `Deleted` at once, until it
    /// asks for something else.
    fn delete_all(walker: &mut Walker, at: Instant) -> (Vec<String>, Next) {
        let mut sent = Vec::new();
        loop {
            match walker.next(at, POOL) {
                Next::Delete(id) => {
                    sent.push(id.clone());
                    walker.answered(&id, Answer::Deleted, at, Some(Duration::from_millis(300)));
                }
                other => return (sent, other),
            }
        }
    }

    #[test]
    fn alone_it_probes_two_apps_then_takes_the_whole_ring() {
        let all = ids(6);
        let t = Instant::now();
        let mut walker = Walker::new(all.clone(), 24, t, 0.0, 3);
        let start = walker.start;
        let probe = [all[start].clone(), all[(start + 1) % 6].clone()];
        let t = sensed(&mut walker, t, 0.0, 0.0);
        assert_eq!(walker.next(t, POOL), Next::Delete(probe[0].clone()));
        assert_eq!(walker.next(t, POOL), Next::Delete(probe[1].clone()));
        assert_eq!(
            walker.next(t, POOL),
            Next::Wait(None),
            "the probe is two apps"
        );
        let answered = t + Duration::from_millis(300);
        for id in &probe {
            walker.answered(
                id,
                Answer::Deleted,
                answered,
                Some(Duration::from_millis(300)),
            );
        }
        // Twice the probe's round trip, so that others who started with it have probed.
        let Next::Wait(Some(until)) = walker.next(answered, POOL) else {
            panic!("a pause after the probe");
        };
        assert_eq!(until - answered, Duration::from_millis(600));
        assert_eq!(walker.next(until, POOL), Next::List { look: false });
        let gone = [probe[0].as_str(), probe[1].as_str()];
        list(&mut walker, &present_without(&all, &gone), until);
        let (sent, next) = delete_all(&mut walker, until);
        assert_eq!(sent.len(), 4);
        assert_eq!(next, Next::Done);
        assert!(walker.left_to_others().is_empty());
    }

    /// A walker over 20 apps that probed 0 and 1, then listed at `at` and saw another
    /// reaper's probe at 10 and 11, and walked its own stretch (2 to 9) to the end.
    fn walked_up_to_a_neighbours_probe(at: Instant) -> (Walker, Vec<String>) {
        let all = ids(20);
        let t = at - Duration::from_secs(2);
        let mut walker = Walker::new(all.clone(), 24, t, 0.0, 1);
        walker.start = 0;
        let t = sensed(&mut walker, t, 0.0, 0.0);
        // Heroku's round trips, measured before.
        for _ in 0..8 {
            walker.timing.delete.sample(Duration::from_millis(300));
            walker.timing.listing.sample(Duration::from_millis(30));
        }
        for _ in 0..2 {
            let Next::Delete(id) = walker.next(t, POOL) else {
                panic!("the probe");
            };
            walker.answered(&id, Answer::Deleted, t, Some(Duration::from_millis(300)));
        }
        let Next::Wait(Some(pause)) = walker.next(t, POOL) else {
            panic!("the pause");
        };
        assert!(pause < at);
        assert_eq!(walker.next(at, POOL), Next::List { look: false });
        let gone = [&all[0], &all[1], &all[10], &all[11]].map(String::as_str);
        list(&mut walker, &present_without(&all, &gone), at);
        let (sent, _) = delete_all(&mut walker, at);
        assert_eq!(
            sent,
            all[2..10],
            "its own stretch, up to the neighbour's probe"
        );
        (walker, all)
    }

    /// Drives the walker in a world where nothing else changes: `gone` went without it,
    /// its own DELETEs all succeed at once. Returns what it deleted, in order, once done.
    fn in_a_still_world(
        walker: &mut Walker,
        all: &[String],
        gone: &[&str],
        from: Instant,
    ) -> Vec<String> {
        let mut now = from;
        let mut sent = Vec::new();
        for _ in 0..100 {
            match walker.next(now, POOL) {
                Next::Delete(id) => {
                    walker.answered(&id, Answer::Deleted, now, Some(Duration::from_millis(300)));
                    sent.push(id);
                }
                Next::List { .. } => {
                    let mut out: Vec<&str> = gone.to_vec();
                    out.extend(sent.iter().map(String::as_str));
                    list(walker, &present_without(all, &out), now);
                }
                Next::Wait(Some(until)) => now = until.max(now),
                Next::CheckPool => {}
                Next::Wait(None) => panic!("waiting for nothing"),
                Next::Done => return sent,
            }
        }
        panic!("not done: {}", walker.describe());
    }

    #[test]
    fn a_stretch_its_reaper_is_seen_walking_is_left_to_it() {
        let t = Instant::now() + Duration::from_secs(2);
        let (mut walker, all) = walked_up_to_a_neighbours_probe(t);
        // The neighbour has only probed: too early to tell, so the walker waits.
        let Next::Wait(Some(until)) = walker.next(t, POOL) else {
            panic!("a wait for the neighbour to start");
        };
        assert_eq!(walker.next(until, POOL), Next::List { look: false });
        // It walked on, three apps a round trip, and again a round trip later.
        // Gone: this reaper's probe and stretch (0 to 9), and the neighbour's from 10 on.
        let present = |up_to: usize| -> Vec<String> { all[up_to..].to_vec() };
        list(&mut walker, &present(15), until);
        let Next::Wait(Some(later)) = walker.next(until, POOL) else {
            panic!("a second look: growth across a long wait may be old");
        };
        assert_eq!(walker.next(later, POOL), Next::List { look: false });
        list(&mut walker, &present(18), later);
        assert_eq!(walker.next(later, POOL), Next::Done);
        assert_eq!(walker.left_to_others(), all[18..].to_vec());
    }

    #[test]
    fn a_stretch_nobody_walks_on_is_taken_from_its_top_by_the_reaper_above_it() {
        let t = Instant::now() + Duration::from_secs(2);
        let (mut walker, all) = walked_up_to_a_neighbours_probe(t);
        // The neighbour never moves on from its probe.
        let gone = [&all[0], &all[1], &all[10], &all[11]].map(String::as_str);
        let sent = in_a_still_world(&mut walker, &all, &gone, t);
        // 12 to 19 lie just below this reaper's probe at 0: it takes them from the top.
        let expected: Vec<String> = all[12..].iter().rev().cloned().collect();
        assert_eq!(sent, expected);
        assert!(walker.left_to_others().is_empty());
    }

    /// The walker's looks at the pool before its probe: others spent `first`, then
    /// `second` tokens in all.
    fn sensed(walker: &mut Walker, t: Instant, first: f64, second: f64) -> Instant {
        let pool = |others_spent| Pool {
            others_spent,
            ..POOL
        };
        let Next::Wait(Some(at)) = walker.next(t, pool(first)) else {
            panic!("a wait before the first look at the pool");
        };
        assert_eq!(walker.next(at, pool(first)), Next::CheckPool);
        let Next::Wait(Some(again)) = walker.next(at, pool(first)) else {
            panic!("a wait before the second look");
        };
        assert_eq!(walker.next(again, pool(second)), Next::CheckPool);
        again
    }

    #[test]
    fn a_reaper_that_sees_others_spend_before_its_probe_looks_first_and_sends_no_probe() {
        let t = Instant::now();
        let mut walker = Walker::new(ids(10), 24, t, 0.0, 1);
        let at = sensed(&mut walker, t, 4.0, 9.0);
        let busy = Pool {
            others_spent: 9.0,
            ..POOL
        };
        let Next::Wait(Some(look)) = walker.next(at, busy) else {
            panic!("a wait before the look");
        };
        assert!(look > at + Duration::from_millis(600), "{:?}", look - at);
        assert_eq!(walker.next(look, busy), Next::List { look: false });
    }

    #[test]
    fn reapers_that_started_together_only_spend_in_a_burst_and_it_probes() {
        let t = Instant::now();
        let mut walker = Walker::new(ids(10), 24, t, 0.0, 1);
        let at = sensed(&mut walker, t, 20.0, 21.0);
        let pool = Pool {
            others_spent: 21.0,
            ..POOL
        };
        assert!(matches!(walker.next(at, pool), Next::Delete(_)));
    }
}
