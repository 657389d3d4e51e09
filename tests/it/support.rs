//! Helpers shared by the integration tests: the reading of a request's head for raw test
//! servers, a test fixture's HTTP server, and the tables of the docs that tests hold the
//! binary to. The sandbox's own client for tests (`Api`) comes from its `test-hooks`.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

pub use heroku_sandbox::wire::Api;
use serde_json::Value;

/// The ids of the sandbox's stale apps still there, in the order a listing gives them.
pub fn stale_ids(sandbox: &heroku_sandbox::Sandbox) -> Vec<String> {
    let mut ids: Vec<String> = sandbox
        .apps()
        .into_iter()
        .filter(|app| app.role == heroku_sandbox::Role::Stale)
        .map(|app| app.id)
        .collect();
    ids.sort();
    ids
}

/// The entry called `name` in a report's list (`report["apps"]`, `report["pipelines"]`).
pub fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .expect("a list in the report")
        .iter()
        .find(|entry| entry["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in the report"))
}

/// The ids of the report's apps with this outcome.
pub fn ids_with_outcome(report: &Value, outcome: &str) -> std::collections::HashSet<String> {
    report["apps"]
        .as_array()
        .expect("the report lists apps")
        .iter()
        .filter(|app| app["outcome"] == outcome)
        .map(|app| app["id"].as_str().expect("an id").to_string())
        .collect()
}

/// Polls `check` until it holds, failing after five seconds.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < give_up, "gave up waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Reads a request's head byte by byte, so that not a byte of its body is taken, up to
/// the blank line that ends it; less when the peer stops or the read fails.
pub fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    head
}

/// The body rows of the table under `heading` in the repository's file `path` (README.md,
/// docs/cli.md) whose header row starts `header`: the tests that hold the binary to what
/// the docs say read them from here.
pub fn doc_table(path: &str, heading: &str, header: &str) -> Vec<String> {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&full)
        .unwrap_or_else(|error| panic!("read {}: {error}", full.display()))
        // Line endings as git may check them out on Windows.
        .replace("\r\n", "\n");
    let section = text
        .split(&format!("\n{heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("{path} has a `{heading}` section"));
    section
        .lines()
        .skip_while(|line| !line.starts_with(header))
        // The header row and the `| --- |` row under it.
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(str::to_string)
        .collect()
}

/// A test fixture's HTTP server on 127.0.0.1 (port chosen by the OS), on a thread of its
/// own; dropping it stops the server.
pub struct Fixture {
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Fixture {
    /// Binds first, so `route` can be built knowing the address.
    pub fn serve(route: impl FnOnce(std::net::SocketAddr) -> axum::Router) -> Fixture {
        let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("an address");
        let router = route(addr);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("serve");
            });
        });
        Fixture {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
