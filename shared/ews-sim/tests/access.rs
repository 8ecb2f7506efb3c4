//! The token endpoint's refusals, each as the identity platform words them, and every way
//! EWS refuses a token or an impersonation target.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod harness;

use chrono::Duration;
use mailbridge_ews::ops::GetFolder;
use mailbridge_ews::types::DistinguishedFolder;
use mailbridge_ews::{ErrorKind, EwsError, ResponseCode};
use mailbridge_identity::{AppCredentials, Cause, ClientSecret, IdentityError};

fn folders() -> GetFolder {
    GetFolder {
        folders: vec![DistinguishedFolder::Contacts.into()],
    }
}

async fn fetch(env: &harness::Env, tenant: &str, client: &str, secret: &str) -> IdentityError {
    let creds = AppCredentials::new(tenant, client, ClientSecret::new(secret));
    env.token_client().fetch(&creds).await.unwrap_err()
}

/// The cause, the `AADSTS` code, the HTTP status and the OAuth `error` value of a refusal.
fn diagnosed(err: &IdentityError) -> (Cause, Option<u32>, Option<u16>, Option<&str>) {
    let diagnosis = err
        .diagnosis()
        .unwrap_or_else(|| panic!("a diagnosis for {err}"));
    (
        diagnosis.kind(),
        diagnosis.code(),
        err.status(),
        diagnosis.oauth_error(),
    )
}

#[tokio::test]
async fn each_credential_mistake_gets_its_aadsts_code() {
    let env = harness::start().await;
    let t = env.tenant.clone();
    let world = env.sim.world();

    let unknown_tenant = fetch(
        &env,
        "00000000-1111-4222-8333-444444444444",
        &t.client_id,
        &t.client_secret,
    )
    .await;
    // Statuses and `error` values as the identity platform answers each code.
    assert_eq!(
        diagnosed(&unknown_tenant),
        (
            Cause::TenantNotFound,
            Some(90002),
            Some(400),
            Some("invalid_request")
        )
    );

    let unknown_app = fetch(
        &env,
        &t.tenant_id,
        "0f0f0f0f-0000-4000-8000-000000000000",
        &t.client_secret,
    )
    .await;
    assert_eq!(
        diagnosed(&unknown_app),
        (
            Cause::ApplicationNotFound,
            Some(700_016),
            Some(400),
            Some("unauthorized_client")
        )
    );

    let wrong_secret = fetch(
        &env,
        &t.tenant_id,
        &t.client_id,
        "the secret id, not its value",
    )
    .await;
    assert_eq!(
        diagnosed(&wrong_secret),
        (
            Cause::WrongClientSecret,
            Some(7_000_215),
            Some(401),
            Some("invalid_client")
        )
    );

    // The domain names the tenant as well as its id.
    let creds = AppCredentials::new(&t.domain, &t.client_id, ClientSecret::new(&t.client_secret));
    assert!(env.token_client().fetch(&creds).await.is_ok());

    world
        .update_tenant(&t.tenant_id, |tenant| {
            tenant.apps[0].secrets[0].expires = world.now() - Duration::days(1);
        })
        .unwrap();
    let expired = fetch(&env, &t.tenant_id, &t.client_id, &t.client_secret).await;
    assert_eq!(
        diagnosed(&expired),
        (
            Cause::ClientSecretExpired,
            Some(7_000_222),
            Some(401),
            Some("invalid_client")
        )
    );

    world
        .update_tenant(&t.tenant_id, |tenant| {
            tenant.apps[0].secrets[0].expires = world.now() + Duration::days(30);
            tenant.apps[0].admin_consent = false;
        })
        .unwrap();
    let no_consent = fetch(&env, &t.tenant_id, &t.client_id, &t.client_secret).await;
    assert_eq!(
        diagnosed(&no_consent),
        (
            Cause::AdminConsentMissing,
            Some(65001),
            Some(400),
            Some("invalid_grant")
        )
    );

    world
        .update_tenant(&t.tenant_id, |tenant| {
            tenant.apps[0].admin_consent = true;
            tenant.apps[0].enabled = false;
        })
        .unwrap();
    let disabled = fetch(&env, &t.tenant_id, &t.client_id, &t.client_secret).await;
    assert_eq!(
        diagnosed(&disabled),
        (
            Cause::ApplicationDisabled,
            Some(7_000_112),
            Some(400),
            Some("unauthorized_client")
        )
    );
    world
        .update_tenant(&t.tenant_id, |tenant| tenant.apps[0].enabled = true)
        .unwrap();

    let creds = AppCredentials::new(
        &t.tenant_id,
        &t.client_id,
        ClientSecret::new(&t.client_secret),
    );
    let bad_scope = env
        .token_client()
        .with_scope("https://outlook.office365.com/EWS.AccessAsUser.All")
        .fetch(&creds)
        .await
        .unwrap_err();
    assert_eq!(
        diagnosed(&bad_scope),
        (
            Cause::InvalidScope,
            Some(1_002_012),
            Some(400),
            Some("invalid_scope")
        )
    );
    let unknown_resource = env
        .token_client()
        .with_scope("https://api.contoso.example/.default")
        .fetch(&creds)
        .await
        .unwrap_err();
    let (_, code, status, error) = diagnosed(&unknown_resource);
    assert_eq!(
        (code, status, error),
        (Some(500_011), Some(400), Some("invalid_resource"))
    );
}

