use super::*;
use crate::fake_idp::FakeIdp;
use crate::{AppCredentials, ClientSecret, IdentityError};

/// Fetches from the fake platform for a tenant that refuses with `code`, and checks that the
/// error is a rejection with the expected status, cause, plain words and fix.
async fn refusal(code: u32, status: u16, kind: Cause, cause_words: &str, fix_words: &str) {
    let idp = FakeIdp::start().await;
    let creds = AppCredentials::new(
        format!("aadsts-{code}.example"),
        "app-123",
        ClientSecret::new("right-secret"),
    );

    let err = idp.client().fetch(&creds).await.unwrap_err();

    let IdentityError::Rejected {
        diagnosis,
        status: got_status,
        correlation_id,
        trace_id,
    } = &err
    else {
        panic!("expected a rejection, got {err:?}");
    };
    assert_eq!(*got_status, status);
    assert_eq!(diagnosis.kind(), kind);
    assert_eq!(diagnosis.codes(), &[code]);
    assert_eq!(diagnosis.code(), Some(code));
    assert!(
        diagnosis.cause().contains(cause_words),
        "{}",
        diagnosis.cause()
    );
    assert!(
        diagnosis.admin_fix().contains(fix_words),
        "{}",
        diagnosis.admin_fix()
    );
    assert!(
        diagnosis
            .description()
            .unwrap()
            .starts_with(&format!("AADSTS{code}:"))
    );
    assert_eq!(
        correlation_id.as_deref(),
        Some(format!("corr-{code}").as_str())
    );
    assert_eq!(trace_id.as_deref(), Some("trace-1"));
    assert!(!err.is_retryable());
    let message = err.to_string();
    assert!(message.contains(&format!("AADSTS{code}")), "{message}");
    assert!(message.contains(diagnosis.admin_fix()), "{message}");
}

#[tokio::test]
async fn aadsts_90002_is_tenant_not_found() {
    refusal(
        90002,
        400,
        Cause::TenantNotFound,
        "does not match any",
        "Directory (tenant) ID",
    )
    .await;
}

#[tokio::test]
async fn aadsts_900023_is_a_malformed_tenant_id() {
    refusal(
        900_023,
        400,
        Cause::TenantIdMalformed,
        "not a valid tenant",
        "Directory (tenant) ID",
    )
    .await;
}

#[tokio::test]
async fn aadsts_700016_is_an_unknown_client_id() {
    refusal(
        700_016,
        400,
        Cause::ApplicationNotFound,
        "client id",
        "Application (client) ID",
    )
    .await;
}

#[tokio::test]
async fn aadsts_7000215_is_a_wrong_client_secret() {
    refusal(
        7_000_215,
        401,
        Cause::WrongClientSecret,
        "not a valid secret",
        "not its Secret ID",
    )
    .await;
}

#[tokio::test]
async fn aadsts_7000222_is_an_expired_client_secret() {
    refusal(
        7_000_222,
        401,
        Cause::ClientSecretExpired,
        "expired",
        "create a new client secret",
    )
    .await;
}

#[tokio::test]
async fn aadsts_65001_is_missing_admin_consent() {
    refusal(
        65001,
        400,
        Cause::AdminConsentMissing,
        "consent",
        "Grant admin consent",
    )
    .await;
}

#[tokio::test]
async fn aadsts_70011_is_an_invalid_scope() {
    refusal(70011, 400, Cause::InvalidScope, "scope", "/.default").await;
}

#[tokio::test]
async fn aadsts_1002012_is_an_invalid_scope() {
    refusal(
        1_002_012,
        400,
        Cause::InvalidScope,
        "scope",
        "outlook.office365.com/.default",
    )
    .await;
}

#[tokio::test]
async fn aadsts_7000112_is_a_disabled_application() {
    refusal(
        7_000_112,
        400,
        Cause::ApplicationDisabled,
        "disabled",
        "Enabled for users",
    )
    .await;
}

#[tokio::test]
async fn aadsts_500011_is_exchange_missing_from_the_tenant() {
    refusal(
        500_011,
        400,
        Cause::ExchangeNotInTenant,
        "Exchange Online",
        "subscription",
    )
    .await;
}

