//! Helpers shared by the integration tests: a small HTTP/1.1 client over a plain
//! `TcpStream` (what goes over the wire is exactly what the test wrote), the reading of
//! a request's head for raw test servers, a checker for values against the Platform
//! API's JSON schema, and the tables of the docs that tests hold the binary to.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use heroku_sandbox::{Options, Role, Sandbox};
use serde_json::Value;

pub const ACCEPT_V3: &str = "application/vnd.heroku+json; version=3";

/// A response as it came off the wire.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "the body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `id` of a Heroku error body.
    pub fn error_id(&self) -> String {
        self.json()["id"].as_str().unwrap_or_default().to_string()
    }

    pub fn remaining(&self) -> Option<u32> {
        self.header("RateLimit-Remaining")
            .map(|value| value.parse().expect("RateLimit-Remaining is a number"))
    }
}

/// Sends one request on a fresh connection and reads the whole response.
pub fn request(base_url: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    request_with_body(base_url, method, path, headers, b"")
}

/// As [`request`], sending `body` (with its `Content-Length`) after the head.
pub fn request_with_body(
    base_url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let host = base_url
        .strip_prefix("http://")
        .expect("the sandbox speaks plain http");
    let mut stream = TcpStream::connect(host).expect("connect to the sandbox");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send the request");
    stream.write_all(body).expect("send the body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a response head");
    let head = std::str::from_utf8(&raw[..split]).expect("an ASCII response head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("a status code in {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|window| window == b"\r\n")
            .expect("a chunk size line");
        let size_text = std::str::from_utf8(&rest[..line_end]).expect("an ASCII chunk size");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .expect("a hex chunk size");
        if size == 0 {
            return body;
        }
        let start = line_end + 2;
        body.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
}

/// Requests as a well-behaved client sends them: Accept and the sandbox's token.
#[derive(Clone)]
pub struct Api {
    pub url: String,
    token: String,
}

impl Api {
    pub fn new(sandbox: &Sandbox) -> Api {
        Api {
            url: sandbox.url(),
            token: sandbox.token().to_string(),
        }
    }

    pub fn send(&self, method: &str, path: &str, extra: &[(&str, &str)]) -> Reply {
        let authorization = format!("Bearer {}", self.token);
        let mut headers = vec![
            ("Accept", ACCEPT_V3),
            ("Authorization", authorization.as_str()),
        ];
        headers.extend_from_slice(extra);
        request(&self.url, method, path, &headers)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[])
    }

    /// A POST with a JSON body, as the Heroku CLI sends one.
    pub fn post(&self, path: &str, body: &str) -> Reply {
        let authorization = format!("Bearer {}", self.token);
        let headers = [
            ("Accept", ACCEPT_V3),
            ("Authorization", authorization.as_str()),
            ("Content-Type", "application/json"),
        ];
        request_with_body(&self.url, "POST", path, &headers, body.as_bytes())
    }

    pub fn get_range(&self, path: &str, range: &str) -> Reply {
        self.send("GET", path, &[("Range", range)])
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, &[])
    }

    /// Follows `Next-Range` from `range` (none: the server's default) to the last page;
    /// gives every app served and the status and size of each page.
    pub fn list_all(&self, path: &str, range: Option<&str>) -> (Vec<Value>, Vec<(u16, usize)>) {
        let mut apps = Vec::new();
        let mut pages = Vec::new();
        let mut range = range.map(str::to_string);
        loop {
            let reply = match &range {
                Some(range) => self.get_range(path, range),
                None => self.get(path),
            };
            let page = reply
                .json()
                .as_array()
                .cloned()
                .expect("a page is an array");
            pages.push((reply.status, page.len()));
            apps.extend(page);
            match (reply.status, reply.header("Next-Range")) {
                (206, Some(next)) => range = Some(next.to_string()),
                (200, None) => return (apps, pages),
                (status, next) => {
                    panic!("page {}: status {status}, Next-Range {next:?}", pages.len())
                }
            }
            assert!(pages.len() < 1000, "Next-Range never ends");
        }
    }
}

/// The entry called `name` in a report's list (`report["apps"]`, `report["pipelines"]`).
pub fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .expect("a list in the report")
        .iter()
        .find(|entry| entry["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in the report"))
}

/// Polls `check` until it holds, failing after five seconds.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < give_up, "gave up waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|group| group.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|group| {
            group
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
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

