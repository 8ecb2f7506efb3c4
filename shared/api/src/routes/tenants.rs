//! Tenant routes: onboarding, status, secret rotation, revocation and API keys.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use http::{HeaderMap, StatusCode};
use mailbridge_store::{
    AuditEvent, Expect, Mailbox, MailboxStatus, SecretStore, StateStore, StoreError, Tenant,
    TenantStatus,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::tenant_state::{
    TenantView, audit_tenant, expiry_instant, expiry_warning, secret_name, update_tenant,
};
use crate::app::App;
use crate::auth::{Caller, new_tenant_key};
use crate::extract::{JsonBody, PathParams};
use crate::ops::{Operations, VerifyRequest};
use crate::problem::ApiError;
use crate::validate::{self, Checks};

/// Most API keys one tenant may hold.
const MAX_API_KEYS: usize = 20;
/// Longest client secret accepted (Entra ID's are 40 characters).
const MAX_SECRET: usize = 1024;

/// `POST /v1/tenants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardBody {
    tenant_id: String,
    name: String,
    client_id: String,
    client_secret: SecretString,
    secret_expires: NaiveDate,
    test_mailbox: String,
    #[serde(default)]
    authority: Option<String>,
    #[serde(default)]
    ews_endpoint: Option<String>,
}

/// `PUT /v1/tenants/{id}/secret`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    client_secret: SecretString,
    secret_expires: NaiveDate,
    /// Defaults to the tenant's first mailbox.
    #[serde(default)]
    test_mailbox: Option<String>,
}

/// A secret of 1 to [`MAX_SECRET`] characters without control characters. The reason
/// never repeats the value.
fn check_secret(checks: &mut Checks, secret: &SecretString) {
    let value = secret.expose_secret();
    if value.trim().is_empty() {
        checks.push("client_secret", "is required");
    } else if value.chars().count() > MAX_SECRET {
        checks.push("client_secret", "is longer than 1024 characters");
    } else if value.chars().any(char::is_control) {
        checks.push("client_secret", "contains control characters");
    }
}

/// The admin's name for audit trails from `X-Actor`, when it is sensible.
pub fn x_actor(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-actor")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 100 && !v.chars().any(char::is_control))
}

/// An onboarding request, checked.
struct Onboarding {
    tenant: Tenant,
    test_mailbox: String,
}

/// Checks every field of an onboarding body, naming each bad one.
fn check_onboarding(body: &OnboardBody) -> Result<Onboarding, ApiError> {
    let mut checks = Checks::default();
    let id = checks.take(validate::tenant_id("tenant_id", &body.tenant_id));
    let name = checks.take(validate::text("name", &body.name, 200));
    let client_id = checks.take(validate::client_id("client_id", &body.client_id));
    check_secret(&mut checks, &body.client_secret);
    let test_mailbox = checks.take(validate::email("test_mailbox", &body.test_mailbox));
    let authority = body
        .authority
        .as_deref()
        .map(|a| checks.take(validate::endpoint("authority", a)));
    let ews_endpoint = body
        .ews_endpoint
        .as_deref()
        .map(|e| checks.take(validate::endpoint("ews_endpoint", e)));
    checks.finish()?;
    let tenant = Tenant {
        id,
        name,
        client_id,
        secret_expires: Some(expiry_instant(body.secret_expires)),
        status: TenantStatus::Active,
        status_reason: None,
        authority,
        ews_endpoint,
        api_key_hashes: Vec::new(),
        version: 0,
    };
    Ok(Onboarding {
        tenant,
        test_mailbox,
    })
}

