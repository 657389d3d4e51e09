//! How a sandbox is set up: where it listens, what it is seeded with, how it behaves.

use std::time::Duration;

use anyhow::{bail, ensure};

use super::FaultMix;
use super::args::{SandboxArgs, SeedArgs, ServerArgs};
use super::model::is_valid_app_name;

#[derive(Clone, Debug)]
pub struct Options {
    /// 0 lets the OS choose.
    pub port: u16,
    pub token: String,
    pub seed: Seed,
    pub server: Server,
}

#[derive(Clone, Debug)]
pub struct Seed {
    pub stale: usize,
    pub fresh: usize,
    pub other: usize,
    pub team_apps: usize,
    pub team_name: String,
    pub collaborator_apps: usize,
    pub prefix: String,
    pub stale_age: Duration,
    pub fresh_age: Duration,
    pub seed: u64,
    /// A pipeline named after each stale and fresh app, coupled to it.
    pub coupled_pipelines: bool,
    /// Old matching pipelines with no app.
    pub orphan_pipelines: usize,
}

#[derive(Clone, Debug)]
pub struct Server {
    pub latency: Duration,
    /// `None`: DELETEs take `latency` too.
    pub delete_latency: Option<Duration>,
    /// Each latency is scaled by a random factor in `1-jitter..=1+jitter`.
    pub jitter: f64,
    /// `None`: DELETEs spread as much as the rest.
    pub delete_jitter: Option<f64>,
    pub rate_limit_pool: u32,
    /// `None`: the pool starts full.
    pub rate_limit_remaining: Option<u32>,
    pub rate_limit_refill_per_minute: f64,
    pub page_default: usize,
    pub page_max: usize,
    /// Faults drawn at random for requests that meet no injected one.
    pub faults: Option<FaultMix>,
    pub fault_seed: u64,
    /// How long a `slow` fault delays, and a held lost DELETE holds, an answer.
    pub fault_delay: Duration,
    /// How far the sandbox's clock (its `Date` headers, its apps' times) runs ahead of
    /// the machine's; negative when behind.
    pub clock_skew: chrono::Duration,
    /// `GET /teams/{team}/apps` lists every app the account sees, not only the team's,
    /// as a broken or hostile server might.
    pub leaky_team_listing: bool,
    /// Apps the account may own; `POST /apps` is refused at this many (Heroku: 100).
    pub app_limit: usize,
    /// Keep milliseconds in the `created_at` of apps made after start. Heroku sends whole
    /// seconds; a run faster than real time (`bench/suite`), where a second stands for
    /// minutes, needs the fraction to tell a young app from an old one.
    pub subsecond_timestamps: bool,
}

/// The key a sandbox accepts unless told otherwise, as `heroku-reaper sandbox` does.
pub const DEFAULT_TOKEN: &str = "sandbox-token";

// Bounds that keep a sandbox in memory and its clock arithmetic in range: far past any
// test or benchmark.
/// Apps of each kind seeded, and pipelines.
const MAX_SEEDED: usize = 100_000;
const MAX_AGE: Duration = Duration::from_secs(3_650 * 86_400);
/// A `Date` up to the year 9999 is what an HTTP date can say; further, and the clock's
/// arithmetic is no longer safe.
const MAX_SKEW: Duration = Duration::from_secs(3_000_000 * 86_400);
const MAX_LATENCY: Duration = Duration::from_secs(3_600);
const MAX_REFILL_PER_MINUTE: f64 = 100_000.0;
const MAX_POOL: u32 = 1_000_000;

impl Default for Options {
    fn default() -> Options {
        Options {
            port: 0,
            token: DEFAULT_TOKEN.into(),
            seed: Seed::default(),
            server: Server::default(),
        }
    }
}

impl Default for Seed {
    fn default() -> Seed {
        Seed {
            stale: 30,
            fresh: 10,
            other: 5,
            team_apps: 3,
            team_name: "hatchet-ci".into(),
            collaborator_apps: 2,
            prefix: "hatchet-t-".into(),
            stale_age: Duration::from_secs(30 * 60),
            fresh_age: Duration::from_secs(60),
            seed: 1,
            coupled_pipelines: true,
            orphan_pipelines: 3,
        }
    }
}

impl Seed {
    /// No app and no pipeline: for a test or a simulation that adds its own.
    pub fn empty() -> Seed {
        Seed {
            stale: 0,
            fresh: 0,
            other: 0,
            team_apps: 0,
            collaborator_apps: 0,
            coupled_pipelines: false,
            orphan_pipelines: 0,
            ..Seed::default()
        }
    }
}

