//! Throttling like Exchange Online's and every injected fault, as our client sees them.

#![allow(clippy::unwrap_used)]

mod harness;

use std::time::{Duration, Instant};

use mailbridge_ews::ops::{
    ContactUpdate, CreateItem, FindItem, GetFolder, ItemChange, Restriction, SyncChange,
    SyncFolderItems, UpdateItem, Updates, View,
};
use mailbridge_ews::types::{
    CRM_ID_PROPERTY, Contact, DistinguishedFolder, Item, ItemShape, PropertyPath,
};
use mailbridge_ews::{EwsClient, EwsError, ResponseCode, RetryPolicy};
use mailbridge_ews_sim::model::SeedSpec;
use mailbridge_ews_sim::{Fault, FaultPlan, Refusal, ThrottlePolicy};
use mailbridge_identity::TenantTokens;

fn folders() -> GetFolder {
    GetFolder {
        folders: vec![DistinguishedFolder::Contacts.into()],
    }
}

/// A one-message operation, so a per-message refusal fails the call.
fn sync() -> SyncFolderItems {
    SyncFolderItems::new(DistinguishedFolder::Contacts, None)
}

/// A client that tries once, so each refusal is seen as it is.
fn no_retry(env: &harness::Env) -> EwsClient<TenantTokens> {
    let t = &env.tenant;
    env.client_for(&t.tenant_id, &t.client_id, &t.client_secret)
        .with_retry(RetryPolicy {
            max_attempts: 1,
            ..harness::fast_retry()
        })
}

