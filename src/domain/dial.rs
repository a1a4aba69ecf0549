//! Dialing vocabulary: idempotency keys, languages, recording permission, and
//! how FocalScope leg events decide a call's status.

use std::fmt;

use serde::Serialize;

use super::{CallStatus, DialEventType, FailureReason, FieldViolation, LegKind, quote};

const MAX_REQUEST_ID_LEN: usize = 128;

/// A client's `request_id` (AIP-155): 1 to 128 characters from
/// `A-Z a-z 0-9 - _ . : ~` (UUIDs, ULIDs and the like).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RequestId(String);

impl RequestId {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        if value.is_empty() {
            return Err(FieldViolation::new(
                field,
                "is required: choose a unique id (e.g. a UUID) per request and reuse it only to retry that request",
            ));
        }
        if value.len() > MAX_REQUEST_ID_LEN {
            return Err(FieldViolation::new(
                field,
                format!("is longer than {MAX_REQUEST_ID_LEN} characters"),
            ));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '~'))
        {
            return Err(FieldViolation::new(
                field,
                "may only hold letters, digits and - _ . : ~",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest outbound queue prefix accepted; a desk phone's queue codes are a
/// few keys long.
const MAX_PREFIX_LEN: usize = 16;

/// A FocalScope outbound queue prefix: "outbound queues are supported via
/// prefixes, in the same way as dialed from a desk phone", so it holds only
/// what a desk phone's keypad can dial (digits, `*`, `#`). It is prepended to
/// the number's dialable form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboundPrefix(String);

impl OutboundPrefix {
    /// Empty means no prefix (`None`).
    pub fn parse_optional(field: &str, value: &str) -> Result<Option<Self>, FieldViolation> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        if trimmed.len() > MAX_PREFIX_LEN {
            return Err(FieldViolation::new(
                field,
                format!("is longer than {MAX_PREFIX_LEN} characters"),
            ));
        }
        if !trimmed
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
        {
            return Err(FieldViolation::new(
                field,
                format!(
                    "may only hold digits, '*' and '#' (keys of a desk phone), got {}",
                    quote(trimmed)
                ),
            ));
        }
        Ok(Some(Self(trimmed.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The ISO 639-1 codes (2002 list, with the 2007/2008 additions).
const ISO_639_1: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
    "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
    "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj",
    "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln",
    "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
    "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi",
    "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk",
    "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti",
    "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo",
    "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// An ISO 639-1 language code, lower-case ("en", "fr").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Language(String);

impl Language {
    /// Empty means "the vendor's default" (`None`).
    pub fn parse_optional(field: &str, value: &str) -> Result<Option<Self>, FieldViolation> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let lower = trimmed.to_ascii_lowercase();
        if ISO_639_1.binary_search(&lower.as_str()).is_ok() {
            Ok(Some(Self(lower)))
        } else {
            Err(FieldViolation::new(
                field,
                format!(
                    "is not an ISO 639-1 language code (two letters, e.g. \"en\"), got {}",
                    quote(value)
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a CCAI call may be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RecordingPermission {
    NotAsked,
    Granted,
    Denied,
}

/// A ticket id of the CRM: non-empty, at most 64 characters, printable.
pub fn parse_ticket_id(field: &str, value: &str) -> Result<Option<String>, FieldViolation> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > 64 || trimmed.chars().any(char::is_control) {
        return Err(FieldViolation::new(
            field,
            "must be at most 64 printable characters",
        ));
    }
    Ok(Some(trimmed.to_owned()))
}

/// The status a FocalScope dial has reached, given every leg event seen so
/// far, in whatever order they arrived. Combined with the forward-only rule
/// of `CallStatus`, a late or repeated callback never moves a call back.
pub fn dial_status(events: &[(LegKind, DialEventType)]) -> (CallStatus, Option<FailureReason>) {
    let seen = |leg: LegKind, event: DialEventType| events.contains(&(leg, event));
    use DialEventType::{Hangup, Missed, Pickup};
    use LegKind::{Agent, Customer};
    if seen(Agent, Missed) {
        (CallStatus::Failed, Some(FailureReason::AgentMissed))
    } else if seen(Customer, Missed) {
        (CallStatus::Failed, Some(FailureReason::CustomerMissed))
    } else if seen(Agent, Hangup) || seen(Customer, Hangup) {
        // A hangup ends the call whatever else arrived; one that arrives
        // before the pickup it followed is still an end, so the late pickup
        // does not reopen the call (the legs keep every event).
        (CallStatus::Ended, None)
    } else if seen(Customer, Pickup) {
        (CallStatus::Connected, None)
    } else if seen(Agent, Pickup) {
        (CallStatus::AgentAnswered, None)
    } else {
        (CallStatus::Dialing, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DialEventType::*;
    use LegKind::*;

    #[test]
    fn the_documented_sequence_ends_the_call() {
        let mut events = Vec::new();
        let mut statuses = Vec::new();
        for event in [
            (Agent, Pickup),
            (Customer, Pickup),
            (Customer, Hangup),
            (Agent, Hangup),
        ] {
            events.push(event);
            statuses.push(dial_status(&events).0);
        }
        assert_eq!(
            statuses,
            [
                CallStatus::AgentAnswered,
                CallStatus::Connected,
                CallStatus::Ended,
                CallStatus::Ended
            ]
        );
    }

    #[test]
    fn missed_legs_fail_saying_which() {
        assert_eq!(
            dial_status(&[(Agent, Missed)]),
            (CallStatus::Failed, Some(FailureReason::AgentMissed))
        );
        assert_eq!(
            dial_status(&[(Agent, Pickup), (Customer, Missed), (Agent, Hangup)]),
            (CallStatus::Failed, Some(FailureReason::CustomerMissed))
        );
    }

    #[test]
    fn a_hangup_ends_the_call_whatever_arrives_later() {
        assert_eq!(dial_status(&[(Customer, Hangup)]).0, CallStatus::Ended);
        assert_eq!(
            dial_status(&[(Customer, Hangup), (Customer, Pickup)]).0,
            CallStatus::Ended
        );
    }

    #[test]
    fn iso_639_1_list_is_sorted_for_binary_search() {
        assert!(ISO_639_1.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            Language::parse_optional("language", "EN")
                .unwrap()
                .unwrap()
                .as_str(),
            "en"
        );
        assert_eq!(Language::parse_optional("language", "").unwrap(), None);
        for bad in ["xx", "eng", "e", "f r"] {
            assert_eq!(
                Language::parse_optional("language", bad).unwrap_err().field,
                "language",
                "{bad}"
            );
        }
    }

    #[test]
    fn outbound_prefixes() {
        assert_eq!(OutboundPrefix::parse_optional("p", " ").unwrap(), None);
        assert_eq!(
            OutboundPrefix::parse_optional("p", "*72#9")
                .unwrap()
                .unwrap()
                .as_str(),
            "*72#9"
        );
        for bad in ["9 1", "+9", "9-", "a", &"9".repeat(17)] {
            assert_eq!(
                OutboundPrefix::parse_optional("outbound_prefix", bad)
                    .unwrap_err()
                    .field,
                "outbound_prefix",
                "{bad}"
            );
        }
    }

    #[test]
    fn request_ids() {
        assert!(RequestId::parse("request_id", "0193f1e2-aaaa-7bbb-8ccc-123456789abc").is_ok());
        for bad in ["", "has space", "ü", &"x".repeat(129)] {
            assert_eq!(
                RequestId::parse("request_id", bad).unwrap_err().field,
                "request_id"
            );
        }
    }
}
