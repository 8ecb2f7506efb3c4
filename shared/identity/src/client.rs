//! One call to a tenant's token endpoint.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{ACCEPT, RETRY_AFTER};

use crate::response::{Answer, interpret};
use crate::scrub::Scrubber;
use crate::{AccessToken, AppCredentials, Authority, Cause, Diagnosis, IdentityError};

/// The scope that asks for an Exchange Online (EWS) app-only token.
pub const EXCHANGE_SCOPE: &str = "https://outlook.office365.com/.default";

/// How long one token request may take unless [`TokenClient::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Token endpoint answers larger than this are not identity platform answers.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Fetches app-only tokens with the OAuth 2.0 client-credentials grant.
///
/// Holds a shared [`reqwest::Client`], the [`Authority`] and the scope (by default
/// [`EXCHANGE_SCOPE`]). Every call goes to the network; use [`TokenCache`](crate::TokenCache)
/// to reuse tokens.
///
/// LIMIT: redirects follow the shared client's policy, which may re-send the form (and so the
/// secret) to the redirect target on 307/308. The Microsoft authority does not redirect token
/// requests; build the client with `redirect::Policy::none()` for an authority you do not trust.
#[derive(Debug, Clone)]
pub struct TokenClient {
    http: reqwest::Client,
    authority: Authority,
    scope: String,
    timeout: Duration,
}

impl TokenClient {
    /// A client for `authority` asking for [`EXCHANGE_SCOPE`], with a 30 s timeout.
    pub fn new(http: reqwest::Client, authority: Authority) -> Self {
        Self {
            http,
            authority,
            scope: EXCHANGE_SCOPE.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Asks for `scope` instead of [`EXCHANGE_SCOPE`] (for example another cloud's Exchange).
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Bounds one whole token request (connect, send, answer) to `timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The authority tokens come from.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The scope requested.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Requests a new token for `creds`.
    ///
    /// Logs one `debug` event per success and one `warn` event per failure, with the tenant,
    /// client id, outcome, HTTP status, AADSTS code, correlation id and duration; never the
    /// secret or the token.
    pub async fn fetch(&self, creds: &AppCredentials) -> Result<AccessToken, IdentityError> {
        let scrubber = Scrubber::new(&creds.secret);
        let tenant = scrubber.clean(&creds.tenant_id);
        let client_id = scrubber.clean(&creds.client_id);
        let started = Instant::now();
        tracing::trace!(
            tenant,
            client_id,
            op = "token_fetch",
            authority = %self.authority.base(),
            "requesting token"
        );

        let result = self.exchange(creds, &scrubber).await;

        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok(token) => tracing::debug!(
                tenant,
                client_id,
                op = "token_fetch",
                outcome = "ok",
                status = 200_u16,
                serial = token.serial(),
                duration_ms,
                "token fetched"
            ),
            Err(err) => tracing::warn!(
                tenant,
                client_id,
                op = "token_fetch",
                outcome = err.outcome(),
                status = err.status(),
                aadsts = err.diagnosis().and_then(Diagnosis::code),
                correlation_id = err.correlation_id(),
                retryable = err.is_retryable(),
                duration_ms,
                error = %err,
                "token fetch failed"
            ),
        }
        result
    }

    async fn exchange(
        &self,
        creds: &AppCredentials,
        scrubber: &Scrubber,
    ) -> Result<AccessToken, IdentityError> {
        let endpoint = self
            .authority
            .token_endpoint(&creds.tenant_id)
            .map_err(|err| scrub_tenant_error(err, scrubber))?;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", creds.client_id.as_str()),
            ("client_secret", creds.secret.expose()),
            ("scope", self.scope.as_str()),
        ];

        let mut response = self
            .http
            .post(endpoint)
            .header(ACCEPT, "application/json")
            .form(&form)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|err| self.network_error(err))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);

        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.network_error(e))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(IdentityError::InvalidResponse {
                    status,
                    detail: format!("the body is larger than {MAX_BODY_BYTES} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }

        let answer = Answer {
            status,
            retry_after: retry_after.as_deref(),
            body: &body,
        };
        interpret(&answer, scrubber, SystemTime::now())
    }

    fn network_error(&self, err: reqwest::Error) -> IdentityError {
        let kind = if err.is_timeout() {
            Cause::TimedOut
        } else if err.is_connect() {
            Cause::Unreachable
        } else {
            Cause::ConnectionLost
        };
        IdentityError::Network {
            authority: self.authority.base().to_string(),
            diagnosis: Diagnosis::of(kind),
            // The URL holds the tenant id, which may be a mistyped secret.
            source: Arc::new(err.without_url()),
        }
    }
}

/// A refused tenant id may be a secret pasted into the wrong field.
fn scrub_tenant_error(err: IdentityError, scrubber: &Scrubber) -> IdentityError {
    match err {
        IdentityError::InvalidTenantId { tenant_id, reason } => IdentityError::InvalidTenantId {
            tenant_id: scrubber.clean(&tenant_id),
            reason: scrubber.clean(&reason),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests;
