//! `CreateItem`: contacts, calendar items (sending invitations when asked) and messages
//! (saved, sent, or sent with a copy in Sent Items).

use super::{Ctx, required, wrapped_folder};
use crate::ews::ids;
use crate::ews::item_in::read_item;
use crate::ews::soap::{self, Fault, MsgError};
use crate::ews::xml::{Node, Ns, XmlOut};
use crate::model::directory::is_smtp_address;
use crate::model::{FolderKind, ItemContent, ItemData, Message, Person, StoreError};
use crate::world::Delivery;

const OP: &str = "CreateItem";

/// The largest message Exchange Online sends by default (its `MaxSendSize`).
pub const MAX_MESSAGE_BYTES: usize = 35 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disposition {
    SaveOnly,
    SendOnly,
    SendAndSaveCopy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Invitations {
    None,
    Send,
}

pub(crate) fn run(body: &Node, ctx: &mut Ctx<'_>) -> Result<String, Fault> {
    let disposition = match body.attr("MessageDisposition") {
        None => None,
        Some("SaveOnly") => Some(Disposition::SaveOnly),
        Some("SendOnly") => Some(Disposition::SendOnly),
        Some("SendAndSaveCopy") => Some(Disposition::SendAndSaveCopy),
        Some(other) => {
            return Err(Fault::schema(format!(
                "MessageDisposition {other:?} is not valid"
            )));
        }
    };
    let invitations = match body.attr("SendMeetingInvitations") {
        None => None,
        Some("SendToNone") => Some(Invitations::None),
        Some("SendOnlyToAll" | "SendToAllAndSaveCopy") => Some(Invitations::Send),
        Some(other) => {
            return Err(Fault::schema(format!(
                "SendMeetingInvitations {other:?} is not valid"
            )));
        }
    };
    let items = required(body, Ns::Messages, "Items")?;
    if items.children.is_empty() {
        return Err(Fault::schema("Items is empty"));
    }
    let saved_in = body.child(Ns::Messages, "SavedItemFolderId");
    let mut results = Vec::with_capacity(items.children.len());
    for node in &items.children {
        let read = read_item(node, false)?;
        let folder = match saved_in.map(|f| wrapped_folder(f, ctx)).transpose() {
            Ok(folder) => folder,
            Err(err) => {
                results.push(Err(err));
                continue;
            }
        };
        results.push(create_one(
            ctx,
            read.content,
            folder,
            disposition,
            invitations,
        ));
    }
    Ok(soap::envelope(|w| {
        soap::open_response(w, OP);
        for result in &results {
            match result {
                Ok(created) => {
                    soap::open_ok(w, OP);
                    w.open("m:Items", &[]);
                    if let Some((element, id, change)) = created {
                        write_id(w, element, id, change);
                    }
                    w.close("m:Items");
                    soap::close_message(w, OP);
                }
                Err(err) => soap::error_message(w, OP, err),
            }
        }
        soap::close_response(w, OP);
    }))
}

fn write_id(w: &mut XmlOut, element: &str, id: &str, change: &str) {
    w.open(element, &[]);
    w.empty("t:ItemId", &[("Id", id), ("ChangeKey", change)]);
    w.close(element);
}

type Created = Option<(&'static str, String, String)>;

fn create_one(
    ctx: &mut Ctx<'_>,
    mut content: ItemContent,
    folder: Option<FolderKind>,
    disposition: Option<Disposition>,
    invitations: Option<Invitations>,
) -> Result<Created, MsgError> {
    let owner = Person {
        name: Some(ctx.store.display_name().to_owned()).filter(|n| !n.is_empty()),
        address: ctx.store.address().to_owned(),
    };
    let (element, default_folder) = match &mut content.data {
        ItemData::Contact(_) => {
            if folder.is_some_and(|f| f != FolderKind::Contacts) {
                return Err(MsgError::new(
                    "ErrorCannotCreateContactInNonContactFolder",
                    "Contacts can only be created in a contacts folder.",
                ));
            }
            ("t:Contact", FolderKind::Contacts)
        }
        ItemData::Event(event) => {
            let Some(invitations) = invitations else {
                return Err(MsgError::new(
                    "ErrorSendMeetingInvitationsRequired",
                    "SendMeetingInvitations is required for calendar items.",
                ));
            };
            if folder.is_some_and(|f| f != FolderKind::Calendar) {
                return Err(MsgError::new(
                    "ErrorCannotCreateCalendarItemInNonCalendarFolder",
                    "Calendar items can only be created in a calendar folder.",
                ));
            }
            if event.end < event.start {
                return Err(MsgError::new(
                    "ErrorCalendarEndDateIsEarlierThanStartDate",
                    "EndDate is earlier than StartDate.",
                ));
            }
            if event.attendees().next().is_some() {
                event.is_meeting = true;
                event.organizer = Some(owner.clone());
            }
            if invitations == Invitations::Send && event.is_meeting {
                let invite = invitation(event, "meeting_request");
                deliver(ctx, &owner, invite, &content.common, "meeting_request");
            }
            ("t:CalendarItem", FolderKind::Calendar)
        }
        ItemData::Message(message) => {
            let Some(disposition) = disposition else {
                return Err(MsgError::new(
                    "ErrorMessageDispositionRequired",
                    "MessageDisposition is required for messages.",
                ));
            };
            if disposition != Disposition::SaveOnly {
                check_sendable(message, &content.common)?;
                message.from = Some(owner.clone());
                message.sent = Some(ctx.now);
                message.is_read = true;
                let domain = owner.address.rsplit('@').next().unwrap_or("example.com");
                message.internet_message_id = format!("<{}@{domain}>", crate::idp::new_guid());
                let copy = message.clone();
                deliver(ctx, &owner, copy, &content.common, "message");
                if disposition == Disposition::SendOnly {
                    return Ok(None);
                }
            }
            let default = if disposition == Disposition::SaveOnly {
                FolderKind::Drafts
            } else {
                FolderKind::SentItems
            };
            if folder.is_some_and(|f| matches!(f, FolderKind::Contacts | FolderKind::Calendar)) {
                return Err(MsgError::new(
                    "ErrorInvalidSendItemSaveSettings",
                    "A message cannot be saved in a contacts or calendar folder.",
                ));
            }
            let saved = store(ctx, folder.unwrap_or(default), content)?;
            // Exchange returns no id for a sent message, even when it saved a copy.
            return Ok((disposition == Disposition::SaveOnly).then_some(saved));
        }
    };
    store(ctx, folder.unwrap_or(default_folder), content)
        .map(|(_, id, change)| Some((element, id, change)))
}

fn store(
    ctx: &mut Ctx<'_>,
    folder: FolderKind,
    content: ItemContent,
) -> Result<(&'static str, String, String), MsgError> {
    let element = match content.data {
        ItemData::Contact(_) => "t:Contact",
        ItemData::Event(_) => "t:CalendarItem",
        ItemData::Message(_) => "t:Message",
    };
    let number = ctx
        .store
        .create(folder, content, ctx.now)
        .map_err(|err| match err {
            StoreError::Invalid(text) => MsgError::new("ErrorCalendarInvalidRecurrence", text),
            other => MsgError::new("ErrorItemSave", other.to_string()),
        })?;
    let change = ctx.store.get(number).map_or(0, |i| i.change);
    Ok((
        element,
        ids::item_id(ctx.mailbox_number(), number),
        ids::change_key(change),
    ))
}

fn check_sendable(message: &Message, common: &crate::model::Common) -> Result<(), MsgError> {
    if message.recipients().next().is_none() {
        return Err(MsgError::new(
            "ErrorInvalidRecipients",
            "At least one recipient is required.",
        ));
    }
    if let Some(bad) = message.recipients().find(|p| !is_smtp_address(&p.address)) {
        return Err(MsgError::new(
            "ErrorInvalidRecipients",
            format!(
                "The recipient {:?} is not a valid SMTP address.",
                bad.address
            ),
        ));
    }
    let size = message
        .attachments
        .iter()
        .map(|a| a.content.len())
        .sum::<usize>()
        + common.body.as_ref().map_or(0, |b| b.content.len())
        + message.subject.as_ref().map_or(0, String::len);
    if size > MAX_MESSAGE_BYTES {
        return Err(MsgError::new(
            "ErrorMessageSizeExceeded",
            format!("The message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} bytes."),
        ));
    }
    Ok(())
}

/// The message an invitation, update or cancellation of `event` sends to its attendees.
pub(crate) fn invitation(event: &crate::model::Event, kind: &str) -> Message {
    let prefix = match kind {
        "meeting_cancellation" => "Canceled: ",
        "meeting_update" => "Updated: ",
        _ => "",
    };
    Message {
        subject: Some(format!(
            "{prefix}{}",
            event.subject.clone().unwrap_or_default()
        )),
        to: event.required.iter().map(|a| a.person.clone()).collect(),
        cc: event.optional.iter().map(|a| a.person.clone()).collect(),
        ..Message::default()
    }
}

/// Puts `message` in the outbox with the extended properties and body of `common` (the
/// sent item's, or the meeting's for an invitation).
pub(crate) fn deliver(
    ctx: &Ctx<'_>,
    owner: &Person,
    mut message: Message,
    common: &crate::model::Common,
    kind: &str,
) {
    message.from.get_or_insert_with(|| owner.clone());
    message.sent.get_or_insert(ctx.now);
    ctx.deliver(Delivery {
        mailbox: owner.address.clone(),
        kind: kind.to_owned(),
        message,
        body: common.body.clone(),
        extended: common.extended.clone(),
    });
}
