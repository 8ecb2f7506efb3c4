//! `DeleteItem`: hard deletes, soft deletes and moves to Deleted Items; deleting an
//! occurrence removes it from its series; deleting a meeting can send cancellations.

use super::create_item::{deliver, invitation};
use super::{Ctx, Target, required, target_of};
use crate::ews::ids::ItemRef;
use crate::ews::soap::{self, Fault, MsgError};
use crate::ews::xml::{Node, Ns};
use crate::model::{FolderKind, ItemData, Person};

const OP: &str = "DeleteItem";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disposal {
    Hard,
    Soft,
    MoveToDeletedItems,
}

pub(crate) fn run(body: &Node, ctx: &mut Ctx<'_>) -> Result<String, Fault> {
    let disposal = match body.attr("DeleteType") {
        Some("HardDelete") => Disposal::Hard,
        Some("SoftDelete") => Disposal::Soft,
        Some("MoveToDeletedItems") => Disposal::MoveToDeletedItems,
        other => return Err(Fault::schema(format!("DeleteType {other:?} is not valid"))),
    };
    let cancellations = match body.attr("SendMeetingCancellations") {
        None => None,
        Some("SendToNone") => Some(false),
        Some("SendOnlyToAll" | "SendToAllAndSaveCopy") => Some(true),
        Some(other) => {
            return Err(Fault::schema(format!(
                "SendMeetingCancellations {other:?} is not valid"
            )));
        }
    };
    let list = required(body, Ns::Messages, "ItemIds")?;
    if list.children.is_empty() {
        return Err(Fault::schema("ItemIds is empty"));
    }
    let mut results = Vec::with_capacity(list.children.len());
    for id in &list.children {
        let result = target_of(id, ctx).and_then(|t| delete_one(ctx, t, disposal, cancellations));
        results.push(result);
    }
    Ok(soap::envelope(|w| {
        soap::open_response(w, OP);
        for result in &results {
            match result {
                Ok(()) => {
                    soap::open_ok(w, OP);
                    soap::close_message(w, OP);
                }
                Err(err) => soap::error_message(w, OP, err),
            }
        }
        soap::close_response(w, OP);
    }))
}

fn delete_one(
    ctx: &mut Ctx<'_>,
    target: Target,
    disposal: Disposal,
    cancellations: Option<bool>,
) -> Result<(), MsgError> {
    let number = target.number();
    let item = ctx.store.get(number).ok_or_else(MsgError::not_found)?;
    let meeting = match &item.content.data {
        ItemData::Event(e) => Some(e.is_meeting),
        _ => None,
    };
    if meeting.is_some() && cancellations.is_none() {
        return Err(MsgError::new(
            "ErrorSendMeetingCancellationsRequired",
            "SendMeetingCancellations is required for calendar items.",
        ));
    }
    if meeting == Some(true)
        && cancellations == Some(true)
        && let ItemData::Event(event) = &item.content.data
    {
        let mut message = invitation(event, "meeting_cancellation");
        if let ItemRef::Occurrence { original_start, .. } = target.item {
            message.subject = message
                .subject
                .map(|s| format!("{s} ({})", original_start.format("%Y-%m-%d %H:%M")));
        }
        let owner = Person::new(ctx.store.address());
        deliver(
            ctx,
            &owner,
            message,
            &item.content.common,
            "meeting_cancellation",
        );
    }
    let now = ctx.now;
    if let ItemRef::Occurrence { original_start, .. } = target.item {
        return ctx
            .store
            .update(number, None, now, |content| {
                if let ItemData::Event(series) = &mut content.data {
                    series
                        .modified
                        .retain(|m| m.original_start != original_start);
                    series.deleted.push(original_start);
                }
                Ok(())
            })
            .map(|_| ())
            .map_err(|e| MsgError::new("ErrorCannotDeleteObject", e.to_string()));
    }
    let in_deleted = item.folder == FolderKind::DeletedItems;
    // LIMIT: soft-deleted items are gone, not kept in a Recoverable Items folder.
    let result = match disposal {
        Disposal::MoveToDeletedItems if !in_deleted => ctx
            .store
            .move_to(number, FolderKind::DeletedItems, now)
            .map(|_| ()),
        _ => ctx.store.remove(number),
    };
    result.map_err(|e| MsgError::new("ErrorCannotDeleteObject", e.to_string()))
}
