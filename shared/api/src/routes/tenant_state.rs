//! Reading and changing stored tenants: the view the API shows, read-modify-write with
//! retries, tenant-wide audit events and secret-expiry warnings.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use mailbridge_store::{AuditEvent, Expect, StateStore, StoreError, Tenant, TenantStatus};
use serde::Serialize;
use serde_json::Value;

use crate::problem::ApiError;

/// Page size when walking a tenant's mailboxes.
const WALK_PAGE: usize = 500;

/// Expiries this close (in days) are flagged.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

pub use mailbridge_store::client_secret_name as secret_name;

/// The instant a secret given with expiry `date` is taken to lapse: the start of that day
/// in UTC, the earliest reading of a date-only expiry.
pub fn expiry_instant(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc()
}

/// Days from `today` to `expires` (negative once past).
pub fn days_left(expires: NaiveDate, today: NaiveDate) -> i64 {
    (expires - today).num_days()
}

/// A warning when the secret has expired or expires within [`EXPIRY_WARNING_DAYS`].
pub fn expiry_warning(expires: NaiveDate, today: NaiveDate) -> Option<String> {
    let days = days_left(expires, today);
    if days < 0 {
        Some(format!(
            "secret_expires: the client secret expired on {expires}; create a new secret in \
             the app registration (Certificates & secrets) and rotate it here"
        ))
    } else if days <= EXPIRY_WARNING_DAYS {
        Some(format!(
            "secret_expires: the client secret expires on {expires}, in {days} days; create a \
             new secret in the app registration and rotate it here before then"
        ))
    } else {
        None
    }
}

/// A tenant as the API shows it: never a secret, never a key hash.
#[derive(Debug, Serialize)]
pub struct TenantView {
    id: String,
    name: String,
    client_id: String,
    status: TenantStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    secret_expires: Option<NaiveDate>,
    secret_days_left: Option<i64>,
    mailbox_count: usize,
    api_keys: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    authority: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ews_endpoint: Option<String>,
    version: u64,
}

impl TenantView {
    /// The view of `tenant`, counting its mailboxes.
    pub async fn of<S: StateStore>(state: &S, tenant: &Tenant) -> Result<TenantView, ApiError> {
        let expires = tenant.secret_expires.map(|t| t.date_naive());
        Ok(TenantView {
            id: tenant.id.clone(),
            name: tenant.name.clone(),
            client_id: tenant.client_id.clone(),
            status: tenant.status,
            status_reason: tenant.status_reason.clone(),
            secret_expires: expires,
            secret_days_left: expires.map(|d| days_left(d, Utc::now().date_naive())),
            mailbox_count: count_mailboxes(state, &tenant.id).await?,
            api_keys: tenant.api_key_hashes.len(),
            authority: tenant.authority.clone(),
            ews_endpoint: tenant.ews_endpoint.clone(),
            version: tenant.version,
        })
    }
}

/// How many mailboxes a tenant has.
// LIMIT: the store has no count, so this pages through the tenant's mailboxes; fine for
// thousands, slow for hundreds of thousands.
async fn count_mailboxes<S: StateStore>(state: &S, tenant: &str) -> Result<usize, ApiError> {
    let (mut count, mut after) = (0, None::<String>);
    loop {
        let page = state
            .list_mailboxes(Some(tenant), after.as_deref(), WALK_PAGE)
            .await?;
        count += page.items.len();
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(count),
        }
    }
}

/// Reads the tenant, applies `change` and writes it back at the version read, retrying a
/// few times when someone else wrote in between.
pub async fn update_tenant<S, F>(state: &S, id: &str, mut change: F) -> Result<Tenant, ApiError>
where
    S: StateStore,
    F: FnMut(&mut Tenant) -> Result<(), ApiError> + Send,
{
    for _ in 0..3 {
        let mut tenant = state.get_tenant(id).await?.ok_or(ApiError::NotFound)?;
        change(&mut tenant)?;
        match state
            .put_tenant(&tenant, Expect::Version(tenant.version))
            .await
        {
            Ok(version) => {
                tenant.version = version;
                return Ok(tenant);
            }
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict {
        detail: format!("tenant {id} keeps changing under this request; retry"),
        current_version: None,
    })
}

/// Appends an audit event about the whole tenant to each of its mailboxes' trails.
// LIMIT: the store keeps audit trails per mailbox only, so a tenant-wide event is copied
// into every mailbox's trail (one batch per page of mailboxes).
pub async fn audit_tenant<S: StateStore>(
    state: &S,
    tenant: &str,
    actor: &str,
    action: &str,
    detail: &Value,
) -> Result<(), ApiError> {
    let (now, detail) = (Utc::now(), detail.to_string());
    let mut after = None::<String>;
    loop {
        let page = state
            .list_mailboxes(Some(tenant), after.as_deref(), WALK_PAGE)
            .await?;
        let events: Vec<AuditEvent> = page
            .items
            .iter()
            .map(|m| AuditEvent {
                mailbox: m.address.clone(),
                at: now,
                actor: actor.to_owned(),
                action: action.to_owned(),
                subject: format!("tenant/{tenant}"),
                detail: detail.clone(),
            })
            .collect();
        if !events.is_empty() {
            state.append_audit(&events).await?;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

/// Whether a tenant's CRM calls are refused.
pub fn is_disabled(tenant: &Tenant) -> bool {
    tenant.status == TenantStatus::Disabled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn expiry_warnings_flag_past_and_near_dates_only() {
        let today = day(2026, 3, 1);
        assert!(expiry_warning(day(2026, 2, 27), today).is_some_and(|w| w.contains("expired")));
        assert!(expiry_warning(day(2026, 3, 31), today).is_some_and(|w| w.contains("30 days")));
        assert!(expiry_warning(day(2026, 4, 1), today).is_none());
        assert_eq!(days_left(day(2026, 2, 27), today), -2);
    }
}
