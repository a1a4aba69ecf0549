//! Bearer-token authentication of gRPC clients (`auth.tokens`).
//!
//! Tokens are compared as SHA-256 digests with `subtle`'s constant-time
//! equality, against every configured token, so neither the position of the
//! first wrong byte nor which token matched shows in the timing. Hashing first
//! also hides the tokens' lengths.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use tonic::{Request, Status, service::Interceptor};

use crate::error::Error;

#[derive(Clone)]
pub struct BearerAuth {
    digests: Arc<Vec<[u8; 32]>>,
    allow_unauthenticated: bool,
}

impl BearerAuth {
    pub fn new(tokens: &[SecretString], allow_unauthenticated: bool) -> Self {
        Self {
            digests: Arc::new(tokens.iter().map(|t| digest(t.expose_secret())).collect()),
            allow_unauthenticated,
        }
    }

    /// Whether `presented` is one of the configured tokens.
    pub fn accepts(&self, presented: &str) -> bool {
        let presented = digest(presented);
        let matched = self
            .digests
            .iter()
            .fold(Choice::from(0), |acc, known| acc | known.ct_eq(&presented));
        matched.into()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Interceptor for BearerAuth {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        if self.allow_unauthenticated {
            return Ok(request);
        }
        let token = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        match token {
            Some(token) if self.accepts(token) => Ok(request),
            Some(_) => Err(Error::Unauthenticated("the bearer token is not valid").into()),
            None => Err(Error::Unauthenticated(
                "missing bearer token: send the metadata `authorization: Bearer <token>`",
            )
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(header: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        if let Some(value) = header {
            request
                .metadata_mut()
                .insert("authorization", value.parse().unwrap());
        }
        request
    }

    #[test]
    fn checks_bearer_tokens() {
        let mut auth = BearerAuth::new(&[SecretString::from("0123456789abcdef")], false);
        assert!(auth.call(request(Some("Bearer 0123456789abcdef"))).is_ok());
        assert!(auth.call(request(Some("bearer 0123456789abcdef"))).is_ok());
        for header in [
            None,
            Some("Bearer wrong"),
            Some("0123456789abcdef"),
            Some("Basic 0123456789abcdef"),
        ] {
            let status = auth.call(request(header)).unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{header:?}");
            assert!(!status.message().contains("0123456789abcdef"));
        }
        let mut open = BearerAuth::new(&[], true);
        assert!(open.call(request(None)).is_ok());
    }
}
