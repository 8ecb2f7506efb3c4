//! The HTTP server: its own accept loop over hyper, so that a fault can drop a connection
//! without answering, and a body can stop half-way.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use axum::routing::post;
use bytes::Bytes;
use http_body::Frame;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::world::World;

/// Marks a response whose connection must be closed instead of answered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KillConnection;

/// The largest request body accepted; EWS requests with attachments stay well below.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

/// Every route: the token endpoint, EWS, and the control interface under `/_sim/`.
pub(crate) fn router(world: Arc<World>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(crate::idp::token))
        .route("/EWS/Exchange.asmx", post(crate::ews::endpoint))
        .route("/ews/exchange.asmx", post(crate::ews::endpoint))
        .merge(crate::control::routes())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(world)
}

/// A running server; dropping it stops the accept loop and closes every open connection,
/// as a server restart would (kept-alive connections included).
pub(crate) struct Running {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Serves `router` on `listener` until the returned handle is dropped.
pub(crate) fn spawn(listener: TcpListener, router: Router) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let mut stopping = stopped.clone();
    tokio::spawn(async move {
        loop {
            // Biased, so that once stopped no connection ready in the backlog is served.
            let accepted = tokio::select! {
                biased;
                _ = stopping.wait_for(|stop| *stop) => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else {
                // A refused accept (out of descriptors) is worth a pause, not a crash.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(serve_connection(stream, router.clone(), stopped.clone()));
        }
    });
    Ok(Running { addr, stop })
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    mut stopped: watch::Receiver<bool>,
) {
    let kill = Arc::new(Notify::new());
    let service = {
        let kill = kill.clone();
        hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let mut router = router.clone();
            let kill = kill.clone();
            async move {
                let response = tower_service::Service::call(&mut router, request.map(Body::new))
                    .await
                    .unwrap_or_else(|never: Infallible| match never {});
                if response.extensions().get::<KillConnection>().is_some() {
                    kill.notify_one();
                    std::future::pending::<()>().await;
                }
                Ok::<_, Infallible>(response)
            }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    // Biased with the stop first: a request arriving on a kept-alive connection after the
    // server stopped must find it closed, as after a restart, not be answered.
    tokio::select! {
        biased;
        _ = stopped.wait_for(|stop| *stop) => {}
        () = kill.notified() => {}
        _ = connection => {}
    }
}

/// A response that sends the first half of `body` and then breaks the connection.
pub(crate) fn truncated(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Body> {
    let full = body.len();
    let half = Bytes::from(body).slice(..full / 2);
    let mut response = Response::new(Body::new(HalfBody {
        first: Some(half),
        pause: Some(Box::pin(tokio::time::sleep(Duration::from_millis(50)))),
    }));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = content_type.parse() {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CONTENT_LENGTH, full.into());
    response
}

struct HalfBody {
    first: Option<Bytes>,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for HalfBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        // Wait a moment so the half that was sent reaches the client before the break.
        if let Some(pause) = self.pause.as_mut() {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "fault injection: body truncated",
        ))))
    }
}
