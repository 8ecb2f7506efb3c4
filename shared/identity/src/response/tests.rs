use std::time::{Duration, SystemTime};

use super::*;
use crate::ClientSecret;

fn scrubber() -> Scrubber {
    Scrubber::new(&ClientSecret::new("s3cr3t-VALUE-xyz"))
}

fn answer(status: u16, body: &str) -> Result<AccessToken, IdentityError> {
    let answer = Answer {
        status,
        retry_after: None,
        body: body.as_bytes(),
    };
    interpret(&answer, &scrubber(), SystemTime::now())
}

#[test]
fn retry_after_in_seconds_is_read() {
    let now = SystemTime::now();

    assert_eq!(
        parse_retry_after(" 120 ", now),
        Some(Duration::from_mins(2))
    );
}

#[test]
fn retry_after_as_an_http_date_is_measured_from_now() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let in_90_s = chrono::DateTime::<chrono::Utc>::from(now + Duration::from_secs(90))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();

    assert_eq!(
        parse_retry_after(&in_90_s, now),
        Some(Duration::from_secs(90))
    );
}

#[test]
fn retry_after_in_the_past_means_now_and_garbage_means_unknown() {
    let now = SystemTime::now();

    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
}

#[test]
fn expires_in_as_a_string_is_accepted() {
    let token = answer(
        200,
        r#"{"token_type":"Bearer","expires_in":"3599","access_token":"t"}"#,
    )
    .unwrap();

    assert!(!token.expires_within(Duration::from_mins(50)));
}

#[test]
fn a_zero_lifetime_is_refused() {
    let err = answer(
        200,
        r#"{"token_type":"Bearer","expires_in":0,"access_token":"t"}"#,
    )
    .unwrap_err();

    assert!(err.to_string().contains("expires_in"), "{err}");
}

#[test]
fn a_success_body_missing_the_token_is_not_quoted() {
    let err = answer(
        200,
        r#"{"token_type":"Bearer","expires_in":60,"acces_token":"leak"}"#,
    )
    .unwrap_err();

    assert!(matches!(
        err,
        IdentityError::InvalidResponse { status: 200, .. }
    ));
    assert!(!format!("{err} {err:?}").contains("leak"), "{err:?}");
}

#[test]
fn a_non_json_client_error_keeps_a_short_scrubbed_excerpt() {
    let body = format!("<html>denied s3cr3t-VALUE-xyz {}</html>", "x".repeat(500));

    let err = answer(403, &body).unwrap_err();

    let text = err.to_string();
    assert!(matches!(
        err,
        IdentityError::InvalidResponse { status: 403, .. }
    ));
    assert!(text.contains("denied [redacted]"), "{text}");
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(text.len() < 600, "excerpt should be cut: {}", text.len());
}

#[test]
fn an_unexpected_status_is_an_invalid_response() {
    let err = answer(302, "").unwrap_err();

    assert!(matches!(
        err,
        IdentityError::InvalidResponse { status: 302, .. }
    ));
}

#[test]
fn a_5xx_with_platform_json_keeps_its_codes() {
    let err = answer(
        500,
        r#"{"error":"temporarily_unavailable","error_codes":[90033],"correlation_id":"c-9"}"#,
    )
    .unwrap_err();

    let diagnosis = err.diagnosis().unwrap();
    assert_eq!(diagnosis.kind(), Cause::PlatformUnavailable);
    assert_eq!(diagnosis.codes(), &[90033]);
    assert_eq!(err.correlation_id(), Some("c-9"));
}

#[test]
fn server_fields_that_echo_the_secret_are_scrubbed() {
    let err = answer(
        401,
        r#"{"error":"invalid_client","error_description":"AADSTS7000215: bad s3cr3t-VALUE-xyz",
            "error_codes":[7000215],"trace_id":"s3cr3t-VALUE-xyz","correlation_id":"s3cr3t-VALUE-xyz"}"#,
    )
    .unwrap_err();

    let printed = format!("{err} {err:?}");
    assert!(!printed.contains("s3cr3t"), "{printed}");
    assert_eq!(
        err.diagnosis().unwrap().description(),
        Some("AADSTS7000215: bad [redacted]")
    );
}
