//! Where sync requests go: the SQS sync queue, behind a small trait so the scheduler and
//! the API also run against an in-process queue.

use aws_config::SdkConfig;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::settings::{Settings, SettingsError};
use crate::sync_request::SyncRequest;

/// Most messages SQS takes in one `SendMessageBatch`.
pub const MAX_BATCH: usize = 10;

/// One message of a batch that was not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFailure {
    /// Its position in the batch.
    pub index: usize,
    /// The queue's error code (`InternalError`, `InvalidMessageContents`…).
    pub code: String,
    /// Whether the queue blames the request rather than itself.
    pub sender_fault: bool,
}

/// The whole batch failed (network, permissions, a missing queue); nothing was queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the sync queue refused the batch: {0}")]
pub struct QueueError(pub String);

/// A queue of sync requests.
pub trait SyncQueue: Send + Sync {
    /// Queues up to [`MAX_BATCH`] requests at once and returns the ones that were not.
    fn send_batch(
        &self,
        requests: &[SyncRequest],
    ) -> impl Future<Output = Result<Vec<EntryFailure>, QueueError>> + Send;
}

/// The SQS sync queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    /// The queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> SqsQueue {
        SqsQueue {
            client,
            url: url.into(),
        }
    }

    /// The sync queue the settings name (`SYNC_QUEUE_URL`, required here), on `aws`.
    pub fn from_settings(aws: &SdkConfig, settings: &Settings) -> Result<SqsQueue, SettingsError> {
        let url = settings.require_sync_queue_url()?;
        Ok(SqsQueue::new(aws_sdk_sqs::Client::new(aws), url))
    }
}

impl SyncQueue for SqsQueue {
    async fn send_batch(&self, requests: &[SyncRequest]) -> Result<Vec<EntryFailure>, QueueError> {
        let entries = requests
            .iter()
            .enumerate()
            .map(|(index, request)| {
                SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(request.to_body())
                    .build()
                    .map_err(|err| QueueError(err.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|err| QueueError(DisplayErrorContext(err).to_string()))?;

        let mut failures: Vec<EntryFailure> = output
            .failed()
            .iter()
            .filter_map(|failed| {
                Some(EntryFailure {
                    index: failed.id().parse().ok()?,
                    code: failed.code().to_owned(),
                    sender_fault: failed.sender_fault(),
                })
            })
            .collect();
        // An entry the answer does not mention at all was not confirmed: count it failed.
        for index in 0..requests.len() {
            let id = index.to_string();
            let answered = output.successful().iter().any(|ok| ok.id() == id)
                || failures.iter().any(|f| f.index == index);
            if !answered {
                failures.push(EntryFailure {
                    index,
                    code: "NoResult".to_owned(),
                    sender_fault: false,
                });
            }
        }
        Ok(failures)
    }
}
