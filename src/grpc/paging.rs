//! AIP-158 paging helpers shared by every List RPC: page size rules and
//! opaque page tokens bound to the filters they were issued for.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::domain::FieldViolation;

/// Reads `page_size`: 0 means `default`, above `max` is capped, negative is
/// an error.
pub fn page_size(value: i32, default: u64, max: u64) -> Result<u64, FieldViolation> {
    match value {
        v if v < 0 => Err(FieldViolation::new(
            "page_size",
            format!("must not be negative, got {v}"),
        )),
        0 => Ok(default),
        v => Ok((v as u64).min(max)),
    }
}

/// A short digest of the filters a token belongs to.
pub fn fingerprint(filters: &impl Serialize) -> String {
    let json = serde_json::to_vec(filters).unwrap_or_default();
    hex::encode(&Sha256::digest(json)[..8])
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Token<T> {
    /// Fingerprint of the filters.
    f: String,
    /// Where the next page starts.
    c: T,
}

/// An opaque token for the page after `cursor`.
pub fn encode_token<T: Serialize>(cursor: &T, fingerprint: &str) -> String {
    let token = Token {
        f: fingerprint.to_owned(),
        c: cursor,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// Reads a token given back by the client: `None` for the first page.
pub fn decode_token<T: DeserializeOwned>(
    token: &str,
    fingerprint: &str,
) -> Result<Option<T>, FieldViolation> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        FieldViolation::new(
            "page_token",
            "is not a token returned by this RPC (pass next_page_token as is)",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let token: Token<T> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if token.f != fingerprint {
        return Err(FieldViolation::new(
            "page_token",
            "was issued for different filters: repeat the request's filters unchanged when paging",
        ));
    }
    Ok(Some(token.c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(page_size(0, 50, 500).unwrap(), 50);
        assert_eq!(page_size(10, 50, 500).unwrap(), 10);
        assert_eq!(page_size(10_000, 50, 500).unwrap(), 500);
        assert_eq!(page_size(-1, 50, 500).unwrap_err().field, "page_size");
    }

    #[test]
    fn tokens_round_trip_and_bind_filters() {
        let token = encode_token(&(5_i64, "x".to_owned()), "abc");
        assert_eq!(
            decode_token::<(i64, String)>(&token, "abc").unwrap(),
            Some((5, "x".to_owned()))
        );
        assert!(decode_token::<(i64, String)>(&token, "other").is_err());
        assert!(decode_token::<(i64, String)>("garbage!", "abc").is_err());
        assert_eq!(decode_token::<(i64, String)>("", "abc").unwrap(), None);
    }
}