#[tokio::test]
async fn malformed_token_requests_are_refused_like_the_platform_does() {
    let env = harness::start().await;
    let t = &env.tenant;
    let post = |tenant: &str, form: Vec<(&'static str, String)>| {
        let url = format!("{}/{tenant}/oauth2/v2.0/token", env.sim.base_url());
        let http = env.http.clone();
        async move {
            let response = http.post(url).form(&form).send().await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (
                status,
                body["error"].as_str().unwrap().to_owned(),
                body["error_codes"][0].as_u64().unwrap(),
            )
        }
    };
    let full = |grant: &str| {
        vec![
            ("grant_type", grant.to_owned()),
            ("client_id", t.client_id.clone()),
            ("client_secret", t.client_secret.clone()),
            ("scope", "https://outlook.office365.com/.default".to_owned()),
        ]
    };
    assert_eq!(
        post("not a tenant!", full("client_credentials")).await,
        (400, "invalid_request".into(), 900_023)
    );
    assert_eq!(
        post(&t.tenant_id, full("password")).await,
        (400, "unsupported_grant_type".into(), 70003)
    );
    let mut no_secret = full("client_credentials");
    no_secret.retain(|(k, _)| *k != "client_secret");
    assert_eq!(
        post(&t.tenant_id, no_secret).await,
        (401, "invalid_client".into(), 7_000_216)
    );
    let mut no_scope = full("client_credentials");
    no_scope.retain(|(k, _)| *k != "scope");
    assert_eq!(
        post(&t.tenant_id, no_scope).await,
        (400, "invalid_request".into(), 900_144)
    );
    let stats = env.sim.world().stats();
    assert_eq!(stats.tokens_refused, 4);
}

async fn refused(
    ews: &mailbridge_ews::EwsClient<mailbridge_identity::TenantTokens>,
    mailbox: &str,
) -> EwsError {
    ews.execute(mailbox, &folders())
        .await
        .expect_err("the request is refused")
}

