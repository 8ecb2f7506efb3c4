//! The send-mail function: SQS delivers sends to retry, and each one is sent from its
//! mailbox with `SendAndSaveCopy`. The key is stamped on the message and looked for in Sent
//! Items first, so a message that went out on an earlier attempt is not sent again.
//!
//! The API queues a pointer, `{"mailbox", "idempotency_key"}`: the message (recipients,
//! subject, body, attachments, up to the send route's 10 MiB) is spooled in the state
//! table under the pair ([`queued`]). Once sent, the idempotency record gets the receipt
//! (the caller's repeat of the request then replays it), the `mail.send` audit event is
//! written and the spool deleted. The older inline form, which carries the message in the
//! body (`{"mailbox", "idempotency_key", "message"}`, at most 256 KiB), is still sent, with
//! no record to finish.
//!
//! | outcome | reported as failed | why |
//! | --- | --- | --- |
//! | sent, or found sent before | no | done; a queued send is finished with its receipt |
//! | nothing spooled any more | no | an earlier delivery finished it, or it lapsed (24 h) |
//! | throttled, network, store or secret store unavailable | yes | may succeed later; record and spool stay (on the last delivery, [`SEND_MAX_RECEIVE_COUNT`], the record says failed so the caller's repeat sends anew) |
//! | invalid message, tenant paused, mailbox unknown, access refused, spool incomplete | no | needs a person; a queued send is finished as failed and its spool deleted |
//! | malformed body | yes | after the queue's `maxReceiveCount` it lands in the dead-letter queue |
//! | not started, invocation nearly out of time | yes | the next delivery runs it |

pub mod deliveries;
pub mod queued;
pub mod request;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use mailbridge_fn_common::exchange::client_for_mailbox;
use mailbridge_fn_common::sqs_batch::{self, Outcome};
use mailbridge_fn_common::{SendRequest, Services, logging};
use mailbridge_service::SendError;
use mailbridge_store::{SecretStore, StateStore};
use tracing::{Instrument as _, error, info, warn};

pub use deliveries::{Deliveries, SEND_MAX_RECEIVE_COUNT};
pub use request::{BadRetry, RetryRequest};

/// The function's name in logs.
pub const FUNCTION: &str = "send-mail";

/// Sends the message of every record in the batch, one after the other, and reports the
/// ones SQS should deliver again; the queue's delivery limit is unknown.
pub async fn handle<S: StateStore, K: SecretStore>(
    services: &Services<S, K>,
    event: LambdaEvent<SqsEvent>,
) -> SqsBatchResponse {
    handle_with(services, Deliveries::default(), event).await
}

/// As [`handle`], knowing how often SQS delivers a message.
pub async fn handle_with<S: StateStore, K: SecretStore>(
    services: &Services<S, K>,
    deliveries: Deliveries,
    event: LambdaEvent<SqsEvent>,
) -> SqsBatchResponse {
    let (batch, context) = event.into_parts();
    let span = logging::invocation_span(FUNCTION, &context);
    async {
        let (response, counts) =
            sqs_batch::process(&batch.records, context.deadline(), async |record| {
                run(services, deliveries, record).await
            })
            .await;
        info!(
            messages = batch.records.len(),
            sent = counts.done,
            retried = counts.retried,
            dropped = counts.dropped,
            malformed = counts.malformed,
            deferred = counts.deferred,
            "send batch done"
        );
        response
    }
    .instrument(span)
    .await
}

/// Sends one record's message and logs what became of it.
pub async fn run<S: StateStore, K: SecretStore>(
    services: &Services<S, K>,
    deliveries: Deliveries,
    record: &SqsMessage,
) -> Outcome {
    let request = match RetryRequest::parse(record.body.as_deref()) {
        Ok(request) => request,
        Err(err) => {
            let reason = err.to_string();
            error!(
                outcome = "malformed",
                message_id = record.message_id.as_deref().unwrap_or(""),
                reason = %reason,
                "not a send request; after the last retry it goes to the dead-letter queue"
            );
            return Outcome::Malformed { reason };
        }
    };

    let span = logging::mailbox_span(request.mailbox());
    async {
        let outcome = match &request {
            RetryRequest::Queued(queued) => {
                let outcome = queued::send_queued(services, queued).await;
                if deliveries.is_last(record) {
                    queued::last_delivery(services, queued, &outcome).await;
                }
                outcome
            }
            RetryRequest::Inline(request) => send(services, request).await,
        };
        match &outcome {
            Outcome::Retry { reason } => {
                warn!(outcome = "retry", error = %reason, "send failed; SQS delivers it again");
            }
            Outcome::Dropped { reason } => {
                error!(outcome = "dropped", error = %reason, "send failed and is not retried");
            }
            Outcome::Done | Outcome::Malformed { .. } | Outcome::Deferred => {}
        }
        outcome
    }
    .instrument(span)
    .await
}

async fn send<S: StateStore, K: SecretStore>(
    services: &Services<S, K>,
    request: &SendRequest,
) -> Outcome {
    let ews = match client_for_mailbox(
        &services.state,
        &services.secrets,
        &services.clients,
        &request.mailbox,
    )
    .await
    {
        Ok(ews) => ews,
        Err(err) if err.is_retryable() => {
            return Outcome::Retry {
                reason: err.to_string(),
            };
        }
        Err(err) => {
            return Outcome::Dropped {
                reason: err.to_string(),
            };
        }
    };
    let result = Box::pin(mailbridge_service::send(
        &ews,
        &request.mailbox,
        &request.message,
        &request.idempotency_key,
    ))
    .await;
    match result {
        Ok(sent) => {
            info!(outcome = "sent", replayed = sent.replayed, "message sent");
            Outcome::Done
        }
        Err(err) => classify(&err),
    }
}

/// Maps a failed send to what SQS should do with its message. A retry is safe whenever it
/// may pass, or the message may have gone out unseen: the key keeps a message that did go
/// out from going out again.
pub fn classify(err: &SendError) -> Outcome {
    match err {
        SendError::Mailbox(ews) if ews.is_retryable() || ews.may_have_taken_effect() => {
            Outcome::Retry {
                reason: err.to_string(),
            }
        }
        SendError::Mailbox(_) | SendError::Invalid { .. } => Outcome::Dropped {
            reason: err.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mailbridge_ews::EwsError;

    use super::*;

    #[test]
    fn a_send_is_retried_when_it_may_pass_or_may_have_gone_out() {
        let retried = [
            EwsError::Throttled {
                back_off: Some(Duration::from_mins(2)),
            },
            EwsError::Malformed {
                detail: "the answer was cut off".into(),
            },
        ];
        for err in retried {
            let outcome = classify(&SendError::Mailbox(err));
            assert!(outcome.redeliver(), "{outcome:?}");
        }
        let refused = [
            SendError::Mailbox(EwsError::Forbidden {
                reason: Some("EWS is disabled for the app".into()),
            }),
            SendError::Invalid {
                field: "to",
                reason: "not an address".into(),
            },
        ];
        for err in refused {
            let outcome = classify(&err);
            assert!(!outcome.redeliver(), "{outcome:?}");
        }
    }
}
