//! The mailbox-sync function: SQS delivers sync requests (`{"mailbox": …, "reason": …}`),
//! and each one syncs its mailbox, both folders, both directions.
//!
//! The answer is a partial batch response: only the messages worth trying again are
//! reported as failures, so SQS redelivers those and deletes the rest.
//!
//! | outcome | reported as failed | why |
//! | --- | --- | --- |
//! | synced | no | done |
//! | throttled | yes, hidden for Exchange's back-off first | may succeed after the back-off |
//! | network, store unavailable, another sync running | yes | may succeed later |
//! | tenant paused, mailbox unknown, mass-delete brake | no | needs a person (see its record) |
//! | malformed body | yes | after the queue's `maxReceiveCount` it lands in the dead-letter queue |
//! | not started, invocation nearly out of time | yes | the next delivery runs it |
//!
//! A throttled message is hidden with SQS `ChangeMessageVisibility` for the back-off
//! Exchange asked for ([`back_off`] has the rule), so it comes back then rather than after
//! the queue's visibility timeout; if the queue refuses, it comes back after that timeout.
//! Every other retried message comes back after the queue's visibility timeout.
//!
//! Each batch with failed syncs (retried or not) writes the `SyncErrors` metric as an
//! Embedded Metric Format line, which the `sync-errors` alarm reads.

pub mod back_off;
pub mod visibility;

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use lambda_runtime::LambdaEvent;
use mailbridge_fn_common::metrics::Unit;
use mailbridge_fn_common::sqs_batch::{self, Outcome};
use mailbridge_fn_common::{Services, SyncRequest, logging};
use mailbridge_service::jobs::{JobError, sync_mailbox};
use mailbridge_store::{SecretStore, StateStore};
use mailbridge_sync::SyncConfig;
use tracing::{Instrument as _, error, info, warn};

use crate::back_off::{receive_count, redelivery_delay};
pub use crate::visibility::{MessageVisibility, SqsVisibility, VisibilityError};

/// The function's name in logs.
pub const FUNCTION: &str = "mailbox-sync";

/// Syncs the mailbox of every message in the batch, one after the other, and reports the
/// ones SQS should deliver again; a throttled one is first hidden on `queue` for the
/// back-off Exchange asked for.
pub async fn handle<S: StateStore, K: SecretStore, Q: MessageVisibility>(
    services: &Services<S, K>,
    queue: &Q,
    event: LambdaEvent<SqsEvent>,
) -> SqsBatchResponse {
    let (batch, context) = event.into_parts();
    let span = logging::invocation_span(FUNCTION, &context);
    async {
        let config = SyncConfig {
            owner: format!("{FUNCTION}/{}", context.request_id),
            ..SyncConfig::default()
        };
        let (response, counts) =
            sqs_batch::process(&batch.records, context.deadline(), async |record| {
                run(services, queue, record, config.clone()).await
            })
            .await;
        // The alarm `sync-errors` reads this metric (`infra/monitoring.md`): one per
        // mailbox whose sync failed, retried or not.
        let failed = counts.retried + counts.dropped;
        if failed > 0 {
            services.metrics.emit(
                &services.metrics.document(Utc::now()).level("ERROR").metric(
                    "SyncErrors",
                    Unit::Count,
                    count(failed),
                ),
            );
        }
        info!(
            messages = batch.records.len(),
            synced = counts.done,
            retried = counts.retried,
            dropped = counts.dropped,
            malformed = counts.malformed,
            deferred = counts.deferred,
            "sync batch done"
        );
        response
    }
    .instrument(span)
    .await
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Runs one message and logs what became of it.
pub async fn run<S: StateStore, K: SecretStore, Q: MessageVisibility>(
    services: &Services<S, K>,
    queue: &Q,
    record: &SqsMessage,
    config: SyncConfig,
) -> Outcome {
    let request = match SyncRequest::parse(record.body.as_deref()) {
        Ok(request) => request,
        Err(err) => {
            let reason = err.to_string();
            let receives = record.attributes.get("ApproximateReceiveCount");
            error!(
                outcome = "malformed",
                message_id = record.message_id.as_deref().unwrap_or(""),
                receives = receives.map_or("", String::as_str),
                reason = %reason,
                "not a sync request; after the last retry it goes to the dead-letter queue"
            );
            return Outcome::Malformed { reason };
        }
    };

    let span = logging::mailbox_span(&request.mailbox);
    async {
        // The tenant is only for the logs; sync_mailbox reads the mailbox again and reports
        // a missing one.
        if let Ok(Some(mailbox)) = services.state.get_mailbox(&request.mailbox).await {
            tracing::Span::current().record("tenant", mailbox.tenant.as_str());
        }
        // Boxed: a whole sync is a large future, better on the heap than on the stack.
        let result = Box::pin(sync_mailbox(
            &services.state,
            &services.secrets,
            &services.clients,
            &request.mailbox,
            config,
        ))
        .await;
        let changes: Option<usize> = result.as_ref().ok().map(|reports| {
            reports
                .iter()
                .map(|r| {
                    r.crm_created
                        + r.crm_updated
                        + r.crm_deleted
                        + r.mailbox_created
                        + r.mailbox_updated
                        + r.mailbox_deleted
                })
                .sum()
        });
        let delay = result
            .as_ref()
            .err()
            .and_then(|err| redelivery_delay(err, receive_count(record)));
        let outcome = classify(result.map(|_| ()));
        if let (Outcome::Retry { .. }, Some(delay)) = (&outcome, delay) {
            hide(queue, record, delay).await;
        }
        match &outcome {
            Outcome::Done => {
                info!(
                    outcome = "synced",
                    reason = request.reason(),
                    changes = changes.unwrap_or(0),
                    "mailbox synced"
                );
            }
            Outcome::Retry { reason } => {
                warn!(
                    outcome = "retry",
                    reason = request.reason(),
                    error = %reason,
                    back_off_ms = delay.map(millis),
                    "sync failed; SQS delivers it again"
                );
            }
            Outcome::Dropped { reason } => {
                error!(
                    outcome = "dropped",
                    reason = request.reason(),
                    error = %reason,
                    "sync failed and is not retried"
                );
            }
            Outcome::Malformed { .. } | Outcome::Deferred => {}
        }
        outcome
    }
    .instrument(span)
    .await
}

/// Hides `record` on `queue` for `delay`. A failure is only logged: the message is still
/// reported for redelivery and comes back after the queue's visibility timeout instead.
async fn hide<Q: MessageVisibility>(queue: &Q, record: &SqsMessage, delay: Duration) {
    let message_id = record.message_id.as_deref().unwrap_or("");
    let Some(receipt_handle) = record.receipt_handle.as_deref() else {
        warn!(
            message_id,
            back_off_ms = millis(delay),
            "a message without a receipt handle cannot be delayed; it returns after the \
             queue's visibility timeout"
        );
        return;
    };
    if let Err(err) = queue.hide_for(receipt_handle, delay).await {
        warn!(
            message_id,
            back_off_ms = millis(delay),
            error = %err,
            "cannot delay the message for the back-off; it returns after the queue's \
             visibility timeout"
        );
    }
}

fn millis(delay: Duration) -> u64 {
    u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)
}

