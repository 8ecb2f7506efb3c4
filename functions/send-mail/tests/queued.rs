//! A send the API queued, end to end: admin-api's router (fed API Gateway event JSON) meets
//! a throttling Exchange simulator, spools the message in `DynamoDB` and queues a pointer on
//! SQS (moto); the send-mail handler, fed that pointer as SQS event JSON, sends it once from
//! the spool and finishes it, so the caller's repeat of the request gets the receipt.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use aws_lambda_events::event::sqs::SqsBatchResponse;
use axum::Router;
use base64::Engine as _;
use chrono::{Duration, Utc};
use http_body_util::BodyExt as _;
use mailbridge_admin_api::{SqsRetryQueue, api_config, router};
use mailbridge_api::QueuedSend;
use mailbridge_ews_sim::{ThrottlePolicy, World};
use mailbridge_fn_common::SqsQueue;
use mailbridge_fn_testkit::{Deployment, event};
use mailbridge_send_mail::{Deliveries, handle, handle_with};
use mailbridge_store::{Expect, StateStore, StoreError, TenantStatus};
use serde_json::{Value, json};
use tower::ServiceExt as _;

const ADMIN_KEY: &str = "mb-admin-7c1e4a9d2f6b8e0a3c5d";
const MAILBOX: &str = "anna.berg@contoso.example";
/// Over SQS's 256 KiB message limit once base64 in the request.
const ATTACHMENT_BYTES: usize = 300 * 1024;

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/events")
}

/// `text` as it goes inside a JSON string.
fn json_string_content(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap();
    quoted[1..quoted.len() - 1].to_owned()
}

fn admin_router(deployment: &Deployment) -> Router {
    let sync = SqsQueue::new(deployment.sqs(), deployment.queue_url());
    let retry = SqsRetryQueue::new(deployment.sqs(), deployment.retry_queue_url());
    let config = api_config(|_| Some(mailbridge_api::hash_key(ADMIN_KEY))).unwrap();
    router(deployment.fresh_services(), sync, retry, config)
}

/// The offer with a floor plan attached.
fn offer() -> Value {
    let plan: Vec<u8> = (0..ATTACHMENT_BYTES)
        .map(|i| u8::try_from(i % 241).unwrap())
        .collect();
    json!({
        "to": ["lena.becker@customer.example"],
        "subject": "Offer for Elm Street 4",
        "text": "Hello Lena,\n\nthe offer and the floor plan are attached.\n\nAnna",
        "attachments": [{
            "name": "floor-plan.pdf",
            "content_type": "application/pdf",
            "content_base64": base64::engine::general_purpose::STANDARD.encode(plan),
        }],
    })
}

