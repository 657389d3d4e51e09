//! A CI day of a Hatchet-based buildpack repository, against the sandbox with its app
//! limit: one account shared by a day of workflow runs, each a matrix of jobs on
//! separate machines, each job a set of test processes that create an app, hold it for
//! the test and delete it at teardown; some runs are cancelled and some processes
//! crash, leaking their apps. One table row per reaping strategy:
//!
//! - A: per-process reaping, Hatchet's create path alone (modelled below: by default
//!   as Hatchet 8.0.1 and later reap, only after a failed create);
//! - B: one `heroku-reaper` step before each run's tests and a daily scheduled one, the
//!   tests keeping Hatchet's create path as it is, as a safety net;
//! - C: B with `--github-live-runs`, against a loopback GitHub that knows the live runs;
//! - D: C with `--reserve-apps` (room for the run): a run's tests start once the account
//!   has room for them beside the runs admitted before, as the loopback GitHub tells;
//! - E: B inside a workflow-level `concurrency` group: whole runs one at a time.
//!
//! Time runs `--scale` times faster than real time; every duration below is in
//! simulated seconds. Run it with `bench/suite`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use fastrand::Rng;
use heroku_sandbox::{Options, Sandbox, Seed, Server, Stats};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::watch;

const BIN: &str = env!("CARGO_BIN_EXE_heroku-reaper");
const PREFIX: &str = "hatchet-t-";
const HOUR: f64 = 3600.0;
/// `HATCHET_ALIVE_TTL_MINUTES`' default (lib/hatchet/reaper.rb, `TTL_MINUTES`).
const HATCHET_TTL: f64 = 7.0 * 60.0;
/// The age the step reaps past: heroku-reaper's default, and `hatchet destroy --older-than 10`.
const STEP_TTL: f64 = 10.0 * 60.0;
/// heroku-reaper's default `--skew`.
const SKEW: f64 = 120.0;
/// heroku-reaper's default `--room-poll`.
const ROOM_POLL: f64 = 30.0;
/// D's `--wait-for-room`: long, as E's queue is (`queue: max` waits for as long as it
/// takes), within GitHub's 6-hour limit on a job.
const ROOM_WAIT: f64 = 5.0 * HOUR;
/// Heroku's rate-limit pool refill per minute.
const REFILL_PER_MINUTE: f64 = 75.0;
const REPO: &str = "heroku/heroku-buildpack-example";
const GITHUB_TOKEN: &str = "ghs_benchSuiteFakeToken";

/// The scale of the day; every field has a flag.
#[derive(Clone, Debug)]
struct Day {
    runs: usize,
    jobs: usize,
    processes: usize,
    tests: usize,
    app_limit: usize,
    hatchet_app_limit: usize,
    cancel_rate: f64,
    crash_rate: f64,
    seeds: u64,
    scale: f64,
    strategies: Vec<Strategy>,
    /// When the test processes' Hatchet lists and reaps.
    hatchet_reaps: HatchetReaps,
}

impl Default for Day {
    fn default() -> Day {
        Day {
            runs: 30,
            jobs: 3,
            processes: 25,
            tests: 75,
            app_limit: 100,
            hatchet_app_limit: 100,
            cancel_rate: 0.2,
            crash_rate: 0.005,
            seeds: 3,
            scale: 720.0,
            strategies: Strategy::ALL.to_vec(),
            hatchet_reaps: HatchetReaps::AfterFailure,
        }
    }
}

const USAGE: &str = "\
usage: bench/suite [--runs N] [--jobs N] [--processes N] [--tests N] [--app-limit N]
                   [--hatchet-app-limit N] [--cancel-rate P] [--crash-rate P] [--seeds N]
                   [--scale X] [--strategies A,B,C] [--hatchet-reaps WHEN]

  --runs N               workflow runs in the day, started between 08:00 and 20:00 [30]
  --jobs N               matrix jobs per run, each on its own machine [3]
  --processes N          test processes per job (Hatchet runs 25-90) [25]
  --tests N              tests per job, shared out among its processes [75]
  --app-limit N          the account's app limit [100]
  --hatchet-app-limit N  HATCHET_APP_LIMIT of the test processes [100]
  --cancel-rate P        share of runs cancelled mid-way, leaking their apps [0.2]
  --crash-rate P         share of tests whose process dies mid-test, leaking its app [0.005]
  --seeds N              days to simulate per strategy; the table shows medians and worsts [3]
  --scale X              how much faster than real time the day runs: at 720 a day takes about 75 s [720]
  --strategies LIST      which rows to run [A,B,C,D,E]
  --hatchet-reaps WHEN   when the test processes reap: `after-failure` (only after a failed
                         create, as Hatchet 8.0.1 and later do) or `before-create` (a
                         listing before every create: Hatchet 8.0.0, the old behaviour)
                         [after-failure]";

/// A row of the table: who reaps, and who waits for room. A new strategy is a variant
/// here, its entry in `ALL` and its line in `traits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strategy {
    A,
    B,
    C,
    D,
    E,
}

/// What a strategy does, beside Hatchet's own create path, which every one keeps.
struct Traits {
    title: &'static str,
    /// A `heroku-reaper` step before each run's tests, and a daily one at 23:00.
    cleanup_step: bool,
    /// That step passes `--github-live-runs`, against the loopback GitHub.
    live_runs: bool,
    /// That step passes `--reserve-apps` (the run's processes x jobs): the run's tests
    /// start only when the account has room for them beside the runs admitted before.
    room_gate: bool,
    /// A workflow-level `concurrency` group (`queue: max`): whole runs one at a time.
    one_run_at_a_time: bool,
}

impl Strategy {
    const ALL: [Strategy; 5] = [
        Strategy::A,
        Strategy::B,
        Strategy::C,
        Strategy::D,
        Strategy::E,
    ];

    #[rustfmt::skip]
    fn traits(self) -> Traits {
        let (title, cleanup_step, live_runs, room_gate, one_run_at_a_time) = match self {
            Strategy::A => ("A: per-process reaping (Hatchet)",           false, false, false, false),
            Strategy::B => ("B: heroku-reaper step per run + daily",      true,  false, false, false),
            Strategy::C => ("C: B with --github-live-runs",               true,  true,  false, false),
            Strategy::D => ("D: C with --reserve-apps (room for the run)", true, true,  true,  false),
            Strategy::E => ("E: B in a workflow concurrency group",       true,  false, false, true),
        };
        Traits { title, cleanup_step, live_runs, room_gate, one_run_at_a_time }
    }

