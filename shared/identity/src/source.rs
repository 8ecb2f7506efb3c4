//! The one thing an EWS client needs from identity: a token now, and a better one after a 401.

use std::sync::Arc;

use crate::{AccessToken, AppCredentials, IdentityError, TokenCache};

/// Something that hands out bearer tokens for one tenant.
///
/// The EWS client calls [`TokenSource::token`] before a request and, when the server answers
/// 401, [`TokenSource::renew`] with the token it used, then retries once.
pub trait TokenSource: Send + Sync {
    /// A token that is valid now.
    fn token(&self) -> impl Future<Output = Result<AccessToken, IdentityError>> + Send;

    /// A token to use instead of `stale`, which a server has just refused.
    fn renew(
        &self,
        stale: &AccessToken,
    ) -> impl Future<Output = Result<AccessToken, IdentityError>> + Send;
}

/// One tenant's view of a shared [`TokenCache`]: the cache plus that tenant's credentials.
///
/// `Debug` shows the tenant and client ids, never the secret or a token.
#[derive(Debug, Clone)]
pub struct TenantTokens {
    cache: Arc<TokenCache>,
    creds: AppCredentials,
}

impl TenantTokens {
    /// Binds `creds` to a shared cache.
    pub fn new(cache: Arc<TokenCache>, creds: AppCredentials) -> Self {
        Self { cache, creds }
    }

    /// The tenant these tokens are for.
    pub fn tenant_id(&self) -> &str {
        &self.creds.tenant_id
    }

    /// The shared cache.
    pub fn cache(&self) -> &Arc<TokenCache> {
        &self.cache
    }

    /// The app's client id.
    pub fn client_id(&self) -> &str {
        &self.creds.client_id
    }

    /// Whether the cache holds a token for this tenant outside its renew-ahead margin.
    pub fn is_fresh(&self) -> bool {
        self.cache.is_fresh(&self.creds)
    }

    /// Offers the cache a token fetched elsewhere (see [`TokenCache::offer`]).
    pub async fn offer(&self, token: AccessToken) -> bool {
        self.cache.offer(&self.creds, token).await
    }
}

impl TokenSource for TenantTokens {
    async fn token(&self) -> Result<AccessToken, IdentityError> {
        self.cache.token(&self.creds).await
    }

    async fn renew(&self, stale: &AccessToken) -> Result<AccessToken, IdentityError> {
        self.cache.renew(&self.creds, stale).await
    }
}

/// A fixed token, for tests and one-off tools.
///
/// [`TokenSource::renew`] returns the same token again, so a caller's single retry after a 401
/// meets the same refusal and reports it; it never fails on its own.
#[derive(Debug, Clone)]
pub struct StaticToken {
    token: AccessToken,
}

impl StaticToken {
    /// Always hands out `token`.
    pub fn new(token: AccessToken) -> Self {
        Self { token }
    }
}

impl TokenSource for StaticToken {
    async fn token(&self) -> Result<AccessToken, IdentityError> {
        Ok(self.token.clone())
    }

    async fn renew(&self, _stale: &AccessToken) -> Result<AccessToken, IdentityError> {
        Ok(self.token.clone())
    }
}

impl<T: TokenSource> TokenSource for Arc<T> {
    fn token(&self) -> impl Future<Output = Result<AccessToken, IdentityError>> + Send {
        T::token(self)
    }

    fn renew(
        &self,
        stale: &AccessToken,
    ) -> impl Future<Output = Result<AccessToken, IdentityError>> + Send {
        T::renew(self, stale)
    }
}

#[cfg(test)]
mod tests;
