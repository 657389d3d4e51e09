//! GitHub's REST API, as little of it as the live runs need: GET with the token, to the
//! origin of `GITHUB_API_URL` only, a body read in bounded memory, immediate retries
//! after a 5xx or no answer, and JSON held to the documented shape.

use std::collections::HashSet;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, LINK, LOCATION};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::settings::Settings;
use crate::credentials::ApiKey;
use crate::net;
use crate::text::printable;

/// GitHub could not be read, or not wholly; the reaper falls back to the TTL rule alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// The REST API version whose shapes this module reads.
const API_VERSION: &str = "2022-11-28";
/// GitHub's largest page.
pub const PER_PAGE: usize = 100;
/// GitHub lists at most 1,000 runs for a status filter, newest first: 10 pages of 100.
/// A listing with more is cut short, and what it leaves out are the oldest runs.
pub const MAX_PAGES: usize = 1_000 / PER_PAGE;

/// A page of a listing GitHub counts (`total_count`): the runs of a status, a run's jobs.
pub trait Listing: DeserializeOwned {
    type Item;
    fn total_count(&self) -> u64;
    fn items(self) -> Vec<Self::Item>;
    /// What tells two items apart, so that one listed on two pages counts once.
    fn id(item: &Self::Item) -> u64;
}

/// How a listing fell short of whole.
pub enum Short {
    /// GitHub counts more than its pages list.
    Counted { counted: u64, listed: usize },
    /// The pages go on past `MAX_PAGES`.
    PastPages,
}

pub struct Api {
    http: reqwest::Client,
    /// `GITHUB_API_URL`: requests are built under it, and go to its origin alone.
    base: Url,
    retries: u32,
}

/// One answer, read whole and of the shape asked for.
pub struct Page<T> {
    pub body: T,
    /// The `Link` header's `rel="next"`, resolved and on the API's origin.
    pub next: Option<Url>,
}

/// GitHub's error body: its `message` is shown.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
}

