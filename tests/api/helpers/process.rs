//! The real `switchboard` binary as a child process: for kill -9 restarts and
//! for several replicas on one PostgreSQL.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use switchboard::pb::v1::{
    self as proto, call_context_service_client::CallContextServiceClient,
    outbound_dial_service_client::OutboundDialServiceClient,
};
use tonic::service::interceptor::InterceptedService;

use super::{AuthedChannel, BearerToken, FOCALSCOPE_TOKEN, TEST_TOKEN, WEBHOOK_TOKEN, closed_port};

pub struct Server {
    child: Child,
    pub grpc_port: u16,
    pub http_port: u16,
}

impl Server {
    /// Starts `switchboard serve` on free ports with the test tokens and
    /// `env` (SWITCHBOARD__… settings).
    pub fn spawn(env: &[(&str, String)]) -> Self {
        Self::spawn_on(closed_port(), closed_port(), env)
    }

    /// Like [`Server::spawn`], its log lines (stderr) written to `log`.
    pub fn spawn_logging_to(env: &[(&str, String)], log: &std::path::Path) -> Self {
        let file = std::fs::File::create(log).expect("log file");
        Self::spawn_with_stderr(closed_port(), closed_port(), env, Some(file))
    }

    pub fn spawn_on(grpc_port: u16, http_port: u16, env: &[(&str, String)]) -> Self {
        Self::spawn_with_stderr(grpc_port, http_port, env, None)
    }

    fn spawn_with_stderr(
        grpc_port: u16,
        http_port: u16,
        env: &[(&str, String)],
        log: Option<std::fs::File>,
    ) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command.arg("serve");
        for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("SWITCHBOARD")) {
            command.env_remove(name);
        }
        command
            .env(
                "SWITCHBOARD__SERVER__GRPC_ADDR",
                format!("127.0.0.1:{grpc_port}"),
            )
            .env(
                "SWITCHBOARD__SERVER__HTTP_ADDR",
                format!("127.0.0.1:{http_port}"),
            )
            .env("SWITCHBOARD__AUTH__TOKENS", TEST_TOKEN)
            .env("SWITCHBOARD__WEBHOOKS__OPTICO_TOKEN", WEBHOOK_TOKEN)
            .env("SWITCHBOARD__WEBHOOKS__FOCALSCOPE_TOKEN", FOCALSCOPE_TOKEN)
            .env("RUST_LOG", "warn");
        for (name, value) in env {
            command.env(name, value);
        }
        // SWITCHBOARD_TEST_SERVER_LOGS=1 shows the servers' logs when a test
        // needs debugging.
        let logs = std::env::var_os("SWITCHBOARD_TEST_SERVER_LOGS").is_some();
        let child = command
            .stdout(Stdio::null())
            .stderr(match log {
                Some(file) => Stdio::from(file),
                None if logs => Stdio::inherit(),
                None => Stdio::null(),
            })
            .spawn()
            .expect("switchboard starts");
        Self {
            child,
            grpc_port,
            http_port,
        }
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&self) {
        let client = crate::helpers::http_client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = client
                .get(format!("http://127.0.0.1:{}/readyz", self.http_port))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "server not ready in 60s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, as Kubernetes stops a pod; waits for the exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        self.child.wait().expect("exit status")
    }

    /// SIGKILL, no goodbye.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// POSTs an Optico payload to this replica's webhook.
    pub async fn post_optico(&self, payload: &str) {
        let response = crate::helpers::http_client()
            .post(format!(
                "http://127.0.0.1:{}/webhooks/optico/{WEBHOOK_TOKEN}",
                self.http_port
            ))
            .form(&[("realtimeData", payload)])
            .send()
            .await
            .expect("webhook request");
        assert_eq!(response.status(), 200);
    }

    async fn channel(&self) -> AuthedChannel {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{}", self.grpc_port))
                .expect("url")
                .connect()
                .await
                .expect("grpc connects");
        let token = BearerToken(Some(format!("Bearer {TEST_TOKEN}").parse().expect("ascii")));
        InterceptedService::new(channel, token)
    }

    pub async fn stream(
        &self,
        after_sequence: i64,
    ) -> tonic::Streaming<proto::StreamCallUpdatesResponse> {
        CallContextServiceClient::new(self.channel().await)
            .stream_call_updates(proto::StreamCallUpdatesRequest {
                after_sequence,
                ..Default::default()
            })
            .await
            .expect("stream opens")
            .into_inner()
    }

    pub async fn calls(&self) -> CallContextServiceClient<AuthedChannel> {
        CallContextServiceClient::new(self.channel().await)
    }

    pub async fn dials(&self) -> OutboundDialServiceClient<AuthedChannel> {
        OutboundDialServiceClient::new(self.channel().await)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
