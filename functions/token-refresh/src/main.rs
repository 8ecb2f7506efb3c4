//! The `token-refresh` Lambda function: wires the handler to the Lambda runtime. Metric
//! lines go to stdout, where `CloudWatch` Logs reads them.

use lambda_runtime::{Error, service_fn};
use mailbridge_fn_common::{Services, logging};
use mailbridge_token_refresh::{FUNCTION, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let services = Services::from_env().await.inspect_err(|err| {
        tracing::error!(function = FUNCTION, error = %err, "cannot start");
    })?;
    lambda_runtime::run(service_fn(async |event| {
        let mut stdout = std::io::stdout();
        Box::pin(handle(&services, event, &mut stdout)).await
    }))
    .await
}
