//! What a run did: the record the engine fills and the formatters in `report` read.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::duration;
use crate::heroku::{ApiError, Usage};
use crate::reap::cancel::Interrupt;
use crate::reap::clock::ClockReport;
use crate::reap::facts::Halt;
use crate::reap::pipeline_plan::{PipelineDecision, PipelineVerdict};
use crate::reap::plan::{Decision, Verdict};

/// Which of the record's lists an id is in, and so what a DELETE goes to. Apps and
/// pipelines share one delete loop, and with it every guarantee: the cap's count, the
/// failure streak, the reserve, the grace after a signal, the check of a DELETE with no
/// answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    App,
    Pipeline,
}

/// What happened to one app the plan said to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// This reaper's DELETE answered 200.
    Deleted,
    /// This reaper's DELETE got no answer, and a later attempt or listing showed it gone.
    DeletedResponseLost,
    /// 404 or 403: another reaper deleted it first (a duplicate delete).
    Conflict,
    /// Gone from a listing before this reaper got to it: another reaper's work.
    DeletedByAnother,
    /// Still listed at the end, in the stretch another reaper is deleting.
    LeftToAnother,
    /// The DELETE failed; the app is still there.
    Failed,
    /// The DELETE got no answer and the app's fate could not be checked.
    Unknown,
    /// `--dry-run`: would be deleted.
    Planned,
    /// The run stopped before reaching it.
    NotAttempted,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Deleted => "deleted",
            Outcome::DeletedResponseLost => "deleted (response lost)",
            Outcome::Conflict => "already deleted by another reaper",
            Outcome::DeletedByAnother => "deleted by another reaper",
            Outcome::LeftToAnother => "left to another reaper",
            Outcome::Failed => "failed",
            Outcome::Unknown => "unknown",
            Outcome::Planned => "would delete",
            Outcome::NotAttempted => "not attempted",
        }
    }

    /// What a DELETE that failed with `error` ended in: unknown when it may have gone
    /// through unanswered.
    pub fn of_failure(error: &ApiError) -> Outcome {
        if error.outcome_unknown() {
            Outcome::Unknown
        } else {
            Outcome::Failed
        }
    }

    /// Is the app gone?
    pub fn gone(self) -> bool {
        matches!(
            self,
            Outcome::Deleted
                | Outcome::DeletedResponseLost
                | Outcome::Conflict
                | Outcome::DeletedByAnother
        )
    }
}

/// What the run decided and did about one app or pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Entry<V> {
    pub id: String,
    pub name: String,
    /// `null` when the API gave none that could be read.
    pub created_at: Option<DateTime<Utc>>,
    /// `null`, and `age` `unknown`, with no `created_at`.
    pub age_seconds: Option<u64>,
    pub age: String,
    pub verdict: V,
    pub reason: String,
    /// A pipeline's apps still coupled to it, by name when the run listed them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coupled_apps: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub type AppEntry = Entry<Verdict>;
pub type PipelineEntry = Entry<PipelineVerdict>;

impl<V> Entry<V> {
    fn new(
        id: &str,
        name: &str,
        created_at: Option<DateTime<Utc>>,
        age: Duration,
        verdict: V,
        reason: &str,
    ) -> Entry<V> {
        Entry {
            id: id.to_string(),
            name: name.to_string(),
            created_at,
            age_seconds: created_at.map(|_| age.as_secs()),
            age: created_at.map_or_else(|| "unknown".to_string(), |_| duration::format(age)),
            verdict,
            reason: reason.to_string(),
            coupled_apps: Vec::new(),
            outcome: None,
            http_status: None,
            request_id: None,
            error: None,
        }
    }
}

impl AppEntry {
    pub fn from_decision(decision: &Decision) -> AppEntry {
        let app = &decision.app;
        Entry::new(
            &app.id,
            &app.name,
            app.created_at,
            decision.age,
            decision.verdict,
            &decision.reason,
        )
    }
}

impl PipelineEntry {
    pub fn from_decision(decision: &PipelineDecision) -> PipelineEntry {
        let pipeline = &decision.pipeline;
        Entry {
            coupled_apps: decision.coupled_apps.clone(),
            ..Entry::new(
                &pipeline.id,
                &pipeline.name,
                Some(pipeline.created_at),
                decision.age,
                decision.verdict,
                &decision.reason,
            )
        }
    }
}

