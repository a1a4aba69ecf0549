//! Bearer-token authentication of gRPC clients, for every switchboard RPC
//! (health and reflection stay open, as before).
//!
//! Two kinds of token:
//! - `auth.tokens` may call every RPC;
//! - `auth.read_only_tokens` may call only the reading RPCs: `Get*`,
//!   `List*`, `Stream*`, `Watch*` and `Export*`. A token in a browser can be
//!   read by anyone at that desk, so it must not be able to dial or change
//!   agents; anything else answers PERMISSION_DENIED naming the RPC.
//!
//! Tokens are compared as SHA-256 digests with `subtle`'s constant-time
//! equality, against every configured token of both kinds, so neither the
//! position of the first wrong byte nor which token matched shows in the
//! timing. Hashing first also hides the tokens' lengths.
//!
//! This is a tower-http `ValidateRequest` on the whole gRPC server rather
//! than a tonic `Interceptor`: an interceptor never sees the request's path,
//! and which RPC is called is what a read-only token is judged on.

use std::sync::Arc;

use http::{Request, Response, header::AUTHORIZATION};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use tonic::Status;
use tower_http::validate_request::ValidateRequest;

use crate::error::Error;

/// Services every client may call without a token: load balancers probe
/// health, and reflection only describes the API.
const OPEN_SERVICES: &[&str] = &[
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Method-name prefixes of the RPCs that only read.
const READING_PREFIXES: &[&str] = &["Get", "List", "Stream", "Watch", "Export"];

/// What a presented token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Every RPC (`auth.tokens`, or `auth.allow_unauthenticated`).
    Full,
    /// The reading RPCs only (`auth.read_only_tokens`).
    ReadOnly,
}

#[derive(Clone)]
pub struct BearerAuth {
    full: Arc<Vec<[u8; 32]>>,
    read_only: Arc<Vec<[u8; 32]>>,
    allow_unauthenticated: bool,
}

impl BearerAuth {
    pub fn new(
        tokens: &[SecretString],
        read_only_tokens: &[SecretString],
        allow_unauthenticated: bool,
    ) -> Self {
        let digests = |tokens: &[SecretString]| {
            Arc::new(
                tokens
                    .iter()
                    .map(|t| digest(t.expose_secret()))
                    .collect::<Vec<_>>(),
            )
        };
        Self {
            full: digests(tokens),
            read_only: digests(read_only_tokens),
            allow_unauthenticated,
        }
    }

    /// What `presented` may do, or `None` when it is no configured token.
    pub fn access(&self, presented: &str) -> Option<Access> {
        let presented = digest(presented);
        // Both lists are compared in full, whatever matches first.
        let any = |known: &[[u8; 32]]| {
            known
                .iter()
                .fold(Choice::from(0), |acc, known| acc | known.ct_eq(&presented))
        };
        let (full, read_only): (bool, bool) = (any(&self.full).into(), any(&self.read_only).into());
        match (full, read_only) {
            (true, _) => Some(Access::Full),
            (false, true) => Some(Access::ReadOnly),
            (false, false) => None,
        }
    }

    /// Whether a request for `path` (`/package.Service/Method`) with this
    /// `authorization` header may go on.
    pub fn check(&self, path: &str, authorization: Option<&str>) -> Result<(), Error> {
        let (service, method) = split_path(path);
        if OPEN_SERVICES.contains(&service) || self.allow_unauthenticated {
            return Ok(());
        }
        let token = authorization.and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
        let Some(token) = token else {
            return Err(Error::Unauthenticated(
                "missing bearer token: send the metadata `authorization: Bearer <token>`",
            ));
        };
        match self.access(token) {
            Some(Access::Full) => Ok(()),
            Some(Access::ReadOnly) if is_reading_rpc(method) => Ok(()),
            Some(Access::ReadOnly) => Err(Error::ReadOnlyToken {
                rpc: path.trim_start_matches('/').to_owned(),
            }),
            None => Err(Error::Unauthenticated("the bearer token is not valid")),
        }
    }
}

/// `/switchboard.v1.CallContextService/GetCall` →
/// (`switchboard.v1.CallContextService`, `GetCall`).
fn split_path(path: &str) -> (&str, &str) {
    let path = path.trim_start_matches('/');
    path.split_once('/').unwrap_or((path, ""))
}

