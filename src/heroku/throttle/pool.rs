//! The throttle's first rule, a mirror of the account's rate-limit pool: from each
//! answer's `RateLimit-Remaining`, the requests this client sent since and the refill,
//! how many tokens are left; from the drops between answers, what the other clients of
//! the account spend, and so the fraction of the pool and of its refill this client
//! counts on. A request waits while that fraction holds no token, and a long wait looks
//! at the pool first (`GET /account/rate-limits`, free). It also holds
//! `--reserve-rate-limit`'s floor. docs/design.md ("A mirror of the pool") says why.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

/// How many recent answers bound the estimate.
const ANSWERS_KEPT: usize = 32;
/// Answers sent this much before the latest one no longer bound the estimate. Requests
/// overtake each other only while in flight together, and this is longer than a DELETE's
/// round trip; an older answer adds only the share of the refill since, which is too
/// little when other clients stopped: it would keep this client waiting while newer
/// answers show tokens left.
const ANSWER_OVERLAP: Duration = Duration::from_secs(1);
/// The answers of about this many refill intervals measure the fraction, or of the
/// interval between this client's own requests if longer: enough to smooth out
/// `RateLimit-Remaining` counting whole tokens and to see the others' requests while
/// this client waits its turn, few enough to follow clients that come and go (two
/// probes after the others stop, the fraction is all of it again). Shorter than the
/// wait, it would show nobody spending whenever all the clients wait at once, and they
/// would all take the pool for their own.
const FRACTION_SPAN: f64 = 4.0;
/// At most this many answers are kept to measure it.
const FRACTION_SAMPLES: usize = 256;
/// However many clients spend from the pool, this client counts on at least this
/// fraction of it: the estimate of the others' spending is only an estimate, and a
/// client that counted on less would hardly ever send, so its fraction would only
/// shrink. Before its answers tell anything about the others it counts on this fraction
/// too, and on one request at a time if that is less: many clients starting at once on a
/// nearly empty pool would otherwise each send their first requests into its last tokens.
const FRACTION_FLOOR: f64 = 1.0 / 16.0;
/// A client waiting for its fraction of a token asks the pool (`GET
/// /account/rate-limits`, free) once its latest news of it is this many refill intervals
/// old (up to twice that, at random, so that clients waiting alike do not all look at
/// once): when the others stopped spending, the pool fills up while nothing tells this
/// client so.
const PROBE_INTERVALS: f64 = 2.0;

/// The pool holds no more than the reserve allows this client to spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the rate-limit pool is down to {remaining}, at `--reserve-rate-limit {reserve}`")]
pub struct ReserveReached {
    pub remaining: u32,
    pub reserve: u32,
}

/// A request as the mirror counts it, given back with its answer.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// How many counted requests had started when it did (itself included, if counted):
    /// the counted ones after it are those with a higher sequence.
    sequence: u64,
    at: Instant,
    /// Does it take a token (all but `GET /account/rate-limits`)?
    counted: bool,
    /// Is it a probe: `GET /account/rate-limits` asked for the mirror before a request?
    probe: bool,
}

impl Request {
    pub fn counted(&self) -> bool {
        self.counted
    }

    pub fn is_probe(&self) -> bool {
        self.probe
    }
}

/// When a counted request may start, as the mirror sees it.
#[derive(Debug, Clone, Copy)]
pub enum Verdict {
    /// Not before then (`now` or earlier: at once).
    NotBefore(Instant),
    /// Send this probe of the pool first, then ask again.
    Probe(Request),
}

#[derive(Debug, Clone)]
pub struct Mirror {
    /// The pool's size, in tokens.
    pool: f64,
    /// Tokens the whole pool refills a second.
    refill_per_second: f64,
    reserve: u32,
    /// The latest answers' `RateLimit-Remaining`, each a bound on the pool now.
    answers: VecDeque<Answer>,
    /// Counted requests started so far: a request's `sequence` says how many came after it.
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
    /// The running totals at the answers of the latest `FRACTION_SPAN`, to measure the
    /// fraction.
    spend: VecDeque<Spend>,
    /// When to probe the pool if still waiting then: a while after the latest request.
    next_probe: Option<Instant>,
    /// A probe of the pool is in flight.
    probing: bool,
}

