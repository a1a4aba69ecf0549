//! TLS on the gRPC port, reloaded from disk (`server.tls.*`).
//!
//! tonic's own TLS (`ServerTlsConfig`) reads its certificate once, at start;
//! cert-manager renews certificates in place, long before they expire. So
//! the server is given TLS streams instead: an accept loop here runs each
//! handshake (bounded by [`HANDSHAKE_TIMEOUT`], concurrently, so a slow one
//! holds up no other, at most `MAX_HANDSHAKES` at once) with the current
//! rustls configuration, and a watcher
//! reads the files again every `server.tls.reload_interval_ms`; when their
//! bytes changed and they load (certificate chain, matching key, client
//! CAs), new connections get them. Files caught half-written (a mismatched
//! key, a truncated PEM) are not used; the previous configuration stays
//! until the files load. Established connections keep their session.
//!
//! Polling rather than file notifications: Kubernetes updates a mounted
//! Secret by swapping a symlink to a new directory, which inotify watches
//! of the files themselves miss, and reading three small files every few
//! seconds costs nothing.
//!
//! With `server.tls.client_ca_path`, every client must present a
//! certificate issued by one of those CAs (mTLS): others fail the handshake
//! and never reach an RPC. ALPN offers `h2` and `http/1.1`: native gRPC and
//! gRPC-Web from browsers over HTTP/1.1.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::Duration,
};

use rustls::{
    RootCertStore, ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::WebPkiClientVerifier,
};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, mpsc},
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::TlsSettings;

/// Longest a client may take to complete its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the server to take them.
const ACCEPTED_BACKLOG: usize = 128;
/// Handshakes under way at once; a connection beyond is closed on arrival
/// (so connections that never say hello cannot pile up tasks).
const MAX_HANDSHAKES: usize = 1024;

/// Where the PEM files are (validated settings: both set).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

impl TlsFiles {
    /// From `server.tls`, when TLS is on.
    pub fn from_settings(settings: &TlsSettings) -> Option<Self> {
        match (&settings.cert_path, &settings.key_path) {
            (Some(cert), Some(key)) => Some(Self {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: settings.client_ca_path.clone(),
            }),
            _ => None,
        }
    }

    /// Every file's bytes, in order: what is compared to notice a change.
    fn read(&self) -> Result<Vec<Vec<u8>>, String> {
        let mut contents = vec![
            read(&self.cert, "server.tls.cert_path")?,
            read(&self.key, "server.tls.key_path")?,
        ];
        if let Some(path) = &self.client_ca {
            contents.push(read(path, "server.tls.client_ca_path")?);
        }
        Ok(contents)
    }
}

fn read(path: &Path, key: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{key}: cannot read {}: {e}", path.display()))
}

