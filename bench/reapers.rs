//! The benchmark of many reapers at once: real `heroku-reaper` processes against the
//! sandbox on loopback, one table row per scenario. Run it with `bench/run`.
//!
//! Every scenario starts a fresh sandbox (300 ms ±50% per DELETE, 30 ms ±20% per other
//! request, at random, as the Platform API spreads them) and reads what happened from
//! the sandbox's own record: requests, list pages, deletes, duplicates, 429s, wrong
//! deletes, stale apps left. Some have another actor deleting stale apps beside the
//! reapers, as a person or Hatchet's own reaping would. A scenario run several times
//! shows the median wall and the worst of everything.
//! bench/README.md says what each scenario is and what it measured.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use heroku_sandbox::{Options, Role, Sandbox, Seed, Server, Stats};

const BIN: &str = env!("CARGO_BIN_EXE_heroku-reaper");

/// The binary the scenarios run: `BENCH_BIN`, to compare with another build, or this one.
fn binary() -> String {
    std::env::var("BENCH_BIN").unwrap_or_else(|_| BIN.to_string())
}

/// Runs so far, to name the logs of each apart.
static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The scenarios of machines sharing a nearly empty pool, measured against its floor.
const SHARED_POOL: [&str; 4] = ["F3", "F4", "F3x", "F4x"];

/// What scenarios are measured against, once run.
#[derive(Clone, Copy, Default)]
struct Baselines {
    /// B: one reaper, one DELETE at a time.
    one_at_a_time: Option<Duration>,
    /// L0's median: a lone reaper with nobody else deleting.
    alone: Option<Duration>,
}

fn median_wall(runs: &[Row]) -> Duration {
    let mut walls: Vec<Duration> = runs.iter().map(|row| row.wall).collect();
    walls.sort();
    walls[walls.len() / 2]
}

/// One `heroku-reaper` process to start: its arguments and the machine it runs on
/// (each machine has its own temp dir, so its own lock).
struct Process {
    machine: usize,
    args: Vec<String>,
    /// How long after the first process this one starts.
    delay: Duration,
}

/// What one process did.
struct Finished {
    code: Option<i32>,
    wall: Duration,
    peak_kib: Option<u64>,
    skipped: bool,
}

/// One run of a scenario.
struct Row {
    id: &'static str,
    scenario: String,
    wall: Duration,
    stats: Stats,
    wrong: usize,
    stale_left: usize,
    notes: String,
}

struct Scenario {
    id: &'static str,
    title: String,
    seed: Seed,
    server: Server,
    processes: Vec<Process>,
    runs: usize,
    others: Others,
}

/// Who else deletes stale apps while the reapers run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Others {
    Nobody,
    /// Someone deletes this many, spread over the ring, right after the first listing.
    AfterFirstListing(usize),
    /// A Hatchet process: it lists, then deletes the stale apps oldest first, one
    /// DELETE at a time, until none is left.
    Hatchet,
}

/// The scenarios of a lone reaper beside others, measured against L0 (the same alone).
const LONE: [&str; 4] = ["L2", "L5", "L10", "LH"];

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let scenarios = scenarios();
    let mut rows = Vec::new();
    // B's wall, then L0's median: what the scenarios after them are measured against.
    let mut baselines = Baselines::default();
    for scenario in scenarios {
        if !only.is_empty() && !only.iter().any(|id| id.eq_ignore_ascii_case(scenario.id)) {
            continue;
        }
        eprintln!("running {}: {}", scenario.id, scenario.title);
        // `BENCH_RUNS=N`: run each scenario that runs several times N times instead.
        let repeat = std::env::var("BENCH_RUNS")
            .ok()
            .and_then(|n| n.parse().ok());
        let times = match repeat {
            Some(n) if scenario.runs > 1 => n,
            _ => scenario.runs,
        };
        let runs: Vec<Row> = (0..times).map(|_| run(&scenario, baselines)).collect();
        match scenario.id {
            "B" => baselines.one_at_a_time = Some(runs[0].wall),
            "L0" => baselines.alone = Some(median_wall(&runs)),
            _ => {}
        }
        rows.push(runs);
    }
    print_table(&rows);
}

