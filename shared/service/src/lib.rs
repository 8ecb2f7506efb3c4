//! What mailbridge does with a tenant's credentials, above the EWS core and below the
//! API and the functions:
//!
//! - [`verify`]: checks an administrator's setup step by step against the test mailbox and
//!   names the step to fix when one fails;
//! - [`send`]: mail from a user's mailbox, never twice for one idempotency key;
//! - [`calendar`]: the mailbox's calendar for a time range, series expanded;
//! - [`tenants`]: EWS clients per tenant from the stored tenant and its secret;
//! - [`token_store`]: app tokens shared through the secret store;
//! - [`jobs`]: syncing one mailbox, finding the due ones, watching secrets expire;
//! - [`ops`]: the HTTP API's operations carried out with all of the above.

pub mod calendar;
pub mod jobs;
pub mod ops;
pub mod send;
pub mod tenants;
pub mod token_store;
pub mod verify;

pub use calendar::{CalendarEntry, CalendarError, CalendarView};
pub use ops::{ServiceOps, SyncTrigger};
pub use send::{Attachment, OutgoingMail, SendError, Sent, send};
pub use verify::{Finding, SetupStage, Step, Verification, VerifyInput, verify};
