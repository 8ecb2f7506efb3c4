//! Sends queued for a retry: what the send route leaves when Exchange is busy or cannot be
//! reached, and what the retry worker (the send-mail function, the local runner) does with it.
//!
//! The message itself is spooled in the state store under (mailbox, idempotency key), so a
//! message of any size the route accepts can wait; only a [`QueuedSend`] pointer travels on
//! the queue. The idempotency record says `queued` meanwhile, so a repeat of the request is
//! answered `202` again, and once the worker sent it, the receipt.
//!
//! A worker loads the message ([`QueuedSend::load`]), sends it with the same idempotency
//! key (which finds a copy an earlier attempt left in Sent Items instead of sending twice),
//! and then finishes: [`QueuedSend::finish_sent`] or [`QueuedSend::finish_failed`]. A
//! failure that may pass leaves everything as it is, for the queue to deliver again.
//! [`deliver_queued`] does all of that through [`Operations::send`].

use chrono::{DateTime, Utc};
use mailbridge_store::{AuditEvent, StateStore, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ops::{Operations, OutgoingMessage, SendReceipt};
use crate::routes::send::IDEMPOTENCY_TTL;

/// The message on the send retry queue: which send to retry. The message is in the spool.
///
/// As JSON: `{"mailbox": "anna@contoso.example", "idempotency_key": "crm-outbox-17"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueuedSend {
    /// The mailbox it is sent from (lower case, as stored).
    pub mailbox: String,
    /// The caller's idempotency key.
    pub idempotency_key: String,
}

/// A spooled send: the message and who asked for it (for the audit trail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpooledSend {
    /// The actor the audit event names, as for a direct send.
    pub actor: String,
    /// The message, as the route checked it.
    pub message: OutgoingMessage,
}

