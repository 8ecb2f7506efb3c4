//! The admin and CRM HTTP API of mailbridge: one axum [`Router`](axum::Router) that the
//! Lambda function (through `lambda_http`) and the local runner both serve.
//!
//! ```ignore
//! let config = ApiConfig::new(&std::env::var("MAILBRIDGE_ADMIN_KEY_SHA256")?)?;
//! let app = Arc::new(App::new(state, secrets, runner_operations, config));
//! let router = mailbridge_api::router(app);
//! ```
//!
//! - JSON in and out; every error is `application/problem+json` (RFC 9457) with `type`,
//!   `title`, `status`, `detail` and an `errors` list naming the fields ([`ApiError`]).
//! - Callers send `Authorization: Bearer <key>`: the admin key (configured as its SHA-256)
//!   reaches everything; a tenant key (issued by `POST /v1/tenants/{id}/api-keys`) reaches
//!   only its tenant and that tenant's mailboxes, and anything else looks absent (404).
//! - Exchange work (verifying credentials, syncing, sending, calendar views) is the
//!   runner's, behind [`Operations`]. A send that fails in a way that may pass is spooled
//!   and queued for a retry ([`QueuedSend`]); the runner's retry worker finishes it
//!   ([`deliver_queued`]).
//! - Secret values never appear in responses, errors, logs or `Debug` output.
//!
//! `GET /openapi.json` describes every route ([`OPENAPI_JSON`]).

mod app;
mod auth;
mod extract;
mod message;
mod ops;
mod problem;
mod queued;
mod request;
mod router;
mod routes;
mod validate;

pub use app::{ApiConfig, App, ConfigError};
pub use auth::{Caller, hash_key};
pub use extract::DEFAULT_BODY_LIMIT;
pub use message::{
    MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, MAX_BODY_BYTES, MAX_RECIPIENTS, MAX_SUBJECT,
};
pub use ops::{
    Attachment, CalendarEntry, Diagnosis, Operations, OpsError, OutgoingMessage, SendReceipt,
    StepOutcome, VerifyReport, VerifyRequest, VerifyStep,
};
pub use problem::{ApiError, FieldError, PROBLEM_JSON};
pub use queued::{Delivery, QueuedSend, SpooledSend, deliver_queued};
pub use request::{REQUEST_ID, RouteInfo};
pub use router::{RouteSpec, SEND_BODY_LIMIT, Verb, router, served_routes};
pub use routes::mailboxes::MAX_CALENDAR_DAYS;
pub use routes::send::IDEMPOTENCY_TTL;

/// The `OpenAPI` 3.1 description served at `GET /openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");
