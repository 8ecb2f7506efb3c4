//! The control interface over HTTP, under `/_sim/` where no EWS client looks: the same
//! operations as the [`World`] methods, as JSON. Every refusal is a 4xx with a JSON body
//! `{"error": "..."}` that names what is wrong, a body or path that does not parse included.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::faults::{Fault, FaultPlan};
use crate::model::{FolderKind, ItemContent, MailboxConfig, SeedSpec, TenantConfig};
use crate::throttle::ThrottlePolicy;
use crate::world::{ControlError, World};

type Shared = State<Arc<World>>;

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::UnknownTenant(_)
            | ControlError::UnknownApp(_)
            | ControlError::UnknownMailbox(_)
            | ControlError::UnknownItem(_) => StatusCode::NOT_FOUND,
            ControlError::Exists(_) => StatusCode::CONFLICT,
            ControlError::Invalid { .. } => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

fn refusal(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "error": text }))).into_response()
}

/// A JSON body; one that does not parse is refused with axum's status (400, 415 or 422)
/// and its text, which names the field or the position, as a JSON error.
struct Body<T>(T);

impl<S, T> FromRequest<S> for Body<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(refusal(rejection.status(), &rejection.body_text())),
        }
    }
}

/// Path parameters; a folder name that is not one, say, is a 400 naming it, as JSON.
struct Path<T>(T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    axum::extract::Path<T>: FromRequestParts<S, Rejection = PathRejection>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(refusal(rejection.status(), &rejection.body_text())),
        }
    }
}

fn done() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) fn routes() -> Router<Arc<World>> {
    Router::new()
        .route("/_sim/tenants", post(add_tenant))
        .route("/_sim/tenants/{tenant}", get(tenant).put(replace_tenant))
        .route("/_sim/tenants/{tenant}/expire-tokens", post(expire_tokens))
        .route("/_sim/mailboxes", post(add_mailbox))
        .route(
            "/_sim/mailboxes/{address}",
            get(mailbox).put(replace_mailbox),
        )
        .route("/_sim/mailboxes/{address}/seed", post(seed))
        .route(
            "/_sim/mailboxes/{address}/folders/{folder}/items",
            get(items).post(owner_create),
        )
        .route(
            "/_sim/mailboxes/{address}/folders/{folder}/invalidate-sync-states",
            post(invalidate),
        )
        .route(
            "/_sim/mailboxes/{address}/folders/{folder}/purge-tombstones",
            post(purge),
        )
        .route(
            "/_sim/mailboxes/{address}/items/{id}",
            get(item).put(owner_replace).delete(owner_delete),
        )
        .route("/_sim/outbox", get(outbox).delete(clear_outbox))
        .route("/_sim/throttle", get(throttle).put(set_throttle))
        .route(
            "/_sim/faults",
            get(faults).put(set_faults).delete(clear_faults),
        )
        .route("/_sim/faults/inject", post(inject))
        .route("/_sim/clock/advance", post(advance_clock))
        .route("/_sim/stats", get(stats).delete(reset_stats))
}

