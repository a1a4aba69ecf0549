//! The one request pipeline every vendor request goes through, in this
//! order: circuit breaker → pacing → bulkhead → per-request timeout → send
//! and read the answer (size-capped) → the adapter classifies it → the
//! breaker and the latency histogram are told how it ended → a failed read
//! may be retried.
//!
//! It is one small `send` function rather than a `tower::ServiceBuilder`
//! stack on purpose: every step needs to know what tower's stock layers do
//! not carry — the request's gRPC deadline (pacing waits up to it), whether
//! the request may act at the vendor (a dial is never retried, its timeout
//! leaves the outcome unknown), and the adapter's verdict on the answer
//! body (a 200 carrying iAdvize `"status": "error"` is a failure, a 4xx with
//! a vendor message is not). Written as layers, each would need a custom
//! `Layer` plus a request extension to pass these along; read top to
//! bottom, the function is shorter. What tower does well is still used:
//! its retry budget (`TpsBudget`) and jittered exponential backoff.

use std::{
    future::Future,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use reqwest::{Method, StatusCode};
use tokio::{
    sync::{Semaphore, SemaphorePermit},
    time::Instant,
};
use tower::retry::{
    backoff::{Backoff, ExponentialBackoffMaker, MakeBackoff},
    budget::{Budget, TpsBudget},
};
use tower::util::rng::HasherRng;
use tracing::{Instrument, debug};

use super::{
    VendorError, VendorErrorKind,
    breaker::{Admission, Breaker, BreakerPolicy},
};
use crate::domain::Provider;

/// Attempts of a read, the first included.
const MAX_READ_ATTEMPTS: u32 = 3;
/// First retry pause; doubled for the next, jitter added.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// Retries a vendor may get on top of its requests: 20 % of the requests of
/// the last 10 s, and at least 5 per second. Beyond, a failing vendor gets
/// no extra load from retries (a retry storm is what the budget prevents).
const BUDGET_WINDOW: Duration = Duration::from_secs(10);
const BUDGET_MIN_PER_SECOND: u32 = 5;
const BUDGET_RETRY_RATIO: f32 = 0.2;
/// How long a client is told to wait when this vendor's bulkhead is full.
const BULKHEAD_RETRY_AFTER: Duration = Duration::from_millis(500);

/// The pipeline settings of one vendor (`vendors.<vendor>.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineSettings {
    pub vendor: Provider,
    /// `host:port` of the vendor's base URL: a metrics label (never the
    /// URL itself, which may carry a key).
    pub target: String,
    pub timeout: Duration,
    pub max_in_flight: usize,
    pub max_requests_per_second: Option<f64>,
    pub max_answer_bytes: usize,
    pub breaker: Option<BreakerPolicy>,
}

impl PipelineSettings {
    /// Defaults for code that talks to a vendor outside the server (tests,
    /// tools): no pacing, no breaker.
    pub fn plain(vendor: Provider, timeout: Duration) -> Self {
        Self {
            vendor,
            target: String::new(),
            timeout,
            max_in_flight: 64,
            max_requests_per_second: None,
            max_answer_bytes: 4 * 1024 * 1024,
            breaker: None,
        }
    }
}

/// What a request may do at the vendor, which decides how its failures are
/// read and whether it is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A GET that changes nothing: retried on a transient failure.
    Read,
    /// Changes something, but a lost answer leaves nothing uncertain that
    /// matters (Optico callStart, iAdvize PUT/DELETE, a CCAI flag PATCH).
    /// Never retried: only reads are.
    Write,
    /// Rings a phone or creates something (dials, CCAI call creation,
    /// iAdvize POSTs): never retried, and a timeout or a dropped connection
    /// means the vendor may have acted.
    SideEffect,
}

