//! A fake GitHub REST API on loopback: workflow-run listings with `Link` paging (at most
//! 1,000 runs a status, as GitHub lists them), one run by id, a run's jobs (paged too),
//! bearer-token checks, and failures on demand: error statuses, answers of the wrong
//! shape, links to another origin, bodies with no end. Just enough for the reaper's
//! `--github-live-runs` and `--reserve-apps`, served by axum on its own thread; dropping
//! it stops it. A test may end a run while a reaper waits.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::support::Fixture;

/// A workflow run the fake knows.
#[derive(Clone, Debug)]
pub struct FakeRun {
    pub repo: String,
    pub id: u64,
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    /// Served by id; in the status listings only when true (GitHub's listings lag).
    pub listed: bool,
    /// `completed` runs have one: `success`, `cancelled`, …
    pub conclusion: Option<&'static str>,
    /// The latest attempt's jobs.
    pub jobs: Vec<FakeJob>,
}

/// A job of a run.
#[derive(Clone, Debug)]
pub struct FakeJob {
    pub name: String,
    pub status: &'static str,
    pub conclusion: Option<&'static str>,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub runner_name: Option<String>,
}

/// A job that completed with `success` at `at`, a minute after it started.
pub fn succeeded(name: &str, at: DateTime<Utc>) -> FakeJob {
    FakeJob {
        name: name.to_string(),
        status: "completed",
        conclusion: Some("success"),
        started_at: at - chrono::Duration::minutes(1),
        completed_at: Some(at),
        runner_name: Some("GitHub Actions 1000".to_string()),
    }
}

/// A job in progress since `started` on the runner `runner`.
pub fn in_progress(name: &str, started: DateTime<Utc>, runner: &str) -> FakeJob {
    FakeJob {
        name: name.to_string(),
        status: "in_progress",
        conclusion: None,
        started_at: started,
        completed_at: None,
        runner_name: Some(runner.to_string()),
    }
}

/// The next `times` API requests answer `status`; `rate_limited` adds the headers of
/// an exhausted rate limit.
#[derive(Clone, Copy, Debug)]
pub struct Failure {
    pub status: u16,
    pub times: usize,
    pub rate_limited: bool,
}

struct Fake {
    token: String,
    /// `http://127.0.0.1:PORT` and the prefix the routes are under.
    base: String,
    runs: Vec<FakeRun>,
    /// The most runs a page holds, whatever `per_page` asks: small, to make pages.
    page_size: usize,
    failure: Option<Failure>,
    /// The next listings answer 200 with this body, this many times.
    shape: Option<(Value, usize)>,
    /// Links to next pages go to this origin instead of the fake's own.
    link_origin: Option<String>,
    /// Bytes of whitespace streamed after each listing's JSON.
    padding: u64,
    /// `GET /path?query` of every request, in order.
    requests: Vec<String>,
}

/// GitHub lists at most this many runs for a status filter, whatever `total_count` says.
const MOST_LISTED: usize = 1_000;

type Shared = Arc<Mutex<Fake>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Fake> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct FakeGithub {
    shared: Shared,
    _server: Fixture,
}

pub const TOKEN: &str = "ghs_fAkEt0kEn4Te5tS0nLyZq9Xw8Vu7";

impl FakeGithub {
    /// Serves under `prefix`: `""` as github.com's API, `/api/v3` as GitHub Enterprise
    /// Server.
    pub fn start_at(prefix: &str) -> FakeGithub {
        let base = |addr: SocketAddr| format!("http://{addr}{prefix}");
        let shared = Arc::new(Mutex::new(Fake {
            token: TOKEN.to_string(),
            base: String::new(),
            runs: Vec::new(),
            page_size: 2,
            failure: None,
            shape: None,
            link_origin: None,
            padding: 0,
            requests: Vec::new(),
        }));
        let routes = Router::new()
            .route("/repos/{owner}/{repo}/actions/runs", get(list_runs))
            .route("/repos/{owner}/{repo}/actions/runs/{id}", get(one_run))
            .route(
                "/repos/{owner}/{repo}/actions/runs/{id}/jobs",
                get(run_jobs),
            )
            .with_state(shared.clone());
        let server = Fixture::serve(|addr| {
            lock(&shared).base = base(addr);
            if prefix.is_empty() {
                routes
            } else {
                Router::new().nest(prefix, routes)
            }
        });
        FakeGithub {
            shared,
            _server: server,
        }
    }

    /// The value for `GITHUB_API_URL`.
    pub fn url(&self) -> String {
        lock(&self.shared).base.clone()
    }

    pub fn add(&self, run: FakeRun) {
        lock(&self.shared).runs.push(run);
    }

