//! The API key never appears in any output, at any log level, even when things fail.

use heroku_sandbox::{Fault, FaultMix, Options, Sandbox, Seed, Server};

use crate::reap::run_with_deletes_failing;
use crate::reaper::{Reaper, Run};
use crate::runner::Runner;

const KEY: &str = "HRKU-AAq1zb9Sm4Kp7Tx2Vw6Ny3Lc8Rf5Gj0Hd";

fn sandbox() -> Sandbox {
    Sandbox::start(Options {
        token: KEY.to_string(),
        seed: Seed {
            stale: 5,
            ..Seed::default()
        },
        ..Options::default()
    })
    .unwrap()
}

fn assert_no_key(run: &Run) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(!text.contains(KEY), "the key leaked on {stream}:\n{text}");
        assert!(
            !text.contains(&KEY[5..20]),
            "part of the key leaked on {stream}"
        );
    }
}

#[test]
fn the_key_never_appears_even_at_trace() {
    let sandbox = sandbox();
    for format in ["human", "json"] {
        let run = Reaper::against(&sandbox)
            .env("RUST_LOG", "trace")
            .args(["-vvv", "--format", format])
            .run();
        run.code(0);
        assert!(
            run.stderr.contains("TRACE") || run.stderr.contains("DEBUG"),
            "no logs at trace:\n{}",
            run.stderr
        );
        assert_no_key(&run);
    }
}

#[test]
fn nor_when_it_is_rejected_or_the_api_fails() {
    let sandbox = sandbox();
    let rejected = format!("{KEY}-wrong");
    let run = Reaper::against(&sandbox)
        .env("HEROKU_API_KEY", &rejected)
        .env("RUST_LOG", "trace")
        .run();
    run.code(2);
    assert_no_key(&run);
    let reaper = Reaper::against(&sandbox)
        .env("RUST_LOG", "trace")
        .args(["--format", "json"]);
    let run = run_with_deletes_failing(&sandbox, reaper);
    run.code(1);
    assert_no_key(&run);
}

#[test]
fn nor_from_netrc_or_a_dry_run() {
    let sandbox = sandbox();
    let reaper = Reaper::against(&sandbox).env_remove("HEROKU_API_KEY");
    std::fs::write(
        reaper.home().join(".netrc"),
        format!("machine api.heroku.com login ci@example.com password {KEY}\n"),
    )
    .unwrap();
    let run = reaper.env("RUST_LOG", "trace").args(["--dry-run"]).run();
    run.code(0);
    assert_no_key(&run);
}

