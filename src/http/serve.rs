//! Serving the HTTP port, which faces the Internet (vendor webhooks), with
//! bounds a slow or abusive client cannot stretch (`server.http.*`):
//!
//! - HTTP/1.1 only: what vendors, probes and Prometheus speak. (h2c would
//!   add a protocol whose preface has no read deadline in hyper.)
//! - headers must have arrived `header_timeout_ms` after the connection
//!   opened or after the previous answer (hyper's header read timeout,
//!   which also starts while a keep-alive connection waits for its next
//!   request): a partial header (slowloris) or an idle keep-alive
//!   connection is closed then;
//! - a webhook's body must have arrived whole `body_timeout_ms` after its
//!   headers (see `webhooks::read_body_in_time`): 408 beyond;
//! - headers are read into at most `MAX_HEADER_BUFFER` bytes (431 beyond),
//!   so an open connection costs little memory;
//! - at most `max_connections` connections at once, and at most
//!   `max_connections_per_client` from one address, so that one client
//!   cannot take every place from probes and other senders; one more is
//!   closed on arrival (counted in
//!   `switchboard_http_connections_refused_total{limit}`).
//!
//! axum's `serve` offers none of these settings (it runs hyper without a
//! timer, so hyper's header timeout is off: a partial header stayed open
//! for ever), hence this accept loop over hyper's own connection builder,
//! as axum's "serve with hyper" example does.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, extract::Request};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::{debug, warn};

/// Bytes of request line and headers hyper buffers per connection (its
/// minimum is 8 KiB; its default, ~400 KiB, would let a thousand slow
/// connections hold 400 MB).
const MAX_HEADER_BUFFER: usize = 16 * 1024;

/// The HTTP port's connection limits (validated settings).
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub header_timeout: Duration,
    pub max_connections: usize,
    /// 0: no per-client limit.
    pub max_connections_per_client: usize,
}

impl HttpLimits {
    pub fn from_settings(settings: &crate::config::HttpSettings) -> Self {
        Self {
            header_timeout: Duration::from_millis(settings.header_timeout_ms),
            max_connections: settings.max_connections,
            max_connections_per_client: settings.max_connections_per_client,
        }
    }
}

/// Connections open per client address.
#[derive(Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

impl PerClient {
    fn take(self: &Arc<Self>, client: IpAddr, limit: usize) -> Option<ClientPlace> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(client).or_default();
        if limit > 0 && *count >= limit {
            return None;
        }
        *count += 1;
        Some(ClientPlace {
            clients: self.clone(),
            client,
        })
    }
}

/// One connection's place among its client's; given back when dropped.
struct ClientPlace {
    clients: Arc<PerClient>,
    client: IpAddr,
}

impl Drop for ClientPlace {
    fn drop(&mut self) {
        let mut open = self.clients.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// Serves `router` on `listener` until `stop`, then stops accepting and
/// waits for open connections to finish their requests (idle ones are
/// closed at once).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    stop: CancellationToken,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEADER_BUFFER);
    let places = Arc::new(Semaphore::new(limits.max_connections));
    let clients = Arc::new(PerClient::default());
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, mostly: wait a little rather
                // than spin.
                warn!(error = %error, "http: cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(place) = places.clone().try_acquire_owned() else {
            refused("server.http.max_connections");
            continue;
        };
        let Some(client_place) = clients.take(peer.ip(), limits.max_connections_per_client) else {
            refused("server.http.max_connections_per_client");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(
            router
                .clone()
                .map_request(|request: Request<Incoming>| request.map(axum::body::Body::new)),
        );
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            metrics::gauge!("switchboard_http_connections_open").increment(1.0);
            if let Err(error) = connection.await {
                // Timeouts and clients going away end up here: routine.
                debug!(error = %error, "http connection ended with an error");
            }
            metrics::gauge!("switchboard_http_connections_open").decrement(1.0);
            drop((place, client_place));
        });
    }
    // Stop accepting at once (the port closes), then drain.
    drop(listener);
    graceful.shutdown().await;
}

fn refused(limit: &'static str) {
    metrics::counter!("switchboard_http_connections_refused_total", "limit" => limit).increment(1);
    debug!(limit, "http connection refused: limit reached");
}
