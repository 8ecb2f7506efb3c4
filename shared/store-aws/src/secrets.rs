//! Secrets in AWS Secrets Manager, one secret per name, under a fixed prefix.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretError;
use mailbridge_store::{SecretError, SecretStore, check_name};
use secrecy::{ExposeSecret, SecretString};

/// The version stage of a secret's current value.
const CURRENT: &str = "AWSCURRENT";

/// Rounds of waiting for a just-deleted name to become free again.
const CREATE_ROUNDS: u32 = 6;

/// Longest full secret name Secrets Manager accepts.
const MAX_NAME: usize = 512;

/// A [`SecretStore`] on AWS Secrets Manager.
///
/// A name `tenants/6a1e…/client-secret` under the prefix `mailbridge/prod/` is stored as
/// the secret `mailbridge/prod/tenants/6a1e…/client-secret`.
///
/// - `put` looks the secret up, then replaces its current value (`PutSecretValue`) or
///   creates it. A secret an operator scheduled for deletion is restored first.
/// - `get` asks for the `AWSCURRENT` stage explicitly, so a value moved there by a
///   rotation is the one returned. A secret scheduled for deletion reads as absent.
/// - `delete` deletes at once (`ForceDeleteWithoutRecovery`), without a recovery window.
///   What mailbridge deletes is an offboarded tenant's client secret or a cached token: we
///   should stop holding a customer's credential the moment we are told to, not keep it
///   restorable (and readable by whoever may restore) for 7 to 30 days, and a mistake is
///   mended by entering the secret again, which the customer's administrator holds. A
///   recovery window would also make `put` after `delete` revive the old value for a
///   moment.
///
/// Errors name the secret and the service's error code, never a value.
#[derive(Debug, Clone)]
pub struct SecretsManagerStore {
    client: Client,
    prefix: String,
}

impl SecretsManagerStore {
    /// A store keeping every secret under `prefix` (e.g. `mailbridge/prod/`; may be empty).
    ///
    /// Fails with `InvalidName` when the prefix holds characters Secrets Manager does not
    /// allow in names.
    pub fn new(client: Client, prefix: impl Into<String>) -> Result<Self, SecretError> {
        let prefix = prefix.into();
        let allowed = |c: char| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c);
        if !prefix.chars().all(allowed) || prefix.len() > MAX_NAME / 2 {
            return Err(SecretError::InvalidName {
                name: prefix.chars().take(80).collect(),
                reason: "a prefix may hold only letters, digits and / _ + = . @ -, up to 256",
            });
        }
        Ok(SecretsManagerStore { client, prefix })
    }

    /// The prefix every name is stored under.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn secret_id(&self, name: &str) -> Result<String, SecretError> {
        check_name(name)?;
        let id = format!("{}{name}", self.prefix);
        if id.len() > MAX_NAME {
            return Err(SecretError::InvalidName {
                name: name.chars().take(80).collect(),
                reason: "is too long with the store's prefix (512 characters at most)",
            });
        }
        Ok(id)
    }

    async fn put_value(&self, id: &str, value: &SecretString) -> Result<(), PutFailure> {
        let result = self
            .client
            .put_secret_value()
            .secret_id(id)
            .secret_string(value.expose_secret())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => Err(match err.as_service_error() {
                Some(e) if e.is_resource_not_found_exception() => PutFailure::Missing,
                // Secrets Manager refuses to write to a secret scheduled for deletion.
                Some(e) if e.is_invalid_request_exception() => PutFailure::Deleted,
                _ => PutFailure::Error(unavailable("PutSecretValue", id, &err)),
            }),
        }
    }

    async fn create(&self, id: &str, value: &SecretString) -> Result<Created, SecretError> {
        let result = self
            .client
            .create_secret()
            .name(id)
            .secret_string(value.expose_secret())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Created::Yes),
            Err(err) => match err.as_service_error() {
                Some(e) if e.is_resource_exists_exception() => Ok(Created::Exists),
                // A force-deleted name stays taken for a short while.
                Some(e) if e.is_invalid_request_exception() => Ok(Created::NameBusy),
                _ => Err(unavailable("CreateSecret", id, &err)),
            },
        }
    }

    async fn restore(&self, id: &str) -> Result<(), SecretError> {
        self.client
            .restore_secret()
            .secret_id(id)
            .send()
            .await
            .map(drop)
            .map_err(|err| unavailable("RestoreSecret", id, &err))
    }

    /// Where the secret stands.
    async fn state(&self, id: &str) -> Result<Stored, SecretError> {
        match self.client.describe_secret().secret_id(id).send().await {
            Ok(description) if description.deleted_date().is_some() => Ok(Stored::Deleted),
            Ok(_) => Ok(Stored::Live),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(DescribeSecretError::is_resource_not_found_exception) =>
            {
                Ok(Stored::Missing)
            }
            Err(err) => Err(unavailable("DescribeSecret", id, &err)),
        }
    }

    /// Whether the secret is gone or scheduled for deletion.
    async fn is_deleted(&self, id: &str) -> Result<bool, SecretError> {
        Ok(self.state(id).await? != Stored::Live)
    }
}