/// Onboards a tenant: verifies first and stores only what passed.
///
/// A revoked (disabled) tenant is onboarded again the same way: that is how it comes back,
/// with a fresh secret and without its old API keys.
pub async fn onboard<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<OnboardBody>,
) -> Result<Response, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    caller.require_admin()?;
    let Onboarding {
        mut tenant,
        test_mailbox,
    } = check_onboarding(&body)?;
    let id = tenant.id.clone();
    crate::request::record_tenant(&id);

    let expect = match app.state.get_tenant(&id).await? {
        None => Expect::Absent,
        Some(old) if old.status == TenantStatus::Disabled => Expect::Version(old.version),
        Some(_) => {
            return Err(ApiError::AlreadyExists {
                detail: "this tenant is already onboarded; rotate its secret instead".to_owned(),
                field: "tenant_id",
            });
        }
    };
    let known = app.state.get_mailbox(&test_mailbox).await?;
    if known.as_ref().is_some_and(|m| m.tenant != id) {
        return Err(ApiError::AlreadyExists {
            detail: "this mailbox is already registered".to_owned(),
            field: "test_mailbox",
        });
    }

    let request = VerifyRequest {
        tenant_id: id.clone(),
        client_id: tenant.client_id.clone(),
        client_secret: body.client_secret.clone(),
        secret_expires: body.secret_expires,
        test_mailbox: test_mailbox.clone(),
        authority: tenant.authority.clone(),
        ews_endpoint: tenant.ews_endpoint.clone(),
    };
    let report = app.ops.verify(&request).await;
    let mut warnings: Vec<String> = expiry_warning(body.secret_expires, Utc::now().date_naive())
        .into_iter()
        .collect();
    if !report.verified {
        tracing::info!(
            outcome = "not_verified",
            "onboarding refused; nothing stored"
        );
        return Err(ApiError::VerificationFailed {
            report: Box::new(report),
            warnings,
        });
    }

    app.secrets
        .put(&secret_name(&id), &body.client_secret)
        .await?;
    match app.state.put_tenant(&tenant, expect).await {
        Ok(version) => tenant.version = version,
        // A concurrent onboarding stored the tenant first; the secret now stored may be
        // ours, which passed verification too, so it stays.
        Err(e @ StoreError::Conflict { .. }) => return Err(e.into()),
        Err(e) => {
            if expect == Expect::Absent {
                let _ = app.secrets.delete(&secret_name(&id)).await;
            }
            return Err(e.into());
        }
    }
    if known.is_none() {
        // LIMIT: the store cannot write a tenant and a mailbox together; when another
        // tenant registered the same address in between, this one stays without it.
        let mailbox = new_mailbox(&test_mailbox, &id);
        if let Err(e) = app.state.put_mailbox(&mailbox, Expect::Absent).await {
            tracing::warn!(error = %e, "test mailbox not added");
            warnings.push("test_mailbox: was registered meanwhile and was not added".to_owned());
        }
    }
    let actor = caller.actor(x_actor(&headers));
    audit_tenant(&app.state, &id, &actor, "tenant.onboard", &json!({})).await?;
    tracing::info!(outcome = "onboarded", "tenant onboarded");

    let view = TenantView::of(&app.state, &tenant).await?;
    let body = json!({ "tenant": view, "report": report, "warnings": warnings });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// A new mailbox record, active.
pub fn new_mailbox(address: &str, tenant: &str) -> Mailbox {
    Mailbox {
        address: address.to_owned(),
        tenant: tenant.to_owned(),
        status: MailboxStatus::Active,
        attention: None,
        last_sync: None,
        last_error: None,
        back_off_until: None,
        braked: None,
        deletes_go_ahead: None,
        version: 0,
    }
}

/// A tenant's status.
pub async fn get_tenant<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Json<TenantView>, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let tenant = app.tenant_for(&caller, &id).await?;
    Ok(Json(TenantView::of(&app.state, &tenant).await?))
}