#[tokio::test]
async fn tokens_without_the_permission_are_refused_by_exchange() {
    let env = harness::start().await;
    let t = env.tenant.clone();
    env.sim
        .world()
        .update_tenant(&t.tenant_id, |tenant| {
            tenant.apps[0].full_access_as_app = false;
        })
        .unwrap();
    // The identity platform issues the token; Exchange refuses it.
    match refused(&env.ews, env.mailbox()).await {
        EwsError::Unauthorized { reason } => {
            assert!(reason.unwrap().contains("not enough scope"));
        }
        other => panic!("HTTP 401 for a token without full_access_as_app: {other:?}"),
    }

    // A Graph token is not an Exchange token.
    let creds = AppCredentials::new(
        &t.tenant_id,
        &t.client_id,
        ClientSecret::new(&t.client_secret),
    );
    let graph = env
        .token_client()
        .with_scope("https://graph.microsoft.com/.default")
        .fetch(&creds)
        .await
        .unwrap();
    let response = env
        .http
        .post(env.sim.ews_url())
        .bearer_auth(graph.bearer())
        .body("<x/>")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let diagnostics = response.headers()["x-ms-diagnostics"].to_str().unwrap();
    assert!(diagnostics.contains("audience"), "{diagnostics}");

    // No token at all.
    let response = env
        .http
        .post(env.sim.ews_url())
        .body("<x/>")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn impersonation_targets_are_checked_one_by_one() {
    let env = harness::start().await;
    let t = env.tenant.clone();
    let world = env.sim.world();

    let unknown = refused(&env.ews, "nobody@contoso.example").await;
    assert!(
        matches!(
            &unknown,
            EwsError::SoapFault {
                code: ResponseCode::ErrorNonExistentMailbox,
                ..
            }
        ),
        "{unknown:?}"
    );
    assert_eq!(unknown.kind(), ErrorKind::NotFound);

    world
        .update_mailbox(&t.mailboxes[1], |m| m.licensed = false)
        .unwrap();
    let unlicensed = refused(&env.ews, &t.mailboxes[1]).await;
    assert!(matches!(
        unlicensed,
        EwsError::SoapFault {
            code: ResponseCode::ErrorNonExistentMailbox,
            ..
        }
    ));
    world
        .update_mailbox(&t.mailboxes[1], |m| m.licensed = true)
        .unwrap();

    // A mailbox of another tenant does not exist for this one.
    let other = mailbridge_ews_sim::preset::tenant(
        world,
        "0b1c2d3e-4f50-4a61-8b72-9c8d7e6f5a4b",
        "fabrikam.example",
        &["eve"],
    )
    .unwrap();
    let foreign = refused(&env.ews, &other.mailboxes[0]).await;
    assert!(matches!(
        foreign,
        EwsError::SoapFault {
            code: ResponseCode::ErrorNonExistentMailbox,
            ..
        }
    ));

    // An application access policy (or RBAC scope) that leaves the mailbox out.
    world
        .update_tenant(&t.tenant_id, |tenant| {
            tenant.apps[0].mailbox_scope = Some(vec![t.mailboxes[1].clone()]);
        })
        .unwrap();
    let scoped = refused(&env.ews, env.mailbox()).await;
    assert!(
        matches!(
            scoped,
            EwsError::SoapFault {
                code: ResponseCode::ErrorImpersonateUserDenied,
                ..
            }
        ),
        "{scoped:?}"
    );
    assert_eq!(scoped.kind(), ErrorKind::Permission);
    assert!(env.ews.execute(&t.mailboxes[1], &folders()).await.is_ok());
    world
        .update_tenant(&t.tenant_id, |tenant| tenant.apps[0].mailbox_scope = None)
        .unwrap();
}

#[tokio::test]
async fn ews_can_be_off_for_a_mailbox_an_app_or_the_organisation() {
    let env = harness::start().await;
    let t = env.tenant.clone();
    let world = env.sim.world();
    world
        .update_mailbox(env.mailbox(), |m| m.ews_enabled = false)
        .unwrap();
    match refused(&env.ews, env.mailbox()).await {
        EwsError::Forbidden { reason } => assert!(reason.unwrap().contains("for the mailbox")),
        other => panic!("403 for a mailbox without EWS: {other:?}"),
    }
    world
        .update_mailbox(env.mailbox(), |m| m.ews_enabled = true)
        .unwrap();
    world
        .update_tenant(&t.tenant_id, |tenant| {
            tenant.ews_allowed_app_ids = vec!["some-other-app".into()];
        })
        .unwrap();
    match refused(&env.ews, env.mailbox()).await {
        EwsError::Forbidden { reason } => assert!(reason.unwrap().contains("allow-list")),
        other => panic!("403 for an app not on the EWS allow-list: {other:?}"),
    }
    world
        .update_tenant(&t.tenant_id, |tenant| {
            tenant.ews_allowed_app_ids = vec![t.client_id.clone()];
            tenant.ews_enabled = false;
        })
        .unwrap();
    match refused(&env.ews, env.mailbox()).await {
        EwsError::Forbidden { reason } => assert!(reason.unwrap().contains("organization")),
        other => panic!("403 with EWS off for the organisation: {other:?}"),
    }
    world
        .update_tenant(&t.tenant_id, |tenant| tenant.ews_enabled = true)
        .unwrap();
    assert!(
        env.ews.execute(env.mailbox(), &folders()).await.is_ok(),
        "on the allow-list"
    );
}

#[tokio::test]
async fn expired_tokens_are_refused_and_the_client_renews_once() {
    let env = harness::start().await;
    let world = env.sim.world();
    assert!(env.ews.execute(env.mailbox(), &folders()).await.is_ok());
    assert_eq!(world.stats().tokens_issued, 1);

    // Every token of the tenant lapses mid-run: one 401, one renewal, success.
    world.expire_tokens(&env.tenant.tenant_id);
    assert!(env.ews.execute(env.mailbox(), &folders()).await.is_ok());
    assert_eq!(world.stats().tokens_issued, 2);

    // The same through fault injection.
    world.inject(mailbridge_ews_sim::Fault::ExpireToken, Some("GetFolder"));
    assert!(env.ews.execute(env.mailbox(), &folders()).await.is_ok());
    assert_eq!(world.stats().tokens_issued, 3);

    // Tokens also expire with time: the simulator's clock moves on past their lifetime.
    // A token fetched directly works until then, and is refused after.
    world.set_token_lifetime(Duration::minutes(10));
    world.expire_tokens(&env.tenant.tenant_id);
    assert!(env.ews.execute(env.mailbox(), &folders()).await.is_ok());
    let t = &env.tenant;
    let creds = AppCredentials::new(
        &t.tenant_id,
        &t.client_id,
        ClientSecret::new(&t.client_secret),
    );
    let issued = env.token_client().fetch(&creds).await.unwrap();
    let raw = |bearer: String| {
        let request = env
            .http
            .post(env.sim.ews_url())
            .bearer_auth(bearer)
            .header("content-type", "text/xml; charset=utf-8")
            .body(raw_get_folder(env.mailbox()));
        async move { request.send().await.unwrap() }
    };
    let before = raw(issued.bearer().to_owned()).await;
    assert_eq!(
        before.status().as_u16(),
        200,
        "the token is good until then"
    );
    world.advance_clock(Duration::minutes(11));
    let after = raw(issued.bearer().to_owned()).await;
    assert_eq!(after.status().as_u16(), 401);
    let diagnostics = after.headers()["x-ms-diagnostics"].to_str().unwrap();
    assert!(
        diagnostics.contains("The token has expired."),
        "{diagnostics}"
    );
    assert!(env.ews.execute(env.mailbox(), &folders()).await.is_ok());
    assert_eq!(world.stats().tokens_issued, 6);
}

/// A `GetFolder` for the contacts folder, as raw SOAP.
fn raw_get_folder(mailbox: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><s:Header><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{mailbox}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></s:Header><s:Body><m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="contacts"/></m:FolderIds></m:GetFolder></s:Body></s:Envelope>"#
    )
}