/// A vendor's answer: its status and body (at most `max_answer_bytes`).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How a vendor request ended, as the latency histogram labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The vendor refused the request with a message (4xx, NOK, fail).
    Refused,
    Timeout,
    /// Connection failed or the vendor failed (5xx, iAdvize `error`).
    Unavailable,
    /// An answer that is not the documented one.
    BadResponse,
    /// Not sent: the vendor's circuit breaker is open.
    CircuitOpen,
    /// Not sent: pacing could not fit it before its deadline, or the
    /// vendor's bulkhead was full.
    RateLimited,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Timeout => "timeout",
            Outcome::Unavailable => "unavailable",
            Outcome::BadResponse => "bad_response",
            Outcome::CircuitOpen => "circuit_open",
            Outcome::RateLimited => "rate_limited",
        }
    }

    /// The one outcome mapping: every error kind has its label.
    pub fn of<T>(result: &Result<T, VendorError>, timed_out: bool) -> Self {
        let Err(error) = result else {
            return Outcome::Ok;
        };
        match error.kind {
            VendorErrorKind::InvalidArgument
            | VendorErrorKind::NotFound
            | VendorErrorKind::PermissionDenied
            | VendorErrorKind::Misconfigured
            | VendorErrorKind::Refused => Outcome::Refused,
            VendorErrorKind::Unavailable | VendorErrorKind::OutcomeUnknown if timed_out => {
                Outcome::Timeout
            }
            VendorErrorKind::Unavailable | VendorErrorKind::OutcomeUnknown => Outcome::Unavailable,
            VendorErrorKind::BadResponse => Outcome::BadResponse,
            VendorErrorKind::CircuitOpen => Outcome::CircuitOpen,
            VendorErrorKind::RateLimited => Outcome::RateLimited,
        }
    }

    /// Whether this counts against the vendor in its circuit breaker.
    fn is_failure(self) -> bool {
        match self {
            Outcome::Timeout | Outcome::Unavailable => true,
            Outcome::Ok | Outcome::Refused | Outcome::BadResponse => false,
            // Never sent: nothing to say about the vendor.
            Outcome::CircuitOpen | Outcome::RateLimited => false,
        }
    }
}

tokio::task_local! {
    /// The deadline of the gRPC request being served (see
    /// [`with_deadline`]): pacing waits no longer, and the timeout of a
    /// vendor request is cut to it.
    static DEADLINE: Instant;
}

/// Runs `future` (a gRPC request) with `deadline` known to every vendor
/// request it makes.
pub async fn with_deadline<F: Future>(deadline: Instant, future: F) -> F::Output {
    DEADLINE.scope(deadline, future).await
}

fn current_deadline() -> Option<Instant> {
    DEADLINE.try_with(|deadline| *deadline).ok()
}

/// Spaces requests `1 / rate` apart: each request reserves the next free
/// slot and sleeps until it. By hand rather than with a rate-limit crate
/// because the reservation must be refused up front when its slot falls
/// after the request's deadline (RESOURCE_EXHAUSTED at once, with the wait
/// as RetryInfo), which a "wait until ready" limiter does not tell.
struct Pacer {
    interval: Duration,
    next_free: Mutex<Instant>,
}

impl Pacer {
    fn new(rate: f64) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / rate),
            next_free: Mutex::new(Instant::now()),
        }
    }

    /// The time this request may be sent, or how long after `deadline`
    /// the first free slot is.
    fn reserve(&self, deadline: Instant) -> Result<Instant, Duration> {
        let now = Instant::now();
        let mut next_free = self
            .next_free
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = (*next_free).max(now);
        if slot > deadline {
            return Err(slot - now);
        }
        *next_free = slot + self.interval;
        Ok(slot)
    }
}

struct Inner {
    client: reqwest::Client,
    settings: PipelineSettings,
    bulkhead: Semaphore,
    pacer: Option<Pacer>,
    breaker: Option<Breaker>,
    budget: TpsBudget,
    backoff: Option<ExponentialBackoffMaker>,
}

/// One vendor's handle on the shared HTTP client, with its breaker,
/// bulkhead, pacing and retry budget. Clones share all of them.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

