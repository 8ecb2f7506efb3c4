//! The mass-delete brake's side of a pull: counting what the whole pull deletes (reading
//! later delta pages ahead) and stopping before those deletes, or letting them through on
//! a person's go-ahead.

use std::collections::HashSet;

use mailbridge_mailbox::{BackendError, Change, DeltaPage, MailboxBackend};
use mailbridge_store::{Folder, Lease, StateStore};
use serde_json::json;

use super::{DeleteCount, PlannedPage};
use crate::engine::{Engine, kind};
use crate::error::SyncError;
use crate::plan::brakes;

impl<S: StateStore, B: MailboxBackend> Engine<'_, S, B> {
    /// The brake decides on the whole pull before the first page that deletes anything is
    /// committed: the pages after it are read ahead and their deletes counted. They are
    /// read again only if more deletes turn up than were counted. `false`: the cursor went
    /// invalid while reading ahead.
    pub(super) async fn brake_whole_pull(
        &self,
        folder: Folder,
        lease: &mut Lease,
        page: &DeltaPage,
        planned: &PlannedPage,
        count: &mut DeleteCount,
        linked: usize,
    ) -> Result<bool, SyncError> {
        let so_far = count.gone + planned.gone;
        if planned.gone == 0 || count.cleared.is_some_and(|cleared| so_far <= cleared) {
            return Ok(true);
        }
        let ahead = if page.more {
            let Some(ahead) = self.gone_ahead(folder, lease, &page.cursor).await? else {
                return Ok(false);
            };
            ahead
        } else {
            0
        };
        self.brake(
            folder,
            count.deletes + planned.deletes + ahead,
            so_far + ahead,
            linked,
        )
        .await?;
        count.cleared = Some(so_far + ahead);
        Ok(true)
    }

    pub(super) fn trips(&self, deletes: usize, gone: usize, linked: usize) -> bool {
        brakes(
            deletes,
            gone,
            linked,
            self.config.mass_delete_percent,
            self.config.mass_delete_min,
        )
    }

    /// The mass-delete brake: a pull that would delete too much at once (or finds the
    /// folder empty) stops before the deletes it counted. A person's go-ahead for this
    /// folder, covering this many deletes, lets it through, on the record.
    async fn brake(
        &self,
        folder: Folder,
        deletes: usize,
        gone: usize,
        linked: usize,
    ) -> Result<(), SyncError> {
        if !self.trips(deletes, gone, linked) {
            return Ok(());
        }
        let detail = json!({ "deletes": deletes, "gone": gone, "linked": linked });
        if let Some(go_ahead) = self
            .brake_released
            .as_ref()
            .filter(|g| g.folder == folder && deletes.max(gone) <= g.allows())
        {
            let mut event = self.audit("brake.released", folder.as_str(), detail);
            go_ahead.by.clone_into(&mut event.actor);
            self.store.append_audit(&[event]).await?;
            return Ok(());
        }
        let event = self.audit("brake", folder.as_str(), detail);
        self.store.append_audit(&[event]).await?;
        Err(SyncError::Braked {
            folder,
            deletes: deletes.max(gone),
            linked,
        })
    }

    /// Reads the rest of a pull ahead, from the cursor after the page at hand, without
    /// applying anything: how many linked items its later pages report deleted. Sync states
    /// can be read from again, so those pages are read once more as they are applied.
    /// Only the deleted ids are held, never the items. `None`: the cursor went invalid.
    pub(super) async fn gone_ahead(
        &self,
        folder: Folder,
        lease: &mut Lease,
        cursor: &str,
    ) -> Result<Option<usize>, SyncError> {
        let mut gone: HashSet<String> = HashSet::new();
        let mut state = cursor.to_owned();
        loop {
            self.renew(lease).await?;
            let page = match self.backend.delta(kind(folder), Some(&state)).await {
                Ok(page) => page,
                Err(BackendError::CursorInvalid) => return Ok(None),
                Err(err) => return Err(err.into()),
            };
            for change in &page.changes {
                if let Change::Delete { id } = change
                    && !gone.contains(id)
                    && self
                        .store
                        .link_by_item_id(&self.mailbox, folder, id)
                        .await?
                        .is_some()
                {
                    gone.insert(id.clone());
                }
            }
            if !page.more {
                return Ok(Some(gone.len()));
            }
            state = page.cursor;
        }
    }
}