fn scenarios() -> Vec<Scenario> {
    let reaper = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["--format".to_string(), "json".to_string()];
        all.extend(args.iter().map(|arg| arg.to_string()));
        all
    };
    let one = |machine, args: &[&str]| Process {
        machine,
        args: reaper(args),
        delay: Duration::ZERO,
    };
    let staggered = |apart: Duration| -> Vec<Process> {
        (0..8)
            .map(|machine| Process {
                delay: apart * machine as u32,
                ..one(machine, &[])
            })
            .collect()
    };
    // Machines sharing one pool; each told the refill, as Heroku's default is at real time.
    let sharing = |machines: usize, refill: Option<&str>| -> Vec<Process> {
        let mut args = vec!["--reserve-rate-limit", "0"];
        if let Some(refill) = refill {
            args.extend(["--rate-limit-refill", refill]);
        }
        (0..machines).map(|machine| one(machine, &args)).collect()
    };
    let latency = Server {
        latency: Duration::from_millis(30),
        delete_latency: Some(Duration::from_millis(300)),
        jitter: 0.2,
        delete_jitter: Some(0.5),
        ..Server::default()
    };
    // A CI account: it owns every matching app it lists.
    let seed = |stale| Seed {
        stale,
        fresh: 10,
        other: 5,
        team_apps: 3,
        collaborator_apps: 0,
        ..Seed::default()
    };
    let lone = |id, title: &str, others| Scenario {
        id,
        title: title.into(),
        seed: seed(40),
        server: latency.clone(),
        processes: vec![one(0, &[])],
        runs: 5,
        others,
    };
    // Heroku's pool refills 75 a minute; S5 and S6 run time ten times faster.
    let scaled = Server {
        rate_limit_remaining: Some(20),
        rate_limit_refill_per_minute: 750.0,
        ..latency.clone()
    };
    // Heroku's own pool, in real time: 20 left, refilling 75 a minute.
    let empty = Server {
        rate_limit_remaining: Some(20),
        ..latency.clone()
    };
    vec![
        Scenario {
            id: "B",
            title: "1 reaper, --concurrency 1 (the baseline)".into(),
            seed: seed(100),
            server: latency.clone(),
            processes: vec![one(0, &["--concurrency", "1"])],
            runs: 1,
            others: Others::Nobody,
        },
        Scenario {
            id: "S1",
            title: "1 reaper".into(),
            seed: seed(100),
            server: latency.clone(),
            processes: vec![one(0, &[])],
            runs: 1,
            others: Others::Nobody,
        },
        Scenario {
            id: "S2",
            title: "8 reapers on 8 machines, no shard".into(),
            seed: seed(100),
            server: latency.clone(),
            processes: (0..8).map(|machine| one(machine, &[])).collect(),
            runs: 5,
            others: Others::Nobody,
        },
        Scenario {
            id: "S3",
            title: "8 reapers with --shard i/8".into(),
            seed: seed(100),
            server: latency.clone(),
            processes: (0..8)
                .map(|machine| one(machine, &["--shard", &format!("{machine}/8")]))
                .collect(),
            runs: 1,
            others: Others::Nobody,
        },
        Scenario {
            id: "S4",
            title: "50 processes on 5 machines, --lock skip".into(),
            seed: seed(100),
            server: latency.clone(),
            processes: (0..50).map(|n| one(n % 5, &["--lock", "skip"])).collect(),
            runs: 1,
            others: Others::Nobody,
        },
        Scenario {
            id: "S5",
            title: "200 stale, pool at 20 refilling 75/min (x10), --reserve-rate-limit 0".into(),
            seed: seed(200),
            server: scaled.clone(),
            processes: vec![one(
                0,
                &["--rate-limit-refill", "750", "--reserve-rate-limit", "0"],
            )],
            runs: 1,
            others: Others::Nobody,
        },
        Scenario {
            id: "S6",
            title: "S5 with --reserve-rate-limit 15".into(),
            seed: seed(200),
            server: scaled.clone(),
            processes: vec![one(
                0,
                &["--rate-limit-refill", "750", "--reserve-rate-limit", "15"],
            )],
            runs: 1,
            others: Others::Nobody,
        },
        Scenario {
            id: "S7",
            title: "10,000 apps (10 pages), 3,000 stale".into(),
            seed: Seed {
                stale: 3_000,
                other: 6_982,
                ..seed(3_000)
            },
            server: latency.clone(),
            processes: vec![one(0, &["--max-deletes", "0"])],
            runs: 1,
            others: Others::Nobody,
        },
        Scenario {
            id: "S8",
            title: "16 machines, 300 stale".into(),
            seed: seed(300),
            server: latency.clone(),
            processes: (0..16).map(|machine| one(machine, &[])).collect(),
            runs: 5,
            others: Others::Nobody,
        },
        lone("L0", "1 reaper, 40 stale, alone", Others::Nobody),
        lone(
            "L2",
            "L0, 2 deleted by someone else after its first listing",
            Others::AfterFirstListing(2),
        ),
        lone(
            "L5",
            "L0, 5 deleted by someone else after its first listing",
            Others::AfterFirstListing(5),
        ),
        lone(
            "L10",
            "L0, 10 deleted by someone else after its first listing",
            Others::AfterFirstListing(10),
        ),
        lone(
            "LH",
            "L0, beside a Hatchet process deleting stale apps one by one",
            Others::Hatchet,
        ),
        Scenario {
            id: "F1",
            title: "8 machines, starts 0.2 s apart".into(),
            seed: seed(100),
            server: latency.clone(),
            processes: staggered(Duration::from_millis(200)),
            runs: 5,
            others: Others::Nobody,
        },
        Scenario {
            id: "F2",
            title: "8 machines, starts 0.5 s apart".into(),
            seed: seed(100),
            server: latency,
            processes: staggered(Duration::from_millis(500)),
            runs: 5,
            others: Others::Nobody,
        },
        Scenario {
            id: "F3",
            title: "4 machines, 50 stale, pool at 20 refilling 75/min (real time)".into(),
            seed: seed(50),
            server: empty.clone(),
            processes: sharing(4, None),
            runs: 5,
            others: Others::Nobody,
        },
        Scenario {
            id: "F4",
            title: "16 machines, 50 stale, pool at 20 refilling 75/min (real time)".into(),
            seed: seed(50),
            server: empty,
            processes: sharing(16, None),
            runs: 3,
            others: Others::Nobody,
        },
        Scenario {
            id: "F3x",
            title: "F3 at ten times the speed (refill 750/min)".into(),
            seed: seed(50),
            server: scaled.clone(),
            processes: sharing(4, Some("750")),
            runs: 5,
            others: Others::Nobody,
        },
        Scenario {
            id: "F4x",
            title: "F4 at ten times the speed (refill 750/min)".into(),
            seed: seed(50),
            server: scaled,
            processes: sharing(16, Some("750")),
            runs: 5,
            others: Others::Nobody,
        },
    ]
}

