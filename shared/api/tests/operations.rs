//! The routes that hand work to the runner's `Operations`: sending with an idempotency
//! key (sent once, replayed, in progress, reused for another message, retried after a
//! failure), the calendar view, a sync now, and letting braked deletes through.

#![allow(clippy::unwrap_used)]

mod harness;

use std::sync::Arc;

use harness::{Answer, Call, Harness, MAILBOX_A, TENANT_A, answer, req};
use mailbridge_api::OpsError;
use mailbridge_store::StateStore;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tower::ServiceExt;

fn message() -> Value {
    json!({
        "to": ["Client@Example.com"],
        "cc": ["office@brokerage.example"],
        "subject": "Viewing on Friday",
        "text": "See you at 10.",
        "attachments": [{ "name": "brochure.pdf", "content_type": "application/pdf", "content_base64": "JVBERi0xLjQK" }],
    })
}

async fn send(h: &Harness, key: &str, idempotency_key: &str, body: &Value) -> Answer {
    req("POST", &format!("/v1/mailboxes/{MAILBOX_A}/send"))
        .key(key)
        .header("idempotency-key", idempotency_key)
        .json(body)
        .send(h)
        .await
}

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_first_answer_without_sending() {
    let (h, key, _) = Harness::with_two_tenants().await;

    let first = send(&h, &key, "order-17", &message()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["replayed"], false);
    assert_eq!(first.body["message_id"], "<order-17@mailbridge.test>");

    // The same message written differently (key order, address case) is the same request.
    let mut same = message();
    same["to"] = json!(["client@example.com"]);
    let reordered: Value = serde_json::from_str(&same.to_string()).unwrap();
    let retry = send(&h, &key, "order-17", &reordered).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.body["replayed"], true);
    assert_eq!(retry.body["message_id"], first.body["message_id"]);
    assert_eq!(h.app.ops().sends(), 1);
    assert!(matches!(
        &h.app.ops().calls()[..],
        [.., Call::Send { mailbox, key, subject }]
            if mailbox == MAILBOX_A && key == "order-17" && subject == "Viewing on Friday"
    ));
    let trail = h
        .app
        .state()
        .list_audit(MAILBOX_A, None, 100)
        .await
        .unwrap();
    let sent: Vec<_> = trail
        .items
        .iter()
        .filter(|e| e.action == "mail.send")
        .collect();
    assert_eq!(sent.len(), 1);
    assert!(
        !sent[0].detail.contains("See you"),
        "no message content in the audit trail"
    );
}

#[tokio::test]
async fn a_retry_while_the_first_attempt_runs_is_told_to_wait() {
    let (h, key, _) = Harness::with_two_tenants().await;
    let gate = Arc::new(Notify::new());
    *h.app.ops().hold_sends.lock().unwrap() = Some(gate.clone());

    let request = req("POST", &format!("/v1/mailboxes/{MAILBOX_A}/send"))
        .key(&key)
        .header("idempotency-key", "slow-1")
        .json(&message())
        .build();
    let router = h.router.clone();
    let first = tokio::spawn(async move { router.oneshot(request).await });
    for _ in 0..1000 {
        if h.app.ops().sends() == 1 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        h.app.ops().sends(),
        1,
        "the first attempt reached the runner"
    );

    let second = send(&h, &key, "slow-1", &message()).await;
    assert!(second.is_problem(409), "{}", second.text);
    assert_eq!(second.fields(), ["Idempotency-Key"]);

    gate.notify_one();
    let first = answer(first.await.unwrap().unwrap()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let third = send(&h, &key, "slow-1", &message()).await;
    assert_eq!(third.body["replayed"], true);
    assert_eq!(h.app.ops().sends(), 1);
}

#[tokio::test]
async fn a_key_reused_for_another_message_is_refused() {
    let (h, key, _) = Harness::with_two_tenants().await;
    send(&h, &key, "k-1", &message()).await;
    let mut other = message();
    other["subject"] = json!("Another subject");

    let answer = send(&h, &key, "k-1", &other).await;

    assert!(answer.is_problem(422), "{}", answer.text);
    assert_eq!(
        answer.body["type"],
        "urn:mailbridge:problem:idempotency-mismatch"
    );
    assert_eq!(h.app.ops().sends(), 1);
}

#[tokio::test]
async fn a_failed_send_answers_by_kind_and_may_be_retried_with_the_same_key() {
    let (h, key, _) = Harness::with_two_tenants().await;
    // Without a retry queue to take it, a throttled send is answered as it failed.
    *h.app.ops().queue_result.lock().unwrap() = Some(OpsError::Unavailable {
        message: "the retry queue is down".to_owned(),
    });
    h.app.ops().send_results.lock().unwrap().extend([
        Err(OpsError::Throttled {
            retry_after_secs: 7,
        }),
        Err(OpsError::Upstream {
            message: "the app lost its permission: grant full_access_as_app again".to_owned(),
        }),
    ]);

    let throttled = send(&h, &key, "k-2", &message()).await;
    assert!(throttled.is_problem(503), "{}", throttled.text);
    assert_eq!(throttled.headers["retry-after"], "7");
    assert_eq!(throttled.body["retry_after"], 7);
    let refused = send(&h, &key, "k-2", &message()).await;
    assert!(refused.is_problem(502), "{}", refused.text);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("full_access_as_app")
    );
    let sent = send(&h, &key, "k-2", &message()).await;
    assert_eq!(
        (sent.status.as_u16(), &sent.body["replayed"]),
        (200, &json!(false))
    );
    assert_eq!(h.app.ops().sends(), 3);
}

