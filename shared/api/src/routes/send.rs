//! `POST /v1/mailboxes/{address}/send`: a message from the mailbox, made safe to retry by
//! the caller's `Idempotency-Key`.
//!
//! The key is claimed in the state store (scope `send:{mailbox}`) with the SHA-256 of the
//! canonical message. A success is stored and replayed for any retry; a failure is stored
//! as such, and a retry sends again. [`Operations::send`] takes the same key and must not
//! send twice for it, which also covers two retries of a failed send racing each other.
//!
//! A failure that may pass (Exchange busy or unreachable) is not handed back: the message
//! is spooled, the key recorded as queued and the send put on the retry queue
//! ([`crate::queued`]); the answer is `202`, and so is a repeat until the retry worker has
//! sent it, after which a repeat gets the receipt. When the queue cannot take it, the
//! caller gets the send's own error and retries.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use mailbridge_store::{Idempotency, SecretStore, StateStore};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::auth::{Caller, hex};
use crate::extract::{JsonBody, PathParams};
use crate::message;
use crate::ops::{Operations, OpsError, OutgoingMessage, SendReceipt};
use crate::problem::ApiError;
use crate::queued::{self, QueuedSend, SendRecord, SpooledSend};

/// How long a key is remembered (and how long an unfinished claim blocks retries).
pub const IDEMPOTENCY_TTL: Duration = Duration::from_hours(24);

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers
        .get("idempotency-key")
        .ok_or_else(|| ApiError::malformed("Idempotency-Key", "is required for sends"))?;
    value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::malformed(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )
        })
}

/// The SHA-256 of the message's canonical JSON (checked and cleaned; fields in a fixed
/// order), so a retry of the same message matches however its JSON was laid out.
fn request_hash(message: &OutgoingMessage) -> Result<String, ApiError> {
    let canonical = serde_json::to_vec(message)
        .map_err(|e| ApiError::Internal(format!("message does not serialise: {e}")))?;
    Ok(hex(&Sha256::digest(&canonical)))
}

/// Sends a message from a mailbox: `200` with the receipt, or `202` when it was queued for
/// a retry.
pub async fn send<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    headers: HeaderMap,
    PathParams(address): PathParams<String>,
    JsonBody(body): JsonBody<OutgoingMessage>,
) -> Result<Response, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let mailbox = app.crm_mailbox(&caller, &address).await?;
    let key = idempotency_key(&headers)?;
    let message = message::check(&body)?;
    let hash = request_hash(&message)?;
    let scope = queued::scope(&mailbox.address);

    let claim = app
        .state
        .begin_idempotent(&scope, &key, &hash, IDEMPOTENCY_TTL, Utc::now())
        .await?;
    let retrying = match claim {
        Idempotency::Claimed => false,
        Idempotency::InProgress => return Err(ApiError::KeyInProgress),
        Idempotency::Mismatch => return Err(ApiError::KeyReused),
        Idempotency::Done(stored) => match serde_json::from_str::<SendRecord>(&stored) {
            Ok(SendRecord::Sent { mut receipt }) => {
                tracing::info!(
                    outcome = "replayed",
                    "send replayed from the idempotency record"
                );
                receipt.replayed = true;
                return Ok(Json(receipt).into_response());
            }
            Ok(SendRecord::Queued { due }) => {
                tracing::info!(outcome = "queued", "send still waiting on the retry queue");
                return Ok(queued_answer(&mailbox.address, &key, due, true));
            }
            Ok(SendRecord::Failed { .. }) => {
                tracing::info!(
                    outcome = "retry",
                    "an earlier attempt failed; sending again"
                );
                true
            }
            Err(e) => {
                return Err(ApiError::Internal(format!(
                    "idempotency record unreadable: {e}"
                )));
            }
        },
    };

    let actor = caller.actor(super::tenants::x_actor(&headers));
    let queued = QueuedSend {
        mailbox: mailbox.address.clone(),
        idempotency_key: key.clone(),
    };
    match app.ops.send(&mailbox.address, &message, &key).await {
        Ok(receipt) => {
            if retrying {
                // A queued attempt given up on may have left its message spooled.
                if let Err(e) = queued.unspool(&app.state).await {
                    tracing::warn!(error = %e, "spooled message not deleted; it lapses with its TTL");
                }
            }
            Ok(sent(&app, &queued, actor, &message, receipt).await)
        }
        Err(err) if err.is_retryable() => {
            let spooled = SpooledSend { actor, message };
            match queue_for_retry(&app, &queued, &spooled, &err).await {
                Ok(due) => Ok(queued_answer(&mailbox.address, &key, due, false)),
                Err(why) => {
                    tracing::warn!(error = %why, "send not queued for a retry");
                    finish(&app, &queued, &SendRecord::Failed { reason: None }).await;
                    Err(err.into())
                }
            }
        }
        Err(err) => {
            finish(&app, &queued, &SendRecord::Failed { reason: None }).await;
            Err(err.into())
        }
    }
}

