//! The protocol-neutral mailbox model: the directory of tenants, apps and mailboxes, the
//! items and folders of each mailbox, change tracking for sync, recurrence and generated
//! content. Nothing here knows EWS, so a Microsoft Graph front end can serve the same state.

pub mod directory;
pub mod idset;
pub mod item;
pub mod mailbox;
pub mod recurrence;
pub mod seed;

pub use directory::{AppConfig, MailboxConfig, SecretConfig, TenantConfig};
pub use item::{
    Address, Attachment, Attendee, Body, Common, Contact, Event, ExtendedProperty, ItemContent,
    ItemData, Message, OccurrenceChange, Person,
};
pub use mailbox::{
    CursorInvalid, FolderKind, Mailbox, StoreError, StoredItem, SyncBatch, SyncChange, SyncCursor,
};
pub use recurrence::{DayOfWeek, Pattern, Range, Recurrence, WeekIndex};
pub use seed::SeedSpec;
