//! The admin-api function on API Gateway HTTP API (payload 2.0) event JSON: each event is
//! turned into a request the way `lambda_http` does on Lambda and served by the function's
//! router, with state in `DynamoDB`, secrets in Secrets Manager and the sync and send retry
//! queues in SQS on moto, and Exchange played by the simulator.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use axum::Router;
use chrono::{Duration, Utc};
use http_body_util::BodyExt as _;
use mailbridge_admin_api::{SqsRetryQueue, api_config, router};
use mailbridge_api::QueuedSend;
use mailbridge_ews_sim::model::SeedSpec;
use mailbridge_ews_sim::{ThrottlePolicy, preset};
use mailbridge_fn_common::{SqsQueue, SyncRequest};
use mailbridge_fn_testkit::{Deployment, Onboarded};
use mailbridge_store::{StateStore, TenantStatus};
use serde_json::Value;
use tower::ServiceExt as _;

const ADMIN_KEY: &str = "mb-admin-5f2c8e1a9d4b7e3c6a0f";

/// The function's router on a fresh deployment with Contoso onboarded.
async fn start() -> (Deployment, Onboarded, Router) {
    let deployment = Deployment::new().await;
    let contoso = deployment.contoso(2, Duration::days(300)).await;
    let services = deployment.fresh_services();
    let queue = SqsQueue::new(deployment.sqs(), deployment.queue_url());
    let retry = SqsRetryQueue::new(deployment.sqs(), deployment.retry_queue_url());
    let config = api_config(|_| Some(mailbridge_api::hash_key(ADMIN_KEY))).unwrap();
    (deployment, contoso, router(services, queue, retry, config))
}

/// Serves the event in `tests/events/{name}` (placeholders filled from `vars`).
async fn call(router: &Router, name: &str, vars: &[(&str, &str)]) -> (u16, Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/events")
        .join(name);
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (name, value) in vars.iter().chain(&[("admin_key", ADMIN_KEY)]) {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    let request = lambda_http::request::from_str(&text).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, json)
}

#[tokio::test]
async fn the_openapi_description_is_served_from_an_api_gateway_event() {
    let (_deployment, _contoso, router) = start().await;

    let (status, body) = call(&router, "get-openapi.json", &[]).await;

    assert_eq!(status, 200);
    assert!(
        body["openapi"].as_str().unwrap().starts_with("3."),
        "{body}"
    );
}

#[tokio::test]
async fn sync_now_puts_a_sync_request_on_the_queue() {
    let (deployment, contoso, router) = start().await;

    let (status, body) = call(&router, "sync-now.json", &[]).await;

    assert_eq!(status, 202, "{body}");
    let received = deployment
        .sqs()
        .receive_message()
        .queue_url(deployment.queue_url())
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let requests: Vec<SyncRequest> = received
        .messages()
        .iter()
        .map(|m| SyncRequest::parse(m.body()).unwrap())
        .collect();
    assert_eq!(
        requests,
        [SyncRequest::new(contoso.tenant.mailboxes[0].clone(), "api")]
    );
}

#[tokio::test]
async fn a_send_goes_out_once_from_the_mailbox_even_when_retried() {
    let (_deployment, contoso, router) = start().await;

    let (first_status, first) = call(&router, "send.json", &[]).await;
    let (second_status, second) = call(&router, "send.json", &[]).await;

    assert_eq!(
        (first_status, second_status),
        (200, 200),
        "{first} {second}"
    );
    assert_eq!(first["replayed"], false);
    assert_eq!(second["replayed"], true);
    let outbox = contoso.sim.world().outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].mailbox, contoso.tenant.mailboxes[0]);
}

