//! The HTTP API driven like a CRM would drive it, over a real loopback server, with the
//! operations carried out against the Exchange simulator and the embedded stores:
//! onboarding with verification, mailboxes, CRM records, sync now, the change feed, the
//! calendar view and sending with an idempotency key, and a throttled send queued for a
//! retry and delivered once.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailbridge_api::{ApiConfig, App, Delivery, QueuedSend, deliver_queued, hash_key, router};
use mailbridge_ews_sim::model::{FolderKind, ItemData as SimData, SeedSpec};
use mailbridge_ews_sim::preset::contoso;
use mailbridge_ews_sim::{Simulator, ThrottlePolicy};
use mailbridge_service::jobs::sync_mailbox;
use mailbridge_service::ops::SendRetryQueue;
use mailbridge_service::tenants::TenantClients;
use mailbridge_service::{ServiceOps, SyncTrigger};
use mailbridge_store::{LocalSecretFile, SqliteStore};
use mailbridge_sync::SyncConfig;
use serde_json::{Value, json};

/// Syncs at once, in the request: the local runner queues instead; here the test wants
/// the outcome before it reads the feed.
struct SyncInline {
    store: Arc<SqliteStore>,
    secrets: Arc<LocalSecretFile>,
    clients: Arc<TenantClients>,
}

