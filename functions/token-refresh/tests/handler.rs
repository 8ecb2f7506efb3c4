//! The token-refresh handler on a real scheduled event, with tenants in `DynamoDB` and
//! their secrets in Secrets Manager on moto, tokens from the Exchange simulator's identity
//! platform, and the metric lines captured instead of printed.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{Duration, Utc};
use lambda_runtime::LambdaEvent;
use mailbridge_ews_sim::preset;
use mailbridge_fn_testkit::{Deployment, Onboarded, event};
use mailbridge_service::tenants::secret_name;
use mailbridge_store::{SecretStore, StateStore, TenantStatus};
use mailbridge_token_refresh::{RefreshReport, handle};
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

async fn run(deployment: &Deployment) -> (RefreshReport, Vec<Value>) {
    let mut out = Vec::new();
    let report = handle(&deployment.services, scheduled(), &mut out)
        .await
        .unwrap();
    let lines = String::from_utf8(out).unwrap();
    let documents = lines
        .lines()
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
    let summary = metric(&documents, "SecretsExpiringSoon", None);
    assert_eq!(summary["SecretsExpiringSoon"], 1);
    assert_eq!(summary["SecretsExpired"], 1);
    assert_eq!(summary["TokenRefreshFailures"], 0);
}

#[tokio::test]
async fn a_threshold_warning_is_given_once_per_secret() {
    let deployment = Deployment::new().await;
    let contoso = two_tenants(&deployment).await;

    let (first, _) = run(&deployment).await;
    let (second, _) = run(&deployment).await;

    assert_eq!(first.warnings.len(), 1);
    let warning = &first.warnings[0];
    assert_eq!(warning.tenant, contoso.tenant.tenant_id);
    assert_eq!((warning.threshold, warning.days_left), (14, 9));
    assert!(second.warnings.is_empty(), "{second:?}");
    assert_eq!(second.expiring_soon, 1);
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
