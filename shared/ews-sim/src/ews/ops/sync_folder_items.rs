//! `SyncFolderItems`: the changes in a folder since a sync state, a page at a time.

use super::{Ctx, required, wrapped_folder};
use crate::ews::fields::Shape;
use crate::ews::ids;
use crate::ews::item_out::ItemWriter;
use crate::ews::soap::{self, Fault, MsgError};
use crate::ews::xml::{Node, Ns};
use crate::faults::Fault as Injected;
use crate::model::SyncChange;

const OP: &str = "SyncFolderItems";

fn invalid_state() -> MsgError {
    MsgError::new(
        "ErrorInvalidSyncStateData",
        "Synchronization state data is corrupt or otherwise invalid.",
    )
}

pub(crate) fn run(body: &Node, ctx: &mut Ctx<'_>) -> Result<String, Fault> {
    let shape = Shape::read(required(body, Ns::Messages, "ItemShape")?)?;
    let folder_node = required(body, Ns::Messages, "SyncFolderId")?;
    let max = required(body, Ns::Messages, "MaxChangesReturned")?;
    let max: usize = max
        .value()
        .parse()
        .ok()
        .filter(|n| (1..=512).contains(n))
        .ok_or_else(|| {
            Fault::schema(format!(
                "MaxChangesReturned {:?} must be a number from 1 to 512",
                max.value()
            ))
        })?;
    let state = body
        .child(Ns::Messages, "SyncState")
        .map(Node::value)
        .filter(|s| !s.is_empty());
    let folder = match wrapped_folder(folder_node, ctx) {
        Ok(folder) => folder,
        Err(err) => return Ok(soap::error_response(OP, &err)),
    };
    if state.is_some() && ctx.fault == Some(Injected::InvalidSyncState) {
        ctx.store.invalidate_cursors(folder);
    }
    let mailbox = ctx.mailbox_number();
    let cursor = match state.map(|s| ids::parse_sync_state(s, mailbox, folder)) {
        Some(None) => return Ok(soap::error_response(OP, &invalid_state())),
        Some(Some(cursor)) => Some(cursor),
        None => None,
    };
    let Ok(batch) = ctx.store.sync(folder, cursor.as_ref(), max) else {
        return Ok(soap::error_response(OP, &invalid_state()));
    };
    let writer = ItemWriter {
        mailbox,
        shape: &shape,
    };
    let store = &*ctx.store;
    Ok(soap::envelope(|w| {
        soap::open_response(w, OP);
        soap::open_ok(w, OP);
        w.leaf(
            "m:SyncState",
            &ids::sync_state(mailbox, folder, &batch.cursor),
        );
        w.leaf(
            "m:IncludesLastItemInRange",
            if batch.more { "false" } else { "true" },
        );
        w.open("m:Changes", &[]);
        for change in &batch.changes {
            match *change {
                SyncChange::Create(n) | SyncChange::Update(n) => {
                    let Some(item) = store.get(n) else { continue };
                    let kind = if matches!(change, SyncChange::Create(_)) {
                        "t:Create"
                    } else {
                        "t:Update"
                    };
                    w.open(kind, &[]);
                    writer.item(w, item);
                    w.close(kind);
                }
                SyncChange::Delete(n) => {
                    w.open("t:Delete", &[]);
                    w.empty("t:ItemId", &[("Id", &ids::item_id(mailbox, n))]);
                    w.close("t:Delete");
                }
            }
        }
        w.close("m:Changes");
        soap::close_message(w, OP);
        soap::close_response(w, OP);
    }))
}
