//! Serde helpers for vendor payloads that are looser than their docs say.

use serde::{Deserialize, Deserializer, de};

/// An integer sent as a JSON number or as a numeric string (PHP APIs do both).
pub fn int_or_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrString {
        Int(i64),
        String(String),
    }
    match IntOrString::deserialize(deserializer)? {
        IntOrString::Int(value) => Ok(value),
        IntOrString::String(text) => text.trim().parse().map_err(|_| {
            de::Error::custom(format!(
                "expected an integer, got {}",
                crate::domain::quote(&text)
            ))
        }),
    }
}

/// Like [`int_or_string`] for optional fields (null or absent = None).
pub fn opt_int_or_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapper(#[serde(deserialize_with = "int_or_string")] i64);
    Ok(Option::<Wrapper>::deserialize(deserializer)?.map(|Wrapper(value)| value))
}

/// A number sent as a JSON number or a numeric string; null counts as 0.
pub fn number_or_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrString {
        Number(f64),
        String(String),
    }
    match Option::<NumberOrString>::deserialize(deserializer)? {
        None => Ok(0.0),
        Some(NumberOrString::Number(value)) => Ok(value),
        Some(NumberOrString::String(text)) => text.trim().parse().map_err(|_| {
            de::Error::custom(format!(
                "expected a number, got {}",
                crate::domain::quote(&text)
            ))
        }),
    }
}

/// A boolean sent as true/false, 0/1 or "0"/"1"; null counts as false.
pub fn loose_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Bool(bool),
        Int(i64),
        String(String),
    }
    match Option::<Loose>::deserialize(deserializer)? {
        None => Ok(false),
        Some(Loose::Bool(value)) => Ok(value),
        Some(Loose::Int(value)) => Ok(value != 0),
        Some(Loose::String(text)) => match text.trim() {
            "1" | "true" => Ok(true),
            "0" | "false" | "" => Ok(false),
            other => Err(de::Error::custom(format!(
                "expected a boolean, got {}",
                crate::domain::quote(other)
            ))),
        },
    }
}

/// Like [`loose_bool`] for fields that may be absent: absent or null = None.
pub fn opt_loose_bool<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapper(#[serde(deserialize_with = "loose_bool")] bool);
    Ok(Option::<Wrapper>::deserialize(deserializer)?.map(|Wrapper(value)| value))
}

/// A list of integers, each a JSON number or numeric string; null counts as
/// empty.
pub fn int_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapper(#[serde(deserialize_with = "int_or_string")] i64);
    Ok(Option::<Vec<Wrapper>>::deserialize(deserializer)?
        .unwrap_or_default()
        .into_iter()
        .map(|Wrapper(value)| value)
        .collect())
}

/// A text field sent as a string, a number or a boolean (PHP APIs print
/// numeric-looking values either way); null, absent or blank = None.
pub fn opt_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        String(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }
    Ok(match Option::<Text>::deserialize(deserializer)? {
        None => None,
        Some(Text::String(text)) => Some(text).filter(|t| !t.trim().is_empty()),
        Some(Text::Int(value)) => Some(value.to_string()),
        Some(Text::Float(value)) => Some(value.to_string()),
        Some(Text::Bool(value)) => Some(value.to_string()),
    })
}

/// A page number that may be absent: a number or numeric string, while null,
/// false, 0 and "" mean "no such page".
pub fn opt_page_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Page {
        Int(i64),
        String(String),
        Bool(bool),
    }
    match Option::<Page>::deserialize(deserializer)? {
        None | Some(Page::Bool(false)) => Ok(None),
        Some(Page::Int(value)) => Ok(Some(value).filter(|v| *v != 0)),
        Some(Page::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Page::String(text)) => text
            .trim()
            .parse::<i64>()
            .map(|v| Some(v).filter(|v| *v != 0))
            .map_err(|_| {
                de::Error::custom(format!(
                    "expected a page number, got {}",
                    crate::domain::quote(&text)
                ))
            }),
        Some(Page::Bool(true)) => Err(de::Error::custom("expected a page number, got true")),
    }
}

/// A length in seconds: a number (fractions rounded), a numeric string, or
/// `H:MM:SS` / `MM:SS`; null or absent = 0.
pub fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Int(i64),
        Float(f64),
        String(String),
    }
    match Option::<Seconds>::deserialize(deserializer)? {
        None => Ok(0),
        Some(Seconds::Int(value)) => Ok(value),
        Some(Seconds::Float(value)) => Ok(value.round() as i64),
        Some(Seconds::String(text)) => {
            let trimmed = text.trim();
            if trimmed.is_empty() {
                return Ok(0);
            }
            if let Ok(value) = trimmed.parse::<f64>() {
                return Ok(value.round() as i64);
            }
            clock_seconds(trimmed).ok_or_else(|| {
                de::Error::custom(format!(
                    "expected a number of seconds, got {}",
                    crate::domain::quote(&text)
                ))
            })
        }
    }
}

/// A length written on a clock, `H:MM:SS` or `MM:SS`, in seconds.
pub fn clock_seconds(text: &str) -> Option<i64> {
    let parts: Option<Vec<i64>> = text.trim().split(':').map(|p| p.parse().ok()).collect();
    match parts.as_deref()? {
        [minutes, secs] => Some(minutes * 60 + secs),
        [hours, minutes, secs] => Some(hours * 3600 + minutes * 60 + secs),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Loose {
        #[serde(default, deserialize_with = "opt_text")]
        text: Option<String>,
        #[serde(default, deserialize_with = "opt_page_number")]
        page: Option<i64>,
        #[serde(default, deserialize_with = "seconds")]
        seconds: i64,
    }

    fn read(json: &str) -> Loose {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn text_numbers_and_blanks() {
        assert_eq!(read(r#"{"text": "2"}"#).text.as_deref(), Some("2"));
        assert_eq!(read(r#"{"text": 2}"#).text.as_deref(), Some("2"));
        assert_eq!(read(r#"{"text": " "}"#).text, None);
        assert_eq!(read(r#"{"text": null}"#).text, None);
        assert_eq!(read("{}").text, None);
    }

    #[test]
    fn page_numbers_and_their_absence() {
        assert_eq!(read(r#"{"page": 50}"#).page, Some(50));
        assert_eq!(read(r#"{"page": "3"}"#).page, Some(3));
        for none in [
            r#"{"page": null}"#,
            r#"{"page": false}"#,
            r#"{"page": 0}"#,
            r#"{"page": ""}"#,
            "{}",
        ] {
            assert_eq!(read(none).page, None, "{none}");
        }
        assert!(serde_json::from_str::<Loose>(r#"{"page": "next"}"#).is_err());
    }

    #[test]
    fn seconds_in_every_spelling() {
        for (json, expected) in [
            (r#"{"seconds": 95}"#, 95),
            (r#"{"seconds": "95"}"#, 95),
            (r#"{"seconds": 94.6}"#, 95),
            (r#"{"seconds": "1:35"}"#, 95),
            (r#"{"seconds": "01:01:35"}"#, 3695),
            (r#"{"seconds": null}"#, 0),
            ("{}", 0),
        ] {
            assert_eq!(read(json).seconds, expected, "{json}");
        }
        assert!(serde_json::from_str::<Loose>(r#"{"seconds": "long"}"#).is_err());
    }
}
