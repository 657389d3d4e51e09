//! What the reaper knows rather than presumes: the time by Heroku's clock, whose apps
//! are the account's, and which apps are the team's.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use heroku_sandbox::{Fault, Options, Role, Sandbox, Seed, Server};
use serde_json::{Value, json};

use crate::fake_github::{FakeGithub, TOKEN};
use crate::reaper::Reaper;
use crate::runner::Runner;
use crate::support::{named, read_head};

fn start(seed: Seed, server: Server) -> Sandbox {
    Sandbox::start(Options {
        seed,
        server,
        ..Options::default()
    })
    .expect("the sandbox starts")
}

const YOUNG: &str = "hatchet-t-000000young";
const OLD: &str = "hatchet-t-00000000old";

/// Heroku's clock a day behind the runner's (the runner a day ahead), and one young app.
fn a_day_behind_with_a_young_app() -> Sandbox {
    let sandbox = start(
        Seed::empty(),
        Server {
            clock_skew: chrono::Duration::days(-1),
            ..Server::default()
        },
    );
    sandbox.add_app(YOUNG, Duration::from_secs(30), Role::Added);
    sandbox
}

#[test]
fn ages_are_by_herokus_clock_when_the_runner_is_a_day_ahead() {
    let sandbox = a_day_behind_with_a_young_app();
    sandbox.add_app(OLD, Duration::from_secs(30 * 60), Role::Added);

    let plan = Reaper::against(&sandbox).args(["--dry-run"]).run();
    plan.code(0).stdout_has(
        "clock: Heroku's, from the listings' `Date` header; the local clock is 24h00m ahead of Heroku's\n",
    );
    let young_line = plan
        .stdout
        .lines()
        .find(|line| line.contains(YOUNG))
        .expect("the young app is in the plan");
    assert!(young_line.starts_with("too young"), "{young_line}");

    let runner = Runner::new();
    let (run, report) = Reaper::against(&sandbox).in_runner(&runner).json();
    run.code(0);
    let deleted: Vec<String> = sandbox.deleted().into_iter().map(|app| app.name).collect();
    assert_eq!(deleted, [OLD]);
    let young = named(&report["apps"], YOUNG);
    assert_eq!(young["verdict"], "too-young");
    assert!(young["age_seconds"].as_u64().unwrap() < 120, "{young}");
    let clock = &report["clock"];
    assert_eq!(clock["source"], "heroku");
    let skew = clock["skew_seconds"].as_i64().expect("the skew in seconds");
    // A day, give or take the time a listing takes and the `Date` header's whole seconds.
    assert!((86_400..86_400 + 30).contains(&skew), "{skew}");
    assert_eq!(clock["note"], "the local clock is 24h00m ahead of Heroku's");
    assert!(runner.summary().contains(
        "Ages by the clock: Heroku's, from the listings' `Date` header; the local clock is 24h00m ahead of Heroku's."
    ));
    // With `--format json` on stdout, the workflow commands go to stderr, beside the
    // warning line.
    run.stderr_has(
        "::warning title=heroku-reaper%3A clock::the local clock is 24h00m ahead of Heroku's\n",
    );
    run.stderr_has("warning: the local clock is 24h00m ahead of Heroku's\n");
}

/// `reaper` with `--github-live-runs`, reading `github`.
fn with_github(reaper: Reaper, github: &FakeGithub) -> Reaper {
    reaper
        .env("GITHUB_API_URL", github.url())
        .env("GITHUB_TOKEN", TOKEN)
        .args([
            "--github-live-runs",
            "--github-repo",
            "heroku/heroku-buildpack-ruby",
        ])
}

#[test]
fn a_runner_a_day_ahead_makes_no_young_app_an_orphan() {
    // With no run live, the GitHub cutoff is the moment of the check, on the local clock.
    let sandbox = a_day_behind_with_a_young_app();
    let github = FakeGithub::start_at("");
    let (run, report) = with_github(Reaper::against(&sandbox), &github).json();
    run.code(0);
    assert_eq!(report["github"]["live_runs"], 0, "{}", report["github"]);
    assert_eq!(sandbox.deleted().len(), 0);
    assert_eq!(named(&report["apps"], YOUNG)["verdict"], "too-young");
}

