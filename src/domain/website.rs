//! The iAdvize account resources: clients, websites (which scope every
//! iAdvize filter), and the tags and visitors conversations, transactions
//! and call meetings point at. Field for field as the iAdvize doc lists
//! them; `None` is "iAdvize did not say" on reads and "not sent" on writes.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{FieldViolation, quote};

/// `/client`: the account websites belong to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    pub id: i64,
    pub lang: Option<String>,
    pub premium_enabled: Option<bool>,
}

/// `/website`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Website {
    pub id: i64,
    pub url: Option<String>,
    pub label: Option<String>,
    pub client_id: Option<i64>,
    pub currency: Option<String>,
    pub language_admin: Option<String>,
    pub timezone: Option<String>,
}

/// The website fields a PUT sends; only `Some` ones are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebsiteFields {
    pub url: Option<String>,
    pub label: Option<String>,
    pub client_id: Option<i64>,
    pub currency: Option<String>,
    pub language_admin: Option<WebsiteLanguage>,
    pub timezone: Option<String>,
}

/// A website's admin language: the doc's list, which is longer than an
/// operator's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebsiteLanguage(&'static str);

impl WebsiteLanguage {
    const ALLOWED: [&'static str; 11] = [
        "en", "de", "es", "it", "pt", "nl", "se", "tw", "ja", "ko", "fr",
    ];

    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let code = value.trim().to_ascii_lowercase();
        Self::ALLOWED
            .iter()
            .copied()
            .find(|allowed| *allowed == code)
            .map(Self)
            .ok_or_else(|| {
                FieldViolation::new(
                    field,
                    format!(
                        "must be one of en, de, es, it, pt, nl, se, tw, ja, ko or fr, got {}",
                        quote(value)
                    ),
                )
            })
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// An IANA time zone name, as a website's `timezone` is written.
pub fn time_zone_name(field: &str, value: &str) -> Result<String, FieldViolation> {
    let trimmed = value.trim();
    trimmed
        .parse::<chrono_tz::Tz>()
        .map(|_| trimmed.to_owned())
        .map_err(|_| {
            FieldViolation::new(
                field,
                format!(
                    "is not an IANA time zone name (e.g. Europe/Paris): {}",
                    quote(value)
                ),
            )
        })
}

/// An absolute http(s) URL, as a website's `url` is written.
pub fn web_url(field: &str, value: &str) -> Result<String, FieldViolation> {
    let trimmed = value.trim();
    match url::Url::parse(trimmed) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(trimmed.to_owned())
        }
        _ => Err(FieldViolation::new(
            field,
            format!("is not an absolute http(s) URL: {}", quote(value)),
        )),
    }
}

/// A currency code: three letters (ISO 4217, e.g. EUR), upper-cased.
pub fn currency(field: &str, value: &str) -> Result<String, FieldViolation> {
    let code = value.trim().to_ascii_uppercase();
    if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(FieldViolation::new(
            field,
            format!(
                "is not a three-letter currency code (e.g. EUR): {}",
                quote(value)
            ),
        ))
    }
}

/// `/tag`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tag {
    pub id: i64,
    pub name: Option<String>,
    pub website_ids: Vec<i64>,
}

/// One tag to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewTag {
    pub name: String,
    pub website_id: i64,
}

/// `/visitor`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visitor {
    pub id: i64,
    pub unique_id: Option<String>,
    pub external_id: Option<String>,
    pub lastname: Option<String>,
    pub firstname: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub browser: Option<String>,
    pub website_ids: Vec<i64>,
    pub created_at: Option<DateTime<Utc>>,
}

/// The visitor fields a POST / PUT sends; only `Some` ones are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitorFields {
    pub unique_id: Option<String>,
    pub external_id: Option<String>,
    pub lastname: Option<String>,
    pub firstname: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub browser: Option<String>,
    pub website_ids: Option<Vec<i64>>,
}

/// The filters of the visitor list; `None` = not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VisitorFilter {
    pub unique_id: Option<String>,
    pub external_id: Option<String>,
    pub website_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn website_values_are_checked() {
        assert_eq!(WebsiteLanguage::parse("f", " KO ").unwrap().as_str(), "ko");
        assert_eq!(WebsiteLanguage::parse("f", "xx").unwrap_err().field, "f");
        assert_eq!(time_zone_name("t", "Europe/Paris").unwrap(), "Europe/Paris");
        assert!(time_zone_name("t", "Paris").is_err());
        assert!(web_url("u", "https://www.example.com/").is_ok());
        assert!(web_url("u", "www.example.com").is_err());
        assert!(web_url("u", "ftp://example.com").is_err());
        assert_eq!(currency("c", "eur").unwrap(), "EUR");
        assert!(currency("c", "euro").is_err());
    }
}
