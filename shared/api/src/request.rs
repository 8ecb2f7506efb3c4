//! What wraps every route: the request id, one span per request with stable fields, the
//! summary log line and the body-size check.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, header};
use sha2::{Digest, Sha256};
use tracing::Instrument;
use tracing::field::Empty;

use crate::auth::{hex, random_hex};
use crate::problem::ApiError;

/// The header carrying the request id, in and out.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Per-route settings, given to the route's middleware and put in the request's extensions
/// for the extractors.
#[derive(Debug, Clone, Copy)]
pub struct RouteInfo {
    /// The operation's name in logs, e.g. `contacts.put`.
    pub op: &'static str,
    /// The largest body the route reads, in bytes.
    pub body_limit: usize,
}

/// The caller's request id when it is a sensible one (1 to 128 visible ASCII characters),
/// else a new random one.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| random_hex(16).unwrap_or_default(), str::to_owned)
}

/// The middleware around each route.
pub(crate) async fn around_route(
    State(route): State<RouteInfo>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = request_id(&request);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        op = route.op,
        method = %request.method(),
        caller = Empty,
        tenant = Empty,
        mailbox = Empty,
    );

    async move {
        let started = Instant::now();
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let too_large = declared.is_some_and(|n| n > route.body_limit as u64);

        let mut response = if too_large {
            ApiError::TooLarge {
                limit: route.body_limit,
            }
            .into_response()
        } else {
            request.extensions_mut().insert(route);
            next.run(request).await
        };

        let status = response.status().as_u16();
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(status, duration_ms, "request done");
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        response
    }
    .instrument(span)
    .await
}

/// Records who is calling on the request's span: `admin` or `api:<key id>`.
pub(crate) fn record_caller(actor: &str) {
    tracing::Span::current().record("caller", actor);
}

/// Records the tenant on the request's span.
pub(crate) fn record_tenant(tenant: &str) {
    tracing::Span::current().record("tenant", tenant);
}

/// Records the mailbox on the request's span, hashed: an address is personal data and the
/// request log is kept at info level.
pub(crate) fn record_mailbox(address: &str) {
    let digest = Sha256::digest(address.as_bytes());
    tracing::Span::current().record("mailbox", hex(&digest[..6]).as_str());
}
