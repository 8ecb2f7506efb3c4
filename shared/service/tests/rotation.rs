//! Rotating a tenant's client secret through the API while its mailboxes keep syncing, as
//! an administrator would: a new secret that does not work changes nothing, a working one
//! replaces the old one without a single sync failing, and afterwards the old secret can
//! be deleted in Entra ID without any sync noticing.

#![allow(clippy::unwrap_used)]

mod harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{Duration as Days, Utc};
use harness::{Env, start};
use mailbridge_api::{ApiConfig, App, hash_key, router};
use mailbridge_ews_sim::model::{Contact, FolderKind, ItemContent, SecretConfig};
use mailbridge_service::jobs::sync_mailbox;
use mailbridge_service::tenants::{TenantClients, secret_name};
use mailbridge_service::{ServiceOps, SyncTrigger};
use mailbridge_store::{SecretStore, StateStore};
use mailbridge_sync::SyncConfig;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const ADMIN: &str = "admin-key-for-rotation-tests-0123";
const NEW_SECRET: &str = "sim~rotated~a-brand-new-secret-value";

/// The API does not sync here: the test's own loop does.
struct NoTrigger;

impl SyncTrigger for NoTrigger {
    async fn trigger(&self, _mailbox: &str) -> Result<(), String> {
        Ok(())
    }
}

/// The API on a loopback port, over the same stores as the syncs but with clients of its
/// own, as the admin API and the sync workers are separate processes when deployed: what
/// the API drops from its clients on a rotation, the syncs' clients still hold.
async fn serve(env: &Env) -> String {
    let clients = Arc::new(TenantClients::new(reqwest::Client::new()));
    let ops = ServiceOps::new(env.store.clone(), env.secrets.clone(), clients, NoTrigger);
    let config = ApiConfig::new(&hash_key(ADMIN)).unwrap();
    let app = Arc::new(App::new(
        env.store.clone(),
        env.secrets.clone(),
        ops,
        config,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(app)).await });
    base
}

/// Syncs every mailbox in turn, over and over, until `stop`; counts the syncs and keeps
/// every failure.
struct Syncing {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl Syncing {
    fn start(env: &Env) -> Syncing {
        let (stop, done) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let (store, secrets, clients) =
            (env.store.clone(), env.secrets.clone(), env.clients.clone());
        let mailboxes = env.preset.mailboxes.clone();
        let (stop_flag, counter) = (stop.clone(), done.clone());
        let task = tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop_flag.load(Ordering::Acquire) {
                for mailbox in &mailboxes {
                    let config = SyncConfig::default();
                    let synced =
                        Box::pin(sync_mailbox(&store, &secrets, &clients, mailbox, config)).await;
                    if let Err(err) = synced {
                        failures.push(format!("{mailbox}: {err}"));
                    }
                    counter.fetch_add(1, Ordering::AcqRel);
                }
            }
            failures
        });
        Syncing { stop, done, task }
    }

    /// Waits until `n` more syncs have finished.
    async fn pass(&self, n: usize) {
        let target = self.done.load(Ordering::Acquire) + n;
        tokio::time::timeout(Duration::from_mins(1), async {
            while self.done.load(Ordering::Acquire) < target {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the syncs stalled");
    }

    async fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Release);
        let failures = self.task.await.unwrap();
        (self.done.load(Ordering::Acquire), failures)
    }
}

async fn rotate(base: &str, tenant: &str, secret: &str, expires: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .put(format!("{base}/v1/tenants/{tenant}/secret"))
        .bearer_auth(ADMIN)
        .json(&json!({ "client_secret": secret, "secret_expires": expires }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn stored_secret(env: &Env) -> String {
    let name = secret_name(&env.preset.tenant_id);
    let value = env.secrets.get(&name).await.unwrap().unwrap();
    value.expose_secret().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_rotated_while_syncs_run_fails_none_of_them() {
    let env = start(20).await;
    let base = serve(&env).await;
    let tenant = env.preset.tenant_id.clone();
    let world = env.sim.world().clone();
    let syncing = Syncing::start(&env);
    syncing.pass(4).await;

    // The administrator creates a new secret in Entra ID; the old one still works.
    let next_year = Utc::now() + Days::days(365);
    world
        .update_tenant(&tenant, |t| {
            t.apps[0].secrets.push(SecretConfig {
                value: NEW_SECRET.to_owned(),
                expires: next_year,
            });
        })
        .unwrap();
    let expires = next_year.date_naive().to_string();

    // A mistyped value is refused after verification and changes nothing.
    let (status, body) = rotate(&base, &tenant, "sim~rotated~mistyped", &expires).await;
    assert_eq!(status, 422, "{body}");
    let diagnosis = &body["report"]["diagnosis"];
    assert_eq!(diagnosis["step"], "token", "{body}");
    assert!(
        diagnosis["cause"]
            .as_str()
            .unwrap()
            .contains("not a valid secret"),
        "{body}"
    );
    assert_eq!(stored_secret(&env).await, env.preset.client_secret);
    syncing.pass(4).await;

    // The right one replaces it while the syncs go on.
    let witness = Contact {
        given_name: Some("Rotation".into()),
        surname: Some("Witness".into()),
        ..Contact::default()
    };
    let mailbox = &env.preset.mailboxes[0];
    world
        .owner_create(mailbox, FolderKind::Contacts, ItemContent::contact(witness))
        .unwrap();
    let (status, body) = rotate(&base, &tenant, NEW_SECRET, &expires).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stored_secret(&env).await, NEW_SECRET);
    let stored = env.store.get_tenant(&tenant).await.unwrap().unwrap();
    assert_eq!(
        stored.secret_expires.unwrap().date_naive().to_string(),
        expires
    );
    syncing.pass(4).await;

    // The old secret is deleted in Entra ID and every token issued so far lapses: only
    // the new secret gets the syncs a token now.
    world
        .update_tenant(&tenant, |t| {
            t.apps[0].secrets.retain(|s| s.value == NEW_SECRET);
        })
        .unwrap();
    world.expire_tokens(&tenant);
    syncing.pass(4).await;

    let (syncs, failures) = syncing.finish().await;
    assert!(failures.is_empty(), "{syncs} syncs, failed: {failures:#?}");
    let records = env
        .store
        .list_records(mailbox, mailbridge_store::Folder::Contacts, None, 500)
        .await
        .unwrap();
    assert!(
        records
            .items
            .iter()
            .any(|r| r.data.as_deref().is_some_and(|d| d.contains("Witness"))),
        "the owner's edit made during the rotation was synced"
    );
}
