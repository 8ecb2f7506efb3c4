//! Reading the token endpoint's answer: a token, or a typed failure. Pure, so it tests with
//! plain strings.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::scrub::Scrubber;
use crate::{AccessToken, Cause, Diagnosis, IdentityError};

/// How much of a non-JSON error body is kept in [`IdentityError::InvalidResponse`].
const EXCERPT_CHARS: usize = 200;

/// The token endpoint's HTTP answer, as received.
pub(crate) struct Answer<'a> {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

/// A successful client-credentials answer. No `Debug`: it holds the raw token.
#[derive(Deserialize)]
struct TokenBody {
    token_type: String,
    expires_in: Seconds,
    access_token: String,
}

/// `expires_in` is a number on the v2.0 endpoint but was a string on v1.0.
#[derive(Deserialize)]
#[serde(untagged)]
enum Seconds {
    Number(u64),
    Text(String),
}

/// The Microsoft identity platform's error body.
#[derive(Deserialize)]
struct PlatformError {
    error: String,
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<u32>,
    trace_id: Option<String>,
    correlation_id: Option<String>,
}

/// Turns an answer into a token or the error that says what to do.
pub(crate) fn interpret(
    answer: &Answer<'_>,
    scrubber: &Scrubber,
    now: SystemTime,
) -> Result<AccessToken, IdentityError> {
    let status = answer.status;
    match status {
        200..=299 => read_token(status, answer.body, now),
        429 => {
            let platform = platform_error(answer.body, scrubber);
            Err(IdentityError::Throttled {
                retry_after: answer.retry_after.and_then(|v| parse_retry_after(v, now)),
                correlation_id: platform.as_ref().and_then(|p| p.1.clone()),
                diagnosis: platform.map_or_else(
                    || Diagnosis::of(Cause::Throttled),
                    |p| p.0.with_kind(Cause::Throttled),
                ),
            })
        }
        500..=599 => {
            let platform = platform_error(answer.body, scrubber);
            Err(IdentityError::Unavailable {
                status,
                retry_after: answer.retry_after.and_then(|v| parse_retry_after(v, now)),
                correlation_id: platform.as_ref().and_then(|p| p.1.clone()),
                diagnosis: platform.map_or_else(
                    || Diagnosis::of(Cause::PlatformUnavailable),
                    |p| p.0.with_kind(Cause::PlatformUnavailable),
                ),
            })
        }
        400..=499 => match serde_json::from_slice::<PlatformError>(answer.body) {
            Ok(body) => Err(IdentityError::Rejected {
                status,
                trace_id: scrubber.clean_opt(body.trace_id),
                correlation_id: scrubber.clean_opt(body.correlation_id),
                diagnosis: Diagnosis::from_platform(
                    body.error_codes,
                    Some(scrubber.clean(&body.error)),
                    scrubber.clean_opt(body.error_description),
                ),
            }),
            Err(_) => Err(IdentityError::InvalidResponse {
                status,
                detail: format!("body: {}", excerpt(answer.body, scrubber)),
            }),
        },
        _ => Err(IdentityError::InvalidResponse {
            status,
            detail: "unexpected HTTP status for a token request".to_owned(),
        }),
    }
}

/// Parses a success body. Errors never quote the body: it may hold the token.
fn read_token(status: u16, body: &[u8], now: SystemTime) -> Result<AccessToken, IdentityError> {
    let invalid = |detail: String| IdentityError::InvalidResponse { status, detail };
    let parsed: TokenBody = serde_json::from_slice(body).map_err(|e| {
        invalid(format!(
            "the success body is not token JSON ({:?} problem at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;

    if !parsed.token_type.eq_ignore_ascii_case("bearer") {
        return Err(invalid(format!(
            "token_type is {:?}, expected Bearer",
            parsed.token_type.chars().take(20).collect::<String>()
        )));
    }
    if parsed.access_token.is_empty() {
        return Err(invalid("access_token is empty".to_owned()));
    }
    let seconds = match parsed.expires_in {
        Seconds::Number(n) => Some(n),
        Seconds::Text(text) => text.trim().parse().ok(),
    };
    let Some(seconds) = seconds.filter(|s| *s > 0) else {
        return Err(invalid(
            "expires_in is not a positive number of seconds".to_owned(),
        ));
    };

    Ok(AccessToken::new(
        parsed.access_token,
        now + Duration::from_secs(seconds),
    ))
}

/// The diagnosis and correlation id in an error body, if it is the platform's JSON.
fn platform_error(body: &[u8], scrubber: &Scrubber) -> Option<(Diagnosis, Option<String>)> {
    let body: PlatformError = serde_json::from_slice(body).ok()?;
    let diagnosis = Diagnosis::from_platform(
        body.error_codes,
        Some(scrubber.clean(&body.error)),
        scrubber.clean_opt(body.error_description),
    );
    Some((diagnosis, scrubber.clean_opt(body.correlation_id)))
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::from(at);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A short, single-line, secret-free excerpt of an error body.
fn excerpt(body: &[u8], scrubber: &Scrubber) -> String {
    if body.is_empty() {
        return "(empty)".to_owned();
    }
    // Scrub before cutting, so a cut cannot leave half a secret behind.
    let text = scrubber.clean(&String::from_utf8_lossy(body));
    let single_line = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(char::is_control, "");
    let mut out: String = single_line.chars().take(EXCERPT_CHARS).collect();
    if single_line.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    format!("{out:?}")
}

#[cfg(test)]
mod tests;
