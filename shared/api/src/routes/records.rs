//! The CRM side's records: upserts and deletes of contacts and events with optimistic
//! concurrency, and the change feed of what changed in the mailbox.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use mailbridge_mailbox::{DataError, ItemData};
use mailbridge_store::{Expect, Folder, SecretStore, StateStore, StoreError, Version};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::tenants::{mailbox_event, x_actor};
use crate::app::App;
use crate::auth::Caller;
use crate::extract::{JsonBody, PathParams, QueryParams, join_path, plain_reason};
use crate::problem::{ApiError, FieldError};
use crate::validate;

/// `PUT .../contacts/{crm_id}` and `PUT .../events/{crm_id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    /// The version the CRM read; absent for a create.
    #[serde(default)]
    version: Option<Version>,
    /// The contact or event.
    data: Value,
}

/// A record id from the path: 1 to 256 characters, no control characters.
fn crm_id(value: &str) -> Result<String, ApiError> {
    validate::text("crm_id", value, 256)
        .map_err(|e| ApiError::Malformed(vec![e]))
        .and_then(|id| {
            if id == value {
                Ok(id)
            } else {
                Err(ApiError::malformed(
                    "crm_id",
                    "must not start or end with spaces",
                ))
            }
        })
}

/// What `If-Match` asks for: `Some(true)` for `*`, `None` when absent.
fn if_match_any(headers: &HeaderMap) -> Result<bool, ApiError> {
    match headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().map(str::trim))
    {
        None => Ok(false),
        Some(Ok("*")) => Ok(true),
        Some(_) => Err(ApiError::malformed(
            "If-Match",
            "only * is supported; give the version you read in the body or query",
        )),
    }
}

/// The CRM data checked by the mailbox crate, the bad field named under `data`.
fn check_data(folder: Folder, data: &Value) -> Result<ItemData, ApiError> {
    if !data.is_object() {
        return Err(ApiError::invalid("data", "must be a JSON object"));
    }
    let json = data.to_string();
    let parsed = match folder {
        Folder::Contacts => ItemData::contact_from_json(&json),
        Folder::Calendar => ItemData::event_from_json(&json),
    };
    parsed.map_err(|DataError { field, reason }| {
        let (named, reason) = plain_reason(&reason);
        let field = match field.as_str() {
            "body" | "" | "." => join_path(".", named),
            // The mailbox crate appends an unknown field's name to a path that already
            // ends with it; say it once.
            path => match path.rsplit_once('.') {
                Some((parent, last)) if parent.ends_with(&format!(".{last}")) || parent == last => {
                    parent.to_owned()
                }
                _ => path.to_owned(),
            },
        };
        let field = if field == "body" {
            "data".to_owned()
        } else {
            format!("data.{field}")
        };
        ApiError::Invalid(vec![FieldError::new(field, reason)])
    })
}

/// Turns a store conflict into a 409 naming the version stored now.
async fn conflict<S: StateStore>(
    state: &S,
    mailbox: &str,
    folder: Folder,
    crm_id: &str,
    expect: Expect,
) -> ApiError {
    let current = state
        .get_record(mailbox, folder, crm_id)
        .await
        .ok()
        .flatten()
        .map(|r| r.version);
    let detail = match (expect, current) {
        (Expect::Absent, Some(v)) => {
            format!("{crm_id} already exists at version {v}; send that version to replace it")
        }
        (_, None) => format!("{crm_id} does not exist; send no version to create it"),
        (_, Some(v)) => format!("{crm_id} was changed by someone else; it is at version {v}"),
    };
    ApiError::Conflict {
        detail,
        current_version: current,
    }
}

/// Writes (or with `data: None` deletes) one record.
async fn write<S: StateStore>(
    state: &S,
    mailbox: &str,
    folder: Folder,
    crm_id: &str,
    expect: Expect,
    data: Option<&str>,
) -> Result<Version, ApiError> {
    match state.crm_write(mailbox, folder, crm_id, expect, data).await {
        Ok(version) => Ok(version),
        Err(StoreError::Conflict { .. }) => {
            Err(conflict(state, mailbox, folder, crm_id, expect).await)
        }
        Err(e) => Err(e.into()),
    }
}

/// `PUT` for either folder.
async fn put_record<S, K, O>(
    app: &App<S, K, O>,
    caller: &Caller,
    headers: &HeaderMap,
    folder: Folder,
    (address, id): (String, String),
    body: RecordBody,
) -> Result<Response, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: crate::Operations + 'static,
{
    let mailbox = app.crm_mailbox(caller, &address).await?;
    let crm_id = crm_id(&id)?;
    let any = if_match_any(headers)?;
    let item = check_data(folder, &body.data)?;
    let expect = match body.version {
        Some(v) => Expect::Version(v),
        None if any => Expect::Any,
        None => Expect::Absent,
    };

    let json = item.to_json();
    let version = write(
        &app.state,
        &mailbox.address,
        folder,
        &crm_id,
        expect,
        Some(&json),
    )
    .await?;
    let actor = caller.actor(x_actor(headers));
    let event = mailbox_event(
        &mailbox.address,
        &actor,
        "crm.update",
        &format!("{folder}/{crm_id}"),
    );
    app.state.append_audit(&[event]).await?;

    let status = if version == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({ "crm_id": crm_id, "version": version })),
    )
        .into_response())
}

