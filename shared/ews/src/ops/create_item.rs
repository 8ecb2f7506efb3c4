//! `CreateItem`: contacts, calendar items (with invitations) and messages to send.

use std::io::BufRead;

use super::get_item::check_batch;
use super::{Operation, read_item_id_messages};
use crate::error::EwsError;
use crate::soap::MessageResult;
use crate::types::{DistinguishedFolder, FolderId, Item, ItemId, Message};
use crate::xml::{XmlReader, XmlWriter};

/// What happens to a created message (`MessageDisposition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageDisposition {
    /// Save as a draft.
    SaveOnly,
    /// Send without keeping a copy.
    SendOnly,
    /// Send and keep a copy in the saved-item folder (Sent Items).
    SendAndSaveCopy,
}

impl MessageDisposition {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MessageDisposition::SaveOnly => "SaveOnly",
            MessageDisposition::SendOnly => "SendOnly",
            MessageDisposition::SendAndSaveCopy => "SendAndSaveCopy",
        }
    }
}

/// Whether creating a meeting sends invitations (`SendMeetingInvitations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMeetingInvitations {
    /// Send none.
    SendToNone,
    /// Send, keep no copy.
    SendOnlyToAll,
    /// Send and keep a copy in Sent Items.
    SendToAllAndSaveCopy,
}

impl SendMeetingInvitations {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SendMeetingInvitations::SendToNone => "SendToNone",
            SendMeetingInvitations::SendOnlyToAll => "SendOnlyToAll",
            SendMeetingInvitations::SendToAllAndSaveCopy => "SendToAllAndSaveCopy",
        }
    }
}

/// Creates items in a folder, or sends a message.
#[derive(Debug, Clone)]
pub struct CreateItem {
    /// Where the items (or the sent copy) are saved.
    pub saved_item_folder: Option<FolderId>,
    /// The items: contacts, calendar items or messages.
    pub items: Vec<Item>,
    /// Required when the items are messages.
    pub message_disposition: Option<MessageDisposition>,
    /// Required when the items are calendar items.
    pub send_meeting_invitations: Option<SendMeetingInvitations>,
}

impl CreateItem {
    /// Creates items in a folder without sending anything.
    pub fn save_in(folder: impl Into<FolderId>, items: Vec<Item>) -> CreateItem {
        let calendar = items.iter().any(|i| matches!(i, Item::CalendarItem(_)));
        CreateItem {
            saved_item_folder: Some(folder.into()),
            items,
            message_disposition: None,
            send_meeting_invitations: calendar.then_some(SendMeetingInvitations::SendToNone),
        }
    }

    /// Sends a message from the impersonated mailbox and keeps a copy in Sent Items.
    pub fn send_and_save_copy(message: Message) -> CreateItem {
        CreateItem {
            saved_item_folder: Some(DistinguishedFolder::SentItems.into()),
            items: vec![Item::Message(Box::new(message))],
            message_disposition: Some(MessageDisposition::SendAndSaveCopy),
            send_meeting_invitations: None,
        }
    }
}

impl Operation for CreateItem {
    /// One result per item: the new item's id, or `None` when a sent message returns none.
    type Response = Vec<MessageResult<Option<ItemId>>>;
    const NAME: &'static str = "CreateItem";
    const IDEMPOTENT: bool = false;

    fn write_body(&self, w: &mut XmlWriter) -> Result<(), EwsError> {
        check_batch("Items", self.items.len(), 100)?;
        let has = |f: fn(&Item) -> bool| self.items.iter().any(f);
        if has(|i| matches!(i, Item::CalendarItem(_))) && self.send_meeting_invitations.is_none() {
            return Err(EwsError::invalid(
                "SendMeetingInvitations",
                "is required when creating calendar items",
            ));
        }
        if has(|i| matches!(i, Item::Message(_))) && self.message_disposition.is_none() {
            return Err(EwsError::invalid(
                "MessageDisposition",
                "is required when creating messages",
            ));
        }
        let mut attrs = Vec::new();
        if let Some(d) = self.message_disposition {
            attrs.push(("MessageDisposition", d.as_str()));
        }
        if let Some(s) = self.send_meeting_invitations {
            attrs.push(("SendMeetingInvitations", s.as_str()));
        }
        w.open("m:CreateItem", &attrs);
        if let Some(folder) = &self.saved_item_folder {
            w.open("m:SavedItemFolderId", &[]);
            folder.write(w);
            w.close("m:SavedItemFolderId");
        }
        w.open("m:Items", &[]);
        for item in &self.items {
            match item {
                Item::Contact(c) => c.write(w),
                Item::CalendarItem(c) => c.write(w),
                Item::Message(m) => {
                    if m.to.is_empty() && m.cc.is_empty() && m.bcc.is_empty() {
                        return Err(EwsError::invalid(
                            "ToRecipients",
                            "a message needs at least one recipient",
                        ));
                    }
                    m.write(w);
                }
                Item::Other { kind, .. } => {
                    return Err(EwsError::invalid(
                        "Items",
                        format!("cannot create items of kind {kind}"),
                    ));
                }
            }
        }
        w.close("m:Items");
        w.close("m:CreateItem");
        Ok(())
    }

    fn read_response<R: BufRead>(r: &mut XmlReader<R>) -> Result<Self::Response, EwsError> {
        read_item_id_messages(r)
    }
}