/// How the run ended, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every stale app is gone (or left to a reaper seen deleting nearby).
    Done,
    /// `--dry-run`: nothing was deleted.
    DryRun,
    /// `--on-conflict stop-if-under-limit` stopped early with room to spare.
    UnderLimit,
    /// `--lock skip`: another reaper on this machine holds the lock.
    LockBusy,
    /// Stale apps are left because of API errors.
    Failed,
    /// `--app-limit` still held after `--wait-for-room`.
    LimitHeld,
    /// Stopped at `--reserve-rate-limit`: the rest of the pool is the tests'.
    ReserveReached,
    /// Refused before deleting anything (`--max-deletes`).
    Refused,
    /// The API rejected the key.
    Unauthorized,
    /// SIGINT, SIGTERM or SIGHUP stopped the run (`signal` says which).
    Interrupted,
    /// `--deadline` stopped the run, as a signal would.
    DeadlineReached,
    /// `--lock wait`: another reaper held the lock past `--lock-timeout`.
    LockTimeout,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Apps whose names match the rule.
    pub matched: usize,
    /// Stale apps the plan said to delete.
    pub stale: usize,
    pub deleted: usize,
    pub conflicts: usize,
    pub deleted_by_others: usize,
    pub left_to_others: usize,
    pub failed: usize,
    pub unknown: usize,
    /// Stale apps the run stopped before reaching.
    pub not_attempted: usize,
    pub kept: usize,
    pub too_young: usize,
    pub not_owned: usize,
    pub team_apps: usize,
    /// Stale apps that other `--shard`s delete.
    pub other_shards: usize,
    /// Matching apps still listed at the end.
    pub remaining: usize,
    /// With `--pipelines`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipelines: Option<PipelineCounts>,
}

/// What happened to the matching pipelines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PipelineCounts {
    pub matched: usize,
    /// Old enough, of this account or team, and with no app left coupled.
    pub stale: usize,
    pub deleted: usize,
    pub conflicts: usize,
    pub deleted_by_others: usize,
    pub failed: usize,
    pub unknown: usize,
    pub not_attempted: usize,
    pub coupled: usize,
    pub kept: usize,
    pub too_young: usize,
    pub not_owned: usize,
}

/// What the report says of how the run ended, beyond its status. The engine gives facts;
/// `report::words` words them, wherever the message is shown (the JSON's `message` too,
/// through the `Serialize` it implements there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A rule of the run's stopped it.
    Halted(Halt),
    /// The API rejected the key: the API's error.
    KeyRejected(String),
    /// An error from the API stopped the run (the reserve reached among them): its words.
    Api(String),
    /// A signal or `--deadline` stopped the run; the DELETEs in flight had `grace`.
    Interrupted { signal: Interrupt, grace: Duration },
    /// Words from outside the engine: the lock, the reading of GitHub, the key's source.
    Text(String),
}

/// What GitHub said, with `--github-live-runs`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GithubReport {
    pub repos: Vec<String>,
    /// Matching apps created before this belong to no live run; absent when GitHub
    /// could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cutoff: Option<DateTime<Utc>>,
    /// `owner/name run ID, started HH:MM:SSZ`: the run the cutoff comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest: Option<String>,
    pub live_runs: usize,
    /// Apps younger than the TTL that the cutoff made stale.
    pub orphaned: usize,
    /// Why GitHub could not be read, and the TTL rule alone was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: &'static str,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// The signal that interrupted the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<Interrupt>,
    pub dry_run: bool,
    pub rule: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub older_than: Option<String>,
    pub started_at: DateTime<Utc>,
    pub elapsed_seconds: f64,
    pub counts: Counts,
    pub requests: Usage,
    pub rate_limit_remaining: Option<u32>,
    /// Which clock ages were measured by; absent when nothing was listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockReport>,
    pub apps: Vec<AppEntry>,
    /// With `--pipelines`: every matching pipeline, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipelines: Option<Vec<PipelineEntry>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github: Option<GithubReport>,
}

impl Report {
    pub fn new(rule: String, scope: String, older_than: Option<Duration>, dry_run: bool) -> Report {
        Report {
            version: env!("CARGO_PKG_VERSION"),
            status: Status::Done,
            message: None,
            signal: None,
            dry_run,
            rule,
            scope,
            older_than: older_than.map(duration::format),
            started_at: Utc::now(),
            elapsed_seconds: 0.0,
            counts: Counts::default(),
            requests: Usage::default(),
            rate_limit_remaining: None,
            clock: None,
            apps: Vec::new(),
            pipelines: None,
            github: None,
        }
    }

    /// Whether this run deleted an app or pipeline, or may have (a DELETE with no answer).
    pub fn deleted_any(&self) -> bool {
        let deleting = |outcome: Option<Outcome>| {
            matches!(
                outcome,
                Some(Outcome::Deleted | Outcome::DeletedResponseLost | Outcome::Unknown)
            )
        };
        self.apps.iter().any(|app| deleting(app.outcome))
            || self
                .pipelines
                .iter()
                .flatten()
                .any(|pipeline| deleting(pipeline.outcome))
    }

