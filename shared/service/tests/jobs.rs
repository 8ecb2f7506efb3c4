//! The jobs against the simulator with the embedded stores: due mailboxes, syncing with a
//! tenant's stored credentials, secret expiry warnings and the pause after expiry.

#![allow(clippy::unwrap_used)]

mod harness;

use std::time::Duration;

use chrono::{Duration as Days, Utc};
use harness::start;
use mailbridge_identity::{AppCredentials, Authority, ClientSecret, TokenClient};
use mailbridge_service::jobs::JobError;
use mailbridge_service::jobs::{
    SecretHealth, check_secrets, due_mailboxes, secret_health, sync_mailbox,
};
use mailbridge_service::tenants::{ClientError, TenantClients};
use mailbridge_service::token_store::{purge_token, save_token};
use mailbridge_store::{StateStore, TenantStatus};
use mailbridge_sync::SyncConfig;

#[tokio::test]
async fn due_mailboxes_sync_with_the_stored_credentials_and_are_not_due_again_at_once() {
    let env = start(300).await;
    let every = Duration::from_mins(5);
    let mut due = due_mailboxes(&env.store, Utc::now(), every).await.unwrap();
    due.sort();
    let mut expected = env.preset.mailboxes.clone();
    expected.sort();
    assert_eq!(due, expected);
    for address in &due {
        sync_mailbox(
            &env.store,
            &env.secrets,
            &env.clients,
            address,
            SyncConfig::default(),
        )
        .await
        .unwrap();
    }
    let records = env
        .store
        .list_records(
            &env.preset.mailboxes[0],
            mailbridge_store::Folder::Contacts,
            None,
            100,
        )
        .await
        .unwrap();
    assert_eq!(records.items.len(), 12);
    assert!(
        due_mailboxes(&env.store, Utc::now(), every)
            .await
            .unwrap()
            .is_empty()
    );
    let later = Utc::now() + Days::minutes(6);
    assert_eq!(
        due_mailboxes(&env.store, later, every).await.unwrap().len(),
        2
    );
}

#[test]
fn secret_health_crosses_each_warning_threshold() {
    let now = Utc::now();
    let at = |days: i64| secret_health(Some(now + Days::days(days) + Days::hours(1)), now);
    assert_eq!(at(90), SecretHealth::Fine);
    assert_eq!(
        at(59),
        SecretHealth::ExpiresSoon {
            threshold: 60,
            days: 59
        }
    );
    assert_eq!(
        at(29),
        SecretHealth::ExpiresSoon {
            threshold: 30,
            days: 29
        }
    );
    assert_eq!(
        at(13),
        SecretHealth::ExpiresSoon {
            threshold: 14,
            days: 13
        }
    );
    assert_eq!(
        at(6),
        SecretHealth::ExpiresSoon {
            threshold: 7,
            days: 6
        }
    );
    assert_eq!(
        at(0),
        SecretHealth::ExpiresSoon {
            threshold: 1,
            days: 0
        }
    );
    assert_eq!(
        secret_health(Some(now - Days::hours(1)), now),
        SecretHealth::Expired
    );
    assert_eq!(secret_health(None, now), SecretHealth::Fine);
}

#[tokio::test]
async fn an_expired_secret_pauses_the_tenant_with_one_clear_status_and_no_retries() {
    let env = start(10).await;
    let health = check_secrets(&env.store, Utc::now()).await.unwrap();
    assert_eq!(
        health[0].1,
        SecretHealth::ExpiresSoon {
            threshold: 14,
            days: 9
        }
    );
    let after_expiry = Utc::now() + Days::days(11);
    let health = check_secrets(&env.store, after_expiry).await.unwrap();
    assert_eq!(health[0].1, SecretHealth::Expired);
    let tenant = env
        .store
        .get_tenant(&env.preset.tenant_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tenant.status, TenantStatus::CredentialExpired);
    assert!(tenant.status_reason.unwrap().contains("syncs are paused"));
    assert!(
        due_mailboxes(&env.store, after_expiry, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty()
    );
    let err = sync_mailbox(
        &env.store,
        &env.secrets,
        &env.clients,
        &env.preset.mailboxes[0],
        SyncConfig::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            JobError::Client(ClientError::Inactive {
                status: TenantStatus::CredentialExpired,
                ..
            })
        ),
        "{err}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_token_kept_in_the_secret_store_spares_every_instance_its_own_fetch() {
    let env = start(300).await;
    let tenant = env
        .store
        .get_tenant(&env.preset.tenant_id)
        .await
        .unwrap()
        .unwrap();
    // The token refresh's part: one fetch, kept in the secret store.
    let authority = Authority::new(&env.sim.base_url()).unwrap();
    let token = TokenClient::new(reqwest::Client::new(), authority)
        .fetch(&AppCredentials::new(
            &tenant.id,
            &tenant.client_id,
            ClientSecret::new(env.preset.client_secret.as_str()),
        ))
        .await
        .unwrap();
    save_token(&env.secrets, &tenant.id, &tenant.client_id, &token)
        .await
        .unwrap();
    let issued = env.sim.world().stats().tokens_issued;

    sync_each_in_an_instance_of_its_own(&env).await;
    assert_eq!(env.sim.world().stats().tokens_issued, issued);

    // Without a stored token, every instance asks the identity platform itself.
    purge_token(&env.secrets, &tenant.id).await.unwrap();
    sync_each_in_an_instance_of_its_own(&env).await;
    let instances = u64::try_from(env.preset.mailboxes.len()).unwrap();
    assert_eq!(env.sim.world().stats().tokens_issued, issued + instances);
}

/// Syncs every mailbox as a Lambda instance of its own would: with clients of its own.
async fn sync_each_in_an_instance_of_its_own(env: &harness::Env) {
    for address in &env.preset.mailboxes {
        let instance = TenantClients::new(reqwest::Client::new());
        let config = SyncConfig::default();
        Box::pin(sync_mailbox(
            &env.store,
            &env.secrets,
            &instance,
            address,
            config,
        ))
        .await
        .unwrap();
    }
}
