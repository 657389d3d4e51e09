//! One rate throttle per client, shared by every request in flight, deciding when a
//! request may start by two rules, the later one winning: a mirror of the account's
//! rate-limit pool, from which this client counts on its part (what the other clients of
//! the account leave it), and the platform-api gem's backoff on 429. It also holds
//! `--reserve-rate-limit`'s floor. docs/design.md ("The rate limit, shared") says how
//! and why.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Heroku's pool per account.
pub const HEROKU_POOL: u32 = 4_500;
/// Heroku refills about 75 requests a minute.
pub const HEROKU_REFILL_PER_MINUTE: f64 = 75.0;
/// Beyond this the throttle stops growing: a minute between requests already means
/// another client is draining the pool.
const MAX_SLEEP: f64 = 60.0;

/// The pool holds no more than the reserve allows this client to spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the rate-limit pool is down to {remaining}, at `--reserve-rate-limit {reserve}`")]
pub struct ReserveReached {
    pub remaining: u32,
    pub reserve: u32,
}

/// The pure state: may a request start now?
#[derive(Debug, Clone)]
pub struct Pacer {
    sleep: f64,
    min_sleep: f64,
    pool: f64,
    refill_per_second: f64,
    reserve: u32,
    last_start: Option<Instant>,
    /// Bumped on every 429 adjustment, so one wave of parallel 429s adjusts once.
    epoch: u64,
    streak: u32,
    /// The latest answers' `RateLimit-Remaining`, each a bound on the pool now.
    answers: VecDeque<Answer>,
    /// Counted requests started so far: a ticket's `sequence` says how many came after it.
    started: u64,
    /// Counted requests sent and not answered yet, by sequence.
    unanswered: BTreeSet<u64>,
    remaining: Option<u32>,
    /// This client's requests refused with 429 so far: they took no token.
    refused: u64,
    /// The answer with the highest sequence so far, which the next one is compared to.
    latest: Option<Answer>,
    /// Running totals of tokens spent, by the other clients and by this one.
    others_spent: f64,
    mine_spent: f64,
    /// The running totals at the answers of the latest `SHARE_SPAN`, to measure the part.
    spend: VecDeque<Spend>,
    /// When to probe the pool if still waiting then: a while after the latest request.
    next_probe: Option<Instant>,
    /// A probe of the pool is in flight.
    probing: bool,
}

/// The running totals of spending at one answer.
#[derive(Debug, Clone, Copy)]
struct Spend {
    at: Instant,
    others: f64,
    mine: f64,
}

/// How many recent answers bound the estimate.
const ANSWERS_KEPT: usize = 32;
/// Answers sent this much before the latest one no longer bound the estimate. Requests
/// overtake each other only while in flight together, and this is longer than a DELETE's
/// round trip; an older answer adds only the share of the refill since, which is too
/// little when other clients stopped: it would keep this client waiting while newer
/// answers show tokens left.
const ANSWER_OVERLAP: Duration = Duration::from_secs(1);
/// The answers of about this many refill intervals measure the part, or of the interval
/// between this client's own requests if longer: enough to smooth out
/// `RateLimit-Remaining` counting whole tokens and to see the others' requests while
/// this client waits its turn, few enough to follow clients that come and go (two
/// probes after the others stop, the part is all of it again). Shorter than the wait,
/// it would show nobody spending whenever all the clients wait at once, and they
/// would all take the pool for their own.
const SHARE_SPAN: f64 = 4.0;
/// At most this many answers are kept to measure it.
const SHARE_SAMPLES: usize = 256;
/// However many clients spend from the pool, this client counts on at least this part
/// of it: the estimate of the others' spending is only an estimate, and a client that
/// counted on less would hardly ever send, so its part would only shrink. Before its
/// answers tell anything about the others it counts on this part too, and on one
/// request at a time if that is less: many clients starting at once on a nearly empty
/// pool would otherwise each send their first requests into its last tokens.
const SHARE_FLOOR: f64 = 1.0 / 16.0;
/// A client waiting for its part of a token asks the pool (`GET /account/rate-limits`,
/// free) once its latest news of it is this many refill intervals old (up to twice
/// that, at random, so that clients waiting alike do not all look at once): when the
/// others stopped spending, the pool fills up while nothing tells this client so.
const PROBE_INTERVALS: f64 = 2.0;

/// A wait this many refill intervals long is worth a line in the debug log.
const LONG_WAIT: f64 = 8.0;

/// What one answer said: the pool after the server took (or refused) this request.
#[derive(Debug, Clone, Copy)]
struct Answer {
    sequence: u64,
    at: Instant,
    remaining: u32,
    /// Did this request take a token? A free one comes after request `sequence`.
    counted: bool,
    /// `Pacer::refused` when it came.
    refused: u64,
}

/// Handed to each request when it may start; given back with its outcome.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    epoch: u64,
    sequence: u64,
    at: Instant,
    /// Does this request take a token (all but `GET /account/rate-limits`)?
    counted: bool,
    /// Is it a probe: `GET /account/rate-limits` asked for the pacer before a request?
    probe: bool,
}

