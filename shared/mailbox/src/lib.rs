//! The protocol-neutral mailbox: what the sync engine knows of a mailbox.
//!
//! - [`data`]: contacts and events, their canonical form and content hash, and their
//!   validation ([`ItemData::validate`]);
//! - [`merge`]: field-level comparison and merging, with the documented conflict rule;
//! - [`backend`]: the [`MailboxBackend`] trait, implemented over EWS by `mailbridge-ews`
//!   and later over Microsoft Graph.

pub mod backend;
pub mod data;
mod error;
pub mod merge;
mod validate;

pub use backend::{
    BackendError, BackendResult, Change, DeltaPage, FETCH_BATCH, FolderKind, ItemRef,
    MailboxBackend, RemoteItem,
};
pub use data::{AttendeeData, ContactData, EventData, ItemData, RecurrenceData};
pub use error::DataError;
pub use merge::{CONFLICT_WINNER, FieldConflict, Merged, Side, changed_fields, merge2, merge3};
pub use validate::is_xml_char;
