//! A stand-in schema registry on 127.0.0.1 that serves the two calls
//! offload makes, as Confluent Schema Registry's REST API does:
//! `POST /subjects/{subject}/versions` registers a schema and returns its
//! id, and `GET /schemas/ids/{id}` returns the schema. Ids start at 1 and
//! are shared across subjects.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// What the registry stores and the requests it received.
#[derive(Debug, Default)]
struct Stored {
    schemas: Vec<String>,
    requests: Vec<String>,
    /// Whether schema lookups fail with 503 Service Unavailable, as a
    /// registry does while it cannot serve.
    unavailable: bool,
}

/// A running stand-in registry; it stops with the test's runtime.
pub struct StandInRegistry {
    /// Base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    stored: Arc<Mutex<Stored>>,
}

impl StandInRegistry {
    /// Starts the registry on a free loopback port.
    pub async fn start() -> anyhow::Result<StandInRegistry> {
        let stored = Arc::new(Mutex::new(Stored::default()));
        let app = Router::new()
            .route("/subjects/{subject}/versions", post(register))
            .route("/schemas/ids/{id}", get(schema_by_id))
            .with_state(Arc::clone(&stored));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(StandInRegistry { url, stored })
    }

    /// Makes schema lookups fail with 503 (`true`) or succeed again (`false`).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.lock().unavailable = unavailable;
    }

    /// Returns the requests received so far, as `METHOD path`.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Stored> {
        self.stored.lock().expect("no registry handler panics")
    }
}

async fn register(
    State(stored): State<Arc<Mutex<Stored>>>,
    Path(subject): Path<String>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut stored = stored.lock().expect("no registry handler panics");
    stored.requests.push(format!("POST /subjects/{subject}/versions"));
    let Some(schema) = body["schema"].as_str().map(str::to_string) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error_code": 42201, "message": "Invalid schema"})),
        );
    };
    let id = match stored.schemas.iter().position(|known| *known == schema) {
        Some(index) => index + 1,
        None => {
            stored.schemas.push(schema);
            stored.schemas.len()
        }
    };
    (StatusCode::OK, Json(json!({ "id": id })))
}

async fn schema_by_id(State(stored): State<Arc<Mutex<Stored>>>, Path(id): Path<usize>) -> (StatusCode, Json<Value>) {
    let mut stored = stored.lock().expect("no registry handler panics");
    stored.requests.push(format!("GET /schemas/ids/{id}"));
    if stored.unavailable {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error_code": 50301, "message": "Service unavailable"})),
        );
    }
    match id.checked_sub(1).and_then(|index| stored.schemas.get(index)) {
        Some(schema) => (StatusCode::OK, Json(json!({ "schema": schema }))),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error_code": 40403, "message": "Schema not found"})),
        ),
    }
}
