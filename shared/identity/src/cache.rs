//! Reusing tokens per tenant, with one fetch at a time per tenant.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::scrub::loggable_tenant;
use crate::{AccessToken, AppCredentials, IdentityError, TokenClient};

/// How long before expiry a cached token is replaced, unless configured otherwise.
pub const DEFAULT_RENEW_AHEAD: Duration = Duration::from_mins(5);

/// A per-tenant token cache over a [`TokenClient`].
///
/// Tokens are kept per (tenant, client id) and reused until they come within the renew-ahead
/// margin of their expiry. Fetches are single-flight per tenant: while one caller fetches, the
/// others for the same tenant wait and then share its outcome, success or failure; callers for
/// other tenants are not held up. A failure is never stored as a token: the next caller that
/// did not wait on the failed fetch tries again.
///
/// If a refresh inside the margin fails with a retryable error (network, throttling, outage),
/// [`TokenCache::token`] serves the cached token while it has not actually expired.
pub struct TokenCache {
    client: TokenClient,
    renew_ahead: Duration,
    slots: Mutex<HashMap<SlotKey, Arc<Slot>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SlotKey {
    /// Lower-cased: tenant GUIDs and domain names are case-insensitive.
    tenant: String,
    client_id: String,
}

/// One tenant's cached token and the lock that makes its fetches single-flight.
struct Slot {
    /// Number of finished fetches. Read before waiting for `state`, it tells a waiter whether a
    /// fetch finished while it waited.
    attempts: AtomicU64,
    /// Callers waiting for `state`.
    waiting: AtomicUsize,
    state: tokio::sync::Mutex<SlotState>,
}

impl Slot {
    async fn lock(&self) -> tokio::sync::MutexGuard<'_, SlotState> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&self.waiting);
        self.state.lock().await
    }
}

/// Counts a caller out of [`Slot::waiting`], also when its future is dropped while waiting.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct SlotState {
    token: Option<AccessToken>,
    /// The failure of the latest fetch, kept only to hand it to the callers that waited on it.
    failure: Option<IdentityError>,
}

