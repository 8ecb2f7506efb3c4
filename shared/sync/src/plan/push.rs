//! Planning the push: what to do in the mailbox with each CRM change waiting in the
//! outbox, and with what the mailbox answers. Pure functions, like the pull's.

use std::fmt;

use mailbridge_mailbox::{
    BackendError, FieldConflict, ItemData, ItemRef, RemoteItem, changed_fields, merge3,
};
use mailbridge_store::{Link, Version};

use super::{CrmSide, parse_like};

/// What the push does with one CRM change waiting in the outbox.
// An update carries the record and its base; actions are made one outbox entry at a time.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum PushAction {
    /// Nothing to write: the record no longer exists at all, or the item holds it already
    /// at this version.
    Skip {
        /// The record.
        crm_id: String,
    },
    /// The item holds the record's content already; only the link learns its new version.
    RefreshVersion {
        /// The record.
        crm_id: String,
        /// The record's version.
        version: Version,
    },
    /// A new item, stamped with the CRM id. A stamped item found first (a create whose
    /// response was lost) is taken instead ([`plan_create`]).
    Create {
        /// The record.
        crm_id: String,
        /// The record's version.
        version: Version,
        /// Its content.
        data: ItemData,
    },
    /// The linked item gets the fields of `data` that differ from `old`, under the link's
    /// change key. Refused: see [`plan_refused_update`].
    Update {
        /// The record.
        crm_id: String,
        /// The record's version.
        version: Version,
        /// The linked item at the change key last seen.
        item: ItemRef,
        /// The content both sides last agreed on, if stored.
        base: Option<ItemData>,
        /// What the update compares against: the base, or without one an item with
        /// nothing set, so that every field is sent.
        old: ItemData,
        /// The record's content.
        data: ItemData,
    },
    /// The record was deleted: its item moves to Deleted Items.
    Delete {
        /// The record.
        crm_id: String,
        /// The linked item.
        item_id: String,
    },
    /// The record was deleted before it was ever linked; a create may still have reached
    /// the mailbox before its response was lost, so a stamped item is looked for and
    /// deleted.
    DeleteStamped {
        /// The record.
        crm_id: String,
    },
}

impl PushAction {
    /// The record this is about.
    pub fn crm_id(&self) -> &str {
        match self {
            PushAction::Skip { crm_id }
            | PushAction::RefreshVersion { crm_id, .. }
            | PushAction::Create { crm_id, .. }
            | PushAction::Update { crm_id, .. }
            | PushAction::Delete { crm_id, .. }
            | PushAction::DeleteStamped { crm_id } => crm_id,
        }
    }
}

impl fmt::Display for PushAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushAction::Skip { crm_id } | PushAction::RefreshVersion { crm_id, .. } => {
                write!(f, "unchanged      {crm_id} (in the mailbox already)")
            }
            PushAction::Create { crm_id, .. } => write!(f, "mailbox create {crm_id}"),
            PushAction::Update {
                crm_id, old, data, ..
            } => {
                let fields: Vec<String> = changed_fields(old, data).into_iter().collect();
                write!(f, "mailbox update {crm_id} ({})", fields.join(", "))
            }
            PushAction::Delete { crm_id, .. } => {
                write!(f, "mailbox delete {crm_id} (to Deleted Items)")
            }
            PushAction::DeleteStamped { crm_id } => write!(
                f,
                "mailbox delete {crm_id} (never linked: any item stamped with it)"
            ),
        }
    }
}

/// Plans the push of one outbox entry: `record` is the CRM's record as it is now (`None`:
/// it no longer exists at all; `data` `None`: deleted), `link` the record's link.
pub fn plan_push(crm_id: &str, record: Option<&CrmSide>, link: Option<&Link>) -> PushAction {
    let crm_id = crm_id.to_owned();
    let Some(record) = record else {
        return PushAction::Skip { crm_id };
    };
    let version = record.version;
    match (&record.data, link) {
        (Some(data), None) => PushAction::Create {
            crm_id,
            version,
            data: data.clone(),
        },
        (Some(data), Some(link)) if data.content_hash() == link.content_hash => {
            if version == link.crm_version {
                PushAction::Skip { crm_id }
            } else {
                PushAction::RefreshVersion { crm_id, version }
            }
        }
        (Some(data), Some(link)) => {
            let base = link.base.as_deref().and_then(|b| parse_like(data, b));
            PushAction::Update {
                crm_id,
                version,
                item: ItemRef {
                    id: link.item_id.clone(),
                    change_key: link.change_key.clone(),
                },
                old: base.clone().unwrap_or_else(|| empty_like(data)),
                base,
                data: data.clone(),
            }
        }
        (None, Some(link)) => PushAction::Delete {
            crm_id,
            item_id: link.item_id.clone(),
        },
        (None, None) => PushAction::DeleteStamped { crm_id },
    }
}

/// How a create goes once the mailbox was searched for an item stamped with the record.
// Made once per create and consumed at once.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum CreateStep {
    /// A retried create: the first one arrived and holds the record; take it.
    Adopt(ItemRef),
    /// A retried create whose first arrived with other content: update it to the record.
    Overwrite(RemoteItem),
    /// None there: create the item.
    Create,
}

/// Plans a create from the stamped item the mailbox holds, if any.
pub fn plan_create(found: Option<RemoteItem>, data: &ItemData) -> CreateStep {
    match found {
        Some(found) if found.data.content_hash() == data.content_hash() => {
            CreateStep::Adopt(found.item)
        }
        Some(found) => CreateStep::Overwrite(found),
        None => CreateStep::Create,
    }
}

/// What follows when the mailbox refused an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A stale change key: the owner changed the item. Read it again, merge
    /// ([`plan_push_merge`]), write once more.
    ReadAndMerge,
    /// The item is gone: deleted in the mailbox while the CRM edited the record. The edit
    /// wins (audited) and the item is made again.
    Recreate,
    /// Anything else fails the entry (or the run).
    Fail,
}

/// Plans the answer to a refused update.
pub fn plan_refused_update(err: &BackendError) -> Refused {
    match err {
        BackendError::Conflict => Refused::ReadAndMerge,
        BackendError::NotFound => Refused::Recreate,
        _ => Refused::Fail,
    }
}

/// The merge after a stale change key.
#[derive(Debug, Clone, PartialEq)]
pub struct PushMerge {
    /// What both sides get.
    pub merged: ItemData,
    /// Fields both changed; the CRM's value kept, each one audited.
    pub conflicts: Vec<FieldConflict>,
    /// Whether the record changes too (the owner's edits to other fields come back).
    pub crm_write: bool,
}

/// Merges the record (`crm`) with the item read again (`fresh`) from their last agreed
/// `base`; without one, nothing tells the owner's edits apart and the record is written
/// whole.
pub fn plan_push_merge(base: Option<&ItemData>, crm: &ItemData, fresh: &ItemData) -> PushMerge {
    let merged = merge3(base.unwrap_or(fresh), crm, fresh);
    PushMerge {
        crm_write: merged.data.content_hash() != crm.content_hash(),
        merged: merged.data,
        conflicts: merged.conflicts,
    }
}

/// An item of the same kind with nothing set, so that every field of `like` counts as
/// changed.
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
