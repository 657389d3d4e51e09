//! The wait for room: a look (the apps listed, a reaping when some went stale, the leases
//! read from GitHub) every `--room-poll`, until the run fits, the wait runs out, or the
//! run is stopped. What a look decides is `count`'s; this is the I/O around it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::count::{self, Room, Verdict};
use super::leases::Lease;
use super::read::{Leases, Read};
use super::record::{Outcome, RoomReport};
use super::settings::{IfNoRoom, Settings};
use crate::credentials::ApiKey;
use crate::duration;
use crate::github::Cutoff;
use crate::github::cutoff::clock;
use crate::heroku::{ApiError, App, Client};
use crate::reap::cancel::{Cancel, Interrupt};
use crate::reap::clock::Clock;
use crate::reap::plan::{self, Policy, Scope};
use crate::reap::record::{Message, Report, Status};
use crate::reap::{self, Events};

/// What the wait needs beside its settings: the reaping's client, rules and output.
pub struct Gate<'a> {
    pub settings: &'a Settings,
    pub client: Arc<Client>,
    pub token: Option<&'a ApiKey>,
    /// The reaping's options: the name rule, the scope, what is stale.
    pub engine: &'a reap::Options,
    pub events: &'a dyn Events,
    pub cancel: Cancel,
    pub grace: Duration,
}

/// One look's findings.
struct Look {
    room: Room,
    held_by: Vec<Lease>,
    github_warning: Option<String>,
    /// This run's own admission job succeeded already, at that time.
    already: Option<(String, DateTime<Utc>)>,
}

/// How the wait ended.
enum Ended {
    Admitted(String),
    TooLarge,
    NoRoom,
    Stopped {
        status: Status,
        message: Message,
        signal: Option<Interrupt>,
    },
}

/// What the looks carry from one to the next.
struct Watch<'a> {
    leases: Leases<'a>,
    /// The leases last read: they stand in when GitHub cannot be read.
    last_read: Option<Vec<Lease>>,
    /// `GET /account`'s id, in the account's scope.
    account: Option<String>,
    /// Heroku's clock, from the listings' `Date`.
    clock: Clock,
    looks: u32,
    last: Option<Look>,
}

