//! The mailbox-sync handler on real SQS event JSON, with its state in `DynamoDB` and its
//! secrets in Secrets Manager on moto, syncing mailboxes of the Exchange simulator.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Duration;
use lambda_runtime::LambdaEvent;
use mailbridge_ews_sim::preset;
use mailbridge_ews_sim::{Refusal, ThrottlePolicy};
use mailbridge_fn_testkit::{Deployment, event};
use mailbridge_mailbox_sync::handle;
use mailbridge_store::{Expect, Folder, StateStore, TenantStatus};

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/events")
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

    let response = handle(
        &deployment.services,
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
async fn a_message_for_an_unknown_mailbox_is_dropped_not_retried() {
    let deployment = Deployment::new().await;

    let response = handle(
        &deployment.services,
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

    let response = handle(&deployment.services, batch).await;

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
        let response = handle(&deployment.services, batch).await;
        for failure in &response.batch_item_failures {
            assert!(
                ids.contains(&failure.item_identifier),
                "{name}: {failure:?}"
            );
        }
    }
}
