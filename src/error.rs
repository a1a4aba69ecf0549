//! The one error type of switchboard's request handling, and its one mapping
//! to `tonic::Status`.
//!
//! The mapping is a single exhaustive `match` (no `_` arm) on purpose: a new
//! error variant or vendor error kind does not compile until someone decides
//! its gRPC code. Every status carries an `ErrorInfo` (UPPER_SNAKE reason,
//! domain "switchboard"), validation errors a `BadRequest` listing each field,
//! and retryable ones a `RetryInfo` — the code says what happened, RetryInfo
//! whether retrying helps.

use std::{collections::HashMap, time::Duration};

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tracing::error;

use crate::{
    domain::{CallId, FieldViolation, Invalid, truncate},
    store::StoreError,
    vendors::{VendorError, VendorErrorKind},
};

pub const ERROR_DOMAIN: &str = "switchboard";

/// Bounds of what a status carries, so that the whole of it (message,
/// percent-encoded, and details, base64) stays under 12 KiB, below the 16 KiB of
/// metadata C++ and Python clients accept, whatever the request or the
/// vendor said: past that limit those clients never see the error at all.
/// Values are quoted by a short prefix where they are echoed
/// (`domain::quote`); these caps are the backstop.
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Field violations listed (the message counts the rest).
pub const MAX_VIOLATIONS: usize = 10;
/// Longest `ErrorInfo` metadata value.
const MAX_METADATA_BYTES: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is invalid; nothing was sent to any vendor.
    #[error("invalid request: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// What the request names does not exist.
    #[error("{resource} not found: {name}")]
    NotFound {
        resource: &'static str,
        name: String,
    },
    /// The RPC needs a vendor or setting that is not configured.
    #[error("{what} is not configured: set {key}")]
    NotConfigured {
        what: &'static str,
        key: &'static str,
    },
    /// The request cannot be served in the call's current state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A vendor refused or failed.
    #[error(transparent)]
    Vendor(#[from] VendorError),
    /// A side-effecting vendor request timed out or lost its connection: the
    /// vendor may have acted. The call is kept with status UNKNOWN.
    #[error(
        "{error}; the call is kept as {call_id} with status UNKNOWN: retry with the same request_id to get it, never a second dial"
    )]
    OutcomeUnknown { error: VendorError, call_id: CallId },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server is going away; the client should reconnect (elsewhere).
    #[error("{0}")]
    ShuttingDown(String),
    /// The client did not present a valid bearer token.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// A read-only token (`auth.read_only_tokens`) called an RPC that
    /// changes something.
    #[error(
        "{rpc} is not allowed with a read-only token: read-only tokens may call only Get*, List*, Stream*, Watch* and Export* RPCs"
    )]
    ReadOnlyToken { rpc: String },
    /// A server limit is reached (`server.max_concurrent_requests`,
    /// `streams.max_open`, `streams.max_open_per_connection`): nothing was
    /// done; retry later, or on another replica.
    #[error("{message}")]
    Overloaded {
        /// The ErrorInfo reason: `OVERLOADED`, `TOO_MANY_STREAMS`.
        reason: &'static str,
        /// The setting that sets the limit.
        key: &'static str,
        message: String,
        retry_after: Duration,
    },
}

impl Error {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::InvalidArgument(vec![FieldViolation::new(field, description)])
    }
}

impl From<FieldViolation> for Error {
    fn from(violation: FieldViolation) -> Self {
        Error::InvalidArgument(vec![violation])
    }
}

impl From<Vec<FieldViolation>> for Error {
    fn from(violations: Vec<FieldViolation>) -> Self {
        Error::InvalidArgument(violations)
    }
}

impl From<Invalid> for Error {
    fn from(Invalid(violations): Invalid) -> Self {
        Error::InvalidArgument(violations)
    }
}

// So that handlers, whose errors are `Status`, use `?` on what services,
// adapters, the store and validation return, without naming `Error`.
impl From<VendorError> for Status {
    fn from(error: VendorError) -> Status {
        Error::Vendor(error).into()
    }
}

impl From<StoreError> for Status {
    fn from(error: StoreError) -> Status {
        Error::Store(error).into()
    }
}

impl From<FieldViolation> for Status {
    fn from(violation: FieldViolation) -> Status {
        Error::from(violation).into()
    }
}

impl From<Invalid> for Status {
    fn from(invalid: Invalid) -> Status {
        Error::from(invalid).into()
    }
}

