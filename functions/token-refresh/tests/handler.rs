//! The token-refresh handler on a real scheduled event, with tenants in `DynamoDB` and
//! their secrets in Secrets Manager on moto, tokens from the Exchange simulator's identity
//! platform, and the metric lines captured instead of printed.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_sdk_eventbridge::types::Target;
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{Duration, Utc};
use lambda_runtime::LambdaEvent;
use mailbridge_ews_sim::preset;
use mailbridge_fn_testkit::{Deployment, Onboarded, event, unique};
use mailbridge_service::jobs::sync_mailbox;
use mailbridge_service::tenants::{TenantClients, secret_name};
use mailbridge_service::token_store::load_token;
use mailbridge_store::{SecretStore, StateStore, TenantStatus};
use mailbridge_token_refresh::{EventBus, ExpiryEvents, RefreshReport, handle};
use secrecy::SecretString;
use serde_json::Value;

const FABRIKAM: &str = "0f4b2a6c-3d5e-4f70-8a9b-1c2d3e4f5a6b";

fn scheduled() -> LambdaEvent<EventBridgeEvent> {
    event(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/events/scheduled-event.json"),
        &[],
    )
}

/// Contoso's secret expires in 10 days (past the 14-day warning); Fabrikam's expired
/// yesterday but the tenant is still active.
async fn two_tenants(deployment: &Deployment) -> Onboarded {
    let contoso = deployment.contoso(0, Duration::days(10)).await;
    let fabrikam = preset::tenant(
        contoso.sim.world(),
        FABRIKAM,
        "fabrikam.example",
        &["chris.ek"],
    )
    .unwrap();
    let yesterday = Utc::now() - Duration::hours(25);
    deployment
        .onboard(&contoso.sim, &fabrikam, Some(yesterday))
        .await;
    contoso
}

/// Runs the handler once without a bus; returns its report and the metric documents of
/// that run.
async fn run(deployment: &Deployment) -> (RefreshReport, Vec<Value>) {
    run_with(deployment, &None::<EventBus>).await
}

async fn run_with<E: ExpiryEvents>(
    deployment: &Deployment,
    bus: &E,
) -> (RefreshReport, Vec<Value>) {
    let before = deployment.services.metrics.lines().len();
    let report = handle(&deployment.services, bus, scheduled())
        .await
        .unwrap();
    let documents = deployment.services.metrics.lines()[before..]
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (report, documents)
}

fn metric<'a>(documents: &'a [Value], name: &str, tenant: Option<&str>) -> &'a Value {
    documents
        .iter()
        .find(|doc| {
            doc.get(name).is_some()
                && tenant
                    .is_none_or(|tenant| doc.get("Tenant").and_then(Value::as_str) == Some(tenant))
        })
        .unwrap_or_else(|| panic!("no {name} for {tenant:?} in {documents:?}"))
}

#[tokio::test]
async fn an_expired_tenant_is_paused_and_the_metric_lines_report_it() {
    let deployment = Deployment::new().await;
    let contoso = two_tenants(&deployment).await;

    let (report, documents) = run(&deployment).await;

    let state = &deployment.services.state;
    let fabrikam = state.get_tenant(FABRIKAM).await.unwrap().unwrap();
    assert_eq!(fabrikam.status, TenantStatus::CredentialExpired);
    let tenant = state
        .get_tenant(&contoso.tenant.tenant_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tenant.status, TenantStatus::Active);
    assert_eq!(
        (report.tenants, report.tokens_fetched, report.token_failures),
        (2, 1, 0)
    );
    assert_eq!((report.expiring_soon, report.expired), (1, 1));
    assert_eq!(report.nearing_expiry, 1);

    for doc in &documents {
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "mailbridge");
        assert_eq!(doc["Stage"], "test");
        assert!(doc["_aws"]["Timestamp"].as_i64().unwrap() > 0);
    }
    let contoso_days = metric(
        &documents,
        "SecretDaysLeft",
        Some(&contoso.tenant.tenant_id),
    );
    assert_eq!(contoso_days["SecretDaysLeft"], 9);
    assert_eq!(
        contoso_days["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["Stage", "Tenant"]])
    );
    assert_eq!(
        metric(&documents, "SecretDaysLeft", Some(FABRIKAM))["SecretDaysLeft"],
        -1
    );
    let summary = metric(&documents, "SecretsNearingExpiry", None);
    assert_eq!(summary["level"], "ERROR");
    assert_eq!(summary["SecretsNearingExpiry"], 1);
    assert_eq!(summary["SecretsExpiringSoon"], 1);
    assert_eq!(summary["SecretsExpired"], 1);
    assert_eq!(summary["TokenRefreshFailures"], 0);
}

