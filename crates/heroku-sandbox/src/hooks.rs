//! What only tests call: apps and pipelines added after start, faults injected on cue,
//! the rate-limit pool set. Built for this crate's tests and with the `test-hooks`
//! feature (heroku-reaper's dev-dependency), so the shipped binary does without.

use std::time::Duration;

use super::model::{self, Identity, Team, is_valid_app_name};
use super::{Fault, Oddity, Role, Sandbox, SandboxApp, SandboxPipeline, seed};

impl Sandbox {
    /// Adds an app owned by the account, created `age` ago.
    ///
    /// # Panics
    /// If `name` breaks Heroku's naming rule or an app of that name exists.
    pub fn add_app(&self, name: &str, age: Duration, role: Role) -> SandboxApp {
        let owner = self.shared.world.account.identity.clone();
        self.add(name, age, role, owner, None)
    }

    /// Adds an app owned by the account with this `id`, which need not be a UUID: a
    /// listing that holds ids no real API sends, such as `..`. Panics as
    /// [`Sandbox::add_app`].
    pub fn add_app_with_id(&self, name: &str, id: &str, age: Duration) -> SandboxApp {
        let owner = self.shared.world.account.identity.clone();
        self.add_as(name, Some(id), age, Role::Added, owner, None)
    }

    /// Adds an app of the account's team, created `age` ago. Panics as [`Sandbox::add_app`].
    pub fn add_team_app(&self, name: &str, age: Duration) -> SandboxApp {
        let team = self.shared.world.team.clone();
        self.add(name, age, Role::Team, team.owner(), Some(team))
    }

    /// Adds an app of another user that the account collaborates on, created `age` ago.
    /// Panics as [`Sandbox::add_app`].
    pub fn add_collaborator_app(&self, name: &str, age: Duration) -> SandboxApp {
        let owner = self.shared.world.collaborator.clone();
        self.add(name, age, Role::Collaborator, owner, None)
    }

    fn add(
        &self,
        name: &str,
        age: Duration,
        role: Role,
        owner: Identity,
        team: Option<Team>,
    ) -> SandboxApp {
        self.add_as(name, None, age, role, owner, team)
    }

    fn add_as(
        &self,
        name: &str,
        id: Option<&str>,
        age: Duration,
        role: Role,
        owner: Identity,
        team: Option<Team>,
    ) -> SandboxApp {
        assert!(
            is_valid_app_name(name),
            "`{name}` is not an app name Heroku allows: `^[a-z][a-z0-9-]{{1,28}}[a-z0-9]$`"
        );
        let created_at = seed::ago(self.shared.now(), age);
        let mut store = self.shared.store();
        let mut app = seed::app(store.id_rng(), name, created_at, role, owner, team);
        if let Some(id) = id {
            app.id = id.to_string();
        }
        let added = store.insert(app).map(model::App::summary);
        drop(store);
        added.unwrap_or_else(|| panic!("an app named `{name}` exists already"))
    }

    /// Adds a pipeline owned by the account, created `age` ago.
    ///
    /// # Panics
    /// If `name` breaks Heroku's naming rule for pipelines or one of that name exists.
    pub fn add_pipeline(&self, name: &str, age: Duration) -> SandboxPipeline {
        assert!(
            model::is_valid_pipeline_name(name),
            "`{name}` is not a pipeline name Heroku allows: `^[a-z][a-z0-9-]{{2,29}}$`"
        );
        let created_at = seed::ago(self.shared.now(), age);
        let owner = &self.shared.world.account.identity;
        let mut store = self.shared.store();
        let pipeline = seed::pipeline(store.id_rng(), name, created_at, owner);
        let added = store.insert_pipeline(pipeline).map(|p| p.summary(&[]));
        drop(store);
        added.unwrap_or_else(|| panic!("a pipeline named `{name}` exists already"))
    }

    /// Couples the app `app_id` to the pipeline `pipeline_id`.
    ///
    /// # Panics
    /// If either does not exist.
    pub fn couple(&self, pipeline_id: &str, app_id: &str) {
        let mut store = self.shared.store();
        let created_at = self.shared.now();
        let coupling = seed::coupling(store.id_rng(), pipeline_id, app_id, created_at);
        assert!(
            store.couple(coupling).is_some(),
            "no pipeline `{pipeline_id}` or no app `{app_id}` to couple"
        );
    }

    /// The next `times` requests to `route` meet `fault`. `route` is the method and the
    /// route's template, as in [`Stats::by_status`]: `"GET /apps"`, `"DELETE /apps/{app}"`.
    pub fn inject(&self, route: &str, fault: Fault, times: usize) {
        self.shared.store().inject(route, 0, fault, times);
    }

    /// As [`Sandbox::inject`], after letting the next `skip` requests to `route` through.
    pub fn inject_after(&self, route: &str, skip: usize, fault: Fault, times: usize) {
        self.shared.store().inject(route, skip, fault, times);
    }

    /// From now on, every listing serves the app `id` with `oddity`.
    pub fn list_oddly(&self, id: &str, oddity: Oddity) {
        self.shared.store().list_oddly(id, oddity);
    }

    /// Someone else (a person, Hatchet's own reaping, a run that died) deletes the apps
    /// `ids` right after the next list page is served: the listing still shows them.
    pub fn delete_after_next_listing(&self, ids: &[String]) {
        self.shared.store().delete_after_next_listing(ids);
    }

    /// Empties or fills the rate-limit pool to `remaining` (at most its capacity).
    pub fn set_rate_limit_remaining(&self, remaining: u32) {
        let now = self.shared.elapsed();
        self.shared.store().set_remaining(remaining, now);
    }
}
