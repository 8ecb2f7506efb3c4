//! What every route enforces before a handler runs: body size limits (413), JSON media
//! type (415), unknown paths and methods (404, 405), all as problem responses, and the
//! request id echoed or generated.

#![allow(clippy::unwrap_used)]

mod harness;

use axum::body::Body;
use harness::{ADMIN_KEY, Harness, MAILBOX_A, TENANT_A, req};
use mailbridge_api::{DEFAULT_BODY_LIMIT, SEND_BODY_LIMIT, served_routes};
use mailbridge_store::{LocalSecretFile, SqliteStore};
use serde_json::json;

/// A concrete path for a route template.
fn path(template: &str) -> String {
    template
        .replace("{id}", TENANT_A)
        .replace("{address}", MAILBOX_A)
        .replace("{crm_id}", "c1")
}

#[tokio::test]
async fn every_route_refuses_a_declared_body_over_its_limit() {
    let (h, _, _) = Harness::with_two_tenants().await;
    for route in served_routes::<SqliteStore, LocalSecretFile, harness::TestOps>() {
        let oversize = vec![b' '; route.body_limit + 1];

        let answer = req(route.verb.as_str(), &path(route.path))
            .key(ADMIN_KEY)
            .raw_json(oversize)
            .send(&h)
            .await;

        assert!(
            answer.is_problem(413),
            "{} {}: {}",
            route.verb.as_str(),
            route.path,
            answer.text
        );
        assert_eq!(answer.body["limit"], route.body_limit);
        assert_eq!(answer.fields(), ["body"]);
    }
}

#[tokio::test]
async fn a_body_without_a_length_is_cut_off_at_the_limit() {
    let (h, _, _) = Harness::with_two_tenants().await;
    let mut big = br#"{"data": {"notes": ""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', DEFAULT_BODY_LIMIT));
    big.extend(br#""}}"#);

    let answer = req("PUT", &format!("/v1/mailboxes/{MAILBOX_A}/contacts/c1"))
        .key(ADMIN_KEY)
        .header("content-type", "application/json")
        .body(Body::from(big))
        .send(&h)
        .await;

    assert!(answer.is_problem(413), "{}", answer.text);
}

#[tokio::test]
async fn send_takes_bodies_up_to_ten_mib() {
    let (h, _, _) = Harness::with_two_tenants().await;
    let uri = format!("/v1/mailboxes/{MAILBOX_A}/send");
    // One MiB of text: over the default limit, within the send route's.
    let message = json!({ "to": ["c@example.com"], "subject": "s", "text": "x".repeat(1 << 20) });

    let accepted = req("POST", &uri)
        .key(ADMIN_KEY)
        .header("idempotency-key", "big-1")
        .json(&message)
        .send(&h)
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);

    let refused = req("POST", &uri)
        .key(ADMIN_KEY)
        .header("idempotency-key", "big-2")
        .raw_json(vec![b' '; SEND_BODY_LIMIT + 1])
        .send(&h)
        .await;
    assert!(refused.is_problem(413));
}

#[tokio::test]
async fn bodies_must_be_json() {
    let (h, _, _) = Harness::with_two_tenants().await;
    for content_type in [None, Some("text/plain"), Some("application/jsonx")] {
        let mut request = req("POST", &format!("/v1/tenants/{TENANT_A}/mailboxes")).key(ADMIN_KEY);
        if let Some(value) = content_type {
            request = request.header("content-type", value);
        }
        let answer = request
            .body(Body::from(r#"{"address":"x@a.example"}"#))
            .send(&h)
            .await;
        assert!(answer.is_problem(415), "{content_type:?}: {}", answer.text);
        assert_eq!(answer.fields(), ["Content-Type"]);
    }
    let with_charset = req("POST", &format!("/v1/tenants/{TENANT_A}/mailboxes"))
        .key(ADMIN_KEY)
        .header("content-type", "application/json; charset=utf-8")
        .body(Body::from(r#"{"address":"x@a.example"}"#))
        .send(&h)
        .await;
    assert_eq!(with_charset.status, 201, "{}", with_charset.text);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let h = Harness::new();
    let missing = req("GET", "/v1/nothing-here").key(ADMIN_KEY).send(&h).await;
    assert!(missing.is_problem(404), "{}", missing.text);
    assert_eq!(missing.body["type"], "urn:mailbridge:problem:no-such-route");

    let wrong = req("PATCH", &format!("/v1/tenants/{TENANT_A}"))
        .key(ADMIN_KEY)
        .send(&h)
        .await;
    assert!(wrong.is_problem(405), "{}", wrong.text);
}

#[tokio::test]
async fn the_request_id_is_echoed_or_generated() {
    let h = Harness::new();
    let given = req("GET", "/openapi.json")
        .header("x-request-id", "crm-req-42")
        .send(&h)
        .await;
    assert_eq!(given.headers["x-request-id"], "crm-req-42");

    let made = req("GET", "/openapi.json")
        .header("x-request-id", "has spaces")
        .send(&h)
        .await;
    let id = made.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
}
