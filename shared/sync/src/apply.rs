//! Carrying out planned actions: the mailbox writes they need now, and their share of the
//! commit that stores them.

use mailbridge_mailbox::{BackendError, ItemRef, MailboxBackend, RemoteItem};
use mailbridge_store::{Commit, Folder, Link, LinkChange, StateStore};
use serde_json::json;

use crate::engine::{Engine, kind, link_put, record_write};
use crate::error::SyncError;
use crate::plan::Action;
use crate::report::FolderReport;

impl<S: StateStore, B: MailboxBackend> Engine<'_, S, B> {
    /// Carries out one planned action: the mailbox write it needs now, and its share of
    /// the page's commit.
    pub(crate) async fn apply(
        &self,
        folder: Folder,
        action: Action,
        commit: &mut Commit,
        report: &mut FolderReport,
    ) -> Result<(), SyncError> {
        report.count(&action);
        match action {
            Action::Refresh { crm_id, item } => {
                if let Some(mut link) = self
                    .store
                    .link_by_crm_id(&self.mailbox, folder, &crm_id)
                    .await?
                {
                    link.item_id = item.id;
                    link.change_key = item.change_key;
                    link.unconfirmed = false;
                    commit.links.push(link_put(link));
                }
            }
            Action::CrmCreate {
                crm_id, item, data, ..
            } => {
                let (write, version) = record_write(&crm_id, None, Some(&data));
                commit.records.push(write);
                commit
                    .links
                    .push(link_put(new_link(&crm_id, item, &data, version)));
                commit
                    .audit
                    .push(self.audit("crm.create", &crm_id, json!({ "from": "mailbox" })));
            }
            Action::CrmUpdate {
                crm_id,
                expected,
                item,
                data,
            } => {
                let (write, version) = record_write(&crm_id, Some(expected), Some(&data));
                commit.records.push(write);
                commit
                    .links
                    .push(link_put(new_link(&crm_id, item, &data, version)));
                commit
                    .audit
                    .push(self.audit("crm.update", &crm_id, json!({ "from": "mailbox" })));
            }
            Action::CrmDelete { crm_id, expected } => {
                let (write, _) = record_write(&crm_id, Some(expected), None);
                commit.records.push(write);
                commit.links.push(LinkChange::Delete(crm_id.clone()));
                commit
                    .audit
                    .push(self.audit("crm.delete", &crm_id, json!({ "from": "mailbox" })));
            }
            Action::Merge {
                crm_id,
                expected,
                item,
                merged,
                conflicts,
                matched_by,
                revived,
            } => {
                if revived {
                    commit.audit.push(self.edit_undoes_delete(&crm_id));
                }
                let merge = MergeAction {
                    crm_id,
                    expected,
                    item,
                    merged,
                    conflicts,
                    matched_by,
                };
                self.apply_merge(folder, merge, commit, report).await?;
            }
            Action::KeepEdited { crm_id } => {
                commit.links.push(LinkChange::Delete(crm_id.clone()));
                commit.audit.push(self.edit_beats_delete(&crm_id));
            }
            Action::RemoveTwin { crm_id, item, kept } => {
                match self.backend.delete(kind(folder), &item.id).await {
                    Ok(()) | Err(BackendError::NotFound) => {}
                    Err(err) => return Err(err.into()),
                }
                commit.audit.push(self.audit(
                    "mailbox.twin_removed",
                    &crm_id,
                    json!({ "removed": item.id, "kept": kept }),
                ));
            }
            Action::Ignore { .. } => {}
        }
        Ok(())
    }
    async fn apply_merge(
        &self,
        folder: Folder,
        merge: MergeAction,
        commit: &mut Commit,
        report: &mut FolderReport,
    ) -> Result<(), SyncError> {
        let MergeAction {
            crm_id,
            expected,
            item,
            merged,
            conflicts,
            matched_by,
        } = merge;
        self.record_conflicts(&crm_id, &conflicts).await?;
        let mut item_ref = item.item.clone();
        if merged.content_hash() != item.data.content_hash() {
            match self
                .backend
                .update(kind(folder), &item.item, &item.data, &merged)
                .await
            {
                Ok(updated) => {
                    item_ref = updated;
                    report.mailbox_updated += 1;
                    commit.audit.push(self.audit(
                        "mailbox.update",
                        &crm_id,
                        json!({ "item": item.item.id, "reason": "merge" }),
                    ));
                }
                // The owner saved again meanwhile: leave the link as it was, the
                // next pull brings the newer version and merges again.
                Err(BackendError::Conflict | BackendError::NotFound) => return Ok(()),
                Err(err) => return Err(err.into()),
            }
        }
        let crm_differs = self
            .crm_side(folder, &crm_id)
            .await?
            .and_then(|c| c.data)
            .is_none_or(|d| d.content_hash() != merged.content_hash());
        let version = if crm_differs {
            let (write, version) = record_write(&crm_id, expected, Some(&merged));
            commit.records.push(write);
            version
        } else {
            expected.unwrap_or(1)
        };
        commit
            .links
            .push(link_put(new_link(&crm_id, item_ref, &merged, version)));
        if let Some(by) = matched_by {
            commit.audit.push(self.audit(
                "match",
                &crm_id,
                json!({ "item": item.item.id, "by": format!("{by:?}") }),
            ));
        }
        Ok(())
    }
}

/// The parts of [`Action::Merge`], carried to where it is applied.
struct MergeAction {
    crm_id: String,
    expected: Option<u64>,
    item: RemoteItem,
    merged: mailbridge_mailbox::ItemData,
    conflicts: Vec<mailbridge_mailbox::FieldConflict>,
    matched_by: Option<crate::matching::MatchedBy>,
}

/// The link both sides agree on after a write.
pub(crate) fn new_link(
    crm_id: &str,
    item: ItemRef,
    data: &mailbridge_mailbox::ItemData,
    crm_version: u64,
) -> Link {
    let data = data.normalized();
    Link {
        crm_id: crm_id.to_owned(),
        item_id: item.id,
        change_key: item.change_key,
        content_hash: data.content_hash(),
        crm_version,
        base: Some(data.to_json()),
        unconfirmed: false,
    }
}