impl Ticket {
    /// Send `GET /account/rate-limits` with it, and then ask for a turn again.
    pub fn is_probe(&self) -> bool {
        self.probe
    }
}

/// What a request asking for its turn should do.
#[derive(Debug, Clone, Copy)]
pub enum Turn {
    /// Start now.
    Go(Ticket),
    /// Ask again then, or as soon as an answer comes.
    Wait(Instant),
    /// Probe the pool with this ticket first, then ask again.
    Probe(Ticket),
}

impl Pacer {
    pub fn new(refill_per_minute: f64, pool: u32, reserve: u32) -> Pacer {
        let refill_per_second = refill_per_minute.max(f64::MIN_POSITIVE) / 60.0;
        Pacer {
            sleep: 0.0,
            min_sleep: 1.0 / refill_per_second,
            pool: f64::from(pool.max(1)),
            refill_per_second,
            reserve,
            last_start: None,
            epoch: 0,
            streak: 0,
            answers: VecDeque::new(),
            started: 0,
            unanswered: BTreeSet::new(),
            remaining: None,
            refused: 0,
            latest: None,
            others_spent: 0.0,
            mine_spent: 0.0,
            spend: VecDeque::new(),
            next_probe: None,
            probing: false,
        }
    }

    /// Tokens the other clients of the account spent since this client's first answer,
    /// as far as the answers tell: it grows when another reaper (or a test suite) is at
    /// work on the same account.
    pub fn others_spent(&self) -> f64 {
        self.others_spent
    }

    /// The part of the pool and of its refill this client counts on, over the latest
    /// answers: what the other clients leave of the refill while the pool fills, the
    /// part in proportion to this client's own spending while it drains (the larger of
    /// the two either way). Alone, all of it. On an empty pool the two agree: together
    /// the clients take the refill, and what the pool holds is shared out the same way.
    pub fn part(&self) -> f64 {
        if !self.measured() {
            return SHARE_FLOOR;
        }
        let (Some(first), Some(last)) = (self.spend.front(), self.spend.back()) else {
            return 1.0;
        };
        let others = last.others - first.others;
        // Whole tokens make each measure off by less than one.
        if others < 1.0 {
            return 1.0;
        }
        let mine = (last.mine - first.mine).max(0.0);
        let span = last.at.saturating_duration_since(first.at).as_secs_f64();
        let left = 1.0 - others / (self.refill_per_second * span).max(f64::MIN_POSITIVE);
        let proportional = mine / (mine + others);
        left.max(proportional).clamp(SHARE_FLOOR, 1.0)
    }

    /// Has an answer been compared with an earlier one yet?
    fn measured(&self) -> bool {
        self.spend.len() >= 2
    }

    /// Tokens a second this client counts on from the refill.
    pub fn share(&self) -> f64 {
        self.refill_per_second * self.part()
    }

    /// The current spacing between request starts.
    pub fn sleep(&self) -> Duration {
        Duration::from_secs_f64(self.sleep)
    }

    /// The last `RateLimit-Remaining` seen.
    pub fn remaining(&self) -> Option<u32> {
        self.remaining
    }

    /// Estimated tokens at `at`, once an answer has told anything, with `of_pool` of
    /// what the pool held counted as this client's. Each recent answer bounds it: what
    /// was left then, plus this client's share of the refill since, minus this client's
    /// requests that may have reached the server after it (those sent after it, and
    /// those sent before it but still unanswered, since parallel connections overtake
    /// each other). The lowest bound wins, so the estimate errs low, and rises back as
    /// the unanswered ones answer.
    fn estimate(&self, at: Instant, of_pool: f64) -> Option<f64> {
        let share = self.share();
        self.answers
            .iter()
            .map(|answer| {
                let refilled = at.saturating_duration_since(answer.at).as_secs_f64() * share;
                let before = if answer.counted {
                    self.unanswered.range(..answer.sequence).count()
                } else {
                    self.unanswered.range(..=answer.sequence).count()
                };
                let later = (self.started - answer.sequence) as f64 + before as f64;
                (f64::from(answer.remaining) * of_pool + refilled).min(self.pool) - later
            })
            .min_by(f64::total_cmp)
    }

    /// The tokens this client counts on at `at`: its part of what the pool holds and of
    /// the refill since, less its own requests since. Until its answers tell about the
    /// others, at least one request at a time, whose answer will.
    fn tokens(&self, at: Instant) -> Option<f64> {
        let part = self.estimate(at, self.part())?;
        if self.measured() || !self.unanswered.is_empty() {
            return Some(part);
        }
        let one = self.estimate(at, 1.0)?.min(1.0);
        Some(part.max(one))
    }

