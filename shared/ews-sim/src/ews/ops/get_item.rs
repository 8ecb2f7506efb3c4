//! `GetItem`: items (or occurrences) by id, one response message per id.

use super::{Ctx, Target, occurrence, required, target_of};
use crate::ews::fields::Shape;
use crate::ews::ids::ItemRef;
use crate::ews::item_out::ItemWriter;
use crate::ews::soap::{self, Fault, MsgError};
use crate::ews::xml::{Node, Ns};
use crate::model::ItemData;

const OP: &str = "GetItem";

/// At most this many ids per request, as Exchange Online allows.
const MAX_IDS: usize = 500;

pub(crate) fn run(body: &Node, ctx: &mut Ctx<'_>) -> Result<String, Fault> {
    let shape = Shape::read(required(body, Ns::Messages, "ItemShape")?)?;
    let list = required(body, Ns::Messages, "ItemIds")?;
    if list.children.is_empty() {
        return Err(Fault::schema("ItemIds is empty"));
    }
    if list.children.len() > MAX_IDS {
        return Err(Fault::new(
            "ErrorExceededFindCountLimit",
            format!("A GetItem request may name at most {MAX_IDS} items."),
        ));
    }
    let targets: Vec<Result<Target, MsgError>> =
        list.children.iter().map(|id| target_of(id, ctx)).collect();
    let writer = ItemWriter {
        mailbox: ctx.mailbox_number(),
        shape: &shape,
    };
    let store = &*ctx.store;
    Ok(soap::envelope(|w| {
        soap::open_response(w, OP);
        for target in targets {
            let found = target.and_then(|t| {
                let item = store.get(t.number()).ok_or_else(MsgError::not_found)?;
                let entry = match (t.item, &item.content.data) {
                    (ItemRef::Occurrence { original_start, .. }, ItemData::Event(e)) => {
                        Some(occurrence(e, original_start)?)
                    }
                    _ => None,
                };
                Ok((item, entry))
            });
            match found {
                Ok((item, entry)) => {
                    soap::open_ok(w, OP);
                    w.open("m:Items", &[]);
                    match &entry {
                        Some(entry) => writer.entry(w, item, entry),
                        None => writer.item(w, item),
                    }
                    w.close("m:Items");
                    soap::close_message(w, OP);
                }
                Err(err) => soap::error_message(w, OP, &err),
            }
        }
        soap::close_response(w, OP);
    }))
}
