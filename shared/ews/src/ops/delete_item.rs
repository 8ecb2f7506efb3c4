//! `DeleteItem`: mailbridge only moves items to Deleted Items, so they stay recoverable.

use std::io::BufRead;

use super::Operation;
use super::get_item::check_batch;
use crate::error::EwsError;
use crate::soap::{MessageResult, read_response_messages};
use crate::types::ItemId;
use crate::xml::{XmlReader, XmlWriter};

/// How an item is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteType {
    /// Gone for good.
    HardDelete,
    /// To the dumpster.
    SoftDelete,
    /// To Deleted Items, recoverable by the owner.
    MoveToDeletedItems,
}

/// Whether deleting a meeting sends cancellations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMeetingCancellations {
    /// Send none.
    SendToNone,
    /// Send, keep no copy.
    SendOnlyToAll,
    /// Send and keep a copy.
    SendToAllAndSaveCopy,
}

/// Deletes items.
#[derive(Debug, Clone)]
pub struct DeleteItem {
    /// The items.
    pub ids: Vec<ItemId>,
    /// How.
    pub delete_type: DeleteType,
    /// For calendar items: whether attendees hear of it.
    pub send_meeting_cancellations: SendMeetingCancellations,
}

impl DeleteItem {
    /// Moves items to Deleted Items; meetings send cancellations to attendees.
    pub fn move_to_deleted_items(ids: Vec<ItemId>) -> DeleteItem {
        DeleteItem {
            ids,
            delete_type: DeleteType::MoveToDeletedItems,
            send_meeting_cancellations: SendMeetingCancellations::SendToAllAndSaveCopy,
        }
    }
}

impl Operation for DeleteItem {
    /// One result per id.
    type Response = Vec<MessageResult<()>>;
    const NAME: &'static str = "DeleteItem";

    fn write_body(&self, w: &mut XmlWriter) -> Result<(), EwsError> {
        check_batch("ItemIds", self.ids.len(), 100)?;
        let delete_type = match self.delete_type {
            DeleteType::HardDelete => "HardDelete",
            DeleteType::SoftDelete => "SoftDelete",
            DeleteType::MoveToDeletedItems => "MoveToDeletedItems",
        };
        let cancellations = match self.send_meeting_cancellations {
            SendMeetingCancellations::SendToNone => "SendToNone",
            SendMeetingCancellations::SendOnlyToAll => "SendOnlyToAll",
            SendMeetingCancellations::SendToAllAndSaveCopy => "SendToAllAndSaveCopy",
        };
        w.open(
            "m:DeleteItem",
            &[
                ("DeleteType", delete_type),
                ("SendMeetingCancellations", cancellations),
            ],
        );
        w.open("m:ItemIds", &[]);
        for id in &self.ids {
            id.write(w, "t:ItemId");
        }
        w.close("m:ItemIds");
        w.close("m:DeleteItem");
        Ok(())
    }

    fn read_response<R: BufRead>(r: &mut XmlReader<R>) -> Result<Self::Response, EwsError> {
        read_response_messages(r, |(): &mut (), _, _| Ok(false))
    }
}