#[tokio::test]
async fn keys_are_per_mailbox() {
    let (h, key, _) = Harness::with_two_tenants().await;
    req("POST", &format!("/v1/tenants/{TENANT_A}/mailboxes"))
        .key(&key)
        .json(&json!({ "address": "second@a.example" }))
        .send(&h)
        .await;
    send(&h, &key, "same", &message()).await;

    let other = req("POST", "/v1/mailboxes/second@a.example/send")
        .key(&key)
        .header("idempotency-key", "same")
        .json(&message())
        .send(&h)
        .await;

    assert_eq!(other.body["replayed"], false, "{}", other.text);
    assert_eq!(h.app.ops().sends(), 2);
}

#[tokio::test]
async fn bad_messages_are_refused_naming_the_field_before_anything_is_sent() {
    let (h, key, _) = Harness::with_two_tenants().await;
    let no_key = req("POST", &format!("/v1/mailboxes/{MAILBOX_A}/send"))
        .key(&key)
        .json(&message())
        .send(&h)
        .await;
    assert!(no_key.is_problem(400));
    assert_eq!(no_key.fields(), ["Idempotency-Key"]);

    let cases = [
        (json!({ "to": ["ok@example.com", "nobody"] }), vec!["to[1]"]),
        (json!({ "to": [], "cc": [], "bcc": [] }), vec!["to"]),
        (json!({ "bcc": ["x@example.com"], "to": [] }), vec![]),
        (json!({ "html": "<p>Hi</p>" }), vec!["html"]),
        (json!({ "text": null }), vec!["text"]),
        (json!({ "subject": "s".repeat(256) }), vec!["subject"]),
        (
            json!({ "attachments": [{ "name": "a", "content_type": "text/plain", "content_base64": "***" }] }),
            vec!["attachments[0].content_base64"],
        ),
        (json!({ "priority": "high" }), vec!["priority"]),
        (json!({ "to": "client@example.com" }), vec!["to"]),
    ];
    for (n, (change, fields)) in cases.into_iter().enumerate() {
        let mut body = message();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let answer = send(&h, &key, &format!("v-{n}"), &body).await;
        if fields.is_empty() {
            assert_eq!(answer.status, 200, "{body}: {}", answer.text);
        } else {
            assert!(answer.is_problem(422), "{body}: {}", answer.text);
            assert_eq!(answer.fields(), fields, "{body}");
        }
    }
    assert_eq!(h.app.ops().sends(), 1, "only the valid message went out");
}

#[tokio::test]
async fn the_calendar_range_is_checked_before_the_runner_reads_it() {
    let (h, key, _) = Harness::with_two_tenants().await;
    let base = format!("/v1/mailboxes/{MAILBOX_A}/calendar");
    for (query, status, field) in [
        ("", 400, "start"),
        ("?start=2026-05-01T00:00:00Z", 400, "end"),
        ("?start=tomorrow&end=2026-05-08T00:00:00Z", 400, "start"),
        (
            "?start=2026-05-08T00:00:00Z&end=2026-05-01T00:00:00Z",
            422,
            "end",
        ),
        (
            "?start=2026-01-01T00:00:00Z&end=2026-04-03T00:00:01Z",
            422,
            "end",
        ),
    ] {
        let answer = req("GET", &format!("{base}{query}"))
            .key(&key)
            .send(&h)
            .await;
        assert!(answer.is_problem(status), "{query}: {}", answer.text);
        assert_eq!(answer.fields(), [field], "{query}");
    }
    assert!(
        h.app
            .ops()
            .calls()
            .iter()
            .all(|c| !matches!(c, Call::CalendarView { .. }))
    );

    let view = req(
        "GET",
        &format!("{base}?start=2026-01-01T00:00:00%2B01:00&end=2026-04-02T23:00:00Z"),
    )
    .key(&key)
    .send(&h)
    .await;
    assert_eq!(view.status, 200, "{}", view.text);
    assert_eq!(view.body["start"], "2025-12-31T23:00:00Z");
    assert_eq!(view.body["items"][0]["recurring"], true);
}