impl Default for Server {
    fn default() -> Server {
        Server {
            latency: Duration::ZERO,
            delete_latency: None,
            jitter: 0.0,
            delete_jitter: None,
            rate_limit_pool: 4500,
            rate_limit_remaining: None,
            rate_limit_refill_per_minute: 75.0,
            page_default: 200,
            page_max: 1000,
            faults: None,
            fault_seed: 1,
            fault_delay: Duration::from_secs(2),
            clock_skew: chrono::Duration::zero(),
            leaky_team_listing: false,
            app_limit: 100,
            subsecond_timestamps: false,
        }
    }
}

impl From<&SandboxArgs> for Options {
    fn from(args: &SandboxArgs) -> Options {
        Options {
            port: args.port,
            token: args.token.clone(),
            seed: Seed::from(&args.seed),
            server: Server::from(&args.behaviour),
        }
    }
}

impl From<&SeedArgs> for Seed {
    fn from(args: &SeedArgs) -> Seed {
        Seed {
            stale: args.stale,
            fresh: args.fresh,
            other: args.other,
            team_apps: args.team_apps,
            team_name: args.team_name.clone(),
            collaborator_apps: args.collaborator_apps,
            prefix: args.prefix.clone(),
            stale_age: args.stale_age,
            fresh_age: args.fresh_age,
            seed: args.seed,
            coupled_pipelines: args.coupled_pipelines,
            orphan_pipelines: args.orphan_pipelines,
        }
    }
}

impl From<&ServerArgs> for Server {
    fn from(args: &ServerArgs) -> Server {
        Server {
            latency: args.latency,
            delete_latency: args.delete_latency,
            jitter: args.jitter,
            delete_jitter: args.delete_jitter,
            rate_limit_pool: args.rate_limit_pool,
            rate_limit_remaining: args.rate_limit_remaining,
            rate_limit_refill_per_minute: args.rate_limit_refill,
            faults: args.faults.clone().filter(|mix| !mix.is_empty()),
            fault_seed: args.fault_seed,
            fault_delay: args.fault_delay,
            clock_skew: args.clock_skew,
            leaky_team_listing: args.leaky_team_listing,
            app_limit: args.app_limit,
            ..Server::default()
        }
    }
}

impl Options {
    /// Refuses settings the sandbox could not honour, naming the command-line option.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            !self.token.is_empty() && self.token.bytes().all(is_plain_token_byte),
            "`--token` must be letters, digits and `-._~+/=` only, so that \
             `HEROKU_API_KEY=<token>` reads the same in a shell and in `$GITHUB_ENV`"
        );
        self.seed.validate()?;
        self.server.validate()
    }
}

impl Seed {
    fn validate(&self) -> anyhow::Result<()> {
        let example = format!("{}0123456789", self.prefix);
        if self.prefix.is_empty() {
            bail!("`--prefix` is empty; seeded apps need a prefix such as `hatchet-t-`");
        }
        ensure!(
            is_valid_app_name(&example),
            "`--prefix` `{}` gives app names Heroku refuses, such as `{example}`: use at most 20 \
             lowercase letters, digits and dashes, starting with a letter",
            self.prefix
        );
        for (flag, count) in [
            ("--stale", self.stale),
            ("--fresh", self.fresh),
            ("--other", self.other),
            ("--team-apps", self.team_apps),
            ("--collaborator-apps", self.collaborator_apps),
            ("--orphan-pipelines", self.orphan_pipelines),
        ] {
            ensure!(
                count <= MAX_SEEDED,
                "`{flag}` must be from 0 to {MAX_SEEDED}, not {count}"
            );
        }
        for (flag, age) in [
            ("--stale-age", self.stale_age),
            ("--fresh-age", self.fresh_age),
        ] {
            ensure!(age <= MAX_AGE, "`{flag}` must be at most 3650d");
        }
        ensure!(
            !self.team_name.is_empty()
                && self
                    .team_name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "`--team-name` `{}` must be lowercase letters, digits and dashes",
            self.team_name
        );
        Ok(())
    }
}

