//! The registry client and the codec's Confluent path against a stand-in
//! registry on 127.0.0.1 that speaks the Schema Registry REST API
//! (`POST /subjects/{subject}/versions`, `GET /schemas/ids/{id}`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::*;
use crate::codec::{Codec, DecodeError, WireFormat};
use crate::samples::typical_event;
use crate::DISPATCH_EVENT_SCHEMA;

/// What the stand-in registry stores and the requests it received.
#[derive(Default)]
struct Registry {
    schemas: Vec<String>,
    subjects: HashMap<String, Vec<u32>>,
    requests: Vec<String>,
}

type Shared = Arc<Mutex<Registry>>;

async fn register(
    State(registry): State<Shared>,
    Path(subject): Path<String>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut registry = registry.lock().unwrap();
    registry.requests.push(format!("POST /subjects/{subject}/versions"));
    let Some(schema) = body["schema"].as_str().map(str::to_string) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error_code": 42201, "message": "Invalid schema"})),
        );
    };

    // Schema ids start at 1 and are shared across subjects, as in the registry.
    let id = match registry.schemas.iter().position(|known| *known == schema) {
        Some(index) => index as u32 + 1,
        None => {
            registry.schemas.push(schema);
            registry.schemas.len() as u32
        }
    };
    let versions = registry.subjects.entry(subject).or_default();
    if !versions.contains(&id) {
        versions.push(id);
    }
    (StatusCode::OK, Json(json!({ "id": id })))
}

async fn schema_by_id(State(registry): State<Shared>, Path(id): Path<u32>) -> (StatusCode, Json<Value>) {
    let mut registry = registry.lock().unwrap();
    registry.requests.push(format!("GET /schemas/ids/{id}"));
    match registry.schemas.get(id as usize - 1) {
        Some(schema) => (StatusCode::OK, Json(json!({ "schema": schema }))),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error_code": 40403, "message": "Schema not found"})),
        ),
    }
}

/// Starts the stand-in registry and returns its URL and state.
async fn start_registry() -> (String, Shared) {
    let state = Shared::default();
    let app = Router::new()
        .route("/subjects/{subject}/versions", post(register))
        .route("/schemas/ids/{id}", get(schema_by_id))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, state)
}

fn requests(state: &Shared) -> Vec<String> {
    state.lock().unwrap().requests.clone()
}

#[tokio::test]
async fn register_uses_value_subject_and_caches_the_id() {
    let (url, state) = start_registry().await;
    let client = SchemaRegistry::new(&url, Duration::from_secs(5)).unwrap();
    let subject = value_subject("offload.dispatch");

    let first = client.register(&subject, DISPATCH_EVENT_SCHEMA).await.unwrap();
    let second = client.register(&subject, DISPATCH_EVENT_SCHEMA).await.unwrap();

    assert_eq!(first, 1);
    assert_eq!(second, 1);
    assert_eq!(requests(&state), vec!["POST /subjects/offload.dispatch-value/versions"]);
    assert_eq!(state.lock().unwrap().schemas, vec![DISPATCH_EVENT_SCHEMA.to_string()]);
}

#[tokio::test]
async fn codec_fetches_unknown_schema_id_once() {
    let (url, state) = start_registry().await;
    let client = SchemaRegistry::new(&url, Duration::from_secs(5)).unwrap();
    let schema_id = client
        .register(&value_subject("events"), DISPATCH_EVENT_SCHEMA)
        .await
        .unwrap();
    let writer = Codec::new().with_wire_format(WireFormat::Confluent { schema_id });
    let record = writer.encode(&typical_event()).unwrap();
    // A separate client, as a consumer in another process would have.
    let reader_client = SchemaRegistry::new(&url, Duration::from_secs(5)).unwrap();
    let reader = Codec::new();

    let first = reader.decode_with_registry(&record, &reader_client).await.unwrap();
    let second = reader.decode_with_registry(&record, &reader_client).await.unwrap();
    let without_registry = reader.decode(&record).unwrap();

    assert_eq!(first, typical_event());
    assert_eq!(second, typical_event());
    assert_eq!(without_registry, typical_event());
    assert_eq!(
        requests(&state),
        vec!["POST /subjects/events-value/versions", "GET /schemas/ids/1"]
    );
}

#[tokio::test]
async fn single_object_records_need_no_registry_call() {
    let (url, state) = start_registry().await;
    let client = SchemaRegistry::new(&url, Duration::from_secs(5)).unwrap();
    let record = Codec::new().encode(&typical_event()).unwrap();

    let decoded = Codec::new().decode_with_registry(&record, &client).await.unwrap();

    assert_eq!(decoded, typical_event());
    assert!(requests(&state).is_empty());
}

#[tokio::test]
async fn unknown_schema_id_is_a_permanent_error() {
    let (url, _state) = start_registry().await;
    let client = SchemaRegistry::new(&url, Duration::from_secs(5)).unwrap();
    let record = Codec::new()
        .with_wire_format(WireFormat::Confluent { schema_id: 41 })
        .encode(&typical_event())
        .unwrap();

    let error = Codec::new().decode_with_registry(&record, &client).await.unwrap_err();

    assert!(matches!(error, DecodeError::Registry { schema_id: 41, .. }), "{error}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn unreachable_registry_is_retryable() {
    // Bind and drop a listener to get a local port that refuses connections.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = SchemaRegistry::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2)).unwrap();

    let error = client
        .register("events-value", DISPATCH_EVENT_SCHEMA)
        .await
        .unwrap_err();

    assert!(matches!(error, RegistryError::Register { .. }), "{error}");
    assert!(error.is_retryable(), "{error:?}");
}

#[tokio::test]
async fn basic_auth_credentials_reach_the_registry() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let app = Router::new()
        .route(
            "/schemas/ids/{id}",
            get(
                |State(seen): State<Arc<Mutex<Vec<String>>>>, headers: axum::http::HeaderMap| async move {
                    let authorization = headers
                        .get(axum::http::header::AUTHORIZATION)
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    seen.lock().unwrap().push(authorization);
                    Json(json!({ "schema": DISPATCH_EVENT_SCHEMA }))
                },
            ),
        )
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client =
        SchemaRegistry::with_basic_auth(&url, Duration::from_secs(5), Some(("worker", Some("s3cret")))).unwrap();

    client.schema(7).await.unwrap();

    // base64("worker:s3cret")
    assert_eq!(*seen.lock().unwrap(), vec!["Basic d29ya2VyOnMzY3JldA==".to_string()]);
}