impl Pipeline {
    pub fn new(client: &reqwest::Client, settings: PipelineSettings) -> Self {
        let backoff =
            ExponentialBackoffMaker::new(BACKOFF_MIN, BACKOFF_MAX, 1.0, HasherRng::default()).ok();
        Self {
            inner: Arc::new(Inner {
                client: client.clone(),
                bulkhead: Semaphore::new(settings.max_in_flight),
                pacer: settings.max_requests_per_second.map(Pacer::new),
                breaker: settings
                    .breaker
                    .clone()
                    .map(|policy| Breaker::new(settings.vendor, &settings.target, policy)),
                budget: TpsBudget::new(BUDGET_WINDOW, BUDGET_MIN_PER_SECOND, BUDGET_RETRY_RATIO),
                backoff,
                settings,
            }),
        }
    }

    pub fn vendor(&self) -> Provider {
        self.inner.settings.vendor
    }

    /// A request to build; send it with [`Pipeline::send`]. No timeout is
    /// set here: the pipeline applies it.
    pub fn request(&self, method: Method, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.inner.client.request(method, url)
    }

    pub fn get(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.request(Method::GET, url)
    }

    pub fn post(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.request(Method::POST, url)
    }

    /// Sends `request` through the pipeline and reads its answer with
    /// `read`, the adapter's classification. `endpoint` labels the metric:
    /// it must hold no id and no secret.
    pub async fn send<T>(
        &self,
        endpoint: &str,
        effect: Effect,
        request: reqwest::RequestBuilder,
        read: impl Fn(Answer) -> Result<T, VendorError>,
    ) -> Result<T, VendorError> {
        let inner = &self.inner;
        let vendor = inner.settings.vendor;
        let request = request
            .build()
            .map_err(|e| VendorError::from_transport(vendor, &e, false))?;
        let retried = effect == Effect::Read && request.method() == Method::GET;
        // Outside a gRPC request (pollers, export tasks) a request may wait
        // for pacing about as long as it may take.
        let deadline =
            current_deadline().unwrap_or_else(|| Instant::now() + inner.settings.timeout * 2);
        inner.budget.deposit();
        let mut backoff = inner.backoff.clone().map(|mut maker| maker.make_backoff());
        let mut next = Some(request);
        let mut attempt = 1;
        loop {
            let Some(request) = next.take() else {
                // try_clone failed on the previous attempt (a streaming
                // body): nothing left to send.
                return Err(VendorError::unavailable(
                    vendor,
                    format!("{vendor} request could not be repeated"),
                ));
            };
            if retried {
                next = request.try_clone();
            }
            let result = self
                .attempt(endpoint, effect, request, attempt, deadline, &read)
                .await;
            let retry = match &result {
                Err(error) => {
                    retried
                        && error.kind == VendorErrorKind::Unavailable
                        && attempt < MAX_READ_ATTEMPTS
                        && next.is_some()
                }
                Ok(_) => false,
            };
            if !retry {
                return result;
            }
            if !inner.budget.withdraw() {
                debug!(
                    vendor = vendor.as_str(),
                    endpoint, "vendor retry budget spent; not retrying"
                );
                return result;
            }
            let pause = match backoff.as_mut() {
                Some(backoff) => backoff.next_backoff(),
                None => tokio::time::sleep(BACKOFF_MIN),
            };
            if pause.deadline() >= deadline {
                return result;
            }
            debug!(
                vendor = vendor.as_str(),
                endpoint, attempt, "vendor read failed; retrying"
            );
            pause.await;
            attempt += 1;
        }
    }