/// Whether a method name is one a read-only token may call: a reading
/// prefix followed by a capital (`GetCall`, not `Getaway`).
pub fn is_reading_rpc(method: &str) -> bool {
    READING_PREFIXES.iter().any(|prefix| {
        method
            .strip_prefix(prefix)
            .and_then(|rest| rest.chars().next())
            .is_some_and(|c| c.is_ascii_uppercase())
    })
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl<B> ValidateRequest<B> for BearerAuth {
    type ResponseBody = tonic::body::Body;

    fn validate(&mut self, request: &mut Request<B>) -> Result<(), Response<Self::ResponseBody>> {
        let authorization = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        self.check(request.uri().path(), authorization)
            .map_err(|error| Status::from(error).into_http())
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    const FULL: &str = "0123456789abcdef";
    const READ_ONLY: &str = "ro-0123456789abcdef";
    const DIAL: &str = "/switchboard.v1.OutboundDialService/Dial";
    const STREAM: &str = "/switchboard.v1.CallContextService/StreamCallUpdates";

    fn auth() -> BearerAuth {
        BearerAuth::new(
            &[SecretString::from(FULL)],
            &[SecretString::from(READ_ONLY)],
            false,
        )
    }

    fn code(result: Result<(), Error>) -> Option<tonic::Code> {
        result.err().map(|e| Status::from(e).code())
    }

    #[test]
    fn checks_bearer_tokens() {
        let auth = auth();
        let bearer = format!("Bearer {FULL}");
        assert!(auth.check(DIAL, Some(&bearer)).is_ok());
        assert!(auth.check(DIAL, Some(&format!("bearer {FULL}"))).is_ok());
        for header in [
            None,
            Some("Bearer wrong"),
            Some(FULL),
            Some("Basic 0123456789abcdef"),
        ] {
            let status = Status::from(auth.check(STREAM, header).unwrap_err());
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{header:?}");
            assert!(!status.message().contains(FULL));
        }
        let open = BearerAuth::new(&[], &[], true);
        assert!(open.check(DIAL, None).is_ok());
    }

    #[test]
    fn health_and_reflection_need_no_token() {
        let auth = auth();
        for path in [
            "/grpc.health.v1.Health/Check",
            "/grpc.health.v1.Health/Watch",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert!(auth.check(path, None).is_ok(), "{path}");
        }
        // Anything else, even an unknown service, needs a token.
        assert_eq!(
            code(auth.check("/other.Service/GetThing", None)),
            Some(tonic::Code::Unauthenticated)
        );
    }

    #[test]
    fn read_only_tokens_may_only_read() {
        let auth = auth();
        let bearer = format!("Bearer {READ_ONLY}");
        assert!(auth.check(STREAM, Some(&bearer)).is_ok());
        let status = Status::from(auth.check(DIAL, Some(&bearer)).unwrap_err());
        assert_eq!(status.code(), tonic::Code::PermissionDenied);
        assert!(
            status
                .message()
                .contains("switchboard.v1.OutboundDialService/Dial"),
            "{}",
            status.message()
        );
        assert!(!status.message().contains(READ_ONLY));
    }

    /// Every RPC of the API, from the compiled descriptors: the reading ones
    /// are exactly those a read-only token may call, and the list of the
    /// others is spelled out so that a new RPC is a decision, not an accident.
    #[test]
    fn every_rpc_is_classified() {
        let set = prost_types::FileDescriptorSet::decode(crate::pb::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        let mut writing = Vec::new();
        let mut reading = 0;
        let auth = auth();
        let bearer = format!("Bearer {READ_ONLY}");
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    let name = method.name();
                    let path = format!("/{}.{}/{name}", file.package(), service.name());
                    let allowed = auth.check(&path, Some(&bearer)).is_ok();
                    assert_eq!(allowed, is_reading_rpc(name), "{path}");
                    if allowed {
                        reading += 1;
                    } else {
                        writing.push(name.to_owned());
                    }
                }
            }
        }
        writing.sort();
        assert_eq!(
            writing,
            [
                "AssignAgent",
                "CreateAgent",
                "CreateGroup",
                "CreateInboundCall",
                "CreateSkill",
                "CreateTags",
                "CreateVisitor",
                "DeleteAgent",
                "DeleteGroup",
                "DeleteSkill",
                "DeleteVisitor",
                "Dial",
                "NotifyCallHangup",
                "NotifyCallPickup",
                "ScheduleCall",
                "SetAgentAvailability",
                "StartCall",
                "UpdateAgent",
                "UpdateCustomerFlags",
                "UpdateGroup",
                "UpdateSkill",
                "UpdateVisitor",
                "UpdateWebsite",
            ]
        );
        assert!(reading > 20, "{reading} reading RPCs");
        assert!(!is_reading_rpc("Getaway"));
        assert!(!is_reading_rpc("Get"));
    }
}
