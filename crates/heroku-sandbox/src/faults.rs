//! Faults the sandbox can inject: one kind at a time, by a test (`Sandbox::inject`), or
//! drawn at random from a seeded mix (`heroku-reaper sandbox --faults 5xx=0.05,reset=0.02
//! --fault-seed 7`). Choosing is pure; `http.rs` carries the faults out.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use fastrand::Rng;

/// What a fault does to a request that reaches its route (after the Accept, credentials
/// and rate-limit checks, as a real server's failure would).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fault {
    /// Answer with this status and Heroku's error body for it instead of serving.
    Status(u16),
    /// Serve, but this much later; a DELETE takes effect at the end of the delay.
    Delay(Duration),
    /// Cut the connection partway through the answer, without serving.
    Reset,
    /// Serve, but with a body that breaks off in the middle of its JSON.
    Malformed,
    /// A list page answers 206 with a `Next-Range` equal to the request's `Range`.
    RepeatNextRange,
    /// A list page answers 206 with a new `Next-Range`, and so does every page after it.
    EndlessNextRange,
    /// Serve (a DELETE deletes), then lose the answer.
    Lost(Loss),
    /// Answer `307 Temporary Redirect` to the same path on another address.
    Redirect(SocketAddr),
    /// Serve, with a `Date` header that is not a date.
    BadDate,
    /// Answer with this status and an error body of this `id` and `message` instead of
    /// serving: server text as a test crafts it (line breaks, workflow commands).
    Error {
        status: u16,
        id: &'static str,
        message: &'static str,
    },
    /// Serve, with this many bytes of JSON whitespace streamed after the body.
    Padded(u64),
    /// Serve (a DELETE deletes), then answer with this status and Heroku's error body
    /// for it: a DELETE carried out whose answer says it failed (500), or an app that
    /// someone else deleted just before (404).
    ServedAs(u16),
}

/// What every listing serves wrong about one app, from when a test asks on
/// (`Sandbox::list_oddly`), as a broken or racing server might.
#[derive(Clone, Debug, PartialEq)]
pub enum Oddity {
    /// The app has no `created_at`.
    NoCreatedAt,
    /// Its `created_at` holds this instead of a time.
    CreatedAt(serde_json::Value),
    /// A copy of it, this much older, is listed just before it: the same id with two
    /// `created_at`, as pages read while apps come and go can show.
    ListedTwice { older_by: Duration },
}

/// How an answer is lost after the request was carried out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Loss {
    /// The connection is cut partway through the answer.
    Cut,
    /// The answer is held back this long, past the client's timeout.
    Held(Duration),
}

impl Fault {
    /// The name the sandbox's counters use.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Status(429) => "429",
            Fault::Status(_) => "status",
            Fault::Delay(_) => "slow",
            Fault::Reset => "reset",
            Fault::Malformed => "malformed",
            Fault::RepeatNextRange => "repeat-range",
            Fault::EndlessNextRange => "endless-range",
            Fault::Lost(Loss::Cut) => "lost-cut",
            Fault::Lost(Loss::Held(_)) => "lost-held",
            Fault::Redirect(_) => "redirect",
            Fault::BadDate => "bad-date",
            Fault::Error { .. } => "error",
            Fault::Padded(_) => "padded",
            Fault::ServedAs(_) => "served-as",
        }
    }
}

/// The kinds of fault a mix draws from, in the order a draw walks them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// 500, 502 or 503.
    ServerError,
    /// A storm of 429s: this request and the next few, whatever their route.
    Storm,
    Reset,
    /// Held past the client's timeout (`--fault-delay`).
    Slow,
    Malformed,
    RepeatRange,
    EndlessRange,
    /// A DELETE that deletes, then is cut or held past the client's timeout.
    LostDelete,
}

const KINDS: [(Kind, &str); 8] = [
    (Kind::ServerError, "5xx"),
    (Kind::Storm, "429"),
    (Kind::Reset, "reset"),
    (Kind::Slow, "slow"),
    (Kind::Malformed, "malformed"),
    (Kind::RepeatRange, "repeat-range"),
    (Kind::EndlessRange, "endless-range"),
    (Kind::LostDelete, "lost-delete"),
];

/// Requests in a 429 storm, the one that starts it included.
const STORM: std::ops::RangeInclusive<usize> = 2..=8;

/// The odds of each kind of fault, per request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultMix {
    rates: Vec<(Kind, f64)>,
}

impl FaultMix {
    pub fn new(rates: impl IntoIterator<Item = (Kind, f64)>) -> FaultMix {
        let mut mix = FaultMix::default();
        for (kind, rate) in rates {
            mix.rates.retain(|(other, _)| *other != kind);
            mix.rates.push((kind, rate));
        }
        mix.rates.sort_by_key(|(kind, _)| position(*kind));
        mix
    }

