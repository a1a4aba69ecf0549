//! The reference agent panel in a real browser: `serve --sandbox`, the panel
//! opened in headless Chromium (Debian's `chromium`, driven over the Chrome
//! DevTools Protocol), calls started through gRPC, then a server restart on
//! the same database.
//!
//! Skipped, saying so, where no Chromium is installed (`.ci/run` installs
//! it). `SWITCHBOARD_PANEL_SCREENSHOT=path.png` also saves a screenshot of
//! the panel (the README's was taken so).

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use switchboard::pb::v1::{
    self as proto, call_context_service_client::CallContextServiceClient,
    outbound_dial_service_client::OutboundDialServiceClient,
};
use tokio::time::Instant;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

use crate::helpers::{closed_port, http_client};

/// The sandbox's iAdvize operator 101 has this email, so the panel finds
/// its availability; Optico and FocalScope take it as the agent's name.
const AGENT: &str = "julie.martin@example.com";
const WAIT: Duration = Duration::from_secs(30);

/// A Chromium binary: `SWITCHBOARD_CHROMIUM`, else the usual names.
fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SWITCHBOARD_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// `switchboard serve --sandbox` on fixed ports, its SQLite file in `dir`.
struct Sandbox(Child);

impl Sandbox {
    fn spawn(dir: &Path, grpc_port: u16, http_port: u16) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("SWITCHBOARD")) {
            command.env_remove(name);
        }
        let logs = std::env::var_os("SWITCHBOARD_TEST_SERVER_LOGS").is_some();
        let child = command
            .args(["serve", "--sandbox"])
            .current_dir(dir)
            .env(
                "SWITCHBOARD__SERVER__GRPC_ADDR",
                format!("127.0.0.1:{grpc_port}"),
            )
            .env(
                "SWITCHBOARD__SERVER__HTTP_ADDR",
                format!("127.0.0.1:{http_port}"),
            )
            .env("SWITCHBOARD__SERVER__DRAIN_TIMEOUT_MS", "2000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(if logs {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("switchboard starts");
        Self(child)
    }

    async fn wait_ready(http_port: u16) {
        let client = http_client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = client
                .get(format!("http://127.0.0.1:{http_port}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "sandbox not ready in 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, as an operator restarts it; waits for the exit.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Headless Chromium with one page, driven over the DevTools websocket.
struct Browser {
    child: tokio::process::Child,
    page: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn launch(chromium: &Path) -> Self {
        let profile = tempfile::tempdir().expect("profile dir");
        let child = tokio::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,1100",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium starts");
        // Chromium writes the port it picked into the profile directory.
        let port_file = profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Some(port) = text
                    .lines()
                    .next()
                    .and_then(|l| l.trim().parse::<u16>().ok())
            {
                break port;
            }
            assert!(
                Instant::now() < deadline,
                "chromium's DevTools port in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let targets: Vec<Value> = http_client()
            .get(format!("http://127.0.0.1:{port}/json/list"))
            .send()
            .await
            .expect("devtools targets")
            .json()
            .await
            .expect("targets json");
        let ws_url = targets
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page target")
            .to_owned();
        let (page, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .expect("devtools websocket");
        Self {
            child,
            page,
            next_id: 0,
            _profile: profile,
        }
    }

    /// One DevTools command; events in between are skipped.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let command = json!({ "id": id, "method": method, "params": params });
        self.page
            .send(Message::text(command.to_string()))
            .await
            .expect("devtools send");
        let answer = tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                let message = self
                    .page
                    .next()
                    .await
                    .expect("devtools open")
                    .expect("devtools message");
                if let Message::Text(text) = message {
                    let value: Value = serde_json::from_str(&text).expect("devtools json");
                    if value["id"] == id {
                        return value;
                    }
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("devtools {method} answered in 15 s"));
        assert!(answer["error"].is_null(), "{method}: {answer}");
        answer["result"].clone()
    }

    async fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url })).await;
    }

    /// Evaluates `expression` in the page and returns its JSON value.
    async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true }),
            )
            .await;
        result["result"]["value"].clone()
    }

    /// The whole page, not only the window.
    async fn screenshot(&mut self, path: &Path) {
        use base64::Engine as _;
        let metrics = self.call("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let clip = json!({
            "x": 0, "y": 0, "scale": 1,
            "width": size["width"], "height": size["height"],
        });
        let shot = self
            .call(
                "Page.captureScreenshot",
                json!({ "format": "png", "clip": clip, "captureBeyondViewport": true }),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("png data"))
            .expect("base64 png");
        std::fs::write(path, png).expect("screenshot written");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// What the page shows, read from its markup.
