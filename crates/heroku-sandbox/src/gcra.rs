//! The rate-limit pool, as Heroku runs it: a GCRA limiter with a burst of `capacity`
//! requests and a continuous refill.
//!
//! A GCRA with burst `capacity` and emission interval `60 / refill_per_minute` admits
//! exactly the requests a bucket of `capacity` tokens refilled at `refill_per_minute`
//! admits. The bucket form is kept here because it also works for a refill of 0 (the
//! interval would be infinite) and reads off the whole tokens left directly, which is
//! what `RateLimit-Remaining` reports.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Pool {
    capacity: u32,
    /// Fractional: the refill trickles in between requests.
    tokens: f64,
    refill_per_second: f64,
    /// When `tokens` was last brought up to date, measured from the sandbox's start.
    updated: Duration,
}

impl Pool {
    /// A pool holding `remaining` tokens (at most `capacity`) at time zero.
    pub fn new(capacity: u32, remaining: u32, refill_per_minute: f64) -> Pool {
        Pool {
            capacity,
            tokens: f64::from(remaining.min(capacity)),
            refill_per_second: refill_per_minute.max(0.0) / 60.0,
            updated: Duration::ZERO,
        }
    }

    /// Takes one token at `now`: `Ok(whole tokens left)`, or `Err(whole tokens left)`
    /// (always 0) when the pool is empty and the request must be refused.
    pub fn take(&mut self, now: Duration) -> Result<u32, u32> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(self.whole())
        } else {
            Err(self.whole())
        }
    }

    /// Whole tokens left at `now`, taking none.
    pub fn remaining(&mut self, now: Duration) -> u32 {
        self.refill(now);
        self.whole()
    }

    #[cfg(any(test, feature = "test-hooks"))]
    /// Empties or fills the pool to `remaining` (at most `capacity`) at `now`.
    pub fn set_remaining(&mut self, remaining: u32, now: Duration) {
        self.refill(now);
        self.tokens = f64::from(remaining.min(self.capacity));
    }

    fn refill(&mut self, now: Duration) {
        // A clock read before the last update (two threads racing for the lock) adds nothing.
        let elapsed = now.saturating_sub(self.updated);
        self.updated = self.updated.max(now);
        let refilled = self.tokens + elapsed.as_secs_f64() * self.refill_per_second;
        self.tokens = refilled.min(f64::from(self.capacity));
    }

    fn whole(&self) -> u32 {
        // `tokens` lies in 0..=capacity, so the cast neither wraps nor saturates.
        self.tokens.floor() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn counts_down_then_refuses() {
        let mut pool = Pool::new(5, 5, 0.0);
        let taken: Vec<_> = (0..7).map(|_| pool.take(secs(0))).collect();
        assert_eq!(taken, [Ok(4), Ok(3), Ok(2), Ok(1), Ok(0), Err(0), Err(0)]);
    }

    #[test]
    fn starts_partly_empty_and_never_above_capacity() {
        assert_eq!(Pool::new(10, 3, 0.0).remaining(secs(0)), 3);
        assert_eq!(Pool::new(10, 99, 0.0).remaining(secs(0)), 10);
    }

    #[test]
    fn refills_continuously_at_the_rate() {
        // 60 a minute is one a second.
        let mut pool = Pool::new(100, 0, 60.0);
        assert_eq!(pool.take(secs(0)), Err(0));
        assert_eq!(pool.remaining(Duration::from_millis(999)), 0);
        assert_eq!(pool.take(secs(1)), Ok(0));
        assert_eq!(pool.remaining(secs(11)), 10);
        // Half a token carries over to the next read.
        assert_eq!(pool.remaining(Duration::from_millis(11_500)), 10);
        assert_eq!(pool.remaining(secs(12)), 11);
    }

    #[test]
    fn heroku_refill_takes_a_minute_for_75() {
        let mut pool = Pool::new(4500, 0, 75.0);
        assert_eq!(pool.remaining(secs(59)), 73);
        assert_eq!(pool.remaining(secs(60)), 75);
        assert_eq!(pool.remaining(secs(3600)), 4500);
    }

    #[test]
    fn refill_stops_at_capacity() {
        let mut pool = Pool::new(5, 4, 600.0);
        assert_eq!(pool.remaining(secs(60)), 5);
        assert_eq!(pool.take(secs(60)), Ok(4));
    }

    #[test]
    fn a_stale_clock_read_adds_nothing() {
        let mut pool = Pool::new(10, 0, 60.0);
        assert_eq!(pool.remaining(secs(5)), 5);
        assert_eq!(pool.remaining(secs(3)), 5);
        assert_eq!(pool.remaining(secs(6)), 6);
    }

    #[test]
    fn set_remaining_overrides_and_clamps() {
        let mut pool = Pool::new(10, 10, 0.0);
        pool.set_remaining(2, secs(1));
        assert_eq!(pool.take(secs(1)), Ok(1));
        pool.set_remaining(50, secs(1));
        assert_eq!(pool.remaining(secs(1)), 10);
    }

    #[test]
    fn an_empty_pool_of_zero_capacity_refuses_everything() {
        let mut pool = Pool::new(0, 0, 75.0);
        assert_eq!(pool.take(secs(600)), Err(0));
    }
}
