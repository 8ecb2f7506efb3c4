//! What the API tests share: a router over a real in-memory `SQLite` store and an encrypted
//! secret file in a temporary folder, a scripted [`Operations`], and a small request
//! builder.
//!
//! `TestOps` stands in for the runner's Exchange-facing operations; the real
//! implementation, which talks to Exchange (or the simulator), is written elsewhere.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use chrono::{DateTime, Utc};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use mailbridge_api::{
    ApiConfig, App, CalendarEntry, Diagnosis, Operations, OpsError, OutgoingMessage, QueuedSend,
    SendReceipt, StepOutcome, VerifyReport, VerifyRequest, VerifyStep, hash_key,
};
use mailbridge_store::{LocalSecretFile, SqliteStore};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tower::ServiceExt;

/// The admin key the tests' App is configured with (as its hash).
pub const ADMIN_KEY: &str = "mba_admin-key-used-only-in-tests";
/// A client secret the scripted verification accepts.
pub const GOOD_SECRET: &str = "Qx8~Good.Secret-Value_7f3a9c1e5b2d8f4a6c0e";
/// Another accepted one, for rotation.
pub const NEW_SECRET: &str = "Zr2~Rotated.Secret-Value_0b9d7f5a3c1e8b6d4f";
/// A secret the scripted verification refuses.
pub const WRONG_SECRET: &str = "Wq5~Wrong.Secret-Value_3e1c9a7f5d3b1e9c7a";

/// Tenant A and its first mailbox.
pub const TENANT_A: &str = "tenant-a.example";
/// Tenant A's mailbox.
pub const MAILBOX_A: &str = "agent@a.example";
/// Tenant B and its first mailbox.
pub const TENANT_B: &str = "tenant-b.example";
/// Tenant B's mailbox.
pub const MAILBOX_B: &str = "agent@b.example";

/// A call the API made to the runner.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `verify`, with the secret it was given.
    Verify {
        tenant_id: String,
        test_mailbox: String,
        secret: String,
    },
    /// `sync_now`.
    SyncNow(String),
    /// `send`.
    Send {
        mailbox: String,
        key: String,
        subject: String,
    },
    /// `queue_send`, with the delay in whole seconds.
    QueueSend {
        mailbox: String,
        key: String,
        delay_secs: u64,
    },
    /// `refresh_token`.
    RefreshToken(String),
    /// `calendar_view`.
    CalendarView {
        mailbox: String,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
}

/// Scripted operations that record every call.
#[derive(Default)]
pub struct TestOps {
    /// Every call, in order.
    pub calls: Mutex<Vec<Call>>,
    /// `Debug` of every `VerifyRequest` received (checked for secrets).
    pub verify_debug: Mutex<Vec<String>>,
    /// Secrets that verify; any other fails with a diagnosis.
    pub accepted: Mutex<HashSet<String>>,
    /// Outcomes for the next sends; when empty a send succeeds.
    pub send_results: Mutex<VecDeque<Result<SendReceipt, OpsError>>>,
    /// When set, sends wait for it before answering.
    pub hold_sends: Mutex<Option<Arc<Notify>>>,
    /// The outcome of the next sync request.
    pub sync_result: Mutex<Option<OpsError>>,
    /// When set, the retry queue refuses the next send with it.
    pub queue_result: Mutex<Option<OpsError>>,
    /// Sends on the retry queue, oldest first.
    pub retry_queue: Mutex<VecDeque<QueuedSend>>,
}

impl TestOps {
    fn new() -> TestOps {
        let ops = TestOps::default();
        ops.accepted
            .lock()
            .unwrap()
            .extend([GOOD_SECRET.to_owned(), NEW_SECRET.to_owned()]);
        ops
    }

    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// How many sends reached the runner.
    pub fn sends(&self) -> usize {
        self.calls()
            .iter()
            .filter(|c| matches!(c, Call::Send { .. }))
            .count()
    }
}

fn step(name: &str, outcome: StepOutcome, message: &str) -> VerifyStep {
    VerifyStep {
        name: name.to_owned(),
        outcome,
        duration_ms: 12,
        message: message.to_owned(),
    }
}