fn run(scenario: &Scenario, baselines: Baselines) -> Row {
    let sandbox = Sandbox::start(Options {
        seed: scenario.seed.clone(),
        server: scenario.server.clone(),
        ..Options::default()
    })
    .expect("the sandbox starts");
    let machines = tempfile::tempdir().expect("a temp dir");
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let reapers_done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let others = others(
        &sandbox,
        scenario.others,
        std::sync::Arc::clone(&reapers_done),
    );
    let started = Instant::now();
    let handles: Vec<_> = scenario
        .processes
        .iter()
        .map(|process| {
            let machine = machines.path().join(format!("machine-{}", process.machine));
            std::fs::create_dir_all(&machine).expect("the machine's temp dir");
            let delay = process.delay;
            let mut command = Command::new(binary());
            command
                .args(&process.args)
                .env("HEROKU_API_URL", sandbox.url())
                .env("HEROKU_API_KEY", sandbox.token())
                .env(
                    "HEROKU_REAPER_LOCK_FILE",
                    machine.join("heroku-reaper.lock"),
                )
                .env("HOME", &machine)
                .env("TMPDIR", &machine)
                .env_remove("HATCHET_APP_PREFIX")
                .env_remove("RUST_LOG")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            // `BENCH_LOG=DIR` (under target/, such as target/bench-logs): each process's
            // debug log (every answer, with the time and `RateLimit-Remaining`) goes to a
            // file there, to see where a run lost time.
            if let Some(dir) = std::env::var_os("BENCH_LOG") {
                std::fs::create_dir_all(&dir).expect("the BENCH_LOG directory");
                let name = format!("{}-{run}-{}.log", scenario.id, process.machine);
                let log = std::fs::File::create(Path::new(&dir).join(name)).expect("the log file");
                command.env("RUST_LOG", "heroku_reaper=debug").stderr(log);
            }
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                finish(command)
            })
        })
        .collect();
    let finished: Vec<Finished> = handles
        .into_iter()
        .map(|handle| handle.join().expect("the process watcher"))
        .collect();
    let wall = started.elapsed();
    reapers_done.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(others) = others {
        others.join().expect("the other actor");
    }
    let stats = sandbox.stats();
    let wrong = sandbox
        .deleted()
        .iter()
        .filter(|app| app.role != Role::Stale)
        .count();
    let stale_left = sandbox
        .apps()
        .iter()
        .filter(|app| app.role == Role::Stale)
        .count();
    let notes = notes(scenario, &finished, &stats, wall, baselines);
    Row {
        id: scenario.id,
        scenario: scenario.title.clone(),
        wall,
        stats,
        wrong,
        stale_left,
        notes,
    }
}