/// `DELETE` for either folder: leaves a tombstone and queues the delete for the mailbox.
async fn delete_record<S, K, O>(
    app: &App<S, K, O>,
    caller: &Caller,
    headers: &HeaderMap,
    folder: Folder,
    (address, id): (String, String),
    mut query: QueryParams,
) -> Result<Json<Value>, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: crate::Operations + 'static,
{
    let mailbox = app.crm_mailbox(caller, &address).await?;
    let crm_id = crm_id(&id)?;
    let version = query.parse::<Version>("version", "a whole number")?;
    query.finish()?;
    let expect = match version {
        Some(v) => Expect::Version(v),
        None if if_match_any(headers)? => Expect::Any,
        None => return Err(ApiError::PreconditionRequired { field: "version" }),
    };

    let version = write(&app.state, &mailbox.address, folder, &crm_id, expect, None).await?;
    let actor = caller.actor(x_actor(headers));
    let event = mailbox_event(
        &mailbox.address,
        &actor,
        "crm.delete",
        &format!("{folder}/{crm_id}"),
    );
    app.state.append_audit(&[event]).await?;
    Ok(Json(
        json!({ "crm_id": crm_id, "version": version, "deleted": true }),
    ))
}

macro_rules! folder_handlers {
    ($put:ident, $delete:ident, $folder:expr, $what:literal) => {
        #[doc = concat!("`PUT /v1/mailboxes/{address}/", $what, "/{crm_id}`.")]
        pub async fn $put<S, K, O>(
            State(app): State<Arc<App<S, K, O>>>,
            caller: Caller,
            headers: HeaderMap,
            PathParams(path): PathParams<(String, String)>,
            JsonBody(body): JsonBody<RecordBody>,
        ) -> Result<Response, ApiError>
        where
            S: StateStore + 'static,
            K: SecretStore + 'static,
            O: crate::Operations + 'static,
        {
            put_record(&app, &caller, &headers, $folder, path, body).await
        }

        #[doc = concat!("`DELETE /v1/mailboxes/{address}/", $what, "/{crm_id}`.")]
        pub async fn $delete<S, K, O>(
            State(app): State<Arc<App<S, K, O>>>,
            caller: Caller,
            headers: HeaderMap,
            PathParams(path): PathParams<(String, String)>,
            query: QueryParams,
        ) -> Result<Json<Value>, ApiError>
        where
            S: StateStore + 'static,
            K: SecretStore + 'static,
            O: crate::Operations + 'static,
        {
            delete_record(&app, &caller, &headers, $folder, path, query).await
        }
    };
}

folder_handlers!(put_contact, delete_contact, Folder::Contacts, "contacts");
folder_handlers!(put_event, delete_event, Folder::Calendar, "events");

/// One change in the feed.
#[derive(Debug, Serialize)]
struct FeedEntry {
    crm_id: String,
    version: Version,
    deleted: bool,
    data: Option<Value>,
}

/// Mailbox-side changes after a feed position, oldest first, with the position to read
/// from next.
pub async fn changes<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    PathParams(address): PathParams<String>,
    mut query: QueryParams,
) -> Result<Json<Value>, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: crate::Operations + 'static,
{
    let mailbox = app.crm_mailbox(&caller, &address).await?;
    let folder = query
        .take("folder")?
        .ok_or_else(|| ApiError::malformed("folder", "is required: contacts or calendar"))
        .and_then(|f| {
            Folder::parse(&f)
                .ok_or_else(|| ApiError::malformed("folder", "must be contacts or calendar"))
        })?;
    let after = query
        .parse::<u64>("after", "a feed position (a whole number)")?
        .unwrap_or(0);
    let limit = query.limit(100, 1000)?;
    query.finish()?;

    let records = app
        .state
        .read_feed(&mailbox.address, folder, after, limit)
        .await?;
    let next = records
        .iter()
        .filter_map(|r| r.feed_seq)
        .max()
        .unwrap_or(after)
        .max(after);
    let items = records
        .into_iter()
        .map(|r| {
            let data = r
                .data
                .as_deref()
                .map(serde_json::from_str::<Value>)
                .transpose()
                .map_err(|e| ApiError::Internal(format!("stored record is not JSON: {e}")))?;
            Ok(FeedEntry {
                crm_id: r.crm_id,
                version: r.version,
                deleted: data.is_none(),
                data,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let more = items.len() == limit;
    Ok(Json(
        json!({ "folder": folder, "items": items, "next": next, "more": more }),
    ))
}
