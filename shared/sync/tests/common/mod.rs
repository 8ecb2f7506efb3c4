//! What the engine's tests against the simulator share: set-ups, the CRM and mailbox
//! sides read back, and a backend that lets something happen in the middle of a run.
//! Each test file takes it all with `use common::*`.

// A prelude: not every test file uses every helper or name.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use crate::harness;

pub use mailbridge_ews::EwsMailbox;
pub use mailbridge_ews_sim::Fault;
pub use mailbridge_ews_sim::model::{ItemData as SimData, SeedSpec};
pub use mailbridge_mailbox::{
    BackendResult, ContactData, DeltaPage, EventData, FolderKind, ItemData, ItemRef,
    MailboxBackend, RemoteItem,
};
pub use mailbridge_store::{Folder, MailboxStatus, StateStore};
pub use mailbridge_sync::{Engine, SyncError};

pub fn contact(given: &str, surname: &str, email: &str) -> ItemData {
    ItemData::Contact(ContactData {
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        emails: vec![email.into()],
        ..ContactData::default()
    })
}

pub async fn seeded(contacts: usize, events: usize, recurring: usize) -> harness::Env {
    let env = harness::start().await;
    env.sim
        .world()
        .seed(
            env.mailbox(),
            &SeedSpec {
                contacts,
                events,
                recurring,
                seed: 3,
                ..SeedSpec::default()
            },
        )
        .unwrap();
    env
}

/// Gives the mailbox a record, so that sync outcomes (the brake among them) land on it.
pub async fn register(env: &harness::Env) {
    env.store
        .put_mailbox(
            &mailbridge_store::Mailbox {
                address: env.mailbox().to_owned(),
                tenant: env.tenant.tenant_id.clone(),
                status: MailboxStatus::Active,
                attention: None,
                last_sync: None,
                last_error: None,
                back_off_until: None,
                braked: None,
                deletes_go_ahead: None,
                version: 0,
            },
            mailbridge_store::Expect::Absent,
        )
        .await
        .unwrap();
}

pub async fn mailbox_status(env: &harness::Env) -> (MailboxStatus, Option<String>) {
    let mailbox = env.store.get_mailbox(env.mailbox()).await.unwrap().unwrap();
    (mailbox.status, mailbox.attention)
}

pub async fn audit_actions(env: &harness::Env) -> Vec<mailbridge_store::AuditEvent> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = env
            .store
            .list_audit(env.mailbox(), after.as_deref(), 500)
            .await
            .unwrap();
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// The operator's acknowledgement of a brake: one run with the brake released.
pub async fn acknowledge(
    env: &harness::Env,
) -> Result<Vec<mailbridge_sync::FolderReport>, SyncError> {
    let backend = EwsMailbox::new(&env.ews, env.mailbox());
    Engine::new(&env.store, &backend, env.mailbox(), env.config())
        .acknowledge_brake("ops@contoso.example")
        .await
}

pub fn owner_delete_all(env: &harness::Env, items: &[mailbridge_ews_sim::ItemView]) {
    for item in items {
        env.sim
            .world()
            .owner_delete(env.mailbox(), &item.id)
            .unwrap();
    }
}

pub fn edit_job(env: &harness::Env, id: &str, job: &str) {
    let job = job.to_owned();
    env.sim
        .world()
        .owner_edit(env.mailbox(), id, move |c| {
            if let SimData::Contact(contact) = &mut c.data {
                contact.job_title = Some(job);
            }
        })
        .unwrap();
}

/// Writes (creates and updates) the simulator has served so far.
pub fn mailbox_writes(env: &harness::Env) -> u64 {
    let stats = env.sim.world().stats();
    ["CreateItem", "UpdateItem", "DeleteItem", "MoveItem"]
        .iter()
        .filter_map(|op| stats.requests.get(*op))
        .sum()
}

/// The calendar record `crm_id` as the CRM holds it.
pub async fn event_record(env: &harness::Env, crm_id: &str) -> EventData {
    let record = env
        .store
        .get_record(env.mailbox(), Folder::Calendar, crm_id)
        .await
        .unwrap()
        .unwrap();
    match ItemData::event_from_json(record.data.as_deref().unwrap()).unwrap() {
        ItemData::Event(e) => e,
        ItemData::Contact(_) => unreachable!(),
    }
}

