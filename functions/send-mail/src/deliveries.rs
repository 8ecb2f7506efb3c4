//! How often SQS delivers one message before moving it to the dead-letter queue, so the
//! last delivery of a queued send can tell its caller: a send still failing then is
//! recorded as failed, and a repeat of the request sends anew instead of hearing `queued`
//! until the key lapses.

use aws_lambda_events::event::sqs::SqsMessage;
use mailbridge_fn_common::SettingsError;

/// The variable holding the send retry queue's `maxReceiveCount`.
pub const SEND_MAX_RECEIVE_COUNT: &str = "SEND_MAX_RECEIVE_COUNT";

/// The deliveries SQS makes of one message; unknown (`None`) means every delivery may be
/// followed by another.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deliveries {
    /// The queue's `maxReceiveCount`.
    pub max: Option<u32>,
}

impl Deliveries {
    /// From [`SEND_MAX_RECEIVE_COUNT`], read through `lookup`; unset leaves it unknown.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let Some(text) = lookup(SEND_MAX_RECEIVE_COUNT) else {
            return Ok(Deliveries::default());
        };
        match text.trim().parse::<u32>() {
            Ok(max) if max > 0 => Ok(Deliveries { max: Some(max) }),
            _ => Err(SettingsError::Invalid {
                name: SEND_MAX_RECEIVE_COUNT,
                reason: format!("{text:?} is not a whole number of deliveries above 0"),
            }),
        }
    }

    /// Whether this is the message's last delivery before the dead-letter queue.
    pub fn is_last(&self, record: &SqsMessage) -> bool {
        let received = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|count| count.parse::<u32>().ok());
        matches!((self.max, received), (Some(max), Some(received)) if received >= max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivered(count: &str) -> SqsMessage {
        let mut record = SqsMessage::default();
        record
            .attributes
            .insert("ApproximateReceiveCount".to_owned(), count.to_owned());
        record
    }

    #[test]
    fn the_last_delivery_is_known_only_with_a_limit() {
        let three = Deliveries::from_lookup(|_| Some("3".to_owned())).unwrap_or_default();
        assert_eq!(three.max, Some(3));
        assert!(!three.is_last(&delivered("2")));
        assert!(three.is_last(&delivered("3")));
        assert!(!three.is_last(&SqsMessage::default()));
        let unknown = Deliveries::from_lookup(|_| None).unwrap_or_default();
        assert!(!unknown.is_last(&delivered("50")));
        let bad = Deliveries::from_lookup(|_| Some("zero".to_owned()));
        assert!(bad.is_err_and(|e| e.to_string().contains(SEND_MAX_RECEIVE_COUNT)));
    }
}
