//! The sandbox's HTTP face: the routes, the checks every API request passes in
//! Heroku's order (Accept, then credentials, then the rate limit), and the latency.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Extension, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use http_body::Frame;
use serde::{Deserialize, Serialize};
use tokio::time::{Instant, sleep_until};

use super::faults::{self, Fault, Loss, Oddity};
use super::json::{
    AccountJson, AppJson, CollaboratorJson, CouplingJson, ErrorJson, PipelineJson, TeamJson,
    date_time,
};
use super::model::{App, Pipeline, Region, Stack, is_valid_app_name};
use super::range::{self, ACCEPT_RANGES, Field, Range, RangeError};
use super::seed::{self, uuid_v4};
use super::store::{CreateRefusal, Refusal};
use super::{Role, Shared};

const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
const RATE_LIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const NEXT_RANGE: HeaderName = HeaderName::from_static("next-range");
const RATE_LIMITS_ROUTE: &str = "/account/rate-limits";
const RATE_LIMIT_DOCS: &str =
    "https://devcenter.heroku.com/articles/platform-api-reference#rate-limits";

pub fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/account", get(account))
        .route(RATE_LIMITS_ROUTE, get(rate_limits))
        .route("/apps", get(list_apps).post(create_app))
        .route("/users/{user}/apps", get(user_apps))
        .route("/apps/{app}", get(app_info).delete(delete_app))
        .route("/apps/{app}/addons", get(app_nothing))
        .route("/apps/{app}/dynos", get(app_nothing))
        .route("/apps/{app}/collaborators", get(app_collaborators))
        .route("/apps/{app}/pipeline-couplings", get(app_coupling))
        .route("/teams/{team}/apps", get(team_apps))
        .route("/teams/{team}", get(team_info))
        .route("/pipelines", get(list_pipelines))
        .route("/pipelines/{pipeline}", delete(delete_pipeline))
        .route(
            "/pipelines/{pipeline}/pipeline-couplings",
            get(pipeline_couplings),
        )
        // A route layer: unknown routes skip the checks and the counters.
        .route_layer(middleware::from_fn_with_state(shared.clone(), gate));
    let inspection = Router::new()
        .route("/__sandbox/stats", get(sandbox_stats))
        .route("/__sandbox/apps", get(sandbox_apps));
    api.merge(inspection)
        .fallback(no_route)
        .method_not_allowed_fallback(no_route)
        .layer(middleware::from_fn_with_state(shared.clone(), stamp))
        .with_state(shared)
}

/// A Heroku error: a status and a stable `id` to branch on.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    id: &'static str,
    message: String,
    url: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, id: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            id,
            message: message.into(),
            url: None,
        }
    }

    fn not_acceptable() -> ApiError {
        ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            "Name the API version in the Accept header: \
             `Accept: application/vnd.heroku+json; version=3`.",
        )
    }

    fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Invalid credentials provided.",
        )
    }

    fn rate_limited() -> ApiError {
        ApiError {
            url: Some(RATE_LIMIT_DOCS),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit",
                "Your account reached the API rate limit. Please wait a few minutes before making new requests.",
            )
        }
    }

    fn pipeline_not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that pipeline.",
        )
    }

    fn team_not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that team.",
        )
    }

    fn app_not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        )
    }

    /// Heroku's 404 for a `what` (a region, a stack) that does not exist.
    fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("Couldn't find that {what}."),
        )
    }

    fn invalid_params(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_params", message)
    }

    /// A failure a test injected, with the id Heroku gives that status.
    fn injected(status: u16) -> ApiError {
        if status == 429 {
            return ApiError::rate_limited();
        }
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let id = match status.as_u16() {
            400 => "bad_request",
            401 => "unauthorized",
            402 => "delinquent",
            403 => "forbidden",
            404 => "not_found",
            406 => "not_acceptable",
            409 => "conflict",
            410 => "gone",
            416 => "requested_range_not_satisfiable",
            422 => "invalid_params",
            503 => "unavailable",
            _ => "internal_server_error",
        };
        ApiError::new(status, id, "The sandbox was told to fail this request.")
    }

    fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            "The sandbox failed to answer this request.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorJson {
            id: self.id,
            message: &self.message,
            url: self.url,
        };
        json_response(self.status, &body)
    }
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).expect("the sandbox's JSON has string keys only");
    let content_type = [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )];
    (status, content_type, bytes).into_response()
}

