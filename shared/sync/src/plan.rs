//! Planning: from the saved state and both sides' versions of an item, the actions that
//! bring them together. Pure functions, so every rule is table-tested and a dry run can
//! print what a sync would do.

use std::fmt;

use mailbridge_mailbox::{
    BackendError, FieldConflict, ItemData, ItemRef, RemoteItem, changed_fields, merge2, merge3,
};
use mailbridge_store::{CrmRecord, Link, Version};
use sha2::{Digest, Sha256};

use crate::matching::{MatchIndex, MatchOutcome, MatchedBy};

/// What the CRM side holds for a record, as the planner needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct CrmSide {
    /// The record's id.
    pub crm_id: String,
    /// Its current version.
    pub version: Version,
    /// Its content; `None` when deleted in the CRM.
    pub data: Option<ItemData>,
}

impl CrmSide {
    /// Reads a stored record; `None` data for tombstones and undecodable content.
    pub fn from_record(record: &CrmRecord, parse: impl Fn(&str) -> Option<ItemData>) -> CrmSide {
        CrmSide {
            crm_id: record.crm_id.clone(),
            version: record.version,
            data: record.data.as_deref().and_then(parse),
        }
    }
}

/// One thing the sync will do.
// A merge carries both versions of an item; actions live a page at a time, so the size
// difference costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Nothing changed in substance (our own write coming back, or a save without edits):
    /// only the link's change key moves.
    Refresh {
        /// The record.
        crm_id: String,
        /// The item at its new change key.
        item: ItemRef,
    },
    /// A new mailbox item becomes a new CRM record.
    CrmCreate {
        /// The new record's id.
        crm_id: String,
        /// The item.
        item: ItemRef,
        /// Its content.
        data: ItemData,
        /// Why it was not matched, when matching ran and found several candidates.
        ambiguous: Option<usize>,
    },
    /// A mailbox change is applied to the CRM record.
    CrmUpdate {
        /// The record.
        crm_id: String,
        /// The version read.
        expected: Version,
        /// The item.
        item: ItemRef,
        /// The new content.
        data: ItemData,
    },
    /// The item was deleted in the mailbox and the CRM record had not changed: delete it.
    CrmDelete {
        /// The record.
        crm_id: String,
        /// The version read.
        expected: Version,
    },
    /// Both sides changed (or first met): the merged content goes where it differs.
    Merge {
        /// The record.
        crm_id: String,
        /// The record version read (`None`: the record is new to the CRM side).
        expected: Option<Version>,
        /// The item as read.
        item: RemoteItem,
        /// The merge result both sides get.
        merged: ItemData,
        /// Fields where one side's value lost.
        conflicts: Vec<FieldConflict>,
        /// How the two were paired, when this is a first match.
        matched_by: Option<MatchedBy>,
        /// The record was deleted in the CRM and the mailbox's edit brings it back (an edit
        /// wins over a delete); the conflict goes to the audit trail.
        revived: bool,
    },
    /// The item was deleted in the mailbox while the CRM edited the record: the edit wins,
    /// the link goes, and the push recreates the item.
    KeepEdited {
        /// The record.
        crm_id: String,
    },
    /// Two mailbox items carry one record's stamp (a create sent by a runner that had lost
    /// its lease, after another runner made the item): the twin goes to Deleted Items.
    RemoveTwin {
        /// The record both carry.
        crm_id: String,
        /// The item removed.
        item: ItemRef,
        /// The item kept.
        kept: String,
    },
    /// The mailbox deleted an item mailbridge no longer tracks, or one it deleted itself.
    Ignore {
        /// The item id.
        id: String,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Refresh { crm_id, .. } => write!(f, "unchanged      {crm_id}"),
            Action::CrmCreate {
                crm_id, ambiguous, ..
            } => match ambiguous {
                Some(n) => write!(f, "crm create     {crm_id} (ambiguous: {n} candidates)"),
                None => write!(f, "crm create     {crm_id}"),
            },
            Action::CrmUpdate { crm_id, .. } => write!(f, "crm update     {crm_id}"),
            Action::CrmDelete { crm_id, .. } => write!(f, "crm delete     {crm_id}"),
            Action::Merge {
                crm_id,
                conflicts,
                matched_by,
                revived,
                ..
            } => {
                match matched_by {
                    _ if *revived => write!(
                        f,
                        "revive         {crm_id} (deleted in CRM, edited in mailbox)"
                    )?,
                    Some(by) => write!(f, "match ({by:?})  {crm_id}")?,
                    None => write!(f, "merge          {crm_id}")?,
                }
                for c in conflicts {
                    write!(f, " [conflict on {}: CRM value kept]", c.field)?;
                }
                Ok(())
            }
            Action::KeepEdited { crm_id } => {
                write!(
                    f,
                    "keep edit      {crm_id} (deleted in mailbox, edited in CRM)"
                )
            }
            Action::RemoveTwin { crm_id, item, kept } => {
                write!(f, "remove twin    {crm_id} ({} duplicates {kept})", item.id)
            }
            Action::Ignore { id } => write!(f, "ignore         {id}"),
        }
    }
}

