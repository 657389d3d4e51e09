//! `--reserve-apps` and what goes with it: checked by `config`, read by the wait.

use std::time::Duration;

use crate::github;

/// What `--if-no-room` says to do when `--wait-for-room` runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfNoRoom {
    /// Exit 1 (`limit-held`): the tests that need this job do not run.
    Fail,
    /// Exit 0 with a warning: the tests run, and may meet the app limit.
    Proceed,
}

/// `--reserve-apps` and what goes with it, checked by `config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The apps this run will hold at once.
    pub reserve: usize,
    /// The account's (or team's) app limit.
    pub account_limit: usize,
    /// The longest to wait for room.
    pub wait: Duration,
    /// How often to look while waiting.
    pub poll: Duration,
    pub if_no_room: IfNoRoom,
    /// `--admission-job`: the job that admits a run; `None`: this job's own name.
    pub admission_job: Option<String>,
    /// `RUNNER_NAME`: finds this job among its run's.
    pub runner_name: Option<String>,
    /// Where the leases are read; `None` outside GitHub Actions with no `--github-repo`.
    pub github: Option<github::Settings>,
    /// `--github-repo OWNER/NAME:N`: what each run of that repository reserves.
    pub reservations: Vec<(String, usize)>,
}

impl Settings {
    /// What each run of `repo` reserves: its `--github-repo OWNER/NAME:N`, else this
    /// run's own (runs of one workflow reserve alike).
    pub fn reservation(&self, repo: &str) -> usize {
        self.reservations
            .iter()
            .find(|(named, _)| named.eq_ignore_ascii_case(repo))
            .map_or(self.reserve, |(_, apps)| *apps)
    }
}
