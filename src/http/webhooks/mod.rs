//! Vendor webhooks, one file per vendor: verify the token, decode, store,
//! acknowledge only once committed.

pub mod focalscope;
pub mod optico;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `Retry-After` of a webhook that could not be stored (the database is
/// unreachable): soon, since an outage is usually short and writes resume as
/// soon as it ends.
pub const RETRY_AFTER_SECONDS: &str = "2";

/// The secret path segment of a vendor's webhook URL.
#[derive(Clone)]
pub struct WebhookToken(Option<[u8; 32]>);

impl WebhookToken {
    pub fn new(token: Option<&SecretString>) -> Self {
        Self(token.map(|t| Sha256::digest(t.expose_secret().as_bytes()).into()))
    }

    /// Constant-time comparison of digests (length and content hidden). An
    /// unconfigured token accepts nothing.
    pub fn accepts(&self, presented: &str) -> bool {
        match &self.0 {
            Some(expected) => {
                let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
                expected.ct_eq(&presented).into()
            }
            None => false,
        }
    }
}
