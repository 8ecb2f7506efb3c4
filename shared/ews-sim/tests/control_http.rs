//! Every route of the control interface under `/_sim/`, driven over HTTP as JSON, each
//! effect confirmed through EWS with our client or through the Rust API.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod control;
mod harness;

use chrono::{Duration, TimeZone, Utc};
use control::Control;
use mailbridge_ews::ops::{CreateItem, FindItem, GetFolder, GetItem, SyncFolderItems, View};
use mailbridge_ews::types::{DistinguishedFolder, Item, ItemId, ItemShape, Mailbox, Message};
use mailbridge_ews::{EwsError, ResponseCode, RetryPolicy};
use mailbridge_ews_sim::model::{
    Contact, Event, ItemContent, MailboxConfig, Pattern, Range, Recurrence, SecretConfig,
    TenantConfig,
};
use serde_json::{Value, json};

fn folders() -> GetFolder {
    GetFolder {
        folders: vec![
            DistinguishedFolder::Contacts.into(),
            DistinguishedFolder::Calendar.into(),
        ],
    }
}

fn contact(name: &str) -> Value {
    serde_json::to_value(ItemContent::contact(Contact {
        display_name: Some(name.into()),
        ..Contact::default()
    }))
    .unwrap()
}

#[tokio::test]
async fn tenants_mailboxes_tokens_and_stats_are_managed_over_http() {
    let env = harness::start().await;
    let ctl = Control::of(&env);
    let tenant_id = "0b1c2d3e-4f50-4a61-8b72-9c8d7e6f5a4b";
    let client_id = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b";
    let tenant = TenantConfig {
        tenant_id: tenant_id.into(),
        domains: vec!["fabrikam.example".into()],
        apps: vec![mailbridge_ews_sim::model::AppConfig {
            client_id: client_id.into(),
            secrets: vec![SecretConfig {
                value: "fabrikam-secret".into(),
                expires: Utc::now() + Duration::days(30),
            }],
            full_access_as_app: true,
            admin_consent: true,
            enabled: true,
            mailbox_scope: None,
        }],
        ews_enabled: true,
        ews_allowed_app_ids: Vec::new(),
    };
    let (status, _) = ctl
        .post("/_sim/tenants", &serde_json::to_value(&tenant).unwrap())
        .await;
    assert_eq!(status, 201);
    let (status, shown) = ctl.get("/_sim/tenants/fabrikam.example").await;
    assert_eq!(
        (status, shown["tenant_id"].as_str()),
        (200, Some(tenant_id))
    );

    let mailbox = MailboxConfig {
        address: "eve@fabrikam.example".into(),
        display_name: "Eve".into(),
        tenant_id: tenant_id.into(),
        licensed: true,
        ews_enabled: true,
    };
    let (status, _) = ctl
        .post("/_sim/mailboxes", &serde_json::to_value(&mailbox).unwrap())
        .await;
    assert_eq!(status, 201);
    let (status, shown) = ctl.get("/_sim/mailboxes/eve@fabrikam.example").await;
    assert_eq!((status, shown["display_name"].as_str()), (200, Some("Eve")));

    // The new tenant's app reaches its new mailbox over EWS.
    let ews = env.client_for(tenant_id, client_id, "fabrikam-secret");
    let ews = ews.with_retry(RetryPolicy {
        max_attempts: 1,
        ..harness::fast_retry()
    });
    assert!(
        ews.execute("eve@fabrikam.example", &folders())
            .await
            .is_ok()
    );

    // Unlicensed, the mailbox is gone for EWS; licensed again, it is back.
    let unlicensed = MailboxConfig {
        licensed: false,
        ..mailbox.clone()
    };
    let (status, _) = ctl
        .put(
            "/_sim/mailboxes/eve@fabrikam.example",
            &serde_json::to_value(&unlicensed).unwrap(),
        )
        .await;
    assert_eq!(status, 204);
    match ews.execute("eve@fabrikam.example", &folders()).await {
        Err(EwsError::SoapFault { code, .. }) => {
            assert_eq!(code, ResponseCode::ErrorNonExistentMailbox);
        }
        other => panic!("an unlicensed mailbox: {other:?}"),
    }
    ctl.put(
        "/_sim/mailboxes/eve@fabrikam.example",
        &serde_json::to_value(&mailbox).unwrap(),
    )
    .await;

    // EWS off for the organisation: 403; on again: served.
    let off = TenantConfig {
        ews_enabled: false,
        ..tenant.clone()
    };
    let (status, _) = ctl
        .put(
            &format!("/_sim/tenants/{tenant_id}"),
            &serde_json::to_value(&off).unwrap(),
        )
        .await;
    assert_eq!(status, 204);
    assert!(matches!(
        ews.execute("eve@fabrikam.example", &folders()).await,
        Err(EwsError::Forbidden { .. })
    ));
    ctl.put(
        &format!("/_sim/tenants/{tenant_id}"),
        &serde_json::to_value(&tenant).unwrap(),
    )
    .await;

    // Expired tokens: the client meets a 401 and renews once.
    let (_, before) = ctl.get("/_sim/stats").await;
    let (status, _) = ctl
        .post(
            &format!("/_sim/tenants/{tenant_id}/expire-tokens"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let ews = env
        .client_for(tenant_id, client_id, "fabrikam-secret")
        .with_retry(harness::fast_retry());
    assert!(
        ews.execute("eve@fabrikam.example", &folders())
            .await
            .is_ok()
    );
    let (status, after) = ctl.get("/_sim/stats").await;
    assert_eq!(status, 200);
    assert_eq!(
        after["tokens_issued"].as_u64().unwrap(),
        before["tokens_issued"].as_u64().unwrap() + 1
    );
    assert!(after["requests"]["GetFolder"].as_u64().unwrap() >= 3);
    assert!(
        after["by_mailbox"]["eve@fabrikam.example"]["GetFolder"]
            .as_u64()
            .unwrap()
            >= 3
    );

    let (status, _) = ctl.delete("/_sim/stats").await;
    assert_eq!(status, 204);
    let (_, reset) = ctl.get("/_sim/stats").await;
    assert_eq!(reset["tokens_issued"], 0);
    assert_eq!(reset["requests"], json!({}));
    assert_eq!(env.sim.world().stats().tokens_issued, 0);
}

#[tokio::test]
async fn items_are_seeded_created_edited_listed_and_deleted_over_http() {
    let env = harness::start().await;
    let ctl = Control::of(&env);
    let mb = env.mailbox().to_owned();
    let at = |path: &str| format!("/_sim/mailboxes/{mb}{path}");

    let (status, seeded) = ctl
        .post(
            &at("/seed"),
            &json!({"contacts": 5, "events": 2, "recurring": 1, "seed": 7}),
        )
        .await;
    assert_eq!((status, seeded["created"].as_u64()), (200, Some(8)));
    let counts = env.ews.execute(&mb, &folders()).await.unwrap();
    let count = |n: usize| counts[n].as_ref().unwrap().total_count;
    assert_eq!((count(0), count(1)), (Some(5), Some(3)));

    let (status, listed) = ctl.get(&at("/folders/contacts/items")).await;
    assert_eq!(status, 200);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 5);
    let first_id = listed[0]["id"].as_str().unwrap().to_owned();
    let got = env
        .ews
        .execute(
            &mb,
            &GetItem::full(vec![ItemId::new(first_id.clone(), None)]),
        )
        .await
        .unwrap();
    let Ok(Item::Contact(c)) = &got[0] else {
        panic!("the listed id is a contact over EWS: {got:?}")
    };
    assert_eq!(
        c.display_name.as_deref(),
        listed[0]["content"]["display_name"].as_str()
    );

    // The owner creates a contact, renames it, and deletes it twice.
    let (status, created) = ctl
        .post(&at("/folders/contacts/items"), &contact("Ines Owner"))
        .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, edited) = ctl
        .put(
            &at(&format!("/items/{}", control::segment(&id))),
            &contact("Ines Renamed"),
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(edited["change_key"], created["change_key"]);
    let (status, shown) = ctl
        .get(&at(&format!("/items/{}", control::segment(&id))))
        .await;
    assert_eq!(
        (status, shown["content"]["display_name"].as_str()),
        (200, Some("Ines Renamed"))
    );
    let got = env
        .ews
        .execute(&mb, &GetItem::full(vec![ItemId::new(id.clone(), None)]))
        .await
        .unwrap();
    let Ok(Item::Contact(c)) = &got[0] else {
        panic!("a contact: {got:?}")
    };
    assert_eq!(c.display_name.as_deref(), Some("Ines Renamed"));
    assert_eq!(
        c.common
            .id
            .as_ref()
            .unwrap()
            .change_key
            .as_ref()
            .unwrap()
            .as_str(),
        edited["change_key"].as_str().unwrap()
    );

    let (status, moved) = ctl
        .delete(&at(&format!("/items/{}", control::segment(&id))))
        .await;
    assert_eq!(status, 200);
    let moved_id = moved["moved_to"].as_str().unwrap().to_owned();
    let gone = env
        .ews
        .execute(&mb, &GetItem::full(vec![ItemId::new(id.clone(), None)]))
        .await
        .unwrap();
    assert_eq!(
        gone[0].as_ref().unwrap_err().code,
        ResponseCode::ErrorItemNotFound
    );
    let (status, deleted_items) = ctl.get(&at("/folders/deleted_items/items")).await;
    assert_eq!(
        (status, deleted_items[0]["id"].as_str()),
        (200, Some(moved_id.as_str()))
    );
    let (status, purged) = ctl
        .delete(&at(&format!("/items/{}", control::segment(&moved_id))))
        .await;
    assert_eq!((status, &purged["moved_to"]), (200, &Value::Null));

    // A recurring series created by the owner expands in a calendar view.
    let start = Utc.with_ymd_and_hms(2027, 5, 3, 9, 0, 0).unwrap();
    let mut series = Event::new("Weekly viewing", start, start + Duration::hours(1));
    series.recurrence = Some(Recurrence {
        pattern: Pattern::Daily { interval: 7 },
        range: Range::Numbered {
            start: start.date_naive(),
            count: 4,
        },
    });
    let (status, _) = ctl
        .post(
            &at("/folders/calendar/items"),
            &serde_json::to_value(ItemContent::event(series)).unwrap(),
        )
        .await;
    assert_eq!(status, 201);
    let view = FindItem {
        folder: DistinguishedFolder::Calendar.into(),
        shape: ItemShape::full_with_crm_id(),
        view: View::Calendar {
            start,
            end: start + Duration::days(60),
            max_entries: None,
        },
        restriction: None,
    };
    let found = env.ews.execute(&mb, &view).await.unwrap();
    let weekly = found
        .items
        .iter()
        .filter(|i| matches!(i, Item::CalendarItem(e) if e.subject.as_deref() == Some("Weekly viewing")))
        .count();
    assert_eq!(weekly, 4, "four weekly occurrences");

    // Invalidating the folder's sync states makes a state issued before unusable; so does
    // purging tombstones the state has not yet read (a state that needs none stays good).
    for route in ["invalidate-sync-states", "purge-tombstones"] {
        let sync = SyncFolderItems::new(DistinguishedFolder::Contacts, None);
        let state = env.ews.execute(&mb, &sync).await.unwrap().sync_state;
        if route == "purge-tombstones" {
            let (_, items) = ctl.get(&at("/folders/contacts/items")).await;
            let victim = control::segment(items[0]["id"].as_str().unwrap());
            assert_eq!(ctl.delete(&at(&format!("/items/{victim}"))).await.0, 200);
        }
        let (status, _) = ctl
            .post(&at(&format!("/folders/contacts/{route}")), &json!({}))
            .await;
        assert_eq!(status, 204, "{route}");
        let again = SyncFolderItems::new(DistinguishedFolder::Contacts, state);
        match env.ews.execute(&mb, &again).await {
            Err(EwsError::Response(e)) => {
                assert_eq!(e.code, ResponseCode::ErrorInvalidSyncStateData, "{route}");
            }
            other => panic!("{route}: the old state is refused, not {other:?}"),
        }
    }
}

#[tokio::test]
async fn outbox_throttling_faults_and_the_clock_are_driven_over_http() {
    let env = harness::start().await;
    let ctl = Control::of(&env);
    let mb = env.mailbox().to_owned();
    let once = env
        .client_for(
            &env.tenant.tenant_id,
            &env.tenant.client_id,
            &env.tenant.client_secret,
        )
        .with_retry(RetryPolicy {
            max_attempts: 1,
            ..harness::fast_retry()
        });

    // The outbox shows what was sent, and empties.
    let message = Message {
        subject: Some("Offer".into()),
        to: vec![Mailbox::new("buyer@buyers.example")],
        ..Message::default()
    };
    env.ews
        .execute(&mb, &CreateItem::send_and_save_copy(message))
        .await
        .unwrap();
    let (status, outbox) = ctl.get("/_sim/outbox").await;
    assert_eq!(status, 200);
    assert_eq!(outbox[0]["message"]["subject"], "Offer");
    assert_eq!(outbox[0]["mailbox"].as_str(), Some(mb.as_str()));
    assert_eq!(ctl.delete("/_sim/outbox").await.0, 204);
    assert_eq!(ctl.get("/_sim/outbox").await.1, json!([]));
    assert!(env.sim.world().outbox().is_empty());

    // A rate budget set over HTTP refuses the second request with 429.
    let (status, policy) = ctl.get("/_sim/throttle").await;
    assert_eq!(
        (status, policy["max_concurrency"].as_u64()),
        (200, Some(27))
    );
    let (status, _) = ctl
        .put(
            "/_sim/throttle",
            &json!({"max_concurrency": 27, "rate_per_second": 0.01, "burst": 1, "refusal": "http429"}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(ctl.get("/_sim/throttle").await.1["refusal"], "http429");
    assert!(once.execute(&mb, &folders()).await.is_ok());
    assert!(matches!(
        once.execute(&mb, &folders()).await,
        Err(EwsError::Throttled { .. })
    ));
    ctl.put("/_sim/throttle", &policy).await;

    // A fault plan that fails every request, read back, then dropped.
    let plan = json!({"seed": 1, "latency_ms": 0, "jitter_ms": 0, "rates": [["http500", 1.0]]});
    assert_eq!(ctl.put("/_sim/faults", &plan).await.0, 204);
    assert_eq!(ctl.get("/_sim/faults").await.1, plan);
    assert!(matches!(
        once.execute(&mb, &folders()).await,
        Err(EwsError::HttpStatus { status: 500, .. })
    ));
    assert_eq!(ctl.delete("/_sim/faults").await.0, 204);
    assert!(once.execute(&mb, &folders()).await.is_ok());

    // Injected faults hit only the operation named, as many times as asked.
    let (status, _) = ctl
        .post(
            "/_sim/faults/inject",
            &json!({"fault": "server_busy", "op": "GetFolder", "count": 2}),
        )
        .await;
    assert_eq!(status, 204);
    let sync = SyncFolderItems::new(DistinguishedFolder::Contacts, None);
    assert!(once.execute(&mb, &sync).await.is_ok(), "another operation");
    for _ in 0..2 {
        match once.execute(&mb, &folders()).await {
            Err(EwsError::SoapFault { code, .. }) => {
                assert_eq!(code, ResponseCode::ErrorServerBusy);
            }
            other => panic!("an injected ServerBusy: {other:?}"),
        }
    }
    assert!(
        once.execute(&mb, &folders()).await.is_ok(),
        "two, not three"
    );

    // Moving the clock past the token's life: the next request renews it.
    let issued = env.sim.world().stats().tokens_issued;
    let (status, _) = ctl
        .post("/_sim/clock/advance", &json!({"seconds": 4000}))
        .await;
    assert_eq!(status, 204);
    assert!(env.ews.execute(&mb, &folders()).await.is_ok());
    assert_eq!(env.sim.world().stats().tokens_issued, issued + 1);
    assert!(env.sim.world().now() > Utc::now() + Duration::seconds(3900));
}
