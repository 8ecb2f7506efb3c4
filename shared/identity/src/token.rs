//! Access tokens handed out by the identity platform.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretString};

/// Source of [`AccessToken::serial`]: process-wide, so two tokens never share a serial.
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

/// An app-only bearer token, its expiry and a serial number.
///
/// The serial number is unique within the process and grows with every token made, so callers
/// can tell whether two tokens are the same without comparing the secret strings (see
/// [`TokenCache::renew`](crate::TokenCache::renew)). Cloning is cheap and shares the secret.
/// `Debug` shows the serial and expiry, never the token.
#[derive(Clone)]
pub struct AccessToken {
    bearer: Arc<SecretString>,
    expires_at: SystemTime,
    serial: u64,
}

impl AccessToken {
    /// Wraps a bearer token valid until `expires_at`, giving it the next serial number.
    pub fn new(bearer: impl Into<String>, expires_at: SystemTime) -> Self {
        Self {
            bearer: Arc::new(SecretString::from(bearer.into())),
            expires_at,
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The raw bearer token: only for the `Authorization: Bearer …` header of a request.
    pub fn bearer(&self) -> &str {
        self.bearer.expose_secret()
    }

    /// When the identity platform said the token stops being accepted (wall-clock time,
    /// computed from `expires_in` when the token was received).
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// The token's serial number: larger means fetched later.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// Whether the token expires within `margin` from now (or has already expired).
    pub fn expires_within(&self, margin: Duration) -> bool {
        match self.expires_at.duration_since(SystemTime::now()) {
            Ok(left) => left <= margin,
            Err(_) => true,
        }
    }

    /// Whether the token has already expired.
    pub fn is_expired(&self) -> bool {
        self.expires_within(Duration::ZERO)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expires_at = DateTime::<Utc>::from(self.expires_at);
        f.debug_struct("AccessToken")
            .field("serial", &self.serial)
            .field(
                "expires_at",
                &expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            )
            .field("bearer", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_an_hour() -> SystemTime {
        SystemTime::now() + Duration::from_hours(1)
    }

    #[test]
    fn each_new_token_gets_a_larger_serial() {
        let first = AccessToken::new("a", in_an_hour());
        let second = AccessToken::new("a", in_an_hour());

        assert!(second.serial() > first.serial());
        assert_eq!(first.clone().serial(), first.serial());
    }

    #[test]
    fn debug_shows_serial_and_expiry_but_not_the_bearer() {
        let token = AccessToken::new("eyJ-very-secret-token", in_an_hour());

        let printed = format!("{token:?} {token:#?}");

        assert!(!printed.contains("eyJ-very-secret-token"), "{printed}");
        assert!(printed.contains(&format!("serial: {}", token.serial())));
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn bearer_returns_the_raw_token() {
        let token = AccessToken::new("raw-token", in_an_hour());

        assert_eq!(token.bearer(), "raw-token");
    }

    #[test]
    fn expiry_margin_is_measured_from_now() {
        let token = AccessToken::new("t", SystemTime::now() + Duration::from_mins(2));

        assert!(token.expires_within(Duration::from_mins(5)));
        assert!(!token.expires_within(Duration::from_secs(10)));
        assert!(!token.is_expired());
    }

    #[test]
    fn a_token_from_the_past_is_expired() {
        let token = AccessToken::new("t", SystemTime::now() - Duration::from_secs(1));

        assert!(token.is_expired());
    }
}
