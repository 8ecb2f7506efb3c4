//! `UpdateItem`: property changes guarded by the change key, one response message per item.
//! Changing an occurrence of a series makes it an exception of that series.

use super::create_item::{deliver, invitation};
use super::{Ctx, Target, occurrence, required, target_of};
use crate::ews::ids::{self, ItemRef};
use crate::ews::soap::{self, Fault, MsgError};
use crate::ews::update;
use crate::ews::xml::{Node, Ns};
use crate::faults::Fault as Injected;
use crate::model::{Event, ItemContent, ItemData, OccurrenceChange, Person, StoreError};

const OP: &str = "UpdateItem";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conflicts {
    NeverOverwrite,
    AutoResolve,
    AlwaysOverwrite,
}

pub(crate) fn run(body: &Node, ctx: &mut Ctx<'_>) -> Result<String, Fault> {
    let conflicts = match body.attr("ConflictResolution") {
        Some("NeverOverwrite") => Conflicts::NeverOverwrite,
        Some("AutoResolve") => Conflicts::AutoResolve,
        Some("AlwaysOverwrite") => Conflicts::AlwaysOverwrite,
        other => {
            return Err(Fault::schema(format!(
                "ConflictResolution {other:?} is not valid"
            )));
        }
    };
    let notify = match body.attr("SendMeetingInvitationsOrCancellations") {
        None => None,
        Some("SendToNone") => Some(false),
        Some(
            "SendOnlyToAll"
            | "SendOnlyToChanged"
            | "SendToAllAndSaveCopy"
            | "SendToChangedAndSaveCopy",
        ) => Some(true),
        Some(other) => {
            return Err(Fault::schema(format!(
                "SendMeetingInvitationsOrCancellations {other:?} is not valid"
            )));
        }
    };
    let changes = required(body, Ns::Messages, "ItemChanges")?;
    if changes.children.is_empty() {
        return Err(Fault::schema("ItemChanges is empty"));
    }
    let mut results = Vec::with_capacity(changes.children.len());
    for change in &changes.children {
        let id = change
            .children
            .iter()
            .find(|c| c.name.ends_with("ItemId"))
            .ok_or_else(|| Fault::schema("ItemChange names no item"))?;
        let updates = required(change, Ns::Types, "Updates")?;
        let result = target_of(id, ctx).and_then(|target| {
            if ctx.fault == Some(Injected::ChangeKeyConflict) {
                // The owner saved the item a moment before this request arrived.
                let _ = ctx.store.touch(target.number(), ctx.now);
            }
            update_one(ctx, target, updates, conflicts, notify)
        });
        results.push(result);
    }
    Ok(soap::envelope(|w| {
        soap::open_response(w, OP);
        for result in &results {
            match result {
                Ok((element, id, change)) => {
                    soap::open_ok(w, OP);
                    w.open("m:Items", &[]);
                    w.open(element, &[]);
                    w.empty("t:ItemId", &[("Id", id), ("ChangeKey", change)]);
                    w.close(element);
                    w.close("m:Items");
                    w.open("m:ConflictResults", &[]);
                    w.leaf("t:Count", "0");
                    w.close("m:ConflictResults");
                    soap::close_message(w, OP);
                }
                Err(err) => soap::error_message(w, OP, err),
            }
        }
        soap::close_response(w, OP);
    }))
}

