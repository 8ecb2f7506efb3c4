//! The two-way sync engine.
//!
//! Per mailbox and folder (Contacts, Calendar): take a lease, pull the mailbox's changes a
//! page at a time (each page's effects committed with its cursor), then push the CRM's
//! outbox. Decisions, the pull's and the push's, are made by pure planning functions
//! ([`plan`]) so every rule is table-tested and a dry run can print what would happen.
//!
//! The rules, in short:
//!
//! - Our own writes coming back are recognised by change key (and, failing that, by a
//!   content hash) and never applied again; an unchanged item is never rewritten.
//! - Different fields changed on each side merge. The same field changed on both: the
//!   CRM's value wins ([`mailbridge_mailbox::CONFLICT_WINNER`]) and the conflict, with
//!   both values, goes to the audit trail.
//! - An edit wins over a delete on the other side (the conflict is audited).
//! - A first enumeration (a new mailbox, or an invalid cursor) matches items to existing
//!   records by stamp, e-mail address, then name; items deleted while we were away are
//!   found by what the enumeration did not see.
//! - The mass-delete brake stops a pull that would delete too much at once, counted over
//!   the whole pull (later delta pages are read ahead before the first page that deletes
//!   is committed), or that finds every linked item of a folder gone. It stops before the
//!   deletes it counted (deletes made while a pull runs may trip it after pages it had
//!   cleared were committed), the mailbox needs attention with the braked pull on record,
//!   and a person's go-ahead ([`mailbridge_store::acknowledge_deletes`],
//!   [`Engine::acknowledge_brake`]) lets that folder's deletes through in the next sync.

mod apply;
mod engine;
mod error;
pub mod matching;
pub mod plan;
mod pull;
mod push;
mod report;

pub use engine::{Engine, SyncConfig};
pub use error::SyncError;
pub use report::FolderReport;
