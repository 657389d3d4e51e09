//! How long things take: round trips as this reaper measures them, the thresholds that
//! tell a reaper at work from one that stopped, and the window of deletes in flight.

use std::time::Duration;

/// Before any answer: about a DELETE's round trip on Heroku.
const FIRST_GUESS: Duration = Duration::from_millis(300);

/// A round-trip estimate, as TCP keeps one: a smoothed mean and a smoothed deviation.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundTrip {
    mean: Option<f64>,
    deviation: f64,
}

impl RoundTrip {
    pub fn sample(&mut self, took: Duration) {
        let took = took.as_secs_f64();
        match self.mean {
            None => {
                self.mean = Some(took);
                self.deviation = took / 2.0;
            }
            Some(mean) => {
                self.deviation = 0.75 * self.deviation + 0.25 * (mean - took).abs();
                self.mean = Some(0.875 * mean + 0.125 * took);
            }
        }
    }

    pub fn mean(&self) -> Duration {
        self.mean.map_or(FIRST_GUESS, Duration::from_secs_f64)
    }

    pub fn is_measured(&self) -> bool {
        self.mean.is_some()
    }

    /// A round trip most take less than: the mean and twice the deviation (with a spread
    /// of ±50%, about the slowest).
    pub fn high(&self) -> Duration {
        match self.mean {
            Some(mean) => Duration::from_secs_f64(mean + 2.0 * self.deviation),
            None => FIRST_GUESS,
        }
    }
}

/// The round trips a walk is timed by.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    /// A DELETE on the wire, without the wait for the rate limit: the probe's pause.
    pub wire: RoundTrip,
    /// A DELETE from the moment it was due to its answer, waits for the rate limit
    /// included: how often a reaper at work on this account moves on.
    pub delete: RoundTrip,
    /// A listing, all pages, waits included.
    pub listing: RoundTrip,
}

/// The pause after the probe, in its round trips: reapers that started at the same
/// moment have made their probes when this one lists, even ones half again as slow.
pub const PROBE_PAUSE: u32 = 2;

impl Timing {
    /// The pause after the probe, so that others' probes have landed when it lists.
    pub fn probe_pause(&self) -> Duration {
        let wire = if self.wire.is_measured() {
            self.wire
        } else {
            self.delete
        };
        wire.mean() * PROBE_PAUSE
    }

    /// How long a reaper at work leaves its end of a gap where it is: a DELETE at its
    /// front takes at most about one round trip; twice that, and it has stopped.
    pub fn stall(&self) -> Duration {
        self.delete.high() * 2
    }

    /// How long a reaper takes from its probe to the first delete of its walk: the pause,
    /// a listing and a round trip; with a quarter more for one slower than this one.
    pub fn start(&self) -> Duration {
        (self.probe_pause() + self.listing.high() + self.delete.high()).mul_f64(1.25)
    }
}

/// How many deletes one reaper keeps in flight, as TCP sizes its congestion window:
/// it starts small and grows by one with each delete that succeeds (doubling every
/// round trip), up to `--concurrency`; a conflict halves it at once, because another
/// reaper may be deleting right here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    size: usize,
    limit: usize,
}

impl Window {
    pub fn new(limit: usize) -> Window {
        Window {
            size: 1,
            limit: limit.max(1),
        }
    }

    /// Already at `limit`: for work no other reaper touches.
    pub fn full(limit: usize) -> Window {
        let limit = limit.max(1);
        Window { size: limit, limit }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A delete succeeded.
    pub fn grow(&mut self) {
        self.size = (self.size + 1).min(self.limit);
    }

    /// Another reaper deleted an app first. Call it once per wave: the deletes already
    /// in flight when the first conflict lands were sent on the old evidence.
    pub fn shrink(&mut self) {
        self.size = (self.size / 2).max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_starts_at_one_grows_on_success_and_halves_on_a_conflict() {
        let mut window = Window::new(24);
        assert_eq!(window.size(), 1);
        for _ in 0..5 {
            window.grow();
        }
        assert_eq!(window.size(), 6);
        window.shrink();
        assert_eq!(window.size(), 3);
        window.shrink();
        window.shrink();
        window.shrink();
        assert_eq!(window.size(), 1, "never below one");
        for _ in 0..100 {
            window.grow();
        }
        assert_eq!(window.size(), 24, "never above --concurrency");
        assert_eq!(Window::full(8).size(), 8);
        assert_eq!(Window::new(0).size(), 1);
    }

    #[test]
    fn a_round_trip_estimate_follows_the_samples_and_their_spread() {
        let mut rtt = RoundTrip::default();
        assert_eq!(rtt.high(), FIRST_GUESS);
        for ms in [300, 300, 300, 300, 300, 300, 300, 300] {
            rtt.sample(Duration::from_millis(ms));
        }
        let steady = rtt.high();
        let mut spread = RoundTrip::default();
        for ms in [150, 450, 150, 450, 150, 450, 150, 450] {
            spread.sample(Duration::from_millis(ms));
        }
        assert!(steady < Duration::from_millis(400), "{steady:?}");
        assert!(spread.high() > steady, "{:?} vs {steady:?}", spread.high());
    }

    #[test]
    fn a_stalled_reaper_is_told_from_a_slow_one_by_round_trips() {
        let mut timing = Timing::default();
        for _ in 0..10 {
            timing.delete.sample(Duration::from_millis(300));
            timing.wire.sample(Duration::from_millis(300));
            timing.listing.sample(Duration::from_millis(30));
        }
        assert!(timing.stall() >= Duration::from_millis(600));
    }
}
