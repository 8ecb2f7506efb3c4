//! The sync-scheduler function: an `EventBridge` schedule invokes it every few minutes; it
//! finds the mailboxes that are due (`jobs::due_mailboxes`) and puts one sync request per
//! mailbox on the SQS sync queue, in batches of ten.
//!
//! A mailbox already queued is not queued twice: before queuing, the scheduler takes the
//! lease `queued/<mailbox>` for one schedule interval. A later run (or a retried one) finds
//! the lease held and skips the mailbox until it lapses. A message the queue refused keeps
//! its lease too: the mailbox waits one interval rather than risk two messages.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use mailbridge_fn_common::{Services, SyncRequest, logging};
use mailbridge_service::jobs::due_mailboxes;
use mailbridge_store::{StateStore, StoreError};
use serde::Serialize;
use tracing::{Instrument as _, error, info, warn};

pub use mailbridge_fn_common::queue::{EntryFailure, MAX_BATCH, QueueError, SqsQueue, SyncQueue};

/// The function's name in logs.
pub const FUNCTION: &str = "sync-scheduler";

/// The reason written on scheduled sync requests.
pub const REASON: &str = "scheduled";

/// What one run did: the Lambda response, and the summary log line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScheduleReport {
    /// Mailboxes due for a sync.
    pub due: usize,
    /// Sync requests now on the queue.
    pub queued: usize,
    /// Due mailboxes skipped because an earlier run queued them within the interval.
    pub already_queued: usize,
    /// Due mailboxes not queued because the queue or the store failed; they are tried again
    /// once their lease lapses.
    pub failed: usize,
}

/// Why a run queued nothing.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The state store could not list the due mailboxes.
    #[error("the due mailboxes cannot be listed: {0}")]
    Store(#[from] StoreError),
}

impl From<ScheduleError> for Diagnostic {
    fn from(err: ScheduleError) -> Diagnostic {
        let ScheduleError::Store(store) = &err;
        // What Lambda, and whoever reads the error, should do next.
        let error_type = if store.is_retryable() {
            "RetryLater"
        } else {
            "NeedsAttention"
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// Queues a sync request for every due mailbox that is not queued already.
pub async fn handle<S: StateStore, K, Q: SyncQueue>(
    services: &Services<S, K>,
    queue: &Q,
    event: LambdaEvent<EventBridgeEvent>,
) -> Result<ScheduleReport, ScheduleError> {
    let (schedule, context) = event.into_parts();
    let span = logging::invocation_span(FUNCTION, &context);
    async {
        let now = Utc::now();
        let interval = services.settings.sync_interval;
        // The lease owner names this run alone: acquiring a lease one already holds
        // succeeds, so a fixed owner (or the request id, which Lambda keeps when it retries
        // an invocation) would let a later run queue the same mailbox again.
        let owner = format!(
            "{FUNCTION}/{}/{:08x}",
            context.request_id,
            fastrand::u32(..)
        );
        let due = due_mailboxes(&services.state, now, interval)
            .await
            .inspect_err(|err| {
                error!(error = %err, "the due mailboxes cannot be listed");
            })?;
        let mut report = ScheduleReport {
            due: due.len(),
            ..ScheduleReport::default()
        };

        let mut claimed = Vec::new();
        for mailbox in due {
            let key = format!("queued/{mailbox}");
            match services
                .state
                .acquire_lease(&key, &owner, interval, now)
                .await
            {
                Ok(Some(_)) => claimed.push(SyncRequest::new(mailbox, REASON)),
                Ok(None) => report.already_queued += 1,
                Err(err) => {
                    warn!(
                        mailbox = %logging::tag(&mailbox),
                        error = %err,
                        "cannot mark the mailbox queued; it waits for the next run"
                    );
                    report.failed += 1;
                }
            }
        }

        for batch in claimed.chunks(MAX_BATCH) {
            match queue.send_batch(batch).await {
                Ok(failures) => {
                    for failure in &failures {
                        let mailbox = batch.get(failure.index).map_or("", |r| r.mailbox.as_str());
                        warn!(
                            mailbox = %logging::tag(mailbox),
                            code = %failure.code,
                            sender_fault = failure.sender_fault,
                            "the queue refused a sync request; the mailbox waits one interval"
                        );
                    }
                    report.failed += failures.len();
                    report.queued += batch.len() - failures.len().min(batch.len());
                }
                Err(err) => {
                    warn!(
                        messages = batch.len(),
                        error = %err,
                        "the queue refused a batch; its mailboxes wait one interval"
                    );
                    report.failed += batch.len();
                }
            }
        }

        info!(
            schedule = schedule.id.as_deref().unwrap_or(""),
            due = report.due,
            queued = report.queued,
            already_queued = report.already_queued,
            failed = report.failed,
            "sync requests queued"
        );
        Ok(report)
    }
    .instrument(span)
    .await
}
