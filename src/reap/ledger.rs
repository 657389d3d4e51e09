//! The run's ledger: what was decided and done about each app and pipeline, and the rules
//! that follow from it: the cap, the failure streak, room under the limit, the status.
//! It is synchronous and told the time, so its rules are tested without waiting; the
//! async engine sends the requests and feeds the answers in.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::cancel::Interrupt;
use super::pipeline_plan::PipelineVerdict;
use super::plan::{self, Age, Decision, OnConflict, Verdict};
use super::record::{AppEntry, Entry, Outcome, PipelineEntry, Report, Status};
use super::{AppLimit, Kind, Options, Step, Stop};
use crate::duration;
use crate::heroku::{ApiError, Deletion};

/// After this many failed deletes in a row the API is not well; stop sending more.
const FAILURES_BEFORE_GIVING_UP: usize = 3;

/// The error of a DELETE in flight at an interrupt that stayed unanswered.
pub(super) const UNANSWERED_IN_GRACE: &str =
    "in flight when the run was interrupted, and no answer came within the grace";

/// The options the ledger's rules read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rules {
    pub dry_run: bool,
    /// `None`: no cap.
    pub max_deletes: Option<usize>,
    pub app_limit: Option<AppLimit>,
    pub on_conflict: OnConflict,
    /// `None`: any age (`--all`, or the GitHub cutoff).
    pub ttl: Option<Duration>,
}

impl Rules {
    pub fn of(options: &Options) -> Rules {
        Rules {
            dry_run: options.dry_run,
            max_deletes: options.max_deletes,
            app_limit: options.app_limit,
            on_conflict: options.on_conflict,
            ttl: match options.policy.age {
                Age::OlderThan(ttl) => Some(ttl),
                Age::Any => None,
            },
        }
    }
}

pub(super) struct Ledger {
    rules: Rules,
    /// When `--wait-for-room` runs out.
    room_until: Option<Instant>,
    /// Every matching app seen, by id.
    pub entries: BTreeMap<String, AppEntry>,
    /// With `--pipelines`, once the apps are done: every matching pipeline.
    pub pipelines: Option<Vec<PipelineEntry>>,
    /// Ids in the latest listing.
    pub listed: HashSet<String>,
    /// DELETEs sent, apps and pipelines together (`--max-deletes` counts both).
    pub deletes_sent: usize,
    /// Failed deletes since the last one that worked, across batches.
    failures_in_a_row: usize,
}

impl Ledger {
    /// A ledger for a run that started at `started`.
    pub fn new(rules: Rules, started: Instant) -> Ledger {
        Ledger {
            rules,
            room_until: rules.app_limit.map(|limit| started + limit.wait_for_room),
            entries: BTreeMap::new(),
            pipelines: None,
            listed: HashSet::new(),
            deletes_sent: 0,
            failures_in_a_row: 0,
        }
    }

    /// Adds what a plan says about each app, without undoing what was done to it.
    pub fn record(&mut self, decisions: &[Decision]) {
        for decision in decisions {
            let fresh = AppEntry::from_decision(decision);
            match self.entries.get_mut(&decision.app.id) {
                Some(entry) if entry.outcome.is_some() => {}
                Some(entry) => *entry = fresh,
                None => {
                    self.entries.insert(decision.app.id.clone(), fresh);
                }
            }
        }
    }

    /// Remembers which apps the latest listing showed.
    pub fn listing(&mut self, ids: HashSet<String>) {
        self.listed = ids;
    }

    /// After a listing between deletes: what went missing was deleted by others.
    pub fn gone_by_others(&mut self) {
        let listed = &self.listed;
        for entry in self.entries.values_mut() {
            if entry.verdict == Verdict::Delete
                && entry.outcome.is_none()
                && !listed.contains(&entry.id)
            {
                entry.outcome = Some(Outcome::DeletedByAnother);
            }
        }
    }

    pub fn untouched(&self, id: &str) -> bool {
        self.entries
            .get(id)
            .is_some_and(|entry| entry.outcome.is_none())
    }

    pub fn still_to_delete(&self, kind: Kind, id: &str) -> bool {
        match kind {
            Kind::App => self
                .entries
                .get(id)
                .is_some_and(|entry| entry.verdict == Verdict::Delete && entry.outcome.is_none()),
            Kind::Pipeline => self.pipelines.iter().flatten().any(|entry| {
                entry.id == id
                    && entry.verdict == PipelineVerdict::Delete
                    && entry.outcome.is_none()
            }),
        }
    }

