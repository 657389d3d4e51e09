//! The Heroku Platform API client: headers, paging, the shared rate throttle, retries.

mod error;
pub mod ids;
pub mod range;
pub mod throttle;
mod types;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, LOCATION, RANGE};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

pub use error::{ApiError, RequestLine};
pub use types::{
    Account, App, Coupling, ErrorBody, Identity, Listed, Pipeline, PipelineOwner, RateLimit,
    Reference, Team,
};

use crate::credentials::ApiKey;
use crate::net;
use crate::text::printable;
use range::Range;
use throttle::Throttle;

pub const ACCEPT_V3: &str = "application/vnd.heroku+json; version=3";
pub const USER_AGENT: &str = concat!("heroku-reaper/", env!("CARGO_PKG_VERSION"));

const RATE_LIMITS: &str = "/account/rate-limits";

/// More pages than this (a million apps at 1,000 a page) means the paging is broken.
const MAX_PAGES: usize = 1_000;
/// Consecutive 429s on one request before giving up: the throttle has slowed down by
/// then, so a storm this long means another client is draining the pool.
const MAX_RATE_LIMITED: u32 = 10;

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub base_url: String,
    pub timeout: Duration,
    pub retries: u32,
    pub refill_per_minute: f64,
    /// First pause before a retry after a 5xx or a transport failure; it doubles.
    pub retry_backoff: Duration,
    /// Never take the rate-limit pool below this; 0 for no floor.
    pub reserve: u32,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            base_url: "https://api.heroku.com".to_string(),
            timeout: Duration::from_secs(30),
            retries: 3,
            refill_per_minute: throttle::HEROKU_REFILL_PER_MINUTE,
            retry_backoff: Duration::from_millis(500),
            reserve: 0,
        }
    }
}

/// What a DELETE ended in, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// 200: this request deleted it.
    Deleted { request_id: Option<String> },
    /// 404 or 403: someone else deleted it (or is deleting it) first.
    AlreadyGone {
        status: u16,
        request_id: Option<String>,
    },
    /// 404, or 403 `forbidden`, after an earlier attempt of this same DELETE got no
    /// answer: that attempt most likely deleted it (or is deleting it).
    GoneAfterLostResponse {
        status: u16,
        request_id: Option<String>,
    },
}

/// Counters of what this client sent, for the report.
#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    list_pages: AtomicU64,
    rate_limited: AtomicU64,
    retries: AtomicU64,
    /// The latest DELETE's round trip, from sending to its answer, in microseconds.
    delete_round_trip: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    pub requests: u64,
    pub list_pages: u64,
    pub rate_limited: u64,
    pub retries: u64,
}

/// Every item of a paged listing, and the `Date` header of its last page.
#[derive(Debug, Clone)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub date: Option<String>,
}

/// The final answer to a request, and what its earlier attempts (retries) ended in.
struct Sent {
    answer: Answer,
    /// An earlier attempt got no answer: it may have been carried out.
    lost_earlier: bool,
    /// An earlier attempt of a DELETE was answered with a 5xx: it may have been carried
    /// out all the same.
    failed_earlier: bool,
}

/// What the attempts of one request so far ended in.
#[derive(Debug, Default)]
struct Tries {
    /// Attempts that failed (a 5xx, a GET's broken JSON, no answer) and were retried.
    failures: u32,
    /// Attempts answered 429 in a row.
    rate_limited: u32,
    /// An attempt got no answer: it may have been carried out.
    lost: bool,
    /// An attempt of a DELETE was answered with a 5xx.
    failed: bool,
}

/// No answer to an attempt: retried while retries are left, else the transport's error.
fn no_answer(
    line: RequestLine,
    error: &reqwest::Error,
    tries: &mut Tries,
    retries: u32,
) -> Result<(), ApiError> {
    let reason = describe_transport(error);
    // A request that was sent but got no answer may have been carried out.
    tries.lost |= !error.is_connect();
    if tries.failures >= retries {
        return Err(ApiError::Transport {
            request: line,
            reason,
        });
    }
    tries.failures += 1;
    tracing::warn!(%line, %reason, "no answer; retrying");
    Ok(())
}

/// One response, read whole.
struct Answer {
    status: StatusCode,
    /// The `Date` header: the server's clock.
    date: Option<String>,
    request_id: Option<String>,
    next_range: Option<String>,
    location: Option<String>,
    remaining: Option<u32>,
    body: Vec<u8>,
    /// The body ran past `net::MAX_BODY`; `body` is empty.
    too_large: bool,
}