/// Records a send that went out and writes its audit event.
async fn sent<S, K, O>(
    app: &App<S, K, O>,
    queued: &QueuedSend,
    actor: String,
    message: &OutgoingMessage,
    receipt: SendReceipt,
) -> Response
where
    S: StateStore,
    K: SecretStore,
    O: Operations,
{
    let record = SendRecord::Sent {
        receipt: receipt.clone(),
    };
    finish(app, queued, &record).await;
    queued
        .audit_sent(&app.state, actor, message, &receipt)
        .await;
    tracing::info!(outcome = "sent", "message sent");
    Json(receipt).into_response()
}

/// Stores the outcome under the key.
async fn finish<S, K, O>(app: &App<S, K, O>, queued: &QueuedSend, record: &SendRecord)
where
    S: StateStore,
{
    // LIMIT: when this write fails after a send, the claim stays unfinished and retries get
    // 409 until it lapses (IDEMPOTENCY_TTL); the message was sent once, which is what
    // matters, and the caller is told so by this response.
    if let Err(e) = queued.record(&app.state, record).await {
        tracing::error!(error = %e, "idempotency record not stored");
    }
}

/// Spools the message, records the key as queued and puts the send on the retry queue;
/// returns when the next attempt is due, if known. On an error nothing is left queued.
async fn queue_for_retry<S, K, O>(
    app: &App<S, K, O>,
    queued: &QueuedSend,
    spooled: &SpooledSend,
    err: &OpsError,
) -> Result<Option<DateTime<Utc>>, String>
where
    S: StateStore,
    O: Operations,
{
    let delay = match err {
        OpsError::Throttled { retry_after_secs } => Duration::from_secs(*retry_after_secs),
        _ => Duration::ZERO,
    };
    let due = (!delay.is_zero())
        .then(|| TimeDelta::from_std(delay).ok())
        .flatten()
        .map(|delay| Utc::now() + delay);

    queued
        .spool(&app.state, spooled)
        .await
        .map_err(|e| format!("the message could not be spooled: {e}"))?;
    // Recorded before it is queued: a worker that finishes it at once must not have its
    // receipt overwritten by this.
    let recorded = queued
        .record(&app.state, &SendRecord::Queued { due })
        .await
        .map_err(|e| format!("the key could not be marked queued: {e}"));
    let enqueued = match recorded {
        Ok(()) => app
            .ops
            .queue_send(queued, delay)
            .await
            .map_err(|e| format!("the retry queue refused it: {e}")),
        Err(why) => Err(why),
    };
    if enqueued.is_err()
        && let Err(e) = queued.unspool(&app.state).await
    {
        tracing::warn!(error = %e, "spooled message not deleted; it lapses with its TTL");
    }
    enqueued?;
    tracing::warn!(
        outcome = "queued",
        back_off_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        error = %err,
        "send failed for now; queued for a retry"
    );
    Ok(due)
}

/// The `202` answer for a send waiting on the retry queue.
fn queued_answer(mailbox: &str, key: &str, due: Option<DateTime<Utc>>, replayed: bool) -> Response {
    let mut body = json!({
        "status": "queued",
        "mailbox": mailbox,
        "idempotency_key": key,
        "replayed": replayed,
    });
    let mut response_headers = HeaderMap::new();
    if let Some(due) = due {
        body["next_attempt_at"] = json!(due.to_rfc3339_opts(SecondsFormat::Secs, true));
        let wait = (due - Utc::now()).num_seconds().max(1);
        response_headers.insert(header::RETRY_AFTER, HeaderValue::from(wait));
    }
    (StatusCode::ACCEPTED, response_headers, Json(body)).into_response()
}
