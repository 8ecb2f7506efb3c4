//! The `mailbox-sync` Lambda function: wires the handler to the Lambda runtime.

use std::convert::Infallible;

use lambda_runtime::{Error, service_fn};
use mailbridge_fn_common::services::{aws_config, http_client};
use mailbridge_fn_common::{Services, Settings, SetupError, logging};
use mailbridge_mailbox_sync::{FUNCTION, SqsVisibility, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let (services, queue) = setup().await.inspect_err(|err| {
        tracing::error!(function = FUNCTION, error = %err, "cannot start");
    })?;
    // Boxed: inline, the handler's nested future types overflow the compiler's query depth.
    lambda_runtime::run(service_fn(async |event| {
        Ok::<_, Infallible>(Box::pin(handle(&services, &queue, event)).await)
    }))
    .await
}

/// The stores and clients, and the sync queue the batches come from (`SYNC_QUEUE_URL`),
/// all on one SDK configuration.
async fn setup() -> Result<(Services, SqsVisibility), SetupError> {
    let settings = Settings::from_env()?;
    let aws = aws_config().await;
    let queue = SqsVisibility::from_settings(aws_sdk_sqs::Client::new(&aws), &settings)?;
    let services = Services::on_aws(settings, &aws, http_client()?)?;
    Ok((services, queue))
}