impl TokenCache {
    /// A cache over `client` with the default renew-ahead margin of five minutes.
    pub fn new(client: TokenClient) -> Self {
        Self {
            client,
            renew_ahead: DEFAULT_RENEW_AHEAD,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces a cached token once it expires within `margin`.
    #[must_use]
    pub fn with_renew_ahead(mut self, margin: Duration) -> Self {
        self.renew_ahead = margin;
        self
    }

    /// The client used for fetches.
    pub fn client(&self) -> &TokenClient {
        &self.client
    }

    /// The renew-ahead margin.
    pub fn renew_ahead(&self) -> Duration {
        self.renew_ahead
    }

    /// A token for `creds`' tenant: the cached one unless it expires within the margin, else a
    /// new one.
    pub async fn token(&self, creds: &AppCredentials) -> Result<AccessToken, IdentityError> {
        let slot = self.slot(creds);
        let seen = slot.attempts.load(Ordering::Acquire);
        let mut locked = slot.lock().await;

        if let Some(token) = &locked.token
            && !token.expires_within(self.renew_ahead)
        {
            tracing::trace!(
                tenant = loggable_tenant(creds),
                op = "token",
                outcome = "cached"
            );
            return Ok(token.clone());
        }

        let result = match shared_outcome(&slot, &locked, seen) {
            Some(outcome) => outcome,
            None => self.fetch_into(&slot, &mut locked, creds).await,
        };
        match (result, &locked.token) {
            (Err(err), Some(cached)) if err.is_retryable() && !cached.is_expired() => {
                tracing::warn!(
                    tenant = loggable_tenant(creds),
                    op = "token",
                    outcome = "served_cached",
                    serial = cached.serial(),
                    error = %err,
                    "refresh failed; serving the cached token until it expires"
                );
                Ok(cached.clone())
            }
            (result, _) => result,
        }
    }

    /// A replacement for `stale`, which a server has just refused (HTTP 401).
    ///
    /// If the cache still holds `stale` (same serial), fetches a new token; if it already holds
    /// a newer one, returns that. So any number of callers that saw the same 401 cause one fetch.
    pub async fn renew(
        &self,
        creds: &AppCredentials,
        stale: &AccessToken,
    ) -> Result<AccessToken, IdentityError> {
        let slot = self.slot(creds);
        let seen = slot.attempts.load(Ordering::Acquire);
        let mut locked = slot.lock().await;

        if let Some(token) = &locked.token {
            if token.serial() > stale.serial() && !token.expires_within(self.renew_ahead) {
                tracing::trace!(
                    tenant = loggable_tenant(creds),
                    op = "token_renew",
                    outcome = "cached"
                );
                return Ok(token.clone());
            }
            if token.serial() <= stale.serial() {
                // A server refused it; it must not be served again, not even as a fallback.
                locked.token = None;
            }
        }

        match shared_outcome(&slot, &locked, seen) {
            Some(outcome) => outcome,
            None => self.fetch_into(&slot, &mut locked, creds).await,
        }
    }

    /// Whether a token for `creds` is held outside the renew-ahead margin. A fetch under way
    /// counts as fresh: its callers share what it brings.
    pub fn is_fresh(&self, creds: &AppCredentials) -> bool {
        let slot = self.slot(creds);
        match slot.state.try_lock() {
            Ok(state) => state
                .token
                .as_ref()
                .is_some_and(|token| !token.expires_within(self.renew_ahead)),
            Err(_) => true,
        }
    }

    /// Takes a token for `creds` that was fetched elsewhere (by another process, read from a
    /// shared store), so that no fetch is needed while it lasts. It is kept only when it is
    /// outside the renew-ahead margin and outlasts the token held; returns whether it was.
    ///
    /// A kept token gets a new serial (it is a new [`AccessToken`]), so a server refusing it
    /// leads [`TokenCache::renew`] to fetch, as for any other token.
    pub async fn offer(&self, creds: &AppCredentials, token: AccessToken) -> bool {
        if token.expires_within(self.renew_ahead) {
            return false;
        }
        let slot = self.slot(creds);
        let mut state = slot.lock().await;
        if state
            .token
            .as_ref()
            .is_some_and(|held| held.expires_at() >= token.expires_at())
        {
            return false;
        }
        tracing::debug!(
            tenant = loggable_tenant(creds),
            op = "token_offer",
            outcome = "kept",
            serial = token.serial()
        );
        state.token = Some(token);
        true
    }

    /// Drops every cached token of `tenant_id` (for example after the secret was revoked).
    ///
    /// A fetch already under way still completes for the callers waiting on it; later callers
    /// fetch anew.
    pub fn forget(&self, tenant_id: &str) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let before = slots.len();
        slots.retain(|key, _| !key.tenant.eq_ignore_ascii_case(tenant_id));
        tracing::debug!(
            tenant = tenant_id,
            op = "token_forget",
            dropped = before - slots.len()
        );
    }

    fn slot(&self, creds: &AppCredentials) -> Arc<Slot> {
        let key = SlotKey {
            tenant: creds.tenant_id.to_ascii_lowercase(),
            client_id: creds.client_id.clone(),
        };
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(key).or_insert_with(|| {
            Arc::new(Slot {
                attempts: AtomicU64::new(0),
                waiting: AtomicUsize::new(0),
                state: tokio::sync::Mutex::new(SlotState::default()),
            })
        }))
    }

    /// How many callers for `creds`' tenant wait behind a fetch, so tests can line them up.
    #[cfg(test)]
    fn waiting(&self, creds: &AppCredentials) -> usize {
        self.slot(creds).waiting.load(Ordering::Relaxed)
    }

    /// Fetches while holding the slot's lock and records the outcome for the waiters.
    async fn fetch_into(
        &self,
        slot: &Slot,
        state: &mut SlotState,
        creds: &AppCredentials,
    ) -> Result<AccessToken, IdentityError> {
        let result = self.client.fetch(creds).await;

        match &result {
            Ok(token) => {
                state.token = Some(token.clone());
                state.failure = None;
            }
            Err(err) => state.failure = Some(err.clone()),
        }
        slot.attempts.fetch_add(1, Ordering::AcqRel);
        result
    }
}

/// The outcome of a fetch that finished while this caller waited for the lock, if any.
fn shared_outcome(
    slot: &Slot,
    state: &SlotState,
    seen: u64,
) -> Option<Result<AccessToken, IdentityError>> {
    if slot.attempts.load(Ordering::Acquire) == seen {
        return None;
    }
    if let Some(err) = &state.failure {
        return Some(Err(err.clone()));
    }
    state
        .token
        .as_ref()
        .filter(|token| !token.is_expired())
        .map(|token| Ok(token.clone()))
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenants = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("TokenCache")
            .field("client", &self.client)
            .field("renew_ahead", &self.renew_ahead)
            .field("tenants", &tenants)
            .finish()
    }
}

#[cfg(test)]
mod tests;
