//! The engine: list, plan, delete, and keep out of other reapers' way.
//!
//! Deciding is pure (`plan`, `walk`), and so is the run's bookkeeping (`ledger`); this
//! module does the I/O around them: it sends the requests and feeds the answers in.

pub mod cancel;
pub mod clock;
mod ledger;
pub mod pipeline_plan;
mod pipelines;
pub mod plan;
pub mod record;
pub mod walk;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::task::JoinSet;

use crate::heroku::{ApiError, App, Client, Deletion, Listing};
use cancel::{Cancel, Interrupt};
use clock::Clock;
use ledger::{Ledger, Rules, UNANSWERED_IN_GRACE};
use plan::{Age, OnConflict, Policy, Scope, Verdict};
use record::{AppEntry, Outcome, PipelineEntry, Report, Status};
use walk::{Answer, Next, Pool, Walker};

#[derive(Debug, Clone)]
pub struct Options {
    pub policy: Policy,
    pub app_limit: Option<AppLimit>,
    pub on_conflict: OnConflict,
    pub dry_run: bool,
    /// `None`: no cap.
    pub max_deletes: Option<usize>,
    pub concurrency: usize,
    /// `--pipelines`: also reap orphaned pipelines, after the apps.
    pub pipelines: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct AppLimit {
    pub limit: usize,
    pub wait_for_room: Duration,
}

/// Where the engine tells what it does, as it does it.
pub trait Events: Send + Sync {
    /// The first plan is made: this many deletes lie ahead.
    fn planned(&self, deletes: usize);
    /// An app was acted on (deleted, conflicted, failed).
    fn outcome(&self, entry: &AppEntry);
    /// Something worth a line: waiting, stopping, taking over.
    fn note(&self, text: &str);
    /// A pipeline was acted on.
    fn pipeline_outcome(&self, entry: &PipelineEntry);
}

/// Runs one cleanup and reports it. Errors end up in the report, never as a panic.
pub async fn reap(client: Arc<Client>, options: &Options, events: &dyn Events) -> Report {
    reap_until(client, options, events, Cancel::default(), Duration::ZERO).await
}

/// As [`reap`], until `cancel` is interrupted: then no new DELETE is sent, the ones in
/// flight have `grace` to answer, and the report says which were confirmed.
pub async fn reap_until(
    client: Arc<Client>,
    options: &Options,
    events: &dyn Events,
    cancel: Cancel,
    grace: Duration,
) -> Report {
    let started = Instant::now();
    let ttl = match options.policy.age {
        Age::OlderThan(ttl) => Some(ttl),
        Age::Any => None,
    };
    let scope = match &options.policy.scope {
        Scope::Account => "the account's own apps".to_string(),
        Scope::Team(team) => format!("team `{team}`"),
    };
    let mut run = Run {
        client,
        options,
        events,
        report: Report::new(
            options.policy.matcher.describe(),
            scope,
            ttl,
            options.dry_run,
        ),
        ledger: Ledger::new(Rules::of(options), started),
        account: None,
        clock: Clock::default(),
        listed_at: started,
        cancel,
        grace,
    };
    let ended = run.rounds().await;
    let ended = run.pipelines(ended).await;
    run.finish(ended, started).await
}

/// What a DELETE goes to. Apps and pipelines share one delete loop, and with it every
/// guarantee: the cap's count, the failure streak, the reserve, the grace after a signal,
/// the check of a DELETE with no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    App,
    Pipeline,
}

impl Kind {
    async fn delete(self, client: &Client, id: &str) -> Result<Deletion, ApiError> {
        match self {
            Kind::App => client.delete_app(id).await,
            Kind::Pipeline => client.delete_pipeline(id).await,
        }
    }
}

/// What one DELETE's answer means for the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Deleted,
    Conflict,
    /// Failed, or not sent: the app may still be there.
    Failed,
}

impl Step {
    fn answer(self) -> Answer {
        match self {
            Step::Deleted => Answer::Deleted,
            Step::Conflict => Answer::Conflict,
            Step::Failed => Answer::Failed,
        }
    }
}

