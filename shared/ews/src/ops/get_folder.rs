//! `GetFolder`: a folder's id, name and item count.

use std::io::BufRead;

use super::Operation;
use super::get_item::check_batch;
use crate::error::EwsError;
use crate::soap::{MessageResult, read_response_messages};
use crate::types::{ChangeKey, FolderId};
use crate::xml::{Ns, XmlReader, XmlWriter};

/// Reads folders.
#[derive(Debug, Clone)]
pub struct GetFolder {
    /// The folders.
    pub folders: Vec<FolderId>,
}

/// What `GetFolder` tells about one folder.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FolderInfo {
    /// The element kind, such as `ContactsFolder` or `CalendarFolder`.
    pub kind: String,
    /// The folder's id.
    pub id: String,
    /// Its change key.
    pub change_key: Option<ChangeKey>,
    /// Display name.
    pub display_name: Option<String>,
    /// Items in it.
    pub total_count: Option<u64>,
}

impl Operation for GetFolder {
    /// One result per requested folder.
    type Response = Vec<MessageResult<FolderInfo>>;
    const NAME: &'static str = "GetFolder";

    fn write_body(&self, w: &mut XmlWriter) -> Result<(), EwsError> {
        check_batch("FolderIds", self.folders.len(), 100)?;
        w.open("m:GetFolder", &[]);
        w.open("m:FolderShape", &[]);
        w.text_element("t:BaseShape", "Default");
        w.close("m:FolderShape");
        w.open("m:FolderIds", &[]);
        for folder in &self.folders {
            folder.write(w);
        }
        w.close("m:FolderIds");
        w.close("m:GetFolder");
        Ok(())
    }

    fn read_response<R: BufRead>(r: &mut XmlReader<R>) -> Result<Self::Response, EwsError> {
        read_response_messages(r, |info: &mut FolderInfo, field, r| {
            if !field.is(Ns::Messages, "Folders") {
                return Ok(false);
            }
            while let Some(folder) = r.next_child()? {
                folder.name.as_str().clone_into(&mut info.kind);
                while let Some(prop) = r.next_child()? {
                    match prop.name.as_str() {
                        "FolderId" => {
                            prop.required_attr("Id")?.clone_into(&mut info.id);
                            info.change_key = prop.attr("ChangeKey").map(ChangeKey::new);
                            r.skip()?;
                        }
                        "DisplayName" => info.display_name = Some(r.read_text()?),
                        "TotalCount" => {
                            info.total_count =
                                Some(r.read_parsed("TotalCount", |s| s.parse().ok())?);
                        }
                        _ => r.skip()?,
                    }
                }
            }
            Ok(true)
        })
    }
}
