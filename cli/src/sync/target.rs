//! What a sync needs from the data directory: the stores (opened exactly as `mailbridge
//! serve` opens them), the mailbox and its tenant, each checked so that what is missing or
//! not ready is named with what to do about it.

use std::path::{Path, PathBuf};

use mailbridge_store::{
    LocalSecretFile, Mailbox, MailboxStatus, SqliteStore, StateStore, Tenant, TenantStatus,
};

use super::{Stop, failed, not_ready};

/// The stores of an existing data directory.
pub struct Data {
    pub dir: PathBuf,
    pub store: SqliteStore,
    pub secrets: LocalSecretFile,
}

/// A stored mailbox and the tenant it belongs to.
pub struct Target {
    pub mailbox: Mailbox,
    pub tenant: Tenant,
}

impl Data {
    /// Opens the data directory; one that does not exist or holds no state is named, not
    /// created (a sync of nothing is a mistake, most likely a wrong path).
    pub fn open(dir: &Path) -> Result<Data, Stop> {
        let shown = dir.display();
        let hint = format!("mailbridge verify --data {shown} stores a verified tenant there");
        if !dir.is_dir() {
            return Err(not_ready(format!(
                "--data {shown}: no such directory; {hint}"
            )));
        }
        if !dir.join("state.db").is_file() {
            return Err(not_ready(format!(
                "--data {shown}: no mailbridge state in it (state.db is missing); {hint}"
            )));
        }
        let (store, secrets) = crate::runner::open_stores(dir)
            .map_err(|e| not_ready(format!("--data {shown}: {e}")))?;
        Ok(Data {
            dir: dir.to_owned(),
            store,
            secrets,
        })
    }

    /// The mailbox and its tenant, if both are stored and the tenant is active.
    pub async fn target(&self, address: &str) -> Result<Target, Stop> {
        let dir = self.dir.display();
        let store_error = |e: mailbridge_store::StoreError| failed(format!("reading {dir}: {e}"));
        let Some(mailbox) = self.store.get_mailbox(address).await.map_err(store_error)? else {
            let known = self
                .store
                .list_mailboxes(None, None, 10)
                .await
                .map_err(store_error)?;
            let known: Vec<String> = known.items.into_iter().map(|m| m.address).collect();
            let stored = if known.is_empty() {
                "none is stored there".to_owned()
            } else {
                format!("stored there: {}", known.join(", "))
            };
            return Err(not_ready(format!(
                "--mailbox {address}: not in {dir} ({stored}); mailbridge verify --data adds a tenant's test mailbox, POST /v1/tenants/{{id}}/mailboxes to mailbridge serve adds others"
            )));
        };
        let Some(tenant) = self
            .store
            .get_tenant(&mailbox.tenant)
            .await
            .map_err(store_error)?
        else {
            return Err(not_ready(format!(
                "mailbox {address} belongs to tenant {}, which is not in {dir}",
                mailbox.tenant
            )));
        };
        let reason = tenant
            .status_reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        let refusal = match tenant.status {
            TenantStatus::Active => None,
            TenantStatus::Pending => Some(format!(
                "tenant {} is not verified yet{reason}; its mailboxes sync once mailbridge verify passes for it",
                tenant.id
            )),
            TenantStatus::CredentialExpired => Some(format!(
                "tenant {}'s client secret has expired{reason}; rotate in a new one (PUT /v1/tenants/{}/secret)",
                tenant.id, tenant.id
            )),
            TenantStatus::Disabled => Some(format!("tenant {} is disabled{reason}", tenant.id)),
        };
        match refusal {
            Some(message) => Err(not_ready(message)),
            None => Ok(Target { mailbox, tenant }),
        }
    }
}

impl Target {
    /// Why a real sync is refused for this mailbox, if it is (a dry run still shows the plan).
    pub fn inactive(&self) -> Option<String> {
        let status = match self.mailbox.status {
            MailboxStatus::Active => return None,
            MailboxStatus::NeedsAttention => "needs attention",
            MailboxStatus::Paused => "paused",
        };
        let why = self
            .mailbox
            .attention
            .as_deref()
            .map(|a| format!(": {a}"))
            .unwrap_or_default();
        let way_out = match self.mailbox.status {
            MailboxStatus::NeedsAttention => {
                " (once the owner's deletes are checked, --acknowledge-deletes lets them through)"
            }
            _ => "",
        };
        Some(format!(
            "mailbox {} is {status}{why}{way_out}",
            self.mailbox.address
        ))
    }

    /// The EWS endpoint and identity authority the tenant uses, to name when Exchange
    /// cannot be reached.
    pub fn endpoints(&self) -> String {
        format!(
            "EWS endpoint {}, authority {}",
            self.tenant
                .ews_endpoint
                .as_deref()
                .unwrap_or(mailbridge_ews::EXCHANGE_ONLINE_EWS),
            self.tenant
                .authority
                .as_deref()
                .unwrap_or(mailbridge_identity::MICROSOFT_AUTHORITY)
        )
    }
}
