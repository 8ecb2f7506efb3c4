//! Tenant lifecycle through the API: onboarding (verified, not verified, invalid),
//! status, secret rotation, revocation and API keys, against real stores.

#![allow(clippy::unwrap_used)]

mod harness;

use chrono::{TimeDelta, Utc};
use harness::{
    ADMIN_KEY, Call, GOOD_SECRET, Harness, MAILBOX_A, NEW_SECRET, TENANT_A, TENANT_B, WRONG_SECRET,
    far_expiry, onboard_body, req,
};
use mailbridge_api::hash_key;
use mailbridge_store::{SecretStore, StateStore, TenantStatus};
use secrecy::ExposeSecret;
use serde_json::json;

async fn stored_secret(h: &Harness, tenant: &str) -> Option<String> {
    let name = format!("tenants/{tenant}/client-secret");
    h.app
        .secrets()
        .get(&name)
        .await
        .unwrap()
        .map(|s| s.expose_secret().to_owned())
}

#[tokio::test]
async fn a_verified_tenant_is_stored_with_its_secret_expiry_and_test_mailbox() {
    let h = Harness::new();
    let expires = far_expiry();

    let answer = req("POST", "/v1/tenants")
        .key(ADMIN_KEY)
        .json(&onboard_body(
            TENANT_A,
            "Agent@A.example",
            GOOD_SECRET,
            &expires,
        ))
        .send(&h)
        .await;

    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["report"]["verified"], true);
    assert_eq!(answer.body["tenant"]["status"], "active");
    assert_eq!(answer.body["tenant"]["secret_expires"], expires);
    assert_eq!(answer.body["tenant"]["mailbox_count"], 1);
    assert_eq!(answer.body["warnings"], json!([]));
    let tenant = h.app.state().get_tenant(TENANT_A).await.unwrap().unwrap();
    assert_eq!(tenant.status, TenantStatus::Active);
    assert_eq!(
        tenant.secret_expires.map(|t| t.date_naive().to_string()),
        Some(expires)
    );
    assert_eq!(
        stored_secret(&h, TENANT_A).await.as_deref(),
        Some(GOOD_SECRET)
    );
    let mailbox = h.app.state().get_mailbox(MAILBOX_A).await.unwrap().unwrap();
    assert_eq!(mailbox.tenant, TENANT_A);
    // Ids and addresses ignore case, as Microsoft 365 does.
    let upper = format!("/v1/tenants/{}", TENANT_A.to_uppercase());
    assert_eq!(req("GET", &upper).key(ADMIN_KEY).send(&h).await.status, 200);
    let upper = format!("/v1/mailboxes/{}", MAILBOX_A.to_uppercase());
    assert_eq!(req("GET", &upper).key(ADMIN_KEY).send(&h).await.status, 200);
    assert_eq!(
        h.app.ops().calls(),
        [Call::Verify {
            tenant_id: TENANT_A.to_owned(),
            test_mailbox: MAILBOX_A.to_owned(),
            secret: GOOD_SECRET.to_owned(),
        }]
    );
}