async fn raw_get_folder(env: &harness::Env, token: &str) -> (u16, String) {
    let response = get_folder_of(env, token, env.mailbox()).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A raw `GetFolder` for `mailbox`'s contacts folder; the whole response, headers included.
async fn get_folder_of(env: &harness::Env, token: &str, mailbox: &str) -> reqwest::Response {
    let body = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><s:Header><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{mailbox}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></s:Header><s:Body><m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="contacts"/></m:FolderIds></m:GetFolder></s:Body></s:Envelope>"#
    );
    env.http
        .post(env.sim.ews_url())
        .bearer_auth(token)
        .header("content-type", "text/xml; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn token(env: &harness::Env) -> String {
    let t = &env.tenant;
    let creds = mailbridge_identity::AppCredentials::new(
        &t.tenant_id,
        &t.client_id,
        mailbridge_identity::ClientSecret::new(&t.client_secret),
    );
    env.token_client()
        .fetch(&creds)
        .await
        .unwrap()
        .bearer()
        .to_owned()
}

#[tokio::test]
async fn the_concurrency_budget_refuses_requests_beyond_it() {
    let env = harness::start().await;
    let world = env.sim.world();
    world.set_throttle(ThrottlePolicy {
        max_concurrency: 2,
        back_off_ms: 750,
        ..ThrottlePolicy::default()
    });
    world.set_faults(FaultPlan {
        latency_ms: 300,
        ..FaultPlan::default()
    });
    let token = token(&env).await;
    let answers = futures_join(&env, &token, 6).await;
    let ok = answers.iter().filter(|(s, _)| *s == 200).count();
    let busy: Vec<&String> = answers
        .iter()
        .filter(|(s, _)| *s == 500)
        .map(|(_, b)| b)
        .collect();
    assert_eq!((ok, busy.len()), (2, 4), "{answers:?}");
    for body in busy {
        assert!(body.contains("ErrorServerBusy"), "{body}");
        assert!(body.contains(r#"<t:Value Name="Policy">MaxConcurrency</t:Value>"#));
        assert!(body.contains(r#"<t:Value Name="BackOffMilliseconds">750</t:Value>"#));
    }
    assert_eq!(world.stats().throttled, 4);
}

async fn futures_join(env: &harness::Env, token: &str, n: usize) -> Vec<(u16, String)> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (http, url, mailbox, token) = (
            env.http.clone(),
            env.sim.ews_url(),
            env.mailbox().to_owned(),
            token.to_owned(),
        );
        tasks.spawn(async move {
            let body = format!(
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><s:Header><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{mailbox}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></s:Header><s:Body><m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="contacts"/></m:FolderIds></m:GetFolder></s:Body></s:Envelope>"#
            );
            let response = http
                .post(url)
                .bearer_auth(token)
                .header("content-type", "text/xml; charset=utf-8")
                .body(body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        });
    }
    tasks.join_all().await
}

#[tokio::test]
async fn the_rate_budget_allows_a_burst_then_hints_when_to_come_back() {
    let env = harness::start().await;
    let world = env.sim.world();
    world.set_throttle(ThrottlePolicy {
        rate_per_second: Some(0.5),
        burst: 3,
        ..ThrottlePolicy::default()
    });
    let token = token(&env).await;
    let mut statuses = Vec::new();
    let mut last = String::new();
    for _ in 0..5 {
        let (status, body) = raw_get_folder(&env, &token).await;
        statuses.push(status);
        last = body;
    }
    assert_eq!(statuses, [200, 200, 200, 500, 500]);
    assert!(last.contains("EwsRateBudget"), "{last}");
    let hint: u64 = last
        .split(r#"<t:Value Name="BackOffMilliseconds">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap();
    assert!(
        (1_000..=2_000).contains(&hint),
        "one token takes two seconds to refill: {hint}"
    );
}

#[tokio::test]
async fn a_breached_rate_budget_is_refused_with_429_or_503_and_retry_after() {
    let env = harness::start().await;
    let world = env.sim.world();
    let token = token(&env).await;
    // Each refusal on its own mailbox, so each starts with a full budget.
    for (refusal, mailbox, status) in [
        (Refusal::Http429, &env.tenant.mailboxes[0], 429),
        (Refusal::Http503, &env.tenant.mailboxes[1], 503),
    ] {
        world.set_throttle(ThrottlePolicy {
            rate_per_second: Some(0.5),
            burst: 1,
            refusal,
            ..ThrottlePolicy::default()
        });
        let first = get_folder_of(&env, &token, mailbox).await;
        assert_eq!(first.status().as_u16(), 200, "{refusal:?}: the burst");
        assert!(first.headers().get("retry-after").is_none());
        let refused = get_folder_of(&env, &token, mailbox).await;
        assert_eq!(refused.status().as_u16(), status, "{refusal:?}");
        // One token takes two seconds to refill at half a request per second.
        assert_eq!(
            refused.headers()["retry-after"].to_str().unwrap(),
            "2",
            "{refusal:?}"
        );
        let text = refused.text().await.unwrap();
        assert!(text.contains("Try again later"), "{refusal:?}: {text}");
    }
    assert_eq!(world.stats().throttled, 2);
}

#[tokio::test]
async fn budgets_are_per_mailbox_so_one_exhausted_leaves_another_alone() {
    let env = harness::start().await;
    let world = env.sim.world();
    let token = token(&env).await;
    let (busy, quiet) = (&env.tenant.mailboxes[0], &env.tenant.mailboxes[1]);

    // The rate budget: the first mailbox spends its burst, the second still has its own.
    world.set_throttle(ThrottlePolicy {
        rate_per_second: Some(0.01),
        burst: 2,
        refusal: Refusal::Http429,
        ..ThrottlePolicy::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(get_folder_of(&env, &token, busy).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
    let (again, other, other_again) = tokio::join!(
        get_folder_of(&env, &token, busy),
        get_folder_of(&env, &token, quiet),
        get_folder_of(&env, &token, quiet),
    );
    assert_eq!(
        [again.status(), other.status(), other_again.status()].map(|s| s.as_u16()),
        [429, 200, 200]
    );

    // The concurrency budget: while one request holds the first mailbox's only slot, the
    // second mailbox's requests run.
    world.set_throttle(ThrottlePolicy {
        max_concurrency: 1,
        ..ThrottlePolicy::default()
    });
    world.set_faults(FaultPlan {
        latency_ms: 300,
        ..FaultPlan::default()
    });
    let (a1, a2, b1) = tokio::join!(
        get_folder_of(&env, &token, busy),
        get_folder_of(&env, &token, busy),
        get_folder_of(&env, &token, quiet),
    );
    let mut busy_statuses = [a1.status().as_u16(), a2.status().as_u16()];
    busy_statuses.sort_unstable();
    assert_eq!(busy_statuses, [200, 500], "one of two concurrent requests");
    assert_eq!(
        b1.status().as_u16(),
        200,
        "the other mailbox is not held up"
    );
    assert_eq!(world.stats().throttled, 3);
}

#[tokio::test]
async fn each_refusal_kind_reaches_the_client_with_its_back_off() {
    let env = harness::start().await;
    let world = env.sim.world();
    let client = no_retry(&env);
    let cases = [
        (Refusal::ServerBusyFault, 4_000),
        (Refusal::ServerBusyMessage, 3_000),
        (Refusal::Http503, 2_000),
        (Refusal::Http429, 7_000),
    ];
    for (refusal, back_off_ms) in cases {
        world.set_throttle(ThrottlePolicy {
            refusal,
            back_off_ms,
            ..ThrottlePolicy::default()
        });
        world.inject(Fault::ServerBusy, None);
        let err = client.execute(env.mailbox(), &sync()).await.unwrap_err();
        assert!(err.is_retryable(), "{refusal:?}: {err:?}");
        assert_eq!(
            err.back_off(),
            Some(Duration::from_millis(back_off_ms)),
            "{refusal:?}: {err:?}"
        );
        match (refusal, &err) {
            (Refusal::ServerBusyFault, EwsError::SoapFault { code, .. }) => {
                assert_eq!(*code, ResponseCode::ErrorServerBusy);
            }
            (Refusal::ServerBusyMessage, EwsError::Response(e)) => {
                assert_eq!(e.code, ResponseCode::ErrorServerBusy);
            }
            (Refusal::Http503 | Refusal::Http429, EwsError::Throttled { .. }) => {}
            _ => panic!("{refusal:?} arrived as {err:?}"),
        }
    }

    // Sometimes Exchange names no back-off at all.
    world.set_throttle(ThrottlePolicy {
        omit_hint_every: 2,
        ..ThrottlePolicy::default()
    });
    world.inject(Fault::ServerBusy, None);
    world.inject(Fault::ServerBusy, None);
    let hints: Vec<Option<Duration>> = [
        client.execute(env.mailbox(), &sync()).await,
        client.execute(env.mailbox(), &sync()).await,
    ]
    .into_iter()
    .map(|r| r.unwrap_err().back_off())
    .collect();
    assert_eq!(hints.iter().filter(|h| h.is_none()).count(), 1, "{hints:?}");

    // A retrying client rides out a short spell of throttling.
    world.set_throttle(ThrottlePolicy {
        back_off_ms: 5,
        ..ThrottlePolicy::default()
    });
    world.reset_stats();
    world.inject(Fault::ServerBusy, None);
    world.inject(Fault::ServerBusy, None);
    assert!(env.ews.execute(env.mailbox(), &sync()).await.is_ok());
    assert_eq!(world.stats().requests["SyncFolderItems"], 3);
}

#[tokio::test]
async fn broken_transport_faults_are_retried_where_that_is_safe() {
    let env = harness::start().await;
    let world = env.sim.world();
    let client = no_retry(&env);
    for fault in [
        Fault::DropConnection,
        Fault::LoseResponse,
        Fault::Http500,
        Fault::MalformedBody,
        Fault::TruncatedBody,
    ] {
        world.inject(fault, None);
        let err = client.execute(env.mailbox(), &folders()).await.unwrap_err();
        match (fault, &err) {
            (Fault::DropConnection | Fault::LoseResponse, EwsError::Network { .. })
            | (Fault::Http500, EwsError::HttpStatus { status: 500, .. })
            | (Fault::MalformedBody, EwsError::Malformed { .. })
            | (Fault::TruncatedBody, EwsError::Network { .. } | EwsError::Malformed { .. }) => {}
            _ => panic!("{fault:?} arrived as {err:?}"),
        }
        assert!(err.is_retryable(), "{fault:?}: {err:?}");
        world.inject(fault, None);
        assert!(
            env.ews.execute(env.mailbox(), &folders()).await.is_ok(),
            "{fault:?} is retried"
        );
    }
    assert_eq!(world.stats().faults, 10);
}

#[tokio::test]
async fn a_lost_create_response_leaves_the_item_to_be_found_by_its_crm_id() {
    let env = harness::start().await;
    let mut contact = Contact {
        display_name: Some("Dev Haddad".into()),
        ..Contact::default()
    };
    contact.common.crm_id = Some("crm-lost".into());
    env.sim
        .world()
        .inject(Fault::LoseResponse, Some("CreateItem"));
    let create = CreateItem::save_in(
        DistinguishedFolder::Contacts,
        vec![Item::Contact(Box::new(contact))],
    );
    let err = env.ews.execute(env.mailbox(), &create).await.unwrap_err();
    assert!(
        err.may_have_taken_effect(),
        "a create is not resent blindly: {err:?}"
    );

    let find = FindItem {
        folder: DistinguishedFolder::Contacts.into(),
        shape: ItemShape::ids_with_crm_id(),
        view: View::Indexed {
            max_entries: 5,
            offset: 0,
        },
        restriction: Some(Restriction::IsEqualTo(
            PropertyPath::Extended(CRM_ID_PROPERTY),
            "crm-lost".into(),
        )),
    };
    let found = env.ews.execute(env.mailbox(), &find).await.unwrap();
    assert_eq!(found.items.len(), 1, "the first attempt did create it");
}

#[tokio::test]
async fn sync_state_and_change_key_faults_act_like_exchange() {
    let env = harness::start().await;
    let world = env.sim.world();
    world
        .seed(
            env.mailbox(),
            &SeedSpec {
                contacts: 5,
                ..SeedSpec::default()
            },
        )
        .unwrap();
    let first = env
        .ews
        .execute(
            env.mailbox(),
            &SyncFolderItems::new(DistinguishedFolder::Contacts, None),
        )
        .await
        .unwrap();
    world.inject(Fault::InvalidSyncState, None);
    let next = SyncFolderItems::new(DistinguishedFolder::Contacts, first.sync_state.clone());
    match env.ews.execute(env.mailbox(), &next).await {
        Err(EwsError::Response(e)) => assert_eq!(e.code, ResponseCode::ErrorInvalidSyncStateData),
        other => panic!("an invalid sync state: {other:?}"),
    }
    // Once invalid, always invalid; a fresh sync starts over.
    assert!(env.ews.execute(env.mailbox(), &next).await.is_err());
    let again = env
        .ews
        .execute(
            env.mailbox(),
            &SyncFolderItems::new(DistinguishedFolder::Contacts, None),
        )
        .await
        .unwrap();
    assert_eq!(again.changes.len(), 5);

    let SyncChange::Create(item) = &again.changes[0] else {
        panic!("creates")
    };
    world.inject(Fault::ChangeKeyConflict, None);
    let update = UpdateItem::guarded(vec![ItemChange {
        id: item.id().unwrap().clone(),
        updates: Updates::Contact(vec![ContactUpdate::JobTitle(Some("Owner".into()))]),
    }]);
    let result = env.ews.execute(env.mailbox(), &update).await.unwrap();
    assert_eq!(
        result[0].as_ref().unwrap_err().code,
        ResponseCode::ErrorIrresolvableConflict
    );
    // The owner's save shows up as an update.
    let delta = env
        .ews
        .execute(
            env.mailbox(),
            &SyncFolderItems::new(DistinguishedFolder::Contacts, again.sync_state),
        )
        .await
        .unwrap();
    assert!(matches!(delta.changes.as_slice(), [SyncChange::Update(_)]));
}

#[tokio::test]
async fn latency_is_added_and_random_faults_repeat_with_their_seed() {
    let env = harness::start().await;
    let world = env.sim.world();
    world.set_faults(FaultPlan {
        latency_ms: 120,
        ..FaultPlan::default()
    });
    let started = Instant::now();
    env.ews.execute(env.mailbox(), &folders()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(120));

    let client = no_retry(&env);
    let plan = FaultPlan {
        seed: 1234,
        rates: vec![(Fault::Http500, 0.3), (Fault::ServerBusy, 0.2)],
        ..FaultPlan::default()
    };
    world.set_throttle(ThrottlePolicy {
        back_off_ms: 1,
        ..ThrottlePolicy::default()
    });
    let mut runs = Vec::new();
    for _ in 0..2 {
        world.set_faults(plan.clone());
        let mut outcomes = Vec::new();
        for _ in 0..40 {
            let outcome = match client.execute(env.mailbox(), &folders()).await {
                Ok(_) => "ok",
                Err(EwsError::HttpStatus { .. }) => "500",
                Err(_) => "busy",
            };
            outcomes.push(outcome);
        }
        runs.push(outcomes);
    }
    assert_eq!(runs[0], runs[1], "the same seed fails the same requests");
    let failures = runs[0].iter().filter(|o| **o != "ok").count();
    assert!((8..=32).contains(&failures), "{failures} of 40 failed");
}
