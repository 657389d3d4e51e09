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
use walk::{Help, OTHERS_AT_WORK, Walk, Window};

/// Conflict backoff before listing again: Hatchet's habit, starting small and doubling,
/// capped low because the listing already tells the reaper where to go next.
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_millis(3_200);
/// Waiting out other reapers' stretches: at most this long between listings.
const WAIT_CAP: Duration = Duration::from_millis(2_000);
/// How long a reaper that saw others spend waits before it looks again: about one
/// DELETE's round trip on Heroku, so the others' fronts move in between.
const LATE_LOOK: Duration = Duration::from_millis(300);
/// The pause after the probe, in probe round trips. A delete of another reaper that
/// started at the same moment lands before the listing unless it is three times slower
/// than ours: with Heroku's spread of latencies (±50%), never.
const PROBE_PAUSE: u32 = 2;

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
        delete_latency: BACKOFF_START,
        listed_at: started,
        others_spent_at_listing: 0.0,
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

/// The order a batch deletes in.
trait Queue {
    fn next_id(&mut self) -> Option<String>;
    /// Another reaper deleted `id` first: does the batch end there?
    fn conflict(&mut self, id: &str) -> bool;
    /// How many are still to be handed out, where a listing could still change the plan.
    fn ahead(&self) -> usize;
    /// A listing taken while deleting.
    fn observe(&mut self, present: &HashSet<&str>);
}

/// Apps: a walk, whose territory ends at a conflict or at an app a listing shows gone.
impl Queue for Walk {
    fn next_id(&mut self) -> Option<String> {
        self.next_app().map(str::to_string)
    }

    fn conflict(&mut self, id: &str) -> bool {
        Walk::conflict(self, id);
        true
    }

    fn ahead(&self) -> usize {
        Walk::ahead(self)
    }

    fn observe(&mut self, present: &HashSet<&str>) {
        Walk::observe(self, present);
    }
}

/// Pipelines: a plain list; no other reaper walks them in order, so a conflict on one
/// says nothing about the next, and no listing is taken while deleting them.
impl Queue for std::vec::IntoIter<String> {
    fn next_id(&mut self) -> Option<String> {
        self.next()
    }

    fn conflict(&mut self, _id: &str) -> bool {
        false
    }

    fn ahead(&self) -> usize {
        0
    }

    fn observe(&mut self, _present: &HashSet<&str>) {}
}

/// What one DELETE's answer means for the batch.
#[derive(Debug)]
enum Step {
    Done,
    Conflict,
}