const MIDDLE: &str = "hatchet-t-000000middle";

/// Heroku's clock `ahead` of the runner's, and by Heroku's clock three apps: a minute
/// old, half an hour old (still from the future by the runner's clock), and half an
/// hour older than the skew: old by both clocks.
fn server_ahead_by(ahead: chrono::Duration) -> Sandbox {
    let sandbox = start(
        Seed::empty(),
        Server {
            clock_skew: ahead,
            ..Server::default()
        },
    );
    let half_an_hour = Duration::from_secs(30 * 60);
    sandbox.add_app(YOUNG, Duration::from_secs(60), Role::Added);
    sandbox.add_app(MIDDLE, half_an_hour, Role::Added);
    let old = ahead.to_std().expect("ahead") + half_an_hour;
    sandbox.add_app(OLD, old, Role::Added);
    sandbox
}

/// Two hours, a year, and as far as the year 9999, with the words a warning uses.
fn servers_ahead() -> [(chrono::Duration, &'static str); 3] {
    let year_9999: chrono::DateTime<chrono::Utc> = "9999-12-31T00:00:00Z".parse().unwrap();
    [
        (chrono::Duration::hours(2), "2h00m"),
        (chrono::Duration::days(365), "365d00h"),
        (year_9999 - chrono::Utc::now(), "d"),
    ]
}

#[test]
fn a_server_ahead_makes_no_young_app_old() {
    for (ahead, words) in servers_ahead() {
        let sandbox = server_ahead_by(ahead);
        let (run, report) = Reaper::against(&sandbox).json();
        run.code(0);
        let deleted: Vec<String> = sandbox.deleted().into_iter().map(|app| app.name).collect();
        assert_eq!(deleted, [OLD], "{words}");
        for young in [YOUNG, MIDDLE] {
            let entry = named(&report["apps"], young);
            assert_eq!(entry["verdict"], "too-young", "{words}: {entry}");
        }
        let clock = &report["clock"];
        assert_eq!(clock["source"], "local", "{words}");
        let skew = clock["skew_seconds"].as_i64().expect("the skew in seconds");
        assert!(skew <= -ahead.num_seconds() + 30, "{words}: {skew}");
        let note = clock["note"].as_str().expect("a note");
        assert!(note.starts_with("the local clock is "), "{note}");
        assert!(
            note.ends_with(
                " behind Heroku's, so ages are by the local clock, the earlier of the two"
            ),
            "{note}"
        );
        assert!(note.contains(words), "{note}");
        // One warning line, however many listings.
        let warnings = run.stderr.matches("warning: the local clock is ").count();
        assert_eq!(warnings, 1, "{}", run.stderr);
    }
}

#[test]
fn a_server_ahead_makes_no_young_app_an_orphan() {
    // With no run live, the GitHub cutoff is the moment of the check: on the runner's
    // clock here, the earlier one.
    let sandbox = server_ahead_by(chrono::Duration::hours(2));
    let github = FakeGithub::start_at("");
    let runner = Runner::new();
    let (run, report) = with_github(Reaper::against(&sandbox).in_runner(&runner), &github).json();
    run.code(0);
    assert_eq!(report["github"]["live_runs"], 0, "{}", report["github"]);
    let deleted: Vec<String> = sandbox.deleted().into_iter().map(|app| app.name).collect();
    assert_eq!(deleted, [OLD]);
    assert_eq!(named(&report["apps"], YOUNG)["verdict"], "too-young");
    assert_eq!(named(&report["apps"], MIDDLE)["verdict"], "too-young");
    run.stderr_has(
        "::warning title=heroku-reaper%3A clock::the local clock is 2h00m behind Heroku's, so ages are by the local clock",
    );
    assert!(
        runner
            .summary()
            .contains("Ages by the clock: the local one; the local clock is 2h00m behind Heroku's")
    );
}

#[test]
fn a_garbled_date_falls_back_to_the_local_clock_and_says_so() {
    let sandbox = start(Seed::empty(), Server::default());
    sandbox.add_app(YOUNG, Duration::from_secs(30), Role::Added);
    sandbox.add_app(OLD, Duration::from_secs(30 * 60), Role::Added);
    sandbox.inject("GET /apps", Fault::BadDate, 1);
    let (run, report) = Reaper::against(&sandbox).json();
    run.code(0);
    let deleted: Vec<String> = sandbox.deleted().into_iter().map(|app| app.name).collect();
    assert_eq!(deleted, [OLD]);
    assert_eq!(sandbox.stats().faults["bad-date"], 1);
    let clock = &report["clock"];
    assert_eq!(clock["source"], "local");
    assert_eq!(clock.get("skew_seconds"), None);
    assert_eq!(
        clock["note"],
        "the API's answers had no readable `Date` header, so ages are by the local clock"
    );
    sandbox.add_app(OLD, Duration::from_secs(30 * 60), Role::Added);
    sandbox.inject("GET /apps", Fault::BadDate, 1);
    Reaper::against(&sandbox)
        .run()
        .code(0)
        .stdout_has("clock: the local one; the API's answers had no readable `Date` header");
}

#[test]
fn an_account_that_only_collaborates_deletes_nothing() {
    // One matching stale app, of another user: the listing shows a single owner.
    let sandbox = start(
        Seed {
            collaborator_apps: 1,
            ..Seed::empty()
        },
        Server::default(),
    );
    let theirs = sandbox.apps().remove(0);
    assert_eq!(theirs.role, Role::Collaborator);
    let (run, report) = Reaper::against(&sandbox).json();
    run.code(0);
    let stats = sandbox.stats();
    assert_eq!(stats.sent("DELETE"), 0, "{:?}", stats.by_status);
    assert_eq!(stats.sent("GET /account 200"), 1);
    assert_eq!(sandbox.apps().len(), 1);
    let entry = named(&report["apps"], &theirs.name);
    assert_eq!(entry["verdict"], "not-owned");
    assert_eq!(
        entry["reason"],
        "owned by another user; this account only collaborates on it"
    );
    assert_eq!(report["counts"]["not_owned"], 1);
}

#[test]
fn the_account_is_always_asked_for_even_when_all_apps_are_its_own() {
    let sandbox = start(
        Seed {
            stale: 3,
            ..Seed::empty()
        },
        Server::default(),
    );
    let (run, report) = Reaper::against(&sandbox).json();
    run.code(0);
    assert_eq!(report["counts"]["deleted"], 3);
    let stats = sandbox.stats();
    assert_eq!(stats.sent("GET /account 200"), 1);
    // Beside the listings and the DELETEs, the account is the one request more.
    assert_eq!(stats.counted(), 1 + stats.list_pages + 3);
}

#[test]
fn no_delete_when_the_account_cannot_be_read() {
    let sandbox = start(
        Seed {
            stale: 3,
            ..Seed::empty()
        },
        Server::default(),
    );
    sandbox.inject("GET /account", Fault::Status(500), 10);
    let (run, report) = Reaper::against(&sandbox).args(["--retries", "1"]).json();
    run.code(1);
    assert_eq!(sandbox.stats().sent("DELETE"), 0);
    assert_eq!(sandbox.apps().len(), 3);
    assert_eq!(report["status"], "failed");
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .contains("`GET /account` answered 500"),
        "{}",
        report["message"]
    );
}

