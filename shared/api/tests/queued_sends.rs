//! Sends that fail in a way that may pass are queued for a retry: answered `202` with the
//! key, replayed as `202` while they wait, delivered once by the retry worker from the
//! spooled message, and then replayed with the receipt. Failures only a person can fix are
//! answered as before, and nothing is queued when the queue refuses.

#![allow(clippy::unwrap_used)]

mod harness;

use harness::{Answer, Call, Harness, MAILBOX_A, req};
use mailbridge_api::{Delivery, OpsError, QueuedSend, SpooledSend, deliver_queued};
use mailbridge_store::{StateStore, StoreError};
use serde_json::{Value, json};

fn message() -> Value {
    json!({
        "to": ["client@example.com"],
        "subject": "Offer for Elm Street 4",
        "text": "The offer is attached.",
        "attachments": [{ "name": "offer.pdf", "content_type": "application/pdf", "content_base64": "JVBERi0xLjQK" }],
    })
}

async fn send(h: &Harness, key: &str, idempotency_key: &str) -> Answer {
    req("POST", &format!("/v1/mailboxes/{MAILBOX_A}/send"))
        .key(key)
        .header("idempotency-key", idempotency_key)
        .json(&message())
        .send(h)
        .await
}

fn script(
    h: &Harness,
    results: impl IntoIterator<Item = Result<mailbridge_api::SendReceipt, OpsError>>,
) {
    h.app.ops().send_results.lock().unwrap().extend(results);
}

fn throttled(secs: u64) -> Result<mailbridge_api::SendReceipt, OpsError> {
    Err(OpsError::Throttled {
        retry_after_secs: secs,
    })
}

/// The next send on the test's retry queue.
fn next_queued(h: &Harness) -> QueuedSend {
    h.app.ops().retry_queue.lock().unwrap().pop_front().unwrap()
}

async fn spooled(h: &Harness, key: &str) -> Result<Vec<u8>, StoreError> {
    h.app
        .state()
        .get_spool(MAILBOX_A, key, chrono::Utc::now())
        .await
}

// One send's whole story, in order: splitting it would hide the sequence it checks.
#[allow(clippy::too_many_lines)]
#[tokio::test]
async fn a_throttled_send_is_queued_replayed_while_it_waits_and_then_answered_with_the_receipt() {
    let (h, key, _) = Harness::with_two_tenants().await;
    script(&h, [throttled(90)]);

    let first = send(&h, &key, "offer-4").await;

    assert_eq!(first.status, 202, "{}", first.text);
    assert_eq!(first.body["status"], "queued");
    assert_eq!(first.body["idempotency_key"], "offer-4");
    assert_eq!(first.body["mailbox"], MAILBOX_A);
    assert_eq!(first.body["replayed"], false);
    let due = first.body["next_attempt_at"].as_str().unwrap().to_owned();
    let wait: u64 = first.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((85..=90).contains(&wait), "Retry-After {wait}");
    assert!(matches!(
        &h.app.ops().calls()[..],
        [.., Call::Send { .. }, Call::QueueSend { mailbox, key, delay_secs: 90 }]
            if mailbox == MAILBOX_A && key == "offer-4"
    ));
    let payload = spooled(&h, "offer-4").await.unwrap();
    let spool: SpooledSend = serde_json::from_slice(&payload).unwrap();
    assert_eq!(spool.message.subject, "Offer for Elm Street 4");
    assert_eq!(spool.message.attachments.len(), 1);
    assert!(spool.actor.starts_with("api:"), "{}", spool.actor);

    let waiting = send(&h, &key, "offer-4").await;
    assert_eq!(waiting.status, 202, "{}", waiting.text);
    assert_eq!(waiting.body["replayed"], true);
    assert_eq!(waiting.body["next_attempt_at"], due.as_str());
    assert_eq!(
        h.app.ops().sends(),
        1,
        "a repeat while queued sends nothing"
    );

    let queued = next_queued(&h);
    assert_eq!(
        queued,
        QueuedSend {
            mailbox: MAILBOX_A.to_owned(),
            idempotency_key: "offer-4".to_owned(),
        }
    );
    let delivery = deliver_queued(h.app.state(), h.app.ops(), &queued).await;
    let Delivery::Sent(receipt) = delivery else {
        panic!("not sent: {delivery:?}");
    };
    assert_eq!(h.app.ops().sends(), 2);

    let done = send(&h, &key, "offer-4").await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["replayed"], true);
    assert_eq!(done.body["message_id"], json!(receipt.message_id));
    assert!(matches!(
        spooled(&h, "offer-4").await,
        Err(StoreError::NotFound { .. })
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
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].actor, spool.actor);
    assert_eq!(sent[0].subject, "idempotency-key/offer-4");
    let detail: Value = serde_json::from_str(&sent[0].detail).unwrap();
    assert_eq!(detail["attachments"], 1);
    assert!(
        !sent[0].detail.contains("attached"),
        "no content in the trail"
    );

    // The queue delivers the same message again: nothing is spooled, nothing is sent.
    let again = deliver_queued(h.app.state(), h.app.ops(), &queued).await;
    assert_eq!(again, Delivery::Gone);
    assert_eq!(h.app.ops().sends(), 2);
}

