//! `UpdateItem`: changed fields only, guarded by the change key.

use std::io::BufRead;

use super::get_item::check_batch;
use super::update_fields::Updates;
use super::{Operation, read_item_id_messages};
use crate::error::EwsError;
use crate::soap::MessageResult;
use crate::types::ItemId;
use crate::xml::{XmlReader, XmlWriter};

/// What the server does when the item changed since the change key was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictResolution {
    /// Fail with `ErrorIrresolvableConflict`; the caller re-reads and merges.
    NeverOverwrite,
    /// Let the server merge where it can.
    AutoResolve,
    /// Overwrite whatever changed.
    AlwaysOverwrite,
}

/// Whether updating a meeting tells its attendees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendInvitationsOrCancellations {
    /// Tell no one.
    SendToNone,
    /// Tell everyone, keep no copy.
    SendOnlyToAll,
    /// Tell only those the change concerns, keep no copy.
    SendOnlyToChanged,
    /// Tell everyone and keep a copy.
    SendToAllAndSaveCopy,
    /// Tell those the change concerns and keep a copy.
    SendToChangedAndSaveCopy,
}

impl SendInvitationsOrCancellations {
    fn as_str(self) -> &'static str {
        match self {
            SendInvitationsOrCancellations::SendToNone => "SendToNone",
            SendInvitationsOrCancellations::SendOnlyToAll => "SendOnlyToAll",
            SendInvitationsOrCancellations::SendOnlyToChanged => "SendOnlyToChanged",
            SendInvitationsOrCancellations::SendToAllAndSaveCopy => "SendToAllAndSaveCopy",
            SendInvitationsOrCancellations::SendToChangedAndSaveCopy => "SendToChangedAndSaveCopy",
        }
    }
}

/// The changes to one item, at the version its change key names.
#[derive(Debug, Clone)]
pub struct ItemChange {
    /// The item and the change key its changes were computed against.
    pub id: ItemId,
    /// The changes.
    pub updates: Updates,
}

/// Updates items.
#[derive(Debug, Clone)]
pub struct UpdateItem {
    /// One change set per item.
    pub changes: Vec<ItemChange>,
    /// What to do about a stale change key.
    pub conflict_resolution: ConflictResolution,
    /// For calendar items: who hears of the change.
    pub send_invitations_or_cancellations: SendInvitationsOrCancellations,
}

impl UpdateItem {
    /// Updates guarded by change keys: a stale key fails instead of overwriting.
    pub fn guarded(changes: Vec<ItemChange>) -> UpdateItem {
        UpdateItem {
            changes,
            conflict_resolution: ConflictResolution::NeverOverwrite,
            send_invitations_or_cancellations:
                SendInvitationsOrCancellations::SendToChangedAndSaveCopy,
        }
    }
}

impl Operation for UpdateItem {
    /// One result per item: its id with the new change key.
    type Response = Vec<MessageResult<Option<ItemId>>>;
    const NAME: &'static str = "UpdateItem";

    fn write_body(&self, w: &mut XmlWriter) -> Result<(), EwsError> {
        check_batch("ItemChanges", self.changes.len(), 100)?;
        let conflict = match self.conflict_resolution {
            ConflictResolution::NeverOverwrite => "NeverOverwrite",
            ConflictResolution::AutoResolve => "AutoResolve",
            ConflictResolution::AlwaysOverwrite => "AlwaysOverwrite",
        };
        for change in &self.changes {
            if change.updates.is_empty() {
                return Err(EwsError::invalid(
                    "Updates",
                    format!("no changes for item {}", change.id.id),
                ));
            }
            if change.id.change_key.is_none()
                && self.conflict_resolution != ConflictResolution::AlwaysOverwrite
            {
                return Err(EwsError::invalid(
                    "ChangeKey",
                    "is required unless conflicts are overwritten",
                ));
            }
        }
        w.open(
            "m:UpdateItem",
            &[
                ("ConflictResolution", conflict),
                (
                    "SendMeetingInvitationsOrCancellations",
                    self.send_invitations_or_cancellations.as_str(),
                ),
            ],
        );
        w.open("m:ItemChanges", &[]);
        for change in &self.changes {
            w.open("t:ItemChange", &[]);
            change.id.write(w, "t:ItemId");
            w.open("t:Updates", &[]);
            change.updates.write(w);
            w.close("t:Updates");
            w.close("t:ItemChange");
        }
        w.close("m:ItemChanges");
        w.close("m:UpdateItem");
        Ok(())
    }

    fn read_response<R: BufRead>(r: &mut XmlReader<R>) -> Result<Self::Response, EwsError> {
        read_item_id_messages(r)
    }
}
