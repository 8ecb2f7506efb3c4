//! A send the API queued: its message is read from the spool, sent with the caller's
//! idempotency key, and the send is finished so the caller's repeat of the request gets the
//! receipt (or, after a failure only a person can fix, sends anew).

use mailbridge_api::{QueuedSend, SendReceipt, SpooledSend};
use mailbridge_fn_common::Services;
use mailbridge_fn_common::exchange::client_for_mailbox;
use mailbridge_fn_common::sqs_batch::Outcome;
use mailbridge_service::ops::outgoing_mail;
use mailbridge_store::{SecretStore, StateStore};
use tracing::{error, info, warn};

use crate::classify;

/// Sends a queued send once and finishes it; what SQS should do with its message.
pub async fn send_queued<S: StateStore, K: SecretStore>(
    services: &Services<S, K>,
    queued: &QueuedSend,
) -> Outcome {
    let spooled = match queued.load(&services.state).await {
        Ok(Some(spooled)) => spooled,
        Ok(None) => {
            info!(
                outcome = "gone",
                "nothing spooled: an earlier delivery finished it, or it lapsed"
            );
            return Outcome::Done;
        }
        Err(err) if err.is_retryable() => {
            return Outcome::Retry {
                reason: err.to_string(),
            };
        }
        Err(err) => return give_up(services, queued, err.to_string()).await,
    };
    let mail = match outgoing_mail(&spooled.message) {
        Ok(mail) => mail,
        Err(err) => return give_up(services, queued, err.to_string()).await,
    };
    let ews = match client_for_mailbox(
        &services.state,
        &services.secrets,
        &services.clients,
        &queued.mailbox,
    )
    .await
    {
        Ok(ews) => ews,
        Err(err) if err.is_retryable() => {
            return Outcome::Retry {
                reason: err.to_string(),
            };
        }
        Err(err) => return give_up(services, queued, err.to_string()).await,
    };

    let result = Box::pin(mailbridge_service::send(
        &ews,
        &queued.mailbox,
        &mail,
        &queued.idempotency_key,
    ))
    .await;
    match result {
        Ok(sent) => finish_sent(services, queued, &spooled, sent.replayed).await,
        Err(err) => match classify(&err) {
            Outcome::Dropped { reason } => give_up(services, queued, reason).await,
            retry => retry,
        },
    }
}

async fn finish_sent<S: StateStore, K: SecretStore>(
    services: &Services<S, K>,
    queued: &QueuedSend,
    spooled: &SpooledSend,
    replayed: bool,
) -> Outcome {
    let receipt = SendReceipt {
        message_id: None,
        item_id: None,
        replayed: false,
    };
    match queued.finish_sent(&services.state, spooled, &receipt).await {
        Ok(()) => {
            info!(
                outcome = "sent",
                replayed, "queued message sent; its receipt is recorded"
            );
            Outcome::Done
        }
        // The retry finds the message in Sent Items by its key and records it then.
        Err(err) => Outcome::Retry {
            reason: format!("sent, but the receipt was not recorded: {err}"),
        },
    }
}

/// On a queued send's last delivery, a failure that may pass is recorded as failed (the
/// message goes to the dead-letter queue), so the caller's repeat of the request sends anew
/// rather than hearing `queued` until the key lapses. The spool stays: a message moved back
/// from the dead-letter queue can still be sent.
pub async fn last_delivery<S: StateStore, K: SecretStore>(
    services: &Services<S, K>,
    queued: &QueuedSend,
    outcome: &Outcome,
) {
    let Outcome::Retry { reason } = outcome else {
        return;
    };
    let reason = format!("not sent by the last retry: {reason}");
    match queued.record_failed(&services.state, &reason).await {
        Ok(()) => warn!(
            outcome = "given_up",
            "last delivery of a queued send failed; recorded as failed"
        ),
        Err(err) => error!(error = %err, "giving up on a queued send was not recorded"),
    }
}

/// Finishes a send that cannot go out as failed; SQS drops it once that is recorded.
async fn give_up<S: StateStore, K: SecretStore>(
    services: &Services<S, K>,
    queued: &QueuedSend,
    reason: String,
) -> Outcome {
    match queued.finish_failed(&services.state, &reason).await {
        Ok(()) => Outcome::Dropped { reason },
        Err(err) => {
            error!(error = %err, "the failure of a queued send was not recorded");
            Outcome::Retry {
                reason: format!("{reason}; and the failure was not recorded: {err}"),
            }
        }
    }
}
