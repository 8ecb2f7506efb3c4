//! Every error the API answers with, and the one place that turns them into RFC 9457
//! `application/problem+json` responses.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use mailbridge_store::{SecretError, StoreError};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::ops::{OpsError, VerifyReport};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One field that is wrong, as the `errors` extension lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field: a JSON path (`attachments[2].name`), a query parameter or a header.
    pub field: String,
    /// What is wrong with it, in plain words.
    pub reason: String,
}

impl FieldError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Why a request was not served. Variants say what the caller must do; none carries a
/// secret, and `Internal` causes are logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request cannot be read (not JSON, a bad path or query value): fix and resend.
    #[error("the request is malformed")]
    Malformed(Vec<FieldError>),
    /// The request reads, but fields are invalid: fix them and resend.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// The body is not `application/json`.
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    /// No key, or a key that is not valid: send `Authorization: Bearer <key>`.
    #[error("a valid API key is required")]
    Unauthenticated,
    /// The key is valid but may not do this (a tenant key on an admin route).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The tenant was disabled by an administrator; its CRM calls are refused.
    #[error("tenant disabled")]
    TenantDisabled,
    /// Nothing there for this caller (it may exist for someone else).
    #[error("not found")]
    NotFound,
    /// No route has this path.
    #[error("no such route")]
    NoSuchRoute,
    /// The route exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Someone else wrote first: read the current version and retry.
    #[error("{detail}")]
    Conflict {
        /// What conflicted.
        detail: String,
        /// The stored version now (`None`: absent).
        current_version: Option<u64>,
    },
    /// The thing to create already exists.
    #[error("{detail}")]
    AlreadyExists {
        /// What exists.
        detail: String,
        /// The field naming it.
        field: &'static str,
    },
    /// An earlier request with this idempotency key is still running: retry later.
    #[error("a request with this idempotency key is in progress")]
    KeyInProgress,
    /// The idempotency key was used for a different request: use a new key.
    #[error("this idempotency key was used for a different request")]
    KeyReused,
    /// The write must say which version it expects (`field`, or `If-Match: *`).
    #[error("{field} or If-Match: * is required")]
    PreconditionRequired {
        /// The field to give.
        field: &'static str,
    },
    /// The body is larger than the route accepts.
    #[error("the body is larger than {limit} bytes")]
    TooLarge {
        /// The route's limit in bytes.
        limit: usize,
    },
    /// The credentials did not pass verification; nothing was stored.
    #[error("verification failed")]
    VerificationFailed {
        /// What was tried, and the diagnosis (boxed: it is large and rare).
        report: Box<VerifyReport>,
        /// Notes about the request (e.g. a secret about to expire).
        warnings: Vec<String>,
    },
    /// The runner's Exchange operation failed.
    #[error(transparent)]
    Ops(#[from] OpsError),
    /// A store failed in a way that may pass on retry.
    #[error("storage unavailable")]
    Unavailable(String),
    /// A bug or corrupt data; the cause is logged.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// One invalid field (422).
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
        ApiError::Invalid(vec![FieldError::new(field, reason)])
    }

    /// One unreadable field (400).
    pub fn malformed(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
        ApiError::Malformed(vec![FieldError::new(field, reason)])
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) | ApiError::KeyReused | ApiError::VerificationFailed { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::TenantDisabled => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::NoSuchRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. }
            | ApiError::AlreadyExists { .. }
            | ApiError::KeyInProgress => StatusCode::CONFLICT,
            ApiError::PreconditionRequired { .. } => StatusCode::PRECONDITION_REQUIRED,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Ops(e) => {
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem's `type` slug and `title`.
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::Malformed(_) => ("malformed", "The request cannot be read"),
            ApiError::Invalid(_) => ("invalid", "The request has invalid fields"),
            ApiError::UnsupportedMediaType => ("media-type", "Unsupported media type"),
            ApiError::Unauthenticated => ("unauthenticated", "A valid API key is required"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed with this key"),
            ApiError::TenantDisabled => ("tenant-disabled", "Tenant disabled"),
            ApiError::NotFound => ("not-found", "Not found"),
            ApiError::NoSuchRoute => ("no-such-route", "No such route"),
            ApiError::MethodNotAllowed => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict { .. } => ("conflict", "Changed by someone else"),
            ApiError::AlreadyExists { .. } => ("exists", "Already exists"),
            ApiError::KeyInProgress => ("idempotency-in-progress", "Request in progress"),
            ApiError::KeyReused => ("idempotency-mismatch", "Idempotency key reused"),
            ApiError::PreconditionRequired { .. } => ("precondition-required", "Version required"),
            ApiError::TooLarge { .. } => ("too-large", "Request body too large"),
            ApiError::VerificationFailed { .. } => ("verification-failed", "Verification failed"),
            ApiError::Ops(OpsError::InvalidInput { .. }) => ("invalid", "Refused by Exchange"),
            ApiError::Ops(OpsError::NotFound { .. }) => ("not-found", "Not found in Exchange"),
            ApiError::Ops(OpsError::Throttled { .. }) => ("throttled", "Exchange is busy"),
            ApiError::Ops(OpsError::Upstream { .. }) => ("upstream", "Refused by Microsoft 365"),
            ApiError::Ops(OpsError::Unavailable { .. }) | ApiError::Unavailable(_) => {
                ("unavailable", "Temporarily unavailable")
            }
            ApiError::Internal(_) => ("internal", "Internal error"),
        }
    }

    /// The plain-words `detail`, the `errors` list and other extensions.
    fn detail(&self) -> (String, Vec<FieldError>, Map<String, Value>) {
        let mut extra = Map::new();
        let (detail, errors) = match self {
            ApiError::Malformed(errors) | ApiError::Invalid(errors) => {
                let detail = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.reason))
                    .collect::<Vec<_>>()
                    .join("; ");
                (detail, errors.clone())
            }
            ApiError::Conflict {
                detail,
                current_version,
            } => {
                extra.insert("current_version".to_owned(), json!(current_version));
                (
                    detail.clone(),
                    vec![FieldError::new("version", detail.clone())],
                )
            }
            ApiError::AlreadyExists { detail, field } => (
                detail.clone(),
                vec![FieldError::new(*field, detail.clone())],
            ),
            ApiError::PreconditionRequired { field } => (
                self.to_string(),
                vec![FieldError::new(
                    *field,
                    "give the version you read, or If-Match: *",
                )],
            ),
            ApiError::KeyInProgress | ApiError::KeyReused => (
                self.to_string(),
                vec![FieldError::new("Idempotency-Key", self.to_string())],
            ),
            ApiError::VerificationFailed { report, warnings } => {
                extra.insert("report".to_owned(), json!(report));
                extra.insert("warnings".to_owned(), json!(warnings));
                let detail = report.diagnosis.as_ref().map_or_else(
                    || "verification failed".to_owned(),
                    |d| format!("{} Fix: {}", d.cause, d.fix),
                );
                (detail, Vec::new())
            }
            ApiError::Ops(OpsError::InvalidInput { field, reason }) => (
                self.to_string(),
                vec![FieldError::new(field.clone(), reason.clone())],
            ),
            ApiError::Ops(OpsError::Throttled { retry_after_secs }) => {
                extra.insert("retry_after".to_owned(), json!(retry_after_secs));
                (self.to_string(), Vec::new())
            }
            ApiError::Ops(e) => (e.to_string(), Vec::new()),
            ApiError::TooLarge { limit } => {
                extra.insert("limit".to_owned(), json!(limit));
                (
                    self.to_string(),
                    vec![FieldError::new("body", self.to_string())],
                )
            }
            ApiError::UnsupportedMediaType => (
                self.to_string(),
                vec![FieldError::new("Content-Type", "must be application/json")],
            ),
            ApiError::Unauthenticated => (
                "send Authorization: Bearer <key> with a valid key".to_owned(),
                vec![FieldError::new(
                    "Authorization",
                    "missing or not a valid key",
                )],
            ),
            ApiError::TenantDisabled => (
                "the tenant was revoked; its calls are refused until it is onboarded again"
                    .to_owned(),
                Vec::new(),
            ),
            ApiError::Unavailable(_) => (
                "storage is unavailable; retry shortly".to_owned(),
                Vec::new(),
            ),
            ApiError::Internal(_) => (
                "something went wrong on our side; it has been logged".to_owned(),
                Vec::new(),
            ),
            _ => (self.to_string(), Vec::new()),
        };
        (detail, errors, extra)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Internal(cause) => {
                tracing::error!(outcome = "error", cause, "request failed");
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(outcome = "unavailable", cause, "request failed");
            }
            ApiError::Ops(e) if status.is_server_error() => {
                tracing::warn!(outcome = "upstream", error = %e, "request failed");
            }
            _ => tracing::debug!(outcome = "refused", status = status.as_u16(), error = %self),
        }

        let (slug, title) = self.kind();
        let (detail, errors, extra) = self.detail();
        let mut body = Map::new();
        body.insert(
            "type".to_owned(),
            json!(format!("urn:mailbridge:problem:{slug}")),
        );
        body.insert("title".to_owned(), json!(title));
        body.insert("status".to_owned(), json!(status.as_u16()));
        body.insert("detail".to_owned(), json!(detail));
        body.insert("errors".to_owned(), json!(errors));
        body.extend(extra);

        let mut response = (status, Value::Object(body).to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match &self {
            ApiError::Unauthenticated => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::Ops(OpsError::Throttled { retry_after_secs }) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::Ops(OpsError::Unavailable { .. }) | ApiError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::Conflict { what, .. } => ApiError::Conflict {
                detail: format!("{what} was changed by someone else"),
                current_version: None,
            },
            StoreError::NotFound { .. } => ApiError::NotFound,
            StoreError::Invalid { field, reason } => ApiError::invalid(field, reason),
            StoreError::Unavailable { .. } => ApiError::Unavailable(error.to_string()),
            StoreError::LeaseLost { .. } | StoreError::Corrupt { .. } => {
                ApiError::Internal(error.to_string())
            }
        }
    }
}

impl From<SecretError> for ApiError {
    fn from(error: SecretError) -> ApiError {
        // Secret errors never carry a value, so their text is safe to log.
        match error {
            SecretError::Unavailable { .. } => ApiError::Unavailable(error.to_string()),
            SecretError::InvalidName { .. } | SecretError::Locked { .. } => {
                ApiError::Internal(error.to_string())
            }
        }
    }
}
