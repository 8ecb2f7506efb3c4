//! One module per EWS operation: its request, its response and its options side by side.

mod create_item;
mod delete_item;
mod find_item;
mod get_folder;
mod get_item;
mod sync_folder_items;
mod update_fields;
mod update_item;

use std::io::BufRead;

pub use create_item::{CreateItem, MessageDisposition, SendMeetingInvitations};
pub use delete_item::{DeleteItem, DeleteType, SendMeetingCancellations};
pub use find_item::{FindItem, FindItemPage, Restriction, View};
pub use get_folder::{FolderInfo, GetFolder};
pub use get_item::GetItem;
pub use sync_folder_items::{MAX_CHANGES_RETURNED, SyncChange, SyncFolderItems, SyncPage};
pub use update_fields::{CalendarUpdate, ContactUpdate, Updates};
pub use update_item::{ConflictResolution, ItemChange, SendInvitationsOrCancellations, UpdateItem};

use crate::error::EwsError;
use crate::soap::{MessageResult, read_envelope, read_response_messages, write_envelope};
use crate::types::{Item, ItemId};
use crate::xml::{Ns, XmlReader, XmlWriter};

/// An EWS operation: a request that knows its response type, so that the transport is
/// written once and "send X, get X's response" is checked by the compiler.
pub trait Operation {
    /// What a successful call returns.
    type Response;

    /// The operation's element name, such as `SyncFolderItems`.
    const NAME: &'static str;

    /// Whether sending it twice has the same effect as sending it once. Operations that
    /// create or send are not, and are never retried after they may have reached the server.
    const IDEMPOTENT: bool = true;

    /// Checks the request and writes its `<m:{NAME}>` element.
    fn write_body(&self, w: &mut XmlWriter) -> Result<(), EwsError>;

    /// Reads the response from inside `<m:{NAME}Response>`.
    fn read_response<R: BufRead>(r: &mut XmlReader<R>) -> Result<Self::Response, EwsError>;

    /// The whole request envelope, impersonating `mailbox`.
    fn to_envelope(&self, mailbox: &str) -> Result<String, EwsError> {
        write_envelope(mailbox, |w| self.write_body(w))
    }

    /// Parses a whole response envelope, as it streams from `source`.
    fn parse_envelope<R: BufRead>(source: R) -> Result<Self::Response, EwsError> {
        let mut r = XmlReader::new(source);
        let element = format!("{}Response", Self::NAME);
        read_envelope(&mut r, &element, |r| Self::read_response(r))
    }
}

/// Reads response messages that each hold the id (and new change key) of one item, as
/// `CreateItem` and `UpdateItem` return them.
pub(crate) fn read_item_id_messages<R: BufRead>(
    r: &mut XmlReader<R>,
) -> Result<Vec<MessageResult<Option<ItemId>>>, EwsError> {
    read_response_messages(r, |id: &mut Option<ItemId>, field, r| {
        if !field.is(Ns::Messages, "Items") {
            return Ok(false);
        }
        *id = Item::read_list(r)?
            .into_iter()
            .next()
            .and_then(|item| item.id().cloned());
        Ok(true)
    })
}