impl Gate<'_> {
    /// Waits for room after the reaping, and says how it went; `report` gets what the
    /// reapings during the wait did and, when the run is not admitted, why.
    pub async fn admit(self, report: &mut Report) -> RoomReport {
        let started = Instant::now();
        let mut watch = Watch {
            leases: Leases::new(self.settings, self.token),
            last_read: None,
            account: None,
            clock: Clock::default(),
            looks: 0,
            last: None,
        };
        let ended = self
            .wait(&mut watch, report, started + self.settings.wait)
            .await;
        report.requests = self.client.usage();
        report.rate_limit_remaining = self.client.rate_limit_remaining();
        report.elapsed_seconds = (Utc::now() - report.started_at)
            .to_std()
            .unwrap_or_default()
            .as_secs_f64();
        self.record(ended, watch, started, report)
    }

    async fn wait(&self, watch: &mut Watch<'_>, report: &mut Report, ends: Instant) -> Ended {
        loop {
            let look = match self.look(watch, report).await {
                Ok(look) => look,
                Err(ended) => return ended,
            };
            if let Some(ended) = self.decide(&look, ends) {
                watch.last = Some(look);
                return ended;
            }
            self.events.note(&self.progress(&look, ends));
            watch.last = Some(look);
            let next = (Instant::now() + self.settings.poll).min(ends);
            if let Err(ended) = self
                .unless_interrupted(tokio::time::sleep_until(next.into()))
                .await
            {
                return ended;
            }
        }
    }

    fn decide(&self, look: &Look, ends: Instant) -> Option<Ended> {
        if let Some((job, since)) = &look.already {
            return Some(Ended::Admitted(format!(
                "this run's `{job}` job succeeded at {}: the run holds its room already",
                clock(*since, Utc::now())
            )));
        }
        let need = self.settings.reserve;
        match count::verdict(&look.room, need) {
            Verdict::TooLarge => Some(Ended::TooLarge),
            Verdict::Admit => Some(Ended::Admitted(format!(
                "{} apps free for the {need} this run reserves ({})",
                look.room.free,
                look.room.words()
            ))),
            Verdict::Wait if Instant::now() >= ends => Some(Ended::NoRoom),
            Verdict::Wait => None,
        }
    }

    /// Reads the leases, lists the apps (reaping the ones gone stale since, then listing
    /// again), and counts.
    async fn look(&self, watch: &mut Watch<'_>, report: &mut Report) -> Result<Look, Ended> {
        watch.looks += 1;
        let leased = self.leases(watch).await?;
        let policy = self.policy(leased.orphans);
        let mut apps = self.list(watch).await?;
        if self.any_stale(&apps, &policy, watch) {
            let options = reap::Options {
                policy: policy.clone(),
                app_limit: None,
                ..self.engine.clone()
            };
            let client = Arc::clone(&self.client);
            let cancel = self.cancel.clone();
            let pass = reap::reap_until(client, &options, self.events, cancel, self.grace).await;
            fold(report, pass)?;
            apps = self.list(watch).await?;
        }
        let census = count::census(
            &apps,
            &policy.matcher,
            &policy.scope,
            watch.account.as_deref(),
        );
        let previous = watch
            .last
            .as_ref()
            .and_then(|look| look.github_warning.as_ref());
        if let Some(warning) = leased.warning.as_ref().filter(|w| previous != Some(*w)) {
            self.events.note(&format!("warning: {warning}"));
        }
        Ok(Look {
            room: count::room(self.settings.account_limit, &census, &leased.held),
            held_by: leased.held,
            github_warning: leased.warning,
            already: leased.already,
        })
    }

    /// The reaping's policy; with `--github-live-runs`, its cutoff moved up to what the
    /// admissions tell: the leaks of a run that ended go as soon as no live run can own
    /// them, not a TTL later.
    fn policy(&self, orphans: Option<Cutoff>) -> Policy {
        let mut policy = self.engine.policy.clone();
        if let (Some(live), Some(orphans)) = (&policy.cutoff, orphans)
            && orphans.at > live.at
        {
            policy.cutoff = Some(orphans);
        }
        policy
    }

    /// The apps in scope, and in the account's scope who the account is (once).
    async fn list(&self, watch: &mut Watch<'_>) -> Result<Vec<App>, Ended> {
        let team = match &self.engine.policy.scope {
            Scope::Account => None,
            Scope::Team(team) => Some(team.as_str()),
        };
        let listing = self
            .unless_interrupted(self.client.list_apps(team))
            .await?
            .map_err(heroku_failed)?;
        if team.is_none() && watch.account.is_none() {
            let account = self.unless_interrupted(self.client.account()).await?;
            watch.account = Some(account.map_err(heroku_failed)?.id);
        }
        // A skew worth a warning was said by the reaping.
        let _ = watch.clock.observe(listing.date.as_deref(), Utc::now());
        Ok(listing.items)
    }

    /// Whether a matching app went stale since the reaping (a leak passing the TTL, or
    /// left by a run that ended).
    fn any_stale(&self, apps: &[App], policy: &Policy, watch: &Watch<'_>) -> bool {
        let policy = policy.on_herokus_clock(|at| watch.clock.at(at));
        plan::plan(apps, watch.clock.now(), &policy, watch.account.as_deref())
            .iter()
            .any(|decision| decision.verdict == plan::Verdict::Delete)
    }

    /// The leases, or what stands in for them when GitHub cannot be read (the leases read
    /// last, else none: the plain wait) and why.
    async fn leases(&self, watch: &mut Watch<'_>) -> Result<Leased, Ended> {
        let leased = match self.unless_interrupted(watch.leases.read()).await? {
            Ok(Read::Leases { held, orphans }) => {
                watch.last_read = Some(held.clone());
                Leased {
                    held,
                    orphans: Some(orphans),
                    ..Leased::default()
                }
            }
            Ok(Read::AlreadyAdmitted { job, since }) => Leased {
                already: Some((job, since)),
                ..Leased::default()
            },
            Err(why) => match &watch.last_read {
                Some(last) => Leased {
                    held: last.clone(),
                    warning: Some(format!(
                        "cannot read GitHub's runs, so the leases read last stand: {why}"
                    )),
                    ..Leased::default()
                },
                None => Leased {
                    warning: Some(format!(
                        "cannot read GitHub's runs, so only the apps on the account count (the plain wait for room): {why}"
                    )),
                    ..Leased::default()
                },
            },
        };
        Ok(leased)
    }

    /// `waiting for room: …`, printed after each look that finds too little.
    fn progress(&self, look: &Look, ends: Instant) -> String {
        let now = Utc::now();
        let held = match look.held_by.as_slice() {
            [] => "no run holds room".to_string(),
            leases => format!("held by {}", words(leases, now)),
        };
        format!(
            "waiting for room: this run reserves {} apps and {} are free ({}); {held}; looking again in {}, for up to {} more",
            self.settings.reserve,
            look.room.free.max(0),
            look.room.words(),
            duration::format(self.settings.poll),
            duration::format(ends.saturating_duration_since(Instant::now()))
        )
    }

    /// Waits for `work`, unless the run is interrupted first.
    async fn unless_interrupted<T>(&self, work: impl Future<Output = T>) -> Result<T, Ended> {
        tokio::select! {
            biased;
            signal = self.cancel.wait() => Err(stopped(signal)),
            done = work => Ok(done),
        }
    }

    /// Writes how the wait ended into `report` (its status and message when the run is
    /// not admitted) and into the room's own record.
    fn record(
        &self,
        ended: Ended,
        watch: Watch,
        started: Instant,
        report: &mut Report,
    ) -> RoomReport {
        let look = watch.last;
        let room = look.as_ref().map(|look| look.room);
        let held_by = look
            .as_ref()
            .map(|look| look.held_by.clone())
            .unwrap_or_default();
        let (outcome, reason) = match ended {
            Ended::Admitted(reason) => (Outcome::Admitted, Message::Text(reason)),
            Ended::Stopped {
                status,
                message,
                signal,
            } => {
                report.status = status;
                report.signal = signal;
                report.message = Some(message.clone());
                (Outcome::Stopped, message)
            }
            Ended::TooLarge => refuse(report, Outcome::TooLarge, too_large(self.settings, room)),
            Ended::NoRoom => self.no_room(report, room, &held_by),
        };
        RoomReport {
            outcome,
            admitted: outcome == Outcome::Admitted,
            reserve_apps: self.settings.reserve,
            waited_seconds: started.elapsed().as_secs_f64(),
            looks: watch.looks,
            room,
            held_by,
            github_warning: look.and_then(|look| look.github_warning),
            reason,
        }
    }

    /// No room in time: fail (exit 1), or proceed with a warning, as `--if-no-room` says.
    fn no_room(
        &self,
        report: &mut Report,
        room: Option<Room>,
        held_by: &[Lease],
    ) -> (Outcome, Message) {
        let wait = duration::format_exact(self.settings.wait);
        let mut why = format!(
            "no room for this run after `--wait-for-room {wait}`: it reserves {} apps",
            self.settings.reserve
        );
        if let Some(room) = room {
            why.push_str(&format!(
                " and {} are free ({})",
                room.free.max(0),
                room.words()
            ));
        }
        if !held_by.is_empty() {
            why.push_str(&format!("; held by {}", words(held_by, Utc::now())));
        }
        match self.settings.if_no_room {
            IfNoRoom::Fail => refuse(
                report,
                Outcome::NoRoom,
                format!(
                    "{why}. Its tests would meet the app limit: wait longer (`--wait-for-room`, within `--deadline`), or pass `--if-no-room proceed` to run them anyway"
                ),
            ),
            IfNoRoom::Proceed => {
                let why = format!(
                    "{why}; proceeding all the same (`--if-no-room proceed`): its tests may meet the app limit"
                );
                self.events.note(&format!("warning: {why}"));
                (Outcome::Proceeded, Message::Text(why))
            }
        }
    }
}