/// Maps a sync's result to what SQS should do with its message.
pub fn classify(result: Result<(), JobError>) -> Outcome {
    match result {
        Ok(()) => Outcome::Done,
        Err(err) if err.is_retryable() => Outcome::Retry {
            reason: err.to_string(),
        },
        Err(err) => Outcome::Dropped {
            reason: err.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mailbridge_mailbox::BackendError;
    use mailbridge_service::tenants::ClientError;
    use mailbridge_store::{Folder, StoreError, TenantStatus};
    use mailbridge_sync::SyncError;

    use super::*;

    #[test]
    fn only_failures_that_may_pass_are_delivered_again() {
        let cases: Vec<(JobError, bool)> = vec![
            (
                SyncError::Backend(BackendError::Throttled {
                    back_off: Some(Duration::from_mins(2)),
                })
                .into(),
                true,
            ),
            (
                SyncError::Backend(BackendError::Transient("reset".into())).into(),
                true,
            ),
            (
                SyncError::Busy {
                    folder: Folder::Contacts,
                }
                .into(),
                true,
            ),
            (
                StoreError::Unavailable {
                    detail: "throttled".into(),
                }
                .into(),
                true,
            ),
            (
                JobError::Client(ClientError::Secrets("timeout".into())),
                true,
            ),
            (
                JobError::UnknownMailbox("nobody@contoso.example".into()),
                false,
            ),
            (
                JobError::Client(ClientError::Inactive {
                    tenant: "t".into(),
                    status: TenantStatus::CredentialExpired,
                    reason: "the client secret expired".into(),
                }),
                false,
            ),
            (
                SyncError::Braked {
                    folder: Folder::Contacts,
                    deletes: 40,
                    linked: 50,
                }
                .into(),
                false,
            ),
            (
                SyncError::Backend(BackendError::Auth("consent".into())).into(),
                false,
            ),
        ];
        for (err, redeliver) in cases {
            let shown = err.to_string();
            let outcome = classify(Err(err));
            assert_eq!(outcome.redeliver(), redeliver, "{shown}: {outcome:?}");
        }
        assert!(!classify(Ok(())).redeliver());
    }
}