/// Why the rounds stopped early.
#[derive(Debug)]
enum Stop {
    Status(Status, String),
    Api(ApiError),
    Interrupted(Interrupt),
}

impl From<ApiError> for Stop {
    fn from(error: ApiError) -> Stop {
        Stop::Api(error)
    }
}

struct Run<'a> {
    client: Arc<Client>,
    options: &'a Options,
    events: &'a dyn Events,
    report: Report,
    /// What was decided and done, and the rules that follow from it.
    ledger: Ledger,
    /// The account's id, from `GET /account`; in the account's scope, known before
    /// the first plan.
    account: Option<String>,
    /// Heroku's clock, from the listings' `Date` headers.
    clock: Clock,
    /// When the latest listing was answered.
    listed_at: Instant,
    cancel: Cancel,
    /// After an interrupt, how long the DELETEs in flight may take to answer.
    grace: Duration,
}

impl Run<'_> {
    async fn rounds(&mut self) -> Result<(), Stop> {
        self.check_rate_limit().await?;
        let mut first = true;
        loop {
            let apps = if first {
                self.first_list().await?
            } else {
                self.list().await?
            };
            let decisions = plan::plan(
                &apps,
                self.clock.now(),
                &self.policy(),
                self.account.as_deref(),
            );
            self.ledger.record(&decisions);
            let stale: Vec<String> = decisions
                .iter()
                .filter(|d| d.verdict == Verdict::Delete && self.ledger.untouched(&d.app.id))
                .map(|d| d.app.id.clone())
                .collect();
            if let Some(note) = self.ledger.check_cap(stale.len(), first)? {
                self.events.note(&note);
            }
            if first && !self.options.dry_run {
                self.events.planned(stale.len());
            }
            first = false;
            if self.options.dry_run {
                for id in &stale {
                    self.ledger.set_outcome(id, Outcome::Planned);
                }
                return Err(Stop::Status(Status::DryRun, String::new()));
            }
            self.delete_all(stale).await?;
            let Some(limit) = self.options.app_limit else {
                return Ok(());
            };
            let (wait, note) =
                self.ledger
                    .room(limit, &decisions, self.clock.now(), Instant::now())?;
            self.events.note(&note);
            self.pause(wait).await?;
        }
    }

    /// Asks how full the rate-limit pool is (a free request), so the throttle knows
    /// before the first counted one and a run that starts at the reserve sends nothing.
    async fn check_rate_limit(&mut self) -> Result<(), Stop> {
        match self.unless_interrupted(self.client.rate_limit()).await? {
            Ok(_) => Ok(()),
            Err(error) if error.is_unauthorized() => Err(Stop::Api(error)),
            // Not knowing only costs the throttle its head start.
            Err(error) => {
                tracing::warn!(%error, "cannot read the rate limit; going on without it");
                Ok(())
            }
        }
    }

    /// Deletes `stale` (ids from the latest listing), staying out of other reapers' way.
    async fn delete_all(&mut self, stale: Vec<String>) -> Result<(), Stop> {
        if stale.is_empty() {
            return Ok(());
        }
        let concurrency = self.options.concurrency;
        let seed = fastrand::u64(..);
        let mut walker = if self.options.policy.shard.is_some() {
            // No other reaper touches this shard: no probe, no looks, a full window.
            Walker::alone(stale, concurrency, seed)
        } else {
            let others = self.client.others_spent();
            Walker::new(stale, concurrency, self.listed_at, others, seed)
        };
        let ended = self.drive(Kind::App, &mut walker).await;
        // Only a walk that ended leaves apps to others; one that was stopped did not
        // reach them.
        if ended.is_ok() {
            for id in walker.left_to_others() {
                if self.ledger.listed.contains(id) {
                    self.ledger.set_outcome(id, Outcome::LeftToAnother);
                }
            }
        }
        ended
    }

    /// What the pool shows of the account's other clients.
    fn pool(&self) -> Pool {
        Pool {
            others_spent: self.client.others_spent(),
            remaining: self.client.rate_limit_remaining(),
        }
    }

    /// Does what `walker` says: its DELETEs (of `kind`), its listings and its waits,
    /// telling it each answer, until it is done. Whatever stops the run, the answers to
    /// requests already sent are still recorded; after a signal those in flight have the
    /// grace to answer, and are `unknown` if they do not.
    async fn drive(&mut self, kind: Kind, walker: &mut Walker) -> Result<(), Stop> {
        let mut in_flight: JoinSet<(String, Result<Deletion, ApiError>)> = JoinSet::new();
        // Ids in flight, so those still unanswered when the grace ends can be told.
        let mut flying: HashSet<String> = HashSet::new();
        // At most one listing; a JoinSet, so that one in flight when the walk ends is
        // aborted with it. `look`: only a look, whose failure changes nothing.
        let mut listing: JoinSet<Result<Listing<App>, ApiError>> = JoinSet::new();
        let mut look = false;
        let mut stop: Option<Stop> = None;
        let mut grace_ends: Option<Instant> = None;
        loop {
            let mut wake = None;
            if stop.is_none() && grace_ends.is_none() {
                match self.send_what_walker_says(kind, walker, &mut in_flight, &mut flying) {
                    Next::Done => {
                        tracing::debug!(walk = walker.state(), "done");
                        return Ok(());
                    }
                    Next::List { look: only_a_look } => {
                        tracing::debug!(walk = walker.state(), look = only_a_look, "listing");
                        look = only_a_look;
                        self.list_in_background(&mut listing);
                        continue;
                    }
                    Next::CheckPool => {
                        self.check_rate_limit().await?;
                        continue;
                    }
                    Next::Wait(until) => wake = until,
                    Next::Delete(_) => unreachable!("DELETEs are sent above"),
                }
            }
            if in_flight.is_empty() && (stop.is_some() || grace_ends.is_some()) {
                return Err(stop.unwrap_or(Stop::Interrupted(Interrupt::Sigint)));
            }
            let landed = match grace_ends {
                None => tokio::select! {
                    landed = in_flight.join_next(), if !in_flight.is_empty() => landed,
                    Some(joined) = listing.join_next(), if !listing.is_empty() => {
                        let answered = joined.expect("listing tasks do not panic");
                        if let Err(error) = self.listed(walker, answered, &flying) {
                            if look {
                                tracing::debug!(%error, "a listing while deleting failed");
                            } else {
                                stop.get_or_insert(Stop::Api(error));
                            }
                        }
                        continue;
                    }
                    signal = self.cancel.wait() => {
                        grace_ends = Some(Instant::now() + self.grace);
                        stop = Some(Stop::Interrupted(signal));
                        continue;
                    }
                    () = sleep_until(wake), if wake.is_some() => continue,
                },
                Some(ends) => match tokio::time::timeout_at(ends.into(), in_flight.join_next())
                    .await
                {
                    Ok(landed) => landed,
                    Err(_) => {
                        in_flight.abort_all();
                        for id in flying.drain() {
                            let unanswered = Some(UNANSWERED_IN_GRACE.to_string());
                            self.finish_entry(kind, &id, Outcome::Unknown, None, None, unanswered);
                        }
                        return Err(stop.unwrap_or(Stop::Interrupted(Interrupt::Sigint)));
                    }
                },
            };
            let Some(joined) = landed else { continue };
            let (id, result) = joined.expect("delete tasks do not panic");
            flying.remove(&id);
            if let Err(error) = self.answered(kind, walker, &id, result) {
                stop.get_or_insert(error);
            }
        }
    }

    /// Sends the DELETEs `walker` asks for, and returns what it asks next.
    fn send_what_walker_says(
        &mut self,
        kind: Kind,
        walker: &mut Walker,
        in_flight: &mut JoinSet<(String, Result<Deletion, ApiError>)>,
        flying: &mut HashSet<String>,
    ) -> Next {
        loop {
            let id = match walker.next(Instant::now(), self.pool()) {
                Next::Delete(id) => id,
                other => return other,
            };
            if !self.ledger.still_to_delete(kind, &id) {
                walker.skipped(&id);
                continue;
            }
            let client = Arc::clone(&self.client);
            self.ledger.sent();
            flying.insert(id.clone());
            in_flight.spawn(async move {
                let result = kind.delete(&client, &id).await;
                (id, result)
            });
        }
    }

    /// Records one DELETE's answer and tells the walker; an error means: send no more.
    fn answered(
        &mut self,
        kind: Kind,
        walker: &mut Walker,
        id: &str,
        result: Result<Deletion, ApiError>,
    ) -> Result<(), Stop> {
        // A DELETE that was never sent has nothing to tell.
        let sent = !result.as_ref().is_err_and(ApiError::never_sent);
        let step = self.ledger.answer(kind, id, result);
        if sent {
            self.announce(kind, id);
        }
        let answer = step.as_ref().map_or(Answer::Failed, |step| step.answer());
        walker.answered(id, answer, Instant::now(), self.client.delete_round_trip());
        if step? == Step::Conflict {
            // With `--on-conflict stop-if-under-limit`: someone else is cleaning.
            self.ledger.stop_if_under_limit()?;
        }
        Ok(())
    }

    /// A listing taken during the walk: the walker and the report learn what others
    /// deleted (apps of this reaper's DELETEs in flight may be gone by its own hand).
    fn listed(
        &mut self,
        walker: &mut Walker,
        answered: Result<Listing<App>, ApiError>,
        in_flight: &HashSet<String>,
    ) -> Result<(), ApiError> {
        let listing = match answered {
            Ok(listing) => listing,
            Err(error) => {
                walker.list_failed();
                return Err(error);
            }
        };
        self.take_listing(listing);
        let present: HashSet<&str> = self.ledger.listed.iter().map(String::as_str).collect();
        walker.listed(&present, self.listed_at);
        self.ledger.gone_by_others(in_flight);
        Ok(())
    }

    /// The first listing. In the account's scope `GET /account` goes alongside it, so
    /// the account is known before any DELETE at no cost in wall time; if it cannot be
    /// read, nothing is deleted.
    async fn first_list(&mut self) -> Result<Vec<App>, Stop> {
        if self.options.policy.scope != Scope::Account {
            return self.list().await;
        }
        let both = async { tokio::join!(self.client.list_apps(None), self.client.account()) };
        let (listing, account) = self.unless_interrupted(both).await?;
        self.account = Some(account?.id);
        Ok(self.take_listing(listing?))
    }

    /// The team whose apps are in scope, if any.
    fn team(&self) -> Option<&str> {
        match &self.options.policy.scope {
            Scope::Account => None,
            Scope::Team(team) => Some(team.as_str()),
        }
    }

    /// Lists the apps in scope.
    async fn list(&mut self) -> Result<Vec<App>, Stop> {
        let listing = self
            .unless_interrupted(self.client.list_apps(self.team()))
            .await??;
        Ok(self.take_listing(listing))
    }

    /// Lists the apps in scope while deletes go on.
    fn list_in_background(&self, into: &mut JoinSet<Result<Listing<App>, ApiError>>) {
        let client = Arc::clone(&self.client);
        let team = self.team().map(str::to_string);
        into.spawn(async move { client.list_apps(team.as_deref()).await });
    }

    /// Reads Heroku's clock off a listing and remembers which ids are there.
    fn take_listing(&mut self, listing: Listing<App>) -> Vec<App> {
        if let Some(skew) = self.clock.observe(listing.date.as_deref(), Utc::now()) {
            self.events.note(&format!("warning: {skew}"));
        }
        self.ledger
            .listing(listing.items.iter().map(|app| app.id.clone()).collect());
        self.listed_at = Instant::now();
        listing.items
    }

    /// The policy, by Heroku's clock as the listings showed it.
    fn policy(&self) -> Policy {
        self.options
            .policy
            .on_herokus_clock(|local| self.clock.at(local))
    }

    /// Sleeps, unless interrupted first.
    async fn pause(&self, pause: Duration) -> Result<(), Stop> {
        self.unless_interrupted(tokio::time::sleep(pause)).await
    }

    /// Waits for `work`, unless interrupted first.
    async fn unless_interrupted<T>(&self, work: impl Future<Output = T>) -> Result<T, Stop> {
        tokio::select! {
            biased;
            signal = self.cancel.wait() => Err(Stop::Interrupted(signal)),
            done = work => Ok(done),
        }
    }

    /// Records what this reaper's own DELETE ended in, and says so.
    fn finish_entry(
        &mut self,
        kind: Kind,
        id: &str,
        outcome: Outcome,
        http_status: Option<u16>,
        request_id: Option<String>,
        error: Option<String>,
    ) {
        self.ledger
            .fill(kind, id, outcome, http_status, request_id, error);
        self.announce(kind, id);
    }

    /// Says what this reaper's own DELETE of `id` ended in.
    fn announce(&self, kind: Kind, id: &str) {
        match kind {
            Kind::App => {
                if let Some(entry) = self.ledger.entries.get(id) {
                    self.events.outcome(entry);
                }
            }
            Kind::Pipeline => {
                let mut entries = self.ledger.pipelines.iter().flatten();
                if let Some(entry) = entries.find(|e| e.id == id) {
                    self.events.pipeline_outcome(entry);
                }
            }
        }
    }

    /// Apps or pipelines whose DELETE got no answer: a listing tells which are gone, and
    /// one more DELETE settles those still listed. One stays `unknown` only when that
    /// check fails too, and its error says so.
    async fn settle_unknown(&mut self, kind: Kind) {
        let unknown = self.ledger.unknown(kind);
        if unknown.is_empty() {
            return;
        }
        let listed = match kind {
            Kind::App => self.list().await.map(|_| self.ledger.listed.clone()),
            Kind::Pipeline => self
                .unless_interrupted(self.client.list_pipelines())
                .await
                .and_then(|listing| Ok(listing?.items.into_iter().map(|p| p.id).collect())),
        };
        let listed: HashSet<String> = match listed {
            Ok(listed) => listed,
            Err(stop) => {
                let why = match stop {
                    Stop::Api(error) => error.to_string(),
                    _ => "the run was interrupted".to_string(),
                };
                self.ledger.check_failed(kind, &unknown, &why);
                return;
            }
        };
        for id in unknown {
            if !listed.contains(&id) {
                self.ledger.gone_after_all(kind, &id);
                continue;
            }
            let Ok(result) = self
                .unless_interrupted(kind.delete(&self.client, &id))
                .await
            else {
                return;
            };
            match result {
                Ok(Deletion::Deleted { request_id }) => {
                    self.finish_entry(kind, &id, Outcome::Deleted, Some(200), request_id, None);
                }
                Ok(
                    Deletion::AlreadyGone { status, request_id }
                    | Deletion::GoneAfterLostResponse { status, request_id },
                ) => {
                    // Its first DELETE, or someone's, took effect after the listing.
                    let outcome = Outcome::DeletedResponseLost;
                    self.finish_entry(kind, &id, outcome, Some(status), request_id, None);
                }
                Err(error) => {
                    // The first DELETE may still take effect, so "failed" would be a guess.
                    let message = format!(
                        "still listed after a DELETE with no answer, and one more DELETE failed: {error}"
                    );
                    let request_id = error.request_id().map(str::to_string);
                    let outcome = Outcome::Unknown;
                    self.finish_entry(
                        kind,
                        &id,
                        outcome,
                        error.status(),
                        request_id,
                        Some(message),
                    );
                }
            }
        }
    }

    /// Settles apps whose DELETE got no answer, then fills in the report.
    async fn finish(mut self, ended: Result<(), Stop>, started: Instant) -> Report {
        // After an interrupt, exit promptly: what was not confirmed stays unknown.
        if self.cancel.interrupted().is_none() {
            self.settle_unknown(Kind::App).await;
            self.settle_unknown(Kind::Pipeline).await;
        }
        let mut report =
            self.ledger
                .close(ended, self.cancel.interrupted(), self.grace, self.report);
        report.requests = self.client.usage();
        report.rate_limit_remaining = self.client.rate_limit_remaining();
        report.elapsed_seconds = started.elapsed().as_secs_f64();
        report.clock = self.clock.report();
        report
    }
}

/// Sleeps until `until`; never returns without one (the caller guards on it).
async fn sleep_until(until: Option<Instant>) {
    match until {
        Some(until) => tokio::time::sleep_until(until.into()).await,
        None => std::future::pending().await,
    }
}
