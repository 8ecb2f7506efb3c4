//! `SyncFolderItems`: the changes in one folder since a sync state.

use std::io::BufRead;

use super::Operation;
use crate::error::EwsError;
use crate::soap::{read_response_messages, single};
use crate::types::{FolderId, Item, ItemId, ItemShape, SyncState};
use crate::xml::{Ns, XmlReader, XmlWriter};

/// The most changes one `SyncFolderItems` call may ask for.
pub const MAX_CHANGES_RETURNED: u16 = 512;

/// Asks for the next page of changes in a folder.
#[derive(Debug, Clone)]
pub struct SyncFolderItems {
    /// The folder.
    pub folder: FolderId,
    /// Where the last page ended; `None` starts from the beginning (every item is a create).
    pub sync_state: Option<SyncState>,
    /// Which properties each created or updated item carries.
    pub shape: ItemShape,
    /// Page size, 1 to 512.
    pub max_changes: u16,
}

impl SyncFolderItems {
    /// A full-size page of a folder's changes, ids and CRM ids only.
    pub fn new(folder: impl Into<FolderId>, sync_state: Option<SyncState>) -> SyncFolderItems {
        SyncFolderItems {
            folder: folder.into(),
            sync_state,
            shape: ItemShape::ids_with_crm_id(),
            max_changes: MAX_CHANGES_RETURNED,
        }
    }
}

/// One change in a folder.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncChange {
    /// An item appeared (or is being enumerated for the first time).
    Create(Item),
    /// An item changed.
    Update(Item),
    /// An item left the folder (deleted or moved out).
    Delete(ItemId),
    /// Only the read flag changed.
    ReadFlagChange {
        /// The item.
        id: ItemId,
        /// Its new read state.
        is_read: bool,
    },
}

/// A page of changes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncPage {
    /// The cursor after this page; store it with the page's effects.
    pub sync_state: Option<SyncState>,
    /// `true` when there are no more changes after this page.
    pub includes_last_item_in_range: bool,
    /// The changes, in server order.
    pub changes: Vec<SyncChange>,
}

impl Operation for SyncFolderItems {
    type Response = SyncPage;
    const NAME: &'static str = "SyncFolderItems";

    fn write_body(&self, w: &mut XmlWriter) -> Result<(), EwsError> {
        if !(1..=MAX_CHANGES_RETURNED).contains(&self.max_changes) {
            return Err(EwsError::invalid(
                "MaxChangesReturned",
                format!(
                    "must be 1 to {MAX_CHANGES_RETURNED}, not {}",
                    self.max_changes
                ),
            ));
        }
        w.open("m:SyncFolderItems", &[]);
        self.shape.write(w, "m:ItemShape");
        w.open("m:SyncFolderId", &[]);
        self.folder.write(w);
        w.close("m:SyncFolderId");
        if let Some(state) = &self.sync_state {
            w.text_element("m:SyncState", state.as_str());
        }
        w.text_element("m:MaxChangesReturned", &self.max_changes.to_string());
        w.close("m:SyncFolderItems");
        Ok(())
    }

    fn read_response<R: BufRead>(r: &mut XmlReader<R>) -> Result<SyncPage, EwsError> {
        let page = single(read_response_messages(
            r,
            |page: &mut SyncPage, field, r| {
                match (field.ns, field.name.as_str()) {
                    (Ns::Messages, "SyncState") => {
                        page.sync_state = Some(SyncState::new(r.read_text()?));
                    }
                    (Ns::Messages, "IncludesLastItemInRange") => {
                        page.includes_last_item_in_range =
                            r.read_bool("IncludesLastItemInRange")?;
                    }
                    (Ns::Messages, "Changes") => read_changes(r, &mut page.changes)?,
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?)?;
        if page
            .sync_state
            .as_ref()
            .is_none_or(|s| s.as_str().trim().is_empty())
        {
            return Err(EwsError::malformed(
                "SyncFolderItems succeeded without a SyncState",
            ));
        }
        Ok(page)
    }
}

fn read_changes<R: BufRead>(
    r: &mut XmlReader<R>,
    changes: &mut Vec<SyncChange>,
) -> Result<(), EwsError> {
    while let Some(change) = r.next_child()? {
        let kind = change.name;
        let mut item = None;
        let mut id = None;
        let mut is_read = None;
        while let Some(child) = r.next_child()? {
            match child.name.as_str() {
                "ItemId" => {
                    id = Some(ItemId::from_element(&child)?);
                    r.skip()?;
                }
                "IsRead" => is_read = Some(r.read_bool("IsRead")?),
                _ if child.ns == Ns::Types && item.is_none() => item = Some(Item::read(&child, r)?),
                _ => r.skip()?,
            }
        }
        let missing = || EwsError::malformed(format!("a <{kind}> change has no item"));
        changes.push(match kind.as_str() {
            "Create" => SyncChange::Create(item.ok_or_else(missing)?),
            "Update" => SyncChange::Update(item.ok_or_else(missing)?),
            "Delete" => SyncChange::Delete(id.ok_or_else(missing)?),
            "ReadFlagChange" => SyncChange::ReadFlagChange {
                id: id.ok_or_else(missing)?,
                is_read: is_read.unwrap_or(false),
            },
            // Change kinds newer than this client are skipped rather than misread.
            _ => continue,
        });
    }
    Ok(())
}