impl SyncTrigger for SyncInline {
    async fn trigger(&self, mailbox: &str) -> Result<(), String> {
        sync_mailbox(
            &*self.store,
            &*self.secrets,
            &self.clients,
            mailbox,
            SyncConfig::default(),
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
}

const ADMIN: &str = "admin-key-for-tests-0123456789";

// One CRM's story told in order; splitting it would hide the sequence it checks.
#[allow(clippy::too_many_lines)]
#[tokio::test]
async fn a_crm_onboards_syncs_edits_reads_and_sends_through_the_api() {
    let sim = Simulator::start().await.unwrap();
    let preset = contoso(sim.world()).unwrap();
    let mailbox = preset.mailboxes[0].clone();
    sim.world()
        .seed(
            &mailbox,
            &SeedSpec {
                contacts: 6,
                events: 2,
                recurring: 1,
                seed: 4,
                ..SeedSpec::default()
            },
        )
        .unwrap();

    let dir = std::env::temp_dir().join(format!("mailbridge-api-{:016x}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let secrets = Arc::new(LocalSecretFile::open(dir.join("s.bin"), dir.join("s.key")).unwrap());
    let clients = Arc::new(TenantClients::new(reqwest::Client::new()));
    let trigger = SyncInline {
        store: store.clone(),
        secrets: secrets.clone(),
        clients: clients.clone(),
    };
    let ops = ServiceOps::new(store.clone(), secrets.clone(), clients.clone(), trigger);
    let app = Arc::new(App::new(
        store.clone(),
        secrets.clone(),
        ops,
        ApiConfig::new(&hash_key(ADMIN)).unwrap(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router(app)).await });
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, key: &str, body: Option<Value>| {
        let mut request = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let expires = (chrono::Utc::now() + chrono::Duration::days(200))
        .date_naive()
        .to_string();

    // A wrong secret: 422 with the diagnosis, nothing stored.
    let onboard = |secret: &str| {
        json!({
            "tenant_id": preset.tenant_id, "name": "Contoso", "client_id": preset.client_id,
            "client_secret": secret, "secret_expires": expires, "test_mailbox": mailbox,
            "authority": sim.base_url(), "ews_endpoint": sim.ews_url(),
        })
    };
    let (status, body) = call(
        reqwest::Method::POST,
        "/v1/tenants",
        ADMIN,
        Some(onboard("wrong-secret")),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("Secret"), "{body}");
    let (status, _) = call(
        reqwest::Method::GET,
        &format!("/v1/tenants/{}", preset.tenant_id),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 404);

    // The right one: verified and stored.
    let (status, body) = call(
        reqwest::Method::POST,
        "/v1/tenants",
        ADMIN,
        Some(onboard(&preset.client_secret)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(!body.to_string().contains(&preset.client_secret));
    let (status, body) = call(
        reqwest::Method::POST,
        &format!("/v1/tenants/{}/api-keys", preset.tenant_id),
        ADMIN,
        None,
    )
    .await;
    assert!(status == 200 || status == 201, "{body}");
    let key = body["key"].as_str().unwrap().to_owned();

    // The CRM creates a contact and asks for a sync; the mailbox gets it.
    let (status, body) = call(
        reqwest::Method::PUT,
        &format!("/v1/mailboxes/{mailbox}/contacts/crm-42"),
        &key,
        Some(json!({ "data": { "given_name": "Nina", "surname": "Holm", "emails": ["nina@example.com"] } })),
    )
    .await;
    assert!(status == 200 || status == 201, "{body}");
    let (status, body) = call(
        reqwest::Method::POST,
        &format!("/v1/mailboxes/{mailbox}/sync"),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let items = sim.world().items(&mailbox, FolderKind::Contacts).unwrap();
    assert_eq!(items.len(), 7);

    // The owner edits in Outlook; after the next sync the change feed has it.
    let (_, feed) = call(
        reqwest::Method::GET,
        &format!("/v1/mailboxes/{mailbox}/changes?folder=contacts"),
        &key,
        None,
    )
    .await;
    let cursor = feed["next"].as_u64().unwrap_or_default();
    sim.world()
        .owner_edit(&mailbox, &items[0].id, |c| {
            if let SimData::Contact(contact) = &mut c.data {
                contact.job_title = Some("Edited in Outlook".into());
            }
        })
        .unwrap();
    call(
        reqwest::Method::POST,
        &format!("/v1/mailboxes/{mailbox}/sync"),
        &key,
        None,
    )
    .await;
    let (status, feed) = call(
        reqwest::Method::GET,
        &format!("/v1/mailboxes/{mailbox}/changes?folder=contacts&after={cursor}"),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 200, "{feed}");
    assert!(feed.to_string().contains("Edited in Outlook"), "{feed}");

    // The calendar, series expanded.
    let start = chrono::Utc::now();
    let end = start + chrono::Duration::days(30);
    let (status, view) = call(
        reqwest::Method::GET,
        &format!(
            "/v1/mailboxes/{mailbox}/calendar?start={}&end={}",
            start.format("%Y-%m-%dT%H:%M:%SZ"),
            end.format("%Y-%m-%dT%H:%M:%SZ")
        ),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert!(view.to_string().contains("\"recurring\":true"), "{view}");

    // Send twice with one key: one delivery, the second replayed.
    let message =
        json!({ "to": ["buyer@example.com"], "subject": "Viewing", "text": "See you Friday." });
    for expect_replayed in [false, true] {
        let response = http
            .post(format!("{base}/v1/mailboxes/{mailbox}/send"))
            .bearer_auth(&key)
            .header("Idempotency-Key", "send-1")
            .json(&message)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert!(status == 200 || status == 201, "{body}");
        assert_eq!(
            body.to_string().contains("\"replayed\":true"),
            expect_replayed,
            "{body}"
        );
    }
    assert_eq!(sim.world().outbox().len(), 1);
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Keeps the sends the API queues, for the test to deliver.
#[derive(Clone, Default)]
struct RetryInbox(Arc<Mutex<Vec<(QueuedSend, Duration)>>>);

impl SendRetryQueue for RetryInbox {
    async fn enqueue(&self, queued: &QueuedSend, delay: Duration) -> Result<(), String> {
        self.0.lock().unwrap().push((queued.clone(), delay));
        Ok(())
    }
}

struct NoSync;

impl SyncTrigger for NoSync {
    async fn trigger(&self, _mailbox: &str) -> Result<(), String> {
        Err("not in this test".to_owned())
    }
}

/// A send Exchange throttles is queued with its back-off; delivered from the spool it goes
/// out once, and a repeat of the request then gets the receipt.
#[tokio::test]
async fn a_throttled_send_is_queued_and_its_retry_delivers_it_once() {
    let sim = Simulator::start().await.unwrap();
    let preset = contoso(sim.world()).unwrap();
    let mailbox = preset.mailboxes[0].clone();
    let dir = std::env::temp_dir().join(format!("mailbridge-api-{:016x}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let secrets = Arc::new(LocalSecretFile::open(dir.join("s.bin"), dir.join("s.key")).unwrap());
    let clients = Arc::new(TenantClients::new(reqwest::Client::new()));
    let inbox = RetryInbox::default();
    let ops = ServiceOps::new(store.clone(), secrets.clone(), clients, NoSync)
        .with_retry_queue(inbox.clone());
    let app = Arc::new(App::new(
        store.clone(),
        secrets,
        ops,
        ApiConfig::new(&hash_key(ADMIN)).unwrap(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(axum::serve(listener, router(app.clone())).into_future());
    let http = reqwest::Client::new();
    let call = async |path: &str, key: Option<&str>, body: Value| {
        let mut request = http
            .post(format!("{base}{path}"))
            .bearer_auth(ADMIN)
            .json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let expires = (chrono::Utc::now() + chrono::Duration::days(200)).date_naive();
    let (status, body) = call(
        "/v1/tenants",
        None,
        json!({
            "tenant_id": preset.tenant_id, "name": "Contoso", "client_id": preset.client_id,
            "client_secret": preset.client_secret, "secret_expires": expires.to_string(),
            "test_mailbox": mailbox, "authority": sim.base_url(), "ews_endpoint": sim.ews_url(),
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // Every request refused with a short back-off: the client's own retries give up.
    sim.world().set_throttle(ThrottlePolicy {
        max_concurrency: 0,
        back_off_ms: 300,
        ..ThrottlePolicy::default()
    });
    let message = json!({
        "to": ["buyer@example.com"], "subject": "Floor plan", "text": "Attached.",
        "attachments": [{ "name": "plan.pdf", "content_type": "application/pdf",
                          "content_base64": "JVBERi0xLjQK".repeat(30_000) }],
    });
    let path = format!("/v1/mailboxes/{mailbox}/send");

    let (status, queued) = call(&path, Some("plan-1"), message.clone()).await;

    assert_eq!(status, 202, "{queued}");
    assert!(queued["next_attempt_at"].is_string(), "{queued}");
    let (pointer, delay) = inbox.0.lock().unwrap().pop().unwrap();
    assert!(delay >= Duration::from_secs(1), "{delay:?}");
    assert!(sim.world().outbox().is_empty());

    sim.world().set_throttle(ThrottlePolicy::default());
    let delivery = deliver_queued(&*store, app.ops(), &pointer).await;
    assert!(matches!(delivery, Delivery::Sent(_)), "{delivery:?}");
    let again = deliver_queued(&*store, app.ops(), &pointer).await;
    assert_eq!(again, Delivery::Gone);

    let (status, receipt) = call(&path, Some("plan-1"), message).await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["replayed"], true);
    let outbox = sim.world().outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].message.subject.as_deref(), Some("Floor plan"));
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);
}
