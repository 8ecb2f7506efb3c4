//! A simulator with one seeded tenant, an EWS client for it, an embedded store, and the
//! helpers the sync tests share.

#![allow(dead_code, clippy::unwrap_used, clippy::unused_self)]

use std::sync::Arc;
use std::time::Duration;

use mailbridge_ews::{EwsClient, EwsMailbox, RetryPolicy};
use mailbridge_ews_sim::ItemView;
use mailbridge_ews_sim::Simulator;
use mailbridge_ews_sim::model::FolderKind as SimFolder;
use mailbridge_ews_sim::preset::{PresetTenant, contoso};
use mailbridge_identity::{
    AppCredentials, Authority, ClientSecret, TenantTokens, TokenCache, TokenClient,
};
use mailbridge_mailbox::ItemData;
use mailbridge_store::sqlite::SqliteStore;
use mailbridge_store::{CrmRecord, Folder, StateStore};
use mailbridge_sync::{Engine, FolderReport, SyncConfig, SyncError};

/// The simulator's name for mailbridge's CRM-id property.
pub const CRM_ID_SET: &str = "8c3f1f0e-5d2b-4a7e-9b61-6d61696c6272";

pub struct Env {
    pub sim: Simulator,
    pub tenant: PresetTenant,
    pub ews: EwsClient<TenantTokens>,
    pub store: SqliteStore,
}

impl Env {
    pub fn mailbox(&self) -> &str {
        &self.tenant.mailboxes[0]
    }

    pub fn config(&self) -> SyncConfig {
        SyncConfig {
            owner: "test-runner".into(),
            ..SyncConfig::default()
        }
    }

    pub async fn sync(&self) -> Result<Vec<FolderReport>, SyncError> {
        let backend = EwsMailbox::new(&self.ews, self.mailbox());
        Engine::new(&self.store, &backend, self.mailbox(), self.config())
            .sync_mailbox()
            .await
    }

    pub async fn sync_folder(&self, folder: Folder) -> Result<FolderReport, SyncError> {
        let backend = EwsMailbox::new(&self.ews, self.mailbox());
        Engine::new(&self.store, &backend, self.mailbox(), self.config())
            .sync_folder(folder)
            .await
    }

    pub async fn sync_folder_with(
        &self,
        folder: Folder,
        config: SyncConfig,
    ) -> Result<FolderReport, SyncError> {
        let backend = EwsMailbox::new(&self.ews, self.mailbox());
        Engine::new(&self.store, &backend, self.mailbox(), config)
            .sync_folder(folder)
            .await
    }

    pub async fn dry_run(&self, folder: Folder) -> Result<FolderReport, SyncError> {
        let backend = EwsMailbox::new(&self.ews, self.mailbox());
        Engine::new(&self.store, &backend, self.mailbox(), self.config())
            .dry_run(folder)
            .await
    }

    /// The live CRM records of a folder.
    pub async fn records(&self, folder: Folder) -> Vec<CrmRecord> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .list_records(self.mailbox(), folder, after.as_deref(), 200)
                .await
                .unwrap();
            all.extend(page.items.into_iter().filter(|r| r.data.is_some()));
            match page.next {
                Some(next) => after = Some(next),
                None => return all,
            }
        }
    }

    /// The mailbox's items in a folder.
    pub fn items(&self, folder: Folder) -> Vec<ItemView> {
        let folder = match folder {
            Folder::Contacts => SimFolder::Contacts,
            Folder::Calendar => SimFolder::Calendar,
        };
        self.sim.world().items(self.mailbox(), folder).unwrap()
    }

    /// EWS requests served so far, all operations.
    pub fn requests(&self) -> u64 {
        self.sim.world().stats().requests.values().sum()
    }

    pub async fn crm_write(&self, folder: Folder, crm_id: &str, data: Option<&ItemData>) -> u64 {
        let json = data.map(ItemData::to_json);
        self.store
            .crm_write(
                self.mailbox(),
                folder,
                crm_id,
                mailbridge_store::Expect::Any,
                json.as_deref(),
            )
            .await
            .unwrap()
    }
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        max_elapsed: Duration::from_secs(10),
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
    }
}

pub async fn start() -> Env {
    let sim = Simulator::start().await.unwrap();
    let tenant = contoso(sim.world()).unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let cache = Arc::new(TokenCache::new(TokenClient::new(
        http.clone(),
        Authority::new(&sim.base_url()).unwrap(),
    )));
    let creds = AppCredentials::new(
        &tenant.tenant_id,
        &tenant.client_id,
        ClientSecret::new(tenant.client_secret.clone()),
    );
    let ews = EwsClient::new(http, &sim.ews_url(), TenantTokens::new(cache, creds))
        .unwrap()
        .with_retry(fast_retry());
    Env {
        sim,
        tenant,
        ews,
        store: SqliteStore::in_memory().unwrap(),
    }
}

/// A contact's data as the simulator holds it, read back through the neutral model.
pub fn stamp(view: &ItemView) -> Option<String> {
    view.content
        .common
        .extended_value(CRM_ID_SET, "MailbridgeCrmId")
        .map(str::to_owned)
}

impl Env {
    /// Everything in a mailbox folder, read through EWS from scratch.
    pub async fn remote_items(&self, folder: Folder) -> Vec<mailbridge_mailbox::RemoteItem> {
        use mailbridge_mailbox::{Change, FolderKind, MailboxBackend};
        let kind = match folder {
            Folder::Contacts => FolderKind::Contacts,
            Folder::Calendar => FolderKind::Calendar,
        };
        let backend = EwsMailbox::new(&self.ews, self.mailbox());
        let mut cursor: Option<String> = None;
        let mut ids = Vec::new();
        loop {
            let page = backend.delta(kind, cursor.as_deref()).await.unwrap();
            for change in page.changes {
                if let Change::Upsert { item, .. } = change {
                    ids.push(item.id);
                }
            }
            cursor = Some(page.cursor);
            if !page.more {
                break;
            }
        }
        let mut items = Vec::new();
        for batch in ids.chunks(100) {
            for result in backend.fetch(kind, batch).await.unwrap() {
                items.push(result.unwrap());
            }
        }
        items
    }

    /// Asserts both sides hold the same items, each record linked to one stamped or
    /// linked item, with no duplicates.
    pub async fn assert_converged(&self, folder: Folder) {
        let records = self.records(folder).await;
        let items = self.remote_items(folder).await;
        assert_eq!(
            records.len(),
            items.len(),
            "{folder}: {} CRM records, {} mailbox items",
            records.len(),
            items.len()
        );
        let mut crm: Vec<String> = records
            .iter()
            .map(|r| {
                let data = match folder {
                    Folder::Contacts => ItemData::contact_from_json(r.data.as_deref().unwrap()),
                    Folder::Calendar => ItemData::event_from_json(r.data.as_deref().unwrap()),
                }
                .unwrap();
                data.content_hash()
            })
            .collect();
        let mut mailbox: Vec<String> = items.iter().map(|i| i.data.content_hash()).collect();
        crm.sort();
        mailbox.sort();
        assert_eq!(crm, mailbox, "{folder}: contents differ");
        for record in &records {
            let link = self
                .store
                .link_by_crm_id(self.mailbox(), folder, &record.crm_id)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{} has no link", record.crm_id));
            assert!(
                items.iter().any(|i| i.item.id == link.item_id),
                "{} links to a missing item",
                record.crm_id
            );
        }
    }
}
