//! Sending mail through the simulator: delivered and saved to Sent Items, never twice for
//! one idempotency key (also when the first response was lost), bad input named.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use mailbridge_ews::{EwsClient, RetryPolicy};
use mailbridge_ews_sim::preset::contoso;
use mailbridge_ews_sim::{Fault, Simulator};
use mailbridge_identity::{
    AppCredentials, Authority, ClientSecret, TenantTokens, TokenCache, TokenClient,
};
use mailbridge_service::{Attachment, OutgoingMail, SendError, send};

async fn start() -> (Simulator, EwsClient<TenantTokens>, String) {
    let sim = Simulator::start().await.unwrap();
    let tenant = contoso(sim.world()).unwrap();
    let http = reqwest::Client::new();
    let cache = Arc::new(TokenCache::new(TokenClient::new(
        http.clone(),
        Authority::new(&sim.base_url()).unwrap(),
    )));
    let creds = AppCredentials::new(
        &tenant.tenant_id,
        &tenant.client_id,
        ClientSecret::new(tenant.client_secret.clone()),
    );
    let ews = EwsClient::new(http, &sim.ews_url(), TenantTokens::new(cache, creds))
        .unwrap()
        .with_retry(RetryPolicy {
            max_attempts: 3,
            max_elapsed: Duration::from_secs(5),
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(10),
        });
    (sim, ews, tenant.mailboxes[0].clone())
}

fn mail() -> OutgoingMail {
    OutgoingMail {
        to: vec!["buyer@example.com".into()],
        cc: vec!["partner@example.com".into()],
        subject: "Viewing on Friday <confirmed> & more".into(),
        text: Some("See you at 12 Elm St.\nBring ID ]]> please.".into()),
        attachments: vec![Attachment {
            name: "floorplan.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF-1.7 tiny".to_vec(),
        }],
        ..OutgoingMail::default()
    }
}

#[tokio::test]
async fn a_message_is_delivered_from_the_mailbox_and_saved_in_sent_items() {
    let (sim, ews, mailbox) = start().await;
    let sent = send(&ews, &mailbox, &mail(), "key-1").await.unwrap();
    assert!(!sent.replayed);
    let outbox = sim.world().outbox();
    assert_eq!(outbox.len(), 1);
    let delivered = format!("{:?}", outbox[0]);
    assert!(
        delivered.contains("buyer@example.com")
            && delivered.contains("Viewing on Friday <confirmed> & more"),
        "{delivered}"
    );
    let sent_items = sim
        .world()
        .items(&mailbox, mailbridge_ews_sim::model::FolderKind::SentItems)
        .unwrap();
    assert_eq!(sent_items.len(), 1);
}

#[tokio::test]
async fn a_retried_send_finds_the_first_and_does_not_send_again() {
    let (sim, ews, mailbox) = start().await;
    send(&ews, &mailbox, &mail(), "key-2").await.unwrap();
    let again = send(&ews, &mailbox, &mail(), "key-2").await.unwrap();
    assert!(again.replayed);
    assert_eq!(sim.world().outbox().len(), 1);
    // A different key is a different message.
    send(&ews, &mailbox, &mail(), "key-3").await.unwrap();
    assert_eq!(sim.world().outbox().len(), 2);
}

#[tokio::test]
async fn a_lost_response_is_not_resent_and_the_retry_finds_the_message() {
    let (sim, ews, mailbox) = start().await;
    sim.world().inject(Fault::LoseResponse, Some("CreateItem"));
    let first = send(&ews, &mailbox, &mail(), "key-4").await.unwrap_err();
    let SendError::Mailbox(err) = &first else {
        panic!("{first}")
    };
    assert!(err.may_have_taken_effect(), "{err}");
    assert_eq!(
        sim.world().outbox().len(),
        1,
        "it went out once, and the client did not resend it"
    );
    let retry = send(&ews, &mailbox, &mail(), "key-4").await.unwrap();
    assert!(retry.replayed);
    assert_eq!(sim.world().outbox().len(), 1);
}

#[tokio::test]
async fn bad_messages_are_refused_naming_the_field_and_nothing_is_sent() {
    let (sim, ews, mailbox) = start().await;
    let cases: Vec<(OutgoingMail, &str)> = vec![
        (
            OutgoingMail {
                to: vec![],
                cc: vec![],
                ..mail()
            },
            "to",
        ),
        (
            OutgoingMail {
                to: vec!["not an address".into()],
                ..mail()
            },
            "to",
        ),
        (
            OutgoingMail {
                cc: vec!["a@b".into()],
                ..mail()
            },
            "cc",
        ),
        (
            OutgoingMail {
                bcc: vec!["x@y.example>".into()],
                ..mail()
            },
            "bcc",
        ),
        (
            OutgoingMail {
                subject: "s".repeat(300),
                ..mail()
            },
            "subject",
        ),
        (
            OutgoingMail {
                html: Some("<p>hi</p>".into()),
                ..mail()
            },
            "html",
        ),
        (
            OutgoingMail {
                attachments: vec![Attachment {
                    name: "big.bin".into(),
                    content_type: "application/octet-stream".into(),
                    content: vec![0; 4 * 1024 * 1024],
                }],
                ..mail()
            },
            "attachments",
        ),
        (
            OutgoingMail {
                attachments: vec![Attachment {
                    name: "../etc/passwd".into(),
                    content_type: "text/plain".into(),
                    content: vec![1],
                }],
                ..mail()
            },
            "attachments.name",
        ),
    ];
    for (message, field) in cases {
        match send(&ews, &mailbox, &message, "key-5").await {
            Err(SendError::Invalid { field: got, .. }) => assert_eq!(got, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    match send(&ews, &mailbox, &mail(), "").await {
        Err(SendError::Invalid { field, .. }) => assert_eq!(field, "Idempotency-Key"),
        other => panic!("{other:?}"),
    }
    assert!(sim.world().outbox().is_empty());
}

#[tokio::test]
async fn a_calendar_view_expands_series_and_refuses_bad_ranges() {
    use chrono::{Duration as Days, Utc};
    let (sim, ews, mailbox) = start().await;
    sim.world()
        .seed(
            &mailbox,
            &mailbridge_ews_sim::model::SeedSpec {
                events: 3,
                recurring: 2,
                seed: 9,
                ..Default::default()
            },
        )
        .unwrap();
    let now = Utc::now();
    let view = mailbridge_service::calendar::view(&ews, &mailbox, now, now + Days::days(60))
        .await
        .unwrap();
    assert!(!view.truncated);
    assert!(
        view.entries.iter().any(|e| e.kind == "occurrence"),
        "{view:#?}"
    );
    assert!(view.entries.windows(2).all(|w| w[0].start <= w[1].start));
    for (start, end, field) in [(now, now, "end"), (now, now + Days::days(200), "end")] {
        match mailbridge_service::calendar::view(&ews, &mailbox, start, end).await {
            Err(mailbridge_service::CalendarError::Invalid { field: got, .. }) => {
                assert_eq!(got, field);
            }
            other => panic!("{other:?}"),
        }
    }
}