/// The violations for the status message: as many as fit its bounds, then
/// how many more there are (all of the listed ones are in the details too).
fn describe(violations: &[FieldViolation]) -> String {
    let budget = MAX_MESSAGE_BYTES - 128;
    let mut text = String::new();
    let mut listed = 0;
    for violation in violations.iter().take(MAX_VIOLATIONS) {
        let item = violation.to_string();
        if listed > 0 && text.len() + item.len() + 2 > budget {
            break;
        }
        if listed > 0 {
            text.push_str("; ");
        }
        text.push_str(&item);
        listed += 1;
    }
    if violations.len() > listed {
        text.push_str(&format!("; and {} more", violations.len() - listed));
    }
    text
}

impl From<Error> for Status {
    fn from(error: Error) -> Status {
        let full_message = error.to_string();
        // Room is left for the error id appended below.
        let message = truncate(&full_message, MAX_MESSAGE_BYTES - 64).into_owned();
        let mut details = ErrorDetails::new();
        let mut metadata = HashMap::new();
        let (code, reason) = match error {
            Error::InvalidArgument(violations) => {
                for violation in violations.into_iter().take(MAX_VIOLATIONS) {
                    details.add_bad_request_violation(violation.field, violation.description);
                }
                (Code::InvalidArgument, "INVALID_ARGUMENT")
            }
            Error::NotFound { resource, name } => {
                metadata.insert("resource".to_owned(), resource.to_owned());
                metadata.insert("name".to_owned(), name);
                (Code::NotFound, "NOT_FOUND")
            }
            Error::NotConfigured { what: _, key } => {
                metadata.insert("key".to_owned(), key.to_owned());
                (Code::FailedPrecondition, "NOT_CONFIGURED")
            }
            Error::FailedPrecondition(_) => (Code::FailedPrecondition, "FAILED_PRECONDITION"),
            Error::Vendor(vendor_error) => {
                metadata.insert("vendor".to_owned(), vendor_error.vendor.to_string());
                if let Some(field) = &vendor_error.field {
                    let violation =
                        FieldViolation::new(field.clone(), vendor_error.message.clone());
                    details.add_bad_request_violation(violation.field, violation.description);
                }
                if let Some(delay) = vendor_error.retry_after {
                    details.set_retry_info(Some(delay));
                }
                vendor_code(vendor_error.kind)
            }
            Error::OutcomeUnknown { error, call_id } => {
                metadata.insert("vendor".to_owned(), error.vendor.to_string());
                metadata.insert("call_id".to_owned(), call_id.to_string());
                // An unreadable success keeps its own code (UNKNOWN); a
                // timeout or a lost connection is UNAVAILABLE.
                vendor_code(error.kind)
            }
            Error::Store(store_error) => {
                if store_error.is_transient() {
                    details.set_retry_info(Some(Duration::from_secs(1)));
                    (Code::Unavailable, "DATABASE_UNAVAILABLE")
                } else {
                    (Code::Internal, "INTERNAL")
                }
            }
            Error::Unauthenticated(_) => (Code::Unauthenticated, "UNAUTHENTICATED"),
            Error::ReadOnlyToken { rpc } => {
                metadata.insert("rpc".to_owned(), rpc);
                (Code::PermissionDenied, "READ_ONLY_TOKEN")
            }
            Error::Overloaded {
                reason,
                key,
                message: _,
                retry_after,
            } => {
                metadata.insert("key".to_owned(), key.to_owned());
                details.set_retry_info(Some(retry_after));
                (Code::ResourceExhausted, reason)
            }
            Error::ShuttingDown(_) => {
                details.set_retry_info(Some(Duration::from_millis(100)));
                (Code::Unavailable, "SHUTTING_DOWN")
            }
        };
        // INTERNAL and UNKNOWN are logged here, once, with an id the client
        // also gets, so a report can be matched to its log line. An internal
        // message is masked (database errors can echo SQL and values).
        let message = match code {
            Code::Internal | Code::Unknown => {
                let error_id = uuid::Uuid::new_v4().simple().to_string();
                error!(error_id = %error_id, code = ?code, reason, error = %full_message, "request failed");
                metadata.insert("error_id".to_owned(), error_id.clone());
                if code == Code::Internal {
                    format!("internal error (error id {error_id}, logged on the server)")
                } else {
                    format!("{message} (error id {error_id})")
                }
            }
            // The driver's text can name hosts or pool internals.
            _ if reason == "DATABASE_UNAVAILABLE" => {
                "the database is unavailable; retry later".to_owned()
            }
            _ => message,
        };
        for value in metadata.values_mut() {
            if value.len() > MAX_METADATA_BYTES {
                *value = truncate(value, MAX_METADATA_BYTES).into_owned();
            }
        }
        details.set_error_info(reason, ERROR_DOMAIN, metadata);
        Status::with_error_details(code, message, details)
    }
}

