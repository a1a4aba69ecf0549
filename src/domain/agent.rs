//! Agent names as the vendors know them.

use std::fmt;

use super::{FieldViolation, quote};

const MAX_AGENT_LEN: usize = 254;

/// An agent as a vendor names them: an Optico username (usually an email), a
/// FocalScope agent or extension. Non-empty, at most 254 characters, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct AgentName(String);

impl AgentName {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(FieldViolation::new(field, "is required"));
        }
        if trimmed.chars().count() > MAX_AGENT_LEN {
            return Err(FieldViolation::new(
                field,
                format!("is longer than {MAX_AGENT_LEN} characters"),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(FieldViolation::new(field, "contains control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// Like `parse`, but an empty value means "no agent".
    pub fn parse_optional(field: &str, value: &str) -> Result<Option<Self>, FieldViolation> {
        if value.trim().is_empty() {
            Ok(None)
        } else {
            Self::parse(field, value).map(Some)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, checked for the shape `local@domain.tld` (what vendors
/// such as CCAI and iAdvize accept), not for deliverability.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(FieldViolation::new(field, "is required"));
        }
        let invalid = || {
            FieldViolation::new(
                field,
                format!("is not a valid email address: {}", quote(trimmed)),
            )
        };
        if trimmed.len() > MAX_AGENT_LEN
            || trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid());
        }
        let Some((local, domain)) = trimmed.split_once('@') else {
            return Err(invalid());
        };
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && domain.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local.is_empty() || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_names() {
        assert_eq!(
            AgentName::parse("agent", " agent1@optico.fr ")
                .unwrap()
                .as_str(),
            "agent1@optico.fr"
        );
        assert_eq!(AgentName::parse("agent", "").unwrap_err().field, "agent");
        assert!(AgentName::parse("agent", "a\u{0}b").is_err());
        assert!(AgentName::parse("agent", &"x".repeat(255)).is_err());
        assert_eq!(AgentName::parse_optional("agent", " ").unwrap(), None);
    }

    #[test]
    fn emails() {
        assert!(EmailAddress::parse("agent", "agent@somedomain.com").is_ok());
        for bad in [
            "",
            "agent",
            "agent@",
            "@x.com",
            "a@b",
            "a b@c.com",
            "a@b..com",
            "a@@b.com",
        ] {
            assert!(EmailAddress::parse("agent", bad).is_err(), "{bad}");
        }
    }
}
