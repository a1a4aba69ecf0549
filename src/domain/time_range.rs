//! The `from` / `to` window of a report request (iAdvize `filters[from]` and
//! `filters[to]`): either end may be open, and `to` may not come before
//! `from`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::FieldViolation;

/// A checked time window; `None` ends are not sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct TimeRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// Checks that `to` is not before `from` (equal is a valid, if narrow,
    /// window); the violation names `to`.
    pub fn new(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Self, FieldViolation> {
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            return Err(FieldViolation::new(
                "to",
                format!("is before from ({})", from.to_rfc3339()),
            ));
        }
        Ok(Self { from, to })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn to_may_not_come_before_from() {
        let at = |s| Utc.timestamp_opt(s, 0).single();
        assert!(TimeRange::new(at(10), at(10)).is_ok());
        assert!(TimeRange::new(at(10), None).is_ok());
        assert!(TimeRange::new(None, at(10)).is_ok());
        assert_eq!(TimeRange::new(at(10), at(9)).unwrap_err().field, "to");
    }
}