pub struct Client {
    http: reqwest::Client,
    base_url: String,
    authorization: HeaderValue,
    options: ClientOptions,
    throttle: Throttle,
    counters: Counters,
    /// Once true (the run was interrupted), nothing more is sent.
    stopped: Box<dyn Fn() -> bool + Send + Sync>,
}

impl Client {
    pub fn new(options: ClientOptions, key: &ApiKey) -> anyhow::Result<Client> {
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
            .map_err(|_| anyhow::anyhow!("the API key holds characters that cannot go in an HTTP header; check `HEROKU_API_KEY` or `~/.netrc`"))?;
        authorization.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_V3));
        let http = net::client(&options.base_url, options.timeout)
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .build()?;
        Ok(Client {
            http,
            base_url: options.base_url.trim_end_matches('/').to_string(),
            authorization,
            throttle: Throttle::new(options.refill_per_minute, options.reserve),
            options,
            counters: Counters::default(),
            stopped: Box::new(|| false),
        })
    }

    /// Sends nothing more once `stopped` says so, neither a first attempt nor a retry:
    /// after an interrupt, only the requests already on the wire may land.
    pub fn stop_when(mut self, stopped: impl Fn() -> bool + Send + Sync + 'static) -> Client {
        self.stopped = Box::new(stopped);
        self
    }

    /// `GET /account`: who the key belongs to.
    pub async fn account(&self) -> Result<Account, ApiError> {
        self.get_json("/account").await
    }

    /// `GET /account/rate-limits`: free, it does not count against the pool, and it
    /// tells the throttle how full the pool is before the first counted request.
    pub async fn rate_limit(&self) -> Result<RateLimit, ApiError> {
        let line = RequestLine {
            method: "GET",
            path: RATE_LIMITS.to_string(),
        };
        let Sent { answer, .. } = self.send(Method::GET, RATE_LIMITS, None).await?;
        if !answer.status.is_success() {
            return Err(status_error(line, answer));
        }
        decode(&line, &answer)
    }

    /// Every app visible to the account (`GET /apps`) or a team's (`GET /teams/{team}/apps`),
    /// all pages.
    pub async fn list_apps(&self, team: Option<&str>) -> Result<Listing<App>, ApiError> {
        let path = match team {
            Some(team) => format!("/teams/{}/apps", segment(team)?),
            None => "/apps".to_string(),
        };
        self.list(&path).await
    }

    /// `DELETE /apps/{id}`.
    pub async fn delete_app(&self, id: &str) -> Result<Deletion, ApiError> {
        self.delete(format!("/apps/{}", segment(id)?)).await
    }

    /// `GET /teams/{team}`: for the team's id.
    pub async fn team(&self, team: &str) -> Result<Team, ApiError> {
        self.get_json(&format!("/teams/{}", segment(team)?)).await
    }

    /// Every pipeline the account can see (`GET /pipelines`), all pages.
    pub async fn list_pipelines(&self) -> Result<Listing<Pipeline>, ApiError> {
        self.list("/pipelines").await
    }

    /// `GET /pipelines/{id}/pipeline-couplings`: the apps coupled to a pipeline.
    pub async fn pipeline_couplings(&self, id: &str) -> Result<Vec<Coupling>, ApiError> {
        self.get_json(&format!("/pipelines/{}/pipeline-couplings", segment(id)?))
            .await
    }

    /// `DELETE /pipelines/{id}`: answers as an app's DELETE does.
    pub async fn delete_pipeline(&self, id: &str) -> Result<Deletion, ApiError> {
        self.delete(format!("/pipelines/{}", segment(id)?)).await
    }

    /// One DELETE: 200 deleted it; 404, or 403 `forbidden`, means someone else did.
    async fn delete(&self, path: String) -> Result<Deletion, ApiError> {
        let line = RequestLine {
            method: "DELETE",
            path: path.clone(),
        };
        let Sent {
            answer,
            lost_earlier,
            failed_earlier,
        } = self.send(Method::DELETE, &path, None).await?;
        match answer.status.as_u16() {
            200..=299 => Ok(Deletion::Deleted {
                request_id: answer.request_id,
            }),
            status @ (403 | 404) => {
                let body: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
                // 403 means "gone or going" only with the `forbidden` id; a 403 for any
                // other reason (a suspended account) is a real failure.
                let request_id = answer.request_id.clone();
                match (
                    status == 404 || body.id == "forbidden",
                    lost_earlier || failed_earlier,
                ) {
                    (true, true) => Ok(Deletion::GoneAfterLostResponse { status, request_id }),
                    (true, false) => Ok(Deletion::AlreadyGone { status, request_id }),
                    (false, _) => Err(status_error(line, answer).after_lost_attempt(lost_earlier)),
                }
            }
            _ => Err(status_error(line, answer).after_lost_attempt(lost_earlier)),
        }
    }

    /// What this client has sent so far.
    pub fn usage(&self) -> Usage {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Usage {
            requests: get(&self.counters.requests),
            list_pages: get(&self.counters.list_pages),
            rate_limited: get(&self.counters.rate_limited),
            retries: get(&self.counters.retries),
        }
    }

    /// How long the latest answered DELETE took on the wire: not the wait for the
    /// throttle before it, which on a nearly empty pool can be many times longer.
    pub fn delete_round_trip(&self) -> Option<Duration> {
        match self.counters.delete_round_trip.load(Ordering::Relaxed) {
            0 => None,
            micros => Some(Duration::from_micros(micros)),
        }
    }

    /// The last `RateLimit-Remaining` the API sent.
    pub fn rate_limit_remaining(&self) -> Option<u32> {
        self.throttle.remaining()
    }

    /// Tokens other clients of the account spent since this client's first answer, as
    /// the drops in `RateLimit-Remaining` tell.
    pub fn others_spent(&self) -> f64 {
        self.throttle.others_spent()
    }

    /// Tokens a second this client counts on from the pool's refill: on a pool near
    /// empty, how fast it (and another reaper like it) may spend.
    pub fn tokens_per_second(&self) -> f64 {
        self.throttle.tokens_per_second()
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let line = RequestLine {
            method: "GET",
            path: path.to_string(),
        };
        let Sent { answer, .. } = self.send(Method::GET, path, None).await?;
        if !answer.status.is_success() {
            return Err(status_error(line, answer));
        }
        decode(&line, &answer)
    }

    async fn list<T: DeserializeOwned + Listed>(&self, path: &str) -> Result<Listing<T>, ApiError> {
        let line = RequestLine {
            method: "GET",
            path: path.to_string(),
        };
        let paging_error = |reason: String| ApiError::Paging {
            request: line.clone(),
            reason: printable(&reason).into_owned(),
        };
        let mut apps = Vec::new();
        let mut ids = HashSet::new();
        let mut range = range::FIRST_PAGE.to_string();
        let mut seen = HashSet::new();
        for _ in 0..MAX_PAGES {
            let Sent { answer, .. } = self.send(Method::GET, path, Some(&range)).await?;
            if !answer.status.is_success() {
                return Err(status_error(line, answer));
            }
            self.counters.list_pages.fetch_add(1, Ordering::Relaxed);
            let page: Vec<T> = decode(&line, &answer)?;
            let before = ids.len();
            // Every item, repeats too: the plan decides which of two listings of one id
            // counts (`plan::youngest_of_each`).
            for item in page {
                ids.insert(item.id().to_string());
                apps.push(item);
            }
            if answer.status != StatusCode::PARTIAL_CONTENT {
                return Ok(Listing {
                    items: apps,
                    date: answer.date,
                });
            }
            // Each page starts after the last id of the one before, so a page that
            // brings no app unseen means the paging goes round in circles or nowhere.
            if ids.len() == before {
                return Err(paging_error(
                    "a 206 Partial Content page brought no app not seen already".into(),
                ));
            }
            let next = answer.next_range.ok_or_else(|| {
                paging_error("206 Partial Content without a `Next-Range` header".into())
            })?;
            Range::parse(&next).map_err(|error| paging_error(error.to_string()))?;
            seen.insert(range);
            if seen.contains(&next) {
                return Err(paging_error(format!("`Next-Range` repeats `{next}`")));
            }
            range = next;
        }
        Err(paging_error(format!("more than {MAX_PAGES} pages")))
    }

    /// Sends one request with the throttle and the retries. Returns the final answer
    /// (any status but 429 and retried 5xx) and what earlier attempts ended in.
    async fn send(
        &self,
        method: Method,
        path: &str,
        range: Option<&str>,
    ) -> Result<Sent, ApiError> {
        let line = RequestLine {
            method: method_name(&method),
            path: path.to_string(),
        };
        let counted = path != RATE_LIMITS;
        let mut tries = Tries::default();
        loop {
            let held = self.turn(&line, counted, &tries).await?;
            if held.is_probe() {
                self.probe(held).await;
                continue;
            }
            // Checked after the throttle's pause, just before sending.
            if (self.stopped)() {
                held.unanswered();
                let interrupted = ApiError::Interrupted { request: line };
                return Err(interrupted.after_lost_attempt(tries.lost));
            }
            let answer = match self.attempt(&method, path, range).await {
                Ok(answer) if answer.status == StatusCode::TOO_MANY_REQUESTS => {
                    held.rate_limited();
                    self.rate_limited(&line, answer, &mut tries)?;
                    continue;
                }
                Ok(answer) => {
                    held.answered(answer.remaining);
                    answer
                }
                Err(error) => {
                    held.unanswered();
                    no_answer(line.clone(), &error, &mut tries, self.options.retries)?;
                    self.pause_before_retry(tries.failures).await;
                    continue;
                }
            };
            tracing::debug!(%line, status = answer.status.as_u16(), remaining = answer.remaining, fraction_of_pool = self.throttle.fraction_of_pool(), request_id = answer.request_id.as_deref().unwrap_or("-"), "answered");
            match self.final_answer(&method, line.clone(), answer, &mut tries)? {
                Some(answer) => {
                    return Ok(Sent {
                        answer,
                        lost_earlier: tries.lost,
                        failed_earlier: tries.failed,
                    });
                }
                None => self.pause_before_retry(tries.failures).await,
            }
        }
    }

    /// Waits for the throttle to let the request start, unless that would take the pool
    /// below the reserve.
    async fn turn(
        &self,
        line: &RequestLine,
        counted: bool,
        tries: &Tries,
    ) -> Result<throttle::Held<'_>, ApiError> {
        self.throttle.turn(counted).await.map_err(|reached| {
            // A retry not sent after an attempt with no answer leaves the outcome
            // unknown, not "not attempted".
            ApiError::Reserve {
                request: line.clone(),
                remaining: reached.remaining,
                reserve: reached.reserve,
            }
            .after_lost_attempt(tries.lost)
        })
    }

    /// One attempt on the wire: the answer read whole, or no answer.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        range: Option<&str>,
    ) -> Result<Answer, reqwest::Error> {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base_url))
            .header(AUTHORIZATION, self.authorization.clone());
        if let Some(range) = range {
            request = request.header(RANGE, range);
        }
        let sent = Instant::now();
        let answer = match request.send().await {
            Ok(response) => read_answer(response).await,
            Err(error) => Err(error),
        };
        if *method == Method::DELETE && answer.is_ok() {
            let micros = sent.elapsed().as_micros().clamp(1, u128::from(u64::MAX)) as u64;
            self.counters
                .delete_round_trip
                .store(micros, Ordering::Relaxed);
        }
        answer
    }

    /// A 429: counted, and retried unless 429s go on too long.
    fn rate_limited(
        &self,
        line: &RequestLine,
        answer: Answer,
        tries: &mut Tries,
    ) -> Result<(), ApiError> {
        self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
        tries.rate_limited += 1;
        tracing::debug!(%line, request_id = answer.request_id.as_deref().unwrap_or("-"), "429 rate_limit; throttling");
        if tries.rate_limited >= MAX_RATE_LIMITED {
            return Err(status_error(line.clone(), answer).after_lost_attempt(tries.lost));
        }
        Ok(())
    }

    /// The answer, when it is final; `None` when it calls for a retry (a 5xx, or a GET's
    /// broken JSON, while retries are left).
    fn final_answer(
        &self,
        method: &Method,
        line: RequestLine,
        answer: Answer,
        tries: &mut Tries,
    ) -> Result<Option<Answer>, ApiError> {
        // Not retried: the next answer would be as large. A DELETE's status says what
        // it did; its body is not needed.
        if answer.too_large && *method == Method::GET {
            return Err(ApiError::TooLarge { request: line });
        }
        if answer.status.is_redirection() {
            return Err(ApiError::Redirect {
                request: line,
                status: answer.status.as_u16(),
                location: answer.location.unwrap_or_default(),
            }
            .after_lost_attempt(tries.lost));
        }
        // A GET answered with broken JSON failed on the way, like a 5xx: asking again
        // is safe. A DELETE's 2xx is never repeated: it was carried out.
        let broken = *method == Method::GET
            && answer.status.is_success()
            && serde_json::from_slice::<serde::de::IgnoredAny>(&answer.body).is_err();
        if !(answer.status.is_server_error() || broken) || tries.failures >= self.options.retries {
            return Ok(Some(answer));
        }
        tries.failures += 1;
        // A DELETE the server failed may have been carried out all the same: a 404 to
        // the retry is then most likely its own doing.
        tries.failed |= *method == Method::DELETE;
        let problem = if broken {
            "unreadable JSON"
        } else {
            "server error"
        };
        tracing::warn!(%line, status = answer.status.as_u16(), request_id = answer.request_id.as_deref().unwrap_or("-"), "{problem}; retrying");
        Ok(None)
    }

    /// Asks the pool how full it is for the throttle (free, no retry): a request that
    /// would wait long for its part of the refill looks first whether others left more.
    async fn probe(&self, held: throttle::Held<'_>) {
        if (self.stopped)() {
            held.unanswered();
            return;
        }
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let request = self
            .http
            .get(format!("{}{RATE_LIMITS}", self.base_url))
            .header(AUTHORIZATION, self.authorization.clone());
        let answer = match request.send().await {
            Ok(response) => read_answer(response).await.ok(),
            Err(_) => None,
        };
        match answer {
            Some(answer) if answer.status.is_success() => {
                held.answered(answer.remaining);
                let fraction_of_pool = self.throttle.fraction_of_pool();
                tracing::debug!(
                    remaining = answer.remaining,
                    fraction_of_pool,
                    "probed the rate-limit pool"
                );
            }
            _ => held.unanswered(),
        }
    }

    async fn pause_before_retry(&self, failures: u32) {
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
        let base = self.options.retry_backoff.as_secs_f64() * 2f64.powi(failures as i32 - 1);
        // Equal jitter (half the pause fixed, half at random) keeps parallel reapers from
        // retrying in lockstep.
        let pause = base * (0.5 + fastrand::f64() / 2.0);
        tokio::time::sleep(Duration::from_secs_f64(pause.min(30.0))).await;
    }
}

