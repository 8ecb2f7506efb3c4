//! `POST /v1/mailboxes/{address}/send`: a message from the mailbox, made safe to retry by
//! the caller's `Idempotency-Key`.
//!
//! The key is claimed in the state store (scope `send:{mailbox}`) with the SHA-256 of the
//! canonical message. A success is stored and replayed for any retry; a failure is stored
//! as such, and a retry sends again. [`Operations::send`] takes the same key and must not
//! send twice for it, which also covers two retries of a failed send racing each other.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use http::HeaderMap;
use mailbridge_store::{AuditEvent, Idempotency, SecretStore, StateStore};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::auth::{Caller, hex};
use crate::extract::{JsonBody, PathParams};
use crate::message;
use crate::ops::{Operations, OutgoingMessage, SendReceipt};
use crate::problem::ApiError;

/// How long a key is remembered (and how long an unfinished claim blocks retries).
pub const IDEMPOTENCY_TTL: Duration = Duration::from_hours(24);

/// What is stored under a key once the attempt ends.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Stored {
    /// Sent: replay this receipt.
    Sent { receipt: SendReceipt },
    /// Not sent: a retry tries again.
    Failed,
}

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

/// Sends a message from a mailbox.
pub async fn send<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    headers: HeaderMap,
    PathParams(address): PathParams<String>,
    JsonBody(body): JsonBody<OutgoingMessage>,
) -> Result<Json<SendReceipt>, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let mailbox = app.crm_mailbox(&caller, &address).await?;
    let key = idempotency_key(&headers)?;
    let message = message::check(&body)?;
    let hash = request_hash(&message)?;
    let scope = format!("send:{}", mailbox.address);

    let claim = app
        .state
        .begin_idempotent(&scope, &key, &hash, IDEMPOTENCY_TTL, Utc::now())
        .await?;
    match claim {
        Idempotency::Claimed => {}
        Idempotency::InProgress => return Err(ApiError::KeyInProgress),
        Idempotency::Mismatch => return Err(ApiError::KeyReused),
        Idempotency::Done(stored) => match serde_json::from_str::<Stored>(&stored) {
            Ok(Stored::Sent { mut receipt }) => {
                tracing::info!(
                    outcome = "replayed",
                    "send replayed from the idempotency record"
                );
                receipt.replayed = true;
                return Ok(Json(receipt));
            }
            Ok(Stored::Failed) => {
                tracing::info!(
                    outcome = "retry",
                    "an earlier attempt failed; sending again"
                );
            }
            Err(e) => {
                return Err(ApiError::Internal(format!(
                    "idempotency record unreadable: {e}"
                )));
            }
        },
    }

    let result = app.ops.send(&mailbox.address, &message, &key).await;
    let stored = match &result {
        Ok(receipt) => Stored::Sent {
            receipt: receipt.clone(),
        },
        Err(_) => Stored::Failed,
    };
    let record = serde_json::to_string(&stored).unwrap_or_default();
    // LIMIT: when this write fails after a send, the claim stays unfinished and retries get
    // 409 until it lapses (IDEMPOTENCY_TTL); the message was sent once, which is what
    // matters, and the caller is told so by this response.
    if let Err(e) = app.state.finish_idempotent(&scope, &key, &record).await {
        tracing::error!(error = %e, "idempotency record not stored");
    }

    let receipt = result?;
    let detail = json!({
        "recipients": message.to.len() + message.cc.len() + message.bcc.len(),
        "attachments": message.attachments.len(),
        "message_id": receipt.message_id,
    });
    let event = AuditEvent {
        mailbox: mailbox.address.clone(),
        at: Utc::now(),
        actor: caller.actor(super::tenants::x_actor(&headers)),
        action: "mail.send".to_owned(),
        subject: format!("idempotency-key/{key}"),
        detail: detail.to_string(),
    };
    if let Err(e) = app.state.append_audit(&[event]).await {
        // The message is sent; a missing audit line must not turn that into an error.
        tracing::error!(error = %e, "audit event for a send not stored");
    }
    tracing::info!(outcome = "sent", "message sent");
    Ok(Json(receipt))
}
