//! The token endpoint: OAuth 2.0 client credentials as the Microsoft identity platform
//! answers them, with its status codes, `error` values and `AADSTS` codes.
//!
//! Codes follow Microsoft's "Microsoft Entra authentication and authorization error codes"
//! reference: 90002 unknown tenant, 900023 malformed tenant, 900144 missing parameter,
//! 70003 unsupported grant, 700016 unknown client id, 7000112 disabled app, 7000216 no
//! credential, 7000215 wrong secret, 7000222 expired secret, 1002012 scope without
//! `/.default`, 500011 unknown resource, 65001 consent missing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::model::directory::{is_domain, is_guid};
use crate::world::{IssuedToken, World, lock};

/// Resources whose `/.default` scope the endpoint issues tokens for.
pub const EXCHANGE_RESOURCES: [&str; 2] = [
    "https://outlook.office365.com",
    "https://outlook.office.com",
];
/// Microsoft Graph, for which tokens are issued but which EWS refuses.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// The role EWS requires of an app-only token.
pub const EWS_ROLE: &str = "full_access_as_app";

struct Refusal {
    status: StatusCode,
    error: &'static str,
    code: u32,
    text: String,
}

fn refuse(status: StatusCode, error: &'static str, code: u32, text: String) -> Refusal {
    Refusal {
        status,
        error,
        code,
        text,
    }
}

fn missing(parameter: &str) -> Refusal {
    refuse(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900_144,
        format!("The request body must contain the following parameter: '{parameter}'."),
    )
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token(
    State(world): State<Arc<World>>,
    Path(tenant): Path<String>,
    form: Result<
        axum::extract::Form<HashMap<String, String>>,
        axum::extract::rejection::FormRejection,
    >,
) -> Response {
    // A body that is not a form reads as an empty one: the missing-parameter error follows.
    let form = form.map(|f| f.0).unwrap_or_default();
    match issue(&world, &tenant, &form) {
        Ok((token, lifetime)) => {
            world.count(|s| s.tokens_issued += 1);
            tracing::debug!(op = "token", tenant = %tenant, outcome = "issued", "token issued");
            Json(json!({
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": token,
            }))
            .into_response()
        }
        Err(refusal) => {
            world.count(|s| s.tokens_refused += 1);
            tracing::debug!(op = "token", tenant = %tenant, code = refusal.code, outcome = "refused", "token refused");
            platform_error(&world, &refusal)
        }
    }
}

fn issue(
    world: &World,
    tenant_key: &str,
    form: &HashMap<String, String>,
) -> Result<(String, i64), Refusal> {
    if !is_guid(tenant_key) && !is_domain(tenant_key) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_023,
            format!(
                "Specified tenant identifier '{tenant_key}' is neither a valid DNS name, nor a valid external domain."
            ),
        ));
    }
    let Some(tenant) = world.tenant(tenant_key) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant_key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ));
    };
    let app = check_client(&tenant, form, world.now())?;
    let resource = check_scope(&tenant, form)?;
    if app.full_access_as_app && !app.admin_consent {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            65001,
            format!(
                "The user or administrator has not consented to use the application with ID '{}'. Send an interactive authorization request for this user and resource.",
                app.client_id
            ),
        ));
    }

    // Without the permission the platform still issues a token, only without the role;
    // Exchange is what refuses it.
    let roles = if app.full_access_as_app && EXCHANGE_RESOURCES.contains(&resource) {
        vec![EWS_ROLE.to_owned()]
    } else {
        Vec::new()
    };
    let now = world.now();
    let lifetime = world.token_lifetime();
    let expires = now + lifetime;
    let token = token_text(
        &tenant.tenant_id,
        &app.client_id,
        resource,
        &roles,
        now,
        expires,
    );
    lock(&world.tokens).insert(
        token.clone(),
        IssuedToken {
            tenant_id: tenant.tenant_id.clone(),
            client_id: app.client_id.clone(),
            roles,
            audience: resource.to_owned(),
            expires,
        },
    );
    Ok((token, lifetime.num_seconds()))
}

/// The app the form names, if its client id and secret hold.
fn check_client<'t>(
    tenant: &'t crate::model::TenantConfig,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<&'t crate::model::AppConfig, Refusal> {
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let grant = field("grant_type").ok_or_else(|| missing("grant_type"))?;
    if grant != "client_credentials" {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    let client_id = field("client_id").ok_or_else(|| missing("client_id"))?;
    let Some(app) = tenant.app(client_id) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700_016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
                tenant.tenant_id
            ),
        ));
    };
    if !app.enabled {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            7_000_112,
            format!("Application '{client_id}' is disabled."),
        ));
    }
    let Some(secret) = field("client_secret") else {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_216,
            "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.".to_owned(),
        ));
    };
    let Some(matched) = app.secrets.iter().find(|s| s.value == secret) else {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        ));
    };
    if matched.expires <= now {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_222,
            format!(
                "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new keys for your app."
            ),
        ));
    }
    Ok(app)
}

/// The resource the form's scope names, if it is one tokens are issued for.
fn check_scope<'f>(
    tenant: &crate::model::TenantConfig,
    form: &'f HashMap<String, String>,
) -> Result<&'f str, Refusal> {
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let scope = field("scope").ok_or_else(|| missing("scope"))?;
    let Some(resource) = scope.strip_suffix("/.default") else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1_002_012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    };
    let resource = resource.trim_end_matches('/');
    if !EXCHANGE_RESOURCES.contains(&resource) && resource != GRAPH_RESOURCE {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500_011,
            format!(
                "The resource principal named {resource} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
                tenant.tenant_id
            ),
        ));
    }
    Ok(resource)
}

/// A JWT-shaped token: real claims an inspecting client can read, and a random signature
/// part that makes it unguessable. The simulator checks tokens by looking them up.
fn token_text(
    tenant: &str,
    client_id: &str,
    audience: &str,
    roles: &[String],
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "mailbridge-sim"});
    let claims = json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{tenant}/"),
        "iat": now.timestamp(),
        "nbf": now.timestamp(),
        "exp": expires.timestamp(),
        "appid": client_id,
        "roles": roles,
        "tid": tenant,
        "ver": "1.0",
    });
    let signature: Vec<u8> = std::iter::repeat_with(|| fastrand::u8(..))
        .take(32)
        .collect();
    format!(
        "{}.{}.{}",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string()),
        b64.encode(signature)
    )
}

fn platform_error(world: &World, refusal: &Refusal) -> Response {
    let trace = new_guid();
    let correlation = new_guid();
    let timestamp = world.now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    let body = json!({
        "error": refusal.error,
        "error_description": format!(
            "AADSTS{}: {} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {timestamp}",
            refusal.code, refusal.text
        ),
        "error_codes": [refusal.code],
        "timestamp": timestamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": format!("https://login.microsoftonline.com/error?code={}", refusal.code),
    });
    (refusal.status, Json(body)).into_response()
}

/// A random GUID-shaped id.
pub(crate) fn new_guid() -> String {
    let (a, b) = (fastrand::u64(..), fastrand::u64(..));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}