impl Server {
    fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            (0.0..=1.0).contains(&self.jitter),
            "`--jitter` must be between 0 and 1, not {}",
            self.jitter
        );
        if let Some(jitter) = self.delete_jitter {
            ensure!(
                (0.0..=1.0).contains(&jitter),
                "`--delete-jitter` must be between 0 and 1, not {jitter}"
            );
        }
        ensure!(
            (0.0..=MAX_REFILL_PER_MINUTE).contains(&self.rate_limit_refill_per_minute),
            "`--rate-limit-refill` must be from 0 to {MAX_REFILL_PER_MINUTE} a minute, not {}",
            self.rate_limit_refill_per_minute
        );
        ensure!(
            self.rate_limit_pool <= MAX_POOL,
            "`--rate-limit-pool` must be from 0 to {MAX_POOL}, not {}",
            self.rate_limit_pool
        );
        ensure!(
            self.app_limit <= MAX_SEEDED,
            "`--app-limit` must be from 0 to {MAX_SEEDED}, not {}",
            self.app_limit
        );
        let latencies = [
            ("--latency", Some(self.latency)),
            ("--delete-latency", self.delete_latency),
            ("--fault-delay", Some(self.fault_delay)),
        ];
        for (flag, latency) in latencies {
            ensure!(
                latency.is_none_or(|latency| latency <= MAX_LATENCY),
                "`{flag}` must be at most 1h"
            );
        }
        let skew = self.clock_skew.abs().to_std().unwrap_or(Duration::MAX);
        ensure!(
            skew <= MAX_SKEW,
            "`--clock-skew` must be at most 3000000d either way"
        );
        if let Some(remaining) = self.rate_limit_remaining {
            ensure!(
                remaining <= self.rate_limit_pool,
                "`--rate-limit-remaining` {remaining} is more than the pool holds \
                 (`--rate-limit-pool` {})",
                self.rate_limit_pool
            );
        }
        ensure!(
            (1..=self.page_max).contains(&self.page_default),
            "the default page size {} must be between 1 and the largest page {}",
            self.page_default,
            self.page_max
        );
        Ok(())
    }
}

