//! `GetFolder`: a folder's id, class, name and item count.

use super::{Ctx, folder_of, required};
use crate::ews::fields::Shape;
use crate::ews::ids;
use crate::ews::soap::{self, Fault};
use crate::ews::xml::{Node, Ns, XmlOut};
use crate::model::FolderKind;

const OP: &str = "GetFolder";

pub(crate) fn run(body: &Node, ctx: &mut Ctx<'_>) -> Result<String, Fault> {
    let shape = required(body, Ns::Messages, "FolderShape")?;
    // The folder shape has the item shape's form; only its base shape matters here.
    Shape::read(shape)?;
    let list = required(body, Ns::Messages, "FolderIds")?;
    if list.children.is_empty() {
        return Err(Fault::schema("FolderIds is empty"));
    }
    let mut results = Vec::new();
    for id in &list.children {
        results.push(folder_of(id, ctx));
    }
    Ok(soap::envelope(|w| {
        soap::open_response(w, OP);
        for result in results {
            match result {
                Ok(folder) => write_folder(w, ctx, folder),
                Err(err) => soap::error_message(w, OP, &err),
            }
        }
        soap::close_response(w, OP);
    }))
}

fn write_folder(w: &mut XmlOut, ctx: &Ctx<'_>, folder: FolderKind) {
    soap::open_ok(w, OP);
    w.open("m:Folders", &[]);
    let (element, class) = match folder {
        FolderKind::Contacts => ("t:ContactsFolder", "IPF.Contact"),
        FolderKind::Calendar => ("t:CalendarFolder", "IPF.Appointment"),
        _ => ("t:Folder", "IPF.Note"),
    };
    w.open(element, &[]);
    let id = ids::folder_id(ctx.mailbox_number(), folder);
    let change_key = ids::change_key(ctx.store.last_change());
    w.empty("t:FolderId", &[("Id", &id), ("ChangeKey", &change_key)]);
    w.leaf("t:FolderClass", class);
    w.leaf("t:DisplayName", folder.display_name());
    w.leaf("t:TotalCount", &ctx.store.count(folder).to_string());
    w.leaf("t:ChildFolderCount", "0");
    if element == "t:Folder" {
        w.leaf("t:UnreadCount", "0");
    }
    w.close(element);
    w.close("m:Folders");
    soap::close_message(w, OP);
}
