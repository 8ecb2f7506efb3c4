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

/// Where a tenant's client secret is kept in the secret store.
pub fn secret_name(tenant: &str) -> String {
    format!("tenants/{}/client-secret", tenant.to_ascii_lowercase())
}

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

/// EWS clients by tenant. A client holds the tenant's credentials; a rotated or revoked
/// secret needs [`TenantClients::forget`].
pub struct TenantClients {
    http: reqwest::Client,
    caches: Mutex<HashMap<String, Arc<TokenCache>>>,
    clients: Mutex<HashMap<String, Arc<EwsClient<TenantTokens>>>>,
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
        if let Some(client) = self
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&tenant.id)
        {
            return Ok(client.clone());
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
        let client = EwsClient::new(self.http.clone(), endpoint, TenantTokens::new(cache, creds))
            .map_err(|e| endpoint_error(e.to_string()))?;
        let client = Arc::new(client);
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(tenant.id.clone(), client.clone());
        Ok(client)
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