/// The rustls configuration of the files' contents (`[cert, key, ca?]`).
fn build(files: &TlsFiles, contents: &[Vec<u8>]) -> Result<ServerConfig, String> {
    let [cert_pem, key_pem, rest @ ..] = contents else {
        return Err("server.tls: no certificate and key".to_owned());
    };
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("server.tls.cert_path: {}: {e}", files.cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "server.tls.cert_path: {} holds no PEM certificate",
            files.cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| format!("server.tls.key_path: {}: {e}", files.key.display()))?;
    let builder = ServerConfig::builder();
    let builder = match (rest.first(), &files.client_ca) {
        (Some(ca_pem), Some(ca_path)) => {
            let mut roots = RootCertStore::empty();
            for ca in CertificateDer::pem_slice_iter(ca_pem) {
                let ca = ca.map_err(|e| {
                    format!("server.tls.client_ca_path: {}: {e}", ca_path.display())
                })?;
                roots.add(ca).map_err(|e| {
                    format!("server.tls.client_ca_path: {}: {e}", ca_path.display())
                })?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "server.tls.client_ca_path: {} holds no PEM certificate",
                    ca_path.display()
                ));
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .map_err(|e| format!("server.tls.client_ca_path: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        format!(
            "server.tls: the key in {} does not go with the certificate in {}: {e}",
            files.key.display(),
            files.cert.display()
        )
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The current TLS configuration, swapped when the files change.
pub struct ReloadingTls {
    files: TlsFiles,
    current: RwLock<Current>,
}

struct Current {
    config: Arc<ServerConfig>,
    /// The bytes `config` was built from, or that last failed to load (not
    /// retried, nor warned about again, until they change).
    seen: Vec<Vec<u8>>,
}

impl ReloadingTls {
    /// Loads the files (at start: a problem stops start-up, naming the key).
    pub fn load(files: TlsFiles) -> Result<Arc<Self>, String> {
        let contents = files.read()?;
        let config = build(&files, &contents)?;
        info!(
            cert = %files.cert.display(),
            mtls = files.client_ca.is_some(),
            "grpc: tls on"
        );
        Ok(Arc::new(Self {
            files,
            current: RwLock::new(Current {
                config: Arc::new(config),
                seen: contents,
            }),
        }))
    }

    fn acceptor(&self) -> TlsAcceptor {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        TlsAcceptor::from(current.config.clone())
    }

    /// Reads the files again; swaps in their configuration if they changed
    /// and load. Returns whether it swapped.
    pub fn reload(&self) -> bool {
        let contents = match self.files.read() {
            Ok(contents) => contents,
            Err(error) => {
                // A file missing for a moment (the symlink swap): next time.
                debug!(error = %error, "grpc: tls files not readable; keeping the current ones");
                return false;
            }
        };
        {
            let current = self.current.read().unwrap_or_else(|e| e.into_inner());
            if current.seen == contents {
                return false;
            }
        }
        let built = build(&self.files, &contents);
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        current.seen = contents;
        match built {
            Ok(config) => {
                current.config = Arc::new(config);
                metrics::counter!("switchboard_tls_reloads_total", "outcome" => "reloaded")
                    .increment(1);
                info!(cert = %self.files.cert.display(), "grpc: tls certificate reloaded");
                true
            }
            Err(error) => {
                metrics::counter!("switchboard_tls_reloads_total", "outcome" => "failed")
                    .increment(1);
                warn!(error = %error, "grpc: changed tls files do not load; still serving the previous certificate");
                false
            }
        }
    }

    /// Reloads every `interval` until `stop`.
    pub async fn watch(self: Arc<Self>, interval: Duration, stop: CancellationToken) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let tls = self.clone();
            // File reads are blocking calls.
            if let Err(error) = tokio::task::spawn_blocking(move || tls.reload()).await {
                warn!(error = %error, "grpc: tls reload task failed");
            }
        }
    }
}

/// TLS connections accepted on `listener` until `stop` (then the port is
/// closed), for `Server::serve_with_incoming_shutdown`.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<ReloadingTls>,
    stop: CancellationToken,
) -> ReceiverStream<Result<TlsStream<tokio::net::TcpStream>, std::io::Error>> {
    let (accepted, stream) = mpsc::channel(ACCEPTED_BACKLOG);
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                _ = stop.cancelled() => return,
                _ = accepted.closed() => return,
                next = listener.accept() => match next {
                    Ok(next) => next,
                    Err(error) => {
                        warn!(error = %error, "grpc: cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let Ok(handshake) = handshakes.clone().try_acquire_owned() else {
                debug!(peer = %peer, "grpc: too many tls handshakes under way; connection closed");
                metrics::counter!("switchboard_tls_handshake_failures_total").increment(1);
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = tls.acceptor();
            let accepted = accepted.clone();
            tokio::spawn(async move {
                let _handshake = handshake;
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = accepted.send(Ok(stream)).await;
                    }
                    Ok(Err(error)) => {
                        // No certificate, one from another CA, not TLS at all.
                        debug!(peer = %peer, error = %error, "grpc: tls handshake refused");
                        metrics::counter!("switchboard_tls_handshake_failures_total").increment(1);
                    }
                    Err(_) => {
                        debug!(peer = %peer, "grpc: tls handshake timed out");
                        metrics::counter!("switchboard_tls_handshake_failures_total").increment(1);
                    }
                }
            });
        }
    });
    ReceiverStream::new(stream)
}
