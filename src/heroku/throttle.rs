//! One rate throttle per client, shared by every request in flight.
//!
//! The platform-api gem's strategy (DESIGN.md): keep one sleep value, starting at 0;
//! on a 429 add the minimum sleep (one refill interval) and grow it by 1.2 while 429s
//! continue; after a success lower it by `value * RateLimit-Remaining / pool`. Here the
//! value spaces the starts of all requests, so parallel deletes share it as one client.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Heroku's pool per account.
pub const HEROKU_POOL: u32 = 4_500;
/// Heroku refills about 75 requests a minute.
pub const HEROKU_REFILL_PER_MINUTE: f64 = 75.0;
/// Beyond this the throttle stops growing: a minute between requests already means
/// another client is draining the pool.
const MAX_SLEEP: f64 = 60.0;

/// The pure state: when may the next request start?
#[derive(Debug, Clone)]
pub struct Pacer {
    sleep: f64,
    min_sleep: f64,
    pool: f64,
    last_start: Option<Instant>,
    /// Bumped on every 429 adjustment, so one wave of parallel 429s adjusts once.
    epoch: u64,
    streak: u32,
    remaining: Option<u32>,
}

/// Handed to each request when it may start; given back with its outcome.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    epoch: u64,
}

impl Pacer {
    pub fn new(refill_per_minute: f64, pool: u32) -> Pacer {
        Pacer {
            sleep: 0.0,
            min_sleep: 60.0 / refill_per_minute.max(f64::MIN_POSITIVE),
            pool: f64::from(pool.max(1)),
            last_start: None,
            epoch: 0,
            streak: 0,
            remaining: None,
        }
    }

    /// The current spacing between request starts.
    pub fn sleep(&self) -> Duration {
        Duration::from_secs_f64(self.sleep)
    }

    /// The last `RateLimit-Remaining` seen.
    pub fn remaining(&self) -> Option<u32> {
        self.remaining
    }

    /// Books the next start at or after `now`; `jitter` in `[0, 1)` adds up to 10%.
    pub fn book(&mut self, now: Instant, jitter: f64) -> (Instant, Ticket) {
        let gap = Duration::from_secs_f64(self.sleep * (1.0 + 0.1 * jitter.clamp(0.0, 1.0)));
        let at = match self.last_start {
            Some(last) => (last + gap).max(now),
            None => now + gap,
        };
        self.last_start = Some(at);
        (at, Ticket { epoch: self.epoch })
    }

    /// A 429: slow down, once per wave of requests sent at the old pace.
    pub fn rate_limited(&mut self, ticket: Ticket) {
        self.remaining = Some(0);
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
    pub fn answered(&mut self, remaining: Option<u32>) {
        self.streak = 0;
        if let Some(remaining) = remaining {
            self.remaining = Some(remaining);
            let fraction = (f64::from(remaining) / self.pool).min(1.0);
            self.sleep = (self.sleep - self.sleep * fraction).max(0.0);
        }
    }
}

/// The pacer behind a lock, for requests running in parallel.
#[derive(Debug)]
pub struct Throttle {
    pacer: Mutex<Pacer>,
}

impl Throttle {
    pub fn new(refill_per_minute: f64) -> Throttle {
        Throttle {
            pacer: Mutex::new(Pacer::new(refill_per_minute, HEROKU_POOL)),
        }
    }

    /// Waits for this request's turn.
    pub async fn turn(&self) -> Ticket {
        let (at, ticket) = self.lock().book(Instant::now(), fastrand::f64());
        tokio::time::sleep_until(at.into()).await;
        ticket
    }

    pub fn rate_limited(&self, ticket: Ticket) {
        self.lock().rate_limited(ticket);
    }

    pub fn answered(&self, remaining: Option<u32>) {
        self.lock().answered(remaining);
    }

    pub fn remaining(&self) -> Option<u32> {
        self.lock().remaining()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pacer> {
        // A panic elsewhere cannot leave the pacer half-updated: every update is one assignment.
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

    #[test]
    fn starts_without_sleeping() {
        let mut pacer = Pacer::new(75.0, 4500);
        let now = Instant::now();
        let (first, _) = pacer.book(now, 0.5);
        let (second, _) = pacer.book(now, 0.5);
        assert_eq!((first, second), (now, now));
    }

    #[test]
    fn a_429_adds_the_minimum_sleep_then_grows_by_a_fifth() {
        let mut pacer = Pacer::new(75.0, 4500);
        let now = Instant::now();
        let (_, ticket) = pacer.book(now, 0.0);
        pacer.rate_limited(ticket);
        assert!((secs(pacer.sleep()) - 0.8).abs() < 1e-9);
        let (_, ticket) = pacer.book(now, 0.0);
        pacer.rate_limited(ticket);
        assert!((secs(pacer.sleep()) - 1.6 * 1.2).abs() < 1e-9);
        assert_eq!(pacer.remaining(), Some(0));
    }

    #[test]
    fn parallel_429s_from_one_wave_adjust_once() {
        let mut pacer = Pacer::new(75.0, 4500);
        let now = Instant::now();
        let tickets: Vec<_> = (0..8).map(|_| pacer.book(now, 0.0).1).collect();
        for ticket in tickets {
            pacer.rate_limited(ticket);
        }
        assert!((secs(pacer.sleep()) - 0.8).abs() < 1e-9);
    }

    #[test]
    fn successes_lower_the_sleep_in_proportion_to_the_pool_left() {
        let mut pacer = Pacer::new(75.0, 4500);
        let (_, ticket) = pacer.book(Instant::now(), 0.0);
        pacer.rate_limited(ticket);
        pacer.answered(Some(2250));
        assert!((secs(pacer.sleep()) - 0.4).abs() < 1e-9);
        pacer.answered(Some(4500));
        assert_eq!(pacer.sleep(), Duration::ZERO);
    }

    #[test]
    fn spaces_starts_by_the_sleep_with_at_most_ten_percent_jitter() {
        let mut pacer = Pacer::new(60.0, 4500);
        let now = Instant::now();
        let (_, ticket) = pacer.book(now, 0.0);
        pacer.rate_limited(ticket);
        let (a, _) = pacer.book(now, 0.0);
        let (b, _) = pacer.book(now, 0.999);
        let gap = secs(b - a);
        assert!((1.0..1.1).contains(&gap), "{gap}");
    }

    #[test]
    fn the_sleep_is_capped() {
        let mut pacer = Pacer::new(1.0, 4500);
        for _ in 0..10 {
            let (_, ticket) = pacer.book(Instant::now(), 0.0);
            pacer.rate_limited(ticket);
        }
        assert_eq!(secs(pacer.sleep()), MAX_SLEEP);
    }
}
