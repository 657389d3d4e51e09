//! `--pipelines`: after the apps, the pipelines Hatchet's CI tests leave behind. Deleting
//! an app uncouples it, so pipelines come second: list them, read the couplings of the
//! stale ones, and delete those left with no app, under the apps' dry run, cap and
//! conflict rules.

use std::future::Future;
use std::sync::Arc;

use chrono::Utc;
use tokio::task::JoinSet;

use super::cancel::Cancel;
use super::pipeline_plan::{self, PipelineVerdict};
use super::plan::Scope;
use super::walk::Walker;
use super::{Kind, Run, Stop};
use crate::heroku::{ApiError, Coupling};
use crate::reap::record::{Outcome, Status};

impl Run<'_> {
    /// Reaps the pipelines when the apps' rounds `ended` well (or as a dry run), and
    /// says how the whole run ended.
    pub(super) async fn pipelines(&mut self, ended: Result<(), Stop>) -> Result<(), Stop> {
        let dry_run = matches!(&ended, Err(Stop::Status(Status::DryRun, _)));
        // `Done` also ends `--app-limit` rounds that made room.
        let apps_done = matches!(&ended, Ok(()) | Err(Stop::Status(Status::Done, _)));
        let interrupted = self.cancel.interrupted().is_some();
        if !self.options.pipelines || !(apps_done || dry_run) || interrupted {
            return ended;
        }
        self.ledger.pipelines = Some(Vec::new());
        self.reap_pipelines(dry_run).await?;
        ended
    }

    async fn reap_pipelines(&mut self, dry_run: bool) -> Result<(), Stop> {
        let listing = self
            .unless_interrupted(self.client.list_pipelines())
            .await??;
        self.clock.observe(listing.date.as_deref(), Utc::now());
        let listed = listing.items;
        let matcher = &self.options.policy.matcher;
        if !listed
            .iter()
            .any(|pipeline| matcher.matches(&pipeline.name))
        {
            return Ok(());
        }
        let owner = self.pipeline_owner().await?;
        let decisions = pipeline_plan::plan(&listed, self.clock.now(), &self.policy(), &owner);
        let stale: Vec<String> = decisions
            .iter()
            .filter(|d| d.verdict == PipelineVerdict::Delete)
            .map(|d| d.pipeline.id.clone())
            .collect();
        let client = Arc::clone(&self.client);
        let mut answers = Vec::new();
        let mut stop = None;
        at_most(
            &self.cancel.clone(),
            self.options.concurrency,
            stale,
            move |id| {
                let client = Arc::clone(&client);
                async move { client.pipeline_couplings(&id).await }
            },
            |id, answer: Result<Vec<Coupling>, ApiError>| {
                if answer.as_ref().is_err_and(ApiError::is_unauthorized) {
                    stop = answer.as_ref().err().map(ToString::to_string);
                }
                answers.push((id, answer));
                stop.is_none()
            },
        )
        .await;
        self.ledger.add_pipelines(decisions, answers);
        if let Some(stop) = stop {
            return Err(Stop::Status(Status::Unauthorized, stop));
        }
        let doomed = self.ledger.pipelines_to_delete();
        if let Some(note) = self.ledger.check_pipeline_cap(doomed.len(), dry_run)? {
            self.events.note(&note);
        }
        if dry_run {
            self.ledger.set_pipeline_outcomes(&doomed, Outcome::Planned);
            return Ok(());
        }
        self.delete_pipelines(doomed).await
    }

    /// Whose pipelines are this run's: the account's, or the team's with `--team`.
    async fn pipeline_owner(&mut self) -> Result<String, ApiError> {
        if let Scope::Team(team) = &self.options.policy.scope {
            return Ok(self.client.team(team).await?.id);
        }
        if let Some(id) = &self.account {
            return Ok(id.clone());
        }
        let id = self.client.account().await?.id;
        self.account = Some(id.clone());
        Ok(id)
    }

    /// Deletes `ids` a few at a time, in an order of their own for each reaper (from a
    /// random place on the ring of ids), so that reapers at once rarely collide. The
    /// apps' delete loop does it, with every guarantee it gives them.
    async fn delete_pipelines(&mut self, ids: Vec<String>) -> Result<(), Stop> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut walker = Walker::alone(ids, self.options.concurrency, fastrand::u64(..));
        let ended = self.drive(Kind::Pipeline, &mut walker).await;
        if ended.is_err() {
            let rest = self.ledger.pipelines_to_delete();
            self.ledger
                .set_pipeline_outcomes(&rest, Outcome::NotAttempted);
        }
        ended
    }
}

/// Runs `task` (a read) on every id with at most `width` in flight, and hands each answer to
/// `answered` as it lands; once `answered` says false or the run is interrupted, no more
/// are started (those in flight still land).
async fn at_most<T, F, Fut>(
    cancel: &Cancel,
    width: usize,
    ids: Vec<String>,
    task: F,
    mut answered: impl FnMut(String, T) -> bool,
) where
    T: Send + 'static,
    F: Fn(String) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let mut ids = ids.into_iter();
    let mut in_flight = JoinSet::new();
    let mut going = true;
    loop {
        while going && cancel.interrupted().is_none() && in_flight.len() < width.max(1) {
            let Some(id) = ids.next() else { break };
            let answer = task(id.clone());
            in_flight.spawn(async move { (id, answer.await) });
        }
        let Some(joined) = in_flight.join_next().await else {
            return;
        };
        let (id, answer) = joined.expect("pipeline tasks do not panic");
        going &= answered(id, answer);
    }
}
