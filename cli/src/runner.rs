//! The whole bundle in one process: the HTTP API, the sync scheduler, the sync worker, the
//! send retry worker and the secret-expiry watch, on `SQLite` and the encrypted local secret
//! file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use mailbridge_api::{
    ApiConfig, App, Delivery, Operations, QueuedSend, deliver_queued, hash_key, router,
};
use mailbridge_service::jobs::{check_secrets, due_mailboxes, sync_mailbox};
use mailbridge_service::ops::SendRetryQueue;
use mailbridge_service::tenants::TenantClients;
use mailbridge_service::{ServiceOps, SyncTrigger};
use mailbridge_store::{LocalSecretFile, SqliteStore, StateStore};
use mailbridge_sync::SyncConfig;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{info, warn};

/// Attempts of a queued send by the send retry worker before it is recorded as failed.
const SEND_ATTEMPTS: u32 = 6;
/// The wait before a queued send's second attempt when Exchange named no back-off; it
/// doubles with each further attempt.
const SEND_BACK_OFF: Duration = Duration::from_secs(30);

/// How the bundle runs.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Where the state database and the secret file live.
    pub data_dir: PathBuf,
    /// The address the API listens on.
    pub listen: std::net::SocketAddr,
    /// The admin API key (only its hash is kept).
    pub admin_key: String,
    /// How often a mailbox is synced.
    pub sync_interval: Duration,
}

/// Queues "sync now" requests for the worker; a mailbox already waiting is not queued twice.
#[derive(Clone)]
struct Queue {
    sender: mpsc::UnboundedSender<String>,
    waiting: Arc<Mutex<HashSet<String>>>,
}

impl Queue {
    fn push(&self, mailbox: &str) -> Result<(), String> {
        let mailbox = mailbox.trim().to_lowercase();
        let fresh = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(mailbox.clone());
        if fresh {
            self.sender
                .send(mailbox)
                .map_err(|_| "the sync worker has stopped".to_owned())?;
        }
        Ok(())
    }
}

impl SyncTrigger for Queue {
    async fn trigger(&self, mailbox: &str) -> Result<(), String> {
        self.push(mailbox)
    }
}

/// Sends to retry, for the send retry worker.
#[derive(Clone)]
struct RetryQueue {
    sender: mpsc::UnboundedSender<(QueuedSend, Duration)>,
}

impl SendRetryQueue for RetryQueue {
    async fn enqueue(&self, queued: &QueuedSend, delay: Duration) -> Result<(), String> {
        self.sender
            .send((queued.clone(), delay))
            .map_err(|_| "the send retry worker has stopped".to_owned())
    }
}

/// Runs the sends the API queued: each waits out its delay in a task of its own, which the
/// worker's end cancels. Their messages are spooled in the state database.
// LIMIT: the queue is in memory; sends queued when the process stops stay queued for 24 h.
async fn send_retry_worker<S, O>(
    store: Arc<S>,
    ops: Arc<O>,
    mut receiver: mpsc::UnboundedReceiver<(QueuedSend, Duration)>,
) where
    S: StateStore + 'static,
    O: Operations + 'static,
{
    let mut pending = JoinSet::new();
    loop {
        tokio::select! {
            next = receiver.recv() => match next {
                Some((queued, delay)) => {
                    pending.spawn(retry_send(store.clone(), ops.clone(), queued, delay));
                }
                None => break,
            },
            Some(_) = pending.join_next(), if !pending.is_empty() => {}
        }
    }
    while pending.join_next().await.is_some() {}
}