/// Where a secret stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    Missing,
    /// Scheduled for deletion (by an operator, with a recovery window).
    Deleted,
    Live,
}

/// What a `CreateSecret` did.
enum Created {
    Yes,
    Exists,
    NameBusy,
}

/// Why a `PutSecretValue` did not store the value.
enum PutFailure {
    Missing,
    Deleted,
    Error(SecretError),
}

/// A failure of the service or the network, as a retryable error that names the secret
/// and the error code. The SDK never puts a secret value in its errors.
fn unavailable<E, R>(op: &str, id: &str, err: &SdkError<E, R>) -> SecretError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = match err {
        SdkError::ServiceError(_) => format!(
            "{op} {id}: {}: {}",
            err.code().unwrap_or("unknown error"),
            err.message().unwrap_or("")
        ),
        _ => format!("{op} {id}: {}", DisplayErrorContext(err)),
    };
    SecretError::Unavailable { detail }
}

impl SecretStore for SecretsManagerStore {
    async fn put(&self, name: &str, value: &SecretString) -> Result<(), SecretError> {
        let id = self.secret_id(name)?;
        // Looking first costs a request, but a write to a secret scheduled for deletion is
        // refused by AWS and silently lost by moto; both are avoided by restoring it first.
        for round in 0..CREATE_ROUNDS {
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(200 << round)).await;
            }
            match self.state(&id).await? {
                Stored::Missing => match self.create(&id, value).await? {
                    Created::Yes => return Ok(()),
                    Created::Exists | Created::NameBusy => continue,
                },
                Stored::Deleted => self.restore(&id).await?,
                Stored::Live => {}
            }
            match self.put_value(&id, value).await {
                Ok(()) => return Ok(()),
                Err(PutFailure::Missing | PutFailure::Deleted) => {}
                Err(PutFailure::Error(err)) => return Err(err),
            }
        }
        Err(SecretError::Unavailable {
            detail: format!("PutSecretValue {id}: the secret is still being deleted or created"),
        })
    }

    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        let id = self.secret_id(name)?;
        // AWS reads AWSCURRENT by default, but moto returns a stale value after a stage
        // move unless the stage is named (see the team's TOOLING.md), so it always is.
        let result = self
            .client
            .get_secret_value()
            .secret_id(&id)
            .version_stage(CURRENT)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output.secret_string.map(SecretString::from)),
            Err(err) => match err.as_service_error() {
                Some(e) if e.is_resource_not_found_exception() => Ok(None),
                Some(e) if e.is_invalid_request_exception() && self.is_deleted(&id).await? => {
                    Ok(None)
                }
                _ => Err(unavailable("GetSecretValue", &id, &err)),
            },
        }
    }

    async fn delete(&self, name: &str) -> Result<(), SecretError> {
        let id = self.secret_id(name)?;
        let result = self
            .client
            .delete_secret()
            .secret_id(&id)
            .force_delete_without_recovery(true)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(e) if e.is_resource_not_found_exception() => Ok(()),
                // Already being deleted.
                Some(e) if e.is_invalid_request_exception() && self.is_deleted(&id).await? => {
                    Ok(())
                }
                _ => Err(unavailable("DeleteSecret", &id, &err)),
            },
        }
    }
}