async fn read_answer(response: reqwest::Response) -> Result<Answer, reqwest::Error> {
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let date = header("date");
    // Only shown, never sent back: made printable here, once.
    let request_id = header("request-id").map(|id| printable(&id).into_owned());
    let next_range = header("next-range");
    let location = header(LOCATION.as_str()).map(|to| printable(&to).into_owned());
    let remaining = header("ratelimit-remaining").and_then(|value| value.trim().parse().ok());
    let (body, too_large) = match net::read_body(response, net::MAX_BODY).await {
        Ok(body) => (body, false),
        Err(net::BodyError::TooLarge) => (Vec::new(), true),
        Err(net::BodyError::Transport(error)) => return Err(error),
    };
    Ok(Answer {
        status,
        date,
        request_id,
        next_range,
        location,
        remaining,
        body,
        too_large,
    })
}

fn status_error(request: RequestLine, answer: Answer) -> ApiError {
    let body: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
    ApiError::Status {
        request,
        status: answer.status.as_u16(),
        id: if body.id.is_empty() {
            "unknown".to_string()
        } else {
            printable(&body.id).into_owned()
        },
        message: if body.message.is_empty() {
            answer
                .status
                .canonical_reason()
                .unwrap_or("no message")
                .to_string()
        } else {
            printable(&body.message).into_owned()
        },
        request_id: answer.request_id,
    }
}

