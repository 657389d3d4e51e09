//! `heroku-reaper sandbox`: start a sandbox, say where it is, serve until interrupted.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::args::SandboxArgs;
use super::duration;
use super::{Options, Sandbox, Server, Stats};

/// `heroku-reaper sandbox`: start, print, serve until Ctrl-C / SIGTERM.
///
/// Stdout gets exactly `HEROKU_API_URL=…` and `HEROKU_API_KEY=…`, flushed at once, for
/// scripts to `source` or read back from a file; the human summary goes to stderr.
pub fn run(args: &SandboxArgs) -> anyhow::Result<ExitCode> {
    let options = Options::from(args);
    // Watch for signals before saying where to connect: a script may stop the sandbox
    // as soon as it has read the two lines.
    let interrupts = Interrupts::watch()?;
    let sandbox = Sandbox::start(options.clone())?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(env_lines(&sandbox.url(), sandbox.token()).as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write the sandbox's address to stdout")?;
    drop(stdout);
    // The summary is for people: a closed stderr is no reason to stop serving.
    let _ = write!(std::io::stderr(), "{}", summary(&options, &sandbox.url()));

    interrupts.wait();
    let stats = sandbox.stats();
    sandbox.stop();
    let _ = writeln!(std::io::stderr(), "{}", farewell(&stats));
    Ok(ExitCode::SUCCESS)
}

fn env_lines(url: &str, token: &str) -> String {
    format!("HEROKU_API_URL={url}\nHEROKU_API_KEY={token}\n")
}

fn summary(options: &Options, url: &str) -> String {
    let seed = &options.seed;
    let server = &options.server;
    let prefix = &seed.prefix;
    let team = &seed.team_name;
    let total = seed.stale + seed.fresh + seed.other + seed.team_apps + seed.collaborator_apps;
    let latency = latency_words(server);
    let coupled_pipelines = if seed.coupled_pipelines {
        seed.stale + seed.fresh
    } else {
        0
    };
    let starting = server
        .rate_limit_remaining
        .unwrap_or(server.rate_limit_pool);
    let faults = faults_line(server);
    format!(
        "\
sandbox: a Heroku-compatible API listens on {url}
seeded {total} apps (seed {seed_number}):
  {stale:>5} stale   `{prefix}…`, {stale_age} old or more: a reaper deletes these
  {fresh:>5} fresh   `{prefix}…`, {fresh_age} old at most: too young to reap
  {other:>5} other   names that do not start with `{prefix}`
  {team_apps:>5} team    `{prefix}…` of team `{team}`: reaped only with `--team {team}`
  {shared:>5} shared  `{prefix}…` of another user: the account may not delete them
and {pipelines} pipelines: {coupled}{orphans} old `{prefix}…` ones with no app (`--pipelines`)
rate limit: {starting} of {pool} requests left, refilling {refill}/min; latency {latency}
app limit: `POST /apps` is refused once the account owns {app_limit} apps
{faults}point heroku-reaper at it:
  export HEROKU_API_URL={url} HEROKU_API_KEY={token}
  heroku-reaper --dry-run
counters: curl -s {url}/__sandbox/stats
Ctrl-C to stop.
",
        seed_number = seed.seed,
        stale = seed.stale,
        stale_age = duration::format(seed.stale_age),
        fresh = seed.fresh,
        fresh_age = duration::format(seed.fresh_age),
        other = seed.other,
        team_apps = seed.team_apps,
        shared = seed.collaborator_apps,
        pool = server.rate_limit_pool,
        refill = server.rate_limit_refill_per_minute,
        token = options.token,
        pipelines = coupled_pipelines + seed.orphan_pipelines,
        coupled = if seed.coupled_pipelines {
            "one named after and coupled to each stale and fresh app, and "
        } else {
            ""
        },
        orphans = seed.orphan_pipelines,
        app_limit = server.app_limit,
    )
}

/// `100ms, DELETE 300ms (±50%)`: the latency of every answer, a DELETE's, and its spread.
fn latency_words(server: &Server) -> String {
    let mut latency = duration::format(server.latency);
    if let Some(delete) = server.delete_latency {
        latency.push_str(&format!(", DELETE {}", duration::format(delete)));
    }
    if server.jitter > 0.0 {
        latency.push_str(&format!(" (±{:.0}%)", server.jitter * 100.0));
    }
    latency
}

/// The faults injected at random, if any, as a line.
fn faults_line(server: &Server) -> String {
    match &server.faults {
        Some(mix) => format!(
            "faults: {mix} (seed {}); slow and held answers take {}\n",
            server.fault_seed,
            duration::format(server.fault_delay)
        ),
        None => String::new(),
    }
}

fn farewell(stats: &Stats) -> String {
    format!(
        "sandbox stopped after {} requests: {} apps deleted, {} conflicts, {} rate-limited; \
         {} requests left in the pool",
        stats.requests, stats.deletes, stats.conflicts, stats.rate_limited, stats.remaining
    )
}

/// Ctrl-C, and SIGTERM where there is one, registered as soon as this is made.
struct Interrupts {
    runtime: tokio::runtime::Runtime,
    #[cfg(unix)]
    signals: [tokio::signal::unix::Signal; 2],
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
}

impl Interrupts {
    fn watch() -> anyhow::Result<Interrupts> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start a runtime to watch for Ctrl-C")?;
        let entered = runtime.enter();
        #[cfg(unix)]
        let signals = {
            use tokio::signal::unix::{SignalKind, signal};
            [
                signal(SignalKind::interrupt()).context("cannot watch for Ctrl-C")?,
                signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?,
            ]
        };
        #[cfg(windows)]
        let ctrl_c = tokio::signal::windows::ctrl_c().context("cannot watch for Ctrl-C")?;
        drop(entered);
        Ok(Interrupts {
            runtime,
            #[cfg(unix)]
            signals,
            #[cfg(windows)]
            ctrl_c,
        })
    }

    fn wait(self) {
        #[cfg(unix)]
        {
            let Interrupts {
                runtime,
                signals: [mut interrupt, mut terminate],
            } = self;
            runtime.block_on(async {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            });
        }
        #[cfg(windows)]
        {
            let Interrupts {
                runtime,
                mut ctrl_c,
            } = self;
            runtime.block_on(ctrl_c.recv());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stdout_is_two_assignments() {
        assert_eq!(
            env_lines("http://127.0.0.1:4567", "sandbox-token"),
            "HEROKU_API_URL=http://127.0.0.1:4567\nHEROKU_API_KEY=sandbox-token\n"
        );
    }

    #[test]
    fn the_summary_says_what_was_seeded_and_how_to_connect() {
        let mut options = Options::default();
        options.server.delete_latency = Some(Duration::from_millis(150));
        options.server.jitter = 0.5;
        let text = summary(&options, "http://127.0.0.1:4567");
        assert!(!text.contains("faults:"), "{text}");
        options.server.faults = Some("reset=0.1".parse().unwrap());
        let with_faults = summary(&options, "http://127.0.0.1:4567");
        assert!(
            with_faults.contains("faults: reset=0.1 (seed 1); slow and held answers take 2s\n"),
            "{with_faults}"
        );
        for expected in [
            "listens on http://127.0.0.1:4567",
            "seeded 50 apps (seed 1)",
            "30 stale   `hatchet-t-…`, 30m old or more",
            "10 fresh   `hatchet-t-…`, 60s old at most",
            "5 other",
            "3 team    `hatchet-t-…` of team `hatchet-ci`: reaped only with `--team hatchet-ci`",
            "2 shared",
            "and 43 pipelines: one named after and coupled to each stale and fresh app, and 3 old `hatchet-t-…` ones with no app (`--pipelines`)",
            "4500 of 4500 requests left, refilling 75/min; latency 0s, DELETE 150ms (±50%)",
            "app limit: `POST /apps` is refused once the account owns 100 apps\n",
            "export HEROKU_API_URL=http://127.0.0.1:4567 HEROKU_API_KEY=sandbox-token",
            "curl -s http://127.0.0.1:4567/__sandbox/stats",
            "Ctrl-C to stop.",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
    }

    #[test]
    fn the_farewell_gives_the_counts() {
        let stats = Stats {
            requests: 12,
            deletes: 5,
            conflicts: 1,
            rate_limited: 2,
            remaining: 4490,
            ..Stats::default()
        };
        assert_eq!(
            farewell(&stats),
            "sandbox stopped after 12 requests: 5 apps deleted, 1 conflicts, 2 rate-limited; \
             4490 requests left in the pool"
        );
    }
}
