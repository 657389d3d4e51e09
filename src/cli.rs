//! The command line: what a user can type, and the help that teaches it.
//! Every option the GitHub Action passes can also come from an environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::heroku::throttle::HEROKU_POOL;
use crate::reap::plan;
use crate::{lock, report, room};

/// The most deletes in flight: more only spends the rate limit faster.
const MAX_CONCURRENCY: usize = 64;
const MAX_RETRIES: u32 = 10;
/// The most `--app-limit` and `--max-deletes` take: past any account's apps.
const MAX_APPS: usize = 100_000;
/// `--rate-limit-refill` a minute: from a real-time pool to a sandbox run far faster.
const REFILL_RANGE: (f64, f64) = (1.0, 100_000.0);

const EXIT_CODES: &str = "\
Exit codes:
  0  done: every stale app is gone, or there was nothing to do, or `--lock skip` found
     another reaper at work on this machine
  1  failed: stale apps are left because of API errors, or `--app-limit` still holds
     after `--wait-for-room`, or `--reserve-apps` found no room in time (or never can),
     or the key was rejected after some deletes
  2  bad usage or configuration, missing credentials or a key rejected before any
     delete, a lock file that is not ours, or a plan over `--max-deletes`: nothing was
     deleted
  3  stopped at `--reserve-rate-limit`: stale apps are left so the tests keep their
     rate-limit budget
  4  `--lock wait` gave up after `--lock-timeout`: nothing was sent
  5  stopped at `--deadline`: stale apps may be left; the report says which deletes were
     confirmed
  129, 130, 143  interrupted by SIGHUP, SIGINT or SIGTERM: the report says which deletes
     were confirmed";

const EXAMPLES: &str = "\
Examples:
  heroku-reaper --dry-run                       the plan: every matching app, its age and verdict
  heroku-reaper                                 delete `hatchet-t-*` apps older than 10 minutes
  heroku-reaper --older-than 2h --keep hatchet-t-bed73940a6
                                                a daily cleanup that spares an app being debugged
  heroku-reaper --shard 0/4                     one of four matrix jobs: a quarter of the apps each
  heroku-reaper --app-limit 80 --wait-for-room 5m
                                                make room for a suite that needs 20 more apps
  heroku-reaper --reserve-apps 40               in a workflow's cleanup job: start the tests only
                                                when 40 apps fit beside the runs admitted before
  heroku-reaper demo                            try it against a built-in sandbox";

const CREDENTIALS: &str = "\
Credentials, as the Heroku CLI looks them up: `HEROKU_API_KEY`, else the
`machine api.heroku.com` entry of `~/.netrc` (`_netrc` on Windows). The key is never
taken from the command line and never printed.";

/// Deletes the throwaway Heroku apps that test suites leak (Hatchet's `hatchet-t-…`
/// apps by default), safely, even when many copies run at once.
///
/// Run it as one step before your tests: it lists the account's apps, deletes the
/// ones whose names match and that are older than the TTL, and reports what it did.
/// Try it with no Heroku account: `heroku-reaper demo`.
#[derive(Debug, Parser)]
#[command(
    name = "heroku-reaper",
    version,
    args_conflicts_with_subcommands = true,
    after_help = EXIT_CODES,
    after_long_help = format!("{EXAMPLES}\n\n{CREDENTIALS}\n\n{EXIT_CODES}"),
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// `reap` is what runs when no subcommand is given.
    #[command(flatten)]
    pub reap: ReapArgs,
}

