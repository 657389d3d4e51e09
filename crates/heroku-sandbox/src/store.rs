//! The sandbox's mutable state: the apps, the deletes in flight, the rate-limit pool
//! and the counters. No I/O and no clock of its own: callers pass the time, so every
//! rule here is tested directly.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use fastrand::Rng;

use super::Stats;
use super::faults::{Fault, Oddity, RandomFaults};
use super::gcra::Pool;
use super::model::{App, Coupling, Pipeline};

/// Why a DELETE is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No app by that id or name, and none was deleted: 404, not a conflict.
    Unknown,
    /// Another DELETE already removed it: 404, a conflict.
    Gone,
    /// Another DELETE of it is in flight: 403, a conflict.
    Deleting,
    /// The account only collaborates on it: 403, not a conflict.
    NotOwner,
}

/// Why `POST /apps` made no app.
#[derive(Debug, PartialEq, Eq)]
pub enum CreateRefusal {
    /// An app of that name exists (being deleted included): 422.
    Taken,
    /// The account owns `limit` apps already: 422.
    AtLimit,
}

pub struct Store {
    account_id: String,
    /// In the order they were made; listings sort them as asked.
    apps: Vec<App>,
    /// Ids of the apps whose DELETE is in flight.
    deleting: HashSet<String>,
    deleted: Vec<App>,
    pool: Pool,
    stats: Stats,
    /// Ids of apps added after seeding.
    ids: Rng,
    latency: Rng,
    /// Faults a test asked for, taken in order by the requests they match.
    faults: Vec<Injected>,
    /// Faults drawn at random, when there is no injected one.
    random: Option<RandomFaults>,
    pipelines: Vec<Pipeline>,
    couplings: Vec<Coupling>,
    /// Ids of the pipelines whose DELETE is in flight.
    deleting_pipelines: HashSet<String>,
    deleted_pipelines: Vec<Pipeline>,
    /// How listings serve some apps, by id, when a test asked.
    oddities: HashMap<String, Oddity>,
    /// Apps someone else deletes right after the next list page is served, when a
    /// test asked.
    gone_after_listing: Vec<String>,
}

/// A fault waiting for `times` more requests to `route` (`"METHOD /route"`).
struct Injected {
    route: String,
    /// Requests to let through first.
    skip: usize,
    fault: Fault,
    times: usize,
}

impl Store {
    pub fn new(account_id: String, apps: Vec<App>, pool: Pool, ids: Rng, latency: Rng) -> Store {
        let start = pool.clone().remaining(Duration::ZERO);
        Store {
            account_id,
            apps,
            deleting: HashSet::new(),
            deleted: Vec::new(),
            pool,
            stats: Stats {
                min_remaining: start,
                remaining: start,
                ..Stats::default()
            },
            ids,
            latency,
            faults: Vec::new(),
            random: None,
            pipelines: Vec::new(),
            couplings: Vec::new(),
            deleting_pipelines: HashSet::new(),
            deleted_pipelines: Vec::new(),
            oddities: HashMap::new(),
            gone_after_listing: Vec::new(),
        }
    }

    /// The store with these pipelines and couplings as well.
    pub fn with_pipelines(mut self, pipelines: Vec<Pipeline>, couplings: Vec<Coupling>) -> Store {
        self.pipelines = pipelines;
        self.couplings = couplings;
        self
    }

    pub fn pipelines(&self) -> &[Pipeline] {
        &self.pipelines
    }

    pub fn deleted_pipelines(&self) -> &[Pipeline] {
        &self.deleted_pipelines
    }

    pub fn couplings(&self) -> &[Coupling] {
        &self.couplings
    }

    /// The couplings of a pipeline; `None` if there is no such pipeline.
    pub fn couplings_of(&self, pipeline_id: &str) -> Option<Vec<&Coupling>> {
        self.pipelines.iter().find(|p| p.id == pipeline_id)?;
        Some(
            self.couplings
                .iter()
                .filter(|coupling| coupling.pipeline_id == pipeline_id)
                .collect(),
        )
    }

    #[cfg(any(test, feature = "test-hooks"))]
    /// Adds a pipeline; `None` (and no change) if one of that name exists.
    pub fn insert_pipeline(&mut self, pipeline: Pipeline) -> Option<&Pipeline> {
        if self
            .pipelines
            .iter()
            .any(|other| other.name == pipeline.name)
        {
            return None;
        }
        self.pipelines.push(pipeline);
        self.pipelines.last()
    }