#[derive(Clone)]
struct RequestId(String);

/// When the response to this request may leave: arrival plus its latency.
#[derive(Clone, Copy)]
struct Deadline(Instant);

/// Gives every response, whatever route or error, a `Request-Id`, and a `Date` by the
/// sandbox's clock unless a fault set one.
async fn stamp(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    let id = uuid_v4(&mut fastrand::Rng::new());
    let value = HeaderValue::from_str(&id).expect("a uuid is a valid header value");
    request.extensions_mut().insert(RequestId(id));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(REQUEST_ID, value);
    if !headers.contains_key(header::DATE) {
        let date = http_date(shared.now());
        headers.insert(
            header::DATE,
            HeaderValue::from_str(&date).expect("a date is ASCII"),
        );
    }
    response
}

/// An HTTP `Date` (IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Runs an API request on a task of its own: a real server finishes what it started
/// when the client hangs up, so a DELETE in flight still deletes and is still counted.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    tokio::spawn(serve_api(shared, request, next))
        .await
        .unwrap_or_else(|_| ApiError::internal().into_response())
}

async fn serve_api(shared: Arc<Shared>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(String::new, |path| path.as_str().to_owned());
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map_or_else(String::new, |id| id.0.clone());
    let deadline = Instant::now() + shared.latency(&method);
    shared.store().count_request();
    let Served {
        mut response,
        remaining,
        until,
    } = match admit(&shared, request.headers(), &route) {
        Ok(remaining) => {
            let fault = take_fault(&shared, &method, &route);
            serve_with(fault, remaining, request, next, deadline).await
        }
        Err((error, remaining)) => Served {
            response: error.into_response(),
            remaining,
            until: deadline,
        },
    };
    if let Some(remaining) = remaining {
        response
            .headers_mut()
            .insert(RATE_LIMIT_REMAINING, HeaderValue::from(remaining));
    }
    let status = response.status().as_u16();
    shared
        .store()
        .count_response(format!("{method} {route} {status}"));
    tracing::debug!(%method, route, status, request_id, "sandbox answered");
    sleep_until(until).await;
    response
}

/// An answer, the pool it shows, and when it may leave: not before the route's latency,
/// a fault's delay or its hold.
struct Served {
    response: Response,
    remaining: Option<u32>,
    until: Instant,
}

