//! What every mailbridge Lambda function starts with, so each function's crate holds only
//! its handler:
//!
//! - [`settings`]: the environment variables, each checked, a missing or bad one named;
//! - [`services`]: the AWS SDK configuration, the `DynamoDB` state store, the Secrets
//!   Manager secret store and the per-tenant EWS clients, built once per instance;
//! - [`logging`]: JSON logs with one span per invocation, mailbox and tenant;
//! - [`metrics`]: `CloudWatch` metrics as Embedded Metric Format log lines;
//! - [`sqs_batch`]: an SQS batch message by message, answered with a partial batch
//!   response that names only the messages worth delivering again;
//! - [`tokens`]: fetching a tenant's token with its stored secret, proving it works;
//! - [`sync_request`] and [`queue`]: the message on the sync queue, written by the scheduler
//!   and the API, read by the mailbox-sync function;
//! - [`send_request`]: the message on the send retry queue, read by the send-mail function;
//! - [`exchange`]: the EWS client for a mailbox, through its tenant's stored credentials.
//!
//! ```ignore
//! mailbridge_fn_common::logging::init();
//! let services = Services::from_env().await?;
//! lambda_runtime::run(service_fn(|event| handle(&services, event))).await
//! ```

pub mod exchange;
pub mod logging;
pub mod metrics;
pub mod queue;
pub mod send_request;
pub mod services;
pub mod settings;
pub mod sqs_batch;
pub mod sync_request;
pub mod tokens;

pub use queue::{SqsQueue, SyncQueue};
pub use send_request::SendRequest;
pub use services::{Services, SetupError};
pub use settings::{Settings, SettingsError};
pub use sync_request::{BadRequest, SyncRequest};
