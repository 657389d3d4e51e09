//! Which apps to delete: a pure function of (apps, now, policy).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::Serialize;

use crate::duration;
use crate::github::Cutoff;
use crate::heroku::{App, ids};
use crate::text::printable;

/// How the reason of an app that the GitHub cutoff made stale begins.
pub const ORPHANED: &str = "orphaned: ";

pub const NOT_OWNED: &str = "owned by another user; this account only collaborates on it";

const OWNER_UNKNOWN: &str =
    "its owner or the account is unknown, so it is not known to be the account's";

const ANY_AGE: &str = "`--all`: any age";

pub const AGE_UNKNOWN: &str =
    "age unknown: its `created_at` is missing or unreadable, so it is not known to be stale";

/// What the run does when it finds another reaper deleting the same apps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Back off, list the apps again and carry on until every stale app is gone.
    RefreshApiAndContinue,
    /// Stop as soon as fewer than `--app-limit` matching apps remain: another reaper is at work.
    StopIfUnderLimit,
}

/// Which names are the reaper's business.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Hatchet's own rule (`Reaper::DEFAULT_REGEX`, lib/hatchet/reaper.rb): the name
    /// starts with this and then a lowercase hex digit; what follows is not looked at.
    Prefix(String),
    /// The whole name matches.
    Regex(Regex),
}

impl Matcher {
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Prefix(prefix) => name
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with(|c: char| matches!(c, '0'..='9' | 'a'..='f'))),
            Matcher::Regex(regex) => regex.is_match(name),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Matcher::Prefix(prefix) => format!("names starting with `{prefix}` and a hex digit"),
            Matcher::Regex(regex) => format!("names matching `{}`", regex.as_str()),
        }
    }
}

/// How old an app must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    OlderThan(Duration),
    /// `--all`: any age.
    Any,
}

/// Whose apps: the account's own, or one team's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Account,
    Team(String),
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub matcher: Matcher,
    pub keep: Vec<glob::Pattern>,
    pub age: Age,
    pub scope: Scope,
    /// `--github-live-runs`: apps created before it belong to no live run.
    pub cutoff: Option<Cutoff>,
    /// `--shard I/N`: this reaper deletes only its share of the stale apps.
    pub shard: Option<Shard>,
}

impl Policy {
    /// This policy for apps dated by Heroku's clock, given `to_heroku`, which maps a
    /// local time onto the clock ages are measured by (the earlier of the local one and
    /// Heroku's). The GitHub cutoff may come from the local clock (with no run live, it
    /// is the moment of the check), so it moves back by as much as the local clock runs
    /// ahead, and never forward: a runner a day ahead must not make every app an orphan.
    pub fn on_herokus_clock(&self, to_heroku: impl Fn(DateTime<Utc>) -> DateTime<Utc>) -> Policy {
        let mut policy = self.clone();
        if let Some(cutoff) = &mut policy.cutoff {
            cutoff.at = cutoff.at.min(to_heroku(cutoff.at));
        }
        policy
    }
}

/// One of `count` disjoint shares of the stale apps, `index` counted from 0 (as a
/// matrix job's `strategy.job-index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Every reaper computes the same share for an app from its id alone, so shards
    /// split the apps without talking to each other, whatever order they list them in.
    pub fn owns(self, app_id: &str) -> bool {
        shard_of(app_id, self.count) == self.index
    }
}

/// FNV-1a over the id: stable across platforms and versions, unlike `std`'s hasher.
pub fn shard_of(app_id: &str, count: u32) -> u32 {
    let hash = app_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    (hash % u64::from(count.max(1))) as u32
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Delete,
    Keep,
    TooYoung,
    TeamApp,
    NotOwned,
    /// Stale, but another `--shard` deletes it.
    OtherShard,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Delete => "delete",
            Verdict::Keep => "keep",
            Verdict::TooYoung => "too young",
            Verdict::TeamApp => "team app",
            Verdict::NotOwned => "not owned",
            Verdict::OtherShard => "other shard",
        }
    }
}

/// One matching app and what the plan says about it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub app: App,
    pub age: Duration,
    pub verdict: Verdict,
    pub reason: String,
}

