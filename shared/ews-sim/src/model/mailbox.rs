//! One mailbox: its folders, its items, and the change log that sync reads.
//!
//! Every write takes the next number of the mailbox's change sequence. Each folder keeps, per
//! item, only the latest change (the item itself while it is there, a tombstone once it left),
//! so a sync from any cursor sees changes compacted the way Exchange does it: several edits
//! are one update, a create followed by edits is one create, and an item created and deleted
//! between two syncs is not seen at all.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::idset::IdSet;
use super::item::{ItemContent, ItemData};

/// The folders every simulated mailbox has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum FolderKind {
    Inbox,
    Drafts,
    SentItems,
    DeletedItems,
    Contacts,
    Calendar,
}

impl FolderKind {
    /// Every folder, in a fixed order.
    pub const ALL: [FolderKind; 6] = [
        FolderKind::Inbox,
        FolderKind::Drafts,
        FolderKind::SentItems,
        FolderKind::DeletedItems,
        FolderKind::Contacts,
        FolderKind::Calendar,
    ];

    /// The name Outlook shows.
    pub fn display_name(self) -> &'static str {
        match self {
            FolderKind::Inbox => "Inbox",
            FolderKind::Drafts => "Drafts",
            FolderKind::SentItems => "Sent Items",
            FolderKind::DeletedItems => "Deleted Items",
            FolderKind::Contacts => "Contacts",
            FolderKind::Calendar => "Calendar",
        }
    }

    /// Whether an item of this kind may live in the folder. Deleted Items takes anything.
    pub fn accepts(self, data: &ItemData) -> bool {
        match self {
            FolderKind::DeletedItems => true,
            FolderKind::Contacts => matches!(data, ItemData::Contact(_)),
            FolderKind::Calendar => matches!(data, ItemData::Event(_)),
            FolderKind::Inbox | FolderKind::Drafts | FolderKind::SentItems => {
                matches!(data, ItemData::Message(_))
            }
        }
    }
}

/// An item as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredItem {
    /// The item's number in its mailbox; a move gives a new one, as in Exchange.
    pub number: u64,
    /// Where it is.
    pub folder: FolderKind,
    /// The change sequence number of its last write; the change key is derived from it.
    pub change: u64,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it was last written.
    pub modified: DateTime<Utc>,
    /// What it holds.
    pub content: ItemContent,
    /// Its size in bytes as the store counts it, worked out once per write.
    pub size: usize,
}

/// Why the store refused a write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No such item in this mailbox.
    #[error("the item does not exist")]
    NotFound,
    /// The writer's change number is not the item's current one.
    #[error("the item changed since it was read")]
    Conflict,
    /// The item cannot live in that folder.
    #[error("a {kind} cannot be stored in {folder}")]
    WrongFolder {
        /// The item kind.
        kind: &'static str,
        /// The folder's name.
        folder: &'static str,
    },
    /// The change would leave the item invalid.
    #[error("{0}")]
    Invalid(String),
}

/// Where a sync client stands: what it has been given, and the change number it has read to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncCursor {
    /// The folder's cursor generation when this cursor was made.
    pub generation: u32,
    /// Every change up to this number has been read.
    pub watermark: u64,
    /// Items the client holds.
    pub known: IdSet,
}

/// One change a sync reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncChange {
    /// New to the client.
    Create(u64),
    /// Changed since the client saw it.
    Update(u64),
    /// Gone from the folder.
    Delete(u64),
}

/// A page of changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncBatch {
    /// The changes, oldest first.
    pub changes: Vec<SyncChange>,
    /// Where the next page starts.
    pub cursor: SyncCursor,
    /// Whether more changes follow.
    pub more: bool,
}

/// A cursor the folder can no longer serve: cursors were invalidated, or tombstones it
/// would need were purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sync state is no longer valid for this folder")]
pub struct CursorInvalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Live(u64),
    Gone(u64),
}

#[derive(Debug, Default)]
struct FolderLog {
    // Latest change per item, by change number.
    entries: BTreeMap<u64, Entry>,
    generation: u32,
    // Cursors older than this may have missed purged tombstones.
    horizon: u64,
    live: usize,
}

/// A simulated mailbox.
#[derive(Debug)]
pub struct Mailbox {
    address: String,
    display_name: String,
    number: u32,
    seq: u64,
    next_item: u64,
    items: HashMap<u64, StoredItem>,
    folders: BTreeMap<FolderKind, FolderLog>,
}

