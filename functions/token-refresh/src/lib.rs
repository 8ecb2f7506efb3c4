//! The token-refresh function: an `EventBridge` schedule invokes it (every ~45 minutes). It
//! checks every tenant's client secret with `jobs::check_secrets`, which pauses a tenant
//! whose secret has expired, then fetches a token for each active tenant: that proves the
//! secret still works, and the token is kept in Secrets Manager
//! (`mailbridge_service::token_store`), where every sync and send takes it instead of
//! asking the identity platform per Lambda instance. A tenant's token outlives the schedule
//! (tokens last about an hour, the schedule is ~45 minutes), so readers always find one
//! that is still good. It reports:
//!
//! - a `CloudWatch` metric line (Embedded Metric Format, namespace `mailbridge`, dimension
//!   `Stage`) per tenant with `SecretDaysLeft`, and one for the run with
//!   `SecretsNearingExpiry` (active tenants within 30 days: the alarm in
//!   `infra/monitoring.md` reads it), `SecretsExpiringSoon`, `SecretsExpired` and
//!   `TokenRefreshFailures`;
//! - once per tenant, secret and threshold crossed (60, 30, 14, 7 and 1 days), remembered
//!   with a lease: a warning log line (`event = "secret_expiry_warning"`) and an event on
//!   the stage's `EventBridge` bus (source `mailbridge.token-refresh`, detail type
//!   `Client secret nearing expiry`).

mod events;

use std::time::Duration;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent};
use mailbridge_fn_common::metrics::{Document, Metrics, Unit};
use mailbridge_fn_common::tokens::fetch_token;
use mailbridge_fn_common::{Services, logging};
use mailbridge_service::jobs::{SecretHealth, check_secrets};
use mailbridge_service::token_store::save_token;
use mailbridge_store::{SecretStore, StateStore, StoreError, Tenant, TenantStatus};
use serde::Serialize;
use tracing::{Instrument as _, error, info, warn};

pub use events::{EventBus, ExpiryEvents};

/// The function's name in logs.
pub const FUNCTION: &str = "token-refresh";

/// A secret this close to its expiry counts in `SecretsNearingExpiry`.
pub const NEARING_EXPIRY_DAYS: i64 = 30;

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
    /// Active tenants whose secret expires within [`NEARING_EXPIRY_DAYS`] (the
    /// `SecretsNearingExpiry` metric an alarm watches).
    pub nearing_expiry: usize,
    /// Secrets within a warning threshold (at most 60 days) of their expiry.
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

