//! GitHub Actions: which workflow runs are alive, so that apps no live run can own are
//! reaped before the TTL, and which of them hold room on the account (their jobs, for
//! `--reserve-apps`). GitHub's answers count only whole: a listing cut short (past the
//! 1,000 runs a status filter lists, or its pages), a page on another origin, or an
//! answer not of the documented shape leaves the TTL (or the plain wait for room) to
//! decide alone.

mod api;
pub mod cutoff;
mod jobs;
mod settings;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

pub use api::Unreadable;
pub use cutoff::{Began, Cutoff, LiveRun, cutoff};
pub use jobs::Job;
pub use settings::Settings;

use crate::credentials::ApiKey;
use api::{Api, Listing, MAX_PAGES, PER_PAGE, Short};

pub const DEFAULT_API_URL: &str = "https://api.github.com";
pub const DEFAULT_SKEW: Duration = Duration::from_secs(120);

/// The statuses of a run that may still create apps, one listing each, in the order a
/// run passes through them: a run that moves on while they are read shows up in a
/// later listing instead of slipping between two.
pub const LIVE_STATUSES: [&str; 5] = ["requested", "queued", "pending", "waiting", "in_progress"];

/// One page of `GET /repos/{owner}/{repo}/actions/runs`: both fields are required.
#[derive(Debug, Deserialize)]
struct RunsPage {
    total_count: u64,
    workflow_runs: Vec<RunJson>,
}

impl Listing for RunsPage {
    type Item = RunJson;
    fn total_count(&self) -> u64 {
        self.total_count
    }
    fn items(self) -> Vec<RunJson> {
        self.workflow_runs
    }
    fn id(run: &RunJson) -> u64 {
        run.id
    }
}

/// The parts of a workflow run that say when it began, and which attempt it is.
#[derive(Debug, Deserialize)]
struct RunJson {
    id: u64,
    created_at: DateTime<Utc>,
    #[serde(default)]
    run_started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    run_attempt: Option<u32>,
}

impl RunJson {
    fn live(self, repo: &str) -> LiveRun {
        LiveRun {
            attempt: self.run_attempt.unwrap_or(1),
            ..LiveRun::new(repo, self.id, self.created_at, self.run_started_at)
        }
    }
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

/// What reads GitHub: its API with the token, to the origin of `GITHUB_API_URL` only.
pub struct Reader {
    api: Api,
}

impl Reader {
    /// Fails without a token, or with one that cannot go in a header.
    pub fn new(settings: &Settings, token: Option<&ApiKey>) -> Result<Reader, Unreadable> {
        let token = token.ok_or_else(|| {
            Unreadable(
                "`GITHUB_TOKEN` is not set; in the Action, pass `github-token` (its default, `${{ github.token }}`, works when the job has `permissions: actions: read`)".into(),
            )
        })?;
        Ok(Reader {
            api: Api::new(settings, token)?,
        })
    }

    /// Every run of `repos` in one of `statuses`, each listing whole.
    pub async fn live_runs(
        &self,
        repos: &[String],
        statuses: &[&str],
    ) -> Result<Vec<LiveRun>, Unreadable> {
        let mut listed = Vec::new();
        for repo in repos {
            for status in statuses {
                listed.extend(list_runs(&self.api, repo, status).await?);
            }
        }
        Ok(listed)
    }

    /// One run, by id.
    pub async fn run(&self, repo: &str, id: u64) -> Result<LiveRun, Unreadable> {
        current_run(&self.api, repo, id).await
    }

    /// The jobs of a run's latest attempt, every page.
    pub async fn jobs(&self, repo: &str, run_id: u64) -> Result<Vec<Job>, Unreadable> {
        jobs::list(&self.api, repo, run_id).await
    }
}

/// Lists the live runs of every repository, adds the current run, and gives the cutoff.
pub async fn check(settings: &Settings, token: Option<&ApiKey>) -> Result<Cutoff, Unreadable> {
    let reader = Reader::new(settings, token)?;
    let checked_at = Utc::now();
    let listed = reader.live_runs(&settings.repos, &LIVE_STATUSES).await?;
    let current = match &settings.current_run {
        Some((repo, id)) if !listed.iter().any(|run| &run.repo == repo && run.id == *id) => {
            Some(reader.run(repo, *id).await?)
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

/// Every page of one status's runs, or an error when they are not all there: GitHub
/// counts more than it lists, or the pages go on past what it lists.
async fn list_runs(api: &Api, repo: &str, status: &str) -> Result<Vec<LiveRun>, Unreadable> {
    let request = format!("/repos/{repo}/actions/runs?status={status}&per_page={PER_PAGE}");
    let short = |short| {
        Unreadable(match short {
            Short::Counted { counted, listed } => format!(
                "`GET {request}` counts {counted} runs but lists {listed}; GitHub lists at most 1,000 for a status, newest first, so the earliest live runs are not known"
            ),
            Short::PastPages => format!(
                "`GET {request}` has more than {MAX_PAGES} pages of {PER_PAGE}, past the 1,000 runs GitHub lists for a status; the earliest live runs are not known"
            ),
        })
    };
    let runs = api.every_page::<RunsPage>(&request, short).await?;
    Ok(runs.into_iter().map(|run| run.live(repo)).collect())
}

async fn current_run(api: &Api, repo: &str, id: u64) -> Result<LiveRun, Unreadable> {
    let request = format!("/repos/{repo}/actions/runs/{id}");
    let run: RunJson = api.get(&api.url(&request)?, &request).await?.body;
    if run.id != id {
        return Err(Unreadable(format!(
            "`GET {request}` answered with run {} instead; the current run is not known",
            run.id
        )));
    }
    Ok(run.live(repo))
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
