//! The cutoff: the moment before which no live workflow run can have created an app.
//! Pure: the runs GitHub listed and the clock go in, the cutoff comes out.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// A workflow run that is queued, waiting, pending or in progress, and so may still
/// create apps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRun {
    /// `owner/name`.
    pub repo: String,
    pub id: u64,
    /// When it started (`run_started_at`), or was created, for a run not started yet;
    /// or, for the room (`--reserve-apps`), when it was admitted.
    pub since: DateTime<Utc>,
    pub began: Began,
    /// `run_attempt`: 1, and more after a re-run.
    pub attempt: u32,
}

impl LiveRun {
    /// From the fields of GitHub's workflow-run JSON.
    pub fn new(
        repo: &str,
        id: u64,
        created_at: DateTime<Utc>,
        run_started_at: Option<DateTime<Utc>>,
    ) -> LiveRun {
        LiveRun {
            repo: repo.to_string(),
            id,
            since: run_started_at.unwrap_or(created_at),
            began: match run_started_at {
                Some(_) => Began::Started,
                None => Began::Queued,
            },
            attempt: 1,
        }
    }
}

/// What a live run's `since` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Began {
    /// Created, not started yet.
    Queued,
    Started,
    /// Admitted to the room on the account: its tests, which wait for that, began then.
    Admitted,
}

impl Began {
    fn word(self) -> &'static str {
        match self {
            Began::Queued => "queued",
            Began::Started => "started",
            Began::Admitted => "admitted",
        }
    }
}

/// What the planner needs: apps created before `at` belong to no live run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cutoff {
    pub at: DateTime<Utc>,
    /// The live run that started first; `None` when none was live.
    pub earliest: Option<LiveRun>,
    /// When GitHub was asked.
    pub checked_at: DateTime<Utc>,
    /// Distinct live runs seen, the current one included.
    pub live_runs: usize,
    /// Live runs left out because their tests wait for room (`--reserve-apps`), so have
    /// made no app yet.
    pub waiting: usize,
}

/// The earliest start among the live runs and the current run (its own matrix jobs may
/// already be creating apps), less `skew` for the clocks of GitHub and Heroku. With no
/// run live, the check itself is the earliest moment a new run could start.
pub fn cutoff(
    listed: &[LiveRun],
    current: Option<&LiveRun>,
    checked_at: DateTime<Utc>,
    skew: Duration,
) -> Cutoff {
    let runs: Vec<&LiveRun> = listed.iter().chain(current).collect();
    let earliest = runs
        .iter()
        .min_by(|a, b| (a.since, &a.repo, a.id).cmp(&(b.since, &b.repo, b.id)))
        .map(|run| (*run).clone());
    // A start later than the check (GitHub's clock ahead of ours) must not move the
    // cutoff past the check.
    let from = earliest
        .as_ref()
        .map_or(checked_at, |run| run.since.min(checked_at));
    let skew = chrono::Duration::from_std(skew).unwrap_or(chrono::Duration::MAX);
    let mut distinct: Vec<(&str, u64)> = runs.iter().map(|run| (&*run.repo, run.id)).collect();
    distinct.sort_unstable();
    distinct.dedup();
    Cutoff {
        at: from
            .checked_sub_signed(skew)
            .unwrap_or(DateTime::UNIX_EPOCH),
        earliest,
        checked_at,
        live_runs: distinct.len(),
        waiting: 0,
    }
}

impl Cutoff {
    /// Why an app created before the cutoff is an orphan, for the report.
    pub fn reason(&self) -> String {
        match self.earliest_run() {
            Some(run) => format!("created before every live run; earliest is {run}"),
            None if self.waiting > 0 => format!(
                "created before every live run; none but {} waiting for room was live when GitHub was checked at {}",
                self.waiting,
                self.clock(self.checked_at)
            ),
            None => format!(
                "created before every live run; none was live when GitHub was checked at {}",
                self.clock(self.checked_at)
            ),
        }
    }