    /// May a request start at `now`? `jitter` in `[0, 1)` adds up to 10% to the gem's
    /// spacing. A request that takes a token is refused when it would take the pool
    /// below the reserve, and waits while this client's part of the pool holds no token.
    pub fn turn(
        &mut self,
        now: Instant,
        jitter: f64,
        counted: bool,
    ) -> Result<Turn, ReserveReached> {
        if !counted {
            return Ok(Turn::Go(self.ticket(now, false, false)));
        }
        if let Some(pool) = self.estimate(now, 1.0)
            && self.reserve > 0
            && pool - 1.0 < f64::from(self.reserve)
        {
            return Err(ReserveReached {
                remaining: pool.max(0.0).floor() as u32,
                reserve: self.reserve,
            });
        }
        let mut at = now;
        if let Some(tokens) = self.tokens(now)
            && tokens < 1.0
        {
            if self.probe_due(now) {
                self.probing = true;
                self.next_probe = Some(now + self.probe_after(jitter));
                return Ok(Turn::Probe(self.ticket(now, false, true)));
            }
            at = now + Duration::from_secs_f64((1.0 - tokens) / self.share());
            // Ask again when a probe is due, unless one is in flight.
            if let Some(next_probe) = self.next_probe
                && !self.probing
            {
                at = at.min(next_probe);
            }
        }
        let gap = Duration::from_secs_f64(self.sleep * (1.0 + 0.1 * jitter.clamp(0.0, 1.0)));
        if let Some(last) = self.last_start {
            at = at.max(last + gap);
        }
        if at > now {
            return Ok(Turn::Wait(at));
        }
        self.last_start = Some(now);
        self.next_probe = Some(now + self.probe_after(jitter));
        self.started += 1;
        self.unanswered.insert(self.started);
        Ok(Turn::Go(self.ticket(now, true, false)))
    }

    /// Is the latest news of the pool old enough to ask it again?
    fn probe_due(&self, now: Instant) -> bool {
        !self.probing && self.next_probe.is_none_or(|next| next <= now)
    }

    fn probe_after(&self, jitter: f64) -> Duration {
        let intervals = PROBE_INTERVALS * (1.0 + jitter.clamp(0.0, 1.0));
        Duration::from_secs_f64(self.min_sleep * intervals)
    }

    fn ticket(&self, at: Instant, counted: bool, probe: bool) -> Ticket {
        Ticket {
            epoch: self.epoch,
            sequence: self.started,
            at,
            counted,
            probe,
        }
    }

    /// An answer with its `RateLimit-Remaining`: the pool as the server saw it when it
    /// took (or, for a 429 or a free request, did not take) this request's token.
    fn resync(&mut self, ticket: Ticket, remaining: u32) {
        self.settle(ticket);
        self.remaining = Some(remaining);
        let answer = Answer {
            sequence: ticket.sequence,
            at: ticket.at,
            remaining,
            counted: ticket.counted,
            refused: self.refused,
        };
        if self.answers.len() == ANSWERS_KEPT {
            self.answers.pop_front();
        }
        self.answers.push_back(answer);
        let newest = self.answers.iter().map(|answer| answer.at).max();
        if let Some(newest) = newest {
            self.answers
                .retain(|answer| answer.at + ANSWER_OVERLAP >= newest);
        }
        self.measure_spend(answer);
    }

    /// The request is no longer in flight.
    fn settle(&mut self, ticket: Ticket) {
        if ticket.counted {
            self.unanswered.remove(&ticket.sequence);
        }
        if ticket.probe {
            self.probing = false;
        }
    }

    /// Compares an answer with the latest one before it: the pool then, plus the refill
    /// in between (the pool holds no more than its size), less the pool now and less
    /// this client's requests in between, is what the other clients spent.
    fn measure_spend(&mut self, answer: Answer) {
        let Some(latest) = self.latest else {
            self.latest = Some(answer);
            self.spend.push_back(Spend {
                at: answer.at,
                others: 0.0,
                mine: 0.0,
            });
            return;
        };
        if answer.sequence < latest.sequence || answer.at < latest.at {
            // It overtook a later one: the comparison would run backwards.
            return;
        }
        let elapsed = answer.at.duration_since(latest.at).as_secs_f64();
        let mine = (answer.sequence - latest.sequence) as f64
            - answer.refused.saturating_sub(latest.refused) as f64;
        let before =
            (f64::from(latest.remaining) + elapsed * self.refill_per_second).min(self.pool);
        // Whole tokens make each difference off by up to one either way; the running
        // total telescopes, so the errors do not add up.
        self.others_spent += before - f64::from(answer.remaining) - mine;
        self.mine_spent += mine;
        self.latest = Some(answer);
        self.spend.push_back(Spend {
            at: answer.at,
            others: self.others_spent,
            mine: self.mine_spent,
        });
        // The oldest one kept is the last at or before the span's start.
        let span = Duration::from_secs_f64(self.min_sleep * SHARE_SPAN.max(1.0 / self.part()));
        while self.spend.len() > SHARE_SAMPLES
            || (self.spend.len() > 2 && self.spend[1].at + span <= answer.at)
        {
            self.spend.pop_front();
        }
    }