/// Answers a request the rate limit admitted, with `remaining` tokens left, as `fault`
/// (if any) says: in place of the route, or by changing the route's answer.
async fn serve_with(
    fault: Option<Fault>,
    remaining: u32,
    mut request: Request,
    next: Next,
    mut deadline: Instant,
) -> Served {
    let instead = match fault {
        Some(Fault::Status(status)) => Some(ApiError::injected(status).into_response()),
        Some(Fault::Error {
            status,
            id,
            message,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            Some(ApiError::new(status, id, message).into_response())
        }
        Some(Fault::Reset) => Some(reset()),
        Some(Fault::Redirect(to)) => Some(redirect(to, request.uri())),
        Some(Fault::Delay(delay)) => {
            deadline += delay;
            None
        }
        _ => None,
    };
    if let Some(response) = instead {
        let remaining = match fault {
            Some(Fault::Status(429)) => 0,
            _ => remaining,
        };
        return Served {
            response,
            remaining: Some(remaining),
            until: deadline,
        };
    }
    let range = request.headers().get(header::RANGE).cloned();
    request.extensions_mut().insert(Deadline(deadline));
    let response = next.run(request).await;
    let (response, held) = changed_by(fault, response, range).await;
    Served {
        response,
        remaining: Some(remaining),
        until: deadline + held,
    }
}

/// The route's answer as a fault that let the route run changes it (`range`: the
/// request's), and how long the fault holds it back.
async fn changed_by(
    fault: Option<Fault>,
    response: Response,
    range: Option<HeaderValue>,
) -> (Response, Duration) {
    let changed = match fault {
        Some(Fault::Malformed) => malformed(response).await,
        Some(Fault::RepeatNextRange) => {
            let again = range.unwrap_or(HeaderValue::from_static("id ..; max=200"));
            more_pages(response, again)
        }
        Some(Fault::EndlessNextRange) => {
            let first = HeaderValue::from_str(&faults::endless_next_range(1));
            more_pages(response, first.expect("the marker is ASCII"))
        }
        Some(Fault::Lost(Loss::Cut)) => cut_short(response).await,
        Some(Fault::Lost(Loss::Held(hold))) => return (response, hold),
        Some(Fault::Padded(bytes)) => padded(response, bytes).await,
        Some(Fault::ServedAs(status)) => ApiError::injected(status).into_response(),
        Some(Fault::BadDate) => {
            let mut response = response;
            let garbled = HeaderValue::from_static("half past nine, probably");
            response.headers_mut().insert(header::DATE, garbled);
            response
        }
        _ => response,
    };
    (changed, Duration::ZERO)
}

/// A 200 whose body breaks off: the route never ran.
fn reset() -> Response {
    let head = Bytes::from_static(b"[{\"id\": \"");
    let body = Scripted::new(head, Then::Break);
    (StatusCode::OK, Body::new(body)).into_response()
}

/// The route ran, but its answer is cut partway through the body.
async fn cut_short(response: Response) -> Response {
    let (parts, half) = first_half(response).await;
    Response::from_parts(parts, Body::new(Scripted::new(half, Then::Break)))
}

/// The route ran, and its answer's JSON stops halfway, as if truncated by a proxy.
async fn malformed(response: Response) -> Response {
    let (parts, half) = first_half(response).await;
    Response::from_parts(parts, Body::from(half))
}

/// The answer's head, and the first half of its body.
async fn first_half(response: Response) -> (axum::http::response::Parts, Bytes) {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    (parts, bytes.slice(..bytes.len() / 2))
}

/// The route's answer, then `bytes` of spaces, streamed with no `Content-Length`: a
/// body far larger than any page, which a client must not hold whole.
async fn padded(response: Response, bytes: u64) -> Response {
    let (mut parts, body) = response.into_parts();
    let head = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::new(Scripted::new(head, Then::Spaces(bytes))))
}

/// A list page that says more follow, at `next`, however many there really are.
fn more_pages(mut response: Response, next: HeaderValue) -> Response {
    if response.status().is_success() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        response.headers_mut().insert(NEXT_RANGE, next);
    }
    response
}

/// `307` to the same path and query on `to`.
fn redirect(to: SocketAddr, uri: &Uri) -> Response {
    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    let location = format!("http://{to}{path}");
    let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// A body made to misbehave: its head, then what `Then` says.
struct Scripted {
    head: Option<Bytes>,
    then: Then,
}

enum Then {
    /// Fail, so the server drops the connection before the answer is complete.
    Break,
    /// This many bytes of spaces, a chunk at a time: memory for one chunk only.
    Spaces(u64),
}

impl Scripted {
    fn new(head: Bytes, then: Then) -> Scripted {
        Scripted {
            head: Some(head),
            then,
        }
    }
}

static SPACES: [u8; 64 * 1024] = [b' '; 64 * 1024];

impl HttpBody for Scripted {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        Poll::Ready(match &mut self.then {
            Then::Break => Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "the sandbox cut this answer short",
            ))),
            Then::Spaces(0) => None,
            Then::Spaces(left) => {
                let chunk = (*left).min(SPACES.len() as u64) as usize;
                *left -= chunk as u64;
                Some(Ok(Frame::data(Bytes::from_static(&SPACES[..chunk]))))
            }
        })
    }
}

fn take_fault(shared: &Shared, method: &axum::http::Method, route: &str) -> Option<Fault> {
    shared.store().take_fault(&format!("{method} {route}"))
}

