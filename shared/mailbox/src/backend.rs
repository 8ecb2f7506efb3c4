//! The mailbox as a remote store, in terms no protocol owns.

use std::future::Future;
use std::time::Duration;

use crate::data::ItemData;

/// The folders a backend serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FolderKind {
    /// Contacts.
    Contacts,
    /// Calendar.
    Calendar,
}

/// An item's identity and its change token (EWS change key, Graph `@odata.etag`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemRef {
    /// The backend's item id.
    pub id: String,
    /// Changes on every write to the item.
    pub change_key: String,
}

/// An item read from the mailbox.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteItem {
    /// Identity and change token.
    pub item: ItemRef,
    /// The CRM id mailbridge stamped on it, if any.
    pub crm_id: Option<String>,
    /// Its content.
    pub data: ItemData,
}

/// One change in a delta page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The item is new or changed (or is being enumerated for the first time).
    Upsert {
        /// The item as of this change.
        item: ItemRef,
        /// The stamped CRM id, when the backend reads it cheaply with the delta.
        crm_id: Option<String>,
    },
    /// The item left the folder.
    Delete {
        /// Its id.
        id: String,
    },
}

/// A page of changes and the cursor after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaPage {
    /// Opaque; store it with the page's effects.
    pub cursor: String,
    /// Whether more changes are waiting.
    pub more: bool,
    /// The changes, oldest first.
    pub changes: Vec<Change>,
}

/// How a backend call failed, in terms the sync engine acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The delta cursor is no longer valid: enumerate the folder again.
    #[error("the sync cursor is no longer valid")]
    CursorInvalid,
    /// The item does not exist (any more).
    #[error("the item does not exist")]
    NotFound,
    /// The change token is stale: someone changed the item since it was read.
    #[error("the item changed since it was read")]
    Conflict,
    /// The server asked us to slow down.
    #[error("the mailbox server is busy; retry after {back_off:?}")]
    Throttled {
        /// How long to wait, when the server said.
        back_off: Option<Duration>,
    },
    /// Credentials were refused (token, secret, consent).
    #[error("access refused: {0}")]
    Auth(String),
    /// The app may not reach this mailbox (impersonation, access policy, EWS disabled).
    #[error("no permission for this mailbox: {0}")]
    Permission(String),
    /// The data cannot be stored in the mailbox; names the field.
    #[error("the mailbox refused the data: {0}")]
    Invalid(String),
    /// A failure that may pass (network, server error); the call may be retried.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Anything else; not retried.
    #[error("{0}")]
    Fatal(String),
}

impl BackendError {
    /// Whether a later retry of the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            BackendError::Throttled { .. } | BackendError::Transient(_)
        )
    }
}

/// Result of a backend call.
pub type BackendResult<T> = Result<T, BackendError>;

/// Most items [`MailboxBackend::fetch`] takes at once.
pub const FETCH_BATCH: usize = 100;

/// One mailbox's Contacts and Calendar folders as a remote store.
///
/// EWS implements it now, Microsoft Graph later; nothing here speaks of SOAP or REST.
pub trait MailboxBackend: Send + Sync {
    /// The next page of changes after `cursor` (`None`: enumerate from the start).
    fn delta(
        &self,
        folder: FolderKind,
        cursor: Option<&str>,
    ) -> impl Future<Output = BackendResult<DeltaPage>> + Send;

    /// Reads up to [`FETCH_BATCH`] items; one result per id, in order.
    fn fetch(
        &self,
        folder: FolderKind,
        ids: &[String],
    ) -> impl Future<Output = BackendResult<Vec<BackendResult<RemoteItem>>>> + Send;

    /// The item stamped with `crm_id`, if there is one (finds the first of a retried create).
    fn find_by_crm_id(
        &self,
        folder: FolderKind,
        crm_id: &str,
    ) -> impl Future<Output = BackendResult<Option<RemoteItem>>> + Send;

    /// Creates an item stamped with `crm_id`. Not retried by the backend once the request
    /// may have reached the server: the caller looks for the stamp first.
    fn create(
        &self,
        folder: FolderKind,
        crm_id: &str,
        data: &ItemData,
    ) -> impl Future<Output = BackendResult<ItemRef>> + Send;

    /// Writes the fields of `new` that differ from `old` to the item, if its change token
    /// is still `item.change_key`; returns the new token. `Conflict` when it is stale.
    fn update(
        &self,
        folder: FolderKind,
        item: &ItemRef,
        old: &ItemData,
        new: &ItemData,
    ) -> impl Future<Output = BackendResult<ItemRef>> + Send;

    /// Moves the item to Deleted Items (recoverable). `NotFound` when it is already gone.
    fn delete(
        &self,
        folder: FolderKind,
        id: &str,
    ) -> impl Future<Output = BackendResult<()>> + Send;
}
