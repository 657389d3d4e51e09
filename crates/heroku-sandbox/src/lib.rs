//! A Heroku-compatible API on loopback, for tests, benchmarks and `heroku-reaper demo`.
//!
//! It serves what a reaper uses (`GET /account`, `GET /account/rate-limits`,
//! `GET /apps`, `GET /teams/{team}/apps`, `GET` and `DELETE /apps/{app}`, pipelines) and
//! what the Heroku CLI's `apps`, `apps:info`, `apps:create` and `apps:destroy` call
//! (`GET /users/~/apps`, `POST /apps` up to the account's app limit, an app's add-ons,
//! dynos, collaborators and pipeline coupling) with Heroku's status codes, headers,
//! Range paging and GCRA rate limit, over apps seeded from a number so runs repeat. `GET /__sandbox/stats` and `GET /__sandbox/apps` let test
//! scripts see what happened; they need no credentials and are not counted. Faults
//! (`faults.rs`) are injected one at a time or drawn from a seeded mix.

mod args;
mod command;
mod duration;
mod faults;
mod gcra;
#[cfg(any(test, feature = "test-hooks"))]
mod hooks;
mod http;
mod json;
mod model;
mod options;
mod range;
mod seed;
mod store;
#[cfg(feature = "test-hooks")]
pub mod wire;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::http::Method;
use chrono::{DateTime, SubsecRound, Utc};
use fastrand::Rng;
use serde::Serialize;
use tokio::sync::watch;

pub use args::{SandboxArgs, SeedArgs, ServerArgs};
pub use command::run;
/// How the sandbox's options read a duration: for heroku-reaper's test that holds it to
/// the grammar of heroku-reaper's own options.
#[cfg(feature = "test-hooks")]
pub use duration::parse as parse_duration;
pub use faults::{Fault, FaultMix, Kind as FaultKind, Loss, Oddity};
pub use options::{DEFAULT_TOKEN, Options, Seed, Server};

use faults::RandomFaults;
use gcra::Pool;
use model::World;
use store::Store;

/// Why the seed made the app.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Matching and older than `stale_age`: a reaper should delete it.
    Stale,
    /// Matching and younger than `fresh_age`: a test may still use it.
    Fresh,
    /// Owned by the account, with a name that does not match.
    Other,
    /// Matching, of the account's team.
    Team,
    /// Matching, owned by another user the account collaborates with.
    Collaborator,
    /// Added by a test after start.
    Added,
    /// Created through `POST /apps`.
    Created,
}

/// An app as tests see it.
#[derive(Clone, Debug, Serialize)]
pub struct SandboxApp {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub role: Role,
    /// The team's name, for a team app.
    pub team: Option<String>,
    pub owner_id: String,
}

/// A pipeline as tests see it.
#[derive(Clone, Debug, Serialize)]
pub struct SandboxPipeline {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub owner_id: String,
    /// Ids of the apps coupled to it.
    pub apps: Vec<String>,
}

/// What the sandbox has answered so far.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Every request that reached an API route (401, 406 and 429 included).
    pub requests: u64,
    /// Keyed `"METHOD /route STATUS"`, the route as its template: `"DELETE /apps/{app} 404"`.
    pub by_status: BTreeMap<String, u64>,
    /// 200 and 206 responses to `GET /apps` and `GET /teams/{team}/apps`.
    pub list_pages: u64,
    /// Apps created through `POST /apps`.
    pub creates: u64,
    /// Creates refused at the account's app limit (422).
    pub refused_at_limit: u64,
    /// DELETEs that deleted an app.
    pub deletes: u64,
    /// DELETEs refused because another DELETE removed the app or is removing it. A 404
    /// for a name the sandbox never held is not one, nor a 403 for a collaborator's app.
    pub conflicts: u64,
    /// 429s.
    pub rate_limited: u64,
    /// Faults met, by name (`"reset"`, `"lost-cut"`, see [`Fault::name`]).
    pub faults: BTreeMap<String, u64>,
    /// DELETEs that deleted a pipeline.
    pub pipeline_deletes: u64,
    /// Pipeline DELETEs refused because another DELETE removed it or is removing it.
    pub pipeline_conflicts: u64,
    /// Requests that reached no route, keyed `"METHOD /path"` as sent: a client's
    /// mistakes, such as `DELETE /` for `DELETE /apps/..`.
    pub unrouted: BTreeMap<String, u64>,
    /// The lowest `RateLimit-Remaining` sent (the starting pool before any).
    pub min_remaining: u32,
    /// Tokens in the pool now.
    pub remaining: u32,
}

