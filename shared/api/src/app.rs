//! What the router serves from: the stores, the runner's operations and the configuration,
//! and the checks of who may reach which tenant and mailbox.

use mailbridge_store::{Mailbox, SecretStore, StateStore, Tenant, TenantStatus};

use crate::auth::Caller;
use crate::ops::Operations;
use crate::problem::ApiError;

/// Why an [`ApiConfig`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The admin key hash is not 64 hex digits (a SHA-256 digest).
    #[error("the admin key hash must be 64 hex digits (SHA-256 of the key)")]
    AdminKeyHash,
}

/// The API's configuration, built once by the runner.
///
/// The admin key is held as its SHA-256 digest only, so a configuration file or
/// environment never holds the key itself. `Debug` does not show the digest either.
#[derive(Clone)]
pub struct ApiConfig {
    pub(crate) admin_key_hash: [u8; 32],
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig").finish_non_exhaustive()
    }
}

impl ApiConfig {
    /// A configuration whose admin key hashes to `admin_key_sha256` (hex, any case), as
    /// [`crate::hash_key`] computes it.
    pub fn new(admin_key_sha256: &str) -> Result<ApiConfig, ConfigError> {
        let hex = admin_key_sha256.trim();
        if hex.len() != 64 {
            return Err(ConfigError::AdminKeyHash);
        }
        let mut hash = [0u8; 32];
        for (byte, pair) in hash.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let text = std::str::from_utf8(pair).map_err(|_| ConfigError::AdminKeyHash)?;
            *byte = u8::from_str_radix(text, 16).map_err(|_| ConfigError::AdminKeyHash)?;
        }
        Ok(ApiConfig {
            admin_key_hash: hash,
        })
    }
}

/// Everything the router needs: a state store, a secret store, the runner's
/// [`Operations`] and the configuration. Share it as `Arc<App<..>>`.
pub struct App<S, K, O> {
    pub(crate) state: S,
    pub(crate) secrets: K,
    pub(crate) ops: O,
    pub(crate) config: ApiConfig,
}

impl<S, K, O> std::fmt::Debug for App<S, K, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

impl<S: StateStore, K: SecretStore, O: Operations> App<S, K, O> {
    /// Puts the parts together.
    pub fn new(state: S, secrets: K, ops: O, config: ApiConfig) -> App<S, K, O> {
        App {
            state,
            secrets,
            ops,
            config,
        }
    }

    /// The state store.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The secret store.
    pub fn secrets(&self) -> &K {
        &self.secrets
    }

    /// The runner's operations.
    pub fn ops(&self) -> &O {
        &self.ops
    }

    /// The tenant `id` if the caller may see it; `NotFound` otherwise, so a tenant key
    /// learns nothing about other tenants.
    pub(crate) async fn tenant_for(&self, caller: &Caller, id: &str) -> Result<Tenant, ApiError> {
        // Tenant ids are stored lower-cased (GUIDs and domains ignore case).
        let id = id.trim().to_ascii_lowercase();
        if !caller.may_reach(&id) {
            return Err(ApiError::NotFound);
        }
        crate::request::record_tenant(&id);
        self.state.get_tenant(&id).await?.ok_or(ApiError::NotFound)
    }

    /// The tenant `id` for an admin-only route: a tenant key gets `Forbidden` on its own
    /// tenant and `NotFound` on any other.
    pub(crate) async fn tenant_for_admin(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Tenant, ApiError> {
        let tenant = self.tenant_for(caller, id).await?;
        caller.require_admin()?;
        Ok(tenant)
    }

    /// The mailbox at `address` (lower-cased) if the caller may see it.
    pub(crate) async fn mailbox_for(
        &self,
        caller: &Caller,
        address: &str,
    ) -> Result<Mailbox, ApiError> {
        let address = address.trim().to_lowercase();
        crate::request::record_mailbox(&address);
        let mailbox = self
            .state
            .get_mailbox(&address)
            .await?
            .ok_or(ApiError::NotFound)?;
        if !caller.may_reach(&mailbox.tenant) {
            return Err(ApiError::NotFound);
        }
        crate::request::record_tenant(&mailbox.tenant);
        Ok(mailbox)
    }

    /// The mailbox for a CRM call: as [`App::mailbox_for`], and refused with
    /// `TenantDisabled` when its tenant was disabled.
    pub(crate) async fn crm_mailbox(
        &self,
        caller: &Caller,
        address: &str,
    ) -> Result<Mailbox, ApiError> {
        let mailbox = self.mailbox_for(caller, address).await?;
        let tenant = self.state.get_tenant(&mailbox.tenant).await?;
        match tenant.map(|t| t.status) {
            Some(TenantStatus::Disabled) => Err(ApiError::TenantDisabled),
            Some(_) => Ok(mailbox),
            None => Err(ApiError::Internal(
                "a mailbox's tenant is missing from the state store".to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reads_a_sha256_hex_digest() {
        let hex = crate::hash_key("admin-key");
        let config = ApiConfig::new(&hex.to_uppercase()).expect("valid digest");
        assert_eq!(
            config.admin_key_hash[0],
            u8::from_str_radix(&hex[..2], 16).unwrap_or(0)
        );
        assert_eq!(ApiConfig::new("abc").err(), Some(ConfigError::AdminKeyHash));
        assert_eq!(
            ApiConfig::new(&"zz".repeat(32)).err(),
            Some(ConfigError::AdminKeyHash)
        );
        assert!(!format!("{config:?}").contains(&hex[..8]));
    }
}