/// A second host on loopback that records the head of every request it gets.
struct Recorder {
    addr: std::net::SocketAddr,
    heads: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    fn start() -> Recorder {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (heads, stop) = (heads.clone(), stop.clone());
            move || {
                for stream in listener.incoming() {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        return;
                    }
                    let Ok(mut stream) = stream else { continue };
                    let mut buffer = [0u8; 8192];
                    let n = stream.read(&mut buffer).unwrap_or(0);
                    heads
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buffer[..n]).into_owned());
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n[]",
                    );
                }
            }
        });
        Recorder {
            addr,
            heads,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accepting thread so it sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn a_redirect_to_another_host_never_carries_the_key_there() {
    let recorder = Recorder::start();
    for route in ["GET /apps", "DELETE /apps/{app}"] {
        let sandbox = sandbox();
        sandbox.inject(route, Fault::Redirect(recorder.addr), 1_000);
        let run = Reaper::against(&sandbox)
            .env("RUST_LOG", "trace")
            .args(["--retries", "0"])
            .run();
        run.code(1)
            .stderr_has("answered 307 with a redirect")
            .stderr_has("the key is not sent on redirects");
        assert!(run.stderr.contains(&recorder.addr.to_string()));
        assert_no_key(&run);
        let route_307 = format!("{route} 307");
        assert!(
            sandbox.stats().by_status[&route_307] >= 1,
            "no redirect served"
        );
    }
    let heads = recorder.heads.lock().unwrap();
    assert!(
        heads.is_empty(),
        "the other host was sent {} requests: {heads:?}",
        heads.len()
    );
}

#[cfg(unix)]
#[test]
fn the_lock_file_is_private_to_its_user() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let lock_file = dir.path().join("reaper.lock");
    Reaper::against(&sandbox)
        .env("HEROKU_REAPER_LOCK_FILE", &lock_file)
        .run()
        .code(0);
    let mode = std::fs::metadata(&lock_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

#[cfg(unix)]
#[test]
fn a_lock_file_planted_as_a_symlink_is_not_followed() {
    let sandbox = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("precious");
    std::fs::write(&target, "precious").unwrap();
    let lock_file = dir.path().join("reaper.lock");
    std::os::unix::fs::symlink(&target, &lock_file).unwrap();
    let run = Reaper::against(&sandbox)
        .env("HEROKU_REAPER_LOCK_FILE", &lock_file)
        .run();
    run.code(2)
        .stderr_has("cannot take the lock")
        .stderr_has("--lock-file");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
    assert_eq!(sandbox.stats().requests, 0);
}

#[test]
fn nor_at_any_log_level_under_faults_nor_in_the_report_file() {
    let mix: FaultMix = "5xx=0.1,reset=0.1,malformed=0.1,lost-delete=0.2,429=0.05"
        .parse()
        .unwrap();
    for (level, verbosity) in ["", "-v", "-vv", "-vvv"].into_iter().enumerate() {
        let sandbox = Sandbox::start(Options {
            token: KEY.to_string(),
            server: Server {
                faults: Some(mix.clone()),
                fault_seed: level as u64,
                fault_delay: std::time::Duration::from_millis(300),
                ..Server::default()
            },
            ..Options::default()
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.json");
        let mut reaper = Reaper::against(&sandbox).args([
            "--timeout",
            "100ms",
            "--retry-backoff",
            "1ms",
            "--rate-limit-refill",
            "60000",
            "--report",
        ]);
        reaper = reaper.args([report.as_os_str()]);
        if !verbosity.is_empty() {
            reaper = reaper.args([verbosity]);
        }
        let run = reaper.run();
        assert!(matches!(run.code, 0 | 1 | 3), "{verbosity}: {}", run.stderr);
        assert_no_key(&run);
        let written = std::fs::read_to_string(&report).unwrap();
        assert!(!written.contains(KEY) && !written.contains(&KEY[5..20]));
        assert!(sandbox.stats().faults.values().sum::<u64>() > 0);
    }
}

#[test]
fn nor_the_github_token_accepted_or_rejected() {
    use crate::fake_github::{FakeGithub, TOKEN, run};
    let sandbox = sandbox();
    let github = FakeGithub::start_at("");
    github.add(run("heroku/ruby", 1, chrono::Utc::now()));
    let rejected = "ghs_R3jEcTeDt0kEnW1thNoR1ghtsAtAll";
    for (token, warned) in [(TOKEN, false), (rejected, true)] {
        let run = Reaper::against(&sandbox)
            .env("GITHUB_API_URL", github.url())
            .env("GITHUB_TOKEN", token)
            .env("GITHUB_REPOSITORY", "heroku/ruby")
            .env("RUST_LOG", "trace")
            .args([
                "-vvv",
                "--github-live-runs",
                "--dry-run",
                "--format",
                "json",
            ])
            .run();
        run.code(0);
        assert_eq!(
            run.stderr.contains("answered 401"),
            warned,
            "{}",
            run.stderr
        );
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(
                !text.contains(&token[4..20]),
                "the token leaked on {stream}"
            );
        }
    }
    // Five listings with the good token; the rejected one stops at the first.
    assert_eq!(github.requests().len(), 5 + 1);
}

/// In GitHub mode the key appears once, as the `::add-mask::` line the runner swallows,
/// and nowhere else: not in another line, the outputs, the summary or the report.
#[test]
fn in_github_mode_only_the_mask_line_holds_it() {
    let sandbox = sandbox();
    sandbox.inject("DELETE /apps/{app}", Fault::Status(500), 2);
    for (format, commands_on_stdout) in [("human", true), ("json", false)] {
        let runner = Runner::new();
        let run = Reaper::against(&sandbox)
            .in_runner(&runner)
            .env("RUST_LOG", "trace")
            .args(["-vvv", "--retries", "0", "--format", format])
            .run();
        let (commands, other) = if commands_on_stdout {
            (&run.stdout, &run.stderr)
        } else {
            (&run.stderr, &run.stdout)
        };
        let holding: Vec<&str> = commands.lines().filter(|l| l.contains(KEY)).collect();
        assert_eq!(holding, [format!("::add-mask::{KEY}")], "{format}");
        assert_eq!(commands.lines().next(), Some(holding[0]), "masked first");
        let rest = Run {
            code: run.code,
            stdout: commands.replacen(holding[0], "", 1),
            stderr: other.clone(),
        };
        assert_no_key(&rest);
        let outputs = runner.outputs();
        let report = std::fs::read_to_string(&outputs["report"]).unwrap();
        for (what, text) in [
            ("outputs", format!("{outputs:?}")),
            ("summary", runner.summary()),
            ("report", report),
        ] {
            assert!(
                !text.contains(&KEY[5..20]),
                "the key leaked into the {what}"
            );
        }
    }
}
