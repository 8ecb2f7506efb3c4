//! The EWS endpoint: bearer-token and permission checks, the tenant's EWS policy, the
//! impersonation target, throttling and fault injection, then the operation itself.

pub mod fields;
pub mod ids;
pub mod item_in;
pub mod item_out;
pub(crate) mod ops;
pub mod recurrence_xml;
pub mod restriction;
mod schema_order;
pub mod soap;
pub mod update;
pub mod xml;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::faults::Fault as Injected;
use crate::idp::{EWS_ROLE, EXCHANGE_RESOURCES};
use crate::model::TenantConfig;
use crate::server::{KillConnection, truncated};
use crate::throttle::{Refusal, Throttled};
use crate::world::{IssuedToken, MailboxSlot, World, lock};
use soap::Fault;

const CONTENT_TYPE_XML: &str = "text/xml; charset=utf-8";

/// Why a token was refused, as Exchange Online's `x-ms-diagnostics` header puts it.
struct AuthFailure {
    code: u32,
    reason: String,
    category: &'static str,
}

/// What the endpoint answers.
enum Reply {
    Xml(StatusCode, String),
    Unauthorized(Option<AuthFailure>),
    Forbidden(String),
    UnsupportedMedia(String),
    Throttled(Throttled, &'static str),
    Html500,
    Kill,
}

/// `POST /EWS/Exchange.asmx`.
pub(crate) async fn endpoint(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut op = "-";
    let (reply, damage) = serve(&world, &headers, &body, &mut op).await;
    match reply {
        Reply::Xml(status, xml) => {
            world.record(op, &body, status.as_u16(), &xml);
            match damage {
                Some(Injected::MalformedBody) => xml_response(status, corrupt(&xml)),
                Some(Injected::TruncatedBody) => {
                    truncated(status, CONTENT_TYPE_XML, xml.into_bytes())
                }
                Some(Injected::LoseResponse) => kill(),
                _ => xml_response(status, xml),
            }
        }
        Reply::Unauthorized(failure) => {
            world.record(op, &body, 401, "");
            unauthorized(failure.as_ref())
        }
        Reply::Forbidden(reason) => {
            world.record(op, &body, 403, &reason);
            let mut response = (StatusCode::FORBIDDEN, reason.clone()).into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("4030001;reason=\"{reason}\"")) {
                response.headers_mut().insert("x-ms-diagnostics", value);
            }
            response
        }
        Reply::UnsupportedMedia(text) => {
            world.record(op, &body, 415, &text);
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, text).into_response()
        }
        Reply::Throttled(throttled, op) => {
            world.count(|s| s.throttled += 1);
            let response = throttle_response(&throttled, op);
            if let Some(xml) = response.1.as_deref() {
                world.record(op, &body, response.0.status().as_u16(), xml);
            }
            response.0
        }
        Reply::Html500 => {
            world.record(op, &body, 500, "");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><head><title>Runtime Error</title></head><body><h1>Server Error in '/EWS' Application.</h1></body></html>",
            )
                .into_response()
        }
        Reply::Kill => kill(),
    }
}

fn kill() -> Response {
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(KillConnection);
    response
}

fn xml_response(status: StatusCode, xml: String) -> Response {
    (status, [(header::CONTENT_TYPE, CONTENT_TYPE_XML)], xml).into_response()
}

/// A body that is no longer well-formed: a closing tag cut, garbage appended.
fn corrupt(xml: &str) -> String {
    let cut = xml.len() * 2 / 3;
    let cut = (0..=cut)
        .rev()
        .find(|i| xml.is_char_boundary(*i))
        .unwrap_or(0);
    format!("{}<</broken &bogus; \u{0}", &xml[..cut])
}

fn fault_reply(fault: &Fault) -> Reply {
    Reply::Xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        soap::fault_envelope(fault),
    )
}

/// The bearer token, its grant, and the tenant's EWS policy.
fn authorize<'h>(
    world: &World,
    headers: &'h HeaderMap,
) -> Result<(&'h str, IssuedToken, TenantConfig), Reply> {
    let Some(token) = bearer(headers) else {
        return Err(Reply::Unauthorized(None));
    };
    let grant = check_token(world, token).map_err(|f| Reply::Unauthorized(Some(f)))?;
    let Some(tenant) = world.tenant(&grant.tenant_id) else {
        return Err(Reply::Unauthorized(None));
    };
    if !tenant.ews_enabled {
        return Err(Reply::Forbidden(
            "EWS is disabled for this organization (EwsEnabled is False).".into(),
        ));
    }
    if !tenant.ews_allows(&grant.client_id) {
        return Err(Reply::Forbidden(format!(
            "The application {} is not on the organization's EWS allow-list (EwsAllowedAppIDs).",
            grant.client_id
        )));
    }
    Ok((token, grant, tenant))
}