    pub fn set_outcome(&mut self, id: &str, outcome: Outcome) {
        if let Some(entry) = self.entries.get_mut(id) {
            entry.outcome = Some(outcome);
        }
    }

    pub fn pipeline_entry(&mut self, id: &str) -> Option<&mut PipelineEntry> {
        self.pipelines.iter_mut().flatten().find(|e| e.id == id)
    }

    /// The pipelines still to delete: stale, uncoupled and not acted on yet.
    pub fn pipelines_to_delete(&self) -> Vec<String> {
        self.pipelines
            .iter()
            .flatten()
            .filter(|e| e.verdict == PipelineVerdict::Delete && e.outcome.is_none())
            .map(|e| e.id.clone())
            .collect()
    }

    pub fn set_pipeline_outcomes(&mut self, ids: &[String], outcome: Outcome) {
        for id in ids {
            if let Some(entry) = self.pipeline_entry(id) {
                entry.outcome = Some(outcome);
            }
        }
    }

    /// `--max-deletes` before a round of `stale` deletes: a first plan over the cap is
    /// refused, a later round that would pass it stops the run. A dry run only notes it.
    pub fn check_cap(&self, stale: usize, first: bool) -> Result<Option<String>, Stop> {
        let Some(cap) = self.rules.max_deletes else {
            return Ok(None);
        };
        if first && stale > cap && self.rules.dry_run {
            return Ok(Some(format!(
                "note: a real run would refuse this plan: {stale} apps is more than `--max-deletes {cap}`"
            )));
        }
        if first && stale > cap {
            return Err(Stop::Status(
                Status::Refused,
                format!(
                    "the plan would delete {stale} apps, more than `--max-deletes {cap}`; nothing was deleted. Check the rule with `--dry-run`, then raise the cap (`--max-deletes {stale}`, or 0 for none) if the plan is right"
                ),
            ));
        }
        if !first && self.deletes_sent + stale > cap {
            return Err(Stop::Status(
                Status::Failed,
                format!(
                    "stopped: {stale} more stale apps would take this run past `--max-deletes {cap}`"
                ),
            ));
        }
        Ok(None)
    }

    /// `--max-deletes` before `pipelines` deletes: apps and pipelines count together. A
    /// real run over it marks the pipelines not attempted and stops; a dry run notes it.
    pub fn check_pipeline_cap(
        &mut self,
        pipelines: usize,
        dry_run: bool,
    ) -> Result<Option<String>, Stop> {
        let Some(cap) = self.rules.max_deletes else {
            return Ok(None);
        };
        let apps = if dry_run {
            self.entries
                .values()
                .filter(|e| e.outcome == Some(Outcome::Planned))
                .count()
        } else {
            self.deletes_sent
        };
        if apps + pipelines <= cap {
            return Ok(None);
        }
        let why = format!(
            "{apps} apps and {pipelines} pipelines are more than `--max-deletes {cap}` (apps and pipelines count together)"
        );
        if dry_run {
            return Ok(Some(format!(
                "note: a real run would stop before the pipelines: {why}"
            )));
        }
        self.set_pipeline_outcomes(&self.pipelines_to_delete(), Outcome::NotAttempted);
        Err(Stop::Status(
            Status::Failed,
            format!("stopped before the pipelines: {why}; raise the cap if the plan is right"),
        ))
    }

    /// A DELETE is about to be sent.
    pub fn sent(&mut self) {
        self.deletes_sent += 1;
    }

