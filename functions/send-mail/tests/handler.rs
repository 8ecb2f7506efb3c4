//! The send-mail handler on real SQS event JSON, with state in `DynamoDB` and secrets in
//! Secrets Manager on moto, sending through the Exchange simulator (its outbox shows what
//! went out).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use aws_lambda_events::event::sqs::SqsBatchResponse;
use chrono::{Duration, Utc};
use mailbridge_ews_sim::{Refusal, ThrottlePolicy, preset};
use mailbridge_fn_testkit::{Deployment, event};
use mailbridge_send_mail::handle;
use mailbridge_store::{Expect, StateStore, TenantStatus};

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
async fn a_queued_send_goes_out_once_even_when_delivered_twice() {
    let deployment = Deployment::new().await;
    let contoso = deployment.contoso(0, Duration::days(300)).await;

    let first = handle(
        &deployment.services,
        event(events_dir().join("send-retry.json"), &[]),
    )
    .await;
    let second = handle(
        &deployment.services,
        event(events_dir().join("send-retry.json"), &[]),
    )
    .await;

    assert!(failures(&first).is_empty(), "{first:?}");
    assert!(failures(&second).is_empty(), "{second:?}");
    let outbox = contoso.sim.world().outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].mailbox, "anna.berg@contoso.example");
    assert_eq!(
        outbox[0].message.subject.as_deref(),
        Some("Viewing on Thursday")
    );
}

#[tokio::test]
async fn throttled_and_malformed_sends_are_retried_and_invalid_or_paused_ones_are_not() {
    let deployment = Deployment::new().await;
    let contoso = deployment.contoso(0, Duration::days(300)).await;
    let world = contoso.sim.world();
    let fabrikam = preset::tenant(
        world,
        "0f4b2a6c-3d5e-4f70-8a9b-1c2d3e4f5a6b",
        "fabrikam.example",
        &["chris.ek"],
    )
    .unwrap();
    deployment
        .onboard(
            &contoso.sim,
            &fabrikam,
            Some(Utc::now() - Duration::days(1)),
        )
        .await;
    let state = &deployment.services.state;
    let mut paused = state
        .get_tenant(&fabrikam.tenant_id)
        .await
        .unwrap()
        .unwrap();
    paused.status = TenantStatus::CredentialExpired;
    state
        .put_tenant(&paused, Expect::Version(paused.version))
        .await
        .unwrap();
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
            // missing idempotency_key, message not an object
            "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9",
            // anna.berg@contoso.example, throttled
            "8a2b3c4d-5e6f-4a7b-9c8d-0e1f2a3b4c5d",
        ]
    );
    assert!(world.outbox().is_empty());
}
