//! What a mailbox holds, as the control interface sees it: seeding, the owner editing in
//! Outlook (create, edit, replace, delete), reading items back, and sync-state
//! invalidation and tombstone purges.

use super::{ControlError, ItemView, MAX_SEED, World, lock};
use crate::ews::ids;
use crate::model::{FolderKind, ItemContent, ItemData, Mailbox, SeedSpec, StoreError, seed};

impl World {
    /// Fills a mailbox with generated contacts and events; returns how many items were made.
    pub fn seed(&self, address: &str, spec: &SeedSpec) -> Result<usize, ControlError> {
        for (field, count) in [
            ("contacts", spec.contacts),
            ("events", spec.events),
            ("recurring", spec.recurring),
        ] {
            if count > MAX_SEED {
                return Err(ControlError::invalid(
                    field,
                    format!("{count} items; at most {MAX_SEED} per seed request"),
                ));
            }
        }
        let slot = self.slot_or_err(address)?;
        let now = self.now();
        let items = seed::generate(spec, address, now.date_naive());
        let mut store = lock(&slot.store);
        for content in items {
            let folder = match content.data {
                ItemData::Contact(_) => FolderKind::Contacts,
                _ => FolderKind::Calendar,
            };
            store
                .create(folder, content, now)
                .map_err(|e| store_error(e, address))?;
        }
        Ok(spec.contacts + spec.events + spec.recurring)
    }

    // ---- the owner, editing in Outlook

    /// Creates an item as the mailbox owner would in Outlook.
    pub fn owner_create(
        &self,
        address: &str,
        folder: FolderKind,
        content: ItemContent,
    ) -> Result<ItemView, ControlError> {
        let slot = self.slot_or_err(address)?;
        let now = self.now();
        let mut store = lock(&slot.store);
        let number = store
            .create(folder, content, now)
            .map_err(|e| store_error(e, address))?;
        let item = store
            .get(number)
            .ok_or_else(|| ControlError::UnknownItem(number.to_string()))?;
        Ok(ItemView::of(store.number(), item))
    }

    /// Edits an item as the owner would; the change key changes and syncs see an update.
    pub fn owner_edit(
        &self,
        address: &str,
        id: &str,
        edit: impl FnOnce(&mut ItemContent),
    ) -> Result<ItemView, ControlError> {
        let slot = self.slot_or_err(address)?;
        let now = self.now();
        let mut store = lock(&slot.store);
        let number = owned_item(&store, id)?;
        store
            .update(number, None, now, |c| {
                edit(c);
                Ok(())
            })
            .map_err(|e| store_error(e, id))?;
        let item = store
            .get(number)
            .ok_or_else(|| ControlError::UnknownItem(id.to_owned()))?;
        Ok(ItemView::of(store.number(), item))
    }

    /// Replaces an item's whole content as the owner would; a contact stays a contact.
    pub fn owner_replace(
        &self,
        address: &str,
        id: &str,
        content: ItemContent,
    ) -> Result<ItemView, ControlError> {
        let current = self.item(address, id)?;
        if !current.folder.accepts(&content.data) {
            return Err(ControlError::invalid(
                "kind",
                format!(
                    "the item in {} is a {}; it cannot become a {}",
                    current.folder.display_name(),
                    current.content.data.kind(),
                    content.data.kind()
                ),
            ));
        }
        self.owner_edit(address, id, |c| *c = content)
    }

    /// Deletes an item as the owner would in Outlook: it moves to Deleted Items (and from
    /// there, is gone for good). Returns the id in Deleted Items, if it went there.
    pub fn owner_delete(&self, address: &str, id: &str) -> Result<Option<String>, ControlError> {
        let slot = self.slot_or_err(address)?;
        let now = self.now();
        let mut store = lock(&slot.store);
        let number = owned_item(&store, id)?;
        let in_deleted = store
            .get(number)
            .is_some_and(|i| i.folder == FolderKind::DeletedItems);
        if in_deleted {
            store.remove(number).map_err(|e| store_error(e, id))?;
            return Ok(None);
        }
        let moved = store
            .move_to(number, FolderKind::DeletedItems, now)
            .map_err(|e| store_error(e, id))?;
        Ok(Some(ids::item_id(store.number(), moved)))
    }

    /// The items of a folder, oldest first.
    pub fn items(&self, address: &str, folder: FolderKind) -> Result<Vec<ItemView>, ControlError> {
        let slot = self.slot_or_err(address)?;
        let store = lock(&slot.store);
        Ok(store
            .items_in(folder)
            .into_iter()
            .map(|i| ItemView::of(store.number(), i))
            .collect())
    }

    /// One item by its EWS id.
    pub fn item(&self, address: &str, id: &str) -> Result<ItemView, ControlError> {
        let slot = self.slot_or_err(address)?;
        let store = lock(&slot.store);
        let number = owned_item(&store, id)?;
        let item = store
            .get(number)
            .ok_or_else(|| ControlError::UnknownItem(id.to_owned()))?;
        Ok(ItemView::of(store.number(), item))
    }

    /// Declares every sync state of a folder invalid: the next sync from one gets
    /// `ErrorInvalidSyncStateData`.
    pub fn invalidate_sync_states(
        &self,
        address: &str,
        folder: FolderKind,
    ) -> Result<(), ControlError> {
        lock(&self.slot_or_err(address)?.store).invalidate_cursors(folder);
        Ok(())
    }

    /// Forgets a folder's deletion tombstones, as Exchange eventually does; sync states
    /// older than now become invalid.
    pub fn purge_tombstones(&self, address: &str, folder: FolderKind) -> Result<(), ControlError> {
        lock(&self.slot_or_err(address)?.store).purge_tombstones(folder);
        Ok(())
    }
}

fn owned_item(store: &Mailbox, id: &str) -> Result<u64, ControlError> {
    match ids::parse_item_id(id) {
        Some(ids::ItemRef::Item { mailbox, number })
            if mailbox == store.number() && store.get(number).is_some() =>
        {
            Ok(number)
        }
        _ => Err(ControlError::UnknownItem(id.to_owned())),
    }
}

/// The store's refusal as a control error; `what` names the item (or the mailbox).
fn store_error(err: StoreError, what: &str) -> ControlError {
    match err {
        StoreError::NotFound => ControlError::UnknownItem(what.to_owned()),
        other => ControlError::invalid("item", other.to_string()),
    }
}
