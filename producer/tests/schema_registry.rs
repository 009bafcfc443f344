//! With a schema registry configured, the publisher registers the schema
//! under `<topic>-value` and writes the Confluent wire format, and the
//! decoder reads those records from Kafka through the registry. The
//! registry is a stand-in on 127.0.0.1 that speaks the Schema Registry
//! REST API.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use offload_e2e::{create_topic, kafka_bootstrap, read_topic, unique_name};
use offload_producer::{Dispatcher, Publisher, PublisherConfig};
use offload_schemas::samples::typical_actions;
use offload_schemas::{Codec, SchemaRegistry, DISPATCH_EVENT_SCHEMA};
use serde_json::{json, Value};

/// Registered schemas (id = index + 1) and the paths of received requests.
type Shared = Arc<Mutex<(Vec<String>, Vec<String>)>>;

async fn start_registry() -> anyhow::Result<(String, Shared)> {
    let state = Shared::default();
    let app = Router::new()
        .route(
            "/subjects/{subject}/versions",
            post(
                |State(state): State<Shared>, Path(subject): Path<String>, Json(body): Json<Value>| async move {
                    let mut state = state.lock().unwrap();
                    state.1.push(format!("POST /subjects/{subject}/versions"));
                    let schema = body["schema"].as_str().unwrap_or_default().to_string();
                    let id = match state.0.iter().position(|known| *known == schema) {
                        Some(index) => index + 1,
                        None => {
                            state.0.push(schema);
                            state.0.len()
                        }
                    };
                    Json(json!({ "id": id }))
                },
            ),
        )
        .route(
            "/schemas/ids/{id}",
            get(|State(state): State<Shared>, Path(id): Path<usize>| async move {
                let mut state = state.lock().unwrap();
                state.1.push(format!("GET /schemas/ids/{id}"));
                Json(json!({ "schema": state.0[id - 1] }))
            }),
        )
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, state))
}

#[tokio::test(flavor = "multi_thread")]
async fn confluent_records_round_trip_through_kafka() -> anyhow::Result<()> {
    let (url, state) = start_registry().await?;
    let topic = unique_name("registry");
    create_topic(&topic, 1).await?;
    let mut config = PublisherConfig::new(kafka_bootstrap(), &topic, "photos-api");
    config.schema_registry_url = Some(url.clone());
    let new_error = Publisher::new(config.clone()).unwrap_err();
    let publisher = Publisher::connect(config).await?;

    let mut dispatcher = Dispatcher::new(&publisher);
    for action in typical_actions() {
        dispatcher.add("post-42", action);
    }
    for delivery in dispatcher.dispatch().await? {
        delivery.wait().await?;
    }

    assert!(new_error.to_string().contains("Publisher::connect"), "{new_error}");
    let records = read_topic(&topic, 1, Duration::from_secs(30))?;
    let payload = records[0].payload.clone().unwrap_or_default();
    assert_eq!(&payload[..5], &[0, 0, 0, 0, 1], "magic byte and schema id 1");
    let registry = SchemaRegistry::new(&url, Duration::from_secs(5))?;
    let event = Codec::new().decode_with_registry(&payload, &registry).await?;
    assert_eq!(event.actions, typical_actions());
    let state = state.lock().unwrap();
    assert_eq!(state.0, vec![DISPATCH_EVENT_SCHEMA.to_string()]);
    assert_eq!(
        state.1,
        vec![
            format!("POST /subjects/{topic}-value/versions"),
            "GET /schemas/ids/1".to_string()
        ]
    );
    Ok(())
}
