//! One rate throttle per client, shared by every request in flight.
//!
//! Two rules decide when a request may start, and the later one wins:
//!
//! - A mirror of the server's pool. Heroku refills a GCRA pool at a known rate and
//!   reports what is left in `RateLimit-Remaining`; from the last answer, the requests
//!   sent since and the time passed, the client knows how many tokens the pool holds
//!   now. It sends while there is one, and when there is none it waits until the refill
//!   makes one for it. Other clients of the account spend from the same pool: the drop
//!   between two of this client's answers, less its own requests in between, is what
//!   they spent. So when the pool is empty this client counts only its share of the
//!   refill: what the others leave of it, or, when they take it all, the part in
//!   proportion to its own spending. Every client doing the same, together they take
//!   about the refill, and none waits while the pool holds tokens. `--reserve-rate-limit`
//!   is a floor on the same estimate: the client stops rather than take the pool below it.
//! - The platform-api gem's strategy (DESIGN.md), for what the mirror still misses: one
//!   sleep value, starting at 0; on a 429 add the minimum sleep (one refill interval)
//!   and grow it by 1.2 while 429s continue; after a success lower it by
//!   `value * RateLimit-Remaining / pool`. The value spaces the starts of all requests,
//!   so parallel deletes share it as one client. Once an answer shows tokens left, the
//!   value drops to one refill interval at most, and the mirror paces the rest: the gem
//!   lowers it in proportion to a pool of 4,500, so slowly that, on a nearly empty pool,
//!   it would keep a client waiting while the pool refills unused.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// The pure state: when may the next request start?
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
    /// When the last counted request was booked to start (the queue's end).
    queue_end: Instant,
    /// Counted requests booked so far: a ticket's `sequence` says how many came after it.
    booked: u64,
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
    /// The running totals at the latest answers, to measure rates from.
    spend: VecDeque<Spend>,
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
/// How many recent answers measure the share: enough to smooth out `RateLimit-Remaining`
/// counting whole tokens, few enough to follow clients that come and go.
const SHARE_SAMPLES: usize = 7;
/// The share is measured over at least this many refill intervals.
const SHARE_MIN_SPAN: f64 = 2.0;
/// However many clients spend from the pool, this client counts on at least this part
/// of the refill: the estimate of the others' spending is only an estimate.
const SHARE_FLOOR: f64 = 1.0 / 32.0;

/// What one answer said: the pool after the server took (or refused) this request.
#[derive(Debug, Clone, Copy)]
struct Answer {
    sequence: u64,
    at: Instant,
    remaining: u32,
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
}

