//! The `sync-scheduler` Lambda function: wires the handler to the Lambda runtime.

use lambda_runtime::{Error, service_fn};
use mailbridge_fn_common::services::{aws_config, http_client};
use mailbridge_fn_common::{Services, Settings, SetupError, logging};
use mailbridge_sync_scheduler::{FUNCTION, SqsQueue, handle};

async fn start() -> Result<(Services, SqsQueue), SetupError> {
    let settings = Settings::from_env()?;
    let aws = aws_config().await;
    let queue = SqsQueue::from_settings(&aws, &settings)?;
    Ok((Services::on_aws(settings, &aws, http_client()?)?, queue))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let (services, queue) = start().await.inspect_err(|err| {
        tracing::error!(function = FUNCTION, error = %err, "cannot start");
    })?;
    lambda_runtime::run(service_fn(async |event| {
        Box::pin(handle(&services, &queue, event)).await
    }))
    .await
}
