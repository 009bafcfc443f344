//! Events published by the producer library arrive keyed by entity, with
//! their headers, and decode back to what was dispatched.

use std::time::Duration;

use offload_e2e::{create_topic, kafka_bootstrap, read_topic, unique_name};
use offload_producer::{Dispatcher, Publisher, PublisherConfig};
use offload_schemas::{Action, CassandraWrite, Codec, CqlValue, DispatchEvent, CONTENT_TYPE};

fn write(statement: &str, value: i64) -> Action {
    Action::CassandraWrite(CassandraWrite {
        statement: statement.into(),
        values: vec![CqlValue::BigInt(value)],
        consistency: None,
        ttl_secs: None,
        timestamp_us: None,
        serial_consistency: None,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn dispatcher_publishes_one_event_per_entity() -> anyhow::Result<()> {
    let topic = unique_name("dispatch");
    create_topic(&topic, 3).await?;
    let publisher = Publisher::new(PublisherConfig::new(kafka_bootstrap(), &topic, "photos-api"))?;

    let mut dispatcher = Dispatcher::new(&publisher);
    dispatcher
        .add("user-1", write("first", 1))
        .add("user-2", write("second", 2))
        .add("user-1", write("third", 3));
    let deliveries = dispatcher.dispatch()?;
    let mut event_ids = Vec::new();
    for delivery in deliveries {
        event_ids.push(delivery.event_id());
        delivery.wait().await?;
    }

    let records = read_topic(&topic, 2, Duration::from_secs(30))?;
    assert_eq!(records.len(), 2);
    let codec = Codec::new();
    let mut events: Vec<DispatchEvent> = Vec::new();
    for record in &records {
        let event = codec.decode(record.payload.as_deref().unwrap_or_default())?;
        assert_eq!(record.key.as_deref(), Some(event.entity_key.as_bytes()));
        assert_eq!(
            record.header("offload-event-id"),
            Some(event.event_id.to_string().as_str())
        );
        assert_eq!(record.header("content-type"), Some(CONTENT_TYPE));
        events.push(event);
    }
    events.sort_by(|a, b| a.entity_key.cmp(&b.entity_key));

    assert_eq!(events[0].entity_key, "user-1");
    assert_eq!(events[0].actions, vec![write("first", 1), write("third", 3)]);
    assert_eq!(events[0].source_service, "photos-api");
    assert_eq!(events[1].entity_key, "user-2");
    assert_eq!(events[1].actions, vec![write("second", 2)]);
    let mut decoded_ids: Vec<_> = events.iter().map(|event| event.event_id).collect();
    decoded_ids.sort();
    event_ids.sort();
    assert_eq!(decoded_ids, event_ids);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_entity_key_is_rejected() -> anyhow::Result<()> {
    let publisher = Publisher::new(PublisherConfig::new(kafka_bootstrap(), "unused", "photos-api"))?;
    let mut dispatcher = Dispatcher::new(&publisher);
    dispatcher.add("", write("first", 1));

    let error = dispatcher.dispatch().unwrap_err();

    assert!(error.to_string().contains("entity_key is empty"), "{error}");
    Ok(())
}
