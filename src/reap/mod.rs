//! The engine: list, plan, delete, and keep out of other reapers' way.
//!
//! Deciding is pure (`plan`, `walk`), and so is the run's bookkeeping (`ledger`), which
//! gives what it finds as facts (`facts`) for `report::words` to word; this module does
//! the I/O around them: it sends the requests and feeds the answers in.

pub mod cancel;
pub mod clock;
pub mod facts;
mod ledger;
mod options;
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
use tokio::task::{JoinError, JoinSet};

use crate::heroku::{ApiError, App, Client, Deletion, Listing};
use cancel::{Cancel, Interrupt};
use clock::Clock;
use facts::{Ended, Note, Stop};
use ledger::{Ledger, Rules, Settled, UNANSWERED_IN_GRACE};
pub use options::{AppLimit, Options};
use plan::{Age, Policy, Scope, Verdict};
use record::{AppEntry, Kind, Outcome, PipelineEntry, Report};
use walk::{Answer, Next, Pool, Walker};

/// Where the engine tells what it does, as it does it.
pub trait Events: Send + Sync {
    /// The first plan is made: this many deletes lie ahead.
    fn planned(&self, deletes: usize);
    /// An app was acted on (deleted, conflicted, failed).
    fn outcome(&self, entry: &AppEntry);
    /// A line of text worth showing: a warning.
    fn note(&self, text: &str);
    /// A fact worth a line (a wait for room, a cap a real run would pass), for the
    /// implementer to word (`report::words::note`).
    fn noted(&self, note: &Note);
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

/// Sends the DELETE of `id`, an app's or a pipeline's.
async fn delete(client: &Client, kind: Kind, id: &str) -> Result<Deletion, ApiError> {
    match kind {
        Kind::App => client.delete_app(id).await,
        Kind::Pipeline => client.delete_pipeline(id).await,
    }
}

/// A DELETE's task, joined: the id and its answer.
type Landed = Result<(String, Result<Deletion, ApiError>), JoinError>;

/// What a walk has out (its DELETEs and at most one listing), and what stops it.
#[derive(Default)]
struct Flight {
    deletes: JoinSet<(String, Result<Deletion, ApiError>)>,
    /// Ids in flight, so those still unanswered when the grace ends can be told.
    ids: HashSet<String>,
    /// A JoinSet, so that a listing in flight when the walk ends is aborted with it.
    listing: JoinSet<Result<Listing<App>, ApiError>>,
    /// The listing is only a look, whose failure changes nothing.
    look: bool,
    /// Why the walk stops once its DELETEs in flight have answered.
    stop: Option<Stop>,
    /// After a signal: when the DELETEs in flight stop being waited for.
    grace_ends: Option<Instant>,
}

impl Flight {
    /// Sending no more: something stopped the walk, or a signal came.
    fn stopping(&self) -> bool {
        self.stop.is_some() || self.grace_ends.is_some()
    }

    fn stopped(&mut self) -> Stop {
        self.stop
            .take()
            .unwrap_or(Stop::Interrupted(Interrupt::Sigint))
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
    async fn rounds(&mut self) -> Result<Ended, Stop> {
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
                self.events.noted(&note);
            }
            if first && !self.options.dry_run {
                self.events.planned(stale.len());
            }
            first = false;
            if self.options.dry_run {
                for id in &stale {
                    self.ledger.set_outcome(id, Outcome::Planned);
                }
                return Ok(Ended::DryRun);
            }
            self.delete_all(stale).await?;
            let Some(limit) = self.options.app_limit else {
                return Ok(Ended::Done);
            };
            let room = self
                .ledger
                .room(limit, &decisions, self.clock.now(), Instant::now())?;
            let Some(waiting) = room else {
                return Ok(Ended::Done);
            };
            let wait = waiting.wait;
            self.events.noted(&Note::WaitingForRoom(waiting));
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
            tokens_per_second: self.client.tokens_per_second(),
        }
    }

