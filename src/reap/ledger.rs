//! The run's ledger: what was decided and done about each app and pipeline, and the rules
//! that follow from it: the cap, the failure streak, room under the limit, the status.
//! It is synchronous and told the time, so its rules are tested without waiting; the
//! async engine sends the requests and feeds the answers in. What it finds it returns as
//! facts (`facts`); `report::words` words them.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::cancel::Interrupt;
use super::facts::{Ended, Halt, Note, PipelinesOverCap, Stop, Waiting, WhyHeld};
use super::options::{AppLimit, Options};
use super::pipeline_plan::{self, CoupledApp, PipelineDecision, PipelineVerdict};
use super::plan::{self, Age, Decision, OnConflict, Verdict};
use super::record::{AppEntry, Entry, Kind, Message, Outcome, PipelineEntry, Report, Status};
use super::walk::Answer;
use crate::heroku::{ApiError, Coupling, Deletion};

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

/// What one of this reaper's DELETEs ended in, for its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Settled {
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub request_id: Option<String>,
    pub error: Option<String>,
}

impl Settled {
    /// Answered with `status`.
    pub fn answered(outcome: Outcome, status: u16, request_id: Option<String>) -> Settled {
        Settled {
            outcome,
            http_status: Some(status),
            request_id,
            error: None,
        }
    }

    /// Failed with `error`, said as `message`.
    pub fn failed(outcome: Outcome, error: &ApiError, message: String) -> Settled {
        Settled {
            outcome,
            http_status: error.status(),
            request_id: error.request_id().map(str::to_string),
            error: Some(message),
        }
    }

