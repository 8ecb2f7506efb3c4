//! Keeping a received message hidden for a while, so SQS delivers it again when that time
//! is over: SQS `ChangeMessageVisibility`, behind a small trait so the handler is tested
//! without a queue.

use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use mailbridge_fn_common::{Settings, SettingsError};

use crate::back_off::MAX_VISIBILITY;

/// The queue refused to change a message's visibility (an expired receipt handle, a
/// visibility past SQS's 12 hours from the receive, permissions, network).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the sync queue did not change the message's visibility: {0}")]
pub struct VisibilityError(pub String);

/// Where the messages of the batch came from.
pub trait MessageVisibility: Send + Sync {
    /// Hides the message received with `receipt_handle` for `delay` from now (whole
    /// seconds, at most 12 hours).
    fn hide_for(
        &self,
        receipt_handle: &str,
        delay: Duration,
    ) -> impl Future<Output = Result<(), VisibilityError>> + Send;
}

/// The SQS sync queue.
#[derive(Debug, Clone)]
pub struct SqsVisibility {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsVisibility {
    /// The queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> SqsVisibility {
        SqsVisibility {
            client,
            url: url.into(),
        }
    }

    /// The sync queue the settings name (`SYNC_QUEUE_URL`, required here), through
    /// `client`.
    pub fn from_settings(
        client: aws_sdk_sqs::Client,
        settings: &Settings,
    ) -> Result<SqsVisibility, SettingsError> {
        Ok(SqsVisibility::new(
            client,
            settings.require_sync_queue_url()?,
        ))
    }
}

impl MessageVisibility for SqsVisibility {
    async fn hide_for(&self, receipt_handle: &str, delay: Duration) -> Result<(), VisibilityError> {
        let seconds = delay.min(MAX_VISIBILITY).as_secs();
        // At most 43 200 after the cut above, so it always fits.
        let seconds = i32::try_from(seconds).unwrap_or(i32::MAX);
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(|err| VisibilityError(DisplayErrorContext(err).to_string()))?;
        Ok(())
    }
}