impl Pacer {
    pub fn new(refill_per_minute: f64, pool: u32, reserve: u32, now: Instant) -> Pacer {
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
            queue_end: now,
            booked: 0,
            unanswered: BTreeSet::new(),
            remaining: None,
            refused: 0,
            latest: None,
            others_spent: 0.0,
            mine_spent: 0.0,
            spend: VecDeque::new(),
        }
    }

    /// Tokens the other clients of the account spent since this client's first answers,
    /// as far as the answers tell: it grows when another reaper (or a test suite) is at
    /// work on the same account.
    pub fn others_spent(&self) -> f64 {
        self.others_spent
    }

    /// Tokens a second spent by the other clients and by this one, over the latest
    /// answers; `None` until they span a few refill intervals.
    fn rates(&self) -> Option<(f64, f64)> {
        let (first, last) = (self.spend.front()?, self.spend.back()?);
        let span = last.at.saturating_duration_since(first.at).as_secs_f64();
        if span * self.refill_per_second < SHARE_MIN_SPAN {
            return None;
        }
        let others = (last.others - first.others).max(0.0) / span;
        let mine = (last.mine - first.mine).max(0.0) / span;
        Some((others, mine))
    }

    /// Tokens a second this client counts on from the refill: what the other clients
    /// leave of it while the pool fills, the part in proportion to this client's own
    /// spending while it drains (the larger of the two either way). Alone, the whole
    /// refill. On an empty pool the two agree: together the clients take the refill.
    pub fn share(&self) -> f64 {
        let refill = self.refill_per_second;
        let Some((others, mine)) = self.rates() else {
            return refill;
        };
        let left = refill - others;
        let proportional = if mine + others > 0.0 {
            refill * mine / (mine + others)
        } else {
            refill
        };
        left.max(proportional).max(refill * SHARE_FLOOR)
    }

    /// The current spacing between request starts.
    pub fn sleep(&self) -> Duration {
        Duration::from_secs_f64(self.sleep)
    }

    /// The last `RateLimit-Remaining` seen.
    pub fn remaining(&self) -> Option<u32> {
        self.remaining
    }

    /// The pool's estimated tokens for this client at `at` (no earlier than the last
    /// booking), once an answer has told anything. Each recent answer bounds it: what
    /// was left then, plus this client's share of the refill since, minus this client's
    /// requests that may have reached the server after it (those sent after it, and
    /// those sent before it but still unanswered, since parallel connections overtake
    /// each other). The lowest bound wins, so the estimate errs low, and rises back as
    /// the unanswered ones answer.
    fn tokens(&self, at: Instant) -> Option<f64> {
        let share = self.share();
        self.answers
            .iter()
            .map(|answer| {
                let refilled = at.saturating_duration_since(answer.at).as_secs_f64() * share;
                let later = (self.booked - answer.sequence) as f64
                    + self.unanswered.range(..answer.sequence).count() as f64;
                (f64::from(answer.remaining) + refilled).min(self.pool) - later
            })
            .min_by(f64::total_cmp)
    }

    /// Books the next start at or after `now`; `jitter` in `[0, 1)` adds up to 10% to the
    /// gem's spacing. A request that takes a token is refused when it would take the
    /// pool below the reserve.
    pub fn book(
        &mut self,
        now: Instant,
        jitter: f64,
        counted: bool,
    ) -> Result<(Instant, Ticket), ReserveReached> {
        let mut at = now;
        if counted {
            // Requests already booked for later (an empty pool) go first.
            let queue_end = now.max(self.queue_end);
            if let Some(tokens) = self.tokens(queue_end) {
                if self.reserve > 0 && tokens - 1.0 < f64::from(self.reserve) {
                    return Err(ReserveReached {
                        remaining: tokens.max(0.0).floor() as u32,
                        reserve: self.reserve,
                    });
                }
                if tokens < 1.0 {
                    at = queue_end + Duration::from_secs_f64((1.0 - tokens) / self.share());
                }
            }
            let gap = Duration::from_secs_f64(self.sleep * (1.0 + 0.1 * jitter.clamp(0.0, 1.0)));
            if let Some(last) = self.last_start {
                at = at.max(last + gap);
            }
            self.last_start = Some(at);
            self.queue_end = self.queue_end.max(at);
            self.booked += 1;
            self.unanswered.insert(self.booked);
        }
        let ticket = Ticket {
            epoch: self.epoch,
            sequence: self.booked,
            at,
            counted,
        };
        Ok((at, ticket))
    }

    /// An answer with its `RateLimit-Remaining`: the pool as the server saw it when it
    /// took (or, for a 429 or a free request, did not take) this request's token.
    fn resync(&mut self, ticket: Ticket, remaining: u32) {
        self.unanswered.remove(&ticket.sequence);
        self.remaining = Some(remaining);
        let answer = Answer {
            sequence: ticket.sequence,
            at: ticket.at,
            remaining,
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

    /// Compares an answer with the latest one before it: the pool then, plus the refill
    /// in between (the pool holds no more than its size), less the pool now and less
    /// this client's requests in between, is what the other clients spent.
    fn measure_spend(&mut self, answer: Answer) {
        let Some(latest) = self.latest else {
            self.latest = Some(answer);
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
        if self.spend.len() == SHARE_SAMPLES {
            self.spend.pop_front();
        }
        self.spend.push_back(Spend {
            at: answer.at,
            others: self.others_spent,
            mine: self.mine_spent,
        });
    }

    /// No answer came (a timeout, a reset): the request may or may not have taken a token.
    pub fn unanswered(&mut self, ticket: Ticket) {
        // Leaving it counted as taken errs on the safe side.
        self.unanswered.remove(&ticket.sequence);
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

    /// Any other answer: speed up in proportion to what is left in the pool.
    pub fn answered(&mut self, ticket: Ticket, remaining: Option<u32>) {
        let Some(remaining) = remaining else {
            self.unanswered.remove(&ticket.sequence);
            return;
        };
        self.resync(ticket, remaining);
        if ticket.counted {
            self.streak = 0;
            let fraction = (f64::from(remaining) / self.pool).min(1.0);
            self.sleep = (self.sleep - self.sleep * fraction).max(0.0);
            if remaining > 0 {
                self.sleep = self.sleep.min(self.min_sleep);
            }
        }
    }
}

/// The pacer behind a lock, for requests running in parallel.
#[derive(Debug)]
pub struct Throttle {
    pacer: Mutex<Pacer>,
}

impl Throttle {
    pub fn new(refill_per_minute: f64, reserve: u32) -> Throttle {
        let pacer = Pacer::new(refill_per_minute, HEROKU_POOL, reserve, Instant::now());
        Throttle {
            pacer: Mutex::new(pacer),
        }
    }

    /// Waits for this request's turn, or refuses it at the reserve. The estimate errs low
    /// while requests are in flight, so the run stops a little above the reserve rather
    /// than ever below it.
    pub async fn turn(&self, counted: bool) -> Result<Ticket, ReserveReached> {
        let (at, ticket) = self.lock().book(Instant::now(), fastrand::f64(), counted)?;
        tokio::time::sleep_until(at.into()).await;
        Ok(ticket)
    }

    pub fn rate_limited(&self, ticket: Ticket) {
        self.lock().rate_limited(ticket);
    }

    pub fn answered(&self, ticket: Ticket, remaining: Option<u32>) {
        self.lock().answered(ticket, remaining);
    }

    pub fn unanswered(&self, ticket: Ticket) {
        self.lock().unanswered(ticket);
    }

    pub fn remaining(&self) -> Option<u32> {
        self.lock().remaining()
    }

    pub fn others_spent(&self) -> f64 {
        self.lock().others_spent()
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

    fn pacer(refill_per_minute: f64, reserve: u32) -> (Pacer, Instant) {
        let now = Instant::now();
        (Pacer::new(refill_per_minute, 4500, reserve, now), now)
    }

    fn book(pacer: &mut Pacer, now: Instant) -> (Instant, Ticket) {
        pacer.book(now, 0.0, true).unwrap()
    }

    #[test]
    fn starts_without_sleeping() {
        let (mut pacer, now) = pacer(75.0, 0);
        assert_eq!(book(&mut pacer, now).0, now);
        assert_eq!(book(&mut pacer, now).0, now);
    }

    #[test]
    fn a_429_adds_the_minimum_sleep_then_grows_by_a_fifth() {
        let (mut pacer, now) = pacer(75.0, 0);
        let (_, ticket) = book(&mut pacer, now);
        pacer.rate_limited(ticket);
        assert!((secs(pacer.sleep()) - 0.8).abs() < 1e-9);
        let (_, ticket) = book(&mut pacer, now);
        pacer.rate_limited(ticket);
        assert!((secs(pacer.sleep()) - 1.6 * 1.2).abs() < 1e-9);
        assert_eq!(pacer.remaining(), Some(0));
    }

    #[test]
    fn parallel_429s_from_one_wave_adjust_once() {
        let (mut pacer, now) = pacer(75.0, 0);
        let tickets: Vec<_> = (0..8).map(|_| book(&mut pacer, now).1).collect();
        for ticket in tickets {
            pacer.rate_limited(ticket);
        }
        assert!((secs(pacer.sleep()) - 0.8).abs() < 1e-9);
    }

    #[test]
    fn successes_lower_the_sleep_in_proportion_to_the_pool_left() {
        let (mut pacer, now) = pacer(75.0, 0);
        let (_, ticket) = book(&mut pacer, now);
        pacer.rate_limited(ticket);
        let (_, ticket) = book(&mut pacer, now);
        pacer.answered(ticket, Some(2250));
        assert!((secs(pacer.sleep()) - 0.4).abs() < 1e-9);
        let (_, ticket) = book(&mut pacer, now);
        pacer.answered(ticket, Some(4500));
        assert_eq!(pacer.sleep(), Duration::ZERO);
    }

    #[test]
    fn the_sleep_is_capped() {
        let (mut pacer, now) = pacer(1.0, 0);
        for _ in 0..10 {
            let (_, ticket) = book(&mut pacer, now);
            pacer.rate_limited(ticket);
        }
        assert_eq!(secs(pacer.sleep()), MAX_SLEEP);
    }

    #[test]
    fn never_books_more_than_the_pool_holds_then_paces_at_the_refill() {
        // 60 a minute: one token a second.
        let (mut pacer, now) = pacer(60.0, 0);
        let (_, free) = pacer.book(now, 0.0, false).unwrap();
        pacer.answered(free, Some(3));
        let starts: Vec<f64> = (0..6)
            .map(|_| secs(book(&mut pacer, now).0 - now))
            .collect();
        let expected = [0.0, 0.0, 0.0, 1.0, 2.0, 3.0];
        for (start, expected) in starts.iter().zip(expected) {
            assert!((start - expected).abs() < 1e-6, "{starts:?}");
        }
    }

    #[test]
    fn answers_resync_the_mirror_erring_low() {
        let (mut pacer, now) = pacer(60.0, 0);
        let (_, free) = pacer.book(now, 0.0, false).unwrap();
        pacer.answered(free, Some(10));
        let tickets: Vec<Ticket> = (0..4).map(|_| book(&mut pacer, now).1).collect();
        assert_eq!(pacer.tokens(now).map(f64::round), Some(6.0));
        // Another client took 3 tokens, and our fourth request may have overtaken the
        // three before it: the estimate counts those as still to come.
        pacer.answered(tickets[3], Some(3));
        assert_eq!(pacer.tokens(now).map(f64::round), Some(0.0));
        // As they answer, it rises back to what the server says.
        pacer.answered(tickets[0], Some(6));
        assert_eq!(pacer.tokens(now).map(f64::round), Some(1.0));
        pacer.answered(tickets[1], Some(5));
        pacer.answered(tickets[2], Some(4));
        assert_eq!(pacer.tokens(now).map(f64::round), Some(3.0));
        // Had the third overtaken the fourth, its lower answer would bound it lower.
        let (_, fifth) = book(&mut pacer, now);
        pacer.answered(fifth, Some(1));
        assert_eq!(pacer.tokens(now).map(f64::round), Some(1.0));
        // Time refills it.
        let later = now + Duration::from_secs(2);
        assert_eq!(pacer.tokens(later).map(f64::round), Some(3.0));
    }

    #[test]
    fn the_reserve_is_never_crossed() {
        let (mut pacer, now) = pacer(60.0, 15);
        let (_, free) = pacer.book(now, 0.0, false).unwrap();
        pacer.answered(free, Some(20));
        let allowed = (0..10)
            .filter(|_| pacer.book(now, 0.0, true).is_ok())
            .count();
        assert_eq!(allowed, 5);
        assert_eq!(
            pacer.book(now, 0.0, true).unwrap_err(),
            ReserveReached {
                remaining: 15,
                reserve: 15
            }
        );
        // Free requests still go.
        assert!(pacer.book(now, 0.0, false).is_ok());
    }

    #[test]
    fn a_429_gives_back_its_token() {
        let (mut pacer, now) = pacer(60.0, 0);
        let (_, free) = pacer.book(now, 0.0, false).unwrap();
        pacer.answered(free, Some(1));
        let (_, ticket) = book(&mut pacer, now);
        pacer.rate_limited(ticket);
        // The pool was empty when the server saw it; the retry waits for a refill.
        let (retry, _) = book(&mut pacer, now);
        assert!(secs(retry - now) >= 0.99, "{}", secs(retry - now));
    }

    /// One request a second from `start`, answered with each `RateLimit-Remaining` in turn.
    fn answer_each_second(pacer: &mut Pacer, start: Instant, remaining: &[u32]) {
        for (second, &remaining) in remaining.iter().enumerate() {
            let at = start + Duration::from_secs(second as u64);
            let (booked, ticket) = book(pacer, at);
            assert_eq!(booked, at, "the pool held a token for it");
            pacer.answered(ticket, Some(remaining));
        }
    }

    #[test]
    fn alone_its_share_is_the_whole_refill() {
        // 60 a minute: one token a second. Each answer is one lower than the last
        // plus the refill: only this client's own request.
        let (mut pacer, now) = pacer(60.0, 0);
        answer_each_second(&mut pacer, now, &[30, 30, 30, 30, 30, 30]);
        assert!(
            pacer.others_spent().abs() < 1e-9,
            "{}",
            pacer.others_spent()
        );
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
        assert!(
            (pacer.share() - 1.0 / 3.0).abs() < 1e-9,
            "{}",
            pacer.share()
        );
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
    fn an_empty_pool_is_shared_by_waiting_for_its_share_of_the_refill() {
        // Three clients alike on an empty pool: it waits three intervals, not one.
        let (mut pacer, now) = pacer(60.0, 0);
        answer_each_second(&mut pacer, now, &[6, 4, 2, 0]);
        let then = now + Duration::from_secs(3);
        let (next, _) = book(&mut pacer, then);
        assert!(
            (secs(next - then) - 3.0).abs() < 1e-6,
            "{}",
            secs(next - then)
        );
    }

    #[test]
    fn an_answer_showing_tokens_left_is_believed_once_older_ones_are_past_overlapping() {
        // Three clients shared an empty pool; this one counts on a third of the refill.
        let (mut pacer, now) = pacer(60.0, 0);
        answer_each_second(&mut pacer, now, &[6, 4, 2, 0]);
        assert!(pacer.share() < 0.5, "{}", pacer.share());
        // The others stopped. The next request waited for its share; its answer shows
        // the pool at 3, more than that share of the refill since the empty one.
        let (first, ticket) = book(&mut pacer, now + Duration::from_secs(5));
        pacer.answered(ticket, Some(3));
        assert_eq!(pacer.tokens(first).map(f64::round), Some(3.0));
        let (start, _) = book(&mut pacer, first);
        assert_eq!(start, first, "no wait with tokens left");
    }

    #[test]
    fn tokens_left_cut_a_long_gem_sleep_to_one_interval() {
        let (mut pacer, now) = pacer(60.0, 0);
        for _ in 0..6 {
            let (_, ticket) = book(&mut pacer, now);
            pacer.rate_limited(ticket);
        }
        assert!(secs(pacer.sleep()) > 5.0);
        // The pool has refilled to 17: spacing requests seconds apart would waste it.
        let (_, ticket) = book(&mut pacer, now);
        pacer.answered(ticket, Some(17));
        assert!(secs(pacer.sleep()) <= 1.0 + 1e-9, "{}", secs(pacer.sleep()));
    }
}