/// The impersonated mailbox, if the app may reach it over EWS.
fn impersonate(
    world: &World,
    tenant: &TenantConfig,
    grant: &IssuedToken,
    address: Option<&str>,
) -> Result<Arc<MailboxSlot>, Reply> {
    let Some(address) = address else {
        return Err(fault_reply(&Fault::new(
            "ErrorInvalidExchangeImpersonationHeaderData",
            "ExchangeImpersonation SOAP header must be present for this type of OAuth token.",
        )));
    };
    let slot = world.slot(address).filter(|slot| {
        let config = lock(&slot.config);
        config.licensed && config.tenant_id.eq_ignore_ascii_case(&tenant.tenant_id)
    });
    let Some(slot) = slot else {
        let fault = Fault::new(
            "ErrorNonExistentMailbox",
            "The SMTP address has no mailbox associated with it.",
        )
        .with("SmtpAddress", address);
        return Err(fault_reply(&fault));
    };
    if !tenant
        .app(&grant.client_id)
        .is_some_and(|app| app.may_reach(address))
    {
        return Err(fault_reply(&Fault::new(
            "ErrorImpersonateUserDenied",
            "The account does not have permission to impersonate the requested user.",
        )));
    }
    if !lock(&slot.config).ews_enabled {
        return Err(Reply::Forbidden(format!(
            "EWS is disabled for the mailbox {address} (EwsEnabled is False)."
        )));
    }
    Ok(slot)
}

/// Acts out a fault that replaces the request's processing, if `fault` is one.
fn pre_empt(
    world: &World,
    fault: Option<Injected>,
    token: &str,
    op: &'static str,
) -> Option<Reply> {
    match fault? {
        Injected::DropConnection => Some(Reply::Kill),
        Injected::Http500 => Some(Reply::Html500),
        Injected::ServerBusy => {
            let policy = world.throttle.policy();
            let wait = std::time::Duration::from_millis(policy.back_off_ms);
            Some(Reply::Throttled(
                world.throttle.refuse(&policy, wait, "Injected"),
                op,
            ))
        }
        Injected::ExpireToken => {
            if let Some(issued) = lock(&world.tokens).get_mut(token) {
                issued.expires = world.now() - chrono::Duration::seconds(1);
            }
            Some(Reply::Unauthorized(Some(expired())))
        }
        _ => None,
    }
}

async fn serve(
    world: &World,
    headers: &HeaderMap,
    body: &[u8],
    op_name: &mut &'static str,
) -> (Reply, Option<Injected>) {
    let (token, grant, tenant) = match authorize(world, headers) {
        Ok(granted) => granted,
        Err(reply) => return (reply, None),
    };
    if let Err(reply) = soap_content_type(headers) {
        return (reply, None);
    }
    let root = match xml::parse(body) {
        Ok(root) => root,
        Err(err) => return (fault_reply(&Fault::schema(err)), None),
    };
    let envelope = match soap::read_envelope(&root) {
        Ok(envelope) => envelope,
        Err(fault) => return (fault_reply(&fault), None),
    };
    *op_name = ops::OPERATIONS
        .iter()
        .find(|o| **o == envelope.body.name)
        .copied()
        .unwrap_or("-");
    let op = *op_name;
    let address = envelope.impersonate.as_deref();
    world.count_request(&envelope.body.name, address);
    let slot = match impersonate(world, &tenant, &grant, address) {
        Ok(slot) => slot,
        Err(reply) => return (reply, None),
    };

    let _admitted = match world.throttle.admit(&slot) {
        Ok(admitted) => admitted,
        Err(throttled) => return (Reply::Throttled(throttled, op), None),
    };
    let latency = world.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fault = world.faults.draw(&envelope.body.name);
    if fault.is_some() {
        world.count(|s| s.faults += 1);
        tracing::debug!(op, fault = ?fault, "injecting a fault");
    }
    if let Some(reply) = pre_empt(world, fault, token, op) {
        return (reply, None);
    }

    let reply = {
        let mut store = lock(&slot.store);
        let mut ctx = ops::Ctx {
            world,
            store: &mut store,
            now: world.now(),
            fault,
        };
        match ops::run(envelope.body, &mut ctx) {
            Ok(xml) => Reply::Xml(StatusCode::OK, xml),
            Err(fault) => fault_reply(&fault),
        }
    };
    tracing::debug!(
        op,
        mailbox = address.unwrap_or_default(),
        outcome = "served",
        "EWS request"
    );
    (reply, fault)
}