    /// No answer came, for the reason `why`: it may or may not have been carried out.
    pub fn unanswered(why: &str) -> Settled {
        Settled {
            outcome: Outcome::Unknown,
            http_status: None,
            request_id: None,
            error: Some(why.to_string()),
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
    deletes_sent: usize,
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

    /// After a listing between deletes: what went missing was deleted by others, except
    /// what this reaper's own DELETEs in flight may have deleted.
    pub fn gone_by_others(&mut self, in_flight: &HashSet<String>) {
        let listed = &self.listed;
        for entry in self.entries.values_mut() {
            if entry.verdict == Verdict::Delete
                && entry.outcome.is_none()
                && !listed.contains(&entry.id)
                && !in_flight.contains(&entry.id)
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

    /// Adds the pipelines a plan `decisions` about, settled by the `couplings` read of
    /// the stale ones: one whose couplings could not be read is kept. A key rejected on
    /// the way stops the run.
    pub fn add_pipelines(
        &mut self,
        mut decisions: Vec<PipelineDecision>,
        couplings: Vec<(String, Result<Vec<Coupling>, ApiError>)>,
    ) -> Result<(), Stop> {
        let mut unread = Vec::new();
        for (id, answer) in couplings {
            let Some(decision) = decisions.iter_mut().find(|d| d.pipeline.id == id) else {
                continue;
            };
            match answer {
                Ok(couplings) => {
                    let apps: Vec<CoupledApp> = couplings
                        .iter()
                        .map(|coupling| self.coupled_app(&coupling.app.id))
                        .collect();
                    pipeline_plan::settle(decision, &apps);
                }
                Err(error) => unread.push((id, error)),
            }
        }
        let entries = self.pipelines.get_or_insert_with(Vec::new);
        entries.extend(decisions.iter().map(PipelineEntry::from_decision));
        let mut rejected = None;
        for (id, error) in unread {
            let Some(entry) = entries.iter_mut().find(|e| e.id == id) else {
                continue;
            };
            // Gone between the listing and now: another reaper, or Heroku itself.
            if error.status() == Some(404) {
                entry.outcome = Some(Outcome::DeletedByAnother);
                continue;
            }
            let message = format!("couplings unread, so kept: {error}");
            fill(entry, Settled::failed(Outcome::Failed, &error, message));
            if error.is_unauthorized() {
                rejected.get_or_insert(error);
            }
        }
        rejected.map_or(Ok(()), |error| Err(Stop::Api(error)))
    }

    /// An app coupled to a pipeline, as this run saw it: going when this run deletes
    /// it (or, in a dry run, would).
    fn coupled_app(&self, app_id: &str) -> CoupledApp {
        match self.entries.get(app_id) {
            Some(entry) => CoupledApp {
                name: entry.name.clone(),
                going: entry.verdict == Verdict::Delete
                    && entry
                        .outcome
                        .is_some_and(|outcome| outcome == Outcome::Planned || outcome.gone()),
            },
            None => CoupledApp {
                name: app_id.to_string(),
                going: false,
            },
        }
    }

    /// `--max-deletes` before a round of `stale` deletes: a first plan over the cap is
    /// refused, a later round that would pass it stops the run. A dry run only notes it.
    pub fn check_cap(&self, stale: usize, first: bool) -> Result<Option<Note>, Halt> {
        let Some(cap) = self.rules.max_deletes else {
            return Ok(None);
        };
        if first && stale > cap && self.rules.dry_run {
            return Ok(Some(Note::WouldRefuse { stale, cap }));
        }
        if first && stale > cap {
            return Err(Halt::Refused { stale, cap });
        }
        if !first && self.deletes_sent + stale > cap {
            return Err(Halt::PastCap { more: stale, cap });
        }
        Ok(None)
    }

    /// `--max-deletes` before `pipelines` deletes: apps and pipelines count together. A
    /// real run over it marks the pipelines not attempted and stops; a dry run notes it.
    pub fn check_pipeline_cap(
        &mut self,
        pipelines: usize,
        dry_run: bool,
    ) -> Result<Option<Note>, Halt> {
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
        let over = PipelinesOverCap {
            apps,
            pipelines,
            cap,
        };
        if dry_run {
            return Ok(Some(Note::WouldStopBeforePipelines(over)));
        }
        self.set_pipeline_outcomes(&self.pipelines_to_delete(), Outcome::NotAttempted);
        Err(Halt::PipelinesPastCap(over))
    }

    /// A DELETE is about to be sent.
    pub fn sent(&mut self) {
        self.deletes_sent += 1;
    }

    /// Records the answer to one DELETE and says what it means for the walk; an error
    /// means: send no more.
    pub fn answer(
        &mut self,
        kind: Kind,
        id: &str,
        result: Result<Deletion, ApiError>,
    ) -> Result<Answer, Stop> {
        let (settled, answer) = match result {
            Ok(Deletion::Deleted { request_id }) => {
                let deleted = Settled::answered(Outcome::Deleted, 200, request_id);
                (deleted, Answer::Deleted)
            }
            Ok(Deletion::GoneAfterLostResponse { status, request_id }) => {
                let outcome = Outcome::DeletedResponseLost;
                (
                    Settled::answered(outcome, status, request_id),
                    Answer::Deleted,
                )
            }
            Ok(Deletion::AlreadyGone { status, request_id }) => {
                let outcome = Outcome::Conflict;
                (
                    Settled::answered(outcome, status, request_id),
                    Answer::Conflict,
                )
            }
            // Not sent: it is left for a run with budget to spare.
            Err(error @ ApiError::Reserve { .. }) => return Err(Stop::Api(error)),
            // Not sent: a signal came first, so it stays not attempted.
            Err(ApiError::Interrupted { .. }) => return Ok(Answer::Failed),
            Err(error) => return self.failed(kind, id, error),
        };
        if answer == Answer::Deleted {
            self.failures_in_a_row = 0;
        }
        self.fill(kind, id, settled);
        Ok(answer)
    }

    /// A DELETE that failed: recorded, and a rejected key or a streak of failures stops
    /// the run.
    fn failed(&mut self, kind: Kind, id: &str, error: ApiError) -> Result<Answer, Stop> {
        let outcome = Outcome::of_failure(&error);
        self.fill(
            kind,
            id,
            Settled::failed(outcome, &error, error.to_string()),
        );
        if error.is_unauthorized() {
            return Err(Stop::Api(error));
        }
        self.failures_in_a_row += 1;
        if self.failures_in_a_row >= FAILURES_BEFORE_GIVING_UP {
            return Err(Stop::Halted(Halt::FailuresInARow {
                failures: self.failures_in_a_row,
                last: error.to_string(),
            }));
        }
        Ok(Answer::Failed)
    }

    /// Records what this reaper's own DELETE of `id` ended in.
    pub fn fill(&mut self, kind: Kind, id: &str, settled: Settled) {
        match kind {
            Kind::App => {
                if let Some(entry) = self.entries.get_mut(id) {
                    fill(entry, settled);
                }
            }
            Kind::Pipeline => {
                if let Some(entry) = self.pipeline_entry(id) {
                    fill(entry, settled);
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
    pub fn stop_if_under_limit(&self) -> Result<(), Halt> {
        let Some(limit) = self.rules.app_limit else {
            return Ok(());
        };
        let present = self.remaining_matching();
        if self.rules.on_conflict == OnConflict::StopIfUnderLimit && present < limit.limit {
            return Err(Halt::UnderLimit {
                present,
                limit: limit.limit,
            });
        }
        Ok(())
    }

    /// With `--app-limit`, after a round: `None` when there is room (the rounds are
    /// done), else how long to wait for it, or why it will not come. `heroku_now` is
    /// Heroku's time, `now` the local monotonic one; the room comes when the oldest
    /// young app passes the TTL.
    pub fn room(
        &self,
        limit: AppLimit,
        decisions: &[Decision],
        heroku_now: DateTime<Utc>,
        now: Instant,
    ) -> Result<Option<Waiting>, Halt> {
        let present = self.remaining_matching();
        if present < limit.limit {
            return Ok(None);
        }
        let held = |why| Halt::LimitHeld {
            present,
            limit: limit.limit,
            why,
        };
        let ttl = self.rules.ttl.ok_or_else(|| held(WhyHeld::NothingAges))?;
        let oldest = decisions
            .iter()
            .filter(|d| d.verdict == Verdict::TooYoung && self.listed.contains(&d.app.id))
            .min_by_key(|d| d.app.created_at)
            .ok_or_else(|| held(WhyHeld::RestKept))?;
        // A second past the TTL, so the next plan counts it as older than the TTL.
        let wait =
            ttl.saturating_sub(plan::age_of(&oldest.app, heroku_now)) + Duration::from_secs(1);
        let oldest = oldest.app.name.clone();
        if self.room_until.is_some_and(|until| now + wait > until) {
            return Err(held(WhyHeld::WaitTooLong { oldest, wait }));
        }
        Ok(Some(Waiting {
            present,
            limit: limit.limit,
            wait,
            oldest,
        }))
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
        ended: Result<Ended, Stop>,
        signal: Option<Interrupt>,
        grace: Duration,
        mut report: Report,
    ) -> Report {
        let ended = match signal {
            Some(signal) => Err(Stop::Interrupted(signal)),
            None => ended,
        };
        let (status, message) = status_and_message(ended, grace);
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
        report.signal = signal.filter(|signal| signal.is_signal());
        report
    }
}

fn fill<V>(entry: &mut Entry<V>, settled: Settled) {
    entry.outcome = Some(settled.outcome);
    entry.http_status = settled.http_status;
    entry.request_id = settled.request_id;
    entry.error = settled.error;
}

/// The status and the message of a run that `ended` so; after a signal, the DELETEs in
/// flight had `grace`.
fn status_and_message(ended: Result<Ended, Stop>, grace: Duration) -> (Status, Option<Message>) {
    match ended {
        Ok(Ended::Done) => (Status::Done, None),
        Ok(Ended::DryRun) => (Status::DryRun, None),
        Err(Stop::Halted(halt)) => (halt_status(&halt), Some(Message::Halted(halt))),
        Err(Stop::Api(error)) if error.is_unauthorized() => (
            Status::Unauthorized,
            Some(Message::KeyRejected(error.to_string())),
        ),
        Err(Stop::Api(error @ ApiError::Reserve { .. })) => (
            Status::ReserveReached,
            Some(Message::Api(error.to_string())),
        ),
        Err(Stop::Api(error)) => (Status::Failed, Some(Message::Api(error.to_string()))),
        Err(Stop::Interrupted(signal)) => (
            match signal {
                Interrupt::Deadline => Status::DeadlineReached,
                _ => Status::Interrupted,
            },
            Some(Message::Interrupted { signal, grace }),
        ),
    }
}

fn halt_status(halt: &Halt) -> Status {
    match halt {
        Halt::Refused { .. } => Status::Refused,
        Halt::PastCap { .. } | Halt::PipelinesPastCap(_) | Halt::FailuresInARow { .. } => {
            Status::Failed
        }
        Halt::UnderLimit { .. } => Status::UnderLimit,
        Halt::LimitHeld { .. } => Status::LimitHeld,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heroku::{App, Pipeline, Reference, RequestLine};
    use crate::reap::record::Counts;

    const TTL: Duration = Duration::from_secs(600);

    fn rules() -> Rules {
        Rules {
            dry_run: false,
            max_deletes: None,
            app_limit: None,
            on_conflict: OnConflict::RefreshApiAndContinue,
            ttl: Some(TTL),
        }
    }

    /// `--app-limit LIMIT --wait-for-room WAIT`, and the rules with it.
    fn limited_to(limit: usize, wait_for_room: Duration) -> (AppLimit, Rules) {
        let limit = AppLimit {
            limit,
            wait_for_room,
        };
        let limited = Rules {
            app_limit: Some(limit),
            ..rules()
        };
        (limit, limited)
    }

    fn now() -> DateTime<Utc> {
        "2026-11-27T12:00:00Z".parse().unwrap()
    }

    fn decision(name: &str, age: Duration, verdict: Verdict) -> Decision {
        Decision {
            app: App {
                id: format!("id-{name}"),
                name: name.to_string(),
                created_at: Some(now() - chrono::Duration::from_std(age).unwrap()),
                owner: None,
                team: None,
            },
            age,
            verdict,
            reason: String::new(),
        }
    }

    /// A ledger of `stale` apps to delete and `young` ones too young, all listed.
    fn ledger(
        rules: Rules,
        started: Instant,
        stale: usize,
        young: &[u64],
    ) -> (Ledger, Vec<Decision>) {
        let mut decisions: Vec<Decision> = (0..stale)
            .map(|i| decision(&format!("stale{i}"), TTL * 2, Verdict::Delete))
            .collect();
        for (i, secs) in young.iter().enumerate() {
            let age = Duration::from_secs(*secs);
            decisions.push(decision(&format!("young{i}"), age, Verdict::TooYoung));
        }
        let mut ledger = Ledger::new(rules, started);
        ledger.record(&decisions);
        ledger.listing(decisions.iter().map(|d| d.app.id.clone()).collect());
        (ledger, decisions)
    }

    fn failure(status: u16) -> ApiError {
        ApiError::Status {
            request: RequestLine {
                method: "DELETE",
                path: "/apps/x".into(),
            },
            status,
            id: "internal_server_error".into(),
            message: "no".into(),
            request_id: None,
        }
    }

    fn deleted() -> Result<Deletion, ApiError> {
        Ok(Deletion::Deleted { request_id: None })
    }

    fn outcome(ledger: &Ledger, id: &str) -> Option<Outcome> {
        ledger.entries[id].outcome
    }

    #[test]
    fn a_listing_while_deleting_credits_others_only_with_apps_not_in_flight() {
        let (mut ledger, _) = ledger(rules(), Instant::now(), 3, &[]);
        // stale0 is this reaper's DELETE in flight; stale1 another reaper's; both gone.
        ledger.listing(HashSet::from(["id-stale2".to_string()]));
        ledger.gone_by_others(&HashSet::from(["id-stale0".to_string()]));
        assert_eq!(outcome(&ledger, "id-stale0"), None);
        assert_eq!(
            outcome(&ledger, "id-stale1"),
            Some(Outcome::DeletedByAnother)
        );
        assert_eq!(outcome(&ledger, "id-stale2"), None);
        ledger.answer(Kind::App, "id-stale0", deleted()).unwrap();
        assert_eq!(outcome(&ledger, "id-stale0"), Some(Outcome::Deleted));
    }

    #[test]
    fn a_first_plan_over_the_cap_is_refused_and_a_dry_run_only_notes_it() {
        let capped = Rules {
            max_deletes: Some(2),
            ..rules()
        };
        let (ledger, _) = ledger(capped, Instant::now(), 3, &[]);
        assert_eq!(ledger.check_cap(2, true), Ok(None));
        assert_eq!(
            ledger.check_cap(3, true),
            Err(Halt::Refused { stale: 3, cap: 2 })
        );

        let dry = Rules {
            dry_run: true,
            ..capped
        };
        let (ledger, _) = self::ledger(dry, Instant::now(), 3, &[]);
        assert_eq!(
            ledger.check_cap(3, true),
            Ok(Some(Note::WouldRefuse { stale: 3, cap: 2 }))
        );
    }

    #[test]
    fn a_later_round_that_would_pass_the_cap_stops_the_run() {
        let capped = Rules {
            max_deletes: Some(3),
            ..rules()
        };
        let (mut ledger, _) = ledger(capped, Instant::now(), 3, &[]);
        ledger.sent();
        ledger.sent();
        assert_eq!(ledger.check_cap(1, false), Ok(None));
        assert_eq!(
            ledger.check_cap(2, false),
            Err(Halt::PastCap { more: 2, cap: 3 })
        );
    }

    #[test]
    fn apps_and_pipelines_count_together_against_the_cap() {
        let capped = Rules {
            max_deletes: Some(4),
            ..rules()
        };
        let (mut ledger, _) = ledger(capped, Instant::now(), 3, &[]);
        for _ in 0..3 {
            ledger.sent();
        }
        ledger.pipelines = Some(Vec::new());
        assert_eq!(ledger.check_pipeline_cap(1, false), Ok(None));
        let over = PipelinesOverCap {
            apps: 3,
            pipelines: 2,
            cap: 4,
        };
        assert_eq!(
            ledger.check_pipeline_cap(2, false),
            Err(Halt::PipelinesPastCap(over))
        );
        // A dry run counts the apps it planned, and only notes it.
        let (mut dry, _) = self::ledger(capped, Instant::now(), 3, &[]);
        for id in ["id-stale0", "id-stale1", "id-stale2"] {
            dry.set_outcome(id, Outcome::Planned);
        }
        assert_eq!(
            dry.check_pipeline_cap(2, true),
            Ok(Some(Note::WouldStopBeforePipelines(over)))
        );
    }

    #[test]
    fn three_failures_in_a_row_stop_and_a_success_between_resets_the_count() {
        let (mut ledger, _) = ledger(rules(), Instant::now(), 6, &[]);
        let app = Kind::App;
        assert!(ledger.answer(app, "id-stale0", Err(failure(500))).is_ok());
        assert!(ledger.answer(app, "id-stale1", Err(failure(500))).is_ok());
        assert!(ledger.answer(app, "id-stale2", deleted()).is_ok());
        assert!(ledger.answer(app, "id-stale3", Err(failure(500))).is_ok());
        assert!(ledger.answer(app, "id-stale4", Err(failure(500))).is_ok());
        let stop = ledger.answer(app, "id-stale5", Err(failure(500)));
        assert!(
            matches!(
                stop,
                Err(Stop::Halted(Halt::FailuresInARow { failures: 3, .. }))
            ),
            "{stop:?}"
        );
        assert_eq!(outcome(&ledger, "id-stale2"), Some(Outcome::Deleted));
        assert_eq!(outcome(&ledger, "id-stale5"), Some(Outcome::Failed));
        assert_eq!(ledger.entries["id-stale5"].http_status, Some(500));
    }

    #[test]
    fn a_rejected_key_stops_at_once_and_a_reserve_stop_records_nothing() {
        let (mut ledger, _) = ledger(rules(), Instant::now(), 2, &[]);
        let stop = ledger.answer(Kind::App, "id-stale0", Err(failure(401)));
        assert!(matches!(stop, Err(Stop::Api(ref e)) if e.is_unauthorized()));
        assert_eq!(outcome(&ledger, "id-stale0"), Some(Outcome::Failed));

        let reserve = ApiError::Reserve {
            request: RequestLine {
                method: "DELETE",
                path: "/apps/x".into(),
            },
            remaining: 10,
            reserve: 10,
        };
        let stop = ledger.answer(Kind::App, "id-stale1", Err(reserve));
        assert!(matches!(stop, Err(Stop::Api(ApiError::Reserve { .. }))));
        assert_eq!(outcome(&ledger, "id-stale1"), None);
    }

    #[test]
    fn a_conflict_is_recorded_and_said_to_the_batch() {
        let (mut ledger, _) = ledger(rules(), Instant::now(), 1, &[]);
        let gone = Ok(Deletion::AlreadyGone {
            status: 404,
            request_id: None,
        });
        assert!(matches!(
            ledger.answer(Kind::App, "id-stale0", gone),
            Ok(Answer::Conflict)
        ));
        assert_eq!(outcome(&ledger, "id-stale0"), Some(Outcome::Conflict));
        assert!(!ledger.still_to_delete(Kind::App, "id-stale0"));
    }

    #[test]
    fn under_the_limit_after_a_conflict_stops_only_with_that_strategy() {
        let (_, limited) = limited_to(3, Duration::from_secs(60));
        let (mut ledger, _) = ledger(limited, Instant::now(), 3, &[]);
        ledger.set_outcome("id-stale0", Outcome::Deleted);
        assert!(ledger.stop_if_under_limit().is_ok());
        let stopping = Rules {
            on_conflict: OnConflict::StopIfUnderLimit,
            ..limited
        };
        let (mut ledger, _) = self::ledger(stopping, Instant::now(), 3, &[]);
        assert!(ledger.stop_if_under_limit().is_ok(), "3 is not under 3");
        ledger.set_outcome("id-stale0", Outcome::Deleted);
        assert_eq!(
            ledger.stop_if_under_limit(),
            Err(Halt::UnderLimit {
                present: 2,
                limit: 3
            })
        );
    }

    #[test]
    fn room_waits_for_the_oldest_young_app_while_the_wait_fits() {
        let (limit, limited) = limited_to(2, Duration::from_secs(120));
        let started = Instant::now();
        // Two young apps, 500s and 100s old: the older passes the TTL in 100s.
        let (ledger, decisions) = ledger(limited, started, 0, &[500, 100]);
        let wait = Duration::from_secs(101);
        let waiting = Waiting {
            present: 2,
            limit: 2,
            wait,
            oldest: "young0".into(),
        };
        let room = ledger.room(limit, &decisions, now(), started);
        assert_eq!(room, Ok(Some(waiting)));
        // Later by the fake clock, the same wait no longer fits in `--wait-for-room`.
        let later = started + Duration::from_secs(30);
        let held = ledger.room(limit, &decisions, now(), later);
        let why = WhyHeld::WaitTooLong {
            oldest: "young0".into(),
            wait,
        };
        assert_eq!(held, Err(held_over(2, 2, why)));
    }

    #[test]
    fn room_ends_the_rounds_under_the_limit_or_with_nothing_to_wait_for() {
        let (limit, limited) = limited_to(2, Duration::from_secs(120));
        let started = Instant::now();
        let (ledger, decisions) = ledger(limited, started, 0, &[100]);
        assert_eq!(ledger.room(limit, &decisions, now(), started), Ok(None));
        // Over the limit with only stale apps, which the round failed to delete.
        let (ledger, decisions) = self::ledger(limited, started, 2, &[]);
        let held = ledger.room(limit, &decisions, now(), started);
        assert_eq!(held, Err(held_over(2, 2, WhyHeld::RestKept)));
        // With no TTL no app ever grows old enough.
        let any_age = Rules {
            ttl: None,
            ..limited
        };
        let (ledger, decisions) = self::ledger(any_age, started, 0, &[100, 100]);
        let held = ledger.room(limit, &decisions, now(), started);
        assert_eq!(held, Err(held_over(2, 2, WhyHeld::NothingAges)));
    }

    fn held_over(present: usize, limit: usize, why: WhyHeld) -> Halt {
        Halt::LimitHeld {
            present,
            limit,
            why,
        }
    }

    fn pipeline(name: &str) -> PipelineDecision {
        PipelineDecision {
            pipeline: Pipeline {
                id: format!("id-{name}"),
                name: name.to_string(),
                created_at: now(),
                owner: None,
            },
            age: TTL * 2,
            verdict: PipelineVerdict::Delete,
            reason: "older than 10m".into(),
            coupled_apps: Vec::new(),
        }
    }

    fn coupled_to(app: &str) -> Result<Vec<Coupling>, ApiError> {
        Ok(vec![Coupling {
            app: Reference { id: app.into() },
        }])
    }

    #[test]
    fn a_pipeline_goes_only_when_its_apps_go_and_unread_couplings_keep_it() {
        let (mut ledger, _) = ledger(rules(), Instant::now(), 2, &[100]);
        ledger.answer(Kind::App, "id-stale0", deleted()).unwrap();
        ledger
            .answer(Kind::App, "id-stale1", Err(failure(500)))
            .unwrap();
        let names = ["emptied", "stillcoupled", "young", "vanished", "unread"];
        let couplings = vec![
            ("id-emptied".to_string(), coupled_to("id-stale0")),
            ("id-stillcoupled".to_string(), coupled_to("id-stale1")),
            ("id-young".to_string(), coupled_to("id-young0")),
            ("id-vanished".to_string(), Err(failure(404))),
            ("id-unread".to_string(), Err(failure(500))),
        ];
        let added = ledger.add_pipelines(names.map(pipeline).to_vec(), couplings);
        assert!(added.is_ok(), "{added:?}");
        assert_eq!(ledger.pipelines_to_delete(), ["id-emptied"]);
        let entries = ledger.pipelines.as_ref().unwrap();
        let outcome = |id: &str| entries.iter().find(|e| e.id == id).unwrap().outcome;
        assert_eq!(outcome("id-vanished"), Some(Outcome::DeletedByAnother));
        assert_eq!(outcome("id-unread"), Some(Outcome::Failed));
        let unread = entries.iter().find(|e| e.id == "id-unread").unwrap();
        assert!(
            unread
                .error
                .as_ref()
                .unwrap()
                .starts_with("couplings unread, so kept")
        );
        let coupled = entries.iter().find(|e| e.id == "id-stillcoupled").unwrap();
        assert_eq!(coupled.verdict, PipelineVerdict::Coupled);
        assert_eq!(coupled.coupled_apps, ["stale1"]);
    }

    #[test]
    fn a_key_rejected_while_reading_couplings_stops_the_run() {
        let (mut ledger, _) = ledger(rules(), Instant::now(), 0, &[]);
        let couplings = vec![("id-rejected".to_string(), Err(failure(401)))];
        let added = ledger.add_pipelines(vec![pipeline("rejected")], couplings);
        assert!(matches!(added, Err(Stop::Api(ref e)) if e.is_unauthorized()));
        let entries = ledger.pipelines.as_ref().unwrap();
        assert_eq!(entries[0].outcome, Some(Outcome::Failed));
        assert_eq!(entries[0].http_status, Some(401));
    }

    fn report() -> Report {
        Report::new("rule".into(), "scope".into(), Some(TTL), false)
    }

    #[test]
    fn closing_marks_what_was_not_reached_and_a_failure_fails_the_run() {
        let (mut ledger, _) = ledger(rules(), Instant::now(), 3, &[100]);
        ledger.answer(Kind::App, "id-stale0", deleted()).unwrap();
        ledger
            .answer(Kind::App, "id-stale1", Err(failure(500)))
            .unwrap();
        let report = ledger.close(Ok(Ended::Done), None, Duration::ZERO, report());
        assert_eq!(report.status, Status::Failed);
        let counts: Counts = report.counts;
        assert_eq!(
            (counts.deleted, counts.failed, counts.not_attempted),
            (1, 1, 1)
        );
        assert_eq!(counts.remaining, 3, "the failed, the unreached, the young");
    }

    #[test]
    fn closing_after_a_signal_says_so_whatever_ended_the_rounds() {
        let (ledger, _) = ledger(rules(), Instant::now(), 2, &[]);
        let grace = Duration::from_secs(5);
        let report = ledger.close(Ok(Ended::Done), Some(Interrupt::Sigterm), grace, report());
        assert_eq!(report.status, Status::Interrupted);
        assert_eq!(report.signal, Some(Interrupt::Sigterm));
        assert_eq!(
            report.message,
            Some(Message::Interrupted {
                signal: Interrupt::Sigterm,
                grace
            })
        );
        assert_eq!(report.counts.not_attempted, 2);
    }
}
