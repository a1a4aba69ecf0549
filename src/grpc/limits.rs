//! Server limits on the gRPC port, answered with a clear
//! `RESOURCE_EXHAUSTED` (ErrorInfo reason, the setting's key, RetryInfo)
//! instead of a queue that grows without bound:
//!
//! - **requests** (`server.max_concurrent_requests`): at most that many RPCs
//!   are being handled at once; one more waits for a place at most
//!   `server.max_queue_wait_ms` (and never past its own deadline), then is
//!   refused with reason `OVERLOADED`. A stream holds its place only until
//!   its handler has answered with the stream (its first headers), not for
//!   the stream's whole life: open streams have their own limit.
//! - **streams** (`streams.max_open` in total, `streams.max_open_per_connection`
//!   on one connection): every RPC whose answers keep coming counts while it
//!   is open — StreamCallUpdates, WatchAgentAvailability, ExportCalls (and
//!   server reflection's stream) — until its last message is sent or the
//!   client goes away. One more is refused at once with reason
//!   `TOO_MANY_STREAMS`. Counting at the transport rather than in each
//!   handler covers every stream the same way, a future one included (the
//!   table of stream RPCs is read from the descriptors). The per-connection
//!   limit stays below HTTP/2's `server.max_concurrent_streams`, so a
//!   connection full of streams can still carry unary calls.
//!
//! The health service is exempt from both: a probe must be answered
//! however busy the server is (its `Watch` streams are bounded per
//! connection by `server.max_concurrent_streams`). Unauthenticated requests
//! are refused before they reach these limits (the layer sits inside the
//! token check), so they cannot use up places.
//!
//! tower's `ConcurrencyLimit` waits for a place for ever, and its
//! `LoadShed` refuses at once; neither waits a bounded time, hence this
//! layer.

use std::{
    collections::HashMap,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use futures::future::BoxFuture;
use http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::Semaphore;
use tonic::{
    Status,
    body::Body,
    transport::server::{TcpConnectInfo, TlsConnectInfo},
};
use tower::{Layer, Service};

use crate::{error::Error, grpc::methods::Methods};

/// What a client is told to wait before retrying a refused request.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The configured limits (validated settings: all greater than zero).
#[derive(Debug, Clone, Copy)]
pub struct LimitSettings {
    pub max_concurrent_requests: usize,
    pub max_queue_wait: Duration,
    pub max_open_streams: usize,
    pub max_open_streams_per_connection: usize,
}

struct Shared {
    settings: LimitSettings,
    requests: Arc<Semaphore>,
    streams: Mutex<StreamCounts>,
}

#[derive(Default)]
struct StreamCounts {
    total: usize,
    /// Open streams by connection (the peer's address names a connection
    /// while it is open); connections with none are removed.
    by_connection: HashMap<SocketAddr, usize>,
}

impl Shared {
    fn open_stream(
        self: &Arc<Self>,
        connection: Option<SocketAddr>,
    ) -> Result<StreamPermit, Error> {
        let settings = &self.settings;
        let mut counts = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        if counts.total >= settings.max_open_streams {
            return Err(too_many_streams(
                "streams.max_open",
                format!(
                    "too many open streams: {} are open on this server (streams.max_open); retry later or on another replica",
                    counts.total
                ),
            ));
        }
        if let Some(connection) = connection {
            let on_connection = counts.by_connection.entry(connection).or_default();
            if *on_connection >= settings.max_open_streams_per_connection {
                let open = *on_connection;
                return Err(too_many_streams(
                    "streams.max_open_per_connection",
                    format!(
                        "too many open streams on this connection: {open} are open (streams.max_open_per_connection); close one or open another connection"
                    ),
                ));
            }
            *on_connection += 1;
        }
        counts.total += 1;
        metrics::gauge!("switchboard_grpc_streams_open").set(counts.total as f64);
        Ok(StreamPermit {
            shared: self.clone(),
            connection,
        })
    }
}

fn too_many_streams(key: &'static str, message: String) -> Error {
    metrics::counter!("switchboard_grpc_rejected_total", "limit" => key).increment(1);
    Error::Overloaded {
        reason: "TOO_MANY_STREAMS",
        key,
        message,
        retry_after: RETRY_AFTER,
    }
}

/// One open stream's place; given back when dropped (with the answer body).
struct StreamPermit {
    shared: Arc<Shared>,
    connection: Option<SocketAddr>,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut counts = self
            .shared
            .streams
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(connection) = self.connection
            && let Some(open) = counts.by_connection.get_mut(&connection)
        {
            *open = open.saturating_sub(1);
            if *open == 0 {
                counts.by_connection.remove(&connection);
            }
        }
        metrics::gauge!("switchboard_grpc_streams_open").set(counts.total as f64);
    }
}

/// The limits, shared by every connection of one server.
#[derive(Clone)]
pub struct LimitsLayer {
    shared: Arc<Shared>,
}

impl LimitsLayer {
    pub fn new(settings: LimitSettings) -> Self {
        Self {
            shared: Arc::new(Shared {
                requests: Arc::new(Semaphore::new(settings.max_concurrent_requests)),
                settings,
                streams: Mutex::new(StreamCounts::default()),
            }),
        }
    }
}

impl<S> Layer<S> for LimitsLayer {
    type Service = Limits<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Limits {
            inner,
            shared: self.shared.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Limits<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// The peer address naming the request's connection, plain or TLS.
fn connection_of<B>(request: &Request<B>) -> Option<SocketAddr> {
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|info| info.get_ref().remote_addr())
        })
}

impl<S, ReqBody> Service<Request<ReqBody>> for Limits<S>
where
    S: Service<Request<ReqBody>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The clone is the one to drive later; the one polled ready is used now.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let method = Methods::get().lookup(request.uri().path());
        if method.is_health() {
            return Box::pin(inner.call(request));
        }
        let shared = self.shared.clone();
        let connection = connection_of(&request);
        Box::pin(async move {
            let stream = if method.kind.streams_answers() {
                match shared.open_stream(connection) {
                    Ok(permit) => Some(permit),
                    Err(error) => return Ok(Status::from(error).into_http()),
                }
            } else {
                None
            };
            let settings = shared.settings;
            let place = tokio::time::timeout(
                settings.max_queue_wait,
                shared.requests.clone().acquire_owned(),
            )
            .await;
            let Ok(Ok(_place)) = place else {
                metrics::counter!("switchboard_grpc_rejected_total", "limit" => "server.max_concurrent_requests").increment(1);
                let error = Error::Overloaded {
                    reason: "OVERLOADED",
                    key: "server.max_concurrent_requests",
                    message: format!(
                        "the server is handling {} requests (server.max_concurrent_requests) and none finished within {} ms (server.max_queue_wait_ms); retry later or on another replica",
                        settings.max_concurrent_requests,
                        settings.max_queue_wait.as_millis()
                    ),
                    retry_after: RETRY_AFTER,
                };
                return Ok(Status::from(error).into_http());
            };
            let response = inner.call(request).await?;
            Ok(match stream {
                Some(permit) => response.map(|body| {
                    Body::new(HoldsPlace {
                        body,
                        _permit: permit,
                    })
                }),
                None => response,
            })
        })
    }
}

/// A stream's answer body, holding the stream's place until it ends or is
/// dropped (the client went away).
struct HoldsPlace {
    body: Body,
    _permit: StreamPermit,
}

impl HttpBody for HoldsPlace {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
