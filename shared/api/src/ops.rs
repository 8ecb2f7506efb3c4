//! The Exchange-facing work the API asks for, behind a trait the runner implements.
//!
//! The API itself never talks to Exchange: verifying credentials, syncing, sending and
//! reading a calendar are done by whoever runs the router (the Lambda functions, the local
//! runner), through [`Operations`]. The types here are part of the API's JSON.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::queued::QueuedSend;

/// What the API needs done against a tenant's Exchange.
pub trait Operations: Send + Sync {
    /// Verifies credentials against the tenant's test mailbox; returns a report of steps
    /// (name, outcome, duration, plain-words message) and, on failure, a diagnosis (cause +
    /// the admin's fix).
    fn verify(&self, request: &VerifyRequest) -> impl Future<Output = VerifyReport> + Send;

    /// Queues (or runs) a sync of one mailbox now.
    fn sync_now(&self, mailbox: &str) -> impl Future<Output = Result<(), OpsError>> + Send;

    /// Sends a message from a mailbox (`SendAndSaveCopy`); `idempotency_key` makes retries
    /// safe: a second call with the same key must not send a second message.
    fn send(
        &self,
        mailbox: &str,
        message: &OutgoingMessage,
        idempotency_key: &str,
    ) -> impl Future<Output = Result<SendReceipt, OpsError>> + Send;

    /// Puts a send on the retry queue, to be tried again after `delay`; its message is
    /// already spooled in the state store (see [`crate::QueuedSend`]). The API calls this
    /// when [`Operations::send`] failed in a way that may pass ([`OpsError::is_retryable`]).
    ///
    /// The default has no queue and refuses: the API then answers with the send's own
    /// error, and the caller retries.
    fn queue_send(
        &self,
        queued: &QueuedSend,
        delay: Duration,
    ) -> impl Future<Output = Result<(), OpsError>> + Send {
        let _ = (queued, delay);
        async {
            Err(OpsError::Unavailable {
                message: "this runner has no send retry queue".to_owned(),
            })
        }
    }

    /// The mailbox's calendar between two instants, recurring series expanded (EWS
    /// `CalendarView`).
    fn calendar_view(
        &self,
        mailbox: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<CalendarEntry>, OpsError>> + Send;

    /// Fetches a fresh token for a tenant now (token-refresh).
    fn refresh_token(&self, tenant: &str) -> impl Future<Output = Result<(), OpsError>> + Send;
}

/// The credentials to verify, as an administrator handed them over.
///
/// `Debug` shows every field but the secret.
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    /// Directory (tenant) id.
    pub tenant_id: String,
    /// Application (client) id of the app registration.
    pub client_id: String,
    /// The client secret; never printed.
    pub client_secret: SecretString,
    /// The day the secret expires, as Entra ID shows it.
    pub secret_expires: NaiveDate,
    /// An ordinary mailbox of the tenant to try impersonation on.
    pub test_mailbox: String,
    /// The identity authority, when not Microsoft's.
    pub authority: Option<String>,
    /// The EWS endpoint, when not Exchange Online's.
    pub ews_endpoint: Option<String>,
}

/// How one verification step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    /// The step worked.
    Passed,
    /// The step failed; later steps were skipped.
    Failed,
    /// Not tried because an earlier step failed.
    Skipped,
}

/// One step of a verification (e.g. `token`, `impersonation`, `contacts_folder`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyStep {
    /// The step's name.
    pub name: String,
    /// How it went.
    pub outcome: StepOutcome,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// What happened, in plain words.
    pub message: String,
}

/// Why verification failed and what the administrator must change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The step that failed.
    pub step: String,
    /// What is wrong, in plain words.
    pub cause: String,
    /// The setup step the administrator must change.
    pub fix: String,
}

/// The outcome of [`Operations::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Whether every step passed.
    pub verified: bool,
    /// The steps, in the order they ran.
    pub steps: Vec<VerifyStep>,
    /// Present when `verified` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<Diagnosis>,
}

/// A file attached to an outgoing message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// The file name recipients see.
    pub name: String,
    /// Its media type, e.g. `application/pdf`.
    pub content_type: String,
    /// The content, base64 (standard alphabet, padded).
    pub content_base64: String,
}

/// A message to send from a mailbox. Exactly one of `text` and `html` is the body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutgoingMessage {
    /// Recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Copy recipients.
    #[serde(default)]
    pub cc: Vec<String>,
    /// Blind-copy recipients.
    #[serde(default)]
    pub bcc: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// A plain-text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Attached files.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// What a send left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReceipt {
    /// The message's `Message-ID`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The Sent Items copy's item id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// True when this is the answer to an earlier request with the same idempotency key:
    /// nothing was sent this time.
    pub replayed: bool,
}

/// One appointment (or one occurrence of a series) in a calendar view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEntry {
    /// The mailbox item id (an occurrence has its own).
    pub item_id: String,
    /// The CRM id stamped on it, when mailbridge created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_id: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// An all-day event.
    #[serde(default)]
    pub all_day: bool,
    /// Free/busy (`Free`, `Tentative`, `Busy`, `OOF`, `WorkingElsewhere`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_as: Option<String>,
    /// The organiser's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizer: Option<String>,
    /// One occurrence of a recurring series.
    #[serde(default)]
    pub recurring: bool,
}

/// Why an operation did not happen. Each kind maps to one HTTP status (see
/// [`OpsError::status`]); messages are plain words and never carry a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpsError {
    /// The request is wrong: fix `field` and send it again (422).
    #[error("{field}: {reason}")]
    InvalidInput {
        /// The field, e.g. `to[1]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The mailbox (or item) does not exist in Exchange (404).
    #[error("{what} does not exist")]
    NotFound {
        /// What was missing.
        what: String,
    },
    /// Exchange is busy: try again after `retry_after_secs` (503 with `Retry-After`).
    #[error("throttled; retry after {retry_after_secs} s")]
    Throttled {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// Exchange or the identity platform refused our credentials or permissions; the
    /// tenant's administrator must act (502).
    #[error("upstream refused: {message}")]
    Upstream {
        /// What was refused and what to change, in plain words.
        message: String,
    },
    /// Exchange could not be reached or failed; may be retried (503).
    #[error("unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
    },
}

impl OpsError {
    /// Whether the same operation may pass later without anyone changing anything
    /// (Exchange busy or unreachable, a store unavailable).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            OpsError::Throttled { .. } | OpsError::Unavailable { .. }
        )
    }

    /// The HTTP status the API answers with.
    pub fn status(&self) -> u16 {
        match self {
            OpsError::InvalidInput { .. } => 422,
            OpsError::NotFound { .. } => 404,
            OpsError::Throttled { .. } | OpsError::Unavailable { .. } => 503,
            OpsError::Upstream { .. } => 502,
        }
    }
}