#[tokio::test]
async fn aadsts_53003_is_a_conditional_access_block() {
    refusal(
        53003,
        400,
        Cause::BlockedByConditionalAccess,
        "Conditional Access",
        "exclude",
    )
    .await;
}

#[tokio::test]
async fn aadsts_90014_is_a_malformed_request() {
    refusal(
        90014,
        400,
        Cause::MalformedRequest,
        "missing",
        "client secret are both filled in",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_code_is_kept_with_the_servers_description() {
    let idp = FakeIdp::start().await;
    let creds = AppCredentials::new("unknown-code.example", "app", ClientSecret::new("pw"));

    let err = idp.client().fetch(&creds).await.unwrap_err();

    let diagnosis = err.diagnosis().unwrap();
    assert_eq!(diagnosis.kind(), Cause::Other(9_999_999));
    assert_eq!(diagnosis.code(), Some(9_999_999));
    assert_eq!(diagnosis.oauth_error(), Some("invalid_request"));
    assert!(diagnosis.description().unwrap().contains("never heard of"));
    assert!(err.to_string().contains("never heard of"), "{err}");
    assert!(diagnosis.admin_fix().contains("AADSTS code"));
}

#[tokio::test]
async fn a_refusal_without_codes_is_unrecognised_but_keeps_its_words() {
    let idp = FakeIdp::start().await;
    let creds = AppCredentials::new("no-code.example", "app", ClientSecret::new("pw"));

    let err = idp.client().fetch(&creds).await.unwrap_err();

    let diagnosis = err.diagnosis().unwrap();
    assert_eq!(diagnosis.kind(), Cause::Unrecognised);
    assert!(diagnosis.codes().is_empty());
    assert_eq!(diagnosis.description(), Some("No code given."));
    assert!(err.to_string().contains("No code given."), "{err}");
}

#[test]
fn codes_missing_from_error_codes_are_read_from_the_description() {
    let diagnosis = Diagnosis::from_platform(
        Vec::new(),
        Some("invalid_client".to_owned()),
        Some("AADSTS7000222: The provided client secret keys are expired.".to_owned()),
    );

    assert_eq!(diagnosis.kind(), Cause::ClientSecretExpired);
    assert_eq!(diagnosis.codes(), &[7_000_222]);
}

#[test]
fn the_first_known_code_decides_the_cause() {
    let diagnosis = Diagnosis::from_platform(vec![1234, 65001], None, None);

    assert_eq!(diagnosis.kind(), Cause::AdminConsentMissing);
    assert_eq!(diagnosis.code(), Some(65001));
    assert_eq!(diagnosis.codes(), &[1234, 65001]);
}

#[test]
fn text_without_codes_yields_none() {
    assert!(codes_in_text("AADSTS: nothing AADSTSx").is_empty());
    assert_eq!(codes_in_text("AADSTS1 and AADSTS22"), vec![1, 22]);
}

#[test]
fn every_cause_has_words_and_a_fix() {
    let causes = [
        Cause::TenantNotFound,
        Cause::TenantIdMalformed,
        Cause::ApplicationNotFound,
        Cause::WrongClientSecret,
        Cause::ClientSecretExpired,
        Cause::AdminConsentMissing,
        Cause::InvalidScope,
        Cause::ApplicationDisabled,
        Cause::ExchangeNotInTenant,
        Cause::BlockedByConditionalAccess,
        Cause::MalformedRequest,
        Cause::Other(1),
        Cause::Unrecognised,
        Cause::Unreachable,
        Cause::TimedOut,
        Cause::ConnectionLost,
        Cause::Throttled,
        Cause::PlatformUnavailable,
    ];

    for cause in causes {
        assert!(cause.cause().len() > 10, "{cause:?}");
        assert!(cause.admin_fix().len() > 10, "{cause:?}");
    }
}

#[test]
fn network_causes_name_the_network_fix() {
    let diagnosis = Diagnosis::of(Cause::Unreachable);

    assert!(diagnosis.codes().is_empty());
    assert_eq!(diagnosis.code(), None);
    assert!(diagnosis.admin_fix().contains("firewall"));
    assert!(!diagnosis.to_string().contains("AADSTS"));
}