    /// The run ends, `conclusion` (`success`, `cancelled`, …): it leaves the live listings.
    pub fn end(&self, repo: &str, id: u64, conclusion: &'static str) {
        let mut state = lock(&self.shared);
        for run in state
            .runs
            .iter_mut()
            .filter(|run| run.repo == repo && run.id == id)
        {
            run.status = "completed";
            run.conclusion = Some(conclusion);
        }
    }

    pub fn fail(&self, failure: Failure) {
        lock(&self.shared).failure = Some(failure);
    }

    /// Pages of at most `size` runs (GitHub's largest is 100).
    pub fn page_size(&self, size: usize) {
        lock(&self.shared).page_size = size;
    }

    /// The next `times` listings answer 200 with `body`, whatever they asked for.
    pub fn answer_lists_with(&self, body: Value, times: usize) {
        lock(&self.shared).shape = Some((body, times));
    }

    /// Links to next pages point at `origin` (`http://127.0.0.1:PORT`) instead.
    pub fn link_next_pages_to(&self, origin: &str) {
        lock(&self.shared).link_origin = Some(origin.to_string());
    }

    /// Each listing streams `bytes` of whitespace after its JSON: still JSON, if read
    /// to the end.
    pub fn pad_lists(&self, bytes: u64) {
        lock(&self.shared).padding = bytes;
    }

    /// Every request so far, as `GET /path?query`.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.shared).requests.clone()
    }
}

/// An in-progress run of `repo`, started `started` (and created a few seconds before).
pub fn run(repo: &str, id: u64, started: DateTime<Utc>) -> FakeRun {
    FakeRun {
        repo: repo.to_string(),
        id,
        status: "in_progress",
        created_at: started - chrono::Duration::seconds(5),
        started_at: Some(started),
        listed: true,
        conclusion: None,
        jobs: Vec::new(),
    }
}

/// The checks before any answer: the recorded request, an injected failure, the token.
/// Gives the answer when the request is refused.
fn refusal(shared: &Shared, headers: &HeaderMap, uri: &Uri) -> Option<Response> {
    let mut state = lock(shared);
    state.requests.push(format!("GET {uri}"));
    if let Some(failure) = state.failure.as_mut().filter(|failure| failure.times > 0) {
        failure.times -= 1;
        return Some(failed(*failure));
    }
    let expected = format!("Bearer {}", state.token);
    let authorized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|value| value.as_bytes() == expected.as_bytes());
    (!authorized).then(|| github_error(StatusCode::UNAUTHORIZED, "Bad credentials"))
}

/// Answers with `respond` once the request passes the checks.
fn answer(
    shared: &Shared,
    headers: &HeaderMap,
    uri: &Uri,
    respond: impl FnOnce(&Fake) -> Response,
) -> Response {
    match refusal(shared, headers, uri) {
        Some(refused) => refused,
        None => respond(&lock(shared)),
    }
}

fn failed(failure: Failure) -> Response {
    let status = StatusCode::from_u16(failure.status).expect("a status");
    let message = match failure.status {
        _ if failure.rate_limited => "API rate limit exceeded for installation ID 1.",
        403 => "Resource not accessible by integration",
        _ => "Server Error",
    };
    let mut response = github_error(status, message);
    if failure.rate_limited {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-remaining", "0".parse().expect("a value"));
        let reset = (Utc::now().timestamp() + 3600).to_string();
        headers.insert("x-ratelimit-reset", reset.parse().expect("a value"));
    }
    response
}

fn github_error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.as_u16().to_string(),
    });
    (status, axum::Json(body)).into_response()
}

fn run_json(run: &FakeRun) -> Value {
    let at = |time: DateTime<Utc>| time.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    json!({
        "id": run.id,
        "name": "CI",
        "run_number": run.id % 1000,
        "run_attempt": 1,
        "event": "push",
        "status": run.status,
        "conclusion": run.conclusion,
        "created_at": at(run.created_at),
        "updated_at": at(run.started_at.unwrap_or(run.created_at)),
        "run_started_at": run.started_at.map(at),
        "html_url": format!("https://github.com/{}/actions/runs/{}", run.repo, run.id),
    })
}

async fn list_runs(
    State(shared): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let mut response = answer(&shared, &headers, &uri, |state| {
        runs_page(state, &format!("{owner}/{repo}"), &query)
    });
    let mut state = lock(&shared);
    if let Some((body, times)) = state.shape.as_mut().filter(|(_, times)| *times > 0) {
        *times -= 1;
        response = axum::Json(body.clone()).into_response();
    }
    if state.padding > 0 && response.status().is_success() {
        response = padded(response, state.padding);
    }
    response
}

/// `response` with `bytes` of spaces streamed after its body, and no `Content-Length`.
fn padded(response: Response, bytes: u64) -> Response {
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = Padded {
        head: Some(body),
        left: bytes,
    };
    Response::from_parts(parts, axum::body::Body::new(body))
}