/// Delivers one queued send, waiting `delay` first and longer after each failure that may
/// pass; after [`SEND_ATTEMPTS`] it is recorded as failed, so a repeat of the request sends
/// anew.
async fn retry_send<S: StateStore, O: Operations>(
    store: Arc<S>,
    ops: Arc<O>,
    queued: QueuedSend,
    delay: Duration,
) {
    let tag = mailbridge_ews::mailbox_tag(&queued.mailbox);
    let mut wait = delay;
    for attempt in 1..=SEND_ATTEMPTS {
        tokio::time::sleep(wait).await;
        match deliver_queued(&*store, &*ops, &queued).await {
            Delivery::Sent(_) => {
                info!(mailbox_tag = %tag, attempt, op = "send", outcome = "sent", "queued send delivered");
                return;
            }
            Delivery::Gone => return,
            Delivery::Failed { reason } => {
                warn!(mailbox_tag = %tag, attempt, op = "send", outcome = "dropped", error = %reason, "queued send failed for good");
                return;
            }
            Delivery::Retry { reason } => {
                wait = SEND_BACK_OFF.saturating_mul(1 << (attempt - 1).min(8));
                warn!(
                    mailbox_tag = %tag,
                    attempt,
                    op = "send",
                    outcome = "retry",
                    back_off_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    error = %reason,
                    "queued send failed for now"
                );
            }
        }
    }
    let reason = format!("not sent after {SEND_ATTEMPTS} attempts");
    if let Err(err) = queued.finish_failed(&*store, &reason).await {
        warn!(mailbox_tag = %tag, op = "send", error = %err, "giving up on a queued send was not recorded");
    }
}

/// A running bundle.
pub struct Running {
    /// The API's base URL.
    pub base_url: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The data directory when none is given: `MAILBRIDGE_DATA`, else
/// `~/.local/share/mailbridge`.
pub(crate) fn default_data_dir() -> PathBuf {
    std::env::var_os("MAILBRIDGE_DATA").map_or_else(
        || {
            std::env::var_os("HOME")
                .map_or_else(|| PathBuf::from("."), PathBuf::from)
                .join(".local/share/mailbridge")
        },
        PathBuf::from,
    )
}

/// Opens (creating when new) the state database and the secret file in `dir`.
pub(crate) fn open_stores(dir: &Path) -> Result<(SqliteStore, LocalSecretFile), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let store = SqliteStore::open(dir.join("state.db"))
        .map_err(|e| format!("opening {}: {e}", dir.join("state.db").display()))?;
    let secrets = LocalSecretFile::open(dir.join("secrets.bin"), dir.join("secrets.key"))
        .map_err(|e| format!("opening the secret file in {}: {e}", dir.display()))?;
    Ok((store, secrets))
}

/// Syncs the mailboxes "sync now" and the scheduler queue, one at a time.
async fn sync_worker(
    store: Arc<SqliteStore>,
    secrets: Arc<LocalSecretFile>,
    clients: Arc<TenantClients>,
    queue: Queue,
    mut receiver: mpsc::UnboundedReceiver<String>,
) {
    while let Some(mailbox) = receiver.recv().await {
        queue
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&mailbox);
        match sync_mailbox(
            &*store,
            &*secrets,
            &clients,
            &mailbox,
            SyncConfig::default(),
        )
        .await
        {
            Ok(reports) => info!(
                mailbox_tag = %mailbridge_ews::mailbox_tag(&mailbox),
                folders = reports.len(),
                op = "sync",
                "mailbox synced"
            ),
            Err(err) => warn!(
                mailbox_tag = %mailbridge_ews::mailbox_tag(&mailbox),
                error = %err,
                op = "sync",
                "mailbox sync stopped"
            ),
        }
    }
}