    /// Recounts from the entries; `remaining` is the engine's, from its last listing.
    pub fn tally(&mut self) {
        let remaining = self.counts.remaining;
        let mut counts = Counts {
            matched: self.apps.len(),
            remaining,
            ..Counts::default()
        };
        for entry in &self.apps {
            match entry.verdict {
                Verdict::Delete => counts.stale += 1,
                Verdict::Keep => counts.kept += 1,
                Verdict::TooYoung => counts.too_young += 1,
                Verdict::TeamApp => counts.team_apps += 1,
                Verdict::NotOwned => counts.not_owned += 1,
                Verdict::OtherShard => counts.other_shards += 1,
            }
            match entry.outcome {
                Some(Outcome::Deleted | Outcome::DeletedResponseLost) => counts.deleted += 1,
                Some(Outcome::Conflict) => counts.conflicts += 1,
                Some(Outcome::DeletedByAnother) => counts.deleted_by_others += 1,
                Some(Outcome::LeftToAnother) => counts.left_to_others += 1,
                Some(Outcome::Failed) => counts.failed += 1,
                Some(Outcome::NotAttempted) => counts.not_attempted += 1,
                Some(Outcome::Unknown) => counts.unknown += 1,
                Some(Outcome::Planned) | None => {}
            }
        }
        counts.pipelines = self.pipelines.as_deref().map(pipeline_counts);
        self.counts = counts;
    }

    /// Failed or unsettled deletes, apps and pipelines together.
    pub fn failures(&self) -> usize {
        let pipelines = self
            .counts
            .pipelines
            .map_or(0, |counts| counts.failed + counts.unknown);
        self.counts.failed + self.counts.unknown + pipelines
    }
}