/// The run is not admitted: exit 1 (`limit-held`) with `why`.
fn refuse(report: &mut Report, outcome: Outcome, why: String) -> (Outcome, Message) {
    let why = Message::Text(why);
    report.status = Status::LimitHeld;
    report.message = Some(why.clone());
    (outcome, why)
}

/// What a look read from GitHub, or stood in for it.
#[derive(Default)]
struct Leased {
    held: Vec<Lease>,
    /// Apps made before it belong to no live run.
    orphans: Option<Cutoff>,
    /// This run's own admission job succeeded already, at that time.
    already: Option<(String, DateTime<Utc>)>,
    /// Why GitHub's answer stood in for.
    warning: Option<String>,
}

/// `a (…), b (…)`.
fn words(leases: &[Lease], now: DateTime<Utc>) -> String {
    let words: Vec<String> = leases.iter().map(|lease| lease.words(now)).collect();
    words.join(", ")
}

fn too_large(settings: &Settings, room: Option<Room>) -> String {
    let other = room.map_or(0, |room| room.other_apps);
    format!(
        "this run reserves {} apps (`--reserve-apps`), more than the account can ever give it: {} apps (`--account-limit`) - {other} other apps = {}. Lower `--reserve-apps` (fewer test processes at once), raise `--account-limit` if Heroku raised the limit, or delete other apps",
        settings.reserve,
        settings.account_limit,
        settings.account_limit.saturating_sub(other)
    )
}

/// A reaping during the wait: its apps join the report's, and one that did not end well
/// ends the wait with its status.
fn fold(report: &mut Report, pass: Report) -> Result<(), Ended> {
    for entry in pass
        .apps
        .into_iter()
        .filter(|entry| entry.outcome.is_some())
    {
        match report.apps.iter_mut().find(|known| known.id == entry.id) {
            Some(known) => *known = entry,
            None => report.apps.push(entry),
        }
    }
    report.counts.remaining = pass.counts.remaining;
    report.tally();
    match pass.status {
        Status::Done | Status::UnderLimit => Ok(()),
        status => Err(Ended::Stopped {
            status,
            message: pass.message.unwrap_or_else(|| {
                Message::Text("the reaping during the wait for room failed".into())
            }),
            signal: pass.signal,
        }),
    }
}

fn heroku_failed(error: ApiError) -> Ended {
    Ended::Stopped {
        status: Status::Failed,
        message: Message::Text(format!(
            "cannot list the apps to count the room for this run: {error}"
        )),
        signal: None,
    }
}

fn stopped(signal: Interrupt) -> Ended {
    Ended::Stopped {
        status: match signal {
            Interrupt::Deadline => Status::DeadlineReached,
            _ => Status::Interrupted,
        },
        message: Message::Text(format!(
            "{} while waiting for room for this run; its tests should not start",
            signal.stopped()
        )),
        signal: Some(signal).filter(|signal| signal.is_signal()),
    }
}