/// What one answer said: the pool after the server took (or refused) this request.
#[derive(Debug, Clone, Copy)]
struct Answer {
    sequence: u64,
    at: Instant,
    remaining: u32,
    /// Did this request take a token? A free one comes after request `sequence`.
    counted: bool,
    /// `Mirror::refused` when it came.
    refused: u64,
}

/// The running totals of spending at one answer.
#[derive(Debug, Clone, Copy)]
struct Spend {
    at: Instant,
    others: f64,
    mine: f64,
}

impl Mirror {
    /// A mirror of a pool of `pool` tokens that refills `refill_per_minute`, never to be
    /// taken below `reserve`.
    pub fn new(refill_per_minute: f64, pool: u32, reserve: u32) -> Mirror {
        Mirror {
            pool: f64::from(pool.max(1)),
            refill_per_second: refill_per_minute.max(f64::MIN_POSITIVE) / 60.0,
            reserve,
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

    /// Seconds between two tokens of the refill.
    pub fn refill_interval(&self) -> f64 {
        1.0 / self.refill_per_second
    }

    /// Tokens the other clients of the account spent since this client's first answer,
    /// as far as the answers tell: it grows when another reaper (or a test suite) is at
    /// work on the same account.
    pub fn others_spent(&self) -> f64 {
        self.others_spent
    }

    /// The fraction of the pool and of its refill this client counts on (from
    /// `FRACTION_FLOOR` to 1), over the latest answers: what the other clients leave of
    /// the refill while the pool fills, the fraction in proportion to this client's own
    /// spending while it drains (the larger of the two either way). Alone, all of it. On
    /// an empty pool the two agree: together the clients take the refill, and what the
    /// pool holds is shared out the same way.
    pub fn fraction_of_pool(&self) -> f64 {
        if !self.measured() {
            return FRACTION_FLOOR;
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
        left.max(proportional).clamp(FRACTION_FLOOR, 1.0)
    }

    /// Has an answer been compared with an earlier one yet?
    fn measured(&self) -> bool {
        self.spend.len() >= 2
    }

    /// Tokens a second this client counts on from the refill.
    pub fn tokens_per_second(&self) -> f64 {
        self.refill_per_second * self.fraction_of_pool()
    }

    /// The last `RateLimit-Remaining` seen.
    pub fn remaining(&self) -> Option<u32> {
        self.remaining
    }

    /// Counted requests sent and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.unanswered.len()
    }

    /// Is a probe of the pool in flight?
    pub fn probing(&self) -> bool {
        self.probing
    }

    /// Estimated tokens at `at`, once an answer has told anything, with `of_pool` of
    /// what the pool held counted as this client's. Each recent answer bounds it: what
    /// was left then, plus this client's share of the refill since, minus this client's
    /// requests that may have reached the server after it (those sent after it, and
    /// those sent before it but still unanswered, since parallel connections overtake
    /// each other). The lowest bound wins, so the estimate errs low, and rises back as
    /// the unanswered ones answer.
    fn estimate(&self, at: Instant, of_pool: f64) -> Option<f64> {
        let per_second = self.tokens_per_second();
        self.answers
            .iter()
            .map(|answer| {
                let refilled = at.saturating_duration_since(answer.at).as_secs_f64() * per_second;
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

    /// The tokens this client counts on at `at`: its fraction of what the pool holds and
    /// of the refill since, less its own requests since. Until its answers tell about the
    /// others, at least one request at a time, whose answer will.
    pub fn tokens(&self, at: Instant) -> Option<f64> {
        let counted_on = self.estimate(at, self.fraction_of_pool())?;
        if self.measured() || !self.unanswered.is_empty() {
            return Some(counted_on);
        }
        let one = self.estimate(at, 1.0)?.min(1.0);
        Some(counted_on.max(one))
    }

    /// A free request (`GET /account/rate-limits`) starts at `now`: it never waits.
    pub fn free(&self, now: Instant) -> Request {
        self.request(now, false, false)
    }

    /// When a counted request asking at `now` may start: refused when it would take the
    /// pool below the reserve, after a probe when the latest news is old, and otherwise
    /// once this client's fraction of the pool holds a token. `jitter` in `[0, 1)`
    /// spreads the probes of clients waiting alike.
    pub fn when(&mut self, now: Instant, jitter: f64) -> Result<Verdict, ReserveReached> {
        if let Some(pool) = self.estimate(now, 1.0)
            && self.reserve > 0
            && pool - 1.0 < f64::from(self.reserve)
        {
            return Err(ReserveReached {
                remaining: pool.max(0.0).floor() as u32,
                reserve: self.reserve,
            });
        }
        let Some(tokens) = self.tokens(now).filter(|tokens| *tokens < 1.0) else {
            return Ok(Verdict::NotBefore(now));
        };
        if self.probe_due(now) {
            self.probing = true;
            self.next_probe = Some(now + self.probe_after(jitter));
            return Ok(Verdict::Probe(self.request(now, false, true)));
        }
        let mut at = now + Duration::from_secs_f64((1.0 - tokens) / self.tokens_per_second());
        // Ask again when a probe is due, unless one is in flight.
        if let Some(next_probe) = self.next_probe
            && !self.probing
        {
            at = at.min(next_probe);
        }
        Ok(Verdict::NotBefore(at))
    }

    /// A counted request starts at `now`.
    pub fn started(&mut self, now: Instant, jitter: f64) -> Request {
        self.next_probe = Some(now + self.probe_after(jitter));
        self.started += 1;
        self.unanswered.insert(self.started);
        self.request(now, true, false)
    }

    /// Is the latest news of the pool old enough to ask it again?
    fn probe_due(&self, now: Instant) -> bool {
        !self.probing && self.next_probe.is_none_or(|next| next <= now)
    }

    fn probe_after(&self, jitter: f64) -> Duration {
        let intervals = PROBE_INTERVALS * (1.0 + jitter.clamp(0.0, 1.0));
        Duration::from_secs_f64(self.refill_interval() * intervals)
    }

    fn request(&self, at: Instant, counted: bool, probe: bool) -> Request {
        Request {
            sequence: self.started,
            at,
            counted,
            probe,
        }
    }

    /// The answer to `request`, with its `RateLimit-Remaining` if it had one.
    pub fn answered(&mut self, request: Request, remaining: Option<u32>) {
        match remaining {
            Some(remaining) => self.resync(request, remaining),
            None => self.settle(request),
        }
    }

    /// A 429: the request took nothing; the estimate from here on counts only later ones.
    pub fn rate_limited(&mut self, request: Request) {
        self.refused += 1;
        self.resync(request, 0);
    }

    /// No answer came (a timeout, a reset): the request may or may not have taken a token.
    pub fn unanswered(&mut self, request: Request) {
        // Leaving it counted as taken errs on the safe side.
        self.settle(request);
    }

    /// An answer with its `RateLimit-Remaining`: the pool as the server saw it when it
    /// took (or, for a 429 or a free request, did not take) this request's token.
    fn resync(&mut self, request: Request, remaining: u32) {
        self.settle(request);
        self.remaining = Some(remaining);
        let answer = Answer {
            sequence: request.sequence,
            at: request.at,
            remaining,
            counted: request.counted,
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
    fn settle(&mut self, request: Request) {
        if request.counted {
            self.unanswered.remove(&request.sequence);
        }
        if request.probe {
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
        let span = Duration::from_secs_f64(
            self.refill_interval() * FRACTION_SPAN.max(1.0 / self.fraction_of_pool()),
        );
        while self.spend.len() > FRACTION_SAMPLES
            || (self.spend.len() > 2 && self.spend[1].at + span <= answer.at)
        {
            self.spend.pop_front();
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[track_caller]
    fn assert_near(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-9, "{actual}, not {expected}");
    }

    fn mirror(refill_per_minute: f64, reserve: u32) -> (Mirror, Instant) {
        (
            Mirror::new(refill_per_minute, 4500, reserve),
            Instant::now(),
        )
    }

    /// What the mirror asked at `now` does, with no 429 (so no gem's pause) in the way.
    #[derive(Debug)]
    enum Asked {
        Go(Request),
        Wait(Instant),
        Probe(Request),
    }

    fn ask(pool: &mut Mirror, now: Instant) -> Result<Asked, ReserveReached> {
        Ok(match pool.when(now, 0.0)? {
            Verdict::Probe(probe) => Asked::Probe(probe),
            Verdict::NotBefore(at) if at > now => Asked::Wait(at),
            Verdict::NotBefore(_) => Asked::Go(pool.started(now, 0.0)),
        })
    }

    /// The first moment from `now` at which a counted request may start, asking again
    /// whenever told to wait; probes go unanswered.
    fn start(mirror: &mut Mirror, mut now: Instant) -> (Instant, Request) {
        loop {
            match ask(mirror, now).unwrap() {
                Asked::Go(ticket) => return (now, ticket),
                Asked::Wait(until) => now = until,
                Asked::Probe(ticket) => mirror.unanswered(ticket),
            }
        }
    }

    /// How many of `asked` requests at `now` may start then.
    fn starting_at_once(mirror: &mut Mirror, now: Instant, asked: usize) -> usize {
        (0..asked)
            .filter(|_| matches!(ask(mirror, now), Ok(Asked::Go(_))))
            .count()
    }

    /// The free `GET /account/rate-limits` a run starts with, answered with `remaining`.
    fn free_answer(mirror: &mut Mirror, now: Instant, remaining: u32) {
        let free = mirror.free(now);
        mirror.answered(free, Some(remaining));
    }

    fn at(now: Instant, seconds: f64) -> Instant {
        now + Duration::from_secs_f64(seconds)
    }

    #[test]
    fn never_starts_more_than_the_pool_holds_then_paces_at_the_refill() {
        // 60 a minute: one token a second. Alone on a pool of 3, each request answered
        // at once.
        let (mut mirror, now) = mirror(60.0, 0);
        free_answer(&mut mirror, now, 3);
        let (starts, _) = alone(&mut mirror, now, 3.0, at(now, 3.5));
        let starts: Vec<f64> = starts.iter().map(|&start| secs(start - now)).collect();
        let expected = [0.0, 0.0, 0.0, 1.0, 2.0, 3.0];
        assert_eq!(starts.len(), expected.len(), "{starts:?}");
        for (start, expected) in starts.iter().zip(expected) {
            assert!((start - expected).abs() < 1e-6, "{starts:?}");
        }
    }

    #[test]
    fn before_its_answers_tell_about_others_one_request_at_a_time_on_a_nearly_empty_pool() {
        let (mut mirror, now) = mirror(60.0, 0);
        free_answer(&mut mirror, now, 20);
        let Ok(Asked::Go(first)) = ask(&mut mirror, now) else {
            panic!("the first request waits");
        };
        assert!(matches!(ask(&mut mirror, now), Ok(Asked::Wait(_))));
        // Its answer shows nobody else spending: the rest go.
        mirror.answered(first, Some(19));
        let sent = starting_at_once(&mut mirror, now, 10);
        assert_eq!(sent, 10);
        // With a full pool, its sixteenth is plenty to start with.
        let (mut mirror, now) = self::mirror(60.0, 0);
        free_answer(&mut mirror, now, 4500);
        let sent = starting_at_once(&mut mirror, now, 10);
        assert_eq!(sent, 10);
    }

    #[test]
    fn answers_resync_the_pool_estimate_erring_low() {
        let (mut mirror, now) = mirror(60.0, 0);
        free_answer(&mut mirror, now, 10);
        let tickets: Vec<Request> = (0..4).map(|_| start(&mut mirror, now).1).collect();
        let pool = |mirror: &Mirror, at: Instant| mirror.estimate(at, 1.0).map(f64::round);
        assert_eq!(pool(&mirror, now), Some(6.0));
        // Another client took 3 tokens, and our fourth request may have overtaken the
        // three before it: the estimate counts those as still to come.
        mirror.answered(tickets[3], Some(3));
        assert_eq!(pool(&mirror, now), Some(0.0));
        // As they answer, it rises back to what the server says.
        mirror.answered(tickets[0], Some(6));
        assert_eq!(pool(&mirror, now), Some(1.0));
        mirror.answered(tickets[1], Some(5));
        mirror.answered(tickets[2], Some(4));
        assert_eq!(pool(&mirror, now), Some(3.0));
        // Had the third overtaken the fourth, its lower answer would bound it lower.
        let (fifth_at, fifth) = start(&mut mirror, now);
        mirror.answered(fifth, Some(1));
        assert_eq!(pool(&mirror, fifth_at), Some(1.0));
        // Time refills it, by this client's share of the refill.
        let later = at(fifth_at, 2.0);
        let expected = 1.0 + 2.0 * mirror.tokens_per_second();
        let estimate = mirror.estimate(later, 1.0).unwrap();
        assert_near(estimate, expected);
    }

    #[test]
    fn the_reserve_is_never_crossed() {
        let (mut mirror, now) = mirror(60.0, 15);
        free_answer(&mut mirror, now, 20);
        let (_, first) = start(&mut mirror, now);
        mirror.answered(first, Some(19));
        let allowed = starting_at_once(&mut mirror, now, 10);
        assert_eq!(allowed, 4);
        assert_eq!(
            ask(&mut mirror, now).unwrap_err(),
            ReserveReached {
                remaining: 15,
                reserve: 15
            }
        );
    }

    #[test]
    fn a_429_gives_back_its_token() {
        let (mut mirror, now) = mirror(60.0, 0);
        free_answer(&mut mirror, now, 1);
        let (_, ticket) = start(&mut mirror, now);
        mirror.rate_limited(ticket);
        // The pool was empty when the server saw it; the retry waits for a refill.
        assert_eq!(mirror.remaining(), Some(0));
        let (retry, _) = start(&mut mirror, now);
        assert!(secs(retry - now) >= 0.99, "{}", secs(retry - now));
    }

    /// Three clients alike drain the pool, at 60 a minute, as this one's answers tell.
    const THREE_DRAIN_IT: [u32; 7] = [13, 11, 9, 7, 5, 3, 0];

    /// One request a second from `start`, answered with each `RateLimit-Remaining` in turn.
    fn answer_each_second(mirror: &mut Mirror, first: Instant, remaining: &[u32]) {
        for (second, &remaining) in remaining.iter().enumerate() {
            let at = first + Duration::from_secs(second as u64);
            let Ok(Asked::Go(ticket)) = ask(mirror, at) else {
                panic!("the pool held a token for request {second}");
            };
            mirror.answered(ticket, Some(remaining));
        }
    }

    #[test]
    fn alone_its_fraction_is_all_of_it() {
        // 60 a minute: one token a second. Each answer is one lower than the last
        // plus the refill: only this client's own request.
        let (mut mirror, now) = mirror(60.0, 0);
        answer_each_second(&mut mirror, now, &[30, 30, 30, 30, 30, 30]);
        assert_near(mirror.others_spent(), 0.0);
        assert_eq!(mirror.fraction_of_pool(), 1.0);
        assert_near(mirror.tokens_per_second(), 1.0);
    }

    #[test]
    fn the_others_spending_is_the_drop_less_its_own_requests() {
        // Each second the refill adds one, this client takes one and two others take
        // one each: the pool drops by two a second.
        let (mut mirror, now) = mirror(60.0, 0);
        answer_each_second(&mut mirror, now, &[30, 28, 26, 24, 22, 20, 18]);
        assert_near(mirror.others_spent(), 12.0);
        // They take more than the refill: this client counts on its proportion of it,
        // a third, as they would on theirs.
        assert_near(mirror.fraction_of_pool(), 1.0 / 3.0);
        assert_near(mirror.tokens_per_second(), 1.0 / 3.0);
    }

    #[test]
    fn the_first_answers_already_tell_the_others_at_work() {
        // Three clients start on a pool of 20 at once, each sending two requests: this
        // one's answers show the others' four.
        let (mut mirror, now) = mirror(60.0, 0);
        free_answer(&mut mirror, now, 20);
        let (_, account) = start(&mut mirror, now);
        mirror.answered(account, Some(17));
        assert_near(mirror.fraction_of_pool(), 1.0 / 3.0);
        let (listed, list) = start(&mut mirror, now);
        assert_eq!(listed, now);
        mirror.answered(list, Some(14));
        assert_near(mirror.fraction_of_pool(), 1.0 / 3.0);
    }

    #[test]
    fn what_the_others_leave_of_the_refill_is_its_share() {
        // Two tokens a second; this client takes one, another client one every other
        // second, so the pool fills by half a token a second (whole tokens in answers).
        let (mut mirror, now) = mirror(120.0, 0);
        answer_each_second(&mut mirror, now, &[10, 11, 11, 12, 12, 13, 13, 14, 14, 15]);
        assert_near(mirror.others_spent(), 4.0);
        assert_near(mirror.tokens_per_second(), 1.5);
    }

    #[test]
    fn the_share_comes_back_once_the_others_stop() {
        let (mut mirror, now) = mirror(60.0, 0);
        answer_each_second(&mut mirror, now, &[30, 28, 26, 24, 22, 20]);
        assert!(mirror.tokens_per_second() < 0.5);
        let later = now + Duration::from_secs(6);
        answer_each_second(&mut mirror, later, &[20; FRACTION_SAMPLES]);
        assert_near(mirror.tokens_per_second(), 1.0);
    }

    #[test]
    fn what_the_pool_holds_is_shared_out_as_the_refill_is() {
        // Two clients alike: this one counts on half of the pool's 9 tokens.
        let (mut mirror, now) = mirror(60.0, 0);
        answer_each_second(
            &mut mirror,
            now,
            &[19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9],
        );
        assert_near(mirror.fraction_of_pool(), 0.5);
        let then = at(now, 10.0);
        let sent = starting_at_once(&mut mirror, then, 9);
        assert_eq!(sent, 4);
    }

    #[test]
    fn an_empty_pool_is_shared_by_waiting_for_its_share_of_the_refill() {
        // Three clients alike on an empty pool: it waits three intervals, not one.
        let (mut mirror, now) = mirror(60.0, 0);
        answer_each_second(&mut mirror, now, &THREE_DRAIN_IT);
        assert!(
            (mirror.fraction_of_pool() - 1.0 / 3.0).abs() < 0.05,
            "{}",
            mirror.fraction_of_pool()
        );
        let then = at(now, 6.0);
        let (next, _) = start(&mut mirror, then);
        let waited = secs(next - then);
        assert!((2.5..=3.5).contains(&waited), "{waited}");
    }

    #[test]
    fn a_client_counted_out_still_counts_on_a_floor() {
        // Fifteen times its own spending goes to others: it still counts on the floor.
        let (mut mirror, now) = mirror(60.0, 0);
        answer_each_second(&mut mirror, now, &[2000, 1984, 1968, 1952, 1936]);
        assert_eq!(mirror.fraction_of_pool(), FRACTION_FLOOR);
    }

    #[test]
    fn a_wait_with_old_news_probes_the_pool_first_once() {
        // Three clients share an empty pool; this one counts on a third of the refill.
        let (mut mirror, now) = mirror(60.0, 0);
        answer_each_second(&mut mirror, now, &THREE_DRAIN_IT);
        let last = at(now, 6.0);
        // Its next token is three intervals away; with no news for two, it asks the
        // pool, once at a time.
        let Ok(Asked::Wait(then)) = ask(&mut mirror, at(last, 1.0)) else {
            panic!("a probe with recent news");
        };
        assert_eq!(then, at(last, 2.0), "asks again when a probe is due");
        let Ok(Asked::Probe(probe)) = ask(&mut mirror, then) else {
            panic!("no probe after two intervals without news");
        };
        assert!(probe.is_probe());
        assert!(matches!(ask(&mut mirror, then), Ok(Asked::Wait(_))));
        // The pool is still empty: it waits on for its share, and probes no sooner
        // than two intervals after.
        mirror.answered(probe, Some(0));
        assert!(matches!(
            ask(&mut mirror, at(then, 1.9)),
            Ok(Asked::Wait(_))
        ));
    }

    #[test]
    fn an_unanswered_probe_is_not_repeated_at_once() {
        let (mut mirror, now) = mirror(60.0, 0);
        answer_each_second(&mut mirror, now, &THREE_DRAIN_IT);
        let then = at(now, 8.0);
        let Ok(Asked::Probe(probe)) = ask(&mut mirror, then) else {
            panic!("no probe before a long wait");
        };
        mirror.unanswered(probe);
        assert!(matches!(ask(&mut mirror, then), Ok(Asked::Wait(_))));
    }

    /// From `from` on, this client alone on a pool holding `pool`: every request and
    /// probe it makes answered at once, as the server would. When it sent each request
    /// before `until`, and what the pool held then.
    fn alone(
        mirror: &mut Mirror,
        from: Instant,
        mut pool: f64,
        until: Instant,
    ) -> (Vec<Instant>, f64) {
        let (mut now, mut sent) = (from, Vec::new());
        while now < until {
            match ask(mirror, now).unwrap() {
                Asked::Go(ticket) => {
                    pool -= 1.0;
                    sent.push(now);
                    mirror.answered(ticket, Some(pool.max(0.0).floor() as u32));
                }
                Asked::Probe(ticket) => {
                    mirror.answered(ticket, Some(pool.max(0.0).floor() as u32));
                }
                Asked::Wait(then) => {
                    let then = then.min(until);
                    pool += secs(then - now) * mirror.refill_per_second;
                    now = then;
                }
            }
        }
        (sent, pool)
    }

    #[test]
    fn once_the_others_stop_it_soon_takes_the_whole_refill() {
        // Three clients shared an empty pool; this one counted on a third of it.
        let (mut mirror, now) = mirror(60.0, 0);
        answer_each_second(&mut mirror, now, &THREE_DRAIN_IT);
        // The others stopped. Over the next twelve seconds the refill brings twelve
        // tokens: a third would be four; its probes show the pool filling, and it
        // takes nearly all of them, leaving a token or two.
        let last = at(now, 6.0);
        let (sent, left) = alone(&mut mirror, last, 0.0, at(last, 12.0));
        assert!(sent.len() >= 10, "{} sent, {left} left", sent.len());
        assert!(left < 2.0, "{} sent, {left} left", sent.len());
        assert_eq!(mirror.fraction_of_pool(), 1.0);
    }

    #[test]
    fn clients_all_waiting_at_once_do_not_each_take_the_pool_for_their_own() {
        // Sixteen clients alike drained the pool: each second the refill adds one, this
        // client takes one and the others fifteen.
        let (mut mirror, now) = mirror(60.0, 0);
        let drained: Vec<u32> = (0..17).map(|second| 240 - 15 * second).collect();
        answer_each_second(&mut mirror, now, &drained);
        assert_near(mirror.fraction_of_pool(), 1.0 / 16.0);
        // Then they all wait for their part of the refill, and the pool fills up: four
        // intervals of nobody spending do not make this client count it all its own.
        let last = at(now, 16.0);
        for (seconds, remaining) in [(2.0, 2), (4.0, 4)] {
            let Ok(Asked::Probe(probe)) = ask(&mut mirror, at(last, seconds)) else {
                panic!("no probe while waiting");
            };
            mirror.answered(probe, Some(remaining));
        }
        assert!(
            mirror.fraction_of_pool() < 0.1,
            "{}",
            mirror.fraction_of_pool()
        );
        assert!(matches!(
            ask(&mut mirror, at(last, 4.0)),
            Ok(Asked::Wait(_))
        ));
    }
}