/// Heroku's checks before any route: `Ok(tokens left)` to serve the request, or the
/// error to answer with and, for a 429, the tokens left.
fn admit(
    shared: &Shared,
    headers: &HeaderMap,
    route: &str,
) -> Result<u32, (ApiError, Option<u32>)> {
    let accepted = headers
        .get_all(header::ACCEPT)
        .iter()
        .any(|value| value.to_str().is_ok_and(accepts_v3));
    if !accepted {
        return Err((ApiError::not_acceptable(), None));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    if token != Some(shared.token.as_str()) {
        return Err((ApiError::unauthorized(), None));
    }
    let now = shared.elapsed();
    let mut store = shared.store();
    if route == RATE_LIMITS_ROUTE {
        return Ok(store.remaining_sent(now));
    }
    store
        .admit(now)
        .map_err(|left| (ApiError::rate_limited(), Some(left)))
}

/// Whether an `Accept` header value asks for version 3 of Heroku's API.
pub fn accepts_v3(accept: &str) -> bool {
    accept.split(',').any(|media| {
        let mut parts = media.split(';').map(str::trim);
        let heroku = parts
            .next()
            .is_some_and(|kind| kind.eq_ignore_ascii_case("application/vnd.heroku+json"));
        heroku
            && parts.any(|param| {
                param.split_once('=').is_some_and(|(key, value)| {
                    key.trim().eq_ignore_ascii_case("version") && value.trim() == "3"
                })
            })
    })
}

/// The token of an `Authorization: Bearer <token>` value.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `base` scaled by a factor in `1-jitter..1+jitter`, picked by `draw` in `0..1`.
pub fn jittered(base: Duration, jitter: f64, draw: f64) -> Duration {
    base.mul_f64(1.0 + jitter * (2.0 * draw - 1.0))
}

async fn account(State(shared): State<Arc<Shared>>) -> Response {
    let world = &shared.world;
    json_response(
        StatusCode::OK,
        &AccountJson::new(&world.account, &world.team),
    )
}

async fn rate_limits(State(shared): State<Arc<Shared>>) -> Response {
    #[derive(Serialize)]
    struct RateLimit {
        remaining: u32,
    }
    let remaining = shared.store().remaining(shared.elapsed());
    json_response(StatusCode::OK, &RateLimit { remaining })
}

async fn list_apps(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(page) = endless_page(&headers) {
        return Ok(page);
    }
    let range = read_range(&headers, &shared)?;
    // The account sees every app the sandbox holds: its own, its team's, and those it
    // collaborates on.
    Ok(list(&shared, &range, |_| true))
}

/// `GET /users/{user}/apps`, `~` being the account: the apps it owns or collaborates
/// on, its team's left out (the schema's `list-owned-and-collaborated`).
async fn user_apps(
    State(shared): State<Arc<Shared>>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let account = &shared.world.account.identity;
    if user != "~" && user != account.id && user != account.email {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that user.",
        ));
    }
    let range = read_range(&headers, &shared)?;
    Ok(list(&shared, &range, |app| app.team.is_none()))
}

/// The body of `POST /apps`; what else a client sends (`feature_flags`) is ignored.
#[derive(Default, Deserialize)]
struct CreateApp {
    name: Option<String>,
    region: Option<String>,
    stack: Option<String>,
}

/// `POST /apps`: an app the account owns, named by the client or as Heroku names one,
/// refused when the name is taken or the account is at its app limit.
async fn create_app(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, ApiError> {
    let request = create_request(&body)?;
    let region = match request.region.as_deref() {
        None => Region::Us,
        Some(wanted) => Region::ALL
            .into_iter()
            .find(|region| wanted == region.name() || wanted == region.id())
            .ok_or_else(|| ApiError::not_found("region"))?,
    };
    let stack = match request.stack.as_deref() {
        None => Stack::Heroku24,
        Some(wanted) => Stack::ALL
            .into_iter()
            .find(|stack| wanted == stack.name() || wanted == stack.id())
            .ok_or_else(|| ApiError::not_found("stack"))?,
    };
    let owner = shared.world.account.identity.clone();
    let limit = shared.server.app_limit;
    let mut store = shared.store();
    let name = match request.name {
        Some(name) => name,
        None => loop {
            let name = seed::app_name(store.id_rng());
            if !store.is_taken(&name) {
                break name;
            }
        },
    };
    let created_at = shared.now();
    let mut app = seed::app(
        store.id_rng(),
        &name,
        created_at,
        Role::Created,
        owner,
        None,
    );
    app.region = region;
    app.stack = stack;
    let created = store.create(app, limit).map_err(|refusal| match refusal {
        CreateRefusal::Taken => ApiError::invalid_params(format!("Name {name} is already taken")),
        CreateRefusal::AtLimit => ApiError::invalid_params(app_limit_message(limit)),
    })?;
    Ok(json_response(StatusCode::CREATED, &AppJson::from(created)))
}

/// The body of `POST /apps`: empty, or JSON whose name, if any, Heroku would accept.
fn create_request(body: &Bytes) -> Result<CreateApp, ApiError> {
    let request: CreateApp = if body.trim_ascii().is_empty() {
        CreateApp::default()
    } else {
        serde_json::from_slice(body).map_err(|error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("Invalid JSON in the request body: {error}."),
            )
        })?
    };
    if let Some(name) = &request.name
        && !is_valid_app_name(name)
    {
        return Err(ApiError::invalid_params(
            "Name must start with a letter, end with a letter or digit, hold only lowercase \
             letters, digits and dashes, and be 3 to 30 characters long.",
        ));
    }
    Ok(request)
}