static SPACES: [u8; 64 * 1024] = [b' '; 64 * 1024];

/// A body, then spaces, a chunk at a time: memory for one chunk, whatever the length.
struct Padded {
    head: Option<axum::body::Body>,
    left: u64,
}

impl http_body::Body for Padded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        if let Some(head) = self.head.as_mut() {
            match std::pin::Pin::new(head).poll_frame(context) {
                Poll::Ready(None) => self.head = None,
                other => return other,
            }
        }
        let chunk = self.left.min(SPACES.len() as u64) as usize;
        if chunk == 0 {
            return Poll::Ready(None);
        }
        self.left -= chunk as u64;
        let spaces = axum::body::Bytes::from_static(&SPACES[..chunk]);
        Poll::Ready(Some(Ok(http_body::Frame::data(spaces))))
    }
}

/// One page of a repository's runs of one status, newest first as GitHub lists them,
/// with a `Link` header while more pages follow.
fn runs_page(state: &Fake, full: &str, query: &HashMap<String, String>) -> Response {
    let status = query.get("status").cloned().unwrap_or_default();
    let mut runs: Vec<&FakeRun> = state
        .runs
        .iter()
        .filter(|run| run.listed && run.repo == full && (status.is_empty() || run.status == status))
        .collect();
    runs.sort_by_key(|run| std::cmp::Reverse((run.created_at, run.id)));
    let total = runs.len();
    let items: Vec<Value> = runs
        .iter()
        .take(MOST_LISTED)
        .map(|run| run_json(run))
        .collect();
    let path = format!("/repos/{full}/actions/runs?status={status}");
    paged(state, "workflow_runs", items, total, &path, query)
}

/// The page of `items` that `query` asks for (`per_page`, `page`), under `key` beside
/// `total_count`, with a `Link` header to the next and last pages of `path` while more
/// follow.
fn paged(
    state: &Fake,
    key: &str,
    items: Vec<Value>,
    total: usize,
    path: &str,
    query: &HashMap<String, String>,
) -> Response {
    let per_page: usize = query
        .get("per_page")
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);
    let size = per_page.min(state.page_size).max(1);
    let page: usize = query.get("page").and_then(|n| n.parse().ok()).unwrap_or(1);
    let last = items.len().div_ceil(size).max(1);
    let count = items.len();
    let items: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    let body = json!({ "total_count": total, key: items });
    let mut response = axum::Json(body).into_response();
    if page < last && count > 0 {
        let base = match &state.link_origin {
            Some(origin) => origin,
            None => &state.base,
        };
        let joiner = if path.contains('?') { '&' } else { '?' };
        let link = |n: usize, rel: &str| {
            format!("<{base}{path}{joiner}per_page={per_page}&page={n}>; rel=\"{rel}\"")
        };
        let value = format!("{}, {}", link(page + 1, "next"), link(last, "last"));
        response
            .headers_mut()
            .insert(header::LINK, value.parse().expect("a Link header"));
    }
    response
}

fn job_json(run: &FakeRun, n: usize, job: &FakeJob) -> Value {
    let at = |time: DateTime<Utc>| time.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    json!({
        "id": run.id * 100 + n as u64,
        "run_id": run.id,
        "run_attempt": 1,
        "name": job.name,
        "status": job.status,
        "conclusion": job.conclusion,
        "created_at": at(job.started_at),
        "started_at": at(job.started_at),
        "completed_at": job.completed_at.map(at),
        "runner_name": job.runner_name,
        "labels": ["ubuntu-latest"],
    })
}

/// `GET /repos/{owner}/{repo}/actions/runs/{id}/jobs`: the run's jobs, paged.
async fn run_jobs(
    State(shared): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    answer(&shared, &headers, &uri, |state| {
        let full = format!("{owner}/{repo}");
        let Some(run) = state
            .runs
            .iter()
            .find(|run| run.repo == full && run.id == id)
        else {
            return github_error(StatusCode::NOT_FOUND, "Not Found");
        };
        let jobs: Vec<Value> = (run.jobs.iter().enumerate())
            .map(|(n, job)| job_json(run, n, job))
            .collect();
        let total = jobs.len();
        let path = format!("/repos/{full}/actions/runs/{id}/jobs");
        paged(state, "jobs", jobs, total, &path, &query)
    })
}

async fn one_run(
    State(shared): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    answer(&shared, &headers, &uri, |state| {
        let full = format!("{owner}/{repo}");
        match state
            .runs
            .iter()
            .find(|run| run.repo == full && run.id == id)
        {
            Some(run) => axum::Json(run_json(run)).into_response(),
            None => github_error(StatusCode::NOT_FOUND, "Not Found"),
        }
    })
}
