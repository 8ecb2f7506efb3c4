//! Logs as Lambda wants them: one JSON object per line on stdout, with the fields of the
//! spans around each event (`function`, `request_id`, `tenant`, `mailbox`).

use lambda_runtime::Context;
use tracing::{Span, info_span};
use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber. The level comes from `AWS_LAMBDA_LOG_LEVEL` (Lambda's
/// log settings), else `RUST_LOG`, else `info`. Calling it twice does nothing.
pub fn init() {
    let directive = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .map(|level| level.to_ascii_lowercase())
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".to_owned());
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info"));
    let _already_set = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(false)
        .with_env_filter(filter)
        .try_init();
}

/// How a mailbox appears in logs at info level: a stable tag, not the address.
pub fn tag(address: &str) -> String {
    mailbridge_ews::mailbox_tag(address)
}

/// The span around one invocation of `function`.
pub fn invocation_span(function: &'static str, context: &Context) -> Span {
    info_span!(
        "invocation",
        function,
        request_id = %context.request_id,
    )
}

/// The span around the work on one mailbox: the address hashed (logs follow one mailbox
/// without holding its address) and the tenant, recorded once it is known.
pub fn mailbox_span(address: &str) -> Span {
    info_span!(
        "mailbox",
        mailbox = %tag(address),
        tenant = tracing::field::Empty,
    )
}

/// The span around the work on one tenant.
pub fn tenant_span(tenant: &str) -> Span {
    info_span!("tenant", tenant)
}
