//! `heroku-reaper demo`: the whole job against a sandbox, no Heroku account needed.
//! Several reapers run at once, each as if on its own machine (no shared lock), and the
//! sandbox's own record checks what they did.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;

use crate::cli::{Cli, DemoArgs};
use crate::config::{PrefixSource, Settings};
use crate::console;
use crate::credentials::ApiKey;
use crate::exit::{self, Ending};
use crate::heroku::Client;
use crate::reap::record::{AppEntry, PipelineEntry, Report};
use crate::reap::{self, Events};
use heroku_sandbox::{self as sandbox, Role, Sandbox};

pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        (1..=32).contains(&args.reapers),
        "`--reapers {}` is out of range; use 1 to 32",
        args.reapers
    );
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let reports: Vec<Report> = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for index in 0..args.reapers {
            let client = Arc::new(Client::new(
                settings.client.clone(),
                &ApiKey::new(sandbox.token()),
            )?);
            let engine = settings.engine.clone();
            tasks.spawn(async move { (index, reap::reap(client, &engine, &Quiet).await) });
        }
        let mut reports: Vec<(usize, Report)> = tasks.join_all().await;
        reports.sort_by_key(|(index, _)| *index);
        anyhow::Ok(reports.into_iter().map(|(_, report)| report).collect())
    })?;
    let elapsed = started.elapsed();

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

    let stats = sandbox.stats();
    let deleted = sandbox.deleted();
    let wrong = deleted.iter().filter(|app| app.role != Role::Stale).count();
    let stale_left = sandbox
        .apps()
        .iter()
        .filter(|app| app.role == Role::Stale)
        .count();
    let left_alone = |role: Role| sandbox.apps().iter().filter(|app| app.role == role).count();
    console::out(&format!(
        "\nthe sandbox's record: {} of {} stale apps deleted, {} stale left, {} wrong apps deleted",
        deleted.len() - wrong,
        seed.stale,
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
    console::out(
        "\nNext: `heroku-reaper sandbox` serves the same API until Ctrl-C; point `heroku-reaper --dry-run` at it with the two lines it prints.",
    );
    let right = wrong == 0 && stale_left == 0;
    Ok(ExitCode::from(exit::code(Ending::Demo { right })))
}

/// The demo prints its own table; the reapers stay quiet.
struct Quiet;

impl Events for Quiet {
    fn planned(&self, _deletes: usize) {}
    fn outcome(&self, _entry: &AppEntry) {}
    fn pipeline_outcome(&self, _entry: &PipelineEntry) {}
    fn note(&self, _text: &str) {}
}
