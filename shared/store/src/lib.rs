//! Where mailbridge keeps its state and its secrets.
//!
//! - [`StateStore`]: tenants, mailboxes, per-folder sync cursors, links between CRM records
//!   and mailbox items, the CRM-side records with their change feed, the outbox of CRM
//!   changes still to push, leases, idempotency records, spooled payloads (messages waiting
//!   for a retry) and the audit trail.
//! - [`SecretStore`]: client secrets and cached tokens, never printable.
//!
//! Records are stored as documents (JSON) beside the few attributes the stores index, so a
//! field added later needs no migration. Every implementation passes the same conformance
//! suite ([`conformance`]).

mod brake;
pub mod conformance;
mod error;
mod local_secrets;
mod model;
mod secret;
pub mod sqlite;
mod state;

pub use brake::{DELETES_ACKNOWLEDGED, acknowledge_deletes, clear_go_ahead};
pub use error::{SecretError, StoreError};
pub use local_secrets::LocalSecretFile;
pub use model::*;
pub use secret::{SecretStore, access_token_name, check_name, client_secret_name};
pub use sqlite::SqliteStore;
pub use state::{StateStore, StoreResult};