/// POSTs `message` to the send route as API Gateway would hand it to admin-api.
async fn api_send(router: &Router, key: &str, message: &Value) -> (u16, Value) {
    let text = std::fs::read_to_string(events_dir().join("api-send-offer.json"))
        .unwrap()
        .replace("{{admin_key}}", ADMIN_KEY)
        .replace("{{idempotency_key}}", key)
        .replace("{{body}}", &json_string_content(&message.to_string()));
    let request = lambda_http::request::from_str(&text).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The one message on the send retry queue, as an SQS event for send-mail, delivered for
/// the `receive_count`th time.
async fn queued_event(
    deployment: &Deployment,
    receive_count: &str,
) -> (
    String,
    lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>,
) {
    let received = deployment
        .sqs()
        .receive_message()
        .queue_url(deployment.retry_queue_url())
        .max_number_of_messages(10)
        .wait_time_seconds(10)
        .send()
        .await
        .unwrap();
    let [message] = received.messages() else {
        panic!("want one message, got {:?}", received.messages());
    };
    let body = message.body().unwrap().to_owned();
    let event = event(
        events_dir().join("send-queued.json"),
        &[
            ("message_id", message.message_id().unwrap()),
            ("body", &json_string_content(&body)),
            ("receive_count", receive_count),
        ],
    );
    (body, event)
}

/// Every request refused with a back-off short enough for the client's own retries to
/// give up quickly; the send is then queued with a one-second delay.
fn throttle_everything(world: &World) {
    world.set_throttle(ThrottlePolicy {
        max_concurrency: 0,
        back_off_ms: 300,
        ..ThrottlePolicy::default()
    });
}

fn failures(response: &SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

// One send's whole story, in order: splitting it would hide the sequence it checks.
#[allow(clippy::too_many_lines)]
#[tokio::test]
async fn a_large_send_throttled_at_first_is_queued_then_sent_once_from_the_spool() {
    let deployment = Deployment::new().await;
    let contoso = deployment.contoso(0, Duration::days(300)).await;
    let world = contoso.sim.world();
    let api = admin_router(&deployment);
    let message = offer();
    assert!(message.to_string().len() > 256 * 1024);
    throttle_everything(world);

    let (status, queued) = api_send(&api, "crm-outbox-20241204-000901", &message).await;

    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["idempotency_key"], "crm-outbox-20241204-000901");
    assert!(world.outbox().is_empty());
    world.set_throttle(ThrottlePolicy::default());
    let (pointer, sqs_event) = Box::pin(queued_event(&deployment, "1")).await;
    assert!(pointer.len() < 200, "only a pointer is queued: {pointer}");
    assert_eq!(
        QueuedSend::parse(&pointer).unwrap(),
        QueuedSend {
            mailbox: MAILBOX.to_owned(),
            idempotency_key: "crm-outbox-20241204-000901".to_owned(),
        }
    );
    let (status, waiting) = api_send(&api, "crm-outbox-20241204-000901", &message).await;
    assert_eq!(
        (status, &waiting["replayed"]),
        (202, &json!(true)),
        "{waiting}"
    );

    let response = Box::pin(handle(&deployment.services, sqs_event)).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    let outbox = world.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].mailbox, MAILBOX);
    assert_eq!(
        outbox[0].message.subject.as_deref(),
        Some("Offer for Elm Street 4")
    );
    let attachments = &outbox[0].message.attachments;
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].content.len(), ATTACHMENT_BYTES);

    let (status, receipt) = api_send(&api, "crm-outbox-20241204-000901", &message).await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["replayed"], true);
    let state = &deployment.services.state;
    assert!(matches!(
        state
            .get_spool(MAILBOX, "crm-outbox-20241204-000901", Utc::now())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    let trail = state.list_audit(MAILBOX, None, 100).await.unwrap();
    let sent: Vec<_> = trail
        .items
        .iter()
        .filter(|e| e.action == "mail.send")
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].actor, "crm-outbox-worker");
    assert_eq!(
        sent[0].subject,
        "idempotency-key/crm-outbox-20241204-000901"
    );

    // SQS delivers the pointer once more: nothing is spooled, nothing is sent.
    let again = event(
        events_dir().join("send-queued.json"),
        &[
            ("message_id", "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"),
            ("body", &json_string_content(&pointer)),
            ("receive_count", "2"),
        ],
    );
    let response = Box::pin(handle(&deployment.services, again)).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(world.outbox().len(), 1);
}

