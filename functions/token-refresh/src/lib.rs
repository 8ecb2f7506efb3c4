//! The token-refresh function: an `EventBridge` schedule invokes it (every ~45 minutes). It
//! checks every tenant's client secret with `jobs::check_secrets`, which pauses a tenant
//! whose secret has expired, then fetches a token for each active tenant to prove its secret
//! still works. It reports through logs only:
//!
//! - a `CloudWatch` metric line (Embedded Metric Format, namespace `mailbridge`) per tenant
//!   with `SecretDaysLeft`, and one with `SecretsExpiringSoon`, `SecretsExpired` and
//!   `TokenRefreshFailures` for the run;
//! - a structured warning event (`event = "secret_expiry_warning"`) once per tenant,
//!   secret and threshold crossed (60, 30, 14, 7 and 1 days), remembered with a lease.

pub mod metrics;

use std::io::Write;
use std::time::Duration;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent};
use mailbridge_fn_common::tokens::fetch_token;
use mailbridge_fn_common::{Services, logging};
use mailbridge_service::jobs::{SecretHealth, check_secrets};
use mailbridge_store::{SecretStore, StateStore, StoreError, Tenant, TenantStatus};
use serde::Serialize;
use tracing::{Instrument as _, error, info, warn};

use crate::metrics::{Document, Unit};

/// The function's name in logs.
pub const FUNCTION: &str = "token-refresh";

/// A threshold crossed: the warning this run gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiryWarning {
    /// The tenant.
    pub tenant: String,
    /// The threshold crossed, in days (60, 30, 14, 7 or 1).
    pub threshold: i64,
    /// Whole days left.
    pub days_left: i64,
    /// When the secret expires.
    pub expires: DateTime<Utc>,
}

/// What one run found: the Lambda response, and the summary log line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefreshReport {
    /// Tenants checked.
    pub tenants: usize,
    /// Active tenants that got a token.
    pub tokens_fetched: usize,
    /// Active tenants that did not.
    pub token_failures: usize,
    /// Secrets within a warning threshold of their expiry.
    pub expiring_soon: usize,
    /// Secrets past their expiry (their tenants are paused).
    pub expired: usize,
    /// Thresholds crossed since the last run.
    pub warnings: Vec<ExpiryWarning>,
}

/// Why a run checked nothing.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The state store could not list the tenants.
    #[error("the tenants cannot be checked: {0}")]
    Store(#[from] StoreError),
}

