//! GitHub Actions: which workflow runs are alive, read with octocrab, so that apps no
//! live run can own are reaped before the TTL.

pub mod cutoff;

use std::time::Duration;

use chrono::{DateTime, Utc};
use octocrab::service::middleware::retry::RetryConfig;
use octocrab::{Octocrab, Page};
use serde::Deserialize;

pub use cutoff::{Cutoff, LiveRun, cutoff};

use crate::credentials::ApiKey;
use crate::net;

pub const DEFAULT_API_URL: &str = "https://api.github.com";
pub const DEFAULT_SKEW: Duration = Duration::from_secs(120);

/// The statuses of a run that may still create apps, one listing each, in the order a
/// run passes through them: a run that moves on while they are read shows up in a
/// later listing instead of slipping between two.
const LIVE_STATUSES: [&str; 5] = ["requested", "queued", "pending", "waiting", "in_progress"];
/// GitHub's largest page.
const PER_PAGE: &str = "100";
/// Pages of one listing before giving up: 5,000 live runs of one status is not a CI.
const MAX_PAGES: usize = 50;

/// Where to look, checked by `config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `GITHUB_API_URL`, without a trailing slash.
    pub api_url: String,
    /// `owner/name`: `GITHUB_REPOSITORY` first, then each `--github-repo`.
    pub repos: Vec<String>,
    /// `GITHUB_REPOSITORY` and `GITHUB_RUN_ID`: the run this reaper is part of.
    pub current_run: Option<(String, u64)>,
    pub skew: Duration,
    pub timeout: Duration,
    pub retries: u32,
}

/// GitHub could not be read; the reaper falls back to the TTL rule alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// The parts of a workflow run that say when it began.
#[derive(Debug, Deserialize)]
struct RunJson {
    id: u64,
    created_at: DateTime<Utc>,
    #[serde(default)]
    run_started_at: Option<DateTime<Utc>>,
}

/// Checks a repository name as `owner/name`, the form GitHub gives in `GITHUB_REPOSITORY`.
pub fn parse_repo(text: &str) -> Result<String, String> {
    let text = text.trim();
    let (owner, name) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not `OWNER/NAME`"))?;
    let owner_ok = (1..=39).contains(&owner.len())
        && !owner.starts_with('-')
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let name_ok = (1..=100).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if owner_ok && name_ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not `OWNER/NAME` (letters, digits, `-`, and `_` or `.` in the name)"
        ))
    }
}

/// Lists the live runs of every repository, adds the current run, and gives the cutoff.
pub async fn check(settings: &Settings, token: Option<&ApiKey>) -> Result<Cutoff, Unreadable> {
    let token = token.ok_or_else(|| {
        Unreadable(
            "`GITHUB_TOKEN` is not set; in the Action, pass `github-token` (its default, `${{ github.token }}`, works when the job has `permissions: actions: read`)".into(),
        )
    })?;
    let octocrab = client(settings, token)?;
    let checked_at = Utc::now();
    let mut listed = Vec::new();
    for repo in &settings.repos {
        for status in LIVE_STATUSES {
            listed.extend(list_runs(&octocrab, repo, status).await?);
        }
    }
    let current = match &settings.current_run {
        Some((repo, id)) if !listed.iter().any(|run| &run.repo == repo && run.id == *id) => {
            Some(current_run(&octocrab, repo, *id).await?)
        }
        Some((repo, id)) => listed
            .iter()
            .find(|run| &run.repo == repo && run.id == *id)
            .cloned(),
        None => None,
    };
    let cutoff = cutoff::cutoff(&listed, current.as_ref(), checked_at, settings.skew);
    tracing::info!(
        live_runs = cutoff.live_runs,
        cutoff = %cutoff.at,
        "read GitHub's live workflow runs"
    );
    Ok(cutoff)
}

