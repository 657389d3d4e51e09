//! One rate throttle per client, shared by every request in flight, deciding when a
//! request may start by two rules, the later one winning: a mirror of the account's
//! rate-limit pool (`pool`), from which this client counts on its fraction (what the
//! other clients of the account leave it) and which holds `--reserve-rate-limit`'s
//! floor, and the platform-api gem's backoff on 429 (`backoff`). docs/design.md ("The
//! rate limit, shared") says how and why.

mod backoff;
mod pool;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use backoff::Backoff;
pub use pool::ReserveReached;
use pool::{Mirror, Request, Verdict};

/// Heroku's pool per account.
pub const HEROKU_POOL: u32 = 4_500;
/// Heroku refills about 75 requests a minute.
pub const HEROKU_REFILL_PER_MINUTE: f64 = 75.0;
/// A wait this many refill intervals long is worth a line in the debug log.
const LONG_WAIT: f64 = 8.0;

/// The pure state: may a request start now? Asks both rules, and the later wins.
#[derive(Debug, Clone)]
pub struct Pacer {
    pool: Mirror,
    backoff: Backoff,
}

/// Handed to each request when it may start; given back with its outcome.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    /// The backoff's wave it started in.
    epoch: u64,
    request: Request,
}

impl Ticket {
    /// Send `GET /account/rate-limits` with it, and then ask for a turn again.
    pub fn is_probe(&self) -> bool {
        self.request.is_probe()
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
        let pool = Mirror::new(refill_per_minute, pool, reserve);
        Pacer {
            backoff: Backoff::new(pool.refill_interval()),
            pool,
        }
    }

    /// May a request start at `now`? `jitter` in `[0, 1)` adds up to 10% to the gem's
    /// spacing and spreads the probes. A request that takes a token is refused when it
    /// would take the pool below the reserve, and waits while this client's fraction of
    /// the pool holds no token.
    pub fn turn(
        &mut self,
        now: Instant,
        jitter: f64,
        counted: bool,
    ) -> Result<Turn, ReserveReached> {
        if !counted {
            return Ok(Turn::Go(self.ticket(self.pool.free(now))));
        }
        let at = match self.pool.when(now, jitter)? {
            Verdict::Probe(probe) => return Ok(Turn::Probe(self.ticket(probe))),
            Verdict::NotBefore(at) => at,
        };
        let at = self.backoff.earliest(jitter).map_or(at, |gem| at.max(gem));
        if at > now {
            return Ok(Turn::Wait(at));
        }
        self.backoff.started(now);
        let request = self.pool.started(now, jitter);
        Ok(Turn::Go(self.ticket(request)))
    }

    fn ticket(&self, request: Request) -> Ticket {
        Ticket {
            epoch: self.backoff.epoch(),
            request,
        }
    }

    /// A 429: the pool showed no token, and the gem's pause grows.
    pub fn rate_limited(&mut self, ticket: Ticket) {
        self.pool.rate_limited(ticket.request);
        self.backoff.rate_limited(ticket.epoch);
    }

    /// Any other answer. Once it shows tokens left, the mirror paces the requests: the
    /// gem's spacing, meant for an empty pool, would keep them apart while it refills.
    pub fn answered(&mut self, ticket: Ticket, remaining: Option<u32>) {
        self.pool.answered(ticket.request, remaining);
        if let Some(remaining) = remaining {
            self.backoff.answered(ticket.request.counted(), remaining);
        }
    }

    /// No answer came (a timeout, a reset): the request may or may not have taken a token.
    pub fn unanswered(&mut self, ticket: Ticket) {
        self.pool.unanswered(ticket.request);
    }

    /// The last `RateLimit-Remaining` seen.
    pub fn remaining(&self) -> Option<u32> {
        self.pool.remaining()
    }

    /// Tokens the other clients of the account spent since this client's first answer.
    pub fn others_spent(&self) -> f64 {
        self.pool.others_spent()
    }

    /// The fraction of the pool and of its refill this client counts on.
    pub fn fraction_of_pool(&self) -> f64 {
        self.pool.fraction_of_pool()
    }

