//! Planning: from the saved state and both sides' versions of an item, the actions that
//! bring them together. Pure functions, so every rule is table-tested and a dry run can
//! print what a sync would do.

use std::fmt;

use mailbridge_mailbox::{FieldConflict, ItemData, ItemRef, RemoteItem, merge2, merge3};
use mailbridge_store::{CrmRecord, Link, Version};
use sha2::{Digest, Sha256};

use crate::matching::{MatchIndex, MatchOutcome, MatchedBy};

mod push;

pub use push::{
    CreateStep, PushAction, PushMerge, Refused, plan_create, plan_push, plan_push_merge,
    plan_refused_update,
};

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