    /// Does what `walker` says: its DELETEs (of `kind`), its listings and its waits,
    /// telling it each answer, until it is done. Whatever stops the run, the answers to
    /// requests already sent are still recorded; after a signal those in flight have the
    /// grace to answer, and are `unknown` if they do not.
    async fn drive(&mut self, kind: Kind, walker: &mut Walker) -> Result<(), Stop> {
        let mut flight = Flight::default();
        loop {
            let mut wake = None;
            if !flight.stopping() {
                match self.send_what_walker_says(kind, walker, &mut flight) {
                    Next::Done => {
                        tracing::debug!(walk = walker.state(), "done");
                        return Ok(());
                    }
                    Next::List { look } => {
                        tracing::debug!(walk = walker.state(), look, "listing");
                        flight.look = look;
                        self.list_in_background(&mut flight.listing);
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
            if flight.deletes.is_empty() && flight.stopping() {
                return Err(flight.stopped());
            }
            let landed = match flight.grace_ends {
                None => self.next_answer(walker, &mut flight, wake).await,
                Some(ends) => self.next_answer_in_grace(kind, &mut flight, ends).await?,
            };
            let Some(joined) = landed else { continue };
            let (id, result) = joined.expect("delete tasks do not panic");
            flight.ids.remove(&id);
            if let Err(error) = self.answered(kind, walker, &id, result) {
                flight.stop.get_or_insert(error);
            }
        }
    }

    /// Waits for what comes first while walking, and gives a DELETE's answer back; a
    /// listing's answer is taken in, a signal starts the grace, `wake` ends the wait.
    async fn next_answer(
        &mut self,
        walker: &mut Walker,
        flight: &mut Flight,
        wake: Option<Instant>,
    ) -> Option<Landed> {
        tokio::select! {
            landed = flight.deletes.join_next(), if !flight.deletes.is_empty() => landed,
            Some(joined) = flight.listing.join_next(), if !flight.listing.is_empty() => {
                let answered = joined.expect("listing tasks do not panic");
                if let Err(error) = self.listed(walker, answered, &flight.ids) {
                    if flight.look {
                        tracing::debug!(%error, "a listing while deleting failed");
                    } else {
                        flight.stop.get_or_insert(Stop::Api(error));
                    }
                }
                None
            }
            signal = self.cancel.wait() => {
                flight.grace_ends = Some(Instant::now() + self.grace);
                flight.stop = Some(Stop::Interrupted(signal));
                None
            }
            () = sleep_until(wake), if wake.is_some() => None,
        }
    }

    /// After a signal: the next DELETE's answer, if it comes before the grace `ends`.
    /// Then those still unanswered are `unknown`, and the walk stops.
    async fn next_answer_in_grace(
        &mut self,
        kind: Kind,
        flight: &mut Flight,
        ends: Instant,
    ) -> Result<Option<Landed>, Stop> {
        match tokio::time::timeout_at(ends.into(), flight.deletes.join_next()).await {
            Ok(landed) => Ok(landed),
            Err(_) => {
                flight.deletes.abort_all();
                for id in flight.ids.drain() {
                    self.finish_entry(kind, &id, Settled::unanswered(UNANSWERED_IN_GRACE));
                }
                Err(flight.stopped())
            }
        }
    }

    /// Sends the DELETEs `walker` asks for, and returns what it asks next.
    fn send_what_walker_says(
        &mut self,
        kind: Kind,
        walker: &mut Walker,
        flight: &mut Flight,
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
            flight.ids.insert(id.clone());
            flight.deletes.spawn(async move {
                let result = delete(&client, kind, &id).await;
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
        let answer = self.ledger.answer(kind, id, result);
        if sent {
            self.announce(kind, id);
        }
        let seen = *answer.as_ref().unwrap_or(&Answer::Failed);
        walker.answered(id, seen, Instant::now(), self.client.delete_round_trip());
        if answer? == Answer::Conflict {
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
    fn finish_entry(&mut self, kind: Kind, id: &str, settled: Settled) {
        self.ledger.fill(kind, id, settled);
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
        let listed = match self.listed_ids(kind).await {
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
            let again = delete(&self.client, kind, &id);
            let Ok(result) = self.unless_interrupted(again).await else {
                return;
            };
            self.finish_entry(kind, &id, settled_again(result));
        }
    }

    /// The ids of the apps (in scope) or the pipelines listed now.
    async fn listed_ids(&mut self, kind: Kind) -> Result<HashSet<String>, Stop> {
        match kind {
            Kind::App => self.list().await.map(|_| self.ledger.listed.clone()),
            Kind::Pipeline => {
                let listing = self
                    .unless_interrupted(self.client.list_pipelines())
                    .await??;
                Ok(listing.items.into_iter().map(|p| p.id).collect())
            }
        }
    }

    /// Settles apps whose DELETE got no answer, then fills in the report.
    async fn finish(mut self, ended: Result<Ended, Stop>, started: Instant) -> Report {
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

/// What one more DELETE says of an app (or pipeline) whose first DELETE got no answer
/// and that was still listed after it.
fn settled_again(result: Result<Deletion, ApiError>) -> Settled {
    match result {
        Ok(Deletion::Deleted { request_id }) => {
            Settled::answered(Outcome::Deleted, 200, request_id)
        }
        // Its first DELETE, or someone's, took effect after the listing.
        Ok(
            Deletion::AlreadyGone { status, request_id }
            | Deletion::GoneAfterLostResponse { status, request_id },
        ) => Settled::answered(Outcome::DeletedResponseLost, status, request_id),
        // The first DELETE may still take effect, so "failed" would be a guess.
        Err(error) => {
            let message = format!(
                "still listed after a DELETE with no answer, and one more DELETE failed: {error}"
            );
            Settled::failed(Outcome::Unknown, &error, message)
        }
    }
}

/// Sleeps until `until`; never returns without one (the caller guards on it).
async fn sleep_until(until: Option<Instant>) {
    match until {
        Some(until) => tokio::time::sleep_until(until.into()).await,
        None => std::future::pending().await,
    }
}