#[test]
fn under_team_only_the_teams_apps_are_deleted_whatever_the_listing_holds() {
    // The team listing also returns the account's own stale apps and a collaborator's.
    let sandbox = start(
        Seed {
            stale: 2,
            team_apps: 2,
            collaborator_apps: 1,
            ..Seed::empty()
        },
        Server {
            leaky_team_listing: true,
            ..Server::default()
        },
    );
    let team = sandbox.team_name().to_string();
    let plan = Reaper::against(&sandbox)
        .args(["--team", &team, "--dry-run"])
        .run();
    plan.code(0).stdout_has(&format!(
        "listed under team `{team}` but belongs to no team; not the team's"
    ));

    let (run, report) = Reaper::against(&sandbox).args(["--team", &team]).json();
    run.code(0);
    let deleted = sandbox.deleted();
    assert_eq!(deleted.len(), 2);
    assert!(
        deleted.iter().all(|app| app.role == Role::Team),
        "{deleted:?}"
    );
    assert_eq!(sandbox.stats().sent("DELETE"), 2);
    for app in sandbox.apps() {
        let entry = named(&report["apps"], &app.name);
        assert_eq!(entry["verdict"], "not-owned");
        assert_eq!(
            entry["reason"],
            format!("listed under team `{team}` but belongs to no team; not the team's")
        );
    }
    assert_eq!(report["counts"]["not_owned"], 3);
}