    /// Records the answer to one DELETE; an error means: send no more.
    pub fn answer(
        &mut self,
        kind: Kind,
        id: &str,
        result: Result<Deletion, ApiError>,
    ) -> Result<Step, Stop> {
        match result {
            Ok(Deletion::Deleted { request_id }) => {
                self.failures_in_a_row = 0;
                self.fill(kind, id, Outcome::Deleted, Some(200), request_id, None);
                Ok(Step::Done)
            }
            Ok(Deletion::GoneAfterLostResponse { status, request_id }) => {
                self.failures_in_a_row = 0;
                let outcome = Outcome::DeletedResponseLost;
                self.fill(kind, id, outcome, Some(status), request_id, None);
                Ok(Step::Done)
            }
            Ok(Deletion::AlreadyGone { status, request_id }) => {
                self.fill(kind, id, Outcome::Conflict, Some(status), request_id, None);
                Ok(Step::Conflict)
            }
            // Not sent: it is left for a run with budget to spare.
            Err(error @ ApiError::Reserve { .. }) => Err(Stop::Api(error)),
            // Not sent: a signal came first, so it stays not attempted.
            Err(ApiError::Interrupted { .. }) => Ok(Step::Done),
            Err(error) => {
                let outcome = Outcome::of_failure(&error);
                let request_id = error.request_id().map(str::to_string);
                let message = error.to_string();
                self.fill(kind, id, outcome, error.status(), request_id, Some(message));
                if error.is_unauthorized() {
                    return Err(Stop::Api(error));
                }
                self.failures_in_a_row += 1;
                if self.failures_in_a_row >= FAILURES_BEFORE_GIVING_UP {
                    return Err(Stop::Status(
                        Status::Failed,
                        format!(
                            "{} deletes failed in a row; stopped sending more (last: {error})",
                            self.failures_in_a_row
                        ),
                    ));
                }
                Ok(Step::Done)
            }
        }
    }

    /// Records what this reaper's own DELETE of `id` ended in.
    pub fn fill(
        &mut self,
        kind: Kind,
        id: &str,
        outcome: Outcome,
        http_status: Option<u16>,
        request_id: Option<String>,
        error: Option<String>,
    ) {
        fn fill<V>(
            entry: &mut Entry<V>,
            outcome: Outcome,
            http_status: Option<u16>,
            request_id: Option<String>,
            error: Option<String>,
        ) {
            entry.outcome = Some(outcome);
            entry.http_status = http_status;
            entry.request_id = request_id;
            entry.error = error;
        }
        match kind {
            Kind::App => {
                if let Some(entry) = self.entries.get_mut(id) {
                    fill(entry, outcome, http_status, request_id, error);
                }
            }
            Kind::Pipeline => {
                if let Some(entry) = self.pipeline_entry(id) {
                    fill(entry, outcome, http_status, request_id, error);
                }
            }
        }
    }

    /// The `kind`s whose DELETE got no answer.
    pub fn unknown(&self, kind: Kind) -> Vec<String> {
        match kind {
            Kind::App => self
                .entries
                .values()
                .filter(|e| e.outcome == Some(Outcome::Unknown))
                .map(|e| e.id.clone())
                .collect(),
            Kind::Pipeline => self
                .pipelines
                .iter()
                .flatten()
                .filter(|e| e.outcome == Some(Outcome::Unknown))
                .map(|e| e.id.clone())
                .collect(),
        }
    }

    /// The listing that was to settle `ids` failed too, for `why`: they stay unknown.
    pub fn check_failed(&mut self, kind: Kind, ids: &[String], why: &str) {
        for id in ids {
            if let Some((_, error)) = self.settled_parts(kind, id) {
                let first = error.take().unwrap_or_default();
                *error = Some(format!("{first}; the follow-up listing failed too: {why}"));
            }
        }
    }

    /// `id`, whose DELETE got no answer, is missing from a later listing: it went.
    pub fn gone_after_all(&mut self, kind: Kind, id: &str) {
        if let Some((outcome, error)) = self.settled_parts(kind, id) {
            *outcome = Some(Outcome::DeletedResponseLost);
            *error = None;
        }
    }

    fn settled_parts(
        &mut self,
        kind: Kind,
        id: &str,
    ) -> Option<(&mut Option<Outcome>, &mut Option<String>)> {
        match kind {
            Kind::App => self
                .entries
                .get_mut(id)
                .map(|e| (&mut e.outcome, &mut e.error)),
            Kind::Pipeline => self
                .pipeline_entry(id)
                .map(|e| (&mut e.outcome, &mut e.error)),
        }
    }

    /// With `--on-conflict stop-if-under-limit`: a conflict means another reaper is at
    /// work, so stop once under the limit.
    pub fn stop_if_under_limit(&self) -> Result<(), Stop> {
        let Some(limit) = self.rules.app_limit else {
            return Ok(());
        };
        let present = self.remaining_matching();
        if self.rules.on_conflict == OnConflict::StopIfUnderLimit && present < limit.limit {
            return Err(Stop::Status(
                Status::UnderLimit,
                format!(
                    "another reaper is deleting nearby and {present} matching apps are under the limit of {}; stopping",
                    limit.limit
                ),
            ));
        }
        Ok(())
    }