/// A sync that finds nothing to do: no write to either side.
pub async fn assert_quiet(env: &harness::Env, folder: Folder) {
    let (writes, feed) = (mailbox_writes(env), feed_len(env, folder).await);
    let report = env.sync_folder(folder).await.unwrap();
    assert_eq!(
        report.crm_created
            + report.crm_updated
            + report.crm_deleted
            + report.mailbox_created
            + report.mailbox_updated
            + report.mailbox_deleted,
        0,
        "{report}"
    );
    assert_eq!(mailbox_writes(env), writes, "no echo to the mailbox");
    assert_eq!(feed_len(env, folder).await, feed, "no echo to the CRM");
}

pub async fn feed_len(env: &harness::Env, folder: Folder) -> usize {
    env.store
        .read_feed(env.mailbox(), folder, 0, 10_000)
        .await
        .unwrap()
        .len()
}

/// Something that happens elsewhere (the owner editing in Outlook, a CRM write) at a chosen
/// moment of a run.
pub type Meanwhile<'c> =
    std::sync::Mutex<Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'c>>>>;

/// The mailbox against the simulator, with `edit` happening just before the engine's first
/// mailbox update: the owner editing the item in Outlook (that update then meets a stale
/// change key for real, and the item read again holds the owner's edit), or a CRM write
/// (the page's commit then loses the race and the page is planned again).
pub struct OwnerEditsBeforeUpdate<'c> {
    pub inner: EwsMailbox<'c, mailbridge_identity::TenantTokens>,
    pub edit: Meanwhile<'c>,
}

impl MailboxBackend for OwnerEditsBeforeUpdate<'_> {
    async fn delta(&self, folder: FolderKind, cursor: Option<&str>) -> BackendResult<DeltaPage> {
        self.inner.delta(folder, cursor).await
    }

    async fn fetch(
        &self,
        folder: FolderKind,
        ids: &[String],
    ) -> BackendResult<Vec<BackendResult<RemoteItem>>> {
        self.inner.fetch(folder, ids).await
    }

    async fn find_by_crm_id(
        &self,
        folder: FolderKind,
        crm_id: &str,
    ) -> BackendResult<Option<RemoteItem>> {
        self.inner.find_by_crm_id(folder, crm_id).await
    }

    async fn create(
        &self,
        folder: FolderKind,
        crm_id: &str,
        data: &ItemData,
    ) -> BackendResult<ItemRef> {
        self.inner.create(folder, crm_id, data).await
    }

    async fn update(
        &self,
        folder: FolderKind,
        item: &ItemRef,
        old: &ItemData,
        new: &ItemData,
    ) -> BackendResult<ItemRef> {
        let edit = self.edit.lock().unwrap().take();
        if let Some(edit) = edit {
            edit.await;
        }
        self.inner.update(folder, item, old, new).await
    }

    async fn delete(&self, folder: FolderKind, id: &str) -> BackendResult<()> {
        self.inner.delete(folder, id).await
    }
}

/// The CRM record linked to `item_id`, its id and its contact data.
pub async fn linked_contact(env: &harness::Env, item_id: &str) -> (String, ContactData) {
    let link = env
        .store
        .link_by_item_id(env.mailbox(), Folder::Contacts, item_id)
        .await
        .unwrap()
        .unwrap();
    let record = env
        .store
        .get_record(env.mailbox(), Folder::Contacts, &link.crm_id)
        .await
        .unwrap()
        .unwrap();
    match ItemData::contact_from_json(record.data.as_deref().unwrap()).unwrap() {
        ItemData::Contact(c) => (link.crm_id, c),
        ItemData::Event(_) => unreachable!(),
    }
}

pub fn sim_contact(env: &harness::Env, item_id: &str) -> mailbridge_ews_sim::model::Contact {
    match env
        .sim
        .world()
        .item(env.mailbox(), item_id)
        .unwrap()
        .content
        .data
    {
        SimData::Contact(c) => c,
        other => panic!("{other:?}"),
    }
}

pub async fn braked(env: &harness::Env) -> Option<mailbridge_store::BrakedPull> {
    env.store
        .get_mailbox(env.mailbox())
        .await
        .unwrap()
        .unwrap()
        .braked
}
