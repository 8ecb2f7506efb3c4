//! The crate's one error type, and the classification every caller acts on.

use std::time::Duration;

use mailbridge_identity::IdentityError;

use crate::response_code::ResponseCode;

/// What a caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Transient: retry with back-off.
    Retryable,
    /// The server is throttling: wait (the error may name how long) and slow down.
    Throttling,
    /// The credentials or token were refused: refresh the token once, then stop.
    Auth,
    /// The app may not do this (missing permission, impersonation refused, EWS blocked).
    Permission,
    /// The item, folder or mailbox does not exist.
    NotFound,
    /// The item changed underneath us (stale change key): re-read, merge, retry.
    Conflict,
    /// The sync state is no longer accepted: re-enumerate the folder.
    InvalidSyncState,
    /// Retrying cannot help: bad input, bad request or an unexpected server answer.
    Fatal,
}

/// A failed response message: one item's (or one request's) error in EWS terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseError {
    /// The response code, raw text kept.
    pub code: ResponseCode,
    /// `MessageText`, the server's explanation.
    pub message: String,
    /// `BackOffMilliseconds` from `MessageXml`, when the server named one.
    pub back_off: Option<Duration>,
    /// Whether the server sent this as a warning rather than an error.
    pub warning: bool,
}

impl ResponseError {
    /// What a caller should do about this failure.
    pub fn kind(&self) -> ErrorKind {
        self.code.kind()
    }
}

impl std::fmt::Display for ResponseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code.as_str())?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(back_off) = self.back_off {
            write!(f, " (back off {} ms)", back_off.as_millis())?;
        }
        Ok(())
    }
}

/// Everything that can go wrong talking EWS.
#[derive(Debug, thiserror::Error)]
pub enum EwsError {
    /// A value given to this crate cannot be sent; nothing was sent.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Which value (an EWS element or attribute name, or a parameter).
        field: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The endpoint is plain http and not loopback; tokens must not cross a network in clear.
    #[error(
        "refusing the insecure endpoint {url}: EWS endpoints must use https (plain http only on loopback)"
    )]
    InsecureEndpoint {
        /// The endpoint as given.
        url: String,
    },

    /// Getting a token failed; the identity error carries the diagnosis.
    #[error("could not get an access token: {0}")]
    Identity(Box<IdentityError>),

    /// HTTP 401: the token was refused.
    #[error("the server refused the access token (HTTP 401){}", reason_suffix(.reason.as_deref()))]
    Unauthorized {
        /// The reason the server gave, from `WWW-Authenticate` or `x-ms-diagnostics`.
        reason: Option<String>,
    },

    /// HTTP 403: the app is not allowed (EWS disabled, app not on the allow-list, policy).
    #[error("the server forbids this request (HTTP 403){}", reason_suffix(.reason.as_deref()))]
    Forbidden {
        /// What the server said, shortened.
        reason: Option<String>,
    },

    /// The server is throttling: `ErrorServerBusy`, HTTP 429, or HTTP 503 with `Retry-After`.
    #[error("throttled by the server{}", back_off_suffix(*.back_off))]
    Throttled {
        /// How long the server asked us to wait, when it said.
        back_off: Option<Duration>,
    },

    /// Any other HTTP failure status.
    #[error("HTTP {status} from the EWS endpoint{}", reason_suffix(.detail.as_deref()))]
    HttpStatus {
        /// The status code.
        status: u16,
        /// The start of the body, when it was text.
        detail: Option<String>,
    },

    /// The connection failed, was reset or timed out.
    #[error("network failure talking to {host}: {detail}")]
    Network {
        /// The host we talked to.
        host: String,
        /// What happened (connect, reset, timeout), without any header or body.
        detail: String,
        /// Whether the request may have reached the server (a reset after sending).
        maybe_sent: bool,
    },

    /// The response body is not a well-formed EWS message (truncated, not XML, wrong shape).
    #[error("malformed EWS response: {detail}")]
    Malformed {
        /// What was wrong, naming the element.
        detail: String,
    },

    /// A SOAP fault instead of a response.
    #[error("SOAP fault {}: {message}", .code.as_str())]
    SoapFault {
        /// The EWS code from the fault detail (or its `faultcode`).
        code: ResponseCode,
        /// The `faultstring`.
        message: String,
        /// `BackOffMilliseconds`, for a busy server.
        back_off: Option<Duration>,
    },

    /// The request's one response message reported a failure.
    #[error("EWS error {0}")]
    Response(ResponseError),
}

impl From<IdentityError> for EwsError {
    fn from(err: IdentityError) -> EwsError {
        EwsError::Identity(Box::new(err))
    }
}

impl EwsError {
    pub(crate) fn malformed(detail: impl Into<String>) -> EwsError {
        EwsError::Malformed {
            detail: detail.into(),
        }
    }

    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> EwsError {
        EwsError::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// What a caller should do about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            EwsError::InvalidInput { .. } | EwsError::InsecureEndpoint { .. } => ErrorKind::Fatal,
            EwsError::Identity(err) if err.is_retryable() => ErrorKind::Retryable,
            EwsError::Identity(_) | EwsError::Unauthorized { .. } => ErrorKind::Auth,
            EwsError::Forbidden { .. } => ErrorKind::Permission,
            EwsError::Throttled { .. } => ErrorKind::Throttling,
            EwsError::HttpStatus { status, .. } => match status {
                404 => ErrorKind::NotFound,
                408 | 500 | 502 | 504 => ErrorKind::Retryable,
                _ => ErrorKind::Fatal,
            },
            // A cut-off or garbled body is most often a dropped connection.
            EwsError::Network { .. } | EwsError::Malformed { .. } => ErrorKind::Retryable,
            EwsError::SoapFault { code, .. } => code.kind(),
            EwsError::Response(err) => err.kind(),
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), ErrorKind::Retryable | ErrorKind::Throttling)
    }

    /// The back-off the server asked for, if it named one.
    pub fn back_off(&self) -> Option<Duration> {
        match self {
            EwsError::Throttled { back_off } | EwsError::SoapFault { back_off, .. } => *back_off,
            EwsError::Response(err) => err.back_off,
            _ => None,
        }
    }

    /// Whether the request may have been carried out although no answer arrived: a
    /// connection lost after sending, or an answer too broken to read.
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            EwsError::Network { maybe_sent, .. } => *maybe_sent,
            EwsError::Malformed { .. } => true,
            EwsError::HttpStatus { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The EWS response code, when the server gave one.
    pub fn response_code(&self) -> Option<&ResponseCode> {
        match self {
            EwsError::SoapFault { code, .. } => Some(code),
            EwsError::Response(err) => Some(&err.code),
            _ => None,
        }
    }
}

fn reason_suffix(reason: Option<&str>) -> String {
    reason.map(|r| format!(": {r}")).unwrap_or_default()
}

fn back_off_suffix(back_off: Option<Duration>) -> String {
    back_off
        .map(|b| format!("; back off {} ms", b.as_millis()))
        .unwrap_or_default()
}
