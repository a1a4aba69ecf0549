//! The circuit breaker of one vendor (one base URL): after
//! `failure_threshold` consecutive failures it opens and requests fail at
//! once for `cool_down`; then one probe request is let through (half-open)
//! and its success closes it, its failure opens it again.
//!
//! Written by hand: the breaker crates on crates.io either wrap a whole
//! tower `Service` (our pipeline judges an answer only after its body is
//! read and classified) or count refusals as failures; this is a small state
//! machine over a mutex, with its state as a Prometheus gauge.

use std::{
    sync::{Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::time::Instant;
use tracing::{info, warn};

use crate::domain::Provider;

/// `vendors.<vendor>.breaker.*`, when enabled.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerPolicy {
    pub failure_threshold: u32,
    pub cool_down: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// The cool-down is over and one probe request is in flight.
    HalfOpen,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Closed { .. } => "closed",
            State::Open { .. } => "open",
            State::HalfOpen => "half_open",
        }
    }

    /// The value of `switchboard_vendor_circuit_state`.
    fn gauge(self) -> f64 {
        match self {
            State::Closed { .. } => 0.0,
            State::HalfOpen => 1.0,
            State::Open { .. } => 2.0,
        }
    }
}

pub struct Breaker {
    vendor: Provider,
    target: String,
    policy: BreakerPolicy,
    state: Mutex<State>,
}

/// Leave to send one request. Dropped without [`Admission::record`] (the
/// request was refused by pacing or the bulkhead, or its caller went away),
/// a probe hands its turn to the next request.
pub struct Admission<'a> {
    breaker: &'a Breaker,
    probe: bool,
    recorded: bool,
}

impl Breaker {
    pub fn new(vendor: Provider, target: &str, policy: BreakerPolicy) -> Self {
        let breaker = Self {
            vendor,
            target: target.to_owned(),
            policy,
            state: Mutex::new(State::Closed { failures: 0 }),
        };
        breaker.publish(State::Closed { failures: 0 });
        breaker
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a plain value: a panic elsewhere cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub fn state(&self) -> State {
        *self.lock()
    }

    fn publish(&self, state: State) {
        metrics::gauge!(
            "switchboard_vendor_circuit_state",
            "vendor" => self.vendor.as_str(),
            "target" => self.target.clone(),
        )
        .set(state.gauge());
    }

    fn change(&self, state: &mut State, next: State) {
        let before = *state;
        *state = next;
        if before.name() != next.name() {
            self.publish(next);
            let vendor = self.vendor.as_str();
            let target = self.target.as_str();
            match next {
                State::Open { .. } => warn!(
                    vendor,
                    target,
                    from = before.name(),
                    cool_down_ms = self.policy.cool_down.as_millis() as u64,
                    "vendor circuit opened: requests fail fast until a probe succeeds"
                ),
                State::HalfOpen => {
                    info!(
                        vendor,
                        target, "vendor circuit half-open: one probe request let through"
                    );
                }
                State::Closed { .. } => info!(
                    vendor,
                    target, "vendor circuit closed: vendor answers again"
                ),
            }
        }
    }

    /// Lets a request through, or says how long to wait before trying again.
    pub fn admit(&self) -> Result<Admission<'_>, Duration> {
        let now = Instant::now();
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Ok(Admission {
                breaker: self,
                probe: false,
                recorded: false,
            }),
            State::Open { until } if now < until => Err(until - now),
            State::Open { .. } => {
                self.change(&mut state, State::HalfOpen);
                Ok(Admission {
                    breaker: self,
                    probe: true,
                    recorded: false,
                })
            }
            // One probe at a time; the others wait for its verdict.
            State::HalfOpen => Err(self.policy.cool_down.min(Duration::from_secs(1))),
        }
    }

    fn record(&self, probe: bool, failed: bool) {
        let now = Instant::now();
        let mut state = self.lock();
        let next = match (*state, failed) {
            (State::Closed { failures }, true) => {
                let failures = failures.saturating_add(1);
                if failures >= self.policy.failure_threshold {
                    State::Open {
                        until: now + self.policy.cool_down,
                    }
                } else {
                    State::Closed { failures }
                }
            }
            (State::Closed { .. }, false) => State::Closed { failures: 0 },
            (State::HalfOpen, true) => State::Open {
                until: now + self.policy.cool_down,
            },
            (State::HalfOpen, false) if probe => State::Closed { failures: 0 },
            // A request sent before the circuit opened, answering late,
            // changes nothing: only the probe decides.
            (current @ (State::HalfOpen | State::Open { .. }), _) => current,
        };
        self.change(&mut state, next);
    }
}

impl Admission<'_> {
    /// The request's verdict: `failed` for timeouts, connection errors and
    /// 5xx; a refusal or any other answer shows the vendor is up.
    pub fn record(mut self, failed: bool) {
        self.recorded = true;
        self.breaker.record(self.probe, failed);
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        if self.probe && !self.recorded {
            let mut state = self.breaker.lock();
            if *state == State::HalfOpen {
                let next = State::Open {
                    until: Instant::now(),
                };
                self.breaker.change(&mut state, next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32) -> Breaker {
        Breaker::new(
            Provider::Optico,
            "127.0.0.1:9",
            BreakerPolicy {
                failure_threshold: threshold,
                cool_down: Duration::from_secs(10),
            },
        )
    }

    fn fail(b: &Breaker) {
        b.admit().unwrap().record(true);
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_then_probes_and_closes() {
        let b = breaker(3);
        fail(&b);
        fail(&b);
        // A success in between starts the count again.
        b.admit().unwrap().record(false);
        fail(&b);
        fail(&b);
        assert!(matches!(b.state(), State::Closed { failures: 2 }));
        fail(&b);
        assert!(matches!(b.state(), State::Open { .. }));
        let wait = b.admit().err().unwrap();
        assert_eq!(wait, Duration::from_secs(10));

        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(b.admit().err().unwrap(), Duration::from_secs(6));

        tokio::time::advance(Duration::from_secs(6)).await;
        let probe = b.admit().unwrap();
        assert_eq!(b.state(), State::HalfOpen);
        // Only one probe at a time.
        assert!(b.admit().is_err());
        probe.record(false);
        assert_eq!(b.state(), State::Closed { failures: 0 });
        assert!(b.admit().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_opens_it_again_and_an_abandoned_one_hands_over() {
        let b = breaker(1);
        fail(&b);
        tokio::time::advance(Duration::from_secs(10)).await;
        b.admit().unwrap().record(true);
        assert!(matches!(b.state(), State::Open { .. }));
        assert_eq!(b.admit().err().unwrap(), Duration::from_secs(10));

        tokio::time::advance(Duration::from_secs(10)).await;
        drop(b.admit().unwrap());
        // The next request may probe at once.
        let probe = b.admit().unwrap();
        probe.record(false);
        assert_eq!(b.state(), State::Closed { failures: 0 });
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_never_open_it() {
        let b = breaker(2);
        for _ in 0..10 {
            b.admit().unwrap().record(false);
        }
        assert_eq!(b.state(), State::Closed { failures: 0 });
    }
}
