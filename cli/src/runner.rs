//! The whole bundle in one process: the HTTP API, the sync scheduler, the sync worker and
//! the secret-expiry watch, on `SQLite` and the encrypted local secret file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use mailbridge_api::{ApiConfig, App, hash_key, router};
use mailbridge_service::jobs::{check_secrets, due_mailboxes, sync_mailbox};
use mailbridge_service::tenants::TenantClients;
use mailbridge_service::{ServiceOps, SyncTrigger};
use mailbridge_store::{LocalSecretFile, SqliteStore};
use mailbridge_sync::SyncConfig;
use tokio::sync::mpsc;
use tracing::{info, warn};

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

/// Opens (creating when new) the state database and the secret file in `dir`.
pub(crate) fn open_stores(dir: &Path) -> Result<(SqliteStore, LocalSecretFile), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let store = SqliteStore::open(dir.join("state.db"))
        .map_err(|e| format!("opening {}: {e}", dir.join("state.db").display()))?;
    let secrets = LocalSecretFile::open(dir.join("secrets.bin"), dir.join("secrets.key"))
        .map_err(|e| format!("opening the secret file in {}: {e}", dir.display()))?;
    Ok((store, secrets))
}

/// Starts the API, the scheduler and the worker.
pub async fn start(config: &RunnerConfig) -> Result<Running, String> {
    let (store, secrets) = open_stores(&config.data_dir)?;
    let (store, secrets) = (Arc::new(store), Arc::new(secrets));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_mins(1))
        .build()
        .map_err(|e| format!("the HTTP client: {e}"))?;
    let clients = Arc::new(TenantClients::new(http));
    let (sender, mut receiver) = mpsc::unbounded_channel::<String>();
    let queue = Queue {
        sender,
        waiting: Arc::new(Mutex::new(HashSet::new())),
    };

    let worker = {
        let (store, secrets, clients, queue) = (
            store.clone(),
            secrets.clone(),
            clients.clone(),
            queue.clone(),
        );
        tokio::spawn(async move {
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
        })
    };

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

    let ops = ServiceOps::new(store.clone(), secrets.clone(), clients, queue);
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
        tasks: vec![worker, scheduler, api],
    })
}