/// Plans a mailbox item that carries the stamp of a record linked to another item the
/// mailbox still holds (`linked_id`). A runner that lost its lease may still send the create
/// it was about to send: while the newcomer holds what was last synced, or what the record
/// holds now, it is such a twin and goes to Deleted Items. Otherwise it is an item of its
/// own (an owner's edited copy, which Outlook stamps as the original): it becomes a new
/// record and nothing is deleted, so no edit on either side is lost.
// LIMIT: a late create whose record the CRM edited twice meanwhile matches neither and becomes a second record; it cannot be told from an owner's edited copy.
pub fn plan_twin(
    newcomer: RemoteItem,
    link: &Link,
    record: Option<&ItemData>,
    linked_id: &str,
) -> Action {
    let hash = newcomer.data.content_hash();
    if hash == link.content_hash || record.is_some_and(|r| r.content_hash() == hash) {
        return Action::RemoveTwin {
            crm_id: link.crm_id.clone(),
            item: newcomer.item,
            kept: linked_id.to_owned(),
        };
    }
    Action::CrmCreate {
        crm_id: crm_id_for_item(&newcomer.item.id),
        item: newcomer.item,
        data: newcomer.data,
        ambiguous: None,
    }
}

/// The CRM id given to a record that starts life in the mailbox: derived from the item id,
/// so a page replayed after a crash names the same record instead of making a twin.
pub fn crm_id_for_item(item_id: &str) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(item_id.as_bytes());
    digest
        .iter()
        .take(12)
        .fold(String::from("mbx-"), |mut id, b| {
            let _ = write!(id, "{b:02x}");
            id
        })
}

/// Plans a changed or new mailbox item.
///
/// `link` is the item's link (by item id, or by its CRM stamp); `crm` the linked or stamped
/// record; `matching` is present while the folder is being enumerated from scratch.
pub fn plan_upsert(
    remote: RemoteItem,
    link: Option<&Link>,
    crm: Option<&CrmSide>,
    matching: Option<&mut MatchIndex>,
    find_record: impl Fn(&str) -> Option<CrmSide>,
) -> Action {
    let hash = remote.data.content_hash();
    if let Some(link) = link {
        let crm_id = link.crm_id.clone();
        let Some(crm_data) = crm.and_then(|c| c.data.as_ref()) else {
            // Deleted in the CRM. An unchanged item lets the delete stand (the push removes
            // it); a mailbox edit wins over the delete and brings the record back.
            if hash == link.content_hash {
                return Action::Refresh {
                    crm_id,
                    item: remote.item,
                };
            }
            return Action::Merge {
                crm_id,
                expected: crm.map(|c| c.version),
                merged: remote.data.stored(),
                item: remote,
                conflicts: Vec::new(),
                matched_by: None,
                revived: true,
            };
        };
        let version = crm.map_or(0, |c| c.version);
        if hash == link.content_hash {
            return Action::Refresh {
                crm_id,
                item: remote.item,
            };
        }
        if version == link.crm_version {
            return Action::CrmUpdate {
                crm_id,
                expected: version,
                item: remote.item,
                data: remote.data,
            };
        }
        let base = link
            .base
            .as_deref()
            .and_then(|b| parse_like(&remote.data, b));
        let merged = match base {
            Some(base) => merge3(&base, crm_data, &remote.data),
            None => merge2(crm_data, &remote.data),
        };
        return Action::Merge {
            crm_id,
            expected: Some(version),
            item: remote,
            merged: merged.data,
            conflicts: merged.conflicts,
            matched_by: None,
            revived: false,
        };
    }
    plan_unlinked(remote, matching, find_record)
}

