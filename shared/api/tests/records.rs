//! The CRM side through the API: upserts and deletes with optimistic concurrency,
//! validation naming the field, the change feed page by page, and a mailbox's health.

#![allow(clippy::unwrap_used)]

mod harness;

use std::time::Duration;

use chrono::Utc;
use harness::{Answer, Harness, MAILBOX_A, req};
use mailbridge_store::{Commit, Folder, RecordWrite, StateStore};
use serde_json::{Value, json};

async fn put(h: &Harness, key: &str, path: &str, body: &Value) -> Answer {
    req("PUT", &format!("/v1/mailboxes/{MAILBOX_A}/{path}"))
        .key(key)
        .json(body)
        .send(h)
        .await
}

#[tokio::test]
async fn versions_guard_every_write_and_conflicts_name_the_current_version() {
    let (h, key, _) = Harness::with_two_tenants().await;
    let ann = json!({ "given_name": "Ann", "emails": ["ann@example.com"] });

    let created = put(&h, &key, "contacts/crm-1", &json!({ "data": ann })).await;
    assert_eq!(
        (created.status.as_u16(), &created.body),
        (201, &json!({ "crm_id": "crm-1", "version": 1 }))
    );
    let replaced = put(
        &h,
        &key,
        "contacts/crm-1",
        &json!({ "version": 1, "data": ann }),
    )
    .await;
    assert_eq!(
        (replaced.status.as_u16(), &replaced.body["version"]),
        (200, &json!(2))
    );

    let stale = put(
        &h,
        &key,
        "contacts/crm-1",
        &json!({ "version": 1, "data": ann }),
    )
    .await;
    assert!(stale.is_problem(409), "{}", stale.text);
    assert_eq!(stale.body["current_version"], 2);
    let twice = put(&h, &key, "contacts/crm-1", &json!({ "data": ann })).await;
    assert!(twice.is_problem(409));
    assert_eq!(twice.body["current_version"], 2);
    let missing = put(
        &h,
        &key,
        "contacts/crm-9",
        &json!({ "version": 3, "data": ann }),
    )
    .await;
    assert!(missing.is_problem(409));
    assert_eq!(missing.body["current_version"], Value::Null);

    let forced = req("PUT", &format!("/v1/mailboxes/{MAILBOX_A}/contacts/crm-1"))
        .key(&key)
        .header("if-match", "*")
        .json(&json!({ "data": ann }))
        .send(&h)
        .await;
    assert_eq!(
        (forced.status.as_u16(), &forced.body["version"]),
        (200, &json!(3))
    );
    let stored = h
        .app
        .state()
        .get_record(MAILBOX_A, Folder::Contacts, "crm-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 3);
    let data: Value = serde_json::from_str(stored.data.as_deref().unwrap()).unwrap();
    assert_eq!(data["given_name"], "Ann");
}

#[tokio::test]
async fn deletes_need_a_version_and_leave_a_tombstone() {
    let (h, key, _) = Harness::with_two_tenants().await;
    let event = json!({ "subject": "Viewing", "start": "2026-05-01T09:00:00Z", "end": "2026-05-01T10:00:00Z" });
    put(&h, &key, "events/ev-1", &json!({ "data": event })).await;
    let uri = format!("/v1/mailboxes/{MAILBOX_A}/events/ev-1");

    let unguarded = req("DELETE", &uri).key(&key).send(&h).await;
    assert!(unguarded.is_problem(428), "{}", unguarded.text);
    assert_eq!(unguarded.fields(), ["version"]);
    let stale = req("DELETE", &format!("{uri}?version=7"))
        .key(&key)
        .send(&h)
        .await;
    assert!(stale.is_problem(409));
    assert_eq!(stale.body["current_version"], 1);
    let bad = req("DELETE", &format!("{uri}?version=one"))
        .key(&key)
        .send(&h)
        .await;
    assert!(bad.is_problem(400));
    assert_eq!(bad.fields(), ["version"]);

    let deleted = req("DELETE", &format!("{uri}?version=1"))
        .key(&key)
        .send(&h)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(
        deleted.body,
        json!({ "crm_id": "ev-1", "version": 2, "deleted": true })
    );
    let record = h
        .app
        .state()
        .get_record(MAILBOX_A, Folder::Calendar, "ev-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((record.version, record.data), (2, None));
}

#[tokio::test]
async fn bad_data_is_refused_naming_the_field() {
    let (h, key, _) = Harness::with_two_tenants().await;
    let cases = [
        (
            "contacts/c",
            json!({ "data": { "emails": ["not an address"] } }),
            "data.emails",
        ),
        (
            "contacts/c",
            json!({ "data": { "colour": "blue" } }),
            "data.colour",
        ),
        (
            "contacts/c",
            json!({ "data": { "given_name": 7 } }),
            "data.given_name",
        ),
        ("contacts/c", json!({ "data": ["Ann"] }), "data"),
        ("contacts/c", json!({ "version": 1 }), "data"),
        ("contacts/c", json!({ "data": {}, "etag": "x" }), "etag"),
        (
            "contacts/c",
            json!({ "data": {}, "version": -1 }),
            "version",
        ),
        (
            "events/e",
            json!({ "data": { "start": "2026-05-01T10:00:00Z", "end": "2026-05-01T09:00:00Z" } }),
            "data.end",
        ),
        (
            "events/e",
            json!({ "data": { "start": "2026-05-01T10:00:00Z" } }),
            "data.end",
        ),
        (
            "events/e",
            json!({ "data": { "start": "2026-05-01T09:00:00Z", "end": "2026-05-01T10:00:00Z",
            "attendees": [{ "email": "a@example.com", "rsvp": true }] } }),
            "data.attendees[0].rsvp",
        ),
    ];
    for (path, body, field) in cases {
        let answer = put(&h, &key, path, &body).await;
        assert!(answer.is_problem(422), "{body}: {}", answer.text);
        assert_eq!(answer.fields(), [field], "{body}");
    }
    let blank_id = put(&h, &key, "contacts/%20", &json!({ "data": {} })).await;
    assert!(blank_id.is_problem(400));
    assert_eq!(blank_id.fields(), ["crm_id"]);
    let odd_match = req("PUT", &format!("/v1/mailboxes/{MAILBOX_A}/contacts/c"))
        .key(&key)
        .header("if-match", "\"3\"")
        .json(&json!({ "data": {} }))
        .send(&h)
        .await;
    assert_eq!(odd_match.fields(), ["If-Match"]);
    assert!(
        h.app
            .state()
            .get_record(MAILBOX_A, Folder::Contacts, "c")
            .await
            .unwrap()
            .is_none()
    );
}

/// Commits mailbox-side changes, as a sync run would: `(crm id, first name)` pairs.
async fn mailbox_changes(h: &Harness, id: &str, changes: &[(&str, &str)]) {
    let state = h.app.state();
    let lease = state
        .acquire_lease("sync/test", "runner", Duration::from_mins(1), Utc::now())
        .await
        .unwrap()
        .unwrap();
    let mut records = Vec::new();
    for (crm_id, name) in changes {
        let current = state
            .get_record(MAILBOX_A, Folder::Contacts, crm_id)
            .await
            .unwrap();
        records.push(RecordWrite {
            crm_id: (*crm_id).to_owned(),
            expected: current.map(|r| r.version),
            data: Some(json!({ "given_name": name }).to_string()),
        });
    }
    let commit = Commit {
        mailbox: MAILBOX_A.to_owned(),
        folder: Folder::Contacts,
        id: id.to_owned(),
        lease: lease.clone(),
        cursor: Some((Some(format!("state-{id}")), true)),
        records,
        links: Vec::new(),
        outbox_done: Vec::new(),
        outbox_failed: Vec::new(),
        audit: Vec::new(),
    };
    state.commit(&commit).await.unwrap();
    state.release_lease(&lease).await.unwrap();
}

#[tokio::test]
async fn the_change_feed_pages_from_a_cursor_and_shows_each_record_once() {
    let (h, key, _) = Harness::with_two_tenants().await;
    mailbox_changes(
        &h,
        "c1",
        &[
            ("m1", "Ann"),
            ("m2", "Bo"),
            ("m3", "Cy"),
            ("m4", "Di"),
            ("m5", "Ed"),
        ],
    )
    .await;
    // A CRM write never shows in the feed: the CRM knows about it already.
    put(
        &h,
        &key,
        "contacts/crm-own",
        &json!({ "data": { "given_name": "Own" } }),
    )
    .await;

    let (mut after, mut seen) = (0u64, Vec::new());
    loop {
        let page = req(
            "GET",
            &format!("/v1/mailboxes/{MAILBOX_A}/changes?folder=contacts&after={after}&limit=2"),
        )
        .key(&key)
        .send(&h)
        .await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().unwrap();
        if items.is_empty() {
            assert_eq!(page.body["next"], after, "an empty page keeps the cursor");
            break;
        }
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|i| i["crm_id"].as_str().unwrap().to_owned()),
        );
        after = page.body["next"].as_u64().unwrap();
    }
    assert_eq!(seen, ["m1", "m2", "m3", "m4", "m5"]);

    mailbox_changes(&h, "c2", &[("m2", "Bob")]).await;
    let page = req(
        "GET",
        &format!("/v1/mailboxes/{MAILBOX_A}/changes?folder=contacts&after={after}"),
    )
    .key(&key)
    .send(&h)
    .await;
    assert_eq!(
        page.body["items"],
        json!([{ "crm_id": "m2", "version": 2, "deleted": false, "data": { "given_name": "Bob" } }])
    );
    let calendar = req(
        "GET",
        &format!("/v1/mailboxes/{MAILBOX_A}/changes?folder=calendar"),
    )
    .key(&key)
    .send(&h)
    .await;
    assert_eq!(calendar.body["items"], json!([]));
}