impl Operations for TestOps {
    async fn verify(&self, request: &VerifyRequest) -> VerifyReport {
        let secret = request.client_secret.expose_secret().to_owned();
        self.verify_debug
            .lock()
            .unwrap()
            .push(format!("{request:?}"));
        self.record(Call::Verify {
            tenant_id: request.tenant_id.clone(),
            test_mailbox: request.test_mailbox.clone(),
            secret: secret.clone(),
        });
        if self.accepted.lock().unwrap().contains(&secret) {
            return VerifyReport {
                verified: true,
                steps: vec![
                    step("token", StepOutcome::Passed, "got an app-only token"),
                    step(
                        "impersonation",
                        StepOutcome::Passed,
                        "read the test mailbox's Contacts",
                    ),
                ],
                diagnosis: None,
            };
        }
        VerifyReport {
            verified: false,
            steps: vec![
                step(
                    "token",
                    StepOutcome::Failed,
                    "the identity platform refused the secret",
                ),
                step("impersonation", StepOutcome::Skipped, "not tried"),
            ],
            diagnosis: Some(Diagnosis {
                step: "token".to_owned(),
                cause: "the client secret is wrong (AADSTS7000215)".to_owned(),
                fix: "copy the secret's Value (not its ID) from Certificates & secrets".to_owned(),
            }),
        }
    }

    async fn sync_now(&self, mailbox: &str) -> Result<(), OpsError> {
        self.record(Call::SyncNow(mailbox.to_owned()));
        match self.sync_result.lock().unwrap().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn send(
        &self,
        mailbox: &str,
        message: &OutgoingMessage,
        idempotency_key: &str,
    ) -> Result<SendReceipt, OpsError> {
        self.record(Call::Send {
            mailbox: mailbox.to_owned(),
            key: idempotency_key.to_owned(),
            subject: message.subject.clone(),
        });
        let hold = self.hold_sends.lock().unwrap().clone();
        if let Some(notify) = hold {
            notify.notified().await;
        }
        let scripted = self.send_results.lock().unwrap().pop_front();
        scripted.unwrap_or_else(|| {
            Ok(SendReceipt {
                message_id: Some(format!("<{idempotency_key}@mailbridge.test>")),
                item_id: Some("AAMkSentItem1".to_owned()),
                replayed: false,
            })
        })
    }

    async fn queue_send(&self, queued: &QueuedSend, delay: Duration) -> Result<(), OpsError> {
        self.record(Call::QueueSend {
            mailbox: queued.mailbox.clone(),
            key: queued.idempotency_key.clone(),
            delay_secs: delay.as_secs(),
        });
        if let Some(err) = self.queue_result.lock().unwrap().take() {
            return Err(err);
        }
        self.retry_queue.lock().unwrap().push_back(queued.clone());
        Ok(())
    }

    async fn calendar_view(
        &self,
        mailbox: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<CalendarEntry>, OpsError> {
        self.record(Call::CalendarView {
            mailbox: mailbox.to_owned(),
            start,
            end,
        });
        Ok(vec![CalendarEntry {
            item_id: "AAMkOccurrence1".to_owned(),
            crm_id: None,
            subject: Some("Viewing".to_owned()),
            location: None,
            start,
            end: start + chrono::TimeDelta::hours(1),
            all_day: false,
            show_as: Some("Busy".to_owned()),
            organizer: Some(mailbox.to_owned()),
            recurring: true,
        }])
    }

    async fn refresh_token(&self, tenant: &str) -> Result<(), OpsError> {
        self.record(Call::RefreshToken(tenant.to_owned()));
        Ok(())
    }
}

/// The app type under test.
pub type TestApp = App<SqliteStore, LocalSecretFile, TestOps>;

/// A router over fresh stores.
pub struct Harness {
    /// The router under test.
    pub router: Router,
    /// The app behind it, for looking at the stores and the recorded calls.
    pub app: Arc<TestApp>,
    _dir: tempfile::TempDir,
}

/// An answer: status, headers and the body as JSON (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// The `field`s of a problem's `errors`.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether this is an RFC 9457 problem response with the given status.
    pub fn is_problem(&self, status: u16) -> bool {
        self.status.as_u16() == status
            && self
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                == Some("application/problem+json")
            && self.body["status"] == status
            && self.body["type"].is_string()
            && self.body["title"].is_string()
            && self.body["detail"].is_string()
            && self.body["errors"].is_array()
    }
}

/// A request being built.
pub struct Req {
    builder: http::request::Builder,
    body: Body,
}

/// Starts a request.
pub fn req(method: &str, uri: &str) -> Req {
    Req {
        builder: Request::builder().method(method).uri(uri),
        body: Body::empty(),
    }
}

impl Req {
    /// `Authorization: Bearer <key>`.
    pub fn key(self, key: &str) -> Req {
        self.header("authorization", &format!("Bearer {key}"))
    }

