//! The binary's `sandbox` subcommand: where it says to connect, how it stops, and a port
//! it cannot take. The sandbox itself is tested in its own crate
//! (`crates/heroku-sandbox/tests/`).

use heroku_sandbox::wire::{ACCEPT_V3, request};
use heroku_sandbox::{Options, Sandbox};

#[cfg(unix)]
#[test]
fn the_sandbox_command_prints_where_to_connect_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};

    /// Stops the sandbox even when an assertion fails first.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let mut running = Running(
        Command::new(env!("CARGO_BIN_EXE_heroku-reaper"))
            .args(["sandbox", "--stale=4", "--fresh=1", "--other=0"])
            .args(["--team-apps=0", "--collaborator-apps=0", "--token=t0ken"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run heroku-reaper sandbox"),
    );
    let child = &mut running.0;
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = [String::new(), String::new()];
    for line in &mut lines {
        stdout.read_line(line).expect("a line on stdout");
    }
    let url = lines[0]
        .trim()
        .strip_prefix("HEROKU_API_URL=")
        .expect("the URL line")
        .to_string();
    assert_eq!(lines[1], "HEROKU_API_KEY=t0ken\n");
    let reply = request(
        &url,
        "GET",
        "/apps",
        &[("Accept", ACCEPT_V3), ("Authorization", "Bearer t0ken")],
    );
    assert_eq!(
        (reply.status, reply.json().as_array().map(Vec::len)),
        (200, Some(5))
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = child.wait().expect("the sandbox exits");
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "nothing more on stdout");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains(&format!("listens on {url}")), "{stderr}");
    assert!(stderr.contains("Ctrl-C to stop."), "{stderr}");
    assert!(
        stderr.contains("sandbox stopped after 1 requests"),
        "{stderr}"
    );
}

#[test]
fn the_sandbox_command_reports_a_taken_port() {
    let sandbox = Sandbox::start(Options::default()).expect("the sandbox starts");
    let port = sandbox.url().rsplit(':').next().unwrap().to_string();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_heroku-reaper"))
        .args(["sandbox", "--port", &port])
        .output()
        .expect("run heroku-reaper sandbox");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!("error: cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}