#[tokio::test]
async fn feed_and_page_parameters_are_checked() {
    let (h, key, _) = Harness::with_two_tenants().await;
    let base = format!("/v1/mailboxes/{MAILBOX_A}");
    for (query, field) in [
        ("changes", "folder"),
        ("changes?folder=inbox", "folder"),
        ("changes?folder=contacts&after=-1", "after"),
        ("changes?folder=contacts&limit=0", "limit"),
        ("changes?folder=contacts&limit=5000", "limit"),
        ("changes?folder=contacts&folder=calendar", "folder"),
        ("changes?folder=contacts&cursor=3", "cursor"),
        ("audit?after=zz", "after"),
    ] {
        let answer = req("GET", &format!("{base}/{query}"))
            .key(&key)
            .send(&h)
            .await;
        assert!(answer.is_problem(400), "{query}: {}", answer.text);
        assert_eq!(answer.fields(), [field], "{query}");
    }
}

#[tokio::test]
async fn health_shows_the_outbox_backlog_and_feed_position_per_folder() {
    let (h, key, _) = Harness::with_two_tenants().await;
    put(
        &h,
        &key,
        "contacts/a",
        &json!({ "data": { "given_name": "A" } }),
    )
    .await;
    put(
        &h,
        &key,
        "contacts/b",
        &json!({ "data": { "given_name": "B" } }),
    )
    .await;
    mailbox_changes(&h, "c1", &[("m1", "Ann")]).await;

    let health = req("GET", &format!("/v1/mailboxes/{MAILBOX_A}"))
        .key(&key)
        .send(&h)
        .await;

    assert_eq!(health.status, 200, "{}", health.text);
    assert_eq!(health.body["status"], "active");
    assert_eq!(health.body["folders"]["contacts"]["outbox_backlog"], 2);
    assert_eq!(health.body["folders"]["contacts"]["feed_position"], 1);
    assert_eq!(health.body["folders"]["calendar"]["outbox_backlog"], 0);
    assert_eq!(health.body["last_error"], Value::Null);
    let trail = req("GET", &format!("/v1/mailboxes/{MAILBOX_A}/audit?limit=2"))
        .key(&key)
        .send(&h)
        .await;
    assert_eq!(trail.body["items"].as_array().unwrap().len(), 2);
    let next = trail.body["next"].as_str().unwrap();
    let rest = req(
        "GET",
        &format!("/v1/mailboxes/{MAILBOX_A}/audit?after={next}"),
    )
    .key(&key)
    .send(&h)
    .await;
    let actions: Vec<&str> = rest.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.last(), Some(&"crm.update"));
}