#[tokio::test]
async fn a_tenant_that_fails_verification_leaves_nothing_stored() {
    let h = Harness::new();

    let answer = req("POST", "/v1/tenants")
        .key(ADMIN_KEY)
        .json(&onboard_body(
            TENANT_A,
            MAILBOX_A,
            WRONG_SECRET,
            &far_expiry(),
        ))
        .send(&h)
        .await;

    assert!(answer.is_problem(422), "{}", answer.text);
    assert_eq!(answer.body["report"]["verified"], false);
    assert_eq!(answer.body["report"]["diagnosis"]["step"], "token");
    assert!(
        answer.body["detail"]
            .as_str()
            .unwrap()
            .contains("Certificates & secrets")
    );
    assert!(h.app.state().get_tenant(TENANT_A).await.unwrap().is_none());
    assert!(
        h.app
            .state()
            .get_mailbox(MAILBOX_A)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(stored_secret(&h, TENANT_A).await, None);
}

#[tokio::test]
async fn expiries_past_or_within_thirty_days_are_flagged() {
    for (days, flagged) in [(-3, "expired"), (10, "in 10 days"), (31, "")] {
        let h = Harness::new();
        let expires = (Utc::now() + TimeDelta::days(days))
            .date_naive()
            .to_string();

        let answer = req("POST", "/v1/tenants")
            .key(ADMIN_KEY)
            .json(&onboard_body(TENANT_A, MAILBOX_A, GOOD_SECRET, &expires))
            .send(&h)
            .await;

        assert_eq!(answer.status, 201, "{}", answer.text);
        let warnings = answer.body["warnings"].as_array().unwrap();
        if flagged.is_empty() {
            assert!(warnings.is_empty(), "{days}: {warnings:?}");
        } else {
            assert!(
                warnings[0].as_str().unwrap().contains(flagged),
                "{days}: {warnings:?}"
            );
        }
        assert_eq!(answer.body["tenant"]["secret_days_left"], days);
    }
}

#[tokio::test]
async fn onboarding_names_every_invalid_field_and_calls_nothing() {
    let h = Harness::new();
    let body = json!({
        "tenant_id": "../etc",
        "name": "",
        "client_id": "not a guid!",
        "client_secret": "",
        "secret_expires": "2027-01-01",
        "test_mailbox": "nobody",
        "ews_endpoint": "http://exchange.example/EWS/Exchange.asmx",
    });

    let answer = req("POST", "/v1/tenants")
        .key(ADMIN_KEY)
        .json(&body)
        .send(&h)
        .await;

    assert!(answer.is_problem(422), "{}", answer.text);
    assert_eq!(
        answer.fields(),
        [
            "tenant_id",
            "name",
            "client_id",
            "client_secret",
            "test_mailbox",
            "ews_endpoint"
        ]
    );
    assert!(h.app.ops().calls().is_empty());
}

#[tokio::test]
async fn onboarding_refuses_unknown_fields_missing_fields_and_bad_dates() {
    let h = Harness::new();
    let mut body = onboard_body(TENANT_A, MAILBOX_A, GOOD_SECRET, &far_expiry());
    body["colour"] = json!("blue");
    let answer = req("POST", "/v1/tenants")
        .key(ADMIN_KEY)
        .json(&body)
        .send(&h)
        .await;
    assert!(answer.is_problem(422));
    assert_eq!(answer.fields(), ["colour"]);

    let mut body = onboard_body(TENANT_A, MAILBOX_A, GOOD_SECRET, &far_expiry());
    body.as_object_mut().unwrap().remove("client_id");
    let answer = req("POST", "/v1/tenants")
        .key(ADMIN_KEY)
        .json(&body)
        .send(&h)
        .await;
    assert_eq!(answer.fields(), ["client_id"]);

    let body = onboard_body(TENANT_A, MAILBOX_A, GOOD_SECRET, "31/12/2027");
    let answer = req("POST", "/v1/tenants")
        .key(ADMIN_KEY)
        .json(&body)
        .send(&h)
        .await;
    assert_eq!(answer.fields(), ["secret_expires"]);

    let answer = req("POST", "/v1/tenants")
        .key(ADMIN_KEY)
        .raw_json(b"{\"tenant_id\": ".to_vec())
        .send(&h)
        .await;
    assert!(answer.is_problem(400));
    assert_eq!(answer.fields(), ["body"]);
}

#[tokio::test]
async fn onboarding_the_same_tenant_twice_is_a_conflict() {
    let h = Harness::new();
    h.onboard(TENANT_A, MAILBOX_A).await;

    let answer = req("POST", "/v1/tenants")
        .key(ADMIN_KEY)
        .json(&onboard_body(
            TENANT_A,
            "other@a.example",
            GOOD_SECRET,
            &far_expiry(),
        ))
        .send(&h)
        .await;

    assert!(answer.is_problem(409));
    assert_eq!(answer.fields(), ["tenant_id"]);
}

#[tokio::test]
async fn rotation_replaces_the_secret_and_expiry_only_after_verification() {
    let h = Harness::new();
    h.onboard(TENANT_A, MAILBOX_A).await;
    let new_expiry = (Utc::now() + TimeDelta::days(700)).date_naive().to_string();

    let refused = req("PUT", &format!("/v1/tenants/{TENANT_A}/secret"))
        .key(ADMIN_KEY)
        .json(&json!({ "client_secret": WRONG_SECRET, "secret_expires": new_expiry }))
        .send(&h)
        .await;
    assert!(refused.is_problem(422), "{}", refused.text);
    assert_eq!(refused.body["report"]["verified"], false);
    assert_eq!(
        stored_secret(&h, TENANT_A).await.as_deref(),
        Some(GOOD_SECRET)
    );
    let kept = h.app.state().get_tenant(TENANT_A).await.unwrap().unwrap();
    assert_ne!(
        kept.secret_expires.map(|t| t.date_naive().to_string()),
        Some(new_expiry.clone())
    );

    let rotated = req("PUT", &format!("/v1/tenants/{TENANT_A}/secret"))
        .key(ADMIN_KEY)
        .json(&json!({ "client_secret": NEW_SECRET, "secret_expires": new_expiry }))
        .send(&h)
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(rotated.body["tenant"]["secret_expires"], new_expiry);
    assert_eq!(
        stored_secret(&h, TENANT_A).await.as_deref(),
        Some(NEW_SECRET)
    );
    // Verified against the tenant's own mailbox when none was named, then the runner was
    // told to fetch a token with the new secret.
    let calls = h.app.ops().calls();
    assert!(matches!(
        &calls[calls.len() - 2..],
        [Call::Verify { test_mailbox, .. }, Call::RefreshToken(tenant)]
            if test_mailbox == MAILBOX_A && tenant == TENANT_A
    ));
}

#[tokio::test]
async fn revocation_disables_deletes_the_secret_audits_and_stops_crm_calls() {
    let (h, key_a, _) = Harness::with_two_tenants().await;
    let token_name = mailbridge_store::access_token_name(TENANT_A);
    let token = secrecy::SecretString::from("a-shared-app-token".to_owned());
    h.app.secrets().put(&token_name, &token).await.unwrap();

    let answer = req("POST", &format!("/v1/tenants/{TENANT_A}/revoke"))
        .key(ADMIN_KEY)
        .header("x-actor", "alice@operator.example")
        .send(&h)
        .await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["status"], "disabled");
    let reason = answer.body["status_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("revoked by alice@operator.example at "),
        "{reason}"
    );
    assert_eq!(stored_secret(&h, TENANT_A).await, None);
    let purged = h.app.secrets().get(&token_name).await.unwrap();
    assert!(
        purged.is_none(),
        "the shared app token survived the revocation"
    );
    let trail = h
        .app
        .state()
        .list_audit(MAILBOX_A, None, 100)
        .await
        .unwrap();
    let revoke = trail
        .items
        .iter()
        .find(|e| e.action == "tenant.revoke")
        .unwrap();
    assert_eq!(revoke.actor, "alice@operator.example");

    let put = req("PUT", &format!("/v1/mailboxes/{MAILBOX_A}/contacts/c1"))
        .key(&key_a)
        .json(&json!({ "data": { "given_name": "Ann" } }))
        .send(&h)
        .await;
    assert!(put.is_problem(403), "{}", put.text);
    assert_eq!(put.body["title"], "Tenant disabled");
    let send = req("POST", &format!("/v1/mailboxes/{MAILBOX_A}/sync"))
        .key(ADMIN_KEY)
        .send(&h)
        .await;
    assert!(send.is_problem(403));
    // The status stays readable with the tenant's own key.
    let status = req("GET", &format!("/v1/tenants/{TENANT_A}"))
        .key(&key_a)
        .send(&h)
        .await;
    assert_eq!(status.body["status"], "disabled");
}

