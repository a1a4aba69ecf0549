//! Phone numbers as clients give them to switchboard.

use std::fmt;

use super::FieldViolation;

/// Separators people put in phone numbers; dropped when comparing.
const SEPARATORS: &[char] = &[' ', '-', '.', '(', ')', '/'];
/// E.164 allows 15 digits; written with a "00" international prefix that is 17.
const MAX_DIGITS: usize = 17;
/// Shorter than this is a typo or an extension, not a number to call.
const MIN_DIGITS: usize = 4;

/// A phone number that looks dialable: an optional leading `+`, then digits,
/// possibly grouped with spaces, dashes, dots, slashes or parentheses.
///
/// The number is kept as the client wrote it (vendors such as CCAI want their
/// own format back), and a comparison key (`+` written as `00`, separators
/// dropped) lets "+33 1 23 45 67 89" and "0033123456789" match.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PhoneNumber {
    as_given: String,
    key: String,
}

impl PhoneNumber {
    /// Parses `value` for the request field `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(FieldViolation::new(field, "is required"));
        }
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else if !SEPARATORS.contains(&c) {
                return Err(FieldViolation::new(
                    field,
                    format!(
                        "is not a phone number: {c:?} is not allowed (use digits, an optional leading '+', spaces or dashes)"
                    ),
                ));
            }
        }
        let key = if plus { format!("00{digits}") } else { digits };
        if key.len() < MIN_DIGITS || key.len() > MAX_DIGITS {
            return Err(FieldViolation::new(
                field,
                format!(
                    "is not a phone number: it has {} digits, expected {MIN_DIGITS} to {MAX_DIGITS}",
                    key.len()
                ),
            ));
        }
        Ok(Self {
            as_given: trimmed.to_owned(),
            key,
        })
    }

    /// Like `parse`, but an empty value means "no number" (optional
    /// fields and filters).
    pub fn parse_optional(field: &str, value: &str) -> Result<Option<Self>, FieldViolation> {
        if value.trim().is_empty() {
            Ok(None)
        } else {
            Self::parse(field, value).map(Some)
        }
    }

    /// The number as the client gave it (trimmed).
    pub fn as_str(&self) -> &str {
        &self.as_given
    }

    /// Digits only, a leading `+` written `00`: "0033123456789". This is the
    /// form the Optico documentation uses, and the key calls are compared by.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The number as a PBX dials it, keys only: digits, a leading `+`
    /// written as the international prefix `00` ("+33 6 12" → "0033612").
    /// FocalScope dials "in the same way as dialed from a desk phone", whose
    /// keypad has no `+`, and an outbound queue prefix goes in front of it,
    /// where a `+` could not stand. Same digits as [`PhoneNumber::key`].
    pub fn dialable(&self) -> &str {
        &self.key
    }

    /// The comparison key of any string, for filters that accept loose input.
    pub fn key_of(value: &str) -> Option<String> {
        Self::parse("phone", value).ok().map(|p| p.key)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_given)
    }
}

/// The caller of an incoming call: a number, or private ("anonymous").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerPhone {
    Private,
    Number(PhoneNumber),
}

impl CallerPhone {
    /// Empty and "anonymous" (any case) mean a private number, as Optico
    /// documents for `callerPhone`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let trimmed = value.trim();
        if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("anonymous") {
            return Ok(Self::Private);
        }
        PhoneNumber::parse(field, trimmed).map(Self::Number)
    }

    pub fn number(&self) -> Option<&PhoneNumber> {
        match self {
            Self::Private => None,
            Self::Number(number) => Some(number),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_documented_formats() {
        for value in [
            "0033612345678",
            "+33 6 12 34 56 78",
            "+1 760-867-5309",
            "+82-10-6861-2345",
            "(555) 123-4567",
        ] {
            assert!(PhoneNumber::parse("p", value).is_ok(), "{value}");
        }
        assert_eq!(
            PhoneNumber::parse("p", "+33 6 12 34 56 78").unwrap().key(),
            "0033612345678"
        );
        assert_eq!(
            PhoneNumber::parse("p", "+33 (6) 12.34-56/78")
                .unwrap()
                .dialable(),
            "0033612345678"
        );
        assert_eq!(
            PhoneNumber::parse("p", "(555) 123-4567")
                .unwrap()
                .dialable(),
            "5551234567"
        );
        assert_eq!(
            PhoneNumber::parse("p", " 0033612345678 ").unwrap().as_str(),
            "0033612345678"
        );
    }

    #[test]
    fn refuses_malformed_numbers_naming_the_field() {
        for value in [
            "",
            "   ",
            "abc",
            "+33 6 12 34 56 7x",
            "12",
            "++3312345",
            "1234567890123456789",
        ] {
            let err = PhoneNumber::parse("destination_phone", value).unwrap_err();
            assert_eq!(err.field, "destination_phone", "{value}");
        }
    }

    #[test]
    fn optional_numbers() {
        assert_eq!(PhoneNumber::parse_optional("p", "  ").unwrap(), None);
        assert_eq!(
            PhoneNumber::parse_optional("p", "+33 1 23 45 67 89")
                .unwrap()
                .unwrap()
                .key(),
            "0033123456789"
        );
        assert_eq!(
            PhoneNumber::parse_optional("p", "12").unwrap_err().field,
            "p"
        );
    }

    #[test]
    fn private_callers() {
        assert_eq!(CallerPhone::parse("c", "").unwrap(), CallerPhone::Private);
        assert_eq!(
            CallerPhone::parse("c", "Anonymous").unwrap(),
            CallerPhone::Private
        );
        assert!(CallerPhone::parse("c", "abc").is_err());
    }
}
