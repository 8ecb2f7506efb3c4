//! What a function builds once at start: the AWS SDK configuration, the stores on it and
//! the per-tenant EWS clients, kept together for its handler.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use mailbridge_service::tenants::TenantClients;
use mailbridge_store_aws::{DynamoStateStore, SecretsManagerStore};

use crate::metrics::Metrics;
use crate::settings::{SECRET_PREFIX, Settings, SettingsError};

/// How long connecting to Exchange or the identity platform may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A setting is missing or unusable; the message names the variable.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The HTTP client for Exchange cannot be built (its TLS set-up failed).
    #[error("the HTTP client cannot be built: {0}")]
    HttpClient(String),
}

/// A function's settings, stores and EWS clients. The stores are type parameters so the
/// same handlers run on the embedded stores locally; deployed, they are `DynamoDB` and
/// Secrets Manager.
pub struct Services<S = DynamoStateStore, K = SecretsManagerStore> {
    /// The settings the stores were built from.
    pub settings: Settings,
    /// The state store.
    pub state: S,
    /// The secret store.
    pub secrets: K,
    /// EWS clients per tenant, sharing one HTTP client and token cache.
    pub clients: TenantClients,
    /// Where metric lines go.
    pub metrics: Metrics,
}

impl Services {
    /// Reads the settings from the environment and builds everything on AWS. The SDK reads
    /// its usual variables (region, credentials, and `AWS_ENDPOINT_URL` for an emulator).
    pub async fn from_env() -> Result<Services, SetupError> {
        let settings = Settings::from_env()?;
        let aws = aws_config().await;
        Services::on_aws(settings, &aws, http_client()?)
    }

    /// Builds the stores on `aws` with the table and prefix from `settings`.
    pub fn on_aws(
        settings: Settings,
        aws: &SdkConfig,
        http: reqwest::Client,
    ) -> Result<Services, SetupError> {
        let state = DynamoStateStore::new(
            aws_sdk_dynamodb::Client::new(aws),
            settings.table_name.clone(),
        );
        let secrets = SecretsManagerStore::new(
            aws_sdk_secretsmanager::Client::new(aws),
            settings.secret_prefix.clone(),
        )
        .map_err(|err| SettingsError::Invalid {
            name: SECRET_PREFIX,
            reason: err.to_string(),
        })?;
        let metrics = Metrics::stdout(&settings.metrics_namespace, &settings.stage);
        Ok(Services {
            settings,
            state,
            secrets,
            clients: TenantClients::new(http),
            metrics,
        })
    }
}

/// The AWS SDK configuration from the environment, as on Lambda.
pub async fn aws_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// The HTTP client for Exchange and the identity platform.
pub fn http_client() -> Result<reqwest::Client, SetupError> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(|err| SetupError::HttpClient(err.to_string()))
}