#[tokio::test]
async fn a_throttled_send_is_spooled_and_its_pointer_queued_for_send_mail() {
    let (deployment, contoso, router) = start().await;
    contoso.sim.world().set_throttle(ThrottlePolicy {
        max_concurrency: 0,
        back_off_ms: 300,
        ..ThrottlePolicy::default()
    });

    let (status, body) = call(&router, "send.json", &[]).await;

    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "queued");
    let received = deployment
        .sqs()
        .receive_message()
        .queue_url(deployment.retry_queue_url())
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .collect();
    let mailbox = contoso.tenant.mailboxes[0].clone();
    assert_eq!(
        bodies
            .iter()
            .map(|b| QueuedSend::parse(b).unwrap())
            .collect::<Vec<_>>(),
        [QueuedSend {
            mailbox: mailbox.clone(),
            idempotency_key: "crm-outbox-20241204-000731".to_owned(),
        }]
    );
    let spooled = deployment
        .services
        .state
        .get_spool(&mailbox, "crm-outbox-20241204-000731", Utc::now())
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&spooled).contains("Viewing on Thursday"));
    assert!(contoso.sim.world().outbox().is_empty());
}

#[tokio::test]
async fn the_calendar_view_reads_the_mailbox_through_exchange() {
    let (_deployment, contoso, router) = start().await;
    let spec = SeedSpec {
        events: 6,
        seed: 11,
        ..SeedSpec::default()
    };
    contoso
        .sim
        .world()
        .seed(&contoso.tenant.mailboxes[0], &spec)
        .unwrap();
    let start = Utc::now() - Duration::days(1);
    let end = start + Duration::days(62);
    let (start, end) = (
        start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        end.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );

    let (status, body) = call(
        &router,
        "calendar.json",
        &[("start", &start), ("end", &end)],
    )
    .await;

    assert_eq!(status, 200, "{body}");
    let entries = body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {body}"));
    assert_eq!(entries.len(), 6, "{body}");
}

#[tokio::test]
async fn onboarding_verifies_the_credentials_against_exchange_and_names_a_wrong_secret() {
    let (deployment, contoso, router) = start().await;
    let fabrikam = preset::tenant(
        contoso.sim.world(),
        "0f4b2a6c-3d5e-4f70-8a9b-1c2d3e4f5a6b",
        "fabrikam.example",
        &["chris.ek"],
    )
    .unwrap();
    let expires = (Utc::now() + Duration::days(365)).date_naive().to_string();
    let authority = contoso.sim.base_url();
    let ews = contoso.sim.ews_url();
    let vars = |secret: &str| {
        [
            ("tenant_id", fabrikam.tenant_id.clone()),
            ("client_id", fabrikam.client_id.clone()),
            ("client_secret", secret.to_owned()),
            ("secret_expires", expires.clone()),
            ("test_mailbox", fabrikam.mailboxes[0].clone()),
            ("authority", authority.clone()),
            ("ews_endpoint", ews.clone()),
        ]
    };
    let wrong = vars("sim~wrong~secret");
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let (status, refused) = call(&router, "onboard-tenant.json", &wrong).await;

    assert_eq!(status / 100, 4, "{refused}");
    let text = refused.to_string();
    assert!(text.contains("token"), "{text}");
    assert!(!text.contains("sim~wrong~secret"), "{text}");
    let state = &deployment.services.state;
    assert!(
        state
            .get_tenant(&fabrikam.tenant_id)
            .await
            .unwrap()
            .is_none()
    );

    let right = vars(&fabrikam.client_secret);
    let right: Vec<(&str, &str)> = right.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, created) = call(&router, "onboard-tenant.json", &right).await;

    assert_eq!(status, 201, "{created}");
    let tenant = state
        .get_tenant(&fabrikam.tenant_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tenant.status, TenantStatus::Active);
}

#[tokio::test]
async fn a_request_without_the_admin_key_is_refused() {
    let (_deployment, _contoso, router) = start().await;
    let request = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/events/sync-now.json"),
    )
    .unwrap()
    .replace("{{admin_key}}", "not-the-admin-key");
    let response = router
        .clone()
        .oneshot(lambda_http::request::from_str(&request).unwrap())
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 401);
}

/// The stack's sample API request (`infra/events/http-get-tenant.json`), when it exists,
/// is answered (its key is not one this deployment issued, so it is refused).
#[tokio::test]
async fn the_stacks_sample_request_is_answered() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/events/http-get-tenant.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let (_deployment, _contoso, router) = start().await;

    let request = lambda_http::request::from_str(&text).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();

    assert_eq!(response.status().as_u16(), 401);
}
