//! The jobs the functions and the local runner run: sync one mailbox, find the mailboxes
//! that are due, and refresh tokens while watching each client secret's expiry.

use std::time::Duration;

use chrono::{DateTime, Utc};
use mailbridge_ews::EwsMailbox;
use mailbridge_store::{
    Expect, Mailbox, MailboxStatus, SecretStore, StateStore, StoreError, Tenant, TenantStatus,
};
use mailbridge_sync::{Engine, FolderReport, SyncConfig, SyncError};
use tracing::{info, warn};

use crate::tenants::{ClientError, TenantClients};

/// Why a mailbox was not synced.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The mailbox is not known.
    #[error("mailbox {0} is not known")]
    UnknownMailbox(String),
    /// Its tenant is not known.
    #[error("tenant {0} is not known")]
    UnknownTenant(String),
    /// The tenant's credentials cannot be used now.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The sync stopped.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The state store failed.
    #[error("state store: {0}")]
    Store(#[from] StoreError),
}

impl JobError {
    /// Whether running the job again later may succeed without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            JobError::Sync(e) => e.is_retryable(),
            JobError::Store(e) => e.is_retryable(),
            JobError::Client(ClientError::Secrets(_)) => true,
            _ => false,
        }
    }
}

/// Syncs one mailbox with its tenant's credentials.
pub async fn sync_mailbox<S: StateStore, K: SecretStore>(
    store: &S,
    secrets: &K,
    clients: &TenantClients,
    address: &str,
    config: SyncConfig,
) -> Result<Vec<FolderReport>, JobError> {
    let address = address.trim().to_lowercase();
    let mailbox = store
        .get_mailbox(&address)
        .await?
        .ok_or_else(|| JobError::UnknownMailbox(address.clone()))?;
    let tenant = store
        .get_tenant(&mailbox.tenant)
        .await?
        .ok_or_else(|| JobError::UnknownTenant(mailbox.tenant.clone()))?;
    let ews = clients.client(&tenant, secrets).await?;
    let backend = EwsMailbox::new(&ews, address.as_str());
    let engine = Engine::new(store, &backend, &address, config);
    Ok(engine.sync_mailbox().await?)
}

/// Every page of mailboxes, all tenants.
async fn all_mailboxes<S: StateStore>(store: &S) -> Result<Vec<Mailbox>, StoreError> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_mailboxes(None, after.as_deref(), 500).await?;
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

/// The mailboxes to sync now: active, of an active tenant, not asked to back off, and not
/// synced within `interval`.
pub async fn due_mailboxes<S: StateStore>(
    store: &S,
    now: DateTime<Utc>,
    interval: Duration,
) -> Result<Vec<String>, StoreError> {
    let interval = chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
    let mut active_tenants = std::collections::HashMap::new();
    let mut due = Vec::new();
    for mailbox in all_mailboxes(store).await? {
        if mailbox.status != MailboxStatus::Active
            || mailbox.back_off_until.is_some_and(|until| until > now)
            || mailbox.last_sync.is_some_and(|last| now - last < interval)
        {
            continue;
        }
        let active = if let Some(active) = active_tenants.get(&mailbox.tenant) {
            *active
        } else {
            let active = store
                .get_tenant(&mailbox.tenant)
                .await?
                .is_some_and(|t| t.status == TenantStatus::Active);
            active_tenants.insert(mailbox.tenant.clone(), active);
            active
        };
        if active {
            due.push(mailbox.address);
        }
    }
    Ok(due)
}

/// Days before a client secret's expiry at which a warning goes out.
pub const EXPIRY_WARNINGS: [i64; 5] = [60, 30, 14, 7, 1];

/// What the token refresh found for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretHealth {
    /// Far from expiry (or no date known).
    Fine,
    /// Expires within one of [`EXPIRY_WARNINGS`]: the threshold crossed and the days left.
    ExpiresSoon {
        /// The warning threshold (60, 30, 14, 7 or 1).
        threshold: i64,
        /// Days left.
        days: i64,
    },
    /// Expired: syncs for the tenant pause.
    Expired,
}

/// The health of a secret expiring at `expires`, seen at `now`.
pub fn secret_health(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> SecretHealth {
    let Some(expires) = expires else {
        return SecretHealth::Fine;
    };
    if expires <= now {
        return SecretHealth::Expired;
    }
    let days = (expires - now).num_days();
    EXPIRY_WARNINGS
        .iter()
        .rev()
        .find(|threshold| days < **threshold)
        .map_or(SecretHealth::Fine, |threshold| SecretHealth::ExpiresSoon {
            threshold: *threshold,
            days,
        })
}

/// Checks every active tenant's secret: warns as expiry nears, pauses the tenant once it
/// has passed (one clear status, no retry loop). Returns each tenant's health.
pub async fn check_secrets<S: StateStore>(
    store: &S,
    now: DateTime<Utc>,
) -> Result<Vec<(String, SecretHealth)>, StoreError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_tenants(after.as_deref(), 200).await?;
        for tenant in page.items {
            let health = secret_health(tenant.secret_expires, now);
            match &health {
                SecretHealth::Expired if tenant.status == TenantStatus::Active => {
                    pause_expired(store, tenant.clone(), now).await?;
                }
                SecretHealth::ExpiresSoon { threshold, days } => warn!(
                    tenant = %tenant.id,
                    threshold,
                    days_left = days,
                    op = "token_refresh",
                    "client secret expires soon: create a new one and rotate it"
                ),
                _ => {}
            }
            out.push((tenant.id, health));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}

async fn pause_expired<S: StateStore>(
    store: &S,
    mut tenant: Tenant,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let version = tenant.version;
    tenant.status = TenantStatus::CredentialExpired;
    tenant.status_reason = Some(format!(
        "the client secret expired on {}: syncs are paused until a new secret is rotated in",
        tenant
            .secret_expires
            .map_or_else(|| "an unknown date".into(), |d| d.date_naive().to_string())
    ));
    match store.put_tenant(&tenant, Expect::Version(version)).await {
        // Someone changed it meanwhile (a rotation, most likely): the next run looks again.
        Ok(_) | Err(StoreError::Conflict { .. }) => {}
        Err(err) => return Err(err),
    }
    info!(tenant = %tenant.id, op = "token_refresh", %now, "client secret expired: tenant paused");
    Ok(())
}
