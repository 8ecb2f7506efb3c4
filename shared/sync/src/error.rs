//! Why a sync run stopped.

use std::time::Duration;

use mailbridge_mailbox::BackendError;
use mailbridge_store::{Folder, StoreError};

/// A sync run's failure. Nothing is lost: whatever was committed stays, the rest is done
/// by the next run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyncError {
    /// Another runner holds the folder's lease; this run did nothing.
    #[error("another sync of {folder} is running")]
    Busy {
        /// The folder.
        folder: Folder,
    },
    /// The mailbox is paused or needs attention; nothing was synced.
    #[error("the mailbox is not active: {reason}")]
    Inactive {
        /// Why.
        reason: String,
    },
    /// The mass-delete brake: the mailbox would lose too much at once. Nothing was deleted;
    /// the mailbox now needs attention.
    #[error(
        "{deletes} of {linked} {folder} would be deleted at once; stopped to keep the data (the mailbox needs attention)"
    )]
    Braked {
        /// The folder.
        folder: Folder,
        /// Deletes the pull would have made.
        deletes: usize,
        /// Linked items before.
        linked: usize,
    },
    /// The mailbox side failed.
    #[error("mailbox: {0}")]
    Backend(#[from] BackendError),
    /// The state store failed.
    #[error("state store: {0}")]
    Store(#[from] StoreError),
}

impl SyncError {
    /// How long Exchange asked us to wait, if it did.
    pub fn back_off(&self) -> Option<Duration> {
        match self {
            SyncError::Backend(BackendError::Throttled { back_off }) => *back_off,
            _ => None,
        }
    }

    /// Whether the failure concerns the whole mailbox, so that its other folders are not
    /// synced in the same run either: Exchange asked us to back off, the credentials or
    /// permissions were refused, the brake wants a person to look, or the mailbox is not
    /// active. A held lease, a network failure or a bad item concern one folder.
    pub fn stops_mailbox(&self) -> bool {
        match self {
            SyncError::Inactive { .. } | SyncError::Braked { .. } => true,
            SyncError::Backend(e) => matches!(
                e,
                BackendError::Throttled { .. }
                    | BackendError::Auth(_)
                    | BackendError::Permission(_)
            ),
            SyncError::Busy { .. } | SyncError::Store(_) => false,
        }
    }

    /// Whether running again later may succeed without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::Busy { .. } => true,
            SyncError::Backend(e) => e.is_retryable(),
            SyncError::Store(e) => e.is_retryable() || matches!(e, StoreError::Conflict { .. }),
            SyncError::Inactive { .. } | SyncError::Braked { .. } => false,
        }
    }
}