const READ_PAGE: &str = r##"(() => {
  const text = (el) => el ? el.textContent.trim() : null;
  return {
    state: document.getElementById("connection").dataset.state,
    stateText: text(document.getElementById("connection")),
    sequences: [...document.querySelectorAll("[data-sequence]")].map((e) => e.dataset.sequence),
    availability: document.getElementById("availability").dataset.state,
    operator: text(document.querySelector("#availability dd")),
    calls: [...document.querySelectorAll("article.call")].map((a) => ({
      id: a.dataset.callId,
      title: text(a.querySelector("h3")),
      source: text(a.querySelector('dd[data-fact="Source"]')),
      keyword: text(a.querySelector('dd[data-fact="Keyword"]')),
      views: [...a.querySelectorAll(".views li[data-sequence]")].map(text),
      earlierViews: a.querySelectorAll(".views li[data-from-sequence]").length,
      cartLive: !!a.querySelector(".cart[data-sequence]"),
      cartProducts: [...a.querySelectorAll(".cart tbody tr")].map((r) => text(r.cells[0])),
      cartTotal: text(a.querySelector(".cart-total")),
      orders: [...a.querySelectorAll(".orders li[data-sequence]")].map(text),
      agentLeg: [...a.querySelectorAll('[data-leg="agent"] li[data-sequence]')].map(text),
      customerLeg: [...a.querySelectorAll('[data-leg="customer"] li[data-sequence]')].map(text),
    })),
  };
})()"##;

/// Reads the page until `done` holds, failing after `WAIT` with the last
/// reading.
async fn wait_for(browser: &mut Browser, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let page = browser.eval(READ_PAGE).await;
        if done(&page) {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "the panel did not show {what} within {WAIT:?}; it shows: {page:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn call_of<'a>(page: &'a Value, id: &str) -> Option<&'a Value> {
    page["calls"]
        .as_array()?
        .iter()
        .find(|c| c["id"].as_str() == Some(id))
}

fn len(value: &Value) -> usize {
    value.as_array().map_or(0, Vec::len)
}

/// The call's Optico webhooks (two views, a cart, an order) are all shown.
fn shows_the_whole_visit(page: &Value, id: &str) -> bool {
    call_of(page, id).is_some_and(|call| {
        len(&call["views"]) == 2
            && call["cartLive"] == true
            && len(&call["orders"]) == 1
            && call["title"]
                .as_str()
                .is_some_and(|t| t.contains("612345678"))
    })
}

async fn start_call(grpc_port: u16, caller: &str) -> String {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{grpc_port}"))
        .expect("url")
        .connect()
        .await
        .expect("grpc connects");
    let started = CallContextServiceClient::new(channel)
        .start_call(proto::StartCallRequest {
            caller_phone: caller.into(),
            destination_phone: "0033123456789".into(),
            start_time: Some(prost_types::Timestamp {
                seconds: chrono::Utc::now().timestamp(),
                nanos: 0,
            }),
            agent: AGENT.into(),
        })
        .await
        .expect("StartCall")
        .into_inner();
    started.call.expect("call").id
}

fn assert_no_duplicate(page: &Value) {
    let sequences: Vec<&str> = page["sequences"]
        .as_array()
        .expect("sequences")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let distinct: HashSet<&str> = sequences.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        sequences.len(),
        "an update is rendered twice: {sequences:?}"
    );
}