    fn letter(self) -> &'static str {
        &self.traits().title[..1]
    }

    fn title(self) -> &'static str {
        self.traits().title
    }

    /// Whether the step reads the loopback GitHub: for the live runs, or for the leases.
    fn reads_github(self) -> bool {
        let traits = self.traits();
        traits.live_runs || traits.room_gate
    }
}

/// When Hatchet's test processes list and reap (`App#create_app`, lib/hatchet/app.rb).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HatchetReaps {
    /// Hatchet 8.0.1 and later: the app's new reaper is asked to reap before the create
    /// with `force_refresh: false` and an empty list, which lists nothing; only a failed
    /// create lists, reaps and sleeps.
    AfterFailure,
    /// Hatchet 8.0.0, the old behaviour: a listing and a reap before every create.
    BeforeCreate,
}

impl HatchetReaps {
    fn describe(self) -> &'static str {
        match self {
            HatchetReaps::AfterFailure => {
                "after a failed create (Hatchet 8.0.1 and later, today's behaviour)"
            }
            HatchetReaps::BeforeCreate => "before every create (Hatchet 8.0.0, the old behaviour)",
        }
    }
}

fn main() -> ExitCode {
    // Cargo passes `--bench` to bench targets.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| arg != "--bench")
        .collect();
    let day = match parse(&args) {
        Ok(day) => day,
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut results: Vec<(Strategy, Vec<Outcome>)> =
        day.strategies.iter().map(|&s| (s, Vec::new())).collect();
    for seed in 1..=day.seeds {
        let plan = plan(&day, seed);
        eprintln!(
            "seed {seed}: {} runs ({} cancelled), {} tests; a day takes about {:.0}s",
            plan.runs.len(),
            plan.runs.iter().filter(|r| r.cancel_at.is_some()).count(),
            plan.runs
                .iter()
                .flat_map(|r| &r.jobs)
                .flat_map(|j| &j.processes)
                .map(Vec::len)
                .sum::<usize>(),
            (plan.scheduled - plan.begin) / day.scale
        );
        // The strategies' days run side by side, each against its own sandbox.
        let outcomes = runtime.block_on(async {
            let days = day
                .strategies
                .iter()
                .map(|&strategy| simulate(day.clone(), plan.clone(), strategy, seed));
            futures_join(days).await
        });
        for ((_, list), outcome) in results.iter_mut().zip(outcomes) {
            list.push(outcome);
        }
    }
    print_table(&day, &results);
    ExitCode::SUCCESS
}

/// Awaits every future, each on its own task.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.expect("a simulated day"));
    }
    outputs
}

