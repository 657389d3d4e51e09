//! The network around the API: a GitHub that trickles its answer, and proxies taken
//! from the environment. Two raw TCP servers on loopback stand in for them, because
//! what matters is what crosses the wire byte by byte.

use std::io::{ErrorKind, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use heroku_sandbox::{Role, Seed};
use serde_json::Value;

use crate::fake_github::{FakeGithub, TOKEN, run};
use crate::reap::start;
use crate::reaper::Reaper;
use crate::support::read_head;

/// A server on 127.0.0.1 that hands each connection, with the head of its first
/// request, to `answer` on a thread of its own, and records every head.
pub struct RawServer {
    pub port: u16,
    heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    accepting: Option<JoinHandle<()>>,
}

type Answer = fn(&mut TcpStream, &AtomicBool);

impl RawServer {
    fn start(answer: Answer) -> RawServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("an address").port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let accepting = std::thread::spawn({
            let (heads, stop) = (heads.clone(), stop.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (heads, stop) = (heads.clone(), stop.clone());
                            std::thread::spawn(move || serve(stream, answer, &heads, &stop));
                        }
                        Err(error) if error.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(error) => panic!("accept: {error}"),
                    }
                }
            }
        });
        RawServer {
            port,
            heads,
            stop,
            accepting: Some(accepting),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The head of every request received, in order.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(accepting) = self.accepting.take() {
            let _ = accepting.join();
        }
    }
}

fn serve(mut stream: TcpStream, answer: Answer, heads: &Mutex<Vec<String>>, stop: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let head = read_head(&mut stream);
    if head.is_empty() {
        return;
    }
    heads
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    answer(&mut stream, stop);
}

/// A GitHub that starts its answer, then sends one header line every half second,
/// for ever: only a bound on the whole exchange ends the wait.
pub fn trickling_github() -> RawServer {
    RawServer::start(|stream, stop| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n");
        trickle(stream, stop, |n| format!("X-Trickle-{n}: still coming\r\n"));
    })
}

/// As [`trickling_github`], but the headers come whole and the body a space at a time.
fn github_with_a_trickling_body() -> RawServer {
    RawServer::start(|stream, stop| {
        let head =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{";
        let _ = stream.write_all(head.as_bytes());
        trickle(stream, stop, |_| " ".to_string());
    })
}

/// Writes `piece(n)` every half second until the server stops or the peer leaves.
fn trickle(stream: &mut TcpStream, stop: &AtomicBool, piece: impl Fn(usize) -> String) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(500));
        n += 1;
        if stream.write_all(piece(n).as_bytes()).is_err() {
            return;
        }
    }
}