/// Starts whoever else deletes stale apps in this scenario.
fn others(
    sandbox: &Sandbox,
    others: Others,
    reapers_done: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Option<std::thread::JoinHandle<()>> {
    let mut stale: Vec<heroku_sandbox::SandboxApp> = sandbox
        .apps()
        .into_iter()
        .filter(|app| app.role == Role::Stale)
        .collect();
    match others {
        Others::Nobody => None,
        Others::AfterFirstListing(count) => {
            stale.sort_by(|a, b| a.id.cmp(&b.id));
            let step = (stale.len() / count.max(1)).max(1);
            let ids: Vec<String> = stale
                .iter()
                .step_by(step)
                .take(count)
                .map(|app| app.id.clone())
                .collect();
            sandbox.delete_after_next_listing(&ids);
            None
        }
        Others::Hatchet => {
            let api = heroku_sandbox::wire::Api::new(sandbox);
            Some(std::thread::spawn(move || {
                while api.get("/__sandbox/stats").json()["list_pages"] == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                // Its own listing, then the stale apps oldest first, one at a time; what
                // the reaper deleted first answers 404.
                api.get("/apps");
                stale.sort_by_key(|app| app.created_at);
                for app in stale {
                    if reapers_done.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    api.delete(&format!("/apps/{}", app.id));
                }
            }))
        }
    }
}

/// Runs one process to its end, watching its peak memory from `/proc` (the high-water
/// mark only grows, so the last reading before it exits is its peak).
fn finish(mut command: Command) -> Finished {
    let started = Instant::now();
    let mut child = command.spawn().expect("heroku-reaper starts");
    let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
    let mut peak_kib = None;
    let stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let stderr = child.stderr.take();
    let errors = std::thread::spawn(move || {
        stderr
            .and_then(|stderr| std::io::read_to_string(stderr).ok())
            .unwrap_or_default()
    });
    let status = loop {
        if let Some(kib) = high_water_mark(&status_file) {
            peak_kib = Some(kib);
        }
        if let Some(status) = child.try_wait().expect("waiting for heroku-reaper") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = started.elapsed();
    let _stdout = reader.join().unwrap_or_default();
    let stderr = errors.join().unwrap_or_default();
    Finished {
        code: status.code(),
        wall,
        peak_kib,
        skipped: stderr.contains("`--lock skip`: nothing to do"),
    }
}

fn high_water_mark(status_file: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(status_file).ok()?;
    let line = text.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What the target of each scenario asks to see beside the common columns.
fn notes(
    scenario: &Scenario,
    finished: &[Finished],
    stats: &Stats,
    wall: Duration,
    baselines: Baselines,
) -> String {
    let mut notes = Vec::new();
    if let Some(baseline) = baselines.one_at_a_time
        && scenario.id != "B"
        && !matches!(scenario.id, "S5" | "S6" | "S7")
        && !SHARED_POOL.contains(&scenario.id)
        && !scenario.id.starts_with('L')
    {
        notes.push(format!(
            "{:.1}x faster than B",
            baseline.as_secs_f64() / wall.as_secs_f64()
        ));
    }
    if let Some(alone) = baselines.alone
        && LONE.contains(&scenario.id)
    {
        notes.push(format!(
            "{:.2}x L0's median",
            wall.as_secs_f64() / alone.as_secs_f64()
        ));
    }
    let codes: Vec<String> = {
        let mut codes: Vec<i32> = finished.iter().map(|f| f.code.unwrap_or(-1)).collect();
        codes.sort();
        codes.dedup();
        codes.iter().map(i32::to_string).collect()
    };
    notes.push(format!("exit {}", codes.join("/")));
    let skipping: Vec<&Finished> = finished.iter().filter(|f| f.skipped).collect();
    if !skipping.is_empty() {
        let slowest = skipping.iter().map(|f| f.wall).max().unwrap_or_default();
        notes.push(format!(
            "{} skipped, slowest returned in {:.2}s",
            skipping.len(),
            slowest.as_secs_f64()
        ));
    }
    if matches!(scenario.id, "S5" | "S6") {
        let refill_per_second = scenario.server.rate_limit_refill_per_minute / 60.0;
        let start = f64::from(scenario.server.rate_limit_remaining.unwrap_or_default());
        let bound = (scenario.seed.stale as f64 - start) / refill_per_second;
        notes.push(format!(
            "refill bound {bound:.1}s: {:.2}x it; 429s {:.1}% of requests; lowest RateLimit-Remaining {}",
            wall.as_secs_f64() / bound,
            100.0 * stats.rate_limited as f64 / stats.requests.max(1) as f64,
            stats.min_remaining
        ));
    }
    if SHARED_POOL.contains(&scenario.id) {
        // Every reaper lists once and asks `GET /account` once; the rest are the deletes.
        let refill_per_second = scenario.server.rate_limit_refill_per_minute / 60.0;
        let start = f64::from(scenario.server.rate_limit_remaining.unwrap_or_default());
        let needed = (scenario.seed.stale + 2 * scenario.processes.len()) as f64;
        let floor = (needed - start) / refill_per_second;
        notes.push(format!(
            "floor {floor:.2}s: {:.2}x it",
            wall.as_secs_f64() / floor
        ));
    }
    if scenario.id == "S7"
        && let Some(peak) = finished.iter().filter_map(|f| f.peak_kib).max()
    {
        notes.push(format!("peak memory {:.1} MB", peak as f64 / 1024.0));
    }
    notes.join("; ")
}

fn free(stats: &Stats) -> u64 {
    stats.sent("GET /account/rate-limits")
}

fn print_table(scenarios: &[Vec<Row>]) {
    println!(
        "| id | scenario | wall | requests | list pages | DELETEs | duplicates (404/403) | 429s | wrong deletes | stale left | notes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for runs in scenarios {
        let mut walls: Vec<f64> = runs.iter().map(|row| row.wall.as_secs_f64()).collect();
        walls.sort_by(f64::total_cmp);
        let worst = runs
            .iter()
            .max_by_key(|row| row.wall)
            .expect("every scenario runs");
        let (wall, title, notes) = if runs.len() == 1 {
            (
                format!("{:.1} s", walls[0]),
                worst.scenario.clone(),
                worst.notes.clone(),
            )
        } else {
            (
                format!(
                    "{:.1} s (worst {:.1} s)",
                    walls[walls.len() / 2],
                    walls[walls.len() - 1]
                ),
                format!("{}, {} runs", worst.scenario, runs.len()),
                format!("worst run: {}", worst.notes),
            )
        };
        let range = |of: &dyn Fn(&Row) -> u64| -> String {
            let low = runs.iter().map(of).min().unwrap_or_default();
            let high = runs.iter().map(of).max().unwrap_or_default();
            if low == high {
                low.to_string()
            } else {
                format!("{low}–{high}")
            }
        };
        println!(
            "| {} | {} | {} | {} (+{} free) | {} | {} | {} | {} | {} | {} | {} |",
            worst.id,
            title,
            wall,
            range(&|row| row.stats.counted()),
            range(&|row| free(&row.stats)),
            range(&|row| row.stats.list_pages),
            range(&|row| row.stats.sent("DELETE")),
            range(&|row| row.stats.conflicts),
            range(&|row| row.stats.rate_limited),
            range(&|row| row.wrong as u64),
            range(&|row| row.stale_left as u64),
            notes
        );
    }
}
