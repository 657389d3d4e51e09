//! The throttle's second rule, the platform-api gem's backoff: one pause between the
//! starts of all requests, 0 at first; a 429 adds one refill interval, and while 429s
//! go on the pause grows by a fifth. The gem lowers it slowly after each success; here
//! an answer that shows tokens left ends it, and the mirror of the pool (`pool`) paces
//! from there. docs/design.md ("The gem's backoff") says why.

use std::time::{Duration, Instant};

/// Beyond this many seconds the pause stops growing: a minute between requests already
/// means another client is draining the pool.
const MAX_SLEEP: f64 = 60.0;

#[derive(Debug, Clone)]
pub struct Backoff {
    /// The pause between request starts, in seconds.
    sleep: f64,
    /// What a 429 adds: one refill interval, in seconds.
    min_sleep: f64,
    last_start: Option<Instant>,
    /// Bumped on every 429 adjustment, so one wave of parallel 429s adjusts once.
    epoch: u64,
    /// 429s in a row.
    streak: u32,
}

impl Backoff {
    /// A backoff whose 429 adds `min_sleep` seconds, one refill interval.
    pub fn new(min_sleep: f64) -> Backoff {
        Backoff {
            sleep: 0.0,
            min_sleep,
            last_start: None,
            epoch: 0,
            streak: 0,
        }
    }

    /// The pause between request starts.
    pub fn sleep(&self) -> Duration {
        Duration::from_secs_f64(self.sleep)
    }

    /// Which wave of requests one starting now belongs to: its 429 adjusts the pause
    /// only while no other 429 of the wave has.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The earliest a request may start: the pause after the latest start, plus up to
    /// 10% (`jitter` in `[0, 1)`). `None` before the first start.
    pub fn earliest(&self, jitter: f64) -> Option<Instant> {
        let gap = Duration::from_secs_f64(self.sleep * (1.0 + 0.1 * jitter.clamp(0.0, 1.0)));
        self.last_start.map(|last| last + gap)
    }

    /// A request starts at `now`.
    pub fn started(&mut self, now: Instant) {
        self.last_start = Some(now);
    }

    /// A 429 to a request of wave `epoch`: slow down, once per wave of requests sent at
    /// the old pace.
    pub fn rate_limited(&mut self, epoch: u64) {
        if epoch != self.epoch {
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

    /// Any other answer, showing `remaining` tokens: a counted request's ends the streak
    /// of 429s, and one with tokens left ends the pause (the mirror paces from there).
    pub fn answered(&mut self, counted: bool, remaining: u32) {
        if counted {
            self.streak = 0;
        }
        if remaining > 0 {
            self.sleep = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 75 a minute: a 429 adds 0.8 s.
    const MIN_SLEEP: f64 = 0.8;

    fn secs(backoff: &Backoff) -> f64 {
        backoff.sleep().as_secs_f64()
    }

    #[test]
    fn it_starts_without_a_pause() {
        let mut backoff = Backoff::new(MIN_SLEEP);
        assert_eq!(backoff.earliest(0.0), None);
        let now = Instant::now();
        backoff.started(now);
        assert_eq!(backoff.earliest(0.9), Some(now));
    }

    #[test]
    fn a_429_adds_the_minimum_sleep_then_grows_by_a_fifth() {
        let mut backoff = Backoff::new(MIN_SLEEP);
        backoff.rate_limited(backoff.epoch());
        assert!((secs(&backoff) - 0.8).abs() < 1e-9);
        backoff.rate_limited(backoff.epoch());
        assert!((secs(&backoff) - 1.6 * 1.2).abs() < 1e-9);
        // The pause spaces the starts, with up to a tenth more at random.
        let now = Instant::now();
        backoff.started(now);
        let latest = backoff.earliest(1.0).unwrap() - now;
        assert!((latest.as_secs_f64() - 1.92 * 1.1).abs() < 1e-6);
    }

    #[test]
    fn parallel_429s_from_one_wave_adjust_once() {
        let mut backoff = Backoff::new(MIN_SLEEP);
        let wave = backoff.epoch();
        for _ in 0..8 {
            backoff.rate_limited(wave);
        }
        assert!((secs(&backoff) - 0.8).abs() < 1e-9);
    }

    #[test]
    fn the_gem_spacing_holds_while_the_pool_is_empty_and_ends_once_it_holds_tokens() {
        let mut backoff = Backoff::new(MIN_SLEEP);
        backoff.rate_limited(backoff.epoch());
        backoff.answered(true, 0);
        assert!((secs(&backoff) - 0.8).abs() < 1e-9);
        // The streak ended: the next 429 adds to the pause without growing it.
        backoff.rate_limited(backoff.epoch());
        assert!((secs(&backoff) - 1.6).abs() < 1e-9);
        backoff.answered(true, 1);
        assert_eq!(backoff.sleep(), Duration::ZERO);
    }

    #[test]
    fn the_sleep_is_capped() {
        let mut backoff = Backoff::new(60.0);
        for _ in 0..10 {
            backoff.rate_limited(backoff.epoch());
        }
        assert_eq!(secs(&backoff), MAX_SLEEP);
    }
}