#[tokio::test]
async fn a_queued_send_still_failing_for_now_stays_queued() {
    let (h, key, _) = Harness::with_two_tenants().await;
    let unreachable = || {
        Err(OpsError::Unavailable {
            message: "connection reset".to_owned(),
        })
    };
    script(&h, [unreachable(), unreachable()]);

    let first = send(&h, &key, "k-busy").await;
    assert_eq!(first.status, 202, "{}", first.text);
    assert!(
        first.body.get("next_attempt_at").is_none(),
        "{}",
        first.text
    );
    assert!(first.headers.get("retry-after").is_none());

    let delivery = deliver_queued(h.app.state(), h.app.ops(), &next_queued(&h)).await;

    assert!(matches!(delivery, Delivery::Retry { .. }), "{delivery:?}");
    assert!(spooled(&h, "k-busy").await.is_ok(), "the message waits");
    let repeat = send(&h, &key, "k-busy").await;
    assert_eq!(
        (repeat.status.as_u16(), &repeat.body["replayed"]),
        (202, &json!(true))
    );
    assert_eq!(h.app.ops().sends(), 2);
}

#[tokio::test]
async fn a_queued_send_that_fails_for_good_is_recorded_failed_and_may_be_sent_again() {
    let (h, key, _) = Harness::with_two_tenants().await;
    script(
        &h,
        [
            throttled(5),
            Err(OpsError::Upstream {
                message: "impersonation is not allowed for this app".to_owned(),
            }),
        ],
    );
    send(&h, &key, "k-refused").await;

    let delivery = deliver_queued(h.app.state(), h.app.ops(), &next_queued(&h)).await;

    let Delivery::Failed { reason } = delivery else {
        panic!("not failed: {delivery:?}");
    };
    assert!(reason.contains("impersonation"), "{reason}");
    assert!(matches!(
        spooled(&h, "k-refused").await,
        Err(StoreError::NotFound { .. })
    ));
    let repeat = send(&h, &key, "k-refused").await;
    assert_eq!(repeat.status, 200, "a repeat sends again: {}", repeat.text);
    assert_eq!(repeat.body["replayed"], false);
    assert_eq!(h.app.ops().sends(), 3);
}

#[tokio::test]
async fn failures_only_a_person_can_fix_are_answered_not_queued() {
    let (h, key, _) = Harness::with_two_tenants().await;
    script(
        &h,
        [
            Err(OpsError::InvalidInput {
                field: "to[0]".to_owned(),
                reason: "the recipient's domain does not accept mail".to_owned(),
            }),
            Err(OpsError::NotFound {
                what: format!("mailbox {MAILBOX_A}"),
            }),
            Err(OpsError::Upstream {
                message: "the tenant's app lost full_access_as_app".to_owned(),
            }),
        ],
    );

    let answers = [
        send(&h, &key, "k-a").await,
        send(&h, &key, "k-b").await,
        send(&h, &key, "k-c").await,
    ];

    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(statuses, [422, 404, 502]);
    assert!(answers.iter().all(|a| a.is_problem(a.status.as_u16())));
    assert!(
        !h.app
            .ops()
            .calls()
            .iter()
            .any(|c| matches!(c, Call::QueueSend { .. }))
    );
    for k in ["k-a", "k-b", "k-c"] {
        assert!(matches!(
            spooled(&h, k).await,
            Err(StoreError::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn when_the_queue_refuses_the_caller_gets_the_error_and_nothing_stays_spooled() {
    let (h, key, _) = Harness::with_two_tenants().await;
    *h.app.ops().queue_result.lock().unwrap() = Some(OpsError::Unavailable {
        message: "SQS answered 500".to_owned(),
    });
    script(&h, [throttled(7)]);

    let answer = send(&h, &key, "k-noqueue").await;

    assert!(answer.is_problem(503), "{}", answer.text);
    assert_eq!(answer.headers["retry-after"], "7");
    assert!(matches!(
        spooled(&h, "k-noqueue").await,
        Err(StoreError::NotFound { .. })
    ));
    let repeat = send(&h, &key, "k-noqueue").await;
    assert_eq!(repeat.status, 200, "a repeat sends again: {}", repeat.text);
    assert_eq!(h.app.ops().sends(), 2);
}