    /// One vendor request, recorded in the histogram once, in a span of
    /// its own (see [`request_span`]) whose trace context the vendor is
    /// sent.
    async fn attempt<T>(
        &self,
        endpoint: &str,
        effect: Effect,
        mut request: reqwest::Request,
        attempt: u32,
        deadline: Instant,
        read: &impl Fn(Answer) -> Result<T, VendorError>,
    ) -> Result<T, VendorError> {
        let inner = &self.inner;
        let settings = &inner.settings;
        let vendor = settings.vendor;
        let span = request_span(vendor, endpoint, &request, attempt);
        crate::traces::inject(&span, request.headers_mut());
        let started = Instant::now();
        let mut timed_out = false;
        let result = async {
            let (admission, _permit) = self.admit(deadline).await?;
            let time_left = deadline.saturating_duration_since(Instant::now());
            let side_effect = effect == Effect::SideEffect;
            let exchanged = tokio::time::timeout(
                settings.timeout.min(time_left),
                exchange(&inner.client, request, settings.max_answer_bytes),
            )
            .await;
            let result = match exchanged {
                Err(_) => {
                    timed_out = true;
                    Err(VendorError::timed_out(vendor, side_effect))
                }
                Ok(Err(error)) => {
                    timed_out = error.is_timeout();
                    Err(VendorError::from_transport(vendor, &error, side_effect))
                }
                Ok(Ok(Exchanged::TooLarge)) => Err(VendorError::bad_response(
                    vendor,
                    format!(
                        "an answer larger than {} bytes (vendors.{vendor}.max_answer_bytes)",
                        settings.max_answer_bytes
                    ),
                )),
                Ok(Ok(Exchanged::Answer(answer))) => {
                    span.record("http.response.status_code", answer.status.as_u16());
                    read(answer)
                }
            };
            if let Some(admission) = admission {
                admission.record(Outcome::of(&result, timed_out).is_failure());
            }
            result
        }
        .instrument(span.clone())
        .await;
        let outcome = Outcome::of(&result, timed_out);
        if outcome != Outcome::Ok {
            span.record("error.type", outcome.as_str());
            span.record("otel.status_code", "ERROR");
        }
        metrics::histogram!(
            "switchboard_vendor_request_seconds",
            "vendor" => vendor.as_str(),
            "target" => settings.target.clone(),
            "endpoint" => endpoint.to_owned(),
            "outcome" => outcome.as_str(),
        )
        .record(started.elapsed().as_secs_f64());
        result
    }
}

/// A vendor answer whose body is read as it arrives rather than whole (a
/// call recording may be of any size): see [`Pipeline::download`]. It holds
/// one of the vendor's bulkhead slots until dropped, so downloads count
/// against `vendors.<vendor>.max_in_flight` like any request.
pub struct Download {
    response: reqwest::Response,
    vendor: Provider,
    idle: Duration,
    _slot: BulkheadSlot,
}

impl Download {
    /// The next bytes of the body as they arrive; `None` at its end. More
    /// than `idle` (the vendor's `timeout_ms`) without a byte is a failure:
    /// the download as a whole may take as long as it needs, but a vendor
    /// that stops sending does not hold the stream open for ever.
    pub async fn chunk(&mut self) -> Result<Option<prost::bytes::Bytes>, VendorError> {
        let vendor = self.vendor;
        match tokio::time::timeout(self.idle, self.response.chunk()).await {
            Err(_) => Err(VendorError::unavailable(
                vendor,
                format!(
                    "{vendor} sent nothing for {} ms in the middle of a download (vendors.{vendor}.timeout_ms)",
                    self.idle.as_millis()
                ),
            )),
            Ok(Err(error)) => Err(VendorError::from_transport(vendor, &error, false)),
            Ok(Ok(chunk)) => Ok(chunk),
        }
    }
}

/// A bulkhead permit taken out of its semaphore for as long as a download
/// lasts (a borrowed permit could not outlive the request future).
struct BulkheadSlot {
    inner: Arc<Inner>,
}

impl Drop for BulkheadSlot {
    fn drop(&mut self) {
        self.inner.bulkhead.add_permits(1);
    }
}

