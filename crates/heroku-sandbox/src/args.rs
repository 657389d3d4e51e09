//! The sandbox's command-line options, flattened into `heroku-reaper sandbox` and `demo`.

use std::time::Duration;

use clap::Args;

use super::FaultMix;
use super::duration;

#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Port to listen on, on 127.0.0.1 only; 0 lets the OS choose
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// The API key the sandbox accepts (it is not a Heroku key)
    #[arg(
        long,
        default_value = "sandbox-token",
        env = "HEROKU_REAPER_SANDBOX_TOKEN"
    )]
    pub token: String,

    #[command(flatten)]
    pub seed: SeedArgs,

    #[command(flatten)]
    pub behaviour: ServerArgs,
}

/// The apps a sandbox starts with.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// Matching apps older than `--stale-age`: the ones a reaper should delete
    #[arg(long, default_value_t = 30)]
    pub stale: usize,

    /// Matching apps younger than `--fresh-age`: a test may still be using them
    #[arg(long, default_value_t = 10)]
    pub fresh: usize,

    /// Old apps whose names do not match (production apps, another prefix)
    #[arg(long, default_value_t = 5)]
    pub other: usize,

    /// Old matching apps of the team `--team-name`: listed by `GET /apps`, reaped only with `--team`
    #[arg(long, default_value_t = 3)]
    pub team_apps: usize,

    /// The team the sandbox account belongs to
    #[arg(long, default_value = "hatchet-ci")]
    pub team_name: String,

    /// Old matching apps of another user that the account only collaborates on
    #[arg(long, default_value_t = 2)]
    pub collaborator_apps: usize,

    /// Prefix of the seeded matching apps
    #[arg(long, default_value = "hatchet-t-")]
    pub prefix: String,

    /// Age of the stale apps
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub stale_age: Duration,

    /// Age of the fresh apps
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub fresh_age: Duration,

    /// Seed for ids, names and latency jitter, so runs can be repeated
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// A pipeline named after each stale and fresh app and coupled to it, as Hatchet's
    /// CI tests make them
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub coupled_pipelines: bool,

    /// Old matching pipelines that no app is coupled to: the ones `--pipelines` deletes
    /// besides those of the stale apps
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub orphan_pipelines: usize,
}

/// How the sandbox behaves: latency, paging and the rate-limit pool.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Latency added to every response (`ms`, `s`)
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    pub latency: Duration,

    /// Latency of DELETE responses [default: `--latency`]
    #[arg(long, value_parser = parse_duration)]
    pub delete_latency: Option<Duration>,

    /// Random spread of each latency as a fraction: 0.5 means ±50%
    #[arg(long, default_value_t = 0.0)]
    pub jitter: f64,

    /// Random spread of DELETE latencies [default: `--jitter`]
    #[arg(long)]
    pub delete_jitter: Option<f64>,

    /// Size of the rate-limit pool (Heroku: 4500)
    #[arg(long, default_value_t = 4500)]
    pub rate_limit_pool: u32,

    /// Requests left in the pool at start [default: a full pool]
    #[arg(long)]
    pub rate_limit_remaining: Option<u32>,

    /// Apps the account may own: at this many, `POST /apps` is refused with 422, as
    /// Heroku refuses a create at the account's app limit (Heroku: 100)
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub app_limit: usize,

    /// Pool refill per minute (Heroku: 75)
    #[arg(long, default_value_t = 75.0)]
    pub rate_limit_refill: f64,

    // Faults, drawn at random.
    /// Faults to draw for each request, with their odds: `5xx`, `429` (a storm of them),
    /// `reset`, `slow`, `malformed`, `repeat-range`, `endless-range`, `lost-delete`;
    /// e.g. `5xx=0.05,reset=0.02,lost-delete=0.05`
    #[arg(long, value_name = "KIND=RATE,...", value_parser = parse_faults)]
    pub faults: Option<FaultMix>,

    /// Seed of the fault draws, so a mix can be repeated
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub fault_seed: u64,

    /// How long a `slow` fault delays an answer, and a lost DELETE holds its answer;
    /// longer than the client's timeout
    #[arg(long, value_name = "TIME", default_value = "2s", value_parser = parse_duration)]
    pub fault_delay: Duration,

    /// How far the sandbox's clock runs ahead of this machine's (`-1d`: a day behind):
    /// its `Date` headers and its apps' times
    #[arg(long, value_name = "TIME", default_value = "0s", value_parser = parse_skew, allow_hyphen_values = true, hide = true)]
    pub clock_skew: chrono::Duration,

    /// `GET /teams/{team}/apps` also lists apps that are not the team's
    #[arg(long, hide = true)]
    pub leaky_team_listing: bool,
}

fn parse_faults(text: &str) -> Result<FaultMix, String> {
    text.parse()
}

/// A duration with an optional `-`: `-1d` is a day behind.
fn parse_skew(text: &str) -> Result<chrono::Duration, String> {
    let (sign, magnitude) = match text.trim().strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.trim()),
    };
    let duration = parse_duration(magnitude)?;
    chrono::Duration::from_std(duration)
        .map(|skew| skew * sign)
        .map_err(|_| format!("`{text}` is too large a skew; give one such as `-1d`"))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    duration::parse(text)
}
