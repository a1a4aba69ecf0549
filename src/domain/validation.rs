//! Field-level validation results shared by every newtype parser.

use std::fmt;

/// Characters of a bad value an error message repeats, at most: enough to
/// recognise it, never enough to make an answer too big to be delivered (a
/// gRPC client gives up on metadata past 16 KiB; a webhook 400 body is read
/// by a person).
pub const QUOTED_CHARS: usize = 40;

/// A bad value as an error message quotes it: its first `QUOTED_CHARS`
/// characters, escaped like a Rust string literal (control characters and
/// quotes cannot break the message), and its size when cut,
/// e.g. `"aaaaaaaa…" (60000 bytes)`.
pub fn quote(value: &str) -> String {
    match value.char_indices().nth(QUOTED_CHARS) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &value[..cut], value.len()),
    }
}

/// `text` cut to at most `max_bytes` (at a character boundary), with an
/// ellipsis when cut.
pub fn truncate(text: &str, max_bytes: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max_bytes {
        return text.into();
    }
    let ellipsis = "…";
    let mut cut = max_bytes.saturating_sub(ellipsis.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ellipsis}", &text[..cut]).into()
}

/// One invalid request field: which field (as the client spells it, e.g.
/// `caller_phone` or `call.optico_call_id`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Longest field path and description a violation keeps (see
/// [`FieldViolation::new`]).
pub const MAX_FIELD_BYTES: usize = 100;
pub const MAX_DESCRIPTION_BYTES: usize = 400;

impl FieldViolation {
    /// A violation of `field`. Both are cut to a bounded size: a
    /// description that quotes a value should use [`quote`], and the cut is
    /// the backstop for one that forgot.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        let (field, description) = (field.into(), description.into());
        Self {
            field: truncate(&field, MAX_FIELD_BYTES).into_owned(),
            description: truncate(&description, MAX_DESCRIPTION_BYTES).into_owned(),
        }
    }

    /// The same violation reported under a parent field, e.g. `call` + `id`
    /// gives `call.id`.
    pub fn nested_in(mut self, parent: &str) -> Self {
        self.field = truncate(&format!("{parent}.{}", self.field), MAX_FIELD_BYTES).into_owned();
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
    /// `values` is `None` only when a check failed (see `all_some!`).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_a_short_prefix_of_long_values() {
        assert_eq!(quote("abc"), "\"abc\"");
        let long = "é".repeat(30_000);
        let quoted = quote(&long);
        assert!(quoted.starts_with(&format!("\"{}\"…", "é".repeat(QUOTED_CHARS))));
        assert!(quoted.ends_with("(60000 bytes)"), "{quoted}");
        assert_eq!(quote("a\"\n"), "\"a\\\"\\n\"");
    }

    #[test]
    fn violations_are_bounded_whatever_they_are_given() {
        let violation = FieldViolation::new("f".repeat(1000), "é".repeat(1000));
        assert!(violation.field.len() <= MAX_FIELD_BYTES);
        assert!(violation.description.len() <= MAX_DESCRIPTION_BYTES);
        assert!(violation.description.ends_with('…'));
        assert_eq!(truncate("short", 10), "short");
    }
}