impl Pipeline {
    /// The gates every request passes before it is sent, in order: the
    /// breaker (fails at once while open), pacing (waits for a slot that
    /// comes before `deadline`, refused otherwise), the bulkhead. The
    /// bulkhead refuses at once when full rather than queueing: a waiting
    /// request would keep holding one of the server's request slots, which
    /// is how a hanging vendor starved the others.
    async fn admit(
        &self,
        deadline: Instant,
    ) -> Result<(Option<Admission<'_>>, SemaphorePermit<'_>), VendorError> {
        let inner = &self.inner;
        let settings = &inner.settings;
        let vendor = settings.vendor;
        let admission = match &inner.breaker {
            Some(breaker) => Some(
                breaker
                    .admit()
                    .map_err(|wait| VendorError::circuit_open(vendor, wait))?,
            ),
            None => None,
        };
        if let Some(pacer) = &inner.pacer {
            let slot = pacer.reserve(deadline).map_err(|wait| {
                VendorError::rate_limited(
                    vendor,
                    format!(
                        "{vendor} is paced at {} requests per second (vendors.{vendor}.max_requests_per_second) and this request could not be sent before its deadline",
                        settings.max_requests_per_second.unwrap_or_default()
                    ),
                    wait,
                )
            })?;
            tokio::time::sleep_until(slot).await;
        }
        let permit = inner.bulkhead.try_acquire().map_err(|_| {
            VendorError::rate_limited(
                vendor,
                format!(
                    "{vendor} already has {} requests in flight (vendors.{vendor}.max_in_flight); retry shortly",
                    settings.max_in_flight
                ),
                BULKHEAD_RETRY_AFTER,
            )
        })?;
        Ok((admission, permit))
    }
}

impl Pipeline {
    /// Sends a read whose answer body is streamed (see [`Download`]): the
    /// breaker, pacing and bulkhead apply as in [`Pipeline::send`], and the
    /// per-request timeout (`timeout_ms`, cut to the gRPC deadline) bounds
    /// the wait for the answer's status and headers only; after that, each
    /// chunk must come within `timeout_ms` of the previous one, however long
    /// the whole takes. `head` classifies the status and headers; the body
    /// of a refused answer is not read. Never retried (a retry could not
    /// resume a stream already passed on), and the histogram times the wait
    /// for the headers.
    pub async fn download<T>(
        &self,
        endpoint: &str,
        request: reqwest::RequestBuilder,
        head: impl Fn(StatusCode, &reqwest::header::HeaderMap) -> Result<T, VendorError>,
    ) -> Result<(T, Download), VendorError> {
        let inner = &self.inner;
        let settings = &inner.settings;
        let vendor = settings.vendor;
        let mut request = request
            .build()
            .map_err(|e| VendorError::from_transport(vendor, &e, false))?;
        let deadline = current_deadline().unwrap_or_else(|| Instant::now() + settings.timeout * 2);
        let span = request_span(vendor, endpoint, &request, 1);
        crate::traces::inject(&span, request.headers_mut());
        let started = Instant::now();
        let mut timed_out = false;
        let result = async {
            let (admission, permit) = self.admit(deadline).await?;
            // From here the slot is returned by `BulkheadSlot`'s drop, when
            // the download ends or is abandoned.
            permit.forget();
            let slot = BulkheadSlot {
                inner: inner.clone(),
            };
            let time_left = deadline.saturating_duration_since(Instant::now());
            let sent = tokio::time::timeout(
                settings.timeout.min(time_left),
                inner.client.execute(request),
            )
            .await;
            let result = match sent {
                Err(_) => {
                    timed_out = true;
                    Err(VendorError::timed_out(vendor, false))
                }
                Ok(Err(error)) => {
                    timed_out = error.is_timeout();
                    Err(VendorError::from_transport(vendor, &error, false))
                }
                Ok(Ok(response)) => {
                    span.record("http.response.status_code", response.status().as_u16());
                    head(response.status(), response.headers()).map(|value| {
                        (
                            value,
                            Download {
                                response,
                                vendor,
                                idle: settings.timeout,
                                _slot: slot,
                            },
                        )
                    })
                }
            };
            if let Some(admission) = admission {
                admission.record(Outcome::of(&result, timed_out).is_failure());
            }
            result
        }
        .instrument(span.clone())
        .await;
        let outcome = Outcome::of(&result, timed_out);
        if outcome != Outcome::Ok {
            span.record("error.type", outcome.as_str());
            span.record("otel.status_code", "ERROR");
        }
        metrics::histogram!(
            "switchboard_vendor_request_seconds",
            "vendor" => vendor.as_str(),
            "target" => settings.target.clone(),
            "endpoint" => endpoint.to_owned(),
            "outcome" => outcome.as_str(),
        )
        .record(started.elapsed().as_secs_f64());
        result
    }
}

