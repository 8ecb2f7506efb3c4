//! The crate's one error type, named for what the caller must do.

use std::sync::Arc;
use std::time::Duration;

use crate::Diagnosis;

/// Why no token could be had.
///
/// Messages name the cause and the fix. They never contain the client secret or a token: text
/// from the server is scrubbed of the secret before it is stored here, and network errors are
/// stored without their URL. The type is `Clone` so that callers waiting on one shared fetch can
/// each receive its failure.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The identity platform refused the credentials or the request: an administrator must fix
    /// the setup named by the diagnosis. Retrying will not help.
    #[error(
        "the identity platform refused the token request (HTTP {status}): {diagnosis} \
         [correlation id {}]",
        correlation_id.as_deref().unwrap_or("none")
    )]
    Rejected {
        /// What went wrong and how to fix it.
        diagnosis: Diagnosis,
        /// The HTTP status, usually 400 or 401.
        status: u16,
        /// The server's `correlation_id`, for a support request to Microsoft.
        correlation_id: Option<String>,
        /// The server's `trace_id`.
        trace_id: Option<String>,
    },

    /// The identity platform is throttling token requests (HTTP 429): back off, then retry.
    #[error(
        "the identity platform is throttling token requests; retry after {} [correlation id {}]",
        wait_text(*retry_after),
        correlation_id.as_deref().unwrap_or("none")
    )]
    Throttled {
        /// How long the server asked callers to wait, from `Retry-After`.
        retry_after: Option<Duration>,
        /// Always [`Cause::Throttled`](crate::Cause::Throttled), with any codes the server sent.
        diagnosis: Diagnosis,
        /// The server's `correlation_id`, if its body had one.
        correlation_id: Option<String>,
    },

    /// The identity platform failed on its side (HTTP 5xx): retry later.
    #[error(
        "the identity platform is unavailable (HTTP {status}); retry after {} \
         [correlation id {}]",
        wait_text(*retry_after),
        correlation_id.as_deref().unwrap_or("none")
    )]
    Unavailable {
        /// The HTTP status.
        status: u16,
        /// How long the server asked callers to wait, from `Retry-After`.
        retry_after: Option<Duration>,
        /// Always [`Cause::PlatformUnavailable`](crate::Cause::PlatformUnavailable).
        diagnosis: Diagnosis,
        /// The server's `correlation_id`, if its body had one.
        correlation_id: Option<String>,
    },

    /// The token endpoint could not be reached, timed out, or dropped the connection: retry, and
    /// check the network path if it repeats.
    #[error("token request to {authority} failed: {diagnosis}")]
    Network {
        /// The authority's base URL (without tenant).
        authority: String,
        /// [`Cause::Unreachable`](crate::Cause::Unreachable),
        /// [`Cause::TimedOut`](crate::Cause::TimedOut) or
        /// [`Cause::ConnectionLost`](crate::Cause::ConnectionLost).
        diagnosis: Diagnosis,
        /// The transport error, stripped of its URL.
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// The answer was not a Microsoft identity platform answer: check that the authority URL
    /// points at the identity platform (and not at a proxy's or portal's page).
    #[error(
        "the token endpoint answered HTTP {status} with something that is not an identity \
         platform answer ({detail}); check that the authority URL points at the identity platform"
    )]
    InvalidResponse {
        /// The HTTP status.
        status: u16,
        /// What was wrong. Never contains a success body (it could hold a token); for error
        /// statuses, a short excerpt scrubbed of the client secret.
        detail: String,
    },

    /// The authority URL is plain `http` on a non-loopback host: use `https`.
    #[error(
        "the authority URL {url} uses plain http on a non-loopback host; use https, because the \
         token request carries the client secret"
    )]
    InsecureAuthority {
        /// The refused URL.
        url: String,
    },

    /// The authority URL is not usable: correct it.
    #[error("the authority URL {url:?} is not usable: {reason}")]
    InvalidAuthority {
        /// The refused URL.
        url: String,
        /// Why it was refused.
        reason: String,
    },

    /// The tenant id cannot be a tenant: enter the Directory (tenant) ID GUID or a verified
    /// domain name of the tenant.
    #[error(
        "the tenant id {tenant_id:?} is not valid: {reason}; enter the Directory (tenant) ID \
         GUID or a verified domain of the tenant"
    )]
    InvalidTenantId {
        /// The refused tenant id.
        tenant_id: String,
        /// Why it was refused.
        reason: String,
    },
}

impl IdentityError {
    /// Whether the same request may succeed later without anyone changing the setup.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. } | Self::Unavailable { .. } | Self::Network { .. }
        )
    }

    /// The decoded cause, for failures that reached or tried to reach the identity platform.
    pub fn diagnosis(&self) -> Option<&Diagnosis> {
        match self {
            Self::Rejected { diagnosis, .. }
            | Self::Throttled { diagnosis, .. }
            | Self::Unavailable { diagnosis, .. }
            | Self::Network { diagnosis, .. } => Some(diagnosis),
            Self::InvalidResponse { .. }
            | Self::InsecureAuthority { .. }
            | Self::InvalidAuthority { .. }
            | Self::InvalidTenantId { .. } => None,
        }
    }

    /// How long the server asked to wait before retrying, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after, .. } | Self::Unavailable { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The HTTP status the token endpoint answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Rejected { status, .. }
            | Self::Unavailable { status, .. }
            | Self::InvalidResponse { status, .. } => Some(*status),
            Self::Throttled { .. } => Some(429),
            _ => None,
        }
    }

    /// The server's correlation id, to quote in a support request.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Self::Rejected { correlation_id, .. }
            | Self::Throttled { correlation_id, .. }
            | Self::Unavailable { correlation_id, .. } => correlation_id.as_deref(),
            _ => None,
        }
    }

    /// A stable `snake_case` word for the `outcome` log field.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Rejected { .. } => "rejected",
            Self::Throttled { .. } => "throttled",
            Self::Unavailable { .. } => "unavailable",
            Self::Network { .. } => "network_error",
            Self::InvalidResponse { .. } => "invalid_response",
            Self::InsecureAuthority { .. } | Self::InvalidAuthority { .. } => "invalid_authority",
            Self::InvalidTenantId { .. } => "invalid_tenant_id",
        }
    }
}

fn wait_text(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!("{} s", wait.as_secs()),
        None => "a short back-off (the server gave no Retry-After)".to_owned(),
    }
}