    #[cfg(any(test, feature = "test-hooks"))]
    /// Couples an app to a pipeline; `None` (and no change) unless both exist.
    pub fn couple(&mut self, coupling: Coupling) -> Option<&Coupling> {
        let known = self.pipelines.iter().any(|p| p.id == coupling.pipeline_id)
            && self.apps.iter().any(|app| app.id == coupling.app_id);
        if !known {
            return None;
        }
        self.couplings.push(coupling);
        self.couplings.last()
    }

    /// Starts deleting a pipeline by id, as [`Store::begin_delete`] does an app.
    pub fn begin_delete_pipeline(&mut self, id: &str) -> Result<Pipeline, Refusal> {
        let refusal = match self.pipelines.iter().find(|p| p.id == id) {
            Some(p) if self.deleting_pipelines.contains(&p.id) => Refusal::Deleting,
            Some(p) if p.owner_type == "user" && p.owner_id != self.account_id => Refusal::NotOwner,
            Some(p) => {
                let pipeline = p.clone();
                self.deleting_pipelines.insert(pipeline.id.clone());
                return Ok(pipeline);
            }
            None if self.deleted_pipelines.iter().any(|p| p.id == id) => Refusal::Gone,
            None => Refusal::Unknown,
        };
        if matches!(refusal, Refusal::Deleting | Refusal::Gone) {
            self.stats.pipeline_conflicts += 1;
        }
        Err(refusal)
    }

    /// Completes a pipeline's DELETE: it goes, and its couplings with it (the apps stay).
    pub fn finish_delete_pipeline(&mut self, id: &str) -> Option<Pipeline> {
        self.deleting_pipelines.remove(id);
        let at = self.pipelines.iter().position(|p| p.id == id)?;
        let pipeline = self.pipelines.remove(at);
        self.couplings.retain(|coupling| coupling.pipeline_id != id);
        self.deleted_pipelines.push(pipeline.clone());
        self.stats.pipeline_deletes += 1;
        Some(pipeline)
    }

    #[cfg(any(test, feature = "test-hooks"))]
    /// After `skip` requests to `route` (`"GET /apps"`), the next `times` meet `fault`.
    pub fn inject(&mut self, route: &str, skip: usize, fault: Fault, times: usize) {
        self.faults.push(Injected {
            route: route.to_string(),
            skip,
            fault,
            times,
        });
    }

    /// From now on, requests that meet no injected fault draw one from `random`.
    pub fn draw_faults(&mut self, random: RandomFaults) {
        self.random = Some(random);
    }

    /// The fault this request to `route` meets, if any: the injected ones first-in
    /// first-out, then a random one.
    pub fn take_fault(&mut self, route: &str) -> Option<Fault> {
        let index = self
            .faults
            .iter()
            .position(|injected| injected.route == route && injected.times > 0);
        let fault = match index {
            Some(index) if self.faults[index].skip > 0 => {
                self.faults[index].skip -= 1;
                return None;
            }
            Some(index) => {
                let injected = &mut self.faults[index];
                injected.times -= 1;
                let fault = injected.fault;
                if injected.times == 0 {
                    self.faults.remove(index);
                }
                fault
            }
            None => self.random.as_mut()?.next(route)?,
        };
        if matches!(fault, Fault::Status(429)) {
            self.stats.rate_limited += 1;
            self.stats.min_remaining = 0;
        }
        *self
            .stats
            .faults
            .entry(fault.name().to_string())
            .or_default() += 1;
        Some(fault)
    }

    pub fn apps(&self) -> &[App] {
        &self.apps
    }

    pub fn deleted(&self) -> &[App] {
        &self.deleted
    }

    pub fn deleting(&self) -> impl Iterator<Item = &App> {
        self.apps
            .iter()
            .filter(|app| self.deleting.contains(&app.id))
    }

    pub fn find(&self, id_or_name: &str) -> Option<&App> {
        self.apps.iter().find(|app| app.is_called(id_or_name))
    }

    #[cfg(any(test, feature = "test-hooks"))]
    /// Adds an app; `None` (and no change) if one of that name exists.
    pub fn insert(&mut self, app: App) -> Option<&App> {
        if self.apps.iter().any(|other| other.name == app.name) {
            return None;
        }
        self.apps.push(app);
        self.apps.last()
    }

    /// Adds an app the account creates, unless its name is taken or the account owns
    /// `limit` apps already (those being deleted count until they are gone).
    pub fn create(&mut self, app: App, limit: usize) -> Result<&App, CreateRefusal> {
        if self.apps.iter().any(|other| other.name == app.name) {
            return Err(CreateRefusal::Taken);
        }
        let owned = self
            .apps
            .iter()
            .filter(|other| other.owner.id == self.account_id)
            .count();
        if owned >= limit {
            self.stats.refused_at_limit += 1;
            return Err(CreateRefusal::AtLimit);
        }
        self.stats.creates += 1;
        self.apps.push(app);
        Ok(self.apps.last().expect("just pushed"))
    }