/// What Heroku says when a create would take the account past its app limit.
pub fn app_limit_message(limit: usize) -> String {
    format!(
        "You've reached your app limit of {limit} apps. Delete some apps or open a ticket at \
         https://help.heroku.com/new/increase-limits to have this limit increased."
    )
}

async fn team_apps(
    State(shared): State<Arc<Shared>>,
    Path(team): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let known = &shared.world.team;
    if team != known.name && team != known.id {
        return Err(ApiError::team_not_found());
    }
    if let Some(page) = endless_page(&headers) {
        return Ok(page);
    }
    let range = read_range(&headers, &shared)?;
    let leaky = shared.server.leaky_team_listing;
    Ok(list(&shared, &range, |app| {
        leaky || app.team.as_ref().is_some_and(|team| team.id == known.id)
    }))
}

/// A later page of an endless listing (see [`Fault::EndlessNextRange`]): empty, and
/// pointing at yet another page.
fn endless_page(headers: &HeaderMap) -> Option<Response> {
    let step = faults::endless_step(headers.get(header::RANGE)?.to_str().ok()?)?;
    let next = HeaderValue::from_str(&faults::endless_next_range(step + 1)).ok()?;
    let empty: [AppJson; 0] = [];
    Some(more_pages(json_response(StatusCode::OK, &empty), next))
}

fn read_range(headers: &HeaderMap, shared: &Shared) -> Result<Range, ApiError> {
    let header = headers
        .get(header::RANGE)
        .map(|value| value.to_str())
        .transpose()
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "The `Range` header is not ASCII text.",
            )
        })?;
    let server = &shared.server;
    range::parse(header, server.page_default, server.page_max).map_err(|error| {
        let (status, id) = match error {
            RangeError::Invalid(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            RangeError::Unsatisfiable { .. } => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                "requested_range_not_satisfiable",
            ),
        };
        ApiError::new(status, id, error.to_string())
    })
}

/// One page of the apps `wanted` picks: 206 with `Next-Range` while more follow.
fn list(shared: &Shared, range: &Range, wanted: impl Fn(&App) -> bool) -> Response {
    let mut store = shared.store();
    let apps: Vec<&App> = store.apps().iter().filter(|app| wanted(app)).collect();
    let keys: Vec<String> = apps.iter().map(|app| sort_key(app, range.field)).collect();
    let page = range::page(&keys, range);
    let body: Vec<serde_json::Value> = page
        .indices
        .iter()
        .flat_map(|&at| listed(apps[at], store.oddity(&apps[at].id)))
        .collect();
    let response = paged(&body, page.next_range);
    store.count_list_page();
    response
}

/// An app as a listing serves it: as it is, or as a test asked (`Oddity`).
fn listed(app: &App, oddity: Option<&Oddity>) -> Vec<serde_json::Value> {
    let mut json = serde_json::json!(AppJson::from(app));
    match oddity {
        None => vec![json],
        Some(Oddity::NoCreatedAt) => {
            json.as_object_mut().map(|app| app.remove("created_at"));
            vec![json]
        }
        Some(Oddity::CreatedAt(value)) => {
            json["created_at"] = value.clone();
            vec![json]
        }
        Some(Oddity::ListedTwice { older_by }) => {
            let mut older = json.clone();
            older["created_at"] = date_time(seed::ago(app.created_at, *older_by)).into();
            vec![older, json]
        }
    }
}

