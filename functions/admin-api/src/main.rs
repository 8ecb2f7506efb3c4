//! The `admin-api` Lambda function: serves the API's router through `lambda_http`.

use lambda_http::Error;
use mailbridge_admin_api::{FUNCTION, SqsRetryQueue, api_config, router};
use mailbridge_fn_common::services::{aws_config, http_client};
use mailbridge_fn_common::{Services, Settings, SetupError, SqsQueue, logging};

async fn start() -> Result<axum::Router, SetupError> {
    let settings = Settings::from_env()?;
    let config = api_config(|name| std::env::var(name).ok())?;
    let aws = aws_config().await;
    let queue = SqsQueue::from_settings(&aws, &settings)?;
    let retry = SqsRetryQueue::from_settings(&aws, &settings)?;
    let services = Services::on_aws(settings, &aws, http_client()?)?;
    Ok(router(services, queue, retry, config))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let app = start().await.inspect_err(|err| {
        tracing::error!(function = FUNCTION, error = %err, "cannot start");
    })?;
    lambda_http::run(app).await
}
