//! `switchboard serve --sandbox`, as the README runs it: no credentials, the
//! vendors simulated in-process, gRPC open on loopback.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use switchboard::pb::v1::{
    self as proto, call_context_service_client::CallContextServiceClient,
    outbound_dial_service_client::OutboundDialServiceClient, stream_call_updates_response::Update,
};
use tonic::Code;

use crate::helpers::{closed_port, http_client};

struct Sandbox(std::process::Child);

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_sandbox_simulates_every_call_vendor_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let (grpc_port, http_port) = (closed_port(), closed_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("SWITCHBOARD")) {
        command.env_remove(name);
    }
    let _sandbox = Sandbox(
        command
            .args(["serve", "--sandbox"])
            .current_dir(dir.path())
            .env(
                "SWITCHBOARD__SERVER__GRPC_ADDR",
                format!("127.0.0.1:{grpc_port}"),
            )
            .env(
                "SWITCHBOARD__SERVER__HTTP_ADDR",
                format!("127.0.0.1:{http_port}"),
            )
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = http_client();
    let ready = async {
        loop {
            let ok = client
                .get(format!("http://127.0.0.1:{http_port}/readyz"))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ok {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), ready)
        .await
        .expect("sandbox ready");
    // The SQLite file is created in the working directory, as documented.
    assert!(dir.path().join("switchboard.db").exists());

    // No token needed on loopback.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{grpc_port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut calls = CallContextServiceClient::new(channel.clone());
    let mut dials = OutboundDialServiceClient::new(channel);
    let mut stream = calls
        .stream_call_updates(proto::StreamCallUpdatesRequest::default())
        .await
        .unwrap()
        .into_inner();

    // Optico: a started call gets page views and a cart change by webhook.
    let started = calls
        .start_call(proto::StartCallRequest {
            caller_phone: "0033612345678".into(),
            destination_phone: "0033123456789".into(),
            start_time: Some(prost_types::Timestamp {
                seconds: 1_763_900_000,
                nanos: 0,
            }),
            agent: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.matches.len(), 1);
    assert_eq!(started.matches[0].views.len(), 2);
    // FocalScope: both legs pick up and hang up.
    let dialled = dials
        .dial(proto::DialRequest {
            provider: proto::Provider::Focalscope.into(),
            agent: "ext-201".into(),
            destination_number: "+33 6 12 34 56 78".into(),
            request_id: "sandbox-dial".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();

    let (mut views, mut carts, mut dial_events, mut ended) = (0, 0, 0, false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while views < 2 || carts < 1 || dial_events < 4 || !ended {
        let update = tokio::time::timeout_at(deadline, stream.message())
            .await
            .expect("the simulated vendors call back within seconds")
            .unwrap()
            .unwrap();
        match update.update {
            Some(Update::View(_)) if update.call_id == started.call.as_ref().unwrap().id => {
                views += 1
            }
            Some(Update::Cart(_)) => carts += 1,
            Some(Update::DialEvent(_)) if update.call_id == dialled.id => dial_events += 1,
            Some(Update::StatusChanged(change))
                if update.call_id == dialled.id && change.status() == proto::CallStatus::Ended =>
            {
                ended = true
            }
            _ => {}
        }
    }

    // The dial's customer leg was recorded: the sandbox PBX serves it.
    let mut recording = dials
        .get_call_recording(proto::GetCallRecordingRequest {
            call: Some(proto::CallRef {
                r#ref: Some(proto::call_ref::Ref::Id(dialled.id.clone())),
            }),
            leg: proto::LegKind::Customer.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = recording.message().await.unwrap().expect("a first chunk");
    assert_eq!(first.content_type, "audio/wav");
    let mut wav = first.data;
    while let Some(message) = recording.message().await.unwrap() {
        wav.extend(message.data);
    }
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(Some(wav.len() as i64), first.content_length);

    // CCAI: a created call, and the documented "not available" refusal.
    let created = dials
        .dial(proto::DialRequest {
            provider: proto::Provider::Ccai.into(),
            agent: "agent@example.com".into(),
            destination_number: "+1 205-123-4567".into(),
            request_id: "sandbox-ccai".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .call
        .unwrap();
    assert_eq!(created.status(), proto::CallStatus::Assigned);
    let busy = dials
        .dial(proto::DialRequest {
            provider: proto::Provider::Ccai.into(),
            agent: "busy@example.com".into(),
            destination_number: "+1 205-123-4567".into(),
            request_id: "sandbox-busy".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(busy.code(), Code::FailedPrecondition);
    assert!(busy.message().contains("Agent is not available"));
}
