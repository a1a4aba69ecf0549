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
        IntOrString::String(text) => text
            .trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("expected an integer, got {text:?}"))),
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
        Some(NumberOrString::String(text)) => text
            .trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("expected a number, got {text:?}"))),
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
                "expected a boolean, got {other:?}"
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