/// What is stored under an idempotency key once an attempt ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum SendRecord {
    /// Sent: replay this receipt.
    Sent {
        /// What the send left.
        receipt: SendReceipt,
    },
    /// Waiting on the retry queue: answer `202` again.
    Queued {
        /// When the next attempt is due, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<DateTime<Utc>>,
    },
    /// Not sent: a repeat of the request tries again.
    Failed {
        /// Why, when a queued attempt gave up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl SendRecord {
    pub(crate) fn to_json(&self) -> String {
        // Strings, times and a receipt of strings always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The idempotency scope of a mailbox's sends.
pub(crate) fn scope(mailbox: &str) -> String {
    format!("send:{mailbox}")
}

impl QueuedSend {
    /// Reads a queue message body.
    pub fn parse(body: &str) -> Result<QueuedSend, serde_json::Error> {
        serde_json::from_str(body)
    }

    /// The queue message body.
    pub fn to_body(&self) -> String {
        // Two strings always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Spools `spooled` for this send, kept as long as the idempotency record.
    pub(crate) async fn spool<S: StateStore>(
        &self,
        state: &S,
        spooled: &SpooledSend,
    ) -> Result<(), StoreError> {
        let payload = serde_json::to_vec(spooled).map_err(|e| StoreError::Invalid {
            field: "message",
            reason: format!("does not serialise: {e}"),
        })?;
        state
            .put_spool(
                &self.mailbox,
                &self.idempotency_key,
                &payload,
                IDEMPOTENCY_TTL,
                Utc::now(),
            )
            .await
    }

    /// The spooled message. `Ok(None)` when nothing is spooled: the send was finished by an
    /// earlier delivery, or it lapsed. `Corrupt` when the spool cannot be read back whole.
    pub async fn load<S: StateStore>(&self, state: &S) -> Result<Option<SpooledSend>, StoreError> {
        let payload = match state
            .get_spool(&self.mailbox, &self.idempotency_key, Utc::now())
            .await
        {
            Ok(payload) => payload,
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        serde_json::from_slice(&payload)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                detail: format!(
                    "spooled send {} of {} does not decode: {e}",
                    self.idempotency_key, self.mailbox
                ),
            })
    }

    /// Stores `record` under the send's idempotency key.
    pub(crate) async fn record<S: StateStore>(
        &self,
        state: &S,
        record: &SendRecord,
    ) -> Result<(), StoreError> {
        state
            .finish_idempotent(
                &scope(&self.mailbox),
                &self.idempotency_key,
                &record.to_json(),
            )
            .await
    }

    /// Deletes the spooled message (no error if there is none).
    pub(crate) async fn unspool<S: StateStore>(&self, state: &S) -> Result<(), StoreError> {
        state
            .delete_spool(&self.mailbox, &self.idempotency_key)
            .await
    }

    /// Writes the `mail.send` audit event of the message that went out. The message is sent
    /// and recorded by then, so a missing audit line is logged, never an error that would
    /// send it again.
    pub(crate) async fn audit_sent<S: StateStore>(
        &self,
        state: &S,
        actor: String,
        message: &OutgoingMessage,
        receipt: &SendReceipt,
    ) {
        let detail = json!({
            "recipients": message.to.len() + message.cc.len() + message.bcc.len(),
            "attachments": message.attachments.len(),
            "message_id": receipt.message_id,
        });
        let event = AuditEvent {
            mailbox: self.mailbox.clone(),
            at: Utc::now(),
            actor,
            action: "mail.send".to_owned(),
            subject: format!("idempotency-key/{}", self.idempotency_key),
            detail: detail.to_string(),
        };
        if let Err(e) = state.append_audit(&[event]).await {
            tracing::error!(error = %e, "audit event for a send not stored");
        }
    }

    /// Finishes a send that went out: the idempotency record gets the receipt (a repeat of
    /// the request replays it), the spool is deleted and the audit event written. An error
    /// means the send should be retried: the retry finds the sent message by its key.
    pub async fn finish_sent<S: StateStore>(
        &self,
        state: &S,
        spooled: &SpooledSend,
        receipt: &SendReceipt,
    ) -> Result<(), StoreError> {
        let record = SendRecord::Sent {
            receipt: receipt.clone(),
        };
        self.record(state, &record).await?;
        self.unspool(state).await?;
        self.audit_sent(state, spooled.actor.clone(), &spooled.message, receipt)
            .await;
        Ok(())
    }

    /// Finishes a send that cannot go out without someone changing something: the record
    /// says failed with `reason` (a repeat of the request tries again) and the spool is
    /// deleted.
    pub async fn finish_failed<S: StateStore>(
        &self,
        state: &S,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.record_failed(state, reason).await?;
        self.unspool(state).await
    }

    /// Records the send as failed with `reason` but keeps its spooled message: for a send
    /// the queue gives up on (to its dead-letter queue), so the caller's repeat sends anew,
    /// while a message moved back from there can still be sent.
    pub async fn record_failed<S: StateStore>(
        &self,
        state: &S,
        reason: &str,
    ) -> Result<(), StoreError> {
        let record = SendRecord::Failed {
            reason: Some(reason.to_owned()),
        };
        self.record(state, &record).await
    }
}

/// What became of a queued send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Sent (or found sent by an earlier attempt) and finished.
    Sent(SendReceipt),
    /// Nothing spooled: an earlier delivery finished it, or it lapsed.
    Gone,
    /// Failed in a way that may pass: deliver it again later.
    Retry {
        /// Why.
        reason: String,
    },
    /// Failed for good and finished as failed.
    Failed {
        /// Why.
        reason: String,
    },
}

/// Loads, sends and finishes one queued send through `ops`.
pub async fn deliver_queued<S: StateStore, O: Operations>(
    state: &S,
    ops: &O,
    queued: &QueuedSend,
) -> Delivery {
    let spooled = match queued.load(state).await {
        Ok(Some(spooled)) => spooled,
        Ok(None) => return Delivery::Gone,
        Err(err) if err.is_retryable() => {
            return Delivery::Retry {
                reason: err.to_string(),
            };
        }
        Err(err) => return give_up(state, queued, err.to_string()).await,
    };
    let sent = ops
        .send(&queued.mailbox, &spooled.message, &queued.idempotency_key)
        .await;
    match sent {
        Ok(receipt) => match queued.finish_sent(state, &spooled, &receipt).await {
            Ok(()) => Delivery::Sent(receipt),
            Err(err) => Delivery::Retry {
                reason: format!("sent, but not recorded: {err}"),
            },
        },
        Err(err) if err.is_retryable() => Delivery::Retry {
            reason: err.to_string(),
        },
        Err(err) => give_up(state, queued, err.to_string()).await,
    }
}

async fn give_up<S: StateStore>(state: &S, queued: &QueuedSend, reason: String) -> Delivery {
    match queued.finish_failed(state, &reason).await {
        Ok(()) => Delivery::Failed { reason },
        Err(err) => Delivery::Retry {
            reason: format!("{reason}; and the failure was not recorded: {err}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_written_before_queued_sends_still_read() {
        let old: SendRecord = serde_json::from_str(r#"{"outcome":"failed"}"#)
            .unwrap_or(SendRecord::Queued { due: None });
        assert_eq!(old, SendRecord::Failed { reason: None });
        let queued = SendRecord::Queued { due: None };
        assert_eq!(queued.to_json(), r#"{"outcome":"queued"}"#);
    }

    #[test]
    fn the_queue_message_is_only_a_pointer() {
        let queued = QueuedSend {
            mailbox: "anna.berg@contoso.example".to_owned(),
            idempotency_key: "crm-outbox-17".to_owned(),
        };
        assert_eq!(
            queued.to_body(),
            r#"{"mailbox":"anna.berg@contoso.example","idempotency_key":"crm-outbox-17"}"#
        );
        assert_eq!(QueuedSend::parse(&queued.to_body()).ok(), Some(queued));
        assert!(
            QueuedSend::parse(r#"{"mailbox":"a@b.example","idempotency_key":"k","message":{}}"#)
                .is_err()
        );
    }
}