/// The span of one vendor request, after the OpenTelemetry HTTP client
/// conventions: method, vendor host and port, status; `endpoint` is the
/// metric's label (no id, no secret). Never the URL: it may carry a key.
fn request_span(
    vendor: Provider,
    endpoint: &str,
    request: &reqwest::Request,
    attempt: u32,
) -> tracing::Span {
    let url = request.url();
    let span = tracing::info_span!(
        "vendor request",
        otel.name = %format_args!("{} {vendor} {endpoint}", request.method()),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        vendor = vendor.as_str(),
        endpoint,
        http.request.method = request.method().as_str(),
        server.address = url.host_str().unwrap_or(""),
        server.port = url.port_or_known_default().unwrap_or(0),
        http.request.resend_count = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    if attempt > 1 {
        span.record("http.request.resend_count", attempt - 1);
    }
    span
}

enum Exchanged {
    Answer(Answer),
    TooLarge,
}

/// Sends the request and reads at most `max_bytes` of its answer.
async fn exchange(
    client: &reqwest::Client,
    request: reqwest::Request,
    max_bytes: usize,
) -> Result<Exchanged, reqwest::Error> {
    let mut response = client.execute(request).await?;
    let status = response.status();
    if response
        .content_length()
        .is_some_and(|length| length > max_bytes as u64)
    {
        return Ok(Exchanged::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > max_bytes {
            return Ok(Exchanged::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Exchanged::Answer(Answer { status, body }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pacing_spaces_requests_and_refuses_what_misses_its_deadline() {
        let pacer = Pacer::new(10.0);
        let start = Instant::now();
        let deadline = start + Duration::from_millis(250);
        assert_eq!(pacer.reserve(deadline).unwrap(), start);
        assert_eq!(
            pacer.reserve(deadline).unwrap(),
            start + Duration::from_millis(100)
        );
        assert_eq!(
            pacer.reserve(deadline).unwrap(),
            start + Duration::from_millis(200)
        );
        // The next slot (300 ms) is past the deadline: refused, told when.
        assert_eq!(
            pacer.reserve(deadline).unwrap_err(),
            Duration::from_millis(300)
        );
        // A refusal takes no slot.
        tokio::time::advance(Duration::from_secs(1)).await;
        let now = Instant::now();
        assert_eq!(pacer.reserve(now + Duration::from_secs(1)).unwrap(), now);
    }

    #[test]
    fn every_error_kind_has_its_outcome() {
        use VendorErrorKind::*;
        let outcome = |kind, timed_out| {
            Outcome::of::<()>(&Err(VendorError::new(Provider::Ccai, kind, "x")), timed_out)
        };
        assert_eq!(Outcome::of::<()>(&Ok(()), false), Outcome::Ok);
        for (kind, expected) in [
            (InvalidArgument, Outcome::Refused),
            (NotFound, Outcome::Refused),
            (PermissionDenied, Outcome::Refused),
            (Misconfigured, Outcome::Refused),
            (Refused, Outcome::Refused),
            (Unavailable, Outcome::Unavailable),
            (OutcomeUnknown, Outcome::Unavailable),
            (BadResponse, Outcome::BadResponse),
            (CircuitOpen, Outcome::CircuitOpen),
            (RateLimited, Outcome::RateLimited),
        ] {
            assert_eq!(outcome(kind, false), expected, "{kind:?}");
        }
        assert_eq!(outcome(Unavailable, true), Outcome::Timeout);
        assert_eq!(outcome(OutcomeUnknown, true), Outcome::Timeout);
    }
}
