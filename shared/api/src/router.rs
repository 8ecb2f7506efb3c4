//! The router: every route with its operation name and body limit, built in one pass
//! that also lists what it serves, so the list and the router cannot drift apart.

use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, on};
use http::header;
use mailbridge_store::{SecretStore, StateStore};

use crate::app::App;
use crate::extract::DEFAULT_BODY_LIMIT;
use crate::ops::Operations;
use crate::problem::ApiError;
use crate::request::{RouteInfo, around_route};
use crate::routes::{mailboxes, records, send, tenants};

/// The body limit of the send route (10 MiB): room for 3 MiB of attachments as base64
/// and a large HTML body.
pub const SEND_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// An HTTP method the router serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
}

impl Verb {
    /// The method's name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

/// One route the router serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    /// The method.
    pub verb: Verb,
    /// The path template, `{name}` for a segment (as `OpenAPI` writes it).
    pub path: &'static str,
    /// The operation's name in logs.
    pub op: &'static str,
    /// The largest body it reads.
    pub body_limit: usize,
}

/// Builds the router and the list of what it serves in one pass, so the two cannot drift.
struct Builder<A> {
    router: Router<A>,
    served: Vec<RouteSpec>,
}

impl<A: Clone + Send + Sync + 'static> Builder<A> {
    fn add<H, T>(mut self, verb: Verb, path: &'static str, op: &'static str, handler: H) -> Self
    where
        H: Handler<T, A>,
        T: 'static,
    {
        let body_limit = if op == "mail.send" {
            SEND_BODY_LIMIT
        } else {
            DEFAULT_BODY_LIMIT
        };
        let spec = RouteSpec {
            verb,
            path,
            op,
            body_limit,
        };
        let info = RouteInfo { op, body_limit };
        let method = on(verb.filter(), handler).layer(from_fn_with_state(info, around_route));
        self.router = self.router.route(path, method);
        self.served.push(spec);
        self
    }
}

/// The routes, unattached to an app.
fn build<S, K, O>() -> Builder<Arc<App<S, K, O>>>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    let builder = Builder {
        router: Router::new(),
        served: Vec::new(),
    };
    let builder = builder.add(Verb::Get, "/openapi.json", "openapi", openapi);
    mailbox_routes(tenant_routes(builder))
}

/// Tenants and their mailbox lists.
fn tenant_routes<S, K, O>(builder: Builder<Arc<App<S, K, O>>>) -> Builder<Arc<App<S, K, O>>>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    use Verb::{Get, Post, Put};
    builder
        .add(
            Post,
            "/v1/tenants",
            "tenant.onboard",
            tenants::onboard::<S, K, O>,
        )
        .add(
            Get,
            "/v1/tenants/{id}",
            "tenant.get",
            tenants::get_tenant::<S, K, O>,
        )
        .add(
            Put,
            "/v1/tenants/{id}/secret",
            "tenant.rotate_secret",
            tenants::rotate_secret::<S, K, O>,
        )
        .add(
            Post,
            "/v1/tenants/{id}/revoke",
            "tenant.revoke",
            tenants::revoke::<S, K, O>,
        )
        .add(
            Post,
            "/v1/tenants/{id}/api-keys",
            "tenant.api_key",
            tenants::create_api_key::<S, K, O>,
        )
        .add(
            Post,
            "/v1/tenants/{id}/mailboxes",
            "mailbox.add",
            mailboxes::add_mailbox::<S, K, O>,
        )
        .add(
            Get,
            "/v1/tenants/{id}/mailboxes",
            "mailbox.list",
            mailboxes::list_mailboxes::<S, K, O>,
        )
}

/// One mailbox: health, CRM records, the change feed, calendar, sync, send and audit.
fn mailbox_routes<S, K, O>(builder: Builder<Arc<App<S, K, O>>>) -> Builder<Arc<App<S, K, O>>>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    use Verb::{Delete, Get, Post, Put};
    builder
        .add(
            Get,
            "/v1/mailboxes/{address}",
            "mailbox.health",
            mailboxes::mailbox_health::<S, K, O>,
        )
        .add(
            Put,
            "/v1/mailboxes/{address}/contacts/{crm_id}",
            "contact.put",
            records::put_contact::<S, K, O>,
        )
        .add(
            Delete,
            "/v1/mailboxes/{address}/contacts/{crm_id}",
            "contact.delete",
            records::delete_contact::<S, K, O>,
        )
        .add(
            Put,
            "/v1/mailboxes/{address}/events/{crm_id}",
            "event.put",
            records::put_event::<S, K, O>,
        )
        .add(
            Delete,
            "/v1/mailboxes/{address}/events/{crm_id}",
            "event.delete",
            records::delete_event::<S, K, O>,
        )
        .add(
            Get,
            "/v1/mailboxes/{address}/changes",
            "feed.read",
            records::changes::<S, K, O>,
        )
        .add(
            Get,
            "/v1/mailboxes/{address}/calendar",
            "calendar.view",
            mailboxes::calendar::<S, K, O>,
        )
        .add(
            Post,
            "/v1/mailboxes/{address}/sync",
            "mailbox.sync",
            mailboxes::sync_now::<S, K, O>,
        )
        .add(
            Post,
            "/v1/mailboxes/{address}/acknowledge-deletes",
            "mailbox.acknowledge_deletes",
            mailboxes::acknowledge_deletes::<S, K, O>,
        )
        .add(
            Post,
            "/v1/mailboxes/{address}/send",
            "mail.send",
            send::send::<S, K, O>,
        )
        .add(
            Get,
            "/v1/mailboxes/{address}/audit",
            "audit.list",
            mailboxes::audit_trail::<S, K, O>,
        )
}

/// The API's router, ready to serve (`axum::serve`, or `lambda_http::run`).
pub fn router<S, K, O>(app: Arc<App<S, K, O>>) -> Router
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    build::<S, K, O>()
        .router
        .fallback(|| async { ApiError::NoSuchRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(app)
}

/// Every route [`router`] serves, in the order they were added.
pub fn served_routes<S, K, O>() -> Vec<RouteSpec>
where
    S: StateStore + 'static,
    K: SecretStore + 'static,
    O: Operations + 'static,
{
    build::<S, K, O>().served
}

/// `GET /openapi.json`.
async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::OPENAPI_JSON,
    )
}