fn decode<T: DeserializeOwned>(request: &RequestLine, answer: &Answer) -> Result<T, ApiError> {
    serde_json::from_slice(&answer.body).map_err(|error| ApiError::Decode {
        request: request.clone(),
        reason: printable(&error.to_string()).into_owned(),
        request_id: answer.request_id.clone(),
    })
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::DELETE => "DELETE",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        _ => "REQUEST",
    }
}

/// An app id or name, a team's name, a pipeline's id as one path segment: refused when
/// empty, `.` or `..` (a URL would resolve those away), percent-encoded otherwise, `%`
/// included, so no other text can become a dot segment either. The plan and `config`
/// check these ids' forms first; this is the last line.
fn segment(text: &str) -> Result<String, ApiError> {
    if matches!(text, "" | "." | "..") {
        return Err(ApiError::NotASegment {
            value: text.to_string(),
        });
    }
    Ok(encode_segment(text))
}

fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A transport failure in words, without the URL's query or anything from the headers.
fn describe_transport(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the response broke off"
    } else {
        "the connection failed"
    };
    let mut cause = std::error::Error::source(error);
    let mut deepest = None;
    while let Some(inner) = cause {
        deepest = Some(inner.to_string());
        cause = inner.source();
    }
    match deepest {
        Some(detail) => format!("{kind} ({})", printable(&detail)),
        None => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("hatchet-t-0a1b").unwrap(), "hatchet-t-0a1b");
        assert_eq!(segment("a/b c").unwrap(), "a%2Fb%20c");
        assert_eq!(segment("%2e%2e").unwrap(), "%252e%252e");
        assert_eq!(segment("...").unwrap(), "...");
        for dots in ["", ".", ".."] {
            assert!(matches!(segment(dots), Err(ApiError::NotASegment { .. })));
        }
    }
}