    /// No answer came (a timeout, a reset): the request may or may not have taken a token.
    pub fn unanswered(&mut self, ticket: Ticket) {
        // Leaving it counted as taken errs on the safe side.
        self.settle(ticket);
    }

    /// A 429: slow down, once per wave of requests sent at the old pace.
    pub fn rate_limited(&mut self, ticket: Ticket) {
        // The request took nothing; the estimate from here on counts only later ones.
        self.refused += 1;
        self.resync(ticket, 0);
        if ticket.epoch != self.epoch {
            return;
        }
        self.sleep += self.min_sleep;
        if self.streak > 0 {
            self.sleep *= 1.2;
        }
        self.sleep = self.sleep.min(MAX_SLEEP);
        self.streak += 1;
        self.epoch += 1;
    }

    /// Any other answer. Once it shows tokens left, the mirror paces the requests: the
    /// gem's spacing, meant for an empty pool, would keep them apart while it refills.
    pub fn answered(&mut self, ticket: Ticket, remaining: Option<u32>) {
        let Some(remaining) = remaining else {
            self.settle(ticket);
            return;
        };
        self.resync(ticket, remaining);
        if ticket.counted {
            self.streak = 0;
        }
        if remaining > 0 {
            self.sleep = 0.0;
        }
    }
}

/// A ticket whose request is on its way. A request dropped before its answer (a listing
/// abandoned when its batch ends, a signal) settles it as unanswered on the way out, so
/// the pacer does not wait for an answer that will never come.
pub struct Held<'a> {
    throttle: &'a Throttle,
    ticket: Option<Ticket>,
}

impl Held<'_> {
    pub fn is_probe(&self) -> bool {
        self.ticket.is_some_and(|ticket| ticket.is_probe())
    }

    pub fn answered(mut self, remaining: Option<u32>) {
        if let Some(ticket) = self.ticket.take() {
            self.throttle.answered(ticket, remaining);
        }
    }

    pub fn rate_limited(mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.throttle.rate_limited(ticket);
        }
    }

    pub fn unanswered(mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.throttle.unanswered(ticket);
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.throttle.unanswered(ticket);
        }
    }
}

/// The pacer behind a lock, for requests running in parallel.
#[derive(Debug)]
pub struct Throttle {
    pacer: Mutex<Pacer>,
    /// Wakes the requests waiting for a turn when an answer changes the estimate.
    changed: Notify,
}

impl Throttle {
    pub fn new(refill_per_minute: f64, reserve: u32) -> Throttle {
        Throttle {
            pacer: Mutex::new(Pacer::new(refill_per_minute, HEROKU_POOL, reserve)),
            changed: Notify::new(),
        }
    }