fn pipeline_counts(entries: &[PipelineEntry]) -> PipelineCounts {
    let mut counts = PipelineCounts {
        matched: entries.len(),
        ..PipelineCounts::default()
    };
    for entry in entries {
        match entry.verdict {
            PipelineVerdict::Delete => counts.stale += 1,
            PipelineVerdict::Coupled => counts.coupled += 1,
            PipelineVerdict::Keep => counts.kept += 1,
            PipelineVerdict::TooYoung => counts.too_young += 1,
            PipelineVerdict::NotOwned => counts.not_owned += 1,
        }
        match entry.outcome {
            Some(Outcome::Deleted | Outcome::DeletedResponseLost) => counts.deleted += 1,
            Some(Outcome::Conflict) => counts.conflicts += 1,
            Some(Outcome::DeletedByAnother) => counts.deleted_by_others += 1,
            Some(Outcome::Failed) => counts.failed += 1,
            Some(Outcome::Unknown) => counts.unknown += 1,
            Some(Outcome::NotAttempted) => counts.not_attempted += 1,
            Some(Outcome::LeftToAnother | Outcome::Planned) | None => {}
        }
    }
    counts
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::heroku::App;
    use crate::reap::clock::Source;

    pub(crate) fn entry(
        name: &str,
        minutes: u64,
        verdict: Verdict,
        reason: &str,
        outcome: Option<Outcome>,
    ) -> AppEntry {
        let created_at: DateTime<Utc> = "2026-11-27T11:00:00Z".parse().unwrap();
        let mut entry = AppEntry::from_decision(&Decision {
            app: App {
                id: format!("01234567-89ab-4def-8123-{:012}", minutes),
                name: name.to_string(),
                created_at: Some(created_at),
                owner: None,
                team: None,
            },
            age: Duration::from_secs(minutes * 60),
            verdict,
            reason: reason.to_string(),
        });
        entry.outcome = outcome;
        entry
    }

    pub(crate) fn sample(dry_run: bool) -> Report {
        let mut report = Report::new(
            "names starting with `hatchet-t-` and a hex digit".into(),
            "the account's own apps".into(),
            Some(Duration::from_secs(600)),
            dry_run,
        );
        report.started_at = "2026-11-27T12:00:00Z".parse().unwrap();
        report.elapsed_seconds = 2.25;
        report.requests = Usage {
            requests: 6,
            list_pages: 2,
            rate_limited: 0,
            retries: 0,
        };
        report.rate_limit_remaining = Some(4494);
        report.clock = Some(ClockReport {
            source: Source::Heroku,
            skew_seconds: Some(1),
            note: None,
        });
        let done = |outcome| {
            if dry_run {
                Some(Outcome::Planned)
            } else {
                Some(outcome)
            }
        };
        report.apps = vec![
            entry(
                "hatchet-t-0a1b2c3d4e",
                95,
                Verdict::Delete,
                "older than 10m",
                done(Outcome::Deleted),
            ),
            entry(
                "hatchet-t-5f6a7b8c9d",
                41,
                Verdict::Delete,
                "older than 10m",
                done(Outcome::Conflict),
            ),
            entry(
                "hatchet-t-keepme0001",
                30,
                Verdict::Keep,
                "kept by `--keep hatchet-t-keep*`",
                None,
            ),
            entry(
                "hatchet-t-1234567890",
                3,
                Verdict::TooYoung,
                "younger than 10m; a test may still use it",
                None,
            ),
        ];
        if !dry_run {
            report.apps[1].http_status = Some(404);
            report.apps[1].request_id = Some("b7e4c1a2-0000-4000-8000-000000000001".into());
        }
        report.counts.remaining = 2;
        report.status = if dry_run {
            Status::DryRun
        } else {
            Status::Done
        };
        report.tally();
        report
    }

    pub(crate) fn pipeline(
        name: &str,
        verdict: PipelineVerdict,
        reason: &str,
        outcome: Option<Outcome>,
    ) -> PipelineEntry {
        PipelineEntry {
            id: format!("id-{name}"),
            name: name.to_string(),
            created_at: Some("2026-11-27T11:00:00Z".parse().unwrap()),
            age_seconds: Some(3600),
            age: "60m".to_string(),
            verdict,
            reason: reason.to_string(),
            coupled_apps: Vec::new(),
            outcome,
            http_status: None,
            request_id: None,
            error: None,
        }
    }

    /// The sample with `--github-live-runs` and `--pipelines`: an orphaned young app, and
    /// a pipeline of each verdict.
    pub(crate) fn sample_with_github_and_pipelines(dry_run: bool) -> Report {
        let mut report = sample(dry_run);
        let orphaned = "orphaned: created before every live run; earliest is heroku/heroku-buildpack-ruby run 123, started 11:58:01Z";
        let outcome = if dry_run {
            Outcome::Planned
        } else {
            Outcome::Deleted
        };
        report.apps.insert(
            3,
            entry(
                "hatchet-t-abcdef0123",
                8,
                Verdict::Delete,
                orphaned,
                Some(outcome),
            ),
        );
        let mut coupled = pipeline(
            "hatchet-t-1234567890",
            PipelineVerdict::Coupled,
            "still coupled to `hatchet-t-1234567890`",
            None,
        );
        coupled.coupled_apps = vec!["hatchet-t-1234567890".into()];
        report.pipelines = Some(vec![
            pipeline(
                "hatchet-t-0a1b2c3d4e",
                PipelineVerdict::Delete,
                "older than 10m; its apps go first (`hatchet-t-0a1b2c3d4e`)",
                Some(outcome),
            ),
            pipeline(
                "hatchet-t-99887766aa",
                PipelineVerdict::Delete,
                "older than 10m; no app is coupled to it",
                Some(if dry_run {
                    Outcome::Planned
                } else {
                    Outcome::Conflict
                }),
            ),
            coupled,
            PipelineEntry {
                age_seconds: Some(180),
                age: "3m".into(),
                ..pipeline(
                    "hatchet-t-young00001",
                    PipelineVerdict::TooYoung,
                    "younger than 10m; a test may still use it",
                    None,
                )
            },
        ]);
        report.github = Some(GithubReport {
            repos: vec![
                "heroku/heroku-buildpack-ruby".into(),
                "heroku/heroku-buildpack-python".into(),
            ],
            cutoff: Some("2026-11-27T11:56:01Z".parse().unwrap()),
            earliest: Some("heroku/heroku-buildpack-ruby run 123, started 11:58:01Z".into()),
            live_runs: 4,
            orphaned: 1,
            warning: None,
        });
        report.tally();
        report
    }

    #[test]
    fn counts_follow_the_entries() {
        let counts = sample(false).counts;
        assert_eq!(
            (
                counts.matched,
                counts.stale,
                counts.deleted,
                counts.conflicts,
                counts.kept,
                counts.too_young
            ),
            (4, 2, 1, 1, 1, 1)
        );
    }

    #[test]
    fn pipeline_counts_follow_the_entries() {
        let counts = sample_with_github_and_pipelines(false)
            .counts
            .pipelines
            .unwrap();
        assert_eq!(
            (
                counts.matched,
                counts.stale,
                counts.deleted,
                counts.conflicts
            ),
            (4, 2, 1, 1)
        );
        assert_eq!((counts.coupled, counts.too_young), (1, 1));
    }
}