    /// With `--app-limit`, after a round: how long to wait for room (and a line that
    /// says so), or why the rounds end. `heroku_now` is Heroku's time, `now` the local
    /// monotonic one; the room comes when the oldest young app passes the TTL.
    pub fn room(
        &self,
        limit: AppLimit,
        decisions: &[Decision],
        heroku_now: DateTime<Utc>,
        now: Instant,
    ) -> Result<(Duration, String), Stop> {
        let present = self.remaining_matching();
        if present < limit.limit {
            return Err(Stop::Status(Status::Done, String::new()));
        }
        let Some(ttl) = self.rules.ttl else {
            return Err(limit_held(
                present,
                limit.limit,
                "every matching app that may be deleted is gone",
            ));
        };
        let oldest_young = decisions
            .iter()
            .filter(|d| d.verdict == Verdict::TooYoung && self.listed.contains(&d.app.id))
            .min_by_key(|d| d.app.created_at);
        let Some(oldest) = oldest_young else {
            return Err(limit_held(
                present,
                limit.limit,
                "the rest are kept, team or other owners' apps",
            ));
        };
        // A second past the TTL, so the next plan counts it as older than the TTL.
        let wait =
            ttl.saturating_sub(plan::age_of(&oldest.app, heroku_now)) + Duration::from_secs(1);
        if self.room_until.is_some_and(|until| now + wait > until) {
            return Err(limit_held(
                present,
                limit.limit,
                &format!(
                    "the oldest, `{}`, passes the TTL in {}, after `--wait-for-room` runs out",
                    oldest.app.name,
                    duration::format(wait)
                ),
            ));
        }
        let note = format!(
            "{present} matching apps, limit {}: waiting {} for `{}` to pass the TTL",
            limit.limit,
            duration::format(wait),
            oldest.app.name
        );
        Ok((wait, note))
    }

    /// The account's (or team's) matching apps in the latest listing that are not
    /// known to be gone since.
    pub fn remaining_matching(&self) -> usize {
        self.entries
            .values()
            .filter(|e| {
                matches!(
                    e.verdict,
                    Verdict::Delete | Verdict::Keep | Verdict::TooYoung
                )
            })
            .filter(|e| self.listed.contains(&e.id) && !e.outcome.is_some_and(Outcome::gone))
            .count()
    }

    /// Closes the books into `report`: how the run `ended` (or the `signal` that ended
    /// it, whose DELETEs in flight had `grace`), the status and what was not attempted.
    pub fn close(
        mut self,
        ended: Result<(), Stop>,
        signal: Option<Interrupt>,
        grace: Duration,
        mut report: Report,
    ) -> Report {
        let ended = match signal {
            Some(signal) => Err(Stop::Interrupted(signal)),
            None => ended,
        };
        let (status, message) = match ended {
            Ok(()) => (Status::Done, None),
            Err(Stop::Status(status, message)) => {
                (status, (!message.is_empty()).then_some(message))
            }
            Err(Stop::Api(error)) if error.is_unauthorized() => (
                Status::Unauthorized,
                Some(format!("the API rejected the key: {error}")),
            ),
            Err(Stop::Api(error @ ApiError::Reserve { .. })) => {
                (Status::ReserveReached, Some(error.to_string()))
            }
            Err(Stop::Api(error)) => (Status::Failed, Some(error.to_string())),
            Err(Stop::Interrupted(signal)) => (
                Status::Interrupted,
                Some(format!(
                    "interrupted by {}: no DELETE was sent after it; those in flight had {} to answer",
                    signal.name(),
                    duration::format(grace)
                )),
            ),
        };
        for entry in self.entries.values_mut() {
            if entry.verdict == Verdict::Delete && entry.outcome.is_none() {
                entry.outcome = Some(Outcome::NotAttempted);
            }
        }
        let remaining = self.remaining_matching();
        report.apps = self.entries.into_values().collect();
        report.pipelines = self.pipelines;
        report
            .apps
            .sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
        report.counts.remaining = remaining;
        report.tally();
        report.status = match status {
            Status::Done if report.failures() > 0 => Status::Failed,
            status => status,
        };
        report.message = message;
        report.signal = signal;
        report
    }
}

fn limit_held(present: usize, limit: usize, why: &str) -> Stop {
    Stop::Status(
        Status::LimitHeld,
        format!("{present} matching apps remain, at or over `--app-limit {limit}`: {why}"),
    )
}