    /// `owner/name run 123, started 12:00:01Z`: the live run that started first.
    pub fn earliest_run(&self) -> Option<String> {
        self.earliest.as_ref().map(|run| {
            format!(
                "{} run {}, {} {}",
                run.repo,
                run.id,
                run.began.word(),
                self.clock(run.since)
            )
        })
    }

    /// The time of day when it is the day of the check, the whole date-time otherwise.
    fn clock(&self, at: DateTime<Utc>) -> String {
        clock(at, self.checked_at)
    }
}

/// The time of day (`12:00:01Z`) when `at` is on `today`'s date, the whole date-time
/// otherwise.
pub fn clock(at: DateTime<Utc>, today: DateTime<Utc>) -> String {
    if at.date_naive() == today.date_naive() {
        at.format("%H:%M:%SZ").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        format!("2026-11-27T{text}Z").parse().unwrap()
    }

    fn run(repo: &str, id: u64, started: &str) -> LiveRun {
        LiveRun::new(repo, id, at("08:00:00"), Some(at(started)))
    }

    const SKEW: Duration = Duration::from_secs(120);

    #[test]
    fn the_earliest_start_across_repositories_less_the_skew() {
        let runs = [
            run("heroku/ruby", 7, "12:05:00"),
            run("heroku/python", 3, "12:00:01"),
            run("heroku/ruby", 9, "12:10:00"),
        ];
        let cutoff = cutoff(&runs, None, at("12:30:00"), SKEW);
        assert_eq!(cutoff.at, at("11:58:01"));
        assert_eq!(cutoff.earliest.as_ref().unwrap().id, 3);
        assert_eq!(cutoff.live_runs, 3);
        assert_eq!(
            cutoff.reason(),
            "created before every live run; earliest is heroku/python run 3, started 12:00:01Z"
        );
    }

    #[test]
    fn the_current_run_counts_even_when_no_listing_had_it() {
        let listed = [run("heroku/ruby", 7, "12:05:00")];
        let current = run("heroku/ruby", 5, "11:00:00");
        let cutoff = cutoff(&listed, Some(&current), at("12:30:00"), SKEW);
        assert_eq!(cutoff.at, at("10:58:00"));
        assert_eq!(cutoff.earliest, Some(current.clone()));
        // Listed as well as current: one run, not two.
        let both = [listed[0].clone(), current.clone()];
        assert_eq!(
            super::cutoff(&both, Some(&current), at("12:30:00"), SKEW).live_runs,
            2
        );
    }

    #[test]
    fn a_run_not_started_counts_from_its_creation() {
        let queued = LiveRun::new("heroku/go", 11, at("11:59:00"), None);
        assert_eq!(queued.since, at("11:59:00"));
        let cutoff = cutoff(&[queued], None, at("12:30:00"), Duration::ZERO);
        assert_eq!(cutoff.at, at("11:59:00"));
        assert!(
            cutoff
                .reason()
                .ends_with("heroku/go run 11, queued 11:59:00Z")
        );
    }

    #[test]
    fn with_no_live_run_the_check_itself_is_the_cutoff() {
        let cutoff = cutoff(&[], None, at("12:30:00"), SKEW);
        assert_eq!((cutoff.at, cutoff.live_runs), (at("12:28:00"), 0));
        assert_eq!(
            cutoff.reason(),
            "created before every live run; none was live when GitHub was checked at 12:30:00Z"
        );
    }

    #[test]
    fn a_start_after_the_check_does_not_move_the_cutoff_later() {
        let ahead = run("heroku/ruby", 1, "12:31:00");
        let cutoff = cutoff(&[ahead], None, at("12:30:00"), SKEW);
        assert_eq!(cutoff.at, at("12:28:00"));
    }

    #[test]
    fn another_day_shows_the_date() {
        let yesterday = LiveRun::new(
            "heroku/ruby",
            2,
            "2026-11-26T23:00:00Z".parse().unwrap(),
            Some("2026-11-26T23:00:05Z".parse().unwrap()),
        );
        let cutoff = cutoff(&[yesterday], None, at("00:10:00"), SKEW);
        assert!(
            cutoff.reason().ends_with("started 2026-11-26T23:00:05Z"),
            "{}",
            cutoff.reason()
        );
    }
}
