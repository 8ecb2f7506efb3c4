//! Expiry warnings as events on the stage's `EventBridge` bus, in the shape
//! `infra/monitoring.md` describes: source `mailbridge.token-refresh`, detail type
//! `Client secret nearing expiry`, detail `{stage, tenant, expires, days_left, threshold}`.

use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::json;

use crate::ExpiryWarning;

/// The events' source.
pub const SOURCE: &str = "mailbridge.token-refresh";
/// The events' detail type.
pub const DETAIL_TYPE: &str = "Client secret nearing expiry";

/// Where expiry warnings go besides the logs.
pub trait ExpiryEvents: Send + Sync {
    /// Puts one warning; the error says why it was not put.
    fn publish(
        &self,
        stage: &str,
        warning: &ExpiryWarning,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// No bus configured: warnings stay in the logs.
impl<E: ExpiryEvents> ExpiryEvents for Option<E> {
    async fn publish(&self, stage: &str, warning: &ExpiryWarning) -> Result<(), String> {
        match self {
            Some(events) => events.publish(stage, warning).await,
            None => Ok(()),
        }
    }
}

/// An `EventBridge` bus.
#[derive(Debug, Clone)]
pub struct EventBus {
    client: aws_sdk_eventbridge::Client,
    name: String,
}

impl EventBus {
    /// The bus named `name` (or its ARN).
    pub fn new(client: aws_sdk_eventbridge::Client, name: impl Into<String>) -> EventBus {
        EventBus {
            client,
            name: name.into(),
        }
    }
}

impl ExpiryEvents for EventBus {
    async fn publish(&self, stage: &str, warning: &ExpiryWarning) -> Result<(), String> {
        let detail = json!({
            "stage": stage,
            "tenant": warning.tenant,
            "expires": warning.expires,
            "days_left": warning.days_left,
            "threshold": warning.threshold,
        });
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.name)
            .source(SOURCE)
            .detail_type(DETAIL_TYPE)
            .detail(detail.to_string())
            .build();
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|err| DisplayErrorContext(err).to_string())?;
        match output.entries().first() {
            Some(result) if result.error_code().is_some() => Err(format!(
                "{}: {}",
                result.error_code().unwrap_or_default(),
                result.error_message().unwrap_or_default()
            )),
            Some(_) => Ok(()),
            None => Err("the bus returned no result for the event".to_owned()),
        }
    }
}
