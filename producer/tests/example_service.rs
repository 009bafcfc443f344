//! The example primary service: HTTP requests in, one event per entity out,
//! read back from the real Kafka.

#[path = "../examples/primary_service/app.rs"]
#[allow(dead_code)]
mod app;

use std::time::Duration;

use offload_e2e::{create_topic, kafka_bootstrap, read_topic, unique_name};
use offload_producer::{Publisher, PublisherConfig};
use offload_schemas::{Action, Codec, CqlValue, DispatchEvent};

async fn post(client: &reqwest::Client, url: String, body: &str) -> anyhow::Result<reqwest::StatusCode> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?;
    Ok(response.status())
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_become_events_per_entity() -> anyhow::Result<()> {
    let topic = unique_name("example");
    create_topic(&topic, 3).await?;
    let publisher = Publisher::new(PublisherConfig::new(kafka_bootstrap(), &topic, "example-photos"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = app::router(publisher.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();

    let liked = post(
        &client,
        format!("{base}/posts/p1/likes"),
        r#"{"user_id":"u2","owner_id":"u1","owner_fcm_token":"fcm-u1"}"#,
    )
    .await?;
    let commented = post(
        &client,
        format!("{base}/posts/p1/comments"),
        r#"{"user_id":"u3","text":"nice","owner_id":"u1","owner_device_token":"ab12"}"#,
    )
    .await?;
    let rejected = post(
        &client,
        format!("{base}/posts/p1/comments"),
        r#"{"user_id":"u3","text":"","owner_id":"u1","owner_device_token":"ab12"}"#,
    )
    .await?;
    publisher.flush(Duration::from_secs(30)).await?;

    assert_eq!(liked, reqwest::StatusCode::OK);
    assert_eq!(commented, reqwest::StatusCode::CREATED);
    assert_eq!(rejected, reqwest::StatusCode::BAD_REQUEST);
    // Two requests, each touching the post and its owner: four events.
    let records = read_topic(&topic, 4, Duration::from_secs(30))?;
    assert_eq!(records.len(), 4);
    let codec = Codec::new();
    let mut events: Vec<DispatchEvent> = records
        .iter()
        .map(|record| codec.decode(record.payload.as_deref().unwrap_or_default()))
        .collect::<Result<_, _>>()?;
    events.sort_by_key(|event| (event.entity_key.clone(), event.actions.len()));
    let kinds = |event: &DispatchEvent| event.actions.iter().map(Action::kind).collect::<Vec<_>>();

    assert_eq!(events[0].entity_key, "p1");
    assert_eq!(kinds(&events[0]), ["cassandra_write"]);
    assert_eq!(events[1].entity_key, "p1");
    assert_eq!(kinds(&events[1]), ["cassandra_write", "cassandra_write"]);
    let Action::CassandraWrite(insert) = &events[1].actions[0] else {
        unreachable!()
    };
    assert_eq!(insert.statement, "insert_comment");
    assert_eq!(insert.values[2], CqlValue::Text("nice".into()));
    assert_eq!(events[2].entity_key, "u1");
    assert_eq!(events[3].entity_key, "u1");
    let mut push_kinds = [kinds(&events[2]), kinds(&events[3])].concat();
    push_kinds.sort();
    assert_eq!(push_kinds, ["apns_push", "fcm_push"]);
    for event in &events {
        assert_eq!(event.source_service, "example-photos");
    }
    Ok(())
}