/// Rotates the client secret: the new one is verified first and replaces the old one only
/// when it passes.
pub async fn rotate_secret<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<RotateBody>,
) -> Result<Json<serde_json::Value>, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let tenant = app.tenant_for_admin(&caller, &id).await?;
    if tenant.status == TenantStatus::Disabled {
        return Err(ApiError::TenantDisabled);
    }
    let mut checks = Checks::default();
    check_secret(&mut checks, &body.client_secret);
    let named = body
        .test_mailbox
        .as_deref()
        .map(|m| checks.take(validate::email("test_mailbox", m)));
    checks.finish()?;
    let test_mailbox = match named {
        Some(address) => address,
        None => app
            .state
            .list_mailboxes(Some(&tenant.id), None, 1)
            .await?
            .items
            .into_iter()
            .next()
            .map(|m| m.address)
            .ok_or_else(|| {
                ApiError::invalid("test_mailbox", "is required: the tenant has no mailbox")
            })?,
    };

    let request = VerifyRequest {
        tenant_id: tenant.id.clone(),
        client_id: tenant.client_id.clone(),
        client_secret: body.client_secret.clone(),
        secret_expires: body.secret_expires,
        test_mailbox,
        authority: tenant.authority.clone(),
        ews_endpoint: tenant.ews_endpoint.clone(),
    };
    let report = app.ops.verify(&request).await;
    let mut warnings: Vec<String> = expiry_warning(body.secret_expires, Utc::now().date_naive())
        .into_iter()
        .collect();
    if !report.verified {
        tracing::info!(
            outcome = "not_verified",
            "rotation refused; the old secret stays"
        );
        return Err(ApiError::VerificationFailed {
            report: Box::new(report),
            warnings,
        });
    }

    app.secrets
        .put(&secret_name(&tenant.id), &body.client_secret)
        .await?;
    // A verified secret lifts an expiry. A revocation that landed meanwhile wins: then the
    // secret just stored is removed again.
    let updated = update_tenant(&app.state, &tenant.id, |t| {
        if t.status == TenantStatus::Disabled {
            return Err(ApiError::TenantDisabled);
        }
        t.secret_expires = Some(expiry_instant(body.secret_expires));
        t.status = TenantStatus::Active;
        t.status_reason = None;
        Ok(())
    })
    .await;
    let updated = match updated {
        Ok(tenant) => tenant,
        Err(ApiError::TenantDisabled) => {
            app.secrets.delete(&secret_name(&tenant.id)).await?;
            return Err(ApiError::TenantDisabled);
        }
        Err(e) => return Err(e),
    };
    // The runner drops what it holds for the old secret and fetches a token with the new
    // one; the secret is stored either way, so a failure here is a warning.
    if let Err(e) = app.ops.refresh_token(&tenant.id).await {
        tracing::warn!(error = %e, "no token with the new secret yet");
        warnings.push(format!(
            "token: no token could be fetched with the new secret yet: {e}"
        ));
    }
    let actor = caller.actor(x_actor(&headers));
    let detail = json!({ "secret_expires": body.secret_expires });
    audit_tenant(
        &app.state,
        &tenant.id,
        &actor,
        "tenant.rotate_secret",
        &detail,
    )
    .await?;
    tracing::info!(outcome = "rotated", "client secret rotated");

    let view = TenantView::of(&app.state, &updated).await?;
    Ok(Json(
        json!({ "tenant": view, "report": report, "warnings": warnings }),
    ))
}

/// Revokes a tenant: disabled (who, when), its secret deleted, audited.
pub async fn revoke<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
) -> Result<Json<TenantView>, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let tenant = app.tenant_for_admin(&caller, &id).await?;
    let (actor, now) = (caller.actor(x_actor(&headers)), Utc::now());

    // Disable first, so CRM calls stop even if deleting the secret fails and is retried.
    let updated = update_tenant(&app.state, &tenant.id, |t| {
        t.status = TenantStatus::Disabled;
        t.status_reason = Some(format!("revoked by {actor} at {}", now.to_rfc3339()));
        Ok(())
    })
    .await?;
    // LIMIT: other processes' in-memory clients and tokens stay until they see the Disabled status.
    app.secrets.delete(&secret_name(&tenant.id)).await?;
    // The shared app token too: it stays valid for up to an hour after the secret is gone.
    app.secrets
        .delete(&mailbridge_store::access_token_name(&tenant.id))
        .await?;
    let detail = json!({ "at": now, "secret_deleted": true, "token_purged": true });
    audit_tenant(&app.state, &tenant.id, &actor, "tenant.revoke", &detail).await?;
    tracing::info!(outcome = "revoked", "tenant revoked");

    Ok(Json(TenantView::of(&app.state, &updated).await?))
}

/// Creates an API key for a tenant and returns it once; only its hash is stored.
pub async fn create_api_key<S, K, O>(
    State(app): State<Arc<App<S, K, O>>>,
    caller: Caller,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let tenant = app.tenant_for_admin(&caller, &id).await?;
    let (key, hash) = new_tenant_key(&tenant.id)?;
    let key_id = hash[..12].to_owned();

    update_tenant(&app.state, &tenant.id, |t| {
        if t.api_key_hashes.len() >= MAX_API_KEYS {
            return Err(ApiError::invalid(
                "api_keys",
                format!("a tenant holds at most {MAX_API_KEYS} keys"),
            ));
        }
        t.api_key_hashes.push(hash.clone());
        Ok(())
    })
    .await?;
    let actor = caller.actor(x_actor(&headers));
    let detail = json!({ "key_id": key_id });
    audit_tenant(&app.state, &tenant.id, &actor, "tenant.api_key", &detail).await?;
    tracing::info!(outcome = "key_created", key_id = %key_id, "API key created");

    let body = json!({
        "key": key,
        "key_id": key_id,
        "tenant": tenant.id,
        "note": "shown once: store it now; only its hash is kept",
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// An audit event about one mailbox.
pub fn mailbox_event(mailbox: &str, actor: &str, action: &str, subject: &str) -> AuditEvent {
    AuditEvent {
        mailbox: mailbox.to_owned(),
        at: Utc::now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        subject: subject.to_owned(),
        detail: "{}".to_owned(),
    }
}