impl From<RefreshError> for Diagnostic {
    fn from(err: RefreshError) -> Diagnostic {
        let RefreshError::Store(store) = &err;
        let error_type = if store.is_retryable() {
            "RetryLater"
        } else {
            "NeedsAttention"
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// Checks every tenant's secret, fetches a token for each active tenant, and writes the
/// metric lines to `metrics_out` (stdout on Lambda).
pub async fn handle<S, K, W>(
    services: &Services<S, K>,
    event: LambdaEvent<EventBridgeEvent>,
    metrics_out: &mut W,
) -> Result<RefreshReport, RefreshError>
where
    S: StateStore,
    K: SecretStore,
    W: Write + Send,
{
    let (schedule, context) = event.into_parts();
    let span = logging::invocation_span(FUNCTION, &context);
    async {
        let now = Utc::now();
        let owner = format!(
            "{FUNCTION}/{}/{:08x}",
            context.request_id,
            fastrand::u32(..)
        );
        let health = check_secrets(&services.state, now)
            .await
            .inspect_err(|err| {
                error!(error = %err, "the tenants cannot be checked");
            })?;
        let mut report = RefreshReport {
            tenants: health.len(),
            ..RefreshReport::default()
        };
        let mut lines = Vec::new();

        // LIMIT: tenants are taken one after the other; with thousands of tenants one run
        // would need minutes and should fetch tokens a few at a time instead.
        for (id, health) in &health {
            let tenant = match services.state.get_tenant(id).await {
                Ok(Some(tenant)) => tenant,
                Ok(None) => continue,
                Err(err) => {
                    warn!(tenant = %id, error = %err, "tenant cannot be read; skipped this run");
                    report.token_failures += 1;
                    continue;
                }
            };
            let span = logging::tenant_span(id);
            async {
                match health {
                    SecretHealth::Expired => report.expired += 1,
                    SecretHealth::ExpiresSoon { threshold, days } => {
                        report.expiring_soon += 1;
                        if let Some(warning) =
                            crossed(services, &tenant, *threshold, *days, &owner, now).await
                        {
                            report.warnings.push(warning);
                        }
                    }
                    SecretHealth::Fine => {}
                }
                if tenant.status == TenantStatus::Active {
                    if probe(services, &tenant).await {
                        report.tokens_fetched += 1;
                    } else {
                        report.token_failures += 1;
                    }
                }
                if let Some(expires) = tenant.secret_expires {
                    // Negative once expired; an alarm on the minimum sees every tenant.
                    let days_left = (expires - now).num_days();
                    lines.push(
                        Document::new(now)
                            .dimension("Stage", services.settings.stage.as_str())
                            .dimension("Tenant", tenant.id.as_str())
                            .metric("SecretDaysLeft", Unit::None, days_left)
                            .to_line(),
                    );
                }
            }
            .instrument(span)
            .await;
        }

        lines.push(
            Document::new(now)
                .dimension("Stage", services.settings.stage.as_str())
                .metric(
                    "SecretsExpiringSoon",
                    Unit::Count,
                    count(report.expiring_soon),
                )
                .metric("SecretsExpired", Unit::Count, count(report.expired))
                .metric(
                    "TokenRefreshFailures",
                    Unit::Count,
                    count(report.token_failures),
                )
                .to_line(),
        );
        write_lines(metrics_out, &lines);
        info!(
            schedule = schedule.id.as_deref().unwrap_or(""),
            tenants = report.tenants,
            tokens_fetched = report.tokens_fetched,
            token_failures = report.token_failures,
            expiring_soon = report.expiring_soon,
            expired = report.expired,
            warnings = report.warnings.len(),
            "secrets checked"
        );
        Ok(report)
    }
    .instrument(span)
    .await
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn write_lines<W: Write>(out: &mut W, lines: &[String]) {
    let written = lines
        .iter()
        .try_for_each(|line| writeln!(out, "{line}"))
        .and_then(|()| out.flush());
    if let Err(err) = written {
        warn!(error = %err, "metric lines could not be written");
    }
}

// LIMIT: the warning is a log event only; sending it to EventBridge (`PutEvents`) for
// other systems to act on is not done yet. A CloudWatch Logs metric filter on
// `event = "secret_expiry_warning"`, or an alarm on `SecretDaysLeft`, alerts meanwhile.
/// Gives the warning for `threshold` unless an earlier run gave it for this secret: the
/// lease `secret-expiry/<tenant>/<expiry date>/<threshold>`, held until just after the
/// expiry, remembers it. A new secret has a new expiry date, so its warnings come again.
async fn crossed<S: StateStore, K>(
    services: &Services<S, K>,
    tenant: &Tenant,
    threshold: i64,
    days_left: i64,
    owner: &str,
    now: DateTime<Utc>,
) -> Option<ExpiryWarning> {
    let expires = tenant.secret_expires?;
    let key = format!(
        "secret-expiry/{}/{}/{threshold}",
        tenant.id,
        expires.format("%Y-%m-%d")
    );
    let hold =
        u64::try_from(threshold + 1).map_or(Duration::ZERO, |days| Duration::from_hours(24 * days));
    match services.state.acquire_lease(&key, owner, hold, now).await {
        Ok(Some(_)) => {}
        Ok(None) => return None,
        Err(err) => {
            // Better a repeated warning next run than none.
            warn!(error = %err, "cannot record the expiry warning; it is given again next run");
        }
    }
    warn!(
        event = "secret_expiry_warning",
        threshold,
        days_left,
        expires = %expires.date_naive(),
        "the client secret expires soon: create a new one in Entra ID and rotate it in"
    );
    Some(ExpiryWarning {
        tenant: tenant.id.clone(),
        threshold,
        days_left,
        expires,
    })
}

/// Fetches a token for an active tenant; false (and logged) when that fails.
async fn probe<S, K: SecretStore>(services: &Services<S, K>, tenant: &Tenant) -> bool {
    match fetch_token(&services.clients, tenant, &services.secrets).await {
        Ok(()) => true,
        Err(err) if err.is_retryable() => {
            warn!(outcome = "retry", error = %err, "no token this run; the next run tries again");
            false
        }
        Err(err) => {
            error!(
                outcome = "refused",
                error = %err,
                admin_fix = err.admin_fix().unwrap_or(""),
                "the tenant's credentials no longer get a token"
            );
            false
        }
    }
}