/// A sandbox with the default options changed by `configure`, and a client for it.
pub fn start_with_api(configure: impl FnOnce(&mut Options)) -> (Sandbox, Api) {
    let mut options = Options::default();
    configure(&mut options);
    let sandbox = Sandbox::start(options).expect("the sandbox starts");
    let api = Api::new(&sandbox);
    (sandbox, api)
}

/// The name of a seeded app of `role`.
pub fn app_named(sandbox: &Sandbox, role: Role) -> String {
    sandbox
        .apps()
        .into_iter()
        .find(|app| app.role == role)
        .unwrap_or_else(|| panic!("a seeded {role:?} app"))
        .name
}

/// Heroku's Platform API JSON schema, vendored in `tests/fixtures/` (see its README).
pub struct Schema {
    root: Value,
}

impl Schema {
    pub fn load() -> Schema {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/heroku-platform-api-schema.json"
        );
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|error| panic!("read {path}: {error}"));
        Schema {
            root: serde_json::from_str(&text).expect("the schema is JSON"),
        }
    }

    /// `definitions.<name>`.
    pub fn definition(&self, name: &str) -> &Value {
        &self.root["definitions"][name]
    }

    /// The property names of `definitions.<name>`.
    pub fn property_names(&self, name: &str) -> BTreeSet<String> {
        self.definition(name)["properties"]
            .as_object()
            .expect("the definition has properties")
            .keys()
            .cloned()
            .collect()
    }

    /// `value` breaks no rule of `definitions.<definition>` and has every property it lists.
    pub fn assert_follows(&self, definition: &str, value: &Value) {
        let keys: BTreeSet<String> = value
            .as_object()
            .unwrap_or_else(|| panic!("an object: {value}"))
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, self.property_names(definition), "{value}");
        let violations = self.violations(self.definition(definition), value, definition);
        assert!(violations.is_empty(), "{violations:#?}");
    }

    /// Every way `value` breaks `schema`, each as `path: what`.
    pub fn violations(&self, schema: &Value, value: &Value, path: &str) -> Vec<String> {
        let schema = self.resolve(schema);
        let mut found = Vec::new();
        if let Some(choices) = schema["anyOf"].as_array()
            && !choices
                .iter()
                .any(|choice| self.violations(choice, value, path).is_empty())
        {
            found.push(format!("{path}: matches none of `anyOf`"));
        }
        if let Some(types) = types_of(schema)
            && !types.iter().any(|kind| has_type(value, kind))
        {
            found.push(format!("{path}: {value} is not of type {types:?}"));
        }
        if let Some(text) = value.as_str() {
            if let Some(format) = schema["format"].as_str()
                && !has_format(text, format)
            {
                found.push(format!("{path}: {text:?} is not a {format}"));
            }
            if let Some(pattern) = schema["pattern"].as_str() {
                match regex::Regex::new(pattern) {
                    Ok(regex) if regex.is_match(text) => {}
                    Ok(_) => found.push(format!("{path}: {text:?} does not match {pattern}")),
                    Err(error) => found.push(format!("{path}: cannot check {pattern}: {error}")),
                }
            }
        }
        if let (Some(object), Some(properties)) =
            (value.as_object(), schema["properties"].as_object())
        {
            for (key, item) in object {
                match properties.get(key) {
                    Some(property) => {
                        found.extend(self.violations(property, item, &format!("{path}.{key}")))
                    }
                    None => found.push(format!("{path}.{key}: not a property of the schema")),
                }
            }
            if schema["strictProperties"] == Value::Bool(true) {
                for key in properties.keys().filter(|key| !object.contains_key(*key)) {
                    found.push(format!("{path}.{key}: missing"));
                }
            }
        }
        found
    }

    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        while let Some(reference) = schema["$ref"].as_str() {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("only local references: {reference}"));
            schema = self
                .root
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} resolves to nothing"));
        }
        schema
    }
}

fn types_of(schema: &Value) -> Option<Vec<&str>> {
    match &schema["type"] {
        Value::String(kind) => Some(vec![kind.as_str()]),
        Value::Array(kinds) => Some(kinds.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => panic!("unknown JSON type {kind} in the schema"),
    }
}

fn has_format(text: &str, format: &str) -> bool {
    match format {
        "uuid" => is_uuid(text),
        // The schema's examples are all `2012-01-01T12:00:00Z`; the sandbox serves that form.
        "date-time" => {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ").is_ok()
                && text.len() == "2012-01-01T12:00:00Z".len()
        }
        "email" => text
            .split_once('@')
            .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.')),
        "uri" => text.starts_with("https://") || text.starts_with("http://"),
        _ => panic!("no check for the format {format}"),
    }
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
