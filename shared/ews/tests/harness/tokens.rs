//! A token source for transport tests, and a client that retries fast.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use mailbridge_ews::{EwsClient, RetryPolicy};
use mailbridge_identity::{AccessToken, IdentityError, TokenSource};

use super::script_server::ScriptServer;

/// Hands out `token-1-SECRETVALUE`, then `token-2-SECRETVALUE`, ... on each renewal,
/// counting renewals. Every token contains `SECRETVALUE`, so leaks are easy to search for.
#[derive(Clone, Default)]
pub struct CountingTokens {
    pub renewals: Arc<AtomicUsize>,
}

impl TokenSource for CountingTokens {
    async fn token(&self) -> Result<AccessToken, IdentityError> {
        Ok(AccessToken::new(
            "token-1-SECRETVALUE",
            SystemTime::now() + Duration::from_hours(1),
        ))
    }

    async fn renew(&self, _stale: &AccessToken) -> Result<AccessToken, IdentityError> {
        let n = self.renewals.fetch_add(1, Ordering::SeqCst) + 2;
        Ok(AccessToken::new(
            format!("token-{n}-SECRETVALUE"),
            SystemTime::now() + Duration::from_hours(1),
        ))
    }
}

/// A client for `server` whose retries wait milliseconds, not seconds.
pub fn fast_client(server: &ScriptServer, tokens: CountingTokens) -> EwsClient<CountingTokens> {
    let retry = RetryPolicy {
        max_attempts: 4,
        max_elapsed: Duration::from_secs(10),
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    EwsClient::new(reqwest::Client::new(), &server.url(), tokens)
        .expect("a loopback endpoint is accepted")
        .with_retry(retry)
}
