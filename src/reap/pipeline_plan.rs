//! Which pipelines to delete: pure, like `plan`. A pipeline goes when its name matches
//! the rule, the age rule says stale, it belongs to the account (or `--team`), and no
//! app is left coupled to it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::plan::{self, Policy, Scope, Verdict};
use crate::heroku::{Pipeline, ids};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PipelineVerdict {
    Delete,
    /// An app is still coupled to it: a test may be using it.
    Coupled,
    Keep,
    TooYoung,
    NotOwned,
}

impl PipelineVerdict {
    pub fn label(self) -> &'static str {
        match self {
            PipelineVerdict::Delete => "delete",
            PipelineVerdict::Coupled => "coupled",
            PipelineVerdict::Keep => "keep",
            PipelineVerdict::TooYoung => "too young",
            PipelineVerdict::NotOwned => "not owned",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PipelineDecision {
    pub pipeline: Pipeline,
    pub age: Duration,
    pub verdict: PipelineVerdict,
    pub reason: String,
    pub coupled_apps: Vec<String>,
}

/// Decides every matching pipeline by name, age and owner, oldest first. Those to
/// delete still need their couplings read: see [`settle`]. `owner` is the id of the
/// account, or of the team with `--team`.
pub fn plan(
    pipelines: &[Pipeline],
    now: DateTime<Utc>,
    policy: &Policy,
    owner: &str,
) -> Vec<PipelineDecision> {
    let listed = plan::youngest_of_each(pipelines, |p| (&p.id, Some(p.created_at)));
    let mut decisions: Vec<PipelineDecision> = listed
        .into_iter()
        .filter(|pipeline| policy.matcher.matches(&pipeline.name))
        .map(|pipeline| decide(pipeline, now, policy, owner))
        .collect();
    decisions.sort_by(|a, b| {
        (a.pipeline.created_at, &a.pipeline.id).cmp(&(b.pipeline.created_at, &b.pipeline.id))
    });
    decisions
}

fn decide(
    pipeline: &Pipeline,
    now: DateTime<Utc>,
    policy: &Policy,
    owner: &str,
) -> PipelineDecision {
    let age = (now - pipeline.created_at)
        .to_std()
        .unwrap_or(Duration::ZERO);
    let whose = match &policy.scope {
        Scope::Account => "the account".to_string(),
        Scope::Team(team) => format!("team `{team}`"),
    };
    let (verdict, reason) =
        if let Some(pattern) = policy.keep.iter().find(|p| p.matches(&pipeline.name)) {
            (
                PipelineVerdict::Keep,
                format!("kept by `--keep {}`", pattern.as_str()),
            )
        } else if !ids::is_pipeline_identity(&pipeline.id) {
            (
                PipelineVerdict::Keep,
                plan::not_an_id(&pipeline.id, "a pipeline"),
            )
        } else if pipeline.owner.as_ref().is_none_or(|o| o.id != owner) {
            let reason = match &pipeline.owner {
                None => "has no owner; delete it by hand if it is stale".to_string(),
                Some(other) => format!("owned by another {}, not {whose}", other.kind),
            };
            (PipelineVerdict::NotOwned, reason)
        } else {
            match plan::by_age(pipeline.created_at, age, policy) {
                (Verdict::Delete, reason) => (PipelineVerdict::Delete, reason),
                (_, reason) => (PipelineVerdict::TooYoung, reason),
            }
        };
    PipelineDecision {
        pipeline: pipeline.clone(),
        age,
        verdict,
        reason,
        coupled_apps: Vec::new(),
    }
}

/// One app coupled to a pipeline, as the run knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoupledApp {
    /// Its name when the run listed it, else its id.
    pub name: String,
    /// Deleted by this run, or (in a dry run) planned to be: its coupling goes with it.
    pub going: bool,
}

/// Completes a `Delete` decision once the pipeline's couplings are read: it stays
/// `Delete` only when every coupled app is gone or going.
pub fn settle(decision: &mut PipelineDecision, apps: &[CoupledApp]) {
    if decision.verdict != PipelineVerdict::Delete {
        return;
    }
    let staying: Vec<String> = apps
        .iter()
        .filter(|app| !app.going)
        .map(|app| app.name.clone())
        .collect();
    if staying.is_empty() {
        let why = if apps.is_empty() {
            "no app is coupled to it".to_string()
        } else {
            format!("its apps go first ({})", names(apps))
        };
        decision.reason = format!("{}; {why}", decision.reason);
        return;
    }
    decision.verdict = PipelineVerdict::Coupled;
    decision.reason = format!(
        "still coupled to {}",
        names(apps.iter().filter(|a| !a.going))
    );
    decision.coupled_apps = staying;
}

fn names<'a>(apps: impl IntoIterator<Item = &'a CoupledApp>) -> String {
    apps.into_iter()
        .map(|app| format!("`{}`", app.name))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::LiveRun;
    use crate::heroku::PipelineOwner;
    use crate::reap::plan::{Age, Matcher};

    const ME: &str = "11111111-1111-4111-8111-111111111111";
    const TEAM: &str = "33333333-3333-4333-8333-333333333333";

    fn now() -> DateTime<Utc> {
        "2026-11-27T12:00:00Z".parse().unwrap()
    }

    fn pipeline(name: &str, minutes_old: i64, owner: Option<(&str, &str)>) -> Pipeline {
        Pipeline {
            id: format!("id-{name}"),
            name: name.to_string(),
            created_at: now() - chrono::Duration::minutes(minutes_old),
            owner: owner.map(|(id, kind)| PipelineOwner {
                id: id.to_string(),
                kind: kind.to_string(),
            }),
        }
    }

    fn mine(name: &str, minutes_old: i64) -> Pipeline {
        pipeline(name, minutes_old, Some((ME, "user")))
    }

    fn policy() -> Policy {
        Policy {
            matcher: Matcher::Prefix("hatchet-t-".into()),
            keep: vec![glob::Pattern::new("hatchet-t-0keep*").unwrap()],
            age: Age::OlderThan(Duration::from_secs(600)),
            scope: Scope::Account,
            shard: None,
            cutoff: None,
        }
    }

    fn verdicts(decisions: &[PipelineDecision]) -> Vec<(&str, PipelineVerdict)> {
        decisions
            .iter()
            .map(|d| (d.pipeline.name.as_str(), d.verdict))
            .collect()
    }

    #[test]
    fn matching_old_pipelines_of_the_account_only() {
        let pipelines = [
            mine("hatchet-t-0young", 3),
            mine("hatchet-t-0old", 30),
            mine("billing-pipeline", 300),
            mine("hatchet-t-0keep1", 300),
            pipeline("hatchet-t-0team", 300, Some((TEAM, "team"))),
            pipeline("hatchet-t-0ownerless", 300, None),
        ];
        let decisions = plan(&pipelines, now(), &policy(), ME);
        assert_eq!(
            verdicts(&decisions),
            [
                ("hatchet-t-0keep1", PipelineVerdict::Keep),
                ("hatchet-t-0ownerless", PipelineVerdict::NotOwned),
                ("hatchet-t-0team", PipelineVerdict::NotOwned),
                ("hatchet-t-0old", PipelineVerdict::Delete),
                ("hatchet-t-0young", PipelineVerdict::TooYoung),
            ]
        );
        assert_eq!(
            decisions[2].reason,
            "owned by another team, not the account"
        );
        assert_eq!(decisions[3].reason, "older than 10m");
        assert_eq!(
            decisions[4].reason,
            "younger than 10m; a test may still use it"
        );
    }

    #[test]
    fn a_pipeline_whose_id_is_a_dot_segment_is_kept() {
        let mut dots = mine("hatchet-t-dots", 300);
        dots.id = "..".into();
        let decisions = plan(&[dots], now(), &policy(), ME);
        assert_eq!(
            verdicts(&decisions),
            [("hatchet-t-dots", PipelineVerdict::Keep)]
        );
        assert_eq!(
            decisions[0].reason,
            "its id `..` is neither a UUID nor a pipeline's name; no request is sent for it"
        );
    }

    #[test]
    fn a_team_scope_takes_the_teams_pipelines() {
        let mut policy = policy();
        policy.scope = Scope::Team("ci".into());
        let pipelines = [
            pipeline("hatchet-t-0team", 300, Some((TEAM, "team"))),
            mine("hatchet-t-0mine", 300),
        ];
        let decisions = plan(&pipelines, now(), &policy, TEAM);
        assert_eq!(
            verdicts(&decisions),
            [
                ("hatchet-t-0mine", PipelineVerdict::NotOwned),
                ("hatchet-t-0team", PipelineVerdict::Delete)
            ]
        );
        assert_eq!(decisions[0].reason, "owned by another user, not team `ci`");
    }

    #[test]
    fn the_github_cutoff_applies_to_pipelines_too() {
        let mut policy = policy();
        policy.cutoff = Some(crate::github::cutoff(
            &[LiveRun::new("o/r", 1, now(), Some(now()))],
            None,
            now(),
            Duration::from_secs(120),
        ));
        let decisions = plan(&[mine("hatchet-t-0young", 3)], now(), &policy, ME);
        assert_eq!(decisions[0].verdict, PipelineVerdict::Delete);
        assert!(decisions[0].reason.starts_with("orphaned: "));
    }

    #[test]
    fn couplings_decide_the_rest() {
        let decided = || plan(&[mine("hatchet-t-0old", 30)], now(), &policy(), ME).remove(0);
        let app = |name: &str, going| CoupledApp {
            name: name.into(),
            going,
        };

        let mut orphan = decided();
        settle(&mut orphan, &[]);
        assert_eq!(orphan.verdict, PipelineVerdict::Delete);
        assert_eq!(orphan.reason, "older than 10m; no app is coupled to it");

        let mut emptied = decided();
        settle(&mut emptied, &[app("hatchet-t-0old", true)]);
        assert_eq!(emptied.verdict, PipelineVerdict::Delete);
        assert_eq!(
            emptied.reason,
            "older than 10m; its apps go first (`hatchet-t-0old`)"
        );

        let mut coupled = decided();
        settle(
            &mut coupled,
            &[app("hatchet-t-0old", true), app("hatchet-t-0new", false)],
        );
        assert_eq!(coupled.verdict, PipelineVerdict::Coupled);
        assert_eq!(coupled.reason, "still coupled to `hatchet-t-0new`");
        assert_eq!(coupled.coupled_apps, ["hatchet-t-0new"]);

        // Only a pipeline to delete is looked at again.
        let mut young = plan(&[mine("hatchet-t-0young", 3)], now(), &policy(), ME).remove(0);
        settle(&mut young, &[app("x", false)]);
        assert_eq!(young.verdict, PipelineVerdict::TooYoung);
    }
}