#[tokio::test]
async fn a_revoked_tenant_comes_back_only_by_onboarding_again_without_its_old_keys() {
    let h = Harness::new();
    h.onboard(TENANT_A, MAILBOX_A).await;
    let old_key = h.new_key(TENANT_A).await;
    req("POST", &format!("/v1/tenants/{TENANT_A}/revoke"))
        .key(ADMIN_KEY)
        .send(&h)
        .await;

    let rotated = req("PUT", &format!("/v1/tenants/{TENANT_A}/secret"))
        .key(ADMIN_KEY)
        .json(&json!({ "client_secret": NEW_SECRET, "secret_expires": far_expiry() }))
        .send(&h)
        .await;
    assert!(rotated.is_problem(403), "{}", rotated.text);
    assert_eq!(stored_secret(&h, TENANT_A).await, None);
    let refused = req("POST", "/v1/tenants")
        .key(ADMIN_KEY)
        .json(&onboard_body(
            TENANT_A,
            MAILBOX_A,
            WRONG_SECRET,
            &far_expiry(),
        ))
        .send(&h)
        .await;
    assert!(refused.is_problem(422));
    assert_eq!(
        h.app
            .state()
            .get_tenant(TENANT_A)
            .await
            .unwrap()
            .unwrap()
            .status,
        TenantStatus::Disabled
    );

    let again = req("POST", "/v1/tenants")
        .key(ADMIN_KEY)
        .json(&onboard_body(
            TENANT_A,
            MAILBOX_A,
            NEW_SECRET,
            &far_expiry(),
        ))
        .send(&h)
        .await;

    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.body["tenant"]["status"], "active");
    assert_eq!(again.body["tenant"]["api_keys"], 0);
    assert_eq!(again.body["tenant"]["mailbox_count"], 1);
    assert_eq!(
        stored_secret(&h, TENANT_A).await.as_deref(),
        Some(NEW_SECRET)
    );
    let old = req("GET", &format!("/v1/tenants/{TENANT_A}"))
        .key(&old_key)
        .send(&h)
        .await;
    assert!(old.is_problem(401));
}

