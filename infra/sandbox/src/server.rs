//! The accept loop: each connection is served by hyper in its own task, with a handle in
//! every request's extensions that lets a handler reset the connection (the `reset`
//! fault), which axum's own `serve` cannot do.

use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// Resets the connection the request came in on.
#[derive(Clone)]
pub(crate) struct ConnectionReset(Arc<Notify>);

impl ConnectionReset {
    /// The connection is closed with a TCP RST as soon as its task runs again; the
    /// response of the current request is never sent.
    pub(crate) fn reset(&self) {
        self.0.notify_one();
    }
}

/// Serves `router` until the future is dropped, which also ends every open connection.
pub(crate) async fn serve(listener: TcpListener, router: Router) -> std::io::Result<()> {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Per-connection failures (aborted handshakes) or running out of file
                // descriptors: neither should end the server.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        connections.spawn(connection(stream, router.clone()));
    }
}

async fn connection(stream: TcpStream, router: Router) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY not set");
    }
    let notify = Arc::new(Notify::new());
    let handle = ConnectionReset(notify.clone());
    let router = TowerToHyperService::new(router);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(handle.clone());
        router.call(request)
    });
    let mut conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = &mut conn => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = notify.notified() => {
            let stream = conn.into_parts().io.into_inner();
            // Linger 0: closing sends RST instead of FIN, a real "connection reset".
            if let Err(e) = stream.set_zero_linger() {
                tracing::debug!(error = %e, "SO_LINGER not set");
            }
            drop(stream);
            tracing::info!("connection reset (fault injection)");
        }
    }
}