    /// Tokens a second this client counts on from the refill.
    pub fn tokens_per_second(&self) -> f64 {
        self.pool.tokens_per_second()
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
                let long = Duration::from_secs_f64(pacer.pool.refill_interval() * LONG_WAIT);
                if until > now + long {
                    tracing::debug!(
                        wait = ?until - now,
                        fraction_of_pool = pacer.pool.fraction_of_pool(),
                        tokens = pacer.pool.tokens(now),
                        sleep = ?pacer.backoff.sleep(),
                        in_flight = pacer.pool.in_flight(),
                        probing = pacer.pool.probing(),
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

    /// The fraction of the pool this client counts on, for the debug log.
    pub fn fraction_of_pool(&self) -> f64 {
        self.lock().fraction_of_pool()
    }

    pub fn tokens_per_second(&self) -> f64 {
        self.lock().tokens_per_second()
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

    #[tokio::test]
    async fn a_request_dropped_before_its_answer_is_not_waited_for() {
        let throttle = Throttle::new(HEROKU_REFILL_PER_MINUTE, 0);
        let held = throttle.turn(true).await.unwrap();
        assert_eq!(throttle.lock().pool.in_flight(), 1);
        // An abandoned listing drops its request mid-flight.
        drop(held);
        assert_eq!(throttle.lock().pool.in_flight(), 0);
        let answered = throttle.turn(true).await.unwrap();
        answered.answered(Some(4_000));
        assert_eq!(throttle.lock().pool.in_flight(), 0);
    }

    fn pacer(refill_per_minute: f64) -> (Pacer, Instant) {
        (Pacer::new(refill_per_minute, 4500, 0), Instant::now())
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

    #[test]
    fn starts_without_sleeping() {
        let (mut pacer, now) = pacer(75.0);
        assert_eq!(start(&mut pacer, now).0, now);
        assert_eq!(start(&mut pacer, now).0, now);
    }

    #[test]
    fn after_a_429_the_gem_spaces_the_starts_while_the_pool_shows_no_token() {
        let (mut pacer, now) = pacer(75.0);
        let (_, ticket) = start(&mut pacer, now);
        pacer.rate_limited(ticket);
        // The mirror sees an empty pool, and waits for this client's floor of the
        // refill; the gem's pause of 0.8 s comes on top of no start before it.
        let (first, ticket) = start(&mut pacer, now);
        assert!(first > now, "the retry went at once");
        pacer.answered(ticket, Some(0));
        let (second, _) = start(&mut pacer, first);
        let apart = (second - first).as_secs_f64();
        assert!(apart >= 0.8, "{apart}");
    }

    #[test]
    fn at_the_reserve_counted_requests_are_refused_and_free_ones_still_go() {
        let (mut pacer, now) = (Pacer::new(60.0, 4500, 15), Instant::now());
        let Ok(Turn::Go(free)) = pacer.turn(now, 0.0, false) else {
            panic!("free requests never wait");
        };
        pacer.answered(free, Some(15));
        let refused = pacer.turn(now, 0.0, true);
        assert!(
            matches!(refused, Err(ReserveReached { reserve: 15, .. })),
            "{refused:?}"
        );
        assert!(matches!(pacer.turn(now, 0.0, false), Ok(Turn::Go(_))));
    }

    #[test]
    fn a_long_gem_sleep_ends_as_soon_as_the_pool_shows_tokens() {
        let (mut pacer, now) = pacer(60.0);
        for _ in 0..6 {
            let (_, ticket) = start(&mut pacer, now);
            pacer.rate_limited(ticket);
        }
        assert!(pacer.backoff.sleep() > Duration::from_secs(5));
        // The pool has refilled to 17: spacing requests seconds apart would waste it.
        let (then, ticket) = start(&mut pacer, now);
        pacer.answered(ticket, Some(17));
        assert_eq!(start(&mut pacer, then).0, then);
        assert_eq!(start(&mut pacer, then).0, then);
    }
}
