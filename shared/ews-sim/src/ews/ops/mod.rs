//! One module per EWS operation, each reading its request element and writing its response
//! against one mailbox.

mod create_item;
mod delete_item;
mod find_item;
mod get_folder;
mod get_item;
mod sync_folder_items;
mod update_item;

use chrono::{DateTime, Utc};

use super::ids::{self, ItemRef};
use super::soap::{Fault, MsgError};
use super::xml::{Node, Ns};
use crate::faults::Fault as Injected;
use crate::model::recurrence::{Entry, EntryKind, expand, pattern_starts};
use crate::model::{Event, FolderKind, ItemData, Mailbox};
use crate::world::{Delivery, World};

/// The operations the simulator serves.
pub const OPERATIONS: [&str; 7] = [
    "SyncFolderItems",
    "GetItem",
    "FindItem",
    "GetFolder",
    "CreateItem",
    "UpdateItem",
    "DeleteItem",
];

/// What an operation works with.
pub(crate) struct Ctx<'a> {
    pub world: &'a World,
    pub store: &'a mut Mailbox,
    pub now: DateTime<Utc>,
    /// An injected fault that this operation acts out itself.
    pub fault: Option<Injected>,
}

impl Ctx<'_> {
    pub fn mailbox_number(&self) -> u32 {
        self.store.number()
    }

    /// Records a message leaving the mailbox.
    pub fn deliver(&self, delivery: Delivery) {
        self.world.deliver(delivery);
    }
}

/// Runs one operation; returns the whole response envelope.
pub(crate) fn run(body: &Node, ctx: &mut Ctx<'_>) -> Result<String, Fault> {
    match body.name.as_str() {
        "SyncFolderItems" => sync_folder_items::run(body, ctx),
        "GetItem" => get_item::run(body, ctx),
        "FindItem" => find_item::run(body, ctx),
        "GetFolder" => get_folder::run(body, ctx),
        "CreateItem" => create_item::run(body, ctx),
        "UpdateItem" => update_item::run(body, ctx),
        "DeleteItem" => delete_item::run(body, ctx),
        other => Err(Fault::new(
            "ErrorInvalidRequest",
            format!(
                "The simulator does not implement the operation {other}; it serves {}.",
                OPERATIONS.join(", ")
            ),
        )),
    }
}

/// A required child element.
pub(crate) fn required<'a>(node: &'a Node, ns: Ns, name: &str) -> Result<&'a Node, Fault> {
    node.child(ns, name)
        .ok_or_else(|| Fault::schema(format!("{} lacks the required element {name}", node.name)))
}

/// The distinguished folder names Exchange knows, beyond the ones simulated.
const OTHER_DISTINGUISHED: [&str; 12] = [
    "root",
    "msgfolderroot",
    "outbox",
    "junkemail",
    "tasks",
    "notes",
    "journal",
    "searchfolders",
    "voicemail",
    "recoverableitemsroot",
    "recoverableitemsdeletions",
    "archivemsgfolderroot",
];

/// Resolves a `FolderId` or `DistinguishedFolderId` element to a folder of this mailbox.
pub(crate) fn folder_of(node: &Node, ctx: &Ctx<'_>) -> Result<FolderKind, MsgError> {
    let not_found = || {
        MsgError::new(
            "ErrorFolderNotFound",
            "The specified folder could not be found in the store.",
        )
    };
    match node.name.as_str() {
        "DistinguishedFolderId" => {
            let id = node.attr("Id").unwrap_or_default();
            if let Some(mailbox) = node.child(Ns::Types, "Mailbox")
                && let Some(address) = mailbox.child(Ns::Types, "EmailAddress")
                && !address.value().eq_ignore_ascii_case(ctx.store.address())
            {
                return Err(MsgError::new(
                    "ErrorAccessDenied",
                    "Access is denied. Check credentials and try again.",
                ));
            }
            let folder = match id {
                "inbox" => FolderKind::Inbox,
                "drafts" => FolderKind::Drafts,
                "sentitems" => FolderKind::SentItems,
                "deleteditems" => FolderKind::DeletedItems,
                "contacts" => FolderKind::Contacts,
                "calendar" => FolderKind::Calendar,
                other if OTHER_DISTINGUISHED.contains(&other) => return Err(not_found()),
                other => {
                    return Err(Fault::schema(format!(
                        "DistinguishedFolderId {other:?} is not a distinguished folder name"
                    ))
                    .into());
                }
            };
            Ok(folder)
        }
        "FolderId" => {
            let id = node.attr("Id").unwrap_or_default();
            match ids::parse_folder_id(id) {
                Some((mailbox, folder)) if mailbox == ctx.mailbox_number() => Ok(folder),
                Some(_) => Err(not_found()),
                None => Err(MsgError::malformed_id()),
            }
        }
        other => Err(Fault::schema(format!("{other} is not a folder id")).into()),
    }
}

