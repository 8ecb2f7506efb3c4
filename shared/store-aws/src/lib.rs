//! mailbridge's deployed stores: [`DynamoStateStore`] keeps the state in one `DynamoDB` table
//! and [`SecretsManagerStore`] keeps client secrets and tokens in AWS Secrets Manager.
//!
//! Both take an SDK client built by the caller (once, in `main`), so the same code runs
//! against AWS and against a local emulator:
//!
//! ```ignore
//! let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let state = DynamoStateStore::new(aws_sdk_dynamodb::Client::new(&config), "mailbridge");
//! let secrets = SecretsManagerStore::new(
//!     aws_sdk_secretsmanager::Client::new(&config),
//!     "mailbridge/prod/",
//! )?;
//! ```
//!
//! The table layout and its reasons are in `infra/dynamodb.md`.

mod dynamo;
mod secrets;

pub use dynamo::DynamoStateStore;
pub use secrets::SecretsManagerStore;
