//! A loopback stand-in for the Microsoft identity platform's token endpoint, for tests.
//!
//! The tenant id in the request path picks the answer: `aadsts-<code>.example` refuses with
//! that AADSTS code and the status Microsoft uses for it; `throttled`, `unavailable`,
//! `bad-gateway`, `garbage`, `mac-token`, `echo` and `echo-body` (as the first label) give the
//! other failures; `flaky` and `revoked` succeed once, then answer 503 or 401; any other tenant
//! gets a token `tok-<tenant>-<n>`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener as StdListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::post};
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};

use crate::{Authority, TokenClient};

/// A running fake token endpoint on 127.0.0.1; stops when dropped.
pub(crate) struct FakeIdp {
    state: Arc<IdpState>,
    started: tokio::sync::Mutex<mpsc::UnboundedReceiver<String>>,
    authority: Authority,
    server: tokio::task::JoinHandle<()>,
}

struct IdpState {
    hits: Mutex<HashMap<String, usize>>,
    forms: Mutex<Vec<HashMap<String, String>>>,
    expires_in: AtomicU64,
    /// When set, each request reports itself on `started` and waits for a permit.
    gate: Option<Arc<Semaphore>>,
    started: mpsc::UnboundedSender<String>,
}

impl FakeIdp {
    /// A fake that answers at once.
    pub(crate) async fn start() -> Self {
        Self::launch(None).await
    }

    /// A fake that holds every request until [`FakeIdp::release`] lets it through.
    pub(crate) async fn start_held() -> Self {
        Self::launch(Some(Arc::new(Semaphore::new(0)))).await
    }

    async fn launch(gate: Option<Arc<Semaphore>>) -> Self {
        let (started_tx, started_rx) = mpsc::unbounded_channel();
        let state = Arc::new(IdpState {
            hits: Mutex::new(HashMap::new()),
            forms: Mutex::new(Vec::new()),
            expires_in: AtomicU64::new(3599),
            gate,
            started: started_tx,
        });
        let router = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token_endpoint))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });

        Self {
            state,
            started: tokio::sync::Mutex::new(started_rx),
            authority: Authority::new(&format!("http://{address}")).unwrap(),
            server,
        }
    }

    pub(crate) fn authority(&self) -> Authority {
        self.authority.clone()
    }

    /// A token client for this fake, with a fresh HTTP client.
    pub(crate) fn client(&self) -> TokenClient {
        TokenClient::new(reqwest::Client::new(), self.authority())
    }

    /// Makes later tokens live `seconds`.
    pub(crate) fn set_expires_in(&self, seconds: u64) {
        self.state.expires_in.store(seconds, Ordering::SeqCst);
    }

    /// Requests received for `tenant`.
    pub(crate) fn hits(&self, tenant: &str) -> usize {
        self.state
            .hits
            .lock()
            .unwrap()
            .get(tenant)
            .copied()
            .unwrap_or(0)
    }

    /// Requests received for all tenants.
    pub(crate) fn total_hits(&self) -> usize {
        self.state.hits.lock().unwrap().values().sum()
    }

    /// The form fields of every request, in order.
    pub(crate) fn forms(&self) -> Vec<HashMap<String, String>> {
        self.state.forms.lock().unwrap().clone()
    }

    /// Waits until a held request has arrived, and returns its tenant.
    pub(crate) async fn request_arrived(&self) -> String {
        self.started.lock().await.recv().await.unwrap()
    }

    /// Lets `n` held requests through.
    pub(crate) fn release(&self, n: usize) {
        if let Some(gate) = &self.state.gate {
            gate.add_permits(n);
        }
    }
}

impl Drop for FakeIdp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn token_endpoint(
    State(idp): State<Arc<IdpState>>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    *idp.hits.lock().unwrap().entry(tenant.clone()).or_default() += 1;
    let hit = idp.hits.lock().unwrap()[&tenant];
    idp.forms.lock().unwrap().push(form.clone());
    if let Some(gate) = &idp.gate {
        idp.started.send(tenant.clone()).unwrap();
        gate.acquire().await.unwrap().forget();
    }

    let label = tenant.split('.').next().unwrap_or_default();
    if let Some(response) = failure_for(label, hit, &tenant, &form) {
        return response;
    }
    Json(json!({
        "token_type": "Bearer",
        "expires_in": idp.expires_in.load(Ordering::SeqCst),
        "ext_expires_in": 3599,
        "access_token": format!("tok-{tenant}-{hit}"),
    }))
    .into_response()
}

