//! The benchmark of many reapers at once: real `heroku-reaper` processes against the
//! sandbox on loopback, one table row per scenario. Run it with `bench/run`.
//!
//! Every scenario starts a fresh sandbox (300 ms ±50% per DELETE, 100 ms ±50% per other
//! request, as the Platform API is no faster) and reads what happened from the sandbox's
//! own record: requests, list pages, deletes, duplicates, 429s, wrong deletes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use heroku_sandbox::{Options, Role, Sandbox, Seed, Server, Stats};

const BIN: &str = env!("CARGO_BIN_EXE_heroku-reaper");

/// One `heroku-reaper` process to start: its arguments and the machine it runs on
/// (each machine has its own temp dir, so its own lock).
struct Process {
    machine: usize,
    args: Vec<String>,
}

/// What one process did.
struct Finished {
    code: Option<i32>,
    wall: Duration,
    peak_kib: Option<u64>,
    skipped: bool,
}

/// One row of the table.
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
}

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let scenarios = scenarios();
    let mut rows = Vec::new();
    let mut baseline = None;
    for scenario in scenarios {
        if !only.is_empty() && !only.iter().any(|id| id.eq_ignore_ascii_case(scenario.id)) {
            continue;
        }
        eprintln!("running {}: {}", scenario.id, scenario.title);
        let row = run(scenario, baseline);
        if row.id == "B" {
            baseline = Some(row.wall);
        }
        rows.push(row);
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
    };
    let latency = Server {
        latency: Duration::from_millis(100),
        delete_latency: Some(Duration::from_millis(300)),
        jitter: 0.5,
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
    // Heroku's pool refills 75 a minute; S5 and S6 run time ten times faster.
    let scaled = Server {
        rate_limit_remaining: Some(20),
        rate_limit_refill_per_minute: 750.0,
        ..latency.clone()
    };
    vec![
        Scenario {
            id: "B",
            title: "1 reaper, --concurrency 1 (the baseline)".into(),
            seed: seed(100),
            server: latency.clone(),
            processes: vec![one(0, &["--concurrency", "1"])],
        },
        Scenario {
            id: "S1",
            title: "1 reaper".into(),
            seed: seed(100),
            server: latency.clone(),
            processes: vec![one(0, &[])],
        },
        Scenario {
            id: "S2",
            title: "8 reapers on 8 machines, no shard".into(),
            seed: seed(100),
            server: latency.clone(),
            processes: (0..8).map(|machine| one(machine, &[])).collect(),
        },
        Scenario {
            id: "S3",
            title: "8 reapers with --shard i/8".into(),
            seed: seed(100),
            server: latency.clone(),
            processes: (0..8)
                .map(|machine| one(machine, &["--shard", &format!("{machine}/8")]))
                .collect(),
        },
        Scenario {
            id: "S4",
            title: "50 processes on 5 machines, --lock skip".into(),
            seed: seed(100),
            server: latency.clone(),
            processes: (0..50).map(|n| one(n % 5, &["--lock", "skip"])).collect(),
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
        },
        Scenario {
            id: "S6",
            title: "S5 with --reserve-rate-limit 15".into(),
            seed: seed(200),
            server: scaled,
            processes: vec![one(
                0,
                &["--rate-limit-refill", "750", "--reserve-rate-limit", "15"],
            )],
        },
        Scenario {
            id: "S7",
            title: "10,000 apps (10 pages), 3,000 stale".into(),
            seed: Seed {
                stale: 3_000,
                other: 6_982,
                ..seed(3_000)
            },
            server: latency,
            processes: vec![one(0, &["--max-deletes", "0"])],
        },
    ]
}

fn run(scenario: Scenario, baseline: Option<Duration>) -> Row {
    let sandbox = Sandbox::start(Options {
        seed: scenario.seed.clone(),
        server: scenario.server.clone(),
        ..Options::default()
    })
    .expect("the sandbox starts");
    let machines = tempfile::tempdir().expect("a temp dir");
    let started = Instant::now();
    let handles: Vec<_> = scenario
        .processes
        .iter()
        .map(|process| {
            let machine = machines.path().join(format!("machine-{}", process.machine));
            std::fs::create_dir_all(&machine).expect("the machine's temp dir");
            let mut command = Command::new(BIN);
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
            std::thread::spawn(move || finish(command))
        })
        .collect();
    let finished: Vec<Finished> = handles
        .into_iter()
        .map(|handle| handle.join().expect("the process watcher"))
        .collect();
    let wall = started.elapsed();
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
    let notes = notes(&scenario, &finished, &stats, wall, baseline);
    Row {
        id: scenario.id,
        scenario: scenario.title,
        wall,
        stats,
        wrong,
        stale_left,
        notes,
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
    let stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
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
    baseline: Option<Duration>,
) -> String {
    let mut notes = Vec::new();
    if let Some(baseline) = baseline
        && scenario.id != "B"
        && !matches!(scenario.id, "S5" | "S6" | "S7")
    {
        notes.push(format!(
            "{:.1}x faster than B",
            baseline.as_secs_f64() / wall.as_secs_f64()
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

fn print_table(rows: &[Row]) {
    println!(
        "| id | scenario | wall | requests | list pages | DELETEs | duplicates (404/403) | 429s | wrong deletes | stale left | notes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let stats = &row.stats;
        let deletes = stats.sent("DELETE");
        println!(
            "| {} | {} | {:.1} s | {} (+{} free) | {} | {} | {} | {} | {} | {} | {} |",
            row.id,
            row.scenario,
            row.wall.as_secs_f64(),
            stats.counted(),
            free(stats),
            stats.list_pages,
            deletes,
            stats.conflicts,
            stats.rate_limited,
            row.wrong,
            row.stale_left,
            row.notes
        );
    }
}
