//! EWS clients per tenant, built from the stored tenant and its secret, with one token
//! cache shared by all of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use mailbridge_ews::{EXCHANGE_ONLINE_EWS, EwsClient};
use mailbridge_identity::{
    AppCredentials, Authority, ClientSecret, TenantTokens, TokenCache, TokenClient,
};
use mailbridge_store::{SecretStore, Tenant, TenantStatus};
use secrecy::ExposeSecret;

use crate::token_store::load_token;

/// Where a tenant's client secret is kept in the secret store.
pub use mailbridge_store::client_secret_name as secret_name;

/// Why no client could be made for a tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The tenant does not sync now (credential expired, disabled, not verified).
    #[error("tenant {tenant} is {status:?}: {reason}")]
    Inactive {
        /// The tenant.
        tenant: String,
        /// Its status.
        status: TenantStatus,
        /// Why, in plain words.
        reason: String,
    },
    /// No secret is stored for the tenant.
    #[error("no client secret is stored for tenant {0}")]
    NoSecret(String),
    /// The secret store failed.
    #[error("secret store: {0}")]
    Secrets(String),
    /// The tenant's endpoints are not usable.
    #[error("tenant {tenant}: {reason}")]
    Endpoint {
        /// The tenant.
        tenant: String,
        /// Why.
        reason: String,
    },
}

/// EWS clients by tenant. A client holds the tenant's credentials and is made anew once the
/// tenant record changes (a rotation writes it, wherever it ran); a revoked secret also
/// needs [`TenantClients::forget`] to drop the cached tokens.
///
/// Before a client is handed out, a missing or nearly expired token is topped up from the
/// token the token refresh keeps in the secret store ([`crate::token_store`]), so a
/// process fetches from the identity platform itself only when no stored token will do.
pub struct TenantClients {
    http: reqwest::Client,
    caches: Mutex<HashMap<String, Arc<TokenCache>>>,
    clients: Mutex<HashMap<String, Entry>>,
}

/// A tenant's client, the token source it uses, and the version of the tenant record it
/// was made from.
#[derive(Clone)]
struct Entry {
    client: Arc<EwsClient<TenantTokens>>,
    tokens: TenantTokens,
    /// A rotation (in another process, say the admin API's) writes the tenant record, so a
    /// newer version means the stored secret may have changed: the client is made anew.
    tenant_version: mailbridge_store::Version,
}

impl TenantClients {
    /// Clients that all use `http`.
    pub fn new(http: reqwest::Client) -> TenantClients {
        TenantClients {
            http,
            caches: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The client for `tenant`, made on first use from its stored secret.
    pub async fn client<K: SecretStore>(
        &self,
        tenant: &Tenant,
        secrets: &K,
    ) -> Result<Arc<EwsClient<TenantTokens>>, ClientError> {
        if tenant.status != TenantStatus::Active {
            return Err(ClientError::Inactive {
                tenant: tenant.id.clone(),
                status: tenant.status,
                reason: tenant
                    .status_reason
                    .clone()
                    .unwrap_or_else(|| "not active".into()),
            });
        }
        let known = self
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&tenant.id)
            .filter(|entry| entry.tenant_version == tenant.version)
            .cloned();
        if let Some(entry) = known {
            top_up(&entry.tokens, secrets).await;
            return Ok(entry.client);
        }
        let secret = secrets
            .get(&secret_name(&tenant.id))
            .await
            .map_err(|e| ClientError::Secrets(e.to_string()))?
            .ok_or_else(|| ClientError::NoSecret(tenant.id.clone()))?;
        let endpoint_error = |reason: String| ClientError::Endpoint {
            tenant: tenant.id.clone(),
            reason,
        };
        let authority = match &tenant.authority {
            Some(url) => Authority::new(url).map_err(|e| endpoint_error(e.to_string()))?,
            None => Authority::microsoft(),
        };
        let cache = self
            .caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(tenant.authority.clone().unwrap_or_default())
            .or_insert_with(|| {
                Arc::new(TokenCache::new(TokenClient::new(
                    self.http.clone(),
                    authority,
                )))
            })
            .clone();
        let creds = AppCredentials::new(
            &tenant.id,
            &tenant.client_id,
            ClientSecret::new(secret.expose_secret()),
        );
        let endpoint = tenant
            .ews_endpoint
            .as_deref()
            .unwrap_or(EXCHANGE_ONLINE_EWS);
        let tokens = TenantTokens::new(cache, creds);
        let client = EwsClient::new(self.http.clone(), endpoint, tokens.clone())
            .map_err(|e| endpoint_error(e.to_string()))?;
        let entry = Entry {
            client: Arc::new(client),
            tokens,
            tenant_version: tenant.version,
        };
        top_up(&entry.tokens, secrets).await;
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(tenant.id.clone(), entry.clone());
        Ok(entry.client)
    }

    /// Drops a tenant's client and cached tokens (after a rotation or a revocation).
    pub fn forget(&self, tenant: &str) {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(tenant);
        for cache in self
            .caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            cache.forget(tenant);
        }
    }
}

/// Offers `tokens` the stored app token when the one held will not do. Failing to read it
/// is no reason to fail the caller: the client then fetches its own token.
async fn top_up<K: SecretStore>(tokens: &TenantTokens, secrets: &K) {
    if tokens.is_fresh() {
        return;
    }
    match load_token(secrets, tokens.tenant_id(), tokens.client_id()).await {
        Ok(Some(token)) => {
            let kept = tokens.offer(token).await;
            tracing::debug!(
                tenant = tokens.tenant_id(),
                op = "token_top_up",
                outcome = if kept { "stored_token" } else { "not_newer" }
            );
        }
        Ok(None) => tracing::debug!(
            tenant = tokens.tenant_id(),
            op = "token_top_up",
            outcome = "none_stored"
        ),
        Err(err) => tracing::warn!(
            tenant = tokens.tenant_id(),
            op = "token_top_up",
            error = %err,
            "the stored app token cannot be read; fetching one instead"
        ),
    }
}