impl Stats {
    /// Answers to requests whose `"METHOD /route"` starts with `route`: `"DELETE"` for
    /// every DELETE, `"GET /apps"` for the account's list pages.
    pub fn sent(&self, route: &str) -> u64 {
        self.by_status
            .iter()
            .filter(|(key, _)| key.starts_with(route))
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests that draw from the rate-limit pool: all but `GET /account/rate-limits`,
    /// which Heroku does not count.
    pub fn counted(&self) -> u64 {
        self.requests - self.sent("GET /account/rate-limits")
    }
}

/// What `GET /__sandbox/apps` answers.
#[derive(Serialize)]
struct Listing {
    apps: Vec<SandboxApp>,
    deleted: Vec<SandboxApp>,
    /// Apps whose DELETE is in flight; they are in `apps` too.
    deleting: Vec<SandboxApp>,
}

/// State shared by the handle and the server.
struct Shared {
    token: String,
    server: Server,
    world: World,
    started: Instant,
    store: Mutex<Store>,
}

impl Shared {
    /// The seeded world, its apps and pipelines, and the store that serves them.
    fn new(token: String, seed: &Seed, server: Server) -> Shared {
        let now = skewed_now(&server);
        let mut rng = Rng::with_seed(seed.seed);
        let world = seed::world(&mut rng, &seed.team_name, now);
        let apps = seed::apps(seed, &world, now, &mut rng);
        let mut pipeline_rng = Rng::with_seed(seed.seed ^ PIPELINE_STREAM);
        let (pipelines, couplings) = seed::pipelines(seed, &world, &apps, now, &mut pipeline_rng);
        let starting = server
            .rate_limit_remaining
            .unwrap_or(server.rate_limit_pool);
        let pool = Pool::new(
            server.rate_limit_pool,
            starting,
            server.rate_limit_refill_per_minute,
        );
        let latency = Rng::with_seed(seed.seed ^ LATENCY_STREAM);
        let mut store = Store::new(world.account.identity.id.clone(), apps, pool, rng, latency)
            .with_pipelines(pipelines, couplings);
        if let Some(mix) = &server.faults {
            store.draw_faults(RandomFaults::new(
                mix.clone(),
                server.fault_seed,
                server.fault_delay,
            ));
        }
        Shared {
            token,
            server,
            world,
            started: Instant::now(),
            store: Mutex::new(store),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // Every change under the lock is whole, so a panic elsewhere leaves it usable.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The sandbox's wall clock, `clock_skew` off the machine's, in whole seconds as
    /// Heroku's times are (unless told finer, for runs faster than real time).
    fn now(&self) -> DateTime<Utc> {
        skewed_now(&self.server)
    }

    /// The rate-limit pool's clock.
    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn latency(&self, method: &Method) -> Duration {
        let server = &self.server;
        let base = match server.delete_latency {
            Some(latency) if method == Method::DELETE => latency,
            _ => server.latency,
        };
        let jitter = match server.delete_jitter {
            Some(jitter) if method == Method::DELETE => jitter,
            _ => server.jitter,
        };
        if base.is_zero() || jitter == 0.0 {
            return base;
        }
        let draw = self.store().latency_draw();
        http::jittered(base, jitter, draw)
    }

    fn stats(&self) -> Stats {
        self.store().stats(self.elapsed())
    }

    fn apps(&self) -> Vec<SandboxApp> {
        summaries(self.store().apps())
    }

    fn deleted(&self) -> Vec<SandboxApp> {
        summaries(self.store().deleted())
    }

    fn deleting(&self) -> Vec<SandboxApp> {
        summaries(self.store().deleting())
    }

    /// All three lists from one moment, so no app shows in two of them or in none.
    fn listing(&self) -> Listing {
        let store = self.store();
        Listing {
            apps: summaries(store.apps()),
            deleted: summaries(store.deleted()),
            deleting: summaries(store.deleting()),
        }
    }
}

fn skewed_now(server: &Server) -> DateTime<Utc> {
    let digits = if server.subsecond_timestamps { 3 } else { 0 };
    (Utc::now() + server.clock_skew).trunc_subsecs(digits)
}

fn summaries<'a>(apps: impl IntoIterator<Item = &'a model::App>) -> Vec<SandboxApp> {
    apps.into_iter().map(model::App::summary).collect()
}

/// How long a stopping sandbox waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Latency jitter draws from its own stream, so that serving more or fewer requests
/// does not change the ids of apps added later.
const LATENCY_STREAM: u64 = 0x9e37_79b9_7f4a_7c15;

/// Pipelines draw from their own stream too, so seeding them changes no app's id.
const PIPELINE_STREAM: u64 = 0x85eb_ca6b_c2b2_ae35;

/// A running sandbox; dropping it stops the server.
pub struct Sandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Starts serving on its own thread with its own tokio runtime, so it works from sync
    /// tests and from inside another runtime alike.
    pub fn start(options: Options) -> anyhow::Result<Sandbox> {
        options.validate()?;
        let Options {
            port,
            token,
            seed,
            server,
        } = options;
        let shared = Arc::new(Shared::new(token, &seed, server));
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .with_context(|| format!("cannot listen on 127.0.0.1:{port} (pass `--port 0` to let the OS pick a free port)"))?;
        listener
            .set_nonblocking(true)
            .context("cannot make the sandbox's socket non-blocking")?;
        let addr = listener
            .local_addr()
            .context("cannot read the sandbox's port")?;
        let router = http::router(shared.clone());
        let (stop, stopped) = watch::channel(false);
        let (ready, started) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("sandbox-{}", addr.port()))
            .spawn(move || serve(listener, router, stopped, ready))
            .context("cannot start the sandbox's thread")?;
        let outcome = started
            .recv()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the sandbox's thread ended while starting")));
        if let Err(error) = outcome {
            let _ = thread.join();
            return Err(error);
        }
        Ok(Sandbox {
            shared,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn token(&self) -> &str {
        &self.shared.token
    }

    pub fn account_id(&self) -> &str {
        &self.shared.world.account.identity.id
    }

    pub fn team_name(&self) -> &str {
        &self.shared.world.team.name
    }

    pub fn team_id(&self) -> &str {
        &self.shared.world.team.id
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The apps that exist now, those being deleted included.
    pub fn apps(&self) -> Vec<SandboxApp> {
        self.shared.apps()
    }

    /// The apps deleted so far, in order of deletion.
    pub fn deleted(&self) -> Vec<SandboxApp> {
        self.shared.deleted()
    }

    /// The apps whose DELETE is in flight now.
    pub fn deleting(&self) -> Vec<SandboxApp> {
        self.shared.deleting()
    }

    /// The pipelines that exist now, with the apps coupled to each.
    pub fn pipelines(&self) -> Vec<SandboxPipeline> {
        let store = self.shared.store();
        let couplings = store.couplings();
        store
            .pipelines()
            .iter()
            .map(|pipeline| pipeline.summary(couplings))
            .collect()
    }

    /// The pipelines deleted so far, in order of deletion.
    pub fn deleted_pipelines(&self) -> Vec<SandboxPipeline> {
        let store = self.shared.store();
        store
            .deleted_pipelines()
            .iter()
            .map(|pipeline| pipeline.summary(&[]))
            .collect()
    }

    /// Stops serving and waits for the server's thread (as dropping does).
    pub fn stop(self) {}
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The server's thread: a runtime of its own, serving until told to stop.
fn serve(
    listener: std::net::TcpListener,
    router: Router,
    stop: watch::Receiver<bool>,
    ready: mpsc::Sender<anyhow::Result<()>>,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sandbox-worker")
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(
                anyhow::Error::new(error).context("cannot start the sandbox's runtime")
            ));
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(error) => {
                let _ =
                    ready
                        .send(Err(anyhow::Error::new(error)
                            .context("cannot serve on the sandbox's socket")));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        // A dropped sender also means stop.
        let stopped = |mut stop: watch::Receiver<bool>| async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        let graceful = axum::serve(listener, router).with_graceful_shutdown(stopped(stop.clone()));
        // A client that never finishes its request must not keep the sandbox up.
        let cut_off = async {
            stopped(stop).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            outcome = graceful => {
                if let Err(error) = outcome {
                    tracing::error!(%error, "the sandbox stopped serving");
                }
            }
            () = cut_off => {}
        }
    });
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
}
