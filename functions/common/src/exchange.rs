//! The EWS client for a mailbox: its record, its tenant, the tenant's client.

use std::sync::Arc;

use mailbridge_ews::EwsClient;
use mailbridge_identity::TenantTokens;
use mailbridge_service::tenants::{ClientError, TenantClients};
use mailbridge_store::{SecretStore, StateStore, StoreError};

/// Why there is no client for a mailbox.
#[derive(Debug, thiserror::Error)]
pub enum MailboxClientError {
    /// The mailbox is not known.
    #[error("mailbox {0} is not known")]
    UnknownMailbox(String),
    /// Its tenant is not known.
    #[error("tenant {0} is not known")]
    UnknownTenant(String),
    /// The tenant's credentials cannot be used (paused, no secret, bad endpoint, or the
    /// secret store failed).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The state store failed.
    #[error("state store: {0}")]
    Store(#[from] StoreError),
}

impl MailboxClientError {
    /// Whether asking again later may succeed without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            MailboxClientError::Store(err) => err.is_retryable(),
            MailboxClientError::Client(ClientError::Secrets(_)) => true,
            _ => false,
        }
    }
}

/// The EWS client of `mailbox`'s tenant, made from its stored secret on first use.
pub async fn client_for_mailbox<S: StateStore, K: SecretStore>(
    state: &S,
    secrets: &K,
    clients: &TenantClients,
    mailbox: &str,
) -> Result<Arc<EwsClient<TenantTokens>>, MailboxClientError> {
    let record = state
        .get_mailbox(mailbox)
        .await?
        .ok_or_else(|| MailboxClientError::UnknownMailbox(mailbox.to_owned()))?;
    let tenant = state
        .get_tenant(&record.tenant)
        .await?
        .ok_or_else(|| MailboxClientError::UnknownTenant(record.tenant.clone()))?;
    Ok(clients.client(&tenant, secrets).await?)
}