    /// Any header.
    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.builder = self.builder.header(name, value);
        self
    }

    /// A JSON body.
    pub fn json(self, value: &Value) -> Req {
        self.raw_json(value.to_string().into_bytes())
    }

    /// Bytes sent as `application/json`, with their length.
    pub fn raw_json(mut self, bytes: Vec<u8>) -> Req {
        self.builder = self
            .builder
            .header("content-type", "application/json")
            .header("content-length", bytes.len().to_string());
        self.body = Body::from(bytes);
        self
    }

    /// Any body, with no length header (as a chunked upload arrives).
    pub fn body(mut self, body: Body) -> Req {
        self.body = body;
        self
    }

    /// The request itself.
    pub fn build(self) -> Request<Body> {
        self.builder.body(self.body).unwrap()
    }

    /// Sends it through the router.
    pub async fn send(self, harness: &Harness) -> Answer {
        answer(harness.router.clone().oneshot(self.build()).await.unwrap()).await
    }
}

/// Reads a response whole.
pub async fn answer(response: http::Response<Body>) -> Answer {
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
    }
}

/// An onboarding body for `tenant` with `mailbox`, secret and expiry.
pub fn onboard_body(tenant: &str, mailbox: &str, secret: &str, expires: &str) -> Value {
    json!({
        "tenant_id": tenant,
        "name": format!("Tenant {tenant}"),
        "client_id": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        "client_secret": secret,
        "secret_expires": expires,
        "test_mailbox": mailbox,
    })
}

/// An expiry date far enough away not to be flagged.
pub fn far_expiry() -> String {
    (Utc::now() + chrono::TimeDelta::days(365))
        .date_naive()
        .to_string()
}

impl Harness {
    /// Fresh stores, no tenants.
    pub fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let secrets = LocalSecretFile::open(
            dir.path().join("secrets.bin"),
            dir.path().join("secrets.key"),
        )
        .unwrap();
        let config = ApiConfig::new(&hash_key(ADMIN_KEY)).unwrap();
        let app = Arc::new(App::new(
            SqliteStore::in_memory().unwrap(),
            secrets,
            TestOps::new(),
            config,
        ));
        Harness {
            router: mailbridge_api::router(app.clone()),
            app,
            _dir: dir,
        }
    }

    /// Two tenants onboarded, each with a key: (key of A, key of B).
    pub async fn with_two_tenants() -> (Harness, String, String) {
        let h = Harness::new();
        h.onboard(TENANT_A, MAILBOX_A).await;
        h.onboard(TENANT_B, MAILBOX_B).await;
        let a = h.new_key(TENANT_A).await;
        let b = h.new_key(TENANT_B).await;
        (h, a, b)
    }

    /// Onboards a tenant with the good secret.
    pub async fn onboard(&self, tenant: &str, mailbox: &str) {
        let answer = req("POST", "/v1/tenants")
            .key(ADMIN_KEY)
            .json(&onboard_body(tenant, mailbox, GOOD_SECRET, &far_expiry()))
            .send(self)
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    }

    /// A new API key for a tenant.
    pub async fn new_key(&self, tenant: &str) -> String {
        let answer = req("POST", &format!("/v1/tenants/{tenant}/api-keys"))
            .key(ADMIN_KEY)
            .send(self)
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.body["key"].as_str().unwrap().to_owned()
    }
}