/// The refusal a tenant label asks for, if any.
fn failure_for(
    label: &str,
    hit: usize,
    tenant: &str,
    form: &HashMap<String, String>,
) -> Option<Response> {
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    if let Some(code) = label.strip_prefix("aadsts-") {
        let code: u32 = code.parse().unwrap();
        let (status, error) = status_for(code);
        let text = description_for(code, tenant, &field("client_id"), &field("scope"));
        return Some(platform_error(status, error, Some(code), &text));
    }
    let response = match label {
        "flaky" if hit > 1 => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "temporarily_unavailable"})),
        )
            .into_response(),
        "revoked" if hit > 1 => {
            let text = description_for(7_000_222, tenant, &field("client_id"), "");
            platform_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                Some(7_000_222),
                &text,
            )
        }
        "echo" => platform_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            Some(7_000_215),
            &format!(
                "Invalid client secret provided: '{}'.",
                field("client_secret")
            ),
        ),
        "echo-body" => (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain")],
            format!(
                "bad request: grant_type=client_credentials&client_secret={}",
                {
                    url::form_urlencoded::byte_serialize(field("client_secret").as_bytes())
                        .collect::<String>()
                }
            ),
        )
            .into_response(),
        "unknown-code" => platform_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some(9_999_999),
            "Something this crate has never heard of.",
        ),
        "no-code" => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_request", "error_description": "No code given."})),
        )
            .into_response(),
        "throttled" => {
            let mut response = platform_error(
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                None,
                "Slow down.",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, "7".parse().unwrap());
            response
        }
        "unavailable" => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "30")],
            Json(json!({"error": "temporarily_unavailable", "correlation_id": "corr-503"})),
        )
            .into_response(),
        "bad-gateway" => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        "garbage" => (StatusCode::OK, "<html>Sign in to the Wi-Fi</html>").into_response(),
        "mac-token" => Json(json!({
            "token_type": "mac", "expires_in": 3599, "access_token": "tok-mac"
        }))
        .into_response(),
        _ if field("grant_type") != "client_credentials" || field("client_secret").is_empty() => {
            platform_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                Some(90014),
                "Missing field.",
            )
        }
        _ => return None,
    };
    Some(response)
}

fn status_for(code: u32) -> (StatusCode, &'static str) {
    match code {
        7_000_215 | 7_000_222 => (StatusCode::UNAUTHORIZED, "invalid_client"),
        700_016 | 7_000_112 => (StatusCode::BAD_REQUEST, "unauthorized_client"),
        65001 | 53003 => (StatusCode::BAD_REQUEST, "invalid_grant"),
        70011 | 1_002_012 => (StatusCode::BAD_REQUEST, "invalid_scope"),
        500_011 => (StatusCode::BAD_REQUEST, "invalid_resource"),
        _ => (StatusCode::BAD_REQUEST, "invalid_request"),
    }
}

fn description_for(code: u32, tenant: &str, client_id: &str, scope: &str) -> String {
    match code {
        90002 => format!("Tenant '{tenant}' not found."),
        900_023 => format!("Tenant identifier '{tenant}' is not a valid DNS name or GUID."),
        700_016 => format!("Application '{client_id}' was not found in directory '{tenant}'."),
        7_000_215 => format!("Invalid client secret provided for app '{client_id}'."),
        7_000_222 => format!("The client secret keys of app '{client_id}' are expired."),
        65001 => format!("No administrator has consented to application '{client_id}'."),
        70011 | 1_002_012 => format!("The value '{scope}' for scope is not valid."),
        7_000_112 => format!("Application '{client_id}' is disabled."),
        500_011 => format!("Resource principal https://outlook.office365.com not in {tenant}."),
        53003 => "Access has been blocked by Conditional Access policies.".to_owned(),
        90014 => "A required field is missing from the request.".to_owned(),
        _ => "Unusual failure.".to_owned(),
    }
}

/// The platform's error body, description lines and all.
fn platform_error(status: StatusCode, error: &str, code: Option<u32>, text: &str) -> Response {
    let correlation = format!("corr-{}", code.unwrap_or(0));
    let prefix = code.map(|c| format!("AADSTS{c}: ")).unwrap_or_default();
    let body = json!({
        "error": error,
        "error_description": format!(
            "{prefix}{text} Trace ID: trace-1 Correlation ID: {correlation} \
             Timestamp: 2025-01-01 00:00:00Z"
        ),
        "error_codes": code.into_iter().collect::<Vec<_>>(),
        "timestamp": "2025-01-01 00:00:00Z",
        "trace_id": "trace-1",
        "correlation_id": correlation,
        "error_uri": "https://login.microsoftonline.com/error",
    });
    (status, Json(body)).into_response()
}

/// An authority whose port has nothing listening.
pub(crate) fn refusing_authority() -> Authority {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    Authority::new(&format!("http://{address}")).unwrap()
}

/// An authority that reads one request, sends the start of a success, and hangs up.
pub(crate) fn hanging_up_authority() -> Authority {
    raw_server(|mut stream| {
        let partial = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                       content-length: 400\r\n\r\n{\"token_type\":\"Bearer\",";
        stream.write_all(partial.as_bytes()).unwrap();
        stream.flush().unwrap();
        stream.shutdown(Shutdown::Both).ok();
    })
}

/// An authority that reads one request and never answers, until the client gives up.
pub(crate) fn silent_authority() -> Authority {
    raw_server(|mut stream| {
        let mut sink = [0_u8; 1024];
        // Returns when the client closes the connection or after the read timeout.
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    })
}

fn raw_server(answer: impl FnOnce(std::net::TcpStream) + Send + 'static) -> Authority {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        read_request(&mut stream);
        answer(stream);
    });
    Authority::new(&format!("http://{address}")).unwrap()
}

/// Reads request headers and a `content-length` body.
fn read_request(stream: &mut std::net::TcpStream) {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut buffer) else {
            return;
        };
        if n == 0 {
            return;
        }
        received.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&received).to_ascii_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                return;
            }
        }
    }
}
