//! The push: CRM changes waiting in the outbox, written to the mailbox.

use mailbridge_mailbox::{BackendError, ItemData, ItemRef, MailboxBackend, merge3};
use mailbridge_store::{
    Commit, CrmRecord, Folder, Lease, Link, LinkChange, OutboxEntry, StateStore, StoreError,
};
use serde_json::json;
use tracing::{debug, warn};

use crate::apply::new_link;
use crate::engine::{Engine, ends_run, kind, link_put, parse, record_write};
use crate::error::SyncError;
use crate::plan::parse_like;
use crate::report::FolderReport;

impl<S: StateStore, B: MailboxBackend> Engine<'_, S, B> {
    pub(crate) async fn push(
        &self,
        folder: Folder,
        lease: &mut Lease,
        report: &mut FolderReport,
    ) -> Result<Vec<String>, SyncError> {
        // Items this push created. Exchange does not report an item created and deleted
        // between two syncs, so the caller checks that each one shows up in a pull.
        let mut created = Vec::new();
        let entries = self
            .store
            .list_outbox(&self.mailbox, folder, self.config.push_batch)
            .await?;
        for entry in entries {
            self.renew(lease).await?;
            let mut commit = self.commit(folder, lease);
            let mut made = Vec::new();
            match self
                .push_one(folder, &entry, &mut commit, report, &mut made)
                .await
            {
                Ok(()) => {
                    commit
                        .outbox_done
                        .push((entry.crm_id.clone(), entry.record_version));
                }
                Err(SyncError::Backend(err)) if !ends_run(&err) => {
                    warn!(crm_id = %entry.crm_id, error = %err, "the mailbox refused a CRM change");
                    commit
                        .outbox_failed
                        .push((entry.crm_id.clone(), err.to_string()));
                }
                Err(err) => return Err(err),
            }
            match self.store.commit(&commit).await {
                Ok(_) => created.extend(made),
                // The CRM wrote the record again meanwhile: its newer version is queued and
                // is pushed by the next run.
                Err(StoreError::Conflict { what, .. }) => {
                    debug!(%what, "push lost a race with a CRM write");
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(created)
    }

    async fn push_one(
        &self,
        folder: Folder,
        entry: &OutboxEntry,
        commit: &mut Commit,
        report: &mut FolderReport,
        created: &mut Vec<String>,
    ) -> Result<(), SyncError> {
        let crm_id = entry.crm_id.as_str();
        let Some(record) = self.store.get_record(&self.mailbox, folder, crm_id).await? else {
            return Ok(());
        };
        let link = self
            .store
            .link_by_crm_id(&self.mailbox, folder, crm_id)
            .await?;
        let data = match record.data.as_deref() {
            Some(json) => match parse(folder, json) {
                Some(data) => Some(data),
                None => {
                    return Err(SyncError::Backend(BackendError::Invalid(format!(
                        "record {crm_id} holds data that is not a valid {}",
                        folder.as_str()
                    ))));
                }
            },
            None => None,
        };
        match (data, link) {
            (Some(data), None) => {
                self.push_create(folder, &record, &data, commit, report, created)
                    .await
            }
            (Some(data), Some(link)) => {
                self.push_update(folder, &record, &data, link, commit, report, created)
                    .await
            }
            (None, Some(link)) => {
                self.delete_item(folder, &link.item_id).await?;
                report.mailbox_deleted += 1;
                commit.links.push(LinkChange::Delete(crm_id.to_owned()));
                commit.audit.push(self.audit(
                    "mailbox.delete",
                    crm_id,
                    json!({ "item": link.item_id, "to": "Deleted Items" }),
                ));
                Ok(())
            }
            (None, None) => {
                // Deleted before it was ever linked; a create may still have reached the
                // mailbox before its response was lost.
                if let Some(found) = self.backend.find_by_crm_id(kind(folder), crm_id).await? {
                    self.delete_item(folder, &found.item.id).await?;
                    report.mailbox_deleted += 1;
                }
                Ok(())
            }
        }
    }

    /// Moves an item to Deleted Items; one already gone is as good as deleted.
    async fn delete_item(&self, folder: Folder, id: &str) -> Result<(), SyncError> {
        match self.backend.delete(kind(folder), id).await {
            Ok(()) | Err(BackendError::NotFound) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    async fn push_create(
        &self,
        folder: Folder,
        record: &CrmRecord,
        data: &ItemData,
        commit: &mut Commit,
        report: &mut FolderReport,
        created: &mut Vec<String>,
    ) -> Result<(), SyncError> {
        let crm_id = record.crm_id.as_str();
        // A create retried after a lost response finds the first one by its stamp.
        let found = self.backend.find_by_crm_id(kind(folder), crm_id).await?;
        let item = if let Some(found) = found {
            if found.data.content_hash() == data.content_hash() {
                found.item
            } else {
                let item = self
                    .backend
                    .update(kind(folder), &found.item, &found.data, data)
                    .await?;
                report.mailbox_updated += 1;
                item
            }
        } else {
            let item = self.backend.create(kind(folder), crm_id, data).await?;
            report.mailbox_created += 1;
            created.push(item.id.clone());
            item
        };
        let mut link = new_link(crm_id, item.clone(), data, record.version);
        link.unconfirmed = true;
        commit.links.push(link_put(link));
        commit
            .audit
            .push(self.audit("mailbox.create", crm_id, json!({ "item": item.id })));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn push_update(
        &self,
        folder: Folder,
        record: &CrmRecord,
        data: &ItemData,
        link: Link,
        commit: &mut Commit,
        report: &mut FolderReport,
        created: &mut Vec<String>,
    ) -> Result<(), SyncError> {
        let crm_id = record.crm_id.as_str();
        let base = link.base.as_deref().and_then(|b| parse_like(data, b));
        if data.content_hash() == link.content_hash {
            if record.version != link.crm_version {
                let mut link = link;
                link.crm_version = record.version;
                commit.links.push(link_put(link));
            }
            return Ok(());
        }
        let item = ItemRef {
            id: link.item_id.clone(),
            change_key: link.change_key.clone(),
        };
        // Without a stored base, send every field: the item is overwritten with the record.
        let old = base.clone().unwrap_or_else(|| empty_like(data));
        match self.backend.update(kind(folder), &item, &old, data).await {
            Ok(updated) => {
                report.mailbox_updated += 1;
                commit
                    .links
                    .push(link_put(new_link(crm_id, updated, data, record.version)));
                commit
                    .audit
                    .push(self.audit("mailbox.update", crm_id, json!({ "item": item.id })));
                Ok(())
            }
            Err(BackendError::Conflict) => {
                self.push_merge(folder, record, data, base, &item, commit, report)
                    .await
            }
            // Deleted in the mailbox while the CRM edited it: the edit wins, the item is
            // made again.
            Err(BackendError::NotFound) => {
                commit.audit.push(self.edit_beats_delete(crm_id));
                let item = self.backend.create(kind(folder), crm_id, data).await?;
                report.mailbox_created += 1;
                created.push(item.id.clone());
                let mut link = new_link(crm_id, item, data, record.version);
                link.unconfirmed = true;
                commit.links.push(link_put(link));
                Ok(())
            }
            Err(err) => Err(err.into()),
        }
    }

    /// A stale change key: read the item again, merge, write once more.
    #[allow(clippy::too_many_arguments)]
    async fn push_merge(
        &self,
        folder: Folder,
        record: &CrmRecord,
        data: &ItemData,
        base: Option<ItemData>,
        item: &ItemRef,
        commit: &mut Commit,
        report: &mut FolderReport,
    ) -> Result<(), SyncError> {
        let crm_id = record.crm_id.as_str();
        let fresh = match self
            .backend
            .fetch(kind(folder), std::slice::from_ref(&item.id))
            .await?
            .pop()
        {
            Some(Ok(fresh)) => fresh,
            Some(Err(err)) => return Err(err.into()),
            None => return Err(BackendError::NotFound.into()),
        };
        let base = base.unwrap_or_else(|| fresh.data.clone());
        let merged = merge3(&base, data, &fresh.data);
        self.record_conflicts(crm_id, &merged.conflicts).await?;
        let updated = self
            .backend
            .update(kind(folder), &fresh.item, &fresh.data, &merged.data)
            .await?;
        report.mailbox_updated += 1;
        report.conflicts += merged.conflicts.len();
        let mut version = record.version;
        if merged.data.content_hash() != data.content_hash() {
            // The owner's changes to other fields come back to the CRM.
            let (write, new_version) =
                record_write(crm_id, Some(record.version), Some(&merged.data));
            commit.records.push(write);
            version = new_version;
            report.crm_updated += 1;
        }
        commit
            .links
            .push(link_put(new_link(crm_id, updated, &merged.data, version)));
        Ok(())
    }
}

/// An item of the same kind with nothing set, so that every field of `like` counts as changed.
fn empty_like(like: &ItemData) -> ItemData {
    match like {
        ItemData::Contact(_) => ItemData::Contact(mailbridge_mailbox::ContactData::default()),
        ItemData::Event(e) => ItemData::Event(mailbridge_mailbox::EventData {
            subject: None,
            body: None,
            location: None,
            start: e.start - chrono::Duration::seconds(1),
            end: e.end - chrono::Duration::seconds(1),
            all_day: !e.all_day,
            time_zone: None,
            show_as: None,
            reminder_minutes: None,
            attendees: Vec::new(),
            recurrence: None,
            categories: Vec::new(),
        }),
    }
}