    /// Whether an app of this name exists, being deleted included.
    pub fn is_taken(&self, name: &str) -> bool {
        self.apps.iter().any(|app| app.name == name)
    }

    pub fn id_rng(&mut self) -> &mut Rng {
        &mut self.ids
    }

    /// A uniform draw in `0..1` for latency jitter.
    pub fn latency_draw(&mut self) -> f64 {
        self.latency.f64()
    }

    /// A request arrived at a route.
    pub fn count_request(&mut self) {
        self.stats.requests += 1;
    }

    /// A request arrived at no route: `"METHOD /path"`.
    pub fn count_unrouted(&mut self, request: String) {
        *self.stats.unrouted.entry(request).or_default() += 1;
    }

    /// Takes a token for a counted request: `Ok(left)`, or `Err(left)` for a 429.
    pub fn admit(&mut self, now: Duration) -> Result<u32, u32> {
        let taken = self.pool.take(now);
        let (Ok(left) | Err(left)) = taken;
        self.stats.min_remaining = self.stats.min_remaining.min(left);
        if taken.is_err() {
            self.stats.rate_limited += 1;
        }
        taken
    }

    /// Whole tokens left, taking none.
    pub fn remaining(&mut self, now: Duration) -> u32 {
        self.pool.remaining(now)
    }

    /// Whole tokens left, taking none, for a `RateLimit-Remaining` header.
    pub fn remaining_sent(&mut self, now: Duration) -> u32 {
        let left = self.pool.remaining(now);
        self.stats.min_remaining = self.stats.min_remaining.min(left);
        left
    }

    #[cfg(any(test, feature = "test-hooks"))]
    pub fn set_remaining(&mut self, remaining: u32, now: Duration) {
        self.pool.set_remaining(remaining, now);
    }

    /// A response left for `key` (`"METHOD /route STATUS"`).
    pub fn count_response(&mut self, key: String) {
        *self.stats.by_status.entry(key).or_default() += 1;
    }

    /// From now on, listings serve the app `id` this way.
    #[cfg(any(test, feature = "test-hooks"))]
    pub fn list_oddly(&mut self, id: &str, oddity: Oddity) {
        self.oddities.insert(id.to_string(), oddity);
    }

    /// How listings serve the app `id`, when a test asked for something odd.
    pub fn oddity(&self, id: &str) -> Option<&Oddity> {
        self.oddities.get(id)
    }

    pub fn count_list_page(&mut self) {
        self.stats.list_pages += 1;
        for id in std::mem::take(&mut self.gone_after_listing) {
            if self.begin_delete(&id).is_ok() {
                self.finish_delete(&id);
            }
        }
    }

    /// Has someone else delete the apps `ids` right after the next list page is served.
    #[cfg(any(test, feature = "test-hooks"))]
    pub fn delete_after_next_listing(&mut self, ids: &[String]) {
        self.gone_after_listing.extend(ids.iter().cloned());
    }

    /// Starts deleting the app called `id_or_name`: it stays listed, and further DELETEs
    /// of it are refused, until [`Store::finish_delete`]. Counts the conflicts.
    pub fn begin_delete(&mut self, id_or_name: &str) -> Result<App, Refusal> {
        let refusal = match self.find(id_or_name) {
            Some(app) if self.deleting.contains(&app.id) => Refusal::Deleting,
            Some(app) if app.owner.id != self.account_id && app.team.is_none() => Refusal::NotOwner,
            Some(app) => {
                let app = app.clone();
                self.deleting.insert(app.id.clone());
                return Ok(app);
            }
            None if self.deleted.iter().any(|app| app.is_called(id_or_name)) => Refusal::Gone,
            None => Refusal::Unknown,
        };
        if matches!(refusal, Refusal::Deleting | Refusal::Gone) {
            self.stats.conflicts += 1;
        }
        Err(refusal)
    }

    /// Completes the DELETE begun for `id`: the app leaves the listings.
    pub fn finish_delete(&mut self, id: &str) -> Option<App> {
        self.deleting.remove(id);
        let at = self.apps.iter().position(|app| app.id == id)?;
        let app = self.apps.remove(at);
        // The app leaves its pipeline; the pipeline stays, as Heroku's sometimes do.
        self.couplings.retain(|coupling| coupling.app_id != id);
        self.deleted.push(app.clone());
        self.stats.deletes += 1;
        Some(app)
    }