async fn add_tenant(State(w): Shared, Body(t): Body<TenantConfig>) -> Response {
    match w.add_tenant(t) {
        Ok(()) => StatusCode::CREATED.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn tenant(State(w): Shared, Path(key): Path<String>) -> Response {
    match w.tenant(&key) {
        Some(t) => Json(t).into_response(),
        None => ControlError::UnknownTenant(key).into_response(),
    }
}

async fn replace_tenant(
    State(w): Shared,
    Path(key): Path<String>,
    Body(t): Body<TenantConfig>,
) -> Response {
    match w.update_tenant(&key, |current| *current = t) {
        Ok(()) => done(),
        Err(e) => e.into_response(),
    }
}

async fn expire_tokens(State(w): Shared, Path(key): Path<String>) -> Response {
    match w.tenant(&key) {
        Some(t) => {
            w.expire_tokens(&t.tenant_id);
            done()
        }
        None => ControlError::UnknownTenant(key).into_response(),
    }
}

async fn add_mailbox(State(w): Shared, Body(m): Body<MailboxConfig>) -> Response {
    match w.add_mailbox(m) {
        Ok(()) => StatusCode::CREATED.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn mailbox(State(w): Shared, Path(address): Path<String>) -> Response {
    match w.mailbox_config(&address) {
        Some(m) => Json(m).into_response(),
        None => ControlError::UnknownMailbox(address).into_response(),
    }
}

async fn replace_mailbox(
    State(w): Shared,
    Path(address): Path<String>,
    Body(m): Body<MailboxConfig>,
) -> Response {
    match w.update_mailbox(&address, |current| *current = m) {
        Ok(()) => done(),
        Err(e) => e.into_response(),
    }
}

async fn seed(
    State(w): Shared,
    Path(address): Path<String>,
    Body(spec): Body<SeedSpec>,
) -> Response {
    match w.seed(&address, &spec) {
        Ok(created) => Json(json!({ "created": created })).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn items(State(w): Shared, Path((address, folder)): Path<(String, FolderKind)>) -> Response {
    match w.items(&address, folder) {
        Ok(items) => Json(items).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn owner_create(
    State(w): Shared,
    Path((address, folder)): Path<(String, FolderKind)>,
    Body(content): Body<ItemContent>,
) -> Response {
    match w.owner_create(&address, folder, content) {
        Ok(view) => (StatusCode::CREATED, Json(view)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn item(State(w): Shared, Path((address, id)): Path<(String, String)>) -> Response {
    match w.item(&address, &id) {
        Ok(view) => Json(view).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn owner_replace(
    State(w): Shared,
    Path((address, id)): Path<(String, String)>,
    Body(content): Body<ItemContent>,
) -> Response {
    match w.owner_replace(&address, &id, content) {
        Ok(view) => Json(view).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn owner_delete(State(w): Shared, Path((address, id)): Path<(String, String)>) -> Response {
    match w.owner_delete(&address, &id) {
        Ok(moved) => Json(json!({ "moved_to": moved })).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn invalidate(
    State(w): Shared,
    Path((address, folder)): Path<(String, FolderKind)>,
) -> Response {
    match w.invalidate_sync_states(&address, folder) {
        Ok(()) => done(),
        Err(e) => e.into_response(),
    }
}

async fn purge(State(w): Shared, Path((address, folder)): Path<(String, FolderKind)>) -> Response {
    match w.purge_tombstones(&address, folder) {
        Ok(()) => done(),
        Err(e) => e.into_response(),
    }
}

async fn outbox(State(w): Shared) -> Response {
    Json(w.outbox()).into_response()
}

async fn clear_outbox(State(w): Shared) -> Response {
    w.clear_outbox();
    done()
}

async fn throttle(State(w): Shared) -> Response {
    Json(w.throttle.policy()).into_response()
}

async fn set_throttle(State(w): Shared, Body(policy): Body<ThrottlePolicy>) -> Response {
    if policy.max_concurrency == 0 {
        return ControlError::invalid(
            "max_concurrency",
            "must be at least 1; a rate budget throttles every request",
        )
        .into_response();
    }
    if let Some(rate) = policy.rate_per_second
        && !(rate.is_finite() && rate > 0.0)
    {
        return ControlError::invalid(
            "rate_per_second",
            format!("{rate} is not a positive number of requests per second; null means no budget"),
        )
        .into_response();
    }
    w.throttle.set(policy);
    done()
}

/// The most latency a fault plan may add to one request: ten minutes.
const MAX_LATENCY_MS: u64 = 600_000;

/// The most faults one inject request may queue.
const MAX_INJECT: usize = 10_000;

/// The furthest one request may move the clock: a hundred years.
const MAX_ADVANCE_SECONDS: i64 = 100 * 366 * 24 * 3600;

async fn faults(State(w): Shared) -> Response {
    Json(w.faults.plan()).into_response()
}

async fn set_faults(State(w): Shared, Body(plan): Body<FaultPlan>) -> Response {
    if let Some((fault, rate)) = plan.rates.iter().find(|(_, r)| !(0.0..=1.0).contains(r)) {
        return ControlError::invalid(
            "rates",
            format!("{fault:?} has the rate {rate}; rates are 0 to 1"),
        )
        .into_response();
    }
    if plan.latency_ms.saturating_add(plan.jitter_ms) > MAX_LATENCY_MS {
        return ControlError::invalid(
            "latency_ms",
            format!(
                "latency_ms plus jitter_ms is {} ms; at most {MAX_LATENCY_MS} ms",
                u128::from(plan.latency_ms) + u128::from(plan.jitter_ms)
            ),
        )
        .into_response();
    }
    w.faults.set_plan(plan);
    done()
}

async fn clear_faults(State(w): Shared) -> Response {
    w.faults.clear();
    done()
}

#[derive(Deserialize)]
struct Inject {
    fault: Fault,
    #[serde(default)]
    op: Option<String>,
    #[serde(default = "one")]
    count: usize,
}

fn one() -> usize {
    1
}

async fn inject(State(w): Shared, Body(req): Body<Inject>) -> Response {
    if !(1..=MAX_INJECT).contains(&req.count) {
        return ControlError::invalid(
            "count",
            format!("{} faults; queue 1 to {MAX_INJECT} at a time", req.count),
        )
        .into_response();
    }
    for _ in 0..req.count {
        w.faults.inject(req.fault, req.op.as_deref());
    }
    done()
}

#[derive(Deserialize)]
struct Advance {
    seconds: i64,
}

async fn advance_clock(State(w): Shared, Body(req): Body<Advance>) -> Response {
    if req.seconds < 0 {
        return ControlError::invalid("seconds", "the clock only moves forward").into_response();
    }
    if req.seconds > MAX_ADVANCE_SECONDS {
        return ControlError::invalid(
            "seconds",
            format!("at most {MAX_ADVANCE_SECONDS} (a hundred years) at a time"),
        )
        .into_response();
    }
    w.advance_clock(chrono::Duration::seconds(req.seconds));
    done()
}

async fn stats(State(w): Shared) -> Response {
    Json(w.stats()).into_response()
}

async fn reset_stats(State(w): Shared) -> Response {
    w.reset_stats();
    done()
}