impl Mailbox {
    /// An empty mailbox. `number` tells its item ids apart from other mailboxes'.
    pub fn new(address: &str, display_name: &str, number: u32) -> Mailbox {
        Mailbox {
            address: address.to_owned(),
            display_name: display_name.to_owned(),
            number,
            seq: 0,
            next_item: 1,
            items: HashMap::new(),
            folders: FolderKind::ALL
                .iter()
                .map(|f| (*f, FolderLog::default()))
                .collect(),
        }
    }

    /// The primary SMTP address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The owner's display name.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The number that scopes this mailbox's ids.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The last change number written.
    pub fn last_change(&self) -> u64 {
        self.seq
    }

    fn folder_mut(&mut self, folder: FolderKind) -> &mut FolderLog {
        self.folders.entry(folder).or_default()
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Stores a new item in `folder`; returns its number.
    pub fn create(
        &mut self,
        folder: FolderKind,
        mut content: ItemContent,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if !folder.accepts(&content.data) {
            return Err(StoreError::WrongFolder {
                kind: content.data.kind(),
                folder: folder.display_name(),
            });
        }
        check_content(&content)?;
        let number = self.next_item;
        self.next_item += 1;
        if let ItemData::Event(event) = &mut content.data
            && event.uid.is_empty()
        {
            event.uid = format!("{:08X}{:024X}", self.number, number);
        }
        let change = self.next_seq();
        let log = self.folder_mut(folder);
        log.entries.insert(change, Entry::Live(number));
        log.live += 1;
        self.items.insert(
            number,
            StoredItem {
                number,
                folder,
                change,
                created: now,
                modified: now,
                size: content.size(),
                content,
            },
        );
        Ok(number)
    }

    /// The item with this number.
    pub fn get(&self, number: u64) -> Option<&StoredItem> {
        self.items.get(&number)
    }

    /// Changes an item in place. With `expected_change`, the write happens only if the item
    /// is still at that change number. Returns the new change number.
    pub fn update(
        &mut self,
        number: u64,
        expected_change: Option<u64>,
        now: DateTime<Utc>,
        edit: impl FnOnce(&mut ItemContent) -> Result<(), String>,
    ) -> Result<u64, StoreError> {
        let item = self.items.get(&number).ok_or(StoreError::NotFound)?;
        if expected_change.is_some_and(|c| c != item.change) {
            return Err(StoreError::Conflict);
        }
        let mut content = item.content.clone();
        edit(&mut content).map_err(StoreError::Invalid)?;
        check_content(&content)?;
        self.rewrite(number, now, Some(content))
    }

    /// Writes the item again without changing it, as Outlook does when the owner saves an
    /// unchanged item: a new change key, and an update for sync clients.
    pub fn touch(&mut self, number: u64, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.rewrite(number, now, None)
    }

    fn rewrite(
        &mut self,
        number: u64,
        now: DateTime<Utc>,
        content: Option<ItemContent>,
    ) -> Result<u64, StoreError> {
        let change = self.next_seq();
        let item = self.items.get_mut(&number).ok_or(StoreError::NotFound)?;
        let (folder, old) = (item.folder, item.change);
        item.change = change;
        item.modified = now;
        if let Some(content) = content {
            item.size = content.size();
            item.content = content;
        }
        let log = self.folder_mut(folder);
        log.entries.remove(&old);
        log.entries.insert(change, Entry::Live(number));
        Ok(change)
    }

    /// Moves an item to another folder. Like Exchange, the moved item gets a new number.
    pub fn move_to(
        &mut self,
        number: u64,
        folder: FolderKind,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let item = self.items.get(&number).ok_or(StoreError::NotFound)?;
        if !folder.accepts(&item.content.data) {
            return Err(StoreError::WrongFolder {
                kind: item.content.data.kind(),
                folder: folder.display_name(),
            });
        }
        let content = item.content.clone();
        let created = item.created;
        self.remove(number)?;
        let new = self.create(folder, content, now)?;
        if let Some(item) = self.items.get_mut(&new) {
            item.created = created;
        }
        Ok(new)
    }

    /// Deletes an item for good.
    pub fn remove(&mut self, number: u64) -> Result<(), StoreError> {
        let item = self.items.remove(&number).ok_or(StoreError::NotFound)?;
        let change = self.next_seq();
        let log = self.folder_mut(item.folder);
        log.entries.remove(&item.change);
        log.entries.insert(change, Entry::Gone(number));
        log.live -= 1;
        Ok(())
    }

    /// The items in a folder, in creation order.
    pub fn items_in(&self, folder: FolderKind) -> Vec<&StoredItem> {
        let mut items: Vec<&StoredItem> =
            self.items.values().filter(|i| i.folder == folder).collect();
        items.sort_by_key(|i| i.number);
        items
    }

    /// How many items a folder holds.
    pub fn count(&self, folder: FolderKind) -> usize {
        self.folders.get(&folder).map_or(0, |log| log.live)
    }

    /// The folder's current cursor generation.
    pub fn generation(&self, folder: FolderKind) -> u32 {
        self.folders.get(&folder).map_or(0, |log| log.generation)
    }

    /// Up to `max` changes after `cursor` (from the beginning when `None`).
    pub fn sync(
        &self,
        folder: FolderKind,
        cursor: Option<&SyncCursor>,
        max: usize,
    ) -> Result<SyncBatch, CursorInvalid> {
        let Some(log) = self.folders.get(&folder) else {
            return Err(CursorInvalid);
        };
        let mut next = match cursor {
            Some(c) if c.generation != log.generation || c.watermark < log.horizon => {
                return Err(CursorInvalid);
            }
            Some(c) if c.watermark > self.seq => return Err(CursorInvalid),
            Some(c) => c.clone(),
            None => SyncCursor {
                generation: log.generation,
                ..SyncCursor::default()
            },
        };
        let mut changes = Vec::new();
        let mut more = false;
        for (&seq, &entry) in log.entries.range(next.watermark + 1..) {
            if changes.len() == max {
                more = true;
                break;
            }
            match entry {
                Entry::Live(n) if next.known.contains(n) => changes.push(SyncChange::Update(n)),
                Entry::Live(n) => {
                    next.known.insert(n);
                    changes.push(SyncChange::Create(n));
                }
                // Created and gone since the cursor: the client never needs to hear of it.
                Entry::Gone(n) => {
                    if next.known.remove(n) {
                        changes.push(SyncChange::Delete(n));
                    }
                }
            }
            next.watermark = seq;
        }
        if !more {
            // Nothing left for this folder: read to the mailbox's latest change.
            next.watermark = next.watermark.max(self.seq);
        }
        Ok(SyncBatch {
            changes,
            cursor: next,
            more,
        })
    }

    /// Declares every cursor of the folder invalid, as Exchange does after a mailbox move.
    pub fn invalidate_cursors(&mut self, folder: FolderKind) {
        self.folder_mut(folder).generation += 1;
    }

    /// Forgets the folder's tombstones; cursors made before now become invalid.
    pub fn purge_tombstones(&mut self, folder: FolderKind) {
        let seq = self.seq;
        let log = self.folder_mut(folder);
        log.entries.retain(|_, e| matches!(e, Entry::Live(_)));
        log.horizon = seq;
    }
}

fn check_content(content: &ItemContent) -> Result<(), StoreError> {
    if let ItemData::Event(event) = &content.data {
        if event.end < event.start {
            return Err(StoreError::Invalid(
                "the event ends before it starts".to_owned(),
            ));
        }
        if let Some(recurrence) = &event.recurrence {
            recurrence
                .validate()
                .map_err(|e| StoreError::Invalid(e.0))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::item::Contact;

    fn contact(name: &str) -> ItemContent {
        ItemContent::contact(Contact {
            display_name: Some(name.into()),
            ..Contact::default()
        })
    }

    fn rename(name: &str) -> impl FnOnce(&mut ItemContent) -> Result<(), String> + '_ {
        move |c| {
            if let ItemData::Contact(c) = &mut c.data {
                c.display_name = Some(name.into());
            }
            Ok(())
        }
    }

    fn sync_all(mb: &Mailbox, cursor: Option<&SyncCursor>) -> (Vec<SyncChange>, SyncCursor) {
        let batch = mb.sync(FolderKind::Contacts, cursor, 512).unwrap();
        assert!(!batch.more);
        (batch.changes, batch.cursor)
    }

    #[test]
    fn changes_between_syncs_are_compacted() {
        let now = Utc::now();
        let mut mb = Mailbox::new("a@x.example", "A", 1);
        let a = mb.create(FolderKind::Contacts, contact("a"), now).unwrap();
        let b = mb.create(FolderKind::Contacts, contact("b"), now).unwrap();
        let gone = mb.create(FolderKind::Contacts, contact("e"), now).unwrap();
        let (first, cursor) = sync_all(&mb, None);
        assert_eq!(
            first,
            [
                SyncChange::Create(a),
                SyncChange::Create(b),
                SyncChange::Create(gone)
            ]
        );

        mb.update(a, None, now, rename("a2")).unwrap();
        mb.update(a, None, now, rename("a3")).unwrap();
        let c = mb.create(FolderKind::Contacts, contact("c"), now).unwrap();
        mb.update(c, None, now, rename("c2")).unwrap();
        let d = mb.create(FolderKind::Contacts, contact("d"), now).unwrap();
        mb.remove(d).unwrap();
        mb.remove(b).unwrap();
        // Updated, then deleted: the client, which has it, hears only of the delete.
        mb.update(gone, None, now, rename("e2")).unwrap();
        mb.remove(gone).unwrap();
        let (second, cursor) = sync_all(&mb, Some(&cursor));
        assert_eq!(
            second,
            [
                SyncChange::Update(a),
                SyncChange::Create(c),
                SyncChange::Delete(b),
                SyncChange::Delete(gone)
            ]
        );
        assert!(sync_all(&mb, Some(&cursor)).0.is_empty());
    }

    #[test]
    fn paging_never_reports_an_update_for_an_item_the_client_lacks() {
        let now = Utc::now();
        let mut mb = Mailbox::new("a@x.example", "A", 1);
        let ids: Vec<u64> = (0..5)
            .map(|i| {
                mb.create(FolderKind::Contacts, contact(&i.to_string()), now)
                    .unwrap()
            })
            .collect();
        let page = mb.sync(FolderKind::Contacts, None, 2).unwrap();
        assert!(page.more);
        // Edited after the first page was read: it must still arrive as a create.
        mb.update(ids[0], None, now, rename("x")).unwrap();
        mb.update(ids[4], None, now, rename("y")).unwrap();
        let mut cursor = page.cursor;
        let mut creates = page.changes.len();
        loop {
            let page = mb.sync(FolderKind::Contacts, Some(&cursor), 2).unwrap();
            for change in &page.changes {
                match change {
                    SyncChange::Create(_) => creates += 1,
                    SyncChange::Update(n) => assert_eq!(*n, ids[0]),
                    SyncChange::Delete(_) => panic!("nothing was deleted"),
                }
            }
            cursor = page.cursor;
            if !page.more {
                break;
            }
        }
        assert_eq!(creates, 5);
    }

    #[test]
    fn stale_change_numbers_conflict_and_moves_renumber() {
        let now = Utc::now();
        let mut mb = Mailbox::new("a@x.example", "A", 1);
        let a = mb.create(FolderKind::Contacts, contact("a"), now).unwrap();
        let first = mb.get(a).unwrap().change;
        let second = mb.update(a, Some(first), now, rename("b")).unwrap();
        assert_eq!(
            mb.update(a, Some(first), now, rename("c")),
            Err(StoreError::Conflict)
        );
        assert!(mb.touch(a, now).unwrap() > second);
        let moved = mb.move_to(a, FolderKind::DeletedItems, now).unwrap();
        assert_ne!(moved, a);
        assert!(mb.get(a).is_none());
        assert_eq!(mb.count(FolderKind::Contacts), 0);
        assert_eq!(mb.count(FolderKind::DeletedItems), 1);
        assert!(matches!(
            mb.move_to(moved, FolderKind::Calendar, now),
            Err(StoreError::WrongFolder { .. })
        ));
    }

    #[test]
    fn invalidated_or_purged_cursors_are_refused() {
        let now = Utc::now();
        let mut mb = Mailbox::new("a@x.example", "A", 1);
        mb.create(FolderKind::Contacts, contact("a"), now).unwrap();
        let (_, cursor) = sync_all(&mb, None);
        mb.invalidate_cursors(FolderKind::Contacts);
        assert_eq!(
            mb.sync(FolderKind::Contacts, Some(&cursor), 10),
            Err(CursorInvalid)
        );
        let (_, cursor) = sync_all(&mb, None);
        mb.create(FolderKind::Contacts, contact("b"), now).unwrap();
        mb.purge_tombstones(FolderKind::Contacts);
        assert_eq!(
            mb.sync(FolderKind::Contacts, Some(&cursor), 10),
            Err(CursorInvalid)
        );
    }
}
