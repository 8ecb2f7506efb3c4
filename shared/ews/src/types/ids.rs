//! Opaque server tokens as newtypes, and folder ids.

use crate::error::EwsError;
use crate::xml::{Element, XmlWriter};

macro_rules! opaque {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value exactly as the server sent it.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The value exactly as the server sent it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

opaque! {
    /// The change key: a version stamp that changes on every write to an item.
    ChangeKey
}

opaque! {
    /// A folder's sync state: the cursor `SyncFolderItems` resumes from.
    SyncState
}

/// An item's id and, when known, the change key of the version it names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemId {
    /// The opaque id; stable for the item's life in one mailbox.
    pub id: String,
    /// The version this id was read at.
    pub change_key: Option<ChangeKey>,
}

impl ItemId {
    /// An id with a change key.
    pub fn new(id: impl Into<String>, change_key: Option<ChangeKey>) -> ItemId {
        ItemId {
            id: id.into(),
            change_key,
        }
    }

    pub(crate) fn from_element(el: &Element) -> Result<ItemId, EwsError> {
        Ok(ItemId {
            id: el.required_attr("Id")?.to_owned(),
            change_key: el.attr("ChangeKey").map(ChangeKey::new),
        })
    }

    pub(crate) fn write(&self, w: &mut XmlWriter, element: &str) {
        match &self.change_key {
            Some(ck) => w.empty(element, &[("Id", &self.id), ("ChangeKey", ck.as_str())]),
            None => w.empty(element, &[("Id", &self.id)]),
        };
    }
}

/// Folders EWS names without an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DistinguishedFolder {
    /// The default Contacts folder.
    Contacts,
    /// The default Calendar folder.
    Calendar,
    /// Sent Items.
    SentItems,
    /// Deleted Items.
    DeletedItems,
    /// Drafts.
    Drafts,
    /// The Inbox (never read by mailbridge; named for completeness of folder checks).
    Inbox,
}

impl DistinguishedFolder {
    /// The `Id` attribute value EWS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            DistinguishedFolder::Contacts => "contacts",
            DistinguishedFolder::Calendar => "calendar",
            DistinguishedFolder::SentItems => "sentitems",
            DistinguishedFolder::DeletedItems => "deleteditems",
            DistinguishedFolder::Drafts => "drafts",
            DistinguishedFolder::Inbox => "inbox",
        }
    }
}

/// A folder named either by its well-known name or by its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FolderId {
    /// A well-known folder of the impersonated mailbox.
    Distinguished(DistinguishedFolder),
    /// A folder by id.
    Id {
        /// The opaque folder id.
        id: String,
        /// The folder's change key, when known.
        change_key: Option<ChangeKey>,
    },
}

impl FolderId {
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        match self {
            FolderId::Distinguished(folder) => {
                w.empty("t:DistinguishedFolderId", &[("Id", folder.as_str())]);
            }
            FolderId::Id {
                id,
                change_key: Some(ck),
            } => {
                w.empty("t:FolderId", &[("Id", id), ("ChangeKey", ck.as_str())]);
            }
            FolderId::Id {
                id,
                change_key: None,
            } => {
                w.empty("t:FolderId", &[("Id", id)]);
            }
        }
    }
}

impl From<DistinguishedFolder> for FolderId {
    fn from(folder: DistinguishedFolder) -> FolderId {
        FolderId::Distinguished(folder)
    }
}
