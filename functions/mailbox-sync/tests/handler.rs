//! The mailbox-sync handler on real SQS event JSON, with its state in `DynamoDB` and its
//! secrets in Secrets Manager on moto, syncing mailboxes of the Exchange simulator.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use chrono::Duration;
use lambda_runtime::LambdaEvent;
use mailbridge_ews_sim::preset;
use mailbridge_ews_sim::{Refusal, ThrottlePolicy};
use mailbridge_fn_testkit::{Deployment, event};
use mailbridge_mailbox_sync::{SqsVisibility, handle};
use mailbridge_store::{Expect, Folder, StateStore, TenantStatus};

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/events")
}

/// The deployment's sync queue, where a throttled message is hidden for its back-off.
fn queue(deployment: &Deployment) -> SqsVisibility {
    SqsVisibility::from_settings(deployment.sqs(), &deployment.services.settings).unwrap()
}

fn failures(response: &SqsBatchResponse) -> Vec<&str> {
    let mut ids: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn a_sync_message_syncs_the_mailbox_into_dynamodb() {
    let deployment = Deployment::new().await;
    let contoso = deployment.contoso(12, Duration::days(300)).await;
    let anna = &contoso.tenant.mailboxes[0];

    let response = handle(
        &deployment.services,
        &queue(&deployment),
        event(events_dir().join("sync-request.json"), &[]),
    )
    .await;

    assert!(failures(&response).is_empty(), "{response:?}");
    assert!(deployment.services.metrics.lines().is_empty());
    let state = &deployment.services.state;
    let contacts = state
        .list_records(anna, Folder::Contacts, None, 100)
        .await
        .unwrap();
    assert_eq!(contacts.items.len(), 12);
    let mailbox = state.get_mailbox(anna).await.unwrap().unwrap();
    assert!(mailbox.last_sync.is_some(), "{mailbox:?}");
    assert_eq!(mailbox.last_error, None);
}

#[tokio::test]
async fn malformed_and_throttled_messages_are_retried_and_a_paused_tenant_is_not() {
    let deployment = Deployment::new().await;
    let contoso = deployment.contoso(3, Duration::days(300)).await;
    let world = contoso.sim.world();

    // Fabrikam's secret expired and the tenant was paused: its mailbox waits for a person.
    let fabrikam = preset::tenant(
        world,
        "0f4b2a6c-3d5e-4f70-8a9b-1c2d3e4f5a6b",
        "fabrikam.example",
        &["chris.ek"],
    )
    .unwrap();
    let state = &deployment.services.state;
    deployment
        .onboard(
            &contoso.sim,
            &fabrikam,
            Some(chrono::Utc::now() - Duration::days(1)),
        )
        .await;
    let mut tenant = state
        .get_tenant(&fabrikam.tenant_id)
        .await
        .unwrap()
        .unwrap();
    tenant.status = TenantStatus::CredentialExpired;
    tenant.status_reason = Some("the client secret expired".to_owned());
    state
        .put_tenant(&tenant, Expect::Version(tenant.version))
        .await
        .unwrap();

    // Exchange refuses every request with a back-off longer than the client waits.
    world.set_throttle(ThrottlePolicy {
        max_concurrency: 0,
        refusal: Refusal::ServerBusyFault,
        back_off_ms: 120_000,
        ..ThrottlePolicy::default()
    });

    // The receipt handles are not the queue's: hiding the throttled message fails, and it
    // is still reported, to come back after the queue's visibility timeout.
    let response = handle(
        &deployment.services,
        &queue(&deployment),
        event(events_dir().join("mixed-batch.json"), &[]),
    )
    .await;

    assert_eq!(
        failures(&response),
        [
            // anna.berg@contoso.example, throttled
            "2e1424d4-f796-459a-8184-9c92662be6da",
            // not JSON
            "7b8e3c1a-5d44-4f2e-9a0b-61c3d2e4f5a6",
        ]
    );
    let anna = state
        .get_mailbox(&contoso.tenant.mailboxes[0])
        .await
        .unwrap()
        .unwrap();
    assert!(anna.last_sync.is_none());
    assert!(anna.back_off_until.is_some(), "{anna:?}");
    assert!(anna.last_error.unwrap().contains("busy"));
    // Two mailboxes failed (throttled, paused); the malformed message names none.
    let lines = deployment.services.metrics.lines();
    let [line] = lines.as_slice() else {
        panic!("{lines:?}")
    };
    let metric: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(metric["SyncErrors"], 2);
    assert_eq!(metric["level"], "ERROR");
    assert_eq!(metric["Stage"], "test");
    assert_eq!(
        metric["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "mailbridge"
    );
    let chris = state
        .get_mailbox(&fabrikam.mailboxes[0])
        .await
        .unwrap()
        .unwrap();
    assert!(chris.last_sync.is_none());
}

#[tokio::test]
async fn a_throttled_message_comes_back_after_exchanges_back_off() {
    let deployment = Deployment::new().await;
    let contoso = deployment.contoso(3, Duration::days(300)).await;
    // Every request is refused with a 1.5 s hint: the client waits it out four times, then
    // gives up and the handler gets the throttle.
    contoso.sim.world().set_throttle(ThrottlePolicy {
        max_concurrency: 0,
        refusal: Refusal::ServerBusyFault,
        back_off_ms: 1_500,
        ..ThrottlePolicy::default()
    });
    let sqs = deployment.sqs();
    let url = deployment.queue_url();
    sqs.send_message()
        .queue_url(url)
        .message_body(r#"{"mailbox":"anna.berg@contoso.example","reason":"scheduled"}"#)
        .send()
        .await
        .unwrap();
    // Received as Lambda's poller would, hidden for five minutes unless the handler says
    // otherwise.
    let received = sqs
        .receive_message()
        .queue_url(url)
        .visibility_timeout(300)
        .send()
        .await
        .unwrap();
    let message = &received.messages()[0];
    let id = message.message_id().unwrap();
    let batch = event(
        events_dir().join("received-sync-request.json"),
        &[
            ("message_id", id),
            ("receipt_handle", message.receipt_handle().unwrap()),
        ],
    );

    let response = handle(&deployment.services, &queue(&deployment), batch).await;
    let returned = Instant::now();

    assert_eq!(failures(&response), [id]);
    let mut back = None;
    while returned.elapsed() < std::time::Duration::from_secs(20) {
        let polled = sqs
            .receive_message()
            .queue_url(url)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap();
        if let Some(message) = polled.messages().first() {
            back = Some((returned.elapsed(), message.clone()));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (after, message) = back.expect("the message is back within 20 s, not after 5 minutes");
    // Hidden for the hint rounded up to 2 s, counted from just before the handler returned.
    assert!(
        after >= std::time::Duration::from_secs(1),
        "back after {after:?}"
    );
    assert!(
        after <= std::time::Duration::from_secs(5),
        "back after {after:?}"
    );
    assert_eq!(message.message_id(), Some(id));
    let receive_count = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount));
    assert_eq!(receive_count.map(String::as_str), Some("2"));
}

#[tokio::test]
async fn a_message_for_an_unknown_mailbox_is_dropped_not_retried() {
    let deployment = Deployment::new().await;

    let response = handle(
        &deployment.services,
        &queue(&deployment),
        event(events_dir().join("sync-request.json"), &[]),
    )
    .await;

    assert!(failures(&response).is_empty(), "{response:?}");
}

#[tokio::test]
async fn messages_are_not_started_when_the_invocation_is_nearly_out_of_time() {
    let deployment = Deployment::new().await;
    let _contoso = deployment.contoso(3, Duration::days(300)).await;
    let mut batch: LambdaEvent<SqsEvent> = event(events_dir().join("sync-request.json"), &[]);
    batch.context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 5_000;

    let response = handle(&deployment.services, &queue(&deployment), batch).await;

    assert_eq!(
        failures(&response),
        ["059f36b4-87a3-44ab-83d2-661975830a7d"]
    );
    let anna = deployment
        .services
        .state
        .get_mailbox("anna.berg@contoso.example")
        .await
        .unwrap()
        .unwrap();
    assert!(anna.last_sync.is_none());
}

/// The stack's sample events (`infra/events/*mailbox-sync*.json`), when they exist: each is handled without a panic, and only its own
/// messages are ever reported.
#[tokio::test]
async fn the_stacks_sample_events_are_handled() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/events");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let deployment = Deployment::new().await;
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let json = path.extension().is_some_and(|ext| ext == "json");
        if !(json && name.contains("mailbox-sync")) {
            continue;
        }
        let batch: LambdaEvent<SqsEvent> = event(&path, &[]);
        let ids: Vec<String> = batch
            .payload
            .records
            .iter()
            .filter_map(|r| r.message_id.clone())
            .collect();
        let response = handle(&deployment.services, &queue(&deployment), batch).await;
        for failure in &response.batch_item_failures {
            assert!(
                ids.contains(&failure.item_identifier),
                "{name}: {failure:?}"
            );
        }
    }
}