#[tokio::test]
async fn a_queued_send_the_tenant_can_no_longer_make_is_finished_as_failed() {
    let deployment = Deployment::new().await;
    let contoso = deployment.contoso(0, Duration::days(300)).await;
    let world = contoso.sim.world();
    let api = admin_router(&deployment);
    throttle_everything(world);
    let (status, body) = api_send(&api, "crm-outbox-20241204-000902", &offer()).await;
    assert_eq!(status, 202, "{body}");
    world.set_throttle(ThrottlePolicy::default());
    let state = &deployment.services.state;
    let mut tenant = state
        .get_tenant(&contoso.tenant.tenant_id)
        .await
        .unwrap()
        .unwrap();
    tenant.status = TenantStatus::CredentialExpired;
    state
        .put_tenant(&tenant, Expect::Version(tenant.version))
        .await
        .unwrap();
    let (_, sqs_event) = Box::pin(queued_event(&deployment, "1")).await;

    let response = Box::pin(handle(&deployment.services, sqs_event)).await;

    assert!(failures(&response).is_empty(), "not retried: {response:?}");
    assert!(world.outbox().is_empty());
    assert!(matches!(
        state
            .get_spool(MAILBOX, "crm-outbox-20241204-000902", Utc::now())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // The record says failed: the caller's repeat tries again and hears why it cannot.
    let (status, problem) = api_send(&api, "crm-outbox-20241204-000902", &offer()).await;
    assert_eq!(status, 502, "{problem}");
}

#[tokio::test]
async fn a_queued_send_still_throttled_is_reported_for_redelivery_and_keeps_its_spool() {
    let deployment = Deployment::new().await;
    let contoso = deployment.contoso(0, Duration::days(300)).await;
    let world = contoso.sim.world();
    let api = admin_router(&deployment);
    throttle_everything(world);
    let (status, body) = api_send(&api, "crm-outbox-20241204-000903", &offer()).await;
    assert_eq!(status, 202, "{body}");
    // Now with a back-off longer than the client waits in one call.
    world.set_throttle(ThrottlePolicy {
        max_concurrency: 0,
        back_off_ms: 120_000,
        ..ThrottlePolicy::default()
    });
    let (_, sqs_event) = Box::pin(queued_event(&deployment, "1")).await;
    let id = sqs_event.payload.records[0].message_id.clone().unwrap();

    let response = Box::pin(handle(&deployment.services, sqs_event)).await;

    assert_eq!(failures(&response), [id.as_str()]);
    assert!(world.outbox().is_empty());
    let spooled = deployment
        .services
        .state
        .get_spool(MAILBOX, "crm-outbox-20241204-000903", Utc::now())
        .await;
    assert!(spooled.is_ok(), "{spooled:?}");
    let (status, waiting) = api_send(&api, "crm-outbox-20241204-000903", &offer()).await;
    assert_eq!(status, 202, "still queued: {waiting}");
}

#[tokio::test]
async fn a_queued_send_failing_on_its_last_delivery_is_recorded_failed_so_a_repeat_sends_anew() {
    let deployment = Deployment::new().await;
    let contoso = deployment.contoso(0, Duration::days(300)).await;
    let world = contoso.sim.world();
    let api = admin_router(&deployment);
    throttle_everything(world);
    let (status, body) = api_send(&api, "crm-outbox-20241204-000904", &offer()).await;
    assert_eq!(status, 202, "{body}");
    world.set_throttle(ThrottlePolicy {
        max_concurrency: 0,
        back_off_ms: 120_000,
        ..ThrottlePolicy::default()
    });
    let (_, sqs_event) = Box::pin(queued_event(&deployment, "3")).await;
    let deliveries = Deliveries { max: Some(3) };

    let response = Box::pin(handle_with(&deployment.services, deliveries, sqs_event)).await;

    assert_eq!(
        failures(&response).len(),
        1,
        "it still goes to the dead-letter queue"
    );
    let state = &deployment.services.state;
    assert!(
        state
            .get_spool(MAILBOX, "crm-outbox-20241204-000904", Utc::now())
            .await
            .is_ok(),
        "kept for a move back from the dead-letter queue"
    );
    world.set_throttle(ThrottlePolicy::default());
    let (status, sent) = api_send(&api, "crm-outbox-20241204-000904", &offer()).await;
    assert_eq!(status, 200, "the repeat sends anew: {sent}");
    assert_eq!(sent["replayed"], false);
    assert_eq!(world.outbox().len(), 1);
    assert!(matches!(
        state
            .get_spool(MAILBOX, "crm-outbox-20241204-000904", Utc::now())
            .await,
        Err(StoreError::NotFound { .. })
    ));
}