    pub fn rate(&self, kind: Kind) -> f64 {
        self.rates
            .iter()
            .find(|(other, _)| *other == kind)
            .map_or(0.0, |(_, rate)| *rate)
    }

    pub fn is_empty(&self) -> bool {
        self.rates.iter().all(|(_, rate)| *rate == 0.0)
    }
}

fn position(kind: Kind) -> usize {
    KINDS.iter().position(|(k, _)| *k == kind).unwrap_or(0)
}

impl fmt::Display for FaultMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .rates
            .iter()
            .map(|(kind, rate)| format!("{}={rate}", KINDS[position(*kind)].1))
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl FromStr for FaultMix {
    type Err = String;

    /// `5xx=0.05,reset=0.02`: each rate is the chance, per request, of that fault.
    fn from_str(text: &str) -> Result<FaultMix, String> {
        let names = || {
            KINDS
                .iter()
                .map(|(_, name)| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut rates = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, rate) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not `KIND=RATE`, such as `5xx=0.05`"))?;
            let kind = KINDS
                .iter()
                .find(|(_, known)| *known == name.trim())
                .map(|(kind, _)| *kind)
                .ok_or_else(|| format!("`{}` is not a fault; use {}", name.trim(), names()))?;
            let rate: f64 = rate
                .trim()
                .parse()
                .ok()
                .filter(|rate: &f64| (0.0..=1.0).contains(rate))
                .ok_or_else(|| {
                    format!("`{part}`: the rate must be a number from 0 to 1, such as 0.05")
                })?;
            if rates.iter().any(|(other, _)| *other == kind) {
                return Err(format!("`{}` is given twice", name.trim()));
            }
            rates.push((kind, rate));
        }
        let total: f64 = rates.iter().map(|(_, rate)| rate).sum();
        if total > 1.0 {
            return Err(format!(
                "the rates add up to {total}, more than 1; lower them"
            ));
        }
        Ok(FaultMix::new(rates))
    }
}

/// Which routes a kind can hit.
fn applies(kind: Kind, route: &str) -> bool {
    let list = route == "GET /apps" || route == "GET /teams/{team}/apps";
    match kind {
        Kind::RepeatRange | Kind::EndlessRange => list,
        Kind::LostDelete => route.starts_with("DELETE "),
        // Asking for the rate limit costs nothing, so it is never rate-limited.
        Kind::Storm => !route.ends_with("/account/rate-limits"),
        Kind::ServerError | Kind::Reset | Kind::Slow | Kind::Malformed => true,
    }
}

/// A mix being drawn from: seeded, so a run can be repeated.
pub struct RandomFaults {
    mix: FaultMix,
    rng: Rng,
    /// How long `slow` delays and a held `lost-delete` holds.
    delay: Duration,
    /// 429s still due in the current storm.
    storm: usize,
}

impl RandomFaults {
    pub fn new(mix: FaultMix, seed: u64, delay: Duration) -> RandomFaults {
        RandomFaults {
            mix,
            rng: Rng::with_seed(seed),
            delay,
            storm: 0,
        }
    }

    /// The fault the next request to `route` (`"GET /apps"`) meets, if any.
    pub fn next(&mut self, route: &str) -> Option<Fault> {
        if self.storm > 0 && applies(Kind::Storm, route) {
            self.storm -= 1;
            return Some(Fault::Status(429));
        }
        let draw = self.rng.f64();
        let mut below = 0.0;
        let kind = self
            .mix
            .rates
            .iter()
            .filter(|(kind, _)| applies(*kind, route))
            .find(|(_, rate)| {
                below += rate;
                draw < below
            })
            .map(|(kind, _)| *kind)?;
        Some(match kind {
            Kind::ServerError => Fault::Status([500, 502, 503][self.rng.usize(..3)]),
            Kind::Storm => {
                self.storm = self.rng.usize(STORM) - 1;
                Fault::Status(429)
            }
            Kind::Reset => Fault::Reset,
            Kind::Slow => Fault::Delay(self.delay),
            Kind::Malformed => Fault::Malformed,
            Kind::RepeatRange => Fault::RepeatNextRange,
            Kind::EndlessRange => Fault::EndlessNextRange,
            Kind::LostDelete if self.rng.bool() => Fault::Lost(Loss::Cut),
            Kind::LostDelete => Fault::Lost(Loss::Held(self.delay)),
        })
    }
}

/// The start of the `Next-Range` values of an endless listing: `id ]~endless-3..`. The
/// sandbox knows them when they come back and answers with the next one.
const ENDLESS: &str = "~endless-";

/// The `n`th `Next-Range` of an endless listing.
pub fn endless_next_range(n: u64) -> String {
    format!("id ]{ENDLESS}{n}..; max=1000")
}