    /// Waits for this request's turn, or refuses it at the reserve. The estimate errs low
    /// while requests are in flight, so the run stops a little above the reserve rather
    /// than ever below it. A probe's ticket (`is_probe`) asks the caller to send
    /// `GET /account/rate-limits` with it before asking again.
    pub async fn turn(&self, counted: bool) -> Result<Held<'_>, ReserveReached> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the pacer is asked, so no answer slips in between.
            changed.as_mut().enable();
            let until = {
                let now = Instant::now();
                let mut pacer = self.lock();
                let until = match pacer.turn(now, fastrand::f64(), counted)? {
                    Turn::Go(ticket) | Turn::Probe(ticket) => {
                        return Ok(Held {
                            throttle: self,
                            ticket: Some(ticket),
                        });
                    }
                    Turn::Wait(until) => until,
                };
                if until > now + Duration::from_secs_f64(pacer.min_sleep * LONG_WAIT) {
                    tracing::debug!(
                        wait = ?until - now,
                        part = pacer.part(),
                        tokens = pacer.tokens(now),
                        sleep = pacer.sleep,
                        in_flight = pacer.unanswered.len(),
                        probing = pacer.probing,
                        "waiting for the rate-limit pool"
                    );
                }
                until
            };
            tokio::select! {
                () = tokio::time::sleep_until(until.into()) => {}
                () = &mut changed => {}
            }
        }
    }

    fn rate_limited(&self, ticket: Ticket) {
        self.lock().rate_limited(ticket);
        self.changed.notify_waiters();
    }

    fn answered(&self, ticket: Ticket, remaining: Option<u32>) {
        self.lock().answered(ticket, remaining);
        self.changed.notify_waiters();
    }

    fn unanswered(&self, ticket: Ticket) {
        self.lock().unanswered(ticket);
        self.changed.notify_waiters();
    }

    pub fn remaining(&self) -> Option<u32> {
        self.lock().remaining()
    }

    pub fn others_spent(&self) -> f64 {
        self.lock().others_spent()
    }

    /// The part of the pool this client counts on, for the debug log.
    pub fn part(&self) -> f64 {
        self.lock().part()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pacer> {
        // A panic elsewhere cannot leave the pacer half-updated: updates do not panic.
        self.pacer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[tokio::test]
    async fn a_request_dropped_before_its_answer_is_not_waited_for() {
        let throttle = Throttle::new(HEROKU_REFILL_PER_MINUTE, 0);
        let held = throttle.turn(true).await.unwrap();
        assert_eq!(throttle.lock().unanswered.len(), 1);
        // An abandoned listing drops its request mid-flight.
        drop(held);
        assert!(throttle.lock().unanswered.is_empty());
        let answered = throttle.turn(true).await.unwrap();
        answered.answered(Some(4_000));
        assert!(throttle.lock().unanswered.is_empty());
    }

    fn pacer(refill_per_minute: f64, reserve: u32) -> (Pacer, Instant) {
        (Pacer::new(refill_per_minute, 4500, reserve), Instant::now())
    }

    /// The first moment from `now` at which a counted request may start, asking again
    /// whenever told to wait; probes go unanswered.
    fn start(pacer: &mut Pacer, mut now: Instant) -> (Instant, Ticket) {
        loop {
            match pacer.turn(now, 0.0, true).unwrap() {
                Turn::Go(ticket) => return (now, ticket),
                Turn::Wait(until) => now = until,
                Turn::Probe(ticket) => pacer.unanswered(ticket),
            }
        }
    }

    /// The free `GET /account/rate-limits` a run starts with, answered with `remaining`.
    fn free_answer(pacer: &mut Pacer, now: Instant, remaining: u32) {
        let Ok(Turn::Go(free)) = pacer.turn(now, 0.0, false) else {
            panic!("free requests never wait");
        };
        pacer.answered(free, Some(remaining));
    }

    fn at(now: Instant, seconds: f64) -> Instant {
        now + Duration::from_secs_f64(seconds)
    }

    #[test]
    fn starts_without_sleeping() {
        let (mut pacer, now) = pacer(75.0, 0);
        assert_eq!(start(&mut pacer, now).0, now);
        assert_eq!(start(&mut pacer, now).0, now);
    }

    #[test]
    fn a_429_adds_the_minimum_sleep_then_grows_by_a_fifth() {
        let (mut pacer, now) = pacer(75.0, 0);
        let (_, ticket) = start(&mut pacer, now);
        pacer.rate_limited(ticket);
        assert!((secs(pacer.sleep()) - 0.8).abs() < 1e-9);
        let (_, ticket) = start(&mut pacer, now);
        pacer.rate_limited(ticket);
        assert!((secs(pacer.sleep()) - 1.6 * 1.2).abs() < 1e-9);
        assert_eq!(pacer.remaining(), Some(0));
    }

    #[test]
    fn parallel_429s_from_one_wave_adjust_once() {
        let (mut pacer, now) = pacer(75.0, 0);
        let tickets: Vec<_> = (0..8).map(|_| start(&mut pacer, now).1).collect();
        for ticket in tickets {
            pacer.rate_limited(ticket);
        }
        assert!((secs(pacer.sleep()) - 0.8).abs() < 1e-9);
    }

    #[test]
    fn the_gem_spacing_holds_while_the_pool_is_empty_and_ends_once_it_holds_tokens() {
        let (mut pacer, now) = pacer(75.0, 0);
        let (_, ticket) = start(&mut pacer, now);
        pacer.rate_limited(ticket);
        let (_, ticket) = start(&mut pacer, now);
        pacer.answered(ticket, Some(0));
        assert!((secs(pacer.sleep()) - 0.8).abs() < 1e-9);
        let (_, ticket) = start(&mut pacer, now);
        pacer.answered(ticket, Some(1));
        assert_eq!(pacer.sleep(), Duration::ZERO);
    }

    #[test]
    fn the_sleep_is_capped() {
        let (mut pacer, now) = pacer(1.0, 0);
        for _ in 0..10 {
            let (_, ticket) = start(&mut pacer, now);
            pacer.rate_limited(ticket);
        }
        assert_eq!(secs(pacer.sleep()), MAX_SLEEP);
    }

    #[test]
    fn a_long_gem_sleep_ends_as_soon_as_the_pool_shows_tokens() {
        let (mut pacer, now) = pacer(60.0, 0);
        for _ in 0..6 {
            let (_, ticket) = start(&mut pacer, now);
            pacer.rate_limited(ticket);
        }
        assert!(secs(pacer.sleep()) > 5.0);
        // The pool has refilled to 17: spacing requests seconds apart would waste it.
        let (then, ticket) = start(&mut pacer, now);
        pacer.answered(ticket, Some(17));
        assert_eq!(start(&mut pacer, then).0, then);
        assert_eq!(start(&mut pacer, then).0, then);
    }

    #[test]
    fn never_starts_more_than_the_pool_holds_then_paces_at_the_refill() {
        // 60 a minute: one token a second. Alone on a pool of 3, each request answered
        // at once.
        let (mut pacer, now) = pacer(60.0, 0);
        free_answer(&mut pacer, now, 3);
        let (starts, _) = alone(&mut pacer, now, 3.0, at(now, 3.5));
        let starts: Vec<f64> = starts.iter().map(|&start| secs(start - now)).collect();
        let expected = [0.0, 0.0, 0.0, 1.0, 2.0, 3.0];
        assert_eq!(starts.len(), expected.len(), "{starts:?}");
        for (start, expected) in starts.iter().zip(expected) {
            assert!((start - expected).abs() < 1e-6, "{starts:?}");
        }
    }

    #[test]
    fn before_its_answers_tell_about_others_one_request_at_a_time_on_a_nearly_empty_pool() {
        let (mut pacer, now) = pacer(60.0, 0);
        free_answer(&mut pacer, now, 20);
        let Ok(Turn::Go(first)) = pacer.turn(now, 0.0, true) else {
            panic!("the first request waits");
        };
        assert!(matches!(pacer.turn(now, 0.0, true), Ok(Turn::Wait(_))));
        // Its answer shows nobody else spending: the rest go.
        pacer.answered(first, Some(19));
        let sent = (0..10)
            .filter(|_| matches!(pacer.turn(now, 0.0, true), Ok(Turn::Go(_))))
            .count();
        assert_eq!(sent, 10);
        // With a full pool, its sixteenth is plenty to start with.
        let (mut pacer, now) = self::pacer(60.0, 0);
        free_answer(&mut pacer, now, 4500);
        let sent = (0..10)
            .filter(|_| matches!(pacer.turn(now, 0.0, true), Ok(Turn::Go(_))))
            .count();
        assert_eq!(sent, 10);
    }

    #[test]
    fn answers_resync_the_pool_estimate_erring_low() {
        let (mut pacer, now) = pacer(60.0, 0);
        free_answer(&mut pacer, now, 10);
        let tickets: Vec<Ticket> = (0..4).map(|_| start(&mut pacer, now).1).collect();
        let pool = |pacer: &Pacer, at: Instant| pacer.estimate(at, 1.0).map(f64::round);
        assert_eq!(pool(&pacer, now), Some(6.0));
        // Another client took 3 tokens, and our fourth request may have overtaken the
        // three before it: the estimate counts those as still to come.
        pacer.answered(tickets[3], Some(3));
        assert_eq!(pool(&pacer, now), Some(0.0));
        // As they answer, it rises back to what the server says.
        pacer.answered(tickets[0], Some(6));
        assert_eq!(pool(&pacer, now), Some(1.0));
        pacer.answered(tickets[1], Some(5));
        pacer.answered(tickets[2], Some(4));
        assert_eq!(pool(&pacer, now), Some(3.0));
        // Had the third overtaken the fourth, its lower answer would bound it lower.
        let (fifth_at, fifth) = start(&mut pacer, now);
        pacer.answered(fifth, Some(1));
        assert_eq!(pool(&pacer, fifth_at), Some(1.0));
        // Time refills it, by this client's share of the refill.
        let later = at(fifth_at, 2.0);
        let expected = 1.0 + 2.0 * pacer.share();
        let estimate = pacer.estimate(later, 1.0).unwrap();
        assert!((estimate - expected).abs() < 1e-9, "{estimate} {expected}");
    }

    #[test]
    fn the_reserve_is_never_crossed() {
        let (mut pacer, now) = pacer(60.0, 15);
        free_answer(&mut pacer, now, 20);
        let (_, first) = start(&mut pacer, now);
        pacer.answered(first, Some(19));
        let allowed = (0..10)
            .filter(|_| matches!(pacer.turn(now, 0.0, true), Ok(Turn::Go(_))))
            .count();
        assert_eq!(allowed, 4);
        assert_eq!(
            pacer.turn(now, 0.0, true).unwrap_err(),
            ReserveReached {
                remaining: 15,
                reserve: 15
            }
        );
        // Free requests still go.
        assert!(matches!(pacer.turn(now, 0.0, false), Ok(Turn::Go(_))));
    }

    #[test]
    fn a_429_gives_back_its_token() {
        let (mut pacer, now) = pacer(60.0, 0);
        free_answer(&mut pacer, now, 1);
        let (_, ticket) = start(&mut pacer, now);
        pacer.rate_limited(ticket);
        // The pool was empty when the server saw it; the retry waits for a refill.
        let (retry, _) = start(&mut pacer, now);
        assert!(secs(retry - now) >= 0.99, "{}", secs(retry - now));
    }

    /// Three clients alike drain the pool, at 60 a minute, as this one's answers tell.
    const THREE_DRAIN_IT: [u32; 7] = [13, 11, 9, 7, 5, 3, 0];

    /// One request a second from `start`, answered with each `RateLimit-Remaining` in turn.
    fn answer_each_second(pacer: &mut Pacer, first: Instant, remaining: &[u32]) {
        for (second, &remaining) in remaining.iter().enumerate() {
            let at = first + Duration::from_secs(second as u64);
            let Ok(Turn::Go(ticket)) = pacer.turn(at, 0.0, true) else {
                panic!("the pool held a token for request {second}");
            };
            pacer.answered(ticket, Some(remaining));
        }
    }

    #[test]
    fn alone_its_part_is_all_of_it() {
        // 60 a minute: one token a second. Each answer is one lower than the last
        // plus the refill: only this client's own request.
        let (mut pacer, now) = pacer(60.0, 0);
        answer_each_second(&mut pacer, now, &[30, 30, 30, 30, 30, 30]);
        assert!(
            pacer.others_spent().abs() < 1e-9,
            "{}",
            pacer.others_spent()
        );
        assert_eq!(pacer.part(), 1.0);
        assert!((pacer.share() - 1.0).abs() < 1e-9, "{}", pacer.share());
    }

    #[test]
    fn the_others_spending_is_the_drop_less_its_own_requests() {
        // Each second the refill adds one, this client takes one and two others take
        // one each: the pool drops by two a second.
        let (mut pacer, now) = pacer(60.0, 0);
        answer_each_second(&mut pacer, now, &[30, 28, 26, 24, 22, 20, 18]);
        assert!(
            (pacer.others_spent() - 12.0).abs() < 1e-9,
            "{}",
            pacer.others_spent()
        );
        // They take more than the refill: this client counts on its proportion of it,
        // a third, as they would on theirs.
        assert!((pacer.part() - 1.0 / 3.0).abs() < 1e-9, "{}", pacer.part());
        assert!(
            (pacer.share() - 1.0 / 3.0).abs() < 1e-9,
            "{}",
            pacer.share()
        );
    }

    #[test]
    fn the_first_answers_already_tell_the_others_at_work() {
        // Three clients start on a pool of 20 at once, each sending two requests: this
        // one's answers show the others' four.
        let (mut pacer, now) = pacer(60.0, 0);
        free_answer(&mut pacer, now, 20);
        let (_, account) = start(&mut pacer, now);
        pacer.answered(account, Some(17));
        assert!((pacer.part() - 1.0 / 3.0).abs() < 1e-9, "{}", pacer.part());
        let (listed, list) = start(&mut pacer, now);
        assert_eq!(listed, now);
        pacer.answered(list, Some(14));
        assert!((pacer.part() - 1.0 / 3.0).abs() < 1e-9, "{}", pacer.part());
    }

    #[test]
    fn what_the_others_leave_of_the_refill_is_its_share() {
        // Two tokens a second; this client takes one, another client one every other
        // second, so the pool fills by half a token a second (whole tokens in answers).
        let (mut pacer, now) = pacer(120.0, 0);
        answer_each_second(&mut pacer, now, &[10, 11, 11, 12, 12, 13, 13, 14, 14, 15]);
        assert!(
            (pacer.others_spent() - 4.0).abs() < 1e-9,
            "{}",
            pacer.others_spent()
        );
        assert!((pacer.share() - 1.5).abs() < 1e-9, "{}", pacer.share());
    }

    #[test]
    fn the_share_comes_back_once_the_others_stop() {
        let (mut pacer, now) = pacer(60.0, 0);
        answer_each_second(&mut pacer, now, &[30, 28, 26, 24, 22, 20]);
        assert!(pacer.share() < 0.5);
        let later = now + Duration::from_secs(6);
        answer_each_second(&mut pacer, later, &[20; SHARE_SAMPLES]);
        assert!((pacer.share() - 1.0).abs() < 1e-9, "{}", pacer.share());
    }

    #[test]
    fn what_the_pool_holds_is_shared_out_as_the_refill_is() {
        // Two clients alike: this one counts on half of the pool's 9 tokens.
        let (mut pacer, now) = pacer(60.0, 0);
        answer_each_second(
            &mut pacer,
            now,
            &[19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9],
        );
        assert!((pacer.part() - 0.5).abs() < 1e-9, "{}", pacer.part());
        let then = at(now, 10.0);
        let sent = (0..9)
            .filter(|_| matches!(pacer.turn(then, 0.0, true), Ok(Turn::Go(_))))
            .count();
        assert_eq!(sent, 4);
    }

    #[test]
    fn an_empty_pool_is_shared_by_waiting_for_its_share_of_the_refill() {
        // Three clients alike on an empty pool: it waits three intervals, not one.
        let (mut pacer, now) = pacer(60.0, 0);
        answer_each_second(&mut pacer, now, &THREE_DRAIN_IT);
        assert!((pacer.part() - 1.0 / 3.0).abs() < 0.05, "{}", pacer.part());
        let then = at(now, 6.0);
        let (next, _) = start(&mut pacer, then);
        let waited = secs(next - then);
        assert!((2.5..=3.5).contains(&waited), "{waited}");
    }

    #[test]
    fn a_client_counted_out_still_counts_on_a_floor() {
        // Fifteen times its own spending goes to others: it still counts on the floor.
        let (mut pacer, now) = pacer(60.0, 0);
        answer_each_second(&mut pacer, now, &[2000, 1984, 1968, 1952, 1936]);
        assert_eq!(pacer.part(), SHARE_FLOOR);
    }

    #[test]
    fn a_wait_with_old_news_probes_the_pool_first_once() {
        // Three clients share an empty pool; this one counts on a third of the refill.
        let (mut pacer, now) = pacer(60.0, 0);
        answer_each_second(&mut pacer, now, &THREE_DRAIN_IT);
        let last = at(now, 6.0);
        // Its next token is three intervals away; with no news for two, it asks the
        // pool, once at a time.
        let Ok(Turn::Wait(then)) = pacer.turn(at(last, 1.0), 0.0, true) else {
            panic!("a probe with recent news");
        };
        assert_eq!(then, at(last, 2.0), "asks again when a probe is due");
        let Ok(Turn::Probe(probe)) = pacer.turn(then, 0.0, true) else {
            panic!("no probe after two intervals without news");
        };
        assert!(probe.is_probe());
        assert!(matches!(pacer.turn(then, 0.0, true), Ok(Turn::Wait(_))));
        // The pool is still empty: it waits on for its share, and probes no sooner
        // than two intervals after.
        pacer.answered(probe, Some(0));
        assert!(matches!(
            pacer.turn(at(then, 1.9), 0.0, true),
            Ok(Turn::Wait(_))
        ));
    }

    #[test]
    fn an_unanswered_probe_is_not_repeated_at_once() {
        let (mut pacer, now) = pacer(60.0, 0);
        answer_each_second(&mut pacer, now, &THREE_DRAIN_IT);
        let then = at(now, 8.0);
        let Ok(Turn::Probe(probe)) = pacer.turn(then, 0.0, true) else {
            panic!("no probe before a long wait");
        };
        pacer.unanswered(probe);
        assert!(matches!(pacer.turn(then, 0.0, true), Ok(Turn::Wait(_))));
    }

    /// From `from` on, this client alone on a pool holding `pool`: every request and
    /// probe it makes answered at once, as the server would. When it sent each request
    /// before `until`, and what the pool held then.
    fn alone(
        pacer: &mut Pacer,
        from: Instant,
        mut pool: f64,
        until: Instant,
    ) -> (Vec<Instant>, f64) {
        let (mut now, mut sent) = (from, Vec::new());
        while now < until {
            match pacer.turn(now, 0.0, true).unwrap() {
                Turn::Go(ticket) => {
                    pool -= 1.0;
                    sent.push(now);
                    pacer.answered(ticket, Some(pool.max(0.0).floor() as u32));
                }
                Turn::Probe(ticket) => {
                    pacer.answered(ticket, Some(pool.max(0.0).floor() as u32));
                }
                Turn::Wait(then) => {
                    let then = then.min(until);
                    pool += secs(then - now) * pacer.refill_per_second;
                    now = then;
                }
            }
        }
        (sent, pool)
    }

    #[test]
    fn once_the_others_stop_it_soon_takes_the_whole_refill() {
        // Three clients shared an empty pool; this one counted on a third of it.
        let (mut pacer, now) = pacer(60.0, 0);
        answer_each_second(&mut pacer, now, &THREE_DRAIN_IT);
        // The others stopped. Over the next twelve seconds the refill brings twelve
        // tokens: a third would be four; its probes show the pool filling, and it
        // takes nearly all of them, leaving a token or two.
        let last = at(now, 6.0);
        let (sent, left) = alone(&mut pacer, last, 0.0, at(last, 12.0));
        assert!(sent.len() >= 10, "{} sent, {left} left", sent.len());
        assert!(left < 2.0, "{} sent, {left} left", sent.len());
        assert_eq!(pacer.part(), 1.0);
    }

    #[test]
    fn clients_all_waiting_at_once_do_not_each_take_the_pool_for_their_own() {
        // Sixteen clients alike drained the pool: each second the refill adds one, this
        // client takes one and the others fifteen.
        let (mut pacer, now) = pacer(60.0, 0);
        let drained: Vec<u32> = (0..17).map(|second| 240 - 15 * second).collect();
        answer_each_second(&mut pacer, now, &drained);
        assert!((pacer.part() - 1.0 / 16.0).abs() < 1e-9, "{}", pacer.part());
        // Then they all wait for their part of the refill, and the pool fills up: four
        // intervals of nobody spending do not make this client count it all its own.
        let last = at(now, 16.0);
        for (seconds, remaining) in [(2.0, 2), (4.0, 4)] {
            let Ok(Turn::Probe(probe)) = pacer.turn(at(last, seconds), 0.0, true) else {
                panic!("no probe while waiting");
            };
            pacer.answered(probe, Some(remaining));
        }
        assert!(pacer.part() < 0.1, "{}", pacer.part());
        assert!(matches!(
            pacer.turn(at(last, 4.0), 0.0, true),
            Ok(Turn::Wait(_))
        ));
    }
}