impl Api {
    pub fn new(settings: &Settings, token: &ApiKey) -> Result<Api, Unreadable> {
        let setup = |why: String| {
            Unreadable(format!(
                "cannot set up the GitHub client for `{}`: {why}",
                settings.api_url
            ))
        };
        // `config` checked it; a trailing slash makes `join` keep a path such as `/api/v3`.
        let base = Url::parse(&format!("{}/", settings.api_url.trim_end_matches('/')))
            .map_err(|error| setup(error.to_string()))?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| {
                setup("`GITHUB_TOKEN` holds characters that cannot go in an HTTP header".into())
            })?;
        authorization.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/vnd.github+json"),
        );
        headers.insert(
            "x-github-api-version",
            HeaderValue::from_static(API_VERSION),
        );
        headers.insert(AUTHORIZATION, authorization);
        // The same HTTP stack as the Heroku client's: `--timeout` bounds each exchange
        // whole, no redirect is followed, and proxies are used as for Heroku.
        let http = net::client(&settings.api_url, settings.timeout)
            .user_agent(crate::heroku::USER_AGENT)
            .default_headers(headers)
            .build()
            .map_err(|error| setup(deepest(&error)))?;
        Ok(Api {
            http,
            base,
            retries: settings.retries,
        })
    }

    /// `path` (with its query) under `GITHUB_API_URL`.
    pub fn url(&self, path: &str) -> Result<Url, Unreadable> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|error| Unreadable(format!("`GET {path}` is not a URL: {error}")))
    }

    /// Every page of the listing at `request`, each item once, or an error when they are
    /// not all there, worded by `short`.
    pub async fn every_page<L: Listing>(
        &self,
        request: &str,
        short: impl Fn(Short) -> Unreadable,
    ) -> Result<Vec<L::Item>, Unreadable> {
        let mut url = self.url(request)?;
        let mut items = Vec::new();
        let mut ids = HashSet::new();
        // The largest count any page gave: items come and go while the pages are read,
        // and one that goes shifts the later pages, so another can slip between two.
        let mut counted = 0;
        for _ in 0..MAX_PAGES {
            let page = self.get::<L>(&url, request).await?;
            counted = counted.max(page.body.total_count());
            let fresh = page.body.items().into_iter();
            items.extend(fresh.filter(|item| ids.insert(L::id(item))));
            match page.next {
                Some(next) => url = next,
                None if (items.len() as u64) < counted => {
                    let listed = items.len();
                    return Err(short(Short::Counted { counted, listed }));
                }
                None => return Ok(items),
            }
        }
        Err(short(Short::PastPages))
    }

    /// GETs `url`, which must be on the API's origin; `request` names it in messages.
    /// Retried at once after a 5xx or no answer; a rate limit is not waited out: the
    /// TTL rule takes over instead.
    pub async fn get<T: DeserializeOwned>(
        &self,
        url: &Url,
        request: &str,
    ) -> Result<Page<T>, Unreadable> {
        self.same_origin(url, request)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt > self.retries;
            let response = match self.http.get(url.clone()).send().await {
                Ok(response) => response,
                Err(error) if !last => {
                    tracing::warn!(request, reason = %deepest(&error), "no answer from GitHub; retrying");
                    continue;
                }
                Err(error) => {
                    let why = printable(&deepest(&error)).into_owned();
                    return Err(Unreadable(format!("`GET {request}` failed: {why}")));
                }
            };
            let status = response.status();
            if status.is_server_error() && !last {
                tracing::warn!(
                    request,
                    status = status.as_u16(),
                    "GitHub answered a server error; retrying"
                );
                continue;
            }
            return self.read(response, request).await;
        }
    }

    /// The body of a 2xx as `T`, with the next page; any other answer is an error.
    async fn read<T: DeserializeOwned>(
        &self,
        response: reqwest::Response,
        request: &str,
    ) -> Result<Page<T>, Unreadable> {
        let status = response.status();
        let headers = response.headers().clone();
        let body = match net::read_body(response, net::MAX_BODY).await {
            Ok(body) => body,
            Err(net::BodyError::TooLarge) => {
                return Err(Unreadable(format!(
                    "`GET {request}` answered with a body over {}, far more than any page of workflow runs; stopped reading it",
                    net::MAX_BODY_WORDS
                )));
            }
            Err(net::BodyError::Transport(error)) => {
                let why = printable(&deepest(&error)).into_owned();
                return Err(Unreadable(format!("`GET {request}` broke off: {why}")));
            }
        };
        if !status.is_success() {
            return Err(status_error(request, status, &headers, &body));
        }
        let body = decode(&body, request)?;
        let next = match headers.get(LINK).and_then(|link| link.to_str().ok()) {
            Some(link) => next_link(link)
                .map(|target| self.next_url(target, request))
                .transpose()?,
            None => None,
        };
        Ok(Page { body, next })
    }

    /// The `rel="next"` target, resolved against the API's URL, if it is on its origin.
    fn next_url(&self, target: &str, request: &str) -> Result<Url, Unreadable> {
        let url = self.base.join(target).map_err(|error| {
            Unreadable(format!(
                "the next page of `GET {request}` is not a URL ({error}); not every live run was seen"
            ))
        })?;
        self.same_origin(&url, request)?;
        Ok(url)
    }

    /// The token goes to the scheme, host and port of `GITHUB_API_URL` and nowhere else:
    /// a link to plain http on the same host would carry it in the clear.
    fn same_origin(&self, url: &Url, request: &str) -> Result<(), Unreadable> {
        if url.origin() == self.base.origin() {
            return Ok(());
        }
        Err(Unreadable(format!(
            "the next page of `GET {request}` is on `{}`, not on `GITHUB_API_URL`'s origin `{}`; the token is sent to no other origin, so not every live run was seen",
            printable(&url.origin().ascii_serialization()),
            self.base.origin().ascii_serialization()
        )))
    }
}

/// The JSON object GitHub documents for the request. An array is refused before serde
/// sees it: serde would fill a struct's fields from one, in order.
fn decode<T: DeserializeOwned>(body: &[u8], request: &str) -> Result<T, Unreadable> {
    let shape_error = |why: &str| {
        Unreadable(format!(
            "`GET {request}` answered with JSON not of the shape GitHub documents ({}); the live runs are not known",
            printable(why)
        ))
    };
    if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return Err(shape_error("not an object"));
    }
    serde_json::from_slice(body).map_err(|error| shape_error(&error.to_string()))
}

/// The `rel="next"` target of a `Link` header
/// (`<https://…&page=2>; rel="next", <https://…&page=5>; rel="last"`).
fn next_link(header: &str) -> Option<&str> {
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        let params_end = rest[close..].find('<').map_or(rest.len(), |at| close + at);
        let is_next = rest[close + 1..params_end].split(';').any(|param| {
            param.split_once('=').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_end_matches(',')
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            })
        });
        if is_next {
            return Some(target);
        }
        rest = &rest[params_end..];
    }
    None
}

