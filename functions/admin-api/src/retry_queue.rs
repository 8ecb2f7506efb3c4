//! Sends to retry as messages on the SQS send retry queue, for the send-mail function.
//!
//! A message holds only the pointer ([`QueuedSend`]); the message itself is spooled in the
//! state table, so a send of any size the API accepts can be queued (an SQS message holds at
//! most 256 KiB).

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sqs::error::DisplayErrorContext;
use mailbridge_api::QueuedSend;
use mailbridge_fn_common::settings::SEND_RETRY_QUEUE_URL;
use mailbridge_fn_common::{Settings, SettingsError};
use mailbridge_service::ops::SendRetryQueue;

/// The longest delay SQS takes on one message (15 minutes).
pub const MAX_DELAY: Duration = Duration::from_mins(15);

/// The SQS send retry queue.
#[derive(Debug, Clone)]
pub struct SqsRetryQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsRetryQueue {
    /// The queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> SqsRetryQueue {
        SqsRetryQueue {
            client,
            url: url.into(),
        }
    }

    /// The queue the settings name (`SEND_RETRY_QUEUE_URL`, required here), on `aws`.
    pub fn from_settings(
        aws: &SdkConfig,
        settings: &Settings,
    ) -> Result<SqsRetryQueue, SettingsError> {
        let url = settings
            .send_retry_queue_url
            .as_deref()
            .ok_or(SettingsError::Missing {
                name: SEND_RETRY_QUEUE_URL,
                what: "the URL of the SQS queue for sends to retry",
            })?;
        Ok(SqsRetryQueue::new(aws_sdk_sqs::Client::new(aws), url))
    }
}

/// The message's `DelaySeconds`: the back-off, capped at what SQS takes; `None` without a
/// back-off, so the queue's own delay applies. A longer back-off is cut short; the retry
/// then meets the throttling again and waits out the visibility timeout.
pub fn delay_seconds(delay: Duration) -> Option<i32> {
    let secs = delay.min(MAX_DELAY).as_secs();
    (secs > 0).then(|| i32::try_from(secs).unwrap_or(0))
}

impl SendRetryQueue for SqsRetryQueue {
    async fn enqueue(&self, queued: &QueuedSend, delay: Duration) -> Result<(), String> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(queued.to_body())
            .set_delay_seconds(delay_seconds(delay))
            .send()
            .await
            .map(drop)
            .map_err(|err| {
                format!(
                    "the send retry queue refused the message: {}",
                    DisplayErrorContext(err)
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_capped_at_what_sqs_takes() {
        assert_eq!(delay_seconds(Duration::ZERO), None);
        assert_eq!(delay_seconds(Duration::from_secs(90)), Some(90));
        assert_eq!(delay_seconds(Duration::from_hours(2)), Some(900));
    }
}
