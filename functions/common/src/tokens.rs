//! Fetching a tenant's app token with its stored client secret: the proof that the secret
//! still works, and the token the token refresh keeps for every sync and send
//! (`mailbridge_service::token_store`).

use mailbridge_identity::{
    AccessToken, AppCredentials, Authority, ClientSecret, IdentityError, TokenClient,
};
use mailbridge_service::tenants::{TenantClients, secret_name};
use mailbridge_store::{SecretStore, Tenant};
use secrecy::ExposeSecret;

/// Why no token was fetched. Never carries the secret or a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No client secret is stored for the tenant.
    #[error("no client secret is stored for tenant {0}")]
    NoSecret(String),
    /// The secret store failed; try again later.
    #[error("secret store: {0}")]
    Secrets(String),
    /// The identity platform refused or could not be reached.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

impl TokenError {
    /// Whether trying again later may succeed without anyone changing the setup.
    pub fn is_retryable(&self) -> bool {
        match self {
            TokenError::Secrets(_) => true,
            TokenError::Identity(err) => err.is_retryable(),
            TokenError::NoSecret(_) => false,
        }
    }

    /// What the tenant's administrator must change, when the identity platform said.
    pub fn admin_fix(&self) -> Option<&str> {
        match self {
            TokenError::Identity(err) if !err.is_retryable() => err
                .diagnosis()
                .map(mailbridge_identity::Diagnosis::admin_fix),
            _ => None,
        }
    }
}

/// Fetches a fresh token for `tenant` with its stored secret, on the clients' HTTP client
/// and the tenant's authority. The tenant's status is not checked: the caller decides
/// which tenants to try.
pub async fn fetch_token<K: SecretStore>(
    clients: &TenantClients,
    tenant: &Tenant,
    secrets: &K,
) -> Result<AccessToken, TokenError> {
    let secret = secrets
        .get(&secret_name(&tenant.id))
        .await
        .map_err(|err| TokenError::Secrets(err.to_string()))?
        .ok_or_else(|| TokenError::NoSecret(tenant.id.clone()))?;
    let authority = match &tenant.authority {
        Some(url) => Authority::new(url)?,
        None => Authority::microsoft(),
    };
    let credentials = AppCredentials::new(
        &tenant.id,
        &tenant.client_id,
        ClientSecret::new(secret.expose_secret()),
    );
    Ok(TokenClient::new(clients.http().clone(), authority)
        .fetch(&credentials)
        .await?)
}