#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing would only add noise"
)]
pub enum Command {
    /// Delete stale matching apps (the default).
    #[command(after_help = EXIT_CODES, after_long_help = format!("{EXAMPLES}\n\n{CREDENTIALS}\n\n{EXIT_CODES}"))]
    Reap(ReapArgs),
    /// Serve a Heroku-compatible API on 127.0.0.1, seeded with apps, for tests and trials.
    #[cfg(feature = "sandbox")]
    Sandbox(heroku_sandbox::SandboxArgs),
    /// Start a sandbox, run several reapers against it at once, and show what each did.
    #[cfg(feature = "sandbox")]
    Demo(DemoArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnConflict {
    /// Back off, list the apps again and carry on until every stale app is gone.
    RefreshApiAndContinue,
    /// Stop as soon as fewer than `--app-limit` matching apps remain: another reaper is at work.
    StopIfUnderLimit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LockMode {
    /// Wait for another reaper on this machine to finish, then list the apps afresh.
    Wait,
    /// Exit 0 at once if another reaper on this machine holds the lock.
    Skip,
    /// Take no lock.
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IfNoRoom {
    /// Exit 1: the jobs that need this one do not run.
    Fail,
    /// Exit 0 with a warning: the tests run, and may meet the app limit.
    Proceed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A line per app acted on and a summary table.
    Human,
    /// One JSON document with every app considered, the counts and the rate limit left.
    Json,
}

// The engine's own enums carry no clap; these are their command-line spellings.

impl From<OnConflict> for plan::OnConflict {
    fn from(value: OnConflict) -> plan::OnConflict {
        match value {
            OnConflict::RefreshApiAndContinue => plan::OnConflict::RefreshApiAndContinue,
            OnConflict::StopIfUnderLimit => plan::OnConflict::StopIfUnderLimit,
        }
    }
}

impl From<LockMode> for lock::LockMode {
    fn from(value: LockMode) -> lock::LockMode {
        match value {
            LockMode::Wait => lock::LockMode::Wait,
            LockMode::Skip => lock::LockMode::Skip,
            LockMode::Off => lock::LockMode::Off,
        }
    }
}

impl From<IfNoRoom> for room::IfNoRoom {
    fn from(value: IfNoRoom) -> room::IfNoRoom {
        match value {
            IfNoRoom::Fail => room::IfNoRoom::Fail,
            IfNoRoom::Proceed => room::IfNoRoom::Proceed,
        }
    }
}

impl From<Format> for report::Format {
    fn from(value: Format) -> report::Format {
        match value {
            Format::Human => report::Format::Human,
            Format::Json => report::Format::Json,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ReapArgs {
    /// Reap apps whose name starts with this and then a lowercase hex digit, as Hatchet's
    /// own rule (`^hatchet-t-[a-f0-9]+`); `--match` takes other names [default: hatchet-t-]
    #[arg(long, value_name = "PREFIX", env = "HATCHET_APP_PREFIX")]
    pub prefix: Option<String>,

    /// Reap apps whose whole name matches this regular expression, instead of `--prefix`;
    /// it must pin a fixed start or end of 3 characters or more (`ci-[0-9]+`, `.*-review`)
    #[arg(long = "match", value_name = "REGEX", env = "HEROKU_REAPER_MATCH")]
    pub match_regex: Option<String>,

    /// Allow a rule that could take any app (an empty prefix, or a `--match` that pins no
    /// part of the name)
    #[arg(long, env = "HEROKU_REAPER_ALL_APPS")]
    pub all_apps: bool,

    /// Reap apps created longer ago than this: `90s`, `10m`, `2h`, `1d`; a bare number
    /// means minutes [default: 10m]
    #[arg(long, value_name = "AGE", env = "HEROKU_REAPER_OLDER_THAN")]
    pub older_than: Option<String>,

    /// Reap every matching app whatever its age (as `hatchet destroy --all`)
    #[arg(long, env = "HEROKU_REAPER_ALL", conflicts_with = "older_than")]
    pub all: bool,

    /// Make sure fewer than N matching apps remain: when all of them are younger than
    /// the TTL, wait for the oldest to pass it, reap it, and go on
    #[arg(
        long,
        value_name = "N",
        env = "HEROKU_REAPER_APP_LIMIT",
        value_parser = whole(1, MAX_APPS),
        allow_negative_numbers = true
    )]
    pub app_limit: Option<usize>,

    /// What to do when another reaper deleted an app first
    /// [default: refresh-api-and-continue]
    #[arg(
        long,
        value_enum,
        value_name = "STRATEGY",
        env = "HEROKU_REAPER_ON_CONFLICT"
    )]
    pub on_conflict: Option<OnConflict>,

    /// With `--app-limit` or `--reserve-apps`: the longest to wait for room, within
    /// `--deadline` [default: the `--older-than` age (with `--reserve-apps`, 10m), or
    /// `--deadline` if shorter]
    #[arg(long, value_name = "TIME", env = "HEROKU_REAPER_WAIT_FOR_ROOM")]
    pub wait_for_room: Option<String>,

    // Room for the run.
    /// After the reaping, wait until the account has room for N apps (this run's at once)
    /// beside the live GitHub runs already admitted, whose cleanup job succeeded; then this
    /// run is admitted. Reads `GITHUB_TOKEN` (it needs `actions: read`)
    #[arg(
        long,
        value_name = "N",
        env = "HEROKU_REAPER_RESERVE_APPS",
        value_parser = whole(1, MAX_APPS),
        allow_negative_numbers = true
    )]
    pub reserve_apps: Option<usize>,

    /// With `--reserve-apps`: the app limit of the account (or of the `--team`): Heroku's
    /// is 100, 200 for an enterprise team [default: 100]
    #[arg(
        long,
        value_name = "N",
        env = "HEROKU_REAPER_ACCOUNT_LIMIT",
        value_parser = whole(1, MAX_APPS),
        allow_negative_numbers = true
    )]
    pub account_limit: Option<usize>,

    /// With `--reserve-apps`: what to do when `--wait-for-room` runs out [default: fail]
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        env = "HEROKU_REAPER_IF_NO_ROOM"
    )]
    pub if_no_room: Option<IfNoRoom>,

    /// With `--reserve-apps`: the job whose success admits a run, by the name GitHub shows
    /// [default: this job's own, found by `RUNNER_NAME`]
    #[arg(long, value_name = "NAME", env = "HEROKU_REAPER_ADMISSION_JOB")]
    pub admission_job: Option<String>,

    /// With `--reserve-apps`: how often to look for room while waiting (a listing of the
    /// apps, and GitHub's runs) [default: 30s]
    #[arg(long, value_name = "TIME", env = "HEROKU_REAPER_ROOM_POLL")]
    pub room_poll: Option<String>,

    /// Reap this team's apps (`GET /teams/NAME/apps`) instead of the account's own
    #[arg(long, value_name = "NAME", env = "HEROKU_REAPER_TEAM")]
    pub team: Option<String>,

    /// Never delete apps whose name matches this glob (`*`, `?`, `[a-z]`); repeatable,
    /// or comma-separated in the environment variable
    #[arg(
        long,
        value_name = "GLOB",
        env = "HEROKU_REAPER_KEEP",
        value_delimiter = ','
    )]
    pub keep: Vec<String>,

    /// Print the plan (every matching app, its age, its verdict and why) and delete nothing
    #[arg(long, env = "HEROKU_REAPER_DRY_RUN")]
    pub dry_run: bool,

    /// Refuse, before deleting anything, if the plan would delete more than N apps;
    /// 0 means no cap [default: 500]
    #[arg(
        long,
        value_name = "N",
        env = "HEROKU_REAPER_MAX_DELETES",
        value_parser = whole(0, MAX_APPS),
        allow_negative_numbers = true
    )]
    pub max_deletes: Option<usize>,

    /// Deletes in flight at once, all under one shared rate throttle that slows them down
    /// as the rate-limit pool empties [default: 24]
    #[arg(
        long,
        value_name = "N",
        env = "HEROKU_REAPER_CONCURRENCY",
        value_parser = whole(1, MAX_CONCURRENCY),
        allow_negative_numbers = true
    )]
    pub concurrency: Option<usize>,

    /// Take turns with other reapers on this machine
    #[arg(long, value_enum, default_value_t = LockMode::Wait, env = "HEROKU_REAPER_LOCK")]
    pub lock: LockMode,

    /// `--lock wait`: give up (exit 4) when another reaper holds the lock this long, within
    /// `--deadline` [default: 10m, or `--deadline` if shorter]
    #[arg(long, value_name = "TIME", env = "HEROKU_REAPER_LOCK_TIMEOUT")]
    pub lock_timeout: Option<String>,

    /// The machine-wide lock file, refused unless it is empty or a heroku-reaper lock of
    /// this user [default: heroku-reaper-UID.lock in the temp dir]
    #[arg(long, value_name = "PATH", env = "HEROKU_REAPER_LOCK_FILE")]
    pub lock_file: Option<PathBuf>,

    /// What to print on stdout
    #[arg(long, value_enum, default_value_t = Format::Human, env = "HEROKU_REAPER_FORMAT")]
    pub format: Format,

    /// Also write the JSON report to this file (replaced, never followed if a symlink), FIFO
    /// or device; `-` prints it on stdout, and the human output on stderr
    #[arg(long, value_name = "PATH", env = "HEROKU_REAPER_REPORT")]
    pub report: Option<PathBuf>,

    /// The Heroku Platform API (or the sandbox's URL)
    #[arg(
        long,
        value_name = "URL",
        env = "HEROKU_API_URL",
        default_value = "https://api.heroku.com"
    )]
    pub api_url: String,

    /// Give up on one HTTP request, to Heroku or GitHub, when its whole answer has not
    /// come after this long [default: 30s]
    #[arg(long, value_name = "TIME", env = "HEROKU_REAPER_TIMEOUT")]
    pub timeout: Option<String>,

    /// Retries of a request after a 5xx, a reset connection or a timeout [default: 3]
    #[arg(
        long,
        value_name = "N",
        env = "HEROKU_REAPER_RETRIES",
        value_parser = whole(0, MAX_RETRIES),
        allow_negative_numbers = true
    )]
    pub retries: Option<u32>,

    /// The server's rate-limit refill per minute; Heroku's is 75. Change it only for a
    /// server that differs, such as a sandbox run faster than real time [default: 75]
    #[arg(
        long,
        value_name = "N",
        env = "HEROKU_REAPER_RATE_LIMIT_REFILL",
        value_parser = refill,
        allow_negative_numbers = true
    )]
    pub rate_limit_refill: Option<f64>,

    // Many reapers at once.
    /// Delete only share I of N of the stale apps (I from 0, as a matrix job's
    /// `strategy.job-index`/`strategy.job-total`): shards never collide, without a lock
    #[arg(long, value_name = "I/N", env = "HEROKU_REAPER_SHARD")]
    pub shard: Option<String>,

    /// Stop (exit 3) rather than take the account's rate-limit pool below R requests: the
    /// tests that follow need them; 0 means no floor [default: 500]
    #[arg(
        long,
        value_name = "R",
        env = "HEROKU_REAPER_RESERVE_RATE_LIMIT",
        value_parser = whole(0, HEROKU_POOL - 1),
        allow_negative_numbers = true
    )]
    pub reserve_rate_limit: Option<u32>,

    // Faults, signals and bad input.
    /// After SIGINT, SIGTERM, SIGHUP or `--deadline`, how long the DELETEs in flight may
    /// take to answer before the report is written; a second signal exits at once
    /// [default: 5s]
    #[arg(long, value_name = "TIME", env = "HEROKU_REAPER_GRACE")]
    pub grace: Option<String>,

    /// The longest the whole run may take, waits included (the lock, GitHub, room under
    /// `--app-limit`); then it stops as on SIGTERM and exits 5 [default: 15m]
    #[arg(long, value_name = "TIME", env = "HEROKU_REAPER_DEADLINE")]
    pub deadline: Option<String>,

    /// The first pause before a retry after a 5xx, a reset or a timeout; it doubles with
    /// each retry of the same request [default: 500ms]
    #[arg(long, value_name = "TIME", env = "HEROKU_REAPER_RETRY_BACKOFF")]
    pub retry_backoff: Option<String>,

    /// Not accepted: the process list shows command lines. Set `HEROKU_API_KEY` instead
    #[arg(long, value_name = "KEY", hide = true)]
    pub api_key: Option<String>,

    // GitHub-aware reaping and orphaned pipelines.
    /// Also reap matching apps created before every live GitHub Actions run of these
    /// repositories (`GITHUB_REPOSITORY` and `--github-repo`), even when younger than the
    /// TTL. Reads `GITHUB_TOKEN` (it needs `actions: read`) and `GITHUB_API_URL`; if GitHub
    /// cannot be read, it warns and keeps to the TTL. Only for an account that nothing but
    /// the CI of these repositories uses
    #[arg(long, env = "HEROKU_REAPER_GITHUB_LIVE_RUNS")]
    pub github_live_runs: bool,

    /// With `--github-live-runs` or `--reserve-apps`: another repository whose runs share
    /// the Heroku account (with `--reserve-apps`, `OWNER/NAME:N` when each of its runs
    /// reserves N apps); repeatable, or comma-separated in the environment variable
    #[arg(
        long = "github-repo",
        value_name = "OWNER/NAME",
        env = "HEROKU_REAPER_GITHUB_REPO",
        value_delimiter = ','
    )]
    pub github_repos: Vec<String>,

    /// With `--github-live-runs`: the margin for the clocks of GitHub and Heroku, taken
    /// off the earliest live run's start [default: 2m]
    #[arg(long, value_name = "TIME", env = "HEROKU_REAPER_SKEW")]
    pub skew: Option<String>,

    /// Also delete matching pipelines older than the TTL that no app is coupled to,
    /// after the apps
    #[arg(long, env = "HEROKU_REAPER_PIPELINES")]
    pub pipelines: bool,

    /// More log lines on stderr (-v info, -vv debug, -vvv trace); `RUST_LOG` also works
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[cfg(feature = "sandbox")]
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Reapers to run at once, as if on separate machines
    #[arg(long, default_value_t = 4)]
    pub reapers: usize,

    #[command(flatten)]
    pub seed: heroku_sandbox::SeedArgs,

    /// Latency of each DELETE in the sandbox (±50%)
    #[arg(long, default_value = "150ms", value_parser = parse_duration)]
    pub delete_latency: std::time::Duration,
}

/// Counts from `min` to `max`: a clap error that names the range, whatever was given
/// (negative, fractional, past any integer).
fn whole<T>(min: T, max: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy + Send + Sync + 'static,
{
    move |text: &str| {
        let digits = !text.trim().is_empty() && text.trim().bytes().all(|b| b.is_ascii_digit());
        match text.trim().parse::<T>() {
            Ok(value) if min <= value && value <= max => Ok(value),
            _ if digits => Err(format!("`{text}` is out of range; use {min} to {max}")),
            _ => Err(format!(
                "`{text}` is not a whole number; use {min} to {max}"
            )),
        }
    }
}

/// `--rate-limit-refill`: a finite number of requests a minute in `REFILL_RANGE`, so that
/// the throttle's arithmetic on it stays in range.
fn refill(text: &str) -> Result<f64, String> {
    let (min, max) = REFILL_RANGE;
    match text.trim().parse::<f64>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(format!(
            "`{text}` is out of range; use {min} to {max} requests a minute (Heroku: 75)"
        )),
    }
}

#[cfg(feature = "sandbox")]
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::duration::parse(text).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
