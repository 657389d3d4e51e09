//! `heroku-reaper demo`: the whole job against a sandbox, no Heroku account needed.
//! Several reapers run at once, each as if on its own machine (no shared lock), and the
//! sandbox's own record checks what they did.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::cli::{Cli, DemoArgs};
use crate::config::{PrefixSource, Settings};
use crate::console;
use crate::credentials::ApiKey;
use crate::exit::{self, Ending};
use crate::heroku::Client;
use crate::reap::facts::Note;
use crate::reap::record::{AppEntry, PipelineEntry, Report};
use crate::reap::{self, Events};
use heroku_sandbox::{self as sandbox, Role, Sandbox};

pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        (1..=32).contains(&args.reapers),
        "`--reapers {}` is out of range; use 1 to 32",
        args.reapers
    );
    let sandbox = start_sandbox(args)?;
    let seed = &args.seed;
    let argv = [
        "heroku-reaper",
        "--prefix",
        &seed.prefix,
        "--api-url",
        &sandbox.url(),
    ];
    let cli = Cli::try_parse_from(argv)?;
    let settings = Settings::from_args(&cli.reap, PrefixSource::CommandLine)?;
    console::out(&format!(
        "running {} reapers at once, each as if on its own machine: heroku-reaper --prefix {} --older-than 10m\n",
        args.reapers, seed.prefix
    ));
    let started = Instant::now();
    let reports = reap_at_once(args.reapers, &settings, sandbox.token())?;
    let elapsed = started.elapsed();
    print_table(&reports);
    let right = check(&sandbox, seed.stale, elapsed);
    console::out(
        "\nNext: `heroku-reaper sandbox` serves the same API until Ctrl-C; point `heroku-reaper --dry-run` at it with the two lines it prints.",
    );
    Ok(ExitCode::from(exit::code(Ending::Demo { right })))
}

/// The sandbox the demo's reapers share, seeded as `args` say and with DELETEs that
/// take a while, as Heroku's do; says what it holds.
fn start_sandbox(args: &DemoArgs) -> anyhow::Result<Sandbox> {
    let options = sandbox::Options {
        seed: sandbox::Seed::from(&args.seed),
        server: sandbox::Server {
            delete_latency: Some(args.delete_latency),
            jitter: 0.5,
            ..sandbox::Server::default()
        },
        ..sandbox::Options::default()
    };
    let sandbox = Sandbox::start(options)?;
    let seed = &args.seed;
    console::out(&format!(
        "sandbox on {}: {} stale and {} fresh `{}` apps, {} apps with other names, {} team apps, {} apps the account only collaborates on",
        sandbox.url(),
        seed.stale,
        seed.fresh,
        seed.prefix,
        seed.other,
        seed.team_apps,
        seed.collaborator_apps
    ));
    Ok(sandbox)
}

/// Runs `reapers` reapers at once, each with a client of its own (as on a machine of its
/// own), and gives their reports in order.
fn reap_at_once(reapers: usize, settings: &Settings, token: &str) -> anyhow::Result<Vec<Report>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for index in 0..reapers {
            let client = Arc::new(Client::new(settings.client.clone(), &ApiKey::new(token))?);
            let engine = settings.engine.clone();
            tasks.spawn(async move { (index, reap::reap(client, &engine, &Quiet).await) });
        }
        let mut reports: Vec<(usize, Report)> = tasks.join_all().await;
        reports.sort_by_key(|(index, _)| *index);
        anyhow::Ok(reports.into_iter().map(|(_, report)| report).collect())
    })
}

/// A row per reaper.
fn print_table(reports: &[Report]) {
    console::out("reaper  status  deleted  conflicts  left to others  requests  elapsed");
    for (index, report) in reports.iter().enumerate() {
        let c = &report.counts;
        console::out(&format!(
            "{:>6}  {:<6}  {:>7}  {:>9}  {:>14}  {:>8}  {:>6.1}s",
            index + 1,
            if exit::code(Ending::Run(report)) == exit::SUCCESS {
                "ok"
            } else {
                "failed"
            },
            c.deleted,
            c.conflicts,
            c.deleted_by_others + c.left_to_others,
            report.requests.requests,
            report.elapsed_seconds
        ));
    }
}

/// What the sandbox's own record says the reapers did, in `elapsed`, with `stale` stale
/// apps seeded; whether they got it right: every stale app gone and no other.
fn check(sandbox: &Sandbox, stale: usize, elapsed: Duration) -> bool {
    let stats = sandbox.stats();
    let deleted = sandbox.deleted();
    let wrong = deleted.iter().filter(|app| app.role != Role::Stale).count();
    let apps = sandbox.apps();
    let left_alone = |role: Role| apps.iter().filter(|app| app.role == role).count();
    let stale_left = left_alone(Role::Stale);
    console::out(&format!(
        "\nthe sandbox's record: {} of {} stale apps deleted, {} stale left, {} wrong apps deleted",
        deleted.len() - wrong,
        stale,
        stale_left,
        wrong
    ));
    console::out(&format!(
        "                     {} requests, {} duplicate deletes (404/403), {} rate-limited, in {:.1}s",
        stats.requests,
        stats.conflicts,
        stats.rate_limited,
        elapsed.as_secs_f64()
    ));
    console::out(&format!(
        "left alone: {} fresh, {} other names, {} team, {} collaborator apps",
        left_alone(Role::Fresh),
        left_alone(Role::Other),
        left_alone(Role::Team),
        left_alone(Role::Collaborator)
    ));
    wrong == 0 && stale_left == 0
}

/// The demo prints its own table; the reapers stay quiet.
struct Quiet;

impl Events for Quiet {
    fn planned(&self, _deletes: usize) {}
    fn outcome(&self, _entry: &AppEntry) {}
    fn pipeline_outcome(&self, _entry: &PipelineEntry) {}
    fn note(&self, _text: &str) {}
    fn noted(&self, _note: &Note) {}
}
