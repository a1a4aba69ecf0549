//! Every RPC the gRPC port serves, read once from the descriptor sets the
//! server registers for reflection: which are streams (counted against
//! `streams.max_open`), and the only method names that become metric
//! labels (a path nobody serves is `unknown`, so a client cannot grow the
//! label set).

use std::{collections::HashMap, sync::OnceLock};

use prost::Message;
use prost_types::FileDescriptorSet;

/// The `grpc_type` label of the go-grpc-prometheus conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcKind {
    Unary,
    ClientStream,
    ServerStream,
    BidiStream,
}

impl RpcKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RpcKind::Unary => "unary",
            RpcKind::ClientStream => "client_stream",
            RpcKind::ServerStream => "server_stream",
            RpcKind::BidiStream => "bidi_stream",
        }
    }

    /// Whether answers keep coming after the first (the RPC holds the
    /// connection's stream open for as long as it runs).
    pub fn streams_answers(self) -> bool {
        matches!(self, RpcKind::ServerStream | RpcKind::BidiStream)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Method {
    /// Fully qualified: `switchboard.v1.CallContextService`.
    pub service: &'static str,
    pub method: &'static str,
    pub kind: RpcKind,
}

impl Method {
    /// The health service answers probes: no server limit applies to it.
    pub fn is_health(&self) -> bool {
        self.service == "grpc.health.v1.Health"
    }
}

/// Stands for any path the server does not serve.
pub const UNKNOWN: Method = Method {
    service: "unknown",
    method: "unknown",
    kind: RpcKind::Unary,
};

/// The served RPCs by HTTP/2 path (`/package.Service/Method`).
pub struct Methods(HashMap<String, Method>);

impl Methods {
    /// The table of every descriptor set the server registers (built once
    /// per process: the names are leaked into `'static` labels once).
    pub fn get() -> &'static Methods {
        static METHODS: OnceLock<Methods> = OnceLock::new();
        METHODS.get_or_init(|| {
            Methods::from_sets(&[
                crate::pb::FILE_DESCRIPTOR_SET,
                tonic_health::pb::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            ])
        })
    }

    fn from_sets(sets: &[&[u8]]) -> Self {
        let mut methods = HashMap::new();
        for bytes in sets {
            // These are the compiled-in sets the server also serves for
            // reflection; one that does not decode adds nothing (its RPCs
            // are then `unknown` in metrics and never counted as streams).
            let Ok(set) = FileDescriptorSet::decode(*bytes) else {
                tracing::warn!("a compiled-in descriptor set does not decode");
                continue;
            };
            for file in set.file {
                let package = file.package.unwrap_or_default();
                for service in file.service {
                    let service_name = match (package.as_str(), service.name()) {
                        ("", name) => name.to_owned(),
                        (package, name) => format!("{package}.{name}"),
                    };
                    let service_name: &'static str = service_name.leak();
                    for method in service.method {
                        let kind = match (method.client_streaming(), method.server_streaming()) {
                            (false, false) => RpcKind::Unary,
                            (true, false) => RpcKind::ClientStream,
                            (false, true) => RpcKind::ServerStream,
                            (true, true) => RpcKind::BidiStream,
                        };
                        let name: &'static str = method.name().to_owned().leak();
                        methods.insert(
                            format!("/{service_name}/{name}"),
                            Method {
                                service: service_name,
                                method: name,
                                kind,
                            },
                        );
                    }
                }
            }
        }
        Self(methods)
    }

    /// The RPC at `path`, or [`UNKNOWN`].
    pub fn lookup(&self, path: &str) -> Method {
        self.0.get(path).copied().unwrap_or(UNKNOWN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_unary_rpcs_are_told_apart() {
        let methods = Methods::get();
        for (path, kind) in [
            (
                "/switchboard.v1.CallContextService/StreamCallUpdates",
                RpcKind::ServerStream,
            ),
            (
                "/switchboard.v1.AgentsService/WatchAgentAvailability",
                RpcKind::ServerStream,
            ),
            (
                "/switchboard.v1.StatsService/ExportCalls",
                RpcKind::ServerStream,
            ),
            ("/switchboard.v1.OutboundDialService/Dial", RpcKind::Unary),
            ("/grpc.health.v1.Health/Check", RpcKind::Unary),
            ("/grpc.health.v1.Health/Watch", RpcKind::ServerStream),
            (
                "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                RpcKind::BidiStream,
            ),
        ] {
            let method = methods.lookup(path);
            assert_eq!(method.kind, kind, "{path}");
            assert_ne!(method.service, "unknown", "{path}");
        }
        let unknown = methods.lookup("/evil.Service/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_eq!((unknown.service, unknown.method), ("unknown", "unknown"));
        assert!(methods.lookup("/grpc.health.v1.Health/Check").is_health());
    }
}