/// Checks every tenant's secret, fetches a token for each active tenant, puts an event on
/// `events` for each warning threshold crossed, and writes the metric lines.
pub async fn handle<S: StateStore, K: SecretStore, E: ExpiryEvents>(
    services: &Services<S, K>,
    events: &E,
    event: LambdaEvent<EventBridgeEvent>,
) -> Result<RefreshReport, RefreshError> {
    let (schedule, context) = event.into_parts();
    let span = logging::invocation_span(FUNCTION, &context);
    async {
        let now = Utc::now();
        let health = check_secrets(&services.state, now)
            .await
            .inspect_err(|err| {
                error!(error = %err, "the tenants cannot be checked");
            })?;
        let mut run = Run {
            services,
            events,
            owner: format!(
                "{FUNCTION}/{}/{:08x}",
                context.request_id,
                fastrand::u32(..)
            ),
            now,
            report: RefreshReport {
                tenants: health.len(),
                ..RefreshReport::default()
            },
            documents: Vec::new(),
        };

        // LIMIT: tenants are taken one after the other; with thousands of tenants one run
        // would need minutes and should fetch tokens a few at a time instead.
        for (id, health) in &health {
            run.tenant(id, health)
                .instrument(logging::tenant_span(id))
                .await;
        }

        let Run {
            report,
            mut documents,
            ..
        } = run;
        documents.push(summary(&services.metrics, &report, now));
        for document in &documents {
            services.metrics.emit(document);
        }
        info!(
            schedule = schedule.id.as_deref().unwrap_or(""),
            tenants = report.tenants,
            tokens_fetched = report.tokens_fetched,
            token_failures = report.token_failures,
            nearing_expiry = report.nearing_expiry,
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

/// One run's state while it goes through the tenants.
struct Run<'a, S, K, E> {
    services: &'a Services<S, K>,
    events: &'a E,
    /// The owner of the warning markers this run takes: unique, as a holder re-acquires
    /// its own lease.
    owner: String,
    now: DateTime<Utc>,
    report: RefreshReport,
    documents: Vec<Document>,
}

impl<S: StateStore, K: SecretStore, E: ExpiryEvents> Run<'_, S, K, E> {
    async fn tenant(&mut self, id: &str, health: &SecretHealth) {
        let now = self.now;
        let tenant = match self.services.state.get_tenant(id).await {
            Ok(Some(tenant)) => tenant,
            Ok(None) => return,
            Err(err) => {
                warn!(error = %err, "tenant cannot be read; skipped this run");
                self.report.token_failures += 1;
                return;
            }
        };
        match health {
            SecretHealth::Expired => self.report.expired += 1,
            SecretHealth::ExpiresSoon { threshold, days } => {
                self.report.expiring_soon += 1;
                if let Some(warning) = self.crossed(&tenant, *threshold, *days).await {
                    self.report.warnings.push(warning);
                }
            }
            SecretHealth::Fine => {}
        }
        if tenant.status == TenantStatus::Active {
            let nearing = tenant.secret_expires.is_some_and(|expires| {
                expires > now && expires - now <= chrono::Duration::days(NEARING_EXPIRY_DAYS)
            });
            self.report.nearing_expiry += usize::from(nearing);
            if probe(self.services, &tenant).await {
                self.report.tokens_fetched += 1;
            } else {
                self.report.token_failures += 1;
            }
        }
        if let Some(expires) = tenant.secret_expires {
            // Negative once expired; an alarm on the minimum sees every tenant.
            let days_left = (expires - now).num_days();
            self.documents.push(
                self.services
                    .metrics
                    .document(now)
                    .dimension("Tenant", tenant.id.as_str())
                    .metric("SecretDaysLeft", Unit::None, days_left),
            );
        }
    }

    /// Gives the warning for `threshold` unless an earlier run gave it for this secret: the
    /// lease `secret-expiry/<tenant>/<expiry date>/<threshold>`, held until just after the
    /// expiry, remembers it. A new secret has a new expiry date, so its warnings come
    /// again.
    // LIMIT: the marker is taken before the event is put, and the role may not delete it,
    // so a warning whose PutEvents failed is not put again for that threshold; the error
    // line says which, the next threshold comes, and the SecretsNearingExpiry alarm holds.
    async fn crossed(
        &self,
        tenant: &Tenant,
        threshold: i64,
        days_left: i64,
    ) -> Option<ExpiryWarning> {
        let expires = tenant.secret_expires?;
        let key = format!(
            "secret-expiry/{}/{}/{threshold}",
            tenant.id,
            expires.format("%Y-%m-%d")
        );
        let hold = u64::try_from(threshold + 1)
            .map_or(Duration::ZERO, |days| Duration::from_hours(24 * days));
        match self
            .services
            .state
            .acquire_lease(&key, &self.owner, hold, self.now)
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(err) => {
                // Better a repeated warning next run than none.
                warn!(error = %err, "cannot record the expiry warning; it is given again next run");
            }
        }
        let warning = ExpiryWarning {
            tenant: tenant.id.clone(),
            threshold,
            days_left,
            expires,
        };
        warn!(
            event = "secret_expiry_warning",
            threshold,
            days_left,
            expires = %expires.date_naive(),
            "the client secret expires soon: create a new one in Entra ID and rotate it in"
        );
        if let Err(err) = self
            .events
            .publish(&self.services.settings.stage, &warning)
            .await
        {
            error!(
                error = %err,
                threshold,
                "the expiry event could not be put on the bus"
            );
        }
        Some(warning)
    }
}

/// The run's counts; the alarm `secrets-nearing-expiry` reads `SecretsNearingExpiry`, so
/// the line carries a level no log level setting drops, and it is written on every run,
/// 0 included.
fn summary(metrics: &Metrics, report: &RefreshReport, now: DateTime<Utc>) -> Document {
    metrics
        .document(now)
        .level("ERROR")
        .metric(
            "SecretsNearingExpiry",
            Unit::Count,
            count(report.nearing_expiry),
        )
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
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Fetches a token for an active tenant and keeps it for the other functions; false (and
/// logged) when no token came. A token that cannot be kept still proves the secret works:
/// the readers then fetch their own, so that is a warning, not a failure.
async fn probe<S, K: SecretStore>(services: &Services<S, K>, tenant: &Tenant) -> bool {
    match fetch_token(&services.clients, tenant, &services.secrets).await {
        Ok(token) => {
            if let Err(err) =
                save_token(&services.secrets, &tenant.id, &tenant.client_id, &token).await
            {
                warn!(error = %err, "the token cannot be kept; each function fetches its own");
            }
            true
        }
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