/// EWS speaks SOAP 1.1 only: like its WCF binding, it refuses any other content type
/// (SOAP 1.2's `application/soap+xml` included) with HTTP 415 before reading the body.
fn soap_content_type(headers: &HeaderMap) -> Result<(), Reply> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let media = value.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case("text/xml") {
        return Ok(());
    }
    Err(Reply::UnsupportedMedia(format!(
        "Cannot process the message because the content type '{value}' was not the expected type 'text/xml; charset=utf-8'."
    )))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn expired() -> AuthFailure {
    AuthFailure {
        code: 2_000_001,
        reason: "The token has expired.".into(),
        category: "invalid_token",
    }
}

fn check_token(world: &World, token: &str) -> Result<IssuedToken, AuthFailure> {
    let issued = lock(&world.tokens)
        .get(token)
        .cloned()
        .ok_or_else(|| AuthFailure {
            code: 2_000_001,
            reason: "The token is not valid: its signature could not be verified.".into(),
            category: "invalid_token",
        })?;
    if issued.expires <= world.now() {
        return Err(expired());
    }
    if !EXCHANGE_RESOURCES.contains(&issued.audience.as_str()) {
        return Err(AuthFailure {
            code: 2_000_003,
            reason: format!("The audience claim value is invalid '{}'.", issued.audience),
            category: "invalid_resource",
        });
    }
    if !issued.roles.iter().any(|r| r == EWS_ROLE) {
        return Err(AuthFailure {
            code: 2_000_008,
            reason: "The token contains not enough scope to make this call.".into(),
            category: "invalid_grant",
        });
    }
    Ok(issued)
}

fn unauthorized(failure: Option<&AuthFailure>) -> Response {
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    let headers = response.headers_mut();
    let error = failure.map_or(String::new(), |_| ", error=\"invalid_token\"".to_owned());
    let www = format!(
        "Bearer client_id=\"00000002-0000-0ff1-ce00-000000000000\", trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", token_types=\"app_asserted_user_v1 service_asserted_app_v1\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\"{error}"
    );
    if let Ok(value) = HeaderValue::from_str(&www) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    if let Some(f) = failure
        && let Ok(value) = HeaderValue::from_str(&format!(
            "{};reason=\"{}\";error_category=\"{}\"",
            f.code, f.reason, f.category
        ))
    {
        headers.insert("x-ms-diagnostics", value);
    }
    response
}

/// The response for a throttled request, and the XML body if it has one.
fn throttle_response(t: &Throttled, op: &str) -> (Response, Option<String>) {
    let millis = t
        .back_off
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let text = "The server cannot service this request right now. Try again later.";
    match t.refusal {
        Refusal::ServerBusyFault | Refusal::ServerBusyMessage => {
            let mut values = vec![("Policy", t.policy.to_owned())];
            if let Some(ms) = millis {
                values.push(("BackOffMilliseconds", ms.to_string()));
            }
            let (status, xml) = if t.refusal == Refusal::ServerBusyFault || op == "-" {
                let fault = Fault {
                    code: "ErrorServerBusy",
                    message: text.to_owned(),
                    values,
                };
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    soap::fault_envelope(&fault),
                )
            } else {
                let err = soap::MsgError {
                    code: "ErrorServerBusy",
                    text: text.to_owned(),
                    values,
                };
                (StatusCode::OK, soap::error_response(op, &err))
            };
            (xml_response(status, xml.clone()), Some(xml))
        }
        Refusal::Http503 | Refusal::Http429 => {
            let status = if t.refusal == Refusal::Http503 {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::TOO_MANY_REQUESTS
            };
            let mut response = Response::new(Body::from(text));
            *response.status_mut() = status;
            if let Some(ms) = millis {
                let seconds = ms.div_ceil(1000).max(1);
                if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            (response, None)
        }
    }
}