    pub fn stats(&mut self, now: Duration) -> Stats {
        Stats {
            remaining: self.pool.remaining(now),
            ..self.stats.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;
    use crate::model::{Identity, Team};
    use crate::seed;

    const ACCOUNT: &str = "11111111-1111-4111-8111-111111111111";

    fn store(pool: Pool) -> Store {
        let mut rng = Rng::with_seed(3);
        let now = chrono::Utc::now();
        let me = Identity {
            id: ACCOUNT.into(),
            email: "me@example.com".into(),
        };
        let other = Identity {
            id: "22222222-2222-4222-8222-222222222222".into(),
            email: "other@example.com".into(),
        };
        let team = Team {
            id: "33333333-3333-4333-8333-333333333333".into(),
            name: "acme".into(),
        };
        let apps = vec![
            seed::app(&mut rng, "mine", now, Role::Stale, me, None),
            seed::app(&mut rng, "theirs", now, Role::Collaborator, other, None),
            seed::app(&mut rng, "ours", now, Role::Team, team.owner(), Some(team)),
        ];
        Store::new(ACCOUNT.into(), apps, pool, rng, Rng::with_seed(4))
    }

    fn names(apps: &[App]) -> Vec<&str> {
        apps.iter().map(|app| app.name.as_str()).collect()
    }

    #[test]
    fn a_delete_hides_the_app_only_once_finished() {
        let mut store = store(Pool::new(10, 10, 0.0));
        let app = store.begin_delete("mine").unwrap();
        assert_eq!(names(store.apps()), ["mine", "theirs", "ours"]);
        assert_eq!(
            names(&store.deleting().cloned().collect::<Vec<_>>()),
            ["mine"]
        );

        assert_eq!(store.finish_delete(&app.id).unwrap().name, "mine");
        assert_eq!(names(store.apps()), ["theirs", "ours"]);
        assert_eq!(names(store.deleted()), ["mine"]);
        assert_eq!(store.deleting().count(), 0);
        assert_eq!(store.stats(Duration::ZERO).deletes, 1);
    }

    #[test]
    fn racing_and_late_deletes_are_conflicts() {
        let mut store = store(Pool::new(10, 10, 0.0));
        let app = store.begin_delete("mine").unwrap();
        // By id while the first is in flight, then by name once it is done.
        assert_eq!(store.begin_delete(&app.id).unwrap_err(), Refusal::Deleting);
        store.finish_delete(&app.id);
        assert_eq!(store.begin_delete("mine").unwrap_err(), Refusal::Gone);
        assert_eq!(store.begin_delete(&app.id).unwrap_err(), Refusal::Gone);
        assert_eq!(store.stats(Duration::ZERO).conflicts, 3);
    }

    #[test]
    fn unknown_and_foreign_apps_are_refused_but_not_conflicts() {
        let mut store = store(Pool::new(10, 10, 0.0));
        assert_eq!(store.begin_delete("nobody").unwrap_err(), Refusal::Unknown);
        assert_eq!(store.begin_delete("theirs").unwrap_err(), Refusal::NotOwner);
        assert_eq!(names(store.apps()), ["mine", "theirs", "ours"]);
        assert_eq!(store.stats(Duration::ZERO).conflicts, 0);
    }

    #[test]
    fn team_apps_can_be_deleted() {
        let mut store = store(Pool::new(10, 10, 0.0));
        let app = store.begin_delete("ours").unwrap();
        assert!(store.finish_delete(&app.id).is_some());
        assert_eq!(names(store.deleted()), ["ours"]);
    }

    #[test]
    fn a_name_can_be_reused_once_its_app_is_gone() {
        let mut store = store(Pool::new(10, 10, 0.0));
        let mine = store.find("mine").unwrap().clone();
        assert!(store.insert(mine.clone()).is_none());
        let app = store.begin_delete("mine").unwrap();
        store.finish_delete(&app.id);
        assert!(store.insert(mine).is_some());
        assert_eq!(store.find("mine").unwrap().name, "mine");
    }

    /// The store, with a pipeline `p-mine` coupled to the app `mine`.
    fn with_pipeline() -> (Store, String) {
        let store = store(Pool::new(10, 10, 0.0));
        let mut rng = Rng::with_seed(5);
        let now = chrono::Utc::now();
        let owner = Identity {
            id: ACCOUNT.into(),
            email: "me@example.com".into(),
        };
        let pipeline = seed::pipeline(&mut rng, "p-mine", now, &owner);
        let id = pipeline.id.clone();
        let app = store.find("mine").unwrap().id.clone();
        let coupling = seed::coupling(&mut rng, &id, &app, now);
        (store.with_pipelines(vec![pipeline], vec![coupling]), id)
    }

    #[test]
    fn deleting_an_app_uncouples_it_and_leaves_the_pipeline() {
        let (mut store, pipeline) = with_pipeline();
        assert_eq!(store.couplings_of(&pipeline).unwrap().len(), 1);
        let app = store.begin_delete("mine").unwrap();
        store.finish_delete(&app.id);
        assert_eq!(store.couplings_of(&pipeline).unwrap().len(), 0);
        assert_eq!(store.pipelines().len(), 1);
    }

    #[test]
    fn racing_and_late_pipeline_deletes_are_conflicts() {
        let (mut store, pipeline) = with_pipeline();
        store.begin_delete_pipeline(&pipeline).unwrap();
        assert_eq!(
            store.begin_delete_pipeline(&pipeline).unwrap_err(),
            Refusal::Deleting
        );
        assert_eq!(
            store.finish_delete_pipeline(&pipeline).unwrap().name,
            "p-mine"
        );
        assert_eq!(
            store.begin_delete_pipeline(&pipeline).unwrap_err(),
            Refusal::Gone
        );
        assert_eq!(
            store.begin_delete_pipeline("nobody").unwrap_err(),
            Refusal::Unknown
        );
        // Its couplings went with it; the app stays.
        assert!(store.couplings().is_empty());
        assert!(store.find("mine").is_some());
        let stats = store.stats(Duration::ZERO);
        assert_eq!((stats.pipeline_deletes, stats.pipeline_conflicts), (1, 2));
        assert_eq!((stats.deletes, stats.conflicts), (0, 0));
    }

    #[test]
    fn couplings_need_both_ends() {
        let (mut store, pipeline) = with_pipeline();
        let mut rng = Rng::with_seed(6);
        let now = chrono::Utc::now();
        assert!(
            store
                .couple(seed::coupling(&mut rng, &pipeline, "no-app", now))
                .is_none()
        );
        let app = store.find("ours").unwrap().id.clone();
        assert!(
            store
                .couple(seed::coupling(&mut rng, "no-pipeline", &app, now))
                .is_none()
        );
        assert!(
            store
                .couple(seed::coupling(&mut rng, &pipeline, &app, now))
                .is_some()
        );
        assert_eq!(store.couplings_of(&pipeline).unwrap().len(), 2);
        assert!(store.couplings_of("no-pipeline").is_none());
    }

    #[test]
    fn injected_faults_come_after_the_skipped_requests_then_random_ones() {
        use crate::faults::{FaultMix, Kind, RandomFaults};
        let mut store = store(Pool::new(10, 10, 0.0));
        store.inject("GET /apps", 1, Fault::Reset, 2);
        store.inject("GET /apps", 0, Fault::Status(429), 1);
        let taken: Vec<_> = (0..4).map(|_| store.take_fault("GET /apps")).collect();
        assert_eq!(
            taken,
            [
                None,
                Some(Fault::Reset),
                Some(Fault::Reset),
                Some(Fault::Status(429))
            ]
        );
        assert_eq!(store.take_fault("GET /apps"), None);
        let mix = FaultMix::new([(Kind::Malformed, 1.0)]);
        store.draw_faults(RandomFaults::new(mix, 1, Duration::ZERO));
        assert_eq!(store.take_fault("GET /account"), Some(Fault::Malformed));
        let stats = store.stats(Duration::ZERO);
        assert_eq!(stats.faults["reset"], 2);
        assert_eq!(stats.faults["malformed"], 1);
        assert_eq!(stats.rate_limited, 1);
    }

    #[test]
    fn the_pool_counts_down_and_remembers_its_lowest() {
        let mut store = store(Pool::new(3, 3, 0.0));
        let now = Duration::ZERO;
        assert_eq!(store.stats(now).min_remaining, 3);
        let admitted: Vec<_> = (0..4).map(|_| store.admit(now)).collect();
        assert_eq!(admitted, [Ok(2), Ok(1), Ok(0), Err(0)]);
        store.set_remaining(3, now);
        let stats = store.stats(now);
        assert_eq!(
            (stats.min_remaining, stats.remaining, stats.rate_limited),
            (0, 3, 1)
        );
    }

    #[test]
    fn responses_are_counted_by_route_and_status() {
        let mut store = store(Pool::new(3, 3, 0.0));
        store.count_response("GET /apps 206".into());
        store.count_response("GET /apps 206".into());
        store.count_response("GET /apps 200".into());
        let stats = store.stats(Duration::ZERO);
        assert_eq!(stats.by_status["GET /apps 206"], 2);
        assert_eq!(stats.by_status["GET /apps 200"], 1);
    }
}