/// Starts the API, the scheduler and the workers.
pub async fn start(config: &RunnerConfig) -> Result<Running, String> {
    let (store, secrets) = open_stores(&config.data_dir)?;
    let (store, secrets) = (Arc::new(store), Arc::new(secrets));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_mins(1))
        .build()
        .map_err(|e| format!("the HTTP client: {e}"))?;
    let clients = Arc::new(TenantClients::new(http));
    let (sender, receiver) = mpsc::unbounded_channel::<String>();
    let queue = Queue {
        sender,
        waiting: Arc::new(Mutex::new(HashSet::new())),
    };

    let worker = tokio::spawn(sync_worker(
        store.clone(),
        secrets.clone(),
        clients.clone(),
        queue.clone(),
        receiver,
    ));

    let scheduler = {
        let (store, queue, every) = (store.clone(), queue.clone(), config.sync_interval);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.min(Duration::from_mins(1)));
            loop {
                tick.tick().await;
                if let Err(err) = check_secrets(&*store, Utc::now()).await {
                    warn!(error = %err, op = "token_refresh", "could not check secrets");
                }
                match due_mailboxes(&*store, Utc::now(), every).await {
                    Ok(due) => {
                        for mailbox in due {
                            let _ = queue.push(&mailbox);
                        }
                    }
                    Err(err) => warn!(error = %err, op = "schedule", "could not list mailboxes"),
                }
            }
        })
    };

    let (retry_sender, retry_receiver) = mpsc::unbounded_channel();
    let retry_ops = Arc::new(ServiceOps::new(
        store.clone(),
        secrets.clone(),
        clients.clone(),
        queue.clone(),
    ));
    let send_worker = tokio::spawn(send_retry_worker(store.clone(), retry_ops, retry_receiver));
    let ops = ServiceOps::new(store.clone(), secrets.clone(), clients, queue).with_retry_queue(
        RetryQueue {
            sender: retry_sender,
        },
    );
    let api_config = ApiConfig::new(&hash_key(&config.admin_key)).map_err(|e| e.to_string())?;
    let app = Arc::new(App::new(store, secrets, ops, api_config));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("listening on {}: {e}", config.listen))?;
    let base_url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let api = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router(app)).await {
            warn!(error = %err, "the API server stopped");
        }
    });
    info!(%base_url, "mailbridge is serving");
    Ok(Running {
        base_url,
        tasks: vec![worker, scheduler, send_worker, api],
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use mailbridge_ews_sim::{Simulator, ThrottlePolicy};
    use serde_json::{Value, json};

    use super::*;

    const ADMIN: &str = "admin-key-for-the-runner-test-0123";

    /// A send Exchange throttles is answered 202 and delivered by the send retry worker;
    /// the repeat of the request then gets the receipt.
    #[tokio::test]
    async fn a_throttled_send_is_retried_in_process_and_sent_once() {
        let sim = Simulator::start().await.unwrap();
        let preset = mailbridge_ews_sim::preset::contoso(sim.world()).unwrap();
        let mailbox = preset.mailboxes[0].clone();
        let dir =
            std::env::temp_dir().join(format!("mailbridge-runner-{:016x}", fastrand::u64(..)));
        let running = start(&RunnerConfig {
            data_dir: dir.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
            admin_key: ADMIN.to_owned(),
            sync_interval: Duration::from_hours(1),
        })
        .await
        .unwrap();
        let http = reqwest::Client::new();
        let post = async |path: &str, key: Option<&str>, body: &Value| {
            let mut request = http
                .post(format!("{}{path}", running.base_url))
                .bearer_auth(ADMIN)
                .json(body);
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
        let expires = (Utc::now() + chrono::Duration::days(200)).date_naive();
        let onboard = json!({
            "tenant_id": preset.tenant_id, "name": "Contoso", "client_id": preset.client_id,
            "client_secret": preset.client_secret, "secret_expires": expires.to_string(),
            "test_mailbox": mailbox, "authority": sim.base_url(), "ews_endpoint": sim.ews_url(),
        });
        let (status, body) = post("/v1/tenants", None, &onboard).await;
        assert_eq!(status, 201, "{body}");
        sim.world().set_throttle(ThrottlePolicy {
            max_concurrency: 0,
            back_off_ms: 300,
            ..ThrottlePolicy::default()
        });
        let message =
            json!({ "to": ["buyer@example.com"], "subject": "Viewing", "text": "Friday at 10." });
        let path = format!("/v1/mailboxes/{mailbox}/send");

        let (status, queued) = post(&path, Some("viewing-1"), &message).await;

        assert_eq!(status, 202, "{queued}");
        sim.world().set_throttle(ThrottlePolicy::default());
        for _ in 0..100 {
            if !sim.world().outbox().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(sim.world().outbox().len(), 1, "the worker sent it");
        let (status, receipt) = post(&path, Some("viewing-1"), &message).await;
        assert_eq!(status, 200, "{receipt}");
        assert_eq!(receipt["replayed"], true);
        assert_eq!(sim.world().outbox().len(), 1);
        drop(running);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