/// A bus on moto with a rule that forwards token-refresh's events to a new queue.
async fn bus_into_queue(deployment: &Deployment) -> (EventBus, String) {
    let events = aws_sdk_eventbridge::Client::new(&deployment.aws);
    let bus = unique("bus");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let sqs = deployment.sqs();
    let queue = sqs
        .create_queue()
        .queue_name(unique("expiry"))
        .send()
        .await
        .unwrap();
    let queue_url = queue.queue_url().unwrap().to_owned();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = attributes.attributes().unwrap()[&QueueAttributeName::QueueArn].clone();
    let rule = unique("expiry-rule");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(r#"{"source": ["mailbridge.token-refresh"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (EventBus::new(events, bus), queue_url)
}

#[tokio::test]
async fn a_threshold_warning_is_given_once_per_secret_and_put_on_the_bus() {
    let deployment = Deployment::new().await;
    let contoso = two_tenants(&deployment).await;
    let (bus, queue_url) = bus_into_queue(&deployment).await;
    let bus = Some(bus);

    let (first, _) = run_with(&deployment, &bus).await;
    let (second, _) = run_with(&deployment, &bus).await;

    assert_eq!(first.warnings.len(), 1);
    let warning = &first.warnings[0];
    assert_eq!(warning.tenant, contoso.tenant.tenant_id);
    assert_eq!((warning.threshold, warning.days_left), (14, 9));
    assert!(second.warnings.is_empty(), "{second:?}");
    assert_eq!(second.expiring_soon, 1);

    let received = deployment
        .sqs()
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let events: Vec<Value> = received
        .messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["source"], "mailbridge.token-refresh");
    assert_eq!(event["detail-type"], "Client secret nearing expiry");
    let detail = &event["detail"];
    assert_eq!(detail["stage"], "test");
    assert_eq!(detail["tenant"], contoso.tenant.tenant_id.as_str());
    assert_eq!(
        (detail["threshold"].as_i64(), detail["days_left"].as_i64()),
        (Some(14), Some(9))
    );
    assert!(
        detail["expires"].as_str().unwrap().ends_with('Z'),
        "{detail}"
    );
}

#[tokio::test]
async fn a_secret_that_no_longer_works_is_counted_and_the_run_goes_on() {
    let deployment = Deployment::new().await;
    let contoso = two_tenants(&deployment).await;
    deployment
        .services
        .secrets
        .put(
            &secret_name(&contoso.tenant.tenant_id),
            &SecretString::from("sim~wrong~secret".to_owned()),
        )
        .await
        .unwrap();

    let (report, documents) = run(&deployment).await;

    assert_eq!((report.tokens_fetched, report.token_failures), (0, 1));
    assert_eq!(
        metric(&documents, "TokenRefreshFailures", None)["TokenRefreshFailures"],
        1
    );
}

/// The stack's sample schedule event (`infra/events/`), when it exists, is handled.
#[tokio::test]
async fn the_stacks_sample_schedule_event_is_handled() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../infra/events/schedule-token-refresh.json");
    if !path.is_file() {
        return;
    }
    let deployment = Deployment::new().await;

    let report = handle(&deployment.services, &None::<EventBus>, event(&path, &[]))
        .await
        .unwrap();

    assert_eq!(report.tenants, 0);
    let lines = deployment.services.metrics.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
}

#[tokio::test]
async fn the_fetched_token_is_kept_and_another_instance_syncs_with_it() {
    let deployment = Deployment::new().await;
    let contoso = two_tenants(&deployment).await;
    let (id, app) = (&contoso.tenant.tenant_id, &contoso.tenant.client_id);

    run(&deployment).await;

    let secrets = &deployment.services.secrets;
    let kept = load_token(secrets, id, app).await.unwrap();
    assert!(kept.is_some(), "no token kept for the active tenant");
    let paused = load_token(secrets, FABRIKAM, app).await.unwrap();
    assert!(paused.is_none(), "a paused tenant's token was kept");
    let issued = contoso.sim.world().stats().tokens_issued;

    // A mailbox-sync instance of its own: its clients start empty.
    let instance = TenantClients::new(reqwest::Client::new());
    let state = &deployment.services.state;
    let mailbox = &contoso.tenant.mailboxes[0];
    let config = mailbridge_sync::SyncConfig::default();
    Box::pin(sync_mailbox(state, secrets, &instance, mailbox, config))
        .await
        .unwrap();

    assert_eq!(contoso.sim.world().stats().tokens_issued, issued);
}