/// Just enough of the API for one run, over bare HTTP/1.1 that sends no `Date` header
/// (axum always adds one): the account, one page of `apps`, and their DELETEs.
struct Dateless {
    addr: SocketAddr,
    /// `METHOD /path` of every request, in order.
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const ACCOUNT_ID: &str = "01234567-89ab-4cde-8f01-23456789abcd";

impl Dateless {
    fn start(apps: Value) -> Dateless {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("an address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (Arc::clone(&requests), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(stream) = stream {
                    answer(stream, &apps, &seen);
                }
            }
        });
        Dateless {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Dateless {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request and answers it, with no `Date`, then closes the connection.
fn answer(mut stream: TcpStream, apps: &Value, seen: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let head = read_head(&mut stream);
    if !head.ends_with(b"\r\n\r\n") {
        return;
    }
    let head = String::from_utf8_lossy(&head);
    let line: Vec<&str> = head.lines().next().unwrap_or("").split(' ').collect();
    let (method, path) = (line[0], line.get(1).copied().unwrap_or(""));
    seen.lock().unwrap().push(format!("{method} {path}"));
    let app_with_id = |id: &str| {
        apps.as_array()
            .unwrap()
            .iter()
            .find(|app| app["id"] == id)
            .cloned()
    };
    let (status, body) = match (method, path) {
        ("GET", "/account/rate-limits") => ("200 OK", json!({"remaining": 4500})),
        ("GET", "/account") => (
            "200 OK",
            json!({"id": ACCOUNT_ID, "email": "me@example.com"}),
        ),
        ("GET", "/apps") => ("200 OK", apps.clone()),
        ("DELETE", path) => match path.strip_prefix("/apps/").and_then(app_with_id) {
            Some(app) => ("200 OK", app),
            None => (
                "404 Not Found",
                json!({"id": "not_found", "message": "no app"}),
            ),
        },
        _ => (
            "404 Not Found",
            json!({"id": "not_found", "message": "no route"}),
        ),
    };
    let body = body.to_string();
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nRateLimit-Remaining: 4400\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

fn app_json(id: &str, name: &str, age: Duration) -> Value {
    let created_at = chrono::Utc::now() - chrono::Duration::from_std(age).unwrap();
    json!({
        "id": id,
        "name": name,
        "created_at": created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "owner": {"id": ACCOUNT_ID, "email": "me@example.com"},
        "team": null,
    })
}

#[test]
fn a_missing_date_falls_back_to_the_local_clock_and_says_so() {
    let old_id = "11111111-1111-4111-8111-111111111111";
    let apps = json!([
        app_json(old_id, OLD, Duration::from_secs(30 * 60)),
        app_json(
            "22222222-2222-4222-8222-222222222222",
            YOUNG,
            Duration::from_secs(30)
        ),
    ]);
    let api = Dateless::start(apps);
    let (run, report) = Reaper::bare()
        .env("HEROKU_API_URL", api.url())
        .env("HEROKU_API_KEY", "a-key-for-the-fixture")
        .args(["--concurrency", "1"])
        .json();
    run.code(0);
    assert_eq!(report["counts"]["deleted"], 1);
    assert_eq!(named(&report["apps"], YOUNG)["verdict"], "too-young");
    assert!(
        api.requests().contains(&format!("DELETE /apps/{old_id}")),
        "{:?}",
        api.requests()
    );
    assert_eq!(report["clock"]["source"], "local");
    assert_eq!(
        report["clock"]["note"],
        "the API's answers had no readable `Date` header, so ages are by the local clock"
    );
}