#[tokio::test]
async fn api_keys_are_returned_once_and_stored_only_as_hashes() {
    let h = Harness::new();
    h.onboard(TENANT_A, MAILBOX_A).await;

    let answer = req("POST", &format!("/v1/tenants/{TENANT_A}/api-keys"))
        .key(ADMIN_KEY)
        .send(&h)
        .await;

    assert_eq!(answer.status, 201);
    let key = answer.body["key"].as_str().unwrap();
    let tenant = h.app.state().get_tenant(TENANT_A).await.unwrap().unwrap();
    assert_eq!(tenant.api_key_hashes, [hash_key(key)]);
    assert!(!serde_json::to_string(&tenant).unwrap().contains(key));
    let status = req("GET", &format!("/v1/tenants/{TENANT_A}"))
        .key(key)
        .send(&h)
        .await;
    assert_eq!(status.status, 200);
    assert_eq!(status.body["api_keys"], 1);
    assert!(!status.text.contains(&hash_key(key)));
    // A key with one character changed is no key at all.
    let mut forged = key.to_owned();
    let last = if forged.ends_with('0') { "1" } else { "0" };
    forged.replace_range(forged.len() - 1.., last);
    let refused = req("GET", &format!("/v1/tenants/{TENANT_A}"))
        .key(&forged)
        .send(&h)
        .await;
    assert!(refused.is_problem(401));
    assert_eq!(refused.headers["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn mailboxes_are_added_once_and_listed_a_page_at_a_time() {
    let (h, key_a, key_b) = Harness::with_two_tenants().await;
    for n in 0..4 {
        let answer = req("POST", &format!("/v1/tenants/{TENANT_A}/mailboxes"))
            .key(&key_a)
            .json(&json!({ "address": format!("User{n}@A.example") }))
            .send(&h)
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
    }
    let again = req("POST", &format!("/v1/tenants/{TENANT_A}/mailboxes"))
        .key(&key_a)
        .json(&json!({ "address": "user0@a.example" }))
        .send(&h)
        .await;
    assert!(again.is_problem(409));
    assert_eq!(again.fields(), ["address"]);
    let taken = req("POST", &format!("/v1/tenants/{TENANT_B}/mailboxes"))
        .key(&key_b)
        .json(&json!({ "address": "user1@a.example" }))
        .send(&h)
        .await;
    assert!(taken.is_problem(409));

    let mut seen = Vec::new();
    let mut uri = format!("/v1/tenants/{TENANT_A}/mailboxes?limit=2");
    loop {
        let page = req("GET", &uri).key(&key_a).send(&h).await;
        assert_eq!(page.status, 200, "{}", page.text);
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["address"].as_str().unwrap().to_owned());
        }
        match page.body["next"].as_str() {
            Some(next) => uri = format!("/v1/tenants/{TENANT_A}/mailboxes?limit=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "agent@a.example",
            "user0@a.example",
            "user1@a.example",
            "user2@a.example",
            "user3@a.example"
        ]
    );
    let status = req("GET", &format!("/v1/tenants/{TENANT_A}"))
        .key(&key_a)
        .send(&h)
        .await;
    assert_eq!(status.body["mailbox_count"], 5);
}
