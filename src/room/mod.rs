//! Room for the run (`--reserve-apps`): after the reaping, the run is admitted only when
//! the account has room for the apps it will hold beside the runs already admitted, whose
//! live GitHub runs are the leases. The count and the reading of GitHub's answers are
//! pure (`count`, `leases`); `read` asks GitHub and `gate` waits. docs/design.md ("Room
//! for the run") explains the leases and their limits.

mod count;
mod gate;
mod leases;
mod read;

use std::time::Duration;

use serde::Serialize;

use crate::github;

pub use count::Room;
pub use gate::Gate;
pub use leases::{Hold, Lease};

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

/// How the wait for room ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// There was room, or this run held its room already.
    Admitted,
    /// No room in time, and `--if-no-room proceed`: the tests run anyway.
    Proceeded,
    /// No room in time (`--if-no-room fail`): exit 1.
    NoRoom,
    /// The reservation is more than the account holds beside its other apps: exit 1 at once.
    TooLarge,
    /// A signal, `--deadline`, or an error of Heroku's ended the wait.
    Stopped,
    /// Not looked at: a dry run, or a reaping that did not end well.
    NotChecked,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Admitted => "admitted",
            Outcome::Proceeded => "no room in time; proceeding",
            Outcome::NoRoom => "no room in time",
            Outcome::TooLarge => "the reservation never fits",
            Outcome::Stopped => "stopped while waiting",
            Outcome::NotChecked => "not counted",
        }
    }
}

/// What the gate saw and decided, for the report, the log and the job summary.
#[derive(Debug, Clone, Serialize)]
pub struct RoomReport {
    pub outcome: Outcome,
    /// Whether the run may start its tests with room for them: the `admitted` output.
    pub admitted: bool,
    /// The apps this run reserves.
    pub reserve_apps: usize,
    pub waited_seconds: f64,
    /// Looks at the account (and GitHub) taken.
    pub looks: u32,
    /// The count at the last look; absent when none was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room: Option<Room>,
    /// The runs that held room at the last look.
    pub held_by: Vec<Lease>,
    /// Why the leases were not read from GitHub at the last look, which then counted the
    /// apps alone (the plain wait) or the leases last read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_warning: Option<String>,
    /// In a sentence: why it ended so.
    pub reason: String,
}

impl RoomReport {
    /// The gate did not look: `why` says so.
    pub fn not_checked(settings: &Settings, why: String) -> RoomReport {
        RoomReport {
            outcome: Outcome::NotChecked,
            admitted: false,
            reserve_apps: settings.reserve,
            waited_seconds: 0.0,
            looks: 0,
            room: None,
            held_by: Vec::new(),
            github_warning: None,
            reason: why,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A run admitted after a wait, with two runs of 20 apps holding room at the last
    /// look (one admitted, one in line ahead), and the leases read from GitHub.
    pub(crate) fn sample() -> RoomReport {
        let at = |text: &str| format!("2026-11-27T{text}Z").parse().unwrap();
        let lease = |run_id, since, hold| Lease {
            repo: "heroku/heroku-buildpack-ruby".into(),
            run_id,
            apps: 20,
            since: at(since),
            hold,
        };
        RoomReport {
            outcome: Outcome::Admitted,
            admitted: true,
            reserve_apps: 40,
            waited_seconds: 95.4,
            looks: 4,
            room: Some(Room {
                account_limit: 100,
                other_apps: 3,
                test_apps: 45,
                reserved: 40,
                outside_reservations: 5,
                free: 52,
            }),
            held_by: vec![
                lease(1002, "11:58:10", Hold::Admitted),
                lease(1003, "12:01:30", Hold::InLine),
            ],
            github_warning: None,
            reason: "52 apps free for the 40 this run reserves".into(),
        }
    }
}
