//! The retry policy: how long to wait after a failure, and when to give up.

use std::time::Duration;

use crate::error::EwsError;

/// Decides whether and when to try a failed request again.
///
/// A back-off the server named is honoured as given; otherwise the delay grows
/// exponentially with jitter. Attempts and total time are both bounded, so a caller is
/// never held longer than `max_elapsed`; a server back-off longer than that is returned
/// to the caller as the error, so it can reschedule the work instead of sleeping.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Longest total time spent on one call, waits included.
    pub max_elapsed: Duration,
    /// First delay without a server hint.
    pub base_delay: Duration,
    /// Cap on one delay without a server hint.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            max_elapsed: Duration::from_mins(1),
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Never retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// How long to wait before attempt `failed_attempt + 1`, or `None` to give up.
    /// `elapsed` is the time spent on this call so far.
    pub fn delay(
        &self,
        failed_attempt: u32,
        error: &EwsError,
        elapsed: Duration,
    ) -> Option<Duration> {
        if !error.is_retryable() || failed_attempt >= self.max_attempts {
            return None;
        }
        let delay = error
            .back_off()
            .unwrap_or_else(|| self.jittered(failed_attempt));
        (elapsed + delay <= self.max_elapsed).then_some(delay)
    }

    /// Exponential back-off with "equal jitter": half fixed, half random, so that many
    /// clients throttled at once do not all return together.
    fn jittered(&self, failed_attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << failed_attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        let half = capped / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ResponseError;
    use crate::response_code::ResponseCode;

    fn busy(back_off_ms: Option<u64>) -> EwsError {
        EwsError::Response(ResponseError {
            code: ResponseCode::ErrorServerBusy,
            message: String::new(),
            back_off: back_off_ms.map(Duration::from_millis),
            warning: false,
        })
    }

    #[test]
    fn honours_the_server_back_off() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(1, &busy(Some(1234)), Duration::ZERO),
            Some(Duration::from_millis(1234))
        );
    }

    #[test]
    fn grows_exponentially_within_jitter_bounds() {
        let policy = RetryPolicy {
            max_attempts: 10,
            ..RetryPolicy::default()
        };
        let err = busy(None);
        for attempt in 1..=6 {
            let full = policy
                .base_delay
                .saturating_mul(1 << (attempt - 1))
                .min(policy.max_delay);
            let delay = policy.delay(attempt, &err, Duration::ZERO).unwrap();
            assert!(
                delay >= full / 2 && delay <= full,
                "attempt {attempt}: {delay:?} vs {full:?}"
            );
        }
    }

    #[test]
    fn gives_up_after_max_attempts_or_max_elapsed() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(5, &busy(None), Duration::ZERO), None);
        assert_eq!(
            policy.delay(1, &busy(Some(5_000)), Duration::from_secs(58)),
            None
        );
        assert_eq!(policy.delay(1, &busy(Some(120_000)), Duration::ZERO), None);
    }

    #[test]
    fn never_retries_fatal_errors() {
        let policy = RetryPolicy::default();
        let err = EwsError::InvalidInput {
            field: "x".into(),
            reason: "y".into(),
        };
        assert_eq!(policy.delay(1, &err, Duration::ZERO), None);
    }
}
