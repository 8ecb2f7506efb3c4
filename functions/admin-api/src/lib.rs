//! The admin-api function: API Gateway (HTTP API, payload 2.0) hands it requests, and the
//! API's own router (`mailbridge-api`) answers them. Exchange work goes through
//! `mailbridge-service`'s `ServiceOps`; "sync now" puts a message on the sync queue for the
//! mailbox-sync function ([`QueueTrigger`]), and a send that failed for now goes on the send
//! retry queue for the send-mail function ([`SqsRetryQueue`]).
//!
//! The admin key is configured as its SHA-256 ([`ADMIN_KEY_SHA256`]), never as the key.

mod retry_queue;

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use lambda_http::RequestExt as _;
use mailbridge_api::{ApiConfig, App};
use mailbridge_fn_common::queue::SyncQueue;
use mailbridge_fn_common::{Services, SettingsError, SyncRequest};
use mailbridge_service::ops::{SendRetryQueue, ServiceOps, SyncTrigger};
use mailbridge_store::{SecretStore, StateStore};
use tracing::{Instrument as _, info_span};

pub use retry_queue::{MAX_DELAY, SqsRetryQueue, delay_seconds};

/// The function's name in logs.
pub const FUNCTION: &str = "admin-api";

/// The variable holding the SHA-256 (hex) of the admin API key.
pub const ADMIN_KEY_SHA256: &str = "MAILBRIDGE_ADMIN_KEY_SHA256";

/// The API configuration from [`ADMIN_KEY_SHA256`], read through `lookup`.
pub fn api_config(lookup: impl Fn(&str) -> Option<String>) -> Result<ApiConfig, SettingsError> {
    let hash = lookup(ADMIN_KEY_SHA256)
        .filter(|value| !value.trim().is_empty())
        .ok_or(SettingsError::Missing {
            name: ADMIN_KEY_SHA256,
            what: "the SHA-256 (64 hex digits) of the admin API key",
        })?;
    ApiConfig::new(&hash).map_err(|err| SettingsError::Invalid {
        name: ADMIN_KEY_SHA256,
        reason: err.to_string(),
    })
}

/// The reason written on the sync requests the API queues.
pub const SYNC_REASON: &str = "api";

/// "Sync now" as a message on the sync queue.
pub struct QueueTrigger<Q>(pub Q);

impl<Q: SyncQueue> SyncTrigger for QueueTrigger<Q> {
    async fn trigger(&self, mailbox: &str) -> Result<(), String> {
        let request = SyncRequest::new(mailbox, SYNC_REASON);
        let failures = self
            .0
            .send_batch(std::slice::from_ref(&request))
            .await
            .map_err(|err| err.to_string())?;
        match failures.first() {
            Some(failure) => Err(format!(
                "the sync queue refused the request ({})",
                failure.code
            )),
            None => Ok(()),
        }
    }
}

/// The API's router on the function's stores, tenant clients, sync queue and send retry
/// queue, with one span per invocation around each request.
pub fn router<S, K, Q, R>(
    services: Services<S, K>,
    queue: Q,
    retry: R,
    config: ApiConfig,
) -> axum::Router
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    Q: SyncQueue + 'static,
    R: SendRetryQueue + 'static,
{
    let Services {
        state,
        secrets,
        clients,
        ..
    } = services;
    let (state, secrets) = (Arc::new(state), Arc::new(secrets));
    let ops = ServiceOps::new(
        state.clone(),
        secrets.clone(),
        Arc::new(clients),
        QueueTrigger(queue),
    )
    .with_retry_queue(retry);
    let app = Arc::new(App::new(state, secrets, ops, config));
    mailbridge_api::router(app).layer(middleware::from_fn(invocation))
}

async fn invocation(request: Request, next: Next) -> Response {
    let request_id = request
        .lambda_context_ref()
        .map(|context| context.request_id.clone())
        .unwrap_or_default();
    let span = info_span!("invocation", function = FUNCTION, request_id);
    next.run(request).instrument(span).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_key_hash_is_required_and_checked() {
        let missing = api_config(|_| None).unwrap_err();
        assert!(missing.to_string().contains(ADMIN_KEY_SHA256), "{missing}");
        let bad = api_config(|_| Some("not-a-digest".to_owned())).unwrap_err();
        assert!(matches!(
            bad,
            SettingsError::Invalid {
                name: ADMIN_KEY_SHA256,
                ..
            }
        ));
        let hash = mailbridge_api::hash_key("an admin key");
        assert!(api_config(|_| Some(hash.clone())).is_ok());
    }
}
