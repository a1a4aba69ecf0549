//! A local HTTP server playing the Optico Call Center API, answering with the
//! documentation's examples and recording what it received.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};

/// The documented callStart success answer.
pub const CALL_START_OK: &str = r#"{
  "status": "OK",
  "resultsNb": 1,
  "results": [
    {
      "call": {
        "id": 22122563,
        "startDate": "2018-01-02 09:29:27",
        "status": "OK_OUTCALL",
        "source": "Adwords",
        "referrer": null,
        "Keyword": "optico tracking",
        "agent": null
      },
      "views": [
        { "id": 568536624, "pageTitle": "Page title",  "url": "http://www.test.com/test.html",  "createdAt": "2018-01-02 09:25:41" },
        { "id": 568536667, "pageTitle": "Page title 2", "url": "http://www.test.com/test2.html", "createdAt": "2018-01-02 09:25:48" }
      ],
      "currentCart": {
        "id": 80359,
        "externalId": "5a4b477e3a05e",
        "isLoggedIn": true,
        "currency": "EUR",
        "status": 0,
        "totalCost": 1000,
        "productsNb": 2,
        "createdAt": "2018-01-02 09:49:46",
        "products": [
          { "id": 662315, "name": "Product 1", "quantity": 1, "costPerUnit": 896 },
          { "id": 662316, "name": "Product 2", "quantity": 1, "costPerUnit": 104 }
        ]
      },
      "orders": [
        { "id": 18676, "agent": "agent@optico.fr", "status": "Info", "isSale": false, "totalCost": 0, "createdAt": "2018-01-02 09:32:20", "products": [] }
      ]
    }
  ]
}"#;

/// The documented setAgentToCall success answer.
pub const SET_AGENT_OK: &str = r#"{
  "status": "OK",
  "resultsNb": 1,
  "results": [
    { "callId": 22122563, "agent": "agent1@optico.fr" }
  ]
}"#;

/// The documented error answer.
pub const NOK_INVALID_KEY: &str =
    r#"{ "status": "NOK", "error": "Invalid API key `b7e2c8a14f9d`" }"#;

/// The three documented webhook payloads.
pub const WEBHOOK_VIEW: &str = r#"{
  "callId": 22122563,
  "type": "view",
  "view": {
    "id": 568536624,
    "pageTitle": "Page title",
    "url": "http://www.test.com/test.html",
    "createdAt": "2018-01-02 09:25:41"
  },
  "cart": null,
  "order": null
}"#;

pub const WEBHOOK_CART: &str = r#"{
  "callId": 22122563,
  "type": "cart",
  "view": null,
  "cart": {
    "id": 80359,
    "externalId": "5a4b477e3a05e",
    "isLoggedIn": true,
    "currency": "EUR",
    "status": 0,
    "totalCost": 1000,
    "productsNb": 2,
    "createdAt": "2018-01-02 09:49:46",
    "products": [
      { "id": 662315, "externalId": "SKU-001", "name": "Product 1", "quantity": 1, "costPerUnit": 896, "details": [] },
      { "id": 662316, "externalId": "SKU-002", "name": "Product 2", "quantity": 1, "costPerUnit": 104, "details": [] }
    ]
  },
  "order": null
}"#;

pub const WEBHOOK_ORDER: &str = r#"{
  "callId": 22122563,
  "type": "order",
  "view": null,
  "cart": null,
  "order": {
    "id": 18676,
    "externalId": "ORD-2018-001",
    "cartId": 80359,
    "externalCartId": "5a4b477e3a05e",
    "agent": "agent1@optico.fr",
    "status": "Completed",
    "isSale": true,
    "currency": "EUR",
    "totalCost": 1000,
    "source": "Adwords",
    "createdAt": "2018-01-02 09:32:20",
    "products": [
      { "id": 662315, "externalId": "SKU-001", "name": "Product 1", "quantity": 1, "costPerUnit": 896, "details": [] }
    ]
  }
}"#;

/// How the fake answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// The documented success answers.
    Documented,
    /// The documented NOK answer.
    InvalidKey,
    /// HTTP 503 with an HTML body.
    ServerError,
    /// Waits this long before answering (to exceed switchboard's timeout).
    Slow(Duration),
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub content_type: String,
    pub form: HashMap<String, String>,
}

#[derive(Clone)]
pub struct FakeOptico {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

impl FakeOptico {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let fake = Self {
            url,
            received: Arc::default(),
            behaviour: Arc::new(Mutex::new(Behaviour::Documented)),
        };
        let router = Router::new()
            .route("/agent-api/callStart", post(answer))
            .route("/agent-api/setAgentToCall", post(answer))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        fake
    }

    pub fn behave(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn answer(
    State(fake): State<FakeOptico>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    fake.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        form,
    });
    let behaviour = fake.behaviour.lock().unwrap().clone();
    let documented = if uri.path().ends_with("callStart") {
        CALL_START_OK
    } else {
        SET_AGENT_OK
    };
    let json = |body: &'static str| {
        (StatusCode::OK, [("content-type", "application/json")], body).into_response()
    };
    match behaviour {
        Behaviour::Documented => json(documented),
        Behaviour::InvalidKey => json(NOK_INVALID_KEY),
        Behaviour::ServerError => (
            StatusCode::SERVICE_UNAVAILABLE,
            "<html>down for maintenance</html>",
        )
            .into_response(),
        Behaviour::Slow(delay) => {
            tokio::time::sleep(delay).await;
            json(documented)
        }
    }
}