/// Decides every matching app, oldest first. `account` is the id from `GET /account`:
/// in the account's scope only apps it owns are deleted, and none while it is unknown.
pub fn plan(
    apps: &[App],
    now: DateTime<Utc>,
    policy: &Policy,
    account: Option<&str>,
) -> Vec<Decision> {
    let mut decisions: Vec<Decision> = youngest_of_each(apps, |app| (&app.id, app.created_at))
        .into_iter()
        .filter(|app| policy.matcher.matches(&app.name))
        .map(|app| decide(app, now, policy, account))
        .collect();
    decisions.sort_by(|a, b| (a.app.created_at, &a.app.id).cmp(&(b.app.created_at, &b.app.id)));
    decisions
}

fn decide(app: &App, now: DateTime<Utc>, policy: &Policy, account: Option<&str>) -> Decision {
    let age = age_of(app, now);
    let (verdict, reason) = verdict(app, age, policy, account);
    Decision {
        app: app.clone(),
        age,
        verdict,
        reason,
    }
}

/// The first rule that spares the app decides; an app no rule spares is deleted.
fn verdict(app: &App, age: Duration, policy: &Policy, account: Option<&str>) -> (Verdict, String) {
    if !ids::is_app_identity(&app.id) {
        return (Verdict::Keep, not_an_id(&app.id, "an app"));
    }
    if let Some(pattern) = policy.keep.iter().find(|p| p.matches(&app.name)) {
        return (
            Verdict::Keep,
            format!("kept by `--keep {}`", pattern.as_str()),
        );
    }
    if let Some(spared) = out_of_scope(app, &policy.scope, account) {
        return spared;
    }
    let by_age = match (app.created_at, policy.age) {
        (Some(created_at), _) => by_age(created_at, age, policy),
        (None, Age::Any) => (Verdict::Delete, ANY_AGE.to_string()),
        (None, Age::OlderThan(_)) => (Verdict::Keep, AGE_UNKNOWN.to_string()),
    };
    match (by_age, policy.shard) {
        ((Verdict::Delete, stale), Some(shard)) if !shard.owns(&app.id) => {
            let theirs = shard_of(&app.id, shard.count);
            (
                Verdict::OtherShard,
                format!("{stale}; shard {theirs}/{} deletes it", shard.count),
            )
        }
        (decided, _) => decided,
    }
}

/// Why an app or pipeline whose id no request may carry is kept.
pub fn not_an_id(id: &str, what: &str) -> String {
    format!(
        "its id `{}` is neither a UUID nor {what}'s name; no request is sent for it",
        printable(id)
    )
}

/// Why the app is not this run's to delete, if it is not: ownership is read from the
/// app itself, never inferred from which endpoint listed it.
fn out_of_scope(app: &App, scope: &Scope, account: Option<&str>) -> Option<(Verdict, String)> {
    match (scope, &app.team) {
        (Scope::Account, Some(team)) => Some((
            Verdict::TeamApp,
            format!(
                "belongs to team `{}`; reaped only with `--team {}`",
                team.name, team.name
            ),
        )),
        (Scope::Account, None) => {
            let owner = app.owner.as_ref().map(|owner| owner.id.as_str());
            match (owner, account) {
                (Some(owner), Some(account)) if owner == account => None,
                (Some(_), Some(_)) => Some((Verdict::NotOwned, NOT_OWNED.to_string())),
                _ => Some((Verdict::NotOwned, OWNER_UNKNOWN.to_string())),
            }
        }
        (Scope::Team(name), Some(team)) if team.name == *name => None,
        (Scope::Team(name), Some(team)) => Some((
            Verdict::NotOwned,
            format!(
                "listed under team `{name}` but belongs to team `{}`; not the team's",
                team.name
            ),
        )),
        (Scope::Team(name), None) => Some((
            Verdict::NotOwned,
            format!("listed under team `{name}` but belongs to no team; not the team's"),
        )),
    }
}

