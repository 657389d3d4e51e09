//! The leases, read from GitHub at each look: this job among its run's jobs (once), the
//! live runs of the repositories in scope, and the jobs of each run not yet known to be
//! admitted. An admitted run stays so for its attempt, so it is not asked again.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::leases::{self, Hold, Lease, Me, Standing};
use super::settings::Settings;
use crate::credentials::ApiKey;
use crate::github::{self, Cutoff, Reader, Unreadable};

/// The run statuses a run that holds room can have: its admission job ran, so it has
/// left `requested` and `pending`.
const STATUSES: [&str; 3] = ["queued", "waiting", "in_progress"];

/// What a look read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// The runs that hold room, and the moment before which no live run can have made
    /// an app (a run's tests wait for its admission, so count from it).
    Leases { held: Vec<Lease>, orphans: Cutoff },
    /// This run's own admission job (`job`) succeeded at `since`: it holds its room.
    AlreadyAdmitted { job: String, since: DateTime<Utc> },
}

/// This job as GitHub shows it, once found.
struct Found {
    me: Option<Me>,
    /// This job is the admission job: its run's tests wait for it.
    admits: bool,
    /// The name of the admission job.
    job: String,
    /// When this run's own admission job succeeded, if it has.
    admitted_at: Option<DateTime<Utc>>,
}

pub struct Leases<'a> {
    settings: &'a Settings,
    reader: Result<Reader, Unreadable>,
    found: Option<Found>,
    /// Admitted runs, by repository, id and attempt.
    admitted: HashMap<(String, u64, u32), Lease>,
}

impl<'a> Leases<'a> {
    pub fn new(settings: &'a Settings, token: Option<&ApiKey>) -> Leases<'a> {
        let reader = match &settings.github {
            Some(github) => Reader::new(github, token),
            None => Err(Unreadable(
                "not in a GitHub Actions run (no `GITHUB_REPOSITORY`) and no `--github-repo`: there are no runs to read".into(),
            )),
        };
        Leases {
            settings,
            reader,
            found: None,
            admitted: HashMap::new(),
        }
    }

    /// The leases now, or why they cannot be known.
    pub async fn read(&mut self) -> Result<Read, Unreadable> {
        let reader = self.reader.as_ref().map_err(Clone::clone)?;
        let github = self
            .settings
            .github
            .as_ref()
            .expect("a reader has its settings");
        if self.found.is_none() {
            self.found = Some(find(self.settings, github, reader).await?);
        }
        let found = self.found.as_ref().expect("found above");
        if let Some(since) = found.admitted_at {
            let job = found.job.clone();
            return Ok(Read::AlreadyAdmitted { job, since });
        }
        let checked_at = Utc::now();
        let runs = reader.live_runs(&github.repos, &STATUSES).await?;
        let mut held = Vec::new();
        let mut may_own = Vec::new();
        let mut waiting = HashSet::new();
        for run in runs {
            let key = (run.repo.to_ascii_lowercase(), run.id, run.attempt);
            let standing = match self.admitted.get(&key) {
                Some(lease) => Standing::Admitted(lease.since),
                None if found.me.as_ref().is_some_and(|me| me.is(&run.repo, run.id)) => {
                    match found.admits {
                        true => Standing::Gated(None),
                        false => Standing::Ungated,
                    }
                }
                None => {
                    let jobs = reader.jobs(&run.repo, run.id).await?;
                    leases::standing(&run, &jobs, &found.job)
                }
            };
            match leases::may_own_apps(&run, standing) {
                Some(owner) => may_own.push(owner),
                None => {
                    waiting.insert(key.clone());
                }
            }
            let apps = self.settings.reservation(&run.repo);
            if let Some(lease) = leases::lease(&run, standing, found.me.as_ref(), apps) {
                if lease.hold == Hold::Admitted {
                    self.admitted.insert(key, lease.clone());
                }
                held.push(lease);
            }
        }
        // A run listed under two statuses while it moved on counts once.
        held.sort_by(|a, b| (&a.repo, a.run_id, a.hold).cmp(&(&b.repo, b.run_id, b.hold)));
        held.dedup_by(|a, b| a.repo == b.repo && a.run_id == b.run_id);
        let mut orphans = github::cutoff(&may_own, None, checked_at, github.skew);
        orphans.waiting = waiting.len();
        Ok(Read::Leases { held, orphans })
    }
}

/// This job among its run's jobs (the one in progress on `RUNNER_NAME`): its name is the
/// admission job's unless `--admission-job` says otherwise, and its start is its place
/// in line.
async fn find(
    settings: &Settings,
    github: &github::Settings,
    reader: &Reader,
) -> Result<Found, Unreadable> {
    let Some((repo, run_id)) = &github.current_run else {
        let job = settings.admission_job.clone().ok_or_else(|| {
            Unreadable(
                "not in a GitHub Actions run (no `GITHUB_RUN_ID`), so no job of this run names the admission job: give it with `--admission-job NAME`".into(),
            )
        })?;
        return Ok(Found {
            me: None,
            admits: false,
            job,
            admitted_at: None,
        });
    };
    let runner = settings.runner_name.as_deref().ok_or_else(|| {
        Unreadable(format!(
            "`RUNNER_NAME` is not set, so this job is not known among the jobs of run {run_id} (GitHub Actions sets it)"
        ))
    })?;
    let jobs = reader.jobs(repo, *run_id).await?;
    let own = leases::own_job(&jobs, runner).ok_or_else(|| {
        Unreadable(format!(
            "no job of run {run_id} of {repo} is in progress on runner `{runner}` (`RUNNER_NAME`), so this job's name and place in line are not known"
        ))
    })?;
    let job = settings
        .admission_job
        .clone()
        .unwrap_or_else(|| own.name.clone());
    Ok(Found {
        me: Some(Me {
            repo: repo.clone(),
            run_id: *run_id,
            started_at: own.started_at,
        }),
        admits: own.name == job,
        admitted_at: leases::already_admitted(&jobs, &job),
        job,
    })
}
