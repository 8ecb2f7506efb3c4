//! A stand-in for the Lambda Runtime API on a loopback port: it hands the function one
//! event, records the answer, and then keeps the function waiting for the next event, as
//! Lambda does between invocations.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::oneshot;

/// How the one invocation ended.
#[derive(Debug)]
pub enum Answer {
    /// The handler's response body.
    Response(String),
    /// The handler (or the function's start) reported an error.
    Error(String),
}

struct Shared {
    event: Mutex<Option<Vec<u8>>>,
    answer: Mutex<Option<oneshot::Sender<Answer>>>,
    deadline: Duration,
}

/// A runtime API serving one event.
pub struct RuntimeApi {
    /// Where the function reaches it (`AWS_LAMBDA_RUNTIME_API`).
    pub addr: SocketAddr,
    answer: oneshot::Receiver<Answer>,
    server: tokio::task::JoinHandle<()>,
}

const REQUEST_ID: &str = "0b5e4c1a-7d2f-4e8a-9c3b-6f1d2e3a4b5c";

impl RuntimeApi {
    /// Starts serving `event`; the invocation's deadline is `deadline` after it is handed out.
    pub async fn start(event: &serde_json::Value, deadline: Duration) -> std::io::Result<Self> {
        let (tell, answer) = oneshot::channel();
        let shared = Arc::new(Shared {
            event: Mutex::new(Some(event.to_string().into_bytes())),
            answer: Mutex::new(Some(tell)),
            deadline,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(error))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(RuntimeApi {
            addr,
            answer,
            server,
        })
    }

    /// Waits for the function's answer, at most `limit`.
    pub async fn answer(&mut self, limit: Duration) -> Option<Answer> {
        tokio::time::timeout(limit, &mut self.answer)
            .await
            .ok()?
            .ok()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let event = shared
        .event
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let Some(event) = event else {
        // The next event never comes: the function idles as it would between invocations.
        std::future::pending::<()>().await;
        return (StatusCode::NO_CONTENT, HeaderMap::new(), Vec::new());
    };
    let deadline = SystemTime::now() + shared.deadline;
    let millis = deadline
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_static(REQUEST_ID),
    );
    if let Ok(value) = HeaderValue::from_str(&millis.to_string()) {
        headers.insert("lambda-runtime-deadline-ms", value);
    }
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:mailbridge-bench"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0"),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, event)
}

/// Passes the first answer on; the body is what the function posted.
fn settle(shared: &Shared, answer: fn(String) -> Answer, body: &Bytes) -> StatusCode {
    if let Some(tell) = shared
        .answer
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        let _ = tell.send(answer(String::from_utf8_lossy(body).into_owned()));
    }
    StatusCode::ACCEPTED
}

async fn response(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    settle(&shared, Answer::Response, &body)
}

async fn error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    settle(&shared, Answer::Error, &body)
}
