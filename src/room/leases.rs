//! Who holds room on the account, from GitHub's answers. Pure: the live runs, their jobs
//! and this run's place go in; the leases come out.
//!
//! A lease is a live run: admitted once its admission job (by name) completed with
//! `success`, or in line ahead of this run while that job is in progress and started
//! first. It ends when the run ends, however it ends: nothing is stored.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::github::cutoff::clock;
use crate::github::{Began, Job, LiveRun};

/// How a run holds its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hold {
    /// Its admission job succeeded: its tests may be creating apps.
    Admitted,
    /// Its admission job is in progress and started before this run's: it goes first.
    InLine,
}

/// A live run that holds room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    pub repo: String,
    pub run_id: u64,
    /// Its reservation: this run's `--reserve-apps`, or its repository's
    /// `--github-repo OWNER/NAME:N`.
    pub apps: usize,
    /// When its admission job completed (admitted) or started (in line), by GitHub's clock.
    pub since: DateTime<Utc>,
    pub hold: Hold,
}

impl Lease {
    /// `heroku/ruby run 12 (40 apps, admitted 12:00:01Z)`.
    pub fn words(&self, today: DateTime<Utc>) -> String {
        let how = match self.hold {
            Hold::Admitted => "admitted",
            Hold::InLine => "in line since",
        };
        format!(
            "{} run {} ({} apps, {how} {})",
            self.repo,
            self.run_id,
            self.apps,
            clock(self.since, today)
        )
    }
}

/// This run, as GitHub shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub repo: String,
    pub run_id: u64,
    /// When this job started, by GitHub's clock: its place in line. `None` outside a run
    /// (only `--github-repo`): then every run in line is ahead.
    pub started_at: Option<DateTime<Utc>>,
}

impl Me {
    /// The same run, whatever its attempt.
    pub fn is(&self, repo: &str, run_id: u64) -> bool {
        run_id == self.run_id && repo.eq_ignore_ascii_case(&self.repo)
    }

    /// Whether a job that started at `started` in that run goes before this one. Ties
    /// go by repository and run id, so that two runs never both wait for the other.
    fn behind(&self, started: DateTime<Utc>, repo: &str, run_id: u64) -> bool {
        match self.started_at {
            None => true,
            Some(mine) => {
                (started, repo.to_ascii_lowercase(), run_id)
                    < (mine, self.repo.to_ascii_lowercase(), self.run_id)
            }
        }
    }
}

/// The job this step runs in: in progress on this runner (`RUNNER_NAME`).
pub fn own_job<'a>(jobs: &'a [Job], runner_name: &str) -> Option<&'a Job> {
    jobs.iter()
        .find(|job| job.in_progress() && job.runner_name.as_deref() == Some(runner_name))
}

/// When this run's own admission job succeeded, if it has: a later job of an admitted
/// run holds its room already, and every other run has counted it since.
pub fn already_admitted(jobs: &[Job], admission_job: &str) -> Option<DateTime<Utc>> {
    jobs.iter()
        .filter(|job| job.name == admission_job && job.succeeded())
        .map(|job| {
            job.completed_at
                .or(job.started_at)
                .unwrap_or(DateTime::UNIX_EPOCH)
        })
        .min()
}

/// Where a live run stands, by its admission job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Its admission job succeeded then: its tests may have made apps since.
    Admitted(DateTime<Utc>),
    /// Its admission job has not succeeded: its tests, which need it, have made no app.
    /// In progress since then, when it is.
    Gated(Option<DateTime<Utc>>),
    /// It has no admission job: it may have made apps since it began.
    Ungated,
}

pub fn standing(run: &LiveRun, jobs: &[Job], admission_job: &str) -> Standing {
    let named = || jobs.iter().filter(|job| job.name == admission_job);
    if let Some(done) = named().find(|job| job.succeeded()) {
        return Standing::Admitted(done.completed_at.or(done.started_at).unwrap_or(run.since));
    }
    if named().next().is_none() {
        return Standing::Ungated;
    }
    let started = named()
        .filter(|job| job.in_progress())
        .filter_map(|job| job.started_at)
        .min();
    Standing::Gated(started)
}