/// A page: 206 with `Next-Range` while more follow, else 200.
fn paged(body: &impl Serialize, next_range: Option<String>) -> Response {
    let status = match next_range {
        Some(_) => StatusCode::PARTIAL_CONTENT,
        None => StatusCode::OK,
    };
    let mut response = json_response(status, body);
    let headers = response.headers_mut();
    headers.insert(
        header::ACCEPT_RANGES,
        HeaderValue::from_static(ACCEPT_RANGES),
    );
    if let Some(next) = next_range {
        // Ids, names and date-times are ASCII, so the header always forms.
        if let Ok(next) = HeaderValue::from_str(&next) {
            headers.insert(NEXT_RANGE, next);
        }
    }
    response
}

fn sort_key(app: &App, field: Field) -> String {
    match field {
        Field::Id => app.id.clone(),
        Field::Name => app.name.clone(),
        Field::UpdatedAt => date_time(app.updated_at()),
    }
}

async fn app_info(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
) -> Result<Response, ApiError> {
    let store = shared.store();
    let app = store.find(&app).ok_or_else(ApiError::app_not_found)?;
    Ok(json_response(StatusCode::OK, &AppJson::from(app)))
}

/// `GET /apps/{app}/addons` and `/dynos`: sandbox apps have no add-ons, nor dynos;
/// nothing runs.
async fn app_nothing(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
) -> Result<Response, ApiError> {
    shared
        .store()
        .find(&app)
        .ok_or_else(ApiError::app_not_found)?;
    Ok(json_response(StatusCode::OK, &[(); 0]))
}

/// `GET /apps/{app}/collaborators`: the account, on the apps it shares with their owner.
async fn app_collaborators(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
) -> Result<Response, ApiError> {
    let store = shared.store();
    let app = store.find(&app).ok_or_else(ApiError::app_not_found)?;
    let account = &shared.world.account.identity;
    let body: Vec<CollaboratorJson> = match app.role {
        Role::Collaborator => vec![CollaboratorJson::new(app, account)],
        _ => Vec::new(),
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /apps/{app}/pipeline-couplings`: the app's coupling, 404 when it has none.
async fn app_coupling(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
) -> Result<Response, ApiError> {
    let store = shared.store();
    let app = store.find(&app).ok_or_else(ApiError::app_not_found)?;
    let coupling = store
        .couplings()
        .iter()
        .find(|coupling| coupling.app_id == app.id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Couldn't find that pipeline coupling.",
            )
        })?;
    Ok(json_response(StatusCode::OK, &CouplingJson::from(coupling)))
}

async fn delete_app(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
    Extension(Deadline(deadline)): Extension<Deadline>,
) -> Result<Response, ApiError> {
    let begun = shared.store().begin_delete(&app);
    let app = begun.map_err(|refusal| match refusal {
        Refusal::Unknown | Refusal::Gone => ApiError::app_not_found(),
        Refusal::Deleting => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("`{app}` is being deleted already."),
        ),
        Refusal::NotOwner => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("Only the owner of `{app}` can delete it; this account is a collaborator."),
        ),
    })?;
    // The app stays listed, and further DELETEs of it are refused, for the whole latency.
    sleep_until(deadline).await;
    let deleted = shared.store().finish_delete(&app.id).unwrap_or(app);
    Ok(json_response(StatusCode::OK, &AppJson::from(&deleted)))
}

async fn team_info(
    State(shared): State<Arc<Shared>>,
    Path(team): Path<String>,
) -> Result<Response, ApiError> {
    let world = &shared.world;
    if team != world.team.name && team != world.team.id {
        return Err(ApiError::team_not_found());
    }
    let body = TeamJson::new(&world.team, world.account.created_at);
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /pipelines`: every pipeline, paged like the apps.
async fn list_pipelines(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let range = read_range(&headers, &shared)?;
    let store = shared.store();
    let pipelines = store.pipelines();
    let keys: Vec<String> = pipelines
        .iter()
        .map(|pipeline| pipeline_sort_key(pipeline, range.field))
        .collect();
    let page = range::page(&keys, &range);
    let body: Vec<PipelineJson> = page
        .indices
        .iter()
        .map(|&at| PipelineJson::from(&pipelines[at]))
        .collect();
    Ok(paged(&body, page.next_range))
}

fn pipeline_sort_key(pipeline: &Pipeline, field: Field) -> String {
    match field {
        Field::Id => pipeline.id.clone(),
        Field::Name => pipeline.name.clone(),
        Field::UpdatedAt => date_time(pipeline.created_at),
    }
}

async fn pipeline_couplings(
    State(shared): State<Arc<Shared>>,
    Path(pipeline): Path<String>,
) -> Result<Response, ApiError> {
    let store = shared.store();
    let couplings = store
        .couplings_of(&pipeline)
        .ok_or_else(ApiError::pipeline_not_found)?;
    let body: Vec<CouplingJson> = couplings.into_iter().map(CouplingJson::from).collect();
    Ok(json_response(StatusCode::OK, &body))
}

async fn delete_pipeline(
    State(shared): State<Arc<Shared>>,
    Path(pipeline): Path<String>,
    Extension(Deadline(deadline)): Extension<Deadline>,
) -> Result<Response, ApiError> {
    let begun = shared.store().begin_delete_pipeline(&pipeline);
    let pipeline = begun.map_err(|refusal| match refusal {
        Refusal::Unknown | Refusal::Gone => ApiError::pipeline_not_found(),
        Refusal::Deleting => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("Pipeline `{pipeline}` is being deleted already."),
        ),
        Refusal::NotOwner => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("Only the owner of pipeline `{pipeline}` can delete it."),
        ),
    })?;
    // As for apps: listed, and refusing other DELETEs, for the whole latency.
    sleep_until(deadline).await;
    let deleted = shared
        .store()
        .finish_delete_pipeline(&pipeline.id)
        .unwrap_or(pipeline);
    Ok(json_response(StatusCode::OK, &PipelineJson::from(&deleted)))
}

