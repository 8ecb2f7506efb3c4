//! The secret-store trait.

use std::future::Future;

use secrecy::SecretString;

use crate::error::SecretError;

/// Client secrets and cached tokens, by name (`tenants/{tenant id}/client-secret`).
///
/// Values go in and come out wrapped, so they cannot be printed or logged by accident.
pub trait SecretStore: Send + Sync {
    /// Stores (or replaces) a secret.
    fn put(
        &self,
        name: &str,
        value: &SecretString,
    ) -> impl Future<Output = Result<(), SecretError>> + Send;

    /// A secret, if stored.
    fn get(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<SecretString>, SecretError>> + Send;

    /// Removes a secret (no error if absent).
    fn delete(&self, name: &str) -> impl Future<Output = Result<(), SecretError>> + Send;
}

/// A shared secret store is a secret store.
impl<T: SecretStore> SecretStore for std::sync::Arc<T> {
    fn put(
        &self,
        name: &str,
        value: &SecretString,
    ) -> impl Future<Output = Result<(), SecretError>> + Send {
        (**self).put(name, value)
    }

    fn get(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<SecretString>, SecretError>> + Send {
        (**self).get(name)
    }

    fn delete(&self, name: &str) -> impl Future<Output = Result<(), SecretError>> + Send {
        (**self).delete(name)
    }
}

/// Where a tenant's client secret is kept.
pub fn client_secret_name(tenant: &str) -> String {
    format!("tenants/{}/client-secret", tenant.to_ascii_lowercase())
}

/// Where the token refresh keeps a tenant's current app token for every other function.
pub fn access_token_name(tenant: &str) -> String {
    format!("tenants/{}/access-token", tenant.to_ascii_lowercase())
}

/// Checks a secret name: `a-z 0-9 - _ . /` segments, no empty or dot-only segment.
pub fn check_name(name: &str) -> Result<(), SecretError> {
    let refuse = |reason| {
        Err(SecretError::InvalidName {
            name: name.chars().take(80).collect(),
            reason,
        })
    };
    if name.is_empty() || name.len() > 256 {
        return refuse("must be 1 to 256 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
    {
        return refuse("may hold only letters, digits, '-', '_', '.' and '/'");
    }
    if name
        .split('/')
        .any(|segment| segment.is_empty() || segment.bytes().all(|b| b == b'.'))
    {
        return refuse("has an empty or dot-only segment");
    }
    Ok(())
}