/// How a batch of deletes ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The territory is done.
    Clear,
    /// Another reaper deleted one of its apps first; the territory ends there.
    Conflict,
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
    /// The probe's round trip: about how long another reaper's deletes take.
    delete_latency: Duration,
    /// When the latest listing was answered, and what others had spent by then.
    listed_at: Instant,
    others_spent_at_listing: f64,
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
        let (mut walk, verifier, ended) = if self.options.policy.shard.is_some() {
            // No other reaper touches this shard: no probe, no territories, no slow start.
            let mut walk = Walk::whole(stale);
            let mut window = Window::full(concurrency);
            let ended = self
                .delete_batch(Kind::App, &mut walk, &mut window, concurrency)
                .await?;
            (walk, false, ended)
        } else {
            let start = fastrand::usize(..stale.len());
            let mut walk = Walk::probe_first(stale, start);
            if self.others_at_work().await? {
                // A probe would likely land in a stretch another reaper is clearing.
                // See where they are instead, and leave them to it.
                self.relist(&mut walk).await?;
                if walk.others_seen() {
                    self.help(&mut walk, Ended::Clear, false, true).await?;
                    self.leave_to_others(&walk);
                    return Ok(());
                }
            }
            let mut window = Window::new(concurrency);
            // The probe: one delete, then a pause twice as long as it took, so that
            // reapers which started at the same moment have made their first deletes,
            // even slower ones, when we list again.
            let probe_started = Instant::now();
            let mut ended = self
                .delete_batch(Kind::App, &mut walk, &mut window, 1)
                .await?;
            // The round trip on the wire, not the wait for the rate limit before it: the
            // pause is for other reapers' probes to land.
            self.delete_latency = self
                .client
                .delete_round_trip()
                .unwrap_or_else(|| probe_started.elapsed());
            if walk.len() > 1 && ended == Ended::Clear {
                self.pause(self.delete_latency * PROBE_PAUSE).await?;
                self.relist(&mut walk).await?;
                ended = self
                    .delete_batch(Kind::App, &mut walk, &mut window, concurrency)
                    .await?;
            }
            let verifier = walk.holds_largest_territory();
            (walk, verifier, ended)
        };
        // A territory cut short by a conflict may leave a stretch nobody owns. The
        // reaper with the largest territory, likely the last to finish, also waits out
        // the others' stretches, and takes over one whose reaper died.
        if ended == Ended::Conflict || (verifier && walk.others_seen()) {
            self.help(&mut walk, ended, verifier, false).await?;
        }
        self.leave_to_others(&walk);
        Ok(())
    }

    /// Are other clients of the account deleting already? Their spending while this
    /// reaper asked for the rate limit and listed shows in the answers. If so, it waits
    /// a DELETE's round trip, so that a listing shows where they are.
    async fn others_at_work(&mut self) -> Result<bool, Stop> {
        if self.client.others_spent() < OTHERS_AT_WORK {
            return Ok(false);
        }
        self.pause(LATE_LOOK).await?;
        Ok(true)
    }

    fn leave_to_others(&mut self, walk: &Walk) {
        for id in walk.left_to_others() {
            if self.ledger.listed.contains(id) {
                self.ledger.set_outcome(id, Outcome::LeftToAnother);
            }
        }
    }

    /// Helps with what is left, from a fresh listing each time (`just_listed`: the first
    /// one is already in): deletes stretches nobody
    /// is working on, until only stretches other reapers are walking are left (the
    /// verifier waits those out too) or nothing is. Pauses before each listing after a
    /// conflict (Hatchet's habit, doubling) or while waiting, so that the other reapers'
    /// deletes land in between; while waiting, at least a delete's round trip, so that a
    /// stretch whose front did not move is one nobody works on, not a slow one. Each
    /// stretch taken starts with a window of one again: its reaper may be alive after all.
    async fn help(
        &mut self,
        walk: &mut Walk,
        ended: Ended,
        verifier: bool,
        just_listed: bool,
    ) -> Result<(), Stop> {
        let mut pauses_in_a_row = u32::from(ended == Ended::Conflict);
        // Listings in a row that showed only live stretches: while there are, the pause
        // is a wait for them, not a backoff after a conflict.
        let mut waits: u32 = 0;
        let mut listed = just_listed;
        loop {
            if pauses_in_a_row > 0 {
                let pause = if waits > 0 {
                    // Long enough for a live front to move (two round trips at first),
                    // then doubling: each listing costs a request, and a stretch whose
                    // reaper died is still taken within a couple of seconds.
                    (self.delete_latency * 2 * 2u32.pow(waits.saturating_sub(1).min(5)))
                        .min(WAIT_CAP)
                } else {
                    self.ledger.stop_if_under_limit()?;
                    (BACKOFF_START * 2u32.pow((pauses_in_a_row - 1).min(5))).min(BACKOFF_CAP)
                };
                self.pause(pause).await?;
            }
            if !listed {
                self.relist(walk).await?;
            }
            listed = false;
            match walk.help() {
                Help::Nothing => return Ok(()),
                Help::OnlyLive if !verifier => return Ok(()),
                Help::OnlyLive => {
                    pauses_in_a_row += 1;
                    waits += 1;
                }
                Help::Stretch => {
                    let concurrency = self.options.concurrency;
                    let mut window = Window::new(concurrency);
                    let ended = self
                        .delete_batch(Kind::App, walk, &mut window, concurrency)
                        .await?;
                    waits = 0;
                    pauses_in_a_row = match ended {
                        Ended::Clear => 0,
                        Ended::Conflict => pauses_in_a_row + 1,
                    };
                }
            }
        }
    }

    /// Deletes the queue's `kind` with up to `limit` requests in flight, as many as the
    /// window allows. A conflict may end the queue (an app's territory): what is in
    /// flight lands, and the caller decides what next. Whatever stops the batch, the
    /// answers to requests already sent are still recorded; after a signal those in
    /// flight have the grace to answer, and are `unknown` if they do not.
    async fn delete_batch(
        &mut self,
        kind: Kind,
        queue: &mut impl Queue,
        window: &mut Window,
        limit: usize,
    ) -> Result<Ended, Stop> {
        let mut in_flight: JoinSet<(String, Result<Deletion, ApiError>)> = JoinSet::new();
        // Ids in flight, so those still unanswered when the grace ends can be told.
        let mut flying: HashSet<String> = HashSet::new();
        // A listing taken while deleting, to see reapers that started since the last one.
        // At most one; a JoinSet, so that one still in flight when the batch ends is
        // aborted with it.
        let mut look: JoinSet<Result<Listing<App>, ApiError>> = JoinSet::new();
        let mut ended = Ended::Clear;
        let mut stop: Option<Stop> = None;
        let mut grace_ends: Option<Instant> = None;
        loop {
            let width = window.size().min(limit).max(1);
            while ended == Ended::Clear
                && stop.is_none()
                && grace_ends.is_none()
                && in_flight.len() < width
            {
                let Some(id) = queue.next_id() else {
                    break;
                };
                if !self.ledger.still_to_delete(kind, &id) {
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
            // A shard is this reaper's alone: nothing to look for.
            if look.is_empty()
                && self.options.policy.shard.is_none()
                && ended == Ended::Clear
                && stop.is_none()
                && walk::look_again(
                    self.listed_at.elapsed(),
                    self.delete_latency,
                    self.client.others_spent() - self.others_spent_at_listing,
                    queue.ahead(),
                    window.size(),
                    self.client.rate_limit_remaining(),
                )
            {
                self.list_in_background(&mut look);
            }
            let landed = match grace_ends {
                None => tokio::select! {
                    landed = in_flight.join_next() => landed,
                    Some(listing) = look.join_next(), if !look.is_empty() => {
                        match listing.expect("listing tasks do not panic") {
                            Ok(listing) => {
                                self.take_listing(listing);
                                self.observed(queue, &flying);
                            }
                            // Only a look: the walk goes on as it was.
                            Err(error) => tracing::debug!(%error, "a listing while deleting failed"),
                        }
                        continue;
                    }
                    signal = self.cancel.wait() => {
                        grace_ends = Some(Instant::now() + self.grace);
                        stop = Some(Stop::Interrupted(signal));
                        continue;
                    }
                },
                Some(ends) => {
                    match tokio::time::timeout_at(ends.into(), in_flight.join_next()).await {
                        Ok(landed) => landed,
                        Err(_) => {
                            in_flight.abort_all();
                            for id in flying.drain() {
                                self.finish_entry(
                                    kind,
                                    &id,
                                    Outcome::Unknown,
                                    None,
                                    None,
                                    Some(UNANSWERED_IN_GRACE.to_string()),
                                );
                            }
                            return Err(stop.unwrap_or(Stop::Interrupted(Interrupt::Sigint)));
                        }
                    }
                }
            };
            let Some(joined) = landed else {
                return match stop {
                    Some(stop) => Err(stop),
                    None => Ok(ended),
                };
            };
            let (id, result) = joined.expect("delete tasks do not panic");
            flying.remove(&id);
            // A DELETE that was never sent has nothing to tell.
            let sent = !result.as_ref().is_err_and(ApiError::never_sent);
            let step = self.ledger.answer(kind, &id, result);
            if sent {
                self.announce(kind, &id);
            }
            match step {
                Ok(Step::Done) => window.grow(),
                Ok(Step::Conflict) => {
                    if queue.conflict(&id) {
                        // One wave of conflicts shrinks the window once.
                        if ended == Ended::Clear {
                            window.shrink();
                        }
                        ended = Ended::Conflict;
                    }
                }
                Err(error) => {
                    stop.get_or_insert(error);
                }
            }
        }
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
        self.others_spent_at_listing = self.client.others_spent();
        listing.items
    }

    /// Lists again: the walk learns what others deleted, the report too.
    async fn relist(&mut self, walk: &mut Walk) -> Result<(), Stop> {
        self.list().await?;
        self.observed(walk, &HashSet::new());
        Ok(())
    }

    /// After a listing: the queue learns what others deleted, the report too (apps of
    /// this reaper's DELETEs in flight may be gone by its own hand).
    fn observed(&mut self, queue: &mut impl Queue, in_flight: &HashSet<String>) {
        let present: HashSet<&str> = self.ledger.listed.iter().map(String::as_str).collect();
        queue.observe(&present);
        self.ledger.gone_by_others(in_flight);
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