/// The lease a run that stands so holds: none for this run itself, none for a run that is
/// neither admitted nor in line ahead of this one.
pub fn lease(run: &LiveRun, standing: Standing, me: Option<&Me>, apps: usize) -> Option<Lease> {
    if me.is_some_and(|me| me.is(&run.repo, run.id)) {
        return None;
    }
    let (since, hold) = match standing {
        Standing::Admitted(since) => (since, Hold::Admitted),
        Standing::Gated(Some(started))
            if me.is_none_or(|me| me.behind(started, &run.repo, run.id)) =>
        {
            (started, Hold::InLine)
        }
        Standing::Gated(_) | Standing::Ungated => return None,
    };
    Some(Lease {
        repo: run.repo.clone(),
        run_id: run.id,
        apps,
        since,
        hold,
    })
}

/// The run as the orphan cutoff sees it (with `--github-live-runs`): from its admission
/// when admitted, from its start when it has no admission job, and not at all while its
/// tests wait for one.
pub fn may_own_apps(run: &LiveRun, standing: Standing) -> Option<LiveRun> {
    match standing {
        Standing::Admitted(since) => Some(LiveRun {
            since,
            began: Began::Admitted,
            ..run.clone()
        }),
        Standing::Ungated => Some(run.clone()),
        Standing::Gated(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        format!("2026-11-27T{text}Z").parse().unwrap()
    }

    fn job(name: &str, status: &str, conclusion: Option<&str>, started: &str) -> Job {
        Job {
            id: 1,
            name: name.into(),
            status: status.into(),
            conclusion: conclusion.map(str::to_string),
            started_at: Some(at(started)),
            completed_at: (status == "completed")
                .then(|| at(started) + chrono::Duration::minutes(1)),
            runner_name: Some("GitHub Actions 3".into()),
        }
    }

    fn run(repo: &str, id: u64) -> LiveRun {
        LiveRun::new(repo, id, at("11:00:00"), Some(at("11:00:00")))
    }

    /// The lease of `run` given its jobs.
    fn held(run: &LiveRun, jobs: &[Job], me: Option<&Me>, apps: usize) -> Option<Lease> {
        lease(run, standing(run, jobs, CLEANUP), me, apps)
    }

    fn me(started: &str) -> Me {
        Me {
            repo: "heroku/ruby".into(),
            run_id: 100,
            started_at: Some(at(started)),
        }
    }

    const CLEANUP: &str = "Delete stale Heroku test apps";

    #[test]
    fn a_run_whose_admission_job_succeeded_holds_its_reservation_since_then() {
        let jobs = [
            job(CLEANUP, "completed", Some("success"), "12:00:00"),
            job("test (heroku-24)", "in_progress", None, "12:01:30"),
        ];
        let lease = held(&run("heroku/ruby", 7), &jobs, Some(&me("12:30:00")), 40).unwrap();
        assert_eq!(
            (lease.hold, lease.since, lease.apps),
            (Hold::Admitted, at("12:01:00"), 40)
        );
        assert_eq!(
            lease.words(at("12:30:00")),
            "heroku/ruby run 7 (40 apps, admitted 12:01:00Z)"
        );
    }

    #[test]
    fn a_failed_cancelled_or_queued_admission_job_holds_nothing() {
        for jobs in [
            vec![job(CLEANUP, "completed", Some("failure"), "12:00:00")],
            vec![job(CLEANUP, "completed", Some("cancelled"), "12:00:00")],
            vec![job(CLEANUP, "queued", None, "12:00:00")],
            vec![job("lint", "completed", Some("success"), "12:00:00")],
            vec![],
        ] {
            assert_eq!(
                held(&run("heroku/ruby", 7), &jobs, Some(&me("12:30:00")), 40),
                None,
                "{jobs:?}"
            );
        }
    }

    #[test]
    fn an_admission_job_in_progress_is_in_line_only_when_it_started_first() {
        let waiting = [job(CLEANUP, "in_progress", None, "12:10:00")];
        let ahead = held(
            &run("heroku/python", 8),
            &waiting,
            Some(&me("12:20:00")),
            30,
        )
        .unwrap();
        assert_eq!((ahead.hold, ahead.since), (Hold::InLine, at("12:10:00")));
        assert_eq!(
            ahead.words(at("12:20:00")),
            "heroku/python run 8 (30 apps, in line since 12:10:00Z)"
        );
        assert_eq!(
            held(
                &run("heroku/python", 8),
                &waiting,
                Some(&me("12:05:00")),
                30
            ),
            None
        );
        // Outside a run, every run in line is ahead.
        assert!(held(&run("heroku/python", 8), &waiting, None, 30).is_some());
    }

    #[test]
    fn two_runs_that_started_in_the_same_second_agree_which_goes_first() {
        let jobs = [job(CLEANUP, "in_progress", None, "12:10:00")];
        let ruby = Me {
            repo: "heroku/ruby".into(),
            run_id: 5,
            started_at: Some(at("12:10:00")),
        };
        let python = Me {
            repo: "heroku/python".into(),
            run_id: 9,
            started_at: Some(at("12:10:00")),
        };
        let python_sees_ruby = held(&run("heroku/ruby", 5), &jobs, Some(&python), 1);
        let ruby_sees_python = held(&run("heroku/python", 9), &jobs, Some(&ruby), 1);
        assert!(python_sees_ruby.is_none());
        assert!(ruby_sees_python.is_some());
    }

    #[test]
    fn this_run_never_holds_room_against_itself_whatever_its_attempt() {
        let jobs = [job(CLEANUP, "completed", Some("success"), "12:00:00")];
        let mut again = run("Heroku/Ruby", 100);
        again.attempt = 2;
        assert_eq!(held(&again, &jobs, Some(&me("12:30:00")), 40), None);
        assert_eq!(already_admitted(&jobs, CLEANUP), Some(at("12:01:00")));
        assert_eq!(already_admitted(&jobs, "other"), None);
    }

    #[test]
    fn only_admitted_runs_and_runs_with_no_admission_job_may_own_apps() {
        let ruby = run("heroku/ruby", 7);
        let admitted = [job(CLEANUP, "completed", Some("success"), "12:00:00")];
        let waiting = [job(CLEANUP, "in_progress", None, "12:10:00")];
        let lint = [job("lint", "in_progress", None, "12:10:00")];
        let owns = |jobs: &[Job]| may_own_apps(&ruby, standing(&ruby, jobs, CLEANUP));
        let since_admission = owns(&admitted).unwrap();
        assert_eq!(
            (since_admission.since, since_admission.began),
            (at("12:01:00"), Began::Admitted)
        );
        assert_eq!(owns(&waiting), None);
        assert_eq!(
            owns(&[job(CLEANUP, "completed", Some("failure"), "12:00:00")]),
            None
        );
        assert_eq!(owns(&lint), Some(ruby.clone()));
        assert_eq!(owns(&[]), Some(ruby));
    }

    #[test]
    fn this_job_is_the_one_in_progress_on_this_runner() {
        let mut done = job(CLEANUP, "completed", Some("success"), "11:00:00");
        done.runner_name = Some("GitHub Actions 9".into());
        let mut mine = job(CLEANUP, "in_progress", None, "12:00:00");
        mine.runner_name = Some("GitHub Actions 9".into());
        mine.id = 2;
        let jobs = [done, mine.clone()];
        assert_eq!(own_job(&jobs, "GitHub Actions 9"), Some(&mine));
        assert_eq!(own_job(&jobs, "GitHub Actions 1"), None);
    }
}
