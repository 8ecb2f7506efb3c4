//! One tenant of the simulator, onboarded into the embedded stores by hand (as the API's
//! onboarding leaves it): the tenant active with its expiry, its secret in the local secret
//! file, its mailboxes registered, the first one seeded.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::{Duration as Days, Utc};
use mailbridge_ews_sim::Simulator;
use mailbridge_ews_sim::model::SeedSpec;
use mailbridge_ews_sim::preset::{PresetTenant, contoso};
use mailbridge_service::tenants::{TenantClients, secret_name};
use mailbridge_store::{
    Expect, LocalSecretFile, Mailbox, MailboxStatus, SecretStore, SqliteStore, StateStore, Tenant,
    TenantStatus,
};
use secrecy::SecretString;

/// The simulator and the stores, kept alive together.
pub struct Env {
    pub sim: Simulator,
    pub preset: PresetTenant,
    pub store: Arc<SqliteStore>,
    pub secrets: Arc<LocalSecretFile>,
    pub clients: Arc<TenantClients>,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts the simulator and onboards its Contoso tenant, whose secret expires in
/// `expires_in_days` (as the administrator said).
pub async fn start(expires_in_days: i64) -> Env {
    let sim = Simulator::start().await.unwrap();
    let preset = contoso(sim.world()).unwrap();
    sim.world()
        .seed(
            &preset.mailboxes[0],
            &SeedSpec {
                contacts: 12,
                events: 2,
                seed: 1,
                ..SeedSpec::default()
            },
        )
        .unwrap();
    let dir = std::env::temp_dir().join(format!("mailbridge-service-{:016x}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let secrets = LocalSecretFile::open(dir.join("secrets.bin"), dir.join("secrets.key")).unwrap();
    let store = SqliteStore::in_memory().unwrap();
    let tenant = Tenant {
        id: preset.tenant_id.clone(),
        name: "Contoso".into(),
        client_id: preset.client_id.clone(),
        secret_expires: Some(Utc::now() + Days::days(expires_in_days)),
        status: TenantStatus::Active,
        status_reason: None,
        authority: Some(sim.base_url()),
        ews_endpoint: Some(sim.ews_url()),
        api_key_hashes: Vec::new(),
        version: 0,
    };
    store.put_tenant(&tenant, Expect::Absent).await.unwrap();
    secrets
        .put(
            &secret_name(&tenant.id),
            &SecretString::from(preset.client_secret.clone()),
        )
        .await
        .unwrap();
    for address in &preset.mailboxes {
        let mailbox = Mailbox {
            address: address.clone(),
            tenant: tenant.id.clone(),
            status: MailboxStatus::Active,
            attention: None,
            last_sync: None,
            last_error: None,
            back_off_until: None,
            braked: None,
            deletes_go_ahead: None,
            version: 0,
        };
        store.put_mailbox(&mailbox, Expect::Absent).await.unwrap();
    }
    Env {
        sim,
        preset,
        store: Arc::new(store),
        secrets: Arc::new(secrets),
        clients: Arc::new(TenantClients::new(reqwest::Client::new())),
        _dir: TempDir(dir),
    }
}