fn parse(args: &[String]) -> Result<Day, String> {
    let mut day = Day::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = args
            .next()
            .ok_or_else(|| format!("`{flag}` needs a value"))?;
        let whole = |least: usize| -> Result<usize, String> {
            value
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= least)
                .ok_or_else(|| format!("`{flag} {value}`: give a whole number of at least {least}"))
        };
        let share = || -> Result<f64, String> {
            value
                .parse::<f64>()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    format!("`{flag} {value}`: give a share between 0 and 1, such as 0.2")
                })
        };
        match flag.as_str() {
            "--runs" => day.runs = whole(1)?,
            "--jobs" => day.jobs = whole(1)?,
            "--processes" => day.processes = whole(1)?,
            "--tests" => day.tests = whole(1)?,
            "--app-limit" => day.app_limit = whole(1)?,
            "--hatchet-app-limit" => day.hatchet_app_limit = whole(1)?,
            "--cancel-rate" => day.cancel_rate = share()?,
            "--crash-rate" => day.crash_rate = share()?,
            "--seeds" => day.seeds = whole(1)? as u64,
            "--scale" => {
                day.scale = value
                    .parse::<f64>()
                    .ok()
                    .filter(|x| (1.0..=3600.0).contains(x))
                    .ok_or_else(|| {
                        format!(
                            "`--scale {value}`: give a speed-up between 1 and 3600, such as 720"
                        )
                    })?;
            }
            "--hatchet-reaps" => {
                day.hatchet_reaps = match value.as_str() {
                    "after-failure" => HatchetReaps::AfterFailure,
                    "before-create" => HatchetReaps::BeforeCreate,
                    _ => {
                        return Err(format!(
                            "`--hatchet-reaps {value}`: use `after-failure` or `before-create`"
                        ));
                    }
                };
            }
            "--strategies" => {
                day.strategies = value
                    .split(',')
                    .map(|s| {
                        let letter = s.trim();
                        Strategy::ALL
                            .into_iter()
                            .find(|strategy| strategy.letter().eq_ignore_ascii_case(letter))
                            .ok_or_else(|| {
                                let known: Vec<&str> =
                                    Strategy::ALL.iter().map(|s| s.letter()).collect();
                                format!(
                                    "`--strategies {value}`: `{letter}` is not a strategy; use {}, comma-separated",
                                    known.join(", ")
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?;
            }
            _ => return Err(format!("unknown flag `{flag}`")),
        }
    }
    Ok(day)
}

// The plan of a day: pure, drawn from the seed, the same for every strategy.

#[derive(Clone, Debug)]
struct Plan {
    /// Simulated seconds since midnight when the simulation starts, and midnight: nothing
    /// happens before the first run or after the last, so both ends of the night are
    /// skipped (and leaked apps' hours counted to midnight).
    begin: f64,
    end: f64,
    /// When the daily scheduled cleanup runs (B and C).
    scheduled: f64,
    runs: Vec<RunPlan>,
}

#[derive(Clone, Debug)]
struct RunPlan {
    id: u64,
    start: f64,
    /// When a newer push cancels it, killing its test processes.
    cancel_at: Option<f64>,
    jobs: Vec<JobPlan>,
}

#[derive(Clone, Debug)]
struct JobPlan {
    /// Waiting for a runner, after the run starts (or after its cleanup job).
    delay: f64,
    /// The tests each process runs, one after another.
    processes: Vec<Vec<TestPlan>>,
}

#[derive(Clone, Copy, Debug)]
struct TestPlan {
    /// How long the test holds its app: a deploy and a few checks.
    hold: f64,
    /// The process dies this far into the hold, leaking the app.
    crash_after: Option<f64>,
}

fn plan(day: &Day, seed: u64) -> Plan {
    let mut rng = Rng::with_seed(seed);
    let mut starts: Vec<f64> = (0..day.runs)
        .map(|_| 8.0 * HOUR + rng.f64() * 12.0 * HOUR)
        .collect();
    starts.sort_by(f64::total_cmp);
    let runs = starts
        .into_iter()
        .enumerate()
        .map(|(n, start)| {
            let cancel_at =
                (rng.f64() < day.cancel_rate).then(|| start + 120.0 + rng.f64() * 780.0);
            let jobs = (0..day.jobs)
                .map(|_| {
                    let mut processes = vec![Vec::new(); day.processes];
                    for test in 0..day.tests {
                        let hold = 60.0 + rng.f64() * 240.0;
                        let crash_after = (rng.f64() < day.crash_rate).then(|| rng.f64() * hold);
                        processes[test % day.processes].push(TestPlan { hold, crash_after });
                    }
                    JobPlan {
                        delay: 10.0 + rng.f64() * 50.0,
                        processes,
                    }
                })
                .collect();
            RunPlan {
                id: 1000 + n as u64,
                start,
                cancel_at,
                jobs,
            }
        })
        .collect::<Vec<_>>();
    let first = runs.first().map_or(8.0 * HOUR, |run| run.start);
    Plan {
        begin: first - 600.0,
        end: 24.0 * HOUR,
        scheduled: 23.0 * HOUR,
        runs,
    }
}

// The clock: simulated seconds since midnight, `scale` times faster than the wall.

#[derive(Clone, Copy)]
struct Clock {
    origin: Instant,
    begin: f64,
    scale: f64,
}

impl Clock {
    fn now(&self) -> f64 {
        self.begin + self.origin.elapsed().as_secs_f64() * self.scale
    }

    fn wall(&self, sim: f64) -> Duration {
        Duration::from_secs_f64((sim / self.scale).max(0.0))
    }

    async fn sleep(&self, sim: f64) {
        tokio::time::sleep(self.wall(sim)).await;
    }

    async fn sleep_until(&self, at: f64) {
        let deadline = self.origin + self.wall(at - self.begin);
        tokio::time::sleep_until(deadline.into()).await;
    }

    /// A simulated duration as heroku-reaper reads one, in wall-clock milliseconds.
    fn flag(&self, sim: f64) -> String {
        format!("{}ms", self.wall(sim).as_millis().max(1))
    }
}

// What a day records.

/// The times of a run that was not cancelled, in simulated seconds.
#[derive(Clone, Copy, Debug)]
struct RunTimes {
    /// Before its tests could start: waiting for its turn (E) or for room (D).
    queued: f64,
    /// From its start to the end of its last test process, the cleanup step's own work
    /// counted at its wall-clock length (see `Step`).
    latency: f64,
    /// What its tests take as planned, with the account to themselves (each process's
    /// holds one after another, after its job's wait for a runner), whoever reaps: the
    /// same in every strategy's row.
    alone: f64,
}

#[derive(Default)]
struct Record {
    runs: Vec<RunTimes>,
    /// Runs whose cleanup step did not admit them: their tests never ran (D).
    not_admitted: u64,
    /// 422s to POST /apps.
    failed_creates: u64,
    /// Tests that gave up on an app after Hatchet's three attempts.
    tests_failed: u64,
    /// Apps a reaper deleted while their test still held them.
    stolen: u64,
    /// Process-seconds from a test's first refused create to its app or its giving up.
    waiting: f64,
    peak: usize,
    /// Leaked apps, by id, with when they leaked.
    leaked: HashMap<String, f64>,
    leaked_seconds: f64,
    steps: u64,
    step_failures: u64,
    /// Each step's own work (`Step::work`), wall-clock seconds.
    step_work: Vec<f64>,
    late_total: f64,
    late_worst: f64,
    samples: u64,
}

#[derive(Clone, Debug, Default)]
struct Outcome {
    /// Per run that was not cancelled: the median and the worst of a day.
    queued: (f64, f64),
    latency: (f64, f64),
    alone: (f64, f64),
    not_admitted: u64,
    failed_creates: u64,
    tests_failed: u64,
    stolen: u64,
    waiting: f64,
    requests: u64,
    duplicates: u64,
    peak: usize,
    left: usize,
    leaked_hours: f64,
    steps: u64,
    step_failures: u64,
    /// A step's own work, wall-clock seconds: the median and the worst of a day.
    step_work: (f64, f64),
    /// Simulated seconds a 15-second timer woke late: on average, and at worst.
    late_mean: f64,
    late_worst: f64,
}

/// What the tasks of one day share.
struct World {
    day: Day,
    strategy: Strategy,
    clock: Clock,
    sandbox: Sandbox,
    http: reqwest::Client,
    record: Mutex<Record>,
    github: Option<FakeGithub>,
    /// E's `concurrency` group: a run holds it from its start to its end, the others
    /// wait in order (`queue: max`).
    turns: Option<tokio::sync::Semaphore>,
    /// A temp dir per machine: its lock file, as a runner's `$TMPDIR`.
    machines: tempfile::TempDir,
    seed: u64,
}

impl World {
    fn record(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn simulate(day: Day, plan: Plan, strategy: Strategy, seed: u64) -> Outcome {
    let scale = day.scale;
    let sandbox = Sandbox::start(Options {
        seed: Seed {
            seed,
            ..Seed::empty()
        },
        server: Server {
            rate_limit_refill_per_minute: REFILL_PER_MINUTE * scale,
            app_limit: day.app_limit,
            subsecond_timestamps: true,
            ..Server::default()
        },
        ..Options::default()
    })
    .expect("the sandbox starts");
    let github =
        (strategy.reads_github()).then(|| FakeGithub::start().expect("the fake GitHub starts"));
    let world = Arc::new(World {
        clock: Clock {
            origin: Instant::now(),
            begin: plan.begin,
            scale,
        },
        day,
        strategy,
        sandbox,
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .expect("an HTTP client"),
        record: Mutex::new(Record::default()),
        github,
        turns: strategy
            .traits()
            .one_run_at_a_time
            .then(|| tokio::sync::Semaphore::new(1)),
        machines: tempfile::tempdir().expect("a temp dir"),
        seed,
    });

    let (done, finished) = watch::channel(false);
    let sampler = tokio::spawn(sample(world.clone(), finished));
    let mut tasks = Vec::new();
    for run in plan.runs.clone() {
        tasks.push(tokio::spawn(workflow_run(world.clone(), run)));
    }
    if strategy.traits().cleanup_step {
        let world = world.clone();
        tasks.push(tokio::spawn(async move {
            world.clock.sleep_until(plan.scheduled).await;
            scheduled_run(&world, 1).await;
        }));
    }
    for task in tasks {
        task.await.expect("a workflow run");
    }
    let _ = done.send(true);
    let last = sampler.await.expect("the sampler");
    // Nothing happens between the last run and midnight: leaked apps alive now stay.
    let leaking = sample_once(&world, last);
    world.record().leaked_seconds += leaking as f64 * (plan.end - world.clock.now()).max(0.0);

    let stats: Stats = world.sandbox.stats();
    let left = world
        .sandbox
        .apps()
        .iter()
        .filter(|app| is_hatchet(&app.name))
        .count();
    let record = world.record();
    let times = |of: fn(&RunTimes) -> f64| median_and_worst(record.runs.iter().map(of).collect());
    Outcome {
        queued: times(|run| run.queued),
        latency: times(|run| run.latency),
        alone: times(|run| run.alone),
        not_admitted: record.not_admitted,
        failed_creates: record.failed_creates,
        tests_failed: record.tests_failed,
        stolen: record.stolen,
        waiting: record.waiting,
        requests: stats.counted(),
        duplicates: stats.conflicts,
        peak: record.peak,
        left,
        leaked_hours: record.leaked_seconds / HOUR,
        steps: record.steps,
        step_failures: record.step_failures,
        step_work: median_and_worst(record.step_work.clone()),
        late_mean: record.late_total / record.samples.max(1) as f64,
        late_worst: record.late_worst,
    }
}

/// Every 15 simulated seconds until the runs are done: the peak app count, and the
/// leaked apps alive times the time since the last look. Gives the last look's time.
async fn sample(world: Arc<World>, done: watch::Receiver<bool>) -> f64 {
    let mut last = world.clock.now();
    while !*done.borrow() {
        world.clock.sleep(15.0).await;
        sample_once(&world, last);
        let now = world.clock.now();
        // How late the timer woke: what a loaded machine does to a sped-up day.
        let late = (now - last - 15.0).max(0.0);
        let mut record = world.record();
        record.late_total += late;
        record.late_worst = record.late_worst.max(late);
        record.samples += 1;
        drop(record);
        last = now;
    }
    last
}

/// One look; gives how many leaked apps are alive.
fn sample_once(world: &World, since: f64) -> usize {
    let now = world.clock.now();
    let alive: Vec<String> = world.sandbox.apps().into_iter().map(|app| app.id).collect();
    let mut record = world.record();
    record.peak = record.peak.max(alive.len());
    let leaking = alive
        .iter()
        .filter(|id| record.leaked.get(*id).is_some_and(|at| *at <= now))
        .count();
    record.leaked_seconds += leaking as f64 * (now - since);
    leaking
}

fn is_hatchet(name: &str) -> bool {
    name.strip_prefix(PREFIX).is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

// A workflow run: (B-E) a cleanup job, then the matrix jobs, which a cancel stops.

async fn workflow_run(world: Arc<World>, run: RunPlan) {
    world.clock.sleep_until(run.start).await;
    let (cancel, cancelled) = watch::channel(false);
    if let Some(at) = run.cancel_at {
        let world = world.clone();
        tokio::spawn(async move {
            world.clock.sleep_until(at).await;
            let _ = cancel.send(true);
        });
    }
    // E: the whole run waits for its turn; one cancelled while it waits never starts.
    let _turn = match &world.turns {
        Some(turns) => tokio::select! {
            turn = turns.acquire() => Some(turn.expect("the group stays open")),
            () = wait_cancelled(cancelled.clone()) => return,
        },
        None => None,
    };
    let turn_wait = world.clock.now() - run.start;
    if let Some(github) = &world.github {
        github.started(run.id, Utc::now());
    }
    let mut step = Step::default();
    if world.strategy.traits().cleanup_step {
        let machine = format!("run-{}", run.id);
        step = cleanup_step(&world, run.id, &machine, cancelled.clone()).await;
        if !step.passed && world.strategy.traits().room_gate && !*cancelled.borrow() {
            // Not admitted: the test jobs that `needs:` the cleanup are skipped.
            world.record().not_admitted += 1;
            if let Some(github) = &world.github {
                github.completed(run.id);
            }
            return;
        }
    }
    let mut processes = Vec::new();
    for (job_index, job) in run.jobs.iter().enumerate() {
        let machine = Arc::new(tokio::sync::Mutex::new(()));
        for (index, tests) in job.processes.iter().enumerate() {
            let world = world.clone();
            let machine = machine.clone();
            let tests = tests.clone();
            let cancelled = cancelled.clone();
            let delay = job.delay;
            let seed = world.seed ^ (run.id << 20) ^ ((job_index as u64) << 10) ^ index as u64;
            processes.push(tokio::spawn(async move {
                world.clock.sleep(delay).await;
                test_process(&world, &machine, tests, cancelled, seed).await;
            }));
        }
    }
    for process in processes {
        process.await.expect("a test process");
    }
    if let Some(github) = &world.github {
        github.completed(run.id);
    }
    if run.cancel_at.is_none() {
        world.record().runs.push(RunTimes {
            queued: turn_wait + step.waited,
            latency: world.clock.now() - run.start - step.work_simulated + step.work,
            alone: planned_span(&run),
        });
    }
}

/// How long the run's tests take as planned: the longest job, each job its wait for a
/// runner and then its longest process, each process its tests one after another (up
/// to a crash, which ends the process).
fn planned_span(run: &RunPlan) -> f64 {
    let process = |tests: &Vec<TestPlan>| {
        let mut span = 0.0;
        for test in tests {
            if let Some(after) = test.crash_after {
                return span + after;
            }
            span += test.hold;
        }
        span
    };
    let job = |job: &JobPlan| job.delay + job.processes.iter().map(process).fold(0.0, f64::max);
    run.jobs.iter().map(job).fold(0.0, f64::max)
}

async fn wait_cancelled(mut cancelled: watch::Receiver<bool>) {
    let _ = cancelled.wait_for(|cancelled| *cancelled).await;
}

/// The daily scheduled cleanup: a run of its own, with one job that reserves nothing.
async fn scheduled_run(world: &World, id: u64) {
    if let Some(github) = &world.github {
        github.started(id, Utc::now());
    }
    let (_never, cancelled) = watch::channel(false);
    cleanup_step(world, id, "scheduled", cancelled).await;
    if let Some(github) = &world.github {
        github.completed(id);
    }
}

/// What a cleanup step did.
#[derive(Clone, Copy, Debug, Default)]
struct Step {
    passed: bool,
    /// Simulated seconds it waited for room (`--reserve-apps`).
    waited: f64,
    /// Its own work (listing, deleting, reading GitHub), wall-clock seconds, and the
    /// simulated seconds that work took from the day. The day runs about a thousand
    /// times faster than the wall clock, so a step's half second of work would weigh
    /// like ten minutes of a run's time: a run's latency counts it at its wall-clock
    /// length instead, as a real runner would.
    work: f64,
    work_simulated: f64,
}

/// One `heroku-reaper` step on a fresh machine of its own; a cancel kills it. With D,
/// the runs' steps (not the scheduled one) wait for room for the run.
async fn cleanup_step(
    world: &World,
    run_id: u64,
    machine: &str,
    cancelled: watch::Receiver<bool>,
) -> Step {
    let dir: PathBuf = world.machines.path().join(machine);
    std::fs::create_dir_all(&dir).expect("the machine's temp dir");
    let report = dir.join("report.json");
    let log = dir.join("stderr.log");
    let mut command = step_command(world, &dir, &report, &log);
    if world.strategy.reads_github() {
        github_env(world, &mut command, run_id, machine);
    }
    if let Some(github) = &world.github {
        github.cleanup_started(run_id, machine, Utc::now());
    }
    let (began, began_simulated) = (Instant::now(), world.clock.now());
    let status = run_until_cancelled(command, cancelled).await;
    let (took, took_simulated) = (
        began.elapsed().as_secs_f64(),
        world.clock.now() - began_simulated,
    );
    let passed = status.is_some_and(|status| status.success());
    if let Some(github) = &world.github {
        github.cleanup_done(run_id, passed);
    }
    let waited = std::fs::read_to_string(&report)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|report| report["room"]["waited_seconds"].as_f64())
        .unwrap_or(0.0);
    let mut record = world.record();
    record.steps += 1;
    if let Some(status) = status.filter(|status| !status.success()) {
        record.step_failures += 1;
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        let last = said.lines().last().unwrap_or_default().to_string();
        eprintln!(
            "warning: a heroku-reaper step exited {:?}: {last}",
            status.code()
        );
    }
    let work = (took - waited).max(0.0);
    record.step_work.push(work);
    Step {
        passed,
        waited: waited * world.clock.scale,
        work,
        work_simulated: (took_simulated - waited * world.clock.scale).max(0.0),
    }
}

/// The step's command: its machine's lock and temp dir, its report and log files, no
/// GitHub unless `github_env` adds it.
fn step_command(
    world: &World,
    dir: &std::path::Path,
    report: &std::path::Path,
    log: &std::path::Path,
) -> Command {
    let clock = world.clock;
    let mut command = Command::new(BIN);
    command
        .args(["--format", "json", "--older-than"])
        .arg(clock.flag(STEP_TTL))
        .arg("--rate-limit-refill")
        .arg((REFILL_PER_MINUTE * world.day.scale).to_string())
        .arg("--retry-backoff")
        .arg(clock.flag(0.5))
        .arg("--report")
        .arg(report)
        .env("HEROKU_API_URL", world.sandbox.url())
        .env("HEROKU_API_KEY", world.sandbox.token())
        .env("HEROKU_REAPER_LOCK_FILE", dir.join("heroku-reaper.lock"))
        .env("HOME", dir)
        .env("TMPDIR", dir)
        .env_remove("HATCHET_APP_PREFIX")
        .env_remove("RUST_LOG")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_REPOSITORY")
        .env_remove("GITHUB_RUN_ID")
        .env_remove("RUNNER_NAME")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // A file, not a pipe: a step that waits long says a line at every look.
        .stderr(std::fs::File::create(log).expect("the step's log"));
    command
}

/// What C's and D's steps are given: the loopback GitHub, this run, and their flags.
fn github_env(world: &World, command: &mut Command, run_id: u64, machine: &str) {
    let github = world.github.as_ref().expect("C and D have a GitHub");
    let clock = world.clock;
    command
        .env("GITHUB_API_URL", github.url())
        .env("GITHUB_TOKEN", GITHUB_TOKEN)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_RUN_ID", run_id.to_string())
        .env("RUNNER_NAME", machine);
    let traits = world.strategy.traits();
    if traits.live_runs {
        command
            .args(["--github-live-runs", "--skew"])
            .arg(clock.flag(SKEW));
    }
    if traits.room_gate && machine != "scheduled" {
        let day = &world.day;
        command
            .arg("--reserve-apps")
            .arg((day.jobs * day.processes).to_string())
            .arg("--account-limit")
            .arg(day.app_limit.to_string())
            .arg("--room-poll")
            .arg(clock.flag(ROOM_POLL))
            .arg("--wait-for-room")
            .arg(clock.flag(ROOM_WAIT))
            .arg("--deadline")
            .arg(clock.flag(ROOM_WAIT + HOUR / 2.0));
    }
}

/// Runs `command` to its end, or kills it when the run is cancelled first (`None`).
async fn run_until_cancelled(
    mut command: Command,
    cancelled: watch::Receiver<bool>,
) -> Option<std::process::ExitStatus> {
    let mut child = command.spawn().expect("heroku-reaper starts");
    loop {
        if let Some(status) = child.try_wait().expect("the step can be waited for") {
            return Some(status);
        }
        if *cancelled.borrow() {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// A test process: Hatchet's App lifecycle, test after test, until it ends, crashes or
// its run is cancelled.

async fn test_process(
    world: &World,
    machine: &tokio::sync::Mutex<()>,
    tests: Vec<TestPlan>,
    cancelled: watch::Receiver<bool>,
    seed: u64,
) {
    let mut api = Api::new(world, seed);
    // The app the process holds now: it leaks if the process dies.
    let held: Mutex<Option<String>> = Mutex::new(None);
    let work = async {
        for test in tests {
            let mut hatchet = HatchetReaper::new(world.day.hatchet_app_limit);
            let Some(app) = create_app(world, &mut api, &mut hatchet, machine).await else {
                continue;
            };
            *held.lock().unwrap_or_else(PoisonError::into_inner) = Some(app.clone());
            if let Some(after) = test.crash_after {
                world.clock.sleep(after).await;
                return;
            }
            world.clock.sleep(test.hold).await;
            // `App#teardown!` deletes the app; a 404 means a reaper deleted it under the test.
            if let Deleted::Conflict = api.delete(&app).await {
                world.record().stolen += 1;
            }
            *held.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
    };
    tokio::select! {
        () = work => {}
        () = wait_cancelled(cancelled) => {}
    }
    let leaked = held.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(app) = leaked {
        let now = world.clock.now();
        world.record().leaked.insert(app, now);
    }
}

/// `App#create_app` (lib/hatchet/app.rb). Before the create, Hatchet 8.0.1 and later ask
/// the app's own, new reaper to reap with `force_refresh: false`: its list is empty, so
/// nothing is listed or deleted, and nothing is modelled; Hatchet 8.0.0 listed and
/// reaped there (`--hatchet-reaps before-create`). On a failed create: refresh the list,
/// delete old apps (`Reaper#destroy_older_apps`) with `:stop_if_under_limit`, then
/// `Reaper#sleep_if_over_limit`, and retry the whole thing, three attempts in all
/// (`3.times.retry`). Gives the app's id, or `None` when the test fails.
async fn create_app(
    world: &World,
    api: &mut Api<'_>,
    hatchet: &mut HatchetReaper,
    machine: &tokio::sync::Mutex<()>,
) -> Option<String> {
    if world.day.hatchet_reaps == HatchetReaps::BeforeCreate {
        let force_refresh = hatchet.apps.is_empty();
        hatchet
            .destroy_older_apps(
                world,
                api,
                machine,
                force_refresh,
                OnConflict::StopIfUnderLimit,
            )
            .await;
    }
    let mut refused_at = None;
    for _ in 0..3 {
        match api.create().await {
            Ok(id) => {
                if let Some(at) = refused_at {
                    world.record().waiting += world.clock.now() - at;
                }
                return Some(id);
            }
            Err(status) => {
                if status == StatusCode::UNPROCESSABLE_ENTITY {
                    world.record().failed_creates += 1;
                    refused_at.get_or_insert(world.clock.now());
                }
                hatchet
                    .destroy_older_apps(world, api, machine, true, OnConflict::StopIfUnderLimit)
                    .await;
                hatchet.sleep_if_over_limit(world).await;
            }
        }
    }
    let mut record = world.record();
    record.tests_failed += 1;
    if let Some(at) = refused_at {
        record.waiting += world.clock.now() - at;
    }
    None
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OnConflict {
    RefreshApiAndContinue,
    StopIfUnderLimit,
}

/// An app in Hatchet's cached list.
#[derive(Clone, Debug)]
struct Listed {
    id: String,
    created_at: DateTime<Utc>,
}

/// `Hatchet::Reaper` (lib/hatchet/reaper.rb, 8.x), one per app as
/// `App#initialize` makes it: a cached list of the account's Hatchet apps, newest
/// first so the oldest pops off the end, and a `ReaperThrottle` of its own.
struct HatchetReaper {
    apps: Vec<Listed>,
    /// `HATCHET_APP_LIMIT`.
    limit: usize,
    throttle: ReaperThrottle,
}

impl HatchetReaper {
    fn new(limit: usize) -> HatchetReaper {
        HatchetReaper {
            apps: Vec::new(),
            limit,
            // `Reaper#initialize`: `initial_sleep: 10`.
            throttle: ReaperThrottle::new(10.0),
        }
    }

    /// `Reaper#destroy_older_apps`: under the machine's flock (`MUTEX_FILE`), pop the
    /// oldest app while it is past the TTL and delete it; on a 404 or 403 (another
    /// process deleted it), `handle_conflict`.
    async fn destroy_older_apps(
        &mut self,
        world: &World,
        api: &mut Api<'_>,
        machine: &tokio::sync::Mutex<()>,
        force_refresh: bool,
        on_conflict: OnConflict,
    ) {
        let _flock = machine.lock().await;
        if force_refresh {
            self.refresh(api).await;
        }
        while let Some(app) = self.apps.pop() {
            if !can_delete(world, &app) {
                self.apps.push(app);
                break;
            }
            match api.delete(&app.id).await {
                Deleted::Yes => {}
                Deleted::Conflict => {
                    if self.handle_conflict(world, api, on_conflict).await == Conflict::Stop {
                        break;
                    }
                }
                // Hatchet raises on anything else and the test fails; rare enough here
                // (no faults injected) to stop the cleanup instead.
                Deleted::Failed => break,
            }
        }
    }

    /// `Reaper#handle_conflict`: sleep through the throttle with `max_sleep:
    /// TTL_MINUTES` (minutes passed as seconds, so 7 s, and the throttle resets each
    /// time), then list again unless `:stop_if_under_limit` and under the limit.
    async fn handle_conflict(
        &mut self,
        world: &World,
        api: &mut Api<'_>,
        strategy: OnConflict,
    ) -> Conflict {
        let state =
            if strategy == OnConflict::RefreshApiAndContinue || self.apps.len() >= self.limit {
                Conflict::Continue
            } else {
                Conflict::Stop
            };
        let sleep_for = self.throttle.call(HATCHET_TTL / 60.0);
        world.clock.sleep(sleep_for).await;
        if state == Conflict::Continue {
            self.refresh(api).await;
        }
        state
    }

    /// `Reaper#sleep_if_over_limit`: at or over `HATCHET_APP_LIMIT`, sleep until the
    /// oldest known app passes the TTL, at most the throttle's value.
    async fn sleep_if_over_limit(&mut self, world: &World) {
        if self.apps.len() < self.limit {
            return;
        }
        let Some(oldest) = self.apps.last() else {
            return;
        };
        let age = age(world, oldest);
        let sleep_for_ttl = if age > HATCHET_TTL {
            0.0
        } else {
            HATCHET_TTL - age
        };
        let sleep_for = self.throttle.call(sleep_for_ttl);
        world.clock.sleep(sleep_for).await;
    }

    /// `Reaper#refresh_app_list`: every app, Hatchet's by name, sorted newest first.
    async fn refresh(&mut self, api: &mut Api<'_>) {
        let mut apps = api.list().await;
        apps.sort_by_key(|app| std::cmp::Reverse(app.created_at));
        self.apps = apps;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Conflict {
    Continue,
    Stop,
}

/// `Reaper::ReaperThrottle` (lib/hatchet/reaper/reaper_throttle.rb): sleep the value
/// or `max_sleep` if less; double the value after a full sleep, reset it after a
/// capped one.
struct ReaperThrottle {
    initial: f64,
    value: f64,
}

impl ReaperThrottle {
    fn new(initial: f64) -> ReaperThrottle {
        ReaperThrottle {
            initial,
            value: initial,
        }
    }

    fn call(&mut self, max_sleep: f64) -> f64 {
        let sleep_for = self.value.min(max_sleep);
        if sleep_for < self.value {
            self.value = self.initial;
        } else {
            self.value *= 2.0;
        }
        sleep_for
    }
}

/// `Reaper::AppAge#can_delete?` (lib/hatchet/reaper/app_age.rb): older than the TTL.
fn can_delete(world: &World, app: &Listed) -> bool {
    age(world, app) > HATCHET_TTL
}

/// Simulated seconds since the app was created, from the wall clocks of the sandbox
/// and this process, as Hatchet reads `created_at` against `DateTime.now`.
fn age(world: &World, app: &Listed) -> f64 {
    let wall = (Utc::now() - app.created_at).to_std().unwrap_or_default();
    wall.as_secs_f64() * world.clock.scale
}

// The test processes' Platform API client: the platform-api gem with its client rate
// throttle (its published strategy: a sleep value, raised on 429s, lowered by what is left).

enum Deleted {
    Yes,
    Conflict,
    Failed,
}

struct Api<'a> {
    world: &'a World,
    /// The throttle's sleep value, in simulated seconds.
    sleep: f64,
    rng: Rng,
}

impl<'a> Api<'a> {
    fn new(world: &'a World, seed: u64) -> Api<'a> {
        Api {
            world,
            sleep: 0.0,
            rng: Rng::with_seed(seed),
        }
    }

    /// Sends one request through the throttle: sleep its value (plus up to 10%) first;
    /// on a 429 add 0.8 s and retry, growing it by 1.2 while 429s go on; after an
    /// answer lower it in proportion to the pool left.
    async fn send(
        &mut self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Option<reqwest::Response> {
        const POOL: f64 = 4500.0;
        const MIN_SLEEP: f64 = 3600.0 / POOL;
        if self.sleep > 0.0 {
            let jitter = 1.0 + self.rng.f64() * 0.1;
            self.world.clock.sleep(self.sleep * jitter).await;
        }
        let mut limited = false;
        loop {
            let response = build()
                .header("Accept", "application/vnd.heroku+json; version=3")
                .bearer_auth(self.world.sandbox.token())
                .send()
                .await
                .ok()?;
            if response.status() != StatusCode::TOO_MANY_REQUESTS {
                let remaining: f64 = response
                    .headers()
                    .get("RateLimit-Remaining")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(POOL);
                self.sleep = (self.sleep - self.sleep * remaining / POOL).max(0.0);
                return Some(response);
            }
            if limited {
                self.sleep *= 1.2;
            } else {
                self.sleep += MIN_SLEEP;
                limited = true;
            }
            self.world.clock.sleep(self.sleep).await;
        }
    }

    /// `POST /apps` with a Hatchet name; the app's id, or the refusal's status.
    async fn create(&mut self) -> Result<String, StatusCode> {
        let name = format!("{PREFIX}{:010x}", self.rng.u64(..1 << 40));
        let url = format!("{}/apps", self.world.sandbox.url());
        let http = self.world.http.clone();
        let body = json!({ "name": name });
        let response = self
            .send(|| http.post(&url).json(&body))
            .await
            .ok_or(StatusCode::SERVICE_UNAVAILABLE)?;
        let status = response.status();
        if !status.is_success() {
            return Err(status);
        }
        let app: Value = response.json().await.map_err(|_| StatusCode::BAD_GATEWAY)?;
        app["id"]
            .as_str()
            .map(str::to_string)
            .ok_or(StatusCode::BAD_GATEWAY)
    }

    async fn delete(&mut self, id: &str) -> Deleted {
        let url = format!("{}/apps/{id}", self.world.sandbox.url());
        let http = self.world.http.clone();
        match self.send(|| http.delete(&url)).await.map(|r| r.status()) {
            Some(status) if status.is_success() => Deleted::Yes,
            Some(StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) => Deleted::Conflict,
            _ => Deleted::Failed,
        }
    }

    /// `GET /apps`, every page, Hatchet's apps only.
    async fn list(&mut self) -> Vec<Listed> {
        let url = format!("{}/apps", self.world.sandbox.url());
        let http = self.world.http.clone();
        let mut range = "id ..; max=1000".to_string();
        let mut apps = Vec::new();
        loop {
            let current = range.clone();
            let Some(response) = self.send(|| http.get(&url).header("Range", &current)).await
            else {
                return apps;
            };
            let status = response.status();
            let next = response
                .headers()
                .get("Next-Range")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let Ok(page) = response.json::<Vec<Value>>().await else {
                return apps;
            };
            apps.extend(page.iter().filter_map(|app| {
                let name = app["name"].as_str()?;
                is_hatchet(name).then_some(())?;
                Some(Listed {
                    id: app["id"].as_str()?.to_string(),
                    created_at: app["created_at"].as_str()?.parse().ok()?,
                })
            }));
            match next {
                Some(next) if status == StatusCode::PARTIAL_CONTENT => range = next,
                _ => return apps,
            }
        }
    }
}

// A loopback GitHub that knows which runs are live and their cleanup jobs: the routes
// `--github-live-runs` and `--reserve-apps` read, every run (and job) on one page.

struct FakeGithub {
    runs: Arc<Mutex<Vec<FakeRun>>>,
    url: String,
    _stop: watch::Sender<bool>,
}

#[derive(Clone)]
struct FakeRun {
    id: u64,
    started_at: DateTime<Utc>,
    live: bool,
    /// The cleanup job, once it has started.
    cleanup: Option<FakeJob>,
}

/// A run's cleanup job: `Delete stale Heroku test apps`, on its own runner.
#[derive(Clone)]
struct FakeJob {
    runner: String,
    started_at: DateTime<Utc>,
    /// `None` while in progress; then whether it succeeded, and when it ended.
    ended: Option<(bool, DateTime<Utc>)>,
}

const CLEANUP_JOB: &str = "Delete stale Heroku test apps";

type Runs = Arc<Mutex<Vec<FakeRun>>>;

fn runs(runs: &Runs) -> MutexGuard<'_, Vec<FakeRun>> {
    runs.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeGithub {
    fn start() -> std::io::Result<FakeGithub> {
        let shared: Runs = Arc::new(Mutex::new(Vec::new()));
        let router = Router::new()
            .route("/repos/{owner}/{repo}/actions/runs", get(list_runs))
            .route("/repos/{owner}/{repo}/actions/runs/{id}", get(one_run))
            .route(
                "/repos/{owner}/{repo}/actions/runs/{id}/jobs",
                get(run_jobs),
            )
            .with_state(shared.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, mut stopped) = watch::channel(false);
        // A thread and runtime of its own, as the sandbox has: the steps' looks at GitHub
        // must not take the test processes' timers from them.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                    .await;
            });
        });
        Ok(FakeGithub {
            runs: shared,
            url,
            _stop: stop,
        })
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    fn started(&self, id: u64, at: DateTime<Utc>) {
        runs(&self.runs).push(FakeRun {
            id,
            started_at: at,
            live: true,
            cleanup: None,
        });
    }

    fn cleanup_started(&self, id: u64, runner: &str, at: DateTime<Utc>) {
        for run in runs(&self.runs).iter_mut().filter(|run| run.id == id) {
            run.cleanup = Some(FakeJob {
                runner: runner.to_string(),
                started_at: at,
                ended: None,
            });
        }
    }

    fn cleanup_done(&self, id: u64, success: bool) {
        let now = Utc::now();
        for run in runs(&self.runs).iter_mut().filter(|run| run.id == id) {
            if let Some(job) = &mut run.cleanup {
                job.ended = Some((success, now));
            }
        }
    }

    fn completed(&self, id: u64) {
        for run in runs(&self.runs).iter_mut().filter(|run| run.id == id) {
            run.live = false;
        }
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn run_json(run: &FakeRun) -> Value {
    json!({
        "id": run.id,
        "status": if run.live { "in_progress" } else { "completed" },
        "created_at": time(run.started_at),
        "run_started_at": time(run.started_at),
    })
}

fn job_json(run: &FakeRun, job: &FakeJob) -> Value {
    let (status, conclusion, completed_at) = match job.ended {
        None => ("in_progress", None, None),
        Some((true, at)) => ("completed", Some("success"), Some(time(at))),
        Some((false, at)) => ("completed", Some("failure"), Some(time(at))),
    };
    json!({
        "id": run.id,
        "run_id": run.id,
        "name": CLEANUP_JOB,
        "status": status,
        "conclusion": conclusion,
        "started_at": time(job.started_at),
        "completed_at": completed_at,
        "runner_name": job.runner,
    })
}

async fn list_runs(
    State(shared): State<Runs>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let status = query.get("status").map(String::as_str).unwrap_or_default();
    let listed: Vec<Value> = runs(&shared)
        .iter()
        .filter(|run| run.live && (status.is_empty() || status == "in_progress"))
        .map(run_json)
        .collect();
    axum::Json(json!({ "total_count": listed.len(), "workflow_runs": listed })).into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({ "message": "Not Found" })),
    )
        .into_response()
}

async fn one_run(
    State(shared): State<Runs>,
    Path((_, _, id)): Path<(String, String, u64)>,
) -> Response {
    match runs(&shared).iter().find(|run| run.id == id) {
        Some(run) => axum::Json(run_json(run)).into_response(),
        None => not_found(),
    }
}

async fn run_jobs(
    State(shared): State<Runs>,
    Path((_, _, id)): Path<(String, String, u64)>,
) -> Response {
    let runs = runs(&shared);
    let Some(run) = runs.iter().find(|run| run.id == id) else {
        return not_found();
    };
    let jobs: Vec<Value> = run.cleanup.iter().map(|job| job_json(run, job)).collect();
    axum::Json(json!({ "total_count": jobs.len(), "jobs": jobs })).into_response()
}

// The table.

fn print_table(day: &Day, results: &[(Strategy, Vec<Outcome>)]) {
    println!(
        "A day of {} runs x {} jobs x {} processes ({} tests a job), app limit {}, HATCHET_APP_LIMIT {}, Hatchet reaping {}, {:.0}% of runs cancelled, {:.1}% of tests crashing; {} seeds, median (worst)",
        day.runs,
        day.jobs,
        day.processes,
        day.tests,
        day.app_limit,
        day.hatchet_app_limit,
        day.hatchet_reaps.describe(),
        day.cancel_rate * 100.0,
        day.crash_rate * 100.0,
        day.seeds
    );
    println!();
    println!(
        "| strategy | failed creates (422) | tests failed | queued per run, median / worst (min) | run latency, median / worst (min) | process-s waiting for room | Heroku API requests | duplicate deletes | peak apps | apps left at end of day | leaked app-hours | apps deleted under a live test |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (strategy, outcomes) in results {
        let cell = |f: &dyn Fn(&Outcome) -> f64, digits: usize| {
            let (median, worst) = median_and_worst(outcomes.iter().map(f).collect());
            format!("{median:.digits$} ({worst:.digits$})")
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            strategy.title(),
            cell(&|o| o.failed_creates as f64, 0),
            cell(&|o| o.tests_failed as f64, 0),
            run_times(outcomes, |o| o.queued),
            run_times(outcomes, |o| o.latency),
            cell(&|o| o.waiting, 0),
            cell(&|o| o.requests as f64, 0),
            cell(&|o| o.duplicates as f64, 0),
            cell(&|o| o.peak as f64, 0),
            cell(&|o| o.left as f64, 0),
            cell(&|o| o.leaked_hours, 1),
            cell(&|o| o.stolen as f64, 0),
        );
    }
    println!();
    let all = || results.iter().flat_map(|(_, outcomes)| outcomes);
    let days = all().count().max(1) as f64;
    println!(
        "Timers woke {:.1} simulated s late on average, {:.1} s at worst (a loaded machine shows here: lower `--scale` if these are large next to the 7-minute TTL)",
        all().map(|o| o.late_mean).sum::<f64>() / days,
        all().map(|o| o.late_worst).fold(0.0, f64::max)
    );
    let scale = day.scale;
    for (strategy, outcomes) in results.iter().filter(|(s, _)| s.traits().cleanup_step) {
        let steps: u64 = outcomes.iter().map(|o| o.steps).sum();
        let failures: u64 = outcomes.iter().map(|o| o.step_failures).sum();
        let skipped: u64 = outcomes.iter().map(|o| o.not_admitted).sum();
        let work = median_and_worst(outcomes.iter().map(|o| o.step_work.0).collect()).0;
        let worst = outcomes.iter().map(|o| o.step_work.1).fold(0.0, f64::max);
        println!(
            "{}: {steps} heroku-reaper steps in {} days, {failures} of them exited non-zero; {skipped} runs not admitted; a step's own work {work:.2} s (worst {worst:.2} s) of wall clock, which the day's compression stretches to {:.0} (worst {:.0}) simulated s for the runs behind it",
            strategy.title(),
            outcomes.len(),
            work * scale,
            worst * scale,
        );
    }
    let alone = median_and_worst(
        results
            .iter()
            .flat_map(|(_, outcomes)| outcomes.iter().map(|o| o.alone.0))
            .collect(),
    );
    println!(
        "A run with the account to itself (its tests as planned, no cleanup step): median {:.1} min",
        alone.0 / 60.0
    );
    for (strategy, outcomes) in results.iter().filter(|(_, outcomes)| !outcomes.is_empty()) {
        let latency = median_and_worst(outcomes.iter().map(|o| o.latency.0).collect()).0;
        let alone = median_and_worst(outcomes.iter().map(|o| o.alone.0).collect()).0;
        println!(
            "{}: median run latency {:.2}x that of a run alone",
            strategy.title(),
            latency / alone.max(1.0)
        );
    }
}

/// `median / worst` in minutes: the median of the days' medians, the worst of their worsts.
fn run_times(outcomes: &[Outcome], of: fn(&Outcome) -> (f64, f64)) -> String {
    let medians = median_and_worst(outcomes.iter().map(|o| of(o).0).collect()).0;
    let worst = median_and_worst(outcomes.iter().map(|o| of(o).1).collect()).1;
    format!("{:.1} / {:.1}", medians / 60.0, worst / 60.0)
}

/// The median (the upper one of an even count) and the largest.
fn median_and_worst(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let median = values.get(values.len() / 2).copied().unwrap_or_default();
    let worst = values.last().copied().unwrap_or_default();
    (median, worst)
}
