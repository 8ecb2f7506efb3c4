//! `SecretsManagerStore` on moto: names under the prefix, the current stage, deletion, and
//! errors that never carry a secret value.

#![allow(clippy::unwrap_used)]

mod moto;

use aws_sdk_secretsmanager::config::retry::RetryConfig;
use mailbridge_store::{SecretError, SecretStore};
use mailbridge_store_aws::SecretsManagerStore;
use secrecy::{ExposeSecret, SecretString};

const NAME: &str = "tenants/6a1e/client-secret";
const VALUE: &str = "Xq8~s3cr3t-value-that-must-never-print";

fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_owned())
}

async fn read(store: &SecretsManagerStore, name: &str) -> Option<String> {
    let value = store.get(name).await.unwrap();
    value.map(|v| v.expose_secret().to_owned())
}

async fn raw_client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&moto::config_for(moto::url()).await)
}

#[tokio::test]
async fn put_get_replace_and_delete_under_the_prefix() {
    let store = moto::secret_store().await;
    assert_eq!(read(&store, NAME).await, None);

    store.put(NAME, &secret("first")).await.unwrap();
    store.put(NAME, &secret(VALUE)).await.unwrap();
    assert_eq!(read(&store, NAME).await.as_deref(), Some(VALUE));

    let described = raw_client()
        .await
        .describe_secret()
        .secret_id(format!("{}{NAME}", store.prefix()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.name(),
        Some(format!("{}{NAME}", store.prefix()).as_str())
    );

    store.delete(NAME).await.unwrap();
    assert_eq!(read(&store, NAME).await, None);
    store.delete(NAME).await.unwrap();
    store.put(NAME, &secret("after")).await.unwrap();
    assert_eq!(read(&store, NAME).await.as_deref(), Some("after"));
}

#[tokio::test]
async fn get_returns_the_value_staged_current_after_a_rotation_moves_it_back() {
    let store = moto::secret_store().await;
    let client = raw_client().await;
    let id = format!("{}{NAME}", store.prefix());
    store.put(NAME, &secret("old")).await.unwrap();
    let old = client
        .get_secret_value()
        .secret_id(&id)
        .send()
        .await
        .unwrap();
    store.put(NAME, &secret("new")).await.unwrap();
    let new = client
        .get_secret_value()
        .secret_id(&id)
        .version_stage("AWSCURRENT")
        .send()
        .await
        .unwrap();

    client
        .update_secret_version_stage()
        .secret_id(&id)
        .version_stage("AWSCURRENT")
        .move_to_version_id(old.version_id().unwrap())
        .remove_from_version_id(new.version_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(read(&store, NAME).await.as_deref(), Some("old"));
}

#[tokio::test]
async fn a_secret_an_operator_scheduled_for_deletion_reads_absent_and_put_revives_it() {
    let store = moto::secret_store().await;
    store.put(NAME, &secret("before")).await.unwrap();
    raw_client()
        .await
        .delete_secret()
        .secret_id(format!("{}{NAME}", store.prefix()))
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();

    assert_eq!(read(&store, NAME).await, None);
    store.put(NAME, &secret("after")).await.unwrap();
    assert_eq!(read(&store, NAME).await.as_deref(), Some("after"));
}

#[tokio::test]
async fn bad_names_and_prefixes_are_refused_before_any_request() {
    let store = moto::secret_store().await;
    for name in [
        "",
        "../escape",
        "tenants//x",
        "spaces not allowed",
        "ünïcödé",
    ] {
        let err = store.put(name, &secret(VALUE)).await.unwrap_err();
        assert!(
            matches!(err, SecretError::InvalidName { .. }),
            "{name:?}: {err:?}"
        );
        assert!(!format!("{err} {err:?}").contains(VALUE));
    }
    let long = "a".repeat(257);
    assert!(matches!(
        store.get(&long).await,
        Err(SecretError::InvalidName { .. })
    ));

    let client = raw_client().await;
    assert!(SecretsManagerStore::new(client.clone(), "bad prefix/").is_err());
    assert!(SecretsManagerStore::new(client, "").is_ok());
}

#[tokio::test]
async fn errors_never_carry_the_secret_value() {
    // Nothing listens on port 9 of the loopback; one attempt, no retries.
    let config = moto::config_for("http://127.0.0.1:9").await;
    let config = aws_sdk_secretsmanager::config::Builder::from(&config)
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .build();
    let client = aws_sdk_secretsmanager::Client::from_conf(config);
    let store = SecretsManagerStore::new(client, "mailbridge/test/").unwrap();

    let err = store.put(NAME, &secret(VALUE)).await.unwrap_err();
    assert!(matches!(err, SecretError::Unavailable { .. }), "{err:?}");
    let shown = format!("{err} {err:?} {store:?}");
    assert!(!shown.contains(VALUE), "{shown}");
    assert!(
        shown.contains(NAME),
        "the error should name the secret: {shown}"
    );
}