fn update_one(
    ctx: &mut Ctx<'_>,
    target: Target,
    updates: &Node,
    conflicts: Conflicts,
    notify: Option<bool>,
) -> Result<(&'static str, String, String), MsgError> {
    let number = target.number();
    let current = ctx.store.get(number).ok_or_else(MsgError::not_found)?;
    let is_event = matches!(current.content.data, ItemData::Event(_));
    if is_event && notify.is_none() {
        return Err(MsgError::new(
            "ErrorSendMeetingInvitationsOrCancellationsRequired",
            "SendMeetingInvitationsOrCancellations is required for calendar items.",
        ));
    }
    // AutoResolve would need per-property history to merge; without it, it refuses a stale
    // change key as NeverOverwrite does.
    let expected = match (conflicts, target.change) {
        (Conflicts::AlwaysOverwrite, _) => None,
        (_, None) => {
            return Err(MsgError::new(
                "ErrorChangeKeyRequiredForWriteOperations",
                "A change key is required to update an item unless ConflictResolution is AlwaysOverwrite.",
            ));
        }
        (Conflicts::NeverOverwrite | Conflicts::AutoResolve, Some(change)) => Some(change),
    };
    let mut failure = None;
    let edit = |content: &mut ItemContent| -> Result<(), String> {
        let result = match target.item {
            ItemRef::Occurrence { original_start, .. } => {
                update_occurrence(content, original_start, updates)
            }
            ItemRef::Item { .. } => update::apply(updates, content),
        };
        result.map_err(|err| {
            let text = err.text.clone();
            failure = Some(err);
            text
        })
    };
    let written = ctx.store.update(number, expected, ctx.now, edit);
    let change = match written {
        Ok(change) => change,
        Err(StoreError::Conflict) => {
            return Err(MsgError::new(
                "ErrorIrresolvableConflict",
                "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
            ));
        }
        Err(StoreError::Invalid(text)) => {
            return Err(failure.unwrap_or_else(|| {
                if text.contains("ends before") {
                    MsgError::new("ErrorCalendarEndDateIsEarlierThanStartDate", text)
                } else {
                    MsgError::new("ErrorCalendarInvalidRecurrence", text)
                }
            }));
        }
        Err(other) => return Err(MsgError::new("ErrorItemSave", other.to_string())),
    };
    let item = ctx.store.get(number).ok_or_else(MsgError::not_found)?;
    if let ItemData::Event(event) = &item.content.data
        && notify == Some(true)
        && event.is_meeting
    {
        let message = invitation(event, "meeting_update");
        let owner = Person::new(ctx.store.address());
        deliver(ctx, &owner, message, &item.content.common, "meeting_update");
    }
    let element = match &item.content.data {
        ItemData::Contact(_) => "t:Contact",
        ItemData::Event(_) => "t:CalendarItem",
        ItemData::Message(_) => "t:Message",
    };
    let id = match target.item {
        ItemRef::Occurrence { original_start, .. } => {
            ids::occurrence_id(ctx.mailbox_number(), number, original_start)
        }
        ItemRef::Item { .. } => ids::item_id(ctx.mailbox_number(), number),
    };
    Ok((element, id, ids::change_key(change)))
}

/// Applies updates to one occurrence: its time, subject and location may change.
fn update_occurrence(
    content: &mut ItemContent,
    original_start: chrono::DateTime<chrono::Utc>,
    updates: &Node,
) -> Result<(), MsgError> {
    let ItemData::Event(series) = &mut content.data else {
        return Err(MsgError::not_found());
    };
    let entry = occurrence(series, original_start)?;
    let mut single = Event::new(
        entry
            .change
            .as_ref()
            .and_then(|c| c.subject.clone())
            .or_else(|| series.subject.clone())
            .unwrap_or_default(),
        entry.start,
        entry.end,
    );
    single.location = entry
        .change
        .as_ref()
        .and_then(|c| c.location.clone())
        .or_else(|| series.location.clone());
    let mut view = ItemContent::event(single);
    update::apply(updates, &mut view)?;
    let ItemData::Event(changed) = view.data else {
        return Err(MsgError::not_found());
    };
    if changed.end < changed.start {
        return Err(MsgError::new(
            "ErrorCalendarEndDateIsEarlierThanStartDate",
            "EndDate is earlier than StartDate.",
        ));
    }
    series
        .modified
        .retain(|m| m.original_start != original_start);
    series.modified.push(OccurrenceChange {
        original_start,
        start: changed.start,
        end: changed.end,
        subject: changed
            .subject
            .filter(|s| Some(s) != series.subject.as_ref()),
        location: changed
            .location
            .filter(|l| Some(l) != series.location.as_ref()),
    });
    Ok(())
}
