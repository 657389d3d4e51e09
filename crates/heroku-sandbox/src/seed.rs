//! The apps a sandbox starts with, drawn from a seeded generator so that the same
//! seed gives the same account, team, ids and names.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use fastrand::Rng;

use super::Role;
use super::Seed;
use super::model::{
    Account, App, Coupling, Identity, Pipeline, Region, Release, Stack, Team, World,
    is_valid_app_name,
};

/// A random version-4 UUID in its canonical lowercase form.
pub fn uuid_v4(rng: &mut Rng) -> String {
    // Version 4 goes in bits 76..80, the RFC 4122 variant (binary 10) in bits 62..64.
    const VERSION_MASK: u128 = 0xf << 76;
    const VARIANT_MASK: u128 = 0x3 << 62;
    let random = rng.u128(..) & !VERSION_MASK & !VARIANT_MASK;
    let bits = random | (0x4 << 76) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `digits` random lowercase hex digits.
pub fn hex(rng: &mut Rng, digits: usize) -> String {
    (0..digits)
        .map(|_| char::from_digit(rng.u32(..16), 16).expect("a digit below 16"))
        .collect()
}

/// A name as Heroku makes one when a create gives none: `adjective-noun-12345`.
pub fn app_name(rng: &mut Rng) -> String {
    const ADJECTIVES: [&str; 12] = [
        "ancient",
        "bright",
        "calm",
        "damp",
        "eager",
        "fathomless",
        "gentle",
        "hidden",
        "icy",
        "lively",
        "quiet",
        "sleepy",
    ];
    const NOUNS: [&str; 12] = [
        "brook", "cliffs", "dawn", "forest", "garden", "harbor", "lake", "meadow", "peak", "river",
        "shore", "wave",
    ];
    let adjective = ADJECTIVES[rng.usize(..ADJECTIVES.len())];
    let noun = NOUNS[rng.usize(..NOUNS.len())];
    format!("{adjective}-{noun}-{:05}", rng.u32(..100_000))
}

/// `age` before `now`; an age too large for the calendar gives the Unix epoch.
pub fn ago(now: DateTime<Utc>, age: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// The account, its team and the collaborator. Draws from `rng` before the apps do.
pub fn world(rng: &mut Rng, team_name: &str, now: DateTime<Utc>) -> World {
    World {
        account: Account {
            identity: Identity {
                id: uuid_v4(rng),
                email: "sandbox@example.com".into(),
            },
            name: "Sandbox Account".into(),
            created_at: ago(now, Duration::from_secs(400 * 86_400)),
        },
        team: Team {
            id: uuid_v4(rng),
            name: team_name.into(),
        },
        collaborator: Identity {
            id: uuid_v4(rng),
            email: "collaborator@example.com".into(),
        },
    }
}

/// An app created `created_at`, with a fresh id and no release yet.
pub fn app(
    rng: &mut Rng,
    name: &str,
    created_at: DateTime<Utc>,
    role: Role,
    owner: Identity,
    team: Option<Team>,
) -> App {
    App {
        id: uuid_v4(rng),
        name: name.into(),
        created_at,
        role,
        owner,
        team,
        region: Region::Us,
        stack: Stack::Heroku24,
        release: None,
    }
}

const BUILDPACKS: [&str; 6] = ["Ruby", "Node.js", "Python", "Go", "PHP", "Java"];

/// Every seeded app. `now` should be whole seconds, as served date-times are.
///
/// Stale, team and collaborator apps are `stale_age` old or a few seconds older, each a
/// second apart; fresh apps are between half `fresh_age` and `fresh_age` old; other apps
/// are days older than `stale_age`. So the ages say what they are whatever the counts.
pub fn apps(seed: &Seed, world: &World, now: DateTime<Utc>, rng: &mut Rng) -> Vec<App> {
    let mut names = HashSet::new();
    let mut apps = Vec::new();
    let account = &world.account.identity;
    let mut add =
        |rng: &mut Rng, role, name: String, age, owner: &Identity, team: Option<&Team>| {
            let app = app(
                rng,
                &name,
                ago(now, age),
                role,
                owner.clone(),
                team.cloned(),
            );
            apps.push(with_region_and_release(app, rng, now));
        };
    // Old matching apps differ only in whose they are.
    let team_owner = world.team.owner();
    let old_matching = [
        (Role::Stale, seed.stale, account, None),
        (Role::Team, seed.team_apps, &team_owner, Some(&world.team)),
        (
            Role::Collaborator,
            seed.collaborator_apps,
            &world.collaborator,
            None,
        ),
    ];
    for (role, count, owner, team) in old_matching {
        for n in 0..count {
            let name = matching_name(rng, &seed.prefix, &mut names);
            let age = seed.stale_age + Duration::from_secs(n as u64);
            add(rng, role, name, age, owner, team);
        }
    }
    for n in 0..seed.fresh {
        let name = matching_name(rng, &seed.prefix, &mut names);
        let age = seed
            .fresh_age
            .mul_f64(1.0 - n as f64 / (2 * seed.fresh) as f64);
        add(rng, Role::Fresh, name, age, account, None);
    }
    for n in 0..seed.other {
        let name = other_name(rng, n, &seed.prefix, &mut names);
        let age = seed.stale_age + Duration::from_secs(86_400 * rng.u64(1..=720));
        add(rng, Role::Other, name, age, account, None);
    }
    apps
}

/// `app` as seeding leaves it: in the EU one time in four, and released (before `now`)
/// four times in five.
fn with_region_and_release(mut app: App, rng: &mut Rng, now: DateTime<Utc>) -> App {
    if rng.u8(..4) == 0 {
        app.region = Region::Eu;
    }
    // One app in five never got a release: its first build failed.
    if rng.u8(..5) != 0 {
        let released = app.created_at + TimeDelta::seconds(rng.i64(20..=120));
        app.release = Some(Release {
            at: released.min(now),
            slug_size: rng.u64(5_000_000..=250_000_000),
            buildpack: BUILDPACKS[rng.usize(..BUILDPACKS.len())],
        });
    }
    app
}

/// A pipeline of `owner` (a user), with a fresh id.
pub fn pipeline(
    rng: &mut Rng,
    name: &str,
    created_at: DateTime<Utc>,
    owner: &Identity,
) -> Pipeline {
    Pipeline {
        id: uuid_v4(rng),
        name: name.into(),
        created_at,
        owner_id: owner.id.clone(),
        owner_type: "user",
    }
}

/// An app coupled to a pipeline at the stage Hatchet's CI tests use.
pub fn coupling(
    rng: &mut Rng,
    pipeline_id: &str,
    app_id: &str,
    created_at: DateTime<Utc>,
) -> Coupling {
    Coupling {
        id: uuid_v4(rng),
        pipeline_id: pipeline_id.into(),
        app_id: app_id.into(),
        stage: "development",
        created_at,
    }
}

/// Hatchet's CI habit: a pipeline named after each stale and fresh app, made with it and
/// coupled to it; and `orphan_pipelines` old matching pipelines whose apps are gone.
pub fn pipelines(
    seed: &Seed,
    world: &World,
    apps: &[App],
    now: DateTime<Utc>,
    rng: &mut Rng,
) -> (Vec<Pipeline>, Vec<Coupling>) {
    let account = &world.account.identity;
    let mut pipelines = Vec::new();
    let mut couplings = Vec::new();
    let coupled = apps
        .iter()
        .filter(|app| seed.coupled_pipelines && matches!(app.role, Role::Stale | Role::Fresh));
    for app in coupled {
        let pipeline = pipeline(rng, &app.name, app.created_at, account);
        couplings.push(coupling(rng, &pipeline.id, &app.id, app.created_at));
        pipelines.push(pipeline);
    }
    let mut names: HashSet<String> = apps.iter().map(|app| app.name.clone()).collect();
    for n in 0..seed.orphan_pipelines {
        let name = matching_name(rng, &seed.prefix, &mut names);
        let created_at = ago(now, seed.stale_age + Duration::from_secs(n as u64));
        pipelines.push(pipeline(rng, &name, created_at, account));
    }
    (pipelines, couplings)
}

/// Hatchet's form: the prefix and 10 hex digits.
fn matching_name(rng: &mut Rng, prefix: &str, taken: &mut HashSet<String>) -> String {
    loop {
        let name = format!("{prefix}{}", hex(rng, 10));
        if taken.insert(name.clone()) {
            return name;
        }
    }
}

/// A name that does not start with `prefix`: production and staging apps, and near
/// misses that share the prefix's first letters (`hatchet-x-…`, `hatchet-tx-…`).
fn other_name(rng: &mut Rng, n: usize, prefix: &str, taken: &mut HashSet<String>) -> String {
    let stem = prefix.trim_end_matches('-');
    let family = stem.split('-').next().unwrap_or(stem);
    // A prefix that shadows every template still leaves a name with another first letter.
    let elsewhere = if prefix.starts_with('a') { "b" } else { "a" };
    loop {
        let candidates = [
            format!("billing-api-prod-{}", hex(rng, 4)),
            format!("{family}-x-{}", hex(rng, 10)),
            format!("staging-web-{}", hex(rng, 4)),
            format!("{stem}x-{}", hex(rng, 6)),
            format!("marketing-site-{}", hex(rng, 4)),
            format!("{family}-dashboard-{}", hex(rng, 4)),
            format!("{elsewhere}pp-{}", hex(rng, 6)),
        ];
        let fits = |name: &&String| is_valid_app_name(name) && !name.starts_with(prefix);
        // Take turns over the templates; the last one is only the fallback.
        let (fallback, templates) = candidates.split_last().expect("templates");
        let pick = (0..templates.len())
            .map(|k| &templates[(n + k) % templates.len()])
            .chain([fallback])
            .find(fits)
            .cloned();
        if let Some(name) = pick
            && taken.insert(name.clone())
        {
            return name;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-27T12:00:00Z".parse().unwrap()
    }

    fn seeded(seed: &Seed) -> (World, Vec<App>) {
        let mut rng = Rng::with_seed(seed.seed);
        let world = world(&mut rng, &seed.team_name, now());
        let apps = apps(seed, &world, now(), &mut rng);
        (world, apps)
    }

    fn is_uuid_v4(text: &str) -> bool {
        let groups: Vec<&str> = text.split('-').collect();
        groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
            && groups.iter().all(|g| {
                g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
            && groups[2].starts_with('4')
            && groups[3].starts_with(['8', '9', 'a', 'b'])
    }

    #[test]
    fn uuids_are_canonical_version_4() {
        let mut rng = Rng::with_seed(7);
        for _ in 0..1000 {
            let id = uuid_v4(&mut rng);
            assert!(is_uuid_v4(&id), "{id}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_world_and_apps() {
        let seed = Seed::default();
        let (world_a, a) = seeded(&seed);
        let (world_b, b) = seeded(&seed);
        assert_eq!(world_a.account.identity, world_b.account.identity);
        let ids = |apps: &[App]| {
            apps.iter()
                .map(|a| (a.id.clone(), a.name.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));

        let (_, c) = seeded(&Seed {
            seed: 2,
            ..Seed::default()
        });
        assert_ne!(ids(&a), ids(&c));
    }

    #[test]
    fn seeds_each_role_as_asked() {
        let seed = Seed::default();
        let (world, apps) = seeded(&seed);
        let count = |role| apps.iter().filter(|a| a.role == role).count();
        assert_eq!(count(Role::Stale), 30);
        assert_eq!(count(Role::Fresh), 10);
        assert_eq!(count(Role::Other), 5);
        assert_eq!(count(Role::Team), 3);
        assert_eq!(count(Role::Collaborator), 2);

        let account = &world.account.identity.id;
        for app in &apps {
            assert!(is_valid_app_name(&app.name), "{}", app.name);
            assert!(is_uuid_v4(&app.id));
            let hatchet = app.name.starts_with("hatchet-t-");
            assert_eq!(hatchet, app.role != Role::Other, "{}", app.name);
            if hatchet {
                let digits = &app.name["hatchet-t-".len()..];
                assert_eq!(digits.len(), 10);
                assert!(
                    digits
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                );
            }
            match app.role {
                Role::Team => {
                    assert_eq!(app.team.as_ref(), Some(&world.team));
                    assert_eq!(app.owner, world.team.owner());
                }
                Role::Collaborator => assert_eq!(app.owner, world.collaborator),
                _ => assert_eq!(&app.owner.id, account),
            }
            assert!(app.updated_at() >= app.created_at && app.updated_at() <= now());
        }
        let names: HashSet<_> = apps.iter().map(|a| &a.name).collect();
        assert_eq!(names.len(), apps.len());
    }

    #[test]
    fn pipelines_follow_hatchets_habit() {
        let seed = Seed::default();
        let (world, apps) = seeded(&seed);
        let (pipelines, couplings) = pipelines(&seed, &world, &apps, now(), &mut Rng::with_seed(9));
        assert_eq!(pipelines.len(), 30 + 10 + 3);
        for app in apps
            .iter()
            .filter(|a| matches!(a.role, Role::Stale | Role::Fresh))
        {
            let pipeline = pipelines.iter().find(|p| p.name == app.name).unwrap();
            assert_eq!(pipeline.created_at, app.created_at);
            let coupled: Vec<_> = couplings
                .iter()
                .filter(|c| c.pipeline_id == pipeline.id)
                .map(|c| &c.app_id)
                .collect();
            assert_eq!(coupled, [&app.id]);
        }
        let names: HashSet<_> = apps.iter().map(|a| &a.name).collect();
        let orphans: Vec<_> = pipelines
            .iter()
            .filter(|p| !names.contains(&p.name))
            .collect();
        assert_eq!(orphans.len(), 3);
        for orphan in orphans {
            assert!(orphan.name.starts_with("hatchet-t-"));
            assert!(now() - orphan.created_at >= TimeDelta::minutes(30));
            assert!(couplings.iter().all(|c| c.pipeline_id != orphan.id));
        }
        assert!(
            pipelines
                .iter()
                .all(|p| p.owner_id == world.account.identity.id)
        );

        let none = Seed {
            coupled_pipelines: false,
            orphan_pipelines: 0,
            ..Seed::default()
        };
        let (seeded, coupled) =
            super::pipelines(&none, &world, &apps, now(), &mut Rng::with_seed(9));
        assert!(seeded.is_empty() && coupled.is_empty());
    }

    #[test]
    fn ages_say_what_the_apps_are() {
        let seed = Seed {
            stale: 500,
            fresh: 500,
            ..Seed::default()
        };
        let (_, apps) = seeded(&seed);
        for app in &apps {
            let age = (now() - app.created_at).to_std().unwrap();
            match app.role {
                Role::Fresh => assert!(age <= seed.fresh_age && age >= seed.fresh_age / 2),
                _ => assert!(age >= seed.stale_age),
            }
        }
    }

    #[test]
    fn other_names_miss_the_prefix_yet_share_its_start() {
        for prefix in ["hatchet-t-", "hatchet-", "ci-", "a", "billing-"] {
            let seed = Seed {
                other: 40,
                prefix: prefix.into(),
                ..Seed::default()
            };
            let (_, apps) = seeded(&seed);
            let others: Vec<_> = apps.iter().filter(|a| a.role == Role::Other).collect();
            assert_eq!(others.len(), 40);
            for app in others {
                assert!(is_valid_app_name(&app.name), "{}", app.name);
                assert!(!app.name.starts_with(prefix), "{} vs {prefix}", app.name);
            }
        }
        let (_, apps) = seeded(&Seed {
            other: 12,
            ..Seed::default()
        });
        let near_misses = apps
            .iter()
            .filter(|a| a.role == Role::Other && a.name.starts_with("hatchet-"))
            .count();
        assert!(near_misses >= 2);
    }

    #[test]
    fn ages_beyond_the_calendar_stop_at_the_epoch() {
        assert_eq!(ago(now(), Duration::MAX), DateTime::UNIX_EPOCH);
        assert_eq!(
            ago(now(), Duration::from_secs(60)),
            "2026-11-27T11:59:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
