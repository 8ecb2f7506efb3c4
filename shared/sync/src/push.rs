//! The push: CRM changes waiting in the outbox, written to the mailbox. Each entry is
//! planned ([`plan_push`], then [`plan_create`], [`plan_refused_update`] and
//! [`plan_push_merge`] as the mailbox answers) and the plan carried out here.

use mailbridge_mailbox::{BackendError, ItemData, ItemRef, MailboxBackend};
use mailbridge_store::{Commit, Folder, Lease, LinkChange, OutboxEntry, StateStore, StoreError};
use serde_json::json;
use tracing::{debug, warn};

use crate::apply::new_link;
use crate::engine::{Engine, ends_run, kind, link_put, parse, record_write};
use crate::error::SyncError;
use crate::plan::{
    CreateStep, CrmSide, PushAction, Refused, plan_create, plan_push, plan_push_merge,
    plan_refused_update,
};
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
            let outcome = match self.plan_entry(folder, &entry).await {
                Ok(action) => {
                    self.push_one(folder, action, &mut commit, report, &mut made)
                        .await
                }
                Err(err) => Err(err),
            };
            match outcome {
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

    /// Reads what an outbox entry needs and plans it. A record whose content cannot be
    /// read is refused (`Invalid`), never taken for a delete.
    pub(crate) async fn plan_entry(
        &self,
        folder: Folder,
        entry: &OutboxEntry,
    ) -> Result<PushAction, SyncError> {
        let crm_id = entry.crm_id.as_str();
        let record = self.store.get_record(&self.mailbox, folder, crm_id).await?;
        let link = self
            .store
            .link_by_crm_id(&self.mailbox, folder, crm_id)
            .await?;
        let side = match record {
            Some(record) => {
                let data = match record.data.as_deref() {
                    Some(json) => Some(parse(folder, json).ok_or_else(|| {
                        SyncError::Backend(BackendError::Invalid(format!(
                            "record {crm_id} holds data that is not a valid {}",
                            folder.as_str()
                        )))
                    })?),
                    None => None,
                };
                Some(CrmSide {
                    crm_id: record.crm_id,
                    version: record.version,
                    data,
                })
            }
            None => None,
        };
        Ok(plan_push(crm_id, side.as_ref(), link.as_ref()))
    }

    async fn push_one(
        &self,
        folder: Folder,
        action: PushAction,
        commit: &mut Commit,
        report: &mut FolderReport,
        created: &mut Vec<String>,
    ) -> Result<(), SyncError> {
        match action {
            PushAction::Skip { .. } => Ok(()),
            PushAction::RefreshVersion { crm_id, version } => {
                if let Some(mut link) = self
                    .store
                    .link_by_crm_id(&self.mailbox, folder, &crm_id)
                    .await?
                {
                    link.crm_version = version;
                    commit.links.push(link_put(link));
                }
                Ok(())
            }
            PushAction::Create {
                crm_id,
                version,
                data,
            } => {
                self.push_create(folder, &crm_id, version, &data, commit, report, created)
                    .await
            }
            PushAction::Update {
                crm_id,
                version,
                item,
                base,
                old,
                data,
            } => {
                let update = Update {
                    crm_id,
                    version,
                    item,
                    base,
                    old,
                    data,
                };
                self.push_update(folder, update, commit, report, created)
                    .await
            }
            PushAction::Delete { crm_id, item_id } => {
                self.delete_item(folder, &item_id).await?;
                report.mailbox_deleted += 1;
                commit.links.push(LinkChange::Delete(crm_id.clone()));
                commit.audit.push(self.audit(
                    "mailbox.delete",
                    &crm_id,
                    json!({ "item": item_id, "to": "Deleted Items" }),
                ));
                Ok(())
            }
            PushAction::DeleteStamped { crm_id } => {
                if let Some(found) = self.backend.find_by_crm_id(kind(folder), &crm_id).await? {
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

    #[allow(clippy::too_many_arguments)]
    async fn push_create(
        &self,
        folder: Folder,
        crm_id: &str,
        version: u64,
        data: &ItemData,
        commit: &mut Commit,
        report: &mut FolderReport,
        created: &mut Vec<String>,
    ) -> Result<(), SyncError> {
        // A create retried after a lost response finds the first one by its stamp.
        let found = self.backend.find_by_crm_id(kind(folder), crm_id).await?;
        let item = match plan_create(found, data) {
            CreateStep::Adopt(item) => item,
            CreateStep::Overwrite(found) => {
                let item = self
                    .backend
                    .update(kind(folder), &found.item, &found.data, data)
                    .await?;
                report.mailbox_updated += 1;
                item
            }
            CreateStep::Create => {
                let item = self.backend.create(kind(folder), crm_id, data).await?;
                report.mailbox_created += 1;
                created.push(item.id.clone());
                item
            }
        };
        let mut link = new_link(crm_id, item.clone(), data, version);
        link.unconfirmed = true;
        commit.links.push(link_put(link));
        commit
            .audit
            .push(self.audit("mailbox.create", crm_id, json!({ "item": item.id })));
        Ok(())
    }

    async fn push_update(
        &self,
        folder: Folder,
        update: Update,
        commit: &mut Commit,
        report: &mut FolderReport,
        created: &mut Vec<String>,
    ) -> Result<(), SyncError> {
        let Update {
            crm_id,
            version,
            item,
            base,
            old,
            data,
        } = update;
        let err = match self.backend.update(kind(folder), &item, &old, &data).await {
            Ok(updated) => {
                report.mailbox_updated += 1;
                commit
                    .links
                    .push(link_put(new_link(&crm_id, updated, &data, version)));
                commit.audit.push(self.audit(
                    "mailbox.update",
                    &crm_id,
                    json!({ "item": item.id }),
                ));
                return Ok(());
            }
            Err(err) => err,
        };
        match plan_refused_update(&err) {
            Refused::ReadAndMerge => {
                self.push_merge(folder, &crm_id, version, &data, base, &item, commit, report)
                    .await
            }
            Refused::Recreate => {
                commit.audit.push(self.edit_beats_delete(&crm_id));
                let item = self.backend.create(kind(folder), &crm_id, &data).await?;
                report.mailbox_created += 1;
                created.push(item.id.clone());
                let mut link = new_link(&crm_id, item, &data, version);
                link.unconfirmed = true;
                commit.links.push(link_put(link));
                Ok(())
            }
            Refused::Fail => Err(err.into()),
        }
    }

    /// A stale change key: read the item again, merge, write once more.
    #[allow(clippy::too_many_arguments)]
    async fn push_merge(
        &self,
        folder: Folder,
        crm_id: &str,
        version: u64,
        data: &ItemData,
        base: Option<ItemData>,
        item: &ItemRef,
        commit: &mut Commit,
        report: &mut FolderReport,
    ) -> Result<(), SyncError> {
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
        let merge = plan_push_merge(base.as_ref(), data, &fresh.data);
        self.record_conflicts(crm_id, &merge.conflicts).await?;
        let updated = self
            .backend
            .update(kind(folder), &fresh.item, &fresh.data, &merge.merged)
            .await?;
        report.mailbox_updated += 1;
        report.conflicts += merge.conflicts.len();
        let mut version = version;
        if merge.crm_write {
            // The owner's changes to other fields come back to the CRM.
            let (write, new_version) = record_write(crm_id, Some(version), Some(&merge.merged));
            commit.records.push(write);
            version = new_version;
            report.crm_updated += 1;
        }
        commit
            .links
            .push(link_put(new_link(crm_id, updated, &merge.merged, version)));
        Ok(())
    }
}

/// The parts of [`PushAction::Update`], carried to where it is carried out.
struct Update {
    crm_id: String,
    version: u64,
    item: ItemRef,
    base: Option<ItemData>,
    old: ItemData,
    data: ItemData,
}