/// Which step of an endless listing a `Range` header asks for, if it is one.
pub fn endless_step(range: &str) -> Option<u64> {
    let (_, rest) = range.split_once(ENDLESS)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_mix_and_names_what_is_wrong() {
        let mix: FaultMix = "5xx=0.05, reset=0.02,lost-delete=0.1".parse().unwrap();
        assert_eq!(mix.rate(Kind::ServerError), 0.05);
        assert_eq!(mix.rate(Kind::LostDelete), 0.1);
        assert_eq!(mix.rate(Kind::Slow), 0.0);
        assert_eq!(mix.to_string(), "5xx=0.05,reset=0.02,lost-delete=0.1");
        assert_eq!("".parse::<FaultMix>().unwrap(), FaultMix::default());
        let refused = |text: &str| text.parse::<FaultMix>().unwrap_err();
        assert!(refused("boom=0.1").contains("`boom` is not a fault; use `5xx`"));
        assert!(refused("5xx").contains("`KIND=RATE`"));
        assert!(refused("5xx=lots").contains("from 0 to 1"));
        assert!(refused("5xx=1.5").contains("from 0 to 1"));
        assert!(refused("5xx=-0.1").contains("from 0 to 1"));
        assert!(refused("5xx=0.1,5xx=0.2").contains("twice"));
        assert!(refused("5xx=0.6,reset=0.6").contains("more than 1"));
    }

    #[test]
    fn a_certain_fault_always_comes_and_only_where_it_applies() {
        let delay = Duration::from_secs(2);
        let mix = |kind| FaultMix::new([(kind, 1.0)]);
        let mut resets = RandomFaults::new(mix(Kind::Reset), 1, delay);
        assert_eq!(resets.next("GET /account"), Some(Fault::Reset));
        let mut lost = RandomFaults::new(mix(Kind::LostDelete), 1, delay);
        assert_eq!(lost.next("GET /apps"), None);
        let mut seen = Vec::new();
        for _ in 0..50 {
            seen.push(lost.next("DELETE /apps/{app}").unwrap());
        }
        assert!(seen.contains(&Fault::Lost(Loss::Cut)));
        assert!(seen.contains(&Fault::Lost(Loss::Held(delay))));
        let mut endless = RandomFaults::new(mix(Kind::EndlessRange), 1, delay);
        assert_eq!(endless.next("DELETE /apps/{app}"), None);
        assert_eq!(
            endless.next("GET /teams/{team}/apps"),
            Some(Fault::EndlessNextRange)
        );
        let mut slow = RandomFaults::new(mix(Kind::Slow), 1, delay);
        assert_eq!(slow.next("GET /apps"), Some(Fault::Delay(delay)));
    }

    #[test]
    fn a_storm_rate_limits_the_next_requests_whatever_their_route() {
        let mut faults = RandomFaults::new(FaultMix::new([(Kind::Storm, 1.0)]), 3, Duration::ZERO);
        assert_eq!(faults.next("GET /apps"), Some(Fault::Status(429)));
        let due = faults.storm;
        assert!((STORM.start() - 1..*STORM.end()).contains(&due), "{due}");
        faults.mix = FaultMix::default();
        assert_eq!(faults.next("GET /account/rate-limits"), None);
        for _ in 0..due {
            assert_eq!(faults.next("DELETE /apps/{app}"), Some(Fault::Status(429)));
        }
        assert_eq!(faults.next("DELETE /apps/{app}"), None);
    }

    #[test]
    fn the_same_seed_draws_the_same_faults_at_about_the_rates_asked() {
        let mix: FaultMix = "5xx=0.1,reset=0.05,malformed=0.05".parse().unwrap();
        let draws = |seed| {
            let mut faults = RandomFaults::new(mix.clone(), seed, Duration::ZERO);
            (0..2_000)
                .map(|_| faults.next("GET /account"))
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(9), draws(9));
        assert_ne!(draws(9), draws(10));
        let drawn = draws(9);
        let share = |name: &str| {
            drawn
                .iter()
                .filter(|fault| fault.is_some_and(|f| f.name() == name))
                .count() as f64
                / 2_000.0
        };
        assert!(
            (0.07..0.13).contains(&share("status")),
            "{}",
            share("status")
        );
        assert!((0.03..0.07).contains(&share("reset")), "{}", share("reset"));
        assert!((0.03..0.07).contains(&share("malformed")));
    }

    #[test]
    fn endless_ranges_are_known_when_they_come_back() {
        assert_eq!(endless_step(&endless_next_range(3)), Some(3));
        assert_eq!(endless_step("id ]0123..; max=1000"), None);
        assert_eq!(endless_step("id ..; max=1000"), None);
    }
}
