//! TLS and mTLS on the gRPC port (`server.tls.*`), with certificates made at
//! test time (rcgen): a client with a certificate from the configured CA is
//! served (native gRPC over HTTP/2, gRPC-Web over HTTP/1.1, by ALPN); one
//! without a certificate, or with one from another CA, is refused; and when
//! the files on disk are replaced, new connections get the new certificate
//! without a restart (half-written files are not used).

use std::{net::IpAddr, path::Path, sync::Arc, time::Duration};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use prost::Message;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject},
};
use switchboard::pb::v1 as proto;
use tonic::{
    Code,
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::helpers::{AppOptions, BearerToken, TEST_TOKEN, TestApp, optico_ref};

const BOUND: Duration = Duration::from_secs(15);

/// A certificate authority of the test.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("key");
        let pem = params.self_signed(&key).expect("self-signed").pem();
        Self {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate and its key (PEM) for `localhost` and 127.0.0.1.
    fn issue(&self, name: &str, usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::from([127, 0, 0, 1])));
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        (cert.pem(), key.serialize_pem())
    }

    fn server(&self) -> (String, String) {
        self.issue("switchboard", ExtendedKeyUsagePurpose::ServerAuth)
    }

    fn client(&self) -> (String, String) {
        self.issue("agent-app", ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// Replaces a file the way a Secret volume does: all at once.
fn replace(path: &Path, contents: &str) {
    let staged = path.with_extension("new");
    std::fs::write(&staged, contents).expect("write");
    std::fs::rename(&staged, path).expect("rename");
}

struct TlsApp {
    app: TestApp,
    dir: tempfile::TempDir,
}

impl TlsApp {
    async fn start(server_ca: &Ca, client_ca: &Ca) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let (cert, key) = server_ca.server();
        replace(&dir.path().join("tls.crt"), &cert);
        replace(&dir.path().join("tls.key"), &key);
        replace(&dir.path().join("ca.crt"), &client_ca.pem);
        let path = |name: &str| dir.path().join(name).display().to_string();
        let app = TestApp::spawn_with(
            AppOptions::default()
                .env("SWITCHBOARD__SERVER__TLS__CERT_PATH", path("tls.crt"))
                .env("SWITCHBOARD__SERVER__TLS__KEY_PATH", path("tls.key"))
                .env("SWITCHBOARD__SERVER__TLS__CLIENT_CA_PATH", path("ca.crt"))
                .env("SWITCHBOARD__SERVER__TLS__RELOAD_INTERVAL_MS", 100),
        )
        .await;
        Self { app, dir }
    }

    /// A channel trusting `trusted` for the server, presenting `identity`.
    async fn channel(
        &self,
        trusted: &Ca,
        identity: Option<&(String, String)>,
    ) -> Result<Channel, tonic::transport::Error> {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&trusted.pem))
            .domain_name("localhost");
        if let Some((cert, key)) = identity {
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        Endpoint::from_shared(format!("https://127.0.0.1:{}", self.app.grpc_port))
            .expect("url")
            .tls_config(tls)?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(5))
            .connect()
            .await
    }

    /// Whether a new connection trusting `trusted` and presenting
    /// `identity` gets a health answer.
    async fn health(
        &self,
        trusted: &Ca,
        identity: Option<&(String, String)>,
    ) -> Result<(), String> {
        let channel = self
            .channel(trusted, identity)
            .await
            .map_err(|e| format!("{e:?}"))?;
        health_on(channel).await
    }
}

async fn health_on(channel: Channel) -> Result<(), String> {
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .map_err(|status| format!("{status:?}"))?;
    assert_eq!(answer.into_inner().status(), ServingStatus::Serving);
    Ok(())
}

