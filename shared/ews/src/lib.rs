//! The EWS core of mailbridge: typed Exchange Web Services operations for app-only
//! access with `ExchangeImpersonation`.
//!
//! - [`ops`]: one module per operation; each request type knows its response type.
//! - [`types`]: contacts, calendar items, messages and the opaque server tokens.
//! - [`EwsClient`]: the one transport, with impersonation, `X-AnchorMailbox`, bearer
//!   tokens from [`mailbridge_identity`], and the [`RetryPolicy`].
//! - [`EwsError`] and [`ErrorKind`]: every failure classified by what the caller must do.
//!
//! Parsing is namespace-aware and streaming: any prefix, unknown elements skipped, no tree
//! built.

pub mod backend;
mod client;
mod endpoint;
mod error;
pub mod ops;
mod response_code;
mod retry;
mod soap;
pub mod types;
pub mod xml;

pub use backend::EwsMailbox;
pub use client::{EwsClient, MAX_RESPONSE_BYTES, mailbox_tag};
pub use endpoint::{EXCHANGE_ONLINE_EWS, check_mailbox, parse_endpoint};
pub use error::{ErrorKind, EwsError, ResponseError};
pub use ops::Operation;
pub use response_code::ResponseCode;
pub use retry::RetryPolicy;
pub use soap::{MessageResult, REQUEST_SERVER_VERSION};