async fn sandbox_stats(State(shared): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &shared.stats())
}

async fn sandbox_apps(State(shared): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &shared.listing())
}

async fn no_route(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> ApiError {
    shared
        .store()
        .count_unrouted(format!("{method} {}", uri.path()));
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "The sandbox serves no such endpoint: check the HTTP method and the path.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_must_name_version_3_of_herokus_type() {
        for good in [
            "application/vnd.heroku+json; version=3",
            "application/vnd.heroku+json;version=3",
            "application/vnd.heroku+json ; version = 3",
            "Application/VND.Heroku+JSON; Version=3",
            "text/html, application/vnd.heroku+json; version=3",
            "application/vnd.heroku+json; charset=utf-8; version=3",
        ] {
            assert!(accepts_v3(good), "{good:?}");
        }
        for bad in [
            "",
            "*/*",
            "application/json",
            "application/vnd.heroku+json",
            "application/vnd.heroku+json; version=2",
            "application/vnd.heroku+json; version=30",
            "application/json; version=3",
        ] {
            assert!(!accepts_v3(bad), "{bad:?}");
        }
    }

    #[test]
    fn reads_bearer_tokens_only() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic OmFiYw=="), None);
        assert_eq!(bearer_token("abc"), None);
    }

    #[test]
    fn dates_are_imf_fixdates() {
        let time = "1994-11-06T08:49:37Z".parse().unwrap();
        assert_eq!(http_date(time), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn jitter_scales_within_its_bounds() {
        let base = Duration::from_millis(100);
        assert_eq!(jittered(base, 0.0, 0.9), base);
        assert_eq!(jittered(base, 0.5, 0.0), Duration::from_millis(50));
        assert_eq!(jittered(base, 0.5, 0.5), base);
        assert!(jittered(base, 0.5, 0.999_999) < Duration::from_millis(150));
        assert_eq!(jittered(base, 1.0, 0.0), Duration::ZERO);
    }
}