fn client(settings: &Settings, token: &ApiKey) -> Result<Octocrab, Unreadable> {
    let setup = |error: &(dyn std::error::Error + 'static)| {
        Unreadable(format!(
            "cannot set up the GitHub client for `{}`: {}",
            settings.api_url,
            deepest(error)
        ))
    };
    // The same HTTP stack as the Heroku client's: `--timeout` bounds each exchange
    // whole, and proxies are used as for Heroku.
    let http = net::client(&settings.api_url, settings.timeout)
        .build()
        .map_err(|error| setup(&error))?;
    Octocrab::builder()
        .base_uri(settings.api_url.as_str())
        .map_err(|error| setup(&error))?
        .personal_token(token.expose().to_string())
        // Retries of 5xx, 429 and failed exchanges are immediate: a rate limit is not
        // waited out, the TTL rule takes over instead.
        .add_retry_config(RetryConfig::Simple(settings.retries as usize))
        .build_with_reqwest(http)
        .map_err(|error| setup(&error))
}

/// Every page of one status's runs.
async fn list_runs(
    octocrab: &Octocrab,
    repo: &str,
    status: &str,
) -> Result<Vec<LiveRun>, Unreadable> {
    let route = format!("/repos/{repo}/actions/runs");
    let request = format!("{route}?status={status}");
    let query = [("status", status), ("per_page", PER_PAGE)];
    let mut page: Page<RunJson> = octocrab
        .get(&route, Some(&query))
        .await
        .map_err(|error| unreadable(&request, &error))?;
    let mut runs = Vec::new();
    for _ in 0..MAX_PAGES {
        runs.extend(
            page.take_items()
                .into_iter()
                .map(|run| LiveRun::new(repo, run.id, run.created_at, run.run_started_at)),
        );
        match octocrab.get_page::<RunJson>(&page.next).await {
            Ok(Some(next)) => page = next,
            Ok(None) => return Ok(runs),
            Err(error) => return Err(unreadable(&request, &error)),
        }
    }
    Err(Unreadable(format!(
        "`GET {request}` has more than {MAX_PAGES} pages; not sure every live run was seen"
    )))
}

async fn current_run(octocrab: &Octocrab, repo: &str, id: u64) -> Result<LiveRun, Unreadable> {
    let request = format!("/repos/{repo}/actions/runs/{id}");
    let run: RunJson = octocrab
        .get(&request, None::<&()>)
        .await
        .map_err(|error| unreadable(&request, &error))?;
    Ok(LiveRun::new(
        repo,
        run.id,
        run.created_at,
        run.run_started_at,
    ))
}

/// What went wrong, with what to do about it; never a header, so never the token.
fn unreadable(request: &str, error: &octocrab::Error) -> Unreadable {
    let octocrab::Error::GitHub { source, .. } = error else {
        return Unreadable(format!("`GET {request}` failed: {}", deepest(error)));
    };
    let status = source.status_code.as_u16();
    let rate_limited = status == 429
        || source
            .headers
            .as_ref()
            .and_then(|headers| headers.get("x-ratelimit-remaining"))
            .is_some_and(|remaining| remaining.as_bytes() == b"0");
    let hint = match status {
        _ if rate_limited => "; the token's GitHub rate limit ran out",
        401 => "; check `GITHUB_TOKEN`",
        403 => {
            "; the token needs `actions: read` (give the job `permissions: actions: read`, or a token that can read the repository's Actions)"
        }
        404 => "; check the repository's name, and that the token can see it",
        _ => "",
    };
    // An error page from a proxy can be a whole HTML document: its first line will do.
    let message = source.message.lines().next().unwrap_or_default().trim();
    let message: String = message.chars().take(200).collect();
    Unreadable(format!(
        "`GET {request}` answered {status}: {message}{hint}"
    ))
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

    #[test]
    fn repositories_are_owner_slash_name() {
        for good in ["heroku/heroku-buildpack-ruby", "a/b", "my-org/repo_name.rs"] {
            assert_eq!(parse_repo(good).as_deref(), Ok(good));
        }
        assert_eq!(parse_repo(" heroku/ruby ").as_deref(), Ok("heroku/ruby"));
        for bad in [
            "",
            "heroku",
            "/ruby",
            "heroku/",
            "heroku/ruby/extra",
            "-heroku/ruby",
            "heroku/..",
            "her oku/ruby",
            "heroku_org/ruby",
        ] {
            assert!(parse_repo(bad).is_err(), "{bad:?}");
        }
    }
}
