//! API keys: the admin key (configured as a hash) and tenant keys (issued by the API,
//! stored as hashes on the tenant), checked in constant time.
//!
//! A tenant key reads `mbk_{tenant id}_{64 hex digits}`: the tenant id tells which
//! tenant's hashes to compare against, so a check is one store read, not a scan.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::header;
use http::request::Parts;
use mailbridge_store::{SecretStore, StateStore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::ops::Operations;
use crate::problem::ApiError;

/// The prefix of every tenant key.
const TENANT_KEY_PREFIX: &str = "mbk_";

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The operator's admin key: may reach everything.
    Admin,
    /// A tenant's key: may reach only that tenant and its mailboxes.
    Tenant {
        /// The tenant.
        tenant: String,
        /// The first 12 hex digits of the key's hash, for audit trails (never the key).
        key_id: String,
    },
}

impl Caller {
    /// Whether the caller may see tenant `tenant`'s things.
    pub fn may_reach(&self, tenant: &str) -> bool {
        match self {
            Caller::Admin => true,
            Caller::Tenant { tenant: own, .. } => own == tenant,
        }
    }

    /// Refuses tenant keys (for admin-only routes).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Tenant { .. } => Err(ApiError::Forbidden("this route needs the admin key")),
        }
    }

    /// The actor recorded in audit trails: the admin's `X-Actor` name, or the key id.
    pub fn actor(&self, x_actor: Option<&str>) -> String {
        match self {
            Caller::Admin => x_actor.map_or_else(|| "admin".to_owned(), str::to_owned),
            Caller::Tenant { key_id, .. } => format!("api:{key_id}"),
        }
    }
}

/// The SHA-256 of a key, as lower-case hex: what [`crate::ApiConfig::new`] takes for the
/// admin key and what a tenant stores for each of its keys.
pub fn hash_key(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// `n` random bytes as hex, from the operating system's generator.
pub(crate) fn random_hex(n: usize) -> Result<String, ApiError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(format!("no randomness from the system: {e}")))?;
    Ok(hex(&bytes))
}

/// A new key for `tenant` and the hash to store. The key is shown once and kept nowhere.
pub(crate) fn new_tenant_key(tenant: &str) -> Result<(String, String), ApiError> {
    let key = format!("{TENANT_KEY_PREFIX}{tenant}_{}", random_hex(32)?);
    let hash = hash_key(&key);
    Ok((key, hash))
}

/// Whether two hex digests are equal, compared in constant time.
fn same_hex(actual: &str, expected: &str) -> bool {
    actual.len() == expected.len() && bool::from(actual.as_bytes().ct_eq(expected.as_bytes()))
}

/// The bearer token of a request, if any.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl<S, K, O> FromRequestParts<Arc<App<S, K, O>>> for Caller
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App<S, K, O>>,
    ) -> Result<Caller, ApiError> {
        let key = bearer(parts).ok_or(ApiError::Unauthenticated)?;
        let hash = hash_key(key);

        if bool::from(Sha256::digest(key.as_bytes()).ct_eq(&app.config.admin_key_hash)) {
            crate::request::record_caller("admin");
            return Ok(Caller::Admin);
        }

        let tenant_id = key
            .strip_prefix(TENANT_KEY_PREFIX)
            .and_then(|rest| rest.rsplit_once('_'))
            .map(|(tenant, _)| tenant)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthenticated)?;
        let tenant = app
            .state
            .get_tenant(tenant_id)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        // Compare against every stored hash, so the time taken does not tell which matched.
        let matched = tenant
            .api_key_hashes
            .iter()
            .fold(false, |found, stored| same_hex(&hash, stored) | found);
        if !matched {
            return Err(ApiError::Unauthenticated);
        }
        let caller = Caller::Tenant {
            tenant: tenant.id,
            key_id: hash[..12].to_owned(),
        };
        crate::request::record_caller(&caller.actor(None));
        Ok(caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_keys_carry_their_tenant_and_match_their_hash() {
        let (key, hash) = new_tenant_key("contoso.example").unwrap_or_default();
        assert!(key.starts_with("mbk_contoso.example_"));
        assert_eq!(key.len(), "mbk_contoso.example_".len() + 64);
        assert!(same_hex(&hash_key(&key), &hash));
        assert!(!same_hex(&hash_key("mbk_contoso.example_00"), &hash));
        assert_ne!(
            new_tenant_key("t").unwrap_or_default().0,
            new_tenant_key("t").unwrap_or_default().0
        );
    }

    #[test]
    fn hash_key_is_sha256_hex() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