/// A proxy that records what it is asked and answers every request, CONNECT included,
/// with 502: what it saw is the point, not what it forwards.
fn recording_proxy() -> RawServer {
    RawServer::start(|stream, _| {
        let _ = stream.write_all(
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    })
}

/// A reaper reading the live runs of `heroku/ruby` from the GitHub at `url`.
fn with_github(reaper: Reaper, url: &str) -> Reaper {
    reaper
        .env("GITHUB_API_URL", url)
        .env("GITHUB_TOKEN", TOKEN)
        .args(["--github-live-runs", "--github-repo", "heroku/ruby"])
}

#[test]
fn a_github_that_trickles_its_headers_is_cut_off_by_the_timeout_and_the_ttl_decides() {
    cut_off_by_the_timeout(trickling_github(), 2);
}

#[test]
fn a_github_that_trickles_its_body_is_cut_off_by_the_timeout_and_the_ttl_decides() {
    // Headers came: the body's failure is not retried.
    cut_off_by_the_timeout(github_with_a_trickling_body(), 1);
}

/// A run reading the slow `github` with `--timeout 2s --retries 1`: it ends with one
/// warning after `attempts` requests, and the TTL rule alone deletes.
fn cut_off_by_the_timeout(github: RawServer, attempts: usize) {
    let sandbox = start(Seed::default());
    let run = with_github(Reaper::against(&sandbox), &github.url())
        .args(["--format", "json", "--timeout", "2s", "--retries", "1"])
        // A bound on a run that would otherwise hang, far above 2 attempts of 2s.
        .run_within(Duration::from_secs(120));
    run.code(0);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains("warning: cannot read GitHub's live workflow runs"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(warnings[0].contains("timed out"), "{}", warnings[0]);
    // The first listing failed, each of its attempts cut off: nothing more was asked.
    assert_eq!(github.heads().len(), attempts, "{:?}", github.heads());
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(report["github"]["cutoff"].is_null());
    assert!(report["github"]["warning"].is_string());
    // The TTL rule alone: every stale app went, every young one stayed.
    let deleted = sandbox.deleted();
    assert_eq!(deleted.len(), 30);
    assert!(deleted.iter().all(|app| app.role == Role::Stale));
}

/// Every variable a proxy can come from, pointing at `proxy`.
fn all_proxies(mut reaper: Reaper, proxy: &RawServer) -> Reaper {
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        reaper = reaper.env(name, proxy.url());
    }
    reaper.env_remove("NO_PROXY").env_remove("no_proxy")
}

#[test]
fn an_api_on_this_machine_is_never_reached_through_a_proxy() {
    let proxy = recording_proxy();
    let sandbox = start(Seed::default());
    let github = FakeGithub::start_at("");
    github.add(run(
        "heroku/ruby",
        7,
        chrono::Utc::now() - chrono::Duration::hours(2),
    ));
    let reaper = with_github(Reaper::against(&sandbox), &github.url());
    let (run, report) = all_proxies(reaper, &proxy).json();
    run.code(0);
    assert!(proxy.heads().is_empty(), "{:?}", proxy.heads());
    assert!(report["github"]["warning"].is_null(), "{report}");
    assert_eq!(report["github"]["live_runs"], 1);
    assert!(!github.requests().is_empty());
    assert_eq!(report["counts"]["deleted"], 30);
    assert_eq!(sandbox.deleted().len(), 30);
}

#[test]
fn an_https_api_goes_through_the_proxy_by_connect_and_the_proxy_never_sees_a_secret() {
    const HEROKU: &str = "heroku.reaper-test.invalid";
    const GITHUB: &str = "github.reaper-test.invalid";
    let proxy = recording_proxy();
    let sandbox = start(Seed::default());
    let reaper = |proxy: &RawServer| {
        let reaper = Reaper::against(&sandbox)
            .args(["--api-url", &format!("https://{HEROKU}")])
            .args([
                "--retries",
                "1",
                "--retry-backoff",
                "10ms",
                "--timeout",
                "10s",
            ]);
        all_proxies(with_github(reaper, &format!("https://{GITHUB}")), proxy)
    };
    let run = reaper(&proxy).run_within(Duration::from_secs(120));
    assert_ne!(
        run.code, 0,
        "the proxy refused every tunnel: {}",
        run.stderr
    );
    let heads = proxy.heads();
    let tunnels = |host: &str| {
        let line = format!("CONNECT {host}:443 HTTP/1.1\r\n");
        heads.iter().filter(|head| head.starts_with(&line)).count()
    };
    // Each request's attempts, and nothing but tunnels.
    assert!(tunnels(HEROKU) >= 1, "{heads:?}");
    assert!(tunnels(GITHUB) >= 1, "{heads:?}");
    assert_eq!(tunnels(HEROKU) + tunnels(GITHUB), heads.len(), "{heads:?}");
    for head in &heads {
        assert!(
            !head.to_ascii_lowercase().contains("authorization"),
            "{head}"
        );
        assert!(
            !head.contains(sandbox.token()) && !head.contains(TOKEN),
            "{head}"
        );
    }
    assert_eq!(sandbox.stats().requests, 0);

    // `NO_PROXY` still takes a host out of the proxy's hands.
    let proxy = recording_proxy();
    let run = reaper(&proxy)
        .env("NO_PROXY", GITHUB)
        .run_within(Duration::from_secs(120));
    assert_ne!(run.code, 0, "{}", run.stderr);
    let heads = proxy.heads();
    assert!(!heads.is_empty(), "{heads:?}");
    assert!(
        heads
            .iter()
            .all(|head| head.starts_with(&format!("CONNECT {HEROKU}:443 "))),
        "{heads:?}"
    );
}
