//! Mailbox routes: adding and listing a tenant's mailboxes, a mailbox's health, its audit
//! trail, a sync now, letting braked deletes through, and its calendar.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use http::{HeaderMap, StatusCode};
use mailbridge_store::{
    AuditEvent, DeletesGoAhead, Expect, Folder, Mailbox, MailboxStatus, SecretStore, StateStore,
    StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::tenant_state::is_disabled;
use super::tenants::{mailbox_event, new_mailbox, x_actor};
use crate::app::App;
use crate::auth::Caller;
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::ops::{CalendarEntry, Operations};
use crate::problem::ApiError;
use crate::validate;

/// Longest calendar view, in days (a quarter; `CalendarView` answers get large fast).
pub const MAX_CALENDAR_DAYS: i64 = 92;
/// How many outbox entries are counted per folder before the count is reported as capped.
const BACKLOG_CAP: usize = 1000;

/// `POST /v1/tenants/{id}/mailboxes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMailboxBody {
    address: String,
}

/// A mailbox in a list.
#[derive(Debug, Serialize)]
struct MailboxSummary {
    address: String,
    tenant: String,
    status: MailboxStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_sync: Option<DateTime<Utc>>,
}

impl From<Mailbox> for MailboxSummary {
    fn from(m: Mailbox) -> MailboxSummary {
        MailboxSummary {
            address: m.address,
            tenant: m.tenant,
            status: m.status,
            last_sync: m.last_sync,
        }
    }
}

/// Adds a mailbox to a tenant.
pub async fn add_mailbox<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<AddMailboxBody>,
) -> Result<Response, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let tenant = app.tenant_for(&caller, &id).await?;
    if is_disabled(&tenant) {
        return Err(ApiError::TenantDisabled);
    }
    let address =
        validate::email("address", &body.address).map_err(|e| ApiError::Invalid(vec![e]))?;
    crate::request::record_mailbox(&address);

    let mailbox = new_mailbox(&address, &tenant.id);
    match app.state.put_mailbox(&mailbox, Expect::Absent).await {
        Ok(_) => {}
        // An address belongs to one tenant in Microsoft 365, so it can be registered once;
        // the answer does not say to whom.
        Err(StoreError::Conflict { .. }) => {
            return Err(ApiError::AlreadyExists {
                detail: "this mailbox is already registered".to_owned(),
                field: "address",
            });
        }
        Err(e) => return Err(e.into()),
    }
    let event = mailbox_event(
        &address,
        &caller.actor(x_actor(&headers)),
        "mailbox.add",
        &address,
    );
    app.state.append_audit(&[event]).await?;

    let stored = app.state.get_mailbox(&address).await?.unwrap_or(mailbox);
    let body = json!({ "mailbox": MailboxSummary::from(stored) });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// A tenant's mailboxes, a page at a time.
pub async fn list_mailboxes<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    mut query: QueryParams,
) -> Result<Json<Value>, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let tenant = app.tenant_for(&caller, &id).await?;
    let after = query.take("after")?;
    let limit = query.limit(100, 1000)?;
    query.finish()?;

    let page = app
        .state
        .list_mailboxes(Some(&tenant.id), after.as_deref(), limit)
        .await?;
    let items: Vec<MailboxSummary> = page.items.into_iter().map(Into::into).collect();
    Ok(Json(json!({ "items": items, "next": page.next })))
}

/// Where one folder of a mailbox stands.
#[derive(Debug, Serialize)]
struct FolderHealth {
    /// CRM changes still to push to the mailbox.
    outbox_backlog: usize,
    /// True when there are more than `outbox_backlog` (the count stops at a cap).
    outbox_backlog_capped: bool,
    /// The last change-feed position handed out.
    feed_position: u64,
    /// Whether the first full enumeration has finished.
    enumerated: bool,
}

/// A mailbox's health: status, last sync, last error, back-off, outbox backlog and feed
/// position per folder.
pub async fn mailbox_health<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    PathParams(address): PathParams<String>,
) -> Result<Json<Value>, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let mailbox = app.mailbox_for(&caller, &address).await?;
    let mut folders = serde_json::Map::new();
    for folder in Folder::ALL {
        let outbox = app
            .state
            .list_outbox(&mailbox.address, folder, BACKLOG_CAP + 1)
            .await?;
        let cursor = app.state.get_cursor(&mailbox.address, folder).await?;
        let health = FolderHealth {
            outbox_backlog: outbox.len().min(BACKLOG_CAP),
            outbox_backlog_capped: outbox.len() > BACKLOG_CAP,
            feed_position: cursor.feed_seq,
            enumerated: cursor.enumerated,
        };
        folders.insert(folder.as_str().to_owned(), json!(health));
    }

    Ok(Json(json!({
        "address": mailbox.address,
        "tenant": mailbox.tenant,
        "status": mailbox.status,
        "attention": mailbox.attention,
        "last_sync": mailbox.last_sync,
        "last_error": mailbox.last_error,
        "back_off_until": mailbox.back_off_until,
        "braked": mailbox.braked,
        "deletes_go_ahead": mailbox.deletes_go_ahead,
        "folders": folders,
    })))
}