#[tokio::test]
async fn sync_now_is_accepted_or_answers_the_runners_refusal() {
    let (h, key, _) = Harness::with_two_tenants().await;
    let uri = format!("/v1/mailboxes/{MAILBOX_A}/sync");

    let queued = req("POST", &uri).key(&key).send(&h).await;
    assert_eq!(queued.status, 202);
    assert_eq!(
        queued.body,
        json!({ "mailbox": MAILBOX_A, "status": "queued" })
    );

    *h.app.ops().sync_result.lock().unwrap() = Some(OpsError::NotFound {
        what: "mailbox agent@a.example".to_owned(),
    });
    let missing = req("POST", &uri).key(&key).send(&h).await;
    assert!(missing.is_problem(404), "{}", missing.text);
    *h.app.ops().sync_result.lock().unwrap() = Some(OpsError::Unavailable {
        message: "queue unreachable".to_owned(),
    });
    let down = req("POST", &uri).key(&key).send(&h).await;
    assert!(down.is_problem(503));
    assert_eq!(down.headers["retry-after"], "5");
}

#[tokio::test]
async fn braked_deletes_are_let_through_once_on_the_callers_word() {
    let (h, key, _) = Harness::with_two_tenants().await;
    let uri = format!("/v1/mailboxes/{MAILBOX_A}/acknowledge-deletes");

    // Nothing braked: nothing to let through, and nothing queued.
    let refused = req("POST", &uri).key(&key).send(&h).await;
    assert!(refused.is_problem(409), "{}", refused.text);
    assert!(
        refused
            .text
            .contains("not stopped by the mass-delete brake"),
        "{}",
        refused.text
    );
    assert!(
        !h.app
            .ops()
            .calls()
            .contains(&Call::SyncNow(MAILBOX_A.to_owned()))
    );

    // The brake stopped a sync, as the engine records it.
    let state = h.app.state();
    let mut mailbox = state.get_mailbox(MAILBOX_A).await.unwrap().unwrap();
    mailbox.status = mailbridge_store::MailboxStatus::NeedsAttention;
    mailbox.attention = Some("contacts: 1000 of 1200 linked items would go".to_owned());
    mailbox.braked = Some(mailbridge_store::BrakedPull {
        folder: mailbridge_store::Folder::Contacts,
        deletes: 1000,
        linked: 1200,
    });
    state
        .put_mailbox(&mailbox, mailbridge_store::Expect::Version(mailbox.version))
        .await
        .unwrap();

    let accepted = req("POST", &uri).key(&key).send(&h).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    let actor = accepted.body["acknowledged_by"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(actor.starts_with("api:"), "{actor}");
    assert_eq!(accepted.body["status"], "queued");
    assert!(
        h.app
            .ops()
            .calls()
            .contains(&Call::SyncNow(MAILBOX_A.to_owned()))
    );

    let health = req("GET", &format!("/v1/mailboxes/{MAILBOX_A}"))
        .key(&key)
        .send(&h)
        .await;
    assert_eq!(health.body["status"], "active");
    assert_eq!(health.body["attention"], Value::Null);
    assert_eq!(
        health.body["deletes_go_ahead"],
        json!({ "by": actor, "folder": "contacts", "deletes": 1000 })
    );
    assert_eq!(health.body["braked"], Value::Null);
    assert_eq!(accepted.body["go_ahead"], health.body["deletes_go_ahead"]);
    let audit = req("GET", &format!("/v1/mailboxes/{MAILBOX_A}/audit"))
        .key(&key)
        .send(&h)
        .await;
    let event = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "brake.acknowledged")
        .expect("the go-ahead is audited");
    assert_eq!(event["actor"], actor.as_str());
    assert!(event["detail"].as_str().unwrap().contains("1000 of 1200"));

    // While the go-ahead waits, a repeat (say after the queue refused) queues again.
    let syncs = |h: &Harness| {
        h.app
            .ops()
            .calls()
            .iter()
            .filter(|c| **c == Call::SyncNow(MAILBOX_A.to_owned()))
            .count()
    };
    let before = syncs(&h);
    let again = req("POST", &uri).key(&key).send(&h).await;
    assert_eq!(again.status, 202, "{}", again.text);
    assert_eq!(again.body["acknowledged_by"], actor.as_str());
    assert_eq!(syncs(&h), before + 1);

    // Once a sync used it, nothing is braked any more.
    let mut used = state.get_mailbox(MAILBOX_A).await.unwrap().unwrap();
    used.deletes_go_ahead = None;
    state
        .put_mailbox(&used, mailbridge_store::Expect::Version(used.version))
        .await
        .unwrap();
    let after = req("POST", &uri).key(&key).send(&h).await;
    assert!(after.is_problem(409), "{}", after.text);
}
