//! The jobs of a workflow run (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs`,
//! the latest attempt's, GitHub's default `filter=latest`): which job admits a run to the
//! account's room, and whether it has. Read whole, or not at all.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::api::{Api, Listing, MAX_PAGES, PER_PAGE, Short, Unreadable};

/// A job of a run, as the room reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Job {
    pub id: u64,
    /// The name GitHub shows: the job's `name:`, with the matrix values after it.
    pub name: String,
    /// `queued`, `in_progress`, `completed`, `waiting`, `requested` or `pending`.
    pub status: String,
    /// `success`, `failure`, `cancelled`, …; `null` until it completes.
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// The runner it was given; `null` before one was.
    #[serde(default)]
    pub runner_name: Option<String>,
}

impl Job {
    pub fn succeeded(&self) -> bool {
        self.status == "completed" && self.conclusion.as_deref() == Some("success")
    }

    pub fn in_progress(&self) -> bool {
        self.status == "in_progress"
    }
}

/// One page of a run's jobs: both fields are required.
#[derive(Debug, Deserialize)]
struct JobsPage {
    total_count: u64,
    jobs: Vec<Job>,
}

impl Listing for JobsPage {
    type Item = Job;
    fn total_count(&self) -> u64 {
        self.total_count
    }
    fn items(self) -> Vec<Job> {
        self.jobs
    }
    fn id(job: &Job) -> u64 {
        job.id
    }
}

/// Every page of a run's jobs, or an error when they are not all there.
pub async fn list(api: &Api, repo: &str, run_id: u64) -> Result<Vec<Job>, Unreadable> {
    let request = format!("/repos/{repo}/actions/runs/{run_id}/jobs?per_page={PER_PAGE}");
    let short = |short| {
        Unreadable(match short {
            Short::Counted { counted, listed } => format!(
                "`GET {request}` counts {counted} jobs but lists {listed}; which of them admits the run is not known"
            ),
            Short::PastPages => format!(
                "`GET {request}` has more than {MAX_PAGES} pages of {PER_PAGE} jobs; which of them admits the run is not known"
            ),
        })
    };
    api.every_page::<JobsPage>(&request, short).await
}
