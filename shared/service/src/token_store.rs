//! App tokens shared through the secret store.
//!
//! The token refresh fetches each active tenant's app token on its schedule and keeps it
//! here; every sync and send first takes the stored token, so the identity platform is asked
//! once per tenant and schedule, not once per Lambda instance and mailbox. A reader that
//! finds no usable token fetches its own and keeps it in memory only: writing tokens is the
//! token refresh's job (and its role's permission) alone.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use mailbridge_identity::AccessToken;
use mailbridge_store::{SecretError, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub use mailbridge_store::access_token_name as token_name;

/// Why a stored token could not be used. Never carries the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenStoreError {
    /// The secret store failed.
    #[error("secret store: {0}")]
    Secrets(#[from] SecretError),
    /// The stored value is not a token record this version wrote.
    #[error("the stored app token of tenant {tenant} is unreadable ({reason})")]
    Unreadable {
        /// The tenant.
        tenant: String,
        /// What is wrong with it, without its content.
        reason: String,
    },
}

/// The stored record. No `Debug`: it holds the bearer token in the clear.
#[derive(Serialize, Deserialize)]
struct Record {
    /// The app the token was issued to: a token of an earlier app registration is not used.
    client_id: String,
    access_token: String,
    expires_at: DateTime<Utc>,
}

/// Keeps `token`, issued to `client_id`, as the tenant's current app token.
pub async fn save_token<K: SecretStore>(
    secrets: &K,
    tenant: &str,
    client_id: &str,
    token: &AccessToken,
) -> Result<(), SecretError> {
    let record = Record {
        client_id: client_id.to_owned(),
        access_token: token.bearer().to_owned(),
        expires_at: DateTime::<Utc>::from(token.expires_at()),
    };
    // Serialising a struct of strings and a date cannot fail; an empty value would only
    // read back as unreadable, never as a token.
    let json = serde_json::to_string(&record).unwrap_or_default();
    drop(record);
    secrets
        .put(&token_name(tenant), &SecretString::from(json))
        .await
}

/// The tenant's stored token for `client_id`, if one is stored and has not expired.
///
/// A token of another client id or past its expiry reads as `None`; the caller fetches its
/// own then.
pub async fn load_token<K: SecretStore>(
    secrets: &K,
    tenant: &str,
    client_id: &str,
) -> Result<Option<AccessToken>, TokenStoreError> {
    let Some(value) = secrets.get(&token_name(tenant)).await? else {
        return Ok(None);
    };
    // serde_json's messages name a position and the expected shape, never the input.
    let record: Record =
        serde_json::from_str(value.expose_secret()).map_err(|err| TokenStoreError::Unreadable {
            tenant: tenant.to_owned(),
            reason: err.to_string(),
        })?;
    let expires_at = SystemTime::from(record.expires_at);
    if record.client_id != client_id || expires_at <= SystemTime::now() {
        return Ok(None);
    }
    Ok(Some(AccessToken::new(record.access_token, expires_at)))
}

/// Removes the tenant's stored token (after a revocation).
pub async fn purge_token<K: SecretStore>(secrets: &K, tenant: &str) -> Result<(), SecretError> {
    secrets.delete(&token_name(tenant)).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mailbridge_store::LocalSecretFile;

    use super::*;

    fn store() -> (tempfile::TempDir, LocalSecretFile) {
        let dir = tempfile::tempdir().unwrap();
        let secrets =
            LocalSecretFile::open(dir.path().join("secrets"), dir.path().join("key")).unwrap();
        (dir, secrets)
    }

    #[tokio::test]
    async fn a_saved_token_reads_back_for_its_app_only() {
        let (_dir, secrets) = store();
        let expires = SystemTime::now() + Duration::from_hours(1);
        let token = AccessToken::new("eyJ.bearer.value", expires);

        save_token(&secrets, "Contoso.example", "app-1", &token)
            .await
            .unwrap();

        let read = load_token(&secrets, "contoso.example", "app-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.bearer(), "eyJ.bearer.value");
        let drift = read
            .expires_at()
            .duration_since(expires)
            .unwrap_or_else(|e| e.duration());
        assert!(drift < Duration::from_secs(1), "{drift:?}");
        assert!(
            load_token(&secrets, "contoso.example", "app-2")
                .await
                .unwrap()
                .is_none()
        );

        purge_token(&secrets, "contoso.example").await.unwrap();
        assert!(
            load_token(&secrets, "contoso.example", "app-1")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn an_expired_token_is_not_handed_out() {
        let (_dir, secrets) = store();
        let token = AccessToken::new("old", SystemTime::now() - Duration::from_secs(5));
        save_token(&secrets, "contoso.example", "app-1", &token)
            .await
            .unwrap();

        let read = load_token(&secrets, "contoso.example", "app-1").await;

        assert!(read.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_unreadable_record_is_an_error_that_does_not_show_it() {
        let (_dir, secrets) = store();
        let value = SecretString::from("{\"access_token\": \"leaked-if-shown\"".to_owned());
        secrets
            .put(&token_name("contoso.example"), &value)
            .await
            .unwrap();

        let err = load_token(&secrets, "contoso.example", "app-1")
            .await
            .err()
            .unwrap();

        let shown = format!("{err} {err:?}");
        assert!(shown.contains("unreadable"), "{shown}");
        assert!(!shown.contains("leaked-if-shown"), "{shown}");
    }
}
