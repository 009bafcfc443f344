//! Events published by the producer library arrive keyed by entity, with
//! their headers, and decode back to what was dispatched.

use std::time::Duration;

use offload_e2e::{create_topic, kafka_bootstrap, read_topic, unique_name, ReadRecord};
use offload_producer::{DispatchError, Dispatcher, Publisher, PublisherConfig, ValidationError};
use offload_schemas::samples::event_with_every_action;
use offload_schemas::{Action, CassandraWrite, Codec, CqlValue, DispatchEvent, CONTENT_TYPE};

fn write(statement: &str, value: i64) -> Action {
    Action::CassandraWrite(CassandraWrite::new(statement, vec![CqlValue::BigInt(value)]))
}

/// Decodes every record with the worker's decoder, sorted by entity key.
fn decode_all(records: &[ReadRecord]) -> anyhow::Result<Vec<DispatchEvent>> {
    let codec = Codec::new();
    let mut events = Vec::new();
    for record in records {
        events.push(codec.decode(record.payload.as_deref().unwrap_or_default())?);
    }
    events.sort_by(|a, b| a.entity_key.cmp(&b.entity_key));
    Ok(events)
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
    let deliveries = dispatcher.dispatch().await?;
    let mut event_ids = Vec::new();
    for delivery in deliveries {
        event_ids.push(delivery.event_id());
        delivery.wait().await?;
    }

    let records = read_topic(&topic, 2, Duration::from_secs(30))?;
    assert_eq!(records.len(), 2);
    for record in &records {
        let event = Codec::new().decode(record.payload.as_deref().unwrap_or_default())?;
        assert_eq!(record.key.as_deref(), Some(event.entity_key.as_bytes()));
        assert_eq!(
            record.header("offload-event-id"),
            Some(event.event_id.to_string().as_str())
        );
        assert_eq!(record.header("content-type"), Some(CONTENT_TYPE));
        // No OpenTelemetry layer is installed here, so there is no trace to continue.
        assert_eq!(record.header("traceparent"), None);
    }
    let events = decode_all(&records)?;
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

/// Every action type and every bound-value type, with every optional field
/// set and unset, through the real broker and back.
#[tokio::test(flavor = "multi_thread")]
async fn every_action_and_value_type_round_trips() -> anyhow::Result<()> {
    let topic = unique_name("dispatch");
    create_topic(&topic, 2).await?;
    let publisher = Publisher::new(PublisherConfig::new(kafka_bootstrap(), &topic, "photos-api"))?;
    let sample = event_with_every_action();

    let mut dispatcher = Dispatcher::new(&publisher);
    for action in sample.actions.iter().cloned() {
        dispatcher.add("user-42", action);
    }
    dispatcher.add("user-43", sample.actions[0].clone());
    for delivery in dispatcher.dispatch().await? {
        delivery.wait().await?;
    }

    let records = read_topic(&topic, 2, Duration::from_secs(30))?;
    let events = decode_all(&records)?;
    assert_eq!(events.len(), 2);
    let decoded = &events[0];
    assert_eq!(decoded.entity_key, "user-42");
    assert_eq!(decoded.source_service, "photos-api");
    assert_eq!(decoded.actions.len(), sample.actions.len());
    for (index, (got, expected)) in decoded.actions.iter().zip(&sample.actions).enumerate() {
        match (got, expected) {
            (Action::CassandraWrite(got), Action::CassandraWrite(expected)) => {
                assert_eq!(got.statement, expected.statement, "action {index}");
                assert_eq!(got.values.len(), expected.values.len(), "action {index}");
                for (position, (value, sent)) in got.values.iter().zip(&expected.values).enumerate() {
                    assert_eq!(value, sent, "action {index}, value {position} ({})", sent.type_name());
                }
                assert_eq!(got.consistency, expected.consistency, "action {index}");
                assert_eq!(got.serial_consistency, expected.serial_consistency, "action {index}");
                assert_eq!(got.ttl_secs, expected.ttl_secs, "action {index}");
                assert_eq!(got.timestamp_us, expected.timestamp_us, "action {index}");
            }
            (Action::ApnsPush(got), Action::ApnsPush(expected)) => {
                assert_eq!(got.device_token, expected.device_token, "action {index}");
                assert_eq!(got.topic, expected.topic, "action {index}");
                assert_eq!(got.push_type, expected.push_type, "action {index}");
                assert_eq!(got.priority, expected.priority, "action {index}");
                assert_eq!(
                    got.expiration_epoch_secs, expected.expiration_epoch_secs,
                    "action {index}"
                );
                assert_eq!(got.collapse_id, expected.collapse_id, "action {index}");
                assert_eq!(got.apns_id, expected.apns_id, "action {index}");
                assert_eq!(got.alert, expected.alert, "action {index}");
                assert_eq!(got.badge, expected.badge, "action {index}");
                assert_eq!(got.sound, expected.sound, "action {index}");
                assert_eq!(got.content_available, expected.content_available, "action {index}");
                assert_eq!(got.mutable_content, expected.mutable_content, "action {index}");
                assert_eq!(got.thread_id, expected.thread_id, "action {index}");
                assert_eq!(got.category, expected.category, "action {index}");
                assert_eq!(got.interruption_level, expected.interruption_level, "action {index}");
                assert_eq!(got.custom_data_json, expected.custom_data_json, "action {index}");
            }
            (Action::FcmPush(got), Action::FcmPush(expected)) => {
                assert_eq!(got.token, expected.token, "action {index}");
                assert_eq!(got.topic, expected.topic, "action {index}");
                assert_eq!(got.condition, expected.condition, "action {index}");
                assert_eq!(got.notification, expected.notification, "action {index}");
                assert_eq!(got.data, expected.data, "action {index}");
                assert_eq!(got.android, expected.android, "action {index}");
                assert_eq!(got.apns_override_json, expected.apns_override_json, "action {index}");
                assert_eq!(
                    got.webpush_override_json, expected.webpush_override_json,
                    "action {index}"
                );
            }
            (got, expected) => panic!("action {index}: expected {}, found {}", expected.kind(), got.kind()),
        }
    }
    assert_eq!(events[1].actions, vec![sample.actions[0].clone()]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_dispatch_enqueues_nothing() -> anyhow::Result<()> {
    let topic = unique_name("dispatch");
    let publisher = Publisher::new(PublisherConfig::new(kafka_bootstrap(), &topic, "photos-api"))?;
    let mut dispatcher = Dispatcher::new(&publisher);
    dispatcher.add("user-1", write("first", 1)).add("", write("second", 2));

    let error = dispatcher.dispatch().await.unwrap_err();

    assert!(
        matches!(error, DispatchError::Invalid(ValidationError::EmptyEntityKey)),
        "{error}"
    );
    assert!(error.to_string().contains("`entity_key` is empty"), "{error}");
    assert_eq!(publisher.pending(), 0);
    let empty = Dispatcher::new(&publisher).dispatch().await.unwrap_err();
    assert!(
        matches!(empty, DispatchError::Invalid(ValidationError::NoActions)),
        "{empty}"
    );
    Ok(())
}
