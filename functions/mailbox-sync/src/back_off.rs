//! When a throttled sync's message should come back: after the back-off Exchange asked for,
//! not after the queue's visibility timeout (30 minutes on the deployed queue).
//!
//! The rule, for a sync that Exchange throttled:
//!
//! - Exchange named a back-off (`BackOffMilliseconds`): that long, rounded up to whole
//!   seconds, at least [`MIN_HINTED`], and from the second delivery on at least what the
//!   delivery before would have waited without a hint;
//! - it named none: [`FIRST_UNHINTED`] on the first delivery, doubling with each further
//!   delivery (`ApproximateReceiveCount`), at most [`MAX_UNHINTED`];
//! - either way at most [`MAX_VISIBILITY`], the longest SQS accepts.
//!
//! Every other failure worth retrying (network, store, another sync running) has no
//! back-off to honour and comes back after the queue's visibility timeout.

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use mailbridge_mailbox::BackendError;
use mailbridge_service::jobs::JobError;
use mailbridge_sync::SyncError;

/// The longest visibility timeout SQS accepts, 12 hours.
pub const MAX_VISIBILITY: Duration = Duration::from_hours(12);
/// The shortest wait after a hinted throttle, so a zero hint cannot bring the message
/// straight back.
pub const MIN_HINTED: Duration = Duration::from_secs(1);
/// The wait after the first unhinted throttle.
pub const FIRST_UNHINTED: Duration = Duration::from_secs(30);
/// The longest wait after an unhinted throttle.
pub const MAX_UNHINTED: Duration = Duration::from_mins(15);

/// How long the message of a sync that failed with `err` should stay hidden, on its
/// `receives`-th delivery; `None` when the queue's visibility timeout applies.
pub fn redelivery_delay(err: &JobError, receives: u32) -> Option<Duration> {
    match err {
        JobError::Sync(SyncError::Backend(BackendError::Throttled { back_off })) => {
            Some(throttled_delay(*back_off, receives))
        }
        _ => None,
    }
}

/// The rule of this module for a throttled sync: `hint` is Exchange's back-off, if it
/// named one. The result is whole seconds.
pub fn throttled_delay(hint: Option<Duration>, receives: u32) -> Duration {
    let delay = match hint {
        None => unhinted(receives),
        // Throttled again right after a short hint: wait at least what the delivery
        // before would have waited without one, so a mailbox Exchange keeps refusing is
        // not tried every second (and its message does not reach the dead-letter queue
        // within seconds).
        Some(hint) if receives > 1 => hint.max(MIN_HINTED).max(unhinted(receives - 1)),
        Some(hint) => hint.max(MIN_HINTED),
    };
    whole_seconds(delay).min(MAX_VISIBILITY)
}

/// The wait without a hint on the `receives`-th delivery.
fn unhinted(receives: u32) -> Duration {
    let doublings = receives.saturating_sub(1).min(16);
    FIRST_UNHINTED
        .saturating_mul(1 << doublings)
        .min(MAX_UNHINTED)
}

/// `delay` rounded up to whole seconds: SQS counts visibility in seconds, and rounding
/// down would bring the message back before the back-off is over.
fn whole_seconds(delay: Duration) -> Duration {
    let seconds = delay
        .as_secs()
        .saturating_add(u64::from(delay.subsec_nanos() > 0));
    Duration::from_secs(seconds)
}

/// How many times SQS has delivered `record`, this delivery included (1 when Lambda did not
/// say).
pub fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse().ok())
        .unwrap_or(1)
        .max(1)
}

#[cfg(test)]
mod tests {
    use mailbridge_store::StoreError;

    use super::*;

    fn throttled(back_off: Option<Duration>) -> JobError {
        SyncError::Backend(BackendError::Throttled { back_off }).into()
    }

    #[test]
    fn a_hinted_back_off_is_honoured_in_whole_seconds() {
        let hint = Some(Duration::from_millis(1_500));
        assert_eq!(
            redelivery_delay(&throttled(hint), 1),
            Some(Duration::from_secs(2))
        );
        // The hint wins over the delivery count: Exchange knows when it will take us.
        assert_eq!(
            redelivery_delay(&throttled(Some(Duration::from_mins(2))), 4),
            Some(Duration::from_mins(2))
        );
        assert_eq!(
            throttled_delay(Some(Duration::ZERO), 1),
            Duration::from_secs(1)
        );
        // Refused again and again with a short hint: the wait still grows.
        let short = Some(Duration::from_secs(1));
        let waits: Vec<u64> = (1..=5)
            .map(|receives| throttled_delay(short, receives).as_secs())
            .collect();
        assert_eq!(waits, [1, 30, 60, 120, 240]);
    }

    #[test]
    fn without_a_hint_the_wait_doubles_with_each_delivery_up_to_its_cap() {
        let waits: Vec<u64> = (1..=7)
            .map(|receives| throttled_delay(None, receives).as_secs())
            .collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 900, 900]);
        assert_eq!(throttled_delay(None, u32::MAX), MAX_UNHINTED);
        // A count Lambda did not give counts as the first delivery.
        assert_eq!(receive_count(&SqsMessage::default()), 1);
    }

    #[test]
    fn a_huge_hint_is_cut_to_what_sqs_accepts() {
        let hint = Some(Duration::from_hours(48));
        assert_eq!(throttled_delay(hint, 1), MAX_VISIBILITY);
        assert_eq!(throttled_delay(Some(Duration::MAX), 1), MAX_VISIBILITY);
    }

    #[test]
    fn other_retryable_failures_keep_the_queues_timeout() {
        let transient: JobError =
            SyncError::Backend(BackendError::Transient("reset".into())).into();
        let store: JobError = StoreError::Unavailable {
            detail: "throttled".into(),
        }
        .into();
        assert_eq!(redelivery_delay(&transient, 1), None);
        assert_eq!(redelivery_delay(&store, 1), None);
    }
}