/// gRPC-Web over HTTP/1.1 (negotiated by ALPN) on a TLS connection with a
/// client certificate, as a browser with one would: the health check's
/// answer text.
async fn grpc_web_over_http1(port: u16, trusted: &Ca, identity: &(String, String)) -> String {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(trusted.pem.as_bytes()).expect("ca pem"))
        .expect("root");
    let chain = CertificateDer::pem_slice_iter(identity.0.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("chain");
    let key = PrivateKeyDer::from_pem_slice(identity.1.as_bytes()).expect("key");
    let mut config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .expect("client config");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("tls handshake");
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("http/1.1");
    tokio::spawn(connection);
    let message = HealthCheckRequest::default().encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len()).expect("len").to_be_bytes());
    frame.extend_from_slice(&message);
    let request = http::Request::post("/grpc.health.v1.Health/Check")
        .header("host", "localhost")
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(Full::new(Bytes::from(frame)))
        .expect("request");
    let response = sender.send_request(request).await.expect("answer");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    format!("{content_type} {}", String::from_utf8_lossy(&body))
}

#[tokio::test]
async fn mtls_serves_clients_with_a_certificate_from_the_configured_ca_only() {
    let server_ca = Ca::new("server ca");
    let client_ca = Ca::new("client ca");
    let other_ca = Ca::new("another ca");
    let tls = TlsApp::start(&server_ca, &client_ca).await;
    let valid = client_ca.client();

    // Native gRPC over HTTP/2: health, and an RPC with its token.
    tls.health(&server_ca, Some(&valid)).await.expect("served");
    let channel = tls
        .channel(&server_ca, Some(&valid))
        .await
        .expect("connects");
    let token = BearerToken(Some(format!("Bearer {TEST_TOKEN}").parse().expect("ascii")));
    let status = proto::call_context_service_client::CallContextServiceClient::with_interceptor(
        channel, token,
    )
    .get_call(proto::GetCallRequest {
        call: Some(optico_ref("1")),
    })
    .await
    .expect_err("unknown call");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    // gRPC-Web over HTTP/1.1 on the same port.
    let answer = grpc_web_over_http1(tls.app.grpc_port, &server_ca, &valid).await;
    assert!(answer.starts_with("application/grpc-web"), "{answer}");
    assert!(answer.contains("grpc-status:0"), "{answer}");

    // Refused: no certificate, or one from another CA.
    let refused = tls.health(&server_ca, None).await;
    assert!(
        refused.is_err(),
        "a client without a certificate was served"
    );
    let refused = tls.health(&server_ca, Some(&other_ca.client())).await;
    assert!(
        refused.is_err(),
        "a client with another CA's certificate was served"
    );
    // A plaintext client gets nothing either.
    let plaintext = async {
        let channel = Endpoint::from_shared(tls.app.grpc_url())
            .expect("url")
            .timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        health_on(channel).await
    };
    assert!(plaintext.await.is_err(), "a plaintext client was served");
}

#[tokio::test]
async fn a_replaced_certificate_is_served_without_a_restart() {
    let first_ca = Ca::new("first server ca");
    let client_ca = Ca::new("client ca");
    let tls = TlsApp::start(&first_ca, &client_ca).await;
    let identity = client_ca.client();
    let before = tls
        .channel(&first_ca, Some(&identity))
        .await
        .expect("connects");
    health_on(before.clone()).await.expect("served");

    // cert-manager renews the certificate (here from a new CA, so which one
    // is served shows): the certificate is replaced first, then the key —
    // for a moment the files do not go together, and are not used.
    let second_ca = Ca::new("second server ca");
    assert!(tls.health(&second_ca, Some(&identity)).await.is_err());
    let (cert, key) = second_ca.server();
    replace(&tls.dir.path().join("tls.crt"), &cert);
    tokio::time::sleep(Duration::from_millis(300)).await;
    replace(&tls.dir.path().join("tls.key"), &key);
    let deadline = tokio::time::Instant::now() + BOUND;
    while let Err(error) = tls.health(&second_ca, Some(&identity)).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new certificate is not served: {error}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // New connections no longer get the old one; an established connection
    // keeps its session.
    assert!(tls.health(&first_ca, Some(&identity)).await.is_err());
    health_on(before)
        .await
        .expect("the old connection still works");

    // Files that do not load (half-written) are ignored: the current
    // certificate stays served.
    replace(
        &tls.dir.path().join("tls.crt"),
        "-----BEGIN CERTIFICATE-----\nnot base64",
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    tls.health(&second_ca, Some(&identity))
        .await
        .expect("still served with the last good certificate");
}