/// Plans a mailbox item no link knows.
fn plan_unlinked(
    remote: RemoteItem,
    matching: Option<&mut MatchIndex>,
    find_record: impl Fn(&str) -> Option<CrmSide>,
) -> Action {
    // Our own stamp first: a create whose commit was lost, or a folder being enumerated
    // again.
    if let Some(stamp) = remote.crm_id.clone() {
        if let Some(matching) = matching {
            matching.take(&stamp);
        }
        return match find_record(&stamp) {
            Some(CrmSide {
                data: Some(data),
                version,
                ..
            }) => first_meeting(stamp, Some(version), &data, remote, MatchedBy::Stamp),
            Some(CrmSide { version, .. }) => Action::Merge {
                // The record was deleted in the CRM but the item lives on (edited after
                // the delete was planned): the item wins, as edits win over deletes.
                crm_id: stamp,
                expected: Some(version),
                merged: remote.data.stored(),
                item: remote,
                conflicts: Vec::new(),
                matched_by: Some(MatchedBy::Stamp),
                revived: true,
            },
            None => Action::CrmCreate {
                crm_id: stamp,
                item: remote.item,
                data: remote.data,
                ambiguous: None,
            },
        };
    }
    let derived = crm_id_for_item(&remote.item.id);
    match find_record(&derived) {
        // A replayed page: the record was made from this very item.
        Some(CrmSide {
            data: Some(data),
            version,
            ..
        }) => return first_meeting(derived, Some(version), &data, remote, MatchedBy::Stamp),
        // Made from this item, deleted in the CRM, and the item changed since: the edit
        // wins over the delete.
        Some(CrmSide { version, .. }) => {
            return Action::Merge {
                crm_id: derived,
                expected: Some(version),
                merged: remote.data.stored(),
                item: remote,
                conflicts: Vec::new(),
                matched_by: None,
                revived: true,
            };
        }
        None => {}
    }
    let mut ambiguous = None;
    if let Some(matching) = matching {
        match matching.find(&remote.data) {
            MatchOutcome::Matched(crm_id, by) => {
                if let Some(CrmSide {
                    data: Some(data),
                    version,
                    ..
                }) = find_record(&crm_id)
                {
                    return first_meeting(crm_id, Some(version), &data, remote, by);
                }
            }
            MatchOutcome::Ambiguous(n) => ambiguous = Some(n),
            MatchOutcome::None => {}
        }
    }
    Action::CrmCreate {
        crm_id: derived,
        item: remote.item,
        data: remote.data,
        ambiguous,
    }
}

/// A record and an item meet without a common base.
fn first_meeting(
    crm_id: String,
    expected: Option<Version>,
    crm: &ItemData,
    remote: RemoteItem,
    by: MatchedBy,
) -> Action {
    let merged = merge2(crm, &remote.data);
    Action::Merge {
        crm_id,
        expected,
        item: remote,
        merged: merged.data,
        conflicts: merged.conflicts,
        matched_by: Some(by),
        revived: false,
    }
}

/// Plans an item deleted in the mailbox.
pub fn plan_delete(id: &str, link: Option<&Link>, crm: Option<&CrmSide>) -> Action {
    let Some(link) = link else {
        return Action::Ignore { id: id.to_owned() };
    };
    match crm {
        Some(c) if c.data.is_some() && c.version != link.crm_version => Action::KeepEdited {
            crm_id: link.crm_id.clone(),
        },
        Some(c) if c.data.is_some() => Action::CrmDelete {
            crm_id: link.crm_id.clone(),
            expected: c.version,
        },
        // Already deleted in the CRM (the push deleted the item, or is about to).
        _ => Action::Ignore { id: id.to_owned() },
    }
}

/// Reads a stored base as the same kind as `like`.
pub(crate) fn parse_like(like: &ItemData, json: &str) -> Option<ItemData> {
    match like {
        ItemData::Contact(_) => ItemData::contact_from_json(json).ok(),
        ItemData::Event(_) => ItemData::event_from_json(json).ok(),
    }
}

/// The mass-delete brake's rule for one whole pull: `deletes` is how many CRM records it
/// would delete, `gone` how many linked items it saw leave the mailbox (those deletes,
/// plus items whose record the CRM edited or deleted meanwhile), and `linked` how many
/// items the folder had linked when it began.
///
/// It brakes when more than `percent` % of the linked items would be deleted, once at
/// least `min` would; and whenever the folder reads empty (every linked item gone),
/// however few there were: a folder that suddenly reads empty is more often a fault (a
/// broken enumeration, a wrong folder, a script run amok) than an owner's wish, and
/// stopping costs only a person's look. `min == usize::MAX` turns the brake off.
pub fn brakes(deletes: usize, gone: usize, linked: usize, percent: usize, min: usize) -> bool {
    if min == usize::MAX {
        return false;
    }
    let reads_empty = linked > 0 && gone >= linked;
    let too_many = deletes >= min && deletes.saturating_mul(100) > percent.saturating_mul(linked);
    reads_empty || too_many
}

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