/// The code and reason of a vendor error kind.
fn vendor_code(kind: VendorErrorKind) -> (Code, &'static str) {
    match kind {
        VendorErrorKind::InvalidArgument => (Code::InvalidArgument, "VENDOR_INVALID_ARGUMENT"),
        VendorErrorKind::NotFound => (Code::NotFound, "VENDOR_NOT_FOUND"),
        VendorErrorKind::PermissionDenied => (Code::PermissionDenied, "VENDOR_PERMISSION_DENIED"),
        VendorErrorKind::Misconfigured => (Code::FailedPrecondition, "VENDOR_MISCONFIGURED"),
        VendorErrorKind::Refused => (Code::FailedPrecondition, "VENDOR_REFUSED"),
        VendorErrorKind::Unavailable => (Code::Unavailable, "VENDOR_UNAVAILABLE"),
        VendorErrorKind::OutcomeUnknown => (Code::Unavailable, "VENDOR_OUTCOME_UNKNOWN"),
        VendorErrorKind::BadResponse => (Code::Unknown, "VENDOR_BAD_RESPONSE"),
        VendorErrorKind::CircuitOpen => (Code::Unavailable, "VENDOR_CIRCUIT_OPEN"),
        VendorErrorKind::RateLimited => (Code::ResourceExhausted, "VENDOR_RATE_LIMITED"),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Provider;

    #[test]
    fn validation_lists_every_field() {
        let status = Status::from(Error::InvalidArgument(vec![
            FieldViolation::new("caller_phone", "is not a phone number"),
            FieldViolation::new("start_time", "is required"),
        ]));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("caller_phone"));
        assert!(status.message().contains("start_time"));
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(fields, ["caller_phone", "start_time"]);
        assert_eq!(details.error_info().unwrap().domain, "switchboard");
    }

    /// The bytes a status takes on the wire: its headers (or trailers).
    fn wire_size(status: Status) -> usize {
        status
            .into_http::<()>()
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum()
    }

    #[test]
    fn a_status_stays_small_whatever_it_is_made_of() {
        let huge = "\u{1F4A3}".repeat(20_000);
        let violations = (0..1000)
            .map(|i| FieldViolation::new(format!("items[{i}].{huge}"), huge.clone()))
            .collect();
        let status = Status::from(Error::InvalidArgument(violations));
        assert!(status.message().contains(" more"), "{}", status.message());
        let fields = status
            .get_error_details()
            .bad_request()
            .unwrap()
            .field_violations
            .len();
        assert_eq!(fields, MAX_VIOLATIONS);
        let size = wire_size(status);
        assert!(size < 12 * 1024, "{size}");
        for kind in [
            VendorErrorKind::InvalidArgument,
            VendorErrorKind::BadResponse,
        ] {
            let mut error = VendorError::new(Provider::Ccai, kind, huge.clone());
            error.field = Some("destination_number".into());
            let status = Status::from(Error::Vendor(error));
            assert!(wire_size(status) < 12 * 1024, "{kind:?}");
        }
        let not_found = Status::from(Error::NotFound {
            resource: "call",
            name: huge.clone(),
        });
        assert!(wire_size(not_found) < 12 * 1024);
    }

    #[test]
    fn vendor_kinds_map_to_the_documented_codes() {
        use VendorErrorKind::*;
        for (kind, code) in [
            (InvalidArgument, Code::InvalidArgument),
            (NotFound, Code::NotFound),
            (PermissionDenied, Code::PermissionDenied),
            (Misconfigured, Code::FailedPrecondition),
            (Refused, Code::FailedPrecondition),
            (Unavailable, Code::Unavailable),
            (OutcomeUnknown, Code::Unavailable),
        ] {
            let status = Status::from(Error::Vendor(VendorError::new(
                Provider::Ccai,
                kind,
                "vendor says no",
            )));
            assert_eq!(status.code(), code, "{kind:?}");
            assert!(status.message().contains("vendor says no"));
        }
    }
}