/// A mailbox's audit trail, oldest first, a page at a time.
pub async fn audit_trail<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    PathParams(address): PathParams<String>,
    mut query: QueryParams,
) -> Result<Json<Value>, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let mailbox = app.mailbox_for(&caller, &address).await?;
    let after = query.take("after")?;
    let limit = query.limit(100, 1000)?;
    query.finish()?;

    let page = match app
        .state
        .list_audit(&mailbox.address, after.as_deref(), limit)
        .await
    {
        // The store names `after` when the token is not one of its own.
        Err(StoreError::Invalid { field, reason }) => {
            return Err(ApiError::malformed(field, reason));
        }
        other => other?,
    };
    let items: Vec<&AuditEvent> = page.items.iter().collect();
    Ok(Json(json!({ "items": items, "next": page.next })))
}

/// Asks the runner to sync a mailbox now.
pub async fn sync_now<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    PathParams(address): PathParams<String>,
) -> Result<Response, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let mailbox = app.crm_mailbox(&caller, &address).await?;
    app.ops.sync_now(&mailbox.address).await?;
    tracing::info!(outcome = "sync_queued", "sync requested");
    let body = json!({ "mailbox": mailbox.address, "status": "queued" });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// Lets through the deletes the mass-delete brake stopped: the caller has checked that the
/// mailbox owner meant them. The go-ahead is kept on the mailbox (its next sync, queued
/// here, applies them once) and audited under the caller's name.
pub async fn acknowledge_deletes<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    headers: HeaderMap,
    PathParams(address): PathParams<String>,
) -> Result<Response, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let mailbox = app.crm_mailbox(&caller, &address).await?;
    let actor = caller.actor(x_actor(&headers));
    let (by, go_ahead) = go_ahead_for(&app.state, &mailbox, actor).await?;
    app.ops.sync_now(&mailbox.address).await?;
    let body = json!({
        "mailbox": mailbox.address,
        "status": "queued",
        "acknowledged_by": by,
        "go_ahead": go_ahead,
    });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// The go-ahead for `mailbox`'s braked deletes: recorded now in `actor`'s name, or the one
/// already waiting (a retry after the queue refused the sync), with who gave it.
async fn go_ahead_for<S: StateStore>(
    state: &S,
    mailbox: &Mailbox,
    actor: String,
) -> Result<(String, Option<DeletesGoAhead>), ApiError> {
    if mailbox.status == MailboxStatus::Active
        && let Some(waiting) = &mailbox.deletes_go_ahead
    {
        return Ok((waiting.by.clone(), Some(waiting.clone())));
    }
    // The store checks the mailbox is braked (it may have changed since it was read) and
    // says where it stands when it is not.
    match mailbridge_store::acknowledge_deletes(state, &mailbox.address, &actor, Utc::now()).await {
        Ok(acknowledged) => {
            tracing::info!(
                outcome = "deletes_acknowledged",
                "mass-delete brake released"
            );
            Ok((actor, acknowledged.deletes_go_ahead))
        }
        Err(StoreError::Invalid {
            field: "status",
            reason,
        }) => {
            let now = state.get_mailbox(&mailbox.address).await?;
            Err(ApiError::Conflict {
                detail: reason,
                current_version: Some(now.map_or(mailbox.version, |m| m.version)),
            })
        }
        Err(err) => Err(err.into()),
    }
}

/// A required RFC 3339 instant from the query.
fn instant(query: &mut QueryParams, name: &str) -> Result<DateTime<Utc>, ApiError> {
    query
        .take(name)?
        .ok_or_else(|| {
            ApiError::malformed(name, "is required (RFC 3339, e.g. 2026-03-01T00:00:00Z)")
        })
        .and_then(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ApiError::malformed(name, "must be an RFC 3339 date and time"))
        })
}

/// The mailbox's calendar between `start` and `end`, series expanded.
pub async fn calendar<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    PathParams(address): PathParams<String>,
    mut query: QueryParams,
) -> Result<Json<Value>, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let mailbox = app.crm_mailbox(&caller, &address).await?;
    let start = instant(&mut query, "start")?;
    let end = instant(&mut query, "end")?;
    query.finish()?;
    if end <= start {
        return Err(ApiError::invalid("end", "must be after start"));
    }
    if end - start > TimeDelta::days(MAX_CALENDAR_DAYS) {
        return Err(ApiError::invalid(
            "end",
            format!("the range may span at most {MAX_CALENDAR_DAYS} days"),
        ));
    }

    let entries: Vec<CalendarEntry> = app.ops.calendar_view(&mailbox.address, start, end).await?;
    Ok(Json(
        json!({ "start": start, "end": end, "items": entries }),
    ))
}