/// The folder named inside a wrapper such as `SyncFolderId` or `SavedItemFolderId`.
pub(crate) fn wrapped_folder(wrapper: &Node, ctx: &Ctx<'_>) -> Result<FolderKind, MsgError> {
    let inner = wrapper.children.first().ok_or_else(|| {
        MsgError::from(Fault::schema(format!("{} names no folder", wrapper.name)))
    })?;
    folder_of(inner, ctx)
}

/// An item id resolved against the mailbox, with the change key the client sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub item: ItemRef,
    pub change: Option<u64>,
}

impl Target {
    /// The stored item this names (a series, for an occurrence).
    pub fn number(&self) -> u64 {
        match self.item {
            ItemRef::Item { number, .. } => number,
            ItemRef::Occurrence { master, .. } => master,
        }
    }
}

/// Resolves an `ItemId`, `OccurrenceItemId` or `RecurringMasterItemId` element.
pub(crate) fn target_of(node: &Node, ctx: &Ctx<'_>) -> Result<Target, MsgError> {
    let store = &*ctx.store;
    let parse = |attr: &str| -> Result<ItemRef, MsgError> {
        let id = node.attr(attr).unwrap_or_default();
        if id.trim().is_empty() {
            return Err(MsgError::new(
                "ErrorInvalidIdEmpty",
                "Id must be non-empty.",
            ));
        }
        let item = ids::parse_item_id(id).ok_or_else(MsgError::malformed_id)?;
        if item.mailbox() != store.number() {
            return Err(MsgError::not_found());
        }
        Ok(item)
    };
    let item = match node.name.as_str() {
        "ItemId" => parse("Id")?,
        "RecurringMasterItemId" => match parse("OccurrenceId")? {
            ItemRef::Occurrence {
                mailbox, master, ..
            } => ItemRef::Item {
                mailbox,
                number: master,
            },
            item @ ItemRef::Item { .. } => item,
        },
        "OccurrenceItemId" => {
            let ItemRef::Item { mailbox, number } = parse("RecurringMasterId")? else {
                return Err(MsgError::new(
                    "ErrorCalendarCannotUseIdForOccurrenceId",
                    "The RecurringMasterId names an occurrence, not a series.",
                ));
            };
            let index: usize = node
                .attr("InstanceIndex")
                .and_then(|i| i.parse().ok())
                .filter(|i| *i >= 1)
                .ok_or_else(|| MsgError::from(Fault::schema("InstanceIndex must be 1 or more")))?;
            let event = series(store, number)?;
            let far = event.start + chrono::Duration::days(366 * 30);
            let start = pattern_starts(event, far)
                .get(index - 1)
                .copied()
                .ok_or_else(|| {
                    MsgError::new(
                        "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
                        "The occurrence index is out of the recurrence range.",
                    )
                })?;
            ItemRef::Occurrence {
                mailbox,
                master: number,
                original_start: start,
            }
        }
        other => return Err(Fault::schema(format!("{other} is not an item id")).into()),
    };
    let target = Target { item, change: None };
    let stored = store.get(target.number()).ok_or_else(MsgError::not_found)?;
    if let ItemRef::Occurrence { original_start, .. } = item {
        occurrence(stored_event(stored)?, original_start)?;
    }
    let change =
        match node.attr("ChangeKey") {
            None => None,
            Some(key) => Some(ids::parse_change_key(key).ok_or_else(|| {
                MsgError::new("ErrorInvalidChangeKey", "The change key is invalid.")
            })?),
        };
    Ok(Target { change, ..target })
}

fn stored_event(item: &crate::model::StoredItem) -> Result<&Event, MsgError> {
    match &item.content.data {
        ItemData::Event(e) if e.recurrence.is_some() => Ok(e),
        _ => Err(MsgError::new(
            "ErrorCalendarCannotUseIdForOccurrenceId",
            "The id names an item that is not a recurring series.",
        )),
    }
}

fn series(store: &Mailbox, number: u64) -> Result<&Event, MsgError> {
    stored_event(store.get(number).ok_or_else(MsgError::not_found)?)
}

/// The calendar-view entry of one occurrence of a series.
pub(crate) fn occurrence(event: &Event, original_start: DateTime<Utc>) -> Result<Entry, MsgError> {
    if event.deleted.contains(&original_start) {
        return Err(MsgError::new(
            "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
            "The occurrence has been deleted from the recurrence.",
        ));
    }
    let duration = event.end - event.start;
    let near = expand(
        event,
        original_start - chrono::Duration::days(366 * 10),
        original_start + chrono::Duration::days(366 * 10) + duration,
    );
    near.into_iter()
        .find(|e| e.original_start == Some(original_start) && e.kind != EntryKind::Single)
        .ok_or_else(MsgError::not_found)
}
