//! `--pipelines`: after the apps, the pipelines Hatchet's CI tests leave behind. Deleting
//! an app uncouples it, so pipelines come second: list them, read the couplings of the
//! stale ones, and delete those left with no app, under the apps' dry run, cap and
//! conflict rules.

use std::future::Future;
use std::sync::Arc;

use chrono::Utc;
use tokio::task::JoinSet;

use super::Run;
use super::cancel::Cancel;
use super::facts::{Ended, Stop};
use super::pipeline_plan::{self, PipelineVerdict};
use super::plan::Scope;
use super::record::{Kind, Outcome};
use super::walk::Walker;
use crate::heroku::{ApiError, Coupling};

impl Run<'_> {
    /// Reaps the pipelines when the apps' rounds ended (and were not stopped early), and
    /// says how the whole run ended.
    pub(super) async fn pipelines(&mut self, ended: Result<Ended, Stop>) -> Result<Ended, Stop> {
        let Ok(apps_ended) = ended else {
            return ended;
        };
        if !self.options.pipelines || self.cancel.interrupted().is_some() {
            return ended;
        }
        self.ledger.pipelines = Some(Vec::new());
        self.reap_pipelines(apps_ended == Ended::DryRun).await?;
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
        at_most(
            &self.cancel.clone(),
            self.options.concurrency,
            stale,
            move |id| {
                let client = Arc::clone(&client);
                async move { client.pipeline_couplings(&id).await }
            },
            // A rejected key stops the reading; the ledger stops the run.
            |id, answer: Result<Vec<Coupling>, ApiError>| {
                let rejected = answer.as_ref().is_err_and(ApiError::is_unauthorized);
                answers.push((id, answer));
                !rejected
            },
        )
        .await;
        self.ledger.add_pipelines(decisions, answers)?;
        let doomed = self.ledger.pipelines_to_delete();
        if let Some(note) = self.ledger.check_pipeline_cap(doomed.len(), dry_run)? {
            self.events.noted(&note);
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
