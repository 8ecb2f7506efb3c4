use std::time::{Duration, SystemTime};

use super::*;
use crate::fake_idp::{FakeIdp, hanging_up_authority, refusing_authority, silent_authority};
use crate::{ClientSecret, TokenClient};

fn creds(tenant: &str) -> AppCredentials {
    AppCredentials::new(tenant, "app-123", ClientSecret::new("right-secret"))
}

#[tokio::test]
async fn a_success_body_becomes_a_bearer_token_with_its_expiry() {
    let idp = FakeIdp::start().await;
    let before = SystemTime::now();

    let token = idp.client().fetch(&creds("contoso.example")).await.unwrap();

    assert_eq!(token.bearer(), "tok-contoso.example-1");
    let lifetime = token.expires_at().duration_since(before).unwrap();
    assert!(lifetime > Duration::from_secs(3500) && lifetime <= Duration::from_secs(3700));
}

#[tokio::test]
async fn the_request_is_a_client_credentials_form_for_the_exchange_scope() {
    let idp = FakeIdp::start().await;

    idp.client().fetch(&creds("contoso.example")).await.unwrap();

    let forms = idp.forms();
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0]["grant_type"], "client_credentials");
    assert_eq!(forms[0]["client_id"], "app-123");
    assert_eq!(forms[0]["client_secret"], "right-secret");
    assert_eq!(forms[0]["scope"], EXCHANGE_SCOPE);
}

#[tokio::test]
async fn a_configured_scope_replaces_the_exchange_scope() {
    let idp = FakeIdp::start().await;
    let client = idp
        .client()
        .with_scope("https://outlook.office365.us/.default");

    client.fetch(&creds("contoso.example")).await.unwrap();

    assert_eq!(
        idp.forms()[0]["scope"],
        "https://outlook.office365.us/.default"
    );
    assert_eq!(client.scope(), "https://outlook.office365.us/.default");
}

#[tokio::test]
async fn each_fetch_gets_a_new_serial() {
    let idp = FakeIdp::start().await;
    let client = idp.client();

    let first = client.fetch(&creds("contoso.example")).await.unwrap();
    let second = client.fetch(&creds("contoso.example")).await.unwrap();

    assert!(second.serial() > first.serial());
    assert_eq!(idp.hits("contoso.example"), 2);
}

#[tokio::test]
async fn a_bad_tenant_id_is_refused_before_any_request() {
    let idp = FakeIdp::start().await;

    let err = idp
        .client()
        .fetch(&creds("contoso/../x"))
        .await
        .unwrap_err();

    assert!(
        matches!(err, IdentityError::InvalidTenantId { .. }),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(idp.total_hits(), 0);
}

#[tokio::test]
async fn http_429_is_throttled_with_its_retry_after() {
    let idp = FakeIdp::start().await;

    let err = idp
        .client()
        .fetch(&creds("throttled.example"))
        .await
        .unwrap_err();

    assert!(matches!(err, IdentityError::Throttled { .. }), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(err.diagnosis().unwrap().kind(), Cause::Throttled);
    assert_eq!(err.correlation_id(), Some("corr-0"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn http_503_is_unavailable_with_its_retry_after() {
    let idp = FakeIdp::start().await;

    let err = idp
        .client()
        .fetch(&creds("unavailable.example"))
        .await
        .unwrap_err();

    assert!(
        matches!(err, IdentityError::Unavailable { status: 503, .. }),
        "{err}"
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(err.diagnosis().unwrap().kind(), Cause::PlatformUnavailable);
    assert_eq!(err.correlation_id(), Some("corr-503"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_non_json_502_is_unavailable_not_a_parse_failure() {
    let idp = FakeIdp::start().await;

    let err = idp
        .client()
        .fetch(&creds("bad-gateway.example"))
        .await
        .unwrap_err();

    assert!(matches!(
        err,
        IdentityError::Unavailable {
            status: 502,
            retry_after: None,
            ..
        }
    ));
    assert!(err.is_retryable());
    assert!(err.to_string().contains("502"), "{err}");
}

#[tokio::test]
async fn a_non_json_success_is_an_invalid_response_naming_the_authority_check() {
    let idp = FakeIdp::start().await;

    let err = idp
        .client()
        .fetch(&creds("garbage.example"))
        .await
        .unwrap_err();

    assert!(
        matches!(err, IdentityError::InvalidResponse { status: 200, .. }),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("authority URL"), "{err}");
    assert!(
        !err.to_string().contains("Wi-Fi"),
        "success bodies are never quoted: {err}"
    );
}

#[tokio::test]
async fn a_token_that_is_not_bearer_is_refused() {
    let idp = FakeIdp::start().await;

    let err = idp
        .client()
        .fetch(&creds("mac-token.example"))
        .await
        .unwrap_err();

    assert!(
        matches!(err, IdentityError::InvalidResponse { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("Bearer"), "{err}");
    assert!(!err.to_string().contains("tok-mac"), "{err}");
}

#[tokio::test]
async fn a_refused_connection_is_an_unreachable_network_error() {
    let client = TokenClient::new(reqwest::Client::new(), refusing_authority());

    let err = client.fetch(&creds("contoso.example")).await.unwrap_err();

    assert!(matches!(err, IdentityError::Network { .. }), "{err}");
    assert_eq!(err.diagnosis().unwrap().kind(), Cause::Unreachable);
    assert!(err.is_retryable());
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
}

#[tokio::test]
async fn a_connection_dropped_mid_answer_is_a_lost_connection() {
    let client = TokenClient::new(reqwest::Client::new(), hanging_up_authority());

    let err = client.fetch(&creds("contoso.example")).await.unwrap_err();

    assert!(matches!(err, IdentityError::Network { .. }), "{err}");
    assert_eq!(err.diagnosis().unwrap().kind(), Cause::ConnectionLost);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_silent_endpoint_times_out() {
    let client = TokenClient::new(reqwest::Client::new(), silent_authority())
        .with_timeout(Duration::from_millis(300));

    let err = client.fetch(&creds("contoso.example")).await.unwrap_err();

    assert_eq!(err.diagnosis().unwrap().kind(), Cause::TimedOut, "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_network_error_does_not_carry_the_tenant_url() {
    let client = TokenClient::new(reqwest::Client::new(), refusing_authority());

    let err = client
        .fetch(&creds("secret-looking-tenant.example"))
        .await
        .unwrap_err();

    assert!(
        !format!("{err} {err:?}").contains("secret-looking-tenant"),
        "{err:?}"
    );
}
