//! Vendor-neutral errors: every adapter turns its vendor's refusals and
//! transport failures into a `VendorError`, so services map kinds to gRPC
//! codes once (`crate::error`) without knowing any vendor's wire format.

use std::{fmt, time::Duration};

use crate::domain::Provider;

/// What went wrong with a vendor request, as far as the client is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VendorErrorKind {
    /// The vendor refused a value of the request ("is not well-formed",
    /// "required", "Invalid call type", "Not a valid agent email").
    InvalidArgument,
    /// The vendor does not know something the request names ("Contact not
    /// found", "menu_id N is not found", iAdvize "Unknown …").
    NotFound,
    /// The agent may not do this ("Agent does not have access to make calls").
    PermissionDenied,
    /// Our own configuration is wrong: bad API key, unknown subdomain.
    Misconfigured,
    /// The vendor refused for a business reason the caller cannot fix by
    /// changing the request ("Agent is not available…", menu "after hours").
    Refused,
    /// The vendor could not be reached or failed before taking the request:
    /// safe to retry.
    Unavailable,
    /// A side-effecting request timed out or lost its connection: the vendor
    /// may have acted. Never retried automatically.
    OutcomeUnknown,
    /// The vendor answered something that does not match its documentation.
    BadResponse,
    /// Not sent: the vendor kept failing and its circuit breaker is open.
    CircuitOpen,
    /// Not sent: the vendor's pacing could not fit the request before its
    /// deadline, or its bulkhead (`max_in_flight`) was full.
    RateLimited,
}

impl VendorErrorKind {
    /// Stable name, stored with replayed refusals.
    pub fn as_str(self) -> &'static str {
        match self {
            VendorErrorKind::InvalidArgument => "invalid_argument",
            VendorErrorKind::NotFound => "not_found",
            VendorErrorKind::PermissionDenied => "permission_denied",
            VendorErrorKind::Misconfigured => "misconfigured",
            VendorErrorKind::Refused => "refused",
            VendorErrorKind::Unavailable => "unavailable",
            VendorErrorKind::OutcomeUnknown => "outcome_unknown",
            VendorErrorKind::BadResponse => "bad_response",
            VendorErrorKind::CircuitOpen => "circuit_open",
            VendorErrorKind::RateLimited => "rate_limited",
        }
    }

    pub fn from_stored(text: &str) -> Option<Self> {
        [
            VendorErrorKind::InvalidArgument,
            VendorErrorKind::NotFound,
            VendorErrorKind::PermissionDenied,
            VendorErrorKind::Misconfigured,
            VendorErrorKind::Refused,
            VendorErrorKind::Unavailable,
            VendorErrorKind::OutcomeUnknown,
            VendorErrorKind::BadResponse,
            VendorErrorKind::CircuitOpen,
            VendorErrorKind::RateLimited,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// A failed vendor request. `message` is the vendor's own message (secrets
/// redacted) or, for transport failures, ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorError {
    pub vendor: Provider,
    pub kind: VendorErrorKind,
    pub message: String,
    /// The request field the vendor complained about, when known.
    pub field: Option<String>,
    /// How long the caller should wait before retrying, when retrying helps.
    pub retry_after: Option<Duration>,
}

impl VendorError {
    pub fn new(vendor: Provider, kind: VendorErrorKind, message: impl Into<String>) -> Self {
        Self {
            vendor,
            kind,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A transport failure of a request that is safe to retry.
    pub fn unavailable(vendor: Provider, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(Duration::from_secs(1)),
            ..Self::new(vendor, VendorErrorKind::Unavailable, message)
        }
    }

    /// Classifies a reqwest failure. `side_effect` is true for requests that
    /// may have acted at the vendor (dials, call creation): a timeout or a
    /// dropped connection then means the outcome is unknown.
    pub fn from_transport(vendor: Provider, error: &reqwest::Error, side_effect: bool) -> Self {
        // Never include the URL: it can carry credentials (FocalScope dial URL
        // templates, iAdvize `key`), so the message is built from the kind.
        let sent = !error.is_connect() && !error.is_builder();
        let what = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "could not be reached (connection failed)"
        } else if error.is_decode() {
            "sent a body that could not be read"
        } else {
            "connection failed during the request"
        };
        let message = format!("{vendor} {what}");
        if side_effect && sent {
            Self::new(
                vendor,
                VendorErrorKind::OutcomeUnknown,
                format!(
                    "{message}; the vendor may have acted on the request, which is not retried"
                ),
            )
        } else {
            Self::unavailable(vendor, message)
        }
    }

    /// A request that got no answer within its timeout.
    pub fn timed_out(vendor: Provider, side_effect: bool) -> Self {
        if side_effect {
            Self::new(
                vendor,
                VendorErrorKind::OutcomeUnknown,
                format!(
                    "{vendor} timed out; the vendor may have acted on the request, which is not retried"
                ),
            )
        } else {
            Self::unavailable(vendor, format!("{vendor} timed out"))
        }
    }

    /// Refused by the vendor's open circuit breaker; `wait` until a probe.
    pub fn circuit_open(vendor: Provider, wait: Duration) -> Self {
        Self {
            retry_after: Some(wait),
            ..Self::new(
                vendor,
                VendorErrorKind::CircuitOpen,
                format!(
                    "{vendor} keeps failing (timeouts, connection errors or 5xx), so its requests fail fast for now (circuit breaker, vendors.{vendor}.breaker); retry in {} ms",
                    wait.as_millis()
                ),
            )
        }
    }

    /// Not sent for lack of room (pacing, bulkhead); retrying after `wait`
    /// may succeed.
    pub fn rate_limited(vendor: Provider, message: impl Into<String>, wait: Duration) -> Self {
        Self {
            retry_after: Some(wait),
            ..Self::new(vendor, VendorErrorKind::RateLimited, message)
        }
    }

    pub fn bad_response(vendor: Provider, what: impl fmt::Display) -> Self {
        Self::new(
            vendor,
            VendorErrorKind::BadResponse,
            format!("{vendor} answered in an undocumented way: {what}"),
        )
    }
}

impl fmt::Display for VendorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.vendor, self.message)
    }
}

impl std::error::Error for VendorError {}

/// Removes any part of `message` that is a piece (6 characters or more) of
/// `secret`. Vendors echo keys back ("Invalid API key `b7e2c8a14f9d`") and
/// their messages are otherwise kept verbatim for the client.
pub fn redact(message: &str, secret: &str) -> String {
    const MIN_PIECE: usize = 6;
    if secret.len() < MIN_PIECE {
        return message.to_owned();
    }
    let mut out = String::with_capacity(message.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.len() >= MIN_PIECE && secret.contains(word.as_str()) {
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in message.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=') {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_echoed_key_pieces() {
        let key = "b7e2c8a14f9d3650a1e7c4d8b2f6a395e";
        assert_eq!(
            redact("Invalid API key `b7e2c8a14f9d`", key),
            "Invalid API key `[redacted]`"
        );
        assert_eq!(redact(&format!("key {key} bad"), key), "key [redacted] bad");
        assert_eq!(redact("Invalid API key", key), "Invalid API key");
        assert_eq!(
            redact("call 22122563 unknown", key),
            "call 22122563 unknown"
        );
    }
}