#[tokio::test]
async fn the_sandbox_panel_shows_calls_live_and_resumes_after_a_restart() {
    let Some(chromium) = find_chromium() else {
        eprintln!(
            "skipped: no Chromium found (apt-get install chromium, or set SWITCHBOARD_CHROMIUM); the panel was not tested in a browser"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (grpc_port, http_port) = (closed_port(), closed_port());
    let sandbox = Sandbox::spawn(dir.path(), grpc_port, http_port);
    Sandbox::wait_ready(http_port).await;

    let mut browser = Browser::launch(&chromium).await;
    browser
        .navigate(&format!(
            "http://127.0.0.1:{http_port}/panel/?agent={AGENT}"
        ))
        .await;
    // No token, no setting: the sandbox allows its own panel's origin.
    wait_for(&mut browser, "a live connection", |page| {
        page["state"] == "live"
    })
    .await;

    // An incoming call and a FocalScope dial for this agent, through gRPC.
    let first = start_call(grpc_port, "0033612345678").await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{grpc_port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let dialled = OutboundDialServiceClient::new(channel)
        .dial(proto::DialRequest {
            provider: proto::Provider::Focalscope.into(),
            agent: AGENT.into(),
            destination_number: "+33 6 12 34 56 78".into(),
            request_id: "panel-dial".into(),
            ..Default::default()
        })
        .await
        .expect("Dial")
        .into_inner()
        .call
        .expect("call")
        .id;

    let page = wait_for(
        &mut browser,
        "the call's views, cart and order and the dial's legs",
        |page| {
            shows_the_whole_visit(page, &first)
                && call_of(page, &dialled).is_some_and(|dial| {
                    len(&dial["agentLeg"]) == 2 && len(&dial["customerLeg"]) == 2
                })
                && page["availability"] != "unknown"
        },
    )
    .await;
    let call = call_of(&page, &first).unwrap();
    // What Optico knew at StartCall, and what came by webhook after.
    assert_eq!(call["source"], "Adwords", "{call:#}");
    assert_eq!(call["keyword"], "optico tracking", "{call:#}");
    assert_eq!(call["earlierViews"], 2, "{call:#}");
    assert!(
        call["views"][0]
            .as_str()
            .unwrap()
            .contains("Espresso machine X200")
    );
    assert!(
        call["views"][1]
            .as_str()
            .unwrap()
            .contains("Delivery options")
    );
    assert_eq!(
        call["cartProducts"],
        json!(["Espresso machine", "Milk jug", "Descaler"])
    );
    assert!(call["orders"][0].as_str().unwrap().contains("Completed"));
    // The agent's own iAdvize availability (operator 101, found by email).
    assert!(
        page["operator"].as_str().unwrap().contains("#101"),
        "{page:#}"
    );
    assert_no_duplicate(&page);
    if let Some(path) = std::env::var_os("SWITCHBOARD_PANEL_SCREENSHOT") {
        browser.screenshot(Path::new(&path)).await;
    }

    // Restart the server on the same database: the page says it is
    // reconnecting, then resumes after the last update it showed.
    sandbox.stop();
    wait_for(&mut browser, "the reconnecting state", |page| {
        page["state"] == "reconnecting"
    })
    .await;
    let sandbox = Sandbox::spawn(dir.path(), grpc_port, http_port);
    Sandbox::wait_ready(http_port).await;
    wait_for(
        &mut browser,
        "a live connection after the restart",
        |page| page["state"] == "live",
    )
    .await;
    let second = start_call(grpc_port, "0033612345678").await;
    let page = wait_for(&mut browser, "the second call after the restart", |page| {
        shows_the_whole_visit(page, &second)
    })
    .await;
    assert_no_duplicate(&page);
    assert_eq!(len(&page["calls"]), 3, "{page:#}");
    let call = call_of(&page, &first).unwrap();
    assert_eq!(len(&call["views"]), 2, "{call:#}");
    assert_eq!(len(&call["orders"]), 1, "{call:#}");
    assert_eq!(call["earlierViews"], 2, "{call:#}");
    drop(sandbox);
}
