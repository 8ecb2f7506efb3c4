//! One SQS batch, message by message, answered with a partial batch response: only the
//! messages worth delivering again are reported as failures, so SQS deletes the rest.

use std::time::{Duration, SystemTime};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsMessage};
use tracing::error;

/// A message is not started with less time than this left in the invocation: it goes back
/// to the queue instead of being cut off halfway.
pub const MIN_TIME_LEFT: Duration = Duration::from_secs(20);

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its work is done.
    Done,
    /// It failed in a way that may pass: SQS delivers it again.
    Retry {
        /// Why.
        reason: String,
    },
    /// It failed in a way only a person can fix: not delivered again.
    Dropped {
        /// Why.
        reason: String,
    },
    /// The body cannot be read: delivered again until it reaches the dead-letter queue,
    /// where someone can look at it.
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
    /// Not started for lack of time: delivered again.
    Deferred,
}

impl Outcome {
    /// Whether SQS should deliver the message again.
    pub fn redeliver(&self) -> bool {
        matches!(
            self,
            Outcome::Retry { .. } | Outcome::Malformed { .. } | Outcome::Deferred
        )
    }

    /// The `outcome` log field.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Retry { .. } => "retry",
            Outcome::Dropped { .. } => "dropped",
            Outcome::Malformed { .. } => "malformed",
            Outcome::Deferred => "deferred",
        }
    }
}

/// How many messages of a batch ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// [`Outcome::Done`].
    pub done: usize,
    /// [`Outcome::Retry`].
    pub retried: usize,
    /// [`Outcome::Dropped`].
    pub dropped: usize,
    /// [`Outcome::Malformed`].
    pub malformed: usize,
    /// [`Outcome::Deferred`].
    pub deferred: usize,
}

impl BatchCounts {
    fn count(&mut self, outcome: &Outcome) {
        let slot = match outcome {
            Outcome::Done => &mut self.done,
            Outcome::Retry { .. } => &mut self.retried,
            Outcome::Dropped { .. } => &mut self.dropped,
            Outcome::Malformed { .. } => &mut self.malformed,
            Outcome::Deferred => &mut self.deferred,
        };
        *slot += 1;
    }
}

/// Runs `each` on the messages one after the other until `deadline` is near, and answers
/// with the ones SQS should deliver again.
pub async fn process(
    records: &[SqsMessage],
    deadline: SystemTime,
    mut each: impl AsyncFnMut(&SqsMessage) -> Outcome,
) -> (SqsBatchResponse, BatchCounts) {
    let mut response = SqsBatchResponse::default();
    let mut counts = BatchCounts::default();
    for record in records {
        let time_left = deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        let outcome = if time_left < MIN_TIME_LEFT {
            Outcome::Deferred
        } else {
            each(record).await
        };
        counts.count(&outcome);
        if outcome.redeliver() {
            // Lambda sends every message with an id; without one there is nothing to name,
            // and SQS deletes it with the batch.
            if let Some(id) = record.message_id.as_deref() {
                response.add_failure(id);
            } else {
                error!(
                    outcome = outcome.name(),
                    "a message without an id cannot be retried"
                );
            }
        }
    }
    (response, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some(id.to_owned());
        message
    }

    fn failed(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }

    #[tokio::test]
    async fn only_messages_worth_retrying_are_reported() {
        let records: Vec<SqsMessage> = ["a", "b", "c", "d"].into_iter().map(message).collect();
        let deadline = SystemTime::now() + Duration::from_mins(1);

        let (response, counts) = process(&records, deadline, async |record| {
            match record.message_id.as_deref() {
                Some("a") => Outcome::Done,
                Some("b") => Outcome::Retry {
                    reason: "throttled".into(),
                },
                Some("c") => Outcome::Dropped {
                    reason: "tenant paused".into(),
                },
                _ => Outcome::Malformed {
                    reason: "not JSON".into(),
                },
            }
        })
        .await;

        assert_eq!(failed(&response), ["b", "d"]);
        assert_eq!(
            counts,
            BatchCounts {
                done: 1,
                retried: 1,
                dropped: 1,
                malformed: 1,
                deferred: 0
            }
        );
    }

    #[tokio::test]
    async fn nothing_starts_when_the_invocation_is_nearly_out_of_time() {
        let records: Vec<SqsMessage> = ["a", "b"].into_iter().map(message).collect();
        let deadline = SystemTime::now() + Duration::from_secs(5);
        let mut started = 0;

        let (response, counts) = process(&records, deadline, async |_| {
            started += 1;
            Outcome::Done
        })
        .await;

        assert_eq!(started, 0);
        assert_eq!(failed(&response), ["a", "b"]);
        assert_eq!(counts.deferred, 2);
    }
}