fn is_plain_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The options as a command line of their own, as `heroku-reaper sandbox` flattens them.
    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        args: SandboxArgs,
    }

    fn sandbox_args(args: &[&str]) -> SandboxArgs {
        let argv = ["sandbox"].iter().chain(args);
        Command::parse_from(argv).args
    }

    #[test]
    fn command_line_defaults_are_the_library_defaults() {
        let options = Options::from(&sandbox_args(&[]));
        let seed = Seed::default();
        let server = Server::default();
        assert_eq!(options.port, 0);
        assert_eq!(options.token, DEFAULT_TOKEN);
        assert_eq!(
            (options.seed.stale, options.seed.fresh, options.seed.other),
            (seed.stale, seed.fresh, seed.other)
        );
        assert_eq!(
            (options.seed.team_apps, options.seed.collaborator_apps),
            (seed.team_apps, seed.collaborator_apps)
        );
        assert_eq!(options.seed.team_name, seed.team_name);
        assert_eq!(
            (
                options.seed.coupled_pipelines,
                options.seed.orphan_pipelines
            ),
            (seed.coupled_pipelines, seed.orphan_pipelines)
        );
        assert_eq!(options.seed.prefix, seed.prefix);
        assert_eq!(
            (
                options.seed.stale_age,
                options.seed.fresh_age,
                options.seed.seed
            ),
            (seed.stale_age, seed.fresh_age, seed.seed)
        );
        assert_eq!(options.server.latency, server.latency);
        assert_eq!(options.server.delete_latency, server.delete_latency);
        assert_eq!(options.server.jitter, server.jitter);
        assert_eq!(options.server.delete_jitter, server.delete_jitter);
        assert_eq!(options.server.rate_limit_pool, server.rate_limit_pool);
        assert_eq!(
            options.server.rate_limit_remaining,
            server.rate_limit_remaining
        );
        assert_eq!(
            options.server.rate_limit_refill_per_minute,
            server.rate_limit_refill_per_minute
        );
        assert_eq!(
            (options.server.page_default, options.server.page_max),
            (200, 1000)
        );
        assert_eq!(options.server.faults, server.faults);
        assert_eq!(
            (options.server.fault_seed, options.server.fault_delay),
            (server.fault_seed, server.fault_delay)
        );
        assert_eq!(options.server.clock_skew, server.clock_skew);
        assert_eq!(options.server.leaky_team_listing, server.leaky_team_listing);
        assert_eq!(options.server.app_limit, 100);
        options.validate().unwrap();
    }

    #[test]
    fn command_line_options_reach_the_sandbox() {
        let options = Options::from(&sandbox_args(&[
            "--port=8123",
            "--token=t0k",
            "--stale=7",
            "--team-name=acme",
            "--prefix=ci-",
            "--stale-age=2h",
            "--seed=9",
            "--latency=20ms",
            "--delete-latency=1s",
            "--jitter=0.5",
            "--delete-jitter=0.25",
            "--rate-limit-pool=10",
            "--rate-limit-remaining=3",
            "--rate-limit-refill=600",
            "--faults=5xx=0.1,lost-delete=0.05",
            "--fault-seed=4",
            "--fault-delay=300ms",
            "--clock-skew=-1d",
            "--leaky-team-listing",
            "--app-limit=7",
        ]));
        assert_eq!((options.port, options.token.as_str()), (8123, "t0k"));
        assert_eq!((options.seed.stale, options.seed.seed), (7, 9));
        assert_eq!(
            (
                options.seed.team_name.as_str(),
                options.seed.prefix.as_str()
            ),
            ("acme", "ci-")
        );
        assert_eq!(options.seed.stale_age, Duration::from_secs(7200));
        assert_eq!(options.server.latency, Duration::from_millis(20));
        assert_eq!(options.server.delete_latency, Some(Duration::from_secs(1)));
        assert_eq!(options.server.jitter, 0.5);
        assert_eq!(
            (
                options.server.rate_limit_pool,
                options.server.rate_limit_remaining
            ),
            (10, Some(3))
        );
        assert_eq!(options.server.rate_limit_refill_per_minute, 600.0);
        let mix = options.server.faults.expect("a fault mix");
        assert_eq!(mix.to_string(), "5xx=0.1,lost-delete=0.05");
        assert_eq!(options.server.fault_seed, 4);
        assert_eq!(options.server.fault_delay, Duration::from_millis(300));
        assert_eq!(options.server.clock_skew, chrono::Duration::days(-1));
        assert!(options.server.leaky_team_listing);
        assert_eq!(options.server.app_limit, 7);
    }

    #[test]
    fn refuses_settings_it_cannot_honour() {
        let refused = |change: fn(&mut Options), flag: &str| {
            let mut options = Options::default();
            options.validate().unwrap();
            change(&mut options);
            let error = options.validate().unwrap_err().to_string();
            assert!(error.contains(flag), "{error}");
        };
        refused(|o| o.token = String::new(), "`--token`");
        refused(|o| o.token = "two words".into(), "`--token`");
        refused(|o| o.seed.prefix = String::new(), "`--prefix`");
        refused(|o| o.seed.prefix = "Hatchet-".into(), "`--prefix`");
        refused(
            |o| o.seed.prefix = "a-prefix-of-21-chars-".into(),
            "`--prefix`",
        );
        refused(|o| o.seed.team_name = "Acme Inc".into(), "`--team-name`");
        refused(|o| o.server.jitter = 1.5, "`--jitter`");
        refused(
            |o| o.server.rate_limit_refill_per_minute = -1.0,
            "`--rate-limit-refill`",
        );
        refused(
            |o| o.server.rate_limit_remaining = Some(4501),
            "`--rate-limit-remaining`",
        );
        refused(|o| o.server.page_default = 0, "page size");
        refused(
            |o| o.seed.stale = 100_001,
            "`--stale` must be from 0 to 100000",
        );
        refused(
            |o| o.seed.orphan_pipelines = usize::MAX,
            "`--orphan-pipelines`",
        );
        refused(
            |o| o.seed.fresh_age = Duration::from_secs(u64::MAX),
            "`--fresh-age` must be at most 3650d",
        );
        refused(
            |o| o.server.rate_limit_refill_per_minute = f64::NAN,
            "`--rate-limit-refill` must be from 0 to 100000",
        );
        refused(
            |o| o.server.rate_limit_refill_per_minute = 1e308,
            "`--rate-limit-refill`",
        );
        refused(
            |o| o.server.rate_limit_pool = u32::MAX,
            "`--rate-limit-pool`",
        );
        refused(
            |o| o.server.delete_latency = Some(Duration::from_secs(3_601)),
            "`--delete-latency` must be at most 1h",
        );
        refused(
            |o| o.server.clock_skew = chrono::Duration::days(-3_000_001),
            "`--clock-skew`",
        );
    }
}