/// The age rule alone: `--all`, the TTL, or else the GitHub cutoff, which may only add
/// apps to delete. Gives `Delete` or `TooYoung`, and why.
pub fn by_age(created_at: DateTime<Utc>, age: Duration, policy: &Policy) -> (Verdict, String) {
    match (policy.age, &policy.cutoff) {
        (Age::Any, _) => (Verdict::Delete, ANY_AGE.to_string()),
        (Age::OlderThan(ttl), _) if age > ttl => (
            Verdict::Delete,
            format!("older than {}", duration::format(ttl)),
        ),
        (Age::OlderThan(_), Some(cutoff)) if created_at < cutoff.at => {
            (Verdict::Delete, format!("{ORPHANED}{}", cutoff.reason()))
        }
        (Age::OlderThan(ttl), _) => (
            Verdict::TooYoung,
            format!(
                "younger than {}; a test may still use it",
                duration::format(ttl)
            ),
        ),
    }
}

/// How long ago the app was created; an app from the future (clock skew), or of unknown
/// age, is age 0.
pub fn age_of(app: &App, now: DateTime<Utc>) -> Duration {
    app.created_at
        .and_then(|created_at| (now - created_at).to_std().ok())
        .unwrap_or(Duration::ZERO)
}

/// Each id once, in the order first listed. A listing can hold one twice (pages read
/// while apps come and go), and then the younger entry wins, so that a stale copy
/// cannot make a young app old; an unknown age counts as the youngest of all.
/// `key` gives an item's id and creation time.
pub fn youngest_of_each<T>(
    items: &[T],
    key: impl Fn(&T) -> (&str, Option<DateTime<Utc>>),
) -> Vec<&T> {
    let mut kept: Vec<&T> = Vec::with_capacity(items.len());
    let mut at: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for item in items {
        let (id, created_at) = key(item);
        match at.get(id) {
            None => {
                at.insert(id, kept.len());
                kept.push(item);
            }
            Some(&index) => {
                let held = key(kept[index]).1;
                // `None` (unknown) sorts first, so `max` alone would take the wrong one.
                let younger = match (held, created_at) {
                    (None, _) => false,
                    (Some(_), None) => true,
                    (Some(held), Some(new)) => new > held,
                };
                if younger {
                    kept[index] = item;
                }
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heroku::{Identity, Team};

    const ME: &str = "11111111-1111-4111-8111-111111111111";
    const OTHER: &str = "22222222-2222-4222-8222-222222222222";

    fn now() -> DateTime<Utc> {
        "2026-11-27T12:00:00Z".parse().unwrap()
    }

    fn app(name: &str, minutes_old: i64) -> App {
        App {
            id: format!("id-{name}"),
            name: name.to_string(),
            created_at: Some(now() - chrono::Duration::minutes(minutes_old)),
            owner: Some(Identity {
                id: ME.to_string(),
                email: None,
            }),
            team: None,
        }
    }

    fn policy() -> Policy {
        Policy {
            matcher: Matcher::Prefix("hatchet-t-".into()),
            keep: vec![],
            age: Age::OlderThan(Duration::from_secs(600)),
            scope: Scope::Account,
            shard: None,
            cutoff: None,
        }
    }

    fn verdicts(decisions: &[Decision]) -> Vec<(&str, Verdict)> {
        decisions
            .iter()
            .map(|d| (d.app.name.as_str(), d.verdict))
            .collect()
    }

    #[test]
    fn deletes_stale_matching_apps_only_oldest_first() {
        let apps = [
            app("hatchet-t-aaaa", 11),
            app("hatchet-t-bbbb", 9),
            app("hatchet-t-cccc", 60),
            app("billing-prod", 600),
            app("hatchet-t-", 600),
            app("my-hatchet-t-dddd", 600),
        ];
        let decisions = plan(&apps, now(), &policy(), Some(ME));
        assert_eq!(
            verdicts(&decisions),
            [
                ("hatchet-t-cccc", Verdict::Delete),
                ("hatchet-t-aaaa", Verdict::Delete),
                ("hatchet-t-bbbb", Verdict::TooYoung),
            ]
        );
        assert_eq!(decisions[0].age, Duration::from_secs(3600));
        assert_eq!(decisions[0].reason, "older than 10m");
    }

    #[test]
    fn the_prefix_rule_is_hatchets_default_regex() {
        let rule = Matcher::Prefix("hatchet-t-".into());
        // `^hatchet-t-[a-f0-9]+`, not anchored at the end.
        for taken in [
            "hatchet-t-0a1b2c3d4e",
            "hatchet-t-f",
            "hatchet-t-9-anything",
        ] {
            assert!(rule.matches(taken), "{taken}");
        }
        for spared in [
            "hatchet-t-",
            "hatchet-t-pinned-demo",
            "hatchet-t-zzz-manual",
            "hatchet-t-A0",
            "hatchet-t--0",
            "my-hatchet-t-0a",
        ] {
            assert!(!rule.matches(spared), "{spared}");
        }
        assert_eq!(
            rule.describe(),
            "names starting with `hatchet-t-` and a hex digit"
        );
    }

    #[test]
    fn exactly_the_ttl_is_not_older_than_it() {
        let decisions = plan(&[app("hatchet-t-aaaa", 10)], now(), &policy(), Some(ME));
        assert_eq!(decisions[0].verdict, Verdict::TooYoung);
    }

    #[test]
    fn keep_globs_team_apps_and_other_owners_are_spared() {
        let mut team_app = app("hatchet-t-0team", 60);
        team_app.team = Some(Team {
            id: "t".into(),
            name: "ci".into(),
        });
        let mut theirs = app("hatchet-t-0theirs", 60);
        theirs.owner.as_mut().unwrap().id = OTHER.into();
        let mut policy = policy();
        policy.keep = vec![glob::Pattern::new("hatchet-t-0keep*").unwrap()];
        let apps = [app("hatchet-t-0keep1", 60), team_app, theirs];
        let decisions = plan(&apps, now(), &policy, Some(ME));
        let mut got = verdicts(&decisions);
        got.sort();
        assert_eq!(
            got,
            [
                ("hatchet-t-0keep1", Verdict::Keep),
                ("hatchet-t-0team", Verdict::TeamApp),
                ("hatchet-t-0theirs", Verdict::NotOwned),
            ]
        );
        assert!(
            decisions
                .iter()
                .any(|d| d.reason == "kept by `--keep hatchet-t-0keep*`")
        );
    }

    #[test]
    fn a_team_scope_deletes_team_apps() {
        let mut team_app = app("hatchet-t-0team", 60);
        team_app.team = Some(Team {
            id: "t".into(),
            name: "ci".into(),
        });
        let mut policy = policy();
        policy.scope = Scope::Team("ci".into());
        let decisions = plan(&[team_app], now(), &policy, None);
        assert_eq!(decisions[0].verdict, Verdict::Delete);
    }

    #[test]
    fn all_ignores_age_and_regexes_match_whole_names() {
        let mut policy = policy();
        policy.age = Age::Any;
        policy.matcher = Matcher::Regex(Regex::new("^(?:ci-[0-9]+)$").unwrap());
        let apps = [app("ci-1", 0), app("ci-x", 60), app("xci-2", 60)];
        assert_eq!(
            verdicts(&plan(&apps, now(), &policy, Some(ME))),
            [("ci-1", Verdict::Delete)]
        );
    }

    #[test]
    fn an_app_listed_twice_is_decided_by_its_younger_entry() {
        let young = app("hatchet-t-aaaa", 2);
        let stale_copy = App {
            created_at: Some(now() - chrono::Duration::minutes(60)),
            ..young.clone()
        };
        let other = app("hatchet-t-bbbb", 60);
        for apps in [
            [stale_copy.clone(), young.clone(), other.clone()],
            [young.clone(), stale_copy.clone(), other.clone()],
        ] {
            let decisions = plan(&apps, now(), &policy(), Some(ME));
            assert_eq!(
                verdicts(&decisions),
                [
                    ("hatchet-t-bbbb", Verdict::Delete),
                    ("hatchet-t-aaaa", Verdict::TooYoung)
                ]
            );
            assert_eq!(decisions[1].age, Duration::from_secs(120));
        }
        // An unknown age is younger than any.
        let unknown = App {
            created_at: None,
            ..young.clone()
        };
        for apps in [[stale_copy.clone(), unknown.clone()], [unknown, stale_copy]] {
            let decisions = plan(&apps, now(), &policy(), Some(ME));
            assert_eq!(decisions.len(), 1);
            assert_eq!(decisions[0].reason, AGE_UNKNOWN);
        }
    }

    #[test]
    fn an_app_of_unknown_age_is_kept_unless_any_age_goes() {
        let unknown = App {
            created_at: None,
            ..app("hatchet-t-aaaa", 60)
        };
        let decisions = plan(std::slice::from_ref(&unknown), now(), &policy(), Some(ME));
        assert_eq!(verdicts(&decisions), [("hatchet-t-aaaa", Verdict::Keep)]);
        assert_eq!(decisions[0].reason, AGE_UNKNOWN);
        assert_eq!(decisions[0].age, Duration::ZERO);
        let mut any_age = policy();
        any_age.age = Age::Any;
        let decisions = plan(&[unknown], now(), &any_age, Some(ME));
        assert_eq!(verdicts(&decisions), [("hatchet-t-aaaa", Verdict::Delete)]);
    }

    #[test]
    fn apps_from_the_future_are_age_zero() {
        let decisions = plan(&[app("hatchet-t-aaaa", -5)], now(), &policy(), Some(ME));
        assert_eq!(decisions[0].age, Duration::ZERO);
    }

    #[test]
    fn shards_are_disjoint_and_cover_every_stale_app() {
        let apps: Vec<App> = (0..500)
            .map(|i| app(&format!("hatchet-t-{i:010x}"), 60))
            .collect();
        for count in [1, 2, 3, 8, 50] {
            let mut owners = std::collections::HashMap::new();
            for index in 0..count {
                let mut policy = policy();
                policy.shard = Some(Shard { index, count });
                for decision in plan(&apps, now(), &policy, Some(ME)) {
                    match decision.verdict {
                        Verdict::Delete => *owners.entry(decision.app.id).or_insert(0) += 1,
                        verdict => assert_eq!(verdict, Verdict::OtherShard),
                    }
                }
            }
            assert_eq!(owners.len(), apps.len(), "{count} shards");
            assert!(owners.values().all(|&n| n == 1), "{count} shards");
        }
    }

    /// docs/design.md promises an app keeps its shard across versions: these values were
    /// worked out apart from this code (FNV-1a 64 of the id, modulo N) and must not change.
    #[test]
    fn shards_are_pinned() {
        let pinned = [
            ("01234567-89ab-4cde-8f01-23456789abcd", 0, 4),
            ("00000000-0000-4000-8000-000000000000", 1, 5),
            ("6f1b3a52-9d0e-4c7a-b1f4-2e8d5c0a9b73", 0, 0),
            ("d2c4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e4f", 0, 2),
            ("ffffffff-ffff-4fff-bfff-ffffffffffff", 1, 3),
            ("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", 1, 5),
        ];
        for (id, of_2, of_8) in pinned {
            assert_eq!((shard_of(id, 2), shard_of(id, 8)), (of_2, of_8), "{id}");
        }
    }

    #[test]
    fn shards_are_roughly_even() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut sizes = [0; 8];
        for _ in 0..8_000 {
            let id = format!("{:032x}", rng.u128(..));
            sizes[shard_of(&id, 8) as usize] += 1;
        }
        assert!(sizes.iter().all(|&n| (800..1200).contains(&n)), "{sizes:?}");
    }

    #[test]
    fn only_stale_apps_go_to_other_shards() {
        let mut policy = policy();
        policy.shard = Some(Shard { index: 0, count: 2 });
        let apps: Vec<App> = (0..20)
            .map(|i| app(&format!("hatchet-t-{i:04}"), 1))
            .collect();
        let decisions = plan(&apps, now(), &policy, Some(ME));
        assert!(decisions.iter().all(|d| d.verdict == Verdict::TooYoung));
    }

    #[test]
    fn the_github_cutoff_adds_young_orphans_and_nothing_else() {
        let mut policy = policy();
        let started = now() - chrono::Duration::minutes(4);
        let earliest = crate::github::LiveRun::new("o/r", 123, started, Some(started));
        // The cutoff: 4 minutes ago, less 2 of skew.
        policy.cutoff = Some(crate::github::cutoff(
            &[earliest],
            None,
            now(),
            Duration::from_secs(120),
        ));
        let apps = [
            app("hatchet-t-0old", 30),
            app("hatchet-t-0orphan", 8),
            app("hatchet-t-atcutoff", 6),
            app("hatchet-t-0inskew", 5),
            app("hatchet-t-0new", 1),
        ];
        let decisions = plan(&apps, now(), &policy, Some(ME));
        assert_eq!(
            verdicts(&decisions),
            [
                ("hatchet-t-0old", Verdict::Delete),
                ("hatchet-t-0orphan", Verdict::Delete),
                ("hatchet-t-atcutoff", Verdict::TooYoung),
                ("hatchet-t-0inskew", Verdict::TooYoung),
                ("hatchet-t-0new", Verdict::TooYoung),
            ]
        );
        assert_eq!(decisions[0].reason, "older than 10m");
        assert_eq!(
            decisions[1].reason,
            "orphaned: created before every live run; earliest is o/r run 123, started 11:56:00Z"
        );
        assert_eq!(
            decisions[4].reason,
            "younger than 10m; a test may still use it"
        );
        // Never instead of the other rules: a kept orphan stays kept.
        policy.keep = vec![glob::Pattern::new("hatchet-t-0orphan").unwrap()];
        let decisions = plan(&apps[1..2], now(), &policy, Some(ME));
        assert_eq!(decisions[0].verdict, Verdict::Keep);
    }

    #[test]
    fn a_cutoff_moves_back_by_a_local_clock_ahead_and_never_forward() {
        let mut policy = policy();
        policy.cutoff = Some(crate::github::cutoff(&[], None, now(), Duration::ZERO));
        let a_day = chrono::Duration::days(1);
        let ahead = policy.on_herokus_clock(|local| local - a_day);
        assert_eq!(ahead.cutoff.unwrap().at, now() - a_day);
        let behind = policy.on_herokus_clock(|local| local + a_day);
        assert_eq!(behind.cutoff.unwrap().at, now());
    }

    #[test]
    fn a_team_scope_deletes_only_the_teams_apps() {
        let team = |name: &str| {
            Some(Team {
                id: format!("id-{name}"),
                name: name.into(),
            })
        };
        let mut ours = app("hatchet-t-0ours", 60);
        ours.team = team("ci");
        let mut theirs = app("hatchet-t-0theirs", 60);
        theirs.team = team("other");
        let personal = app("hatchet-t-0personal", 60);
        let mut policy = policy();
        policy.scope = Scope::Team("ci".into());
        let decisions = plan(&[ours, theirs, personal], now(), &policy, Some(ME));
        let mut got: Vec<(&str, Verdict, &str)> = decisions
            .iter()
            .map(|d| (d.app.name.as_str(), d.verdict, d.reason.as_str()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("hatchet-t-0ours", Verdict::Delete, "older than 10m"),
                (
                    "hatchet-t-0personal",
                    Verdict::NotOwned,
                    "listed under team `ci` but belongs to no team; not the team's"
                ),
                (
                    "hatchet-t-0theirs",
                    Verdict::NotOwned,
                    "listed under team `ci` but belongs to team `other`; not the team's"
                ),
            ]
        );
    }

    #[test]
    fn nothing_of_the_account_is_deleted_while_its_owner_is_unknown() {
        let mut ownerless = app("hatchet-t-0ownerless", 60);
        ownerless.owner = None;
        let decisions = plan(&[ownerless], now(), &policy(), Some(ME));
        assert_eq!(decisions[0].verdict, Verdict::NotOwned);
        let decisions = plan(&[app("hatchet-t-0mine", 60)], now(), &policy(), None);
        assert_eq!(decisions[0].verdict, Verdict::NotOwned);
        assert!(decisions[0].reason.contains("unknown"));
    }
}
