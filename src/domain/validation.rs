//! Field-level validation results shared by every newtype parser.

use std::fmt;

/// One invalid request field: which field (as the client spells it, e.g.
/// `caller_phone` or `call.optico_call_id`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }

    /// The same violation reported under a parent field, e.g. `call` + `id`
    /// gives `call.id`.
    pub fn nested_in(mut self, parent: &str) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// A request refused for these violations (at least one), as
/// [`Violations`] hands them over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub Vec<FieldViolation>);

impl From<FieldViolation> for Invalid {
    fn from(violation: FieldViolation) -> Self {
        Invalid(vec![violation])
    }
}

/// Collects every violation of a request so the client learns all of them at
/// once rather than one per round trip.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, violation: FieldViolation) {
        self.0.push(violation);
    }

    /// Keeps the value when valid, records the violation otherwise.
    pub fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(violation) => {
                self.0.push(violation);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Invalid(self.0))
        }
    }

    /// The parsed values when every check passed, all violations otherwise.
    /// `values` is `None` only when a check failed (see [`all_some!`]).
    pub fn finish<T>(self, values: Option<T>) -> Result<T, Invalid> {
        match (self.0.is_empty(), values) {
            (true, Some(values)) => Ok(values),
            (true, None) => Err(Invalid(vec![FieldViolation::new("request", "is invalid")])),
            (false, _) => Err(Invalid(self.0)),
        }
    }
}

/// `Some((a, b, …))` when every argument is `Some`.
#[macro_export]
macro_rules! all_some {
    ($($value:expr),+ $(,)?) => {
        (|| Some(($($value?),+)))()
    };
}