/// A non-2xx answer, with what to do about it; never a header's value, so never the
/// token.
fn status_error(request: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Unreadable {
    let code = status.as_u16();
    if status.is_redirection() {
        let to = headers
            .get(LOCATION)
            .and_then(|to| to.to_str().ok())
            .unwrap_or_default();
        return Unreadable(format!(
            "`GET {request}` answered {code} with a redirect to `{}`; the token is not sent on redirects (check `GITHUB_API_URL`)",
            printable(to)
        ));
    }
    let rate_limited = code == 429
        || headers
            .get("x-ratelimit-remaining")
            .is_some_and(|remaining| remaining.as_bytes() == b"0");
    let hint = match code {
        _ if rate_limited => "; the token's GitHub rate limit ran out",
        401 => "; check `GITHUB_TOKEN`",
        403 => {
            "; the token needs `actions: read` (give the job `permissions: actions: read`, or a token that can read the repository's Actions)"
        }
        404 => "; check the repository's name, and that the token can see it",
        _ => "",
    };
    let body: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    // An error page from a proxy can be a whole HTML document: its first line will do.
    let message = body.message.lines().next().unwrap_or_default().trim();
    let message: String = message.chars().take(200).collect();
    let message = match message.as_str() {
        "" => status
            .canonical_reason()
            .unwrap_or("no message")
            .to_string(),
        _ => printable(&message).into_owned(),
    };
    Unreadable(format!("`GET {request}` answered {code}: {message}{hint}"))
}

/// The innermost cause: what actually failed (a refused connection, a timeout).
fn deepest(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(api_url: &str) -> Api {
        let settings = Settings {
            api_url: api_url.to_string(),
            repos: vec!["o/r".into()],
            current_run: None,
            skew: std::time::Duration::ZERO,
            timeout: std::time::Duration::from_secs(1),
            retries: 0,
        };
        Api::new(&settings, &ApiKey::new("ghs_token")).unwrap()
    }

    #[test]
    fn the_token_goes_to_the_apis_origin_only() {
        let github = api("https://api.github.com");
        for same in [
            "https://api.github.com/repos/o/r/actions/runs?page=2",
            "https://API.github.com:443/x",
            "/repositories/1/actions/runs?page=2",
        ] {
            let url = github.next_url(same, "/r").unwrap();
            assert_eq!(url.host_str(), Some("api.github.com"), "{same}");
        }
        for other in [
            "http://api.github.com/x",
            "https://api.github.com:8443/x",
            "https://api.github.com.example.com/x",
            "//example.com/x",
            "https://user@example.com/x",
        ] {
            let refused = github.next_url(other, "/r").unwrap_err().0;
            assert!(
                refused.contains("not on `GITHUB_API_URL`'s origin `https://api.github.com`"),
                "{other}: {refused}"
            );
        }
        let enterprise = api("https://github.acme.com/api/v3");
        let url = enterprise
            .url("/repos/o/r/actions/runs?status=queued")
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://github.acme.com/api/v3/repos/o/r/actions/runs?status=queued"
        );
        assert!(
            enterprise
                .next_url("http://github.acme.com/api/v3/x", "/r")
                .is_err()
        );
    }

    #[test]
    fn only_a_json_object_is_an_answer() {
        #[derive(Debug, Deserialize)]
        struct Two {
            #[allow(dead_code, reason = "read to check the shape")]
            a: u64,
        }
        assert!(decode::<Two>(b" {\"a\": 1}", "/r").is_ok());
        for bad in [&b"[1]"[..], b"", b"null", b"{\"b\": 1}"] {
            assert!(decode::<Two>(bad, "/r").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_next_link_is_the_one_marked_next() {
        let api = "https://api.github.com/repositories/1/actions/runs";
        let header = format!(
            "<{api}?page=1>; rel=\"prev\", <{api}?page=3>; rel=\"next\", <{api}?page=5>; rel=\"last\""
        );
        assert_eq!(next_link(&header), Some(format!("{api}?page=3").as_str()));
        assert_eq!(next_link("</runs?page=2>;rel=next"), Some("/runs?page=2"));
        assert_eq!(
            next_link("<a>; rel=\"last\", <b>; title=\"next\"; rel=\"next last\""),
            Some("b")
        );
        for none in ["", "<a>; rel=\"last\"", "rel=\"next\"", "<a; rel=\"next\""] {
            assert_eq!(next_link(none), None, "{none}");
        }
    }
}
