//! The transport: one place that sends an operation, impersonating one mailbox, and
//! applies the retry policy.

use std::time::{Duration, Instant};

use bytes::Bytes;
use mailbridge_identity::{AccessToken, TokenSource};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};
use tracing::Instrument as _;
use url::Url;

use crate::endpoint::{check_mailbox, parse_endpoint};
use crate::error::EwsError;
use crate::ops::Operation;
use crate::retry::RetryPolicy;

/// The largest response body read; EWS pages are far smaller, so more means a broken server.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Sends EWS operations for one tenant, impersonating one mailbox per call.
pub struct EwsClient<T> {
    http: reqwest::Client,
    endpoint: Url,
    tokens: T,
    retry: RetryPolicy,
}

impl<T: TokenSource> EwsClient<T> {
    /// A client for `endpoint` (https, or http on loopback) that gets tokens from `tokens`.
    pub fn new(http: reqwest::Client, endpoint: &str, tokens: T) -> Result<EwsClient<T>, EwsError> {
        Ok(EwsClient {
            http,
            endpoint: parse_endpoint(endpoint)?,
            tokens,
            retry: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> EwsClient<T> {
        self.retry = retry;
        self
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Sends `op` as `mailbox` and returns its typed response.
    ///
    /// Transient failures are retried by the policy; a refused token is renewed once and the
    /// request sent once more. An operation that is not idempotent (creating or sending) is
    /// not retried once it may have reached the server: the caller must look for its effect
    /// first (by the CRM id or idempotency key it stamped).
    pub async fn execute<O: Operation>(
        &self,
        mailbox: &str,
        op: &O,
    ) -> Result<O::Response, EwsError> {
        check_mailbox(mailbox)?;
        // Shared bytes: each retry sends the same body without copying it.
        let envelope = Bytes::from(op.to_envelope(mailbox)?);
        let span = tracing::debug_span!("ews_call", op = O::NAME, mailbox = %mailbox_tag(mailbox));
        self.send_with_retry::<O>(mailbox, &envelope)
            .instrument(span)
            .await
    }

    async fn send_with_retry<O: Operation>(
        &self,
        mailbox: &str,
        envelope: &Bytes,
    ) -> Result<O::Response, EwsError> {
        let started = Instant::now();
        let mut token = self.tokens.token().await?;
        let mut renewed = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let request_id = new_request_id();
            let result = self
                .send_once::<O>(mailbox, envelope, &token, &request_id)
                .await;
            let err = match result {
                Ok(response) => return Ok(response),
                Err(err) => err,
            };
            if matches!(err, EwsError::Unauthorized { .. }) && !renewed {
                tracing::warn!(
                    op = O::NAME,
                    attempt,
                    request_id,
                    outcome = "token_refused",
                    "renewing the token once"
                );
                renewed = true;
                token = self.tokens.renew(&token).await?;
                continue;
            }
            if !O::IDEMPOTENT && err.may_have_taken_effect() {
                return Err(err);
            }
            let Some(delay) = self.retry.delay(attempt, &err, started.elapsed()) else {
                return Err(err);
            };
            let back_off_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            tracing::warn!(op = O::NAME, attempt, request_id, back_off_ms, error = %err, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn send_once<O: Operation>(
        &self,
        mailbox: &str,
        envelope: &Bytes,
        token: &AccessToken,
        request_id: &str,
    ) -> Result<O::Response, EwsError> {
        let started = Instant::now();
        let response = self
            .http
            .post(self.endpoint.clone())
            .header(CONTENT_TYPE, "text/xml; charset=utf-8")
            .header(AUTHORIZATION, format!("Bearer {}", token.bearer()))
            .header("X-AnchorMailbox", mailbox)
            .header("client-request-id", request_id)
            .header("return-client-request-id", "true")
            .body(envelope.clone())
            .send()
            .await
            .map_err(|e| self.network_error(&e, false))?;
        let status = response.status().as_u16();
        // Read the few headers a status needs now: reading the body consumes the response.
        let auth = (status == 401)
            .then(|| auth_reason(response.headers()))
            .flatten();
        let back_off = matches!(status, 429 | 503)
            .then(|| retry_after(response.headers()))
            .flatten();
        let body = read_body(response)
            .await
            .map_err(|e| self.network_error(&e, true))?;
        tracing::debug!(
            op = O::NAME,
            request_id,
            status,
            bytes = body.len(),
            duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "EWS response"
        );
        match status {
            200 => O::parse_envelope(body.as_slice()),
            401 => Err(EwsError::Unauthorized { reason: auth }),
            403 => Err(EwsError::Forbidden {
                reason: body_snippet(&body),
            }),
            429 | 503 => Err(EwsError::Throttled { back_off }),
            // EWS sends SOAP faults with HTTP 500.
            500 => match O::parse_envelope(body.as_slice()) {
                Err(fault @ EwsError::SoapFault { .. }) => Err(fault),
                _ => Err(EwsError::HttpStatus {
                    status,
                    detail: body_snippet(&body),
                }),
            },
            _ => Err(EwsError::HttpStatus {
                status,
                detail: body_snippet(&body),
            }),
        }
    }

    fn network_error(&self, err: &reqwest::Error, body_started: bool) -> EwsError {
        let detail = if err.is_timeout() {
            "timed out".to_owned()
        } else if err.is_connect() {
            "could not connect".to_owned()
        } else if body_started {
            "connection lost while reading the response".to_owned()
        } else {
            "connection lost while sending the request".to_owned()
        };
        EwsError::Network {
            host: self.endpoint.host_str().unwrap_or_default().to_owned(),
            detail,
            maybe_sent: !err.is_connect(),
        }
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::with_capacity(response.content_length().map_or(8192, |n| {
        usize::try_from(n)
            .unwrap_or(MAX_RESPONSE_BYTES)
            .min(MAX_RESPONSE_BYTES)
    }));
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            // The caller sees a truncated document and reports it as malformed.
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The reason for a 401, from `x-ms-diagnostics` (Exchange Online) or `WWW-Authenticate`.
fn auth_reason(headers: &HeaderMap) -> Option<String> {
    let diagnostics = headers
        .get("x-ms-diagnostics")
        .and_then(|v| v.to_str().ok());
    let www = headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok());
    let raw = diagnostics.or(www)?;
    let reason = ["reason=\"", "error_description=\""]
        .iter()
        .find_map(|key| {
            raw.split_once(key)
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(r, _)| r)
        })
        .unwrap_or(raw);
    Some(shorten(reason, 300))
}

fn body_snippet(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    (!text.is_empty()).then(|| shorten(text, 200))
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A stable, non-reversible tag for a mailbox address, so logs can follow one mailbox
/// without holding the address (FNV-1a over the lower-cased address).
pub fn mailbox_tag(mailbox: &str) -> String {
    let hash = mailbox.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("mbx-{:012x}", hash >> 16)
}

/// A random request id in GUID form, echoed by Exchange in its logs and in ours.
fn new_request_id() -> String {
    let a = fastrand::u64(..);
    let b = fastrand::u64(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}
