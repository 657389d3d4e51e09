//! A small HTTP/1.1 client over a plain `TcpStream`, for tests that talk to the sandbox
//! as any client would: what goes over the wire is exactly what the test wrote. With the
//! `test-hooks` feature, for this crate's tests and heroku-reaper's alike.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::Sandbox;

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
