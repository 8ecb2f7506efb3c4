//! The `send-mail` Lambda function: wires the handler to the Lambda runtime.

use std::convert::Infallible;

use lambda_runtime::{Error, service_fn};
use mailbridge_fn_common::{Services, logging};
use mailbridge_send_mail::{Deliveries, FUNCTION, handle_with};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let services = Services::from_env().await.inspect_err(|err| {
        tracing::error!(function = FUNCTION, error = %err, "cannot start");
    })?;
    let deliveries =
        Deliveries::from_lookup(|name| std::env::var(name).ok()).inspect_err(|err| {
            tracing::error!(function = FUNCTION, error = %err, "cannot start");
        })?;
    // Boxed: inline, the handler's nested future types overflow the compiler's query depth.
    lambda_runtime::run(service_fn(async |event| {
        Ok::<_, Infallible>(Box::pin(handle_with(&services, deliveries, event)).await)
    }))
    .await
}
