//! The `token-refresh` Lambda function: wires the handler to the Lambda runtime.

use lambda_runtime::{Error, service_fn};
use mailbridge_fn_common::services::{aws_config, http_client};
use mailbridge_fn_common::{Services, Settings, SetupError, logging};
use mailbridge_token_refresh::{EventBus, FUNCTION, handle};

async fn start() -> Result<(Services, Option<EventBus>), SetupError> {
    let settings = Settings::from_env()?;
    let aws = aws_config().await;
    // Without a bus, warnings stay in the logs (and the metrics).
    let bus = settings
        .event_bus
        .as_deref()
        .map(|name| EventBus::new(aws_sdk_eventbridge::Client::new(&aws), name));
    Ok((Services::on_aws(settings, &aws, http_client()?)?, bus))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let (services, bus) = start().await.inspect_err(|err| {
        tracing::error!(function = FUNCTION, error = %err, "cannot start");
    })?;
    lambda_runtime::run(service_fn(async |event| {
        Box::pin(handle(&services, &bus, event)).await
    }))
    .await
}
